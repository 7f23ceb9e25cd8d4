/* SPDX-License-Identifier: BSD-3-Clause
 * port=N, port=N-M: TCP or UDP packets whose source or destination port is
 * N (or within N..M).
 */
#include <errno.h>
#include <stdio.h>

#include "filters/classify.h"

static bool match(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	return (pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP)) &&
	       ((p->sport >= c->arg.port.lo && p->sport <= c->arg.port.hi) ||
		(p->dport >= c->arg.port.lo && p->dport <= c->arg.port.hi));
}

/* A decimal port number at *s; moves *s past it. */
static int number(const char **s, uint16_t *port, char *err, size_t errlen)
{
	const char *q = *s;
	uint32_t n = 0;

	if (*q < '0' || *q > '9') {
		snprintf(err, errlen, "expected a port number at `%s`", q);
		return -EINVAL;
	}
	for (; *q >= '0' && *q <= '9'; q++)
		if ((n = n * 10 + (uint32_t)(*q - '0')) > 65535) {
			snprintf(err, errlen, "port numbers are 0-65535");
			return -EINVAL;
		}
	*port = (uint16_t)n;
	*s = q;
	return 0;
}

static int parse(struct pfs_cls *c, const char *args, char *err, size_t errlen)
{
	const char *s = args;

	if (number(&s, &c->arg.port.lo, err, errlen))
		return -EINVAL;
	c->arg.port.hi = c->arg.port.lo;
	if (*s == '-' && (s++, number(&s, &c->arg.port.hi, err, errlen)))
		return -EINVAL;
	if (*s) {
		snprintf(err, errlen, "unexpected `%s`", s);
		return -EINVAL;
	}
	if (c->arg.port.lo > c->arg.port.hi) {
		snprintf(err, errlen, "range %u-%u is empty", c->arg.port.lo,
			 c->arg.port.hi);
		return -EINVAL;
	}
	return 0;
}

PFS_CLASSIFIER(pfs_filter_port, "port", "port=N|N-M",
	       "TCP/UDP packets with source or destination port N (or in N-M)",
	       match, parse);
