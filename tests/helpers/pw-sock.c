// SPDX-License-Identifier: GPL-2.0
/*
 * pw-sock: talk to piiwatchd's sockets as a test needs to, including as a
 * hostile local user would.
 *
 *   pw-sock send PATH            send standard input as one message, print
 *                                the reply; exit 0 with a reply, 1 without
 *                                one, 2 when the connection is refused
 *   pw-sock flood PATH SECONDS   for SECONDS, from 4 processes: connect,
 *                                send junk or a well-formed record, close,
 *                                as fast as possible, holding up to 100
 *                                idle connections besides; print counts
 *   pw-sock hold PATH N SECONDS  open N connections, say nothing on them
 *                                for SECONDS; print how many connected
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG (4 << 20)
#define WORKERS 4
#define IDLE 100

static int connect_to(const char *path, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int do_send(const char *path)
{
	char *msg = malloc(MAX_MSG), reply[4096];
	struct pollfd pfd;
	size_t len = 0;
	ssize_t n;
	int fd, big = MAX_MSG * 2, tries;

	if (!msg)
		return 1;
	while (len < MAX_MSG && (n = read(0, msg + len, MAX_MSG - len)) > 0)
		len += (size_t)n;
	/* As pam_piiwatch does: a full backlog is tried again shortly. */
	for (tries = 0; (fd = connect_to(path, SOCK_NONBLOCK)) < 0 && errno == EAGAIN && tries < 5000;
	     tries++)
		usleep(1000);
	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		free(msg);
		return 2;
	}
	fcntl(fd, F_SETFL, 0);
	/* Root may raise the buffer past wmem_max: huge messages must reach
	 * the daemon to test it. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	/* A peer refused at once may have answered and closed before the
	 * send: its answer still waits to be read. */
	if (send(fd, msg, len, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
		printf("send: %s\n", strerror(errno));
		free(msg);
		close(fd);
		return 1;
	}
	free(msg);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1 || (n = recv(fd, reply, sizeof(reply) - 1, 0)) <= 0) {
		printf("no reply\n");
		close(fd);
		return 1;
	}
	reply[n] = '\0';
	printf("%s\n", reply);
	close(fd);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char record[] =
	"{\"v\":1,\"type\":\"session_open\",\"id\":\"00001795578900552106-1-flood\","
	"\"user\":\"root\",\"service\":\"sshd\",\"rhost\":\"203.0.113.66\",\"ruser\":\"\","
	"\"tty\":\"ssh\",\"uid\":0,\"pid\":1,\"loginuid\":0,\"sessionid\":1,\"altered\":0,"
	"\"boot_id\":\"00000000-0000-0000-0000-000000000000\",\"time_ns\":1,\"mono_ns\":1}";

static void flood_worker(const char *path, double until, int fd_out)
{
	int idle[IDLE], n_idle = 0, i;
	unsigned long conns = 0, refused = 0;
	char junk[512];

	for (i = 0; i < IDLE; i++)
		idle[i] = -1;
	srand((unsigned)getpid());
	while (now() < until) {
		int fd = connect_to(path, SOCK_NONBLOCK);

		if (fd < 0) {
			refused++;
			if (errno != EAGAIN)
				usleep(1000); /* EACCES and the like: do not spin */
			continue;
		}
		conns++;
		switch (conns % 4) {
		case 0:
			break; /* says nothing */
		case 1:
			send(fd, record, sizeof(record) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			break;
		default:
			for (i = 0; i < (int)sizeof(junk); i++)
				junk[i] = (char)rand();
			send(fd, junk, (size_t)(rand() % (int)sizeof(junk)) + 1,
			     MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (conns % 10 == 0) {
			if (idle[n_idle % IDLE] >= 0)
				close(idle[n_idle % IDLE]);
			idle[n_idle++ % IDLE] = fd;
		} else {
			close(fd);
		}
	}
	for (i = 0; i < IDLE; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	dprintf(fd_out, "%lu %lu\n", conns, refused);
}

static int do_flood(const char *path, double seconds)
{
	double until = now() + seconds;
	unsigned long conns = 0, refused = 0, c, r;
	int p[2], i;
	FILE *f;

	if (pipe(p))
		return 1;
	for (i = 0; i < WORKERS; i++) {
		if (fork() == 0) {
			close(p[0]);
			flood_worker(path, until, p[1]);
			_exit(0);
		}
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fscanf(f, "%lu %lu", &c, &r) == 2) {
		conns += c;
		refused += r;
	}
	while (wait(NULL) > 0)
		;
	printf("%lu connections, %lu connects refused\n", conns, refused);
	return 0;
}

static int do_hold(const char *path, int n, double seconds)
{
	int *fds = calloc((size_t)n, sizeof(*fds)), i, held = 0;

	if (!fds)
		return 1;
	for (i = 0; i < n; i++) {
		fds[i] = connect_to(path, SOCK_NONBLOCK);
		held += fds[i] >= 0;
	}
	printf("%d connected\n", held);
	fflush(stdout);
	usleep((useconds_t)(seconds * 1e6));
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2]);
	if (argc == 4 && strcmp(argv[1], "flood") == 0)
		return do_flood(argv[2], atof(argv[3]));
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return do_hold(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: pw-sock send PATH | flood PATH SECONDS | hold PATH N SECONDS\n");
	return 2;
}
