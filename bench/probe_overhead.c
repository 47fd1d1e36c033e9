// SPDX-License-Identifier: GPL-2.0
/*
 * probe_overhead: what piiwatch's kernel side costs the programs it
 * watches, next to the floor of its hooks and to auditd.
 *
 * Two workloads, both run under each monitor below in the same run:
 *   loop  a program (bench_reader) that opens, reads 16 KiB of and closes
 *         files that are NOT protected, pinned to one CPU: time per access;
 *   tar   tar -cf - TREE | cat >/dev/null (to a pipe: GNU tar skips reading
 *         when the archive is /dev/null): wall and CPU time.
 * Monitors:
 *   none      nothing attached;
 *   empty     bench_empty: programs that return at once, on the hooks
 *             piiwatchd attaches (the price of the hooks themselves);
 *   piiwatch  the build's piiwatchd protecting a directory of its own;
 *   auditd    auditd -n with its own configuration, and auditctl -w -p rwa
 *             on that same directory;
 *   empty, piiwatch "no 32-bit"
 *             the same two as on this host booted with ia32_emulation=0,
 *             without the two 32-bit dispatchers on every system call
 *             (docs/kernel-probes.md, "Hook modes"): each is shown a
 *             /proc/cmdline that says so and runs under a seccomp filter
 *             that keeps it from probing.  Only where the host has the
 *             dispatchers; -N leaves them out.  Their verdicts are printed
 *             apart and do not make the exit status.
 * Rounds interleave the monitors (in a rotating order) so that drift in
 * the machine's load falls on all of them; each measurement is the least of
 * three runs of each workload, and each figure the median over the rounds.  A measurement during which another BPF tracer or audit
 * daemon appeared on the machine is thrown away and made again.
 *
 * Then: per-program costs (kernel.bpf_stats) of piiwatch and of the empty
 * programs on both workloads, piiwatch's both as loaded and once a pipe
 * has been marked as carrying protected data (after "cat PROTECTED |
 * cat", from when on every read's exit looks at its descriptor: the state
 * of a host after its first such pipeline) while a process that read
 * protected data runs (a DMS: every write looks its writer up, every open
 * looks at its file system), and the throughput of one reader of
 * protected files on one CPU with piiwatchd on the other, where every
 * access must reach the store and nothing may be lost.
 *
 *   empty, raw_tp only
 *             bench_empty --raw-only: empty programs on the raw sys_enter and
 *             sys_exit tracepoints alone, the floor of a design that would
 *             see every system call through those two (the report says
 *             how much room it would leave piiwatch's work); -R leaves it
 *             out.
 *   empty, raw dispatch
 *             bench_empty --raw-dispatch: the same two hooks, whose programs
 *             tail-call, for every native call piiwatch hooks through
 *             syscalls:*, a program that reads the call's arguments or
 *             result from the registers: the floor of that design with its
 *             dispatch, and an estimate of piiwatch on it; -R leaves it
 *             out too.
 *
 *   probe_overhead [-A] [-N] [-P] [-R] [-r ROUNDS] [-n ACCESSES] [-T TREE] [-s SECONDS]
 *
 * -P measures the per-program costs alone (no rounds, no throughput run,
 * no verdicts; exit status 0 when the measurement was made): the quick
 * check of a change to the programs (47 s here, against 7-8 min for a full
 * run).
 *
 * The workloads of every monitor but auditd run without the kernel's audit
 * context (see audit_free_begin); -A leaves it to them.
 *
 * Runs as root.  Exit status 1 when a target is missed: piiwatch's added
 * time at most 0.7 x auditd's and at most 1.2 x the empty programs', on
 * both workloads; every access of the throughput run stored, none lost.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_lib.h"
#include "compat_entry.h"
#include "piiwatch.h"
#include "piiwatch.skel.h"
#include "util.h"

#define MAX_ROUNDS 50
#define REPS 3                  /* runs of each workload per measurement; the least counts */
#define READER_CPU 1
#define DAEMON_CPU 0
#define UNPROTECTED_FILES 64
#define PROTECTED_FILES 256
#define AUDIT_KEY "piiwatch-bench"
#define AUDIT_LOCK "/run/lock/piiwatch-test-auditd.lock"
#define TARGET_VS_AUDITD 0.7
#define TARGET_VS_EMPTY 1.2
#define MAX_PROGS 256

enum mode { M_NONE, M_EMPTY, M_PIIWATCH, M_AUDITD, M_EMPTY_N32, M_PIIWATCH_N32, M_EMPTY_RAW,
	     M_EMPTY_DISPATCH, N_MODES };

static const char *const mode_names[N_MODES] = {
	[M_NONE] = "no monitor",
	[M_EMPTY] = "empty BPF programs",
	[M_PIIWATCH] = "piiwatch",
	[M_AUDITD] = "auditd (-w -p rwa)",
	[M_EMPTY_N32] = "empty, no 32-bit",
	[M_PIIWATCH_N32] = "piiwatch, no 32-bit",
	[M_EMPTY_RAW] = "empty, raw_tp only",
	[M_EMPTY_DISPATCH] = "empty, raw dispatch",
};

/* The monitors shown the host as one without a 32-bit entry. */
static bool no_ia32_mode(enum mode m)
{
	return m == M_EMPTY_N32 || m == M_PIIWATCH_N32;
}

/* Times of one measurement.  CPU time (user + system, where the probes'
 * work is charged) is what the targets are judged on: other load on the
 * machine stretches wall time but not the workload's own CPU time. */
struct sample {
	double loop_cpu_ns;     /* per access */
	double loop_wall_ns;
	double tar_cpu_ns;      /* tar and cat together */
	double tar_wall_ns;
};

enum metric { LOOP_CPU, LOOP_WALL, TAR_CPU, TAR_WALL, N_METRICS };

static double metric_of(const struct sample *s, enum metric k)
{
	const double v[N_METRICS] = { s->loop_cpu_ns, s->loop_wall_ns, s->tar_cpu_ns,
				      s->tar_wall_ns };

	return v[k];
}

