/* SPDX-License-Identifier: BSD-3-Clause
 * The frame dissector every classifier shares: one pass over a frame's
 * captured bytes that finds the network and transport headers.  No
 * allocation, no system calls, never a byte read beyond `len`.
 *
 * A header counts only if it is complete and consistent: a packet "is"
 * IPv4 only if its whole header (IHL) is captured, TCP only if the whole
 * TCP header (data offset) is, and so on.  Later fragments carry no
 * transport header, whatever their protocol field says.
 */
#ifndef FILTERS_PKT_H
#define FILTERS_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "pipesfs_record.h"

/* Link types (LINKTYPE_* as in pcap files; DLT_RAW is 12, or 14 on
 * OpenBSD, and libpcap reports it so). */
#define PFS_LT_NULL	0
#define PFS_LT_ETHERNET	1
#define PFS_LT_RAW	101
#define PFS_LT_LOOP	108
#define PFS_LT_SLL	113
#define PFS_LT_IPV4	228
#define PFS_LT_IPV6	229
#define PFS_LT_SLL2	276

#define PFS_ETH_IP4	0x0800
#define PFS_ETH_ARP	0x0806
#define PFS_ETH_IP6	0x86dd

/* pfs_pkt.flags */
#define PFS_PKT_IP4	0x01	/* a complete, valid IPv4 header at l3_off */
#define PFS_PKT_IP6	0x02	/* a complete IPv6 header at l3_off */
#define PFS_PKT_ARP	0x04	/* a complete ARP packet at l3_off */
#define PFS_PKT_L4	0x08	/* a complete transport header (TCP, UDP,
				 * ICMP, ICMPv6) at l4_off; proto says which */
#define PFS_PKT_FRAG	0x10	/* IPv4 or IPv6 fragment with offset != 0 */

struct pfs_pkt {
	uint32_t l3_off;	/* network header */
	uint32_t l3_end;	/* end of the IP packet: its length field
				 * (Ethernet padding trimmed), at most len */
	uint32_t l4_off;	/* after IPv4 options / IPv6 extension headers */
	uint32_t payload_off;	/* transport payload (when PFS_PKT_L4) */
	uint32_t payload_len;
	uint16_t net_proto;	/* ethertype below any VLAN tags; 0 if none */
	uint16_t sport, dport;	/* TCP and UDP (when PFS_PKT_L4) */
	uint8_t vlans;		/* complete VLAN tags seen (saturates at 255) */
	uint8_t flags;		/* PFS_PKT_* */
	uint8_t proto;		/* IP protocol after the extension headers
				 * walked (valid with IP4/IP6) */
	uint8_t addr_len;	/* 4 or 16: src/dst hold addresses (IPv4,
				 * IPv6, or ARP for IPv4); 0: none */
	uint8_t src[16], dst[16];
};

/* Dissects a frame.  Always fills *p (zeroed first); returns 0 if the link
 * layer is known and complete, -1 otherwise (then nothing matches). */
int pfs_pkt_parse(struct pfs_pkt *p, uint16_t link_type, const uint8_t *data,
		  uint32_t len);

/* True if p carries a complete transport header of protocol `proto`. */
static inline int pfs_pkt_is(const struct pfs_pkt *p, uint8_t proto)
{
	return (p->flags & PFS_PKT_L4) && p->proto == proto;
}

/* The flow of dissected frame p: its addresses, and ports for TCP and UDP
 * (family 0 when it has no IP header).  *m is filled from zero. */
void pfs_pkt_flow(const struct pfs_pkt *p, struct pfs_flow_meta *m);

/* The flow record d (its bytes at data) was made from, into *m: from its
 * flow header (a text line, an HTTP request copied out of its segments)
 * or from the frame it lies in (a whole or narrowed frame, an HTTP
 * request flagged PFS_REC_IN_FRAME), whose headers are its head room.
 * False (family 0) when it names none: a written byte stream, say. */
bool pfs_record_flow(const struct pfs_desc *d, const uint8_t *data,
		     struct pfs_flow_meta *m);

#endif
