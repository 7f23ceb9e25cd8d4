/* SPDX-License-Identifier: BSD-3-Clause
 * The classifiers against a corpus of real captures (tcpdump's test files
 * by default; PFS_CORPUS names another directory).
 *
 * 1. Every packet of every file goes through every classifier, on a heap
 *    copy of exactly the captured bytes: no crash, no read past the end
 *    (run under `make unit SAN=1`), and the dissector's offsets stay sane.
 * 2. For the link types we parse, `ip`, `ip6`, `tcp`, `udp`, `arp`, `icmp`
 *    and `icmp6` are checked packet by packet against libpcap.  The plain
 *    tcpdump expressions mean something else in places (see
 *    tests/unit/pcapref.h), so the per-file differences from them are only
 *    printed; the assertion is against libpcap expressions that state our
 *    semantics exactly (pcapref.h, shared with tests/fuzz/fuzz_classify.c).
 */
#include <check.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "filters/pkt.h"
#include "tests/unit/frames.h"		/* struct inst, corpus_dir() */
#include "tests/unit/pcapref.h"		/* the classifiers in libpcap's terms */

/* The corpus, sorted; NULL (and a message saying why the test is skipped)
 * if there is none. */
static struct dirent **corpus(int *n)
{
	struct dirent **ents;
	*n = scandir(corpus_dir(), &ents, NULL, alphasort);
	if (*n < 0) {
		printf("corpus: SKIPPED: cannot read corpus directory %s (%m); "
		       "set PFS_CORPUS to a directory of capture files\n", corpus_dir());
		return NULL;
	}
	return ents;
}

static void corpus_free(struct dirent **ents, int n)
{
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static pcap_t *open_capture(const struct dirent *e)
{
	char path[4096], errbuf[PCAP_ERRBUF_SIZE];
	if (e->d_name[0] == '.')
		return NULL;
	snprintf(path, sizeof path, "%s/%s", corpus_dir(), e->d_name);
	return pcap_open_offline(path, errbuf);
}

/* ---- running our classifiers ---- */

struct hit_out {
	struct pfs_out out;
	int hit;
};

static void hit_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	(void)d, (void)data;
	((struct hit_out *)o)->hit++;
}

static uint8_t *hit_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	(void)o, (void)len, (void)d;
	ck_abort_msg("a classifier asked for new bytes");
	return NULL;
}

static int cls_run(struct inst *c, const struct pfs_desc *d, const uint8_t *data)
{
	struct hit_out o = { .out = { hit_emit, hit_alloc } };
	inst_process(c, d, data, &o.out);
	ck_assert_int_le(o.hit, 1);
	return o.hit;
}

/* The dissector's results must lie within the bytes it was given. */
static void check_pkt(const struct pfs_pkt *p, int rc, uint32_t len, const char *file)
{
	if (rc) {
		ck_assert_msg(rc == -1 && p->flags == 0, "%s: rc %d flags %x", file, rc, p->flags);
		return;
	}
	ck_assert_msg(p->l3_off <= len && p->l3_end <= len, "%s: l3 %u-%u of %u", file,
		      p->l3_off, p->l3_end, len);
	ck_assert(p->addr_len == 0 || p->addr_len == 4 || p->addr_len == 16);
	if (p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6))
		ck_assert_uint_ge(p->l3_end, p->l3_off + (p->flags & PFS_PKT_IP4 ? 20 : 40));
	if (p->flags & PFS_PKT_L4) {
		ck_assert(p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6));
		ck_assert(!(p->flags & PFS_PKT_FRAG));
		ck_assert_uint_gt(p->l4_off, p->l3_off);
		ck_assert_uint_ge(p->payload_off, p->l4_off + 8);
		ck_assert_uint_le(p->payload_off + p->payload_len, p->l3_end);
	}
}

