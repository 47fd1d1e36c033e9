// SPDX-License-Identifier: GPL-2.0
/*
 * Send one alert to the audit trail through the audit output, for
 * tests/integration/audit_auditd.sh.
 *
 *   pw-audit-alert RULE SEVERITY USER AUDIT_SESSION SESSION_ID SCORE REASON
 *
 * Prints "logged" (exit 0), "unavailable: WHY" (exit 3) or "error: WHY"
 * (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output_audit.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct pw_alert a = { 0 };
	uint64_t ses, sid;
	char err[256] = "", *end;

	if (argc != 8 || pw_severity_from_name(argv[2], &a.severity) ||
	    pw_parse_u64(argv[4], UINT32_MAX, &ses) || pw_parse_u64(argv[5], INT64_MAX, &sid)) {
		fprintf(stderr, "usage: pw-audit-alert RULE SEVERITY USER AUDIT_SESSION "
				"SESSION_ID SCORE REASON\n");
		return 2;
	}
	a.score = strtod(argv[6], &end);
	if (*end) {
		fprintf(stderr, "pw-audit-alert: bad score %s\n", argv[6]);
		return 2;
	}
	snprintf(a.rule_id, sizeof(a.rule_id), "%s", argv[1]);
	snprintf(a.user, sizeof(a.user), "%s", argv[3]);
	snprintf(a.reason, sizeof(a.reason), "%s", argv[7]);
	a.audit_session = (uint32_t)ses;
	a.session_id = (int64_t)sid;
	a.time_ns = pw_now_realtime_ns();
	switch (pw_audit_log_alert(&a, err, sizeof(err))) {
	case PW_AUDIT_LOGGED:
		printf("logged\n");
		return 0;
	case PW_AUDIT_UNAVAILABLE:
		printf("unavailable: %s\n", err);
		return 3;
	case PW_AUDIT_ERROR:
		break;
	}
	printf("error: %s\n", err);
	return 1;
}
