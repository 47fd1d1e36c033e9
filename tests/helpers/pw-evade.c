// SPDX-License-Identifier: GPL-2.0
/*
 * pw-evade: read (or otherwise touch) a file in one of the ways an attacker
 * could use to get data out without being seen, so that the evasion tests
 * can check that piiwatch still counts every byte.
 *
 *   pw-evade TECHNIQUE FILE [ARG]
 *
 * "pause FILE PATH" reads the first half of FILE, waits until PATH exists
 * (at most 20 s) and reads the rest through the same descriptor, so that
 * a test can act while an access is open.
 *
 * Prints the number of bytes it moved on standard output.  Most techniques
 * read FILE; open-* open it another way first; the write techniques write
 * ARG bytes into it, the *-into ones the whole of the unprotected file ARG.
 * The clone-* ones share FILE's blocks with the new file ARG by reflink
 * (FICLONE, FICLONERANGE), which reads and writes nothing: FILE and ARG
 * must be on one file system that has them (xfs, btrfs).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHUNK 4096

static void die(const char *what)
{
	fprintf(stderr, "pw-evade: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int open_ro(const char *path, int extra)
{
	int fd = open(path, O_RDONLY | extra);

	if (fd < 0)
		die(path);
	return fd;
}

/* Create (or empty) path for writing. */
static int open_out(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		die(path);
	return fd;
}

static long long file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		die("fstat");
	return st.st_size;
}

static void write_exact(int fd, const void *buf, size_t n)
{
	if (write(fd, buf, n) != (ssize_t)n)
		die("write");
}

/* Read exactly size bytes of fd into buf. */
static void read_into(int fd, char *buf, long long size)
{
	long long got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, (size_t)(size - got));

		if (n <= 0)
			die("read");
		got += n;
	}
}

/* One byte through p, or the end of the other side. */
static void signal_one(int p)
{
	write_exact(p, "g", 1);
}

static void await_one(int p)
{
	char c;

	if (read(p, &c, 1) != 1) {
		errno = EPIPE;
		die("the other process is gone");
	}
}

/* A TCP connect to 127.0.0.1:port.  Refused is fine: the attempt is
 * what must be seen. */
static void connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (s < 0 || (connect(s, (struct sockaddr *)&sa, sizeof(sa)) && errno != ECONNREFUSED))
		die("connect");
	close(s);
}

static long long read_all(int fd)
{
	char buf[CHUNK];
	long long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		die("read");
	return total;
}

static long long pread_all(int fd, off_t from, off_t to)
{
	char buf[CHUNK];
	long long total = 0;

	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, from);

		if (n < 0)
			die("pread");
		if (n == 0)
			break;
		total += n;
		from += n;
	}
	return total;
}

static long long vec_all(int fd, int kind)
{
	char a[1000], b[3000];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	long long total = 0;
	ssize_t n;

	for (;;) {
		if (kind == 0)
			n = readv(fd, iov, 2);
		else if (kind == 1)
			n = preadv(fd, iov, 2, total);
		else
			n = preadv2(fd, iov, 2, total, 0);
		if (n < 0)
			die("readv");
		if (n == 0)
			return total;
		total += n;
	}
}

static void send_fd(int sock, int fd)
{
	char data = 'x';
	struct iovec iov = { &data, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		die("sendmsg");
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { &data, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		die("recvmsg");
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		die("no SCM_RIGHTS");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Read fd whole through io_uring; with IORING_SETUP_SQPOLL the ring's
 * kernel thread (iou-sqp-PID) submits the requests, not this one. */
static long long uring_read(int fd, long long size, unsigned flags)
{
	struct io_uring_params p = { .flags = flags, .sq_thread_idle = 2000 };
	struct io_uring ring;
	char *buf = malloc(CHUNK);
	long long total = 0;

	if (!buf || io_uring_queue_init_params(4, &ring, &p) < 0)
		die("io_uring_queue_init");
	while (total < size) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;

		io_uring_prep_read(sqe, fd, buf, CHUNK, total);
		io_uring_submit(&ring);
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("io_uring_wait_cqe");
		if (cqe->res <= 0) {
			io_uring_cqe_seen(&ring, cqe);
			break;
		}
		total += cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	free(buf);
	return total;
}

static int uring_open(const char *path)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		die("io_uring_queue_init");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	fd = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	if (fd < 0) {
		errno = -fd;
		die("io_uring openat");
	}
	return fd;
}

/* The directory of absolute path, opened; *name is set to the last name. */
static int open_parent(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dname[4096];
	int dir;

	if (!slash || (size_t)(slash - path) >= sizeof(dname)) {
		fprintf(stderr, "pw-evade: %s: not an absolute path\n", path);
		exit(2);
	}
	memcpy(dname, path, (size_t)(slash - path));
	dname[slash - path] = '\0';
	dir = open(dname[0] ? dname : "/", O_RDONLY | O_DIRECTORY);
	if (dir < 0)
		die(dname);
	*name = slash + 1;
	return dir;
}

/* Open path for reading in one of the ways open-* names. */
static int open_via(const char *how, const char *path)
{
	const char *name;
	char proc[64];
	int fd = -1, dir, opath;

	if (strcmp(how, "sys") == 0) {
		/* glibc's open() is openat(): the open syscall itself. */
		fd = (int)syscall(SYS_open, path, O_RDONLY);
	} else if (strcmp(how, "at") == 0) {
		dir = open_parent(path, &name);
		fd = openat(dir, name, O_RDONLY);
		close(dir);
	} else if (strcmp(how, "at2") == 0) {
		struct open_how oh = { .flags = O_RDONLY, .resolve = RESOLVE_NO_MAGICLINKS };

		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &oh, sizeof(oh));
	} else if (strcmp(how, "opath") == 0) {
		/* An O_PATH descriptor reads nothing; opening its
		 * /proc/self/fd link does. */
		struct stat st;

		opath = open(path, O_PATH);
		if (opath < 0 || fstat(opath, &st))
			die("O_PATH");
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", opath);
		fd = open(proc, O_RDONLY);
		close(opath);
	} else {
		fprintf(stderr, "pw-evade: unknown open %s\n", how);
		exit(2);
	}
	if (fd < 0)
		die(path);
	return fd;
}

/*
 * The handle of path, written to out for handle-open to use, perhaps after
 * the file system was mounted afresh.  Finding a handle opens nothing.
 */
static void handle_save(const char *path, const char *out)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int mount_id, fd;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		die("name_to_handle_at");
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || close(fd))
		die(out);
}

/* Open by a handle handle_save wrote, on the file system of the
 * directory mfd (needs CAP_DAC_READ_SEARCH). */
static int handle_open(int mfd, const char *saved)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int fd = open(saved, O_RDONLY);

	if (fd < 0 || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		die(saved);
	close(fd);
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY);
	if (fd < 0)
		die("open_by_handle_at");
	close(mfd);
	return fd;
}

/* Write size bytes into fd with the syscall t names. */
static long long write_all(const char *t, int fd, long long size)
{
	static char buf[CHUNK];
	long long total = 0;

	memset(buf, 'w', sizeof(buf));
	while (total < size) {
		size_t want = size - total < CHUNK ? (size_t)(size - total) : CHUNK;
		size_t half = want / 2;
		struct iovec iov[2] = { { buf, half }, { buf + half, want - half } };
		ssize_t n;

		if (strcmp(t, "write") == 0)
			n = write(fd, buf, want);
		else if (strcmp(t, "pwrite") == 0)
			n = pwrite(fd, buf, want, total);
		else if (strcmp(t, "writev") == 0)
			n = writev(fd, iov, 2);
		else if (strcmp(t, "pwritev") == 0)
			n = pwritev(fd, iov, 2, total);
		else
			n = pwritev2(fd, iov, 2, total, 0);
		if (n <= 0)
			die(t);
		total += n;
	}
	return total;
}

/* All of the file src into fd, by sendfile, splice, copy_file_range or
 * a reflink (FICLONE). */
static long long copy_into(const char *t, int fd, const char *src)
{
	int in = open_ro(src, 0), p[2];
	long long total = 0;
	ssize_t r;

	if (strcmp(t, "clone-into") == 0) {
		if (ioctl(fd, FICLONE, in))
			die("FICLONE");
		total = file_size(in);
		close(in);
		return total;
	}
	if (strcmp(t, "splice-into") == 0 && pipe(p))
		die("pipe");
	for (;;) {
		if (strcmp(t, "sendfile-into") == 0) {
			r = sendfile(fd, in, NULL, 65536);
		} else if (strcmp(t, "copy-into") == 0) {
			r = copy_file_range(in, NULL, fd, NULL, 65536, 0);
		} else {
			r = splice(in, NULL, p[1], NULL, 65536, 0);
			if (r > 0 && splice(p[0], NULL, fd, NULL, (size_t)r, 0) != r)
				die("splice into");
		}
		if (r < 0)
			die(t);
		if (r == 0)
			break;
		total += r;
	}
	close(in);
	return total;
}

static long long uring_write(int fd, long long size, bool vec, unsigned flags)
{
	struct io_uring_params p = { .flags = flags, .sq_thread_idle = 2000 };
	struct io_uring ring;
	static char buf[CHUNK];
	long long total = 0;

	memset(buf, 'u', sizeof(buf));
	if (io_uring_queue_init_params(4, &ring, &p) < 0)
		die("io_uring_queue_init");
	while (total < size) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		size_t want = size - total < CHUNK ? (size_t)(size - total) : CHUNK;
		struct iovec iov = { buf, want };
		struct io_uring_cqe *cqe;

		if (vec)
			io_uring_prep_writev(sqe, fd, &iov, 1, total);
		else
			io_uring_prep_write(sqe, fd, buf, want, total);
		io_uring_submit(&ring);
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("io_uring_wait_cqe");
		if (cqe->res <= 0) {
			errno = -cqe->res;
			die("io_uring write");
		}
		total += cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return total;
}

static void uring_wait_ok(struct io_uring *ring, const char *what, int *res)
{
	struct io_uring_cqe *cqe;

	io_uring_submit(ring);
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	if (*res < 0) {
		errno = -*res;
		die(what);
	}
}

#define PW_IORING_OP_READV_FIXED 60 /* 6.15 on; liburing 2.3 has no name for it */

/* How uring_read_other reads. */
enum other_read {
	OTHER_SPLICE,       /* IORING_OP_SPLICE from the descriptor */
	OTHER_SPLICE_FIXED, /* IORING_OP_SPLICE from a registered file's slot */
	OTHER_READV_FIXED,  /* IORING_OP_READV_FIXED */
};

/*
 * Read fd whole through io_uring without a plain read request: with
 * splice, from the file (named by its descriptor, or by fixed-file slot 0
 * where it is registered) into a pipe that this process then drains; with
 * readv-fixed, by IORING_OP_READV_FIXED into a registered buffer, two
 * iovecs a request.
 */
static long long uring_read_other(int fd, long long size, enum other_read how)
{
	struct io_uring ring;
	char *buf = malloc(CHUNK);
	struct iovec reg = { buf, CHUNK };
	long long total = 0;
	bool splice = how != OTHER_READV_FIXED;
	int pfd[2], res;

	if (!buf || io_uring_queue_init(4, &ring, 0) < 0)
		die("io_uring_queue_init");
	if (splice ? pipe(pfd) != 0 : io_uring_register_buffers(&ring, &reg, 1) < 0)
		die("io_uring set-up");
	if (how == OTHER_SPLICE_FIXED && io_uring_register_files(&ring, &fd, 1) < 0)
		die("io_uring_register_files");
	while (total < size) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct iovec iov[2] = { { buf, CHUNK / 2 }, { buf + CHUNK / 2, CHUNK / 2 } };

		if (how == OTHER_SPLICE_FIXED) {
			/* Slot 0 is no descriptor: 0 is standard input. */
			io_uring_prep_splice(sqe, 0, total, pfd[1], -1, CHUNK, SPLICE_F_FD_IN_FIXED);
		} else if (splice) {
			io_uring_prep_splice(sqe, fd, total, pfd[1], -1, CHUNK, 0);
		} else {
			io_uring_prep_rw(PW_IORING_OP_READV_FIXED, sqe, fd, iov, 2, total);
			sqe->buf_index = 0;
		}
		uring_wait_ok(&ring, splice ? "io_uring splice" : "io_uring readv fixed", &res);
		if (res == 0)
			break;
		if (splice && read(pfd[0], buf, res) != res)
			die("read of the pipe");
		total += res;
	}
	if (splice) {
		close(pfd[0]);
		close(pfd[1]);
	}
	io_uring_queue_exit(&ring);
	free(buf);
	return total;
}

