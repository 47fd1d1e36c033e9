// SPDX-License-Identifier: GPL-2.0
#include "probes.h"
#include "compat_entry.h"
#include "shared_progs.h"
#include "ringbuf.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fts.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "piiwatch.skel.h"

#define PW_VMLINUX_BTF "/sys/kernel/btf/vmlinux"

#define PW_MAX_LINKED_SCAN 100000
#define PW_N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Everything attached is pinned under one directory the daemon owns, so
 * that the kernel side can outlive the daemon: a restart (or a crash)
 * leaves the probes counting and queueing into the ring buffer, and the
 * next daemon takes the pinned objects over instead of loading new ones.
 */
struct pw_probes {
	struct piiwatch_bpf *skel;   /* NULL when pinned objects were taken over */
	bool trampoline;
	bool reused;
	char *pin_dir;
	int protected_fd;
	int filter_fd;               /* the program filter_add */
	int events_fd;
	int stats_fd;
	int flush_fd;
	int meta_fd;
	uint32_t events_id;          /* map id of the ring: a new ring restarts positions */
	struct pw_ring *ring;
	struct pw_probes_opts opts;
	struct pw_root *roots;
	size_t n_roots;
	struct held_link *links;     /* every link, held open while the daemon runs */
	size_t n_links;
	struct bpf_link **shared;    /* the links of shared programs (attach_shared) */
	size_t n_shared;
	struct pw_root *retired;     /* roots of earlier policies, newest last */
	size_t n_retired;
	struct dataset_name *names;  /* the map's dataset ids, for the daemon's life */
	size_t n_names;
};

/* Events queued under one policy are read under the next after a reload:
 * a dataset keeps its id for the daemon's life, and a root dropped from
 * the policy is still known by its path for a while. */
struct dataset_name {
	char *name;
	bool honeytoken;
};

#define PW_MAX_RETIRED_ROOTS 4096

struct held_link {
	char name[128];              /* its pin's name under links/ */
	int fd;
};

/* The pinned maps the daemon itself uses; the programs' links are pinned
 * under links/. */
static const char *const pinned_maps[] = { "protected_inodes", "events", "stats", "meta",
					    /* emptied by the kernel when no pin or
					     * descriptor holds them */
					    "compat_enter", "compat_exit" };
/* ... and the programs the daemon runs itself, beside them. */
static const char *const pinned_progs[] = { "flush_idle", "filter_add" };

int pw_ensure_tracefs(char *err, size_t err_size)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0) {
		pw_set_err(err, err_size, "cannot mount tracefs on /sys/kernel/tracing: %s",
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

/* The hook of a program in section sec is in this kernel: a tp_btf
 * tracepoint or a syscall tracepoint may not be (the others are). */
static bool hook_present(const struct btf *vmlinux, const char *sec)
{
	if (strncmp(sec, "tp_btf/", 7) == 0)
		return have_btf_tracepoint(vmlinux, sec + 7);
	if (strncmp(sec, "tracepoint/syscalls/", 20) == 0)
		return have_syscall_tracepoint(sec + 20);
	return true;
}

/* A 32-bit dispatcher (handle_compat_*) or a program it tail-calls
 * (compat_*). */
static bool is_compat_prog(const char *name)
{
	return strncmp(name, "compat_", 7) == 0 || strncmp(name, "handle_compat_", 14) == 0;
}

/* The programs that call kfunc bpf_task_from_vpid (Linux 6.13), to follow
 * another process's memory read or written (process_vm_readv,
 * process_vm_writev, ptrace). */
static const char *const vpid_progs[] = { "handle_exit_vm_readv", "handle_exit_vm_writev",
					  "handle_exit_ptrace", "compat_memory_exit" };

static bool needs_vpid_kfunc(const char *name)
{
	size_t i;

	for (i = 0; i < PW_N(vpid_progs); i++)
		if (strcmp(name, vpid_progs[i]) == 0)
			return true;
	return false;
}

static struct piiwatch_bpf *open_object(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);

	if (access(PW_VMLINUX_BTF, R_OK) == 0)
		oo.btf_custom_path = PW_VMLINUX_BTF;
	return piiwatch_bpf__open_opts(&oo);
}

/* Whether the programs called names[0..n) load by themselves on this
 * kernel: a fresh object with only them to load, its refusal unprinted
 * (the expected answer on many kernels, not a warning). */
static bool loads_alone(const char *const *names, size_t n)
{
	struct piiwatch_bpf *skel = open_object();
	struct bpf_program *prog;
	libbpf_print_fn_t saved;
	bool ok;
	size_t i;
	int err;

	if (!skel)
		return false;
	bpf_object__for_each_program(prog, skel->obj) {
		bool wanted = false;

		for (i = 0; i < n && !wanted; i++)
			wanted = strcmp(bpf_program__name(prog), names[i]) == 0;
		bpf_program__set_autoload(prog, wanted);
	}
	saved = libbpf_set_print(NULL);
	ok = piiwatch_bpf__load(skel) == 0;
	err = errno;
	libbpf_set_print(saved);
	piiwatch_bpf__destroy(skel);
	errno = err; /* the refusal's */
	return ok;
}

/*
 * The kernel has kfunc bpf_task_from_vpid and lets tracepoint programs
 * call it: the BTF alone does not say the second.  One native program is
 * tried, so that a refusal here says nothing but that; the others, the
 * 32-bit one included, are then loaded with the rest, and a refusal of
 * any of them is a load error, not a blind spot.  If not, why says why.
 */
static bool vpid_kfunc_callable(const struct btf *vmlinux, char *why, size_t n)
{
	static const char *const trial[] = { "handle_exit_vm_readv" };

	if (!vmlinux || btf__find_by_name_kind(vmlinux, "bpf_task_from_vpid", BTF_KIND_FUNC) <= 0) {
		snprintf(why, n, "the kernel has no such kfunc; Linux 6.13 has it");
		return false;
	}
	if (!loads_alone(trial, PW_N(trial))) {
		snprintf(why, n, "it has the kfunc, but refused %s: %s", trial[0], strerror(errno));
		return false;
	}
	return true;
}

/*
 * Switch off programs whose hook this kernel lacks; they are refinements,
 * and the daemon reports what runs without them.  A kernel built without
 * the 32-bit entry makes no compat system call: the compat dispatchers
 * would only cost every system call, and they and their programs are left
 * out too (without BTF to tell, they stay).  So are the programs that
 * follow another process's memory where tracepoint programs cannot call
 * the kfunc they need (a BLIND SPOT, logged).  Returns whether the
 * compat ones stay.
 */
static bool disable_missing_hooks(struct piiwatch_bpf *skel)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	char why[200];
	bool compat = pw_compat_entry_open(vmlinux, why, sizeof(why));
	char why_vpid[200];
	bool vpid = vpid_kfunc_callable(vmlinux, why_vpid, sizeof(why_vpid));
	struct bpf_program *prog;

	if (compat)
		pw_log(LOG_DEBUG, "%s", why);
	if (!vpid)
		pw_log(LOG_WARNING,
		       "BLIND SPOT: tracepoint programs cannot call kfunc bpf_task_from_vpid on this kernel (%s): memory taken out of a marked process with process_vm_readv or ptrace, or put into another with process_vm_writev or ptrace, does not mark the other process",
		       why_vpid);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog), *name = bpf_program__name(prog);
		bool present = true, is_compat = false;

		if (is_compat_prog(name)) {
			present = compat;
			is_compat = true;
			/* The tail-called ones are never attached; the exits'
			 * tp_btf section only names their tracepoint. */
			if (name[0] == 'c')
				bpf_program__set_autoattach(prog, false);
		} else {
			present = hook_present(vmlinux, sec);
		}
		if (present && !vpid && needs_vpid_kfunc(name)) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		if (!present) {
			if (!is_compat)
				pw_log(LOG_INFO, "kernel has no %s: %s not loaded", sec, name);
			else if (strncmp(name, "compat_", 7) != 0) /* the tail-called kinds go unsaid */
				pw_log(LOG_INFO, "%s: %s not loaded", why, name);
			bpf_program__set_autoload(prog, false);
		}
	}
	btf__free(vmlinux);
	return compat;
}

