// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "output_jsonl.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pw-jsonl.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/events.jsonl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* The whole file, NUL-terminated; NULL when it does not exist. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void assert_file(const char *path, const char *want)
{
	char *got = slurp(path);

	if (!want) {
		if (got)
			fail_msg("%s exists with '%s'", path, got);
		return;
	}
	if (!got)
		fail_msg("%s is missing", path);
	assert_string_equal(got, want);
	free(got);
}

/* A line of exactly len bytes, numbered. */
static void make_line(char *buf, size_t len, int n)
{
	int k = snprintf(buf, len + 1, "{\"n\":%d,\"pad\":\"", n);

	memset(buf + k, 'x', len - (size_t)k - 2);
	memcpy(buf + len - 2, "\"}", 3);
}

static struct pw_jsonl *open_or_fail(const char *path, uint64_t max_bytes, unsigned keep)
{
	struct pw_jsonl_config cfg = { .path = path, .max_bytes = max_bytes, .keep = keep };
	char err[256] = "";
	struct pw_jsonl *j = pw_jsonl_open(&cfg, err, sizeof(err));

	if (!j)
		fail_msg("open %s: %s", path, err);
	return j;
}

static void test_append_and_mode(void **state)
{
	struct fixture *f = *state;
	struct pw_jsonl_stats st;
	struct pw_jsonl *j;
	struct stat sb;
	mode_t old = umask(077);
	json_object *o;

	j = open_or_fail(f->path, 0, 0);
	umask(old);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(pw_jsonl_write_line(j, "{\"a\":1}", 7), 0);
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string("/srv/dms/a b.csv"));
	assert_int_equal(pw_jsonl_write_object(j, o), 0);
	json_object_put(o);
	pw_jsonl_close(j);

	/* Reopening appends; an existing file keeps its mode. */
	chmod(f->path, 0600);
	j = open_or_fail(f->path, 0, 0);
	assert_int_equal(pw_jsonl_write_line(j, "{\"a\":3}", 7), 0);
	pw_jsonl_get_stats(j, &st);
	assert_int_equal(st.lines, 1);
	assert_int_equal(st.bytes, 8);
	assert_int_equal(st.errors, 0);
	assert_string_equal(st.last_error, "");
	pw_jsonl_close(j);
	assert_file(f->path, "{\"a\":1}\n{\"path\":\"/srv/dms/a b.csv\"}\n{\"a\":3}\n");
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct pw_jsonl_config cfg = { .path = f->path };
	struct pw_jsonl_stats st;
	struct pw_jsonl *j;
	char err[256] = "", link[160];

	j = open_or_fail(f->path, 0, 0);
	errno = 0;
	assert_int_equal(pw_jsonl_write_line(j, "{}\n{}", 5), -1);
	assert_int_equal(errno, EINVAL);
	pw_jsonl_get_stats(j, &st);
	assert_int_equal(st.errors, 1);
	assert_non_null(strstr(st.last_error, "newline"));
	pw_jsonl_close(j);
	assert_file(f->path, "");

	/* Not through a symbolic link, not into a directory. */
	snprintf(link, sizeof(link), "%s/link.jsonl", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	cfg.path = link;
	assert_null(pw_jsonl_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "link.jsonl"));
	cfg.path = f->dir;
	assert_null(pw_jsonl_open(&cfg, err, sizeof(err)));
	cfg.path = f->path;
	cfg.keep = PW_JSONL_KEEP_MAX + 1;
	assert_null(pw_jsonl_open(&cfg, err, sizeof(err)));
}

/* The 40-byte lines first and first + 1, each with its newline. */
static void two_lines(char *out, size_t out_size, int first)
{
	char a[64], b[64];

	make_line(a, 40, first);
	make_line(b, 40, first + 1);
	snprintf(out, out_size, "%s\n%s\n", a, b);
}

/* Lines 1..10 of 40 bytes written with max_bytes 100 and keep 2: the
 * last two in path, 7-8 in path.1, 5-6 in path.2, nothing older. */
static void assert_ten_lines_rotated(const char *path)
{
	char name[160], want[256];
	int i;

	for (i = 0; i < 3; i++) {
		two_lines(want, sizeof(want), 9 - 2 * i);
		if (i == 0)
			snprintf(name, sizeof(name), "%s", path);
		else
			snprintf(name, sizeof(name), "%s.%d", path, i);
		assert_file(name, want);
	}
	snprintf(name, sizeof(name), "%s.3", path);
	assert_file(name, NULL);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	char line[64], name[160], want[256];
	struct pw_jsonl_stats st;
	struct pw_jsonl *j;
	int i;

	/* 40-byte lines (41 with the newline): two fit in 100 bytes. */
	j = open_or_fail(f->path, 100, 2);
	for (i = 1; i <= 10; i++) {
		make_line(line, 40, i);
		assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	}
	pw_jsonl_get_stats(j, &st);
	assert_int_equal(st.lines, 10);
	assert_int_equal(st.rotations, 4);
	assert_int_equal(st.rotate_errors, 0);
	pw_jsonl_close(j);
	assert_ten_lines_rotated(f->path);

	/* A line that alone is over the limit gets a fresh file, whole. */
	j = open_or_fail(f->path, 100, 2);
	{
		char big[302];

		make_line(big, 300, 11);
		assert_int_equal(pw_jsonl_write_line(j, big, 300), 0);
		make_line(line, 40, 12);
		assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
		pw_jsonl_close(j);
		snprintf(name, sizeof(name), "%s.1", f->path);
		strcat(big, "\n");
		assert_file(name, big);
		strcat(line, "\n");
		assert_file(f->path, line);
		snprintf(name, sizeof(name), "%s.2", f->path);
		two_lines(want, sizeof(want), 9);
		assert_file(name, want);
	}
}