/* Requests that move no file data, count of them. */
static void uring_nops(int count)
{
	struct io_uring ring;
	int i, res;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		die("io_uring_queue_init");
	for (i = 0; i < count; i++) {
		io_uring_prep_nop(io_uring_get_sqe(&ring));
		uring_wait_ok(&ring, "nop", &res);
	}
	io_uring_queue_exit(&ring);
}

/* What uring_direct does with the file once it is in its slot. */
enum direct_use {
	DIRECT_READ,    /* read it all through the slot */
	DIRECT_NONE,    /* nothing */
	DIRECT_INSTALL, /* install the slot as a descriptor, read that with read(2) */
	DIRECT_OPATH,   /* open it O_PATH, install that, fstat(2) it: reads nothing */
};

#define PW_IORING_OP_FIXED_FD_INSTALL 54 /* 6.8 on; liburing 2.3 has no name for it */

/* Open path into fixed-file slot 0 of a ring and use it: with DIRECT_READ
 * and DIRECT_NONE no descriptor ever refers to the file.  Returns the
 * bytes read. */
static long long uring_direct(const char *path, enum direct_use use)
{
	struct io_uring ring;
	char *buf = malloc(CHUNK);
	long long total = 0;
	int res;

	if (!buf || io_uring_queue_init(4, &ring, 0) < 0 ||
	    io_uring_register_files_sparse(&ring, 1) < 0)
		die("io_uring set-up");
	io_uring_prep_openat_direct(io_uring_get_sqe(&ring), AT_FDCWD, path,
				    use == DIRECT_OPATH ? O_PATH : O_RDONLY, 0, 0);
	uring_wait_ok(&ring, "io_uring openat direct", &res);
	if (use == DIRECT_INSTALL || use == DIRECT_OPATH) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct stat stb;

		io_uring_prep_rw(PW_IORING_OP_FIXED_FD_INSTALL, sqe, 0, NULL, 0, 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		uring_wait_ok(&ring, "io_uring fixed fd install", &res);
		if (use == DIRECT_INSTALL)
			total = read_all(res);
		else if (fstat(res, &stb))
			die("fstat of the O_PATH descriptor");
		close(res);
	}
	for (; use == DIRECT_READ;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, 0, buf, CHUNK, total);
		sqe->flags |= IOSQE_FIXED_FILE;
		uring_wait_ok(&ring, "io_uring read fixed", &res);
		if (res == 0)
			break;
		total += res;
	}
	io_uring_queue_exit(&ring);
	free(buf);
	return total;
}

/*
 * size bytes of fd from offset 0 by Linux AIO (io_submit), in batches of
 * AIO_BATCH requests of CHUNK bytes, each split over two buffers when vec.
 * A read asks for one request more than the file holds (past its end):
 * the kernel gives 0 for it.  Returns the bytes the completions report.
 */
#define AIO_BATCH 8

/* A queue of requests, io_uring's or Linux AIO's, one at a time. */
struct queue {
	bool aio;
	struct io_uring ring;
	aio_context_t ctx;
};

static void queue_init(struct queue *q, bool aio)
{
	q->aio = aio;
	q->ctx = 0;
	if (aio ? syscall(SYS_io_setup, 1, &q->ctx) != 0 : io_uring_queue_init(4, &q->ring, 0) < 0)
		die(aio ? "io_setup" : "io_uring_queue_init");
}

static void queue_exit(struct queue *q)
{
	if (q->aio)
		syscall(SYS_io_destroy, q->ctx);
	else
		io_uring_queue_exit(&q->ring);
}

/* One read (is_read) or write of n bytes at buf on fd, at the file's
 * position (a pipe's), through q: its result, -errno on an error. */
static long long queue_rw(struct queue *q, bool is_read, int fd, char *buf, size_t n)
{
	if (q->aio) {
		struct iocb cb = { .aio_fildes = (__u32)fd,
				   .aio_lio_opcode = is_read ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE,
				   .aio_buf = (__u64)(uintptr_t)buf, .aio_nbytes = n };
		struct iocb *ptr = &cb;
		struct io_event ev;

		if (syscall(SYS_io_submit, q->ctx, 1L, &ptr) != 1)
			die("io_submit");
		if (syscall(SYS_io_getevents, q->ctx, 1L, 1L, &ev, NULL) != 1)
			die("io_getevents");
		return ev.res;
	} else {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
		struct io_uring_cqe *cqe;
		long long res;

		if (is_read)
			io_uring_prep_read(sqe, fd, buf, (unsigned)n, (__u64)-1);
		else
			io_uring_prep_write(sqe, fd, buf, (unsigned)n, (__u64)-1);
		io_uring_submit(&q->ring);
		if (io_uring_wait_cqe(&q->ring, &cqe) < 0)
			die("io_uring_wait_cqe");
		res = cqe->res;
		io_uring_cqe_seen(&q->ring, cqe);
		return res;
	}
}

/*
 * Copy from in to out until in's end, one side through io_uring or (aio)
 * Linux AIO, the other with read(2) or write(2): queued_in reads in
 * through the queue, else writes out through it.  Returns the bytes.
 */
static long long queue_copy(int in, int out, bool aio, bool queued_in)
{
	static char buf[CHUNK];
	long long total = 0, n, res;
	struct queue q;

	queue_init(&q, aio);
	for (;;) {
		n = queued_in ? queue_rw(&q, true, in, buf, sizeof(buf)) : read(in, buf, sizeof(buf));
		if (n < 0) {
			if (queued_in)
				errno = (int)-n;
			die("read");
		}
		if (n == 0)
			break;
		res = queued_in ? write(out, buf, (size_t)n) : queue_rw(&q, false, out, buf, (size_t)n);
		if (res != n) {
			/* write(2) sets errno; a queued request returns -errno. */
			if (res >= 0)
				errno = EIO;
			else if (!queued_in)
				errno = (int)-res;
			die("write");
		}
		total += n;
	}
	queue_exit(&q);
	return total;
}

static long long aio_rw(int fd, bool is_read, bool vec, long long size)
{
	static char bufs[AIO_BATCH][CHUNK];
	struct iovec iov[AIO_BATCH][2];
	struct iocb cbs[AIO_BATCH], *ptrs[AIO_BATCH];
	struct io_event evs[AIO_BATCH];
	aio_context_t ctx = 0;
	long long off = 0, total = 0, end = is_read ? size + CHUNK : size;
	int i, n, got;

	memset(bufs, 'a', sizeof(bufs));
	if (syscall(SYS_io_setup, AIO_BATCH, &ctx))
		die("io_setup");
	while (off < end) {
		for (n = 0; n < AIO_BATCH && off < end; n++) {
			size_t want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;

			memset(&cbs[n], 0, sizeof(cbs[n]));
			cbs[n].aio_fildes = (__u32)fd;
			cbs[n].aio_offset = off;
			iov[n][0] = (struct iovec){ bufs[n], want / 2 };
			iov[n][1] = (struct iovec){ bufs[n] + want / 2, want - want / 2 };
			if (vec) {
				cbs[n].aio_lio_opcode = is_read ? IOCB_CMD_PREADV : IOCB_CMD_PWRITEV;
				cbs[n].aio_buf = (__u64)(uintptr_t)iov[n];
				cbs[n].aio_nbytes = 2;
			} else {
				cbs[n].aio_lio_opcode = is_read ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
				cbs[n].aio_buf = (__u64)(uintptr_t)bufs[n];
				cbs[n].aio_nbytes = want;
			}
			ptrs[n] = &cbs[n];
			off += (long long)want;
		}
		if (syscall(SYS_io_submit, ctx, (long)n, ptrs) != n)
			die("io_submit");
		for (got = 0; got < n;) {
			int k = (int)syscall(SYS_io_getevents, ctx, 1L, (long)(n - got), evs, NULL);

			if (k <= 0)
				die("io_getevents");
			for (i = 0; i < k; i++) {
				if (evs[i].res < 0) {
					errno = (int)-evs[i].res;
					die("aio request");
				}
				total += evs[i].res;
			}
			got += k;
		}
	}
	syscall(SYS_io_destroy, ctx);
	return total;
}

static bool is_one_of(const char *t, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(t, *names) == 0)
			return true;
	return false;
}

#define PW_IORING_OP_FTRUNCATE 55 /* 6.9 on; liburing 2.3 has no name for it */

/* What one change request names. */
struct uring_change {
	const char *t; /* the technique */
	int dfd;
	const char *path, *path2;
	long long len;
	int flags;
};

/* Run change c through io_uring, on a ring of setup flags; dies if it
 * fails. */
static void uring_change_run(const struct uring_change *c, unsigned flags)
{
	struct io_uring_params params = { .flags = flags };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int res;

	if (io_uring_queue_init_params(4, &ring, &params) < 0)
		die("io_uring_queue_init");
	sqe = io_uring_get_sqe(&ring);
	if (strcmp(c->t, "uring-ln") == 0 || strcmp(c->t, "uring-linkat") == 0)
		io_uring_prep_linkat(sqe, c->dfd, c->path, AT_FDCWD, c->path2, c->flags);
	else if (strcmp(c->t, "uring-symlink") == 0)
		io_uring_prep_symlinkat(sqe, c->path, AT_FDCWD, c->path2);
	else if (strcmp(c->t, "uring-truncate") == 0)
		io_uring_prep_rw(PW_IORING_OP_FTRUNCATE, sqe, c->dfd, NULL, 0, (__u64)c->len);
	else if (strcmp(c->t, "uring-punch") == 0)
		io_uring_prep_fallocate(sqe, c->dfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
					c->len);
	else if (strcmp(c->t, "uring-rmdir") == 0)
		io_uring_prep_unlinkat(sqe, AT_FDCWD, c->path, AT_REMOVEDIR);
	else /* uring-mv-defer */
		io_uring_prep_renameat(sqe, AT_FDCWD, c->path, AT_FDCWD, c->path2, 0);
	uring_wait_ok(&ring, c->t, &res);
	io_uring_queue_exit(&ring);
}

#define PW_SYS_SETXATTRAT 463 /* 6.13; glibc 2.36 has no wrappers */
#define PW_SYS_REMOVEXATTRAT 466

/*
 * Extended attribute "user.pw_" TECHNIQUE set on FILE, with no
 * setfattr(1): xattr-fd sets and removes it through a descriptor
 * (fsetxattr, fremovexattr), xattr-at by the 6.13 calls (setxattrat,
 * removexattrat), xattr-uring and xattr-uring-fd set it through io_uring
 * (SETXATTR by the path, FSETXATTR by a descriptor).  Dies if one fails.
 */
