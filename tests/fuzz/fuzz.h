/* SPDX-License-Identifier: BSD-3-Clause
 * Shared by the libFuzzer targets of tests/fuzz/ (`make fuzz`): reading
 * an input as a script of fields, a failed invariant as a crash that
 * libFuzzer reports and keeps, and a filter run standalone the way the
 * graph runs a stage (as tests/unit/frames.h does, without Check), with
 * a pfs_out whose records the target inspects.
 *
 * Each target links the same libraries as the unit tests, built with
 * clang and -fsanitize=fuzzer-no-link,address,undefined into build-fuzz/.
 * A target that finds a crash writes it to build-fuzz/fuzz/artifacts/;
 * `build-fuzz/fuzz/TARGET ARTIFACT` replays it.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"

/* An invariant: when it fails, say which and crash (libFuzzer keeps the
 * input). */
#define FZ_CHECK(cond, ...)                                                        \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, \
				__LINE__, #cond);                                  \
			fprintf(stderr, __VA_ARGS__);                              \
			fputc('\n', stderr);                                       \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* ---- the input as a script ---- */

/* Fields are read from the front; past the end they read as zeroes, so
 * every input is a whole script. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_more(const struct fz *z)
{
	return z->n > 0;
}

static inline uint8_t fz_u8(struct fz *z)
{
	if (!z->n)
		return 0;
	z->n--;
	return *z->p++;
}

static inline uint16_t fz_u16(struct fz *z)
{
	uint16_t v = fz_u8(z);
	return (uint16_t)(v << 8 | fz_u8(z));
}

static inline uint32_t fz_u32(struct fz *z)
{
	uint32_t v = fz_u16(z);
	return v << 16 | fz_u16(z);
}

/* Up to `want` bytes (fewer at the end): where they are, *got how many. */
static inline const uint8_t *fz_bytes(struct fz *z, size_t want, size_t *got)
{
	const uint8_t *p = z->p;
	*got = want < z->n ? want : z->n;
	z->p += *got;
	z->n -= *got;
	return p;
}

/* A small PRNG (xorshift64*) for choices a target derives from a seed of
 * the input. */
static inline uint64_t fz_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Bytes s[0, n) as an exact heap copy, so that ASan sees any read past
 * them (n 0: a 1-byte block, never read). */
static inline uint8_t *fz_copy(const void *s, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	FZ_CHECK(c != NULL, "out of memory");
	if (n)
		memcpy(c, s, n);
	return c;
}

/* ---- a filter run standalone ---- */

struct fz_inst {
	const struct pfs_filter *f;
	void *conf;
	void *pstate;
};

/* "name" or "name=args", as the graph makes a stage: init, then a
 * zeroed per-producer state and its pstate_init. */
static inline void fz_inst_open(struct fz_inst *in, const char *spec)
{
	char name[32], err[PFS_ERR_LEN] = "";
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);

	FZ_CHECK(n < sizeof name, "%s", spec);
	memcpy(name, spec, n);
	name[n] = 0;
	memset(in, 0, sizeof *in);
	in->f = pfs_filter_find(name);
	FZ_CHECK(in->f != NULL, "no filter %s", name);
	if (in->f->init)
		FZ_CHECK(in->f->init(&in->conf, eq ? eq + 1 : NULL, err, sizeof err) == 0,
			 "%s: %s", spec, err);
	if (in->f->pstate_size) {
		in->pstate = calloc(1, in->f->pstate_size);
		FZ_CHECK(in->pstate != NULL, "out of memory");
		if (in->f->pstate_init)
			FZ_CHECK(in->f->pstate_init(in->conf, in->pstate) == 0, "%s", spec);
	}
}

/* A fresh configuration from the same spec, for the same per-producer
 * state (a target that keeps the state across inputs, but not what the
 * configuration learns, such as http's methods). */
static inline void fz_inst_new_conf(struct fz_inst *in, const char *spec)
{
	char err[PFS_ERR_LEN] = "";
	const char *eq = strchr(spec, '=');

	if (in->f->fini)
		in->f->fini(in->conf);
	in->conf = NULL;
	if (in->f->init)
		FZ_CHECK(in->f->init(&in->conf, eq ? eq + 1 : NULL, err, sizeof err) == 0,
			 "%s: %s", spec, err);
}

