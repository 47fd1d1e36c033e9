// SPDX-License-Identifier: GPL-2.0
#include "ecs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h>

#include "ancestors.h"
#include "piiwatch.h"
#include "util.h"

#define NS_PER_SEC 1000000000ULL

/* The largest JSON integer taken as such: json-c turns anything above
 * 2^64-1 into 2^64-1 without a word, so that value means "too large". */
#define JSON_U64_MAX (UINT64_MAX - 1)

/* Kernel dev_t encoding (see pw_dev_to_kernel()). */
#define KDEV_MINOR_BITS 20
#define KDEV_MINOR_MASK ((1ULL << KDEV_MINOR_BITS) - 1)
#define KDEV_MAJOR_MAX 4095ULL

/* ---- building ---------------------------------------------------------- */

/* A JSON string that is always clean UTF-8. */
static json_object *new_str(const char *s)
{
	json_object *o;
	size_t len, cap;
	char *buf;

	if (pw_is_clean_utf8(s))
		return json_object_new_string(s);
	len = strlen(s);
	cap = len * 4 + 1;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	pw_escape_untrusted(s, len, buf, cap);
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

static json_object *new_time(uint64_t ns)
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	char buf[48];
	struct tm tm;

	if (!gmtime_r(&sec, &tm))
		return NULL;
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % NS_PER_SEC));
	return json_object_new_string(buf);
}

static json_object *new_uint_str(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_object_new_string(buf);
}

/* The shortest decimal text that reads back as the same double, so that
 * 0.1 is written "0.1" and not "0.10000000000000001". */
static json_object *new_double(double d)
{
	char buf[40];

	if (!isfinite(d))
		d = 0;
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	return json_object_new_double_s(d, buf);
}

static json_object *new_str_array(const char *a, const char *b)
{
	json_object *arr = json_object_new_array_ext(2);
	json_object *s;

	if (!arr)
		return NULL;
	s = json_object_new_string(a);
	if (!s || json_object_array_add(arr, s))
		goto fail;
	if (b) {
		s = json_object_new_string(b);
		if (!s || json_object_array_add(arr, s))
			goto fail;
	}
	return arr;
fail:
	json_object_put(s);
	json_object_put(arr);
	return NULL;
}

/* The object that holds the last component of a dotted path
 * ("process.parent.pid"), created on the way; *path is left pointing at
 * that component.  NULL when out of memory. */
static json_object *parent_of(json_object *root, const char **path)
{
	const char *dot;
	json_object *next;
	char key[64];

	while ((dot = strchr(*path, '.')) != NULL) {
		size_t n = (size_t)(dot - *path);

		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, *path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(root, key, &next)) {
			next = json_object_new_object();
			if (!next || json_object_object_add(root, key, next)) {
				json_object_put(next);
				return NULL;
			}
		}
		root = next;
		*path = dot + 1;
	}
	return root;
}

/* Add val under a dotted path.  Takes ownership of val, also on failure;
 * a NULL val is an allocation failure. */
