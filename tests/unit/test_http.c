/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for `http` and `method=M` (filters/http.c) through the
 * filter interface: frames of crafted TCP connections (in order, split,
 * pipelined, shuffled, repeated, overlapping, lost), written byte
 * streams, and HTTP records; every request that arrived whole must come
 * out once, byte for byte, in place when it lay in one segment.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "filters/http.h"
#include "filters/httpframe.h"
#include "filters/limits.h"
#include "tests/unit/frames.h"

#define MAX_RECS 512

/* A pfs_out that keeps a copy of every record (and of the bytes before
 * it that head_room says are its frame's or its meta), and says whether
 * it pointed into the record processed (in place) or at new bytes. */
struct coll {
	struct pfs_out out;
	int n;
	struct pfs_desc d[MAX_RECS];
	uint8_t *bytes[MAX_RECS];	/* head_room + len bytes */
	bool in_place[MAX_RECS];
	const uint8_t *in_lo, *in_hi;	/* the record being processed */
	uint8_t *room;
	size_t used;
};

static void coll_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct coll *c = (struct coll *)o;
	ck_assert_int_lt(c->n, MAX_RECS);
	c->d[c->n] = *d;
	c->bytes[c->n] = malloc((size_t)d->head_room + d->len + 1);
	ck_assert_ptr_nonnull(c->bytes[c->n]);
	memcpy(c->bytes[c->n], data - d->head_room, (size_t)d->head_room + d->len);
	c->in_place[c->n] = data >= c->in_lo && data < c->in_hi;
	c->n++;
}

static uint8_t *coll_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	struct coll *c = (struct coll *)o;
	ck_assert_uint_le(len, 1u << 20);
	if (c->used + len > (4u << 20))
		c->used = 0;
	d->pos = 1u << 30 | c->used;
	d->dbuf = 9;
	d->len = len;
	c->used += len;
	return c->room + c->used - len;
}

static void coll_init(struct coll *c)
{
	memset(c, 0, sizeof *c);
	c->out.emit = coll_emit;
	c->out.alloc = coll_alloc;
	c->room = malloc(4u << 20);
	ck_assert_ptr_nonnull(c->room);
}

static void coll_free(struct coll *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->bytes[i]);
	free(c->room);
}

/* Record i's request bytes. */
static const uint8_t *req_of(const struct coll *c, int i)
{
	return c->bytes[i] + c->d[i].head_room;
}

static void is_req(const struct coll *c, int i, const char *want)
{
	ck_assert_int_gt(c->n, i);
	ck_assert_uint_eq(c->d[i].kind, PFS_KIND_HTTP);
	ck_assert_uint_eq(c->d[i].len, strlen(want));
	ck_assert_msg(!memcmp(req_of(c, i), want, strlen(want)), "record %d: %.*s", i,
		      (int)c->d[i].len, req_of(c, i));
}

/* A pseudo-random number from the caller's `seed` (reproducible). */
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 16)

/* ---- crafted connections ---- */

static const uint8_t cli4[4] = { 192, 168, 1, 10 }, srv4[4] = { 192, 168, 1, 1 };

