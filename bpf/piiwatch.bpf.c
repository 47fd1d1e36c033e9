// SPDX-License-Identifier: GPL-2.0
/*
 * piiwatch kernel side.
 *
 * An open is protected when the opened inode or one of its ancestors is in
 * protected_inodes.  Its struct file then gets an entry in open_files, and
 * every read or write on any descriptor that refers to that struct file
 * (dup, fork and SCM_RIGHTS share it) adds to the entry's counters.  For an
 * unprotected file the per-I/O cost is resolving the descriptor and one
 * hash lookup, and nothing at all while no open file is tracked anywhere;
 * nothing reaches user space.
 *
 * The entry ends, with a final event, when the struct file is released:
 * close of its last descriptor, dup2/dup3 over it, close_range, exec of a
 * close-on-exec descriptor, or exit of its last holder.
 *
 * Changes (unlink, rename, link, chmod, chown, truncate, extended
 * attributes, a hole punched by fallocate) cannot be resolved to inodes on
 * syscall tracepoints when they name paths: the ctime update every such
 * change makes on the inodes it touches (tp_btf inode ctime tracepoints)
 * says whether a protected inode was among them, and the caller's saved
 * registers which call it is (native_changes); the change is remembered
 * per thread and reported at the call's exit.
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
#define PW_S_IFREG 0100000
#define PW_S_IFBLK 0060000
#define PW_S_IFIFO 0010000
#define PW_SB_NOUSER (1UL << 31)
#define PW_PF_KTHREAD 0x00200000
#define PW_OVERLAYFS_MAGIC 0x794c7630UL
#define PW_WCOREFLAG 0x80
#define PW_RAW_TAINT_BYTES (1ULL << 20)
#define PW_MAP_ANONYMOUS 0x20
#define PW_AT_EMPTY_PATH 0x1000
#define PW_PROC_FD_LEN 24 /* "/proc/self/fd/" and the digits proc_fd_name reads */
#define PW_AT_SYMLINK_FOLLOW 0x400
#define PW_AT_REMOVEDIR 0x200
#define PW_PF_IO_WORKER 0x00000010
#define PW_CLOSE_RANGE_CLOEXEC 4
#define PW_AF_INET 2
#define PW_AF_INET6 10
#define PW_EINPROGRESS 115
#define PW_EXEC_KEYS 16
#define PW_MAX_SWEEP 65536

/* Set by the loader between open and load. */
const volatile __u64 delta_interval_ns = 5000000000ULL;
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Where overlayfs keeps a file's layers (struct ovl_inode, ovl_entry,
 * ovl_path), from its BTF, vmlinux's or the module's, which CO-RE here
 * does not search (see userspace/probes.c): ovl_known 0, not found, and
 * files of overlays are walked as any other. */
const volatile __u32 ovl_known = 0;
const volatile __u32 ovl_vfs_inode = 0;   /* offsetof(struct ovl_inode, vfs_inode) */
const volatile __u32 ovl_upper = 0;       /* offsetof(struct ovl_inode, __upperdentry) */
const volatile __u32 ovl_oe = 0;          /* offsetof(struct ovl_inode, oe) */
const volatile __u32 ovl_numlower = 0;    /* offsetof(struct ovl_entry, __numlower) */
const volatile __u32 ovl_lowerdentry = 0; /* offsetof(struct ovl_entry, __lowerstack[0].dentry) */

/*
 * Entries in open_files and in io_inflight.  While no open file is tracked
 * anywhere, no descriptor can refer to one, and the I/O, close, mmap and
 * descriptor-sweep hooks return without resolving descriptors: on a host
 * where no protected file is open, unrelated I/O costs the hooks alone.
 * Raised before an entry is added and lowered after it is removed, so they
 * may count high for a moment, never low.
 */
__u64 n_tracked = 0;
__u64 n_inflight = 0;

/*
 * Entries in tainted_tasks, counted the same way (and high by those the
 * LRU map evicts): while there are none, a write needs no lookup to tell
 * whether it stages protected data, so that every write on a host where no
 * process has read protected data costs the hook alone.
 */
__u64 n_tainted = 0;

/* Pipes marked in pipe_carriers since the load: while none is, a read
 * needs no lookup to tell whether it takes protected data from a pipe. */
__u64 n_carriers = 0;

struct access_state {
	__u64 access_id;        /* 0 once one path has ended the access */
	__u64 inode_ptr;        /* guards against a recycled struct file */
	__u64 dev;
	__u64 ino;
	__u64 last_emit_ns;
	__u64 bytes_read;       /* since the last emitted event */
	__u64 bytes_written;
	__u64 reads;
	__u64 writes;
	__u32 dataset_id;
	__u32 exit_refs;        /* scratch of the descriptor sweeps */
	__u32 flags;            /* sticky PW_IO_* flags */
	__u32 pad;
};

/* A read or write in progress on a tracked file, between enter and exit. */
struct io_inflight {
	__u64 file_in;          /* struct file * read from, or 0 */
	__u64 file_out;         /* struct file * written to, or 0 */
	__u64 clone_len;        /* a reflink: the bytes it shares if it returns 0; 0: not one */
	__s32 stage_fd;         /* a reflink's destination (a pipe reader's output) to track as staging at its exit, or -1 */
	__u32 kind;             /* PW_INF_* */
	__u64 loop_rdev;        /* PW_INF_LOOP: the loop device given a protected backing file */
	__u32 loop_dataset;     /* ... and that file's dataset */
	__u32 pad;
	__u64 pipe_in;          /* a pipe read by a process not marked: its mark looked for at the exit */
};

enum { PW_INF_IO = 0, PW_INF_CLONE = 1, PW_INF_LOOP = 2 };

/* An open record being built: too large for the stack. */
struct walk_scratch {
	struct pw_event_open ev;
};

struct change_pending {
	struct pw_event_change ev;
	__u64 path_ptr;
	__u64 path2_ptr;
	__u64 link_file;        /* linkat(fd, "", ..., AT_EMPTY_PATH): the file */
	__u32 hit;              /* 1: a directory matched, 2: a non-directory */
	__u32 uring;            /* submitted through io_uring (uring_change) */
	__u64 nr;               /* the system call's number (orig_ax), to tell a stale one */
};

struct exec_pending {
	__u64 keys[PW_EXEC_KEYS];
	__u32 n;
	__u32 pad;
};

struct taint {
	__u64 first_ns;
	__u32 sessionid;
	__u32 uring_reported;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pw_inode_key);
	__type(value, struct pw_protected_val);
} protected_inodes SEC(".maps");

/* Small enough to be one kmalloc'ed block, not vmalloc'ed pages. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} protected_filter SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct change_pending);
} change_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct exec_pending);
} exec_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pw_event_connect);
} connect_inflight SEC(".maps");

/* Processes (by tgid) and login sessions that have read protected data. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct taint);
} tainted_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct taint);
} tainted_sessions SEC(".maps");

/*
 * Pipes (anonymous and named, by their inode) that a process which had
 * read protected data has written into: whoever reads from one is marked
 * as having read protected data too, so that "cat data | gzip > out" makes
 * out a staging file and "cat data | curl -T - ..." outside a login
 * session has its connect reported.  The value: the bytes readers not
 * marked have taken out of it.  Never removed: a dead pipe's entry
 * matches no later pipe (pipefs numbers inodes afresh) and the LRU map
 * drops the oldest.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pw_inode_key);
	__type(value, __u64);
} pipe_carriers SEC(".maps");

/* A reader is marked once it takes this much out of one marked pipe, so
 * that a shell reading counts ("$(grep -c x data)", in a loop or not)
 * is not marked, and with it everything it runs. */
#define PW_PIPE_TAINT_BYTES 1024

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} walk_scratch SEC(".maps");

/* Never written: a zeroed value to initialise large map entries from. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct change_pending);
} change_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_event_exec);
} exec_scratch SEC(".maps");

/* Written by the loader: which version and mode the pinned objects are. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_meta);
} meta SEC(".maps");

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

/*
 * The paths every open (and, while files are tracked, every I/O) takes read
 * kernel memory with plain loads through BTF-typed pointers rather than a
 * bpf_probe_read_kernel() call per field: a fault still reads as zero, and
 * a load costs a fraction of a helper call.  bpf_rdonly_cast() (inlined by
 * the verifier) types an address; CO-RE relocates the field offsets as
 * BPF_CORE_READ() does.
 */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id) __ksym;
#define btf_ptr(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* Kernels before 6.13 count references in f_count instead of f_ref. */
struct file___old {
	atomic_long_t f_count;
};

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * Submit without waking the daemon, except for the record that makes a
 * batch of wakeup_bytes: the daemon drains the ring on a short timer, and a
 * wakeup is an interrupt to another CPU that the traced process pays for
 * (several microseconds on a virtual machine).  Only the record that
 * crosses the mark wakes: a daemon that is behind is already awake, and
 * waking it again for every record would slow the traced process most
 * exactly when the daemon is busiest.
 */
static __always_inline bool emit_counted(void *data, __u64 size, __u32 stat)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (avail < wakeup_bytes && avail + size >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, data, size, flags)) {
		stat_inc(PW_STAT_RB_FULL);
		return false;
	}
	stat_inc(stat);
	return true;
}

/* Send a record to user space; false (and counted as lost) when the ring
 * is full. */
static __always_inline bool emit(void *data, __u64 size)
{
	return emit_counted(data, size, PW_STAT_SUBMITTED);
}

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* The calling task's saved user registers: the system call's arguments. */
static __always_inline struct pt_regs *call_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

#define PW_TS_COMPAT 0x0002 /* x86 thread_info.status: in a compat syscall */

static __always_inline bool in_compat_syscall_now(void)
{
	if (!bpf_core_field_exists(struct thread_info, status))
		return false;
	return bpf_get_current_task_btf()->thread_info.status & PW_TS_COMPAT;
}

static __always_inline void fill_task(struct pw_task_id *t, __u32 type)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	struct task_struct *parent;

	t->ts_ns = bpf_ktime_get_ns();
	t->start_ns = task->group_leader->start_boottime;
	t->tgid = id >> 32;
	t->pid = (__u32)id;
	parent = task->real_parent;
	t->ppid = parent->tgid;
	/* real_parent is the thread that forked: its leader is the process. */
	t->pstart_ns = parent->group_leader->start_boottime;
	t->uid = (__u32)ug;
	t->gid = ug >> 32;
	t->loginuid = task->loginuid.val;
	t->sessionid = task->sessionid;
	t->type = type;
	/* An io-wq worker (io_uring requests run there, and complete there
	 * at times) is named iou-wrk-N: its process's leader names it. */
	if (task->flags & PW_PF_IO_WORKER)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), task->group_leader->comm);
	else
		bpf_get_current_comm(t->comm, sizeof(t->comm));
}

static __always_inline struct fdtable *current_fdt(void)
{
	return bpf_get_current_task_btf()->files->fdt;
}

