/* SPDX-License-Identifier: BSD-3-Clause
 * Shared by the filter tests: building frames by hand, running a filter
 * standalone as the graph runs a stage (struct inst) with a pfs_out that
 * records what it hands on, and walking the capture corpus.  Every record
 * is a heap copy of exactly its bytes, so the sanitizers catch any read
 * beyond them.  test_filters.c builds its frames its own way: it defines
 * FRAMES_OWN_BUILDERS first.
 */
#ifndef TESTS_UNIT_FRAMES_H
#define TESTS_UNIT_FRAMES_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "filters/pkt.h"

/* ---- frames ---- */

#ifndef FRAMES_OWN_BUILDERS

struct frame {
	uint8_t b[2048];
	uint32_t n;
};

static inline void bytes(struct frame *f, const void *p, uint32_t n)
{
	ck_assert_uint_le(f->n + n, sizeof f->b);
	if (n)
		memcpy(f->b + f->n, p, n);
	f->n += n;
}

static inline void text(struct frame *f, const char *s)
{
	bytes(f, s, (uint32_t)strlen(s));
}

static inline void be16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	bytes(f, b, 2);
}

/* 02:00:00:00:00:02 > 02:00:00:00:00:01 */
static inline void ether(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	bytes(f, macs, 12);
	be16(f, type);
}

/* 10.0.0.1 > 10.0.0.2, total length `tot` (the caller knows it). */
static inline void ip4(struct frame *f, uint8_t proto, uint16_t tot)
{
	uint8_t h[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0, 1, 0, 0,
			  64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
	bytes(f, h, 20);
}

/* fd77::1 > fd77::2 */
static inline void ip6(struct frame *f, uint8_t next, uint16_t plen)
{
	uint8_t h[40] = { 0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, next, 64,
			  0xfd, 0x77, [23] = 1, 0xfd, 0x77, [39] = 2 };
	bytes(f, h, 40);
}

/* TCP header with `opts` bytes of options (NOPs), flags as given. */
static inline void tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t flags,
		       uint8_t opts)
{
	uint8_t h[20] = { (uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8),
			  (uint8_t)dport, 0, 0, 0, 1, 0, 0, 0, 0,
			  (uint8_t)((20 + opts) / 4 << 4), flags, 0xff, 0xff };
	bytes(f, h, 20);
	for (uint8_t i = 0; i < opts; i++)
		bytes(f, "\x01", 1);
}

static inline void udp(struct frame *f, uint16_t sport, uint16_t dport, uint16_t len)
{
	be16(f, sport);
	be16(f, dport);
	be16(f, len);
	be16(f, 0);
}

#endif /* FRAMES_OWN_BUILDERS */

/* ---- running a filter ---- */

#define SINK_KEEP 4

/* A pfs_out that keeps the first SINK_KEEP records handed on; new bytes
 * (alloc) come from its own buffer, or fail the test if forbidden. */
struct sink {
	struct pfs_out out;	/* first: the callbacks get a pointer to it */
	int n;
	struct pfs_desc d[SINK_KEEP];
	const uint8_t *data[SINK_KEEP];
	int allocs;		/* -1: alloc fails the test */
	uint8_t room[8192];
	size_t used;
};

static inline void sink_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct sink *s = (struct sink *)o;
	if (s->n < SINK_KEEP) {
		s->d[s->n] = *d;
		s->data[s->n] = data;
	}
	s->n++;
}

static inline uint8_t *sink_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	struct sink *s = (struct sink *)o;
	ck_assert_msg(s->allocs >= 0, "a filter that makes no bytes asked for room");
	if (len > sizeof s->room - s->used)
		s->used = 0;	/* the records kept may be overwritten: tests keep few */
	ck_assert_uint_le(len, sizeof s->room);
	d->pos = 1000000 + s->used;
	d->dbuf = 9;
	d->len = len;
	s->allocs++;
	s->used += len;
	return s->room + s->used - len;
}

static inline void sink_init(struct sink *s, int allocs)
{
	memset(s, 0, sizeof *s);
	s->out.emit = sink_emit;
	s->out.alloc = sink_alloc;
	s->allocs = allocs;
}

/*
 * A filter run standalone, the way the graph runs a stage
 * (filters/graph/stage.c): init when the filter has one, else any
 * arguments are refused; per-producer state of pstate_size bytes,
 * zeroed, then pstate_init (none when pstate_size is 0: process gets
 * NULL); counters read from that state's first words by name; fini.
 * An instance is one producer at a stage; inst_producer() adds another
 * producer (its own state) at the same stage, sharing the configuration.
 */
struct inst {
	const struct pfs_filter *f;
	void *conf;
	void *pstate;		/* this producer's */
	bool shared;		/* conf is another instance's (inst_producer) */
};

/* A new per-producer state, as pfs_stage_pstate() makes it. */
static inline void *inst_pstate_new(const struct pfs_filter *f, void *conf)
{
	if (!f->pstate_size)
		return NULL;
	void *ps = calloc(1, f->pstate_size);
	ck_assert_ptr_nonnull(ps);
	if (f->pstate_init) {
		int rc = f->pstate_init(conf, ps);
		ck_assert_msg(rc == 0, "%s: pstate_init: %d", f->name, rc);
	}
	return ps;
}

