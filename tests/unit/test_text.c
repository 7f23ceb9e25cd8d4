/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for `payload` and `text` (filters/payload.c, filters/text.c):
 * offsets and exact lines for hand-made records, then every packet of the
 * corpus through payload, text, and payload then text.
 */
#include <errno.h>
#include <pcap/pcap.h>

#include "tests/unit/frames.h"

/* The filter's counters are exactly `names` (in order), at `values`, and
 * it says nothing more about its configuration. */
static void check_counters(const struct inst *in, const char *const *names,
			   const uint64_t *values)
{
	size_t i = 0;

	ck_assert_ptr_nonnull(in->f->counters);
	for (; names[i]; i++) {
		ck_assert_ptr_nonnull(in->f->counters[i]);
		ck_assert_str_eq(in->f->counters[i], names[i]);
		ck_assert_msg(inst_counter(in, names[i]) == values[i], "%s: %llu, not %llu",
			      names[i], (unsigned long long)inst_counter(in, names[i]),
			      (unsigned long long)values[i]);
	}
	ck_assert_ptr_null(in->f->counters[i]);
	char *conf = inst_conf_stats(in);
	ck_assert_str_eq(conf, "");
	free(conf);
}

/* ---- payload ---- */

/* Runs d through `payload`; returns how many records it handed on (the
 * first in *out, its data at *at).  It must never make bytes. */
static int narrow(const struct pfs_desc *d, const uint8_t *data, struct pfs_desc *out,
		  const uint8_t **at)
{
	struct inst in;
	struct sink s;

	inst_must_open(&in, "payload");
	sink_init(&s, -1);
	inst_run(&in, &s, d, data);
	inst_close(&in);
	if (s.n) {
		*out = s.d[0];
		*at = s.data[0];
	}
	return s.n;
}

/* The frame narrowed to `len` bytes at `off`, zero copy; narrowing again
 * changes nothing. */
static void narrows_to(const struct frame *f, uint32_t caplen, uint32_t off, uint32_t len)
{
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, caplen, f->n), n, again;
	const uint8_t *at, *at2;

	ck_assert_int_eq(narrow(&d, f->b, &n, &at), 1);
	ck_assert_ptr_eq(at, f->b + off);
	ck_assert_uint_eq(n.pos, d.pos + off);
	ck_assert_uint_eq(n.len, len);
	ck_assert_uint_eq(n.head_room, off);
	ck_assert_uint_eq(n.wire_len, f->n);
	ck_assert_uint_eq(n.kind, PFS_KIND_FRAME);
	ck_assert_uint_eq(n.link_type, PFS_LT_ETHERNET);
	ck_assert_uint_eq(n.ts_ns, d.ts_ns);
	ck_assert_int_eq(narrow(&n, at, &again, &at2), 1);
	ck_assert_mem_eq(&again, &n, sizeof n);
	ck_assert_ptr_eq(at2, at);
}

static int dropped(const struct frame *f, uint32_t caplen)
{
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, caplen, f->n), n;
	const uint8_t *at;
	return narrow(&d, f->b, &n, &at) == 0;
}

START_TEST(payload_tcp_options)
{
	struct frame f = { .n = 0 };

	ether(&f, 0x0800);
	ip4(&f, 6, 20 + 32 + 5);
	tcp(&f, 1234, 80, 0x18, 12);
	text(&f, "hello");
	narrows_to(&f, f.n, 66, 5);
	narrows_to(&f, 68, 66, 2);		/* cut capture: what is there */
	ck_assert(dropped(&f, 66));		/* nothing captured past the header */
	ck_assert(dropped(&f, 50));		/* TCP header cut short */
	ck_assert(dropped(&f, 30));		/* IP header cut short */
}
END_TEST

START_TEST(payload_udp_and_padding)
{
	struct frame f = { .n = 0 };

	ether(&f, 0x0800);
	ip4(&f, 17, 20 + 8 + 3);
	udp(&f, 53, 5353, 11);
	text(&f, "abc");
	bytes(&f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 19);	/* Ethernet padding */
	narrows_to(&f, f.n, 42, 3);
}
END_TEST

