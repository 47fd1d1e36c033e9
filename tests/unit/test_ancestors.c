// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ancestors.h"

/* The ancestors of text as "pid=exe;" pairs, in order. */
static void listed(const char *text, char *out, size_t n)
{
	const char *cursor = text;
	struct pw_ancestor a;
	size_t o = 0;

	out[0] = '\0';
	while (pw_ancestors_next(&cursor, &a) && o < n)
		o += (size_t)snprintf(out + o, n - o, "%u=%.*s;", a.pid, (int)a.exe_len, a.exe);
}

static void test_next_splits_lines(void **state)
{
	char out[256];

	listed("901 /usr/bin/bash\n812 /usr/sbin/sshd (listener)\n1 /sbin/init", out, sizeof(out));
	assert_string_equal(out, "901=/usr/bin/bash;812=/usr/sbin/sshd (listener);1=/sbin/init;");
	/* A program whose name starts with a space keeps it. */
	listed("7  odd", out, sizeof(out));
	assert_string_equal(out, "7= odd;");
	listed(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	listed("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* What a damaged store could hold ends the list where it goes wrong. */
static void test_next_stops_at_malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "901 /bin/sh\nx /bin/sh", "901=/bin/sh;" },
		{ "901 /bin/sh\n0 /sbin/init", "901=/bin/sh;" },
		{ "901 /bin/sh\n4294967296 /x", "901=/bin/sh;" },
		{ "901 /bin/sh\n99999999999 /x", "901=/bin/sh;" },
		{ "901 /bin/sh\n812 ", "901=/bin/sh;" },
		{ "901 /bin/sh\n812 \n1 /x", "901=/bin/sh;" },
		{ "901 /bin/sh\n812/x", "901=/bin/sh;" },
		{ "901 /bin/sh\n\n1 /x", "901=/bin/sh;" },
		{ "901", "" },
		{ " 901 /bin/sh", "" },
		{ "4294967295 /bin/sh\n", "4294967295=/bin/sh;" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		listed(cases[i].text, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].text, out, cases[i].want);
	}
}

static void test_append_bounded(void **state)
{
	char buf[PW_ANCESTORS_TEXT_MAX + 1], exe[PW_ANCESTORS_TEXT_MAX];
	size_t len = 0;

	assert_true(pw_ancestors_append(buf, &len, sizeof(buf), 901, "/usr/bin/bash"));
	assert_true(pw_ancestors_append(buf, &len, sizeof(buf), 1, "/sbin/init"));
	assert_string_equal(buf, "901 /usr/bin/bash\n1 /sbin/init");
	assert_int_equal(len, strlen(buf));
	assert_false(pw_ancestors_append(buf, &len, sizeof(buf), 0, "/x"));
	assert_false(pw_ancestors_append(buf, &len, sizeof(buf), 5, ""));
	assert_false(pw_ancestors_append(buf, &len, sizeof(buf), 5, "/a\nb"));
	assert_string_equal(buf, "901 /usr/bin/bash\n1 /sbin/init");

	/* Exactly PW_ANCESTORS_TEXT_MAX bytes fit, one more does not, and a
	 * refused ancestor leaves the text as it was. */
	len = 0;
	memset(exe, 'x', sizeof(exe));
	exe[PW_ANCESTORS_TEXT_MAX - 2] = '\0'; /* "7 " + exe */
	assert_true(pw_ancestors_append(buf, &len, sizeof(buf), 7, exe));
	assert_int_equal(len, PW_ANCESTORS_TEXT_MAX);
	assert_false(pw_ancestors_append(buf, &len, sizeof(buf), 1, "/"));
	assert_int_equal(strlen(buf), PW_ANCESTORS_TEXT_MAX);
	len = 0;
	exe[PW_ANCESTORS_TEXT_MAX - 2] = 'x';
	exe[PW_ANCESTORS_TEXT_MAX - 1] = '\0';
	assert_false(pw_ancestors_append(buf, &len, sizeof(buf), 7, exe));
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	/* A smaller buffer bounds it too. */
	assert_false(pw_ancestors_append(buf, &len, 8, 901, "/bin/sh"));
	assert_true(pw_ancestors_append(buf, &len, 12, 901, "/bin/sh"));
}

static void test_format_chain(void **state)
{
	char out[256];

	pw_ancestors_format_chain("901 /usr/bin/bash\n812 /usr/sbin/sshd\n1 /sbin/init",
				  "/usr/bin/tar", 950, out, sizeof(out));
	assert_string_equal(out, "init[1] > sshd[812] > bash[901] > /usr/bin/tar[950]");
	pw_ancestors_format_chain(NULL, "tar", 950, out, sizeof(out));
	assert_string_equal(out, "tar[950]");
	/* A name without a slash, or ending in one, is shown whole. */
	pw_ancestors_format_chain("5 sh\n4 /weird/", "cat", 6, out, sizeof(out));
	assert_string_equal(out, "/weird/[4] > sh[5] > cat[6]");
	/* Cut to the buffer, never past it. */
	pw_ancestors_format_chain("901 /usr/bin/bash", "/usr/bin/tar", 950, out, 12);
	assert_string_equal(out, "bash[901] >");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_splits_lines),
		cmocka_unit_test(test_next_stops_at_malformed),
		cmocka_unit_test(test_append_bounded),
		cmocka_unit_test(test_format_chain),
	};

	return cmocka_run_group_tests_name("ancestors", tests, NULL, NULL);
}
