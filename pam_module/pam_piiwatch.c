// SPDX-License-Identifier: GPL-2.0
/*
 * pam_piiwatch: tells piiwatchd who opened and closed a login session, and
 * refuses logins of users the daemon has quarantined.
 *
 * It runs inside sshd, login, su and sudo, so: no output on stdout/stderr,
 * no mutable globals, no signal handlers, every wait bounded by timeout_ms,
 * and a daemon that is away never locks anyone out unless the administrator
 * chose failmode=closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "policy.h"
#include "session_record.h"
#include "spool.h"
#include "util.h"

#define PW_PAM_CONFIG "/etc/security/piiwatch.conf"
#define PW_DEFAULT_TIMEOUT_MS 250
#define PW_MAX_TIMEOUT_MS 10000

enum failmode { FAIL_OPEN, FAIL_CLOSED };

struct options {
	bool debug;
	enum failmode failmode;
	unsigned int timeout_ms;
	uint64_t spool_max;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char spool_dir[1024];
};

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->failmode = FAIL_OPEN;
	o->timeout_ms = PW_DEFAULT_TIMEOUT_MS;
	o->spool_max = PW_SPOOL_DEFAULT_MAX_RECORDS;
	snprintf(o->socket_path, sizeof(o->socket_path), "%s", PW_DEFAULT_PAM_SOCKET);
	snprintf(o->spool_dir, sizeof(o->spool_dir), "%s", PW_DEFAULT_SPOOL);
}

static void set_path(pam_handle_t *pamh, const char *where, const char *name, const char *v,
		     char *dst, size_t n)
{
	if (v[0] != '/' || strlen(v) >= n) {
		pam_syslog(pamh, LOG_ERR,
			   "%s: %s=: expected an absolute path shorter than %zu bytes; keeping %s",
			   where, name, n, dst);
		return;
	}
	memcpy(dst, v, strlen(v) + 1);
}

/* One "name=value" or "name" option, from the config file or an argument. */
static void apply_option(pam_handle_t *pamh, struct options *o, const char *arg, const char *where)
{
	uint64_t v;

	if (strcmp(arg, "debug") == 0) {
		o->debug = true;
	} else if (strncmp(arg, "socket=", 7) == 0) {
		set_path(pamh, where, "socket", arg + 7, o->socket_path, sizeof(o->socket_path));
	} else if (strncmp(arg, "spool=", 6) == 0) {
		set_path(pamh, where, "spool", arg + 6, o->spool_dir, sizeof(o->spool_dir));
	} else if (strncmp(arg, "failmode=", 9) == 0) {
		if (strcmp(arg + 9, "open") == 0)
			o->failmode = FAIL_OPEN;
		else if (strcmp(arg + 9, "closed") == 0)
			o->failmode = FAIL_CLOSED;
		else
			pam_syslog(pamh, LOG_ERR, "%s: failmode=%s: expected open or closed; keeping %s",
				   where, arg + 9, o->failmode == FAIL_OPEN ? "open" : "closed");
	} else if (strncmp(arg, "timeout_ms=", 11) == 0) {
		if (pw_parse_u64(arg + 11, PW_MAX_TIMEOUT_MS, &v) || v == 0)
			pam_syslog(pamh, LOG_ERR, "%s: timeout_ms=%s: expected 1..%d; keeping %u", where,
				   arg + 11, PW_MAX_TIMEOUT_MS, o->timeout_ms);
		else
			o->timeout_ms = (unsigned int)v;
	} else if (strncmp(arg, "spool_max=", 10) == 0) {
		if (pw_parse_u64(arg + 10, 1000000, &v) || v == 0)
			pam_syslog(pamh, LOG_ERR, "%s: spool_max=%s: expected 1..1000000; keeping %llu",
				   where, arg + 10, (unsigned long long)o->spool_max);
		else
			o->spool_max = v;
	} else {
		pam_syslog(pamh, LOG_ERR, "%s: unknown option '%s' ignored", where, arg);
	}
}

/* /etc/security/piiwatch.conf: the same options as the module arguments,
 * one per line, '#' comments.  Arguments override it. */
static void read_config(pam_handle_t *pamh, struct options *o)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(PW_PAM_CONFIG, "re");

	if (!f)
		return;
	/* Whole lines whatever their length: with a fixed buffer the tail of
	 * a long comment would come back as an option of its own. */
	while (getline(&line, &cap, f) >= 0) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		apply_option(pamh, o, s, PW_PAM_CONFIG);
	}
	free(line);
	fclose(f);
}

static void parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *o)
{
	int i;

	set_defaults(o);
	read_config(pamh, o);
	for (i = 0; i < argc; i++)
		apply_option(pamh, o, argv[i], "argument");
}

