// SPDX-License-Identifier: GPL-2.0
/*
 * piiwatch: review what piiwatchd recorded.  Reads the store read-only
 * (while the daemon writes) and talks to the daemon's control socket.
 */
#include <errno.h>
#include <getopt.h>
#include <json.h>
#include <locale.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/types.h>

#include "ancestors.h"
#include "cli_common.h"
#include "ecs.h"
#include "event_text.h"
#include "piiwatch.h"
#include "policy.h"
#include "replay.h"
#include "report_html.h"
#include "store.h"
#include "util.h"

#define PW_VERSION "0.1.0"

struct cli {
	const char *store_path;
	const char *control_path;
	bool json;
	uint64_t limit;
	struct pw_filter f;
	const char *html;
	int severity;           /* alerts at least this severe, 0: any */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: piiwatch [OPTION]... COMMAND [ARG]...\n"
		"Review who read or changed protected customer data.\n"
		"\n"
		"Commands:\n"
		"  accesses            accesses to protected files, oldest first\n"
		"  events              changes to protected files, connections after protected\n"
		"                      reads, programs run in login sessions\n"
		"  sessions            login sessions recorded through pam_piiwatch\n"
		"  top                 users, files, programs and source hosts by bytes read\n"
		"  alerts              the detector's alerts (exit 1 when some match, 0 when none)\n"
		"  show SESSION        the whole story of one session (its number in `sessions`)\n"
		"  show alert ID       an alert and the story of its session\n"
		"  quarantine list     users refused at login by pam_piiwatch\n"
		"  quarantine release USER  let a quarantined user log in again (root only)\n"
		"  report --html FILE  a self-contained HTML report\n"
		"  status              the daemon's health: hook mode, 32-bit calls, events/s,\n"
		"                      lost events, store\n"
		"  reload              make the daemon re-read its policy (root only)\n"
		"  policy check FILE   validate a policy file; errors and warnings as FILE:LINE\n"
		"  replay FILE...      the detector over JSON Lines: alerts (replay --help)\n"
		"\n"
		"Filters (every listing):\n"
		"      --since WHEN    from WHEN: an age (2h, 30m, 7d), @EPOCH, or a local time\n"
		"                      YYYY-MM-DD[ HH:MM[:SS]] (Z for UTC)\n"
		"      --until WHEN    up to WHEN\n"
		"      --user USER     only this login user\n"
		"      --dataset NAME  only this dataset\n"
		"      --file PATH     this file, everything below a directory, or a glob\n"
		"                      (* also matches /)\n"
		"      --host HOST     sessions from this remote host\n"
		"      --severity SEV  alerts at least this severe: low, medium, high, critical\n"
		"Options:\n"
		"      --store PATH    the store (default %s)\n"
		"      --control-socket PATH  the daemon's control socket (default %s)\n"
		"  -n, --limit N       at most N rows, the newest (default 1000)\n"
		"      --json          JSON Lines, with the field names of the daemon's JSON\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Times are local (TZ).  On a terminal, colour marks honeytokens unless NO_COLOR\n"
		"is set, and a table wider than the window (COLUMNS when set) has PROGRAM and\n"
		"FILE shortened from the left, then PID, SES, FROM and DATASET left out; a pipe\n"
		"gets everything.\n"
		"Exit status: 0 success, 1 alerts found (alerts), a policy with errors (policy\n"
		"check, reload) or a user not quarantined (quarantine release), 2 bad usage or\n"
		"no such session or alert, 3 the store or the daemon cannot be read (missing,\n"
		"locked, damaged or of another schema version), 4 the command needs root.\n",
		PW_DEFAULT_STORE, PW_DEFAULT_CONTROL_SOCKET);
}

/* ---- filters as SQL ---- */

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, const struct cli *c)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: %s: %s\n", c->store_path, sqlite3_errmsg(db));
		return NULL;
	}
	pw_cli_bind_filter(q, &c->f, c->limit);
	return q;
}

/* Step with an error message for a store that fails mid-read. */
static int step(sqlite3_stmt *q, const struct cli *c)
{
	int rc = sqlite3_step(q);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fprintf(stderr, "piiwatch: reading %s: %s%s\n", c->store_path,
			sqlite3_errmsg(sqlite3_db_handle(q)), pw_store_error_hint(rc));
	return rc;
}

static void print_json(json_object *o)
{
	char *line = o ? pw_ecs_to_line(o) : NULL;

	if (line)
		printf("%s\n", line);
	free(line);
	json_object_put(o);
}

static const char *text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

/* ---- accesses ---- */

static const char accesses_sql[] =
	"SELECT * FROM (SELECT " PW_STORE_ACCESS_COLUMNS ", a.id AS row_id FROM " PW_STORE_ACCESS_FROM
	" WHERE (?1 IS NULL OR a.opened_ns >= ?1) AND (?2 IS NULL OR a.opened_ns <= ?2)"
	" AND (?3 IS NULL OR coalesce(s.user, a.user) = ?3) AND (?4 IS NULL OR a.dataset = ?4)"
	" AND " PW_FILE_MATCH("a.path") " AND (?6 IS NULL OR s.rhost = ?6)"
	" ORDER BY a.opened_ns DESC, a.id DESC LIMIT ?7) ORDER BY 21, row_id";

static void access_session(const struct pw_access *a, char *out, size_t n)
{
	if (a->audit_session == PW_NO_ID)
		snprintf(out, n, "none");
	else
		snprintf(out, n, "%u", a->audit_session);
}

/* Columns a narrow terminal loses first: PID, SES, FROM, DATASET. */
static struct pw_table *accesses_table(void)
{
	static const char *const hdr[] = { "OPENED", "USER", "SES", "FROM", "PROGRAM", "PID",
					   "READ", "WRITTEN", "DATASET", "FILE" };
	static const int drop[] = { 5, 2, 3, 8 };
	struct pw_table *t = pw_table_new(10, hdr, 9);

	pw_table_shrink(t, 4, 10, false);
	pw_table_drop(t, drop, 4);
	return t;
}