static void xattr_change(const char *t, const char *path)
{
	char name[64];
	int fd = -1, res;

	snprintf(name, sizeof(name), "user.pw_%s", t);
	if (strcmp(t, "xattr-fd") == 0 || strcmp(t, "xattr-uring-fd") == 0) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
	}
	if (strcmp(t, "xattr-fd") == 0) {
		if (fsetxattr(fd, name, "1", 1, 0) || fremovexattr(fd, name))
			die("fsetxattr, fremovexattr");
	} else if (strcmp(t, "xattr-at") == 0) {
		struct { uint64_t value; uint32_t size, flags; } args = { (uintptr_t)"1", 1, 0 };

		if (syscall(PW_SYS_SETXATTRAT, AT_FDCWD, path, 0, name, &args, sizeof(args)) ||
		    syscall(PW_SYS_REMOVEXATTRAT, AT_FDCWD, path, 0, name))
			die("setxattrat, removexattrat");
	} else {
		struct io_uring ring;
		struct io_uring_sqe *sqe;

		if (io_uring_queue_init(4, &ring, 0) < 0)
			die("io_uring_queue_init");
		sqe = io_uring_get_sqe(&ring);
		if (fd >= 0)
			io_uring_prep_fsetxattr(sqe, fd, name, "1", 0, 1);
		else
			io_uring_prep_setxattr(sqe, name, "1", path, 0, 1);
		uring_wait_ok(&ring, t, &res);
		io_uring_queue_exit(&ring);
	}
	if (fd >= 0)
		close(fd);
}

/* linkat(2) through io_uring; dies if it fails. */
static int uring_linkat(int dfd, const char *path, const char *dst, int flags)
{
	struct uring_change c = { "uring-linkat", dfd, path, dst, 0, flags };

	uring_change_run(&c, 0);
	return 0;
}

/*
 * The change techniques run through io_uring: uring-ln links FILE as ARG,
 * uring-symlink makes ARG a symbolic link to FILE, uring-truncate cuts
 * FILE to ARG bytes (IORING_OP_FTRUNCATE), uring-punch punches a hole
 * through FILE's first ARG bytes (IORING_OP_FALLOCATE), uring-rmdir removes directory
 * FILE, uring-mv-defer renames FILE to ARG on a ring whose completions
 * run only when this task asks for them (DEFER_TASKRUN).
 */
static void uring_change(const char *t, const char *path, const char *arg)
{
	struct uring_change c = { t, AT_FDCWD, path, arg, 0, 0 };
	unsigned flags = 0;
	int fd = -1;

	if (!arg && strcmp(t, "uring-rmdir") != 0) {
		fprintf(stderr, "pw-evade: %s needs a second argument\n", t);
		exit(2);
	}
	if (strcmp(t, "uring-truncate") == 0 || strcmp(t, "uring-punch") == 0) {
		fd = open(path, O_WRONLY);
		if (fd < 0)
			die(path);
		c.dfd = fd;
		c.len = atoll(arg);
	}
	if (strcmp(t, "uring-mv-defer") == 0)
		flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	uring_change_run(&c, flags);
	if (fd >= 0)
		close(fd);
}

/*
 * Make an unnamed file in directory dir, write to it, link it as name (in
 * dir unless absolute), through /proc/self/fd or (flink) by the descriptor
 * itself, by linkat(2) or (tmpfile-uring-*) through io_uring, and read it
 * back through the same open file.
 */
static long long tmpfile_link(const char *t, const char *dir, const char *name)
{
	static const char data[] = "customer,tmpfile\n";
	char proc[64], dst[4096];
	long long n;
	int fd, r;

	fd = open(dir, O_TMPFILE | O_RDWR, 0644);
	if (fd < 0)
		die("O_TMPFILE");
	if (write(fd, data, sizeof(data) - 1) != sizeof(data) - 1)
		die("write");
	if (!name)
		name = "linked.csv";
	if (name[0] == '/')
		snprintf(dst, sizeof(dst), "%s", name);
	else
		snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (strcmp(t, "tmpfile-uring-flink") == 0) {
		r = uring_linkat(fd, "", dst, AT_EMPTY_PATH);
	} else if (strcmp(t, "tmpfile-uring-link") == 0) {
		r = uring_linkat(AT_FDCWD, proc, dst, AT_SYMLINK_FOLLOW);
	} else if (strcmp(t, "tmpfile-flink") == 0) {
		r = linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH);
	} else {
		r = linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
	}
	if (r)
		die("linkat");
	n = pread_all(fd, 0, sizeof(data) - 1);
	close(fd);
	return n;
}

/* Submit the one request prepared on ring and wait for its completion;
 * a refused connection (the answer to an earlier datagram, or a connect
 * nobody listens for) is fine: the attempt is what is tested. */
static void uring_run_one(struct io_uring *ring, const char *what)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_submit(ring);
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	if (res < 0 && res != -ECONNREFUSED) {
		errno = -res;
		die(what);
	}
}

#ifdef __x86_64__
/* A 32-bit system call from this 64-bit process: int $0x80, which the
 * syscalls:* tracepoints leave out.  Pointers must fit in 32 bits. */
static long int80(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

/* Up to six arguments, the unused ones 0.  The sixth goes in ebp, which
 * the compiler may be using (and the red zone below the stack pointer may
 * hold its data). */
static long int80_6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r;

	__asm__ volatile("sub $128, %%rsp\n\tpush %%rbp\n\tmov %[f], %%rbp\n\t"
			 "int $0x80\n\tpop %%rbp\n\tadd $128, %%rsp"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), [f] "r"(f)
			 : "memory");
	return r;
}

/* i386 numbers */
#define I386_READ 3
#define I386_OPEN 5
#define I386_CLOSE 6
#define I386_EXECVE 11
#define I386_RENAME 38
#define I386_IOCTL 54
#define I386_OLD_MMAP 90
#define I386_SOCKETCALL 102
#define I386_MMAP2 192
#define I386_IO_SETUP 245
#define I386_IO_DESTROY 246
#define I386_IO_GETEVENTS 247
#define I386_IO_SUBMIT 248
#define I386_SENDMMSG 345
#define I386_SENDTO 369
#define I386_SENDMSG 370
#define I386_IO_URING_SETUP 425
#define I386_FALLOCATE 324
#define I386_VMSPLICE 316
#define I386_SETXATTR 226

/* The 32-bit layouts of the structures those calls take. */
struct msghdr32 {
	uint32_t name;
	int32_t namelen;
	uint32_t iov;
	uint32_t iovlen;
	uint32_t control;
	uint32_t controllen;
	uint32_t flags;
};

struct mmsghdr32 {
	struct msghdr32 hdr;
	uint32_t len;
};

struct iovec32 {
	uint32_t base;
	uint32_t len;
};

static long int80_check(long r, const char *what)
{
	if (r == -ENOSYS)
		exit(3);
	if (r < 0) {
		errno = (int)-r;
		die(what);
	}
	return r;
}

/* Memory a 32-bit call can point to: below 4 GiB. */
static char *low_memory(void)
{
	char *low = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);

	if (low == MAP_FAILED)
		die("int80 set-up");
	return low;
}

#define I386_PTRACE 26
#define I386_PROCESS_VM_READV 347
#define I386_PROCESS_VM_WRITEV 348

/* process_vm_readv (write: process_vm_writev) of size bytes at buf, in
 * low memory, between us and pid, at the same address in both, through
 * int $0x80; iov: low memory for the two 32-bit iovecs.  As the libc
 * call: the bytes copied, or -1 with errno set. */
