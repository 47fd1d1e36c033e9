/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A consumer of a BPF ring buffer that separates reading records from
 * releasing them.  libbpf's consumer gives a record's space back to the
 * kernel as soon as its callback returns; piiwatchd must not give it back
 * before the record is committed to the store, or a crash in between loses
 * it.  Positions are the kernel's: they only grow for the life of the map,
 * so the store can remember up to where it has committed.
 */
#ifndef PW_RINGBUF_H
#define PW_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

struct pw_ring;

typedef void (*pw_ring_fn)(void *ctx, const void *data, size_t size);

/* Map a ring buffer map; max_entries is its data size (a power of 2). */
struct pw_ring *pw_ring_open(int map_fd, uint32_t max_entries);
void pw_ring_close(struct pw_ring *r);

/* Position up to which the kernel may reuse space. */
uint64_t pw_ring_released(const struct pw_ring *r);
/* Position up to which records have been read (>= released). */
uint64_t pw_ring_read_pos(const struct pw_ring *r);

/* Skip records up to pos without reading them: they were committed before
 * a crash.  pos must be between the released position and the producer's. */
int pw_ring_skip_to(struct pw_ring *r, uint64_t pos);

/* Hand up to max records after the read position to fn; returns how many. */
int pw_ring_read(struct pw_ring *r, pw_ring_fn fn, void *ctx, int max);

/* Read again from the released position (a commit failed). */
void pw_ring_rewind(struct pw_ring *r);

/* Give the space of every record read so far back to the kernel. */
void pw_ring_release(struct pw_ring *r);

/* Bytes written by the kernel and not yet released. */
uint64_t pw_ring_pending(const struct pw_ring *r);

#endif
