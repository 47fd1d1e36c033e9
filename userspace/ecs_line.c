// SPDX-License-Identifier: GPL-2.0
/*
 * The access record's ECS line written straight into a buffer.
 *
 * Accesses are the daemon's hot path: building them as a json-c tree and
 * serialising that took over half of the daemon's time per event (bench/
 * RESULTS.md).  This writer emits the same bytes pw_ecs_to_line() makes of
 * pw_ecs_from_access(), member for member in json-c's insertion order and
 * with json-c's escaping; tests/unit/test_ecs.c compares the two on every
 * field combination and on hostile strings.  Everything else is built
 * through json-c.
 */
#include "ecs.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h>

#include "ancestors.h"
#include "piiwatch.h"
#include "util.h"

#define NS_PER_SEC 1000000000ULL
#define KDEV_MINOR_BITS 20
#define KDEV_MINOR_MASK ((1ULL << KDEV_MINOR_BITS) - 1)
#define NEST_MAX 4

/*
 * Objects are opened lazily, as json-c creates the parents of a dotted
 * path: "host" appears only once host.name or host.boot.id is written.
 */
struct writer {
	struct pw_ecs_buf *b;
	bool oom;
	int depth;
	struct {
		const char *key; /* "name": */
		size_t key_len;
		bool written;     /* its opening brace is in the buffer */
		bool has_member;
	} frame[NEST_MAX];
};

static bool grow(struct writer *w, size_t more)
{
	struct pw_ecs_buf *b = w->b;
	size_t cap;
	char *p;

	if (w->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

/* Room for more bytes and the NUL; the buffer is reused from line to
 * line, so it has room nearly always. */
static inline bool reserve(struct writer *w, size_t more)
{
	if (__builtin_expect(!w->oom && w->b->len + more + 1 <= w->b->cap, 1))
		return true;
	return grow(w, more);
}

static inline void raw(struct writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->b->p + w->b->len, s, n);
	w->b->len += n;
}

static void lit(struct writer *w, const char *s)
{
	raw(w, s, strlen(s));
}

/* A JSON string of s, escaped as json-c does with
 * JSON_C_TO_STRING_NOSLASHESCAPE.  Room for the worst case (every byte
 * \u00XX) is made once, then bytes are stored directly. */
static void quoted(struct writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *out;
	size_t i;

	if (!reserve(w, n * 6 + 2))
		return;
	out = w->b->p + w->b->len;
	*out++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= ' ' && c != '"' && c != '\\') {
			*out++ = (char)c;
			continue;
		}
		*out++ = '\\';
		switch (c) {
		case '\b': *out++ = 'b'; break;
		case '\n': *out++ = 'n'; break;
		case '\r': *out++ = 'r'; break;
		case '\t': *out++ = 't'; break;
		case '\f': *out++ = 'f'; break;
		case '"': *out++ = '"'; break;
		case '\\': *out++ = '\\'; break;
		default:
			*out++ = 'u';
			*out++ = '0';
			*out++ = '0';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 0xf];
		}
	}
	*out++ = '"';
	w->b->len = (size_t)(out - w->b->p);
}

/* A byte needs no escaping when it is printable ASCII other than quote
 * and backslash. */
static inline bool plain_byte(unsigned char c)
{
	return c >= ' ' && c <= '~' && c != '"' && c != '\\';
}

/*
 * How many leading bytes of s[0..n) need no escaping.  Eight at a time:
 * for a word v, (v - ONES * k) & ~v & HIGHS is non-zero exactly when some
 * byte of v is below k (k <= 0x80), so a word is passed over whole unless
 * it has a control byte, a byte of 0x7f or more, a quote or a backslash;
 * that word is then looked at byte by byte.
 */
static size_t plain_prefix(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v, q, bs;

		memcpy(&v, s + i, 8);
		q = v ^ (ones * '"');
		bs = v ^ (ones * '\\');
		if ((((v - ones * ' ') & ~v) | ((v + ones) | v) | ((q - ones) & ~q) |
		     ((bs - ones) & ~bs)) & highs)
			break;
	}
	while (i < n && plain_byte((unsigned char)s[i]))
		i++;
	return i;
}

