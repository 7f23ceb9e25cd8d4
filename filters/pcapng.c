/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/pcapng.h"

#include <byteswap.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/pcapio.h"

/* Block types and option codes (draft-ietf-opsawg-pcapng). */
#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_PB 2u	/* obsolete Packet Block, still read by libpcap */
#define BT_SPB 3u
#define BT_EPB 6u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define OPT_ENDOFOPT 0
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define IF_TSOFFSET 14

#define BLOCK_MIN 12		/* type, length, closing length */
#define EPB_HDR 28		/* an EPB up to its packet's bytes */
#define BLOCK_MAX (16u << 20)	/* libpcap's MAX_BLOCKSIZE */
#define OPTION_MAX 255		/* what we write of a string option */

_Static_assert(PFS_PCAPNG_IDB_MAX + EPB_HDR + PFS_UPPER_PDU_TAGS_MAX <= BW_HEAD_MAX,
	       "an IDB and an EPB's header and tags fit a record's head");
_Static_assert(3 + 4 <= BW_TAIL_MAX, "padding and closing length fit its tail");

static uint32_t pad4(uint32_t n)
{
	return (n + 3) & ~3u;
}

/* ---- the view ---- */

static bool is_nsec(const struct pfs_desc *d)
{
	return d->flags & PFS_REC_TS_NSEC;
}

static int find(const struct pfs_pcapng_view *v, uint64_t origin, const struct pfs_desc *d)
{
	int lt = pfs_pcap_link_type(d);
	for (size_t i = 0; i < v->n; i++)
		if (v->ifs[i].origin == origin && v->ifs[i].link_type == lt &&
		    v->ifs[i].nsec == is_nsec(d))
			return (int)i;
	return -1;
}

int pfs_pcapng_interface(struct pfs_pcapng_view *v, uint64_t origin, const struct pfs_desc *d)
{
	int id = find(v, origin, d);
	if (id >= 0)
		return id;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		struct pfs_pcapng_if *ifs = realloc(v->ifs, cap * sizeof(*ifs));
		if (!ifs)
			return -ENOMEM;
		v->ifs = ifs;
		v->cap = cap;
	}
	return (int)v->n;
}

void pfs_pcapng_taken(struct pfs_pcapng_view *v, uint64_t origin, const struct pfs_desc *d)
{
	if (find(v, origin, d) < 0 && v->n < v->cap)
		v->ifs[v->n++] = (struct pfs_pcapng_if){ origin, pfs_pcap_link_type(d), is_nsec(d) };
}

void pfs_pcapng_view_fini(struct pfs_pcapng_view *v)
{
	free(v->ifs);
	memset(v, 0, sizeof(*v));
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *put_option(uint8_t *p, uint16_t code, const void *value, uint16_t len)
{
	p = put_u16(p, code);
	p = put_u16(p, len);
	memset(p, 0, pad4(len));
	if (len)
		memcpy(p, value, len);
	return p + pad4(len);
}

static uint8_t *put_string(uint8_t *p, uint16_t code, const char *s)
{
	size_t len = strnlen(s, OPTION_MAX);
	return len ? put_option(p, code, s, (uint16_t)len) : p;
}

void pfs_pcapng_shb(uint8_t out[PFS_PCAPNG_SHB_LEN])
{
	uint8_t *p = put_u32(out, BT_SHB);
	p = put_u32(p, PFS_PCAPNG_SHB_LEN);
	p = put_u32(p, BYTE_ORDER_MAGIC);
	p = put_u16(p, 1);		/* version 1.0 */
	p = put_u16(p, 0);
	p = put_u32(p, UINT32_MAX);	/* section length -1: not given */
	p = put_u32(p, UINT32_MAX);
	put_u32(p, PFS_PCAPNG_SHB_LEN);
}

size_t pfs_pcapng_idb(const struct pfs_desc *d, const char *name, const char *description,
		      uint8_t *out)
{
	int lt = pfs_pcap_link_type(d);
	uint8_t tsresol = is_nsec(d) ? 9 : 6;
	uint8_t *p = put_u32(out, BT_IDB);
	p += 4;	/* the length, below */
	p = put_u16(p, (uint16_t)lt);
	p = put_u16(p, 0);
	p = put_u32(p, pfs_max_snaplen(lt));
	p = put_string(p, IF_NAME, name);
	p = put_string(p, IF_DESCRIPTION, description);
	p = put_option(p, IF_TSRESOL, &tsresol, 1);
	p = put_option(p, OPT_ENDOFOPT, NULL, 0);
	uint32_t len = (uint32_t)(p - out) + 4;
	put_u32(out + 4, len);
	put_u32(p, len);
	return len;
}

void pfs_pcapng_epb(uint32_t if_id, const struct pfs_desc *d, const uint8_t *data,
		    struct bw_frame *f)
{
	uint8_t *start = f->head + f->head_len;
	uint8_t *tags = start + EPB_HDR;
	size_t ntags = pfs_upper_pdu_tags(d, data, tags);
	uint32_t caplen = (uint32_t)(d->len + ntags);
	uint32_t origlen = (uint32_t)((ntags ? d->len : d->wire_len) + ntags);
	uint32_t total = EPB_HDR + pad4(caplen) + 4;
	uint64_t ts = is_nsec(d) ? d->ts_ns : d->ts_ns / 1000u;
	uint8_t *p = put_u32(start, BT_EPB);
	p = put_u32(p, total);
	p = put_u32(p, if_id);
	p = put_u32(p, (uint32_t)(ts >> 32));
	p = put_u32(p, (uint32_t)ts);
	p = put_u32(p, caplen);
	put_u32(p, origlen);
	f->head_len += EPB_HDR + ntags;
	/* the packet's padding, no options, the closing length */
	memset(f->tail, 0, pad4(caplen) - caplen);
	put_u32(f->tail + (pad4(caplen) - caplen), total);
	f->tail_len = pad4(caplen) - caplen + 4;
}

/* ---- the parser ---- */

/* Where the bytes of one block are, in its section's byte order. */
struct block {
	const uint8_t *b;
	uint32_t type, len;
	bool swapped;
};

static uint32_t u32_at(const uint8_t *b, bool swapped)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return swapped ? bswap_32(v) : v;
}

