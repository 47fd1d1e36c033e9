/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared by the kernel side (piiwatch.bpf.c) and user space.
 *
 * No system headers: the BPF side includes vmlinux.h, user space includes
 * <linux/types.h> first.  Fields are ordered widest first so that no
 * structure carries padding whose content would differ between the sides.
 */
#ifndef PIIWATCH_H
#define PIIWATCH_H

#define PW_COMM_LEN 16
#define PW_NAME_LEN 64       /* one path component, NUL included */
#define PW_NAME_SLOTS 12     /* components kept below the protected root */
#define PW_WALK_DEPTH 16     /* ancestors checked against the policy */
#define PW_EXEC_PATH_LEN 256
#define PW_EXEC_ARGS_LEN 512

#define PW_USER_PATH_LEN 256

enum pw_event_type {
	PW_EV_OPEN = 1,    /* a protected file was opened (or a staging file written) */
	PW_EV_IO = 2,      /* byte counters of one access: delta or final */
	PW_EV_EXEC = 3,    /* a process executed a program */
	PW_EV_MMAP = 4,    /* a protected file was mapped: bytes cannot be counted */
	PW_EV_CHANGE = 5,  /* a protected file or directory was renamed, removed, ... */
	PW_EV_CONNECT = 6, /* outbound connect() after protected data was read */
	PW_EV_URING = 7,   /* io_uring used by a process holding protected data */
	PW_EV_COREDUMP = 8,/* a process that had read protected data dumped core */
};

/*
 * Syscalls whose entries or exits run the same code share one program,
 * which user space attaches to every "sys_enter_NAME" or "sys_exit_NAME"
 * of its list this kernel has (userspace/shared_progs.h; bench_empty
 * attaches its empty twins to the same), so that the verifier sees that
 * code once and not once per syscall:
 * handle_exit_open on the opens' exits (in tracepoint mode only),
 * handle_exit_change on the changes' exits, handle_exit_read on the plain
 * reads' exits, handle_exit_rw on the exits of the other reads and of the
 * writes, sendfile, splice, copy_file_range, tee and vmsplice;
 * handle_enter_read, handle_enter_pread, handle_enter_write and
 * handle_enter_splice on the entries.  The entries of sendfile, tee,
 * vmsplice and linkat have programs of their own; the other changes have
 * none (the ctime hooks find them, bpf/piiwatch.bpf.c native_changes).
 * PW_OPEN_EXITS(PW_SYS_EXIT_NAME) makes the list's tracepoint names.
 */
#define PW_SYS_EXIT_NAME(name) "sys_exit_" #name,
#define PW_SYS_ENTER_NAME(name) "sys_enter_" #name,
#define PW_WRITE_ENTERS(X) X(write) X(pwrite64) X(writev) X(pwritev) X(pwritev2)
/* The reads a pipe can feed, and those it refuses (ESPIPE). */
#define PW_READ_ENTERS(X) X(read) X(readv) X(preadv2)
#define PW_PREAD_ENTERS(X) X(pread64) X(preadv)
#define PW_READ_EXITS(X) PW_READ_ENTERS(X)
/* Both descriptors are arguments 0 and 2. */
#define PW_SPLICE_ENTERS(X) X(splice) X(copy_file_range)
#define PW_RW_EXITS(X)                                                        \
	PW_PREAD_ENTERS(X) PW_WRITE_ENTERS(X) X(sendfile64) PW_SPLICE_ENTERS(X) \
	X(tee) X(vmsplice)
#define PW_OPEN_EXITS(X) X(open) X(openat) X(openat2) X(creat) X(open_by_handle_at)
#define PW_CHANGE_EXITS(X)                                                    \
	X(unlink) X(unlinkat) X(rmdir) X(rename) X(renameat) X(renameat2)     \
	X(link) X(linkat) X(symlink) X(symlinkat) X(truncate) X(ftruncate)    \
	X(chmod) X(fchmod) X(fchmodat) X(fchmodat2) X(chown) X(lchown)        \
	X(fchown) X(fchownat) X(fallocate) X(setxattr) X(lsetxattr)          \
	X(fsetxattr) X(setxattrat) X(removexattr) X(lremovexattr)             \
	X(fremovexattr) X(removexattrat)

