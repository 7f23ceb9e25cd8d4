/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the beltway buffers (bufs/).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufs/dbuf.h"
#include "bufs/ibuf.h"
#include "bufs/merge.h"
#include "bufs/reader.h"

/* A producer pair as every stage has it: bytes in a DBuf, descriptors in
 * an IBuf. */
struct pair {
	struct bw_dbuf *d;
	struct bw_ibuf *ib;
};

static void pair_open(struct pair *p, uint64_t bytes, uint64_t descs, unsigned flags)
{
	ck_assert_int_eq(bw_dbuf_create(&p->d, bytes, flags), 0);
	ck_assert_int_eq(bw_ibuf_create(&p->ib, descs, flags), 0);
	ck_assert_int_eq(bw_dbuf_watch(p->d, p->ib), 0);
}

static void pair_close(struct pair *p)
{
	bw_dbuf_unwatch(p->d, p->ib);
	bw_ibuf_destroy(p->ib);
	bw_dbuf_destroy(p->d);
}

/* Record n: its length and contents follow from n, so any reader can tell
 * a torn, misplaced or duplicated record from the real one. */
static uint32_t rec_len(uint64_t n, uint32_t max)
{
	return 8 + (uint32_t)((n * 2654435761u) % (max - 7));
}

static uint8_t rec_byte(uint64_t n, uint32_t i)
{
	return (uint8_t)(n * 31 + i * 7 + (n >> 8));
}

static int produce(struct pair *p, uint64_t n, uint32_t max)
{
	uint32_t len = rec_len(n, max);
	uint64_t pos;
	uint8_t *w = bw_dbuf_alloc(p->d, len, &pos);
	if (!w)
		return -ECANCELED;
	memcpy(w, &n, 8);
	for (uint32_t i = 8; i < len; i++)
		w[i] = rec_byte(n, i);
	struct pfs_desc desc = { .pos = pos, .len = len, .dbuf = p->d->id,
				 .kind = PFS_KIND_STREAM };
	return bw_ibuf_publish(p->ib, &desc);
}

/* Publish and flush at once, for tests that read record by record. */
static int produce1(struct pair *p, uint64_t n, uint32_t max)
{
	int rc = produce(p, n, max);
	bw_ibuf_flush(p->ib);
	return rc;
}

/* Returns the record number, or -1 if the bytes are not record n's. */
static int64_t verify(const void *data, uint32_t len, uint32_t max)
{
	uint64_t n;
	const uint8_t *b = data;
	if (len < 8)
		return -1;
	memcpy(&n, b, 8);
	if (len != rec_len(n, max))
		return -1;
	for (uint32_t i = 8; i < len; i++)
		if (b[i] != rec_byte(n, i))
			return -1;
	return (int64_t)n;
}

START_TEST(rejects_bad_sizes)
{
	struct bw_dbuf *d;
	struct bw_ibuf *ib;
	ck_assert_int_eq(bw_dbuf_create(&d, 5000, 0), -EINVAL);
	ck_assert_int_eq(bw_dbuf_create(&d, 1024, 0), -EINVAL);
	ck_assert_int_eq(bw_ibuf_create(&ib, 100, 0), -EINVAL);
	ck_assert_int_eq(bw_ibuf_create(&ib, 1, 0), -EINVAL);
	ck_assert_int_eq(bw_dbuf_create(&d, 4096, 0), 0);
	uint64_t pos;
	ck_assert_ptr_null(bw_dbuf_alloc(d, 2049, &pos));
	ck_assert_ptr_nonnull(bw_dbuf_alloc(d, 2048, &pos));
	ck_assert_ptr_eq(bw_dbuf_lookup(d->id), d);
	uint16_t id = d->id;
	bw_dbuf_destroy(d);
	ck_assert_ptr_null(bw_dbuf_lookup(id));
}
END_TEST

START_TEST(file_dbuf_is_read_in_place)
{
	char path[] = "/tmp/test_bufs.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	uint8_t bytes[5000];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(write(fd, bytes, sizeof(bytes)), (int)sizeof(bytes));
	struct bw_dbuf *d;
	ck_assert_int_eq(bw_dbuf_wrap_file(&d, fd, sizeof(bytes)), 0);
	ck_assert_uint_eq(d->size, 8192);	/* the power of two above */
	ck_assert(d->read_only);
	ck_assert_ptr_eq(bw_dbuf_lookup(d->id), d);
	/* Second pass over the file: same bytes, a position of its own. */
	uint64_t pos = d->size + 4000;
	ck_assert_int_eq(memcmp(bw_dbuf_ptr(d, pos), bytes + 4000, 1000), 0);
	ck_assert(bw_dbuf_intact(d, pos));
	uint64_t ignored;
	ck_assert_ptr_null(bw_dbuf_alloc(d, 10, &ignored));
	bw_dbuf_destroy(d);
	close(fd);
}
END_TEST

/* A ring mapped by its owner (the kernel's packet ring, for iface:): read
 * in place, never allocated from, intact until its owner moves the tail
 * past a position. */
