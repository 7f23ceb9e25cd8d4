/* SPDX-License-Identifier: BSD-3-Clause
 * Merged readers: one stream out of several IBufs (a node fed by several
 * producers has one IBuf per producer).  Records come out oldest timestamp
 * first among those ready, which keeps each producer's order and so each
 * flow's order; across producers the order is best effort.
 */
#ifndef BUFS_MERGE_H
#define BUFS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bufs/reader.h"

/*
 * Optional framing for bw_merge_copy(): bytes put around each record, a
 * head before it (a pcap record header; a pcapng interface block and
 * packet block header) and a tail after it (a pcapng block's padding and
 * closing length).  `frame` fills f for record d (its bytes at data, and
 * d->head_room bytes before them that it may read too), which came from
 * input number `input` (inputs are numbered in the order they were added); it
 * may be called more than once for one record (while it waits for room),
 * so it changes no state.  `taken` (may be NULL) is called once for each
 * record that leaves the merge: copied whole, kept to be handed out over
 * the next copies, or left out (f->skip); not for a record lost because a
 * producer overwrote it meanwhile.
 */
#define BW_HEAD_MAX 1024
#define BW_TAIL_MAX 8
struct bw_frame {
	size_t head_len, tail_len;	/* at most BW_HEAD_MAX, BW_TAIL_MAX */
	bool skip;			/* leave the record out */
	uint8_t head[BW_HEAD_MAX];
	uint8_t tail[BW_TAIL_MAX];
};

struct bw_framing {
	void (*frame)(const struct pfs_desc *d, const uint8_t *data, size_t input,
		      struct bw_frame *f, void *arg);
	void (*taken)(const struct pfs_desc *d, size_t input, const struct bw_frame *f,
		      void *arg);
	void *arg;
};

struct bw_merge_in {
	struct bw_reader r;
	struct pfs_desc next;		/* fetched, not handed out yet */
	const void *next_data;
	bool has_next;
};

struct bw_merge {
	struct bw_merge_in *in;
	size_t n, cap;
	struct bw_reader *last;		/* where the last record came from */
	bool holds;			/* inputs hold lossless producers back */
	const struct bw_dbuf_table *dbufs;	/* the registry, or a client's
						 * (set before adding inputs) */
	bool await_dbufs;		/* inputs await DBufs (bw_reader); set
					 * before adding inputs */
	struct bw_framing framing;	/* frame NULL: none */
	uint8_t *spill;		/* a record that did not fit a copy */
	size_t spill_cap, spill_len, spill_off;
};

/* holds: inputs added with bw_merge_add join lossless rings' gates (their
 * producers wait for us); without it they are followed (bw_reader_follow),
 * lapped and counted in drops as on lossy rings.  framing (NULL: none) is
 * copied. */
void bw_merge_init(struct bw_merge *m, bool holds, const struct bw_framing *framing);
void bw_merge_fini(struct bw_merge *m);

/* Follow one more IBuf, holding it back if m holds.  Returns 0 or -errno. */
int bw_merge_add(struct bw_merge *m, struct bw_ibuf *ib, enum bw_start from);

/* Follow one more IBuf from a hold joined for us (bw_reader_open_held). */
int bw_merge_add_held(struct bw_merge *m, struct bw_ibuf *ib, const struct bw_hold *hold);

/* Is this IBuf followed already? */
bool bw_merge_has(const struct bw_merge *m, const struct bw_ibuf *ib);

/* Copy whole records (with their framing) into buf, up to cap bytes: a
 * copy ends at a record boundary, and the record that did not fit opens
 * the next one.  Only a record larger than cap is split: it is kept and
 * handed out over the next calls, so no byte is lost or torn.  Returns the
 * bytes copied. */
size_t bw_merge_copy(struct bw_merge *m, void *buf, size_t cap);

/* The descriptor of the record bw_merge_next() would return, if one is
 * ready, without taking it. */
bool bw_merge_peek(struct bw_merge *m, struct pfs_desc *d);

/* The next record: 1, or 0 if none is ready.  Check the bytes with
 * bw_merge_intact() after use. */
int bw_merge_next(struct bw_merge *m, struct pfs_desc *d, const void **data);
bool bw_merge_intact(struct bw_merge *m, const struct pfs_desc *d);

/* An input stopped at a record whose DBuf is not in the table (inputs
 * await DBufs when bw_merge.await_dbufs is set): that DBuf's id, or 0.
 * With drop, those records are dropped (counted) instead. */
uint16_t bw_merge_unknown_dbuf(struct bw_merge *m, bool drop);

/* Something to hand out (or every input ended)? */
bool bw_merge_ready(struct bw_merge *m);

/* Every input ended and every record has been handed out. */
bool bw_merge_eof(struct bw_merge *m);

/* Records lost to producers lapping us, over all inputs. */
uint64_t bw_merge_drops(const struct bw_merge *m);

/* Listen (or stop) to the wakeups of every input with an event loop's
 * eventfd (see bw_reader_listen).  listen returns 0 or -ENOSPC, and then
 * listens to none. */
int bw_merge_listen(struct bw_merge *m, int efd);
void bw_merge_unlisten(struct bw_merge *m, int efd);

#endif
