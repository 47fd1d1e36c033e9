/* SPDX-License-Identifier: GPL-2.0 */
/*
 * piiwatch records as Elastic Common Schema (ECS) JSON objects: what the
 * JSON Lines and syslog outputs carry and what `piiwatch replay` reads back.
 * Field names are ECS's where ECS has the concept, `piiwatch.*` otherwise.
 * docs/json-schema.md lists every field, its source and whether the parser
 * needs it.
 */
#ifndef PW_ECS_H
#define PW_ECS_H

#include <json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "session_record.h"
#include "store.h"

#define PW_ECS_VERSION "8.11.0" /* ecs.version: the ECS release the names follow */
#define PW_ECS_SCHEMA 1         /* piiwatch.schema: raised on an incompatible change */
#define PW_ECS_LINE_MAX 65536   /* longest line the parser accepts, in bytes */
#define PW_ECS_STRING_MAX 8192  /* longest string field of an access, in bytes */

/*
 * Builders.  Each returns a new object the caller releases with
 * json_object_put(), or NULL when out of memory (and, for a session record,
 * when its type is not session_open or session_close).  host_name becomes
 * host.name; NULL leaves it out.  A string that is not clean UTF-8 (see
 * pw_is_clean_utf8()) is written escaped as pw_escape_untrusted() does, so
 * the output is always valid UTF-8 without control characters.
 */
json_object *pw_ecs_from_access(const struct pw_access *a, const char *host_name);
json_object *pw_ecs_from_session(const struct pw_session_record *r, const char *host_name);
/* The same with piiwatch.session_id: the session's row in the store (0:
 * left out), which alerts about the session name too. */
json_object *pw_ecs_from_session_row(const struct pw_session_record *r, int64_t session_id,
				     const char *host_name);
json_object *pw_ecs_from_alert(const struct pw_alert *al, const char *host_name);

/* Changes, connections, mappings, io_uring use, programs run and blind
 * spots, as event.dataset "piiwatch.event". */
json_object *pw_ecs_from_event(const struct pw_event_rec *e, const char *host_name,
			       const char *boot_id);

/* One line of compact JSON, without a newline, that the caller frees; NULL
 * when out of memory. */
char *pw_ecs_to_line(json_object *o);

/* What the json-c builder of accesses and pw_ecs_access_line() share:
 * event.action of an access (file-open, file-read, file-write,
 * file-read-write), and piiwatch.io, the names of its PW_IO_* bits in the
 * order they are written. */
const char *pw_ecs_access_action(const struct pw_access *a);
struct pw_ecs_io_name {
	uint32_t bit;
	const char *name;
};
#define PW_ECS_N_IO_NAMES 11
extern const struct pw_ecs_io_name pw_ecs_io_names[PW_ECS_N_IO_NAMES];

/* A reusable buffer for pw_ecs_access_line(); zero it before first use. */
struct pw_ecs_buf {
	char *p;
	size_t len, cap;
	uint64_t day;       /* the day whose date is cached below */
	bool day_valid;
	char date[32];      /* "YYYY-MM-DD" of day */
};

/*
 * The line pw_ecs_to_line(pw_ecs_from_access(a, host_name)) would give,
 * byte for byte, written straight into b without building a json-c tree
 * (the daemon's hot path).  Returns b's text, NUL-terminated, with its
 * length in *len; NULL when out of memory.  Valid until b is used again.
 */
const char *pw_ecs_access_line(struct pw_ecs_buf *b, const struct pw_access *a,
			       const char *host_name, size_t *len);
void pw_ecs_buf_free(struct pw_ecs_buf *b);

enum pw_ecs_kind {
	PW_ECS_ACCESS = 1, /* event.dataset "piiwatch.access" */
	PW_ECS_SESSION,    /* "piiwatch.session" */
	PW_ECS_ALERT,      /* "piiwatch.alert" */
	PW_ECS_EVENT,      /* "piiwatch.event" */
};

/* One parsed line.  The strings of an access or an event are malloc'ed:
 * release them with pw_ecs_record_free(). */
struct pw_ecs_record {
	enum pw_ecs_kind kind;
	int64_t session_id;          /* session: piiwatch.session_id, 0 when absent */
	char boot_id[PW_BOOT_ID_LEN]; /* event: host.boot.id */
	union {
		struct pw_access access;
		struct pw_session_record session;
		struct pw_alert alert;
		struct pw_event_rec event;
	};
};

/*
 * Parse one line of untrusted input (without its newline) written by
 * pw_ecs_to_line().  Every field the record is rebuilt from is checked for
 * presence, type, range, length and clean UTF-8; fields the parser does not
 * use (derived ones such as event.duration, and anything a shipper added)
 * are ignored.  Returns 0, or -1 with a one-line reason in err that names
 * the field ("field 'file.inode' must be a string of decimal digits").
 */
int pw_ecs_parse_line(const char *buf, size_t len, struct pw_ecs_record *rec, char *err,
		      size_t err_size);
void pw_ecs_record_free(struct pw_ecs_record *rec);

/* Release the strings of an event the parser filled. */
void pw_event_rec_free_strings(struct pw_event_rec *e);

/* pw_ecs_parse_line() for a line that must hold an access.  On success the
 * caller releases a's strings with pw_access_free_strings(). */
int pw_ecs_to_access(const char *buf, size_t len, struct pw_access *a, char *err,
		     size_t err_size);

#endif