static uint32_t read_proc_u32(const char *path)
{
	char buf[32];
	uint64_t v;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return PW_NO_ID;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return PW_NO_ID;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (pw_parse_u64(buf, UINT32_MAX, &v))
		return PW_NO_ID;
	return (uint32_t)v;
}

/* Copy a PAM item into the record, escaped; returns alt_bit when the value
 * had to be escaped or cut. */
static uint32_t copy_item(pam_handle_t *pamh, int item, char *dst, uint32_t alt_bit)
{
	const void *v = NULL;

	dst[0] = '\0';
	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v)
		return 0;
	return pw_escape_untrusted(v, strlen(v), dst, PW_ITEM_MAX) ? 0 : alt_bit;
}

static void make_id(char *dst, size_t n, uint64_t now_ns)
{
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)(now_ns ^ ((uint64_t)getpid() << 16));
	snprintf(dst, n, "%020llu-%u-%08x", (unsigned long long)now_ns, (unsigned)getpid(), rnd);
}

static void build_record(pam_handle_t *pamh, enum pw_record_type type,
			 struct pw_session_record *r)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	const void *user = NULL;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->time_ns = pw_now_realtime_ns();
	r->mono_ns = pw_now_monotonic_ns();
	make_id(r->id, sizeof(r->id), r->time_ns);
	r->altered |= copy_item(pamh, PAM_USER, r->user, PW_ALT_USER);
	if (type == PW_REC_QUARANTINE_QUERY)
		return;
	r->altered |= copy_item(pamh, PAM_SERVICE, r->service, PW_ALT_SERVICE);
	r->altered |= copy_item(pamh, PAM_RHOST, r->rhost, PW_ALT_RHOST);
	r->altered |= copy_item(pamh, PAM_RUSER, r->ruser, PW_ALT_RUSER);
	r->altered |= copy_item(pamh, PAM_TTY, r->tty, PW_ALT_TTY);
	r->uid = -1;
	if (pam_get_item(pamh, PAM_USER, &user) == PAM_SUCCESS && user &&
	    getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		r->uid = res->pw_uid;
	r->pid = (uint32_t)getpid();
	r->loginuid = read_proc_u32("/proc/self/loginuid");
	r->sessionid = read_proc_u32("/proc/self/sessionid");
	pw_read_boot_id(r->boot_id);
}

/* Wait for events on fd until deadline, to the nanosecond (poll's
 * milliseconds, rounded up, overshoot); a signal does not end the wait. */
static int wait_for(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do {
		uint64_t now = pw_now_monotonic_ns();
		uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000ULL),
				       .tv_nsec = (long)(left % 1000000000ULL) };

		r = ppoll(&pfd, 1, &ts, NULL);
	} while (r < 0 && errno == EINTR);
	return r;
}

/*
 * Send one message and wait for the daemon's reply, all before deadline.
 * Returns 0 with *ok and *quarantined from the reply, -1 with a reason.
 */
