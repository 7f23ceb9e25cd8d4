/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the pcapng format (filters/pcapng.c).  Reading a view:
 * its blocks field by field, and libpcap reading them back.  Writing into
 * one: streams crafted block by block (both byte orders, if_tsresol and
 * if_tsoffset, SPBs, unknown blocks, several sections) are parsed whole
 * and split at every byte, and compared with what libpcap reads from the
 * same bytes; bad blocks hand on nothing.
 */
#include <check.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/pcapio.h"
#include "filters/pcapng.h"

#define LT_ETHER 1
#define LT_RAW 101
#define LT_SLL 113
#define LT_DBUS 231
#define TS_SEC 1700000000ull
#define TS_NS (TS_SEC * 1000000000ull + 123456789u)
#define MAX_RECS 16

static uint32_t get32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static uint16_t get16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

/* ==== the view ==== */

START_TEST(shb_bytes)
{
	uint8_t b[PFS_PCAPNG_SHB_LEN];
	pfs_pcapng_shb(b);
	ck_assert_uint_eq(get32(b), 0x0A0D0D0Au);
	ck_assert_uint_eq(get32(b + 4), 28);
	ck_assert_uint_eq(get32(b + 8), 0x1A2B3C4Du);
	ck_assert_uint_eq(get16(b + 12), 1);
	ck_assert_uint_eq(get16(b + 14), 0);
	ck_assert_uint_eq(get32(b + 16), UINT32_MAX);	/* section length -1 */
	ck_assert_uint_eq(get32(b + 20), UINT32_MAX);
	ck_assert_uint_eq(get32(b + 24), 28);
}
END_TEST

/* The option `code` of the IDB at b, or NULL; *len its length. */
static const uint8_t *idb_option(const uint8_t *b, uint16_t code, uint16_t *len)
{
	uint32_t total = get32(b + 4);
	for (uint32_t at = 16; at + 4 <= total - 4;) {
		uint16_t c = get16(b + at), l = get16(b + at + 2);
		if (c == 0)
			break;
		if (c == code) {
			*len = l;
			return b + at + 4;
		}
		at += 4 + ((l + 3) & ~3u);
	}
	return NULL;
}

START_TEST(idb_bytes)
{
	uint8_t b[PFS_PCAPNG_IDB_MAX + 8];
	struct pfs_desc d = { .kind = PFS_KIND_FRAME, .link_type = LT_DBUS,
			      .flags = PFS_REC_TS_NSEC };
	memset(b, 0xee, sizeof b);
	size_t n = pfs_pcapng_idb(&d, "demo", "pipesfs: records of demo", b);
	ck_assert_uint_le(n, PFS_PCAPNG_IDB_MAX);
	ck_assert_uint_eq(n % 4, 0);
	ck_assert_uint_eq(b[n], 0xee);
	ck_assert_uint_eq(get32(b), 1);
	ck_assert_uint_eq(get32(b + 4), n);
	ck_assert_uint_eq(get32(b + n - 4), n);
	ck_assert_uint_eq(get16(b + 8), LT_DBUS);
	ck_assert_uint_eq(get32(b + 12), 128u << 20);	/* libpcap's D-Bus maximum */
	uint16_t len;
	const uint8_t *v = idb_option(b, 2, &len);	/* if_name */
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(v, "demo", 4);
	ck_assert_ptr_nonnull(v = idb_option(b, 3, &len));	/* if_description */
	ck_assert_uint_eq(len, strlen("pipesfs: records of demo"));
	ck_assert_ptr_nonnull(v = idb_option(b, 9, &len));	/* if_tsresol */
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(v[0], 9);

	/* microseconds; a text record's interface is an upper-PDU one; long
	 * names are cut to 255 bytes */
	char name[400];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	struct pfs_desc t = { .kind = PFS_KIND_TEXT };
	n = pfs_pcapng_idb(&t, name, name, b);
	ck_assert_uint_le(n, PFS_PCAPNG_IDB_MAX);
	ck_assert_uint_eq(get16(b + 8), PFS_LINKTYPE_UPPER_PDU);
	ck_assert_uint_eq(get32(b + 12), 256 * 1024);
	ck_assert_ptr_nonnull(idb_option(b, 2, &len));
	ck_assert_uint_eq(len, 255);
	ck_assert_ptr_nonnull(v = idb_option(b, 9, &len));
	ck_assert_uint_eq(v[0], 6);
}
END_TEST

