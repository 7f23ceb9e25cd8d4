/* SPDX-License-Identifier: BSD-3-Clause
 * net=ADDR/LEN: IPv4 or IPv6 packets (and ARP for IPv4) whose source or
 * destination lies in a network, e.g. 10.0.0.0/8 or fd77::/16.  A
 * directory name cannot hold '/', so ADDR_LEN (10.0.0.0_8) works too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "filters/classify.h"

static int parse(struct pfs_cls *c, const char *args, char *err, size_t errlen)
{
	char text[INET6_ADDRSTRLEN];
	const char *slash = strpbrk(args, "/_"), *q;
	uint8_t a[16], alen = 4;
	unsigned prefix = 0;

	if (!slash || slash == args || (size_t)(slash - args) >= sizeof text) {
		snprintf(err, errlen, "expected ADDR/LEN or ADDR_LEN, e.g. 10.0.0.0/8");
		return -EINVAL;
	}
	memcpy(text, args, (size_t)(slash - args));
	text[slash - args] = 0;
	if (inet_pton(AF_INET, text, a) != 1) {
		alen = 16;
		if (inet_pton(AF_INET6, text, a) != 1) {
			snprintf(err, errlen, "`%s` is not an IPv4 or IPv6 address", text);
			return -EINVAL;
		}
	}
	for (q = slash + 1; *q >= '0' && *q <= '9' && prefix <= 128; q++)
		prefix = prefix * 10 + (unsigned)(*q - '0');
	if (q == slash + 1 || *q || prefix > 8u * alen) {
		snprintf(err, errlen, "prefix length must be 0-%u", 8u * alen);
		return -EINVAL;
	}
	pfs_cls_set_net(c, a, alen, prefix);
	if (memcmp(c->arg.net.addr, a, alen)) {
		snprintf(err, errlen, "non-network bits set in %s", args);
		return -EINVAL;
	}
	return 0;
}

PFS_CLASSIFIER(pfs_filter_net, "net", "net=ADDR/LEN (ADDR_LEN in a directory name)",
	       "packets from or to a network, IPv4 or IPv6",
	       pfs_cls_match_net, parse);
