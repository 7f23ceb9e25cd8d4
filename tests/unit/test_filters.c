/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the frame dissector and the classifier filters (filters/).
 * Frames are built by hand; every match goes through the filter interface
 * as the graph runs it (frames.h: configuration, per-producer state,
 * process) on a heap copy of exactly the captured bytes, so the sanitizers
 * catch any read beyond them.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "filters/limits.h"
#include "filters/pkt.h"

#define FRAMES_OWN_BUILDERS	/* struct frame and its builders: below */
#include "tests/unit/frames.h"

/* ---- a pfs_out that records what a filter hands on ---- */

struct rec {
	struct pfs_out out;	/* first: emit() gets a pointer to it */
	int n;
	struct pfs_desc d;
	const uint8_t *data;
};

static void rec_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct rec *r = (struct rec *)o;
	r->n++;
	r->d = *d;
	r->data = data;
}

static uint8_t *rec_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	(void)o, (void)len, (void)d;
	ck_abort_msg("a classifier asked for new bytes");
	return NULL;
}

/* Runs one record through `spec`; returns 1 if it was handed on, which
 * must be unchanged: the same descriptor and the same bytes (no copy). */
static int run(const char *spec, const struct pfs_desc *d, const uint8_t *data)
{
	struct rec r = { .out = { rec_emit, rec_alloc } };
	struct inst in;

	inst_must_open(&in, spec);
	inst_process(&in, d, data, &r.out);
	inst_close(&in);
	ck_assert_int_le(r.n, 1);
	if (r.n) {
		ck_assert_mem_eq(&r.d, d, sizeof *d);
		ck_assert_ptr_eq(r.data, data);
	}
	return r.n;
}

/* Does `spec` pass the frame of len captured bytes? */
static int match(const char *spec, uint16_t lt, const uint8_t *b, uint32_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct pfs_desc d = { .len = len, .wire_len = len, .link_type = lt,
			      .kind = PFS_KIND_FRAME, .seq = 7, .pos = 4096 };
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, b, len);
	int n = run(spec, &d, copy);
	free(copy);
	return n;
}

/* The verdict on a spec's arguments (init's, or the refusal of any for a
 * filter without init): 0 or -EINVAL (conf NULL, err filled). */
static int init_rc(const char *spec, char *err, size_t errlen)
{
	struct inst in;
	int rc = inst_open(&in, spec, err, errlen);
	if (rc == 0)
		inst_close(&in);
	else
		ck_assert_msg(in.conf == NULL && in.pstate == NULL && err[0],
			      "%s: no state cleanup or message", spec);
	return rc;
}

/* ---- building frames ---- */

struct frame {
	uint8_t b[600];
	uint32_t n;
	uint32_t l3, l4;	/* where the IP and transport headers start */
	int ipv;		/* 4, 6 or 0 */
	int udp;		/* l4 is a UDP header */
};

static void bytes(struct frame *f, const void *p, uint32_t n)
{
	ck_assert_uint_le(f->n + n, sizeof f->b);
	if (n)
		memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void fill(struct frame *f, uint8_t v, uint32_t n)
{
	ck_assert_uint_le(f->n + n, sizeof f->b);
	memset(f->b + f->n, v, n);
	f->n += n;
}

static void be16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	bytes(f, b, 2);
}

static void set16(struct frame *f, uint32_t at, uint16_t v)
{
	f->b[at] = (uint8_t)(v >> 8);
	f->b[at + 1] = (uint8_t)v;
}

static void ether(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	bytes(f, macs, 12);
	be16(f, type);
}

static void tag(struct frame *f, uint16_t vid, uint16_t next)
{
	be16(f, vid);
	be16(f, next);
}

/* 10.0.0.1 > 10.0.0.2; ihl in 32-bit words (options are NOPs). */
static void ip4(struct frame *f, uint8_t proto, uint8_t ihl, uint16_t frag)
{
	uint8_t h[20] = { (uint8_t)(0x40 | ihl), 0, 0, 0, 0, 1,
			  (uint8_t)(frag >> 8), (uint8_t)frag, 64, proto, 0, 0,
			  10, 0, 0, 1, 10, 0, 0, 2 };
	f->l3 = f->n;
	f->ipv = 4;
	bytes(f, h, 20);
	if (ihl > 5)
		fill(f, 1, ihl * 4u - 20);
}

/* fd77::1 > fd77::2 */
static void ip6(struct frame *f, uint8_t next)
{
	uint8_t h[40] = { 0x60, 0, 0, 0, 0, 0, next, 64,
			  0xfd, 0x77, [23] = 1, 0xfd, 0x77, [39] = 2 };
	f->l3 = f->n;
	f->ipv = 6;
	bytes(f, h, 40);
}

/* Hop-by-hop, routing or destination options: (units + 1) * 8 bytes. */
static void ext6(struct frame *f, uint8_t next, uint8_t units)
{
	uint8_t h[2] = { next, units };
	bytes(f, h, 2);
	fill(f, 0, (units + 1u) * 8 - 2);
}

static void frag6(struct frame *f, uint8_t next, uint16_t offset8, int more)
{
	uint8_t h[8] = { next, 0, (uint8_t)(offset8 >> 5),
			 (uint8_t)(offset8 << 3 | (more ? 1 : 0)), 0, 0, 0, 42 };
	bytes(f, h, 8);
}