struct bench {
	char build[PATH_MAX];
	char tmp[64];
	char unprotected[PATH_MAX];
	char protected_dir[PATH_MAX];
	char audit_dir[PATH_MAX];
	const char *tree;
	uint64_t accesses;
	uint64_t seconds;
	struct bench_daemon daemon;
	/* bench_empty */
	pid_t empty_pid;
	FILE *empty_out;
	/* auditd */
	pid_t auditd_pid;
	int audit_lock;
	int audit_enabled_before;
	bool audit_usable;
	bool audit_ctx;         /* -A: workloads keep the kernel's audit context */
	bool task_rule;         /* our "-a never,task -F uid=0" is loaded */
	int task_rule_lock;     /* AUDIT_LOCK, held while it is */
	char audit_why[256];
	/* The "no 32-bit" monitors run (the host has the compat dispatchers),
	 * shown cmdline_off as /proc/cmdline. */
	bool no_ia32_modes;
	char no_ia32_why[256];  /* why they were given up, if they were */
	char cmdline_off[PATH_MAX + 32];
	struct sample s[N_MODES][MAX_ROUNDS];
	size_t n[N_MODES];
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

/* ---- the monitors ---- */

/* raw: NULL, or bench_empty's --raw-only or --raw-dispatch. */
static int empty_start(struct bench *b, bool no_ia32, const char *raw, char *why, size_t why_size)
{
	char exe[PATH_MAX + 32], line[128];
	int pfd[2], n = 0, compat = -1;

	snprintf(exe, sizeof(exe), "%s/bench/bench_empty", b->build);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	b->empty_pid = fork();
	if (b->empty_pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (b->empty_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (dup2(pfd[1], STDOUT_FILENO) < 0 ||
		    (no_ia32 && bench_without_ia32(b->cmdline_off) != 0))
			_exit(127);
		execl(exe, exe, raw, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	b->empty_out = fdopen(pfd[0], "r");
	if (!b->empty_out || !fgets(line, sizeof(line), b->empty_out) ||
	    sscanf(line, "attached %d compat %d", &n, &compat) != 2 || n <= 0) {
		snprintf(why, why_size, "bench_empty did not attach");
		return -1;
	}
	if (raw && n != 2) {
		snprintf(why, why_size, "bench_empty %s attached %d programs, not 2", raw, n);
		return -1;
	}
	if (no_ia32 && compat) {
		snprintf(why, why_size, "bench_empty kept its 32-bit dispatchers though shown "
			 "ia32_emulation=0");
		return -1;
	}
	return 0;
}

static void empty_stop(struct bench *b)
{
	if (b->empty_pid > 0) {
		kill(b->empty_pid, SIGTERM);
		waitpid(b->empty_pid, NULL, 0);
	}
	if (b->empty_out)
		fclose(b->empty_out);
	b->empty_pid = -1;
	b->empty_out = NULL;
}

/* "enabled" or "pid" from auditctl -s; -1 when unknown. */
static long audit_status(const char *key)
{
	char *const argv[] = { "auditctl", "-s", NULL };
	char out[4096], *line, *save = NULL;
	long v = -1;

	if (bench_run(argv, out, sizeof(out)) != 0)
		return -1;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char k[32];
		long val;

		if (sscanf(line, "%31s %ld", k, &val) == 2 && strcmp(k, key) == 0)
			v = val;
	}
	return v;
}

static int auditctl(const char *op, const char *path)
{
	char *const argv[] = { "auditctl", (char *)op, (char *)path, "-p", "rwa", "-k", AUDIT_KEY,
			       NULL };
	char out[1024];

	return bench_run(argv, out, sizeof(out));
}

/* The lock the tests with an auditd of their own take; -1 after 5 minutes. */
static int audit_lock_take(void)
{
	int fd = open(AUDIT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644), i;

	for (i = 0; fd >= 0 && i < 3000; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		bench_sleep_ns(100000000ULL);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Once any audit daemon has run since boot, the kernel gives every new task
 * an audit context, and every system call of the task takes the slow path
 * through the audit code even with auditing switched off: about 250 ns per
 * access of the loop on this VM.  A host that never ran auditd pays none of
 * it.  So that "no monitor" and the BPF monitors are measured on such a
 * kernel, their workloads are started while a task rule tells the kernel not
 * to give new root tasks a context; auditd's are started without it and pay
 * what auditd costs.  The rule only decides at fork: it is loaded around the
 * workloads' starts and removed right after.  -A keeps the context
 * everywhere (the baseline of the rounds before 2026-12-03).
 */
static int audit_free_begin(struct bench *b)
{
	char *const argv[] = { "auditctl", "-a", "task,never", "-F", "uid=0", NULL };
	char out[1024];

	if (b->audit_ctx || !b->audit_usable || b->task_rule)
		return 0;
	/* A test's auditd must not lose its tasks to the rule. */
	b->task_rule_lock = audit_lock_take();
	if (b->task_rule_lock < 0) {
		fprintf(stderr, "probe_overhead: the lock %s stayed taken for 5 minutes\n",
			AUDIT_LOCK);
		return -1;
	}
	if (bench_run(argv, out, sizeof(out)) != 0) {
		fprintf(stderr, "probe_overhead: auditctl -a task,never -F uid=0 failed: %s\n", out);
		close(b->task_rule_lock);
		b->task_rule_lock = -1;
		return -1;
	}
	b->task_rule = true;
	return 0;
}

static void audit_free_end(struct bench *b)
{
	char *const argv[] = { "auditctl", "-d", "task,never", "-F", "uid=0", NULL };
	char out[1024];

	if (!b->task_rule)
		return;
	if (bench_run(argv, out, sizeof(out)) != 0)
		fprintf(stderr, "probe_overhead: auditctl -d task,never -F uid=0 failed: %s\n", out);
	b->task_rule = false;
	close(b->task_rule_lock);
	b->task_rule_lock = -1;
}

static int audit_write_config(struct bench *b)
{
	char text[2 * PATH_MAX + 1024], path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/plugins.d", b->audit_dir);
	if (mkdir(b->audit_dir, 0700) != 0 || mkdir(path, 0700) != 0)
		return -1;
	snprintf(text, sizeof(text),
		 "local_events = yes\nwrite_logs = yes\nlog_file = %s/audit.log\nlog_format = RAW\n"
		 "flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 64\nnum_logs = 1\n"
		 "max_log_file_action = IGNORE\nspace_left = 2\nspace_left_action = IGNORE\n"
		 "admin_space_left = 1\nadmin_space_left_action = IGNORE\n"
		 "disk_full_action = IGNORE\ndisk_error_action = IGNORE\nq_depth = 2000\n"
		 "overflow_action = IGNORE\nplugin_dir = %s\nend_of_event_timeout = 2\n",
		 b->audit_dir, path);
	snprintf(path, sizeof(path), "%s/auditd.conf", b->audit_dir);
	if (bench_write_text(path, text) != 0)
		return -1;
	/* auditd refuses a configuration others could change. */
	return chmod(path, 0600);
}

static void auditd_stop(struct bench *b)
{
	char arg[16];
	char *const argv[] = { "auditctl", "-e", arg, NULL };
	char out[256];

	if (b->auditd_pid > 0) {
		auditctl("-W", b->protected_dir);
		kill(b->auditd_pid, SIGTERM);
		waitpid(b->auditd_pid, NULL, 0);
		b->auditd_pid = -1;
		/* auditd switches auditing on and leaves it on. */
		snprintf(arg, sizeof(arg), "%d", b->audit_enabled_before);
		bench_run(argv, out, sizeof(out));
	}
	if (b->audit_lock >= 0) {
		close(b->audit_lock);
		b->audit_lock = -1;
	}
}

/* The kernel talks to one audit daemon: take the place only when free,
 * under the lock the tests with an auditd of their own take. */
static int auditd_start(struct bench *b, char *why, size_t why_size)
{
	char log[PATH_MAX + 32];
	long pid, enabled;
	int i;

	b->audit_lock = audit_lock_take();
	if (b->audit_lock < 0) {
		snprintf(why, why_size, "the lock %s stayed taken for 5 minutes", AUDIT_LOCK);
		goto fail;
	}
	enabled = audit_status("enabled");
	pid = audit_status("pid");
	if (enabled < 0 || pid < 0) {
		snprintf(why, why_size, "no audit in this kernel");
		goto fail;
	}
	if (pid != 0 && kill((pid_t)pid, 0) == 0) {
		snprintf(why, why_size, "another auditd (pid %ld) holds the kernel's audit connection",
			 pid);
		goto fail;
	}
	if (enabled == 2) {
		snprintf(why, why_size, "the audit configuration is locked (enabled 2)");
		goto fail;
	}
	b->audit_enabled_before = (int)enabled;
	snprintf(log, sizeof(log), "%s/auditd.out", b->audit_dir);
	b->auditd_pid = fork();
	if (b->auditd_pid < 0)
		goto fail;
	if (b->auditd_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execlp("auditd", "auditd", "-n", "-c", b->audit_dir, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && audit_status("pid") != b->auditd_pid; i++) {
		if (waitpid(b->auditd_pid, NULL, WNOHANG) == b->auditd_pid) {
			b->auditd_pid = -1;
			break;
		}
		bench_sleep_ns(100000000ULL);
	}
	if (b->auditd_pid <= 0 || audit_status("pid") != b->auditd_pid) {
		snprintf(why, why_size, "auditd did not register with the kernel; see %.400s", log);
		goto fail;
	}
	if (auditctl("-w", b->protected_dir) != 0) {
		snprintf(why, why_size, "auditctl -w %.400s failed", b->protected_dir);
		goto fail;
	}
	return 0;
fail:
	auditd_stop(b);
	return -1;
}

/* Whether piiwatch status says no 32-bit system calls are watched. */
static bool daemon_says_no_compat(const struct bench *b)
{
	json_object *st = bench_daemon_status(&b->daemon), *v;
	bool none = st && json_object_object_get_ex(st, "compat_syscalls", &v) &&
		    strcmp(json_object_get_string(v), "none") == 0;

	json_object_put(st);
	return none;
}

static int monitor_start(struct bench *b, enum mode m, char *why, size_t why_size)
{
	int rc;

	switch (m) {
	case M_NONE:
		return 0;
	case M_EMPTY:
	case M_EMPTY_N32:
	case M_EMPTY_RAW:
	case M_EMPTY_DISPATCH:
		return empty_start(b, m == M_EMPTY_N32,
				   m == M_EMPTY_RAW ? "--raw-only"
				   : m == M_EMPTY_DISPATCH ? "--raw-dispatch" : NULL,
				   why, why_size);
	case M_PIIWATCH:
	case M_PIIWATCH_N32:
		snprintf(b->daemon.no_ia32_cmdline, sizeof(b->daemon.no_ia32_cmdline), "%s",
			 m == M_PIIWATCH_N32 ? b->cmdline_off : "");
		rc = bench_daemon_start(&b->daemon, -1, why, why_size);
		b->daemon.no_ia32_cmdline[0] = '\0';
		if (rc == 0 && m == M_PIIWATCH_N32 && !daemon_says_no_compat(b)) {
			snprintf(why, why_size, "piiwatchd kept its 32-bit dispatchers though shown "
				 "ia32_emulation=0");
			return -1;
		}
		return rc;
	case M_AUDITD:
		return auditd_start(b, why, why_size);
	default:
		return -1;
	}
}

static int monitor_stop(struct bench *b, enum mode m)
{
	switch (m) {
	case M_EMPTY:
	case M_EMPTY_N32:
	case M_EMPTY_RAW:
	case M_EMPTY_DISPATCH:
		empty_stop(b);
		return 0;
	case M_PIIWATCH:
	case M_PIIWATCH_N32:
		return bench_daemon_stop(&b->daemon);
	case M_AUDITD:
		auditd_stop(b);
		return 0;
	default:
		return 0;
	}
}

/* ---- telling our programs from another tracer's ---- */

/* Ids of the programs in the daemon's pinned tables of tail calls (the
 * compat_* ones, which no link holds), each once and none of known[0..k),
 * with their kernel names. */
static size_t tail_called(const struct bench *b, __u32 *ids, char (*names)[64], const __u32 *known,
			  size_t k, size_t max)
{
	static const char *const tables[] = { "compat_enter", "compat_exit" };
	char path[PATH_MAX + 32];
	size_t n = 0, t, i;
	__u32 key;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", b->daemon.pin_dir, tables[t]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		for (key = 0; key < PW_COMPAT_NR && n < max; key++) {
			struct bpf_prog_info info = { 0 };
			__u32 id, len = sizeof(info);
			int pfd;

			if (bpf_map_lookup_elem(fd, &key, &id))
				continue;
			for (i = 0; i < k && known[i] != id; i++)
				;
			if (i < k)
				continue;
			for (i = 0; i < n && ids[i] != id; i++)
				;
			if (i < n)
				continue;
			ids[n] = id;
			if (names) {
				pfd = bpf_prog_get_fd_by_id(id);
				if (pfd >= 0 && bpf_obj_get_info_by_fd(pfd, &info, &len) == 0)
					snprintf(names[n], sizeof(names[n]), "%s", info.name);
				else
					snprintf(names[n], sizeof(names[n]), "tail-called %u", id);
				if (pfd >= 0)
					close(pfd);
			}
			n++;
		}
		close(fd);
	}
	return n;
}

/* Ids of the programs behind the links the daemon pinned, each once, with
 * their names in piiwatch.bpf.c (a link's name, up to a "-": one program
 * may be behind several links, "handle_exit_change-sys_exit_unlink"...). */
static size_t daemon_progs(const struct bench *b, __u32 *ids, char (*names)[64], size_t max)
{
	char dir[PATH_MAX + 16], path[2 * PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", b->daemon.pin_dir);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		struct bpf_link_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			size_t i;

			for (i = 0; i < n && ids[i] != info.prog_id; i++)
				;
			if (i == n) {
				ids[n] = info.prog_id;
				if (names)
					snprintf(names[n], sizeof(names[n]), "%.*s",
						 (int)strcspn(de->d_name, "-"), de->d_name);
				n++;
			}
		}
		close(fd);
	}
	closedir(d);
	return n < max ? n + tail_called(b, ids + n, names ? names + n : NULL, ids, n, max - n) : n;
}

static bool is_tracing(__u32 type)
{
	return type == BPF_PROG_TYPE_KPROBE || type == BPF_PROG_TYPE_TRACEPOINT ||
	       type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_PERF_EVENT ||
	       type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_LSM;
}

/*
 * Someone else's tracing programs or audit daemon, which would slow every
 * monitor's workload alike and spoil the comparison.  Writes what it saw.
 */
static bool disturbed(const struct bench *b, enum mode m, char *what, size_t size)
{
	__u32 ours[MAX_PROGS], id = 0;
	bool daemon = m == M_PIIWATCH || m == M_PIIWATCH_N32;
	size_t n_ours = daemon ? daemon_progs(b, ours, NULL, MAX_PROGS) : 0, i;
	int foreign = 0;
	long apid;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		bool mine = false;
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && is_tracing(info.type)) {
			for (i = 0; i < n_ours; i++)
				mine |= ours[i] == id;
			if ((m == M_EMPTY || m == M_EMPTY_N32 || m == M_EMPTY_RAW ||
			     m == M_EMPTY_DISPATCH) &&
			    strncmp(info.name, "empty_", 6) == 0)
				mine = true;
			foreign += !mine;
		}
		close(fd);
	}
	apid = audit_status("pid");
	if (foreign || (apid > 0 && apid != (m == M_AUDITD ? b->auditd_pid : 0))) {
		snprintf(what, size, "%d tracing BPF programs of others, audit daemon pid %ld",
			 foreign, apid);
		return true;
	}
	return false;
}

/* Wait (up to 10 minutes) until the machine has no other tracer. */
static void wait_quiet(const struct bench *b)
{
	char what[128];
	int i;

	for (i = 0; i < 600 && !interrupted && disturbed(b, M_NONE, what, sizeof(what)); i++) {
		if (i % 30 == 5)
			fprintf(stderr, "probe_overhead: waiting for a quiet machine: %s\n", what);
		bench_sleep_ns(1000000000ULL);
	}
}

/* ---- the workloads ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU and wall nanoseconds per access of the reader over dir. */
static int run_reader(const struct bench *b, const char *dir, uint64_t accesses, double *cpu,
		      double *wall)
{
	struct bench_reader_ctl init = { .iterations = accesses };
	struct bench_reader r;

	if (bench_reader_start(&r, b->build, dir, READER_CPU, &init) != 0)
		return -1;
	if (bench_reader_wait(&r) != 0 || r.ctl->done != accesses) {
		bench_reader_free(&r);
		return -1;
	}
	/* The CPU time includes starting the program: tiny next to the loop. */
	*cpu = (double)r.cpu_ns / (double)accesses;
	*wall = (double)r.ctl->loop_ns / (double)accesses;
	bench_reader_free(&r);
	return 0;
}

/* The least of REPS runs of the loop: other work on the machine can only
 * add to a run's time. */
static int run_loop(const struct bench *b, double *cpu, double *wall)
{
	double c, w;
	int i;

	for (i = 0; i < REPS; i++) {
		if (run_reader(b, b->unprotected, b->accesses, &c, &w) != 0)
			return -1;
		if (i == 0 || c < *cpu)
			*cpu = c;
		if (i == 0 || w < *wall)
			*wall = w;
	}
	return 0;
}

static double tv_ns(struct timeval tv)
{
	return (double)tv.tv_sec * 1e9 + (double)tv.tv_usec * 1e3;
}

/* tar -cf - TREE | cat >/dev/null: wall and CPU nanoseconds. */
static int run_tar_once(const struct bench *b, double *wall, double *cpu)
{
	uint64_t t0 = bench_now_ns();
	pid_t tar, cat;
	int pfd[2], null, st1 = 0, st2 = 0;
	struct rusage ru1, ru2;

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	tar = fork();
	if (tar == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
			_exit(127);
		execlp("tar", "tar", "-cf", "-", b->tree, (char *)NULL);
		_exit(127);
	}
	cat = fork();
	if (cat == 0) {
		if (dup2(pfd[0], STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	close(pfd[1]);
	close(null);
	if (tar < 0 || cat < 0 || wait4(tar, &st1, 0, &ru1) != tar || wait4(cat, &st2, 0, &ru2) != cat)
		return -1;
	*wall = (double)(bench_now_ns() - t0);
	*cpu = tv_ns(ru1.ru_utime) + tv_ns(ru1.ru_stime) + tv_ns(ru2.ru_utime) + tv_ns(ru2.ru_stime);
	/* tar exits 1 when a file changed while it read it: still a full run. */
	if (!WIFEXITED(st1) || WEXITSTATUS(st1) > 1 || !WIFEXITED(st2) || WEXITSTATUS(st2) != 0)
		return -1;
	return 0;
}

/* The least of REPS runs of tar. */
static int run_tar(const struct bench *b, double *wall, double *cpu)
{
	double w, c;
	int i;

	for (i = 0; i < REPS; i++) {
		if (run_tar_once(b, &w, &c) != 0)
			return -1;
		if (i == 0 || c < *cpu)
			*cpu = c;
		if (i == 0 || w < *wall)
			*wall = w;
	}
	return 0;
}

/* One measurement of mode m, made again when another tracer disturbed it.
 * 1: measured, 0: the monitor is not available, -1: failure. */
static int measure(struct bench *b, enum mode m, int round)
{
	char why[512] = "", what[128];
	struct sample s;
	int attempt;

	for (attempt = 0; attempt < 3 && !interrupted; attempt++) {
		bool spoiled;

		wait_quiet(b);
		if (monitor_start(b, m, why, sizeof(why)) != 0) {
			if (m == M_AUDITD) {
				snprintf(b->audit_why, sizeof(b->audit_why), "%s", why);
				b->audit_usable = false;
				return 0;
			}
			if (no_ia32_mode(m)) {
				/* Leaves nothing behind: started and stopped as
				 * the host's monitors are. */
				monitor_stop(b, m);
				snprintf(b->no_ia32_why, sizeof(b->no_ia32_why), "%s", why);
				b->no_ia32_modes = false;
				fprintf(stderr, "probe_overhead: %s: %s: the \"no 32-bit\" monitors are "
					"left out\n", mode_names[m], why);
				return 0;
			}
			fprintf(stderr, "probe_overhead: %s: %s\n", mode_names[m], why);
			return -1;
		}
		/* Let the monitor finish starting up (the daemon's first store
		 * work, auditd's rule load). */
		bench_sleep_ns(500000000ULL);
		if ((m != M_AUDITD && audit_free_begin(b) != 0) ||
		    run_loop(b, &s.loop_cpu_ns, &s.loop_wall_ns) != 0 ||
		    run_tar(b, &s.tar_wall_ns, &s.tar_cpu_ns) != 0) {
			audit_free_end(b);
			monitor_stop(b, m);
			fprintf(stderr, "probe_overhead: %s: a workload failed\n", mode_names[m]);
			return -1;
		}
		audit_free_end(b);
		spoiled = disturbed(b, m, what, sizeof(what));
		if (monitor_stop(b, m) != 0) {
			fprintf(stderr, "probe_overhead: %s: left something attached\n", mode_names[m]);
			return -1;
		}
		if (!spoiled) {
			b->s[m][b->n[m]++] = s;
			fprintf(stderr, "probe_overhead: round %d %-20s loop %.0f ns/access (CPU), "
				"tar %.3f s (CPU)\n",
				round + 1, mode_names[m], s.loop_cpu_ns, s.tar_cpu_ns / 1e9);
			return 1;
		}
		fprintf(stderr, "probe_overhead: round %d %s disturbed (%s): measuring again\n",
			round + 1, mode_names[m], what);
	}
	return interrupted ? -1 : 0;
}

/* ---- per-program costs ---- */

struct prog_cost {
	char name[64];
	char section[128];
	uint64_t runs[2];       /* loop, tar */
	uint64_t ns[2];
};

struct prog_snap {
	char name[128];         /* piiwatch: program name; empty: hook_key() */
	uint64_t runs, ns;
};

static size_t snap_daemon(const struct bench *b, struct prog_snap *out, size_t max)
{
	__u32 ids[MAX_PROGS];
	char names[MAX_PROGS][64];
	size_t n = daemon_progs(b, ids, names, max < MAX_PROGS ? max : MAX_PROGS), i;

	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		snprintf(out[i].name, sizeof(out[i].name), "%s", names[i]);
		out[i].runs = out[i].ns = 0;
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			out[i].runs = info.run_cnt;
			out[i].ns = info.run_time_ns;
		}
		if (fd >= 0)
			close(fd);
	}
	return n;
}

/*
 * What a program's costs are filed under: its hook, and for a program
 * shared by several exits (SEC("tracepoint"), attached by hand) the part
 * of its name after the prefix, so that handle_exit_open and
 * empty_exit_open meet as "shared: exit_open".  "raw_tp/X" and
 * "tp_btf/X" are one hook, the raw tracepoint X (as bench_empty.c has
 * them), so a program and its twin meet whichever of the two each is.
 */
static void hook_key(char *out, size_t size, const char *name, const char *section,
		     const char *prefix)
{
	size_t len = strlen(prefix);

	if (strcmp(section, "tracepoint") == 0)
		snprintf(out, size, "shared: %s",
			 strncmp(name, prefix, len) == 0 ? name + len : name);
	else if (strncmp(section, "tp_btf/", 7) == 0)
		snprintf(out, size, "raw_tp/%s", section + 7);
	else
		snprintf(out, size, "%s", section);
}

static size_t snap_empty(struct bench *b, struct prog_snap *out, size_t max)
{
	char line[512], name[64], sec[128];
	unsigned long long runs, ns;
	size_t n = 0;

	kill(b->empty_pid, SIGUSR1);
	while (fgets(line, sizeof(line), b->empty_out) && strcmp(line, "end\n") != 0) {
		if (n < max && sscanf(line, "prog %63s %127s %llu %llu", name, sec, &runs, &ns) == 4) {
			hook_key(out[n].name, sizeof(out[n].name), name, sec, "empty_");
			out[n].runs = runs;
			out[n].ns = ns;
			n++;
		}
	}
	return n;
}

static struct prog_cost *cost_of(struct prog_cost *c, size_t *n, const char *section)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(c[i].section, section) == 0)
			return &c[i];
	if (*n >= MAX_PROGS)
		return NULL;
	memset(&c[*n], 0, sizeof(c[*n]));
	snprintf(c[*n].section, sizeof(c[*n].section), "%s", section);
	return &c[(*n)++];
}

