// SPDX-License-Identifier: GPL-2.0
#include "cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "store.h"
#include "util.h"

void pw_cli_bind_filter(sqlite3_stmt *q, const struct pw_filter *f, uint64_t limit)
{
	if (f->since_ns)
		sqlite3_bind_int64(q, 1, f->since_ns);
	if (f->until_ns)
		sqlite3_bind_int64(q, 2, f->until_ns);
	if (f->user)
		sqlite3_bind_text(q, 3, f->user, -1, SQLITE_STATIC);
	if (f->dataset)
		sqlite3_bind_text(q, 4, f->dataset, -1, SQLITE_STATIC);
	if (f->file)
		sqlite3_bind_text(q, 5, f->file, -1, SQLITE_STATIC);
	if (f->host)
		sqlite3_bind_text(q, 6, f->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)limit);
}

/*
 * A date and time from strptime() as a time_t, in UTC or in local time.
 * A date or time that does not exist (30 February, or a local time the
 * clocks skipped going forward), which timegm() and mktime() would
 * silently move, is refused; a local time that happens twice (the clocks
 * going back) is taken at its first occurrence.
 */
static int to_time(const struct tm *in, bool utc, time_t *out)
{
	bool found = false;
	int dst;

	for (dst = 0; dst <= 1; dst++) {
		struct tm tm = *in, back;
		time_t t;

		tm.tm_isdst = dst;
		t = utc ? timegm(&tm) : mktime(&tm);
		if (!(utc ? gmtime_r(&t, &back) : localtime_r(&t, &back)) ||
		    back.tm_year != in->tm_year || back.tm_mon != in->tm_mon ||
		    back.tm_mday != in->tm_mday || back.tm_hour != in->tm_hour ||
		    back.tm_min != in->tm_min || back.tm_sec != in->tm_sec)
			continue;
		if (!found || t < *out)
			*out = t;
		found = true;
	}
	return found ? 0 : -1;
}

int pw_parse_when(const char *s, int64_t now_ns, int64_t *out_ns, char *err, size_t err_size)
{
	static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
					       "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
	char buf[64];
	uint64_t v;
	size_t i, n;
	bool utc = false;

	if (!s || !*s || strlen(s) >= sizeof(buf))
		goto bad;
	if (s[0] >= '0' && s[0] <= '9' && pw_parse_duration_ns(s, &v) == 0 &&
	    strpbrk(s, "smhd")) {
		if (v > (uint64_t)now_ns)
			goto bad;
		*out_ns = now_ns - (int64_t)v;
		return 0;
	}
	if (s[0] == '@') {
		if (pw_parse_u64(s + 1, INT64_MAX / 1000000000LL, &v))
			goto bad;
		*out_ns = (int64_t)v * 1000000000LL;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	n = strlen(buf);
	if (n && buf[n - 1] == 'Z') {
		utc = true;
		buf[n - 1] = '\0';
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(buf, formats[i], &tm);
		time_t t;

		if (!end || *end)
			continue;
		if (to_time(&tm, utc, &t)) {
			snprintf(err, err_size, "'%s' does not exist %s", s,
				 utc ? "(no such day)" :
				       "in local time (no such day, or skipped when the clocks went forward)");
			return -1;
		}
		/* Nanoseconds since 1970 in 64 bits end in 2262. */
		if (t == (time_t)-1 || t < 0 || t > INT64_MAX / 1000000000LL)
			goto bad;
		*out_ns = (int64_t)t * 1000000000LL;
		return 0;
	}
bad:
	snprintf(err, err_size,
		 "'%s' is not a time: expected an age like 2h, 30m or 7d, @EPOCH, or a local time "
		 "YYYY-MM-DD[ HH:MM[:SS]] (Z for UTC)", s ? s : "");
	return -1;
}

sqlite3 *pw_cli_open_store(const char *path)
{
	char err[512];
	struct pw_store *s;
	sqlite3 *db = NULL;
	sqlite3_stmt *q;
	int code;

	/* Checks presence and schema version, with a clear message. */
	s = pw_store_open(path, true, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "piiwatch: %s\n", err);
		return NULL;
	}
	pw_store_close(s);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: cannot open %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	pw_store_keep_wal(db);
	sqlite3_busy_timeout(db, 5000);
	/* A quick probe turns "locked" and "corrupt" into a message now
	 * rather than an empty listing later. */
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		code = sqlite3_extended_errcode(db);
		fprintf(stderr, "piiwatch: cannot read %s: %s%s\n", path, sqlite3_errstr(code),
			pw_store_error_hint(code));
		sqlite3_finalize(q);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_finalize(q);
	return db;
}

