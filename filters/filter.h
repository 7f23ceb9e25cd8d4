/* SPDX-License-Identifier: BSD-3-Clause
 * The filter interface: one file per filter, each defining one
 * `const struct pfs_filter` and listing it in the registry (registry.c).
 *
 * A filter sees one record at a time and hands on zero or more records
 * through a struct pfs_out.  A classifier hands on the record it was given,
 * or a narrowed copy of its descriptor: the bytes stay where they are (no
 * copy).  A filter that makes new bytes asks the out for room in its
 * stage's own data ring, writes them there and hands on a descriptor for
 * them.  Filters know nothing of FUSE; the graph scheduler provides the out.
 */
#ifndef FILTERS_FILTER_H
#define FILTERS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool makes_bytes;	/* writes new records (out->alloc): its stage
				 * gets its data ring ahead of the traffic */
	/* Parse args (NULL when the spec has none) into a new private state.
	 * Returns 0, or -EINVAL with a message in err. */
	int (*init)(void **state, const char *args, char *err, size_t errlen);
	void (*fini)(void *state);
	/* One record in; zero or more out.  Must never crash on any bytes. */
	void (*process)(void *state, const struct pfs_desc *d,
			const uint8_t *data, struct pfs_out *out);
	/* Optional: the filter's own counters as `key: value\n` lines.
	 * Returns the bytes written (snprintf rules). */
	int (*stats)(void *state, char *buf, size_t len);
};

/* For filters that take no arguments and keep a zeroed state of `size`
 * bytes (their counters): an init and a fini to call. */
int pfs_filter_state_noargs(void **state, size_t size, const char *name,
			    const char *args, char *err, size_t errlen);
void pfs_filter_state_free(void *state);

/* The registry: NULL if no filter has this name. */
const struct pfs_filter *pfs_filter_find(const char *name);

/* Every filter, NULL-terminated, for help text. */
extern const struct pfs_filter *const pfs_filters[];

#endif
