/* SPDX-License-Identifier: BSD-3-Clause
 * The pcap stream format: what a node's `pcap` file reads as, and parses
 * what is written into it.  Frame records keep their link type and
 * timestamps; other records (HTTP requests, text, byte-stream chunks) are
 * wrapped as LINKTYPE_WIRESHARK_UPPER_PDU with a protocol name, so
 * Wireshark dissects them.
 */
#ifndef FILTERS_PCAPIO_H
#define FILTERS_PCAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipesfs_record.h"

#define PFS_LINKTYPE_ETHERNET 1
#define PFS_LINKTYPE_UPPER_PDU 252
#define PFS_PCAP_GLOBAL_LEN 24
#define PFS_PCAP_MAX_RECORD (256u * 1024)	/* libpcap's maximum; larger: refused */

/* Which link type a stream of these records is written with. */
int pfs_pcap_link_type(const struct pfs_desc *d);

/* The 24-byte global header of a stream (microsecond timestamps). */
void pfs_pcap_global_header(uint8_t out[PFS_PCAP_GLOBAL_LEN], int link_type);

/* The per-record header for a stream of link type `*link_type` (a pointer,
 * to fit bw_merge's prefix callback): at most 64 bytes, or BW_PREFIX_SKIP
 * for a record that such a stream cannot carry. */
size_t pfs_pcap_record_prefix(const struct pfs_desc *d, void *out, void *link_type);

/* A classic pcap file or stream, as its global header describes it. */
struct pfs_pcap_format {
	bool swapped;		/* the writer's byte order is not ours */
	bool nanosec;
	int link_type;
	uint32_t snaplen;	/* longer records are cut to it, as libpcap does */
};

/* Parse a global header (PFS_PCAP_GLOBAL_LEN bytes): 0, or -EINVAL with a
 * reason in err. */
int pfs_pcap_parse_header(struct pfs_pcap_format *f, const uint8_t *b,
			  char *err, size_t errlen);

/* The record at b (len bytes there): 1 with d (len, wire_len, ts_ns, kind,
 * link_type) and *size (header and data) set, the data being at
 * b + PFS_PCAP_RECORD_HDR; 0 if the record is not complete in len bytes;
 * -EINVAL (reason in err) if it is bad. */
#define PFS_PCAP_RECORD_HDR 16
int pfs_pcap_parse_record(const struct pfs_pcap_format *f, const uint8_t *b,
			  size_t len, struct pfs_desc *d, size_t *size,
			  char *err, size_t errlen);

/* Parsing a written pcap stream, across any split into writes. */
struct pfs_pcap_parser {
	bool have_header;
	struct pfs_pcap_format fmt;
	uint8_t *pending;	/* an incomplete record (or header) */
	size_t npending;
};

typedef void (*pfs_pcap_record_fn)(void *arg, const struct pfs_desc *d,
				   const uint8_t *data);

/* Validate everything in buf first: on a bad header or record, return
 * -EINVAL with a reason in err and change nothing.  Otherwise hand every
 * complete record to fn (kind FRAME, len, wire_len, ts_ns, link_type set)
 * and keep the incomplete rest for the next call.  Returns 0 or -errno. */
int pfs_pcap_parse(struct pfs_pcap_parser *p, const uint8_t *buf, size_t len,
		   pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen);
void pfs_pcap_parser_fini(struct pfs_pcap_parser *p);

#endif