/* An EPB: header and tags in the head, padding and length in the tail. */
START_TEST(epb_framing)
{
	static const uint8_t frame[61];
	struct pfs_desc d = { .ts_ns = TS_NS, .len = 61, .wire_len = 1514,
			      .kind = PFS_KIND_FRAME, .link_type = LT_ETHER };
	struct bw_frame f = { .head_len = 5 };	/* something before it stays */
	pfs_pcapng_epb(3, &d, frame, &f);
	const uint8_t *h = f.head + 5;
	ck_assert_uint_eq(f.head_len, 5 + 28);
	uint32_t total = 28 + 64 + 4;
	ck_assert_uint_eq(get32(h), 6);
	ck_assert_uint_eq(get32(h + 4), total);
	ck_assert_uint_eq(get32(h + 8), 3);
	uint64_t us = TS_NS / 1000;
	ck_assert_uint_eq(get32(h + 12), (uint32_t)(us >> 32));
	ck_assert_uint_eq(get32(h + 16), (uint32_t)us);
	ck_assert_uint_eq(get32(h + 20), 61);
	ck_assert_uint_eq(get32(h + 24), 1514);
	ck_assert_uint_eq(f.tail_len, 3 + 4);
	ck_assert_mem_eq(f.tail, "\0\0\0", 3);
	ck_assert_uint_eq(get32(f.tail + 3), total);

	/* nanoseconds, a multiple of 4: no padding */
	d.flags = PFS_REC_TS_NSEC;
	d.len = 60;
	f = (struct bw_frame){ 0 };
	pfs_pcapng_epb(0, &d, frame, &f);
	ck_assert_uint_eq(get32(f.head + 12), (uint32_t)(TS_NS >> 32));
	ck_assert_uint_eq(get32(f.head + 16), (uint32_t)TS_NS);
	ck_assert_uint_eq(f.tail_len, 4);

	/* an upper PDU: the tags lead the packet and count in its lengths */
	static const uint8_t zeros[64];
	struct pfs_desc s = { .ts_ns = TS_NS, .len = 9, .wire_len = 9, .kind = PFS_KIND_STREAM };
	f = (struct bw_frame){ 0 };
	pfs_pcapng_epb(1, &s, zeros, &f);
	uint8_t tags[PFS_UPPER_PDU_TAGS_MAX];
	size_t ntags = pfs_upper_pdu_tags(&s, zeros, tags);
	ck_assert_uint_eq(ntags, 12);
	ck_assert_uint_eq(f.head_len, 28 + ntags);
	ck_assert_mem_eq(f.head + 28, tags, ntags);
	ck_assert_uint_eq(get32(f.head + 20), 9 + ntags);
	ck_assert_uint_eq(get32(f.head + 24), 9 + ntags);
	ck_assert_uint_eq(f.tail_len, 3 + 4);
	ck_assert_uint_eq(get32(f.head + 4), 28 + 24 + 4);
}
END_TEST

/* Interfaces: one per input, link type and precision, numbered in the
 * order their records went out; framing again changes nothing. */
