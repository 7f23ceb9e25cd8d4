/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bw_merge_init(struct bw_merge *m, bool holds, const struct bw_framing *framing)
{
	memset(m, 0, sizeof(*m));
	m->holds = holds;
	m->dbufs = &bw_dbuf_registry;
	if (framing)
		m->framing = *framing;
}

void bw_merge_fini(struct bw_merge *m)
{
	for (size_t i = 0; i < m->n; i++)
		bw_reader_close(&m->in[i].r);
	free(m->in);
	free(m->spill);
	memset(m, 0, sizeof(*m));
}

static struct bw_merge_in *new_input(struct bw_merge *m)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 2;
		struct bw_merge_in *in = realloc(m->in, cap * sizeof(*in));
		if (!in)
			return NULL;
		m->in = in;
		m->cap = cap;
	}
	memset(&m->in[m->n], 0, sizeof(m->in[m->n]));
	return &m->in[m->n];
}

int bw_merge_add(struct bw_merge *m, struct bw_ibuf *ib, enum bw_start from)
{
	struct bw_merge_in *in = new_input(m);
	if (!in)
		return -ENOMEM;
	int rc = 0;
	if (m->holds)
		rc = bw_reader_open(&in->r, ib, from);
	else
		bw_reader_follow_in(&in->r, ib, from, m->dbufs);
	in->r.await_dbufs = m->await_dbufs;
	if (rc == 0)
		m->n++;
	return rc;
}

int bw_merge_add_held(struct bw_merge *m, struct bw_ibuf *ib, const struct bw_hold *hold)
{
	struct bw_merge_in *in = new_input(m);
	if (!in)
		return -ENOMEM;
	bw_reader_open_held(&in->r, ib, hold);
	m->n++;
	return 0;
}

bool bw_merge_has(const struct bw_merge *m, const struct bw_ibuf *ib)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->in[i].r.ib == ib)
			return true;
	return false;
}

/* The input whose next record is the oldest, or NULL if none is ready. */
static struct bw_merge_in *oldest(struct bw_merge *m)
{
	struct bw_merge_in *best = NULL;
	for (size_t i = 0; i < m->n; i++) {
		struct bw_merge_in *in = &m->in[i];
		if (!in->has_next)
			in->has_next = bw_reader_next(&in->r, &in->next, &in->next_data) == 1;
		if (in->has_next && (!best || in->next.ts_ns < best->next.ts_ns))
			best = in;
	}
	return best;
}

uint16_t bw_merge_unknown_dbuf(struct bw_merge *m, bool drop)
{
	uint16_t id = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct bw_reader *r = &m->in[i].r;
		if (!r->unknown_dbuf)
			continue;
		id = r->unknown_dbuf;
		if (drop)
			bw_reader_skip(r);
	}
	return id;
}

bool bw_merge_peek(struct bw_merge *m, struct pfs_desc *d)
{
	struct bw_merge_in *best = oldest(m);
	if (best)
		*d = best->next;
	return best;
}

/* Hand out in's fetched record. */
static void take(struct bw_merge *m, struct bw_merge_in *in, struct pfs_desc *d,
		 const void **data)
{
	in->has_next = false;
	m->last = &in->r;
	*d = in->next;
	*data = in->next_data;
}

int bw_merge_next(struct bw_merge *m, struct pfs_desc *d, const void **data)
{
	struct bw_merge_in *best = oldest(m);
	if (!best)
		return 0;
	take(m, best, d, data);
	return 1;
}

bool bw_merge_intact(struct bw_merge *m, const struct pfs_desc *d)
{
	return bw_reader_intact(m->last, d);
}

/* Were d's bytes intact while we used them?  With framing, its head room
 * too: the frame was made from it. */
static bool framed_intact(struct bw_merge *m, const struct pfs_desc *d)
{
	struct pfs_desc whole = *d;
	if (m->framing.frame)
		whole.pos -= whole.head_room;
	return bw_merge_intact(m, &whole);
}

/* Keep a record (framed by f) that does not fit the caller's buffer;
 * false if it was lost. */
