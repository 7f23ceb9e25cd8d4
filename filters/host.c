/* SPDX-License-Identifier: BSD-3-Clause
 * host=ADDR: IPv4 or IPv6 packets (and ARP for IPv4) whose source or
 * destination address is ADDR.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "filters/classify.h"

static int parse(struct pfs_cls *c, const char *args, char *err, size_t errlen)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, args, a) == 1)
		pfs_cls_set_net(c, a, 4, 32);
	else if (inet_pton(AF_INET6, args, a) == 1)
		pfs_cls_set_net(c, a, 16, 128);
	else {
		snprintf(err, errlen, "not an IPv4 or IPv6 address");
		return -EINVAL;
	}
	return 0;
}

PFS_CLASSIFIER(pfs_filter_host, "host", "host=ADDR",
	       "packets from or to an IPv4 or IPv6 address",
	       pfs_cls_match_net, parse);
