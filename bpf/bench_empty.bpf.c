// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of piiwatch's hooks, for bench/probe_overhead: one program on
 * every hook of piiwatch.bpf.c, each returning at once.  What a workload
 * loses with these attached is the price of the hooks themselves (the
 * syscall slow path, the tracepoint and the BPF dispatch); what piiwatch
 * costs beyond it is the work its programs do.  bench/bench_empty.c
 * refuses to run when the two files' hooks differ.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY_TP(cat, name)                                                   \
	SEC("tracepoint/" #cat "/" #name)                                     \
	int empty_##name(void *ctx)                                           \
	{                                                                     \
		return 0;                                                     \
	}

#define EMPTY_RAW_TP(name)                                                    \
	SEC("raw_tp/" #name)                                                  \
	int empty_raw_##name(void *ctx)                                       \
	{                                                                     \
		return 0;                                                     \
	}

#define EMPTY_TP_BTF(name)                                                    \
	SEC("tp_btf/" #name)                                                  \
	int BPF_PROG(empty_##name)                                            \
	{                                                                     \
		return 0;                                                     \
	}

/* A syscall seen at entry and exit, as piiwatch's I/O and change hooks. */
#define EMPTY_SYSCALL(name)                                                   \
	EMPTY_TP(syscalls, sys_enter_##name)                                  \
	EMPTY_TP(syscalls, sys_exit_##name)

/* As piiwatch.bpf.c's shared programs: one program on each list of
 * userspace/shared_progs.h (the opens' exits, the changes', ...),
 * attached to every tracepoint of it by bench_empty.c. */
#define EMPTY_SHARED(name)                                                    \
	SEC("tracepoint")                                                     \
	int empty_##name(void *ctx)                                           \
	{                                                                     \
		return 0;                                                     \
	}

EMPTY_SHARED(exit_open)
EMPTY_SHARED(exit_change)
EMPTY_SHARED(exit_read)
EMPTY_SHARED(exit_rw)
EMPTY_SHARED(enter_read)
EMPTY_SHARED(enter_pread)
EMPTY_SHARED(enter_write)
EMPTY_SHARED(enter_splice)
EMPTY_TP(syscalls, sys_enter_sendfile64)
EMPTY_TP(syscalls, sys_enter_tee)
EMPTY_TP(syscalls, sys_enter_vmsplice)
EMPTY_SYSCALL(ioctl)
EMPTY_SYSCALL(io_submit)

EMPTY_TP(syscalls, sys_enter_close)
EMPTY_TP(syscalls, sys_enter_dup2)
EMPTY_TP(syscalls, sys_enter_dup3)
EMPTY_TP(syscalls, sys_enter_close_range)
EMPTY_SYSCALL(execve)
EMPTY_SYSCALL(execveat)
EMPTY_TP(sched, sched_process_exit)
EMPTY_TP(sched, sched_process_exec)
EMPTY_TP_BTF(sched_process_fork)
EMPTY_TP(syscalls, sys_exit_process_vm_readv)
EMPTY_TP(syscalls, sys_exit_process_vm_writev)
EMPTY_TP(syscalls, sys_exit_ptrace)
EMPTY_TP(syscalls, sys_enter_mmap)

EMPTY_TP_BTF(ctime_ns_xchg)
EMPTY_TP_BTF(ctime_xchg_skip)
EMPTY_TP_BTF(inode_set_ctime_to_ts)

/* The change calls' entries are found at the ctime hooks; linkat's is
 * its own. */
EMPTY_TP(syscalls, sys_enter_linkat)
EMPTY_SYSCALL(connect)
EMPTY_TP(syscalls, sys_enter_sendto)
EMPTY_TP(syscalls, sys_enter_sendmsg)
EMPTY_TP(syscalls, sys_enter_sendmmsg)
/* handle_compat_enter and handle_compat_exit: every system call (the
 * exit's is a tp_btf program: the same run of the tracepoint's programs). */
EMPTY_RAW_TP(sys_enter)
EMPTY_RAW_TP(sys_exit)

/*
 * The floor of a design that would see every native system call through
 * raw sys_enter and sys_exit alone, as the 32-bit calls are seen now
 * (bench_empty --raw-dispatch): the dispatchers test the compat flag as
 * handle_compat_* do, then tail-call by the call's number, from tables
 * bench_empty.c fills for the native calls piiwatch hooks, a kind program
 * that reads what a real one would (the six argument registers at the
 * entry; the result at the exit) and keeps their sum, so that the reads
 * are not left out.  No piiwatch program hooks these names.
 */
#define EMPTY_DISPATCH_NR 512
#define EMPTY_TS_COMPAT 0x0002

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, EMPTY_DISPATCH_NR);
	__type(key, __u32);
	__type(value, __u32);
} dispatch_enter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, EMPTY_DISPATCH_NR);
	__type(key, __u32);
	__type(value, __u32);
} dispatch_exit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dispatch_sink SEC(".maps");

static __always_inline bool empty_in_compat(void)
{
	if (!bpf_core_field_exists(struct thread_info, status))
		return false;
	return bpf_get_current_task_btf()->thread_info.status & EMPTY_TS_COMPAT;
}

SEC("raw_tp/sys_enter")
int empty_dispatch_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long id = (long)ctx->args[1];

	if (empty_in_compat())
		return 0;
	if (id >= 0 && id < EMPTY_DISPATCH_NR)
		bpf_tail_call(ctx, &dispatch_enter, (__u32)id);
	return 0;
}

SEC("raw_tp/sys_exit")
int empty_dispatch_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id;

	if (empty_in_compat())
		return 0;
	id = BPF_CORE_READ(regs, orig_ax);
	if (id >= 0 && id < EMPTY_DISPATCH_NR)
		bpf_tail_call(ctx, &dispatch_exit, (__u32)id);
	return 0;
}

SEC("raw_tp")
int empty_kind_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *r = (struct pt_regs *)ctx->args[0];
	__u32 k = 0;
	__u64 *sink = bpf_map_lookup_elem(&dispatch_sink, &k);

	if (sink)
		*sink += BPF_CORE_READ(r, di) + BPF_CORE_READ(r, si) + BPF_CORE_READ(r, dx) +
			 BPF_CORE_READ(r, r10) + BPF_CORE_READ(r, r8) + BPF_CORE_READ(r, r9);
	return 0;
}

SEC("raw_tp")
int empty_kind_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 k = 0;
	__u64 *sink = bpf_map_lookup_elem(&dispatch_sink, &k);

	if (sink)
		*sink += ctx->args[1];
	return 0;
}

EMPTY_TP_BTF(io_uring_complete)
EMPTY_TP_BTF(io_uring_submit_req)

SEC("syscall")
int empty_flush_idle(void *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(empty_lsm_file_open)
{
	return 0;
}
