// SPDX-License-Identifier: GPL-2.0
#include "probes.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fts.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "piiwatch.skel.h"

#define PW_MAX_LINKED_SCAN 100000

struct pw_probes {
	struct piiwatch_bpf *skel;
	bool trampoline;
	struct ring_buffer *rb;
	struct pw_probes_opts opts;
	struct pw_root *roots;
	size_t n_roots;
};

static void set_err(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

int pw_ensure_tracefs(char *err, size_t err_size)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0) {
		set_err(err, err_size, "cannot mount tracefs on /sys/kernel/tracing: %s",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The tracepoint a tp_btf program attaches to exists in this kernel. */
static bool have_btf_tracepoint(const struct btf *vmlinux, const char *name)
{
	char tname[128];

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return vmlinux && btf__find_by_name_kind(vmlinux, tname, BTF_KIND_TYPEDEF) > 0;
}

static bool have_syscall_tracepoint(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", name);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/syscalls/%s", name);
	return access(path, F_OK) == 0;
}

/*
 * Switch off programs whose hook this kernel lacks; they are refinements,
 * and the daemon reports what runs without them.
 */
static void disable_missing_hooks(struct piiwatch_bpf *skel)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		bool present = true;

		if (strncmp(sec, "tp_btf/", 7) == 0)
			present = have_btf_tracepoint(vmlinux, sec + 7);
		else if (strncmp(sec, "tracepoint/syscalls/", 20) == 0)
			present = have_syscall_tracepoint(sec + 20);
		if (!present) {
			pw_log(LOG_INFO, "kernel has no %s: %s not loaded", sec,
			       bpf_program__name(prog));
			bpf_program__set_autoload(prog, false);
		}
	}
	btf__free(vmlinux);
}

/*
 * BPF trampolines (fentry/fexit, BPF LSM) cost less and see opens that
 * bypass the syscalls, but many kernels refuse to load them: try the one
 * LSM program alone.
 */
static bool probe_trampoline(void)
{
	struct piiwatch_bpf *skel = piiwatch_bpf__open();
	struct bpf_program *prog;
	bool ok;

	if (!skel)
		return false;
	libbpf_print_fn_t saved;

	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.handle_lsm_file_open);
	/* A refusal is the expected answer on many kernels, not a warning. */
	saved = libbpf_set_print(NULL);
	ok = piiwatch_bpf__load(skel) == 0;
	libbpf_set_print(saved);
	if (!ok)
		pw_log(LOG_INFO, "BPF trampolines refused by this kernel (%s): using syscall tracepoints",
		       strerror(errno));
	piiwatch_bpf__destroy(skel);
	return ok;
}

static int on_ringbuf(void *ctx, void *data, size_t size)
{
	struct pw_probes *p = ctx;

	p->opts.on_event(p->opts.ctx, data, size);
	return 0;
}

