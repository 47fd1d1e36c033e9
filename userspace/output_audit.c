// SPDX-License-Identifier: GPL-2.0
#include "output_audit.h"

#include <errno.h>
#include <libaudit.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(PW_AUDIT_ALERT_TYPE == AUDIT_ANOM_ACCESS_FS, "record type");

/* name=value through libaudit's encoding; NULL when out of memory. */
static char *encode(const char *name, const char *value)
{
	return audit_encode_nv_string(name, value, (unsigned int)strlen(value));
}

char *pw_audit_alert_text(const struct pw_alert *a)
{
	char *rule = NULL, *acct = NULL, *reason = NULL, *out = NULL;
	int n;

	if (!pw_rule_id_valid(a->rule_id))
		return NULL;
	rule = encode("rule", a->rule_id);
	reason = encode("reason", a->reason);
	if (a->user[0])
		acct = encode("acct", a->user);
	if (!rule || !reason || (a->user[0] && !acct))
		goto cleanup;
	n = asprintf(&out, "op=piiwatch-alert %s severity=%s%s%s login_ses=%u session_id=%lld "
			   "score=%.3f %s",
		     rule, pw_severity_name(a->severity), acct ? " " : "", acct ? acct : "",
		     a->audit_session, (long long)a->session_id, a->score, reason);
	if (n < 0)
		out = NULL;
cleanup:
	free(rule);
	free(acct);
	free(reason);
	return out;
}

/* What audit_open() and the kernel answer when there is no audit to talk
 * to: a kernel built without it, or (ECONNREFUSED) a namespace other than
 * the initial one. */
static bool audit_absent(int err)
{
	return err == EINVAL || err == EPROTONOSUPPORT || err == EAFNOSUPPORT ||
	       err == ECONNREFUSED;
}

/* libaudit answers a refusal for want of CAP_AUDIT_WRITE as it answers a
 * kernel without audit (0, no error), so the capability is asked of the
 * kernel here.  When that cannot be told, the kernel's answer stands. */
static bool may_write_audit(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (syscall(SYS_capget, &h, d) != 0)
		return true;
	return d[CAP_AUDIT_WRITE / 32].effective & (1u << (CAP_AUDIT_WRITE % 32));
}

enum pw_audit_result pw_audit_log_alert(const struct pw_alert *a, char *err, size_t err_size)
{
	enum pw_audit_result res = PW_AUDIT_ERROR;
	char *text = pw_audit_alert_text(a);
	int fd = -1, rc;

	if (!text) {
		snprintf(err, err_size, "audit: %s", pw_rule_id_valid(a->rule_id) ?
			 "out of memory" : "invalid rule id");
		return PW_AUDIT_ERROR;
	}
	fd = audit_open();
	if (fd < 0) {
		int e = errno;

		snprintf(err, err_size, "audit: cannot open the audit socket: %s", strerror(e));
		res = audit_absent(e) ? PW_AUDIT_UNAVAILABLE : PW_AUDIT_ERROR;
		goto cleanup;
	}
	/* No host, address or terminal: the alert is the daemon's finding,
	 * not a login; libaudit writes "?" for each. */
	rc = audit_log_user_message(fd, PW_AUDIT_ALERT_TYPE, text, NULL, NULL, NULL, 1);
	if (rc > 0) {
		res = PW_AUDIT_LOGGED;
	} else if (rc == 0 && !may_write_audit()) {
		snprintf(err, err_size, "audit: the kernel refuses the alert: no CAP_AUDIT_WRITE");
	} else if (rc == 0 || audit_absent(-rc)) {
		/* libaudit turns the kernel's ECONNREFUSED into 0. */
		snprintf(err, err_size, "audit: the kernel takes no audit records here");
		res = PW_AUDIT_UNAVAILABLE;
	} else {
		snprintf(err, err_size, "audit: cannot send the alert: %s", strerror(-rc));
	}
cleanup:
	if (fd >= 0)
		audit_close(fd);
	free(text);
	return res;
}
