/* SPDX-License-Identifier: BSD-3-Clause
 * vlan: frames with at least one 802.1Q/802.1ad VLAN tag.
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return p->vlans > 0;
}

PFS_CLASSIFIER(pfs_filter_vlan, "vlan", "vlan",
	       "frames with at least one 802.1Q/802.1ad VLAN tag",
	       match, NULL);
