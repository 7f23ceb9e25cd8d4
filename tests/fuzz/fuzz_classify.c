/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: the frame dissector (filters/pkt.c) and every filter
 * that looks at one frame on its own: the classifiers `ip`, `ip6`, `arp`,
 * `vlan`, `tcp`, `udp`, `icmp`, `icmp6`, `port=`, `host=`, `net=`
 * (filters/classify.c and one file each), `payload` and `text`, run
 * standalone as the graph runs a stage, on one frame.
 *
 * Input: a header of 25 bytes, then the frame's bytes.
 *   byte 0      bits 0-3: the link type, [x % 11] of Ethernet, raw IP
 *               (101, 12, 14), Linux cooked (SLL), SLL2, null, loopback,
 *               IPv4, IPv6, and 147 (one the dissector does not know);
 *               bit 4: cut short by the capture (wire_len larger);
 *               bit 5: host=, net= and port= take the frame's own
 *               addresses and ports (where it has them), else bytes 1-21;
 *               bit 6: host= and net= take IPv6 addresses;
 *               bit 7: the other end (destination address and port);
 *   byte 1      net='s prefix length (mod 33 or 129)
 *   bytes 2-5   port=LO-HI (two big-endian ports, in order; port=N if
 *               the same)
 *   bytes 6-21  the address of host= and net= (the first 4 for IPv4)
 *   bytes 22-23 where the record is split into head room and data, as a
 *               narrowed record is (mod the frame's length + 1)
 *   byte 24     bit 0: net= written ADDR_LEN (as in a directory name)
 *               rather than ADDR/LEN
 *
 * Invariants, besides no crash, leak or read beyond the frame:
 *  - the dissector: its offsets lie within the frame and in order, its
 *    flags agree with each other and with the ethertype, addresses and
 *    ports are the bytes at their place in the headers;
 *  - a classifier hands on at most one record, the one it was given
 *    (descriptor and data pointer), never asks for room and never changes
 *    a byte; its counters count each record once; it decides alike on the
 *    whole frame, on the frame split into head room and data at any point,
 *    and on what `payload` narrowed it to;
 *  - port=, host=, net= parse what is well-formed, and pass exactly the
 *    frames whose dissected ports or addresses fit (prefixes compared bit
 *    by bit here);
 *  - ip, ip6, tcp, udp, arp, icmp and icmp6 agree with libpcap running
 *    the expression tests/unit/pcapref.h gives for each (their documented
 *    semantics: complete headers, extension headers walked, VLAN tags
 *    looked through), compiled with pcap_compile for the same link type;
 *    with AH or two or more IPv6 extension headers, ours passes only what
 *    libpcap's `protochain` passes too; vlan agrees with a VLAN type
 *    followed by a whole tag at the link layer's type field;
 *  - payload hands on at most one record, in place, lying within the
 *    frame's IP packet (a TCP or UDP packet's payload exactly), never
 *    empty; narrowing it again changes nothing; split or whole alike;
 *  - text makes exactly one line, in the room it asked for, preceded by
 *    the frame's flow: at most 512 printable bytes and '\n', the same for
 *    the frame whole, split and narrowed, naming the protocol the
 *    classifiers found and the wire length.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "filters/payload.h"
#include "filters/pkt.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/pcapref.h"

#define HEADER 25

/* Link types: ours, the DLT libpcap compiles for (none: -1), the bytes of
 * the link header before the ethertype's place ends (the network layer,
 * or VLAN tags, start there), where the ethertype lies (-1: none). */
static const struct link {
	uint16_t lt;
	int dlt;
	uint32_t hdr;
	int type_at;
} links[] = {
	{ PFS_LT_ETHERNET, 1, 14, 12 },	{ PFS_LT_RAW, 12, 0, -1 },
	{ 12, 12, 0, -1 },		{ 14, 12, 0, -1 },
	{ PFS_LT_SLL, 113, 16, 14 },	{ PFS_LT_SLL2, 276, 20, 0 },
	{ PFS_LT_NULL, 0, 4, -1 },	{ PFS_LT_LOOP, 108, 4, -1 },
	{ PFS_LT_IPV4, 228, 0, -1 },	{ PFS_LT_IPV6, 229, 0, -1 },
	{ 147, -1, 0, -1 },
};
enum { NLINKS = sizeof links / sizeof *links };

