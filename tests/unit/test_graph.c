/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the filter graph (filters/graph/), without FUSE: control
 * operations, records through stages, backfill, end of stream, merging of
 * producers, removal under traffic and per-producer filter state.  Only the
 * public headers are used.  Each test runs in its own process (Check's
 * fork mode), so the graph's global state never leaks between tests.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filters/filter.h"
#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "filters/graph/reader.h"
#include "pipesfs_record.h"

#define RING_BYTES (1u << 20)
#define LT_ETHERNET 1

/* ---- setup ---------------------------------------------------------------- */

/* What writing `spec` into a node's filter file does. */
static int set_filter(struct pfs_node *n, const char *spec)
{
	struct pfs_stage *st = pfs_stage_parse(spec, false);
	if (!st)
		return -EINVAL;
	return pfs_node_set_filter(n, st);
}

static void graph_up_budget(uint64_t ring_budget)
{
	ck_assert_int_eq(pfs_graph_init(RING_BYTES, ring_budget), 0);
	pfs_graph_thread_register();
}

static void graph_up(void)
{
	graph_up_budget(UINT64_MAX);
}

static void graph_down(void)
{
	pfs_graph_fini();
	pfs_graph_thread_unregister();
}

/* A source's hooks: count the starts. */
struct src_arg {
	atomic_int starts;
	const char *tag;
};

static void src_start(void *arg)
{
	struct src_arg *a = arg;
	atomic_fetch_add(&a->starts, 1);
}

static void src_stats(void *arg, FILE *out)
{
	struct src_arg *a = arg;
	fprintf(out, "source: test-%s\n", a->tag);
}

static const struct pfs_source_hooks hooks = { src_start, src_stats };

static struct pfs_node *add_source(const char *name, struct src_arg *a)
{
	struct pfs_node *n = NULL;
	pfs_graph_lock();
	int rc = pfs_graph_add_source(name, &hooks, a, &n);
	pfs_graph_unlock();
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(n);
	return n;
}

static struct pfs_node *mkdir_ok(struct pfs_node *dir, const char *name)
{
	struct pfs_node *n = NULL;
	pfs_graph_lock();
	int rc = pfs_node_mkdir(dir, name, NULL, &n);
	pfs_graph_unlock();
	ck_assert_msg(rc == 0, "mkdir %s: %d", name, rc);
	ck_assert_ptr_nonnull(n);
	return n;
}

static struct pfs_producer *producer_at(const char *name, struct pfs_node *top)
{
	struct pfs_producer *p = pfs_producer_new(name, true);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pfs_producer_attach(p, top, true), 0);
	return p;
}

/* The node an entry of dir names (child or link target); NULL: none. */
static struct pfs_node *entry_node(struct pfs_node *dir, const char *name)
{
	struct pfs_entry *e = pfs_node_entry(dir, name);
	return e ? pfs_entry_node(e) : NULL;
}

static void close_reader(struct pfs_reader *r)
{
	pfs_graph_lock();
	pfs_reader_close(r);
	pfs_graph_unlock();
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- frames ----------------------------------------------------------------
 * Every frame is unique: its source MAC holds a tag, and frames with a
 * transport carry the tag as an 8-byte payload too. */

enum kind { K_TCP80, K_TCP443, K_UDP53, K_ARP, K_TRUNC, K_TCP6_80, K_NKINDS };

struct frame {
	uint8_t b[1600];
	uint32_t n;
	enum kind kind;
	uint64_t tag;
	uint64_t ts;
};

static void put(struct frame *f, const void *p, uint32_t n)
{
	ck_assert_uint_le(f->n + n, sizeof f->b);
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(f, b, 2);
}

static void put_ether(struct frame *f, uint16_t type, uint64_t tag)
{
	uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 6,
			     (uint8_t)(tag >> 32), (uint8_t)(tag >> 24), (uint8_t)(tag >> 16),
			     (uint8_t)(tag >> 8), (uint8_t)tag };
	put(f, macs, 12);
	put16(f, type);
}

static void put_ip4(struct frame *f, uint8_t proto, uint16_t tot)
{
	uint8_t h[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0, 1, 0, 0,
			  64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
	put(f, h, 20);
}

static void put_ip6(struct frame *f, uint8_t next, uint16_t plen)
{
	uint8_t h[40] = { 0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, next, 64,
			  0xfd, 0x77, [23] = 1, 0xfd, 0x77, [39] = 2 };
	put(f, h, 40);
}

static void put_tcp(struct frame *f, uint16_t sport, uint16_t dport)
{
	uint8_t h[20] = { (uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8),
			  (uint8_t)dport, 0, 0, 0, 1, 0, 0, 0, 0, 5 << 4, 0x18, 0xff, 0xff };
	put(f, h, 20);
}

static void build(struct frame *f, enum kind k, uint64_t tag, uint64_t ts)
{
	memset(f, 0, sizeof *f);
	f->kind = k;
	f->tag = tag;
	f->ts = ts;
	switch (k) {
	case K_TCP80:
	case K_TCP443:
		put_ether(f, 0x0800, tag);
		put_ip4(f, 6, 20 + 20 + 8);
		put_tcp(f, 40000, k == K_TCP80 ? 80 : 443);
		put(f, &tag, 8);
		break;
	case K_UDP53:
		put_ether(f, 0x0800, tag);
		put_ip4(f, 17, 20 + 8 + 8);
		put16(f, 5353);
		put16(f, 53);
		put16(f, 16);
		put16(f, 0);
		put(f, &tag, 8);
		break;
	case K_ARP: {
		static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2,
						 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2 };
		put_ether(f, 0x0806, tag);
		put(f, arp, sizeof arp);
		break;
	}
	case K_TRUNC: {	/* an IPv4 header cut after 10 bytes */
		static const uint8_t h[10] = { 0x45, 0, 0, 48, 0, 1, 0, 0, 64, 6 };
		put_ether(f, 0x0800, tag);
		put(f, h, sizeof h);
		break;
	}
	case K_TCP6_80:
		put_ether(f, 0x86dd, tag);
		put_ip6(f, 6, 20 + 8);
		put_tcp(f, 40000, 80);
		put(f, &tag, 8);
		break;
	default:
		ck_abort_msg("bad kind");
	}
}

/* A TCP frame to port 80 with `pad` more payload bytes. */
static void build_padded(struct frame *f, uint64_t tag, uint64_t ts, uint16_t pad)
{
	memset(f, 0, sizeof *f);
	f->kind = K_TCP80;
	f->tag = tag;
	f->ts = ts;
	put_ether(f, 0x0800, tag);
	put_ip4(f, 6, (uint16_t)(20 + 20 + 8 + pad));
	put_tcp(f, 40000, 80);
	put(f, &tag, 8);
	ck_assert_uint_le(f->n + pad, sizeof f->b);
	memset(f->b + f->n, (int)(tag & 0xff), pad);
	f->n += pad;
}

/* Inside a run: one frame into node n, with its bytes in p's data ring. */
static void inject(struct pfs_producer *p, struct pfs_node *n, const struct frame *f)
{
	struct pfs_desc d = { .ts_ns = f->ts, .wire_len = f->n, .flow_hash = (uint32_t)f->tag,
			      .link_type = LT_ETHERNET, .kind = PFS_KIND_FRAME };
	uint8_t *w = pfs_producer_alloc(p, n, f->n, &d);
	ck_assert_ptr_nonnull(w);
	memcpy(w, f->b, f->n);
	pfs_producer_inject(p, n, &d, w);
}

/* A run of several frames. */
static void run(struct pfs_producer *p, struct pfs_node *n, const struct frame *f, size_t nf)
{
	pfs_producer_begin(p);
	for (size_t i = 0; i < nf; i++) {
		inject(p, n, &f[i]);
		pfs_producer_yield(p);
	}
	pfs_producer_end(p);
}

/* ---- reading -------------------------------------------------------------- */

/* Each record comes out of pfs_reader_copy as its descriptor, then its
 * bytes. */
/* Each record's descriptor before its bytes. */
static void desc_frame(const struct pfs_desc *d, const uint8_t *data, size_t input,
		       struct bw_frame *f, void *arg)
{
	(void)data;
	(void)input;
	(void)arg;
	memcpy(f->head, d, sizeof *d);
	f->head_len = sizeof *d;
}

static const struct bw_framing desc_prefix = { desc_frame, NULL, NULL };

struct rec {
	struct pfs_desc d;
	uint8_t *data;
};

/* What a reader has read: bytes in, records parsed from them. */
struct got {
	uint8_t *buf;
	size_t len, cap, off;
	struct rec *r;
	size_t n, rcap;
};

static struct pfs_reader *open_got(struct pfs_node *n)
{
	pfs_graph_lock();
	struct pfs_reader *r = pfs_reader_open(n, false, true, &desc_prefix);
	pfs_graph_unlock();
	ck_assert_ptr_nonnull(r);
	return r;
}

