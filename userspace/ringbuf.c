// SPDX-License-Identifier: GPL-2.0
#include "ringbuf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct pw_ring {
	int fd;
	size_t page;
	uint64_t mask;
	uint64_t *consumer;     /* shared with the kernel: released position */
	uint64_t *producer;
	uint8_t *data;
	size_t data_map_len;
	uint64_t read_pos;
	uint8_t *bounce;        /* a record that wraps around the end, in one piece */
	size_t bounce_size;
};

struct pw_ring *pw_ring_open(int map_fd, uint32_t max_entries)
{
	struct pw_ring *r = calloc(1, sizeof(*r));
	void *p;

	if (!r)
		return NULL;
	r->fd = map_fd;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->mask = max_entries - 1;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer = p;
	/*
	 * The kernel offers the data area twice in a row, so that a record that
	 * wraps around the end reads in one piece; but the mapping is populated
	 * whole, and the second copy would double what the daemon counts as
	 * resident.  Map it once and copy the rare wrapping record.
	 */
	r->data_map_len = r->page + (size_t)max_entries;
	p = mmap(NULL, r->data_map_len, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->producer = p;
	r->data = (uint8_t *)p + r->page;
	r->read_pos = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	return r;
fail:
	pw_ring_close(r);
	return NULL;
}

void pw_ring_close(struct pw_ring *r)
{
	if (!r)
		return;
	if (r->consumer)
		munmap(r->consumer, r->page);
	if (r->producer)
		munmap(r->producer, r->data_map_len);
	free(r->bounce);
	free(r);
}

uint64_t pw_ring_released(const struct pw_ring *r)
{
	return __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
}

uint64_t pw_ring_read_pos(const struct pw_ring *r)
{
	return r->read_pos;
}

uint64_t pw_ring_pending(const struct pw_ring *r)
{
	return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE) - pw_ring_released(r);
}

static uint64_t record_size(uint32_t len)
{
	return ((uint64_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
}

int pw_ring_skip_to(struct pw_ring *r, uint64_t pos)
{
	uint64_t prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);

	if (pos < r->read_pos || pos > prod) {
		errno = ERANGE;
		return -1;
	}
	/* Walk the headers so that the position lands on a record boundary. */
	while (r->read_pos < pos) {
		const uint32_t *hdr = (const uint32_t *)(r->data + (r->read_pos & r->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT) {
			errno = EAGAIN;
			return -1;
		}
		r->read_pos += record_size(len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT));
	}
	return 0;
}

/* The record of len bytes whose header is at pos, in one piece (NULL
 * when a wrapping record cannot be copied). */
static const uint8_t *record_at(struct pw_ring *r, uint64_t pos, uint32_t len)
{
	/* Headers are 8-byte aligned and never wrap; bodies may. */
	uint64_t off = (pos + BPF_RINGBUF_HDR_SZ) & r->mask, first = r->mask + 1 - off;
	uint8_t *b;

	if (len <= first)
		return r->data + off;
	if (r->bounce_size < len) {
		b = realloc(r->bounce, len);
		if (!b)
			return NULL;
		r->bounce = b;
		r->bounce_size = len;
	}
	memcpy(r->bounce, r->data + off, first);
	memcpy(r->bounce + first, r->data, len - first);
	return r->bounce;
}

int pw_ring_read(struct pw_ring *r, pw_ring_fn fn, void *ctx, int max)
{
	uint64_t prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
	int n = 0;

	while (r->read_pos < prod && n < max) {
		const uint32_t *hdr = (const uint32_t *)(r->data + (r->read_pos & r->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		const uint8_t *rec;

		/* A record still being written: everything after it waits. */
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			rec = record_at(r, r->read_pos, len);
			/* Out of memory: stop here and read it again next time. */
			if (!rec)
				break;
			fn(ctx, rec, len);
			n++;
		}
		r->read_pos += record_size(len & ~BPF_RINGBUF_DISCARD_BIT);
	}
	return n;
}

void pw_ring_release(struct pw_ring *r)
{
	__atomic_store_n(r->consumer, r->read_pos, __ATOMIC_RELEASE);
}

void pw_ring_rewind(struct pw_ring *r)
{
	r->read_pos = pw_ring_released(r);
}
