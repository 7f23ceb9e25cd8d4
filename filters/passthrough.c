/* SPDX-License-Identifier: BSD-3-Clause
 * pass: every record, of any kind, unchanged.  A plain name that is no
 * filter (`mkdir src/httpclean`) makes a node running this.
 */
#include <errno.h>
#include <stdio.h>

#include "filter.h"

static int init(void **state, const char *args, char *err, size_t errlen)
{
	*state = NULL;
	if (args) {
		snprintf(err, errlen, "pass takes no arguments");
		return -EINVAL;
	}
	return 0;
}

static void fini(void *state)
{
	(void)state;
}

static void process(void *state, const struct pfs_desc *d, const uint8_t *data,
		    struct pfs_out *out)
{
	(void)state;
	out->emit(out, d, data);
}

const struct pfs_filter pfs_filter_pass = {
	.name = "pass", .usage = "pass",
	.summary = "everything (what a plain name that is no filter makes)",
	.init = init, .fini = fini, .process = process,
};
