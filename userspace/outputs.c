// SPDX-License-Identifier: GPL-2.0
#include "outputs.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ecs.h"
#include "log.h"
#include "output_audit.h"
#include "output_jsonl.h"
#include "output_syslog.h"

struct pw_outputs {
	struct pw_jsonl *jsonl;
	char *jsonl_path;           /* its configured path, NULL: standard output or none */
	struct pw_syslog *syslog;
	bool audit;
	uint64_t audit_sent;
	uint64_t audit_failed;
	uint64_t audit_unavailable;  /* no audit in this kernel or namespace */
	uint64_t encode_failed;
	char host[256];
	char boot_id[PW_BOOT_ID_LEN];
	struct pw_ecs_buf line;     /* accesses' lines, reused */
};

struct pw_outputs *pw_outputs_open(const struct pw_outputs_cfg *cfg, const char *boot_id,
				   char *err, size_t err_size)
{
	struct pw_outputs *o = calloc(1, sizeof(*o));

	if (!o) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	if (gethostname(o->host, sizeof(o->host) - 1) != 0)
		snprintf(o->host, sizeof(o->host), "localhost");
	snprintf(o->boot_id, sizeof(o->boot_id), "%s", boot_id);
	if (cfg->jsonl_path) {
		struct pw_jsonl_config jc = { .path = cfg->jsonl_path,
					      .max_bytes = cfg->jsonl_max_bytes,
					      .keep = cfg->jsonl_keep };

		o->jsonl = pw_jsonl_open(&jc, err, err_size);
		if (!o->jsonl)
			goto fail;
		if (strcmp(cfg->jsonl_path, "-") != 0 && !(o->jsonl_path = strdup(cfg->jsonl_path))) {
			snprintf(err, err_size, "jsonl: out of memory");
			goto fail;
		}
		if (pw_jsonl_set_buffered(o->jsonl, true)) {
			snprintf(err, err_size, "jsonl: out of memory");
			goto fail;
		}
	}
	if (cfg->syslog_host) {
		struct pw_syslog_config sc = { .host = cfg->syslog_host,
					       .port = cfg->syslog_port,
					       .facility = cfg->syslog_facility,
					       .queue_max = cfg->syslog_queue,
					       .sd_id = "piiwatch@32473" };

		o->syslog = pw_syslog_new(&sc, err, err_size);
		if (!o->syslog)
			goto fail;
	}
	o->audit = cfg->audit;
	return o;
fail:
	pw_outputs_close(o);
	return NULL;
}

void pw_outputs_close(struct pw_outputs *o)
{
	if (!o)
		return;
	pw_jsonl_close(o->jsonl);
	free(o->jsonl_path);
	pw_syslog_free(o->syslog);
	pw_ecs_buf_free(&o->line);
	free(o);
}

int pw_outputs_save_position(struct pw_outputs *o, struct pw_store *s)
{
	struct pw_jsonl_pos jp;
	struct pw_output_pos pos;

	if (!o || !o->jsonl_path || pw_jsonl_position(o->jsonl, &jp))
		return 0;
	pos = (struct pw_output_pos){ .dev = jp.dev, .ino = jp.ino, .size = jp.size };
	return pw_store_set_output_pos(s, "jsonl", o->jsonl_path, &pos);
}

void pw_outputs_resume(struct pw_outputs *o, struct pw_store *s)
{
	struct pw_output_pos pos;
	struct pw_jsonl_pos jp;
	char path[4096], err[512];
	int64_t cut;
	int rc;

	if (!o || !o->jsonl_path)
		return;
	rc = pw_store_output_pos(s, "jsonl", path, sizeof(path), &pos);
	if (rc < 0)
		pw_log(LOG_WARNING, "jsonl: cannot read where %s ended at the last commit: lines "
		       "written after it may be repeated", o->jsonl_path);
	/* Another file then (a changed policy): nothing of it is repeated. */
	if (rc != 1 || strcmp(path, o->jsonl_path) != 0)
		return;
	jp = (struct pw_jsonl_pos){ .dev = pos.dev, .ino = pos.ino, .size = pos.size };
	cut = pw_jsonl_cut_back(o->jsonl, &jp, err, sizeof(err));
	if (cut < 0)
		pw_log(LOG_WARNING, "jsonl: %s", err);
	else if (cut > 0)
		pw_log(LOG_INFO, "jsonl: cut %lld bytes that the last daemon wrote to %s after its "
		       "last commit: their records come again from the kernel's queue",
		       (long long)cut, o->jsonl_path);
}

/* One ECS object to every stream output. */
static void ship(struct pw_outputs *o, json_object *j, int severity, const char *msgid,
		 uint64_t time_ns)
{
	char *line = j ? pw_ecs_to_line(j) : NULL;

	/* Serialised once for both outputs; a record that cannot be is
	 * counted here, not as an error of either. */
	json_object_put(j);
	if (!line) {
		o->encode_failed++;
		return;
	}
	if (o->jsonl)
		pw_jsonl_write_line(o->jsonl, line, strlen(line));
	if (o->syslog)
		pw_syslog_send(o->syslog, severity, msgid, NULL, 0, line, time_ns);
	free(line);
}