/* Bumped whenever maps or records change shape, or programs are added or
 * change type: a daemon finding pinned objects of another version
 * replaces them instead of reusing them. */
#define PW_ABI_VERSION 13

/* The pinned "meta" map's only value. */
struct pw_meta {
	__u64 loaded_ns;        /* CLOCK_MONOTONIC when the programs were loaded */
	__u32 abi;
	__u32 trampoline;       /* 1: BPF LSM hooks in use */
};

/* Dataset id of accesses that are not to protected data but to files a
 * process wrote after reading protected data (staging). */
#define PW_DATASET_STAGING 0xfffffffeu
/* Dataset id of a file the kernel side could not place: its dentry has no
 * parent to walk up (opened by handle while none of its names was cached).
 * It is tracked and counted like a protected one; the daemon looks for the
 * inode below the policy's directories and drops the access when it is not
 * there (PW_OPEN_UNPLACED). */
#define PW_DATASET_UNPLACED 0xfffffffdu

/* Whether an access of this dataset id is one of protected data (its reads
 * mark the process and its session as having read protected data). */
static inline int pw_dataset_protected(__u32 id)
{
	return id != PW_DATASET_STAGING && id != PW_DATASET_UNPLACED;
}

enum pw_change_op {
	PW_CH_UNLINK = 1,
	PW_CH_RMDIR = 2,
	PW_CH_RENAME = 3,
	PW_CH_LINK = 4,
	PW_CH_SYMLINK = 5,
	PW_CH_TRUNCATE = 6,
	PW_CH_CHMOD = 7,
	PW_CH_CHOWN = 8,
	PW_CH_FALLOCATE = 9,    /* a fallocate(2) mode that removes, zeroes or moves data */
	PW_CH_SETXATTR = 10,    /* an extended attribute set: an ACL, a label, a capability */
	PW_CH_REMOVEXATTR = 11,
};

/* fallocate(2) modes (linux/falloc.h; WRITE_ZEROES is 6.17's).  Only the
 * allocating ones (no mode, KEEP_SIZE, UNSHARE_RANGE) leave every byte
 * where it was: any other mode, unknown ones included, is a change. */
#define PW_FALLOC_KEEP_SIZE 0x01u
#define PW_FALLOC_PUNCH_HOLE 0x02u
#define PW_FALLOC_COLLAPSE_RANGE 0x08u
#define PW_FALLOC_ZERO_RANGE 0x10u
#define PW_FALLOC_INSERT_RANGE 0x20u
#define PW_FALLOC_UNSHARE_RANGE 0x40u
#define PW_FALLOC_WRITE_ZEROES 0x80u
static inline int pw_falloc_changes(__u32 mode)
{
	return (mode & ~(PW_FALLOC_KEEP_SIZE | PW_FALLOC_UNSHARE_RANGE)) != 0;
}

/* Flags of struct pw_protected_val. */
#define PW_PROT_HONEYTOKEN 0x1u
#define PW_PROT_MOVED 0x2u       /* added by the kernel side: renamed or linked out */

