/* SPDX-License-Identifier: BSD-3-Clause
 * TCP reassembly: a hash table of connections (chained through indices,
 * with a least-recently-used list for eviction) and a pool of windows.
 * See tcpreasm.h for the rules.
 *
 * A direction's window holds the sequence space from `base`: the bytes
 * the consumer keeps, [base, RCV.NXT), then runs of out-of-order bytes,
 * each [lo, hi), sorted and apart, all within PFS_TCP_WINDOW of base.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "filters/filter.h"
#include "filters/tcpreasm.h"

/* Sequence number comparisons (RFC 9293 §3.4): modulo 2^32. */
static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
static uint32_t seq_max(uint32_t a, uint32_t b) { return seq_lt(a, b) ? b : a; }

struct run {
	uint32_t lo, hi;
};

/* One direction: the receiver's view of what its sender sent. */
struct half {
	uint32_t nxt;		/* RCV.NXT: the next byte to hand on */
	uint32_t base;		/* window byte 0: the first byte kept */
	uint32_t isn;		/* with from_start */
	int32_t win;		/* its window, -1 while it needs none */
	uint8_t synced;		/* nxt is known */
	uint8_t from_start;	/* synced at its SYN */
	uint8_t ignored;	/* the consumer wants none of it */
	uint8_t nruns;
	struct run runs[PFS_TCP_RUNS];
};

struct pfs_tcp_conn {
	struct pfs_tcp_end ends[2];
	struct half h[2];
	int32_t chain;		/* next in its bucket, or in the free list */
	int32_t newer, older;	/* the LRU list */
	uint32_t hash;
	uint8_t family;
	int8_t opener;		/* the direction that sent a SYN, or -1 */
	uint8_t reset;		/* RST seen: no data until a new SYN */
	void *user[2];		/* the consumer's state per direction */
};

struct pfs_tcp_table {
	struct pfs_tcp_conn *conns;
	int32_t *buckets;
	uint32_t nconns, mask;
	int32_t free_conn;	/* chained through `chain` */
	int32_t newest, oldest;
	uint8_t *windows;	/* nwindows * PFS_TCP_WINDOW, mapped */
	size_t windows_len;
	int32_t *free_windows;
	uint32_t nfree;
	uint8_t *users;
	size_t user_size;
	const struct pfs_tcp_consumer *consumer;
	struct pfs_tcp_counters *n;
};

/* ---- connections ---- */

const struct pfs_tcp_end *pfs_tcp_end(const struct pfs_tcp_conn *c, int d) { return &c->ends[d]; }
uint8_t pfs_tcp_family(const struct pfs_tcp_conn *c) { return c->family; }
bool pfs_tcp_from_start(const struct pfs_tcp_conn *c, int d) { return c->h[d].from_start; }
int pfs_tcp_opener(const struct pfs_tcp_conn *c) { return c->opener; }

void *pfs_tcp_user(struct pfs_tcp_conn *c, int d) { return c->user[d]; }

/* A connection's key, the same from either end: family, then the two
 * ends in a fixed order. */
static uint32_t hash_of(uint8_t family, const struct pfs_tcp_end *a,
			const struct pfs_tcp_end *b)
{
	int order = memcmp(a, b, sizeof *a);
	const struct pfs_tcp_end *e[2] = { order <= 0 ? a : b, order <= 0 ? b : a };
	uint32_t h = 2166136261u ^ family;	/* FNV-1a */

	for (int i = 0; i < 2; i++) {
		const uint8_t *p = (const uint8_t *)e[i];
		for (size_t k = 0; k < sizeof *e[i]; k++)
			h = (h ^ p[k]) * 16777619u;
	}
	return h;
}

static void end_of(struct pfs_tcp_end *e, const uint8_t *addr, uint8_t family, uint16_t port)
{
	memset(e, 0, sizeof *e);
	memcpy(e->addr, addr, family == 4 ? 4 : 16);
	e->port = port;
}

static void lru_unlink(struct pfs_tcp_table *t, struct pfs_tcp_conn *c)
{
	if (c->newer >= 0)
		t->conns[c->newer].older = c->older;
	else
		t->newest = c->older;
	if (c->older >= 0)
		t->conns[c->older].newer = c->newer;
	else
		t->oldest = c->newer;
}

