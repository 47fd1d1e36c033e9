// SPDX-License-Identifier: GPL-2.0
/* The syslog output against a TCP listener of the test's own on 127.0.0.1:
 * the exact bytes on the wire, the queue bound, reconnection.  The test
 * against a real rsyslog is tests/integration/syslog_rsyslog.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "output_syslog.h"
#include "util.h"

#define T0 1795578906131502917ULL /* 2026-11-25T03:55:06.131502917Z */

struct listener {
	int fd;
	char port[8];
};

/* Bound but not listening yet: connections are refused until
 * listener_start(), on a port nobody else can take meanwhile. */
static void listener_bind(struct listener *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1;

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &len), 0);
	snprintf(l->port, sizeof(l->port), "%u", ntohs(a.sin_port));
}

static void listener_start(struct listener *l)
{
	assert_int_equal(listen(l->fd, 8), 0);
}

static int accept_within(struct listener *l, int ms)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, ms), 1);
	return accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
}

static struct pw_syslog *new_output(struct pw_syslog_config *cfg)
{
	char err[256] = "";
	struct pw_syslog *s = pw_syslog_new(cfg, err, sizeof(err));

	if (!s)
		fail_msg("pw_syslog_new: %s", err);
	return s;
}

/* Run the output as an epoll loop would, until want(health) or ms pass. */
static bool pump_until(struct pw_syslog *s, int ms, bool (*want)(const struct pw_syslog_health *))
{
	uint64_t end = pw_now_monotonic_ns() + (uint64_t)ms * 1000000ULL;
	struct pw_syslog_health h;

	for (;;) {
		struct pollfd p = { .fd = pw_syslog_fd(s), .events = POLLIN };

		pw_syslog_get_health(s, &h);
		if (want && want(&h))
			return true;
		if (pw_now_monotonic_ns() >= end)
			return false;
		if (poll(&p, 1, 10) > 0)
			pw_syslog_tick(s);
	}
}

static bool is_connected(const struct pw_syslog_health *h)
{
	return h->connected;
}

static bool is_disconnected(const struct pw_syslog_health *h)
{
	return !h->connected;
}

static bool queue_empty(const struct pw_syslog_health *h)
{
	return h->connected && h->queued == 0;
}

static bool failed_once(const struct pw_syslog_health *h)
{
	return h->connect_failures > 0;
}

/* Take the complete octet-counted frames ("LEN SP MSG") at the start of
 * *buf into out[*got...]; the rest stays in *buf.  Fails on anything that
 * is not a frame. */
static void take_frames(char *buf, size_t *have, char ***out, size_t *got)
{
	for (;;) {
		char *sp = memchr(buf, ' ', *have), *end;
		unsigned long len;

		if (!sp)
			return;
		assert_true(sp > buf && sp - buf <= 6);
		len = strtoul(buf, &end, 10);
		assert_ptr_equal(end, sp);
		if (*have < (size_t)(sp - buf) + 1 + len)
			return;
		*out = realloc(*out, (*got + 2) * sizeof(char *));
		(*out)[*got] = strndup(sp + 1, len);
		assert_int_equal(strlen((*out)[*got]), len);
		(*out)[++*got] = NULL;
		*have -= (size_t)(sp - buf) + 1 + len;
		memmove(buf, sp + 1 + len, *have);
	}
}

struct inbox {
	char *buf;
	size_t have, cap;
	char **frames;
	size_t n;
};

/* Read what is there (waiting up to ms for something); false at the end of
 * the stream. */
static bool inbox_read(struct inbox *in, int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	if (poll(&p, 1, ms) != 1)
		return true;
	if (in->cap - in->have < 65536) {
		in->cap = in->cap * 2 + 65536;
		in->buf = realloc(in->buf, in->cap);
	}
	r = read(fd, in->buf + in->have, in->cap - in->have);
	if (r <= 0)
		return false;
	in->have += (size_t)r;
	take_frames(in->buf, &in->have, &in->frames, &in->n);
	return true;
}

