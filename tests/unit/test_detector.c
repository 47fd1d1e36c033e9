// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/types.h>

#include "detector.h"
#include "piiwatch.h"

#define BOOT "cd96f4e1-e314-4c16-ada5-0b1c2f89ad47"
#define T0 1795392000ULL /* Monday 2026-11-23 00:00:00 UTC; the tests run in UTC */
#define S(x) ((uint64_t)(x) * 1000000000ULL)
#define H(x) S((uint64_t)(x) * 3600)
#define DAY(x) H((uint64_t)(x) * 24)
#define MIB (1ULL << 20)
#define AT(x) (S(T0) + (x))

static const char base_policy[] = "[dataset customers]\n"
				  "path = /srv/dms/customers\n"
				  "allow = /usr/sbin/dms-server\n"
				  "[dataset service]\n"
				  "path = /srv/dms/service\n"
				  "[hours]\n"
				  "working = Mon-Fri 08:00-19:00\n"
				  "[networks]\n"
				  "trusted = 10.0.0.0/8\n"
				  "[detector]\n"
				  "learning = 0\n";

struct fx {
	struct pw_policy *pol;
	struct pw_detector *det;
	struct pw_alert alerts[64];
	bool quarantine[64];
	size_t n;
};

static void on_alert(void *ctx, const struct pw_alert *al, bool quarantine)
{
	struct fx *f = ctx;

	assert_true(f->n < 64);
	assert_true(pw_rule_id_valid(al->rule_id));
	f->quarantine[f->n] = quarantine;
	f->alerts[f->n++] = *al;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pw_diags d;

	assert_non_null(f);
	f->pol = pw_policy_parse("test.conf", base_policy, strlen(base_policy), &d);
	assert_non_null(f->pol);
	pw_diags_free(&d);
	f->det = pw_detector_new(f->pol, on_alert, f);
	assert_non_null(f->det);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pw_detector_free(f->det);
	pw_policy_free(f->pol);
	free(f);
	return 0;
}

/* Alerts of one rule so far. */
static size_t count(const struct fx *f, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += strcmp(f->alerts[i].rule_id, rule) == 0;
	return n;
}

/* The k-th alert of a rule. */
static const struct pw_alert *nth(const struct fx *f, const char *rule, size_t k)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->alerts[i].rule_id, rule) == 0 && k-- == 0)
			return &f->alerts[i];
	fail_msg("no such %s alert", rule);
	return &f->alerts[0];
}

static const struct pw_alert *find(const struct fx *f, const char *rule)
{
	return nth(f, rule, 0);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack, needle);
}

/* An access by user in login session ses (PW_NO_ID: none), of file ino of
 * dataset ds: opened at t_open, bytes_read as the running total at t. */
static struct pw_access acc(const char *user, uint32_t ses, uint64_t id, const char *ds,
			    uint64_t ino, uint64_t t_open, uint64_t t, uint64_t bytes, bool final)
{
	struct pw_access a;

	memset(&a, 0, sizeof(a));
	snprintf(a.boot_id, sizeof(a.boot_id), BOOT);
	a.access_id = id;
	a.audit_session = ses;
	a.session_id = ses == PW_NO_ID ? 0 : 100 + ses;
	a.loginuid = ses == PW_NO_ID ? PW_NO_ID : 1001;
	a.uid = 1001;
	a.pid = 4000 + (uint32_t)(id % 1000);
	a.ppid = 1;
	a.open_flags = O_RDONLY;
	snprintf(a.comm, sizeof(a.comm), "cat");
	a.user = (char *)user;
	a.exe = (char *)"/usr/bin/cat";
	a.dataset = (char *)ds;
	a.path = (char *)"/srv/dms/customers/export.csv";
	a.dev = 1;
	a.ino = ino;
	a.opened_ns = t_open;
	a.last_ns = t;
	a.closed_ns = final ? t : 0;
	a.bytes_read = bytes;
	a.reads = bytes ? 1 : 0;
	a.flags = final ? PW_IO_FINAL : 0;
	return a;
}

/* One whole read of a file, as a single final record. */
static void read_file(struct fx *f, const char *user, uint32_t ses, uint64_t id, const char *ds,
		      uint64_t ino, uint64_t t, uint64_t bytes)
{
	struct pw_access a = acc(user, ses, id, ds, ino, t, t, bytes, true);

	pw_detector_access(f->det, &a);
}

static void session(struct fx *f, enum pw_record_type type, const char *user, uint32_t ses,
		    const char *rhost, uint64_t t)
{
	struct pw_session_record r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	snprintf(r.id, sizeof(r.id), "%llu-%u-%d", (unsigned long long)t, ses, type);
	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.service, sizeof(r.service), "sshd");
	snprintf(r.rhost, sizeof(r.rhost), "%s", rhost);
	snprintf(r.boot_id, sizeof(r.boot_id), BOOT);
	r.uid = 1001;
	r.loginuid = 1001;
	r.sessionid = ses;
	r.time_ns = t;
	pw_detector_session(f->det, &r, ses == PW_NO_ID ? 0 : 100 + ses);
}

static void event(struct fx *f, const char *kind, const char *action, uint32_t ses, uint32_t pid,
		  uint64_t t)
{
	struct pw_event_rec e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.action = action;
	e.ts_ns = t;
	e.audit_session = ses;
	e.session_id = ses == PW_NO_ID ? 0 : 100 + ses;
	e.loginuid = 1001;
	e.pid = pid;
	e.user = "tanaka";
	e.comm = "x";
	pw_detector_event(f->det, BOOT, &e);
}

/* A destination reached by session ses, named as action says. */
static void reach(struct fx *f, uint32_t ses, const char *action, const char *ip, uint64_t t)
{
	struct pw_event_rec e;

	memset(&e, 0, sizeof(e));
	e.kind = "connect";
	e.action = action;
	e.ts_ns = t;
	e.audit_session = ses;
	e.pid = 777;
	e.user = "tanaka";
	e.comm = "curl";
	e.exe = "/usr/bin/curl";
	e.dest_ip = ip;
	e.dest_port = 443;
	e.result = -115;
	pw_detector_event(f->det, BOOT, &e);
}

static void connect_to(struct fx *f, uint32_t ses, const char *ip, uint64_t t)
{
	reach(f, ses, "connect", ip, t);
}