/* AH with words = length field: (words + 2) * 4 bytes. */
static void ah(struct frame *f, uint8_t next, uint8_t words)
{
	uint8_t h[2] = { next, words };
	bytes(f, h, 2);
	fill(f, 0, (words + 2u) * 4 - 2);
}

/* doff in 32-bit words (options are NOPs). */
static void tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t doff)
{
	f->l4 = f->n;
	be16(f, sport);
	be16(f, dport);
	fill(f, 0, 8);
	uint8_t h[8] = { (uint8_t)(doff << 4), 0x18, 0xff, 0xff };
	bytes(f, h, 8);
	if (doff > 5)
		fill(f, 1, doff * 4u - 20);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	f->l4 = f->n;
	f->udp = 1;
	be16(f, sport);
	be16(f, dport);
	fill(f, 0, 4);
}

static void icmp(struct frame *f)
{
	f->l4 = f->n;
	uint8_t h[8] = { 8, 0, 0, 0, 0, 1, 0, 1 };
	bytes(f, h, 8);
}

/* Sets the IP and UDP length fields to what was built. */
static void done(struct frame *f)
{
	if (f->ipv == 4)
		set16(f, f->l3 + 2, (uint16_t)(f->n - f->l3));
	if (f->ipv == 6)
		set16(f, f->l3 + 4, (uint16_t)(f->n - f->l3 - 40));
	if (f->udp)
		set16(f, f->l4 + 4, (uint16_t)(f->n - f->l4));
}

static struct pfs_pkt parse(uint16_t lt, const struct frame *f)
{
	struct pfs_pkt p;
	ck_assert_int_eq(pfs_pkt_parse(&p, lt, f->b, f->n), 0);
	return p;
}

/* Cut the frame at every length: spec matches exactly from `need` bytes. */
static void from_length(const char *spec, uint16_t lt, const struct frame *f, uint32_t need)
{
	for (uint32_t len = 0; len <= f->n; len++)
		ck_assert_msg(match(spec, lt, f->b, len) == (len >= need),
			      "%s at %u of %u bytes: expected %s", spec, len, f->n,
			      len >= need ? "a match" : "none");
}

static const char *const protos[] = { "ip", "ip6", "arp", "vlan", "tcp", "udp",
				       "icmp", "icmp6" };
#define NPROTOS (sizeof protos / sizeof *protos)

/* The protocol classifiers that pass the frame, as "ip tcp ". */
static const char *which(uint16_t lt, const struct frame *f)
{
	static char out[64];
	out[0] = 0;
	for (size_t i = 0; i < NPROTOS; i++)
		if (match(protos[i], lt, f->b, f->n)) {
			strcat(out, protos[i]);
			strcat(out, " ");
		}
	return out;
}

/* ---- tests ---- */

START_TEST(ipv4_tcp_cut_at_every_length)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 7, 0);		/* 8 bytes of options */
	tcp(&f, 1234, 80, 8);		/* 12 bytes of options */
	fill(&f, 'x', 10);
	done(&f);
	from_length("ip", 1, &f, 14 + 28);
	from_length("tcp", 1, &f, 14 + 28 + 32);
	from_length("port=80", 1, &f, 14 + 28 + 32);
	from_length("host=10.0.0.2", 1, &f, 14 + 28);
	for (uint32_t len = 0; len <= f.n; len++)
		for (size_t i = 0; i < NPROTOS; i++)
			if (strcmp(protos[i], "ip") && strcmp(protos[i], "tcp"))
				ck_assert_int_eq(match(protos[i], 1, f.b, len), 0);

	struct pfs_pkt p = parse(1, &f);
	ck_assert_uint_eq(p.net_proto, 0x0800);
	ck_assert_uint_eq(p.l3_off, 14);
	ck_assert_uint_eq(p.l4_off, 14 + 28);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.sport, 1234);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.payload_off, 14 + 28 + 32);
	ck_assert_uint_eq(p.payload_len, 10);
	ck_assert_uint_eq(p.addr_len, 4);
	ck_assert_mem_eq(p.src, "\x0a\x00\x00\x01", 4);
	ck_assert_mem_eq(p.dst, "\x0a\x00\x00\x02", 4);
	ck_assert_uint_eq(p.vlans, 0);
	ck_assert(!(p.flags & PFS_PKT_FRAG));
}
END_TEST

START_TEST(ipv6_udp_and_icmp_cut_at_every_length)
{
	struct frame f = { 0 };
	ether(&f, 0x86dd);
	ip6(&f, 17);
	udp(&f, 53, 5353);
	fill(&f, 'y', 5);
	done(&f);
	from_length("ip6", 1, &f, 14 + 40);
	from_length("udp", 1, &f, 14 + 48);
	from_length("port=5353", 1, &f, 14 + 48);
	from_length("net=fd77::/16", 1, &f, 14 + 40);
	struct pfs_pkt p = parse(1, &f);
	ck_assert_uint_eq(p.payload_len, 5);
	ck_assert_uint_eq(p.addr_len, 16);
	ck_assert_uint_eq(p.dst[15], 2);

	struct frame g = { 0 };
	ether(&g, 0x86dd);
	ip6(&g, 58);
	icmp(&g);
	done(&g);
	from_length("icmp6", 1, &g, 14 + 48);
	ck_assert_str_eq(which(1, &g), "ip6 icmp6 ");

	struct frame h = { 0 };
	ether(&h, 0x0800);
	ip4(&h, 1, 5, 0);
	icmp(&h);
	done(&h);
	from_length("icmp", 1, &h, 14 + 28);
	ck_assert_str_eq(which(1, &h), "ip icmp ");
}
END_TEST

