// SPDX-License-Identifier: GPL-2.0
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "ancestors.h"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_SESSION_INSERT,
	ST_SESSION_INSERT_CLOSED,
	ST_SESSION_FILL_OPEN,
	ST_SESSION_BY_RECORD,
	ST_SESSION_CLOSE_AUDIT,
	ST_SESSION_CLOSE_PID,
	ST_JOIN,
	ST_ACCESS_IO,
	ST_QUARANTINED,
	ST_SESSION_LOOKUP,
	ST_EVENT_INSERT,
	ST_JOIN_EVENTS,
	ST_RING_GET,
	ST_RING_SET,
	ST_ACCESS_LOAD,
	ST_ALERT_INSERT,
	ST_BASELINE_PUT,
	ST_BASELINE_DELETE,
	ST_QUARANTINE_ADD,
	ST_QUARANTINE_RELEASE,
	ST_CHAIN_INSERT,
	ST_OUTPUT_GET,
	ST_OUTPUT_SET,
	ST_MAX,
};

static const char *const stmt_sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_SESSION_INSERT] =
		"INSERT OR IGNORE INTO sessions (boot_id, audit_session, loginuid, user, uid, "
		"service, rhost, ruser, tty, pid, opened_ns, open_record) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	/* A close whose open has not arrived (it waits in the spool) keeps a
	 * row of its own, which that open fills in: boot id and audit session
	 * pair them, or boot id and process id without an audit session. */
	[ST_SESSION_INSERT_CLOSED] =
		"INSERT OR IGNORE INTO sessions (boot_id, audit_session, loginuid, user, uid, "
		"service, rhost, ruser, tty, pid, closed_ns, close_record) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_SESSION_FILL_OPEN] =
		"UPDATE sessions SET loginuid = ?3, user = ?4, uid = ?5, service = ?6, rhost = ?7, "
		"ruser = ?8, tty = ?9, pid = ?10, opened_ns = ?11, open_record = ?12 "
		"WHERE id = (SELECT id FROM sessions WHERE boot_id = ?1 AND audit_session IS ?2 "
		"AND (?2 IS NOT NULL OR pid = ?10) AND open_record IS NULL "
		"ORDER BY id DESC LIMIT 1) RETURNING id",
	[ST_SESSION_BY_RECORD] = "SELECT id FROM sessions WHERE open_record = ?1 OR close_record = ?1",
	[ST_SESSION_CLOSE_AUDIT] =
		"UPDATE sessions SET closed_ns = ?3, close_record = ?4 "
		"WHERE id = (SELECT id FROM sessions WHERE boot_id = ?1 AND audit_session = ?2 "
		"AND closed_ns IS NULL ORDER BY id DESC LIMIT 1) RETURNING id",
	[ST_SESSION_CLOSE_PID] =
		"UPDATE sessions SET closed_ns = ?3, close_record = ?4 "
		"WHERE id = (SELECT id FROM sessions WHERE boot_id = ?1 AND audit_session IS NULL "
		"AND pid = ?2 AND closed_ns IS NULL ORDER BY id DESC LIMIT 1) RETURNING id",
	[ST_JOIN] = "UPDATE accesses SET session_id = ?3 WHERE boot_id = ?1 AND audit_session = ?2 "
		    "AND session_id IS NULL",
	[ST_ACCESS_IO] =
		"UPDATE accesses SET bytes_read = bytes_read + ?3, bytes_written = bytes_written + ?4, "
		"reads = reads + ?5, writes = writes + ?6, last_ns = max(last_ns, ?7), "
		"closed_ns = CASE WHEN ?8 THEN ?7 ELSE closed_ns END, flags = flags | ?9 "
		"WHERE boot_id = ?1 AND access_id = ?2",
	[ST_QUARANTINED] = "SELECT 1 FROM quarantine WHERE user = ?1",
	[ST_EVENT_INSERT] =
		"INSERT INTO events (boot_id, kind, action, ts_ns, session_id, audit_session, "
		"loginuid, uid, user, pid, ppid, comm, exe, args, dataset, path, path2, dest_ip, "
		"dest_port, result, access_id, count, honeytoken, chain_id, euser) VALUES (?1, ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
		"?22, ?23, ?24, ?25)",
	[ST_JOIN_EVENTS] = "UPDATE events SET session_id = ?3 WHERE boot_id = ?1 AND audit_session = ?2 "
			   "AND session_id IS NULL",
	[ST_ACCESS_LOAD] = "SELECT " PW_STORE_ACCESS_COLUMNS " FROM " PW_STORE_ACCESS_FROM
			   " WHERE a.boot_id = ?1 AND a.access_id = ?2",
	[ST_RING_GET] = "SELECT pos FROM ring_state WHERE boot_id = ?1 AND ring_id = ?2",
	[ST_ALERT_INSERT] =
		"INSERT INTO alerts (time_ns, stored_ns, boot_id, rule_id, severity, user, "
		"audit_session, session_id, score, reason, quarantined) VALUES (?1, ?2, ?3, ?4, ?5, "
		"?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_BASELINE_PUT] =
		"INSERT INTO baselines (kind, principal, dataset, data, updated_ns) "
		"VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, principal, dataset) "
		"DO UPDATE SET data = excluded.data, updated_ns = excluded.updated_ns",
	[ST_BASELINE_DELETE] =
		"DELETE FROM baselines WHERE kind = ?1 AND principal = ?2 AND dataset = ?3",
	[ST_QUARANTINE_ADD] =
		"INSERT OR IGNORE INTO quarantine (user, since_ns, reason) VALUES (?1, ?2, ?3)",
	[ST_QUARANTINE_RELEASE] = "DELETE FROM quarantine WHERE user = ?1",
	[ST_CHAIN_INSERT] = "INSERT INTO chains (parent_exe, ancestors) VALUES (?1, ?2)",
	[ST_RING_SET] = "INSERT INTO ring_state (boot_id, ring_id, pos) VALUES (?1, ?2, ?3) "
			"ON CONFLICT (boot_id, ring_id) DO UPDATE SET pos = excluded.pos",
	[ST_OUTPUT_GET] = "SELECT path, dev, ino, size FROM output_state WHERE name = ?1",
	[ST_OUTPUT_SET] = "INSERT INTO output_state (name, path, dev, ino, size) "
			  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
			  "path = excluded.path, dev = excluded.dev, ino = excluded.ino, "
			  "size = excluded.size",
	[ST_SESSION_LOOKUP] = "SELECT id, user, service, rhost, closed_ns IS NOT NULL FROM sessions "
			      "WHERE boot_id = ?1 AND audit_session = ?2 ORDER BY id DESC LIMIT 1",
};

/*
 * An access's row: its columns, each bound as the ?N of its place, N from
 * 1 to ACCESS_COLUMNS (bind_access()).  The same INSERT of several rows
 * at once (ACCESS_INSERT_ROWS) costs about two thirds of as many single
 * ones per row: the statement's cursors on the table and its indexes are
 * opened and closed once (bench/RESULTS.md).
 */
