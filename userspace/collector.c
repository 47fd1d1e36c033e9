// SPDX-License-Identifier: GPL-2.0
#include "collector.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <uthash.h>

#include "event_text.h"
#include "log.h"
#include "util.h"

struct exec_entry {
	uint32_t tgid;
	uint64_t start_ns;
	char *exe;
	char *args;
	UT_hash_handle hh;
};

struct session_entry {
	uint32_t audit_session;
	int64_t session_id;
	char *user;
	char *service;
	char *rhost;
	UT_hash_handle hh;
};

struct open_access {
	uint64_t access_id;
	struct pw_access a;
	UT_hash_handle hh;
};

struct pw_collector {
	struct pw_store *store;
	const struct pw_policy *policy;
	const struct pw_probes *probes;
	FILE *print;
	char boot_id[PW_BOOT_ID_LEN];
	int64_t mono_to_real;
	uint64_t events;
	struct exec_entry *execs;
	size_t n_execs;
	struct session_entry *sessions;
	size_t n_sessions;
	struct open_access *open;
	size_t n_open;
};

/* Accesses held in memory while open; beyond this, the oldest are printed
 * as they stand and dropped from memory (the store keeps counting them). */
#define PW_OPEN_ACCESS_MAX 65536

struct pw_collector *pw_collector_new(struct pw_store *store, const char *boot_id)
{
	struct pw_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->store = store;
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id);
	pw_collector_tick(c);
	return c;
}

static void free_exec(struct exec_entry *e)
{
	free(e->exe);
	free(e->args);
	free(e);
}

static void free_session(struct session_entry *s)
{
	free(s->user);
	free(s->service);
	free(s->rhost);
	free(s);
}

void pw_collector_free(struct pw_collector *c)
{
	struct exec_entry *e, *etmp;
	struct session_entry *s, *stmp;
	struct open_access *o, *otmp;

	if (!c)
		return;
	HASH_ITER(hh, c->execs, e, etmp) {
		HASH_DEL(c->execs, e);
		free_exec(e);
	}
	HASH_ITER(hh, c->sessions, s, stmp) {
		HASH_DEL(c->sessions, s);
		free_session(s);
	}
	HASH_ITER(hh, c->open, o, otmp) {
		HASH_DEL(c->open, o);
		pw_access_free_strings(&o->a);
		free(o);
	}
	free(c);
}

void pw_collector_set_sources(struct pw_collector *c, const struct pw_policy *pol,
			      const struct pw_probes *probes)
{
	c->policy = pol;
	c->probes = probes;
}

void pw_collector_set_print(struct pw_collector *c, FILE *out)
{
	c->print = out;
}

void pw_collector_tick(struct pw_collector *c)
{
	c->mono_to_real = (int64_t)(pw_now_realtime_ns() - pw_now_monotonic_ns());
}

uint64_t pw_collector_events_seen(const struct pw_collector *c)
{
	return c->events;
}

static uint64_t to_realtime(const struct pw_collector *c, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + c->mono_to_real);
}

static char *escaped_dup(const char *s, size_t len)
{
	char buf[4096];

	pw_escape_untrusted(s, len, buf, sizeof(buf));
	return strdup(buf);
}

/* argv as the kernel copied it: NUL-separated, possibly cut short. */
static char *join_args(const char *raw, size_t len)
{
	char out[2048], part[1024];
	size_t o = 0, i = 0;

	out[0] = '\0';
	while (i < len && o < sizeof(out) - 1) {
		size_t n = strnlen(raw + i, len - i);

		pw_escape_untrusted(raw + i, n, part, sizeof(part));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", part);
		if (o >= sizeof(out))
			o = sizeof(out) - 1;
		i += n + 1;
	}
	return strdup(out);
}