static void got_parse(struct got *g)
{
	while (g->len - g->off >= sizeof(struct pfs_desc)) {
		struct pfs_desc d;
		memcpy(&d, g->buf + g->off, sizeof d);
		if (g->len - g->off - sizeof d < d.len)
			break;
		if (g->n == g->rcap) {
			g->rcap = g->rcap ? g->rcap * 2 : 64;
			g->r = realloc(g->r, g->rcap * sizeof *g->r);
			ck_assert_ptr_nonnull(g->r);
		}
		struct rec *r = &g->r[g->n++];
		r->d = d;
		r->data = malloc(d.len ? d.len : 1);
		ck_assert_ptr_nonnull(r->data);
		memcpy(r->data, g->buf + g->off + sizeof d, d.len);
		g->off += sizeof d + d.len;
	}
	if (g->off == g->len)
		g->off = g->len = 0;
}

/* Everything ready now; returns the records added. */
static size_t drain(struct pfs_reader *r, struct got *g)
{
	size_t before = g->n;
	for (;;) {
		if (g->cap - g->len < 65536) {
			g->cap = g->cap ? g->cap * 2 : 262144;
			g->buf = realloc(g->buf, g->cap);
			ck_assert_ptr_nonnull(g->buf);
		}
		size_t n = pfs_reader_copy(r, g->buf + g->len, g->cap - g->len);
		if (!n)
			break;
		g->len += n;
		got_parse(g);
	}
	return g->n - before;
}

/* Read until end of stream (true) or the deadline. */
static bool drain_to_eof(struct pfs_reader *r, struct got *g, double secs)
{
	double end = now_s() + secs;
	do {
		drain(r, g);
		if (pfs_reader_eof(r)) {
			drain(r, g);
			return true;
		}
		usleep(1000);
	} while (now_s() < end);
	return false;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->r[i].data);
	free(g->r);
	free(g->buf);
	memset(g, 0, sizeof *g);
}

/* The reader got exactly these frames, in this order, byte for byte. */
static void expect(const struct got *g, const struct frame *const *want, size_t nwant,
		   const char *what)
{
	ck_assert_msg(g->n == nwant, "%s: %zu records, expected %zu", what, g->n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		const struct rec *r = &g->r[i];
		const struct frame *f = want[i];
		ck_assert_msg(r->d.len == f->n && memcmp(r->data, f->b, f->n) == 0,
			      "%s: record %zu: not the bytes of frame tag %llu (len %u, expected %u)",
			      what, i, (unsigned long long)f->tag, r->d.len, f->n);
		ck_assert_msg(r->d.ts_ns == f->ts && r->d.kind == PFS_KIND_FRAME &&
			      r->d.link_type == LT_ETHERNET && r->d.wire_len == f->n &&
			      r->d.flow_hash == (uint32_t)f->tag,
			      "%s: record %zu: descriptor fields changed", what, i);
	}
}

/* The tag carried in a frame's source MAC. */
static uint64_t rec_tag(const struct rec *r)
{
	ck_assert_uint_ge(r->d.len, 12);
	uint64_t t = 0;
	for (int i = 7; i < 12; i++)
		t = t << 8 | r->data[i];
	return t;
}

/* ---- stats ---------------------------------------------------------------- */

/* The value of `key: N` in a stats text; -1 when there is none. */
static long long stat_of(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ':' && l[kl + 1] == ' ')
			return strtoll(l + kl + 2, NULL, 10);
	return -1;
}

static char *stats_of(struct pfs_node *n)
{
	size_t len = 0;
	pfs_graph_lock();
	char *s = pfs_node_stats(n, &len);
	pfs_graph_unlock();
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), len);
	return s;
}

#define STAT_EQ(text, key, want)                                                        \
	do {                                                                            \
		long long v_ = stat_of((text), (key));                                  \
		ck_assert_msg(v_ == (long long)(want), "stats %s: %lld, expected %lld\n%s", \
			      (key), v_, (long long)(want), (text));                    \
	} while (0)

/* ---- 1. control operations ------------------------------------------------ */

START_TEST(control_operations_and_errors)
{
	graph_up();
	struct src_arg sa = { .tag = "a" }, sb = { .tag = "b" };
	struct pfs_node *root = pfs_graph_root();
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_node *src2 = add_source("src2", &sb);
	struct pfs_node *n = NULL;

	pfs_graph_lock();
	/* sources: names in use or not allowed */
	ck_assert_int_eq(pfs_graph_add_source("src", &hooks, &sa, &n), -EEXIST);
	ck_assert_int_eq(pfs_graph_add_source("a/b", &hooks, &sa, &n), -EEXIST);
	ck_assert_ptr_eq(entry_node(root, "src"), src);

	/* mkdir */
	struct pfs_node *ip, *tcp, *p80, *clean, *a, *top;
	ck_assert_int_eq(pfs_node_mkdir(src, "ip", NULL, &ip), 0);
	ck_assert_str_eq(pfs_node_spec(ip), "ip");
	ck_assert_str_eq(pfs_node_name(ip), "ip");
	ck_assert_ptr_eq(pfs_node_home(ip), src);
	ck_assert_ptr_eq(pfs_node_by_id(pfs_node_id(ip)), ip);
	ck_assert_int_eq(pfs_node_mkdir(src, "ip", NULL, NULL), -EEXIST);
	ck_assert_int_eq(pfs_node_mkdir(ip, "tcp", NULL, &tcp), 0);
	ck_assert_int_eq(pfs_node_mkdir(tcp, "port=80", NULL, &p80), 0);
	ck_assert_str_eq(pfs_node_spec(p80), "port=80");
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "port=abc",
					   "nosuch=1", "port=", "tcp=1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(pfs_node_mkdir(src, bad[i], NULL, &n) == -EINVAL, "mkdir '%s'", bad[i]);
		ck_assert_msg(!bad[i][0] || !pfs_node_entry(src, bad[i]),
			      "mkdir '%s' failed but left an entry", bad[i]);
	}
	ck_assert_int_eq(pfs_node_mkdir(src, "httpclean", NULL, &clean), 0);
	ck_assert_str_eq(pfs_node_spec(clean), "pass");
	ck_assert_str_eq(pfs_node_name(clean), "httpclean");
	ck_assert_int_eq(pfs_node_mkdir(src, "a", NULL, &a), 0);
	ck_assert_int_eq(pfs_node_mkdir(root, "top", NULL, &top), 0);
	ck_assert_str_eq(pfs_node_spec(top), "pass");

	/* rmdir */
	ck_assert_int_eq(pfs_node_rmdir(src, "nosuch"), -ENOENT);
	ck_assert_int_eq(pfs_node_rmdir(src, "ip"), -ENOTEMPTY);
	ck_assert_ptr_nonnull(pfs_node_entry(src, "ip"));
	ck_assert_int_eq(pfs_node_rmdir(root, "src2"), -EBUSY);
	ck_assert_ptr_eq(entry_node(root, "src2"), src2);
	ck_assert_int_eq(pfs_node_rmdir(root, "src"), -ENOTEMPTY);

	/* ln -s */
	ck_assert_int_eq(pfs_node_link(clean, "t", tcp, "../ip/tcp"), 0);
	struct pfs_entry *le = pfs_node_entry(clean, "t");
	ck_assert_ptr_nonnull(le);
	ck_assert_ptr_eq(pfs_entry_node(le), tcp);
	ck_assert_str_eq(pfs_entry_link(le), "../ip/tcp");
	struct pfs_node *ldir = NULL;
	ck_assert_ptr_eq(pfs_link_by_id(pfs_entry_link_id(le), &ldir), le);
	ck_assert_ptr_nonnull(ldir);
	ck_assert_ptr_null(pfs_entry_link(pfs_node_entry(src, "ip")));
	ck_assert_int_eq(pfs_node_link(clean, "t", p80, "x"), -EEXIST);	/* name */
	ck_assert_int_eq(pfs_node_link(clean, "t2", tcp, "../ip/tcp"), -EEXIST);
	ck_assert_ptr_null(pfs_node_entry(clean, "t2"));
	ck_assert_int_eq(pfs_node_link(p80, "up", ip, "../.."), -ELOOP);
	ck_assert_int_eq(pfs_node_link(ip, "self", ip, "."), -ELOOP);
	ck_assert_int_eq(pfs_node_link(tcp, "c", clean, "x"), -ELOOP);	/* clean -> tcp */
	ck_assert_ptr_null(pfs_node_entry(p80, "up"));
	ck_assert_int_eq(pfs_node_link(root, "l", tcp, "src/ip/tcp"), -EINVAL);
	ck_assert_ptr_null(pfs_node_entry(root, "l"));
	ck_assert_int_eq(pfs_node_link(clean, "a/b", a, "x"), -EINVAL);
	ck_assert_int_eq(pfs_node_rmdir(clean, "t"), -ENOTDIR);

	/* rm */
	ck_assert_int_eq(pfs_node_unlink(src, "ip"), -EISDIR);
	ck_assert_int_eq(pfs_node_unlink(src, "nosuch"), -ENOENT);
	ck_assert_ptr_nonnull(pfs_node_entry(src, "ip"));

	/* mv within a directory: a rename */
	ck_assert_int_eq(pfs_node_rename(src, "httpclean", src, "clean", NULL), 0);
	ck_assert_ptr_null(pfs_node_entry(src, "httpclean"));
	ck_assert_ptr_eq(entry_node(src, "clean"), clean);
	ck_assert_str_eq(pfs_node_name(clean), "clean");
	ck_assert_ptr_eq(pfs_node_home(clean), src);
	ck_assert_int_eq(pfs_node_rename(src, "clean", src, "ip", NULL), -EEXIST);
	ck_assert_int_eq(pfs_node_rename(src, "clean", src, "x/y", NULL), -EINVAL);
	ck_assert_int_eq(pfs_node_rename(src, "nosuch", src, "z", NULL), -ENOENT);
	/* ... and of a link */
	ck_assert_int_eq(pfs_node_rename(clean, "t", clean, "t3", NULL), 0);
	ck_assert_ptr_null(pfs_node_entry(clean, "t"));
	ck_assert_ptr_eq(pfs_entry_node(pfs_node_entry(clean, "t3")), tcp);
	ck_assert_str_eq(pfs_entry_link(pfs_node_entry(clean, "t3")), "../ip/tcp");
	ck_assert_str_eq(pfs_node_name(tcp), "tcp");

	/* mv across directories */
	ck_assert_int_eq(pfs_node_rename(src, "a", ip, "a2", NULL), 0);
	ck_assert_ptr_null(pfs_node_entry(src, "a"));
	ck_assert_ptr_eq(entry_node(ip, "a2"), a);
	ck_assert_ptr_eq(pfs_node_home(a), ip);
	ck_assert_str_eq(pfs_node_name(a), "a2");
	/* under its own descendant, or itself */
	ck_assert_int_eq(pfs_node_rename(src, "ip", p80, "ip", NULL), -EINVAL);
	ck_assert_int_eq(pfs_node_rename(src, "ip", a, "ip", NULL), -EINVAL);
	ck_assert_int_eq(pfs_node_rename(src, "ip", ip, "ip2", NULL), -EINVAL);
	ck_assert_ptr_eq(pfs_node_home(ip), src);
	ck_assert_ptr_eq(entry_node(src, "ip"), ip);
	ck_assert_ptr_null(pfs_node_entry(p80, "ip"));
	/* into a parent that links it already */
	ck_assert_int_eq(pfs_node_rename(ip, "tcp", clean, "tcp", NULL), -EEXIST);
	ck_assert_ptr_eq(pfs_node_home(tcp), ip);
	ck_assert_ptr_eq(entry_node(ip, "tcp"), tcp);
	ck_assert_ptr_null(pfs_node_entry(clean, "tcp"));

	/* set_filter */
	ck_assert_int_eq(set_filter(tcp, "port=abc"), -EINVAL);
	ck_assert_str_eq(pfs_node_spec(tcp), "tcp");
	ck_assert_int_eq(set_filter(tcp, "nosuch"), -EINVAL);
	ck_assert_str_eq(pfs_node_spec(tcp), "tcp");
	/* a node named after its filter: a write keeps them the same, a
	 * rename to a spec changes both, to a plain name keeps the filter */
	ck_assert_int_eq(set_filter(tcp, "port 443"), -EINVAL);
	ck_assert_str_eq(pfs_node_spec(tcp), "tcp");
	ck_assert_int_eq(set_filter(tcp, "tcp"), 0);
	ck_assert_int_eq(set_filter(p80, "port 80"), 0);
	ck_assert_int_eq(pfs_node_rename(ip, "tcp", ip, "port=443", NULL), 0);
	ck_assert_str_eq(pfs_node_spec(tcp), "port=443");
	ck_assert_int_eq(pfs_node_rename(ip, "port=443", ip, "port=abc", NULL), -EINVAL);
	ck_assert_ptr_eq(entry_node(ip, "port=443"), tcp);
	ck_assert_str_eq(pfs_node_spec(tcp), "port=443");
	ck_assert_int_eq(pfs_node_rename(ip, "port=443", ip, "web", NULL), 0);
	ck_assert_str_eq(pfs_node_spec(tcp), "port=443");
	ck_assert_int_eq(set_filter(tcp, "udp"), 0);
	ck_assert_int_eq(pfs_node_rename(ip, "web", ip, "tcp", NULL), 0);
	ck_assert_str_eq(pfs_node_spec(tcp), "tcp");

	/* rm of a link; rmdir of a node holding only a link; of a link target */
	ck_assert_int_eq(pfs_node_unlink(clean, "t3"), 0);
	ck_assert_ptr_null(pfs_node_entry(clean, "t3"));
	ck_assert_int_eq(pfs_node_link(clean, "t", tcp, "../ip/tcp"), 0);
	ck_assert_int_eq(pfs_node_rmdir(src, "clean"), 0);
	ck_assert_ptr_null(pfs_node_entry(src, "clean"));
	ck_assert_ptr_eq(entry_node(ip, "tcp"), tcp);
	ck_assert_int_eq(pfs_node_link(a, "p", p80, "../tcp/port=80"), 0);
	ck_assert_int_eq(pfs_node_rmdir(tcp, "port=80"), 0);
	ck_assert_ptr_null(pfs_node_entry(a, "p"));	/* links to it went with it */
	ck_assert_ptr_null(pfs_node_entry(tcp, "port=80"));
	ck_assert_int_eq(pfs_node_rmdir(tcp, "port=80"), -ENOENT);
	ck_assert_int_eq(pfs_node_rmdir(ip, "tcp"), 0);
	ck_assert_int_eq(pfs_node_rmdir(ip, "a2"), 0);
	ck_assert_int_eq(pfs_node_rmdir(src, "ip"), 0);
	ck_assert_int_eq(pfs_node_rmdir(root, "top"), 0);
	ck_assert_ptr_null(pfs_node_entries(src));
	ck_assert_int_eq(pfs_node_rmdir(root, "src"), -EBUSY);
	pfs_graph_unlock();
	graph_down();
}
END_TEST

