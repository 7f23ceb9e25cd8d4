/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: TCP reassembly (filters/tcpreasm.c), fed segments of
 * four connections and chunks of four written flows, decoded from the
 * input.
 *
 * Input: a header, then operations until the input ends.
 *   header   1 byte: the table's connections (1 + b % 8) and windows
 *            (b / 8 % 8: few, so that they run out); 12 bytes: the
 *            consumer's policy for each direction of each connection and
 *            each flow (how much it keeps at each call; bit 7: it ignores
 *            the direction); 8 times 4 bytes: each direction's ISN.
 *   op       1 byte: bits 0-1 the connection (or flow); bit 7 a flow's
 *            chunk, else a segment: bit 2 from the server, bits 3-5 its
 *            flags (ACK, ACK|PSH, SYN, SYN|ACK, FIN|ACK, RST, RST|ACK, or
 *            the next byte);
 *   segment  1 byte m: bits 0-1 its seq (the next in order, near it, far
 *            from it, or 4 bytes as they are), bits 4-5 its ack (what
 *            the other side sent, near it, 4 bytes, or 0); bit 2 the
 *            payload is the input's next bytes, else the direction's
 *            pattern; bit 3 the capture cut it (wire_len > len, 1 more
 *            byte); then the fields m asks for, 1 byte of length
 *            (under 0xf0 as is, else 1 to 16 KiB);
 *   chunk    1 byte of length; bit 6 of op: the payload is the input's.
 * A pattern gives byte seq of direction x the value (seq * 131 + salt x)
 * modulo 256, the same whatever segment carries it.
 *
 * Invariants: no crash or leak; a consumer is handed at least one new
 * byte a call, and what it kept, exactly, before them; a call with the
 * segment's own payload points inside that payload and has nothing kept;
 * the bytes a direction hands on, where only patterns were sent, follow
 * the pattern across calls (and across losses that say their size):
 * each byte once, in order, of its own direction; with patterns only,
 * no overlap differs (`inconsistent` stays 0); gap_bytes is the sum of
 * the losses reported.
 */
#include "tests/fuzz/fuzz.h"	/* first: tcpreasm.h uses size_t */
#include "filters/tcpreasm.h"

#define CONNS 4
#define FLOWS 4
#define SIDES (2 * CONNS + FLOWS)	/* a conn's client, its server; flows */

/* What the harness knows of a direction, by side. */
struct side {
	uint8_t keep_policy;
	uint8_t ignore;
	bool raw;		/* sent input bytes: no pattern to check */
	uint32_t cursor;	/* the next seq the sender would use */
	uint8_t salt;
	/* what the consumer has of the stream since it began */
	uint32_t nkept;
	bool have_last;
	uint8_t last;		/* the pattern value of the last byte */
	uint64_t since_last;	/* bytes lost since it */
};

static struct side sides[SIDES];
static uint8_t kept[SIDES][PFS_TCP_KEEP];
static uint64_t lost_sum;
static bool any_raw;

/* The segment in pfs_tcp_segment now (a written chunk: its bytes). */
static const uint8_t *cur_payload;
static uint32_t cur_len;

/* The consumer's state per direction: zeroed with a new connection. */
struct user {
	uint8_t started;
};

static const uint8_t cli4[4] = { 10, 1, 0, 1 }, srv4[4] = { 10, 1, 0, 2 };
static const uint8_t cli6[16] = { 0xfd, 0, [15] = 1 }, srv6[16] = { 0xfd, 0, [15] = 2 };

static int side_of(struct pfs_tcp_conn *c, int d)
{
	if (pfs_tcp_family(c) == 0) {
		uint32_t flow;
		memcpy(&flow, pfs_tcp_end(c, d)->addr, sizeof flow);
		FZ_CHECK(flow < FLOWS, "flow %u", flow);
		return 2 * CONNS + (int)flow;
	}
	uint16_t p = pfs_tcp_end(c, d)->port, q = pfs_tcp_end(c, !d)->port;
	int server = p == 80;
	int k = (server ? q : p) - 1000;
	FZ_CHECK(k >= 0 && k < CONNS && (server ? p : q) == 80, "ports %u %u", p, q);
	return 2 * k + server;
}