static int cmd_accesses(sqlite3 *db, const struct cli *c)
{
	struct pw_table *t = c->json ? NULL : accesses_table();
	sqlite3_stmt *q = prepare(db, accesses_sql, c);
	int rc;

	if (!q) {
		pw_table_free(t);
		return PW_EXIT_STORE;
	}
	while ((rc = step(q, c)) == SQLITE_ROW) {
		struct pw_access a;

		pw_store_access_from_row(q, &a);
		if (c->json) {
			print_json(pw_ecs_from_access(&a, NULL));
		} else {
			char when[32], ses[16], pid[16], n[32], rd[80], wr[32];
			const char *cells[10];

			snprintf(pid, sizeof(pid), "%u", a.pid);
			access_session(&a, ses, sizeof(ses));
			/* Reads through a mapping are not counted: what is shown
			 * is a lower bound.  The file name stays last, whole, so
			 * that shortening keeps its end; a honeytoken's dataset
			 * is "honeytoken". */
			snprintf(rd, sizeof(rd), "%s%s%s%s%s", pw_cli_bytes(a.bytes_read, n, sizeof(n)),
				 a.flags & PW_IO_MMAP ? " (mapped)" : "",
				 a.flags & PW_IO_AIO ? " (AIO)" : "",
				 a.flags & PW_IO_CLONE ? " (reflink)" : "",
				 a.flags & PW_IO_OVERLAY ? " (overlay)" : "");
			cells[0] = pw_cli_time((int64_t)a.opened_ns, when, sizeof(when));
			cells[1] = a.user ? a.user : "?";
			cells[2] = ses;
			cells[3] = a.rhost ? a.rhost : "-";
			cells[4] = a.exe ? a.exe : a.comm;
			cells[5] = pid;
			cells[6] = rd;
			cells[7] = pw_cli_bytes(a.bytes_written, wr, sizeof(wr));
			cells[8] = a.dataset ? a.dataset : "?";
			cells[9] = a.path ? a.path : "?";
			pw_table_add(t, cells, a.honeytoken ? "\033[31m" : NULL);
		}
		pw_access_free_strings(&a);
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		pw_table_print(t, stdout);
	pw_table_free(t);
	return rc == SQLITE_DONE ? PW_EXIT_OK : PW_EXIT_STORE;
}

/* ---- events ---- */

#define EVENT_COLUMNS                                                                          \
	"e.id, e.kind, e.action, e.ts_ns, e.session_id, e.audit_session, e.loginuid, e.uid,"   \
	" coalesce(s.user, e.user), e.pid, e.ppid, e.comm, e.exe, e.args, e.dataset, e.path,"  \
	" e.path2, e.dest_ip, e.dest_port, e.result, e.access_id, e.count, e.honeytoken, s.rhost," \
	" e.boot_id, c.ancestors, e.euser"
#define EVENT_FROM                                                                             \
	"events e LEFT JOIN sessions s ON s.id = e.session_id LEFT JOIN chains c ON c.id = e.chain_id"

static const char events_sql[] =
	"SELECT * FROM (SELECT " EVENT_COLUMNS " FROM " EVENT_FROM
	" WHERE (?1 IS NULL OR e.ts_ns >= ?1) AND (?2 IS NULL OR e.ts_ns <= ?2)"
	" AND (?3 IS NULL OR coalesce(s.user, e.user) = ?3) AND (?4 IS NULL OR e.dataset = ?4)"
	" AND (?5 IS NULL OR " PW_FILE_MATCH("e.path") ") AND (?6 IS NULL OR s.rhost = ?6)"
	" ORDER BY e.ts_ns DESC, e.id DESC LIMIT ?7) ORDER BY 4, 1";

static void event_from_row(sqlite3_stmt *q, struct pw_event_rec *e)
{
	memset(e, 0, sizeof(*e));
	e->kind = text(q, 1);
	e->action = sqlite3_column_text(q, 2) ? text(q, 2) : NULL;
	e->ts_ns = (uint64_t)sqlite3_column_int64(q, 3);
	e->session_id = sqlite3_column_int64(q, 4);
	e->audit_session = sqlite3_column_type(q, 5) == SQLITE_NULL ?
				   PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 5);
	e->loginuid = sqlite3_column_type(q, 6) == SQLITE_NULL ?
			      PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 6);
	e->uid = (uint32_t)sqlite3_column_int64(q, 7);
	e->user = sqlite3_column_text(q, 8) ? text(q, 8) : NULL;
	e->pid = (uint32_t)sqlite3_column_int64(q, 9);
	e->ppid = (uint32_t)sqlite3_column_int64(q, 10);
	e->comm = text(q, 11);
	e->exe = sqlite3_column_text(q, 12) ? text(q, 12) : NULL;
	e->args = sqlite3_column_text(q, 13) ? text(q, 13) : NULL;
	e->dataset = sqlite3_column_text(q, 14) ? text(q, 14) : NULL;
	e->path = sqlite3_column_text(q, 15) ? text(q, 15) : NULL;
	e->path2 = sqlite3_column_text(q, 16) ? text(q, 16) : NULL;
	e->dest_ip = sqlite3_column_text(q, 17) ? text(q, 17) : NULL;
	e->dest_port = sqlite3_column_int(q, 18);
	e->result = sqlite3_column_int64(q, 19);
	e->access_id = (uint64_t)sqlite3_column_int64(q, 20);
	e->count = (uint64_t)sqlite3_column_int64(q, 21);
	e->honeytoken = sqlite3_column_int(q, 22);
	e->ancestors = sqlite3_column_text(q, 25) ? text(q, 25) : NULL;
	e->euser = sqlite3_column_text(q, 26) ? text(q, 26) : NULL;
}

/* "rename /a -> /b", "connect 198.51.100.9:443", "exec /usr/bin/tar -czf ..." */
static void event_what(const struct pw_event_rec *e, char *out, size_t n)
{
	if (strcmp(e->kind, "connect") == 0)
		snprintf(out, n, "%s %s port %d%s", e->action ? e->action : "connect",
			 e->dest_ip ? e->dest_ip : "?", e->dest_port,
			 e->result < 0 && e->result != -115 ? " (failed)" : "");
	else if (strcmp(e->kind, "exec") == 0)
		snprintf(out, n, "exec %s", e->args ? e->args : e->exe ? e->exe : "?");
	else if (strcmp(e->kind, "change") == 0)
		snprintf(out, n, "%s %s", e->action ? e->action : "change",
			 e->path2 ? e->path2 : e->path ? e->path : "?");
	else if (strcmp(e->kind, "mmap") == 0)
		snprintf(out, n, "mmap %s (%llu bytes mapped, reads not countable)",
			 e->path ? e->path : "?", (unsigned long long)e->count);
	else if (strcmp(e->kind, "coredump") == 0)
		snprintf(out, n, "core dumped (signal %lld) after reading protected data",
			 (long long)e->result);
	else
		snprintf(out, n, "%s %s", e->kind, e->action ? e->action : "");
}

/* Columns a narrow terminal loses first: PID, SES, DATASET. */
static struct pw_table *events_table(void)
{
	static const char *const hdr[] = { "TIME", "USER", "SES", "PROGRAM", "PID", "DATASET",
					   "WHAT" };
	static const int drop[] = { 4, 2, 5 };
	struct pw_table *t = pw_table_new(7, hdr, 6);

