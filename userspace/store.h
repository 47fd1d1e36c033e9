/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The embedded store: SQLite in WAL mode.  The daemon writes through one
 * handle in batched transactions; the CLI opens it read-only.
 * docs/store.md describes the schema.
 */
#ifndef PW_STORE_H
#define PW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "session_record.h"

#define PW_STORE_SCHEMA_VERSION 7

struct pw_store;

/* One access to a protected file: an open and what was read and written
 * through it until it was released. */
struct pw_access {
	char boot_id[PW_BOOT_ID_LEN];
	uint64_t access_id;          /* the kernel's id, unique within a boot */
	int64_t session_id;          /* sessions.id, 0: not joined */
	uint32_t audit_session;      /* PW_NO_ID: no login session */
	uint32_t loginuid;
	uint32_t uid;
	uint32_t pid;
	uint32_t ppid;
	uint32_t open_flags;
	char comm[17];
	char *user;                  /* login user: session's, else loginuid's name */
	char *euser;                 /* uid's name (the effective user); NULL: not known */
	char *exe;
	char *args;
	char *ancestors;             /* the parent and its ancestors (ancestors.h); NULL: none known */
	char *dataset;
	char *path;
	uint64_t dev;
	uint64_t ino;
	bool honeytoken;
	bool staging;                /* not protected: written after protected reads */
	uint32_t flags;              /* PW_IO_* seen on this access (mmap, io_uring, ...) */
	uint64_t opened_ns;          /* CLOCK_REALTIME */
	uint64_t last_ns;
	uint64_t closed_ns;          /* 0: still open */
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t reads;
	uint64_t writes;
	/* from the session, for display */
	char *service;
	char *rhost;
};

void pw_access_free_strings(struct pw_access *a);

/* Something that happened besides an access: a change to protected files,
 * an outbound connection after protected reads, a mapping, io_uring use,
 * a program run in a login session.  Strings may be NULL. */
struct pw_event_rec {
	const char *kind;            /* change, connect, mmap, io_uring, exec, loss */
	const char *action;          /* unlink, rename, ... for changes */
	uint64_t ts_ns;              /* CLOCK_REALTIME */
	int64_t session_id;
	uint32_t audit_session;
	uint32_t loginuid;
	uint32_t uid;
	uint32_t pid;
	uint32_t ppid;
	const char *user;
	const char *euser;           /* as in struct pw_access */
	const char *comm;
	const char *exe;
	const char *args;
	const char *ancestors;       /* as in struct pw_access */
	const char *dataset;
	const char *path;
	const char *path2;
	const char *dest_ip;
	int dest_port;
	int64_t result;
	uint64_t access_id;
	uint64_t count;              /* loss: events lost */
	bool honeytoken;
};

/* Open or create.  read_only: for the CLI; never creates or migrates.
 * On failure returns NULL and a reason in err. */
struct pw_store *pw_store_open(const char *path, bool read_only, char *err, size_t err_size);
void pw_store_close(struct pw_store *s);

/* A writing store checkpoints its WAL on a thread of its own.  Returns how
 * many checkpoints have failed so far, with the last error in why; the WAL
 * grows until one succeeds. */
uint64_t pw_store_checkpoint_failures(struct pw_store *s, char *why, size_t why_size);

struct sqlite3;
/*
 * Leave the store's -wal and -shm files in place when this connection
 * closes.  A reader in group piiwatch cannot create them in the store's
 * directory (0750), and SQLite needs them to read a WAL database; created
 * by root next to the store, they take its owner and mode (0640, group
 * piiwatch).  Every connection sets it: the last one to close would
 * otherwise delete them.
 */
void pw_store_keep_wal(struct sqlite3 *db);

/* Why an SQLite error code may have happened, for a person: " (another
 * process holds it locked)", or "" when there is nothing to add. */
const char *pw_store_error_hint(int sqlite_code);

/* Commit the running batch (the daemon calls this on a short timer).
 * The commit hook, if set, runs first, also when no batch is running,
 * so that what it adds is part of the commit. */
int pw_store_flush(struct pw_store *s);

/* hook(ctx) before every commit (NULL: none): the collector writes the
 * accesses it holds back there. */
void pw_store_set_commit_hook(struct pw_store *s, void (*hook)(void *ctx), void *ctx);

/* A session record from the PAM module.  Duplicates (the same record id
 * seen twice, e.g. from the spool) are ignored; a close that comes before
 * its open gets a row that the open fills in.  *session_id receives the
 * session's row id. */
int pw_store_session_record(struct pw_store *s, const struct pw_session_record *r,
			    int64_t *session_id);

/* The newest session of this boot with that audit session id: 1 found
 * (strings are malloc'ed into the out pointers; *closed, unless closed is
 * NULL: its close record is stored), 0 none, -1 error. */
int pw_store_session_lookup(struct pw_store *s, const char *boot_id, uint32_t audit_session,
			    int64_t *session_id, char **user, char **service, char **rhost,
			    bool *closed);

/* Accesses recorded before their session record arrived are joined to it. */
int pw_store_join_session(struct pw_store *s, const char *boot_id, uint32_t audit_session,
			  int64_t session_id);

/* Insert an access as it stands: its counts so far, and closed_ns when it
 * has ended (0: still open).  An access already stored is left alone. */
int pw_store_access_open(struct pw_store *s, const struct pw_access *a);
/* The same for n accesses, in as few statements as can be: how many could
 * not be stored (0: all were), and, unless failed is NULL, failed[i] true
 * for each of them. */
size_t pw_store_access_open_many(struct pw_store *s, const struct pw_access *const *a, size_t n,
				 bool *failed);
