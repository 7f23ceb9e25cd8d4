/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for TCP reassembly (filters/tcpreasm.c): segments of a
 * known stream go in shuffled, repeated, overlapping, lost, wrapped; a
 * consumer collects what it is handed and must see the stream in order,
 * each byte once, with the losses said where they are.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/tcpreasm.h"

#define STREAM_MAX (1u << 20)

/* What a consumer saw of one direction. */
struct seen {
	uint8_t b[STREAM_MAX];
	uint32_t n;		/* bytes handed on, lost ones as '#' */
	uint32_t in_place;	/* calls with the segment's own payload */
	uint32_t calls;
	uint64_t lost;
	int losses;
	uint32_t keep;		/* bytes to keep at each call (at most) */
	uint32_t kept_ok;	/* calls whose kept bytes were right */
};

struct consumer_state {
	struct seen dir[2];	/* by the conn's direction */
	struct seen *last;	/* the direction of the last call */
	bool ignore_server;	/* the consumer wants none of the server's */
};

/* The test's user state per direction: which seen it feeds. */
struct user {
	int which;		/* 0 or 1: client or server by the test's naming */
	int set;
};

static struct consumer_state cs;
static struct pfs_tcp_counters counters;

static struct seen *seen_of(struct pfs_tcp_conn *c, int d)
{
	/* ends are the test's: client port 1000 */
	return &cs.dir[pfs_tcp_end(c, d)->port == 1000 ? 0 : 1];
}

static uint32_t on_data(void *arg, struct pfs_tcp_conn *c, int d, const uint8_t *b,
			uint32_t n, uint32_t fresh, bool in_segment)
{
	struct seen *s = seen_of(c, d);
	(void)arg;
	ck_assert_uint_le(fresh, n);
	ck_assert_uint_gt(fresh, 0);
	ck_assert_uint_le(s->n + fresh, STREAM_MAX);
	/* what was kept is what we had last */
	uint32_t kept = n - fresh;
	ck_assert_uint_le(kept, s->n);
	if (kept && !memcmp(b, s->b + s->n - kept, kept))
		s->kept_ok++;
	memcpy(s->b + s->n, b + kept, fresh);
	s->n += fresh;
	s->calls++;
	s->in_place += in_segment;
	cs.last = s;
	if (cs.ignore_server && s == &cs.dir[1])
		pfs_tcp_ignore(c, d);
	return n > s->keep ? n - s->keep : 0;
}

static void on_lost(void *arg, struct pfs_tcp_conn *c, int d, uint64_t n)
{
	struct seen *s = seen_of(c, d);
	(void)arg;
	ck_assert_uint_le(s->n + n, STREAM_MAX);
	memset(s->b + s->n, '#', n);
	s->n += (uint32_t)n;
	s->lost += n;
	s->losses++;
}

static const struct pfs_tcp_consumer consumer = { on_data, on_lost };

static struct pfs_tcp_table *table(uint32_t conns, uint32_t windows)
{
	memset(&cs, 0, sizeof cs);
	memset(&counters, 0, sizeof counters);
	struct pfs_tcp_table *t = pfs_tcp_table_new(conns, windows, sizeof(struct user),
						    &consumer, &counters);
	ck_assert_ptr_nonnull(t);
	return t;
}

static const uint8_t cli[4] = { 10, 0, 0, 1 }, srv[4] = { 10, 0, 0, 2 };

/* A segment from the client (port 1000) or the server (port 80). */
static void seg(struct pfs_tcp_table *t, bool from_client, uint8_t flags, uint32_t seq,
		uint32_t ack, const void *p, uint32_t len)
{
	struct pfs_tcp_seg s = {
		.family = 4, .flags = flags, .seq = seq, .ack = ack,
		.sport = from_client ? 1000 : 80, .dport = from_client ? 80 : 1000,
		.src = from_client ? cli : srv, .dst = from_client ? srv : cli,
		.payload = p, .len = len, .wire_len = len,
	};
	pfs_tcp_segment(t, &s, NULL);
}