/* A stage that asks for children (http: one per method) gets them at
 * mkdir, or at the next pfs_node_grow after its filter is set; a child
 * removed is not made again. */
START_TEST(stage_children)
{
	static const char *const methods[] = { "get", "head", "post", "put", "delete",
					       "options", "patch", "connect", "trace" };
	graph_up();
	struct src_arg sa = { .tag = "a" };
	struct pfs_node *src = add_source("src", &sa), *h = NULL, *w = NULL;
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_mkdir(src, "http", NULL, &h), 0);
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
		struct pfs_node *c = entry_node(h, methods[i]);
		ck_assert_msg(c != NULL, "http has no %s", methods[i]);
		char spec[32] = "method=";
		for (size_t k = 0; methods[i][k]; k++)
			spec[7 + k] = (char)(methods[i][k] - 'a' + 'A');
		ck_assert_str_eq(pfs_node_spec(c), spec);
		ck_assert_ptr_eq(pfs_node_home(c), h);
	}
	ck_assert_int_eq(pfs_node_rmdir(src, "http"), -ENOTEMPTY);
	ck_assert_int_eq(pfs_node_rmdir(h, "trace"), 0);
	pfs_node_grow(h);
	ck_assert_ptr_null(pfs_node_entry(h, "trace"));

	ck_assert_int_eq(pfs_node_mkdir(src, "w", NULL, &w), 0);
	ck_assert_int_eq(pfs_node_mkdir(w, "get", NULL, NULL), 0);	/* the user's, first */
	ck_assert_int_eq(set_filter(w, "http"), 0);
	ck_assert_ptr_null(pfs_node_entry(w, "post"));
	pfs_node_grow(w);
	ck_assert_ptr_nonnull(pfs_node_entry(w, "post"));
	ck_assert_str_eq(pfs_node_spec(entry_node(w, "get")), "pass");	/* kept */
	pfs_graph_unlock();
	graph_down();
}
END_TEST

START_TEST(mkdir_long_plain_name)
{
	graph_up();
	struct src_arg sa = { .tag = "a" };
	struct pfs_node *src = add_source("src", &sa);
	pfs_graph_lock();
	/* any directory name that is no filter makes a pass-through node,
	 * however long (up to NAME_MAX) */
	char longname[256];
	memset(longname, 'n', 255);
	longname[255] = '\0';
	struct pfs_node *ln = NULL;
	int lrc = pfs_node_mkdir(src, longname, NULL, &ln);
	ck_assert_int_eq(pfs_node_mkdir(src, "0123456789abcdef0123456789abcdef"
				       "0123456789abcdef0123456789abcde", NULL, NULL), 0);	/* 63 */
	ck_assert_msg(pfs_node_mkdir(src, "0123456789abcdef0123456789abcdef"
				     "0123456789abcdef0123456789abcdef", NULL, NULL) == 0,	/* 64 */
		      "mkdir of a plain 64-character name fails");
	ck_assert_msg(lrc == 0, "mkdir of a plain 255-character name: %d", lrc);
	ck_assert_str_eq(pfs_node_spec(ln), "pass");
	ck_assert_int_eq(pfs_node_rmdir(src, longname), 0);
	ck_assert_int_eq(pfs_node_rmdir(src, "0123456789abcdef0123456789abcdef"
				       "0123456789abcdef0123456789abcde"), 0);
	ck_assert_int_eq(pfs_node_rmdir(src, "0123456789abcdef0123456789abcdef"
				       "0123456789abcdef0123456789abcdef"), 0);
	char toolong[300];
	memset(toolong, 'n', 299);
	toolong[299] = '\0';
	ck_assert_int_eq(pfs_node_mkdir(src, toolong, NULL, NULL), -EINVAL);
	pfs_graph_unlock();
	graph_down();
}
END_TEST

/* ---- 2. data flow --------------------------------------------------------- */

#define NFRAMES 61

