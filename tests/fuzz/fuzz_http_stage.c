/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: the `http` and `method=GET` stages (filters/http.c)
 * through the filter interface, as the graph runs them, with `text`
 * below `http`; records decoded from the input.
 *
 * Input: records until the input ends, each a type byte t, then:
 *   t < 0x40   a frame of link type (Ethernet, raw IP, Linux cooked,
 *              null, loopback, IPv4, IPv6, cooked v2)[t % 8], bit 3: cut
 *              short by the capture (wire_len larger); 2 bytes of length
 *              and its bytes (demo.pcap's frames are such records);
 *   0x40-0x7f  a TCP segment made here: bits 0-1 the connection, bit 2
 *              from the server, bit 3 a cut capture, bit 4 over IPv6,
 *              bit 5 its seq is near the next one (1 more byte), else the
 *              next; then a flags byte, 2 bytes of length and the
 *              payload;
 *   0x80-0xbf  a written chunk of flow t % 4: 2 bytes of length, bytes;
 *   0xc0-0xff  an HTTP record (what an http stage above hands on): 2
 *              bytes of length, bytes.
 * Lengths are cut to what the input has left.
 *
 * The stages' per-producer state lives across inputs, as in the daemon
 * (making the 4096-connection table for each input would take most of
 * the time), yet each input runs as on a fresh one: its connections are
 * its own (every IP address it carries is XORed with the input's number,
 * every written flow numbered after it) and it ends with an RST for each,
 * which gives back the windows they held; and the configuration (the
 * methods http has seen) is made afresh.  So no earlier input changes
 * what a later one sees (a crash replays alone).
 *
 * Invariants (besides no crash, leak or read beyond a record): every
 * record handed on is an HTTP record in place (inside the record
 * processed, head room and all) or in the room alloc gave; one framed
 * from traffic starts with a request-line and, unless truncated (then
 * exactly PFS_HTTP_MAX_RECORD bytes), is one whole request, as a fresh
 * framer frames it alone; pfs_record_flow reads its connection (none for
 * a written flow); method=GET hands on exactly http's GET records, the
 * same bytes, in the same order; `text` makes one printable line of each.
 */
#include <netinet/in.h>

#include "filters/http.h"
#include "filters/httpframe.h"
#include "filters/pkt.h"
#include "tests/fuzz/fuzz.h"

static const uint16_t link_types[8] = {
	PFS_LT_ETHERNET, PFS_LT_RAW, PFS_LT_SLL, PFS_LT_NULL,
	PFS_LT_LOOP, PFS_LT_IPV4, PFS_LT_IPV6, PFS_LT_SLL2,
};

/* Each connection's next seq, by direction (0 client, 1 server). */
static uint32_t cursor[4][2];

struct stages {
	struct fz_inst http, get, text;
	struct fz_out http_out, get_out, text_out;
	uint64_t framed;	/* requests http framed (not passed on) */
};

/* A whole request alone, from a fresh framer: DONE at its last byte. */
static bool whole_request(const uint8_t *r, uint32_t n)
{
	struct pfs_http_framer f = { 0 };
	size_t taken;
	return pfs_http_feed(&f, r, n, &taken) == PFS_HTTP_DONE && taken == n && f.start == 0;
}

static bool is_get(const struct fz_rec *r)
{
	return r->d.len > 4 && !memcmp(r->bytes + r->d.head_room, "GET ", 4);
}

static void check_text(struct stages *st)
{
	for (size_t i = 0; i < st->text_out.n; i++) {
		const struct fz_rec *r = &st->text_out.recs[i];
		const uint8_t *l = r->bytes + r->d.head_room;
		FZ_CHECK(r->d.len > 0 && r->d.len <= 512 && l[r->d.len - 1] == '\n',
			 "text line of %u bytes", r->d.len);
		for (uint32_t k = 0; k + 1 < r->d.len; k++)
			FZ_CHECK(l[k] >= 0x20 && l[k] < 0x7f, "text byte %u is %#x", k, l[k]);
	}
	fz_out_clear(&st->text_out);
}

/* One record through both stages; what http hands on, through text. */
static void run(struct stages *st, const struct pfs_desc *d, const uint8_t *data)
{
	fz_run(&st->http, &st->http_out, d, data);
	fz_run(&st->get, &st->get_out, d, data);

	size_t g = 0;
	for (size_t i = 0; i < st->http_out.n; i++) {
		struct fz_rec *r = &st->http_out.recs[i];
		const uint8_t *req = r->bytes + r->d.head_room;
		struct pfs_flow_meta m;

		FZ_CHECK(r->d.kind == PFS_KIND_HTTP, "kind %u", r->d.kind);
		if (d->kind != PFS_KIND_HTTP) {
			st->framed++;
			bool truncated = r->d.aux & PFS_HTTP_AUX_TRUNCATED;
			const uint8_t *sp = memchr(req, ' ', r->d.len);
			FZ_CHECK(sp && pfs_http_token(req, (size_t)(sp - req)), "no method");
			if (truncated)
				FZ_CHECK(r->d.len == PFS_HTTP_MAX_RECORD, "truncated at %u", r->d.len);
			else
				FZ_CHECK(whole_request(req, r->d.len),
					 "a record of %u bytes is no whole request", r->d.len);
			if (r->in_place)
				FZ_CHECK(r->d.head_room == 0 || (r->d.flags & PFS_REC_IN_FRAME),
					 "in place with head room %u, not in its frame",
					 r->d.head_room);
			else
				FZ_CHECK(r->d.head_room == sizeof m, "copied, head room %u",
					 r->d.head_room);
			bool named = pfs_record_flow(&r->d, req, &m);
			FZ_CHECK(named == (d->kind == PFS_KIND_FRAME), "flow %d for kind %u", named,
				 d->kind);
			if (named)
				FZ_CHECK(m.proto == IPPROTO_TCP && (m.family == 4 || m.family == 6),
					 "flow family %u proto %u", m.family, m.proto);
		}
		fz_run(&st->text, &st->text_out, &r->d, req);
		check_text(st);
		if (!is_get(r))
			continue;
		/* method=GET handed on the same */
		FZ_CHECK(g < st->get_out.n, "http's GET record %zu not handed on by method=GET", i);
		const struct fz_rec *q = &st->get_out.recs[g++];
		FZ_CHECK(q->d.len == r->d.len && q->d.head_room == r->d.head_room &&
				 q->d.aux == r->d.aux && q->d.flags == r->d.flags &&
				 q->in_place == r->in_place &&
				 !memcmp(q->bytes, r->bytes, (size_t)r->d.head_room + r->d.len),
			 "method=GET's record %zu differs from http's", g - 1);
	}
	FZ_CHECK(g == st->get_out.n, "method=GET handed on %zu records, http %zu GETs",
		 st->get_out.n, g);
	fz_out_clear(&st->http_out);
	fz_out_clear(&st->get_out);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}

/* The TCP connections an input used (their addresses remapped), to end
 * each with an RST. */
struct tuple {
	uint8_t family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};
#define MAX_TUPLES 1024
static struct tuple tuples[MAX_TUPLES];
static size_t ntuples;
static uint8_t mask[4];		/* this input's XOR of IP addresses */

static void xor4(uint8_t *a)
{
	for (int i = 0; i < 4; i++)
		a[i] ^= mask[i];
}

/* Frame f (link type lt) of TCP: its addresses XORed with the mask, its
 * connection noted. */
static void remap(uint8_t *f, uint32_t len, uint16_t lt)
{
	struct pfs_pkt p;

	if (pfs_pkt_parse(&p, lt, f, len) || !pfs_pkt_is(&p, IPPROTO_TCP))
		return;
	struct tuple t = { .family = p.flags & PFS_PKT_IP4 ? 4 : 6, .sport = p.sport,
			   .dport = p.dport };
	size_t alen = t.family == 4 ? 4 : 16;
	uint8_t *src = f + p.l3_off + (t.family == 4 ? 12 : 8), *dst = src + alen;
	xor4(src + alen - 4);
	xor4(dst + alen - 4);
	memcpy(t.src, src, alen);
	memcpy(t.dst, dst, alen);
	for (size_t i = 0; i < ntuples; i++)
		if (!memcmp(&tuples[i], &t, sizeof t))
			return;
	FZ_CHECK(ntuples < MAX_TUPLES, "too many connections");
	tuples[ntuples++] = t;
}

/* An Ethernet frame of a TCP segment from src to dst (4 or 16 bytes). */
static size_t tcp_frame(uint8_t *f, bool v6, const uint8_t *src, const uint8_t *dst,
			uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
			const uint8_t *p, size_t len, size_t extra)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	size_t n = 14;

	memcpy(f, macs, 12);
	put16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		memset(f + n, 0, 40);
		f[n] = 0x60;
		put16(f + n + 4, (uint16_t)(20 + len + extra));
		f[n + 6] = 6;
		f[n + 7] = 64;
		memcpy(f + n + 8, src, 16);
		memcpy(f + n + 24, dst, 16);
		n += 40;
	} else {
		static const uint8_t ip[12] = { 0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0 };
		memcpy(f + n, ip, 12);
		put16(f + n + 2, (uint16_t)(40 + len + extra));
		memcpy(f + n + 12, src, 4);
		memcpy(f + n + 16, dst, 4);
		n += 20;
	}
	memset(f + n, 0, 20);
	put16(f + n, sport);
	put16(f + n + 2, dport);
	put32(f + n + 4, seq);
	put32(f + n + 8, ack);
	f[n + 12] = 5 << 4;
	f[n + 13] = flags;
	put16(f + n + 14, 0xffff);
	n += 20;
	if (len)
		memcpy(f + n, p, len);
	return n + len;
}