START_TEST(bad_ihl)
{
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		struct frame f = { 0 };
		ether(&f, 0x0800);
		ip4(&f, 6, 5, 0);
		tcp(&f, 1, 2, 5);
		done(&f);
		f.b[14] = (uint8_t)(0x40 | ihl);
		ck_assert_str_eq(which(1, &f), "");
	}
	/* IHL 15: 60 bytes of header, but 20 + 20 captured */
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 2, 5);
	done(&f);
	f.b[14] = 0x4f;
	ck_assert_str_eq(which(1, &f), "");
	/* a complete header whose total length is shorter than itself */
	f.b[14] = 0x45;
	set16(&f, 14 + 2, 12);
	ck_assert_str_eq(which(1, &f), "ip ");
	/* version 6 behind ethertype IPv4 */
	f.b[14] = 0x65;
	ck_assert_str_eq(which(1, &f), "");
}
END_TEST

START_TEST(tcp_data_offset)
{
	for (uint8_t doff = 0; doff < 16; doff++) {
		struct frame f = { 0 };
		ether(&f, 0x0800);
		ip4(&f, 6, 5, 0);
		tcp(&f, 1, 2, 5);
		fill(&f, 'z', 20);	/* doff up to 10 fits the captured bytes */
		done(&f);
		f.b[14 + 20 + 12] = (uint8_t)(doff << 4);
		int ok = doff >= 5 && doff <= 10;
		ck_assert_int_eq(match("tcp", 1, f.b, f.n), ok);
		if (ok) {
			struct pfs_pkt p = parse(1, &f);
			ck_assert_uint_eq(p.payload_len, 40 - doff * 4u);
		}
	}
}
END_TEST

START_TEST(udp_length)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 17, 5, 0);
	udp(&f, 1, 2);
	fill(&f, 'u', 12);
	done(&f);
	struct pfs_pkt p = parse(1, &f);
	ck_assert_uint_eq(p.payload_len, 12);
	set16(&f, f.l4 + 4, 10);	/* shorter than the IP packet */
	p = parse(1, &f);
	ck_assert_uint_eq(p.payload_len, 2);
	set16(&f, f.l4 + 4, 8);		/* empty */
	p = parse(1, &f);
	ck_assert(pfs_pkt_is(&p, 17));
	ck_assert_uint_eq(p.payload_len, 0);
	set16(&f, f.l4 + 4, 500);	/* longer: clipped */
	p = parse(1, &f);
	ck_assert_uint_eq(p.payload_len, 12);
	for (uint16_t bad = 0; bad < 8; bad++) {
		set16(&f, f.l4 + 4, bad);
		ck_assert_int_eq(match("udp", 1, f.b, f.n), 0);
	}
	/* IPv4 total length 0 (BIG TCP, offload): UDP length 0 is "all" */
	set16(&f, f.l3 + 2, 0);
	set16(&f, f.l4 + 4, 0);
	p = parse(1, &f);
	ck_assert(pfs_pkt_is(&p, 17));
	ck_assert_uint_eq(p.payload_len, 12);

	/* IPv6: likewise with payload length 0 (jumbogram) */
	struct frame g = { 0 };
	ether(&g, 0x86dd);
	ip6(&g, 17);
	udp(&g, 1, 2);
	fill(&g, 'u', 3);
	done(&g);
	set16(&g, g.l4 + 4, 0);
	ck_assert_int_eq(match("udp", 1, g.b, g.n), 0);
	set16(&g, g.l3 + 4, 0);
	p = parse(1, &g);
	ck_assert(pfs_pkt_is(&p, 17));
	ck_assert_uint_eq(p.payload_len, 3);
	set16(&g, g.l4 + 4, 7);
	ck_assert_int_eq(match("udp", 1, g.b, g.n), 0);
}
END_TEST

START_TEST(zero_length_payloads_and_padding)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 2, 5);
	done(&f);
	fill(&f, 0xee, 6);		/* Ethernet padding to 60 bytes */
	struct pfs_pkt p = parse(1, &f);
	ck_assert(pfs_pkt_is(&p, 6));
	ck_assert_uint_eq(p.l3_end, 54);
	ck_assert_uint_eq(p.payload_off, 54);
	ck_assert_uint_eq(p.payload_len, 0);

	struct frame g = { 0 };
	ether(&g, 0x86dd);
	ip6(&g, 17);
	udp(&g, 1, 2);
	done(&g);
	fill(&g, 0xee, 10);
	p = parse(1, &g);
	ck_assert(pfs_pkt_is(&p, 17));
	ck_assert_uint_eq(p.payload_len, 0);
	ck_assert_uint_eq(p.l3_end, 14 + 48);

	/* IPv4 total length 0 (segmentation offload): the captured bytes */
	struct frame h = { 0 };
	ether(&h, 0x0800);
	ip4(&h, 6, 5, 0);
	tcp(&h, 1, 2, 5);
	fill(&h, 'x', 100);
	p = parse(1, &h);
	ck_assert(pfs_pkt_is(&p, 6));
	ck_assert_uint_eq(p.payload_len, 100);
}
END_TEST

