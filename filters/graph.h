/* SPDX-License-Identifier: BSD-3-Clause
 * The filter graph and its scheduler.
 *
 * Nodes are stages: a filter plus, for every producer that reaches the
 * node, one port (an IBuf, and a DBuf if the filter makes bytes).  A
 * producer (struct pfs_ctx) is one thread at a time: a file source's
 * thread, a live worker, or the writers of one node (serialised).  The
 * producer runs each record through the graph to completion, depth first,
 * publishing descriptors into the ports of every node the record reaches.
 *
 * Control operations (mkdir, mv, ln, rmdir, filter writes) take the graph
 * lock, copy what they change, publish it with rcu_assign_pointer() and
 * free the old state after a grace period (QSBR: producers announce
 * quiescent states between batches).  Filters and producers never see a
 * half-made graph.
 */
#ifndef FILTERS_GRAPH_H
#define FILTERS_GRAPH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu-qsbr.h>	/* QSBR flavour, with the rcu_* names */

#include "dbuf.h"
#include "filter.h"
#include "ibuf.h"

#define PFS_MAX_CTX 64		/* producers at once */
#define PFS_MAX_PORTS 64	/* producers that ever reached one node */
#define PFS_FLUSH_BATCH 32	/* records between wakeups of readers */

struct pfs_source;

/* A filter with its parsed arguments. */
struct pfs_stage {
	const struct pfs_filter *filter;
	void *state;
	char *spec;			/* as the user gave it: `port=80` */
	struct rcu_head rcu;
};

/* What one producer publishes at one node.  Ports live as long as their
 * node, so what a producer published stays readable after it has gone. */
struct pfs_port {
	uint64_t ctx_uid;		/* the producer's */
	struct bw_ibuf *ib;
	struct bw_dbuf *db;		/* the filter's own bytes, made on demand */
	uint64_t bytes;			/* bytes of the records published */
	uint64_t copied_bytes;		/* bytes written into db */
	uint64_t lost;			/* records that could not be published */
	bool touched;			/* producer's: in its flush list */
};

/* One edge's lasting state, shared by every copy of the edge list. */
struct pfs_edge_state {
	uint64_t backfilled;		/* bit per producer slot: done */
	struct rcu_head rcu;
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
	struct pfs_port *ports[PFS_MAX_PORTS];	/* append-only */
	uint32_t nports;			/* (acquire) */
	struct pfs_source *source;	/* set on source nodes */
	struct pfs_ctx *writer;		/* producer of what is written here */
	unsigned open_writers;
	bool written;			/* somebody has opened it for writing */
	bool removed;
	unsigned refs;			/* the graph's, plus every open file's */
	struct pfs_reader *readers;	/* open ones */
	pthread_mutex_t readers_lock;	/* readers, and their pending holds */
	uint64_t closed_reader_drops;	/* drops of readers that have gone */
	struct rcu_head rcu;
};

/* An open reader of a node: its drops show in the node's stats, and a
 * lossless ring made at the node after it opened is held for it from its
 * first record, until it follows that ring (pfs_reader_take_hold). */
#define PFS_READER_PENDING 8
struct pfs_reader {
	struct pfs_reader *next;
	uint64_t (*drops)(struct pfs_reader *r);
	struct {
		struct bw_ibuf *ib;
		struct bw_hold hold;
	} pending[PFS_READER_PENDING];	/* node's readers_lock */
	unsigned npending;
};

/* A producer. */
struct pfs_ctx {
	pthread_mutex_t run_lock;	/* held by whoever produces */
	int id;				/* slot among live producers */
	uint64_t uid;			/* never reused */
	bool lossless;			/* waits for readers (files, writes) */
	uint32_t ended;			/* no more records (for now) */
	struct bw_dbuf **dbufs;		/* every DBuf it writes */
	size_t ndbufs;
	struct bw_ibuf **ibufs;		/* every IBuf it writes */
	size_t nibufs;
	struct pfs_port *touched[PFS_FLUSH_BATCH * 2];
	size_t ntouched;
	uint64_t since_flush;
};

