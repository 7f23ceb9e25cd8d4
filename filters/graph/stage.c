/* SPDX-License-Identifier: BSD-3-Clause
 * Stages: a filter, its configuration, and its per-producer states.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/internal.h"
#include "filters/log.h"

static unsigned count_counters(const struct pfs_filter *f)
{
	unsigned n = 0;
	while (f->counters && f->counters[n])
		n++;
	return n;
}

static void pstate_free(struct pfs_stage *st, struct pfs_pstate *ps)
{
	if (!ps->mem)
		return;
	if (ps->ready && st->filter->pstate_fini)
		st->filter->pstate_fini(st->conf, ps->mem);
	free(ps->mem);
}

void pfs_stage_free(struct pfs_stage *st)
{
	if (!st)
		return;
	for (int c = 0; c < PFS_CHUNKS; c++) {
		for (int i = 0; st->pstates[c] && i < PFS_CHUNK; i++)
			pstate_free(st, &st->pstates[c][i]);
		free(st->pstates[c]);
	}
	if (st->filter->fini)
		st->filter->fini(st->conf);
	free(st->spec);
	free(st);
}

void pfs_stage_free_rcu(struct rcu_head *head)
{
	pfs_stage_free(caa_container_of(head, struct pfs_stage, rcu));
}

static int stage_init(struct pfs_stage *st, const char *spec, const char *args)
{
	char err[PFS_ERR_LEN] = "";
	const struct pfs_filter *f = st->filter;
	int rc = 0;
	if (f->init)
		rc = f->init(&st->conf, args, err, sizeof(err));
	else if (args)
		snprintf(err, sizeof(err), "%s takes no arguments", f->name), rc = -EINVAL;
	if (rc == 0)
		return 0;
	/* The reason first: a long spec would push it off the line. */
	if (err[0])
		pfs_log("%s (in '%.64s%s')", err, spec, strlen(spec) > 64 ? "..." : "");
	else
		pfs_log("'%.64s%s': bad arguments (usage: %s)", spec,
			strlen(spec) > 64 ? "..." : "", f->usage);
	return rc;
}

/* Edit distance between a and b (under 64 bytes each), ignoring case and
 * counting a swap of two neighbours as one edit (`tpc` is one from `tcp`). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The filter `name` looks like a typo of (`tpc`, `TCP`, `prot`), or NULL. */
static const char *resembles(const char *name)
{
	const char *like = NULL;
	/* Two edits only for long names: `clean` is two from `vlan`, and no typo. */
	size_t len = strlen(name), best = len < 7 ? 1 : 2;
	for (size_t i = 0; pfs_filters[i] && len < 64; i++) {
		size_t d = distance(name, pfs_filters[i]->name);
		if (d <= best && d < strlen(pfs_filters[i]->name) && (!like || d < best)) {
			best = d;
			like = pfs_filters[i]->name;
		}
	}
	return like;
}

void pfs_log_plain(const char *name, const char *so)
{
	const char *like = resembles(name);
	pfs_log("%s: no filter of that name, %s%s%s%s", name, so,
		like ? " (did you mean " : "", like ? like : "", like ? "?)" : "");
}

/*
 * A spec is NAME or NAME=ARGS (or NAME ARGS, written into `filter`).  In a
 * directory name, a plain NAME that is no filter makes a pass-through node;
 * `dirname` says which rule applies.
 */
struct pfs_stage *pfs_stage_parse(const char *spec, bool dirname)
{
	size_t len = strcspn(spec, dirname ? "=" : "= \t");
	char name[64];
	const char *args = spec[len] ? spec + len + 1 : NULL;
	if (len == 0 || (len >= sizeof(name) && (!dirname || args))) {
		pfs_log("'%.64s': not a filter spec", spec);
		return NULL;
	}
	/* No filter has a name that long: a long plain name is a node's. */
	snprintf(name, sizeof(name), "%.*s", len < sizeof(name) ? (int)len : 0, spec);
	const struct pfs_filter *f = pfs_filter_find(name);
	bool plain = !f && dirname && !args;
	if (plain) {
		f = pfs_filter_find("pass");
		pfs_log_plain(spec, "a pass-through node");
	}
	if (!f) {
		const char *like = resembles(name);
		pfs_log("'%.64s': no filter named '%s'%s%s%s", spec, name,
			like ? " (did you mean " : "", like ? like : "", like ? "?)" : "");
		return NULL;
	}
	struct pfs_stage *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->filter = f;
	st->ncounters = count_counters(f);
	if (st->ncounters > PFS_MAX_COUNTERS ||
	    f->pstate_size < st->ncounters * sizeof(uint64_t)) {
		pfs_log("filter %s: its counters do not fit its state", f->name);
		free(st);
		return NULL;
	}
	st->spec = strdup(plain ? "pass" : spec);
	if (!st->spec || stage_init(st, spec, plain ? NULL : args) != 0) {
		free(st->spec);
		free(st);
		return NULL;
	}
	return st;
}

