// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "alert.h"
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

static unsigned minute_of(int day, int hour, int min)
{
	return (unsigned)(day * 1440 + hour * 60 + min);
}

static int trusted(const struct pw_policy *p, const char *ip)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return pw_policy_is_trusted(p, AF_INET, a);
	assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
	return pw_policy_is_trusted(p, AF_INET6, a);
}

static void test_detector_defaults(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[dataset x]\npath = /srv/x\n", &d);
	int i;

	assert_non_null(p);
	assert_false(p->have_hours);
	assert_int_equal(p->n_trusted, 0);
	assert_true(p->learning_ns == 14ULL * 86400 * 1000000000ULL);
	assert_int_equal(p->baseline_days, 30);
	assert_true(p->repeat_ns == 3600ULL * 1000000000ULL);
	assert_true(p->delta_interval_ns == 1000000000ULL);
	for (i = 0; i < PW_RULE_COUNT; i++) {
		assert_int_equal(pw_rule_from_name(pw_rule_name(i)), i);
		assert_true(p->rules[i].enabled);
		assert_int_equal(p->rules[i].action, PW_ACTION_ALERT);
		assert_int_equal(p->rules[i].line, 0);
	}
	assert_int_equal(pw_rule_from_name("bulk"), -1);
	assert_int_equal(p->rules[PW_RULE_HONEYTOKEN].severity, PW_SEV_CRITICAL);
	assert_true(p->rules[PW_RULE_BULK_READ].max_bytes == 64ULL << 20);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].factor, 5);
	assert_string_equal(p->rules[PW_RULE_STAGING].programs.items[0], "tar");
	assert_string_equal(p->rules[PW_RULE_PRIVILEGE_CHANGE].programs.items[1], "sudo");
	assert_int_equal(p->rules[PW_RULE_NEW_SOURCE].prefix4, 24);
	pw_policy_free(p);
	pw_diags_free(&d);
}

static void test_detector_sections(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[hours]\n"
				    "working = Mon-Fri 08:00-19:00\n"
				    "working = sat 9:30-13:00\n"
				    "working = Sun 22:00-06:00\n"
				    "[networks]\n"
				    "trusted = 10.0.0.0/8, 192.0.2.7\n"
				    "trusted = fd00::/8 2001:db8:1::/48\n"
				    "[detector]\n"
				    "learning = 0\n"
				    "baseline_days = 60\n"
				    "repeat = 10m\n"
				    "[rule bulk-read]\n"
				    "max_bytes = 1M\n"
				    "max_files = 50\n"
				    "window = 5m\n"
				    "min_days = 2\n"
				    "factor = 20\n"
				    "severity = critical\n"
				    "action = quarantine\n"
				    "[rule staging]\n"
				    "programs = tar\n"
				    "programs = /opt/bin/packer, zip\n"
				    "min_bytes = 0\n"
				    "[rule new-source]\n"
				    "prefix4 = 32\n"
				    "prefix6 = 56\n"
				    "[rule first-touch]\n"
				    "enabled = no\n",
				    &d);

	assert_non_null(p);
	assert_int_equal(d.n, 0);
	assert_true(p->have_hours);
	assert_false(pw_policy_is_working(p, minute_of(0, 7, 59)));
	assert_true(pw_policy_is_working(p, minute_of(0, 8, 0)));
	assert_true(pw_policy_is_working(p, minute_of(4, 18, 59)));
	assert_false(pw_policy_is_working(p, minute_of(4, 19, 0)));
	assert_false(pw_policy_is_working(p, minute_of(5, 9, 29)));
	assert_true(pw_policy_is_working(p, minute_of(5, 9, 30)));
	assert_false(pw_policy_is_working(p, minute_of(5, 13, 0)));
	/* Sunday night runs into Monday morning, across the week's end. */
	assert_true(pw_policy_is_working(p, minute_of(6, 23, 0)));
	assert_true(pw_policy_is_working(p, minute_of(0, 5, 59)));
	assert_false(pw_policy_is_working(p, minute_of(0, 6, 0)));
	assert_false(pw_policy_is_working(p, PW_WEEK_MINUTES));

	assert_int_equal(p->n_trusted, 4);
	assert_true(trusted(p, "10.200.3.4"));
	assert_true(trusted(p, "192.0.2.7"));
	assert_false(trusted(p, "192.0.2.8"));
	assert_false(trusted(p, "11.0.0.1"));
	assert_true(trusted(p, "fd12::1"));
	assert_true(trusted(p, "2001:db8:1:ffff::1"));
	assert_false(trusted(p, "2001:db8:2::1"));
	assert_false(trusted(p, "::ffff:10.0.0.1"));

	assert_true(p->learning_ns == 0);
	assert_int_equal(p->baseline_days, 60);
	assert_true(p->repeat_ns == 600ULL * 1000000000ULL);
	assert_true(p->rules[PW_RULE_BULK_READ].max_bytes == 1ULL << 20);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].max_files, 50);
	assert_true(p->rules[PW_RULE_BULK_READ].window_ns == 300ULL * 1000000000ULL);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].min_days, 2);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].factor, 20);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].severity, PW_SEV_CRITICAL);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].action, PW_ACTION_QUARANTINE);
	assert_int_equal(p->rules[PW_RULE_BULK_READ].line, 12);
	/* A programs line replaces the defaults; further lines add. */
	assert_int_equal(p->rules[PW_RULE_STAGING].programs.n, 3);
	assert_string_equal(p->rules[PW_RULE_STAGING].programs.items[1], "/opt/bin/packer");
	assert_int_equal(p->rules[PW_RULE_STAGING].min_bytes, 0);
	assert_int_equal(p->rules[PW_RULE_NEW_SOURCE].prefix4, 32);
	assert_int_equal(p->rules[PW_RULE_NEW_SOURCE].prefix6, 56);
	assert_false(p->rules[PW_RULE_FIRST_TOUCH].enabled);
	assert_true(p->rules[PW_RULE_HONEYTOKEN].enabled);
	pw_policy_free(p);
	pw_diags_free(&d);
}