/* ---- the filters ---- */

enum {
	C_IP, C_IP6, C_ARP, C_VLAN, C_TCP, C_UDP, C_ICMP, C_ICMP6,	/* no arguments */
	C_PORT, C_HOST, C_NET,					/* per input */
	NCLS,
};
static const char *const plain_specs[] = {
	"ip", "ip6", "arp", "vlan", "tcp", "udp", "icmp", "icmp6",
};
/* pcapref_checks' index of each classifier (-1: none) */
static const int ref_of[NCLS] = {
	[C_IP] = 0, [C_IP6] = 1, [C_TCP] = 2, [C_UDP] = 3, [C_ARP] = 4, [C_ICMP] = 5,
	[C_ICMP6] = 6, [C_VLAN] = -1, [C_PORT] = -1, [C_HOST] = -1, [C_NET] = -1,
};

/* A pfs_out that also notes where the last record handed on lay. */
struct out {
	struct fz_out fz;	/* first: the callbacks get a pointer to it */
	const uint8_t *data;	/* of the last record handed on */
	const uint8_t *copy;	/* the record processed (its frame) */
};

static void out_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	((struct out *)o)->data = data;
	fz_out_emit(o, d, data);
}

static void out_init(struct out *o)
{
	fz_out_init(&o->fz);
	o->fz.out.emit = out_emit;
}

/* What one run handed on: its first record, as offsets into the frame. */
struct got {
	size_t n;
	struct pfs_desc d;
	uint32_t at;		/* the data's offset from the frame's start */
	uint8_t *bytes;		/* alloc'd records: head room and bytes */
};

/*
 * Record d through instance in: the frame's bytes [0, head_room + len)
 * copied from `frame` exactly (as fz_run does), kept to see that the
 * filter changed none; what it handed on into *g.  `makes`: it may ask
 * for room (text), else it must hand on in place.
 */
static void run(const struct fz_inst *in, const struct pfs_desc *d, const uint8_t *frame,
		bool makes, struct got *g)
{
	size_t total = (size_t)d->head_room + d->len;
	uint8_t *copy = fz_copy(frame, total);
	struct out o;
	uint64_t counted = 0;

	for (size_t i = 0; in->f->counters && in->f->counters[i]; i++)
		counted += ((const uint64_t *)in->pstate)[i];
	out_init(&o);
	o.fz.in_lo = copy;
	o.fz.in_hi = copy + total;
	in->f->process(in->conf, in->pstate, d, copy + d->head_room, &o.fz.out);
	FZ_CHECK(!memcmp(copy, frame, total), "%s changed the bytes of its record", in->f->name);
	FZ_CHECK(o.fz.n <= 1, "%s handed on %zu records for one", in->f->name, o.fz.n);
	FZ_CHECK(makes || o.fz.allocs == 0, "%s asked for room", in->f->name);
	/* every record is counted once (text counts the lines it made) */
	uint64_t now = 0;
	for (size_t i = 0; in->f->counters && in->f->counters[i]; i++)
		now += ((const uint64_t *)in->pstate)[i];
	FZ_CHECK(now - counted == (makes ? o.fz.n : 1), "%s counted %llu for one record",
		 in->f->name, (unsigned long long)(now - counted));
	memset(g, 0, sizeof *g);
	g->n = o.fz.n;
	if (g->n) {
		const struct fz_rec *r = &o.fz.recs[0];
		g->d = r->d;
		FZ_CHECK(r->in_place != makes, "%s: a record %s", in->f->name,
			 makes ? "in place" : "in room it asked for");
		if (r->in_place)
			g->at = (uint32_t)(o.data - copy);
		else
			g->bytes = fz_copy(r->bytes, (size_t)r->d.head_room + r->d.len);
	}
	fz_out_fini(&o.fz);
	free(copy);
}

/* A classifier's verdict on d: 0 or 1, the record handed on unchanged. */
static int classify(const struct fz_inst *in, const struct pfs_desc *d, const uint8_t *frame)
{
	struct got g;

	run(in, d, frame, false, &g);
	if (g.n) {
		FZ_CHECK(!memcmp(&g.d, d, sizeof *d), "%s changed the descriptor", in->f->name);
		FZ_CHECK(g.at == d->head_room, "%s handed on other bytes (at %u, not %u)",
			 in->f->name, g.at, d->head_room);
	}
	return (int)g.n;
}