static int exchange(const struct options *o, const char *msg, uint64_t deadline_ns, bool *ok,
		    int *quarantined, char *why, size_t why_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char reply[512];
	ssize_t n;
	int fd, rc = -1, r;

	memcpy(sa.sun_path, o->socket_path, strlen(o->socket_path) + 1);
	/* A full backlog (EAGAIN: a burst of logins) is tried again every
	 * millisecond until the deadline rather than spooled at once. */
	for (;;) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(why, why_size, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		r = errno;
		close(fd);
		fd = -1;
		if (r != EAGAIN || pw_now_monotonic_ns() + 1000000ULL >= deadline_ns) {
			snprintf(why, why_size, "connect %s: %s", o->socket_path, strerror(r));
			return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	/* Only a root daemon may receive who logged in. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != 0) {
		snprintf(why, why_size, "%s is not served by root", o->socket_path);
		goto cleanup;
	}
	r = wait_for(fd, POLLOUT, deadline_ns);
	if (r <= 0 || send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
		snprintf(why, why_size, "send: %s", r == 0 ? "timed out" : strerror(errno));
		goto cleanup;
	}
	r = wait_for(fd, POLLIN, deadline_ns);
	if (r <= 0) {
		snprintf(why, why_size, "no reply in time (timeout_ms=%u)", o->timeout_ms);
		goto cleanup;
	}
	n = recv(fd, reply, sizeof(reply), 0);
	if (n <= 0 || pw_reply_from_json(reply, (size_t)n, ok, quarantined) != 0) {
		snprintf(why, why_size, "%s", n < 0 ? strerror(errno) :
			 n == 0 ? "daemon closed the connection" : "malformed reply");
		goto cleanup;
	}
	rc = 0;
cleanup:
	close(fd);
	return rc;
}

static int record_session(pam_handle_t *pamh, int flags, int argc, const char **argv,
			  enum pw_record_type type)
{
	struct options o;
	struct pw_session_record *r;
	uint64_t deadline;
	char why[256] = "", err[512];
	char *msg = NULL;
	bool ok = false;
	int quarantined, ret = PAM_SUCCESS;

	parse_options(pamh, argc, argv, &o);
	/* timeout_ms bounds the whole call: the daemon gets nine tenths of
	 * it, the rest is for writing the spool file if it does not answer. */
	deadline = pw_now_monotonic_ns() + (uint64_t)o.timeout_ms * 900000ULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pam_syslog(pamh, LOG_CRIT, "out of memory");
		return o.failmode == FAIL_OPEN ? PAM_IGNORE : PAM_BUF_ERR;
	}
	build_record(pamh, type, r);
	msg = pw_record_to_json(r);
	if (!msg) {
		pam_syslog(pamh, LOG_CRIT, "out of memory");
		ret = o.failmode == FAIL_OPEN ? PAM_IGNORE : PAM_BUF_ERR;
		goto cleanup;
	}
	if (r->sessionid == PW_NO_ID && o.debug)
		pam_syslog(pamh, LOG_DEBUG, "no audit session id: is pam_loginuid earlier in the stack?");
	if (exchange(&o, msg, deadline, &ok, &quarantined, why, sizeof(why)) == 0 && ok) {
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "%s %s delivered", pw_record_type_name(type), r->id);
		goto cleanup;
	}
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "daemon refused the record");
	if (pw_spool_prepare(o.spool_dir, err, sizeof(err)) == 0 &&
	    pw_spool_write(o.spool_dir, r->id, msg, strlen(msg), o.spool_max, err, sizeof(err)) == 0) {
		pam_syslog(pamh, LOG_WARNING, "%s for user %s not delivered (%s): spooled as %s",
			   pw_record_type_name(type), r->user, why, r->id);
		goto cleanup;
	}
	pam_syslog(pamh, LOG_ERR, "%s for user %s lost: not delivered (%s) and not spooled (%s)%s",
		   pw_record_type_name(type), r->user, why, err,
		   o.failmode == FAIL_CLOSED ? "; refusing the session (failmode=closed)" : "");
	if (o.failmode == FAIL_CLOSED) {
		if (!(flags & PAM_SILENT))
			pam_error(pamh, "Login refused: the access auditor cannot record this session.");
		ret = PAM_SESSION_ERR;
	} else {
		ret = PAM_IGNORE;
	}
cleanup:
	free(msg);
	free(r);
	return ret;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return record_session(pamh, flags, argc, argv, PW_REC_SESSION_OPEN);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return record_session(pamh, flags, argc, argv, PW_REC_SESSION_CLOSE);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;
	struct pw_session_record *r;
	char why[256] = "";
	char *msg = NULL;
	bool ok = false;
	int quarantined = -1, ret;

	parse_options(pamh, argc, argv, &o);
	r = calloc(1, sizeof(*r));
	if (!r)
		return o.failmode == FAIL_OPEN ? PAM_IGNORE : PAM_BUF_ERR;
	build_record(pamh, PW_REC_QUARANTINE_QUERY, r);
	if (r->user[0] == '\0') {
		pam_syslog(pamh, LOG_ERR, "quarantine check: no user name");
		ret = o.failmode == FAIL_OPEN ? PAM_IGNORE : PAM_USER_UNKNOWN;
		goto cleanup;
	}
	msg = pw_record_to_json(r);
	if (msg && exchange(&o, msg, pw_now_monotonic_ns() + (uint64_t)o.timeout_ms * 1000000ULL,
			    &ok, &quarantined, why, sizeof(why)) == 0 && ok && quarantined >= 0) {
		if (quarantined) {
			pam_syslog(pamh, LOG_NOTICE, "refusing quarantined user %s", r->user);
			if (!(flags & PAM_SILENT))
				pam_error(pamh, "Access denied: account %s is quarantined by piiwatch. "
					  "Contact your administrator.", r->user);
			ret = PAM_PERM_DENIED;
		} else {
			ret = PAM_SUCCESS;
		}
		goto cleanup;
	}
	pam_syslog(pamh, LOG_ERR, "quarantine check for %s failed (%s): %s", r->user,
		   why[0] ? why : "daemon refused the query",
		   o.failmode == FAIL_OPEN ? "allowing (failmode=open)" : "refusing (failmode=closed)");
	ret = o.failmode == FAIL_OPEN ? PAM_IGNORE : PAM_PERM_DENIED;
cleanup:
	free(msg);
	free(r);
	return ret;
}
