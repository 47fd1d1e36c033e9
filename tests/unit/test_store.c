// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"

#define BOOT "11111111-2222-3333-4444-555555555555"
#define DAY (86400ULL * 1000000000ULL)

struct fixture {
	char dir[64];
	char path[128];
	struct pw_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/pw-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	if (!f->s)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	pw_store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void add_access(struct pw_store *s, uint64_t id, uint64_t when)
{
	struct pw_access a = { 0 };

	snprintf(a.boot_id, sizeof(a.boot_id), "%s", BOOT);
	a.access_id = id;
	a.audit_session = 7;
	a.loginuid = 1000;
	a.path = "/srv/dms/customers/a.csv";
	a.dataset = "customers";
	a.user = "tanaka";
	a.opened_ns = when;
	assert_int_equal(pw_store_access_open(s, &a), 0);
	assert_int_equal(pw_store_access_io(s, BOOT, id, 100, 0, 1, 0, when, 0, true), 0);
}

static void test_file_is_private(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_uid, 0);
}

static void test_access_counts_add_up(void **state)
{
	struct fixture *f = *state;
	struct pw_access a;

	add_access(f->s, 42, 1000);
	/* A repeated open (a replayed ring record) is ignored. */
	add_access(f->s, 42, 1000);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 42, &a), 1);
	assert_true(a.bytes_read == 200);
	assert_string_equal(a.path, "/srv/dms/customers/a.csv");
	assert_true(a.closed_ns == 1000);
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 43, &a), 0);
	assert_int_equal(pw_store_count(f->s, "accesses"), 1);
}

/* A record of tanaka's ssh login from 203.0.113.7 (audit session 7, pid 9). */
static void ssh_record(struct pw_session_record *r, enum pw_record_type type, const char *id,
		       uint64_t time_ns)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->uid = 1000;
	r->pid = 9;
	r->loginuid = 1000;
	r->sessionid = 7;
	r->time_ns = time_ns;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->user, sizeof(r->user), "tanaka");
	snprintf(r->service, sizeof(r->service), "sshd");
	snprintf(r->rhost, sizeof(r->rhost), "203.0.113.7");
	snprintf(r->boot_id, sizeof(r->boot_id), "%s", BOOT);
}

static void test_session_records_once_and_joined(void **state)
{
	struct fixture *f = *state;
	struct pw_session_record r;
	int64_t id = 0, again = 0, closed = 0;
	struct pw_access a;

	ssh_record(&r, PW_REC_SESSION_OPEN, "1-2-3", 5);
	add_access(f->s, 1, 10); /* read before the session record arrived */
	assert_int_equal(pw_store_session_record(f->s, &r, &id), 0);
	assert_true(id > 0);
	assert_int_equal(pw_store_session_record(f->s, &r, &again), 0);
	assert_true(again == id);
	assert_int_equal(pw_store_join_session(f->s, BOOT, 7, id), 0);
	ssh_record(&r, PW_REC_SESSION_CLOSE, "1-2-4", 50);
	assert_int_equal(pw_store_session_record(f->s, &r, &closed), 0);
	assert_true(closed == id);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "sessions"), 1);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 1, &a), 1);
	assert_true(a.session_id == id);
	assert_string_equal(a.rhost, "203.0.113.7");
	pw_access_free_strings(&a);
}

/* The open record waited in the spool while the close was delivered: the
 * close keeps a row of its own, and the open fills it in. */
