/* SPDX-License-Identifier: BSD-3-Clause
 * The graph's bounds, in one place.  Each is large enough that normal use
 * never meets it; going past one fails the operation that needed it, with
 * a line in `log`.
 */
#ifndef FILTERS_GRAPH_LIMITS_H
#define FILTERS_GRAPH_LIMITS_H

/* Producers at once in a mount: one per file source, per live worker and
 * per node written into.  Producer slots index the tables below. */
#define PFS_MAX_PRODUCERS 4096

/* Ports (a producer's rings at a node) and per-producer filter states are
 * kept in chunks of this many, made on demand, so that a node or stage
 * costs memory for the producers that reach it, not for the maximum. */
#define PFS_CHUNK 64
#define PFS_CHUNKS (PFS_MAX_PRODUCERS / PFS_CHUNK)

/* Records a producer publishes between wakeups of readers (and between
 * its quiescent states). */
#define PFS_FLUSH_BATCH 32

/* A filter's counters (the first words of its per-producer state). */
#define PFS_MAX_COUNTERS 16

_Static_assert(PFS_MAX_PRODUCERS % PFS_CHUNK == 0, "whole chunks");
_Static_assert(PFS_MAX_PRODUCERS <= (1u << 16), "slots fit a uint16_t");

#endif