#define ACCESS_INSERT_COLUMNS                                                                   \
	"boot_id, access_id, session_id, audit_session, loginuid, uid, user, pid, ppid, comm, " \
	"exe, args, dataset, path, dev, ino, honeytoken, open_flags, opened_ns, last_ns, "      \
	"staging, flags, closed_ns, bytes_read, bytes_written, reads, writes, chain_id, euser"
#define ACCESS_COLUMNS 29
#define ACCESS_INSERT_ROWS 16

/* "INSERT OR IGNORE INTO accesses (...) VALUES (?1, ..., ?29), ..." for
 * rows rows, in a malloc'ed string; NULL when out of memory. */
static char *access_insert_sql(int rows)
{
	static const char head[] = "INSERT OR IGNORE INTO accesses (" ACCESS_INSERT_COLUMNS ") VALUES ";
	/* ", ?NNNN" for each column, and "(" ")" "," for each row */
	size_t size = sizeof(head) + (size_t)rows * (ACCESS_COLUMNS * 7 + 3);
	char *sql = malloc(size);
	size_t len;
	int r, c;

	if (!sql)
		return NULL;
	len = (size_t)snprintf(sql, size, "%s", head);
	for (r = 0; r < rows; r++) {
		len += (size_t)snprintf(sql + len, size - len, "%s(", r ? "," : "");
		for (c = 1; c <= ACCESS_COLUMNS; c++)
			len += (size_t)snprintf(sql + len, size - len, "%s?%d", c > 1 ? ", " : "",
						r * ACCESS_COLUMNS + c);
		len += (size_t)snprintf(sql + len, size - len, ")");
	}
	return sql;
}

static const char schema_v1[] =
	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY,"
	" boot_id TEXT NOT NULL,"
	" audit_session INTEGER,"
	" loginuid INTEGER,"
	" user TEXT NOT NULL,"
	" uid INTEGER,"
	" service TEXT, rhost TEXT, ruser TEXT, tty TEXT,"
	" pid INTEGER,"
	" opened_ns INTEGER, closed_ns INTEGER,"
	" open_record TEXT UNIQUE, close_record TEXT UNIQUE);"
	"CREATE INDEX sessions_audit ON sessions (boot_id, audit_session);"
	"CREATE TABLE accesses ("
	" id INTEGER PRIMARY KEY,"
	" boot_id TEXT NOT NULL,"
	" access_id INTEGER NOT NULL,"
	" session_id INTEGER,"
	" audit_session INTEGER,"
	" loginuid INTEGER, uid INTEGER, user TEXT,"
	" pid INTEGER, ppid INTEGER, comm TEXT, exe TEXT, args TEXT,"
	" dataset TEXT, path TEXT, dev INTEGER, ino INTEGER,"
	" honeytoken INTEGER NOT NULL DEFAULT 0,"
	" open_flags INTEGER,"
	" opened_ns INTEGER, last_ns INTEGER, closed_ns INTEGER,"
	" bytes_read INTEGER NOT NULL DEFAULT 0, bytes_written INTEGER NOT NULL DEFAULT 0,"
	" reads INTEGER NOT NULL DEFAULT 0, writes INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (boot_id, access_id));"
	"CREATE INDEX accesses_opened ON accesses (opened_ns);"
	"CREATE INDEX accesses_audit ON accesses (boot_id, audit_session);"
	"CREATE TABLE quarantine (user TEXT PRIMARY KEY, since_ns INTEGER NOT NULL,"
	" reason TEXT NOT NULL);";

static const char schema_v2[] =
	"ALTER TABLE accesses ADD COLUMN staging INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE accesses ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" boot_id TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" action TEXT,"
	" ts_ns INTEGER NOT NULL,"
	" session_id INTEGER, audit_session INTEGER, loginuid INTEGER, uid INTEGER, user TEXT,"
	" pid INTEGER, ppid INTEGER, comm TEXT, exe TEXT, args TEXT,"
	" dataset TEXT, path TEXT, path2 TEXT,"
	" dest_ip TEXT, dest_port INTEGER,"
	" result INTEGER, access_id INTEGER, count INTEGER,"
	" honeytoken INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX events_ts ON events (ts_ns);"
	"CREATE INDEX events_audit ON events (boot_id, audit_session);";

static const char schema_v3[] =
	"CREATE TABLE ring_state (boot_id TEXT NOT NULL, ring_id INTEGER NOT NULL,"
	" pos INTEGER NOT NULL, PRIMARY KEY (boot_id, ring_id));";

/* The detector's findings and what it learned (userspace/detector.h). */
static const char schema_v4[] =
	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY,"
	" time_ns INTEGER NOT NULL,"
	" stored_ns INTEGER NOT NULL,"
	" boot_id TEXT,"
	" rule_id TEXT NOT NULL,"
	" severity TEXT NOT NULL,"
	" user TEXT,"
	" audit_session INTEGER, session_id INTEGER,"
	" score REAL NOT NULL,"
	" reason TEXT NOT NULL,"
	" quarantined INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX alerts_time ON alerts (time_ns);"
	"CREATE INDEX alerts_session ON alerts (session_id);"
	"CREATE TABLE baselines ("
	" kind TEXT NOT NULL, principal TEXT NOT NULL, dataset TEXT NOT NULL,"
	" data TEXT NOT NULL, updated_ns INTEGER NOT NULL,"
	" PRIMARY KEY (kind, principal, dataset));";

/*
 * Parent chains (ancestors.h): each text once, as the records carry it,
 * with its first program in parent_exe for queries; accesses and events
 * name theirs by chain_id.  All accesses of a process share its chain:
 * its text in every row made the rows a fifth larger and cost 7 to 9 % of
 * the rows the store inserts per CPU second (bench/RESULTS.md).
 */
static const char schema_v5[] =
	"CREATE TABLE chains (id INTEGER PRIMARY KEY, parent_exe TEXT NOT NULL,"
	" ancestors TEXT NOT NULL);"
	"ALTER TABLE accesses ADD COLUMN chain_id INTEGER;"
	"ALTER TABLE events ADD COLUMN chain_id INTEGER;";

/* Where each output file's lines end at a commit (pw_store_output_pos()). */
static const char schema_v6[] =
	"CREATE TABLE output_state (name TEXT PRIMARY KEY, path TEXT NOT NULL,"
	" dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL);";

/*
 * The effective user's name (uid's) as it was at the time: NULL in rows
 * from before this version, whose names were not recorded.
 *
 * The audit session indexes serve only the join of rows stored before
 * their session record (ST_JOIN, ST_JOIN_EVENTS), so they hold only those
 * rows: a row joined when inserted, or without a login session, costs no
 * index entry, and a join takes its rows out (bench/RESULTS.md).
 */