/* Ten earlier weekdays on which user read about per_day bytes of ds
 * during working hours, in a session of its own each day. */
static void learn_days(struct fx *f, const char *user, const char *ds, uint64_t per_day,
		       uint64_t first_id)
{
	int i;

	for (i = 0; i < 10; i++) {
		uint64_t t = AT(DAY(i) + H(10));

		read_file(f, user, (uint32_t)(first_id + (uint64_t)i), first_id + (uint64_t)i, ds,
			  50 + (uint64_t)i, t, per_day + (uint64_t)i * (per_day / 20));
	}
}

static void test_honeytoken(void **state)
{
	struct fx *f = *state;
	struct pw_access a = acc("tanaka", 17, 1, "honeytoken", 9, AT(H(10)), AT(H(10)), 0, false);
	struct pw_event_rec e;

	read_file(f, "tanaka", 17, 2, "customers", 10, AT(H(10)), 100);
	assert_int_equal(count(f, "honeytoken"), 0);
	/* The open alone is enough: no byte read yet. */
	a.honeytoken = true;
	a.path = (char *)"/srv/dms/customers/zz_vip.csv";
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "honeytoken"), 1);
	assert_int_equal(find(f, "honeytoken")->severity, PW_SEV_CRITICAL);
	assert_string_equal(find(f, "honeytoken")->user, "tanaka");
	assert_int_equal(find(f, "honeytoken")->audit_session, 17);
	assert_true(find(f, "honeytoken")->session_id == 117);
	assert_true(find(f, "honeytoken")->time_ns == AT(H(10)));
	assert_contains(find(f, "honeytoken")->reason,
			"tanaka (session 17) opened the honeytoken /srv/dms/customers/zz_vip.csv");
	/* Its final record and more of the same session: once per session. */
	a.bytes_read = 89;
	a.closed_ns = a.last_ns = AT(H(10) + S(1));
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "honeytoken"), 1);

	/* A change to a honeytoken by another session. */
	memset(&e, 0, sizeof(e));
	e.kind = "change";
	e.action = "rename";
	e.ts_ns = AT(H(11));
	e.audit_session = 18;
	e.user = "suzuki";
	e.exe = "/usr/bin/mv";
	e.path = "/srv/dms/customers/zz_vip.csv";
	e.honeytoken = true;
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "honeytoken"), 2);
	assert_contains(nth(f, "honeytoken", 1)->reason,
			"/usr/bin/mv (pid 0) did rename on the honeytoken");

	/* The dataset's allowed program (a backup, the DMS) reading the
	 * honeytoken that lies among its data is not a finding. */
	a = acc("dms", PW_NO_ID, 4, "honeytoken", 9, AT(H(12)), AT(H(12)), 10, true);
	a.honeytoken = true;
	a.path = (char *)"/srv/dms/customers/zz_vip.csv";
	a.exe = (char *)"/usr/sbin/dms-server";
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "honeytoken"), 2);
	a.path = (char *)"/srv/dms/customers-old/zz_vip.csv";
	a.access_id = 5;
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "honeytoken"), 3);

	/* Switched off by the policy. */
	f->pol->rules[PW_RULE_HONEYTOKEN].enabled = 0;
	a = acc("sato", 19, 3, "honeytoken", 9, AT(H(12)), AT(H(12)), 10, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "honeytoken"), 3);
}

/* Progress reports carry running totals: each byte counts once. */
static void test_bulk_read_counts_progress_once(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(H(10));

	f->pol->rules[PW_RULE_BULK_READ].max_bytes = 100 * MIB;
	a = acc("tanaka", 17, 1, "customers", 9, t, t + S(1), 40 * MIB, false);
	pw_detector_access(f->det, &a);
	a = acc("tanaka", 17, 1, "customers", 9, t, t + S(2), 70 * MIB, false);
	pw_detector_access(f->det, &a);
	a = acc("tanaka", 17, 1, "customers", 9, t, t + S(3), 90 * MIB, true);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "bulk-read"), 0);
	/* The same access id again after its final record is a new access
	 * (ids are reused only across boots; this one counts anew). */
	a = acc("tanaka", 17, 2, "customers", 10, t + S(4), t + S(5), 20 * MIB, false);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "bulk-read"), 1);
	assert_contains(find(f, "bulk-read")->reason,
			"tanaka (session 17) read 110.0 MiB (2 files) of dataset customers in 5 s "
			"of this session; no baseline yet (0 of 5 active days); the cap is 100.0 MiB");
	assert_true(find(f, "bulk-read")->time_ns == t + S(5));
	a = acc("tanaka", 17, 2, "customers", 10, t + S(4), t + S(6), 500 * MIB, true);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "bulk-read"), 1);
}

static void test_bulk_read_against_baseline(void **state)
{
	struct fx *f = *state;
	uint64_t t = AT(DAY(10) + H(10));

	/* A heavy reader: 600 MiB a day is her normal. */
	learn_days(f, "suzuki", "customers", 600 * MIB, 100);
	/* A light one: 2 MiB a day. */
	learn_days(f, "tanaka", "customers", 2 * MIB, 200);
	/* Each of suzuki's days was over the cap until five made a baseline. */
	assert_int_equal(count(f, "bulk-read"), 5);
	f->n = 0;
	read_file(f, "suzuki", 30, 1, "customers", 1, t, 700 * MIB);
	assert_int_equal(count(f, "bulk-read"), 0);
	read_file(f, "tanaka", 31, 2, "customers", 1, t, 412 * MIB);
	assert_int_equal(count(f, "bulk-read"), 1);
	assert_contains(find(f, "bulk-read")->reason, "tanaka (session 31) read 412.0 MiB (1 files) "
			"of dataset customers in 0 s of this session; this user's median over 10 "
			"active days is 2.4 MiB/day (MAD 256.0 KiB) and its usual high 3.6 MiB: the "
			"limit is 12.2 MiB (the larger of 5 times the median and twice the usual "
			"high), and the cap is 64.0 MiB");
}

/* Under the cap every day, but three times the usual on three days of a
 * week: a slow drip. */