START_TEST(payload_ipv6_extension_headers)
{
	static const uint8_t hop[8] = { 60, 0, 1, 4, 0, 0, 0, 0 };	/* next: dstopts */
	static const uint8_t dst[16] = { 17, 1, 1, 12 };		/* next: UDP */
	struct frame f = { .n = 0 };

	ether(&f, 0x86dd);
	ip6(&f, 0, 8 + 16 + 8 + 4);
	bytes(&f, hop, sizeof hop);
	bytes(&f, dst, sizeof dst);
	udp(&f, 1, 2, 12);
	text(&f, "data");
	narrows_to(&f, f.n, 14 + 40 + 8 + 16 + 8, 4);
	ck_assert(dropped(&f, 14 + 40 + 8 + 10));	/* destination options cut */
}
END_TEST

START_TEST(payload_other_protocols)
{
	struct frame f = { .n = 0 };

	ether(&f, 0x0800);		/* ICMP: all after the IP header */
	ip4(&f, 1, 20 + 8 + 2);
	bytes(&f, "\x08\0\0\0\0\1\0\1hi", 10);
	narrows_to(&f, f.n, 34, 10);

	f.n = 0;			/* a later fragment of a TCP packet */
	ether(&f, 0x0800);
	ip4(&f, 6, 20 + 6);
	f.b[20] = 0x00, f.b[21] = 0x10;	/* offset 128 bytes */
	text(&f, "middle");
	narrows_to(&f, f.n, 34, 6);

	f.n = 0;			/* a SYN: no payload */
	ether(&f, 0x0800);
	ip4(&f, 6, 40);
	tcp(&f, 1, 2, 0x02, 0);
	ck_assert(dropped(&f, f.n));

	f.n = 0;			/* not IP */
	ether(&f, 0x0806);
	bytes(&f, "\0\1\x08\0\6\4\0\1", 8);
	ck_assert(dropped(&f, f.n));
}
END_TEST

/* Records that are no frames are payload already; classifiers and bpf see
 * a narrowed record by its frame. */
START_TEST(payload_records)
{
	struct frame f = { .n = 0 };
	struct pfs_desc d = frame_desc(0, 5, 5), n;
	const uint8_t *at;
	struct inst in;
	struct sink s;

	d.kind = PFS_KIND_STREAM;
	ck_assert_int_eq(narrow(&d, (const uint8_t *)"hello", &n, &at), 1);
	ck_assert_mem_eq(&n, &d, sizeof d);

	ether(&f, 0x0800);
	ip4(&f, 6, 20 + 20 + 5);
	tcp(&f, 1234, 80, 0x18, 0);
	text(&f, "hello");
	d = frame_desc(PFS_LT_ETHERNET, f.n, f.n);
	ck_assert_int_eq(narrow(&d, f.b, &n, &at), 1);
	static const char *const specs[] = { "tcp", "port=80", "host=10.0.0.2",
					     "bpf=tcp dst port 80 and len = 59" };
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		inst_must_open(&in, specs[i]);
		sink_init(&s, -1);
		inst_run(&in, &s, &n, at);
		inst_close(&in);
		ck_assert_msg(s.n == 1, "%s does not pass a narrowed record", specs[i]);
	}
}
END_TEST

START_TEST(payload_stats)
{
	struct frame f = { .n = 0 };
	struct pfs_desc d;
	struct inst in;
	struct sink s;

	ether(&f, 0x0800);
	ip4(&f, 17, 20 + 8 + 1);
	udp(&f, 1, 2, 9);
	text(&f, "x");
	inst_must_open(&in, "payload");
	sink_init(&s, -1);
	d = frame_desc(PFS_LT_ETHERNET, f.n, f.n);
	inst_run(&in, &s, &d, f.b);
	d.len = 40;				/* UDP header cut short */
	inst_run(&in, &s, &d, f.b);
	d.kind = PFS_KIND_HTTP;
	inst_run(&in, &s, &d, f.b);
	ck_assert_int_eq(s.n, 2);
	check_counters(&in, (const char *const[]){ "narrowed", "dropped", "passed", NULL },
		       (const uint64_t[]){ 1, 1, 1 });
	inst_close(&in);
}
END_TEST