struct pw_probes *pw_probes_start(const struct pw_probes_opts *o, char *err, size_t err_size)
{
	struct pw_probes *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		set_err(err, err_size, "out of memory");
		return NULL;
	}
	p->opts = *o;
	if (pw_ensure_tracefs(err, err_size))
		goto fail;
	p->skel = piiwatch_bpf__open();
	if (!p->skel) {
		set_err(err, err_size, "cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	p->skel->rodata->self_tgid = (__u32)getpid();
	p->skel->rodata->delta_interval_ns = o->delta_interval_ns;
	disable_missing_hooks(p->skel);
	p->trampoline = probe_trampoline();
	if (p->trampoline) {
		/* The LSM hook sees every open: the open syscalls are redundant. */
		bpf_program__set_autoload(p->skel->progs.handle_exit_open, false);
		bpf_program__set_autoload(p->skel->progs.handle_exit_openat, false);
		bpf_program__set_autoload(p->skel->progs.handle_exit_openat2, false);
		bpf_program__set_autoload(p->skel->progs.handle_exit_creat, false);
		bpf_program__set_autoload(p->skel->progs.handle_exit_open_by_handle_at, false);
	} else {
		bpf_program__set_autoload(p->skel->progs.handle_lsm_file_open, false);
	}
	rc = piiwatch_bpf__load(p->skel);
	if (rc) {
		set_err(err, err_size, "cannot load BPF programs: %s (run as root on a kernel with BTF)",
			strerror(-rc));
		goto fail;
	}
	rc = piiwatch_bpf__attach(p->skel);
	if (rc) {
		set_err(err, err_size, "cannot attach BPF programs: %s", strerror(-rc));
		goto fail;
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_ringbuf, p, NULL);
	if (!p->rb) {
		set_err(err, err_size, "cannot create ring buffer: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	pw_probes_stop(p);
	return NULL;
}

static void free_roots(struct pw_root *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].path);
	free(r);
}

void pw_probes_stop(struct pw_probes *p)
{
	if (!p)
		return;
	if (p->rb) {
		/* Whatever the kernel queued before detaching still counts. */
		ring_buffer__consume(p->rb);
		ring_buffer__free(p->rb);
	}
	piiwatch_bpf__destroy(p->skel);
	free_roots(p->roots, p->n_roots);
	free(p);
}

const char *pw_probes_mode(const struct pw_probes *p)
{
	return p->trampoline ? "trampoline" : "tracepoint";
}

int pw_probes_flush_idle(struct pw_probes *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	return bpf_prog_test_run_opts(bpf_program__fd(p->skel->progs.flush_idle), &opts);
}

static int add_root(struct pw_root **roots, size_t *n, const char *path, uint32_t dataset,
		    uint32_t flags, void (*warn)(const char *, const char *))
{
	struct pw_root *nr;
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0) {
		if (warn)
			warn(path, strerror(errno));
		return 0;
	}
	for (i = 0; i < *n; i++) {
		if ((*roots)[i].key.ino == st.st_ino &&
		    (*roots)[i].key.dev == pw_dev_to_kernel(st.st_dev)) {
			/* A honeytoken inside a dataset stays a honeytoken. */
			(*roots)[i].val.flags |= flags;
			if (flags)
				(*roots)[i].val.dataset_id = dataset;
			return 0;
		}
	}
	nr = realloc(*roots, (*n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	*roots = nr;
	nr = &nr[*n];
	memset(nr, 0, sizeof(*nr));
	nr->key.dev = pw_dev_to_kernel(st.st_dev);
	nr->key.ino = st.st_ino;
	nr->val.dataset_id = dataset;
	nr->val.flags = flags;
	nr->path = strdup(path);
	if (!nr->path)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * A hard link outside the protected tree to a file inside it reaches the
 * file without passing a protected directory: name every multiply-linked
 * file below a protected directory in the map itself.  Links made while
 * piiwatch runs are added by the kernel side as they happen.
 */
static int add_linked_files(struct pw_root **roots, size_t *n, const char *dir, uint32_t dataset,
			    size_t *budget)
{
	char *const paths[] = { (char *)dir, NULL };
	FTSENT *e;
	FTS *fts;
	int rc = 0;

	fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return 0;
	while (rc == 0 && (e = fts_read(fts))) {
		if (e->fts_info != FTS_F || e->fts_statp->st_nlink < 2)
			continue;
		if (*budget == 0) {
			pw_log(LOG_WARNING, "%s: more than %d multiply-linked files; the rest are "
			       "protected only through their directory", dir, PW_MAX_LINKED_SCAN);
			break;
		}
		(*budget)--;
		rc = add_root(roots, n, e->fts_path, dataset, 0, NULL);
	}
	fts_close(fts);
	return rc;
}

int pw_probes_apply_policy(struct pw_probes *p, const struct pw_policy *pol,
			   void (*warn)(const char *path, const char *why))
{
	struct pw_root *roots = NULL;
	size_t n = 0, i, j;
	int fd = bpf_map__fd(p->skel->maps.protected_inodes);
	int rc = 0;

	size_t budget = PW_MAX_LINKED_SCAN;

	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		for (j = 0; j < pol->datasets[i].paths.n && rc == 0; j++)
			rc = add_root(&roots, &n, pol->datasets[i].paths.items[j], (uint32_t)i, 0,
				      warn);
	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		for (j = 0; j < pol->datasets[i].paths.n && rc == 0; j++)
			rc = add_linked_files(&roots, &n, pol->datasets[i].paths.items[j],
					      (uint32_t)i, &budget);
	for (j = 0; j < pol->honeytokens.n && rc == 0; j++)
		rc = add_root(&roots, &n, pol->honeytokens.items[j], pw_policy_honeytoken_id(pol),
			      PW_PROT_HONEYTOKEN, warn);
	if (rc)
		goto fail;
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &roots[i].key, &roots[i].val, BPF_ANY)) {
			rc = -errno;
			goto fail;
		}
	}
	for (i = 0; i < p->n_roots; i++) {
		bool kept = false;

		for (j = 0; j < n && !kept; j++)
			kept = memcmp(&roots[j].key, &p->roots[i].key, sizeof(roots[j].key)) == 0;
		if (!kept)
			bpf_map_delete_elem(fd, &p->roots[i].key);
	}
	free_roots(p->roots, p->n_roots);
	p->roots = roots;
	p->n_roots = n;
	return 0;
fail:
	free_roots(roots, n);
	return rc;
}

const struct pw_root *pw_probes_find_root(const struct pw_probes *p, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < p->n_roots; i++)
		if (p->roots[i].key.dev == dev && p->roots[i].key.ino == ino)
			return &p->roots[i];
	return NULL;
}

int pw_probes_fd(const struct pw_probes *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int pw_probes_drain(struct pw_probes *p)
{
	return ring_buffer__consume(p->rb);
}

int pw_probes_stats(const struct pw_probes *p, uint64_t out[PW_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(p->skel->maps.stats);
	__u64 *vals;
	__u32 k;
	int c;

	if (ncpu <= 0)
		return -1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -1;
	for (k = 0; k < PW_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) == 0)
			for (c = 0; c < ncpu; c++)
				out[k] += vals[c];
	}
	free(vals);
	return 0;
}