static void test_bulk_read_slow_drip(void **state)
{
	struct fx *f = *state;
	int i;

	learn_days(f, "tanaka", "customers", 10 * MIB, 100);
	learn_days(f, "sato", "customers", 10 * MIB, 200);
	f->n = 0;
	for (i = 0; i < 3; i++) {
		read_file(f, "tanaka", 300 + (uint32_t)i, 300 + (uint64_t)i, "customers", 1,
			  AT(DAY(14 + i) + H(15)), 50 * MIB);
		/* sato reads more too, but not three times the usual. */
		read_file(f, "sato", 400 + (uint32_t)i, 400 + (uint64_t)i, "customers", 1,
			  AT(DAY(14 + i) + H(15)), 25 * MIB);
		assert_int_equal(count(f, "bulk-read"), i == 2);
	}
	assert_string_equal(find(f, "bulk-read")->user, "tanaka");
	assert_contains(find(f, "bulk-read")->reason,
			"tanaka (session 302) read more than 36.8 MiB/day of dataset customers on 3 "
			"of the last 7 days (50.0 MiB, 50.0 MiB, 50.0 MiB), 150.0 MiB (3 files) in all; "
			"this user's median over 10 active days before them is 12.2 MiB/day (MAD "
			"1.2 MiB): 36.8 MiB is the larger of 3 times the median and the usual high, "
			"and the cap is 64.0 MiB");
	/* Once a week per principal. */
	read_file(f, "tanaka", 310, 310, "customers", 1, AT(DAY(17) + H(15)), 50 * MIB);
	assert_int_equal(count(f, "bulk-read"), 1);
}

static void test_bulk_read_window_and_files(void **state)
{
	struct fx *f = *state;
	uint64_t i, t = AT(H(9));

	/* 60 MiB late one evening, 60 MiB the next morning in another
	 * session: neither session, window nor day is over the cap. */
	read_file(f, "tanaka", 1, 1, "customers", 1, t + H(13), 60 * MIB);
	read_file(f, "tanaka", 2, 2, "customers", 2, t + H(24), 60 * MIB);
	assert_int_equal(count(f, "bulk-read"), 0);
	/* More within 20 minutes in a third session: the window sees both. */
	read_file(f, "tanaka", 3, 3, "customers", 3, t + H(24) + S(1200), 60 * MIB);
	assert_int_equal(count(f, "bulk-read"), 1);
	assert_contains(find(f, "bulk-read")->reason, "read 120.0 MiB (2 files) of dataset customers "
			"within 60 min");
	assert_int_equal(find(f, "bulk-read")->audit_session, 3);
	/* Spread over the day in small sessions: the day's total. */
	read_file(f, "sato", 10, 10, "customers", 10, t + H(24), 40 * MIB);
	read_file(f, "sato", 11, 11, "customers", 11, t + H(27), 40 * MIB);
	assert_int_equal(count(f, "bulk-read"), 2);
	assert_contains(nth(f, "bulk-read", 1)->reason, "sato (session 11) read 80.0 MiB (2 files) of "
			"dataset customers today; no baseline yet");
	/* Another session of sato that day: the same finding, not repeated. */
	read_file(f, "sato", 12, 12, "customers", 12, t + H(30), 40 * MIB);
	assert_int_equal(count(f, "bulk-read"), 2);

	/* A long-lived service is measured over the window, never over its
	 * life; a program the dataset allows only against its own baseline. */
	f->n = 0;
	for (i = 0; i < 48; i++) {
		struct pw_access a = acc("dms", PW_NO_ID, 5000 + i, "customers", 7000 + i,
					 t + H(i), t + H(i), 20 * MIB, true);

		a.exe = (char *)"/usr/sbin/dms-server";
		a.pid = 812;
		pw_detector_access(f->det, &a);
	}
	assert_int_equal(count(f, "bulk-read"), 0);

	/* Many small files. */
	f->n = 0;
	f->pol->rules[PW_RULE_ENUMERATION].enabled = 0;
	for (i = 0; i < 1001; i++)
		read_file(f, "kato", 5, 100 + i, "service", 1000 + i, t + H(5) + S(i), 1000);
	assert_int_equal(count(f, "bulk-read"), 1);
	assert_contains(find(f, "bulk-read")->reason, "kato (session 5) read 1001 distinct files");
}

static void test_enumeration(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t i, t = AT(H(10));

	/* 200 files in a minute is the limit, not over it. */
	for (i = 0; i < 200; i++)
		read_file(f, "tanaka", 17, i + 1, "customers", i + 1, t + i * 250000000ULL, 10);
	assert_int_equal(count(f, "enumeration"), 0);
	read_file(f, "tanaka", 17, 999, "customers", 999, t + S(55), 10);
	assert_int_equal(count(f, "enumeration"), 1);
	assert_contains(find(f, "enumeration")->reason,
			"opened 201 distinct protected files within 60 s (limit 200)");
	/* Slowly, one every second: never more than 60 in a minute. */
	for (i = 0; i < 400; i++)
		read_file(f, "sato", 18, 2000 + i, "customers", 3000 + i, t + S(i), 10);
	assert_int_equal(count(f, "enumeration"), 1);
	/* The dataset's allowed program, outside a session. */
	for (i = 0; i < 300; i++) {
		a = acc("dms", PW_NO_ID, 5000 + i, "customers", 6000 + i, t, t, 10, true);
		a.exe = (char *)"/usr/sbin/dms-server";
		pw_detector_access(f->det, &a);
	}
	assert_int_equal(count(f, "enumeration"), 1);
}