/* ---- the dissector ---- */

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void check_pkt(const struct pfs_pkt *p, int rc, const struct link *l, const uint8_t *b,
		      uint32_t len)
{
	static const struct pfs_pkt zero;

	if (rc) {
		FZ_CHECK(rc == -1 && !memcmp(p, &zero, sizeof *p), "rc %d, flags %#x", rc,
			 p->flags);
		FZ_CHECK(l->dlt < 0 || len < l->hdr, "link type %u, %u bytes refused", l->lt,
			 len);
		return;
	}
	FZ_CHECK(l->dlt >= 0 && len >= l->hdr, "link type %u, %u bytes dissected", l->lt, len);
	FZ_CHECK(p->l3_off <= p->l3_end && p->l3_end <= len, "l3 %u-%u of %u", p->l3_off,
		 p->l3_end, len);
	FZ_CHECK(p->vlans == 255 || p->l3_off == l->hdr + 4u * p->vlans,
		 "l3 at %u after %u tags", p->l3_off, p->vlans);
	FZ_CHECK(!p->vlans || l->type_at >= 0, "tags on link type %u", l->lt);
	uint8_t kinds = p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6 | PFS_PKT_ARP);
	FZ_CHECK(!(kinds & (kinds - 1)), "flags %#x", p->flags);
	FZ_CHECK(p->addr_len == 0 || p->addr_len == 4 || p->addr_len == 16, "addr_len %u",
		 p->addr_len);
	const uint8_t *h = b + p->l3_off;
	if (p->flags & PFS_PKT_IP4) {
		uint32_t hl = (h[0] & 15) * 4u;
		FZ_CHECK(p->net_proto == PFS_ETH_IP4 && h[0] >> 4 == 4 && hl >= 20 &&
				 p->l3_off + hl <= p->l3_end,
			 "IPv4: type %#x, version %u, header %u, l3 %u-%u", p->net_proto,
			 h[0] >> 4, hl, p->l3_off, p->l3_end);
		FZ_CHECK(p->addr_len == 4 && !memcmp(p->src, h + 12, 4) &&
				 !memcmp(p->dst, h + 16, 4),
			 "IPv4 addresses");
	} else if (p->flags & PFS_PKT_IP6) {
		FZ_CHECK(p->net_proto == PFS_ETH_IP6 && h[0] >> 4 == 6 &&
				 p->l3_off + 40 <= p->l3_end,
			 "IPv6: type %#x, version %u, l3 %u-%u", p->net_proto, h[0] >> 4,
			 p->l3_off, p->l3_end);
		FZ_CHECK(p->addr_len == 16 && !memcmp(p->src, h + 8, 16) &&
				 !memcmp(p->dst, h + 24, 16),
			 "IPv6 addresses");
	} else if (p->flags & PFS_PKT_ARP) {
		uint32_t hln = h[4], pln = h[5];
		FZ_CHECK(p->net_proto == PFS_ETH_ARP && p->l3_end == p->l3_off + 8 + 2 * (hln + pln),
			 "ARP: type %#x, l3 %u-%u", p->net_proto, p->l3_off, p->l3_end);
		if (rd16(h + 2) == PFS_ETH_IP4 && pln == 4)
			FZ_CHECK(p->addr_len == 4 && !memcmp(p->src, h + 8 + hln, 4) &&
					 !memcmp(p->dst, h + 8 + 2 * hln + 4, 4),
				 "ARP addresses");
		else
			FZ_CHECK(p->addr_len == 0, "ARP of protocol %#x, %u bytes: addresses",
				 rd16(h + 2), pln);
	} else {
		FZ_CHECK(p->addr_len == 0 && !(p->flags & (PFS_PKT_L4 | PFS_PKT_FRAG)),
			 "flags %#x without a network header", p->flags);
		FZ_CHECK(p->net_proto == 0 || p->net_proto >= 0x600, "ethertype %#x",
			 p->net_proto);
	}
	if (p->flags & PFS_PKT_L4) {
		FZ_CHECK(p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6), "transport without IP");
		FZ_CHECK(!(p->flags & PFS_PKT_FRAG), "transport in a later fragment");
		FZ_CHECK(p->l4_off >= p->l3_off + (p->flags & PFS_PKT_IP4 ? 20 : 40) &&
				 p->payload_off >= p->l4_off + 8 &&
				 p->payload_off <= p->l3_end &&
				 p->payload_len <= p->l3_end - p->payload_off,
			 "l3 %u-%u, l4 %u, payload %u+%u", p->l3_off, p->l3_end, p->l4_off,
			 p->payload_off, p->payload_len);
		const uint8_t *t = b + p->l4_off;
		switch (p->proto) {
		case IPPROTO_TCP:
			FZ_CHECK(p->payload_off == p->l4_off + (t[12] >> 4) * 4u &&
					 p->payload_off + p->payload_len == p->l3_end,
				 "TCP payload %u+%u", p->payload_off, p->payload_len);
			break;
		case IPPROTO_UDP:
			FZ_CHECK(p->payload_off == p->l4_off + 8, "UDP payload at %u",
				 p->payload_off);
			break;
		case IPPROTO_ICMP:
			FZ_CHECK(p->flags & PFS_PKT_IP4, "ICMP over IPv6");
			break;
		case IPPROTO_ICMPV6:
			FZ_CHECK(p->flags & PFS_PKT_IP6, "ICMPv6 over IPv4");
			break;
		default:
			FZ_CHECK(0, "transport %u", p->proto);
		}
		if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
			FZ_CHECK(p->sport == rd16(t) && p->dport == rd16(t + 2), "ports");
		else
			FZ_CHECK(!p->sport && !p->dport, "ports without TCP or UDP");
	} else {
		FZ_CHECK(!p->sport && !p->dport && !p->payload_off && !p->payload_len,
			 "ports or payload without a transport");
	}
}

