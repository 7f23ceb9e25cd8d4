/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the pcap stream format (filters/pcapio.c, and the savefile
 * parser of filters/savefile.c): the headers and exported-PDU tags a
 * node's `pcap` file is read with, and the parsers for what is written
 * into it.  Expected bytes are built by hand here, field by field; libpcap then
 * checks both directions: it writes a capture that we parse, and it reads
 * a stream that we write.
 */
#include <check.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/pcapio.h"
#include "bufs/merge.h"
#include "pipesfs_record.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
#define LT_SLL 113			/* LINKTYPE_LINUX_SLL: any other frame type */
#define LT_DBUS 231			/* LINKTYPE_DBUS: 128 MiB records */
#define TS_SEC 1700000000u
#define TS_NS (TS_SEC * 1000000000ull + 123456789u)
#define UPPER_TAGS 12			/* DISSECTOR_NAME tag of a 4-letter name, END */
#define MAX_SEEN 16

/* ---- building pcap bytes by hand ---- */

/* v as a writer of our byte order (or, swap, of the other one) stores it. */
static void put32(uint8_t *b, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(b, &v, 4);
}

static void put16(uint8_t *b, uint16_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap16(v);
	memcpy(b, &v, 2);
}

struct hdr {
	bool swap;
	uint32_t magic;
	uint16_t major, minor;
	uint32_t snaplen, linktype;
};

static void make_header(uint8_t b[PFS_PCAP_GLOBAL_LEN], struct hdr h)
{
	put32(b, h.magic, h.swap);
	put16(b + 4, h.major, h.swap);
	put16(b + 6, h.minor, h.swap);
	put32(b + 8, 0, h.swap);	/* thiszone */
	put32(b + 12, 0, h.swap);	/* sigfigs */
	put32(b + 16, h.snaplen, h.swap);
	put32(b + 20, h.linktype, h.swap);
}

/* One record: frac is microseconds or nanoseconds, as the magic says. */
struct rec {
	uint32_t sec, frac, caplen, wire;
};

static void make_record_hdr(uint8_t b[PFS_PCAP_RECORD_HDR], struct rec r, bool swap)
{
	put32(b, r.sec, swap);
	put32(b + 4, r.frac, swap);
	put32(b + 8, r.caplen, swap);
	put32(b + 12, r.wire, swap);
}

/* Record i's bytes: distinct per record, so a mix-up shows. */
static uint8_t data_byte(int i, uint32_t j)
{
	return (uint8_t)(i * 31 + (int)j + 1);
}

struct stream {
	size_t len;
	uint8_t b[4096];
};

/* A whole stream: global header h, then records r[0..n). */
static void build(struct stream *s, struct hdr h, const struct rec *r, int n)
{
	make_header(s->b, h);
	s->len = PFS_PCAP_GLOBAL_LEN;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_le(s->len + PFS_PCAP_RECORD_HDR + r[i].caplen, sizeof s->b);
		make_record_hdr(s->b + s->len, r[i], h.swap);
		s->len += PFS_PCAP_RECORD_HDR;
		for (uint32_t j = 0; j < r[i].caplen; j++)
			s->b[s->len++] = data_byte(i, j);
	}
}

/* ---- what the streaming parser hands on ---- */

struct seen {
	int n;
	struct pfs_desc d[MAX_SEEN];
	size_t nbytes;
	uint8_t bytes[4096];	/* every record's data, one after another */
};

static void collect(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	struct seen *s = arg;
	ck_assert_int_lt(s->n, MAX_SEEN);
	ck_assert_uint_le(s->nbytes + d->len, sizeof s->bytes);
	s->d[s->n++] = *d;
	memcpy(s->bytes + s->nbytes, data, d->len);
	s->nbytes += d->len;
}

/* What record i of a stream with header h must be parsed as: every field
 * of the descriptor (the rest zero), and its first len bytes. */
static void check_record(const struct pfs_desc *d, const uint8_t *data,
			 struct hdr h, struct rec r, int i)
{
	uint32_t snaplen = h.snaplen ? h.snaplen : PFS_PCAP_MAX_RECORD;
	uint64_t frac = h.magic == MAGIC_NSEC ? r.frac : r.frac * 1000ull;
	struct pfs_desc want = {
		.ts_ns = r.sec * 1000000000ull + frac,
		.len = r.caplen < snaplen ? r.caplen : snaplen,
		.wire_len = r.wire,
		.kind = PFS_KIND_FRAME,
		.link_type = (uint16_t)h.linktype,
		.flags = h.magic == MAGIC_NSEC ? PFS_REC_TS_NSEC : 0,
	};
	ck_assert_mem_eq(d, &want, sizeof want);
	for (uint32_t j = 0; j < want.len; j++)
		ck_assert_uint_eq(data[j], data_byte(i, j));
}

static void check_seen(const struct seen *s, struct hdr h, const struct rec *r, int n)
{
	ck_assert_int_eq(s->n, n);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		check_record(&s->d[i], s->bytes + off, h, r[i], i);
		off += s->d[i].len;
	}
	ck_assert_uint_eq(off, s->nbytes);
}

