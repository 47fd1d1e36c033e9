// SPDX-License-Identifier: GPL-2.0
#include "detector.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include <linux/types.h>

#include "piiwatch.h"
#include "util.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_DAY (86400ULL * NS_PER_SEC)

/* Bounds on what is remembered.  Each is far above what one session or
 * principal produces on a dealer host; past one, counts saturate (a set of
 * files stops growing) or the least recently active entry is forgotten. */
#define KEYSET_MAX 100000            /* distinct files per window, day or session */
#define ACTORS_MAX 16384             /* sessions and processes followed */
#define OPEN_MAX 131072              /* accesses whose counts are remembered */
#define READS_KEPT 16                /* read intervals per actor */
#define PENDING_MAX 8                /* connects waiting for their read record */
#define PRIVS_KEPT 4                 /* su/sudo runs per session */
#define SOURCES_MAX 64               /* remote hosts per user */
#define HOURS_MAX 8192               /* (day, hour of week) pairs per user */
#define DAYS_MAX 400                 /* daily totals per principal and dataset */
#define WIN_BUCKETS 60

#define ACTOR_IDLE_NS NS_PER_DAY
#define CLOSED_IDLE_NS (3600ULL * NS_PER_SEC)
#define OPEN_IDLE_NS (7ULL * NS_PER_DAY)
#define GC_EVERY_NS (60ULL * NS_PER_SEC)

#define ALL_DATASETS "*"

/* A set of 64-bit keys (hashed file identities) with the time each was
 * last seen. */
struct key_entry {
	uint64_t key;
	uint64_t t;
	UT_hash_handle hh;
};

struct keyset {
	struct key_entry *h;
	size_t n;
	uint64_t oldest;             /* lower bound of the entries' times */
	bool full;
};

/* Sums over a sliding window in WIN_BUCKETS buckets. */
struct window {
	uint64_t bucket_ns;
	uint64_t idx[WIN_BUCKETS];
	uint64_t val[WIN_BUCKETS];
};

struct day_total {
	int64_t day;                 /* local days since 1970-01-01 */
	uint64_t bytes;
	uint64_t files;
};

/* What a principal read of one dataset (or of all: ALL_DATASETS): daily
 * totals for the baseline, a sliding window for the rule. */
struct volume {
	char *key;                   /* principal, NUL, dataset */
	char *principal;
	char *dataset;
	struct day_total *days;
	size_t n_days;
	int64_t files_day;
	struct keyset day_files;
	struct window win;
	struct keyset win_files;
	uint64_t last_ns;
	bool dirty;
	bool persisted;
	UT_hash_handle hh;
};

struct source {
	char *host;
	char *net;
	uint64_t last_ns;
};

/* A user ("user:NAME") or, outside login sessions, a program
 * ("program:/usr/sbin/dms-server"). */
struct principal {
	char *name;
	uint32_t *hours;             /* day * 168 + hour of the week */
	size_t n_hours;
	uint32_t last_hour;
	int64_t bulk_day;            /* bulk-read raised over a day's or a window's total */
	int64_t bulk_week_day;       /* ... over the last week's total */
	struct source sources[SOURCES_MAX];
	size_t n_sources;
	uint64_t last_ns;
	bool dirty;
	bool persisted;
	UT_hash_handle hh;
};

/* Who acts: a login session (boot, audit session), a process without one
 * (boot, pid), or the daemon itself (boot "", pid: what it reports). */
struct actor_key {
	char boot[PW_BOOT_ID_LEN];
	uint32_t ses;
	uint32_t pid;
};

struct actor_ds {
	char *name;
	uint64_t bytes;
	struct keyset files;
	struct actor_ds *next;
};

struct interval {
	uint64_t from;
	uint64_t to;
};

struct pending_connect {
	uint64_t ts;
	uint32_t pid;
	int port;
	int64_t result;
	const char *verb;        /* "connected to", "sent data to" */
	char ip[INET6_ADDRSTRLEN];
	char *prog;
};

struct priv_run {
	uint64_t ts;
	char *prog;
};

struct actor {
	struct actor_key key;
	bool is_session;
	char *user;
	char *rhost;
	char *program;
	int64_t session_id;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t closed_ns;
	bool fired[PW_RULE_COUNT];
	uint64_t fired_at[PW_RULE_COUNT];
	double keep;                 /* product of (1 - weight) of its alerts */
	struct interval reads[READS_KEPT];
	size_t n_reads;
	struct actor_ds *ds;
	struct keyset opened;
	struct keyset destroyed;
	struct priv_run privs[PRIVS_KEPT];
	size_t n_privs;
	struct pending_connect pend[PENDING_MAX];
	size_t n_pend;
	UT_hash_handle hh;
};

struct open_key {
	char boot[PW_BOOT_ID_LEN];
	uint64_t access_id;
};

/* An access's totals as counted so far. */
struct open_acc {
	struct open_key key;
	uint64_t read;
	uint64_t written;
	uint64_t last_ns;
	bool dirty;
	bool persisted;
	UT_hash_handle hh;
};

struct deleted_row {
	char *kind;
	char *principal;
	char *dataset;
	struct deleted_row *next;
};

struct pw_detector {
	const struct pw_policy *pol;
	pw_alert_cb cb;
	void *ctx;
	uint64_t first_ns;           /* the first record: learning starts */
	uint64_t watermark;          /* the latest record time */
	uint64_t last_gc;
	bool meta_dirty;
	struct actor *actors;
	size_t n_actors;
	struct principal *principals;
	struct volume *volumes;
	struct open_acc *open;
	size_t n_open;
	struct deleted_row *deleted;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, "F", 1);

	h = fnv1a(h, &dev, sizeof(dev));
	return fnv1a(h, &ino, sizeof(ino));
}

static uint64_t path_key(const char *path)
{
	return fnv1a(fnv1a(0xcbf29ce484222325ULL, "P", 1), path, strlen(path));
}

static void replace_str(char **dst, const char *s)
{
	if (!s || !*s || (*dst && strcmp(*dst, s) == 0))
		return;
	free(*dst);
	*dst = strdup(s);
}

/* Cut a string that snprintf may have cut inside a UTF-8 sequence back to
 * the last whole character. */
static void utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char c;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "";
}

/* A program list entry matches an absolute path exactly, a name the
 * program's file name or its comm. */
static bool program_listed(const struct pw_strlist *l, const char *exe, const char *comm)
{
	const char *name = exe ? basename_of(exe) : comm;
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *p = l->items[i];

		if (p[0] == '/') {
			if (exe && strcmp(exe, p) == 0)
				return true;
		} else if (name && strcmp(name, p) == 0) {
			return true;
		}
	}
	return false;
}

static const struct pw_dataset *dataset_of(const struct pw_policy *p, const char *name)
{
	size_t i;

	for (i = 0; name && i < p->n_datasets; i++)
		if (strcmp(p->datasets[i].name, name) == 0)
			return &p->datasets[i];
	return NULL;
}

static bool allowed_for(const struct pw_policy *p, const char *dataset, const char *exe)
{
	const struct pw_dataset *ds = dataset_of(p, dataset);
	size_t i;

	for (i = 0; ds && exe && i < ds->allow.n; i++)
		if (strcmp(ds->allow.items[i], exe) == 0)
			return true;
	return false;
}

/* A program allowed on the dataset whose directory holds this path: a
 * backup reading a honeytoken that lies among the data it saves. */
static bool allowed_around(const struct pw_policy *p, const char *path, const char *exe)
{
	size_t i, j, n;

	for (i = 0; path && exe && i < p->n_datasets; i++) {
		const struct pw_dataset *ds = &p->datasets[i];

		if (!allowed_for(p, ds->name, exe))
			continue;
		for (j = 0; j < ds->paths.n; j++) {
			n = strlen(ds->paths.items[j]);
			if (strncmp(path, ds->paths.items[j], n) == 0 && (path[n] == '/' || !path[n]))
				return true;
		}
	}
	return false;
}

static bool allowed_anywhere(const struct pw_policy *p, const char *exe)
{
	size_t i;

	for (i = 0; exe && i < p->n_datasets; i++)
		if (allowed_for(p, p->datasets[i].name, exe))
			return true;
	return false;
}

static void fmt_bytes(uint64_t b, char *out, size_t n)
{
	pw_format_bytes(b, out, n);
}

