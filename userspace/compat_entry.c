// SPDX-License-Identifier: GPL-2.0
/* Whether the running kernel takes 32-bit system calls (compat_entry.h). */
#include <bpf/btf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat_entry.h"
#include "piiwatch.h"
#include "util.h"

#define KBOOL_REFUSED -1 /* every kernel refuses it: the setting stays */
#define KBOOL_UNSURE -2  /* kernels may differ (t, f, e, d...): not known */

/* kstrtobool's reading of the value v: 1 or 0 where every kernel that has
 * the parameter reads it so. */
static int kbool(const char *v, size_t len)
{
	if (len == 0)
		return KBOOL_REFUSED;
	switch (v[0]) {
	case 'y': case 'Y': case '1':
		return 1;
	case 'n': case 'N': case '0':
		return 0;
	case 'o': case 'O':
		if (len >= 2 && (v[1] == 'n' || v[1] == 'N'))
			return 1;
		if (len >= 2 && (v[1] == 'f' || v[1] == 'F'))
			return 0;
		return KBOOL_REFUSED;
	case 't': case 'T': case 'f': case 'F': case 'e': case 'E': case 'd': case 'D':
		return KBOOL_UNSURE;
	}
	return KBOOL_REFUSED;
}

/* The kernel's isspace(), which also counts 0xa0. */
static bool kspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

static char *skip_kspaces(char *s)
{
	while (kspace((unsigned char)*s))
		s++;
	return s;
}

/* One parameter split off args as the kernel's next_arg() splits it
 * (kernel/params.c): a leading double quote opens a quoted argument, a
 * quote anywhere toggles whether spaces end it, and the quotes around the
 * whole argument or around its value are dropped.  args is cut in place;
 * returns where the next parameter starts. */
