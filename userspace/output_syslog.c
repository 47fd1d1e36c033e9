// SPDX-License-Identifier: GPL-2.0
#include "output_syslog.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define DEFAULT_FACILITY 10 /* authpriv */
#define DEFAULT_QUEUE_MAX 10000
#define DEFAULT_QUEUE_MAX_BYTES (16u << 20)
#define DEFAULT_MESSAGE_MAX 65536
#define DEFAULT_BACKOFF_MIN_MS 500
#define DEFAULT_BACKOFF_MAX_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define APP_NAME "piiwatch"
#define HOSTNAME_MAX 255 /* RFC 5424 HOSTNAME */
#define SD_NAME_MAX 32
#define NS_PER_MS 1000000ULL

enum conn_state {
	DISCONNECTED, /* waiting for next_attempt_ns */
	CONNECTING,   /* non-blocking connect() under way */
	CONNECTED,
};

/* One framed message: "LEN SP SYSLOG-MSG". */
struct frame {
	struct frame *next;
	size_t len;
	char data[];
};

struct pw_syslog {
	char *host, *port, *sd_id;
	char hostname[HOSTNAME_MAX + 1];
	int facility;
	unsigned procid;
	size_t queue_max, queue_max_bytes, message_max;
	uint64_t backoff_min_ns, backoff_max_ns, connect_timeout_ns;

	int epfd;    /* what the caller watches */
	int timerfd; /* in epfd: backoff and connect deadlines */
	int sock;    /* in epfd when >= 0 */
	uint32_t sock_events;
	enum conn_state state;
	uint64_t backoff_ns;      /* the next wait after a failure */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC: next attempt, or connect timeout */
	struct addrinfo *addrs;   /* from the latest resolution */
	struct addrinfo *next_addr;

	struct frame *head, *tail;
	size_t head_off;          /* bytes of head already written */
	bool want_out;            /* the socket refused more: wait for EPOLLOUT */
	struct pw_syslog_health h;
};

static void set_error(struct pw_syslog *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct pw_syslog *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->h.last_error, sizeof(s->h.last_error), fmt, ap);
	va_end(ap);
	s->h.last_error_ns = pw_now_realtime_ns();
}

int pw_syslog_facility_from_name(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} names[] = {
		{ "user", 1 },	 { "daemon", 3 },  { "auth", 4 },    { "authpriv", 10 },
		{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
		{ "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].code;
	return -1;
}

/* PRINTUSASCII (33-126) of 1..max characters, without the extra
 * characters SD-NAME forbids when sd_name is set. */
static bool printable_token(const char *s, size_t max, bool sd_name)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max || c < 33 || c > 126)
			return false;
		if (sd_name && (c == '=' || c == ']' || c == '"'))
			return false;
	}
	return i > 0;
}

/* ---- the queue --------------------------------------------------------- */

static void drop_frame_after(struct pw_syslog *s, struct frame *prev)
{
	struct frame *f = prev ? prev->next : s->head;

	if (prev)
		prev->next = f->next;
	else
		s->head = f->next;
	if (s->tail == f)
		s->tail = prev;
	s->h.queued--;
	s->h.queued_bytes -= f->len;
	free(f);
}

/* Drop the oldest frames until the bounds hold, sparing one whose start
 * is already on the wire: cutting it would break the framing. */
static void enforce_bounds(struct pw_syslog *s)
{
	while (s->head &&
	       (s->h.queued > s->queue_max || s->h.queued_bytes > s->queue_max_bytes)) {
		struct frame *prev = s->head_off ? s->head : NULL;

		if (prev && !prev->next)
			break;
		drop_frame_after(s, prev);
		s->h.dropped++;
	}
}

/* ---- the connection ---------------------------------------------------- */

static void arm_timer(struct pw_syslog *s, uint64_t at_ns)
{
	struct itimerspec its = { 0 };

	if (at_ns) {
		its.it_value.tv_sec = (time_t)(at_ns / 1000000000ULL);
		its.it_value.tv_nsec = (long)(at_ns % 1000000000ULL);
	}
	timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Keep the socket's epoll interest in line with the state. */
static void watch_socket(struct pw_syslog *s)
{
	uint32_t ev = 0;
	struct epoll_event e;

	if (s->sock < 0)
		return;
	if (s->state == CONNECTING)
		ev = EPOLLOUT;
	else if (s->state == CONNECTED)
		ev = EPOLLIN | EPOLLRDHUP | (s->want_out ? EPOLLOUT : 0);
	if (ev == s->sock_events)
		return;
	e.events = ev;
	e.data.fd = s->sock;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->sock, &e);
	s->sock_events = ev;
}

