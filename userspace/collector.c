// SPDX-License-Identifier: GPL-2.0
#include "collector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "detector.h"
#include "event_text.h"
#include "outputs.h"
#include "log.h"
#include "proc_cache.h"
#include "util.h"

/*
 * The session cache in front of the store's session table.  A session
 * whose close record came stays PW_SESSION_GRACE_NS more for the events
 * of its processes still queued in the ring, on c->ended in the order of
 * the closes; a session needed again after that is looked up anew.
 */
struct session_entry {
	uint32_t audit_session;
	int64_t session_id;
	char *user;
	char *service;
	char *rhost;
	uint64_t ended_ns;           /* CLOCK_MONOTONIC when seen closed; 0: open */
	struct session_entry *end_prev, *end_next;
	UT_hash_handle hh;
};

/*
 * Audit sessions the store had no record of, and when it was asked: a
 * login without pam_piiwatch in its stack (a cron job with pam_loginuid)
 * would otherwise cost a store query for every event of its processes.
 * Asked again after PW_NO_SESSION_TTL_NS, or at once when a record of the
 * session comes.
 */
struct no_session {
	uint32_t audit_session;
	uint64_t asked_ns;           /* CLOCK_MONOTONIC; 0: free */
};

#define PW_NO_SESSION_SLOTS 256
#define PW_NO_SESSION_TTL_NS 1000000000ULL

/* Protected files renamed or linked out of their protected tree: the
 * kernel keeps protecting their inode; this is the name they went to. */
struct moved_entry {
	struct pw_inode_key key;
	char *path;
	UT_hash_handle hh;
};

#define PW_MOVED_MAX 4096

/*
 * Files the kernel side could not place (PW_OPEN_UNPLACED: opened by
 * handle while none of their names was cached), and where they were found
 * below the policy's directories.  A search reads directories, so its
 * answer is kept for a while: a program that opens one file by handle
 * again and again costs one search a minute.
 */
struct placed_entry {
	struct pw_inode_key key;
	int found;                   /* 1: path below a root; 0: not below any; -1: undecided */
	char *path;
	uint32_t dataset_id;
	uint32_t prot_flags;
	uint64_t placed_ns;          /* CLOCK_MONOTONIC */
	UT_hash_handle hh;
};

#define PW_PLACED_MAX 1024
#define PW_PLACED_TTL_NS (60ULL * 1000000000ULL)
/* Directory entries one search reads below one root, at most. */
#define PW_PLACE_SCAN_MAX 1000000

/* Accesses of unplaced files found below no protected directory: the
 * kernel keeps counting them; their later records are dropped. */
struct ignored_access {
	uint64_t access_id;
	UT_hash_handle hh;
};

#define PW_IGNORED_MAX 65536

/*
 * Names of login uids.  Looking one up reads /etc/passwd (or asks NSS),
 * several system calls and a parse, once per access without a session:
 * the most expensive step of storing an access.  A name is looked up
 * again after a minute, so that a renamed account shows its new name.
 */
struct user_entry {
	uint32_t uid;
	uint64_t looked_up_ns;       /* CLOCK_MONOTONIC */
	char *name;
	UT_hash_handle hh;
};

#define PW_USER_CACHE_MAX 1024
#define PW_USER_CACHE_TTL_NS (60ULL * 1000000000ULL)

/*
 * An access whose row is not in the store yet waits in c->pending: most
 * accesses end within one batch, and then one INSERT of the whole access
 * replaces an INSERT at open and an UPDATE at close.  Whatever is still
 * pending is inserted before each commit (the store's commit hook), so a
 * commit never holds a ring position past an access it lacks.  One that
 * has ended waits there too, out of c->open, so that a commit inserts its
 * accesses several rows to a statement (pw_store_access_open_many()).
 */
struct open_access {
	uint64_t access_id;
	bool stored;
	bool ended; /* out of c->open, waiting in c->pending only */
	struct open_access *pend_prev, *pend_next;
	struct session_wait *wait;
	struct open_access *wait_prev, *wait_next;
	struct pw_access a;
	UT_hash_handle hh;
};

/*
 * Accesses in memory whose session record has not come yet, by audit
 * session.  When it comes they take the session, so that their later
 * records carry it; what was shipped before stays as it was.  An entry
 * lists at least one access: there are never more than c->n_open.
 */
struct session_wait {
	uint32_t audit_session;
	struct open_access *accesses;
	UT_hash_handle hh;
};

struct pw_collector {
	struct pw_store *store;
	struct pw_outputs *out;
	struct pw_detector *det;
	uint64_t alerts;
	const struct pw_policy *policy;
	const struct pw_probes *probes;
	FILE *print;
	char boot_id[PW_BOOT_ID_LEN];
	int64_t mono_to_real;
	uint64_t events;
	struct pw_proc_cache *procs;
	struct session_entry *sessions;
	size_t n_sessions;
	struct session_entry *ended;
	struct no_session no_session[PW_NO_SESSION_SLOTS];
	struct open_access *open;
	size_t n_open;
	struct open_access *pending;
	struct session_wait *waits;
	struct moved_entry *moved;
	size_t n_moved;
	struct placed_entry *placed;
	struct ignored_access *ignored;
	struct user_entry *users;
	size_t n_users;
};

static void free_access(struct open_access *o)
{
	pw_access_free_strings(&o->a);
	free(o);
}

/* Accesses held in memory while open; beyond this, the oldest are printed
 * as they stand and dropped from memory (the store keeps counting them). */
#define PW_OPEN_ACCESS_MAX 65536

static void before_commit(void *ctx);

struct pw_collector *pw_collector_new(struct pw_store *store, const char *boot_id)
{
	struct pw_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->procs = pw_proc_cache_new("/proc", PW_EXEC_CACHE_MAX);
	if (!c->procs) {
		free(c);
		return NULL;
	}
	c->store = store;
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id);
	pw_collector_tick(c);
	pw_store_set_commit_hook(store, before_commit, c);
	return c;
}

static void free_session(struct session_entry *s)
{
	free(s->user);
	free(s->service);
	free(s->rhost);
	free(s);
}

static void forget_placed(struct pw_collector *c)
{
	struct placed_entry *pl, *tmp;

	HASH_ITER(hh, c->placed, pl, tmp) {
		HASH_DEL(c->placed, pl);
		free(pl->path);
		free(pl);
	}
}