static void test_off_hours(void **state)
{
	struct fx *f = *state;
	int week;

	/* Monday 10:00 is working time. */
	read_file(f, "tanaka", 1, 1, "customers", 1, AT(H(10)), 10);
	assert_int_equal(count(f, "off-hours"), 0);
	/* Sunday 02:14 is not, and tanaka never read at that hour. */
	read_file(f, "tanaka", 2, 2, "customers", 1, AT(DAY(6) + H(2) + S(840)), 10);
	assert_int_equal(count(f, "off-hours"), 1);
	assert_contains(find(f, "off-hours")->reason, "read /srv/dms/customers/export.csv of dataset "
			"customers at Sun 02:14, outside working hours; this user read protected "
			"data within two hours of this time on 0 of the last 30 days (3 make it "
			"usual)");
	/* A night-shift habit: suzuki reads on Sunday nights every week. */
	for (week = 0; week < 3; week++)
		read_file(f, "suzuki", 10 + (uint32_t)week, 10 + (uint64_t)week, "customers", 1,
			  AT(DAY(6 + 7 * week) + H(2)), 10);
	/* Three weeks make a habit: each of them was still unusual. */
	assert_int_equal(count(f, "off-hours"), 4);
	f->n = 0;
	read_file(f, "suzuki", 20, 20, "customers", 1, AT(DAY(27) + H(3)), 10);
	assert_int_equal(count(f, "off-hours"), 0);
	/* Without [hours] the rule has nothing to compare with. */
	f->pol->have_hours = 0;
	read_file(f, "sato", 21, 21, "customers", 1, AT(DAY(27) + H(3)), 10);
	assert_int_equal(count(f, "off-hours"), 0);
}

static void test_new_source_after_learning(void **state)
{
	struct fx *f = *state;

	f->pol->learning_ns = DAY(14);
	session(f, PW_REC_SESSION_OPEN, "tanaka", 1, "203.0.113.7", AT(H(9)));
	session(f, PW_REC_SESSION_OPEN, "tanaka", 2, "2001:db8:1:2::5", AT(H(10)));
	assert_int_equal(count(f, "new-source"), 0); /* learning */
	session(f, PW_REC_SESSION_OPEN, "tanaka", 3, "203.0.113.99", AT(DAY(15)));
	session(f, PW_REC_SESSION_OPEN, "tanaka", 4, "2001:db8:1:2::77", AT(DAY(15)));
	session(f, PW_REC_SESSION_OPEN, "tanaka", 5, "", AT(DAY(15)));
	assert_int_equal(count(f, "new-source"), 0); /* known networks; a local login */
	session(f, PW_REC_SESSION_OPEN, "tanaka", 6, "198.51.100.9", AT(DAY(15) + H(1)));
	assert_int_equal(count(f, "new-source"), 1);
	assert_contains(find(f, "new-source")->reason,
			"tanaka (session 6 from 198.51.100.9): first sshd session of this user from "
			"198.51.100.9; neither this host nor its network was seen");
	assert_int_equal(find(f, "new-source")->audit_session, 6);
	assert_true(find(f, "new-source")->session_id == 106);
	/* Seen now: the next session from there is quiet; a new user is not. */
	session(f, PW_REC_SESSION_OPEN, "tanaka", 7, "198.51.100.10", AT(DAY(16)));
	session(f, PW_REC_SESSION_OPEN, "mallory", 8, "192.0.2.1", AT(DAY(16)));
	assert_int_equal(count(f, "new-source"), 2);
	assert_contains(f->alerts[1].reason, "no earlier remote session of this user was seen, and "
			"it is outside the trusted networks");
	/* A new hire's first login from the office network teaches the rule. */
	session(f, PW_REC_SESSION_OPEN, "newbie", 9, "10.20.1.17", AT(DAY(16)));
	session(f, PW_REC_SESSION_OPEN, "newbie", 10, "10.20.1.18", AT(DAY(17)));
	assert_int_equal(count(f, "new-source"), 2);
	session(f, PW_REC_SESSION_OPEN, "newbie", 11, "10.99.1.1", AT(DAY(17)));
	assert_int_equal(count(f, "new-source"), 3);
}

static void test_first_touch(void **state)
{
	struct fx *f = *state;

	f->pol->learning_ns = DAY(14);
	read_file(f, "tanaka", 1, 1, "customers", 1, AT(H(10)), 10);
	assert_int_equal(count(f, "first-touch"), 0);
	read_file(f, "tanaka", 2, 2, "customers", 1, AT(DAY(15) + H(10)), 10);
	assert_int_equal(count(f, "first-touch"), 0);
	read_file(f, "tanaka", 2, 3, "service", 2, AT(DAY(15) + H(11)), 10);
	assert_int_equal(count(f, "first-touch"), 1);
	assert_int_equal(find(f, "first-touch")->severity, PW_SEV_LOW);
	assert_contains(find(f, "first-touch")->reason, "read dataset service for the first time");
	/* Outside login sessions the rule does not apply. */
	read_file(f, "www-data", PW_NO_ID, 4, "service", 3, AT(DAY(15) + H(11)), 10);
	assert_int_equal(count(f, "first-touch"), 1);
}

static void test_staging(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(H(10));

	read_file(f, "tanaka", 1, 1, "customers", 1, t, 5000);
	a = acc("tanaka", 1, 2, "staging", 77, t, t + S(1), 0, true);
	a.staging = true;
	a.bytes_written = 100;
	a.path = (char *)"/tmp/.x";
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "staging"), 0); /* below min_bytes */
	a = acc("tanaka", 1, 3, "staging", 78, t, t + S(2), 0, false);
	a.staging = true;
	a.bytes_written = 1 * MIB;
	a.path = (char *)"/tmp/c.csv";
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "staging"), 1);
	assert_contains(find(f, "staging")->reason,
			"/usr/bin/cat (pid 4003) wrote 1.0 MiB to /tmp/c.csv, a file outside the "
			"protected data, after reading customers (4.9 KiB)");

	/* An archiver on protected data, in another session. */
	a = acc("sato", 2, 4, "customers", 5, t, t + S(3), 4096, false);
	a.exe = (char *)"/usr/bin/tar";
	snprintf(a.comm, sizeof(a.comm), "tar");
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "staging"), 2);
	assert_contains(nth(f, "staging", 1)->reason, "ran the archiver /usr/bin/tar (pid 4004)");

	/* An allowed program writing its own files is not staging. */
	a = acc("dms", PW_NO_ID, 6, "staging", 80, t, t + S(4), 0, true);
	a.staging = true;
	a.bytes_written = 10 * MIB;
	a.exe = (char *)"/usr/sbin/dms-server";
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "staging"), 2);
}