static void fmt_duration(uint64_t ns, char *out, size_t n)
{
	uint64_t s = ns / NS_PER_SEC;

	if (s < 120)
		snprintf(out, n, "%llu s", (unsigned long long)s);
	else if (s < 7200)
		snprintf(out, n, "%llu min", (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, "%llu h", (unsigned long long)(s / 3600));
	else
		snprintf(out, n, "%llu days", (unsigned long long)(s / 86400));
}

/* Local time of a record: day number, hour of the week (Monday 00:00 is
 * 0), minute of the week and a readable form. */
struct local_time {
	int64_t day;
	unsigned slot;
	unsigned minute;
	char text[32];               /* "Sun 02:14" */
};

static void local_of_uncached(time_t sec, struct local_time *l, long *gmtoff)
{
	static const char *const wd_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	struct tm tm;
	int64_t local_sec;
	unsigned wd;

	memset(l, 0, sizeof(*l));
	*gmtoff = 1; /* not a whole number of minutes: not cached */
	if (!localtime_r(&sec, &tm))
		return;
	*gmtoff = tm.tm_gmtoff;
	local_sec = (int64_t)sec + tm.tm_gmtoff;
	l->day = local_sec >= 0 ? local_sec / 86400 : 0;
	wd = (unsigned)(tm.tm_wday + 6) % 7;
	l->slot = wd * 24 + (unsigned)tm.tm_hour;
	l->minute = l->slot * 60 + (unsigned)tm.tm_min;
	snprintf(l->text, sizeof(l->text), "%s %02d:%02d", wd_names[wd], tm.tm_hour, tm.tm_min);
}

/*
 * Local time of ns, to the minute.  Every access asks, and localtime_r
 * with snprintf was a few per cent of the daemon's time, so the last
 * minute is kept, keyed on TZ as well (tests and users change it; a change
 * takes effect after tzset(), as with localtime_r itself).  Only zones
 * whose offset is whole minutes, which is all of today's, are cached.
 */
static void local_of(uint64_t ns, struct local_time *l)
{
	static __thread struct {
		bool valid, tz_set;
		uint64_t minute;
		char tz[64];
		struct local_time lt;
	} last;
	uint64_t minute = ns / NS_PER_SEC / 60;
	const char *tz = getenv("TZ");
	long gmtoff;

	if (last.valid && last.minute == minute && last.tz_set == (tz != NULL) &&
	    (!tz || strcmp(last.tz, tz) == 0)) {
		*l = last.lt;
		return;
	}
	local_of_uncached((time_t)(ns / NS_PER_SEC), l, &gmtoff);
	last.valid = gmtoff % 60 == 0 && (!tz || strlen(tz) < sizeof(last.tz));
	if (!last.valid)
		return;
	last.minute = minute;
	last.tz_set = tz != NULL;
	if (tz)
		strcpy(last.tz, tz);
	last.lt = *l;
}

static void clock_text(uint64_t ns, char *out, size_t n)
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	struct tm tm;

	if (!localtime_r(&sec, &tm))
		snprintf(out, n, "?");
	else
		snprintf(out, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_sorted(const uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

/* Median and median absolute deviation of n values (sorted in place). */
static void median_mad(uint64_t *v, size_t n, double *median, double *mad)
{
	double *dev, m;
	size_t i;

	*median = *mad = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	m = median_sorted(v, n);
	*median = m;
	dev = malloc(n * sizeof(*dev));
	if (!dev)
		return;
	for (i = 0; i < n; i++)
		dev[i] = (double)v[i] > m ? (double)v[i] - m : m - (double)v[i];
	/* Sorting doubles as integers of half-units keeps one comparator. */
	for (i = 0; i < n; i++)
		v[i] = (uint64_t)(dev[i] * 2);
	qsort(v, n, sizeof(*v), cmp_u64);
	*mad = median_sorted(v, n) / 2;
	free(dev);
}

/* ---- key sets and windows ------------------------------------------------ */

/* 1 when the key is new to the set. */
static int keyset_add(struct keyset *ks, uint64_t key, uint64_t t)
{
	struct key_entry *e;

	HASH_FIND(hh, ks->h, &key, sizeof(key), e);
	if (e) {
		if (t > e->t)
			e->t = t;
		return 0;
	}
	if (ks->n >= KEYSET_MAX) {
		ks->full = true;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;
	e->key = key;
	e->t = t;
	HASH_ADD(hh, ks->h, key, sizeof(key), e);
	if (ks->n == 0 || t < ks->oldest)
		ks->oldest = t;
	ks->n++;
	return 1;
}

static void keyset_prune(struct keyset *ks, uint64_t before)
{
	struct key_entry *e, *tmp;
	uint64_t oldest = UINT64_MAX;

	if (ks->n == 0 || ks->oldest >= before)
		return;
	HASH_ITER(hh, ks->h, e, tmp) {
		if (e->t < before) {
			HASH_DEL(ks->h, e);
			free(e);
			ks->n--;
			ks->full = false;
		} else if (e->t < oldest) {
			oldest = e->t;
		}
	}
	ks->oldest = oldest;
}

static void keyset_clear(struct keyset *ks)
{
	keyset_prune(ks, UINT64_MAX);
	ks->full = false;
}

static void window_add(struct window *w, uint64_t span_ns, uint64_t t, uint64_t v)
{
	uint64_t bucket_ns = span_ns / WIN_BUCKETS ? span_ns / WIN_BUCKETS : 1;
	uint64_t b;
	size_t s;

	if (w->bucket_ns != bucket_ns) {
		memset(w, 0, sizeof(*w));
		w->bucket_ns = bucket_ns;
	}
	b = t / bucket_ns;
	s = b % WIN_BUCKETS;
	if (w->idx[s] != b) {
		w->idx[s] = b;
		w->val[s] = 0;
	}
	w->val[s] += v;
}

static uint64_t window_sum(const struct window *w, uint64_t t)
{
	uint64_t b, sum = 0;
	size_t s;

	if (!w->bucket_ns)
		return 0;
	b = t / w->bucket_ns;
	for (s = 0; s < WIN_BUCKETS; s++)
		if (w->idx[s] <= b && w->idx[s] + WIN_BUCKETS > b)
			sum += w->val[s];
	return sum;
}

/* ---- persisted state ----------------------------------------------------- */

static void note_deleted(struct pw_detector *d, const char *kind, const char *principal,
			 const char *dataset)
{
	struct deleted_row *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = strdup(kind);
	r->principal = strdup(principal);
	r->dataset = strdup(dataset);
	r->next = d->deleted;
	d->deleted = r;
}

static void free_volume(struct volume *v)
{
	free(v->key);
	free(v->days);
	keyset_clear(&v->day_files);
	keyset_clear(&v->win_files);
	free(v);
}

/* Volumes are keyed by "principal\0dataset". */
static char *volume_key(const char *principal, const char *dataset, size_t *len)
{
	size_t pl = strlen(principal), dl = strlen(dataset);
	char *key = malloc(pl + dl + 2);

	if (!key)
		return NULL;
	memcpy(key, principal, pl + 1);
	memcpy(key + pl + 1, dataset, dl + 1);
	*len = pl + dl + 1;
	return key;
}

static struct volume *volume_get(struct pw_detector *d, const char *principal,
				 const char *dataset, bool *created)
{
	struct volume *v;
	size_t pl = strlen(principal), dl = strlen(dataset), len = pl + dl + 1;
	char look[512], *key;

	if (created)
		*created = false;
	/* Looked up without an allocation: every read asks twice. */
	if (len < sizeof(look)) {
		memcpy(look, principal, pl + 1);
		memcpy(look + pl + 1, dataset, dl + 1);
		HASH_FIND(hh, d->volumes, look, len, v);
		if (v)
			return v;
	}
	key = volume_key(principal, dataset, &len);
	if (!key)
		return NULL;
	HASH_FIND(hh, d->volumes, key, len, v);
	if (v) {
		free(key);
		return v;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		free(key);
		return NULL;
	}
	v->key = key;
	v->principal = key;
	v->dataset = key + strlen(principal) + 1;
	v->files_day = -1;
	HASH_ADD_KEYPTR(hh, d->volumes, v->key, len, v);
	if (created)
		*created = true;
	return v;
}

static struct day_total *volume_day(struct volume *v, int64_t day)
{
	struct day_total *grown;
	size_t i;

	for (i = v->n_days; i > 0; i--) {
		if (v->days[i - 1].day == day)
			return &v->days[i - 1];
		if (v->days[i - 1].day < day)
			break;
	}
	if (v->n_days >= DAYS_MAX) {
		if (i == 0)
			return NULL; /* older than everything kept */
		memmove(v->days, v->days + 1, (v->n_days - 1) * sizeof(*v->days));
		v->n_days--;
		i--;
	}
	grown = realloc(v->days, (v->n_days + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	v->days = grown;
	memmove(v->days + i + 1, v->days + i, (v->n_days - i) * sizeof(*v->days));
	v->n_days++;
	memset(&v->days[i], 0, sizeof(v->days[i]));
	v->days[i].day = day;
	return &v->days[i];
}

static const struct day_total *volume_day_find(const struct volume *v, int64_t day)
{
	size_t i;

	for (i = v->n_days; i > 0; i--)
		if (v->days[i - 1].day == day)
			return &v->days[i - 1];
	return NULL;
}

static void volume_prune_days(struct volume *v, int64_t oldest_day)
{
	size_t i = 0;

	while (i < v->n_days && v->days[i].day < oldest_day)
		i++;
	if (i == 0)
		return;
	memmove(v->days, v->days + i, (v->n_days - i) * sizeof(*v->days));
	v->n_days -= i;
}

/* Bytes read at t, and file a file key (0: none) read at t. */
static void volume_add(struct pw_detector *d, struct volume *v, uint64_t t, uint64_t bytes,
		       uint64_t file, uint64_t window_ns)
{
	struct local_time lt;
	struct day_total *day;

	local_of(t, &lt);
	day = volume_day(v, lt.day);
	if (day) {
		day->bytes += bytes;
		if (file) {
			if (v->files_day != lt.day) {
				keyset_clear(&v->day_files);
				v->files_day = lt.day;
			}
			day->files += (uint64_t)keyset_add(&v->day_files, file, t);
		}
	}
	volume_prune_days(v, lt.day - (int64_t)d->pol->baseline_days);
	window_add(&v->win, window_ns, t, bytes);
	if (file)
		keyset_add(&v->win_files, file, t);
	if (t >= window_ns)
		keyset_prune(&v->win_files, t - window_ns);
	if (t > v->last_ns)
		v->last_ns = t;
	v->dirty = true;
}

struct baseline {
	size_t days;                 /* active days in the baseline window */
	double median;
	double mad;
	double second;               /* the second-busiest day */
	double high;                 /* the usual high: see volume_baseline() */
	double limit;                /* far above the usual */
};

/*
 * The daily totals before the day before, within the baseline window that
 * ends today.  The usual
 * high is the larger of the median plus three robust standard deviations
 * (1.4826 MAD) and the second-busiest day: a weekly full backup or a
 * monthly report is usual once it happened twice, while a single odd day
 * (which may be the theft itself) never raises the bar.  "Far above" is
 * the larger of factor times the median and twice the usual high.
 */
static void volume_baseline(const struct pw_detector *d, const struct volume *v, int64_t today,
			    int64_t before, bool files, uint64_t factor, struct baseline *b)
{
	uint64_t *vals = malloc((v->n_days ? v->n_days : 1) * sizeof(*vals));
	size_t i, n = 0;

	memset(b, 0, sizeof(*b));
	if (!vals)
		return;
	for (i = 0; i < v->n_days; i++)
		if (v->days[i].day < before &&
		    v->days[i].day >= today - (int64_t)d->pol->baseline_days)
			vals[n++] = files ? v->days[i].files : v->days[i].bytes;
	b->days = n;
	if (n) {
		qsort(vals, n, sizeof(*vals), cmp_u64);
		b->second = (double)vals[n >= 2 ? n - 2 : 0];
	}
	median_mad(vals, n, &b->median, &b->mad);
	b->high = b->median + 3 * 1.4826 * b->mad;
	if (b->second > b->high)
		b->high = b->second;
	b->limit = (double)factor * b->median > 2 * b->high ? (double)factor * b->median :
							       2 * b->high;
	free(vals);
}

static void free_principal(struct principal *p)
{
	size_t i;

	for (i = 0; i < p->n_sources; i++) {
		free(p->sources[i].host);
		free(p->sources[i].net);
	}
	free(p->hours);
	free(p->name);
	free(p);
}

static struct principal *principal_get(struct pw_detector *d, const char *name)
{
	struct principal *p;

	HASH_FIND_STR(d->principals, name, p);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	if (!p->name) {
		free(p);
		return NULL;
	}
	p->bulk_day = -1;
	p->bulk_week_day = -1;
	HASH_ADD_KEYPTR(hh, d->principals, p->name, strlen(p->name), p);
	return p;
}

static void principal_add_hour(struct pw_detector *d, struct principal *p,
			       const struct local_time *lt, uint64_t t)
{
	uint32_t enc = (uint32_t)lt->day * 168 + lt->slot;
	int64_t oldest = lt->day - (int64_t)d->pol->baseline_days;
	size_t i, kept = 0;
	uint32_t *grown;

	if (t > p->last_ns)
		p->last_ns = t;
	if (p->n_hours && p->last_hour == enc)
		return;
	p->last_hour = enc;
	for (i = 0; i < p->n_hours; i++)
		if (p->hours[i] == enc)
			return;
	for (i = 0; i < p->n_hours; i++)
		if ((int64_t)(p->hours[i] / 168) >= oldest)
			p->hours[kept++] = p->hours[i];
	p->n_hours = kept;
	if (p->n_hours >= HOURS_MAX) {
		memmove(p->hours, p->hours + 1, (p->n_hours - 1) * sizeof(*p->hours));
		p->n_hours--;
	}
	grown = realloc(p->hours, (p->n_hours + 1) * sizeof(*grown));
	if (!grown)
		return;
	p->hours = grown;
	p->hours[p->n_hours++] = enc;
	p->dirty = true;
}

/* Distinct days within the baseline window, before today, on which the
 * principal read protected data within two hours of this time of day,
 * whatever the weekday: a daily routine is learned in min_days days, and
 * an evening of overtime is not a night. */
static size_t principal_usual_days(const struct pw_detector *d, const struct principal *p,
				   const struct local_time *lt)
{
	int64_t seen[DAYS_MAX];
	unsigned hour = lt->slot % 24;
	size_t i, j, n = 0;

	for (i = 0; p && i < p->n_hours && n < DAYS_MAX; i++) {
		int64_t day = p->hours[i] / 168;
		unsigned h = p->hours[i] % 168 % 24;
		unsigned diff = h > hour ? h - hour : hour - h;

		if (day >= lt->day || day < lt->day - (int64_t)d->pol->baseline_days)
			continue;
		if (diff > 2 && diff < 22)
			continue;
		for (j = 0; j < n && seen[j] != day; j++)
			;
		if (j == n)
			seen[n++] = day;
	}
	return n;
}

static struct source *principal_source(struct principal *p, const char *host, const char *net,
				       bool *known_host, bool *known_net)
{
	size_t i;

	*known_host = *known_net = false;
	for (i = 0; i < p->n_sources; i++) {
		if (strcmp(p->sources[i].host, host) == 0)
			*known_host = true;
		if (strcmp(p->sources[i].net, net) == 0)
			*known_net = true;
	}
	for (i = 0; i < p->n_sources; i++)
		if (strcmp(p->sources[i].host, host) == 0)
			return &p->sources[i];
	return NULL;
}

static void principal_note_source(struct principal *p, const char *host, const char *net,
				  uint64_t t)
{
	bool kh, kn;
	struct source *s = principal_source(p, host, net, &kh, &kn);
	size_t i, oldest = 0;

	if (!s) {
		if (p->n_sources < SOURCES_MAX) {
			s = &p->sources[p->n_sources++];
		} else {
			for (i = 1; i < p->n_sources; i++)
				if (p->sources[i].last_ns < p->sources[oldest].last_ns)
					oldest = i;
			s = &p->sources[oldest];
			free(s->host);
			free(s->net);
		}
		s->host = strdup(host);
		s->net = strdup(net);
		if (!s->host || !s->net) {
			free(s->host);
			free(s->net);
			*s = p->sources[--p->n_sources];
			return;
		}
	}
	if (t > s->last_ns)
		s->last_ns = t;
	if (t > p->last_ns)
		p->last_ns = t;
	p->dirty = true;
}

static void drop_open(struct pw_detector *d, struct open_acc *o)
{
	char id[24];

	if (o->persisted) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)o->key.access_id);
		note_deleted(d, "open", o->key.boot, id);
	}
	HASH_DEL(d->open, o);
	d->n_open--;
	free(o);
}

/* The counts remembered of an access; created when create is set. */
static struct open_acc *open_get(struct pw_detector *d, const char *boot, uint64_t access_id,
				 bool create, bool *is_new)
{
	struct open_key k;
	struct open_acc *o, *e, *tmp, *oldest = NULL;

	memset(&k, 0, sizeof(k));
	pw_str_append(k.boot, sizeof(k.boot), 0, boot);
	k.access_id = access_id;
	HASH_FIND(hh, d->open, &k, sizeof(k), o);
	*is_new = !o;
	if (o || !create)
		return o;
	if (d->n_open >= OPEN_MAX) {
		HASH_ITER(hh, d->open, e, tmp)
			if (!oldest || e->last_ns < oldest->last_ns)
				oldest = e;
		drop_open(d, oldest);
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->key = k;
	HASH_ADD(hh, d->open, key, sizeof(k), o);
	d->n_open++;
	return o;
}

/* ---- actors --------------------------------------------------------------- */

static void free_actor(struct actor *a)
{
	struct actor_ds *ds, *next;
	size_t i;

	for (ds = a->ds; ds; ds = next) {
		next = ds->next;
		keyset_clear(&ds->files);
		free(ds->name);
		free(ds);
	}
	for (i = 0; i < a->n_pend; i++)
		free(a->pend[i].prog);
	for (i = 0; i < a->n_privs; i++)
		free(a->privs[i].prog);
	keyset_clear(&a->opened);
	keyset_clear(&a->destroyed);
	free(a->user);
	free(a->rhost);
	free(a->program);
	free(a);
}

static void drop_actor(struct pw_detector *d, struct actor *a)
{
	HASH_DEL(d->actors, a);
	d->n_actors--;
	free_actor(a);
}

static struct actor *actor_get(struct pw_detector *d, const char *boot, uint32_t ses, uint32_t pid,
			       uint64_t t)
{
	struct actor_key k;
	struct actor *a, *e, *tmp, *oldest = NULL;

	memset(&k, 0, sizeof(k));
	pw_str_append(k.boot, sizeof(k.boot), 0, boot);
	k.ses = ses;
	k.pid = ses == PW_NO_ID ? pid : 0;
	HASH_FIND(hh, d->actors, &k, sizeof(k), a);
	if (!a) {
		if (d->n_actors >= ACTORS_MAX) {
			HASH_ITER(hh, d->actors, e, tmp)
				if (!oldest || e->last_ns < oldest->last_ns)
					oldest = e;
			drop_actor(d, oldest);
		}
		a = calloc(1, sizeof(*a));
		if (!a)
			return NULL;
		a->key = k;
		a->is_session = ses != PW_NO_ID;
		a->keep = 1;
		a->first_ns = t;
		HASH_ADD(hh, d->actors, key, sizeof(k), a);
		d->n_actors++;
	}
	if (t > a->last_ns)
		a->last_ns = t;
	if (t < a->first_ns)
		a->first_ns = t;
	return a;
}

/* The actor behind an access or event, with what the record says of it. */
static struct actor *actor_for(struct pw_detector *d, const char *boot, uint32_t ses, uint32_t pid,
			       uint64_t t, const char *user, const char *exe, const char *comm,
			       const char *rhost, int64_t session_id)
{
	struct actor *a = actor_get(d, boot, ses, pid, t);

	if (!a)
		return NULL;
	if (!a->user)
		replace_str(&a->user, user);
	if (!a->rhost)
		replace_str(&a->rhost, rhost);
	if (!a->is_session)
		replace_str(&a->program, exe && *exe ? exe : comm);
	if (session_id && !a->session_id)
		a->session_id = session_id;
	return a;
}

static struct actor_ds *actor_ds_get(struct actor *a, const char *name)
{
	struct actor_ds *ds;

	for (ds = a->ds; ds; ds = ds->next)
		if (strcmp(ds->name, name) == 0)
			return ds;
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	ds->name = strdup(name);
	if (!ds->name) {
		free(ds);
		return NULL;
	}
	ds->next = a->ds;
	a->ds = ds;
	return ds;
}

/* The dataset an actor read most of, for reasons: "customers (412.0 MiB)". */
static void actor_read_summary(const struct actor *a, char *out, size_t n)
{
	const struct actor_ds *ds, *top = NULL;
	char b[32];

	for (ds = a->ds; ds; ds = ds->next)
		if (strcmp(ds->name, ALL_DATASETS) != 0 && (!top || ds->bytes > top->bytes))
			top = ds;
	if (!top) {
		snprintf(out, n, "protected data");
		return;
	}
	fmt_bytes(top->bytes, b, sizeof(b));
	snprintf(out, n, "%s (%s)", top->name, b);
}

/* Who a is, in words, into out; returns out, so that an alert's
 * arguments can make the text only when the alert fires. */
static const char *who(const struct actor *a, char *out, size_t n)
{
	if (a->is_session && a->key.ses == PW_NO_ID)
		snprintf(out, n, "%s (login without an audit session%s%s)", a->user ? a->user : "?",
			 a->rhost ? " from " : "", a->rhost ? a->rhost : "");
	else if (a->is_session)
		snprintf(out, n, "%s (session %u%s%s)", a->user ? a->user : "?", a->key.ses,
			 a->rhost ? " from " : "", a->rhost ? a->rhost : "");
	else if (a->key.boot[0])
		snprintf(out, n, "%s (pid %u, no login session%s%s)",
			 a->program ? a->program : "?", a->key.pid, a->user ? ", user " : "",
			 a->user ? a->user : "");
	else
		snprintf(out, n, "piiwatchd");
	return out;
}

/* ---- alerts ---------------------------------------------------------------- */

static double severity_weight(int s)
{
	switch (s) {
	case PW_SEV_LOW:
		return 0.10;
	case PW_SEV_MEDIUM:
		return 0.25;
	case PW_SEV_HIGH:
		return 0.50;
	case PW_SEV_CRITICAL:
		return 0.80;
	}
	return 0.25;
}

/* 0..100 with one decimal: the same text in the store, the JSON and the
 * replay. */
static double risk_score(const struct actor *a)
{
	return (double)(int64_t)(1000 * (1 - a->keep) + 0.5) / 10;
}

static bool learning(const struct pw_detector *d, uint64_t t)
{
	return t < d->first_ns + d->pol->learning_ns;
}

/* Whether rule may alert for this actor at t: enabled, and not already
 * raised for this login session (outside sessions: not within repeat). */
static bool wants(const struct pw_detector *d, const struct actor *a, enum pw_rule_id rule,
		  uint64_t t)
{
	if (!d->pol->rules[rule].enabled || !a)
		return false;
	if (!a->fired[rule])
		return true;
	return !a->is_session && t >= a->fired_at[rule] + d->pol->repeat_ns;
}

static void fire(struct pw_detector *d, struct actor *a, enum pw_rule_id rule, uint64_t t,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fire(struct pw_detector *d, struct actor *a, enum pw_rule_id rule, uint64_t t,
		 const char *fmt, ...)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[rule];
	struct pw_alert al;
	va_list ap;
	bool quarantine;

	if (!wants(d, a, rule, t))
		return;
	a->fired[rule] = true;
	a->fired_at[rule] = t;
	a->keep *= 1 - severity_weight(rc->severity);
	memset(&al, 0, sizeof(al));
	snprintf(al.rule_id, sizeof(al.rule_id), "%s", pw_rule_name(rule));
	al.severity = (enum pw_severity)rc->severity;
	snprintf(al.user, sizeof(al.user), "%s", a->user ? a->user : "");
	utf8_trim(al.user);
	al.audit_session = a->is_session ? a->key.ses : PW_NO_ID;
	al.session_id = a->session_id;
	al.time_ns = t;
	al.score = risk_score(a);
	va_start(ap, fmt);
	vsnprintf(al.reason, sizeof(al.reason), fmt, ap);
	va_end(ap);
	utf8_trim(al.reason);
	quarantine = rc->action == PW_ACTION_QUARANTINE && a->is_session && al.user[0] &&
		     strcmp(al.user, "root") != 0;
	d->cb(d->ctx, &al, quarantine);
}

/* ---- the rules ------------------------------------------------------------- */

/*
 * Bytes or files read of one dataset (or of all: ALL_DATASETS) in this
 * login session or within the window, over the cap and far above the
 * principal's usual high.  A program the dataset allows is judged against
 * its own habits only: nothing before it has a baseline.  p is v's
 * principal (principal_get()), NULL when it could not be kept.
 */
static void check_bulk(struct pw_detector *d, struct actor *a, struct volume *v,
		       struct principal *p, const char *dataset, bool allowed, uint64_t session_bytes,
		       uint64_t session_files, uint64_t t, const struct local_time *lt)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[PW_RULE_BULK_READ];
	uint64_t win_bytes = window_sum(&v->win, t), win_files = v->win_files.n;
	uint64_t bytes, files;
	const struct day_total *today;
	struct baseline bb, bf;
	char who_s[1200], span[96], got[32], med[32], mad[32], high[32], lim[32], cap[32];
	char base[400], what[96] = "", win[32], dur[32];
	const char *whose = a->is_session ? "this user" : "this program";
	bool by_bytes, by_files, established;
	int span_kind;

	if (!wants(d, a, PW_RULE_BULK_READ, t))
		return;
	/* The largest of what this login session read (a service's process
	 * lives for weeks: not for processes), what the principal read
	 * within the window, and what it read today. */
	bytes = a->is_session ? session_bytes : 0;
	files = a->is_session ? session_files : 0;
	span_kind = 1;
	/* Another session of the same principal the same day adds nothing
	 * to a finding about the principal's day or window. */
	today = volume_day_find(v, lt->day);
	if (!p || p->bulk_day != lt->day) {
		if (win_bytes > bytes) {
			bytes = win_bytes;
			files = win_files;
			span_kind = 0;
		}
		if (today && today->bytes > bytes) {
			bytes = today->bytes;
			files = today->files;
			span_kind = 2;
		}
	}
	by_bytes = bytes > rc->max_bytes;
	by_files = files > rc->max_files;
	if (!by_bytes && !by_files)
		return;
	volume_baseline(d, v, lt->day, lt->day, false, rc->factor, &bb);
	volume_baseline(d, v, lt->day, lt->day, true, rc->factor, &bf);
	established = bb.days >= rc->min_days;
	if (!established && allowed)
		return;
	if (established) {
		by_bytes = by_bytes && (double)bytes > bb.limit;
		by_files = by_files && (double)files > bf.limit;
		if (!by_bytes && !by_files)
			return;
	}
	who(a, who_s, sizeof(who_s));
	fmt_bytes(bytes, got, sizeof(got));
	fmt_duration(rc->window_ns, win, sizeof(win));
	fmt_duration(t > a->first_ns ? t - a->first_ns : 0, dur, sizeof(dur));
	if (span_kind == 1)
		snprintf(span, sizeof(span), "in %s of this session", dur);
	else if (span_kind == 2)
		snprintf(span, sizeof(span), "today");
	else
		snprintf(span, sizeof(span), "within %s", win);
	if (strcmp(dataset, ALL_DATASETS) == 0)
		snprintf(what, sizeof(what), "all datasets");
	else
		snprintf(what, sizeof(what), "dataset %s", dataset);
	if (established && by_bytes) {
		fmt_bytes((uint64_t)bb.median, med, sizeof(med));
		fmt_bytes((uint64_t)bb.mad, mad, sizeof(mad));
		fmt_bytes((uint64_t)bb.high, high, sizeof(high));
		fmt_bytes((uint64_t)bb.limit, lim, sizeof(lim));
		snprintf(base, sizeof(base),
			 "%s's median over %zu active days is %s/day (MAD %s) and its usual high "
			 "%s: the limit is %s (the larger of %llu times the median and twice the "
			 "usual high), and the cap is ",
			 whose, bb.days, med, mad, high, lim, (unsigned long long)rc->factor);
	} else if (established) {
		snprintf(base, sizeof(base),
			 "%s's median over %zu active days is %.0f files/day and its usual high "
			 "%.0f: the limit is %.0f files, and the cap is ",
			 whose, bf.days, bf.median, bf.high, bf.limit);
	} else {
		snprintf(base, sizeof(base), "no baseline yet (%zu of %llu active days); the cap is ",
			 bb.days, (unsigned long long)rc->min_days);
	}
	fmt_bytes(rc->max_bytes, cap, sizeof(cap));
	if (p)
		p->bulk_day = lt->day;
	if (by_bytes)
		fire(d, a, PW_RULE_BULK_READ, t, "%s read %s (%llu files) of %s %s; %s%s", who_s, got,
		     (unsigned long long)files, what, span, base, cap);
	else
		fire(d, a, PW_RULE_BULK_READ, t, "%s read %llu%s distinct files (%s) of %s %s; %s%llu files",
		     who_s, (unsigned long long)files, v->win_files.full ? "+" : "", got, what, span,
		     base, (unsigned long long)rc->max_files);
}

#define WEEK_DAYS 7
#define DRIP_DAYS 3
#define DRIP_FACTOR 3

/*
 * A slow drip under the cap: on DRIP_DAYS or more of the last seven days
 * the principal read more of the dataset than DRIP_FACTOR times its median
 * day and its usual high, both measured on the days before the week (so
 * that the drip does not become the habit), and the week's total is over
 * the cap.  Only with such a baseline (a new user's first week is not a
 * drip), and once a week per principal (p, as for check_bulk()).
 */
static void check_bulk_week(struct pw_detector *d, struct actor *a, struct volume *v,
			    struct principal *p, const char *dataset, uint64_t t, const struct local_time *lt)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[PW_RULE_BULK_READ];
	uint64_t bytes = 0, files = 0;
	struct baseline bb;
	char who_s[1200], got[32], med[32], mad[32], bar_s[32], cap[32], what[96];
	char days[WEEK_DAYS * 24] = "";
	size_t i, over = 0, o = 0;
	double bar;

	if (!wants(d, a, PW_RULE_BULK_READ, t))
		return;
	if (p && p->bulk_week_day >= 0 && lt->day < p->bulk_week_day + WEEK_DAYS)
		return;
	volume_baseline(d, v, lt->day, lt->day - WEEK_DAYS + 1, false, rc->factor, &bb);
	if (bb.days < rc->min_days)
		return;
	bar = DRIP_FACTOR * bb.median > bb.high ? DRIP_FACTOR * bb.median : bb.high;
	for (i = 0; i < v->n_days; i++) {
		const struct day_total *day = &v->days[i];

		if (day->day <= lt->day - WEEK_DAYS || day->day > lt->day)
			continue;
		bytes += day->bytes;
		files += day->files;
		if ((double)day->bytes <= bar)
			continue;
		over++;
		fmt_bytes(day->bytes, got, sizeof(got));
		if (o < sizeof(days))
			o += (size_t)snprintf(days + o, sizeof(days) - o, "%s%s", o ? ", " : "", got);
	}
	if (over < DRIP_DAYS || bytes <= rc->max_bytes)
		return;
	if (p)
		p->bulk_week_day = p->bulk_day = lt->day;
	who(a, who_s, sizeof(who_s));
	fmt_bytes(bytes, got, sizeof(got));
	fmt_bytes((uint64_t)bb.median, med, sizeof(med));
	fmt_bytes((uint64_t)bb.mad, mad, sizeof(mad));
	fmt_bytes((uint64_t)bar, bar_s, sizeof(bar_s));
	fmt_bytes(rc->max_bytes, cap, sizeof(cap));
	if (strcmp(dataset, ALL_DATASETS) == 0)
		snprintf(what, sizeof(what), "all datasets");
	else
		snprintf(what, sizeof(what), "dataset %s", dataset);
	fire(d, a, PW_RULE_BULK_READ, t,
	     "%s read more than %s/day of %s on %zu of the last %d days (%s), %s (%llu files) in "
	     "all; %s's median over %zu active days before them is %s/day (MAD %s): %s is the "
	     "larger of %d times the median and the usual high, and the cap is %s",
	     who_s, bar_s, what, over, WEEK_DAYS, days, got, (unsigned long long)files,
	     a->is_session ? "this user" : "this program", bb.days, med, mad, bar_s, DRIP_FACTOR,
	     cap);
}

/* A read of protected data over [from, to]: remembered for the chains
 * (exfil-chain), and matched against connects that came before it. */
static void note_read(struct pw_detector *d, struct actor *a, uint64_t from, uint64_t to,
		      uint64_t t)
{
	const uint64_t window = d->pol->rules[PW_RULE_EXFIL_CHAIN].window_ns;
	char who_s[1200], what[128], when[16];
	size_t i, j, oldest = 0;

	for (i = 0; i < a->n_reads; i++) {
		struct interval *r = &a->reads[i];

		if (from <= r->to && to >= r->from) {
			if (from < r->from)
				r->from = from;
			if (to > r->to)
				r->to = to;
			break;
		}
	}
	if (i == a->n_reads) {
		if (a->n_reads < READS_KEPT) {
			i = a->n_reads++;
		} else {
			for (j = 1; j < a->n_reads; j++)
				if (a->reads[j].to < a->reads[oldest].to)
					oldest = j;
			i = oldest;
		}
		a->reads[i].from = from;
		a->reads[i].to = to;
	}
	for (j = 0; j < a->n_pend;) {
		struct pending_connect *p = &a->pend[j];

		if (from <= p->ts && (to >= p->ts || p->ts - to <= window)) {
			who(a, who_s, sizeof(who_s));
			actor_read_summary(a, what, sizeof(what));
			clock_text(from, when, sizeof(when));
			fire(d, a, PW_RULE_EXFIL_CHAIN, t,
			     "%s read %s from %s, and %s (pid %u) %s %s port %d%s "
			     "while reading, outside the trusted networks",
			     who_s, what, when, p->prog ? p->prog : "?", p->pid, p->verb, p->ip, p->port,
			     p->result < 0 && p->result != -115 ? " (failed)" : "");
			free(p->prog);
			*p = a->pend[--a->n_pend];
			continue;
		}
		j++;
	}
}

static void check_destruction(struct pw_detector *d, struct actor *a, uint64_t key,
			      const char *what, const char *path, uint64_t t)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[PW_RULE_DESTRUCTION];
	char who_s[1200], win[32];

	if (!wants(d, a, PW_RULE_DESTRUCTION, t))
		return;
	keyset_add(&a->destroyed, key, t);
	if (t >= rc->window_ns)
		keyset_prune(&a->destroyed, t - rc->window_ns);
	if (a->destroyed.n <= rc->max_files)
		return;
	who(a, who_s, sizeof(who_s));
	fmt_duration(rc->window_ns, win, sizeof(win));
	fire(d, a, PW_RULE_DESTRUCTION, t,
	     "%s removed, renamed or overwrote %zu protected files within %s (limit %llu); the "
	     "latest: %s %s",
	     who_s, a->destroyed.n, win, (unsigned long long)rc->max_files, what, path);
}

static void check_privilege(struct pw_detector *d, struct actor *a, const struct pw_access *a_rec,
			    const char *prog, uint64_t t)
{
	const uint64_t window = d->pol->rules[PW_RULE_PRIVILEGE_CHANGE].window_ns;
	char who_s[1200], when[16], gap[32];
	size_t i;

	if (!a->is_session || !wants(d, a, PW_RULE_PRIVILEGE_CHANGE, t))
		return;
	for (i = 0; i < a->n_privs; i++) {
		const struct priv_run *p = &a->privs[i];

		if (a_rec->last_ns < p->ts || a_rec->opened_ns > p->ts + window)
			continue;
		who(a, who_s, sizeof(who_s));
		clock_text(p->ts, when, sizeof(when));
		fmt_duration(a_rec->opened_ns > p->ts ? a_rec->opened_ns - p->ts : 0, gap, sizeof(gap));
		fire(d, a, PW_RULE_PRIVILEGE_CHANGE, t,
		     "%s ran %s at %s and %s later %s (pid %u, uid %u) read %s of dataset %s",
		     who_s, p->prog, when, gap, prog, a_rec->pid, a_rec->uid,
		     a_rec->path ? a_rec->path : "?", a_rec->dataset ? a_rec->dataset : "?");
		return;
	}
}

static void on_staging_write(struct pw_detector *d, struct actor *a, const struct pw_access *r,
			     const char *prog, uint64_t t)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[PW_RULE_STAGING];
	char who_s[1200], what[128], b[32];

	if (r->bytes_written < (rc->min_bytes ? rc->min_bytes : 1) ||
	    allowed_anywhere(d->pol, r->exe) || !wants(d, a, PW_RULE_STAGING, t))
		return;
	who(a, who_s, sizeof(who_s));
	actor_read_summary(a, what, sizeof(what));
	fmt_bytes(r->bytes_written, b, sizeof(b));
	fire(d, a, PW_RULE_STAGING, t,
	     "%s: %s (pid %u) wrote %s to %s, a file outside the protected data, after reading %s",
	     who_s, prog, r->pid, b, r->path ? r->path : "?", what);
}

