/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ancestors of a process, as access records and events carry them.
 *
 * One text per process, built once by the collector and copied whole into
 * each record, so that an access costs one copy however long the chain:
 * a line "PID EXE" per ancestor, the parent first, lines separated by
 * '\n' with none after the last.  PID is decimal, 1 or more; EXE is never
 * empty and holds no control character (the collector escapes what it
 * reads, the ECS parser refuses them), so the text splits one way only.
 * The store keeps the text as it is; docs/json-schema.md shows the JSON.
 */
#ifndef PW_ANCESTORS_H
#define PW_ANCESTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_ANCESTORS_MAX 5          /* ancestors kept, the parent first */
#define PW_ANCESTORS_TEXT_MAX 4096  /* bytes of the text, NUL excluded */

struct pw_ancestor {
	uint32_t pid;
	const char *exe;    /* into the text: exe_len bytes, not NUL-terminated */
	size_t exe_len;
};

/*
 * The ancestor at *cursor (start it at the text; NULL is no ancestor):
 * true, and *cursor moves past it; false at the end.  A line that is not
 * "PID EXE" ends the list, so that every reader of a damaged store stops
 * at the same place.
 */
bool pw_ancestors_next(const char **cursor, struct pw_ancestor *out);

/* Add an ancestor to the text of len bytes in buf (room for size,
 * NUL included, at most PW_ANCESTORS_TEXT_MAX + 1 used): false, with buf
 * unchanged, when it would not fit or exe is empty or holds a newline. */
bool pw_ancestors_append(char *buf, size_t *len, size_t size, uint32_t pid, const char *exe);

/* "sshd[812] > bash[901] > /usr/bin/tar[950]": the ancestors from the
 * oldest down by the last component of their program, then the process
 * itself as program[pid] (program: its executable, else its name). */
void pw_ancestors_format_chain(const char *ancestors, const char *program, uint32_t pid,
			       char *out, size_t out_size);

#endif
