// SPDX-License-Identifier: GPL-2.0
/*
 * piiwatchd: loads the kernel probes, takes session records from
 * pam_piiwatch, joins the two and keeps the result in the store.
 */
#include <errno.h>
#include <json.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "collector.h"
#include "log.h"
#include "outputs.h"
#include "pam_listener.h"
#include "policy.h"
#include "probes.h"
#include "ringbuf.h"
#include "session_record.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#define PW_VERSION "0.1.0"
#define TICK_NS 100000000ULL
/* A drain reads at most this many kernel events per commit. */
#define DRAIN_CHUNK 4096
/* After a drain the ring woke that found less than a chunk, the ring is
 * not watched for this long: see pace_ring(). */
#define RING_PAUSE_NS 10000000ULL

enum tag { TAG_RINGBUF = 1, TAG_SIGNAL, TAG_TIMER, TAG_OUTPUT };
#define TAG_PAM_BASE 0x1000u
#define TAG_CONTROL_BASE 0x2000u
#define RATE_WINDOW 10

struct daemon {
	const char *config_path;
	const char *store_override;
	const char *socket_override;
	const char *spool_override;
	const char *control_override;
	const char *pin_override;
	int keep_override;           /* -1: as the policy says */
	bool detach_only;
	bool print;
	struct pw_policy *policy;
	struct pw_store *store;
	struct pw_probes *probes;
	struct pw_collector *collector;
	struct pw_listener *listener;
	struct pw_listener *control;
	struct pw_outputs *outputs;
	int output_fd;               /* registered with epoll, -1: none */
	uint32_t output_events;
	char boot_id[PW_BOOT_ID_LEN];
	uint64_t started_ns;
	uint64_t event_counts[RATE_WINDOW];
	int epfd;
	int sigfd;
	int timerfd;
	uint64_t ticks;
	uint64_t lost_reported;
	uint64_t checkpoint_failures;  /* reported so far */
	uint64_t unfollowed_reported;
	uint64_t pins_restored;      /* pinned objects found removed and pinned again */
	bool pins_failed;
	bool ring_unwatched;         /* it could not be put back: drained on the timer only */
	uint64_t ring_resume_ns;     /* CLOCK_MONOTONIC; 0: the ring's fd is watched */
	bool last_reload_ok;
	char reload_error[512];      /* why the last reload was refused */
	bool spool_refused;          /* the spool directory is not safe to read */
	uint64_t map_full_reported;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: piiwatchd [OPTION]...\n"
		"Record who reads and changes protected customer-data files.\n"
		"\n"
		"  -c, --config FILE      policy file (default %s)\n"
		"      --store PATH       SQLite store, overriding [store] path\n"
		"      --pam-socket PATH  socket for pam_piiwatch, overriding [daemon] pam_socket\n"
		"      --spool DIR        spool of undelivered session records, overriding [daemon] spool\n"
		"      --control-socket PATH  socket of `piiwatch status` and `piiwatch reload`,\n"
		"                         overriding [daemon] control_socket\n"
		"      --pin-dir DIR      bpffs directory of the pinned probes, overriding [daemon] pin_dir\n"
		"      --keep-attached    leave the probes attached and counting when stopping, for the\n"
		"                         next piiwatchd to take over (overrides [daemon] keep_attached)\n"
		"      --no-keep-attached detach everything when stopping\n"
		"      --detach           detach and unpin the probes a stopped piiwatchd left attached,\n"
		"                         and exit (refused while a piiwatchd runs; nothing pinned is\n"
		"                         no error)\n"
		"  -p, --print            print one line per access on standard output\n"
		"  -v, --verbose          log debugging detail\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Runs in the foreground until SIGTERM or SIGINT; SIGHUP reloads the policy.\n"
		"Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage or policy.\n",
		PW_DEFAULT_CONFIG);
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "pam-socket", required_argument, NULL, 'S' },
		{ "spool", required_argument, NULL, 'P' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "pin-dir", required_argument, NULL, 'B' },
		{ "keep-attached", no_argument, NULL, 'K' },
		{ "no-keep-attached", no_argument, NULL, 'N' },
		{ "detach", no_argument, NULL, 'D' },
		{ "print", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	d->config_path = PW_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:pvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 's':
			d->store_override = optarg;
			break;
		case 'S':
			d->socket_override = optarg;
			break;
		case 'P':
			d->spool_override = optarg;
			break;
		case 'C':
			d->control_override = optarg;
			break;
		case 'B':
			d->pin_override = optarg;
			break;
		case 'K':
			d->keep_override = 1;
			break;
		case 'N':
			d->keep_override = 0;
			break;
		case 'D':
			d->detach_only = true;
			break;
		case 'p':
			d->print = true;
			break;
		case 'v':
			pw_log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("piiwatchd %s\n", PW_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "piiwatchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	pw_log(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, "%s", buf);
	return 0;
}

/* Read the policy, logging every diagnostic; on errors NULL, and the
 * first error in why. */
static struct pw_policy *load_policy(const char *path, char *why, size_t why_size)
{
	struct pw_diags diags;
	struct pw_policy *p = pw_policy_load(path, &diags);
	bool first = true;
	size_t i;

	snprintf(why, why_size, "%s has errors", path);
	for (i = 0; i < diags.n; i++) {
		const struct pw_diag *g = &diags.items[i];
		char where[32] = "";

		if (g->line)
			snprintf(where, sizeof(where), ":%d", g->line);
		pw_log(g->level == PW_DIAG_ERROR ? LOG_ERR : LOG_WARNING, "%s%s: %s", diags.file,
		       where, g->msg);
		if (g->level == PW_DIAG_ERROR && first) {
			first = false;
			snprintf(why, why_size, "%s%s: %s%s", diags.file, where, g->msg,
				 diags.errors > 1 ? " (and more errors: see the daemon log)" : "");
		}
	}
	pw_diags_free(&diags);
	return p;
}

static void apply_overrides(struct daemon *d, struct pw_policy *p)
{
	if (d->store_override) {
		free(p->store_path);
		p->store_path = strdup(d->store_override);
	}
	if (d->socket_override) {
		free(p->pam_socket);
		p->pam_socket = strdup(d->socket_override);
	}
	if (d->spool_override) {
		free(p->spool_dir);
		p->spool_dir = strdup(d->spool_override);
	}
	if (d->control_override) {
		free(p->control_socket);
		p->control_socket = strdup(d->control_override);
	}
	if (d->pin_override) {
		free(p->pin_dir);
		p->pin_dir = strdup(d->pin_override);
	}
	if (d->keep_override >= 0)
		p->keep_attached = d->keep_override;
}

static void warn_path(const char *path, const char *why)
{
	pw_log(LOG_WARNING, "policy path %s: %s (not protected until it exists)", path, why);
}

static char *on_request(void *ctx, const struct ucred *peer, const char *msg, size_t len)
{
	struct daemon *d = ctx;
	struct pw_session_record *r = malloc(sizeof(*r));
	char err[256];
	char *reply;
	int q;

	if (!r)
		return pw_reply_to_json(false, "out of memory", -1);
	if (pw_record_from_json(msg, len, r, err, sizeof(err))) {
		pw_log(LOG_WARNING, "malformed request from pid %d: %s", peer->pid, err);
		reply = pw_reply_to_json(false, err, -1);
	} else if (r->type == PW_REC_QUARANTINE_QUERY) {
		q = pw_store_is_quarantined(d->store, r->user);
		reply = pw_reply_to_json(q >= 0, q < 0 ? "store error" : NULL, q > 0);
	} else if (pw_collector_session_record(d->collector, r)) {
		pw_log(LOG_ERR, "cannot store %s record %s", pw_record_type_name(r->type), r->id);
		reply = pw_reply_to_json(false, "store error", -1);
	} else {
		pw_log(LOG_DEBUG, "%s of %s (%s, audit session %u) stored",
		       pw_record_type_name(r->type), r->user, r->service, r->sessionid);
		reply = pw_reply_to_json(true, NULL, -1);
	}
	free(r);
	return reply;
}

static char *status_json(struct daemon *d)
{
	uint64_t s[PW_STAT_MAX] = { 0 };
	uint64_t now = pw_now_monotonic_ns();
	uint64_t oldest = d->event_counts[d->ticks / 10 % RATE_WINDOW];
	uint64_t seen = pw_collector_events_seen(d->collector);
	uint64_t span = d->ticks / 10 < RATE_WINDOW ? d->ticks / 10 : RATE_WINDOW;
	json_object *o = json_object_new_object();
	char *out = NULL;

	pw_probes_stats(d->probes, s);
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "version", json_object_new_string(PW_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "hook_mode", json_object_new_string(pw_probes_mode(d->probes)));
	json_object_object_add(o, "compat_syscalls",
			       json_object_new_string(pw_probes_compat(d->probes) ? "watched" : "none"));
	json_object_object_add(o, "uptime_s",
			       json_object_new_uint64((now - d->started_ns) / 1000000000ULL));
	json_object_object_add(o, "events", json_object_new_uint64(seen));
	json_object_object_add(o, "events_per_s",
			       json_object_new_double(span ? (double)(seen - oldest) / (double)span : 0));
	json_object_object_add(o, "lost_events", json_object_new_uint64(s[PW_STAT_RB_FULL]));
	json_object_object_add(o, "untracked_opens", json_object_new_uint64(s[PW_STAT_MAP_FULL]));
	json_object_object_add(o, "pins_restored", json_object_new_uint64(d->pins_restored));
	json_object_object_add(o, "unfollowed_changes", json_object_new_uint64(s[PW_STAT_PENDING_FULL]));
	json_object_object_add(o, "kernel_access_events", json_object_new_uint64(s[PW_STAT_SUBMITTED]));
	json_object_object_add(o, "kernel_exec_events", json_object_new_uint64(s[PW_STAT_EXECS]));
	json_object_object_add(o, "sessions", json_object_new_int64(pw_store_count(d->store, "sessions")));
	json_object_object_add(o, "accesses", json_object_new_int64(pw_store_count(d->store, "accesses")));
	json_object_object_add(o, "alerts", json_object_new_int64(pw_store_count(d->store, "alerts")));
	json_object_object_add(o, "store_path", json_object_new_string(d->policy->store_path));
	json_object_object_add(o, "store_bytes", json_object_new_uint64(pw_store_disk_bytes(d->store)));
	json_object_object_add(o, "spooled_records",
			       json_object_new_int64(pw_spool_count(d->policy->spool_dir)));
	json_object_object_add(o, "refused_pam_requests",
			       json_object_new_uint64(pw_listener_refused(d->listener)));
	json_object_object_add(o, "datasets", json_object_new_uint64(d->policy->n_datasets));
	json_object_object_add(o, "outputs", pw_outputs_health(d->outputs));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

static void reload(struct daemon *d);

/* {"cmd":"quarantine-release","user":"..."} from root: pam_piiwatch lets
 * the user log in again. */
static char *quarantine_release(struct daemon *d, const struct ucred *peer, json_object *o)
{
	json_object *u;
	const char *user;
	int rc;

	if (peer->uid != 0)
		return pw_reply_to_json(false, "quarantine release needs root", -1);
	if (!json_object_object_get_ex(o, "user", &u) || !json_object_is_type(u, json_type_string) ||
	    !*(user = json_object_get_string(u)) || !pw_is_clean_utf8(user) ||
	    strlen(user) >= PW_ITEM_MAX)
		return pw_reply_to_json(false, "expected a user name", -1);
	rc = pw_store_quarantine_release(d->store, user);
	if (rc >= 0 && pw_store_flush(d->store))
		rc = -1;
	if (rc < 0)
		return pw_reply_to_json(false, "store error", -1);
	if (rc == 0)
		return pw_reply_to_json(false, "the user is not quarantined", -1);
	pw_log(LOG_NOTICE, "quarantine of %s released by pid %d", user, peer->pid);
	return pw_reply_to_json(true, NULL, -1);
}

/* Control requests: {"cmd":"status"} from root or group piiwatch;
 * {"cmd":"reload"} and {"cmd":"quarantine-release"} from root only. */
static char *on_control(void *ctx, const struct ucred *peer, const char *msg, size_t len)
{
	struct daemon *d = ctx;
	json_tokener *tok = json_tokener_new_ex(4);
	json_object *o = NULL, *cmd;
	char *reply;

	if (tok)
		o = json_tokener_parse_ex(tok, msg, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		json_object_put(o);
		return pw_reply_to_json(false, "expected {\"cmd\": \"status\" or \"reload\"}", -1);
	}
	if (strcmp(json_object_get_string(cmd), "status") == 0) {
		reply = status_json(d);
	} else if (strcmp(json_object_get_string(cmd), "reload") == 0) {
		if (peer->uid != 0) {
			reply = pw_reply_to_json(false, "reload needs root", -1);
		} else {
			pw_log(LOG_INFO, "reload requested by pid %d", peer->pid);
			reload(d);
			reply = pw_reply_to_json(d->last_reload_ok,
						 d->last_reload_ok ? NULL : d->reload_error, -1);
		}
	} else if (strcmp(json_object_get_string(cmd), "quarantine-release") == 0) {
		reply = quarantine_release(d, peer, o);
	} else {
		reply = pw_reply_to_json(false, "unknown command", -1);
	}
	json_object_put(o);
	return reply;
}

static int on_spooled(const char *name, const char *data, size_t len, void *ctx)
{
	struct daemon *d = ctx;
	struct pw_session_record *r = malloc(sizeof(*r));
	char err[256];
	int rc = 0;

	if (!r)
		return -1;
	if (pw_record_from_json(data, len, r, err, sizeof(err)) ||
	    r->type == PW_REC_QUARANTINE_QUERY) {
		pw_log(LOG_WARNING, "spooled record %s is invalid (%s): kept as bad-%s", name,
		       r->type == PW_REC_QUARANTINE_QUERY ? "not a session record" : err, name);
		rc = 1;
	} else if (pw_collector_session_record(d->collector, r)) {
		pw_log(LOG_ERR, "cannot store spooled record %s: left in the spool", name);
		rc = -1;
	} else {
		pw_log(LOG_INFO, "ingested spooled %s of %s", pw_record_type_name(r->type), r->user);
	}
	free(r);
	return rc;
}

static void ingest_spool(struct daemon *d)
{
	char err[512];

	/* Records in a directory others can write to may be forged: such a
	 * spool is not read until it is root's alone again. */
	if (pw_spool_prepare(d->policy->spool_dir, err, sizeof(err)) != 0) {
		if (!d->spool_refused)
			pw_log(LOG_ERR, "%s: not reading it", err);
		d->spool_refused = true;
		return;
	}
	d->spool_refused = false;
	if (pw_spool_count(d->policy->spool_dir) > 0)
		pw_spool_drain(d->policy->spool_dir, on_spooled, d);
}

static void check_checkpoints(struct daemon *d)
{
	char why[256];
	uint64_t n = pw_store_checkpoint_failures(d->store, why, sizeof(why));

	if (n <= d->checkpoint_failures)
		return;
	pw_log(LOG_ERR, "store %s: %llu checkpoints failed, the last with: %s; the WAL beside "
	       "it grows until one succeeds", d->policy->store_path, (unsigned long long)n, why);
	d->checkpoint_failures = n;
}

static void check_loss(struct daemon *d)
{
	uint64_t s[PW_STAT_MAX];

	if (pw_probes_stats(d->probes, s))
		return;
	/* Each is also an event, which the detector turns into a
	 * blind-spot alert. */
	if (s[PW_STAT_RB_FULL] > d->lost_reported) {
		pw_log(LOG_CRIT, "BLIND SPOT: %llu kernel events lost (ring buffer full)",
		       (unsigned long long)(s[PW_STAT_RB_FULL] - d->lost_reported));
		pw_collector_loss(d->collector, "ring-full", s[PW_STAT_RB_FULL] - d->lost_reported);
		d->lost_reported = s[PW_STAT_RB_FULL];
	}
	if (s[PW_STAT_MAP_FULL] > d->map_full_reported) {
		pw_log(LOG_CRIT, "BLIND SPOT: %llu protected opens not tracked (open-file map full)",
		       (unsigned long long)(s[PW_STAT_MAP_FULL] - d->map_full_reported));
		pw_collector_loss(d->collector, "untracked-opens",
				  s[PW_STAT_MAP_FULL] - d->map_full_reported);
		d->map_full_reported = s[PW_STAT_MAP_FULL];
	}
	if (s[PW_STAT_PENDING_FULL] > d->unfollowed_reported) {
		pw_log(LOG_CRIT, "BLIND SPOT: %llu changes not followed (scratch map full)",
		       (unsigned long long)(s[PW_STAT_PENDING_FULL] - d->unfollowed_reported));
		pw_collector_loss(d->collector, "unfollowed-changes",
				  s[PW_STAT_PENDING_FULL] - d->unfollowed_reported);
		d->unfollowed_reported = s[PW_STAT_PENDING_FULL];
	}
	if (pw_store_flush(d->store))
		pw_log(LOG_ERR, "store: commit failed");
}

/*
 * Only root can remove the pinned probes, and removing them is how it
 * would make them detach unseen: at this daemon's next stop, or at once
 * for a taken-over daemon that did not hold its links.  Checked every
 * second; what is missing is pinned again, and said loudly.
 */
static void check_pins(struct daemon *d)
{
	int n = pw_probes_check_pins(d->probes);

	if (n < 0) {
		if (!d->pins_failed)
			pw_log(LOG_CRIT, "BLIND SPOT: cannot check or restore the probes pinned in %s: %s",
			       d->policy->pin_dir, strerror(errno));
		d->pins_failed = true;
		return;
	}
	d->pins_failed = false;
	if (n == 0)
		return;
	pw_log(LOG_CRIT, "BLIND SPOT: %d pinned probe objects were removed from %s (by root): "
	       "pinned again; a stop would have detached the probes", n, d->policy->pin_dir);
	d->pins_restored += (uint64_t)n;
	pw_collector_loss(d->collector, "unpinned", (uint64_t)n);
	if (pw_store_flush(d->store))
		pw_log(LOG_ERR, "store: commit failed");
}

static void sync_output_fd(struct daemon *d);

/* Settings a running daemon cannot change under its clients. */
static void warn_restart_only(const struct pw_policy *old, const struct pw_policy *np)
{
	const struct {
		const char *name, *a, *b;
	} k[] = {
		{ "[store] path", old->store_path, np->store_path },
		{ "[daemon] pam_socket", old->pam_socket, np->pam_socket },
		{ "[daemon] control_socket", old->control_socket, np->control_socket },
		{ "[daemon] spool", old->spool_dir, np->spool_dir },
		{ "[daemon] pin_dir", old->pin_dir, np->pin_dir },
	};
	size_t i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcmp(k[i].a, k[i].b) != 0)
			pw_log(LOG_WARNING, "reload: %s changed: takes effect when piiwatchd restarts",
			       k[i].name);
	if (old->delta_interval_ns != np->delta_interval_ns)
		pw_log(LOG_WARNING,
		       "reload: [daemon] delta_interval changed: takes effect when the probes are reloaded");
	if (old->max_open_files != np->max_open_files)
		pw_log(LOG_WARNING,
		       "reload: [daemon] max_open_files changed: takes effect when the probes are reloaded");
	if (old->max_protected != np->max_protected)
		pw_log(LOG_WARNING, "reload: [daemon] max_protected_inodes changed: takes effect when "
		       "the probes are reloaded");
	if (old->ring_bytes != np->ring_bytes)
		pw_log(LOG_WARNING, "reload: [daemon] ring_size changed: takes effect when the "
		       "probes are reloaded");
}

static int drain(struct daemon *d);

/* Read the policy again and put it in force, or keep the running one,
 * all of it, and say why in the log and in d->reload_error. */
static void reload(struct daemon *d)
{
	struct pw_outputs *nout = NULL;
	struct pw_policy *np;
	char why[512], err[400];

	sd_notify(0, "RELOADING=1");
	d->last_reload_ok = false;
	np = load_policy(d->config_path, why, sizeof(why));
	if (!np)
		goto refused;
	apply_overrides(d, np);
	nout = pw_outputs_open(&np->out, d->boot_id, err, sizeof(err));
	if (!nout) {
		snprintf(why, sizeof(why), "outputs: %s", err);
		goto refused;
	}
	/* What the kernel queued so far carries the old policy's dataset ids
	 * and protected roots: it is read under the old policy. */
	drain(d);
	if (pw_probes_apply_policy(d->probes, np, warn_path, why, sizeof(why)))
		goto refused;
	pw_collector_set_sources(d->collector, np, d->probes);
	pw_collector_set_outputs(d->collector, nout);
	pw_outputs_drain(d->outputs, 1000);
	pw_outputs_close(d->outputs);
	d->outputs = nout;
	/* Closing removed the old descriptor from epoll. */
	d->output_fd = -1;
	sync_output_fd(d);
	warn_restart_only(d->policy, np);
	pw_policy_free(d->policy);
	d->policy = np;
	d->last_reload_ok = true;
	d->reload_error[0] = '\0';
	pw_log(LOG_INFO, "reloaded %s: %zu datasets", d->config_path, np->n_datasets);
	sd_notify(0, "READY=1");
	return;
refused:
	pw_outputs_close(nout);
	pw_policy_free(np);
	/* Policy text and the names of linked files may hold any byte. */
	pw_escape_untrusted(why, strlen(why), d->reload_error, sizeof(d->reload_error));
	pw_log(LOG_ERR, "reload refused: %s; the running policy stays in force", d->reload_error);
	sd_notify(0, "READY=1");
}

/*
 * Read what the kernel queued into the store, commit, and only then give
 * the ring's space back: a crash at any point loses nothing, and the ring
 * position committed with the records tells the next daemon where the
 * store ends, so nothing is stored twice either.
 */
static int drain(struct daemon *d)
{
	struct pw_ring *r = pw_probes_ring(d->probes);
	int n, total = 0;

	do {
		n = pw_ring_read(r, pw_collector_event, d->collector, DRAIN_CHUNK);
		total += n;
		if (pw_ring_read_pos(r) == pw_ring_released(r)) {
			if (pw_store_flush(d->store))
				pw_log(LOG_ERR, "store: commit failed");
			return total;
		}
		if (pw_store_set_ring_pos(d->store, d->boot_id, pw_probes_ring_id(d->probes),
					  pw_ring_read_pos(r)) ||
		    pw_store_flush(d->store)) {
			pw_store_rollback(d->store);
			pw_ring_rewind(r);
			pw_log(LOG_ERR, "store: commit failed; kernel events stay queued");
			return total;
		}
		pw_ring_release(r);
	} while (n == DRAIN_CHUNK);
	return total;
}

/*
 * The ring's fd is level-triggered: a daemon that keeps up finds, each
 * time it finishes a commit, the few events queued meanwhile, and would
 * commit again at once.  At full speed that was 1 800 commits a second of
 * about 90 events each, every one rewriting the last pages of each table
 * and index in the WAL (bench/RESULTS.md).  So after a drain the ring
 * woke that read less than a chunk, the ring is left alone for
 * RING_PAUSE_NS: the next batch is bigger, and a daemon that falls behind
 * still drains chunk after chunk without pausing.  The kernel side goes
 * on queueing meanwhile; 10 ms at full speed is far less than the ring
 * holds, and nothing waits on these commits but the ring's own space.
 */
/* The events epoll watches the ring's fd for: EPOLLIN, or 0 (paused). */
static int watch_ring(struct daemon *d, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = TAG_RINGBUF };

	return epoll_ctl(d->epfd, EPOLL_CTL_MOD, pw_probes_fd(d->probes), &ev);
}