START_TEST(every_packet_through_every_classifier)
{
	static const char *const specs[] = {
		"ip", "ip6", "arp", "vlan", "tcp", "udp", "icmp", "icmp6",
		"port=53", "port=1-1023", "port=0-65535", "host=10.0.0.1",
		"host=::1", "net=192.168.0.0/16", "net=fe80::/10", "net=0.0.0.0/0",
		"pass",
	};
	enum { N = sizeof specs / sizeof *specs };
	struct inst cls[N];
	uint64_t hits[N] = { 0 }, packets = 0;
	int n, files = 0, unreadable = 0;
	struct dirent **ents = corpus(&n);
	if (!ents)
		return;
	for (int i = 0; i < N; i++)
		inst_must_open(&cls[i], specs[i]);
	for (int f = 0; f < n; f++) {
		pcap_t *pc = open_capture(ents[f]);
		struct pcap_pkthdr *h;
		const u_char *data;
		if (!pc) {
			unreadable += ents[f]->d_name[0] != '.';
			continue;
		}
		files++;
		uint16_t lt = (uint16_t)pcap_datalink(pc);
		while (pcap_next_ex(pc, &h, &data) == 1) {
			uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
			memcpy(copy, data, h->caplen);
			struct pfs_desc d = { .len = h->caplen, .wire_len = h->len,
					      .link_type = lt, .kind = PFS_KIND_FRAME };
			struct pfs_pkt p;
			check_pkt(&p, pfs_pkt_parse(&p, lt, copy, h->caplen), h->caplen,
				  ents[f]->d_name);
			for (int i = 0; i < N; i++)
				hits[i] += (uint64_t)cls_run(&cls[i], &d, copy);
			free(copy);
			packets++;
		}
		pcap_close(pc);
	}
	if (!files)
		printf("corpus: SKIPPED: no capture file libpcap can read in %s\n",
		       corpus_dir());
	printf("corpus: %d files, %d not readable by libpcap (skipped), %llu packets\n",
	       files, unreadable, (unsigned long long)packets);
	printf("corpus: matches:");
	for (int i = 0; i < N; i++) {
		printf(" %s %llu", specs[i], (unsigned long long)hits[i]);
		if (cls[i].f->counters) {	/* the classifiers count every record */
			uint64_t m = inst_counter(&cls[i], "matched");
			ck_assert_msg(m == hits[i], "%s: matched %llu, handed on %llu", specs[i],
				      (unsigned long long)m, (unsigned long long)hits[i]);
			ck_assert_uint_eq(m + inst_counter(&cls[i], "not_matched"), packets);
		}
		inst_close(&cls[i]);
	}
	printf("\n");
	ck_assert_uint_eq(hits[N - 1], packets);	/* pass passes everything */
	corpus_free(ents, n);
}
END_TEST

/* ---- agreement with libpcap ----
 *
 * Each classifier of tests/unit/pcapref.h against its exact libpcap
 * expression (see there for where and why they differ from the plain
 * tcpdump expressions).
 */

enum { EXACT = PCAPREF_EXACT, SKIP = PCAPREF_SKIP, UPPER = PCAPREF_UPPER,
       NKINDS = PCAPREF_NKINDS };
#define checks pcapref_checks
enum { NCHECKS = PCAPREF_NCHECKS, MAXTAGS = 3 };

/* A libpcap program, compiled the first time it is needed. */
struct prog {
	struct bpf_program bp;
	int state;			/* 0: not yet, 1: compiled, -1: failed */
};

struct capture {
	pcap_t *pc;
	const char *file;
	struct prog plain[NCHECKS], vlans[MAXTAGS + 2], vlan_type;
	struct prog ref[MAXTAGS + 1][NCHECKS][NKINDS];
};

/* Does expr (after `vlan and ` tags times) pass the packet?  -1 if libpcap
 * cannot compile it for this link type. */
static int eval(struct capture *c, struct prog *pr, int tags, const char *expr,
		const struct pcap_pkthdr *h, const uint8_t *data)
{
	if (!pr->state) {
		char text[8192] = "";
		for (int i = 0; i < tags; i++)
			strcat(text, "vlan and ");
		snprintf(text + strlen(text), sizeof text - strlen(text), "(%s)", expr);
		pr->state = pcap_compile(c->pc, &pr->bp, text, 0, PCAP_NETMASK_UNKNOWN)
			    ? -1 : 1;
	}
	return pr->state < 0 ? -1 : pcap_offline_filter(&pr->bp, h, data) != 0;
}