void pw_collector_free(struct pw_collector *c)
{
	struct session_entry *s, *stmp;
	struct open_access *o, *otmp;
	struct session_wait *w, *wtmp;
	struct moved_entry *m, *mtmp;
	struct user_entry *u, *utmp;
	struct ignored_access *g, *gtmp;

	if (!c)
		return;
	/* Accesses held back reach the store before it closes. */
	pw_store_flush(c->store);
	pw_store_set_commit_hook(c->store, NULL, NULL);
	HASH_ITER(hh, c->users, u, utmp) {
		HASH_DEL(c->users, u);
		free(u->name);
		free(u);
	}
	pw_proc_cache_free(c->procs);
	HASH_ITER(hh, c->sessions, s, stmp) {
		HASH_DEL(c->sessions, s);
		free_session(s);
	}
	/* Left only when the store could not take them. */
	DL_FOREACH_SAFE2(c->pending, o, otmp, pend_next) {
		DL_DELETE2(c->pending, o, pend_prev, pend_next);
		if (o->ended)
			free_access(o);
	}
	HASH_ITER(hh, c->open, o, otmp) {
		HASH_DEL(c->open, o);
		free_access(o);
	}
	HASH_ITER(hh, c->waits, w, wtmp) {
		HASH_DEL(c->waits, w);
		free(w);
	}
	HASH_ITER(hh, c->moved, m, mtmp) {
		HASH_DEL(c->moved, m);
		free(m->path);
		free(m);
	}
	forget_placed(c);
	HASH_ITER(hh, c->ignored, g, gtmp) {
		HASH_DEL(c->ignored, g);
		free(g);
	}
	pw_detector_free(c->det);
	free(c);
}

static void print_line(struct pw_collector *c, const char *line);

/* An alert of the detector: into the store (with the quarantine its rule
 * may ask for), the outputs, the log and --print. */
static void on_alert(void *ctx, const struct pw_alert *al, bool quarantine)
{
	struct pw_collector *c = ctx;
	char line[PW_ALERT_REASON_MAX + 256], why[PW_RULE_ID_MAX + PW_ALERT_REASON_MAX + 4];
	int q = 0;

	c->alerts++;
	if (quarantine) {
		snprintf(why, sizeof(why), "%s: %s", al->rule_id, al->reason);
		q = pw_store_quarantine_add(c->store, al->user, al->time_ns, why);
		if (q < 0)
			pw_log(LOG_ERR, "store: cannot quarantine %s", al->user);
		else if (q > 0)
			pw_log(LOG_CRIT, "QUARANTINE: %s is refused at the next login (rule %s)",
			       al->user, al->rule_id);
	}
	if (pw_store_alert(c->store, c->boot_id, al, q > 0, pw_now_realtime_ns()))
		pw_log(LOG_ERR, "store: cannot record a %s alert", al->rule_id);
	pw_outputs_alert(c->out, al);
	pw_log(LOG_WARNING, "ALERT %s %s (risk %.1f): %s", pw_severity_name(al->severity),
	       al->rule_id, al->score, al->reason);
	pw_alert_format_line(al, line, sizeof(line));
	print_line(c, line);
}

int pw_collector_set_sources(struct pw_collector *c, const struct pw_policy *pol,
			     const struct pw_probes *probes)
{
	c->policy = pol;
	c->probes = probes;
	/* Another policy protects other directories. */
	forget_placed(c);
	if (c->det) {
		pw_detector_set_policy(c->det, pol);
		return 0;
	}
	c->det = pw_detector_new(pol, on_alert, c);
	return c->det ? 0 : -1;
}

uint64_t pw_collector_alerts(const struct pw_collector *c)
{
	return c->alerts;
}

void pw_collector_set_outputs(struct pw_collector *c, struct pw_outputs *out)
{
	c->out = out;
}

void pw_collector_set_print(struct pw_collector *c, FILE *out)
{
	c->print = out;
}

static void session_drop(struct pw_collector *c, struct session_entry *s)
{
	if (s->ended_ns)
		DL_DELETE2(c->ended, s, end_prev, end_next);
	HASH_DEL(c->sessions, s);
	c->n_sessions--;
	free_session(s);
}

static void session_ended(struct pw_collector *c, struct session_entry *s)
{
	if (s->ended_ns)
		return;
	s->ended_ns = pw_now_monotonic_ns();
	DL_APPEND2(c->ended, s, end_prev, end_next);
}

void pw_collector_expire(struct pw_collector *c, uint64_t now_mono_ns)
{
	while (c->ended && c->ended->ended_ns + PW_SESSION_GRACE_NS <= now_mono_ns)
		session_drop(c, c->ended);
}

void pw_collector_tick(struct pw_collector *c)
{
	uint64_t mono = pw_now_monotonic_ns();

	c->mono_to_real = (int64_t)(pw_now_realtime_ns() - mono);
	pw_collector_expire(c, mono);
}

size_t pw_collector_sessions_cached(const struct pw_collector *c)
{
	return c->n_sessions;
}

uint64_t pw_collector_events_seen(const struct pw_collector *c)
{
	return c->events;
}

static uint64_t to_realtime(const struct pw_collector *c, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + c->mono_to_real);
}

static struct session_entry *session_find(struct pw_collector *c, uint32_t audit_session)
{
	struct session_entry *s;
	int64_t id = 0;
	char *user = NULL, *service = NULL, *rhost = NULL;
	bool closed = false;
	struct no_session *miss;
	uint64_t now;

	if (audit_session == PW_NO_ID)
		return NULL;
	HASH_FIND(hh, c->sessions, &audit_session, sizeof(uint32_t), s);
	if (s)
		return s;
	now = pw_now_monotonic_ns();
	miss = &c->no_session[audit_session % PW_NO_SESSION_SLOTS];
	if (miss->asked_ns && miss->audit_session == audit_session &&
	    now - miss->asked_ns < PW_NO_SESSION_TTL_NS)
		return NULL;
	if (pw_store_session_lookup(c->store, c->boot_id, audit_session, &id, &user, &service,
				    &rhost, &closed) != 1) {
		miss->audit_session = audit_session;
		miss->asked_ns = now;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(user);
		free(service);
		free(rhost);
		return NULL;
	}
	s->audit_session = audit_session;
	s->session_id = id;
	s->user = user;
	s->service = service;
	s->rhost = rhost;
	/* Ended sessions go first, then the longest cached. */
	if (c->n_sessions >= PW_SESSION_CACHE_MAX)
		session_drop(c, c->ended ? c->ended : c->sessions);
	HASH_ADD(hh, c->sessions, audit_session, sizeof(uint32_t), s);
	c->n_sessions++;
	/* A process can outlive its session: its events find it here for the
	 * grace period, then in the store again. */
	if (closed)
		session_ended(c, s);
	return s;
}