static void close_socket(struct pw_syslog *s)
{
	if (s->sock >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->sock, NULL);
		close(s->sock);
	}
	s->sock = -1;
	s->sock_events = 0;
	s->want_out = false;
	/* A frame cut short on the old connection goes out whole on the
	 * next one: the receiver drops the broken piece. */
	s->head_off = 0;
}

static void schedule_retry(struct pw_syslog *s)
{
	close_socket(s);
	s->state = DISCONNECTED;
	s->deadline_ns = pw_now_monotonic_ns() + s->backoff_ns;
	arm_timer(s, s->deadline_ns);
	s->backoff_ns *= 2;
	if (s->backoff_ns > s->backoff_max_ns)
		s->backoff_ns = s->backoff_max_ns;
}

/* A connection that worked and then went away: try again soon. */
static void connection_lost(struct pw_syslog *s, const char *why, int err)
{
	set_error(s, "connection to %s:%s lost: %s", s->host, s->port, err ? strerror(err) : why);
	s->h.connected = false;
	s->backoff_ns = s->backoff_min_ns;
	schedule_retry(s);
}

static void connect_failed(struct pw_syslog *s, const char *why)
{
	set_error(s, "cannot connect to %s:%s: %s", s->host, s->port, why);
	s->h.connect_failures++;
	schedule_retry(s);
}

static void connected(struct pw_syslog *s)
{
	s->state = CONNECTED;
	s->h.connected = true;
	s->h.connects++;
	s->backoff_ns = s->backoff_min_ns;
	arm_timer(s, 0);
	watch_socket(s);
}

static int resolve(struct pw_syslog *s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
	int rc;

	if (s->addrs)
		freeaddrinfo(s->addrs);
	s->addrs = s->next_addr = NULL;
	rc = getaddrinfo(s->host, s->port, &hints, &s->addrs);
	if (rc) {
		connect_failed(s, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	s->next_addr = s->addrs;
	return 0;
}

/* One attempt, on the next address of the list (resolved again once all
 * were tried, so that a changed name is followed). */
static void start_connect(struct pw_syslog *s)
{
	struct epoll_event e = { 0 };
	struct addrinfo *ai;

	if (!s->next_addr && resolve(s) < 0)
		return;
	ai = s->next_addr;
	s->next_addr = ai->ai_next;
	s->sock = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 ai->ai_protocol);
	if (s->sock < 0) {
		connect_failed(s, strerror(errno));
		return;
	}
	e.events = EPOLLOUT;
	e.data.fd = s->sock;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sock, &e) < 0) {
		int err = errno;

		close(s->sock);
		s->sock = -1;
		connect_failed(s, strerror(err));
		return;
	}
	s->sock_events = EPOLLOUT;
	if (connect(s->sock, ai->ai_addr, ai->ai_addrlen) == 0) {
		connected(s);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_failed(s, strerror(errno));
		return;
	}
	s->state = CONNECTING;
	s->deadline_ns = pw_now_monotonic_ns() + s->connect_timeout_ns;
	arm_timer(s, s->deadline_ns);
}

/* Has a connection attempt ended?  Polled, so that a tick for another
 * reason still sees it. */
static void check_connecting(struct pw_syslog *s)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(s, strerror(err));
		return;
	}
	if (getpeername(s->sock, (struct sockaddr *)&peer, &plen) == 0) {
		connected(s);
		return;
	}
	if (pw_now_monotonic_ns() >= s->deadline_ns)
		connect_failed(s, "timed out");
}

/* The receiver never talks: data is discarded, end of stream or an error
 * means the connection is gone.  Returns false then. */
static bool peer_still_there(struct pw_syslog *s)
{
	char buf[512];

	for (;;) {
		ssize_t n = recv(s->sock, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0) {
			connection_lost(s, "closed by the receiver", 0);
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		connection_lost(s, NULL, errno);
		return false;
	}
}

static void flush(struct pw_syslog *s)
{
	s->want_out = false;
	while (s->head) {
		struct frame *f = s->head;
		ssize_t n = send(s->sock, f->data + s->head_off, f->len - s->head_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->want_out = true;
				break;
			}
			connection_lost(s, NULL, errno);
			return;
		}
		s->head_off += (size_t)n;
		if (s->head_off < f->len)
			continue;
		s->head_off = 0;
		drop_frame_after(s, NULL);
		s->h.sent++;
	}
	watch_socket(s);
}

