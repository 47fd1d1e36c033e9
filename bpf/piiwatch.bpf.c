// SPDX-License-Identifier: GPL-2.0
/*
 * piiwatch kernel side, syscall-tracepoint mode.
 *
 * An open is protected when the opened inode or one of its ancestors is in
 * protected_inodes.  Its struct file then gets an entry in open_files, and
 * every read or write on any descriptor that refers to that struct file
 * (dup, fork and SCM_RIGHTS share it) adds to the entry's counters.  For an
 * unprotected file the per-I/O cost is resolving the descriptor and one
 * hash lookup; nothing reaches user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "piiwatch.h"

char LICENSE[] SEC("license") = "GPL";

#define PW_O_PATH 010000000
#define PW_S_IFMT 0170000
#define PW_S_IFDIR 0040000

/* Set by the loader between open and load. */
const volatile __u32 self_tgid = 0;
const volatile __u64 delta_interval_ns = 5000000000ULL;
const volatile __u64 wakeup_bytes = 256 * 1024;

struct access_state {
	__u64 access_id;
	__u64 inode_ptr;        /* guards against a recycled struct file */
	__u64 dev;
	__u64 ino;
	__u64 last_emit_ns;
	__u64 bytes_read;       /* since the last emitted event */
	__u64 bytes_written;
	__u64 reads;
	__u64 writes;
	__u32 dataset_id;
	__u32 exit_refs;        /* scratch of the exit sweep */
};

/* A read or write in progress on a protected file, between enter and exit. */
struct io_inflight {
	__u64 file_in;          /* struct file * read from, or 0 */
	__u64 file_out;         /* struct file * written to, or 0 */
};

struct open_scratch {
	struct pw_event_open ev;
	__u64 dentries[PW_WALK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pw_inode_key);
	__type(value, struct pw_protected_val);
} protected_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct access_state);
} open_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct io_inflight);
} io_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_scratch);
} open_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_event_exec);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* Kernels before 6.13 count references in f_count instead of f_ref. */
struct file___old {
	atomic_long_t f_count;
};

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

/*
 * Submit without waking the daemon unless a batch is waiting: it drains the
 * ring on a short timer, so a wakeup per record would only add latency to
 * the traced process.
 */
static __always_inline void emit(void *data, __u64 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, data, size, flags)) {
		stat_inc(PW_STAT_RB_FULL);
		return;
	}
	stat_inc(PW_STAT_SUBMITTED);
}

static __always_inline bool is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