static const char schema_v7[] =
	"ALTER TABLE accesses ADD COLUMN euser TEXT;"
	"ALTER TABLE events ADD COLUMN euser TEXT;"
	"DROP INDEX accesses_audit;"
	"CREATE INDEX accesses_audit ON accesses (boot_id, audit_session)"
	" WHERE session_id IS NULL AND audit_session IS NOT NULL;"
	"DROP INDEX events_audit;"
	"CREATE INDEX events_audit ON events (boot_id, audit_session)"
	" WHERE session_id IS NULL AND audit_session IS NOT NULL;";

/*
 * Chains in the table, by their text, so that a record whose chain is
 * there costs a hash lookup.  Forgotten when a batch is rolled back and
 * after retention, either of which can take rows away; a chain forgotten
 * while its row stays is inserted again, which costs a row, not a
 * wrong answer.
 */
struct chain_entry {
	char *text;
	int64_t id;
	UT_hash_handle hh;
};

#define CHAIN_CACHE_MAX 4096

/* WAL pages after which a commit asks for a checkpoint: about 4 MiB, as
 * SQLite's default of 1000 pages makes it with 4 KiB pages. */
#define CHECKPOINT_PAGES 256
/* WAL pages (32 MiB) past which the writer checkpoints itself: see
 * on_wal_commit(). */
#define CHECKPOINT_INLINE_PAGES 2048

struct pw_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_MAX];
	/* access_insert_sql() of one row and of ACCESS_INSERT_ROWS */
	sqlite3_stmt *insert_one, *insert_many;
	bool read_only;
	bool in_batch;
	void (*commit_hook)(void *ctx);
	void *commit_ctx;
	bool in_hook;
	struct chain_entry *chains;
	size_t n_chains;
	/* The checkpointer: its own connection and thread (see checkpointer()). */
	sqlite3 *ck_db;
	pthread_t ck_thread;
	pthread_mutex_t ck_lock;
	pthread_cond_t ck_cond;
	bool ck_running, ck_wanted, ck_stop;
	int ck_asked_at;             /* WAL pages at the last request (writer only) */
	uint64_t ck_failures;        /* under ck_lock, with ck_error */
	char ck_error[256];
};