/* The byte offset of member name of struct type id in btf; -1 if it has
 * none. */
static long member_offset(const struct btf *btf, __s32 id, const char *name)
{
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_member *m;
	int i;

	if (!t || !btf_is_struct(t))
		return -1;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);

		if (n && strcmp(n, name) == 0)
			return (long)(btf_member_bit_offset(t, i) / 8);
	}
	return -1;
}

#define PW_OVERLAY_BTF "/sys/kernel/btf/overlay"

/*
 * Where overlayfs keeps a file's layers, for overlay_real() in
 * bpf/piiwatch.bpf.c: from the kernel's BTF when overlay is built in,
 * else from the module's (Debian builds it as one).  CO-RE cannot be
 * used for them (open_object: modules' BTF is not searched).  Without it
 * (the module not loaded when the probes are, a kernel before 6.5 whose
 * overlay keeps its layers elsewhere) files read through overlay mounts
 * are walked as the overlay's own: a BLIND SPOT, logged.
 */
static void set_overlay_layout(struct piiwatch_bpf *skel)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;
	const struct btf *b = vmlinux;
	long vfs_inode, upper, oe, numlower, lowerstack, dentry;
	__s32 oi = -1, entry;

	if (vmlinux)
		oi = btf__find_by_name_kind(vmlinux, "ovl_inode", BTF_KIND_STRUCT);
	if (vmlinux && oi < 0 && access(PW_OVERLAY_BTF, R_OK) == 0) {
		mod = btf__parse_split(PW_OVERLAY_BTF, vmlinux);
		if (mod) {
			b = mod;
			oi = btf__find_by_name_kind(mod, "ovl_inode", BTF_KIND_STRUCT);
		}
	}
	if (!b || oi < 0) {
		pw_log(LOG_WARNING, "BLIND SPOT: overlayfs is not in this kernel's BTF (not built "
		       "in, its module not loaded): files read through overlay mounts are not "
		       "resolved to their layers; load the overlay module before piiwatchd");
		goto out;
	}
	entry = btf__find_by_name_kind(b, "ovl_entry", BTF_KIND_STRUCT);
	vfs_inode = member_offset(b, oi, "vfs_inode");
	upper = member_offset(b, oi, "__upperdentry");
	oe = member_offset(b, oi, "oe");
	numlower = member_offset(b, entry, "__numlower");
	lowerstack = member_offset(b, entry, "__lowerstack");
	dentry = member_offset(b, btf__find_by_name_kind(b, "ovl_path", BTF_KIND_STRUCT), "dentry");
	if (vfs_inode < 0 || upper < 0 || oe < 0 || numlower < 0 || lowerstack < 0 || dentry < 0) {
		pw_log(LOG_WARNING, "BLIND SPOT: this kernel's overlayfs keeps its layers in a "
		       "layout piiwatch does not read (before Linux 6.5): files read through "
		       "overlay mounts are not resolved to their layers");
		goto out;
	}
	skel->rodata->ovl_vfs_inode = (__u32)vfs_inode;
	skel->rodata->ovl_upper = (__u32)upper;
	skel->rodata->ovl_oe = (__u32)oe;
	skel->rodata->ovl_numlower = (__u32)numlower;
	skel->rodata->ovl_lowerdentry = (__u32)(lowerstack + dentry);
	skel->rodata->ovl_known = 1;
out:
	btf__free(mod);
	btf__free(vmlinux);
}

/*
 * The BPF object, opened with the kernel's own BTF as the only target of
 * its CO-RE relocations: a type the programs test for and this kernel
 * lacks then answers "absent", where libbpf would otherwise go on to
 * search the modules' BTF, which needs CAP_SYS_ADMIN (not in the unit's
 * set) and fails the whole load.  The programs use no module's types.
 */

/*
 * BPF trampolines (fentry/fexit, BPF LSM) cost less and see opens that
 * bypass the syscalls, but many kernels refuse to load them: try the one
 * LSM program alone.
 */
static bool probe_trampoline(void)
{
	static const char *const lsm[] = { "handle_lsm_file_open" };
	bool ok = loads_alone(lsm, PW_N(lsm));

	if (!ok)
		pw_log(LOG_INFO, "BPF trampolines refused by this kernel (%s): using syscall tracepoints",
		       strerror(errno));
	return ok;
}

static int pin_path(char *out, size_t n, const char *dir, const char *sub, const char *name)
{
	int len = snprintf(out, n, "%s/%s%s%s", dir, sub, *sub ? "/" : "", name);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int pw_ensure_bpffs(const char *pin_dir, char *err, size_t err_size)
{
	struct statfs st;
	char links[4096];

	if (statfs("/sys/fs/bpf", &st) != 0 || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700")) {
			pw_set_err(err, err_size, "cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
			return -1;
		}
	}
	if (pin_path(links, sizeof(links), pin_dir, "", "links") ||
	    (mkdir(pin_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(links, 0700) != 0 && errno != EEXIST)) {
		pw_set_err(err, err_size, "cannot create %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove every pinned object; what nothing else references detaches. */
static void unpin_all(const char *pin_dir)
{
	char path[4096];
	struct dirent *de;
	size_t i;
	DIR *d;

	if (pin_path(path, sizeof(path), pin_dir, "", "links") == 0 && (d = opendir(path))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
		rmdir(path);
	}
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++)
		if (pin_path(path, sizeof(path), pin_dir, "", pinned_maps[i]) == 0)
			unlink(path);
	for (i = 0; i < sizeof(pinned_progs) / sizeof(pinned_progs[0]); i++)
		if (pin_path(path, sizeof(path), pin_dir, "", pinned_progs[i]) == 0)
			unlink(path);
	rmdir(pin_dir);
}

static int pin_fresh(struct pw_probes *p, char *err, size_t err_size)
{
	const struct bpf_object_skeleton *sk = p->skel->skeleton;
	struct pw_meta m = { .abi = PW_ABI_VERSION, .trampoline = p->trampoline };
	char path[4096];
	__u32 zero = 0;
	int i;

	m.loaded_ns = pw_now_monotonic_ns();
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.meta), &zero, &m, BPF_ANY))
		goto fail;
	for (i = 0; i < sk->map_cnt; i++) {
		size_t j;

		for (j = 0; j < sizeof(pinned_maps) / sizeof(pinned_maps[0]); j++) {
			if (strcmp(sk->maps[i].name, pinned_maps[j]) != 0)
				continue;
			if (pin_path(path, sizeof(path), p->pin_dir, "", pinned_maps[j]) ||
			    bpf_map__pin(*sk->maps[i].map, path))
				goto fail;
		}
	}
	if (pin_path(path, sizeof(path), p->pin_dir, "", "flush_idle") ||
	    bpf_program__pin(p->skel->progs.flush_idle, path) ||
	    pin_path(path, sizeof(path), p->pin_dir, "", "filter_add") ||
	    bpf_program__pin(p->skel->progs.filter_add, path))
		goto fail;
	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_link *link = *sk->progs[i].link;

		if (!link)
			continue;
		if (pin_path(path, sizeof(path), p->pin_dir, "links", sk->progs[i].name) ||
		    bpf_link__pin(link, path))
			goto fail;
	}
	return 0;
fail:
	pw_set_err(err, err_size, "cannot pin BPF objects under %s: %s", p->pin_dir, strerror(errno));
	return -1;
}