static void test_rotation_keep_zero_and_existing_size(void **state)
{
	struct fixture *f = *state;
	char line[64], name[160];
	struct pw_jsonl *j;
	FILE *fp;

	/* Existing content counts towards the limit. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fprintf(fp, "%s\n", "{\"old\":\"0123456789012345678901234567890123456789012345678\"}");
	fclose(fp);
	j = open_or_fail(f->path, 100, 0);
	make_line(line, 40, 1);
	assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	pw_jsonl_close(j);
	strcat(line, "\n");
	assert_file(f->path, line);
	snprintf(name, sizeof(name), "%s.1", f->path);
	assert_file(name, NULL);
}

static void test_rotation_failure_keeps_writing(void **state)
{
	struct fixture *f = *state;
	char line[64], name[160], sub[200];
	struct pw_jsonl_stats st;
	struct pw_jsonl *j;
	FILE *fp;

	/* PATH.1 is a non-empty directory: the rename cannot replace it. */
	snprintf(name, sizeof(name), "%s.1", f->path);
	assert_int_equal(mkdir(name, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/x", name);
	fp = fopen(sub, "w");
	assert_non_null(fp);
	fclose(fp);
	j = open_or_fail(f->path, 50, 1);
	make_line(line, 40, 1);
	assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	make_line(line, 40, 2);
	assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	pw_jsonl_get_stats(j, &st);
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.rotations, 0);
	assert_int_equal(st.rotate_errors, 1);
	assert_non_null(strstr(st.last_error, "cannot rotate"));
	pw_jsonl_close(j);
}

/* RLIMIT_FSIZE makes the kernel take part of a line and then refuse the
 * rest: the file must be cut back to whole lines.  In a child, so that
 * the limit and SIGXFSZ do not touch the test's own output. */
static void test_write_error_never_splits(void **state)
{
	struct fixture *f = *state;
	char line[64], want[160];
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = 100, .rlim_max = RLIM_INFINITY };
		struct pw_jsonl_stats st;
		struct pw_jsonl *j;
		int rc = 0;

		signal(SIGXFSZ, SIG_IGN);
		j = open_or_fail(f->path, 0, 0);
		setrlimit(RLIMIT_FSIZE, &rl);
		make_line(line, 60, 1);
		rc |= pw_jsonl_write_line(j, line, 60) != 0;
		make_line(line, 60, 2);
		errno = 0;
		rc |= (pw_jsonl_write_line(j, line, 60) != -1 || errno != EFBIG) << 1;
		pw_jsonl_get_stats(j, &st);
		rc |= (st.lines != 1 || st.errors != 1) << 2;
		rc |= (strstr(st.last_error, "File too large") == NULL) << 3;
		pw_jsonl_close(j);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	make_line(line, 60, 1);
	snprintf(want, sizeof(want), "%s\n", line);
	assert_file(f->path, want);
}

/* Buffered: nothing reaches the file before a flush, rotation happens at
 * the same lines as unbuffered, close writes what waits. */
static void test_buffered(void **state)
{
	struct fixture *f = *state;
	char line[64];
	struct pw_jsonl_stats st;
	struct pw_jsonl *j;
	struct stat sb;
	int i;

	j = open_or_fail(f->path, 100, 2);
	assert_int_equal(pw_jsonl_set_buffered(j, true), 0);
	make_line(line, 40, 1);
	assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	pw_jsonl_get_stats(j, &st);
	assert_int_equal(st.lines, 0);
	assert_int_equal(pw_jsonl_flush(j), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_size, 41);
	for (i = 2; i <= 10; i++) {
		make_line(line, 40, i);
		assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	}
	/* A newline inside is refused as unbuffered. */
	assert_int_equal(pw_jsonl_write_line(j, "{}\n{}", 5), -1);
	pw_jsonl_close(j);
	assert_ten_lines_rotated(f->path);
}

/* A flush the file takes only part of: the file is cut back to its last
 * whole line and every line of the flush is counted lost. */