START_TEST(ipv4_fragments)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0x2000);		/* first fragment: more fragments */
	tcp(&f, 1, 80, 5);
	fill(&f, 'x', 8);
	done(&f);
	ck_assert_str_eq(which(1, &f), "ip tcp ");
	ck_assert_int_eq(match("port=80", 1, f.b, f.n), 1);
	set16(&f, 14 + 6, 0x2003);	/* a later fragment: bytes 24.. */
	ck_assert_str_eq(which(1, &f), "ip ");
	ck_assert_int_eq(match("port=80", 1, f.b, f.n), 0);
	ck_assert_int_eq(match("host=10.0.0.1", 1, f.b, f.n), 1);
	struct pfs_pkt p = parse(1, &f);
	ck_assert(p.flags & PFS_PKT_FRAG);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.l4_off, 34);
	set16(&f, 14 + 6, 0x0001);	/* the last fragment */
	ck_assert_str_eq(which(1, &f), "ip ");
}
END_TEST

START_TEST(ipv4_ah)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 51, 5, 0);
	ah(&f, 17, 4);			/* 24 bytes: 12 fixed, 12 of ICV */
	udp(&f, 500, 4500);
	done(&f);
	from_length("udp", 1, &f, 14 + 20 + 24 + 8);
	struct pfs_pkt p = parse(1, &f);
	ck_assert_uint_eq(p.l4_off, 14 + 20 + 24);
	f.b[14 + 20 + 1] = 0;		/* AH shorter than its fixed part */
	ck_assert_int_eq(match("udp", 1, f.b, f.n), 0);
}
END_TEST

START_TEST(ipv6_extension_chains)
{
	/* hop-by-hop, destination options, fragment (first), TCP */
	struct frame f = { 0 };
	ether(&f, 0x86dd);
	ip6(&f, 0);
	ext6(&f, 60, 1);		/* 16 bytes */
	ext6(&f, 44, 0);		/* 8 bytes */
	frag6(&f, 6, 0, 1);
	tcp(&f, 443, 50000, 5);
	fill(&f, 'x', 4);
	done(&f);
	uint32_t l4 = 14 + 40 + 16 + 8 + 8;
	from_length("tcp", 1, &f, l4 + 20);
	from_length("port=443", 1, &f, l4 + 20);
	from_length("ip6", 1, &f, 14 + 40);
	struct pfs_pkt p = parse(1, &f);
	ck_assert_uint_eq(p.l4_off, l4);
	ck_assert_uint_eq(p.payload_len, 4);
	ck_assert(!(p.flags & PFS_PKT_FRAG));

	/* the same chain, a later fragment: no transport */
	f.b[14 + 40 + 24 + 2] = 0;
	f.b[14 + 40 + 24 + 3] = 0x18 | 1;	/* offset 3 (x 8 bytes), more */
	ck_assert_str_eq(which(1, &f), "ip6 ");
	p = parse(1, &f);
	ck_assert(p.flags & PFS_PKT_FRAG);
	ck_assert_uint_eq(p.proto, 6);

	/* routing header, AH, UDP */
	struct frame g = { 0 };
	ether(&g, 0x86dd);
	ip6(&g, 43);
	ext6(&g, 51, 2);		/* 24 bytes */
	ah(&g, 17, 4);			/* 24 bytes */
	udp(&g, 1, 2);
	done(&g);
	from_length("udp", 1, &g, 14 + 40 + 24 + 24 + 8);

	/* a header that claims more than the packet holds */
	struct frame h = { 0 };
	ether(&h, 0x86dd);
	ip6(&h, 0);
	ext6(&h, 6, 0);
	tcp(&h, 1, 2, 5);
	done(&h);
	h.b[14 + 40 + 1] = 200;
	ck_assert_str_eq(which(1, &h), "ip6 ");

	/* ESP, no next header, an unknown header: the walk stops */
	static const uint8_t stops[] = { 50, 59, 253, 135 };
	for (size_t i = 0; i < sizeof stops; i++) {
		struct frame s = { 0 };
		ether(&s, 0x86dd);
		ip6(&s, 60);
		ext6(&s, stops[i], 0);
		tcp(&s, 1, 2, 5);	/* looks like TCP, but is not */
		done(&s);
		ck_assert_str_eq(which(1, &s), "ip6 ");
		p = parse(1, &s);
		ck_assert_uint_eq(p.proto, stops[i]);
	}

	/* ICMP (v4) inside IPv6 and ICMPv6 inside IPv4 are neither */
	struct frame x = { 0 };
	ether(&x, 0x86dd);
	ip6(&x, 1);
	icmp(&x);
	done(&x);
	ck_assert_str_eq(which(1, &x), "ip6 ");
	struct frame y = { 0 };
	ether(&y, 0x0800);
	ip4(&y, 58, 5, 0);
	icmp(&y);
	done(&y);
	ck_assert_str_eq(which(1, &y), "ip ");
}
END_TEST