/* Section of a piiwatch.bpf.c program, from its name. */
static const char *section_of(struct piiwatch_bpf *skel, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, name);

	return p ? bpf_program__section_name(p) : name;
}

static void add_costs(struct prog_cost *c, size_t *nc, struct piiwatch_bpf *skel,
		      const struct prog_snap *before, const struct prog_snap *after, size_t n,
		      int workload, bool piiwatch)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char key[128];
		struct prog_cost *pc;

		/* The 32-bit programs are only tail-called: their runs and
		 * time are their dispatcher's, and they share its hook. */
		if (piiwatch && strncmp(after[i].name, "compat_", 7) == 0)
			continue;
		if (piiwatch)
			hook_key(key, sizeof(key), after[i].name, section_of(skel, after[i].name),
				 "handle_");
		else
			snprintf(key, sizeof(key), "%s", after[i].name);
		pc = cost_of(c, nc, key);

		if (!pc)
			continue;
		if (piiwatch)
			snprintf(pc->name, sizeof(pc->name), "%s", after[i].name);
		pc->runs[workload] = after[i].runs - before[i].runs;
		pc->ns[workload] = after[i].ns - before[i].ns;
	}
}

/* Entries in the running daemon's map called name (found through its
 * programs), or -1 when it cannot be found. */
