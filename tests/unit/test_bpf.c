/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for bpf=EXPR (filters/bpf.c): hand-made frames, checked
 * against fixed answers and against libpcap (pcap_offline_filter) under
 * each engine; then every packet of the corpus against libpcap for many
 * expressions, and against tcpdump itself for a few.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <unistd.h>

#include "filters/log.h"
#include "tests/unit/frames.h"

#define SNAPLEN 262144

static const char *const engines[] = { NULL, "interpreter", "libpcap" };
enum { NENGINES = sizeof engines / sizeof *engines };

static void use_engine(const char *e)
{
	if (e)
		setenv("PFS_BPF_ENGINE", e, 1);
	else
		unsetenv("PFS_BPF_ENGINE");
}

/* libpcap's verdict for expr on a frame of link type dlt. */
static int libpcap(const char *expr, int dlt, const uint8_t *b, uint32_t caplen,
		   uint32_t wire)
{
	pcap_t *pc = pcap_open_dead(dlt, SNAPLEN);
	struct bpf_program bp;
	struct pcap_pkthdr h = { .caplen = caplen, .len = wire };

	ck_assert_msg(pcap_compile(pc, &bp, expr, 1, PCAP_NETMASK_UNKNOWN) == 0,
		      "%s: %s", expr, pcap_geterr(pc));
	int hit = pcap_offline_filter(&bp, &h, b) != 0;
	pcap_freecode(&bp);
	pcap_close(pc);
	return hit;
}

/* Does bpf=expr pass the frame (handed on unchanged, no copy)?  Asserts
 * that libpcap says the same. */
static int match_lt(const char *expr, uint16_t lt, int dlt, const uint8_t *b,
		    uint32_t caplen, uint32_t wire)
{
	char spec[512];
	struct inst in;
	struct sink s;
	struct pfs_desc d = frame_desc(lt, caplen, wire);

	snprintf(spec, sizeof spec, "bpf=%s", expr);
	inst_must_open(&in, spec);
	sink_init(&s, -1);
	inst_run(&in, &s, &d, b);
	inst_close(&in);
	ck_assert_int_le(s.n, 1);
	if (s.n) {
		ck_assert_mem_eq(&s.d[0], &d, sizeof d);
		ck_assert_ptr_eq(s.data[0], b);
	}
	int want = libpcap(expr, dlt, b, caplen, wire);
	ck_assert_msg(s.n == want, "%s: ours %d, libpcap %d", expr, s.n, want);
	return s.n;
}

static int match(const char *expr, const struct frame *f)
{
	return match_lt(expr, PFS_LT_ETHERNET, 1, f->b, f->n, f->n);
}

/* ---- frames ---- */

/* 10.0.0.1:1234 > 10.0.0.2:80, SYN, "GET " */
static struct frame tcp4(void)
{
	struct frame f = { .n = 0 };
	ether(&f, 0x0800);
	ip4(&f, 6, 44);
	tcp(&f, 1234, 80, 0x02, 0);
	text(&f, "GET ");
	return f;
}

/* [fd77::1]:5353 > [fd77::2]:53 */
static struct frame udp6(void)
{
	struct frame f = { .n = 0 };
	ether(&f, 0x86dd);
	ip6(&f, 17, 12);
	udp(&f, 5353, 53, 12);
	text(&f, "abcd");
	return f;
}

/* who-has 10.0.0.2 tell 10.0.0.1, to the broadcast address */
static struct frame arp(void)
{
	static const uint8_t b[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
	};
	struct frame f = { .n = 0 };
	bytes(&f, b, sizeof b);
	return f;
}

/* VLAN 5, then 10.0.0.1:53 > 10.0.0.2:999 */
static struct frame vlan_udp4(void)
{
	struct frame f = { .n = 0 };
	ether(&f, 0x8100);
	be16(&f, 5);
	be16(&f, 0x0800);
	ip4(&f, 17, 32);
	udp(&f, 53, 999, 12);
	text(&f, "abcd");
	return f;
}

