/* SPDX-License-Identifier: BSD-3-Clause
 * The types of source (registry.c lists them).
 */
#ifndef FILTERS_SOURCES_TYPES_H
#define FILTERS_SOURCES_TYPES_H

#include "filters/sources/source.h"

extern const struct pfs_source_type pfs_pcap_type;	/* pcap.c */
extern const struct pfs_source_type pfs_iface_type;	/* tpacket.c */
extern const struct pfs_source_type pfs_dpdk_type;	/* dpdk.c */

#endif
