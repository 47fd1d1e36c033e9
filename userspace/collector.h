/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The collector joins kernel events with login sessions: it keeps the
 * session table (audit session id -> who and from where), a bounded cache
 * of what each process executed and of its ancestors (proc_cache.h), and
 * the accesses still open, and writes accesses to the store as they
 * happen.
 */
#ifndef PW_COLLECTOR_H
#define PW_COLLECTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "policy.h"
#include "probes.h"
#include "session_record.h"
#include "store.h"

#define PW_EXEC_CACHE_MAX 8192
#define PW_SESSION_CACHE_MAX 4096
/* How long a session stays cached after its close record: the events its
 * processes queued in the ring before the close find it without a store
 * lookup.  The store keeps it; one needed later is looked up there. */
#define PW_SESSION_GRACE_NS (60ULL * 1000000000ULL)

struct pw_collector;

struct pw_collector *pw_collector_new(struct pw_store *store, const char *boot_id);
void pw_collector_free(struct pw_collector *c);

/* The policy and probes used to name datasets and rebuild paths; the
 * policy also configures the detector.  0, or -1 when out of memory. */
int pw_collector_set_sources(struct pw_collector *c, const struct pw_policy *pol,
			     const struct pw_probes *probes);

/* Print one line per finished access (and per progress report) to out. */
void pw_collector_set_print(struct pw_collector *c, FILE *out);

/* Where finished accesses, events and sessions are shipped (may be NULL). */
struct pw_outputs;
void pw_collector_set_outputs(struct pw_collector *c, struct pw_outputs *out);

/* Ring buffer callback. */
void pw_collector_event(void *ctx, const void *data, size_t size);

/* A validated session record (live or from the spool); 0 when stored. */
int pw_collector_session_record(struct pw_collector *c, const struct pw_session_record *r);

/* Refresh the realtime/monotonic offset and expire ended sessions from
 * the cache; call about once a second. */
void pw_collector_tick(struct pw_collector *c);

/* Drop from the session cache the sessions whose close record came
 * PW_SESSION_GRACE_NS or more before now_mono_ns (CLOCK_MONOTONIC), as
 * pw_collector_tick() does with the current time. */
void pw_collector_expire(struct pw_collector *c, uint64_t now_mono_ns);

/* Sessions in the cache, for tests. */
size_t pw_collector_sessions_cached(const struct pw_collector *c);

uint64_t pw_collector_events_seen(const struct pw_collector *c);

/*
 * The detector (userspace/detector.h) sees every session record, every
 * access record the outputs get (a honeytoken's open, progress reports,
 * the final record) and every event, in the order the outputs get them,
 * so that `piiwatch replay` of the JSON Lines raises the same alerts.
 * Its alerts go to the store, the outputs, the log and --print; a rule
 * with action = quarantine puts the user in the store's quarantine.
 */

/* A blind spot the daemon noticed: kind "loss" with action ring-full,
 * untracked-opens, unfollowed-changes, unwatched (count: seconds),
 * detached or unpinned, stored, shipped and judged like any event. */
void pw_collector_loss(struct pw_collector *c, const char *action, uint64_t count);

/* Load the detector's learned state from the store (at start): the rows
 * read, or -1. */
int64_t pw_collector_load_baselines(struct pw_collector *c);

/* Save what the detector learned since the last save (all: everything)
 * and commit: 0 or -1. */
int pw_collector_save_baselines(struct pw_collector *c, bool all);

/* Alerts raised since the daemon started. */
uint64_t pw_collector_alerts(const struct pw_collector *c);

#endif