bool pw_cli_has_table(sqlite3 *db, const char *table)
{
	sqlite3_stmt *q;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
			       -1, &q, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

bool pw_cli_colour(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

const char *pw_cli_severity_colour(int severity)
{
	switch (severity) {
	case 4:
		return "\033[1;31m";
	case 3:
		return "\033[31m";
	case 2:
		return "\033[33m";
	default:
		return "\033[36m";
	}
}

int pw_cli_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	uint64_t cols;

	if (!isatty(STDOUT_FILENO))
		return 0;
	/* As in ls(1): COLUMNS, when set, says how wide the output may be. */
	if (env && pw_parse_u64(env, 100000, &cols) == 0 && cols > 0)
		return (int)cols;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}

const char *pw_cli_bytes(uint64_t n, char *buf, size_t size)
{
	if (n == 0)
		snprintf(buf, size, "-");
	else
		pw_format_bytes(n, buf, size);
	return buf;
}

const char *pw_cli_time(int64_t ns, char *buf, size_t size)
{
	if (ns <= 0)
		snprintf(buf, size, "-");
	else
		pw_format_time((uint64_t)ns, buf, size);
	return buf;
}

/* ---- tables ---- */

/* The flex column keeps at least this much of its text before other
 * columns are left out, and at least the last this much after. */
#define FLEX_MIN 20
#define FLEX_LAST_RESORT 8

struct pw_table {
	int ncols;
	int flex;
	int *shrink_min;        /* per column: shortest width, 0: never shortened */
	bool *keep_start;       /* per column: shorten from the right */
	int *drop;              /* columns to leave out, in order */
	int ndrop;
	char **cells;           /* rows * ncols, row 0 the headers */
	char **colours;
	size_t rows;
};

/* Columns a string takes on a terminal. */
static int display_width(const char *s)
{
	mbstate_t st;
	int w = 0;
	size_t n;
	wchar_t wc;

	memset(&st, 0, sizeof(st));
	while (*s) {
		n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			w++;
			s++;
			continue;
		}
		w += wcwidth(wc) > 0 ? wcwidth(wc) : 0;
		s += n;
	}
	return w;
}

/*
 * s in width columns, padded unless it is the last column.  Too long, it
 * loses its start (paths: the end names the file), after the "/" where
 * the cut falls when there is one, or with keep_start its end; an
 * ellipsis marks the cut.
 */
static void print_cell(FILE *out, const char *s, int width, bool pad, bool keep_start)
{
	int w = display_width(s), used;
	const char *slash;
	size_t n;

	if (w <= width) {
		fprintf(out, "%s%*s", s, pad ? width - w : 0, "");
		return;
	}
	if (keep_start) {
		char *head = strdup(s);

		if (!head)
			return;
		for (n = strlen(head); n > 0 && display_width(head) > width - 1; n--) {
			head[n - 1] = '\0';
			while (n > 1 && (head[n - 2] & 0xc0) == 0x80 && (head[n - 1] & 0xc0) != 0xc0)
				head[--n - 1] = '\0';
		}
		used = display_width(head) + 1;
		fprintf(out, "%s…%*s", head, pad ? width - used : 0, "");
		free(head);
		return;
	}
	while (*s && display_width(s) > width - 1)
		s++;
	while ((*s & 0xc0) == 0x80)
		s++;
	slash = strchr(s, '/');
	if (slash && slash != s && slash[1])
		s = slash;
	used = display_width(s) + 1;
	fprintf(out, "…%s%*s", s, pad ? width - used : 0, "");
}

struct pw_table *pw_table_new(int ncols, const char *const *headers, int flex_col)
{
	struct pw_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->flex = flex_col;
	t->shrink_min = calloc((size_t)ncols, sizeof(*t->shrink_min));
	t->keep_start = calloc((size_t)ncols, sizeof(*t->keep_start));
	t->drop = calloc((size_t)ncols, sizeof(*t->drop));
	if (!t->shrink_min || !t->keep_start || !t->drop) {
		pw_table_free(t);
		return NULL;
	}
	if (flex_col >= 0)
		t->shrink_min[flex_col] = FLEX_MIN;
	pw_table_add(t, headers, NULL);
	return t;
}

void pw_table_shrink(struct pw_table *t, int col, int min_width, bool keep_start)
{
	if (!t || col < 0 || col >= t->ncols || min_width < 2)
		return;
	t->shrink_min[col] = min_width;
	t->keep_start[col] = keep_start;
}