static int put(json_object *root, const char *path, json_object *val)
{
	json_object *parent;

	if (!val)
		return -1;
	parent = parent_of(root, &path);
	if (!parent || json_object_object_add(parent, path, val)) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int put_opt_str(json_object *root, const char *path, const char *s)
{
	if (!s || !*s)
		return 0;
	return put(root, path, new_str(s));
}

/* An integer, or JSON null for the value that means "none". */
static int put_nullable(json_object *root, const char *path, uint64_t v, uint64_t none)
{
	json_object *parent;

	if (v != none)
		return put(root, path, json_object_new_uint64(v));
	parent = parent_of(root, &path);
	/* json-c stores a NULL member as JSON null. */
	if (!parent || json_object_object_add(parent, path, NULL))
		return -1;
	return 0;
}

/* A program of a chain: exe_len bytes of its text. */
static json_object *new_exe(const struct pw_ancestor *a)
{
	char *exe = strndup(a->exe, a->exe_len);
	json_object *o = exe ? new_str(exe) : NULL;

	free(exe);
	return o;
}

static json_object *new_ancestor(const struct pw_ancestor *a)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (put(o, "pid", json_object_new_uint64(a->pid)) || put(o, "executable", new_exe(a))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The parent chain (ancestors.h): process.parent.executable, the first
 * program, and piiwatch.process.ancestors, [{pid, executable}] from the
 * parent up; nothing when none is known. */
static int put_ancestors(json_object *o, const char *ancestors)
{
	const char *cursor = ancestors;
	struct pw_ancestor a;
	json_object *arr, *item;
	size_t n;

	if (!pw_ancestors_next(&cursor, &a))
		return 0;
	if (put(o, "process.parent.executable", new_exe(&a)))
		return -1;
	arr = json_object_new_array_ext(PW_ANCESTORS_MAX);
	if (put(o, "piiwatch.process.ancestors", arr))
		return -1;
	for (n = 1;; n++) {
		item = new_ancestor(&a);
		if (!item || json_object_array_add(arr, item)) {
			json_object_put(item);
			return -1;
		}
		if (n == PW_ANCESTORS_MAX || !pw_ancestors_next(&cursor, &a))
			return 0;
	}
}

static int put_common(json_object *o, uint64_t time_ns, const char *kind, const char *dataset,
		      const char *host_name, const char *boot_id)
{
	int rc = 0;

	rc |= put(o, "@timestamp", new_time(time_ns));
	rc |= put(o, "ecs.version", json_object_new_string(PW_ECS_VERSION));
	rc |= put(o, "event.kind", json_object_new_string(kind));
	rc |= put(o, "event.module", json_object_new_string("piiwatch"));
	rc |= put(o, "event.dataset", json_object_new_string(dataset));
	rc |= put_opt_str(o, "host.name", host_name);
	rc |= put_opt_str(o, "host.boot.id", boot_id);
	return rc;
}

/* source.address is what PAM reported; source.ip only when it is one. */
static int put_source(json_object *o, const char *rhost)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (!rhost || !*rhost)
		return 0;
	if (put(o, "source.address", new_str(rhost)))
		return -1;
	if (inet_pton(AF_INET, rhost, addr) == 1 || inet_pton(AF_INET6, rhost, addr) == 1)
		return put(o, "source.ip", json_object_new_string(rhost));
	return put(o, "source.domain", new_str(rhost));
}

const char *pw_ecs_access_action(const struct pw_access *a)
{
	if (a->bytes_read || a->reads)
		return a->bytes_written || a->writes ? "file-read-write" : "file-read";
	return a->bytes_written || a->writes ? "file-write" : "file-open";
}

const struct pw_ecs_io_name pw_ecs_io_names[PW_ECS_N_IO_NAMES] = {
	{ PW_IO_FINAL, "final" }, { PW_IO_EXIT, "exit" }, { PW_IO_REUSED, "reused" },
	{ PW_IO_EXEC, "exec" },   { PW_IO_IDLE, "idle" }, { PW_IO_MMAP, "mmap" },
	{ PW_IO_URING, "io_uring" }, { PW_IO_AIO, "aio" }, { PW_IO_CLONE, "clone" },
	{ PW_IO_OVERLAY, "overlay" }, { PW_IO_RAW, "raw" },
};

static json_object *new_io_names(uint32_t flags)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; arr && i < PW_ECS_N_IO_NAMES; i++) {
		json_object *s;

		if (!(flags & pw_ecs_io_names[i].bit))
			continue;
		s = json_object_new_string(pw_ecs_io_names[i].name);
		if (!s || json_object_array_add(arr, s)) {
			json_object_put(s);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static json_object *finish(json_object *o, int rc)
{
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *pw_ecs_from_access(const struct pw_access *a, const char *host_name)
{
	json_object *o = json_object_new_object();
	uint64_t end = a->closed_ns ? a->closed_ns : a->last_ns;
	bool changed = a->bytes_written || a->writes;
	char dev[32];
	int rc = 0;

	if (!o)
		return NULL;
	rc |= put_common(o, a->last_ns, "event", "piiwatch.access", host_name, a->boot_id);
	rc |= put(o, "event.category", new_str_array("file", NULL));
	rc |= put(o, "event.type", new_str_array("access", changed ? "change" : NULL));
	rc |= put(o, "event.action", json_object_new_string(pw_ecs_access_action(a)));
	rc |= put(o, "event.outcome", json_object_new_string("success"));
	rc |= put(o, "event.start", new_time(a->opened_ns));
	if (a->closed_ns)
		rc |= put(o, "event.end", new_time(a->closed_ns));
	rc |= put(o, "event.duration",
		  json_object_new_uint64(end > a->opened_ns ? end - a->opened_ns : 0));
	rc |= put_opt_str(o, "user.name", a->user);
	if (a->loginuid != PW_NO_ID)
		rc |= put(o, "user.id", new_uint_str(a->loginuid));
	rc |= put(o, "process.pid", json_object_new_uint64(a->pid));
	rc |= put(o, "process.parent.pid", json_object_new_uint64(a->ppid));
	rc |= put_opt_str(o, "process.name", a->comm);
	rc |= put_opt_str(o, "process.executable", a->exe);
	rc |= put_opt_str(o, "process.command_line", a->args);
	rc |= put(o, "process.user.id", new_uint_str(a->uid));
	rc |= put_opt_str(o, "process.user.name", a->euser);
	rc |= put_opt_str(o, "file.path", a->path);
	rc |= put(o, "file.inode", new_uint_str(a->ino));
	snprintf(dev, sizeof(dev), "%llu:%llu", (unsigned long long)(a->dev >> KDEV_MINOR_BITS),
		 (unsigned long long)(a->dev & KDEV_MINOR_MASK));
	rc |= put(o, "file.device", json_object_new_string(dev));
	rc |= put_source(o, a->rhost);
	rc |= put(o, "piiwatch.schema", json_object_new_int(PW_ECS_SCHEMA));
	rc |= put(o, "piiwatch.access_id", json_object_new_uint64(a->access_id));
	rc |= put_opt_str(o, "piiwatch.dataset", a->dataset);
	rc |= put(o, "piiwatch.honeytoken", json_object_new_boolean(a->honeytoken));
	rc |= put(o, "piiwatch.staging", json_object_new_boolean(a->staging));
	rc |= put(o, "piiwatch.bytes_read", json_object_new_uint64(a->bytes_read));
	rc |= put(o, "piiwatch.bytes_written", json_object_new_uint64(a->bytes_written));
	rc |= put(o, "piiwatch.reads", json_object_new_uint64(a->reads));
	rc |= put(o, "piiwatch.writes", json_object_new_uint64(a->writes));
	rc |= put(o, "piiwatch.open_flags", json_object_new_uint64(a->open_flags));
	rc |= put(o, "piiwatch.io_flags", json_object_new_uint64(a->flags));
	rc |= put(o, "piiwatch.io", new_io_names(a->flags));
	rc |= put_nullable(o, "piiwatch.audit_session", a->audit_session, PW_NO_ID);
	rc |= put_nullable(o, "piiwatch.session_id", (uint64_t)a->session_id, 0);
	rc |= put_opt_str(o, "piiwatch.pam_service", a->service);
	rc |= put_ancestors(o, a->ancestors);
	return finish(o, rc);
}

json_object *pw_ecs_from_session(const struct pw_session_record *r, const char *host_name)
{
	return pw_ecs_from_session_row(r, 0, host_name);
}

json_object *pw_ecs_from_session_row(const struct pw_session_record *r, int64_t session_id,
				     const char *host_name)
{
	bool open = r->type == PW_REC_SESSION_OPEN;
	json_object *o;
	int rc = 0;

	if (r->type != PW_REC_SESSION_OPEN && r->type != PW_REC_SESSION_CLOSE)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	rc |= put_common(o, r->time_ns, "event", "piiwatch.session", host_name, r->boot_id);
	rc |= put(o, "event.category", new_str_array("session", NULL));
	rc |= put(o, "event.type", new_str_array(open ? "start" : "end", NULL));
	rc |= put(o, "event.action", json_object_new_string(open ? "session-open" : "session-close"));
	rc |= put(o, "event.outcome", json_object_new_string("success"));
	rc |= put(o, "event.id", new_str(r->id));
	rc |= put_opt_str(o, "user.name", r->user);
	if (r->uid >= 0)
		rc |= put(o, "user.id", new_uint_str((uint64_t)r->uid));
	rc |= put(o, "process.pid", json_object_new_uint64(r->pid));
	rc |= put_source(o, r->rhost);
	rc |= put_opt_str(o, "source.user.name", r->ruser);
	rc |= put(o, "piiwatch.schema", json_object_new_int(PW_ECS_SCHEMA));
	rc |= put(o, "piiwatch.record_id", new_str(r->id));
	rc |= put_opt_str(o, "piiwatch.pam_service", r->service);
	rc |= put_opt_str(o, "piiwatch.tty", r->tty);
	rc |= put_nullable(o, "piiwatch.audit_session", r->sessionid, PW_NO_ID);
	rc |= put_nullable(o, "piiwatch.loginuid", r->loginuid, PW_NO_ID);
	rc |= put(o, "piiwatch.altered", json_object_new_uint64(r->altered));
	rc |= put(o, "piiwatch.mono_ns", json_object_new_uint64(r->mono_ns));
	if (session_id > 0)
		rc |= put(o, "piiwatch.session_id", json_object_new_int64(session_id));
	return finish(o, rc);
}

/* ECS event.severity, on the scale Elastic Security's rules use. */
static int ecs_severity(enum pw_severity s)
{
	switch (s) {
	case PW_SEV_LOW:
		return 21;
	case PW_SEV_MEDIUM:
		return 47;
	case PW_SEV_HIGH:
		return 73;
	case PW_SEV_CRITICAL:
		return 99;
	}
	return 0;
}

json_object *pw_ecs_from_alert(const struct pw_alert *al, const char *host_name)
{
	json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= put_common(o, al->time_ns, "alert", "piiwatch.alert", host_name, NULL);
	rc |= put(o, "event.category", new_str_array("intrusion_detection", NULL));
	rc |= put(o, "event.type", new_str_array("info", NULL));
	rc |= put(o, "event.action", json_object_new_string("piiwatch-alert"));
	rc |= put(o, "event.severity", json_object_new_int(ecs_severity(al->severity)));
	rc |= put(o, "event.risk_score", new_double(al->score));
	rc |= put(o, "event.reason", new_str(al->reason));
	rc |= put(o, "rule.id", new_str(al->rule_id));
	rc |= put_opt_str(o, "user.name", al->user);
	rc |= put(o, "message", new_str(al->reason));
	rc |= put(o, "piiwatch.schema", json_object_new_int(PW_ECS_SCHEMA));
	rc |= put(o, "piiwatch.severity", json_object_new_string(pw_severity_name(al->severity)));
	rc |= put_nullable(o, "piiwatch.audit_session", al->audit_session, PW_NO_ID);
	rc |= put_nullable(o, "piiwatch.session_id", (uint64_t)al->session_id, 0);
	return finish(o, rc);
}

/* Changes, connections, mappings, io_uring use, programs run and blind
 * spots: event.dataset "piiwatch.event". */
/* ECS event.category and event.type of a piiwatch.event kind. */
static void event_category(const struct pw_event_rec *e, const char **category, const char **type)
{
	*category = "file";
	*type = "access";
	if (strcmp(e->kind, "change") == 0) {
		*type = e->action && (strcmp(e->action, "unlink") == 0 ||
				      strcmp(e->action, "rmdir") == 0) ? "deletion" : "change";
	} else if (strcmp(e->kind, "connect") == 0) {
		*category = "network";
		*type = "connection";
	} else if (strcmp(e->kind, "exec") == 0) {
		*category = "process";
		*type = "start";
	} else if (strcmp(e->kind, "coredump") == 0) {
		*category = "process";
		*type = "end";
	} else if (strcmp(e->kind, "loss") == 0) {
		*category = "host";
		*type = "info";
	}
}

json_object *pw_ecs_from_event(const struct pw_event_rec *e, const char *host_name,
			       const char *boot_id)
{
	json_object *o = json_object_new_object();
	const char *category, *type;
	int rc = 0;

	if (!o)
		return NULL;
	event_category(e, &category, &type);
	rc |= put_common(o, e->ts_ns, "event", "piiwatch.event", host_name, boot_id);
	rc |= put(o, "event.category", new_str_array(category, NULL));
	rc |= put(o, "event.type", new_str_array(type, NULL));
	rc |= put(o, "event.action", new_str(e->action ? e->action : e->kind));
	/* A non-blocking connect's -EINPROGRESS says nothing of the outcome. */
	rc |= put(o, "event.outcome", json_object_new_string(
			  e->result == -EINPROGRESS && strcmp(e->kind, "connect") == 0 ? "unknown" :
			  e->result < 0 ? "failure" : "success"));
	rc |= put_opt_str(o, "user.name", e->user);
	if (e->loginuid != PW_NO_ID)
		rc |= put(o, "user.id", new_uint_str(e->loginuid));
	rc |= put(o, "process.user.id", new_uint_str(e->uid));
	rc |= put_opt_str(o, "process.user.name", e->euser);
	rc |= put(o, "process.pid", json_object_new_int64(e->pid));
	rc |= put(o, "process.parent.pid", json_object_new_int64(e->ppid));
	rc |= put_opt_str(o, "process.name", e->comm);
	rc |= put_opt_str(o, "process.executable", e->exe);
	rc |= put_opt_str(o, "process.command_line", e->args);
	rc |= put_opt_str(o, "file.path", e->path);
	rc |= put_opt_str(o, "destination.ip", e->dest_ip);
	if (e->dest_port)
		rc |= put(o, "destination.port", json_object_new_int(e->dest_port));
	rc |= put(o, "piiwatch.schema", json_object_new_int(PW_ECS_SCHEMA));
	rc |= put(o, "piiwatch.kind", new_str(e->kind));
	rc |= put_opt_str(o, "piiwatch.dataset", e->dataset);
	rc |= put_opt_str(o, "piiwatch.requested", e->path2);
	rc |= put(o, "piiwatch.result", json_object_new_int64(e->result));
	rc |= put(o, "piiwatch.honeytoken", json_object_new_boolean(e->honeytoken));
	if (e->count)
		rc |= put(o, "piiwatch.count", json_object_new_uint64(e->count));
	if (e->access_id)
		rc |= put(o, "piiwatch.access_id", json_object_new_uint64(e->access_id));
	rc |= put_nullable(o, "piiwatch.audit_session", e->audit_session, PW_NO_ID);
	rc |= put_nullable(o, "piiwatch.session_id", (uint64_t)e->session_id, 0);
	rc |= put_ancestors(o, e->ancestors);
	return finish(o, rc);
}

char *pw_ecs_to_line(json_object *o)
{
	const char *s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? strdup(s) : NULL;
}

/* ---- parsing ----------------------------------------------------------- */

struct parser {
	json_object *root;
	char *err;
	size_t err_size;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->err_size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Find a dotted path, whose components may index an array
 * ("piiwatch.process.ancestors[2].pid").  1: found (*out), 0: absent, -1:
 * a component on the way is not an object or an array (err set). */
static int lookup(struct parser *p, const char *path, json_object **out)
{
	json_object *cur = p->root;
	const char *s = path;
	char key[64];

	for (;;) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		const char *bracket = memchr(s, '[', n);

		snprintf(key, sizeof(key), "%.*s", (int)(bracket ? (size_t)(bracket - s) : n), s);
		if (!json_object_object_get_ex(cur, key, &cur))
			return 0;
		if (bracket) {
			size_t i = strtoul(bracket + 1, NULL, 10);

			if (!json_object_is_type(cur, json_type_array))
				return fail(p, "field '%.*s' must be an array", (int)(bracket - path),
					    path);
			if (i >= json_object_array_length(cur))
				return 0;
			cur = json_object_array_get_idx(cur, i);
		}
		if (!dot)
			break;
		if (!json_object_is_type(cur, json_type_object))
			return fail(p, "field '%.*s' must be an object", (int)(dot - path), path);
		s = dot + 1;
	}
	*out = cur;
	return 1;
}

/* A present, non-null value of the given type: 1; absent or null: 0 (an
 * error when required); -1 on error. */
static int get_typed(struct parser *p, const char *path, json_type type, bool required,
		     json_object **out)
{
	static const char *const type_words[] = {
		[json_type_null] = "null",        [json_type_boolean] = "a boolean",
		[json_type_double] = "a number",  [json_type_int] = "an integer",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	int found = lookup(p, path, out);

	if (found < 0)
		return -1;
	if (!found || json_object_is_type(*out, json_type_null)) {
		if (required)
			return fail(p, "field '%s' is missing", path);
		return 0;
	}
	if (!json_object_is_type(*out, type))
		return fail(p, "field '%s' must be %s", path, type_words[type]);
	return 1;
}

/* A string of at most max bytes, clean UTF-8 without control characters
 * or NUL.  *out points into the parsed document. */
static int get_str(struct parser *p, const char *path, size_t max, bool required,
		   const char **out)
{
	json_object *v;
	int rc = get_typed(p, path, json_type_string, required, &v);
	size_t len;

	*out = NULL;
	if (rc <= 0)
		return rc;
	*out = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len > max)
		return fail(p, "field '%s' is longer than %zu bytes", path, max);
	if (strlen(*out) != len || !pw_is_clean_utf8(*out))
		return fail(p, "field '%s' holds control characters or invalid UTF-8", path);
	return 1;
}

/* The builders leave empty strings out: a required one that is empty
 * could not be written back. */
static int empty(struct parser *p, const char *path)
{
	return fail(p, "field '%s' must not be empty", path);
}

static int get_str_buf(struct parser *p, const char *path, char *dst, size_t dst_size,
		       bool required)
{
	const char *s;
	int rc = get_str(p, path, dst_size - 1, required, &s);

	if (rc < 0)
		return -1;
	if (required && !*s)
		return empty(p, path);
	snprintf(dst, dst_size, "%s", rc ? s : "");
	return 0;
}

static int get_str_dup(struct parser *p, const char *path, bool required, char **dst)
{
	const char *s;
	int rc = get_str(p, path, PW_ECS_STRING_MAX, required, &s);

	*dst = NULL;
	if (rc <= 0)
		return rc;
	if (required && !*s)
		return empty(p, path);
	*dst = strdup(s);
	if (!*dst)
		return fail(p, "out of memory");
	return 0;
}

/* An integer in [0, max]; when nullable, null (or absence) gives none. */
static int get_uint(struct parser *p, const char *path, uint64_t max, bool nullable,
		    uint64_t none, uint64_t *out)
{
	json_object *v;
	int found = lookup(p, path, &v);

	if (found < 0)
		return -1;
	if (!found)
		return nullable ? (*out = none, 0) : fail(p, "field '%s' is missing", path);
	if (json_object_is_type(v, json_type_null)) {
		if (!nullable)
			return fail(p, "field '%s' must not be null", path);
		*out = none;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return fail(p, "field '%s' must be an integer", path);
	/* json-c keeps integers above INT64_MAX as unsigned, reports negative
	 * ones through get_int64 only, and saturates what does not fit at
	 * INT64_MIN or UINT64_MAX: callers pass max < UINT64_MAX. */
	if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
		return fail(p, "field '%s' is out of range [0, %llu]", path,
			    (unsigned long long)max);
	*out = json_object_get_uint64(v);
	return 0;
}

/* An id written as a string of decimal digits ("1001"), as ECS keeps ids. */
static int get_id_str(struct parser *p, const char *path, uint64_t max, bool required,
		      uint64_t none, uint64_t *out)
{
	const char *s;
	int rc = get_str(p, path, 20, required, &s);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		*out = none;
		return 0;
	}
	if (pw_parse_u64(s, max, out))
		return fail(p, "field '%s' must be a string of decimal digits up to %llu", path,
			    (unsigned long long)max);
	return 0;
}

static int get_bool(struct parser *p, const char *path, bool *out)
{
	json_object *v;

	if (get_typed(p, path, json_type_boolean, true, &v) < 0)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction]Z", UTC, as new_time() writes it. */
static int parse_time(const char *s, uint64_t *out_ns)
{
	int year, mon, day, hour, min, sec, frac_digits = 0;
	uint64_t frac = 0;
	struct tm tm = { 0 }, back;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &year) || s[4] != '-' || digits(s + 5, 2, &mon) ||
	    s[7] != '-' || digits(s + 8, 2, &day) || s[10] != 'T' || digits(s + 11, 2, &hour) ||
	    s[13] != ':' || digits(s + 14, 2, &min) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	s += 19;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, frac_digits++) {
			if (frac_digits == 9)
				return -1;
			frac = frac * 10 + (uint64_t)(*s - '0');
		}
		if (frac_digits == 0)
			return -1;
		for (; frac_digits < 9; frac_digits++)
			frac *= 10;
	}
	if (strcmp(s, "Z") != 0 || year < 1970)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() normalises 30 February into March: refuse what moved. */
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_year != tm.tm_year ||
	    back.tm_mon != tm.tm_mon || back.tm_mday != day || back.tm_hour != hour ||
	    back.tm_min != min || back.tm_sec != sec)
		return -1;
	if ((uint64_t)t > (UINT64_MAX - frac) / NS_PER_SEC)
		return -1;
	*out_ns = (uint64_t)t * NS_PER_SEC + frac;
	return 0;
}

