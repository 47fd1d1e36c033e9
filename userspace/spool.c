// SPDX-License-Identifier: GPL-2.0
#include "spool.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pw_spool_prepare(const char *dir, char *err, size_t err_size)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		pw_set_err(err, err_size, "cannot create spool directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) != 0) {
		pw_set_err(err, err_size, "spool directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		pw_set_err(err, err_size, "spool %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		errno = EPERM;
		pw_set_err(err, err_size,
			"spool directory %s must be owned by root and not writable by group or others",
			dir);
		return -1;
	}
	return 0;
}

static int is_record_name(const char *n)
{
	size_t l = strlen(n), s = strlen(PW_SPOOL_SUFFIX);

	return n[0] != '.' && strncmp(n, "bad-", 4) != 0 && l > s &&
	       strcmp(n + l - s, PW_SPOOL_SUFFIX) == 0;
}

long pw_spool_count(const char *dir)
{
	struct dirent *de;
	long n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (is_record_name(de->d_name))
			n++;
	closedir(d);
	return n;
}

int pw_spool_write(const char *dir, const char *id, const char *data, size_t len,
		   uint64_t max_records, char *err, size_t err_size)
{
	char tmp[4096], final[4096];
	long count;
	ssize_t w;
	int fd = -1, dfd = -1, rc = -1;

	if (len > PW_SPOOL_MAX_RECORD) {
		errno = EMSGSIZE;
		pw_set_err(err, err_size, "record of %zu bytes is too large for the spool", len);
		return -1;
	}
	count = pw_spool_count(dir);
	if (count < 0) {
		pw_set_err(err, err_size, "cannot read spool directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((uint64_t)count >= max_records) {
		errno = ENOSPC;
		pw_set_err(err, err_size, "spool %s is full (%ld records)", dir, count);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, id) >= sizeof(tmp) ||
	    (size_t)snprintf(final, sizeof(final), "%s/%s%s", dir, id, PW_SPOOL_SUFFIX) >=
		    sizeof(final)) {
		errno = ENAMETOOLONG;
		pw_set_err(err, err_size, "spool path too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		pw_set_err(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	w = write(fd, data, len);
	if (w < 0 || (size_t)w != len) {
		if (w >= 0)
			errno = EIO;
		pw_set_err(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (fsync(fd) != 0) {
		pw_set_err(err, err_size, "cannot sync %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (rename(tmp, final) != 0) {
		pw_set_err(err, err_size, "cannot rename %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	/* The rename outlives a crash only once the directory is synced; a
	 * login must not go on believing in a record the next boot loses. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		pw_set_err(err, err_size, "cannot sync spool directory %s: %s", dir, strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_record(int dfd, const char *name, size_t *len)
{
	char *buf = NULL;
	struct stat st;
	ssize_t r;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PW_SPOOL_MAX_RECORD)
		goto cleanup;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto cleanup;
	r = read(fd, buf, (size_t)st.st_size);
	if (r != st.st_size) {
		free(buf);
		buf = NULL;
		goto cleanup;
	}
	buf[r] = '\0';
	*len = (size_t)r;
cleanup:
	close(fd);
	return buf;
}

int pw_spool_drain(const char *dir, pw_spool_cb cb, void *arg)
{
	char **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	int handed = 0, dfd;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		char **nn;

		if (!is_record_name(de->d_name))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		size_t len = 0;
		char *data = read_record(dfd, names[i], &len);
		int r;

		if (!data) {
			char bad[512];

			snprintf(bad, sizeof(bad), "bad-%s", names[i]);
			renameat(dfd, names[i], dfd, bad);
			continue;
		}
		r = cb(names[i], data, len, arg);
		free(data);
		if (r < 0)
			break;
		handed++;
		if (r == 0) {
			unlinkat(dfd, names[i], 0);
		} else {
			char bad[512];

			snprintf(bad, sizeof(bad), "bad-%s", names[i]);
			renameat(dfd, names[i], dfd, bad);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return handed;
}