START_TEST(payload_args)
{
	static const char *const bad[] = { "payload=1", "text=1", "payload=", "text=" };
	char err[PFS_ERR_LEN];
	struct inst in;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(inst_open(&in, bad[i], err, sizeof err) == -EINVAL,
			      "%s was accepted", bad[i]);
		ck_assert_msg(strstr(err, "takes no arguments"), "%s: %s", bad[i], err);
		ck_assert_ptr_null(in.conf);
		ck_assert_ptr_null(in.pstate);
	}
}
END_TEST

/* ---- text ---- */

/* The line `text` makes of a record (with wire length wire for frames). */
/* The flow header before the last line line_of made. */
static struct pfs_flow_meta last_flow;

static const char *line_of(const struct pfs_desc *d, const uint8_t *data)
{
	static char line[1024];
	struct inst in;
	struct sink s;

	inst_must_open(&in, "text");
	sink_init(&s, 0);
	inst_run(&in, &s, d, data);
	inst_close(&in);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.allocs, 1);
	ck_assert_uint_eq(s.d[0].kind, PFS_KIND_TEXT);
	ck_assert_uint_eq(s.d[0].len, s.d[0].wire_len);
	ck_assert_uint_eq(s.d[0].ts_ns, d->ts_ns);
	ck_assert_uint_eq(s.d[0].flow_hash, d->flow_hash);
	ck_assert_uint_le(s.d[0].len, 512);
	ck_assert_ptr_eq(s.data[0], s.room + (s.d[0].pos - 1000000));
	/* the flow header goes first, in the same block */
	ck_assert_uint_eq(s.d[0].head_room, sizeof last_flow);
	ck_assert_uint_eq(s.d[0].pos, 1000000 + sizeof last_flow);
	memcpy(&last_flow, s.data[0] - sizeof last_flow, sizeof last_flow);
	memcpy(line, s.data[0], s.d[0].len);
	line[s.d[0].len] = 0;
	return line;
}

static const char *frame_line(const struct frame *f, uint16_t lt, uint32_t wire)
{
	struct pfs_desc d = frame_desc(lt, f->n, wire);
	return line_of(&d, f->b);
}

START_TEST(text_frames)
{
	struct frame f = { .n = 0 };

	ether(&f, 0x0800);
	ip4(&f, 6, 44);
	tcp(&f, 1234, 80, 0x02, 0);
	text(&f, "GET ");
	ck_assert_str_eq(frame_line(&f, 1, 1500), "1700000000.123456 tcp 10.0.0.1:1234 > "
			 "10.0.0.2:80 len 1500 \"GET \"\n");
	/* the flow header before the line says the same */
	struct pfs_flow_meta tcp4 = { .family = 4, .proto = 6, .src_port = 1234,
				      .dst_port = 80, .src = { 10, 0, 0, 1 },
				      .dst = { 10, 0, 0, 2 } };
	ck_assert_mem_eq(&last_flow, &tcp4, sizeof tcp4);

	f.n = 0;
	ether(&f, 0x86dd);
	ip6(&f, 17, 12);
	udp(&f, 5353, 53, 12);
	text(&f, "abcd");
	ck_assert_str_eq(frame_line(&f, 1, f.n), "1700000000.123456 udp [fd77::1]:5353 > "
			 "[fd77::2]:53 len 66 \"abcd\"\n");

	f.n = 0;
	ether(&f, 0x86dd);
	ip6(&f, 58, 8);
	bytes(&f, "\x80\0\0\0\0\1\0\1", 8);
	ck_assert_str_eq(frame_line(&f, 1, f.n), "1700000000.123456 icmp6 fd77::1 > fd77::2 "
			 "len 62 \"........\"\n");
	/* addresses, no ports */
	ck_assert_uint_eq(last_flow.family, 6);
	ck_assert_uint_eq(last_flow.proto, 0);
	ck_assert_uint_eq(last_flow.src[15], 1);
	ck_assert_uint_eq(last_flow.dst[15], 2);

	f.n = 0;
	ether(&f, 0x0806);
	bytes(&f, "\0\1\x08\0\6\4\0\1\2\0\0\0\0\1\x0a\0\0\1\0\0\0\0\0\0\x0a\0\0\2", 28);
	ck_assert_str_eq(frame_line(&f, 1, f.n), "1700000000.123456 arp 10.0.0.1 > 10.0.0.2 "
			 "len 42 \"\"\n");
	ck_assert_uint_eq(last_flow.family, 0);	/* no IP flow */

	f.n = 0;
	ether(&f, 0x88cc);
	text(&f, "\x02\x07\x04lldp");
	ck_assert_str_eq(frame_line(&f, 1, 60), "1700000000.123456 0x88cc 02:00:00:00:00:02 > "
			 "02:00:00:00:00:01 len 60 \"...lldp\"\n");

	ck_assert_str_eq(frame_line(&f, 147, 60), "1700000000.123456 ? - > - len 60 "
			 "\".................lldp\"\n");
	f.n = 0;
	ether(&f, 0x0800);
	ip4(&f, 6, 40);		/* a truncated TCP header: no ports */
	ck_assert_str_eq(frame_line(&f, 1, 80), "1700000000.123456 ip 10.0.0.1 > 10.0.0.2 "
			 "len 80 \"\"\n");
}
END_TEST

