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
 *
 * struct pcapref holds one link type's programs, compiled as they are
 * first needed, and pcapref_want() gives libpcap's verdict for a frame.
 */
#ifndef TESTS_UNIT_PCAPREF_H
#define TESTS_UNIT_PCAPREF_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* VLAN tags counted: frames with more are not compared. */
enum { PCAPREF_MAXTAGS = 3 };

/* A libpcap program, compiled the first time it is needed. */
struct pcapref_prog {
	struct bpf_program bp;
	int state;			/* 0: not yet, 1: compiled, -1: failed */
};

/* One link type's programs (pc: a pcap_t of that link type, the caller's;
 * zeroed programs are compiled when first needed). */
struct pcapref {
	pcap_t *pc;
	struct pcapref_prog plain[PCAPREF_NCHECKS];	/* the plain expressions */
	struct pcapref_prog vlans[PCAPREF_MAXTAGS + 2], vlan_type;
	struct pcapref_prog ref[PCAPREF_MAXTAGS + 1][PCAPREF_NCHECKS][PCAPREF_NKINDS];
	uint8_t af_hdr[2][4];		/* NULL/LOOP: what libpcap takes */
};

/* Does expr (after `vlan and ` tags times) pass the packet?  -1 if libpcap
 * cannot compile it for this link type. */
static inline int pcapref_eval(struct pcapref *r, struct pcapref_prog *pr, int tags,
			       const char *expr, const struct pcap_pkthdr *h,
			       const uint8_t *data)
{
	if (!pr->state) {
		char text[8192] = "";
		for (int i = 0; i < tags; i++)
			strcat(text, "vlan and ");
		snprintf(text + strlen(text), sizeof text - strlen(text), "(%s)", expr);
		pr->state = pcap_compile(r->pc, &pr->bp, text, 0, PCAP_NETMASK_UNKNOWN)
			    ? -1 : 1;
	}
	return pr->state < 0 ? -1 : pcap_offline_filter(&pr->bp, h, data) != 0;
}

/* VLAN tags libpcap sees in front of the network layer; -1 if it cannot
 * say (more than PCAPREF_MAXTAGS, or tags on a link type without `vlan`). */
static inline int pcapref_vlan_tags(struct pcapref *r, const struct pcap_pkthdr *h,
				    const uint8_t *data)
{
	int tags = 0;
	while (tags <= PCAPREF_MAXTAGS &&
	       pcapref_eval(r, &r->vlans[tags + 1], tags, "vlan", h, data) == 1)
		tags++;
	if (tags > PCAPREF_MAXTAGS)
		return -1;
	if (tags == 0 && pcapref_eval(r, &r->vlan_type, 0, "ether proto 0x8100 or "
				      "ether proto 0x88a8 or ether proto 0x9100", h, data) == 1)
		return -1;
	return tags;
}

/* libpcap's verdict on check i (of pcapref_checks) for a frame with tags
 * VLAN tags: 1 or 0, -1 if it cannot compile the check.  *upper says the
 * frame is one where ours must only pass no more than libpcap does. */
static inline int pcapref_want(struct pcapref *r, int tags, int i, const struct pcap_pkthdr *h,
			       const uint8_t *data, bool *upper)
{
	struct pcapref_prog *pr = r->ref[tags][i];
	const char *const *x = pcapref_checks[i].expr;
	*upper = x[PCAPREF_SKIP] &&
		 pcapref_eval(r, &pr[PCAPREF_SKIP], tags, x[PCAPREF_SKIP], h, data) == 1;
	int kind = *upper ? PCAPREF_UPPER : PCAPREF_EXACT;
	return pcapref_eval(r, &pr[kind], tags, x[kind], h, data);
}

/* NULL/LOOP: find the 4-byte headers libpcap takes for IPv4 and IPv6
 * (r->af_hdr).  0, or -1 if it takes none for one of them. */
static inline int pcapref_af_probe(struct pcapref *r)
{
	static const uint8_t af[2][4] = { { 2 }, { 10, 24, 28, 30 } };
	for (int fam = 0; fam < 2; fam++) {	/* pcapref_checks[0] is ip, [1] ip6 */
		int i = 0;
		for (; i < 8 && af[fam][i / 2]; i++) {	/* each AF, LE then BE */
			uint8_t pkt[44] = { [4] = fam ? 0x60 : 0x45 };
			struct pcap_pkthdr h = { .caplen = 44, .len = 44 };
			pkt[i % 2 ? 3 : 0] = af[fam][i / 2];
			memcpy(r->af_hdr[fam], pkt, 4);
			if (pcapref_eval(r, &r->plain[fam], 0, pcapref_checks[fam].name,
					 &h, pkt) == 1)
				break;
		}
		if (i == 8 || !af[fam][i / 2])
			return -1;
	}
	return 0;
}

/* NULL/LOOP: rewrite a frame's header (b, len bytes) to the one libpcap
 * takes for its family. */
static inline void pcapref_af_rewrite(const struct pcapref *r, uint8_t *b, uint32_t len)
{
	if (len < 4)
		return;
	uint32_t af = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	if (af > 0xffff)	/* little-endian */
		af = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
	if (af == 2)
		memcpy(b, r->af_hdr[0], 4);
	else if (af == 10 || af == 24 || af == 28 || af == 30)
		memcpy(b, r->af_hdr[1], 4);
}

static inline void pcapref_progs_free(struct pcapref_prog *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].state > 0)
			pcap_freecode(&p[i].bp);
}

/* Frees r's programs (not r->pc). */
static inline void pcapref_free(struct pcapref *r)
{
	pcapref_progs_free(r->plain, PCAPREF_NCHECKS);
	pcapref_progs_free(r->vlans, PCAPREF_MAXTAGS + 2);
	pcapref_progs_free(&r->vlan_type, 1);
	pcapref_progs_free(&r->ref[0][0][0],
			   (PCAPREF_MAXTAGS + 1) * PCAPREF_NCHECKS * PCAPREF_NKINDS);
}

#endif
