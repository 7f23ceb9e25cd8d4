/* SPDX-License-Identifier: BSD-3-Clause
 * The graph's own structures: for filters/graph/ only.
 *
 * Locks, outermost first: the graph lock (the tree, edges, parents,
 * entries; every control operation), a producer's run lock (held while it
 * runs records), g.ports_lock (producers' slots, every node's ports, which
 * ring a lossless data ring watches, and rings' ended flags), a node's
 * readers_lock (its readers and the holds made for them).
 */
#ifndef FILTERS_GRAPH_INTERNAL_H
#define FILTERS_GRAPH_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu-qsbr.h>	/* QSBR flavour, with the rcu_* names */

#include "bufs/dbuf.h"
#include "bufs/ibuf.h"
#include "bufs/waitq.h"
#include "filters/filter.h"
#include "filters/graph/graph.h"
#include "filters/limits.h"

/* One producer's per-producer state at a stage. */
struct pfs_pstate {
	uint64_t uid;			/* the producer it was made for */
	void *mem;
	bool ready;			/* pstate_init succeeded: fini is due */
};

/* A filter with its configuration. */
struct pfs_stage {
	const struct pfs_filter *filter;
	void *conf;
	char *spec;			/* as the user gave it: `port=80` */
	unsigned ncounters;
	size_t children;		/* of those the filter asks for, made */
	struct pfs_pstate *pstates[PFS_CHUNKS];	/* by producer slot; chunks
						 * made by producers */
	struct rcu_head rcu;
};

/* What one producer publishes at one node.  Ports live as long as their
 * node, so what a producer published stays readable after it has gone. */
struct pfs_port {
	uint64_t uid;			/* the producer's */
	struct pfs_node *node;		/* where it is */
	struct bw_ibuf *ib;
	struct bw_dbuf *db;		/* the filter's own bytes, made on demand */
	uint64_t bytes;			/* bytes of the records published */
	uint64_t copied_bytes;		/* bytes written into db */
	uint64_t drops;			/* records that could not be published */
	uint64_t duplicates;		/* a record's second arrival, not published */
	bool fed;			/* its producer reaches the node (ports_lock) */
	bool touched;			/* producer's: in its flush list */
};

/* One edge's lasting state, shared by every copy of the edge list: which
 * producers have backfilled the child from the parent.  Producers made
 * after the edge (uid > made_uid) have nothing to backfill. */
struct pfs_edge_state {
	uint64_t made_uid;
	bool backfill;			/* a new node: start from what the parent holds */
	size_t nwords;
	struct rcu_head rcu;
	uint64_t done[];		/* bit per producer slot */
};

struct pfs_edge {
	struct pfs_node *node;
	struct pfs_edge_state *st;
};

/* The nodes a node feeds, replaced whole on every change. */
struct pfs_edges {
	size_t n;
	struct rcu_head rcu;
	struct pfs_edge e[];
};

/* A directory entry of a node: a child node or a symbolic link. */
struct pfs_entry {
	struct pfs_entry *next;
	struct pfs_node *node;		/* the child, or the link's target */
	char *link;			/* the link's text; NULL for a child */
	uint64_t link_id;
	char name[];
};

struct pfs_node {
	uint64_t id;
	char name[NAME_MAX + 1];
	struct pfs_node *home;		/* directory parent; NULL at the top */
	struct pfs_entry *entries;	/* children and links, by name */
	struct pfs_node **parents;	/* data comes from these */
	size_t nparents;
	struct pfs_edges *out;		/* RCU: data goes to these */
	struct pfs_stage *stage;	/* RCU */
	struct pfs_port **ports[PFS_CHUNKS];	/* append-only, in chunks */
	uint32_t nports;		/* (acquire) */
	struct bw_waitq changed;	/* a port was added, or the node removed */
	const struct pfs_source_hooks *hooks;	/* source nodes */
	void *hooks_arg;
	struct pfs_producer *writer;	/* what is written here */
	unsigned open_writers;
	bool removed;
	uint64_t walk;			/* the last walk that visited it */
	unsigned refs;			/* the graph's, plus every open file's */
	struct pfs_reader *readers;	/* open ones */
	pthread_mutex_t readers_lock;	/* readers, and their pending holds */
	uint64_t closed_reader_drops;	/* drops of readers that have gone */
	struct rcu_head rcu;
};

struct pfs_producer {
	pthread_mutex_t run_lock;	/* held by whoever produces */
	char *name;
	int slot;			/* among live producers */
	uint64_t uid;			/* never reused */
	uint64_t origin;		/* whose records these are: uid, or another's */
	char *origin_name;		/* that one's name, or NULL: name */
	bool lossless;			/* waits for readers (files, writes) */
	uint32_t max_record;		/* bytes, at its top node (atomic) */
	bool ended;			/* ports_lock */
	struct pfs_node *top;		/* where its records enter (ports_lock) */
	struct bw_dbuf **dbufs;		/* every DBuf it writes (ports_lock) */
	size_t ndbufs;
	struct bw_dbuf **shared;	/* DBufs it publishes into, not its own:
					 * a file replayed in place (ports_lock) */
	size_t nshared;
	struct pfs_port **ports;	/* every port it has (ports_lock) */
	size_t nports;
	struct pfs_port *touched[PFS_FLUSH_BATCH * 2];
	size_t ntouched;
	uint64_t since_flush;
	bool flushed;			/* since the last yield */
};

