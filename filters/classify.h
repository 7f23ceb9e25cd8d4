/* SPDX-License-Identifier: BSD-3-Clause
 * Classifiers: filters that pass on a frame unchanged (zero copy) when a
 * predicate on its dissected headers holds.  Each classifier is one small
 * file: a predicate, an optional argument parser, and PFS_CLASSIFIER().
 */
#ifndef FILTERS_CLASSIFY_H
#define FILTERS_CLASSIFY_H

#include <netinet/in.h>
#include <stdbool.h>

#include "filters/filter.h"
#include "filters/pkt.h"

struct pfs_cls;
typedef bool pfs_cls_match(const struct pfs_cls *c, const struct pfs_pkt *p);
/* Parses args (never NULL) into c->arg; 0 or -EINVAL with a message. */
typedef int pfs_cls_parse(struct pfs_cls *c, const char *args, char *err,
			  size_t errlen);

/* A classifier's configuration: its predicate and argument. */
struct pfs_cls {
	pfs_cls_match *match;
	union {
		struct { uint16_t lo, hi; } port;
		/* host and net: addr_len 4 or 16, addr already masked */
		struct { uint8_t addr[16], mask[16], addr_len; } net;
	} arg;
};

/* Per producer: the counters, named by pfs_cls_counters. */
struct pfs_cls_count {
	uint64_t matched, not_matched;
};
extern const char *const pfs_cls_counters[];

int pfs_cls_init(void **conf, const char *name, const char *usage,
		 pfs_cls_match *match, pfs_cls_parse *parse, const char *args,
		 char *err, size_t errlen);
void pfs_cls_fini(void *conf);
void pfs_cls_process(void *conf, void *pstate, const struct pfs_desc *d,
		     const uint8_t *data, struct pfs_out *out);

/* host and net: p's source or destination lies in c->arg.net. */
bool pfs_cls_match_net(const struct pfs_cls *c, const struct pfs_pkt *p);
/* Sets c->arg.net from an address of alen bytes and a prefix length. */
void pfs_cls_set_net(struct pfs_cls *c, const uint8_t *addr, uint8_t alen,
		     unsigned prefix);

/* Defines `const struct pfs_filter var`.  parse is NULL for filters that
 * take no arguments (they then reject any). */
#define PFS_CLASSIFIER(var, name_, usage_, summary_, match_, parse_)	\
	static int var##_init(void **conf, const char *args, char *err,	\
			      size_t errlen)					\
	{									\
		return pfs_cls_init(conf, name_, usage_, match_, parse_,	\
				    args, err, errlen);				\
	}									\
	const struct pfs_filter var = {						\
		.name = name_, .usage = usage_, .summary = summary_,		\
		.init = var##_init, .fini = pfs_cls_fini,			\
		.counters = pfs_cls_counters,					\
		.pstate_size = sizeof(struct pfs_cls_count),			\
		.process = pfs_cls_process,					\
	}

#endif
