// SPDX-License-Identifier: GPL-2.0
#include "proc_cache.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "ancestors.h"
#include "util.h"

/*
 * Start times are start_boottime in nanoseconds: exact when the kernel
 * gave them, only to a clock tick when they come from /proc ("coarse").
 */
struct proc_entry {
	uint32_t tgid;
	uint32_t ppid;
	uint64_t start_ns;
	uint64_t pstart_ns;          /* the parent's; 0: not known */
	bool start_coarse;
	bool pstart_coarse;
	char *exe;
	char *args;
	char *ancestors;             /* "": none known; NULL: not built yet */
	UT_hash_handle hh;
};

struct pw_proc_cache {
	char *proc_root;
	size_t max;
	uint64_t tick_ns;
	struct proc_entry *procs;    /* oldest first */
	size_t n;
	const struct proc_entry *pinned; /* whose chain is being built: kept */
};

/* What a pid found must be: started at start_ns, or, with upper_bound,
 * no later (a parent whose start is not known starts before its child;
 * a process that took the pid of a dead parent, after the child). */
struct expect {
	uint64_t start_ns;
	bool coarse;
	bool upper_bound;
};

struct pw_proc_cache *pw_proc_cache_new(const char *proc_root, size_t max)
{
	struct pw_proc_cache *pc = calloc(1, sizeof(*pc));
	long hz = sysconf(_SC_CLK_TCK);

	if (!pc)
		return NULL;
	pc->proc_root = strdup(proc_root);
	if (!pc->proc_root) {
		free(pc);
		return NULL;
	}
	pc->max = max < 2 ? 2 : max;
	/* The kernel's clock_t of /proc: USER_HZ ticks per second. */
	pc->tick_ns = hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
	return pc;
}

static void free_entry(struct proc_entry *e)
{
	free(e->exe);
	free(e->args);
	free(e->ancestors);
	free(e);
}

static void forget(struct pw_proc_cache *pc, struct proc_entry *e)
{
	HASH_DEL(pc->procs, e);
	free_entry(e);
	pc->n--;
}

void pw_proc_cache_free(struct pw_proc_cache *pc)
{
	struct proc_entry *e, *tmp;

	if (!pc)
		return;
	HASH_ITER(hh, pc->procs, e, tmp)
		forget(pc, e);
	free(pc->proc_root);
	free(pc);
}

static bool same_start(const struct pw_proc_cache *pc, uint64_t a, bool a_coarse, uint64_t b,
		       bool b_coarse)
{
	if (a_coarse || b_coarse)
		return a / pc->tick_ns == b / pc->tick_ns;
	return a == b;
}

/* A new entry for tgid in place of what the cache had of that pid; takes
 * exe and args (either may be NULL).  NULL when out of memory. */
static struct proc_entry *put(struct pw_proc_cache *pc, uint32_t tgid, char *exe, char *args)
{
	struct proc_entry *e;

	HASH_FIND(hh, pc->procs, &tgid, sizeof(tgid), e);
	if (e)
		forget(pc, e);
	if (pc->n >= pc->max) {
		struct proc_entry *oldest = pc->procs;

		if (oldest == pc->pinned)
			oldest = oldest->hh.next;
		forget(pc, oldest);
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(exe);
		free(args);
		return NULL;
	}
	e->tgid = tgid;
	e->exe = exe;
	e->args = args;
	HASH_ADD(hh, pc->procs, tgid, sizeof(tgid), e);
	pc->n++;
	return e;
}

static char *escaped_dup(const char *s, size_t len)
{
	char buf[4096];

	pw_escape_untrusted(s, len, buf, sizeof(buf));
	return strdup(buf);
}

/* argv as the kernel copied it: NUL-separated, possibly cut short. */
static char *join_args(const char *raw, size_t len)
{
	char out[2048], part[1024];
	size_t o = 0, i = 0;

	out[0] = '\0';
	while (i < len && o < sizeof(out) - 1) {
		size_t n = strnlen(raw + i, len - i);

		pw_escape_untrusted(raw + i, n, part, sizeof(part));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", part);
		if (o >= sizeof(out))
			o = sizeof(out) - 1;
		i += n + 1;
	}
	return strdup(out);
}

/* Up to size - 1 bytes of a file under a process's /proc directory. */
static ssize_t read_at(int dir, const char *name, char *buf, size_t size)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * Fields 4 (ppid) and 22 (starttime, in clock ticks) of stat.  Field 2 is
 * the command name in parentheses, which may itself hold spaces and
 * parentheses: the fields after it are counted from the last ')'.
 */