static uint16_t u16_at(const uint8_t *b, bool swapped)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return swapped ? bswap_16(v) : v;
}

static uint64_t u64_at(const uint8_t *b, bool swapped)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return swapped ? bswap_64(v) : v;
}

static int bad(char *err, size_t errlen, const char *fmt, unsigned long v)
{
	snprintf(err, errlen, fmt, v);
	return -EINVAL;
}

/* A new section at the SHB at b: its byte order (no interfaces yet). */
static int section(struct pfs_pcapng_parser *s, const struct block *k, char *err, size_t errlen)
{
	if (k->len < PFS_PCAPNG_SHB_LEN)
		return bad(err, errlen, "pcapng: section header block of %lu bytes", k->len);
	if (u16_at(k->b + 12, k->swapped) != 1)
		return bad(err, errlen, "pcapng: unsupported major version %lu",
			   u16_at(k->b + 12, k->swapped));
	s->in_section = true;
	s->swapped = k->swapped;
	s->nifs = 0;
	return 0;
}

/* if_tsresol's value: units per second, 10^v or (top bit set) 2^v. */
static int tsresol(uint8_t v, uint64_t *units, char *err, size_t errlen)
{
	unsigned e = v & 0x7f;
	if (v & 0x80 ? e > 63 : e > 19)
		return bad(err, errlen, "pcapng: if_tsresol %lu is too fine", v);
	*units = 1;
	for (unsigned i = 0; i < e; i++)
		*units *= v & 0x80 ? 2 : 10;
	return 0;
}

static int idb_options(struct pfs_pcapng_in_if *in, const struct block *k, char *err,
		       size_t errlen)
{
	uint32_t at = 16, end = k->len - 4;
	while (at + 4 <= end) {
		uint16_t code = u16_at(k->b + at, k->swapped);
		uint16_t len = u16_at(k->b + at + 2, k->swapped);
		const uint8_t *v = k->b + at + 4;
		if (code == OPT_ENDOFOPT)
			break;
		if (at + 4 + pad4(len) > end)
			return bad(err, errlen,
				   "pcapng: an option of %lu bytes runs past its block", len);
		int rc = 0;
		if (code == IF_TSRESOL && len >= 1)
			rc = tsresol(v[0], &in->units, err, errlen);
		else if (code == IF_TSOFFSET && len >= 8)
			in->offset = (int64_t)u64_at(v, k->swapped);
		if (rc)
			return rc;
		at += 4 + pad4(len);
	}
	return 0;
}

