/* SPDX-License-Identifier: BSD-3-Clause
 * The kinds of source (registry.c lists them) and their knobs.
 */
#ifndef FILTERS_SOURCES_KINDS_H
#define FILTERS_SOURCES_KINDS_H

#include "filters/sources/source.h"

extern const struct pfs_source_kind pfs_pcap_kind;	/* pcap.c */
extern const struct pfs_source_kind pfs_iface_kind;	/* dpdk.c */
extern const struct pfs_source_kind pfs_dpdk_kind;	/* dpdk.c */

/* Packet workers per iface: or dpdk: source (--workers); 0 for the
 * default, one per CPU the process may use but the first.  More than
 * the CPUs it may use is capped to them, with a line in the log.  Before
 * any source is opened. */
void pfs_dpdk_set_workers(unsigned n);

#endif
