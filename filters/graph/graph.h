/* SPDX-License-Identifier: BSD-3-Clause
 * The filter graph: nodes (a filter stage each) in a directory tree, with
 * data edges from parents to children.  This is what the FUSE daemon and
 * the sources see of it; the scheduler's side is producer.h, reading a
 * node is reader.h.
 *
 * Every node has one directory parent (`home`, NULL at the top) and holds
 * entries: its child nodes, and symbolic links that make another node its
 * child as well (a second data parent).  Data flows from a node to every
 * node it holds an entry for.
 *
 * Control operations take the graph lock, copy what they change, publish it
 * with rcu_assign_pointer() and free the old state after a grace period, so
 * producers never see a half-made graph.  Unless said otherwise, every
 * function here is called with the graph lock held, and a failing one
 * returns -errno with a reason in the log.
 */
#ifndef FILTERS_GRAPH_GRAPH_H
#define FILTERS_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pfs_node;
struct pfs_entry;

/* Setup and teardown (no lock).  ring_bytes: the size of every data ring a
 * producer makes, a power of two.  ring_budget: bytes all the rings that
 * producers make may take together (index and data rings; a capture file
 * replayed in place is not counted); a ring past it is not made, and the
 * operation that needed it fails with ENOMEM and a line in the log. */
int pfs_graph_init(uint64_t ring_bytes, uint64_t ring_budget);
void pfs_graph_fini(void);		/* producers have stopped */
uint64_t pfs_graph_ring_bytes(void);	/* ring_bytes, as given */

void pfs_graph_lock(void);
void pfs_graph_unlock(void);

/* Threads that run records through the graph (sources, FUSE threads that
 * write) register once; they are then RCU-offline until a producer begins
 * (producer.h). */
void pfs_graph_thread_register(void);
void pfs_graph_thread_unregister(void);

/* The mount root: a node with no filter whose entries are the top-level
 * nodes. */
struct pfs_node *pfs_graph_root(void);

/* ---- nodes ---- */

/* References keep a node's memory (not its place in the tree); no lock. */
void pfs_node_get(struct pfs_node *n);
void pfs_node_put(struct pfs_node *n);

/* Ids are never reused; 0 is the root. */
uint64_t pfs_node_id(const struct pfs_node *n);
struct pfs_node *pfs_node_by_id(uint64_t id);
const char *pfs_node_name(const struct pfs_node *n);
struct pfs_node *pfs_node_home(const struct pfs_node *n);
/* The filter spec, as the user gave it (`port=80`). */
const char *pfs_node_spec(const struct pfs_node *n);

/* The text of the node's `stats` file: `key: value` lines, whole (never
 * cut).  Returns a malloc'd string the caller frees, *len its length; NULL
 * when out of memory. */
char *pfs_node_stats(struct pfs_node *n, size_t *len);

/* ---- entries: a node's children and links, by name ---- */
struct pfs_entry *pfs_node_entry(struct pfs_node *dir, const char *name);
struct pfs_entry *pfs_node_entries(struct pfs_node *dir);	/* the first */
struct pfs_entry *pfs_entry_next(const struct pfs_entry *e);
const char *pfs_entry_name(const struct pfs_entry *e);
struct pfs_node *pfs_entry_node(const struct pfs_entry *e);	/* child or target */
const char *pfs_entry_link(const struct pfs_entry *e);		/* NULL: a child */
uint64_t pfs_entry_link_id(const struct pfs_entry *e);		/* links only */
/* The link with this id, and the directory node that holds it. */
struct pfs_entry *pfs_link_by_id(uint64_t id, struct pfs_node **dir);

/* ---- stages ---- */

/* A filter stage from a spec: `NAME`, `NAME=ARGS`, or (not a directory
 * name) `NAME ARGS`.  As a directory name, a plain NAME that is no filter
 * is a pass-through stage.  Made WITHOUT the graph lock: some filters take
 * a while to set up (bpf= compiles), and nothing else need wait for that.
 * NULL, with the reason in the log, for a bad spec.  A stage is given to
 * mkdir or set_filter, or freed. */
struct pfs_stage;
struct pfs_stage *pfs_stage_parse(const char *spec, bool dirname);
void pfs_stage_free(struct pfs_stage *st);
/* Is a directory name a filter spec (`tcp`, `port=80`, `nosuch=1`) rather
 * than a plain name (`web`)?  A node so named runs that filter. */
bool pfs_name_is_spec(const char *name);

/* ---- control operations ---- */

/* mkdir: a child running stage st, parsed beforehand from `name`, or
 * (st NULL) parsed here under the lock.  Takes st, also on failure.
 * *out may be NULL. */
int pfs_node_mkdir(struct pfs_node *dir, const char *name, struct pfs_stage *st,
		   struct pfs_node **out);
int pfs_node_rmdir(struct pfs_node *dir, const char *name);
/* Make the child nodes n's stage asks for (struct pfs_filter's `child`)
 * that it has not made yet: mkdir does it for a new node, and the daemon
 * before it lists or looks up a node's entries, so children a stage
 * learns of from traffic appear when looked for, and start (backfill)
 * from what n still holds.  A child that cannot be made (a name taken,
 * no room) is skipped, with a line in the log. */
void pfs_node_grow(struct pfs_node *n);
/* mv: to another directory (the node then reads its new parent), or a
 * rename within one.  A node renamed to a filter spec runs that filter
 * from then on: st, parsed beforehand from `newname`, or (st NULL) parsed
 * here under the lock; a plain new name keeps the filter.  Takes st, also
 * on failure. */
int pfs_node_rename(struct pfs_node *from, const char *name,
		    struct pfs_node *to, const char *newname, struct pfs_stage *st);
/* ln -s: `target` becomes a child of dir as well; `text` is the link's. */
int pfs_node_link(struct pfs_node *dir, const char *name,
		  struct pfs_node *target, const char *text);
int pfs_node_unlink(struct pfs_node *dir, const char *name);
/* Replace a node's filter atomically with stage st (parsed from what was
 * written into `filter`); takes st, also on failure.  A node named after
 * its filter keeps the two the same: another spec is -EINVAL, with a line
 * in the log saying to rename the node instead. */
int pfs_node_set_filter(struct pfs_node *n, struct pfs_stage *st);

/* ---- sources ---- */

/* What the graph may ask of the source behind a top-level node. */
struct pfs_source_hooks {
	/* A stream file below the node was opened: start producing. */
	void (*start)(void *arg);
	/* Its own `key: value` lines for the node's stats. */
	void (*stats)(void *arg, FILE *out);
};

/* A top-level node fed by a source.  Fails with -EEXIST for a name in use
 * or not allowed. */
int pfs_graph_add_source(const char *name, const struct pfs_source_hooks *hooks,
			 void *arg, struct pfs_node **out);

/* Is any stream file open for reading at n or anywhere below it?  For a
 * source that pauses while nobody reads (it resumes at the next open,
 * through its start hook).  No lock; called by a registered thread outside
 * a producer's run. */
bool pfs_node_readers_below(struct pfs_node *n);

/* ---- writers ---- */
struct pfs_producer;

/* A stream file of node n is opened for writing: the node's writer
 * producer (made at the first open), shared by every writer of the node,
 * one write at a time.  close: the last close ends its rings. */
int pfs_node_writer_open(struct pfs_node *n, struct pfs_producer **out);
void pfs_node_writer_close(struct pfs_node *n);

#endif
