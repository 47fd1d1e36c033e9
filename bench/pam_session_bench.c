// SPDX-License-Identifier: GPL-2.0
/*
 * pam_session_bench: what pam_piiwatch.so adds to a login's
 * pam_open_session + pam_close_session, through the real Linux-PAM
 * (pam_start_confdir, service files in a temporary directory).
 *
 * One run measures the same stack without the module and with it, the
 * daemon up (the real piiwatchd of this build on a temporary policy, and an
 * in-process responder that answers at once, which isolates the module's
 * own cost), down (the record is spooled) and hung (it accepts and never
 * answers).  The first modes are interleaved session by session so that
 * drift in the machine's load falls on all of them alike.
 *
 *   pam_session_bench [-n SESSIONS] [-H HUNG_SESSIONS] [-t TIMEOUT_MS]
 *
 * Must run as root: the module trusts only a root daemon and a root spool.
 * Exit status 1 when a target is missed: median under 1 ms with the daemon
 * up, no call longer than timeout_ms + 1 ms with it hung.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session_record.h"
#include "util.h"

#define UP_TARGET_NS 1000000ULL
#define HUNG_SLACK_NS 1000000ULL
#define WARMUP 20

enum mode { BASE, UP_DAEMON, UP_INSTANT, DOWN, HUNG, N_MODES };

static const char *const mode_names[N_MODES] = {
	[BASE] = "no module",
	[UP_DAEMON] = "daemon up (piiwatchd)",
	[UP_INSTANT] = "daemon up (instant reply)",
	[DOWN] = "daemon down (spooled)",
	[HUNG] = "daemon hung",
};

/* Socket each mode's module line points at ("" for none). */
static const char *const mode_sockets[N_MODES] = {
	[UP_DAEMON] = "pam.sock", [UP_INSTANT] = "instant.sock",
	[DOWN] = "nobody.sock",   [HUNG] = "hung.sock",
};

struct samples {
	uint64_t *open_ns, *close_ns, *total_ns;
	size_t n;
};

struct responder {
	int fd;
	bool answer; /* false: accept, read, never answer */
	const char *reply;
	int held[4096];
	size_t n_held;
	pthread_t thread;
};

static char tmpdir[] = "/tmp/pwbench.XXXXXX";

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (!f)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int write_services(const char *module, unsigned int timeout_ms)
{
	char path[PATH_MAX], text[2 * PATH_MAX];
	int m;

	snprintf(path, sizeof(path), "%s/pam.d", tmpdir);
	if (mkdir(path, 0755) != 0)
		return -1;
	for (m = 0; m < N_MODES; m++) {
		int n = snprintf(text, sizeof(text), "session required pam_permit.so\n");

		/* "optional", as the README installs it. */
		if (m != BASE)
			snprintf(text + n, sizeof(text) - (size_t)n,
				 "session optional %s socket=%s/%s spool=%s/spool-%d timeout_ms=%u\n",
				 module, tmpdir, mode_sockets[m], tmpdir, m, timeout_ms);
		snprintf(path, sizeof(path), "%s/pam.d/bench-%d", tmpdir, m);
		if (write_text(path, text) != 0)
			return -1;
	}
	return 0;
}

