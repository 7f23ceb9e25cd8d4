/* SPDX-License-Identifier: BSD-3-Clause
 * TCP reassembly (RFC 9293): each connection's two byte streams, in order,
 * from segments as a capture saw them (out of order, repeated,
 * overlapping, some lost).  One table per producer, no lock.
 *
 * A consumer is handed each direction's bytes in order, once, through
 * `data`: the bytes it kept from before, then the new ones, contiguous.
 * It says how many leading bytes it no longer needs; the rest are kept
 * for its next call (at most PFS_TCP_KEEP bytes: it must let go of more).
 * When nothing is kept and a segment comes in order, the consumer is
 * handed the segment's own payload (no copy); otherwise the bytes come
 * from the direction's window, a buffer where kept and out-of-order bytes
 * wait, taken from the table's pool while needed.
 *
 * Rules (RFC 9293 sections):
 *  - sequence numbers compare modulo 2^32 (§3.4), so a stream may wrap;
 *  - a direction starts at its SYN, with the byte after the ISN (§3.4),
 *    or at the first segment seen (a capture that starts mid-connection);
 *  - bytes before RCV.NXT were handed on already (§3.10.7.4, the
 *    acceptability test): retransmissions, keep-alive probes' one stale
 *    byte (§3.8.4) and data repeated after a FIN are counted and dropped;
 *    where out-of-order data overlaps data held, the first copy wins and
 *    a difference is counted (`inconsistent`);
 *  - a hole (bytes never seen) is given up, its bytes counted in `gaps`
 *    and the consumer told (`lost`), when the other side acknowledged
 *    past it (so it will never be sent again), when the window cannot
 *    hold what waits beyond it, or at RST (§3.5.3: the connection ends,
 *    what was held is handed on first);
 *  - a SYN (without ACK) with a new ISN on a known 4-tuple starts a new
 *    connection (§3.4.1: a new incarnation); a repeated SYN does not;
 *    after RST a connection takes no more data until such a SYN;
 *  - a segment cut short by the capture's snapshot length is a hole for
 *    its missing bytes; segment lengths come from the IP header (the
 *    caller's wire_len), so Ethernet padding is no data.
 *
 * Memory: a table of at most `conns` connections, the least recently
 * used evicted (counted) when a new one needs room, and a pool of
 * `windows` windows of PFS_TCP_WINDOW bytes shared by all directions; a
 * direction that needs a window when none is free loses its data
 * (counted in `no_window`, and a hole).  All of it is made at
 * pfs_tcp_table_new(): nothing is allocated per segment.
 */
#ifndef FILTERS_TCPREASM_H
#define FILTERS_TCPREASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A direction's window: what it keeps, and out-of-order bytes beyond. */
#define PFS_TCP_WINDOW (256u << 10)
/* Bytes a consumer may keep between calls: the rest of the window holds
 * out-of-order data (a segment is at most 64 KiB). */
#define PFS_TCP_KEEP (PFS_TCP_WINDOW / 2)
/* Separate runs of out-of-order bytes a window holds. */
#define PFS_TCP_RUNS 8

/* The counters, in the order of pfs_tcp_counter_names; the caller keeps
 * them (at the start of a filter's per-producer state). */
struct pfs_tcp_counters {
	uint64_t connections;	/* made (a SYN's or a first segment's) */
	uint64_t evictions;	/* connections evicted for a new one */
	uint64_t gaps;		/* bytes given up as lost */
	uint64_t retransmitted;	/* bytes that came again */
	uint64_t out_of_order;	/* segments that came early */
	uint64_t inconsistent;	/* segments that overlapped held data with
				 * different bytes (the first copy kept) */
	uint64_t no_window;	/* segments lost for want of a window */
};
#define PFS_TCP_COUNTER_NAMES "connections", "evictions", "gap_bytes", \
	"retransmitted_bytes", "out_of_order", "inconsistent", "no_window"

/* One segment, as the dissector found it. */
struct pfs_tcp_seg {
	uint8_t family;		/* 4 or 6 */
	uint8_t flags;		/* TCP flags: PFS_TCP_SYN, ... */
	uint16_t sport, dport;
	const uint8_t *src, *dst;	/* 4 or 16 bytes */
	uint32_t seq, ack;
	const uint8_t *payload;
	uint32_t len;		/* payload bytes captured */
	uint32_t wire_len;	/* payload bytes sent (len <= wire_len) */
};

#define PFS_TCP_FIN 0x01
#define PFS_TCP_SYN 0x02
#define PFS_TCP_RST 0x04
#define PFS_TCP_ACK 0x10

/* One end of a connection. */
struct pfs_tcp_end {
	uint8_t addr[16];
	uint16_t port;
};

struct pfs_tcp_conn;

/* A connection's two ends: ends[d] sends direction d's bytes.  `user`
 * points at the consumer's state for direction d (user_size bytes,
 * zeroed when the connection is made). */
const struct pfs_tcp_end *pfs_tcp_end(const struct pfs_tcp_conn *c, int d);
uint8_t pfs_tcp_family(const struct pfs_tcp_conn *c);
void *pfs_tcp_user(struct pfs_tcp_conn *c, int d);
/* Was direction d seen from its SYN (its first byte is the stream's)? */
bool pfs_tcp_from_start(const struct pfs_tcp_conn *c, int d);
/* The direction that sent the SYN without ACK, or -1 if none was seen. */
int pfs_tcp_opener(const struct pfs_tcp_conn *c);
/* The consumer wants no more of direction d (it carries responses):
 * its bytes are counted over, never kept. */
void pfs_tcp_ignore(struct pfs_tcp_conn *c, int d);

struct pfs_tcp_consumer {
	/* Direction d's bytes in order: b[0, n), of which the last `fresh`
	 * are new; b is the segment's payload when in_segment.  Returns how
	 * many leading bytes it no longer needs; n minus that must be at
	 * most PFS_TCP_KEEP. */
	uint32_t (*data)(void *arg, struct pfs_tcp_conn *c, int d, const uint8_t *b,
			 uint32_t n, uint32_t fresh, bool in_segment);
	/* n bytes of direction d were lost (n may be 0: bytes were dropped
	 * that the count cannot say): what it kept is gone. */
	void (*lost)(void *arg, struct pfs_tcp_conn *c, int d, uint64_t n);
};

struct pfs_tcp_table;

/* A table of `conns` connections (at least 1) and `windows` windows, and
 * user_size bytes of consumer state per direction.  NULL when out of
 * memory. */
struct pfs_tcp_table *pfs_tcp_table_new(uint32_t conns, uint32_t windows,
					size_t user_size,
					const struct pfs_tcp_consumer *consumer,
					struct pfs_tcp_counters *counters);
void pfs_tcp_table_free(struct pfs_tcp_table *t);

/* One segment in; the consumer hears of its bytes (arg is passed on). */
void pfs_tcp_segment(struct pfs_tcp_table *t, const struct pfs_tcp_seg *s, void *arg);

/* The next bytes b[0, len) of byte stream `flow` (a written flow): as a
 * connection of family 0 that opened at its first byte, whose bytes come
 * in order. */
void pfs_tcp_stream(struct pfs_tcp_table *t, uint32_t flow, const uint8_t *b, uint32_t len,
		    void *arg);

#endif