/* ---- tests ---- */

START_TEST(expressions)
{
	struct frame t = tcp4(), u = udp6(), a = arp(), v = vlan_udp4();

	use_engine(engines[_i]);
	ck_assert(match("tcp", &t));
	ck_assert(!match("udp", &t));
	ck_assert(match("port 80", &t));
	ck_assert(match("portrange 70-90", &t));
	ck_assert(!match("portrange 81-1000", &t));
	ck_assert(match("tcp[tcpflags] & tcp-syn != 0", &t));
	ck_assert(!match("tcp[tcpflags] & tcp-ack != 0", &t));
	ck_assert(match("host 10.0.0.2", &t));
	ck_assert(match("net 10.0.0.0/8", &t));
	ck_assert(!match("not tcp", &t));
	ck_assert(match("ip[8] < 65", &t));
	ck_assert(!match("ip[8] < 64", &t));
	ck_assert(match("tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420", &t));
	ck_assert(match("ip6", &u));
	ck_assert(match("udp port 53", &u));
	ck_assert(!match("udp and not port 53", &u));
	ck_assert(match("icmp or arp", &a));
	ck_assert(match("ether broadcast", &a));
	ck_assert(!match("ether broadcast", &t));
	ck_assert(match("vlan", &v));
	ck_assert(match("vlan 5 and udp port 53", &v));
	ck_assert(!match("vlan 6", &v));
	ck_assert(!match("udp", &v));		/* libpcap: not through the tag */
	ck_assert(match("ip6 protochain 17", &u));	/* libpcap runs it */
}
END_TEST

/* Frames shorter than what the program loads do not match. */
START_TEST(truncated)
{
	struct frame t = tcp4();

	use_engine(engines[_i]);
	ck_assert(!match("ether[58] = 0", &t));
	ck_assert(match("ether[57] = 0x20", &t));
	ck_assert(!match("ether[56:4] = 0", &t));
	ck_assert(!match_lt("tcp port 80", 1, 1, t.b, 30, 58));	/* inside IP */
	ck_assert(!match_lt("tcp port 80", 1, 1, t.b, 36, 58));	/* inside TCP */
	ck_assert(match_lt("tcp port 1234", 1, 1, t.b, 36, 58));
	ck_assert(!match_lt("tcp", 1, 1, t.b, 23, 58));
	ck_assert(!match_lt("ether broadcast", 1, 1, t.b, 0, 58));
	ck_assert(match_lt("len > 0", 1, 1, t.b, 0, 58));
}
END_TEST

/* `len` is the wire length, not the captured one. */
START_TEST(wire_length)
{
	struct frame t = tcp4();

	use_engine(engines[_i]);
	ck_assert(match_lt("len > 1000", 1, 1, t.b, t.n, 1500));
	ck_assert(match_lt("greater 1000", 1, 1, t.b, t.n, 1500));
	ck_assert(!match_lt("len < 100", 1, 1, t.b, t.n, 1500));
	ck_assert(!match_lt("less 100", 1, 1, t.b, t.n, 1500));
	ck_assert(match_lt("len < 100", 1, 1, t.b, t.n, t.n));
	ck_assert(match_lt("len = 58", 1, 1, t.b, t.n, t.n));
	ck_assert(match_lt("len - 1500 = 0 and tcp", 1, 1, t.b, t.n, 1500));
}
END_TEST

/* Offsets computed from packet bytes, shifts and divisions by packet bytes:
 * where rte_bpf's arithmetic differs from libpcap's. */
