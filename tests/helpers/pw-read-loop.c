// SPDX-License-Identifier: GPL-2.0
/*
 * pw-read-loop: read files whole, one after the other and round again,
 * at a steady rate, until SIGTERM or SIGINT; log every completed read.
 * The soak test compares that log with the store.
 *
 *   pw-read-loop -r READS_PER_SECOND -l LOG FILE...
 *
 * LOG gets one line per read, "PATH BYTES", written only once the file is
 * closed.  At the end the number of reads goes to standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long read_whole(const char *path)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (close(fd) != 0 || n < 0)
		return -1;
	return total;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *log_path = NULL;
	double rate = 100, start;
	unsigned long long done = 0;
	FILE *log;
	int c, nfiles;

	while ((c = getopt(argc, argv, "r:l:")) != -1) {
		switch (c) {
		case 'r':
			rate = atof(optarg);
			break;
		case 'l':
			log_path = optarg;
			break;
		default:
			return 2;
		}
	}
	nfiles = argc - optind;
	if (!log_path || nfiles <= 0 || rate <= 0) {
		fprintf(stderr, "usage: pw-read-loop -r READS_PER_SECOND -l LOG FILE...\n");
		return 2;
	}
	log = fopen(log_path, "we");
	if (!log) {
		perror(log_path);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	start = now();
	while (!stop) {
		const char *path = argv[optind + (int)(done % (unsigned long long)nfiles)];
		double due = start + (double)done / rate, wait = due - now();
		long long n;

		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
		n = read_whole(path);
		if (n < 0) {
			fprintf(stderr, "pw-read-loop: %s: %s\n", path, strerror(errno));
			fclose(log);
			return 1;
		}
		fprintf(log, "%s %lld\n", path, n);
		done++;
	}
	if (fclose(log) != 0) {
		perror(log_path);
		return 1;
	}
	printf("%llu\n", done);
	return 0;
}