START_TEST(interfaces_by_input_link_type_and_precision)
{
	struct pfs_pcapng_view v = { 0 };
	struct pfs_desc eth = { .kind = PFS_KIND_FRAME, .link_type = LT_ETHER };
	struct pfs_desc raw = { .kind = PFS_KIND_FRAME, .link_type = LT_RAW };
	struct pfs_desc ns = eth;
	ns.flags = PFS_REC_TS_NSEC;
	struct pfs_desc text = { .kind = PFS_KIND_TEXT };

	ck_assert_int_eq(pfs_pcapng_interface(&v, 0, &eth), 0);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 0, &eth), 0);	/* not taken yet */
	pfs_pcapng_taken(&v, 0, &eth);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 0, &eth), 0);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 1, &raw), 1);
	pfs_pcapng_taken(&v, 1, &raw);
	pfs_pcapng_taken(&v, 1, &raw);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 1, &eth), 2);	/* same input, other type */
	pfs_pcapng_taken(&v, 1, &eth);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 0, &ns), 3);	/* other precision */
	pfs_pcapng_taken(&v, 0, &ns);
	ck_assert_int_eq(pfs_pcapng_interface(&v, 0, &text), 4);
	pfs_pcapng_taken(&v, 0, &text);
	for (int i = 0; i < 100; i++) {	/* many inputs: the table grows */
		ck_assert_int_eq(pfs_pcapng_interface(&v, 10 + (size_t)i, &eth), 5 + i);
		pfs_pcapng_taken(&v, 10 + (size_t)i, &eth);
	}
	ck_assert_int_eq(pfs_pcapng_interface(&v, 1, &raw), 1);
	ck_assert_uint_eq(v.n, 105);
	pfs_pcapng_view_fini(&v);
	ck_assert_uint_eq(v.n, 0);
}
END_TEST

/* A view (SHB, IDB, EPBs) as libpcap reads it, at nanosecond precision. */
START_TEST(libpcap_reads_a_view)
{
	static uint8_t b[4096];
	size_t len = PFS_PCAPNG_SHB_LEN;
	pfs_pcapng_shb(b);
	uint8_t frames[3][70];
	struct pfs_desc d[3];
	for (int i = 0; i < 3; i++) {
		memset(frames[i], 'a' + i, sizeof frames[i]);
		d[i] = (struct pfs_desc){ .ts_ns = TS_NS + (uint64_t)i * 1000001u,
					  .len = 60 + (uint32_t)i, .wire_len = 100,
					  .kind = PFS_KIND_FRAME, .link_type = LT_ETHER,
					  .flags = PFS_REC_TS_NSEC };
		struct bw_frame f = { 0 };
		if (i == 0)
			f.head_len = pfs_pcapng_idb(&d[i], "demo", "test", f.head);
		pfs_pcapng_epb(0, &d[i], frames[i], &f);
		memcpy(b + len, f.head, f.head_len);
		memcpy(b + len + f.head_len, frames[i], d[i].len);
		memcpy(b + len + f.head_len + d[i].len, f.tail, f.tail_len);
		len += f.head_len + d[i].len + f.tail_len;
	}
	char perr[PCAP_ERRBUF_SIZE];
	FILE *fp = fmemopen(b, len, "rb");
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
							     perr);
	ck_assert_msg(pc != NULL, "%s", perr);
	ck_assert_int_eq(pcap_datalink(pc), LT_ETHER);
	for (int i = 0; i < 3; i++) {
		struct pcap_pkthdr *h;
		const u_char *data;
		ck_assert_int_eq(pcap_next_ex(pc, &h, &data), 1);
		ck_assert_uint_eq((uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec,
				  d[i].ts_ns);
		ck_assert_uint_eq(h->caplen, d[i].len);
		ck_assert_uint_eq(h->len, 100);
		ck_assert_mem_eq(data, frames[i], d[i].len);
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);
}
END_TEST

/* ==== the parser ==== */

/* A stream crafted block by block, in one byte order. */
struct craft {
	bool swap;
	size_t len;
	uint8_t b[8192];
};

static void c32(struct craft *c, uint32_t v)
{
	if (c->swap)
		v = __builtin_bswap32(v);
	memcpy(c->b + c->len, &v, 4);
	c->len += 4;
}

static void c16(struct craft *c, uint16_t v)
{
	if (c->swap)
		v = __builtin_bswap16(v);
	memcpy(c->b + c->len, &v, 2);
	c->len += 2;
}

static void cbytes(struct craft *c, const void *p, size_t n)
{
	memcpy(c->b + c->len, p, n);
	memset(c->b + c->len + n, 0, ((n + 3) & ~3u) - n);
	c->len += (n + 3) & ~3u;
}