int pw_store_event(struct pw_store *s, const char *boot_id, const struct pw_event_rec *e);
int pw_store_access_io(struct pw_store *s, const char *boot_id, uint64_t access_id,
		       uint64_t bytes_read, uint64_t bytes_written, uint64_t reads,
		       uint64_t writes, uint64_t last_ns, uint32_t flags, bool final);

/* Up to where the kernel ring ring_id of this boot has been committed:
 * 1 found, 0 none yet, -1 error.  The set is part of the running batch, so
 * it commits together with the records it covers. */
int pw_store_ring_pos(struct pw_store *s, const char *boot_id, uint32_t ring_id, uint64_t *pos);
int pw_store_set_ring_pos(struct pw_store *s, const char *boot_id, uint32_t ring_id, uint64_t pos);

/* Where an output file's lines end: the file and its size. */
struct pw_output_pos {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
};

/* Where the output name (its file at path) ended at the last commit: 1
 * found, 0 none yet, -1 error.  The set is part of the running batch, as
 * the ring position is: a daemon that dies before the commit leaves the
 * position of the one before, and the lines past it are written again. */
int pw_store_output_pos(struct pw_store *s, const char *name, char *path, size_t path_size,
			struct pw_output_pos *pos);
int pw_store_set_output_pos(struct pw_store *s, const char *name, const char *path,
			    const struct pw_output_pos *pos);

/* The columns, in order, that pw_store_access_from_row() reads, and the
 * tables they come from (accesses a, sessions s, chains c), for queries of
 * the CLI. */
#define PW_STORE_ACCESS_COLUMNS                                                                    \
	"a.boot_id, a.access_id, a.session_id, a.audit_session, a.loginuid, a.uid, a.pid, "        \
	"a.ppid, a.open_flags, a.comm, coalesce(s.user, a.user), a.exe, a.args, a.dataset, "       \
	"a.path, a.dev, a.ino, a.honeytoken, a.staging, a.flags, a.opened_ns, a.last_ns, "        \
	"a.closed_ns, a.bytes_read, a.bytes_written, a.reads, a.writes, s.service, s.rhost, "      \
	"c.ancestors, a.euser"
#define PW_STORE_ACCESS_FROM                                                                       \
	"accesses a LEFT JOIN sessions s ON s.id = a.session_id "                                  \
	"LEFT JOIN chains c ON c.id = a.chain_id"

struct sqlite3_stmt;
/* Fill a from the current row of a query selecting PW_STORE_ACCESS_COLUMNS
 * first (strings malloc'ed: pw_access_free_strings). */
void pw_store_access_from_row(struct sqlite3_stmt *q, struct pw_access *a);

/* An access as stored, with its session's service and remote host: 1
 * found (strings malloc'ed: pw_access_free_strings), 0 none, -1 error. */
int pw_store_access_load(struct pw_store *s, const char *boot_id, uint64_t access_id,
			 struct pw_access *a);

/*
 * Retention: delete accesses, events and closed sessions last active
 * before now - max_age_ns (0: no age limit), then the oldest accesses and
 * events while the store is larger than max_bytes (0: no size limit).
 * Returns the number of rows deleted, or -1.
 */
int64_t pw_store_prune(struct pw_store *s, uint64_t now_ns, uint64_t max_age_ns,
		       uint64_t max_bytes);

/* Bytes the store takes on disk, its WAL included. */
uint64_t pw_store_disk_bytes(struct pw_store *s);

/* Abandon the running batch. */
void pw_store_rollback(struct pw_store *s);

/* 1 quarantined, 0 not, -1 error. */
int pw_store_is_quarantined(struct pw_store *s, const char *user);

/* Row count of a table, for status and tests. */
int64_t pw_store_count(struct pw_store *s, const char *table);

/* An alert of the detector, in the running batch.  boot_id: the daemon's
 * boot; quarantined: its rule put the user in quarantine; stored_ns: when
 * the daemon raised it (CLOCK_REALTIME), against the alert's own time
 * taken from the events. */
int pw_store_alert(struct pw_store *s, const char *boot_id, const struct pw_alert *al,
		   bool quarantined, uint64_t stored_ns);

/*
 * The detector's learned state, as pw_detector_save() gives it: one row
 * per (kind, principal, dataset) with its JSON; json NULL deletes the row.
 * pw_store_baselines_load() passes every row to fn (stopping at its first
 * non-zero return) and returns the rows seen, or -1.
 */
int pw_store_baseline_put(struct pw_store *s, const char *kind, const char *principal,
			  const char *dataset, const char *json, uint64_t updated_ns);
typedef int (*pw_store_baseline_fn)(void *ctx, const char *kind, const char *principal,
				    const char *dataset, const char *json);
int64_t pw_store_baselines_load(struct pw_store *s, pw_store_baseline_fn fn, void *ctx);

/*
 * Quarantine: a user pam_piiwatch's account check refuses.  add: 1 added,
 * 0 already there (the first reason stays); release: 1 released, 0 was
 * not quarantined; -1 on error.  Both are part of the running batch.  The
 * list works on a read-only store too; it returns the rows seen, or -1.
 */
struct pw_quarantine {
	const char *user;
	uint64_t since_ns;
	const char *reason;
};
int pw_store_quarantine_add(struct pw_store *s, const char *user, uint64_t since_ns,
			    const char *reason);
int pw_store_quarantine_release(struct pw_store *s, const char *user);
typedef int (*pw_store_quarantine_fn)(void *ctx, const struct pw_quarantine *q);
int64_t pw_store_quarantine_list(struct pw_store *s, pw_store_quarantine_fn fn, void *ctx);

/* The latest time anything was recorded (accesses, events, sessions): 1
 * found, 0 an empty store, -1 error. */
int pw_store_last_activity(struct pw_store *s, uint64_t *ns);

#endif
