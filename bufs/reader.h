/* SPDX-License-Identifier: BSD-3-Clause
 * Readers: a private cursor over one IBuf.  A reader never writes ring
 * memory.  A lapped reader skips to the oldest valid record and counts the
 * loss in `drops`; a record whose bytes were overwritten while in use is
 * detected by bw_reader_intact() and never handed on as data.
 *
 * On a lossless ring a reader either holds the producer back (it joins the
 * ring's gate: bw_reader_open) or does not (bw_reader_follow): it is then
 * lapped and counts its losses exactly as on a lossy ring, because the
 * producer moves the ring's tails before overwriting either way.
 */
#ifndef BUFS_READER_H
#define BUFS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bufs/dbuf.h"
#include "bufs/ibuf.h"

/* BW_FROM_OLDEST: from the oldest record the ring still holds, whose
 * bytes are intact (older descriptors may point at reused bytes: those
 * records were gone before the open and are no drops).  BW_FROM_START:
 * from sequence 0, counting what was lost before the oldest record as
 * drops (for a ring made after the reader wanted it). */
enum bw_start { BW_FROM_OLDEST, BW_FROM_NOW, BW_FROM_START };

struct bw_reader {
	struct bw_ibuf *ib;
	const struct bw_dbuf_table *dbufs;	/* where its records' DBufs are:
						 * the registry, unless a client's */
	uint64_t cursor;	/* next sequence number to read */
	uint64_t head_seen;	/* last head loaded: saves a shared load */
	uint64_t drops;		/* records lost to the producer lapping us
				 * (atomic: other threads read it) */
	uint64_t records, bytes;/* handed on */
	struct bw_hold hold;	/* holding a lossless ring: what we still need */
	uint64_t held;
	bool await_dbufs;	/* a client's: stop at a record whose DBuf is
				 * not in the table yet (see bw_reader_next) */
	uint16_t unknown_dbuf;	/* await_dbufs: the DBuf id stopped at, or 0 */
};

/* Returns 0 or -errno (-ENOMEM: no room to join a lossless ring). */
int bw_reader_open(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from);
void bw_reader_close(struct bw_reader *r);

/* Open without holding the producer back, whatever the ring (close with
 * bw_reader_close). */
void bw_reader_follow(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from);

/* As bw_reader_follow, finding the records' DBufs in `dbufs` (a client's
 * table) rather than the registry. */
void bw_reader_follow_in(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from,
			 const struct bw_dbuf_table *dbufs);

/* Open at a hold someone joined for us on a lossless ring (before its
 * producer could pass it), and own that hold from now on. */
int bw_reader_open_held(struct bw_reader *r, struct bw_ibuf *ib,
			const struct bw_hold *hold);

/* The next record: 1 with *d and *data set, 0 if none is ready yet.  The
 * bytes are the producer's: check them with bw_reader_intact() after use.
 * A record whose DBuf is not in the table is dropped (counted), unless
 * the reader awaits DBufs: it then stops there, returns 0 with
 * unknown_dbuf set, and tries again at the next call (a client, once it
 * has asked the daemon for the ring), or drops it at bw_reader_skip(). */
int bw_reader_next(struct bw_reader *r, struct pfs_desc *d, const void **data);

/* Drop the record at the cursor, counted as lost: one whose DBuf never
 * came. */
void bw_reader_skip(struct bw_reader *r);

/* After using a record's bytes: true if they were intact throughout.  A
 * false answer counts the record in drops: discard what was made of it. */
bool bw_reader_intact(struct bw_reader *r, const struct pfs_desc *d);

/* True when the producer has ended and every record has been read. */
bool bw_reader_eof(struct bw_reader *r);

/* For event loops: have the ring's wakeups write `efd`, then re-check
 * before parking; stop with bw_reader_unlisten() and the same fd.  listen
 * returns 0 or -ENOSPC (see bw_waitq_listen). */
int bw_reader_listen(struct bw_reader *r, int efd);
void bw_reader_unlisten(struct bw_reader *r, int efd);

/* Block until a record may be ready, the stream ended, a signal or the
 * timeout (NULL: none).  Returns 0, -EINTR or -ETIMEDOUT. */
int bw_reader_wait(struct bw_reader *r, const struct timespec *timeout);

#endif