static void on_protected_access(struct pw_detector *d, struct actor *a, const struct pw_access *r,
				bool is_new, uint64_t d_read, bool first_write, uint64_t t)
{
	const struct pw_policy *pol = d->pol;
	const char *ds = r->dataset ? r->dataset : "?";
	const char *prog = r->exe ? r->exe : r->comm;
	const char *path = r->path ? r->path : "?";
	bool read = r->bytes_read || r->reads || (r->flags & PW_IO_MMAP);
	/* A mapping names no file of its own: its open was counted. */
	uint64_t fkey = r->dev || r->ino ? file_key(r->dev, r->ino) : 0;
	char who_s[1200], b[32], win[32], principal[1100];
	struct local_time lt;

	/* who_s is written only for an alert: most accesses raise none. */
	if (r->honeytoken && !allowed_around(pol, r->path, r->exe) &&
	    wants(d, a, PW_RULE_HONEYTOKEN, t)) {
		fmt_bytes(r->bytes_read, b, sizeof(b));
		fire(d, a, PW_RULE_HONEYTOKEN, t, "%s opened the honeytoken %s with %s (pid %u)%s%s",
		     who(a, who_s, sizeof(who_s)), path, prog, r->pid, read ? " and read " : "",
		     read ? b : "");
	}
	if (is_new && fkey && !allowed_for(pol, ds, r->exe) && wants(d, a, PW_RULE_ENUMERATION, t)) {
		const struct pw_rule_cfg *rc = &pol->rules[PW_RULE_ENUMERATION];

		keyset_add(&a->opened, fkey, r->opened_ns);
		if (t >= rc->window_ns)
			keyset_prune(&a->opened, t - rc->window_ns);
		if (a->opened.n > rc->max_files) {
			fmt_duration(rc->window_ns, win, sizeof(win));
			fire(d, a, PW_RULE_ENUMERATION, t,
			     "%s opened %zu distinct protected files within %s (limit %llu); the "
			     "latest: %s with %s",
			     who(a, who_s, sizeof(who_s)), a->opened.n, win,
			     (unsigned long long)rc->max_files, path, prog);
		}
	}
	if (((is_new && (r->open_flags & O_TRUNC)) || first_write) && !allowed_for(pol, ds, r->exe))
		check_destruction(d, a, fkey, r->open_flags & O_TRUNC ? "truncated" : "overwrote",
				  path, t);
	if (!read)
		return;
	if (!r->honeytoken) {
		struct actor_ds *ads = actor_ds_get(a, ds), *all = actor_ds_get(a, ALL_DATASETS);
		struct volume *v, *v_all;
		struct principal *p;
		bool created;
		int new_file = 0;
		size_t n;

		if (ads) {
			ads->bytes += d_read;
			new_file = fkey && keyset_add(&ads->files, fkey, t);
		}
		if (all) {
			all->bytes += d_read;
			if (fkey)
				keyset_add(&all->files, fkey, t);
		}
		n = pw_str_append(principal, sizeof(principal), 0,
				  a->is_session ? "user:" : "program:");
		pw_str_append(principal, sizeof(principal), n,
			      a->is_session ? (a->user ? a->user : "?") : prog);
		p = principal_get(d, principal);
		local_of(t, &lt);
		v = volume_get(d, principal, ds, &created);
		v_all = volume_get(d, principal, ALL_DATASETS, NULL);
		if (created && a->is_session && !learning(d, t) &&
		    wants(d, a, PW_RULE_FIRST_TOUCH, t))
			fire(d, a, PW_RULE_FIRST_TOUCH, t,
			     "%s read dataset %s for the first time (nothing of it in the last %llu "
			     "days): %s with %s",
			     who(a, who_s, sizeof(who_s)), ds,
			     (unsigned long long)pol->baseline_days, path, prog);
		if (v) {
			volume_add(d, v, t, d_read, new_file ? fkey : 0,
				   pol->rules[PW_RULE_BULK_READ].window_ns);
			if (ads)
				check_bulk(d, a, v, p, ds, allowed_for(pol, ds, r->exe), ads->bytes,
					   ads->files.n, t, &lt);
			check_bulk_week(d, a, v, p, ds, t, &lt);
		}
		if (v_all) {
			volume_add(d, v_all, t, d_read, new_file ? fkey : 0,
				   pol->rules[PW_RULE_BULK_READ].window_ns);
			if (all)
				check_bulk(d, a, v_all, p, ALL_DATASETS,
					   allowed_anywhere(pol, r->exe), all->bytes, all->files.n, t,
					   &lt);
			check_bulk_week(d, a, v_all, p, ALL_DATASETS, t, &lt);
		}
		if (a->is_session && p) {
			struct local_time at;

			local_of(r->opened_ns, &at);
			if (pol->have_hours && !pw_policy_is_working(pol, at.minute) &&
			    !learning(d, t) && wants(d, a, PW_RULE_OFF_HOURS, t)) {
				size_t usual = principal_usual_days(d, p, &at);

				if (usual < pol->rules[PW_RULE_OFF_HOURS].min_days)
					fire(d, a, PW_RULE_OFF_HOURS, t,
					     "%s read %s of dataset %s at %s, outside working hours; "
					     "this user read protected data within two hours of this "
					     "time on %zu of the last %llu days (%llu make it usual)",
					     who(a, who_s, sizeof(who_s)), path, ds, at.text, usual,
					     (unsigned long long)pol->baseline_days,
					     (unsigned long long)pol->rules[PW_RULE_OFF_HOURS].min_days);
			}
			principal_add_hour(d, p, &at, t);
		} else if (p && t > p->last_ns) {
			p->last_ns = t;
		}
		if (!a->is_session && !allowed_for(pol, ds, r->exe) &&
		    wants(d, a, PW_RULE_NO_SESSION, t))
			fire(d, a, PW_RULE_NO_SESSION, t,
			     "%s read %s of dataset %s outside any login session, and %s is not an "
			     "allowed program of that dataset",
			     who(a, who_s, sizeof(who_s)), path, ds, prog);
	}
	note_read(d, a, r->opened_ns, r->last_ns, t);
	if (program_listed(&pol->rules[PW_RULE_STAGING].programs, r->exe, r->comm) &&
	    wants(d, a, PW_RULE_STAGING, t))
		fire(d, a, PW_RULE_STAGING, t, "%s ran the archiver %s (pid %u) on protected data: %s of %s",
		     who(a, who_s, sizeof(who_s)), prog, r->pid, path,
		     r->honeytoken ? "honeytokens" : ds);
	check_privilege(d, a, r, prog, t);
}