/* Open a block of type t; close it with block_end(c, at). */
static size_t block_begin(struct craft *c, uint32_t t)
{
	size_t at = c->len;
	c32(c, t);
	c32(c, 0);
	return at;
}

static void block_end(struct craft *c, size_t at)
{
	uint32_t total = (uint32_t)(c->len - at + 4);
	size_t end = c->len;
	c->len = at + 4;
	c32(c, total);
	c->len = end;
	c32(c, total);
}

static void shb(struct craft *c)
{
	size_t at = block_begin(c, 0x0A0D0D0Au);
	c32(c, 0x1A2B3C4Du);
	c16(c, 1);
	c16(c, 0);
	c32(c, UINT32_MAX);
	c32(c, UINT32_MAX);
	block_end(c, at);
}

/* An IDB; tsresol < 0: none; tsoffset 0: none. */
static void idb(struct craft *c, uint16_t lt, uint32_t snaplen, int tsresol, int64_t tsoffset)
{
	size_t at = block_begin(c, 1);
	c16(c, lt);
	c16(c, 0);
	c32(c, snaplen);
	c16(c, 2);	/* if_name, to skip */
	c16(c, 3);
	cbytes(c, "eth", 3);
	if (tsresol >= 0) {
		uint8_t r = (uint8_t)tsresol;
		c16(c, 9);
		c16(c, 1);
		cbytes(c, &r, 1);
	}
	if (tsoffset) {
		c16(c, 14);
		c16(c, 8);
		c32(c, c->swap ? (uint32_t)((uint64_t)tsoffset >> 32) : (uint32_t)tsoffset);
		c32(c, c->swap ? (uint32_t)tsoffset : (uint32_t)((uint64_t)tsoffset >> 32));
	}
	c16(c, 0);
	c16(c, 0);
	block_end(c, at);
}

static uint8_t byte_of(int i, uint32_t j)
{
	return (uint8_t)(i * 37 + (int)j + 3);
}

static void epb(struct craft *c, uint32_t if_id, uint64_t ts, uint32_t caplen, uint32_t origlen,
		int i)
{
	size_t at = block_begin(c, 6);
	c32(c, if_id);
	c32(c, (uint32_t)(ts >> 32));
	c32(c, (uint32_t)ts);
	c32(c, caplen);
	c32(c, origlen);
	uint8_t data[1024];
	for (uint32_t j = 0; j < caplen; j++)
		data[j] = byte_of(i, j);
	cbytes(c, data, caplen);
	block_end(c, at);
}

static void spb(struct craft *c, uint32_t origlen, uint32_t stored, int i)
{
	size_t at = block_begin(c, 3);
	c32(c, origlen);
	uint8_t data[1024];
	for (uint32_t j = 0; j < stored; j++)
		data[j] = byte_of(i, j);
	cbytes(c, data, stored);
	block_end(c, at);
}

static void unknown_block(struct craft *c)
{
	size_t at = block_begin(c, 0x00000099u);	/* not assigned */
	cbytes(c, "whatever it is", 14);
	block_end(c, at);
}

/* What the parser handed on. */
struct seen {
	int n;
	struct pfs_desc d[MAX_RECS];
	uint8_t data[MAX_RECS][1024];
};

static void collect(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	struct seen *s = arg;
	ck_assert_int_lt(s->n, MAX_RECS);
	ck_assert_uint_le(d->len, sizeof s->data[0]);
	s->d[s->n] = *d;
	memcpy(s->data[s->n++], data, d->len);
}

/* Parse b in pieces of `step` bytes (0: whole); every piece accepted. */
static void parse_in_steps(const uint8_t *b, size_t len, size_t step, struct seen *s)
{
	struct pfs_pcapng_parser p = { 0 };
	char err[256] = "";
	memset(s, 0, sizeof(*s));
	for (size_t off = 0; off < len;) {
		size_t n = step && len - off > step ? step : len - off;
		ck_assert_msg(pfs_pcapng_parse(&p, b + off, n, collect, s, err, sizeof err) == 0,
			      "%s", err);
		off += n;
	}
	ck_assert_uint_eq(p.npending, 0);
	pfs_pcapng_parser_fini(&p);
}

