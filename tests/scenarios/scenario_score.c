// SPDX-License-Identifier: GPL-2.0
/*
 * pw-scenario-score: score the detector's alerts on the scenarios of
 * pw-scenario-gen.
 *
 *   pw-scenario-score [--max-false-per-day X] DIR...
 *
 * Each DIR is one seed's scenario directory after replay: labels.tsv from
 * the generator, and for the benign month and each attack NAME the alerts
 * `piiwatch replay FILE --json` wrote, in benign.alerts and NAME.alerts.
 * Alert lines are read with pw_ecs_parse_line(), so a line that is not a
 * valid record is an error; records of other kinds are passed over.
 *
 * False alerts: the benign month's alerts of severity medium or higher,
 * per host-day.  An attack is detected when its run has an alert of one of
 * the attack's acceptable rules, inside the attack's window, naming the
 * attack's user or one of its audit sessions, and not also raised on the
 * benign month (same rule, user and time).
 *
 * Prints a table per seed and a summary; exits 0 when every attack was
 * detected in every seed and the false alert rate is within the target,
 * 1 when not, 2 on bad input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecs.h"
#include "util.h"

#define NS 1000000000ULL
#define MAX_ATTACKS 32
#define MAX_RULES 64

struct label {
	char name[64];
	uint64_t start, end;
	char user[64];
	uint32_t sessions[16];
	int n_sessions;
	char rules[512];         /* comma separated */
};

struct alerts {
	struct pw_alert *v;
	size_t n;
};

struct rule_count {
	char rule[PW_RULE_ID_MAX];
	unsigned by_sev[5];       /* indexed by enum pw_severity */
};

struct tally {
	char name[64];
	unsigned runs, detected;
	double delay_sum;         /* seconds from the window's start to the first detection */
};

static int parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	unsigned long long frac = 0;
	char *end;

	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.') {
		char *e2;

		errno = 0;
		frac = strtoull(end + 1, &e2, 10);
		if (errno || e2 - (end + 1) != 9)
			return -1;
		end = e2;
	}
	if (strcmp(end, "Z") != 0)
		return -1;
	*ns = (uint64_t)timegm(&tm) * NS + frac;
	return 0;
}

static int load_labels(const char *dir, struct label *labels, int *n, int *days)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/labels.tsv", dir);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "pw-scenario-score: %s: %s\n", path, strerror(errno));
		return -1;
	}
	*n = 0;
	*days = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *field[7], *save = NULL, *p, *tok;
		struct label *l;
		int k = 0;

		lineno++;
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (line[0] == '#') {
			p = strstr(line, " days=");
			if (p)
				*days = atoi(p + 6);
			continue;
		}
		for (p = line; k < 7 && (tok = strsep(&p, "\t")) != NULL;)
			field[k++] = tok;
		if (k < 6 || *n >= MAX_ATTACKS) {
			fprintf(stderr, "pw-scenario-score: %s:%d: expected 7 tab-separated fields\n",
				path, lineno);
			goto cleanup;
		}
		l = &labels[(*n)++];
		memset(l, 0, sizeof(*l));
		snprintf(l->name, sizeof(l->name), "%s", field[0]);
		if (parse_time(field[1], &l->start) || parse_time(field[2], &l->end)) {
			fprintf(stderr, "pw-scenario-score: %s:%d: bad window\n", path, lineno);
			goto cleanup;
		}
		snprintf(l->user, sizeof(l->user), "%s", field[3]);
		if (strcmp(field[4], "-") != 0)
			for (tok = strtok_r(field[4], ",", &save); tok && l->n_sessions < 16;
			     tok = strtok_r(NULL, ",", &save)) {
				uint64_t v;

				if (pw_parse_u64(tok, UINT32_MAX - 1, &v)) {
					fprintf(stderr, "pw-scenario-score: %s:%d: bad session '%s'\n",
						path, lineno, tok);
					goto cleanup;
				}
				l->sessions[l->n_sessions++] = (uint32_t)v;
			}
		snprintf(l->rules, sizeof(l->rules), "%s", field[5]);
	}
	if (*days <= 0) {
		fprintf(stderr, "pw-scenario-score: %s: no 'days=' in the header\n", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(line);
	fclose(f);
	return rc;
}

/* Every alert record of a replay's output. */
static int load_alerts(const char *dir, const char *name, struct alerts *out)
{
	char path[4096], *line = NULL, err[256];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = -1;
	FILE *f;

	out->v = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "%s/%s.alerts", dir, name);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "pw-scenario-score: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		struct pw_ecs_record rec;
		struct pw_alert *v;

		lineno++;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (pw_ecs_parse_line(line, (size_t)len, &rec, err, sizeof(err))) {
			fprintf(stderr, "pw-scenario-score: %s:%d: not a piiwatch record: %s\n", path,
				lineno, err);
			goto cleanup;
		}
		if (rec.kind != PW_ECS_ALERT) {
			pw_ecs_record_free(&rec);
			continue;
		}
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			fprintf(stderr, "pw-scenario-score: out of memory\n");
			goto cleanup;
		}
		out->v = v;
		out->v[out->n++] = rec.alert;
	}
	rc = 0;