static bool in_node(enum kind k, const char *node)
{
	bool tcp4 = k == K_TCP80 || k == K_TCP443;
	if (!strcmp(node, "src") || !strcmp(node, "all"))
		return true;
	if (!strcmp(node, "ip"))
		return tcp4 || k == K_UDP53;
	if (!strcmp(node, "ip/tcp"))
		return tcp4;
	if (!strcmp(node, "ip/tcp/port=80"))
		return k == K_TCP80;
	if (!strcmp(node, "ip/udp"))
		return k == K_UDP53;
	if (!strcmp(node, "arp"))
		return k == K_ARP;
	if (!strcmp(node, "tcp"))
		return tcp4 || k == K_TCP6_80;
	if (!strcmp(node, "tcp/port=80"))
		return k == K_TCP80 || k == K_TCP6_80;
	ck_abort_msg("no node %s", node);
	return false;
}

/* The frames of f that reach `node`, in order; returns how many. */
static size_t select_frames(const struct frame *f, size_t nf, const char *node,
			    const struct frame **out)
{
	size_t n = 0;
	for (size_t i = 0; i < nf; i++)
		if (in_node(f[i].kind, node))
			out[n++] = &f[i];
	return n;
}

static uint64_t bytes_of(const struct frame *const *f, size_t n)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n; i++)
		b += f[i]->n;
	return b;
}

START_TEST(records_flow_through_stages)
{
	graph_up();
	struct src_arg sa = { .tag = "flow" };
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_node *ip = mkdir_ok(src, "ip");
	struct pfs_node *tcp = mkdir_ok(ip, "tcp");
	struct pfs_node *nodes[] = { src, ip, tcp, mkdir_ok(tcp, "port=80"), mkdir_ok(ip, "udp"),
				     mkdir_ok(src, "arp"), mkdir_ok(src, "tcp"),
				     mkdir_ok(src, "all") };
	static const char *const names[] = { "src", "ip", "ip/tcp", "ip/tcp/port=80", "ip/udp",
					     "arp", "tcp", "all" };
	enum { N = sizeof nodes / sizeof nodes[0] };
	ck_assert_str_eq(pfs_node_spec(nodes[7]), "pass");
	struct pfs_producer *p = producer_at("flow", src);

	/* A reader below the source starts it, once per open. */
	ck_assert_int_eq(atomic_load(&sa.starts), 0);
	struct pfs_reader *r[N];
	r[3] = open_got(nodes[3]);
	ck_assert_int_eq(atomic_load(&sa.starts), 1);
	for (int i = 0; i < N; i++)
		if (i != 3)
			r[i] = open_got(nodes[i]);
	ck_assert_int_ge(atomic_load(&sa.starts), N);
	for (int i = 0; i < N; i++)
		ck_assert(!pfs_reader_eof(r[i]));

	static struct frame f[NFRAMES];
	for (int i = 0; i < NFRAMES; i++)
		build(&f[i], (enum kind)(i % K_NKINDS), 1000 + i, 1000000 + 10 * i);
	/* two runs: a run's end flushes, and the second starts mid-batch */
	run(p, src, f, 40);
	pfs_graph_lock();
	struct pfs_reader *rnow = pfs_reader_open(tcp, true, true, &desc_prefix);
	pfs_graph_unlock();
	ck_assert_ptr_nonnull(rnow);
	run(p, src, f + 40, NFRAMES - 40);
	{	/* from now: only the second run */
		struct got g = { 0 };
		const struct frame *w2[NFRAMES];
		drain(rnow, &g);
		expect(&g, w2, select_frames(f + 40, NFRAMES - 40, "ip/tcp", w2), "from now");
		got_free(&g);
		close_reader(rnow);
	}

	const struct frame *want[NFRAMES];
	for (int i = 0; i < N; i++) {
		struct got g = { 0 };
		drain(r[i], &g);
		size_t nw = select_frames(f, NFRAMES, names[i], want);
		expect(&g, want, nw, names[i]);
		got_free(&g);

		char *s = stats_of(nodes[i]);
		STAT_EQ(s, "records", nw);
		STAT_EQ(s, "bytes", bytes_of(want, nw));
		STAT_EQ(s, "readers", 1);
		STAT_EQ(s, "drops", 0);
		free(s);
	}

	/* the filters' counters: what each stage saw from its parent */
	static const struct { int node; const char *parent; } cls[] = {
		{ 1, "src" }, { 2, "ip" }, { 3, "ip/tcp" }, { 4, "ip" }, { 5, "src" }, { 6, "src" },
	};
	for (size_t i = 0; i < sizeof cls / sizeof cls[0]; i++) {
		const struct frame *in[NFRAMES];
		size_t nin = select_frames(f, NFRAMES, cls[i].parent, in);
		size_t nout = select_frames(f, NFRAMES, names[cls[i].node], want);
		char *s = stats_of(nodes[cls[i].node]);
		STAT_EQ(s, "matched", nout);
		STAT_EQ(s, "not_matched", nin - nout);
		free(s);
	}
	char *s = stats_of(src);
	ck_assert_msg(strstr(s, "source: test-flow\n"), "no source lines:\n%s", s);
	ck_assert_msg(strstr(s, "filter: pass\n"), "%s", s);
	free(s);
	s = stats_of(nodes[3]);
	ck_assert_msg(strstr(s, "filter: port=80\n"), "%s", s);
	ck_assert_msg(!strstr(s, "source:"), "source lines below the source:\n%s", s);
	free(s);

	for (int i = 0; i < N; i++)
		close_reader(r[i]);
	pfs_producer_set_ended(p, true);
	pfs_producer_free(p);
	graph_down();
}
END_TEST

/* ---- 3. backfill ---------------------------------------------------------- */

struct bf_thread {
	struct pfs_producer *p;
	struct pfs_node *src;
	const struct frame *f;
	size_t first, second;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int phase;	/* 1: first records in, run held; 2: go on */
};

static void *bf_run(void *arg)
{
	struct bf_thread *t = arg;
	pfs_graph_thread_register();
	pfs_producer_begin(t->p);
	for (size_t i = 0; i < t->first; i++)
		inject(t->p, t->src, &t->f[i]);	/* no yield: the run stays held */
	pthread_mutex_lock(&t->lock);
	t->phase = 1;
	pthread_cond_broadcast(&t->cond);
	while (t->phase != 2)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	for (size_t i = t->first; i < t->first + t->second; i++) {
		inject(t->p, t->src, &t->f[i]);
		pfs_producer_yield(t->p);
	}
	pfs_producer_end(t->p);
	pfs_graph_thread_unregister();
	return NULL;
}

