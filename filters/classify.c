/* SPDX-License-Identifier: BSD-3-Clause
 * The generic classifier behind every protocol and address filter: dissect
 * the frame, ask the filter's predicate, emit the record unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "filters/classify.h"

const char *const pfs_cls_counters[] = { "matched", "not_matched", NULL };

int pfs_cls_init(void **conf, const char *name, const char *usage,
		 pfs_cls_match *match, pfs_cls_parse *parse, const char *args,
		 char *err, size_t errlen)
{
	char why[PFS_ERR_LEN];
	struct pfs_cls *c;

	*conf = NULL;
	if (!parse && args) {
		snprintf(err, errlen, "%s takes no arguments", name);
		return -EINVAL;
	}
	if (parse && (!args || !*args)) {
		snprintf(err, errlen, "%s needs an argument (usage: %s)", name, usage);
		return -EINVAL;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	c->match = match;
	if (parse && parse(c, args, why, sizeof why)) {
		snprintf(err, errlen, "%s=%s: %s (usage: %s)", name, args, why, usage);
		free(c);
		return -EINVAL;
	}
	*conf = c;
	return 0;
}

void pfs_cls_fini(void *conf)
{
	free(conf);
}

void pfs_cls_process(void *conf, void *pstate, const struct pfs_desc *d,
		     const uint8_t *data, struct pfs_out *out)
{
	struct pfs_cls *c = conf;
	struct pfs_cls_count *n = pstate;
	struct pfs_pkt p;
	/* A narrowed frame (e.g. below `payload`) is classified by the whole
	 * frame, whose headers lie head_room bytes before its data. */
	bool hit = d->kind == PFS_KIND_FRAME &&
		   d->len <= UINT32_MAX - d->head_room &&
		   pfs_pkt_parse(&p, d->link_type, data - d->head_room,
				 d->head_room + d->len) == 0 &&
		   c->match(c, &p);

	pfs_count(hit ? &n->matched : &n->not_matched, 1);
	if (hit)
		out->emit(out, d, data);
}

void pfs_cls_set_net(struct pfs_cls *c, const uint8_t *addr, uint8_t alen,
		     unsigned prefix)
{
	c->arg.net.addr_len = alen;
	for (unsigned i = 0; i < alen; i++) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * i : 0;
		c->arg.net.mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		c->arg.net.addr[i] = addr[i] & c->arg.net.mask[i];
	}
}

static bool in_net(const struct pfs_cls *c, const uint8_t *a)
{
	for (unsigned i = 0; i < c->arg.net.addr_len; i++)
		if ((a[i] & c->arg.net.mask[i]) != c->arg.net.addr[i])
			return false;
	return true;
}

bool pfs_cls_match_net(const struct pfs_cls *c, const struct pfs_pkt *p)
{
	return p->addr_len == c->arg.net.addr_len &&
	       (in_net(c, p->src) || in_net(c, p->dst));
}