cleanup:
	free(line);
	fclose(f);
	return rc;
}

static bool rule_listed(const char *list, const char *rule)
{
	size_t n = strlen(rule);
	const char *p = list;

	while ((p = strstr(p, rule)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static bool about_attacker(const struct label *l, const struct pw_alert *a)
{
	int i;

	if (strcmp(a->user, l->user) == 0)
		return true;
	for (i = 0; i < l->n_sessions; i++)
		if (a->audit_session == l->sessions[i])
			return true;
	return false;
}

static bool also_benign(const struct alerts *benign, const struct pw_alert *a)
{
	size_t i;

	for (i = 0; i < benign->n; i++)
		if (benign->v[i].time_ns == a->time_ns && strcmp(benign->v[i].rule_id, a->rule_id) == 0 &&
		    strcmp(benign->v[i].user, a->user) == 0)
			return true;
	return false;
}

static void count_rule(struct rule_count *rc, size_t *n, const struct pw_alert *a)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(rc[i].rule, a->rule_id) == 0)
			break;
	if (i == *n) {
		if (*n == MAX_RULES)
			return;
		memset(&rc[i], 0, sizeof(rc[i]));
		snprintf(rc[i].rule, sizeof(rc[i].rule), "%s", a->rule_id);
		(*n)++;
	}
	if (a->severity >= PW_SEV_LOW && a->severity <= PW_SEV_CRITICAL)
		rc[i].by_sev[a->severity]++;
}

/* Append to a string that may fill up: what does not fit is cut. */
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

static void format_delay(double s, char *out, size_t n)
{
	snprintf(out, n, "%s%02d:%02d:%02d", s < 0 ? "-" : "+", (int)(s < 0 ? -s : s) / 3600,
		 (int)(s < 0 ? -s : s) / 60 % 60, (int)(s < 0 ? -s : s) % 60);
}

/* One seed.  Returns -1 on bad input. */
static int score_dir(const char *dir, struct tally *tally, int *n_tally, unsigned *false_alerts,
		     unsigned *host_days)
{
	struct label labels[MAX_ATTACKS];
	struct rule_count rules[MAX_RULES];
	struct alerts benign = { 0 };
	size_t i, n_rules = 0;
	unsigned fa = 0;
	int n, days, k, rc = -1;

	if (load_labels(dir, labels, &n, &days) || load_alerts(dir, "benign", &benign))
		goto cleanup;
	for (i = 0; i < benign.n; i++) {
		count_rule(rules, &n_rules, &benign.v[i]);
		fa += benign.v[i].severity >= PW_SEV_MEDIUM;
	}
	printf("%s\n  benign month: %d host-days, %zu alerts, %u of medium severity or higher: "
	       "%.2f per host-day\n",
	       dir, days, benign.n, fa, (double)fa / days);
	if (n_rules)
		printf("    %-28s %6s %6s %6s %8s\n", "rule", "low", "medium", "high", "critical");
	for (i = 0; i < n_rules; i++)
		printf("    %-28s %6u %6u %6u %8u\n", rules[i].rule, rules[i].by_sev[PW_SEV_LOW],
		       rules[i].by_sev[PW_SEV_MEDIUM], rules[i].by_sev[PW_SEV_HIGH],
		       rules[i].by_sev[PW_SEV_CRITICAL]);
	*false_alerts += fa;
	*host_days += (unsigned)days;

	printf("  %-22s %-8s %-38s %s\n", "attack", "detected", "first detection (after start)",
	       "alerts about the attacker in the window");
	for (k = 0; k < n; k++) {
		const struct label *l = &labels[k];
		const struct pw_alert *first = NULL;
		struct rule_count seen[MAX_RULES];
		size_t n_seen = 0, j;
		struct alerts run;
		char firstbuf[160] = "-", delay[32], seenbuf[512] = "";
		struct tally *t;
		int m;

		if (load_alerts(dir, l->name, &run))
			goto cleanup;
		for (i = 0; i < run.n; i++) {
			const struct pw_alert *a = &run.v[i];

			if (a->time_ns < l->start || a->time_ns > l->end || !about_attacker(l, a) ||
			    also_benign(&benign, a))
				continue;
			count_rule(seen, &n_seen, a);
			if (rule_listed(l->rules, a->rule_id) && (!first || a->time_ns < first->time_ns))
				first = a;
		}
		for (j = 0; j < n_seen; j++) {
			unsigned c = 0;

			for (m = PW_SEV_LOW; m <= PW_SEV_CRITICAL; m++)
				c += seen[j].by_sev[m];
			append(seenbuf, sizeof(seenbuf), "%s%s x%u", j ? ", " : "", seen[j].rule, c);
		}
		if (first) {
			format_delay((double)((int64_t)(first->time_ns - l->start)) / NS, delay,
				     sizeof(delay));
			snprintf(firstbuf, sizeof(firstbuf), "%s (%s) %s", first->rule_id,
				 pw_severity_name(first->severity), delay);
		}
		printf("  %-22s %-8s %-38s %s\n", l->name, first ? "yes" : "NO", firstbuf,
		       n_seen ? seenbuf : "none");
		for (m = 0; m < *n_tally; m++)
			if (strcmp(tally[m].name, l->name) == 0)
				break;
		if (m == *n_tally && *n_tally < MAX_ATTACKS) {
			memset(&tally[m], 0, sizeof(tally[m]));
			snprintf(tally[m].name, sizeof(tally[m].name), "%s", l->name);
			(*n_tally)++;
		}
		if (m < MAX_ATTACKS) {
			t = &tally[m];
			t->runs++;
			if (first) {
				t->detected++;
				t->delay_sum += (double)(first->time_ns - l->start) / NS;
			}
		}
		free(run.v);
	}
	rc = 0;
cleanup:
	free(benign.v);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-false-per-day", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct tally tally[MAX_ATTACKS];
	unsigned false_alerts = 0, host_days = 0, missed = 0;
	double max_false = 1.0, rate;
	int c, i, n_tally = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'm')
			goto usage;
		errno = 0;
		max_false = strtod(optarg, &end);
		if (errno || *end || end == optarg || max_false < 0)
			goto usage;
	}
	if (optind >= argc)
		goto usage;
	for (i = optind; i < argc; i++)
		if (score_dir(argv[i], tally, &n_tally, &false_alerts, &host_days))
			return 2;
	printf("\nsummary over %d seed%s\n", argc - optind, argc - optind > 1 ? "s" : "");
	printf("  %-22s %-10s %s\n", "attack", "detected", "mean time to detection");
	for (i = 0; i < n_tally; i++) {
		char delay[32] = "-";

		if (tally[i].detected)
			format_delay(tally[i].delay_sum / tally[i].detected, delay, sizeof(delay));
		printf("  %-22s %u/%-8u %s\n", tally[i].name, tally[i].detected, tally[i].runs, delay);
		missed += tally[i].runs - tally[i].detected;
	}
	rate = host_days ? (double)false_alerts / host_days : 0;
	printf("  false alerts (medium or higher) on the benign months: %u in %u host-days = %.2f "
	       "per host-day\n",
	       false_alerts, host_days, rate);
	printf("target: every injected attack detected: %s\n", missed ? "NOT met" : "met");
	printf("target: at most %.2f false alerts of medium or higher per host-day: %s\n", max_false,
	       rate <= max_false ? "met" : "NOT met");
	return missed || rate > max_false ? 1 : 0;
usage:
	fprintf(stderr, "usage: pw-scenario-score [--max-false-per-day X] DIR...\n");
	return 2;
}