START_TEST(vlan_stacks)
{
	static const uint16_t outer[] = { 0x8100, 0x88a8, 0x9100 };
	for (size_t i = 0; i < 3; i++) {
		struct frame f = { 0 };
		ether(&f, outer[i]);
		tag(&f, 100, 0x8100);
		tag(&f, 200, 0x0800);
		ip4(&f, 17, 5, 0);
		udp(&f, 1, 2);
		done(&f);
		from_length("vlan", 1, &f, 18);
		from_length("ip", 1, &f, 22 + 20);
		from_length("udp", 1, &f, 22 + 28);
		ck_assert_str_eq(which(1, &f), "ip vlan udp ");
		struct pfs_pkt p = parse(1, &f);
		ck_assert_uint_eq(p.vlans, 2);
		ck_assert_uint_eq(p.l3_off, 22);
		ck_assert_uint_eq(p.net_proto, 0x0800);
	}
	/* ARP in one tag */
	struct frame a = { 0 };
	ether(&a, 0x8100);
	tag(&a, 5, 0x0806);
	be16(&a, 1);
	be16(&a, 0x0800);
	uint8_t arp[24] = { 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 168, 0, 1,
			    0, 0, 0, 0, 0, 0, 192, 168, 0, 2 };
	bytes(&a, arp, 24);
	from_length("arp", 1, &a, 18 + 28);
	ck_assert_str_eq(which(1, &a), "arp vlan ");
	ck_assert_int_eq(match("host=192.168.0.2", 1, a.b, a.n), 1);
	ck_assert_int_eq(match("net=192.168.0.0/30", 1, a.b, a.n), 1);
	ck_assert_int_eq(match("host=192.168.0.3", 1, a.b, a.n), 0);
	/* a tag without anything after it, 802.3 length inside a tag */
	struct frame t = { 0 };
	ether(&t, 0x8100);
	tag(&t, 1, 0x8100);
	ck_assert_str_eq(which(1, &t), "vlan ");
	struct pfs_pkt p = parse(1, &t);
	ck_assert_uint_eq(p.net_proto, 0);
	set16(&t, 16, 0x0040);
	ck_assert_str_eq(which(1, &t), "vlan ");
}
END_TEST

/* An IPv4 TCP packet and an IPv6 UDP packet behind each link header. */
static void behind(uint16_t lt, const uint8_t *hdr, uint32_t hlen, int v6,
		   const char *expect)
{
	struct frame f = { 0 };
	bytes(&f, hdr, hlen);
	if (v6) {
		ip6(&f, 17);
		udp(&f, 1, 2);
	} else {
		ip4(&f, 6, 5, 0);
		tcp(&f, 1, 2, 5);
	}
	done(&f);
	ck_assert_msg(!strcmp(which(lt, &f), expect), "link type %u: got `%s`, want `%s`",
		      lt, which(lt, &f), expect);
	if (*expect)
		from_length(v6 ? "udp" : "tcp", lt, &f, hlen + (v6 ? 48 : 40));
}

START_TEST(link_types)
{
	static const uint8_t sll4[16] = { 0, 0, 0, 1, 0, 6, [14] = 0x08, 0x00 };
	static const uint8_t sll6[16] = { 0, 4, 0, 1, 0, 6, [14] = 0x86, 0xdd };
	static const uint8_t sll2_4[20] = { 0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6 };
	static const uint8_t sll2_6[20] = { 0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6 };
	static const uint8_t af4le[4] = { 2, 0, 0, 0 }, af4be[4] = { 0, 0, 0, 2 };
	static const uint8_t af6[][4] = { { 10, 0, 0, 0 }, { 0, 0, 0, 24 },
					  { 28, 0, 0, 0 }, { 0, 0, 0, 30 } };
	static const uint8_t af_bad[4] = { 7, 0, 0, 0 };

	behind(1, (const uint8_t *)"\2\0\0\0\0\1\2\0\0\0\0\2\x08\x00", 14, 0, "ip tcp ");
	behind(1, (const uint8_t *)"\2\0\0\0\0\1\2\0\0\0\0\2\x86\xdd", 14, 1, "ip6 udp ");
	static const uint16_t raw[] = { 101, 12, 14 };
	for (size_t i = 0; i < 3; i++) {
		behind(raw[i], NULL, 0, 0, "ip tcp ");
		behind(raw[i], NULL, 0, 1, "ip6 udp ");
	}
	behind(113, sll4, 16, 0, "ip tcp ");
	behind(113, sll6, 16, 1, "ip6 udp ");
	behind(276, sll2_4, 20, 0, "ip tcp ");
	behind(276, sll2_6, 20, 1, "ip6 udp ");
	for (uint16_t lt = 0; lt <= 108; lt += 108) {
		behind(lt, af4le, 4, 0, "ip tcp ");
		behind(lt, af4be, 4, 0, "ip tcp ");
		for (size_t i = 0; i < 4; i++)
			behind(lt, af6[i], 4, 1, "ip6 udp ");
		behind(lt, af_bad, 4, 0, "");
	}
	behind(228, NULL, 0, 0, "ip tcp ");
	behind(229, NULL, 0, 1, "ip6 udp ");
	behind(228, NULL, 0, 1, "");	/* IPv6 bytes on an IPv4 link */
	behind(229, NULL, 0, 0, "");
	/* unknown link types: nothing, whatever the bytes */
	behind(105, NULL, 0, 0, "");
	behind(9, NULL, 0, 0, "");
	behind(127, sll4, 16, 0, "");
	/* an SLL pseudo-protocol (802.2 frames) is no ethertype */
	static const uint8_t sll_llc[16] = { 0, 0, 0, 1, 0, 6, [14] = 0x00, 0x04 };
	behind(113, sll_llc, 16, 0, "");
	/* raw IP of an unknown version */
	struct frame f = { 0 };
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 2, 5);
	done(&f);
	f.b[0] = 0x55;
	ck_assert_str_eq(which(101, &f), "");
	/* link headers cut short */
	for (uint32_t len = 0; len < 20; len++) {
		struct pfs_pkt p;
		ck_assert_int_eq(pfs_pkt_parse(&p, 276, sll2_4, len), -1);
	}
}
END_TEST