static void test_detector_section_errors(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[hours]\n"                          /* 1 */
				    "working = Mon-Fri\n"                /* 2 */
				    "working = Mon-Fry 08:00-19:00\n"    /* 3 */
				    "working = Mon 08:00-24:30\n"        /* 4 */
				    "working = Mon 09:00-09:00\n"        /* 5 */
				    "working = Mon 24:00-09:00\n"        /* 6 */
				    "open = 8\n"                         /* 7 */
				    "[networks]\n"                       /* 8 */
				    "trusted = 10.0.0.0/33\n"            /* 9 */
				    "trusted = example.com\n"            /* 10 */
				    "trusted = 10.1.2.3/8\n"             /* 11: warning */
				    "[detector]\n"                       /* 12 */
				    "learning = soon\n"                  /* 13 */
				    "baseline_days = 0\n"                /* 14 */
				    "repeat = 10ms\n"                    /* 15 */
				    "[rule bulk-read]\n"                 /* 16 */
				    "severity = extreme\n"               /* 17 */
				    "action = lock\n"                    /* 18 */
				    "max_bytes = lots\n"                 /* 19 */
				    "programs = tar\n"                   /* 20 */
				    "factor = 0\n"                       /* 21 */
				    "[rule bulk-read]\n"                 /* 22 */
				    "[rule mining]\n"                    /* 23 */
				    "[rule]\n"                           /* 24 */
				    "[rule staging]\n"                   /* 25 */
				    "programs = bin/tar\n"               /* 26 */
				    "enabled = maybe\n"                  /* 27 */
				    "[hours x]\n",                       /* 28 */
				    &d);

	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "DAYS HH:MM-HH:MM"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "Mon-Fry"));
	assert_true(has_diag(&d, 4, PW_DIAG_ERROR, "24:30"));
	assert_true(has_diag(&d, 5, PW_DIAG_ERROR, "empty"));
	assert_true(has_diag(&d, 6, PW_DIAG_ERROR, "working"));
	assert_true(has_diag(&d, 7, PW_DIAG_ERROR, "unknown key 'open'"));
	assert_true(has_diag(&d, 9, PW_DIAG_ERROR, "10.0.0.0/33"));
	assert_true(has_diag(&d, 10, PW_DIAG_ERROR, "example.com"));
	assert_true(has_diag(&d, 11, PW_DIAG_WARNING, "beyond its /8"));
	assert_true(has_diag(&d, 13, PW_DIAG_ERROR, "learning"));
	assert_true(has_diag(&d, 14, PW_DIAG_ERROR, "baseline_days"));
	assert_true(has_diag(&d, 15, PW_DIAG_ERROR, "not below 1s"));
	assert_true(has_diag(&d, 17, PW_DIAG_ERROR, "low, medium, high or critical"));
	assert_true(has_diag(&d, 18, PW_DIAG_ERROR, "alert or quarantine"));
	assert_true(has_diag(&d, 19, PW_DIAG_ERROR, "max_bytes"));
	assert_true(has_diag(&d, 20, PW_DIAG_ERROR, "unknown key 'programs'"));
	assert_true(has_diag(&d, 21, PW_DIAG_ERROR, "factor"));
	assert_true(has_diag(&d, 22, PW_DIAG_ERROR, "already configured at line 16"));
	assert_true(has_diag(&d, 23, PW_DIAG_ERROR, "bulk-read"));
	assert_true(has_diag(&d, 24, PW_DIAG_ERROR, "[rule ID]"));
	assert_true(has_diag(&d, 26, PW_DIAG_ERROR, "absolute path"));
	assert_true(has_diag(&d, 27, PW_DIAG_ERROR, "yes or no"));
	assert_true(has_diag(&d, 28, PW_DIAG_ERROR, "takes no name"));
	assert_int_equal(d.errors, 22);
	pw_diags_free(&d);

	/* Names the records use for honeytokens and staging files. */
	p = parse("[dataset staging]\npath = /srv/x\n[dataset honeytoken]\npath = /srv/y\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, PW_DIAG_ERROR, "'staging' is reserved"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "'honeytoken' is reserved"));
	pw_diags_free(&d);
}

