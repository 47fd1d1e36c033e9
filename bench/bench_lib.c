// SPDX-License-Identifier: GPL-2.0
#include "bench_lib.h"
#include "native_only.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int bench_build_dir(char *out, size_t size)
{
	char self[PATH_MAX];

	if (!realpath("/proc/self/exe", self))
		return -1;
	/* BUILD/bench/PROGRAM */
	snprintf(out, size, "%s", dirname(dirname(self)));
	return 0;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void bench_print_load(const char *who)
{
	char line[128] = "";
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	printf("%s: load average %s\n", who, line);
	fflush(stdout);
}

int bench_write_text(const char *path, const char *text)
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

int bench_make_files(const char *dir, unsigned int n, size_t size)
{
	char path[PATH_MAX + 16];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned char *buf = malloc(size);
	unsigned int i;
	size_t j;
	int rc = 0;

	if (!buf || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
		free(buf);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		int fd;

		for (j = 0; j < size; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = (unsigned char)x;
		}
		snprintf(path, sizeof(path), "%s/f%04u", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
			rc = -1;
		if (fd >= 0 && close(fd) != 0)
			rc = -1;
	}
	free(buf);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void bench_rmtree(const char *path)
{
	if (path && path[0])
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int bench_run(char *const argv[], char *out, size_t out_size)
{
	size_t len = 0;
	int pfd[2], status = 0;
	ssize_t n;
	char drop[512];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0 || dup2(pfd[1], STDERR_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char *dst = len + 1 < out_size ? out + len : drop;
		size_t room = len + 1 < out_size ? out_size - 1 - len : sizeof(drop);

		n = read(pfd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != drop)
			len += (size_t)n;
	}
	close(pfd[0]);
	if (out_size)
		out[len] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int bench_pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

int bench_proc_cpu_ns(pid_t pid, uint64_t *ns)
{
	char path[64], buf[4096], *p;
	unsigned long long utime, stime;
	long tick = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold anything: fields restart after its ')'. */
	p = strrchr(buf, ')');
	if (!p || tick <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	*ns = (utime + stime) * (1000000000ULL / (unsigned long long)tick);
	return 0;
}

long bench_proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, "%ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int bench_without_ia32(const char *cmdline_file)
{
#ifdef __x86_64__
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(cmdline_file, "/proc/cmdline", NULL, MS_BIND, NULL) != 0 || pw_native_only() != 0) {
		fprintf(stderr, "bench: cannot hide the 32-bit entry: %s\n", strerror(errno));
		return -1;
	}
	return 0;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int bench_daemon_init(struct bench_daemon *d, const char *build, const char *dir,
		      const char *protect, bool with_jsonl)
{
	char text[4 * PATH_MAX + 512], spool[PATH_MAX + 16], *p;
	int n;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	snprintf(d->build, sizeof(d->build), "%s", build);
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(d->policy, sizeof(d->policy), "%s/policy.conf", dir);
	snprintf(d->store, sizeof(d->store), "%s/store.db", dir);
	snprintf(d->control, sizeof(d->control), "%s/control.sock", dir);
	snprintf(d->log, sizeof(d->log), "%s/piiwatchd.log", dir);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	/* bpffs refuses '.' in names. */
	snprintf(d->pin_dir, sizeof(d->pin_dir), "/sys/fs/bpf/%s", strrchr(dir, '/') + 1);
	for (p = d->pin_dir + strlen("/sys/fs/bpf/"); *p; p++)
		if (*p == '.')
			*p = '_';
	if (with_jsonl)
		snprintf(d->jsonl, sizeof(d->jsonl), "%s/events.jsonl", dir);
	n = snprintf(text, sizeof(text),
		     "[store]\npath = %s\n[daemon]\npam_socket = %s/pam.sock\ncontrol_socket = %s\n"
		     "spool = %s\npin_dir = %s\n[dataset bench]\npath = %s\n",
		     d->store, dir, d->control, spool, d->pin_dir, protect);
	if (with_jsonl)
		snprintf(text + n, sizeof(text) - (size_t)n, "[output jsonl]\npath = %s\n", d->jsonl);
	return bench_write_text(d->policy, text);
}

static bool log_says(const char *path, const char *what)
{
	char log[16384];
	size_t len;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	len = fread(log, 1, sizeof(log) - 1, f);
	log[len] = '\0';
	fclose(f);
	return strstr(log, what) != NULL;
}

int bench_daemon_start(struct bench_daemon *d, int cpu, char *why, size_t why_size)
{
	char exe[PATH_MAX + 16];
	struct stat st;
	pid_t pid;
	int i;

	snprintf(exe, sizeof(exe), "%s/piiwatchd", d->build);
	unlink(d->log);
	pid = fork();
	if (pid < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* Stopped with us, whatever becomes of us. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd < 0 || null < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0 || bench_pin(0, cpu) != 0 ||
		    (d->no_ia32_cmdline[0] && bench_without_ia32(d->no_ia32_cmdline) != 0))
			_exit(127);
		execl(exe, exe, "-c", d->policy, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	for (i = 0; i < 400; i++) {
		if (stat(d->control, &st) == 0 && log_says(d->log, "watching"))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			d->pid = -1;
			snprintf(why, why_size, "piiwatchd exited; see %s", d->log);
			return -1;
		}
		bench_sleep_ns(50000000ULL);
	}
	bench_daemon_stop(d);
	snprintf(why, why_size, "piiwatchd did not come up in 20 s");
	return -1;
}

int bench_daemon_stop(struct bench_daemon *d)
{
	char exe[PATH_MAX + 16];
	struct stat st;
	pid_t pid;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = -1;
	}
	if (stat(d->pin_dir, &st) != 0)
		return 0;
	/* Left attached (it was killed, or failed half-way): detach. */
	snprintf(exe, sizeof(exe), "%s/piiwatchd", d->build);
	pid = fork();
	if (pid == 0) {
		execl(exe, exe, "-c", d->policy, "--detach", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return stat(d->pin_dir, &st) == 0 ? -1 : 0;
}

json_object *bench_daemon_status(const struct bench_daemon *d)
{
	char exe[PATH_MAX + 16], out[65536];
	json_object *o = NULL;
	size_t len = 0;
	ssize_t n;
	int pfd[2];
	pid_t pid;

	snprintf(exe, sizeof(exe), "%s/piiwatch", d->build);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl(exe, exe, "--control-socket", d->control, "--json", "status", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && len < sizeof(out) - 1 &&
	       (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	out[len] = '\0';
	if (len)
		o = json_tokener_parse(out);
	return o;
}

uint64_t bench_json_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

int64_t bench_store_query(const struct bench_daemon *d, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(d->store, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

int bench_ring_open(struct bench_ring *r, const struct bench_daemon *d)
{
	char path[PATH_MAX + 16];
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	void *p;

	memset(r, 0, sizeof(*r));
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "%s/events", d->pin_dir);
	r->fd = bpf_obj_get(path);
	if (r->fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(r->fd, &info, &info_len) != 0)
		goto fail;
	r->size = info.max_entries;
	p = mmap(NULL, r->page, PROT_READ, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer = p;
	p = mmap(NULL, r->page, PROT_READ, MAP_SHARED, r->fd, (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->producer = p;
	return 0;
fail:
	bench_ring_close(r);
	return -1;
}

uint64_t bench_ring_pending(const struct bench_ring *r)
{
	uint64_t cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);

	return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE) - cons;
}

void bench_ring_close(struct bench_ring *r)
{
	if (r->consumer)
		munmap((void *)r->consumer, r->page);
	if (r->producer)
		munmap((void *)r->producer, r->page);
	if (r->fd > 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
}

int bench_reader_start(struct bench_reader *r, const char *build, const char *dir, int cpu,
		       const struct bench_reader_ctl *init)
{
	char exe[PATH_MAX + 32], fdstr[16];
	int i;

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	/* Inherited by the reader: no close-on-exec. */
	r->memfd = memfd_create("bench_reader_ctl", 0);
	if (r->memfd < 0 || ftruncate(r->memfd, sizeof(*r->ctl)) != 0)
		goto fail;
	r->ctl = mmap(NULL, sizeof(*r->ctl), PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (r->ctl == MAP_FAILED) {
		r->ctl = NULL;
		goto fail;
	}
	*r->ctl = *init;
	snprintf(exe, sizeof(exe), "%s/bench/bench_reader", build);
	snprintf(fdstr, sizeof(fdstr), "%d", r->memfd);
	if (access(exe, X_OK) != 0) {
		fprintf(stderr, "bench: %s: %s (make bench-probes or bench-daemon builds it)\n", exe,
			strerror(errno));
		goto fail;
	}
	r->pid = fork();
	if (r->pid < 0)
		goto fail;
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (bench_pin(0, cpu) != 0)
			_exit(127);
		execl(exe, "bench_reader", fdstr, dir, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 10000; i++) {
		if (__atomic_load_n(&r->ctl->started, __ATOMIC_ACQUIRE))
			return 0;
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			fprintf(stderr, "bench: %s exited before it started reading\n", exe);
			r->pid = -1;
			break;
		}
		bench_sleep_ns(1000000ULL);
	}
fail:
	bench_reader_free(r);
	return -1;
}

int bench_reader_wait(struct bench_reader *r)
{
	struct rusage ru;
	int status = 0;

	if (r->pid <= 0)
		return -1;
	if (wait4(r->pid, &status, 0, &ru) != r->pid)
		return -1;
	r->cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
		    ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
	r->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void bench_reader_free(struct bench_reader *r)
{
	if (r->pid > 0) {
		__atomic_store_n(&r->ctl->stop, 1, __ATOMIC_RELEASE);
		bench_reader_wait(r);
	}
	if (r->ctl)
		munmap(r->ctl, sizeof(*r->ctl));
	if (r->memfd >= 0)
		close(r->memfd);
	r->ctl = NULL;
	r->memfd = -1;
}
