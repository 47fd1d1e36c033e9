/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alerts into the Linux audit trail through libaudit, so that auditd,
 * ausearch, aureport and audisp-remote see them beside the host's other
 * audit records.
 *
 * An alert is one record of type ANOM_ACCESS_FS (2111, "access of a file
 * or directory" in the range of user-space anomalies) whose text is
 *
 *   op=piiwatch-alert rule="bulk-read" severity=high acct="tanaka"
 *   login_ses=17 session_id=42 score=206.000 reason=7461...
 *
 * The kernel adds the sender's pid, uid, auid and ses, and libaudit adds
 * exe, hostname, addr, terminal and res.  The alert's own user and login
 * session therefore go into acct= and login_ses=: never uid= or ses=.
 * Strings come through audit_encode_nv_string(): quoted when plain, hex
 * when they hold spaces, quotes or anything outside printable ASCII (the
 * reason usually does; ausearch -i decodes acct=, not reason=).
 *
 * Each call opens the audit socket, sends and closes it: alerts are rare,
 * and nothing stays open across the daemon's life.  The call waits for the
 * kernel's acknowledgement (libaudit bounds that wait).
 */
#ifndef PW_OUTPUT_AUDIT_H
#define PW_OUTPUT_AUDIT_H

#include <stddef.h>

#include "alert.h"

#define PW_AUDIT_ALERT_TYPE 2111 /* AUDIT_ANOM_ACCESS_FS */

enum pw_audit_result {
	PW_AUDIT_ERROR = -1,
	PW_AUDIT_LOGGED = 0,
	PW_AUDIT_UNAVAILABLE = 1, /* no audit in this kernel or namespace: not an error */
};

/* The record's text, malloc'ed; NULL when out of memory or when the rule
 * id is not valid (pw_rule_id_valid()). */
char *pw_audit_alert_text(const struct pw_alert *a);

/* Send the alert.  On PW_AUDIT_ERROR (and PW_AUDIT_UNAVAILABLE, for the
 * log) err says why. */
enum pw_audit_result pw_audit_log_alert(const struct pw_alert *a, char *err, size_t err_size);

#endif