START_TEST(new_node_backfills_moved_node_does_not)
{
	graph_up();
	struct src_arg sa = { .tag = "a" }, sb = { .tag = "b" };
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_producer *p = producer_at("a", src);
	static struct frame f[64];
	const struct frame *want[64];
	size_t nw;

	/* (a) the producer is idle at the mkdir: the control thread backfills */
	for (int i = 0; i < 12; i++)
		build(&f[i], (enum kind)(i % K_NKINDS), 100 + i, 1000 + i);
	run(p, src, f, 12);
	struct pfs_node *tcp = mkdir_ok(src, "tcp");
	struct pfs_reader *r = open_got(tcp);
	struct got g = { 0 };
	drain(r, &g);
	nw = select_frames(f, 12, "tcp", want);
	expect(&g, want, nw, "tcp, backfilled by mkdir");
	for (int i = 12; i < 20; i++)
		build(&f[i], (enum kind)(i % K_NKINDS), 100 + i, 1000 + i);
	run(p, src, f + 12, 8);
	drain(r, &g);
	nw = select_frames(f, 20, "tcp", want);
	expect(&g, want, nw, "tcp, backfill then live");
	got_free(&g);
	char *s = stats_of(tcp);
	STAT_EQ(s, "matched", nw);
	STAT_EQ(s, "not_matched", 20 - nw);
	free(s);

	/* (b) the producer is inside a run at the mkdir: it backfills itself
	 * before its next record, which comes after the backfilled ones */
	for (int i = 20; i < 50; i++)
		build(&f[i], (enum kind)(i % K_NKINDS), 100 + i, 1000 + i);
	struct bf_thread t = { .p = p, .src = src, .f = f + 20, .first = 10, .second = 20,
			       .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, bf_run, &t), 0);
	pthread_mutex_lock(&t.lock);
	while (t.phase != 1)
		pthread_cond_wait(&t.cond, &t.lock);
	pthread_mutex_unlock(&t.lock);
	struct pfs_node *all = mkdir_ok(src, "all");
	struct pfs_node *ip = mkdir_ok(src, "ip");
	struct pfs_reader *ra = open_got(all), *ri = open_got(ip);
	pthread_mutex_lock(&t.lock);
	t.phase = 2;
	pthread_cond_broadcast(&t.cond);
	pthread_mutex_unlock(&t.lock);
	pthread_join(th, NULL);
	struct got ga = { 0 }, gi = { 0 };
	drain(ra, &ga);
	drain(ri, &gi);
	nw = select_frames(f, 50, "all", want);
	expect(&ga, want, nw, "all, backfilled by its producer");
	nw = select_frames(f, 50, "ip", want);
	expect(&gi, want, nw, "ip, backfilled by its producer");
	got_free(&ga);
	got_free(&gi);
	s = stats_of(ip);
	STAT_EQ(s, "records", nw);
	STAT_EQ(s, "matched", nw);
	STAT_EQ(s, "not_matched", 50 - nw);
	free(s);
	/* a new node below a stage backfills from that stage's records */
	struct pfs_node *udp = mkdir_ok(ip, "udp");
	struct pfs_reader *ru = open_got(udp);
	struct got gu = { 0 };
	drain(ru, &gu);
	nw = select_frames(f, 50, "ip/udp", want);
	expect(&gu, want, nw, "ip/udp, backfilled from ip");
	got_free(&gu);
	close_reader(ru);
	close_reader(ra);
	close_reader(ri);
	close_reader(r);

	/* (c) mv: the moved node follows only what its new parent gets from
	 * now on; what its former parent gave it is no longer its history
	 * for a reader that opens after the mv, and stays for one that was
	 * reading */
	struct src_arg sc = { .tag = "c" };
	struct pfs_node *src2 = add_source("src2", &sb), *src3 = add_source("src3", &sc);
	struct pfs_producer *p2 = producer_at("b", src2), *p3 = producer_at("c", src3);
	static struct frame a[5], b[15];
	for (int i = 0; i < 15; i++)	/* ts: b[0..9] oldest, b[10..14] newest */
		build(&b[i], K_TCP80, 5000 + i, i < 10 ? 10 + i : 900 + i);
	for (int i = 0; i < 5; i++)
		build(&a[i], K_TCP443, 6000 + i, 500 + i);
	struct pfs_node *x = mkdir_ok(src3, "x");
	run(p2, src2, b, 10);
	run(p3, src3, a, 5);
	struct pfs_reader *rbefore = open_got(x);
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_rename(src3, "x", src2, "x", NULL), 0);
	pfs_graph_unlock();
	run(p3, src3, a, 5);	/* not x's any more */
	struct pfs_reader *rx = open_got(x);
	struct got gx = { 0 }, gbefore = { 0 };
	drain(rx, &gx);
	const struct frame *wx[10] = { 0 };
	expect(&gx, wx, 0, "x opened after the mv, before new records");
	run(p2, src2, b + 10, 5);
	drain(rx, &gx);
	for (int i = 0; i < 5; i++)
		wx[i] = &b[10 + i];
	expect(&gx, wx, 5, "x opened after the mv");
	drain(rbefore, &gbefore);
	for (int i = 0; i < 5; i++) {
		wx[i] = &a[i];
		wx[5 + i] = &b[10 + i];
	}
	expect(&gbefore, wx, 10, "x opened before the mv");
	got_free(&gx);
	got_free(&gbefore);
	close_reader(rx);
	close_reader(rbefore);

	/* (d) x moved under a node nobody has written to: its rings are a
	 * former parent's, ended; it waits, as a FIFO before its writer,
	 * rather than say end of stream (the README's httpclean pipeline) */
	struct pfs_node *clean = mkdir_ok(pfs_graph_root(), "clean");
	pfs_producer_set_ended(p2, true);
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_rename(src2, "x", clean, "x", NULL), 0);
	pfs_graph_unlock();
	rx = open_got(x);
	ck_assert(!pfs_reader_eof(rx));
	ck_assert(!pfs_reader_ready(rx));
	struct pfs_producer *w = producer_at("w", clean);
	pfs_producer_set_ended(w, true);	/* its writer closed: now it ends */
	ck_assert(pfs_reader_eof(rx));
	close_reader(rx);
	pfs_producer_free(w);

	pfs_producer_set_ended(p, true);
	pfs_producer_set_ended(p2, true);
	pfs_producer_set_ended(p3, true);
	pfs_producer_free(p);
	pfs_producer_free(p2);
	pfs_producer_free(p3);
	graph_down();
}
END_TEST

/* ---- 4. end of stream ----------------------------------------------------- */

START_TEST(end_of_stream_from_the_rings)
{
	graph_up();
	struct src_arg sa = { .tag = "a" }, sb = { .tag = "b" };
	struct pfs_node *root = pfs_graph_root();
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_node *tcp = mkdir_ok(src, "tcp");
	struct pfs_producer *p = producer_at("a", src);
	struct pfs_reader *rs = open_got(src), *rt = open_got(tcp);
	struct got gs = { 0 }, gt = { 0 };
	static struct frame f[10];
	for (int i = 0; i < 10; i++)
		build(&f[i], (enum kind)(i % K_NKINDS), 10 + i, 100 + i);

	ck_assert(!pfs_reader_eof(rs));
	ck_assert(!pfs_reader_eof(rt));
	run(p, src, f, 10);
	ck_assert(pfs_reader_ready(rs));
	ck_assert(!pfs_reader_eof(rs));
	drain(rs, &gs);
	drain(rt, &gt);
	ck_assert_uint_eq(gs.n, 10);
	ck_assert(!pfs_reader_eof(rs));	/* the producer has not finished */
	ck_assert(!pfs_reader_eof(rt));
	ck_assert(!pfs_reader_ready(rt));
	pfs_producer_set_ended(p, true);
	ck_assert(pfs_reader_eof(rs));
	ck_assert(pfs_reader_eof(rt));
	ck_assert(pfs_reader_ready(rt));
	/* a reader that has not caught up is not at the end */
	struct pfs_reader *late = open_got(src);
	ck_assert(!pfs_reader_eof(late));
	struct got gl = { 0 };
	ck_assert(drain_to_eof(late, &gl, 2));
	ck_assert_uint_eq(gl.n, 10);
	got_free(&gl);
	close_reader(late);
	/* produces again: not at the end */
	pfs_producer_set_ended(p, false);
	ck_assert(!pfs_reader_eof(rs));
	ck_assert(!pfs_reader_eof(rt));
	pfs_producer_set_ended(p, true);
	ck_assert(pfs_reader_eof(rs));

	/* a node made under a finished source: what the source holds, then
	 * the end */
	struct pfs_node *late_ip = mkdir_ok(src, "ip");
	struct pfs_reader *rli = open_got(late_ip);
	struct got gli = { 0 };
	ck_assert_msg(drain_to_eof(rli, &gli, 2), "node made under an ended source: no end");
	const struct frame *wli[10];
	expect(&gli, wli, select_frames(f, 10, "ip", wli), "ip made after the end");
	got_free(&gli);
	close_reader(rli);

	/* a top-level node nobody writes to: a FIFO before its first writer */
	struct pfs_node *top = mkdir_ok(root, "top");
	struct pfs_node *below = mkdir_ok(top, "tcp");
	struct pfs_reader *rtop = open_got(top), *rbelow = open_got(below);
	ck_assert(!pfs_reader_eof(rtop));
	ck_assert(!pfs_reader_ready(rtop));
	ck_assert(!pfs_reader_eof(rbelow));
	struct pfs_producer *w = NULL, *w2 = NULL;
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_writer_open(top, &w), 0);
	ck_assert_int_eq(pfs_node_writer_open(top, &w2), 0);	/* a second writer */
	pfs_graph_unlock();
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_eq(w, w2);
	ck_assert(!pfs_reader_eof(rtop));
	run(w, top, f, 4);
	pfs_graph_lock();
	pfs_node_writer_close(top);
	pfs_graph_unlock();
	struct got gw = { 0 }, gb = { 0 };
	drain(rtop, &gw);
	ck_assert_uint_eq(gw.n, 4);
	ck_assert(!pfs_reader_eof(rtop));	/* one writer still has it open */
	pfs_graph_lock();
	pfs_node_writer_close(top);
	pfs_graph_unlock();
	ck_assert(pfs_reader_eof(rtop));
	ck_assert(drain_to_eof(rbelow, &gb, 2));
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_writer_open(top, &w), 0);
	pfs_graph_unlock();
	ck_assert(!pfs_reader_eof(rtop));
	ck_assert(!pfs_reader_eof(rbelow));
	run(w, top, f + 4, 2);
	drain(rtop, &gw);
	ck_assert(!pfs_reader_eof(rtop));
	pfs_graph_lock();
	pfs_node_writer_close(top);
	pfs_graph_unlock();
	ck_assert(pfs_reader_eof(rtop));
	const struct frame *want[10];
	for (int i = 0; i < 6; i++)
		want[i] = &f[i];
	expect(&gw, want, 6, "written node");
	ck_assert(drain_to_eof(rbelow, &gb, 2));
	size_t nw = select_frames(f, 6, "tcp", want);
	expect(&gb, want, nw, "below the written node");
	got_free(&gw);
	got_free(&gb);

	/* a node moved from an ended source under a live one */
	struct pfs_node *sub = mkdir_ok(tcp, "port=80");
	struct pfs_reader *rsub = open_got(sub);
	struct got gsub = { 0 };
	ck_assert(drain_to_eof(rsub, &gsub, 2));
	struct pfs_node *src2 = add_source("src2", &sb);
	struct pfs_producer *p2 = producer_at("b", src2);
	ck_assert(pfs_reader_eof(rt));
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_rename(src, "tcp", src2, "tcp", NULL), 0);
	pfs_graph_unlock();
	ck_assert_msg(!pfs_reader_eof(rt), "moved under a live source, yet at end of stream");
	struct pfs_reader *rt2 = open_got(tcp);
	ck_assert_msg(!pfs_reader_eof(rt2), "new reader of a moved node at end of stream");
	ck_assert_msg(!pfs_reader_eof(rsub), "below a node moved under a live source, yet at end");
	static struct frame g2[3];
	for (int i = 0; i < 3; i++)
		build(&g2[i], K_TCP80, 50 + i, 1000 + i);
	run(p2, src2, g2, 3);
	pfs_producer_set_ended(p2, true);
	ck_assert(drain_to_eof(rt, &gt, 2));
	nw = select_frames(f, 10, "tcp", want);
	for (int i = 0; i < 3; i++)
		want[nw + i] = &g2[i];
	expect(&gt, want, nw + 3, "moved tcp");
	got_free(&gt);
	ck_assert(drain_to_eof(rsub, &gsub, 2));
	nw = select_frames(f, 10, "tcp/port=80", want);	/* backfilled at its mkdir */
	for (int i = 0; i < 3; i++)
		want[nw + i] = &g2[i];
	expect(&gsub, want, nw + 3, "below the moved tcp");
	got_free(&gsub);
	close_reader(rsub);
	got_free(&gs);

	close_reader(rs);
	close_reader(rt);
	close_reader(rt2);
	close_reader(rtop);
	close_reader(rbelow);
	pfs_producer_free(p);
	pfs_producer_free(p2);
	graph_down();
}
END_TEST