static void check_same_seen(const struct seen *a, const struct seen *b)
{
	ck_assert_int_eq(a->n, b->n);
	ck_assert_mem_eq(a->d, b->d, (size_t)a->n * sizeof a->d[0]);
	ck_assert_uint_eq(a->nbytes, b->nbytes);
	ck_assert_mem_eq(a->bytes, b->bytes, a->nbytes);
}

/* Feeds len bytes to p; asserts the call succeeds. */
static void feed(struct pfs_pcap_parser *p, const uint8_t *b, size_t len, struct seen *s)
{
	char err[128] = "";
	int rc = pfs_pcap_parse(p, b, len, collect, s, err, sizeof err);
	ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
}

/* Feeds len bytes to p; asserts the call is refused, with a reason, and
 * that neither p nor s changed. */
static void feed_bad(struct pfs_pcap_parser *p, const uint8_t *b, size_t len, struct seen *s)
{
	struct pfs_pcap_parser before = *p;
	uint8_t pending[4096];
	int n = s->n;
	char err[128] = "";
	ck_assert_uint_le(p->npending, sizeof pending);
	if (p->npending)
		memcpy(pending, p->pending, p->npending);
	ck_assert_int_eq(pfs_pcap_parse(p, b, len, collect, s, err, sizeof err), -EINVAL);
	ck_assert_uint_gt(strlen(err), 0);
	ck_assert_int_eq(s->n, n);
	ck_assert_int_eq(p->have_header, before.have_header);
	ck_assert_ptr_eq(p->pending, before.pending);
	ck_assert_uint_eq(p->npending, before.npending);
	if (p->npending)
		ck_assert_mem_eq(p->pending, pending, p->npending);
}

/* ---- temporary files, for libpcap ---- */