static long map_entries(const struct bench *b, const char *name)
{
	__u32 ids[MAX_PROGS];
	size_t n = daemon_progs(b, ids, NULL, MAX_PROGS), i, j;
	long count = -1;

	for (i = 0; i < n && count < 0; i++) {
		__u32 map_ids[64], len = sizeof(struct bpf_prog_info);
		struct bpf_prog_info info = { 0 };
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		info.nr_map_ids = 64;
		info.map_ids = (__u64)(unsigned long)map_ids;
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		for (j = 0; j < info.nr_map_ids && j < 64 && count < 0; j++) {
			struct bpf_map_info mi = { 0 };
			__u32 mlen = sizeof(mi);
			unsigned char key[64], next[64];
			int mfd = bpf_map_get_fd_by_id(map_ids[j]);

			if (mfd < 0)
				continue;
			if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen) == 0 && strcmp(mi.name, name) == 0 &&
			    mi.key_size <= sizeof(key)) {
				count = 0;
				for (int r = bpf_map_get_next_key(mfd, NULL, next); r == 0;
				     r = bpf_map_get_next_key(mfd, key, next)) {
					memcpy(key, next, mi.key_size);
					count++;
				}
			}
			close(mfd);
		}
	}
	return count;
}

/*
 * The state of a host after its first pipeline that passed protected
 * data on ("cat data | gzip"), with a process that read them still
 * running (a DMS holding its database): a pipe marked, from when on every
 * native read's exit looks at its descriptor, and a process marked, from
 * when on every write looks the writer up and every open looks at its
 * file system's magic number.  The process (a shell that read a line of
 * a protected file, then sleeps) is put in *holder.  0 once the daemon's
 * maps have both.
 */