/* ---- libpcap ---- */

/* Per link type, every program compiled the first time it is needed. */
static struct ref {
	struct pcapref p;
	struct pcapref_prog vlan_ok;
	bool probed;
} refs[NLINKS];

/* A VLAN type at the link layer's type field, and a whole tag after it. */
static const char *vlan_ok(const struct link *l)
{
	static char text[256];
	int t = l->type_at;
	if (t < 0)
		return NULL;
	snprintf(text, sizeof text, "(link[%d:2] = 0x8100 or link[%d:2] = 0x88a8 or "
		 "link[%d:2] = 0x9100) and link[%u] & 0 = 0", t, t, t, l->hdr + 3);
	return text;
}

/* Our verdicts against libpcap's. */
static void against_libpcap(size_t li, const uint8_t *frame, uint32_t len, uint32_t wire,
			    const int *we)
{
	const struct link *l = &links[li];
	struct ref *r = &refs[li];

	if (l->dlt < 0)
		return;
	if (!r->p.pc) {
		r->p.pc = pcap_open_dead(l->dlt, 262144);
		FZ_CHECK(r->p.pc != NULL, "pcap_open_dead");
	}
	if ((l->lt == PFS_LT_NULL || l->lt == PFS_LT_LOOP) && !r->probed) {
		FZ_CHECK(pcapref_af_probe(&r->p) == 0, "libpcap takes no AF header for ip or ip6");
		r->probed = true;
	}
	uint8_t *b = fz_copy(frame, len);
	struct pcap_pkthdr h = { .caplen = len, .len = wire };
	if (l->lt == PFS_LT_NULL || l->lt == PFS_LT_LOOP)
		pcapref_af_rewrite(&r->p, b, len);

	const char *vx = vlan_ok(l);
	int want = vx ? pcapref_eval(&r->p, &r->vlan_ok, 0, vx, &h, b) : 0;
	FZ_CHECK(want >= 0, "libpcap cannot compile %s", vx);
	FZ_CHECK(we[C_VLAN] == want, "link type %u: vlan %d, libpcap %d", l->lt, we[C_VLAN],
		 want);

	int tags = pcapref_vlan_tags(&r->p, &h, b);
	for (int c = 0; tags >= 0 && c < NCLS; c++) {
		int i = ref_of[c];
		if (i < 0)
			continue;
		bool skip;
		want = pcapref_want(&r->p, tags, i, &h, b, &skip);
		FZ_CHECK(want >= 0, "libpcap cannot compile the %s check for link type %u",
			 pcapref_checks[i].name, l->lt);
		FZ_CHECK(skip ? we[c] <= want : we[c] == want,
			 "link type %u, %d VLAN tags: %s %d, libpcap's %s %d", l->lt, tags,
			 pcapref_checks[i].name, we[c], skip ? "protochain" : "reference", want);
	}
	free(b);
}