static __always_inline struct file *fd_to_file(int fd)
{
	struct fdtable *fdt = current_fdt();
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	/* BTF does not type an element of the array of pointers fdt->fd;
	 * struct fd (a file pointer and flag bits in one word, 6.12 on) does,
	 * and a load through it costs less than a helper call. */
	if (bpf_core_type_exists(struct fd) && bpf_core_field_exists(struct fd, word))
		return (struct file *)(btf_ptr(struct fd, (void *)fdt->fd + (__u64)fd * 8)->word);
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
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

/* Report the counts of access id, tracked as st, since its last report. */
static __always_inline void emit_io(struct access_state *st, __u64 id, __u32 flags,
				    bool from_task)
{
	struct pw_event_io ev = {};

	if (!id)
		return; /* being ended by another path, which reports the counts */
	if (from_task) {
		fill_task(&ev.task, PW_EV_IO);
	} else {
		ev.task.ts_ns = bpf_ktime_get_ns();
		ev.task.type = PW_EV_IO;
		ev.task.loginuid = (__u32)-1;
		ev.task.sessionid = (__u32)-1;
	}
	ev.access_id = id;
	ev.dev = st->dev;
	ev.ino = st->ino;
	ev.bytes_read = __sync_lock_test_and_set(&st->bytes_read, 0);
	ev.bytes_written = __sync_lock_test_and_set(&st->bytes_written, 0);
	ev.reads = __sync_lock_test_and_set(&st->reads, 0);
	ev.writes = __sync_lock_test_and_set(&st->writes, 0);
	ev.dataset_id = st->dataset_id;
	ev.flags = flags | st->flags;
	emit(&ev, sizeof(ev));
}

/* The type bits (PW_S_IFMT) of open file f's inode, read with plain loads
 * (every open and, once a pipe is marked, every read asks). */
static __always_inline __u32 file_type(struct file *f)
{
	return btf_ptr(struct file, f)->f_inode->i_mode & PW_S_IFMT;
}

static __always_inline struct access_state *lookup_access(struct file *f)
{
	__u64 key = (__u64)f;
	struct access_state *st;

	if (!f)
		return NULL;
	st = bpf_map_lookup_elem(&open_files, &key);
	if (st && st->inode_ptr != (__u64)btf_ptr(struct file, f)->f_inode)
		return NULL;
	return st;
}

/*
 * End the access tracked as st under key: report its last counts and
 * forget it.  Its close, the open that reuses its struct file and the
 * daemon's sweep can race to end one access; taking the access id with a
 * compare-and-swap lets exactly one of them report it.  The entry is
 * deleted only if it is still the ended one: the key may already hold a
 * new open of a reused struct file.
 */
static __always_inline void finish_access(__u64 key, struct access_state *st, __u32 flags,
					  bool from_task)
{
	struct access_state *cur;
	__u64 id = st->access_id;

	if (!id || __sync_val_compare_and_swap(&st->access_id, id, 0) != id)
		return;
	emit_io(st, id, PW_IO_FINAL | flags, from_task);
	cur = bpf_map_lookup_elem(&open_files, &key);
	if (cur && cur->access_id == 0 && bpf_map_delete_elem(&open_files, &key) == 0)
		__sync_fetch_and_add(&n_tracked, -1);
}

/* Start tracking the open file key; a stale entry of a recycled struct
 * file is replaced. */
static __always_inline int add_access(__u64 key, struct access_state *st)
{
	if (bpf_map_delete_elem(&open_files, &key) == 0)
		__sync_fetch_and_add(&n_tracked, -1);
	__sync_fetch_and_add(&n_tracked, 1);
	if (bpf_map_update_elem(&open_files, &key, st, BPF_NOEXIST)) {
		__sync_fetch_and_add(&n_tracked, -1);
		return -1;
	}
	return 0;
}

/* The policy entry of key, if any; most inodes are settled by the filter,
 * whose lookup the verifier inlines. */
static __always_inline struct pw_protected_val *protected_lookup(const struct pw_inode_key *key)
{
	__u32 bit = pw_filter_bit(key->dev, key->ino), w = bit / 64;
	__u64 *word = bpf_map_lookup_elem(&protected_filter, &w);

	if (!word || !(*word & (1ULL << (bit % 64))))
		return NULL;
	return bpf_map_lookup_elem(&protected_inodes, key);
}

static __always_inline int filter_set(const struct pw_inode_key *key)
{
	__u32 bit = pw_filter_bit(key->dev, key->ino), w = bit / 64;
	__u64 *word = bpf_map_lookup_elem(&protected_filter, &w);

	if (!word)
		return -1;
	__sync_fetch_and_or(word, 1ULL << (bit % 64));
	return 0;
}

/* Protect key from the kernel side: its filter bit first, so that an open
 * that finds the entry cannot have missed the bit. */
static __always_inline int protect_inode(const struct pw_inode_key *key,
					 const struct pw_protected_val *val)
{
	if (filter_set(key))
		return -1;
	if (bpf_map_update_elem(&protected_inodes, key, val, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&protected_inodes, key))
		return -1;
	return 0;
}

/* Protect key from the kernel side as dataset's, a file the policy does
 * not name (PW_PROT_MOVED): a file moved or linked out, an overlay's upper
 * copy, a loop device over a protected file.  A full map is counted. */
static __always_inline void protect_added(const struct pw_inode_key *key, __u32 dataset,
					  __u32 prot_flags)
{
	struct pw_protected_val v = { .dataset_id = dataset,
				      .flags = (prot_flags & PW_PROT_HONEYTOKEN) | PW_PROT_MOVED };

	if (protect_inode(key, &v))
		stat_inc(PW_STAT_MAP_FULL);
}

/*
 * Walk from dentry d up its ancestors, and across the mounts it was reached
 * through when mnt is known, looking for a policy entry.  The dentries
 * below the match (or, without a match, up to "/") are kept in
 * dentries for naming; a file system's root is named by its mount
 * point.  Returns the entry and *level, the number of names below it (0:
 * d itself matched), or NULL with *level the number of names up to "/".
 * *unplaced is set when the walk met a disconnected dentry (one that is
 * its own parent but neither its file system's root nor its mount's):
 * what lies between it and its mount's root is unknown, not unprotected.
 */
static __always_inline struct pw_protected_val *
walk_protected(struct dentry *dentry, struct vfsmount *vmnt, __u64 dentries[PW_WALK_DEPTH],
	       __u32 *level, struct pw_inode_key *root, bool *unplaced)
{
	struct dentry *d = btf_ptr(struct dentry, dentry);
	struct mount *mnt = NULL;
	struct pw_inode_key key = {};
	struct pw_protected_val *val;
	__u32 i;

	if (vmnt)
		mnt = btf_ptr(struct mount,
			      (void *)vmnt - bpf_core_field_offset(struct mount, mnt));
	key.dev = d->d_sb->s_dev;
	for (i = 0; i < PW_WALK_DEPTH; i++) {
		struct dentry *parent;

		key.ino = d->d_inode->i_ino;
		val = protected_lookup(&key);
		if (val) {
			*level = i;
			*root = key;
			return val;
		}
		dentries[i] = (__u64)d;
		parent = d->d_parent;
		if (parent == d) {
			struct mount *up;

			if (!mnt)
				break;
			/* Disconnected: the mount it was reached through
			 * still holds it, so the walk goes on above that.
			 * Not so a pseudo file system's (a pipe or socket
			 * reopened through /proc/PID/fd): it has no names
			 * at all, and nothing of it is stored. */
			if (d != d->d_sb->s_root && d != mnt->mnt.mnt_root &&
			    !(d->d_sb->s_flags & PW_SB_NOUSER))
				*unplaced = true;
			up = mnt->mnt_parent;
			if (up == mnt)
				break; /* "/" itself: no name */
			d = mnt->mnt_mountpoint;
			mnt = up;
			key.dev = d->d_sb->s_dev;
			dentries[i] = (__u64)d;
			parent = d->d_parent;
		}
		d = parent;
	}
	*level = i;
	return NULL;
}

/* Names of dentries[0 .. count) into names; flags gets TRUNC/DEEP. */
static __always_inline void fill_names(const __u64 dentries[PW_WALK_DEPTH], __u32 count,
				       char names[PW_NAME_SLOTS][PW_NAME_LEN], __u32 *flags)
{
	__u32 i;

	if (count > PW_NAME_SLOTS)
		*flags |= PW_OPEN_DEEP;
	for (i = 0; i < PW_NAME_SLOTS; i++) {
		struct dentry *d;
		const unsigned char *name;

		if (i >= count)
			break;
		d = (struct dentry *)dentries[i];
		name = BPF_CORE_READ(d, d_name.name);
		if (BPF_CORE_READ(d, d_name.len) >= PW_NAME_LEN)
			*flags |= PW_OPEN_NAME_TRUNC;
		bpf_probe_read_kernel_str(names[i], PW_NAME_LEN, name);
	}
}

static __always_inline __u64 new_access_id(void)
{
	/* Unique within a boot: two opens on one CPU are more than 256 ns apart. */
	return (bpf_ktime_get_ns() & ~0xffULL) | (bpf_get_smp_processor_id() & 0xff);
}

/*
 * A file opened through an overlay mount (which an unprivileged user can
 * make in a user namespace of its own, over any directory it can read, or
 * with a directory it can write as the upper layer): its inode and
 * dentries are the overlay's, and its data are read by the kernel from
 * the file of a layer, which no hook sees.  So the file of a layer is
 * what is walked and named: the topmost lower one, which holds the data
 * (or, once copied up, what the upper copy was made from; unprivileged
 * overlays have no metacopy), or for a file with none the upper one.  A
 * layer may itself be on an overlay (overlays stack two deep): resolved
 * again.  *lower says whether the last step was a lower layer, *inode is
 * the layer's inode.  NULL for any other file, and where the overlay's
 * layout is unknown (ovl_known).
 */
#define PW_OVL_STACK 2

static __always_inline struct dentry *overlay_real(struct file *f, bool *lower,
						     struct inode **inode)
{
	__u64 ino, d = 0;
	__u32 i;

	/* Every open passes here: plain loads until the file is an overlay's. */
	if (!ovl_known || btf_ptr(struct file, f)->f_inode->i_sb->s_magic != PW_OVERLAYFS_MAGIC)
		return NULL;
	ino = (__u64)BPF_CORE_READ(f, f_inode);
	for (i = 0; i < PW_OVL_STACK; i++) {
		__u64 oi = ino - ovl_vfs_inode, oe = 0, next = 0;
		__u32 n = 0;

		if (i > 0 && BPF_CORE_READ((struct inode *)ino, i_sb, s_magic) != PW_OVERLAYFS_MAGIC)
			break;
		if (bpf_probe_read_kernel(&oe, sizeof(oe), (void *)(oi + ovl_oe)))
			return NULL;
		if (oe && bpf_probe_read_kernel(&n, sizeof(n), (void *)(oe + ovl_numlower)))
			return NULL;
		*lower = n > 0;
		if (n ? bpf_probe_read_kernel(&next, sizeof(next), (void *)(oe + ovl_lowerdentry))
		      : bpf_probe_read_kernel(&next, sizeof(next), (void *)(oi + ovl_upper)))
			return NULL;
		if (!next)
			return NULL;
		d = next;
		ino = (__u64)BPF_CORE_READ((struct dentry *)d, d_inode);
		if (!ino)
			return NULL;
	}
	*inode = (struct inode *)ino;
	return (struct dentry *)d;
}

/*
 * A protected file f opened through an overlay, already copied up: the
 * copy in the upper layer (a directory of the user's own, when the user
 * made the overlay) holds the protected data and is readable without the
 * overlay, so it is protected too, from the kernel side, as a file moved
 * out is (PW_PROT_MOVED).  The copy-up itself, on an open for writing,
 * has happened by the open's exit.
 */
static __always_inline void overlay_protect_upper(struct file *f, const struct pw_protected_val *val)
{
	__u64 oi = (__u64)BPF_CORE_READ(f, f_inode) - ovl_vfs_inode, upper = 0;
	struct pw_inode_key key;
	struct inode *ui;

	if (bpf_probe_read_kernel(&upper, sizeof(upper), (void *)(oi + ovl_upper)) || !upper)
		return;
	ui = BPF_CORE_READ((struct dentry *)upper, d_inode);
	if (!ui)
		return;
	key.dev = BPF_CORE_READ(ui, i_sb, s_dev);
	key.ino = BPF_CORE_READ(ui, i_ino);
	protect_added(&key, val->dataset_id, val->flags);
}

/*
 * Start tracking file f if it is protected (or, with staging, whatever it
 * is) and report the open.  via: a link that just put f into a protected
 * directory, which its own dentry, still the one it was made with, does
 * not show; f is then protected by that directory and named below it.
 * Returns the new entry or NULL.
 */
static __always_inline struct access_state *track_file(struct file *f, __s32 fd,
						       __u32 open_flags, bool staging,
						       __u32 ev_flags, __u32 io_flags,
						       const struct pw_event_change *via)
{
	__u32 zero = 0, level = 0, n;
	__u64 dentries[PW_WALK_DEPTH] = {};
	struct walk_scratch *sc;
	struct pw_protected_val *val;
	struct pw_inode_key root = {};
	struct access_state st = {};
	struct pw_protected_val linked;
	__u64 key = (__u64)f;
	bool unplaced = false, linked_in = false;
	__u32 dir_names = 0, i;
	struct dentry *start = btf_ptr(struct file, f)->f_path.dentry;
	struct vfsmount *start_mnt = btf_ptr(struct file, f)->f_path.mnt;
	struct inode *real = btf_ptr(struct file, f)->f_inode;
	bool lower = false;
	struct dentry *layer = staging ? NULL : overlay_real(f, &lower, &real);

	/* Through an overlay: its layer's file, on the layer's file system
	 * (a layer's mount is the overlay's private one: the walk ends at
	 * that file system's root). */
	if (layer) {
		start = layer;
		start_mnt = NULL;
		ev_flags |= PW_OPEN_OVERLAY;
		io_flags |= PW_IO_OVERLAY;
	}
	/* A block device a protected file system is on (or built from):
	 * reading it reads the file system's blocks, whatever their files.
	 * It is protected by its device number, and named by user space. */
	val = NULL;
	if (!staging && (btf_ptr(struct inode, real)->i_mode & PW_S_IFMT) == PW_S_IFBLK) {
		struct pw_inode_key raw = { .dev = PW_DEV_RAW,
					    .ino = btf_ptr(struct inode, real)->i_rdev };

		val = protected_lookup(&raw);
		if (val) {
			root = raw;
			io_flags |= PW_IO_RAW;
		}
	}
	/* The walk keeps its dentries on the stack: the scratch of the
	 * record, another page to touch, is needed only for a file that is
	 * reported. */
	if (!val)
		val = walk_protected(start, start_mnt, dentries, &level, &root, &unplaced);
	if (val && layer && lower)
		overlay_protect_upper(f, val);
	if (val && staging)
		return NULL; /* protected after all: its own open is what counts */
	if (!val && via && !staging) {
		linked.dataset_id = via->dataset_id;
		linked.flags = via->prot_flags & PW_PROT_HONEYTOKEN;
		val = &linked;
		root.dev = via->root_dev;
		root.ino = via->root_ino;
		/* The directory's names below the root, then the file's. */
		dir_names = via->flags & PW_OPEN_SELF ? 0 : via->depth;
		level = dir_names + 1;
		unplaced = false;
		linked_in = true;
	}
	/* A disconnected file (opened by handle with no name of it cached)
	 * may be below a protected directory on its own file system: track
	 * it, and let the daemon look.  Kernel threads (nfsd serves by
	 * handle all day) are left out.  One whose mount sits below a
	 * protected directory is protected, and named by its mount point. */
	if (staging || (!val && (bpf_get_current_task_btf()->flags & PW_PF_KTHREAD)))
		unplaced = false;
	if (!val && !staging && !unplaced)
		return NULL;
	sc = bpf_map_lookup_elem(&walk_scratch, &zero);
	if (!sc)
		return NULL;

	st.access_id = new_access_id();
	st.inode_ptr = (__u64)BPF_CORE_READ(f, f_inode);
	st.dev = BPF_CORE_READ(real, i_sb, s_dev);
	st.ino = BPF_CORE_READ(real, i_ino);
	st.dataset_id = val ? val->dataset_id : unplaced ? PW_DATASET_UNPLACED : PW_DATASET_STAGING;
	st.last_emit_ns = bpf_ktime_get_ns();
	st.flags = io_flags;
	if (add_access(key, &st)) {
		/* Untracked from here on; the open itself is still reported. */
		stat_inc(PW_STAT_MAP_FULL);
	}

	fill_task(&sc->ev.task, PW_EV_OPEN);
	sc->ev.access_id = st.access_id;
	sc->ev.dev = st.dev;
	sc->ev.ino = st.ino;
	sc->ev.root_dev = root.dev;
	sc->ev.root_ino = root.ino;
	sc->ev.dataset_id = st.dataset_id;
	sc->ev.prot_flags = val ? val->flags : 0;
	sc->ev.open_flags = open_flags;
	sc->ev.flags = ev_flags | (staging ? PW_OPEN_STAGING : 0);
	sc->ev.fd = fd;
	if (unplaced)
		sc->ev.flags |= PW_OPEN_UNPLACED;
	if (unplaced && !val) {
		/* Nothing to name: the file is its own root, for the daemon
		 * to find below the policy's directories. */
		sc->ev.root_dev = st.dev;
		sc->ev.root_ino = st.ino;
		level = 0;
	}
	sc->ev.depth = level;
	if (!staging && !unplaced && level == 0)
		sc->ev.flags |= PW_OPEN_SELF;
	fill_names(dentries, linked_in ? 1 : level, sc->ev.names, &sc->ev.flags);
	if (linked_in) {
		if (level > PW_NAME_SLOTS)
			sc->ev.flags |= PW_OPEN_DEEP;
		sc->ev.flags |= via->flags & PW_OPEN_NAME_TRUNC;
		for (i = 0; i + 1 < PW_NAME_SLOTS; i++) {
			if (i >= dir_names)
				break;
			bpf_probe_read_kernel(sc->ev.names[i + 1], PW_NAME_LEN, via->names[i]);
		}
	}
	/* Only the names in use travel: most opens need one or two of the
	 * twelve slots, and the ring then holds three times as many. */
	n = pw_open_names(level);
	emit(&sc->ev, pw_open_size(n));
	return bpf_map_lookup_elem(&open_files, &key);
}

/* A released file whose final event was missed leaves its entry behind:
 * end it, now that its struct file f is reused. */
static __always_inline void end_reused(struct file *f)
{
	__u64 key = (__u64)f;
	struct access_state *old = n_tracked ? bpf_map_lookup_elem(&open_files, &key) : NULL;

	if (old)
		finish_access(key, old, PW_IO_REUSED, true);
}

/* Process tgid marked with t, unless it is already. */
static __always_inline void taint_tgid(__u32 tgid, const struct taint *t)
{
	__sync_fetch_and_add(&n_tainted, 1);
	if (bpf_map_update_elem(&tainted_tasks, &tgid, t, BPF_NOEXIST))
		__sync_fetch_and_add(&n_tainted, -1);
}

/* Process tgid, of login session ses, marked from now on, and its
 * session with it. */
static __always_inline void taint_ids(__u32 tgid, __u32 ses)
{
	struct taint t = { .first_ns = bpf_ktime_get_ns(), .sessionid = ses };

	if (!bpf_map_lookup_elem(&tainted_tasks, &tgid))
		taint_tgid(tgid, &t);
	if (ses != (__u32)-1 && !bpf_map_lookup_elem(&tainted_sessions, &ses))
		bpf_map_update_elem(&tainted_sessions, &ses, &t, BPF_NOEXIST);
}

static __always_inline void taint_current(void)
{
	taint_ids(bpf_get_current_pid_tgid() >> 32, BPF_CORE_READ(current_task(), sessionid));
}

/*
 * Another process, of task t, handed memory of the calling marked one:
 * marked, with its login session.  A process whose last thread is past
 * its exit hook (which removes its mark) by then would keep the mark
 * for good, and a later process given its pid with it: it is unmarked
 * again.  (Its threads' count of the living drops before that hook.)
 */
static __always_inline void taint_other(struct task_struct *t)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);

	if (tgid == bpf_get_current_pid_tgid() >> 32)
		return;
	taint_ids(tgid, BPF_CORE_READ(t, sessionid));
	if (BPF_CORE_READ(t, signal, live.counter) <= 0 &&
	    bpf_map_delete_elem(&tainted_tasks, &tgid) == 0)
		__sync_fetch_and_add(&n_tainted, -1);
}

static __always_inline bool is_tainted_task(void)
{
	__u32 tgid;

	if (!n_tainted)
		return false;
	tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&tainted_tasks, &tgid) != NULL;
}

/*
 * /proc/PID/mem (or /proc/PID/task/TID/mem) opened: for reading, of a
 * marked process, the opener may read all of that process's memory, and
 * is marked, as a tracer attaching to it is (the opener needs the same
 * right); for writing, by a marked process, the other process is marked,
 * as one it writes into with process_vm_writev is.  Called only while
 * some process is marked, to look at the file system's magic number, and
 * only for a procfs file named "mem" further.  A function of its own:
 * inlined, it made the compiler spill registers on every open's path,
 * marked or not (bench/RESULTS.md, "Eighteenth round").  (The LSM hook runs
 * before procfs checks that right: an open it refuses there marks too.)
 */