static void temp_path(char path[32])
{
	strcpy(path, "/tmp/test_pcapio.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static size_t read_file(const char *path, uint8_t *b, size_t cap)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(b, 1, cap, f);
	ck_assert_int_eq(fgetc(f), EOF);	/* all of it fitted */
	fclose(f);
	return n;
}

/* ==== writing: what a `pcap` file reads as ==== */

static struct pfs_pcap_view view(int lt, bool nsec)
{
	return (struct pfs_pcap_view){ .link_type = lt, .nsec = nsec };
}

START_TEST(global_header_bytes)
{
	static const struct { int lt; uint32_t snaplen; } types[] = {
		{ PFS_LINKTYPE_ETHERNET, 256 * 1024 }, { LT_SLL, 256 * 1024 },
		{ PFS_LINKTYPE_UPPER_PDU, 256 * 1024 }, { LT_DBUS, 128u << 20 },
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		for (int nsec = 0; nsec <= 1; nsec++) {
			uint8_t got[PFS_PCAP_GLOBAL_LEN + 8], want[PFS_PCAP_GLOBAL_LEN];
			struct pfs_pcap_view v = view(types[i].lt, nsec);
			memset(got, 0xee, sizeof got);
			pfs_pcap_global_header(got, &v);
			/* Version 2.4, the precision of the first record, our
			 * byte order; the snapshot length is libpcap's largest
			 * for the link type, so no record is cut. */
			make_header(want, (struct hdr){ .magic = nsec ? MAGIC_NSEC : MAGIC_USEC,
							.major = 2, .minor = 4,
							.snaplen = types[i].snaplen,
							.linktype = (uint32_t)types[i].lt });
			ck_assert_mem_eq(got, want, sizeof want);
			for (size_t j = PFS_PCAP_GLOBAL_LEN; j < sizeof got; j++)
				ck_assert_uint_eq(got[j], 0xee);
		}
	}
}
END_TEST

START_TEST(global_header_parses_back)
{
	uint8_t b[PFS_PCAP_GLOBAL_LEN];
	struct pfs_pcap_format f;
	struct pfs_pcap_view v = view(LT_SLL, true);
	char err[128] = "";
	pfs_pcap_global_header(b, &v);
	ck_assert_int_eq(pfs_pcap_parse_header(&f, b, err, sizeof err), 0);
	ck_assert(!f.swapped);
	ck_assert(f.nanosec);
	ck_assert_int_eq(f.link_type, LT_SLL);
	ck_assert_uint_eq(f.snaplen, PFS_PCAP_MAX_RECORD);
}
END_TEST

START_TEST(view_follows_the_first_record)
{
	struct pfs_desc d = { .kind = PFS_KIND_FRAME, .link_type = LT_SLL,
			      .flags = PFS_REC_TS_NSEC };
	struct pfs_pcap_view v;
	pfs_pcap_view_of(&v, &d);
	ck_assert_int_eq(v.link_type, LT_SLL);
	ck_assert(v.nsec);
	d.kind = PFS_KIND_TEXT;
	d.flags = 0;
	pfs_pcap_view_of(&v, &d);
	ck_assert_int_eq(v.link_type, PFS_LINKTYPE_UPPER_PDU);
	ck_assert(!v.nsec);
}
END_TEST

START_TEST(link_types)
{
	struct pfs_desc d = { .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	ck_assert_int_eq(pfs_pcap_link_type(&d), PFS_LINKTYPE_ETHERNET);
	d.link_type = LT_SLL;
	ck_assert_int_eq(pfs_pcap_link_type(&d), LT_SLL);
	/* `payload` narrows a frame: its bytes are no frame of its type */
	d.head_room = 54;
	ck_assert_int_eq(pfs_pcap_link_type(&d), PFS_LINKTYPE_UPPER_PDU);
	static const uint8_t kinds[] = { PFS_KIND_STREAM, PFS_KIND_TEXT, PFS_KIND_HTTP };
	for (size_t i = 0; i < sizeof kinds; i++) {
		struct pfs_desc u = { .kind = kinds[i] };
		ck_assert_int_eq(pfs_pcap_link_type(&u), PFS_LINKTYPE_UPPER_PDU);
	}
}
END_TEST

/* The framing of d (its bytes at data) in view v, copied to out with a
 * guard after it; returns its length, or SKIPPED. */
#define SKIPPED ((size_t)-1)
#define HEAD_ROOM_MAX (PFS_PCAP_RECORD_HDR + PFS_UPPER_PDU_TAGS_MAX)
static size_t frame_in(struct pfs_pcap_view v, const struct pfs_desc *d, const uint8_t *data,
		       uint8_t out[HEAD_ROOM_MAX + 16])
{
	struct bw_frame f = { 0 };
	memset(out, 0xee, HEAD_ROOM_MAX + 16);
	pfs_pcap_frame(&v, d, data, &f);
	if (f.skip)
		return SKIPPED;
	ck_assert_uint_le(f.head_len, HEAD_ROOM_MAX);
	ck_assert_uint_eq(f.tail_len, 0);
	memcpy(out, f.head, f.head_len);
	return f.head_len;
}

static size_t frame(const struct pfs_desc *d, int lt, uint8_t out[HEAD_ROOM_MAX + 16])
{
	static const uint8_t zeros[128];	/* no flow in its head room */
	return frame_in(view(lt, false), d, zeros + 64, out);
}

START_TEST(frame_record_header)
{
	/* A frame of the stream's type: header only, the captured and the
	 * wire length as they were, the time cut to microseconds. */
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 60, .wire_len = 1514,
			      .kind = PFS_KIND_FRAME, .link_type = LT_SLL };
	uint8_t got[HEAD_ROOM_MAX + 16], want[PFS_PCAP_RECORD_HDR];
	ck_assert_uint_eq(frame(&d, LT_SLL, got), PFS_PCAP_RECORD_HDR);
	make_record_hdr(want, (struct rec){ TS_SEC, 123456, 60, 1514 }, false);
	ck_assert_mem_eq(got, want, sizeof want);
	ck_assert_uint_eq(got[PFS_PCAP_RECORD_HDR], 0xee);
}
END_TEST

/* A nanosecond view keeps the nanoseconds. */
START_TEST(frame_record_header_nanoseconds)
{
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 60, .wire_len = 60,
			      .kind = PFS_KIND_FRAME, .link_type = LT_SLL,
			      .flags = PFS_REC_TS_NSEC };
	uint8_t got[HEAD_ROOM_MAX + 16], want[PFS_PCAP_RECORD_HDR];
	ck_assert_uint_eq(frame_in(view(LT_SLL, true), &d, NULL, got), PFS_PCAP_RECORD_HDR);
	make_record_hdr(want, (struct rec){ TS_SEC, 123456789, 60, 60 }, false);
	ck_assert_mem_eq(got, want, sizeof want);
}
END_TEST

/* Exported-PDU tags as Wireshark's exported_pdu.h has them: big-endian
 * code and length, the value padded to 4. */
static uint8_t *tag(uint8_t *t, uint16_t code, const void *v, uint16_t len)
{
	put16(t, code, true);
	put16(t + 2, (uint16_t)((len + 3) & ~3u), true);
	memset(t + 4, 0, (len + 3) & ~3u);
	if (len)
		memcpy(t + 4, v, len);
	return t + 4 + ((len + 3) & ~3u);
}

static uint8_t *tag32(uint8_t *t, uint16_t code, uint32_t v)
{
	uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return tag(t, code, be, 4);
}

/* An upper-layer record: the header, then the tag naming the dissector
 * (name NULL: flow has the dissector's tags), the flow's tags (given), and
 * END. */
