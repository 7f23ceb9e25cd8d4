/* SPDX-License-Identifier: BSD-3-Clause
 * http and method=M: HTTP/1.x requests, one record each, exactly as sent.
 *
 * Frames go through TCP reassembly (tcpreasm.h), one table per producer;
 * each direction's bytes through a request framer (httpframe.h).  A
 * direction carries requests when it sent the connection's SYN, else
 * when the other one does not, else unless its first bytes are a
 * status-line ("HTTP/"): so requests are found on any port.  The other
 * direction is only counted over.  A byte stream (records written into a
 * node) is framed the same way, each writer's flow a stream of its own
 * from its first byte.  HTTP request records pass through (`method=M`
 * keeps those of its method).
 *
 * A request that lies in one segment (or one written chunk) is handed on
 * in place; one that spans several is copied into the stage's ring,
 * after its struct pfs_flow_meta (see http.h).
 *
 * Memory per producer: PFS_HTTP_CONNS connections and PFS_HTTP_WINDOWS
 * windows of PFS_TCP_WINDOW bytes (filters/limits.h), made when the
 * producer first brings the stage a frame, and as much for written flows
 * at its first written chunk; nothing per packet.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "filters/http.h"
#include "filters/httpframe.h"
#include "filters/limits.h"
#include "filters/pkt.h"

/* Per producer: the counters, then the tables. */
struct http {
	struct pfs_tcp_counters tcp;
	uint64_t requests, copied, bad, suspicious, truncated, expect, skipped, lost;
	uint64_t methods_over;
	struct pfs_tcp_table *conns;	/* frames' TCP connections */
	struct pfs_tcp_table *streams;	/* written byte streams, by flow */
};

static const char *const counters[] = {
	PFS_TCP_COUNTER_NAMES,
	"requests", "copied", "bad_requests", "suspicious", "truncated",
	"expect_continue", "skipped_bytes", "lost", "methods_over",
	NULL,
};

/*
 * The configuration.  method=M: its method.  http: every method, and the
 * methods it has asked the graph for a child each: the nine of RFC 9110
 * §9 and RFC 5789 from the start, then others as producers first see
 * them.  Producers append under `lock` (rare: a method never seen
 * before) and publish the count with release, so they look methods up,
 * and the graph lists children, without it.
 */
struct methods {
	pthread_mutex_t lock;
	unsigned n;
	char name[PFS_HTTP_MAX_METHODS][PFS_HTTP_MAX_METHOD + 1];
};

struct conf {
	size_t len;		/* method=M: M's length; http: 0 */
	char method[PFS_HTTP_MAX_METHOD + 1];
	struct methods *seen;	/* http */
};

