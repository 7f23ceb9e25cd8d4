/* SPDX-License-Identifier: BSD-3-Clause
 * Nodes and their entries: ids, lifetime, the graph lock, setup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/internal.h"
#include "filters/graph/producer.h"
#include "filters/log.h"

#define ID_BUCKETS 1024

struct pfs_graph g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ports_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Nodes by id, for the filesystem's inode numbers. */
struct id_link {
	struct pfs_node *node;
	struct id_link *next;
};
static struct id_link *id_table[ID_BUCKETS];

void pfs_graph_lock(void)
{
	pthread_mutex_lock(&g.lock);
}

void pfs_graph_unlock(void)
{
	pthread_mutex_unlock(&g.lock);
}

void pfs_graph_thread_register(void)
{
	rcu_register_thread();
	rcu_thread_offline();
}

void pfs_graph_thread_unregister(void)
{
	rcu_unregister_thread();
}

struct pfs_node *pfs_graph_root(void)
{
	return g.root;
}

uint64_t pfs_graph_new_id(void)
{
	return __atomic_fetch_add(&g.next_id, 1, __ATOMIC_RELAXED);
}

/* ---- ids ---------------------------------------------------------------- */

static int id_insert(struct pfs_node *n)
{
	struct id_link *l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->node = n;
	l->next = id_table[n->id % ID_BUCKETS];
	id_table[n->id % ID_BUCKETS] = l;
	return 0;
}

void pfs_node_forget(struct pfs_node *n)
{
	struct id_link **p = &id_table[n->id % ID_BUCKETS];
	for (; *p; p = &(*p)->next)
		if ((*p)->node == n) {
			struct id_link *dead = *p;
			*p = dead->next;
			free(dead);
			return;
		}
}

struct pfs_node *pfs_node_by_id(uint64_t id)
{
	for (struct id_link *l = id_table[id % ID_BUCKETS]; l; l = l->next)
		if (l->node->id == id)
			return l->node;
	return NULL;
}

/* ---- lifetime ----------------------------------------------------------- */

struct pfs_node *pfs_node_new(const char *name, struct pfs_stage *st)
{
	struct pfs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->id = pfs_graph_new_id();
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->stage = st;
	n->refs = 1;
	pthread_mutex_init(&n->readers_lock, NULL);
	bw_waitq_init(&n->changed);
	if (id_insert(n) != 0) {
		pthread_mutex_destroy(&n->readers_lock);
		bw_waitq_fini(&n->changed);
		free(n);
		return NULL;
	}
	return n;
}

static void node_free_rcu(struct rcu_head *head)
{
	struct pfs_node *n = caa_container_of(head, struct pfs_node, rcu);
	for (uint32_t i = 0; i < n->nports; i++)
		pfs_port_free(pfs_node_port(n, i));
	for (int c = 0; c < PFS_CHUNKS; c++)
		free(n->ports[c]);
	pfs_stage_free(n->stage);
	free(n->out);
	free(n->parents);
	pfs_producer_free(n->writer);
	pthread_mutex_destroy(&n->readers_lock);
	bw_waitq_fini(&n->changed);
	free(n);
}

void pfs_node_get(struct pfs_node *n)
{
	__atomic_fetch_add(&n->refs, 1, __ATOMIC_RELAXED);
}

void pfs_node_put(struct pfs_node *n)
{
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) == 0)
		call_rcu(&n->rcu, node_free_rcu);
}

struct pfs_port *pfs_node_port(const struct pfs_node *n, uint32_t i)
{
	return n->ports[i / PFS_CHUNK][i % PFS_CHUNK];
}

/* ---- walks -------------------------------------------------------------- */

/* Post-order from n, each node once (n->walk marks this walk's visits). */
static bool post_order(struct pfs_node *n, uint64_t walk, struct pfs_node ***list,
		       size_t *len, size_t *cap)
{
	if (n->walk == walk)
		return true;
	n->walk = walk;
	struct pfs_edges *out = n->out;
	for (size_t i = 0; out && i < out->n; i++)
		if (!post_order(out->e[i].node, walk, list, len, cap))
			return false;
	if (*len == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pfs_node **l = realloc(*list, c * sizeof(*l));
		if (!l)
			return false;
		*list = l;
		*cap = c;
	}
	(*list)[(*len)++] = n;
	return true;
}

ssize_t pfs_nodes_below(struct pfs_node *n, struct pfs_node ***list)
{
	size_t len = 0, cap = 0;
	*list = NULL;
	if (!post_order(n, ++g.walks, list, &len, &cap)) {
		free(*list);
		*list = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < len / 2; i++) {	/* parents first */
		struct pfs_node *t = (*list)[i];
		(*list)[i] = (*list)[len - 1 - i];
		(*list)[len - 1 - i] = t;
	}
	return (ssize_t)len;
}

