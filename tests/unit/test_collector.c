// SPDX-License-Identifier: GPL-2.0
/*
 * The collector's session join, against a real store, with kernel events
 * made by hand.  The outputs are replaced by a recorder of what the
 * collector ships (the same records the detector gets), and the probes,
 * which the collector only asks for root paths and dataset names, by
 * stubs: without probes set the tests never reach them; the placement
 * test sets fake ones, roots of its own.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/types.h>

#include "collector.h"
#include "outputs.h"
#include "piiwatch.h"
#include "util.h"

#define BOOT "cd96f4e1-e314-4c16-ada5-0b1c2f89ad47"
#define NO_PID 0x7ffffff0u /* no such process: nothing is read from /proc */
#define NS 1000000000ULL

/* ---- what the collector ships ------------------------------------------- */

#define SHIPPED_MAX 32

struct pw_outputs {
	struct pw_access acc[SHIPPED_MAX];
	size_t n_acc;
	size_t n_sessions;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void pw_outputs_access(struct pw_outputs *o, const struct pw_access *a)
{
	struct pw_access *c;

	assert_true(o->n_acc < SHIPPED_MAX);
	c = &o->acc[o->n_acc++];
	*c = *a;
	c->user = dup_or_null(a->user);
	c->euser = dup_or_null(a->euser);
	c->exe = dup_or_null(a->exe);
	c->args = dup_or_null(a->args);
	c->dataset = dup_or_null(a->dataset);
	c->path = dup_or_null(a->path);
	c->service = dup_or_null(a->service);
	c->rhost = dup_or_null(a->rhost);
}

void pw_outputs_session(struct pw_outputs *o, const struct pw_session_record *r,
			int64_t session_id)
{
	o->n_sessions++;
}

void pw_outputs_event(struct pw_outputs *o, const struct pw_event_rec *e)
{
}

void pw_outputs_alert(struct pw_outputs *o, const struct pw_alert *al)
{
}

void pw_outputs_flush(struct pw_outputs *o)
{
}

int pw_outputs_save_position(struct pw_outputs *o, struct pw_store *s)
{
	return 0;
}

/* The fake probes of test_unplaced_placed: their roots, and the one
 * dataset they name. */
static char fake_probes;
static struct pw_root fake_roots[2];
static size_t n_fake_roots;
#define FAKE_DATASET 7

const struct pw_root *pw_probes_find_root(const struct pw_probes *p, uint64_t dev, uint64_t ino)
{
	size_t i;

	if (p != (const struct pw_probes *)&fake_probes)
		fail_msg("no probes in this test");
	for (i = 0; i < n_fake_roots; i++)
		if (fake_roots[i].key.dev == dev && fake_roots[i].key.ino == ino)
			return &fake_roots[i];
	return NULL;
}

const char *pw_probes_dataset_name(const struct pw_probes *p, uint32_t id)
{
	if (p != (const struct pw_probes *)&fake_probes)
		fail_msg("no probes in this test");
	return id == FAKE_DATASET ? "vault" : "?";
}

size_t pw_probes_roots(const struct pw_probes *p, const struct pw_root **roots)
{
	if (p != (const struct pw_probes *)&fake_probes)
		fail_msg("no probes in this test");
	*roots = fake_roots;
	return n_fake_roots;
}

/* ---- fixture -------------------------------------------------------------- */

static const char policy_text[] = "[dataset customers]\npath = /srv/dms/customers\n";

struct fx {
	char dir[64];
	char path[128];
	struct pw_store *store;
	struct pw_policy *pol;
	struct pw_collector *c;
	struct pw_outputs out;
	char *printed;
	size_t printed_len;
	FILE *print;
};

static void collector_start(struct fx *f)
{
	f->c = pw_collector_new(f->store, BOOT);
	assert_non_null(f->c);
	assert_int_equal(pw_collector_set_sources(f->c, f->pol, NULL), 0);
	pw_collector_set_outputs(f->c, &f->out);
	pw_collector_set_print(f->c, f->print);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pw_diags d;
	char err[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pw-collector-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	f->store = pw_store_open(f->path, false, err, sizeof(err));
	f->pol = pw_policy_parse("test.conf", policy_text, strlen(policy_text), &d);
	pw_diags_free(&d);
	f->print = open_memstream(&f->printed, &f->printed_len);
	if (!f->store || !f->pol || !f->print)
		return -1;
	collector_start(f);
	*state = f;
	return 0;
}

static void shipped_free(struct pw_outputs *o)
{
	size_t i;

	for (i = 0; i < o->n_acc; i++)
		pw_access_free_strings(&o->acc[i]);
	o->n_acc = 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	pw_collector_free(f->c);
	pw_store_close(f->store);
	pw_policy_free(f->pol);
	fclose(f->print);
	free(f->printed);
	shipped_free(&f->out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- records made by hand --------------------------------------------------- */

/* The uid of the next events' processes. */
static uint32_t task_uid;

static void task(struct pw_task_id *t, enum pw_event_type type, uint32_t ses)
{
	t->type = type;
	t->ts_ns = pw_now_monotonic_ns();
	t->start_ns = 1;
	t->tgid = t->pid = NO_PID;
	t->ppid = 1;
	/* loginuid 0: a name every host has. */
	t->loginuid = 0;
	t->uid = task_uid;
	t->sessionid = ses;
	snprintf(t->comm, sizeof(t->comm), "cat");
}

static void open_event(struct fx *f, uint32_t ses, uint64_t access_id)
{
	struct pw_event_open ev;

	memset(&ev, 0, sizeof(ev));
	task(&ev.task, PW_EV_OPEN, ses);
	ev.access_id = access_id;
	ev.dev = 1;
	ev.ino = 1000 + access_id;
	ev.root_dev = 1;
	ev.root_ino = 2;
	ev.depth = 1;
	snprintf(ev.names[0], sizeof(ev.names[0]), "f%llu.csv", (unsigned long long)access_id);
	pw_collector_event(f->c, &ev, pw_open_size(1));
}

static void io_event(struct fx *f, uint32_t ses, uint64_t access_id, uint64_t bytes, bool final)
{
	struct pw_event_io ev;

	memset(&ev, 0, sizeof(ev));
	task(&ev.task, PW_EV_IO, ses);
	ev.access_id = access_id;
	ev.dev = 1;
	ev.ino = 1000 + access_id;
	ev.bytes_read = bytes;
	ev.reads = bytes ? 1 : 0;
	ev.flags = final ? PW_IO_FINAL : 0;
	pw_collector_event(f->c, &ev, sizeof(ev));
}

static void session_record(struct fx *f, enum pw_record_type type, uint32_t ses)
{
	struct pw_session_record r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	snprintf(r.id, sizeof(r.id), "rec-%u-%d", ses, type);
	snprintf(r.user, sizeof(r.user), "tanaka");
	snprintf(r.service, sizeof(r.service), "sshd");
	snprintf(r.rhost, sizeof(r.rhost), "203.0.113.7");
	snprintf(r.tty, sizeof(r.tty), "ssh");
	snprintf(r.boot_id, sizeof(r.boot_id), BOOT);
	r.uid = 1001;
	r.pid = 4242;
	r.loginuid = 1001;
	r.sessionid = ses;
	r.time_ns = pw_now_realtime_ns();
	r.mono_ns = pw_now_monotonic_ns();
	assert_int_equal(pw_collector_session_record(f->c, &r), 0);
}

static int64_t session_id_of(struct fx *f, uint32_t ses)
{
	char *user = NULL, *service = NULL, *rhost = NULL;
	int64_t id = 0;

	assert_int_equal(pw_store_session_lookup(f->store, BOOT, ses, &id, &user, &service, &rhost,
						 NULL), 1);
	free(user);
	free(service);
	free(rhost);
	return id;
}

static const struct pw_access *last_shipped(struct fx *f)
{
	assert_true(f->out.n_acc > 0);
	return &f->out.acc[f->out.n_acc - 1];
}

static void assert_joined(const struct pw_access *a, int64_t sid, uint32_t ses)
{
	assert_true(a->session_id == sid);
	assert_int_equal(a->audit_session, ses);
	assert_string_equal(a->user, "tanaka");
	assert_string_equal(a->service, "sshd");
	assert_string_equal(a->rhost, "203.0.113.7");
}

static void assert_stored_joined(struct fx *f, uint64_t access_id, int64_t sid, uint32_t ses)
{
	struct pw_access a;

	assert_int_equal(pw_store_access_load(f->store, BOOT, access_id, &a), 1);
	assert_joined(&a, sid, ses);
	pw_access_free_strings(&a);
}

/* ---- tests ------------------------------------------------------------------- */

/* Every access names the user whose rights its program used beside the
 * login user: the account's name, else the uid's number; stored too. */
static void test_effective_user_named(void **state)
{
	struct fx *f = *state;
	struct pw_access a;

	session_record(f, PW_REC_SESSION_OPEN, 41);
	task_uid = 0;
	open_event(f, 41, 1);
	io_event(f, 41, 1, 10, true);
	assert_string_equal(last_shipped(f)->user, "tanaka");
	assert_string_equal(last_shipped(f)->euser, "root");
	/* No account has this uid. */
	assert_null(getpwuid(4000123));
	task_uid = 4000123;
	open_event(f, 41, 2);
	io_event(f, 41, 2, 10, true);
	task_uid = 0;
	assert_string_equal(last_shipped(f)->user, "tanaka");
	assert_string_equal(last_shipped(f)->euser, "4000123");
	assert_int_equal(last_shipped(f)->uid, 4000123);
	assert_int_equal(pw_store_flush(f->store), 0);
	assert_int_equal(pw_store_access_load(f->store, BOOT, 2, &a), 1);
	assert_string_equal(a.euser, "4000123");
	pw_access_free_strings(&a);
}

/* An unplaced open (PW_OPEN_UNPLACED) as the kernel side sends it: no
 * names, the file its own root, the placeholder dataset. */
static void unplaced_open(struct fx *f, uint64_t access_id, const char *path)
{
	struct pw_event_open ev;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	memset(&ev, 0, sizeof(ev));
	task(&ev.task, PW_EV_OPEN, 41);
	ev.access_id = access_id;
	ev.dev = ev.root_dev = pw_dev_to_kernel(st.st_dev);
	ev.ino = ev.root_ino = st.st_ino;
	ev.dataset_id = PW_DATASET_UNPLACED;
	ev.flags = PW_OPEN_UNPLACED;
	pw_collector_event(f->c, &ev, pw_open_size(0));
}

static void make_file(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
}

/* A file the kernel could not place is looked for below the policy's
 * directories: found, it is an access of the nearest root's dataset with
 * its full path (names escaped); below none, nothing of it is shipped or
 * stored, mapping included, however many records follow. */
static void test_unplaced_placed(void **state)
{
	struct fx *f = *state;
	char vault[128], sub[160], inner[192], file[256], odd[256], inner_file[256], outside[160];
	struct pw_access a;
	struct pw_event_mmap mm;
	struct stat st;
	size_t shipped;

	snprintf(vault, sizeof(vault), "%s/vault", f->dir);
	snprintf(sub, sizeof(sub), "%s/sub", vault);
	snprintf(inner, sizeof(inner), "%s/inner", sub);
	snprintf(file, sizeof(file), "%s/v.csv", sub);
	snprintf(odd, sizeof(odd), "%s/a\nb.csv", vault);
	snprintf(inner_file, sizeof(inner_file), "%s/i.csv", inner);
	snprintf(outside, sizeof(outside), "%s/other.csv", f->dir);
	assert_int_equal(mkdir(vault, 0700), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(inner, 0700), 0);
	make_file(file);
	make_file(odd);
	make_file(inner_file);
	make_file(outside);
	/* Two roots, one inside the other: the nearer one names the file. */
	assert_int_equal(stat(vault, &st), 0);
	fake_roots[0] = (struct pw_root){ .key = { pw_dev_to_kernel(st.st_dev), st.st_ino },
					  .val = { .dataset_id = FAKE_DATASET }, .path = vault };
	assert_int_equal(stat(inner, &st), 0);
	fake_roots[1] = (struct pw_root){ .key = { pw_dev_to_kernel(st.st_dev), st.st_ino },
					  .val = { .dataset_id = FAKE_DATASET,
						   .flags = PW_PROT_HONEYTOKEN },
					  .path = inner };
	n_fake_roots = 2;
	assert_int_equal(pw_collector_set_sources(f->c, f->pol,
						  (const struct pw_probes *)&fake_probes), 0);

	unplaced_open(f, 1, file);
	io_event(f, 41, 1, 6000, true);
	assert_string_equal(last_shipped(f)->path, file);
	assert_string_equal(last_shipped(f)->dataset, "vault");
	assert_int_equal(last_shipped(f)->bytes_read, 6000);
	assert_false(last_shipped(f)->honeytoken);

	unplaced_open(f, 2, odd);
	io_event(f, 41, 2, 5, true);
	snprintf(odd, sizeof(odd), "%s/a\\x0ab.csv", vault);
	assert_string_equal(last_shipped(f)->path, odd);

	/* The honeytoken directory is the nearer root. */
	unplaced_open(f, 3, inner_file);
	assert_string_equal(last_shipped(f)->path, inner_file);
	assert_true(last_shipped(f)->honeytoken);
	io_event(f, 41, 3, 1, true);

	shipped = f->out.n_acc;
	unplaced_open(f, 4, outside);
	memset(&mm, 0, sizeof(mm));
	task(&mm.task, PW_EV_MMAP, 41);
	mm.access_id = 4;
	mm.dataset_id = PW_DATASET_UNPLACED;
	mm.length = 4096;
	pw_collector_event(f->c, &mm, sizeof(mm));
	io_event(f, 41, 4, 100, false);
	io_event(f, 41, 4, 100, true);
	assert_int_equal(f->out.n_acc, shipped);

	assert_int_equal(pw_store_flush(f->store), 0);
	assert_int_equal(pw_store_access_load(f->store, BOOT, 1, &a), 1);
	assert_string_equal(a.path, file);
	assert_string_equal(a.dataset, "vault");
	assert_int_equal(a.bytes_read, 6000);
	pw_access_free_strings(&a);
	assert_int_equal(pw_store_access_load(f->store, BOOT, 4, &a), 0);
	n_fake_roots = 0;
}

/* Accesses that began before their session record carry the session in
 * every record after it, stored or still held back when it came; what was
 * shipped before is not shipped again. */
static void test_early_access_joined(void **state)
{
	struct fx *f = *state;
	const struct pw_access *a;
	int64_t sid;

	open_event(f, 17, 1);
	io_event(f, 17, 1, 100, false);
	a = last_shipped(f);
	assert_true(a->session_id == 0);
	assert_string_equal(a->user, "root");
	assert_null(a->rhost);
	/* Access 1 reaches the store unjoined; access 2 is still held back
	 * when the record comes; access 3 is of another session. */
	assert_int_equal(pw_store_flush(f->store), 0);
	open_event(f, 17, 2);
	open_event(f, 18, 3);

	session_record(f, PW_REC_SESSION_OPEN, 17);
	sid = session_id_of(f, 17);
	assert_true(sid > 0);
	assert_int_equal(f->out.n_sessions, 1);
	assert_int_equal(f->out.n_acc, 1);

	io_event(f, 17, 1, 50, true);
	a = last_shipped(f);
	assert_joined(a, sid, 17);
	assert_int_equal(a->bytes_read, 150);
	assert_true(a->closed_ns != 0);
	io_event(f, 17, 2, 10, true);
	assert_joined(last_shipped(f), sid, 17);
	io_event(f, 18, 3, 10, true);
	a = last_shipped(f);
	assert_true(a->session_id == 0);
	assert_string_equal(a->user, "root");
	assert_null(a->service);
	assert_int_equal(f->out.n_acc, 4);

	/* A later access of the session is joined from the start. */
	open_event(f, 17, 4);
	io_event(f, 17, 4, 5, true);
	assert_joined(last_shipped(f), sid, 17);

	assert_int_equal(pw_store_flush(f->store), 0);
	assert_stored_joined(f, 1, sid, 17);
	assert_stored_joined(f, 2, sid, 17);
	assert_stored_joined(f, 4, sid, 17);

	fflush(f->print);
	assert_non_null(strstr(f->printed, "root session 17 (no session record yet)"));
	assert_non_null(strstr(f->printed, "tanaka session 17 (sshd from 203.0.113.7) as root  cat["));
}

/*
 * Accesses that end before a commit wait for it and go in together (more
 * than one statement's rows): with their counts, and joined to a session
 * record that came before the commit. The fixture keeps SHIPPED_MAX
 * shipped accesses, so the count stays under it.
 */
#define ENDED_N 24
static void test_ended_accesses_wait_for_commit(void **state)
{
	struct fx *f = *state;
	struct pw_access a;
	int64_t sid;
	uint64_t i;

	for (i = 1; i <= ENDED_N; i++) {
		open_event(f, 23, i);
		io_event(f, 23, i, i * 10, true);
	}
	session_record(f, PW_REC_SESSION_OPEN, 23);
	sid = session_id_of(f, 23);
	assert_true(sid > 0);
	assert_int_equal(pw_store_flush(f->store), 0);
	assert_int_equal(pw_store_count(f->store, "accesses"), ENDED_N);
	for (i = 1; i <= ENDED_N; i++) {
		assert_int_equal(pw_store_access_load(f->store, BOOT, i, &a), 1);
		assert_joined(&a, sid, 23);
		assert_true(a.bytes_read == i * 10 && a.reads == 1);
		assert_true(a.closed_ns != 0);
		pw_access_free_strings(&a);
	}
}

/* A session opened under another daemon is found in the store. */
static void test_session_across_restart(void **state)
{
	struct fx *f = *state;
	int64_t sid;

	session_record(f, PW_REC_SESSION_OPEN, 21);
	sid = session_id_of(f, 21);
	open_event(f, 21, 1);
	pw_collector_free(f->c);
	collector_start(f);
	assert_int_equal(pw_collector_sessions_cached(f->c), 0);

	/* The access open across the restart, and a new one. */
	io_event(f, 21, 1, 64, true);
	assert_joined(last_shipped(f), sid, 21);
	assert_int_equal(last_shipped(f)->bytes_read, 64);
	open_event(f, 21, 2);
	io_event(f, 21, 2, 32, true);
	assert_joined(last_shipped(f), sid, 21);
	assert_int_equal(pw_collector_sessions_cached(f->c), 1);
}

/* A closed session leaves the cache after the grace period, not before;
 * the store keeps it for the processes that outlive it. */
static void test_ended_sessions_age_out(void **state)
{
	struct fx *f = *state;
	uint64_t t0;
	int64_t sid;

	session_record(f, PW_REC_SESSION_OPEN, 31);
	sid = session_id_of(f, 31);
	open_event(f, 31, 1);
	session_record(f, PW_REC_SESSION_OPEN, 32);
	open_event(f, 32, 2);
	assert_int_equal(pw_collector_sessions_cached(f->c), 2);

	t0 = pw_now_monotonic_ns();
	session_record(f, PW_REC_SESSION_CLOSE, 31);
	pw_collector_expire(f->c, t0 + PW_SESSION_GRACE_NS - NS);
	assert_int_equal(pw_collector_sessions_cached(f->c), 2);
	/* Events queued before the close still find it. */
	open_event(f, 31, 3);
	io_event(f, 31, 3, 7, true);
	assert_joined(last_shipped(f), sid, 31);
	io_event(f, 31, 1, 1, true);
	assert_joined(last_shipped(f), sid, 31);
	pw_collector_expire(f->c, pw_now_monotonic_ns() + PW_SESSION_GRACE_NS);
	/* Session 32 is open: it stays whatever the time. */
	assert_int_equal(pw_collector_sessions_cached(f->c), 1);

	/* A process of session 31 that outlived it. */
	open_event(f, 31, 4);
	io_event(f, 31, 4, 7, true);
	assert_joined(last_shipped(f), sid, 31);
	assert_int_equal(pw_collector_sessions_cached(f->c), 2);
	/* Found closed in the store, it ages out again. */
	pw_collector_expire(f->c, pw_now_monotonic_ns() + PW_SESSION_GRACE_NS);
	assert_int_equal(pw_collector_sessions_cached(f->c), 1);

	/* So does a closed session looked up after a restart. */
	session_record(f, PW_REC_SESSION_CLOSE, 32);
	pw_collector_free(f->c);
	collector_start(f);
	open_event(f, 32, 5);
	io_event(f, 32, 5, 3, true);
	assert_true(last_shipped(f)->session_id == session_id_of(f, 32));
	assert_int_equal(pw_collector_sessions_cached(f->c), 1);
	pw_collector_expire(f->c, pw_now_monotonic_ns() + PW_SESSION_GRACE_NS);
	assert_int_equal(pw_collector_sessions_cached(f->c), 0);
}

/* A session the store has no record of is not asked about again for
 * every event: for a second, or until its record comes. */
static void test_unknown_session_not_asked_per_event(void **state)
{
	struct fx *f = *state;
	struct pw_session_record r;
	int64_t sid;

	open_event(f, 41, 1);
	io_event(f, 41, 1, 10, true);
	assert_true(last_shipped(f)->session_id == 0);
	/* Its record reaches the collector: the next event is joined. */
	session_record(f, PW_REC_SESSION_OPEN, 41);
	sid = session_id_of(f, 41);
	open_event(f, 41, 2);
	io_event(f, 41, 2, 10, true);
	assert_joined(last_shipped(f), sid, 41);

	/* A record stored behind the collector's back (a daemon before this
	 * one) is found only once the unknown session's second is over,
	 * which shows the store was not asked for every event. */
	open_event(f, 42, 3);
	io_event(f, 42, 3, 10, true);
	assert_true(last_shipped(f)->session_id == 0);
	memset(&r, 0, sizeof(r));
	r.type = PW_REC_SESSION_OPEN;
	snprintf(r.id, sizeof(r.id), "rec-42");
	snprintf(r.user, sizeof(r.user), "tanaka");
	snprintf(r.service, sizeof(r.service), "sshd");
	snprintf(r.rhost, sizeof(r.rhost), "203.0.113.7");
	snprintf(r.boot_id, sizeof(r.boot_id), BOOT);
	r.sessionid = 42;
	r.time_ns = pw_now_realtime_ns();
	assert_int_equal(pw_store_session_record(f->store, &r, &sid), 0);
	assert_int_equal(pw_store_flush(f->store), 0);
	open_event(f, 42, 4);
	io_event(f, 42, 4, 10, true);
	assert_true(last_shipped(f)->session_id == 0);
	usleep(1100000);
	open_event(f, 42, 5);
	io_event(f, 42, 5, 10, true);
	assert_joined(last_shipped(f), sid, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_early_access_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended_accesses_wait_for_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_effective_user_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplaced_placed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended_sessions_age_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_session_not_asked_per_event, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