	pw_table_shrink(t, 3, 10, false);
	/* What happened comes first ("connect 198.51.100.9 port 443") and
	 * keeps more room than the columns around it. */
	pw_table_shrink(t, 6, 40, true);
	pw_table_drop(t, drop, 3);
	return t;
}

static int cmd_events(sqlite3 *db, const struct cli *c)
{
	struct pw_table *t;
	sqlite3_stmt *q;
	int rc;

	if (!pw_cli_has_table(db, "events"))
		return PW_EXIT_OK;
	q = prepare(db, events_sql, c);
	if (!q)
		return PW_EXIT_STORE;
	t = c->json ? NULL : events_table();
	while ((rc = step(q, c)) == SQLITE_ROW) {
		struct pw_event_rec e;

		event_from_row(q, &e);
		if (c->json) {
			print_json(pw_ecs_from_event(&e, NULL, text(q, 24)));
		} else {
			char when[32], ses[16], pid[16], what[9000];
			const char *cells[7];

			snprintf(pid, sizeof(pid), "%u", e.pid);
			if (e.audit_session == PW_NO_ID)
				snprintf(ses, sizeof(ses), "none");
			else
				snprintf(ses, sizeof(ses), "%u", e.audit_session);
			event_what(&e, what, sizeof(what));
			cells[0] = pw_cli_time((int64_t)e.ts_ns, when, sizeof(when));
			cells[1] = e.user ? e.user : "?";
			cells[2] = ses;
			cells[3] = e.exe ? e.exe : e.comm;
			cells[4] = pid;
			cells[5] = e.dataset ? e.dataset : "-";
			cells[6] = what;
			pw_table_add(t, cells, e.honeytoken ? "\033[31m" : NULL);
		}
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		pw_table_print(t, stdout);
	pw_table_free(t);
	return rc == SQLITE_DONE ? PW_EXIT_OK : PW_EXIT_STORE;
}

/* ---- sessions ---- */

/* What session_from_row() reads, columns 0 to 14. */
#define SESSION_COLUMNS                                                                     \
	"s.id, s.boot_id, s.audit_session, s.loginuid, s.user, s.uid, s.service, s.rhost,"  \
	" s.ruser, s.tty, s.pid, s.opened_ns, s.closed_ns, s.open_record, s.close_record"

/*
 * The rows of a session (id, found with boot and audit session) in table
 * t: found through t's (boot_id, audit_session) index, since a session's
 * rows are joined to it by its audit session, then kept by the session's
 * id.  An index on session_id alone would cost the daemon a tenth of the
 * rows it stores per second.
 */
#define OF_SESSION(t, boot, ases, id)                                                       \
	t ".boot_id = " boot " AND " t ".audit_session = " ases " AND " t ".session_id = " id
#define OF_SESSION_ID(t)                                                                   \
	"(" t ".boot_id, " t ".audit_session) = (SELECT boot_id, audit_session FROM sessions" \
	" WHERE id = ?8) AND " t ".session_id = ?8"

static const char sessions_sql[] =
	"SELECT * FROM (SELECT " SESSION_COLUMNS ","
	" (SELECT count(*) FROM accesses a"
	"  WHERE " OF_SESSION("a", "s.boot_id", "s.audit_session", "s.id") "),"
	" (SELECT coalesce(sum(bytes_read), 0) FROM accesses a"
	"  WHERE " OF_SESSION("a", "s.boot_id", "s.audit_session", "s.id") ")"
	" FROM sessions s"
	" WHERE (?1 IS NULL OR coalesce(s.opened_ns, s.closed_ns) >= ?1)"
	" AND (?2 IS NULL OR coalesce(s.opened_ns, s.closed_ns) <= ?2)"
	" AND (?3 IS NULL OR s.user = ?3) AND (?6 IS NULL OR s.rhost = ?6)"
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM accesses a"
	"      WHERE " OF_SESSION("a", "s.boot_id", "s.audit_session", "s.id") " AND a.dataset = ?4))"
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM accesses a"
	"      WHERE " OF_SESSION("a", "s.boot_id", "s.audit_session", "s.id")
	"      AND " PW_FILE_MATCH("a.path") "))"
	" ORDER BY s.id DESC LIMIT ?7) ORDER BY 1";

/* The session's open record, or its close record (time and record id
 * are the record's own). */
static void session_from_row(sqlite3_stmt *q, enum pw_record_type type,
			     struct pw_session_record *r)
{
	bool open = type == PW_REC_SESSION_OPEN;

	memset(r, 0, sizeof(*r));
	r->type = type;
	snprintf(r->boot_id, sizeof(r->boot_id), "%s", text(q, 1));
	r->sessionid = sqlite3_column_type(q, 2) == SQLITE_NULL ?
			       PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 2);
	r->loginuid = sqlite3_column_type(q, 3) == SQLITE_NULL ?
			      PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 3);
	snprintf(r->user, sizeof(r->user), "%s", text(q, 4));
	r->uid = sqlite3_column_type(q, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 5);
	snprintf(r->service, sizeof(r->service), "%s", text(q, 6));
	snprintf(r->rhost, sizeof(r->rhost), "%s", text(q, 7));
	snprintf(r->ruser, sizeof(r->ruser), "%s", text(q, 8));
	snprintf(r->tty, sizeof(r->tty), "%s", text(q, 9));
	r->pid = (uint32_t)sqlite3_column_int64(q, 10);
	r->time_ns = (uint64_t)sqlite3_column_int64(q, open ? 11 : 12);
	snprintf(r->id, sizeof(r->id), "%s", text(q, open ? 13 : 14));
}

static bool session_opened(sqlite3_stmt *q)
{
	return sqlite3_column_type(q, 11) != SQLITE_NULL;
}

static bool session_closed(sqlite3_stmt *q)
{
	return sqlite3_column_type(q, 12) != SQLITE_NULL;
}

/* A session as one JSON object: its open record (its close record while
 * the open waits in the spool) with the store's session number,
 * event.start and event.end, and what was read in it. */
static json_object *session_json(sqlite3_stmt *q, struct pw_session_record *r)
{
	json_object *o, *close = NULL, *ev, *pw, *t;

	if (session_closed(q)) {
		session_from_row(q, PW_REC_SESSION_CLOSE, r);
		close = pw_ecs_from_session_row(r, sqlite3_column_int64(q, 0), NULL);
	}
	if (session_opened(q)) {
		session_from_row(q, PW_REC_SESSION_OPEN, r);
		o = pw_ecs_from_session_row(r, sqlite3_column_int64(q, 0), NULL);
	} else {
		o = json_object_get(close);
	}
	if (o && json_object_object_get_ex(o, "event", &ev) &&
	    json_object_object_get_ex(o, "piiwatch", &pw)) {
		if (session_opened(q) && json_object_object_get_ex(o, "@timestamp", &t))
			json_object_object_add(ev, "start", json_object_get(t));
		if (close && json_object_object_get_ex(close, "@timestamp", &t))
			json_object_object_add(ev, "end", json_object_get(t));
		json_object_object_add(pw, "accesses", json_object_new_int64(sqlite3_column_int64(q, 15)));
		json_object_object_add(pw, "bytes_read", json_object_new_int64(sqlite3_column_int64(q, 16)));
	}
	json_object_put(close);
	return o;
}