START_TEST(wrapped_dbuf_is_read_in_place_until_its_tail_moves)
{
	static uint8_t ring[16384];
	struct bw_dbuf *d;
	ck_assert_int_eq(bw_dbuf_wrap(&d, ring, 12288), -EINVAL);	/* no power of two */
	ck_assert_int_eq(bw_dbuf_wrap(&d, ring, sizeof(ring)), 0);
	ck_assert_ptr_eq(bw_dbuf_lookup(d->id), d);
	memset(ring + 100, 'x', 10);
	/* Third lap: the same bytes, a position of their own. */
	uint64_t pos = 2 * sizeof(ring) + 100;
	ck_assert_ptr_eq(bw_dbuf_ptr(d, pos), ring + 100);
	ck_assert(bw_dbuf_intact(d, pos));
	uint64_t ignored;
	ck_assert_ptr_null(bw_dbuf_alloc(d, 10, &ignored));
	bw_dbuf_set_tail(d, pos + 1);
	ck_assert(!bw_dbuf_intact(d, pos));
	ck_assert(bw_dbuf_intact(d, pos + 1));
	bw_dbuf_destroy(d);
	ck_assert_uint_eq(ring[100], 'x');	/* the memory stays its owner's */
}
END_TEST

START_TEST(blocks_never_straddle_the_end)
{
	struct bw_dbuf *d;
	ck_assert_int_eq(bw_dbuf_create(&d, 4096, 0), 0);
	uint64_t pos, prev_end = 0;
	for (int i = 0; i < 10000; i++) {
		uint32_t len = 1 + (uint32_t)(i * 7919) % 1500;
		uint8_t *w = bw_dbuf_alloc(d, len, &pos);
		ck_assert_ptr_nonnull(w);
		ck_assert_uint_ge(pos, prev_end);
		ck_assert_uint_le((pos & d->mask) + len, d->size);
		ck_assert_ptr_eq(w, bw_dbuf_ptr(d, pos));
		/* Everything this block overwrites is below the tail. */
		ck_assert_uint_ge(d->shm.hdr->tail + d->size, pos + len);
		if (pos != prev_end)	/* skipped: the block starts the ring */
			ck_assert_uint_eq(pos & d->mask, 0);
		prev_end = pos + len;
	}
	bw_dbuf_destroy(d);
}
END_TEST

START_TEST(records_round_trip_across_wraps)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 8192, 16, 0);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 5000; n++) {
		ck_assert_int_eq(produce1(&p, n, 700), 0);
		struct pfs_desc d;
		const void *data;
		ck_assert_int_eq(bw_reader_next(&r, &d, &data), 1);
		ck_assert_uint_eq(d.seq, n);
		ck_assert_int_eq(verify(data, d.len, 700), (int64_t)n);
		ck_assert(bw_reader_intact(&r, &d));
		ck_assert_int_eq(bw_reader_next(&r, &d, &data), 0);
	}
	ck_assert_uint_eq(r.drops, 0);
	ck_assert_uint_eq(r.records, 5000);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

/* A client maps the daemon's rings read-only from their memfds and reads
 * them with its own table of DBufs: the same records, in place; a lap is
 * counted; a ring whose bytes are not in its memfd (a file's) is refused. */