static void test_exfil_chain(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(H(10));

	read_file(f, "tanaka", 1, 1, "customers", 1, t, 5 * MIB);
	connect_to(f, 1, "10.1.2.3", t + S(30));    /* trusted */
	connect_to(f, 1, "127.0.0.53", t + S(31));  /* loopback */
	connect_to(f, 1, "::1", t + S(32));
	connect_to(f, 1, "::ffff:10.9.9.9", t + S(33));
	assert_int_equal(count(f, "exfil-chain"), 0);
	connect_to(f, 1, "198.51.100.9", t + S(35));
	assert_int_equal(count(f, "exfil-chain"), 1);
	assert_contains(find(f, "exfil-chain")->reason,
			"tanaka (session 1) read customers (5.0 MiB), the latest at 10:00:00, and "
			"then /usr/bin/curl (pid 777) connected to 198.51.100.9 port 443, outside "
			"the trusted networks");

	/* Too late: the window is ten minutes. */
	read_file(f, "sato", 2, 2, "customers", 1, t, 5 * MIB);
	connect_to(f, 2, "198.51.100.9", t + S(601));
	assert_int_equal(count(f, "exfil-chain"), 1);

	/* cat | curl: the connect comes while cat still reads; cat's record
	 * arrives after it. */
	connect_to(f, 3, "2001:db8::9", t + S(5));
	assert_int_equal(count(f, "exfil-chain"), 1);
	a = acc("suzuki", 3, 3, "customers", 1, t + S(1), t + S(9), 5 * MIB, true);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "exfil-chain"), 2);
	assert_contains(nth(f, "exfil-chain", 1)->reason,
			"tanaka (session 3) read customers (5.0 MiB) from 10:00:01, and /usr/bin/curl "
			"(pid 777) connected to 2001:db8::9 port 443 while reading");
	/* A read that began after the connect does not explain it. */
	connect_to(f, 4, "198.51.100.9", t + S(5));
	a = acc("kato", 4, 4, "customers", 1, t + S(6), t + S(9), 5 * MIB, true);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "exfil-chain"), 2);

	/* Datagrams sent to an address, by syscall or io_uring, after the
	 * read and while it goes on; a send to loopback is not. */
	read_file(f, "ito", 5, 5, "customers", 1, t, 5 * MIB);
	reach(f, 5, "sendto", "127.0.0.1", t + S(20));
	assert_int_equal(count(f, "exfil-chain"), 2);
	reach(f, 5, "sendto", "198.51.100.7", t + S(20));
	assert_int_equal(count(f, "exfil-chain"), 3);
	assert_contains(nth(f, "exfil-chain", 2)->reason,
			"and then /usr/bin/curl (pid 777) sent data to 198.51.100.7 port 443, outside "
			"the trusted networks");
	reach(f, 6, "io_uring_sendmsg", "198.51.100.7", t + S(5));
	a = acc("kato", 6, 6, "customers", 1, t + S(1), t + S(9), 5 * MIB, true);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "exfil-chain"), 4);
	assert_contains(nth(f, "exfil-chain", 3)->reason,
			"(pid 777) sent data to 198.51.100.7 port 443 while reading");
}

static void test_no_session(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(H(10));

	a = acc("dms", PW_NO_ID, 1, "customers", 1, t, t, 4096, true);
	a.exe = (char *)"/usr/sbin/dms-server";
	pw_detector_access(f->det, &a);
	read_file(f, "tanaka", 1, 2, "customers", 1, t, 4096);
	assert_int_equal(count(f, "no-session"), 0);
	a = acc("www-data", PW_NO_ID, 3, "customers", 1, t, t, 4096, true);
	a.exe = (char *)"/usr/bin/python3";
	a.pid = 812;
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "no-session"), 1);
	assert_int_equal(find(f, "no-session")->audit_session, PW_NO_ID);
	assert_true(find(f, "no-session")->session_id == 0);
	assert_contains(find(f, "no-session")->reason,
			"/usr/bin/python3 (pid 812, no login session, user www-data) read "
			"/srv/dms/customers/export.csv of dataset customers outside any login "
			"session, and /usr/bin/python3 is not an allowed program of that dataset");
	/* The same process again within [detector] repeat: quiet; after: again. */
	a.access_id = 4;
	a.last_ns = a.closed_ns = t + S(60);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "no-session"), 1);
	a.access_id = 5;
	a.last_ns = a.closed_ns = t + H(1) + S(1);
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "no-session"), 2);
}

static void test_privilege_change(void **state)
{
	struct fx *f = *state;
	struct pw_event_rec e;
	struct pw_access a;
	uint64_t t = AT(H(10));

	read_file(f, "tanaka", 1, 1, "customers", 1, t, 10);
	memset(&e, 0, sizeof(e));
	e.kind = "exec";
	e.action = "exec";
	e.audit_session = 1;
	e.user = "tanaka";
	e.exe = "/usr/bin/vim";
	e.ts_ns = t + S(10);
	pw_detector_event(f->det, BOOT, &e);
	read_file(f, "tanaka", 1, 2, "customers", 1, t + S(20), 10);
	assert_int_equal(count(f, "privilege-change"), 0);
	e.exe = "/usr/bin/sudo";
	e.ts_ns = t + S(30);
	pw_detector_event(f->det, BOOT, &e);
	a = acc("tanaka", 1, 3, "customers", 1, t + S(70), t + S(71), 10, true);
	a.uid = 0;
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "privilege-change"), 1);
	assert_contains(find(f, "privilege-change")->reason,
			"tanaka (session 1) ran /usr/bin/sudo at 10:00:30 and 40 s later "
			"/usr/bin/cat (pid 4003, uid 0) read /srv/dms/customers/export.csv of "
			"dataset customers");
	/* su in another session, the read two hours later: outside the window. */
	e.exe = "/usr/bin/su";
	e.audit_session = 2;
	e.ts_ns = t;
	pw_detector_event(f->det, BOOT, &e);
	read_file(f, "sato", 2, 4, "customers", 1, t + H(2), 10);
	assert_int_equal(count(f, "privilege-change"), 1);
}

static void change(struct fx *f, uint32_t ses, const char *action, const char *path,
		   int64_t result, uint64_t t)
{
	struct pw_event_rec e;

	memset(&e, 0, sizeof(e));
	e.kind = "change";
	e.action = action;
	e.ts_ns = t;
	e.audit_session = ses;
	e.user = "tanaka";
	e.exe = "/usr/bin/rm";
	e.dataset = "customers";
	e.path = path;
	e.result = result;
	pw_detector_event(f->det, BOOT, &e);
}