static bool streaming(const struct pw_outputs *o)
{
	return o && (o->jsonl || o->syslog);
}

/* Accesses are most of what is shipped: their line is written straight
 * into a buffer, without a json-c tree (ecs_line.c). */
void pw_outputs_access(struct pw_outputs *o, const struct pw_access *a)
{
	const char *line;
	size_t len;

	if (!streaming(o))
		return;
	line = pw_ecs_access_line(&o->line, a, o->host, &len);
	if (!line) {
		o->encode_failed++;
		return;
	}
	if (o->jsonl)
		pw_jsonl_write_line(o->jsonl, line, len);
	if (o->syslog)
		pw_syslog_send(o->syslog, a->honeytoken ? LOG_WARNING : LOG_INFO, "access", NULL, 0,
			       line, a->closed_ns ? a->closed_ns : a->last_ns);
}

void pw_outputs_session(struct pw_outputs *o, const struct pw_session_record *r,
			int64_t session_id)
{
	if (!streaming(o))
		return;
	ship(o, pw_ecs_from_session_row(r, session_id, o->host), LOG_INFO, "session", r->time_ns);
}

void pw_outputs_event(struct pw_outputs *o, const struct pw_event_rec *e)
{
	if (!streaming(o))
		return;
	ship(o, pw_ecs_from_event(e, o->host, o->boot_id), LOG_NOTICE, e->kind, e->ts_ns);
}

void pw_outputs_alert(struct pw_outputs *o, const struct pw_alert *al)
{
	char err[256];

	if (!o)
		return;
	if (streaming(o))
		ship(o, pw_ecs_from_alert(al, o->host), pw_severity_to_syslog(al->severity), "alert",
		     al->time_ns);
	if (!o->audit)
		return;
	switch (pw_audit_log_alert(al, err, sizeof(err))) {
	case PW_AUDIT_LOGGED:
		o->audit_sent++;
		break;
	case PW_AUDIT_UNAVAILABLE:
		if (!o->audit_unavailable++)
			pw_log(LOG_WARNING, "audit trail: %s: alerts go to the other outputs only",
			       err);
		break;
	default:
		o->audit_failed++;
		pw_log(LOG_ERR, "audit trail: %s", err);
	}
}

int pw_outputs_fd(const struct pw_outputs *o, uint32_t *events)
{
	if (!o || !o->syslog)
		return -1;
	*events = pw_syslog_events();
	return pw_syslog_fd(o->syslog);
}

void pw_outputs_flush(struct pw_outputs *o)
{
	if (o && o->jsonl)
		pw_jsonl_flush(o->jsonl);
}

void pw_outputs_tick(struct pw_outputs *o)
{
	pw_outputs_flush(o);
	if (o && o->syslog)
		pw_syslog_tick(o->syslog);
}

void pw_outputs_drain(struct pw_outputs *o, int timeout_ms)
{
	if (o && o->syslog)
		pw_syslog_drain(o->syslog, timeout_ms);
}

json_object *pw_outputs_health(const struct pw_outputs *o)
{
	json_object *h = json_object_new_object();

	json_object_object_add(h, "store", json_object_new_string("ok"));
	if (!o)
		return h;
	/* Records no output got because they could not be serialised (out of
	 * memory). */
	json_object_object_add(h, "encode_failed", json_object_new_uint64(o->encode_failed));
	if (o->jsonl) {
		struct pw_jsonl_stats st;
		json_object *j = json_object_new_object();

		pw_jsonl_get_stats(o->jsonl, &st);
		json_object_object_add(j, "lines", json_object_new_uint64(st.lines));
		json_object_object_add(j, "errors", json_object_new_uint64(st.errors));
		json_object_object_add(j, "rotations", json_object_new_uint64(st.rotations));
		if (st.last_error[0])
			json_object_object_add(j, "last_error", json_object_new_string(st.last_error));
		json_object_object_add(h, "jsonl", j);
	}
	if (o->syslog) {
		struct pw_syslog_health sh;
		json_object *j = json_object_new_object();

		pw_syslog_get_health(o->syslog, &sh);
		json_object_object_add(j, "connected", json_object_new_boolean(sh.connected));
		json_object_object_add(j, "queued", json_object_new_uint64(sh.queued));
		json_object_object_add(j, "sent", json_object_new_uint64(sh.sent));
		json_object_object_add(j, "dropped", json_object_new_uint64(sh.dropped));
		if (sh.last_error[0])
			json_object_object_add(j, "last_error", json_object_new_string(sh.last_error));
		json_object_object_add(h, "syslog", j);
	}
	if (o->audit) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "sent", json_object_new_uint64(o->audit_sent));
		json_object_object_add(j, "failed", json_object_new_uint64(o->audit_failed));
		json_object_object_add(j, "unavailable",
				       json_object_new_uint64(o->audit_unavailable));
		json_object_object_add(h, "audit", j);
	}
	return h;
}