/* ---- entry points ------------------------------------------------------------ */

static void gc(struct pw_detector *d)
{
	uint64_t now = d->watermark, keep_ns = d->pol->baseline_days * NS_PER_DAY;
	struct actor *a, *atmp;
	struct open_acc *o, *otmp;
	struct volume *v, *vtmp;
	struct principal *p, *ptmp;

	HASH_ITER(hh, d->actors, a, atmp)
		if (a->last_ns + ACTOR_IDLE_NS < now ||
		    (a->closed_ns && a->last_ns + CLOSED_IDLE_NS < now))
			drop_actor(d, a);
	HASH_ITER(hh, d->open, o, otmp)
		if (o->last_ns + OPEN_IDLE_NS < now)
			drop_open(d, o);
	HASH_ITER(hh, d->volumes, v, vtmp) {
		if (v->last_ns + keep_ns >= now)
			continue;
		if (v->persisted)
			note_deleted(d, "volume", v->principal, v->dataset);
		HASH_DEL(d->volumes, v);
		free_volume(v);
	}
	HASH_ITER(hh, d->principals, p, ptmp) {
		if (p->last_ns + keep_ns >= now)
			continue;
		if (p->persisted)
			note_deleted(d, "principal", p->name, "");
		HASH_DEL(d->principals, p);
		free_principal(p);
	}
	d->last_gc = now;
}