/* libpcap reads the same records from the same bytes (one link type). */
static void check_against_libpcap(const struct craft *c, const struct seen *s)
{
	char perr[PCAP_ERRBUF_SIZE];
	FILE *fp = fmemopen((void *)c->b, c->len, "rb");
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
							     perr);
	ck_assert_msg(pc != NULL, "%s", perr);
	for (int i = 0; i < s->n; i++) {
		struct pcap_pkthdr *h;
		const u_char *data;
		ck_assert_int_eq(pcap_next_ex(pc, &h, &data), 1);
		ck_assert_uint_eq((uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec,
				  s->d[i].ts_ns);
		/* what a `pcap:` source replays from libpcap, the same */
		ck_assert_uint_eq(pfs_pcap_libpcap_desc(h, 0, false).ts_ns, s->d[i].ts_ns);
		ck_assert_uint_eq(h->caplen, s->d[i].len);
		ck_assert_uint_eq(h->len, s->d[i].wire_len);
		ck_assert_mem_eq(data, s->data[i], h->caplen);
		ck_assert_int_eq(s->d[i].link_type, pcap_datalink(pc));
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);
}

/* Two sections, both byte orders; µs, ns, 2^-20 units and an offset;
 * a snapshot length that cuts; an SPB; an unknown block. */
static void build_mixed(struct craft *c)
{
	c->len = 0;
	c->swap = false;
	shb(c);
	idb(c, LT_ETHER, 50, -1, 0);				/* 0: µs, snaplen 50 */
	unknown_block(c);
	epb(c, 0, TS_SEC * 1000000 + 123456, 60, 60, 0);	/* cut to 50 */
	idb(c, LT_ETHER, 0, 9, 0);				/* 1: ns */
	epb(c, 1, TS_NS, 21, 1514, 1);
	c->swap = true;
	shb(c);							/* interfaces anew */
	idb(c, LT_ETHER, 0, 0x80 | 20, -3600);			/* 0: 2^-20 s, -1 h */
	epb(c, 0, (TS_SEC << 20) | (1u << 19), 33, 33, 2);	/* half a second */
	spb(c, 40, 40, 3);
	epb(c, 0, TS_SEC << 20, 0, 0, 4);			/* empty */
}

START_TEST(parse_mixed_stream)
{
	struct craft c;
	struct seen s;
	build_mixed(&c);
	parse_in_steps(c.b, c.len, 0, &s);
	ck_assert_int_eq(s.n, 5);
	ck_assert_uint_eq(s.d[0].len, 50);
	ck_assert_uint_eq(s.d[0].wire_len, 60);
	ck_assert_uint_eq(s.d[0].ts_ns, TS_SEC * 1000000000u + 123456000u);
	ck_assert_uint_eq(s.d[0].flags & PFS_REC_TS_NSEC, 0);
	ck_assert_uint_eq(s.d[1].ts_ns, TS_NS);
	ck_assert_uint_eq(s.d[1].flags & PFS_REC_TS_NSEC, PFS_REC_TS_NSEC);
	ck_assert_uint_eq(s.d[1].wire_len, 1514);
	ck_assert_uint_eq(s.d[2].ts_ns, (TS_SEC - 3600) * 1000000000u + 500000000u);
	ck_assert_uint_eq(s.d[3].len, 40);
	ck_assert_uint_eq(s.d[3].ts_ns, 0);	/* an SPB has no timestamp */
	ck_assert_uint_eq(s.d[4].len, 0);
	for (int i = 0; i < s.n; i++) {
		ck_assert_uint_eq(s.d[i].kind, PFS_KIND_FRAME);
		ck_assert_uint_eq(s.d[i].link_type, LT_ETHER);
		for (uint32_t j = 0; j < s.d[i].len; j++)
			ck_assert_uint_eq(s.data[i][j], byte_of(i, j));
	}
}
END_TEST

