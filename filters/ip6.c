/* SPDX-License-Identifier: BSD-3-Clause
 * ip6: IPv6 packets (looking through VLAN tags).
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return p->flags & PFS_PKT_IP6;
}

PFS_CLASSIFIER(pfs_filter_ip6, "ip6", "ip6",
	       "IPv6 packets (looking through VLAN tags)",
	       match, NULL);