static void check_upper_at(const struct pfs_desc *d, const uint8_t *data, const char *name,
			   const uint8_t *flow, size_t flow_len)
{
	uint8_t got[HEAD_ROOM_MAX + 16], want[HEAD_ROOM_MAX];
	uint8_t *t = want + PFS_PCAP_RECORD_HDR;
	if (name)
		t = tag(t, 12, name, (uint16_t)strlen(name));
	if (flow_len)
		memcpy(t, flow, flow_len);
	t = tag(t + flow_len, 0, NULL, 0);
	size_t ntags = (size_t)(t - want) - PFS_PCAP_RECORD_HDR;
	/* Both lengths count the tags; the wire length is not used: the
	 * record is all there is. */
	make_record_hdr(want, (struct rec){ TS_SEC, 123456, (uint32_t)(d->len + ntags),
					    (uint32_t)(d->len + ntags) }, false);
	ck_assert_uint_eq(frame_in(view(PFS_LINKTYPE_UPPER_PDU, false), d, data, got),
			  (size_t)(t - want));
	ck_assert_mem_eq(got, want, (size_t)(t - want));
}

static void check_upper(const struct pfs_desc *d, const char *name)
{
	static const uint8_t zeros[128];
	check_upper_at(d, zeros + 64, name, NULL, 0);
}

START_TEST(upper_pdu_record_tags)
{
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 10, .wire_len = 10,
			      .kind = PFS_KIND_STREAM };
	check_upper(&d, "data");
	d.kind = PFS_KIND_TEXT;
	d.len = 7;
	d.head_room = sizeof(struct pfs_flow_meta);
	check_upper(&d, "data-text-lines");
	d.kind = PFS_KIND_HTTP;
	d.len = 18;
	check_upper(&d, "http");
	/* `payload`'s output: 6 bytes of a 60-byte frame that is no IP */
	struct pfs_desc pl = { .ts_ns = TS_NS, .len = 6, .wire_len = 60, .head_room = 54,
			       .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	check_upper(&pl, "data");
}
END_TEST

/* Records with a flow: its addresses, port type and ports as tags. */
START_TEST(upper_pdu_flow_tags)
{
	/* a text line about a TCP segment: its flow header first */
	struct {
		struct pfs_flow_meta m;
		char line[8];
	} text = { { .family = 4, .proto = 6, .src_port = 55938, .dst_port = 80,
		     .src = { 10, 99, 0, 2 }, .dst = { 10, 99, 0, 1 } }, "a line\n" };
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 7, .wire_len = 7,
			      .head_room = sizeof(struct pfs_flow_meta), .kind = PFS_KIND_TEXT };
	uint8_t flow[96], *t = flow;
	t = tag(t, 20, text.m.src, 4);
	t = tag(t, 21, text.m.dst, 4);
	t = tag32(t, 24, 2);	/* EXP_PDU_PT_TCP */
	t = tag32(t, 25, 55938);
	t = tag32(t, 26, 80);
	check_upper_at(&d, (const uint8_t *)text.line, "data-text-lines", flow, (size_t)(t - flow));

	/* an HTTP request on IPv6, UDP-less: addresses and TCP ports */
	text.m = (struct pfs_flow_meta){ .family = 6, .proto = 6, .src_port = 51000,
					 .dst_port = 8080, .src = { 0x20, 1, 0xd, 0xb8, [15] = 1 },
					 .dst = { 0x20, 1, 0xd, 0xb8, [15] = 2 } };
	d.kind = PFS_KIND_HTTP;
	t = tag(flow, 22, text.m.src, 16);
	t = tag(t, 23, text.m.dst, 16);
	t = tag32(t, 24, 2);
	t = tag32(t, 25, 51000);
	t = tag32(t, 26, 8080);
	check_upper_at(&d, (const uint8_t *)text.line, "http", flow, (size_t)(t - flow));

	/* `payload` of an Ethernet/IPv4/UDP frame, dissected from its head
	 * room: Wireshark's udp.port table, at the lower port */
	uint8_t frame_bytes[14 + 20 + 8 + 4] = {
		[12] = 0x08, [13] = 0x00,
		[14] = 0x45, [17] = 32, [22] = 64, [23] = 17,
		[26] = 192, [27] = 0, [28] = 2, [29] = 1,
		[30] = 192, [31] = 0, [32] = 2, [33] = 2,
		[34] = 0x13, [35] = 0x88, [36] = 0x00, [37] = 0x35, [39] = 12,
		[42] = 'p', [43] = 'i', [44] = 'n', [45] = 'g',
	};
	struct pfs_desc pl = { .ts_ns = TS_NS, .len = 4, .wire_len = 46, .head_room = 42,
			       .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	t = tag(flow, 14, "udp.port", 8);	/* EXP_PDU_TAG_DISSECTOR_TABLE_NAME */
	t = tag32(t, 32, 53);			/* ..._NUM_VAL */
	t = tag(t, 20, frame_bytes + 26, 4);
	t = tag(t, 21, frame_bytes + 30, 4);
	t = tag32(t, 24, 3);	/* EXP_PDU_PT_UDP */
	t = tag32(t, 25, 5000);
	t = tag32(t, 26, 53);
	check_upper_at(&pl, frame_bytes + 42, NULL, flow, (size_t)(t - flow));
}
END_TEST