static void progs_free(struct prog *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].state > 0)
			pcap_freecode(&p[i].bp);
}

/* VLAN tags libpcap sees in front of the network layer; -1 if it cannot
 * say (more than MAXTAGS, or tags on a link type without `vlan`). */
static int vlan_tags(struct capture *c, const struct pcap_pkthdr *h, const uint8_t *data)
{
	int tags = 0;
	while (tags <= MAXTAGS && eval(c, &c->vlans[tags + 1], tags, "vlan", h, data) == 1)
		tags++;
	if (tags > MAXTAGS)
		return -1;
	if (tags == 0 && eval(c, &c->vlan_type, 0, "ether proto 0x8100 or "
			      "ether proto 0x88a8 or ether proto 0x9100", h, data) == 1)
		return -1;
	return tags;
}

/* NULL/LOOP: the 4-byte headers libpcap takes for IPv4 and IPv6. */
static void af_probe(struct capture *c, uint8_t hdr[2][4])
{
	static const uint8_t af[2][4] = { { 2 }, { 10, 24, 28, 30 } };
	for (int fam = 0; fam < 2; fam++) {	/* checks[0] is ip, [1] ip6 */
		int i = 0;
		for (; i < 8 && af[fam][i / 2]; i++) {	/* each AF, LE then BE */
			uint8_t pkt[44] = { [4] = fam ? 0x60 : 0x45 };
			struct pcap_pkthdr h = { .caplen = 44, .len = 44 };
			pkt[i % 2 ? 3 : 0] = af[fam][i / 2];
			memcpy(hdr[fam], pkt, 4);
			if (eval(c, &c->plain[fam], 0, checks[fam].name, &h, pkt) == 1)
				break;
		}
		ck_assert_msg(i < 8 && af[fam][i / 2], "%s: libpcap takes no AF header "
			      "for %s", c->file, checks[fam].name);
	}
}

static void af_rewrite(uint8_t *b, uint32_t len, uint8_t hdr[2][4])
{
	if (len < 4)
		return;
	uint32_t af = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | b[2] << 8 | b[3];
	if (af > 0xffff)	/* little-endian */
		af = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | b[1] << 8 | b[0];
	if (af == 2)
		memcpy(b, hdr[0], 4);
	else if (af == 10 || af == 24 || af == 28 || af == 30)
		memcpy(b, hdr[1], 4);
}

struct tally {
	uint64_t packets, compared, vlan_skipped, chained[NCHECKS], mismatches;
	int files, differing_files;
};