static void observe(struct pw_detector *d, uint64_t t)
{
	if (!d->first_ns || t < d->first_ns) {
		d->first_ns = t;
		d->meta_dirty = true;
	}
	if (t > d->watermark)
		d->watermark = t;
	if (d->watermark >= d->last_gc + GC_EVERY_NS)
		gc(d);
}

struct pw_detector *pw_detector_new(const struct pw_policy *pol, pw_alert_cb cb, void *ctx)
{
	struct pw_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->pol = pol;
	d->cb = cb;
	d->ctx = ctx;
	return d;
}

void pw_detector_free(struct pw_detector *d)
{
	struct actor *a, *atmp;
	struct open_acc *o, *otmp;
	struct volume *v, *vtmp;
	struct principal *p, *ptmp;
	struct deleted_row *r, *next;

	if (!d)
		return;
	HASH_ITER(hh, d->actors, a, atmp) {
		HASH_DEL(d->actors, a);
		free_actor(a);
	}
	HASH_ITER(hh, d->open, o, otmp) {
		HASH_DEL(d->open, o);
		free(o);
	}
	HASH_ITER(hh, d->volumes, v, vtmp) {
		HASH_DEL(d->volumes, v);
		free_volume(v);
	}
	HASH_ITER(hh, d->principals, p, ptmp) {
		HASH_DEL(d->principals, p);
		free_principal(p);
	}
	for (r = d->deleted; r; r = next) {
		next = r->next;
		free(r->kind);
		free(r->principal);
		free(r->dataset);
		free(r);
	}
	free(d);
}