/* ---- accessors ---------------------------------------------------------- */

uint64_t pfs_node_id(const struct pfs_node *n)
{
	return n->id;
}

const char *pfs_node_name(const struct pfs_node *n)
{
	return n->name;
}

struct pfs_node *pfs_node_home(const struct pfs_node *n)
{
	return n->home;
}

const char *pfs_node_spec(const struct pfs_node *n)
{
	return n->stage->spec;
}

/* ---- entries ------------------------------------------------------------ */

static bool has_control(const char *name)
{
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return true;
	return false;
}

bool pfs_name_ok(const char *name)
{
	const char *why = !name[0] || !strcmp(name, ".") || !strcmp(name, "..") ? "not a name"
			  : strlen(name) > NAME_MAX ? "longer than NAME_MAX"
			  : strchr(name, '/') ? "holds a '/'"
			  : has_control(name) ? "holds a control character" : NULL;
	if (why)
		pfs_log("'%.64s': %s", name, why);
	return !why;
}

struct pfs_entry *pfs_node_entry(struct pfs_node *dir, const char *name)
{
	for (struct pfs_entry *e = dir->entries; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

struct pfs_entry *pfs_node_entries(struct pfs_node *dir)
{
	return dir->entries;
}

struct pfs_entry *pfs_entry_next(const struct pfs_entry *e)
{
	return e->next;
}

const char *pfs_entry_name(const struct pfs_entry *e)
{
	return e->name;
}

struct pfs_node *pfs_entry_node(const struct pfs_entry *e)
{
	return e->node;
}

const char *pfs_entry_link(const struct pfs_entry *e)
{
	return e->link;
}

uint64_t pfs_entry_link_id(const struct pfs_entry *e)
{
	return e->link_id;
}

static struct pfs_entry *link_below(struct pfs_node *dir, uint64_t id,
				    struct pfs_node **in)
{
	for (struct pfs_entry *e = dir->entries; e; e = e->next) {
		if (e->link && e->link_id == id) {
			*in = dir;
			return e;
		}
		if (!e->link) {
			struct pfs_entry *found = link_below(e->node, id, in);
			if (found)
				return found;
		}
	}
	return NULL;
}

/* Rare (getattr and readlink of a link): a walk of the tree will do. */
struct pfs_entry *pfs_link_by_id(uint64_t id, struct pfs_node **dir)
{
	return link_below(g.root, id, dir);
}

struct pfs_entry *pfs_entry_add(struct pfs_node *dir, const char *name,
				struct pfs_node *node, const char *link)
{
	size_t len = strlen(name) + 1;
	struct pfs_entry *e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->node = node;
	if (link) {
		e->link = strdup(link);
		if (!e->link) {
			free(e);
			return NULL;
		}
		e->link_id = pfs_graph_new_id();
	}
	e->next = dir->entries;
	dir->entries = e;
	return e;
}

void pfs_entry_del(struct pfs_node *dir, struct pfs_entry *dead)
{
	for (struct pfs_entry **p = &dir->entries; *p; p = &(*p)->next)
		if (*p == dead) {
			*p = dead->next;
			free(dead->link);
			free(dead);
			return;
		}
}

/* ---- setup -------------------------------------------------------------- */

uint64_t pfs_graph_ring_bytes(void)
{
	return g.ring_bytes;
}

int pfs_graph_init(uint64_t ring_bytes, uint64_t ring_budget)
{
	g.ring_bytes = ring_bytes;
	g.ring_budget = ring_budget;
	struct pfs_stage *st = pfs_stage_parse("pass", false);
	if (!st)
		return -ENOMEM;
	g.root = pfs_node_new("", st);
	if (!g.root) {
		pfs_stage_free(st);
		return -ENOMEM;
	}
	return 0;
}

/* The deepest first node below dir with no child nodes; *home its
 * directory.  Links on the way are removed. */
static struct pfs_node *leaf(struct pfs_node *dir, struct pfs_node **home)
{
	struct pfs_node *n = dir->entries->node;
	*home = dir;
	while (n->entries) {
		struct pfs_entry *c = n->entries;
		if (c->link) {
			pfs_node_unlink(n, c->name);
			continue;
		}
		*home = n;
		n = c->node;
	}
	return n;
}

void pfs_graph_fini(void)
{
	pfs_graph_lock();
	while (g.root && g.root->entries) {
		struct pfs_node *dir;
		struct pfs_node *n = leaf(g.root, &dir);
		n->hooks = NULL;	/* a source stays only as long as the mount */
		pfs_node_rmdir(dir, n->name);
	}
	if (g.root)
		pfs_node_put(g.root);
	g.root = NULL;
	pfs_graph_unlock();
	rcu_barrier();
}