static int read_stat(int dir, uint32_t *ppid, uint64_t *start_ticks)
{
	char buf[1024], *p, *tok, *save = NULL;
	uint64_t v;
	int field;

	if (read_at(dir, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	for (field = 3, tok = strtok_r(p + 2, " \n", &save); tok;
	     field++, tok = strtok_r(NULL, " \n", &save)) {
		if (field == 4) {
			if (pw_parse_u64(tok, UINT32_MAX, &v))
				return -1;
			*ppid = (uint32_t)v;
		} else if (field == 22) {
			return pw_parse_u64(tok, UINT64_MAX, start_ticks);
		}
	}
	return -1;
}

/*
 * The process at pid that x expects: the cache's entry, or one made from
 * /proc/PID.  Everything is read through the directory opened first,
 * which stays the process's even if it exits and its pid is taken again.
 * NULL when no such process is known.
 */
static struct proc_entry *find(struct pw_proc_cache *pc, uint32_t pid, const struct expect *x)
{
	char path[4200], target[4096], raw[2048];
	struct proc_entry *e;
	char *exe = NULL, *args = NULL;
	uint64_t ticks, want = x->start_ns / pc->tick_ns;
	uint32_t ppid = 0;
	ssize_t n;
	int dir;

	HASH_FIND(hh, pc->procs, &pid, sizeof(pid), e);
	if (e && !x->upper_bound && same_start(pc, e->start_ns, e->start_coarse, x->start_ns, x->coarse))
		return e;
	snprintf(path, sizeof(path), "%s/%u", pc->proc_root, pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return NULL;
	if (read_stat(dir, &ppid, &ticks) || (x->upper_bound ? ticks > want : ticks != want)) {
		close(dir);
		return NULL;
	}
	/* Without a start to expect, the live process is asked for its: the
	 * cache's entry may be of an earlier holder of the pid. */
	if (x->upper_bound && e && e->start_ns / pc->tick_ns == ticks) {
		close(dir);
		return e;
	}
	n = readlinkat(dir, "exe", target, sizeof(target) - 1);
	if (n > 0)
		exe = escaped_dup(target, (size_t)n);
	n = read_at(dir, "cmdline", raw, sizeof(raw));
	if (n > 0)
		args = join_args(raw, (size_t)n);
	close(dir);
	/* A process already gone, or a kernel thread, names no program. */
	if (!exe && !args)
		return NULL;
	e = put(pc, pid, exe, args);
	if (!e)
		return NULL;
	e->ppid = ppid;
	if (x->upper_bound) {
		e->start_ns = ticks * pc->tick_ns;
		e->start_coarse = true;
	} else {
		e->start_ns = x->start_ns;
		e->start_coarse = x->coarse;
	}
	return e;
}

/* What to expect of the parent of e. */
static struct expect parent_of(const struct proc_entry *e)
{
	if (e->pstart_ns)
		return (struct expect){ e->pstart_ns, e->pstart_coarse, false };
	return (struct expect){ e->start_ns, e->start_coarse, true };
}

/*
 * The chain of e's ancestors, from its parent up, as far as each can be
 * told apart from a later holder of its pid (see find()): at most
 * PW_ANCESTORS_MAX, ending at pid 1 or before pid 0.
 */
static void build_ancestors(struct pw_proc_cache *pc, struct proc_entry *e)
{
	char text[PW_ANCESTORS_TEXT_MAX + 1] = "";
	uint32_t seen[PW_ANCESTORS_MAX + 1], pid = e->ppid, child = e->tgid;
	struct expect x = parent_of(e);
	size_t len = 0, n_seen = 0, i;

	/* Looking up e's own pid again would replace e: a loop, which only a
	 * damaged /proc has, ends the chain like any pid seen before. */
	seen[n_seen++] = e->tgid;
	pc->pinned = e;
	while (pid != 0 && n_seen <= PW_ANCESTORS_MAX) {
		struct proc_entry *a, *c;

		for (i = 0; i < n_seen && seen[i] != pid; i++)
			;
		if (i < n_seen)
			break;
		a = find(pc, pid, &x);
		if (!a || !a->exe || !pw_ancestors_append(text, &len, sizeof(text), pid, a->exe))
			break;
		seen[n_seen++] = pid;
		/* The child learns its parent's start, as a record would have
		 * told it, so that the next chain through it is checked against
		 * that start and needs no /proc. */
		HASH_FIND(hh, pc->procs, &child, sizeof(child), c);
		if (x.upper_bound && c && c->ppid == pid && !c->pstart_ns) {
			c->pstart_ns = a->start_ns;
			c->pstart_coarse = a->start_coarse;
		}
		if (pid == 1)
			break;
		child = pid;
		pid = a->ppid;
		x = parent_of(a);
	}
	pc->pinned = NULL;
	e->ancestors = strdup(text);
}

void pw_proc_cache_exec(struct pw_proc_cache *pc, const struct pw_task_id *t, const char *path,
			size_t path_len, const char *args, size_t args_len)
{
	struct proc_entry *e = put(pc, t->tgid, escaped_dup(path, path_len),
				   join_args(args, args_len));

	if (!e)
		return;
	e->start_ns = t->start_ns;
	e->ppid = t->ppid;
	e->pstart_ns = t->pstart_ns;
	/* Now, while the ancestors are most likely still there: one forked
	 * without exec can only be found in /proc. */
	build_ancestors(pc, e);
}

int pw_proc_cache_lookup(struct pw_proc_cache *pc, const struct pw_task_id *t,
			 struct pw_proc_info *out)
{
	struct expect x = { t->start_ns, false, false };
	struct proc_entry *e = find(pc, t->tgid, &x);

	memset(out, 0, sizeof(*out));
	if (!e)
		return -1;
	/* The chain starts at the parent the kernel names now: another one
	 * than the cached chain's after a reparenting. */
	if (e->ppid != t->ppid ||
	    !same_start(pc, e->pstart_ns, e->pstart_coarse, t->pstart_ns, false)) {
		free(e->ancestors);
		e->ancestors = NULL;
	}
	e->start_ns = t->start_ns;
	e->start_coarse = false;
	e->ppid = t->ppid;
	e->pstart_ns = t->pstart_ns;
	e->pstart_coarse = false;
	if (!e->ancestors)
		build_ancestors(pc, e);
	out->exe = e->exe;
	out->args = e->args;
	out->ancestors = e->ancestors && *e->ancestors ? e->ancestors : NULL;
	return 0;
}
