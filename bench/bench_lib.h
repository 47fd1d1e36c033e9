/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmarks of the kernel side and of the daemon share: a
 * temporary tree of files, the build's piiwatchd on a private policy, pin
 * directory and sockets, the reader program (bench_reader.c) driven
 * through shared memory, and per-process CPU and memory figures.
 */
#ifndef PW_BENCH_LIB_H
#define PW_BENCH_LIB_H

#include <json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench_reader.h"

/* Directory of the build (BUILD, where this program is BUILD/bench/X). */
int bench_build_dir(char *out, size_t size);

uint64_t bench_now_ns(void);
void bench_sleep_ns(uint64_t ns);

int bench_write_text(const char *path, const char *text);

/* n files of size bytes, DIR/f0000 ..., of random content. */
int bench_make_files(const char *dir, unsigned int n, size_t size);

/* rm -rf; for the benchmark's own temporary directory only. */
void bench_rmtree(const char *path);

/* "WHO: load average ..." on standard output: how busy the machine is. */
void bench_print_load(const char *who);

/* Run a program; its standard output and error go into out (NUL-ended,
 * cut to size).  Returns its exit status, or -1. */
int bench_run(char *const argv[], char *out, size_t out_size);

/* Move a process to one CPU (cpu < 0: leave it). */
int bench_pin(pid_t pid, int cpu);

/* User + system CPU time of a process, in nanoseconds. */
int bench_proc_cpu_ns(pid_t pid, uint64_t *ns);

/* A "kB" line of /proc/PID/status ("VmRSS", "RssAnon", ...), -1 if none. */
long bench_proc_status_kib(pid_t pid, const char *field);

/* The build's piiwatchd on a policy of its own inside dir. */
struct bench_daemon {
	pid_t pid;
	char build[PATH_MAX];
	char dir[PATH_MAX];          /* holds the policy, store, sockets, log */
	char policy[PATH_MAX + 32];
	char store[PATH_MAX + 32];
	char control[PATH_MAX + 32];
	char log[PATH_MAX + 32];
	char pin_dir[PATH_MAX];
	char jsonl[PATH_MAX + 32];   /* "" unless the JSON Lines output is on */
	/* Where not "": started through bench_without_ia32() with this file
	 * as its /proc/cmdline. */
	char no_ia32_cmdline[PATH_MAX + 32];
};

/*
 * In a child about to exec a monitor: make it see the host as one booted
 * with ia32_emulation=0 would show itself to piiwatch (compat_entry.h):
 * cmdline_file (which says so) bound over /proc/cmdline in a mount
 * namespace of its own, and a seccomp filter that kills any 32-bit system
 * call of its own, so that it does not probe.  The workloads, outside, are
 * untouched.  Root (CAP_SYS_ADMIN) only; x86-64 only; -1 on failure.
 */
int bench_without_ia32(const char *cmdline_file);

/* Set up (no process yet): protect `protect`; with_jsonl adds the JSON
 * Lines output into dir/events.jsonl. */
int bench_daemon_init(struct bench_daemon *d, const char *build, const char *dir,
		      const char *protect, bool with_jsonl);

/* Start it (on one CPU when cpu >= 0) and wait until it watches. */
int bench_daemon_start(struct bench_daemon *d, int cpu, char *why, size_t why_size);

/* SIGTERM, wait, and make sure nothing it attached stays: 0 when its pin
 * directory is gone. */
int bench_daemon_stop(struct bench_daemon *d);

/* `piiwatch --json status`, parsed; NULL on failure. */
json_object *bench_daemon_status(const struct bench_daemon *d);
uint64_t bench_json_u64(json_object *o, const char *key);

/* One integer from the store (opened read-only), -1 on error. */
int64_t bench_store_query(const struct bench_daemon *d, const char *sql);

/* Bytes waiting in the daemon's ring buffer, read from the pinned map
 * without disturbing the daemon.  open returns -1 on failure. */
struct bench_ring {
	int fd;
	size_t page;
	uint64_t size; /* the ring's bytes (its max_entries) */
	const volatile uint64_t *consumer;
	const volatile uint64_t *producer;
};
int bench_ring_open(struct bench_ring *r, const struct bench_daemon *d);
uint64_t bench_ring_pending(const struct bench_ring *r);
void bench_ring_close(struct bench_ring *r);

/*
 * The reader program, started on one CPU and controlled through shared
 * memory (struct bench_reader_ctl); bench_reader_wait() waits for its exit
 * and returns its status.
 */
struct bench_reader {
	pid_t pid;
	int memfd;
	struct bench_reader_ctl *ctl;
	uint64_t cpu_ns;             /* user + system, once it has exited */
};
int bench_reader_start(struct bench_reader *r, const char *build, const char *dir, int cpu,
		       const struct bench_reader_ctl *init);
int bench_reader_wait(struct bench_reader *r);
void bench_reader_free(struct bench_reader *r);

#endif
