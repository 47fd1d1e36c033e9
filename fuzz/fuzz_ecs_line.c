// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: one line of the JSON Lines `piiwatch replay` reads,
 * pw_ecs_parse_line().  A line that parses is written back with the
 * builders and must parse again to the same record; an access's line from
 * the daemon's direct writer (pw_ecs_access_line()) must be the same bytes
 * as the json-c builder's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecs.h"

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* An optional text: an empty one is left out, so it comes back absent. */
static bool same_opt_text(const char *a, const char *b)
{
	return same_str(a && *a ? a : NULL, b && *b ? b : NULL);
}

static void same_access(const struct pw_access *a, const struct pw_access *b)
{
	if (strcmp(a->boot_id, b->boot_id) || a->access_id != b->access_id ||
	    a->session_id != b->session_id || a->audit_session != b->audit_session ||
	    a->loginuid != b->loginuid || a->uid != b->uid || a->pid != b->pid ||
	    a->ppid != b->ppid || a->open_flags != b->open_flags || strcmp(a->comm, b->comm) ||
	    strcmp(a->dataset, b->dataset) || strcmp(a->path, b->path) || a->dev != b->dev ||
	    a->ino != b->ino || a->honeytoken != b->honeytoken || a->staging != b->staging ||
	    a->flags != b->flags || a->opened_ns != b->opened_ns || a->last_ns != b->last_ns ||
	    a->closed_ns != b->closed_ns || a->bytes_read != b->bytes_read ||
	    a->bytes_written != b->bytes_written || a->reads != b->reads || a->writes != b->writes ||
	    !same_str(a->ancestors, b->ancestors) || !same_opt_text(a->euser, b->euser))
		abort();
}

static void same_session(const struct pw_session_record *a, const struct pw_session_record *b)
{
	if (a->type != b->type || strcmp(a->id, b->id) || strcmp(a->user, b->user) ||
	    strcmp(a->service, b->service) || strcmp(a->rhost, b->rhost) ||
	    strcmp(a->ruser, b->ruser) || strcmp(a->tty, b->tty) || a->uid != b->uid ||
	    a->pid != b->pid || a->loginuid != b->loginuid || a->sessionid != b->sessionid ||
	    a->altered != b->altered || strcmp(a->boot_id, b->boot_id) ||
	    a->time_ns != b->time_ns || a->mono_ns != b->mono_ns)
		abort();
}

static void same_alert(const struct pw_alert *a, const struct pw_alert *b)
{
	if (strcmp(a->rule_id, b->rule_id) || a->severity != b->severity ||
	    strcmp(a->user, b->user) || a->audit_session != b->audit_session ||
	    a->session_id != b->session_id || a->time_ns != b->time_ns || a->score != b->score ||
	    strcmp(a->reason, b->reason))
		abort();
}

/* An event without event.action is written with its kind as the action. */
static void same_event(const struct pw_event_rec *a, const struct pw_event_rec *b)
{
	if (!same_str(a->kind, b->kind) ||
	    !same_str(a->action ? a->action : a->kind, b->action ? b->action : b->kind) ||
	    a->ts_ns != b->ts_ns || a->session_id != b->session_id ||
	    a->audit_session != b->audit_session || a->pid != b->pid ||
	    !same_str(a->path, b->path) || !same_str(a->dataset, b->dataset) ||
	    a->result != b->result || a->access_id != b->access_id || a->count != b->count ||
	    a->honeytoken != b->honeytoken || !same_str(a->ancestors, b->ancestors) ||
	    !same_opt_text(a->euser, b->euser))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pw_ecs_record rec, back;
	json_object *o = NULL;
	char err[256], *line;

	if (pw_ecs_parse_line((const char *)data, size, &rec, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort(); /* every refusal says why */
		return 0;
	}
	switch (rec.kind) {
	case PW_ECS_ACCESS:
		o = pw_ecs_from_access(&rec.access, "fuzz-host");
		break;
	case PW_ECS_SESSION:
		o = pw_ecs_from_session(&rec.session, "fuzz-host");
		break;
	case PW_ECS_ALERT:
		o = pw_ecs_from_alert(&rec.alert, "fuzz-host");
		break;
	case PW_ECS_EVENT:
		o = pw_ecs_from_event(&rec.event, "fuzz-host", rec.boot_id);
		break;
	}
	line = o ? pw_ecs_to_line(o) : NULL;
	if (!line || pw_ecs_parse_line(line, strlen(line), &back, err, sizeof(err)) != 0 ||
	    back.kind != rec.kind)
		abort();
	if (rec.kind == PW_ECS_ACCESS) {
		static struct pw_ecs_buf direct;
		const char *fast = pw_ecs_access_line(&direct, &rec.access, "fuzz-host", NULL);

		if (!fast || strcmp(fast, line) != 0)
			abort();
		same_access(&rec.access, &back.access);
	}
	else if (rec.kind == PW_ECS_SESSION)
		same_session(&rec.session, &back.session);
	else if (rec.kind == PW_ECS_ALERT)
		same_alert(&rec.alert, &back.alert);
	else
		same_event(&rec.event, &back.event);
	free(line);
	json_object_put(o);
	pw_ecs_record_free(&back);
	pw_ecs_record_free(&rec);
	return 0;
}