/* Keep fd (a link pinned as links/NAME) for the daemon's life. */
static int hold_link(struct pw_probes *p, const char *name, int fd)
{
	struct held_link *n;

	if (fd < 0)
		return -1;
	n = realloc(p->links, (p->n_links + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return -1;
	}
	p->links = n;
	n = &p->links[p->n_links++];
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->fd = fd;
	return 0;
}

/*
 * One program shared by several syscall tracepoints (shared_progs.h),
 * attached to each the kernel has.
 * Each link is pinned as links/PROGRAM-TRACEPOINT (bpffs refuses dots in
 * names) and held like the skeleton's; libbpf's handle on it is kept in
 * p->shared for pw_probes_stop(), as the skeleton keeps its own.
 */
static int attach_shared(struct pw_probes *p, struct bpf_program *prog,
			 const char *const *tps, size_t n, char *err, size_t err_size)
{
	char name[128], path[4096];
	size_t i;

	for (i = 0; i < n; i++) {
		struct bpf_link *link, **grown;

		if (!have_syscall_tracepoint(tps[i])) {
			pw_log(LOG_INFO, "kernel has no syscalls/%s: %s not attached there", tps[i],
			       bpf_program__name(prog));
			continue;
		}
		grown = realloc(p->shared, (p->n_shared + 1) * sizeof(*grown));
		if (!grown) {
			pw_set_err(err, err_size, "out of memory");
			return -1;
		}
		p->shared = grown;
		link = bpf_program__attach_tracepoint(prog, "syscalls", tps[i]);
		if (!link) {
			pw_set_err(err, err_size, "cannot attach %s to syscalls/%s: %s",
				bpf_program__name(prog), tps[i], strerror(errno));
			return -1;
		}
		p->shared[p->n_shared++] = link;
		snprintf(name, sizeof(name), "%s-%s", bpf_program__name(prog), tps[i]);
		if (pin_path(path, sizeof(path), p->pin_dir, "links", name) ||
		    bpf_link__pin(link, path)) {
			pw_set_err(err, err_size, "cannot pin BPF objects under %s: %s", p->pin_dir,
				strerror(errno));
			return -1;
		}
		if (hold_link(p, name, dup(bpf_link__fd(link)))) {
			pw_set_err(err, err_size, "cannot hold the BPF links: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Every shared program of one side (the exits, or the entries) that is
 * loaded: handle_exit_open is not in trampoline mode. */
static int attach_shared_side(struct pw_probes *p, bool exits, char *err, size_t err_size)
{
	size_t i;

	for (i = 0; i < PW_N_SHARED_PROGS; i++) {
		const struct pw_shared_prog *s = &pw_shared_progs[i];
		struct bpf_program *prog;

		if (s->exits != exits)
			continue;
		prog = pw_shared_find(p->skel->obj, "handle_", s);
		if (!prog) {
			pw_set_err(err, err_size, "the BPF object has no program handle_%s", s->name);
			return -1;
		}
		if (bpf_program__autoload(prog) &&
		    attach_shared(p, prog, s->tps, s->n, err, err_size))
			return -1;
	}
	return 0;
}

/*
 * The compat (i386) system calls handle_compat_enter and handle_compat_exit
 * route (bpf/piiwatch.bpf.c, "32-bit system calls"): by number, the
 * programs of the call's kind and where its arguments are.  Every call
 * the syscalls:* programs watch is here, with the socketcall multiplexer
 * and old_mmap, which only 32-bit callers have.
 */
struct compat_call {
	unsigned nr;       /* i386 syscall number */
	const char *enter; /* its kind's programs, or NULL */
	const char *exit;
	struct pw_compat_desc d;
};

#define IO_IN(nr, in) { nr, "compat_io_enter", "compat_io_exit", { in, -1, 0, 0 } }
#define IO_OUT(nr, out) { nr, "compat_io_enter", "compat_io_exit", { -1, out, 0, 0 } }
#define IO_BOTH(nr, in, out) { nr, "compat_io_enter", "compat_io_exit", { in, out, 0, 0 } }
#define CHANGE(nr, op, p1, p2) { nr, "compat_change_enter", "compat_change_exit", { p1, p2, op, 0 } }
#define NET(nr, call, exit) { nr, "compat_net_enter", exit, { -1, -1, 0, call } }
#define ENTER(nr, prog, variant) { nr, prog, NULL, { -1, -1, 0, variant } }

static const struct compat_call compat_calls[] = {
	IO_IN(3, 0),            /* read */
	IO_IN(180, 0),          /* pread64 */
	IO_IN(145, 0),          /* readv */
	IO_IN(333, 0),          /* preadv */
	IO_IN(378, 0),          /* preadv2 */
	IO_OUT(4, 0),           /* write */
	IO_OUT(181, 0),         /* pwrite64 */
	IO_OUT(146, 0),         /* writev */
	IO_OUT(334, 0),         /* pwritev */
	IO_OUT(379, 0),         /* pwritev2 */
	IO_BOTH(187, 1, 0),     /* sendfile(out_fd, in_fd, ...) */
	IO_BOTH(239, 1, 0),     /* sendfile64 */
	IO_BOTH(313, 0, 2),     /* splice(fd_in, off_in, fd_out, ...) */
	IO_BOTH(377, 0, 2),     /* copy_file_range */
	IO_BOTH(315, 0, 1),     /* tee(fd_in, fd_out, ...) */
	{ 316, "compat_io_enter", "compat_io_exit", { 0, -1, 0, PW_COMPAT_VMSPLICE } },
	{ 54, "compat_ioctl_enter", "compat_ioctl_exit", { -1, -1, 0, 0 } }, /* the reflinks */
	ENTER(6, "compat_close_enter", 0),
	ENTER(63, "compat_dup_enter", 0),          /* dup2 */
	ENTER(330, "compat_dup_enter", 0),         /* dup3 */
	ENTER(436, "compat_close_range_enter", 0),
	ENTER(192, "compat_mmap_enter", PW_COMPAT_MMAP2),
	ENTER(90, "compat_mmap_enter", PW_COMPAT_OLD_MMAP),
	{ 248, "compat_io_submit_enter", "compat_io_submit_exit", { -1, -1, 0, 0 } },
	{ 11, "compat_exec_enter", "compat_exec_exit", { -1, -1, 0, 0 } },   /* execve */
	{ 358, "compat_exec_enter", "compat_exec_exit", { -1, -1, 0, 0 } },  /* execveat */
	CHANGE(10, PW_CH_UNLINK, 0, -1),
	CHANGE(301, PW_CH_UNLINK, 1, -1),       /* unlinkat */
	CHANGE(40, PW_CH_RMDIR, 0, -1),
	CHANGE(38, PW_CH_RENAME, 0, 1),
	CHANGE(302, PW_CH_RENAME, 1, 3),        /* renameat */
	CHANGE(353, PW_CH_RENAME, 1, 3),        /* renameat2 */
	CHANGE(9, PW_CH_LINK, 0, 1),
	{ 303, "compat_linkat_enter", "compat_change_exit", { -1, -1, 0, 0 } },
	CHANGE(83, PW_CH_SYMLINK, 0, 1),
	CHANGE(304, PW_CH_SYMLINK, 0, 2),       /* symlinkat */
	CHANGE(92, PW_CH_TRUNCATE, 0, -1),
	CHANGE(193, PW_CH_TRUNCATE, 0, -1),     /* truncate64 */
	CHANGE(93, PW_CH_TRUNCATE, -1, -1),     /* ftruncate */
	CHANGE(194, PW_CH_TRUNCATE, -1, -1),    /* ftruncate64 */
	CHANGE(15, PW_CH_CHMOD, 0, -1),
	CHANGE(94, PW_CH_CHMOD, -1, -1),        /* fchmod */
	CHANGE(306, PW_CH_CHMOD, 1, -1),        /* fchmodat */
	CHANGE(452, PW_CH_CHMOD, 1, -1),        /* fchmodat2 */
	CHANGE(182, PW_CH_CHOWN, 0, -1),        /* chown (16-bit ids) */
	CHANGE(212, PW_CH_CHOWN, 0, -1),        /* chown32 */
	CHANGE(16, PW_CH_CHOWN, 0, -1),         /* lchown */
	CHANGE(198, PW_CH_CHOWN, 0, -1),        /* lchown32 */
	CHANGE(95, PW_CH_CHOWN, -1, -1),        /* fchown */
	CHANGE(207, PW_CH_CHOWN, -1, -1),       /* fchown32 */
	CHANGE(298, PW_CH_CHOWN, 1, -1),        /* fchownat */
	CHANGE(324, PW_CH_FALLOCATE, -1, -1),   /* fallocate: compat_change_enter reads the mode */
	CHANGE(226, PW_CH_SETXATTR, 0, 1),
	CHANGE(227, PW_CH_SETXATTR, 0, 1),      /* lsetxattr */
	CHANGE(228, PW_CH_SETXATTR, -1, 1),     /* fsetxattr */
	CHANGE(463, PW_CH_SETXATTR, 1, 3),      /* setxattrat */
	CHANGE(235, PW_CH_REMOVEXATTR, 0, 1),
	CHANGE(236, PW_CH_REMOVEXATTR, 0, 1),   /* lremovexattr */
	CHANGE(237, PW_CH_REMOVEXATTR, -1, 1),  /* fremovexattr */
	CHANGE(466, PW_CH_REMOVEXATTR, 1, 3),   /* removexattrat */
	/* The socket calls by their socketcall numbers (net/socket.c). */
	NET(362, 3, "compat_net_exit"),         /* connect */
	NET(369, 11, NULL),                     /* sendto */
	NET(370, 16, NULL),                     /* sendmsg */
	NET(345, 20, NULL),                     /* sendmmsg */
	{ 102, "compat_socketcall_enter", "compat_net_exit", { -1, -1, 0, 0 } },
	/* Another process's memory (where the kfunc they need can be called). */
	{ 347, NULL, "compat_memory_exit", { -1, -1, 0, PW_COMPAT_VM_READ } },
	{ 348, NULL, "compat_memory_exit", { -1, -1, 0, PW_COMPAT_VM_WRITE } },
	{ 26, NULL, "compat_memory_exit", { -1, -1, 0, PW_COMPAT_PTRACE } },
};

/* The opens' exits, in tracepoint mode only (the LSM hook sees them
 * otherwise): open, creat, openat, open_by_handle_at, openat2. */
static const struct compat_call compat_opens[] = {
	{ 5, NULL, "compat_open_exit", { -1, -1, 0, 0 } },
	{ 8, NULL, "compat_open_exit", { -1, -1, 0, 0 } },
	{ 295, NULL, "compat_open_exit", { -1, -1, 0, 0 } },
	{ 342, NULL, "compat_open_exit", { -1, -1, 0, 0 } },
	{ 437, NULL, "compat_open_exit", { -1, -1, 0, 0 } },
};

/* Route each of calls to its programs in skel's tables, with its
 * descriptor.  Returns the routes made, or -1. */
static int fill_compat(struct piiwatch_bpf *skel, const struct compat_call *calls, size_t n,
		       char *err, size_t err_size)
{
	int maps[2] = { bpf_map__fd(skel->maps.compat_enter), bpf_map__fd(skel->maps.compat_exit) };
	int desc_fd = bpf_map__fd(skel->maps.compat_desc), routed = 0;
	size_t i, side;

	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(desc_fd, &calls[i].nr, &calls[i].d, BPF_ANY)) {
			pw_set_err(err, err_size, "cannot describe compat syscall %u: %s",
				   calls[i].nr, strerror(errno));
			return -1;
		}
		for (side = 0; side < 2; side++) {
			const char *name = side ? calls[i].exit : calls[i].enter;
			struct bpf_program *prog =
				name ? bpf_object__find_program_by_name(skel->obj, name) : NULL;
			int fd = prog ? bpf_program__fd(prog) : -1;

			if (!name || (prog && !bpf_program__autoload(prog)))
				continue; /* none, or not loaded on this kernel */
			if (fd < 0) {
				pw_set_err(err, err_size, "no BPF program %s for compat syscall %u",
					   name, calls[i].nr);
				return -1;
			}
			if (bpf_map_update_elem(maps[side], &calls[i].nr, &fd, BPF_ANY)) {
				pw_set_err(err, err_size, "cannot route compat syscall %u to %s: %s",
					   calls[i].nr, name, strerror(errno));
				return -1;
			}
			routed++;
		}
	}
	return routed;
}

int pw_probes_verify_all(int *loaded, int *absent, bool *vpid, int *routed, char *err,
			 size_t err_size)
{
	struct piiwatch_bpf *skel = open_object();
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	char why[200];
	int rc = -1, r1, r2;

	*loaded = *absent = *routed = 0;
	*vpid = vpid_kfunc_callable(vmlinux, why, sizeof(why));
	if (!skel) {
		pw_set_err(err, err_size, "cannot open BPF object: %s", strerror(errno));
		goto out;
	}
	/* Nothing is attached or run: the overlay's reads are
	 * bpf_probe_read_kernel at offsets the verifier does not judge, so
	 * any layout keeps that branch from being pruned. */
	skel->rodata->ovl_known = 1;
	skel->rodata->ovl_vfs_inode = 64;
	skel->rodata->ovl_upper = 8;
	skel->rodata->ovl_oe = 16;
	skel->rodata->ovl_numlower = 4;
	skel->rodata->ovl_lowerdentry = 24;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		bool here = is_compat_prog(name) ||
			    hook_present(vmlinux, bpf_program__section_name(prog));
		bool on = prog != skel->progs.handle_lsm_file_open && (*vpid || !needs_vpid_kfunc(name));

		bpf_program__set_autoload(prog, on && here);
		*loaded += on && here;
		*absent += on && !here;
	}
	rc = piiwatch_bpf__load(skel);
	if (rc) {
		pw_set_err(err, err_size, "cannot load BPF programs: %s", strerror(-rc));
		rc = -1;
		goto out;
	}
	r1 = fill_compat(skel, compat_calls, PW_N(compat_calls), err, err_size);
	r2 = r1 < 0 ? -1 : fill_compat(skel, compat_opens, PW_N(compat_opens), err, err_size);
	rc = r2 < 0 ? -1 : 0;
	*routed = r1 + r2;
out:
	piiwatch_bpf__destroy(skel);
	btf__free(vmlinux);
	return rc;
}

static int load_fresh(struct pw_probes *p, char *err, size_t err_size)
{
	bool compat;
	int rc, i;

	p->skel = open_object();
	if (!p->skel) {
		pw_set_err(err, err_size, "cannot open BPF object: %s", strerror(errno));
		return -1;
	}
	p->skel->rodata->delta_interval_ns = p->opts.delta_interval_ns;
	set_overlay_layout(p->skel);
	/* Past this many open protected files, opens are still reported but
	 * their bytes are not counted: a blind spot the stats report. */
	if (p->opts.max_open_files &&
	    bpf_map__set_max_entries(p->skel->maps.open_files, (__u32)p->opts.max_open_files)) {
		pw_set_err(err, err_size, "cannot size the open-file map: %s", strerror(errno));
		return -1;
	}
	/* The policy's paths, the multiply-linked files below its
	 * directories and the files renamed or linked out of them share it. */
	if (p->opts.max_protected &&
	    bpf_map__set_max_entries(p->skel->maps.protected_inodes, (__u32)p->opts.max_protected)) {
		pw_set_err(err, err_size, "cannot size the protected-inode map: %s", strerror(errno));
		return -1;
	}
	/* What the ring holds is how long the daemon may fall behind (a
	 * checkpoint, a burst) before events are lost. */
	if (p->opts.ring_bytes &&
	    bpf_map__set_max_entries(p->skel->maps.events, (__u32)p->opts.ring_bytes)) {
		pw_set_err(err, err_size, "cannot size the ring buffer: %s", strerror(errno));
		return -1;
	}
	compat = disable_missing_hooks(p->skel);
	p->trampoline = probe_trampoline();
	if (p->trampoline) {
		/* The LSM hook sees every open: the open syscalls are redundant. */
		bpf_program__set_autoload(p->skel->progs.handle_exit_open, false);
	} else {
		bpf_program__set_autoload(p->skel->progs.handle_lsm_file_open, false);
	}
	rc = piiwatch_bpf__load(p->skel);
	if (rc) {
		pw_set_err(err, err_size, "cannot load BPF programs: %s (run as root on a kernel with BTF)",
			strerror(-rc));
		return -1;
	}
	if (compat && (fill_compat(p->skel, compat_calls, PW_N(compat_calls), err, err_size) < 0 ||
		       (!p->trampoline &&
			fill_compat(p->skel, compat_opens, PW_N(compat_opens), err, err_size) < 0)))
		return -1;
	/* The exits before their entries, so that no entry leaves a pending
	 * change, open or transfer behind for want of its exit. */
	if (attach_shared_side(p, true, err, err_size))
		return -1;
	rc = piiwatch_bpf__attach(p->skel);
	if (rc) {
		pw_set_err(err, err_size, "cannot attach BPF programs: %s", strerror(-rc));
		return -1;
	}
	if (attach_shared_side(p, false, err, err_size) || pin_fresh(p, err, err_size))
		return -1;
	p->protected_fd = dup(bpf_map__fd(p->skel->maps.protected_inodes));
	p->filter_fd = dup(bpf_program__fd(p->skel->progs.filter_add));
	p->events_fd = dup(bpf_map__fd(p->skel->maps.events));
	p->stats_fd = dup(bpf_map__fd(p->skel->maps.stats));
	p->meta_fd = dup(bpf_map__fd(p->skel->maps.meta));
	p->flush_fd = dup(bpf_program__fd(p->skel->progs.flush_idle));
	for (i = 0; i < p->skel->skeleton->prog_cnt; i++) {
		struct bpf_link *link = *p->skel->skeleton->progs[i].link;

		if (link && hold_link(p, p->skel->skeleton->progs[i].name, dup(bpf_link__fd(link)))) {
			pw_set_err(err, err_size, "cannot hold the BPF links: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int pinned_fd(const struct pw_probes *p, const char *name)
{
	char path[4096];

	if (pin_path(path, sizeof(path), p->pin_dir, "", name))
		return -1;
	return bpf_obj_get(path);
}

/* Take over the objects a previous daemon left pinned, if they are of this
 * version and complete.  Returns 0 when taken over. */
static int take_over(struct pw_probes *p)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0;
	struct pw_meta m;
	char links[4096], path[4096];
	struct dirent *de;
	int n_links = 0;
	DIR *d;

	p->meta_fd = pinned_fd(p, "meta");
	if (p->meta_fd < 0)
		return -1;
	if (bpf_map_lookup_elem(p->meta_fd, &zero, &m) || m.abi != PW_ABI_VERSION) {
		pw_log(LOG_WARNING, "pinned BPF objects in %s are of another version: replacing them",
		       p->pin_dir);
		return -1;
	}
	if (pin_path(links, sizeof(links), p->pin_dir, "", "links") || !(d = opendir(links)))
		return -1;
	/* Held open, the links keep the programs attached even if their pins
	 * are removed while this daemon runs. */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		n_links++;
		if (pin_path(path, sizeof(path), links, "", de->d_name) ||
		    hold_link(p, de->d_name, bpf_obj_get(path))) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	p->protected_fd = pinned_fd(p, "protected_inodes");
	p->filter_fd = pinned_fd(p, "filter_add");
	p->events_fd = pinned_fd(p, "events");
	p->stats_fd = pinned_fd(p, "stats");
	p->flush_fd = pinned_fd(p, "flush_idle");
	if (p->protected_fd < 0 || p->filter_fd < 0 || p->events_fd < 0 || p->stats_fd < 0 ||
	    p->flush_fd < 0 || n_links == 0 ||
	    bpf_obj_get_info_by_fd(p->protected_fd, &info, &len) ||
	    info.key_size != sizeof(struct pw_inode_key) ||
	    info.value_size != sizeof(struct pw_protected_val)) {
		pw_log(LOG_WARNING, "pinned BPF objects in %s are incomplete: replacing them",
		       p->pin_dir);
		return -1;
	}
	p->trampoline = m.trampoline;
	p->reused = true;
	pw_log(LOG_INFO, "took over %d BPF links pinned in %s: nothing was missed "
	       "while no daemon ran", n_links, p->pin_dir);
	return 0;
}

static void close_fds(struct pw_probes *p)
{
	int *fds[] = { &p->protected_fd, &p->filter_fd, &p->events_fd, &p->stats_fd, &p->flush_fd,
		       &p->meta_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	for (i = 0; i < p->n_links; i++)
		close(p->links[i].fd);
	free(p->links);
	p->links = NULL;
	p->n_links = 0;
}

struct pw_probes *pw_probes_start(const struct pw_probes_opts *o, char *err, size_t err_size)
{
	struct pw_probes *p = calloc(1, sizeof(*p));
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (!p) {
		pw_set_err(err, err_size, "out of memory");
		return NULL;
	}
	p->opts = *o;
	p->protected_fd = p->filter_fd = p->events_fd = p->stats_fd = p->flush_fd = p->meta_fd = -1;
	p->pin_dir = strdup(o->pin_dir);
	if (!p->pin_dir) {
		pw_set_err(err, err_size, "out of memory");
		goto fail;
	}
	if (pw_ensure_tracefs(err, err_size) || pw_ensure_bpffs(p->pin_dir, err, err_size))
		goto fail;
	if (take_over(p) != 0) {
		close_fds(p);
		/* Leftovers of another version: replaced, with a moment's blind
		 * spot while the new programs attach. */
		unpin_all(p->pin_dir);
		if (pw_ensure_bpffs(p->pin_dir, err, err_size) || load_fresh(p, err, err_size))
			goto fail;
	}
	if (bpf_obj_get_info_by_fd(p->events_fd, &info, &len) ||
	    !(p->ring = pw_ring_open(p->events_fd, info.max_entries))) {
		pw_set_err(err, err_size, "cannot map the ring buffer: %s", strerror(errno));
		goto fail;
	}
	p->events_id = info.id;
	/* Loading parsed the kernel's BTF, megabytes that are free now: give
	 * them back rather than keep them resident for the daemon's life. */
	malloc_trim(0);
	return p;
fail:
	/* Nothing of a failed start stays attached. */
	pw_probes_stop(p, false);
	return NULL;
}

static void free_roots(struct pw_root *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].path);
	free(r);
}

void pw_probes_stop(struct pw_probes *p, bool keep_attached)
{
	if (!p)
		return;
	pw_ring_close(p->ring);
	close_fds(p);
	if (p->skel && keep_attached) {
		const struct bpf_object_skeleton *sk = p->skel->skeleton;
		int i;

		/* The pinned links keep the programs attached once our
		 * descriptors are closed. */
		for (i = 0; i < sk->prog_cnt; i++)
			if (*sk->progs[i].link)
				bpf_link__disconnect(*sk->progs[i].link);
	}
	if (!keep_attached && p->pin_dir)
		unpin_all(p->pin_dir);
	/* Destroying a link libbpf still owns detaches it (closes its
	 * descriptors); a disconnected one stays for its pin. */
	while (p->n_shared) {
		struct bpf_link *link = p->shared[--p->n_shared];

		if (keep_attached)
			bpf_link__disconnect(link);
		bpf_link__destroy(link);
	}
	free(p->shared);
	piiwatch_bpf__destroy(p->skel);
	free_roots(p->roots, p->n_roots);
	free_roots(p->retired, p->n_retired);
	while (p->n_names)
		free(p->names[--p->n_names].name);
	free(p->names);
	free(p->pin_dir);
	free(p);
}

int pw_probes_detach(const char *pin_dir, char *err, size_t err_size)
{
	struct stat st;

	if (stat(pin_dir, &st) != 0) {
		if (errno == ENOENT)
			return 1;
		pw_set_err(err, err_size, "cannot look at %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	unpin_all(pin_dir);
	if (stat(pin_dir, &st) == 0) {
		pw_set_err(err, err_size, "%s still holds objects piiwatch did not pin", pin_dir);
		return -1;
	}
	return 0;
}

const char *pw_probes_mode(const struct pw_probes *p)
{
	return p->trampoline ? "trampoline" : "tracepoint";
}

bool pw_probes_compat(const struct pw_probes *p)
{
	size_t i;

	/* Taken over or loaded here: the link of the entry dispatcher. */
	for (i = 0; i < p->n_links; i++)
		if (strcmp(p->links[i].name, "handle_compat_enter") == 0)
			return true;
	return false;
}

bool pw_probes_reused(const struct pw_probes *p)
{
	return p->reused;
}

/* True when the object pinned at path is the one fd refers to. */
static bool pinned_is(const char *path, int fd)
{
	struct {
		__u32 type;
		__u32 id;
	} pinned = { 0 }, held = { 0 };
	__u32 len = sizeof(pinned), hlen = sizeof(held);
	int pfd = bpf_obj_get(path);
	bool same;

	if (pfd < 0)
		return false;
	/* Programs', maps' and links' info all start with type and id. */
	same = bpf_obj_get_info_by_fd(pfd, &pinned, &len) == 0 &&
	       bpf_obj_get_info_by_fd(fd, &held, &hlen) == 0 && pinned.type == held.type &&
	       pinned.id == held.id;
	close(pfd);
	return same;
}

static int repin(const char *path, int fd)
{
	unlink(path);
	return bpf_obj_pin(fd, path);
}

int pw_probes_check_pins(struct pw_probes *p)
{
	const struct {
		const char *name;
		int fd;
	} objs[] = {
		{ "protected_inodes", p->protected_fd }, { "filter_add", p->filter_fd },
		{ "events", p->events_fd },
		{ "stats", p->stats_fd }, { "meta", p->meta_fd }, { "flush_idle", p->flush_fd },
	};
	char path[4096], err[256];
	int restored = 0;
	size_t i;

	if (pw_ensure_bpffs(p->pin_dir, err, sizeof(err)))
		return -1;
	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		if (pin_path(path, sizeof(path), p->pin_dir, "", objs[i].name) ||
		    pinned_is(path, objs[i].fd))
			continue;
		if (repin(path, objs[i].fd))
			return -1;
		restored++;
	}
	for (i = 0; i < p->n_links; i++) {
		if (pin_path(path, sizeof(path), p->pin_dir, "links", p->links[i].name) ||
		    pinned_is(path, p->links[i].fd))
			continue;
		if (repin(path, p->links[i].fd))
			return -1;
		restored++;
	}
	return restored;
}

int pw_probes_flush_idle(struct pw_probes *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	return bpf_prog_test_run_opts(p->flush_fd, &opts);
}

/* Append the root key, named path, to *roots. */
static int append_root(struct pw_root **roots, size_t *n, struct pw_inode_key key,
		       uint32_t dataset, uint32_t flags, const char *path)
{
	struct pw_root *nr = realloc(*roots, (*n + 1) * sizeof(*nr));

	if (!nr)
		return -ENOMEM;
	*roots = nr;
	nr = &nr[*n];
	memset(nr, 0, sizeof(*nr));
	nr->key = key;
	nr->val.dataset_id = dataset;
	nr->val.flags = flags;
	nr->path = strdup(path);
	if (!nr->path)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int add_root(struct pw_root **roots, size_t *n, const char *path, uint32_t dataset,
		    uint32_t flags, void (*warn)(const char *, const char *))
{
	struct pw_inode_key key;
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0) {
		if (warn)
			warn(path, strerror(errno));
		return 0;
	}
	key.dev = pw_dev_to_kernel(st.st_dev);
	key.ino = st.st_ino;
	for (i = 0; i < *n; i++) {
		if ((*roots)[i].key.ino == key.ino && (*roots)[i].key.dev == key.dev) {
			/* A honeytoken inside a dataset stays a honeytoken. */
			(*roots)[i].val.flags |= flags;
			if (flags)
				(*roots)[i].val.dataset_id = dataset;
			return 0;
		}
	}
	return append_root(roots, n, key, dataset, flags, path);
}

/* The first line of the small file at path, without its newline; false
 * if it cannot be read or is empty. */
static bool first_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	out[strcspn(out, "\n")] = '\0';
	return out[0] != '\0';
}

/* Protect the raw block device dev (kernel encoding) as dataset's, named
 * by path; a device already protected keeps the dataset it had. */
static int add_raw_root(struct pw_root **roots, size_t *n, uint64_t dev, const char *path,
			uint32_t dataset)
{
	struct pw_inode_key key = { .dev = PW_DEV_RAW, .ino = dev };
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*roots)[i].key.dev == key.dev && (*roots)[i].key.ino == key.ino)
			return 0;
	return append_root(roots, n, key, dataset, 0, path);
}

#define PW_BLOCK_STACK_DEPTH 8

/* The node of the block device at sysfs directory sys: /dev/ and its
 * uevent's DEVNAME, or /dev/block/MAJ:MIN without one. */
static void block_node(const char *sys, unsigned maj, unsigned min, char *out, size_t size)
{
	char path[PATH_MAX], l[512];
	FILE *f;

	snprintf(out, size, "/dev/block/%u:%u", maj, min);
	snprintf(path, sizeof(path), "%s/uevent", sys);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(l, sizeof(l), f)) {
		if (strncmp(l, "DEVNAME=", 8) == 0) {
			l[strcspn(l, "\n")] = '\0';
			snprintf(out, size, "/dev/%s", l + 8);
			break;
		}
	}
	fclose(f);
}

static int add_block_devices(struct pw_root **roots, size_t *n, unsigned maj, unsigned min,
			     uint32_t dataset, int depth);

/* add_block_devices() of the device whose "MAJ:MIN" the sysfs file path
 * holds; 0 when it holds none. */
static int add_block_device_at(struct pw_root **roots, size_t *n, const char *path,
			       uint32_t dataset, int depth)
{
	char line[64];
	unsigned maj, min;

	if (!first_line(path, line, sizeof(line)) || sscanf(line, "%u:%u", &maj, &min) != 2)
		return 0;
	return add_block_devices(roots, n, maj, min, dataset, depth);
}

/*
 * Whoever can open the block device a protected file system is on can
 * read its blocks, files and all, with no file of it opened: root, and
 * the group that owns the device node (disk, on Debian).  So that device
 * is protected as a raw device of the dataset, and with it what it is
 * read from, as sysfs says: the whole disk of a partition, the devices a
 * device-mapper or md device is built on (its slaves), recursively, and
 * the image file behind a loop device, protected as a file.  A file
 * system on no block device (tmpfs, overlay, NFS) has none.
 */
static int add_block_devices(struct pw_root **roots, size_t *n, unsigned maj, unsigned min,
			     uint32_t dataset, int depth)
{
	char sys[128], path[PATH_MAX], line[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc;

	if (depth >= PW_BLOCK_STACK_DEPTH)
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
	if (access(sys, F_OK) != 0)
		return 0;
	block_node(sys, maj, min, line, sizeof(line));
	rc = add_raw_root(roots, n, pw_dev_to_kernel(makedev(maj, min)), line, dataset);
	if (rc)
		return rc;
	/* A partition: its disk holds it whole. */
	snprintf(path, sizeof(path), "%s/partition", sys);
	if (access(path, F_OK) == 0) {
		snprintf(path, sizeof(path), "%s/../dev", sys);
		if ((rc = add_block_device_at(roots, n, path, dataset, depth + 1)))
			return rc;
	}
	/* A loop device: its image file, and the devices that file is on. */
	snprintf(path, sizeof(path), "%s/loop/backing_file", sys);
	if (first_line(path, line, sizeof(line)) && line[0] == '/') {
		struct stat st;

		rc = add_root(roots, n, line, dataset, 0, NULL);
		if (rc == 0 && stat(line, &st) == 0)
			rc = add_block_devices(roots, n, major(st.st_dev), minor(st.st_dev), dataset,
					       depth + 1);
		if (rc)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/slaves", sys);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/dev", e->d_name);
		if ((rc = add_block_device_at(roots, n, path, dataset, depth + 1)))
			break;
	}
	if (d)
		closedir(d);
	return rc;
}

/* The device a mountinfo line names as its source, when that is a block
 * device node: btrfs (and bcachefs, ZFS) report an anonymous device
 * number of their own, not their disk's. */
static int add_mount_source(struct pw_root **roots, size_t *n, const char *source,
			    uint32_t dataset)
{
	struct stat st;

	if (strncmp(source, "/dev/", 5) != 0 || stat(source, &st) != 0 || !S_ISBLK(st.st_mode))
		return 0;
	return add_block_devices(roots, n, major(st.st_rdev), minor(st.st_rdev), dataset, 0);
}

/* The block devices of the file system a dataset's path is on, and of
 * those mounted below it (whose files the walk protects through their
 * mount). */
static int add_dataset_devices(struct pw_root **roots, size_t *n, const char *path,
			       uint32_t dataset)
{
	char *line = NULL, real[PATH_MAX];
	size_t cap = 0, len;
	struct stat st;
	FILE *f;
	int rc;

	if (stat(path, &st) != 0)
		return 0; /* add_root has warned */
	rc = add_block_devices(roots, n, major(st.st_dev), minor(st.st_dev), dataset, 0);
	if (rc || !S_ISDIR(st.st_mode) || !realpath(path, real))
		return rc;
	len = strlen(real);
	f = fopen("/proc/self/mountinfo", "re");
	while (rc == 0 && f && getline(&line, &cap, f) > 0) {
		struct pw_mountinfo m;
		bool below;

		if (pw_mountinfo_parse(line, &m))
			continue;
		below = strncmp(m.mount_point, real, len) == 0 &&
			(m.mount_point[len] == '/' || (len == 1 && m.mount_point[1]));
		if (below)
			rc = add_block_devices(roots, n, m.major, m.minor, dataset, 0);
		if (rc == 0 && (below || (m.major == major(st.st_dev) && m.minor == minor(st.st_dev))))
			rc = add_mount_source(roots, n, m.source, dataset);
	}
	free(line);
	if (f)
		fclose(f);
	return rc;
}

/*
 * A hard link outside the protected tree to a file inside it reaches the
 * file without passing a protected directory: name every multiply-linked
 * file below a protected directory in the map itself.  Links made while
 * piiwatch runs are added by the kernel side as they happen.  Whoever can
 * write to a protected directory can make such files, so they get at most
 * *budget entries, never enough to crowd the policy's own paths out of the
 * map.
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
			pw_log(LOG_WARNING, "BLIND SPOT: %s: too many multiply-linked files for the "
			       "kernel's protected-inode map; the rest are protected only through "
			       "their directory, not through their other names", dir);
			break;
		}
		(*budget)--;
		rc = add_root(roots, n, e->fts_path, dataset, 0, NULL);
	}
	fts_close(fts);
	return rc;
}

static int stable_dataset_id(struct pw_probes *p, const char *name, bool honeytoken,
			     uint32_t *id)
{
	struct dataset_name *n;
	size_t i;

	for (i = 0; i < p->n_names; i++) {
		if (p->names[i].honeytoken == honeytoken && strcmp(p->names[i].name, name) == 0) {
			*id = (uint32_t)i;
			return 0;
		}
	}
	n = realloc(p->names, (p->n_names + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->names = n;
	n[p->n_names].name = strdup(name);
	if (!n[p->n_names].name)
		return -ENOMEM;
	n[p->n_names].honeytoken = honeytoken;
	*id = (uint32_t)p->n_names++;
	return 0;
}

const char *pw_probes_dataset_name(const struct pw_probes *p, uint32_t id)
{
	return id < p->n_names ? p->names[id].name : "?";
}

/* Keep a root the policy dropped (taking its path) for events about it
 * that are still queued. */
static void retire_root(struct pw_probes *p, struct pw_root *r)
{
	struct pw_root *nr;
	size_t i;

	for (i = 0; i < p->n_retired; i++) {
		if (memcmp(&p->retired[i].key, &r->key, sizeof(r->key)) == 0 ||
		    p->n_retired == PW_MAX_RETIRED_ROOTS) {
			free(p->retired[i].path);
			memmove(p->retired + i, p->retired + i + 1,
				(--p->n_retired - i) * sizeof(*p->retired));
			break;
		}
	}
	nr = realloc(p->retired, (p->n_retired + 1) * sizeof(*nr));
	if (!nr)
		return;
	p->retired = nr;
	nr[p->n_retired++] = *r;
	r->path = NULL;
}

/* Set key's filter bit before its entry is added: the kernel side skips
 * inodes whose bit is clear.  The kernel sets it, with the atomic OR the
 * kernel side's own additions use (bpf/piiwatch.h). */
static int filter_add(struct pw_probes *p, const struct pw_inode_key *key)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = key, .ctx_size_in = sizeof(*key));

	if (bpf_prog_test_run_opts(p->filter_fd, &opts))
		return -1;
	if (opts.retval) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* What putting a root in protected_inodes replaced, to put back. */