/* ---- port=, host=, net= ---- */

struct args {
	uint16_t lo, hi;
	uint8_t alen;			/* 4 or 16 */
	uint8_t addr[16];
	unsigned prefix;
	bool underscore;
	char port[32], host[64], net[64];
};

static void make_args(struct args *a, uint8_t opt, const uint8_t *h, const struct pfs_pkt *p)
{
	bool from_frame = opt & 0x20, v6 = opt & 0x40, dst = opt & 0x80;
	char text[INET6_ADDRSTRLEN];

	a->lo = rd16(h + 2);
	a->hi = rd16(h + 4);
	a->alen = v6 ? 16 : 4;
	memcpy(a->addr, h + 6, 16);
	a->underscore = h[24] & 1;
	if (from_frame && (pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP)))
		a->lo = a->hi = dst ? p->dport : p->sport;
	if (from_frame && p->addr_len) {
		a->alen = p->addr_len;
		memcpy(a->addr, dst ? p->dst : p->src, p->addr_len);
	}
	if (a->lo > a->hi) {
		uint16_t t = a->lo;
		a->lo = a->hi;
		a->hi = t;
	}
	a->prefix = h[1] % (8u * a->alen + 1);
	if (a->lo == a->hi)
		snprintf(a->port, sizeof a->port, "port=%u", a->lo);
	else
		snprintf(a->port, sizeof a->port, "port=%u-%u", a->lo, a->hi);
	inet_ntop(a->alen == 4 ? AF_INET : AF_INET6, a->addr, text, sizeof text);
	snprintf(a->host, sizeof a->host, "host=%s", text);
	uint8_t net[16];
	for (unsigned i = 0; i < a->alen; i++) {	/* host bits 0, as net= wants */
		unsigned bits = a->prefix > 8 * i ? a->prefix - 8 * i : 0;
		net[i] = bits >= 8 ? a->addr[i] : a->addr[i] & (uint8_t)(0xff00 >> bits);
	}
	inet_ntop(a->alen == 4 ? AF_INET : AF_INET6, net, text, sizeof text);
	snprintf(a->net, sizeof a->net, "net=%s%c%u", text, a->underscore ? '_' : '/', a->prefix);
}

/* Do the first `bits` bits of x and y agree? */
static bool same_prefix(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++)
		if ((x[i / 8] ^ y[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void check_args(const struct args *a, const struct pfs_pkt *p, const int *we)
{
	bool ports = pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP);
	int port = ports && ((p->sport >= a->lo && p->sport <= a->hi) ||
			     (p->dport >= a->lo && p->dport <= a->hi));
	int host = p->addr_len == a->alen && (!memcmp(p->src, a->addr, a->alen) ||
					      !memcmp(p->dst, a->addr, a->alen));
	int net = p->addr_len == a->alen && (same_prefix(p->src, a->addr, a->prefix) ||
					     same_prefix(p->dst, a->addr, a->prefix));

	FZ_CHECK(we[C_PORT] == port, "%s: %d, ports %u > %u: %d", a->port, we[C_PORT], p->sport,
		 p->dport, port);
	FZ_CHECK(we[C_HOST] == host, "%s: %d, expected %d", a->host, we[C_HOST], host);
	FZ_CHECK(we[C_NET] == net, "%s: %d, expected %d", a->net, we[C_NET], net);
}

/* ---- payload and text ---- */

/* payload's record for d: 0 or 1, checked; its descriptor in *n. */
static int narrow(const struct fz_inst *in, const struct pfs_desc *d, const uint8_t *frame,
		  const struct pfs_pkt *p, bool parsed, struct pfs_desc *n)
{
	struct got g;

	run(in, d, frame, false, &g);
	if (!g.n)
		return 0;
	*n = g.d;
	FZ_CHECK(parsed && (p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6)), "payload of no IP packet");
	FZ_CHECK(g.at == n->head_room, "payload's record at %u, head room %u", g.at,
		 n->head_room);
	FZ_CHECK(n->len > 0 && (size_t)n->head_room + n->len <= (size_t)d->head_room + d->len,
		 "payload %u+%u of a frame of %u", n->head_room, n->len, d->head_room + d->len);
	FZ_CHECK(n->head_room >= p->l3_off + (p->flags & PFS_PKT_IP4 ? 20 : 40) &&
			 n->head_room + n->len <= p->l3_end,
		 "payload %u+%u outside the IP packet %u-%u", n->head_room, n->len, p->l3_off,
		 p->l3_end);
	if (pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP))
		FZ_CHECK(n->head_room == p->payload_off && n->len == p->payload_len,
			 "payload %u+%u, the transport's %u+%u", n->head_room, n->len,
			 p->payload_off, p->payload_len);
	struct pfs_desc want = *d;
	want.head_room = n->head_room;
	want.len = n->len;
	want.pos = d->pos - d->head_room + n->head_room;
	FZ_CHECK(!memcmp(n, &want, sizeof want), "payload changed more than head room, length "
		 "and position");
	return 1;
}

