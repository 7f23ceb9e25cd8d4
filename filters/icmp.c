/* SPDX-License-Identifier: BSD-3-Clause
 * icmp: ICMP messages over IPv4 (not later fragments).
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return pfs_pkt_is(p, IPPROTO_ICMP);
}

PFS_CLASSIFIER(pfs_filter_icmp, "icmp", "icmp",
	       "ICMP messages over IPv4 (not later fragments)",
	       match, NULL);