START_TEST(computed_offsets)
{
	struct frame f = { .n = 0 };

	use_engine(engines[_i]);
	ether(&f, 0x0800);
	ip4(&f, 17, 32);
	udp(&f, 1, 2, 12);
	text(&f, "abcd");
	for (uint32_t x = 0xfffffff0; x != 0; x++) {	/* X + 14 wraps */
		f.b[0] = (uint8_t)(x >> 24), f.b[1] = (uint8_t)(x >> 16);
		f.b[2] = (uint8_t)(x >> 8), f.b[3] = (uint8_t)x;
		ck_assert(!match("ip[ether[0:4]] = 0x45", &f));
		ck_assert(!match("ether[ether[0:4]] = 0xff", &f));
		ck_assert(!match("ip[ether[0:4]:2] != 1", &f));
	}
	f.b[0] = 0, f.b[1] = 0, f.b[2] = 0, f.b[3] = 0;
	ck_assert(match("ip[ether[0:4]] = 0x45", &f));
	f.b[3] = 0x80;	/* ip[128]: past the end */
	ck_assert(!match("ip[ether[0:4]] = 0x45", &f));
	for (int s = 0; s < 64; s++) {	/* libpcap: 0 when shifting by 32 or more */
		f.b[0] = 0x81;
		f.b[1] = (uint8_t)s;
		ck_assert_int_eq(match("(ether[0] << ether[1]) != 0", &f), s < 32);
		ck_assert_int_eq(match("(ether[0] >> ether[1]) != 0", &f), s < 8);
		ck_assert_int_eq(match("ether[0] / ether[1] < 256", &f), s > 0);
		ck_assert_int_eq(match("ether[0] % ether[1] < 256", &f), s > 0);
	}
	ck_assert(!match("ether[4294963200] = 0", &f));	/* Linux SKF_AD_OFF */
	ck_assert(!match("ether[4294967295] = 0", &f));
	ck_assert(!match("ether[65535] = 0", &f));
}
END_TEST

/* A frame rte_bpf cannot take as one mbuf segment: libpcap runs it. */
START_TEST(big_frame)
{
	enum { BIG = 70000 };
	uint8_t *b = calloc(1, BIG);
	struct inst in;
	struct sink s;
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, BIG, BIG);

	use_engine(engines[_i]);
	b[12] = 0x08;
	b[BIG - 1] = 0x5a;
	ck_assert(match_lt("ether[69999] = 0x5a and greater 65536", 1, 1, b, BIG, BIG));
	ck_assert(!match_lt("ether[69999] = 0", 1, 1, b, BIG, BIG));
	inst_must_open(&in, "bpf=ether[69999] = 0x5a");
	sink_init(&s, -1);
	inst_run(&in, &s, &d, b);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(inst_counter(&in, "libpcap_frames"), _i == 2 ? 0 : 1);
	inst_close(&in);
	free(b);
}
END_TEST

START_TEST(syntax_errors)
{
	char err[PFS_ERR_LEN];
	struct inst in;

	ck_assert_int_eq(inst_open(&in, "bpf=tcp and", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "syntax error"), "%s", err);
	ck_assert_ptr_null(in.conf);
	ck_assert_ptr_null(in.pstate);
	ck_assert_int_eq(inst_open(&in, "bpf=port 99999", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "port"), "%s", err);
	ck_assert_int_eq(inst_open(&in, "bpf", err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "bpf=EXPR"), "%s", err);
	ck_assert_int_eq(inst_open(&in, "bpf=", err, sizeof err), -EINVAL);
}
END_TEST

/* Each link type gets its own program; one the expression cannot be
 * compiled for never matches. */
START_TEST(link_types)
{
	struct frame t = tcp4();
	const uint8_t *ip = t.b + 14;
	uint32_t iplen = t.n - 14;
	struct inst in;
	struct sink s;

	use_engine(engines[_i]);
	ck_assert(match_lt("tcp port 80", PFS_LT_RAW, 12, ip, iplen, iplen));
	ck_assert(match_lt("tcp port 80", 12, 12, ip, iplen, iplen));
	ck_assert(match_lt("ip host 10.0.0.1", PFS_LT_IPV4, 228, ip, iplen, iplen));
	inst_must_open(&in, "bpf=ether host 02:00:00:00:00:01");
	sink_init(&s, -1);
	struct pfs_desc d = frame_desc(PFS_LT_RAW, iplen, iplen);
	inst_run(&in, &s, &d, ip);
	d = frame_desc(PFS_LT_ETHERNET, t.n, t.n);
	inst_run(&in, &s, &d, t.b);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(inst_counter(&in, "matched"), 1);
	ck_assert_uint_eq(inst_counter(&in, "not_matched"), 1);
	ck_assert_uint_eq(inst_counter(&in, "no_program"), 1);
	char *st = inst_conf_stats(&in);
	ck_assert_msg(strstr(st, "programs: 2\n") && strstr(st, "link_type_101: none ("),
		      "%s", st);
	free(st);
	inst_close(&in);
}
END_TEST