static int cmd_sessions(sqlite3 *db, const struct cli *c)
{
	static const char *const hdr[] = { "ID", "USER", "SERVICE", "FROM", "AUDIT SES",
					   "OPENED", "CLOSED", "ACCESSES", "READ" };
	struct pw_table *t = c->json ? NULL : pw_table_new(9, hdr, -1);
	sqlite3_stmt *q = prepare(db, sessions_sql, c);
	int rc;

	if (!q) {
		pw_table_free(t);
		return PW_EXIT_STORE;
	}
	while ((rc = step(q, c)) == SQLITE_ROW) {
		if (c->json) {
			struct pw_session_record *r = malloc(sizeof(*r));

			if (!r)
				break;
			print_json(session_json(q, r));
			free(r);
		} else {
			char id[24], opened[32], closed[32], n[24], rd[32];
			const char *cells[9];

			snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(q, 0));
			snprintf(n, sizeof(n), "%lld", (long long)sqlite3_column_int64(q, 15));
			cells[0] = id;
			cells[1] = text(q, 4);
			cells[2] = text(q, 6);
			cells[3] = *text(q, 7) ? text(q, 7) : "-";
			cells[4] = *text(q, 2) ? text(q, 2) : "none";
			/* A close whose open still waits in the spool has no open time. */
			cells[5] = pw_cli_time(sqlite3_column_int64(q, 11), opened, sizeof(opened));
			cells[6] = !session_closed(q) ? "open" :
				   pw_cli_time(sqlite3_column_int64(q, 12), closed, sizeof(closed));
			cells[7] = n;
			cells[8] = pw_cli_bytes((uint64_t)sqlite3_column_int64(q, 16), rd, sizeof(rd));
			pw_table_add(t, cells, NULL);
		}
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		pw_table_print(t, stdout);
	pw_table_free(t);
	return rc == SQLITE_DONE ? PW_EXIT_OK : PW_EXIT_STORE;
}

/* ---- top ---- */

static int top_section(sqlite3 *db, const struct cli *c, const char *title, const char *key,
		       json_object *jout)
{
	static const char *const hdr[] = { "BYTES READ", "ACCESSES", "FILES", "NAME" };
	char sql[2048];
	struct pw_table *t = c->json ? NULL : pw_table_new(4, hdr, 3);
	json_object *arr = c->json ? json_object_new_array() : NULL;
	sqlite3_stmt *q;
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT %s AS k, sum(a.bytes_read) AS b, count(*), count(DISTINCT a.path)"
		 " FROM " PW_STORE_ACCESS_FROM
		 " WHERE (?1 IS NULL OR a.opened_ns >= ?1) AND (?2 IS NULL OR a.opened_ns <= ?2)"
		 " AND (?3 IS NULL OR coalesce(s.user, a.user) = ?3) AND (?4 IS NULL OR a.dataset = ?4)"
		 " AND " PW_FILE_MATCH("a.path") " AND (?6 IS NULL OR s.rhost = ?6)"
		 " AND a.staging = 0 GROUP BY k ORDER BY b DESC, k LIMIT min(?7, 10)",
		 key);
	q = prepare(db, sql, c);
	if (!q) {
		pw_table_free(t);
		json_object_put(arr);
		return PW_EXIT_STORE;
	}
	while ((rc = step(q, c)) == SQLITE_ROW) {
		if (c->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(text(q, 0)));
			json_object_object_add(o, "bytes_read", json_object_new_int64(sqlite3_column_int64(q, 1)));
			json_object_object_add(o, "accesses", json_object_new_int64(sqlite3_column_int64(q, 2)));
			json_object_object_add(o, "files", json_object_new_int64(sqlite3_column_int64(q, 3)));
			json_object_array_add(arr, o);
		} else {
			char b[32], n[24], f[24];
			const char *cells[4];

			snprintf(n, sizeof(n), "%lld", (long long)sqlite3_column_int64(q, 2));
			snprintf(f, sizeof(f), "%lld", (long long)sqlite3_column_int64(q, 3));
			cells[0] = pw_cli_bytes((uint64_t)sqlite3_column_int64(q, 1), b, sizeof(b));
			cells[1] = n;
			cells[2] = f;
			cells[3] = *text(q, 0) ? text(q, 0) : "-";
			pw_table_add(t, cells, NULL);
		}
	}
	sqlite3_finalize(q);
	if (c->json) {
		json_object_object_add(jout, title, arr);
	} else {
		printf("%s%s\n", pw_cli_colour() ? "\033[1m" : "", title);
		if (pw_cli_colour())
			fputs(PW_COLOUR_RESET, stdout);
		pw_table_print(t, stdout);
		printf("\n");
	}
	pw_table_free(t);
	return rc == SQLITE_DONE ? PW_EXIT_OK : PW_EXIT_STORE;
}

static int cmd_top(sqlite3 *db, const struct cli *c)
{
	json_object *o = c->json ? json_object_new_object() : NULL;
	int rc = top_section(db, c, "users", "coalesce(s.user, a.user)", o);

	if (rc == 0)
		rc = top_section(db, c, "files", "a.path", o);
	if (rc == 0)
		rc = top_section(db, c, "programs", "coalesce(a.exe, a.comm)", o);
	if (rc == 0)
		rc = top_section(db, c, "source_hosts", "coalesce(s.rhost, 'local or no session')", o);
	if (c->json && rc == 0)
		print_json(o);
	else
		json_object_put(o);
	return rc;
}

/* ---- alerts ---- */

#define ALERT_COLUMNS                                                                     \
	"al.id, al.time_ns, al.rule_id, al.severity, al.user, al.audit_session, al.session_id," \
	" al.score, al.reason, al.quarantined, s.rhost"
#define ALERT_FROM "alerts al LEFT JOIN sessions s ON s.id = al.session_id"
/* Severities stored as names, ranked for --severity. */
#define ALERT_RANK                                                                        \
	"(CASE al.severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3"        \
	" WHEN 'critical' THEN 4 ELSE 0 END)"