static int interface(struct pfs_pcapng_parser *s, const struct block *k, char *err,
		     size_t errlen)
{
	if (k->len < 20)
		return bad(err, errlen, "pcapng: interface description block of %lu bytes",
			   k->len);
	struct pfs_pcapng_in_if in = {
		.link_type = u16_at(k->b + 8, k->swapped),
		.snaplen = u32_at(k->b + 12, k->swapped),
		.units = 1000000,
	};
	int rc = idb_options(&in, k, err, errlen);
	if (rc)
		return rc;
	if (s->nifs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct pfs_pcapng_in_if *ifs = realloc(s->ifs, cap * sizeof(*ifs));
		if (!ifs)
			return -ENOMEM;
		s->ifs = ifs;
		s->cap = cap;
	}
	s->ifs[s->nifs++] = in;
	return 0;
}

/* A packet's timestamp in units of its interface, as ns since the epoch. */
static int timestamp(const struct pfs_pcapng_in_if *in, uint64_t t, uint64_t *ns, char *err,
		     size_t errlen)
{
	unsigned __int128 frac = (unsigned __int128)(t % in->units) * 1000000000u / in->units;
	__int128 v = (__int128)(t / in->units) * 1000000000 + (__int128)frac +
		     (__int128)in->offset * 1000000000;
	if (v < 0 || v > (__int128)UINT64_MAX)
		return bad(err, errlen, "pcapng: a timestamp of %lu units out of range", t);
	*ns = (uint64_t)v;
	return 0;
}

/* The packet of an EPB, SPB or PB: its interface, timestamp, lengths and
 * bytes (at data_off in the block). */
struct packet {
	uint32_t if_id, caplen, origlen, data_off;
	uint64_t ts;
};

static int packet_fields(const struct pfs_pcapng_parser *s, const struct block *k,
			 struct packet *pk, char *err, size_t errlen)
{
	const uint8_t *b = k->b;
	uint32_t fixed = k->type == BT_SPB ? 16 : 32;
	if (k->len < fixed)
		return bad(err, errlen, "pcapng: packet block of %lu bytes", k->len);
	if (k->type == BT_SPB) {
		*pk = (struct packet){ .origlen = u32_at(b + 8, k->swapped), .data_off = 12 };
		/* no captured length: what the block holds, up to the wire's */
		pk->caplen = k->len - 16 < pk->origlen ? k->len - 16 : pk->origlen;
		if (s->nifs && s->ifs[0].snaplen && pk->caplen > s->ifs[0].snaplen)
			pk->caplen = s->ifs[0].snaplen;
	} else {
		pk->if_id = k->type == BT_PB ? u16_at(b + 8, k->swapped)
					     : u32_at(b + 8, k->swapped);
		pk->ts = (uint64_t)u32_at(b + 12, k->swapped) << 32 | u32_at(b + 16, k->swapped);
		pk->caplen = u32_at(b + 20, k->swapped);
		pk->origlen = u32_at(b + 24, k->swapped);
		pk->data_off = EPB_HDR;
	}
	if (pk->if_id >= s->nifs)
		return bad(err, errlen, "pcapng: a packet on interface %lu, which no IDB describes",
			   pk->if_id);
	if (pk->caplen > k->len - fixed)
		return bad(err, errlen, "pcapng: a packet of %lu bytes runs past its block",
			   pk->caplen);
	return 0;
}

static int packet(const struct pfs_pcapng_parser *s, const struct block *k,
		  pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	struct packet pk;
	int rc = packet_fields(s, k, &pk, err, errlen);
	if (rc)
		return rc;
	const struct pfs_pcapng_in_if *in = &s->ifs[pk.if_id];
	if (pk.caplen > pfs_max_snaplen(in->link_type))
		return bad(err, errlen, "pcapng: a packet of %lu bytes, longer than its link "
			   "type's largest", pk.caplen);
	struct pfs_desc d = {
		.kind = PFS_KIND_FRAME, .link_type = (uint16_t)in->link_type,
		.flags = in->units > 1000000 ? PFS_REC_TS_NSEC : 0,
	};
	/* an SPB has no timestamp: it stays 0 */
	if (k->type != BT_SPB && (rc = timestamp(in, pk.ts, &d.ts_ns, err, errlen)))
		return rc;
	/* cut to the snapshot length, as libpcap does */
	d.len = in->snaplen && pk.caplen > in->snaplen ? in->snaplen : pk.caplen;
	d.wire_len = pk.origlen > d.len ? pk.origlen : d.len;
	if (fn)
		fn(arg, &d, k->b + pk.data_off);
	return 0;
}

