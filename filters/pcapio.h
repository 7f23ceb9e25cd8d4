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

#include "filters/savefile.h"
#include "pipesfs_record.h"

#define PFS_LINKTYPE_ETHERNET 1
#define PFS_LINKTYPE_UPPER_PDU 252

/* Which link type a stream of these records is written with. */
int pfs_pcap_link_type(const struct pfs_desc *d);

/* The 24-byte global header of a stream (microsecond timestamps). */
void pfs_pcap_global_header(uint8_t out[PFS_PCAP_GLOBAL_LEN], int link_type);

/* The per-record header for a stream of link type `*link_type` (a pointer,
 * to fit bw_merge's prefix callback): at most 64 bytes, or BW_PREFIX_SKIP
 * for a record that such a stream cannot carry. */
size_t pfs_pcap_record_prefix(const struct pfs_desc *d, void *out, void *link_type);

#endif