static uint32_t keep_of(uint8_t policy)
{
	static const uint32_t keep[8] = { 0, 1, 7, 100, 1500, 40000, PFS_TCP_KEEP, PFS_TCP_KEEP };
	return keep[policy & 7];
}

/* A direction's first call (data or loss) since its connection was made. */
static struct side *begin(struct pfs_tcp_conn *c, int d)
{
	struct user *u = pfs_tcp_user(c, d);
	struct side *s = &sides[side_of(c, d)];

	if (!u->started) {
		u->started = 1;
		s->nkept = 0;
		s->have_last = false;
	}
	return s;
}

static uint32_t on_data(void *arg, struct pfs_tcp_conn *c, int d, const uint8_t *b, uint32_t n,
			uint32_t fresh, bool in_segment)
{
	struct side *s = begin(c, d);
	int x = (int)(s - sides);
	(void)arg;

	FZ_CHECK(fresh > 0 && fresh <= n, "%u fresh of %u", fresh, n);
	FZ_CHECK(n - fresh == s->nkept, "side %d: handed %u kept bytes, it kept %u", x,
		 n - fresh, s->nkept);
	FZ_CHECK(!memcmp(b, kept[x], s->nkept), "side %d: kept bytes changed", x);
	if (in_segment)
		FZ_CHECK(n == fresh && cur_payload && b >= cur_payload &&
				 b + n <= cur_payload + cur_len,
			 "side %d: in-segment bytes outside the segment", x);
	if (!s->raw) {
		for (uint32_t i = n - fresh; i < n; i++) {
			uint8_t v = b[i] ^ s->salt;
			if (s->have_last)
				FZ_CHECK(v == (uint8_t)(s->last + 131 * (s->since_last + 1)),
					 "side %d: byte %u of %u (%u fresh) is %u, after %u and %llu "
					 "lost",
					 x, i, n, fresh, v, s->last, (unsigned long long)s->since_last);
			s->last = v;
			s->have_last = true;
			s->since_last = 0;
		}
	}
	if (s->ignore) {
		pfs_tcp_ignore(c, d);
		s->nkept = 0;
		return n;
	}
	uint32_t keep = keep_of(s->keep_policy);
	if (keep > n)
		keep = n;
	memcpy(kept[x], b + n - keep, keep);
	s->nkept = keep;
	return n - keep;
}

static void on_lost(void *arg, struct pfs_tcp_conn *c, int d, uint64_t n)
{
	struct side *s = begin(c, d);
	(void)arg;

	lost_sum += n;
	s->nkept = 0;
	if (n == 0)
		s->have_last = false;
	else
		s->since_last += n;
}

static const struct pfs_tcp_consumer consumer = { on_data, on_lost };

static uint8_t *pattern(const struct side *s, uint32_t seq, uint32_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	FZ_CHECK(p != NULL, "out of memory");
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((seq + i) * 131u) ^ s->salt;
	return p;
}

static uint32_t length(struct fz *z)
{
	uint8_t b = fz_u8(z);
	return b < 0xf0 ? b : ((uint32_t)(b & 0xf) + 1) * 1024;
}