START_TEST(ports)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 40000, 80, 5);
	done(&f);
	ck_assert_int_eq(match("port=80", 1, f.b, f.n), 1);
	ck_assert_int_eq(match("port=40000", 1, f.b, f.n), 1);
	ck_assert_int_eq(match("port=81", 1, f.b, f.n), 0);
	ck_assert_int_eq(match("port=79-81", 1, f.b, f.n), 1);
	ck_assert_int_eq(match("port=81-39999", 1, f.b, f.n), 0);
	ck_assert_int_eq(match("port=40000-40000", 1, f.b, f.n), 1);
	ck_assert_int_eq(match("port=0-65535", 1, f.b, f.n), 1);
	ck_assert_int_eq(match("port=00080", 1, f.b, f.n), 1);

	struct frame u = { 0 };
	ether(&u, 0x86dd);
	ip6(&u, 17);
	udp(&u, 0, 65535);
	done(&u);
	ck_assert_int_eq(match("port=0", 1, u.b, u.n), 1);
	ck_assert_int_eq(match("port=65535", 1, u.b, u.n), 1);
	ck_assert_int_eq(match("port=1-65534", 1, u.b, u.n), 0);

	struct frame i = { 0 };	/* ICMP has no ports */
	ether(&i, 0x0800);
	ip4(&i, 1, 5, 0);
	icmp(&i);
	done(&i);
	ck_assert_int_eq(match("port=0-65535", 1, i.b, i.n), 0);
}
END_TEST

START_TEST(hosts_and_nets)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 2, 5);
	done(&f);
	static const char *const yes4[] = {
		"host=10.0.0.1", "host=10.0.0.2", "net=10.0.0.0/8", "net=10.0.0.0/30",
		"net=10.0.0.2/31", "net=10.0.0.1/32", "net=0.0.0.0/0", "net=10.0.0.0/24",
		"net=10.0.0.0_8",	/* the directory-name spelling */
	};
	static const char *const no4[] = {
		"host=10.0.0.3", "host=::ffff:10.0.0.1", "net=11.0.0.0/8", "net=10.0.0.4/30",
		"net=10.0.0.0/32", "net=::/0", "host=fd77::1",
	};
	for (size_t i = 0; i < sizeof yes4 / sizeof *yes4; i++)
		ck_assert_msg(match(yes4[i], 1, f.b, f.n), "%s", yes4[i]);
	for (size_t i = 0; i < sizeof no4 / sizeof *no4; i++)
		ck_assert_msg(!match(no4[i], 1, f.b, f.n), "%s", no4[i]);

	struct frame g = { 0 };
	ether(&g, 0x86dd);
	ip6(&g, 17);
	udp(&g, 1, 2);
	done(&g);
	static const char *const yes6[] = {
		"host=fd77::1", "host=fd77:0::2", "net=fd77::/16", "net=fd00::/8",
		"net=::/0", "net=fd77::/127", "net=fd77::2/128", "net=fd77::_16",
	};
	static const char *const no6[] = {
		"host=fd77::3", "host=10.0.0.1", "net=fd78::/16", "net=fc00::/8",
		"net=0.0.0.0/0", "net=fd77::/128",
	};
	for (size_t i = 0; i < sizeof yes6 / sizeof *yes6; i++)
		ck_assert_msg(match(yes6[i], 1, g.b, g.n), "%s", yes6[i]);
	for (size_t i = 0; i < sizeof no6 / sizeof *no6; i++)
		ck_assert_msg(!match(no6[i], 1, g.b, g.n), "%s", no6[i]);
}
END_TEST