/* The size of the kernel's open-file map: a default, a range, an error. */
static void test_max_open_files(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[daemon]\nmax_open_files = 16\n", &d);

	assert_non_null(p);
	assert_true(p->max_open_files == 16);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[store]\n", &d);
	assert_non_null(p);
	assert_true(p->max_open_files == PW_DEFAULT_MAX_OPEN_FILES);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[daemon]\nmax_open_files = 0\nmax_open_files = 4194305\n"
		  "max_open_files = 12abc\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "from 1 to 4194304"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "from 1 to 4194304"));
	assert_true(has_diag(&d, 4, PW_DIAG_ERROR, "from 1 to 4194304"));
	pw_diags_free(&d);
}

/* The size of the kernel's protected-inode map: a default, a range, errors. */
static void test_max_protected_inodes(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[daemon]\nmax_protected_inodes = 4\n", &d);

	assert_non_null(p);
	assert_true(p->max_protected == 4);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[store]\n", &d);
	assert_non_null(p);
	assert_true(p->max_protected == PW_DEFAULT_MAX_PROTECTED);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[daemon]\nmax_protected_inodes = 0\nmax_protected_inodes = 4194305\n"
		  "max_protected_inodes = 4k\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "from 1 to 4194304, got '0'"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "from 1 to 4194304, got '4194305'"));
	assert_true(has_diag(&d, 4, PW_DIAG_ERROR, "from 1 to 4194304, got '4k'"));
	pw_diags_free(&d);
}

