/* SPDX-License-Identifier: BSD-3-Clause */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A lossless reader moves its hold this often, not per record: each move
 * costs a fence. */
#define HOLD_BATCH 64

int bw_reader_open(struct bw_reader *r, struct bw_ibuf *ib, enum bw_start from)
{
	memset(r, 0, sizeof(*r));
	r->ib = ib;
	r->cursor = from == BW_FROM_NOW ? bw_ibuf_head(ib) : bw_ibuf_tail(ib);
	if (ib->lossless) {
		int rc = bw_gate_join(&ib->gate, r->cursor, &r->hold);
		if (rc)
			return rc;
		r->held = r->cursor;
		/* The producer may have moved on before it saw us join. */
		uint64_t tail = bw_ibuf_tail(ib);
		if (r->cursor < tail)
			r->cursor = tail;
	}
	r->head_seen = r->cursor;
	return 0;
}

void bw_reader_close(struct bw_reader *r)
{
	bw_gate_leave(&r->hold);
	free(r->spill);
	r->spill = NULL;
}

static void move_hold(struct bw_reader *r, uint64_t seq, bool now)
{
	if (!r->hold.gate || seq == r->held || (!now && seq - r->held < HOLD_BATCH))
		return;
	r->held = seq;
	bw_hold_move(&r->hold, seq);
}

/* Copy the descriptor at the cursor.  Returns false if the producer
 * lapped us meanwhile (the copy may be torn); the cursor then moved on. */
static bool copy_desc(struct bw_reader *r, struct pfs_desc *d)
{
	struct bw_ibuf *ib = r->ib;
	uint64_t tail = bw_ibuf_tail(ib);
	if (r->cursor < tail) {
		r->drops += tail - r->cursor;
		r->cursor = tail;
	}
	memcpy(d, &ib->slots[r->cursor & ib->mask], sizeof(*d));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return r->cursor >= __atomic_load_n(&ib->shm.hdr->tail, __ATOMIC_RELAXED);
}

int bw_reader_next(struct bw_reader *r, struct pfs_desc *d, const void **data)
{
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
		/* Until the next call the caller may be using this record. */
		move_hold(r, r->cursor, false);
		r->cursor++;
		struct bw_dbuf *db = bw_dbuf_lookup(d->dbuf);
		if (!db || !bw_dbuf_intact(db, d->pos)) {
			r->drops++;
			continue;
		}
		*data = bw_dbuf_ptr(db, d->pos);
		return 1;
	}
}

bool bw_reader_intact(struct bw_reader *r, const struct pfs_desc *d)
{
	struct bw_dbuf *db = bw_dbuf_lookup(d->dbuf);
	if (db && bw_dbuf_intact(db, d->pos)) {
		r->records++;
		r->bytes += d->len;
		return true;
	}
	r->drops++;
	return false;
}

/* Keep a record that does not fit the caller's buffer. */
static void spill_record(struct bw_reader *r, const struct pfs_desc *d,
			 const uint8_t *prefix, size_t plen, const void *data)
{
	size_t need = plen + d->len;
	if (need > r->spill_cap) {
		uint8_t *s = realloc(r->spill, need);
		if (!s) {
			r->drops++;
			return;
		}
		r->spill = s;
		r->spill_cap = need;
	}
	memcpy(r->spill, prefix, plen);
	memcpy(r->spill + plen, data, d->len);
	if (!bw_reader_intact(r, d))
		return;
	r->spill_len = need;
	r->spill_off = 0;
}

static size_t drain_spill(struct bw_reader *r, uint8_t *out, size_t cap)
{
	size_t n = r->spill_len - r->spill_off;
	if (n > cap)
		n = cap;
	memcpy(out, r->spill + r->spill_off, n);
	r->spill_off += n;
	if (r->spill_off == r->spill_len)
		r->spill_len = r->spill_off = 0;
	return n;
}

size_t bw_reader_copy(struct bw_reader *r, void *buf, size_t cap)
{
	uint8_t *out = buf;
	uint8_t prefix[BW_PREFIX_MAX];
	size_t n = 0;
	struct pfs_desc d;
	const void *data;

	while (n < cap) {
		if (r->spill_len) {
			n += drain_spill(r, out + n, cap - n);
			continue;
		}
		if (bw_reader_next(r, &d, &data) <= 0)
			break;
		size_t plen = r->prefix ? r->prefix(&d, prefix, r->prefix_arg) : 0;
		if (plen + d.len > cap - n) {
			spill_record(r, &d, prefix, plen, data);
			continue;
		}
		memcpy(out + n, prefix, plen);
		memcpy(out + n + plen, data, d.len);
		if (bw_reader_intact(r, &d))
			n += plen + d.len;
	}
	return n;
}

bool bw_reader_eof(struct bw_reader *r)
{
	if (r->spill_len || !bw_ibuf_ended(r->ib))
		return false;
	return r->cursor >= bw_ibuf_head(r->ib);
}

static bool ready(struct bw_reader *r)
{
	return r->spill_len || r->cursor < bw_ibuf_head(r->ib) ||
	       bw_ibuf_ended(r->ib);
}

int bw_reader_wait(struct bw_reader *r, const struct timespec *timeout)
{
	if (ready(r))
		return 0;
	move_hold(r, r->cursor, true);
	struct bw_waitq *q = &r->ib->data;
	uint32_t token = bw_waitq_arm(q);
	int rc = ready(r) ? 0 : bw_waitq_sleep(q, token, timeout);
	bw_waitq_disarm(q);
	return rc;
}
