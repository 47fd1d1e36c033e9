/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON Lines output: one JSON object per line (see ecs.h), appended to
 * a file that is rotated by size, or written to standard output.
 *
 * A line is never split: it goes out in one write(2), and when a regular
 * file takes only part of it (disk full, file size limit) the file is cut
 * back to the end of the previous line.  Calls block only as long as the
 * write to a local file or to standard output blocks.
 *
 * A buffered output (pw_jsonl_set_buffered()) keeps whole lines in memory,
 * up to 64 KiB, and writes them together at pw_jsonl_flush(), when the
 * buffer is full, before a rotation, and at close: one write(2) for many
 * lines.  The daemon flushes before every commit of its store.
 */
#ifndef PW_OUTPUT_JSONL_H
#define PW_OUTPUT_JSONL_H

#include <json.h>
#include <stdbool.h>
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
	uint64_t lines;         /* lines written whole (not those still buffered) */
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

/* Keep lines in memory until pw_jsonl_flush() (on), or write each line at
 * once (off, the default; switching off flushes).  Returns 0, or -1 with
 * errno (ENOMEM; for off, the flush's error). */
int pw_jsonl_set_buffered(struct pw_jsonl *j, bool on);

/* Write the buffered lines.  Lines lost to a write error are counted in
 * the stats' errors.  Returns 0 (also when nothing waits; accepts NULL),
 * or -1 with errno. */
int pw_jsonl_flush(struct pw_jsonl *j);

/* pw_jsonl_write_line() of pw_ecs_to_line(o). */
int pw_jsonl_write_object(struct pw_jsonl *j, json_object *o);

/* Close and open the path again, for a rotation done by someone else
 * (logrotate, then SIGHUP).  Returns 0 or -1 with errno. */
int pw_jsonl_reopen(struct pw_jsonl *j);

/* Where the written lines end: the file and its size.  Buffered lines
 * are not in it until pw_jsonl_flush().  Returns -1 for standard output
 * or when no file is open. */
struct pw_jsonl_pos {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
};
int pw_jsonl_position(const struct pw_jsonl *j, struct pw_jsonl_pos *pos);

/*
 * Before anything is written: cut away what was written after pos, a
 * position a daemon recorded with a commit of its store before it died,
 * so that the lines it wrote after that commit, which the next daemon
 * writes again from the kernel's queue, are not there twice.  The file of
 * pos is the open one, or PATH.1 when the file was rotated after pos (the
 * open one then holds only later lines, and is emptied).  Returns the
 * bytes cut (0: none), or -1 with the reason in err: the file of pos is
 * neither (rotated by someone else, or with keep = 0), or shorter than pos.
 */
int64_t pw_jsonl_cut_back(struct pw_jsonl *j, const struct pw_jsonl_pos *pos, char *err,
			  size_t err_size);

void pw_jsonl_get_stats(const struct pw_jsonl *j, struct pw_jsonl_stats *st);

/* Accepts NULL. */
void pw_jsonl_close(struct pw_jsonl *j);

#endif