/* The account name of uid (its number when it has none), malloc'ed; now
 * is the monotonic time, for the cache. */
static char *user_name(struct pw_collector *c, uint32_t uid, uint64_t now)
{
	struct passwd pw, *res = NULL;
	char buf[4096], num[16];
	struct user_entry *u;

	HASH_FIND(hh, c->users, &uid, sizeof(uint32_t), u);
	if (u && u->name && now - u->looked_up_ns < PW_USER_CACHE_TTL_NS)
		return strdup(u->name);
	if (!u) {
		if (c->n_users >= PW_USER_CACHE_MAX) {
			struct user_entry *oldest = c->users;

			HASH_DEL(c->users, oldest);
			free(oldest->name);
			free(oldest);
			c->n_users--;
		}
		u = calloc(1, sizeof(*u));
		if (!u)
			return NULL;
		u->uid = uid;
		HASH_ADD(hh, c->users, uid, sizeof(uint32_t), u);
		c->n_users++;
	}
	free(u->name);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		u->name = strdup(res->pw_name);
	} else {
		snprintf(num, sizeof(num), "%u", uid);
		u->name = strdup(num);
	}
	u->looked_up_ns = now;
	return u->name ? strdup(u->name) : NULL;
}

/*
 * A path from what the kernel found: the policy path of the matched root
 * and the names below it, or, for staging files, the names up to "/".
 */
static char *rebuild_path(struct pw_collector *c, uint64_t root_dev, uint64_t root_ino,
			  uint32_t flags, uint32_t depth,
			  const char (*names)[PW_NAME_LEN])
{
	const struct pw_root *root = NULL;
	char out[8192], part[4 * PW_NAME_LEN];
	size_t o;
	uint32_t i, kept;

	if (flags & PW_OPEN_STAGING) {
		o = 0;
		out[0] = '\0';
	} else {
		struct pw_inode_key k = { .dev = root_dev, .ino = root_ino };
		struct moved_entry *m = NULL;

		if (c->probes)
			root = pw_probes_find_root(c->probes, root_dev, root_ino);
		if (!root)
			HASH_FIND(hh, c->moved, &k, sizeof(k), m);
		if (root)
			o = pw_str_append(out, sizeof(out), 0, root->path);
		else if (m)
			o = pw_str_append(out, sizeof(out), 0, m->path);
		else if (root_dev == PW_DEV_RAW)
			/* A device the kernel side protected (a loop device
			 * over a protected file): named by its number. */
			o = (size_t)snprintf(out, sizeof(out), "/dev/block/%llu:%llu",
					     (unsigned long long)(root_ino >> 20),
					     (unsigned long long)(root_ino & 0xfffff));
		else
			o = (size_t)snprintf(out, sizeof(out), "<protected inode %llu:%llu>",
					     (unsigned long long)root_dev,
					     (unsigned long long)root_ino);
		if (flags & PW_OPEN_SELF)
			return strdup(out);
	}
	kept = depth < PW_NAME_SLOTS ? depth : PW_NAME_SLOTS;
	/* Appended without snprintf(): every open pays for this. */
	if (o >= sizeof(out))
		o = strlen(out);
	if (flags & PW_OPEN_DEEP)
		o = pw_str_append(out, sizeof(out), o, "/...");
	for (i = kept; i-- > 0 && o + 1 < sizeof(out);) {
		/* A mount stacked on another's root names nothing. */
		if (strcmp(names[i], "/") == 0)
			continue;
		pw_escape_untrusted(names[i], strnlen(names[i], PW_NAME_LEN), part, sizeof(part));
		o = pw_str_append(out, sizeof(out), o, "/");
		o = pw_str_append(out, sizeof(out), o, part);
		if ((flags & PW_OPEN_NAME_TRUNC) && i == 0)
			o = pw_str_append(out, sizeof(out), o, "...");
	}
	if (out[0] == '\0')
		snprintf(out, sizeof(out), "/");
	return strdup(out);
}

/* Who and what is behind a kernel event. */
struct ident {
	int64_t session_id;
	char *user;
	char *euser;
	char *service;
	char *rhost;
	char *exe;
	char *args;
	char *ancestors;
	char comm[17];
};

static void ident_free(struct ident *id)
{
	free(id->user);
	free(id->euser);
	free(id->service);
	free(id->rhost);
	free(id->exe);
	free(id->args);
	free(id->ancestors);
}

static void identify(struct pw_collector *c, const struct pw_task_id *t, struct ident *id)
{
	struct session_entry *s = session_find(c, t->sessionid);
	uint64_t now = pw_now_monotonic_ns();
	struct pw_proc_info p;

	memset(id, 0, sizeof(*id));
	pw_escape_untrusted(t->comm, strnlen(t->comm, PW_COMM_LEN), id->comm, sizeof(id->comm));
	if (s) {
		id->session_id = s->session_id;
		id->user = s->user ? strdup(s->user) : NULL;
		id->service = s->service ? strdup(s->service) : NULL;
		id->rhost = s->rhost ? strdup(s->rhost) : NULL;
	} else {
		id->user = user_name(c, t->loginuid != PW_NO_ID ? t->loginuid : t->uid, now);
	}
	/* Whose rights the program used: the login user's or, after su,
	 * sudo or a setuid program, another's.  Without a session or a
	 * loginuid the user above is already uid's name. */
	if (!s && t->loginuid == PW_NO_ID)
		id->euser = id->user ? strdup(id->user) : NULL;
	else
		id->euser = user_name(c, t->uid, now);
	/* The program and its chain, from the exec that started it, else
	 * from /proc while the process is still there; the chain is built
	 * once per process, and each record copies it whole. */
	if (pw_proc_cache_lookup(c->procs, t, &p))
		return;
	id->exe = p.exe ? strdup(p.exe) : NULL;
	id->args = p.args ? strdup(p.args) : NULL;
	id->ancestors = p.ancestors ? strdup(p.ancestors) : NULL;
}