START_TEST(text_preview)
{
	struct frame f = { .n = 0 };
	char want[256] = "1700000000.123456 udp 10.0.0.1:1 > 10.0.0.2:2 len 122 "
			 "\"a.b.c.d..... z";

	ether(&f, 0x0800);
	ip4(&f, 17, 20 + 8 + 80);
	udp(&f, 1, 2, 88);
	bytes(&f, "a\0b\"c\\d\n\r\t\x7f\xff z", 14);
	for (int i = 0; i < 66; i++)
		text(&f, "x");
	for (int i = 0; i < 64 - 14; i++)	/* 64 bytes shown */
		strcat(want, "x");
	strcat(want, "\"\n");
	ck_assert_str_eq(frame_line(&f, 1, f.n), want);
}
END_TEST

/* payload's records keep their frame's protocol, addresses and length. */
START_TEST(text_narrowed)
{
	struct frame f = { .n = 0 };

	ether(&f, 0x0800);
	ip4(&f, 6, 20 + 20 + 5);
	tcp(&f, 1234, 80, 0x18, 0);
	text(&f, "hello");
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, 5, 1514);
	d.head_room = 54;
	ck_assert_str_eq(line_of(&d, f.b + 54), "1700000000.123456 tcp 10.0.0.1:1234 > "
			 "10.0.0.2:80 len 1514 \"hello\"\n");
}
END_TEST

/* An HTTP request record: the connection (struct pfs_flow_meta) first. */
static const char *http_line(const struct pfs_flow_meta *m, const char *req)
{
	size_t n = strlen(req);
	uint8_t *b = malloc(sizeof *m + n);
	struct pfs_desc d = frame_desc(0, (uint32_t)n, (uint32_t)n);

	memcpy(b, m, sizeof *m);
	memcpy(b + sizeof *m, req, n);
	d.kind = PFS_KIND_HTTP;
	d.head_room = sizeof *m;
	const char *l = line_of(&d, b + sizeof *m);
	free(b);
	return l;
}

