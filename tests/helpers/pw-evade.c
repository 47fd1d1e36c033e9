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
 * Prints the number of bytes it moved on standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
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

static long long file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		die("fstat");
	return st.st_size;
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

static long long uring_read(int fd, long long size)
{
	struct io_uring ring;
	char *buf = malloc(CHUNK);
	long long total = 0;

	if (!buf || io_uring_queue_init(4, &ring, 0) < 0)
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

	if (strcmp(t, "uring-open") == 0) {
		fd = uring_open(path);
		n = read_all(fd);
		close(fd);
		printf("%lld\n", n);
		return 0;
	}
	if (strcmp(t, "tmpfile-link") == 0) {
		/* FILE is a directory; ARG the name to link the data as. */
		char proc[64], dst[4096];
		static const char data[] = "customer,tmpfile\n";

		fd = open(path, O_TMPFILE | O_RDWR, 0644);
		if (fd < 0)
			die("O_TMPFILE");
		if (write(fd, data, sizeof(data) - 1) != sizeof(data) - 1)
			die("write");
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		snprintf(dst, sizeof(dst), "%s/%s", path, arg ? arg : "linked.csv");
		if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW))
			die("linkat");
		/* Read back through the same open file after the link. */
		n = pread_all(fd, 0, sizeof(data) - 1);
		close(fd);
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
	} else if (strcmp(t, "copy_file_range") == 0) {
		int out = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ssize_t r;

		if (out < 0)
			die(arg);
		while ((r = copy_file_range(fd, NULL, out, NULL, 65536, 0)) > 0)
			n += r;
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
		n = uring_read(fd, size);
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
		int out = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char buf[CHUNK];
		ssize_t r;

		if (out < 0)
			die(arg);
		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			if (write(out, buf, (size_t)r) != r)
				die("write");
			n += r;
		}
		close(out);
	} else if (strcmp(t, "connect") == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(arg)) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		n = read_all(fd);
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		/* Refused is fine: the attempt is what must be seen. */
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) && errno != ECONNREFUSED)
			die("connect");
		close(s);
	} else {
		fprintf(stderr, "pw-evade: unknown technique %s\n", t);
		return 2;
	}
	if (fd >= 0)
		close(fd);
	printf("%lld\n", n);
	return 0;
}