static int get_time(struct parser *p, const char *path, bool required, uint64_t *out_ns)
{
	const char *s;
	int rc = get_str(p, path, 40, required, &s);

	*out_ns = 0;
	if (rc <= 0)
		return rc;
	if (parse_time(s, out_ns))
		return fail(p, "field '%s' must be a UTC time YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", path);
	return 0;
}

/* "MAJOR:MINOR" back into the kernel's encoding. */
static int get_device(struct parser *p, const char *path, uint64_t *out)
{
	char major[16], minor[16];
	const char *s, *colon;
	uint64_t ma, mi;
	size_t n;

	if (get_str(p, path, 20, true, &s) < 0)
		return -1;
	colon = strchr(s, ':');
	n = colon ? (size_t)(colon - s) : 0;
	if (!colon || n >= sizeof(major) || strlen(colon + 1) >= sizeof(minor))
		goto bad;
	memcpy(major, s, n);
	major[n] = '\0';
	snprintf(minor, sizeof(minor), "%s", colon + 1);
	if (pw_parse_u64(major, KDEV_MAJOR_MAX, &ma) || pw_parse_u64(minor, KDEV_MINOR_MASK, &mi))
		goto bad;
	*out = (ma << KDEV_MINOR_BITS) | mi;
	return 0;
bad:
	return fail(p, "field '%s' must be MAJOR:MINOR (major <= %llu, minor <= %llu)", path,
		    KDEV_MAJOR_MAX, KDEV_MINOR_MASK);
}