START_TEST(text_http)
{
	struct pfs_flow_meta m4 = { .family = 4, .proto = 6, .src_port = 51000, .dst_port = 80,
				    .src = { 192, 168, 1, 10 }, .dst = { 93, 184, 216, 34 } };
	struct pfs_flow_meta m6 = { .family = 6, .proto = 6, .src_port = 51000,
				    .dst_port = 8080, .src = { 0x20, 1, 0xd, 0xb8, [15] = 1 },
				    .dst = { 0x20, 1, 0xd, 0xb8, [15] = 2 } };
	char big[3000] = "GET /";

	ck_assert_str_eq(http_line(&m4, "GET /index.html?q=1 HTTP/1.1\r\nUser-Agent: x\r\n"
				   "hOsT:  example.com \r\n\r\n"),
			 "1700000000.123456 192.168.1.10:51000 > 93.184.216.34:80 GET "
			 "example.com /index.html?q=1\n");
	ck_assert_mem_eq(&last_flow, &m4, sizeof m4);	/* the request's connection */
	ck_assert_str_eq(http_line(&m6, "POST /submit HTTP/1.0\r\nContent-Length: 2\r\n\r\n"
				   "Host: not-a-header"),
			 "1700000000.123456 [2001:db8::1]:51000 > [2001:db8::2]:8080 POST - "
			 "/submit\n");
	ck_assert_str_eq(http_line(&m4, "GET /\x01\"x HTTP/1.1\r\nHost: a b\r\n\r\n"),
			 "1700000000.123456 192.168.1.10:51000 > 93.184.216.34:80 GET a.b "
			 "/..x\n");
	ck_assert_str_eq(http_line(&m4, "\r\n"), "1700000000.123456 192.168.1.10:51000 > "
			 "93.184.216.34:80 - - -\n");
	memset(big + 5, 'u', 2000);
	strcat(big, " HTTP/1.1\r\nHost: h\r\n\r\n");
	const char *l = http_line(&m4, big);
	ck_assert_uint_eq(strlen(l), 512);
	ck_assert_int_eq(l[511], '\n');
	ck_assert(!strncmp(l, "1700000000.123456 192.168.1.10:51000 > 93.184.216.34:80 GET h "
			   "/uuu", 66));

	struct pfs_desc d = frame_desc(0, 10, 10);	/* no meta: no addresses */
	d.kind = PFS_KIND_HTTP;
	ck_assert_str_eq(line_of(&d, (const uint8_t *)"GET / HTTP"),
			 "1700000000.123456 - > - GET - /\n");
}
END_TEST

START_TEST(text_streams)
{
	struct pfs_desc d = frame_desc(0, 12, 12);

	d.kind = PFS_KIND_STREAM;
	ck_assert_str_eq(line_of(&d, (const uint8_t *)"hello world\n"),
			 "1700000000.123456 stream abcdef01 len 12 \"hello world.\"\n");
	ck_assert_uint_eq(last_flow.family, 0);	/* a written stream has no flow */
	d.kind = PFS_KIND_TEXT;
	d.len = 0;
	ck_assert_str_eq(line_of(&d, (const uint8_t *)""),
			 "1700000000.123456 stream abcdef01 len 0 \"\"\n");
	/* a line about a text line keeps the flow the first one described */
	struct {
		struct pfs_flow_meta m;
		char line[4];
	} rec = { { .family = 4, .proto = 17, .src_port = 5353, .dst_port = 53,
		    .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } }, "ab\n" };
	d.len = 3;
	d.head_room = sizeof rec.m;
	line_of(&d, (const uint8_t *)rec.line);
	ck_assert_mem_eq(&last_flow, &rec.m, sizeof rec.m);
}
END_TEST

/* A line that finds no room in the ring is not made (the scheduler
 * counts it in the node's drops). */
static uint8_t *no_room(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	(void)o, (void)len, (void)d;
	return NULL;
}

START_TEST(text_no_room)
{
	struct pfs_desc d = frame_desc(0, 2, 2);
	struct inst in;
	struct sink s;

	d.kind = PFS_KIND_STREAM;
	inst_must_open(&in, "text");
	sink_init(&s, 0);
	inst_run(&in, &s, &d, (const uint8_t *)"hi");
	s.out.alloc = no_room;
	inst_run(&in, &s, &d, (const uint8_t *)"hi");
	ck_assert_int_eq(s.n, 1);
	check_counters(&in, (const char *const[]){ "lines", NULL },
		       (const uint64_t[]){ 1 });
	inst_close(&in);
}
END_TEST

/* ---- the corpus ---- */