void pw_detector_set_policy(struct pw_detector *d, const struct pw_policy *pol)
{
	d->pol = pol;
}

static bool local_or_trusted(const struct pw_policy *pol, const char *ip);

/* "198.51.100.0/24" for an address, "example.com" for "ws1.example.com". */
static void source_network(const struct pw_detector *d, const char *host, char *net, size_t n)
{
	const struct pw_rule_cfg *rc = &d->pol->rules[PW_RULE_NEW_SOURCE];
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	unsigned bits, i, len;
	int family;
	const char *dot;

	if (inet_pton(AF_INET, host, addr) == 1) {
		family = AF_INET;
		bits = (unsigned)rc->prefix4;
		len = 4;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		family = AF_INET6;
		bits = (unsigned)rc->prefix6;
		len = 16;
	} else {
		dot = strchr(host, '.');
		snprintf(net, n, "%s", dot && dot[1] ? dot + 1 : host);
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;

		addr[i] &= (unsigned char)(0xff00 >> keep);
	}
	inet_ntop(family, addr, text, sizeof(text));
	snprintf(net, n, "%s/%u", text, bits);
}

void pw_detector_session(struct pw_detector *d, const struct pw_session_record *r,
			 int64_t session_id)
{
	struct actor tmp, *a;
	struct principal *p;
	char principal[PW_ITEM_MAX + 8], net[PW_ITEM_MAX], who_s[2400];
	bool known_host, known_net;
	uint64_t t = r->time_ns;

	if (r->type != PW_REC_SESSION_OPEN && r->type != PW_REC_SESSION_CLOSE)
		return;
	observe(d, t);
	if (r->sessionid != PW_NO_ID) {
		a = actor_get(d, r->boot_id, r->sessionid, 0, t);
	} else {
		/* Without pam_loginuid nothing joins this login to its
		 * accesses: judge the login alone. */
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.key.boot, sizeof(tmp.key.boot), "%s", r->boot_id);
		tmp.key.ses = PW_NO_ID;
		tmp.is_session = true;
		tmp.keep = 1;
		a = &tmp;
	}
	if (!a)
		return;
	replace_str(&a->user, r->user);
	replace_str(&a->rhost, r->rhost);
	if (session_id)
		a->session_id = session_id;
	if (r->type == PW_REC_SESSION_CLOSE)
		a->closed_ns = t;
	if (r->type == PW_REC_SESSION_OPEN && r->rhost[0] && r->user[0]) {
		snprintf(principal, sizeof(principal), "user:%s", r->user);
		p = principal_get(d, principal);
		source_network(d, r->rhost, net, sizeof(net));
		if (p) {
			principal_source(p, r->rhost, net, &known_host, &known_net);
			/* A user's very first source is where they work from,
			 * unless it is outside the trusted networks. */
			if (!known_host && !known_net && !learning(d, t) &&
			    (p->n_sources || !local_or_trusted(d->pol, r->rhost)) &&
			    wants(d, a, PW_RULE_NEW_SOURCE, t)) {
				who(a, who_s, sizeof(who_s));
				fire(d, a, PW_RULE_NEW_SOURCE, t,
				     "%s: first %s session of this user from %s; %s",
				     who_s, r->service, r->rhost,
				     p->n_sources ? "neither this host nor its network was seen "
						    "for this user before" :
						    "no earlier remote session of this user was seen, and "
						    "it is outside the trusted networks");
			}
			principal_note_source(p, r->rhost, net, t);
		}
	}
	if (a == &tmp) {
		free(tmp.user);
		free(tmp.rhost);
	}
}

void pw_detector_access(struct pw_detector *d, const struct pw_access *r)
{
	uint64_t t = r->closed_ns ? r->closed_ns : r->last_ns;
	const char *prog = r->exe ? r->exe : r->comm;
	uint64_t d_read = r->bytes_read;
	bool is_new = true, first_write;
	struct open_acc *o;
	struct actor *a;

	observe(d, t);
	/* An access that opens and closes in one record (most do) needs no
	 * entry: there is nothing to remember of it. */
	o = open_get(d, r->boot_id, r->access_id, !r->closed_ns, &is_new);
	first_write = r->bytes_written > 0;
	if (o) {
		d_read = r->bytes_read > o->read ? r->bytes_read - o->read : 0;
		first_write = r->bytes_written > 0 && o->written == 0;
		if (r->bytes_read > o->read)
			o->read = r->bytes_read;
		if (r->bytes_written > o->written)
			o->written = r->bytes_written;
		o->last_ns = t;
		o->dirty = true;
	}
	a = actor_for(d, r->boot_id, r->audit_session, r->pid, t, r->user, r->exe, r->comm,
		      r->rhost, r->session_id);
	if (a) {
		if (r->opened_ns && r->opened_ns < a->first_ns)
			a->first_ns = r->opened_ns;
		if (r->staging)
			on_staging_write(d, a, r, prog, t);
		else
			on_protected_access(d, a, r, is_new, d_read, first_write, t);
	}
	if (o && r->closed_ns)
		drop_open(d, o);
}