static void set_err(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

void pw_access_free_strings(struct pw_access *a)
{
	free(a->user);
	free(a->euser);
	free(a->exe);
	free(a->args);
	free(a->ancestors);
	free(a->dataset);
	free(a->path);
	free(a->service);
	free(a->rhost);
	a->user = a->euser = a->exe = a->args = a->ancestors = a->dataset = a->path = NULL;
	a->service = a->rhost = NULL;
}

/* The store holds who read what: root and group piiwatch only. */
static int create_private(const char *path, char *err, size_t err_size)
{
	struct group *g;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		set_err(err, err_size, "cannot create store %s: %s", path, strerror(errno));
		return -1;
	}
	g = getgrnam("piiwatch");
	if (fchown(fd, 0, g ? g->gr_gid : 0) != 0 || fchmod(fd, 0640) != 0) {
		set_err(err, err_size, "cannot set owner of %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

const char *pw_store_error_hint(int sqlite_code)
{
	switch (sqlite_code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return " (another process holds it locked)";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return " (damaged, or not a piiwatch store: keep a copy for the record)";
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return " (needs root or group piiwatch, and the store's -wal and -shm files "
		       "that piiwatchd leaves next to it)";
	default:
		return "";
	}
}

static int migrate(struct pw_store *s, const char *path, char *err, size_t err_size)
{
	sqlite3_stmt *q;
	int version = -1, code = SQLITE_OK;
	char *msg = NULL;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			version = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	if (version < 0) {
		code = sqlite3_extended_errcode(s->db);
		set_err(err, err_size, "cannot read %s: %s%s", path, sqlite3_errstr(code),
			pw_store_error_hint(code));
		return -1;
	}
	if (version > PW_STORE_SCHEMA_VERSION) {
		set_err(err, err_size, "%s: store schema version %d is newer than this piiwatch (%d)",
			path, version, PW_STORE_SCHEMA_VERSION);
		return -1;
	}
	if (version == PW_STORE_SCHEMA_VERSION)
		return 0;
	/* Migrations commit together with the version: a store is never at
	 * version 0 with tables. */
	if (s->read_only && version == 0) {
		set_err(err, err_size, "%s is not a piiwatch store (an empty file or another program's database)",
			path);
		return -1;
	}
	if (s->read_only) {
		set_err(err, err_size,
			"%s: store schema version %d is older than this piiwatch (%d): start piiwatchd once to migrate it",
			path, version, PW_STORE_SCHEMA_VERSION);
		return -1;
	}
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* Pruned space is given back in steps (retention); only takes effect
	 * on a database without tables yet. */
	if (version == 0)
		sqlite3_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL);
	if (version < 1 && sqlite3_exec(s->db, schema_v1, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 2 && sqlite3_exec(s->db, schema_v2, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 3 && sqlite3_exec(s->db, schema_v3, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 4 && sqlite3_exec(s->db, schema_v4, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 5 && sqlite3_exec(s->db, schema_v5, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 6 && sqlite3_exec(s->db, schema_v6, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (version < 7 && sqlite3_exec(s->db, schema_v7, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (sqlite3_exec(s->db, "PRAGMA user_version = 7; COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	return 0;
fail_rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	set_err(err, err_size, "cannot migrate store to schema %d: %s", PW_STORE_SCHEMA_VERSION,
		msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

void pw_store_keep_wal(sqlite3 *db)
{
	int keep = 1;

	sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &keep);
}

/*
 * Checkpoints copy the WAL into the database and fdatasync both.  Run on
 * the daemon's thread they blocked its loop for a quarter of the time at
 * full load while the ring filled (bench/RESULTS.md), so a writing store
 * checkpoints on a thread of its own, with a connection of its own:
 * PASSIVE checkpoints never wait for the writer, nor the writer for them.
 * A crash at any point leaves what SQLite's own checkpoints would.
 */
static void *checkpointer(void *arg)
{
	struct pw_store *s = arg;
	int rc;

	pthread_mutex_lock(&s->ck_lock);
	for (;;) {
		while (!s->ck_wanted && !s->ck_stop)
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
		if (s->ck_stop)
			break;
		s->ck_wanted = false;
		pthread_mutex_unlock(&s->ck_lock);
		rc = sqlite3_wal_checkpoint_v2(s->ck_db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL,
					       NULL);
		pthread_mutex_lock(&s->ck_lock);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			s->ck_failures++;
			snprintf(s->ck_error, sizeof(s->ck_error), "%s", sqlite3_errmsg(s->ck_db));
		}
	}
	pthread_mutex_unlock(&s->ck_lock);
	return NULL;
}

/*
 * Called by SQLite after each commit with the pages now in the WAL.
 *
 * The WAL starts over only when a transaction begins with every frame
 * already copied into the database.  A writer that commits while the
 * thread's checkpoint runs (the daemon under sustained load) always leaves
 * frames behind, so the WAL would grow without bound.  Past
 * CHECKPOINT_INLINE_PAGES the writer therefore checkpoints itself: the
 * thread has copied nearly everything, this copies the rest and syncs,
 * and the next transaction starts the WAL over.  It is the one stall left
 * on the writer, once per 32 MiB of WAL under load.
 *
 * Below that, a checkpoint is asked of the thread every CHECKPOINT_PAGES
 * new pages; asking after every commit would only add fdatasyncs.
 */
static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int pages)
{
	struct pw_store *s = ctx;

	if (pages < s->ck_asked_at)
		s->ck_asked_at = 0; /* the WAL started over */
	if (pages >= CHECKPOINT_INLINE_PAGES) {
		/* SQLITE_BUSY while the thread's checkpoint runs: the next
		 * commit tries again. */
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
		    SQLITE_OK)
			s->ck_asked_at = 0;
		return SQLITE_OK;
	}
	if (pages - s->ck_asked_at < CHECKPOINT_PAGES)
		return SQLITE_OK;
	s->ck_asked_at = pages;
	pthread_mutex_lock(&s->ck_lock);
	s->ck_wanted = true;
	pthread_cond_signal(&s->ck_cond);
	pthread_mutex_unlock(&s->ck_lock);
	return SQLITE_OK;
}

static int start_checkpointer(struct pw_store *s, const char *path, char *err, size_t err_size)
{
	sigset_t all, old;
	int rc;

	if (sqlite3_open_v2(path, &s->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(s->ck_db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, err_size, "store %s: second connection for checkpoints: %s", path,
			s->ck_db ? sqlite3_errmsg(s->ck_db) : "out of memory");
		return -1;
	}
	pw_store_keep_wal(s->ck_db);
	pthread_mutex_init(&s->ck_lock, NULL);
	pthread_cond_init(&s->ck_cond, NULL);
	/* Signals are the daemon loop's: the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->ck_thread, NULL, checkpointer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		set_err(err, err_size, "store %s: cannot start the checkpoint thread: %s", path,
			strerror(rc));
		pthread_cond_destroy(&s->ck_cond);
		pthread_mutex_destroy(&s->ck_lock);
		return -1;
	}
	s->ck_running = true;
	sqlite3_wal_hook(s->db, on_wal_commit, s);
	return 0;
}

uint64_t pw_store_checkpoint_failures(struct pw_store *s, char *why, size_t why_size)
{
	uint64_t n;

	if (!s || !s->ck_running)
		return 0;
	pthread_mutex_lock(&s->ck_lock);
	n = s->ck_failures;
	snprintf(why, why_size, "%s", s->ck_error);
	pthread_mutex_unlock(&s->ck_lock);
	return n;
}

static void stop_checkpointer(struct pw_store *s)
{
	if (s->ck_running) {
		pthread_mutex_lock(&s->ck_lock);
		s->ck_stop = true;
		pthread_cond_signal(&s->ck_cond);
		pthread_mutex_unlock(&s->ck_lock);
		pthread_join(s->ck_thread, NULL);
		pthread_cond_destroy(&s->ck_cond);
		pthread_mutex_destroy(&s->ck_lock);
		s->ck_running = false;
	}
	sqlite3_close(s->ck_db);
	s->ck_db = NULL;
}

static int prepare_access_insert(struct pw_store *s, int rows, sqlite3_stmt **q)
{
	char *sql = access_insert_sql(rows);
	int rc;

	if (!sql)
		return -1;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

struct pw_store *pw_store_open(const char *path, bool read_only, char *err, size_t err_size)
{
	struct pw_store *s = calloc(1, sizeof(*s));
	struct stat st;
	char *msg = NULL;
	int flags, i;

	if (!s) {
		set_err(err, err_size, "out of memory");
		return NULL;
	}
	s->read_only = read_only;
	if (read_only) {
		if (stat(path, &st) != 0) {
			set_err(err, err_size, "no store at %s: %s%s", path, strerror(errno),
				errno == EACCES ? " (needs root or group piiwatch)" : "");
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			set_err(err, err_size, "%s is not a file", path);
			goto fail;
		}
		flags = SQLITE_OPEN_READONLY;
	} else {
		if (create_private(path, err, err_size))
			goto fail;
		flags = SQLITE_OPEN_READWRITE;
	}
	/* SQLite's allocation statistics take a global mutex on every
	 * malloc and free; nothing here reads them.  Only possible before
	 * SQLite initialises: later calls are refused, harmlessly. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_err(err, err_size, "cannot open store %s: %s%s", path,
			s->db ? sqlite3_errmsg(s->db) : "out of memory",
			s->db ? pw_store_error_hint(sqlite3_errcode(s->db)) : "");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	pw_store_keep_wal(s->db);
	/* The size limit also empties the WAL kept when the daemon stops.
	 * A new store gets 16 KiB pages: each page costs the daemon system
	 * calls to write it into the WAL and to read and write it at the
	 * checkpoint, and with 4 KiB pages commits and checkpoints took a
	 * quarter to a third of its time per event (bench/RESULTS.md).  The
	 * pragma does nothing to an existing store.  Checkpoints are not
	 * SQLite's automatic ones but start_checkpointer()'s. */
	if (!read_only &&
	    sqlite3_exec(s->db, "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; "
			 "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, err_size, "store %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(s, path, err, err_size))
		goto fail;
	if (read_only)
		return s;
	for (i = 0; i < ST_MAX; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			set_err(err, err_size, "store %s: %s", path, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (prepare_access_insert(s, 1, &s->insert_one) ||
	    prepare_access_insert(s, ACCESS_INSERT_ROWS, &s->insert_many)) {
		set_err(err, err_size, "store %s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (start_checkpointer(s, path, err, err_size))
		goto fail;
	return s;
fail:
	pw_store_close(s);
	return NULL;
}

static void forget_chains(struct pw_store *s)
{
	struct chain_entry *c, *tmp;

	HASH_ITER(hh, s->chains, c, tmp) {
		HASH_DEL(s->chains, c);
		free(c->text);
		free(c);
	}
	s->n_chains = 0;
}

void pw_store_close(struct pw_store *s)
{
	int i;

	if (!s)
		return;
	pw_store_flush(s);
	forget_chains(s);
	stop_checkpointer(s);
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_finalize(s->insert_one);
	sqlite3_finalize(s->insert_many);
	sqlite3_close(s->db);
	free(s);
}

/*
 * Step a statement and reset it.  Alone, for one whose every parameter
 * the caller binds each time (to NULL where it has no value): its
 * bindings are left, not cleared, which is a measurable part of an
 * access's insert.  The pointers of strings bound without a copy stay in
 * it until the next call binds new ones, and nothing reads them before
 * that: the statement is only ever stepped after being bound whole again.
 */
static int run_all_bound(struct pw_store *s, enum stmt_id id)
{
	int rc = sqlite3_step(s->st[id]);

	sqlite3_reset(s->st[id]);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Step a statement, reset it and clear its bindings. */
static int run(struct pw_store *s, enum stmt_id id)
{
	int rc = run_all_bound(s, id);

	sqlite3_clear_bindings(s->st[id]);
	return rc;
}

static int batch(struct pw_store *s)
{
	if (s->in_batch)
		return 0;
	if (run(s, ST_BEGIN))
		return -1;
	s->in_batch = true;
	return 0;
}

void pw_store_set_commit_hook(struct pw_store *s, void (*hook)(void *ctx), void *ctx)
{
	if (!s)
		return;
	s->commit_hook = hook;
	s->commit_ctx = ctx;
}

int pw_store_flush(struct pw_store *s)
{
	if (!s)
		return 0;
	if (s->commit_hook && !s->in_hook) {
		s->in_hook = true;
		s->commit_hook(s->commit_ctx);
		s->in_hook = false;
	}
	if (!s->in_batch)
		return 0;
	if (run(s, ST_COMMIT)) {
		pw_store_rollback(s);
		return -1;
	}
	s->in_batch = false;
	return 0;
}

void pw_store_rollback(struct pw_store *s)
{
	if (!s || !s->in_batch)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_batch = false;
	forget_chains(s);
}

int pw_store_ring_pos(struct pw_store *s, const char *boot_id, uint32_t ring_id, uint64_t *pos)
{
	sqlite3_stmt *q = s->st[ST_RING_GET];
	int rc, found = 0;

	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, ring_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*pos = (uint64_t)sqlite3_column_int64(q, 0);
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pw_store_set_ring_pos(struct pw_store *s, const char *boot_id, uint32_t ring_id, uint64_t pos)
{
	sqlite3_stmt *q = s->st[ST_RING_SET];

	if (batch(s))
		return -1;
	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, ring_id);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)pos);
	return run(s, ST_RING_SET);
}

int pw_store_output_pos(struct pw_store *s, const char *name, char *path, size_t path_size,
			struct pw_output_pos *pos)
{
	sqlite3_stmt *q = s->st[ST_OUTPUT_GET];
	int rc, found = 0;

	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(q, 0);

		snprintf(path, path_size, "%s", p ? p : "");
		pos->dev = (uint64_t)sqlite3_column_int64(q, 1);
		pos->ino = (uint64_t)sqlite3_column_int64(q, 2);
		pos->size = (uint64_t)sqlite3_column_int64(q, 3);
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pw_store_set_output_pos(struct pw_store *s, const char *name, const char *path,
			    const struct pw_output_pos *pos)
{
	sqlite3_stmt *q = s->st[ST_OUTPUT_SET];

	if (batch(s))
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)pos->dev);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)pos->ino);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)pos->size);
	return run(s, ST_OUTPUT_SET);
}

/*
 * Text is bound without a copy: every statement these bindings are for is
 * stepped by run(), which clears its bindings before the caller's strings
 * can go away, or by run_all_bound(), whose statement is bound whole again
 * before it is stepped again.
 */
static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

/* Bind as ?i the chains row of a record's ancestors, inserted in the
 * running batch when it is new.  NULL when there are none, or when the row
 * cannot be inserted: the record is kept without its chain, not lost. */
static void bind_chain(struct pw_store *s, sqlite3_stmt *q, int i, const char *ancestors)
{
	sqlite3_stmt *ins = s->st[ST_CHAIN_INSERT];
	const char *cursor = ancestors;
	struct pw_ancestor parent;
	struct chain_entry *c;
	int64_t id;

	if (!pw_ancestors_next(&cursor, &parent)) {
		sqlite3_bind_null(q, i);
		return;
	}
	HASH_FIND_STR(s->chains, ancestors, c);
	if (c) {
		sqlite3_bind_int64(q, i, c->id);
		return;
	}
	sqlite3_bind_text(ins, 1, parent.exe, (int)parent.exe_len, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, ancestors, -1, SQLITE_STATIC);
	if (run(s, ST_CHAIN_INSERT)) {
		sqlite3_bind_null(q, i);
		return;
	}
	id = sqlite3_last_insert_rowid(s->db);
	sqlite3_bind_int64(q, i, id);
	if (s->n_chains >= CHAIN_CACHE_MAX) {
		c = s->chains;
		HASH_DEL(s->chains, c);
		free(c->text);
		free(c);
		s->n_chains--;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->text = strdup(ancestors);
	if (!c || !c->text) {
		free(c);
		return;
	}
	c->id = id;
	HASH_ADD_KEYPTR(hh, s->chains, c->text, strlen(c->text), c);
	s->n_chains++;
}

static void bind_id(sqlite3_stmt *q, int i, uint32_t v)
{
	if (v == PW_NO_ID)
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_int64(q, i, v);
}

static int64_t session_by_record(struct pw_store *s, const char *id)
{
	sqlite3_stmt *q = s->st[ST_SESSION_BY_RECORD];
	int64_t rowid = 0;

	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW)
		rowid = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rowid;
}

/* Bind a session record as ?1..?12 of the statements that insert or fill
 * a session row; ?11 and ?12 are the record's time and id. */
static void bind_session(sqlite3_stmt *q, const struct pw_session_record *r)
{
	sqlite3_bind_text(q, 1, r->boot_id, -1, SQLITE_TRANSIENT);
	bind_id(q, 2, r->sessionid);
	bind_id(q, 3, r->loginuid);
	sqlite3_bind_text(q, 4, r->user, -1, SQLITE_TRANSIENT);
	if (r->uid >= 0)
		sqlite3_bind_int64(q, 5, r->uid);
	bind_text(q, 6, r->service);
	bind_text(q, 7, r->rhost[0] ? r->rhost : NULL);
	bind_text(q, 8, r->ruser[0] ? r->ruser : NULL);
	bind_text(q, 9, r->tty[0] ? r->tty : NULL);
	sqlite3_bind_int64(q, 10, r->pid);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)r->time_ns);
	sqlite3_bind_text(q, 12, r->id, -1, SQLITE_TRANSIENT);
}

/* Run an UPDATE ... RETURNING id: *rowid is 0 when no row matched. */
static int run_returning(struct pw_store *s, enum stmt_id id, int64_t *rowid)
{
	sqlite3_stmt *q = s->st[id];
	int rc;

	*rowid = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*rowid = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pw_store_session_record(struct pw_store *s, const struct pw_session_record *r,
			    int64_t *session_id)
{
	enum stmt_id insert_stmt, close_stmt;
	sqlite3_stmt *q;

	*session_id = 0;
	if (r->type != PW_REC_SESSION_OPEN && r->type != PW_REC_SESSION_CLOSE)
		return -1;
	if (batch(s))
		return -1;
	*session_id = session_by_record(s, r->id);
	if (*session_id)
		return 0; /* seen before: delivered once and spooled, or replayed */
	if (r->type == PW_REC_SESSION_OPEN) {
		bind_session(s->st[ST_SESSION_FILL_OPEN], r);
		if (run_returning(s, ST_SESSION_FILL_OPEN, session_id))
			return -1;
		insert_stmt = ST_SESSION_INSERT;
	} else {
		close_stmt = r->sessionid != PW_NO_ID ? ST_SESSION_CLOSE_AUDIT : ST_SESSION_CLOSE_PID;
		q = s->st[close_stmt];
		sqlite3_bind_text(q, 1, r->boot_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, r->sessionid != PW_NO_ID ? r->sessionid : r->pid);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)r->time_ns);
		sqlite3_bind_text(q, 4, r->id, -1, SQLITE_TRANSIENT);
		if (run_returning(s, close_stmt, session_id))
			return -1;
		insert_stmt = ST_SESSION_INSERT_CLOSED;
	}
	if (*session_id)
		return 0;
	bind_session(s->st[insert_stmt], r);
	if (run(s, insert_stmt))
		return -1;
	*session_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int pw_store_join_session(struct pw_store *s, const char *boot_id, uint32_t audit_session,
			  int64_t session_id)
{
	sqlite3_stmt *q = s->st[ST_JOIN];

	if (audit_session == PW_NO_ID || batch(s))
		return audit_session == PW_NO_ID ? 0 : -1;
	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, audit_session);
	sqlite3_bind_int64(q, 3, session_id);
	if (run(s, ST_JOIN))
		return -1;
	q = s->st[ST_JOIN_EVENTS];
	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, audit_session);
	sqlite3_bind_int64(q, 3, session_id);
	return run(s, ST_JOIN_EVENTS);
}

/* Bind an access as ?(o + 1) to ?(o + ACCESS_COLUMNS), in the order of
 * ACCESS_INSERT_COLUMNS. */
static void bind_access(struct pw_store *s, sqlite3_stmt *q, int o, const struct pw_access *a)
{
	bind_text(q, o + 1, a->boot_id);
	sqlite3_bind_int64(q, o + 2, (sqlite3_int64)a->access_id);
	if (a->session_id)
		sqlite3_bind_int64(q, o + 3, a->session_id);
	else
		sqlite3_bind_null(q, o + 3);
	bind_id(q, o + 4, a->audit_session);
	bind_id(q, o + 5, a->loginuid);
	sqlite3_bind_int64(q, o + 6, a->uid);
	bind_text(q, o + 7, a->user);
	sqlite3_bind_int64(q, o + 8, a->pid);
	sqlite3_bind_int64(q, o + 9, a->ppid);
	bind_text(q, o + 10, a->comm);
	bind_text(q, o + 11, a->exe);
	bind_text(q, o + 12, a->args);
	bind_text(q, o + 13, a->dataset);
	bind_text(q, o + 14, a->path);
	sqlite3_bind_int64(q, o + 15, (sqlite3_int64)a->dev);
	sqlite3_bind_int64(q, o + 16, (sqlite3_int64)a->ino);
	sqlite3_bind_int(q, o + 17, a->honeytoken);
	sqlite3_bind_int64(q, o + 18, a->open_flags);
	sqlite3_bind_int64(q, o + 19, (sqlite3_int64)a->opened_ns);
	sqlite3_bind_int64(q, o + 20, (sqlite3_int64)a->last_ns);
	sqlite3_bind_int(q, o + 21, a->staging);
	sqlite3_bind_int64(q, o + 22, a->flags);
	if (a->closed_ns)
		sqlite3_bind_int64(q, o + 23, (sqlite3_int64)a->closed_ns);
	else
		sqlite3_bind_null(q, o + 23);
	sqlite3_bind_int64(q, o + 24, (sqlite3_int64)a->bytes_read);
	sqlite3_bind_int64(q, o + 25, (sqlite3_int64)a->bytes_written);
	sqlite3_bind_int64(q, o + 26, (sqlite3_int64)a->reads);
	sqlite3_bind_int64(q, o + 27, (sqlite3_int64)a->writes);
	bind_chain(s, q, o + 28, a->ancestors);
	bind_text(q, o + 29, a->euser);
}

/*
 * Step an INSERT whose every parameter was just bound, and reset it.  Its
 * bindings are left, not cleared (see run_all_bound()).
 */
static int step_insert(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* a[from..to) one at a time: how many could not be stored, marked in failed. */
static size_t insert_each(struct pw_store *s, const struct pw_access *const *a, size_t from,
			  size_t to, bool *failed)
{
	size_t i, lost = 0;

	for (i = from; i < to; i++) {
		bind_access(s, s->insert_one, 0, a[i]);
		if (step_insert(s->insert_one)) {
			lost++;
			if (failed)
				failed[i] = true;
		}
	}
	return lost;
}

size_t pw_store_access_open_many(struct pw_store *s, const struct pw_access *const *a, size_t n,
				 bool *failed)
{
	size_t i = 0, k, lost = 0;

	if (failed)
		for (k = 0; k < n; k++)
			failed[k] = false;
	if (!n)
		return 0;
	if (batch(s)) {
		if (failed)
			for (k = 0; k < n; k++)
				failed[k] = true;
		return n;
	}
	for (; n - i >= ACCESS_INSERT_ROWS; i += ACCESS_INSERT_ROWS) {
		for (k = 0; k < ACCESS_INSERT_ROWS; k++)
			bind_access(s, s->insert_many, (int)k * ACCESS_COLUMNS, a[i + k]);
		/* A statement that fails leaves none of its rows: then they
		 * go one at a time, and only those that cannot be stored are
		 * lost. */
		if (step_insert(s->insert_many))
			lost += insert_each(s, a, i, i + ACCESS_INSERT_ROWS, failed);
	}
	return lost + insert_each(s, a, i, n, failed);
}

int pw_store_access_open(struct pw_store *s, const struct pw_access *a)
{
	return pw_store_access_open_many(s, &a, 1, NULL) ? -1 : 0;
}

int pw_store_event(struct pw_store *s, const char *boot_id, const struct pw_event_rec *e)
{
	sqlite3_stmt *q = s->st[ST_EVENT_INSERT];

	if (batch(s))
		return -1;
	bind_text(q, 1, boot_id);
	bind_text(q, 2, e->kind);
	bind_text(q, 3, e->action);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)e->ts_ns);
	if (e->session_id)
		sqlite3_bind_int64(q, 5, e->session_id);
	bind_id(q, 6, e->audit_session);
	bind_id(q, 7, e->loginuid);
	sqlite3_bind_int64(q, 8, e->uid);
	bind_text(q, 9, e->user);
	sqlite3_bind_int64(q, 10, e->pid);
	sqlite3_bind_int64(q, 11, e->ppid);
	bind_text(q, 12, e->comm);
	bind_text(q, 13, e->exe);
	bind_text(q, 14, e->args);
	bind_text(q, 15, e->dataset);
	bind_text(q, 16, e->path);
	bind_text(q, 17, e->path2);
	bind_text(q, 18, e->dest_ip);
	if (e->dest_port)
		sqlite3_bind_int(q, 19, e->dest_port);
	sqlite3_bind_int64(q, 20, e->result);
	if (e->access_id)
		sqlite3_bind_int64(q, 21, (sqlite3_int64)e->access_id);
	if (e->count)
		sqlite3_bind_int64(q, 22, (sqlite3_int64)e->count);
	sqlite3_bind_int(q, 23, e->honeytoken);
	bind_chain(s, q, 24, e->ancestors);
	bind_text(q, 25, e->euser);
	return run(s, ST_EVENT_INSERT);
}

int pw_store_access_io(struct pw_store *s, const char *boot_id, uint64_t access_id,
		       uint64_t bytes_read, uint64_t bytes_written, uint64_t reads,
		       uint64_t writes, uint64_t last_ns, uint32_t flags, bool final)
{
	sqlite3_stmt *q = s->st[ST_ACCESS_IO];

	if (batch(s))
		return -1;
	bind_text(q, 1, boot_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)access_id);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)bytes_read);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)bytes_written);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)reads);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)writes);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)last_ns);
	sqlite3_bind_int(q, 8, final);
	sqlite3_bind_int64(q, 9, flags);
	return run(s, ST_ACCESS_IO);
}