static int mark_host(const struct bench *b, pid_t *holder)
{
	char file[PATH_MAX + 16];
	int st = 0, i;
	pid_t sh;

	*holder = -1;
	snprintf(file, sizeof(file), "%s/f0000", b->protected_dir);
	sh = fork();
	if (sh == 0) {
		execl("/bin/sh", "sh", "-c", "cat \"$1\" | cat >/dev/null", "sh", file, (char *)NULL);
		_exit(127);
	}
	if (sh < 0 || waitpid(sh, &st, 0) != sh || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	*holder = fork();
	if (*holder == 0) {
		execl("/bin/sh", "sh", "-c", "read x <\"$1\"; exec sleep 3600", "sh", file,
		      (char *)NULL);
		_exit(127);
	}
	if (*holder < 0)
		return -1;
	for (i = 0; i < 200 && map_entries(b, "tainted_tasks") < 1; i++)
		bench_sleep_ns(10000000ULL);
	return map_entries(b, "pipe_carriers") > 0 && map_entries(b, "tainted_tasks") > 0 ? 0 : -1;
}

static void stop_holder(pid_t holder)
{
	if (holder <= 0)
		return;
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

/* The per-program costs of monitor m on both workloads; for piiwatch
 * with marked, with a pipe and a process marked (mark_host). */
static int profile_mode(struct bench *b, enum mode m, bool marked, struct piiwatch_bpf *skel,
			struct prog_cost *c, size_t *nc)
{
	static struct prog_snap s0[MAX_PROGS], s1[MAX_PROGS], s2[MAX_PROGS];
	char why[512];
	double wall, cpu;
	size_t n0, n1, n2;
	pid_t holder = -1;
	int rc = -1;

	wait_quiet(b);
	if (monitor_start(b, m, why, sizeof(why)) != 0) {
		fprintf(stderr, "probe_overhead: profile: %s: %s\n", mode_names[m], why);
		return -1;
	}
	if (marked && mark_host(b, &holder) != 0) {
		fprintf(stderr, "probe_overhead: profile: no pipe and process marked after "
				"cat PROTECTED | cat and a read of it\n");
		goto out;
	}
	bench_sleep_ns(500000000ULL);
	n0 = m == M_EMPTY ? snap_empty(b, s0, MAX_PROGS) : snap_daemon(b, s0, MAX_PROGS);
	if (run_reader(b, b->unprotected, b->accesses, &cpu, &wall) != 0)
		goto out;
	n1 = m == M_EMPTY ? snap_empty(b, s1, MAX_PROGS) : snap_daemon(b, s1, MAX_PROGS);
	if (run_tar_once(b, &wall, &cpu) != 0)
		goto out;
	n2 = m == M_EMPTY ? snap_empty(b, s2, MAX_PROGS) : snap_daemon(b, s2, MAX_PROGS);
	if (n0 != n1 || n1 != n2)
		goto out;
	add_costs(c, nc, skel, s0, s1, n1, 0, m == M_PIIWATCH);
	add_costs(c, nc, skel, s1, s2, n2, 1, m == M_PIIWATCH);
	rc = 0;
out:
	stop_holder(holder);
	monitor_stop(b, m);
	return rc;
}

/*
 * With kernel.bpf_stats_enabled (through BPF_ENABLE_STATS: switched off
 * again when the descriptor closes, whatever happens to us), what each
 * program costs per access of the loop and per run of tar: the empty
 * programs, piiwatch, and piiwatch once a pipe has been marked (the
 * state after the first pipeline that carried protected data, which
 * lasts until the programs are unloaded) while a marked process runs.
 */
static int profile(struct bench *b)
{
	static struct prog_cost empty[MAX_PROGS], real[MAX_PROGS], marked[MAX_PROGS];
	size_t n_empty = 0, n_real = 0, n_marked = 0, i;
	struct piiwatch_bpf *skel = piiwatch_bpf__open();
	double sum[3][2] = { { 0 } };
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME), rc = -1;

	if (!skel || stats_fd < 0 || profile_mode(b, M_EMPTY, false, skel, empty, &n_empty) != 0 ||
	    profile_mode(b, M_PIIWATCH, false, skel, real, &n_real) != 0 ||
	    profile_mode(b, M_PIIWATCH, true, skel, marked, &n_marked) != 0) {
		fprintf(stderr, "probe_overhead: profile failed: %s\n", strerror(errno));
		goto out;
	}
	printf("\nper-program cost (kernel.bpf_stats: run time inside each program; one loop run "
	       "of %llu accesses, one tar run; \"marked\": piiwatch again after "
	       "cat PROTECTED | cat marked a pipe, and a process that read PROTECTED runs)\n",
	       (unsigned long long)b->accesses);
	printf("%-28s %-42s %9s %9s %9s %12s %12s %12s %12s\n", "program", "hook", "runs/acc",
	       "empty ns", "piiw ns", "piiw ns/acc", "marked ns/acc", "tar piiw ms", "tar mark ms");
	for (i = 0; i < n_real; i++) {
		struct prog_cost *r = &real[i], *e = cost_of(empty, &n_empty, r->section);
		struct prog_cost *k = cost_of(marked, &n_marked, r->section);
		double per_run_e = e && e->runs[0] ? (double)e->ns[0] / (double)e->runs[0] : 0;
		double per_run_r = r->runs[0] ? (double)r->ns[0] / (double)r->runs[0] : 0;
		double k0 = k ? (double)k->ns[0] : 0, k1 = k ? (double)k->ns[1] : 0;

		sum[0][0] += e ? (double)e->ns[0] : 0;
		sum[0][1] += e ? (double)e->ns[1] : 0;
		sum[1][0] += (double)r->ns[0];
		sum[1][1] += (double)r->ns[1];
		sum[2][0] += k0;
		sum[2][1] += k1;
		if (!r->runs[0] && !r->runs[1] && (!k || (!k->runs[0] && !k->runs[1])))
			continue;
		printf("%-28s %-42s %9.2f %9.1f %9.1f %12.1f %12.1f %12.2f %12.2f\n", r->name,
		       r->section, (double)r->runs[0] / (double)b->accesses, per_run_e, per_run_r,
		       (double)r->ns[0] / (double)b->accesses, k0 / (double)b->accesses,
		       (double)r->ns[1] / 1e6, k1 / 1e6);
	}
	printf("%-28s %-42s %9s %9s %9s %12.1f %12.1f %12.2f %12.2f\n", "all piiwatch programs", "",
	       "", "", "", sum[1][0] / (double)b->accesses, sum[2][0] / (double)b->accesses,
	       sum[1][1] / 1e6, sum[2][1] / 1e6);
	printf("%-28s %-42s %9s %9s %9s %12.1f %12s %12.2f\n", "all empty programs", "", "", "", "",
	       sum[0][0] / (double)b->accesses, "", sum[0][1] / 1e6);
	rc = 0;
out:
	if (stats_fd >= 0)
		close(stats_fd);
	piiwatch_bpf__destroy(skel);
	return rc;
}

/* ---- throughput: one reader of protected files against the daemon ---- */

static int throughput(struct bench *b, bool *met)
{
	struct bench_reader_ctl init = { 0 };
	struct bench_reader r;
	struct bench_ring ring = { .fd = -1 };
	char why[512];
	double bare_rate = 0, rate, cpu_rate, catch_up;
	uint64_t done, bytes, t_end, lost;
	int64_t stored, stored_bytes, open_rows;
	json_object *st;
	int i, rc = -1;

	*met = false;
	/* The same reader without any monitor, for comparison. */
	wait_quiet(b);
	if (audit_free_begin(b) != 0)
		return -1;
	i = bench_reader_start(&r, b->build, b->protected_dir, READER_CPU, &init);
	audit_free_end(b);
	if (i != 0)
		return -1;
	bench_sleep_ns(b->seconds * 1000000000ULL);
	__atomic_store_n(&r.ctl->stop, 1, __ATOMIC_RELEASE);
	if (bench_reader_wait(&r) == 0)
		bare_rate = (double)r.ctl->done * 1e9 / (double)r.ctl->loop_ns;
	bench_reader_free(&r);

	if (bench_daemon_start(&b->daemon, DAEMON_CPU, why, sizeof(why)) != 0) {
		fprintf(stderr, "probe_overhead: throughput: %s\n", why);
		return -1;
	}
	bench_sleep_ns(500000000ULL);
	if (bench_ring_open(&ring, &b->daemon) != 0 || audit_free_begin(b) != 0)
		goto out;
	i = bench_reader_start(&r, b->build, b->protected_dir, READER_CPU, &init);
	audit_free_end(b);
	if (i != 0)
		goto out;
	bench_sleep_ns(b->seconds * 1000000000ULL);
	__atomic_store_n(&r.ctl->stop, 1, __ATOMIC_RELEASE);
	if (bench_reader_wait(&r) != 0) {
		bench_reader_free(&r);
		goto out;
	}
	t_end = bench_now_ns();
	done = r.ctl->done;
	bytes = r.ctl->bytes;
	rate = (double)done * 1e9 / (double)r.ctl->loop_ns;
	cpu_rate = (double)done * 1e9 / (double)r.cpu_ns;
	bench_reader_free(&r);
	/* The daemon has taken everything from the ring (2 minutes at most),
	 * and committed it. */
	for (i = 0; i < 1200 && bench_ring_pending(&ring) > 0; i++)
		bench_sleep_ns(100000000ULL);
	catch_up = (double)(bench_now_ns() - t_end) / 1e9;
	bench_sleep_ns(500000000ULL);
	stored = bench_store_query(&b->daemon, "SELECT count(closed_ns) FROM accesses "
				   "WHERE comm = 'bench_reader'");
	stored_bytes = bench_store_query(&b->daemon, "SELECT sum(bytes_read) FROM accesses "
					 "WHERE comm = 'bench_reader'");
	open_rows = bench_store_query(&b->daemon, "SELECT count(*) - count(closed_ns) FROM accesses");
	st = bench_daemon_status(&b->daemon);
	lost = bench_json_u64(st, "lost_events");
	printf("\nthroughput: one reader of %d protected files (open, read 16 KiB, close) on CPU %d "
	       "for %llu s, piiwatchd on CPU %d\n",
	       PROTECTED_FILES, READER_CPU, (unsigned long long)b->seconds, DAEMON_CPU);
	printf("  without a monitor: %.0f accesses/s\n", bare_rate);
	printf("  with piiwatch:     %.0f accesses/s (%.0f per second of its CPU time; %.2fx the "
	       "time per access): %llu accesses, %llu bytes\n",
	       rate, cpu_rate, bare_rate > 0 ? bare_rate / rate : 0, (unsigned long long)done,
	       (unsigned long long)bytes);
	printf("  the daemon emptied the ring %.1f s after the reader stopped\n", catch_up);
	printf("  stored: %lld accesses closed, %lld bytes, %lld still open\n", (long long)stored,
	       (long long)stored_bytes, (long long)open_rows);
	printf("  daemon: %llu events, lost_events %llu, untracked_opens %llu\n",
	       (unsigned long long)bench_json_u64(st, "events"), (unsigned long long)lost,
	       (unsigned long long)bench_json_u64(st, "untracked_opens"));
	*met = st && stored == (int64_t)done && stored_bytes == (int64_t)bytes && lost == 0;
	json_object_put(st);
	rc = 0;
out:
	bench_ring_close(&ring);
	if (bench_daemon_stop(&b->daemon) != 0)
		rc = -1;
	return rc;
}

/* ---- report ---- */

struct summary {
	double med, lo, hi;
};

static struct summary summarize(const struct bench *b, int m, enum metric k)
{
	double v[MAX_ROUNDS];
	struct summary r = { 0 };
	size_t i;

	for (i = 0; i < b->n[m]; i++)
		v[i] = metric_of(&b->s[m][i], k);
	r.med = median(v, b->n[m]);
	if (b->n[m]) {
		r.lo = v[0];
		r.hi = v[b->n[m] - 1];
	}
	return r;
}

/* piiwatch's added time over another monitor's; prints the verdict. */
static bool judge(const char *what, double limit, const double added_pw[2],
		  const double added_other[2])
{
	double rl = added_pw[0] / added_other[0], rt = added_pw[1] / added_other[1];
	bool ok = added_other[0] > 0 && added_other[1] > 0 && rl <= limit && rt <= limit;

	printf("target: piiwatch's added CPU time at most %.1fx %s: loop %s (%.2fx), tar %s (%.2fx)\n",
	       limit, what, rl <= limit && added_other[0] > 0 ? "met" : "MISSED", rl,
	       rt <= limit && added_other[1] > 0 ? "met" : "MISSED", rt);
	return ok;
}

/* " (Lx and Tx auditd's)" of an added time on the loop and on tar, when
 * auditd was measured. */
static void print_vs_auditd(const struct bench *b, double added[N_MODES][2], const double v[2])
{
	if (b->n[M_AUDITD])
		printf(" (%.2fx and %.2fx auditd's)", v[0] / added[M_AUDITD][0],
		       v[1] / added[M_AUDITD][1]);
}

/* What the "empty, raw_tp only" monitor says of a design that would see
 * every system call, native and 32-bit, through the raw sys_enter and
 * sys_exit tracepoints alone: its floor, and the room the floor target
 * would leave piiwatch's own work, next to what that work costs now
 * (piiwatch's added time over the empty programs', on its own hooks). */
static void report_raw_only(const struct bench *b, double added[N_MODES][2])
{
	bool n32 = b->no_ia32_modes && b->n[M_EMPTY_N32] && b->n[M_PIIWATCH_N32];
	enum mode pw = n32 ? M_PIIWATCH_N32 : M_PIIWATCH, empty = n32 ? M_EMPTY_N32 : M_EMPTY;
	const double *raw = added[M_EMPTY_RAW];

	printf("raw tracepoints alone (every system call through raw_tp sys_enter and sys_exit, "
	       "no syscalls:* programs): the empty programs add %.0f ns per access, tar %.3f s",
	       raw[0], raw[1] / 1e9);
	print_vs_auditd(b, added, raw);
	printf(";\n  within %.1fx of that floor, piiwatch's own work would have %.0f ns per access "
	       "and %.3f s of tar; on its present hooks it takes %.0f ns and %.3f s (%s)\n",
	       TARGET_VS_EMPTY, (TARGET_VS_EMPTY - 1) * raw[0], (TARGET_VS_EMPTY - 1) * raw[1] / 1e9,
	       added[pw][0] - added[empty][0], (added[pw][1] - added[empty][1]) / 1e9,
	       n32 ? "piiwatch over the empty programs, no 32-bit" : "piiwatch over the empty programs");
}

/* What the "empty, raw dispatch" monitor says of that design: its floor
 * with the dispatch, and piiwatch on it estimated as that floor plus the
 * work piiwatch's programs do now over their own floor (an estimate: the
 * work would read registers instead of trace records). */
static void report_raw_dispatch(const struct bench *b, double added[N_MODES][2])
{
	bool n32 = b->no_ia32_modes && b->n[M_EMPTY_N32] && b->n[M_PIIWATCH_N32];
	enum mode pw = n32 ? M_PIIWATCH_N32 : M_PIIWATCH, empty = n32 ? M_EMPTY_N32 : M_EMPTY;
	const double *d = added[M_EMPTY_DISPATCH];
	double est[2];
	int k;

	for (k = 0; k < 2; k++)
		est[k] = d[k] + added[pw][k] - added[empty][k];
	printf("raw tracepoints with the dispatch (every native call piiwatch hooks tail-called "
	       "from raw_tp sys_enter and sys_exit, its registers read): the empty programs add "
	       "%.0f ns per access, tar %.3f s",
	       d[0], d[1] / 1e9);
	print_vs_auditd(b, added, d);
	printf(";\n  piiwatch on them, estimated as that plus its present work (%s): %.0f ns per "
	       "access, tar %.3f s",
	       n32 ? "over the empty programs, no 32-bit" : "over the empty programs", est[0],
	       est[1] / 1e9);
	print_vs_auditd(b, added, est);
	if (d[0] > 0 && d[1] > 0)
		printf(", %.2fx and %.2fx that floor", est[0] / d[0], est[1] / d[1]);
	printf("\n");
}

static void report(struct bench *b, bool *met)
{
	struct summary t[N_MODES][N_METRICS];
	double added[N_MODES][2];
	int m, k;

	for (m = 0; m < N_MODES; m++)
		for (k = 0; k < N_METRICS; k++)
			t[m][k] = summarize(b, m, (enum metric)k);
	printf("\nmedians over the rounds (min-max) of each measurement's least run; "
	       "added: over no monitor\n");
	printf("%-20s %3s | %-40s | %-10s | %-36s | %-9s\n", "", "n", "loop: CPU ns per access",
	       "wall ns", "tar: CPU s", "wall s");
	for (m = 0; m < N_MODES; m++) {
		if (no_ia32_mode(m) && !b->no_ia32_modes) {
			if (b->no_ia32_why[0])
				printf("%-20s skipped: %s\n", mode_names[m], b->no_ia32_why);
			continue;
		}
		if (!b->n[m]) {
			printf("%-20s skipped%s%s\n", mode_names[m], m == M_AUDITD ? ": " : "",
			       m == M_AUDITD ? b->audit_why : "");
			continue;
		}
		added[m][0] = t[m][LOOP_CPU].med - t[M_NONE][LOOP_CPU].med;
		added[m][1] = t[m][TAR_CPU].med - t[M_NONE][TAR_CPU].med;
		printf("%-20s %3zu | %6.0f (%5.0f-%5.0f) +%5.0f %5.2fx | %10.0f | "
		       "%6.3f (%5.3f-%5.3f) +%6.3f %5.2fx | %9.3f\n",
		       mode_names[m], b->n[m], t[m][LOOP_CPU].med, t[m][LOOP_CPU].lo,
		       t[m][LOOP_CPU].hi, added[m][0], t[m][LOOP_CPU].med / t[M_NONE][LOOP_CPU].med,
		       t[m][LOOP_WALL].med, t[m][TAR_CPU].med / 1e9, t[m][TAR_CPU].lo / 1e9,
		       t[m][TAR_CPU].hi / 1e9, added[m][1] / 1e9,
		       t[m][TAR_CPU].med / t[M_NONE][TAR_CPU].med, t[m][TAR_WALL].med / 1e9);
	}
	printf("\npiiwatch against the empty programs, total CPU time: loop %.2fx, tar %.2fx\n",
	       t[M_PIIWATCH][LOOP_CPU].med / t[M_EMPTY][LOOP_CPU].med,
	       t[M_PIIWATCH][TAR_CPU].med / t[M_EMPTY][TAR_CPU].med);
	*met = true;
	if (b->n[M_AUDITD])
		*met &= judge("auditd's", TARGET_VS_AUDITD, added[M_PIIWATCH],
			      added[M_AUDITD]);
	else
		printf("target: piiwatch against auditd: not measured (%s)\n", b->audit_why);
	*met &= judge("the empty programs'", TARGET_VS_EMPTY, added[M_PIIWATCH],
		      added[M_EMPTY]);
	if (b->n[M_AUDITD])
		printf("the hooks alone: the empty programs add %.2fx auditd's time on the loop, "
		       "%.2fx on tar%s\n",
		       added[M_EMPTY][0] / added[M_AUDITD][0], added[M_EMPTY][1] / added[M_AUDITD][1],
		       added[M_EMPTY][0] > TARGET_VS_AUDITD * added[M_AUDITD][0] ||
				       added[M_EMPTY][1] > TARGET_VS_AUDITD * added[M_AUDITD][1]
			       ? ": over 0.7x, no program on these hooks can meet that target"
			       : "");
	if (b->n[M_EMPTY_RAW])
		report_raw_only(b, added);
	if (b->n[M_EMPTY_DISPATCH])
		report_raw_dispatch(b, added);
	if (!b->no_ia32_modes || !b->n[M_EMPTY_N32] || !b->n[M_PIIWATCH_N32])
		return;
	/* Not this host's verdict: what it would be booted with
	 * ia32_emulation=0, where the daemon loads no 32-bit dispatchers. */
	printf("\nas on this host booted with ia32_emulation=0 (no 32-bit dispatchers; "
	       "not the exit status):\n");
	if (b->n[M_AUDITD])
		judge("auditd's", TARGET_VS_AUDITD, added[M_PIIWATCH_N32],
		      added[M_AUDITD]);
	judge("the empty programs'", TARGET_VS_EMPTY, added[M_PIIWATCH_N32],
	      added[M_EMPTY_N32]);
	printf("the 32-bit dispatchers cost: empty programs +%.0f ns per access, tar +%.3f s; "
	       "piiwatch +%.0f ns, tar +%.3f s\n",
	       added[M_EMPTY][0] - added[M_EMPTY_N32][0],
	       (added[M_EMPTY][1] - added[M_EMPTY_N32][1]) / 1e9,
	       added[M_PIIWATCH][0] - added[M_PIIWATCH_N32][0],
	       (added[M_PIIWATCH][1] - added[M_PIIWATCH_N32][1]) / 1e9);
}

/* Whether the "no 32-bit" monitors have something to show here: piiwatchd
 * loads its 32-bit dispatchers (as probes.c and bench_empty decide it), and
 * the kernel is one that reads ia32_emulation= (6.7 on). */
static bool host_has_dispatchers(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	char why[200];
	bool open = pw_compat_entry_open(vmlinux, why, sizeof(why));

	btf__free(vmlinux);
	/* Before 6.7 the kernel reads no ia32_emulation=, and neither would
	 * the monitors shown one. */
	return open && pw_kernel_reads_ia32_param();
}

static void usage(void)
{
	fprintf(stderr, "usage: probe_overhead [-A] [-N] [-P] [-R] [-r ROUNDS] [-n ACCESSES] "
		"[-T TREE] [-s SECONDS]\n");
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t rounds = 5, accesses = 200000, seconds = 5;
	double w, c;
	bool met_overhead = false, met_throughput = false, skip_no_ia32 = false, skip_raw = false;
	bool profile_only = false;
	int opt, r, m, rc = 2;

	if (!b)
		return 2;
	b->tree = "/usr/share";
	b->empty_pid = b->auditd_pid = -1;
	b->audit_lock = b->task_rule_lock = -1;
	b->audit_usable = true;
	while ((opt = getopt(argc, argv, "ANPRr:n:T:s:")) != -1) {
		switch (opt) {
		case 'A':
			b->audit_ctx = true;
			break;
		case 'N':
			skip_no_ia32 = true;
			break;
		case 'P':
			profile_only = true;
			break;
		case 'R':
			skip_raw = true;
			break;
		case 'r':
			if (pw_parse_u64(optarg, MAX_ROUNDS, &rounds) || !rounds)
				goto bad_usage;
			break;
		case 'n':
			if (pw_parse_u64(optarg, 100000000, &accesses) || !accesses)
				goto bad_usage;
			break;
		case 's':
			if (pw_parse_u64(optarg, 3600, &seconds) || !seconds)
				goto bad_usage;
			break;
		case 'T':
			b->tree = optarg;
			break;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc)
		goto bad_usage;
	b->accesses = accesses;
	b->seconds = seconds;
	if (geteuid() != 0) {
		fprintf(stderr, "probe_overhead: must run as root\n");
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (bench_build_dir(b->build, sizeof(b->build)) != 0)
		goto out;
	snprintf(b->tmp, sizeof(b->tmp), "/tmp/pwprobe.XXXXXX");
	if (!mkdtemp(b->tmp) || chmod(b->tmp, 0755) != 0) {
		perror("probe_overhead: temporary directory");
		goto out;
	}
	snprintf(b->unprotected, sizeof(b->unprotected), "%s/unprotected", b->tmp);
	snprintf(b->protected_dir, sizeof(b->protected_dir), "%s/protected", b->tmp);
	snprintf(b->audit_dir, sizeof(b->audit_dir), "%s/audit", b->tmp);
	snprintf(b->cmdline_off, sizeof(b->cmdline_off), "%s/cmdline-ia32-off", b->tmp);
	b->no_ia32_modes = !skip_no_ia32 && host_has_dispatchers();
	if ((b->no_ia32_modes && bench_write_text(b->cmdline_off, "ia32_emulation=0\n") != 0) ||
	    bench_make_files(b->unprotected, UNPROTECTED_FILES, BENCH_READ_SIZE) != 0 ||
	    bench_make_files(b->protected_dir, PROTECTED_FILES, BENCH_READ_SIZE) != 0 ||
	    audit_write_config(b) != 0 ||
	    bench_daemon_init(&b->daemon, b->build, b->tmp, b->protected_dir, false) != 0) {
		fprintf(stderr, "probe_overhead: set-up in %s failed: %s\n", b->tmp, strerror(errno));
		goto cleanup;
	}
	printf("probe_overhead: %llu rounds, each workload run %d times per measurement; loop: %llu "
	       "accesses (open, read 16 KiB, close) of %d unprotected files on CPU %d; "
	       "tar -cf - %s | cat >/dev/null\n",
	       (unsigned long long)rounds, REPS, (unsigned long long)accesses, UNPROTECTED_FILES,
	       READER_CPU, b->tree);
	printf("probe_overhead: the workloads of the monitors other than auditd run %s\n",
	       b->audit_ctx ? "with the kernel's audit context (-A), as on a host where an auditd "
			      "has run since boot"
			    : "without the kernel's audit context, as on a host where no auditd has "
			      "run since boot");
	if (b->no_ia32_modes)
		printf("probe_overhead: \"no 32-bit\" monitors: as on this host booted with "
		       "ia32_emulation=0, their /proc/cmdline says so (bind mount) and a seccomp "
		       "filter keeps them from probing (-N leaves them out)\n");
	bench_print_load("probe_overhead: at the start");

	/* Warm the page cache; and let auditd switch auditing on once, as it
	 * does for good: from then on every new task carries the kernel's
	 * audit context, so all rounds measure the same kernel. */
	if (run_loop(b, &c, &w) != 0 || run_tar_once(b, &w, &c) != 0) {
		fprintf(stderr, "probe_overhead: the workloads fail without any monitor\n");
		goto cleanup;
	}
	if (profile_only) {
		rc = profile(b) == 0 ? 0 : 2;
		goto cleanup;
	}
	if (auditd_start(b, b->audit_why, sizeof(b->audit_why)) == 0)
		auditd_stop(b);
	else
		b->audit_usable = false;

	for (r = 0; r < (int)rounds && !interrupted; r++) {
		for (m = 0; m < N_MODES && !interrupted; m++) {
			enum mode mode = (enum mode)((m + r) % N_MODES);

			if ((mode == M_AUDITD && !b->audit_usable) ||
			    (no_ia32_mode(mode) && !b->no_ia32_modes) ||
			    ((mode == M_EMPTY_RAW || mode == M_EMPTY_DISPATCH) && skip_raw))
				continue;
			if (measure(b, mode, r) < 0)
				goto cleanup;
		}
	}
	if (interrupted || !b->n[M_NONE] || !b->n[M_EMPTY] || !b->n[M_PIIWATCH])
		goto cleanup;
	report(b, &met_overhead);
	fflush(stdout);
	profile(b); /* a failure is printed; the throughput run still counts */
	fflush(stdout);
	if (throughput(b, &met_throughput) != 0)
		goto cleanup;
	printf("target: every access of the throughput run stored, none lost: %s\n",
	       met_throughput ? "met" : "MISSED");
	bench_print_load("probe_overhead: at the end");
	rc = met_overhead && met_throughput ? 0 : 1;
cleanup:
	audit_free_end(b);
	empty_stop(b);
	auditd_stop(b);
	bench_daemon_stop(&b->daemon);
	bench_rmtree(b->tmp);
out:
	free(b);
	return rc;
bad_usage:
	usage();
	free(b);
	return 2;
}