/* Exactly n frames, within 5 s; the MSG of each, NULL-terminated. */
static char **read_frames(int fd, size_t n)
{
	struct inbox in = { 0 };
	uint64_t end = pw_now_monotonic_ns() + 5000000000ULL;

	while (in.n < n) {
		if (pw_now_monotonic_ns() > end || !inbox_read(&in, fd, 100))
			fail_msg("only %zu of %zu frames arrived", in.n, n);
	}
	assert_int_equal(in.n, n);
	assert_int_equal(in.have, 0);
	free(in.buf);
	return in.frames;
}

static void free_frames(char **f)
{
	size_t i;

	for (i = 0; f[i]; i++)
		free(f[i]);
	free(f);
}

/* A listener, an output connected to it, and the accepted connection. */
static int connect_output(struct pw_syslog_config *cfg, struct listener *l, struct pw_syslog **s)
{
	listener_bind(l);
	listener_start(l);
	cfg->host = "127.0.0.1";
	cfg->port = l->port;
	*s = new_output(cfg);
	assert_true(pump_until(*s, 2000, is_connected));
	return accept_within(l, 2000);
}

static void test_wire_format(void **state)
{
	struct listener l;
	struct pw_syslog_config cfg = { .hostname = "dms01", .sd_id = "piiwatch@32473" };
	const struct pw_syslog_param params[] = {
		{ "rule", "bulk-read" },
		{ "reason", "a \"quoted\" [x] \\ end" },
	};
	char want[512], *big;
	struct pw_syslog *s;
	char **f;
	int conn;

	conn = connect_output(&cfg, &l, &s);

	assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, "{\"a\":1}", T0), 0);
	assert_int_equal(pw_syslog_send(s, LOG_ERR, "alert", params, 2, "{\"田中\":2}", T0), 0);
	/* Larger than rsyslog's default 8 KiB, and multi-byte: LEN counts
	 * octets. */
	big = malloc(30001);
	memset(big, 'x', 30000);
	big[30000] = '\0';
	memcpy(big + 10, "田中", strlen("田中"));
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "session", NULL, 0, big, T0), 0);
	f = read_frames(conn, 3);
	snprintf(want, sizeof(want), "<86>1 2026-11-25T03:55:06.131502Z dms01 piiwatch %d access - {\"a\":1}",
		 getpid());
	assert_string_equal(f[0], want);
	snprintf(want, sizeof(want),
		 "<83>1 2026-11-25T03:55:06.131502Z dms01 piiwatch %d alert [piiwatch@32473 "
		 "rule=\"bulk-read\" reason=\"a \\\"quoted\\\" [x\\] \\\\ end\"] {\"田中\":2}",
		 getpid());
	assert_string_equal(f[1], want);
	assert_non_null(strstr(f[2], " session - xxxxxxxxxx田中xxx"));
	assert_string_equal(strstr(f[2], " session - ") + 11, big);
	free_frames(f);
	free(big);
	close(conn);
	pw_syslog_free(s);

	/* Another facility; no SD-ID configured: parameters are left out. */
	cfg.facility = pw_syslog_facility_from_name("local3");
	cfg.sd_id = NULL;
	s = new_output(&cfg);
	assert_true(pump_until(s, 2000, is_connected));
	conn = accept_within(&l, 2000);
	assert_int_equal(pw_syslog_send(s, LOG_WARNING, "alert", params, 2, "", T0), 0);
	f = read_frames(conn, 1);
	snprintf(want, sizeof(want), "<156>1 2026-11-25T03:55:06.131502Z dms01 piiwatch %d alert -",
		 getpid());
	assert_string_equal(f[0], want);
	free_frames(f);
	close(conn);
	pw_syslog_free(s);
	close(l.fd);
}