/* n bytes of s that plain_prefix() passed whole, as a JSON string. */
static inline void plain_quoted(struct writer *w, const char *s, size_t n)
{
	char *out;

	if (!reserve(w, n + 2))
		return;
	out = w->b->p + w->b->len;
	out[0] = '"';
	memcpy(out + 1, s, n);
	out[n + 1] = '"';
	w->b->len += n + 2;
}

/* Untrusted text as new_str() in ecs.c stores it: escaped unless it is
 * clean UTF-8.  Printable ASCII without quote or backslash, which is
 * nearly all of it, is scanned a word at a time and copied whole. */
static void text(struct writer *w, const char *s)
{
	size_t len = strlen(s), cap;
	char *buf;

	if (plain_prefix(s, len) == len) {
		plain_quoted(w, s, len);
		return;
	}
	if (pw_is_clean_utf8(s)) {
		quoted(w, s, len);
		return;
	}
	cap = len * 4 + 1;
	buf = malloc(cap);
	if (!buf) {
		w->oom = true;
		return;
	}
	pw_escape_untrusted(s, len, buf, cap);
	quoted(w, buf, strlen(buf));
	free(buf);
}

/* text() of n bytes of s (a program in a chain's text), which are not
 * NUL-terminated. */
static void text_n(struct writer *w, const char *s, size_t n)
{
	char *copy;

	if (plain_prefix(s, n) == n) {
		plain_quoted(w, s, n);
		return;
	}
	copy = strndup(s, n);
	if (!copy) {
		w->oom = true;
		return;
	}
	text(w, copy);
	free(copy);
}

/*
 * Keys are string literals that need no escaping, passed as their JSON
 * text with the colon: QK("pid") is "\"pid\":" and its length.
 */
#define QK(k) "\"" k "\":", sizeof("\"" k "\":") - 1
/* Literal JSON text and its length, for raw(). */
#define LIT(s) s, sizeof(s) - 1

/* Write the braces of the objects opened but not yet written. */
static void write_frames(struct writer *w)
{
	int i;

	for (i = 0; i <= w->depth; i++) {
		if (w->frame[i].written)
			continue;
		if (i > 0) {
			if (w->frame[i - 1].has_member)
				raw(w, ",", 1);
			w->frame[i - 1].has_member = true;
			raw(w, w->frame[i].key, w->frame[i].key_len);
		}
		raw(w, "{", 1);
		w->frame[i].written = true;
	}
}

/* The separator and the key (qk, qn: see QK) of a member of the innermost
 * object, after the braces of any object not yet written.  Braces are
 * written outermost first, so when the innermost object's is out, all
 * are: most keys cost that one check and one copy. */
static void key_(struct writer *w, const char *qk, size_t qn)
{
	char *p;

	if (!w->frame[w->depth].written)
		write_frames(w);
	if (!reserve(w, qn + 1))
		return;
	p = w->b->p + w->b->len;
	if (w->frame[w->depth].has_member)
		*p++ = ',';
	memcpy(p, qk, qn);
	w->b->len = (size_t)(p - w->b->p) + qn;
	w->frame[w->depth].has_member = true;
}

#define key(w, k) key_(w, QK(k))

static void open_obj_(struct writer *w, const char *qk, size_t qn)
{
	if (w->depth + 1 >= NEST_MAX) {
		w->oom = true;
		return;
	}
	w->depth++;
	w->frame[w->depth].key = qk;
	w->frame[w->depth].key_len = qn;
	w->frame[w->depth].written = false;
	w->frame[w->depth].has_member = false;
}

#define open_obj(w, k) open_obj_(w, QK(k))

static void close_obj(struct writer *w)
{
	if (w->frame[w->depth].written)
		raw(w, "}", 1);
	if (w->depth > 0)
		w->depth--;
}

static void u64_text(struct writer *w, uint64_t v)
{
	char digits[24];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	raw(w, digits + n, sizeof(digits) - n);
}

static void member_u64_(struct writer *w, const char *qk, size_t qn, uint64_t v)
{
	key_(w, qk, qn);
	u64_text(w, v);
}

#define member_u64(w, k, v) member_u64_(w, QK(k), v)

/* A number as a string, as ECS has ids and inodes. */
static void member_u64_str_(struct writer *w, const char *qk, size_t qn, uint64_t v)
{
	key_(w, qk, qn);
	raw(w, "\"", 1);
	u64_text(w, v);
	raw(w, "\"", 1);
}