void pw_syslog_tick(struct pw_syslog *s)
{
	uint64_t expirations;

	/* The epoll set reports the socket only while it is ready (level
	 * triggered); the timer must be read to stop being ready. */
	while (read(s->timerfd, &expirations, sizeof(expirations)) > 0)
		;
	switch (s->state) {
	case DISCONNECTED:
		if (pw_now_monotonic_ns() >= s->deadline_ns)
			start_connect(s);
		break;
	case CONNECTING:
		check_connecting(s);
		break;
	case CONNECTED:
		break;
	}
	if (s->state == CONNECTED && peer_still_there(s))
		flush(s);
}

/* ---- messages ---------------------------------------------------------- */

/* A PARAM-VALUE: '"', '\' and ']' take a backslash (RFC 5424 6.3.3). */
static size_t sd_escape(const char *v, char *out)
{
	size_t o = 0;

	for (; *v; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			out[o++] = '\\';
		out[o++] = *v;
	}
	return o;
}

/* TIMESTAMP: RFC 3339 in UTC with microseconds, the most RFC 5424 allows. */
static void format_timestamp(uint64_t ns, char *out, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000ULL / 1000));
}

static struct frame *build_frame(struct pw_syslog *s, int severity, const char *msgid,
				 const struct pw_syslog_param *params, size_t n_params,
				 const char *msg, uint64_t time_ns)
{
	char ts[80], header[HOSTNAME_MAX + 200], lenbuf[24];
	size_t sd_cap = 2, hlen, sdlen = 0, mlen = strlen(msg), body, llen, i;
	struct frame *f;
	char *sd, *p;

	if (s->sd_id && n_params) {
		sd_cap += strlen(s->sd_id) + 2;
		for (i = 0; i < n_params; i++)
			sd_cap += strlen(params[i].name) + 2 * strlen(params[i].value) + 4;
	}
	sd = malloc(sd_cap + 1);
	if (!sd)
		return NULL;
	if (s->sd_id && n_params) {
		sdlen = (size_t)sprintf(sd, "[%s", s->sd_id);
		for (i = 0; i < n_params; i++) {
			sdlen += (size_t)sprintf(sd + sdlen, " %s=\"", params[i].name);
			sdlen += sd_escape(params[i].value, sd + sdlen);
			sd[sdlen++] = '"';
		}
		sd[sdlen++] = ']';
	} else {
		sd[sdlen++] = '-';
	}
	sd[sdlen] = '\0';
	format_timestamp(time_ns ? time_ns : pw_now_realtime_ns(), ts, sizeof(ts));
	hlen = (size_t)snprintf(header, sizeof(header), "<%d>1 %s %s %s %u %s ",
				s->facility * 8 + severity, ts, s->hostname, APP_NAME, s->procid,
				msgid);
	body = hlen + sdlen + (mlen ? 1 + mlen : 0);
	if (body > s->message_max) {
		free(sd);
		errno = EMSGSIZE;
		return NULL;
	}
	llen = (size_t)snprintf(lenbuf, sizeof(lenbuf), "%zu ", body);
	f = malloc(sizeof(*f) + llen + body);
	if (!f) {
		free(sd);
		errno = ENOMEM;
		return NULL;
	}
	f->next = NULL;
	f->len = llen + body;
	p = f->data;
	memcpy(p, lenbuf, llen);
	memcpy(p += llen, header, hlen);
	memcpy(p += hlen, sd, sdlen);
	p += sdlen;
	if (mlen) {
		*p++ = ' ';
		memcpy(p, msg, mlen);
	}
	free(sd);
	return f;
}

int pw_syslog_send(struct pw_syslog *s, int severity, const char *msgid,
		   const struct pw_syslog_param *params, size_t n_params, const char *msg,
		   uint64_t time_ns)
{
	struct frame *f;
	size_t i;

	if (severity < LOG_EMERG || severity > LOG_DEBUG || !msgid ||
	    !printable_token(msgid, 32, false) || !msg || (n_params && !params))
		goto invalid;
	for (i = 0; s->sd_id && i < n_params; i++)
		if (!params[i].name || !params[i].value ||
		    !printable_token(params[i].name, SD_NAME_MAX, true) ||
		    !pw_is_clean_utf8(params[i].value))
			goto invalid;
	f = build_frame(s, severity, msgid, params, n_params, msg, time_ns);
	if (!f) {
		int err = errno;

		s->h.dropped++;
		set_error(s, "message dropped: %s", err == EMSGSIZE ?
			  "longer than message_max" : strerror(err));
		errno = err;
		return -1;
	}
	if (s->tail)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
	s->h.queued++;
	s->h.queued_bytes += f->len;
	enforce_bounds(s);
	if (s->state == CONNECTED && !s->want_out && peer_still_there(s))
		flush(s);
	return 0;
invalid:
	s->h.dropped++;
	set_error(s, "message dropped: invalid severity, MSGID or structured data");
	errno = EINVAL;
	return -1;
}