static void lru_push(struct pfs_tcp_table *t, struct pfs_tcp_conn *c)
{
	int32_t i = (int32_t)(c - t->conns);
	c->older = t->newest;
	c->newer = -1;
	if (t->newest >= 0)
		t->conns[t->newest].newer = i;
	t->newest = i;
	if (t->oldest < 0)
		t->oldest = i;
}

/* ---- windows ---- */

static uint8_t *window(struct pfs_tcp_table *t, const struct half *h)
{
	return t->windows + (size_t)h->win * PFS_TCP_WINDOW;
}

static bool window_take(struct pfs_tcp_table *t, struct half *h)
{
	if (h->win >= 0)
		return true;
	if (!t->nfree)
		return false;
	h->win = t->free_windows[--t->nfree];
	return true;
}

static void window_give(struct pfs_tcp_table *t, struct half *h)
{
	if (h->win < 0)
		return;
	t->free_windows[t->nfree++] = h->win;
	h->win = -1;
}

/* ---- the table ---- */

static void conn_clear(struct pfs_tcp_table *t, struct pfs_tcp_conn *c)
{
	for (int d = 0; d < 2; d++) {
		window_give(t, &c->h[d]);
		memset(&c->h[d], 0, sizeof c->h[d]);
		c->h[d].win = -1;
		memset(c->user[d], 0, t->user_size);
	}
	c->opener = -1;
	c->reset = 0;
}

static void bucket_remove(struct pfs_tcp_table *t, struct pfs_tcp_conn *c)
{
	int32_t i = (int32_t)(c - t->conns), *at = &t->buckets[c->hash & t->mask];
	while (*at != i)
		at = &t->conns[*at].chain;
	*at = c->chain;
}

/* A connection for segment s, its sender direction 0: a free one, or the
 * least recently used, evicted. */
static struct pfs_tcp_conn *conn_new(struct pfs_tcp_table *t, const struct pfs_tcp_seg *s,
				     uint32_t hash)
{
	struct pfs_tcp_conn *c;

	if (t->free_conn >= 0) {
		c = &t->conns[t->free_conn];
		t->free_conn = c->chain;
	} else {
		c = &t->conns[t->oldest];
		bucket_remove(t, c);
		lru_unlink(t, c);
		pfs_count(&t->n->evictions, 1);
	}
	conn_clear(t, c);
	c->family = s->family;
	end_of(&c->ends[0], s->src, s->family, s->sport);
	end_of(&c->ends[1], s->dst, s->family, s->dport);
	c->hash = hash;
	c->chain = t->buckets[hash & t->mask];
	t->buckets[hash & t->mask] = (int32_t)(c - t->conns);
	lru_push(t, c);
	pfs_count(&t->n->connections, 1);
	return c;
}

/* The connection of segment s, and the direction s goes in (*d). */
static struct pfs_tcp_conn *conn_find(struct pfs_tcp_table *t, const struct pfs_tcp_seg *s,
				      uint32_t hash, int *d)
{
	struct pfs_tcp_end src, dst;

	end_of(&src, s->src, s->family, s->sport);
	end_of(&dst, s->dst, s->family, s->dport);
	for (int32_t i = t->buckets[hash & t->mask]; i >= 0; i = t->conns[i].chain) {
		struct pfs_tcp_conn *c = &t->conns[i];
		if (c->hash != hash || c->family != s->family)
			continue;
		for (*d = 0; *d < 2; (*d)++)
			if (!memcmp(&c->ends[*d], &src, sizeof src) &&
			    !memcmp(&c->ends[!*d], &dst, sizeof dst))
				return c;
	}
	return NULL;
}

struct pfs_tcp_table *pfs_tcp_table_new(uint32_t conns, uint32_t windows,
					size_t user_size,
					const struct pfs_tcp_consumer *consumer,
					struct pfs_tcp_counters *counters)
{
	struct pfs_tcp_table *t = calloc(1, sizeof *t);
	uint32_t buckets = 1;