static __always_inline void fill_task(struct pw_task_id *t, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	t->ts_ns = bpf_ktime_get_ns();
	t->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	t->tgid = id >> 32;
	t->pid = (__u32)id;
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->uid = (__u32)ug;
	t->gid = ug >> 32;
	t->loginuid = BPF_CORE_READ(task, loginuid.val);
	t->sessionid = BPF_CORE_READ(task, sessionid);
	t->type = type;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

static __always_inline struct file *fd_to_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **arr;
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

/* Number of references to an open file. */
static __always_inline __u64 file_refs(struct file *f)
{
	if (bpf_core_field_exists(f->f_ref)) {
		/* file_ref_t stores references minus one. */
		return BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
	}
	return BPF_CORE_READ((struct file___old *)f, f_count.counter);
}

static __always_inline void emit_io(struct access_state *st, __u32 flags)
{
	struct pw_event_io ev = {};

	fill_task(&ev.task, PW_EV_IO);
	ev.access_id = st->access_id;
	ev.dev = st->dev;
	ev.ino = st->ino;
	ev.bytes_read = __sync_lock_test_and_set(&st->bytes_read, 0);
	ev.bytes_written = __sync_lock_test_and_set(&st->bytes_written, 0);
	ev.reads = __sync_lock_test_and_set(&st->reads, 0);
	ev.writes = __sync_lock_test_and_set(&st->writes, 0);
	ev.dataset_id = st->dataset_id;
	ev.flags = flags;
	emit(&ev, sizeof(ev));
}

static __always_inline struct access_state *lookup_access(struct file *f)
{
	__u64 key = (__u64)f;
	struct access_state *st;

	if (!f)
		return NULL;
	st = bpf_map_lookup_elem(&open_files, &key);
	if (st && st->inode_ptr != (__u64)BPF_CORE_READ(f, f_inode))
		return NULL;
	return st;
}

/* The policy entry covering dentry d, if any, found by walking up its
 * ancestors and across the mounts it was reached through. */
static __always_inline struct pw_protected_val *
walk_protected(struct file *f, struct open_scratch *sc, __u32 *level)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *vmnt = BPF_CORE_READ(f, f_path.mnt);
	struct mount *mnt = (void *)vmnt - bpf_core_field_offset(struct mount, mnt);
	struct pw_inode_key key = {};
	struct pw_protected_val *val;
	__u32 i;

	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	for (i = 0; i < PW_WALK_DEPTH; i++) {
		struct dentry *parent;

		key.ino = BPF_CORE_READ(d, d_inode, i_ino);
		sc->dentries[i] = (__u64)d;
		val = bpf_map_lookup_elem(&protected_inodes, &key);
		if (val) {
			*level = i;
			sc->ev.root_dev = key.dev;
			sc->ev.root_ino = key.ino;
			return val;
		}
		parent = BPF_CORE_READ(d, d_parent);
		if (parent == d) {
			/* Root of this file system: continue at its mount point. */
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt)
				return NULL;
			parent = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			key.dev = BPF_CORE_READ(parent, d_sb, s_dev);
		}
		d = parent;
	}
	return NULL;
}

static __always_inline void fill_names(struct open_scratch *sc, __u32 level)
{
	__u32 i;

	sc->ev.depth = level;
	if (level == 0)
		sc->ev.flags |= PW_OPEN_SELF;
	if (level > PW_NAME_SLOTS)
		sc->ev.flags |= PW_OPEN_DEEP;
	for (i = 0; i < PW_NAME_SLOTS; i++) {
		struct dentry *d;
		const unsigned char *name;
		__u32 len;

		if (i >= level && !(i == 0 && level == 0))
			break;
		d = (struct dentry *)sc->dentries[i];
		name = BPF_CORE_READ(d, d_name.name);
		len = BPF_CORE_READ(d, d_name.len);
		if (len >= PW_NAME_LEN)
			sc->ev.flags |= PW_OPEN_NAME_TRUNC;
		bpf_probe_read_kernel_str(sc->ev.names[i], PW_NAME_LEN, name);
	}
}

static __always_inline int handle_open_exit(long ret)
{
	__u32 zero = 0, level = 0;
	struct open_scratch *sc;
	struct pw_protected_val *val;
	struct access_state st = {};
	struct access_state *old;
	struct file *f;
	__u64 key;
	__u32 oflags;

	if (ret < 0 || is_self())
		return 0;
	f = fd_to_file((int)ret);
	if (!f)
		return 0;
	key = (__u64)f;
	/* A released protected file whose final event we missed (for example
	 * still mapped at close) leaves an entry behind: flush it now. */
	old = bpf_map_lookup_elem(&open_files, &key);
	if (old) {
		emit_io(old, PW_IO_FINAL | PW_IO_REUSED);
		bpf_map_delete_elem(&open_files, &key);
	}
	oflags = BPF_CORE_READ(f, f_flags);
	/* O_PATH opens read nothing; directory listings are not file access. */
	if ((oflags & PW_O_PATH) || (BPF_CORE_READ(f, f_inode, i_mode) & PW_S_IFMT) == PW_S_IFDIR)
		return 0;
	sc = bpf_map_lookup_elem(&open_scratch, &zero);
	if (!sc)
		return 0;
	val = walk_protected(f, sc, &level);
	if (!val)
		return 0;

	st.access_id = (bpf_ktime_get_ns() & ~0xffULL) | (bpf_get_smp_processor_id() & 0xff);
	st.inode_ptr = (__u64)BPF_CORE_READ(f, f_inode);
	st.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	st.ino = BPF_CORE_READ(f, f_inode, i_ino);
	st.dataset_id = val->dataset_id;
	st.last_emit_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&open_files, &key, &st, BPF_ANY)) {
		stat_inc(PW_STAT_MAP_FULL);
		/* Untracked from here on, but the open itself is reported. */
	}

	fill_task(&sc->ev.task, PW_EV_OPEN);
	sc->ev.access_id = st.access_id;
	sc->ev.dev = st.dev;
	sc->ev.ino = st.ino;
	sc->ev.dataset_id = val->dataset_id;
	sc->ev.prot_flags = val->flags;
	sc->ev.open_flags = oflags;
	sc->ev.flags = 0;
	sc->ev.fd = (__s32)ret;
	fill_names(sc, level);
	emit(&sc->ev, sizeof(sc->ev));
	return 0;
}

