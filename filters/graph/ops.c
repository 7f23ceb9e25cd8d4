/* SPDX-License-Identifier: BSD-3-Clause
 * Control operations: mkdir, rmdir, mv, ln -s, rm, filter writes, sources
 * and writers.  Each runs with the graph lock held, copies the edge list
 * it changes and publishes the copy (RCU), then makes sure the rings of
 * every producer that now reaches a node exist and say whether they are
 * live.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/graph/internal.h"
#include "filters/graph/producer.h"
#include "filters/log.h"

/* ---- edges: data flows parent -> child ---------------------------------- */

static void edges_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct pfs_edges, rcu));
}

static void edge_state_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct pfs_edge_state, rcu));
}

/* Replace parent's out-edges with a copy that adds `add` or drops `del`. */
static int edges_update(struct pfs_node *parent, const struct pfs_edge *add,
			struct pfs_node *del)
{
	struct pfs_edges *old = parent->out;
	size_t n = old ? old->n : 0;
	struct pfs_edges *e = malloc(sizeof(*e) + (n + 1) * sizeof(e->e[0]));
	/* A removal cannot fail halfway (the node it leads to may be going
	 * away): it waits for the few bytes it needs instead. */
	for (bool said = false; !e && del; said = true) {
		if (!said)
			pfs_log("%s: out of memory removing an edge: waiting", parent->name);
		usleep(1000);
		e = malloc(sizeof(*e) + n * sizeof(e->e[0]));
	}
	if (!e)
		return -ENOMEM;
	e->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (old->e[i].node != del)
			e->e[e->n++] = old->e[i];
		else
			call_rcu(&old->e[i].st->rcu, edge_state_free_rcu);
	}
	if (add)
		e->e[e->n++] = *add;
	rcu_assign_pointer(parent->out, e);
	if (old)
		call_rcu(&old->rcu, edges_free_rcu);
	return 0;
}

/* Which producers there are now, for the edge's backfill (see
 * pfs_producer_claim_backfill). */
static struct pfs_edge_state *edge_state_new(bool backfill)
{
	pthread_mutex_lock(&g.ports_lock);
	size_t nwords = ((size_t)g.nslots + 63) / 64;
	struct pfs_edge_state *st = calloc(1, sizeof(*st) + nwords * sizeof(uint64_t));
	if (st) {
		st->made_uid = pfs_graph_new_id();
		st->backfill = backfill;
		st->nwords = nwords;
	}
	pthread_mutex_unlock(&g.ports_lock);
	return st;
}

/* Every producer that reaches parent gets its rings at child and below
 * now, so that readers there wait for it rather than see end of stream,
 * and no record comes that has no ring to go to.  0, or -errno (with the
 * reason in the log) for the first that cannot have them. */
static int ports_for_parent(struct pfs_node *parent, struct pfs_node *child)
{
	uint32_t nports = __atomic_load_n(&parent->nports, __ATOMIC_ACQUIRE);
	int rc = 0;
	for (uint32_t i = 0; i < nports && rc == 0; i++) {
		pthread_mutex_lock(&g.ports_lock);
		struct pfs_producer *p = pfs_producer_by_uid(pfs_node_port(parent, i)->uid);
		pthread_mutex_unlock(&g.ports_lock);
		if (p)
			rc = pfs_port_of(p, child) ? pfs_ports_below(p, child) : -errno;
	}
	return rc;
}

/* Producers that are idle now (their run is free) backfill a new child at
 * once; a busy one does it itself before its next record at the parent,
 * or at the end of its run. */
static void backfill_idle_producers(struct pfs_node *parent, const struct pfs_edge *edge)
{
	uint32_t nports = __atomic_load_n(&parent->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++) {
		struct pfs_port *from = pfs_node_port(parent, i);
		pthread_mutex_lock(&g.ports_lock);
		struct pfs_producer *p = pfs_producer_by_uid(from->uid);
		pthread_mutex_unlock(&g.ports_lock);
		if (!p || pthread_mutex_trylock(&p->run_lock) != 0)
			continue;
		if (pfs_producer_claim_backfill(p, edge->st)) {
			pfs_producer_backfill(p, from, edge->node, from->ib->head);
			pfs_producer_flush(p);
		}
		pthread_mutex_unlock(&p->run_lock);
	}
}

static void edge_del(struct pfs_node *parent, struct pfs_node *child);

/* A new node starts from what its parent still holds (backfill); a node
 * moved or linked under another parent follows it from now on.  Fails,
 * leaving no edge, when a producer that reaches parent cannot have its
 * rings at child and below. */