/* The client's stream: bytes that show where they are. */
static uint8_t stream[STREAM_MAX];

static void make_stream(void)
{
	for (uint32_t i = 0; i < STREAM_MAX; i++)
		stream[i] = (uint8_t)('a' + (i * 7 + i / 26) % 26);
}

/* Client data: stream bytes [off, off + len) sent at ISN `isn`. */
static void cdata(struct pfs_tcp_table *t, uint32_t isn, uint32_t off, uint32_t len)
{
	seg(t, true, PFS_TCP_ACK, isn + 1 + off, 0, stream + off, len);
}

static void handshake(struct pfs_tcp_table *t, uint32_t isn, uint32_t sisn)
{
	seg(t, true, PFS_TCP_SYN, isn, 0, NULL, 0);
	seg(t, false, PFS_TCP_SYN | PFS_TCP_ACK, sisn, isn + 1, NULL, 0);
}

static void got_stream(uint32_t len)
{
	ck_assert_uint_eq(cs.dir[0].n, len);
	ck_assert(!memcmp(cs.dir[0].b, stream, len));
}

START_TEST(in_order_in_place)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 1000, 5000);
	for (uint32_t off = 0; off < 10000; off += 1000)
		cdata(t, 1000, off, 1000);
	got_stream(10000);
	ck_assert_uint_eq(cs.dir[0].in_place, 10);	/* never copied */
	ck_assert_uint_eq(counters.connections, 1);
	ck_assert_uint_eq(counters.out_of_order, 0);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(kept_bytes_come_back)
{
	struct pfs_tcp_table *t = table(4, 4);

	cs.dir[0].keep = 300;	/* as a request spanning segments is kept */
	handshake(t, 7, 9);
	for (uint32_t off = 0; off < 5000; off += 500)
		cdata(t, 7, off, 500);
	got_stream(5000);
	ck_assert_uint_eq(cs.dir[0].kept_ok, 9);
	ck_assert_uint_eq(cs.dir[0].in_place, 1);	/* the first: nothing kept yet */
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(out_of_order_and_repeats)
{
	struct pfs_tcp_table *t = table(4, 4);
	static const uint32_t order[] = { 3, 1, 0, 2, 2, 5, 4, 0, 7, 6, 9, 8 };

	handshake(t, 100, 200);
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		cdata(t, 100, order[i] * 100, 100);
	got_stream(1000);
	ck_assert_uint_eq(counters.retransmitted, 200);
	ck_assert_uint_ge(counters.out_of_order, 4);
	ck_assert_uint_eq(counters.inconsistent, 0);
	ck_assert_uint_eq(cs.dir[0].lost, 0);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(overlap_first_copy_wins)
{
	struct pfs_tcp_table *t = table(4, 4);
	uint8_t other[300];

	handshake(t, 0, 0);
	cdata(t, 0, 200, 100);				/* early: [200, 300) */
	memcpy(other, stream + 100, sizeof other);
	memset(other + 150, 'X', 50);			/* differs in [250, 300) */
	seg(t, true, PFS_TCP_ACK, 1 + 100, 0, other, sizeof other);	/* [100, 400) */
	cdata(t, 0, 0, 100);
	got_stream(400);				/* the first copy's bytes */
	ck_assert_uint_eq(counters.inconsistent, 1);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(lost_segment_skipped)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 50, 60);
	cdata(t, 50, 0, 100);
	cdata(t, 50, 200, 100);		/* [100, 200) never comes */
	cdata(t, 50, 300, 100);
	ck_assert_uint_eq(cs.dir[0].n, 100);
	/* the server acknowledges past the hole: it will not come again */
	seg(t, false, PFS_TCP_ACK, 61, 50 + 1 + 400, NULL, 0);
	ck_assert_uint_eq(cs.dir[0].n, 400);
	ck_assert_uint_eq(cs.dir[0].lost, 100);
	ck_assert_uint_eq(counters.gaps, 100);
	ck_assert(!memcmp(cs.dir[0].b + 200, stream + 200, 200));
	cdata(t, 50, 100, 100);		/* too late: nothing more */
	ck_assert_uint_eq(cs.dir[0].n, 400);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(hole_given_up_when_window_is_full)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 1, 2);
	cdata(t, 1, 0, 1000);
	for (uint32_t i = 0; i < PFS_TCP_WINDOW / 1000 + 10; i++)
		cdata(t, 1, 2000 + i * 1000, 1000);	/* [1000, 2000) lost, no ACK seen */
	ck_assert_uint_eq(cs.dir[0].lost, 1000);
	ck_assert_uint_eq(cs.dir[0].n, 2000 + (PFS_TCP_WINDOW / 1000 + 10) * 1000);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(too_many_runs)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 1, 2);
	for (uint32_t i = 1; i <= PFS_TCP_RUNS + 1; i++)
		cdata(t, 1, i * 200, 100);	/* holes between all */
	ck_assert_uint_eq(cs.dir[0].losses, 1);	/* the first hole, for room */
	ck_assert_uint_eq(cs.dir[0].lost, 200);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(mid_connection)
{
	struct pfs_tcp_table *t = table(4, 4);

	cdata(t, 777, 500, 100);	/* no SYN seen */
	cdata(t, 777, 600, 100);
	ck_assert_uint_eq(cs.dir[0].n, 200);
	ck_assert(!memcmp(cs.dir[0].b, stream + 500, 200));
	ck_assert_uint_eq(counters.connections, 1);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(syn_ack_before_syn)
{
	struct pfs_tcp_table *t = table(4, 4);

	seg(t, false, PFS_TCP_SYN | PFS_TCP_ACK, 5000, 1001, NULL, 0);
	seg(t, true, PFS_TCP_SYN, 1000, 0, NULL, 0);
	cdata(t, 1000, 0, 100);
	seg(t, false, PFS_TCP_ACK, 5001, 1101, "HTTP/1.1 200 OK\r\n", 17);
	got_stream(100);
	ck_assert_uint_eq(cs.dir[1].n, 17);
	ck_assert_uint_eq(counters.connections, 1);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(sequence_wraps)
{
	struct pfs_tcp_table *t = table(4, 4);
	uint32_t isn = 0xffffff00u;

	handshake(t, isn, 1);
	cdata(t, isn, 300, 200);	/* past 2^32, early */
	cdata(t, isn, 0, 300);
	cdata(t, isn, 500, 100);
	got_stream(600);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(reused_four_tuple)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 1000, 5000);
	cdata(t, 1000, 0, 100);
	seg(t, true, PFS_TCP_FIN | PFS_TCP_ACK, 1101, 5001, NULL, 0);
	seg(t, true, PFS_TCP_SYN, 1000, 0, NULL, 0);		/* repeated: same ISN */
	ck_assert_uint_eq(counters.connections, 1);
	cdata(t, 1000, 50, 50);				/* after FIN, again */
	ck_assert_uint_eq(counters.connections, 1);
	ck_assert_uint_eq(counters.retransmitted, 50);
	handshake(t, 90000, 7000);			/* a new ISN: a new connection */
	ck_assert_uint_eq(counters.connections, 2);
	cdata(t, 90000, 0, 100);
	ck_assert_uint_eq(cs.dir[0].n, 200);
	ck_assert(!memcmp(cs.dir[0].b + 100, stream, 100));
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(keep_alive_probe)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 10, 20);
	cdata(t, 10, 0, 100);
	seg(t, true, PFS_TCP_ACK, 10 + 100, 21, "\0", 1);	/* SEG.SEQ = RCV.NXT - 1 */
	cdata(t, 10, 100, 100);
	got_stream(200);
	ck_assert_uint_eq(counters.retransmitted, 1);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(cut_by_snapshot)
{
	struct pfs_tcp_table *t = table(4, 4);
	struct pfs_tcp_seg s = {
		.family = 4, .flags = PFS_TCP_ACK, .seq = 11, .sport = 1000, .dport = 80,
		.src = cli, .dst = srv, .payload = stream, .len = 60, .wire_len = 100,
	};

	handshake(t, 10, 20);
	pfs_tcp_segment(t, &s, NULL);
	cdata(t, 10, 100, 50);
	ck_assert_uint_eq(cs.dir[0].n, 150);
	ck_assert_uint_eq(cs.dir[0].lost, 40);
	ck_assert(!memcmp(cs.dir[0].b + 100, stream + 100, 50));
	pfs_tcp_table_free(t);
}
END_TEST

/* Fuzzing found (fuzz_tcpreasm): bytes a cut segment did not carry
 * were all given up, even those another segment had brought early and
 * the window held; that run was left behind RCV.NXT, and giving it up
 * later moved RCV.NXT back and the window out of its bounds.  Only the
 * bytes nobody brought are lost; the held ones are handed on. */
START_TEST(cut_over_held_bytes)
{
	struct pfs_tcp_table *t = table(4, 4);
	struct pfs_tcp_seg s = {
		.family = 4, .flags = PFS_TCP_ACK, .seq = 11, .sport = 1000, .dport = 80,
		.src = cli, .dst = srv, .payload = stream, .len = 60, .wire_len = 150,
	};

	handshake(t, 10, 20);
	cdata(t, 10, 100, 10);			/* early: [100, 110) held */
	pfs_tcp_segment(t, &s, NULL);		/* [0, 60) of [0, 150) */
	ck_assert_uint_eq(cs.dir[0].n, 150);
	ck_assert_uint_eq(cs.dir[0].lost, 80);	/* [60, 100) and [110, 150) */
	ck_assert(!memcmp(cs.dir[0].b + 100, stream + 100, 10));
	cdata(t, 10, 150, 50);
	seg(t, false, PFS_TCP_ACK, 21, 10 + 1 + 200, NULL, 0);
	ck_assert_uint_eq(cs.dir[0].n, 200);
	ck_assert(!memcmp(cs.dir[0].b + 150, stream + 150, 50));
	ck_assert_uint_eq(counters.gaps, 80);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(reset_flushes)
{
	struct pfs_tcp_table *t = table(4, 4);

	handshake(t, 10, 20);
	cdata(t, 10, 0, 100);
	cdata(t, 10, 200, 100);		/* waiting past a hole */
	seg(t, true, PFS_TCP_RST, 10 + 301, 0, NULL, 0);
	ck_assert_uint_eq(cs.dir[0].n, 300);
	ck_assert_uint_eq(cs.dir[0].lost, 100);
	cdata(t, 10, 300, 100);		/* after RST: nothing */
	ck_assert_uint_eq(cs.dir[0].n, 300);
	handshake(t, 5000, 6000);	/* until a new SYN */
	ck_assert_uint_eq(counters.connections, 2);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(eviction_and_windows)
{
	struct pfs_tcp_table *t = table(2, 1);
	uint8_t other[4] = { 10, 0, 0, 9 };
	struct pfs_tcp_seg s = {
		.family = 4, .flags = PFS_TCP_SYN, .seq = 1, .sport = 1, .dport = 2,
		.src = other, .dst = srv,
	};

	handshake(t, 10, 20);
	pfs_tcp_segment(t, &s, NULL);
	s.sport = 3;
	pfs_tcp_segment(t, &s, NULL);	/* a third: the oldest goes */
	ck_assert_uint_eq(counters.connections, 3);
	ck_assert_uint_eq(counters.evictions, 1);
	cdata(t, 10, 0, 100);		/* the evicted one: mid-connection now */
	ck_assert_uint_eq(counters.connections, 4);
	ck_assert_uint_eq(counters.evictions, 2);

	/* one window: a second direction waiting for bytes gets none */
	cdata(t, 10, 200, 100);
	s.sport = 5;
	s.flags = PFS_TCP_ACK;
	s.payload = stream;
	s.len = s.wire_len = 10;
	pfs_tcp_segment(t, &s, NULL);
	s.seq += 20;
	pfs_tcp_segment(t, &s, NULL);
	ck_assert_uint_eq(counters.no_window, 1);
	pfs_tcp_table_free(t);
}
END_TEST

START_TEST(ignored_direction)
{
	struct pfs_tcp_table *t = table(4, 1);

	cs.ignore_server = true;
	handshake(t, 10, 20);
	seg(t, false, PFS_TCP_ACK, 21 + 8 + 4, 11, "held", 4);	/* early: held */
	seg(t, false, PFS_TCP_ACK, 21, 11, "HTTP/1.1", 8);
	ck_assert_uint_eq(cs.dir[1].n, 8);
	seg(t, false, PFS_TCP_ACK, 21 + 8, 11, "more", 4);	/* lets the window go */
	cdata(t, 10, 100, 100);		/* the client's early bytes take it */
	seg(t, false, PFS_TCP_ACK, 21 + 100, 11, "later", 5);	/* early too */
	ck_assert_uint_eq(cs.dir[1].n, 8);	/* counted over, never held */
	ck_assert_uint_eq(cs.dir[1].calls, 1);
	ck_assert_uint_eq(counters.no_window, 0);
	cdata(t, 10, 0, 100);
	got_stream(200);
	pfs_tcp_table_free(t);
}
END_TEST

/* Many connections at once, segments shuffled, repeated and overlapping:
 * each stream comes out whole, once. */
START_TEST(shuffled_streams)
{
	enum { SEGS = 64, SIZE = 700 };
	struct pfs_tcp_table *t = table(8, 8);
	struct { uint32_t off, len; } segs[SEGS * 2];
	uint32_t seed = 42, n = 0;

	handshake(t, 0xfffff000u, 3);
	for (uint32_t i = 0; i < SEGS; i++) {
		segs[n].off = i * SIZE;
		segs[n++].len = SIZE;
		seed = seed * 1103515245u + 12345u;
		if (seed >> 28 < 6) {		/* an overlapping repeat */
			segs[n].off = i * SIZE + SIZE / 2;
			segs[n++].len = SIZE;
		}
	}
	segs[n - 1].len = SIZE;
	for (uint32_t i = n - 1; i > 0; i--) {	/* shuffle, near each other */
		seed = seed * 1103515245u + 12345u;
		uint32_t j = i - (seed >> 16) % (i < 6 ? i + 1 : 6);
		__typeof__(segs[0]) x = segs[i];
		segs[i] = segs[j];
		segs[j] = x;
	}
	for (uint32_t i = 0; i < n; i++)
		if (segs[i].off + segs[i].len <= SEGS * SIZE)
			cdata(t, 0xfffff000u, segs[i].off, segs[i].len);
	got_stream(SEGS * SIZE);
	ck_assert_uint_eq(counters.inconsistent, 0);
	ck_assert_uint_eq(cs.dir[0].lost, 0);
	pfs_tcp_table_free(t);
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_stream();
	Suite *s = suite_create("tcpreasm");
	TCase *tc = tcase_create("reassembly");
	/* A bound on a hang, not on speed: sanitizer builds on a busy
	 * machine take many times the default 4 s. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, in_order_in_place);
	tcase_add_test(tc, kept_bytes_come_back);
	tcase_add_test(tc, out_of_order_and_repeats);
	tcase_add_test(tc, overlap_first_copy_wins);
	tcase_add_test(tc, lost_segment_skipped);
	tcase_add_test(tc, hole_given_up_when_window_is_full);
	tcase_add_test(tc, too_many_runs);
	tcase_add_test(tc, mid_connection);
	tcase_add_test(tc, syn_ack_before_syn);
	tcase_add_test(tc, sequence_wraps);
	tcase_add_test(tc, reused_four_tuple);
	tcase_add_test(tc, keep_alive_probe);
	tcase_add_test(tc, cut_by_snapshot);
	tcase_add_test(tc, cut_over_held_bytes);
	tcase_add_test(tc, reset_flushes);
	tcase_add_test(tc, eviction_and_windows);
	tcase_add_test(tc, ignored_direction);
	tcase_add_test(tc, shuffled_streams);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