/* The block at b (have bytes there): 1 with *k set when it is complete,
 * 0 when more is needed, -EINVAL when it is bad. */
static int block_at(const struct pfs_pcapng_parser *s, const uint8_t *b, size_t have,
		    struct block *k, char *err, size_t errlen)
{
	if (have < 4)
		return 0;
	*k = (struct block){ .b = b, .type = u32_at(b, false), .swapped = s->swapped };
	/* refused at once: a stream that does not start with an SHB */
	if (k->type != BT_SHB && !s->in_section)
		return bad(err, errlen, "not a pcapng stream: block type 0x%08lx before any "
			   "section header block", k->type);
	if (have < 12)
		return 0;
	if (k->type == BT_SHB) {
		uint32_t bom = u32_at(b + 8, false);
		if (bom != BYTE_ORDER_MAGIC && bom != bswap_32(BYTE_ORDER_MAGIC))
			return bad(err, errlen, "pcapng: bad byte-order magic 0x%08lx", bom);
		k->swapped = bom != BYTE_ORDER_MAGIC;
	}
	k->type = u32_at(b, k->swapped);
	k->len = u32_at(b + 4, k->swapped);
	if (k->len < BLOCK_MIN || k->len % 4 || k->len > BLOCK_MAX)
		return bad(err, errlen, "pcapng: a block of %lu bytes", k->len);
	if (have < k->len)
		return 0;
	if (u32_at(b + k->len - 4, k->swapped) != k->len)
		return bad(err, errlen, "pcapng: a block of %lu bytes ends with another length",
			   k->len);
	return 1;
}

/* Parse the blocks in b[0, len) with state s, handing packets to fn (NULL:
 * only check).  Returns the bytes of complete blocks, or -errno. */
static long walk(struct pfs_pcapng_parser *s, const uint8_t *b, size_t len,
		 pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	size_t off = 0;
	for (;;) {
		struct block k;
		int rc = block_at(s, b + off, len - off, &k, err, errlen);
		if (rc <= 0)
			return rc < 0 ? rc : (long)off;
		if (k.type == BT_SHB)
			rc = section(s, &k, err, errlen);
		else if (k.type == BT_IDB)
			rc = interface(s, &k, err, errlen);
		else if (k.type == BT_EPB || k.type == BT_SPB || k.type == BT_PB)
			rc = packet(s, &k, fn, arg, err, errlen);
		else
			rc = 0;		/* a block we do not need: skipped */
		if (rc)
			return rc;
		off += k.len;
	}
}

/* A copy of s's state (not its pending bytes) to check a write with. */
static int trial_of(const struct pfs_pcapng_parser *s, struct pfs_pcapng_parser *t)
{
	*t = *s;
	t->pending = NULL;
	t->ifs = NULL;
	if (!s->cap)
		return 0;
	if (!(t->ifs = malloc(s->cap * sizeof(*t->ifs))))
		return -ENOMEM;
	memcpy(t->ifs, s->ifs, s->nifs * sizeof(*t->ifs));
	return 0;
}

int pfs_pcapng_parse(struct pfs_pcapng_parser *p, const uint8_t *buf, size_t len,
		     pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	/* Join what was pending with what came: one contiguous stream. */
	size_t total = p->npending + len;
	uint8_t *all = malloc(total ? total : 1);
	struct pfs_pcapng_parser trial;
	if (!all || trial_of(p, &trial)) {
		free(all);
		return -ENOMEM;
	}
	if (p->npending)
		memcpy(all, p->pending, p->npending);
	if (len)
		memcpy(all + p->npending, buf, len);
	long used = walk(&trial, all, total, NULL, NULL, err, errlen);
	free(trial.ifs);
	/* Valid: hand on the packets, keep the rest. */
	if (used >= 0)
		used = walk(p, all, total, fn, arg, err, errlen);
	if (used < 0) {
		free(all);
		return (int)used;
	}
	size_t rest = total - (size_t)used;
	memmove(all, all + used, rest);
	free(p->pending);
	p->pending = all;
	p->npending = rest;
	return 0;
}

void pfs_pcapng_parser_fini(struct pfs_pcapng_parser *p)
{
	free(p->pending);
	free(p->ifs);
	memset(p, 0, sizeof(*p));
}