START_TEST(client_reads_attached_rings_in_place)
{
	struct pair p;
	pair_open(&p, 8192, 16, 0);
	static struct bw_dbuf_table table;
	struct bw_ibuf *ib;
	struct bw_dbuf *db;
	int ifd = dup(p.ib->shm.fd), dfd = dup(p.d->shm.fd);
	ck_assert_int_eq(bw_ibuf_attach(&ib, ifd), 0);
	ck_assert_int_eq(bw_dbuf_attach(&table, dfd, -1, &db), 0);
	ck_assert_uint_eq(db->id, p.d->id);
	ck_assert_ptr_eq(bw_dbuf_find(&table, db->id), db);
	int again = dup(p.d->shm.fd);
	ck_assert_int_eq(bw_dbuf_attach(&table, again, -1, &db), -EPROTO);	/* id taken */
	close(again);
	struct bw_merge m;
	bw_merge_init(&m, false, NULL);
	m.dbufs = &table;
	ck_assert_int_eq(bw_merge_add(&m, ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 100; n++) {
		ck_assert_int_eq(produce1(&p, n, 700), 0);
		struct pfs_desc d;
		const void *data;
		ck_assert_int_eq(bw_reader_next(&m.in[0].r, &d, &data), 1);
		ck_assert_ptr_eq(data, bw_dbuf_ptr(db, d.pos));
		ck_assert_int_eq(verify(data, d.len, 700), (int64_t)n);
		ck_assert(bw_reader_intact(&m.in[0].r, &d));
	}
	for (uint64_t n = 100; n < 200; n++)	/* 70 KB through an 8K ring */
		ck_assert_int_eq(produce1(&p, n, 700), 0);
	struct pfs_desc d;
	const void *data;
	ck_assert_int_eq(bw_reader_next(&m.in[0].r, &d, &data), 1);
	ck_assert_uint_gt(m.in[0].r.drops, 0);
	bw_merge_fini(&m);
	bw_dbuf_detach(&table, db);
	ck_assert_ptr_null(bw_dbuf_find(&table, p.d->id));
	bw_ibuf_destroy(ib);
	pair_close(&p);

	static uint8_t ring[8192];
	struct bw_dbuf *wrapped;
	ck_assert_int_eq(bw_dbuf_wrap(&wrapped, ring, sizeof(ring)), 0);
	int fd = dup(wrapped->shm.fd);
	ck_assert_int_eq(bw_dbuf_attach(&table, fd, -1, &db), -EPROTO);
	close(fd);
	bw_dbuf_destroy(wrapped);
}
END_TEST

/* A client's reader stops at a record whose DBuf it has not attached yet,
 * and reads it once the DBuf is there; one that never comes is dropped,
 * counted.  A DBuf the daemon destroys reads as gone to a client that
 * still maps it. */
START_TEST(client_awaits_dbufs_and_sees_them_go)
{
	struct pair p;
	pair_open(&p, 8192, 16, 0);
	static struct bw_dbuf_table table;
	struct bw_ibuf *ib;
	struct bw_dbuf *db;
	ck_assert_int_eq(bw_ibuf_attach(&ib, dup(p.ib->shm.fd)), 0);
	struct bw_merge m;
	bw_merge_init(&m, false, NULL);
	m.dbufs = &table;
	m.await_dbufs = true;
	ck_assert_int_eq(bw_merge_add(&m, ib, BW_FROM_OLDEST), 0);
	ck_assert_int_eq(produce1(&p, 0, 700), 0);
	struct pfs_desc d;
	const void *data;
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 0);
	ck_assert_uint_eq(bw_merge_unknown_dbuf(&m, false), p.d->id);
	ck_assert_int_eq(bw_dbuf_attach(&table, dup(p.d->shm.fd), -1, &db), 0);
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 1);
	ck_assert_int_eq(verify(data, d.len, 700), 0);
	ck_assert(bw_merge_intact(&m, &d));
	ck_assert_uint_eq(bw_merge_unknown_dbuf(&m, false), 0);

	/* Its id gone from the table: the record waits, then is dropped. */
	bw_dbuf_detach(&table, db);
	ck_assert_int_eq(produce1(&p, 1, 700), 0);
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 0);
	ck_assert_uint_eq(bw_merge_unknown_dbuf(&m, true), p.d->id);
	ck_assert_uint_eq(bw_merge_drops(&m), 1);
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 0);
	ck_assert_uint_eq(bw_merge_unknown_dbuf(&m, false), 0);

	/* Attached again, then destroyed by its owner: gone. */
	ck_assert_int_eq(bw_dbuf_attach(&table, dup(p.d->shm.fd), -1, &db), 0);
	ck_assert_int_eq(produce1(&p, 2, 700), 0);
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 1);
	bw_dbuf_unwatch(p.d, p.ib);
	bw_dbuf_destroy(p.d);
	ck_assert(!bw_merge_intact(&m, &d));
	ck_assert_uint_eq(bw_merge_drops(&m), 2);
	bw_merge_fini(&m);
	bw_dbuf_detach(&table, db);
	bw_ibuf_destroy(ib);
	bw_ibuf_destroy(p.ib);
}
END_TEST

START_TEST(lapped_reader_skips_and_counts)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 1 << 20, 64, 0);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 1000; n++)
		ck_assert_int_eq(produce1(&p, n, 100), 0);
	struct pfs_desc d;
	const void *data;
	uint64_t got = 0, last = 0;
	while (bw_reader_next(&r, &d, &data) == 1) {
		ck_assert_int_eq(verify(data, d.len, 100), (int64_t)d.seq);
		ck_assert(bw_reader_intact(&r, &d));
		if (got)
			ck_assert_uint_eq(d.seq, last + 1);
		last = d.seq;
		got++;
	}
	ck_assert_uint_eq(last, 999);
	ck_assert_uint_le(got, 64);
	ck_assert_uint_eq(got + r.drops, 1000);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

START_TEST(overwrite_during_use_is_detected)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 1024, 0);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	ck_assert_int_eq(produce1(&p, 0, 500), 0);
	struct pfs_desc d;
	const void *data;
	ck_assert_int_eq(bw_reader_next(&r, &d, &data), 1);
	ck_assert(bw_dbuf_intact(p.d, d.pos));
	for (uint64_t n = 1; n < 40; n++)	/* well over one lap of bytes */
		ck_assert_int_eq(produce1(&p, n, 500), 0);
	ck_assert(!bw_reader_intact(&r, &d));
	ck_assert_uint_eq(r.drops, 1);
	/* What follows is the oldest record whose bytes are still there. */
	ck_assert_int_eq(bw_reader_next(&r, &d, &data), 1);
	ck_assert_int_eq(verify(data, d.len, 500), (int64_t)d.seq);
	ck_assert(bw_reader_intact(&r, &d));
	ck_assert_uint_eq(d.seq, r.drops + 0);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