static void exec_remember(struct pw_collector *c, const struct pw_event_exec *ev)
{
	struct exec_entry *e;
	size_t plen = ev->path_len < sizeof(ev->path) ? ev->path_len : sizeof(ev->path);
	size_t alen = ev->args_len < sizeof(ev->args) ? ev->args_len : sizeof(ev->args);

	HASH_FIND(hh, c->execs, &ev->task.tgid, sizeof(uint32_t), e);
	if (e) {
		HASH_DEL(c->execs, e);
		free_exec(e);
		c->n_execs--;
	}
	if (c->n_execs >= PW_EXEC_CACHE_MAX) {
		struct exec_entry *oldest = c->execs;

		HASH_DEL(c->execs, oldest);
		free_exec(oldest);
		c->n_execs--;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->tgid = ev->task.tgid;
	e->start_ns = ev->task.start_ns;
	e->exe = escaped_dup(ev->path, plen);
	e->args = join_args(ev->args, alen);
	HASH_ADD(hh, c->execs, tgid, sizeof(uint32_t), e);
	c->n_execs++;
}

static char *read_small_file(const char *path, size_t *len)
{
	char buf[2048];
	ssize_t n;
	char *out;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return NULL;
	out = malloc((size_t)n);
	if (!out)
		return NULL;
	memcpy(out, buf, (size_t)n);
	*len = (size_t)n;
	return out;
}

/* The program behind a task: from its exec event, else from /proc while
 * the process is still there (it started before the daemon). */
static void program_of(struct pw_collector *c, const struct pw_task_id *t, struct pw_access *a)
{
	char path[64], target[4096];
	struct exec_entry *e;
	ssize_t n;
	size_t len;
	char *raw;

	HASH_FIND(hh, c->execs, &t->tgid, sizeof(uint32_t), e);
	if (e && e->start_ns == t->start_ns) {
		a->exe = e->exe ? strdup(e->exe) : NULL;
		a->args = e->args ? strdup(e->args) : NULL;
		return;
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", t->tgid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0)
		a->exe = escaped_dup(target, (size_t)n);
	snprintf(path, sizeof(path), "/proc/%u/cmdline", t->tgid);
	raw = read_small_file(path, &len);
	if (raw) {
		a->args = join_args(raw, len);
		free(raw);
	}
}

static struct session_entry *session_find(struct pw_collector *c, uint32_t audit_session)
{
	struct session_entry *s;
	int64_t id = 0;
	char *user = NULL, *service = NULL, *rhost = NULL;

	if (audit_session == PW_NO_ID)
		return NULL;
	HASH_FIND(hh, c->sessions, &audit_session, sizeof(uint32_t), s);
	if (s)
		return s;
	if (pw_store_session_lookup(c->store, c->boot_id, audit_session, &id, &user, &service,
				    &rhost) != 1)
		return NULL;
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
	if (c->n_sessions >= PW_SESSION_CACHE_MAX) {
		struct session_entry *oldest = c->sessions;

		HASH_DEL(c->sessions, oldest);
		free_session(oldest);
		c->n_sessions--;
	}
	HASH_ADD(hh, c->sessions, audit_session, sizeof(uint32_t), s);
	c->n_sessions++;
	return s;
}

static char *user_name(uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096], num[16];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return strdup(res->pw_name);
	snprintf(num, sizeof(num), "%u", uid);
	return strdup(num);
}

/* The protected file's path: the policy path of the matched root, then the
 * components the kernel found below it. */
static char *rebuild_path(struct pw_collector *c, const struct pw_event_open *ev)
{
	const struct pw_root *root = c->probes ? pw_probes_find_root(c->probes, ev->root_dev,
								     ev->root_ino) : NULL;
	char out[8192], part[4 * PW_NAME_LEN];
	size_t o;
	uint32_t i, kept;

	o = (size_t)snprintf(out, sizeof(out), "%s", root ? root->path : "<unknown root>");
	if (ev->flags & PW_OPEN_SELF)
		return strdup(out);
	kept = ev->depth < PW_NAME_SLOTS ? ev->depth : PW_NAME_SLOTS;
	if (ev->flags & PW_OPEN_DEEP)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "/...");
	for (i = kept; i-- > 0 && o < sizeof(out);) {
		pw_escape_untrusted(ev->names[i], strnlen(ev->names[i], PW_NAME_LEN), part,
				    sizeof(part));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "/%s%s", part,
				      (ev->flags & PW_OPEN_NAME_TRUNC) && i == 0 ? "..." : "");
	}
	return strdup(out);
}

static void print_access(struct pw_collector *c, const struct pw_access *a)
{
	char line[10240];

	if (!c->print)
		return;
	pw_access_format_line(a, line, sizeof(line));
	fprintf(c->print, "%s\n", line);
	fflush(c->print);
}

static void forget_access(struct pw_collector *c, struct open_access *o)
{
	HASH_DEL(c->open, o);
	c->n_open--;
	pw_access_free_strings(&o->a);
	free(o);
}