#define PW_PROC_SUPER_MAGIC 0x9fa0
#define PW_FMODE_READ 0x1
#define PW_FMODE_WRITE 0x2

static __noinline void proc_mem_opened(struct file *f)
{
	struct file *bf = btf_ptr(struct file, f);
	struct inode *inode;
	struct dentry *d;
	struct pid *pid;
	struct task_struct *t;
	__u64 first;
	__u32 tgid, mode;
	bool marked;
	char name[4];

	inode = bf->f_inode;
	if (inode->i_sb->s_magic != PW_PROC_SUPER_MAGIC)
		return;
	d = bf->f_path.dentry;
	if (d->d_name.len != 3 || bpf_probe_read_kernel(name, 3, d->d_name.name) ||
	    name[0] != 'm' || name[1] != 'e' || name[2] != 'm')
		return;
	mode = bf->f_mode;
	marked = is_tainted_task();
	if (!(mode & PW_FMODE_READ && !marked) && !(mode & PW_FMODE_WRITE && marked))
		return;
	/* Every inode of procfs is a proc_inode; pid is the process's or
	 * thread's of a per-process file. */
	pid = btf_ptr(struct proc_inode,
		      (__u64)inode - bpf_core_field_offset(struct proc_inode, vfs_inode))->pid;
	if (!pid)
		return;
	first = (__u64)btf_ptr(struct pid, pid)->tasks[PIDTYPE_PID].first;
	if (!first)
		return;
	t = btf_ptr(struct task_struct, first - bpf_core_field_offset(struct task_struct, pid_links));
	if (marked) {
		taint_other(t);
		return;
	}
	tgid = t->tgid;
	if (bpf_map_lookup_elem(&tainted_tasks, &tgid))
		taint_current();
}

static __always_inline int handle_open_fd(long ret, __u32 ev_flags, __u32 io_flags)
{
	struct file *f;
	__u32 oflags;

	if (ret < 0)
		return 0;
	f = fd_to_file((int)ret);
	if (!f)
		return 0;
	end_reused(f);
	oflags = btf_ptr(struct file, f)->f_flags;
	/* O_PATH opens read nothing; directory listings are not file access. */
	if ((oflags & PW_O_PATH) ||
	    file_type(f) == PW_S_IFDIR)
		return 0;
	if (n_tainted)
		proc_mem_opened(f);
	track_file(f, (__s32)ret, oflags, false, ev_flags, io_flags, NULL);
	return 0;
}

static __always_inline void account(struct access_state *st, long ret, bool is_read)
{
	__u64 now, prev;

	if (is_read) {
		__sync_fetch_and_add(&st->bytes_read, ret);
		__sync_fetch_and_add(&st->reads, 1);
		/* udev, blkid and mount read a device's first KBs to probe it:
		 * that alone does not make their writes staging. */
		if (pw_dataset_protected(st->dataset_id) &&
		    (!(st->flags & PW_IO_RAW) || st->bytes_read >= PW_RAW_TAINT_BYTES))
			taint_current();
	} else {
		__sync_fetch_and_add(&st->bytes_written, ret);
		__sync_fetch_and_add(&st->writes, 1);
	}
	now = bpf_ktime_get_ns();
	if (now - st->last_emit_ns < delta_interval_ns)
		return;
	prev = __sync_lock_test_and_set(&st->last_emit_ns, now);
	if (now - prev >= delta_interval_ns)
		emit_io(st, st->access_id, 0, true);
}

/* Staging: a regular file f (as fd) written by a process after protected
 * reads is tracked from this write on.  Returns its entry or NULL. */
static __always_inline struct access_state *track_staging(struct file *f, int fd)
{
	if (file_type(f) != PW_S_IFREG)
		return NULL;
	return track_file(f, fd, BPF_CORE_READ(f, f_flags), true, 0, 0, NULL);
}

static __always_inline bool is_pipe(struct file *f)
{
	return file_type(f) == PW_S_IFIFO;
}

static __always_inline bool pipe_key(struct file *f, struct pw_inode_key *key)
{
	struct inode *inode = btf_ptr(struct file, f)->f_inode;

	if ((inode->i_mode & PW_S_IFMT) != PW_S_IFIFO)
		return false;
	key->dev = inode->i_sb->s_dev;
	key->ino = inode->i_ino;
	return true;
}

/* A write into f by a process that has read protected data: a pipe is
 * marked as carrying them (pipe_carriers). */
static __always_inline void mark_carrier(struct file *f)
{
	struct pw_inode_key key = {};
	__u64 zero = 0;

	if (!pipe_key(f, &key) || bpf_map_lookup_elem(&pipe_carriers, &key))
		return;
	if (bpf_map_update_elem(&pipe_carriers, &key, &zero, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&n_carriers, 1);
}

/* A write into f by a process that has read protected data: a regular
 * file is tracked as staging from it on (its entry returned), a pipe is
 * marked; NULL for anything else. */
static __always_inline struct access_state *stage_write(struct file *f, int fd)
{
	struct access_state *st = track_staging(f, fd);

	if (!st)
		mark_carrier(f);
	return st;
}

/* f's entry in pipe_carriers: a pipe a marked process wrote into. */
static __always_inline __u64 *carries(struct file *f)
{
	struct pw_inode_key key = {};

	if (!n_carriers || !pipe_key(f, &key))
		return NULL;
	return bpf_map_lookup_elem(&pipe_carriers, &key);
}

/*
 * Whether f is a pipe read by a process not marked, at the entry of a
 * call that may move data out of it into a file (splice, sendfile), of a
 * 32-bit read, or of a native read that another task could race
 * (read_enter_pipe): its exit looks for the pipe's mark (carrier_exit),
 * which may come while the reader waits ("cat data | gzip": the reader
 * waits on the pipe before its writer has opened anything).  Other native
 * reads of a pipe are looked at at their exit alone (pipe_read_exit).
 */
static __always_inline bool carrier_enter(struct file *f)
{
	return is_pipe(f) && !is_tainted_task();
}

/* Note the calling thread's call in progress, replacing any stale one. */
static __always_inline int inflight_put(const struct io_inflight *inf)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (bpf_map_delete_elem(&io_inflight, &tid) == 0)
		__sync_fetch_and_add(&n_inflight, -1);
	__sync_fetch_and_add(&n_inflight, 1);
	if (bpf_map_update_elem(&io_inflight, &tid, inf, BPF_NOEXIST))
		__sync_fetch_and_add(&n_inflight, -1);
	return 0;
}

/* Whether the calling task's descriptor table is its alone. */
static __always_inline bool files_unshared(void)
{
	struct files_struct *files = bpf_get_current_task_btf()->files;

	return files && files->count.counter == 1;
}

/*
 * Whether a native read entering now notes a pipe it reads at the entry:
 * once a pipe has been marked, when the caller's descriptor table is
 * shared (threads, CLONE_FILES, io_uring's workers), since another task
 * could then close or replace the descriptor while the read waits, and
 * the exit would look at the wrong file.  A table held by the reader
 * alone cannot change until the read returns.
 */
static __always_inline bool read_enter_pipe(void)
{
	return n_carriers && !files_unshared();
}

/*
 * The entry of a call reading fd_in and writing fd_out (-1: none).
 * pipe_in: whether a pipe read here is looked at for a mark at the exit
 * (carrier_enter); for the native reads, read_enter_pipe().
 */
static __always_inline int io_enter(int fd_in, int fd_out, bool pipe_in)
{
	struct io_inflight inf = {};
	bool tracking = n_tracked != 0, copies_protected = false;

	inf.stage_fd = -1;
	if (fd_in >= 0 && (tracking || pipe_in)) {
		struct file *f = fd_to_file(fd_in);
		struct access_state *st = tracking ? lookup_access(f) : NULL;

		if (st) {
			inf.file_in = (__u64)f;
			copies_protected = pw_dataset_protected(st->dataset_id);
		} else if (f && pipe_in && carrier_enter(f)) {
			inf.pipe_in = (__u64)f;
		}
	}
	if (fd_out >= 0) {
		bool tainted = copies_protected || is_tainted_task();
		struct file *f = tracking || tainted || inf.pipe_in ? fd_to_file(fd_out) : NULL;

		if (tracking && lookup_access(f)) {
			inf.file_out = (__u64)f;
		} else if (f && tainted) {
			if (stage_write(f, fd_out))
				inf.file_out = (__u64)f;
		} else if (f && inf.pipe_in) {
			/* splice from the pipe: staging if the exit finds it
			 * marked.  Into another pipe (splice, tee) from one
			 * marked already, the mark goes with the data at once,
			 * before that pipe's reader can take any of it. */
			if (is_pipe(f) && carries((struct file *)inf.pipe_in))
				mark_carrier(f);
			inf.file_out = (__u64)f;
			inf.stage_fd = fd_out;
		}
	}
	if (!inf.file_in && !inf.file_out && !inf.pipe_in)
		return 0;
	return inflight_put(&inf);
}

/* Take the calling thread's call in progress into *inf, if it has one. */
static __always_inline bool inflight_take(struct io_inflight *inf)
{
	struct io_inflight *p;
	__u32 tid;

	if (!n_inflight)
		return false;
	tid = (__u32)bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&io_inflight, &tid);
	if (!p)
		return false;
	*inf = *p;
	if (bpf_map_delete_elem(&io_inflight, &tid) == 0)
		__sync_fetch_and_add(&n_inflight, -1);
	return true;
}

/* n bytes read from (is_read) or written to the open file key, if it is
 * still tracked; io_flag marks its access. */
static __always_inline void count_into(__u64 key, long n, __u32 io_flag, bool is_read)
{
	struct access_state *st;

	if (!key)
		return;
	st = bpf_map_lookup_elem(&open_files, &key);
	if (!st)
		return;
	if (io_flag)
		st->flags |= io_flag;
	account(st, n, is_read);
}

/* n bytes moved by the call inf: read from its input, written to its
 * output; io_flag marks the accesses. */
static __always_inline void inflight_count(const struct io_inflight *inf, long n, __u32 io_flag)
{
	count_into(inf->file_in, n, io_flag, true);
	count_into(inf->file_out, n, io_flag, false);
}

/* At the exit of a call whose output (stage_fd) may become a staging
 * file: that file, if the descriptor still names the one the call was
 * asked for, not one another thread put there since; else NULL. */
static __always_inline struct file *same_output(const struct io_inflight *inf)
{
	struct file *f = fd_to_file(inf->stage_fd);

	return f && (__u64)f == inf->file_out ? f : NULL;
}

/*
 * ret bytes just taken out of f by the calling process, which was not
 * marked at the call's entry: if f is a marked pipe and the process is
 * still not marked, they count into the pipe's, and the process is marked
 * once readers have taken PW_PIPE_TAINT_BYTES out of it.  True when f is
 * a marked pipe and the process is marked now.  (The mark is looked up
 * only for a marked pipe: this runs at every read's exit.)
 */
static __always_inline bool pipe_taken(struct file *f, long ret)
{
	__u64 *taken = f ? carries(f) : NULL;

	if (!taken)
		return false;
	if (is_tainted_task())
		return true;
	if (__sync_fetch_and_add(taken, ret) + (__u64)ret < PW_PIPE_TAINT_BYTES)
		return false;
	taint_current();
	return true;
}

/*
 * The exit of a read of ret bytes from a pipe by a process not marked at
 * the entry: if the pipe is marked now, the data came from a marked
 * process, and the reader is marked once readers have taken
 * PW_PIPE_TAINT_BYTES out of it.  A splice's output (stage_fd) of a
 * reader marked by then becomes a staging file, counting this call.
 */
static __always_inline void carrier_exit(struct io_inflight *inf, long ret)
{
	struct file *f;

	/* A reader marked while it waited (by another thread's read) counts
	 * nothing into the pipe, and its output is staging whatever the
	 * pipe carried. */
	if (!pipe_taken((struct file *)inf->pipe_in, ret) && !is_tainted_task())
		goto unmarked;
	if (inf->stage_fd < 0)
		return;
	f = same_output(inf);
	if (!f || !stage_write(f, inf->stage_fd))
		inf->file_out = 0;
	return;
unmarked:
	if (inf->stage_fd >= 0)
		inf->file_out = 0;
}

/* The exit, returning ret, of the call whose entry left inf. */
static __always_inline void io_done(struct io_inflight *inf, long ret)
{
	/* An ioctl's entry left by a missed exit is not this call's. */
	if (ret <= 0 || inf->kind != PW_INF_IO)
		return;
	if (inf->pipe_in)
		carrier_exit(inf, ret);
	inflight_count(inf, ret, 0);
}

static __always_inline int io_exit(long ret)
{
	struct io_inflight inf;

	if (inflight_take(&inf))
		io_done(&inf, ret);
	return 0;
}

/*
 * The exit of a native read of ret bytes that its entry left nothing for:
 * if its descriptor (the first argument, still in the caller's saved
 * registers) is a marked pipe and the reader is not marked, the bytes
 * count into the pipe's, and the reader is marked once readers have taken
 * PW_PIPE_TAINT_BYTES out of it.  Looked at here, not at the entry, so
 * that reads cost nothing while no pipe is marked.  A descriptor table
 * shared with other tasks is looked at at the entry too (read_enter_pipe)
 * once a pipe is marked; a read that entered before the first mark is
 * looked at here whatever its table, where a descriptor replaced while
 * it waited is not the one read (docs/kernel-probes.md, Known blind
 * spots).
 */
static __always_inline void pipe_read_exit(long ret)
{
	if (ret <= 0 || !n_carriers)
		return;
	pipe_taken(fd_to_file((int)PT_REGS_PARM1_SYSCALL(call_regs())), ret);
}

static __always_inline int read_exit(long ret)
{
	struct io_inflight inf;

	/* An entry of another kind was left by a missed exit: this read's
	 * entry left nothing. */
	if (inflight_take(&inf) && inf.kind == PW_INF_IO)
		io_done(&inf, ret);
	else
		pipe_read_exit(ret);
	return 0;
}

/*
 * Reflinks: ioctl(dst, FICLONE, src) and ioctl(dst, FICLONERANGE, &range)
 * make a file share another's blocks on the same file system (xfs, btrfs,
 * bcachefs, ocfs2, NFS 4.2, SMB 3) with no read or write at all.  The
 * bytes shared count as read from the source's access and written to the
 * destination's, both flagged PW_IO_CLONE; a destination filled from a
 * protected file, or by a tainted process, is a staging file, as with
 * copy_file_range.  The kernel clones the whole range or nothing: a range
 * past the source's end, or not block-aligned short of it, is refused
 * with EINVAL, and success returns 0.  So the bytes are the length asked
 * for, or for none (FICLONE, or a range of length 0) the rest of the
 * source at its size at the entry.  The range is read from the caller's
 * memory just before the kernel copies it.
 */
struct pw_clone_range {
	__s64 src_fd;
	__u64 src_offset;
	__u64 src_length;
	__u64 dest_offset;
};

static __always_inline int clone_enter(int fd_out, __u32 cmd, __u64 arg)
{
	struct pw_clone_range r = {};
	struct io_inflight inf = {};
	struct access_state *st;
	struct file *in, *out;
	bool tainted;
	__u64 size;

	if (cmd == PW_FICLONE) {
		r.src_fd = (__u32)arg; /* the kernel takes it as an unsigned int */
	} else if (cmd == PW_FICLONERANGE) {
		if (bpf_probe_read_user(&r, sizeof(r), (const void *)arg))
			return 0;
	} else {
		return 0;
	}
	in = fd_to_file((int)(__u32)r.src_fd);
	out = fd_to_file(fd_out);
	if (!in || !out)
		return 0;
	size = BPF_CORE_READ(in, f_inode, i_size);
	if (r.src_offset >= size)
		return 0; /* refused, or an empty source: nothing shared */
	if (!r.src_length)
		inf.clone_len = size - r.src_offset;
	else if (r.src_length <= size - r.src_offset)
		inf.clone_len = r.src_length;
	else
		return 0; /* past the end: refused */
	inf.kind = PW_INF_CLONE;
	st = n_tracked ? lookup_access(in) : NULL;
	if (st)
		inf.file_in = (__u64)in;
	tainted = (st && pw_dataset_protected(st->dataset_id)) || is_tainted_task();
	inf.stage_fd = -1;
	if (n_tracked && lookup_access(out)) {
		inf.file_out = (__u64)out;
	} else if (tainted) {
		/* A staging file only if the kernel clones: at the exit. */
		inf.file_out = (__u64)out;
		inf.stage_fd = fd_out;
	}
	if (!inf.file_in && !inf.file_out)
		return 0;
	return inflight_put(&inf);
}