static __always_inline int io_enter(int fd_in, int fd_out)
{
	struct io_inflight inf = {};
	__u32 tid;

	if (fd_in >= 0) {
		struct file *f = fd_to_file(fd_in);

		if (lookup_access(f))
			inf.file_in = (__u64)f;
	}
	if (fd_out >= 0) {
		struct file *f = fd_to_file(fd_out);

		if (lookup_access(f))
			inf.file_out = (__u64)f;
	}
	if (!inf.file_in && !inf.file_out)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&io_inflight, &tid, &inf, BPF_ANY);
	return 0;
}

static __always_inline void account(__u64 file, long ret, bool is_read)
{
	struct access_state *st;
	__u64 now, prev;

	st = bpf_map_lookup_elem(&open_files, &file);
	if (!st)
		return;
	if (is_read) {
		__sync_fetch_and_add(&st->bytes_read, ret);
		__sync_fetch_and_add(&st->reads, 1);
	} else {
		__sync_fetch_and_add(&st->bytes_written, ret);
		__sync_fetch_and_add(&st->writes, 1);
	}
	now = bpf_ktime_get_ns();
	if (now - st->last_emit_ns < delta_interval_ns)
		return;
	prev = __sync_lock_test_and_set(&st->last_emit_ns, now);
	if (now - prev >= delta_interval_ns)
		emit_io(st, 0);
}

static __always_inline int io_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct io_inflight *p = bpf_map_lookup_elem(&io_inflight, &tid);
	struct io_inflight inf;

	if (!p)
		return 0;
	inf = *p;
	bpf_map_delete_elem(&io_inflight, &tid);
	if (ret <= 0)
		return 0;
	if (inf.file_in)
		account(inf.file_in, ret, true);
	if (inf.file_out)
		account(inf.file_out, ret, false);
	return 0;
}

#define OPEN_EXIT(name)                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)          \
	{                                                                     \
		return handle_open_exit(ctx->ret);                            \
	}

OPEN_EXIT(open)
OPEN_EXIT(openat)
OPEN_EXIT(openat2)
OPEN_EXIT(creat)
OPEN_EXIT(open_by_handle_at)

/* IO_ENTER(name, in, out): argument index of the descriptor read from and
 * written to, -1 for none. */
#define IO_ENTER(name, in, out)                                               \
	SEC("tracepoint/syscalls/sys_enter_" #name)                           \
	int handle_enter_##name(struct trace_event_raw_sys_enter *ctx)        \
	{                                                                     \
		return io_enter((in) < 0 ? -1 : (int)ctx->args[(in) < 0 ? 0 : (in)], \
				(out) < 0 ? -1 : (int)ctx->args[(out) < 0 ? 0 : (out)]); \
	}                                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)          \
	{                                                                     \
		return io_exit(ctx->ret);                                     \
	}