static int listen_at(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", tmpdir, name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Runs until its listening socket is shut down. */
static void *responder_main(void *arg)
{
	struct responder *r = arg;
	char buf[PW_RECORD_MAX_WIRE];

	for (;;) {
		int c = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		if (recv(c, buf, sizeof(buf), 0) > 0 && r->answer) {
			send(c, r->reply, strlen(r->reply), MSG_NOSIGNAL);
		} else if (!r->answer && r->n_held < sizeof(r->held) / sizeof(r->held[0])) {
			r->held[r->n_held++] = c;
			continue;
		}
		close(c);
	}
	return NULL;
}

static int responder_start(struct responder *r, const char *name, bool answer, const char *reply)
{
	memset(r, 0, sizeof(*r));
	r->answer = answer;
	r->reply = reply;
	r->fd = listen_at(name);
	if (r->fd < 0)
		return -1;
	if (pthread_create(&r->thread, NULL, responder_main, r) != 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	return 0;
}

static void responder_stop(struct responder *r)
{
	size_t i;

	if (r->fd < 0)
		return;
	/* Wakes the thread's accept() with EINVAL. */
	shutdown(r->fd, SHUT_RDWR);
	pthread_join(r->thread, NULL);
	close(r->fd);
	for (i = 0; i < r->n_held; i++)
		close(r->held[i]);
	r->fd = -1;
}

/* The build's piiwatchd on a policy that protects an empty directory;
 * ready once its socket exists and it says it is watching. */
static pid_t daemon_start(const char *piiwatchd, char *why, size_t why_size)
{
	char policy[64], text[512], errpath[64], sock[64], data[64];
	struct stat st;
	pid_t pid;
	int i;

	if (access(piiwatchd, X_OK) != 0) {
		snprintf(why, why_size, "%.200s: %s", piiwatchd, strerror(errno));
		return -1;
	}
	snprintf(policy, sizeof(policy), "%s/policy.conf", tmpdir);
	snprintf(errpath, sizeof(errpath), "%s/piiwatchd.err", tmpdir);
	snprintf(sock, sizeof(sock), "%s/%s", tmpdir, mode_sockets[UP_DAEMON]);
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	snprintf(text, sizeof(text),
		 "[store]\npath = %s/store.db\n[daemon]\npam_socket = %s\nspool = %s/spool-%d\n"
		 "[dataset bench]\npath = %s\n",
		 tmpdir, sock, tmpdir, UP_DAEMON, data);
	if (mkdir(data, 0755) != 0 || write_text(policy, text) != 0) {
		snprintf(why, why_size, "cannot write the policy: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execl(piiwatchd, piiwatchd, "-c", policy, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		size_t len = 0;
		char log[8192] = "";
		FILE *f = fopen(errpath, "re");

		if (f) {
			len = fread(log, 1, sizeof(log) - 1, f);
			log[len] = '\0';
			fclose(f);
		}
		if (stat(sock, &st) == 0 && strstr(log, "watching"))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			snprintf(why, why_size, "piiwatchd exited: %.200s", log);
			return -1;
		}
		usleep(50000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(why, why_size, "piiwatchd did not come up in 10 s");
	return -1;
}

static void daemon_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static uint64_t now_ns(void)
{
	return pw_now_monotonic_ns();
}

/* One login's session through the stack of mode m. */
static int one_session(enum mode m, struct samples *s, bool keep)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *ph = NULL;
	char service[32], confdir[PATH_MAX];
	uint64_t t0, t1, t2;
	int r1, r2;

	snprintf(service, sizeof(service), "bench-%d", m);
	snprintf(confdir, sizeof(confdir), "%s/pam.d", tmpdir);
	if (pam_start_confdir(service, "root", &pc, confdir, &ph) != PAM_SUCCESS)
		return -1;
	pam_set_item(ph, PAM_RHOST, "198.51.100.7");
	pam_set_item(ph, PAM_TTY, "pts/0");
	t0 = now_ns();
	r1 = pam_open_session(ph, 0);
	t1 = now_ns();
	r2 = pam_close_session(ph, 0);
	t2 = now_ns();
	pam_end(ph, r2);
	if (r1 != PAM_SUCCESS || r2 != PAM_SUCCESS)
		return -1;
	if (keep) {
		s->open_ns[s->n] = t1 - t0;
		s->close_ns[s->n] = t2 - t1;
		s->total_ns[s->n] = t2 - t0;
		s->n++;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static uint64_t quantile(uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n);

	qsort(v, n, sizeof(*v), cmp_u64);
	return v[i < n ? i : n - 1];
}

static uint64_t max_of(const uint64_t *v, size_t n)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static int alloc_samples(struct samples *s, size_t n)
{
	s->n = 0;
	s->open_ns = calloc(n, sizeof(uint64_t));
	s->close_ns = calloc(n, sizeof(uint64_t));
	s->total_ns = calloc(n, sizeof(uint64_t));
	return s->open_ns && s->close_ns && s->total_ns ? 0 : -1;
}

static void free_samples(struct samples *s)
{
	free(s->open_ns);
	free(s->close_ns);
	free(s->total_ns);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: pam_session_bench [-n SESSIONS] [-H HUNG_SESSIONS] [-t TIMEOUT_MS]\n");
}

int main(int argc, char **argv)
{
	struct responder instant = { .fd = -1 }, hung = { .fd = -1 };
	struct samples s[N_MODES] = { 0 };
	char self[PATH_MAX], dir[PATH_MAX], module[PATH_MAX + 32], piiwatchd[PATH_MAX + 32];
	char why[512] = "", *reply = NULL, *build;
	uint64_t n = 1000, n_hung = 20, timeout_ms = 250, base_median = 0, up_median = 0;
	uint64_t hung_worst = 0;
	bool have_daemon = false, missed = false;
	pid_t daemon = -1;
	size_t i;
	int m, c, rc = 2;

	while ((c = getopt(argc, argv, "n:H:t:")) != -1) {
		uint64_t *dst = c == 'n' ? &n : c == 'H' ? &n_hung : c == 't' ? &timeout_ms : NULL;

		if (!dst || pw_parse_u64(optarg, c == 't' ? 10000 : 1000000, dst) || *dst == 0) {
			usage();
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pam_session_bench: must run as root\n");
		return 2;
	}
	/* This program lives in BUILD/bench/. */
	if (!realpath("/proc/self/exe", self))
		return 2;
	snprintf(dir, sizeof(dir), "%s", self);
	build = dirname(dirname(dir));
	snprintf(module, sizeof(module), "%s/pam_piiwatch.so", build);
	snprintf(piiwatchd, sizeof(piiwatchd), "%s/piiwatchd", build);
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) != 0) {
		perror("pam_session_bench: temporary directory");
		return 2;
	}
	for (m = 0; m < N_MODES; m++)
		if (alloc_samples(&s[m], m == HUNG ? n_hung : n) != 0)
			goto cleanup;
	reply = pw_reply_to_json(true, NULL, -1);
	if (!reply || write_services(module, (unsigned int)timeout_ms) != 0 ||
	    responder_start(&instant, mode_sockets[UP_INSTANT], true, reply) != 0 ||
	    responder_start(&hung, mode_sockets[HUNG], false, NULL) != 0) {
		fprintf(stderr, "pam_session_bench: set-up in %s failed: %s\n", tmpdir, strerror(errno));
		goto cleanup;
	}
	daemon = daemon_start(piiwatchd, why, sizeof(why));
	have_daemon = daemon > 0;
	if (!have_daemon)
		fprintf(stderr, "pam_session_bench: no piiwatchd row: %s\n", why);

	printf("pam_session_bench: %llu sessions per mode (hung: %llu), timeout_ms=%llu, %s\n",
	       (unsigned long long)n, (unsigned long long)n_hung, (unsigned long long)timeout_ms,
	       module);
	fflush(stdout);
	for (i = 0; i < WARMUP + n; i++) {
		for (m = BASE; m < HUNG; m++) {
			if (m == UP_DAEMON && !have_daemon)
				continue;
			if (one_session(m, &s[m], i >= WARMUP) != 0) {
				fprintf(stderr, "pam_session_bench: %s: a session failed\n", mode_names[m]);
				goto cleanup;
			}
		}
	}
	for (i = 0; i < n_hung; i++)
		if (one_session(HUNG, &s[HUNG], true) != 0) {
			fprintf(stderr, "pam_session_bench: %s: a session failed\n", mode_names[HUNG]);
			goto cleanup;
		}

	printf("\n%-27s %10s %10s %10s %10s %8s\n", "open+close", "median", "p99", "max",
	       "added", "ratio");
	for (m = 0; m < N_MODES; m++) {
		uint64_t med, p99, max;

		if (s[m].n == 0) {
			printf("%-27s %s\n", mode_names[m], "skipped");
			continue;
		}
		max = max_of(s[m].total_ns, s[m].n);
		p99 = quantile(s[m].total_ns, s[m].n, 0.99);
		med = quantile(s[m].total_ns, s[m].n, 0.5);
		if (m == BASE)
			base_median = med;
		if (m == (have_daemon ? UP_DAEMON : UP_INSTANT))
			up_median = med;
		printf("%-27s %7.3f ms %7.3f ms %7.3f ms %7.3f ms %7.1fx\n", mode_names[m], med / 1e6,
		       p99 / 1e6, max / 1e6, m == BASE ? 0.0 : ((double)med - (double)base_median) / 1e6,
		       base_median ? (double)med / (double)base_median : 0.0);
	}
	hung_worst = max_of(s[HUNG].open_ns, s[HUNG].n);
	if (max_of(s[HUNG].close_ns, s[HUNG].n) > hung_worst)
		hung_worst = max_of(s[HUNG].close_ns, s[HUNG].n);
	printf("\ntarget: %s median under 1 ms: %s (%.3f ms)\n",
	       mode_names[have_daemon ? UP_DAEMON : UP_INSTANT],
	       up_median < UP_TARGET_NS ? "met" : "MISSED", up_median / 1e6);
	printf("target: hung, each pam_open_session / pam_close_session under timeout_ms + 1 ms "
	       "= %llu ms: %s (longest %.3f ms)\n",
	       (unsigned long long)timeout_ms + 1,
	       hung_worst <= timeout_ms * 1000000ULL + HUNG_SLACK_NS ? "met" : "MISSED",
	       hung_worst / 1e6);
	missed = up_median >= UP_TARGET_NS || hung_worst > timeout_ms * 1000000ULL + HUNG_SLACK_NS;
	rc = missed ? 1 : 0;
cleanup:
	daemon_stop(daemon);
	responder_stop(&instant);
	responder_stop(&hung);
	for (m = 0; m < N_MODES; m++)
		free_samples(&s[m]);
	free(reply);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