/*
 * A loop device set up over a protected file (or over a protected block
 * device, by root or group disk) reads that file's blocks under a device
 * number of its own: once the kernel has taken the backing file, that
 * number is protected as a raw device of the file's dataset, from the
 * kernel side, as a file moved out is.
 */
static __always_inline int loop_enter(int fd_loop, __u32 cmd, __u64 arg)
{
	struct io_inflight inf = {};
	struct access_state *st;
	struct file *backing, *loop;
	__u32 fd = (__u32)arg;

	if (!n_tracked)
		return 0;
	if (cmd == PW_LOOP_CONFIGURE && bpf_probe_read_user(&fd, sizeof(fd), (const void *)arg))
		return 0;
	backing = fd_to_file((int)fd);
	st = lookup_access(backing);
	if (!st || !pw_dataset_protected(st->dataset_id))
		return 0;
	loop = fd_to_file(fd_loop);
	if (!loop || file_type(loop) != PW_S_IFBLK)
		return 0;
	inf.kind = PW_INF_LOOP;
	inf.loop_rdev = btf_ptr(struct file, loop)->f_inode->i_rdev;
	inf.loop_dataset = st->dataset_id;
	return inflight_put(&inf);
}

static __always_inline int clone_exit(long ret)
{
	struct io_inflight inf;
	struct file *out;

	if (!inflight_take(&inf) || ret != 0)
		return 0;
	if (inf.kind == PW_INF_LOOP) {
		struct pw_inode_key key = { .dev = PW_DEV_RAW, .ino = inf.loop_rdev };

		protect_added(&key, inf.loop_dataset, 0);
		return 0;
	}
	if (inf.kind != PW_INF_CLONE || !inf.clone_len)
		return 0;
	if (inf.stage_fd >= 0) {
		out = same_output(&inf);
		if (!out || !track_staging(out, inf.stage_fd))
			inf.file_out = 0;
	}
	inflight_count(&inf, (long)inf.clone_len, PW_IO_CLONE);
	return 0;
}

/* The exit of every open syscall (PW_OPEN_EXITS in piiwatch.h): one
 * program, attached by user space to each, in tracepoint mode only (the
 * LSM hook sees the opens otherwise). */
SEC("tracepoint")
int handle_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return handle_open_fd(ctx->ret, 0, 0);
}

/* The exits of the reads (PW_READ_EXITS in piiwatch.h), which look at a
 * pipe, and of every other read and write (PW_RW_EXITS): one program
 * each, attached by user space to each. */
SEC("tracepoint")
int handle_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	return read_exit(ctx->ret);
}

SEC("tracepoint")
int handle_exit_rw(struct trace_event_raw_sys_exit *ctx)
{
	return io_exit(ctx->ret);
}

/* The entries, one program for each list of piiwatch.h, attached by user
 * space to each of its syscalls: the reads of the first argument that a
 * pipe can feed (PW_READ_ENTERS) and that it refuses (PW_PREAD_ENTERS,
 * ESPIPE), the plain writes of the first argument (PW_WRITE_ENTERS), and
 * splice and copy_file_range from argument 0 into argument 2
 * (PW_SPLICE_ENTERS). */
SEC("tracepoint")
int handle_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0], -1, read_enter_pipe());
}

SEC("tracepoint")
int handle_enter_pread(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0], -1, false);
}

SEC("tracepoint")
int handle_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter(-1, (int)ctx->args[0], false);
}

SEC("tracepoint")
int handle_enter_splice(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0], (int)ctx->args[2], true);
}

/* tee(fd_in, fd_out, len, flags) copies what one pipe holds into another,
 * as a splice between them would move it; its exit is handle_exit_rw. */
SEC("tracepoint/syscalls/sys_enter_tee")
int handle_enter_tee(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[0], (int)ctx->args[1], true);
}

/* vmsplice(fd, iov, nr, flags) moves the caller's memory into a pipe
 * through its write end, as write(2) would, or what the pipe holds into
 * that memory through its read end, as read(2) would (the kernel looks
 * at FMODE_WRITE first, so does this). */
static __always_inline int vmsplice_enter(int fd)
{
	struct file *f = fd_to_file(fd);

	if (!f)
		return 0;
	if (btf_ptr(struct file, f)->f_mode & PW_FMODE_WRITE)
		return io_enter(-1, fd, false);
	return io_enter(fd, -1, true);
}

SEC("tracepoint/syscalls/sys_enter_vmsplice")
int handle_enter_vmsplice(struct trace_event_raw_sys_enter *ctx)
{
	return vmsplice_enter((int)ctx->args[0]);
}

/* sendfile reads argument 1 into argument 0; its exit is handle_exit_rw. */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int handle_enter_sendfile64(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[1], (int)ctx->args[0], true);
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int handle_enter_ioctl(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[1];

	if (cmd == PW_LOOP_SET_FD || cmd == PW_LOOP_CONFIGURE)
		return loop_enter((int)ctx->args[0], cmd, ctx->args[2]);
	return clone_enter((int)ctx->args[0], cmd, ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int handle_exit_ioctl(struct trace_event_raw_sys_exit *ctx)
{
	return clone_exit(ctx->ret);
}

/*
 * Linux AIO (io_submit): the requests are read from user memory and run
 * without a read or write system call.  The entry notes where the
 * requests are; the exit, once the kernel has taken them, counts those it
 * accepted (the first ret) into their accesses.  A completion is not seen
 * (it lands in a ring mapped into the process), so the bytes are those
 * asked for, a read's clamped at the end of the file, and the access is
 * flagged PW_IO_AIO.
 */
struct aio_pending {
	__u64 iocbpp;
	__u64 nr;
	bool compat;            /* a 32-bit call: 4-byte pointers, compat iovecs */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct aio_pending);
} aio_pending SEC(".maps");

#define PW_IOCB_CMD_PREAD 0
#define PW_IOCB_CMD_PWRITE 1
#define PW_IOCB_CMD_PREADV 7
#define PW_IOCB_CMD_PWRITEV 8
#define PW_UIO_MAXIOV 1024

struct aio_walk {
	__u64 iocbpp;
	bool tainted;
	bool compat;
};

struct iov_walk {
	__u64 iov;
	__u64 n;
	__u64 total;
	bool compat;
};

static long iov_one(__u32 i, struct iov_walk *w)
{
	struct iovec v;
	__u32 len32;

	if (i >= w->n)
		return 1;
	if (w->compat) {
		if (bpf_probe_read_user(&len32, sizeof(len32), (void *)(w->iov + i * 8 + 4)))
			return 1;
		w->total += len32;
		return 0;
	}
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->iov + i * sizeof(v))))
		return 1;
	w->total += (__u64)v.iov_len;
	return 0;
}

/* The bytes of the iovec array iov of n entries (UIO_MAXIOV at most, as
 * the kernel allows); compat: of 32-bit iovecs (two 4-byte words).  A
 * bpf_loop, not a loop: the verifier walks this once, not 1024 times. */
static __always_inline __u64 iov_bytes(__u64 iov, __u64 n, bool compat)
{
	struct iov_walk w = { .iov = iov, .n = n, .compat = compat };

	bpf_loop(PW_UIO_MAXIOV, iov_one, &w, 0);
	return w.total;
}

static long aio_one(__u64 idx, void *data)
{
	struct aio_walk *w = data;
	struct access_state *st;
	struct iocb cb;
	__u64 cbp = 0, bytes;
	bool is_read, vec, pipe;
	struct file *f;
	long err;

	/* The struct iocb is the same for 32-bit callers; their array of
	 * pointers to it is of 4-byte ones. */
	err = w->compat ? bpf_probe_read_user(&cbp, 4, (void *)(w->iocbpp + idx * 4))
			: bpf_probe_read_user(&cbp, sizeof(cbp), (void *)(w->iocbpp + idx * 8));
	if (err || bpf_probe_read_user(&cb, sizeof(cb), (void *)cbp))
		return 1;
	switch (cb.aio_lio_opcode) {
	case PW_IOCB_CMD_PREAD:
	case PW_IOCB_CMD_PREADV:
		is_read = true;
		break;
	case PW_IOCB_CMD_PWRITE:
	case PW_IOCB_CMD_PWRITEV:
		is_read = false;
		break;
	default:
		return 0;
	}
	vec = cb.aio_lio_opcode == PW_IOCB_CMD_PREADV || cb.aio_lio_opcode == PW_IOCB_CMD_PWRITEV;
	f = fd_to_file((int)cb.aio_fildes);
	st = lookup_access(f);
	if (!st && f && !is_read && w->tainted)
		st = stage_write(f, (int)cb.aio_fildes);
	/* Out of a pipe, by a process not marked: the bytes asked for
	 * count into the pipe's (its result is not seen). */
	pipe = !st && f && is_read && !w->tainted && n_carriers && is_pipe(f);
	if (!st && !pipe)
		return 0;
	bytes = vec ? iov_bytes(cb.aio_buf, cb.aio_nbytes, w->compat) : cb.aio_nbytes;
	if (pipe) {
		pipe_taken(f, bytes);
		return 0;
	}
	if (is_read) {
		__s64 size = BPF_CORE_READ(f, f_inode, i_size);

		if (cb.aio_offset >= size)
			bytes = 0;
		else if (bytes > (__u64)(size - cb.aio_offset))
			bytes = size - cb.aio_offset;
	}
	st->flags |= PW_IO_AIO;
	if (bytes)
		account(st, bytes, is_read);
	return 0;
}

/* io_submit(ctx, nr, iocbpp) */
static __always_inline int aio_enter(__u64 nr, __u64 iocbpp, bool compat)
{
	struct aio_pending p = { .iocbpp = iocbpp, .nr = nr, .compat = compat };
	__u32 tid;

	/* Nothing tracked, no staging and no marked pipe: the requests
	 * cannot matter. */
	if (!n_tracked && !n_carriers && !is_tainted_task())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&aio_pending, &tid, &p, BPF_ANY))
		stat_inc(PW_STAT_PENDING_FULL);
	return 0;
}