static void pace_ring(struct daemon *d, int events)
{
	if (events <= 0 || events >= DRAIN_CHUNK || d->ring_resume_ns || d->ring_unwatched)
		return;
	if (watch_ring(d, 0) != 0) {
		pw_log(LOG_ERR, "epoll: cannot pause the ring: %s", strerror(errno));
		return;
	}
	d->ring_resume_ns = pw_now_monotonic_ns() + RING_PAUSE_NS;
}

/* Watch the ring again once its pause is over, and drain what came. */
static void resume_ring_watch(struct daemon *d)
{
	if (!d->ring_resume_ns || pw_now_monotonic_ns() < d->ring_resume_ns)
		return;
	d->ring_resume_ns = 0;
	if (watch_ring(d, EPOLLIN) != 0) {
		/* Not paused again: drained on every tick from now on. */
		pw_log(LOG_ERR, "epoll: cannot watch the ring again: %s; it is drained every %llu ms",
		       strerror(errno), (unsigned long long)(TICK_NS / 1000000));
		d->ring_unwatched = true;
		return;
	}
	pace_ring(d, drain(d));
}

/* epoll_wait()'s timeout: until the ring's pause ends, else none. */
static int wait_timeout_ms(const struct daemon *d)
{
	uint64_t now = pw_now_monotonic_ns();

	if (!d->ring_resume_ns)
		return -1;
	if (now >= d->ring_resume_ns)
		return 0;
	return (int)((d->ring_resume_ns - now + 999999) / 1000000);
}