bool pfs_name_is_spec(const char *name)
{
	return name[strcspn(name, "=")] || pfs_filter_find(name);
}

char *pfs_spec_dirname(const char *spec)
{
	char *out = strdup(spec);
	size_t len = out ? strcspn(out, "= \t") : 0;
	if (out && (out[len] == ' ' || out[len] == '\t')) {
		size_t blanks = strspn(out + len, " \t");
		out[len] = '=';
		memmove(out + len + 1, out + len + blanks, strlen(out + len + blanks) + 1);
	}
	for (char *c = out; c && *c; c++)
		if (*c == '/')
			*c = '_';
	return out;
}

/* A chunk of per-producer states, made by the producer that first needs
 * it; a concurrent maker of the same chunk loses the race and frees. */
static struct pfs_pstate *pstate_chunk(struct pfs_stage *st, int c)
{
	struct pfs_pstate *chunk = __atomic_load_n(&st->pstates[c], __ATOMIC_ACQUIRE);
	if (chunk)
		return chunk;
	struct pfs_pstate *fresh = calloc(PFS_CHUNK, sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (__atomic_compare_exchange_n(&st->pstates[c], &chunk, fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return fresh;
	free(fresh);
	return chunk;
}

/*
 * A slot's state is made for the first producer in the slot.  A later
 * producer in the same slot takes it over: the counters go on counting
 * (they are totals over producers), the rest starts afresh.
 */
static void *pstate_take(struct pfs_stage *st, struct pfs_pstate *ps,
			 const struct pfs_producer *p)
{
	const struct pfs_filter *f = st->filter;
	size_t counters = st->ncounters * sizeof(uint64_t);
	void *mem = ps->mem;
	if (!mem && !(mem = calloc(1, f->pstate_size)))
		return NULL;
	if (ps->ready && f->pstate_fini)
		f->pstate_fini(st->conf, mem);
	memset((char *)mem + counters, 0, f->pstate_size - counters);
	ps->ready = !f->pstate_init || f->pstate_init(st->conf, mem) == 0;
	ps->uid = p->uid;
	if (!ps->mem)
		__atomic_store_n(&ps->mem, mem, __ATOMIC_RELEASE);
	return ps->ready ? mem : NULL;
}

void *pfs_stage_pstate(struct pfs_stage *st, const struct pfs_producer *p)
{
	if (!st->filter->pstate_size)
		return NULL;
	struct pfs_pstate *chunk = pstate_chunk(st, p->slot / PFS_CHUNK);
	if (!chunk)
		return NULL;
	struct pfs_pstate *ps = &chunk[p->slot % PFS_CHUNK];
	if (ps->mem && ps->uid == p->uid)
		return ps->ready ? ps->mem : NULL;
	return pstate_take(st, ps, p);
}

uint64_t pfs_stage_counter(const struct pfs_stage *st, unsigned i)
{
	uint64_t sum = 0;
	for (int c = 0; c < PFS_CHUNKS; c++) {
		struct pfs_pstate *chunk = __atomic_load_n(&st->pstates[c], __ATOMIC_ACQUIRE);
		for (int k = 0; chunk && k < PFS_CHUNK; k++) {
			uint64_t *mem = __atomic_load_n(&chunk[k].mem, __ATOMIC_ACQUIRE);
			if (mem)
				sum += __atomic_load_n(&mem[i], __ATOMIC_RELAXED);
		}
	}
	return sum;
}