int pw_syslog_drain(struct pw_syslog *s, int timeout_ms)
{
	uint64_t end = pw_now_monotonic_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;

	for (;;) {
		struct epoll_event ev;
		uint64_t now;

		pw_syslog_tick(s);
		if (!s->head)
			return 0;
		now = pw_now_monotonic_ns();
		if (now >= end)
			break;
		epoll_wait(s->epfd, &ev, 1, (int)((end - now + NS_PER_MS - 1) / NS_PER_MS));
	}
	errno = ETIMEDOUT;
	return -1;
}

/* ---- set-up ------------------------------------------------------------ */

int pw_syslog_fd(const struct pw_syslog *s)
{
	return s->epfd;
}

uint32_t pw_syslog_events(void)
{
	return EPOLLIN;
}

void pw_syslog_get_health(const struct pw_syslog *s, struct pw_syslog_health *h)
{
	*h = s->h;
}

static void set_hostname(struct pw_syslog *s, const char *configured)
{
	char buf[HOSTNAME_MAX + 1] = "";
	size_t i;

	if (configured)
		snprintf(buf, sizeof(buf), "%s", configured);
	else if (gethostname(buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	/* PRINTUSASCII only; NILVALUE when nothing is left. */
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 33 || (unsigned char)buf[i] > 126)
			buf[i] = '_';
	snprintf(s->hostname, sizeof(s->hostname), "%s", buf[0] ? buf : "-");
}

struct pw_syslog *pw_syslog_new(const struct pw_syslog_config *cfg, char *err, size_t err_size)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct pw_syslog *s;

	if (!cfg->host || !*cfg->host || !cfg->port || !*cfg->port) {
		snprintf(err, err_size, "syslog: host and port are required");
		return NULL;
	}
	if (cfg->facility < 0 || cfg->facility > 23) {
		snprintf(err, err_size, "syslog: facility %d is not 1..23", cfg->facility);
		return NULL;
	}
	if (cfg->sd_id && (!printable_token(cfg->sd_id, SD_NAME_MAX, true) ||
			   !strchr(cfg->sd_id, '@'))) {
		snprintf(err, err_size, "syslog: SD-ID '%s' must be NAME@NUMBER, at most 32 "
			 "printable characters", cfg->sd_id);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "syslog: out of memory");
		return NULL;
	}
	s->epfd = s->timerfd = s->sock = -1;
	s->host = strdup(cfg->host);
	s->port = strdup(cfg->port);
	s->sd_id = cfg->sd_id ? strdup(cfg->sd_id) : NULL;
	if (!s->host || !s->port || (cfg->sd_id && !s->sd_id)) {
		snprintf(err, err_size, "syslog: out of memory");
		goto fail;
	}
	set_hostname(s, cfg->hostname);
	s->facility = cfg->facility ? cfg->facility : DEFAULT_FACILITY;
	s->procid = (unsigned)getpid();
	s->queue_max = cfg->queue_max ? cfg->queue_max : DEFAULT_QUEUE_MAX;
	s->queue_max_bytes = cfg->queue_max_bytes ? cfg->queue_max_bytes : DEFAULT_QUEUE_MAX_BYTES;
	s->message_max = cfg->message_max ? cfg->message_max : DEFAULT_MESSAGE_MAX;
	s->backoff_min_ns = (cfg->backoff_min_ms ? cfg->backoff_min_ms : DEFAULT_BACKOFF_MIN_MS) *
			    NS_PER_MS;
	s->backoff_max_ns = (cfg->backoff_max_ms ? cfg->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS) *
			    NS_PER_MS;
	if (s->backoff_max_ns < s->backoff_min_ns)
		s->backoff_max_ns = s->backoff_min_ns;
	s->connect_timeout_ns = (cfg->connect_timeout_ms ? cfg->connect_timeout_ms :
				 DEFAULT_CONNECT_TIMEOUT_MS) * NS_PER_MS;
	s->backoff_ns = s->backoff_min_ns;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	e.data.fd = s->timerfd;
	if (s->epfd < 0 || s->timerfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &e) < 0) {
		snprintf(err, err_size, "syslog: %s", strerror(errno));
		goto fail;
	}
	s->state = DISCONNECTED;
	start_connect(s);
	return s;
fail:
	pw_syslog_free(s);
	return NULL;
}

void pw_syslog_free(struct pw_syslog *s)
{
	if (!s)
		return;
	close_socket(s);
	while (s->head)
		drop_frame_after(s, NULL);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->addrs)
		freeaddrinfo(s->addrs);
	free(s->host);
	free(s->port);
	free(s->sd_id);
	free(s);
}
