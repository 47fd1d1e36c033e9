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

/*
 * Accesses inserted many to a statement land as one at a time would, each
 * column in its place; a row the database refuses is named in failed[]
 * and costs no other row its place, in a group of 16 and after it.
 */
#define MANY 40
static void test_access_open_many(void **state)
{
	struct fixture *f = *state;
	static char paths[MANY][64];
	struct pw_access a[MANY], got;
	const struct pw_access *rows[MANY];
	bool failed[MANY];
	sqlite3 *db;
	int i;

	add_access(f->s, 5, 1000); /* stored before: its row stays as it is */
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON accesses "
				      "WHEN NEW.path = '/refused' BEGIN SELECT RAISE(ABORT, 'no'); END",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (i = 0; i < MANY; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		snprintf(a[i].boot_id, sizeof(a[i].boot_id), "%s", BOOT);
		a[i].access_id = i == 20 ? 5 : 100 + (uint64_t)i;
		a[i].session_id = i % 2 ? 3 : 0;
		a[i].audit_session = i % 3 ? 7 : PW_NO_ID;
		a[i].loginuid = 1000 + (uint32_t)i;
		a[i].uid = 2000 + (uint32_t)i;
		a[i].pid = 3000 + (uint32_t)i;
		a[i].ppid = 4000 + (uint32_t)i;
		a[i].open_flags = (uint32_t)i;
		snprintf(a[i].comm, sizeof(a[i].comm), "c%d", i);
		a[i].user = "tanaka";
		a[i].euser = i % 2 ? "root" : NULL;
		a[i].exe = "/usr/bin/cat";
		a[i].args = "cat x";
		a[i].dataset = "customers";
		snprintf(paths[i], sizeof(paths[i]), "/srv/dms/customers/%d.csv", i);
		a[i].path = i == 3 || i == 37 ? "/refused" : paths[i];
		a[i].dev = 8;
		a[i].ino = 500 + (uint64_t)i;
		a[i].honeytoken = i == 9;
		a[i].staging = i == 10;
		a[i].flags = (uint32_t)i * 2;
		a[i].opened_ns = 10000 + (uint64_t)i;
		a[i].last_ns = 20000 + (uint64_t)i;
		a[i].closed_ns = i % 4 ? 30000 + (uint64_t)i : 0;
		a[i].bytes_read = 40000 + (uint64_t)i;
		a[i].bytes_written = 50000 + (uint64_t)i;
		a[i].reads = 60 + (uint64_t)i;
		a[i].writes = 70 + (uint64_t)i;
		rows[i] = &a[i];
	}
	assert_int_equal(pw_store_access_open_many(f->s, rows, MANY, failed), 2);
	for (i = 0; i < MANY; i++)
		assert_int_equal(failed[i], i == 3 || i == 37);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "accesses"), 1 + MANY - 3);
	for (i = 0; i < MANY; i++) {
		if (i == 3 || i == 37 || i == 20) {
			assert_int_equal(pw_store_access_load(f->s, BOOT, a[i].access_id, &got),
					 i == 20);
			if (i == 20) {
				assert_string_equal(got.path, "/srv/dms/customers/a.csv");
				pw_access_free_strings(&got);
			}
			continue;
		}
		assert_int_equal(pw_store_access_load(f->s, BOOT, a[i].access_id, &got), 1);
		assert_true(got.session_id == a[i].session_id);
		assert_true(got.audit_session == a[i].audit_session);
		assert_true(got.loginuid == a[i].loginuid && got.uid == a[i].uid);
		assert_true(got.pid == a[i].pid && got.ppid == a[i].ppid);
		assert_true(got.open_flags == a[i].open_flags);
		assert_string_equal(got.comm, a[i].comm);
		assert_string_equal(got.exe, "/usr/bin/cat");
		assert_string_equal(got.path, paths[i]);
		if (a[i].euser)
			assert_string_equal(got.euser, a[i].euser);
		else
			assert_null(got.euser);
		assert_true(got.ino == a[i].ino && got.dev == 8);
		assert_int_equal(got.honeytoken, a[i].honeytoken);
		assert_int_equal(got.staging, a[i].staging);
		assert_true(got.flags == a[i].flags);
		assert_true(got.opened_ns == a[i].opened_ns && got.last_ns == a[i].last_ns);
		assert_true(got.closed_ns == a[i].closed_ns);
		assert_true(got.bytes_read == a[i].bytes_read);
		assert_true(got.bytes_written == a[i].bytes_written);
		assert_true(got.reads == a[i].reads && got.writes == a[i].writes);
		pw_access_free_strings(&got);
	}
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