/* Loopback, unspecified, or in a trusted network; a name (not an address)
 * counts as neither. */
static bool local_or_trusted(const struct pw_policy *pol, const char *ip)
{
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t a[16] = { 0 };
	static const uint8_t zero[16] = { 0 };

	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 127 || memcmp(a, zero, 4) == 0 || pw_policy_is_trusted(pol, AF_INET, a);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	if (memcmp(a, v4_mapped, 12) == 0)
		return a[12] == 127 || memcmp(a + 12, zero, 4) == 0 ||
		       pw_policy_is_trusted(pol, AF_INET, a + 12);
	return (memcmp(a, zero, 15) == 0 && a[15] <= 1) || pw_policy_is_trusted(pol, AF_INET6, a);
}

static void on_connect(struct pw_detector *d, struct actor *a, const struct pw_event_rec *e)
{
	const uint64_t window = d->pol->rules[PW_RULE_EXFIL_CHAIN].window_ns;
	const char *prog = e->exe ? e->exe : e->comm ? e->comm : "?";
	/* A send to an address (a datagram) names its destination without
	 * a connect: the action says which. */
	const char *verb = e->action && strstr(e->action, "send") ? "sent data to" : "connected to";
	char who_s[1200], what[128], when[16];
	struct pending_connect *p;
	size_t i;

	/* An address the kernel side could not read is not known to be
	 * trusted. */
	const char *dest = e->dest_ip ? e->dest_ip : "an unreadable address";

	if ((e->dest_ip && local_or_trusted(d->pol, e->dest_ip)) ||
	    !wants(d, a, PW_RULE_EXFIL_CHAIN, e->ts_ns))
		return;
	for (i = 0; i < a->n_reads; i++) {
		const struct interval *r = &a->reads[i];

		if (r->from <= e->ts_ns && (r->to >= e->ts_ns || e->ts_ns - r->to <= window)) {
			who(a, who_s, sizeof(who_s));
			actor_read_summary(a, what, sizeof(what));
			clock_text(r->to < e->ts_ns ? r->to : e->ts_ns, when, sizeof(when));
			fire(d, a, PW_RULE_EXFIL_CHAIN, e->ts_ns,
			     "%s read %s, the latest at %s, and then %s (pid %u) %s %s port "
			     "%d%s, outside the trusted networks",
			     who_s, what, when, prog, e->pid, verb, dest, e->dest_port,
			     e->result < 0 && e->result != -115 ? " (failed)" : "");
			return;
		}
	}
	/* The read behind it may still be open, its record yet to come. */
	if (a->n_pend == PENDING_MAX) {
		free(a->pend[0].prog);
		memmove(a->pend, a->pend + 1, (PENDING_MAX - 1) * sizeof(*a->pend));
		a->n_pend--;
	}
	p = &a->pend[a->n_pend++];
	memset(p, 0, sizeof(*p));
	p->ts = e->ts_ns;
	p->pid = e->pid;
	p->port = e->dest_port;
	p->result = e->result;
	p->verb = verb;
	snprintf(p->ip, sizeof(p->ip), "%s", dest);
	p->prog = strdup(prog);
}

static void on_change(struct pw_detector *d, struct actor *a, const struct pw_event_rec *e)
{
	static const char *const destructive[] = { "unlink", "rmdir", "rename", "truncate",
						   "punch-hole", "collapse-range", "zero-range",
						   "insert-range", "write-zeroes", "fallocate" };
	const char *prog = e->exe ? e->exe : e->comm ? e->comm : "?";
	const char *path = e->path ? e->path : "?";
	char who_s[1200];
	size_t i;

	if (e->honeytoken && wants(d, a, PW_RULE_HONEYTOKEN, e->ts_ns)) {
		who(a, who_s, sizeof(who_s));
		fire(d, a, PW_RULE_HONEYTOKEN, e->ts_ns, "%s: %s (pid %u) did %s on the honeytoken %s",
		     who_s, prog, e->pid, e->action ? e->action : "a change", path);
	}
	if (e->result < 0 || !e->action || allowed_for(d->pol, e->dataset, e->exe))
		return;
	for (i = 0; i < sizeof(destructive) / sizeof(destructive[0]); i++)
		if (strcmp(e->action, destructive[i]) == 0)
			check_destruction(d, a, path_key(path), e->action, path, e->ts_ns);
}

static void on_loss(struct pw_detector *d, const char *boot, const struct pw_event_rec *e)
{
	static const char *const actions[] = { "ring-full", "untracked-opens", "unfollowed-changes",
					       "unwatched" };
	char dur[32];
	struct actor *a;
	uint32_t code = 0;
	size_t i;

	/* A daemon that stops and detaches says so; the alert comes when the
	 * next one starts and knows how long nothing was watched. */
	if (e->action && strcmp(e->action, "detached") == 0)
		return;
	for (i = 0; e->action && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(e->action, actions[i]) == 0)
			code = (uint32_t)i + 1;
	/* The daemon is the actor, one per kind of blind spot, each
	 * re-alerting after [detector] repeat. */
	a = actor_get(d, "", PW_NO_ID, code, e->ts_ns);
	if (!a)
		return;
	switch (code) {
	case 1:
		fire(d, a, PW_RULE_BLIND_SPOT, e->ts_ns,
		     "%llu kernel events were lost (ring buffer full) on boot %s: accesses in that "
		     "time may be missing",
		     (unsigned long long)e->count, boot);
		break;
	case 2:
		fire(d, a, PW_RULE_BLIND_SPOT, e->ts_ns,
		     "%llu opens of protected files were not tracked (open-file map full): their "
		     "reads were not counted",
		     (unsigned long long)e->count);
		break;
	case 3:
		fire(d, a, PW_RULE_BLIND_SPOT, e->ts_ns,
		     "%llu changes to files were not followed (scratch map full): renames, "
		     "removals or truncations of protected files may be missing",
		     (unsigned long long)e->count);
		break;
	case 4:
		fmt_duration(e->count * NS_PER_SEC, dur, sizeof(dur));
		fire(d, a, PW_RULE_BLIND_SPOT, e->ts_ns,
		     "piiwatchd started without its probes attached; its last record was %s "
		     "earlier: what happened while no probe was attached was not seen",
		     dur);
		break;
	default:
		fire(d, a, PW_RULE_BLIND_SPOT, e->ts_ns, "blind spot reported: %s (%llu)",
		     e->action ? e->action : "?", (unsigned long long)e->count);
	}
}

void pw_detector_event(struct pw_detector *d, const char *boot_id, const struct pw_event_rec *e)
{
	const char *prog = e->exe ? e->exe : e->comm;
	char who_s[1200], b[32];
	struct actor *a;
	uint64_t t = e->ts_ns;

	if (!e->kind)
		return;
	observe(d, t);
	if (strcmp(e->kind, "loss") == 0) {
		on_loss(d, boot_id, e);
		return;
	}
	a = actor_for(d, boot_id, e->audit_session, e->pid, t, e->user, e->exe, e->comm, NULL,
		      e->session_id);
	if (!a)
		return;
	if (strcmp(e->kind, "connect") == 0) {
		on_connect(d, a, e);
	} else if (strcmp(e->kind, "change") == 0) {
		on_change(d, a, e);
	} else if (strcmp(e->kind, "exec") == 0) {
		if (!a->is_session ||
		    !program_listed(&d->pol->rules[PW_RULE_PRIVILEGE_CHANGE].programs, e->exe,
				    e->comm))
			return;
		if (a->n_privs == PRIVS_KEPT) {
			free(a->privs[0].prog);
			memmove(a->privs, a->privs + 1, (PRIVS_KEPT - 1) * sizeof(*a->privs));
			a->n_privs--;
		}
		a->privs[a->n_privs].ts = t;
		a->privs[a->n_privs].prog = strdup(prog ? prog : "?");
		a->n_privs++;
	} else if (strcmp(e->kind, "mmap") == 0) {
		/* Reads through a mapping are not counted: the length mapped
		 * stands for them. */
		struct pw_access r = { .opened_ns = t, .last_ns = t, .pid = e->pid, .uid = e->uid,
				       .flags = PW_IO_MMAP };

		r.path = (char *)(uintptr_t)e->path;
		r.dataset = (char *)(uintptr_t)e->dataset;
		r.exe = (char *)(uintptr_t)e->exe;
		snprintf(r.comm, sizeof(r.comm), "%s", e->comm ? e->comm : "");
		r.honeytoken = e->honeytoken || (e->dataset && strcmp(e->dataset, "honeytoken") == 0);
		r.bytes_read = e->count;
		on_protected_access(d, a, &r, false, e->count, false, t);
	} else if (strcmp(e->kind, "io_uring") == 0) {
		who(a, who_s, sizeof(who_s));
		actor_read_summary(a, b, sizeof(b));
		fire(d, a, PW_RULE_BLIND_SPOT, t,
		     "%s: %s (pid %u) used io_uring after reading protected data: files it opens "
		     "into io_uring fixed slots are not seen in tracepoint mode",
		     who_s, prog ? prog : "?", e->pid);
	} else if (strcmp(e->kind, "coredump") == 0) {
		who(a, who_s, sizeof(who_s));
		fire(d, a, PW_RULE_BLIND_SPOT, t,
		     "%s: %s (pid %u) dumped core (signal %lld) after reading protected data: the "
		     "dump, written by the kernel, may hold what it read and is not tracked",
		     who_s, prog ? prog : "?", e->pid, (long long)e->result);
	}
}

double pw_detector_session_risk(const struct pw_detector *d, const char *boot_id,
				uint32_t audit_session)
{
	struct actor_key k;
	struct actor *a;

	memset(&k, 0, sizeof(k));
	snprintf(k.boot, sizeof(k.boot), "%s", boot_id);
	k.ses = audit_session;
	HASH_FIND(hh, d->actors, &k, sizeof(k), a);
	return a ? risk_score(a) : 0;
}

/* ---- persistence ------------------------------------------------------------ */

static int put_json(pw_baseline_put_cb put, void *ctx, const char *kind, const char *principal,
		    const char *dataset, json_object *o)
{
	const char *text;
	int rc;

	if (!o)
		return -1;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = text ? put(ctx, kind, principal, dataset, text) : -1;
	json_object_put(o);
	return rc;
}