START_TEST(view_skips_what_the_stream_cannot_carry)
{
	uint8_t out[HEAD_ROOM_MAX + 16];
	struct pfs_desc sll = { .ts_ns = TS_NS, .len = 60, .wire_len = 60,
				.kind = PFS_KIND_FRAME, .link_type = LT_SLL };
	struct pfs_desc narrowed = { .ts_ns = TS_NS, .len = 6, .wire_len = 60, .head_room = 54,
				     .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	struct pfs_desc text = { .ts_ns = TS_NS, .len = 7, .wire_len = 7,
				 .kind = PFS_KIND_TEXT };
	struct pfs_desc eth = sll;
	eth.link_type = PFS_LINKTYPE_ETHERNET;
	ck_assert_uint_eq(frame(&sll, PFS_LINKTYPE_ETHERNET, out), SKIPPED);
	ck_assert_uint_eq(frame(&narrowed, PFS_LINKTYPE_ETHERNET, out), SKIPPED);
	ck_assert_uint_eq(frame(&text, PFS_LINKTYPE_ETHERNET, out), SKIPPED);
	ck_assert_uint_eq(frame(&eth, PFS_LINKTYPE_UPPER_PDU, out), SKIPPED);
	ck_assert_uint_eq(frame(&eth, LT_SLL, out), SKIPPED);
	/* and a skipped record writes nothing */
	for (size_t j = 0; j < sizeof out; j++)
		ck_assert_uint_eq(out[j], 0xee);
}
END_TEST

/* A frame that is itself an exported PDU (read from a LINKTYPE 252 capture,
 * or written into a `pcap` file as one) already has its tags: it must go
 * out as it came, not be wrapped in a second set naming "data". */
START_TEST(upper_pdu_frame_is_not_wrapped_again)
{
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 30, .wire_len = 30,
			      .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_UPPER_PDU };
	uint8_t got[HEAD_ROOM_MAX + 16], want[PFS_PCAP_RECORD_HDR];
	ck_assert_uint_eq(frame(&d, PFS_LINKTYPE_UPPER_PDU, got), PFS_PCAP_RECORD_HDR);
	make_record_hdr(want, (struct rec){ TS_SEC, 123456, 30, 30 }, false);
	ck_assert_mem_eq(got, want, sizeof want);
}
END_TEST

/* ==== parsing a global header ==== */

/* ==== the streaming parser ==== */

/* Snapshot length 64, so record 2 is cut; record 1 is empty. */
static const struct hdr stream_a = { .magic = MAGIC_USEC, .major = 2, .minor = 4,
				     .snaplen = 64, .linktype = PFS_LINKTYPE_ETHERNET };
static const struct rec recs_a[] = {
	{ TS_SEC, 1, 60, 60 },
	{ TS_SEC + 1, 999999, 0, 0 },
	{ TS_SEC + 2, 500000, 80, 1514 },
	{ TS_SEC + 3, 7, 14, 14 },
};

/* The other byte order, nanoseconds, no snapshot length. */
static const struct hdr stream_b = { .swap = true, .magic = MAGIC_NSEC, .major = 2,
				     .minor = 4, .linktype = LT_SLL };
static const struct rec recs_b[] = {
	{ TS_SEC, 999999999, 33, 33 },
	{ TS_SEC, 1, 1, 1 },
	{ TS_SEC + 60, 0, 200, 200 },
};

/* Every split of the stream into two writes gives the records that one
 * write gives, and those are the records built. */
static void check_every_split(struct hdr h, const struct rec *r, int n)
{
	static struct stream s;
	static struct seen whole, split;
	build(&s, h, r, n);

	struct pfs_pcap_parser p = { 0 };
	memset(&whole, 0, sizeof whole);
	feed(&p, s.b, s.len, &whole);
	ck_assert_uint_eq(p.npending, 0);
	pfs_pcap_parser_fini(&p);
	check_seen(&whole, h, r, n);

	for (size_t cut = 0; cut <= s.len; cut++) {
		struct pfs_pcap_parser q = { 0 };
		memset(&split, 0, sizeof split);
		feed(&q, s.b, cut, &split);
		feed(&q, s.b + cut, s.len - cut, &split);
		ck_assert_msg(q.have_header && q.npending == 0, "cut at %zu", cut);
		check_same_seen(&split, &whole);
		pfs_pcap_parser_fini(&q);
	}
}

START_TEST(stream_split_at_every_byte)
{
	check_every_split(stream_a, recs_a, 4);
	check_every_split(stream_b, recs_b, 3);
}
END_TEST

START_TEST(stream_one_byte_at_a_time)
{
	struct stream s;
	struct seen seen = { 0 };
	build(&s, stream_b, recs_b, 3);
	struct pfs_pcap_parser p = { 0 };
	for (size_t i = 0; i < s.len; i++)
		feed(&p, s.b + i, 1, &seen);
	ck_assert_uint_eq(p.npending, 0);
	check_seen(&seen, stream_b, recs_b, 3);
	pfs_pcap_parser_fini(&p);
}
END_TEST