static void print_line(struct pw_collector *c, const char *line)
{
	if (!c->print)
		return;
	fprintf(c->print, "%s\n", line);
	fflush(c->print);
}

static void print_access(struct pw_collector *c, const struct pw_access *a)
{
	char line[10240];

	if (!c->print)
		return;
	pw_access_format_line(a, line, sizeof(line));
	print_line(c, line);
}

/* An access's row has been inserted, or could not be: out of c->pending,
 * and gone if it has ended. */
static void pending_done(struct pw_collector *c, struct open_access *o, bool failed)
{
	DL_DELETE2(c->pending, o, pend_prev, pend_next);
	o->stored = true;
	if (failed)
		pw_log(LOG_ERR, "store: cannot record access to %s", o->a.path ? o->a.path : "?");
	if (o->ended)
		free_access(o);
}

/* Insert an access that so far lives only in memory, as it stands. */
static void store_pending(struct pw_collector *c, struct open_access *o)
{
	if (!o->stored)
		pending_done(c, o, pw_store_access_open(c->store, &o->a) != 0);
}

#define PENDING_CHUNK 64

static void store_all_pending(struct pw_collector *c)
{
	const struct pw_access *rows[PENDING_CHUNK];
	struct open_access *chunk[PENDING_CHUNK], *o;
	bool failed[PENDING_CHUNK];
	size_t n, i;

	while (c->pending) {
		n = 0;
		for (o = c->pending; o && n < PENDING_CHUNK; o = o->pend_next) {
			chunk[n] = o;
			rows[n++] = &o->a;
		}
		pw_store_access_open_many(c->store, rows, n, failed);
		for (i = 0; i < n; i++)
			pending_done(c, chunk[i], failed[i]);
	}
}

static void before_commit(void *ctx)
{
	struct pw_collector *c = ctx;

	store_all_pending(c);
	pw_outputs_flush(c->out);
	if (pw_outputs_save_position(c->out, c->store))
		pw_log(LOG_ERR, "store: cannot record where the JSON Lines file ends");
}

static void wait_for_session(struct pw_collector *c, struct open_access *o)
{
	struct session_wait *w;

	HASH_FIND(hh, c->waits, &o->a.audit_session, sizeof(uint32_t), w);
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return; /* the store joins it all the same */
		w->audit_session = o->a.audit_session;
		HASH_ADD(hh, c->waits, audit_session, sizeof(uint32_t), w);
	}
	o->wait = w;
	DL_APPEND2(w->accesses, o, wait_prev, wait_next);
}

static void stop_waiting(struct pw_collector *c, struct open_access *o)
{
	struct session_wait *w = o->wait;

	DL_DELETE2(w->accesses, o, wait_prev, wait_next);
	o->wait = NULL;
	if (!w->accesses) {
		HASH_DEL(c->waits, w);
		free(w);
	}
}

