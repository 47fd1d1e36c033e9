/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket pam_piiwatch talks to: SOCK_SEQPACKET, one request and one
 * reply per connection.  Only root's requests are served; the peer is
 * identified with SO_PEERCRED, never by what it says.
 */
#ifndef PW_PAM_LISTENER_H
#define PW_PAM_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PW_LISTENER_MAX_CLIENTS 64

struct pw_listener;

/* Handle one request from a root peer; return the reply text (malloc'ed). */
typedef char *(*pw_request_fn)(void *ctx, const struct ucred *peer, const char *msg, size_t len);

/* Bind path (refusing when another daemon answers there) and register the
 * listening socket with epfd. */
struct pw_listener *pw_listener_open(const char *path, int epfd, pw_request_fn fn, void *ctx,
				     char *err, size_t err_size);
void pw_listener_close(struct pw_listener *l);

/* epoll data values this listener owns are >= PW_LISTENER_TAG_BASE. */
#define PW_LISTENER_TAG_BASE 0x1000u
void pw_listener_on_event(struct pw_listener *l, uint64_t tag, uint32_t events);

/* Drop clients that did not send their request in time. */
void pw_listener_expire(struct pw_listener *l, uint64_t now_mono_ns);

uint64_t pw_listener_refused(const struct pw_listener *l);

#endif
