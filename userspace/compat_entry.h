/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether the running kernel takes 32-bit system calls at all.  A kernel
 * built with IA32 emulation can have it turned off at boot (Linux 6.7 on:
 * `ia32_emulation=0`, or built disabled by default): then neither int $0x80
 * nor the 32-bit sysenter/syscall entry reaches a system call, and the
 * daemon needs no programs to watch them.
 */
#ifndef PW_COMPAT_ENTRY_H
#define PW_COMPAT_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

enum pw_ia32 {
	PW_IA32_UNKNOWN = -1, /* not said, or not found out */
	PW_IA32_OFF = 0,
	PW_IA32_ON = 1,
};

/* What the kernel command line cmdline says of ia32_emulation=, split and
 * matched as the kernel does (next_arg(), parameq()): its last occurrence
 * before "--" whose value the kernel takes.  Only y, Y, 1, n, N, 0, on and
 * off count; a value this reading is unsure of (t, f, e, d...) makes it
 * PW_IA32_UNKNOWN, as does no occurrence. */
enum pw_ia32 pw_cmdline_ia32(const char *cmdline);

/* Make one 32-bit system call (getpid by int $0x80) in a child process:
 * PW_IA32_ON if it answered, PW_IA32_OFF if the kernel refused the entry
 * (the child's SIGSEGV), PW_IA32_UNKNOWN otherwise.  Not tried under a
 * seccomp filter (systemd's SystemCallArchitectures=native kills a 32-bit
 * call, says nothing of other processes, and logs the kill), nor off
 * x86-64: PW_IA32_UNKNOWN. */
enum pw_ia32 pw_probe_int80(void);

/* Whether the running kernel is 6.7 or later, which reads ia32_emulation=
 * (older ones ignore it, with their 32-bit entry open). */
bool pw_kernel_reads_ia32_param(void);

/* Whether the running kernel takes 32-bit system calls: the probe's answer
 * where it has one; where not, the command line's (cmdline_path, normally
 * /proc/cmdline) on a kernel of 6.7 or later, which reads it, unless the
 * boot configuration put it there.  why gets how it was found out. */
enum pw_ia32 pw_kernel_ia32(const char *cmdline_path, char *why, size_t why_size);

struct btf;

/* Whether piiwatch watches 32-bit system calls here: the kernel has the
 * entry (vmlinux, its BTF, has PW_COMPAT_ENTRY_FUNC; NULL: not known, so
 * yes) and pw_kernel_ia32() does not say it is off.  why gets the reason
 * when not. */
bool pw_compat_entry_open(const struct btf *vmlinux, char *why, size_t why_size);

#endif