int pw_store_is_quarantined(struct pw_store *s, const char *user)
{
	sqlite3_stmt *q = s->st[ST_QUARANTINED];
	int rc;

	sqlite3_bind_text(q, 1, user, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t pw_store_count(struct pw_store *s, const char *table)
{
	char sql[128];
	sqlite3_stmt *q;
	int64_t n = -1;

	if (strcmp(table, "sessions") && strcmp(table, "accesses") && strcmp(table, "quarantine") &&
	    strcmp(table, "events") && strcmp(table, "alerts") && strcmp(table, "baselines") &&
	    strcmp(table, "chains"))
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

static char *column_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? strdup((const char *)t) : NULL;
}

int pw_store_session_lookup(struct pw_store *s, const char *boot_id, uint32_t audit_session,
			    int64_t *session_id, char **user, char **service, char **rhost,
			    bool *closed)
{
	sqlite3_stmt *q = s->st[ST_SESSION_LOOKUP];
	int rc, found = 0;

	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, audit_session);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*session_id = sqlite3_column_int64(q, 0);
		*user = column_dup(q, 1);
		*service = column_dup(q, 2);
		*rhost = column_dup(q, 3);
		if (closed)
			*closed = sqlite3_column_int(q, 4);
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void pw_store_access_from_row(sqlite3_stmt *q, struct pw_access *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->boot_id, sizeof(a->boot_id), "%s",
		 sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "");
	a->access_id = (uint64_t)sqlite3_column_int64(q, 1);
	a->session_id = sqlite3_column_int64(q, 2);
	a->audit_session = sqlite3_column_type(q, 3) == SQLITE_NULL ?
				   PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 3);
	a->loginuid = sqlite3_column_type(q, 4) == SQLITE_NULL ?
			      PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 4);
	a->uid = (uint32_t)sqlite3_column_int64(q, 5);
	a->pid = (uint32_t)sqlite3_column_int64(q, 6);
	a->ppid = (uint32_t)sqlite3_column_int64(q, 7);
	a->open_flags = (uint32_t)sqlite3_column_int64(q, 8);
	snprintf(a->comm, sizeof(a->comm), "%s",
		 sqlite3_column_text(q, 9) ? (const char *)sqlite3_column_text(q, 9) : "");
	a->user = column_dup(q, 10);
	a->exe = column_dup(q, 11);
	a->args = column_dup(q, 12);
	a->dataset = column_dup(q, 13);
	a->path = column_dup(q, 14);
	a->dev = (uint64_t)sqlite3_column_int64(q, 15);
	a->ino = (uint64_t)sqlite3_column_int64(q, 16);
	a->honeytoken = sqlite3_column_int(q, 17);
	a->staging = sqlite3_column_int(q, 18);
	a->flags = (uint32_t)sqlite3_column_int64(q, 19);
	a->opened_ns = (uint64_t)sqlite3_column_int64(q, 20);
	a->last_ns = (uint64_t)sqlite3_column_int64(q, 21);
	a->closed_ns = (uint64_t)sqlite3_column_int64(q, 22);
	a->bytes_read = (uint64_t)sqlite3_column_int64(q, 23);
	a->bytes_written = (uint64_t)sqlite3_column_int64(q, 24);
	a->reads = (uint64_t)sqlite3_column_int64(q, 25);
	a->writes = (uint64_t)sqlite3_column_int64(q, 26);
	a->service = column_dup(q, 27);
	a->rhost = column_dup(q, 28);
	a->ancestors = column_dup(q, 29);
	a->euser = column_dup(q, 30);
}

