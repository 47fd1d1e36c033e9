/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's outputs besides the store: JSON Lines (ECS), syslog over TCP
 * and, for alerts, the Linux audit trail.  Each is optional; a failing
 * output is counted and reported in `piiwatch status`, never fatal.
 */
#ifndef PW_OUTPUTS_H
#define PW_OUTPUTS_H

#include <json.h>
#include <stdint.h>

#include "alert.h"
#include "policy.h"
#include "session_record.h"
#include "store.h"

struct pw_outputs;

struct pw_outputs *pw_outputs_open(const struct pw_outputs_cfg *cfg, const char *boot_id,
				   char *err, size_t err_size);
void pw_outputs_close(struct pw_outputs *o);

/* Ship one record.  Each returns after queueing; failures are counted. */
void pw_outputs_access(struct pw_outputs *o, const struct pw_access *a);
/* session_id: the session's row in the store (0: none). */
void pw_outputs_session(struct pw_outputs *o, const struct pw_session_record *r,
			int64_t session_id);
void pw_outputs_event(struct pw_outputs *o, const struct pw_event_rec *e);
void pw_outputs_alert(struct pw_outputs *o, const struct pw_alert *al);

/* The syslog connection's descriptor and the epoll events it waits for,
 * or -1 when there is none. */
int pw_outputs_fd(const struct pw_outputs *o, uint32_t *events);
void pw_outputs_tick(struct pw_outputs *o);

/* Write the JSON Lines the output holds back (it writes many lines at
 * once): before each commit of the store and on every tick. */
void pw_outputs_flush(struct pw_outputs *o);

/*
 * JSON Lines exactly once across a crash: before each commit of the store
 * (after pw_outputs_flush()), pw_outputs_save_position() records in the
 * running batch where the file ends; at start, before anything is
 * written, pw_outputs_resume() cuts away what a daemon that died wrote
 * after its last commit, which this one writes again from the kernel's
 * queue.  Standard output cannot be cut back.  Save returns -1 on a store
 * error; resume logs what it did or could not do.
 */
int pw_outputs_save_position(struct pw_outputs *o, struct pw_store *s);
void pw_outputs_resume(struct pw_outputs *o, struct pw_store *s);

/* Try for up to timeout_ms to deliver what is queued (at stop). */
void pw_outputs_drain(struct pw_outputs *o, int timeout_ms);

/* Health of every configured output, for `piiwatch status`. */
json_object *pw_outputs_health(const struct pw_outputs *o);

#endif