static int expect_str(struct parser *p, const char *path, const char *want)
{
	const char *s;

	if (get_str(p, path, 64, true, &s) < 0)
		return -1;
	if (strcmp(s, want) != 0)
		return fail(p, "field '%s' must be \"%s\"", path, want);
	return 0;
}

/*
 * piiwatch.process.ancestors back into a chain's text (ancestors.h), as
 * the collector could have made it: at most PW_ANCESTORS_MAX, from the
 * parent (process.parent.pid) up, no pid twice, none after pid 1, and
 * process.parent.executable, when given, the first program.  Absent or
 * empty: none known (files of earlier versions).
 */
static int get_ancestors(struct parser *p, uint32_t ppid, char **out)
{
	char text[PW_ANCESTORS_TEXT_MAX + 1], pid_path[64], exe_path[64];
	uint32_t pids[PW_ANCESTORS_MAX];
	const char *exe, *parent_exe;
	json_object *arr;
	size_t n, i, j, len = 0;
	uint64_t pid;
	int rc;

	*out = NULL;
	rc = get_typed(p, "piiwatch.process.ancestors", json_type_array, false, &arr);
	if (rc < 0 || get_str(p, "process.parent.executable", PW_ANCESTORS_TEXT_MAX, false,
			      &parent_exe) < 0)
		return -1;
	n = rc ? json_object_array_length(arr) : 0;
	if (n > PW_ANCESTORS_MAX)
		return fail(p, "field 'piiwatch.process.ancestors' holds more than %d ancestors",
			    PW_ANCESTORS_MAX);
	if (parent_exe && n == 0)
		return fail(p, "field 'process.parent.executable' needs "
			       "'piiwatch.process.ancestors'");
	text[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(pid_path, sizeof(pid_path), "piiwatch.process.ancestors[%zu].pid", i);
		snprintf(exe_path, sizeof(exe_path), "piiwatch.process.ancestors[%zu].executable", i);
		if (get_uint(p, pid_path, UINT32_MAX, false, 0, &pid))
			return -1;
		if (pid == 0)
			return fail(p, "field '%s' is out of range [1, %u]", pid_path, UINT32_MAX);
		if (i == 0 && pid != ppid)
			return fail(p, "field '%s' must equal 'process.parent.pid'", pid_path);
		if (i > 0 && pids[i - 1] == 1)
			return fail(p, "field '%s' comes after pid 1, where a chain ends", pid_path);
		for (j = 0; j < i; j++)
			if (pids[j] == pid)
				return fail(p, "field '%s' names pid %llu a second time", pid_path,
					    (unsigned long long)pid);
		pids[i] = (uint32_t)pid;
		if (get_str(p, exe_path, PW_ANCESTORS_TEXT_MAX, true, &exe) < 0)
			return -1;
		if (!*exe)
			return empty(p, exe_path);
		if (i == 0 && parent_exe && strcmp(parent_exe, exe) != 0)
			return fail(p, "field 'process.parent.executable' must equal '%s'", exe_path);
		if (!pw_ancestors_append(text, &len, sizeof(text), (uint32_t)pid, exe))
			return fail(p, "field 'piiwatch.process.ancestors' holds more than %d bytes "
				       "of pids and programs", PW_ANCESTORS_TEXT_MAX);
	}
	if (n == 0)
		return 0;
	*out = strdup(text);
	return *out ? 0 : fail(p, "out of memory");
}