START_TEST(parse_agrees_with_libpcap)
{
	struct craft c = { .swap = false };
	struct seen s;
	shb(&c);
	idb(&c, LT_ETHER, 0, 9, 0);
	idb(&c, LT_ETHER, 0, 6, 7);
	epb(&c, 0, TS_NS, 60, 60, 0);
	epb(&c, 1, TS_SEC * 1000000 + 5, 44, 100, 1);
	unknown_block(&c);
	epb(&c, 0, TS_NS + 1, 3, 3, 2);
	parse_in_steps(c.b, c.len, 0, &s);
	ck_assert_int_eq(s.n, 3);
	check_against_libpcap(&c, &s);

	/* the other byte order, 2^-n units, an offset (SPBs, which have no
	 * timestamp, are 0 here, the offset for libpcap: not compared) */
	c = (struct craft){ .swap = true };
	shb(&c);
	idb(&c, LT_SLL, 0, 0x80 | 16, -10);
	epb(&c, 0, (TS_SEC << 16) | 0x8000, 20, 20, 0);
	epb(&c, 0, (TS_SEC << 16) | 1, 28, 28, 1);
	parse_in_steps(c.b, c.len, 0, &s);
	ck_assert_int_eq(s.n, 2);
	check_against_libpcap(&c, &s);
}
END_TEST

/* Timestamps past 2^32 seconds (2106): pcapng's are 64 bits, and a
 * descriptor holds them.  Found by tests/fuzz/fuzz_pcap_file: a replayed
 * pcapng file had them cut to 32 bits of seconds (pfs_pcap_libpcap_desc). */
START_TEST(timestamps_past_2106)
{
	struct craft c = { .swap = false };
	struct seen s;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);				/* µs */
	idb(&c, LT_ETHER, 0, 9, 0);				/* ns */
	epb(&c, 0, ((1ull << 32) + 100) * 1000000 + 7, 20, 20, 0);
	epb(&c, 1, ((1ull << 33) + 1) * 1000000000 + 9, 20, 20, 1);
	parse_in_steps(c.b, c.len, 0, &s);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.d[0].ts_ns, ((1ull << 32) + 100) * 1000000000 + 7000);
	ck_assert_uint_eq(s.d[1].ts_ns, ((1ull << 33) + 1) * 1000000000 + 9);
	check_against_libpcap(&c, &s);
}
END_TEST

/* The same records however the stream is cut into writes. */
START_TEST(parse_split_at_every_byte)
{
	struct craft c;
	struct seen whole, split;
	build_mixed(&c);
	parse_in_steps(c.b, c.len, 0, &whole);
	for (size_t cut = 1; cut < c.len; cut++) {
		struct pfs_pcapng_parser p = { 0 };
		char err[256] = "";
		memset(&split, 0, sizeof split);
		ck_assert_int_eq(pfs_pcapng_parse(&p, c.b, cut, collect, &split, err, sizeof err),
				 0);
		ck_assert_int_eq(pfs_pcapng_parse(&p, c.b + cut, c.len - cut, collect, &split, err,
						  sizeof err), 0);
		ck_assert_int_eq(split.n, whole.n);
		for (int i = 0; i < whole.n; i++) {
			ck_assert_mem_eq(&split.d[i], &whole.d[i], sizeof whole.d[i]);
			ck_assert_mem_eq(split.data[i], whole.data[i], whole.d[i].len);
		}
		pfs_pcapng_parser_fini(&p);
	}
	parse_in_steps(c.b, c.len, 1, &split);
	ck_assert_int_eq(split.n, whole.n);
}
END_TEST

/* A stream with one thing wrong at byte `at` (set by damage), parsed in
 * one write after a good prefix: EINVAL, nothing handed on, and the
 * parser as it was (the good prefix parsed again works). */
static void check_refused(struct craft *c, const char *why)
{
	struct pfs_pcapng_parser p = { 0 };
	struct seen s = { 0 };
	char err[256] = "";
	ck_assert_int_eq(pfs_pcapng_parse(&p, c->b, c->len, collect, &s, err, sizeof err),
			 -EINVAL);
	ck_assert_int_eq(s.n, 0);
	ck_assert_msg(strstr(err, why) != NULL, "'%s' lacks '%s'", err, why);
	ck_assert(!p.in_section);
	ck_assert_uint_eq(p.npending, 0);
	pfs_pcapng_parser_fini(&p);
}