static const char alerts_sql[] =
	"SELECT * FROM (SELECT " ALERT_COLUMNS " FROM " ALERT_FROM
	" WHERE (?1 IS NULL OR al.time_ns >= ?1) AND (?2 IS NULL OR al.time_ns <= ?2)"
	" AND (?3 IS NULL OR al.user = ?3) AND (?6 IS NULL OR s.rhost = ?6)"
	" AND " ALERT_RANK " >= ?8"
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM accesses a"
	"      WHERE " OF_SESSION("a", "al.boot_id", "al.audit_session", "al.session_id")
	" AND a.dataset = ?4))"
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM accesses a"
	"      WHERE " OF_SESSION("a", "al.boot_id", "al.audit_session", "al.session_id")
	"      AND " PW_FILE_MATCH("a.path") "))"
	" ORDER BY al.time_ns DESC, al.id DESC LIMIT ?7) ORDER BY 2, 1";

static void alert_from_row(sqlite3_stmt *q, struct pw_alert *al)
{
	enum pw_severity sev = PW_SEV_LOW;

	memset(al, 0, sizeof(*al));
	al->time_ns = (uint64_t)sqlite3_column_int64(q, 1);
	snprintf(al->rule_id, sizeof(al->rule_id), "%s", text(q, 2));
	if (pw_severity_from_name(text(q, 3), &sev) == 0)
		al->severity = sev;
	snprintf(al->user, sizeof(al->user), "%s", text(q, 4));
	al->audit_session = sqlite3_column_type(q, 5) == SQLITE_NULL ?
				    PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 5);
	al->session_id = sqlite3_column_int64(q, 6);
	al->score = sqlite3_column_double(q, 7);
	snprintf(al->reason, sizeof(al->reason), "%s", text(q, 8));
}

static int cmd_alerts(sqlite3 *db, const struct cli *c)
{
	static const char *const hdr[] = { "ID", "TIME", "SEVERITY", "RULE", "USER", "SESSION",
					   "SCORE", "REASON" };
	struct pw_table *t;
	sqlite3_stmt *q;
	int rc, found = 0;

	if (!pw_cli_has_table(db, "alerts"))
		return PW_EXIT_OK;
	q = prepare(db, alerts_sql, c);
	if (!q)
		return PW_EXIT_STORE;
	sqlite3_bind_int(q, 8, c->severity);
	t = c->json ? NULL : pw_table_new(8, hdr, 7);
	while ((rc = step(q, c)) == SQLITE_ROW) {
		struct pw_alert al;

		found++;
		alert_from_row(q, &al);
		if (c->json) {
			json_object *o = pw_ecs_from_alert(&al, NULL);

			if (o)
				json_object_object_add(o, "piiwatch_alert_id",
						       json_object_new_int64(sqlite3_column_int64(q, 0)));
			print_json(o);
		} else {
			char id[24], when[32], ses[24], score[32], reason[1100];
			const char *cells[8];

			snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(q, 0));
			if (al.session_id)
				snprintf(ses, sizeof(ses), "%lld", (long long)al.session_id);
			else
				snprintf(ses, sizeof(ses), "-");
			snprintf(score, sizeof(score), "%.1f", al.score);
			snprintf(reason, sizeof(reason), "%s%s", al.reason,
				 sqlite3_column_int(q, 9) ? " [user quarantined]" : "");
			cells[0] = id;
			cells[1] = pw_cli_time((int64_t)al.time_ns, when, sizeof(when));
			cells[2] = pw_severity_name(al.severity);
			cells[3] = al.rule_id;
			cells[4] = al.user[0] ? al.user : "-";
			cells[5] = ses;
			cells[6] = score;
			cells[7] = reason;
			pw_table_add(t, cells, pw_cli_severity_colour((int)al.severity));
		}
	}
	sqlite3_finalize(q);
	pw_table_print(t, stdout);
	pw_table_free(t);
	if (rc != SQLITE_DONE)
		return PW_EXIT_STORE;
	/* For scripts: like a check, 1 means "something to look at". */
	return found ? PW_EXIT_FOUND : PW_EXIT_OK;
}

/* ---- show ---- */

/* One line of a session's story, in time order (seq keeps the order of
 * lines with the same time: qsort is not stable). */
struct story_item {
	int64_t ts;
	size_t seq;
	char *line;
	json_object *json;
};

