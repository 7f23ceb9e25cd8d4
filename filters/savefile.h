/* SPDX-License-Identifier: BSD-3-Clause
 * Reading classic pcap savefiles (a replayed file, a written `pcap`
 * stream) as libpcap's savefile reader (sf-pcap.c, libpcap 1.10) reads
 * them, quirks of old and odd writers included.  The format:
 * https://www.tcpdump.org/manpages/pcap-savefile.5.html and
 * draft-ietf-opsawg-pcap; the quirks: libpcap's sf-pcap.c (header and
 * record checks), pcap-common.c (max_snaplen_for_dlt, linktype_to_dlt)
 * and pcap-util.c (pcap_post_process).
 *
 * Where pipesfs differs from libpcap 1.10 (README, Choices): a link type
 * field whose reserved bits (16 to 25) are set is refused, since a
 * record's link type is 16 bits; timestamp fields are unsigned, as the
 * format says (libpcap 1.10 takes those of a file of our byte order as
 * signed: 2038 and later become 1901 and later).
 */
#ifndef FILTERS_SAVEFILE_H
#define FILTERS_SAVEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipesfs_record.h"

#define PFS_PCAP_GLOBAL_LEN 24
#define PFS_PCAP_RECORD_HDR 16	/* a record's header (Kuznetzov's files: 24) */
#define PFS_PCAP_MAX_RECORD (256u * 1024)	/* libpcap's MAXIMUM_SNAPLEN */

/* The largest record libpcap reads for link_type (a LINKTYPE_ value),
 * in bytes: 128 MiB for D-Bus, 8 MiB for EBHSCR, 1 MiB for USBPcap,
 * PFS_PCAP_MAX_RECORD for any other (max_snaplen_for_dlt). */
uint32_t pfs_max_snaplen(int link_type);

/* Which of a record's two length fields is which, by file version
 * (libpcap's lengths_swapped): before 2.3 (and DG/UX's 543.0) the
 * captured length came second; some 2.3 writers still put it there. */
enum pfs_pcap_lengths {
	PFS_LENGTHS_NOT_SWAPPED,
	PFS_LENGTHS_SWAPPED,
	PFS_LENGTHS_MAYBE_SWAPPED,	/* swapped where caplen > len */
};

/* A classic pcap file or stream, as its global header describes it. */
struct pfs_pcap_format {
	bool swapped;		/* the writer's byte order is not ours */
	bool nanosec;
	enum pfs_pcap_lengths lengths;
	uint8_t record_hdr;	/* bytes of a record's header: 16, or 24 */
	int link_type;		/* LINKTYPE_ value (the FCS bits dropped) */
	uint32_t snaplen;	/* libpcap's snapshot length: longer records
				 * are cut to it */
	uint32_t max_caplen;	/* pfs_max_snaplen(link_type): longer records
				 * are refused */
};

/* Parse a global header (PFS_PCAP_GLOBAL_LEN bytes): 0, or -EINVAL with a
 * reason in err for one libpcap refuses (or that has reserved link type
 * bits set). */
int pfs_pcap_parse_header(struct pfs_pcap_format *f, const uint8_t *b,
			  char *err, size_t errlen);

/* Whether libpcap changes some records of such a file as it reads them
 * (pcap_post_process): pseudo-header fields that a writer of the other
 * byte order stored in its own (Linux USB, NFLOG, pflog, SocketCAN in
 * Linux cooked frames) are swapped, and the wire length of some Linux
 * USB (memory-mapped) records is corrected in any byte order.  Records
 * of such a file cannot be replayed in place. */
bool pfs_pcap_rewritten(const struct pfs_pcap_format *f);

/* The record at b (len bytes there): 1 with d (len, wire_len, ts_ns,
 * flags, kind, link_type) and *size (header and data in the file) set,
 * the data being at b + f->record_hdr; 0 if the record is not complete in
 * len bytes; -EINVAL (reason in err) if it is longer than f->max_caplen.
 * d->len is at most f->snaplen: what lies beyond is skipped. */
int pfs_pcap_parse_record(const struct pfs_pcap_format *f, const uint8_t *b,
			  size_t len, struct pfs_desc *d, size_t *size,
			  char *err, size_t errlen);

/* A record as libpcap hands it out (h, from a pcap_t opened with
 * PCAP_TSTAMP_PRECISION_NANO): kind FRAME, link_type, and the
 * PFS_REC_TS_NSEC flag if the file's timestamps are nanoseconds.  The
 * timestamp's fields of a classic file are taken unsigned, as the
 * in-place reader takes them (libpcap reads those of a file of its byte
 * order signed); a pcapng file's are its 64 bits (past 2106 too). */
struct pcap_pkthdr;
struct pfs_desc pfs_pcap_libpcap_desc(const struct pcap_pkthdr *h, int link_type,
				      bool nanosec);

/* Parsing a written pcap stream, across any split into writes. */
struct pfs_pcap_parser {
	bool have_header;
	struct pfs_pcap_format fmt;
	uint8_t header[PFS_PCAP_GLOBAL_LEN];	/* as written */
	uint8_t *pending;	/* an incomplete record (or header) */
	size_t npending;
};

typedef void (*pfs_pcap_record_fn)(void *arg, const struct pfs_desc *d,
				   const uint8_t *data);

/* Validate everything in buf first: on a bad header or record, return
 * -EINVAL with a reason in err and change nothing.  Otherwise hand every
 * complete record to fn (as pfs_pcap_parse_record sets d; the data as
 * libpcap reads it, see pfs_pcap_rewritten) and keep the incomplete rest
 * for the next call.  A record handed on is up to
 * pfs_max_snaplen(d->link_type) bytes long (256 KiB for most link types,
 * up to 128 MiB): a ring it is copied into must take that.  Returns 0 or
 * -errno. */
int pfs_pcap_parse(struct pfs_pcap_parser *p, const uint8_t *buf, size_t len,
		   pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen);
void pfs_pcap_parser_fini(struct pfs_pcap_parser *p);

#endif