int pw_store_access_load(struct pw_store *s, const char *boot_id, uint64_t access_id,
			 struct pw_access *a)
{
	sqlite3_stmt *q = s->st[ST_ACCESS_LOAD];
	int rc;

	memset(a, 0, sizeof(*a));
	sqlite3_bind_text(q, 1, boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)access_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		pw_store_access_from_row(q, a);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int64_t exec_changes(struct pw_store *s, const char *sql, sqlite3_int64 arg)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, arg);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? sqlite3_changes64(s->db) : -1;
}

static uint64_t pragma_u64(struct pw_store *s, const char *pragma)
{
	sqlite3_stmt *q;
	uint64_t v = 0;

	if (sqlite3_prepare_v2(s->db, pragma, -1, &q, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

uint64_t pw_store_disk_bytes(struct pw_store *s)
{
	const char *name = sqlite3_db_filename(s->db, "main");
	char wal[4200];
	struct stat st;
	uint64_t total = 0;

	if (!name || !*name)
		return 0;
	if (stat(name, &st) == 0)
		total += (uint64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", name);
	if (stat(wal, &st) == 0)
		total += (uint64_t)st.st_size;
	return total;
}

int64_t pw_store_prune(struct pw_store *s, uint64_t now_ns, uint64_t max_age_ns,
		       uint64_t max_bytes)
{
	int64_t total = 0, n;
	int round;

	if (pw_store_flush(s))
		return -1;
	if (max_age_ns && max_age_ns < now_ns) {
		sqlite3_int64 cut = (sqlite3_int64)(now_ns - max_age_ns);

		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return -1;
		n = exec_changes(s, "DELETE FROM accesses WHERE last_ns < ?1", cut);
		total += n > 0 ? n : 0;
		n = exec_changes(s, "DELETE FROM events WHERE ts_ns < ?1", cut);
		total += n > 0 ? n : 0;
		n = exec_changes(s, "DELETE FROM alerts WHERE time_ns < ?1", cut);
		total += n > 0 ? n : 0;
		n = exec_changes(s, "DELETE FROM sessions WHERE coalesce(closed_ns, opened_ns) < ?1 "
				 "AND closed_ns IS NOT NULL AND id NOT IN "
				 "(SELECT session_id FROM accesses WHERE session_id IS NOT NULL)", cut);
		total += n > 0 ? n : 0;
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	/* Over the size cap: drop the oldest tenth at a time. */
	for (round = 0; max_bytes && round < 20; round++) {
		uint64_t used = pragma_u64(s, "PRAGMA page_count") * pragma_u64(s, "PRAGMA page_size") -
				pragma_u64(s, "PRAGMA freelist_count") * pragma_u64(s, "PRAGMA page_size");

		if (used <= max_bytes)
			break;
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return -1;
		n = exec_changes(s, "DELETE FROM accesses WHERE id IN (SELECT id FROM accesses "
				 "ORDER BY id LIMIT max(1, (SELECT count(*) FROM accesses) / 10))", 0);
		total += n > 0 ? n : 0;
		n = exec_changes(s, "DELETE FROM events WHERE id IN (SELECT id FROM events "
				 "ORDER BY id LIMIT max(1, (SELECT count(*) FROM events) / 10))", 0);
		total += n > 0 ? n : 0;
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (n <= 0 && total == 0)
			break;
	}
	if (!total)
		return 0;
	/* Chains no row names any more; those still named stay, so the
	 * cache is emptied in any case. */
	forget_chains(s);
	if (sqlite3_exec(s->db, "DELETE FROM chains WHERE id NOT IN "
			 "(SELECT chain_id FROM accesses WHERE chain_id IS NOT NULL "
			 "UNION SELECT chain_id FROM events WHERE chain_id IS NOT NULL)",
			 NULL, NULL, NULL) == SQLITE_OK)
		total += sqlite3_changes64(s->db);
	sqlite3_exec(s->db, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE)", NULL,
		     NULL, NULL);
	return total;
}

int pw_store_alert(struct pw_store *s, const char *boot_id, const struct pw_alert *al,
		   bool quarantined, uint64_t stored_ns)
{
	sqlite3_stmt *q = s->st[ST_ALERT_INSERT];

	if (batch(s))
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)al->time_ns);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)stored_ns);
	bind_text(q, 3, boot_id);
	sqlite3_bind_text(q, 4, al->rule_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 5, pw_severity_name(al->severity), -1, SQLITE_STATIC);
	bind_text(q, 6, al->user[0] ? al->user : NULL);
	bind_id(q, 7, al->audit_session);
	if (al->session_id)
		sqlite3_bind_int64(q, 8, al->session_id);
	sqlite3_bind_double(q, 9, al->score);
	sqlite3_bind_text(q, 10, al->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 11, quarantined);
	return run(s, ST_ALERT_INSERT);
}

