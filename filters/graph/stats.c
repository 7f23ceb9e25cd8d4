/* SPDX-License-Identifier: BSD-3-Clause
 * A node's `stats` file: its rings' counters summed over producers, its
 * readers' drops, its source's and its filter's counters.
 */
#include <stdio.h>
#include <stdlib.h>

#include "filters/graph/internal.h"

struct totals {
	uint64_t records, bytes, copied, drops, duplicates;
};

static struct totals port_totals(const struct pfs_node *n)
{
	struct totals t = { 0 };
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++) {
		struct pfs_port *p = pfs_node_port(n, i);
		t.records += bw_ibuf_head(p->ib);
		t.bytes += __atomic_load_n(&p->bytes, __ATOMIC_RELAXED);
		t.copied += __atomic_load_n(&p->copied_bytes, __ATOMIC_RELAXED);
		t.drops += __atomic_load_n(&p->drops, __ATOMIC_RELAXED);
		t.duplicates += __atomic_load_n(&p->duplicates, __ATOMIC_RELAXED);
	}
	return t;
}

static void filter_counters(const struct pfs_stage *st, FILE *out)
{
	for (unsigned i = 0; i < st->ncounters; i++)
		fprintf(out, "%s: %llu\n", st->filter->counters[i],
			(unsigned long long)pfs_stage_counter(st, i));
	if (st->filter->stats)
		st->filter->stats(st->conf, out);
}

char *pfs_node_stats(struct pfs_node *n, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	if (!out)
		return NULL;
	struct totals t = port_totals(n);
	unsigned nreaders;
	uint64_t drops = t.drops + pfs_readers_drops(n, NULL, &nreaders);
	fprintf(out, "filter: %s\nrecords: %llu\nbytes: %llu\ndrops: %llu\n"
		"readers: %u\ncopied_bytes: %llu\nduplicates: %llu\n", n->stage->spec,
		(unsigned long long)t.records, (unsigned long long)t.bytes,
		(unsigned long long)drops, nreaders, (unsigned long long)t.copied,
		(unsigned long long)t.duplicates);
	if (nreaders) {
		fputs("reader_drops:", out);
		pfs_readers_drops(n, out, &nreaders);
		fputc('\n', out);
	}
	if (n->hooks && n->hooks->stats)
		n->hooks->stats(n->hooks_arg, out);
	filter_counters(n->stage, out);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
