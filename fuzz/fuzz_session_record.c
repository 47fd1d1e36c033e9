// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what pam_piiwatch and piiwatchd say to each other on
 * the PAM socket, and what a spool file holds.  pw_record_from_json() is
 * the daemon's side, pw_reply_from_json() the module's (inside sshd).
 * A record that parses must survive a round trip unchanged.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pw_session_record r, back;
	char err[256];
	bool ok;
	int quarantined;

	if (pw_record_from_json((const char *)data, size, &r, err, sizeof(err)) == 0) {
		char *json = pw_record_to_json(&r);

		if (!json || pw_record_from_json(json, strlen(json), &back, err, sizeof(err)) != 0 ||
		    memcmp(&r, &back, sizeof(r)) != 0)
			abort();
		free(json);
	} else if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0') {
		abort(); /* every refusal says why */
	}
	if (pw_reply_from_json((const char *)data, size, &ok, &quarantined) == 0 &&
	    quarantined != -1 && quarantined != 0 && quarantined != 1)
		abort();
	return 0;
}
