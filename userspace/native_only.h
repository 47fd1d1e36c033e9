/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the tests and benchmarks: the seccomp filter systemd's
 * SystemCallArchitectures=native installs, reduced to what matters here
 * (any system call of another ABI, a 32-bit one, kills the process).
 * The daemon itself never installs it.
 */
#ifndef PW_NATIVE_ONLY_H
#define PW_NATIVE_ONLY_H

#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#if defined(__x86_64__)
#define PW_NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PW_NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef PW_NATIVE_AUDIT_ARCH
/* Install it on the calling thread (inherited by what it forks and
 * execs): no_new_privs set before, or CAP_SYS_ADMIN.  0, or -1 with errno. */
static inline int pw_native_only(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PW_NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#endif

#endif
