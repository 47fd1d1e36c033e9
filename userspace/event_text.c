// SPDX-License-Identifier: GPL-2.0
#include "event_text.h"

#include <stdio.h>
#include <string.h>

#include <linux/types.h>

#include "ancestors.h"
#include "piiwatch.h"
#include "util.h"

const char *pw_other_user(const char *user, const char *euser)
{
	return euser && (!user || strcmp(euser, user) != 0) ? euser : NULL;
}

static void who(const struct pw_access *a, char *out, size_t n)
{
	const char *user = a->user ? a->user : "?";
	const char *other = pw_other_user(a->user, a->euser);

	if (a->audit_session == PW_NO_ID) {
		snprintf(out, n, "%s (no login session, uid %u)", user, a->uid);
		return;
	}
	if (!a->session_id) {
		snprintf(out, n, "%s session %u (no session record yet)%s%s", user,
			 a->audit_session, other ? " as " : "", other ? other : "");
		return;
	}
	snprintf(out, n, "%s session %u (%s%s%s)%s%s", user, a->audit_session,
		 a->service ? a->service : "?", a->rhost ? " from " : "", a->rhost ? a->rhost : "",
		 other ? " as " : "", other ? other : "");
}

void pw_access_format_what(const struct pw_access *a, bool with_chain, char *out,
			   size_t out_size)
{
	char rd[32], wr[32], volume[160], program[2 * PW_ANCESTORS_TEXT_MAX + 4096];

	pw_format_bytes(a->bytes_read, rd, sizeof(rd));
	pw_format_bytes(a->bytes_written, wr, sizeof(wr));
	if (a->bytes_written && a->bytes_read)
		snprintf(volume, sizeof(volume), "read %s (%llu B), wrote %s (%llu B)", rd,
			 (unsigned long long)a->bytes_read, wr,
			 (unsigned long long)a->bytes_written);
	else if (a->bytes_written)
		snprintf(volume, sizeof(volume), "wrote %s (%llu B)", wr,
			 (unsigned long long)a->bytes_written);
	else
		snprintf(volume, sizeof(volume), "read %s (%llu B)", rd,
			 (unsigned long long)a->bytes_read);
	/* Without ancestors the chain is the program alone: "EXE[PID]". */
	pw_ancestors_format_chain(with_chain ? a->ancestors : NULL, a->exe ? a->exe : a->comm,
				  a->pid, program, sizeof(program));
	snprintf(out, out_size, "%s  %s of %s [%s]%s%s%s%s%s%s", program, volume,
		 a->path ? a->path : "?", a->dataset ? a->dataset : "?",
		 a->honeytoken ? " HONEYTOKEN" : "",
		 a->flags & PW_IO_MMAP ? " (mapped: reads through the mapping are not counted)" : "",
		 a->flags & PW_IO_AIO ? " (AIO: bytes as submitted)" : "",
		 a->flags & PW_IO_CLONE ? " (reflink: blocks shared, counted as read and written)" : "",
		 a->flags & PW_IO_OVERLAY ? " (through an overlay mount)" : "",
		 a->closed_ns ? "" : " (still open)");
}

void pw_access_format_line(const struct pw_access *a, char *out, size_t out_size)
{
	char when[32], person[1400], what[10000];

	pw_format_time(a->closed_ns ? a->closed_ns : a->last_ns, when, sizeof(when));
	who(a, person, sizeof(person));
	pw_access_format_what(a, false, what, sizeof(what));
	snprintf(out, out_size, "%s  %s  %s", when, person, what);
}