/* Skip what an earlier daemon committed from this ring but did not
 * release before it died. */
static void resume_ring(struct daemon *d)
{
	struct pw_ring *r = pw_probes_ring(d->probes);
	uint64_t pos;

	if (pw_store_ring_pos(d->store, d->boot_id, pw_probes_ring_id(d->probes), &pos) != 1 ||
	    pos <= pw_ring_released(r))
		return;
	if (pw_ring_skip_to(r, pos) == 0) {
		pw_ring_release(r);
		pw_log(LOG_INFO, "skipped kernel events already stored before the last stop");
	} else {
		pw_log(LOG_WARNING, "ring position %llu from the store does not fit the ring: "
		       "reading from %llu", (unsigned long long)pos,
		       (unsigned long long)pw_ring_released(r));
	}
}

/* The syslog output reconnects with a new descriptor: follow it. */
static void sync_output_fd(struct daemon *d)
{
	struct epoll_event ev = { .data.u64 = TAG_OUTPUT };
	uint32_t events = 0;
	int fd = pw_outputs_fd(d->outputs, &events);

	if (fd == d->output_fd && events == d->output_events)
		return;
	if (d->output_fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->output_fd, NULL);
	d->output_fd = -1;
	if (fd < 0 || !events)
		return;
	ev.events = events;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		d->output_fd = fd;
		d->output_events = events;
	}
}