static long vm_rw_int80(bool write, pid_t pid, char *buf, long long size, struct iovec32 *iov)
{
	long r;

	iov[0].base = iov[1].base = (uint32_t)(uintptr_t)buf;
	iov[0].len = iov[1].len = (uint32_t)size;
	r = int80_6(write ? I386_PROCESS_VM_WRITEV : I386_PROCESS_VM_READV, pid, (long)&iov[0], 1,
		    (long)&iov[1], 1, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* The copy of size bytes at buf (low memory) in process pid, stopped
 * under ptrace by us, into out, by 32-bit PTRACE_PEEKDATA (a 4-byte word
 * each, stored at word, low memory too). */
static void peek_out_int80(pid_t pid, const char *buf, long long size, int out, uint32_t *word)
{
	long long at;

	for (at = 0; at < size; at += 4) {
		long r = int80_6(I386_PTRACE, PTRACE_PEEKDATA, pid, (long)(buf + at), (long)word, 0, 0);

		if (r < 0) {
			errno = (int)-r;
			die("32-bit PTRACE_PEEKDATA");
		}
		write_exact(out, word, size - at < 4 ? (size_t)(size - at) : 4);
	}
}

/* The x87/SSE registers of pid, stopped under ptrace by us, into out (512
 * bytes, low memory) by 32-bit PTRACE_GETFPXREGS, which only the 32-bit
 * ptrace has. */
static void fpxregs_int80(pid_t pid, void *out)
{
	long r = int80_6(I386_PTRACE, 18 /* PTRACE_GETFPXREGS */, pid, 0, (long)out, 0, 0);

	if (r < 0) {
		errno = (int)-r;
		die("32-bit PTRACE_GETFPXREGS");
	}
}

/* The three datagrams of mm by io_uring SENDMSG, each on a ring of its own
 * set up by a 32-bit io_uring_setup, which makes the kernel read its
 * message headers in the 32-bit layout (the ring is then mapped and
 * entered by 64-bit calls, which do not change that).  One ring each: on
 * 6.18 a 32-bit ring sends every SENDMSG after its first to the first's
 * address (docs/kernel-probes.md).  low: memory below 4 GiB for the
 * parameters. */
static void int80_uring_sendmsg(int s, struct mmsghdr32 *mm, char *low)
{
	struct io_uring_params *p = (struct io_uring_params *)low;
	struct io_uring ring;
	long fd;
	int i, res;

	for (i = 0; i < 3; i++) {
		memset(p, 0, sizeof(*p));
		fd = int80_check(int80(I386_IO_URING_SETUP, 4, (long)p, 0), "32-bit io_uring_setup");
		res = io_uring_queue_mmap((int)fd, p, &ring);
		if (res < 0) {
			errno = -res;
			die("io_uring_queue_mmap");
		}
		io_uring_prep_sendmsg(io_uring_get_sqe(&ring), s, (const struct msghdr *)&mm[i].hdr, 0);
		uring_run_one(&ring, "32-bit ring's sendmsg");
		io_uring_queue_exit(&ring);
	}
}

/* After a read: three datagrams to 127.0.0.1 by 32-bit calls, two to port
 * and one to port + 1, as net_send does: int80-sendmsg by sendmsg,
 * int80-uring-sendmsg by io_uring SENDMSG on a ring set up by a 32-bit call,
 * int80-sendmmsg by one sendmmsg, int80-sendto by sendto (six
 * arguments: the last in ebp), int80-socketcall by socketcall's sendto; int80-connect connects a TCP socket to port by socketcall's
 * connect (refused is fine). */
static void int80_net(const char *t, char *low, int port)
{
	struct sockaddr_in *sa = (struct sockaddr_in *)low;
	struct mmsghdr32 *mm = (struct mmsghdr32 *)(low + 256);
	struct iovec32 *iov = (struct iovec32 *)(low + 512);
	uint32_t *args = (uint32_t *)(low + 768);
	char *msg = low + 1024;
	int s, i;
	long r;

	strcpy(msg, "customer,row\n");
	iov->base = (uint32_t)(uintptr_t)msg;
	iov->len = (uint32_t)strlen(msg);
	for (i = 0; i < 3; i++) {
		memset(&sa[i], 0, sizeof(sa[i]));
		sa[i].sin_family = AF_INET;
		sa[i].sin_port = htons((uint16_t)(port + (i == 2)));
		inet_pton(AF_INET, "127.0.0.1", &sa[i].sin_addr);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].hdr.name = (uint32_t)(uintptr_t)&sa[i];
		mm[i].hdr.namelen = sizeof(sa[i]);
		mm[i].hdr.iov = (uint32_t)(uintptr_t)iov;
		mm[i].hdr.iovlen = 1;
	}
	s = socket(AF_INET, strcmp(t, "int80-connect") == 0 ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	if (strcmp(t, "int80-connect") == 0) {
		args[0] = (uint32_t)s;
		args[1] = (uint32_t)(uintptr_t)&sa[0];
		args[2] = sizeof(sa[0]);
		r = int80(I386_SOCKETCALL, 3 /* SYS_CONNECT */, (long)args, 0);
		if (r != -ECONNREFUSED)
			int80_check(r, "32-bit connect");
		close(s);
		return;
	}
	if (strcmp(t, "int80-uring-sendmsg") == 0) {
		int80_uring_sendmsg(s, mm, low + 2048);
		close(s);
		return;
	}
	for (i = 0; i < 3; i++) {
		/* The first datagram's ICMP answer makes the next send on
		 * the socket fail: reported errors are not what is tested. */
		if (strcmp(t, "int80-sendmsg") == 0) {
			r = int80(I386_SENDMSG, s, (long)&mm[i].hdr, 0);
		} else if (strcmp(t, "int80-sendmmsg") == 0) {
			r = int80_6(I386_SENDMMSG, s, (long)mm, 3, 0, 0, 0);
			i = 3;
		} else if (strcmp(t, "int80-sendto") == 0) {
			r = int80_6(I386_SENDTO, s, (long)msg, (long)strlen(msg), 0, (long)&sa[i],
				    sizeof(sa[i]));
		} else {
			args[0] = (uint32_t)s;
			args[1] = (uint32_t)(uintptr_t)msg;
			args[2] = (uint32_t)strlen(msg);
			args[3] = 0;
			args[4] = (uint32_t)(uintptr_t)&sa[i];
			args[5] = sizeof(sa[i]);
			r = int80(I386_SOCKETCALL, 11 /* SYS_SENDTO */, (long)args, 0);
		}
		if (r != -ECONNREFUSED)
			int80_check(r, t);
	}
	close(s);
}

/* The whole of fd by one 32-bit io_submit of a PREADV of two compat
 * iovecs, and its completion. */
static long long int80_aio(int fd, char *low)
{
	uint32_t *ctx32 = (uint32_t *)low, *cbp = (uint32_t *)(low + 64);
	struct iocb *cb = (struct iocb *)(low + 128);
	struct iovec32 *iov = (struct iovec32 *)(low + 256);
	struct io_event *ev = (struct io_event *)(low + 512);
	long long total = 0;
	long r;

	*ctx32 = 0;
	int80_check(int80(I386_IO_SETUP, 4, (long)ctx32, 0), "32-bit io_setup");
	for (;;) {
		iov[0].base = (uint32_t)(uintptr_t)(low + 8192);
		iov[0].len = 1000;
		iov[1].base = (uint32_t)(uintptr_t)(low + 16384);
		iov[1].len = 3000;
		memset(cb, 0, sizeof(*cb));
		cb->aio_lio_opcode = IOCB_CMD_PREADV;
		cb->aio_fildes = (uint32_t)fd;
		cb->aio_buf = (uint64_t)(uintptr_t)iov;
		cb->aio_nbytes = 2;
		cb->aio_offset = total;
		*cbp = (uint32_t)(uintptr_t)cb;
		if (int80_check(int80(I386_IO_SUBMIT, *ctx32, 1, (long)cbp), "32-bit io_submit") != 1)
			die("32-bit io_submit took nothing");
		/* io_getevents(ctx, min_nr, nr, events, timeout): no timeout */
		r = int80_6(I386_IO_GETEVENTS, *ctx32, 1, 1, (long)ev, 0, 0);
		if (int80_check(r, "32-bit io_getevents") != 1 || (long long)ev->res < 0)
			die("32-bit aio read");
		if (ev->res == 0)
			break;
		total += ev->res;
	}
	int80(I386_IO_DESTROY, *ctx32, 0, 0);
	return total;
}

/*
 * int80 reads FILE whole by 32-bit open, read and close; int80-mv renames
 * FILE to ARG by 32-bit rename; int80-punch punches a hole through
 * FILE's first ARG bytes by 32-bit fallocate; int80-vmsplice takes the
 * data of FILE, a pipe, into memory by 32-bit vmsplice and writes it to
 * ARG; int80-xattr sets attribute user.pw_int80 on FILE by 32-bit
 * setxattr.  The others open and read FILE the same
 * way, then: int80-exec (opened close-on-exec) execs /bin/sleep 1 by a
 * 32-bit execve; int80-mmap and int80-mmap2 map it whole by old_mmap and
 * mmap2 (and read the mapping), int80-aio reads it by 32-bit io_submit
 * instead; int80-sendmsg, int80-uring-sendmsg, int80-sendmmsg, int80-sendto,
 * int80-socketcall and int80-connect then send to port ARG (int80_net);
 * int80-clone shares it with the new file ARG by a 32-bit FICLONE.  Exits 3 where the
 * kernel has no 32-bit entry (ia32_emulation=0): nothing to test there.
 */
static long long int80_run(const char *t, const char *path, const char *arg)
{
	char *low = low_memory();
	long fd, r;
	long long total = 0;

	if (strlen(path) >= 4096 || (arg && strlen(arg) >= 4096))
		die("int80 set-up");
	snprintf(low, 4096, "%s", path);
	if (strcmp(t, "int80-mv") == 0) {
		if (!arg)
			die("int80-mv needs a destination");
		snprintf(low + 4096, 4096, "%s", arg);
		int80_check(int80(I386_RENAME, (long)low, (long)(low + 4096), 0), "32-bit rename");
		return 0;
	}
	if (strcmp(t, "int80-xattr") == 0) {
		snprintf(low + 4096, 4096, "user.pw_int80");
		low[8192] = '1'; /* the value: every pointer in low memory */
		int80_check(int80_6(I386_SETXATTR, (long)low, (long)(low + 4096), (long)(low + 8192), 1,
				    0, 0),
			    "32-bit setxattr");
		return 0;
	}
	if (strcmp(t, "int80-vmsplice") == 0) {
		int in = open(path, O_RDONLY), out = arg ? open_out(arg) : -1;
		uint32_t *iov = (uint32_t *)(low + 8192); /* a compat iovec: base, length */

		if (in < 0 || out < 0)
			die("int80-vmsplice needs a pipe to read and an output file");
		for (;;) {
			iov[0] = (uint32_t)(uintptr_t)(low + 16384);
			iov[1] = 32768;
			r = int80_6(I386_VMSPLICE, in, (long)iov, 1, 0, 0, 0);
			if (r <= 0)
				break;
			write_exact(out, low + 16384, (size_t)r);
			total += r;
		}
		int80_check(r, "32-bit vmsplice");
		close(in);
		close(out);
		return total;
	}
	if (strcmp(t, "int80-punch") == 0) {
		long long len = arg ? atoll(arg) : 0;
		int w = open(path, O_WRONLY);

		if (w < 0 || len <= 0)
			die("int80-punch needs a file to write and a length");
		/* fd, mode, then the 64-bit offset and length in halves */
		int80_check(int80_6(I386_FALLOCATE, w, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				    0, (long)(uint32_t)len, (long)(len >> 32)),
			    "32-bit fallocate");
		close(w);
		return 0;
	}
	fd = int80_check(int80(I386_OPEN, (long)low,
			       O_RDONLY | (strcmp(t, "int80-exec") == 0 ? O_CLOEXEC : 0), 0),
			 "32-bit open");
	if (strcmp(t, "int80-clone") == 0) {
		/* FICLONE of FILE into the new file ARG by a 32-bit ioctl. */
		int out = arg ? open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;

		if (out < 0)
			die("int80-clone needs a destination");
		int80_check(int80(I386_IOCTL, out, FICLONE, fd), "32-bit ioctl FICLONE");
		total = file_size(out);
		close(out);
	} else if (strcmp(t, "int80-aio") == 0) {
		total = int80_aio((int)fd, low + 65536);
	} else if (strncmp(t, "int80-mmap", 10) == 0) {
		uint32_t *m = (uint32_t *)(low + 8192);
		volatile const unsigned char *map;
		struct stat st;
		unsigned sum = 0;
		long long i;

		if (fstat((int)fd, &st))
			die("fstat");
		/* old_mmap takes the six in memory, its offset in bytes;
		 * mmap2 in registers, its offset in pages. */
		m[0] = 0;
		m[1] = (uint32_t)st.st_size;
		m[2] = PROT_READ;
		m[3] = MAP_PRIVATE;
		m[4] = (uint32_t)fd;
		m[5] = 0;
		r = strcmp(t, "int80-mmap2") == 0
			    ? int80_6(I386_MMAP2, 0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
			    : int80(I386_OLD_MMAP, (long)m, 0, 0);
		map = (volatile const unsigned char *)(uintptr_t)int80_check(r, "32-bit mmap");
		for (i = 0; i < st.st_size; i++)
			sum += map[i];
		munmap((void *)map, (size_t)st.st_size);
		total = st.st_size + (sum & 0);
	} else {
		while ((r = int80(I386_READ, fd, (long)(low + 8192), 65536)) > 0)
			total += r;
		int80_check(r, "32-bit read");
	}
	if (strcmp(t, "int80-exec") == 0) {
		char **argv32 = (char **)(low + 4096);
		uint32_t *v = (uint32_t *)argv32;

		printf("%lld\n", total);
		fflush(stdout);
		strcpy(low + 6000, "/bin/sleep");
		strcpy(low + 6100, "1");
		v[0] = (uint32_t)(uintptr_t)(low + 6000);
		v[1] = (uint32_t)(uintptr_t)(low + 6100);
		v[2] = 0;
		int80_check(int80(I386_EXECVE, (long)(low + 6000), (long)v, 0), "32-bit execve");
		die("exec");
	}
	if (strncmp(t, "int80-", 6) == 0 && strcmp(t, "int80-aio") != 0 &&
	    strcmp(t, "int80-clone") != 0 && strncmp(t, "int80-mmap", 10) != 0) {
		if (!arg)
			die("a port is needed");
		int80_net(t, low + 131072, atoi(arg));
	}
	int80(I386_CLOSE, fd, 0, 0);
	return total;
}
#endif

/*
 * Share the blocks of fd (size bytes) with the new file out, reading and
 * writing nothing; the bytes shared.  clone: FICLONE, the whole file.
 * clone-range: FICLONERANGE, two ranges: 8 KiB from 4 KiB on, then the
 * rest from 12 KiB (a length of 0: to the end), so all but the first
 * 4 KiB.  clone-refused: FICLONERANGE of a range one byte past the end,
 * then of 5000 bytes from 0 (not whole blocks, short of the end), both of
 * which the kernel refuses whole (EINVAL): 0.
 */
static long long clone_out(const char *t, int fd, long long size, const char *out)
{
	int o = open_out(out);
	struct file_clone_range r = { .src_fd = fd };

	if (strcmp(t, "clone") == 0) {
		if (ioctl(o, FICLONE, fd))
			die("FICLONE");
	} else if (strcmp(t, "clone-range") == 0) {
		if (size <= 12288)
			die("clone-range needs more than 12 KiB");
		r.src_offset = 4096;
		r.src_length = 8192;
		if (ioctl(o, FICLONERANGE, &r))
			die("FICLONERANGE");
		r.src_offset = 12288;
		r.src_length = 0;
		r.dest_offset = 8192;
		if (ioctl(o, FICLONERANGE, &r))
			die("FICLONERANGE to the end");
		size -= 4096;
	} else if (strcmp(t, "clone-refused") == 0) {
		r.src_length = (__u64)size + 1;
		if (ioctl(o, FICLONERANGE, &r) == 0 || errno != EINVAL)
			die("FICLONERANGE past the end was not refused with EINVAL");
		r.src_length = 5000;
		if (size <= 5000 || ioctl(o, FICLONERANGE, &r) == 0 || errno != EINVAL)
			die("FICLONERANGE of part of a block was not refused with EINVAL");
		size = 0;
	} else {
		fprintf(stderr, "pw-evade: unknown technique %s\n", t);
		exit(2);
	}
	close(o);
	return size;
}

/*
 * The techniques that do not begin with a plain open of FILE for reading;
 * false for any other.  *n: the bytes moved.
 */
static bool run_other_open(const char *t, const char *path, const char *arg, long long *n)
{
	static const char *const writes[] = { "write", "pwrite", "writev", "pwritev", "pwritev2",
					      "uring-write", "uring-writev", "uring-write-sqpoll", "aio-write", "aio-writev",
					      "sendfile-into",
					      "splice-into", "copy-into", "clone-into", NULL };
	const char *name;
	int fd = -1, dir;

	if (strncmp(t, "open-", 5) == 0) {
		fd = open_via(t + 5, path);
		*n = read_all(fd);
	} else if (strcmp(t, "uring-open") == 0) {
		fd = uring_open(path);
		*n = read_all(fd);
	} else if (strcmp(t, "handle-save") == 0) {
		/* ARG: where to save the handle of FILE. */
		handle_save(path, arg);
	} else if (strcmp(t, "handle-open") == 0) {
		/* FILE is the mount to open on, ARG the saved handle. */
		dir = open(path, O_RDONLY | O_DIRECTORY);
		if (dir < 0)
			die(path);
		fd = handle_open(dir, arg);
		close(dir);
		*n = read_all(fd);
	} else if (strcmp(t, "by-handle") == 0) {
		/* Found and opened by one process, while the name is cached. */
		char saved[] = "/tmp/pw-evade-handle.XXXXXX";
		int tmp = mkstemp(saved);

		if (tmp < 0)
			die("mkstemp");
		close(tmp);
		handle_save(path, saved);
		dir = open_parent(path, &name);
		fd = handle_open(dir, saved);
		close(dir);
		unlink(saved);
		*n = read_all(fd);
	} else if (strcmp(t, "creat") == 0) {
		/* FILE is new; ARG bytes are written into it. */
		fd = (int)syscall(SYS_creat, path, 0600);
		if (fd < 0)
			die(path);
		*n = write_all("write", fd, arg ? atoll(arg) : CHUNK);
	} else if (is_one_of(t, writes)) {
		fd = open(path, O_WRONLY);
		if (fd < 0 || !arg)
			die(path);
		if (strncmp(t, "uring-", 6) == 0)
			*n = uring_write(fd, atoll(arg), strcmp(t, "uring-writev") == 0,
					 strstr(t, "-sqpoll") ? IORING_SETUP_SQPOLL : 0);
		else if (strncmp(t, "aio-", 4) == 0)
			*n = aio_rw(fd, false, strcmp(t, "aio-writev") == 0, atoll(arg));
		else if (strstr(t, "-into"))
			*n = copy_into(t, fd, arg);
		else
			*n = write_all(t, fd, atoll(arg));
	} else if (strcmp(t, "uring-direct-stdin") == 0) {
		/* The direct open completes with 0, a slot, not a descriptor:
		 * it must not end what descriptor 0 refers to.  The bytes are
		 * those read from standard input after it. */
		uring_direct(path, DIRECT_READ);
		*n = read_all(0);
	} else if (strcmp(t, "mv-exchange") == 0) {
		/* FILE and ARG swap places in one renameat2(RENAME_EXCHANGE). */
		if (!arg)
			die("mv-exchange needs the file to swap with");
		if (renameat2(AT_FDCWD, path, AT_FDCWD, arg, RENAME_EXCHANGE))
			die("renameat2");
		*n = 0;
	} else if (strcmp(t, "uring-mv") == 0 || strcmp(t, "uring-mv-skip") == 0 ||
		   strcmp(t, "uring-rm") == 0) {
		/* Rename FILE to ARG, or unlink it, through io_uring: no
		 * syscall names the change.  uring-mv-skip asks for no
		 * completion on success (a linked no-op's says when it is
		 * done). */
		struct io_uring ring;
		struct io_uring_sqe *sqe;
		int res;

		if (io_uring_queue_init(4, &ring, 0) < 0)
			die("io_uring_queue_init");
		sqe = io_uring_get_sqe(&ring);
		if (t[6] == 'm') {
			if (!arg)
				die("uring-mv needs a destination");
			io_uring_prep_renameat(sqe, AT_FDCWD, path, AT_FDCWD, arg, 0);
		} else {
			io_uring_prep_unlinkat(sqe, AT_FDCWD, path, 0);
		}
		if (strcmp(t, "uring-mv-skip") == 0) {
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS | IOSQE_IO_LINK;
			io_uring_prep_nop(io_uring_get_sqe(&ring));
		}
		uring_wait_ok(&ring, t, &res);
		io_uring_queue_exit(&ring);
		*n = 0;
	} else if (strcmp(t, "uring-ln") == 0 || strcmp(t, "uring-symlink") == 0 ||
		   strcmp(t, "uring-truncate") == 0 || strcmp(t, "uring-punch") == 0 ||
		   strcmp(t, "uring-rmdir") == 0 ||
		   strcmp(t, "uring-mv-defer") == 0) {
		uring_change(t, path, arg);
		*n = 0;
	} else if (strncmp(t, "xattr-", 6) == 0) {
		xattr_change(t, path);
		*n = 0;
#ifdef __x86_64__
	} else if (strncmp(t, "int80", 5) == 0) {
		*n = int80_run(t, path, arg);
#endif
	} else if (strcmp(t, "uring-direct-opath") == 0) {
		*n = uring_direct(path, DIRECT_OPATH);
	} else if (strcmp(t, "uring-direct-none") == 0) {
		*n = uring_direct(path, DIRECT_NONE);
	} else if (strcmp(t, "uring-direct-install") == 0) {
		*n = uring_direct(path, DIRECT_INSTALL);
	} else if (strcmp(t, "uring-direct") == 0) {
		/* With ARG, first read that protected file the plain way. */
		if (arg) {
			fd = open_ro(arg, 0);
			read_all(fd);
			close(fd);
			fd = -1;
		}
		*n = uring_direct(path, DIRECT_READ);
	} else if (strncmp(t, "tmpfile-", 8) == 0) {
		*n = tmpfile_link(t, path, arg);
	} else {
		return false;
	}
	if (fd >= 0)
		close(fd);
	return true;
}

/*
 * After reading: name a destination without connect(2).  sendto,
 * sendmsg, sendmmsg, uring-send and uring-sendmsg send three UDP
 * datagrams, two to 127.0.0.1 port port and one to port + 1 (one event
 * each destination); sendto6 does as sendto to ::1; uring-send-zc and
 * uring-sendmsg-zc as uring-send and uring-sendmsg, zero-copy; uring-connect
 * connects a TCP socket to port through io_uring (refused is fine: the
 * attempt is what must be seen).
 */
static void net_send(const char *t, int port)
{
	static const char msg[] = "customer,row\n";
	struct sockaddr_storage sa[3];
	struct iovec iov = { (void *)msg, sizeof(msg) - 1 };
	struct mmsghdr mm[3];
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	bool v6 = strcmp(t, "sendto6") == 0;
	bool zc = strstr(t, "-zc") != NULL;
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int s, i;

	for (i = 0; i < 3; i++) {
		memset(&sa[i], 0, sizeof(sa[i]));
		if (v6) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa[i];

			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)(port + (i == 2)));
			a6->sin6_addr = in6addr_loopback;
		} else {
			struct sockaddr_in *a4 = (struct sockaddr_in *)&sa[i];

			/* sendto's third names its IPv4 address as AF_UNSPEC,
			 * which UDP takes as AF_INET. */
			a4->sin_family = i == 2 && strcmp(t, "sendto") == 0 ? AF_UNSPEC : AF_INET;
			a4->sin_port = htons((uint16_t)(port + (i == 2)));
			inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
		}
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &sa[i];
		mm[i].msg_hdr.msg_namelen = len;
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	s = socket(v6 ? AF_INET6 : AF_INET,
		   strcmp(t, "uring-connect") == 0 ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	if (strncmp(t, "uring-", 6) == 0 && io_uring_queue_init(4, &ring, 0) < 0)
		die("io_uring_queue_init");
	if (strcmp(t, "uring-connect") == 0) {
		io_uring_prep_connect(io_uring_get_sqe(&ring), s, (struct sockaddr *)&sa[0], len);
		uring_run_one(&ring, "io_uring connect");
	}
	for (i = 0; strcmp(t, "uring-connect") != 0 && i < 3; i++) {
		ssize_t r = 0;

		/* The first datagram's ICMP answer makes the next send on
		 * the socket fail: reported errors are not what is tested. */
		if (strcmp(t, "sendto") == 0 || v6) {
			r = sendto(s, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sa[i], len);
		} else if (strcmp(t, "sendmsg") == 0) {
			r = sendmsg(s, &mm[i].msg_hdr, 0);
		} else if (strcmp(t, "sendmmsg") == 0) {
			r = sendmmsg(s, mm, 3, 0);
			i = 3;
		} else {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			bool more;

			if (strncmp(t, "uring-send-", 11) == 0 || strcmp(t, "uring-send") == 0) {
				if (zc)
					io_uring_prep_send_zc(sqe, s, msg, sizeof(msg) - 1, 0, 0);
				else
					io_uring_prep_send(sqe, s, msg, sizeof(msg) - 1, 0);
				io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&sa[i], len);
			} else if (zc) {
				io_uring_prep_sendmsg_zc(sqe, s, &mm[i].msg_hdr, 0);
			} else {
				io_uring_prep_sendmsg(sqe, s, &mm[i].msg_hdr, 0);
			}
			io_uring_submit(&ring);
			/* A zero-copy send completes twice: its result, then
			 * the notice that its buffer is free again. */
			do {
				if (io_uring_wait_cqe(&ring, &cqe) < 0)
					die("io_uring_wait_cqe");
				more = cqe->flags & IORING_CQE_F_MORE;
				io_uring_cqe_seen(&ring, cqe);
			} while (more);
		}
		if (r < 0 && errno != ECONNREFUSED)
			die(t);
	}
	if (strncmp(t, "uring-", 6) == 0)
		io_uring_queue_exit(&ring);
	close(s);
}

/* ---- a pipe's reader whose descriptor is swapped while it waits ---- */

struct blocked_read {
	int fd;
	char buf[CHUNK];
	ssize_t n;
	pid_t tid;              /* the reader thread's, once it runs */
	bool returned;          /* its read(2) has returned */
};

static void *reader_thread(void *arg)
{
	struct blocked_read *b = arg;

	__atomic_store_n(&b->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	b->n = read(b->fd, b->buf, sizeof(b->buf));
	__atomic_store_n(&b->returned, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Whether thread tid of this process is asleep in read(2) (the kernel
 * shows a system call's number there only for a task that sleeps in
 * it); false once it has gone. */
static bool waits_in_read(pid_t tid)
{
	char path[64], line[64], want[24];
	bool in_read;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	snprintf(want, sizeof(want), "%d ", SYS_read);
	f = fopen(path, "r");
	if (!f)
		return false;
	in_read = fgets(line, sizeof(line), f) && strncmp(line, want, strlen(want)) == 0;
	fclose(f);
	return in_read;
}

/*
 * The pipe techniques that neither read(2) nor write(2) the data, fd a
 * pipe's read end (FILE /dev/stdin, say) but for vmsplice-cat:
 * vmsplice-stage takes fd's data into memory by vmsplice(2) and writes it
 * to out; vmsplice-cat (fd the file) moves its copy of the file into
 * standard output, a pipe, by vmsplice(2); tee-cat copies fd's data into
 * standard output by tee(2), waiting for some before each round, and
 * splices what it copied to /dev/null, so that nothing of it enters its
 * memory.  Returns the bytes moved.
 */
static long long pipe_moves(const char *t, int fd, long long size, const char *out)
{
	long long n = 0;
	ssize_t r = 0;

	if (strcmp(t, "vmsplice-stage") == 0) {
		int o = open_out(out);
		char buf[CHUNK];
		struct iovec v;

		for (;;) {
			v.iov_base = buf;
			v.iov_len = sizeof(buf);
			if ((r = vmsplice(fd, &v, 1, 0)) <= 0)
				break;
			write_exact(o, buf, (size_t)r);
			n += r;
		}
		close(o);
	} else if (strcmp(t, "vmsplice-cat") == 0) {
		/* The pipe holds the pages themselves: the copy is not freed
		 * nor reused before the process exits. */
		char *buf = malloc(size > 0 ? (size_t)size : 1);
		struct iovec v;

		if (!buf)
			die("malloc");
		read_into(fd, buf, size);
		while (n < size) {
			v.iov_base = buf + n;
			v.iov_len = (size_t)(size - n);
			if ((r = vmsplice(STDOUT_FILENO, &v, 1, 0)) <= 0)
				break;
			n += r;
		}
	} else { /* tee-cat */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int null = open("/dev/null", O_WRONLY);

		if (null < 0)
			die("/dev/null");
		for (;;) {
			if (poll(&p, 1, -1) < 0)
				die("poll");
			if ((r = tee(fd, STDOUT_FILENO, 1 << 20, 0)) <= 0)
				break;
			if (splice(fd, NULL, null, NULL, (size_t)r, 0) != r)
				die("splice to /dev/null");
			n += r;
		}
		close(null);
	}
	if (r < 0)
		die(t);
	return n;
}

#define PW_IORING_OP_READ_MULTISHOT 49 /* 6.7 on; liburing 2.3 has no name for it */

/*
 * uring-read-mshot: fd a pipe's read end (a pollable file: regular files
 * cannot be read so), read by one io_uring READ_MULTISHOT request (-fixed:
 * naming it by a slot of the ring's registered files) into
 * buffers the ring provides, each given back once written to out; the
 * request is armed again when it ends short of the end (no buffer free).
 * The request does not end at the pipe's end on 6.18: that is when the
 * pipe hangs up with nothing left in it and no completion is waiting.
 * Returns the bytes written.
 */
static long long uring_read_mshot(int fd, const char *out, bool fixed)
{
	enum { NBUF = 8, BUFSZ = 4096, BGID = 7, PROVIDE = 1, READ = 2 };
	static char bufs[NBUF][BUFSZ];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int o = open_out(out), res;
	long long total = 0;
	bool armed = false;

	if (io_uring_queue_init(16, &ring, 0) < 0)
		die("io_uring_queue_init");
	if (fixed) {
		/* Slot 0, while descriptor 0 names something else: the slot
		 * is not taken for the descriptor of its number. */
		int null = open("/dev/null", O_RDONLY);

		if (fd == 0 || null < 0 || dup2(null, 0) < 0 || io_uring_register_files(&ring, &fd, 1) < 0)
			die("io_uring_register_files");
		close(null);
	}
	io_uring_prep_provide_buffers(io_uring_get_sqe(&ring), bufs, BUFSZ, NBUF, BGID, 0);
	uring_wait_ok(&ring, "io_uring PROVIDE_BUFFERS", &res);
	for (;;) {
		unsigned flags;
		__u64 what;

		if (!armed) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_rw(PW_IORING_OP_READ_MULTISHOT, sqe, fixed ? 0 : fd, NULL, 0, 0);
			sqe->flags |= IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0);
			sqe->buf_group = BGID;
			sqe->user_data = READ;
			io_uring_submit(&ring);
			armed = true;
		}
		struct __kernel_timespec wait = { .tv_nsec = 100000000 };
		struct pollfd p = { .fd = fd, .events = POLLIN };

		res = io_uring_wait_cqe_timeout(&ring, &cqe, &wait);
		if (res == -ETIME) {
			if (poll(&p, 1, 0) == 1 && !(p.revents & POLLIN) && (p.revents & POLLHUP))
				break;
			continue;
		}
		if (res < 0)
			die("io_uring_wait_cqe");
		res = cqe->res;
		flags = cqe->flags;
		what = cqe->user_data;
		io_uring_cqe_seen(&ring, cqe);
		if (what == PROVIDE) {
			if (res < 0) {
				errno = -res;
				die("io_uring PROVIDE_BUFFERS");
			}
			continue;
		}
		if (!(flags & IORING_CQE_F_MORE))
			armed = false;
		if (res == -ENOBUFS)
			continue;
		if (res < 0) {
			errno = -res;
			die("io_uring READ_MULTISHOT");
		}
		if (res == 0)
			break;
		if (!(flags & IORING_CQE_F_BUFFER) || (flags >> IORING_CQE_BUFFER_SHIFT) >= NBUF)
			die("io_uring READ_MULTISHOT: no buffer");
		write_exact(o, bufs[flags >> IORING_CQE_BUFFER_SHIFT], (size_t)res);
		total += res;
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_provide_buffers(sqe, bufs[flags >> IORING_CQE_BUFFER_SHIFT], BUFSZ, 1,
					      BGID, (int)(flags >> IORING_CQE_BUFFER_SHIFT));
		sqe->user_data = PROVIDE;
		io_uring_submit(&ring);
	}
	io_uring_queue_exit(&ring);
	close(o);
	return total;
}

/*
 * uring-tee: fd a pipe's read end; its data is copied by io_uring TEE
 * requests into a pipe of our own, and spliced to /dev/null.  A child
 * forked first, before anything was read, copies that pipe into out, but
 * only once the first request has completed, so that what it reads is
 * there by then.  Returns the bytes the child wrote.
 */
static long long uring_tee(int fd, const char *out)
{
	struct io_uring ring;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int mid[2], go[2], null = open("/dev/null", O_WRONLY), res;
	long long total = 0;
	pid_t child;
	bool told = false;

	if (null < 0 || pipe(mid) || pipe(go))
		die("uring-tee set-up");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int o = open_out(out);
		char buf[CHUNK];
		ssize_t r;

		close(mid[1]);
		close(go[1]);
		await_one(go[0]);
		while ((r = read(mid[0], buf, sizeof(buf))) > 0)
			write_exact(o, buf, (size_t)r);
		_exit(r < 0);
	}
	close(mid[0]);
	close(go[0]);
	if (io_uring_queue_init(4, &ring, 0) < 0)
		die("io_uring_queue_init");
	for (;;) {
		if (poll(&p, 1, -1) < 0)
			die("poll");
		io_uring_prep_tee(io_uring_get_sqe(&ring), fd, mid[1], 1 << 16, 0);
		uring_wait_ok(&ring, "io_uring TEE", &res);
		if (res == 0)
			break;
		if (splice(fd, NULL, null, NULL, (size_t)res, 0) != res)
			die("splice to /dev/null");
		total += res;
		if (!told)
			signal_one(go[1]);
		told = true;
	}
	io_uring_queue_exit(&ring);
	close(mid[1]);
	if (!told)
		signal_one(go[1]);
	close(go[1]);
	if (wait_child(child))
		die("child");
	return total;
}

/*
 * pipe-handoff, pipe-handoff-swap: a child forked before anything is read
 * takes FILE's data out of a pipe, CHUNK bytes a round, in a thread of its
 * own, and writes them to OUT; the parent reads FILE and writes each chunk
 * into the pipe once the child's thread waits in read(2).  -swap: before
 * that write, the child puts /dev/null over the pipe's descriptor, so that
 * the read's exit finds no pipe there, and puts the pipe back after it.
 * Returns the bytes the child wrote.
 */
static long long pipe_handoff(int fd, const char *out, bool swap)
{
	int data[2], go[2], done[2];
	long long total = 0;
	pid_t child;
	int status;

	if (pipe(data) || pipe(go) || pipe(done))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int o = open_out(out), keep = dup(data[0]), null = open("/dev/null", O_RDONLY);
		static struct blocked_read b;
		char c = 'g';

		if (keep < 0 || null < 0)
			die("dup");
		close(fd);
		close(data[1]);
		close(go[0]);
		close(done[0]);
		b.fd = data[0];
		for (;;) {
			pthread_t th;

			b.tid = 0;
			b.returned = false;
			if (pthread_create(&th, NULL, reader_thread, &b))
				die("pthread_create");
			/* Until the thread sleeps in its read: the read has
			 * entered, and found the pipe empty. */
			while (!__atomic_load_n(&b.returned, __ATOMIC_ACQUIRE) &&
			       (!__atomic_load_n(&b.tid, __ATOMIC_ACQUIRE) || !waits_in_read(b.tid)))
				usleep(1000);
			if (__atomic_load_n(&b.returned, __ATOMIC_ACQUIRE)) {
				errno = EPROTO;
				die("the pipe's reader did not wait");
			}
			if (swap && dup2(null, data[0]) < 0)
				die("dup2");
			if (write(go[1], &c, 1) != 1)
				die("write go");
			pthread_join(th, NULL);
			if (swap && dup2(keep, data[0]) < 0)
				die("dup2");
			if (b.n < 0)
				die("read pipe");
			if (b.n == 0)
				break;
			if (write(o, b.buf, (size_t)b.n) != b.n)
				die("write out");
			total += b.n;
		}
		close(o);
		if (write(done[1], &total, sizeof(total)) != sizeof(total))
			die("write done");
		_exit(0);
	}
	/* Only the child holds the write ends of go and done: if it dies, the
	 * reads of them end. */
	close(data[0]);
	close(go[1]);
	close(done[1]);
	for (;;) {
		char buf[CHUNK], c;
		ssize_t n;

		if (read(go[0], &c, 1) != 1) {
			errno = EPIPE;
			die("the pipe's reader is gone");
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		if (write(data[1], buf, (size_t)n) != n)
			die("write pipe");
	}
	close(data[1]);
	if (read(done[0], &total, sizeof(total)) != sizeof(total)) {
		errno = EPIPE;
		die("the pipe's reader is gone");
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		die("child");
	return total;
}

/* A thread that only exists, for vm-read-thread to name by its id. */
static void *idle_thread(void *arg)
{
	int *tid = arg;

	__atomic_store_n(tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

/* The word-by-word copy of size bytes at buf in process pid, stopped
 * under ptrace by the caller, into out. */
static void peek_out(pid_t pid, const char *buf, long long size, int out)
{
	long long at;

	for (at = 0; at < size; at += (long long)sizeof(long)) {
		long w;
		size_t n = size - at < (long long)sizeof(w) ? (size_t)(size - at) : sizeof(w);

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, pid, buf + at, NULL);
		if (errno)
			die("PTRACE_PEEKDATA");
		write_exact(out, &w, n);
	}
}

static void wait_stopped(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status))
		die("waitpid (ptrace stop)");
}

/* Memory below 4 GiB for a 32-bit call's copy of size bytes (and 64 of
 * its own past the first MiB less 64), and the 32-bit calls on it: only
 * on x86-64. */
#ifdef __x86_64__
static char *low_area(long long size)
{
	if (size > (1 << 20) - 64) {
		errno = EFBIG;
		die("a 32-bit copy");
	}
	return low_memory();
}
#else
static char *low_area(long long size)
{
	(void)size;
	errno = ENOSYS;
	die("int $0x80 (x86-64 only)");
	return NULL;
}
#define vm_rw_int80(w, p, b, s, l) (errno = ENOSYS, -1L)
#define peek_out_int80(p, b, s, o, l) ((void)0)
#define fpxregs_int80(p, o) ((void)0)
#endif

/* Registers of pid, stopped under ptrace by us: its general registers
 * (PTRACE_GETREGSET), or with i32 its x87/SSE ones by 32-bit
 * PTRACE_GETFPXREGS into buf (low memory, at least 512 bytes). */
static void regs_of(pid_t pid, bool i32, char *buf)
{
	struct user_regs_struct ur;
	struct iovec r = { &ur, sizeof(ur) };

	if (i32)
		fpxregs_int80(pid, buf);
	else if (ptrace(PTRACE_GETREGSET, pid, (void *)1 /* NT_PRSTATUS */, &r))
		die("PTRACE_GETREGSET");
}

/* pid attached and stopped; if the caller dies before it detaches, the
 * kernel kills pid rather than leave it stopped for good. */
static void attach_stopped(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
		die("PTRACE_ATTACH");
	wait_stopped(pid);
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL))
		die("PTRACE_SETOPTIONS");
}

