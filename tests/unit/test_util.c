// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_int_equal(pw_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pw_parse_u64("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(pw_parse_u64("11", 10, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(pw_parse_u64("12abc", 100, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pw_parse_u64("", 100, &v), -1);
	assert_int_equal(pw_parse_u64("-1", UINT64_MAX, &v), -1);
	assert_int_equal(pw_parse_u64(" 1", UINT64_MAX, &v), -1);
	assert_int_equal(pw_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(pw_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_durations_and_sizes(void **state)
{
	uint64_t v;

	assert_int_equal(pw_parse_duration_ns("250ms", &v), 0);
	assert_true(v == 250000000ULL);
	assert_int_equal(pw_parse_duration_ns("5", &v), 0);
	assert_true(v == 5000000000ULL);
	assert_int_equal(pw_parse_duration_ns("2h", &v), 0);
	assert_true(v == 7200000000000ULL);
	assert_int_equal(pw_parse_duration_ns("90d", &v), 0);
	assert_true(v == 90ULL * 86400 * 1000000000ULL);
	assert_int_equal(pw_parse_duration_ns("5x", &v), -1);
	assert_int_equal(pw_parse_duration_ns("s", &v), -1);
	assert_int_equal(pw_parse_duration_ns("99999999999999d", &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(pw_parse_size("64K", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(pw_parse_size("2GiB", &v), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(pw_parse_size("2 G", &v), -1);
}

static void test_escape_untrusted(void **state)
{
	char out[64];

	assert_true(pw_escape_untrusted("tanaka", 6, out, sizeof(out)));
	assert_string_equal(out, "tanaka");
	assert_false(pw_escape_untrusted("a\nb", 3, out, sizeof(out)));
	assert_string_equal(out, "a\\x0ab");
	assert_false(pw_escape_untrusted("x\\y", 3, out, sizeof(out)));
	assert_string_equal(out, "x\\x5cy");
	/* invalid UTF-8: lone continuation byte, overlong, surrogate */
	assert_false(pw_escape_untrusted("\x80", 1, out, sizeof(out)));
	assert_string_equal(out, "\\x80");
	assert_false(pw_escape_untrusted("\xc0\xaf", 2, out, sizeof(out)));
	assert_string_equal(out, "\\xc0\\xaf");
	assert_false(pw_escape_untrusted("\xed\xa0\x80", 3, out, sizeof(out)));
	assert_string_equal(out, "\\xed\\xa0\\x80");
	/* C1 controls are valid UTF-8 that terminals obey: CSI, NEL */
	assert_false(pw_escape_untrusted("a\xc2\x9b" "2J\xc2\x85", 7, out, sizeof(out)));
	assert_string_equal(out, "a\\xc2\\x9b2J\\xc2\\x85");
	/* U+00A0 is the first character after them */
	assert_true(pw_escape_untrusted("\xc2\xa0", 2, out, sizeof(out)));
	assert_string_equal(out, "\xc2\xa0");
	/* valid multi-byte text is kept */
	assert_true(pw_escape_untrusted("田中", strlen("田中"), out, sizeof(out)));
	assert_string_equal(out, "田中");
	/* cut at a character boundary, never inside a sequence or escape */
	assert_false(pw_escape_untrusted("田中田中", strlen("田中田中"), out, 8));
	assert_string_equal(out, "田中");
	assert_false(pw_escape_untrusted("ab\n", 3, out, 5));
	assert_string_equal(out, "ab");
	/* stops at NUL */
	assert_true(pw_escape_untrusted("ab\0cd", 5, out, sizeof(out)));
	assert_string_equal(out, "ab");
}

/* pw_str_append() cuts as snprintf() does, and always terminates. */
static void test_str_append(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	n = pw_str_append(out, sizeof(out), 0, "user:");
	assert_int_equal(n, 5);
	assert_string_equal(out, "user:");
	n = pw_str_append(out, sizeof(out), n, "tanaka");
	assert_string_equal(out, "user:ta");
	assert_int_equal(n, 7);
	/* Full: nothing more fits, the string stays terminated. */
	assert_int_equal(pw_str_append(out, sizeof(out), n, "x"), 7);
	assert_string_equal(out, "user:ta");
	/* A length past the end is taken as the end. */
	assert_int_equal(pw_str_append(out, sizeof(out), 100, "y"), 7);
	assert_string_equal(out, "user:ta");
	assert_int_equal(pw_str_append(out, sizeof(out), 0, ""), 0);
	assert_string_equal(out, "");
	assert_int_equal(pw_str_append(out, 0, 0, "z"), 0);
}

static void test_clean_utf8(void **state)
{
	assert_true(pw_is_clean_utf8("customers.csv"));
	assert_true(pw_is_clean_utf8("顧客.csv"));
	assert_false(pw_is_clean_utf8("a\tb"));
	assert_false(pw_is_clean_utf8("\xff"));
	assert_false(pw_is_clean_utf8("\xf4\x90\x80\x80"));
	assert_false(pw_is_clean_utf8("\xc2\x9b"));
	assert_true(pw_is_clean_utf8("\xc2\xa0"));
}

static void test_dev_encoding(void **state)
{
	assert_true(pw_dev_to_kernel(makedev(8, 1)) == ((8ULL << 20) | 1));
	assert_true(pw_dev_to_kernel(makedev(259, 70000)) == ((259ULL << 20) | 70000));
}

static void test_format_bytes(void **state)
{
	char out[32];

	pw_format_bytes(512, out, sizeof(out));
	assert_string_equal(out, "512 B");
	pw_format_bytes(1536, out, sizeof(out));
	assert_string_equal(out, "1.5 KiB");
	pw_format_bytes(412ULL << 20, out, sizeof(out));
	assert_string_equal(out, "412.0 MiB");
}

static ino_t make_at(const char *path, bool dir)
{
	struct stat st;
	FILE *f;

	if (dir) {
		assert_int_equal(mkdir(path, 0700), 0);
	} else {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* A file's inode found below a directory by its entries: the path below,
 * nothing for an inode that is not there (a directory's included), and
 * an undecided search when the entries to read run out. */
static void test_find_inode(void **state)
{
	char top[] = "/tmp/pw-find-XXXXXX", p[256], rel[256], cmd[300];
	ino_t deep, other, dir;
	int i;

	assert_non_null(mkdtemp(top));
	snprintf(p, sizeof(p), "%s/a", top);
	make_at(p, true);
	snprintf(p, sizeof(p), "%s/a/b", top);
	dir = make_at(p, true);
	for (i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "%s/a/f%02d", top, i);
		make_at(p, false);
	}
	snprintf(p, sizeof(p), "%s/a/b/new\nline.csv", top);
	deep = make_at(p, false);
	snprintf(p, sizeof(p), "/tmp/pw-find-outside-%d", (int)getpid());
	other = make_at(p, false);
	unlink(p);

	assert_int_equal(pw_find_inode(top, deep, 1000, rel, sizeof(rel)), 1);
	assert_string_equal(rel, "a/b/new\nline.csv");
	assert_int_equal(pw_find_inode(top, other, 1000, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "");
	assert_int_equal(pw_find_inode(top, dir, 1000, rel, sizeof(rel)), 0);
	/* 23 entries below top: 10 are not enough to say it is not there. */
	errno = 0;
	assert_int_equal(pw_find_inode(top, other, 10, rel, sizeof(rel)), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(pw_find_inode(top, deep, 1000, rel, 8), -1);
	assert_int_equal(errno, ERANGE);
	snprintf(p, sizeof(p), "%s/none", top);
	assert_int_equal(pw_find_inode(p, deep, 1000, rel, sizeof(rel)), -1);
	assert_int_equal(errno, ENOENT);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

/* mountinfo lines as the kernel writes them, and lines it never would. */
static void test_mountinfo_parse(void **state)
{
	struct pw_mountinfo m;
	char l1[] = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n";
	char l2[] = "40 30 254:0 / /srv/dms\\040data rw shared:5 - ext4 /dev/vda rw\n";
	char l3[] = "41 30 0:35 / /srv/new\\012line rw - btrfs /dev/mapper/x\\040y rw";
	char l4[] = "42 30 0:36 / /x\\9z\\0 rw - tmpfs tmpfs rw";
	static const char *const bad[] = {
		"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", /* no " - " */
		"36 35 98 /mnt1 /mnt2 rw - ext3 /dev/root rw",
		"36 35 x:0 /mnt1 /mnt2 rw - ext3 /dev/root rw",
		"36 35 98:0 /mnt1",
		"36 35 98:0 /mnt1 /mnt2 rw - ext3",
		"36 35 4096:0 /a /b rw - ext3 /dev/sda rw",
		"36 35 8:1048576 /a /b rw - ext3 /dev/sda rw",
		"",
	};
	char buf[128];
	size_t i;

	(void)state;
	assert_int_equal(pw_mountinfo_parse(l1, &m), 0);
	assert_int_equal(m.major, 98);
	assert_int_equal(m.minor, 0);
	assert_string_equal(m.mount_point, "/mnt2");
	assert_string_equal(m.source, "/dev/root");
	assert_int_equal(pw_mountinfo_parse(l2, &m), 0);
	assert_int_equal(m.major, 254);
	assert_string_equal(m.mount_point, "/srv/dms data");
	assert_string_equal(m.source, "/dev/vda");
	assert_int_equal(pw_mountinfo_parse(l3, &m), 0);
	assert_string_equal(m.mount_point, "/srv/new\nline");
	assert_string_equal(m.source, "/dev/mapper/x y");
	/* Not an escape the kernel writes: left as it is. */
	assert_int_equal(pw_mountinfo_parse(l4, &m), 0);
	assert_string_equal(m.mount_point, "/x\\9z\\0");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		assert_int_equal(pw_mountinfo_parse(buf, &m), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_durations_and_sizes),
		cmocka_unit_test(test_escape_untrusted),
		cmocka_unit_test(test_str_append),
		cmocka_unit_test(test_clean_utf8),
		cmocka_unit_test(test_dev_encoding),
		cmocka_unit_test(test_format_bytes),
		cmocka_unit_test(test_find_inode),
		cmocka_unit_test(test_mountinfo_parse),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
