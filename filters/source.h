/* SPDX-License-Identifier: BSD-3-Clause
 * Sources: the producers at the top of the graph.  A source owns a node
 * (its directory) and a producer context, and runs its own thread.
 */
#ifndef FILTERS_SOURCE_H
#define FILTERS_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pfs_node;
struct pfs_ctx;

struct pfs_source {
	const struct pfs_source_ops *ops;
	struct pfs_node *node;
	struct pfs_ctx *ctx;
	char *name;			/* directory name */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* started or stop changed */
	bool started;			/* the thread may produce */
	bool stop;			/* the thread must end */
	bool running;			/* the thread exists */
	uint64_t packets, bytes;	/* produced so far */
	void *priv;
};

struct pfs_source_ops {
	const char *kind;		/* `pcap`, `live` */
	/* The thread: produce until stop is set or the source ends. */
	void *(*run)(void *source);
	/* `key: value` lines for the source node's stats (optional). */
	size_t (*stats)(struct pfs_source *s, char *buf, size_t cap);
	void (*free)(struct pfs_source *s);
};

/* pcap:FILE[,name=DIR][,loop][,start=now]: parse and open the file.
 * Returns NULL with a message in err. */
struct pfs_source *pfs_source_pcap_new(const char *spec, char *err, size_t errlen);

/* iface:NAME[,name=DIR] or dpdk:DEVARGS[,name=DIR]: parse (and check the
 * interface exists).  The port starts with pfs_source_live_start(), after
 * pfs_dpdk_eal_init().  Returns NULL with a message in err. */
struct pfs_source *pfs_source_live_new(const char *spec, char *err, size_t errlen);
int pfs_source_live_start(struct pfs_source *s, char *err, size_t errlen);
void pfs_dpdk_set_workers(unsigned n);	/* per live source (--workers) */
/* Start DPDK's EAL for these live sources, with the user's extra EAL
 * arguments (space-separated, may be NULL).  Once, after the fork. */
int pfs_dpdk_eal_init(struct pfs_source **live, int nlive, const char *extra,
		      char *err, size_t errlen);

/* Common to every source. */
struct pfs_source *pfs_source_alloc(const struct pfs_source_ops *ops,
				    const char *name, bool lossless);
int pfs_source_launch(struct pfs_source *s);	/* start the thread */
void pfs_source_start(struct pfs_source *s);	/* let it produce */
/* The thread: wait until started; false if told to stop instead. */
bool pfs_source_wait_start(struct pfs_source *s);
bool pfs_source_stopping(struct pfs_source *s);
/* Stop and join the thread, then free everything. */
void pfs_source_free(struct pfs_source *s);

#endif
