// SPDX-License-Identifier: GPL-2.0
/* Whether the kernel takes 32-bit system calls: the command line's
 * ia32_emulation= as the kernel reads it, and the int $0x80 probe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "compat_entry.h"
#include "native_only.h"

static void test_cmdline_values(void **state)
{
	assert_int_equal(pw_cmdline_ia32(""), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("quiet console=ttyS0"), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("quiet ia32_emulation=n\n"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=No"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=off"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=OFF"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=1"), PW_IA32_ON);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=y"), PW_IA32_ON);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=on"), PW_IA32_ON);
	/* Values older kernels may refuse or read otherwise: not known */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=false"), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=disable"), PW_IA32_UNKNOWN);
	/* Not the parameter */
	assert_int_equal(pw_cmdline_ia32("xia32_emulation=0"), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation"), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation0"), PW_IA32_UNKNOWN);
}

static void test_cmdline_order(void **state)
{
	/* Each occurrence applies in turn: the last the kernel takes wins */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 ia32_emulation=1"), PW_IA32_ON);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=1 ia32_emulation=0"), PW_IA32_OFF);
	/* a value every kernel refuses leaves it as it was */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 ia32_emulation=x"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 ia32_emulation="), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=o"), PW_IA32_UNKNOWN);
	/* one that kernels may read differently makes it unknown */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 ia32_emulation=t"), PW_IA32_UNKNOWN);
}

static void test_cmdline_init_and_quotes(void **state)
{
	/* After "--" the words are init's, not the kernel's */
	assert_int_equal(pw_cmdline_ia32("quiet -- ia32_emulation=0"), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 -- ia32_emulation=1"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("a --b ia32_emulation=0"), PW_IA32_OFF);
	/* Double quotes group and are dropped */
	assert_int_equal(pw_cmdline_ia32("\"ia32_emulation=0\""), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=\"0\""), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("x=\"a -- b\" ia32_emulation=0"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("x=\"a ia32_emulation=0\""), PW_IA32_UNKNOWN);
	/* An unterminated quote takes the rest */
	assert_int_equal(pw_cmdline_ia32("x=\"a ia32_emulation=0"), PW_IA32_UNKNOWN);
	/* Quotes inside a name or a value are kept: not the parameter, or
	 * not a value the kernel takes */
	assert_int_equal(pw_cmdline_ia32("ia32_emu\"lation=0\""), PW_IA32_UNKNOWN);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=o\"ff\""), PW_IA32_UNKNOWN);
	/* A quoted "--" ends the kernel's part too */
	assert_int_equal(pw_cmdline_ia32("\"--\" ia32_emulation=0"), PW_IA32_UNKNOWN);
	/* Every character the kernel's isspace() takes separates */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0\ria32_emulation=1"), PW_IA32_ON);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0\vquiet"), PW_IA32_OFF);
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=1\xa0ia32_emulation=0"), PW_IA32_OFF);
	/* and '-' in a name is '_' */
	assert_int_equal(pw_cmdline_ia32("ia32_emulation=0 ia32-emulation=1"), PW_IA32_ON);
	assert_int_equal(pw_cmdline_ia32("ia32-emulation=off"), PW_IA32_OFF);
}

#ifdef __x86_64__
/* A filter that lets every call through. */
static int allow_all(void)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In a child under the filter install() puts in place, fn's answer, as
 * its exit code. */
static int under_filter(int (*install)(void), enum pw_ia32 (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || install())
			_exit(100);
		_exit(fn(arg) + 10);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status) - 10;
}

/* Under a filter as systemd's SystemCallArchitectures=native makes (a
 * 32-bit call kills the process). */
static int under_native_only(enum pw_ia32 (*fn)(const char *), const char *arg)
{
	return under_filter(pw_native_only, fn, arg);
}

static enum pw_ia32 probe(const char *unused)
{
	(void)unused;
	return pw_probe_int80();
}

/* Under a filter that lets every call through: the probe is still not
 * tried (a filter may kill it; this one would not). */
static void test_probe_not_tried_under_filter(void **state)
{
	assert_int_equal(under_filter(allow_all, probe, NULL), PW_IA32_UNKNOWN);
}

static enum pw_ia32 kernel_ia32(const char *path)
{
	char why[200];

	return pw_kernel_ia32(path, why, sizeof(why));
}

static bool kernel_at_least(unsigned want_major, unsigned want_minor)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	assert_int_equal(uname(&u), 0);
	assert_int_equal(sscanf(u.release, "%u.%u", &major, &minor), 2);
	return major > want_major || (major == want_major && minor >= want_minor);
}

static char cmdline_file[64];

static void write_cmdline(const char *text)
{
	FILE *f;
	int fd;

	strcpy(cmdline_file, "/tmp/pw-cmdline.XXXXXX");
	fd = mkstemp(cmdline_file);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The probe tells whether this machine takes 32-bit calls (some of the
 * machines this runs on do, some have the entry off) and outweighs the
 * command line; under a native-only seccomp filter it says it cannot
 * tell. */
static void test_probe(void **state)
{
	char why[200], line[128];
	FILE *f = fopen("/proc/self/status", "r");
	int filtered = -1;
	enum pw_ia32 here;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			filtered = atoi(line + 8);
	fclose(f);
	if (filtered != 0)
		skip(); /* the suite itself runs under a filter */
	/* Unfiltered, the call is tried: it answers or faults, never
	 * "cannot tell" */
	here = pw_probe_int80();
	assert_int_not_equal(here, PW_IA32_UNKNOWN);
	assert_int_equal(under_native_only(probe, NULL), PW_IA32_UNKNOWN);

	/* The probe's answer outweighs the command line's, either way */
	if (here == PW_IA32_ON) {
		write_cmdline("quiet ia32_emulation=0\n");
		assert_int_equal(pw_kernel_ia32(cmdline_file, why, sizeof(why)), PW_IA32_ON);
		assert_non_null(strstr(why, "answered"));
	} else {
		/* A kernel built without the entry, or booted with it off */
		write_cmdline("quiet ia32_emulation=1\n");
		assert_int_equal(pw_kernel_ia32(cmdline_file, why, sizeof(why)), PW_IA32_OFF);
		assert_non_null(strstr(why, "refused"));
	}
	unlink(cmdline_file);
	/* Where the probe cannot run, the command line is read, on 6.7 or
	 * later (older kernels ignore the parameter) */
	write_cmdline("quiet ia32_emulation=0\n");
	assert_int_equal(under_native_only(kernel_ia32, cmdline_file),
			 kernel_at_least(6, 7) ? PW_IA32_OFF : PW_IA32_UNKNOWN);
	unlink(cmdline_file);
	write_cmdline("quiet -- ia32_emulation=0\n");
	assert_int_equal(under_native_only(kernel_ia32, cmdline_file), PW_IA32_UNKNOWN);
	unlink(cmdline_file);
	/* and a missing file leaves it unknown */
	assert_int_equal(under_native_only(kernel_ia32, "/nonexistent/cmdline"), PW_IA32_UNKNOWN);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_values),
		cmocka_unit_test(test_cmdline_order),
		cmocka_unit_test(test_cmdline_init_and_quotes),
#ifdef __x86_64__
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_probe_not_tried_under_filter),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
