// SPDX-License-Identifier: GPL-2.0
/*
 * pam_piiwatch.so in a PAM stack, driven by libpamtest under pam_wrapper,
 * against a fake piiwatchd (a thread) that answers as each test tells it to.
 *
 * The binary runs twice.  Started by tests/run, it enters a private mount
 * namespace with empty tmpfs over /run, /var/spool and /etc/security, so
 * that it can exercise the module's compiled-in socket, spool and
 * configuration file without touching the host's (or another engineer's
 * daemon); it writes the PAM service files there, because pam_wrapper copies
 * them once when it starts, and re-executes itself under pam_wrapper.  The
 * second run holds the tests.  /tmp stays: the build, this binary among it,
 * may live there.
 *
 * The service files give pam_piiwatch the control "[default=ok]", which
 * hands the module's own return code to the caller, PAM_IGNORE included:
 * each test asserts exactly what the module returned.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#include "session_record.h"
#include "util.h"

/* Paths inside the private tmpfs of the test's mount namespace. */
#define TDIR "/run/pamtest"
#define MODULE TDIR "/pam_piiwatch.so" /* a symlink to the build's module */
#define SERVICE_DIR TDIR "/services"
#define SOCKET TDIR "/pam.sock"
#define SPOOL TDIR "/spool"
#define ALT_SPOOL TDIR "/alt-spool"
#define CONFIG "/etc/security/piiwatch.conf"
/* The defaults docs/pam.md promises. */
#define DEFAULT_SOCKET_DIR "/run/piiwatch"
#define DEFAULT_SOCKET DEFAULT_SOCKET_DIR "/pam.sock"
#define DEFAULT_SPOOL "/var/spool/piiwatch"
#define DEFAULT_TIMEOUT_MS 250

/* How much later than timeout_ms a PAM call may return. */
#define TIMEOUT_SLACK_MS 50

#define TOKEN "Tr0ub4dor&3-never-recorded"
#define REFUSED "Login refused: the access auditor cannot record this session."
#define NOBODY 65534

#define X10 "xxxxxxxxxx"
#define STD "socket=" SOCKET " spool=" SPOOL

struct service {
	const char *name;
	const char *args;   /* of pam_piiwatch, in its account and session lines */
	const char *before; /* extra lines, for the one stack that authenticates */
	const char *after;
};

#define SERVICE(name, args) { name, args, NULL, NULL }
#define SET_ITEMS PW_PAM_WRAPPER_MODULES "/pam_set_items.so"

static const struct service services[] = {
	SERVICE("basic", STD),
	SERVICE("closed", STD " failmode=closed"),
	SERVICE("open", STD " failmode=open"),
	SERVICE("debug", STD " debug"),
	SERVICE("t100", STD " timeout_ms=100"),
	SERVICE("t400", STD " timeout_ms=400"),
	SERVICE("t10000", STD " timeout_ms=10000"),
	SERVICE("t100-closed", STD " timeout_ms=100 failmode=closed"),
	SERVICE("bad-timeouts", STD " timeout_ms=0 timeout_ms=10001 timeout_ms=12abc timeout_ms=-5"
				" timeout_ms= timeout_ms=0x10"),
	SERVICE("spool-max-2", STD " spool_max=2"),
	SERVICE("spool-max-2-closed", STD " spool_max=2 failmode=closed"),
	SERVICE("spool-max-limit", STD " spool_max=1000000"),
	SERVICE("bad-spool-max", STD " spool_max=0 spool_max=1000001 spool_max=abc spool_max=-1"
				 " spool_max="),
	SERVICE("bad-failmode", "socket=" SOCKET " spool=" ALT_SPOOL
				" failmode=closed failmode=maybe failmode=OPEN failmode="),
	SERVICE("failmode-override", "socket=" SOCKET " spool=" ALT_SPOOL
				     " failmode=closed failmode=open"),
	/* relative, empty, too long for a socket address */
	SERVICE("bad-socket", "socket=pam.sock socket= socket=/" X10 X10 X10 X10 X10 X10 X10 X10 X10
			      X10 X10 " spool=" SPOOL),
	SERVICE("bad-spool", "socket=" SOCKET " spool=spool spool="),
	SERVICE("unknown", STD " frobnicate debug=1 DEBUG timeout=5 failmode"),
	SERVICE("defaults", ""),
	SERVICE("alt-open", "socket=" SOCKET " spool=" ALT_SPOOL),
	SERVICE("alt-closed", "socket=" SOCKET " spool=" ALT_SPOOL " failmode=closed"),
	SERVICE("noparent-open", "socket=" SOCKET " spool=" TDIR "/missing/spool"),
	SERVICE("noparent-closed", "socket=" SOCKET " spool=" TDIR "/missing/spool"
				   " failmode=closed"),
	/* pam_set_items puts the token from its environment into the handle
	 * in every phase (libpam itself drops it after pam_authenticate);
	 * pam_get_items copies the items it sees into the PAM environment:
	 * proof that the token was there for pam_piiwatch to leak. */
	{ "token", STD,
	  "auth required " SET_ITEMS "\n"
	  "account required " SET_ITEMS "\n"
	  "session required " SET_ITEMS "\n",
	  "session required " PW_PAM_WRAPPER_MODULES "/pam_get_items.so\n" },
};

/* ---- the fake daemon ---------------------------------------------------- */

enum reply_mode {
	REPLY_OK,        /* {"ok":true}; to a quarantine query also the verdict */
	REPLY_TEXT,      /* reply_text, verbatim */
	REPLY_LATE,      /* REPLY_OK, late_ms after the request */
	REPLY_NEVER,     /* read the request, keep the connection, never answer */
	REPLY_CLOSE,     /* read the request, hang up without a word */
	REPLY_NO_ACCEPT, /* listen, never accept: a daemon stuck elsewhere */
};

#define MAX_MSGS 32

struct fake_daemon {
	enum reply_mode mode;
	int quarantined;        /* verdict for REPLY_OK: 0, 1; under lock */
	const char *reply_text; /* REPLY_TEXT */
	size_t reply_len;
	unsigned int late_ms;   /* REPLY_LATE */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *msgs[MAX_MSGS];
	size_t msg_len[MAX_MSGS];
	int n_msgs;
	int held[MAX_MSGS];
	int n_held;
};

/* The one fake daemon a test may run, and the impostor process of one
 * test; teardown stops both. */
static struct fake_daemon *daemon_running;
static pid_t impostor_pid;

/*
 * The daemon thread must not use cmocka's assertions, which jump back into
 * the test's thread: it aborts on what cannot happen in a healthy test, and
 * the test asserts on what the daemon received.
 */
static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

static int is_query(const char *msg, size_t len)
{
	struct pw_session_record *r = xmalloc(sizeof(*r));
	char err[256];
	int q = pw_record_from_json(msg, len, r, err, sizeof(err)) == 0 &&
		r->type == PW_REC_QUARANTINE_QUERY;

	free(r);
	return q;
}

