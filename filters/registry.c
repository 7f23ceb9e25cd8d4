/* SPDX-License-Identifier: BSD-3-Clause
 * The filter registry: every filter by name.
 */
#include <string.h>

#include "filters/filter.h"

extern const struct pfs_filter
	pfs_filter_ip, pfs_filter_ip6, pfs_filter_arp, pfs_filter_vlan,
	pfs_filter_tcp, pfs_filter_udp, pfs_filter_icmp, pfs_filter_icmp6,
	pfs_filter_port, pfs_filter_host, pfs_filter_net, pfs_filter_bpf,
	pfs_filter_payload, pfs_filter_text, pfs_filter_http, pfs_filter_method,
	pfs_filter_pass;

const struct pfs_filter *const pfs_filters[] = {
	/* network and transport protocols (ip.c ... icmp6.c, on classify.c) */
	&pfs_filter_ip, &pfs_filter_ip6, &pfs_filter_arp, &pfs_filter_vlan,
	&pfs_filter_tcp, &pfs_filter_udp, &pfs_filter_icmp, &pfs_filter_icmp6,
	/* addresses and ports (port.c, host.c, net.c, on classify.c) */
	&pfs_filter_port, &pfs_filter_host, &pfs_filter_net,
	/* tcpdump expressions (bpf.c) */
	&pfs_filter_bpf,
	/* payload and rendering (payload.c, text.c) */
	&pfs_filter_payload, &pfs_filter_text,
	/* HTTP requests (http.c) */
	&pfs_filter_http, &pfs_filter_method,
	/* everything */
	&pfs_filter_pass,
	NULL,
};

const struct pfs_filter *pfs_filter_find(const char *name)
{
	for (size_t i = 0; name && pfs_filters[i]; i++)
		if (!strcmp(pfs_filters[i]->name, name))
			return pfs_filters[i];
	return NULL;
}