int pw_store_baseline_put(struct pw_store *s, const char *kind, const char *principal,
			  const char *dataset, const char *json, uint64_t updated_ns)
{
	enum stmt_id id = json ? ST_BASELINE_PUT : ST_BASELINE_DELETE;
	sqlite3_stmt *q = s->st[id];

	if (batch(s))
		return -1;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, principal, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, dataset, -1, SQLITE_TRANSIENT);
	if (json) {
		sqlite3_bind_text(q, 4, json, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)updated_ns);
	}
	return run(s, id);
}

/* Run a query that is not prepared with the store (the CLI's read-only
 * handle has none) and pass each row to fn; stops at fn's first non-zero
 * return.  Returns rows seen, or -1. */
static int64_t each_row(struct pw_store *s, const char *sql,
			int (*fn)(void *ctx, sqlite3_stmt *q), void *ctx)
{
	sqlite3_stmt *q;
	int64_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		n++;
		if (fn(ctx, q))
			break;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

struct baseline_visit {
	pw_store_baseline_fn fn;
	void *ctx;
};

static const char *column_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

static int visit_baseline(void *ctx, sqlite3_stmt *q)
{
	struct baseline_visit *v = ctx;

	return v->fn(v->ctx, column_text(q, 0), column_text(q, 1), column_text(q, 2),
		     column_text(q, 3));
}

int64_t pw_store_baselines_load(struct pw_store *s, pw_store_baseline_fn fn, void *ctx)
{
	struct baseline_visit v = { fn, ctx };

	return each_row(s, "SELECT kind, principal, dataset, data FROM baselines ORDER BY rowid",
			visit_baseline, &v);
}

int pw_store_quarantine_add(struct pw_store *s, const char *user, uint64_t since_ns,
			    const char *reason)
{
	sqlite3_stmt *q = s->st[ST_QUARANTINE_ADD];

	if (batch(s))
		return -1;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)since_ns);
	sqlite3_bind_text(q, 3, reason, -1, SQLITE_TRANSIENT);
	if (run(s, ST_QUARANTINE_ADD))
		return -1;
	return sqlite3_changes(s->db) > 0;
}