static int cmp_story(const void *a, const void *b)
{
	const struct story_item *x = a, *y = b;

	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int add_story(struct story_item **items, size_t *n, int64_t ts, const char *line,
		     json_object *json)
{
	struct story_item *ni = realloc(*items, (*n + 1) * sizeof(*ni));

	if (!ni) {
		json_object_put(json);
		return -1;
	}
	*items = ni;
	ni[*n].ts = ts;
	ni[*n].seq = *n;
	ni[*n].line = strdup(line);
	ni[*n].json = json;
	(*n)++;
	return 0;
}

static int cmd_show(sqlite3 *db, const struct cli *c, const char *arg)
{
	struct story_item *items = NULL;
	size_t n = 0, i;
	sqlite3_stmt *q = NULL;
	uint64_t id;
	int rc = PW_EXIT_STORE, r;
	char sid[32];

	if (pw_parse_u64(arg, INT64_MAX, &id)) {
		fprintf(stderr, "piiwatch: show: expected a session number from `piiwatch sessions`, got '%s'\n",
			arg);
		return PW_EXIT_USAGE;
	}
	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	if (sqlite3_prepare_v2(db, "SELECT " SESSION_COLUMNS " FROM sessions s WHERE s.id = ?1", -1, &q,
			       NULL) != SQLITE_OK)
		goto cleanup;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
	r = step(q, c);
	if (r != SQLITE_ROW) {
		if (r == SQLITE_DONE)
			fprintf(stderr, "piiwatch: show: no session %s\n", sid);
		rc = r == SQLITE_DONE ? PW_EXIT_USAGE : PW_EXIT_STORE;
		goto cleanup;
	}
	{
		struct pw_session_record *rec = malloc(sizeof(*rec));
		char line[8192], when[32];

		if (!rec)
			goto cleanup;
		session_from_row(q, PW_REC_SESSION_OPEN, rec);
		snprintf(line, sizeof(line), "%s: %s via %s%s%s%s%s (audit session %s)",
			 session_opened(q) ? "login" : "login not recorded yet", rec->user,
			 rec->service, rec->rhost[0] ? " from " : "", rec->rhost,
			 rec->tty[0] ? " on " : "", rec->tty, *text(q, 2) ? text(q, 2) : "none");
		if (session_opened(q)) {
			char stamped[8300];

			snprintf(stamped, sizeof(stamped), "%s  %s",
				 pw_cli_time((int64_t)rec->time_ns, when, sizeof(when)), line);
			add_story(&items, &n, (int64_t)rec->time_ns, stamped,
				  pw_ecs_from_session_row(rec, (int64_t)id, NULL));
		} else {
			/* The open waits in the spool: say who, before anything. */
			add_story(&items, &n, INT64_MIN, line, NULL);
		}
		if (session_closed(q)) {
			session_from_row(q, PW_REC_SESSION_CLOSE, rec);
			snprintf(line, sizeof(line), "%s  logout",
				 pw_cli_time((int64_t)rec->time_ns, when, sizeof(when)));
			add_story(&items, &n, (int64_t)rec->time_ns, line,
				  pw_ecs_from_session_row(rec, (int64_t)id, NULL));
		}
		free(rec);
	}
	sqlite3_finalize(q);
	q = NULL;

	/* Every access and event of the session, whatever the filters say. */
	if (sqlite3_prepare_v2(db, "SELECT " PW_STORE_ACCESS_COLUMNS " FROM " PW_STORE_ACCESS_FROM
			       " WHERE " OF_SESSION_ID("a") " ORDER BY a.opened_ns", -1, &q,
			       NULL) != SQLITE_OK)
		goto cleanup;
	sqlite3_bind_int64(q, 8, (sqlite3_int64)id);
	while ((r = step(q, c)) == SQLITE_ROW) {
		struct pw_access a;
		char line[24640], what[24576], when[32];

		/* At its open, like the listing: an access that ends later
		 * still starts where it happened; the program at the end of
		 * its parent chain. */
		pw_store_access_from_row(q, &a);
		pw_access_format_what(&a, true, what, sizeof(what));
		snprintf(line, sizeof(line), "%s  %s",
			 pw_cli_time((int64_t)a.opened_ns, when, sizeof(when)), what);
		add_story(&items, &n, (int64_t)a.opened_ns, line, pw_ecs_from_access(&a, NULL));
		pw_access_free_strings(&a);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (r != SQLITE_DONE)
		goto cleanup;
	if (pw_cli_has_table(db, "events")) {
		if (sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM " EVENT_FROM
				       " WHERE " OF_SESSION_ID("e") " ORDER BY e.ts_ns", -1, &q,
				       NULL) != SQLITE_OK)
			goto cleanup;
		sqlite3_bind_int64(q, 8, (sqlite3_int64)id);
		while ((r = step(q, c)) == SQLITE_ROW) {
			struct pw_event_rec e;
			char line[24640], what[9000], when[32];
			char program[2 * PW_ANCESTORS_TEXT_MAX + 4096];

			event_from_row(q, &e);
			event_what(&e, what, sizeof(what));
			pw_ancestors_format_chain(e.ancestors, e.exe ? e.exe : e.comm, e.pid, program,
						  sizeof(program));
			snprintf(line, sizeof(line), "%s  %s  %s",
				 pw_cli_time((int64_t)e.ts_ns, when, sizeof(when)), program, what);
			add_story(&items, &n, (int64_t)e.ts_ns, line,
				  pw_ecs_from_event(&e, NULL, text(q, 24)));
		}
		sqlite3_finalize(q);
		q = NULL;
		if (r != SQLITE_DONE)
			goto cleanup;
	}
	if (pw_cli_has_table(db, "alerts")) {
		if (sqlite3_prepare_v2(db, "SELECT " ALERT_COLUMNS " FROM " ALERT_FROM
				       " WHERE al.session_id = ?8 ORDER BY al.time_ns", -1, &q, NULL) != SQLITE_OK)
			goto cleanup;
		sqlite3_bind_int64(q, 8, (sqlite3_int64)id);
		while ((r = step(q, c)) == SQLITE_ROW) {
			struct pw_alert al;
			char line[1400], when[32];

			alert_from_row(q, &al);
			snprintf(line, sizeof(line), "%s  ALERT %s %s (alert %lld): %s",
				 pw_cli_time((int64_t)al.time_ns, when, sizeof(when)),
				 pw_severity_name(al.severity), al.rule_id,
				 (long long)sqlite3_column_int64(q, 0), al.reason);
			add_story(&items, &n, (int64_t)al.time_ns, line, pw_ecs_from_alert(&al, NULL));
		}
		sqlite3_finalize(q);
		q = NULL;
		if (r != SQLITE_DONE)
			goto cleanup;
	}
	qsort(items, n, sizeof(*items), cmp_story);
	for (i = 0; i < n; i++) {
		if (c->json) {
			print_json(items[i].json);
			items[i].json = NULL;
		} else {
			printf("%s\n", items[i].line);
		}
	}
	rc = PW_EXIT_OK;
cleanup:
	if (rc == PW_EXIT_STORE && q)
		fprintf(stderr, "piiwatch: reading %s: %s\n", c->store_path, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	for (i = 0; i < n; i++) {
		free(items[i].line);
		json_object_put(items[i].json);
	}
	free(items);
	return rc;
}

/* ---- quarantine ---- */

static int cmd_quarantine_list(sqlite3 *db, const struct cli *c)
{
	static const char *const hdr[] = { "USER", "SINCE", "REASON" };
	struct pw_table *t = c->json ? NULL : pw_table_new(3, hdr, 2);
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT user, since_ns, reason FROM quarantine ORDER BY since_ns",
			       -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: %s: %s\n", c->store_path, sqlite3_errmsg(db));
		pw_table_free(t);
		return PW_EXIT_STORE;
	}
	while ((rc = step(q, c)) == SQLITE_ROW) {
		if (c->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "user.name", json_object_new_string(text(q, 0)));
			json_object_object_add(o, "piiwatch.quarantined_ns",
					       json_object_new_int64(sqlite3_column_int64(q, 1)));
			json_object_object_add(o, "event.reason", json_object_new_string(text(q, 2)));
			print_json(o);
		} else {
			char when[32];
			const char *cells[3] = { text(q, 0), pw_cli_time(sqlite3_column_int64(q, 1), when,
									   sizeof(when)), text(q, 2) };

			pw_table_add(t, cells, NULL);
		}
	}
	sqlite3_finalize(q);
	pw_table_print(t, stdout);
	pw_table_free(t);
	return rc == SQLITE_DONE ? PW_EXIT_OK : PW_EXIT_STORE;
}

static json_object *control_request(const struct cli *c, const char *request);
static int reply_ok(json_object *r);

/*
 * Through the daemon when it runs (it owns the store's writes); directly
 * in the store when it does not, so that a user can be let back in even
 * then.
 */
