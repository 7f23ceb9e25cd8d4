/* SPDX-License-Identifier: BSD-3-Clause
 * Reading classic pcap savefiles (a replayed file, a written `pcap`
 * stream) as libpcap's savefile reader (sf-pcap.c) reads them.  The
 * format: https://www.tcpdump.org/manpages/pcap-savefile.5.html and
 * draft-ietf-opsawg-pcap.
 */
#ifndef FILTERS_SAVEFILE_H
#define FILTERS_SAVEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipesfs_record.h"

#define PFS_PCAP_GLOBAL_LEN 24
#define PFS_PCAP_MAX_RECORD (256u * 1024)	/* libpcap's maximum; larger: refused */

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
