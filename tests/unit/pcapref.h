/* SPDX-License-Identifier: BSD-3-Clause
 * The classifiers' semantics in libpcap's own language: for each of
 * `ip`, `ip6`, `tcp`, `udp`, `arp`, `icmp` and `icmp6`, a tcpdump
 * expression that matches exactly the frames the classifier passes on
 * (after `vlan and ` once per VLAN tag libpcap counts), compiled without
 * the optimiser.  Shared by the corpus test (tests/unit/test_corpus.c)
 * and the classifiers' fuzz target (tests/fuzz/fuzz_classify.c).
 *
 * Where the plain tcpdump expressions differ from ours, by design:
 * - VLAN: `ip` etc. do not look through tags; after `vlan` they look
 *   through one.  So a frame with k tags (k <= 3, counted by libpcap's own
 *   `vlan and vlan ...`) is compared with `vlan and ` k times before the
 *   expression.  Frames with more tags, and VLAN tags on link types where
 *   libpcap has no `vlan` (SLL), are skipped and counted.
 * - Truncated and malformed headers: libpcap's `ip` is the ethertype alone
 *   (on LINKTYPE_IPV4 it is always true), `tcp` is the protocol field
 *   alone (later fragments, a TCP header cut off or a bad IHL still match),
 *   `arp` the ethertype alone.  Ours need a complete, consistent header, so
 *   the exact expressions below add those conditions in libpcap's own
 *   language: a byte load past the captured length fails the filter
 *   (`X[n] & 0 = 0` is "byte n is captured"; compiled without the
 *   optimizer so the load stays).
 * - IPv4 total length and IPv6 payload length end the packet for us (0
 *   means "use what was captured": segmentation offload, jumbograms), so a
 *   transport header must also lie within them; a UDP length below 8 is
 *   invalid, except 0 when the IP length is 0 too (jumbograms, BIG TCP).
 *   ICMP and ICMPv6 need the 8 bytes every message has.
 * - IPv6 extension headers: libpcap's `tcp` looks at the next header and
 *   through at most one fragment header, whatever its offset; ours walks
 *   hop-by-hop, routing, fragment, destination options and AH (AH in IPv4
 *   too).  The exact expressions follow our walk for no extension header,
 *   one hop-by-hop, routing or destination options header, and the
 *   fragment header of a first fragment.  For AH and chains of two or more
 *   headers (CHAINED) that is impractical in BPF, so there we assert only
 *   that what we call TCP (UDP, ICMP, ICMPv6) libpcap's `protochain` (the
 *   same walk, blind to fragment offsets and lengths) calls so too.
 * - NULL/LOOP: libpcap knows AF_INET6 only as the build host's value (10
 *   on Linux) and the AF only in the file's byte order; we take both byte
 *   orders and 10, 24, 28, 30.  libpcap is shown a copy whose 4-byte
 *   header is rewritten to the value it knows for the same family.
 */
#ifndef TESTS_UNIT_PCAPREF_H
#define TESTS_UNIT_PCAPREF_H

#define IP4OK "ip and ip[0] & 0xf0 = 0x40 and ip[0] & 0xf >= 5" \
	" and ip[(ip[0] & 0xf) * 4 - 1] & 0 = 0"
#define TCP4 IP4OK " and ip[6:2] & 0x1fff = 0 and ip[9] = 6" \
	" and tcp[12] >> 4 >= 5 and tcp[(tcp[12] >> 4) * 4 - 1] & 0 = 0" \
	" and (ip[2:2] = 0 or ip[2:2] >= (ip[0] & 0xf) * 4 + (tcp[12] >> 4) * 4)"
#define UDP4 IP4OK " and ip[6:2] & 0x1fff = 0 and ip[9] = 17" \
	" and udp[7] & 0 = 0 and (udp[4:2] >= 8 or (udp[4:2] = 0 and ip[2:2] = 0))" \
	" and (ip[2:2] = 0 or ip[2:2] >= (ip[0] & 0xf) * 4 + 8)"
#define ICMP4 IP4OK " and ip[6:2] & 0x1fff = 0 and ip[9] = 1" \
	" and icmp[7] & 0 = 0 and (ip[2:2] = 0 or ip[2:2] >= (ip[0] & 0xf) * 4 + 8)"