static int cmd_quarantine_release(const struct cli *c, const char *user)
{
	json_object *req, *r, *e;
	char err[512];
	struct pw_store *s;
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "piiwatch: quarantine release lets a user log in again: run it as root\n");
		return PW_EXIT_DENIED;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("quarantine-release"));
	json_object_object_add(req, "user", json_object_new_string(user));
	r = access(c->control_path, F_OK) == 0 ?
		    control_request(c, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) :
		    NULL;
	json_object_put(req);
	if (r) {
		rc = reply_ok(r) ? PW_EXIT_OK : 1;
		if (rc)
			fprintf(stderr, "piiwatch: quarantine release: %s\n",
				json_object_object_get_ex(r, "error", &e) ? json_object_get_string(e) :
									    "refused");
		else
			printf("%s released from quarantine\n", user);
		json_object_put(r);
		return rc;
	}
	s = pw_store_open(c->store_path, false, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "piiwatch: %s\n", err);
		return PW_EXIT_STORE;
	}
	rc = pw_store_quarantine_release(s, user);
	if (pw_store_flush(s))
		rc = -1;
	pw_store_close(s);
	if (rc < 0) {
		fprintf(stderr, "piiwatch: quarantine release: cannot write %s\n", c->store_path);
		return PW_EXIT_STORE;
	}
	if (rc == 0) {
		fprintf(stderr, "piiwatch: %s is not quarantined\n", user);
		return 1;
	}
	printf("%s released from quarantine (piiwatchd is not running: written to %s)\n", user,
	       c->store_path);
	return PW_EXIT_OK;
}

/* `show alert ID`: the alert, then the story of its session. */
static int cmd_show_alert(sqlite3 *db, const struct cli *c, const char *arg)
{
	sqlite3_stmt *q = NULL;
	uint64_t id;
	int64_t session = 0;
	int r;

	if (pw_parse_u64(arg, INT64_MAX, &id)) {
		fprintf(stderr, "piiwatch: show alert: expected an alert number from `piiwatch alerts`, got '%s'\n",
			arg);
		return PW_EXIT_USAGE;
	}
	if (!pw_cli_has_table(db, "alerts") ||
	    sqlite3_prepare_v2(db, "SELECT " ALERT_COLUMNS " FROM " ALERT_FROM " WHERE al.id = ?1", -1,
			       &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: show alert: this store has no alerts\n");
		return PW_EXIT_USAGE;
	}
	sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
	r = step(q, c);
	if (r == SQLITE_ROW) {
		struct pw_alert al;
		char when[32];

		alert_from_row(q, &al);
		session = al.session_id;
		if (c->json)
			print_json(pw_ecs_from_alert(&al, NULL));
		else
			printf("alert %llu: %s %s at %s, user %s, score %.1f%s\n  %s\n\n",
			       (unsigned long long)id, pw_severity_name(al.severity), al.rule_id,
			       pw_cli_time((int64_t)al.time_ns, when, sizeof(when)),
			       al.user[0] ? al.user : "-", al.score,
			       sqlite3_column_int(q, 9) ? ", user quarantined" : "", al.reason);
	} else if (r == SQLITE_DONE) {
		fprintf(stderr, "piiwatch: show alert: no alert %s\n", arg);
	}
	sqlite3_finalize(q);
	if (r != SQLITE_ROW)
		return r == SQLITE_DONE ? PW_EXIT_USAGE : PW_EXIT_STORE;
	if (!session) {
		if (!c->json)
			printf("(not tied to a login session)\n");
		return PW_EXIT_OK;
	}
	{
		char sid[32];

		snprintf(sid, sizeof(sid), "%lld", (long long)session);
		return cmd_show(db, c, sid);
	}
}

/* ---- the daemon's control socket ---- */

/* One request; the reply is returned parsed, or NULL with a message. */
static json_object *control_request(const struct cli *c, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	char buf[16384];
	json_object *reply = NULL;
	ssize_t n;
	int fd;

	if (strlen(c->control_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "piiwatch: control socket path too long\n");
		return NULL;
	}
	memcpy(sa.sun_path, c->control_path, strlen(c->control_path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "piiwatch: cannot reach piiwatchd at %s: %s%s\n", c->control_path,
			strerror(errno), errno == EACCES ? " (needs root or group piiwatch)" :
			errno == ENOENT || errno == ECONNREFUSED ? " (is piiwatchd running?)" : "");
		goto cleanup;
	}
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    (n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		fprintf(stderr, "piiwatch: no answer from piiwatchd at %s\n", c->control_path);
		goto cleanup;
	}
	buf[n] = '\0';
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		fprintf(stderr, "piiwatch: malformed answer from piiwatchd\n");
		json_object_put(reply);
		reply = NULL;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return reply;
}

static int reply_ok(json_object *r)
{
	json_object *v;

	return json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v);
}

static void print_status_value(const char *prefix, const char *key, json_object *val)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", prefix, key);
	if (json_object_is_type(val, json_type_object)) {
		json_object_object_foreach(val, k, v)
		{
			char p[160];

			snprintf(p, sizeof(p), "%s.", name);
			print_status_value(p, k, v);
		}
		return;
	}
	printf("%-30s %s\n", name, json_object_get_string(val));
}

static int cmd_status(const struct cli *c)
{
	json_object *r = control_request(c, "{\"cmd\":\"status\"}");

	if (!r)
		return PW_EXIT_STORE;
	if (c->json) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	} else {
		json_object_object_foreach(r, key, val)
		{
			if (strcmp(key, "ok") != 0)
				print_status_value("", key, val);
		}
	}
	json_object_put(r);
	return PW_EXIT_OK;
}

static int cmd_reload(const struct cli *c)
{
	json_object *r, *e;
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "piiwatch: reload changes what is protected: run it as root\n");
		return PW_EXIT_DENIED;
	}
	r = control_request(c, "{\"cmd\":\"reload\"}");
	if (!r)
		return PW_EXIT_STORE;
	rc = reply_ok(r) ? PW_EXIT_OK : 1;
	if (rc == PW_EXIT_OK)
		printf("policy reloaded\n");
	else
		fprintf(stderr, "piiwatch: reload: %s\n",
			json_object_object_get_ex(r, "error", &e) ? json_object_get_string(e) :
								    "refused");
	json_object_put(r);
	return rc;
}

static int cmd_policy_check(const char *file)
{
	struct pw_diags diags;
	struct pw_policy *p = pw_policy_load(file, &diags);
	int rc = p ? 0 : 1;

	pw_diags_print(&diags, stderr);
	if (p)
		printf("%s: OK: %zu datasets, %zu honeytokens\n", file, p->n_datasets,
		       p->honeytokens.n);
	pw_policy_free(p);
	pw_diags_free(&diags);
	return rc;
}

static int cmd_report(sqlite3 *db, const struct cli *c)
{
	FILE *out;
	int rc;

	if (!c->html) {
		fprintf(stderr, "piiwatch: report: --html FILE is required\n");
		return PW_EXIT_USAGE;
	}
	out = fopen(c->html, "we");
	if (!out) {
		fprintf(stderr, "piiwatch: report: cannot write %s: %s\n", c->html, strerror(errno));
		return PW_EXIT_USAGE;
	}
	rc = pw_report_html(db, &c->f, out);
	if (fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "piiwatch: report: cannot write %s: %s\n", c->html, strerror(errno));
		rc = PW_EXIT_USAGE;
	}
	if (rc == 0)
		fprintf(stderr, "piiwatch: report written to %s\n", c->html);
	return rc ? PW_EXIT_STORE : PW_EXIT_OK;
}

