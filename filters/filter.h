/* SPDX-License-Identifier: BSD-3-Clause
 * The filter interface: one file per filter, each defining one
 * `const struct pfs_filter` and listing it in the registry (registry.c).
 *
 * A filter sees one record at a time and hands on zero or more records
 * through a struct pfs_out.  A classifier hands on the record it was given,
 * or a narrowed copy of its descriptor: the bytes stay where they are (no
 * copy).  A filter that makes new bytes asks the out for room in its
 * stage's own data ring, writes them there and hands on a descriptor for
 * them.  Filters know nothing of FUSE; the graph's scheduler provides the
 * out.
 *
 * A stage has two kinds of state.  Its configuration (`conf`, from the
 * spec's arguments) is shared by every producer that reaches the stage
 * and read-only on the packet path.  Its per-producer state (`pstate`,
 * pstate_size bytes) is private to one producer: the scheduler makes it,
 * zeroed, when a producer first reaches the stage, and frees it after a
 * grace period with the stage, so a filter that keeps per-flow state needs
 * no lock when several workers feed one stage.  The first words of the
 * per-producer state are the filter's counters, one uint64_t per name in
 * `counters`; `stats` shows each summed over the producers.
 */
#ifndef FILTERS_FILTER_H
#define FILTERS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipesfs_record.h"

struct pfs_out {
	/* Hand on a record: d describes `data` (d->len bytes). */
	void (*emit)(struct pfs_out *o, const struct pfs_desc *d,
		     const uint8_t *data);
	/* Room for `len` new bytes in this stage's data ring: fills d->pos,
	 * d->dbuf and d->len, returns where to write, NULL if there is no
	 * room (the record is then lost and counted). */
	uint8_t *(*alloc)(struct pfs_out *o, uint32_t len, struct pfs_desc *d);
};

/* Room for error text from init(): shown to the user in the mount's log. */
#define PFS_ERR_LEN 256

struct pfs_filter {
	const char *name;	/* what users type: `port`, `tcp`, `bpf` */
	const char *usage;	/* `port=N|N-M`: shown in help and errors */
	const char *summary;	/* one line for help */
	bool makes_bytes;	/* writes new records (out->alloc) as a rule:
				 * its stage gets its data ring ahead of the
				 * traffic.  A filter that copies only now and
				 * then gets it at its first out->alloc */
	/* Parse args (NULL when the spec has none) into a new configuration
	 * (*conf may stay NULL).  Returns 0, or -EINVAL with a message in
	 * err.  Optional: without it, the filter takes no arguments. */
	int (*init)(void **conf, const char *args, char *err, size_t errlen);
	void (*fini)(void *conf);
	/* Counter names, NULL-terminated (NULL: none); at most
	 * PFS_MAX_COUNTERS. */
	const char *const *counters;
	/* Per-producer state: its size (at least the counters' words), and
	 * optional set-up and tear-down of what it holds beyond zeroes. */
	size_t pstate_size;
	int (*pstate_init)(void *conf, void *pstate);
	void (*pstate_fini)(void *conf, void *pstate);
	/* One record in; zero or more out.  Must never crash on any bytes. */
	void (*process)(void *conf, void *pstate, const struct pfs_desc *d,
			const uint8_t *data, struct pfs_out *out);
	/* Optional: more `key: value` lines about the configuration. */
	void (*stats)(void *conf, FILE *out);
	/* Optional: child nodes the stage asks for.  The i-th one's name
	 * and spec into name[] and spec[] (len bytes each, NUL-terminated);
	 * false when there is no i-th one (yet: the list only grows, as a
	 * stage learns of children from its traffic, under a lock of its
	 * own).  Called under the graph lock by control operations, never on
	 * the packet path: the graph makes each child once (see
	 * pfs_node_grow in graph.h); one the user removes stays removed. */
	bool (*child)(void *conf, size_t i, char *name, char *spec, size_t len);
};

/* A counter of a per-producer state: one writer (its producer), read by
 * `stats` from other threads, so a plain store, never a locked add. */
static inline void pfs_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* The registry: NULL if no filter has this name. */
const struct pfs_filter *pfs_filter_find(const char *name);

/* Every filter, NULL-terminated, for help text. */
extern const struct pfs_filter *const pfs_filters[];

#endif