static void test_alerts_stored(void **state)
{
	struct fixture *f = *state;
	struct pw_alert al = { .severity = PW_SEV_HIGH, .audit_session = 17, .session_id = 42,
			       .time_ns = 5 * DAY, .score = 92.5 };
	sqlite3_stmt *q;
	sqlite3 *db;

	snprintf(al.rule_id, sizeof(al.rule_id), "bulk-read");
	snprintf(al.user, sizeof(al.user), "tanaka");
	snprintf(al.reason, sizeof(al.reason), "tanaka read 412.0 MiB of dataset customers");
	assert_int_equal(pw_store_alert(f->s, BOOT, &al, true, 5 * DAY + 300000000), 0);
	al.audit_session = PW_NO_ID;
	al.session_id = 0;
	al.user[0] = '\0';
	al.time_ns = 6 * DAY;
	snprintf(al.rule_id, sizeof(al.rule_id), "blind-spot");
	assert_int_equal(pw_store_alert(f->s, BOOT, &al, false, 6 * DAY), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "alerts"), 2);

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rule_id, severity, user, audit_session, "
					    "session_id, score, reason, quarantined, stored_ns - "
					    "time_ns, boot_id FROM alerts ORDER BY id", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "bulk-read");
	assert_string_equal((const char *)sqlite3_column_text(q, 1), "high");
	assert_string_equal((const char *)sqlite3_column_text(q, 2), "tanaka");
	assert_int_equal(sqlite3_column_int64(q, 3), 17);
	assert_int_equal(sqlite3_column_int64(q, 4), 42);
	assert_true(sqlite3_column_double(q, 5) == 92.5);
	assert_string_equal((const char *)sqlite3_column_text(q, 6),
			    "tanaka read 412.0 MiB of dataset customers");
	assert_int_equal(sqlite3_column_int(q, 7), 1);
	assert_int_equal(sqlite3_column_int64(q, 8), 300000000);
	assert_string_equal((const char *)sqlite3_column_text(q, 9), BOOT);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(q, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(q, 3), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(q, 4), SQLITE_NULL);
	sqlite3_finalize(q);
	sqlite3_close(db);
	/* Alerts age out with the rest. */
	assert_int_equal(pw_store_prune(f->s, 6 * DAY + 1, DAY, 0), 1);
	assert_int_equal(pw_store_count(f->s, "alerts"), 1);
}

struct seen {
	char rows[8][256];
	int n;
};

static int collect_baseline(void *ctx, const char *kind, const char *principal,
			    const char *dataset, const char *json)
{
	struct seen *s = ctx;

	snprintf(s->rows[s->n++], sizeof(s->rows[0]), "%s|%s|%s|%s", kind, principal, dataset,
		 json);
	return 0;
}

