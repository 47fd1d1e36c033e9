// SPDX-License-Identifier: GPL-2.0
#include "pam_listener.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "session_record.h"
#include "util.h"

#define CLIENT_TIMEOUT_NS 2000000000ULL
/* Connections taken per wakeup: a flood of them must not keep the loop
 * from serving the clients it already has. */
#define ACCEPT_BATCH 64
#define REFUSALS_LOGGED 10
#define REFUSAL_LOG_INTERVAL_NS 60000000000ULL

struct client {
	int fd;
	uint64_t since_ns;
	struct ucred peer;
};

struct pw_listener {
	int fd;
	int epfd;
	char *path;
	pw_request_fn fn;
	void *ctx;
	int root_only;
	uint64_t tag_base;
	struct client clients[PW_LISTENER_MAX_CLIENTS];
	char *buf;
	uint64_t refused;
	uint64_t refusal_logged_ns;
};

int pw_listener_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return rc;
}

/* A socket file nobody answers on is a leftover of a daemon that died. */
static int claim_path(const char *path, char *err, size_t err_size)
{
	struct stat st;
	int answers;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		pw_set_err(err, err_size, "%s exists and is not a socket", path);
		return -1;
	}
	answers = pw_listener_answers(path);
	if (answers < 0)
		return -1;
	if (answers) {
		pw_set_err(err, err_size, "another piiwatchd is already listening on %s", path);
		return -1;
	}
	return unlink(path);
}

static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

struct pw_listener *pw_listener_open(const struct pw_listener_opts *o, int epfd, char *err,
				     size_t err_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = o->tag_base };
	struct pw_listener *l;
	gid_t gid = 0;
	int i;

	if (strlen(o->path) >= sizeof(sa.sun_path)) {
		pw_set_err(err, err_size, "socket path %s is too long", o->path);
		return NULL;
	}
	if (o->group) {
		struct group *g = getgrnam(o->group);

		gid = g ? g->gr_gid : 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		pw_set_err(err, err_size, "out of memory");
		return NULL;
	}
	l->fd = -1;
	l->epfd = epfd;
	l->fn = o->fn;
	l->ctx = o->ctx;
	l->root_only = o->root_only;
	l->tag_base = o->tag_base;
	for (i = 0; i < PW_LISTENER_MAX_CLIENTS; i++)
		l->clients[i].fd = -1;
	l->buf = malloc(PW_RECORD_MAX_WIRE + 1);
	l->path = strdup(o->path);
	if (!l->buf || !l->path) {
		pw_set_err(err, err_size, "out of memory");
		goto fail;
	}
	err[0] = '\0';
	if (make_parent(o->path) != 0 || claim_path(o->path, err, err_size) != 0) {
		if (!err[0])
			pw_set_err(err, err_size, "cannot prepare %s: %s", o->path, strerror(errno));
		goto fail;
	}
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, o->path, strlen(o->path) + 1);
	/* Only a socket that grants its group something is given one: the
	 * service runs with group piiwatch, which may not change a file's
	 * group to root's without CAP_CHOWN. */
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (o->group && chown(o->path, (uid_t)-1, gid) != 0) || chmod(o->path, o->mode) != 0 ||
	    listen(l->fd, SOMAXCONN) != 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
		pw_set_err(err, err_size, "cannot listen on %s: %s", o->path, strerror(errno));
		goto fail;
	}
	return l;
fail:
	pw_listener_close(l);
	return NULL;
}

static void drop_client(struct pw_listener *l, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

void pw_listener_close(struct pw_listener *l)
{
	int i;

	if (!l)
		return;
	for (i = 0; i < PW_LISTENER_MAX_CLIENTS; i++)
		drop_client(l, &l->clients[i]);
	if (l->fd >= 0) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
		unlink(l->path);
	}
	free(l->path);
	free(l->buf);
	free(l);
}

