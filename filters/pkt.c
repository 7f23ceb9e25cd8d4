/* SPDX-License-Identifier: BSD-3-Clause
 * The frame dissector (see pkt.h).  Offsets are checked against the bytes
 * left before every read; all arithmetic is on uint32_t offsets that never
 * pass `len`, so no subtraction below can wrap.
 */
#include <string.h>

#include "filters/pkt.h"

enum {
	IPP_HOPOPTS = 0, IPP_ICMP = 1, IPP_TCP = 6, IPP_UDP = 17,
	IPP_ROUTING = 43, IPP_FRAGMENT = 44, IPP_AH = 51, IPP_ICMPV6 = 58,
	IPP_DSTOPTS = 60,
};

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline int is_vlan(uint16_t type)
{
	return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

/* NULL/LOOP: a 4-byte AF_ value in either byte order.  AF_INET is 2
 * everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD),
 * 30 (macOS). */
static uint16_t af_type(uint32_t af)
{
	if (af > 0xffff)
		af = __builtin_bswap32(af);
	switch (af) {
	case 2:
		return PFS_ETH_IP4;
	case 10: case 24: case 28: case 30:
		return PFS_ETH_IP6;
	}
	return 0;
}

/* Skips IPv6 extension headers (hop-by-hop, routing, fragment, destination
 * options) and AH (IPv4 too) from off, updating p->proto.  Stops at
 * anything else (ESP, no next header, a transport), at a header that is not
 * complete before end (p->proto then still names it, so no transport
 * matches), and after a fragment header with a non-zero offset. */
static uint32_t skip_ext(struct pfs_pkt *p, const uint8_t *b, uint32_t off, uint32_t end)
{
	while (!(p->flags & PFS_PKT_FRAG) && end - off >= 8) {
		uint8_t nh = p->proto;
		uint32_t hl;
		if (nh == IPP_AH)
			hl = (b[off + 1] + 2u) * 4;	/* 32-bit words, minus 2 */
		else if (!(p->flags & PFS_PKT_IP6))
			break;
		else if (nh == IPP_HOPOPTS || nh == IPP_ROUTING || nh == IPP_DSTOPTS)
			hl = (b[off + 1] + 1u) * 8;	/* 8-byte units, minus 1 */
		else if (nh == IPP_FRAGMENT)
			hl = 8;
		else
			break;
		if (hl > end - off || (nh == IPP_AH && hl < 12))
			break;
		if (nh == IPP_FRAGMENT && (rd16(b + off + 2) & 0xfff8))
			p->flags |= PFS_PKT_FRAG;
		p->proto = b[off];
		off += hl;
	}
	return off;
}

/* The transport header of protocol p->proto at off; the packet ends at end.
 * ip_len is the IP header's length field: when it is 0 (IPv6 jumbogram,
 * segmentation offload, BIG TCP) a UDP length of 0 means "up to end" too. */
static void transport(struct pfs_pkt *p, const uint8_t *b, uint32_t off, uint32_t end,
		      uint32_t ip_len)
{
	const uint8_t *h = b + off;
	uint32_t room = end - off, hl = 8, plen = room;

	p->l4_off = off;
	if ((p->flags & PFS_PKT_FRAG) || room < 8)
		return;
	switch (p->proto) {
	case IPP_TCP:
		if (room < 20)
			return;
		hl = (h[12] >> 4) * 4u;
		if (hl < 20 || hl > room)
			return;
		break;
	case IPP_UDP:
		plen = rd16(h + 4);
		if (plen == 0 && ip_len == 0)
			plen = room;		/* as long as the IP packet */
		if (plen < 8)
			return;
		if (plen > room)
			plen = room;		/* cut capture or bogus length */
		break;
	case IPP_ICMP:		/* type, code, checksum, 4 bytes every message has */
		if (!(p->flags & PFS_PKT_IP4))
			return;
		break;
	case IPP_ICMPV6:	/* likewise: every ICMPv6 message has >= 8 bytes */
		if (!(p->flags & PFS_PKT_IP6))
			return;
		break;
	default:
		return;
	}
	if (p->proto == IPP_TCP || p->proto == IPP_UDP) {
		p->sport = rd16(h);
		p->dport = rd16(h + 2);
	}
	p->flags |= PFS_PKT_L4;
	p->payload_off = off + hl;
	p->payload_len = plen - hl;
}

static void ip4(struct pfs_pkt *p, const uint8_t *b, uint32_t off, uint32_t len)
{
	const uint8_t *h = b + off;
	uint32_t hl, tot, ip_len;

	if (len - off < 20 || h[0] >> 4 != 4)
		return;
	hl = (h[0] & 15) * 4u;
	if (hl < 20 || hl > len - off)
		return;
	p->flags |= PFS_PKT_IP4;
	p->addr_len = 4;
	memcpy(p->src, h + 12, 4);
	memcpy(p->dst, h + 16, 4);
	p->proto = h[9];
	if (rd16(h + 6) & 0x1fff)
		p->flags |= PFS_PKT_FRAG;
	tot = ip_len = rd16(h + 2);
	if (tot == 0 || tot > len - off)
		tot = len - off;	/* 0: segmentation offload; cut capture */
	if (tot < hl) {			/* bogus: header only, no transport */
		p->l3_end = off + hl;
		return;
	}
	p->l3_end = off + tot;		/* trims Ethernet padding */
	transport(p, b, skip_ext(p, b, off + hl, p->l3_end), p->l3_end, ip_len);
}

static void ip6(struct pfs_pkt *p, const uint8_t *b, uint32_t off, uint32_t len)
{
	const uint8_t *h = b + off;
	uint32_t plen, ip_len;

	if (len - off < 40 || h[0] >> 4 != 6)
		return;
	p->flags |= PFS_PKT_IP6;
	p->addr_len = 16;
	memcpy(p->src, h + 8, 16);
	memcpy(p->dst, h + 24, 16);
	p->proto = h[6];
	plen = ip_len = rd16(h + 4);
	if (plen == 0 || plen > len - off - 40)
		plen = len - off - 40;	/* 0: jumbogram; cut capture */
	p->l3_end = off + 40 + plen;
	transport(p, b, skip_ext(p, b, off + 40, p->l3_end), p->l3_end, ip_len);
}

static void arp(struct pfs_pkt *p, const uint8_t *b, uint32_t off, uint32_t len)
{
	const uint8_t *h = b + off;
	uint32_t hln, pln;

	if (len - off < 8)
		return;
	hln = h[4];
	pln = h[5];
	if (8 + 2 * (hln + pln) > len - off)
		return;
	p->flags |= PFS_PKT_ARP;
	p->l3_end = off + 8 + 2 * (hln + pln);
	if (rd16(h + 2) == PFS_ETH_IP4 && pln == 4) {	/* sender, target */
		p->addr_len = 4;
		memcpy(p->src, h + 8 + hln, 4);
		memcpy(p->dst, h + 8 + 2 * hln + 4, 4);
	}
}

int pfs_pkt_parse(struct pfs_pkt *p, uint16_t link_type, const uint8_t *b, uint32_t len)
{
	uint32_t off;
	uint16_t type;

	memset(p, 0, sizeof *p);
	switch (link_type) {
	case PFS_LT_ETHERNET:
		off = 14;
		if (len < off)
			return -1;
		type = rd16(b + 12);
		break;
	case PFS_LT_SLL:
		off = 16;
		if (len < off)
			return -1;
		type = rd16(b + 14);
		break;
	case PFS_LT_SLL2:
		off = 20;
		if (len < off)
			return -1;
		type = rd16(b);
		break;
	case PFS_LT_NULL:
	case PFS_LT_LOOP:
		off = 4;
		if (len < off)
			return -1;
		type = af_type(rd32(b));
		break;
	case PFS_LT_RAW:
	case 12:		/* DLT_RAW */
	case 14:		/* DLT_RAW on OpenBSD */
		off = 0;
		type = len && b[0] >> 4 == 4 ? PFS_ETH_IP4
		     : len && b[0] >> 4 == 6 ? PFS_ETH_IP6 : 0;
		break;
	case PFS_LT_IPV4:
		off = 0;
		type = PFS_ETH_IP4;
		break;
	case PFS_LT_IPV6:
		off = 0;
		type = PFS_ETH_IP6;
		break;
	default:
		return -1;
	}
	while (is_vlan(type) && len - off >= 4) {
		type = rd16(b + off + 2);
		off += 4;
		if (p->vlans < 255)
			p->vlans++;
	}
	if (type < 0x0600 || is_vlan(type))
		type = 0;	/* 802.3 length, SLL pseudo-protocol, cut tag */
	p->net_proto = type;
	p->l3_off = off;
	p->l3_end = len;
	switch (type) {
	case PFS_ETH_IP4:
		ip4(p, b, off, len);
		break;
	case PFS_ETH_IP6:
		ip6(p, b, off, len);
		break;
	case PFS_ETH_ARP:
		arp(p, b, off, len);
		break;
	}
	return 0;
}

void pfs_pkt_flow(const struct pfs_pkt *p, struct pfs_flow_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (!(p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6)))
		return;
	m->family = p->flags & PFS_PKT_IP4 ? 4 : 6;
	memcpy(m->src, p->src, p->addr_len);
	memcpy(m->dst, p->dst, p->addr_len);
	if (pfs_pkt_is(p, IPP_TCP) || pfs_pkt_is(p, IPP_UDP)) {
		m->proto = p->proto;
		m->src_port = p->sport;
		m->dst_port = p->dport;
	}
}

/* Records that are no frames carry a flow header, unless they lie in one. */
static bool has_flow_header(const struct pfs_desc *d)
{
	return (d->kind == PFS_KIND_TEXT || d->kind == PFS_KIND_HTTP) &&
	       !(d->flags & PFS_REC_IN_FRAME);
}

bool pfs_record_flow(const struct pfs_desc *d, const uint8_t *data,
		     struct pfs_flow_meta *m)
{
	struct pfs_pkt p;
	memset(m, 0, sizeof(*m));
	if (has_flow_header(d)) {
		if (d->head_room >= sizeof(*m))
			memcpy(m, data - d->head_room, sizeof(*m));
	} else if ((d->kind == PFS_KIND_FRAME || d->flags & PFS_REC_IN_FRAME) &&
		   d->len <= UINT32_MAX - d->head_room &&
		   pfs_pkt_parse(&p, d->link_type, data - d->head_room,
				 d->head_room + d->len) == 0) {
		pfs_pkt_flow(&p, m);
	}
	return m->family == 4 || m->family == 6;
}
