// SPDX-License-Identifier: GPL-2.0
/*
 * bench_empty: attach bpf/bench_empty.bpf.c's programs, which return at
 * once, to the hooks piiwatchd would attach on this kernel, until SIGTERM
 * or SIGINT.  The floor of piiwatch's hooks for bench/probe_overhead.
 *
 *   bench_empty [--raw-only | --raw-dispatch]
 *
 * --raw-only attaches only the two programs on the raw sys_enter and
 * sys_exit tracepoints, whether or not the kernel takes 32-bit calls: the
 * floor of a design that would see every system call through those two
 * alone, for probe_overhead's "empty, raw tracepoints only" monitor.
 *
 * --raw-dispatch attaches instead the two dispatchers on the same raw
 * tracepoints, which tail-call, for each native call whose syscalls:*
 * entry or exit piiwatch hooks, a program that reads the call's argument
 * registers or its result (bench_empty.bpf.c): the floor of such a design
 * with its dispatch, for probe_overhead's "empty, raw dispatch" monitor.
 * The calls' numbers come from <asm/unistd_64.h> (x86-64 only).
 *
 * Prints "attached N compat C" (the links; C: whether the 32-bit
 * dispatchers' twins are among them) once attached.  On SIGUSR1 it prints each program's
 * run count and run time (kernel.bpf_stats_enabled counts them) as lines
 * "prog NAME SECTION RUNS NS", then "end".  Refuses to run when its hooks
 * are not piiwatch.bpf.c's.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_empty.skel.h"
#include "compat_entry.h"
#include "piiwatch.h"
#include "piiwatch.skel.h"
#include "shared_progs.h"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* The hook of section sec: "raw_tp/X" and "tp_btf/X" are one, the raw
 * tracepoint X, run alike. */
static const char *hook_of(const char *sec)
{
	if (strncmp(sec, "raw_tp/", 7) == 0 || strncmp(sec, "tp_btf/", 7) == 0)
		return sec + 7;
	return sec;
}

static bool has_section(struct bpf_object *obj, const char *sec)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
		if (strcmp(hook_of(bpf_program__section_name(p)), hook_of(sec)) == 0)
			return true;
	return false;
}

/* Every hook of one object is a hook of the other.  A bare "raw_tp"
 * program hooks nothing, and piiwatch's compat_* ones are only
 * tail-called (its exit side's section names their tracepoint).  The
 * bare "tracepoint" ones are the shared programs: both objects have each
 * of shared_progs.h. */
static bool same_hooks(struct bpf_object *a, struct bpf_object *b, const char *b_name,
		       const char *b_prefix)
{
	struct bpf_program *p;
	bool same = true;
	size_t i;

	for (i = 0; i < PW_N_SHARED_PROGS; i++)
		if (!pw_shared_find(b, b_prefix, &pw_shared_progs[i])) {
			fprintf(stderr, "bench_empty: %s has no shared program %s\n", b_name,
				pw_shared_progs[i].name);
			same = false;
		}

	bpf_object__for_each_program(p, a) {
		if (strcmp(bpf_program__section_name(p), "raw_tp") == 0 ||
		    strncmp(bpf_program__name(p), "compat_", 7) == 0)
			continue;
		if (!has_section(b, bpf_program__section_name(p))) {
			fprintf(stderr, "bench_empty: %s has no program in %s\n", b_name,
				bpf_program__section_name(p));
			same = false;
		}
	}
	return same;
}

static bool have_hook(const struct btf *vmlinux, const char *sec)
{
	char path[256];

	if (strncmp(sec, "tp_btf/", 7) == 0) {
		snprintf(path, sizeof(path), "btf_trace_%s", sec + 7);
		return vmlinux && btf__find_by_name_kind(vmlinux, path, BTF_KIND_TYPEDEF) > 0;
	}
	if (strncmp(sec, "tracepoint/syscalls/", 20) == 0) {
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", sec + 20);
		return access(path, F_OK) == 0;
	}
	return true;
}

/* As piiwatchd decides: BPF LSM when the kernel loads it (then without
 * the open syscall tracepoints), otherwise tracepoints only. */
static bool lsm_loads(void)
{
	struct bench_empty_bpf *s = bench_empty_bpf__open();
	struct bpf_program *p;
	libbpf_print_fn_t saved;
	bool ok;

	if (!s)
		return false;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, p == s->progs.empty_lsm_file_open);
	saved = libbpf_set_print(NULL);
	ok = bench_empty_bpf__load(s) == 0;
	libbpf_set_print(saved);
	bench_empty_bpf__destroy(s);
	return ok;
}

#define UNISTD_64 "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

