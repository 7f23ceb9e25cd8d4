/* SPDX-License-Identifier: BSD-3-Clause
 * Every capacity bound of pipesfs above bufs/, in one place, each checked
 * here against what depends on it.  Each is large enough that normal use
 * never meets it; going past one fails the operation that needed it, with
 * a line in `log`.  (bufs/ keeps its own: BW_DBUF_MAX data rings in all,
 * BW_WAITQ_EVENTFDS event loops listening to one ring.  Format rules, such
 * as libpcap's largest record, live with their format.)
 */
#ifndef FILTERS_LIMITS_H
#define FILTERS_LIMITS_H

#include "bufs/dbuf.h"
#include "filters/pcapio.h"

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
#define PFS_FLUSH_BATCH 256

/* A filter's counters (the first words of its per-producer state). */
#define PFS_MAX_COUNTERS 16

/* bpf=: link types (and byte orders) one stage compiles a program for,
 * and the longest expression (libpcap's optimiser takes time superlinear
 * in it: 2 KiB of `port N or ...` compiles in about 1.5 s, 6 KiB in 18 s). */
#define PFS_BPF_MAX_PROGS 64
#define PFS_BPF_MAX_EXPR 2048

/* --workers, before it is capped to the CPUs the process may use. */
#define PFS_MAX_WORKERS 1024

/* EAL arguments one source may add (its device, its memory). */
#define PFS_EAL_WORDS_PER_SOURCE 8

/* A written byte stream is cut into records of this many bytes at most. */
#define PFS_STREAM_CHUNK 65536u

/* http, method=: per producer at a stage, TCP connections tracked (the
 * least recently used evicted past it), reassembly windows (256 KiB each,
 * touched only where used) that directions waiting for bytes share, and
 * written byte streams framed at once; the longest method= argument. */
#define PFS_HTTP_CONNS 4096
#define PFS_HTTP_WINDOWS 64
#define PFS_HTTP_STREAMS 64
#define PFS_HTTP_MAX_METHOD 32
/* http: methods it makes a child for (the nine of RFC 9110 and 5789 from
 * the start, then others as they are first seen; past it, counted). */
#define PFS_HTTP_MAX_METHODS 64

/* A child node a stage asks for: its name and its spec, at most. */
#define PFS_CHILD_NAME 64

_Static_assert(PFS_MAX_PRODUCERS % PFS_CHUNK == 0, "whole chunks");
_Static_assert(PFS_MAX_PRODUCERS <= (1u << 16), "slots fit a uint16_t");
_Static_assert(PFS_MAX_PRODUCERS < BW_DBUF_MAX,
	       "every producer that copies records can have a data ring");
_Static_assert(PFS_HTTP_MAX_METHOD + sizeof "method=" <= PFS_CHILD_NAME,
	       "an HTTP method's child spec fits");
_Static_assert(PFS_STREAM_CHUNK <= PFS_PCAP_MAX_RECORD,
	       "a writer's ring takes records up to PFS_PCAP_MAX_RECORD");

#endif