static void compare_file(struct capture *c, struct inst *cls, struct tally *t)
{
	uint16_t lt = (uint16_t)pcap_datalink(c->pc);
	uint64_t ours[NCHECKS] = { 0 }, theirs[NCHECKS] = { 0 }, index = 0;
	uint8_t af_hdr[2][4];
	struct pcap_pkthdr *h;
	const u_char *data;
	int shown = 0;

	if (lt == PFS_LT_NULL || lt == PFS_LT_LOOP)
		af_probe(c, af_hdr);
	while (pcap_next_ex(c->pc, &h, &data) == 1) {
		uint8_t *b = malloc(h->caplen ? h->caplen : 1);
		struct pfs_desc d = { .len = h->caplen, .wire_len = h->len,
				      .link_type = lt, .kind = PFS_KIND_FRAME };
		int we[NCHECKS];

		memcpy(b, data, h->caplen);
		for (int i = 0; i < NCHECKS; i++)
			ours[i] += (uint64_t)(we[i] = cls_run(&cls[i], &d, b));
		if (lt == PFS_LT_NULL || lt == PFS_LT_LOOP)
			af_rewrite(b, h->caplen, af_hdr);
		for (int i = 0; i < NCHECKS; i++)
			theirs[i] += eval(c, &c->plain[i], 0, checks[i].name, h, b) == 1;
		int tags = vlan_tags(c, h, b);
		t->packets++;
		index++;
		if (tags < 0) {
			t->vlan_skipped++;
			free(b);
			continue;
		}
		t->compared++;
		for (int i = 0; i < NCHECKS; i++) {
			struct prog *ref = c->ref[tags][i];
			const char *const *x = checks[i].expr;
			int skip = x[SKIP] && eval(c, &ref[SKIP], tags, x[SKIP], h, b) == 1;
			int want = skip ? eval(c, &ref[UPPER], tags, x[UPPER], h, b)
					: eval(c, &ref[EXACT], tags, x[EXACT], h, b);
			ck_assert_msg(want >= 0, "%s: libpcap cannot compile the %s check "
				      "for link type %u", c->file, checks[i].name, lt);
			t->chained[i] += (uint64_t)skip;
			if (skip ? we[i] > want : we[i] != want) {
				t->mismatches++;
				if (shown++ < 5)
					printf("corpus: MISMATCH %s packet %llu: %s ours %d, "
					       "libpcap %s %d\n", c->file,
					       (unsigned long long)index, checks[i].name,
					       we[i], skip ? "protochain" : "reference", want);
			}
		}
		free(b);
	}
	if (memcmp(ours, theirs, sizeof ours)) {
		t->differing_files++;
		printf("corpus: %s (link type %u): ours/tcpdump's", c->file, lt);
		for (int i = 0; i < NCHECKS; i++)
			if (ours[i] != theirs[i])
				printf(" %s %llu/%llu", checks[i].name,
				       (unsigned long long)ours[i], (unsigned long long)theirs[i]);
		printf("\n");
	}
}

static int supported(int lt)
{
	static const int lts[] = { 0, 1, 12, 14, 101, 108, 113, 228, 229, 276 };
	for (size_t i = 0; i < sizeof lts / sizeof *lts; i++)
		if (lts[i] == lt)
			return 1;
	return 0;
}

START_TEST(agrees_with_libpcap)
{
	struct inst cls[NCHECKS];
	struct tally t = { 0 };
	int n;
	struct dirent **ents = corpus(&n);
	if (!ents)
		return;
	for (int i = 0; i < NCHECKS; i++)
		inst_must_open(&cls[i], checks[i].name);
	for (int f = 0; f < n; f++) {
		struct capture *c = calloc(1, sizeof *c);
		c->pc = open_capture(ents[f]);
		c->file = ents[f]->d_name;
		if (c->pc && supported(pcap_datalink(c->pc))) {
			t.files++;
			compare_file(c, cls, &t);
		}
		progs_free(c->plain, NCHECKS);
		progs_free(c->vlans, MAXTAGS + 2);
		progs_free(&c->vlan_type, 1);
		progs_free(&c->ref[0][0][0], (MAXTAGS + 1) * NCHECKS * NKINDS);
		if (c->pc)
			pcap_close(c->pc);
		free(c);
	}
	for (int i = 0; i < NCHECKS; i++)
		inst_close(&cls[i]);
	printf("corpus: %d files of supported link types, %llu packets, %llu compared "
	       "(%llu skipped: VLAN tags libpcap cannot count), %d files differ from "
	       "plain tcpdump expressions (printed above), extension-header or AH "
	       "packets checked against protochain: tcp %llu, udp %llu, icmp %llu, "
	       "icmp6 %llu\n",
	       t.files, (unsigned long long)t.packets, (unsigned long long)t.compared,
	       (unsigned long long)t.vlan_skipped, t.differing_files,
	       (unsigned long long)t.chained[2], (unsigned long long)t.chained[3],
	       (unsigned long long)t.chained[5], (unsigned long long)t.chained[6]);
	ck_assert_msg(t.mismatches == 0, "%llu packets where a classifier disagrees "
		      "with its libpcap reference (printed above)",
		      (unsigned long long)t.mismatches);
	corpus_free(ents, n);
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* kept if a check fails */
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("corpus");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, every_packet_through_every_classifier);
	tcase_add_test(tc, agrees_with_libpcap);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
