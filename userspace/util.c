// SPDX-License-Identifier: GPL-2.0
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

void pw_set_err(char *err, size_t err_size, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	errno = saved;
}

int pw_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > max) {
		errno = ERANGE;
		return -1;
	}
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

/* Split "123unit" into the number and the unit. */
static int parse_number_unit(const char *s, uint64_t *num, const char **unit)
{
	char digits[32];
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(digits)) {
		errno = n ? ERANGE : EINVAL;
		return -1;
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (pw_parse_u64(digits, UINT64_MAX, num))
		return -1;
	*unit = s + n;
	return 0;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b) {
		errno = ERANGE;
		return -1;
	}
	*out = a * b;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mul;
};

/* A number and one of the units, multiplied out without overflow. */
static int parse_with_units(const char *s, const struct unit *units, size_t n, uint64_t *out)
{
	const char *unit;
	uint64_t num;
	size_t i;

	if (!s || parse_number_unit(s, &num, &unit))
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(unit, units[i].name) == 0)
			return mul_checked(num, units[i].mul, out);
	errno = EINVAL;
	return -1;
}

int pw_parse_duration_ns(const char *s, uint64_t *out_ns)
{
	static const struct unit units[] = {
		{ "", 1000000000ULL },  { "ms", 1000000ULL },
		{ "s", 1000000000ULL }, { "m", 60000000000ULL },
		{ "h", 3600000000000ULL }, { "d", 86400000000000ULL },
	};

	return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), out_ns);
}

int pw_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "K", 1ULL << 10 }, { "M", 1ULL << 20 }, { "G", 1ULL << 30 },
		{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 },
	};

	return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), out);
}

/* Undo the \ooo escapes of a mountinfo field, in place (it only
 * shrinks); anything else is left as it is. */
static void unescape_octal(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* The next space-separated field of *p, NUL-terminated in place; NULL at
 * the end of the line. */
static char *next_field(char **p)
{
	char *s = *p, *start;

	while (*s == ' ')
		s++;
	if (*s == '\0' || *s == '\n')
		return NULL;
	start = s;
	while (*s && *s != ' ' && *s != '\n')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return start;
}

int pw_mountinfo_parse(char *line, struct pw_mountinfo *m)
{
	char *p = line, *f[5], *sep, *dev, *colon, *end;
	unsigned long maj, min;
	int i;

	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT [OPTIONS...] - FSTYPE SOURCE ... */
	for (i = 0; i < 5; i++)
		if (!(f[i] = next_field(&p)))
			return -1;
	while ((sep = next_field(&p)) && strcmp(sep, "-") != 0)
		;
	if (!sep || !next_field(&p) || !(m->source = next_field(&p)))
		return -1;
	dev = f[2];
	colon = strchr(dev, ':');
	if (!colon || colon == dev)
		return -1;
	errno = 0;
	maj = strtoul(dev, &end, 10);
	if (errno || end != colon || maj > 0xfff)
		return -1;
	min = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || min > 0xfffff)
		return -1;
	m->major = (unsigned)maj;
	m->minor = (unsigned)min;
	m->mount_point = f[4];
	unescape_octal(m->mount_point);
	unescape_octal(m->source);
	return 0;
}

uint64_t pw_dev_to_kernel(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

void pw_read_boot_id(char out[PW_BOOT_ID_LEN])
{
	ssize_t n = -1;
	int fd;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, PW_BOOT_ID_LEN - 1);
		close(fd);
	}
	if (n < PW_BOOT_ID_LEN - 1) {
		snprintf(out, PW_BOOT_ID_LEN, "unknown");
		return;
	}
	out[PW_BOOT_ID_LEN - 1] = '\0';
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t pw_now_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t pw_now_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > avail)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* C0 controls, DEL, and the C1 controls U+0080..U+009F, which terminals
 * obey as well (U+009B starts an escape sequence, U+0085 breaks a line). */