/* As piiwatchd answers: ok, and the verdict if the request asked for one. */
static void send_ok(struct fake_daemon *d, int fd, int query)
{
	char *reply;
	int verdict;

	pthread_mutex_lock(&d->lock);
	verdict = d->quarantined;
	pthread_mutex_unlock(&d->lock);
	reply = pw_reply_to_json(true, NULL, query ? verdict : -1);
	if (!reply)
		abort();
	send(fd, reply, strlen(reply), MSG_NOSIGNAL);
	free(reply);
}

static void serve(struct fake_daemon *d, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char *buf = xmalloc(PW_RECORD_MAX_WIRE + 1);
	ssize_t n = -1;
	int query;

	if (poll(&p, 1, 2000) == 1)
		n = recv(fd, buf, PW_RECORD_MAX_WIRE + 1, MSG_TRUNC);
	if (n <= 0 || n > PW_RECORD_MAX_WIRE) {
		free(buf);
		close(fd);
		return;
	}
	query = is_query(buf, (size_t)n);
	pthread_mutex_lock(&d->lock);
	if (d->n_msgs < MAX_MSGS) {
		d->msgs[d->n_msgs] = buf;
		d->msg_len[d->n_msgs++] = (size_t)n;
		buf = NULL;
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	free(buf);
	switch (d->mode) {
	case REPLY_OK:
		send_ok(d, fd, query);
		break;
	case REPLY_TEXT:
		send(fd, d->reply_text, d->reply_len, MSG_NOSIGNAL);
		break;
	case REPLY_LATE:
		usleep(d->late_ms * 1000);
		send_ok(d, fd, query);
		break;
	case REPLY_NEVER:
		if (d->n_held < MAX_MSGS) {
			d->held[d->n_held++] = fd;
			return;
		}
		break;
	case REPLY_CLOSE:
	case REPLY_NO_ACCEPT:
		break;
	}
	close(fd);
}

static void *daemon_main(void *arg)
{
	struct fake_daemon *d = arg;
	struct pollfd p[2] = {
		{ .fd = d->stop_pipe[0], .events = POLLIN },
		{ .fd = d->listen_fd, .events = d->mode == REPLY_NO_ACCEPT ? 0 : POLLIN },
	};

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!(p[1].revents & POLLIN))
			continue;
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(d, fd);
	}
	return NULL;
}

/* Listen on path as root, as piiwatchd does, and answer in mode (text or
 * delay for REPLY_TEXT and REPLY_LATE). */
static struct fake_daemon *daemon_start_ex(const char *path, enum reply_mode mode,
					   const char *text, unsigned int late_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake_daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	assert_null(daemon_running);
	d->mode = mode;
	d->reply_text = text;
	d->reply_len = text ? strlen(text) : 0;
	d->late_ms = late_ms;
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(d->listen_fd >= 0);
	assert_int_equal(bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d->listen_fd, 16), 0);
	assert_int_equal(pipe2(d->stop_pipe, O_CLOEXEC), 0);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	assert_int_equal(pthread_create(&d->thread, NULL, daemon_main, d), 0);
	daemon_running = d;
	return d;
}

static struct fake_daemon *daemon_start(enum reply_mode mode)
{
	return daemon_start_ex(SOCKET, mode, NULL, 0);
}

static void daemon_set_verdict(struct fake_daemon *d, int quarantined)
{
	pthread_mutex_lock(&d->lock);
	d->quarantined = quarantined;
	pthread_mutex_unlock(&d->lock);
}

static void daemon_stop(void)
{
	struct fake_daemon *d = daemon_running;
	int i;

	if (!d)
		return;
	daemon_running = NULL;
	assert_int_equal(write(d->stop_pipe[1], "x", 1), 1);
	pthread_join(d->thread, NULL);
	for (i = 0; i < d->n_held; i++)
		close(d->held[i]);
	for (i = 0; i < d->n_msgs; i++)
		free(d->msgs[i]);
	close(d->listen_fd);
	close(d->stop_pipe[0]);
	close(d->stop_pipe[1]);
	unlink(d->path);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Messages received so far, after waiting up to wait_ms for at least n. */
static int daemon_received(struct fake_daemon *d, int n, unsigned int wait_ms)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (d->n_msgs < n && pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
		;
	got = d->n_msgs;
	pthread_mutex_unlock(&d->lock);
	return got;
}

/* A daemon that runs as nobody: the module must not hand it a record.  The
 * kernel takes the credentials SO_PEERCRED reports at listen(), so the child
 * binds as root and listens after dropping to nobody. */
static void impostor_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ready[2];
	pid_t pid;
	char c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", SOCKET);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char buf[PW_RECORD_MAX_WIRE];

		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY) ||
		    listen(fd, 16) || write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			int c2 = accept(fd, NULL, NULL);

			if (c2 < 0)
				continue;
			if (recv(c2, buf, sizeof(buf), 0) > 0)
				send(c2, "{\"ok\":true}", 11, MSG_NOSIGNAL);
			close(c2);
		}
	}
	impostor_pid = pid;
	close(fd);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
}

static void impostor_stop(void)
{
	if (impostor_pid <= 0)
		return;
	kill(impostor_pid, SIGKILL);
	waitpid(impostor_pid, NULL, 0);
	impostor_pid = 0;
	unlink(SOCKET);
}

/* ---- files -------------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fail_msg("cannot remove %s: %s", path, strerror(errno));
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_SPOOLED 8

/* The spool's "*.rec" names, sorted (the order the records were made). */
static int spooled_names(const char *dir, char *names[MAX_SPOOLED])
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".rec") == 0 &&
		    strncmp(de->d_name, "bad-", 4) != 0) {
			assert_true(n < MAX_SPOOLED);
			names[n] = strdup(de->d_name);
			assert_non_null(names[n++]);
		}
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	return n;
}

static void free_names(char **names, int n)
{
	while (n-- > 0)
		free(names[n]);
}

/* A spool holding n placeholder records: the module counts, never reads. */
static void fill_spool(const char *dir, int n)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/00000000000000000000-0-%08d.rec", dir, i);
		write_file(path, "{}", 2);
	}
}

/* A /proc file, which reports no size: read what there is. */
static void read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
}

static uint32_t proc_u32(const char *path)
{
	char text[32];

	read_proc(path, text, sizeof(text));
	return (uint32_t)strtoul(text, NULL, 10);
}

/* ---- one PAM transaction ------------------------------------------------ */

struct login {
	const char *service;
	const char *user;                /* NULL: no PAM_USER */
	const char *rhost, *ruser, *tty; /* NULL: item not set */
	char shown[4096];                /* what the user was shown */
	char log[65536];                 /* the module's pam_syslog lines */
	char authtok_env[256];           /* PAM_AUTHTOK as pam_get_items saw it */
	uint64_t real_start, real_end, mono_start, mono_end;
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct login *l = data;
	int i;

