// SPDX-License-Identifier: GPL-2.0
#include "report_html.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "util.h"

#define WHERE_ACCESS                                                                      \
	" WHERE (?1 IS NULL OR a.opened_ns >= ?1) AND (?2 IS NULL OR a.opened_ns <= ?2)"   \
	" AND (?3 IS NULL OR coalesce(s.user, a.user) = ?3) AND (?4 IS NULL OR a.dataset = ?4)" \
	" AND " PW_FILE_MATCH("a.path") " AND (?6 IS NULL OR s.rhost = ?6) AND a.staging = 0"

#define DAY_NS (86400LL * 1000000000LL)
#define MAX_USERS_CHARTED 6

/* Text from the store is hostile: file names hold anything. */
static void esc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

static sqlite3_stmt *query(sqlite3 *db, const char *sql, const struct pw_filter *f)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: report: %s\n", sqlite3_errmsg(db));
		return NULL;
	}
	pw_cli_bind_filter(q, f, 1000000);
	return q;
}

static int summary(sqlite3 *db, const struct pw_filter *f, FILE *out, int64_t *first,
		   int64_t *last)
{
	sqlite3_stmt *q = query(db,
				"SELECT count(*), coalesce(sum(a.bytes_read), 0), count(DISTINCT coalesce(s.user, a.user)),"
				" count(DISTINCT a.path), count(DISTINCT a.session_id), min(a.opened_ns), max(a.opened_ns),"
				" sum(a.honeytoken), sum(a.audit_session IS NULL)"
				" FROM " PW_STORE_ACCESS_FROM WHERE_ACCESS, f);
	char b[32], t1[32], t2[32];

	if (!q || sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return -1;
	}
	*first = sqlite3_column_int64(q, 5);
	*last = sqlite3_column_int64(q, 6);
	fprintf(out, "<section id=\"summary\"><h2>Summary</h2><dl class=\"kv\">"
		"<dt>Period</dt><dd>%s – %s</dd>"
		"<dt>Accesses to protected files</dt><dd>%lld</dd>"
		"<dt>Bytes read</dt><dd>%s</dd>"
		"<dt>Users</dt><dd>%lld</dd><dt>Files</dt><dd>%lld</dd>"
		"<dt>Login sessions with access</dt><dd>%lld</dd>"
		"<dt>Accesses with no login session</dt><dd>%lld</dd>"
		"<dt>Honeytoken accesses</dt><dd class=\"%s\">%lld</dd></dl></section>\n",
		pw_cli_time(*first, t1, sizeof(t1)), pw_cli_time(*last, t2, sizeof(t2)),
		(long long)sqlite3_column_int64(q, 0),
		pw_cli_bytes((uint64_t)sqlite3_column_int64(q, 1), b, sizeof(b)),
		(long long)sqlite3_column_int64(q, 2), (long long)sqlite3_column_int64(q, 3),
		(long long)sqlite3_column_int64(q, 4), (long long)sqlite3_column_int64(q, 8),
		sqlite3_column_int64(q, 7) ? "bad" : "", (long long)sqlite3_column_int64(q, 7));
	sqlite3_finalize(q);
	return 0;
}

/* The alerts table comes with the detector; read whatever columns of it
 * this report knows by name. */