/* Where record i of a stream built from r starts. */
static size_t record_at(const struct rec *r, int i)
{
	size_t off = PFS_PCAP_GLOBAL_LEN;
	for (int k = 0; k < i; k++)
		off += PFS_PCAP_RECORD_HDR + r[k].caplen;
	return off;
}

/* recs_a with record 2 above the maximum: its data is not there, but its
 * header is enough to refuse it. */
static size_t build_bad(struct stream *s)
{
	struct rec r[4];
	memcpy(r, recs_a, sizeof r);
	build(s, stream_a, r, 4);
	size_t bad = record_at(r, 2);
	r[2].caplen = r[2].wire = PFS_PCAP_MAX_RECORD + 1;
	make_record_hdr(s->b + bad, r[2], stream_a.swap);
	return bad;
}

START_TEST(stream_bad_record_hands_on_nothing)
{
	struct stream s;
	struct seen seen = { 0 };
	size_t bad = build_bad(&s);
	size_t r1 = record_at(recs_a, 1);

	/* in one write with good records before it: none is handed on */
	struct pfs_pcap_parser p = { 0 };
	feed_bad(&p, s.b, s.len, &seen);
	ck_assert(!p.have_header);

	/* after the header and record 0 were taken; then the parser still
	 * takes the rest without the bad record */
	feed(&p, s.b, r1, &seen);
	ck_assert_int_eq(seen.n, 1);
	feed_bad(&p, s.b + r1, s.len - r1, &seen);
	feed_bad(&p, s.b + r1, bad + PFS_PCAP_RECORD_HDR - r1, &seen);
	feed(&p, s.b + r1, bad - r1, &seen);
	ck_assert_int_eq(seen.n, 2);
	check_seen(&seen, stream_a, recs_a, 2);
	pfs_pcap_parser_fini(&p);
}
END_TEST

START_TEST(stream_bad_record_across_writes)
{
	struct stream s;
	struct seen seen = { 0 };
	size_t bad = build_bad(&s);

	/* Half of the bad record's header is pending: the write that
	 * completes it is refused, and the half stays. */
	struct pfs_pcap_parser p = { 0 };
	feed(&p, s.b, bad + 8, &seen);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_uint_eq(p.npending, 8);
	feed_bad(&p, s.b + bad + 8, s.len - bad - 8, &seen);
	feed_bad(&p, s.b + bad + 8, 8, &seen);
	pfs_pcap_parser_fini(&p);
}
END_TEST

START_TEST(stream_bad_header)
{
	struct stream s;
	struct seen seen = { 0 };
	build(&s, stream_a, recs_a, 4);
	s.b[0] ^= 0x01;	/* not a magic any more */
	struct pfs_pcap_parser p = { 0 };
	feed(&p, s.b, 3, &seen);	/* cannot be told yet */
	ck_assert_uint_eq(p.npending, 3);
	feed_bad(&p, s.b + 3, 1, &seen);	/* the magic is whole: refused */
	feed_bad(&p, s.b + 3, s.len - 3, &seen);
	feed_bad(&p, s.b + 3, PFS_PCAP_GLOBAL_LEN - 3, &seen);
	ck_assert(!p.have_header);

	/* Text shorter than a header is refused at once, not left pending
	 * (`echo garbage > pcap`). */
	struct pfs_pcap_parser t = { 0 };
	feed_bad(&t, (const uint8_t *)"garbage\n", 8, &seen);
	pfs_pcap_parser_fini(&t);

	/* An unsupported version is refused as well. */
	struct hdr h = stream_a;
	h.major = 3;
	build(&s, h, recs_a, 4);
	struct pfs_pcap_parser q = { 0 };
	feed_bad(&q, s.b, s.len, &seen);
	ck_assert_int_eq(seen.n, 0);
	pfs_pcap_parser_fini(&p);
	pfs_pcap_parser_fini(&q);
}
END_TEST

START_TEST(stream_tail_kept_across_calls)
{
	struct stream s;
	struct seen seen = { 0 };
	build(&s, stream_a, recs_a, 4);
	size_t r1 = record_at(recs_a, 1), r2 = record_at(recs_a, 2);
	struct pfs_pcap_parser p = { 0 };

	feed(&p, s.b, 10, &seen);	/* part of the header */
	ck_assert(!p.have_header);
	ck_assert_uint_eq(p.npending, 10);
	ck_assert_mem_eq(p.pending, s.b, 10);

	/* the header, record 0 and 5 bytes of record 1's header */
	feed(&p, s.b + 10, r1 + 5 - 10, &seen);
	ck_assert(p.have_header);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_uint_eq(p.npending, 5);
	ck_assert_mem_eq(p.pending, s.b + r1, 5);

	feed(&p, s.b, 0, &seen);	/* an empty write changes nothing */
	ck_assert_int_eq(seen.n, 1);
	ck_assert_uint_eq(p.npending, 5);

	/* record 1 (empty) and all of record 2 but its last byte */
	feed(&p, s.b + r1 + 5, r2 + PFS_PCAP_RECORD_HDR + 79 - r1 - 5, &seen);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_uint_eq(p.npending, PFS_PCAP_RECORD_HDR + 79);
	ck_assert_mem_eq(p.pending, s.b + r2, PFS_PCAP_RECORD_HDR + 79);

	feed(&p, s.b + r2 + PFS_PCAP_RECORD_HDR + 79, s.len - r2 - PFS_PCAP_RECORD_HDR - 79,
	     &seen);
	ck_assert_uint_eq(p.npending, 0);
	check_seen(&seen, stream_a, recs_a, 4);
	pfs_pcap_parser_fini(&p);
}
END_TEST

