/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An alert: the detector's verdict that a reviewer should look at something.
 * It names the rule that fired, how serious it is, whose login session it
 * concerns, when, and why in words that can be checked against the events.
 * The output modules (ecs, output_syslog, output_audit) consume it.
 */
#ifndef PW_ALERT_H
#define PW_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session_record.h"

enum pw_severity {
	PW_SEV_LOW = 1,
	PW_SEV_MEDIUM = 2,
	PW_SEV_HIGH = 3,
	PW_SEV_CRITICAL = 4,
};

#define PW_RULE_ID_MAX 64        /* NUL included */
#define PW_ALERT_REASON_MAX 1024 /* NUL included */

struct pw_alert {
	char rule_id[PW_RULE_ID_MAX]; /* "bulk-read": see pw_rule_id_valid() */
	enum pw_severity severity;
	char user[PW_ITEM_MAX];       /* login user, "" when unknown */
	uint32_t audit_session;       /* PW_NO_ID: not tied to a login session */
	int64_t session_id;           /* sessions.id in the store, 0: none */
	uint64_t time_ns;             /* CLOCK_REALTIME, taken from the events */
	double score;                 /* rule-defined, >= 0: how far past the threshold */
	char reason[PW_ALERT_REASON_MAX];
};

/* "low", "medium", "high", "critical"; "?" for anything else. */
const char *pw_severity_name(enum pw_severity s);

/* The reverse; -1 for an unknown name. */
int pw_severity_from_name(const char *name, enum pw_severity *out);

/* The syslog severity (LOG_NOTICE … LOG_CRIT) an alert is sent with. */
int pw_severity_to_syslog(enum pw_severity s);

/* "2026-11-25 02:14:05  ALERT high bulk-read (risk 92.5)  REASON", the
 * time local, for the daemon's --print and `piiwatch replay`. */
void pw_alert_format_line(const struct pw_alert *al, char *out, size_t out_size);

/* Rule ids are 1-63 characters of [a-z0-9._-], starting with a letter or
 * digit: safe as an ECS keyword, an audit field and a file name. */
bool pw_rule_id_valid(const char *id);

#endif