	*resp = calloc((size_t)n, sizeof(**resp));
	if (!*resp)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		size_t used = strlen(l->shown);

		if (msg[i]->msg_style == PAM_ERROR_MSG || msg[i]->msg_style == PAM_TEXT_INFO)
			snprintf(l->shown + used, sizeof(l->shown) - used, "%s\n", msg[i]->msg);
	}
	return PAM_SUCCESS;
}

static void login_init(struct login *l, const char *service, const char *user)
{
	memset(l, 0, sizeof(*l));
	l->service = service;
	l->user = user;
}

/*
 * Run the cases through one PAM handle with the items of l.  pam_wrapper
 * writes the module's pam_syslog lines to the stdio stream stderr: pointing
 * that stream, not file descriptor 2, at l->log keeps sanitizer reports
 * (written to the descriptor) visible even when a run crashes.
 */
static void run_cases(struct login *l, struct pam_testcase *cases, size_t n)
{
	struct pam_conv pc = { conv, l };
	const struct pam_testcase *bad;
	pam_handle_t *ph = NULL;
	enum pamtest_err perr;
	FILE *capture, *real_stderr = stderr;
	const char *tok, *line, *end;

	memset(l->shown, 0, sizeof(l->shown));
	memset(l->log, 0, sizeof(l->log));
	assert_int_equal(pam_start(l->service, l->user, &pc, &ph), PAM_SUCCESS);
	if (l->rhost)
		assert_int_equal(pam_set_item(ph, PAM_RHOST, l->rhost), PAM_SUCCESS);
	if (l->ruser)
		assert_int_equal(pam_set_item(ph, PAM_RUSER, l->ruser), PAM_SUCCESS);
	if (l->tty)
		assert_int_equal(pam_set_item(ph, PAM_TTY, l->tty), PAM_SUCCESS);
	capture = fmemopen(l->log, sizeof(l->log) - 1, "w");
	assert_non_null(capture);
	stderr = capture;
	l->real_start = pw_now_realtime_ns();
	l->mono_start = pw_now_monotonic_ns();
	perr = _pamtest(l->service, l->user, NULL, cases, n, ph);
	l->mono_end = pw_now_monotonic_ns();
	l->real_end = pw_now_realtime_ns();
	stderr = real_stderr;
	fclose(capture);
	tok = pam_getenv(ph, "PAM_AUTHTOK");
	snprintf(l->authtok_env, sizeof(l->authtok_env), "%s", tok ? tok : "");
	pam_end(ph, PAM_SUCCESS);
	/* The log goes on into the test's output, for whoever reads it. */
	for (line = l->log; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		fprintf(stderr, "#   %s: %.*s\n", l->service, (int)(end - line), line);
	}
	if (perr == PAMTEST_ERR_CASE) {
		bad = _pamtest_failed_case(cases, n);
		fail_msg("%s: PAM operation %d returned %d (%s), expected %d (%s)", l->service,
			 bad->pam_operation, bad->op_rv, pam_strerror(NULL, bad->op_rv),
			 bad->expected_rv, pam_strerror(NULL, bad->expected_rv));
	}
	assert_int_equal(perr, PAMTEST_ERR_OK);
}

/* libpamtest ends a handle it was given unless told to keep it; the first
 * case does, so that run_cases reads the handle's environment and ends it
 * whatever the other cases return. */
#define RUN(l, ...)                                                                    \
	do {                                                                           \
		struct pam_testcase cases_[] = { pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS), \
						 __VA_ARGS__ };                        \
		run_cases((l), cases_, sizeof(cases_) / sizeof(cases_[0]));            \
	} while (0)

/* One call into the module, as libpamtest returns it. */
static void run_one(struct login *l, enum pamtest_ops op, int expected, int flags)
{
	RUN(l, pam_test_flags(op, expected, flags));
}

static uint64_t elapsed_ms(const struct login *l)
{
	return (l->mono_end - l->mono_start) / 1000000;
}

static void assert_logged(const struct login *l, const char *needle)
{
	if (!strstr(l->log, needle))
		fail_msg("%s: the log does not say '%s'", l->service, needle);
}

static void assert_not_logged(const struct login *l, const char *needle)
{
	if (strstr(l->log, needle))
		fail_msg("%s: the log should not say '%s'", l->service, needle);
}

/* The call waited for the daemon and returned within timeout_ms.  The
 * session calls give the daemon nine tenths of it and keep the rest for the
 * spool; the account call, which spools nothing, waits it all. */
static void assert_waited(const struct login *l, unsigned int timeout_ms)
{
	uint64_t ms = elapsed_ms(l);

	if (ms + 2 < timeout_ms * 9 / 10 || ms > timeout_ms + TIMEOUT_SLACK_MS)
		fail_msg("%s: the call took %llu ms; timeout_ms is %u", l->service,
			 (unsigned long long)ms, timeout_ms);
}

/* ---- records ------------------------------------------------------------ */

/* What a record must hold: the items as recorded, already escaped. */
struct expect {
	enum pw_record_type type;
	const char *user;
	const char *rhost, *ruser, *tty; /* NULL: "" */
	uint32_t altered;
	int64_t uid;
};

/* Well-formed for the daemon, free of the token, and holding e; returns
 * the record's id in id_out. */