static inline void inst_pstate_free(const struct pfs_filter *f, void *conf, void *ps)
{
	if (!ps)
		return;
	if (f->pstate_fini)
		f->pstate_fini(conf, ps);
	free(ps);
}

/* "name" or "name=args": 0, or init's error (conf NULL, message in err). */
static inline int inst_open(struct inst *in, const char *spec, char *err, size_t errlen)
{
	char name[32];
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	const char *args = eq ? eq + 1 : NULL;
	int rc = 0;

	ck_assert_uint_lt(n, sizeof name);
	memcpy(name, spec, n);
	name[n] = 0;
	memset(in, 0, sizeof *in);
	in->f = pfs_filter_find(name);
	ck_assert_msg(in->f != NULL, "no filter %s", name);
	err[0] = 0;
	if (in->f->init)
		rc = in->f->init(&in->conf, args, err, errlen);
	else if (args)
		snprintf(err, errlen, "%s takes no arguments", in->f->name), rc = -EINVAL;
	if (rc == 0)
		in->pstate = inst_pstate_new(in->f, in->conf);
	return rc;
}

static inline void inst_must_open(struct inst *in, const char *spec)
{
	char err[PFS_ERR_LEN];
	ck_assert_msg(inst_open(in, spec, err, sizeof err) == 0, "%s: %s", spec, err);
}

/* Another producer p at in's stage. */
static inline void inst_producer(const struct inst *in, struct inst *p)
{
	*p = (struct inst){ .f = in->f, .conf = in->conf, .shared = true,
			    .pstate = inst_pstate_new(in->f, in->conf) };
}

static inline void inst_close(struct inst *in)
{
	inst_pstate_free(in->f, in->conf, in->pstate);
	in->pstate = NULL;
	if (!in->shared && in->f->fini)
		in->f->fini(in->conf);
}

/* One record through the filter, as this producer. */
static inline void inst_process(const struct inst *in, const struct pfs_desc *d,
				const uint8_t *data, struct pfs_out *out)
{
	in->f->process(in->conf, in->pstate, d, data, out);
}

/* This producer's counter `name` (which the filter must have). */
static inline uint64_t inst_counter(const struct inst *in, const char *name)
{
	for (size_t i = 0; in->f->counters && in->f->counters[i]; i++)
		if (!strcmp(in->f->counters[i], name)) {
			ck_assert_uint_le((i + 1) * sizeof(uint64_t), in->f->pstate_size);
			return __atomic_load_n((const uint64_t *)in->pstate + i, __ATOMIC_RELAXED);
		}
	ck_abort_msg("%s has no counter %s", in->f->name, name);
	return 0;
}

/* What stats() says about the configuration (malloc, "" without stats). */
static inline char *inst_conf_stats(const struct inst *in)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	if (in->f->stats)
		in->f->stats(in->conf, out);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/* A descriptor for a frame of `len` captured bytes. */
static inline struct pfs_desc frame_desc(uint16_t link_type, uint32_t len, uint32_t wire_len)
{
	return (struct pfs_desc){ .seq = 7, .pos = 4096, .ts_ns = 1700000000123456789ull,
				  .len = len, .wire_len = wire_len, .flow_hash = 0xabcdef01,
				  .link_type = link_type, .kind = PFS_KIND_FRAME };
}

/* Runs one record through in: a heap copy of its bytes, and of the frame's
 * bytes before them (head_room) that a narrowed record keeps reachable. */
static inline void inst_run(struct inst *in, struct sink *s, const struct pfs_desc *d,
			    const uint8_t *data)
{
	const uint8_t *from = data - d->head_room;
	size_t total = (size_t)d->head_room + d->len;
	uint8_t *copy = malloc(total ? total : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, from, total);
	inst_process(in, d, copy + d->head_room, &s->out);
	for (int i = 0; i < s->n && i < SINK_KEEP; i++)	/* the copy goes */
		if (s->data[i] >= copy && s->data[i] <= copy + total)
			s->data[i] = from + (s->data[i] - copy);
	free(copy);
}

/* ---- the corpus (made from the demo trace unless PFS_CORPUS says) ---- */

static inline const char *corpus_dir(void)
{
	const char *d = getenv("PFS_CORPUS");
	return d && *d ? d : "build/corpus";	/* `make unit` makes it */
}

/* Calls fn for every file of the corpus; returns how many. */
static inline int corpus_each(void (*fn)(const char *path, const char *name, void *arg),
			      void *arg)
{
	struct dirent **ents;
	int n = scandir(corpus_dir(), &ents, NULL, alphasort), files = 0;
	char path[4096];

	if (n < 0) {
		printf("corpus: SKIPPED: cannot read %s (%m); set PFS_CORPUS\n", corpus_dir());
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", corpus_dir(), ents[i]->d_name);
			fn(path, ents[i]->d_name, arg);
			files++;
		}
		free(ents[i]);
	}
	free(ents);
	return files;
}

#endif