static void replace_dup(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

/* The session record of audit session ses has been stored: the accesses
 * in memory that waited for it take what identify() would now give. */
static void join_waiting(struct pw_collector *c, uint32_t ses)
{
	struct session_wait *w;
	struct session_entry *s;
	struct open_access *o, *tmp;

	HASH_FIND(hh, c->waits, &ses, sizeof(uint32_t), w);
	if (!w)
		return;
	s = session_find(c, ses);
	if (!s)
		return;
	DL_FOREACH_SAFE2(w->accesses, o, tmp, wait_next) {
		o->wait = NULL;
		o->a.session_id = s->session_id;
		replace_dup(&o->a.user, s->user);
		replace_dup(&o->a.service, s->service);
		replace_dup(&o->a.rhost, s->rhost);
	}
	HASH_DEL(c->waits, w);
	free(w);
}

/*
 * Take an access out of memory: one that has ended and is not in the
 * store yet waits in c->pending for the next commit; one still open (too
 * many are) is inserted now, since the store counts what follows.  A
 * session record that arrives meanwhile joins the row in the store.
 */
static void forget_access(struct pw_collector *c, struct open_access *o, bool ended)
{
	if (o->wait)
		stop_waiting(c, o);
	HASH_DEL(c->open, o);
	c->n_open--;
	if (ended && !o->stored) {
		o->ended = true;
		return;
	}
	store_pending(c, o);
	free_access(o);
}

static const char *dataset_name(struct pw_collector *c, uint32_t id)
{
	if (id == PW_DATASET_STAGING)
		return "staging";
	if (c->probes)
		return pw_probes_dataset_name(c->probes, id);
	return c->policy ? pw_policy_dataset_name(c->policy, id) : "?";
}

/* An access record to the outputs and, in the same order, the detector. */
static void ship_access(struct pw_collector *c, const struct pw_access *a)
{
	pw_outputs_access(c->out, a);
	if (c->det)
		pw_detector_access(c->det, a);
}

/*
 * Where below the policy's directories the file (dev, ino) is: the
 * nearest root whose directory holds it, as the kernel's walk would have
 * found.  Only roots on the file's own file system are searched.
 */
static void search_roots(struct pw_collector *c, struct placed_entry *pl)
{
	const struct pw_root *roots = NULL, *best = NULL, *first = NULL;
	char rel[4096], best_rel[4096] = "", esc[4 * sizeof(rel)];
	size_t n = c->probes ? pw_probes_roots(c->probes, &roots) : 0, i, best_depth = 0;
	bool undecided = false;

	for (i = 0; i < n; i++) {
		const struct pw_root *r = &roots[i];
		struct stat st;
		size_t depth;
		const char *q;
		int rc;

		if (r->key.dev != pl->key.dev || stat(r->path, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    st.st_ino != r->key.ino || pw_dev_to_kernel(st.st_dev) != r->key.dev)
			continue;
		if (!first)
			first = r;
		rc = pw_find_inode(r->path, pl->key.ino, PW_PLACE_SCAN_MAX, rel, sizeof(rel));
		if (rc < 0) {
			pw_log(LOG_WARNING, "BLIND SPOT: cannot search %s for inode %llu: %s", r->path,
			       (unsigned long long)pl->key.ino, strerror(errno));
			undecided = true;
			continue;
		}
		if (rc == 0)
			continue;
		for (depth = 1, q = rel; *q; q++)
			depth += *q == '/';
		if (!best || depth < best_depth) {
			best = r;
			best_depth = depth;
			snprintf(best_rel, sizeof(best_rel), "%s", rel);
		}
	}
	if (best) {
		pw_escape_untrusted(best_rel, strlen(best_rel), esc, sizeof(esc));
		pl->found = 1;
		pl->dataset_id = best->val.dataset_id;
		pl->prot_flags = best->val.flags & PW_PROT_HONEYTOKEN;
		if (asprintf(&pl->path, "%s/%s", best->path, esc) < 0)
			pl->path = NULL;
	} else if (undecided) {
		/* Recorded as protected: a false alarm is better than a
		 * missed read. */
		pl->found = -1;
		pl->dataset_id = first->val.dataset_id;
		pl->prot_flags = 0;
		if (asprintf(&pl->path, "<inode %llu on %u:%u, not placed>",
			     (unsigned long long)pl->key.ino, (unsigned)(pl->key.dev >> 20),
			     (unsigned)(pl->key.dev & 0xfffff)) < 0)
			pl->path = NULL;
	} else {
		pl->found = 0;
	}
}

/* The placement of an unplaced file, searched for or remembered; NULL when
 * it is below no protected directory (or nothing could be allocated). */
static struct placed_entry *place(struct pw_collector *c, uint64_t dev, uint64_t ino)
{
	struct pw_inode_key k = { .dev = dev, .ino = ino };
	uint64_t now = pw_now_monotonic_ns();
	struct placed_entry *pl;

	HASH_FIND(hh, c->placed, &k, sizeof(k), pl);
	if (pl && now - pl->placed_ns > PW_PLACED_TTL_NS) {
		HASH_DEL(c->placed, pl);
		free(pl->path);
		free(pl);
		pl = NULL;
	}
	if (!pl) {
		if (HASH_COUNT(c->placed) >= PW_PLACED_MAX) {
			struct placed_entry *oldest = c->placed;

			HASH_DEL(c->placed, oldest);
			free(oldest->path);
			free(oldest);
		}
		pl = calloc(1, sizeof(*pl));
		if (!pl)
			return NULL;
		pl->key = k;
		pl->placed_ns = now;
		search_roots(c, pl);
		if (pl->found && !pl->path) {
			free(pl);
			return NULL;
		}
		HASH_ADD(hh, c->placed, key, sizeof(k), pl);
	}
	return pl->found ? pl : NULL;
}

static void ignore_access(struct pw_collector *c, uint64_t access_id)
{
	struct ignored_access *g;

	if (HASH_COUNT(c->ignored) >= PW_IGNORED_MAX) {
		/* The oldest: its later records cost a store lookup that
		 * finds nothing. */
		g = c->ignored;
		HASH_DEL(c->ignored, g);
		free(g);
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return;
	g->access_id = access_id;
	HASH_ADD(hh, c->ignored, access_id, sizeof(uint64_t), g);
}

/* True when the access is one ignore_access() dropped; its last record
 * (final) forgets it. */
static bool ignored(struct pw_collector *c, uint64_t access_id, bool final)
{
	struct ignored_access *g;

	if (!c->ignored)
		return false;
	HASH_FIND(hh, c->ignored, &access_id, sizeof(uint64_t), g);
	if (g && final) {
		HASH_DEL(c->ignored, g);
		free(g);
	}
	return g != NULL;
}

static void on_open(struct pw_collector *c, const struct pw_event_open *ev)
{
	struct placed_entry *pl = NULL;
	struct open_access *o;
	struct pw_access *a;
	struct ident id;

	if (ev->flags & PW_OPEN_UNPLACED) {
		pl = place(c, ev->dev, ev->ino);
		/* Protected through its mount, the kernel's dataset stands
		 * unless the search found the file itself. */
		if (pl && pl->found < 0 && ev->dataset_id != PW_DATASET_UNPLACED)
			pl = NULL;
		if (!pl && ev->dataset_id == PW_DATASET_UNPLACED) {
			ignore_access(c, ev->access_id);
			return;
		}
	}
	if (c->n_open >= PW_OPEN_ACCESS_MAX)
		forget_access(c, c->open, false);
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->access_id = ev->access_id;
	a = &o->a;
	identify(c, &ev->task, &id);
	memcpy(a->boot_id, c->boot_id, sizeof(a->boot_id));
	a->access_id = ev->access_id;
	a->session_id = id.session_id;
	a->audit_session = ev->task.sessionid;
	a->loginuid = ev->task.loginuid;
	a->uid = ev->task.uid;
	a->pid = ev->task.tgid;
	a->ppid = ev->task.ppid;
	a->open_flags = ev->open_flags;
	memcpy(a->comm, id.comm, sizeof(a->comm));
	a->user = id.user;
	a->euser = id.euser;
	a->service = id.service;
	a->rhost = id.rhost;
	a->exe = id.exe;
	a->args = id.args;
	a->ancestors = id.ancestors;
	if (pl) {
		a->dataset = strdup(dataset_name(c, pl->dataset_id));
		a->path = strdup(pl->path);
		a->honeytoken = pl->prot_flags & PW_PROT_HONEYTOKEN;
	} else {
		a->dataset = strdup(dataset_name(c, ev->dataset_id));
		a->path = rebuild_path(c, ev->root_dev, ev->root_ino, ev->flags, ev->depth,
				       ev->names);
		a->honeytoken = ev->prot_flags & PW_PROT_HONEYTOKEN;
		if (a->path && (ev->flags & PW_OPEN_UNPLACED)) {
			/* Protected through a mount below a protected
			 * directory, its place in that mount unknown: the
			 * mount point and the inode. */
			char *named = NULL;

			if (asprintf(&named, "%s/#%llu", a->path, (unsigned long long)ev->ino) >= 0) {
				free(a->path);
				a->path = named;
			}
		}
	}
	a->dev = ev->dev;
	a->ino = ev->ino;
	a->staging = ev->flags & PW_OPEN_STAGING;
	a->flags = (ev->flags & PW_OPEN_URING ? PW_IO_URING : 0) |
		   (ev->flags & PW_OPEN_OVERLAY ? PW_IO_OVERLAY : 0);
	a->opened_ns = to_realtime(c, ev->task.ts_ns);
	a->last_ns = a->opened_ns;
	DL_APPEND2(c->pending, o, pend_prev, pend_next);
	HASH_ADD(hh, c->open, access_id, sizeof(uint64_t), o);
	c->n_open++;
	if (!a->session_id && a->audit_session != PW_NO_ID)
		wait_for_session(c, o);
	/* Opening a honeytoken is the finding: no need to wait for bytes. */
	if (a->honeytoken)
		ship_access(c, a);
}

/* The io flags an access keeps once one of its reports has them. */
#define STICKY_IO_FLAGS (PW_IO_MMAP | PW_IO_URING | PW_IO_AIO | PW_IO_CLONE | PW_IO_OVERLAY | PW_IO_RAW)
/* ... and how it ended, which its last report says. */
#define END_IO_FLAGS (PW_IO_FINAL | PW_IO_EXIT | PW_IO_REUSED | PW_IO_EXEC)

static void on_io(struct pw_collector *c, const struct pw_event_io *ev)
{
	uint64_t now = to_realtime(c, ev->task.ts_ns);
	bool final = ev->flags & PW_IO_FINAL;
	uint32_t keep = ev->flags & (STICKY_IO_FLAGS | (final ? END_IO_FLAGS : 0));
	struct open_access *o;

	HASH_FIND(hh, c->open, &ev->access_id, sizeof(uint64_t), o);
	if (!o && ignored(c, ev->access_id, final))
		return;
	/* A pending access is counted in memory and inserted whole later. */
	if ((!o || o->stored) &&
	    pw_store_access_io(c->store, c->boot_id, ev->access_id, ev->bytes_read,
			       ev->bytes_written, ev->reads, ev->writes, now, keep, final))
		pw_log(LOG_ERR, "store: cannot update access %llu",
		       (unsigned long long)ev->access_id);
	if (!o) {
		/* Opened before this daemon started: the store has it. */
		struct pw_access a;

		if ((final || ev->reads || ev->writes) &&
		    pw_store_access_load(c->store, c->boot_id, ev->access_id, &a) == 1) {
			if (!final)
				a.flags |= ev->flags & PW_IO_IDLE;
			ship_access(c, &a);
			pw_access_free_strings(&a);
		}
		return;
	}
	o->a.bytes_read += ev->bytes_read;
	o->a.bytes_written += ev->bytes_written;
	o->a.reads += ev->reads;
	o->a.writes += ev->writes;
	o->a.last_ns = now;
	o->a.flags |= keep;
	if (!final) {
		if (ev->reads || ev->writes) {
			uint32_t flags = o->a.flags;

			/* A periodic flush says so in its own record only. */
			o->a.flags |= ev->flags & PW_IO_IDLE;
			print_access(c, &o->a);
			ship_access(c, &o->a);
			o->a.flags = flags;
		}
		return;
	}
	o->a.closed_ns = now;
	print_access(c, &o->a);
	ship_access(c, &o->a);
	forget_access(c, o, true);
}

static void fill_rec(struct pw_event_rec *r, const struct pw_task_id *t, const struct ident *id,
		     uint64_t ts)
{
	r->ts_ns = ts;
	r->session_id = id->session_id;
	r->audit_session = t->sessionid;
	r->loginuid = t->loginuid;
	r->uid = t->uid;
	r->pid = t->tgid;
	r->ppid = t->ppid;
	r->user = id->user;
	r->euser = id->euser;
	r->comm = id->comm;
	r->exe = id->exe;
	r->args = id->args;
	r->ancestors = id->ancestors;
}

static void store_event(struct pw_collector *c, const struct pw_event_rec *r)
{
	if (pw_store_event(c->store, c->boot_id, r))
		pw_log(LOG_ERR, "store: cannot record %s event", r->kind);
	pw_outputs_event(c->out, r);
	if (c->det)
		pw_detector_event(c->det, c->boot_id, r);
}

void pw_collector_loss(struct pw_collector *c, const char *action, uint64_t count)
{
	struct pw_event_rec r = { .kind = "loss", .action = action, .comm = "piiwatchd",
				  .audit_session = PW_NO_ID, .loginuid = PW_NO_ID };

	r.ts_ns = pw_now_realtime_ns();
	r.pid = (uint32_t)getpid();
	r.ppid = (uint32_t)getppid();
	r.count = count;
	store_event(c, &r);
}

static int put_baseline(void *ctx, const char *kind, const char *principal, const char *dataset,
			const char *json)
{
	struct pw_collector *c = ctx;

	return pw_store_baseline_put(c->store, kind, principal, dataset, json,
				     pw_now_realtime_ns());
}

int pw_collector_save_baselines(struct pw_collector *c, bool all)
{
	if (!c->det)
		return 0;
	if (pw_detector_save(c->det, all, put_baseline, c)) {
		pw_store_rollback(c->store);
		return -1;
	}
	return pw_store_flush(c->store);
}

struct load_state {
	struct pw_collector *c;
	uint64_t bad;
};

static int load_baseline(void *ctx, const char *kind, const char *principal, const char *dataset,
			 const char *json)
{
	struct load_state *ls = ctx;
	char err[256];

	/* A row the detector cannot read is dropped; what it learns anew
	 * replaces it at the next save. */
	if (pw_detector_load(ls->c->det, kind, principal, dataset, json, err, sizeof(err))) {
		if (ls->bad++ < 10)
			pw_log(LOG_WARNING, "baseline %s %s %s not loaded: %s", kind, principal,
			       dataset, err);
	}
	return 0;
}

int64_t pw_collector_load_baselines(struct pw_collector *c)
{
	struct load_state ls = { .c = c };

	if (!c->det)
		return 0;
	return pw_store_baselines_load(c->store, load_baseline, &ls);
}

/* "TIME USER session N (SERVICE from HOST) [as EUSER]  EXE[PID]" */
static void format_who(const struct pw_event_rec *r, const struct ident *id, char *out,
		       size_t n)
{
	const char *other = pw_other_user(r->user, r->euser);
	char when[32];

	pw_format_time(r->ts_ns, when, sizeof(when));
	if (r->audit_session == PW_NO_ID)
		snprintf(out, n, "%s  %s (no login session, uid %u)  %s[%u]", when,
			 r->user ? r->user : "?", r->uid, r->exe ? r->exe : r->comm, r->pid);
	else
		snprintf(out, n, "%s  %s session %u (%s%s%s)%s%s  %s[%u]", when,
			 r->user ? r->user : "?", r->audit_session,
			 id->service ? id->service : "no session record yet",
			 id->rhost ? " from " : "", id->rhost ? id->rhost : "",
			 other ? " as " : "", other ? other : "", r->exe ? r->exe : r->comm,
			 r->pid);
}

/* A fallocate's action names what its mode does to the data; a mode this
 * build does not know is still a change. */
static const char *fallocate_name(uint32_t mode)
{
	if (mode & PW_FALLOC_PUNCH_HOLE)
		return "punch-hole";
	if (mode & PW_FALLOC_COLLAPSE_RANGE)
		return "collapse-range";
	if (mode & PW_FALLOC_ZERO_RANGE)
		return "zero-range";
	if (mode & PW_FALLOC_INSERT_RANGE)
		return "insert-range";
	if (mode & PW_FALLOC_WRITE_ZEROES)
		return "write-zeroes";
	return "fallocate";
}

static const char *change_name(const struct pw_event_change *ev)
{
	static const char *const names[] = {
		[PW_CH_UNLINK] = "unlink", [PW_CH_RMDIR] = "rmdir", [PW_CH_RENAME] = "rename",
		[PW_CH_LINK] = "link", [PW_CH_SYMLINK] = "symlink", [PW_CH_TRUNCATE] = "truncate",
		[PW_CH_CHMOD] = "chmod", [PW_CH_CHOWN] = "chown", [PW_CH_SETXATTR] = "setxattr",
		[PW_CH_REMOVEXATTR] = "removexattr",
	};

	if (ev->op == PW_CH_FALLOCATE)
		return fallocate_name(ev->mode);
	return ev->op < sizeof(names) / sizeof(names[0]) && names[ev->op] ? names[ev->op] : "change";
}

/* The absolute form of a path a process passed, from its working
 * directory while it is still there. */
static char *absolute_path(uint32_t tgid, const char *path)
{
	char link[64], cwd[4096], out[8192];
	ssize_t n;

	if (path[0] == '/')
		return strdup(path);
	snprintf(link, sizeof(link), "/proc/%u/cwd", tgid);
	n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return strdup(path);
	cwd[n] = '\0';
	snprintf(out, sizeof(out), "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	return strdup(out);
}

static void remember_move(struct pw_collector *c, const struct pw_event_change *ev,
			  const char *to)
{
	struct pw_inode_key k = { .dev = ev->dev, .ino = ev->ino };
	struct moved_entry *m;

	HASH_FIND(hh, c->moved, &k, sizeof(k), m);
	if (!m) {
		if (c->n_moved >= PW_MOVED_MAX) {
			struct moved_entry *oldest = c->moved;

			HASH_DEL(c->moved, oldest);
			free(oldest->path);
			free(oldest);
			c->n_moved--;
		}
		m = calloc(1, sizeof(*m));
		if (!m)
			return;
		m->key = k;
		HASH_ADD(hh, c->moved, key, sizeof(k), m);
		c->n_moved++;
	}
	free(m->path);
	m->path = absolute_path(ev->task.tgid, to);
}

static void on_change(struct pw_collector *c, const struct pw_event_change *ev)
{
	struct pw_event_rec r = { .kind = "change" };
	char who[2048], line[12288], p1[1024], p2[1024], asked[2100];
	char *path;
	struct ident id;

	identify(c, &ev->task, &id);
	fill_rec(&r, &ev->task, &id, to_realtime(c, ev->task.ts_ns));
	path = rebuild_path(c, ev->root_dev, ev->root_ino, ev->flags, ev->depth, ev->names);
	pw_escape_untrusted(ev->path, strnlen(ev->path, sizeof(ev->path)), p1, sizeof(p1));
	pw_escape_untrusted(ev->path2, strnlen(ev->path2, sizeof(ev->path2)), p2, sizeof(p2));
	r.action = change_name(ev);
	r.dataset = dataset_name(c, ev->dataset_id);
	/* The protected path the kernel saw change, and what the program
	 * asked for: the new name for renames and links. */
	r.path = path;
	if (ev->op == PW_CH_FALLOCATE)
		snprintf(asked, sizeof(asked), "(open file) %lld bytes at %lld, mode 0x%x",
			 (long long)ev->len, (long long)ev->offset, ev->mode);
	else if (ev->op == PW_CH_SETXATTR || ev->op == PW_CH_REMOVEXATTR)
		snprintf(asked, sizeof(asked), "%s, attribute %s", p1[0] ? p1 : "(open file)", p2);
	else
		snprintf(asked, sizeof(asked), "%s%s%s", p1[0] ? p1 : "(open file)",
			 p2[0] ? " -> " : "", p2);
	r.path2 = asked;
	r.result = ev->ret;
	r.honeytoken = ev->prot_flags & PW_PROT_HONEYTOKEN;
	store_event(c, &r);
	if ((ev->op == PW_CH_RENAME || ev->op == PW_CH_LINK) && p2[0] &&
	    !(ev->flags & PW_OPEN_SELF))
		remember_move(c, ev, p2);
	format_who(&r, &id, who, sizeof(who));
	snprintf(line, sizeof(line), "%s  %s %s (protected: %s) [%s]%s", who, r.action, asked,
		 path ? path : "?", r.dataset, r.honeytoken ? " HONEYTOKEN" : "");
	print_line(c, line);
	free(path);
	ident_free(&id);
}

/* The action a connect record stores: how its destination was named. */
static const char *net_action(uint32_t how)
{
	static const char *const names[PW_NET_HOW_MAX] = {
		[PW_NET_CONNECT] = "connect",
		[PW_NET_SENDTO] = "sendto",
		[PW_NET_SENDMSG] = "sendmsg",
		[PW_NET_SENDMMSG] = "sendmmsg",
		[PW_NET_URING_CONNECT] = "io_uring_connect",
		[PW_NET_URING_SEND] = "io_uring_send",
		[PW_NET_URING_SENDMSG] = "io_uring_sendmsg",
	};

	return how < PW_NET_HOW_MAX ? names[how] : "connect";
}

static void on_connect(struct pw_collector *c, const struct pw_event_connect *ev)
{
	struct pw_event_rec r = { .kind = "connect", .action = net_action(ev->how) };
	bool sent = ev->how != PW_NET_CONNECT && ev->how != PW_NET_URING_CONNECT;
	char who[2048], line[4096], ip[INET6_ADDRSTRLEN] = "?", how[64] = "";
	struct ident id;

	identify(c, &ev->task, &id);
	fill_rec(&r, &ev->task, &id, to_realtime(c, ev->task.ts_ns));
	/* Family 0: the kernel side could not read the address (a page
	 * not yet faulted in); the destination is unknown, not absent. */
	inet_ntop(ev->family == AF_INET6 ? AF_INET6 : AF_INET, ev->addr, ip, sizeof(ip));
	r.dest_ip = ev->family ? ip : NULL;
	r.dest_port = ev->port;
	r.result = ev->ret;
	store_event(c, &r);
	format_who(&r, &id, who, sizeof(who));
	/* "connect to ... port 9", "sent data to ... port 53 (sendto)" */
	if (ev->how != PW_NET_CONNECT)
		snprintf(how, sizeof(how), " (%s)", r.action);
	snprintf(line, sizeof(line), "%s  %s %s port %u%s after reading protected data%s", who,
		 sent ? "sent data to" : "connect to",
		 r.dest_ip ? r.dest_ip : "an unreadable address", ev->port, how,
		 ev->ret < 0 && ev->ret != -EINPROGRESS ? " (failed)" : "");
	print_line(c, line);
	ident_free(&id);
}

static void on_mmap(struct pw_collector *c, const struct pw_event_mmap *ev)
{
	struct pw_event_rec r = { .kind = "mmap", .action = "mmap" };
	struct open_access *o;
	struct ident id;

	HASH_FIND(hh, c->open, &ev->access_id, sizeof(uint64_t), o);
	if (!o && ignored(c, ev->access_id, false))
		return;
	if (o)
		o->a.flags |= PW_IO_MMAP;
	identify(c, &ev->task, &id);
	fill_rec(&r, &ev->task, &id, to_realtime(c, ev->task.ts_ns));
	r.access_id = ev->access_id;
	r.dataset = o && ev->dataset_id == PW_DATASET_UNPLACED ? o->a.dataset
							       : dataset_name(c, ev->dataset_id);
	r.path = o ? o->a.path : NULL;
	/* Bytes read through a mapping cannot be counted: the length mapped
	 * is the upper bound. */
	r.count = ev->length;
	store_event(c, &r);
	ident_free(&id);
}

/* An event that is its task, what it did and a number. */
static void on_task_event(struct pw_collector *c, const struct pw_task_id *t, const char *kind,
			  const char *action, int64_t result)
{
	struct pw_event_rec r = { .kind = kind, .action = action };
	struct ident id;

	identify(c, t, &id);
	fill_rec(&r, t, &id, to_realtime(c, t->ts_ns));
	r.result = result;
	store_event(c, &r);
	ident_free(&id);
}

static void on_exec(struct pw_collector *c, const struct pw_event_exec *ev)
{
	struct pw_event_rec r = { .kind = "exec", .action = "exec" };
	struct ident id;

	pw_proc_cache_exec(c->procs, &ev->task, ev->path,
			   ev->path_len < sizeof(ev->path) ? ev->path_len : sizeof(ev->path), ev->args,
			   ev->args_len < sizeof(ev->args) ? ev->args_len : sizeof(ev->args));
	/* Programs run in login sessions tell a session's story; the rest of
	 * the host's execs are only cached to name programs. */
	if (ev->task.sessionid == PW_NO_ID)
		return;
	identify(c, &ev->task, &id);
	fill_rec(&r, &ev->task, &id, to_realtime(c, ev->task.ts_ns));
	store_event(c, &r);
	ident_free(&id);
}

void pw_collector_event(void *ctx, const void *data, size_t size)
{
	static const size_t min_size[] = {
		[PW_EV_OPEN] = pw_open_size(0), /* and its names: below */
		[PW_EV_IO] = sizeof(struct pw_event_io),
		[PW_EV_EXEC] = sizeof(struct pw_event_exec),
		[PW_EV_MMAP] = sizeof(struct pw_event_mmap),
		[PW_EV_CHANGE] = sizeof(struct pw_event_change),
		[PW_EV_CONNECT] = sizeof(struct pw_event_connect),
		[PW_EV_URING] = sizeof(struct pw_event_uring),
		[PW_EV_COREDUMP] = sizeof(struct pw_event_coredump),
	};
	struct pw_collector *c = ctx;
	const struct pw_task_id *t = data;

	if (size < sizeof(*t) || t->type == 0 || t->type >= sizeof(min_size) / sizeof(min_size[0]) ||
	    size < min_size[t->type] ||
	    (t->type == PW_EV_OPEN &&
	     size < pw_open_size(pw_open_names(((const struct pw_event_open *)data)->depth))))
		return; /* not of this ABI, which the pinned meta map rules out */
	c->events++;
	switch (t->type) {
	case PW_EV_OPEN:
		on_open(c, data);
		break;
	case PW_EV_IO:
		on_io(c, data);
		break;
	case PW_EV_EXEC:
		on_exec(c, data);
		break;
	case PW_EV_MMAP:
		on_mmap(c, data);
		break;
	case PW_EV_CHANGE:
		on_change(c, data);
		break;
	case PW_EV_CONNECT:
		on_connect(c, data);
		break;
	case PW_EV_URING:
		on_task_event(c, t, "io_uring", "submit",
			      ((const struct pw_event_uring *)data)->opcode);
		break;
	case PW_EV_COREDUMP:
		on_task_event(c, t, "coredump", "dump",
			      ((const struct pw_event_coredump *)data)->signal);
		break;
	}
}

int pw_collector_session_record(struct pw_collector *c, const struct pw_session_record *r)
{
	struct session_entry *s;
	int64_t id = 0;

	if (pw_store_session_record(c->store, r, &id))
		return -1;
	pw_outputs_session(c->out, r, id);
	if (c->det)
		pw_detector_session(c->det, r, id);
	if (r->sessionid == PW_NO_ID || strcmp(r->boot_id, c->boot_id) != 0)
		return pw_store_flush(c->store);
	if (c->no_session[r->sessionid % PW_NO_SESSION_SLOTS].audit_session == r->sessionid)
		c->no_session[r->sessionid % PW_NO_SESSION_SLOTS].asked_ns = 0;
	HASH_FIND(hh, c->sessions, &r->sessionid, sizeof(uint32_t), s);
	if (r->type == PW_REC_SESSION_CLOSE) {
		if (s)
			session_ended(c, s);
		return pw_store_flush(c->store);
	}
	if (s)
		session_drop(c, s);
	join_waiting(c, r->sessionid);
	/* The join below updates rows: accesses held back need theirs. */
	store_all_pending(c);
	if (pw_store_join_session(c->store, r->boot_id, r->sessionid, id))
		return -1;
	return pw_store_flush(c->store);
}
