/* SPDX-License-Identifier: GPL-2.0 */
/* Loading, configuring and draining the kernel side. */
#ifndef PW_PROBES_H
#define PW_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "piiwatch.h"
#include "policy.h"

struct pw_probes;

/* Called for every record from the ring buffer; data is one of the
 * pw_event_* structures, size its length as the kernel wrote it. */
typedef void (*pw_event_fn)(void *ctx, const void *data, size_t size);

struct pw_probes_opts {
	uint64_t delta_interval_ns;
	pw_event_fn on_event;
	void *ctx;
};

/* A protected root as the policy names it, found again from the
 * (dev, ino) the kernel reports. */
struct pw_root {
	struct pw_inode_key key;
	struct pw_protected_val val;
	char *path;
};

/* Open, configure, load and attach; on failure everything already attached
 * is detached again and a reason is written to err. */
struct pw_probes *pw_probes_start(const struct pw_probes_opts *o, char *err, size_t err_size);
void pw_probes_stop(struct pw_probes *p);

/* "tracepoint" (the only mode this kernel allows) or "trampoline". */
const char *pw_probes_mode(const struct pw_probes *p);

/*
 * Make the kernel protect exactly what pol names.  New entries are added
 * before stale ones are removed, so nothing protected by both the old and
 * the new policy is ever unprotected.  Paths that do not exist are
 * reported through warn (may be NULL) and skipped.
 */
int pw_probes_apply_policy(struct pw_probes *p, const struct pw_policy *pol,
			   void (*warn)(const char *path, const char *why));

const struct pw_root *pw_probes_find_root(const struct pw_probes *p, uint64_t dev, uint64_t ino);

/* Report the counts of accesses that have been idle for a delta interval. */
int pw_probes_flush_idle(struct pw_probes *p);

int pw_probes_fd(const struct pw_probes *p);
/* Hand every queued record to on_event; returns the count or -errno. */
int pw_probes_drain(struct pw_probes *p);

/* Sum of the per-CPU counters (enum pw_stat). */
int pw_probes_stats(const struct pw_probes *p, uint64_t out[PW_STAT_MAX]);

/* Make sure tracefs is mounted where libbpf looks for tracepoint ids. */
int pw_ensure_tracefs(char *err, size_t err_size);

#endif