static void check_record(const char *buf, size_t len, const struct expect *e,
			 const struct login *l, char id_out[PW_RECORD_ID_MAX])
{
	struct pw_session_record *r = malloc(sizeof(*r));
	char err[256], boot[PW_BOOT_ID_LEN];

	assert_non_null(r);
	if (memmem(buf, len, TOKEN, strlen(TOKEN)))
		fail_msg("the authentication token is in a record");
	if (pw_record_from_json(buf, len, r, err, sizeof(err)) != 0)
		fail_msg("record is not well-formed (%s): %.*s", err, (int)len, buf);
	assert_int_equal(r->type, e->type);
	assert_string_equal(r->user, e->user);
	snprintf(id_out, PW_RECORD_ID_MAX, "%s", r->id);
	if (e->type != PW_REC_QUARANTINE_QUERY) {
		assert_string_equal(r->service, l->service);
		assert_string_equal(r->rhost, e->rhost ? e->rhost : "");
		assert_string_equal(r->ruser, e->ruser ? e->ruser : "");
		assert_string_equal(r->tty, e->tty ? e->tty : "");
		assert_int_equal(r->altered, e->altered);
		assert_true(r->uid == e->uid);
		assert_int_equal(r->pid, getpid());
		assert_int_equal(r->loginuid, proc_u32("/proc/self/loginuid"));
		assert_int_equal(r->sessionid, proc_u32("/proc/self/sessionid"));
		read_proc("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
		assert_string_equal(r->boot_id, boot);
		assert_in_range(r->time_ns, l->real_start, l->real_end);
		assert_in_range(r->mono_ns, l->mono_start, l->mono_end);
	}
	free(r);
}

/* The daemon's message number i holds e.  Messages are never changed once
 * counted, so reading one needs no lock. */
static void check_received(struct fake_daemon *d, int i, const struct expect *e,
			   const struct login *l, char id_out[PW_RECORD_ID_MAX])
{
	assert_true(daemon_received(d, i + 1, 2000) > i);
	check_record(d->msgs[i], d->msg_len[i], e, l, id_out);
}

/* The spool holds exactly n records (and nothing half-written), and the
 * one numbered i holds e: a whole file, named after its id, readable only
 * by root. */
static void check_spooled(const char *dir, int n, int i, const struct expect *e,
			  const struct login *l, char id_out[PW_RECORD_ID_MAX])
{
	char *names[MAX_SPOOLED], path[PATH_MAX], expected_name[PW_RECORD_ID_MAX + 8];
	struct stat st;
	size_t len;
	char *text;
	int got = spooled_names(dir, names);

	if (got != n)
		fail_msg("%s holds %d records, expected %d", dir, got, n);
	assert_int_equal(count_entries(dir), n);
	snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	text = read_file(path, &len);
	check_record(text, len, e, l, id_out);
	snprintf(expected_name, sizeof(expected_name), "%s.rec", id_out);
	assert_string_equal(names[i], expected_name);
	free(text);
	free_names(names, got);
}

static void assert_spool_empty(const char *dir)
{
	int n = count_entries(dir);

	if (n > 0)
		fail_msg("%s holds %d entries, expected none", dir, n);
}

static const struct expect root_open = { .type = PW_REC_SESSION_OPEN, .user = "root", .uid = 0 };
static const struct expect root_close = { .type = PW_REC_SESSION_CLOSE, .user = "root", .uid = 0 };
static const struct expect root_query = { .type = PW_REC_QUARANTINE_QUERY, .user = "root" };

/* ---- fixtures ----------------------------------------------------------- */

static int setup(void **state)
{
	rm_tree(SPOOL);
	rm_tree(ALT_SPOOL);
	rm_tree(DEFAULT_SPOOL);
	rm_tree(DEFAULT_SOCKET_DIR);
	rm_tree(CONFIG);
	rm_tree(SOCKET);
	return 0;
}

static int teardown(void **state)
{
	daemon_stop();
	impostor_stop();
	return 0;
}

/* ---- delivery ----------------------------------------------------------- */

static void test_delivered_open_and_close(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	struct expect e_open = root_open, e_close = root_close;
	char id_open[PW_RECORD_ID_MAX], id_close[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "basic", "root");
	l.rhost = "198.51.100.7";
	l.ruser = "admin";
	l.tty = "pts/4";
	e_open.rhost = e_close.rhost = "198.51.100.7";
	e_open.ruser = e_close.ruser = "admin";
	e_open.tty = e_close.tty = "pts/4";
	RUN(&l, pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
	    pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS));
	assert_int_equal(daemon_received(d, 2, 2000), 2);
	check_received(d, 0, &e_open, &l, id_open);
	check_received(d, 1, &e_close, &l, id_close);
	assert_string_not_equal(id_open, id_close);
	assert_spool_empty(SPOOL);
	assert_not_logged(&l, "not delivered");
	assert_true(elapsed_ms(&l) < DEFAULT_TIMEOUT_MS);
}

static void test_no_daemon_spools(void **state)
{
	char id_open[PW_RECORD_ID_MAX], id_close[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "basic", "root");
	RUN(&l, pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
	    pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS));
	/* Names sort in the order the records were made: open, then close. */
	check_spooled(SPOOL, 2, 0, &root_open, &l, id_open);
	check_spooled(SPOOL, 2, 1, &root_close, &l, id_close);
	assert_logged(&l, "not delivered (connect " SOCKET ": No such file or directory)");
	assert_logged(&l, id_open);
	/* Nobody to wait for: no reason to spend the timeout. */
	assert_true(elapsed_ms(&l) < DEFAULT_TIMEOUT_MS);
}

static void test_spool_created_0700(void **state)
{
	char id[PW_RECORD_ID_MAX];
	struct login l;
	struct stat st;

	assert_int_equal(stat(ALT_SPOOL, &st), -1);
	login_init(&l, "alt-open", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_int_equal(lstat(ALT_SPOOL, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, 0);
	check_spooled(ALT_SPOOL, 1, 0, &root_open, &l, id);
}

static void test_daemon_refusal_spools(void **state)
{
	char *refusal = pw_reply_to_json(false, "store error", -1);
	struct fake_daemon *d = daemon_start_ex(SOCKET, REPLY_TEXT, refusal, 0);
	char sent[PW_RECORD_ID_MAX], spooled[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, sent);
	check_spooled(SPOOL, 1, 0, &root_open, &l, spooled);
	assert_string_equal(sent, spooled);
	assert_logged(&l, "not delivered (daemon refused the record)");
	daemon_stop();
	free(refusal);
}

static void test_garbage_reply_spools(void **state)
{
	static const char *const replies[] = {
		"not json",
		"{\"ok\":\"yes\"}",
		"{\"ok\":true} and more",
		"[true]",
		"{\"ok\":true,\"quarantined\":\"no\"}",
		"", /* an empty message reads as end of file */
	};
	char big[700];
	size_t i;
	struct login l;

	/* A valid reply too long for the module's buffer arrives cut. */
	snprintf(big, sizeof(big), "{\"ok\":true,\"error\":\"%0600d\"}", 0);
	for (i = 0; i <= sizeof(replies) / sizeof(replies[0]); i++) {
		const char *text = i < sizeof(replies) / sizeof(replies[0]) ? replies[i] : big;
		char id[PW_RECORD_ID_MAX];

		setup(state);
		daemon_start_ex(SOCKET, REPLY_TEXT, text, 0);
		login_init(&l, "basic", "root");
		run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
		check_spooled(SPOOL, 1, 0, &root_open, &l, id);
		assert_true(elapsed_ms(&l) < DEFAULT_TIMEOUT_MS);
		daemon_stop();
	}
}

static void test_hangup_spools(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_CLOSE);
	char sent[PW_RECORD_ID_MAX], spooled[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, sent);
	check_spooled(SPOOL, 1, 0, &root_open, &l, spooled);
	assert_string_equal(sent, spooled);
	assert_logged(&l, "daemon closed the connection");
	assert_true(elapsed_ms(&l) < DEFAULT_TIMEOUT_MS);
}

static void test_hung_daemon_timeout(void **state)
{
	static const struct {
		const char *service;
		unsigned int timeout_ms;
	} cases[] = { { "t100", 100 }, { "basic", DEFAULT_TIMEOUT_MS }, { "t400", 400 } };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char sent[PW_RECORD_ID_MAX], spooled[PW_RECORD_ID_MAX];
		struct fake_daemon *d;
		struct login l;

		setup(state);
		d = daemon_start(REPLY_NEVER);
		login_init(&l, cases[i].service, "root");
		run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
		assert_waited(&l, cases[i].timeout_ms);
		check_received(d, 0, &root_open, &l, sent);
		check_spooled(SPOOL, 1, 0, &root_open, &l, spooled);
		assert_string_equal(sent, spooled);
		assert_logged(&l, "no reply in time");
		run_one(&l, PAMTEST_CLOSE_SESSION, PAM_SUCCESS, 0);
		assert_waited(&l, cases[i].timeout_ms);
		daemon_stop();
	}
}