static int alerts(sqlite3 *db, const struct pw_filter *f, FILE *out)
{
	sqlite3_stmt *q;
	int cols, i, rc, n = 0;

	fputs("<section id=\"alerts\"><h2>Alerts</h2>\n", out);
	if (!pw_cli_has_table(db, "alerts")) {
		fputs("<p>This store has no alerts.</p></section>\n", out);
		return 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT * FROM alerts ORDER BY rowid", -1, &q, NULL) != SQLITE_OK)
		return -1;
	cols = sqlite3_column_count(q);
	fputs("<table><thead><tr><th>Time</th><th>Severity</th><th>Rule</th><th>User</th>"
	      "<th>Reason</th></tr></thead><tbody>\n", out);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *rule = "", *sev = "", *user = "", *reason = "";
		int64_t t = 0;
		char when[32];

		for (i = 0; i < cols; i++) {
			const char *name = sqlite3_column_name(q, i);

			if (!strcmp(name, "rule_id") || !strcmp(name, "rule"))
				rule = col_text(q, i);
			else if (!strcmp(name, "severity"))
				sev = col_text(q, i);
			else if (!strcmp(name, "user"))
				user = col_text(q, i);
			else if (!strcmp(name, "reason"))
				reason = col_text(q, i);
			else if (!strcmp(name, "time_ns") || !strcmp(name, "ts_ns"))
				t = sqlite3_column_int64(q, i);
		}
		if ((f->since_ns && t < f->since_ns) || (f->until_ns && t > f->until_ns) ||
		    (f->user && strcmp(user, f->user)))
			continue;
		n++;
		fprintf(out, "<tr class=\"sev-%s\"><td>%s</td><td>", sev,
			pw_cli_time(t, when, sizeof(when)));
		esc(out, sev);
		fputs("</td><td>", out);
		esc(out, rule);
		fputs("</td><td>", out);
		esc(out, user);
		fputs("</td><td>", out);
		esc(out, reason);
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(q);
	fputs("</tbody></table>\n", out);
	if (!n)
		fputs("<p>No alerts in this period.</p>\n", out);
	fputs("</section>\n", out);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *const palette[MAX_USERS_CHARTED] = { "#1f77b4", "#d62728", "#2ca02c",
							 "#9467bd", "#ff7f0e", "#8c564b" };

/* Days since 1970-01-01 of the local date of a realtime ns stamp, so that
 * the chart's days are the reader's days like every other time shown. */
static int64_t local_day(int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm, date = { 0 };

	if (!localtime_r(&t, &tm))
		return 0;
	date.tm_year = tm.tm_year;
	date.tm_mon = tm.tm_mon;
	date.tm_mday = tm.tm_mday;
	return (int64_t)timegm(&date) / 86400;
}

/* Bytes read per user per local day, top users by volume, as an SVG line
 * chart with the legend to the right of the plot. */
static int volume_chart(sqlite3 *db, const struct pw_filter *f, FILE *out, int64_t first,
			int64_t last)
{
	char users[MAX_USERS_CHARTED][256];
	int nusers = 0, u;
	int64_t day0 = local_day(first), ndays = local_day(last) - day0 + 1;
	double *vol, max = 1;
	sqlite3_stmt *q;
	const int W = 760, H = 260, L = 70, R = W - 170, B = 30;
	int64_t d;

	fputs("<section id=\"volume\"><h2>Volume read per user per day (local time)</h2>\n", out);
	if (first <= 0 || ndays <= 0) {
		fputs("<p>No accesses in this period.</p></section>\n", out);
		return 0;
	}
	if (ndays > 366)
		ndays = 366;
	q = query(db, "SELECT coalesce(s.user, a.user) AS k, sum(a.bytes_read) AS b FROM "
		      PW_STORE_ACCESS_FROM WHERE_ACCESS " GROUP BY k ORDER BY b DESC, k LIMIT 6", f);
	if (!q)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW && nusers < MAX_USERS_CHARTED)
		snprintf(users[nusers++], sizeof(users[0]), "%s", col_text(q, 0));
	sqlite3_finalize(q);
	vol = calloc((size_t)(nusers * ndays + 1), sizeof(*vol));
	if (!vol)
		return -1;
	q = query(db, "SELECT coalesce(s.user, a.user), a.opened_ns, a.bytes_read FROM "
		      PW_STORE_ACCESS_FROM WHERE_ACCESS, f);
	if (!q) {
		free(vol);
		return -1;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t day = local_day(sqlite3_column_int64(q, 1)) - day0;

		for (u = 0; u < nusers; u++)
			if (!strcmp(users[u], col_text(q, 0)) && day >= 0 && day < ndays) {
				vol[u * ndays + day] += (double)sqlite3_column_int64(q, 2);
				if (vol[u * ndays + day] > max)
					max = vol[u * ndays + day];
			}
	}
	sqlite3_finalize(q);
	fprintf(out, "<svg class=\"chart\" id=\"volume-chart\" role=\"img\" viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">"
		"<title>Bytes read per user per day</title>\n", W, H, W, H);
	fprintf(out, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
		L, L, H - B, L, H - B, R, H - B);
	{
		char top[32];

		fprintf(out, "<text x=\"%d\" y=\"16\" class=\"lbl\" text-anchor=\"end\">%s</text>"
			"<text x=\"%d\" y=\"%d\" class=\"lbl\" text-anchor=\"end\">0</text>\n",
			L - 4, pw_cli_bytes((uint64_t)max, top, sizeof(top)), L - 4, H - B);
	}
	for (d = 0; d < ndays; d += ndays > 14 ? ndays / 7 : 1) {
		time_t t = (time_t)((day0 + d) * 86400);
		struct tm tm;
		char lbl[16];

		gmtime_r(&t, &tm);
		strftime(lbl, sizeof(lbl), "%m-%d", &tm);
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"lbl\" text-anchor=\"middle\">%s</text>\n",
			L + (ndays > 1 ? (double)d * (R - L) / (double)(ndays - 1) : 0), H - 10, lbl);
	}
	for (u = 0; u < nusers; u++) {
		fprintf(out, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			palette[u]);
		for (d = 0; d < ndays; d++)
			fprintf(out, "%.1f,%.1f ",
				L + (ndays > 1 ? (double)d * (R - L) / (double)(ndays - 1) : 0),
				(H - B) - vol[u * ndays + d] / max * (H - B - 12));
		fputs("\"/>\n", out);
		/* One day is one point, which a line does not show. */
		if (ndays == 1)
			fprintf(out, "<circle cx=\"%d\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", L,
				(H - B) - vol[u] / max * (H - B - 12), palette[u]);
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\" class=\"lbl\">",
			R + 30, 14 + u * 16, palette[u], R + 44, 23 + u * 16);
		esc(out, users[u]);
		fputs("</text>\n", out);
	}
	fputs("</svg></section>\n", out);
	free(vol);
	return 0;
}