static void detach(pid_t pid)
{
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL))
		die("PTRACE_DETACH");
}

/* The word-by-word copy of size bytes at buf, from our memory into that
 * of process pid, stopped under ptrace by us. */
static void poke_in(pid_t pid, char *buf, long long size)
{
	long long at;

	for (at = 0; at < size; at += (long long)sizeof(long)) {
		long w;

		if (size - at < (long long)sizeof(w)) {
			/* The tail: what follows it stays. */
			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, pid, buf + at, NULL);
			if (errno)
				die("PTRACE_PEEKDATA");
			memcpy(&w, buf + at, (size_t)(size - at));
		} else {
			memcpy(&w, buf + at, sizeof(w));
		}
		if (ptrace(PTRACE_POKEDATA, pid, buf + at, (void *)w))
			die("PTRACE_POKEDATA");
	}
}

/* A new login session for the calling process (root may set its
 * loginuid again; each setting opens a session). */
static void new_session(void)
{
	int f = open("/proc/self/loginuid", O_WRONLY);

	if (f < 0 || write(f, "0", 1) != 1)
		die("/proc/self/loginuid");
	close(f);
}

/*
 * FILE (fd, size bytes) read whole into memory by one process, and the
 * copy written to out by another that never opens FILE, forked before the
 * read (a child forked after it would be marked by the fork):
 *   vm-read          the child takes it out of the parent's memory with
 *                    process_vm_readv, naming the parent by its pid;
 *   vm-read-thread   the same, naming a thread of the parent by its id;
 *   vm-write         the parent puts it into the child's memory with
 *                    process_vm_writev;
 *   vm-write-session the same, the child in a login session of its own,
 *                    and out a port: once given the copy, the child lets
 *                    a process of its session that it forked before
 *                    connect to it on 127.0.0.1 (refused is fine);
 *   ptrace-peek      the child attaches to the parent after the read
 *                    (PTRACE_ATTACH) and copies it by PTRACE_PEEKDATA;
 *   ptrace-attach    the child attaches to the parent after the read and
 *                    detaches, reading nothing, then writes as many
 *                    bytes of its own (a tracer such as strace, whose
 *                    output may copy what its tracee read);
 *   ptrace-seize     the same with PTRACE_SEIZE and PTRACE_INTERRUPT;
 *   ptrace-early     the child attaches before the read, and copies it
 *                    by PTRACE_PEEKDATA once the parent stops itself;
 *   ptrace-poke      the parent attaches to the child after the read and
 *                    puts it into the child's memory by PTRACE_POKEDATA;
 *   proc-mem         the child opens /proc/PPID/mem after the read and
 *                    reads it there;
 *   proc-mem-early   the child opens it before the read, and reads it
 *                    there after;
 *   proc-mem-write   the parent opens /proc/CHILD/mem after the read and
 *                    writes it into the child's memory there;
 *   ptrace-early-regs
 *                    the child attaches before the read, reads the
 *                    parent's registers (PTRACE_GETREGSET) once it stops
 *                    itself, and writes as many bytes of its own;
 *   vm-read-int80, vm-write-int80, ptrace-early-int80
 *                    vm-read, vm-write and ptrace-early with the copying
 *                    calls made through int $0x80 (32-bit
 *                    process_vm_readv, process_vm_writev and
 *                    PTRACE_PEEKDATA), FILE at most 1 MiB less 64 bytes;
 *   ptrace-early-fpx-int80
 *                    ptrace-early-regs with 32-bit PTRACE_GETFPXREGS, FILE
 *                    at least 512 bytes.
 * The two sides signal each other with single bytes through pipes; a
 * tracer that dies takes its stopped tracee with it (PTRACE_O_EXITKILL).
 * Returns the bytes written to out.
 */
