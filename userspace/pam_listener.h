/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A local request socket: SOCK_SEQPACKET, one request and one reply per
 * connection.  The peer is identified with SO_PEERCRED, never by what it
 * says.  pam_piiwatch's socket serves root only; the control socket serves
 * root and group piiwatch, and the handler decides per request.
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

struct pw_listener_opts {
	const char *path;
	unsigned int mode;           /* of the socket file */
	const char *group;           /* owning group of the socket file, or NULL for root */
	int root_only;               /* refuse peers whose uid is not 0 */
	uint64_t tag_base;           /* epoll data values tag_base .. tag_base + 64 */
	pw_request_fn fn;
	void *ctx;
};

/* Bind the path (refusing when another daemon answers there) and register
 * the listening socket with epfd. */
struct pw_listener *pw_listener_open(const struct pw_listener_opts *o, int epfd, char *err,
				     size_t err_size);
void pw_listener_close(struct pw_listener *l);

/* True when tag belongs to this listener. */
int pw_listener_owns(const struct pw_listener *l, uint64_t tag);
void pw_listener_on_event(struct pw_listener *l, uint64_t tag, uint32_t events);

/* Drop clients that did not send their request in time. */
void pw_listener_expire(struct pw_listener *l, uint64_t now_mono_ns);

uint64_t pw_listener_refused(const struct pw_listener *l);

/* 1 when a daemon accepts connections on the socket at path, 0 when none
 * does, -1 when that cannot be told. */
int pw_listener_answers(const char *path);

#endif
