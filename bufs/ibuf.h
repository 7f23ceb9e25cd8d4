/* SPDX-License-Identifier: BSD-3-Clause
 * IBuf: an index ring of fixed-size descriptors (struct pfs_desc) that
 * point into DBufs.  One producer thread; readers keep private cursors.
 */
#ifndef BUFS_IBUF_H
#define BUFS_IBUF_H

#include <stdbool.h>
#include <stdint.h>

#include "bufs/gate.h"
#include "pipesfs_record.h"
#include "bufs/shm.h"
#include "bufs/waitq.h"

#define BW_LOSSLESS 0x1u	/* producer waits for the slowest joined reader */

/* Fields are grouped by who writes them, one cache line per group: a line
 * the producer writes per record must not hold what readers read per
 * record, or every record costs a cross-core transfer. */
struct bw_ibuf {
	/* read-mostly */
	struct bw_shm shm;
	struct pfs_desc *slots;
	uint64_t count, mask;
	bool lossless;
	/* the producer's own */
	_Alignas(64) uint64_t head;	/* next seq; readers see it at flush */
	uint64_t tail;		/* producer's copy of shm.hdr->tail */
	uint64_t tail_step;	/* tail moves in steps: readers' loads of it
				 * then rarely miss the cache */
	_Alignas(64) struct bw_waitq data;	/* readers wait here */
	struct bw_gate gate;	/* lossless: sequence numbers still needed */
};

/* count: descriptors, a power of two >= 2.  Returns 0 or -errno. */
int bw_ibuf_create(struct bw_ibuf **out, uint64_t count, unsigned flags);
void bw_ibuf_destroy(struct bw_ibuf *ib);

/* A client's read-only view of an IBuf the daemon made, from its memfd
 * (the IBuf's once this succeeds; still the caller's when it fails): for
 * readers that follow it (bw_reader_follow), never for a producer.  0,
 * -EPROTO (not an IBuf, or a size that does not fit the memfd), or
 * -errno. */
int bw_ibuf_attach(struct bw_ibuf **out, int fd);

/* Producer: append a copy of *d (its seq is set).  Readers see it at the
 * next flush.  Lossless rings wait for room; returns 0, or -ECANCELED when
 * bw_ibuf_cancel() ended the wait. */
int bw_ibuf_publish(struct bw_ibuf *ib, struct pfs_desc *d);

/* Producer: make a batch of publishes visible and wake readers: one store
 * of the head per batch, and no system call unless a reader sleeps. */
void bw_ibuf_flush(struct bw_ibuf *ib);

/* Producer (or, with the producer excluded, its owner): mark the ring
 * ended in its shared header (readers then see EOF once caught up), or
 * live again.  Publishes what was flushed before, and wakes readers. */
void bw_ibuf_set_ended(struct bw_ibuf *ib, bool ended);

/* Teardown: a producer waiting for room gives up. */
void bw_ibuf_cancel(struct bw_ibuf *ib);

static inline uint64_t bw_ibuf_head(const struct bw_ibuf *ib)
{
	return __atomic_load_n(&ib->shm.hdr->head, __ATOMIC_ACQUIRE);
}

static inline uint64_t bw_ibuf_tail(const struct bw_ibuf *ib)
{
	return __atomic_load_n(&ib->shm.hdr->tail, __ATOMIC_ACQUIRE);
}

static inline bool bw_ibuf_ended(const struct bw_ibuf *ib)
{
	return __atomic_load_n(&ib->shm.hdr->ended, __ATOMIC_ACQUIRE);
}

#endif