START_TEST(argument_errors)
{
	static const char *const bad[] = {
		"port", "port=", "port=abc", "port=70000", "port=65536", "port=5-3",
		"port=80-", "port=-80", "port=80x", "port= 80", "port=+80",
		"port=1-70000", "port=80-90-100", "port=99999999999999999999",
		"host", "host=", "host=1.2.3", "host=fd77::1::2", "host=example.com",
		"host=10.0.0.1/32", "host=fe80::1%eth0",
		"net", "net=", "net=10.0.0.0", "net=10.0.0.0/", "net=/8",
		"net=10.0.0.0/33", "net=fd77::/129", "net=10.0.0.0/8x", "net=10.0.0.0/-1",
		"net=10.0.0.0/ 8", "net=10.0.0.1/8", "net=fd77::1/16", "net=10/8",
		"net=10.0.0.0/99999999999", "net=x.0.0.0/8",
		"ip=1", "ip=", "ip6=x", "arp=x", "vlan=100", "tcp=80", "udp=x",
		"icmp=x", "icmp6=x", "pass=x", "pass=",
	};
	char err[PFS_ERR_LEN];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(init_rc(bad[i], err, sizeof err) == -EINVAL,
			      "%s was accepted", bad[i]);

	ck_assert_int_eq(init_rc("net=10.0.0.1/8", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "non-network bits set"), "%s", err);
	ck_assert_int_eq(init_rc("port=5-3", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "port=N|N-M"), "%s", err);
	ck_assert_int_eq(init_rc("port=70000", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "0-65535"), "%s", err);
	ck_assert_int_eq(init_rc("tcp=80", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "no arguments"), "%s", err);
	/* a small error buffer is cut, not overrun */
	char tiny[8];
	ck_assert_int_eq(init_rc("net=10.0.0.1/8", tiny, sizeof tiny), -EINVAL);
	ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);

	static const char *const good[] = {
		"port=0", "port=65535", "port=0-65535", "port=7-7", "host=::1",
		"host=0.0.0.0", "net=0.0.0.0/0", "net=::/0", "net=10.0.0.0/08",
		"net=255.255.255.255/32", "net=::ffff:10.0.0.0/104", "ip", "pass",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(init_rc(good[i], err, sizeof err) == 0, "%s: %s", good[i], err);
}
END_TEST

START_TEST(registry)
{
	static const char *const names[] = { "ip", "ip6", "arp", "vlan", "tcp", "udp",
					     "icmp", "icmp6", "port", "host", "net",
					     "bpf", "payload", "text", "http", "method", "pass" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const struct pfs_filter *f = pfs_filter_find(names[i]);
		ck_assert_msg(f != NULL, "%s is missing", names[i]);
		ck_assert_str_eq(f->name, names[i]);
		/* init and fini are optional (no init: no arguments) */
		ck_assert(f->usage && f->summary && f->process);
		/* counters: named, distinct, at most PFS_MAX_COUNTERS, and the
		 * first words of the per-producer state */
		size_t nc = 0;
		for (; f->counters && f->counters[nc]; nc++) {
			ck_assert_msg(nc < PFS_MAX_COUNTERS, "%s: more than %d counters",
				      f->name, PFS_MAX_COUNTERS);
			ck_assert_msg(f->counters[nc][0], "%s: counter %zu has no name",
				      f->name, nc);
			for (size_t j = 0; j < nc; j++)
				ck_assert_str_ne(f->counters[j], f->counters[nc]);
		}
		ck_assert_msg(f->pstate_size >= nc * sizeof(uint64_t),
			      "%s: pstate_size %zu for %zu counters", f->name,
			      f->pstate_size, nc);
	}
	ck_assert_ptr_null(pfs_filter_find("bogus"));
	ck_assert_ptr_null(pfs_filter_find(""));
	ck_assert_ptr_null(pfs_filter_find(NULL));
	ck_assert_ptr_null(pfs_filter_find("TCP"));
	size_t n = 0;
	for (; pfs_filters[n]; n++)
		for (size_t j = 0; j < n; j++)
			ck_assert_str_ne(pfs_filters[j]->name, pfs_filters[n]->name);
	ck_assert_uint_eq(n, sizeof names / sizeof *names);
}
END_TEST

START_TEST(only_frames_are_classified)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 80, 5);
	done(&f);
	static const uint8_t kinds[] = { PFS_KIND_STREAM, PFS_KIND_HTTP, PFS_KIND_TEXT, 0, 99 };
	for (size_t k = 0; k < sizeof kinds; k++) {
		struct pfs_desc d = { .len = f.n, .link_type = 1, .kind = kinds[k] };
		for (size_t i = 0; i < NPROTOS; i++)
			ck_assert_int_eq(run(protos[i], &d, f.b), 0);
		ck_assert_int_eq(run("port=80", &d, f.b), 0);
		ck_assert_int_eq(run("host=10.0.0.1", &d, f.b), 0);
		ck_assert_int_eq(run("pass", &d, f.b), 1);
	}
}
END_TEST

/* A narrowed frame (e.g. below `payload`) is classified by its headers,
 * head_room bytes before its data, and handed on still narrowed. */
START_TEST(narrowed_frames)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 80, 5);
	fill(&f, 'p', 9);
	done(&f);
	struct pfs_pkt p = parse(1, &f);
	struct pfs_desc d = { .len = p.payload_len, .link_type = 1, .kind = PFS_KIND_FRAME,
			      .head_room = (uint16_t)p.payload_off };
	ck_assert_int_eq(run("tcp", &d, f.b + p.payload_off), 1);
	ck_assert_int_eq(run("port=80", &d, f.b + p.payload_off), 1);
	ck_assert_int_eq(run("udp", &d, f.b + p.payload_off), 0);
}
END_TEST