	if (!t || !conns)
		goto fail;
	while (buckets < 2 * conns)
		buckets <<= 1;
	t->nconns = conns;
	t->mask = buckets - 1;
	t->user_size = user_size ? user_size : 1;
	t->consumer = consumer;
	t->n = counters;
	t->conns = calloc(conns, sizeof *t->conns);
	t->buckets = malloc(buckets * sizeof *t->buckets);
	t->users = calloc(conns, 2 * t->user_size);
	t->free_windows = malloc((windows ? windows : 1) * sizeof *t->free_windows);
	/* Windows are touched only where used: reserve, do not commit. */
	t->windows_len = (size_t)windows * PFS_TCP_WINDOW;
	t->windows = windows ? mmap(NULL, t->windows_len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			     : NULL;
	if (!t->conns || !t->buckets || !t->users || !t->free_windows ||
	    t->windows == MAP_FAILED)
		goto fail;
	for (uint32_t i = 0; i < buckets; i++)
		t->buckets[i] = -1;
	for (uint32_t i = 0; i < conns; i++) {
		struct pfs_tcp_conn *c = &t->conns[i];
		c->chain = i + 1 < conns ? (int32_t)i + 1 : -1;
		c->user[0] = t->users + 2 * i * t->user_size;
		c->user[1] = t->users + (2 * i + 1) * t->user_size;
		c->h[0].win = c->h[1].win = -1;
	}
	for (uint32_t i = 0; i < windows; i++)
		t->free_windows[t->nfree++] = (int32_t)(windows - 1 - i);
	t->free_conn = 0;
	t->newest = t->oldest = -1;
	return t;
fail:
	if (t && t->windows == MAP_FAILED)
		t->windows = NULL;
	pfs_tcp_table_free(t);
	return NULL;
}

void pfs_tcp_table_free(struct pfs_tcp_table *t)
{
	if (!t)
		return;
	if (t->windows)
		munmap(t->windows, t->windows_len);
	free(t->free_windows);
	free(t->users);
	free(t->buckets);
	free(t->conns);
	free(t);
}

void pfs_tcp_ignore(struct pfs_tcp_conn *c, int d)
{
	c->h[d].ignored = 1;
}

/* ---- a direction's bytes ---- */

/* Where the window's bytes end: the last run's end, or RCV.NXT. */
static uint32_t window_end(const struct half *h)
{
	return h->nruns ? h->runs[h->nruns - 1].hi : h->nxt;
}

/* The consumer no longer needs k bytes from base: slide the window. */
static void discard(struct pfs_tcp_table *t, struct half *h, uint32_t k)
{
	if (!k)
		return;
	uint32_t total = window_end(h) - h->base;
	if (k < total)
		memmove(window(t, h), window(t, h) + k, total - k);
	h->base += k;
	if (h->base == h->nxt && !h->nruns)
		window_give(t, h);
}

/* Hand on the runs that now follow RCV.NXT. */
static void advance(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d, void *arg)
{
	struct half *h = &c->h[d];

	while (h->nruns && h->runs[0].lo == h->nxt) {
		uint32_t hi = h->runs[0].hi, fresh = hi - h->nxt;
		memmove(h->runs, h->runs + 1, --h->nruns * sizeof *h->runs);
		h->nxt = hi;
		uint32_t done = t->consumer->data(arg, c, d, window(t, h), hi - h->base,
						  fresh, false);
		discard(t, h, done);
	}
}

/* Give up the bytes up to `to`, a hole: what was kept goes too. */
static void give_up(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d, uint32_t to,
		    void *arg)
{
	struct half *h = &c->h[d];
	uint32_t lost = to - h->nxt;

	pfs_count(&t->n->gaps, lost);
	t->consumer->lost(arg, c, d, lost);
	h->nxt = to;
	if (h->win >= 0)
		discard(t, h, seq_min(to, window_end(h)) - h->base);
	h->base = to;
	advance(t, c, d, arg);
}

/* The first hole: up to the first run, or to `seq` when there is none. */
static void give_up_first(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d,
			  uint32_t seq, void *arg)
{
	struct half *h = &c->h[d];
	give_up(t, c, d, h->nruns ? h->runs[0].lo : seq, arg);
}

/* Copies [seq, seq + len) into the window where nothing is held yet;
 * true if held bytes it overlaps differ. */
static bool fill(struct pfs_tcp_table *t, struct half *h, uint32_t seq, const uint8_t *p,
		 uint32_t len)
{
	uint8_t *w = window(t, h);
	uint32_t at = seq, end = seq + len;
	bool differs = false;

	for (int i = 0; i < h->nruns && seq_lt(at, end); i++) {
		const struct run *r = &h->runs[i];
		if (seq_le(r->hi, at))
			continue;
		if (seq_le(end, r->lo))
			break;
		if (seq_lt(at, r->lo)) {
			memcpy(w + (at - h->base), p + (at - seq), r->lo - at);
			at = r->lo;
		}
		uint32_t stop = seq_min(end, r->hi);
		differs |= memcmp(w + (at - h->base), p + (at - seq), stop - at) != 0;
		at = stop;
	}
	if (seq_lt(at, end))
		memcpy(w + (at - h->base), p + (at - seq), end - at);
	return differs;
}

/* The runs there would be with [lo, hi) added, merged with what it
 * touches, into out[] (room for PFS_TCP_RUNS + 1); returns how many. */
static int merged(const struct half *h, uint32_t lo, uint32_t hi, struct run *out)
{
	int n = 0, i = 0;

	while (i < h->nruns && seq_lt(h->runs[i].hi, lo))
		out[n++] = h->runs[i++];
	struct run m = { lo, hi };
	for (; i < h->nruns && seq_le(h->runs[i].lo, hi); i++) {
		m.lo = seq_min(m.lo, h->runs[i].lo);
		m.hi = seq_max(m.hi, h->runs[i].hi);
	}
	out[n++] = m;
	while (i < h->nruns && n <= PFS_TCP_RUNS)
		out[n++] = h->runs[i++];
	return n;
}

/* Bytes after RCV.NXT (or at it, while the window is in use) into the
 * window, then on to the consumer.  Holes are given up while the bytes
 * do not fit the window, or would make too many runs. */
static void hold(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d, uint32_t seq,
		 const uint8_t *p, uint32_t len, void *arg)
{
	struct half *h = &c->h[d];
	struct run runs[PFS_TCP_RUNS + 1];
	int n;

	for (;;) {
		if (seq_le(seq + len, h->nxt))
			return;		/* handed on meanwhile */
		if (seq_lt(seq, h->nxt)) {
			p += h->nxt - seq;
			len -= h->nxt - seq;
			seq = h->nxt;
		}
		if (!window_take(t, h)) {
			pfs_count(&t->n->no_window, 1);
			return;		/* a hole, given up later */
		}
		n = merged(h, seq, seq + len, runs);
		if (seq + len - h->base <= PFS_TCP_WINDOW && n <= PFS_TCP_RUNS)
			break;
		give_up_first(t, c, d, seq, arg);
	}
	if (fill(t, h, seq, p, len))
		pfs_count(&t->n->inconsistent, 1);
	memcpy(h->runs, runs, n * sizeof *runs);
	h->nruns = (uint8_t)n;
	advance(t, c, d, arg);
}

/* In order, nothing kept or waiting: the consumer reads the payload in
 * place; what it keeps is copied into a window. */
static void direct(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d,
		   const uint8_t *p, uint32_t len, void *arg)
{
	struct half *h = &c->h[d];
	uint32_t done = t->consumer->data(arg, c, d, p, len, len, true);

	h->nxt += len;
	h->base = h->nxt - (len - done);
	if (done == len)
		return;
	if (!window_take(t, h)) {
		pfs_count(&t->n->no_window, 1);
		t->consumer->lost(arg, c, d, 0);
		h->base = h->nxt;
		return;
	}
	memcpy(window(t, h), p + done, len - done);
}

static void data(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d, uint32_t seq,
		 const struct pfs_tcp_seg *s, void *arg)
{
	struct half *h = &c->h[d];
	const uint8_t *p = s->payload;
	uint32_t len = s->len, wire = s->wire_len;

	if (seq_lt(seq, h->nxt)) {	/* sent before: drop what was */
		uint32_t old = h->nxt - seq;
		if (old >= wire) {
			pfs_count(&t->n->retransmitted, wire);
			return;
		}
		pfs_count(&t->n->retransmitted, old);
		p += old < len ? old : len;
		len -= old < len ? old : len;
		wire -= old;
		seq = h->nxt;
	}
	if (h->ignored) {
		/* counted over, holes and all; what waited is dropped */
		h->nruns = 0;
		window_give(t, h);
		h->nxt = h->base = seq + wire;
		return;
	}
	if (seq != h->nxt)
		pfs_count(&t->n->out_of_order, 1);
	if (seq == h->nxt && h->win < 0) {
		if (len)
			direct(t, c, d, p, len, arg);
	}
	else if (len)
		hold(t, c, d, seq, p, len, arg);
	/* Bytes the capture cut off: a hole now, if they were next, but for
	 * those held from another segment (a run never falls behind nxt). */
	if (wire > len && h->nxt == seq + len)
		while (seq_lt(h->nxt, seq + wire))
			give_up(t, c, d, h->nruns && seq_lt(h->runs[0].lo, seq + wire)
					 ? h->runs[0].lo : seq + wire, arg);
}

/* A segment from the other direction acknowledged up to `ack`: a hole
 * of direction d below it will never be sent again. */
static void acked(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, int d, uint32_t ack,
		  void *arg)
{
	struct half *h = &c->h[d];

	while (h->synced && h->nruns && seq_le(h->runs[0].lo, ack))
		give_up(t, c, d, h->runs[0].lo, arg);
}

/* RST: hand on all that is held, give up the rest. */
static void reset(struct pfs_tcp_table *t, struct pfs_tcp_conn *c, void *arg)
{
	for (int d = 0; d < 2; d++) {
		struct half *h = &c->h[d];
		while (h->nruns)
			give_up(t, c, d, h->runs[0].lo, arg);
		if (h->win >= 0 || h->base != h->nxt)
			t->consumer->lost(arg, c, d, 0);
		window_give(t, h);
		h->base = h->nxt;
	}
	c->reset = 1;
}

static void syn(struct half *h, uint32_t seq)
{
	if (h->synced)
		return;		/* repeated, or a SYN-ACK after its data */
	h->isn = seq;
	h->nxt = h->base = seq + 1;
	h->synced = h->from_start = 1;
}

void pfs_tcp_segment(struct pfs_tcp_table *t, const struct pfs_tcp_seg *s, void *arg)
{
	struct pfs_tcp_end src, dst;
	bool opening = (s->flags & (PFS_TCP_SYN | PFS_TCP_ACK)) == PFS_TCP_SYN;
	int d = 0;

	end_of(&src, s->src, s->family, s->sport);
	end_of(&dst, s->dst, s->family, s->dport);
	uint32_t hash = hash_of(s->family, &src, &dst);
	struct pfs_tcp_conn *c = conn_find(t, s, hash, &d);
	if (!c) {
		if (!(s->flags & PFS_TCP_SYN) && !s->wire_len)
			return;		/* nothing to start from */
		c = conn_new(t, s, hash);
		d = 0;
	} else {
		lru_unlink(t, c);
		lru_push(t, c);
		struct half *h = &c->h[d];
		if (opening && (h->synced || c->reset) && !(h->from_start && h->isn == s->seq)) {
			conn_clear(t, c);	/* the 4-tuple, reused */
			pfs_count(&t->n->connections, 1);
		}
	}
	if (c->reset && !opening)
		return;
	c->reset = 0;
	struct half *h = &c->h[d];
	if (s->flags & PFS_TCP_ACK)
		acked(t, c, !d, s->ack, arg);
	if (s->flags & PFS_TCP_SYN) {
		syn(h, s->seq);
		if (opening)
			c->opener = (int8_t)d;
	}
	uint32_t seq = s->seq + !!(s->flags & PFS_TCP_SYN);
	if (s->wire_len && !h->synced) {
		h->nxt = h->base = seq;
		h->synced = 1;
	}
	if (s->wire_len)
		data(t, c, d, seq, s, arg);
	if (s->flags & PFS_TCP_RST)
		reset(t, c, arg);
}

void pfs_tcp_stream(struct pfs_tcp_table *t, uint32_t flow, const uint8_t *b, uint32_t len,
		    void *arg)
{
	uint8_t key[16] = { 0 };
	struct pfs_tcp_seg s = { .src = key, .dst = key, .payload = b, .len = len,
				 .wire_len = len };
	struct pfs_tcp_end end;
	int d = 0;

	memcpy(key, &flow, sizeof flow);
	end_of(&end, key, 0, 0);
	uint32_t hash = hash_of(0, &end, &end);
	struct pfs_tcp_conn *c = conn_find(t, &s, hash, &d);
	if (!c) {
		c = conn_new(t, &s, hash);
		syn(&c->h[0], 0);
		c->opener = 0;
	}
	lru_unlink(t, c);
	lru_push(t, c);
	if (len)
		data(t, c, 0, c->h[0].nxt, &s, arg);
}