static void test_baselines_round_trip(void **state)
{
	struct fixture *f = *state;
	struct seen seen = { .n = 0 };
	char err[256];

	assert_int_equal(pw_store_baseline_put(f->s, "detector", "", "", "{\"first_ns\":1}", 10), 0);
	assert_int_equal(pw_store_baseline_put(f->s, "volume", "user:tanaka", "customers",
					       "{\"days\":[]}", 10), 0);
	assert_int_equal(pw_store_baseline_put(f->s, "volume", "user:tanaka", "customers",
					       "{\"days\":[[1,2,3]]}", 11), 0);
	assert_int_equal(pw_store_baseline_put(f->s, "open", BOOT, "77", "{}", 11), 0);
	assert_int_equal(pw_store_baseline_put(f->s, "open", BOOT, "77", NULL, 12), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	/* What the daemon saved, a restarted daemon loads. */
	pw_store_close(f->s);
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(pw_store_baselines_load(f->s, collect_baseline, &seen), 2);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.rows[0], "detector|||{\"first_ns\":1}");
	assert_string_equal(seen.rows[1], "volume|user:tanaka|customers|{\"days\":[[1,2,3]]}");
}

static int collect_quarantine(void *ctx, const struct pw_quarantine *q)
{
	struct seen *s = ctx;

	snprintf(s->rows[s->n++], sizeof(s->rows[0]), "%s|%llu|%s", q->user,
		 (unsigned long long)q->since_ns, q->reason);
	return 0;
}

