/* SPDX-License-Identifier: BSD-3-Clause
 * udp: UDP datagrams over IPv4 or IPv6 (not later fragments).
 */
#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	(void)c;
	return pfs_pkt_is(p, IPPROTO_UDP);
}

PFS_CLASSIFIER(pfs_filter_udp, "udp", "udp",
	       "UDP datagrams over IPv4 or IPv6 (not later fragments)",
	       match, NULL);