/* NULL frames start with an AF_ value in the capturing host's byte order:
 * like `tcpdump -r`, which compiles for the file's byte order and takes
 * the BSDs' AF_INET6 values (24, 28, 30) for `ip6`. */
START_TEST(null_byte_orders)
{
	static const uint8_t af[][4] = { { 2, 0, 0, 0 }, { 0, 0, 0, 2 }, { 30, 0, 0, 0 },
					 { 0, 0, 0, 24 }, { 10, 0, 0, 0 } };
	static const char *const want[] = { "ip", "ip", "ip6", "ip6", "none" };
	struct frame t = tcp4();
	struct inst ip, ip6;

	use_engine(engines[_i]);
	inst_must_open(&ip, "bpf=ip and tcp port 80");
	inst_must_open(&ip6, "bpf=ip6");
	for (size_t i = 0; i < sizeof af / sizeof *af; i++) {
		struct frame f = { .n = 0 };
		struct sink s4, s6;
		bytes(&f, af[i], 4);
		bytes(&f, t.b + 14, t.n - 14);
		struct pfs_desc d = frame_desc(PFS_LT_NULL, f.n, f.n);
		sink_init(&s4, -1);
		sink_init(&s6, -1);
		inst_run(&ip, &s4, &d, f.b);
		inst_run(&ip6, &s6, &d, f.b);
		ck_assert_msg(s4.n == !strcmp(want[i], "ip") && s6.n == !strcmp(want[i], "ip6"),
			      "AF %zu: ip %d, ip6 %d", i, s4.n, s6.n);
	}
	char *st = inst_conf_stats(&ip);
	ck_assert_msg(strstr(st, "link_type_0: ") && strstr(st, "link_type_0_swapped: "),
		      "%s", st);
	free(st);
	inst_close(&ip);
	inst_close(&ip6);
}
END_TEST

/* The table of programs is small: frames of yet more link types do not
 * match (and are counted). */
START_TEST(too_many_link_types)
{
	/* Link types 104 to 183: libpcap compiles for each.  PROGS is
	 * bpf.c's MAX_PROGS. */
	enum { FIRST = 104, TYPES = 80, PROGS = 64 };
	uint8_t b[64] = { 0 };
	struct inst in;
	struct sink s;

	inst_must_open(&in, "bpf=len > 0");
	sink_init(&s, -1);
	for (uint16_t lt = FIRST; lt < FIRST + TYPES; lt++) {
		struct pfs_desc d = frame_desc(lt, sizeof b, sizeof b);
		inst_run(&in, &s, &d, b);
	}
	/* Ethernet's program is made at init: PROGS - 1 are left. */
	ck_assert_uint_eq(inst_counter(&in, "no_program"), TYPES - (PROGS - 1));
	ck_assert_uint_eq(inst_counter(&in, "matched"), PROGS - 1);
	ck_assert_uint_eq(inst_counter(&in, "not_matched"), TYPES - (PROGS - 1));
	char *st = inst_conf_stats(&in);
	ck_assert_msg(strstr(st, "programs: 64\n"), "%s", st);
	free(st);
	/* The first frame left out says so in the log, once. */
	char log[PFS_LOG_LINES * PFS_LOG_LINE];
	log[pfs_log_read(0, log, sizeof log - 1)] = '\0';
	const char *line = strstr(log, "frames of more than 64 link types");
	ck_assert_msg(line && strstr(line, "link type 167 "), "%s", log);
	ck_assert_ptr_null(strstr(line + 1, "frames of more than 64 link types"));
	inst_close(&in);
}
END_TEST

