/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A lossless reader moves its hold this often, not per record: each move
 * costs a fence. */
#define HOLD_BATCH 64

int bw_reader_open_held(struct bw_reader *r, struct bw_ibuf *ib,
			const struct bw_hold *hold)
{
	memset(r, 0, sizeof(*r));
	r->ib = ib;
	r->dbufs = &bw_dbuf_registry;
	r->hold = *hold;
	r->held = r->cursor = r->head_seen = __atomic_load_n(hold->slot, __ATOMIC_ACQUIRE);
	return 0;
}

static uint64_t start_seq(const struct bw_ibuf *ib, enum bw_start from)
{
	switch (from) {
	case BW_FROM_NOW:
		return bw_ibuf_head(ib);
	case BW_FROM_START:
		return 0;
	default:
		return bw_ibuf_tail(ib);
	}
}

/* Drops are read by other threads (a node's stats): atomic, and rare. */
static void count_drops(struct bw_reader *r, uint64_t n)
{
	__atomic_fetch_add(&r->drops, n, __ATOMIC_RELAXED);
}

static void move_hold(struct bw_reader *r, uint64_t seq, bool now)
{
	if (!r->hold.gate || seq == r->held || (!now && seq - r->held < HOLD_BATCH))
		return;
	r->held = seq;
	bw_hold_move(&r->hold, seq);
}

static void reader_init(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from)
{
	memset(r, 0, sizeof(*r));
	r->ib = ib;
	r->dbufs = &bw_dbuf_registry;
	r->cursor = r->head_seen = start_seq(ib, from);
}

/* Copy the descriptor at the cursor.  False if the producer lapped us
 * meanwhile: the copy may be torn. */
static bool load_desc(const struct bw_reader *r, struct pfs_desc *d)
{
	const struct bw_ibuf *ib = r->ib;
	memcpy(d, &ib->slots[r->cursor & ib->mask], sizeof(*d));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return r->cursor >= __atomic_load_n(&ib->shm.hdr->tail, __ATOMIC_RELAXED);
}

/* Move the cursor up to the ring's tail: how many records it skipped. */
static uint64_t catch_up_tail(struct bw_reader *r)
{
	uint64_t tail = bw_ibuf_tail(r->ib);
	if (r->cursor >= tail)
		return 0;
	uint64_t skipped = tail - r->cursor;
	r->cursor = tail;
	return skipped;
}

static bool bytes_intact(const struct bw_reader *r, const struct pfs_desc *d)
{
	struct bw_dbuf *db = bw_dbuf_find(r->dbufs, d->dbuf);
	return db && bw_dbuf_intact(db, d->pos);
}

/*
 * Start at the oldest record the ring still holds.  A data ring may hold
 * fewer records than the index ring that points into it (a 64K ring of
 * text lines under 1024 descriptors): the oldest descriptors then point
 * at bytes that were reused before we opened.  Those records were gone
 * already, so they are not ours to count as lost.
 */
static void skip_gone(struct bw_reader *r)
{
	struct pfs_desc d;
	r->head_seen = bw_ibuf_head(r->ib);
	while (catch_up_tail(r), r->cursor < r->head_seen) {
		if (!load_desc(r, &d))
			continue;
		/* Its head room too: a view may frame it with that. */
		d.pos = d.pos >= d.head_room ? d.pos - d.head_room : 0;
		if (bytes_intact(r, &d))
			return;
		r->cursor++;
	}
}

void bw_reader_follow_in(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from,
			 const struct bw_dbuf_table *dbufs)
{
	reader_init(r, ib, from);
	r->dbufs = dbufs;
	if (from == BW_FROM_OLDEST)
		skip_gone(r);
}

void bw_reader_follow(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from)
{
	bw_reader_follow_in(r, ib, from, &bw_dbuf_registry);
}

int bw_reader_open(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from)
{
	if (!ib->lossless) {
		bw_reader_follow(r, ib, from);
		return 0;
	}
	reader_init(r, ib, from);
	int rc = bw_gate_join(&ib->gate, r->cursor, &r->hold);
	if (rc)
		return rc;
	r->held = r->cursor;
	/* The producer may have moved on before it saw us join: not a loss,
	 * unless we asked for the records before the oldest too. */
	if (from != BW_FROM_START)
		catch_up_tail(r);
	/* Held now: the producer keeps what is intact from here on (but for
	 * a move of its tail it decided before it saw us join: counted). */
	if (from == BW_FROM_OLDEST)
		skip_gone(r);
	move_hold(r, r->cursor, true);
	return 0;
}

void bw_reader_close(struct bw_reader *r)
{
	bw_gate_leave(&r->hold);
}

/* Copy the descriptor at the cursor, counting what the producer lapped
 * us by.  False if it lapped us meanwhile (the copy may be torn). */
static bool copy_desc(struct bw_reader *r, struct pfs_desc *d)
{
	uint64_t lapped = catch_up_tail(r);
	if (lapped)
		count_drops(r, lapped);
	return load_desc(r, d);
}

int bw_reader_next(struct bw_reader *r, struct pfs_desc *d, const void **data)
{
	r->unknown_dbuf = 0;
	for (;;) {
		if (r->cursor >= r->head_seen) {
			r->head_seen = bw_ibuf_head(r->ib);
			if (r->cursor >= r->head_seen) {
				move_hold(r, r->cursor, true);
				return 0;
			}
		}
		if (!copy_desc(r, d))
			continue;
		struct bw_dbuf *db = bw_dbuf_find(r->dbufs, d->dbuf);
		if (!db && r->await_dbufs) {
			r->unknown_dbuf = d->dbuf;
			return 0;
		}
		/* Until the next call the caller may be using this record. */
		move_hold(r, r->cursor, false);
		r->cursor++;
		if (!db || !bw_dbuf_intact(db, d->pos)) {
			count_drops(r, 1);
			continue;
		}
		*data = bw_dbuf_ptr(db, d->pos);
		return 1;
	}
}

void bw_reader_skip(struct bw_reader *r)
{
	r->unknown_dbuf = 0;
	r->cursor++;
	count_drops(r, 1);
}

bool bw_reader_intact(struct bw_reader *r, const struct pfs_desc *d)
{
	if (bytes_intact(r, d)) {
		r->records++;
		r->bytes += d->len;
		return true;
	}
	count_drops(r, 1);
	return false;
}

bool bw_reader_eof(struct bw_reader *r)
{
	if (!bw_ibuf_ended(r->ib))
		return false;
	return r->cursor >= bw_ibuf_head(r->ib);
}

static bool ready(struct bw_reader *r)
{
	return r->cursor < bw_ibuf_head(r->ib) || bw_ibuf_ended(r->ib);
}

int bw_reader_listen(struct bw_reader *r, int efd)
{
	/* Whatever we wait for, we hold nothing before the cursor. */
	move_hold(r, r->cursor, true);
	return bw_waitq_listen(&r->ib->data, efd);
}

void bw_reader_unlisten(struct bw_reader *r, int efd)
{
	bw_waitq_unlisten(&r->ib->data, efd);
}

int bw_reader_wait(struct bw_reader *r, const struct timespec *timeout)
{
	if (ready(r))
		return 0;
	move_hold(r, r->cursor, true);
	uint32_t token = bw_waitq_arm(&r->ib->data);
	int rc = ready(r) ? 0 : bw_waitq_sleep(&r->ib->data, token, timeout);
	bw_waitq_disarm(&r->ib->data);
	return rc;
}
