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

/* As handle_exit_open, handle_exit_change and handle_enter_write: one
 * program on the exits of the opens (PW_OPEN_EXITS), one on the changes'
 * (PW_CHANGE_EXITS), one on the entries of the writes (PW_WRITE_ENTERS),
 * each attached to every one of them by bench_empty.c. */
SEC("tracepoint")
int empty_exit_open(void *ctx)
{
	return 0;
}

SEC("tracepoint")
int empty_exit_change(void *ctx)
{
	return 0;
}

SEC("tracepoint")
int empty_enter_write(void *ctx)
{
	return 0;
}

EMPTY_SYSCALL(read)
EMPTY_SYSCALL(pread64)
EMPTY_SYSCALL(readv)
EMPTY_SYSCALL(preadv)
EMPTY_SYSCALL(preadv2)
EMPTY_TP(syscalls, sys_exit_write)
EMPTY_TP(syscalls, sys_exit_pwrite64)
EMPTY_TP(syscalls, sys_exit_writev)
EMPTY_TP(syscalls, sys_exit_pwritev)
EMPTY_TP(syscalls, sys_exit_pwritev2)
EMPTY_SYSCALL(sendfile64)
EMPTY_SYSCALL(splice)
EMPTY_SYSCALL(copy_file_range)
EMPTY_SYSCALL(io_submit)

EMPTY_TP(syscalls, sys_enter_close)
EMPTY_TP(syscalls, sys_enter_dup2)
EMPTY_TP(syscalls, sys_enter_dup3)
EMPTY_TP(syscalls, sys_enter_close_range)
EMPTY_SYSCALL(execve)
EMPTY_SYSCALL(execveat)
EMPTY_TP(sched, sched_process_exit)
EMPTY_TP(sched, sched_process_exec)
EMPTY_TP(syscalls, sys_enter_mmap)

EMPTY_TP_BTF(ctime_ns_xchg)
EMPTY_TP_BTF(ctime_xchg_skip)
EMPTY_TP_BTF(inode_set_ctime_to_ts)

EMPTY_TP(syscalls, sys_enter_unlink)
EMPTY_TP(syscalls, sys_enter_unlinkat)
EMPTY_TP(syscalls, sys_enter_rmdir)
EMPTY_TP(syscalls, sys_enter_rename)
EMPTY_TP(syscalls, sys_enter_renameat)
EMPTY_TP(syscalls, sys_enter_renameat2)
EMPTY_TP(syscalls, sys_enter_link)
EMPTY_TP(syscalls, sys_enter_symlink)
EMPTY_TP(syscalls, sys_enter_symlinkat)
EMPTY_TP(syscalls, sys_enter_truncate)
EMPTY_TP(syscalls, sys_enter_ftruncate)
EMPTY_TP(syscalls, sys_enter_chmod)
EMPTY_TP(syscalls, sys_enter_fchmod)
EMPTY_TP(syscalls, sys_enter_fchmodat)
EMPTY_TP(syscalls, sys_enter_chown)
EMPTY_TP(syscalls, sys_enter_lchown)
EMPTY_TP(syscalls, sys_enter_fchown)
EMPTY_TP(syscalls, sys_enter_fchownat)
EMPTY_TP(syscalls, sys_enter_linkat)
EMPTY_TP(syscalls, sys_enter_fchmodat2)
EMPTY_SYSCALL(connect)
EMPTY_TP(syscalls, sys_enter_sendto)
EMPTY_TP(syscalls, sys_enter_sendmsg)
EMPTY_TP(syscalls, sys_enter_sendmmsg)
/* handle_compat_enter and handle_compat_exit: every system call. */
EMPTY_RAW_TP(sys_enter)
EMPTY_RAW_TP(sys_exit)

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