START_TEST(readers_at_different_speeds)
{
	struct pair p;
	struct bw_reader fast, slow, late;
	pair_open(&p, 16384, 128, 0);
	ck_assert_int_eq(bw_reader_open(&fast, p.ib, BW_FROM_OLDEST), 0);
	ck_assert_int_eq(bw_reader_open(&slow, p.ib, BW_FROM_OLDEST), 0);
	uint64_t last_fast = UINT64_MAX, last_slow = UINT64_MAX, got_fast = 0, got_slow = 0;
	struct pfs_desc d;
	const void *data;
	for (uint64_t n = 0; n < 20000; n++) {
		ck_assert_int_eq(produce1(&p, n, 300), 0);
		while (bw_reader_next(&fast, &d, &data) == 1) {
			ck_assert_int_eq(verify(data, d.len, 300), (int64_t)d.seq);
			ck_assert(bw_reader_intact(&fast, &d));
			ck_assert(last_fast == UINT64_MAX || d.seq == last_fast + 1);
			last_fast = d.seq;
			got_fast++;
		}
		if (n % 500 == 0 && bw_reader_next(&slow, &d, &data) == 1) {
			ck_assert_int_eq(verify(data, d.len, 300), (int64_t)d.seq);
			if (bw_reader_intact(&slow, &d)) {
				ck_assert(last_slow == UINT64_MAX || d.seq > last_slow);
				last_slow = d.seq;
				got_slow++;
			}
		}
	}
	ck_assert_uint_eq(got_fast, 20000);
	ck_assert_uint_eq(fast.drops, 0);
	ck_assert_uint_gt(slow.drops, 10000);
	ck_assert_uint_eq(got_slow + slow.drops + (20000 - slow.cursor), 20000);
	/* A reader opened now sees only what comes next. */
	ck_assert_int_eq(bw_reader_open(&late, p.ib, BW_FROM_NOW), 0);
	ck_assert_int_eq(bw_reader_next(&late, &d, &data), 0);
	ck_assert_int_eq(produce1(&p, 20000, 300), 0);
	ck_assert_int_eq(bw_reader_next(&late, &d, &data), 1);
	ck_assert_uint_eq(d.seq, 20000);
	bw_reader_close(&late);
	bw_reader_close(&fast);
	bw_reader_close(&slow);
	pair_close(&p);
}
END_TEST

/* Read every record r has ready: each must be whole and the next one
 * after the first.  Returns how many; *last is the last sequence number. */
static uint64_t drain(struct bw_reader *r, uint32_t max, uint64_t *last)
{
	struct pfs_desc d;
	const void *data;
	uint64_t got = 0;
	while (bw_reader_next(r, &d, &data) == 1) {
		ck_assert_int_eq(verify(data, d.len, max), (int64_t)d.seq);
		ck_assert(bw_reader_intact(r, &d));
		if (got)
			ck_assert_uint_eq(d.seq, *last + 1);
		*last = d.seq;
		got++;
	}
	return got;
}

/*
 * A follower (no hold) of a lossless ring that never reads, beside a
 * holder that keeps up (or alone).  One thread: a producer that waited for
 * the follower would hang here.  The ring's tails move only as far as the
 * holder lets them, past the follower's cursor; the follower then gets a
 * whole suffix of the records and counts the rest as drops.
 */
static void follower_lapped(uint64_t dbuf_bytes, uint64_t descs, bool holder)
{
	struct pair p;
	struct bw_reader h, f;
	uint64_t last = 0, got = 0;
	pair_open(&p, dbuf_bytes, descs, BW_LOSSLESS);
	if (holder)
		ck_assert_int_eq(bw_reader_open(&h, p.ib, BW_FROM_OLDEST), 0);
	bw_reader_follow(&f, p.ib, BW_FROM_OLDEST);
	for (uint64_t n = 0; n < 1000; n++) {
		ck_assert_int_eq(produce1(&p, n, 100), 0);
		if (holder)
			got += drain(&h, 100, &last);
	}
	if (holder) {
		ck_assert_uint_eq(got, 1000);
		ck_assert_uint_eq(h.drops, 0);
		ck_assert_uint_le(bw_ibuf_tail(p.ib), h.cursor);
		bw_reader_close(&h);
	}
	ck_assert_uint_eq(bw_gate_min(&p.ib->gate), BW_NO_HOLD);
	got = drain(&f, 100, &last);
	ck_assert_uint_eq(last, 999);
	ck_assert_uint_gt(f.drops, 0);
	ck_assert_uint_eq(got + f.drops, 1000);
	ck_assert_uint_eq(f.records, got);
	bw_reader_close(&f);
	pair_close(&p);
}

START_TEST(follower_of_lossless_ring_is_lapped)
{
	follower_lapped(1 << 20, 32, true);	/* the index ring laps it */
	follower_lapped(4096, 1024, true);	/* the data ring laps it */
	follower_lapped(1 << 20, 32, false);
	follower_lapped(4096, 1024, false);
}
END_TEST

START_TEST(follower_overwritten_during_use_on_lossless_ring)
{
	struct pair p;
	struct bw_reader h, f;
	uint64_t last = 0;
	pair_open(&p, 4096, 1024, BW_LOSSLESS);
	ck_assert_int_eq(bw_reader_open(&h, p.ib, BW_FROM_OLDEST), 0);
	bw_reader_follow(&f, p.ib, BW_FROM_OLDEST);
	ck_assert_int_eq(produce1(&p, 0, 500), 0);
	struct pfs_desc d;
	const void *data;
	ck_assert_int_eq(bw_reader_next(&f, &d, &data), 1);
	for (uint64_t n = 1; n < 40; n++) {	/* well over one lap of bytes */
		ck_assert_int_eq(produce1(&p, n, 500), 0);
		drain(&h, 500, &last);
	}
	ck_assert(!bw_reader_intact(&f, &d));
	ck_assert_uint_eq(f.drops, 1);
	ck_assert_int_eq(bw_reader_next(&f, &d, &data), 1);
	ck_assert_int_eq(verify(data, d.len, 500), (int64_t)d.seq);
	ck_assert(bw_reader_intact(&f, &d));
	ck_assert_uint_eq(d.seq, f.drops);
	bw_reader_close(&f);
	bw_reader_close(&h);
	pair_close(&p);
}
END_TEST