static char *next_param(char *args, char **param, char **val)
{
	size_t i, equals = 0;
	bool in_quote = false, quoted = false;

	if (*args == '"') {
		args++;
		in_quote = quoted = true;
	}
	for (i = 0; args[i]; i++) {
		if (kspace((unsigned char)args[i]) && !in_quote)
			break;
		if (equals == 0 && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	if (!equals) {
		*val = NULL;
	} else {
		args[equals] = '\0';
		*val = args + equals + 1;
		if (**val == '"') {
			(*val)++;
			if (args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	if (args[i]) {
		args[i] = '\0';
		args += i + 1;
	} else {
		args += i;
	}
	return skip_kspaces(args);
}

/* The kernel's parameq(): '-' and '_' are the same. */
static bool param_is(const char *a, const char *b)
{
	for (; *a || *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return true;
}

enum pw_ia32 pw_cmdline_ia32(const char *cmdline)
{
	enum pw_ia32 said = PW_IA32_UNKNOWN;
	char *copy = cmdline ? strdup(cmdline) : NULL, *args, *param, *val;

	if (!copy)
		return PW_IA32_UNKNOWN;
	/* As parse_args() walks the early parameters. */
	args = skip_kspaces(copy);
	while (*args) {
		args = next_param(args, &param, &val);
		if (!val && strcmp(param, "--") == 0)
			break; /* the rest is init's */
		if (param_is(param, "ia32_emulation")) {
			int v = val ? kbool(val, strlen(val)) : KBOOL_REFUSED;

			/* Each occurrence is applied in turn; a value refused
			 * leaves the setting as it was. */
			if (v == 1)
				said = PW_IA32_ON;
			else if (v == 0)
				said = PW_IA32_OFF;
			else if (v == KBOOL_UNSURE)
				said = PW_IA32_UNKNOWN;
		}
	}
	free(copy);
	return said;
}

#ifdef __x86_64__
#define PW_PROBE_SEGV 3
#define PW_PROBE_OTHER 4

/* A refused int $0x80 is a general protection fault: SIGSEGV from the
 * kernel itself (SI_KERNEL), not from a bad address. */
static void probe_segv(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	_exit(info->si_code == SI_KERNEL ? PW_PROBE_SEGV : PW_PROBE_OTHER);
}

/* Whether this process runs under a seccomp filter, which may kill a
 * 32-bit call (and log the kill to the audit trail): the probe is not
 * tried there. */
static bool under_seccomp_filter(void)
{
	char line[128];
	bool filtered = true; /* not known: as if filtered */
	FILE *f = fopen("/proc/thread-self/status", "re");

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0) {
			filtered = atoi(line + 8) != 0;
			break;
		}
	fclose(f);
	return filtered;
}

enum pw_ia32 pw_probe_int80(void)
{
	pid_t pid, self, got;
	int status;

	if (under_seccomp_filter())
		return PW_IA32_UNKNOWN;
	pid = fork();
	if (pid < 0)
		return PW_IA32_UNKNOWN;
	if (pid == 0) {
		struct sigaction sa;
		sigset_t segv;
		long r;

		/* A refused entry faults: end quietly, with no core dump
		 * and no "general protection" line in the kernel log. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = probe_segv;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		sigemptyset(&segv);
		sigaddset(&segv, SIGSEGV);
		sigprocmask(SIG_UNBLOCK, &segv, NULL);
		prctl(PR_SET_DUMPABLE, 0);
		self = getpid();
		/* i386 getpid (20); int $0x80 may zero r8-r11 on return */
		__asm__ volatile("int $0x80"
				 : "=a"(r)
				 : "a"(20L)
				 : "memory", "r8", "r9", "r10", "r11");
		_exit(r == (long)self ? 0 : PW_PROBE_OTHER);
	}
	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	if (got != pid)
		return PW_IA32_UNKNOWN;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PW_IA32_ON;
	if (WIFEXITED(status) && WEXITSTATUS(status) == PW_PROBE_SEGV)
		return PW_IA32_OFF;
	return PW_IA32_UNKNOWN;
}
#else
enum pw_ia32 pw_probe_int80(void)
{
	return PW_IA32_UNKNOWN;
}
#endif

bool pw_kernel_reads_ia32_param(void)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 7);
}

/* Whether the boot configuration (bootconfig) names ia32_emulation among
 * its kernel keys, which /proc/cmdline shows although the kernel applies
 * no early parameter from them. */
static bool bootconfig_sets_it(const char *path)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *k = line + strspn(line, " \t");

		found = strncmp(k, "kernel.ia32_emulation", 21) == 0 ||
			strncmp(k, "kernel.ia32-emulation", 21) == 0;
	}
	fclose(f);
	return found;
}

enum pw_ia32 pw_kernel_ia32(const char *cmdline_path, char *why, size_t why_size)
{
	char line[4096];
	enum pw_ia32 v = pw_probe_int80();
	FILE *f;

	/* The call answered or faulted: that is the kernel's own word. */
	if (v == PW_IA32_ON) {
		pw_set_err(why, why_size, "a 32-bit system call (int $0x80) answered");
		return v;
	}
	if (v == PW_IA32_OFF) {
		pw_set_err(why, why_size, "the kernel refused a 32-bit system call (int $0x80)");
		return v;
	}
	/* Not tried (a seccomp filter, as the unit's, forbids it here): the
	 * command line, on a kernel that reads it. */
	f = pw_kernel_reads_ia32_param() ? fopen(cmdline_path, "re") : NULL;
	if (f) {
		size_t n = fread(line, 1, sizeof(line) - 1, f);

		line[n] = '\0';
		fclose(f);
		v = pw_cmdline_ia32(line);
		if (v == PW_IA32_OFF && bootconfig_sets_it("/proc/bootconfig")) {
			/* Shown in the command line, but early parameters are
			 * not taken from a boot configuration. */
			pw_set_err(why, why_size, "ia32_emulation= comes from the boot configuration, "
				   "which the kernel does not apply to it");
			return PW_IA32_UNKNOWN;
		}
		if (v != PW_IA32_UNKNOWN) {
			pw_set_err(why, why_size, "%s says ia32_emulation=%s", cmdline_path,
				   v == PW_IA32_OFF ? "off" : "on");
			return v;
		}
	}
	pw_set_err(why, why_size, "a 32-bit system call could not be tried here, and %s does not say",
		   cmdline_path);
	return PW_IA32_UNKNOWN;
}

bool pw_compat_entry_open(const struct btf *vmlinux, char *why, size_t why_size)
{
	char how[160];

	if (vmlinux && btf__find_by_name_kind(vmlinux, PW_COMPAT_ENTRY_FUNC, BTF_KIND_FUNC) <= 0) {
		pw_set_err(why, why_size, "kernel has no 32-bit system call entry");
		return false;
	}
	/* Built in, but turned off at boot (or by default): no 32-bit call
	 * can be made, and nothing needs to watch for one. */
	if (pw_kernel_ia32("/proc/cmdline", how, sizeof(how)) == PW_IA32_OFF) {
		pw_set_err(why, why_size, "no 32-bit system calls on this kernel (%s)", how);
		return false;
	}
	pw_set_err(why, why_size, "32-bit system calls are watched: %s", how);
	return true;
}