void pw_table_drop(struct pw_table *t, const int *cols, int n)
{
	int i;

	for (i = 0; t && i < n && t->ndrop < t->ncols; i++)
		if (cols[i] >= 0 && cols[i] < t->ncols)
			t->drop[t->ndrop++] = cols[i];
}

void pw_table_add(struct pw_table *t, const char *const *cells, const char *colour)
{
	char **nc, **ncol;
	int i;

	if (!t)
		return;
	nc = realloc(t->cells, (t->rows + 1) * (size_t)t->ncols * sizeof(*nc));
	if (!nc)
		return;
	t->cells = nc;
	ncol = realloc(t->colours, (t->rows + 1) * sizeof(*ncol));
	if (!ncol)
		return;
	t->colours = ncol;
	for (i = 0; i < t->ncols; i++)
		t->cells[t->rows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "");
	t->colours[t->rows] = colour ? strdup(colour) : NULL;
	t->rows++;
}

/* Shorten column i by up to *excess, not below min. */
static void shorten(int *w, int i, int min, int *excess)
{
	int cut;

	if (min > w[i])
		min = w[i];
	cut = w[i] - min < *excess ? w[i] - min : *excess;

	w[i] -= cut;
	*excess -= cut;
}

/*
 * Fit the widths w (0: column left out) into term columns: shorten the
 * flex column, then the other shortenable ones, to their minimum; leave out
 * the droppable columns in order while that is not enough, and as a last
 * resort shorten the flex column further; give what is left over back,
 * flex column first.
 */
static void fit(struct pw_table *t, int *w, const int *natural, int term)
{
	int i, d, total = -2, excess;

	for (i = 0; i < t->ncols; i++)
		total += w[i] + 2;
	excess = total - term;
	if (excess <= 0)
		return;
	if (t->flex >= 0)
		shorten(w, t->flex, t->shrink_min[t->flex], &excess);
	for (i = 0; i < t->ncols && excess > 0; i++)
		if (i != t->flex && t->shrink_min[i])
			shorten(w, i, t->shrink_min[i], &excess);
	for (d = 0; d < t->ndrop && excess > 0; d++) {
		excess -= w[t->drop[d]] + 2;
		w[t->drop[d]] = 0;
	}
	if (t->flex >= 0 && excess > 0)
		shorten(w, t->flex, FLEX_LAST_RESORT, &excess);
	for (i = -1; i < t->ncols && excess < 0; i++) {
		int col = i < 0 ? t->flex : i, grow;

		if (col < 0 || (i >= 0 && col == t->flex) || !w[col])
			continue;
		grow = natural[col] - w[col] < -excess ? natural[col] - w[col] : -excess;
		w[col] += grow;
		excess += grow;
	}
}

void pw_table_print(struct pw_table *t, FILE *out)
{
	int *w, *natural, i, last = -1, term = pw_cli_width();
	bool colour = pw_cli_colour();
	size_t r;

	if (!t)
		return;
	w = calloc((size_t)t->ncols, sizeof(*w));
	natural = calloc((size_t)t->ncols, sizeof(*natural));
	if (!w || !natural)
		goto cleanup;
	for (r = 0; r < t->rows; r++)
		for (i = 0; i < t->ncols; i++) {
			int cw = display_width(t->cells[r * (size_t)t->ncols + (size_t)i]);

			if (cw > natural[i])
				natural[i] = w[i] = cw;
		}
	/* An empty column still shows its header. */
	for (i = 0; i < t->ncols; i++)
		if (!w[i])
			natural[i] = w[i] = 1;
	if (term)
		fit(t, w, natural, term);
	for (i = 0; i < t->ncols; i++)
		if (w[i])
			last = i;
	for (r = 0; r < t->rows; r++) {
		const char *c = colour && t->colours[r] ? t->colours[r] : NULL;
		bool first = true;

		if (c)
			fputs(c, out);
		for (i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];

			if (!w[i])
				continue;
			if (!first)
				fputs("  ", out);
			first = false;
			print_cell(out, cell, w[i], i != last, t->keep_start[i]);
		}
		if (c)
			fputs(PW_COLOUR_RESET, out);
		fputc('\n', out);
	}
cleanup:
	free(w);
	free(natural);
}

void pw_table_free(struct pw_table *t)
{
	size_t r;
	int i;

	if (!t)
		return;
	for (r = 0; r < t->rows; r++) {
		for (i = 0; i < t->ncols; i++)
			free(t->cells[r * (size_t)t->ncols + (size_t)i]);
		free(t->colours[r]);
	}
	free(t->cells);
	free(t->colours);
	free(t->shrink_min);
	free(t->keep_start);
	free(t->drop);
	free(t);
}
