// SPDX-License-Identifier: GPL-2.0
/*
 * The process cache and its parent chains against a /proc of the test's
 * own making: directories with stat, cmdline and an exe link, as the
 * kernel lays them out.
 */
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

#include "proc_cache.h"

#define SEC 1000000000ULL

struct fixture {
	char root[64];
	uint64_t tick_ns;
	struct pw_proc_cache *pc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/pw-proc-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	f->tick_ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
	f->pc = pw_proc_cache_new(f->root, 64);
	*state = f;
	return f->pc ? 0 : -1;
}

static void remove_procs(struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/[0-9]*", f->root);
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pw_proc_cache_free(f->pc);
	remove_procs(f);
	rmdir(f->root);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* /proc/PID as the kernel shows it: started at start_ns of boot time,
 * running exe (NULL: no link, as for a kernel thread). */
static void fake_proc(struct fixture *f, uint32_t pid, const char *comm, uint32_t ppid,
		      uint64_t start_ns, const char *exe, const char *argv0)
{
	char dir[128], path[160], stat[512];
	int n;

	snprintf(dir, sizeof(dir), "%s/%u", f->root, pid);
	assert_int_equal(mkdir(dir, 0755), 0);
	n = snprintf(stat, sizeof(stat),
		     "%u (%s) S %u %u %u 0 -1 4194560 1234 0 0 0 12 3 0 0 20 0 1 0 %llu "
		     "10022912 1024 18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 0 0 0 17 "
		     "1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		     pid, comm, ppid, pid, pid, (unsigned long long)(start_ns / f->tick_ns));
	snprintf(path, sizeof(path), "%s/stat", dir);
	write_file(path, stat, (size_t)n);
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	write_file(path, argv0, strlen(argv0) + 1);
	if (exe) {
		snprintf(path, sizeof(path), "%s/exe", dir);
		assert_int_equal(symlink(exe, path), 0);
	}
}

static struct pw_task_id task(uint32_t tgid, uint64_t start_ns, uint32_t ppid, uint64_t pstart_ns)
{
	struct pw_task_id t = { .tgid = tgid, .pid = tgid, .start_ns = start_ns, .ppid = ppid,
				.pstart_ns = pstart_ns };

	return t;
}

static void exec(struct fixture *f, const struct pw_task_id *t, const char *path)
{
	pw_proc_cache_exec(f->pc, t, path, strlen(path), path, strlen(path) + 1);
}

/* The chain the cache gives for t, "(unknown)" when it knows no process,
 * "" when it knows no ancestor. */
static const char *chain_of(struct fixture *f, const struct pw_task_id *t)
{
	struct pw_proc_info p;

	if (pw_proc_cache_lookup(f->pc, t, &p))
		return "(unknown)";
	return p.ancestors ? p.ancestors : "";
}

/* An ssh login's shell ran tar, which the daemon saw exec; the shell, the
 * two sshd and init were there before the daemon: /proc names them, and
 * the names of field 2 hold spaces and parentheses. */
static void ssh_login(struct fixture *f)
{
	fake_proc(f, 1, "systemd", 0, 1 * f->tick_ns, "/usr/lib/systemd/systemd", "/sbin/init");
	fake_proc(f, 812, "sshd", 1, 300 * f->tick_ns, "/usr/sbin/sshd", "sshd: /usr/sbin/sshd");
	fake_proc(f, 5280, "sshd) (x", 812, 9000 * f->tick_ns, "/usr/sbin/sshd",
		  "sshd: tanaka [priv]");
	fake_proc(f, 5289, "sshd: a (b) c", 5280, 9001 * f->tick_ns, "/usr/sbin/sshd",
		  "sshd: tanaka@pts/0");
	fake_proc(f, 5290, "bash", 5289, 9002 * f->tick_ns + 77, "/usr/bin/bash", "-bash");
}

#define SSH_CHAIN                                                                                  \
	"5290 /usr/bin/bash\n5289 /usr/sbin/sshd\n5280 /usr/sbin/sshd\n812 /usr/sbin/sshd\n"     \
	"1 /usr/lib/systemd/systemd"

static void test_chain_from_exec_and_proc(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id tar = task(5295, 9100 * f->tick_ns + 5, 5290, 9002 * f->tick_ns + 77);
	struct pw_proc_info p;

	ssh_login(f);
	exec(f, &tar, "/usr/bin/tar");
	/* Built at the exec: the ancestors may all be gone by the first
	 * access, and tar's records, and the chain of a sibling through the
	 * same shell, need no /proc again. */
	remove_procs(f);
	assert_int_equal(pw_proc_cache_lookup(f->pc, &tar, &p), 0);
	assert_string_equal(p.exe, "/usr/bin/tar");
	assert_string_equal(p.args, "/usr/bin/tar");
	assert_string_equal(p.ancestors, SSH_CHAIN);
	assert_string_equal(chain_of(f, &tar), SSH_CHAIN);
	{
		struct pw_task_id cat = task(5300, 9200 * f->tick_ns, 5290, 9002 * f->tick_ns + 77);

		exec(f, &cat, "/usr/bin/cat");
		assert_string_equal(chain_of(f, &cat), SSH_CHAIN);
	}
}

/* A process forked without exec is found in /proc, when its start there
 * is the record's. */
static void test_process_from_proc(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id sub = task(5400, 9300 * f->tick_ns + 11, 5290, 9002 * f->tick_ns + 77);
	struct pw_task_id other = task(5401, 9300 * f->tick_ns, 5290, 9002 * f->tick_ns + 77);
	struct pw_proc_info p;

	ssh_login(f);
	fake_proc(f, 5400, "bash", 5290, 9300 * f->tick_ns, "/usr/bin/bash", "-bash");
	assert_int_equal(pw_proc_cache_lookup(f->pc, &sub, &p), 0);
	assert_string_equal(p.exe, "/usr/bin/bash");
	assert_string_equal(p.ancestors, SSH_CHAIN);
	/* Its pid taken by a process that started a tick later: not it. */
	fake_proc(f, 5401, "bash", 5290, 9301 * f->tick_ns, "/usr/bin/evil", "evil");
	assert_int_equal(pw_proc_cache_lookup(f->pc, &other, &p), -1);
	assert_null(p.exe);
}

/* A parent whose pid now belongs to a later process is not named, and
 * neither is anything above it. */
static void test_reused_pids_end_the_chain(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id tar = task(5295, 9100 * f->tick_ns, 5290, 9002 * f->tick_ns);
	struct pw_task_id ls = task(5296, 9100 * f->tick_ns, 5289, 9001 * f->tick_ns);

	fake_proc(f, 1, "systemd", 0, 1 * f->tick_ns, "/sbin/init", "/sbin/init");
	/* 5290 exited; its pid went to a process started after tar. */
	fake_proc(f, 5290, "evil", 1, 9500 * f->tick_ns, "/tmp/evil", "evil");
	exec(f, &tar, "/usr/bin/tar");
	assert_string_equal(chain_of(f, &tar), "");

	/* 5289 is ls's parent (exact start from ls's record), but 5289's own
	 * parent 5280 started after it: the pid was taken again. */
	fake_proc(f, 5289, "sshd", 5280, 9001 * f->tick_ns, "/usr/sbin/sshd", "sshd");
	fake_proc(f, 5280, "evil", 1, 9050 * f->tick_ns, "/tmp/evil", "evil");
	exec(f, &ls, "/usr/bin/ls");
	assert_string_equal(chain_of(f, &ls), "5289 /usr/sbin/sshd");
}

static void test_depth_and_loops(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id t = task(107, 200 * f->tick_ns, 106, 106 * f->tick_ns);
	struct pw_task_id loop = task(300, 400 * f->tick_ns, 301, 301 * f->tick_ns);
	char exe[32];
	uint32_t pid;

	/* 100 <- 101 <- ... <- 106 <- 107: five ancestors are kept. */
	for (pid = 100; pid <= 106; pid++) {
		snprintf(exe, sizeof(exe), "/bin/p%u", pid);
		fake_proc(f, pid, "p", pid == 100 ? 1 : pid - 1, pid * f->tick_ns, exe, exe);
	}
	exec(f, &t, "/bin/p107");
	assert_string_equal(chain_of(f, &t),
			    "106 /bin/p106\n105 /bin/p105\n104 /bin/p104\n103 /bin/p103\n102 /bin/p102");

	/* A /proc whose parents go round in a loop (301 <- 302 <- 301). */
	fake_proc(f, 301, "a", 302, 301 * f->tick_ns, "/bin/a", "a");
	fake_proc(f, 302, "b", 301, 300 * f->tick_ns, "/bin/b", "b");
	exec(f, &loop, "/bin/c");
	assert_string_equal(chain_of(f, &loop), "301 /bin/a\n302 /bin/b");

	/* ... and one that leads back to the process itself. */
	fake_proc(f, 401, "a", 400, 401 * f->tick_ns, "/bin/a", "a");
	fake_proc(f, 400, "c", 401, 400 * f->tick_ns, "/bin/c", "c");
	loop = task(400, 400 * f->tick_ns, 401, 401 * f->tick_ns);
	exec(f, &loop, "/bin/c");
	assert_string_equal(chain_of(f, &loop), "401 /bin/a");
}

/* pid 1 ends the chain; a parent without a program (a kernel thread, a
 * process already gone) ends it before; so does a stat that cannot be
 * read. */
static void test_chain_ends(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id d = task(700, 50 * f->tick_ns, 1, 1 * f->tick_ns);
	struct pw_task_id k = task(701, 50 * f->tick_ns, 2, 1 * f->tick_ns);
	struct pw_task_id bad = task(702, 50 * f->tick_ns, 703, 20 * f->tick_ns);
	char path[128];

	fake_proc(f, 1, "systemd", 0, 1 * f->tick_ns, "/sbin/init", "/sbin/init");
	exec(f, &d, "/usr/sbin/dms-server");
	assert_string_equal(chain_of(f, &d), "1 /sbin/init");

	snprintf(path, sizeof(path), "%s/2", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/2/stat", f->root);
	write_file(path, "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n", 65);
	exec(f, &k, "/usr/bin/true");
	assert_string_equal(chain_of(f, &k), "");

	fake_proc(f, 703, "x", 1, 20 * f->tick_ns, "/bin/x", "x");
	snprintf(path, sizeof(path), "%s/703/stat", f->root);
	write_file(path, "703 (x S 1 703 703 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0\n", 58);
	exec(f, &bad, "/bin/y");
	assert_string_equal(chain_of(f, &bad), "");
}

/* A reparented process's chain starts at the parent that adopted it. */
static void test_reparented(void **state)
{
	struct fixture *f = *state;
	struct pw_task_id tar = task(5295, 9100 * f->tick_ns, 5290, 9002 * f->tick_ns + 77);

	ssh_login(f);
	exec(f, &tar, "/usr/bin/tar");
	assert_string_equal(chain_of(f, &tar), SSH_CHAIN);
	tar.ppid = 1;
	tar.pstart_ns = 1 * f->tick_ns;
	assert_string_equal(chain_of(f, &tar), "1 /usr/lib/systemd/systemd");
}

/* However many processes come and go, the cache keeps max of them; the
 * process whose chain is being built stays while it is. */
static void test_bounded(void **state)
{
	struct fixture *f = *state;
	struct pw_proc_cache *small = pw_proc_cache_new(f->root, 3);
	struct pw_task_id t;
	struct pw_proc_info p;
	uint32_t pid;

	assert_non_null(small);
	ssh_login(f);
	for (pid = 6000; pid < 6100; pid++) {
		t = task(pid, 9500 * f->tick_ns, 5290, 9002 * f->tick_ns + 77);
		pw_proc_cache_exec(small, &t, "/bin/cat", 8, "cat", 4);
	}
	/* Three entries for five ancestors: the chain is cut where the cache
	 * let go of what it needed, never wrong. */
	assert_int_equal(pw_proc_cache_lookup(small, &t, &p), 0);
	assert_string_equal(p.exe, "/bin/cat");
	assert_non_null(p.ancestors);
	assert_true(strncmp(p.ancestors, "5290 /usr/bin/bash\n5289 /usr/sbin/sshd", 38) == 0);
	assert_int_equal(strncmp(SSH_CHAIN, p.ancestors, strlen(p.ancestors)), 0);
	pw_proc_cache_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_from_exec_and_proc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_from_proc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_pids_end_the_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_and_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reparented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
	};

	return cmocka_run_group_tests_name("proc_cache", tests, NULL, NULL);
}