struct prior_entry {
	struct pw_protected_val val;
	bool existed;
};

/*
 * Put r in the kernel's map and note in *prior what was there.  Besides
 * this daemon only the kernel side writes the map, and it only adds
 * entries where there are none (BPF_NOEXIST) and never removes one: so an
 * entry absent when this adds it is this call's, and one present stays
 * what *prior says until this replaces it.  On failure the map holds what
 * it held before for r->key.
 */
static int protect_root(struct pw_probes *p, const struct pw_root *r, struct prior_entry *prior)
{
	prior->existed = false;
	if (filter_add(p, &r->key))
		return -1;
	if (bpf_map_update_elem(p->protected_fd, &r->key, &r->val, BPF_NOEXIST) == 0)
		return 0;
	if (errno != EEXIST || bpf_map_lookup_elem(p->protected_fd, &r->key, &prior->val))
		return -1;
	prior->existed = true;
	return bpf_map_update_elem(p->protected_fd, &r->key, &r->val, BPF_EXIST);
}

/*
 * Undo the first n protect_root() calls, newest first, so that the map
 * holds the old policy again and every entry the kernel side added.  The
 * filter bits stay set: a set bit only costs a lookup, and another entry
 * may need it.  Roots this call added are retired, so that events queued
 * meanwhile still name their path (the policy's own paths come first and
 * are the ones kept).  Returns how many entries could not be put back.
 */
