// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"

static struct pw_policy *parse(const char *text, struct pw_diags *d)
{
	return pw_policy_parse("test.conf", text, strlen(text), d);
}

/* True when some diagnostic is on line and contains needle. */
static int has_diag(const struct pw_diags *d, int line, enum pw_diag_level lvl, const char *needle)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->items[i].line == line && d->items[i].level == lvl &&
		    strstr(d->items[i].msg, needle))
			return 1;
	return 0;
}

static void test_valid_policy(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("# dealer host\n"
				    "[store]\n"
				    "path = /var/lib/pw/x.db\n"
				    "retention = 180d\n"
				    "max_size = 2G\n"
				    "\n"
				    "[daemon]\n"
				    "pam_socket = /run/pw.sock\n"
				    "delta_interval = 2s\n"
				    "[dataset customers]\n"
				    "path = /srv/dms/customers\n"
				    "path = /srv/crm/export  \n"
				    "allow = /usr/sbin/dms-server\n"
				    "[dataset service-history]\n"
				    "  path=/srv/dms/service\n"
				    "[honeytokens]\n"
				    "path = /srv/dms/customers/zz_vip.csv\n",
				    &d);

	assert_non_null(p);
	assert_int_equal(d.errors, 0);
	assert_string_equal(p->store_path, "/var/lib/pw/x.db");
	assert_true(p->retention_ns == 180ULL * 86400 * 1000000000ULL);
	assert_true(p->store_max_bytes == 2ULL << 30);
	assert_string_equal(p->pam_socket, "/run/pw.sock");
	assert_string_equal(p->spool_dir, PW_DEFAULT_SPOOL);
	assert_true(p->delta_interval_ns == 2000000000ULL);
	assert_int_equal(p->n_datasets, 2);
	assert_string_equal(p->datasets[0].name, "customers");
	assert_int_equal(p->datasets[0].paths.n, 2);
	assert_string_equal(p->datasets[0].paths.items[1], "/srv/crm/export");
	assert_string_equal(p->datasets[0].allow.items[0], "/usr/sbin/dms-server");
	assert_string_equal(p->datasets[1].paths.items[0], "/srv/dms/service");
	assert_int_equal(p->honeytokens.n, 1);
	assert_string_equal(pw_policy_dataset_name(p, 1), "service-history");
	assert_string_equal(pw_policy_dataset_name(p, 2), "honeytoken");
	assert_string_equal(pw_policy_dataset_name(p, 3), "?");
	pw_policy_free(p);
	pw_diags_free(&d);
}

static void test_every_error_reported_with_line(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("path = /x\n"                   /* 1: outside section */
				    "[nonsense]\n"                  /* 2 */
				    "[dataset bad name!]\n"         /* 3 */
				    "[dataset customers]\n"         /* 4 */
				    "path = relative/dir\n"         /* 5 */
				    "colour = blue\n"               /* 6 */
				    "just words\n"                  /* 7 */
				    "[store]\n"                     /* 8 */
				    "retention = 5 weeks\n"         /* 9 */
				    "max_size = lots\n"             /* 10 */
				    "path =\n"                      /* 11 */
				    "[daemon]\n"                    /* 12 */
				    "delta_interval = 10ms\n"       /* 13 */
				    "[dataset customers]\n"         /* 14: duplicate */
				    "[store\n"                      /* 15 */
				    "[honeytokens x]\n",            /* 16 */
				    &d);

	assert_null(p);
	assert_true(has_diag(&d, 1, PW_DIAG_ERROR, "outside any section"));
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "unknown section [nonsense]"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "[dataset NAME]"));
	assert_true(has_diag(&d, 5, PW_DIAG_ERROR, "absolute path"));
	assert_true(has_diag(&d, 6, PW_DIAG_ERROR, "unknown key 'colour'"));
	assert_true(has_diag(&d, 7, PW_DIAG_ERROR, "key = value"));
	assert_true(has_diag(&d, 9, PW_DIAG_ERROR, "duration"));
	assert_true(has_diag(&d, 10, PW_DIAG_ERROR, "size"));
	assert_true(has_diag(&d, 11, PW_DIAG_ERROR, "missing value"));
	assert_true(has_diag(&d, 13, PW_DIAG_ERROR, "not below 100ms"));
	assert_true(has_diag(&d, 14, PW_DIAG_ERROR, "already defined at line 4"));
	assert_true(has_diag(&d, 15, PW_DIAG_ERROR, "section header"));
	assert_true(has_diag(&d, 16, PW_DIAG_ERROR, "takes no name"));
	/* the dataset at line 4 has no valid path either */
	assert_true(has_diag(&d, 4, PW_DIAG_ERROR, "has no path"));
	assert_int_equal(d.errors, 14);
	pw_diags_free(&d);
}

static void test_hostile_bytes(void **state)
{
	static const char nul_line[] = "[store]\npath = /a\0b\n";
	char *long_line;
	struct pw_diags d;
	struct pw_policy *p;

	p = pw_policy_parse("t", nul_line, sizeof(nul_line) - 1, &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "NUL"));
	pw_diags_free(&d);

	p = parse("[dataset x]\npath = /srv/\xff\xfe\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "UTF-8"));
	pw_diags_free(&d);

	long_line = malloc(PW_POLICY_MAX_LINE + 100);
	memset(long_line, 'a', PW_POLICY_MAX_LINE + 99);
	long_line[PW_POLICY_MAX_LINE + 99] = '\0';
	p = parse(long_line, &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, PW_DIAG_ERROR, "longer than"));
	pw_diags_free(&d);
	free(long_line);

	/* CRLF line ends and a last line without newline are fine */
	p = parse("[dataset x]\r\npath = /srv/x\r\n[store]\r\npath = /tmp/s.db", &d);
	assert_non_null(p);
	assert_string_equal(p->datasets[0].paths.items[0], "/srv/x");
	assert_string_equal(p->store_path, "/tmp/s.db");
	pw_policy_free(p);
	pw_diags_free(&d);
}

static void test_load_file_warns_missing_paths(void **state)
{
	char path[] = "/tmp/pw-policy-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "[dataset customers]\npath = /nonexistent/piiwatch/test\n"
				   "path = /tmp\n";
	struct pw_diags d;
	struct pw_policy *p;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	p = pw_policy_load(path, &d);
	assert_non_null(p);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].level, PW_DIAG_WARNING);
	assert_non_null(strstr(d.items[0].msg, "/nonexistent/piiwatch/test"));
	pw_policy_free(p);
	pw_diags_free(&d);
	unlink(path);

	p = pw_policy_load("/nonexistent/piiwatch.conf", &d);
	assert_null(p);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.items[0].msg, "cannot open"));
	pw_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_policy),
		cmocka_unit_test(test_every_error_reported_with_line),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_load_file_warns_missing_paths),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