static void test_destruction(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	char path[64];
	uint64_t i, t = AT(H(10));

	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/srv/dms/customers/c%llu.csv", (unsigned long long)i);
		/* A hole punched through a file destroys it as an unlink does. */
		change(f, 1, i % 2 ? "punch-hole" : "unlink", path, 0, t + S(i));
		change(f, 1, "chmod", path, 0, t + S(i));
		change(f, 1, "fallocate", path, -95, t + S(i)); /* refused */
		change(f, 1, "unlink", path, -13, t + S(i)); /* refused: nothing destroyed */
	}
	assert_int_equal(count(f, "destruction"), 0);
	/* The 21st file within the minute: an overwrite through open(O_TRUNC). */
	a = acc("tanaka", 1, 1, "customers", 99, t + S(30), t + S(30), 0, false);
	a.open_flags = O_WRONLY | O_TRUNC;
	pw_detector_access(f->det, &a);
	assert_int_equal(count(f, "destruction"), 1);
	assert_contains(find(f, "destruction")->reason,
			"removed, renamed or overwrote 21 protected files within 60 s (limit 20); "
			"the latest: truncated /srv/dms/customers/export.csv");
	/* Spread over an hour it is housekeeping. */
	for (i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "/srv/dms/customers/d%llu.csv", (unsigned long long)i);
		change(f, 2, "rename", path, 0, t + S(i * 120));
	}
	assert_int_equal(count(f, "destruction"), 1);
}

static void test_blind_spot(void **state)
{
	struct fx *f = *state;
	struct pw_event_rec e;
	uint64_t t = AT(H(10));

	memset(&e, 0, sizeof(e));
	e.kind = "loss";
	e.action = "ring-full";
	e.count = 1234;
	e.ts_ns = t;
	e.audit_session = PW_NO_ID;
	e.loginuid = PW_NO_ID;
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "blind-spot"), 1);
	assert_contains(find(f, "blind-spot")->reason,
			"1234 kernel events were lost (ring buffer full)");
	assert_string_equal(find(f, "blind-spot")->user, "");
	assert_int_equal(find(f, "blind-spot")->audit_session, PW_NO_ID);
	e.ts_ns = t + S(600);
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "blind-spot"), 1); /* within [detector] repeat */
	e.action = "unwatched";
	e.count = 7200;
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "blind-spot"), 2);
	assert_contains(nth(f, "blind-spot", 1)->reason,
			"piiwatchd started without its probes attached; its last record was 2 h "
			"earlier");
	/* A stop that detaches is recorded; the next start alerts. */
	e.action = "detached";
	e.count = 0;
	e.ts_ns = t + S(700);
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "blind-spot"), 2);
	e.action = "ring-full";
	e.ts_ns = t + H(1) + S(1);
	pw_detector_event(f->det, BOOT, &e);
	assert_int_equal(count(f, "blind-spot"), 3);
	/* io_uring after protected reads hides what it opens. */
	read_file(f, "tanaka", 1, 1, "customers", 1, t, 10);
	event(f, "io_uring", "submit", 1, 55, t + S(2));
	assert_int_equal(count(f, "blind-spot"), 4);
	assert_contains(nth(f, "blind-spot", 3)->reason,
			"x (pid 55) used io_uring after reading protected data");
	/* So does a core dump: the kernel writes a copy of what was read. */
	read_file(f, "tanaka", 2, 2, "customers", 1, t + S(10), 10);
	event(f, "coredump", "dump", 2, 56, t + S(12));
	assert_int_equal(count(f, "blind-spot"), 5);
	assert_contains(nth(f, "blind-spot", 4)->reason,
			"x (pid 56) dumped core (signal 0) after reading protected data");
}

/* Alerts are raised once per session and rule; a session's alerts add up
 * to one risk score: 100 * (1 - (1 - 0.8)(1 - 0.5)(1 - 0.25)). */
static void test_dedup_and_score(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(DAY(6) + H(2)); /* Sunday 02:00 */

	f->pol->rules[PW_RULE_NEW_SOURCE].enabled = 0;
	f->pol->rules[PW_RULE_FIRST_TOUCH].enabled = 0;
	session(f, PW_REC_SESSION_OPEN, "tanaka", 17, "203.0.113.7", t - S(60));
	a = acc("tanaka", 17, 1, "honeytoken", 1, t, t, 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	assert_int_equal(f->n, 1);
	assert_true(f->alerts[0].score == 80.0);
	read_file(f, "tanaka", 17, 2, "customers", 2, t + S(10), 412 * MIB);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->alerts[1].rule_id, "bulk-read");
	assert_true(f->alerts[1].score == 90.0);
	assert_string_equal(f->alerts[2].rule_id, "off-hours");
	assert_true(f->alerts[2].score == 92.5);
	assert_true(pw_detector_session_risk(f->det, BOOT, 17) == 92.5);
	assert_contains(f->alerts[1].reason, "tanaka (session 17 from 203.0.113.7) read 412.0 MiB");
	/* More of everything in the same session: nothing new. */
	a.access_id = 3;
	pw_detector_access(f->det, &a);
	read_file(f, "tanaka", 17, 4, "customers", 3, t + S(20), 412 * MIB);
	assert_int_equal(f->n, 3);
	/* After the session: a new one alerts again, its own score. */
	session(f, PW_REC_SESSION_CLOSE, "tanaka", 17, "203.0.113.7", t + S(30));
	a.audit_session = 18;
	a.access_id = 5;
	pw_detector_access(f->det, &a);
	assert_int_equal(f->n, 4);
	assert_true(f->alerts[3].score == 80.0);
	assert_true(pw_detector_session_risk(f->det, BOOT, 99) == 0);
}