int pw_store_quarantine_release(struct pw_store *s, const char *user)
{
	sqlite3_stmt *q = s->st[ST_QUARANTINE_RELEASE];

	if (batch(s))
		return -1;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_TRANSIENT);
	if (run(s, ST_QUARANTINE_RELEASE))
		return -1;
	return sqlite3_changes(s->db) > 0;
}

struct quarantine_visit {
	pw_store_quarantine_fn fn;
	void *ctx;
};

static int visit_quarantine(void *ctx, sqlite3_stmt *q)
{
	struct quarantine_visit *v = ctx;
	struct pw_quarantine e = {
		.user = column_text(q, 0),
		.since_ns = (uint64_t)sqlite3_column_int64(q, 1),
		.reason = column_text(q, 2),
	};

	return v->fn(v->ctx, &e);
}

int64_t pw_store_quarantine_list(struct pw_store *s, pw_store_quarantine_fn fn, void *ctx)
{
	struct quarantine_visit v = { fn, ctx };

	return each_row(s, "SELECT user, since_ns, reason FROM quarantine ORDER BY since_ns, user",
			visit_quarantine, &v);
}

int pw_store_last_activity(struct pw_store *s, uint64_t *ns)
{
	sqlite3_stmt *q;
	int rc, found = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT max(coalesce((SELECT max(last_ns) FROM accesses), 0), "
			       "coalesce((SELECT max(ts_ns) FROM events), 0), "
			       "coalesce((SELECT max(coalesce(closed_ns, opened_ns)) FROM sessions), 0))",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0) {
		*ns = (uint64_t)sqlite3_column_int64(q, 0);
		found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? found : -1;
}