static int parse_access(struct parser *p, struct pw_access *a)
{
	uint64_t v;

	memset(a, 0, sizeof(*a));
	if (get_str_buf(p, "host.boot.id", a->boot_id, sizeof(a->boot_id), true) ||
	    get_uint(p, "piiwatch.access_id", JSON_U64_MAX, false, 0, &a->access_id) ||
	    get_uint(p, "piiwatch.session_id", INT64_MAX, true, 0, &v))
		return -1;
	a->session_id = (int64_t)v;
	if (get_uint(p, "piiwatch.audit_session", PW_NO_ID - 1, true, PW_NO_ID, &v))
		return -1;
	a->audit_session = (uint32_t)v;
	if (get_id_str(p, "user.id", PW_NO_ID - 1, false, PW_NO_ID, &v))
		return -1;
	a->loginuid = (uint32_t)v;
	if (get_id_str(p, "process.user.id", UINT32_MAX, true, 0, &v))
		return -1;
	a->uid = (uint32_t)v;
	if (get_uint(p, "process.pid", UINT32_MAX, false, 0, &v))
		return -1;
	a->pid = (uint32_t)v;
	if (get_uint(p, "process.parent.pid", UINT32_MAX, false, 0, &v))
		return -1;
	a->ppid = (uint32_t)v;
	if (get_ancestors(p, a->ppid, &a->ancestors))
		return -1;
	if (get_uint(p, "piiwatch.open_flags", UINT32_MAX, false, 0, &v))
		return -1;
	a->open_flags = (uint32_t)v;
	if (get_uint(p, "piiwatch.io_flags", UINT32_MAX, false, 0, &v))
		return -1;
	a->flags = (uint32_t)v;
	if (get_str_buf(p, "process.name", a->comm, sizeof(a->comm), false) ||
	    get_str_dup(p, "user.name", false, &a->user) ||
	    get_str_dup(p, "process.user.name", false, &a->euser) ||
	    get_str_dup(p, "process.executable", false, &a->exe) ||
	    get_str_dup(p, "process.command_line", false, &a->args) ||
	    get_str_dup(p, "piiwatch.dataset", true, &a->dataset) ||
	    get_str_dup(p, "file.path", true, &a->path) ||
	    get_device(p, "file.device", &a->dev) ||
	    get_id_str(p, "file.inode", UINT64_MAX, true, 0, &a->ino) ||
	    get_bool(p, "piiwatch.honeytoken", &a->honeytoken) ||
	    get_bool(p, "piiwatch.staging", &a->staging) ||
	    get_time(p, "event.start", true, &a->opened_ns) ||
	    get_time(p, "@timestamp", true, &a->last_ns) ||
	    get_time(p, "event.end", false, &a->closed_ns) ||
	    get_uint(p, "piiwatch.bytes_read", JSON_U64_MAX, false, 0, &a->bytes_read) ||
	    get_uint(p, "piiwatch.bytes_written", JSON_U64_MAX, false, 0, &a->bytes_written) ||
	    get_uint(p, "piiwatch.reads", JSON_U64_MAX, false, 0, &a->reads) ||
	    get_uint(p, "piiwatch.writes", JSON_U64_MAX, false, 0, &a->writes) ||
	    get_str_dup(p, "piiwatch.pam_service", false, &a->service) ||
	    get_str_dup(p, "source.address", false, &a->rhost))
		return -1;
	if (a->last_ns < a->opened_ns || (a->closed_ns && a->closed_ns < a->opened_ns))
		return fail(p, "field '@timestamp' or 'event.end' is before 'event.start'");
	return 0;
}

