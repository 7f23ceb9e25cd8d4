/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: parsing a written `pcap` or `pcapng` stream
 * (pfs_pcap_parse, filters/savefile.c; pfs_pcapng_parse,
 * filters/pcapng.c), as a node's write does.
 *
 * Input: an options byte (bit 0: pcapng), 8 bytes of seed, then the
 * stream's bytes.  The stream is written whole, then in pieces the seed
 * chooses (into a fresh parser).  Invariants: no crash, leak or read
 * beyond what was written; a write refused hands nothing on; every
 * record handed on is a frame no longer than its link type allows; the
 * stream is accepted whole exactly when it is accepted in pieces, and
 * then the same records come out, the same bytes, in the same order.
 */
#include <errno.h>

#include "filters/pcapng.h"
#include "filters/savefile.h"
#include "tests/fuzz/fuzz.h"

struct rec {
	struct pfs_desc d;
	uint8_t *data;
};

struct recs {
	struct rec *r;
	size_t n, cap;
	size_t call_n;		/* records at the start of the call */
};

static void on_record(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	struct recs *x = arg;

	FZ_CHECK(d->kind == PFS_KIND_FRAME, "kind %u", d->kind);
	FZ_CHECK(d->len <= pfs_max_snaplen(d->link_type), "a record of %u bytes, link type %u",
		 d->len, d->link_type);
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->r = realloc(x->r, x->cap * sizeof *x->r);
		FZ_CHECK(x->r != NULL, "out of memory");
	}
	x->r[x->n].d = *d;
	x->r[x->n++].data = fz_copy(data, d->len);
}

static void recs_free(struct recs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->r[i].data);
	free(x->r);
	memset(x, 0, sizeof *x);
}

/* One write into the parser: its return code. */
static int write_into(bool ng, struct pfs_pcap_parser *pp, struct pfs_pcapng_parser *np,
		      const uint8_t *b, size_t n, struct recs *x)
{
	char err[PFS_ERR_LEN] = "";
	uint8_t *copy = fz_copy(b, n);	/* exactly what was written */
	size_t before = x->n;
	int rc = ng ? pfs_pcapng_parse(np, copy, n, on_record, x, err, sizeof err)
		    : pfs_pcap_parse(pp, copy, n, on_record, x, err, sizeof err);

	free(copy);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
	if (rc == -EINVAL) {
		FZ_CHECK(x->n == before, "a refused write handed on %zu records", x->n - before);
		FZ_CHECK(err[0], "refused without a reason");
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct fz z = { in, size };
	bool ng = fz_u8(&z) & 1;
	uint64_t seed = 0;
	struct recs whole = { 0 }, pieces = { 0 };

	for (int i = 0; i < 8; i++)
		seed = seed << 8 | fz_u8(&z);
	size_t n;
	const uint8_t *b = fz_bytes(&z, z.n, &n);

	struct pfs_pcap_parser pp = { 0 };
	struct pfs_pcapng_parser np = { 0 };
	int rc_whole = write_into(ng, &pp, &np, b, n, &whole);
	pfs_pcap_parser_fini(&pp);
	pfs_pcapng_parser_fini(&np);

	memset(&pp, 0, sizeof pp);
	memset(&np, 0, sizeof np);
	int rc_pieces = 0;
	for (size_t at = 0; at < n && !rc_pieces;) {
		size_t len = 1 + fz_rand(&seed) % (fz_rand(&seed) % 4 ? 64 : 4096);
		if (len > n - at)
			len = n - at;
		rc_pieces = write_into(ng, &pp, &np, b + at, len, &pieces);
		at += len;
	}
	pfs_pcap_parser_fini(&pp);
	pfs_pcapng_parser_fini(&np);

	if (rc_whole != -ENOMEM && rc_pieces != -ENOMEM) {
		FZ_CHECK((rc_whole == 0) == (rc_pieces == 0), "whole: %d, in pieces: %d", rc_whole,
			 rc_pieces);
		if (rc_whole == 0) {
			FZ_CHECK(whole.n == pieces.n, "whole: %zu records, in pieces: %zu", whole.n,
				 pieces.n);
			for (size_t i = 0; i < whole.n; i++) {
				const struct pfs_desc *a = &whole.r[i].d, *c = &pieces.r[i].d;
				FZ_CHECK(a->len == c->len && a->wire_len == c->wire_len &&
						 a->ts_ns == c->ts_ns && a->link_type == c->link_type &&
						 a->flags == c->flags &&
						 !memcmp(whole.r[i].data, pieces.r[i].data, a->len),
					 "record %zu differs in pieces", i);
			}
		}
	}
	recs_free(&whole);
	recs_free(&pieces);
	return 0;
}