/* A record `payload` narrowed is matched by its whole frame; records that
 * are no frames never match. */
START_TEST(records)
{
	struct frame t = tcp4();
	struct inst in;
	struct sink s;
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, 4, t.n);

	d.head_room = 54;
	inst_must_open(&in, "bpf=tcp port 80 and len = 58");
	sink_init(&s, -1);
	inst_run(&in, &s, &d, t.b + 54);
	ck_assert_int_eq(s.n, 1);
	ck_assert_mem_eq(&s.d[0], &d, sizeof d);
	ck_assert_ptr_eq(s.data[0], t.b + 54);
	d = frame_desc(0, t.n, t.n);
	d.kind = PFS_KIND_STREAM;
	inst_run(&in, &s, &d, t.b);
	ck_assert_int_eq(s.n, 1);
	inst_close(&in);
}
END_TEST

START_TEST(engine_stats)
{
	struct inst in;
	char *st;

	use_engine(engines[_i]);
	inst_must_open(&in, "bpf=tcp");
	st = inst_conf_stats(&in);
	if (_i == 0)	/* JIT on x86-64 and arm64; the interpreter elsewhere */
		ck_assert_msg(strstr(st, "engine: rte_bpf "), "%s", st);
	else
		ck_assert_msg(strstr(st, _i == 1 ? "engine: rte_bpf interpreter\n"
					       : "engine: libpcap\n"), "%s", st);
	ck_assert_msg(strstr(st, "programs: 1\nlink_type_1: "), "%s", st);
	free(st);
	inst_close(&in);
	if (_i == 2)
		return;
	inst_must_open(&in, "bpf=ip6 protochain 6");
	st = inst_conf_stats(&in);
	ck_assert_msg(strstr(st, "engine: libpcap\n") &&
		      strstr(st, "link_type_1: libpcap (a loop (protochain)"), "%s", st);
	free(st);
	inst_close(&in);
}
END_TEST

/* Starting EAL pins its caller to an lcore: the caller's CPUs come back. */
START_TEST(eal_keeps_affinity)
{
	cpu_set_t before, after;
	struct inst in;

	ck_assert_int_eq(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
	inst_must_open(&in, "bpf=tcp");
	ck_assert_int_eq(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
	ck_assert(CPU_EQUAL(&before, &after));
	inst_close(&in);
}
END_TEST

/* ---- several producers on one stage ----
 *
 * One configuration, one per-producer state for each thread (as the graph
 * gives each producer its own): the stage's counts are their sums. */

enum { THREADS = 4, ROUNDS = 3000 };

struct worker {
	struct inst in;		/* a producer at the stage */
	int hits;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct frame t = tcp4();
	struct sink s;
	/* Ethernet, raw IP, SLL (not matching), in turns: new link types
	 * are compiled while other threads run */
	static const uint16_t lts[] = { 1, 101, 113, 12, 228 };

	sink_init(&s, -1);
	for (int i = 0; i < ROUNDS; i++) {
		uint16_t lt = lts[i % 5];
		uint32_t off = lt == 1 || lt == 113 ? 0 : 14;
		struct pfs_desc d = frame_desc(lt, t.n - off, t.n - off);
		inst_process(&w->in, &d, t.b + off, &s.out);
	}
	w->hits = s.n;
	return NULL;
}

START_TEST(threads)
{
	struct inst in;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	uint64_t matched = 0, not_matched = 0;

	inst_must_open(&in, "bpf=tcp port 80");
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .hits = 0 };
		inst_producer(&in, &w[i].in);
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].hits, ROUNDS / 5 * 4);
		ck_assert_uint_eq(inst_counter(&w[i].in, "matched"), (uint64_t)w[i].hits);
		matched += inst_counter(&w[i].in, "matched");
		not_matched += inst_counter(&w[i].in, "not_matched");
		inst_close(&w[i].in);
	}
	ck_assert_uint_eq(matched, 9600);
	ck_assert_uint_eq(not_matched, THREADS * ROUNDS - 9600);
	ck_assert_uint_eq(inst_counter(&in, "matched"), 0);	/* in's own producer ran none */
	char *st = inst_conf_stats(&in);
	ck_assert_msg(strstr(st, "programs: 5\n"), "%s", st);
	free(st);
	inst_close(&in);
}
END_TEST