/* Flags of struct pw_event_io. */
#define PW_IO_FINAL 0x1u     /* the open file was released: no more counts */
#define PW_IO_EXIT 0x2u      /* ... because its last holder exited */
#define PW_IO_REUSED 0x4u    /* ... detected late, when its slot was reused */
#define PW_IO_EXEC 0x8u      /* ... closed on exec */
#define PW_IO_IDLE 0x10u     /* a periodic flush of an idle access */
#define PW_IO_MMAP 0x20u     /* the file is or was mapped: reads through the map are not counted */
#define PW_IO_URING 0x40u    /* counts include io_uring requests */
#define PW_IO_AIO 0x80u      /* counts include Linux AIO requests, as submitted */
#define PW_IO_CLONE 0x100u   /* counts include blocks shared by a reflink (FICLONE, FICLONERANGE) */
#define PW_IO_OVERLAY 0x200u /* opened through an overlay mount: its layer's file is named */
#define PW_IO_RAW 0x400u     /* a block device a protected file system is on */

/* The reflink ioctls (<linux/fs.h>): _IOW(0x94, 9, int) and
 * _IOW(0x94, 13, struct file_clone_range), the same for 32-bit callers. */
#define PW_FICLONE 0x40049409u
#define PW_FICLONERANGE 0x4020940du
/* A loop device's backing file (<linux/loop.h>): LOOP_SET_FD takes the
 * descriptor as its argument, LOOP_CONFIGURE as the first field of
 * struct loop_config. */
#define PW_LOOP_SET_FD 0x4C00u
#define PW_LOOP_CONFIGURE 0x4C0Au

/* Flags of struct pw_event_open. */
#define PW_OPEN_NAME_TRUNC 0x1u  /* a component was longer than PW_NAME_LEN-1 */
#define PW_OPEN_DEEP 0x2u        /* more components than PW_NAME_SLOTS */
#define PW_OPEN_SELF 0x4u        /* the file itself is named in the policy */
#define PW_OPEN_STAGING 0x8u     /* not protected: written after protected reads; names
				  * are the whole path from "/" */
#define PW_OPEN_URING 0x10u      /* opened through io_uring */
#define PW_OPEN_LINKED 0x20u     /* an unnamed file (O_TMPFILE) linked into a protected place */
#define PW_OPEN_UNPLACED 0x40u   /* a disconnected dentry: user space places it.  With
				  * PW_DATASET_UNPLACED no names, the file its own root;
				  * else protected through its mount, named up to the
				  * mount point */
#define PW_OPEN_OVERLAY 0x80u    /* opened through an overlay mount: dev, ino and names
				  * are its lower layer's file's */

/* Indexes of the per-CPU statistics array. */
enum pw_stat {
	PW_STAT_RB_FULL = 0,     /* events lost: ring buffer reservation failed */
	PW_STAT_MAP_FULL = 1,    /* accesses not tracked: open_files map full */
	PW_STAT_SUBMITTED = 2,   /* access events submitted to the ring buffer */
	PW_STAT_PENDING_FULL = 3,/* changes or execs not followed: scratch map full */
	PW_STAT_EXECS = 4,       /* exec events submitted (context, not access) */
	PW_STAT_MAX = 5,
};

/* The dev of the protected-inode map's keys of raw block devices, whose
 * ino is the device's number (kernel encoding): the devices a protected
 * file system is read from, which user space finds in sysfs.  No real
 * device number is this large. */
#define PW_DEV_RAW 0xfffffffffffffffeULL

/* Key of the protected inode map.  dev uses the kernel's encoding
 * (major << 20 | minor); user space converts st_dev with pw_dev_to_kernel(). */
struct pw_inode_key {
	__u64 dev;
	__u64 ino;
};

struct pw_protected_val {
	__u32 dataset_id;
	__u32 flags;
};

/*
 * A filter in front of protected_inodes: one bit per (dev, ino) hash, set
 * before the entry is added and never cleared, so that a clear bit proves
 * the inode is not in the map and an open's ancestor walk costs a load per
 * level instead of a hash lookup.  The map "protected_filter" holds
 * PW_FILTER_WORDS words.  Bits are only ever set with an atomic OR in the
 * kernel: by the kernel side for the inodes it adds (a protected file
 * renamed or linked out), and for user space by the program filter_add,
 * run with a struct pw_inode_key as its context; a read-modify-write from
 * user space could undo a bit the kernel side set meanwhile.
 */