static __always_inline int aio_exit(long ret)
{
	struct aio_pending *p;
	struct aio_walk w;
	__u64 n;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	p = bpf_map_lookup_elem(&aio_pending, &tid);
	if (!p)
		return 0;
	w.iocbpp = p->iocbpp;
	w.compat = p->compat;
	n = p->nr;
	bpf_map_delete_elem(&aio_pending, &tid);
	if (ret <= 0)
		return 0;
	if ((__u64)ret < n)
		n = ret;
	w.tainted = is_tainted_task();
	bpf_loop(n, aio_one, &w, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_io_submit")
int handle_enter_io_submit(struct trace_event_raw_sys_enter *ctx)
{
	return aio_enter(ctx->args[1], ctx->args[2], false);
}

SEC("tracepoint/syscalls/sys_exit_io_submit")
int handle_exit_io_submit(struct trace_event_raw_sys_exit *ctx)
{
	return aio_exit(ctx->ret);
}

/* close(fd), and dup2/dup3 over a descriptor, release the file when no
 * other descriptor refers to it. */
static __always_inline int release_fd(int fd)
{
	struct access_state *st;
	struct file *f;

	if (!n_tracked)
		return 0;
	f = fd_to_file(fd);
	st = lookup_access(f);
	if (st && file_refs(f) == 1) {
		/* Copied up while open (by a change through the overlay, or,
		 * in trampoline mode, by its own open): protect the copy. */
		if ((st->flags & PW_IO_OVERLAY) && pw_dataset_protected(st->dataset_id)) {
			struct pw_protected_val v = { .dataset_id = st->dataset_id };

			overlay_protect_upper(f, &v);
		}
		finish_access((__u64)f, st, 0, true);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int handle_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	return release_fd((int)ctx->args[0]);
}

static __always_inline int dup_over(int oldfd, int newfd)
{
	/* dup2 of a valid descriptor closes newfd first. */
	if (!n_tracked || oldfd == newfd || !fd_to_file(oldfd))
		return 0;
	return release_fd(newfd);
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int handle_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	return dup_over((int)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int handle_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return dup_over((int)ctx->args[0], (int)ctx->args[1]);
}

enum sweep_mode { SWEEP_EXIT, SWEEP_RANGE, SWEEP_EXEC };

struct sweep {
	struct file **arr;
	unsigned long *cloexec;
	__u32 first;
	__u32 last;             /* inclusive */
	__u32 pass;
	__u32 mode;
	struct exec_pending *pending;
};

/*
 * A set of descriptor slots is about to be released.  Pass 0 counts how
 * many of those slots refer to each tracked file; pass 1 finalises the
 * files whose every reference is among them and flushes the counts of the
 * ones that live on elsewhere.  For exec, finalising waits until the exec
 * has succeeded.
 */
static long sweep_slot(__u32 i, struct sweep *c)
{
	struct access_state *st;
	struct file *f = NULL;
	__u32 slot = c->first + i, refs;
	__u64 key;

	if (slot > c->last)
		return 1;
	if (c->mode == SWEEP_EXEC) {
		unsigned long word = 0;

		bpf_probe_read_kernel(&word, sizeof(word), &c->cloexec[slot / 64]);
		if (!(word & (1UL << (slot % 64))))
			return 0;
	}
	bpf_probe_read_kernel(&f, sizeof(f), &c->arr[slot]);
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
	key = (__u64)f;
	if (file_refs(f) > refs) {
		emit_io(st, st->access_id, 0, true);
	} else if (c->mode == SWEEP_EXEC) {
		emit_io(st, st->access_id, 0, true);
		if (c->pending && c->pending->n < PW_EXEC_KEYS) {
			c->pending->keys[c->pending->n & (PW_EXEC_KEYS - 1)] = key;
			c->pending->n++;
		}
	} else {
		finish_access(key, st, c->mode == SWEEP_EXIT ? PW_IO_EXIT : 0, true);
	}
	return 0;
}

static __always_inline void sweep_fds(__u32 first, __u32 last, __u32 mode,
				      struct exec_pending *pending)
{
	struct fdtable *fdt;
	struct sweep c = {};
	__u32 max;

	if (!n_tracked)
		return;
	fdt = current_fdt();
	if (!fdt)
		return;
	max = BPF_CORE_READ(fdt, max_fds);
	if (max == 0 || first >= max)
		return;
	if (last >= max)
		last = max - 1;
	if (last - first >= PW_MAX_SWEEP)
		last = first + PW_MAX_SWEEP - 1;
	c.arr = BPF_CORE_READ(fdt, fd);
	c.cloexec = BPF_CORE_READ(fdt, close_on_exec);
	c.first = first;
	c.last = last;
	c.mode = mode;
	c.pending = pending;
	bpf_loop(last - first + 1, sweep_slot, &c, 0);
	c.pass = 1;
	bpf_loop(last - first + 1, sweep_slot, &c, 0);
}

static __always_inline int close_range_enter(__u64 first, __u64 last, __u64 flags)
{
	if ((flags & PW_CLOSE_RANGE_CLOEXEC) || first > last || first > 0xffffffffULL)
		return 0;
	sweep_fds((__u32)first, last > 0xffffffffULL ? 0xffffffffU : (__u32)last, SWEEP_RANGE, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close_range")
int handle_enter_close_range(struct trace_event_raw_sys_enter *ctx)
{
	return close_range_enter(ctx->args[0], ctx->args[1], ctx->args[2]);
}

static __always_inline int exec_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_pending zero = {}, *p;

	if (!n_tracked)
		return 0;
	if (bpf_map_update_elem(&exec_pending, &tid, &zero, BPF_ANY)) {
		stat_inc(PW_STAT_PENDING_FULL);
		return 0;
	}
	p = bpf_map_lookup_elem(&exec_pending, &tid);
	if (!p)
		return 0;
	sweep_fds(0, 0xffffffffU, SWEEP_EXEC, p);
	if (p->n == 0)
		bpf_map_delete_elem(&exec_pending, &tid);
	return 0;
}

static __always_inline int exec_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_pending *p = bpf_map_lookup_elem(&exec_pending, &tid);
	__u32 i;

	if (!p)
		return 0;
	if (ret == 0) {
		for (i = 0; i < PW_EXEC_KEYS; i++) {
			__u64 key;
			struct access_state *st;

			if (i >= p->n)
				break;
			key = p->keys[i];
			st = bpf_map_lookup_elem(&open_files, &key);
			if (st)
				finish_access(key, st, PW_IO_EXEC, true);
		}
	}
	bpf_map_delete_elem(&exec_pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter();
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter();
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/*
 * The exiting process, which had read (or mapped) protected data (or
 * whose login session had), dumped core: the kernel wrote its memory to
 * a file or a pipe (core_pattern) with no write system call, so no
 * staging file shows it.  A dump that
 * completed marks the group's exit code (0x80) before the last thread
 * exits.
 */
static __always_inline void report_coredump(bool tainted)
{
	struct pw_event_coredump ev = {};
	int code = BPF_CORE_READ(current_task(), signal, group_exit_code);
	__u32 ses;

	if (!(code & PW_WCOREFLAG))
		return;
	/* A child forked after the reads has them in its memory too: its
	 * session's mark stands for it. */
	if (!tainted) {
		ses = BPF_CORE_READ(current_task(), sessionid);
		if (ses == (__u32)-1 || !bpf_map_lookup_elem(&tainted_sessions, &ses))
			return;
	}
	fill_task(&ev.task, PW_EV_COREDUMP);
	ev.signal = code & 0x7f;
	emit(&ev, sizeof(ev));
}

SEC("tracepoint/sched/sched_process_exit")
int handle_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	bool tainted;

	if (bpf_core_field_exists(ctx->group_dead) && !ctx->group_dead)
		return 0;
	tainted = bpf_map_delete_elem(&tainted_tasks, &tgid) == 0;
	if (tainted)
		__sync_fetch_and_add(&n_tainted, -1);
	report_coredump(tainted);
	/* A table shared with another process stays open with it. */
	if (!files_unshared())
		return 0;
	sweep_fds(0, 0xffffffffU, SWEEP_EXIT, NULL);
	return 0;
}

/*
 * A process forked by one that has read protected data holds those data
 * in its copy of the memory: it is marked too, from the parent's first
 * read, so that its writes are staging and (outside a login session) its
 * connects are reported.  A new thread shares the parent's mark.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = parent->tgid, ctgid = child->tgid;
	struct taint *t, ct;

	if (!n_tainted || ctgid == tgid)
		return 0;
	t = bpf_map_lookup_elem(&tainted_tasks, &tgid);
	if (!t)
		return 0;
	ct = *t;
	ct.uring_reported = 0; /* its own use of io_uring is its own */
	taint_tgid(ctgid, &ct);
	return 0;
}

/*
 * Another process's memory, read or written: process_vm_readv(2),
 * process_vm_writev(2) and ptrace(2) name the other process by a process
 * or thread id in the caller's pid namespace, which bpf_task_from_vpid
 * resolves as those calls do (kernels from 6.13; the programs are not
 * loaded where it cannot be called, see userspace/probes.c).  A process
 * that takes any of a marked process's memory is marked, as a forked
 * child is: process_vm_readv returning bytes; ptrace's PEEKTEXT,
 * PEEKDATA, PEEKUSR and its register reads; and PTRACE_ATTACH or
 * PTRACE_SEIZE, after which the tracer may read all of it (strace's
 * output of what its tracee read is a copy).  A marked process that
 * writes into another's memory or registers (process_vm_writev, POKETEXT,
 * POKEDATA, POKEUSR, the register writes) marks it, with its login
 * session.  Only when some process is marked does any of it look further
 * than the call's result.
 */
extern struct task_struct *bpf_task_from_vpid(__s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

#define PW_PTRACE_PEEKTEXT 1
#define PW_PTRACE_PEEKDATA 2
#define PW_PTRACE_PEEKUSR 3
#define PW_PTRACE_POKETEXT 4
#define PW_PTRACE_POKEDATA 5
#define PW_PTRACE_POKEUSR 6
#define PW_PTRACE_GETREGS 12
#define PW_PTRACE_SETREGS 13
#define PW_PTRACE_GETFPREGS 14
#define PW_PTRACE_SETFPREGS 15
#define PW_PTRACE_ATTACH 16
#define PW_PTRACE_GETFPXREGS 18 /* i386 only: native callers get -EIO */
#define PW_PTRACE_SETFPXREGS 19
#define PW_PTRACE_GETREGSET 0x4204
#define PW_PTRACE_SETREGSET 0x4205
#define PW_PTRACE_SEIZE 0x4206

/* The thread group of the task the caller names vpid; 0 for none. */
static __always_inline __u32 vpid_tgid(__s32 vpid)
{
	struct task_struct *t = bpf_task_from_vpid(vpid);
	__u32 tgid;

	if (!t)
		return 0;
	tgid = t->tgid;
	bpf_task_release(t);
	return tgid;
}

/* The caller took memory of the process it names vpid. */
static __always_inline void memory_taken(__s32 vpid)
{
	__u32 tgid;

	if (!n_tainted || is_tainted_task())
		return;
	tgid = vpid_tgid(vpid);
	if (tgid && bpf_map_lookup_elem(&tainted_tasks, &tgid))
		taint_current();
}

/* The caller put some of its memory into the process it names vpid. */
static __always_inline void memory_given(__s32 vpid)
{
	struct task_struct *t;

	if (!is_tainted_task())
		return;
	t = bpf_task_from_vpid(vpid);
	if (!t)
		return;
	taint_other(t);
	bpf_task_release(t);
}

SEC("tracepoint/syscalls/sys_exit_process_vm_readv")
int handle_exit_vm_readv(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret > 0 && n_tainted)
		memory_taken((__s32)PT_REGS_PARM1_SYSCALL(call_regs()));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int handle_exit_vm_writev(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret > 0 && n_tainted)
		memory_given((__s32)PT_REGS_PARM1_SYSCALL(call_regs()));
	return 0;
}

/* A ptrace request that succeeded on the process the caller names vpid. */
static __always_inline void ptrace_memory(long request, __s32 vpid)
{
	switch (request) {
	case PW_PTRACE_PEEKTEXT:
	case PW_PTRACE_PEEKDATA:
	case PW_PTRACE_PEEKUSR:
	case PW_PTRACE_GETREGS:
	case PW_PTRACE_GETFPREGS:
	case PW_PTRACE_GETFPXREGS:
	case PW_PTRACE_GETREGSET:
	case PW_PTRACE_ATTACH:
	case PW_PTRACE_SEIZE:
		memory_taken(vpid);
		break;
	case PW_PTRACE_POKETEXT:
	case PW_PTRACE_POKEDATA:
	case PW_PTRACE_POKEUSR:
	case PW_PTRACE_SETREGS:
	case PW_PTRACE_SETFPREGS:
	case PW_PTRACE_SETFPXREGS:
	case PW_PTRACE_SETREGSET:
		memory_given(vpid);
		break;
	}
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int handle_exit_ptrace(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	if (ctx->ret < 0 || !n_tainted)
		return 0;
	regs = call_regs();
	ptrace_memory(PT_REGS_PARM1_SYSCALL(regs), (__s32)PT_REGS_PARM2_SYSCALL(regs));
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = current_task();
	__u32 zero = 0, off = ctx->__data_loc_filename & 0xffff;
	struct pw_event_exec *ev;
	unsigned long arg_start, arg_end;
	long n;
	__u32 len;

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
	emit_counted(ev, sizeof(*ev), PW_STAT_EXECS);
	return 0;
}

/* mmap(addr, length, prot, flags, fd, offset), offset in bytes */
static __always_inline int mmap_enter(__u64 length, __u64 prot, __u64 flags, int fd, __u64 offset)
{
	struct pw_event_mmap ev = {};
	struct access_state *st;
	struct file *f;

	if (!n_tracked || (flags & PW_MAP_ANONYMOUS) || fd < 0)
		return 0;
	f = fd_to_file(fd);
	st = lookup_access(f);
	if (!st)
		return 0;
	st->flags |= PW_IO_MMAP;
	if (pw_dataset_protected(st->dataset_id))
		taint_current();
	fill_task(&ev.task, PW_EV_MMAP);
	ev.access_id = st->access_id;
	ev.dev = st->dev;
	ev.ino = st->ino;
	ev.length = length;
	ev.offset = offset;
	ev.prot = (__u32)prot;
	ev.map_flags = (__u32)flags;
	ev.dataset_id = st->dataset_id;
	emit(&ev, sizeof(ev));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int handle_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	return mmap_enter(ctx->args[1], ctx->args[2], ctx->args[3], (int)ctx->args[4], ctx->args[5]);
}

/* ---- changes by path ---- */

/* The calling thread's pending change, made afresh (op, the user paths,
 * the file a link names), or NULL if the map is full. */
static __always_inline struct change_pending *change_enter(__u32 op, const char *path,
							   const char *path2,
							   struct file *link_file)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct change_pending *z, *p;

	z = bpf_map_lookup_elem(&change_zero, &zero);
	if (!z)
		return NULL;
	if (bpf_map_update_elem(&change_pending, &tid, z, BPF_ANY)) {
		stat_inc(PW_STAT_PENDING_FULL);
		return NULL;
	}
	p = bpf_map_lookup_elem(&change_pending, &tid);
	if (!p)
		return NULL;
	p->ev.op = op;
	p->path_ptr = (__u64)path;
	p->path2_ptr = (__u64)path2;
	p->link_file = (__u64)link_file;
	p->nr = call_regs()->orig_ax;
	return p;
}

/* The descriptor a path "/proc/self/fd/N" or "/dev/fd/N" (buf, its first
 * bytes) names, or -1. */
static __always_inline int proc_fd_name(const char buf[PW_PROC_FD_LEN])
{
	int i, start, fd = 0;

	if (buf[0] == '/' && buf[1] == 'p' && buf[2] == 'r' && buf[3] == 'o' && buf[4] == 'c' &&
	    buf[5] == '/' && buf[6] == 's' && buf[7] == 'e' && buf[8] == 'l' && buf[9] == 'f' &&
	    buf[10] == '/' && buf[11] == 'f' && buf[12] == 'd' && buf[13] == '/')
		start = 14;
	else if (buf[0] == '/' && buf[1] == 'd' && buf[2] == 'e' && buf[3] == 'v' && buf[4] == '/' &&
		 buf[5] == 'f' && buf[6] == 'd' && buf[7] == '/')
		start = 8;
	else
		return -1;
	for (i = 0; i < 8; i++) {
		int idx = start + i;
		char ch;

		if (idx < 0 || idx >= PW_PROC_FD_LEN)
			return -1;
		ch = buf[idx];
		if (ch == '\0')
			return i ? fd : -1;
		if (ch < '0' || ch > '9')
			return -1;
		fd = fd * 10 + (ch - '0');
	}
	return -1;
}

/*
 * The open file a link(2) call or io_uring LINKAT request links (an
 * unnamed O_TMPFILE, or one opened elsewhere), or NULL: with AT_EMPTY_PATH
 * and an empty name, descriptor dfd; with AT_SYMLINK_FOLLOW, the
 * descriptor named by its magic link in /proc.  name: the request's first
 * bytes, already copied.  Only a regular file: a directory descriptor
 * with a name beside it is no file to track.
 */
static __always_inline struct file *link_source(int dfd, const char name[PW_PROC_FD_LEN],
						__u64 flags)
{
	struct file *f = NULL;
	int fd;

	if ((flags & PW_AT_EMPTY_PATH) && name[0] == '\0') {
		f = fd_to_file(dfd);
	} else if (flags & PW_AT_SYMLINK_FOLLOW) {
		fd = proc_fd_name(name);
		if (fd >= 0)
			f = fd_to_file(fd);
	}
	if (f && (file_type(f) != PW_S_IFREG ||
		  (BPF_CORE_READ(f, f_flags) & PW_O_PATH)))
		return NULL;
	return f;
}

/* The first dentry of an inode, to walk its ancestors from. */
static __always_inline struct dentry *inode_alias(struct inode *inode)
{
	struct hlist_node *first = BPF_CORE_READ(inode, i_dentry.first);

	if (!first)
		return NULL;
	return (void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias);
}

/* The data of io_uring request r, which overlays the start of the
 * io_kiocb. */
static __always_inline void *uring_cmd(struct io_kiocb *r)
{
	return (void *)r + (bpf_core_field_exists(struct io_kiocb, cmd) ?
			    bpf_core_field_offset(struct io_kiocb, cmd) : 0);
}

/*
 * Changes submitted through io_uring (rename, unlink, link, symlink,
 * ftruncate, fallocate) pass no syscall tracepoint either.  The kernel runs them in
 * an io-wq worker of the process; the ctime hooks find the request the
 * worker is running, and its completion, wherever it runs, reports it.
 * Keyed by the request.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct change_pending);
} uring_change SEC(".maps");

/* The change of the io_uring request r, or 0. */
static __always_inline __u32 uring_change_op(struct io_kiocb *r)
{
	__u8 op = BPF_CORE_READ(r, opcode);

	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_RENAMEAT))
		return PW_CH_RENAME;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_UNLINKAT))
		return BPF_CORE_READ((struct io_unlink *)uring_cmd(r), flags) & PW_AT_REMOVEDIR ?
			       PW_CH_RMDIR : PW_CH_UNLINK;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_LINKAT))
		return PW_CH_LINK;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SYMLINKAT))
		return PW_CH_SYMLINK;
	if (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_FTRUNCATE) &&
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_FTRUNCATE))
		return PW_CH_TRUNCATE;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SETXATTR) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_FSETXATTR))
		return PW_CH_SETXATTR;
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_FALLOCATE) &&
	    pw_falloc_changes(BPF_CORE_READ((struct io_sync *)uring_cmd(r), mode)))
		return PW_CH_FALLOCATE;
	return 0;
}

/* The pending change of the io_uring request this io-wq worker runs,
 * made at its first inode change; NULL when current is no worker or its
 * request changes nothing we follow. */