static void on_open(struct pw_collector *c, const struct pw_event_open *ev)
{
	struct open_access *o;
	struct session_entry *s;
	struct pw_access *a;

	if (c->n_open >= PW_OPEN_ACCESS_MAX)
		forget_access(c, c->open);
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->access_id = ev->access_id;
	a = &o->a;
	memcpy(a->boot_id, c->boot_id, sizeof(a->boot_id));
	a->access_id = ev->access_id;
	a->audit_session = ev->task.sessionid;
	a->loginuid = ev->task.loginuid;
	a->uid = ev->task.uid;
	a->pid = ev->task.tgid;
	a->ppid = ev->task.ppid;
	a->open_flags = ev->open_flags;
	pw_escape_untrusted(ev->task.comm, strnlen(ev->task.comm, PW_COMM_LEN), a->comm,
			    sizeof(a->comm));
	s = session_find(c, ev->task.sessionid);
	if (s) {
		a->session_id = s->session_id;
		a->user = s->user ? strdup(s->user) : NULL;
		a->service = s->service ? strdup(s->service) : NULL;
		a->rhost = s->rhost ? strdup(s->rhost) : NULL;
	} else {
		a->user = user_name(ev->task.loginuid != PW_NO_ID ? ev->task.loginuid : ev->task.uid);
	}
	program_of(c, &ev->task, a);
	a->dataset = strdup(c->policy ? pw_policy_dataset_name(c->policy, ev->dataset_id) : "?");
	a->path = rebuild_path(c, ev);
	a->dev = ev->dev;
	a->ino = ev->ino;
	a->honeytoken = ev->prot_flags & PW_PROT_HONEYTOKEN;
	a->opened_ns = to_realtime(c, ev->task.ts_ns);
	a->last_ns = a->opened_ns;
	if (pw_store_access_open(c->store, a))
		pw_log(LOG_ERR, "store: cannot record access to %s", a->path ? a->path : "?");
	HASH_ADD(hh, c->open, access_id, sizeof(uint64_t), o);
	c->n_open++;
}

static void on_io(struct pw_collector *c, const struct pw_event_io *ev)
{
	uint64_t now = to_realtime(c, ev->task.ts_ns);
	bool final = ev->flags & PW_IO_FINAL;
	struct open_access *o;

	if (pw_store_access_io(c->store, c->boot_id, ev->access_id, ev->bytes_read,
			       ev->bytes_written, ev->reads, ev->writes, now, final))
		pw_log(LOG_ERR, "store: cannot update access %llu",
		       (unsigned long long)ev->access_id);
	HASH_FIND(hh, c->open, &ev->access_id, sizeof(uint64_t), o);
	if (!o)
		return;
	o->a.bytes_read += ev->bytes_read;
	o->a.bytes_written += ev->bytes_written;
	o->a.reads += ev->reads;
	o->a.writes += ev->writes;
	o->a.last_ns = now;
	if (!final) {
		print_access(c, &o->a);
		return;
	}
	o->a.closed_ns = now;
	print_access(c, &o->a);
	forget_access(c, o);
}

void pw_collector_event(void *ctx, const void *data, size_t size)
{
	struct pw_collector *c = ctx;
	const struct pw_task_id *t = data;

	if (size < sizeof(*t))
		return;
	c->events++;
	switch (t->type) {
	case PW_EV_OPEN:
		if (size >= sizeof(struct pw_event_open))
			on_open(c, data);
		break;
	case PW_EV_IO:
		if (size >= sizeof(struct pw_event_io))
			on_io(c, data);
		break;
	case PW_EV_EXEC:
		if (size >= sizeof(struct pw_event_exec))
			exec_remember(c, data);
		break;
	default:
		break;
	}
}

int pw_collector_session_record(struct pw_collector *c, const struct pw_session_record *r)
{
	struct session_entry *s;
	int64_t id = 0;

	if (pw_store_session_record(c->store, r, &id))
		return -1;
	if (r->type == PW_REC_SESSION_OPEN && r->sessionid != PW_NO_ID &&
	    strcmp(r->boot_id, c->boot_id) == 0) {
		HASH_FIND(hh, c->sessions, &r->sessionid, sizeof(uint32_t), s);
		if (s) {
			HASH_DEL(c->sessions, s);
			free_session(s);
			c->n_sessions--;
		}
		if (pw_store_join_session(c->store, r->boot_id, r->sessionid, id))
			return -1;
	}
	return pw_store_flush(c->store);
}
