// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_throughput: how much piiwatchd takes from the kernel into the store
 * and the JSON Lines output, and what that costs it.
 *
 *   store    the store layer alone (userspace/store.c, no daemon): accesses
 *            inserted and closed in batches, as the daemon does, per second;
 *            and the indexes on the tables written per access;
 *   reader   one reader of protected files as fast as it can on CPU 1, the
 *            daemon on CPU 0, for SECONDS: its rate, and whether every
 *            access reached the store and the JSON Lines file with nothing
 *            lost;
 *   max      the reader held back so that the ring buffer never holds more
 *            than half its size: nothing can be lost, and the rate is what
 *            the daemon sustains; run until EVENTS kernel events (an open
 *            and a close per access: by default a million accesses) are
 *            stored, then the daemon's resident memory (VmRSS);
 *   paced    a reader paced to 800 accesses (1 600 events) per second for
 *            SECONDS: the daemon's CPU time from /proc/PID/stat.
 *
 *   daemon_throughput [-s SECONDS] [-e EVENTS] [-b BATCH] [-n ROWS] [-p PHASES] [-J]
 *
 * -J: the daemon without its JSON Lines output, to see what that costs.
 * PHASES: some of "store,reader,max,paced" (default all); the targets of
 * the phases left out are not judged.
 *
 * At the end, after the phases (so that the pages it frees cannot serve
 * the daemon's files), the machine's price of a growing file: 256 MiB
 * written into new page-cache pages, then over the same, cached pages.
 * On a virtual machine whose host takes back free memory, the first is
 * several times slower, and the JSON Lines file and the store grow
 * into new pages all the time (bench/RESULTS.md, tenth daemon round).
 *
 * Runs as root.  Exit status 1 when a target is missed: the daemon keeps up
 * with the reader (nothing lost, every access once in the store and in
 * JSON Lines); the store inserts 200 000 rows per second (wall clock; the
 * rate per second of CPU time, which other load on a shared machine does
 * not change, is printed beside it); under 5 % of a core at a measured
 * 1 600 events/s; VmRSS under 32 MiB with a million accesses stored.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_lib.h"
#include "store.h"
#include "util.h"

#define READER_CPU 1
#define DAEMON_CPU 0
#define PROTECTED_FILES 256
#define PACED_RATE 800                   /* accesses/s: an open and a close event each */
#define TARGET_STORE_ROWS 200000.0       /* rows/s */
#define TARGET_CPU 0.05                  /* of one core */
#define TARGET_RSS_KIB (32 * 1024)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

struct bench {
	char build[PATH_MAX];
	char tmp[64];
	char protected_dir[PATH_MAX];
	uint64_t seconds;
	uint64_t events;
	uint64_t batch;
	uint64_t rows;
	const char *phases;
	struct bench_daemon daemon;
};

static bool want(const struct bench *b, const char *phase)
{
	const char *p = strstr(b->phases, phase);
	size_t n = strlen(phase);

	return p && (p == b->phases || p[-1] == ',') && (p[n] == '\0' || p[n] == ',');
}

/* ---- the store alone ---- */

static void fake_access(struct pw_access *a, uint64_t i, const char *boot_id, char *path,
			size_t path_size)
{
	static char exe[] = "/usr/bin/tar", args[] = "tar -cf - /srv/dms/customers",
		    user[] = "tanaka", dataset[] = "customers", service[] = "sshd",
		    rhost[] = "203.0.113.7",
		    /* An ssh login's: the shell, sshd's two session processes,
		     * its listener and init. */
		    ancestors[] = "4000 /usr/bin/bash\n3990 /usr/sbin/sshd\n3980 /usr/sbin/sshd\n"
				  "812 /usr/sbin/sshd\n1 /usr/lib/systemd/systemd";

	memset(a, 0, sizeof(*a));
	snprintf(a->boot_id, sizeof(a->boot_id), "%s", boot_id);
	snprintf(path, path_size, "/srv/dms/customers/customers-%04llu.csv",
		 (unsigned long long)(i % 5000));
	/* As the kernel makes them: nanoseconds with the CPU in the low byte. */
	a->access_id = (1000000000ULL + i * 2000ULL) << 8;
	a->session_id = 1;
	a->audit_session = 7;
	a->loginuid = 1000;
	a->uid = 1000;
	a->pid = 4242;
	a->ppid = 4000;
	snprintf(a->comm, sizeof(a->comm), "tar");
	a->user = user;
	a->euser = user;
	a->exe = exe;
	a->args = args;
	a->ancestors = ancestors;
	a->dataset = dataset;
	a->path = path;
	a->dev = 0x800001;
	a->ino = 100000 + i % 5000;
	a->opened_ns = 1764000000000000000ULL + i * 2000ULL;
	a->last_ns = a->opened_ns;
	a->service = service;
	a->rhost = rhost;
}

/* The indexes of the tables written per access, as "table: index (cols)",
 * with "partial" for one that holds only some rows (its WHERE). */
static void print_indexes(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT m.tbl_name, m.name, group_concat(i.name, ', '), "
			       "CASE WHEN m.sql LIKE '% WHERE %' THEN ' partial' ELSE '' END "
			       "FROM sqlite_master m, pragma_index_info(m.name) i "
			       "WHERE m.type = 'index' AND m.tbl_name IN ('accesses', 'events', 'ring_state') "
			       "GROUP BY m.name ORDER BY m.tbl_name, m.name", -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "daemon_throughput: cannot list the indexes\n");
		goto out;
	}
	printf("  indexes written per access:\n");
	while (sqlite3_step(q) == SQLITE_ROW)
		printf("    %-10s %-34s (%s)%s\n", sqlite3_column_text(q, 0), sqlite3_column_text(q, 1),
		       sqlite3_column_text(q, 2), sqlite3_column_text(q, 3));
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static uint64_t self_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