static size_t unprotect_roots(struct pw_probes *p, struct pw_root *roots,
			      const struct prior_entry *prior, size_t n)
{
	size_t i, failed = 0;

	for (i = n; i-- > 0;) {
		if (prior[i].existed) {
			if (bpf_map_update_elem(p->protected_fd, &roots[i].key, &prior[i].val,
						BPF_EXIST))
				failed++;
			continue;
		}
		if (bpf_map_delete_elem(p->protected_fd, &roots[i].key) && errno != ENOENT)
			failed++;
		if (i < PW_MAX_RETIRED_ROOTS)
			retire_root(p, &roots[i]);
	}
	return failed;
}

static void protect_failed(struct pw_probes *p, const struct pw_root *r, int e, char *err,
			   size_t err_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[1024];

	/* Multiply-linked files below a protected directory are named by
	 * whoever made them. */
	pw_escape_untrusted(r->path, strlen(r->path), path, sizeof(path));
	if (e == E2BIG && bpf_obj_get_info_by_fd(p->protected_fd, &info, &len) == 0)
		pw_set_err(err, err_size, "cannot protect %s: the kernel's protected-inode map is "
			   "full (it holds %u entries: [daemon] max_protected_inodes)", path,
			   info.max_entries);
	else
		pw_set_err(err, err_size, "cannot protect %s: %s", path, strerror(e));
}

