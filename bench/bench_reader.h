/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reader the benchmarks time and drive: open, read up to 16 KiB, close,
 * over every file of one directory in turn.  It runs as a program of its
 * own (bench_reader.c), so that piiwatchd sees it exec as it would see
 * tar or cat; the benchmark controls it through this structure in a
 * shared memory file.  Fields are read and written with __atomic builtins.
 */
#ifndef PW_BENCH_READER_H
#define PW_BENCH_READER_H

#include <stdint.h>

#define BENCH_READ_SIZE 16384

struct bench_reader_ctl {
	/* set by the benchmark */
	uint64_t iterations;   /* accesses to make; 0: until stop */
	uint64_t rate;         /* accesses per second; 0: as fast as it can */
	uint64_t limit;        /* wait while done reaches this; 0: no limit (may change) */
	uint32_t stop;         /* finish now */
	uint32_t pad;
	/* set by the reader */
	uint64_t done;         /* accesses made */
	uint64_t bytes;        /* bytes read */
	uint64_t loop_ns;      /* from the first access to the last */
	uint64_t waited_ns;    /* of which waiting for limit or for the pace */
	uint32_t started;
	uint32_t finished;
};

#endif