/* Accesses by local day of week and hour, as an SVG heat map. */
static int heat_map(sqlite3 *db, const struct pw_filter *f, FILE *out)
{
	static const char *const days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	double cell[7][24] = { { 0 } }, max = 0;
	sqlite3_stmt *q = query(db, "SELECT a.opened_ns FROM " PW_STORE_ACCESS_FROM WHERE_ACCESS, f);
	int d, h;

	if (!q)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		time_t t = (time_t)(sqlite3_column_int64(q, 0) / 1000000000LL);
		struct tm tm;

		if (!localtime_r(&t, &tm))
			continue;
		cell[tm.tm_wday][tm.tm_hour] += 1;
		if (cell[tm.tm_wday][tm.tm_hour] > max)
			max = cell[tm.tm_wday][tm.tm_hour];
	}
	sqlite3_finalize(q);
	fputs("<section id=\"heatmap\"><h2>Accesses by hour of the week (local time)</h2>\n"
	      "<svg class=\"chart\" id=\"heatmap-chart\" role=\"img\" viewBox=\"0 0 760 200\" width=\"760\" "
	      "height=\"200\" xmlns=\"http://www.w3.org/2000/svg\"><title>Accesses by hour of the week</title>\n",
	      out);
	for (h = 0; h < 24; h += 3)
		fprintf(out, "<text x=\"%d\" y=\"12\" class=\"lbl\">%02d:00</text>\n", 50 + h * 29, h);
	for (d = 0; d < 7; d++) {
		fprintf(out, "<text x=\"0\" y=\"%d\" class=\"lbl\">%s</text>\n", 34 + d * 24, days[d]);
		for (h = 0; h < 24; h++) {
			double v = max > 0 ? cell[d][h] / max : 0;

			fprintf(out, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"27\" height=\"22\" "
				"fill=\"rgb(%d,%d,%d)\"><title>%s %02d:00: %.0f accesses</title></rect>\n",
				50 + h * 29, 20 + d * 24, 255 - (int)(v * 200), 255 - (int)(v * 120),
				255 - (int)(v * 40), days[d], h, cell[d][h]);
		}
	}
	fprintf(out, "</svg><p class=\"note\">Darker is more: the darkest hour has %.0f accesses.</p>"
		"</section>\n", max);
	return 0;
}