START_TEST(stream_fini)
{
	struct stream s;
	struct seen seen = { 0 };
	build(&s, stream_a, recs_a, 4);
	struct pfs_pcap_parser p = { 0 };
	feed(&p, s.b, record_at(recs_a, 1) + 3, &seen);
	ck_assert_ptr_nonnull(p.pending);
	ck_assert_uint_eq(p.npending, 3);
	/* The pending bytes are freed (LeakSanitizer says so under SAN=1);
	 * a second fini is harmless. */
	pfs_pcap_parser_fini(&p);
	ck_assert_ptr_null(p.pending);
	ck_assert_uint_eq(p.npending, 0);
	pfs_pcap_parser_fini(&p);
	ck_assert_ptr_null(p.pending);
}
END_TEST

/* ==== against libpcap ==== */

static const struct rec dumped[] = {
	{ TS_SEC, 1, 60, 60 },
	{ TS_SEC + 1, 999999, 40, 1500 },	/* captured short of the wire */
	{ TS_SEC + 2, 0, 0, 0 },
	{ TS_SEC + 3, 250000, 128, 128 },
};

/* libpcap's capture of `dumped`, as a file, into b; returns its length. */
static size_t dump_with_libpcap(int precision, uint8_t *b, size_t cap)
{
	char path[32];
	temp_path(path);
	pcap_t *pc = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 128, (u_int)precision);
	ck_assert_ptr_nonnull(pc);
	pcap_dumper_t *dp = pcap_dump_open(pc, path);
	ck_assert_msg(dp != NULL, "%s", pcap_geterr(pc));
	for (int i = 0; i < 4; i++) {
		struct pcap_pkthdr h = { .caplen = dumped[i].caplen, .len = dumped[i].wire };
		h.ts.tv_sec = dumped[i].sec;
		h.ts.tv_usec = dumped[i].frac;	/* nanoseconds at that precision */
		uint8_t data[128];
		for (uint32_t j = 0; j < dumped[i].caplen; j++)
			data[j] = data_byte(i, j);
		pcap_dump((u_char *)dp, &h, data);
	}
	pcap_dump_close(dp);
	pcap_close(pc);
	size_t len = read_file(path, b, cap);
	unlink(path);
	return len;
}

/* Parses a libpcap capture record by record, then as one write. */
static void check_libpcap_capture(int precision, uint32_t magic)
{
	static uint8_t b[4096];
	static struct seen seen;
	size_t len = dump_with_libpcap(precision, b, sizeof b);
	struct hdr h = { .magic = magic, .major = 2, .minor = 4, .snaplen = 128,
			 .linktype = PFS_LINKTYPE_ETHERNET };
	struct pfs_pcap_format f;
	char err[128] = "";
	ck_assert_int_eq(pfs_pcap_parse_header(&f, b, err, sizeof err), 0);
	ck_assert(!f.swapped);
	ck_assert_int_eq(f.nanosec, magic == MAGIC_NSEC);
	ck_assert_int_eq(f.link_type, PFS_LINKTYPE_ETHERNET);
	ck_assert_uint_eq(f.snaplen, 128);

	size_t off = PFS_PCAP_GLOBAL_LEN, size;
	for (int i = 0; i < 4; i++) {
		struct pfs_desc d;
		ck_assert_int_eq(pfs_pcap_parse_record(&f, b + off, len - off, &d, &size,
						       err, sizeof err), 1);
		check_record(&d, b + off + PFS_PCAP_RECORD_HDR, h, dumped[i], i);
		off += size;
	}
	ck_assert_uint_eq(off, len);	/* nothing after the last record */

	struct pfs_pcap_parser p = { 0 };
	memset(&seen, 0, sizeof seen);
	feed(&p, b, len, &seen);
	check_seen(&seen, h, dumped, 4);
	pfs_pcap_parser_fini(&p);
}

START_TEST(libpcap_capture_microseconds)
{
	check_libpcap_capture(PCAP_TSTAMP_PRECISION_MICRO, MAGIC_USEC);
}
END_TEST

START_TEST(libpcap_capture_nanoseconds)
{
	check_libpcap_capture(PCAP_TSTAMP_PRECISION_NANO, MAGIC_NSEC);
}
END_TEST

/* Writes our stream of link type lt with one record d (data) and opens it
 * with libpcap; returns the next record's header and data. */