static long long memory_copy(const char *t, int fd, long long size, const char *out)
{
	size_t tl = strlen(t);
	bool i32 = tl > 6 && strcmp(t + tl - 6, "-int80") == 0;
	char *buf = i32 ? low_area(size) : malloc(size ? (size_t)size : 1);
	void *low32 = i32 ? buf + (1 << 20) - 64 : NULL; /* the 32-bit calls' own structures */
	int down[2], up[2], tid = 0;
	bool early = strncmp(t, "ptrace-early", 12) == 0, session = strcmp(t, "vm-write-session") == 0;
	bool regs = strcmp(t, "ptrace-early-regs") == 0 || strcmp(t, "ptrace-early-fpx-int80") == 0;
	bool proc_mem = strncmp(t, "proc-mem", 8) == 0, mem_early = strcmp(t, "proc-mem-early") == 0;
	bool given = strncmp(t, "vm-write", 8) == 0 || strcmp(t, "ptrace-poke") == 0 ||
		     strcmp(t, "proc-mem-write") == 0;
	pid_t parent = getpid(), child;
	int mem = -1;
	char mem_path[64];

	if (!buf)
		die("malloc");
	if (regs && i32 && size < 512) { /* before any process is traced */
		errno = EINVAL;
		die("ptrace-early-fpx-int80: FILE under 512 bytes");
	}
	memset(buf, 0, (size_t)size);
	if (strcmp(t, "vm-read-thread") == 0) {
		pthread_t th;

		if (pthread_create(&th, NULL, idle_thread, &tid))
			die("pthread_create");
		while (!__atomic_load_n(&tid, __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	if (pipe(down) || pipe(up))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int o = session ? -1 : open_out(out), go[2];
		struct iovec local = { buf, (size_t)size }, remote = { buf, (size_t)size };
		pid_t other = -1;

		close(fd);
		close(down[1]);
		close(up[0]);
		snprintf(mem_path, sizeof(mem_path), "/proc/%d/mem", (int)parent);
		if (session) {
			new_session();
			if (pipe(go))
				die("pipe");
			other = fork();
			if (other < 0)
				die("fork");
			if (other == 0) {
				close(go[1]);
				await_one(go[0]);
				connect_local(atoi(out));
				_exit(0);
			}
			close(go[0]);
		}
		if (mem_early)
			mem = open_ro(mem_path, 0);
		if (early) {
			attach_stopped(parent);
			if (ptrace(PTRACE_CONT, parent, NULL, NULL))
				die("PTRACE_CONT");
		}
		if (early || mem_early || session)
			signal_one(up[1]);
		if (early) {
			/* The parent stops itself (SIGSTOP) after its read. */
			wait_stopped(parent);
			if (regs) { /* registers only; then bytes of its own */
				regs_of(parent, i32, buf);
				write_exact(o, buf, (size_t)size);
			} else if (i32) {
				peek_out_int80(parent, buf, size, o, low32);
			} else {
				peek_out(parent, buf, size, o);
			}
			detach(parent);
			_exit(0);
		}
		await_one(down[0]);
		if (session) {
			signal_one(go[1]);
			if (wait_child(other))
				die("the session's other process");
		} else if (given) {
			write_exact(o, buf, (size_t)size);
		} else if (strcmp(t, "ptrace-seize") == 0) {
			if (ptrace(PTRACE_SEIZE, parent, NULL, (void *)(long)PTRACE_O_EXITKILL) ||
			    ptrace(PTRACE_INTERRUPT, parent, NULL, NULL))
				die("PTRACE_SEIZE");
			wait_stopped(parent);
			detach(parent);
			write_exact(o, buf, (size_t)size);
		} else if (strncmp(t, "ptrace-", 7) == 0) {
			attach_stopped(parent);
			if (strcmp(t, "ptrace-peek") == 0)
				peek_out(parent, buf, size, o);
			detach(parent);
			if (strcmp(t, "ptrace-attach") == 0)
				write_exact(o, buf, (size_t)size);
		} else if (proc_mem) { /* the reads */
			if (mem < 0)
				mem = open_ro(mem_path, 0);
			if (pread(mem, buf, (size_t)size, (off_t)(uintptr_t)buf) != size)
				die("pread /proc/PPID/mem");
			write_exact(o, buf, (size_t)size);
		} else {
			pid_t from = tid ? tid : parent;

			if (i32 ? vm_rw_int80(false, from, buf, size, low32) != size
				: process_vm_readv(from, &local, 1, &remote, 1, 0) != size)
				die("process_vm_readv");
			write_exact(o, buf, (size_t)size);
		}
		if (o >= 0)
			close(o);
		signal_one(up[1]);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	if (early || mem_early || session)
		await_one(up[0]);
	read_into(fd, buf, size);
	if (early) {
		raise(SIGSTOP);
	} else {
		if (strncmp(t, "vm-write", 8) == 0) {
			struct iovec local = { buf, (size_t)size }, remote = { buf, (size_t)size };

			if (i32 ? vm_rw_int80(true, child, buf, size, low32) != size
				: process_vm_writev(child, &local, 1, &remote, 1, 0) != size)
				die("process_vm_writev");
		} else if (strcmp(t, "ptrace-poke") == 0) {
			attach_stopped(child);
			poke_in(child, buf, size);
			detach(child);
		} else if (strcmp(t, "proc-mem-write") == 0) {
			snprintf(mem_path, sizeof(mem_path), "/proc/%d/mem", (int)child);
			mem = open(mem_path, O_WRONLY);
			if (mem < 0 || pwrite(mem, buf, (size_t)size, (off_t)(uintptr_t)buf) != size)
				die("pwrite /proc/CHILD/mem");
			close(mem);
		}
		signal_one(down[1]);
		await_one(up[0]);
	}
	if (wait_child(child))
		die("child");
	if (!i32)
		free(buf);
	return size;
}

int main(int argc, char **argv)
{
	const char *t, *path, *arg;
	long long n = 0, size;
	int fd, fd2;

	if (argc < 3) {
		fprintf(stderr, "usage: pw-evade TECHNIQUE FILE [ARG]\n");
		return 2;
	}
	t = argv[1];
	path = argv[2];
	arg = argc > 3 ? argv[3] : NULL;

	if (run_other_open(t, path, arg, &n)) {
		printf("%lld\n", n);
		return 0;
	}
	fd = open_ro(path, strcmp(t, "exec-cloexec") == 0 ? O_CLOEXEC : 0);
	size = file_size(fd);
	if (strcmp(t, "read") == 0) {
		n = read_all(fd);
	} else if (strcmp(t, "pread") == 0) {
		n = pread_all(fd, 0, size);
	} else if (strcmp(t, "readv") == 0) {
		n = vec_all(fd, 0);
	} else if (strcmp(t, "preadv") == 0) {
		n = vec_all(fd, 1);
	} else if (strcmp(t, "preadv2") == 0) {
		n = vec_all(fd, 2);
	} else if (strcmp(t, "aio") == 0 || strcmp(t, "aio-v") == 0) {
		n = aio_rw(fd, true, t[3] == '-', size);
	} else if (strcmp(t, "dup") == 0) {
		fd2 = dup(fd);
		n = pread_all(fd2, 0, size / 2);
		close(fd);
		n += pread_all(fd2, size / 2, size);
		fd = fd2;
	} else if (strcmp(t, "dup2") == 0 || strcmp(t, "dup3") == 0 || strcmp(t, "fcntl") == 0) {
		if (t[3] == '2')
			fd2 = dup2(fd, 100);
		else if (t[3] == '3')
			fd2 = dup3(fd, 101, O_CLOEXEC);
		else
			fd2 = fcntl(fd, F_DUPFD, 200);
		if (fd2 < 0)
			die("dup");
		n = pread_all(fd, 0, size / 3);
		close(fd);
		n += pread_all(fd2, size / 3, size);
		fd = fd2;
	} else if (strcmp(t, "dup2-over") == 0) {
		/* The protected descriptor is replaced by another file: dup2
		 * releases it without a close(). */
		int other = open_ro("/dev/null", 0);

		n = read_all(fd);
		if (dup2(other, fd) < 0)
			die("dup2");
		close(other);
		sleep(1);
	} else if (strcmp(t, "fork") == 0) {
		pid_t pid = fork();

		if (pid == 0) {
			n = pread_all(fd, size / 2, size);
			_exit(n == size - size / 2 ? 0 : 1);
		}
		n = pread_all(fd, 0, size / 2);
		if (wait_child(pid))
			die("child");
		n += size - size / 2;
	} else if (strcmp(t, "scm") == 0) {
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			die("socketpair");
		pid = fork();
		if (pid == 0) {
			int got;

			close(sv[0]);
			got = recv_fd(sv[1]);
			n = read_all(got);
			close(got);
			_exit(n == size ? 0 : 1);
		}
		close(sv[1]);
		send_fd(sv[0], fd);
		close(fd);
		fd = -1;
		if (wait_child(pid))
			die("child");
		n = size;
	} else if (strcmp(t, "pidfd") == 0) {
		/* The descriptor taken out of a child that holds it with
		 * pidfd_getfd(2), after closing our own. */
		int go[2], pidfd, got;
		pid_t pid;

		if (pipe(go))
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char c;

			close(go[1]);
			_exit(read(go[0], &c, 1) < 0);
		}
		close(go[0]);
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			die("pidfd_open");
		got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (got < 0)
			die("pidfd_getfd");
		close(fd);
		fd = -1;
		n = read_all(got);
		close(got);
		close(pidfd);
		close(go[1]);
		if (wait_child(pid))
			die("child");
	} else if (strcmp(t, "sendfile") == 0) {
		int out = open("/dev/null", O_WRONLY);
		ssize_t r;

		while ((r = sendfile(out, fd, NULL, 65536)) > 0)
			n += r;
		close(out);
	} else if (strcmp(t, "splice") == 0) {
		int p[2], out = open("/dev/null", O_WRONLY);
		ssize_t r;

		if (pipe(p))
			die("pipe");
		while ((r = splice(fd, NULL, p[1], NULL, 65536, 0)) > 0) {
			n += r;
			if (splice(p[0], NULL, out, NULL, (size_t)r, 0) != r)
				die("splice out");
		}
	} else if (strcmp(t, "copy_file_range") == 0 || strcmp(t, "splice-out") == 0) {
		/* splice-out: FILE a pipe, spliced straight into ARG, no read(2). */
		int out = open_out(arg);
		ssize_t r;

		while ((r = t[0] == 'c' ? copy_file_range(fd, NULL, out, NULL, 65536, 0)
					: splice(fd, NULL, out, NULL, 65536, 0)) > 0)
			n += r;
		if (r < 0)
			die(t);
		close(out);
	} else if (strcmp(t, "mmap") == 0) {
		volatile const char *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		long long i;
		unsigned sum = 0;

		if (m == MAP_FAILED)
			die("mmap");
		for (i = 0; i < size; i++)
			sum += (unsigned char)m[i];
		n = size + (sum & 0);
		munmap((void *)m, (size_t)size);
	} else if (strcmp(t, "unmap-late") == 0) {
		/* Closed while mapped, so the close does not release the file;
		 * the munmap does, where no hook looks; then stay alive ARG
		 * seconds, so that exit cannot end the access either. */
		volatile const char *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
		unsigned sum = 0;
		long long i;

		if (m == MAP_FAILED)
			die("mmap");
		close(fd);
		for (i = 0; i < size; i++)
			sum += (unsigned char)m[i];
		munmap((void *)m, (size_t)size);
		printf("%lld\n", size + (sum & 0));
		fflush(stdout);
		sleep(arg ? (unsigned)atoi(arg) : 3);
		return 0;
	} else if (strcmp(t, "exit-no-close") == 0) {
		n = read_all(fd);
		printf("%lld\n", n);
		fflush(stdout);
		_exit(0);
	} else if (strcmp(t, "exec-cloexec") == 0) {
		n = read_all(fd);
		printf("%lld\n", n);
		fflush(stdout);
		execl("/bin/sleep", "sleep", "1", (char *)NULL);
		die("exec");
	} else if (strcmp(t, "close-range") == 0) {
		n = read_all(fd);
		if (syscall(SYS_close_range, 3, ~0U, 0))
			die("close_range");
		printf("%lld\n", n);
		fflush(stdout);
		sleep(1);
		return 0;
	} else if (strcmp(t, "uring-read") == 0) {
		n = uring_read(fd, size, 0);
	} else if (strcmp(t, "uring-read-sqpoll") == 0) {
		n = uring_read(fd, size, IORING_SETUP_SQPOLL);
	} else if (strcmp(t, "uring-pipe-stage") == 0) {
		/* FILE a pipe, read through io_uring, copied into ARG. */
		int out = open_out(arg);

		n = queue_copy(fd, out, false, true);
		close(out);
	} else if (strcmp(t, "aio-pipe-stage") == 0) {
		/* FILE a pipe, read through Linux AIO, copied into ARG. */
		int out = open_out(arg);

		n = queue_copy(fd, out, true, true);
		close(out);
	} else if (strcmp(t, "aio-cat") == 0) {
		/* FILE copied to standard output through Linux AIO; the count
		 * to standard error. */
		n = queue_copy(fd, STDOUT_FILENO, true, false);
		fprintf(stderr, "%lld\n", n);
		return 0;
	} else if (strcmp(t, "uring-cat") == 0) {
		/* FILE copied to standard output through io_uring; the count
		 * goes to standard error, standard output being the copy. */
		n = queue_copy(fd, STDOUT_FILENO, false, false);
		fprintf(stderr, "%lld\n", n);
		return 0;
	} else if (strcmp(t, "uring-splice") == 0) {
		n = uring_read_other(fd, size, OTHER_SPLICE);
	} else if (strcmp(t, "uring-splice-fixed") == 0) {
		n = uring_read_other(fd, size, OTHER_SPLICE_FIXED);
	} else if (strcmp(t, "uring-readv-fixed") == 0) {
		n = uring_read_other(fd, size, OTHER_READV_FIXED);
	} else if (strcmp(t, "uring-use") == 0) {
		/* Read the plain way, then use io_uring for something else. */
		n = read_all(fd);
		uring_nops(3);
	} else if (strcmp(t, "hold") == 0) {
		n = read_all(fd);
		sleep(arg ? (unsigned)atoi(arg) : 3);
	} else if (strcmp(t, "pause") == 0) {
		int waited;

		if (!arg) {
			fprintf(stderr, "pw-evade: pause needs the path to wait for\n");
			return 2;
		}
		n = pread_all(fd, 0, size / 2);
		for (waited = 0; waited < 2000 && access(arg, F_OK) != 0; waited++)
			usleep(10000);
		n += pread_all(fd, size / 2, size);
	} else if (strcmp(t, "stage") == 0) {
		int out = open_out(arg);
		char buf[CHUNK];
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			if (write(out, buf, (size_t)r) != r)
				die("write");
			n += r;
		}
		close(out);
	} else if (strcmp(t, "vmsplice-stage") == 0 || strcmp(t, "vmsplice-cat") == 0 ||
		   strcmp(t, "tee-cat") == 0) {
		bool staged = strcmp(t, "vmsplice-stage") == 0;

		if (staged && !arg)
			die("vmsplice-stage needs an output file");
		n = pipe_moves(t, fd, size, arg);
		if (!staged) { /* standard output is the copy: the count to standard error */
			fprintf(stderr, "%lld\n", n);
			return 0;
		}
	} else if (strcmp(t, "uring-read-mshot") == 0 || strcmp(t, "uring-read-mshot-fixed") == 0) {
		if (!arg)
			die("uring-read-mshot needs an output file");
		n = uring_read_mshot(fd, arg, t[16] == '-');
	} else if (strcmp(t, "uring-tee") == 0) {
		if (!arg)
			die("uring-tee needs an output file");
		n = uring_tee(fd, arg);
	} else if (strcmp(t, "pipe-handoff") == 0 || strcmp(t, "pipe-handoff-swap") == 0) {
		n = pipe_handoff(fd, arg, t[12] == '-');
	} else if (strncmp(t, "vm-", 3) == 0 || strncmp(t, "ptrace-", 7) == 0 ||
		   strncmp(t, "proc-mem", 8) == 0) {
		if (!arg)
			die("an output file (vm-write-session: a port) is needed");
		n = memory_copy(t, fd, size, arg);
	} else if (strcmp(t, "fork-stage") == 0) {
		/* Read FILE whole, then a child forked after the read writes
		 * as many bytes to ARG; the parent prints the child's pid. */
		pid_t child;
		int status;

		n = read_all(fd);
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			int out = open_out(arg);

			write_all("write", out, n);
			close(out);
			_exit(0);
		}
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
			die("child");
		printf("%d\n", (int)child);
		return 0;
	} else if (strcmp(t, "aio-stage") == 0) {
		/* Read plainly, the copy written by Linux AIO. */
		int out = open_out(arg);

		n = read_all(fd);
		aio_rw(out, false, false, n);
		close(out);
	} else if (strcmp(t, "uring-stage") == 0) {
		/* Read plainly, the copy written through io_uring. */
		int out = open_out(arg);

		n = read_all(fd);
		if (uring_write(out, n, false, 0) != n)
			die("io_uring write");
		close(out);
	} else if (strcmp(t, "sendto") == 0 || strcmp(t, "sendmsg") == 0 ||
		   strcmp(t, "sendmmsg") == 0 || strcmp(t, "uring-send") == 0 ||
		   strcmp(t, "uring-sendmsg") == 0 || strcmp(t, "uring-connect") == 0 ||
		   strcmp(t, "sendto6") == 0 || strcmp(t, "uring-send-zc") == 0 ||
		   strcmp(t, "uring-sendmsg-zc") == 0) {
		if (!arg)
			die("a port is needed");
		n = read_all(fd);
		net_send(t, atoi(arg));
	} else if (strcmp(t, "core") == 0 || strcmp(t, "core-child") == 0) {
		/* Read FILE whole, then dump core: with core_pattern "core",
		 * into the working directory, a copy no write(2) made.
		 * core-child: a child forked after the read dumps it, and
		 * the parent prints its pid. */
		struct rlimit rl;
		pid_t child = 0;

		n = read_all(fd);
		if (getrlimit(RLIMIT_CORE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_CORE, &rl);
		}
		if (t[4] == '-') {
			child = fork();
			if (child < 0)
				die("fork");
			if (child > 0) {
				waitpid(child, NULL, 0);
				printf("%d\n", (int)child);
				return 0;
			}
		}
		if (!child && t[4] != '-') {
			printf("%lld\n", n);
			fflush(stdout);
		}
		signal(SIGABRT, SIG_DFL);
		abort();
	} else if (strncmp(t, "clone", 5) == 0) {
		if (!arg)
			die("a destination is needed");
		n = clone_out(t, fd, size, arg);
	} else if (strcmp(t, "connect") == 0) {
		n = read_all(fd);
		connect_local(atoi(arg));
	} else {
		fprintf(stderr, "pw-evade: unknown technique %s\n", t);
		return 2;
	}
	if (fd >= 0)
		close(fd);
	printf("%lld\n", n);
	return 0;
}