/* An Ethernet/IPv4/TCP frame; `pad` bytes of Ethernet padding after. */
static void tcp_frame(struct frame *f, bool from_client, uint8_t flags, uint32_t seq,
		      uint32_t ack, const void *p, uint32_t len, uint32_t pad)
{
	uint16_t tot = (uint16_t)(20 + 20 + len);
	uint8_t ip[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0, 1, 0, 0, 64, 6 };
	uint8_t th[20] = { 0 };
	uint16_t sp = from_client ? 40000 : 8080, dp = from_client ? 8080 : 40000;

	f->n = 0;
	ether(f, 0x0800);
	memcpy(ip + 12, from_client ? cli4 : srv4, 4);
	memcpy(ip + 16, from_client ? srv4 : cli4, 4);
	bytes(f, ip, 20);
	th[0] = (uint8_t)(sp >> 8), th[1] = (uint8_t)sp;
	th[2] = (uint8_t)(dp >> 8), th[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		th[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		th[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	th[12] = 5 << 4;
	th[13] = flags;
	bytes(f, th, 20);
	bytes(f, p, len);
	for (uint32_t i = 0; i < pad; i++)
		bytes(f, "\0", 1);
}

/* One frame through the stage, as the graph runs it. */
static void run_frame(struct inst *in, struct coll *c, const struct frame *f)
{
	uint8_t *copy = malloc(f->n);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, f->b, f->n);
	struct pfs_desc d = frame_desc(PFS_LT_ETHERNET, f->n, f->n);
	c->in_lo = copy;
	c->in_hi = copy + f->n;
	inst_process(in, &d, copy, &c->out);
	free(copy);	/* what was handed on in place was copied by coll */
}

static void send_seg(struct inst *in, struct coll *c, bool from_client, uint8_t flags,
		     uint32_t seq, uint32_t ack, const void *p, uint32_t len)
{
	struct frame f;
	tcp_frame(&f, from_client, flags, seq, ack, p, len, 0);
	run_frame(in, c, &f);
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08
#define FIN 0x01

enum { CISN = 1000, SISN = 90000 };

static void handshake(struct inst *in, struct coll *c)
{
	send_seg(in, c, true, SYN, CISN, 0, NULL, 0);
	send_seg(in, c, false, SYN | ACK, SISN, CISN + 1, NULL, 0);
	send_seg(in, c, true, ACK, CISN + 1, SISN + 1, NULL, 0);
}

/* Client bytes s[off, off + len) of its stream. */
static void csend(struct inst *in, struct coll *c, const char *s, uint32_t off, uint32_t len)
{
	send_seg(in, c, true, ACK | PSH, CISN + 1 + off, SISN + 1, s + off, len);
}

static const char get1[] = "GET /one HTTP/1.1\r\nHost: example.org\r\n\r\n";

START_TEST(one_segment_in_place)
{
	struct inst in;
	struct coll c;
	struct pfs_flow_meta m;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, get1, 0, sizeof get1 - 1);
	ck_assert_int_eq(c.n, 1);
	is_req(&c, 0, get1);
	ck_assert(c.in_place[0]);
	ck_assert_uint_eq(c.d[0].head_room, 54);
	ck_assert_uint_eq(c.d[0].flags & PFS_REC_IN_FRAME, PFS_REC_IN_FRAME);
	ck_assert_uint_eq(c.d[0].pos, 4096 + 54);
	ck_assert(pfs_record_flow(&c.d[0], req_of(&c, 0), &m));
	ck_assert_uint_eq(m.family, 4);
	ck_assert_mem_eq(m.src, cli4, 4);
	ck_assert_mem_eq(m.dst, srv4, 4);
	ck_assert_uint_eq(m.src_port, 40000);
	ck_assert_uint_eq(m.dst_port, 8080);
	ck_assert_uint_eq(inst_counter(&in, "requests"), 1);
	ck_assert_uint_eq(inst_counter(&in, "copied"), 0);
	ck_assert_uint_eq(inst_counter(&in, "connections"), 1);

	/* text shows it: the frame's ends */
	struct inst text;
	struct sink s;
	inst_must_open(&text, "text");
	sink_init(&s, 0);
	inst_run(&text, &s, &c.d[0], req_of(&c, 0));
	ck_assert_int_eq(s.n, 1);
	char line[256];
	snprintf(line, sizeof line, "%.*s", (int)s.d[0].len, (const char *)s.data[0]);
	ck_assert_str_eq(line, "1700000000.123456 192.168.1.10:40000 > 192.168.1.1:8080 "
			       "GET example.org /one\n");
	inst_close(&text);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(spanning_segments_copied)
{
	static const char post[] = "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello=world";
	struct inst in;
	struct coll c;
	struct pfs_flow_meta m;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, post, 0, 10);
	csend(&in, &c, post, 10, 40);
	ck_assert_int_eq(c.n, 0);
	csend(&in, &c, post, 50, sizeof post - 1 - 50);
	ck_assert_int_eq(c.n, 1);
	is_req(&c, 0, post);
	ck_assert(!c.in_place[0]);
	ck_assert_uint_eq(c.d[0].head_room, sizeof m);
	ck_assert_uint_eq(c.d[0].flags & PFS_REC_IN_FRAME, 0);
	ck_assert(pfs_record_flow(&c.d[0], req_of(&c, 0), &m));
	ck_assert_mem_eq(m.src, cli4, 4);
	ck_assert_uint_eq(m.dst_port, 8080);
	ck_assert_uint_eq(inst_counter(&in, "copied"), 1);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(pipelined_and_keep_alive)
{
	static const char three[] = "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n"
				    "PUT /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzDELETE /d HTTP/1.1\r\n\r\n";
	struct inst in;
	struct coll c;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, three, 0, sizeof three - 1 - 10);
	csend(&in, &c, three, sizeof three - 1 - 10, 10);
	ck_assert_int_eq(c.n, 4);
	is_req(&c, 0, "GET /a HTTP/1.1\r\n\r\n");
	is_req(&c, 1, "HEAD /b HTTP/1.1\r\n\r\n");
	is_req(&c, 2, "PUT /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz");
	is_req(&c, 3, "DELETE /d HTTP/1.1\r\n\r\n");
	ck_assert(c.in_place[0] && c.in_place[1] && c.in_place[2] && !c.in_place[3]);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(responses_are_no_requests)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n"
				   "GET /quoted HTTP/1.1\r\n\r\n";
	struct inst in;
	struct coll c;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, get1, 0, sizeof get1 - 1);
	send_seg(&in, &c, false, ACK | PSH, SISN + 1, CISN + sizeof get1, resp, sizeof resp - 1);
	ck_assert_int_eq(c.n, 1);

	/* the same, seen from the middle (no SYN): found by what they say */
	struct inst mid;
	struct coll m;
	inst_must_open(&mid, "http");
	coll_init(&m);
	send_seg(&mid, &m, false, ACK | PSH, SISN + 1, CISN + sizeof get1, resp, sizeof resp - 1);
	csend(&mid, &m, "\r\nGET /next HTTP/1.1\r\n\r\n", 0, 24);
	ck_assert_int_eq(m.n, 1);
	is_req(&m, 0, "GET /next HTTP/1.1\r\n\r\n");
	inst_close(&mid);
	coll_free(&m);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* Bad requests are counted and skipped to the next request line, never
 * merged with it; chunked wins over Content-Length, counted. */
START_TEST(bad_and_suspicious)
{
	static const char s[] = "POST /bad HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"
				"\r\nGET /ok HTTP/1.1\r\n\r\n"
				"POST /both HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
				"1\r\nz\r\n0\r\n\r\n";
	struct inst in;
	struct coll c;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, s, 0, sizeof s - 1);
	ck_assert_int_eq(c.n, 2);
	is_req(&c, 0, "GET /ok HTTP/1.1\r\n\r\n");
	is_req(&c, 1, strstr(s, "POST /both"));
	ck_assert_uint_eq(inst_counter(&in, "bad_requests"), 1);
	ck_assert_uint_eq(inst_counter(&in, "suspicious"), 1);
	ck_assert_uint_gt(inst_counter(&in, "skipped_bytes"), 0);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* Expect: 100-continue: the head, the server's 100, then the body: one
 * request, head and body (RFC 9110 §10.1.1). */
START_TEST(expect_continue)
{
	static const char head[] = "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct inst in;
	struct coll c;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, head, 0, sizeof head - 1);
	send_seg(&in, &c, false, ACK | PSH, SISN + 1, CISN + sizeof head, cont, sizeof cont - 1);
	ck_assert_int_eq(c.n, 0);
	send_seg(&in, &c, true, ACK | PSH, CISN + sizeof head, SISN + sizeof cont, "hello", 5);
	ck_assert_int_eq(c.n, 1);
	ck_assert_uint_eq(c.d[0].len, sizeof head - 1 + 5);
	ck_assert(!memcmp(req_of(&c, 0), head, sizeof head - 1));
	ck_assert_uint_eq(inst_counter(&in, "expect_continue"), 1);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(ethernet_padding)
{
	static const char tiny[] = "GET / HTTP/1.0\n\n";	/* under Ethernet's minimum */
	struct inst in;
	struct coll c;
	struct frame f;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	tcp_frame(&f, true, ACK, CISN + 1, SISN + 1, tiny, sizeof tiny - 1, 20);
	run_frame(&in, &c, &f);
	tcp_frame(&f, true, ACK, CISN + 1 + sizeof tiny - 1, SISN + 1, tiny, sizeof tiny - 1, 20);
	run_frame(&in, &c, &f);
	ck_assert_int_eq(c.n, 2);
	is_req(&c, 0, tiny);
	is_req(&c, 1, tiny);
	ck_assert_uint_eq(inst_counter(&in, "bad_requests"), 0);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(too_large_for_a_record)
{
	uint32_t body = PFS_HTTP_MAX_RECORD + 5000;
	char head[128];
	int hl = snprintf(head, sizeof head, "POST /big HTTP/1.1\r\nContent-Length: %u\r\n\r\n", body);
	size_t total = (size_t)hl + body + sizeof get1 - 1;
	char *s = malloc(total);
	struct inst in;
	struct coll c;

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, (size_t)hl);
	memset(s + hl, 'b', body);
	memcpy(s + hl + body, get1, sizeof get1 - 1);
	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	for (uint32_t off = 0; off < total; off += 1400)
		csend(&in, &c, s, off, total - off < 1400 ? (uint32_t)(total - off) : 1400);
	ck_assert_int_eq(c.n, 2);
	ck_assert_uint_eq(c.d[0].len, PFS_HTTP_MAX_RECORD);
	ck_assert_uint_eq(c.d[0].aux & PFS_HTTP_AUX_TRUNCATED, PFS_HTTP_AUX_TRUNCATED);
	ck_assert(!memcmp(req_of(&c, 0), s, PFS_HTTP_MAX_RECORD));
	is_req(&c, 1, get1);
	ck_assert_uint_eq(c.d[1].aux, 0);
	ck_assert_uint_eq(inst_counter(&in, "truncated"), 1);
	free(s);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* A written byte stream: framed from its first byte, per flow. */
START_TEST(byte_streams)
{
	static const char two[] = "GET /s1 HTTP/1.1\r\n\r\nPOST /s2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
	struct inst in;
	struct coll c;
	struct pfs_desc d = { .pos = 100, .ts_ns = 5, .kind = PFS_KIND_STREAM, .flow_hash = 1 };
	struct pfs_flow_meta m;

	inst_must_open(&in, "http");
	coll_init(&c);
	/* flow 1 in two chunks, flow 2 between them */
	d.len = d.wire_len = 30;
	c.in_lo = (const uint8_t *)two, c.in_hi = c.in_lo + 30;
	inst_process(&in, &d, (const uint8_t *)two, &c.out);
	struct pfs_desc d2 = d;
	d2.flow_hash = 2;
	d2.len = d2.wire_len = 20;
	inst_process(&in, &d2, (const uint8_t *)two, &c.out);
	d.pos += 30;
	d.len = d.wire_len = sizeof two - 1 - 30;
	c.in_lo = (const uint8_t *)two + 30, c.in_hi = c.in_lo + d.len;
	inst_process(&in, &d, (const uint8_t *)two + 30, &c.out);
	ck_assert_int_eq(c.n, 3);
	is_req(&c, 0, "GET /s1 HTTP/1.1\r\n\r\n");
	ck_assert(c.in_place[0]);
	ck_assert_uint_eq(c.d[0].pos, 100);
	ck_assert_uint_eq(c.d[0].head_room, 0);
	is_req(&c, 1, "GET /s1 HTTP/1.1\r\n\r\n");	/* flow 2 */
	is_req(&c, 2, "POST /s2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
	ck_assert(!c.in_place[2]);
	ck_assert(!pfs_record_flow(&c.d[2], req_of(&c, 2), &m));	/* no addresses */
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(method_filter)
{
	static const char two[] = "GET /g HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\n\r\nGETX /x HTTP/1.1\r\n\r\n";
	struct inst in, post;
	struct coll c;
	char err[PFS_ERR_LEN];

	inst_must_open(&in, "method=GET");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, two, 0, sizeof two - 1);
	ck_assert_int_eq(c.n, 1);
	is_req(&c, 0, "GET /g HTTP/1.1\r\n\r\n");
	char *conf = inst_conf_stats(&in);
	ck_assert_str_eq(conf, "method: GET\n");
	free(conf);

	/* HTTP records: kept or not, in place */
	inst_must_open(&post, "method=POST");
	struct coll p;
	coll_init(&p);
	struct pfs_desc d = c.d[0];
	inst_process(&post, &d, req_of(&c, 0), &p.out);
	ck_assert_int_eq(p.n, 0);
	static const char pr[] = "POST /p HTTP/1.1\r\n\r\n";
	d.len = sizeof pr - 1;
	d.head_room = 0;
	d.flags = 0;
	inst_process(&post, &d, (const uint8_t *)pr, &p.out);
	ck_assert_int_eq(p.n, 1);
	ck_assert_mem_eq(&p.d[0], &d, sizeof d);
	inst_close(&post);

	ck_assert_int_eq(inst_open(&post, "method=G(T", err, sizeof err), -EINVAL);
	ck_assert_int_eq(inst_open(&post, "method", err, sizeof err), -EINVAL);
	ck_assert_int_eq(inst_open(&post, "http=x", err, sizeof err), -EINVAL);
	coll_free(&p);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

START_TEST(method_children)
{
	static const char reqs[] = "PROPFIND /d HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"
				   "Mixed /m HTTP/1.1\r\n\r\nPROPFIND /e HTTP/1.1\r\n\r\n";
	static const char *const names[] = { "get", "head", "post", "put", "delete", "options",
					      "patch", "connect", "trace", "propfind", "Mixed" };
	struct inst in;
	struct coll c;
	char name[64], spec[64], want[64];
	size_t i = 0;

	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	csend(&in, &c, reqs, 0, sizeof reqs - 1);
	ck_assert_int_eq(c.n, 4);
	for (; in.f->child(in.conf, i, name, spec, sizeof name); i++) {
		ck_assert_uint_lt(i, sizeof names / sizeof *names);
		ck_assert_str_eq(name, names[i]);
		snprintf(want, sizeof want, "method=%s", i == 9 ? "PROPFIND" : i == 10 ? "Mixed" : "");
		if (i >= 9)
			ck_assert_str_eq(spec, want);
	}
	ck_assert_uint_eq(i, 11);
	ck_assert_str_eq(spec, "method=Mixed");
	char *conf = inst_conf_stats(&in);
	ck_assert_str_eq(conf, "methods: 11\n");
	free(conf);

	/* a bound: the rest is counted */
	char many[64 * 40];
	size_t len = 0;
	for (int k = 0; k < 60; k++)
		len += (size_t)sprintf(many + len, "M%d / HTTP/1.1\r\n\r\n", k);
	send_seg(&in, &c, true, ACK, CISN + sizeof reqs, SISN + 1, many, (uint32_t)len);
	ck_assert_uint_eq(inst_counter(&in, "methods_over"), 60 - (PFS_HTTP_MAX_METHODS - 11));
	ck_assert(!in.f->child(in.conf, PFS_HTTP_MAX_METHODS, name, spec, sizeof name));
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* Fuzzing found (fuzz_http_stage): an HTTP record handed on through
 * http whose method holds a NUL ("GET\0...") and whose first space comes
 * late matched the known method "GET" up to the NUL, and http then read
 * the method table at [len], past its end.  It passes through, counted
 * in methods_over, and adds no method. */
START_TEST(method_with_nul_passes)
{
	enum { LEN = 5000 };
	uint8_t *r = malloc(LEN);
	struct inst in;
	struct coll c;
	struct pfs_desc d = { .pos = 100, .len = LEN, .wire_len = LEN, .kind = PFS_KIND_HTTP };

	ck_assert_ptr_nonnull(r);
	memset(r, 'a', LEN);
	memcpy(r, "GET\0", 4);
	memcpy(r + LEN - 15, " / HTTP/1.1\r\n\r\n", 15);
	inst_must_open(&in, "http");
	coll_init(&c);
	inst_process(&in, &d, r, &c.out);
	ck_assert_int_eq(c.n, 1);
	ck_assert_uint_eq(inst_counter(&in, "methods_over"), 1);
	char *conf = inst_conf_stats(&in);
	ck_assert_str_eq(conf, "methods: 9\n");
	free(conf);
	free(r);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/*
 * Many requests on one connection, cut into segments of random sizes,
 * sent shuffled (near each other), some repeated, some overlapping
 * others, some lost; the server acknowledges what its host got (the lost
 * segments too: the capture missed them, the host did not).  Every
 * request whose bytes all came is handed on once, byte for byte; nothing
 * else is.
 */
START_TEST(crafted_disorder)
{
	enum { REQS = 120, MAXSEG = 1200, MAXSEGS = 4096 };
	static char s[REQS * 200];
	uint32_t starts[REQS + 1], len = 0, seed = (uint32_t)_i * 7919u + 1;

	for (int r = 0; r < REQS; r++) {
		starts[r] = len;
		if (r % 3 == 1)
			len += (uint32_t)sprintf(s + len, "POST /r%d HTTP/1.1\r\nContent-Length: 9\r\n\r\n"
						 "data=%03d\n", r, r);
		else if (r % 3 == 2)
			len += (uint32_t)sprintf(s + len, "PUT /r%d HTTP/1.1\r\nTransfer-Encoding: chunked"
						 "\r\n\r\n4\r\nab%02d\r\n0\r\n\r\n", r, r % 100);
		else
			len += (uint32_t)sprintf(s + len, "GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", r);
	}
	starts[REQS] = len;

	struct { uint32_t off, len; bool lost; } segs[MAXSEGS];
	uint32_t n = 0;
	static uint8_t arrived[REQS * 200];
	memset(arrived, 0, sizeof arrived);
	for (uint32_t off = 0; off < len;) {
		uint32_t l = 1 + RND() % MAXSEG;
		if (l > len - off)
			l = len - off;
		segs[n].off = off, segs[n].len = l, segs[n].lost = RND() % 20 == 0;
		n++;
		if (RND() % 8 == 0) {		/* repeated, whole or overlapping */
			uint32_t o = off + RND() % l, e = o + 1 + RND() % MAXSEG;
			segs[n].off = o, segs[n].len = (e > len ? len : e) - o, segs[n].lost = false;
			n++;
		}
		off += l;
	}
	for (uint32_t i = n - 1; i > 0; i--) {	/* shuffle, within 5 */
		uint32_t j = i - RND() % (i < 5 ? i + 1 : 5);
		__typeof__(segs[0]) x = segs[i];
		segs[i] = segs[j];
		segs[j] = x;
	}
	struct inst in;
	struct coll c;
	static uint8_t got[REQS * 200];	/* what the host got */
	memset(got, 0, sizeof got);
	inst_must_open(&in, "http");
	coll_init(&c);
	handshake(&in, &c);
	for (uint32_t i = 0; i < n; i++) {
		memset(got + segs[i].off, 1, segs[i].len);
		if (!segs[i].lost) {
			csend(&in, &c, s, segs[i].off, segs[i].len);
			memset(arrived + segs[i].off, 1, segs[i].len);
		}
		uint32_t ack = 0;
		while (ack < len && got[ack])
			ack++;
		send_seg(&in, &c, false, ACK, SISN + 1, CISN + 1 + ack, NULL, 0);
	}
	send_seg(&in, &c, true, FIN | ACK, CISN + 1 + len, SISN + 1, NULL, 0);

	int seen[REQS] = { 0 }, whole = 0;
	for (int i = 0; i < c.n; i++) {
		const char *sp = memchr(req_of(&c, i), ' ', c.d[i].len);
		int r = -1;
		ck_assert_ptr_nonnull(sp);
		ck_assert_int_eq(sscanf(sp, " /r%d", &r), 1);
		ck_assert(r >= 0 && r < REQS);
		ck_assert_uint_eq(c.d[i].len, starts[r + 1] - starts[r]);
		ck_assert(!memcmp(req_of(&c, i), s + starts[r], c.d[i].len));
		seen[r]++;
	}
	for (int r = 0; r < REQS; r++) {
		bool all = true;
		for (uint32_t k = starts[r]; k < starts[r + 1]; k++)
			all &= arrived[k];
		whole += all;
		ck_assert_msg(seen[r] == (all ? 1 : 0), "request %d: arrived %d, handed on %d times",
			      r, all, seen[r]);
	}
	ck_assert_int_eq(c.n, whole);
	ck_assert_int_gt(whole, REQS / 3);
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* Chaos: segments of 16 connections with random flags, sequence and
 * acknowledgement numbers near the streams' own, and payloads cut from
 * requests at random.  Nothing may break (the sanitizers watch), and
 * whatever comes out is a request: a token, a space, a request-line. */
START_TEST(chaos)
{
	static const char pool[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				   "POST /b HTTP/1.1\r\nContent-Length: 7\r\n\r\nabcdefg"
				   "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const uint8_t flags[] = { ACK, ACK | PSH, SYN, SYN | ACK, FIN | ACK, 0x04, 0x14, 0 };
	uint32_t seed = (uint32_t)_i * 2654435761u + 7, isn[16][2];
	struct inst in;
	struct coll c;
	struct frame f;

	inst_must_open(&in, "http");
	coll_init(&c);
	for (int k = 0; k < 16; k++)
		isn[k][0] = RND(), isn[k][1] = RND() << 16;
	for (int i = 0; i < 4000; i++) {
		int k = (int)(RND() % 16), from_client = (int)(RND() % 3 != 0);
		uint32_t off = RND() % (sizeof pool - 1), len = RND() % 200;
		if (len > sizeof pool - 1 - off)
			len = (uint32_t)(sizeof pool - 1 - off);
		uint32_t seq = isn[k][!from_client] + RND() % 4000 - 500;
		uint32_t ack = isn[k][from_client] + RND() % 4000;
		tcp_frame(&f, from_client, flags[RND() % sizeof flags], seq, ack, pool + off, len, 0);
		f.b[from_client ? 35 : 37] = (uint8_t)k;	/* the client port: 16 connections */
		run_frame(&in, &c, &f);
		if (c.n > MAX_RECS - 8) {
			coll_free(&c);
			coll_init(&c);
		}
	}
	printf("chaos %d: %d records at the end, %llu requests, %llu bad, %llu gap bytes\n", _i,
	       c.n, (unsigned long long)inst_counter(&in, "requests"),
	       (unsigned long long)inst_counter(&in, "bad_requests"),
	       (unsigned long long)inst_counter(&in, "gap_bytes"));
	for (int i = 0; i < c.n; i++) {
		const uint8_t *r = req_of(&c, i), *sp = memchr(r, ' ', c.d[i].len);
		ck_assert_ptr_nonnull(sp);
		ck_assert(pfs_http_token(r, (size_t)(sp - r)));
	}
	inst_close(&in);
	coll_free(&c);
}
END_TEST

/* Every capture of the corpus (the demo trace as many link types, cut
 * and damaged) through http, each file a producer of its own: requests
 * come out of the whole ones, valid; nothing breaks on the rest. */
static void corpus_file(const char *path, const char *name, void *arg)
{
	uint64_t *requests = arg;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	struct inst in;
	struct coll c;

	if (!pc)
		return;
	inst_must_open(&in, "http");
	coll_init(&c);
	uint16_t lt = (uint16_t)pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pfs_desc d = frame_desc(lt, h->caplen, h->len);
		uint8_t *copy = malloc(h->caplen + 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, data, h->caplen);
		c.in_lo = copy, c.in_hi = copy + h->caplen;
		inst_process(&in, &d, copy, &c.out);
		free(copy);
	}
	for (int i = 0; i < c.n; i++)
		ck_assert_msg(c.d[i].len > 4 && pfs_http_token(req_of(&c, i), 3),
			      "%s: record %d is no request", name, i);
	printf("corpus: %s: %d requests\n", name, c.n);
	*requests += (uint64_t)c.n;
	pcap_close(pc);
	inst_close(&in);
	coll_free(&c);
}

START_TEST(corpus_through_http)
{
	uint64_t requests = 0;
	if (corpus_each(corpus_file, &requests))
		ck_assert_uint_gt(requests, 0);
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("requests");
	tcase_add_test(tc, one_segment_in_place);
	tcase_add_test(tc, spanning_segments_copied);
	tcase_add_test(tc, pipelined_and_keep_alive);
	tcase_add_test(tc, responses_are_no_requests);
	tcase_add_test(tc, bad_and_suspicious);
	tcase_add_test(tc, expect_continue);
	tcase_add_test(tc, ethernet_padding);
	tcase_add_test(tc, too_large_for_a_record);
	tcase_add_test(tc, byte_streams);
	tcase_add_test(tc, method_filter);
	tcase_add_test(tc, method_children);
	tcase_add_test(tc, method_with_nul_passes);
	tcase_add_loop_test(tc, crafted_disorder, 0, 20);
	tcase_add_loop_test(tc, chaos, 0, 10);
	suite_add_tcase(s, tc);
	TCase *corpus = tcase_create("corpus");
	tcase_add_test(corpus, corpus_through_http);
	tcase_set_timeout(corpus, 600);
	suite_add_tcase(s, corpus);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
