/* SPDX-License-Identifier: BSD-3-Clause
 * arp: ARP packets (looking through VLAN tags).
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return p->flags & PFS_PKT_ARP;
}

PFS_CLASSIFIER(pfs_filter_arp, "arp", "arp",
	       "ARP packets (looking through VLAN tags)",
	       match, NULL);
