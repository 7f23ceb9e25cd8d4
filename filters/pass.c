/* SPDX-License-Identifier: BSD-3-Clause
 * pass: every record, of any kind, unchanged.  A plain name that is no
 * filter (`mkdir src/httpclean`) makes a node running this.
 */
#include "filters/filter.h"

static void process(void *conf, void *pstate, const struct pfs_desc *d,
		    const uint8_t *data, struct pfs_out *out)
{
	(void)conf;
	(void)pstate;
	out->emit(out, d, data);
}

const struct pfs_filter pfs_filter_pass = {
	.name = "pass", .usage = "pass",
	.summary = "everything (what a plain name that is no filter makes)",
	.process = process,
};