/* ---- the corpus ---- */

/* One stage per expression and link type, kept across files (a stage
 * compiles for a few link types only, and rte_bpf_load() takes a while
 * for some). */
struct stages {
	const char *const *exprs;
	int nexprs, nlts;
	struct { uint16_t lt; struct inst *in; } lts[64];
};

static struct inst *stages_for(struct stages *st, uint16_t lt)
{
	char spec[256];
	int i = 0;

	while (i < st->nlts && st->lts[i].lt != lt)
		i++;
	if (i < st->nlts)
		return st->lts[i].in;
	ck_assert_int_lt(i, 64);
	st->lts[i].lt = lt;
	st->lts[i].in = calloc((size_t)st->nexprs, sizeof(struct inst));
	for (int e = 0; e < st->nexprs; e++) {
		snprintf(spec, sizeof spec, "bpf=%s", st->exprs[e]);
		inst_must_open(&st->lts[i].in[e], spec);
	}
	st->nlts++;
	return st->lts[i].in;
}

static void stages_close(struct stages *st)
{
	for (int i = 0; i < st->nlts; i++) {
		for (int e = 0; e < st->nexprs; e++)
			inst_close(&st->lts[i].in[e]);
		free(st->lts[i].in);
	}
}

/* against libpcap */

static const char *const exprs[] = {
	"tcp", "udp", "host 192.168.1.1", "net 10.0.0.0/8", "port 80",
	"portrange 1-1023", "tcp[tcpflags] & tcp-syn != 0", "vlan", "ip6",
	"len < 100", "greater 1000", "not tcp", "icmp or arp", "ip[8] < 64",
	"ether broadcast", "udp and not port 53", "vlan and (tcp or udp)",
	"ip6 protochain 6", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
	"ip[ether[0:4]] = 0x45", "(ether[0] << ether[1]) != 0",
	"ip[2:2] / ip[8] > 10", "ether[len - 1] != 0",
};
enum { NEXPRS = sizeof exprs / sizeof *exprs };

struct tally {
	struct stages st;
	int files, unreadable;
	uint64_t packets, compared, skipped, mismatches, hits[NEXPRS];
};

static void agree_file(const char *path, const char *name, void *arg)
{
	struct tally *t = arg;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	struct bpf_program ref[NEXPRS];
	bool skip[NEXPRS];
	struct pcap_pkthdr *h;
	const u_char *data;
	int shown = 0;

	if (!pc) {
		t->unreadable++;
		return;
	}
	t->files++;
	uint16_t lt = (uint16_t)pcap_datalink(pc);
	struct inst *in = stages_for(&t->st, lt);
	for (int i = 0; i < NEXPRS; i++) {
		skip[i] = pcap_compile(pc, &ref[i], exprs[i], 1, PCAP_NETMASK_UNKNOWN) != 0;
		t->skipped += skip[i];
	}
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pfs_desc d = frame_desc(lt, h->caplen, h->len);
		t->packets++;
		for (int i = 0; i < NEXPRS; i++) {
			struct sink s;
			sink_init(&s, -1);
			inst_run(&in[i], &s, &d, data);
			t->hits[i] += (uint64_t)s.n;
			if (skip[i]) {
				ck_assert_msg(s.n == 0, "%s: %s matches a link type it "
					      "cannot be compiled for", name, exprs[i]);
				continue;
			}
			t->compared++;
			int want = pcap_offline_filter(&ref[i], h, data) != 0;
			if (s.n != want && shown++ < 5)
				printf("bpf corpus: MISMATCH %s packet %llu: `%s` ours %d, "
				       "libpcap %d\n", name, (unsigned long long)t->packets,
				       exprs[i], s.n, want);
			t->mismatches += s.n != want;
		}
	}
	for (int i = 0; i < NEXPRS; i++)
		if (!skip[i])
			pcap_freecode(&ref[i]);
	pcap_close(pc);
}

