/* SPDX-License-Identifier: BSD-3-Clause
 * Sources: the producers at the top of the graph, one type per file
 * (pcap.c, dpdk.c), chosen by the prefix of the user's spec in one
 * registry (registry.c).  The graph reaches a source only through the hooks
 * it is given (graph.h: start, stats); a source reaches the graph through
 * the producer API (producer.h).
 *
 * Life of a source, as the daemon drives it:
 *
 *	s = pfs_source_open(spec, ...)		before the fork: files opened,
 *						interfaces checked
 *	pfs_sources_start(all, ...)		after the fork: DPDK's EAL once if
 *						any type needs it, then each
 *						type's start (ports, workers)
 *	pfs_source_add_node(s)			its directory at the top
 *	pfs_source_launch(s)			its threads
 *	pfs_source_free(s)			stop, join, close
 */
#ifndef FILTERS_SOURCES_SOURCE_H
#define FILTERS_SOURCES_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pfs_node;
struct pfs_producer;
struct pfs_source;

/* One type of source. */
struct pfs_source_type {
	const char *prefix;		/* `pcap:` */
	const char *usage;		/* `pcap:FILE[,name=DIR][,loop][,start=now]` */
	const char *summary;		/* one line for help */
	bool needs_eal;			/* DPDK's EAL must run before start() */
	bool lossless;			/* its producer waits for readers */
	/* Parse what follows the prefix, open what can be opened before the
	 * fork; set s->name (the directory) and s->priv.  0 or -errno with a
	 * message in err. */
	int (*open)(struct pfs_source *s, const char *args, char *err, size_t errlen);
	/* EAL arguments this source needs (its device), appended to argv
	 * (room for `room` more); returns how many.  Optional. */
	int (*eal_args)(struct pfs_source *s, char **argv, int room);
	/* After the fork (and EAL): get ready to run.  Optional. */
	int (*start)(struct pfs_source *s, char *err, size_t errlen);
	/* The source's thread: produce until pfs_source_stopping().  */
	void *(*run)(void *source);
	/* Its own `key: value` lines for its node's stats.  Optional. */
	void (*stats)(struct pfs_source *s, FILE *out);
	/* Something its thread may be waiting for outside s->cond happened:
	 * a stream file below was opened (before the reader reads), or the
	 * thread is told to stop.  Any thread, without s->lock.  Optional. */
	void (*wake)(struct pfs_source *s);
	void (*close)(struct pfs_source *s);
};

struct pfs_source {
	const struct pfs_source_type *type;
	struct pfs_node *node;		/* its directory */
	struct pfs_producer *producer;	/* the source thread's */
	char *name;			/* directory name */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* started or stop changed */
	bool started;			/* the thread may produce */
	bool stop;			/* the thread must end */
	bool running;			/* the thread exists */
	uint64_t packets, bytes;	/* produced so far */
	void *priv;			/* the type's */
};

/* Every type, NULL-terminated (for help text). */
extern const struct pfs_source_type *const pfs_source_types[];

/* A source from a user's spec (`pcap:FILE`, `iface:eth0`).  NULL with a
 * message in err for an unknown type, bad options or a file or interface
 * that cannot be opened. */
struct pfs_source *pfs_source_open(const char *spec, char *err, size_t errlen);

/* After the fork: EAL (with the user's extra arguments, space-separated,
 * may be NULL) if any source needs it, then every source's start.  0, or
 * -errno with a one-line message in err. */
int pfs_sources_start(struct pfs_source **s, size_t n, const char *eal_extra,
		      char *err, size_t errlen);

/* Packet workers per live source (--workers): 0 for the default, one per
 * CPU the process may use but the first (at least one).  More than the
 * CPUs it may use is capped to them, with a line in the log: workers are
 * pinned one to a CPU.  Before any source is opened. */
void pfs_sources_set_workers(unsigned n);
unsigned pfs_sources_workers(void);

/* For types: pin the calling packet worker number i to a CPU of its own,
 * as DPDK pins its lcores: worker i on the (i+1)-th CPU the process may
 * use (wrapping), leaving the first to the filesystem's threads where
 * there are several. */
void pfs_source_pin_worker(unsigned i);

/* For live types: will the interface (by index, named if_name when the
 * capture began) bring nothing more?  True, with why in `why`, when it is
 * gone or down; false while it is there and up, or cannot be told. */
bool pfs_iface_gone(unsigned if_index, const char *if_name, char *why, size_t len);

/* Its directory at the top of the tree (graph lock held). */
int pfs_source_add_node(struct pfs_source *s);

/* Start the source's thread. */
int pfs_source_launch(struct pfs_source *s);

/* Stop and join the thread, then free everything. */
void pfs_source_free(struct pfs_source *s);

/* For types: the thread waits until a reader opens something below (or
 * start=now); false if told to stop instead. */
bool pfs_source_wait_start(struct pfs_source *s);
bool pfs_source_stopping(struct pfs_source *s);

/* For types, outside a producer run: if no stream file below the source is
 * open, wait (with a line in log) until one is, as at the start; false if
 * told to stop instead.  True at once while someone reads. */
bool pfs_source_pause_unread(struct pfs_source *s);

#endif
