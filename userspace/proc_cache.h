/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each process runs, and the chain of its ancestors: a bounded cache
 * the collector fills from exec events and, for a process it has not
 * seen exec (started before the daemon, or forked without an exec), from
 * /proc.  A process is its pid and its start (start_boottime), so that a
 * reused pid is another process: what /proc says of a pid is taken only
 * when the start it gives (/proc/PID/stat field 22) is the one expected.
 */
#ifndef PW_PROC_CACHE_H
#define PW_PROC_CACHE_H

#include <stddef.h>

#include <linux/types.h>
#include "piiwatch.h"

struct pw_proc_cache;

/* proc_root: "/proc", or a directory laid out like it; max: processes
 * kept (at least 2).  NULL when out of memory. */
struct pw_proc_cache *pw_proc_cache_new(const char *proc_root, size_t max);
void pw_proc_cache_free(struct pw_proc_cache *pc);

/* A process ran a program: path_len bytes of its path and args_len bytes
 * of its NUL-separated argv, as the exec record has them.  Its chain is
 * built now. */
void pw_proc_cache_exec(struct pw_proc_cache *pc, const struct pw_task_id *t, const char *path,
			size_t path_len, const char *args, size_t args_len);

/* Valid until the next call on the cache; NULL: not known. */
struct pw_proc_info {
	const char *exe;
	const char *args;              /* argv joined by spaces, escaped */
	const char *ancestors;         /* ancestors.h: the chain from t->ppid up */
};

/*
 * The process a record names.  Its chain is built once, at its exec or
 * the first time a process not seen exec is asked for, and built again
 * only when a record names another parent (the process was reparented).
 * 0, or -1 when the process is not known: it has exited, or its pid now
 * belongs to another process.
 */
int pw_proc_cache_lookup(struct pw_proc_cache *pc, const struct pw_task_id *t,
			 struct pw_proc_info *out);

#endif