IO_ENTER(read, 0, -1)
IO_ENTER(pread64, 0, -1)
IO_ENTER(readv, 0, -1)
IO_ENTER(preadv, 0, -1)
IO_ENTER(preadv2, 0, -1)
IO_ENTER(write, -1, 0)
IO_ENTER(pwrite64, -1, 0)
IO_ENTER(writev, -1, 0)
IO_ENTER(pwritev, -1, 0)
IO_ENTER(pwritev2, -1, 0)
IO_ENTER(sendfile64, 1, 0)
IO_ENTER(splice, 0, 2)
IO_ENTER(copy_file_range, 0, 2)

SEC("tracepoint/syscalls/sys_enter_close")
int handle_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct file *f = fd_to_file((int)ctx->args[0]);
	struct access_state *st = lookup_access(f);
	__u64 key = (__u64)f;

	if (!st || file_refs(f) != 1)
		return 0;
	emit_io(st, PW_IO_FINAL);
	bpf_map_delete_elem(&open_files, &key);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, off = ctx->__data_loc_filename & 0xffff;
	struct pw_event_exec *ev;
	unsigned long arg_start, arg_end;
	long n;
	__u32 len;

	if (is_self())
		return 0;
	ev = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!ev)
		return 0;
	fill_task(&ev->task, PW_EV_EXEC);
	n = bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), (void *)ctx + off);
	ev->path_len = n > 0 ? n - 1 : 0;
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end - arg_start;
	ev->args_len = 0;
	if (len > PW_EXEC_ARGS_LEN)
		len = PW_EXEC_ARGS_LEN;
	if (len > 0 && bpf_probe_read_user(ev->args, len, (void *)arg_start) == 0)
		ev->args_len = len;
	emit(ev, sizeof(*ev));
	return 0;
}

struct exit_sweep {
	struct file **arr;
	__u32 max_fds;
	__u32 pass;
};

/*
 * The last thread of a process is exiting and its descriptor table is about
 * to be released.  Pass 0 counts how many of the table's slots refer to each
 * tracked file; pass 1 then finalises the files whose every reference is in
 * this table and flushes the counts of the ones that live on elsewhere.
 */
static long exit_sweep_slot(__u32 i, struct exit_sweep *c)
{
	struct access_state *st;
	struct file *f = NULL;
	__u64 key;
	__u32 refs;

	if (i >= c->max_fds)
		return 1;
	bpf_probe_read_kernel(&f, sizeof(f), &c->arr[i]);
	st = lookup_access(f);
	if (!st)
		return 0;
	if (c->pass == 0) {
		__sync_fetch_and_add(&st->exit_refs, 1);
		return 0;
	}
	refs = __sync_lock_test_and_set(&st->exit_refs, 0);
	if (!refs)
		return 0;
	if (file_refs(f) <= refs) {
		key = (__u64)f;
		emit_io(st, PW_IO_FINAL | PW_IO_EXIT);
		bpf_map_delete_elem(&open_files, &key);
	} else {
		emit_io(st, 0);
	}
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files;
	struct fdtable *fdt;
	struct exit_sweep c = {};

	if (bpf_core_field_exists(ctx->group_dead) && !ctx->group_dead)
		return 0;
	files = BPF_CORE_READ(task, files);
	if (!files || BPF_CORE_READ(files, count.counter) != 1)
		return 0;
	fdt = BPF_CORE_READ(files, fdt);
	c.arr = BPF_CORE_READ(fdt, fd);
	c.max_fds = BPF_CORE_READ(fdt, max_fds);
	if (c.max_fds > 65536)
		c.max_fds = 65536;
	bpf_loop(c.max_fds, exit_sweep_slot, &c, 0);
	c.pass = 1;
	bpf_loop(c.max_fds, exit_sweep_slot, &c, 0);
	return 0;
}