static void test_quarantine(void **state)
{
	struct fixture *f = *state;
	struct seen seen = { .n = 0 };
	struct pw_store *ro;
	char err[256];

	assert_int_equal(pw_store_is_quarantined(f->s, "tanaka"), 0);
	assert_int_equal(pw_store_quarantine_add(f->s, "tanaka", 7, "honeytoken: zz_vip.csv"), 1);
	assert_int_equal(pw_store_quarantine_add(f->s, "tanaka", 9, "bulk-read"), 0);
	assert_int_equal(pw_store_quarantine_add(f->s, "sato", 8, "exfil-chain"), 1);
	assert_int_equal(pw_store_is_quarantined(f->s, "tanaka"), 1);
	assert_int_equal(pw_store_flush(f->s), 0);

	ro = pw_store_open(f->path, true, err, sizeof(err));
	assert_non_null(ro);
	assert_int_equal(pw_store_quarantine_list(ro, collect_quarantine, &seen), 2);
	assert_string_equal(seen.rows[0], "tanaka|7|honeytoken: zz_vip.csv");
	assert_string_equal(seen.rows[1], "sato|8|exfil-chain");

	assert_int_equal(pw_store_quarantine_release(f->s, "tanaka"), 1);
	assert_int_equal(pw_store_quarantine_release(f->s, "tanaka"), 0);
	assert_int_equal(pw_store_is_quarantined(f->s, "tanaka"), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	seen.n = 0;
	assert_int_equal(pw_store_quarantine_list(ro, collect_quarantine, &seen), 1);
	assert_string_equal(seen.rows[0], "sato|8|exfil-chain");
	pw_store_close(ro);
}

/* What schema 7 added, taken off again: a store as schema 6 made it. */
static const char undo_v7[] =
	"ALTER TABLE accesses DROP COLUMN euser; ALTER TABLE events DROP COLUMN euser;"
	"DROP INDEX accesses_audit; CREATE INDEX accesses_audit ON accesses (boot_id, audit_session);"
	"DROP INDEX events_audit; CREATE INDEX events_audit ON events (boot_id, audit_session);"
	"PRAGMA user_version = 6";

/* What schema 6 added, taken off again: a store as schema 5 made it. */
static const char undo_v6[] = "DROP TABLE output_state; PRAGMA user_version = 5";

/* What schema 5 added, taken off again: a store as schema 4 made it. */
static const char undo_v5[] =
	"DROP TABLE chains; ALTER TABLE accesses DROP COLUMN chain_id;"
	"ALTER TABLE events DROP COLUMN chain_id; PRAGMA user_version = 4";

static const char undo_v4[] = "DROP TABLE alerts; DROP TABLE baselines; PRAGMA user_version = 3";

/* The fixture's store with one access, closed and taken back to an older
 * schema by the undo scripts, newest first. */
static void roll_back_schema(struct fixture *f, const char *const *undo)
{
	sqlite3 *db;

	add_access(f->s, 1, 3 * DAY);
	assert_int_equal(pw_store_flush(f->s), 0);
	pw_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	for (; *undo; undo++)
		assert_int_equal(sqlite3_exec(db, *undo, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* One value of a query on the store's file, as text ("NULL" for null). */
static void sql_value(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *q;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	snprintf(out, n, "%s",
		 sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "NULL");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

#define CHAIN "5105 /usr/bin/bash\n5104 /usr/sbin/sshd\n1 /usr/lib/systemd/systemd"

static void add_chained(struct pw_store *s, uint64_t id, uint64_t when, const char *chain)
{
	struct pw_access a = { 0 };

	snprintf(a.boot_id, sizeof(a.boot_id), "%s", BOOT);
	a.access_id = id;
	a.audit_session = a.loginuid = PW_NO_ID;
	a.ppid = 5105;
	a.path = "/srv/dms/customers/a.csv";
	a.dataset = "customers";
	a.opened_ns = a.last_ns = when;
	a.ancestors = (char *)(uintptr_t)chain;
	assert_int_equal(pw_store_access_open(s, &a), 0);
}

/* Accesses and events keep the parent chain whole, each chain once, with
 * its first program as parent_exe for queries. */
static void test_ancestors_stored(void **state)
{
	struct fixture *f = *state;
	struct pw_event_rec e = { .kind = "exec", .action = "exec", .ts_ns = DAY, .pid = 5120,
				  .ppid = 5105, .audit_session = PW_NO_ID, .loginuid = PW_NO_ID,
				  .comm = "tar", .exe = "/usr/bin/tar", .ancestors = CHAIN };
	struct pw_access a;
	char v[256];

	add_chained(f->s, 1, DAY, CHAIN);
	add_chained(f->s, 2, DAY, NULL);
	add_chained(f->s, 3, DAY, CHAIN);
	add_chained(f->s, 4, DAY, "5200 /usr/bin/dash\n" "5105 /usr/bin/bash");
	assert_int_equal(pw_store_event(f->s, BOOT, &e), 0);
	assert_int_equal(pw_store_flush(f->s), 0);

	assert_int_equal(pw_store_access_load(f->s, BOOT, 1, &a), 1);
	assert_string_equal(a.ancestors, CHAIN);
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 2, &a), 1);
	assert_null(a.ancestors);
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 4, &a), 1);
	assert_string_equal(a.ancestors, "5200 /usr/bin/dash\n5105 /usr/bin/bash");
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_count(f->s, "chains"), 2);
	sql_value(f->path, "SELECT count(DISTINCT chain_id) || '|' || count(chain_id) FROM accesses",
		  v, sizeof(v));
	assert_string_equal(v, "2|3");
	sql_value(f->path, "SELECT group_concat(parent_exe, ',') FROM (SELECT parent_exe "
		  "FROM chains ORDER BY id)", v, sizeof(v));
	assert_string_equal(v, "/usr/bin/bash,/usr/bin/dash");
	sql_value(f->path, "SELECT c.parent_exe || '|' || c.ancestors FROM events e "
		  "JOIN chains c ON c.id = e.chain_id", v, sizeof(v));
	assert_string_equal(v, "/usr/bin/bash|" CHAIN);
}

/* A chain inserted in a batch that is rolled back is inserted again with
 * the next record that has it; retention drops chains no row names. */