START_TEST(parse_refuses_bad_blocks)
{
	struct craft c = { 0 };

	/* a classic pcap header is no pcapng stream */
	static const uint8_t pcap_hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4 };
	memcpy(c.b, pcap_hdr, sizeof pcap_hdr);
	c.len = sizeof pcap_hdr;
	check_refused(&c, "not a pcapng stream");

	c.len = 0;
	shb(&c);
	c.b[8] ^= 0xff;		/* byte-order magic */
	check_refused(&c, "byte-order magic");

	c.len = 0;
	shb(&c);
	c.b[12] = 2;		/* major version */
	check_refused(&c, "major version");

	/* good blocks first, then one whose closing length differs */
	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);
	epb(&c, 0, 1, 10, 10, 0);
	epb(&c, 0, 2, 10, 10, 1);
	c.b[c.len - 1] ^= 1;
	check_refused(&c, "ends with another length");

	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);
	epb(&c, 1, 1, 10, 10, 0);	/* no interface 1 */
	check_refused(&c, "no IDB describes");

	c.len = 0;
	shb(&c);
	spb(&c, 10, 10, 0);		/* an SPB needs interface 0 */
	check_refused(&c, "no IDB describes");

	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);
	size_t at = c.len;
	epb(&c, 0, 1, 10, 10, 0);
	memcpy(c.b + at + 20, &(uint32_t){ 100 }, 4);	/* caplen past the block */
	check_refused(&c, "runs past its block");

	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);
	at = c.len;
	epb(&c, 0, 1, 8, 8, 0);
	memcpy(c.b + at + 4, &(uint32_t){ 42 }, 4);	/* not a multiple of 4 */
	check_refused(&c, "a block of 42 bytes");

	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, 20, 0);	/* 10^-20: finer than 64 bits hold */
	check_refused(&c, "if_tsresol");
}
END_TEST

/* A record longer than its link type's largest is refused, as a written
 * pcap record is. */
START_TEST(parse_refuses_oversized_packets)
{
	static struct craft c;
	c.len = 0;
	shb(&c);
	idb(&c, LT_ETHER, 0, -1, 0);
	size_t at = block_begin(&c, 6);
	c32(&c, 0);
	c32(&c, 0);
	c32(&c, 0);
	c32(&c, 256 * 1024 + 4);
	c32(&c, 256 * 1024 + 4);
	block_end(&c, at);
	/* the block's length claims the packet; its bytes need not be here */
	memcpy(c.b + at + 4, &(uint32_t){ 28 + 256 * 1024 + 4 + 4 }, 4);
	struct pfs_pcapng_parser p = { 0 };
	struct seen s = { 0 };
	char err[256] = "";
	uint8_t *big = calloc(1, 300 * 1024);
	memcpy(big, c.b, c.len - 4);
	size_t len = at + 28 + 256 * 1024 + 4;
	memcpy(big + len, &(uint32_t){ 28 + 256 * 1024 + 4 + 4 }, 4);
	ck_assert_int_eq(pfs_pcapng_parse(&p, big, len + 4, collect, &s, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "longer than") != NULL, "%s", err);
	ck_assert_int_eq(s.n, 0);
	pfs_pcapng_parser_fini(&p);
	free(big);
}
END_TEST

/* A bad block in a later write: that write is refused whole, what came
 * before stays, and the stream goes on after it. */