static bool valid_record_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return i > 0;
}

static int parse_session(struct parser *p, struct pw_session_record *r)
{
	const char *action;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (get_str(p, "event.action", 32, true, &action) < 0)
		return -1;
	if (strcmp(action, "session-open") == 0)
		r->type = PW_REC_SESSION_OPEN;
	else if (strcmp(action, "session-close") == 0)
		r->type = PW_REC_SESSION_CLOSE;
	else
		return fail(p, "field 'event.action' must be \"session-open\" or \"session-close\"");
	if (get_str_buf(p, "piiwatch.record_id", r->id, sizeof(r->id), true))
		return -1;
	if (!valid_record_id(r->id))
		return fail(p, "field 'piiwatch.record_id' must be lower-case letters, digits and '-'");
	if (get_str_buf(p, "user.name", r->user, sizeof(r->user), false) ||
	    get_str_buf(p, "piiwatch.pam_service", r->service, sizeof(r->service), true) ||
	    get_str_buf(p, "source.address", r->rhost, sizeof(r->rhost), false) ||
	    get_str_buf(p, "source.user.name", r->ruser, sizeof(r->ruser), false) ||
	    get_str_buf(p, "piiwatch.tty", r->tty, sizeof(r->tty), false) ||
	    get_str_buf(p, "host.boot.id", r->boot_id, sizeof(r->boot_id), true))
		return -1;
	if (get_id_str(p, "user.id", UINT32_MAX - 1, false, UINT64_MAX, &v))
		return -1;
	r->uid = v == UINT64_MAX ? -1 : (int64_t)v;
	if (get_uint(p, "process.pid", UINT32_MAX, false, 0, &v))
		return -1;
	r->pid = (uint32_t)v;
	if (get_uint(p, "piiwatch.loginuid", PW_NO_ID - 1, true, PW_NO_ID, &v))
		return -1;
	r->loginuid = (uint32_t)v;
	if (get_uint(p, "piiwatch.audit_session", PW_NO_ID - 1, true, PW_NO_ID, &v))
		return -1;
	r->sessionid = (uint32_t)v;
	if (get_uint(p, "piiwatch.altered", 0x1f, false, 0, &v))
		return -1;
	r->altered = (uint32_t)v;
	if (get_time(p, "@timestamp", true, &r->time_ns) ||
	    get_uint(p, "piiwatch.mono_ns", JSON_U64_MAX, false, 0, &r->mono_ns))
		return -1;
	return 0;
}

