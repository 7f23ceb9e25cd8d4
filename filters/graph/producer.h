/* SPDX-License-Identifier: BSD-3-Clause
 * Producers: the scheduler's side of the graph.
 *
 * A producer is one thread at a time (a file source's thread, a live
 * worker, or the writers of one node, serialised) that runs records through
 * the graph to completion, depth first, publishing descriptors into its own
 * rings at every node a record reaches (a port: one IBuf per producer and
 * node, plus a DBuf where the node's filter makes bytes).  Every ring has
 * exactly one producer.
 *
 * A producer's run:
 *
 *	pfs_producer_begin(p);			take the run, RCU online
 *	for each record:
 *		pfs_producer_inject(p, node, &d, data);
 *		pfs_producer_yield(p);		between records
 *	pfs_producer_end(p);			flush, RCU offline, let go
 *
 * Batching lives here: readers are woken once per PFS_FLUSH_BATCH records
 * published, and yield announces a quiescent state (and lets control
 * threads in to backfill a new node) once per flushed batch.  The thread
 * must be registered (pfs_graph_thread_register) and offline before begin.
 *
 * A lossless producer (files, written nodes) waits for its readers rather
 * than overwrite what they have not read; a lossy one (live capture) never
 * waits, and a reader it laps counts what it lost.
 */
#ifndef FILTERS_GRAPH_PRODUCER_H
#define FILTERS_GRAPH_PRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include "pipesfs_record.h"

struct bw_dbuf;
struct pfs_node;
struct pfs_producer;

/* NULL (with a line in the log) past PFS_MAX_PRODUCERS (errno ENOSPC) or
 * out of memory (ENOMEM).  `name` is for the log.  No lock needed. */
struct pfs_producer *pfs_producer_new(const char *name, bool lossless);

/* p's records come from where of's do (capture files name one interface
 * for both): a live source's workers are one interface, the source's.
 * 0 or -ENOMEM.  Before p's first run. */
int pfs_producer_set_origin(struct pfs_producer *p, const struct pfs_producer *of);

/* p publishes records that point into d, a DBuf it does not own (a file
 * replayed in place): zero-copy clients reading p's nodes are given d
 * too.  d must outlive p.  0 or -ENOMEM. */
int pfs_producer_share(struct pfs_producer *p, struct bw_dbuf *d);

/* p copied len bytes of a record it publishes at n, other than through
 * pfs_producer_alloc (a live source's copy into its ring's mirror for
 * zero-copy clients): counted in n's copied_bytes. */
void pfs_producer_count_copied(struct pfs_producer *p, struct pfs_node *n, uint32_t len);

/* The largest record, in bytes, the producer copies in at its top node
 * (PFS_PCAP_MAX_RECORD unless raised: a file or written stream whose
 * link type allows longer records, see pfs_max_snaplen): its data ring
 * there takes records of at most half its size, so it is made at least
 * twice that, rounded up to a power of two (within --ring-budget).  Only
 * raises; applies to a ring made later (at attach, or at the first
 * pfs_producer_alloc).  By the producer's own thread. */
void pfs_producer_set_max_record(struct pfs_producer *p, uint32_t bytes);

/* After the producer's last run (or cancel).  No lock needed. */
void pfs_producer_free(struct pfs_producer *p);

/* Make the producer's rings at its top node n (a data ring too if it
 * `copies` records there) and at every node below, now rather than at the
 * first record: a data ring is populated when made, which takes a while
 * when it is large.  n is where its records enter the graph from then on.
 * Returns 0 or -errno (EMFILE, ENFILE, ENOMEM, ENOSPC: see the log).
 * Called by the producer's own thread, registered and offline, without
 * the graph lock. */
int pfs_producer_attach(struct pfs_producer *p, struct pfs_node *n, bool copies);

void pfs_producer_begin(struct pfs_producer *p);
void pfs_producer_yield(struct pfs_producer *p);
void pfs_producer_end(struct pfs_producer *p);

/* Inside a run: room for a new record of `len` bytes in the producer's
 * data ring at node n; fills d->pos, d->dbuf and d->len.  NULL if it cannot
 * be had, with errno set: EMSGSIZE when len is more than half the ring (the
 * record is counted in the drops of n), or why the ring could not be made
 * (EMFILE, ENFILE, ENOMEM, ENOSPC, with a line in the log). */
uint8_t *pfs_producer_alloc(struct pfs_producer *p, struct pfs_node *n,
			    uint32_t len, struct pfs_desc *d);

/* Inside a run: publish a record at node n, then run it through every
 * stage below.  d->seq is set by the ring.  0, or -errno when it could not
 * be published at n (as pfs_producer_alloc, or -ECANCELED at teardown);
 * what the stages below lose is counted at their nodes. */
int pfs_producer_inject(struct pfs_producer *p, struct pfs_node *n,
			const struct pfs_desc *d, const uint8_t *data);

/* Outside a run: the producer has finished (true), or produces again
 * (false).  Its rings say so in their shared headers: readers that have
 * caught up see end of stream. */
void pfs_producer_set_ended(struct pfs_producer *p, bool ended);

/* Teardown, from another thread: a lossless wait for readers ends now and
 * the run returns soon. */
void pfs_producer_cancel(struct pfs_producer *p);

#endif