START_TEST(parse_bad_write_changes_nothing)
{
	struct craft good = { 0 }, bad = { 0 };
	shb(&good);
	idb(&good, LT_ETHER, 0, -1, 0);
	epb(&good, 0, 1, 10, 10, 0);
	bad = good;
	bad.len = 0;
	epb(&bad, 0, 2, 10, 10, 1);
	epb(&bad, 7, 3, 10, 10, 2);	/* no interface 7 */
	struct pfs_pcapng_parser p = { 0 };
	struct seen s = { 0 };
	char err[256] = "";
	ck_assert_int_eq(pfs_pcapng_parse(&p, good.b, good.len, collect, &s, err, sizeof err), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(pfs_pcapng_parse(&p, bad.b, bad.len, collect, &s, err, sizeof err),
			 -EINVAL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(p.nifs, 1);
	bad.len = 0;
	epb(&bad, 0, 2, 10, 10, 1);
	ck_assert_int_eq(pfs_pcapng_parse(&p, bad.b, bad.len, collect, &s, err, sizeof err), 0);
	ck_assert_int_eq(s.n, 2);
	pfs_pcapng_parser_fini(&p);
}
END_TEST

/* What a view writes, the parser reads back: a written `pcapng` stream
 * can be a node's `pcapng` view. */
START_TEST(view_parses_back)
{
	static uint8_t b[4096];
	size_t len = PFS_PCAPNG_SHB_LEN;
	pfs_pcapng_shb(b);
	static const uint8_t zeros[128];
	struct pfs_desc d[3] = {
		{ .ts_ns = TS_NS, .len = 60, .wire_len = 60, .kind = PFS_KIND_FRAME,
		  .link_type = LT_ETHER, .flags = PFS_REC_TS_NSEC },
		{ .ts_ns = TS_NS + 1000, .len = 41, .wire_len = 41, .kind = PFS_KIND_FRAME,
		  .link_type = LT_RAW },
		{ .ts_ns = TS_NS + 2000, .len = 7, .wire_len = 7, .kind = PFS_KIND_STREAM },
	};
	for (int i = 0; i < 3; i++) {
		struct bw_frame f = { 0 };
		f.head_len = pfs_pcapng_idb(&d[i], "x", "y", f.head);
		pfs_pcapng_epb((uint32_t)i, &d[i], zeros, &f);
		memcpy(b + len, f.head, f.head_len);
		memcpy(b + len + f.head_len, zeros, d[i].len);
		memcpy(b + len + f.head_len + d[i].len, f.tail, f.tail_len);
		len += f.head_len + d[i].len + f.tail_len;
	}
	struct seen s;
	parse_in_steps(b, len, 7, &s);
	ck_assert_int_eq(s.n, 3);
	ck_assert_uint_eq(s.d[0].ts_ns, TS_NS);
	ck_assert_uint_eq(s.d[0].flags, PFS_REC_TS_NSEC);
	ck_assert_uint_eq(s.d[1].ts_ns, (TS_NS + 1000) / 1000 * 1000);	/* µs */
	ck_assert_uint_eq(s.d[1].flags, 0);
	ck_assert_uint_eq(s.d[1].link_type, LT_RAW);
	ck_assert_uint_eq(s.d[2].link_type, PFS_LINKTYPE_UPPER_PDU);
	ck_assert_uint_eq(s.d[2].len, 7 + 12);	/* the tags, then the bytes */
}
END_TEST

static Suite *pcapng_suite(void)
{
	Suite *s = suite_create("pcapng");
	TCase *v = tcase_create("view");
	tcase_add_test(v, shb_bytes);
	tcase_add_test(v, idb_bytes);
	tcase_add_test(v, epb_framing);
	tcase_add_test(v, interfaces_by_input_link_type_and_precision);
	tcase_add_test(v, libpcap_reads_a_view);
	suite_add_tcase(s, v);

	TCase *p = tcase_create("parser");
	tcase_add_test(p, parse_mixed_stream);
	tcase_add_test(p, parse_agrees_with_libpcap);
	tcase_add_test(p, timestamps_past_2106);
	tcase_add_test(p, parse_split_at_every_byte);
	tcase_add_test(p, parse_refuses_bad_blocks);
	tcase_add_test(p, parse_refuses_oversized_packets);
	tcase_add_test(p, parse_bad_write_changes_nothing);
	tcase_add_test(p, view_parses_back);
	suite_add_tcase(s, p);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pcapng_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