static bool is_control(const unsigned char *s, size_t seq_len)
{
	return (seq_len == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
	       (seq_len == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

size_t pw_str_append(char *out, size_t out_size, size_t len, const char *s)
{
	size_t n;

	if (out_size == 0)
		return 0;
	if (len >= out_size)
		len = out_size - 1;
	n = strnlen(s, out_size - 1 - len);
	memcpy(out + len, s, n);
	out[len + n] = '\0';
	return len + n;
}

bool pw_escape_untrusted(const char *in, size_t in_len, char *out, size_t out_size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;
	bool clean = true;

	if (out_size == 0)
		return false;
	while (i < in_len && s[i] != '\0') {
		size_t n;

		/* Printable ASCII, nearly every byte of a name: as it is. */
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= out_size)
				break;
			out[o++] = (char)s[i++];
			continue;
		}
		n = utf8_seq_len(s + i, in_len - i);
		/* A NUL inside the sequence makes it invalid, which the
		 * continuation-byte check above already refuses. */
		if (is_control(s + i, n) || (n == 1 && s[i] == '\\'))
			n = 0;
		if (n == 0) {
			if (o + 4 >= out_size)
				break;
			snprintf(out + o, 5, "\\x%02x", s[i]);
			o += 4;
			i++;
			clean = false;
			continue;
		}
		if (o + n >= out_size)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (i < in_len && s[i] != '\0')
		clean = false;
	return clean;
}

bool pw_is_clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);

		if (n == 0 || is_control(p + i, n))
			return false;
		i += n;
	}
	return true;
}

void pw_format_bytes(uint64_t bytes, char *out, size_t out_size)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(out, out_size, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(out, out_size, "%.1f %s", v, units[u]);
}

void pw_format_time(uint64_t realtime_ns, char *out, size_t out_size)
{
	time_t t = (time_t)(realtime_ns / 1000000000ULL);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(out, out_size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, out_size, "?");
}

/* One open directory of pw_find_inode()'s walk, and where its name ends in rel. */
struct find_level {
	DIR *d;
	size_t len;
};

int pw_find_inode(const char *dir, uint64_t ino, size_t max_entries, char *rel, size_t rel_size)
{
	struct find_level st[PW_FIND_DEPTH];
	size_t depth = 0, seen = 0, len = 0;
	struct stat top;
	int fd, rc = 0, saved;

	if (rel_size == 0) {
		errno = ERANGE;
		return -1;
	}
	rel[0] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &top) != 0 || !(st[0].d = fdopendir(fd))) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	st[0].len = 0;
	depth = 1;
	while (depth > 0) {
		struct find_level *lv = &st[depth - 1];
		struct dirent *e;
		struct stat sb;
		size_t n;
		int sub;

		errno = 0;
		e = readdir(lv->d);
		if (!e) {
			closedir(lv->d);
			depth--;
			continue;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++seen > max_entries) {
			rc = -1;
			break;
		}
		n = strlen(e->d_name);
		if (lv->len + (lv->len ? 1 : 0) + n + 1 > rel_size) {
			rc = -1;
			break;
		}
		len = lv->len;
		if (len)
			rel[len++] = '/';
		memcpy(rel + len, e->d_name, n + 1);
		len += n;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) {
			if (e->d_ino == ino) {
				rc = 1;
				break;
			}
			continue;
		}
		sub = openat(dirfd(lv->d), e->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (sub < 0) {
			/* DT_UNKNOWN: perhaps no directory; compare it as a file. */
			if (e->d_type == DT_UNKNOWN && e->d_ino == ino &&
			    fstatat(dirfd(lv->d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISDIR(sb.st_mode) && sb.st_dev == top.st_dev) {
				rc = 1;
				break;
			}
			continue;
		}
		/* Another file system mounted here: its inode numbers are not
		 * the ones looked for. */
		if (fstat(sub, &sb) != 0 || sb.st_dev != top.st_dev) {
			close(sub);
			continue;
		}
		if (depth == PW_FIND_DEPTH) {
			close(sub);
			rc = -1;
			break;
		}
		st[depth].d = fdopendir(sub);
		if (!st[depth].d) {
			close(sub);
			continue;
		}
		st[depth].len = len;
		depth++;
	}
	while (depth > 0)
		closedir(st[--depth].d);
	if (rc <= 0)
		rel[0] = '\0';
	if (rc < 0)
		errno = ERANGE;
	return rc;
}