/* Setup.  ring_bytes: the size of every producer's data rings. */
int pfs_graph_init(uint64_t ring_bytes);
void pfs_graph_fini(void);

/* The size of every producer's data rings. */
uint64_t pfs_graph_ring_bytes(void);

/* The eventfd written whenever a parked reader may have something to do. */
void pfs_graph_set_eventfd(int efd);
void pfs_graph_kick(void);

/* The graph lock: held around every control operation and lookup. */
void pfs_graph_lock(void);
void pfs_graph_unlock(void);

/* The mount root's entries (top-level nodes). */
struct pfs_node *pfs_graph_root(void);

/* Node references (graph lock not needed). */
void pfs_node_get(struct pfs_node *n);
void pfs_node_put(struct pfs_node *n);

/* ---- control operations: graph lock held; return 0 or -errno, with a
 * reason logged ---- */
struct pfs_entry *pfs_node_entry(struct pfs_node *dir, const char *name);
int pfs_node_mkdir(struct pfs_node *dir, const char *name, struct pfs_node **out);
int pfs_node_rmdir(struct pfs_node *dir, const char *name);
int pfs_node_rename(struct pfs_node *from, const char *name,
		    struct pfs_node *to, const char *newname);
int pfs_node_link(struct pfs_node *dir, const char *name,
		  struct pfs_node *target, const char *text);
int pfs_node_unlink(struct pfs_node *dir, const char *name);
int pfs_node_set_filter(struct pfs_node *n, const char *spec);
int pfs_graph_add_source(struct pfs_source *s);
struct pfs_node *pfs_node_by_id(uint64_t id);
uint64_t pfs_graph_new_id(void);

/* A node's current spec, for reading `filter` (graph lock held). */
const char *pfs_node_spec(const struct pfs_node *n);

/* Has every producer upstream ended?  (graph lock held) */
bool pfs_node_upstream_ended(const struct pfs_node *n);

/* Start every file source upstream (first open of a stream file). */
void pfs_node_start_sources(const struct pfs_node *n);

/* Readers come and go (graph lock held). */
void pfs_node_reader_add(struct pfs_node *n, struct pfs_reader *r);
void pfs_node_reader_del(struct pfs_node *n, struct pfs_reader *r);

/* The hold joined for reader r on ib, if any: true and *hold set (now the
 * reader's to own). */
bool pfs_reader_take_hold(struct pfs_node *n, struct pfs_reader *r,
			  const struct bw_ibuf *ib, struct bw_hold *hold);

/* `key: value` lines for the node's `stats` file (graph lock held).
 * Returns bytes written. */
size_t pfs_node_stats(struct pfs_node *n, char *buf, size_t cap);

/* ---- producers ---- */
struct pfs_ctx *pfs_ctx_new(bool lossless);
void pfs_ctx_free(struct pfs_ctx *c);

/* Make producer c's rings at node n (with a data ring if it `copies`
 * records there) and below now, rather than at its first record: a data
 * ring is populated when made, which takes a while when it is large. */
int pfs_ctx_prepare(struct pfs_ctx *c, struct pfs_node *n, bool copies);

/* Room for `len` bytes of a new record at node n (its own DBuf). */
uint8_t *pfs_ctx_alloc(struct pfs_ctx *c, struct pfs_node *n, uint32_t len,
		       struct pfs_desc *d);

/* Publish a record at node n, then run it through everything below. */
void pfs_ctx_inject(struct pfs_ctx *c, struct pfs_node *n,
		    const struct pfs_desc *d, const uint8_t *data);

/* Wake the readers of everything published since the last flush. */
void pfs_ctx_flush(struct pfs_ctx *c);

/* The producer has ended (true) or is live again (false). */
void pfs_ctx_set_ended(struct pfs_ctx *c, bool ended);

/* Teardown: the producer must not wait for any reader any more. */
void pfs_ctx_cancel(struct pfs_ctx *c);

/* A writer opens or closes node n (graph lock held). */
int pfs_node_writer_open(struct pfs_node *n);
void pfs_node_writer_close(struct pfs_node *n);

#endif
