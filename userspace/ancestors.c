// SPDX-License-Identifier: GPL-2.0
#include "ancestors.h"

#include <stdio.h>
#include <string.h>

bool pw_ancestors_next(const char **cursor, struct pw_ancestor *out)
{
	const char *s = *cursor, *end;
	uint64_t pid = 0;
	size_t digits = 0;

	if (!s || !*s)
		return false;
	for (; *s >= '0' && *s <= '9' && digits < 11; s++, digits++)
		pid = pid * 10 + (uint64_t)(*s - '0');
	if (digits == 0 || pid == 0 || pid > UINT32_MAX || *s != ' ' || s[1] == '\0' ||
	    s[1] == '\n')
		return false;
	s++;
	end = strchr(s, '\n');
	if (!end)
		end = s + strlen(s);
	out->pid = (uint32_t)pid;
	out->exe = s;
	out->exe_len = (size_t)(end - s);
	*cursor = *end ? end + 1 : end;
	return true;
}

bool pw_ancestors_append(char *buf, size_t *len, size_t size, uint32_t pid, const char *exe)
{
	size_t room = size < PW_ANCESTORS_TEXT_MAX + 1 ? size : PW_ANCESTORS_TEXT_MAX + 1;
	int n;

	if (pid == 0 || !exe || !*exe || strchr(exe, '\n') || *len >= room)
		return false;
	n = snprintf(buf + *len, room - *len, "%s%u %s", *len ? "\n" : "", pid, exe);
	if (n < 0 || (size_t)n >= room - *len) {
		buf[*len] = '\0';
		return false;
	}
	*len += (size_t)n;
	return true;
}

void pw_ancestors_format_chain(const char *ancestors, const char *program, uint32_t pid,
			       char *out, size_t out_size)
{
	struct pw_ancestor chain[PW_ANCESTORS_MAX];
	const char *cursor = ancestors;
	size_t n = 0, o = 0;

	if (out_size == 0)
		return;
	out[0] = '\0';
	while (n < PW_ANCESTORS_MAX && pw_ancestors_next(&cursor, &chain[n]))
		n++;
	while (n-- > 0 && o < out_size) {
		const char *name = chain[n].exe, *slash;
		size_t len = chain[n].exe_len;

		slash = memrchr(name, '/', len);
		if (slash && slash + 1 < name + len) {
			len -= (size_t)(slash + 1 - name);
			name = slash + 1;
		}
		o += (size_t)snprintf(out + o, out_size - o, "%.*s[%u] > ", (int)len, name,
				      chain[n].pid);
	}
	if (o < out_size)
		snprintf(out + o, out_size - o, "%s[%u]", program, pid);
}
