// SPDX-License-Identifier: GPL-2.0
#include "output_jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ecs.h"

#define FILE_MODE 0640
/* How long a write to a non-blocking standard output may wait. */
#define STDOUT_WAIT_MS 1000
/* Lines held by a buffered output before they are written anyway. */
#define BUFFER_SIZE (64 * 1024)

struct pw_jsonl {
	char *path;          /* NULL: standard output */
	uint64_t max_bytes;
	unsigned keep;
	int fd;              /* -1: to be (re)opened */
	uint64_t size;       /* of the open file */
	uint64_t dev, ino;   /* of the open file */
	bool broken_line;    /* standard output took part of a line */
	char *buf;           /* buffered: whole lines waiting, newlines included */
	size_t buf_len;
	uint64_t buf_lines;
	struct pw_jsonl_stats st;
};

static void set_error(struct pw_jsonl *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct pw_jsonl *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->st.last_error, sizeof(j->st.last_error), fmt, ap);
	va_end(ap);
}

/* Open the file for appending; create it with FILE_MODE when missing. */
static int open_file(struct pw_jsonl *j)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
	struct stat sb;
	int fd, saved;

	fd = open(j->path, flags);
	if (fd < 0 && errno == ENOENT) {
		fd = open(j->path, flags | O_CREAT | O_EXCL, FILE_MODE);
		/* The umask must not take the group's read bit away. */
		if (fd >= 0 && fchmod(fd, FILE_MODE) < 0)
			goto fail;
	}
	if (fd < 0) {
		set_error(j, "cannot open %s: %s", j->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		set_error(j, "%s is not a regular file", j->path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	j->fd = fd;
	j->size = (uint64_t)sb.st_size;
	j->dev = (uint64_t)sb.st_dev;
	j->ino = (uint64_t)sb.st_ino;
	return 0;
fail:
	saved = errno;
	set_error(j, "cannot open %s: %s", j->path, strerror(saved));
	close(fd);
	errno = saved;
	return -1;
}

struct pw_jsonl *pw_jsonl_open(const struct pw_jsonl_config *cfg, char *err, size_t err_size)
{
	struct pw_jsonl *j;

	if (!cfg->path || !*cfg->path || cfg->keep > PW_JSONL_KEEP_MAX ||
	    (strcmp(cfg->path, "-") != 0 && strlen(cfg->path) > PATH_MAX - 8)) {
		snprintf(err, err_size, "jsonl: bad configuration (path, or keep > %d)",
			 PW_JSONL_KEEP_MAX);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, err_size, "jsonl: out of memory");
		return NULL;
	}
	j->max_bytes = cfg->max_bytes;
	j->keep = cfg->keep;
	j->fd = -1;
	if (strcmp(cfg->path, "-") == 0) {
		j->fd = STDOUT_FILENO;
		return j;
	}
	j->path = strdup(cfg->path);
	if (!j->path || open_file(j)) {
		snprintf(err, err_size, "jsonl: %s", j->path ? j->st.last_error : "out of memory");
		pw_jsonl_close(j);
		return NULL;
	}
	return j;
}

static void rotated_name(const struct pw_jsonl *j, unsigned n, char *out, size_t out_size)
{
	snprintf(out, out_size, "%s.%u", j->path, n);
}

/*
 * PATH.keep-1 -> PATH.keep, ..., PATH -> PATH.1, then a fresh PATH.  A
 * failed rename leaves the current file in use: losing events to keep a
 * size limit would be the wrong trade.
 */
static void rotate(struct pw_jsonl *j)
{
	char from[PATH_MAX], to[PATH_MAX];
	unsigned n;
	int fd = j->fd;

	if (j->keep == 0) {
		if (unlink(j->path) < 0 && errno != ENOENT)
			goto fail;
	} else {
		for (n = j->keep - 1; n >= 1; n--) {
			rotated_name(j, n, from, sizeof(from));
			rotated_name(j, n + 1, to, sizeof(to));
			if (rename(from, to) < 0 && errno != ENOENT)
				goto fail;
		}
		rotated_name(j, 1, to, sizeof(to));
		if (rename(j->path, to) < 0)
			goto fail;
	}
	j->fd = -1;
	if (open_file(j) < 0) {
		/* The old file is already renamed away: carry on in it, the
		 * next write tries again. */
		j->fd = fd;
		j->st.rotate_errors++;
		return;
	}
	close(fd);
	j->st.rotations++;
	return;
fail:
	set_error(j, "cannot rotate %s: %s", j->path, strerror(errno));
	j->st.rotate_errors++;
}

/* Wait for a non-blocking standard output to take more. */
static int wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int rc;

	do
		rc = poll(&p, 1, STDOUT_WAIT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		errno = EAGAIN;
	return rc > 0 ? 0 : -1;
}

/* Write all of iov, retrying short writes; returns the bytes written
 * (all of them, or fewer with errno set). */
static size_t write_all(int fd, struct iovec *iov, int iovcnt)
{
	size_t done = 0;

	while (iovcnt > 0) {
		ssize_t n = writev(fd, iov, iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_writable(fd) == 0)
				continue;
			return done;
		}
		done += (size_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return done;
}

/* Write data (len bytes: lines lines, and a newline after them when
 * newline is set) in one go, rotating first when it would take the file
 * past max_bytes. */
static int write_out(struct pw_jsonl *j, const char *data, size_t len, bool newline,
		     uint64_t lines)
{
	struct iovec iov[3];
	size_t total, done;
	int n = 0, saved;

	if (j->path && j->fd < 0 && open_file(j) < 0)
		goto fail;
	total = len + (newline ? 1 : 0);
	if (j->path && j->max_bytes && j->size > 0 && j->size + total > j->max_bytes)
		rotate(j);
	/* A fragment left on standard output gets its own line. */
	if (j->broken_line)
		iov[n++] = (struct iovec){ .iov_base = "\n", .iov_len = 1 };
	iov[n++] = (struct iovec){ .iov_base = (void *)data, .iov_len = len };
	if (newline)
		iov[n++] = (struct iovec){ .iov_base = "\n", .iov_len = 1 };
	done = write_all(j->fd, iov, n);
	if (done == total + (j->broken_line ? 1 : 0)) {
		j->broken_line = false;
		j->size += done;
		j->st.lines += lines;
		j->st.bytes += total;
		return 0;
	}
	saved = errno;
	set_error(j, "cannot write to %s: %s", j->path ? j->path : "standard output",
		  strerror(saved));
	if (done > 0) {
		if (!j->path || ftruncate(j->fd, (off_t)j->size) < 0)
			j->broken_line = true;
	}
	errno = saved;
fail:
	saved = errno;
	j->st.errors += lines;
	errno = saved;
	return -1;
}

int pw_jsonl_flush(struct pw_jsonl *j)
{
	int rc;

	if (!j || j->buf_len == 0)
		return 0;
	rc = write_out(j, j->buf, j->buf_len, false, j->buf_lines);
	j->buf_len = 0;
	j->buf_lines = 0;
	return rc;
}

int pw_jsonl_set_buffered(struct pw_jsonl *j, bool on)
{
	if (!on) {
		int rc = pw_jsonl_flush(j);

		free(j->buf);
		j->buf = NULL;
		return rc;
	}
	if (!j->buf) {
		j->buf = malloc(BUFFER_SIZE);
		if (!j->buf) {
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

int pw_jsonl_write_line(struct pw_jsonl *j, const char *line, size_t len)
{
	if (memchr(line, '\n', len)) {
		set_error(j, "refused a line with a newline in it");
		j->st.errors++;
		errno = EINVAL;
		return -1;
	}
	if (!j->buf)
		return write_out(j, line, len, true, 1);
	/* A line that would rotate the file or does not fit waits for none
	 * before it: rotation stays at line boundaries, as unbuffered. */
	if (j->buf_len + len + 1 > BUFFER_SIZE ||
	    (j->path && j->max_bytes && j->size + j->buf_len > 0 &&
	     j->size + j->buf_len + len + 1 > j->max_bytes)) {
		if (pw_jsonl_flush(j) < 0)
			return -1;
		if (len + 1 > BUFFER_SIZE)
			return write_out(j, line, len, true, 1);
	}
	memcpy(j->buf + j->buf_len, line, len);
	j->buf[j->buf_len + len] = '\n';
	j->buf_len += len + 1;
	j->buf_lines++;
	return 0;
}

int pw_jsonl_write_object(struct pw_jsonl *j, json_object *o)
{
	char *line = pw_ecs_to_line(o);
	int rc;

	if (!line) {
		set_error(j, "out of memory");
		j->st.errors++;
		errno = ENOMEM;
		return -1;
	}
	rc = pw_jsonl_write_line(j, line, strlen(line));
	free(line);
	return rc;
}

int pw_jsonl_reopen(struct pw_jsonl *j)
{
	pw_jsonl_flush(j);
	if (!j->path)
		return 0;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	return open_file(j);
}

int pw_jsonl_position(const struct pw_jsonl *j, struct pw_jsonl_pos *pos)
{
	if (!j->path || j->fd < 0)
		return -1;
	pos->dev = j->dev;
	pos->ino = j->ino;
	pos->size = j->size;
	return 0;
}

/* Cut the regular file at path, if it is the file at pos, back to pos:
 * the bytes cut, 0 when there was nothing past it, -1 when path is
 * another file. */
static int64_t cut_file(const char *path, const struct pw_jsonl_pos *pos)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat sb;
	int64_t cut = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_dev == pos->dev &&
	    (uint64_t)sb.st_ino == pos->ino) {
		cut = (uint64_t)sb.st_size > pos->size ? (int64_t)((uint64_t)sb.st_size - pos->size)
						       : 0;
		if (cut > 0 && ftruncate(fd, (off_t)pos->size) != 0)
			cut = -1;
	}
	close(fd);
	return cut;
}

int64_t pw_jsonl_cut_back(struct pw_jsonl *j, const struct pw_jsonl_pos *pos, char *err,
			  size_t err_size)
{
	char rotated[PATH_MAX];
	int64_t cut, fresh;

	if (!j->path || j->fd < 0 || j->buf_len) {
		snprintf(err, err_size, "jsonl: nothing to cut back");
		return -1;
	}
	if (j->dev == pos->dev && j->ino == pos->ino) {
		if (j->size < pos->size) {
			snprintf(err, err_size, "%s is shorter than when the store last committed "
				 "(%llu bytes, then %llu): cut by someone else", j->path,
				 (unsigned long long)j->size, (unsigned long long)pos->size);
			return -1;
		}
		if (j->size > pos->size && ftruncate(j->fd, (off_t)pos->size) != 0) {
			snprintf(err, err_size, "cannot cut %s back: %s", j->path, strerror(errno));
			return -1;
		}
		cut = (int64_t)(j->size - pos->size);
		j->size = pos->size;
		return cut;
	}
	/* Rotated since: the file of the commit is PATH.1, and the fresh
	 * PATH holds only lines written after it. */
	rotated_name(j, 1, rotated, sizeof(rotated));
	cut = j->keep ? cut_file(rotated, pos) : -1;
	if (cut < 0) {
		snprintf(err, err_size, "the file %s was when the store last committed is neither "
			 "it nor %s now: lines written after that commit may be repeated", j->path,
			 rotated);
		return -1;
	}
	fresh = (int64_t)j->size;
	if (fresh > 0 && ftruncate(j->fd, 0) != 0) {
		snprintf(err, err_size, "cannot cut %s back: %s", j->path, strerror(errno));
		return -1;
	}
	j->size = 0;
	return cut + fresh;
}

void pw_jsonl_get_stats(const struct pw_jsonl *j, struct pw_jsonl_stats *st)
{
	*st = j->st;
}

void pw_jsonl_close(struct pw_jsonl *j)
{
	if (!j)
		return;
	pw_jsonl_flush(j);
	if (j->path && j->fd >= 0)
		close(j->fd);
	free(j->buf);
	free(j->path);
	free(j);
}