#define IP6OK "ip6 and ip6[0] & 0xf0 = 0x60 and ip6[39] & 0 = 0"
/* IPv6 with transport header at 40 + X, where X (the extension headers'
 * length) is complete and within the payload length, next header NH. */
#define AT6(X, NH) IP6OK " and ip6[40 + " X " - 1] & 0 = 0" \
	" and (ip6[4:2] = 0 or ip6[4:2] >= " X ") and " NH
#define TCP6(X, NH) AT6(X, NH) " = 6 and ip6[40 + " X " + 12] >> 4 >= 5" \
	" and ip6[40 + " X " + (ip6[40 + " X " + 12] >> 4) * 4 - 1] & 0 = 0" \
	" and (ip6[4:2] = 0 or ip6[4:2] >= " X " + (ip6[40 + " X " + 12] >> 4) * 4)"
#define UDP6(X, NH) AT6(X, NH) " = 17 and ip6[40 + " X " + 7] & 0 = 0" \
	" and (ip6[40 + " X " + 4:2] >= 8 or (ip6[40 + " X " + 4:2] = 0 and ip6[4:2] = 0))" \
	" and (ip6[4:2] = 0 or ip6[4:2] >= " X " + 8)"
#define ICMP6(X, NH) AT6(X, NH) " = 58 and ip6[40 + " X " + 7] & 0 = 0" \
	" and (ip6[4:2] = 0 or ip6[4:2] >= " X " + 8)"
/* no extension header; one hop-by-hop, routing or destination options
 * header; one fragment header of a first fragment */
#define NOEXT "0", "ip6[6]"
#define ONEEXT "(ip6[41] + 1) * 8", "(ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 60) and ip6[40]"
#define FIRSTFRAG "8", "ip6[6] = 44 and ip6[42:2] & 0xfff8 = 0 and ip6[40]"
#define EXT6(F) "(ip6[" F "] = 0 or ip6[" F "] = 43 or ip6[" F "] = 44" \
	" or ip6[" F "] = 60 or ip6[" F "] = 51)"
/* AH (IPv4, IPv6), or two or more IPv6 extension headers */
#define CHAINED "(ip and ip[9] = 51) or (ip6 and ip6[6] = 51)" \
	" or (ip6 and " EXT6("6") " and " EXT6("40") ")"
#define EXPAND(M, A) M(A)
#define ALL6(M) "(" EXPAND(M, NOEXT) ") or (" EXPAND(M, ONEEXT) ") or (" \
	EXPAND(M, FIRSTFRAG) ")"
/* a complete ARP packet: 8 bytes, then two hardware and two protocol
 * addresses of the lengths it gives */
#define ARPOK "arp and arp[7 + 2 * (arp[4] + arp[5])] & 0 = 0"

enum { PCAPREF_EXACT, PCAPREF_SKIP, PCAPREF_UPPER, PCAPREF_NKINDS };

struct pcapref_check {
	const char *name;		/* ours, and the plain tcpdump expression */
	const char *expr[PCAPREF_NKINDS];	/* libpcap: exactly ours, outside
						 * SKIP; inside SKIP we match only
						 * within UPPER */
};

static const struct pcapref_check pcapref_checks[] = {
	{ "ip", { IP4OK, NULL, NULL } },
	{ "ip6", { IP6OK, NULL, NULL } },
	{ "tcp", { "(" TCP4 ") or " ALL6(TCP6), CHAINED,
		   "ip protochain 6 or ip6 protochain 6" } },
	{ "udp", { "(" UDP4 ") or " ALL6(UDP6), CHAINED,
		   "ip protochain 17 or ip6 protochain 17" } },
	{ "arp", { ARPOK, NULL, NULL } },
	{ "icmp", { ICMP4, CHAINED, "ip protochain 1" } },
	{ "icmp6", { ALL6(ICMP6), CHAINED, "ip6 protochain 58" } },
};
enum { PCAPREF_NCHECKS = sizeof pcapref_checks / sizeof *pcapref_checks };

#endif