/* The x86-64 number of the system call of a syscalls:* tracepoint's name
 * (sendfile64 is __NR_sendfile), -1 when the header has none; fchmodat2
 * (Linux 6.6) is known without it. */
static long syscall_nr(const char *name)
{
	char line[256], want[96], alt[96], def[96];
	size_t n = strlen(name);
	long nr = -1, nr_alt = -1, v;
	FILE *f = fopen(UNISTD_64, "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "__NR_%s", name);
	snprintf(alt, sizeof(alt), "__NR_%.*s", n > 2 && strcmp(name + n - 2, "64") == 0 ?
		 (int)(n - 2) : (int)n, name);
	while (nr < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define %95s %ld", def, &v) != 2)
			continue;
		if (strcmp(def, want) == 0)
			nr = v;
		else if (strcmp(def, alt) == 0)
			nr_alt = v;
	}
	fclose(f);
	if (nr < 0)
		nr = nr_alt;
	/* Newer than the headers of the distribution. */
	if (nr < 0 && strcmp(name, "fchmodat2") == 0)
		nr = 452;
	if (nr < 0 && strcmp(name, "setxattrat") == 0)
		nr = 463;
	if (nr < 0 && strcmp(name, "removexattrat") == 0)
		nr = 466;
	return nr;
}

/* Put the kind program of a syscalls:* tracepoint ("sys_enter_NAME" or
 * "sys_exit_NAME") in the dispatch table of its side.  0 when done or when
 * the kernel has no such tracepoint. */
static int dispatch_one(struct bench_empty_bpf *s, const char *tp, int *n)
{
	bool enter = strncmp(tp, "sys_enter_", 10) == 0;
	const char *name = tp + (enter ? 10 : 9);
	int fd = bpf_program__fd(enter ? s->progs.empty_kind_enter : s->progs.empty_kind_exit);
	int map = bpf_map__fd(enter ? s->maps.dispatch_enter : s->maps.dispatch_exit);
	char path[160];
	__u32 key;
	long nr;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", tp);
	if (access(path, F_OK) != 0)
		return 0;
	nr = syscall_nr(name);
	if (nr < 0 || nr >= 512) {
		fprintf(stderr, "bench_empty: no x86-64 number for %s in " UNISTD_64 "\n", name);
		return -1;
	}
	key = (__u32)nr;
	if (bpf_map_update_elem(map, &key, &fd, BPF_ANY) != 0) {
		fprintf(stderr, "bench_empty: cannot dispatch %s: %s\n", tp, strerror(errno));
		return -1;
	}
	(*n)++;
	return 0;
}

/* The dispatch tables: every native call piiwatch hooks at its syscalls:*
 * entry or exit, from piiwatch.bpf.c's sections and shared lists. */
static int fill_dispatch(struct bench_empty_bpf *s, struct bpf_object *real, int *n)
{
	struct bpf_program *p;
	size_t i, j;

	bpf_object__for_each_program(p, real) {
		const char *sec = bpf_program__section_name(p);

		if (strncmp(sec, "tracepoint/syscalls/", 20) == 0 && dispatch_one(s, sec + 20, n))
			return -1;
	}
	for (i = 0; i < PW_N_SHARED_PROGS; i++)
		for (j = 0; j < pw_shared_progs[i].n; j++)
			if (dispatch_one(s, pw_shared_progs[i].tps[j], n))
				return -1;
	return 0;
}

/* The programs of --raw-dispatch. */
static bool is_dispatch(struct bench_empty_bpf *s, struct bpf_program *p)
{
	return p == s->progs.empty_dispatch_enter || p == s->progs.empty_dispatch_exit ||
	       p == s->progs.empty_kind_enter || p == s->progs.empty_kind_exit;
}

static void print_stats(struct bench_empty_bpf *s)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) < 0 ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) != 0)
			continue;
		printf("prog %s %s %llu %llu\n", bpf_program__name(p), bpf_program__section_name(p),
		       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
	}
	printf("end\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct bench_empty_bpf *skel = NULL;
	struct piiwatch_bpf *real = NULL;
	struct btf *vmlinux = NULL;
	struct bpf_link **links = NULL;
	size_t i, j, n_links = 0, max_links = 0;
	struct bpf_program *p;
	bool trampoline, compat, raw_only = false, raw_dispatch = false;
	char why[200];
	sigset_t mask;
	int sig = 0, n = 0, n_dispatched = 0, rc = 1;

	if (argc == 2 && strcmp(argv[1], "--raw-only") == 0)
		raw_only = true;
	else if (argc == 2 && strcmp(argv[1], "--raw-dispatch") == 0)
		raw_dispatch = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: bench_empty [--raw-only | --raw-dispatch]\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	/* Signals wait for sigwait() from the start: a SIGTERM during set-up
	 * still ends in the cleanup below. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	skel = bench_empty_bpf__open();
	real = piiwatch_bpf__open();
	if (!skel || !real) {
		fprintf(stderr, "bench_empty: cannot open the BPF objects: %s\n", strerror(errno));
		goto cleanup;
	}
	if (!same_hooks(real->obj, skel->obj, "bench_empty.bpf.c", "empty_") ||
	    !same_hooks(skel->obj, real->obj, "piiwatch.bpf.c", "handle_"))
		goto cleanup;
	trampoline = lsm_loads();
	vmlinux = btf__load_vmlinux_btf();
	/* As piiwatchd: no 32-bit entry (not built, or turned off), no compat
	 * dispatchers. */
	compat = raw_only || raw_dispatch || pw_compat_entry_open(vmlinux, why, sizeof(why));
	bpf_object__for_each_program(p, skel->obj) {
		const char *sec = bpf_program__section_name(p);

		if (raw_dispatch || is_dispatch(skel, p)) {
			bpf_program__set_autoload(p, raw_dispatch && is_dispatch(skel, p));
			continue;
		}
		if ((raw_only && strncmp(sec, "raw_tp/sys_", 11) != 0) ||
		    strcmp(sec, "syscall") == 0 || !have_hook(vmlinux, sec) ||
		    (strncmp(sec, "raw_tp/sys_", 11) == 0 && !compat) ||
		    (strncmp(sec, "lsm/", 4) == 0 && !trampoline) ||
		    (p == skel->progs.empty_exit_open && trampoline))
			bpf_program__set_autoload(p, false);
	}
	if (bench_empty_bpf__load(skel)) {
		fprintf(stderr, "bench_empty: cannot load: %s\n", strerror(errno));
		goto cleanup;
	}
	/* The tables first: no call is dispatched to an empty slot meanwhile. */
	if (raw_dispatch && fill_dispatch(skel, real->obj, &n_dispatched))
		goto cleanup;
	if (bench_empty_bpf__attach(skel)) {
		fprintf(stderr, "bench_empty: cannot attach: %s\n", strerror(errno));
		goto cleanup;
	}
	/* bench_empty_bpf__attach() leaves the programs without a target
	 * alone: each goes on its tracepoints, as piiwatchd's do (the opens'
	 * only in tracepoint mode, where empty_exit_open is loaded). */
	for (i = 0; i < PW_N_SHARED_PROGS; i++)
		max_links += pw_shared_progs[i].n;
	links = calloc(max_links, sizeof(*links));
	if (!links) {
		fprintf(stderr, "bench_empty: out of memory\n");
		goto cleanup;
	}
	for (i = 0; !raw_only && !raw_dispatch && i < PW_N_SHARED_PROGS; i++) {
		struct bpf_program *prog = pw_shared_find(skel->obj, "empty_", &pw_shared_progs[i]);

		for (j = 0; bpf_program__autoload(prog) && j < pw_shared_progs[i].n; j++) {
			const char *tp = pw_shared_progs[i].tps[j];
			char sec[128];

			snprintf(sec, sizeof(sec), "tracepoint/syscalls/%s", tp);
			if (!have_hook(vmlinux, sec))
				continue;
			links[n_links] = bpf_program__attach_tracepoint(prog, "syscalls", tp);
			if (!links[n_links]) {
				fprintf(stderr, "bench_empty: cannot attach to syscalls/%s: %s\n", tp,
					strerror(errno));
				goto cleanup;
			}
			n_links++;
			n++;
		}
	}
	/* Programs without a hook of their own (shared tracepoint ones,
	 * tail-called kinds) were counted above or hook nothing. */
	bpf_object__for_each_program(p, skel->obj)
		if (bpf_program__autoload(p) && strcmp(bpf_program__section_name(p), "tracepoint") &&
		    strcmp(bpf_program__section_name(p), "raw_tp"))
			n++;
	/* And whether the 32-bit dispatchers' twins are among them. */
	printf("attached %d compat %d\n", n, compat);
	if (raw_dispatch)
		fprintf(stderr, "bench_empty: %d native calls dispatched\n", n_dispatched);
	fflush(stdout);
	while (sigwait(&mask, &sig) != 0 || sig == SIGUSR1)
		if (sig == SIGUSR1)
			print_stats(skel);
	rc = 0;
cleanup:
	for (i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	free(links);
	btf__free(vmlinux);
	piiwatch_bpf__destroy(real);
	bench_empty_bpf__destroy(skel);
	return rc;
}