#define member_u64_str(w, k, v) member_u64_str_(w, QK(k), v)

static void member_lit_(struct writer *w, const char *qk, size_t qn, const char *s)
{
	key_(w, qk, qn);
	quoted(w, s, strlen(s));
}

#define member_lit(w, k, s) member_lit_(w, QK(k), s)

static void member_text_(struct writer *w, const char *qk, size_t qn, const char *s)
{
	if (!s || !*s)
		return;
	key_(w, qk, qn);
	text(w, s);
}

#define member_text(w, k, s) member_text_(w, QK(k), s)

static void member_bool_(struct writer *w, const char *qk, size_t qn, bool v)
{
	key_(w, qk, qn);
	lit(w, v ? "true" : "false");
}

#define member_bool(w, k, v) member_bool_(w, QK(k), v)

static void member_nullable_(struct writer *w, const char *qk, size_t qn, uint64_t v, uint64_t none)
{
	key_(w, qk, qn);
	if (v == none)
		lit(w, "null");
	else
		u64_text(w, v);
}

#define member_nullable(w, k, v, none) member_nullable_(w, QK(k), v, none)

static void two_digits(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* "2026-11-25T09:26:10.123456789Z"; the date of the last day written is
 * kept, since a drain's records share it. */
static void member_time_(struct writer *w, const char *qk, size_t qn, uint64_t ns)
{
	struct pw_ecs_buf *b = w->b;
	uint64_t sec = ns / NS_PER_SEC, day = sec / 86400, s = sec % 86400;
	unsigned frac = (unsigned)(ns % NS_PER_SEC);
	char t[32];
	int i;

	if (!b->day_valid || b->day != day) {
		time_t whole = (time_t)sec;
		struct tm tm;

		if (!gmtime_r(&whole, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1000) {
			w->oom = true;
			return;
		}
		snprintf(b->date, sizeof(b->date), "%04u-%02u-%02u", (unsigned)tm.tm_year + 1900,
			 (unsigned)tm.tm_mon % 12 + 1, (unsigned)tm.tm_mday % 32);
		b->day = day;
		b->day_valid = true;
	}
	memcpy(t, b->date, 10);
	t[10] = 'T';
	two_digits(t + 11, (unsigned)(s / 3600));
	t[13] = ':';
	two_digits(t + 14, (unsigned)(s / 60 % 60));
	t[16] = ':';
	two_digits(t + 17, (unsigned)(s % 60));
	t[19] = '.';
	for (i = 28; i >= 20; i--) {
		t[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	t[29] = 'Z';
	key_(w, qk, qn);
	raw(w, "\"", 1);
	raw(w, t, 30);
	raw(w, "\"", 1);
}

#define member_time(w, k, ns) member_time_(w, QK(k), ns)

static void io_names(struct writer *w, uint32_t flags)
{
	bool first = true;
	size_t i;

	key(w, "io");
	raw(w, "[", 1);
	for (i = 0; i < PW_ECS_N_IO_NAMES; i++) {
		if (!(flags & pw_ecs_io_names[i].bit))
			continue;
		if (!first)
			raw(w, ",", 1);
		quoted(w, pw_ecs_io_names[i].name, strlen(pw_ecs_io_names[i].name));
		first = false;
	}
	raw(w, "]", 1);
}

/* piiwatch.process.ancestors, as put_ancestors() in ecs.c builds it. */
static void ancestors(struct writer *w, const char *text)
{
	const char *cursor = text;
	struct pw_ancestor a;
	size_t n;

	if (!pw_ancestors_next(&cursor, &a))
		return;
	open_obj(w, "process");
	key(w, "ancestors");
	raw(w, "[", 1);
	for (n = 1;; n++) {
		raw(w, LIT("{\"pid\":"));
		u64_text(w, a.pid);
		raw(w, LIT(",\"executable\":"));
		text_n(w, a.exe, a.exe_len);
		raw(w, "}", 1);
		if (n == PW_ANCESTORS_MAX || !pw_ancestors_next(&cursor, &a))
			break;
		raw(w, ",", 1);
	}
	raw(w, "]", 1);
	close_obj(w);
}

static void source(struct writer *w, const char *rhost)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (!rhost || !*rhost)
		return;
	open_obj(w, "source");
	member_text(w, "address", rhost);
	if (inet_pton(AF_INET, rhost, addr) == 1 || inet_pton(AF_INET6, rhost, addr) == 1)
		member_lit(w, "ip", rhost);
	else
		member_text(w, "domain", rhost);
	close_obj(w);
}

const char *pw_ecs_access_line(struct pw_ecs_buf *b, const struct pw_access *a,
			       const char *host_name, size_t *len)
{
	uint64_t end = a->closed_ns ? a->closed_ns : a->last_ns;
	const char *cursor = a->ancestors;
	struct writer w = { .b = b };
	struct pw_ancestor parent;

	b->len = 0;
	member_time(&w, "@timestamp", a->last_ns);
	open_obj(&w, "ecs");
	member_lit(&w, "version", PW_ECS_VERSION);
	close_obj(&w);

	open_obj(&w, "event");
	member_lit(&w, "kind", "event");
	member_lit(&w, "module", "piiwatch");
	member_lit(&w, "dataset", "piiwatch.access");
	key(&w, "category");
	lit(&w, "[\"file\"]");
	key(&w, "type");
	lit(&w, a->bytes_written || a->writes ? "[\"access\",\"change\"]" : "[\"access\"]");
	member_lit(&w, "action", pw_ecs_access_action(a));
	member_lit(&w, "outcome", "success");
	member_time(&w, "start", a->opened_ns);
	if (a->closed_ns)
		member_time(&w, "end", a->closed_ns);
	member_u64(&w, "duration", end > a->opened_ns ? end - a->opened_ns : 0);
	close_obj(&w);

	open_obj(&w, "host");
	member_text(&w, "name", host_name);
	open_obj(&w, "boot");
	member_text(&w, "id", a->boot_id);
	close_obj(&w);
	close_obj(&w);

	open_obj(&w, "user");
	member_text(&w, "name", a->user);
	if (a->loginuid != PW_NO_ID)
		member_u64_str(&w, "id", a->loginuid);
	close_obj(&w);

	open_obj(&w, "process");
	member_u64(&w, "pid", a->pid);
	open_obj(&w, "parent");
	member_u64(&w, "pid", a->ppid);
	if (pw_ancestors_next(&cursor, &parent)) {
		key(&w, "executable");
		text_n(&w, parent.exe, parent.exe_len);
	}
	close_obj(&w);
	member_text(&w, "name", a->comm);
	member_text(&w, "executable", a->exe);
	member_text(&w, "command_line", a->args);
	open_obj(&w, "user");
	member_u64_str(&w, "id", a->uid);
	member_text(&w, "name", a->euser);
	close_obj(&w);
	close_obj(&w);

	open_obj(&w, "file");
	member_text(&w, "path", a->path);
	member_u64_str(&w, "inode", a->ino);
	key(&w, "device");
	raw(&w, "\"", 1);
	u64_text(&w, a->dev >> KDEV_MINOR_BITS);
	raw(&w, ":", 1);
	u64_text(&w, a->dev & KDEV_MINOR_MASK);
	raw(&w, "\"", 1);
	close_obj(&w);

	source(&w, a->rhost);

	open_obj(&w, "piiwatch");
	member_u64(&w, "schema", PW_ECS_SCHEMA);
	member_u64(&w, "access_id", a->access_id);
	member_text(&w, "dataset", a->dataset);
	member_bool(&w, "honeytoken", a->honeytoken);
	member_bool(&w, "staging", a->staging);
	member_u64(&w, "bytes_read", a->bytes_read);
	member_u64(&w, "bytes_written", a->bytes_written);
	member_u64(&w, "reads", a->reads);
	member_u64(&w, "writes", a->writes);
	member_u64(&w, "open_flags", a->open_flags);
	member_u64(&w, "io_flags", a->flags);
	io_names(&w, a->flags);
	member_nullable(&w, "audit_session", a->audit_session, PW_NO_ID);
	member_nullable(&w, "session_id", (uint64_t)a->session_id, 0);
	member_text(&w, "pam_service", a->service);
	ancestors(&w, a->ancestors);
	close_obj(&w);
	close_obj(&w);

	if (w.oom || !reserve(&w, 0))
		return NULL;
	b->p[b->len] = '\0';
	if (len)
		*len = b->len;
	return b->p;
}

void pw_ecs_buf_free(struct pw_ecs_buf *b)
{
	if (!b)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}