static void test_quarantine_action(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	uint64_t t = AT(H(10));

	f->pol->rules[PW_RULE_HONEYTOKEN].action = PW_ACTION_QUARANTINE;
	a = acc("tanaka", 1, 1, "honeytoken", 1, t, t, 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	a = acc("root", 2, 2, "honeytoken", 1, t, t, 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	a = acc("www-data", PW_NO_ID, 3, "honeytoken", 1, t, t, 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	f->pol->rules[PW_RULE_HONEYTOKEN].action = PW_ACTION_ALERT;
	a = acc("sato", 4, 4, "honeytoken", 1, t, t, 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	assert_int_equal(f->n, 4);
	assert_true(f->quarantine[0]);
	assert_false(f->quarantine[1]); /* never root: nobody could log in to release it */
	assert_false(f->quarantine[2]); /* no login user to refuse */
	assert_false(f->quarantine[3]);
}

struct rows {
	char *items[256];
	size_t n;
};

static int collect(void *ctx, const char *kind, const char *principal, const char *dataset,
		   const char *json)
{
	struct rows *r = ctx;
	char buf[65536];

	assert_true(r->n < 256);
	snprintf(buf, sizeof(buf), "%s|%s|%s|%s", kind, principal, dataset, json ? json : "DELETE");
	r->items[r->n++] = strdup(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->items[i]);
	r->n = 0;
}

static void load_rows(struct pw_detector *d, const struct rows *r)
{
	char err[256];
	size_t i;

	for (i = 0; i < r->n; i++) {
		char *copy = strdup(r->items[i]), *kind, *principal, *dataset, *json, *save = NULL;

		kind = strtok_r(copy, "|", &save);
		principal = strtok_r(NULL, "|", &save);
		dataset = strtok_r(NULL, "|", &save);
		json = strtok_r(NULL, "", &save);
		/* strtok_r skips empty fields: rebuild them. */
		if (strcmp(kind, "detector") == 0) {
			json = principal;
			principal = dataset = (char *)"";
		} else if (strcmp(kind, "principal") == 0) {
			json = dataset;
			dataset = (char *)"";
		}
		if (pw_detector_load(d, kind, principal, dataset, json, err, sizeof(err)))
			fail_msg("cannot load %s: %s", r->items[i], err);
		free(copy);
	}
}

/* What a detector learned survives a save and a load into another one: the
 * loaded one judges the next day as the first would have. */
static void test_baselines_persist(void **state)
{
	struct fx *f = *state;
	struct rows saved = { 0 }, again = { 0 }, dirty = { 0 };
	struct pw_detector *d2;
	struct pw_access a;
	size_t i, n_first;
	uint64_t t = AT(DAY(10) + H(10));
	char err[128];

	f->pol->learning_ns = DAY(5);
	learn_days(f, "tanaka", "customers", 2 * MIB, 100);
	session(f, PW_REC_SESSION_OPEN, "tanaka", 50, "203.0.113.7", AT(H(9)));
	a = acc("tanaka", 60, 900, "customers", 1, t - S(5), t - S(5), 1 * MIB, false);
	pw_detector_access(f->det, &a); /* still open at the save */
	assert_int_equal(pw_detector_save(f->det, true, collect, &saved), 0);
	qsort(saved.items, saved.n, sizeof(char *), cmp_str);
	assert_true(saved.n >= 5);
	assert_contains(saved.items[0], "detector|||{\"first_ns\":");
	/* Nothing changed: nothing to save. */
	assert_int_equal(pw_detector_save(f->det, false, collect, &dirty), 0);
	assert_int_equal(dirty.n, 0);

	d2 = pw_detector_new(f->pol, on_alert, f);
	load_rows(d2, &saved);
	assert_int_equal(pw_detector_save(d2, true, collect, &again), 0);
	qsort(again.items, again.n, sizeof(char *), cmp_str);
	assert_int_equal(again.n, saved.n);
	for (i = 0; i < saved.n; i++)
		assert_string_equal(again.items[i], saved.items[i]);

	/* The restored detector: the still-open access's first MiB was
	 * counted, a known source and dataset are quiet, and 412 MiB is far
	 * above tanaka's baseline. */
	n_first = f->n;
	a = acc("tanaka", 60, 900, "customers", 1, t - S(5), t, 2 * MIB, true);
	pw_detector_access(d2, &a);
	session(f, PW_REC_SESSION_OPEN, "tanaka", 61, "203.0.113.8", t);
	read_file(f, "tanaka", 61, 901, "customers", 2, t, 412 * MIB);
	assert_int_equal(f->n, n_first + 1);
	pw_detector_free(d2);

	d2 = pw_detector_new(f->pol, on_alert, f);
	load_rows(d2, &saved);
	n_first = f->n;
	{
		struct pw_session_record r;

		memset(&r, 0, sizeof(r));
		r.type = PW_REC_SESSION_OPEN;
		snprintf(r.user, sizeof(r.user), "tanaka");
		snprintf(r.service, sizeof(r.service), "sshd");
		snprintf(r.rhost, sizeof(r.rhost), "203.0.113.8");
		snprintf(r.boot_id, sizeof(r.boot_id), BOOT);
		r.sessionid = 61;
		r.time_ns = t;
		pw_detector_session(d2, &r, 161);
	}
	a = acc("tanaka", 61, 901, "customers", 2, t, t, 412 * MIB, true);
	pw_detector_access(d2, &a);
	assert_int_equal(f->n, n_first + 1);
	assert_string_equal(f->alerts[n_first].rule_id, "bulk-read");
	assert_contains(f->alerts[n_first].reason, "this user's median over 10 active days");
	/* Baselines not used for longer than the window are deleted. */
	a = acc("sato", 70, 902, "service", 3, t + DAY(40), t + DAY(40), 10, true);
	pw_detector_access(d2, &a);
	rows_free(&dirty);
	assert_int_equal(pw_detector_save(d2, false, collect, &dirty), 0);
	for (i = 0; i < dirty.n; i++)
		if (strstr(dirty.items[i], "volume|user:tanaka|customers|DELETE"))
			break;
	assert_true(i < dirty.n);
	pw_detector_free(d2);

	/* Rows it cannot read are refused with a reason. */
	d2 = pw_detector_new(f->pol, on_alert, f);
	assert_int_equal(pw_detector_load(d2, "volume", "user:x", "c", "{\"days\":[]}", err,
					  sizeof(err)), -1);
	assert_contains(err, "last_ns");
	assert_int_equal(pw_detector_load(d2, "volume", "user:x", "c",
					  "{\"last_ns\":1,\"days\":[[1,-2,3]]}", err, sizeof(err)), -1);
	assert_int_equal(pw_detector_load(d2, "principal", "user:x", "", "[1]", err, sizeof(err)),
			 -1);
	assert_int_equal(pw_detector_load(d2, "open", "b", "12x", "{}", err, sizeof(err)), -1);
	assert_int_equal(pw_detector_load(d2, "weather", "", "", "{}", err, sizeof(err)), -1);
	assert_int_equal(pw_detector_load(d2, "principal", "user:x", "",
					  "{\"last_ns\":5,\"hours\":[1,2],\"sources\":[{\"host\":"
					  "\"h\",\"net\":\"n\",\"last_ns\":5}]}",
					  err, sizeof(err)), 0);
	pw_detector_free(d2);
	rows_free(&saved);
	rows_free(&again);
	rows_free(&dirty);
}

/* rows has a row saying kind/principal/dataset is to be deleted. */
static bool has_delete(const struct rows *r, const char *kind, const char *principal,
		       const char *dataset)
{
	char want[512];
	size_t i;

	snprintf(want, sizeof(want), "%s|%s|%s|DELETE", kind, principal, dataset);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->items[i], want) == 0)
			return true;
	return false;
}

/* What the detector follows is forgotten when idle, with time taken from
 * the records and looked at once a minute of it: a closed session an hour
 * after its last record, an open one after a day, an access's counts
 * after a week, a principal's baselines after baseline_days; not sooner. */
static void test_gc_forgets_idle_state(void **state)
{
	struct fx *f = *state;
	struct rows rows = { 0 };
	struct pw_access a;
	uint64_t t = AT(H(10));

	f->pol->rules[PW_RULE_NEW_SOURCE].enabled = 0;
	f->pol->rules[PW_RULE_FIRST_TOUCH].enabled = 0;
	session(f, PW_REC_SESSION_OPEN, "tanaka", 17, "203.0.113.7", t);
	session(f, PW_REC_SESSION_OPEN, "suzuki", 18, "203.0.113.8", t);
	a = acc("tanaka", 17, 1, "honeytoken", 1, t + S(1), t + S(1), 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	a = acc("suzuki", 18, 2, "honeytoken", 1, t + S(2), t + S(2), 89, true);
	a.honeytoken = true;
	pw_detector_access(f->det, &a);
	session(f, PW_REC_SESSION_CLOSE, "tanaka", 17, "203.0.113.7", t + S(3));
	/* An access still open, and what its user read, saved once. */
	a = acc("sato", 19, 50, "customers", 9, t + S(4), t + S(4), 10 * MIB, false);
	pw_detector_access(f->det, &a);
	assert_int_equal(pw_detector_save(f->det, true, collect, &rows), 0);
	rows_free(&rows);
	assert_true(pw_detector_session_risk(f->det, BOOT, 17) == 80.0);
	assert_true(pw_detector_session_risk(f->det, BOOT, 18) == 80.0);

	/* Other records move the clock on: an exec in session 20. */
	event(f, "exec", "exec", 20, 1, t + S(2) + H(1));
	assert_true(pw_detector_session_risk(f->det, BOOT, 17) == 80.0);
	event(f, "exec", "exec", 20, 1, t + S(4) + H(1) + S(60));
	assert_true(pw_detector_session_risk(f->det, BOOT, 17) == 0);
	assert_true(pw_detector_session_risk(f->det, BOOT, 18) == 80.0);

	event(f, "exec", "exec", 20, 1, t + S(1) + DAY(1));
	assert_true(pw_detector_session_risk(f->det, BOOT, 18) == 80.0);
	event(f, "exec", "exec", 20, 1, t + S(3) + DAY(1) + S(60));
	assert_true(pw_detector_session_risk(f->det, BOOT, 18) == 0);

	event(f, "exec", "exec", 20, 1, t + S(3) + DAY(7));
	assert_int_equal(pw_detector_save(f->det, false, collect, &rows), 0);
	assert_false(has_delete(&rows, "open", BOOT, "50"));
	rows_free(&rows);
	event(f, "exec", "exec", 20, 1, t + S(5) + DAY(7) + S(60));
	assert_int_equal(pw_detector_save(f->det, false, collect, &rows), 0);
	assert_true(has_delete(&rows, "open", BOOT, "50"));
	assert_false(has_delete(&rows, "volume", "user:sato", "customers"));
	assert_false(has_delete(&rows, "principal", "user:sato", ""));
	rows_free(&rows);

	event(f, "exec", "exec", 20, 1, t + S(3) + DAY(30));
	assert_int_equal(pw_detector_save(f->det, false, collect, &rows), 0);
	assert_false(has_delete(&rows, "volume", "user:sato", "customers"));
	rows_free(&rows);
	event(f, "exec", "exec", 20, 1, t + S(5) + DAY(30) + S(60));
	assert_int_equal(pw_detector_save(f->det, false, collect, &rows), 0);
	assert_true(has_delete(&rows, "volume", "user:sato", "customers"));
	assert_true(has_delete(&rows, "principal", "user:sato", ""));
	rows_free(&rows);
}

/* The same records give the same alerts: what replay relies on. */
static void test_deterministic(void **state)
{
	struct fx *f = *state;
	struct pw_alert first[64];
	size_t n = 0, round, i;

	for (round = 0; round < 2; round++) {
		pw_detector_free(f->det);
		f->det = pw_detector_new(f->pol, on_alert, f);
		f->n = 0;
		learn_days(f, "tanaka", "customers", 2 * MIB, 100);
		session(f, PW_REC_SESSION_OPEN, "tanaka", 17, "198.51.100.9", AT(DAY(13) + H(2)));
		read_file(f, "tanaka", 17, 1, "customers", 1, AT(DAY(13) + H(2)), 300 * MIB);
		connect_to(f, 17, "198.51.100.9", AT(DAY(13) + H(2) + S(3)));
		if (round == 0) {
			memcpy(first, f->alerts, sizeof(first));
			n = f->n;
		}
	}
	assert_int_equal(f->n, n);
	assert_true(n >= 3);
	for (i = 0; i < n; i++)
		assert_memory_equal(&first[i], &f->alerts[i], sizeof(first[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_honeytoken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_read_counts_progress_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_read_against_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_read_slow_drip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_read_window_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumeration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_source_after_learning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_touch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exfil_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privilege_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destruction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_spot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_score, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baselines_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_forgets_idle_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
	};

	/* Working hours and days are local time: pin it. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests_name("detector", tests, NULL, NULL);
}
