/* SPDX-License-Identifier: GPL-2.0 */
/* Loading, configuring and draining the kernel side. */
#ifndef PW_PROBES_H
#define PW_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "piiwatch.h"
#include "policy.h"

struct pw_probes;

struct pw_probes_opts {
	uint64_t delta_interval_ns;
	uint64_t max_open_files;     /* entries of the open-file map, 0: as built */
	uint64_t max_protected;      /* entries of protected_inodes, 0: as built */
	uint64_t ring_bytes;         /* size of the ring buffer, 0: as built */
	const char *pin_dir;         /* bpffs directory the daemon owns */
};

/* A protected root as the policy names it, found again from the
 * (dev, ino) the kernel reports. */
struct pw_root {
	struct pw_inode_key key;
	struct pw_protected_val val;
	char *path;
};

/* Take over the programs pinned in opts->pin_dir by an earlier daemon of
 * this version, or open, configure, load, attach and pin new ones.  On
 * failure nothing stays attached and a reason is written to err. */
struct pw_probes *pw_probes_start(const struct pw_probes_opts *o, char *err, size_t err_size);

/* keep_attached: leave the programs attached and pinned, counting and
 * queueing, for the next daemon; otherwise detach and unpin everything. */
void pw_probes_stop(struct pw_probes *p, bool keep_attached);

/* Detach and unpin whatever a stopped daemon left in pin_dir: 0 done, 1
 * nothing was pinned there, -1 an error in err. */
int pw_probes_detach(const char *pin_dir, char *err, size_t err_size);

/* True when the programs were taken over from an earlier daemon. */
bool pw_probes_reused(const struct pw_probes *p);

/*
 * For the tests: load every program of the BPF object on this kernel,
 * those its daemon would leave out included (the 32-bit dispatchers and
 * their programs where the kernel has no 32-bit entry), route the
 * tail-called 32-bit programs as the daemon does, and unload.  Left out:
 * the LSM program (trampoline mode has its own trial at start-up) and,
 * where tracepoint programs cannot call bpf_task_from_vpid, the programs
 * that do (*vpid false), and those whose hook this kernel lacks (as the
 * daemon leaves them out; counted in *absent).  The overlay branch is
 * verified whether or not overlayfs's BTF is at hand.  *loaded: the
 * programs loaded; *routed: the routes made.  Returns 0, or -1 with err
 * filled.
 */
int pw_probes_verify_all(int *loaded, int *absent, bool *vpid, int *routed, char *err,
			 size_t err_size);

/* Make sure bpffs is mounted and pin_dir exists. */
int pw_ensure_bpffs(const char *pin_dir, char *err, size_t err_size);

/* "tracepoint" (the only mode this kernel allows) or "trampoline". */
const char *pw_probes_mode(const struct pw_probes *p);

/* Whether 32-bit system calls are watched: the compat dispatchers are
 * attached (docs/kernel-probes.md, "Hook modes"). */
bool pw_probes_compat(const struct pw_probes *p);

/*
 * Make the kernel protect exactly what pol names.  New entries are added
 * before stale ones are removed, so nothing protected by both the old and
 * the new policy is ever unprotected.  Paths that do not exist are
 * reported through warn (may be NULL) and skipped.  On failure (-errno,
 * the reason in err) the kernel's map is put back as the running policy
 * had it, with the entries the kernel side added meanwhile, and the
 * running policy stays in force.
 */
int pw_probes_apply_policy(struct pw_probes *p, const struct pw_policy *pol,
			   void (*warn)(const char *path, const char *why), char *err,
			   size_t err_size);

/* The root the kernel reported, by (dev, ino): one of the policy's, or
 * one an earlier policy had (events queued before a reload name them). */
const struct pw_root *pw_probes_find_root(const struct pw_probes *p, uint64_t dev, uint64_t ino);

/* The running policy's roots (its paths and the multiply-linked files
 * below them): their number, the array in *roots. */
size_t pw_probes_roots(const struct pw_probes *p, const struct pw_root **roots);

/* The name of a dataset id the kernel reports, "?" when unknown.  A
 * dataset keeps its id through reloads, and no id is given to another. */
const char *pw_probes_dataset_name(const struct pw_probes *p, uint32_t id);

/*
 * Pin again every object of this daemon's probes that is missing from
 * pin_dir, or replaced by another, and return how many were (-1 on
 * error).  Only root can remove them; the daemon holds every link open,
 * so the probes stay attached while it runs, but without the pins a stop
 * with keep_attached would detach them, and the next daemon would load
 * new ones, blind in between.
 */
int pw_probes_check_pins(struct pw_probes *p);

/* Report the counts of accesses that have been idle for a delta interval. */
int pw_probes_flush_idle(struct pw_probes *p);

/* The ring buffer of kernel events, and its map id (a new ring restarts
 * positions at 0). */
struct pw_ring *pw_probes_ring(const struct pw_probes *p);
uint32_t pw_probes_ring_id(const struct pw_probes *p);
int pw_probes_fd(const struct pw_probes *p);

/* Sum of the per-CPU counters (enum pw_stat). */
int pw_probes_stats(const struct pw_probes *p, uint64_t out[PW_STAT_MAX]);

/* Make sure tracefs is mounted where libbpf looks for tracepoint ids. */
int pw_ensure_tracefs(char *err, size_t err_size);

#endif