static void reply(int fd, const char *text)
{
	if (text)
		send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void refuse(struct pw_listener *l, int fd, const struct ucred *peer)
{
	char *r = pw_reply_to_json(false, "only root may use this socket", -1);
	uint64_t now = pw_now_monotonic_ns();
	char discard;

	l->refused++;
	/* Logged for the first refusals and then once a minute at most, so
	 * that a flood cannot flood the log too. */
	if (l->refused <= REFUSALS_LOGGED || now - l->refusal_logged_ns >= REFUSAL_LOG_INTERVAL_NS) {
		pw_log(LOG_WARNING, "refused request from uid %u pid %d on %s (%llu refused so far)",
		       peer->uid, peer->pid, l->path, (unsigned long long)l->refused);
		l->refusal_logged_ns = now;
	}
	/* Closing with the request unread would reset the connection before
	 * the peer reads why it was refused. */
	recv(fd, &discard, sizeof(discard), MSG_DONTWAIT | MSG_TRUNC);
	reply(fd, r);
	free(r);
}

static void accept_batch(struct pw_listener *l)
{
	int n;

	for (n = 0; n < ACCEPT_BATCH; n++) {
		struct ucred peer;
		socklen_t pl = sizeof(peer);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *slot = NULL, *oldest = NULL;
		int fd, i;

		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &pl) != 0) {
			close(fd);
			continue;
		}
		if (l->root_only && peer.uid != 0) {
			refuse(l, fd, &peer);
			close(fd);
			continue;
		}
		for (i = 0; i < PW_LISTENER_MAX_CLIENTS && !slot; i++) {
			if (l->clients[i].fd < 0)
				slot = &l->clients[i];
			else if (!oldest || l->clients[i].since_ns < oldest->since_ns)
				oldest = &l->clients[i];
		}
		if (!slot) {
			/* Root's clients are all slow: the oldest has waited longest
			 * and its module has already given up and spooled. */
			drop_client(l, oldest);
			slot = oldest;
		}
		slot->fd = fd;
		slot->since_ns = pw_now_monotonic_ns();
		slot->peer = peer;
		ev.data.u64 = l->tag_base + 1 + (uint64_t)(slot - l->clients);
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			slot->fd = -1;
		}
	}
}

static void serve(struct pw_listener *l, struct client *c)
{
	ssize_t n;
	char *r;

	n = recv(c->fd, l->buf, PW_RECORD_MAX_WIRE + 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(l, c);
		return;
	}
	if (n > PW_RECORD_MAX_WIRE) {
		r = pw_reply_to_json(false, "message too large", -1);
		pw_log(LOG_WARNING, "pid %d sent a message of %zd bytes: refused", c->peer.pid, n);
	} else {
		r = l->fn(l->ctx, &c->peer, l->buf, (size_t)n);
	}
	reply(c->fd, r);
	free(r);
	drop_client(l, c);
}

int pw_listener_owns(const struct pw_listener *l, uint64_t tag)
{
	return l && tag >= l->tag_base && tag <= l->tag_base + PW_LISTENER_MAX_CLIENTS;
}

void pw_listener_on_event(struct pw_listener *l, uint64_t tag, uint32_t events)
{
	uint64_t idx;

	if (tag == l->tag_base) {
		accept_batch(l);
		return;
	}
	idx = tag - l->tag_base - 1;
	if (idx >= PW_LISTENER_MAX_CLIENTS || l->clients[idx].fd < 0)
		return;
	if (events & EPOLLIN)
		serve(l, &l->clients[idx]);
	else
		drop_client(l, &l->clients[idx]);
}

void pw_listener_expire(struct pw_listener *l, uint64_t now_mono_ns)
{
	int i;

	if (!l)
		return;
	for (i = 0; i < PW_LISTENER_MAX_CLIENTS; i++)
		if (l->clients[i].fd >= 0 && now_mono_ns - l->clients[i].since_ns > CLIENT_TIMEOUT_NS)
			drop_client(l, &l->clients[i]);
}

uint64_t pw_listener_refused(const struct pw_listener *l)
{
	return l ? l->refused : 0;
}
