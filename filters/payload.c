/* SPDX-License-Identifier: BSD-3-Clause
 * payload: each packet narrowed to its transport payload, zero copy.
 *
 * The record handed on is the same bytes: a copy of the descriptor whose
 * data starts at the payload, with head_room grown by as much, so the
 * frame's headers stay reachable at data - head_room (classifiers and
 * `text` dissect from there).  A record that is already narrowed is
 * dissected from its frame's start too, so narrowing twice changes
 * nothing.  wire_len stays the frame's.  Packets without payload bytes
 * are dropped; records that are no frames (byte-stream chunks, HTTP
 * requests, text) are payload already and pass unchanged.
 */
#include <netinet/in.h>

#include "filters/filter.h"
#include "filters/payload.h"

/* Per producer: the counters. */
struct payload {
	uint64_t narrowed, dropped, passed;
};

static const char *const counters[] = { "narrowed", "dropped", "passed", NULL };

/* Did the walk over IPv6 extension headers and AH stop at one it could not
 * skip, or at a transport header cut short?  (Later fragments carry no
 * transport header and are not cut short.) */
static bool cut_short(const struct pfs_pkt *p)
{
	if (p->flags & (PFS_PKT_L4 | PFS_PKT_FRAG))
		return false;
	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_AH:
		return true;
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
		return p->flags & PFS_PKT_IP6;
	}
	return false;
}

bool pfs_payload_span(const struct pfs_pkt *p, uint32_t *off, uint32_t *len)
{
	if (!(p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6)))
		return false;
	if (pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP)) {
		*off = p->payload_off;
		*len = p->payload_len;
		return true;
	}
	/* l4_off is unset when the IPv4 length field ends inside the header */
	if (p->l4_off <= p->l3_off || cut_short(p))
		return false;
	*off = p->l4_off;
	*len = p->l3_end - p->l4_off;
	return true;
}

static void process(void *conf, void *pstate, const struct pfs_desc *d,
		    const uint8_t *data, struct pfs_out *out)
{
	struct payload *pl = pstate;
	(void)conf;
	const uint8_t *frame = data - d->head_room;
	struct pfs_pkt p;
	uint32_t off, len;

	if (d->kind != PFS_KIND_FRAME) {
		pfs_count(&pl->passed, 1);
		out->emit(out, d, data);
		return;
	}
	/* head_room is 16 bits: a payload further in cannot be described */
	if (d->len > UINT32_MAX - d->head_room ||
	    pfs_pkt_parse(&p, d->link_type, frame, d->head_room + d->len) != 0 ||
	    !pfs_payload_span(&p, &off, &len) || len == 0 || off > UINT16_MAX) {
		pfs_count(&pl->dropped, 1);
		return;
	}
	struct pfs_desc n = *d;
	n.pos = d->pos - d->head_room + off;
	n.len = len;
	n.head_room = (uint16_t)off;
	pfs_count(&pl->narrowed, 1);
	out->emit(out, &n, frame + off);
}

const struct pfs_filter pfs_filter_payload = {
	.name = "payload", .usage = "payload",
	.summary = "each packet narrowed to its transport payload (no copy)",
	.counters = counters, .pstate_size = sizeof(struct payload),
	.process = process,
};