#define PRUNE_EVERY_TICKS 6000 /* ten minutes */
#define BASELINES_EVERY_TICKS 600 /* a minute */

static void prune(struct daemon *d)
{
	int64_t n;

	if (!d->policy->retention_ns && !d->policy->store_max_bytes)
		return;
	n = pw_store_prune(d->store, pw_now_realtime_ns(), d->policy->retention_ns,
			   d->policy->store_max_bytes);
	if (n < 0)
		pw_log(LOG_ERR, "store: retention failed");
	else if (n > 0)
		pw_log(LOG_INFO, "store: retention removed %lld old rows", (long long)n);
}

static void on_tick(struct daemon *d)
{
	uint64_t expirations;

	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	d->ticks++;
	drain(d);
	pw_outputs_tick(d->outputs);
	sync_output_fd(d);
	pw_listener_expire(d->listener, pw_now_monotonic_ns());
	pw_listener_expire(d->control, pw_now_monotonic_ns());
	if (d->ticks % PRUNE_EVERY_TICKS == 0)
		prune(d);
	if (d->ticks % BASELINES_EVERY_TICKS == 0 &&
	    pw_collector_save_baselines(d->collector, false))
		pw_log(LOG_ERR, "store: cannot save the detector's baselines");
	/* Bytes read just before a file went quiet reach the detector within
	 * delta_interval and half a second. */
	if (d->ticks % 5 == 0 && pw_probes_flush_idle(d->probes))
		pw_log(LOG_WARNING, "cannot flush idle accesses: %s", strerror(errno));
	if (d->ticks % 10 == 0) {
		/* The loop is alive: tell systemd's watchdog. */
		sd_notify(0, "WATCHDOG=1");
		d->event_counts[d->ticks / 10 % RATE_WINDOW] = pw_collector_events_seen(d->collector);
		pw_collector_tick(d->collector);
		ingest_spool(d);
		check_loss(d);
		check_checkpoints(d);
		check_pins(d);
	}
}