static void test_daemon_not_accepting_timeout(void **state)
{
	char id[PW_RECORD_ID_MAX];
	struct login l;

	daemon_start(REPLY_NO_ACCEPT);
	login_init(&l, "t100", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_waited(&l, 100);
	check_spooled(SPOOL, 1, 0, &root_open, &l, id);
}

static void ignore_signal(int sig)
{
}

struct pester {
	pthread_t target, thread;
	int stop;
};

static void *pester_main(void *arg)
{
	struct pester *p = arg;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		pthread_kill(p->target, SIGUSR1);
		usleep(5000);
	}
	return NULL;
}

/* sshd gets signals (SIGCHLD, SIGALRM) while a module waits: they must
 * neither cut the wait short nor stretch it. */
static void test_signals_during_wait(void **state)
{
	struct sigaction quiet = { .sa_handler = ignore_signal }, old;
	struct pester p = { .target = pthread_self() };
	char id[PW_RECORD_ID_MAX];
	struct login l;

	daemon_start(REPLY_NEVER);
	/* No SA_RESTART: every signal interrupts the module's poll. */
	assert_int_equal(sigaction(SIGUSR1, &quiet, &old), 0);
	assert_int_equal(pthread_create(&p.thread, NULL, pester_main, &p), 0);
	login_init(&l, "t100", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
	pthread_join(p.thread, NULL);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	assert_waited(&l, 100);
	assert_logged(&l, "no reply in time (timeout_ms=100)");
	check_spooled(SPOOL, 1, 0, &root_open, &l, id);
}

/* timeout_ms=10000, the largest allowed, waits for a slow daemon; the
 * default does not, and the record is then spooled as well as stored, under
 * one id, which is how the daemon tells it has the record already. */
static void test_late_reply(void **state)
{
	struct fake_daemon *d = daemon_start_ex(SOCKET, REPLY_LATE, NULL, 400);
	char sent[PW_RECORD_ID_MAX], spooled[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "t10000", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_in_range(elapsed_ms(&l), 400, 400 + TIMEOUT_SLACK_MS);
	check_received(d, 0, &root_open, &l, sent);
	assert_spool_empty(SPOOL);
	assert_not_logged(&l, "keeping");

	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_waited(&l, DEFAULT_TIMEOUT_MS);
	check_received(d, 1, &root_open, &l, sent);
	check_spooled(SPOOL, 1, 0, &root_open, &l, spooled);
	assert_string_equal(sent, spooled);
}

static void test_nonroot_daemon_not_trusted(void **state)
{
	char id[PW_RECORD_ID_MAX];
	struct login l;

	impostor_start();
	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	/* The impostor would have answered ok: the record is spooled only
	 * because the module never handed it over. */
	check_spooled(SPOOL, 1, 0, &root_open, &l, id);
	assert_logged(&l, SOCKET " is not served by root");
}

/* ---- options ------------------------------------------------------------ */

static void test_debug(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	char id[PW_RECORD_ID_MAX], line[128];
	struct login l;

	login_init(&l, "debug", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, id);
	snprintf(line, sizeof(line), "session_open %s delivered", id);
	assert_logged(&l, line);

	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 1, &root_open, &l, id);
	assert_not_logged(&l, "delivered");
}

static void test_malformed_timeouts_keep_default(void **state)
{
	static const char *const logged[] = {
		"timeout_ms=0: expected 1..10000; keeping 250",
		"timeout_ms=10001: expected 1..10000; keeping 250",
		"timeout_ms=12abc: expected 1..10000; keeping 250",
		"timeout_ms=-5: expected 1..10000; keeping 250",
		"timeout_ms=: expected 1..10000; keeping 250",
		"timeout_ms=0x10: expected 1..10000; keeping 250",
	};
	char id[PW_RECORD_ID_MAX];
	struct login l;
	size_t i;

	daemon_start(REPLY_NEVER);
	login_init(&l, "bad-timeouts", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_waited(&l, DEFAULT_TIMEOUT_MS);
	check_spooled(SPOOL, 1, 0, &root_open, &l, id);
	for (i = 0; i < sizeof(logged) / sizeof(logged[0]); i++)
		assert_logged(&l, logged[i]);
}

static void test_spool_full(void **state)
{
	char id[PW_RECORD_ID_MAX];
	struct login l;

	/* What is not a waiting record does not count: a bad record kept
	 * for inspection, a temporary file of a write in progress. */
	assert_int_equal(mkdir(SPOOL, 0700), 0);
	write_file(SPOOL "/bad-00000000000000000001-1-00000001.rec", "x", 1);
	write_file(SPOOL "/.tmp-00000000000000000002-1-00000002", "x", 1);
	fill_spool(SPOOL, 1);
	login_init(&l, "spool-max-2", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	unlink(SPOOL "/bad-00000000000000000001-1-00000001.rec");
	unlink(SPOOL "/.tmp-00000000000000000002-1-00000002");
	check_spooled(SPOOL, 2, 1, &root_open, &l, id);

	/* Full: failmode=open goes on without a record and writes nothing. */
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	assert_int_equal(count_entries(SPOOL), 2);
	assert_logged(&l, "is full (2 records)");
	assert_logged(&l, "lost");
	assert_string_equal(l.shown, "");

	/* failmode=closed refuses the session and tells the user why... */
	login_init(&l, "spool-max-2-closed", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SESSION_ERR, 0);
	assert_int_equal(count_entries(SPOOL), 2);
	assert_string_equal(l.shown, REFUSED "\n");
	assert_logged(&l, "refusing the session (failmode=closed)");
	/* ...unless told to be silent. */
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SESSION_ERR, PAM_SILENT);
	assert_string_equal(l.shown, "");
	run_one(&l, PAMTEST_CLOSE_SESSION, PAM_SESSION_ERR, 0);
	assert_int_equal(count_entries(SPOOL), 2);
}

static void test_spool_max_default_and_limits(void **state)
{
	struct login l;

	assert_int_equal(mkdir(SPOOL, 0700), 0);
	fill_spool(SPOOL, 9999);
	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_int_equal(count_entries(SPOOL), 10000);
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	assert_logged(&l, "is full (10000 records)");

	login_init(&l, "bad-spool-max", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	assert_logged(&l, "spool_max=0: expected 1..1000000; keeping 10000");
	assert_logged(&l, "spool_max=1000001: expected 1..1000000; keeping 10000");
	assert_logged(&l, "spool_max=abc: expected 1..1000000; keeping 10000");
	assert_logged(&l, "spool_max=-1: expected 1..1000000; keeping 10000");
	assert_logged(&l, "spool_max=: expected 1..1000000; keeping 10000");
	assert_int_equal(count_entries(SPOOL), 10000);

	login_init(&l, "spool-max-limit", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_int_equal(count_entries(SPOOL), 10001);
	assert_not_logged(&l, "keeping");
}

/* Unusable spools: the record is written neither there nor where it leads,
 * and failmode decides. */
static void test_spool_unusable(void **state)
{
	enum { AS_FILE, WORLD_WRITABLE, GROUP_WRITABLE, NOT_ROOTS, SYMLINK, NO_PARENT, N_KINDS };
	static const char *const why[] = {
		[AS_FILE] = "spool " ALT_SPOOL " is not a directory",
		[WORLD_WRITABLE] = "spool directory " ALT_SPOOL " must be owned by root and not "
				   "writable by group or others",
		[GROUP_WRITABLE] = "spool directory " ALT_SPOOL " must be owned by root",
		[NOT_ROOTS] = "spool directory " ALT_SPOOL " must be owned by root",
		[SYMLINK] = "spool " ALT_SPOOL " is not a directory",
		[NO_PARENT] = "cannot create spool directory " TDIR "/missing/spool: "
			      "No such file or directory",
	};
	int kind, closed;

	for (kind = 0; kind < N_KINDS; kind++) {
		for (closed = 0; closed <= 1; closed++) {
			struct login l;
			struct stat st;

			setup(state);
			switch (kind) {
			case AS_FILE:
				write_file(ALT_SPOOL, "", 0);
				break;
			case WORLD_WRITABLE:
			case GROUP_WRITABLE:
			case NOT_ROOTS:
				assert_int_equal(mkdir(ALT_SPOOL, 0700), 0);
				if (kind == NOT_ROOTS)
					assert_int_equal(chown(ALT_SPOOL, NOBODY, NOBODY), 0);
				else
					assert_int_equal(chmod(ALT_SPOOL,
							       kind == GROUP_WRITABLE ? 0770 : 0777), 0);
				break;
			case SYMLINK:
				assert_int_equal(mkdir(SPOOL, 0700), 0);
				assert_int_equal(symlink(SPOOL, ALT_SPOOL), 0);
				break;
			}
			if (kind == NO_PARENT)
				login_init(&l, closed ? "noparent-closed" : "noparent-open", "root");
			else
				login_init(&l, closed ? "alt-closed" : "alt-open", "root");
			run_one(&l, PAMTEST_OPEN_SESSION, closed ? PAM_SESSION_ERR : PAM_IGNORE, 0);
			assert_logged(&l, why[kind]);
			assert_logged(&l, "lost");
			assert_string_equal(l.shown, closed ? REFUSED "\n" : "");
			switch (kind) {
			case AS_FILE:
				assert_int_equal(stat(ALT_SPOOL, &st), 0);
				assert_int_equal(st.st_size, 0);
				break;
			case SYMLINK:
				assert_spool_empty(SPOOL);
				break;
			case NO_PARENT:
				assert_int_equal(lstat(TDIR "/missing", &st), -1);
				break;
			default:
				assert_spool_empty(ALT_SPOOL);
			}
		}
	}
}

static void test_failmode_arguments(void **state)
{
	struct login l;

	/* No daemon and a spool that is a file: nowhere for the record. */
	write_file(ALT_SPOOL, "", 0);
	login_init(&l, "bad-failmode", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SESSION_ERR, 0);
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);
	assert_logged(&l, "failmode=maybe: expected open or closed; keeping closed");
	assert_logged(&l, "failmode=OPEN: expected open or closed; keeping closed");
	assert_logged(&l, "failmode=: expected open or closed; keeping closed");

	/* The last argument wins. */
	login_init(&l, "failmode-override", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);

	/* open is the default. */
	login_init(&l, "alt-open", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);
}

static void test_default_socket_and_malformed_sockets(void **state)
{
	static const char bad[] = "socket=: expected an absolute path shorter than 108 bytes; "
				  "keeping " DEFAULT_SOCKET;
	struct fake_daemon *d;
	char id[PW_RECORD_ID_MAX];
	struct login l;
	const char *p;
	int n = 0;

	assert_int_equal(mkdir(DEFAULT_SOCKET_DIR, 0755), 0);
	d = daemon_start_ex(DEFAULT_SOCKET, REPLY_OK, NULL, 0);
	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, id);

	/* Relative, empty, too long for a socket address: all refused. */
	login_init(&l, "bad-socket", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 1, &root_open, &l, id);
	assert_spool_empty(SPOOL);
	for (p = strstr(l.log, bad); p; p = strstr(p + 1, bad))
		n++;
	assert_int_equal(n, 3);
}

static void test_default_spool_and_malformed_spools(void **state)
{
	char id[PW_RECORD_ID_MAX];
	struct login l;
	struct stat st;

	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_logged(&l, "connect " DEFAULT_SOCKET ": No such file or directory");
	check_spooled(DEFAULT_SPOOL, 1, 0, &root_open, &l, id);
	assert_int_equal(stat(DEFAULT_SPOOL, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	rm_tree(DEFAULT_SPOOL);
	login_init(&l, "bad-spool", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_spooled(DEFAULT_SPOOL, 1, 0, &root_open, &l, id);
	assert_logged(&l, "spool=: expected an absolute path shorter than 1024 bytes; keeping "
			  DEFAULT_SPOOL);
}

static void test_unknown_options_ignored(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	char id[PW_RECORD_ID_MAX];
	struct login l;

	login_init(&l, "unknown", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, id);
	assert_logged(&l, "unknown option 'frobnicate' ignored");
	assert_logged(&l, "unknown option 'debug=1' ignored");
	assert_logged(&l, "unknown option 'DEBUG' ignored");
	assert_logged(&l, "unknown option 'timeout=5' ignored");
	assert_logged(&l, "unknown option 'failmode' ignored");
	/* None of them turned debugging on. */
	assert_not_logged(&l, "delivered");
}

/* /etc/security/piiwatch.conf: the options one per line, arguments win. */
static void test_config_file(void **state)
{
	static const char conf[] =
		"# piiwatch PAM options\n"
		"\n"
		"   socket=" SOCKET "\r\n"
		"\tspool=" ALT_SPOOL "  \n"
		"timeout_ms=100\n"
		"  # timeout_ms=5000\n"
		"debug\n"
		"bogus\n"
		"failmode=closed";
	char id[PW_RECORD_ID_MAX], line[128];
	struct fake_daemon *d;
	struct login l;

	write_file(CONFIG, conf, strlen(conf));
	daemon_start(REPLY_NEVER);
	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_waited(&l, 100);
	check_spooled(ALT_SPOOL, 1, 0, &root_open, &l, id);
	assert_logged(&l, CONFIG ": unknown option 'bogus' ignored");

	/* Arguments override the file. */
	login_init(&l, "t400", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	assert_waited(&l, 400);
	check_spooled(SPOOL, 1, 0, &root_open, &l, id);
	daemon_stop();

	/* debug came from the file... */
	d = daemon_start(REPLY_OK);
	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, &root_open, &l, id);
	snprintf(line, sizeof(line), "session_open %s delivered", id);
	assert_logged(&l, line);
	daemon_stop();

	/* ...and failmode=closed, from an unterminated last line. */
	rm_tree(ALT_SPOOL);
	write_file(ALT_SPOOL, "", 0);
	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_SESSION_ERR, 0);
}

/* A line is one line however long: no part of it may become an option of
 * its own. */
static void test_config_long_lines(void **state)
{
	char conf[8192];
	struct login l;
	int n;

	/* A comment that ends where a line reader with a fixed buffer would
	 * cut it, and a path option that is too long. */
	n = snprintf(conf, sizeof(conf), "#%01198d" "failmode=closed\n", 0);
	n += snprintf(conf + n, sizeof(conf) - (size_t)n, "spool=/%01300d\n", 0);
	n += snprintf(conf + n, sizeof(conf) - (size_t)n, "socket=" SOCKET "\nspool=" ALT_SPOOL "\n");
	write_file(CONFIG, conf, (size_t)n);
	write_file(ALT_SPOOL, "", 0);
	login_init(&l, "defaults", "root");
	run_one(&l, PAMTEST_OPEN_SESSION, PAM_IGNORE, 0);
	assert_logged(&l, CONFIG ": spool=: expected an absolute path shorter than 1024 bytes");
	assert_not_logged(&l, "unknown option");
}

/* ---- quarantine --------------------------------------------------------- */

static void test_quarantined_user_refused(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	char id[PW_RECORD_ID_MAX];
	struct login l;

	daemon_set_verdict(d, 1);
	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);
	check_received(d, 0, &root_query, &l, id);
	assert_string_equal(l.shown, "Access denied: account root is quarantined by piiwatch. "
				     "Contact your administrator.\n");
	assert_logged(&l, "refusing quarantined user root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, PAM_SILENT);
	assert_string_equal(l.shown, "");
	/* failmode does not soften a verdict. */
	login_init(&l, "open", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);

	daemon_set_verdict(d, 0);
	login_init(&l, "closed", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_SUCCESS, 0);
	check_received(d, 3, &root_query, &l, id);
	assert_string_equal(l.shown, "");
	/* Queries are questions, not records: nothing is spooled. */
	assert_spool_empty(SPOOL);
}

static void test_quarantine_unanswered(void **state)
{
	static const char *const replies[] = {
		"{\"ok\":false,\"error\":\"store error\"}",
		"{\"ok\":true}", /* no verdict */
		"garbage",
	};
	size_t i;
	struct login l;

	/* No daemon. */
	login_init(&l, "basic", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);
	assert_logged(&l, "allowing (failmode=open)");
	login_init(&l, "closed", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);
	assert_logged(&l, "refusing (failmode=closed)");

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		char id[PW_RECORD_ID_MAX];
		struct fake_daemon *d = daemon_start_ex(SOCKET, REPLY_TEXT, replies[i], 0);

		login_init(&l, "basic", "root");
		run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);
		check_received(d, 0, &root_query, &l, id);
		login_init(&l, "closed", "root");
		run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);
		daemon_stop();
	}

	/* A hung daemon: the timeout holds for the account phase too. */
	daemon_start(REPLY_NEVER);
	login_init(&l, "t100", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);
	assert_waited(&l, 100);
	login_init(&l, "t100-closed", "root");
	run_one(&l, PAMTEST_ACCOUNT, PAM_PERM_DENIED, 0);
	assert_waited(&l, 100);
	assert_spool_empty(SPOOL);
}

static void test_quarantine_without_user(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	struct login l;

	login_init(&l, "basic", NULL);
	run_one(&l, PAMTEST_ACCOUNT, PAM_IGNORE, 0);
	login_init(&l, "closed", NULL);
	run_one(&l, PAMTEST_ACCOUNT, PAM_USER_UNKNOWN, 0);
	assert_logged(&l, "quarantine check: no user name");
	assert_int_equal(daemon_received(d, 1, 100), 0);
}

/* ---- items -------------------------------------------------------------- */

/* The items reach the daemon and the spool alike. */
static void check_items(struct login *l, const struct expect *e)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	char id[PW_RECORD_ID_MAX];

	run_one(l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_received(d, 0, e, l, id);
	daemon_stop();
	run_one(l, PAMTEST_OPEN_SESSION, PAM_SUCCESS, 0);
	check_spooled(SPOOL, 1, 0, e, l, id);
	setup(NULL);
}

static void test_items_missing(void **state)
{
	struct login l;

	login_init(&l, "basic", "root");
	check_items(&l, &root_open);
}

static void test_items_escaped(void **state)
{
	struct expect e = root_open;
	struct login l;

	login_init(&l, "basic", "root");
	l.rhost = "203.0.113.7\nJan  1 00:00:00 host sshd[1]: Accepted password for root";
	l.ruser = "back\\slash\x7f\x01";
	l.tty = "pts/3\x1b[31m\xc2\x9b" "2J\xc2\x85";
	e.rhost = "203.0.113.7\\x0aJan  1 00:00:00 host sshd[1]: Accepted password for root";
	e.ruser = "back\\x5cslash\\x7f\\x01";
	e.tty = "pts/3\\x1b[31m\\xc2\\x9b2J\\xc2\\x85";
	e.altered = PW_ALT_RHOST | PW_ALT_RUSER | PW_ALT_TTY;
	check_items(&l, &e);

	/* Invalid UTF-8: stray continuation, overlong, surrogate, cut short. */
	login_init(&l, "basic", "root");
	l.rhost = "\x80host\xc0\xaf";
	l.ruser = "\xed\xa0\x80";
	l.tty = "tty\xe7\x94";
	e.rhost = "\\x80host\\xc0\\xaf";
	e.ruser = "\\xed\\xa0\\x80";
	e.tty = "tty\\xe7\\x94";
	check_items(&l, &e);

	/* The user name too; it names no account. */
	login_init(&l, "basic", "ro\not\xff");
	e = root_open;
	e.user = "ro\\x0aot\\xff";
	e.uid = -1;
	e.altered = PW_ALT_USER;
	check_items(&l, &e);
}

static void test_items_utf8_kept(void **state)
{
	struct expect e = root_open;
	struct login l;

	login_init(&l, "basic", "田中");
	l.rhost = "販売店.example.jp";
	l.tty = "pts/0";
	e.user = "田中";
	e.uid = -1;
	e.rhost = "販売店.example.jp";
	e.tty = "pts/0";
	check_items(&l, &e);
}

/* 4 KiB items are cut to at most 1023 bytes, never inside a character or
 * an escape. */
static void test_items_4k(void **state)
{
	char user[4097], ascii[4097], kanji[4099], newlines[4097];
	char user_cut[1024], ascii_cut[1024], kanji_cut[1024], newlines_cut[1024];
	struct expect e = root_open;
	struct login l;
	int i;

	memset(user, 'u', 4096);
	user[4096] = '\0';
	memset(ascii, 'a', 4096);
	ascii[4096] = '\0';
	for (i = 0; i < 1366; i++)
		memcpy(kanji + 3 * i, "田", 3);
	kanji[4098] = '\0';
	memset(newlines, '\n', 4096);
	newlines[4096] = '\0';

	memset(user_cut, 'u', 1023);
	user_cut[1023] = '\0';
	memset(ascii_cut, 'a', 1023);
	ascii_cut[1023] = '\0';
	for (i = 0; i < 341; i++)
		memcpy(kanji_cut + 3 * i, "田", 3);
	kanji_cut[1023] = '\0';
	for (i = 0; i < 255; i++)
		memcpy(newlines_cut + 4 * i, "\\x0a", 4);
	newlines_cut[1020] = '\0';

	login_init(&l, "basic", user);
	l.rhost = ascii;
	l.ruser = kanji;
	l.tty = newlines;
	e.user = user_cut;
	e.rhost = ascii_cut;
	e.ruser = kanji_cut;
	e.tty = newlines_cut;
	e.uid = -1;
	e.altered = PW_ALT_USER | PW_ALT_RHOST | PW_ALT_RUSER | PW_ALT_TTY;
	check_items(&l, &e);
}

/* ---- the token ---------------------------------------------------------- */

static void test_authtok_never_recorded(void **state)
{
	struct fake_daemon *d = daemon_start(REPLY_OK);
	char id[PW_RECORD_ID_MAX];
	char *names[MAX_SPOOLED];
	struct login l;
	int i, n;

	login_init(&l, "token", "root");
	RUN(&l, pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
	    pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
	    pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS));
	assert_string_equal(l.authtok_env, TOKEN);
	assert_int_equal(daemon_received(d, 3, 2000), 3);
	check_received(d, 0, &root_query, &l, id);
	check_received(d, 1, &root_open, &l, id);
	check_received(d, 2, &root_close, &l, id);
	assert_null(strstr(l.log, TOKEN));
	daemon_stop();

	RUN(&l, pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_IGNORE),
	    pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
	    pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS));
	assert_string_equal(l.authtok_env, TOKEN);
	n = spooled_names(SPOOL, names);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		size_t len;
		char *text;

		snprintf(path, sizeof(path), "%s/%s", SPOOL, names[i]);
		text = read_file(path, &len);
		check_record(text, len, i == 0 ? &root_open : &root_close, &l, id);
		free(text);
	}
	free_names(names, n);
	assert_null(strstr(l.log, TOKEN));
}