#define PW_FILTER_BITS_LOG2 16
#define PW_FILTER_WORDS (1u << (PW_FILTER_BITS_LOG2 - 6))

static inline __u32 pw_filter_bit(__u64 dev, __u64 ino)
{
	/* Fibonacci hashing: the top bits of the product mix every bit of
	 * the inode number, and the device's. */
	return (__u32)(((ino + dev * 0xff51afd7ed558ccdULL) * 0x9e3779b97f4a7c15ULL) >>
		       (64 - PW_FILTER_BITS_LOG2));
}

/* Identity of the task that caused an event. */
struct pw_task_id {
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	/* The thread group leader's start_boottime, to tell reused pids
	 * apart: /proc/PID/stat has it as starttime (field 22, in clock
	 * ticks), so a process found there can be checked against it. */
	__u64 start_ns;
	__u64 pstart_ns;        /* the same of the parent, ppid */
	__u32 tgid;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 loginuid;         /* (u32)-1: no login session */
	__u32 sessionid;        /* (u32)-1: no audit session */
	__u32 type;             /* enum pw_event_type */
	char comm[PW_COMM_LEN];
};

struct pw_event_open {
	struct pw_task_id task;
	__u64 access_id;
	__u64 dev;              /* the opened file */
	__u64 ino;
	__u64 root_dev;         /* the policy entry that matched: the file or an ancestor */
	__u64 root_ino;
	__u32 dataset_id;
	__u32 prot_flags;       /* PW_PROT_* of the matched entry */
	__u32 open_flags;       /* O_* as passed to the syscall */
	__u32 flags;            /* PW_OPEN_* */
	__s32 fd;
	__u32 depth;            /* components from the matched root down to the file */
	/* names[0] is the file, names[i] its i-th ancestor below the root.
	 * Only the names in use travel: the record ends after
	 * pw_open_names(depth) of them (pw_open_size()). */
	char names[PW_NAME_SLOTS][PW_NAME_LEN];
};

/* Names an open record carries: one per component below the matched
 * root, at most PW_NAME_SLOTS; none when the policy names the file itself
 * (depth 0, PW_OPEN_SELF), whose path is the policy's. */
static inline __u32 pw_open_names(__u32 depth)
{
	return depth < PW_NAME_SLOTS ? depth : PW_NAME_SLOTS;
}

/* Size of an open record with n names. */
#define pw_open_size(n) (__builtin_offsetof(struct pw_event_open, names) + (n) * PW_NAME_LEN)

struct pw_event_io {
	struct pw_task_id task;
	__u64 access_id;
	__u64 dev;
	__u64 ino;
	__u64 bytes_read;       /* since the previous event of this access */
	__u64 bytes_written;
	__u64 reads;
	__u64 writes;
	__u32 dataset_id;
	__u32 flags;            /* PW_IO_* */
};

struct pw_event_exec {
	struct pw_task_id task;
	__u32 path_len;
	__u32 args_len;         /* bytes of NUL-separated argv copied */
	char path[PW_EXEC_PATH_LEN];
	char args[PW_EXEC_ARGS_LEN];
};

struct pw_event_mmap {
	struct pw_task_id task;
	__u64 access_id;
	__u64 dev;
	__u64 ino;
	__u64 length;
	__u64 offset;
	__u32 prot;
	__u32 map_flags;
	__u32 dataset_id;
	__u32 pad;
};

