// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the spool reader.  The input is written as up to four
 * spool files (split at each pair of NUL bytes) in a private directory,
 * and pw_spool_drain() hands them to a callback that parses them as
 * piiwatchd's does.  Afterwards no record may be left waiting: each was
 * either consumed or renamed bad-NAME.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session_record.h"
#include "spool.h"

#define MAX_RECORDS 4

static char dir[4096];

static void empty_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/pwfuzz-spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	atexit(remove_dir);
	return 0;
}

/* What piiwatchd's on_spooled() does, minus the store. */
static int parse_record(const char *name, const char *data, size_t len, void *arg)
{
	static struct pw_session_record r;
	char err[256];
	int *handed = arg;

	(*handed)++;
	if (data[len] != '\0')
		abort(); /* the reader promises a terminated buffer */
	if (pw_record_from_json(data, len, &r, err, sizeof(err)) ||
	    r.type == PW_REC_QUARANTINE_QUERY)
		return 1;
	return 0;
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0, i;
	int n = 0, handed = 0, drained;

	for (i = 0; i <= size && n < MAX_RECORDS; i++) {
		if (i == size || (i + 1 < size && data[i] == 0 && data[i + 1] == 0)) {
			char name[32];

			snprintf(name, sizeof(name), "%04d-fuzz%s", n++, PW_SPOOL_SUFFIX);
			write_file(name, data + start, i - start);
			start = i + 2;
			i++;
		}
	}
	/* Neither is a record: both must be left alone. */
	write_file("bad-0000-old.rec", data, size < 16 ? size : 16);
	write_file(".tmp-0000-partial", data, size < 16 ? size : 16);
	drained = pw_spool_drain(dir, parse_record, &handed);
	if (drained != handed || pw_spool_count(dir) != 0)
		abort();
	empty_dir();
	return 0;
}