/* A frame of f's bytes through the stages. */
static void run_frame(struct stages *st, struct pfs_desc *d, uint8_t *f, size_t len,
		      size_t wire_extra, uint16_t lt)
{
	remap(f, (uint32_t)len, lt);
	d->kind = PFS_KIND_FRAME;
	d->link_type = lt;
	d->len = (uint32_t)len;
	d->wire_len = (uint32_t)(len + wire_extra);
	run(st, d, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct stages st;
	static uint8_t frame[65536 + 128];
	static uint32_t epoch;
	struct fz z = { in, size };

	if (!st.http.f) {	/* once: the per-producer state lives on */
		fz_inst_open(&st.http, "http");
		fz_inst_open(&st.get, "method=GET");
	} else {		/* the configuration (methods seen) does not */
		fz_inst_new_conf(&st.http, "http");
		fz_inst_new_conf(&st.get, "method=GET");
	}
	fz_inst_open(&st.text, "text");
	fz_out_init(&st.http_out);
	fz_out_init(&st.get_out);
	fz_out_init(&st.text_out);
	st.framed = 0;
	uint64_t requests = fz_counter(&st.http, "requests");
	epoch++;
	for (int i = 0; i < 4; i++)
		mask[i] = (uint8_t)(epoch >> (24 - 8 * i));
	ntuples = 0;
	memset(cursor, 0, sizeof cursor);
	uint64_t seq = 1;
	for (; fz_more(&z); seq++) {
		uint8_t t = fz_u8(&z);
		struct pfs_desc d = { .seq = seq, .pos = 4096 * seq, .ts_ns = 1700000000123456789ull,
				      .flow_hash = 0xabcdef01 };
		size_t len;
		const uint8_t *p;

		if (t >= 0x40 && t < 0x80) {
			static const uint8_t c4[4] = { 10, 0, 0, 1 }, s4[4] = { 10, 0, 0, 2 };
			static const uint8_t c6[16] = { 0xfd, [15] = 1 }, s6[16] = { 0xfd, [15] = 2 };
			int k = t & 3;
			bool server = t & 4, v6 = t & 0x10;
			uint32_t *c = &cursor[k][server];
			uint32_t seqno = *c;
			if (t & 0x20)
				seqno += (uint32_t)(int32_t)(int8_t)fz_u8(&z) * 16u;
			uint8_t flags = fz_u8(&z);
			p = fz_bytes(&z, fz_u16(&z) % 2048, &len);
			size_t extra = t & 8 ? 1 + fz_u8(&z) : 0;
			const uint8_t *cli = v6 ? c6 : c4, *srv = v6 ? s6 : s4;
			uint16_t cport = (uint16_t)(40000 + k);
			size_t n = tcp_frame(frame, v6, server ? srv : cli, server ? cli : srv,
					     server ? 80 : cport, server ? cport : 80, flags, seqno,
					     cursor[k][!server], p, len, extra);
			*c = seqno + !!(flags & 0x02) + (uint32_t)(len + extra);
			run_frame(&st, &d, frame, n, extra, PFS_LT_ETHERNET);
			continue;
		}
		p = fz_bytes(&z, fz_u16(&z), &len);
		if (t < 0x40) {
			memcpy(frame, p, len);
			run_frame(&st, &d, frame, len, t & 8 ? 1 + (t >> 4) : 0, link_types[t & 7]);
			continue;
		}
		d.len = d.wire_len = (uint32_t)len;
		if (t < 0xc0) {
			d.kind = PFS_KIND_STREAM;
			d.flow_hash = epoch << 2 | (t & 3);
		} else {
			d.kind = PFS_KIND_HTTP;
		}
		run(&st, &d, p);
	}
	/* each connection ends: what they held goes, counted or handed on */
	for (size_t i = 0; i < ntuples; i++, seq++) {
		const struct tuple *u = &tuples[i];
		struct pfs_desc d = { .seq = seq, .pos = 4096 * seq, .kind = PFS_KIND_FRAME,
				      .link_type = PFS_LT_ETHERNET };
		size_t n = tcp_frame(frame, u->family == 6, u->src, u->dst, u->sport, u->dport,
				     0x14, 0, 0, NULL, 0, 0);
		d.len = d.wire_len = (uint32_t)n;
		run(&st, &d, frame);
	}
	requests = fz_counter(&st.http, "requests") - requests;
	FZ_CHECK(requests == st.framed, "%llu requests counted, %llu framed",
		 (unsigned long long)requests, (unsigned long long)st.framed);
	fz_out_fini(&st.http_out);
	fz_out_fini(&st.get_out);
	fz_out_fini(&st.text_out);
	fz_inst_close(&st.text);
	return 0;
}