START_TEST(corpus_agrees_with_libpcap)
{
	struct tally t = { .st = { exprs, NEXPRS, 0, { { 0, NULL } } } };

	use_engine(engines[_i]);
	if (!corpus_each(agree_file, &t))
		return;
	stages_close(&t.st);
	printf("bpf corpus (%s): %d files (%d not readable by libpcap), %llu packets, "
	       "%llu verdicts compared, %llu expression/file pairs skipped (no program "
	       "for the file's link type)\nbpf corpus: matches:", engines[_i] ? engines[_i]
	       : "default", t.files, t.unreadable, (unsigned long long)t.packets,
	       (unsigned long long)t.compared, (unsigned long long)t.skipped);
	for (int i = 0; i < NEXPRS; i++)
		printf(" `%s` %llu", exprs[i], (unsigned long long)t.hits[i]);
	printf("\n");
	ck_assert_msg(t.mismatches == 0, "%llu verdicts differ from libpcap's",
		      (unsigned long long)t.mismatches);
}
END_TEST

/* ---- the corpus against tcpdump ----
 *
 * One tcpdump per link type and expression reads all the files of that link
 * type (-V: a list of files; a file that ends early ends only itself), so
 * the counts are compared per link type.
 */

static const char *const tcpdump_exprs[] = {
	"tcp[tcpflags] & tcp-syn != 0", "udp and not port 53", "greater 1000 or icmp",
};
enum { NTCPDUMP = sizeof tcpdump_exprs / sizeof *tcpdump_exprs };

/* Files of one link type and byte order: `tcpdump -V` compiles the
 * expression once for them (on NULL, the AF_ value in the first file's
 * byte order). */
struct tcpdump_group {
	uint16_t lt;
	bool swapped;
	int files;
	FILE *list;		/* the files' paths, one a line */
	char list_path[64];
	long ours[NTCPDUMP];
};

struct tcpdump_tally {
	struct stages st;
	struct tcpdump_group g[64];
	int ngroups, files;
};

static struct tcpdump_group *group_for(struct tcpdump_tally *t, uint16_t lt, bool swapped)
{
	int i = 0;

	while (i < t->ngroups && (t->g[i].lt != lt || t->g[i].swapped != swapped))
		i++;
	if (i == t->ngroups) {
		struct tcpdump_group *g = &t->g[t->ngroups++];
		ck_assert_int_le(t->ngroups, 64);
		g->lt = lt;
		g->swapped = swapped;
		snprintf(g->list_path, sizeof g->list_path, "/tmp/pfs-bpf-test-XXXXXX");
		int fd = mkstemp(g->list_path);
		ck_assert_int_ge(fd, 0);
		g->list = fdopen(fd, "w");
		ck_assert_ptr_nonnull(g->list);
	}
	return &t->g[i];
}

static void tcpdump_file(const char *path, const char *name, void *arg)
{
	struct tcpdump_tally *t = arg;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	(void)name;
	if (!pc || strchr(path, '\n')) {
		if (pc)
			pcap_close(pc);
		return;
	}
	t->files++;
	uint16_t lt = (uint16_t)pcap_datalink(pc);
	struct tcpdump_group *g = group_for(t, lt, pcap_is_swapped(pc));
	struct inst *in = stages_for(&t->st, lt);
	fprintf(g->list, "%s\n", path);
	g->files++;
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pfs_desc d = frame_desc(lt, h->caplen, h->len);
		for (int i = 0; i < NTCPDUMP; i++) {
			struct sink s;
			sink_init(&s, -1);
			inst_run(&in[i], &s, &d, data);
			g->ours[i] += s.n;
		}
	}
	pcap_close(pc);
}

