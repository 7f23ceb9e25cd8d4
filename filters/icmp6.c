/* SPDX-License-Identifier: BSD-3-Clause
 * icmp6: ICMPv6 messages (not later fragments).
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return pfs_pkt_is(p, IPPROTO_ICMPV6);
}

PFS_CLASSIFIER(pfs_filter_icmp6, "icmp6", "icmp6",
	       "ICMPv6 messages (not later fragments)",
	       match, NULL);
