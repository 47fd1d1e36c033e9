/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The programs that several syscall tracepoints share (bpf/piiwatch.h):
 * SEC("tracepoint") without a target, each attached by user space to
 * every tracepoint of its list that the kernel has.  NAME is handle_NAME
 * in bpf/piiwatch.bpf.c and empty_NAME, its empty twin, in
 * bpf/bench_empty.bpf.c.  piiwatchd attaches the exits before the
 * programs the skeleton attaches and the entries after them, so that no
 * entry leaves a pending change or transfer behind for want of its exit.
 */
#ifndef PIIWATCH_SHARED_PROGS_H
#define PIIWATCH_SHARED_PROGS_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "piiwatch.h"

struct pw_shared_prog {
	const char *name;       /* after handle_ or empty_ */
	const char *const *tps; /* "sys_exit_NAME" or "sys_enter_NAME" */
	size_t n;
	bool exits;
};

static const char *const pw_open_exits[] = { PW_OPEN_EXITS(PW_SYS_EXIT_NAME) };
static const char *const pw_change_exits[] = { PW_CHANGE_EXITS(PW_SYS_EXIT_NAME) };
static const char *const pw_read_exits[] = { PW_READ_EXITS(PW_SYS_EXIT_NAME) };
static const char *const pw_rw_exits[] = { PW_RW_EXITS(PW_SYS_EXIT_NAME) };
static const char *const pw_read_enters[] = { PW_READ_ENTERS(PW_SYS_ENTER_NAME) };
static const char *const pw_pread_enters[] = { PW_PREAD_ENTERS(PW_SYS_ENTER_NAME) };
static const char *const pw_write_enters[] = { PW_WRITE_ENTERS(PW_SYS_ENTER_NAME) };
static const char *const pw_splice_enters[] = { PW_SPLICE_ENTERS(PW_SYS_ENTER_NAME) };

#define PW_SHARED(name, list, exits) { name, list, sizeof(list) / sizeof((list)[0]), exits }
static const struct pw_shared_prog pw_shared_progs[] = {
	PW_SHARED("exit_open", pw_open_exits, true),
	PW_SHARED("exit_change", pw_change_exits, true),
	PW_SHARED("exit_read", pw_read_exits, true),
	PW_SHARED("exit_rw", pw_rw_exits, true),
	PW_SHARED("enter_read", pw_read_enters, false),
	PW_SHARED("enter_pread", pw_pread_enters, false),
	PW_SHARED("enter_write", pw_write_enters, false),
	PW_SHARED("enter_splice", pw_splice_enters, false),
};
#undef PW_SHARED

#define PW_N_SHARED_PROGS (sizeof(pw_shared_progs) / sizeof(pw_shared_progs[0]))

/* s's program in obj, whose names start with prefix; NULL if none. */
static inline struct bpf_program *pw_shared_find(struct bpf_object *obj, const char *prefix,
						 const struct pw_shared_prog *s)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", prefix, s->name);
	return bpf_object__find_program_by_name(obj, name);
}

#endif
