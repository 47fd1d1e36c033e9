// SPDX-License-Identifier: GPL-2.0
#include "session_record.h"
#include "util.h"

#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
	[PW_REC_SESSION_OPEN] = "session_open",
	[PW_REC_SESSION_CLOSE] = "session_close",
	[PW_REC_QUARANTINE_QUERY] = "quarantine_query",
};

const char *pw_record_type_name(enum pw_record_type t)
{
	if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
		return type_names[t];
	return "?";
}

static int add_str(json_object *o, const char *k, const char *v)
{
	json_object *s = json_object_new_string(v);

	if (!s)
		return -1;
	return json_object_object_add(o, k, s);
}

static int add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object *n = json_object_new_uint64(v);

	if (!n)
		return -1;
	return json_object_object_add(o, k, n);
}

static int add_i64(json_object *o, const char *k, int64_t v)
{
	json_object *n = json_object_new_int64(v);

	if (!n)
		return -1;
	return json_object_object_add(o, k, n);
}

char *pw_record_to_json(const struct pw_session_record *r)
{
	json_object *o = json_object_new_object();
	char *out = NULL;
	int rc = 0;

	if (!o)
		return NULL;
	rc |= add_i64(o, "v", PW_RECORD_VERSION);
	rc |= add_str(o, "type", pw_record_type_name(r->type));
	rc |= add_str(o, "id", r->id);
	rc |= add_str(o, "user", r->user);
	if (r->type != PW_REC_QUARANTINE_QUERY) {
		rc |= add_str(o, "service", r->service);
		rc |= add_str(o, "rhost", r->rhost);
		rc |= add_str(o, "ruser", r->ruser);
		rc |= add_str(o, "tty", r->tty);
		rc |= add_i64(o, "uid", r->uid);
		rc |= add_u64(o, "pid", r->pid);
		rc |= add_u64(o, "loginuid", r->loginuid);
		rc |= add_u64(o, "sessionid", r->sessionid);
		rc |= add_u64(o, "altered", r->altered);
		rc |= add_str(o, "boot_id", r->boot_id);
		rc |= add_u64(o, "time_ns", r->time_ns);
		rc |= add_u64(o, "mono_ns", r->mono_ns);
	}
	if (rc == 0) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		if (s)
			out = strdup(s);
	}
	json_object_put(o);
	return out;
}

static json_object *parse_object(const char *buf, size_t len, char *err, size_t err_size)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > PW_RECORD_MAX_WIRE || len > INT32_MAX) {
		pw_set_err(err, err_size, "message of %zu bytes is larger than %d", len,
			PW_RECORD_MAX_WIRE);
		return NULL;
	}
	tok = json_tokener_new_ex(4);
	if (!tok) {
		pw_set_err(err, err_size, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		pw_set_err(err, err_size, "not one JSON object: %s at byte %zu",
			o ? "trailing data" : json_tokener_error_desc(e),
			json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		pw_set_err(err, err_size, "expected a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int get_str(json_object *o, const char *k, char *dst, size_t dst_size, bool required,
		   char *err, size_t err_size)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, k, &v)) {
		if (!required) {
			dst[0] = '\0';
			return 0;
		}
		pw_set_err(err, err_size, "field '%s' is missing", k);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		pw_set_err(err, err_size, "field '%s' must be a string", k);
		return -1;
	}
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) >= dst_size) {
		pw_set_err(err, err_size, "field '%s' is longer than %zu bytes", k, dst_size - 1);
		return -1;
	}
	if (strlen(s) != (size_t)json_object_get_string_len(v) || !pw_is_clean_utf8(s)) {
		pw_set_err(err, err_size, "field '%s' holds control characters or invalid UTF-8", k);
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int get_num(json_object *o, const char *k, int64_t min, uint64_t max, int64_t *dst,
		   char *err, size_t err_size)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v)) {
		pw_set_err(err, err_size, "field '%s' is missing", k);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		pw_set_err(err, err_size, "field '%s' must be an integer", k);
		return -1;
	}
	if (min < 0) {
		int64_t x = json_object_get_int64(v);

		if (x < min || (x > 0 && (uint64_t)x > max)) {
			pw_set_err(err, err_size, "field '%s' is out of range", k);
			return -1;
		}
		*dst = x;
		return 0;
	}
	{
		uint64_t x = json_object_get_uint64(v);

		if (json_object_get_int64(v) < 0 || x > max) {
			pw_set_err(err, err_size, "field '%s' is out of range", k);
			return -1;
		}
		*dst = (int64_t)x;
	}
	return 0;
}