static __always_inline struct change_pending *uring_worker_change(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct change_pending *z, *p;
	struct io_wq_work *work;
	struct io_kiocb *r;
	__u32 zero = 0, op;
	__u64 key;

	if (!(t->flags & PW_PF_IO_WORKER) || !bpf_core_type_exists(struct io_worker))
		return NULL;
	work = BPF_CORE_READ((struct io_worker *)t->worker_private, cur_work);
	if (!work)
		return NULL;
	r = (void *)work - bpf_core_field_offset(struct io_kiocb, work);
	key = (__u64)r;
	p = bpf_map_lookup_elem(&uring_change, &key);
	if (p)
		return p;
	op = uring_change_op(r);
	z = bpf_map_lookup_elem(&change_zero, &zero);
	if (!op || !z)
		return NULL;
	if (bpf_map_update_elem(&uring_change, &key, z, BPF_ANY)) {
		stat_inc(PW_STAT_PENDING_FULL);
		return NULL;
	}
	p = bpf_map_lookup_elem(&uring_change, &key);
	if (!p)
		return NULL;
	p->ev.op = op;
	p->uring = 1;
	/* The names are the kernel's copies, alive while the request runs. */
	if (op == PW_CH_RENAME) {
		struct io_rename *x = uring_cmd(r);

		bpf_probe_read_kernel_str(p->ev.path, sizeof(p->ev.path), BPF_CORE_READ(x, oldpath, name));
		bpf_probe_read_kernel_str(p->ev.path2, sizeof(p->ev.path2), BPF_CORE_READ(x, newpath, name));
	} else if (op == PW_CH_LINK || op == PW_CH_SYMLINK) {
		struct io_link *x = uring_cmd(r);

		bpf_probe_read_kernel_str(p->ev.path, sizeof(p->ev.path), BPF_CORE_READ(x, oldpath, name));
		bpf_probe_read_kernel_str(p->ev.path2, sizeof(p->ev.path2), BPF_CORE_READ(x, newpath, name));
		/* The worker shares the process's descriptors. */
		if (op == PW_CH_LINK)
			p->link_file = (__u64)link_source(BPF_CORE_READ(x, old_dfd), p->ev.path,
							  BPF_CORE_READ(x, flags));
	} else if (op == PW_CH_SETXATTR) {
		struct io_xattr *x = uring_cmd(r);

		/* FSETXATTR names a file, SETXATTR a path. */
		if (BPF_CORE_READ(r, opcode) ==
		    bpf_core_enum_value(enum io_uring_op, IORING_OP_SETXATTR))
			bpf_probe_read_kernel_str(p->ev.path, sizeof(p->ev.path),
						  BPF_CORE_READ(x, filename, name));
		bpf_probe_read_kernel_str(p->ev.path2, sizeof(p->ev.path2),
					  BPF_CORE_READ(x, ctx.kname, name));
	} else if (op == PW_CH_FALLOCATE) {
		struct io_sync *x = uring_cmd(r);

		p->ev.mode = BPF_CORE_READ(x, mode);
		p->ev.offset = BPF_CORE_READ(x, off);
		p->ev.len = BPF_CORE_READ(x, len);
	} else if (op != PW_CH_TRUNCATE) {
		struct io_unlink *x = uring_cmd(r);

		bpf_probe_read_kernel_str(p->ev.path, sizeof(p->ev.path), BPF_CORE_READ(x, filename, name));
	}
	return p;
}

/* fallocate(fd, mode, offset, len), native or 32-bit: a change only in a
 * mode that removes, zeroes or moves data (see native_changes). */
static __always_inline struct change_pending *fallocate_enter(__u32 mode, __s64 offset,
							      __s64 len)
{
	struct change_pending *p;

	if (!pw_falloc_changes(mode))
		return NULL;
	p = change_enter(PW_CH_FALLOCATE, NULL, NULL, NULL);
	if (p) {
		p->ev.mode = mode;
		p->ev.offset = offset;
		p->ev.len = len;
	}
	return p;
}

/*
 * The native change system calls (x86-64 numbers) have no entry hook: the
 * first ctime update of a protected inode in one of them names the call
 * from the caller's saved registers (orig_ax), where its arguments are
 * too.  Each entry tracepoint cost the daemon's stop one of the kernel's
 * grace periods (about 60 ms on the build machine) and its start an
 * attach, and the entry did nothing this cannot.  linkat keeps its entry
 * (what an empty name links is resolved there); 32-bit calls come through
 * compat_change_enter.  path and path2: the arguments holding user paths
 * (path2 is an extended attribute's name), PW_NO_ARG for none.
 */
#define PW_NO_ARG 0xff
#define PW_NATIVE_CHANGE_NR 467

struct change_call {
	__u8 op;
	__u8 path;
	__u8 path2;
};

static const struct change_call native_changes[PW_NATIVE_CHANGE_NR] = {
	[87] = { PW_CH_UNLINK, 0, PW_NO_ARG },          /* unlink */
	[263] = { PW_CH_UNLINK, 1, PW_NO_ARG },         /* unlinkat */
	[84] = { PW_CH_RMDIR, 0, PW_NO_ARG },           /* rmdir */
	[82] = { PW_CH_RENAME, 0, 1 },                  /* rename */
	[264] = { PW_CH_RENAME, 1, 3 },                 /* renameat */
	[316] = { PW_CH_RENAME, 1, 3 },                 /* renameat2 */
	[86] = { PW_CH_LINK, 0, 1 },                    /* link */
	[88] = { PW_CH_SYMLINK, 0, 1 },                 /* symlink */
	[266] = { PW_CH_SYMLINK, 0, 2 },                /* symlinkat */
	[76] = { PW_CH_TRUNCATE, 0, PW_NO_ARG },        /* truncate */
	[77] = { PW_CH_TRUNCATE, PW_NO_ARG, PW_NO_ARG }, /* ftruncate */
	[90] = { PW_CH_CHMOD, 0, PW_NO_ARG },           /* chmod */
	[91] = { PW_CH_CHMOD, PW_NO_ARG, PW_NO_ARG },   /* fchmod */
	[268] = { PW_CH_CHMOD, 1, PW_NO_ARG },          /* fchmodat */
	[452] = { PW_CH_CHMOD, 1, PW_NO_ARG },          /* fchmodat2 */
	[92] = { PW_CH_CHOWN, 0, PW_NO_ARG },           /* chown */
	[94] = { PW_CH_CHOWN, 0, PW_NO_ARG },           /* lchown */
	[93] = { PW_CH_CHOWN, PW_NO_ARG, PW_NO_ARG },   /* fchown */
	[260] = { PW_CH_CHOWN, 1, PW_NO_ARG },          /* fchownat */
	/* fallocate(fd, mode, offset, len), only in a mode that removes,
	 * zeroes or moves data: a hole punched through a customer table
	 * destroys it as a truncation does, while databases preallocate
	 * their files all day. */
	[285] = { PW_CH_FALLOCATE, PW_NO_ARG, PW_NO_ARG },
	/* Extended attributes: an ACL entry grants a read as chmod does
	 * (setfacl), and security.* holds labels and file capabilities.
	 * setxattrat and removexattrat (6.13) take (dfd, path, at_flags,
	 * name, ...). */
	[188] = { PW_CH_SETXATTR, 0, 1 },               /* setxattr */
	[189] = { PW_CH_SETXATTR, 0, 1 },               /* lsetxattr */
	[190] = { PW_CH_SETXATTR, PW_NO_ARG, 1 },       /* fsetxattr */
	[463] = { PW_CH_SETXATTR, 1, 3 },               /* setxattrat */
	[197] = { PW_CH_REMOVEXATTR, 0, 1 },            /* removexattr */
	[198] = { PW_CH_REMOVEXATTR, 0, 1 },            /* lremovexattr */
	[199] = { PW_CH_REMOVEXATTR, PW_NO_ARG, 1 },    /* fremovexattr */
	[466] = { PW_CH_REMOVEXATTR, 1, 3 },            /* removexattrat */
};

/* Argument i (0-3) of the native system call whose registers r holds. */
static __always_inline __u64 native_arg(struct pt_regs *r, __u32 i)
{
	if (i == 0)
		return r->di;
	if (i == 1)
		return r->si;
	if (i == 2)
		return r->dx;
	if (i == 3)
		return r->r10;
	return 0;
}

/* The change made by the native system call the calling task is in (its
 * registers into *regs), or NULL: none of the table's, a fallocate that
 * only allocates, a kernel or io_uring thread, a 32-bit call. */
static __always_inline const struct change_call *native_change(struct pt_regs **regs)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct change_call *c;
	__u64 nr;

	if ((t->flags & (PW_PF_KTHREAD | PW_PF_IO_WORKER)) || in_compat_syscall_now())
		return NULL;
	*regs = (struct pt_regs *)bpf_task_pt_regs(t);
	nr = (*regs)->orig_ax;
	if (nr >= PW_NATIVE_CHANGE_NR)
		return NULL;
	c = &native_changes[nr];
	if (!c->op || (c->op == PW_CH_FALLOCATE && !pw_falloc_changes((__u32)(*regs)->si)))
		return NULL;
	return c;
}

/* The pending change of native call c (registers r), made at its first
 * protected inode. */
static __always_inline struct change_pending *native_change_start(const struct change_call *c,
								   struct pt_regs *r)
{
	if (c->op == PW_CH_FALLOCATE)
		return fallocate_enter((__u32)r->si, (__s64)r->dx, (__s64)r->r10);
	return change_enter(c->op, c->path == PW_NO_ARG ? NULL : (const char *)native_arg(r, c->path),
			    c->path2 == PW_NO_ARG ? NULL : (const char *)native_arg(r, c->path2),
			    NULL);
}

/* A protected file renamed or linked elsewhere (as p) stays protected
 * there: its inode joins the map.  Harmless if the change then fails. */
static __always_inline void protect_moved(struct change_pending *p)
{
	struct pw_inode_key key;

	if (p->hit != 2 || (p->ev.op != PW_CH_RENAME && p->ev.op != PW_CH_LINK) ||
	    (p->ev.flags & PW_OPEN_SELF))
		return;
	key.dev = p->ev.dev;
	key.ino = p->ev.ino;
	protect_added(&key, p->ev.dataset_id, p->ev.prot_flags);
}

/* An inode's ctime changed: part of a pending change of this thread? */
static __always_inline int change_inode(struct inode *inode)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), level = 0;
	struct pw_inode_key root = {};
	struct pw_protected_val *val;
	__u64 dentries[PW_WALK_DEPTH] = {};
	const struct change_call *call = NULL;
	struct pt_regs *regs = NULL;
	struct change_pending *p;
	struct dentry *d;
	bool is_dir, unplaced = false;

	p = bpf_map_lookup_elem(&change_pending, &tid);
	/* One whose exit was missed (the exit hooks detached first) is not
	 * this call's. */
	if (p && p->nr != call_regs()->orig_ax) {
		bpf_map_delete_elem(&change_pending, &tid);
		p = NULL;
	}
	if (!p)
		p = uring_worker_change();
	if (!p) {
		call = native_change(&regs);
		if (!call || !regs)
			return 0;
	} else if (p->hit == 2) {
		return 0;
	}
	is_dir = (BPF_CORE_READ(inode, i_mode) & PW_S_IFMT) == PW_S_IFDIR;
	if (p && p->hit && is_dir)
		return 0; /* prefer the file itself over its directory */
	d = inode_alias(inode);
	if (!d)
		return 0;
	val = walk_protected(d, NULL, dentries, &level, &root, &unplaced);
	if (!val)
		return 0;
	if (!p)
		p = native_change_start(call, regs);
	if (!p)
		return 0;
	p->hit = is_dir ? 1 : 2;
	p->ev.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	p->ev.ino = BPF_CORE_READ(inode, i_ino);
	p->ev.root_dev = root.dev;
	p->ev.root_ino = root.ino;
	p->ev.dataset_id = val->dataset_id;
	p->ev.prot_flags = val->flags;
	p->ev.depth = level;
	p->ev.flags = 0;
	if (level == 0) {
		p->ev.flags |= PW_OPEN_SELF;
		level = 1;
	}
	fill_names(dentries, level, p->ev.names, &p->ev.flags);
	/* An io_uring request's completion may never be seen (one submitted
	 * with IOSQE_CQE_SKIP_SUCCESS posts none; an overflowed one is traced
	 * without its request): what it moved out is protected at once. */
	if (p->uring)
		protect_moved(p);
	return 0;
}

SEC("tp_btf/ctime_ns_xchg")
int BPF_PROG(handle_ctime_xchg, struct inode *inode, u32 old, u32 new, u32 cur)
{
	return change_inode(inode);
}

SEC("tp_btf/ctime_xchg_skip")
int BPF_PROG(handle_ctime_skip, struct inode *inode, struct timespec64 *ctime)
{
	return change_inode(inode);
}

SEC("tp_btf/inode_set_ctime_to_ts")
int BPF_PROG(handle_ctime_set, struct inode *inode, struct timespec64 *ts)
{
	return change_inode(inode);
}

/* Report the change pending as p, which ended with ret. */
static __always_inline void change_finish(struct change_pending *p, long ret)
{
	struct file *lf;

	if (!p->hit || ret < 0)
		return;
	fill_task(&p->ev.task, PW_EV_CHANGE);
	p->ev.ret = ret;
	if (p->path_ptr)
		bpf_probe_read_user_str(p->ev.path, sizeof(p->ev.path), (void *)p->path_ptr);
	if (p->path2_ptr)
		bpf_probe_read_user_str(p->ev.path2, sizeof(p->ev.path2), (void *)p->path2_ptr);
	emit(&p->ev, sizeof(p->ev));
	protect_moved(p);
	/* An unnamed file linked into a protected place: its open file is
	 * tracked from now on. */
	lf = (struct file *)p->link_file;
	if (lf && p->ev.op == PW_CH_LINK && !lookup_access(lf))
		track_file(lf, -1, BPF_CORE_READ(lf, f_flags), false, PW_OPEN_LINKED, 0,
			   p->hit == 1 ? &p->ev : NULL);
}

static __always_inline int change_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct change_pending *p = bpf_map_lookup_elem(&change_pending, &tid);

	if (!p)
		return 0;
	change_finish(p, ret);
	bpf_map_delete_elem(&change_pending, &tid);
	return 0;
}

