/* SPDX-License-Identifier: BSD-3-Clause
 * The kinds of source, by the prefix of the user's spec.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/producer.h"
#include "filters/sources/kinds.h"
#include "filters/sources/source.h"

const struct pfs_source_kind *const pfs_source_kinds[] = {
	&pfs_pcap_kind,
	&pfs_iface_kind,
	&pfs_dpdk_kind,
	NULL,
};

static const struct pfs_source_kind *kind_of(const char *spec)
{
	for (const struct pfs_source_kind *const *k = pfs_source_kinds; *k; k++)
		if (strncmp(spec, (*k)->prefix, strlen((*k)->prefix)) == 0)
			return *k;
	return NULL;
}

static void unknown_kind(char *err, size_t errlen)
{
	size_t used = (size_t)snprintf(err, errlen, "unknown kind of source (known:");
	for (const struct pfs_source_kind *const *k = pfs_source_kinds; *k && used < errlen; k++)
		used += (size_t)snprintf(err + used, errlen - used, " %s", (*k)->prefix);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
}

struct pfs_source *pfs_source_open(const char *spec, char *err, size_t errlen)
{
	const struct pfs_source_kind *kind = kind_of(spec);
	if (!kind) {
		unknown_kind(err, errlen);
		return NULL;
	}
	struct pfs_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->kind = kind;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	int rc = kind->open(s, spec + strlen(kind->prefix), err, errlen);
	if (rc == 0 && !(s->producer = pfs_producer_new(s->name, kind->lossless))) {
		snprintf(err, errlen, "out of memory, or too many producers");
		rc = -ENOMEM;
	}
	if (rc) {
		pfs_source_free(s);
		return NULL;
	}
	return s;
}