/* The ring buffer's size: a default, powers of two in a range, errors. */
static void test_ring_size(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[daemon]\nring_size = 64M\n", &d);

	assert_non_null(p);
	assert_true(p->ring_bytes == 64ULL << 20);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[store]\n", &d);
	assert_non_null(p);
	assert_true(p->ring_bytes == PW_DEFAULT_RING_BYTES);
	pw_policy_free(p);
	pw_diags_free(&d);
	p = parse("[daemon]\nring_size = 24M\nring_size = 512K\nring_size = 2G\n"
		  "ring_size = lots\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "power of two from 1M to 1G"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "power of two from 1M to 1G"));
	assert_true(has_diag(&d, 4, PW_DIAG_ERROR, "power of two from 1M to 1G"));
	assert_true(has_diag(&d, 5, PW_DIAG_ERROR, "got 'lots'"));
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
	assert_int_equal(d.items[0].line, 2);
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

/* An output section lacking what it needs, or given twice, is an error
 * at its header: never an output silently off or replaced. */
static void test_output_sections(void **state)
{
	struct pw_diags d;
	struct pw_policy *p = parse("[output syslog]\n"            /* 1 */
				    "port = 6514\n"                /* 2 */
				    "[output jsonl]\n"             /* 3 */
				    "keep = 3\n"                   /* 4 */
				    "[output audit]\n"             /* 5 */
				    "[output jsonl]\n"             /* 6 */
				    "path = /var/log/x.jsonl\n"    /* 7 */
				    "[output file]\n",             /* 8 */
				    &d);

	assert_null(p);
	assert_true(has_diag(&d, 1, PW_DIAG_ERROR, "[output syslog] has no host"));
	assert_true(has_diag(&d, 3, PW_DIAG_ERROR, "[output jsonl] has no path"));
	assert_true(has_diag(&d, 5, PW_DIAG_ERROR, "[output audit] has no alerts line"));
	assert_true(has_diag(&d, 6, PW_DIAG_ERROR, "already configured at line 3"));
	assert_true(has_diag(&d, 8, PW_DIAG_ERROR, "expected [output jsonl]"));
	assert_int_equal(d.errors, 5);
	pw_diags_free(&d);

	/* A bad value is reported once, where it is. */
	p = parse("[output jsonl]\npath = relative.jsonl\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 2, PW_DIAG_ERROR, "absolute path"));
	assert_int_equal(d.errors, 1);
	pw_diags_free(&d);

	p = parse("[output jsonl]\npath = -\n[output syslog]\nhost = siem.example\n"
		  "[output audit]\nalerts = no\n", &d);
	assert_non_null(p);
	assert_int_equal(d.n, 0);
	assert_string_equal(p->out.jsonl_path, "-");
	assert_string_equal(p->out.syslog_host, "siem.example");
	assert_int_equal(p->out.audit, 0);
	assert_int_equal(p->out.syslog_line, 3);
	pw_policy_free(p);
	pw_diags_free(&d);
}

/* Read a file whole, NUL-terminated. */
static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (buf)
		buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void assert_same_rule(const struct pw_rule_cfg *a, const struct pw_rule_cfg *b)
{
	size_t i;

	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->severity, b->severity);
	assert_int_equal(a->action, b->action);
	assert_true(a->max_bytes == b->max_bytes);
	assert_true(a->max_files == b->max_files);
	assert_true(a->min_bytes == b->min_bytes);
	assert_true(a->window_ns == b->window_ns);
	assert_true(a->min_days == b->min_days);
	assert_true(a->factor == b->factor);
	assert_true(a->prefix4 == b->prefix4);
	assert_true(a->prefix6 == b->prefix6);
	assert_int_equal(a->programs.n, b->programs.n);
	for (i = 0; i < a->programs.n; i++)
		assert_string_equal(a->programs.items[i], b->programs.items[i]);
}

/*
 * The packaged policy shows every setting it leaves out as "#key = value"
 * or "#[section]" (no space after '#').  With those lines taken in it must
 * be valid, and what it gives as defaults must be the parser's: only the
 * examples (retention, sizes, paths, hosts, hours, networks) and the
 * keep_attached it sets differ.  tests/run runs this from the source tree.
 */
static void test_packaged_policy_shows_the_defaults(void **state)
{
	struct pw_diags d, dd;
	struct pw_policy *p, *def;
	size_t len = 0, i, o = 0;
	char *text = read_text("packaging/piiwatch.conf", &len), *in;
	int r;

	assert_non_null(text);
	in = malloc(len + 1);
	assert_non_null(in);
	for (i = 0; i < len; i++) {
		bool line_start = i == 0 || text[i - 1] == '\n';

		if (line_start && text[i] == '#' && i + 1 < len && text[i + 1] != ' ' &&
		    text[i + 1] != '#' && text[i + 1] != '\n')
			continue;
		in[o++] = text[i];
	}
	in[o] = '\0';
	p = parse(in, &d);
	def = parse("", &dd);
	assert_int_equal(d.errors, 0);
	assert_non_null(p);
	assert_non_null(def);
	assert_int_equal(p->n_datasets, 2);
	assert_int_equal(p->honeytokens.n, 1);
	assert_non_null(p->out.jsonl_path);
	assert_non_null(p->out.syslog_host);
	assert_int_equal(p->out.audit, 1);
	assert_int_equal(p->have_hours, 1);
	assert_true(p->n_trusted > 0);
	assert_int_equal(p->keep_attached, 1);

	assert_string_equal(p->store_path, def->store_path);
	assert_string_equal(p->pam_socket, def->pam_socket);
	assert_string_equal(p->control_socket, def->control_socket);
	assert_string_equal(p->spool_dir, def->spool_dir);
	assert_string_equal(p->pin_dir, def->pin_dir);
	assert_true(p->delta_interval_ns == def->delta_interval_ns);
	assert_true(p->max_open_files == def->max_open_files);
	assert_true(p->ring_bytes == def->ring_bytes);
	assert_int_equal(p->out.jsonl_keep, def->out.jsonl_keep);
	assert_string_equal(p->out.syslog_port, def->out.syslog_port);
	assert_int_equal(p->out.syslog_facility, def->out.syslog_facility);
	assert_true(p->out.syslog_queue == def->out.syslog_queue);
	assert_true(p->learning_ns == def->learning_ns);
	assert_true(p->baseline_days == def->baseline_days);
	assert_true(p->repeat_ns == def->repeat_ns);
	for (r = 0; r < PW_RULE_COUNT; r++)
		assert_same_rule(&p->rules[r], &def->rules[r]);
	pw_policy_free(p);
	pw_policy_free(def);
	pw_diags_free(&d);
	pw_diags_free(&dd);
	free(in);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_policy),
		cmocka_unit_test(test_every_error_reported_with_line),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_load_file_warns_missing_paths),
		cmocka_unit_test(test_max_open_files),
		cmocka_unit_test(test_max_protected_inodes),
		cmocka_unit_test(test_ring_size),
		cmocka_unit_test(test_detector_defaults),
		cmocka_unit_test(test_detector_sections),
		cmocka_unit_test(test_detector_section_errors),
		cmocka_unit_test(test_output_sections),
		cmocka_unit_test(test_packaged_policy_shows_the_defaults),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