static bool spill_record(struct bw_merge *m, const struct pfs_desc *d,
			 const struct bw_frame *f, const void *data)
{
	size_t need = f->head_len + d->len + f->tail_len;
	if (need > m->spill_cap) {
		uint8_t *s = realloc(m->spill, need);
		if (!s) {
			__atomic_fetch_add(&m->last->drops, 1, __ATOMIC_RELAXED);
			return false;
		}
		m->spill = s;
		m->spill_cap = need;
	}
	memcpy(m->spill, f->head, f->head_len);
	memcpy(m->spill + f->head_len, data, d->len);
	memcpy(m->spill + f->head_len + d->len, f->tail, f->tail_len);
	if (!framed_intact(m, d))
		return false;
	m->spill_len = need;
	m->spill_off = 0;
	return true;
}

static size_t drain_spill(struct bw_merge *m, uint8_t *out, size_t cap)
{
	size_t n = m->spill_len - m->spill_off;
	if (n > cap)
		n = cap;
	memcpy(out, m->spill + m->spill_off, n);
	m->spill_off += n;
	if (m->spill_off == m->spill_len)
		m->spill_len = m->spill_off = 0;
	return n;
}

/* Copy d framed by f to out; false if its bytes were overwritten meanwhile. */
static bool copy_record(struct bw_merge *m, const struct pfs_desc *d,
			const struct bw_frame *f, const void *data, uint8_t *out)
{
	memcpy(out, f->head, f->head_len);
	memcpy(out + f->head_len, data, d->len);
	memcpy(out + f->head_len + d->len, f->tail, f->tail_len);
	return framed_intact(m, d);
}

size_t bw_merge_copy(struct bw_merge *m, void *buf, size_t cap)
{
	uint8_t *out = buf;
	struct bw_frame f;
	size_t n = 0;
	struct pfs_desc d;
	const void *data;

	while (n < cap) {
		if (m->spill_len) {
			n += drain_spill(m, out + n, cap - n);
			continue;
		}
		struct bw_merge_in *best = oldest(m);
		if (!best)
			break;
		size_t input = (size_t)(best - m->in);
		f.head_len = f.tail_len = 0;
		f.skip = false;
		if (m->framing.frame)
			m->framing.frame(&best->next, best->next_data, input, &f,
					 m->framing.arg);
		size_t len = f.head_len + best->next.len + f.tail_len;
		bool fits = f.skip || len <= cap - n;
		/* Whole records while they fit: a record that does not opens
		 * the next copy, unless it is larger than a whole one. */
		if (!fits && n > 0)
			break;
		take(m, best, &d, &data);
		bool taken = f.skip;	/* left out: nothing to copy */
		if (!fits)
			taken = spill_record(m, &d, &f, data);
		else if (!f.skip && (taken = copy_record(m, &d, &f, data, out + n)))
			n += len;
		if (taken && m->framing.taken)
			m->framing.taken(&d, input, &f, m->framing.arg);
	}
	return n;
}

static bool input_ready(struct bw_merge_in *in)
{
	return in->has_next || in->r.cursor < bw_ibuf_head(in->r.ib);
}

bool bw_merge_ready(struct bw_merge *m)
{
	if (m->spill_len || bw_merge_eof(m))
		return true;
	for (size_t i = 0; i < m->n; i++)
		if (input_ready(&m->in[i]))
			return true;
	return false;
}

bool bw_merge_eof(struct bw_merge *m)
{
	if (m->spill_len || m->n == 0)
		return false;
	for (size_t i = 0; i < m->n; i++)
		if (m->in[i].has_next || !bw_reader_eof(&m->in[i].r))
			return false;
	return true;
}

uint64_t bw_merge_drops(const struct bw_merge *m)
{
	uint64_t drops = 0;
	for (size_t i = 0; i < m->n; i++)
		drops += __atomic_load_n(&m->in[i].r.drops, __ATOMIC_RELAXED);
	return drops;
}

int bw_merge_listen(struct bw_merge *m, int efd)
{
	for (size_t i = 0; i < m->n; i++) {
		int rc = bw_reader_listen(&m->in[i].r, efd);
		if (rc) {
			while (i--)
				bw_reader_unlisten(&m->in[i].r, efd);
			return rc;
		}
	}
	return 0;
}

void bw_merge_unlisten(struct bw_merge *m, int efd)
{
	for (size_t i = 0; i < m->n; i++)
		bw_reader_unlisten(&m->in[i].r, efd);
}