/* ---- the private world -------------------------------------------------- */

static int find_asan(struct dl_phdr_info *info, size_t size, void *data)
{
	char *out = data;

	if (strstr(info->dlpi_name, "/libasan.so")) {
		snprintf(out, PATH_MAX, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

/* Outside the tests, where cmocka's assertions cannot be used. */
static int put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static int write_services(void)
{
	char path[PATH_MAX], text[4096];
	size_t i;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const struct service *s = &services[i];

		snprintf(path, sizeof(path), "%s/%s", SERVICE_DIR, s->name);
		snprintf(text, sizeof(text),
			 "%saccount [default=ok] %s %s\nsession [default=ok] %s %s\n%s",
			 s->before ? s->before : "", MODULE, s->args, MODULE, s->args,
			 s->after ? s->after : "");
		if (put_file(path, text) != 0)
			return -1;
	}
	/* libpam reads "other" at every pam_start and complains when it is
	 * missing; empty, it grants nothing to a misspelt service. */
	return put_file(SERVICE_DIR "/other", "");
}

static int enter_private_world(char **argv)
{
	static const char *const fresh[] = { "/run", "/var/spool", "/etc/security" };
	char self[PATH_MAX], dir[PATH_MAX], module[PATH_MAX + 32], asan[PATH_MAX] = "";
	char preload[PATH_MAX + 32];
	size_t i;

	if (!realpath("/proc/self/exe", self))
		goto fail;
	/* The module of the same build: BUILD/tests/test_pam_module. */
	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(module, sizeof(module), "%s/pam_piiwatch.so", dirname(dirname(dir)));
	if (access(module, R_OK) != 0)
		goto fail;
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		goto fail;
	for (i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++)
		if (mount("tmpfs", fresh[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
			goto fail;
	if (mkdir(TDIR, 0755) != 0 || mkdir(SERVICE_DIR, 0755) != 0 ||
	    symlink(module, MODULE) != 0 || write_services() != 0)
		goto fail;
	/* A sanitized binary wants its runtime first among the preloads. */
	dl_iterate_phdr(find_asan, asan);
	snprintf(preload, sizeof(preload), "%s%slibpam_wrapper.so", asan, asan[0] ? ":" : "");
	if (setenv("LD_PRELOAD", preload, 1) || setenv("PAM_WRAPPER", "1", 1) ||
	    setenv("PAM_WRAPPER_SERVICE_DIR", SERVICE_DIR, 1) ||
	    /* pam_syslog lines at every level, for the tests to read */
	    setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1) || setenv("PAM_AUTHTOK", TOKEN, 1) ||
	    setenv("PW_PAMTEST_MODULE", module, 1))
		goto fail;
	execv(self, argv);
fail:
	fprintf(stderr, "test_pam_module: cannot set up the test's private mount namespace "
			"(it needs root): %s\n", strerror(errno));
	printf("not ok 1 - private mount namespace and pam_wrapper\n");
	return 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivered_open_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_daemon_spools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_created_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_refusal_spools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_reply_spools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_spools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_daemon_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_not_accepting_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signals_during_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonroot_daemon_not_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_timeouts_keep_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_max_default_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failmode_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_socket_and_malformed_sockets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_default_spool_and_malformed_spools, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_options_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantined_user_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_unanswered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_without_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_utf8_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authtok_never_recorded, setup, teardown),
	};

	if (!getenv("PW_PAMTEST_MODULE"))
		return enter_private_world(argv);
	fprintf(stderr, "# module under test: %s\n", getenv("PW_PAMTEST_MODULE"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
