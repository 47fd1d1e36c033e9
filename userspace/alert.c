// SPDX-License-Identifier: GPL-2.0
#include "alert.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "util.h"

static const char *const severity_names[] = {
	[PW_SEV_LOW] = "low",
	[PW_SEV_MEDIUM] = "medium",
	[PW_SEV_HIGH] = "high",
	[PW_SEV_CRITICAL] = "critical",
};

const char *pw_severity_name(enum pw_severity s)
{
	if (s >= PW_SEV_LOW && s <= PW_SEV_CRITICAL)
		return severity_names[s];
	return "?";
}

int pw_severity_from_name(const char *name, enum pw_severity *out)
{
	int s;

	for (s = PW_SEV_LOW; s <= PW_SEV_CRITICAL; s++) {
		if (strcmp(name, severity_names[s]) == 0) {
			*out = (enum pw_severity)s;
			return 0;
		}
	}
	return -1;
}

int pw_severity_to_syslog(enum pw_severity s)
{
	switch (s) {
	case PW_SEV_LOW:
		return LOG_NOTICE;
	case PW_SEV_MEDIUM:
		return LOG_WARNING;
	case PW_SEV_HIGH:
		return LOG_ERR;
	case PW_SEV_CRITICAL:
		return LOG_CRIT;
	}
	return LOG_WARNING;
}

bool pw_rule_id_valid(const char *id)
{
	size_t i;

	if (!id[0] || id[0] == '.' || id[0] == '-' || id[0] == '_')
		return false;
	for (i = 0; id[i]; i++) {
		char c = id[i];

		if (i >= PW_RULE_ID_MAX - 1)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

void pw_alert_format_line(const struct pw_alert *al, char *out, size_t out_size)
{
	char when[32];

	pw_format_time(al->time_ns, when, sizeof(when));
	snprintf(out, out_size, "%s  ALERT %s %s (risk %.1f)  %s", when,
		 pw_severity_name(al->severity), al->rule_id, al->score, al->reason);
}