/* Returns 1 to keep running, 0 to stop. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
		return 1;
	if (si.ssi_signo == SIGHUP) {
		reload(d);
		return 1;
	}
	pw_log(LOG_INFO, "signal %u: stopping", si.ssi_signo);
	return 0;
}

static int setup_fds(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 0, TICK_NS }, .it_value = { 0, TICK_NS } };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	/* A shell may start us with SIGINT ignored; an ignored signal never
	 * reaches the signalfd. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		return -1;
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->sigfd < 0 || d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &its, NULL) != 0)
		return -1;
	ev.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev) != 0)
		return -1;
	ev.data.u64 = TAG_TIMER;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev);
}

/* What the detector learned before, and the blind spot of a start whose
 * probes were not kept attached: from the store's latest record to now. */
static void load_baselines(struct daemon *d)
{
	int64_t n = pw_collector_load_baselines(d->collector);
	uint64_t last, now = pw_now_realtime_ns();

	if (n < 0)
		pw_log(LOG_ERR, "store: cannot read the detector's baselines; learning anew");
	else if (n > 0)
		pw_log(LOG_INFO, "detector: %lld baseline rows loaded", (long long)n);
	if (!pw_probes_reused(d->probes) && pw_store_last_activity(d->store, &last) == 1 &&
	    now > last)
		pw_collector_loss(d->collector, "unwatched", (now - last) / 1000000000ULL);
	if (pw_store_flush(d->store))
		pw_log(LOG_ERR, "store: commit failed");
}

