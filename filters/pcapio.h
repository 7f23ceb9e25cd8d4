/* SPDX-License-Identifier: BSD-3-Clause
 * The pcap stream format of a node's `pcap` file: what reading it shows.
 * (Parsing what is written into it is savefile.h; the `pcapng` file is
 * pcapng.h.)  Frames keep their link type and timestamps at the source's
 * precision; other records (text lines, byte-stream chunks, HTTP
 * requests, frames narrowed by `payload`) are LINKTYPE_WIRESHARK_UPPER_PDU
 * with exported-PDU tags (Wireshark's epan/exported_pdu.h): the name of a
 * dissector for them (a TCP or UDP payload: Wireshark's port table, as
 * its TCP and UDP dissectors use) and, where the record has a flow, its
 * addresses and ports, so Wireshark dissects them.
 */
#ifndef FILTERS_PCAPIO_H
#define FILTERS_PCAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bufs/merge.h"
#include "filters/savefile.h"
#include "pipesfs_record.h"

#define PFS_LINKTYPE_ETHERNET 1
#define PFS_LINKTYPE_UPPER_PDU 252

/* Which link type a view shows this record as: its own for a whole
 * frame, PFS_LINKTYPE_UPPER_PDU for anything else. */
int pfs_pcap_link_type(const struct pfs_desc *d);

/* The exported-PDU tags that go before record d's bytes (data: they, with
 * d->head_room bytes before them readable) in an upper-PDU packet: at
 * most PFS_UPPER_PDU_TAGS_MAX bytes written to out, and how many; 0 for a
 * whole frame (one of link type 252 carries its own). */
#define PFS_UPPER_PDU_TAGS_MAX 96
size_t pfs_upper_pdu_tags(const struct pfs_desc *d, const uint8_t *data, uint8_t *out);

/* A pcap view's one link type and timestamp precision, decided by its
 * first record (pfs_pcap_view_of). */
struct pfs_pcap_view {
	int link_type;
	bool nsec;		/* nanosecond timestamps (magic 0xa1b23c4d) */
};

void pfs_pcap_view_of(struct pfs_pcap_view *v, const struct pfs_desc *first);

/* The 24-byte global header.  Its snaplen is libpcap's largest for the
 * link type (pfs_max_snaplen), which covers every record a view holds. */
void pfs_pcap_global_header(uint8_t out[PFS_PCAP_GLOBAL_LEN], const struct pfs_pcap_view *v);

/* Frame record d (data: its bytes) for view v: the pcap record header and
 * any exported-PDU tags as f's head; f->skip for a record of another link
 * type, which a classic pcap stream cannot carry.  A view in microseconds
 * shows nanosecond timestamps cut to the microsecond. */
void pfs_pcap_frame(const struct pfs_pcap_view *v, const struct pfs_desc *d,
		    const uint8_t *data, struct bw_frame *f);

#endif
