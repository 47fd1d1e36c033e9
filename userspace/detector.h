/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The detector: login sessions, accesses and events in, alerts out.
 *
 * A pure library: it does no I/O, reads no clock (time comes from the
 * records) and keeps its learned baselines in memory; the caller persists
 * them through pw_detector_save()/pw_detector_load().  The same sequence
 * of records gives the same alerts, which is what lets `piiwatch replay`
 * reproduce, from the daemon's JSON Lines, what piiwatchd raised live.
 * docs/rules.md describes every rule; the policy's [rule ID], [hours],
 * [networks] and [detector] sections configure them.
 *
 * Local time (working hours, hours of the week, days) follows the process's
 * time zone (TZ, else /etc/localtime).
 */
#ifndef PW_DETECTOR_H
#define PW_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "policy.h"
#include "session_record.h"
#include "store.h"

struct pw_detector;

/* Called for every alert.  quarantine: the rule's action asks for the
 * user to be refused at their next login (only for login users, never for
 * root).  The alert is valid only during the call. */
typedef void (*pw_alert_cb)(void *ctx, const struct pw_alert *al, bool quarantine);

/* The policy must stay valid until it is replaced or the detector freed. */
struct pw_detector *pw_detector_new(const struct pw_policy *pol, pw_alert_cb cb, void *ctx);
void pw_detector_free(struct pw_detector *d);

/* A reloaded policy: thresholds change, learned state stays. */
void pw_detector_set_policy(struct pw_detector *d, const struct pw_policy *pol);

/* A login session opening or closing; session_id is its row in the store
 * (0: unknown). */
void pw_detector_session(struct pw_detector *d, const struct pw_session_record *r,
			 int64_t session_id);

/*
 * An access, as a progress report or as its final record.  Byte and call
 * counts are the access's running totals (as piiwatchd ships them): the
 * detector remembers what it counted per (boot id, access id) and adds only
 * the difference, so any number of progress reports followed by the final
 * record count each byte once.  A record with closed_ns set is the final
 * one and ends the access.
 */
void pw_detector_access(struct pw_detector *d, const struct pw_access *a);

/*
 * Anything else, by kind: "change" (unlink, rename, truncate, punch-hole,
 * ... of protected files), "connect" (after protected reads), "exec" (in a login
 * session), "mmap" (count: bytes mapped), "io_uring", and "loss" (blind
 * spots: action "ring-full", "untracked-opens" or "unfollowed-changes" with
 * count events lost, "unwatched" with count seconds since the last record
 * when a daemon starts without its probes attached, "detached" when it
 * stops and detaches them).  Other kinds are ignored.
 */
void pw_detector_event(struct pw_detector *d, const char *boot_id, const struct pw_event_rec *e);

/* A login session's combined risk, 0..100 (0 also when unknown). */
double pw_detector_session_risk(const struct pw_detector *d, const char *boot_id,
				uint32_t audit_session);

/*
 * Persistence.  The learned state is a set of rows (kind, principal,
 * dataset) -> JSON text.  pw_detector_save() passes every row that changed
 * since the last save (all rows when all is true) to put, and json NULL for
 * rows to delete; it stops at the first non-zero return of put and returns
 * it (the rows not passed stay pending).  pw_detector_load() takes one row
 * back; -1 with a reason in err for a row it cannot read.
 */
typedef int (*pw_baseline_put_cb)(void *ctx, const char *kind, const char *principal,
				  const char *dataset, const char *json);
int pw_detector_save(struct pw_detector *d, bool all, pw_baseline_put_cb put, void *ctx);
int pw_detector_load(struct pw_detector *d, const char *kind, const char *principal,
		     const char *dataset, const char *json, char *err, size_t err_size);

#endif