static pcap_t *open_ours(int lt, const struct pfs_desc *d, const uint8_t *data,
			 struct pcap_pkthdr **ph, const u_char **pdata)
{
	uint8_t b[PFS_PCAP_GLOBAL_LEN + HEAD_ROOM_MAX + 256];
	size_t len = PFS_PCAP_GLOBAL_LEN;
	struct pfs_pcap_view v = view(lt, false);
	struct bw_frame f = { 0 };
	pfs_pcap_global_header(b, &v);
	pfs_pcap_frame(&v, d, data, &f);
	ck_assert(!f.skip);
	memcpy(b + len, f.head, f.head_len);
	len += f.head_len;
	memcpy(b + len, data, d->len);
	len += d->len;

	char path[32], perr[PCAP_ERRBUF_SIZE];
	temp_path(path);
	write_file(path, b, len);
	pcap_t *pc = pcap_open_offline(path, perr);
	unlink(path);
	ck_assert_msg(pc != NULL, "%s", perr);
	ck_assert_int_eq(pcap_datalink(pc), lt);
	ck_assert_int_eq(pcap_snapshot(pc), PFS_PCAP_MAX_RECORD);
	ck_assert_int_eq(pcap_major_version(pc), 2);
	ck_assert_int_eq(pcap_minor_version(pc), 4);
	ck_assert_int_eq(pcap_next_ex(pc, ph, pdata), 1);
	ck_assert_int_eq((*ph)->ts.tv_sec, TS_SEC);
	ck_assert_int_eq((*ph)->ts.tv_usec, 123456);
	return pc;
}

START_TEST(libpcap_reads_our_frames)
{
	uint8_t frame[60];
	for (size_t j = 0; j < sizeof frame; j++)
		frame[j] = data_byte(3, (uint32_t)j);
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 60, .wire_len = 1514,
			      .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc = open_ours(PFS_LINKTYPE_ETHERNET, &d, frame, &h, &data);
	ck_assert_uint_eq(h->caplen, 60);
	ck_assert_uint_eq(h->len, 1514);
	ck_assert_mem_eq(data, frame, 60);
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);	/* EOF */
	pcap_close(pc);
}
END_TEST

START_TEST(libpcap_reads_our_upper_pdus)
{
	/* an HTTP request without a known connection: its flow header is 0 */
	static const struct {
		struct pfs_flow_meta m;
		char req[19];
	} rec = { { 0 }, "GET / HTTP/1.1\r\n\r\n" };
	const char *req = rec.req;
	struct pfs_desc d = { .ts_ns = TS_NS, .len = sizeof rec.req - 1,
			      .wire_len = sizeof rec.req - 1,
			      .head_room = sizeof(struct pfs_flow_meta), .kind = PFS_KIND_HTTP };
	static const uint8_t tags[UPPER_TAGS] = { 0, 12, 0, 4, 'h', 't', 't', 'p' };
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc = open_ours(PFS_LINKTYPE_UPPER_PDU, &d, (const uint8_t *)req, &h, &data);
	ck_assert_uint_eq(h->caplen, UPPER_TAGS + d.len);
	ck_assert_uint_eq(h->len, UPPER_TAGS + d.len);
	ck_assert_mem_eq(data, tags, UPPER_TAGS);
	ck_assert_mem_eq(data + UPPER_TAGS, req, d.len);
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);
}
END_TEST

static Suite *pcapio_suite(void)
{
	Suite *s = suite_create("pcapio");
	TCase *w = tcase_create("writing");
	tcase_add_test(w, global_header_bytes);
	tcase_add_test(w, global_header_parses_back);
	tcase_add_test(w, view_follows_the_first_record);
	tcase_add_test(w, link_types);
	tcase_add_test(w, frame_record_header);
	tcase_add_test(w, frame_record_header_nanoseconds);
	tcase_add_test(w, upper_pdu_record_tags);
	tcase_add_test(w, upper_pdu_flow_tags);
	tcase_add_test(w, view_skips_what_the_stream_cannot_carry);
	tcase_add_test(w, upper_pdu_frame_is_not_wrapped_again);
	suite_add_tcase(s, w);

	TCase *st = tcase_create("stream");
	tcase_add_test(st, stream_split_at_every_byte);
	tcase_add_test(st, stream_one_byte_at_a_time);
	tcase_add_test(st, stream_bad_record_hands_on_nothing);
	tcase_add_test(st, stream_bad_record_across_writes);
	tcase_add_test(st, stream_bad_header);
	tcase_add_test(st, stream_tail_kept_across_calls);
	tcase_add_test(st, stream_fini);
	suite_add_tcase(s, st);

	TCase *lp = tcase_create("libpcap");
	tcase_add_test(lp, libpcap_capture_microseconds);
	tcase_add_test(lp, libpcap_capture_nanoseconds);
	tcase_add_test(lp, libpcap_reads_our_frames);
	tcase_add_test(lp, libpcap_reads_our_upper_pdus);
	suite_add_tcase(s, lp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pcapio_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