static void test_chains_rollback_and_retention(void **state)
{
	struct fixture *f = *state;
	struct pw_access a;

	add_chained(f->s, 1, DAY, CHAIN);
	pw_store_rollback(f->s);
	add_chained(f->s, 2, DAY, CHAIN);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "chains"), 1);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 2, &a), 1);
	assert_string_equal(a.ancestors, CHAIN);
	pw_access_free_strings(&a);

	add_chained(f->s, 3, 5 * DAY, "7 /usr/bin/cron");
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_count(f->s, "chains"), 2);
	/* Two days kept at day six: access 2 and its chain go. */
	assert_int_equal(pw_store_prune(f->s, 6 * DAY, 2 * DAY, 0), 2);
	assert_int_equal(pw_store_count(f->s, "chains"), 1);
	/* The chain that went is not named from a stale cache. */
	add_chained(f->s, 4, 6 * DAY, CHAIN);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 4, &a), 1);
	assert_string_equal(a.ancestors, CHAIN);
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 3, &a), 1);
	assert_string_equal(a.ancestors, "7 /usr/bin/cron");
	pw_access_free_strings(&a);
}

/* A store of schema 4 gains the chain's columns, keeping its rows, which
 * have no chain. */
static void test_migrates_to_v5(void **state)
{
	struct fixture *f = *state;
	struct pw_access a;
	char err[256], v[256];

	roll_back_schema(f, (const char *const[]){ undo_v7, undo_v6, undo_v5, NULL });
	f->s = pw_store_open(f->path, true, err, sizeof(err));
	assert_null(f->s);
	assert_non_null(strstr(err, "schema version 4 is older"));
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_non_null(f->s);
	sql_value(f->path, "PRAGMA user_version", v, sizeof(v));
	assert_string_equal(v, "7");
	assert_int_equal(pw_store_access_load(f->s, BOOT, 1, &a), 1);
	assert_string_equal(a.path, "/srv/dms/customers/a.csv");
	assert_null(a.ancestors);
	pw_access_free_strings(&a);

	add_chained(f->s, 2, 4 * DAY, CHAIN);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 2, &a), 1);
	assert_string_equal(a.ancestors, CHAIN);
	pw_access_free_strings(&a);
}

/* An output's position is part of the batch, as the ring's is, and a
 * later daemon finds the last one committed. */
