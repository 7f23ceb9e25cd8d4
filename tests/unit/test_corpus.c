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

#define checks pcapref_checks
enum { NCHECKS = PCAPREF_NCHECKS };

struct capture {
	struct pcapref r;
	const char *file;
};

struct tally {
	uint64_t packets, compared, vlan_skipped, chained[NCHECKS], mismatches;
	int files, differing_files;
};

static void compare_file(struct capture *c, struct inst *cls, struct tally *t)
{
	uint16_t lt = (uint16_t)pcap_datalink(c->r.pc);
	uint64_t ours[NCHECKS] = { 0 }, theirs[NCHECKS] = { 0 }, index = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	int shown = 0;

	if (lt == PFS_LT_NULL || lt == PFS_LT_LOOP)
		ck_assert_msg(pcapref_af_probe(&c->r) == 0,
			      "%s: libpcap takes no AF header for ip or ip6", c->file);
	while (pcap_next_ex(c->r.pc, &h, &data) == 1) {
		uint8_t *b = malloc(h->caplen ? h->caplen : 1);
		struct pfs_desc d = { .len = h->caplen, .wire_len = h->len,
				      .link_type = lt, .kind = PFS_KIND_FRAME };
		int we[NCHECKS];

		memcpy(b, data, h->caplen);
		for (int i = 0; i < NCHECKS; i++)
			ours[i] += (uint64_t)(we[i] = cls_run(&cls[i], &d, b));
		if (lt == PFS_LT_NULL || lt == PFS_LT_LOOP)
			pcapref_af_rewrite(&c->r, b, h->caplen);
		for (int i = 0; i < NCHECKS; i++)
			theirs[i] += pcapref_eval(&c->r, &c->r.plain[i], 0, checks[i].name,
						  h, b) == 1;
		int tags = pcapref_vlan_tags(&c->r, h, b);
		t->packets++;
		index++;
		if (tags < 0) {
			t->vlan_skipped++;
			free(b);
			continue;
		}
		t->compared++;
		for (int i = 0; i < NCHECKS; i++) {
			bool skip;
			int want = pcapref_want(&c->r, tags, i, h, b, &skip);
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
		c->r.pc = open_capture(ents[f]);
		c->file = ents[f]->d_name;
		if (c->r.pc && supported(pcap_datalink(c->r.pc))) {
			t.files++;
			compare_file(c, cls, &t);
		}
		pcapref_free(&c->r);
		if (c->r.pc)
			pcap_close(c->r.pc);
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