int pw_probes_apply_policy(struct pw_probes *p, const struct pw_policy *pol,
			   void (*warn)(const char *path, const char *why), char *err,
			   size_t err_size)
{
	struct pw_root *roots = NULL;
	struct prior_entry *prior = NULL;
	size_t n = 0, i, j;
	int fd = p->protected_fd;
	uint32_t *ids, honeytoken_id = 0;
	int rc = 0;
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	size_t budget = PW_MAX_LINKED_SCAN;

	size_t named = pol->honeytokens.n;

	/* Half of what the policy's own paths leave at most: the rest is for
	 * the files the kernel side adds as they are moved out. */
	for (i = 0; i < pol->n_datasets; i++)
		named += pol->datasets[i].paths.n;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		size_t room = info.max_entries > named ? (info.max_entries - named) / 2 : 0;

		if (room < budget)
			budget = room;
	}

	ids = calloc(pol->n_datasets + 1, sizeof(*ids));
	if (!ids) {
		pw_set_err(err, err_size, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		rc = stable_dataset_id(p, pol->datasets[i].name, false, &ids[i]);
	if (rc == 0)
		rc = stable_dataset_id(p, "honeytoken", true, &honeytoken_id);
	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		for (j = 0; j < pol->datasets[i].paths.n && rc == 0; j++)
			rc = add_root(&roots, &n, pol->datasets[i].paths.items[j], ids[i], 0, warn);
	/* The devices and image files take places in the map before the
	 * multiply-linked files, whose budget is what they leave. */
	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		for (j = 0; j < pol->datasets[i].paths.n && rc == 0; j++) {
			size_t before = n;

			rc = add_dataset_devices(&roots, &n, pol->datasets[i].paths.items[j], ids[i]);
			budget = budget > n - before ? budget - (n - before) : 0;
		}
	for (i = 0; i < pol->n_datasets && rc == 0; i++)
		for (j = 0; j < pol->datasets[i].paths.n && rc == 0; j++)
			rc = add_linked_files(&roots, &n, pol->datasets[i].paths.items[j], ids[i],
					      &budget);
	for (j = 0; j < pol->honeytokens.n && rc == 0; j++)
		rc = add_root(&roots, &n, pol->honeytokens.items[j], honeytoken_id,
			      PW_PROT_HONEYTOKEN, warn);
	free(ids);
	if (rc == 0 && n && !(prior = calloc(n, sizeof(*prior))))
		rc = -ENOMEM;
	if (rc) {
		pw_set_err(err, err_size, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		size_t failed;

		if (protect_root(p, &roots[i], &prior[i]) == 0)
			continue;
		rc = -errno;
		protect_failed(p, &roots[i], -rc, err, err_size);
		failed = unprotect_roots(p, roots, prior, i);
		if (failed)
			pw_log(LOG_CRIT, "%zu entries of the kernel's protected-inode map could not "
			       "be put back: the kernel protects them as the refused policy would",
			       failed);
		goto cleanup;
	}
	for (i = 0; i < p->n_roots; i++) {
		bool kept = false;

		for (j = 0; j < n && !kept; j++)
			kept = memcmp(&roots[j].key, &p->roots[i].key, sizeof(roots[j].key)) == 0;
		if (!kept) {
			bpf_map_delete_elem(fd, &p->roots[i].key);
			retire_root(p, &p->roots[i]);
		}
	}
	free_roots(p->roots, p->n_roots);
	p->roots = roots;
	p->n_roots = n;
	roots = NULL;
	n = 0;
	for (i = 0; i < p->n_roots; i++)
		if (p->roots[i].key.dev == PW_DEV_RAW)
			pw_log(LOG_INFO, "raw device %s protected, dataset %s", p->roots[i].path,
			       pw_probes_dataset_name(p, p->roots[i].val.dataset_id));
cleanup:
	free(prior);
	free_roots(roots, n);
	return rc;
}

const struct pw_root *pw_probes_find_root(const struct pw_probes *p, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < p->n_roots; i++)
		if (p->roots[i].key.dev == dev && p->roots[i].key.ino == ino)
			return &p->roots[i];
	for (i = p->n_retired; i-- > 0;)
		if (p->retired[i].key.dev == dev && p->retired[i].key.ino == ino)
			return &p->retired[i];
	return NULL;
}

size_t pw_probes_roots(const struct pw_probes *p, const struct pw_root **roots)
{
	*roots = p->roots;
	return p->n_roots;
}

struct pw_ring *pw_probes_ring(const struct pw_probes *p)
{
	return p->ring;
}

int pw_probes_fd(const struct pw_probes *p)
{
	return p->events_fd;
}

uint32_t pw_probes_ring_id(const struct pw_probes *p)
{
	return p->events_id;
}

int pw_probes_stats(const struct pw_probes *p, uint64_t out[PW_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = p->stats_fd;
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
