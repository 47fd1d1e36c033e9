// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session_record.h"

static void fill(struct pw_session_record *r)
{
	memset(r, 0, sizeof(*r));
	r->type = PW_REC_SESSION_OPEN;
	snprintf(r->id, sizeof(r->id), "00001795578909552106-4242-deadbeef");
	snprintf(r->user, sizeof(r->user), "tanaka");
	snprintf(r->service, sizeof(r->service), "sshd");
	snprintf(r->rhost, sizeof(r->rhost), "203.0.113.7");
	snprintf(r->tty, sizeof(r->tty), "ssh");
	r->uid = 1001;
	r->pid = 4242;
	r->loginuid = 1001;
	r->sessionid = 17;
	snprintf(r->boot_id, sizeof(r->boot_id), "cd96f4e1-e314-4c16-ada5-0b1c2f89ad47");
	r->time_ns = 1795578909552106404ULL;
	r->mono_ns = 2940082425601ULL;
}

static int decode(const char *text, struct pw_session_record *r, char *err)
{
	return pw_record_from_json(text, strlen(text), r, err, 256);
}

static void test_roundtrip(void **state)
{
	struct pw_session_record in, out;
	char err[256];
	char *j;

	fill(&in);
	j = pw_record_to_json(&in);
	assert_non_null(j);
	assert_int_equal(decode(j, &out, err), 0);
	assert_int_equal(out.type, PW_REC_SESSION_OPEN);
	assert_string_equal(out.id, in.id);
	assert_string_equal(out.user, "tanaka");
	assert_string_equal(out.rhost, "203.0.113.7");
	assert_string_equal(out.ruser, "");
	assert_true(out.uid == 1001);
	assert_int_equal(out.sessionid, 17);
	assert_true(out.time_ns == in.time_ns);
	free(j);

	in.type = PW_REC_SESSION_CLOSE;
	in.uid = -1;
	in.loginuid = PW_NO_ID;
	in.sessionid = PW_NO_ID;
	j = pw_record_to_json(&in);
	assert_int_equal(decode(j, &out, err), 0);
	assert_int_equal(out.type, PW_REC_SESSION_CLOSE);
	assert_true(out.uid == -1);
	assert_int_equal(out.sessionid, PW_NO_ID);
	free(j);
}

static void expect_error(const char *text, const char *needle)
{
	struct pw_session_record r;
	char err[256] = "";

	assert_int_equal(decode(text, &r, err), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s' for %s", err, needle, text);
}

#define GOOD_TAIL "\"service\":\"sshd\",\"boot_id\":\"b\",\"uid\":1,\"pid\":2,\"loginuid\":3," \
		  "\"sessionid\":4,\"altered\":0,\"time_ns\":5,\"mono_ns\":6}"

static void test_hostile_records(void **state)
{
	expect_error("", "not one JSON object");
	expect_error("[1,2]", "expected a JSON object");
	expect_error("{\"v\":1} trailing", "not one JSON object");
	expect_error("{\"v\":2,\"type\":\"session_open\"}", "version");
	expect_error("{\"v\":1,\"type\":\"reboot\"}", "unknown record type");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"../../etc\",\"user\":\"u\"," GOOD_TAIL,
		     "field 'id'");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\"," GOOD_TAIL, "'user' is missing");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":7," GOOD_TAIL,
		     "'user' must be a string");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"a\\nb\"," GOOD_TAIL,
		     "control characters");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"a\\u0000b\"," GOOD_TAIL,
		     "control characters");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"\xff\"," GOOD_TAIL,
		     "not one JSON object");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"u\",\"service\":\"s\","
		     "\"boot_id\":\"b\",\"uid\":1,\"pid\":-2,\"loginuid\":3,\"sessionid\":4,"
		     "\"altered\":0,\"time_ns\":5,\"mono_ns\":6}",
		     "'pid' is out of range");
	expect_error("{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"u\",\"service\":\"s\","
		     "\"boot_id\":\"b\",\"uid\":1,\"pid\":2,\"loginuid\":4294967296,\"sessionid\":4,"
		     "\"altered\":0,\"time_ns\":5,\"mono_ns\":6}",
		     "'loginuid' is out of range");
	expect_error("{\"v\":1,\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", "not one JSON object");
}

static void test_long_values_rejected(void **state)
{
	size_t n = PW_ITEM_MAX + 10;
	char *text = malloc(n + 512);
	char *user = malloc(n + 1);

	memset(user, 'x', n);
	user[n] = '\0';
	snprintf(text, n + 512, "{\"v\":1,\"type\":\"session_open\",\"id\":\"1-2\",\"user\":\"%s\"," GOOD_TAIL,
		 user);
	expect_error(text, "longer than");
	free(text);
	free(user);
}

static void test_replies(void **state)
{
	bool ok = false;
	int q = 7;
	char *j = pw_reply_to_json(true, NULL, 1);

	assert_int_equal(pw_reply_from_json(j, strlen(j), &ok, &q), 0);
	assert_true(ok);
	assert_int_equal(q, 1);
	free(j);
	j = pw_reply_to_json(false, "only root", -1);
	assert_int_equal(pw_reply_from_json(j, strlen(j), &ok, &q), 0);
	assert_false(ok);
	assert_int_equal(q, -1);
	free(j);
	assert_int_equal(pw_reply_from_json("{\"ok\":1}", 8, &ok, &q), -1);
	assert_int_equal(pw_reply_from_json("garbage", 7, &ok, &q), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hostile_records),
		cmocka_unit_test(test_long_values_rejected),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests_name("session_record", tests, NULL, NULL);
}