/* Accesses a commit inserts with each statement list, as the collector's
 * store_all_pending() hands them to pw_store_access_open_many(). */
#define STORE_GROUP 64

/*
 * Accesses inserted through pw_store_access_open_many() in groups, as the
 * daemon does at a commit, and, with close_too, closed through
 * pw_store_access_io(final) (what the daemon does for an access still
 * open at a commit; one that ends before is only inserted), committed
 * every `batch` accesses: per second, and per second of this process's
 * CPU time (*cpu_rate), which other load on the machine does not stretch.
 */
static double store_rate(const struct bench *b, const char *name, bool close_too, bool print,
			 double *cpu_rate)
{
	char path[PATH_MAX + 32], err[512], boot_id[PW_BOOT_ID_LEN] = "b0d1e2f3-0000-4000-8000-000000000000";
	static char paths[STORE_GROUP][64];
	struct pw_access a[STORE_GROUP];
	const struct pw_access *rows[STORE_GROUP];
	struct pw_store *s;
	uint64_t i = 0, k, n, t0, t, c0;
	double rate = -1;

	snprintf(path, sizeof(path), "%s/%s.db", b->tmp, name);
	s = pw_store_open(path, false, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "daemon_throughput: %s\n", err);
		return -1;
	}
	t0 = bench_now_ns();
	c0 = self_cpu_ns();
	while (i < b->rows && !interrupted) {
		/* A group ends at a commit, as a drain's accesses do. */
		n = b->rows - i;
		n = n < STORE_GROUP ? n : STORE_GROUP;
		n = n < b->batch - i % b->batch ? n : b->batch - i % b->batch;
		for (k = 0; k < n; k++) {
			fake_access(&a[k], i + k, boot_id, paths[k], sizeof(paths[k]));
			rows[k] = &a[k];
		}
		if (pw_store_access_open_many(s, rows, n, NULL) != 0)
			goto out;
		for (k = 0; close_too && k < n; k++)
			if (pw_store_access_io(s, boot_id, a[k].access_id, 16384, 0, 1, 0,
					       a[k].opened_ns + 1000, 0, true) != 0)
				goto out;
		i += n;
		if (i % b->batch == 0 && pw_store_flush(s) != 0)
			goto out;
	}
	if (pw_store_flush(s) != 0)
		goto out;
	t = bench_now_ns() - t0;
	rate = (double)i * 1e9 / (double)t;
	*cpu_rate = (double)i * 1e9 / (double)(self_cpu_ns() - c0 + 1);
out:
	pw_store_close(s);
	if (print && rate > 0)
		print_indexes(path);
	return rate;
}

/* ---- the daemon ---- */

