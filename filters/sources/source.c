/* SPDX-License-Identifier: BSD-3-Clause
 * What every source shares (see source.h): its life, its thread, and the
 * hooks through which the graph starts it and asks for its stats.
 */
#include "filters/sources/source.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "filters/eal.h"
#include "filters/filter.h"
#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "filters/limits.h"
#include "filters/log.h"

static void set_flag(struct pfs_source *s, bool *flag)
{
	pthread_mutex_lock(&s->lock);
	*flag = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* The graph's hook: a stream file below the source was opened (its reader
 * is listed there already).  Under the lock even when started: a pausing
 * source clears the flag under it, then looks for readers, so it either
 * sees this reader or has its flag set again here. */
static void hook_start(void *arg)
{
	struct pfs_source *s = arg;
	set_flag(s, &s->started);
	if (s->type->wake)
		s->type->wake(s);
}

static void hook_stats(void *arg, FILE *out)
{
	struct pfs_source *s = arg;
	if (s->type->stats)
		s->type->stats(s, out);
}

static const struct pfs_source_hooks hooks = { hook_start, hook_stats };

/* EAL with every source's device words, then the user's. */
static int start_eal(struct pfs_source **s, size_t n, const char *extra,
		     char *err, size_t errlen)
{
	char **words = calloc(n * PFS_EAL_WORDS_PER_SOURCE + 1, sizeof(*words));
	int nwords = 0, rc = words ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!s[i]->type->needs_eal || !s[i]->type->eal_args)
			continue;
		int k = s[i]->type->eal_args(s[i], words + nwords, PFS_EAL_WORDS_PER_SOURCE);
		if (k < 0 || k > PFS_EAL_WORDS_PER_SOURCE)
			rc = -E2BIG;
		else
			nwords += k;
	}
	if (rc == 0)
		rc = pfs_eal_init(nwords, words, extra);
	free(words);	/* EAL has its own copies */
	if (rc)
		snprintf(err, errlen, "DPDK EAL failed to start: %s", strerror(-rc));
	return rc;
}

int pfs_sources_start(struct pfs_source **s, size_t n, const char *eal_extra,
		      char *err, size_t errlen)
{
	bool eal = false;
	for (size_t i = 0; i < n; i++)
		eal |= s[i]->type->needs_eal;
	int rc = eal ? start_eal(s, n, eal_extra, err, errlen) : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char why[PFS_ERR_LEN] = "";
		if (s[i]->type->start && (rc = s[i]->type->start(s[i], why, sizeof(why))))
			snprintf(err, errlen, "%s: %s", s[i]->name, why);
	}
	return rc;
}

static unsigned workers = 1;
static cpu_set_t cpus;		/* what the process may use, before EAL pins it */

void pfs_sources_set_workers(unsigned n)
{
	unsigned ncpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
			 ? (unsigned)CPU_COUNT(&cpus) : 1;
	if (ncpus == 0)
		ncpus = 1;
	if (n == 0) {
		workers = ncpus > 1 ? ncpus - 1 : 1;
	} else if (n > ncpus) {
		pfs_log("--workers %u: capped to %u, the CPUs pipesfs may use", n, ncpus);
		workers = ncpus;
	} else {
		workers = n;
	}
}

unsigned pfs_sources_workers(void)
{
	return workers;
}

/* The n-th CPU (wrapping) the process may use. */
static int nth_cpu(unsigned n)
{
	int count = CPU_COUNT(&cpus), seen = 0;
	for (int c = 0; c < CPU_SETSIZE && count; c++)
		if (CPU_ISSET(c, &cpus) && seen++ == (int)(n % (unsigned)count))
			return c;
	return 0;
}

void pfs_source_pin_worker(unsigned i)
{
	if (CPU_COUNT(&cpus) < 2)
		return;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(nth_cpu(i + 1), &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

bool pfs_iface_gone(unsigned if_index, const char *if_name, char *why, size_t len)
{
	char name[IF_NAMESIZE];
	if (!if_indextoname(if_index, name)) {
		bool gone = errno == ENXIO;	/* no interface has the index */
		if (gone)
			snprintf(why, len, "interface %s is gone (%s)", if_name, strerror(ENXIO));
		return gone;
	}
	struct ifreq ifr = { 0 };
	memcpy(ifr.ifr_name, name, sizeof(name));
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool down = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP);
	if (fd >= 0)
		close(fd);
	if (down)
		snprintf(why, len, "interface %s went down (%s)", name, strerror(ENETDOWN));
	return down;
}

int pfs_source_add_node(struct pfs_source *s)
{
	return pfs_graph_add_source(s->name, &hooks, s, &s->node);
}

int pfs_source_launch(struct pfs_source *s)
{
	int rc = pthread_create(&s->thread, NULL, s->type->run, s);
	s->running = rc == 0;
	return -rc;
}

bool pfs_source_wait_start(struct pfs_source *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->started && !s->stop)
		pthread_cond_wait(&s->cond, &s->lock);
	bool go = !s->stop;
	pthread_mutex_unlock(&s->lock);
	return go;
}

bool pfs_source_stopping(struct pfs_source *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE);
}

bool pfs_source_pause_unread(struct pfs_source *s)
{
	if (pfs_node_readers_below(s->node))
		return true;
	pthread_mutex_lock(&s->lock);
	s->started = false;
	pthread_mutex_unlock(&s->lock);
	/* A reader that opened before the flag was cleared (its start hook
	 * came too early to count) is listed below by now. */
	if (pfs_node_readers_below(s->node)) {
		set_flag(s, &s->started);
		return true;
	}
	pfs_log("%s: paused: no stream file below it is open", s->name);
	if (!pfs_source_wait_start(s))
		return false;
	pfs_log("%s: resumed: a stream file below it was opened", s->name);
	return true;
}

void pfs_source_free(struct pfs_source *s)
{
	if (!s)
		return;
	if (s->running) {
		set_flag(s, &s->stop);
		if (s->type->wake)
			s->type->wake(s);
		if (s->producer)
			pfs_producer_cancel(s->producer);	/* a lossless wait ends now */
		pthread_join(s->thread, NULL);
	}
	if (s->priv && s->type->close)
		s->type->close(s);
	pfs_producer_free(s->producer);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->name);
	free(s);
}
