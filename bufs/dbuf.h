/* SPDX-License-Identifier: BSD-3-Clause
 * DBuf: a data ring of variable-size blocks.  One producer thread; blocks
 * never straddle the end of the ring, so every record is one pointer and a
 * length.  Positions are 64-bit and only grow; the tail (oldest valid
 * byte) is published before any byte below it is overwritten.
 *
 * A lossless DBuf never overwrites bytes that a joined reader of a watched
 * IBuf still needs.  Watched IBufs must be written by the DBuf's own
 * producer thread (that thread reads their descriptors), and must stay
 * allocated until the producer can no longer be looking at them.
 */
#ifndef BUFS_DBUF_H
#define BUFS_DBUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bufs/ibuf.h"
#include "bufs/shm.h"

#define BW_DBUF_MAX 65535	/* ids 1..BW_DBUF_MAX; 0 means none */

struct bw_dbuf {
	/* read-mostly: readers use these per record (see bw_ibuf) */
	struct bw_shm shm;
	uint8_t *bytes;
	uint64_t size, mask;
	uint16_t id;
	bool lossless;
	bool read_only;		/* a file replayed in place, or a wrapped
				 * ring: never allocated from */
	bool truncated;		/* read_only: its file shrank (bw_dbuf_truncated) */
	int notify_fd;		/* read_only: an eventfd told of that, or -1 */
	int file_fd;		/* a file DBuf: the file (the owner's), or -1 */
	struct bw_shm *mirror;	/* a wrapped ring clients may not map: a copy
				 * its owner fills for them (bw_dbuf_mirror) */
	bool mirror_wanted;	/* a client was given the mirror (atomic) */
	/* the producer's own */
	_Alignas(64) uint64_t head;	/* next free position */
	uint64_t tail;		/* producer's copy of shm.hdr->tail */
	uint64_t tail_step;
	_Alignas(64) pthread_mutex_t watch_lock;
	struct bw_ibuf **watched;
	size_t nwatched, watched_cap;
};

/* size: bytes, a power of two >= 4096.  flags: BW_LOSSLESS. */
int bw_dbuf_create(struct bw_dbuf **out, uint64_t size, unsigned flags);
void bw_dbuf_destroy(struct bw_dbuf *d);

/* A read-only DBuf whose bytes are those of file `fd` (`len` bytes): a
 * producer publishes descriptors into it (position = pass * size + offset,
 * size being the power of two above len) and never allocates.  Its bytes
 * are never overwritten.  The fd stays the caller's.
 *
 * The file may still shrink under the mapping (truncate(1), `: > file`).
 * Touching a page past its new end would raise SIGBUS; instead, a
 * process-wide SIGBUS handler (installed by the first call) maps zero
 * pages there, so the access reads zeros, and marks the DBuf truncated.
 * A truncated DBuf's tail is set past every position: every record in it
 * fails bw_dbuf_intact() from then on, so readers drop (and count) what
 * they had not read yet, rather than hand on zeros, and reach EOF once the
 * producer ends.  Bytes between the new end and the end of its page read
 * as zeros without a fault: the owner finds that shrinking by the file's
 * size and calls bw_dbuf_set_truncated().  A SIGBUS anywhere else goes to
 * the action installed before (by default the process dies, as it
 * would have). */
int bw_dbuf_wrap_file(struct bw_dbuf **out, int fd, uint64_t len);

/* A DBuf whose bytes are `size` bytes (a power of two) at `bytes`, mapped
 * by someone else: the kernel's packet ring of a live capture.  As a file
 * DBuf, it is read-only to the daemon's rings (never allocated from); its
 * owner publishes descriptors into it and, before anything below a
 * position may be overwritten, moves the tail there (bw_dbuf_set_tail).
 * The mapping stays the owner's, to unmap after bw_dbuf_destroy. */
int bw_dbuf_wrap(struct bw_dbuf **out, void *bytes, uint64_t size);

/* Zero-copy clients of a wrapped ring they may not map (the kernel's
 * packet ring) read a mirror instead: a memfd DBuf of the same id and
 * size, whose bytes lie at the same positions, filled by the owner
 * (bw_dbuf_mirror_copy) from the moment a client is first given it
 * (bw_dbuf_mirror_want) on: one copy, made once any client has read.
 * bw_dbuf_make_mirror: 0 or -errno (its memory is not populated). */