static bool store_complete(const struct bench *b, uint64_t accesses, double *seconds)
{
	uint64_t t0 = bench_now_ns();
	int64_t n = -1, before = -1;
	int i, still = 0;

	/* Up to two minutes while the count grows; when it has not moved for
	 * three seconds, what is missing was lost. */
	for (i = 0; i < 1200 && still < 30 && !interrupted; i++) {
		n = bench_store_query(&b->daemon, "SELECT count(closed_ns) FROM accesses "
				      "WHERE comm = 'bench_reader'");
		if (n >= (int64_t)accesses)
			break;
		still = n == before ? still + 1 : 0;
		before = n;
		bench_sleep_ns(100000000ULL);
	}
	*seconds = (double)(bench_now_ns() - t0) / 1e9;
	return n == (int64_t)accesses;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A member of a JSON object by dotted path, or NULL. */
static json_object *json_path(json_object *o, const char *path)
{
	char part[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

/*
 * The reader's ended accesses in the JSON Lines file: *unique distinct
 * access ids, *dups lines that repeat one.  A line of every access, once,
 * is what the output promises.  Returns -1 without the output.
 */
static int jsonl_accesses(const struct bench *b, int64_t *unique, int64_t *dups,
			  uint64_t *bytes)
{
	FILE *f = b->daemon.jsonl[0] ? fopen(b->daemon.jsonl, "re") : NULL;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0, i;
	char *line = NULL;
	size_t len = 0;
	ssize_t got;

	*unique = *dups = 0;
	*bytes = 0;
	if (!f)
		return -1;
	while ((got = getline(&line, &len, f)) > 0) {
		json_object *o = json_tokener_parse(line), *name, *id;

		name = json_path(o, "process.name");
		id = json_path(o, "piiwatch.access_id");
		if (name && id && json_path(o, "event.end") &&
		    strcmp(json_object_get_string(name), "bench_reader") == 0) {
			if (n == cap) {
				uint64_t *nid = realloc(ids, (cap = cap ? 2 * cap : 65536) *
							       sizeof(*ids));

				if (!nid) {
					json_object_put(o);
					break;
				}
				ids = nid;
			}
			ids[n++] = json_object_get_uint64(id);
			*bytes += (uint64_t)got;
		}
		json_object_put(o);
	}
	free(line);
	fclose(f);
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (i = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			(*dups)++;
		else
			(*unique)++;
	}
	free(ids);
	return 0;
}

struct verdict {
	uint64_t accesses;
	int64_t stored;
	int64_t lines;          /* distinct ended accesses in JSON Lines, -1: no output */
	int64_t dup_lines;
	uint64_t line_bytes;    /* of those lines, newlines included */
	uint64_t events;
	uint64_t lost;
	bool ok;
};

/* Everything the reader did is in the store and, once each, in the JSON
 * Lines file; the kernel lost nothing. */
static void check_all(const struct bench *b, uint64_t accesses, struct verdict *v)
{
	json_object *st;
	double wait_s;
	bool complete = store_complete(b, accesses, &wait_s);

	/* The JSON line of an access is written when its close is stored. */
	bench_sleep_ns(300000000ULL);
	st = bench_daemon_status(&b->daemon);
	v->accesses = accesses;
	v->stored = bench_store_query(&b->daemon, "SELECT count(closed_ns) FROM accesses "
				      "WHERE comm = 'bench_reader'");
	if (jsonl_accesses(b, &v->lines, &v->dup_lines, &v->line_bytes) != 0)
		v->lines = -1;
	v->events = bench_json_u64(st, "events");
	v->lost = bench_json_u64(st, "lost_events");
	v->ok = complete && st && v->lost == 0 && v->stored == (int64_t)accesses &&
		(!b->daemon.jsonl[0] || (v->lines == (int64_t)accesses && v->dup_lines == 0));
	json_object_put(st);
}

static void print_verdict(const struct verdict *v)
{
	char lines[128] = "no JSON Lines output";

	if (v->lines >= 0)
		snprintf(lines, sizeof(lines),
			 "JSON Lines %lld accesses (%lld repeated, %.0f bytes a line)",
			 (long long)v->lines, (long long)v->dup_lines,
			 v->lines + v->dup_lines > 0 ?
				 (double)v->line_bytes / (double)(v->lines + v->dup_lines) :
				 0.0);
	printf("  reader %llu accesses; store %lld; %s; daemon %llu events, lost_events %llu: %s\n",
	       (unsigned long long)v->accesses, (long long)v->stored, lines,
	       (unsigned long long)v->events, (unsigned long long)v->lost,
	       v->ok ? "all recorded" : "NOT all recorded");
}

/* A fresh daemon, store and JSON Lines file for each phase. */
static int daemon_fresh(struct bench *b)
{
	char why[512], path[sizeof(b->daemon.store) + 8];

	bench_daemon_stop(&b->daemon);
	unlink(b->daemon.store);
	if (b->daemon.jsonl[0])
		unlink(b->daemon.jsonl);
	snprintf(path, sizeof(path), "%s-wal", b->daemon.store);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", b->daemon.store);
	unlink(path);
	if (bench_daemon_start(&b->daemon, DAEMON_CPU, why, sizeof(why)) != 0) {
		fprintf(stderr, "daemon_throughput: %s\n", why);
		return -1;
	}
	bench_sleep_ns(500000000ULL);
	return 0;
}

/* The reader as fast as it can for b->seconds. */
static int phase_reader(struct bench *b, double *rate, double *cpu_rate, bool *ok)
{
	struct bench_reader_ctl init = { 0 };
	struct bench_reader r;
	struct bench_ring ring;
	struct verdict v;
	uint64_t t0, sec_max = 0, full_ms = 0, sec = 0, ring_size;
	const uint64_t step = 10000000ULL; /* ns between looks at the ring */
	char fills[512];
	size_t used = 0;

	if (daemon_fresh(b) != 0 || bench_ring_open(&ring, &b->daemon) != 0)
		return -1;
	if (bench_reader_start(&r, b->build, b->protected_dir, READER_CPU, &init) != 0) {
		bench_ring_close(&ring);
		return -1;
	}
	/* How full the ring gets, second by second: a daemon that falls
	 * behind steadily fills it from the start; one that stalls fills it
	 * in steps. */
	fills[0] = '\0';
	t0 = bench_now_ns();
	while (!interrupted && bench_now_ns() - t0 < b->seconds * 1000000000ULL) {
		uint64_t pending = bench_ring_pending(&ring);

		if (pending > sec_max)
			sec_max = pending;
		/* Less than one record of room left: the kernel side drops. */
		if (pending + 4096 > ring.size)
			full_ms += step / 1000000ULL;
		bench_sleep_ns(step);
		if ((bench_now_ns() - t0) / 1000000000ULL > sec) {
			int k = snprintf(fills + used, sizeof(fills) - used, " %.1f",
					 (double)sec_max / (1 << 20));

			if (k > 0 && (size_t)k < sizeof(fills) - used)
				used += (size_t)k;
			sec_max = 0;
			sec++;
		}
	}
	ring_size = ring.size;
	bench_ring_close(&ring);
	__atomic_store_n(&r.ctl->stop, 1, __ATOMIC_RELEASE);
	if (bench_reader_wait(&r) != 0) {
		bench_reader_free(&r);
		return -1;
	}
	*rate = (double)r.ctl->done * 1e9 / (double)r.ctl->loop_ns;
	*cpu_rate = (double)r.ctl->done * 1e9 / (double)r.cpu_ns;
	printf("\nreader: as fast as it can on CPU %d for %llu s, piiwatchd on CPU %d\n",
	       READER_CPU, (unsigned long long)b->seconds, DAEMON_CPU);
	printf("  %.0f accesses/s = %.0f events/s (%.0f accesses per second of the reader's CPU "
	       "time)\n",
	       *rate, 2 * *rate, (double)r.ctl->done * 1e9 / (double)r.cpu_ns);
	printf("  the ring (%llu MiB), most waiting in each second, MiB:%s; full for about %llu ms\n",
	       (unsigned long long)(ring_size >> 20), fills, (unsigned long long)full_ms);
	check_all(b, r.ctl->done, &v);
	bench_reader_free(&r);
	print_verdict(&v);
	*ok = v.ok;
	return 0;
}

/* The reader held back while half the ring is waiting: the daemon's own
 * rate, without loss, until b->events events are stored. */
static int phase_max(struct bench *b, double *rate, double *capacity, long *rss_kib, bool *ok)
{
	struct bench_reader_ctl init = { .limit = 1 };
	struct bench_reader r;
	struct bench_ring ring;
	struct verdict v;
	uint64_t t0, t, cpu0 = 0, cpu1 = 0, accesses = b->events / 2;
	const uint64_t half = 8ULL << 20;
	long anon, file, shmem;

	if (daemon_fresh(b) != 0 || bench_ring_open(&ring, &b->daemon) != 0)
		return -1;
	if (bench_reader_start(&r, b->build, b->protected_dir, READER_CPU, &init) != 0) {
		bench_ring_close(&ring);
		return -1;
	}
	bench_proc_cpu_ns(b->daemon.pid, &cpu0);
	t0 = bench_now_ns();
	while (!interrupted) {
		uint64_t done = __atomic_load_n(&r.ctl->done, __ATOMIC_ACQUIRE);

		if (done >= accesses)
			break;
		/* About a kilobyte per access waits in the ring. */
		if (bench_ring_pending(&ring) < half)
			__atomic_store_n(&r.ctl->limit, done + 4096 < accesses ? done + 4096 : accesses,
					 __ATOMIC_RELEASE);
		bench_sleep_ns(1000000ULL);
	}
	while (!interrupted && bench_ring_pending(&ring) > 0)
		bench_sleep_ns(1000000ULL);
	t = bench_now_ns() - t0;
	bench_proc_cpu_ns(b->daemon.pid, &cpu1);
	__atomic_store_n(&r.ctl->stop, 1, __ATOMIC_RELEASE);
	bench_reader_wait(&r);
	bench_ring_close(&ring);
	*rate = (double)r.ctl->done * 2e9 / (double)t;
	*capacity = cpu1 > cpu0 ? 2e9 * (double)r.ctl->done / (double)(cpu1 - cpu0) : 0.0;
	check_all(b, r.ctl->done, &v);
	*rss_kib = bench_proc_status_kib(b->daemon.pid, "VmRSS");
	anon = bench_proc_status_kib(b->daemon.pid, "RssAnon");
	file = bench_proc_status_kib(b->daemon.pid, "RssFile");
	shmem = bench_proc_status_kib(b->daemon.pid, "RssShmem");
	printf("\nmax: the reader held back while 8 MiB wait in the ring, until %llu events\n",
	       (unsigned long long)b->events);
	printf("  %.0f events/s (%.0f accesses/s) over %.1f s; the daemon used %.0f %% of a core: "
	       "%.0f events per second of its CPU time; the reader waited %.0f %% of its time\n",
	       *rate, *rate / 2, (double)t / 1e9, 100.0 * (double)(cpu1 - cpu0) / (double)t,
	       *capacity,
	       100.0 * (double)r.ctl->waited_ns / (double)r.ctl->loop_ns);
	printf("  VmRSS with %lld accesses stored (%llu events): %.1f MiB (anonymous %.1f, "
	       "files %.1f, shared %.1f)\n",
	       (long long)v.stored, (unsigned long long)v.events, (double)*rss_kib / 1024.0,
	       (double)anon / 1024.0,
	       (double)file / 1024.0, (double)shmem / 1024.0);
	bench_reader_free(&r);
	print_verdict(&v);
	*ok = v.ok;
	return 0;
}

/* 1 600 events/s for b->seconds: the daemon's share of a core. */
static int phase_paced(struct bench *b, double *share, double *rate, bool *ok)
{
	struct bench_reader_ctl init = { .rate = PACED_RATE };
	struct bench_reader r;
	struct verdict v;
	uint64_t t0, t, cpu0 = 0, cpu1 = 0, done;

	if (daemon_fresh(b) != 0 ||
	    bench_reader_start(&r, b->build, b->protected_dir, READER_CPU, &init) != 0)
		return -1;
	/* Measure in the steady state, after the first second. */
	bench_sleep_ns(1000000000ULL);
	bench_proc_cpu_ns(b->daemon.pid, &cpu0);
	t0 = bench_now_ns();
	bench_sleep_ns(b->seconds * 1000000000ULL);
	bench_proc_cpu_ns(b->daemon.pid, &cpu1);
	t = bench_now_ns() - t0;
	__atomic_store_n(&r.ctl->stop, 1, __ATOMIC_RELEASE);
	bench_reader_wait(&r);
	done = r.ctl->done;
	*share = (double)(cpu1 - cpu0) / (double)t;
	*rate = (double)done * 1e9 / (double)r.ctl->loop_ns;
	printf("\npaced: %d accesses/s (%d events/s) for %llu s\n", PACED_RATE, 2 * PACED_RATE,
	       (unsigned long long)b->seconds);
	printf("  the reader made %.0f accesses/s; the daemon used %.2f %% of a core "
	       "(%.1f ms CPU per second)\n",
	       *rate, 100.0 * *share, 1000.0 * *share);
	check_all(b, done, &v);
	bench_reader_free(&r);
	print_verdict(&v);
	*ok = v.ok;
	return 0;
}

/*
 * What a file growing into new page-cache pages costs on this machine next
 * to writing over cached ones: the JSON Lines file and the store's
 * database only grow.  Printed, not judged.
 */
static void page_cache_price(const struct bench *b)
{
	enum { CHUNK = 1 << 20, CHUNKS = 256 };
	char path[sizeof(b->tmp) + 16];
	char *buf = malloc(CHUNK);
	double mbs[2] = { 0, 0 };
	int fd, pass, i;

	snprintf(path, sizeof(path), "%s/page-cache", b->tmp);
	fd = buf ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	if (fd < 0) {
		fprintf(stderr, "daemon_throughput: page cache: %s: %s\n", path, strerror(errno));
		free(buf);
		return;
	}
	memset(buf, 'x', CHUNK);
	for (pass = 0; pass < 2; pass++) {
		uint64_t t0 = bench_now_ns();

		for (i = 0; i < CHUNKS; i++) {
			if (pwrite(fd, buf, CHUNK, (off_t)i * CHUNK) != CHUNK) {
				fprintf(stderr, "daemon_throughput: page cache: write: %s\n",
					strerror(errno));
				goto out;
			}
		}
		mbs[pass] = (double)CHUNK * CHUNKS / 1e6 / ((double)(bench_now_ns() - t0) / 1e9);
	}
	printf("\nthe machine: a file growing into new page-cache pages takes %.0f MB/s, writing "
	       "over cached ones %.0f MB/s (%.1fx; %d MiB, after the phases)\n",
	       mbs[0], mbs[1], mbs[1] / mbs[0], CHUNKS);
out:
	close(fd);
	unlink(path);
	free(buf);
}

static void usage(void)
{
	fprintf(stderr, "usage: daemon_throughput [-s SECONDS] [-e EVENTS] [-b BATCH] [-n ROWS] "
		"[-p PHASES] [-J]\n");
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct sigaction sa = { .sa_handler = on_signal };
	double insert_rate = -1, full_rate = -1, insert_cpu = 0, full_cpu = 0, reader_rate = 0;
	double reader_cpu = 0, max_rate = 0, capacity = 0, share = 1, paced_rate = 0;
	long rss = -1;
	bool reader_ok = false, max_ok = false, paced_ok = false, met = true, jsonl = true;
	int opt, rc = 2;

	if (!b)
		return 2;
	b->seconds = 10;
	b->events = 2000000;
	b->batch = 1000;
	b->rows = 500000;
	b->phases = "store,reader,max,paced";
	while ((opt = getopt(argc, argv, "s:e:b:n:p:J")) != -1) {
		uint64_t *dst = opt == 's' ? &b->seconds : opt == 'e' ? &b->events :
				opt == 'b' ? &b->batch : opt == 'n' ? &b->rows : NULL;

		if (opt == 'p') {
			b->phases = optarg;
			continue;
		}
		if (opt == 'J') {
			jsonl = false;
			continue;
		}
		if (!dst || pw_parse_u64(optarg, 100000000, dst) || *dst == 0) {
			usage();
			free(b);
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		free(b);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "daemon_throughput: must run as root\n");
		free(b);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(b->tmp, sizeof(b->tmp), "/tmp/pwdaemon.XXXXXX");
	if (bench_build_dir(b->build, sizeof(b->build)) != 0 || !mkdtemp(b->tmp) ||
	    chmod(b->tmp, 0755) != 0) {
		perror("daemon_throughput: set-up");
		free(b);
		return 2;
	}
	snprintf(b->protected_dir, sizeof(b->protected_dir), "%s/protected", b->tmp);
	if (bench_make_files(b->protected_dir, PROTECTED_FILES, BENCH_READ_SIZE) != 0 ||
	    bench_daemon_init(&b->daemon, b->build, b->tmp, b->protected_dir, jsonl) != 0) {
		fprintf(stderr, "daemon_throughput: set-up in %s failed: %s\n", b->tmp, strerror(errno));
		goto cleanup;
	}
	bench_print_load("daemon_throughput: at the start");

	if (want(b, "store")) {
		cpu_set_t all;

		printf("\nstore: %llu accesses through store.c in batches of %llu, on CPU %d\n",
		       (unsigned long long)b->rows, (unsigned long long)b->batch, READER_CPU);
		/* On the reader's CPU: on this VM the other one, which takes the
		 * interrupts, made runs of the same store differ by half. */
		if (sched_getaffinity(0, sizeof(all), &all) != 0 || bench_pin(0, READER_CPU) != 0) {
			perror("daemon_throughput: pin");
			goto cleanup;
		}
		insert_rate = store_rate(b, "store-insert", false, false, &insert_cpu);
		full_rate = store_rate(b, "store-access", true, true, &full_cpu);
		/* The later phases pin their own processes; this one must not
		 * stay on the reader's CPU. */
		if (sched_setaffinity(0, sizeof(all), &all) != 0) {
			perror("daemon_throughput: unpin");
			goto cleanup;
		}
		if (insert_rate < 0 || full_rate < 0)
			goto cleanup;
		printf("  rows inserted (an access within a batch): %8.0f /s, %8.0f per CPU second\n",
		       insert_rate, insert_cpu);
		printf("  inserted, then closed (across a commit):  %8.0f /s, %8.0f per CPU second\n",
		       full_rate, full_cpu);
		fflush(stdout);
	}
	if (want(b, "reader") &&
	    (interrupted || phase_reader(b, &reader_rate, &reader_cpu, &reader_ok) != 0))
		goto cleanup;
	fflush(stdout);
	if (want(b, "max") &&
	    (interrupted || phase_max(b, &max_rate, &capacity, &rss, &max_ok) != 0))
		goto cleanup;
	fflush(stdout);
	if (want(b, "paced") &&
	    (interrupted || phase_paced(b, &share, &paced_rate, &paced_ok) != 0))
		goto cleanup;

	printf("\n");
	if (want(b, "reader")) {
		printf("target: keeps up with one core reading protected files as fast as it can: %s "
		       "(%s at %.0f events/s)\n",
		       reader_ok ? "met" : "MISSED", reader_ok ? "every access recorded" :
		       "NOT every access recorded", 2 * reader_rate);
		if (want(b, "max"))
			printf("  per second of CPU time: the reader makes %.0f events, the daemon takes "
			       "%.0f\n", 2 * reader_cpu, capacity);
		met &= reader_ok;
	}
	if (want(b, "store")) {
		printf("target: the store inserts at least %.0f rows per second: %s (%.0f/s, %.0f "
		       "per CPU second; %.0f/s for an access open across a commit)\n",
		       TARGET_STORE_ROWS, insert_rate >= TARGET_STORE_ROWS ? "met" : "MISSED",
		       insert_rate, insert_cpu, full_rate);
		met &= insert_rate >= TARGET_STORE_ROWS;
	}
	if (want(b, "paced")) {
		/* The rate must have been what the target names. */
		bool at_rate = paced_rate > 0.97 * PACED_RATE && paced_rate < 1.03 * PACED_RATE;

		printf("target: under %.0f %% of a core at %d events/s: %s (%.2f %% at %.0f events/s)\n",
		       100 * TARGET_CPU, 2 * PACED_RATE,
		       share < TARGET_CPU && paced_ok && at_rate ? "met" : "MISSED", 100 * share,
		       2 * paced_rate);
		met &= share < TARGET_CPU && paced_ok && at_rate;
	}
	if (want(b, "max")) {
		printf("target: VmRSS under %d MiB with %llu accesses stored: %s (%.1f MiB)\n",
		       TARGET_RSS_KIB / 1024, (unsigned long long)b->events / 2,
		       rss >= 0 && rss < TARGET_RSS_KIB && max_ok ? "met" : "MISSED",
		       (double)rss / 1024.0);
		met &= rss >= 0 && rss < TARGET_RSS_KIB && max_ok;
	}
	page_cache_price(b);
	bench_print_load("daemon_throughput: at the end");
	rc = met ? 0 : 1;
cleanup:
	bench_daemon_stop(&b->daemon);
	bench_rmtree(b->tmp);
	free(b);
	return rc;
}