static int parse_alert(struct parser *p, struct pw_alert *al)
{
	const char *sev;
	json_object *v;
	uint64_t u;

	memset(al, 0, sizeof(*al));
	if (get_str_buf(p, "rule.id", al->rule_id, sizeof(al->rule_id), true))
		return -1;
	if (!pw_rule_id_valid(al->rule_id))
		return fail(p, "field 'rule.id' must be [a-z0-9._-], starting with a letter or digit");
	if (get_str(p, "piiwatch.severity", 16, true, &sev) < 0)
		return -1;
	if (pw_severity_from_name(sev, &al->severity))
		return fail(p, "field 'piiwatch.severity' must be low, medium, high or critical");
	if (get_str_buf(p, "user.name", al->user, sizeof(al->user), false) ||
	    get_str_buf(p, "event.reason", al->reason, sizeof(al->reason), true) ||
	    get_time(p, "@timestamp", true, &al->time_ns))
		return -1;
	if (get_uint(p, "piiwatch.audit_session", PW_NO_ID - 1, true, PW_NO_ID, &u))
		return -1;
	al->audit_session = (uint32_t)u;
	if (get_uint(p, "piiwatch.session_id", INT64_MAX, true, 0, &u))
		return -1;
	al->session_id = (int64_t)u;
	if (lookup(p, "event.risk_score", &v) <= 0 ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return fail(p, "field 'event.risk_score' must be a number");
	al->score = json_object_get_double(v);
	if (!isfinite(al->score))
		return fail(p, "field 'event.risk_score' must be finite");
	return 0;
}

/* A signed integer in [min, max]. */
static int get_int(struct parser *p, const char *path, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;

	if (get_typed(p, path, json_type_int, true, &v) < 0)
		return -1;
	/* json-c saturates what does not fit in an int64 at its limits. */
	if (json_object_get_int64(v) < min || json_object_get_int64(v) > max ||
	    json_object_get_int64(v) == INT64_MAX || json_object_get_int64(v) == INT64_MIN)
		return fail(p, "field '%s' is out of range [%lld, %lld]", path, (long long)min,
			    (long long)max);
	*out = json_object_get_int64(v);
	return 0;
}

void pw_event_rec_free_strings(struct pw_event_rec *e)
{
	/* The parser allocated every string but kind, which is static. */
	free((char *)(uintptr_t)e->action);
	free((char *)(uintptr_t)e->user);
	free((char *)(uintptr_t)e->euser);
	free((char *)(uintptr_t)e->comm);
	free((char *)(uintptr_t)e->exe);
	free((char *)(uintptr_t)e->args);
	free((char *)(uintptr_t)e->ancestors);
	free((char *)(uintptr_t)e->dataset);
	free((char *)(uintptr_t)e->path);
	free((char *)(uintptr_t)e->path2);
	free((char *)(uintptr_t)e->dest_ip);
	memset(e, 0, sizeof(*e));
}

static int get_event_str(struct parser *p, const char *path, const char **dst)
{
	char *s;
	int rc = get_str_dup(p, path, false, &s);

	*dst = s;
	return rc;
}

static int parse_event(struct parser *p, struct pw_event_rec *e, char *boot_id)
{
	static const char *const kinds[] = { "change", "connect", "mmap", "io_uring", "exec",
					     "coredump", "loss" };
	const char *kind, *ip;
	unsigned char addr[sizeof(struct in6_addr)];
	char *text;
	uint64_t v;
	int64_t result = 0;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (get_str(p, "piiwatch.kind", 16, true, &kind) < 0)
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			e->kind = kinds[i];
	if (!e->kind)
		return fail(p, "field 'piiwatch.kind' must be change, connect, mmap, io_uring, exec, "
			       "coredump or loss");
	if (get_str(p, "host.boot.id", PW_BOOT_ID_LEN - 1, true, &kind) < 0)
		return -1;
	if (!*kind)
		return empty(p, "host.boot.id");
	snprintf(boot_id, PW_BOOT_ID_LEN, "%s", kind);
	if (get_event_str(p, "event.action", &e->action))
		return -1;
	for (i = 0; e->action && e->action[i]; i++)
		if (!((e->action[i] >= 'a' && e->action[i] <= 'z') ||
		      (e->action[i] >= '0' && e->action[i] <= '9') || e->action[i] == '-' ||
		      e->action[i] == '_') || i >= 64)
			return fail(p, "field 'event.action' must be at most 64 of [a-z0-9_-]");
	if (get_time(p, "@timestamp", true, &e->ts_ns) ||
	    get_uint(p, "piiwatch.session_id", INT64_MAX, true, 0, &v))
		return -1;
	e->session_id = (int64_t)v;
	if (get_uint(p, "piiwatch.audit_session", PW_NO_ID - 1, true, PW_NO_ID, &v))
		return -1;
	e->audit_session = (uint32_t)v;
	if (get_id_str(p, "user.id", PW_NO_ID - 1, false, PW_NO_ID, &v))
		return -1;
	e->loginuid = (uint32_t)v;
	if (get_id_str(p, "process.user.id", UINT32_MAX, true, 0, &v))
		return -1;
	e->uid = (uint32_t)v;
	if (get_uint(p, "process.pid", UINT32_MAX, false, 0, &v))
		return -1;
	e->pid = (uint32_t)v;
	if (get_uint(p, "process.parent.pid", UINT32_MAX, false, 0, &v))
		return -1;
	e->ppid = (uint32_t)v;
	if (get_ancestors(p, e->ppid, &text))
		return -1;
	e->ancestors = text;
	if (get_event_str(p, "user.name", &e->user) ||
	    get_event_str(p, "process.user.name", &e->euser) ||
	    get_event_str(p, "process.name", &e->comm) ||
	    get_event_str(p, "process.executable", &e->exe) ||
	    get_event_str(p, "process.command_line", &e->args) ||
	    get_event_str(p, "piiwatch.dataset", &e->dataset) ||
	    get_event_str(p, "file.path", &e->path) ||
	    get_event_str(p, "piiwatch.requested", &e->path2) ||
	    get_event_str(p, "destination.ip", &e->dest_ip))
		return -1;
	if (e->comm && strlen(e->comm) > 16)
		return fail(p, "field 'process.name' is longer than 16 bytes");
	ip = e->dest_ip;
	if (ip && inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
		return fail(p, "field 'destination.ip' must be an IPv4 or IPv6 address");
	if (get_uint(p, "destination.port", 65535, true, 0, &v))
		return -1;
	e->dest_port = (int)v;
	if (get_int(p, "piiwatch.result", INT64_MIN, INT64_MAX, &result) ||
	    get_bool(p, "piiwatch.honeytoken", &e->honeytoken) ||
	    get_uint(p, "piiwatch.count", JSON_U64_MAX, true, 0, &e->count) ||
	    get_uint(p, "piiwatch.access_id", JSON_U64_MAX, true, 0, &e->access_id))
		return -1;
	e->result = result;
	return 0;
}

static json_object *parse_document(const char *buf, size_t len, struct parser *p)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > PW_ECS_LINE_MAX) {
		fail(p, "line of %zu bytes is longer than %d", len, PW_ECS_LINE_MAX);
		return NULL;
	}
	/* json-c would stop at a NUL and take what came before it. */
	if (memchr(buf, '\0', len)) {
		fail(p, "line holds a NUL byte");
		return NULL;
	}
	/* Our documents nest five levels deep (each object of
	 * piiwatch.process.ancestors in the root object); a little room for
	 * what shippers add. */
	tok = json_tokener_new_ex(8);
	if (!tok) {
		fail(p, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len) {
		fail(p, "not one JSON object: %s at byte %zu",
		     o ? "trailing data" : json_tokener_error_desc(json_tokener_get_error(tok)),
		     json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		fail(p, "expected a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int pw_ecs_parse_line(const char *buf, size_t len, struct pw_ecs_record *rec, char *err,
		      size_t err_size)
{
	struct parser p = { .err = err, .err_size = err_size };
	const char *dataset;
	uint64_t schema;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	p.root = parse_document(buf, len, &p);
	if (!p.root)
		return -1;
	if (get_uint(&p, "piiwatch.schema", 1000, false, 0, &schema))
		goto cleanup;
	if (schema != PW_ECS_SCHEMA) {
		fail(&p, "field 'piiwatch.schema' is %llu: only %d is understood",
		     (unsigned long long)schema, PW_ECS_SCHEMA);
		goto cleanup;
	}
	if (get_str(&p, "event.dataset", 64, true, &dataset) < 0)
		goto cleanup;
	if (strcmp(dataset, "piiwatch.access") == 0) {
		rec->kind = PW_ECS_ACCESS;
		rc = expect_str(&p, "event.kind", "event") ?: parse_access(&p, &rec->access);
		if (rc)
			pw_access_free_strings(&rec->access);
	} else if (strcmp(dataset, "piiwatch.session") == 0) {
		rec->kind = PW_ECS_SESSION;
		rc = expect_str(&p, "event.kind", "event") ?: parse_session(&p, &rec->session);
		if (!rc && get_uint(&p, "piiwatch.session_id", INT64_MAX, true, 0, &schema))
			rc = -1;
		rec->session_id = rc ? 0 : (int64_t)schema;
	} else if (strcmp(dataset, "piiwatch.alert") == 0) {
		rec->kind = PW_ECS_ALERT;
		rc = expect_str(&p, "event.kind", "alert") ?: parse_alert(&p, &rec->alert);
	} else if (strcmp(dataset, "piiwatch.event") == 0) {
		rec->kind = PW_ECS_EVENT;
		rc = expect_str(&p, "event.kind", "event") ?:
		     parse_event(&p, &rec->event, rec->boot_id);
		if (rc)
			pw_event_rec_free_strings(&rec->event);
	} else {
		fail(&p, "field 'event.dataset' must be piiwatch.access, piiwatch.session, "
			 "piiwatch.alert or piiwatch.event");
	}
cleanup:
	json_object_put(p.root);
	if (rc)
		memset(rec, 0, sizeof(*rec));
	return rc;
}

void pw_ecs_record_free(struct pw_ecs_record *rec)
{
	if (rec->kind == PW_ECS_ACCESS)
		pw_access_free_strings(&rec->access);
	else if (rec->kind == PW_ECS_EVENT)
		pw_event_rec_free_strings(&rec->event);
	memset(rec, 0, sizeof(*rec));
}

int pw_ecs_to_access(const char *buf, size_t len, struct pw_access *a, char *err,
		     size_t err_size)
{
	struct pw_ecs_record rec;

	memset(a, 0, sizeof(*a));
	if (pw_ecs_parse_line(buf, len, &rec, err, err_size))
		return -1;
	if (rec.kind != PW_ECS_ACCESS) {
		snprintf(err, err_size, "field 'event.dataset': not an access record");
		pw_ecs_record_free(&rec);
		return -1;
	}
	*a = rec.access;
	return 0;
}