/* ---- 5. merging producers ------------------------------------------------- */

START_TEST(two_producers_merge_by_timestamp)
{
	graph_up();
	struct src_arg sa = { .tag = "a" }, sb = { .tag = "b" };
	struct pfs_node *s1 = add_source("s1", &sa), *s2 = add_source("s2", &sb);
	struct pfs_node *m = mkdir_ok(s1, "m");
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_link(s2, "m", m, "../s1/m"), 0);
	pfs_graph_unlock();
	/* a reader there before the producers' rings are made */
	struct pfs_reader *early = open_got(m);
	struct pfs_producer *p1 = producer_at("1", s1), *p2 = producer_at("2", s2);
	struct pfs_reader *r = open_got(m);
	enum { PER = 50 };
	static struct frame f1[PER], f2[PER];
	for (int i = 0; i < PER; i++) {
		build(&f1[i], (enum kind)(i % K_NKINDS), 10000 + i, 1000 + 2 * (uint64_t)i);
		build(&f2[i], (enum kind)((i + 3) % K_NKINDS), 20000 + i, 1001 + 2 * (uint64_t)i);
	}
	/* runs of each producer, alternately, not in timestamp order */
	run(p2, s2, f2, 20);
	run(p1, s1, f1, 30);
	run(p2, s2, f2 + 20, PER - 20);
	run(p1, s1, f1 + 30, PER - 30);
	pfs_producer_set_ended(p1, true);
	ck_assert(!pfs_reader_eof(r));
	pfs_producer_set_ended(p2, true);
	struct got g = { 0 };
	ck_assert(drain_to_eof(r, &g, 2));
	const struct frame *want[2 * PER];
	for (int i = 0; i < PER; i++) {
		want[2 * i] = &f1[i];
		want[2 * i + 1] = &f2[i];
	}
	expect(&g, want, 2 * PER, "merged");
	got_free(&g);
	ck_assert(drain_to_eof(early, &g, 2));
	expect(&g, want, 2 * PER, "merged, opened before the rings");
	got_free(&g);
	char *s = stats_of(m);
	STAT_EQ(s, "records", 2 * PER);
	free(s);

	/* rm of the link: p2 no longer reaches m, so m is at its end even
	 * while p2 produces again */
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_unlink(s2, "m"), 0);
	pfs_graph_unlock();
	pfs_producer_set_ended(p2, false);
	run(p2, s2, f2, 5);
	ck_assert_msg(pfs_reader_eof(r), "m still waits for a producer that no longer reaches it");
	s = stats_of(m);
	STAT_EQ(s, "records", 2 * PER);
	free(s);
	/* ... and p1 produces again: not at the end */
	pfs_producer_set_ended(p1, false);
	ck_assert(!pfs_reader_eof(r));
	run(p1, s1, f1, 3);
	ck_assert_uint_eq(drain(r, &g), 3);
	pfs_producer_set_ended(p1, true);
	pfs_producer_set_ended(p2, true);
	ck_assert(pfs_reader_eof(r));
	got_free(&g);
	close_reader(early);
	close_reader(r);
	pfs_producer_free(p1);
	pfs_producer_free(p2);
	graph_down();
}
END_TEST

/* ---- 6. rmdir under traffic ----------------------------------------------- */

struct feeder {
	struct pfs_producer *p;
	struct pfs_node *src;
	uint16_t pad;
	atomic_bool stop, done;
	uint64_t sent;		/* atomic stores by the feeder */
	int failed;
};

static uint64_t sent_of(struct feeder *fd)
{
	return __atomic_load_n(&fd->sent, __ATOMIC_RELAXED);
}

static void *feed(void *arg)
{
	struct feeder *fd = arg;
	struct frame f;
	pfs_graph_thread_register();
	while (!atomic_load(&fd->stop)) {
		pfs_producer_begin(fd->p);
		for (int k = 0; k < 8; k++) {
			build_padded(&f, fd->sent, fd->sent, fd->pad);
			struct pfs_desc d = { .ts_ns = f.ts, .wire_len = f.n,
					      .link_type = LT_ETHERNET, .kind = PFS_KIND_FRAME };
			uint8_t *w = pfs_producer_alloc(fd->p, fd->src, f.n, &d);
			if (!w) {
				fd->failed++;
				continue;
			}
			memcpy(w, f.b, f.n);
			pfs_producer_inject(fd->p, fd->src, &d, w);
			__atomic_store_n(&fd->sent, fd->sent + 1, __ATOMIC_RELAXED);
			pfs_producer_yield(fd->p);
		}
		pfs_producer_end(fd->p);
		sched_yield();
	}
	pfs_graph_thread_unregister();
	atomic_store(&fd->done, true);
	return NULL;
}

/* Stop the feeder: its lossless producer may be waiting for these
 * readers, so they read on until it has gone. */
static void stop_feeder(struct feeder *fd, pthread_t th, struct pfs_reader **r,
			struct got **g, int n)
{
	atomic_store(&fd->stop, true);
	while (!atomic_load(&fd->done)) {
		for (int i = 0; i < n; i++)
			drain(r[i], g[i]);
		usleep(1000);
	}
	pthread_join(th, NULL);
}

/* Record tags strictly one after another, from `first` (or from whatever
 * comes first, if first < 0); returns the last tag + 1. */
static uint64_t check_run(const struct got *g, int64_t first, const char *what)
{
	uint64_t next = 0;
	for (size_t i = 0; i < g->n; i++) {
		uint64_t t = rec_tag(&g->r[i]);
		if (i == 0 && first < 0)
			next = t;
		else if (i == 0)
			next = (uint64_t)first;
		ck_assert_msg(t == next, "%s: record %zu has tag %llu, expected %llu", what, i,
			      (unsigned long long)t, (unsigned long long)next);
		next++;
	}
	return next;
}

START_TEST(rmdir_under_traffic)
{
	graph_up();
	struct src_arg sa = { .tag = "a" };
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_node *x = mkdir_ok(src, "x"), *z = mkdir_ok(x, "tcp");
	struct pfs_node *y = mkdir_ok(src, "y");
	struct feeder fd = { .p = producer_at("a", src), .src = src };
	struct pfs_reader *rx = open_got(x), *rz = open_got(z), *ry = open_got(y), *rw = NULL;
	struct got gx = { 0 }, gz = { 0 }, gy = { 0 }, gw = { 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, feed, &fd), 0);

	double t0 = now_s();
	int step = 0;
	while (now_s() - t0 < 0.5) {
		drain(rx, &gx);
		drain(rz, &gz);
		drain(ry, &gy);
		if (rw)
			drain(rw, &gw);
		double t = now_s() - t0;
		if (step == 0 && t > 0.1) {
			struct pfs_node *w = NULL;
			pfs_graph_lock();
			ck_assert_int_eq(pfs_node_mkdir(src, "w", NULL, &w), 0);
			rw = pfs_reader_open(w, false, true, &desc_prefix);
			pfs_graph_unlock();
			ck_assert_ptr_nonnull(rw);
			step++;
		} else if (step == 1 && t > 0.2) {
			pfs_graph_lock();
			ck_assert_int_eq(pfs_node_rmdir(x, "tcp"), 0);
			pfs_graph_unlock();
			step++;
		} else if (step == 2 && t > 0.3) {
			pfs_graph_lock();
			ck_assert_int_eq(pfs_node_rmdir(src, "x"), 0);
			ck_assert_ptr_null(pfs_node_entry(src, "x"));
			/* and y's filter changes under traffic (it passes the same) */
			ck_assert_int_eq(set_filter(y, "tcp"), 0);
			pfs_graph_unlock();
			step++;
		}
		sched_yield();
	}
	ck_assert_int_eq(step, 3);
	/* the removed nodes' readers reach the end while traffic goes on */
	ck_assert_msg(drain_to_eof(rz, &gz, 5), "reader of a removed node not at end");
	ck_assert_msg(drain_to_eof(rx, &gx, 5), "reader of a removed node not at end");
	stop_feeder(&fd, th, (struct pfs_reader *[]){ ry, rw }, (struct got *[]){ &gy, &gw }, 2);
	ck_assert_int_eq(fd.failed, 0);
	ck_assert_uint_gt(fd.sent, 100);
	pfs_producer_set_ended(fd.p, true);
	ck_assert(drain_to_eof(ry, &gy, 5));
	ck_assert(drain_to_eof(rw, &gw, 5));

	/* every record once, in order: all of them at y, a stretch up to
	 * the last at w, a stretch from the first at x and below it */
	ck_assert_uint_eq(check_run(&gy, 0, "y"), fd.sent);
	ck_assert_uint_eq(gy.n, fd.sent);
	ck_assert_uint_eq(check_run(&gw, -1, "w (made under traffic)"), fd.sent);
	ck_assert_uint_gt(gw.n, 0);
	check_run(&gx, 0, "x (removed)");
	check_run(&gz, 0, "x/tcp (removed)");
	ck_assert_uint_lt(gx.n, fd.sent);
	ck_assert_uint_gt(gx.n, 0);
	ck_assert_uint_le(gz.n, gx.n);
	printf("rmdir_under_traffic: %llu records; x got %zu, x/tcp %zu, w %zu\n",
	       (unsigned long long)fd.sent, gx.n, gz.n, gw.n);

	char *s = stats_of(y);
	STAT_EQ(s, "records", fd.sent);
	free(s);
	got_free(&gx);
	got_free(&gz);
	got_free(&gy);
	got_free(&gw);
	close_reader(rx);
	close_reader(rz);
	close_reader(ry);
	close_reader(rw);
	pfs_producer_free(fd.p);
	graph_down();
}
END_TEST

