/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syslog output: RFC 5424 messages over TCP with octet-counting framing
 * (RFC 6587, "LEN SP MSG"), to rsyslog or any receiver that speaks it.
 *
 * Made for a single-threaded epoll loop.  The object owns one file
 * descriptor that stays the same for its whole life (an inner epoll set
 * holding the socket and a timer): register pw_syslog_fd() for
 * pw_syslog_events() once, and call pw_syslog_tick() whenever it is ready.
 * Connecting, noticing a lost connection, reconnecting with exponential
 * backoff and writing the queue all happen in pw_syslog_tick() and
 * pw_syslog_send(), without blocking.  The one exception is resolving a
 * host name, which getaddrinfo() does synchronously at each connection
 * attempt: configure an address (or a name from /etc/hosts) to keep the
 * loop free of DNS waits.  A name with several addresses is tried one
 * address per attempt, in getaddrinfo() order.
 *
 * Messages wait in a bounded queue: when it is full the oldest waiting
 * message is dropped and counted.  Delivery is at most once across a lost
 * connection: plain TCP syslog has no acknowledgements, so what the kernel
 * accepted just before the receiver died can be lost (RELP would close
 * that gap).  An orderly close by the receiver (a stopped or restarted
 * rsyslog) is noticed before the next write, so nothing queued is lost to
 * it.
 */
#ifndef PW_OUTPUT_SYSLOG_H
#define PW_OUTPUT_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_syslog;

/* Numeric settings left 0 take the default in brackets. */
struct pw_syslog_config {
	const char *host;            /* receiver's address or name */
	const char *port;            /* its TCP port, number or service name */
	int facility;                /* 1..23, see pw_syslog_facility_from_name() [authpriv];
				      * 0 (kern) cannot be sent by a program */
	size_t queue_max;            /* messages waiting at most [10000] */
	size_t queue_max_bytes;      /* and their bytes [16 MiB] */
	size_t message_max;          /* longest message, header included [65536]; the
				      * receiver must accept it (rsyslog: maxMessageSize) */
	unsigned backoff_min_ms;     /* first wait after a failure [500] */
	unsigned backoff_max_ms;     /* the wait doubles up to this [30000] */
	unsigned connect_timeout_ms; /* [10000] */
	const char *hostname;        /* HOSTNAME field [gethostname()] */
	const char *sd_id;           /* SD-ID of the structured data, which must hold an
				      * '@' ("piiwatch@32473"); NULL: messages carry none */
};

/* One SD-PARAM.  name: 1-32 printable ASCII characters except '=', ' ',
 * ']' and '"'; value: any UTF-8 (escaped as RFC 5424 wants). */
struct pw_syslog_param {
	const char *name;
	const char *value;
};

struct pw_syslog_health {
	bool connected;
	size_t queued;           /* messages waiting */
	size_t queued_bytes;
	uint64_t sent;           /* messages written whole to a connection */
	uint64_t dropped;        /* pushed out of a full queue, or refused as too long */
	uint64_t connects;       /* connections made */
	uint64_t connect_failures;
	char last_error[256];    /* "" when none yet */
	uint64_t last_error_ns;  /* CLOCK_REALTIME of last_error */
};

/* Returns NULL with a reason in err for a bad configuration or when out of
 * resources.  The first connection attempt starts at once. */
struct pw_syslog *pw_syslog_new(const struct pw_syslog_config *cfg, char *err, size_t err_size);

/* Closes the connection; whatever is still queued is lost (see
 * pw_syslog_drain()).  Accepts NULL. */
void pw_syslog_free(struct pw_syslog *s);

/* The descriptor to watch and the epoll events to watch it for. */
int pw_syslog_fd(const struct pw_syslog *s);
uint32_t pw_syslog_events(void);

/* Do whatever is due: finish or time out a connection attempt, notice a
 * closed connection, retry after the backoff, write the queue.  Never
 * blocks; harmless to call when nothing is due. */
void pw_syslog_tick(struct pw_syslog *s);

/*
 * Queue one message and write what the connection takes now.
 * severity: LOG_EMERG..LOG_DEBUG.  msgid: 1-32 printable ASCII characters
 * ("access", "session", "alert").  params: n_params SD-PARAMs for the
 * configured SD-ID (ignored without one).  msg: the MSG part, e.g. one ECS
 * line.  time_ns: CLOCK_REALTIME for the TIMESTAMP, 0 for now.
 * Returns 0 when queued, -1 with errno EINVAL (bad argument) or EMSGSIZE
 * (longer than message_max), counted as dropped.
 */
int pw_syslog_send(struct pw_syslog *s, int severity, const char *msgid,
		   const struct pw_syslog_param *params, size_t n_params, const char *msg,
		   uint64_t time_ns);

/* Tick until the queue is empty or timeout_ms passed (at shutdown).
 * Returns 0 when everything was written, -1 with errno ETIMEDOUT. */
int pw_syslog_drain(struct pw_syslog *s, int timeout_ms);

void pw_syslog_get_health(const struct pw_syslog *s, struct pw_syslog_health *h);

/* "auth", "authpriv", "daemon", "user", "local0".."local7" to the facility
 * number; -1 for anything else. */
int pw_syslog_facility_from_name(const char *name);

#endif