/* Packets `tcpdump -V list -w - expr` writes; -1 if none (it could not
 * compile the expression for the link type).  Its output is read whole
 * first: pcap_close() would fclose() a popen() stream. */
static long tcpdump_count(const char *list, const char *expr)
{
	char cmd[1024], errbuf[PCAP_ERRBUF_SIZE], *buf = NULL;
	size_t len = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	long n = -1;

	snprintf(cmd, sizeof cmd, "tcpdump -V %s -w - '%s' 2>/dev/null", list, expr);
	FILE *out = popen(cmd, "r"), *all = open_memstream(&buf, &len);
	ck_assert(out && all);
	for (int c; (c = getc(out)) != EOF;)
		putc(c, all);
	pclose(out);
	fclose(all);
	FILE *in = len ? fmemopen(buf, len, "r") : NULL;
	pcap_t *pc = in ? pcap_fopen_offline(in, errbuf) : NULL;
	if (pc) {
		for (n = 0; pcap_next_ex(pc, &h, &data) == 1; n++)
			;
		pcap_close(pc);		/* and in */
	} else if (in) {
		fclose(in);
	}
	free(buf);
	return n;
}

START_TEST(corpus_agrees_with_tcpdump)
{
	struct tcpdump_tally t = { .st = { tcpdump_exprs, NTCPDUMP, 0, { { 0, NULL } } } };
	int compared = 0, skipped = 0, differ = 0;

	if (system("tcpdump --version >/dev/null 2>&1") != 0) {
		printf("bpf tcpdump: SKIPPED: no tcpdump\n");
		return;
	}
	if (!corpus_each(tcpdump_file, &t))
		return;
	for (int i = 0; i < t.ngroups; i++) {
		struct tcpdump_group *g = &t.g[i];
		fclose(g->list);
		for (int e = 0; e < NTCPDUMP; e++) {
			long theirs = tcpdump_count(g->list_path, tcpdump_exprs[e]);
			if (theirs < 0) {
				skipped++;
				continue;
			}
			compared++;
			if (theirs != g->ours[e]) {
				differ++;
				printf("bpf tcpdump: MISMATCH link type %u%s (%d files) `%s`: "
				       "ours %ld, tcpdump %ld\n", g->lt,
				       g->swapped ? " swapped" : "", g->files,
				       tcpdump_exprs[e], g->ours[e], theirs);
			}
		}
		unlink(g->list_path);
	}
	stages_close(&t.st);
	printf("bpf tcpdump: %d files in %d link types and byte orders, %d group/expression counts "
	       "compared, %d skipped (tcpdump cannot compile the expression for the "
	       "link type), %d differ\n", t.files, t.ngroups, compared, skipped, differ);
	ck_assert_int_gt(compared, 0);
	ck_assert_int_eq(differ, 0);
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* kept if a check fails */
	Suite *s = suite_create("bpf");
	TCase *tc = tcase_create("frames");
	tcase_add_loop_test(tc, expressions, 0, NENGINES);
	tcase_add_loop_test(tc, truncated, 0, NENGINES);
	tcase_add_loop_test(tc, wire_length, 0, NENGINES);
	tcase_add_loop_test(tc, computed_offsets, 0, NENGINES);
	tcase_add_loop_test(tc, big_frame, 0, NENGINES);
	tcase_add_loop_test(tc, link_types, 0, NENGINES);
	tcase_add_loop_test(tc, engine_stats, 0, NENGINES);
	tcase_add_loop_test(tc, null_byte_orders, 0, NENGINES);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, eal_keeps_affinity);
	tcase_add_test(tc, too_many_link_types);
	tcase_add_test(tc, records);
	tcase_add_test(tc, threads);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	TCase *corpus = tcase_create("corpus");
	tcase_add_loop_test(corpus, corpus_agrees_with_libpcap, 0, 2);	/* rte_bpf engines */
	tcase_add_test(corpus, corpus_agrees_with_tcpdump);
	tcase_set_timeout(corpus, 600);
	suite_add_tcase(s, corpus);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