/* A lossless producer waits for a reader that does not read; closing the
 * reader, or removing its node, lets it go.  _i: bit 0, large records (the
 * data ring fills first, not the index ring); bit 1, rmdir (not close). */
START_TEST(stalled_reader_lets_go)
{
	bool big = _i & 1, by_rmdir = _i & 2;
	graph_up();
	struct src_arg sa = { .tag = "a" };
	struct pfs_node *src = add_source("src", &sa);
	struct pfs_node *y = mkdir_ok(src, "y");
	struct pfs_node *stuck = mkdir_ok(src, "stuck");
	struct feeder fd = { .p = producer_at("a", src), .src = src, .pad = big ? 1400 : 0 };
	struct pfs_reader *ry = open_got(y), *rs = open_got(stuck);
	struct got gy = { 0 }, gs = { 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, feed, &fd), 0);

	/* wait for the stall */
	uint64_t last = 0, stalled = 0;
	double t0 = now_s(), since = t0;
	while (now_s() - t0 < 10) {
		drain(ry, &gy);
		uint64_t n = sent_of(&fd);
		if (n != last) {
			last = n;
			since = now_s();
		} else if (n > 0 && now_s() - since > 0.3) {
			stalled = n;
			break;
		}
		usleep(1000);
	}
	ck_assert_msg(stalled > 0, "the producer never waited for the reader (%llu records)",
		      (unsigned long long)last);
	/* it waited at most one ring's worth */
	ck_assert_uint_le(stalled, big ? (RING_BYTES / 1400) + 1 : 1024 + 8);
	if (by_rmdir) {
		pfs_graph_lock();
		ck_assert_int_eq(pfs_node_rmdir(src, "stuck"), 0);
		pfs_graph_unlock();
	} else {
		close_reader(rs);
		rs = NULL;
	}
	t0 = now_s();
	while (now_s() - t0 < 10 && sent_of(&fd) < stalled + 3000)
		drain(ry, &gy);
	ck_assert_msg(sent_of(&fd) >= stalled + 3000,
		      "the producer is still held after the %s: %llu records, stalled at %llu",
		      by_rmdir ? "rmdir" : "close", (unsigned long long)sent_of(&fd),
		      (unsigned long long)stalled);
	if (rs)
		stop_feeder(&fd, th, (struct pfs_reader *[]){ ry, rs },
			    (struct got *[]){ &gy, &gs }, 2);
	else
		stop_feeder(&fd, th, &ry, (struct got *[]){ &gy }, 1);
	ck_assert_int_eq(fd.failed, 0);
	pfs_producer_set_ended(fd.p, true);
	ck_assert(drain_to_eof(ry, &gy, 5));
	ck_assert_uint_eq(check_run(&gy, 0, "y"), fd.sent);
	if (rs) {
		ck_assert_msg(drain_to_eof(rs, &gs, 5), "reader of the removed node: no end");
		/* what it had not read may have been overwritten since (the
		 * removed node no longer holds the producer): any stretch */
		check_run(&gs, -1, "stuck");
		close_reader(rs);
	}
	got_free(&gy);
	got_free(&gs);
	close_reader(ry);
	pfs_producer_free(fd.p);
	graph_down();
}
END_TEST

/* ---- 7. per-producer state ------------------------------------------------ */

struct counter_feed {
	struct pfs_producer *p;
	struct pfs_node *src;
	int n;		/* frames: every third one UDP, the rest TCP */
	uint64_t tag0;
	pthread_barrier_t *go;	/* both feeders at once */
};

static void *count_feed(void *arg)
{
	struct counter_feed *c = arg;
	struct frame f;
	pfs_graph_thread_register();
	if (c->go)
		pthread_barrier_wait(c->go);
	pfs_producer_begin(c->p);
	for (int i = 0; i < c->n; i++) {
		build(&f, i % 3 == 2 ? K_UDP53 : K_TCP80, c->tag0 + i, c->tag0 + i);
		struct pfs_desc d = { .ts_ns = f.ts, .wire_len = f.n, .link_type = LT_ETHERNET,
				      .kind = PFS_KIND_FRAME };
		uint8_t *w = pfs_producer_alloc(c->p, c->src, f.n, &d);
		if (w) {
			memcpy(w, f.b, f.n);
			pfs_producer_inject(c->p, c->src, &d, w);
		}
		pfs_producer_yield(c->p);
	}
	pfs_producer_end(c->p);
	pfs_graph_thread_unregister();
	return NULL;
}

static void count_feed_run(struct counter_feed *a, struct counter_feed *b)
{
	pthread_t ta, tb;
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	a->go = b->go = &go;
	ck_assert_int_eq(pthread_create(&ta, NULL, count_feed, a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, count_feed, b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	a->go = b->go = NULL;
	pthread_barrier_destroy(&go);
}

static int tcp_of(int n)
{
	return n - n / 3;
}

START_TEST(per_producer_counters)
{
	graph_up();
	struct src_arg sa = { .tag = "a" }, sb = { .tag = "b" };
	struct pfs_node *s1 = add_source("s1", &sa), *s2 = add_source("s2", &sb);
	struct pfs_node *t = mkdir_ok(s1, "tcp");
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_link(s2, "tcp", t, "../s1/tcp"), 0);
	pfs_graph_unlock();
	struct pfs_producer *p1 = producer_at("1", s1), *p2 = producer_at("2", s2);

	/* both at once, each with a state of its own: the sum is exact */
	enum { N1 = 200000, N2 = 150001 };
	struct counter_feed a = { p1, s1, N1, 0, NULL }, b = { p2, s2, N2, 1000000, NULL };
	count_feed_run(&a, &b);
	char *s = stats_of(t);
	STAT_EQ(s, "matched", tcp_of(N1) + tcp_of(N2));
	STAT_EQ(s, "not_matched", N1 / 3 + N2 / 3);
	STAT_EQ(s, "records", tcp_of(N1) + tcp_of(N2));
	free(s);
	s = stats_of(s1);
	STAT_EQ(s, "records", N1);
	free(s);

	/* a new filter counts from zero */
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_rename(s1, "tcp", s1, "udp", NULL), 0);
	pfs_graph_unlock();
	s = stats_of(t);
	STAT_EQ(s, "matched", 0);
	STAT_EQ(s, "not_matched", 0);
	ck_assert_msg(strstr(s, "filter: udp\n"), "%s", s);
	free(s);
	a.n = 30;
	b.n = 9;
	count_feed_run(&a, &b);
	s = stats_of(t);
	STAT_EQ(s, "matched", 30 / 3 + 9 / 3);
	STAT_EQ(s, "not_matched", tcp_of(30) + tcp_of(9));
	free(s);
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_rename(s1, "udp", s1, "tcp", NULL), 0);
	pfs_graph_unlock();
	a.n = 12;
	b.n = 7;
	count_feed_run(&a, &b);
	s = stats_of(t);
	STAT_EQ(s, "matched", tcp_of(12) + tcp_of(7));
	STAT_EQ(s, "not_matched", 12 / 3 + 7 / 3);
	free(s);

	/* the producers go: the node's stats stay, its readers reach the end */
	pfs_producer_set_ended(p1, true);
	pfs_producer_set_ended(p2, true);
	pfs_producer_free(p1);
	pfs_producer_free(p2);
	s = stats_of(t);
	STAT_EQ(s, "matched", tcp_of(12) + tcp_of(7));
	STAT_EQ(s, "not_matched", 12 / 3 + 7 / 3);
	STAT_EQ(s, "records", tcp_of(N1) + tcp_of(N2) + 30 / 3 + 9 / 3 + tcp_of(12) + tcp_of(7));
	free(s);
	struct pfs_reader *r = open_got(t);
	struct got g = { 0 };
	ck_assert_msg(drain_to_eof(r, &g, 2), "reader of a node whose producers are gone");
	ck_assert_uint_gt(g.n, 0);
	got_free(&g);
	close_reader(r);

	/* a new producer (in a freed slot) adds to the totals */
	struct pfs_producer *p3 = producer_at("3", s1);
	struct counter_feed c = { p3, s1, 9, 5000000, NULL };
	pthread_t tc;
	ck_assert_int_eq(pthread_create(&tc, NULL, count_feed, &c), 0);
	pthread_join(tc, NULL);
	s = stats_of(t);
	STAT_EQ(s, "matched", tcp_of(12) + tcp_of(7) + tcp_of(9));
	STAT_EQ(s, "not_matched", 12 / 3 + 7 / 3 + 9 / 3);
	free(s);
	pfs_producer_set_ended(p3, true);
	pfs_producer_free(p3);
	graph_down();
}
END_TEST