static void test_buffered_write_error(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = 100, .rlim_max = RLIM_INFINITY };
		struct pw_jsonl_stats st;
		struct pw_jsonl *j;
		char line[64];
		int rc = 0;

		signal(SIGXFSZ, SIG_IGN);
		j = open_or_fail(f->path, 0, 0);
		rc |= pw_jsonl_set_buffered(j, true) != 0;
		setrlimit(RLIMIT_FSIZE, &rl);
		make_line(line, 60, 1);
		rc |= pw_jsonl_write_line(j, line, 60) != 0;
		make_line(line, 60, 2);
		rc |= pw_jsonl_write_line(j, line, 60) != 0;
		errno = 0;
		rc |= (pw_jsonl_flush(j) != -1 || errno != EFBIG) << 1;
		pw_jsonl_get_stats(j, &st);
		rc |= (st.lines != 0 || st.errors != 2) << 2;
		/* The next flush has nothing left to write. */
		rc |= (pw_jsonl_flush(j) != 0) << 3;
		pw_jsonl_close(j);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_file(f->path, "");
}

static void test_stdout(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pw_jsonl_config cfg = { .path = "-", .max_bytes = 10, .keep = 1 };
		char err[256];
		struct pw_jsonl *j;
		int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int rc = 0;

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(10);
		j = pw_jsonl_open(&cfg, err, sizeof(err));
		if (!j)
			_exit(11);
		rc |= pw_jsonl_write_line(j, "{\"a\":1}", 7);
		rc |= pw_jsonl_write_line(j, "{\"b\":2}", 7);
		pw_jsonl_close(j);
		_exit(rc ? 12 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Standard output is never rotated. */
	assert_file(f->path, "{\"a\":1}\n{\"b\":2}\n");
}

static void test_reopen_after_outside_rotation(void **state)
{
	struct fixture *f = *state;
	char moved[160];
	struct pw_jsonl *j;

	j = open_or_fail(f->path, 0, 0);
	assert_int_equal(pw_jsonl_write_line(j, "{\"a\":1}", 7), 0);
	snprintf(moved, sizeof(moved), "%s.old", f->path);
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(pw_jsonl_reopen(j), 0);
	assert_int_equal(pw_jsonl_write_line(j, "{\"a\":2}", 7), 0);
	pw_jsonl_close(j);
	assert_file(moved, "{\"a\":1}\n");
	assert_file(f->path, "{\"a\":2}\n");
}

/* Lines 1..n of 40 bytes, one write each. */
static void write_lines(struct pw_jsonl *j, int first, int last)
{
	char line[64];
	int i;

	for (i = first; i <= last; i++) {
		make_line(line, 40, i);
		assert_int_equal(pw_jsonl_write_line(j, line, 40), 0);
	}
}

/* What a daemon wrote after the position its store committed is cut away
 * by the next one, in the same file or across its rotation. */
static void test_cut_back(void **state)
{
	struct fixture *f = *state;
	struct pw_jsonl_pos pos;
	char want[256], name[160], err[256];
	struct pw_jsonl *j;

	/* The same file: lines 3 and 4 came after the commit. */
	j = open_or_fail(f->path, 0, 2);
	write_lines(j, 1, 2);
	assert_int_equal(pw_jsonl_position(j, &pos), 0);
	assert_true(pos.size == 82);
	write_lines(j, 3, 4);
	pw_jsonl_close(j);
	j = open_or_fail(f->path, 0, 2);
	assert_int_equal(pw_jsonl_cut_back(j, &pos, err, sizeof(err)), 82);
	write_lines(j, 3, 3);
	pw_jsonl_close(j);
	two_lines(want, sizeof(want), 1);
	{
		char three[64];

		make_line(three, 40, 3);
		strcat(want, three);
		strcat(want, "\n");
	}
	assert_file(f->path, want);

	/* Nothing after it: nothing cut. */
	j = open_or_fail(f->path, 0, 2);
	assert_int_equal(pw_jsonl_position(j, &pos), 0);
	assert_int_equal(pw_jsonl_cut_back(j, &pos, err, sizeof(err)), 0);
	pw_jsonl_close(j);
	unlink(f->path);

	/* Rotated after the commit: PATH.1 is cut back, PATH emptied. */
	j = open_or_fail(f->path, 100, 2);
	write_lines(j, 1, 1);
	assert_int_equal(pw_jsonl_position(j, &pos), 0);
	write_lines(j, 2, 3);
	pw_jsonl_close(j);
	j = open_or_fail(f->path, 100, 2);
	assert_int_equal(pw_jsonl_cut_back(j, &pos, err, sizeof(err)), 41 + 41);
	write_lines(j, 2, 2);
	pw_jsonl_close(j);
	snprintf(name, sizeof(name), "%s.1", f->path);
	make_line(want, 40, 1);
	strcat(want, "\n");
	assert_file(name, want);
	make_line(want, 40, 2);
	strcat(want, "\n");
	assert_file(f->path, want);

	/* Shorter than the position (cut by someone else), or a file that is
	 * neither PATH nor PATH.1: refused, nothing cut. */
	j = open_or_fail(f->path, 0, 2);
	assert_int_equal(pw_jsonl_position(j, &pos), 0);
	pos.size += 1000;
	assert_int_equal(pw_jsonl_cut_back(j, &pos, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "shorter"));
	pos.ino ^= 0x5a5a;
	assert_int_equal(pw_jsonl_cut_back(j, &pos, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "may be repeated"));
	pw_jsonl_close(j);
	assert_file(f->path, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffered_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_keep_zero_and_existing_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotation_failure_keeps_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error_never_splits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_outside_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