/* The payload: the input's next bytes (raw), else the pattern. */
static uint8_t *payload(struct fz *z, struct side *s, bool raw, uint32_t seq, uint32_t *len)
{
	if (!raw)
		return pattern(s, seq, *len);
	size_t got;
	const uint8_t *p = fz_bytes(z, *len, &got);
	*len = (uint32_t)got;
	s->raw = any_raw = true;
	return fz_copy(p, got);
}

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static void segment(struct pfs_tcp_table *t, struct fz *z, uint8_t op)
{
	static const uint8_t flag_sets[7] = {
		PFS_TCP_ACK, PFS_TCP_ACK | 0x08, PFS_TCP_SYN, PFS_TCP_SYN | PFS_TCP_ACK,
		PFS_TCP_FIN | PFS_TCP_ACK, PFS_TCP_RST, PFS_TCP_RST | PFS_TCP_ACK,
	};
	int k = op & 3, server = !!(op & 4), fs = (op >> 3) & 7;
	struct side *s = &sides[2 * k + server], *o = &sides[2 * k + !server];
	uint8_t flags = fs < 7 ? flag_sets[fs] : fz_u8(z);
	uint8_t m = fz_u8(z);
	uint32_t seq = s->cursor, ack = o->cursor;

	switch (m & 3) {
	case 1: seq += (uint32_t)(int32_t)(int8_t)fz_u8(z); break;
	case 2: seq += (uint32_t)((int32_t)(int16_t)fz_u16(z) * 8); break;
	case 3: seq = fz_u32(z); break;
	}
	switch ((m >> 4) & 3) {
	case 1: ack += (uint32_t)(int32_t)(int8_t)fz_u8(z); break;
	case 2: ack = fz_u32(z); break;
	case 3: ack = 0; break;
	}
	uint32_t len = length(z);
	uint32_t dseq = seq + !!(flags & PFS_TCP_SYN);
	uint8_t *p = payload(z, s, m & 4, dseq, &len);
	uint32_t wire = len + (m & 8 ? 1 + fz_u8(z) : 0);
	bool v6 = k == 3;
	struct pfs_tcp_seg g = {
		.family = v6 ? 6 : 4, .flags = flags,
		.sport = server ? 80 : (uint16_t)(1000 + k), .dport = server ? (uint16_t)(1000 + k) : 80,
		.src = server ? (v6 ? srv6 : srv4) : (v6 ? cli6 : cli4),
		.dst = server ? (v6 ? cli6 : cli4) : (v6 ? srv6 : srv4),
		/* the payload is never NULL, as http.c's is not */
		.seq = seq, .ack = ack, .payload = p, .len = len, .wire_len = wire,
	};
	if (seq_lt(s->cursor, dseq + wire))
		s->cursor = dseq + wire;
	cur_payload = p;
	cur_len = len;
	pfs_tcp_segment(t, &g, NULL);
	cur_payload = NULL;
	free(p);
}

static void chunk(struct pfs_tcp_table *t, struct fz *z, uint8_t op)
{
	uint32_t flow = op & 3, len = fz_u8(z) * 16u + (op & 0x30);
	struct side *s = &sides[2 * CONNS + flow];
	uint8_t *p = payload(z, s, op & 0x40, s->cursor, &len);

	s->cursor += len;
	cur_payload = p;
	cur_len = len;
	pfs_tcp_stream(t, flow, p, len, NULL);
	cur_payload = NULL;
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct fz z = { in, size };
	struct pfs_tcp_counters counters = { 0 };
	uint8_t conf = fz_u8(&z);

	memset(sides, 0, sizeof sides);
	lost_sum = 0;
	any_raw = false;
	for (int i = 0; i < SIDES; i++) {
		uint8_t p = fz_u8(&z);
		sides[i].keep_policy = p & 7;
		sides[i].ignore = p >> 7;
		sides[i].salt = (uint8_t)(0x11 + 0x35 * i);
	}
	for (int i = 0; i < 2 * CONNS; i++)
		sides[i].cursor = fz_u32(&z);

	struct pfs_tcp_table *t = pfs_tcp_table_new(1 + (conf & 7), (conf >> 3) & 7,
						    sizeof(struct user), &consumer, &counters);
	FZ_CHECK(t != NULL, "no table");
	while (fz_more(&z)) {
		uint8_t op = fz_u8(&z);
		if (op & 0x80)
			chunk(t, &z, op);
		else
			segment(t, &z, op);
	}
	FZ_CHECK(counters.gaps == lost_sum, "gap_bytes %llu, losses said %llu",
		 (unsigned long long)counters.gaps, (unsigned long long)lost_sum);
	if (!any_raw)
		FZ_CHECK(counters.inconsistent == 0, "%llu inconsistent with patterns only",
			 (unsigned long long)counters.inconsistent);
	pfs_tcp_table_free(t);
	return 0;
}