static const char *const standard[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

/* A direction of a connection, as the consumer sees it. */
enum role { UNKNOWN, CLIENT, SERVER };
struct dir {
	struct pfs_http_framer fr;
	uint8_t role;
	uint8_t over;		/* the current request outgrew a record: its
				 * start went out, the rest is passed over */
};

/* The record being processed, for the consumer's callbacks. */
struct ctx {
	const struct conf *conf;
	struct http *h;
	const struct pfs_desc *d;
	const uint8_t *data;	/* the record's bytes */
	const uint8_t *frame;	/* its frame's first byte; NULL: a stream */
	struct pfs_out *out;
};

/* ---- the connection of a request ---- */

/* The connection a request came on, from its client (direction d). */
static void meta_of_conn(struct pfs_flow_meta *m, struct pfs_tcp_conn *c, int d, bool stream)
{
	memset(m, 0, sizeof *m);
	if (stream)
		return;
	m->family = pfs_tcp_family(c);
	m->proto = IPPROTO_TCP;
	m->src_port = pfs_tcp_end(c, d)->port;
	m->dst_port = pfs_tcp_end(c, !d)->port;
	memcpy(m->src, pfs_tcp_end(c, d)->addr, sizeof m->src);
	memcpy(m->dst, pfs_tcp_end(c, !d)->addr, sizeof m->dst);
}

/* ---- records out ---- */

static bool wanted(const struct conf *conf, const uint8_t *req, uint32_t len)
{
	return !conf->len || (len > conf->len && req[conf->len] == ' ' &&
			      !memcmp(req, conf->method, conf->len));
}

/* ---- methods seen (http) ---- */

static bool known(const struct methods *m, unsigned n, const uint8_t *name, size_t len)
{
	if (len > PFS_HTTP_MAX_METHOD)
		return false;	/* none is that long (name[i][len] is beyond) */
	for (unsigned i = 0; i < n; i++)
		if (!strncmp(m->name[i], (const char *)name, len) && !m->name[i][len])
			return true;
	return false;
}

/* The request at req (a whole request-line: its method is a token)
 * has a method http may need a child for. */
static void method_seen(struct http *h, struct methods *m, const uint8_t *req, uint32_t len)
{
	const uint8_t *sp = memchr(req, ' ', len);
	size_t mlen = sp ? (size_t)(sp - req) : 0;

	if (!mlen || known(m, __atomic_load_n(&m->n, __ATOMIC_ACQUIRE), req, mlen))
		return;
	pthread_mutex_lock(&m->lock);
	if (!known(m, m->n, req, mlen)) {
		if (m->n == PFS_HTTP_MAX_METHODS || mlen > PFS_HTTP_MAX_METHOD) {
			pfs_count(&h->methods_over, 1);
		} else {
			memcpy(m->name[m->n], req, mlen);
			m->name[m->n][mlen] = 0;
			__atomic_store_n(&m->n, m->n + 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

/* A request's bytes [req, req + len) go out in place when they lie in
 * the record being processed: a chunk's, or a frame's whose headers are
 * near enough to be head_room (16 bits).  Else they are copied, after
 * their meta. */
static bool in_place_out(struct ctx *x, const uint8_t *req, struct pfs_desc *n)
{
	if (!x->frame) {
		n->pos = x->d->pos + (uint64_t)(req - x->data);
	} else {
		uint64_t off = (uint64_t)(req - x->frame);
		if (off > UINT16_MAX)
			return false;
		n->pos = x->d->pos - x->d->head_room + off;
		n->head_room = (uint16_t)off;
		n->link_type = x->d->link_type;
		n->flags |= PFS_REC_IN_FRAME;
	}
	n->dbuf = x->d->dbuf;
	pfs_count(&x->h->requests, 1);
	x->out->emit(x->out, n, req);
	return true;
}

static void copy_out(struct ctx *x, struct pfs_tcp_conn *c, int d, const uint8_t *req,
		     struct pfs_desc *n)
{
	struct pfs_flow_meta m;
	uint32_t len = n->len;
	uint8_t *w = x->out->alloc(x->out, (uint32_t)sizeof m + len, n);

	if (!w)
		return;		/* counted in the node's drops */
	meta_of_conn(&m, c, d, !x->frame);
	memcpy(w, &m, sizeof m);
	memcpy(w + sizeof m, req, len);
	n->pos += sizeof m;
	n->len = len;
	n->head_room = sizeof m;
	pfs_count(&x->h->requests, 1);
	pfs_count(&x->h->copied, 1);
	x->out->emit(x->out, n, w + sizeof m);
}

static void request_out(struct ctx *x, struct pfs_tcp_conn *c, int d, const uint8_t *req,
			uint32_t len, bool in_place, uint32_t aux)
{
	struct pfs_desc n = {
		.ts_ns = x->d->ts_ns, .flow_hash = x->d->flow_hash, .aux = aux,
		.len = len, .wire_len = len,
		.kind = PFS_KIND_HTTP, .flags = x->d->flags & PFS_REC_TS_NSEC,
	};

	if (!wanted(x->conf, req, len))
		return;
	if (x->conf->seen)
		method_seen(x->h, x->conf->seen, req, len);
	if (!(in_place && in_place_out(x, req, &n)))
		copy_out(x, c, d, req, &n);
}

/* ---- the consumer of reassembled bytes ---- */

static void counts_of(struct http *h, const struct pfs_http_framer *fr)
{
	if (fr->flags & PFS_HTTP_SUSPICIOUS)
		pfs_count(&h->suspicious, 1);
	if (fr->flags & PFS_HTTP_EXPECT)
		pfs_count(&h->expect, 1);
}

/* Which direction carries requests (see the top); the first bytes a
 * direction sends are b[0, n). */
static enum role role_of(struct pfs_tcp_conn *c, int d, const uint8_t *b, uint32_t n)
{
	const struct dir *other = pfs_tcp_user(c, !d);
	int opener = pfs_tcp_opener(c);

	if (opener >= 0)
		return opener == d ? CLIENT : SERVER;
	if (other->role != UNKNOWN)
		return other->role == CLIENT ? SERVER : CLIENT;
	return n >= 5 && !memcmp(b, "HTTP/", 5) ? SERVER : CLIENT;
}

static bool started(struct pfs_tcp_conn *c, int d, const uint8_t *b,
		    uint32_t n)
{
	struct dir *u = pfs_tcp_user(c, d);

	if (u->role == UNKNOWN) {
		u->role = role_of(c, d, b, n);
		if (!pfs_tcp_from_start(c, d))
			pfs_http_framer_seek(&u->fr);
	}
	if (u->role == SERVER)
		pfs_tcp_ignore(c, d);
	return u->role == CLIENT;
}

static uint32_t consume(void *arg, struct pfs_tcp_conn *c, int d, const uint8_t *b,
			uint32_t n, uint32_t fresh, bool in_segment)
{
	struct ctx *x = arg;
	struct dir *u = pfs_tcp_user(c, d);
	uint32_t i = n - fresh;

	if (!started(c, d, b + i, fresh))
		return n;
	uint64_t base = u->fr.at - i;	/* the stream offset of b[0] */
	uint64_t skipped = u->fr.skipped;
	while (i < n) {
		size_t taken;
		enum pfs_http_event ev = pfs_http_feed(&u->fr, b + i, n - i, &taken);
		i += (uint32_t)taken;
		uint64_t len = u->fr.at - u->fr.start;
		if (ev == PFS_HTTP_DONE) {
			counts_of(x->h, &u->fr);
			if (!u->over)
				request_out(x, c, d, b + (u->fr.start - base), (uint32_t)len,
					    in_segment, 0);
			u->over = 0;
		} else if (ev == PFS_HTTP_BAD) {
			pfs_count(&x->h->bad, 1);
		} else if (pfs_http_in_request(&u->fr) && !u->over && len > PFS_HTTP_MAX_RECORD) {
			pfs_count(&x->h->truncated, 1);
			request_out(x, c, d, b + (u->fr.start - base), PFS_HTTP_MAX_RECORD,
				    in_segment, PFS_HTTP_AUX_TRUNCATED);
			u->over = 1;
		}
	}
	pfs_count(&x->h->skipped, u->fr.skipped - skipped);
	if (!pfs_http_in_request(&u->fr) || u->over)
		return n;
	return (uint32_t)(u->fr.start - base);	/* keep the request so far */
}

static void lost(void *arg, struct pfs_tcp_conn *c, int d, uint64_t n)
{
	struct dir *u = pfs_tcp_user(c, d);
	struct ctx *x = arg;
	uint64_t skipped = u->fr.skipped;

	if (u->role != CLIENT)
		return;
	u->over = 0;
	pfs_http_lost(&u->fr, n);
	pfs_count(&x->h->skipped, u->fr.skipped - skipped);
}

static const struct pfs_tcp_consumer consumer = { consume, lost };

/* ---- records in ---- */

/* The producer's table of connections (or of written flows), made the
 * first time it brings the stage one: once, not per packet, and never
 * for a stage that only sees HTTP records (method=M below http).  Out of
 * memory, the record is counted lost. */
static bool table(struct pfs_tcp_table **t, uint32_t conns, uint32_t windows, struct http *h)
{
	if (!*t && !(*t = pfs_tcp_table_new(conns, windows, sizeof(struct dir), &consumer,
					    &h->tcp)))
		pfs_count(&h->lost, 1);
	return *t != NULL;
}

/* A TCP segment of a frame into its connection's stream. */
static void segment(struct ctx *x)
{
	const struct pfs_desc *d = x->d;
	struct pfs_pkt p;

	if (d->len > UINT32_MAX - d->head_room)
		return;
	x->frame = x->data - d->head_room;
	uint32_t caplen = d->head_room + d->len;
	if (pfs_pkt_parse(&p, d->link_type, x->frame, caplen) || !pfs_pkt_is(&p, IPPROTO_TCP))
		return;
	const uint8_t *th = x->frame + p.l4_off, *ip = x->frame + p.l3_off;
	/* What was sent, by the IP header: the capture may have cut it. */
	uint32_t ip_end = p.flags & PFS_PKT_IP4 ? p.l3_off + (ip[2] << 8 | ip[3])
						 : p.l3_off + 40 + (ip[4] << 8 | ip[5]);
	struct pfs_tcp_seg s = {
		.family = p.addr_len == 4 ? 4 : 6, .flags = th[13],
		.sport = p.sport, .dport = p.dport, .src = p.src, .dst = p.dst,
		.seq = (uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7],
		.ack = (uint32_t)th[8] << 24 | th[9] << 16 | th[10] << 8 | th[11],
		.payload = x->frame + p.payload_off, .len = p.payload_len,
	};
	s.wire_len = ip_end > p.payload_off + p.payload_len ? ip_end - p.payload_off : s.len;
	if (table(&x->h->conns, PFS_HTTP_CONNS, PFS_HTTP_WINDOWS, x->h))
		pfs_tcp_segment(x->h->conns, &s, x);
}

/* A written chunk: the next bytes of its flow's stream.  It goes
 * through the reassembler too, which keeps what a request spanning
 * chunks needs. */
static void chunk(struct ctx *x)
{
	if (table(&x->h->streams, PFS_HTTP_STREAMS, PFS_HTTP_STREAMS, x->h))
		pfs_tcp_stream(x->h->streams, x->d->flow_hash, x->data, x->d->len, x);
}

static void process(void *conf, void *pstate, const struct pfs_desc *d,
		    const uint8_t *data, struct pfs_out *out)
{
	struct ctx x = { .conf = conf, .h = pstate, .d = d, .data = data, .out = out };

	switch (d->kind) {
	case PFS_KIND_HTTP:
		if (!wanted(x.conf, data, d->len))
			break;
		if (x.conf->seen)
			method_seen(x.h, x.conf->seen, data, d->len);
		out->emit(out, d, data);
		break;
	case PFS_KIND_FRAME:
		segment(&x);
		break;
	case PFS_KIND_STREAM:
		chunk(&x);
		break;
	}
}

static void pstate_fini(void *conf, void *pstate)
{
	struct http *h = pstate;
	(void)conf;

	pfs_tcp_table_free(h->conns);
	pfs_tcp_table_free(h->streams);
	h->conns = h->streams = NULL;
}

static int http_init(void **conf, const char *args, char *err, size_t errlen)
{
	struct conf *c;

	if (args) {
		snprintf(err, errlen, "http takes no arguments (method=M selects a method)");
		return -EINVAL;
	}
	if (!(c = calloc(1, sizeof *c)) || !(c->seen = calloc(1, sizeof *c->seen))) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->seen->lock, NULL);
	for (size_t i = 0; i < sizeof standard / sizeof *standard; i++)
		strcpy(c->seen->name[c->seen->n++], standard[i]);
	*conf = c;
	return 0;
}

/* method=M: M is a token (RFC 9110 §9.1: methods are case-sensitive). */
static int method_init(void **conf, const char *args, char *err, size_t errlen)
{
	size_t len = args ? strlen(args) : 0;

	if (!len || len > PFS_HTTP_MAX_METHOD) {
		snprintf(err, errlen, "method=M: M is a method of 1 to %d characters",
			 PFS_HTTP_MAX_METHOD);
		return -EINVAL;
	}
	if (!pfs_http_token((const uint8_t *)args, len)) {
		snprintf(err, errlen, "method=%s: a method is a token (RFC 9110 §9.1)", args);
		return -EINVAL;
	}
	struct conf *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->len = len;
	memcpy(c->method, args, len + 1);
	*conf = c;
	return 0;
}

static void fini(void *conf)
{
	struct conf *c = conf;

	if (c && c->seen) {
		pthread_mutex_destroy(&c->seen->lock);
		free(c->seen);
	}
	free(c);
}

static void method_stats(void *conf, FILE *out)
{
	const struct conf *c = conf;
	fprintf(out, "method: %s\n", c->method);
}

static void http_stats(void *conf, FILE *out)
{
	const struct conf *c = conf;
	fprintf(out, "methods: %u\n", __atomic_load_n(&c->seen->n, __ATOMIC_ACQUIRE));
}

/* http's children: one per method, named in lower case when the method
 * is in upper case (`get`), else as it is; each is method=M. */
static bool child(void *conf, size_t i, char *name, char *spec, size_t len)
{
	const struct conf *c = conf;
	const char *m;
	bool upper = true;

	if (i >= __atomic_load_n(&c->seen->n, __ATOMIC_ACQUIRE))
		return false;
	m = c->seen->name[i];
	for (size_t k = 0; m[k]; k++)
		upper &= !(m[k] >= 'a' && m[k] <= 'z');
	snprintf(spec, len, "method=%s", m);
	for (size_t k = 0; k < len; k++) {
		name[k] = upper && m[k] >= 'A' && m[k] <= 'Z' ? (char)(m[k] + 32) : m[k];
		if (!m[k])
			break;
	}
	return true;
}

const struct pfs_filter pfs_filter_http = {
	.name = "http", .usage = "http",
	.summary = "HTTP/1.x requests, one record each, from TCP or a byte stream",
	.makes_bytes = true,
	.init = http_init, .fini = fini, .stats = http_stats, .child = child,
	.counters = counters, .pstate_size = sizeof(struct http),
	.pstate_fini = pstate_fini,
	.process = process,
};

const struct pfs_filter pfs_filter_method = {
	.name = "method", .usage = "method=M",
	.summary = "HTTP requests of method M (framing TCP or a byte stream itself)",
	/* Below http (its children) it only selects: its ring is made at
	 * its first copied request, not ahead (nine populated rings of
	 * --ring-size each made http's mkdir slow and big). */
	.makes_bytes = false,
	.init = method_init, .fini = fini, .stats = method_stats,
	.counters = counters, .pstate_size = sizeof(struct http),
	.pstate_fini = pstate_fini,
	.process = process,
};