START_TEST(stats_count)
{
	struct frame f = { 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 5, 0);
	tcp(&f, 1, 80, 5);
	done(&f);
	struct inst in;
	struct rec r = { .out = { rec_emit, rec_alloc } };
	inst_must_open(&in, "port=80");
	struct pfs_desc d = { .len = f.n, .link_type = 1, .kind = PFS_KIND_FRAME };
	for (int i = 0; i < 3; i++)
		inst_process(&in, &d, f.b, &r.out);
	d.len = 20;
	inst_process(&in, &d, f.b, &r.out);
	ck_assert_int_eq(r.n, 3);
	/* exactly these counters, in this order, as the state's first words */
	ck_assert_ptr_nonnull(in.f->counters);
	ck_assert_str_eq(in.f->counters[0], "matched");
	ck_assert_str_eq(in.f->counters[1], "not_matched");
	ck_assert_ptr_null(in.f->counters[2]);
	ck_assert_uint_eq(inst_counter(&in, "matched"), 3);
	ck_assert_uint_eq(inst_counter(&in, "not_matched"), 1);
	ck_assert_uint_eq(((const uint64_t *)in.pstate)[0], 3);
	ck_assert_uint_eq(((const uint64_t *)in.pstate)[1], 1);
	/* and nothing more about the configuration */
	char *conf = inst_conf_stats(&in);
	ck_assert_str_eq(conf, "");
	free(conf);
	/* another producer at the same stage counts for itself, from zero */
	struct inst other;
	inst_producer(&in, &other);
	ck_assert_uint_eq(inst_counter(&other, "matched"), 0);
	inst_process(&other, &d, f.b, &r.out);
	ck_assert_uint_eq(inst_counter(&other, "not_matched"), 1);
	ck_assert_uint_eq(inst_counter(&in, "not_matched"), 1);
	inst_close(&other);
	inst_close(&in);
}
END_TEST

/* Random bytes and mutated frames through every filter, at every link
 * type: no crash, no read past the end (the sanitizers watch). */
START_TEST(fuzz)
{
	static const uint16_t lts[] = { 0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105 };
	static const char *const specs[] = { "ip", "ip6", "arp", "vlan", "tcp", "udp",
					     "icmp", "icmp6", "port=80", "port=1-1024",
					     "host=10.0.0.2", "host=fd77::2", "net=10.0.0.0/8",
					     "net=fd77::/16", "pass" };
	struct inst in[sizeof specs / sizeof *specs];
	struct rec r = { .out = { rec_emit, rec_alloc } };
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
		inst_must_open(&in[i], specs[i]);
	struct frame base = { 0 };	/* a frame full of headers to mutate */
	ether(&base, 0x8100);
	tag(&base, 1, 0x86dd);
	ip6(&base, 0);
	ext6(&base, 44, 0);
	frag6(&base, 51, 0, 0);
	ah(&base, 6, 1);
	tcp(&base, 1, 80, 6);
	done(&base);

	uint64_t seed = 0x9e3779b97f4a7c15u;
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t buf[128];
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		uint32_t len = (uint32_t)(seed >> 33) % (sizeof buf + 1);
		if (iter & 1) {
			for (uint32_t i = 0; i < sizeof buf; i++)
				buf[i] = (uint8_t)((seed = seed * 6364136223846793005u + 1) >> 56);
		} else {
			memcpy(buf, base.b, sizeof buf);
			for (int m = 0; m < 3; m++) {
				seed = seed * 6364136223846793005u + 1;
				buf[(seed >> 40) % sizeof buf] = (uint8_t)(seed >> 24);
			}
		}
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		struct pfs_desc d = { .len = len, .kind = PFS_KIND_FRAME,
				      .link_type = lts[iter % (sizeof lts / sizeof *lts)] };
		for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
			inst_process(&in[i], &d, copy, &r.out);
		free(copy);
	}
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
		inst_close(&in[i]);
}
END_TEST

static Suite *filters_suite(void)
{
	Suite *s = suite_create("filters");
	TCase *pkt = tcase_create("dissector");
	tcase_add_test(pkt, ipv4_tcp_cut_at_every_length);
	tcase_add_test(pkt, ipv6_udp_and_icmp_cut_at_every_length);
	tcase_add_test(pkt, bad_ihl);
	tcase_add_test(pkt, tcp_data_offset);
	tcase_add_test(pkt, udp_length);
	tcase_add_test(pkt, zero_length_payloads_and_padding);
	tcase_add_test(pkt, ipv4_fragments);
	tcase_add_test(pkt, ipv4_ah);
	tcase_add_test(pkt, ipv6_extension_chains);
	tcase_add_test(pkt, vlan_stacks);
	tcase_add_test(pkt, link_types);
	tcase_add_test(pkt, fuzz);
	suite_add_tcase(s, pkt);

	TCase *cls = tcase_create("classifiers");
	tcase_add_test(cls, ports);
	tcase_add_test(cls, hosts_and_nets);
	tcase_add_test(cls, argument_errors);
	tcase_add_test(cls, registry);
	tcase_add_test(cls, only_frames_are_classified);
	tcase_add_test(cls, narrowed_frames);
	tcase_add_test(cls, stats_count);
	suite_add_tcase(s, cls);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(filters_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