int bw_dbuf_make_mirror(struct bw_dbuf *d);
void bw_dbuf_mirror_want(struct bw_dbuf *d);

static inline bool bw_dbuf_mirror_wanted(const struct bw_dbuf *d)
{
	return __atomic_load_n(&d->mirror_wanted, __ATOMIC_RELAXED);
}

/* The owner: copy len bytes at pos into the mirror (before publishing the
 * record that points there).  The first copy makes everything below pos
 * gone for clients. */
void bw_dbuf_mirror_copy(struct bw_dbuf *d, uint64_t pos, uint32_t len);

/* The owner of a wrapped DBuf: nothing below `tail` is intact any more
 * (readers that check a record after using it drop it).  Only grows. */
void bw_dbuf_set_tail(struct bw_dbuf *d, uint64_t tail);

/* A file DBuf's file shrank: its records are invalid from now on (see
 * above).  Async-signal-safe; once is enough, more calls are harmless. */
void bw_dbuf_set_truncated(struct bw_dbuf *d);

/* When d is marked truncated, 1 is written to eventfd `efd` (from the
 * signal handler too), so a thread can wait for it.  -1: nobody. */
void bw_dbuf_notify_truncated(struct bw_dbuf *d, int efd);

/* Was d marked truncated?  One load: cheap enough per record. */
static inline bool bw_dbuf_truncated(const struct bw_dbuf *d)
{
	return __atomic_load_n(&d->truncated, __ATOMIC_ACQUIRE);
}

/* DBufs by id.  The daemon's are in the process-wide registry; a client
 * keeps a table for each daemon it reads, since ids are per daemon. */
struct bw_dbuf_table {
	struct bw_dbuf *by_id[BW_DBUF_MAX + 1];
};
extern struct bw_dbuf_table bw_dbuf_registry;

static inline struct bw_dbuf *bw_dbuf_find(const struct bw_dbuf_table *t, uint16_t id)
{
	return __atomic_load_n(&t->by_id[id], __ATOMIC_ACQUIRE);
}

/* The DBuf with this id in the registry, or NULL. */
struct bw_dbuf *bw_dbuf_lookup(uint16_t id);

/* A client's read-only view of a DBuf the daemon made, from its memfd and,
 * for a file replayed in place, the file (file_fd, else -1); both are the
 * DBuf's once this succeeds, still the caller's when it fails.  Entered in
 * table t under the daemon's id.  0, -EPROTO (not a DBuf, an id t has
 * already, a ring in neither: a kernel ring), or -errno.  One thread per
 * table.  A file that shrinks under the mapping raises SIGBUS in the
 * client that touches the lost pages (the daemon marks the DBuf's records
 * gone, but cannot catch a client's fault). */
int bw_dbuf_attach(struct bw_dbuf_table *t, int fd, int file_fd, struct bw_dbuf **out);
void bw_dbuf_detach(struct bw_dbuf_table *t, struct bw_dbuf *d);

/* Producer: room for `len` bytes (at most size / 2).  Returns where to
 * write them and their position; NULL if len is too large (or the DBuf is
 * read-only).  A lossless
 * DBuf first waits until no reader of a watched IBuf needs the bytes
 * (readers of a cancelled IBuf do not count). */
void *bw_dbuf_alloc(struct bw_dbuf *d, uint32_t len, uint64_t *pos);

/* Lossless: consider readers of `ib` when overwriting. */
int bw_dbuf_watch(struct bw_dbuf *d, struct bw_ibuf *ib);
void bw_dbuf_unwatch(struct bw_dbuf *d, struct bw_ibuf *ib);

static inline const void *bw_dbuf_ptr(const struct bw_dbuf *d, uint64_t pos)
{
	return d->bytes + (pos & d->mask);
}

/* Reader: were the bytes at `pos` still intact when last read?  Call after
 * using them. */
static inline bool bw_dbuf_intact(const struct bw_dbuf *d, uint64_t pos)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return pos >= __atomic_load_n(&d->shm.hdr->tail, __ATOMIC_RELAXED);
}

#endif