struct pw_event_change {
	struct pw_task_id task;
	__u64 dev;              /* the protected inode that changed */
	__u64 ino;
	__u64 root_dev;
	__u64 root_ino;
	__s64 ret;              /* the syscall's result */
	__u32 op;               /* enum pw_change_op */
	__u32 dataset_id;
	__u32 prot_flags;
	__u32 flags;            /* PW_OPEN_* naming flags */
	__u32 depth;
	__u32 mode;             /* PW_CH_FALLOCATE: the fallocate mode; else 0 */
	__s64 offset;           /* PW_CH_FALLOCATE: the range it asked for */
	__s64 len;
	char names[PW_NAME_SLOTS][PW_NAME_LEN];
	char path[PW_USER_PATH_LEN];     /* as passed: the (old) path */
	char path2[PW_USER_PATH_LEN];    /* as passed: the new path (rename, link) */
};

/* How a destination was named (pw_event_connect.how). */
enum pw_net_how {
	PW_NET_CONNECT = 0,        /* connect(2) */
	PW_NET_SENDTO = 1,         /* sendto(2) with an address */
	PW_NET_SENDMSG = 2,        /* sendmsg(2) with msg_name */
	PW_NET_SENDMMSG = 3,       /* sendmmsg(2), one of its messages */
	PW_NET_URING_CONNECT = 4,  /* io_uring CONNECT */
	PW_NET_URING_SEND = 5,     /* io_uring SEND or SEND_ZC with an address */
	PW_NET_URING_SENDMSG = 6,  /* io_uring SENDMSG or SENDMSG_ZC with msg_name */
	PW_NET_HOW_MAX = 7,
};

/* A destination reached after protected data was read: a connect, or
 * the first datagram (or TCP Fast Open) a process sends to an address
 * without connecting.  Sends and io_uring requests are reported as
 * submitted: ret is then -EINPROGRESS. */
struct pw_event_connect {
	struct pw_task_id task;
	__s64 ret;
	__u16 family;           /* AF_INET or AF_INET6 */
	__u16 port;             /* host order */
	__u32 how;              /* enum pw_net_how */
	__u8 addr[16];          /* IPv4 in the first 4 bytes */
};

/*
 * 32-bit (i386) system calls: bpf/piiwatch.bpf.c's compat_* programs
 * each serve a kind of call (reads and writes, changes by path, ...);
 * user space routes each i386 call number it covers to its kind's
 * programs and fills in where that call's arguments are.
 */
#define PW_COMPAT_NR 512
/* A function only a kernel with the 32-bit entry has (CONFIG_IA32_EMULATION),
 * looked for in its BTF: without it, no compat call is ever made. */
#define PW_COMPAT_ENTRY_FUNC "__ia32_sys_read"

enum pw_compat_variant {
	PW_COMPAT_MMAP2 = 0,       /* mmap2: the offset in 4096-byte pages */
	PW_COMPAT_OLD_MMAP = 1,    /* old_mmap: the arguments in a struct */
	PW_COMPAT_VM_READ = 2,     /* compat_memory_exit: process_vm_readv */
	PW_COMPAT_VM_WRITE = 3,    /* process_vm_writev */
	PW_COMPAT_PTRACE = 4,      /* ptrace */
	PW_COMPAT_VMSPLICE = 5,    /* compat_io_enter: vmsplice, its direction the pipe end's */
};

struct pw_compat_desc {
	__s8 a;        /* compat_io_enter: the argument that is the descriptor
			* read from; compat_change_enter: the path's; -1 none */
	__s8 b;        /* the descriptor written to; the second path */
	__u8 op;       /* compat_change_enter: enum pw_change_op */
	__u8 variant;  /* compat_mmap_enter, compat_memory_exit: enum pw_compat_variant;
			* compat_net_enter: the call's socketcall number */
};

struct pw_event_uring {
	struct pw_task_id task;
	__u32 opcode;
	__u32 pad;
};

/* The kernel wrote a core dump of the process (its memory, and the pages
 * of files it mapped if its coredump_filter asks for them): a copy of
 * what it read that no write system call made. */
struct pw_event_coredump {
	struct pw_task_id task;
	__u32 signal;           /* the signal that made it dump */
	__u32 pad;
};

#endif /* PIIWATCH_H */