/* ---- main ---- */

enum opt {
	OPT_STORE = 256,
	OPT_CONTROL,
	OPT_JSON,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_USER,
	OPT_DATASET,
	OPT_FILE,
	OPT_HOST,
	OPT_HTML,
	OPT_SEVERITY,
};

/* A name to filter on: an empty one would match nothing and look like
 * "no activity". */
static int name_filter(const char *option, const char **out)
{
	if (!*optarg) {
		fprintf(stderr, "piiwatch: --%s: expected a name, got an empty string\n", option);
		return -1;
	}
	*out = optarg;
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "control-socket", required_argument, NULL, OPT_CONTROL },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "user", required_argument, NULL, OPT_USER },
		{ "dataset", required_argument, NULL, OPT_DATASET },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "severity", required_argument, NULL, OPT_SEVERITY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int64_t now = (int64_t)pw_now_realtime_ns();
	char err[256];
	int opt;

	/* Options may come before or after the command. */
	while ((opt = getopt_long(argc, argv, "n:hV", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_STORE:
			c->store_path = optarg;
			break;
		case OPT_CONTROL:
			c->control_path = optarg;
			break;
		case 'n':
			if (pw_parse_u64(optarg, 1000000000, &c->limit) || c->limit == 0) {
				fprintf(stderr, "piiwatch: --limit: expected a number from 1, got '%s'\n",
					optarg);
				return -1;
			}
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (pw_parse_when(optarg, now, opt == OPT_SINCE ? &c->f.since_ns : &c->f.until_ns,
					  err, sizeof(err))) {
				fprintf(stderr, "piiwatch: --%s: %s\n",
					opt == OPT_SINCE ? "since" : "until", err);
				return -1;
			}
			break;
		case OPT_USER:
			if (name_filter("user", &c->f.user))
				return -1;
			break;
		case OPT_DATASET:
			if (name_filter("dataset", &c->f.dataset))
				return -1;
			break;
		case OPT_HOST:
			if (name_filter("host", &c->f.host))
				return -1;
			break;
		case OPT_FILE:
			/* Stored paths are absolute: anything else would
			 * match nothing, and "" everything. */
			if (optarg[0] != '/' && !strpbrk(optarg, "*?[")) {
				fprintf(stderr,
					"piiwatch: --file: expected an absolute path, a directory or a glob, got '%s'\n",
					optarg);
				return -1;
			}
			c->f.file = optarg;
			break;
		case OPT_HTML:
			c->html = optarg;
			break;
		case OPT_SEVERITY: {
			enum pw_severity sev;

			if (pw_severity_from_name(optarg, &sev)) {
				fprintf(stderr, "piiwatch: --severity: expected low, medium, high or critical, got '%s'\n",
					optarg);
				return -1;
			}
			c->severity = (int)sev;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("piiwatch %s\n", PW_VERSION);
			exit(0);
		default:
			return -1;
		}
	}
	if (c->f.since_ns && c->f.until_ns && c->f.since_ns > c->f.until_ns) {
		char since[32], until[32];

		fprintf(stderr, "piiwatch: --until (%s) is before --since (%s)\n",
			pw_cli_time(c->f.until_ns, until, sizeof(until)),
			pw_cli_time(c->f.since_ns, since, sizeof(since)));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .store_path = PW_DEFAULT_STORE, .control_path = PW_DEFAULT_CONTROL_SOCKET,
			 .limit = 1000 };
	const char *verb;
	char **args;
	int nargs, rc;
	sqlite3 *db;

	setlocale(LC_ALL, "");
	if (argc > 1 && strcmp(argv[1], "replay") == 0)
		return pw_cli_replay(argc - 1, argv + 1);
	if (parse_args(argc, argv, &c)) {
		fprintf(stderr, "Try 'piiwatch --help'.\n");
		return PW_EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return PW_EXIT_USAGE;
	}
	verb = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;

	if (strcmp(verb, "status") == 0 && nargs == 0)
		return cmd_status(&c);
	if (strcmp(verb, "reload") == 0 && nargs == 0)
		return cmd_reload(&c);
	if (strcmp(verb, "policy") == 0 && nargs == 2 && strcmp(args[0], "check") == 0)
		return cmd_policy_check(args[1]);
	if (strcmp(verb, "quarantine") == 0 && nargs == 2 && strcmp(args[0], "release") == 0)
		return cmd_quarantine_release(&c, args[1]);

	if (!(strcmp(verb, "accesses") == 0 && nargs == 0) &&
	    !(strcmp(verb, "events") == 0 && nargs == 0) &&
	    !(strcmp(verb, "sessions") == 0 && nargs == 0) &&
	    !(strcmp(verb, "top") == 0 && nargs == 0) &&
	    !(strcmp(verb, "report") == 0 && nargs == 0) &&
	    !(strcmp(verb, "alerts") == 0 && nargs == 0) &&
	    !(strcmp(verb, "quarantine") == 0 && nargs == 1 && strcmp(args[0], "list") == 0) &&
	    !(strcmp(verb, "show") == 0 && (nargs == 1 ||
					   (nargs == 2 && strcmp(args[0], "alert") == 0)))) {
		fprintf(stderr, "piiwatch: unknown command or wrong arguments: %s\n", verb);
		fprintf(stderr, "Try 'piiwatch --help'.\n");
		return PW_EXIT_USAGE;
	}
	db = pw_cli_open_store(c.store_path);
	if (!db)
		return PW_EXIT_STORE;
	if (strcmp(verb, "accesses") == 0)
		rc = cmd_accesses(db, &c);
	else if (strcmp(verb, "events") == 0)
		rc = cmd_events(db, &c);
	else if (strcmp(verb, "sessions") == 0)
		rc = cmd_sessions(db, &c);
	else if (strcmp(verb, "top") == 0)
		rc = cmd_top(db, &c);
	else if (strcmp(verb, "report") == 0)
		rc = cmd_report(db, &c);
	else if (strcmp(verb, "alerts") == 0)
		rc = cmd_alerts(db, &c);
	else if (strcmp(verb, "quarantine") == 0)
		rc = cmd_quarantine_list(db, &c);
	else if (nargs == 2)
		rc = cmd_show_alert(db, &c, args[1]);
	else
		rc = cmd_show(db, &c, args[0]);
	sqlite3_close(db);
	return rc;
}
