// SPDX-License-Identifier: GPL-2.0
/*
 * Build a store from ECS JSON Lines, the way piiwatchd fills it, for tests
 * of the CLI that need a fixed store:
 *
 *   pw-load-store STORE [FILE]      (FILE, or standard input)
 *
 * Every line is read with pw_ecs_parse_line(), the parser of the daemon's
 * own output, and goes in through the daemon's store calls: accesses,
 * session records, events (changes, connections, programs run) and alerts.
 * As in the daemon, an access or event is joined to the newest session of
 * its boot with its audit session id, and a session open that arrives late
 * joins what came before it; the session ids written in those lines are
 * not used.  An alert, which names no boot, keeps the session id it was
 * written with and belongs to the boot of the line before it; it counts as
 * stored when it was raised.
 *
 * Exit status 0, or 1 with "FILE:LINE: reason" on standard error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs.h"
#include "store.h"
#include "util.h"

/* The newest session of this boot with this audit session id, or 0. */
static int64_t session_of(struct pw_store *st, const char *boot_id, uint32_t audit_session)
{
	char *user = NULL, *service = NULL, *rhost = NULL;
	int64_t id = 0;

	if (audit_session == PW_NO_ID ||
	    pw_store_session_lookup(st, boot_id, audit_session, &id, &user, &service, &rhost,
				    NULL) != 1)
		id = 0;
	free(user);
	free(service);
	free(rhost);
	return id;
}

static int load_record(struct pw_store *st, const char *line, size_t len, char *boot_id,
		       char *err, size_t err_size)
{
	struct pw_ecs_record *rec = malloc(sizeof(*rec));
	struct pw_access *a;
	int64_t sid;
	int rc = -1;

	if (!rec) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (pw_ecs_parse_line(line, len, rec, err, err_size)) {
		free(rec);
		return -1;
	}
	switch (rec->kind) {
	case PW_ECS_ACCESS:
		a = &rec->access;
		snprintf(boot_id, PW_BOOT_ID_LEN, "%s", a->boot_id);
		a->session_id = session_of(st, a->boot_id, a->audit_session);
		/* The line holds the access as it stands: its counts, and its
		 * end when it has ended. */
		if (pw_store_access_open(st, a)) {
			snprintf(err, err_size, "cannot store the access");
			break;
		}
		rc = 0;
		break;
	case PW_ECS_SESSION:
		snprintf(boot_id, PW_BOOT_ID_LEN, "%s", rec->session.boot_id);
		if (pw_store_session_record(st, &rec->session, &sid) ||
		    (rec->session.type == PW_REC_SESSION_OPEN &&
		     pw_store_join_session(st, rec->session.boot_id, rec->session.sessionid, sid))) {
			snprintf(err, err_size, "cannot store the session record");
			break;
		}
		rc = 0;
		break;
	case PW_ECS_EVENT:
		snprintf(boot_id, PW_BOOT_ID_LEN, "%s", rec->boot_id);
		rec->event.session_id = session_of(st, rec->boot_id, rec->event.audit_session);
		if (pw_store_event(st, rec->boot_id, &rec->event)) {
			snprintf(err, err_size, "cannot store the event");
			break;
		}
		rc = 0;
		break;
	case PW_ECS_ALERT:
		if (pw_store_alert(st, boot_id, &rec->alert, false, rec->alert.time_ns)) {
			snprintf(err, err_size, "cannot store the alert");
			break;
		}
		rc = 0;
		break;
	}
	pw_ecs_record_free(rec);
	free(rec);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = argc > 2 ? argv[2] : "-";
	struct pw_store *st = NULL;
	FILE *in = stdin;
	char *line = NULL, err[512], boot_id[PW_BOOT_ID_LEN] = "";
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 1;

	/* An option is not a store to create ("pw-load-store --help"). */
	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: pw-load-store STORE [FILE]\n");
		return 2;
	}
	if (argc > 2 && !(in = fopen(name, "re"))) {
		fprintf(stderr, "pw-load-store: %s: %s\n", name, strerror(errno));
		return 1;
	}
	st = pw_store_open(argv[1], false, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "pw-load-store: %s\n", err);
		goto cleanup;
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		lineno++;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (load_record(st, line, (size_t)len, boot_id, err, sizeof(err))) {
			fprintf(stderr, "%s:%ld: %s\n", name, lineno, err);
			goto cleanup;
		}
	}
	if (pw_store_flush(st)) {
		fprintf(stderr, "pw-load-store: cannot commit to %s\n", argv[1]);
		goto cleanup;
	}
	rc = 0;
cleanup:
	pw_store_close(st);
	free(line);
	if (in != stdin)
		fclose(in);
	return rc;
}
