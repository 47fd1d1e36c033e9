// SPDX-License-Identifier: GPL-2.0
#include "replay.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "ecs.h"
#include "policy.h"

enum {
	EXIT_POLICY = 1,             /* the policy has errors */
	EXIT_USAGE = 2,              /* bad usage, or lines that are not records */
	EXIT_INPUT = 3,              /* a file cannot be read */
};

struct replay {
	bool json;
	uint64_t alerts;
	uint64_t quarantines;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: piiwatch replay [OPTION]... FILE...\n"
		"Run the detector over piiwatchd's JSON Lines ([output jsonl]) and print the\n"
		"alerts it raises, with time taken from the records.  FILEs are read in order\n"
		"(a rotated set oldest first: FILE.2 FILE.1 FILE); - is standard input.\n"
		"\n"
		"  -c, --policy FILE   the policy the daemon ran with (default %s)\n"
		"      --json          alerts as ECS JSON Lines (piiwatch.alert) instead of text\n"
		"  -h, --help          show this help and exit\n"
		"\n"
		"Working hours and hours of the week are local time: set TZ to the time zone of\n"
		"the host that wrote the records.  Alert records in the input are skipped: they\n"
		"are what the daemon concluded, not what it saw.  A line that is not a valid\n"
		"record is reported as FILE:LINE on standard error and skipped.\n"
		"Exit status: 0 replayed, 1 the policy has errors, 2 bad usage or invalid lines,\n"
		"3 a file cannot be read.\n",
		PW_DEFAULT_CONFIG);
}

static void on_alert(void *ctx, const struct pw_alert *al, bool quarantine)
{
	struct replay *r = ctx;
	char line[PW_ALERT_REASON_MAX + 256], *text;
	json_object *o;

	r->alerts++;
	r->quarantines += quarantine;
	if (!r->json) {
		pw_alert_format_line(al, line, sizeof(line));
		printf("%s%s\n", line, quarantine ? " [quarantine]" : "");
		return;
	}
	o = pw_ecs_from_alert(al, NULL);
	text = o ? pw_ecs_to_line(o) : NULL;
	if (text)
		printf("%s\n", text);
	else
		fprintf(stderr, "piiwatch: replay: out of memory writing an alert\n");
	free(text);
	json_object_put(o);
}

struct counts {
	uint64_t lines, accesses, sessions, events, alerts, invalid;
};

static int replay_file(struct pw_detector *d, const char *name, FILE *in, struct counts *n)
{
	struct pw_ecs_record rec;
	char *buf = NULL, err[512];
	size_t cap = 0;
	ssize_t len;
	uint64_t lineno = 0;

	while ((len = getline(&buf, &cap, in)) >= 0) {
		lineno++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len == 0)
			continue;
		n->lines++;
		if (pw_ecs_parse_line(buf, (size_t)len, &rec, err, sizeof(err))) {
			fprintf(stderr, "%s:%llu: skipped: %s\n", name, (unsigned long long)lineno, err);
			n->invalid++;
			continue;
		}
		switch (rec.kind) {
		case PW_ECS_ACCESS:
			pw_detector_access(d, &rec.access);
			n->accesses++;
			break;
		case PW_ECS_SESSION:
			pw_detector_session(d, &rec.session, rec.session_id);
			n->sessions++;
			break;
		case PW_ECS_EVENT:
			pw_detector_event(d, rec.boot_id, &rec.event);
			n->events++;
			break;
		case PW_ECS_ALERT:
			n->alerts++;
			break;
		}
		pw_ecs_record_free(&rec);
	}
	free(buf);
	if (ferror(in)) {
		fprintf(stderr, "piiwatch: replay: reading %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

int pw_cli_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *policy_path = PW_DEFAULT_CONFIG;
	struct replay r = { 0 };
	struct counts n = { 0 };
	struct pw_detector *d = NULL;
	struct pw_policy *pol;
	struct pw_diags diags;
	int opt, i, rc = 0;

	/* The caller's getopt state is not ours. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			policy_path = optarg;
			break;
		case 'j':
			r.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "piiwatch: replay: expected a FILE\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	pol = pw_policy_load(policy_path, &diags);
	if (!pol || diags.errors) {
		pw_diags_print(&diags, stderr);
		pw_diags_free(&diags);
		pw_policy_free(pol);
		return EXIT_POLICY;
	}
	pw_diags_free(&diags);
	d = pw_detector_new(pol, on_alert, &r);
	if (!d) {
		fprintf(stderr, "piiwatch: replay: out of memory\n");
		rc = EXIT_INPUT;
		goto cleanup;
	}
	for (i = optind; i < argc && !rc; i++) {
		bool is_stdin = strcmp(argv[i], "-") == 0;
		FILE *in = is_stdin ? stdin : fopen(argv[i], "re");

		if (!in) {
			fprintf(stderr, "piiwatch: replay: cannot open %s: %s\n", argv[i],
				strerror(errno));
			rc = EXIT_INPUT;
			break;
		}
		if (replay_file(d, is_stdin ? "<stdin>" : argv[i], in, &n))
			rc = EXIT_INPUT;
		if (!is_stdin)
			fclose(in);
	}
	fflush(stdout);
	fprintf(stderr,
		"piiwatch: replayed %llu records (%llu accesses, %llu sessions, %llu events; "
		"%llu alert records skipped, %llu invalid lines): %llu alerts\n",
		(unsigned long long)(n.accesses + n.sessions + n.events),
		(unsigned long long)n.accesses, (unsigned long long)n.sessions,
		(unsigned long long)n.events, (unsigned long long)n.alerts,
		(unsigned long long)n.invalid, (unsigned long long)r.alerts);
	if (!rc && n.invalid)
		rc = EXIT_USAGE;
cleanup:
	pw_detector_free(d);
	pw_policy_free(pol);
	return rc;
}