static void test_refusals(void **state)
{
	struct pw_syslog_config cfg = { .host = "127.0.0.1", .port = "9", .sd_id = "p@1",
					.message_max = 200 };
	const struct pw_syslog_param bad_name[] = { { "a=b", "v" } };
	const struct pw_syslog_param bad_value[] = { { "a", "\x01" } };
	struct pw_syslog_health h;
	struct pw_syslog *s;
	char err[256], big[300];

	s = new_output(&cfg);
	errno = 0;
	assert_int_equal(pw_syslog_send(s, 8, "access", NULL, 0, "m", 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "acc ess", NULL, 0, "m", 0), -1);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "", NULL, 0, "m", 0), -1);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "123456789012345678901234567890123", NULL, 0,
					"m", 0), -1);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "alert", bad_name, 1, "m", 0), -1);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "alert", bad_value, 1, "m", 0), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = 0;
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, big, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	pw_syslog_get_health(s, &h);
	assert_int_equal(h.dropped, 7);
	assert_int_equal(h.queued, 0);
	assert_non_null(strstr(h.last_error, "longer than message_max"));
	pw_syslog_free(s);

	cfg.sd_id = "piiwatch";
	assert_null(pw_syslog_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "SD-ID"));
	cfg.sd_id = NULL;
	cfg.facility = 24;
	assert_null(pw_syslog_new(&cfg, err, sizeof(err)));
	cfg.facility = 0;
	cfg.host = NULL;
	assert_null(pw_syslog_new(&cfg, err, sizeof(err)));

	assert_int_equal(pw_syslog_facility_from_name("authpriv"), 10);
	assert_int_equal(pw_syslog_facility_from_name("local7"), 23);
	assert_int_equal(pw_syslog_facility_from_name("kern"), -1);
}

static void test_queue_bound_while_down(void **state)
{
	struct pw_syslog_config cfg = { .host = "127.0.0.1", .queue_max = 5,
					.backoff_min_ms = 20, .backoff_max_ms = 50 };
	struct pw_syslog_health h;
	struct pw_syslog *s;
	struct listener l;
	char msg[16], **f;
	int i, conn;

	listener_bind(&l);
	cfg.port = l.port;
	s = new_output(&cfg);
	assert_true(pump_until(s, 2000, failed_once));
	pw_syslog_get_health(s, &h);
	assert_false(h.connected);
	assert_non_null(strstr(h.last_error, "Connection refused"));
	for (i = 0; i < 12; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, msg, T0), 0);
	}
	pw_syslog_get_health(s, &h);
	assert_int_equal(h.queued, 5);
	assert_int_equal(h.dropped, 7);
	assert_int_equal(h.sent, 0);
	assert_int_equal(pw_syslog_drain(s, 30), -1);
	assert_int_equal(errno, ETIMEDOUT);

	/* The receiver comes up: the newest five arrive, in order. */
	listener_start(&l);
	assert_int_equal(pw_syslog_drain(s, 3000), 0);
	conn = accept_within(&l, 2000);
	f = read_frames(conn, 5);
	for (i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), " m%d", i + 7);
		assert_non_null(strstr(f[i], msg));
	}
	free_frames(f);
	pw_syslog_get_health(s, &h);
	assert_true(h.connected);
	assert_int_equal(h.sent, 5);
	assert_int_equal(h.connects, 1);
	close(conn);
	pw_syslog_free(s);
	close(l.fd);
}

/* The receiver closes (rsyslog stopped): the descriptor wakes the loop,
 * the output notices, and what is sent meanwhile reaches the next
 * connection. */
