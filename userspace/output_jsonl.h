/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON Lines output: one JSON object per line (see ecs.h), appended to
 * a file that is rotated by size, or written to standard output.
 *
 * A line is never split: it goes out in one write(2), and when a regular
 * file takes only part of it (disk full, file size limit) the file is cut
 * back to the end of the previous line.  Calls block only as long as the
 * write to a local file or to standard output blocks.
 */
#ifndef PW_OUTPUT_JSONL_H
#define PW_OUTPUT_JSONL_H

#include <json.h>
#include <stddef.h>
#include <stdint.h>

struct pw_jsonl;

struct pw_jsonl_config {
	const char *path;   /* a regular file, or "-" for standard output */
	uint64_t max_bytes; /* rotate before a line would take the file past this; 0: never */
	unsigned keep;      /* rotated files kept: PATH.1 (newest) ... PATH.keep */
};

#define PW_JSONL_KEEP_MAX 100

struct pw_jsonl_stats {
	uint64_t lines;         /* lines written whole */
	uint64_t bytes;         /* their bytes, newlines included */
	uint64_t errors;        /* lines lost to a write error */
	uint64_t rotations;
	uint64_t rotate_errors; /* failed rotations: writing went on in the old file */
	char last_error[256];   /* the latest error of either kind, "" if none */
};

/*
 * Open (creating it with mode 0640 whatever the umask; an existing file
 * keeps its mode) and append to it.  The path must not be a symbolic link.
 * Returns NULL with a reason in err.
 */
struct pw_jsonl *pw_jsonl_open(const struct pw_jsonl_config *cfg, char *err, size_t err_size);

/*
 * Append line (len bytes, no newline in it) and a newline.  A line longer
 * than max_bytes goes alone into a fresh file.  Returns 0, or -1 with errno
 * set (EINVAL: the line holds a newline); the error is also counted and
 * kept in the stats.  A later call retries a file that could not be opened.
 */
int pw_jsonl_write_line(struct pw_jsonl *j, const char *line, size_t len);

/* pw_jsonl_write_line() of pw_ecs_to_line(o). */
int pw_jsonl_write_object(struct pw_jsonl *j, json_object *o);

/* Close and open the path again, for a rotation done by someone else
 * (logrotate, then SIGHUP).  Returns 0 or -1 with errno. */
int pw_jsonl_reopen(struct pw_jsonl *j);

void pw_jsonl_get_stats(const struct pw_jsonl *j, struct pw_jsonl_stats *st);

/* Accepts NULL. */
void pw_jsonl_close(struct pw_jsonl *j);

#endif
