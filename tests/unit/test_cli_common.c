// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli_common.h"

#define NOW 1795578906000000000LL /* 2026-11-25 03:55:06 UTC */

static void test_when_ages_and_epochs(void **state)
{
	char err[256];
	int64_t t;

	assert_int_equal(pw_parse_when("2h", NOW, &t, err, sizeof(err)), 0);
	assert_true(t == NOW - 7200LL * 1000000000LL);
	assert_int_equal(pw_parse_when("@1795578906", NOW, &t, err, sizeof(err)), 0);
	assert_true(t == 1795578906LL * 1000000000LL);
	assert_int_equal(pw_parse_when("2026-11-25T03:55:06Z", NOW, &t, err, sizeof(err)), 0);
	assert_true(t == NOW);
	/* An age older than 1970 and junk are refused with a reason. */
	assert_int_equal(pw_parse_when("99999d", NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(pw_parse_when("12abc", NOW, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a time"));
}

/* Found by fuzz/fuzz_cli_parse: a date past 2262 overflowed the signed
 * nanosecond count (undefined behaviour), one before 1970 went negative. */
static void test_when_out_of_range_dates(void **state)
{
	char err[256];
	int64_t t;

	assert_int_equal(pw_parse_when("2262-04-11Z", NOW, &t, err, sizeof(err)), 0);
	assert_true(t > 0);
	assert_int_equal(pw_parse_when("2263-01-01", NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(pw_parse_when("9999-12-31 23:59:59", NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(pw_parse_when("0001-01-01 00:00", NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(pw_parse_when("1969-12-31T23:59:58Z", NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(pw_parse_when("1970-01-01Z", NOW, &t, err, sizeof(err)), 0);
	assert_true(t == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_when_ages_and_epochs),
		cmocka_unit_test(test_when_out_of_range_dates),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