static int top_table(sqlite3 *db, const struct pw_filter *f, FILE *out, const char *id,
		     const char *title, const char *key)
{
	char sql[2048], b[32];
	sqlite3_stmt *q;

	snprintf(sql, sizeof(sql), "SELECT %s AS k, sum(a.bytes_read) AS b, count(*) FROM "
		 PW_STORE_ACCESS_FROM WHERE_ACCESS " GROUP BY k ORDER BY b DESC, k LIMIT 15", key);
	q = query(db, sql, f);
	if (!q)
		return -1;
	fprintf(out, "<section id=\"%s\"><h2>%s</h2><table><thead><tr><th>Bytes read</th>"
		"<th>Accesses</th><th>Name</th></tr></thead><tbody>\n", id, title);
	while (sqlite3_step(q) == SQLITE_ROW) {
		fprintf(out, "<tr><td class=\"num\">%s</td><td class=\"num\">%lld</td><td>",
			pw_cli_bytes((uint64_t)sqlite3_column_int64(q, 1), b, sizeof(b)),
			(long long)sqlite3_column_int64(q, 2));
		esc(out, col_text(q, 0));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(q);
	fputs("</tbody></table></section>\n", out);
	return 0;
}

int pw_report_html(sqlite3 *db, const struct pw_filter *f, FILE *out)
{
	int64_t first = 0, last = 0;
	char now[32];
	int rc = 0;

	pw_format_time(pw_now_realtime_ns(), now, sizeof(now));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\">"
	      "<title>piiwatch report</title><style>\n"
	      "body{font-family:sans-serif;margin:2em;color:#222;max-width:70em}"
	      "h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}"
	      "table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .6em;text-align:left;"
	      "border-bottom:1px solid #eee}td.num{text-align:right}"
	      "dl.kv{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dd{margin:0}"
	      ".bad{color:#b00;font-weight:bold}.sev-critical,.sev-high{color:#b00}.sev-medium{color:#a60}"
	      ".axis{stroke:#888}.lbl{font-size:11px;fill:#444}.chart{border:1px solid #eee}"
	      ".note{font-size:.85em;color:#555}\n"
	      "</style></head><body>\n<h1>piiwatch report</h1>\n", out);
	fprintf(out, "<p>Generated %s (local time).", now);
	if (f->user || f->dataset || f->file || f->host) {
		fputs(" Filtered to", out);
		if (f->user) {
			fputs(" user ", out);
			esc(out, f->user);
		}
		if (f->dataset) {
			fputs(" dataset ", out);
			esc(out, f->dataset);
		}
		if (f->file) {
			fputs(" file ", out);
			esc(out, f->file);
		}
		if (f->host) {
			fputs(" host ", out);
			esc(out, f->host);
		}
		fputc('.', out);
	}
	fputs("</p>\n", out);
	if (summary(db, f, out, &first, &last) || alerts(db, f, out) ||
	    volume_chart(db, f, out, first, last) || heat_map(db, f, out) ||
	    top_table(db, f, out, "top-files", "Top files", "a.path") ||
	    top_table(db, f, out, "top-programs", "Top programs", "coalesce(a.exe, a.comm)") ||
	    top_table(db, f, out, "top-hosts", "Top source hosts",
		      "coalesce(s.rhost, 'local or no session')")) {
		fprintf(stderr, "piiwatch: report: %s\n", sqlite3_errmsg(db));
		rc = -1;
	}
	fputs("</body></html>\n", out);
	return rc;
}