/* The rings may take --ring-budget bytes in all: a mkdir whose rings would
 * go past it fails with ENOMEM and leaves nothing; a rmdir gives the
 * memory back (once the node is freed, after a grace period). */
START_TEST(ring_budget)
{
	/* The source's data ring (1 MiB), its index ring, and five more
	 * index rings (1024 descriptors and a header page each). */
	const uint64_t ibuf = 1024 * sizeof(struct pfs_desc) + 4096;
	graph_up_budget(RING_BYTES + 4096 + 6 * ibuf + ibuf / 2);
	struct src_arg a = { .tag = "s" };
	struct pfs_node *s = add_source("s", &a);
	struct pfs_producer *p = producer_at("s", s);
	char name[16];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		mkdir_ok(s, name);
	}
	pfs_graph_lock();
	ck_assert_int_eq(pfs_node_mkdir(s, "over", NULL, NULL), -ENOMEM);
	ck_assert_ptr_null(pfs_node_entry(s, "over"));
	ck_assert_int_eq(pfs_node_rmdir(s, "n0"), 0);
	pfs_graph_unlock();
	int rc = -ENOMEM;
	for (int tries = 0; tries < 200 && rc == -ENOMEM; tries++) {
		usleep(10000);
		pfs_graph_lock();
		rc = pfs_node_mkdir(s, "again", NULL, NULL);
		pfs_graph_unlock();
	}
	ck_assert_int_eq(rc, 0);
	pfs_producer_set_ended(p, true);
	graph_down();
	pfs_producer_free(p);
}
END_TEST

/* ---- a late reader of a wrapped data ring -------------------------------- */

/*
 * A text node's data ring (64K) wraps before its index ring (1024
 * descriptors): the oldest descriptors point at reused bytes.  A reader
 * opened afterwards, holding or not, starts at the oldest line still
 * there, gets the newest lines in order, and counts no drops: the lines
 * gone before its open were not its loss.
 */
START_TEST(late_reader_counts_no_gone_records)
{
	ck_assert_int_eq(pfs_graph_init(65536, UINT64_MAX), 0);
	pfs_graph_thread_register();
	struct src_arg a = { .tag = "late" };
	struct pfs_node *s = add_source("s", &a);
	struct pfs_node *text = mkdir_ok(s, "text");
	struct pfs_producer *p = producer_at("late", s);
	enum { N = 3000 };
	static struct frame f[N];
	for (size_t i = 0; i < N; i++)
		build(&f[i], K_TCP80, 100 + i, 1000 + i);
	run(p, s, f, N);
	pfs_producer_set_ended(p, true);
	for (int holds = 0; holds < 2; holds++) {
		pfs_graph_lock();
		struct pfs_reader *r = pfs_reader_open(text, false, holds, &desc_prefix);
		pfs_graph_unlock();
		ck_assert_ptr_nonnull(r);
		struct got g = { 0 };
		ck_assert(drain_to_eof(r, &g, 10));
		ck_assert_uint_gt(g.n, 0);
		ck_assert_msg(g.n < 1024, "%zu lines: the data ring did not wrap first", g.n);
		for (size_t i = 0; i < g.n; i++)
			ck_assert_uint_eq(g.r[i].d.ts_ns, f[N - g.n + i].ts);
		ck_assert_uint_eq(pfs_reader_drops(r), 0);
		close_reader(r);
		got_free(&g);
	}
	char *st = stats_of(text);
	STAT_EQ(st, "records", N);
	STAT_EQ(st, "drops", 0);
	free(st);
	pfs_producer_free(p);
	graph_down();
}
END_TEST

/*
 * Empty records alike (a capture's empty packets of one timestamp, copied
 * in one after the other) are records of their own, each published at
 * every node, none a duplicate.  Found by tests/fuzz/fuzz_pcap_file: the
 * second of two got the first one's position in the data ring, and was
 * dropped as the first arriving again.
 */
START_TEST(empty_records_alike_are_not_duplicates)
{
	ck_assert_int_eq(pfs_graph_init(65536, UINT64_MAX), 0);
	pfs_graph_thread_register();
	struct src_arg a = { .tag = "empty" };
	struct pfs_node *s = add_source("s", &a);
	struct pfs_node *all = mkdir_ok(s, "pass");
	struct pfs_producer *p = producer_at("empty", s);
	enum { N = 3 };
	pfs_producer_begin(p);
	for (int i = 0; i < N; i++) {
		struct pfs_desc d = { .ts_ns = 1000, .link_type = LT_ETHERNET,
				      .kind = PFS_KIND_FRAME };
		uint8_t *w = pfs_producer_alloc(p, s, 0, &d);
		ck_assert_ptr_nonnull(w);
		ck_assert_uint_eq(d.len, 0);
		ck_assert_int_eq(pfs_producer_inject(p, s, &d, w), 0);
		pfs_producer_yield(p);
	}
	pfs_producer_end(p);
	pfs_producer_set_ended(p, true);
	struct pfs_node *nodes[] = { s, all };
	for (size_t k = 0; k < 2; k++) {
		struct pfs_reader *r = open_got(nodes[k]);
		struct got g = { 0 };
		ck_assert(drain_to_eof(r, &g, 10));
		ck_assert_uint_eq(g.n, N);
		close_reader(r);
		got_free(&g);
		char *st = stats_of(nodes[k]);
		STAT_EQ(st, "records", N);
		STAT_EQ(st, "duplicates", 0);
		free(st);
	}
	pfs_producer_free(p);
	graph_down();
}
END_TEST

/* ---- a holding reader of a text node, behind a small data ring ---------- */

struct text_feed {
	struct pfs_producer *p;
	struct pfs_node *top;
	const struct frame *f;
	size_t nf;
};

static void *text_feed_run(void *arg)
{
	struct text_feed *t = arg;
	pfs_graph_thread_register();
	run(t->p, t->top, t->f, t->nf);
	pfs_producer_set_ended(t->p, true);
	pfs_graph_thread_unregister();
	return NULL;
}

/*
 * A lossless producer makes text lines into a 64K data ring far faster
 * than a holding reader takes them: it waits for the reader rather than
 * reuse a line's bytes, its flow header in the head room included (the
 * reader's framing makes the intact check cover it).  The reader gets
 * every line and counts no drops.
 */
START_TEST(holding_reader_of_text_loses_nothing)
{
	ck_assert_int_eq(pfs_graph_init(65536, UINT64_MAX), 0);
	pfs_graph_thread_register();
	struct src_arg a = { .tag = "slow" };
	struct pfs_node *s = add_source("s", &a);
	struct pfs_node *text = mkdir_ok(s, "text");
	struct pfs_producer *p = producer_at("slow", s);
	enum { N = 5000 };
	static struct frame f[N];
	for (size_t i = 0; i < N; i++)
		build(&f[i], K_TCP80, 100 + i, 1000 + i);
	struct pfs_reader *r = open_got(text);
	struct text_feed t = { p, s, f, N };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, text_feed_run, &t), 0);
	struct got g = { 0 };
	ck_assert(drain_to_eof(r, &g, 30));
	pthread_join(th, NULL);
	ck_assert_uint_eq(g.n, N);
	for (size_t i = 0; i < N; i++)
		ck_assert_uint_eq(g.r[i].d.ts_ns, f[i].ts);
	ck_assert_uint_eq(pfs_reader_drops(r), 0);
	char *st = stats_of(text);
	STAT_EQ(st, "records", N);
	STAT_EQ(st, "drops", 0);
	free(st);
	close_reader(r);
	got_free(&g);
	pfs_producer_free(p);
	graph_down();
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *c = tcase_create("graph");
	tcase_set_timeout(c, 60);
	tcase_add_test(c, control_operations_and_errors);
	tcase_add_test(c, mkdir_long_plain_name);
	tcase_add_test(c, stage_children);
	tcase_add_test(c, records_flow_through_stages);
	tcase_add_test(c, new_node_backfills_moved_node_does_not);
	tcase_add_test(c, end_of_stream_from_the_rings);
	tcase_add_test(c, two_producers_merge_by_timestamp);
	tcase_add_test(c, rmdir_under_traffic);
	tcase_add_loop_test(c, stalled_reader_lets_go, 0, 4);
	tcase_add_test(c, per_producer_counters);
	tcase_add_test(c, ring_budget);
	tcase_add_test(c, late_reader_counts_no_gone_records);
	tcase_add_test(c, empty_records_alike_are_not_duplicates);
	tcase_add_test(c, holding_reader_of_text_loses_nothing);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(graph_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