static inline void fz_inst_close(struct fz_inst *in)
{
	if (in->pstate && in->f->pstate_fini)
		in->f->pstate_fini(in->conf, in->pstate);
	free(in->pstate);
	if (in->f->fini)
		in->f->fini(in->conf);
	memset(in, 0, sizeof *in);
}

/* Counter `name` of the instance's per-producer state. */
static inline uint64_t fz_counter(const struct fz_inst *in, const char *name)
{
	for (size_t i = 0; in->f->counters && in->f->counters[i]; i++)
		if (!strcmp(in->f->counters[i], name))
			return ((const uint64_t *)in->pstate)[i];
	FZ_CHECK(0, "%s has no counter %s", in->f->name, name);
	return 0;
}

/* ---- a pfs_out that keeps copies of what is handed on ---- */

struct fz_rec {
	struct pfs_desc d;
	uint8_t *bytes;		/* head_room + len bytes, an exact copy */
	bool in_place;		/* pointed into the record processed */
};

struct fz_out {
	struct pfs_out out;	/* first: the callbacks get a pointer to it */
	struct fz_rec *recs;
	size_t n, cap;
	const uint8_t *in_lo, *in_hi;	/* the record being processed (its
					 * frame, head room included) */
	uint8_t *room;		/* what alloc handed out last: an exact block */
	size_t room_len;
	size_t allocs;
};

static inline void fz_out_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct fz_out *x = (struct fz_out *)o;
	bool in_place = x->in_lo && data >= x->in_lo && data <= x->in_hi;

	/* the bytes handed on lie in the record processed or in the block
	 * alloc gave: ASan checks the copy's reads */
	if (in_place)
		FZ_CHECK(data - d->head_room >= x->in_lo && data + d->len <= x->in_hi,
			 "record [%u+%u] beyond the record processed", d->head_room, d->len);
	else
		FZ_CHECK(x->room && data - d->head_room >= x->room &&
				 data + d->len <= x->room + x->room_len,
			 "record [%u+%u] neither in place nor in the room alloc gave",
			 d->head_room, d->len);
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->recs = realloc(x->recs, x->cap * sizeof *x->recs);
		FZ_CHECK(x->recs != NULL, "out of memory");
	}
	struct fz_rec *r = &x->recs[x->n++];
	r->d = *d;
	r->bytes = fz_copy(data - d->head_room, (size_t)d->head_room + d->len);
	r->in_place = in_place;
}

/* Every alloc is a block of its own, freed with the out (the records
 * handed on from it are copied anyway). */
static inline uint8_t *fz_out_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	struct fz_out *x = (struct fz_out *)o;

	FZ_CHECK(len <= (64u << 20), "alloc of %u bytes", len);
	free(x->room);
	x->room = malloc(len ? len : 1);
	FZ_CHECK(x->room != NULL, "out of memory");
	x->room_len = len;
	d->pos = (uint64_t)1 << 40 | x->allocs++;
	d->dbuf = 9;
	d->len = len;
	return x->room;
}

static inline void fz_out_init(struct fz_out *x)
{
	memset(x, 0, sizeof *x);
	x->out.emit = fz_out_emit;
	x->out.alloc = fz_out_alloc;
}

/* Forget the records kept (the out stays usable). */
static inline void fz_out_clear(struct fz_out *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->recs[i].bytes);
	x->n = 0;
}

static inline void fz_out_fini(struct fz_out *x)
{
	fz_out_clear(x);
	free(x->recs);
	free(x->room);
	memset(x, 0, sizeof *x);
}

/* Record d (data: its bytes, head_room before them) through the
 * instance, from an exact heap copy of head room and bytes. */
static inline void fz_run(const struct fz_inst *in, struct fz_out *x, const struct pfs_desc *d,
			  const uint8_t *data)
{
	size_t total = (size_t)d->head_room + d->len;
	uint8_t *copy = fz_copy(data - d->head_room, total);

	x->in_lo = copy;
	x->in_hi = copy + total;
	in->f->process(in->conf, in->pstate, d, copy + d->head_room, &x->out);
	x->in_lo = x->in_hi = NULL;
	free(copy);
}

#endif