static json_object *principal_json(const struct principal *p)
{
	json_object *o = json_object_new_object(), *hours = json_object_new_array(),
		    *sources = json_object_new_array();
	size_t i;

	if (!o || !hours || !sources) {
		json_object_put(o);
		json_object_put(hours);
		json_object_put(sources);
		return NULL;
	}
	json_object_object_add(o, "last_ns", json_object_new_uint64(p->last_ns));
	for (i = 0; i < p->n_hours; i++)
		json_object_array_add(hours, json_object_new_uint64(p->hours[i]));
	json_object_object_add(o, "hours", hours);
	for (i = 0; i < p->n_sources; i++) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "host", json_object_new_string(p->sources[i].host));
		json_object_object_add(s, "net", json_object_new_string(p->sources[i].net));
		json_object_object_add(s, "last_ns", json_object_new_uint64(p->sources[i].last_ns));
		json_object_array_add(sources, s);
	}
	json_object_object_add(o, "sources", sources);
	return o;
}

static json_object *volume_json(const struct volume *v)
{
	json_object *o = json_object_new_object(), *days = json_object_new_array();
	size_t i;

	if (!o || !days) {
		json_object_put(o);
		json_object_put(days);
		return NULL;
	}
	json_object_object_add(o, "last_ns", json_object_new_uint64(v->last_ns));
	for (i = 0; i < v->n_days; i++) {
		json_object *day = json_object_new_array_ext(3);

		json_object_array_add(day, json_object_new_int64(v->days[i].day));
		json_object_array_add(day, json_object_new_uint64(v->days[i].bytes));
		json_object_array_add(day, json_object_new_uint64(v->days[i].files));
		json_object_array_add(days, day);
	}
	json_object_object_add(o, "days", days);
	return o;
}

int pw_detector_save(struct pw_detector *d, bool all, pw_baseline_put_cb put, void *ctx)
{
	struct principal *p, *ptmp;
	struct volume *v, *vtmp;
	struct open_acc *o, *otmp;
	struct deleted_row *r;
	json_object *j;
	char id[24];
	int rc;

	while ((r = d->deleted)) {
		rc = put(ctx, r->kind, r->principal, r->dataset, NULL);
		if (rc)
			return rc;
		d->deleted = r->next;
		free(r->kind);
		free(r->principal);
		free(r->dataset);
		free(r);
	}
	if (d->meta_dirty || all) {
		j = json_object_new_object();
		if (j)
			json_object_object_add(j, "first_ns", json_object_new_uint64(d->first_ns));
		rc = put_json(put, ctx, "detector", "", "", j);
		if (rc)
			return rc;
		d->meta_dirty = false;
	}
	HASH_ITER(hh, d->principals, p, ptmp) {
		if (!p->dirty && !all)
			continue;
		rc = put_json(put, ctx, "principal", p->name, "", principal_json(p));
		if (rc)
			return rc;
		p->dirty = false;
		p->persisted = true;
	}
	HASH_ITER(hh, d->volumes, v, vtmp) {
		if (!v->dirty && !all)
			continue;
		rc = put_json(put, ctx, "volume", v->principal, v->dataset, volume_json(v));
		if (rc)
			return rc;
		v->dirty = false;
		v->persisted = true;
	}
	HASH_ITER(hh, d->open, o, otmp) {
		if (!o->dirty && !all)
			continue;
		j = json_object_new_object();
		if (j) {
			json_object_object_add(j, "read", json_object_new_uint64(o->read));
			json_object_object_add(j, "written", json_object_new_uint64(o->written));
			json_object_object_add(j, "last_ns", json_object_new_uint64(o->last_ns));
		}
		snprintf(id, sizeof(id), "%llu", (unsigned long long)o->key.access_id);
		rc = put_json(put, ctx, "open", o->key.boot, id, j);
		if (rc)
			return rc;
		o->dirty = false;
		o->persisted = true;
	}
	return 0;
}

/* A non-negative integer member, or -1 with err set. */
static int get_u64(json_object *o, const char *key, uint64_t *out, char *err, size_t n)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		pw_set_err(err, n, "'%s' must be a non-negative integer", key);
		return -1;
	}
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_array(json_object *o, const char *key, json_object **out, char *err, size_t n)
{
	if (!json_object_object_get_ex(o, key, out) || !json_object_is_type(*out, json_type_array)) {
		pw_set_err(err, n, "'%s' must be an array", key);
		return -1;
	}
	return 0;
}

static int load_principal(struct pw_detector *d, const char *name, json_object *o, char *err,
			  size_t n)
{
	struct principal *p;
	json_object *hours, *sources;
	size_t i, len;
	uint64_t last;

	if (get_u64(o, "last_ns", &last, err, n) || get_array(o, "hours", &hours, err, n) ||
	    get_array(o, "sources", &sources, err, n))
		return -1;
	p = principal_get(d, name);
	if (!p)
		goto oom;
	p->last_ns = last;
	len = json_object_array_length(hours);
	if (len > HOURS_MAX || json_object_array_length(sources) > SOURCES_MAX) {
		pw_set_err(err, n, "more hours or sources than kept");
		return -1;
	}
	free(p->hours);
	p->hours = calloc(len ? len : 1, sizeof(*p->hours));
	p->n_hours = 0;
	if (!p->hours)
		goto oom;
	for (i = 0; i < len; i++) {
		json_object *h = json_object_array_get_idx(hours, i);

		if (!json_object_is_type(h, json_type_int) || json_object_get_int64(h) < 0 ||
		    json_object_get_int64(h) > UINT32_MAX) {
			pw_set_err(err, n, "'hours' must hold day * 168 + hour numbers");
			return -1;
		}
		p->hours[p->n_hours++] = (uint32_t)json_object_get_int64(h);
	}
	for (i = 0; i < json_object_array_length(sources); i++) {
		json_object *s = json_object_array_get_idx(sources, i), *host, *net;
		uint64_t t;

		if (!json_object_is_type(s, json_type_object) ||
		    !json_object_object_get_ex(s, "host", &host) ||
		    !json_object_object_get_ex(s, "net", &net) ||
		    !json_object_is_type(host, json_type_string) ||
		    !json_object_is_type(net, json_type_string) || get_u64(s, "last_ns", &t, err, n)) {
			pw_set_err(err, n, "'sources' must hold {host, net, last_ns} objects");
			return -1;
		}
		principal_note_source(p, json_object_get_string(host), json_object_get_string(net),
				      t);
	}
	p->last_ns = last;
	p->dirty = false;
	p->persisted = true;
	return 0;
oom:
	pw_set_err(err, n, "out of memory");
	return -1;
}

static int load_volume(struct pw_detector *d, const char *principal, const char *dataset,
		       json_object *o, char *err, size_t n)
{
	struct volume *v;
	json_object *days;
	uint64_t last;
	size_t i, len;

	if (get_u64(o, "last_ns", &last, err, n) || get_array(o, "days", &days, err, n))
		return -1;
	len = json_object_array_length(days);
	if (len > DAYS_MAX) {
		pw_set_err(err, n, "more than %d days", DAYS_MAX);
		return -1;
	}
	v = volume_get(d, principal, dataset, NULL);
	if (!v) {
		pw_set_err(err, n, "out of memory");
		return -1;
	}
	v->n_days = 0;
	for (i = 0; i < len; i++) {
		json_object *day = json_object_array_get_idx(days, i), *f[3];
		struct day_total *dt;
		int k;

		if (!json_object_is_type(day, json_type_array) || json_object_array_length(day) != 3)
			goto bad;
		for (k = 0; k < 3; k++) {
			f[k] = json_object_array_get_idx(day, (size_t)k);
			if (!json_object_is_type(f[k], json_type_int) ||
			    json_object_get_int64(f[k]) < 0)
				goto bad;
		}
		dt = volume_day(v, json_object_get_int64(f[0]));
		if (!dt) {
			pw_set_err(err, n, "out of memory");
			return -1;
		}
		dt->bytes = json_object_get_uint64(f[1]);
		dt->files = json_object_get_uint64(f[2]);
	}
	v->last_ns = last;
	v->dirty = false;
	v->persisted = true;
	return 0;
bad:
	pw_set_err(err, n, "'days' must hold [day, bytes, files] arrays of non-negative integers");
	return -1;
}

int pw_detector_load(struct pw_detector *d, const char *kind, const char *principal,
		     const char *dataset, const char *json, char *err, size_t err_size)
{
	json_object *o = json_tokener_parse(json);
	struct open_acc *acc;
	uint64_t v, id;
	bool is_new;
	int rc = -1;

	if (!o || !json_object_is_type(o, json_type_object)) {
		pw_set_err(err, err_size, "not a JSON object");
		goto cleanup;
	}
	if (strcmp(kind, "detector") == 0) {
		if (get_u64(o, "first_ns", &v, err, err_size))
			goto cleanup;
		if (v && (!d->first_ns || v < d->first_ns))
			d->first_ns = v;
		rc = 0;
	} else if (strcmp(kind, "principal") == 0) {
		rc = load_principal(d, principal, o, err, err_size);
	} else if (strcmp(kind, "volume") == 0) {
		rc = load_volume(d, principal, dataset, o, err, err_size);
	} else if (strcmp(kind, "open") == 0) {
		if (pw_parse_u64(dataset, UINT64_MAX, &id) || strlen(principal) >= PW_BOOT_ID_LEN) {
			pw_set_err(err, err_size, "an open access needs a boot id and an access id");
			goto cleanup;
		}
		acc = open_get(d, principal, id, true, &is_new);
		if (!acc || get_u64(o, "read", &acc->read, err, err_size) ||
		    get_u64(o, "written", &acc->written, err, err_size) ||
		    get_u64(o, "last_ns", &acc->last_ns, err, err_size))
			goto cleanup;
		acc->persisted = true;
		acc->dirty = false;
		rc = 0;
	} else {
		pw_set_err(err, err_size, "unknown kind '%s'", kind);
	}
cleanup:
	json_object_put(o);
	return rc;
}