/* linkat(olddfd, oldname, newdfd, newname, flags) */
static __always_inline int linkat_enter(int olddfd, const char *oldname, const char *newname,
					__u64 flags)
{
	char name[PW_PROC_FD_LEN] = {};

	/* An unreadable name (a page not faulted in) may be the empty one:
	 * with AT_EMPTY_PATH the descriptor is taken, as before names were
	 * read; the regular-file test still applies. */
	if (bpf_probe_read_user_str(name, sizeof(name), oldname) < 0)
		name[0] = '\0';
	change_enter(PW_CH_LINK, oldname, newname, link_source(olddfd, name, flags));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_linkat")
int handle_enter_linkat(struct trace_event_raw_sys_enter *ctx)
{
	return linkat_enter((int)ctx->args[0], (const char *)ctx->args[1],
			    (const char *)ctx->args[3], ctx->args[4]);
}

/*
 * The exit of every change syscall (PW_CHANGE_EXITS in piiwatch.h): one
 * program, verified once, which user space attaches to each exit.  The
 * verifier takes about half a second over change_exit; twenty copies of
 * it made most of the daemon's start.
 */
SEC("tracepoint")
int handle_exit_change(struct trace_event_raw_sys_exit *ctx)
{
	return change_exit(ctx->ret);
}

/* ---- outbound destinations after protected reads ---- */

/* Whether the current task's login session (or, outside one, its
 * process) has read protected data. */
static __always_inline bool net_tainted(void)
{
	__u32 ses = BPF_CORE_READ(current_task(), sessionid);

	return ses != (__u32)-1 ? bpf_map_lookup_elem(&tainted_sessions, &ses) != NULL
				: is_tainted_task();
}

/*
 * The IPv4 or IPv6 address and port at sa (user memory when user) into
 * ev; false for any other family.  A send (not a connect) to AF_UNSPEC
 * goes to the IPv4 address it carries, as udp_sendmsg takes it.  An
 * address this hook cannot read (a page not faulted in yet: the kernel
 * faults it in and goes on) is reported as unknown, family 0, rather
 * than not at all.
 */
static __always_inline bool fill_dest(struct pw_event_connect *ev, const void *sa, bool user,
				      bool send)
{
	__u16 port = 0;
	long err;

	err = user ? bpf_probe_read_user(&ev->family, sizeof(ev->family), sa)
		   : bpf_probe_read_kernel(&ev->family, sizeof(ev->family), sa);
	if (err) {
		ev->family = 0;
		return true;
	}
	if (send && ev->family == 0)
		ev->family = PW_AF_INET;
	if (ev->family == PW_AF_INET)
		err = user ? bpf_probe_read_user(ev->addr, 4, sa + 4)
			   : bpf_probe_read_kernel(ev->addr, 4, sa + 4);
	else if (ev->family == PW_AF_INET6)
		err = user ? bpf_probe_read_user(ev->addr, 16, sa + 8)
			   : bpf_probe_read_kernel(ev->addr, 16, sa + 8);
	else
		return false;
	err = err ?: user ? bpf_probe_read_user(&port, sizeof(port), sa + 2)
			  : bpf_probe_read_kernel(&port, sizeof(port), sa + 2);
	ev->port = (port >> 8) | (port << 8);
	if (err) {
		ev->family = 0;
		ev->port = 0;
		__builtin_memset(ev->addr, 0, sizeof(ev->addr));
	}
	return true;
}

/* connect(fd, addr, addrlen) */
static __always_inline int connect_enter(const void *addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pw_event_connect ev = {};

	if (!net_tainted() || !fill_dest(&ev, addr, true, false))
		return 0;
	ev.how = PW_NET_CONNECT;
	bpf_map_update_elem(&connect_inflight, &tid, &ev, BPF_ANY);
	return 0;
}

static __always_inline int connect_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pw_event_connect *p = bpf_map_lookup_elem(&connect_inflight, &tid);
	struct pw_event_connect ev;

	if (!p)
		return 0;
	ev = *p;
	bpf_map_delete_elem(&connect_inflight, &tid);
	fill_task(&ev.task, PW_EV_CONNECT);
	ev.ret = ret;
	emit(&ev, sizeof(ev));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return connect_enter((const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return connect_exit(ctx->ret);
}

/*
 * Data sent to an address without a connect (a UDP datagram, TCP Fast
 * Open's sendto) reaches a destination no connect names.  Only a
 * process's first send to each destination is reported: a datagram
 * stream is one destination, not one event a packet.
 */
struct net_dest_key {
	__u64 start_ns;         /* the process's leader's start: pids are reused */
	__u32 tgid;
	__u16 family;
	__u16 port;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct net_dest_key);
	__type(value, __u64); /* when it was last reported */
} sent_to SEC(".maps");

/* A destination a process keeps sending to is reported again after
 * this long: a later, larger read must find a send after it. */
#define PW_SEND_REPEAT_NS (60ULL * 1000000000ULL)

/* Report ev (how, family, addr and port set) as submitted: for a send,
 * once a minute per process and destination. */
static __always_inline void report_dest(struct pw_event_connect *ev)
{
	struct net_dest_key k = {};
	__u64 now = bpf_ktime_get_ns(), *last = NULL;
	bool send = ev->how != PW_NET_CONNECT && ev->how != PW_NET_URING_CONNECT;

	if (send) {
		k.start_ns = bpf_get_current_task_btf()->group_leader->start_boottime;
		k.tgid = bpf_get_current_pid_tgid() >> 32;
		k.family = ev->family;
		k.port = ev->port;
		__builtin_memcpy(k.addr, ev->addr, sizeof(k.addr));
		last = bpf_map_lookup_elem(&sent_to, &k);
		if (last && now - *last < PW_SEND_REPEAT_NS)
			return;
	}
	fill_task(&ev->task, PW_EV_CONNECT);
	ev->ret = -PW_EINPROGRESS;
	/* Remembered only once reported: a record lost to a full ring
	 * must not silence the destination. */
	if (emit(ev, sizeof(*ev)) && send)
		bpf_map_update_elem(&sent_to, &k, &now, BPF_ANY);
}

/* The destination of a struct msghdr in user memory at m, if it names
 * one; compat: of a 32-bit caller's struct compat_msghdr (a 4-byte
 * pointer, then the length). */
static __always_inline void send_msghdr(const void *m, __u32 how, bool compat)
{
	struct pw_event_connect ev = {};
	__u64 name = 0;
	int len = 0;
	long err;

	err = compat ? bpf_probe_read_user(&name, 4, m) ?:
			       bpf_probe_read_user(&len, sizeof(len), m + 4)
		     : bpf_probe_read_user(&name, sizeof(name), m) ?:
			       bpf_probe_read_user(&len, sizeof(len),
						   m + __builtin_offsetof(struct user_msghdr, msg_namelen));
	/* The kernel ignores a name of length 0. */
	if (err || !name || len <= 0 || !fill_dest(&ev, (const void *)name, true, true))
		return;
	ev.how = how;
	report_dest(&ev);
}

/* sendto(fd, buf, len, flags, dest_addr, addrlen) */
static __always_inline int sendto_enter(const void *addr, __u64 addrlen)
{
	struct pw_event_connect ev = {};

	/* send(2) passes no address, and most calls stop at this test. */
	if (!addr || !addrlen || !net_tainted() || !fill_dest(&ev, addr, true, true))
		return 0;
	ev.how = PW_NET_SENDTO;
	report_dest(&ev);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int handle_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return sendto_enter((const void *)ctx->args[4], ctx->args[5]);
}

/* sendmsg(fd, msg, flags) */
static __always_inline int sendmsg_enter(const void *msg, bool compat)
{
	if (net_tainted())
		send_msghdr(msg, PW_NET_SENDMSG, compat);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int handle_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sendmsg_enter((const void *)ctx->args[1], false);
}

#define PW_SENDMMSG_MAX 1024 /* UIO_MAXIOV: the most one sendmmsg sends */
#define PW_COMPAT_MMSGHDR_SIZE 32 /* struct compat_mmsghdr */

struct sendmmsg_walk {
	const void *vec;
	__u32 n;
	bool compat;
};

static long sendmmsg_one(__u32 i, struct sendmmsg_walk *w)
{
	if (i >= w->n)
		return 1;
	send_msghdr(w->vec + (__u64)i * (w->compat ? PW_COMPAT_MMSGHDR_SIZE : sizeof(struct mmsghdr)),
		    PW_NET_SENDMMSG, w->compat);
	return 0;
}

/* sendmmsg(fd, msgvec, vlen, flags) */
static __always_inline int sendmmsg_enter(const void *vec, __u32 n, bool compat)
{
	struct sendmmsg_walk w = { vec, n, compat };

	if (!net_tainted())
		return 0;
	if (w.n > PW_SENDMMSG_MAX)
		w.n = PW_SENDMMSG_MAX;
	bpf_loop(PW_SENDMMSG_MAX, sendmmsg_one, &w, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int handle_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sendmmsg_enter((const void *)ctx->args[1], (__u32)ctx->args[2], false);
}

/* ---- 32-bit system calls ---- */

/*
 * A 32-bit program, or a 64-bit one entering the kernel through int $0x80,
 * makes compat system calls, which the syscalls:* tracepoints leave out
 * (they name native syscall numbers).  The raw sys_enter and sys_exit
 * tracepoints see every call; their programs return at once for native
 * ones (the test of one flag) and tail-call, by the i386 number, the
 * program of the call's kind from tables user space fills (probes.c,
 * compat_calls).  Those read the i386 argument registers (bx, cx, dx,
 * si, di, bp, each 32 bits) and run the code of the native call, where
 * the call's pw_compat_desc says its arguments are.  Raw tracepoints
 * reach a program without building a trace record, which is most of what
 * a syscall tracepoint costs; their programs cannot tail-call the
 * syscalls:* ones (another program type).  The exit side is a tp_btf
 * program (the same tracepoint and dispatch, with BTF), tail-calling
 * tp_btf programs: those may call kfuncs, which the memory calls need
 * (compat_memory_exit); raw_tp programs may not.
 */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PW_COMPAT_NR);
	__type(key, __u32);
	__type(value, __u32);
} compat_enter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PW_COMPAT_NR);
	__type(key, __u32);
	__type(value, __u32);
} compat_exit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_COMPAT_NR);
	__type(key, __u32);
	__type(value, struct pw_compat_desc);
} compat_desc SEC(".maps");

/* sys_enter (raw_tp): args[0] the registers, args[1] the call's number;
 * sys_exit (tp_btf): args[0] the registers, args[1] the result. */
SEC("raw_tp/sys_enter")
int handle_compat_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long id;

	if (!in_compat_syscall_now())
		return 0;
	id = (long)ctx->args[1];
	if (id >= 0 && id < PW_COMPAT_NR)
		bpf_tail_call(ctx, &compat_enter, (__u32)id);
	return 0;
}

SEC("tp_btf/sys_exit")
int handle_compat_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs;
	long id;

	if (!in_compat_syscall_now())
		return 0;
	regs = (struct pt_regs *)ctx->args[0];
	id = BPF_CORE_READ(regs, orig_ax);
	if (id >= 0 && id < PW_COMPAT_NR)
		bpf_tail_call(ctx, &compat_exit, (__u32)id);
	return 0;
}

struct compat_call {
	__u32 a[6];                  /* the arguments, as the i386 ABI passes them */
	struct pw_compat_desc d;     /* where this call has what */
};

/* The arguments and descriptor of the compat call entering at ctx;
 * false for a call no descriptor covers. */
static __always_inline bool compat_args(struct bpf_raw_tracepoint_args *ctx, struct compat_call *c)
{
	struct pt_regs *r = (struct pt_regs *)ctx->args[0];
	__u32 nr = (__u32)ctx->args[1];
	struct pw_compat_desc *d = bpf_map_lookup_elem(&compat_desc, &nr);

	if (!d)
		return false;
	c->d = *d;
	c->a[0] = BPF_CORE_READ(r, bx);
	c->a[1] = BPF_CORE_READ(r, cx);
	c->a[2] = BPF_CORE_READ(r, dx);
	c->a[3] = BPF_CORE_READ(r, si);
	c->a[4] = BPF_CORE_READ(r, di);
	c->a[5] = BPF_CORE_READ(r, bp);
	return true;
}

/* Argument i of c, for i in 0..5; 0 otherwise.  A switch, not an index:
 * no stack read at a variable offset for the verifier to weigh. */
static __always_inline __u32 compat_arg(const struct compat_call *c, int i)
{
	switch (i) {
	case 0:
		return c->a[0];
	case 1:
		return c->a[1];
	case 2:
		return c->a[2];
	case 3:
		return c->a[3];
	case 4:
		return c->a[4];
	case 5:
		return c->a[5];
	}
	return 0;
}

/* The result of the compat call leaving at ctx: eax, sign-extended, as
 * the kernel reads it (a 32-bit tracer's change of eax leaves the upper
 * half of ax zero). */
static __always_inline long compat_ret(struct bpf_raw_tracepoint_args *ctx)
{
	return (long)(int)ctx->args[1];
}

/* The program of each kind, tail-called, never attached (the exits'
 * tp_btf section names their tracepoint, for the verifier). */
SEC("raw_tp")
int compat_io_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	if (c.d.variant == PW_COMPAT_VMSPLICE)
		return vmsplice_enter((int)c.a[0]);
	return io_enter(c.d.a < 0 ? -1 : (int)compat_arg(&c, c.d.a),
			c.d.b < 0 ? -1 : (int)compat_arg(&c, c.d.b), true);
}

SEC("tp_btf/sys_exit")
int compat_io_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return io_exit(compat_ret(ctx));
}

/* ioctl: the reflinks' arguments are the same for 32-bit callers. */
SEC("raw_tp")
int compat_ioctl_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	if (c.a[1] == PW_LOOP_SET_FD || c.a[1] == PW_LOOP_CONFIGURE)
		return loop_enter((int)c.a[0], c.a[1], c.a[2]);
	return clone_enter((int)c.a[0], c.a[1], c.a[2]);
}

SEC("tp_btf/sys_exit")
int compat_ioctl_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return clone_exit(compat_ret(ctx));
}

SEC("tp_btf/sys_exit")
int compat_open_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_open_fd(compat_ret(ctx), 0, 0);
}

SEC("raw_tp")
int compat_close_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return release_fd((int)c.a[0]);
}

/* dup2 and dup3 */
SEC("raw_tp")
int compat_dup_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return dup_over((int)c.a[0], (int)c.a[1]);
}

SEC("raw_tp")
int compat_close_range_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return close_range_enter(c.a[0], c.a[1], c.a[2]);
}

/* mmap2(addr, length, prot, flags, fd, pgoff), and old_mmap(args): the
 * same six, 32 bits each, in user memory, the offset in bytes. */
SEC("raw_tp")
int compat_mmap_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;
	__u32 m[6];

	if (!compat_args(ctx, &c))
		return 0;
	if (c.d.variant == PW_COMPAT_OLD_MMAP) {
		if (bpf_probe_read_user(m, sizeof(m), (const void *)(__u64)c.a[0]))
			return 0;
		return mmap_enter(m[1], m[2], m[3], (int)m[4], m[5]);
	}
	return mmap_enter(c.a[1], c.a[2], c.a[3], (int)c.a[4], (__u64)c.a[5] << 12);
}

SEC("raw_tp")
int compat_change_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	if (c.d.op == PW_CH_FALLOCATE) /* fd, mode, then the offset and length in halves */
		fallocate_enter(c.a[1], (__s64)((__u64)c.a[3] << 32 | c.a[2]),
				(__s64)((__u64)c.a[5] << 32 | c.a[4]));
	else
		change_enter(c.d.op, c.d.a < 0 ? NULL : (const char *)(__u64)compat_arg(&c, c.d.a),
			     c.d.b < 0 ? NULL : (const char *)(__u64)compat_arg(&c, c.d.b), NULL);
	return 0;
}

SEC("raw_tp")
int compat_linkat_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return linkat_enter((int)c.a[0], (const char *)(__u64)c.a[1], (const char *)(__u64)c.a[3],
			    c.a[4]);
}

SEC("tp_btf/sys_exit")
int compat_change_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return change_exit(compat_ret(ctx));
}

/* execve and execveat: their arguments do not matter here. */
SEC("raw_tp")
int compat_exec_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return exec_enter();
}

SEC("tp_btf/sys_exit")
int compat_exec_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return exec_exit(compat_ret(ctx));
}

SEC("raw_tp")
int compat_io_submit_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return aio_enter(c.a[1], c.a[2], true);
}

SEC("tp_btf/sys_exit")
int compat_io_submit_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return aio_exit(compat_ret(ctx));
}

/* The socket calls, made one by one or through socketcall(call, args),
 * whose args point to the call's arguments, 32 bits each. */
#define PW_SYS_CONNECT 3
#define PW_SYS_SENDTO 11
#define PW_SYS_SENDMSG 16
#define PW_SYS_SENDMMSG 20

static __always_inline int compat_net(__u32 call, const __u32 *a)
{
	switch (call) {
	case PW_SYS_CONNECT:
		return connect_enter((const void *)(__u64)a[1]);
	case PW_SYS_SENDTO:
		return sendto_enter((const void *)(__u64)a[4], a[5]);
	case PW_SYS_SENDMSG:
		return sendmsg_enter((const void *)(__u64)a[1], true);
	case PW_SYS_SENDMMSG:
		return sendmmsg_enter((const void *)(__u64)a[1], a[2], true);
	}
	return 0;
}

/* connect, sendto, sendmsg, sendmmsg: the descriptor's variant is the
 * socketcall number of the call. */
SEC("raw_tp")
int compat_net_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;

	if (!compat_args(ctx, &c))
		return 0;
	return compat_net(c.d.variant, c.a);
}

SEC("raw_tp")
int compat_socketcall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct compat_call c;
	__u32 a[6] = {};
	long err;

	if (!compat_args(ctx, &c))
		return 0;
	/* As many words as the kernel reads for the call, no more: a block
	 * at the end of a mapping must not make this read fail where the
	 * kernel's succeeds. */
	switch (c.a[0]) {
	case PW_SYS_CONNECT:
	case PW_SYS_SENDMSG:
		err = bpf_probe_read_user(a, 3 * 4, (const void *)(__u64)c.a[1]);
		break;
	case PW_SYS_SENDMMSG:
		err = bpf_probe_read_user(a, 4 * 4, (const void *)(__u64)c.a[1]);
		break;
	case PW_SYS_SENDTO:
		err = bpf_probe_read_user(a, 6 * 4, (const void *)(__u64)c.a[1]);
		break;
	default:
		return 0;
	}
	if (err)
		return 0;
	return compat_net(c.a[0], a);
}

/* connect, and socketcall: a connect's pending record, if any. */
SEC("tp_btf/sys_exit")
int compat_net_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return connect_exit(compat_ret(ctx));
}

/* process_vm_readv, process_vm_writev and ptrace, as the native ones
 * (their descriptor's variant says which); the first arguments are the
 * other process's id, or ptrace's request and then the id. */
SEC("tp_btf/sys_exit")
int compat_memory_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *r = (struct pt_regs *)ctx->args[0];
	long ret = compat_ret(ctx);
	struct pw_compat_desc *d;
	__u32 nr;

	if (ret < 0 || !n_tainted)
		return 0;
	nr = (__u32)BPF_CORE_READ(r, orig_ax);
	d = bpf_map_lookup_elem(&compat_desc, &nr);
	if (!d)
		return 0;
	switch (d->variant) {
	case PW_COMPAT_VM_READ:
		if (ret > 0)
			memory_taken((__s32)BPF_CORE_READ(r, bx));
		break;
	case PW_COMPAT_VM_WRITE:
		if (ret > 0)
			memory_given((__s32)BPF_CORE_READ(r, bx));
		break;
	case PW_COMPAT_PTRACE:
		ptrace_memory((__u32)BPF_CORE_READ(r, bx), (__s32)BPF_CORE_READ(r, cx));
		break;
	}
	return 0;
}