struct corpus_tally {
	struct inst payload, text;
	uint64_t packets, narrowed, lines;
};

/* A line of `text`: printable ASCII, one '\n' at its end, at most 512. */
static void check_line(const struct sink *s, const char *file)
{
	ck_assert_int_eq(s->n, 1);
	const uint8_t *l = s->data[0];
	uint32_t n = s->d[0].len;
	ck_assert_msg(n >= 2 && n <= 512 && l[n - 1] == '\n', "%s: line of %u bytes", file, n);
	for (uint32_t i = 0; i + 1 < n; i++)
		ck_assert_msg(l[i] >= 0x20 && l[i] < 0x7f, "%s: byte %u of a line is %#x",
			      file, i, l[i]);
}

static void corpus_file(const char *path, const char *name, void *arg)
{
	struct corpus_tally *t = arg;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	if (!pc)
		return;
	uint16_t lt = (uint16_t)pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pfs_desc d = frame_desc(lt, h->caplen, h->len);
		struct sink s;

		t->packets++;
		sink_init(&s, 0);
		inst_run(&t->text, &s, &d, data);
		check_line(&s, name);
		sink_init(&s, -1);
		inst_run(&t->payload, &s, &d, data);
		ck_assert_int_le(s.n, 1);
		if (!s.n)
			continue;
		struct pfs_desc n = s.d[0];
		const uint8_t *at = s.data[0];
		t->narrowed++;
		ck_assert_msg(at >= data && at + n.len <= data + h->caplen && n.len > 0 &&
			      at - data == n.head_room && n.pos == d.pos + n.head_room,
			      "%s: payload %u bytes at %u of %u", name, n.len, n.head_room,
			      h->caplen);
		sink_init(&s, -1);
		inst_run(&t->payload, &s, &n, at);	/* narrowing again: the same */
		ck_assert_int_eq(s.n, 1);
		ck_assert_mem_eq(&s.d[0], &n, sizeof n);
		sink_init(&s, 0);
		inst_run(&t->text, &s, &n, at);
		check_line(&s, name);
		t->lines++;
	}
	pcap_close(pc);
}

START_TEST(corpus_through_payload_and_text)
{
	struct corpus_tally t = { .packets = 0 };

	inst_must_open(&t.payload, "payload");
	inst_must_open(&t.text, "text");
	int files = corpus_each(corpus_file, &t);
	printf("text corpus: %d files, %llu packets, %llu with a payload\n", files,
	       (unsigned long long)t.packets, (unsigned long long)t.narrowed);
	/* every packet and every narrowed record made a line; payload saw
	 * each packet once and each narrowed record again */
	ck_assert_uint_eq(inst_counter(&t.text, "lines"), t.packets + t.lines);
	ck_assert_uint_eq(inst_counter(&t.payload, "narrowed"), 2 * t.narrowed);
	ck_assert_uint_eq(inst_counter(&t.payload, "dropped"), t.packets - t.narrowed);
	ck_assert_uint_eq(inst_counter(&t.payload, "passed"), 0);
	inst_close(&t.payload);
	inst_close(&t.text);
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* kept if a check fails */
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("records");
	tcase_add_test(tc, payload_tcp_options);
	tcase_add_test(tc, payload_udp_and_padding);
	tcase_add_test(tc, payload_ipv6_extension_headers);
	tcase_add_test(tc, payload_other_protocols);
	tcase_add_test(tc, payload_records);
	tcase_add_test(tc, payload_args);
	tcase_add_test(tc, payload_stats);
	tcase_add_test(tc, text_frames);
	tcase_add_test(tc, text_preview);
	tcase_add_test(tc, text_narrowed);
	tcase_add_test(tc, text_http);
	tcase_add_test(tc, text_streams);
	tcase_add_test(tc, text_no_room);
	suite_add_tcase(s, tc);
	TCase *corpus = tcase_create("corpus");
	tcase_add_test(corpus, corpus_through_payload_and_text);
	tcase_set_timeout(corpus, 600);
	suite_add_tcase(s, corpus);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