static int get_u64(json_object *o, const char *k, uint64_t max, uint64_t *dst, char *err,
		   size_t err_size)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int)) {
		pw_set_err(err, err_size, "field '%s' must be an integer", k);
		return -1;
	}
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0) {
		pw_set_err(err, err_size, "field '%s' is out of range", k);
		return -1;
	}
	*dst = json_object_get_uint64(v);
	if (*dst > max) {
		pw_set_err(err, err_size, "field '%s' is out of range", k);
		return -1;
	}
	return 0;
}

static bool valid_id(const char *s)
{
	size_t i;

	if (!*s)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

int pw_record_from_json(const char *buf, size_t len, struct pw_session_record *r, char *err,
			size_t err_size)
{
	char type[32];
	int64_t n;
	uint64_t u;
	json_object *o;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	o = parse_object(buf, len, err, err_size);
	if (!o)
		return -1;
	if (get_num(o, "v", 0, 1000, &n, err, err_size))
		goto cleanup;
	if (n != PW_RECORD_VERSION) {
		pw_set_err(err, err_size, "unsupported record version %lld", (long long)n);
		goto cleanup;
	}
	if (get_str(o, "type", type, sizeof(type), true, err, err_size))
		goto cleanup;
	if (strcmp(type, "session_open") == 0)
		r->type = PW_REC_SESSION_OPEN;
	else if (strcmp(type, "session_close") == 0)
		r->type = PW_REC_SESSION_CLOSE;
	else if (strcmp(type, "quarantine_query") == 0)
		r->type = PW_REC_QUARANTINE_QUERY;
	else {
		pw_set_err(err, err_size, "unknown record type '%s'", type);
		goto cleanup;
	}
	if (get_str(o, "id", r->id, sizeof(r->id), true, err, err_size))
		goto cleanup;
	if (!valid_id(r->id)) {
		pw_set_err(err, err_size, "field 'id' must be lower-case letters, digits and '-'");
		goto cleanup;
	}
	if (get_str(o, "user", r->user, sizeof(r->user), true, err, err_size))
		goto cleanup;
	if (r->type == PW_REC_QUARANTINE_QUERY) {
		rc = 0;
		goto cleanup;
	}
	if (get_str(o, "service", r->service, sizeof(r->service), true, err, err_size) ||
	    get_str(o, "rhost", r->rhost, sizeof(r->rhost), false, err, err_size) ||
	    get_str(o, "ruser", r->ruser, sizeof(r->ruser), false, err, err_size) ||
	    get_str(o, "tty", r->tty, sizeof(r->tty), false, err, err_size) ||
	    get_str(o, "boot_id", r->boot_id, sizeof(r->boot_id), true, err, err_size))
		goto cleanup;
	if (get_num(o, "uid", -1, UINT32_MAX - 1, &n, err, err_size))
		goto cleanup;
	r->uid = n;
	if (get_u64(o, "pid", UINT32_MAX, &u, err, err_size))
		goto cleanup;
	r->pid = (uint32_t)u;
	if (get_u64(o, "loginuid", UINT32_MAX, &u, err, err_size))
		goto cleanup;
	r->loginuid = (uint32_t)u;
	if (get_u64(o, "sessionid", UINT32_MAX, &u, err, err_size))
		goto cleanup;
	r->sessionid = (uint32_t)u;
	if (get_u64(o, "altered", 0x1f, &u, err, err_size))
		goto cleanup;
	r->altered = (uint32_t)u;
	if (get_u64(o, "time_ns", UINT64_MAX, &r->time_ns, err, err_size) ||
	    get_u64(o, "mono_ns", UINT64_MAX, &r->mono_ns, err, err_size))
		goto cleanup;
	rc = 0;
cleanup:
	json_object_put(o);
	return rc;
}

char *pw_reply_to_json(bool ok, const char *error, int quarantined)
{
	json_object *o = json_object_new_object();
	char *out = NULL;
	int rc = 0;

	if (!o)
		return NULL;
	rc |= json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (error)
		rc |= add_str(o, "error", error);
	if (quarantined >= 0)
		rc |= json_object_object_add(o, "quarantined", json_object_new_boolean(quarantined));
	if (rc == 0) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		if (s)
			out = strdup(s);
	}
	json_object_put(o);
	return out;
}

int pw_reply_from_json(const char *buf, size_t len, bool *ok, int *quarantined)
{
	char err[128];
	json_object *o = parse_object(buf, len, err, sizeof(err));
	json_object *v;
	int rc = -1;

	if (!o)
		return -1;
	*quarantined = -1;
	if (!json_object_object_get_ex(o, "ok", &v) || !json_object_is_type(v, json_type_boolean))
		goto cleanup;
	*ok = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "quarantined", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto cleanup;
		*quarantined = json_object_get_boolean(v);
	}
	rc = 0;
cleanup:
	json_object_put(o);
	return rc;
}