/* text's line for d, checked; returns it (malloc'd: flow header, line). */
static uint8_t *line_of(const struct fz_inst *in, const struct pfs_desc *d, const uint8_t *frame,
			uint32_t *len)
{
	struct got g;

	run(in, d, frame, true, &g);
	FZ_CHECK(g.n == 1, "text made %zu lines", g.n);
	FZ_CHECK(g.d.kind == PFS_KIND_TEXT && g.d.head_room == sizeof(struct pfs_flow_meta) &&
			 g.d.len > 0 && g.d.len <= 512 && g.d.len == g.d.wire_len,
		 "text: kind %u, head room %u, %u bytes", g.d.kind, g.d.head_room, g.d.len);
	const uint8_t *l = g.bytes + g.d.head_room;
	FZ_CHECK(l[g.d.len - 1] == '\n', "a line without its end");
	for (uint32_t i = 0; i + 1 < g.d.len; i++)
		FZ_CHECK(l[i] >= 0x20 && l[i] < 0x7f, "text byte %u is %#x", i, l[i]);
	*len = g.d.head_room + g.d.len;
	return g.bytes;
}

static void check_line(const uint8_t *rec, uint32_t len, const struct pfs_desc *d,
		       const struct pfs_pkt *p, bool parsed, const int *we)
{
	struct pfs_flow_meta m, want = { 0 };
	char line[600], ts[64], proto[32], tail[64];

	memcpy(&m, rec, sizeof m);
	if (parsed)
		pfs_pkt_flow(p, &want);
	FZ_CHECK(!memcmp(&m, &want, sizeof m), "text's flow is not the frame's");
	memcpy(line, rec + sizeof m, len - sizeof m);
	line[len - sizeof m] = 0;
	snprintf(ts, sizeof ts, "%llu.%06llu ", (unsigned long long)(d->ts_ns / 1000000000u),
		 (unsigned long long)(d->ts_ns % 1000000000u / 1000u));
	FZ_CHECK(!strncmp(line, ts, strlen(ts)), "line `%s` does not start with %s", line, ts);
	FZ_CHECK(sscanf(line + strlen(ts), "%31s", proto) == 1, "no protocol in `%s`", line);
	const char *l4 = we[C_TCP] ? "tcp" : we[C_UDP] ? "udp" : we[C_ICMP] ? "icmp"
			 : we[C_ICMP6] ? "icmp6" : NULL;
	const char *want_proto = l4 ? l4 : we[C_IP] ? "ip" : we[C_IP6] ? "ip6"
				 : we[C_ARP] ? "arp" : NULL;
	if (want_proto)
		FZ_CHECK(!strcmp(proto, want_proto), "line `%s`: %s, the classifiers found %s",
			 line, proto, want_proto);
	else
		FZ_CHECK(!strcmp(proto, "?") || (proto[0] == '0' && proto[1] == 'x'),
			 "line `%s`: %s, no classifier matched", line, proto);
	snprintf(tail, sizeof tail, " len %u \"", d->wire_len);
	FZ_CHECK(strstr(line, tail), "line `%s` without `%s`", line, tail);
}