static void test_output_position_commits_with_batch(void **state)
{
	struct fixture *f = *state;
	struct pw_output_pos pos = { 0 }, a = { 8, 1234, 4096 }, b = { 8, 1234, 9000 };
	char path[64], v[128];

	assert_int_equal(pw_store_output_pos(f->s, "jsonl", path, sizeof(path), &pos), 0);
	assert_int_equal(pw_store_set_output_pos(f->s, "jsonl", "/var/log/x.jsonl", &a), 0);
	pw_store_rollback(f->s);
	assert_int_equal(pw_store_output_pos(f->s, "jsonl", path, sizeof(path), &pos), 0);
	assert_int_equal(pw_store_set_output_pos(f->s, "jsonl", "/var/log/x.jsonl", &a), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	/* Not committed yet: another reader sees the committed one. */
	assert_int_equal(pw_store_set_output_pos(f->s, "jsonl", "/var/log/x.jsonl", &b), 0);
	sql_value(f->path, "SELECT path || ' ' || dev || ' ' || ino || ' ' || size "
		  "FROM output_state WHERE name = 'jsonl'", v, sizeof(v));
	assert_string_equal(v, "/var/log/x.jsonl 8 1234 4096");
	assert_int_equal(pw_store_output_pos(f->s, "jsonl", path, sizeof(path), &pos), 1);
	assert_true(pos.size == 9000);
}

/* A store of schema 5 gains the output positions. */
static void test_migrates_to_v6(void **state)
{
	struct fixture *f = *state;
	struct pw_output_pos pos = { 8, 1234, 4096 };
	char err[256], v[512], path[64];

	roll_back_schema(f, (const char *const[]){ undo_v7, undo_v6, NULL });
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_non_null(f->s);
	sql_value(f->path, "PRAGMA user_version", v, sizeof(v));
	assert_string_equal(v, "7");
	assert_int_equal(pw_store_count(f->s, "accesses"), 1);
	assert_int_equal(pw_store_output_pos(f->s, "jsonl", path, sizeof(path), &pos), 0);
}

/* A store of schema 6 gains the effective user's name: its rows have
 * none, new accesses and events keep theirs. */
static void test_migrates_to_v7(void **state)
{
	struct fixture *f = *state;
	struct pw_event_rec e = { .kind = "exec", .action = "exec", .ts_ns = 4 * DAY, .pid = 5120,
				  .audit_session = PW_NO_ID, .loginuid = PW_NO_ID, .uid = 0,
				  .user = "tanaka", .euser = "root", .comm = "sudo" };
	struct pw_access a = { 0 };
	char err[256], v[256];
	sqlite3_stmt *q;
	sqlite3 *db;

	roll_back_schema(f, (const char *const[]){ undo_v7, NULL });
	f->s = pw_store_open(f->path, true, err, sizeof(err));
	assert_null(f->s);
	assert_non_null(strstr(err, "schema version 6 is older"));
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_non_null(f->s);
	sql_value(f->path, "PRAGMA user_version", v, sizeof(v));
	assert_string_equal(v, "7");
	assert_int_equal(pw_store_access_load(f->s, BOOT, 1, &a), 1);
	assert_null(a.euser);
	pw_access_free_strings(&a);

	snprintf(a.boot_id, sizeof(a.boot_id), "%s", BOOT);
	a.access_id = 2;
	a.audit_session = a.loginuid = PW_NO_ID;
	a.user = "tanaka";
	a.euser = "root";
	a.path = "/srv/dms/customers/a.csv";
	a.dataset = "customers";
	a.opened_ns = a.last_ns = 4 * DAY;
	assert_int_equal(pw_store_access_open(f->s, &a), 0);
	assert_int_equal(pw_store_event(f->s, BOOT, &e), 0);
	assert_int_equal(pw_store_flush(f->s), 0);
	assert_int_equal(pw_store_access_load(f->s, BOOT, 2, &a), 1);
	assert_string_equal(a.user, "tanaka");
	assert_string_equal(a.euser, "root");
	pw_access_free_strings(&a);
	sql_value(f->path, "SELECT user || ' as ' || euser FROM events", v, sizeof(v));
	assert_string_equal(v, "tanaka as root");
	/* The audit session indexes hold only rows still waiting for their
	 * session, and the join finds them there. */
	sql_value(f->path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master "
		  "WHERE sql LIKE '%WHERE session_id IS NULL AND audit_session IS NOT NULL' "
		  "ORDER BY name)", v, sizeof(v));
	assert_string_equal(v, "accesses_audit events_audit");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN UPDATE accesses SET session_id = ?3 "
					    "WHERE boot_id = ?1 AND audit_session = ?2 "
					    "AND session_id IS NULL", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(q, 3), "USING INDEX accesses_audit"));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A store of schema 3 gains the detector's tables, keeping its rows. */
static void test_migrates_to_v4(void **state)
{
	struct fixture *f = *state;
	uint64_t last = 0;
	char err[256];

	assert_int_equal(pw_store_last_activity(f->s, &last), 0);
	roll_back_schema(f, (const char *const[]){ undo_v7, undo_v6, undo_v5, undo_v4, NULL });
	f->s = pw_store_open(f->path, true, err, sizeof(err));
	assert_null(f->s);
	assert_non_null(strstr(err, "schema version 3 is older"));
	f->s = pw_store_open(f->path, false, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(pw_store_count(f->s, "alerts"), 0);
	assert_int_equal(pw_store_count(f->s, "baselines"), 0);
	assert_int_equal(pw_store_count(f->s, "accesses"), 1);
	assert_int_equal(pw_store_last_activity(f->s, &last), 1);
	assert_true(last == 3 * DAY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_counts_add_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_open_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_records_once_and_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_close_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_close_before_open_by_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_position_commits_with_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baselines_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ancestors_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chains_rollback_and_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_to_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_to_v5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_to_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_to_v7, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_position_commits_with_batch, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