static void test_peer_close_and_reconnect(void **state)
{
	struct pw_syslog_config cfg = { .host = "127.0.0.1", .backoff_min_ms = 20,
					.backoff_max_ms = 50 };
	struct pollfd p;
	struct pw_syslog_health h;
	struct pw_syslog *s;
	struct listener l;
	char **f;
	int conn;

	conn = connect_output(&cfg, &l, &s);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, "one", T0), 0);
	f = read_frames(conn, 1);
	free_frames(f);
	pw_syslog_tick(s);

	close(conn);
	p = (struct pollfd){ .fd = pw_syslog_fd(s), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	pw_syslog_tick(s);
	pw_syslog_get_health(s, &h);
	assert_false(h.connected);
	assert_non_null(strstr(h.last_error, "closed by the receiver"));

	assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, "two", T0), 0);
	assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, "three", T0), 0);
	assert_true(pump_until(s, 3000, queue_empty));
	conn = accept_within(&l, 2000);
	f = read_frames(conn, 2);
	assert_non_null(strstr(f[0], " - two"));
	assert_non_null(strstr(f[1], " - three"));
	free_frames(f);
	pw_syslog_get_health(s, &h);
	assert_int_equal(h.sent, 3);
	assert_int_equal(h.connects, 2);
	assert_int_equal(h.dropped, 0);

	/* And a receiver that goes away for good: noticed, retried. */
	close(conn);
	close(l.fd);
	assert_true(pump_until(s, 2000, is_disconnected));
	pw_syslog_free(s);
}

/* A receiver that does not read: the socket fills, frames wait, the queue
 * drops its oldest, but never the one half written, so the stream stays
 * well framed. */
static void test_backpressure_keeps_framing(void **state)
{
	struct pw_syslog_config cfg = { .host = "127.0.0.1", .queue_max = 3 };
	enum { N = 300, SIZE = 60000 };
	uint64_t end = pw_now_monotonic_ns() + 10000000000ULL;
	struct pw_syslog_health h;
	struct inbox in = { 0 };
	struct pw_syslog *s;
	struct listener l;
	long last = -1;
	char *msg;
	size_t i;
	int conn;

	conn = connect_output(&cfg, &l, &s);
	msg = malloc(SIZE + 1);
	msg[SIZE] = '\0';
	for (i = 0; i < N; i++) {
		char num[16];

		/* Each message its own filler: a frame stitched from two
		 * messages would show. */
		memset(msg, 'a' + (int)(i % 26), SIZE);
		snprintf(num, sizeof(num), "%010zu", i);
		memcpy(msg, num, 10);
		assert_int_equal(pw_syslog_send(s, LOG_INFO, "access", NULL, 0, msg, T0), 0);
	}
	free(msg);
	pw_syslog_get_health(s, &h);
	assert_true(h.dropped > 0);
	assert_true(h.queued <= 3);
	assert_int_equal(h.sent + h.queued + h.dropped, N);

	/* Now read, and let the output write the rest. */
	while (h.queued) {
		if (pw_now_monotonic_ns() > end)
			fail_msg("the queue did not drain");
		assert_true(inbox_read(&in, conn, 10));
		pw_syslog_tick(s);
		pw_syslog_get_health(s, &h);
	}
	assert_int_equal(h.sent + h.dropped, N);
	pw_syslog_free(s);
	while (inbox_read(&in, conn, 2000))
		;
	assert_int_equal(in.have, 0);
	assert_int_equal(in.n, h.sent);
	for (i = 0; i < in.n; i++) {
		char *m = strstr(in.frames[i], " access - ");
		long n;

		assert_non_null(m);
		n = strtol(m + 10, NULL, 10);
		assert_true(n > last);
		last = n;
		assert_int_equal(strlen(m + 10), SIZE);
		assert_int_equal(strspn(m + 20, (char[]){ (char)('a' + n % 26), '\0' }), SIZE - 10);
	}
	/* The newest message is never the one dropped. */
	assert_int_equal(last, N - 1);
	free_frames(in.frames);
	free(in.buf);
	close(conn);
	close(l.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_queue_bound_while_down),
		cmocka_unit_test(test_peer_close_and_reconnect),
		cmocka_unit_test(test_backpressure_keeps_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
