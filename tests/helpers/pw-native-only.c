// SPDX-License-Identifier: GPL-2.0
/*
 * pw-native-only PROGRAM [ARGS...]: run PROGRAM under a seccomp filter that
 * lets through the native ABI's system calls only and kills the process on
 * any other (a 32-bit call), as systemd's SystemCallArchitectures=native
 * does.  Needs no_new_privs (set before, e.g. by setpriv --no-new-privs) or
 * CAP_SYS_ADMIN; it never sets no_new_privs itself, which would change what
 * PROGRAM may do.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "pw-native-only: no native audit arch for this machine"
#endif

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (argc < 2) {
		fprintf(stderr, "usage: pw-native-only PROGRAM [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		fprintf(stderr, "pw-native-only: cannot install the filter: %s%s\n", strerror(errno),
			errno == EACCES ? " (set no_new_privs first, or run with CAP_SYS_ADMIN)" : "");
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "pw-native-only: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}
