/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages between pam_piiwatch and piiwatchd: one JSON object per
 * SOCK_SEQPACKET message (the same text is a spool file's content).
 * docs/pam-protocol.md describes the fields.
 */
#ifndef PW_SESSION_RECORD_H
#define PW_SESSION_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PW_RECORD_VERSION 1
#define PW_ITEM_MAX 1024         /* bytes of one escaped PAM item, NUL included */
#define PW_RECORD_ID_MAX 80
#define PW_RECORD_MAX_WIRE 65536 /* largest message accepted on the socket */
#define PW_NO_ID 4294967295u     /* loginuid / sessionid when unset */

enum pw_record_type {
	PW_REC_SESSION_OPEN = 1,
	PW_REC_SESSION_CLOSE = 2,
	PW_REC_QUARANTINE_QUERY = 3,
};

/* Bits of pw_session_record.altered: which items were escaped or cut. */
#define PW_ALT_USER 0x01u
#define PW_ALT_SERVICE 0x02u
#define PW_ALT_RHOST 0x04u
#define PW_ALT_RUSER 0x08u
#define PW_ALT_TTY 0x10u

struct pw_session_record {
	enum pw_record_type type;
	char id[PW_RECORD_ID_MAX];   /* unique per record: spool file name too */
	char user[PW_ITEM_MAX];
	char service[PW_ITEM_MAX];
	char rhost[PW_ITEM_MAX];
	char ruser[PW_ITEM_MAX];
	char tty[PW_ITEM_MAX];
	int64_t uid;                 /* -1: user unknown to the system */
	uint32_t pid;
	uint32_t loginuid;           /* PW_NO_ID: none */
	uint32_t sessionid;          /* PW_NO_ID: none */
	uint32_t altered;            /* PW_ALT_* */
	char boot_id[PW_BOOT_ID_LEN];
	uint64_t time_ns;            /* CLOCK_REALTIME */
	uint64_t mono_ns;            /* CLOCK_MONOTONIC */
};

const char *pw_record_type_name(enum pw_record_type t);

/* Serialise to a NUL-terminated JSON text the caller frees; NULL on
 * allocation failure. */
char *pw_record_to_json(const struct pw_session_record *r);

/* Parse and validate untrusted bytes.  On error returns -1 and writes a
 * one-line reason naming the offending field into err. */
int pw_record_from_json(const char *buf, size_t len, struct pw_session_record *r,
			char *err, size_t err_size);

/* A reply from the daemon: {"ok":true} or {"ok":false,"error":"..."}, and
 * for quarantine queries "quarantined". */
char *pw_reply_to_json(bool ok, const char *error, int quarantined);
int pw_reply_from_json(const char *buf, size_t len, bool *ok, int *quarantined);

#endif