/* ---- io_uring ---- */

/* Whether open request r put its file in a fixed-file slot: it then
 * completes with 0 or the slot's index, not a descriptor, and resolving
 * that as one would end and re-attribute whatever file the process holds
 * there.  The request's data overlays the start of the io_kiocb. */
static __always_inline bool uring_open_direct(struct io_kiocb *r)
{
	struct io_open *o;

	if (!bpf_core_type_exists(struct io_open) || !bpf_core_field_exists(struct io_open, file_slot))
		return false;
	o = uring_cmd(r);
	return BPF_CORE_READ(o, file_slot) != 0;
}

#define PW_IORING_FILE_INDEX_ALLOC 0xffffffffu
#define PW_FFS_MASK (~3UL) /* a fixed file's pointer carries two flag bits */
#define PW_SPLICE_F_FD_IN_FIXED (1u << 31)

/* The file in fixed-file slot slot of r's ring, or NULL.  Read from the
 * ring's table where it is one of resource nodes (6.13 on); on older
 * kernels NULL. */
static __always_inline struct file *uring_slot_file(struct io_kiocb *r, __u32 slot)
{
	struct io_rsrc_node *node = NULL, **nodes;

	if (!bpf_core_field_exists(struct io_file_table, data) ||
	    !bpf_core_type_exists(struct io_rsrc_node) ||
	    !bpf_core_field_exists(struct io_rsrc_node, file_ptr))
		return NULL;
	if (slot >= BPF_CORE_READ(r, ctx, file_table.data.nr))
		return NULL;
	nodes = BPF_CORE_READ(r, ctx, file_table.data.nodes);
	if (!nodes || bpf_probe_read_kernel(&node, sizeof(node), &nodes[slot]) || !node)
		return NULL;
	return (struct file *)(BPF_CORE_READ(node, file_ptr) & PW_FFS_MASK);
}

/* The file a direct open (res: its result) just put in its fixed-file
 * slot, or NULL: the slot is the request's file_slot - 1, or the result
 * when the kernel chose it.  Where NULL, the file is checked at its first
 * I/O instead. */
static __always_inline struct file *uring_direct_file(struct io_kiocb *r, __s32 res)
{
	__u32 slot;

	if (res < 0 || !bpf_core_type_exists(struct io_open))
		return NULL;
	slot = BPF_CORE_READ((struct io_open *)uring_cmd(r), file_slot);
	return uring_slot_file(r, slot == PW_IORING_FILE_INDEX_ALLOC ? (__u32)res : slot - 1);
}

/*
 * io_uring READ_MULTISHOT requests (6.7 on) on a pipe, by ring and
 * user_data: the kernel traces their completions but the last without
 * the request, so the pipe each read is noted at submission, by its
 * descriptor or its fixed-file slot.
 */
struct mshot_key {
	__u64 ring;
	__u64 user_data;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mshot_key);
	__type(value, __u64);
} uring_mshot SEC(".maps");

static __always_inline bool uring_is_mshot_read(__u8 op)
{
	return bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_READ_MULTISHOT) &&
	       op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_MULTISHOT);
}

#define PW_REQ_F_FIXED_FILE 0x1ull /* IOSQE_FIXED_FILE, the first of the request's flags */

/* At the submission of req, a READ_MULTISHOT: the pipe it reads, if any.
 * Its file is not assigned yet: the sqe's fd is a descriptor, or with
 * IOSQE_FIXED_FILE a slot of the ring's table. */
static __always_inline void uring_mshot_note(struct io_kiocb *req)
{
	struct mshot_key k = { (__u64)BPF_CORE_READ(req, ctx), BPF_CORE_READ(req, cqe.user_data) };
	__s32 fd = BPF_CORE_READ(req, cqe.fd);
	struct file *f = BPF_CORE_READ(req, flags) & PW_REQ_F_FIXED_FILE ? uring_slot_file(req, fd)
									  : fd_to_file(fd);
	__u64 v = (__u64)f;

	if (f && is_pipe(f))
		bpf_map_update_elem(&uring_mshot, &k, &v, BPF_ANY);
}

/*
 * Requests submitted through io_uring never pass the syscall tracepoints.
 * Their completion carries the request (opcode, file) and the result, so
 * reads, writes and opens are counted here, in tracepoint mode too.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_uring_complete, void *ring, void *req, struct io_uring_cqe *cqe)
{
	struct io_kiocb *r = req;
	struct access_state *st;
	struct file *f;
	__u8 op = BPF_CORE_READ(r, opcode);
	__s32 res = BPF_CORE_READ(cqe, res), fd = -1;
	bool is_read = false, is_write = false;
	__u64 rkey = (__u64)r;
	struct change_pending *ch;

	/* A completion with no request (a multishot one's before its last):
	 * handle_uring_mshot's. */
	if (!r)
		return 0;
	if (uring_change_op(r)) {
		ch = bpf_map_lookup_elem(&uring_change, &rkey);
		if (ch) {
			change_finish(ch, res);
			bpf_map_delete_elem(&uring_change, &rkey);
		}
		return 0;
	}
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT2)) {
		if (!uring_open_direct(r))
			return handle_open_fd(res, PW_OPEN_URING, PW_IO_URING);
		/* Into a fixed-file slot: no descriptor names the file. */
		f = uring_direct_file(r, res);
		if (f && n_tainted)
			proc_mem_opened(f);
	} else if (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_FIXED_FD_INSTALL) &&
		   op == bpf_core_enum_value(enum io_uring_op, IORING_OP_FIXED_FD_INSTALL)) {
		/* A slot's file given a descriptor: the same open file, now
		 * also reachable by read(2) and mmap(2). */
		fd = res;
		f = res >= 0 ? BPF_CORE_READ(r, file) : NULL; /* the slot's file, held */
	} else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SPLICE) ||
		   op == bpf_core_enum_value(enum io_uring_op, IORING_OP_TEE)) {
		/* From a file into a pipe (or the reverse), or a pipe's
		 * contents copied into another (TEE): the request's file is
		 * the output; the input is named by descriptor or fixed
		 * slot, resolved again here. */
		struct io_splice *sp = uring_cmd(r);
		__s32 in = BPF_CORE_READ(sp, splice_fd_in);

		if (res <= 0)
			return 0;
		if (!(BPF_CORE_READ(sp, flags) & PW_SPLICE_F_FD_IN_FIXED))
			f = fd_to_file(in);
		else if (bpf_core_field_exists(sp->rsrc_node))
			/* The slot's node, which the request holds to its end. */
			f = (struct file *)(BPF_CORE_READ(sp, rsrc_node, file_ptr) & PW_FFS_MASK);
		else
			f = uring_slot_file(r, in);
		st = lookup_access(f);
		if (st) {
			st->flags |= PW_IO_URING;
			account(st, res, true);
		} else {
			/* Out of a pipe: its output is staging below if
			 * that marks the process. */
			pipe_taken(f, res);
		}
		/* The output is written to, as by IORING_OP_WRITE. */
		is_write = true;
		f = BPF_CORE_READ(r, file);
	} else {
		is_read = op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ) ||
			  op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV) ||
			  op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_FIXED) ||
			  (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_READV_FIXED) &&
			   op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV_FIXED));
		is_write = op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE) ||
			   op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV) ||
			   op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE_FIXED) ||
			   (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_WRITEV_FIXED) &&
			    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV_FIXED));
		if (res <= 0 || (!is_read && !is_write))
			return 0;
		f = BPF_CORE_READ(r, file);
	}
	st = lookup_access(f);
	/* An entry under f is then of another inode. */
	if (!st && f)
		end_reused(f);
	/* A file no open of ours saw (a fixed-file slot's, where its open
	 * could not be resolved) is checked at its first I/O or install
	 * instead: the access starts there, with every byte from then on. */
	if (!st && f && file_type(f) == PW_S_IFREG &&
	    !(BPF_CORE_READ(f, f_flags) & PW_O_PATH)) /* O_PATH reads nothing */
		st = track_file(f, fd, BPF_CORE_READ(f, f_flags), false, PW_OPEN_URING, PW_IO_URING,
				NULL);
	/* A write after protected reads into a file that is not protected:
	 * staging, as by write(2); into a pipe, the pipe is marked.  A read
	 * out of a marked pipe may mark the reader, as read(2)'s does. */
	if (!st && f && is_write && is_tainted_task())
		st = stage_write(f, -1);
	else if (!st && f && is_read)
		pipe_taken(f, res);
	if (!st || (!is_read && !is_write))
		return 0;
	st->flags |= PW_IO_URING;
	account(st, res, is_read);
	return 0;
}

/*
 * The completions of READ_MULTISHOT requests, on the same tracepoint: a
 * program of its own, since in handle_uring_complete these few lines cost
 * the verifier (and the daemon's start) over two seconds here.  Each
 * completion but the last comes with no request, and names its pipe only
 * by ring and user_data (uring_mshot); the last has the request and ends
 * the entry.  Bytes taken out of a marked pipe mark the reader, as a
 * read's do.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_uring_mshot, void *ring, void *req, struct io_uring_cqe *cqe)
{
	struct mshot_key k = { (__u64)ring, BPF_CORE_READ(cqe, user_data) };
	struct io_kiocb *r = req;
	__s32 res = BPF_CORE_READ(cqe, res);
	__u64 *pipe;

	if (r && !uring_is_mshot_read(BPF_CORE_READ(r, opcode)))
		return 0;
	pipe = bpf_map_lookup_elem(&uring_mshot, &k);
	if (!pipe)
		return 0;
	if (res > 0)
		pipe_taken((struct file *)*pipe, res);
	if (r)
		bpf_map_delete_elem(&uring_mshot, &k);
	return 0;
}

/*
 * io_uring CONNECT, SEND and SENDMSG (and their zero-copy forms) pass no
 * syscall: their destination is read at submission, reported then (a
 * request can ask for no completion).  A send's is read from the kernel's
 * copy its preparation just made (6.10 on; before, the copy is made only
 * when the request goes async), or else, for SENDMSG, from the
 * submitter's memory.  A connect's is read from the submitter's memory,
 * as connect(2)'s is: where the kernel keeps its copy has changed within
 * stable releases (a message header, then a bare sockaddr_storage).
 */
static __always_inline void uring_net_submit(struct io_kiocb *req)
{
	__u8 op = BPF_CORE_READ(req, opcode);
	struct pw_event_connect ev = {};
	struct io_async_msghdr *km;
	__u32 how;

	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_CONNECT))
		how = PW_NET_URING_CONNECT;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SEND) ||
		 (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_SEND_ZC) &&
		  op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SEND_ZC)))
		how = PW_NET_URING_SEND;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SENDMSG) ||
		 (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_SENDMSG_ZC) &&
		  op == bpf_core_enum_value(enum io_uring_op, IORING_OP_SENDMSG_ZC)))
		how = PW_NET_URING_SENDMSG;
	else
		return;
	if (!net_tainted())
		return;
	ev.how = how;
	km = BPF_CORE_READ(req, async_data);
	if (how == PW_NET_URING_CONNECT) {
		if (fill_dest(&ev, BPF_CORE_READ((struct io_connect *)uring_cmd(req), addr), true, false))
			report_dest(&ev);
	} else if (km && bpf_core_field_exists(km->addr)) {
		/* The copy: msg_name points at it when a send names one.
		 * (No type-existence test tells kernels apart here: one for a
		 * type this kernel lacks makes libbpf search the modules' BTF,
		 * which the daemon's unit may not list.) */
		if (!BPF_CORE_READ(km, msg.msg_name))
			return;
		if (fill_dest(&ev, &km->addr, false, true))
			report_dest(&ev);
	} else if (how == PW_NET_URING_SENDMSG) {
		struct io_ring_ctx *rctx = BPF_CORE_READ(req, ctx);

		/* A ring a 32-bit process set up takes its messages in the
		 * 32-bit layout. */
		send_msghdr(BPF_CORE_READ((struct io_sr_msg *)uring_cmd(req), umsg),
			    PW_NET_URING_SENDMSG, BPF_CORE_READ_BITFIELD_PROBED(rctx, compat));
	}
}

/* What io_uring can still hide (fixed-file opens, ops not decoded above)
 * is reported as use of io_uring by a process that has read protected
 * data, once per process. */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(handle_uring_submit, struct io_kiocb *req)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pw_event_uring ev = {};
	struct taint *t;
	__u64 rkey = (__u64)req;

	/* A change request in a recycled io_kiocb must not find the pending
	 * change of one whose completion was never seen. */
	if (uring_change_op(req))
		bpf_map_delete_elem(&uring_change, &rkey);
	if (uring_is_mshot_read(BPF_CORE_READ(req, opcode)))
		uring_mshot_note(req);
	uring_net_submit(req);
	t = bpf_map_lookup_elem(&tainted_tasks, &tgid);
	if (!t || t->uring_reported)
		return 0;
	t->uring_reported = 1;
	fill_task(&ev.task, PW_EV_URING);
	ev.opcode = BPF_CORE_READ(req, opcode);
	emit(&ev, sizeof(ev));
	return 0;
}

/* ---- run by the daemon ---- */

/*
 * Whether the open file at key, tracked as st, has been released: no
 * reference is left (struct file memory stays a struct file while it is
 * free, so reading it is safe), or the memory now holds a file of another
 * inode.
 */
static __always_inline bool file_released(__u64 key, const struct access_state *st)
{
	struct file *f = (struct file *)key;

	if (bpf_core_field_exists(f->f_ref)) {
		/* file_ref_t: references minus one, and from
		 * FILE_REF_RELEASED (0xc000...) up, none. */
		if ((__u64)BPF_CORE_READ(f, f_ref.refcnt.counter) >= 0xc000000000000000ULL)
			return true;
	} else if (BPF_CORE_READ((struct file___old *)f, f_count.counter) == 0) {
		return true;
	}
	return (__u64)BPF_CORE_READ(f, f_inode) != st->inode_ptr;
}

static long flush_idle_one(struct bpf_map *map, __u64 *key, struct access_state *st, void *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	/* Released where no hook saw it: its last reference dropped by a
	 * read or write still in flight in another thread when it was
	 * closed, or a close by io_uring.  It ends here, at the latest. */
	if (file_released(*key, st)) {
		finish_access(*key, st, PW_IO_REUSED, false);
		return 0;
	}
	if (!st->reads && !st->writes)
		return 0;
	if (now - st->last_emit_ns < delta_interval_ns)
		return 0;
	st->last_emit_ns = now;
	emit_io(st, st->access_id, PW_IO_IDLE, false);
	return 0;
}

/* Counts of accesses that went quiet are reported on the daemon's timer,
 * so that a burst followed by silence is not held back until close. */
SEC("syscall")
int flush_idle(void *ctx)
{
	bpf_for_each_map_elem(&open_files, flush_idle_one, NULL, 0);
	return 0;
}

/* User space sets the filter bit of each inode it is about to protect
 * here, with the kernel side's atomic OR. */
SEC("syscall")
int filter_add(struct pw_inode_key *key)
{
	struct pw_inode_key k = { .dev = key->dev, .ino = key->ino };

	return filter_set(&k);
}

/* ---- trampoline mode (where the kernel allows BPF LSM) ---- */

/* Sees every open, io_uring and in-kernel ones included; replaces the open
 * syscall tracepoints when it loads. */
SEC("lsm/file_open")
int BPF_PROG(handle_lsm_file_open, struct file *file)
{
	__u32 oflags;

	oflags = BPF_CORE_READ(file, f_flags);
	if ((oflags & PW_O_PATH) || file_type(file) == PW_S_IFDIR)
		return 0;
	if (n_tainted)
		proc_mem_opened(file);
	track_file(file, -1, oflags, false, 0, 0, NULL);
	return 0;
}