/* Shared by the graph's files. */
struct pfs_graph {
	pthread_mutex_t lock;
	pthread_mutex_t ports_lock;
	struct pfs_node *root;
	uint64_t next_id;
	uint64_t ring_bytes;
	struct pfs_producer *producers[PFS_MAX_PRODUCERS];
	int nslots;			/* slots ever used: producers[0..nslots) */
	uint64_t ring_budget;		/* bytes rings may take in all */
	uint64_t ring_memory;		/* bytes they take now (atomic) */
	uint64_t walks;			/* graph walks so far (graph lock) */
};
extern struct pfs_graph g;

uint64_t pfs_graph_new_id(void);

/* node.c */
struct pfs_node *pfs_node_new(const char *name, struct pfs_stage *st);
void pfs_node_forget(struct pfs_node *n);	/* out of the id table */
struct pfs_entry *pfs_entry_add(struct pfs_node *dir, const char *name,
				struct pfs_node *node, const char *link);
void pfs_entry_del(struct pfs_node *dir, struct pfs_entry *e);
struct pfs_port *pfs_node_port(const struct pfs_node *n, uint32_t i);
/* Can a node or link be called this?  Logs why not. */
bool pfs_name_ok(const char *name);
/* n and every node below it, each once, each after its parents that are
 * below n (graph lock held).  Returns how many, with *list malloc'd, or
 * -ENOMEM.  Diamonds of links make the paths below a node exponential in
 * number; this walks each node once. */
ssize_t pfs_nodes_below(struct pfs_node *n, struct pfs_node ***list);

/* stage.c */
void pfs_stage_free_rcu(struct rcu_head *head);
/* A spec as a directory name would hold it (`port 22` -> `port=22`,
 * `net 10.0.0.0/8` -> `net=10.0.0.0_8`): malloc'd, NULL when out of
 * memory. */
char *pfs_spec_dirname(const char *spec);
/* A plain name given to a node: log that it is no filter, what follows
 * (`so`), and which filter it looks like (`tpc`: tcp), if any. */
void pfs_log_plain(const char *name, const char *so);
void *pfs_stage_pstate(struct pfs_stage *st, const struct pfs_producer *p);
uint64_t pfs_stage_counter(const struct pfs_stage *st, unsigned i);

/* ports.c (ports_lock taken inside unless said) */
struct pfs_port *pfs_port_find(const struct pfs_node *n, uint64_t uid);
void pfs_port_free(struct pfs_port *port);	/* with its node, its rings' memory */
/* p's port at n, made if need be; its data ring, made on first use.  NULL
 * when it cannot be had, with errno set (and the reason in the log):
 * EMFILE or ENFILE (descriptors), ENOMEM, ENOSPC (PFS_MAX_PRODUCERS ports
 * at n), ENOENT (n is being removed: nothing logged). */
struct pfs_port *pfs_port_of(struct pfs_producer *p, struct pfs_node *n);
struct bw_dbuf *pfs_port_dbuf(struct pfs_producer *p, struct pfs_port *port);
/* p's ports (their IBufs: a data ring is made by its producer) at every
 * node below n (graph lock held).  0, or the first failure as -errno (as
 * pfs_port_of; nodes being removed need none). */
int pfs_ports_below(struct pfs_producer *p, struct pfs_node *n);
void pfs_ports_refeed(struct pfs_node *n);	/* graph lock */
void pfs_ports_detach(struct pfs_node *n);	/* graph lock: n is removed */
struct pfs_producer *pfs_producer_by_uid(uint64_t uid);	/* ports_lock */

/* readers.c */
void pfs_readers_hold_ring(struct pfs_node *n, struct bw_ibuf *ib, bool join);
/* Every reader's drops (those gone too), summed; *nreaders: the open ones.
 * With out not NULL, each open reader's drops are printed there. */
uint64_t pfs_readers_drops(struct pfs_node *n, FILE *out, unsigned *nreaders);

/* producer.c */
/* attach's rings (no data rings), graph lock held. */
int pfs_producer_attach_locked(struct pfs_producer *p, struct pfs_node *n);
void pfs_producer_backfill(struct pfs_producer *p, struct pfs_port *from,
			   struct pfs_node *child, uint64_t end);
bool pfs_producer_claim_backfill(struct pfs_producer *p, struct pfs_edge_state *st);
void pfs_producer_flush(struct pfs_producer *p);

#endif
