/* SPDX-License-Identifier: BSD-3-Clause
 * pipesfs record descriptors and ring headers: the layout shared by the
 * daemon and zero-copy clients (include/pipesfs.h).  Everything here is
 * plain data with a fixed size, so a client built against this header can
 * read rings mapped from the daemon.
 */
#ifndef PIPESFS_RECORD_H
#define PIPESFS_RECORD_H

#include <stdint.h>

/* What the bytes of a record are. */
enum pfs_kind {
	PFS_KIND_FRAME = 1,	/* a link-layer frame; link_type says which */
	PFS_KIND_STREAM = 2,	/* a chunk of a byte stream (one flow per writer) */
	PFS_KIND_HTTP = 3,	/* one complete HTTP/1.x request */
	PFS_KIND_TEXT = 4,	/* one line of text, '\n'-terminated */
};

/* Record flags. */
#define PFS_REC_FLOW_END 0x01	/* last record of its flow (writer closed) */
#define PFS_REC_TS_NSEC 0x02	/* ts_ns is exact to the nanosecond (a
				 * nanosecond capture); else to the microsecond */
#define PFS_REC_IN_FRAME 0x04	/* a record that is no frame, pointing into
				 * one: the head_room bytes before it are
				 * the frame's headers, link_type its link
				 * type (an HTTP request that lay in one
				 * segment, not copied) */

/*
 * One descriptor in an index ring (IBuf).  It points at `len` bytes at
 * logical position `pos` of the data ring (DBuf) number `dbuf`.  Positions
 * grow monotonically; the byte's place in the ring is pos & (size - 1).
 * A record never straddles the end of its ring.
 */
struct pfs_desc {
	uint64_t seq;		/* position in its IBuf */
	uint64_t pos;		/* logical position of the first byte in the DBuf */
	uint64_t ts_ns;		/* capture or write time, ns since the epoch */
	uint32_t len;		/* bytes in the record */
	uint32_t wire_len;	/* frames: length on the wire; others: len */
	uint32_t flow_hash;	/* same value for every record of one flow */
	uint32_t aux;		/* filter-specific (e.g. connection id) */
	uint16_t dbuf;		/* which DBuf holds the bytes */
	uint16_t link_type;	/* frames: LINKTYPE_*; others: 0 */
	uint16_t head_room;	/* bytes of the original frame before pos
				 * (a narrowed record, e.g. `payload`, keeps
				 * its headers reachable at pos - head_room) */
	uint8_t kind;		/* enum pfs_kind */
	uint8_t flags;		/* PFS_REC_* */
};

_Static_assert(sizeof(struct pfs_desc) == 48, "descriptor layout is ABI");

/*
 * The flow a record was made from, for records that are no frames: an
 * HTTP request record (PFS_KIND_HTTP: the connection it came on) and a
 * `text` line (PFS_KIND_TEXT: the flow of the record it describes) are
 * preceded in their DBuf by this header, and their descriptor's head_room
 * is sizeof(struct pfs_flow_meta), so views (the `pcap` and `pcapng`
 * files' exported-PDU tags), `text` and clients can name the flow.  An
 * HTTP record flagged PFS_REC_IN_FRAME has no such header: it points into
 * its frame, whose headers are its head room (pfs_record_flow() in
 * filters/pkt.h reads either form).
 * Addresses are in network byte order; IPv4 uses the first 4 bytes.
 */
struct pfs_flow_meta {
	uint8_t family;		/* 4 or 6; 0: no addresses (then all is 0) */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP when the ports
				 * are set, else 0 */
	uint8_t pad[2];
	uint16_t src_port;	/* host byte order; HTTP: the client's */
	uint16_t dst_port;	/* HTTP: the server's */
	uint8_t src[16];	/* HTTP: the client */
	uint8_t dst[16];	/* HTTP: the server */
};

_Static_assert(sizeof(struct pfs_flow_meta) == 40, "flow meta layout is ABI");

/*
 * The first page of every ring's memory.  `tail` is the oldest valid
 * position: the producer moves it forward (release) before it overwrites
 * anything, so a reader that sees tail <= its position after using the
 * bytes knows they were intact.  `ended` (IBufs) is 1 while no record will
 * come into the ring: its producer has finished, or no longer reaches the
 * ring's node; it is stored (release) after the head, so a reader that
 * sees it and has read up to the head it loads next is at end of stream.
 */
#define PFS_RING_MAGIC_DBUF 0x50465344u	/* "PFSD" */
#define PFS_RING_MAGIC_IBUF 0x50465349u	/* "PFSI" */

struct pfs_ring_header {
	uint32_t magic;
	uint32_t id;			/* DBuf id (IBufs: 0) */
	uint64_t size;			/* bytes (DBuf) or descriptors (IBuf) */
	uint64_t data_offset;		/* where the ring starts in the mapping */
	uint32_t ended;			/* IBufs: 1 at end of stream (for now) */
	uint8_t pad0[36];
	_Alignas(64) uint64_t head;	/* next position the producer writes */
	uint8_t pad1[56];
	_Alignas(64) uint64_t tail;	/* oldest valid position */
	uint8_t pad2[56];
};

#endif
