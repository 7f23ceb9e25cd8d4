/* SPDX-License-Identifier: BSD-3-Clause
 * Reading a node: one stream of records out of every ring the node has
 * (one per producer that reaches it), merged oldest timestamp first.  Rings
 * made after the open are followed from their start, so nothing published
 * at the node after the open is missed (or, if lapped, it is counted).
 *
 * End of stream comes from the rings: each ring's shared header says when
 * no record will come into it (its producer has finished, or no longer
 * reaches the node), and a reader is at end of stream once every ring of
 * the node says so and it has read them all.  A node that has no ring yet
 * (a node nobody has written to) is not at end: its readers wait, as on a
 * FIFO before its first writer.  A removed node is at end.
 *
 * One thread at a time per reader; no graph lock except where said.
 */
#ifndef FILTERS_GRAPH_READER_H
#define FILTERS_GRAPH_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bufs/merge.h"

struct pfs_node;
struct pfs_reader;

/* Open a reader of node n (graph lock held): from the oldest record the
 * node holds, or only what comes after the open (from_now).  With holds,
 * lossless producers (files, writers) wait for this reader; without, they
 * do not, and it loses what they lap it by (counted, as on a live ring).
 * Only the mount's owner may hold producers back (DESIGN.md, Buffers).
 * `framing` (may be NULL) frames each record for pfs_reader_copy (see
 * bw_framing: its inputs are the node's rings).  Starts the sources
 * upstream.  NULL when out of memory. */
struct pfs_reader *pfs_reader_open(struct pfs_node *n, bool from_now, bool holds,
				   const struct bw_framing *framing);
/* Graph lock held.  Listening must have stopped. */
void pfs_reader_close(struct pfs_reader *r);

/* Copy whole records (with their framing) into buf, up to cap bytes: see
 * bw_merge_copy.  Returns the bytes copied, 0 if none is ready. */
size_t pfs_reader_copy(struct pfs_reader *r, void *buf, size_t cap);

/* The descriptor of the next record, if one is ready, without taking it. */
bool pfs_reader_peek(struct pfs_reader *r, struct pfs_desc *d);

/* A record to take, or end of stream? */
bool pfs_reader_ready(struct pfs_reader *r);
bool pfs_reader_eof(struct pfs_reader *r);

/* Event loops: have every ring of the node (and the node, for rings made
 * later and for its removal) write `efd` when there may be something new;
 * re-check, then wait on efd.  Returns 0 or -ENOSPC. */
int pfs_reader_listen(struct pfs_reader *r, int efd);

/* A number that changes whenever r may have something new: a record
 * published in one of the node's rings, a ring ended, a ring added, the
 * node removed.  For an event loop that listens for many readers with one
 * eventfd, to tell which of them moved.  Follows new rings first. */
uint64_t pfs_reader_stamp(struct pfs_reader *r);
void pfs_reader_unlisten(struct pfs_reader *r);

/* Where the records of the reader's input `input` (as bw_framing numbers
 * them) come from: a source (its directory's name, for every worker of a
 * live source: pfs_producer_set_origin) or the node that was written into
 * (its name at the first open for writing).  Writes at most len bytes, NUL
 * included, into name, and returns an id that is the same for inputs of
 * one origin and never reused; "" and 0 for an input it cannot name (a
 * producer gone).  Takes no graph lock. */
uint64_t pfs_reader_origin(struct pfs_reader *r, size_t input, char *name, size_t len);

/* Was n removed from the tree (no ring will come to it)?  No lock. */
bool pfs_node_removed(const struct pfs_node *n);

/* For zero-copy clients: the rings of node n.  For each port from `from`
 * on (ports are never renumbered), fn(arg, 0, its IBuf's memfd, -1, its
 * producer's uid); for every port, fn(arg, id, memfd, file, uid) for each
 * data ring its producer writes (file -1; a producer makes them as it
 * goes, so they come again each call: the caller skips the ids it gave
 * already) or publishes into (a file replayed in place: its header's
 * memfd and the file; a kernel ring: its mirror, which the ring's owner
 * fills from then on: bw_dbuf_make_mirror).  fn runs under the graph's
 * ports lock: it must not block, and the descriptors are only valid
 * during the call.  Returns the number of ports n has. */
uint32_t pfs_node_rings(struct pfs_node *n, uint32_t from,
			void (*fn)(void *arg, uint16_t dbuf, int fd, int file, uint64_t producer),
			void *arg);

/* Records lost to producers lapping this reader. */
uint64_t pfs_reader_drops(struct pfs_reader *r);

#endif
