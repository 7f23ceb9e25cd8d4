/* SPDX-License-Identifier: BSD-3-Clause
 * The types of source, by the prefix of the user's spec.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/producer.h"
#include "filters/sources/types.h"
#include "filters/sources/source.h"

const struct pfs_source_type *const pfs_source_types[] = {
	&pfs_pcap_type,
	&pfs_iface_type,
	&pfs_dpdk_type,
	NULL,
};

static const struct pfs_source_type *type_of(const char *spec)
{
	for (const struct pfs_source_type *const *k = pfs_source_types; *k; k++)
		if (strncmp(spec, (*k)->prefix, strlen((*k)->prefix)) == 0)
			return *k;
	return NULL;
}

static void unknown_type(char *err, size_t errlen)
{
	size_t used = (size_t)snprintf(err, errlen, "unknown type of source (known:");
	for (const struct pfs_source_type *const *k = pfs_source_types; *k && used < errlen; k++)
		used += (size_t)snprintf(err + used, errlen - used, " %s", (*k)->prefix);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
}

struct pfs_source *pfs_source_open(const char *spec, char *err, size_t errlen)
{
	const struct pfs_source_type *type = type_of(spec);
	if (!type) {
		unknown_type(err, errlen);
		return NULL;
	}
	struct pfs_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->type = type;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	int rc = type->open(s, spec + strlen(type->prefix), err, errlen);
	if (rc == 0 && !(s->producer = pfs_producer_new(s->name, type->lossless))) {
		snprintf(err, errlen, "out of memory, or too many producers");
		rc = -ENOMEM;
	}
	if (rc) {
		pfs_source_free(s);
		return NULL;
	}
	return s;
}
