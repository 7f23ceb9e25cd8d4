/* SPDX-License-Identifier: BSD-3-Clause
 * The pcapng stream format of a node's `pcapng` file (draft-ietf-opsawg-
 * pcapng): what reading it shows, and parsing what is written into it.
 *
 * A view is a Section Header Block, then an Interface Description Block
 * for each interface just before its first packet, then an Enhanced
 * Packet Block per record.  An interface is one (input, link type,
 * timestamp precision): input is the ring of the node the record was read
 * from, which is one producer's (bw_framing), so a node fed by several
 * sources of several link types shows every record, each with where it
 * came from as if_name.  Records carry their link type as pcap views do
 * (pcapio.h: other records than whole frames as upper PDUs, with their
 * exported-PDU tags); nanosecond records go on interfaces with if_tsresol
 * 9, the others 6.  Blocks are written in the daemon's byte order.
 */
#ifndef FILTERS_PCAPNG_H
#define FILTERS_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bufs/merge.h"
#include "filters/savefile.h"
#include "pipesfs_record.h"

/* ---- reading: the view ---- */

/* A Section Header Block without options, of unknown section length. */
#define PFS_PCAPNG_SHB_LEN 28
void pfs_pcapng_shb(uint8_t out[PFS_PCAPNG_SHB_LEN]);

struct pfs_pcapng_if {
	uint64_t origin;
	int link_type;
	bool nsec;
};

/* The interfaces a view has described so far, by interface id. */
struct pfs_pcapng_view {
	struct pfs_pcapng_if *ifs;	/* malloc'd */
	size_t n, cap;
};

/* An interface is one origin of records (a source, a written node: see
 * pfs_reader_origin), link type and timestamp precision. */

/* The interface id of record d from `origin`, or, for one the view has no
 * IDB for yet, v->n (room is made for it).  -ENOMEM when there is no
 * room. */
int pfs_pcapng_interface(struct pfs_pcapng_view *v, uint64_t origin, const struct pfs_desc *d);

/* Record d from `origin` went out (bw_framing's taken): the view has its
 * interface from now on. */
void pfs_pcapng_taken(struct pfs_pcapng_view *v, uint64_t origin, const struct pfs_desc *d);

void pfs_pcapng_view_fini(struct pfs_pcapng_view *v);

/* The IDB of record d's interface, named `name` (where the records come
 * from) and described by `description` (each cut to 255 bytes): snaplen
 * pfs_max_snaplen(link type), if_tsresol 9 or 6.  Written to out, at most
 * PFS_PCAPNG_IDB_MAX bytes; returns how many. */
#define PFS_PCAPNG_IDB_MAX 560
size_t pfs_pcapng_idb(const struct pfs_desc *d, const char *name, const char *description,
		      uint8_t *out);

/* Frame record d (data: its bytes) as an EPB on interface if_id, after
 * whatever f's head holds already: the EPB header and exported-PDU tags
 * are appended to the head, the padding and closing length are the tail. */
void pfs_pcapng_epb(uint32_t if_id, const struct pfs_desc *d, const uint8_t *data,
		    struct bw_frame *f);

/* ---- writing: the parser ---- */

/* An interface of a written stream, as its IDB says. */
struct pfs_pcapng_in_if {
	int link_type;
	uint32_t snaplen;	/* 0: none; longer packets are cut to it */
	uint64_t units;		/* timestamp units per second (if_tsresol) */
	int64_t offset;		/* seconds added to timestamps (if_tsoffset) */
};

/* Parsing a written pcapng stream, across any split into writes.  Each
 * section (SHB) has its own byte order and interfaces. */
struct pfs_pcapng_parser {
	bool in_section;	/* an SHB has been read */
	bool swapped;		/* the section's byte order is not ours */
	struct pfs_pcapng_in_if *ifs;
	size_t nifs, cap;
	uint8_t *pending;	/* an incomplete block */
	size_t npending;
};

/* As pfs_pcap_parse: validate everything in buf first (a bad block:
 * -EINVAL with a reason in err, nothing changed, nothing handed on), then
 * hand each packet of an EPB, SPB or (obsolete) PB to fn as a frame
 * record (link type, snaplen and timestamp from its interface, as libpcap
 * reads them; PFS_REC_TS_NSEC when the interface's timestamps are finer
 * than microseconds; an SPB has no timestamp: 0) and keep the incomplete
 * rest for the next call.
 * Other blocks are skipped.  A packet longer than its link type's
 * pfs_max_snaplen, or a block over 16 MiB, is invalid.  Returns 0 or
 * -errno (-ENOMEM: the records before it were handed on). */
int pfs_pcapng_parse(struct pfs_pcapng_parser *p, const uint8_t *buf, size_t len,
		     pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen);
void pfs_pcapng_parser_fini(struct pfs_pcapng_parser *p);

#endif
