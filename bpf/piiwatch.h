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
#define PW_NAME_SLOTS 8      /* components kept below the protected root */
#define PW_WALK_DEPTH 16     /* ancestors checked against the policy */
#define PW_EXEC_PATH_LEN 256
#define PW_EXEC_ARGS_LEN 512

enum pw_event_type {
	PW_EV_OPEN = 1,    /* a protected file was opened */
	PW_EV_IO = 2,      /* byte counters of one access: delta or final */
	PW_EV_EXEC = 3,    /* a process executed a program */
};

/* Flags of struct pw_protected_val. */
#define PW_PROT_HONEYTOKEN 0x1u

/* Flags of struct pw_event_io. */
#define PW_IO_FINAL 0x1u     /* the open file was released: no more counts */
#define PW_IO_EXIT 0x2u      /* ... because its last holder exited */
#define PW_IO_REUSED 0x4u    /* ... detected late, when its slot was reused */

/* Flags of struct pw_event_open. */
#define PW_OPEN_NAME_TRUNC 0x1u  /* a component was longer than PW_NAME_LEN-1 */
#define PW_OPEN_DEEP 0x2u        /* more components than PW_NAME_SLOTS */
#define PW_OPEN_SELF 0x4u        /* the file itself is named in the policy */

/* Indexes of the per-CPU statistics array. */
enum pw_stat {
	PW_STAT_RB_FULL = 0,     /* events lost: ring buffer reservation failed */
	PW_STAT_MAP_FULL = 1,    /* accesses not tracked: open_files map full */
	PW_STAT_SUBMITTED = 2,   /* events submitted to the ring buffer */
	PW_STAT_MAX = 3,
};

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

/* Identity of the task that caused an event. */
struct pw_task_id {
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	__u64 start_ns;         /* thread group leader's start, to tell reused pids apart */
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
	/* names[0] is the file, names[i] its i-th ancestor below the root */
	char names[PW_NAME_SLOTS][PW_NAME_LEN];
};

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

#endif /* PIIWATCH_H */