/* A directory the daemon creates for the store is root:piiwatch 0750:
 * reviewers reach the store, other users do not even see its name. */
static int make_store_dir(const char *store_path)
{
	struct group *g;
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", store_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) != 0)
		return errno == EEXIST ? 0 : -1;
	g = getgrnam("piiwatch");
	return chown(dir, 0, g ? g->gr_gid : 0) == 0 && chmod(dir, 0750) == 0 ? 0 : -1;
}

static int run(struct daemon *d)
{
	struct epoll_event evs[32];
	int i, n;

	for (;;) {
		n = epoll_wait(d->epfd, evs, 32, wait_timeout_ms(d));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pw_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_RINGBUF) {
				pace_ring(d, drain(d));
			} else if (tag == TAG_OUTPUT) {
				pw_outputs_tick(d->outputs);
				sync_output_fd(d);
			}
			else if (tag == TAG_TIMER)
				on_tick(d);
			else if (tag == TAG_SIGNAL) {
				if (!on_signal(d))
					return 0;
			} else if (pw_listener_owns(d->listener, tag)) {
				pw_listener_on_event(d->listener, tag, evs[i].events);
			} else if (pw_listener_owns(d->control, tag)) {
				pw_listener_on_event(d->control, tag, evs[i].events);
			}
		}
		resume_ring_watch(d);
	}
}