/* A ring made after the reader wanted it: what was lost before the
 * reader's first look counts too. */
START_TEST(follower_from_start_counts_earlier_losses)
{
	struct pair p;
	struct bw_reader f;
	uint64_t last = 0;
	pair_open(&p, 1 << 20, 32, BW_LOSSLESS);
	for (uint64_t n = 0; n < 100; n++)
		ck_assert_int_eq(produce1(&p, n, 100), 0);
	bw_reader_follow(&f, p.ib, BW_FROM_START);
	uint64_t got = drain(&f, 100, &last);
	ck_assert_uint_eq(last, 99);
	ck_assert_uint_eq(got + f.drops, 100);
	ck_assert_uint_gt(f.drops, 0);
	bw_reader_close(&f);
	pair_close(&p);
}
END_TEST

/* A merge that does not hold follows lossless rings without joining. */
START_TEST(merge_without_holds_joins_no_gate)
{
	struct pair p;
	struct bw_merge m;
	pair_open(&p, 1 << 20, 32, BW_LOSSLESS);
	bw_merge_init(&m, false, NULL);
	ck_assert_int_eq(bw_merge_add(&m, p.ib, BW_FROM_OLDEST), 0);
	ck_assert_uint_eq(bw_gate_min(&p.ib->gate), BW_NO_HOLD);
	for (uint64_t n = 0; n < 1000; n++)
		ck_assert_int_eq(produce1(&p, n, 100), 0);
	uint8_t buf[64 * 100];
	size_t n = bw_merge_copy(&m, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_gt(bw_merge_drops(&m), 0);
	ck_assert_uint_eq(bw_merge_drops(&m) + m.in[0].r.records, 1000);
	bw_merge_fini(&m);
	pair_close(&p);
}
END_TEST

/* Framing for the copy tests: the record's length before it, a 2-byte
 * trailer after it; counts the records taken. */
#define TRAILER "\xee\xef"
static void len_frame(const struct pfs_desc *d, const uint8_t *data, size_t input,
		      struct bw_frame *f, void *arg)
{
	(void)data;
	(void)input;
	(void)arg;
	memcpy(f->head, &d->len, 4);
	f->head_len = 4;
	memcpy(f->tail, TRAILER, 2);
	f->tail_len = 2;
}

static void count_taken(const struct pfs_desc *d, size_t input, const struct bw_frame *f,
			void *arg)
{
	(void)d;
	(void)input;
	(void)f;
	(*(uint64_t *)arg)++;
}

START_TEST(copy_splits_large_records_without_loss)
{
	struct pair p;
	struct bw_merge m;
	uint64_t taken = 0;
	struct bw_framing framing = { len_frame, count_taken, &taken };
	pair_open(&p, 1 << 16, 256, 0);
	bw_merge_init(&m, true, &framing);
	ck_assert_int_eq(bw_merge_add(&m, p.ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 100; n++)
		ck_assert_int_eq(produce1(&p, n, 600), 0);
	/* Read in odd small pieces, then parse the stream back. */
	uint8_t stream[100 * 610], *s = stream;
	size_t got;
	while ((got = bw_merge_copy(&m, s, 37)) > 0)
		s += got;
	uint8_t *q = stream;
	for (uint64_t n = 0; n < 100; n++) {
		uint32_t len;
		memcpy(&len, q, 4);
		ck_assert_int_eq(verify(q + 4, len, 600), (int64_t)n);
		ck_assert_mem_eq(q + 4 + len, TRAILER, 2);
		q += 4 + len + 2;
	}
	ck_assert_ptr_eq(q, s);
	ck_assert_uint_eq(taken, 100);
	ck_assert_uint_eq(bw_merge_drops(&m), 0);
	bw_merge_fini(&m);
	pair_close(&p);
}
END_TEST

/* A copy ends at a record boundary while records fit: every copy of 1000
 * bytes holds whole records only, and the stream parses back whole. */
START_TEST(copy_ends_at_record_boundaries)
{
	struct pair p;
	struct bw_merge m;
	uint64_t taken = 0;
	struct bw_framing framing = { len_frame, count_taken, &taken };
	pair_open(&p, 1 << 16, 256, 0);
	bw_merge_init(&m, true, &framing);
	ck_assert_int_eq(bw_merge_add(&m, p.ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 100; n++)
		ck_assert_int_eq(produce1(&p, n, 600), 0);
	uint8_t buf[1000];
	size_t got;
	uint64_t n = 0;
	while ((got = bw_merge_copy(&m, buf, sizeof(buf))) > 0) {
		/* Parse this copy alone: it must end exactly after a record
		 * and its trailer. */
		for (uint8_t *q = buf; q < buf + got; n++) {
			uint32_t len;
			memcpy(&len, q, 4);
			ck_assert_uint_le((size_t)(q - buf) + 4 + len + 2, got);
			ck_assert_int_eq(verify(q + 4, len, 600), (int64_t)n);
			ck_assert_mem_eq(q + 4 + len, TRAILER, 2);
			q += 4 + len + 2;
		}
	}
	ck_assert_uint_eq(n, 100);
	/* a record that waited for room was framed again, taken once */
	ck_assert_uint_eq(taken, 100);
	bw_merge_fini(&m);
	pair_close(&p);
}
END_TEST

/* Framing sees which input each record came from, and may leave records
 * out: those are taken (once) but copy nothing. */
static void skip_input1(const struct pfs_desc *d, const uint8_t *data, size_t input,
			struct bw_frame *f, void *arg)
{
	len_frame(d, data, input, f, arg);
	f->skip = input == 1;
}

static void count_by_input(const struct pfs_desc *d, size_t input, const struct bw_frame *f,
			   void *arg)
{
	(void)d;
	ck_assert(f->skip == (input == 1));
	((uint64_t *)arg)[input]++;
}

START_TEST(framing_numbers_inputs_and_skips)
{
	struct pair a, b;
	struct bw_merge m;
	uint64_t taken[2] = { 0, 0 };
	struct bw_framing framing = { skip_input1, count_by_input, taken };
	pair_open(&a, 1 << 16, 256, 0);
	pair_open(&b, 1 << 16, 256, 0);
	bw_merge_init(&m, true, &framing);
	ck_assert_int_eq(bw_merge_add(&m, a.ib, BW_FROM_OLDEST), 0);
	ck_assert_int_eq(bw_merge_add(&m, b.ib, BW_FROM_OLDEST), 0);
	for (uint64_t n = 0; n < 20; n++)
		ck_assert_int_eq(produce1(n % 2 ? &b : &a, n, 100), 0);
	uint8_t buf[20 * 110];
	size_t got = bw_merge_copy(&m, buf, sizeof(buf));
	uint64_t n = 0;
	for (uint8_t *q = buf; q < buf + got; n++) {
		uint32_t len;
		memcpy(&len, q, 4);
		ck_assert_int_eq(verify(q + 4, len, 100) % 2, 0);	/* a's */
		q += 4 + len + 2;
	}
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(taken[0], 10);
	ck_assert_uint_eq(taken[1], 10);
	bw_merge_fini(&m);
	pair_close(&a);
	pair_close(&b);
}
END_TEST

START_TEST(merge_orders_producers_by_time)
{
	struct pair a, b;
	struct bw_merge m;
	pair_open(&a, 1 << 16, 256, 0);
	pair_open(&b, 1 << 16, 256, 0);
	bw_merge_init(&m, true, NULL);
	ck_assert_int_eq(bw_merge_add(&m, a.ib, BW_FROM_OLDEST), 0);
	ck_assert(!bw_merge_has(&m, b.ib));
	/* Producer a has even timestamps, b odd ones, published out of step. */
	for (uint64_t n = 0; n < 50; n++) {
		struct pair *p = n % 2 ? &b : &a;
		ck_assert_int_eq(produce1(p, n, 100), 0);
		p->ib->slots[(p->ib->head - 1) & p->ib->mask].ts_ns = n;
	}
	ck_assert_int_eq(bw_merge_add(&m, b.ib, BW_FROM_OLDEST), 0);
	ck_assert(bw_merge_has(&m, b.ib));
	struct pfs_desc d;
	const void *data;
	for (uint64_t n = 0; n < 50; n++) {
		ck_assert_int_eq(bw_merge_next(&m, &d, &data), 1);
		ck_assert_uint_eq(d.ts_ns, n);
		ck_assert_int_eq(verify(data, d.len, 100), (int64_t)n);
		ck_assert(bw_merge_intact(&m, &d));
	}
	ck_assert_int_eq(bw_merge_next(&m, &d, &data), 0);
	ck_assert(!bw_merge_eof(&m));
	bw_ibuf_set_ended(a.ib, true);
	ck_assert(!bw_merge_eof(&m));
	bw_ibuf_set_ended(b.ib, true);
	ck_assert(bw_merge_eof(&m));
	bw_merge_fini(&m);
	pair_close(&a);
	pair_close(&b);
}
END_TEST

START_TEST(eof_after_the_last_record)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 16, 0);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	ck_assert(!bw_reader_eof(&r));
	ck_assert_int_eq(produce1(&p, 0, 100), 0);
	bw_ibuf_set_ended(p.ib, true);
	ck_assert(!bw_reader_eof(&r));
	struct pfs_desc d;
	const void *data;
	ck_assert_int_eq(bw_reader_next(&r, &d, &data), 1);
	ck_assert(bw_reader_eof(&r));
	ck_assert_int_eq(bw_reader_wait(&r, NULL), 0);	/* returns at once */
	bw_ibuf_set_ended(p.ib, false);
	ck_assert(!bw_reader_eof(&r));
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

START_TEST(no_wake_without_sleepers)
{
	struct pair p;
	pair_open(&p, 4096, 16, 0);
	uint32_t before = p.ib->data.seq;
	for (uint64_t n = 0; n < 1000; n++) {
		ck_assert_int_eq(produce(&p, n, 100), 0);
		bw_ibuf_flush(p.ib);
	}
	/* Every futex wake bumps seq first: unchanged means no system call. */
	ck_assert_uint_eq(p.ib->data.seq, before);
	uint32_t token = bw_waitq_arm(&p.ib->data);
	bw_ibuf_flush(p.ib);
	bw_ibuf_flush(p.ib);
	ck_assert_uint_eq(p.ib->data.seq, before + 2);
	ck_assert_int_eq(bw_waitq_sleep(&p.ib->data, token, NULL), 0);
	bw_waitq_disarm(&p.ib->data);
	pair_close(&p);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

#define STRESS_RECORDS 400000
#define STRESS_MAX 1600

struct stress_reader {
	pthread_t thread;
	struct pair *p;
	struct bw_reader r;
	unsigned slowness;	/* spin this much per record */
	uint64_t got, bad, out_of_order;
};

static void *stress_read(void *arg)
{
	struct stress_reader *s = arg;
	struct pfs_desc d;
	const void *data;
	int64_t last = -1;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		int rc = bw_reader_next(&s->r, &d, &data);
		if (rc == 0) {
			if (bw_reader_eof(&s->r))
				break;
			bw_reader_wait(&s->r, &tick);
			continue;
		}
		int64_t n = verify(data, d.len, STRESS_MAX);
		for (volatile unsigned i = 0; i < s->slowness; i++)
			;
		if (!bw_reader_intact(&s->r, &d))
			continue;	/* overwritten in use: counted, not used */
		if (n < 0 || (uint64_t)n != d.seq)
			s->bad++;
		if (n <= last)
			s->out_of_order++;
		last = n;
		s->got++;
	}
	return NULL;
}

/* Readers whose bit is set in `follow` hold nothing (bw_reader_follow). */
static void run_stress(unsigned flags, uint64_t dbuf_bytes, uint64_t descs, unsigned follow)
{
	struct pair p;
	struct stress_reader rd[3] = {
		{ .slowness = 0 }, { .slowness = 200 }, { .slowness = 5000 },
	};
	pair_open(&p, dbuf_bytes, descs, flags);
	for (int i = 0; i < 3; i++) {
		rd[i].p = &p;
		if (follow & (1u << i))
			bw_reader_follow(&rd[i].r, p.ib, BW_FROM_OLDEST);
		else
			ck_assert_int_eq(bw_reader_open(&rd[i].r, p.ib, BW_FROM_OLDEST), 0);
		pthread_create(&rd[i].thread, NULL, stress_read, &rd[i]);
	}
	for (uint64_t n = 0; n < STRESS_RECORDS; n++) {
		ck_assert_int_eq(produce(&p, n, STRESS_MAX), 0);
		if (n % 32 == 31)
			bw_ibuf_flush(p.ib);
	}
	bw_ibuf_flush(p.ib);
	bw_ibuf_set_ended(p.ib, true);
	for (int i = 0; i < 3; i++) {
		pthread_join(rd[i].thread, NULL);
		struct stress_reader *s = &rd[i];
		if ((flags & BW_LOSSLESS) && !(follow & (1u << i)))
			ck_assert_uint_eq(s->r.drops, 0);
		fprintf(stderr, "stress %s reader %d%s: %lu records, %lu drops\n",
			flags & BW_LOSSLESS ? "lossless" : "lossy", i,
			follow & (1u << i) ? " (follows)" : "",
			(unsigned long)s->got, (unsigned long)s->r.drops);
		ck_assert_uint_eq(s->bad, 0);
		ck_assert_uint_eq(s->out_of_order, 0);
		ck_assert_uint_eq(s->got + s->r.drops, STRESS_RECORDS);
		bw_reader_close(&s->r);
	}
	pair_close(&p);
}

START_TEST(stress_lossy)
{
	run_stress(0, 1 << 18, 1024, 0);
}
END_TEST

START_TEST(stress_lossless)
{
	run_stress(BW_LOSSLESS, 1 << 18, 1024, 0);
}
END_TEST

/* The fast reader holds the producer; the slower two only follow it. */
START_TEST(stress_lossless_followers)
{
	run_stress(BW_LOSSLESS, 1 << 18, 1024, 0x6);
}
END_TEST

struct lossless_producer {
	struct pair *p;
	uint64_t records;
	int rc;
};

static void *produce_all(void *arg)
{
	struct lossless_producer *lp = arg;
	for (uint64_t n = 0; n < lp->records && lp->rc == 0; n++)
		lp->rc = produce1(lp->p, n, 200);
	bw_ibuf_flush(lp->p->ib);
	return NULL;
}

START_TEST(lossless_producer_waits_for_reader)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 32, BW_LOSSLESS);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	struct lossless_producer lp = { &p, 3000, 0 };
	pthread_t t;
	pthread_create(&t, NULL, produce_all, &lp);
	uint64_t got = 0;
	struct pfs_desc d;
	const void *data;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	while (got < 3000) {
		/* The producer can never be more than a ring ahead of us. */
		ck_assert_uint_le(bw_ibuf_head(p.ib) - r.cursor, 32);
		if (bw_reader_next(&r, &d, &data) == 0) {
			bw_reader_wait(&r, &tick);
			continue;
		}
		ck_assert_int_eq(verify(data, d.len, 200), (int64_t)got);
		ck_assert(bw_reader_intact(&r, &d));
		got++;
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(lp.rc, 0);
	ck_assert_uint_eq(r.drops, 0);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

START_TEST(lossless_wait_can_be_cancelled)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 8, BW_LOSSLESS);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	struct lossless_producer lp = { &p, 100, 0 };
	pthread_t t;
	pthread_create(&t, NULL, produce_all, &lp);
	/* The reader reads nothing: the producer fills the ring and waits. */
	while (bw_ibuf_head(p.ib) < 8)
		sched_yield();
	bw_ibuf_cancel(p.ib);
	pthread_join(t, NULL);
	ck_assert_int_eq(lp.rc, -ECANCELED);
	ck_assert_uint_eq(bw_ibuf_head(p.ib), 8);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

START_TEST(cancelled_reader_no_longer_holds_bytes)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 1024, BW_LOSSLESS);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	struct lossless_producer lp = { &p, 100, 0 };
	pthread_t t;
	pthread_create(&t, NULL, produce_all, &lp);
	/* The data ring fills long before the index ring: the producer waits
	 * in bw_dbuf_alloc until the reader's IBuf is cancelled. */
	while (__atomic_load_n(&p.ib->gate.space.sleepers, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	ck_assert_uint_lt(bw_ibuf_head(p.ib), 100);
	bw_ibuf_cancel(p.ib);
	pthread_join(t, NULL);
	ck_assert_int_eq(lp.rc, 0);
	ck_assert_uint_eq(bw_ibuf_head(p.ib), 100);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

struct sleeper {
	struct bw_reader *r;
	int woke;
};

static void *sleep_for_data(void *arg)
{
	struct sleeper *s = arg;
	struct pfs_desc d;
	const void *data;
	while (bw_reader_next(s->r, &d, &data) == 0)
		bw_reader_wait(s->r, NULL);
	s->woke = 1;
	return NULL;
}

START_TEST(blocked_reader_wakes_on_flush)
{
	struct pair p;
	struct bw_reader r;
	pair_open(&p, 4096, 16, 0);
	ck_assert_int_eq(bw_reader_open(&r, p.ib, BW_FROM_OLDEST), 0);
	struct sleeper s = { &r, 0 };
	pthread_t t;
	pthread_create(&t, NULL, sleep_for_data, &s);
	while (__atomic_load_n(&p.ib->data.sleepers, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	ck_assert_int_eq(produce(&p, 0, 100), 0);
	bw_ibuf_flush(p.ib);
	pthread_join(t, NULL);	/* hangs (test timeout) if the wake was lost */
	ck_assert_int_eq(s.woke, 1);
	bw_reader_close(&r);
	pair_close(&p);
}
END_TEST

static Suite *bufs_suite(void)
{
	Suite *s = suite_create("bufs");
	TCase *basic = tcase_create("single thread");
	tcase_add_test(basic, rejects_bad_sizes);
	tcase_add_test(basic, blocks_never_straddle_the_end);
	tcase_add_test(basic, file_dbuf_is_read_in_place);
	tcase_add_test(basic, wrapped_dbuf_is_read_in_place_until_its_tail_moves);
	tcase_add_test(basic, client_reads_attached_rings_in_place);
	tcase_add_test(basic, client_awaits_dbufs_and_sees_them_go);
	tcase_add_test(basic, records_round_trip_across_wraps);
	tcase_add_test(basic, lapped_reader_skips_and_counts);
	tcase_add_test(basic, overwrite_during_use_is_detected);
	tcase_add_test(basic, readers_at_different_speeds);
	tcase_add_test(basic, copy_splits_large_records_without_loss);
	tcase_add_test(basic, copy_ends_at_record_boundaries);
	tcase_add_test(basic, merge_orders_producers_by_time);
	tcase_add_test(basic, framing_numbers_inputs_and_skips);
	tcase_add_test(basic, eof_after_the_last_record);
	tcase_add_test(basic, no_wake_without_sleepers);
	tcase_add_test(basic, follower_of_lossless_ring_is_lapped);
	tcase_add_test(basic, follower_overwritten_during_use_on_lossless_ring);
	tcase_add_test(basic, follower_from_start_counts_earlier_losses);
	tcase_add_test(basic, merge_without_holds_joins_no_gate);
	suite_add_tcase(s, basic);

	TCase *threads = tcase_create("threads");
	tcase_set_timeout(threads, 120);
	tcase_add_test(threads, stress_lossy);
	tcase_add_test(threads, stress_lossless);
	tcase_add_test(threads, stress_lossless_followers);
	tcase_add_test(threads, lossless_producer_waits_for_reader);
	tcase_add_test(threads, lossless_wait_can_be_cancelled);
	tcase_add_test(threads, cancelled_reader_no_longer_holds_bytes);
	tcase_add_test(threads, blocked_reader_wakes_on_flush);
	suite_add_tcase(s, threads);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bufs_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