/* ---- the input ---- */

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct fz_inst plain[C_NET + 1], payload, text;
	uint8_t h[HEADER] = { 0 };

	if (!payload.f) {	/* once: the state lives on (counters checked by delta) */
		for (int c = 0; c <= C_ICMP6; c++)
			fz_inst_open(&plain[c], plain_specs[c]);
		fz_inst_open(&payload, "payload");
		fz_inst_open(&text, "text");
	}
	memcpy(h, in, size < HEADER ? size : HEADER);
	const uint8_t *frame = size > HEADER ? in + HEADER : in;
	uint32_t len = size > HEADER ? (uint32_t)(size - HEADER) : 0;
	size_t li = (h[0] & 15) % NLINKS;
	const struct link *l = &links[li];
	uint32_t split = rd16(h + 22) % (len + 1);
	struct pfs_desc d = {
		.seq = 7, .pos = 1u << 20, .ts_ns = 1700000000123456789ull, .len = len,
		.wire_len = len + (h[0] & 0x10 ? 1 + h[1] : 0), .flow_hash = 0xabcdef01,
		.link_type = l->lt, .kind = PFS_KIND_FRAME,
	};
	struct pfs_desc split_d = d;
	split_d.head_room = (uint16_t)(split <= UINT16_MAX ? split : 0);
	split_d.len = len - split_d.head_room;
	split_d.pos = d.pos + split_d.head_room;

	struct pfs_pkt p;
	uint8_t *copy = fz_copy(frame, len);
	int rc = pfs_pkt_parse(&p, l->lt, copy, len);
	FZ_CHECK(!memcmp(copy, frame, len), "the dissector changed the frame");
	free(copy);
	check_pkt(&p, rc, l, frame, len);

	struct args a;
	make_args(&a, h[0], h, &p);
	fz_inst_open(&plain[C_PORT], a.port);
	fz_inst_open(&plain[C_HOST], a.host);
	fz_inst_open(&plain[C_NET], a.net);

	int we[NCLS];
	for (int c = 0; c < NCLS; c++) {
		we[c] = classify(&plain[c], &d, frame);
		FZ_CHECK(classify(&plain[c], &split_d, frame) == we[c],
			 "%s decides otherwise on a record split at %u", plain[c].f->name, split);
	}
	check_args(&a, &p, we);
	FZ_CHECK(we[C_IP] == !!(p.flags & PFS_PKT_IP4) && we[C_IP6] == !!(p.flags & PFS_PKT_IP6) &&
			 we[C_ARP] == !!(p.flags & PFS_PKT_ARP) && we[C_VLAN] == (p.vlans > 0) &&
			 we[C_TCP] == pfs_pkt_is(&p, IPPROTO_TCP) &&
			 we[C_UDP] == pfs_pkt_is(&p, IPPROTO_UDP) &&
			 we[C_ICMP] == pfs_pkt_is(&p, IPPROTO_ICMP) &&
			 we[C_ICMP6] == pfs_pkt_is(&p, IPPROTO_ICMPV6),
		 "a classifier disagrees with the dissection");
	against_libpcap(li, frame, len, d.wire_len, we);

	/* payload: whole and split alike; the classifiers and text decide
	 * alike on what it narrowed the frame to; narrowing again changes
	 * nothing */
	struct pfs_desc nd, nd2;
	int narrowed = narrow(&payload, &d, frame, &p, rc == 0, &nd);
	FZ_CHECK(narrow(&payload, &split_d, frame, &p, rc == 0, &nd2) == narrowed &&
			 (!narrowed || !memcmp(&nd, &nd2, sizeof nd)),
		 "payload narrows a record split at %u otherwise", split);
	if (narrowed) {
		FZ_CHECK(narrow(&payload, &nd, frame, &p, true, &nd2) == 1 &&
				 !memcmp(&nd, &nd2, sizeof nd),
			 "payload narrows its own record again");
		for (int c = 0; c < NCLS; c++)
			FZ_CHECK(classify(&plain[c], &nd, frame) == we[c],
				 "%s decides otherwise below payload", plain[c].f->name);
	}

	uint32_t n1, n2;
	uint8_t *l1 = line_of(&text, &d, frame, &n1), *l2 = line_of(&text, &split_d, frame, &n2);
	check_line(l1, n1, &d, &p, rc == 0, we);
	FZ_CHECK(n1 == n2 && !memcmp(l1, l2, n1), "text of a record split at %u differs", split);
	free(l2);
	if (narrowed) {
		l2 = line_of(&text, &nd, frame, &n2);
		FZ_CHECK(n1 == n2 && !memcmp(l1, l2, n1), "text below payload differs");
		free(l2);
	}
	free(l1);

	for (int c = C_PORT; c <= C_NET; c++)
		fz_inst_close(&plain[c]);
	return 0;
}