/*
 * --detach.  A running daemon holds its links, and pins again what is
 * unpinned under it: unpinning then would detach nothing, only make it
 * report a blind spot.  Nothing pinned is what the caller wants (a
 * package's prerm runs this whether or not keep_attached left anything).
 */
static int detach_only(const struct pw_policy *p)
{
	char err[512];
	int rc;

	if (pw_listener_answers(p->control_socket) == 1) {
		pw_log(LOG_ERR, "a piiwatchd is running (it answers on %s): stop it, then detach",
		       p->control_socket);
		return 1;
	}
	rc = pw_probes_detach(p->pin_dir, err, sizeof(err));
	if (rc < 0) {
		pw_log(LOG_ERR, "%s", err);
		return 1;
	}
	pw_log(LOG_INFO, rc ? "nothing pinned in %s: no probes to detach" :
			      "detached the probes pinned in %s", p->pin_dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .keep_override = -1,
			    .output_fd = -1 };
	struct pw_probes_opts po = { 0 };
	/* Only root may connect to the PAM socket: other users can neither
	 * forge records nor, by flooding it, delay root's.  A non-root peer
	 * that gets past the mode (CAP_DAC_OVERRIDE) is refused and logged. */
	struct pw_listener_opts pam_opts = { .mode = 0600, .root_only = 1,
					     .tag_base = TAG_PAM_BASE };
	struct pw_listener_opts control_opts = { .mode = 0660, .group = "piiwatch",
						 .tag_base = TAG_CONTROL_BASE };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_RINGBUF };
	char err[512];
	int rc = 1;

	if (parse_args(&d, argc, argv))
		return 2;
	libbpf_set_print(libbpf_log);
	d.policy = load_policy(d.config_path, err, sizeof(err));
	if (!d.policy) {
		pw_log(LOG_ERR, "%s has errors; not starting", d.config_path);
		return 2;
	}
	apply_overrides(&d, d.policy);
	if (d.detach_only) {
		rc = detach_only(d.policy);
		pw_policy_free(d.policy);
		return rc;
	}
	pw_read_boot_id(d.boot_id);
	d.started_ns = pw_now_monotonic_ns();

	if (make_store_dir(d.policy->store_path) != 0) {
		pw_log(LOG_ERR, "cannot create the directory of %s: %s", d.policy->store_path,
		       strerror(errno));
		goto cleanup;
	}
	d.store = pw_store_open(d.policy->store_path, false, err, sizeof(err));
	if (!d.store) {
		pw_log(LOG_ERR, "%s", err);
		goto cleanup;
	}
	d.collector = pw_collector_new(d.store, d.boot_id);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!d.collector || d.epfd < 0 || setup_fds(&d) != 0) {
		pw_log(LOG_ERR, "cannot set up: %s", strerror(errno));
		goto cleanup;
	}
	pw_collector_set_print(d.collector, d.print ? stdout : NULL);
	d.outputs = pw_outputs_open(&d.policy->out, d.boot_id, err, sizeof(err));
	if (!d.outputs) {
		pw_log(LOG_ERR, "outputs: %s", err);
		goto cleanup;
	}
	/* Before any commit could record the file as it stands. */
	pw_outputs_resume(d.outputs, d.store);
	pw_collector_set_outputs(d.collector, d.outputs);

	po.delta_interval_ns = d.policy->delta_interval_ns;
	po.max_open_files = d.policy->max_open_files;
	po.max_protected = d.policy->max_protected;
	po.ring_bytes = d.policy->ring_bytes;
	po.pin_dir = d.policy->pin_dir;
	d.probes = pw_probes_start(&po, err, sizeof(err));
	if (!d.probes) {
		pw_log(LOG_ERR, "%s", err);
		goto cleanup;
	}
	if (pw_probes_apply_policy(d.probes, d.policy, warn_path, err, sizeof(err))) {
		pw_log(LOG_ERR, "cannot fill the protected-inode map: %s", err);
		goto cleanup;
	}
	if (pw_collector_set_sources(d.collector, d.policy, d.probes)) {
		pw_log(LOG_ERR, "cannot set up the detector: out of memory");
		goto cleanup;
	}
	load_baselines(&d);
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, pw_probes_fd(d.probes), &ev) != 0) {
		pw_log(LOG_ERR, "epoll: %s", strerror(errno));
		goto cleanup;
	}
	resume_ring(&d);
	prune(&d);
	/* Records spooled while the daemon was away come before new ones. */
	ingest_spool(&d);
	pam_opts.path = d.policy->pam_socket;
	pam_opts.fn = on_request;
	pam_opts.ctx = &d;
	d.listener = pw_listener_open(&pam_opts, d.epfd, err, sizeof(err));
	if (!d.listener) {
		pw_log(LOG_ERR, "%s", err);
		goto cleanup;
	}
	control_opts.path = d.policy->control_socket;
	control_opts.fn = on_control;
	control_opts.ctx = &d;
	d.control = pw_listener_open(&control_opts, d.epfd, err, sizeof(err));
	if (!d.control) {
		pw_log(LOG_ERR, "%s", err);
		goto cleanup;
	}
	pw_log(LOG_INFO, "watching %zu datasets in %s mode; store %s; PAM socket %s",
	       d.policy->n_datasets, pw_probes_mode(d.probes), d.policy->store_path,
	       d.policy->pam_socket);
	sd_notifyf(0, "READY=1\nSTATUS=watching %zu datasets (%s mode)", d.policy->n_datasets,
		   pw_probes_mode(d.probes));
	rc = run(&d);
	sd_notify(0, "STOPPING=1");
	drain(&d);
	/* The next daemon's "unwatched" blind spot starts here. */
	if (!d.policy->keep_attached)
		pw_collector_loss(d.collector, "detached", 0);
	if (pw_collector_save_baselines(d.collector, false))
		pw_log(LOG_ERR, "store: cannot save the detector's baselines");
	pw_outputs_drain(d.outputs, 2000);
	if (d.policy->keep_attached)
		pw_log(LOG_INFO, "leaving the probes attached in %s for the next piiwatchd "
		       "(piiwatchd --detach removes them)", d.policy->pin_dir);
cleanup:
	pw_listener_close(d.control);
	pw_listener_close(d.listener);
	/* A failed start never leaves anything attached. */
	pw_probes_stop(d.probes, rc == 0 && d.policy && d.policy->keep_attached);
	pw_collector_free(d.collector);
	pw_outputs_close(d.outputs);
	pw_store_close(d.store);
	if (d.timerfd >= 0)
		close(d.timerfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.epfd >= 0)
		close(d.epfd);
	pw_policy_free(d.policy);
	return rc;
}