static int edge_add(struct pfs_node *parent, struct pfs_node *child, bool backfill)
{
	struct pfs_node **p = realloc(child->parents, (child->nparents + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	child->parents = p;
	struct pfs_edge edge = { child, NULL };
	if (parent != g.root) {
		if (!(edge.st = edge_state_new(backfill)))
			return -ENOMEM;
		int rc = edges_update(parent, &edge, NULL);
		if (rc) {
			free(edge.st);
			return rc;
		}
	}
	pthread_mutex_lock(&g.ports_lock);	/* parents: see ports.c */
	child->parents[child->nparents++] = parent;
	pthread_mutex_unlock(&g.ports_lock);
	if (parent == g.root)
		return 0;
	int rc = ports_for_parent(parent, child);
	if (rc) {
		/* Rings made for the others stay, unfed (ended), with child. */
		edge_del(parent, child);
		return rc;
	}
	pfs_ports_refeed(child);
	if (backfill)
		backfill_idle_producers(parent, &edge);
	return 0;
}

static void edge_del(struct pfs_node *parent, struct pfs_node *child)
{
	pthread_mutex_lock(&g.ports_lock);
	for (size_t i = 0; i < child->nparents; i++)
		if (child->parents[i] == parent) {
			child->parents[i] = child->parents[--child->nparents];
			break;
		}
	pthread_mutex_unlock(&g.ports_lock);
	if (parent == g.root)
		return;
	edges_update(parent, NULL, child);
	pfs_ports_refeed(child);
}

/* Is `n` reachable downstream from `from` (or the same node)?  When the
 * walk cannot be made (no memory), say yes: the caller then refuses. */
static bool feeds(struct pfs_node *from, const struct pfs_node *n)
{
	struct pfs_node **below;
	ssize_t len = pfs_nodes_below(from, &below);
	bool found = len < 0;
	for (ssize_t i = 0; i < len && !found; i++)
		found = below[i] == n;
	free(below);
	return found;
}

static bool is_parent(const struct pfs_node *parent, const struct pfs_node *child)
{
	for (size_t i = 0; i < child->nparents; i++)
		if (child->parents[i] == parent)
			return true;
	return false;
}

/* ---- operations --------------------------------------------------------- */

int pfs_node_mkdir(struct pfs_node *dir, const char *name, struct pfs_stage *st,
		   struct pfs_node **out)
{
	int rc = !pfs_name_ok(name) ? -EINVAL : pfs_node_entry(dir, name) ? -EEXIST : 0;
	if (rc) {
		pfs_stage_free(st);
		return rc;
	}
	if (!st && !(st = pfs_stage_parse(name, true)))
		return -EINVAL;
	struct pfs_node *n = pfs_node_new(name, st);
	if (!n) {
		pfs_stage_free(st);
		return -ENOMEM;
	}
	n->home = dir == g.root ? NULL : dir;
	struct pfs_entry *e = pfs_entry_add(dir, name, n, NULL);
	rc = e ? edge_add(dir, n, true) : -ENOMEM;
	if (rc) {
		/* Nothing stays: the entry, and the rings made before one failed. */
		if (e)
			pfs_entry_del(dir, e);
		pfs_node_forget(n);
		pfs_ports_detach(n);
		pfs_node_put(n);
		pfs_log("mkdir %s: %s", name, strerror(-rc));
		return rc;
	}
	pfs_node_grow(n);
	if (out)
		*out = n;
	return 0;
}

void pfs_node_grow(struct pfs_node *n)
{
	struct pfs_stage *st = n->stage;	/* the graph lock keeps it */
	char name[PFS_CHILD_NAME], spec[PFS_CHILD_NAME];

	if (!st || !st->filter->child)
		return;
	while (st->filter->child(st->conf, st->children, name, spec, sizeof name)) {
		st->children++;
		if (pfs_node_entry(n, name))
			continue;	/* made by the user first */
		struct pfs_stage *cst = pfs_stage_parse(spec, false);
		if (cst && pfs_node_mkdir(n, name, cst, NULL) == 0)
			continue;
		pfs_log("%s: its child %s (%s) was not made", n->name, name, spec);
	}
}

/* A node with child nodes cannot go: log names them all (as ls would). */
static int child_nodes(struct pfs_node *n, const char *name)
{
	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	size_t count = 0;
	for (struct pfs_entry *c = n->entries; c; c = c->next) {
		if (c->link)
			continue;
		if (f)
			fprintf(f, "%s%s", count ? " " : "", c->name);
		count++;
	}
	if (f)
		fclose(f);
	if (count)
		pfs_log("rmdir %s: it has child nodes (%s)", name, list ? list : "?");
	free(list);
	return count ? -ENOTEMPTY : 0;
}

int pfs_node_rmdir(struct pfs_node *dir, const char *name)
{
	struct pfs_entry *e = pfs_node_entry(dir, name);
	if (!e || e->link)
		return e ? -ENOTDIR : -ENOENT;
	struct pfs_node *n = e->node;
	int rc = child_nodes(n, name);
	if (rc)
		return rc;
	if (n->hooks) {
		pfs_log("rmdir %s: a source stays as long as the mount", name);
		return -EBUSY;
	}
	/* Links inside n are edges into other nodes: they go with it. */
	while (n->entries) {
		edge_del(n, n->entries->node);
		pfs_entry_del(n, n->entries);
	}
	/* Links elsewhere that point at n must go too: n's other parents. */
	while (n->nparents) {
		struct pfs_node *p = n->parents[0];
		for (struct pfs_entry *l = p->entries; l; l = l->next)
			if (l->node == n) {
				pfs_entry_del(p, l);
				break;
			}
		edge_del(p, n);
	}
	pfs_node_forget(n);
	pfs_ports_detach(n);
	pfs_node_put(n);
	return 0;
}

/* mv of a link to another directory: a new link there, then the old one
 * goes. */
static int move_link(struct pfs_entry *e, struct pfs_node *from, const char *name,
		     struct pfs_node *to, const char *newname)
{
	if (to != g.root && feeds(e->node, to))
		return -ELOOP;
	int rc = pfs_node_link(to, newname, e->node, e->link);
	return rc ? rc : pfs_node_unlink(from, name);
}

static int move_node(struct pfs_node *n, struct pfs_node *from, struct pfs_node *to)
{
	if (to != g.root && feeds(n, to)) {
		pfs_log("mv %s: cannot move a node under itself or below it", n->name);
		return -EINVAL;
	}
	if (is_parent(to, n)) {
		pfs_log("mv %s: %s feeds it already (through a link)", n->name,
			to == g.root ? "/" : to->name);
		return -EEXIST;
	}
	int rc = edge_add(to, n, false);
	if (rc)
		return rc;
	edge_del(from, n);
	n->home = to == g.root ? NULL : to;
	return 0;
}

/* mv of an entry: a node or a link, to another directory or a new name. */
static int move_entry(struct pfs_node *from, const char *name,
		      struct pfs_node *to, const char *newname)
{
	struct pfs_entry *e = pfs_node_entry(from, name);
	if (!e)
		return -ENOENT;
	if (!pfs_name_ok(newname))
		return -EINVAL;
	struct pfs_entry *clash = pfs_node_entry(to, newname);
	if (clash == e)
		return 0;
	if (clash) {
		pfs_log("mv %s: %s exists already", name, newname);
		return -EEXIST;
	}
	if (e->link && to != from)
		return move_link(e, from, name, to, newname);
	struct pfs_node *n = e->node;
	if (!e->link && to != from) {
		int rc = move_node(n, from, to);
		if (rc)
			return rc;
	}
	if (!pfs_entry_add(to, newname, n, e->link))
		return -ENOMEM;
	if (!e->link)
		snprintf(n->name, sizeof(n->name), "%s", newname);
	pfs_entry_del(from, e);
	return 0;
}

int pfs_node_link(struct pfs_node *dir, const char *name,
		  struct pfs_node *target, const char *text)
{
	if (!pfs_name_ok(name))
		return -EINVAL;
	if (pfs_node_entry(dir, name))
		return -EEXIST;
	if (dir == g.root || target == g.root) {
		pfs_log("ln -s %s %s: links at the top, or to it, would give no data",
			text, name);
		return -EINVAL;
	}
	if (feeds(target, dir)) {
		pfs_log("ln -s %s %s: that would make a cycle", text, name);
		return -ELOOP;
	}
	if (is_parent(dir, target)) {
		pfs_log("ln -s %s %s: already a child here", text, name);
		return -EEXIST;
	}
	struct pfs_entry *e = pfs_entry_add(dir, name, target, text);
	if (!e)
		return -ENOMEM;
	int rc = edge_add(dir, target, false);
	if (rc)
		pfs_entry_del(dir, e);
	return rc;
}

int pfs_node_unlink(struct pfs_node *dir, const char *name)
{
	struct pfs_entry *e = pfs_node_entry(dir, name);
	if (!e)
		return -ENOENT;
	if (!e->link)
		return -EISDIR;
	edge_del(dir, e->node);
	pfs_entry_del(dir, e);
	return 0;
}

static void stage_replace(struct pfs_node *n, struct pfs_stage *st)
{
	struct pfs_stage *old = n->stage;
	rcu_assign_pointer(n->stage, st);
	call_rcu(&old->rcu, pfs_stage_free_rcu);
	pfs_log("%s: filter is now '%s'", n->name, st->spec);
}

int pfs_node_rename(struct pfs_node *from, const char *name,
		    struct pfs_node *to, const char *newname, struct pfs_stage *st)
{
	struct pfs_entry *e = pfs_node_entry(from, name);
	struct pfs_node *n = e && !e->link ? e->node : NULL;
	/* A link's name is only a label: the node it leads to keeps its own. */
	if (!n || !strcmp(name, newname) || !pfs_name_is_spec(newname)) {
		pfs_stage_free(st);
		st = NULL;
	} else if (!st && !(st = pfs_stage_parse(newname, true))) {
		return -EINVAL;
	}
	int rc = move_entry(from, name, to, newname);
	if (rc)
		pfs_stage_free(st);
	else if (st)
		stage_replace(n, st);
	else if (n && strcmp(name, newname))
		pfs_log_plain(newname, "the node keeps its filter");
	return rc;
}

/* A node named after its filter keeps the two the same: its filter then
 * changes with its name (mv), not by a write that would leave the name
 * saying another filter. */
static int name_matches(const struct pfs_node *n, const char *spec)
{
	if (!pfs_name_is_spec(n->name))
		return 0;
	char *name = pfs_spec_dirname(spec);
	if (!name)
		return -ENOMEM;
	int rc = strcmp(name, n->name) ? -EINVAL : 0;
	if (rc && !strchr(spec, '/'))
		pfs_log("%s/filter: the node is named after its filter: rename it"
			" to change both (mv '%s' '%s'), or give it a plain name"
			" first (mv '%s' NAME)", n->name, n->name, name, n->name);
	else if (rc)
		pfs_log("%s/filter: the node is named after its filter: give it a"
			" plain name first (mv '%s' NAME), then write the filter",
			n->name, n->name);
	free(name);
	return rc;
}

int pfs_node_set_filter(struct pfs_node *n, struct pfs_stage *st)
{
	int rc = name_matches(n, st->spec);
	if (rc)
		pfs_stage_free(st);
	else
		stage_replace(n, st);
	return rc;
}

/* ---- sources and writers ------------------------------------------------ */

int pfs_graph_add_source(const char *name, const struct pfs_source_hooks *hooks,
			 void *arg, struct pfs_node **out)
{
	if (!pfs_name_ok(name) || pfs_node_entry(g.root, name)) {
		pfs_log("source %s: bad or duplicate name", name);
		return -EEXIST;
	}
	struct pfs_stage *st = pfs_stage_parse("pass", false);
	struct pfs_node *n = st ? pfs_node_new(name, st) : NULL;
	if (!n) {
		pfs_stage_free(st);
		return -ENOMEM;
	}
	n->hooks = hooks;
	n->hooks_arg = arg;
	struct pfs_entry *e = pfs_entry_add(g.root, name, n, NULL);
	if (!e || edge_add(g.root, n, false) != 0) {
		if (e)
			pfs_entry_del(g.root, e);
		pfs_node_forget(n);
		pfs_node_put(n);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

int pfs_node_writer_open(struct pfs_node *n, struct pfs_producer **out)
{
	if (!n->writer && !(n->writer = pfs_producer_new(n->name, true)))
		return -errno;
	/* The writer's rings at n and below, made at every open: after one
	 * failed (no descriptors then), a later open makes what is missing.
	 * The writer stays with the node either way (freed with it). */
	int rc = pfs_producer_attach_locked(n->writer, n);
	if (rc) {
		pfs_log("%s: cannot open for writing: %s", n->name, strerror(-rc));
		return rc;
	}
	if (n->open_writers++ == 0)
		pfs_producer_set_ended(n->writer, false);
	*out = n->writer;
	return 0;
}

void pfs_node_writer_close(struct pfs_node *n)
{
	if (--n->open_writers == 0)
		pfs_producer_set_ended(n->writer, true);	/* readers may be at EOF now */
}