static void test_session_close_before_open(void **state)
{
	struct fixture *f = *state;
	struct pw_session_record r;
	int64_t closed = 0, opened = 0, again = 0;
	struct pw_access a;
	sqlite3 *db;
	sqlite3_stmt *q;

	ssh_record(&r, PW_REC_SESSION_CLOSE, "1-2-4", 50);
	add_access(f->s, 1, 10);
	assert_int_equal(pw_store_session_record(f->s, &r, &closed), 0);
	assert_true(closed > 0);
	ssh_record(&r, PW_REC_SESSION_OPEN, "1-2-3", 5);
	assert_int_equal(pw_store_session_record(f->s, &r, &opened), 0);
	assert_true(opened == closed);
	assert_int_equal(pw_store_join_session(f->s, BOOT, 7, opened), 0);
	assert_int_equal(pw_store_session_record(f->s, &r, &again), 0);
	assert_true(again == opened);
	ssh_record(&r, PW_REC_SESSION_CLOSE, "1-2-4", 50);
	assert_int_equal(pw_store_session_record(f->s, &r, &again), 0);
	assert_true(again == opened);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "sessions"), 1);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 1, &a), 1);
	assert_true(a.session_id == opened);
	assert_string_equal(a.rhost, "203.0.113.7");
	pw_access_free_strings(&a);

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT opened_ns, closed_ns, open_record, "
					    "close_record FROM sessions", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), 5);
	assert_int_equal(sqlite3_column_int64(q, 1), 50);
	assert_string_equal((const char *)sqlite3_column_text(q, 2), "1-2-3");
	assert_string_equal((const char *)sqlite3_column_text(q, 3), "1-2-4");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Without pam_loginuid there is no audit session id: the process id pairs
 * a close that came first with its open, and another process's open gets
 * a row of its own. */
static void test_session_close_before_open_by_pid(void **state)
{
	struct fixture *f = *state;
	struct pw_session_record r;
	int64_t closed = 0, other = 0, opened = 0;

	ssh_record(&r, PW_REC_SESSION_CLOSE, "1-9-2", 50);
	r.loginuid = r.sessionid = PW_NO_ID;
	assert_int_equal(pw_store_session_record(f->s, &r, &closed), 0);
	ssh_record(&r, PW_REC_SESSION_OPEN, "1-10-1", 5);
	r.loginuid = r.sessionid = PW_NO_ID;
	r.pid = 10;
	assert_int_equal(pw_store_session_record(f->s, &r, &other), 0);
	assert_true(other != closed);
	ssh_record(&r, PW_REC_SESSION_OPEN, "1-9-1", 5);
	r.loginuid = r.sessionid = PW_NO_ID;
	assert_int_equal(pw_store_session_record(f->s, &r, &opened), 0);
	assert_true(opened == closed);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "sessions"), 2);
}

static void test_ring_position_commits_with_batch(void **state)
{
	struct fixture *f = *state;
	uint64_t pos = 0;

	assert_int_equal(pw_store_ring_pos(f->s, BOOT, 9, &pos), 0);
	assert_int_equal(pw_store_set_ring_pos(f->s, BOOT, 9, 4096), 0);
	pw_store_rollback(f->s);
	assert_int_equal(pw_store_ring_pos(f->s, BOOT, 9, &pos), 0);
	assert_int_equal(pw_store_set_ring_pos(f->s, BOOT, 9, 8192), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_ring_pos(f->s, BOOT, 9, &pos), 1);
	assert_true(pos == 8192);
}

static void test_retention_by_age(void **state)
{
	struct fixture *f = *state;
	uint64_t now = 400 * DAY;
	uint64_t i;

	for (i = 0; i < 10; i++)
		add_access(f->s, 100 + i, now - i * DAY * 10);
	assert_int_equal(pw_store_flush(f->s), 0);
	/* 30 days: the rows 0, 10, 20 and 30 days old stay. */
	assert_true(pw_store_prune(f->s, now, 30 * DAY, 0) == 6);
	assert_int_equal(pw_store_count(f->s, "accesses"), 4);
	assert_true(pw_store_prune(f->s, now, 30 * DAY, 0) == 0);
}

static void test_retention_by_size(void **state)
{
	struct fixture *f = *state;
	uint64_t i;

	for (i = 0; i < 20000; i++)
		add_access(f->s, 1000 + i, DAY + i);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_true(pw_store_prune(f->s, 2 * DAY, 0, 256 * 1024) > 0);
	assert_true(pw_store_count(f->s, "accesses") < 20000);
	assert_true(pw_store_count(f->s, "accesses") > 0);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	char err[256], sql[256];
	sqlite3 *db;

	assert_null(pw_store_open("/nonexistent/piiwatch/store.db", true, err, sizeof(err)));
	assert_non_null(strstr(err, "no store at"));
	pw_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", PW_STORE_SCHEMA_VERSION + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(pw_store_open(f->path, true, err, sizeof(err)));
	assert_non_null(strstr(err, "newer than this piiwatch"));
	/* The daemon refuses it too rather than write into it. */
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_null(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_counts_add_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_records_once_and_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_close_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_close_before_open_by_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_position_commits_with_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
