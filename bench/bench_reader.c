// SPDX-License-Identifier: GPL-2.0
/*
 * bench_reader: the workload of piiwatch's benchmarks (see bench_reader.h).
 *
 *   bench_reader CTL_FD DIR
 *
 * CTL_FD is an inherited shared memory file holding struct
 * bench_reader_ctl.  Exit status 0 when every access read its file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_reader.h"

#define MAX_FILES 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir, sorted, as absolute paths. */
static int list_files(const char *dir, char **paths, int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max) {
		if (de->d_type != DT_REG)
			continue;
		if (asprintf(&paths[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(paths, (size_t)n, sizeof(*paths), cmp_str);
	return n;
}

static void wait_until(uint64_t deadline)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ULL),
			       .tv_nsec = (long)(deadline % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	static char buf[BENCH_READ_SIZE];
	static char *paths[MAX_FILES];
	struct bench_reader_ctl *c;
	uint64_t i, t0, next, period = 0, waited = 0, bytes = 0, iterations;
	char *end;
	long fdl;
	int n, failed = 0; /* errno of the access that failed */

	if (argc != 3) {
		fprintf(stderr, "usage: bench_reader CTL_FD DIR\n");
		return 2;
	}
	errno = 0;
	fdl = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || fdl < 0 || fdl > INT_MAX) {
		fprintf(stderr, "bench_reader: bad descriptor '%s'\n", argv[1]);
		return 2;
	}
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fdl, 0);
	if (c == MAP_FAILED) {
		perror("bench_reader: mmap");
		return 2;
	}
	n = list_files(argv[2], paths, MAX_FILES);
	if (n <= 0) {
		fprintf(stderr, "bench_reader: no files in %s\n", argv[2]);
		return 2;
	}
	iterations = __atomic_load_n(&c->iterations, __ATOMIC_RELAXED);
	if (c->rate)
		period = 1000000000ULL / c->rate;
	__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	t0 = now_ns();
	next = t0;
	i = 0;
	while (!iterations || i < iterations) {
		uint64_t limit = __atomic_load_n(&c->limit, __ATOMIC_ACQUIRE);
		int fd;
		ssize_t got;

		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
			break;
		if (limit && i >= limit) {
			uint64_t w = now_ns();

			/* Held back: the benchmark raises the limit or stops us. */
			wait_until(w + 50000);
			waited += now_ns() - w;
			continue;
		}
		if (period) {
			next += period;
			if (next > now_ns()) {
				uint64_t w = now_ns();

				wait_until(next);
				waited += now_ns() - w;
			}
		}
		fd = open(paths[i % (uint64_t)n], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			failed = errno;
			break;
		}
		got = read(fd, buf, sizeof(buf));
		if (got < 0)
			failed = errno;
		close(fd);
		if (failed)
			break;
		bytes += (uint64_t)got;
		__atomic_store_n(&c->done, ++i, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&c->loop_ns, now_ns() - t0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->waited_ns, waited, __ATOMIC_RELAXED);
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	if (failed)
		fprintf(stderr, "bench_reader: %s: %s\n", paths[i % (uint64_t)n], strerror(failed));
	for (i = 0; i < (uint64_t)n; i++)
		free(paths[i]);
	munmap(c, sizeof(*c));
	return failed ? 1 : 0;
}
