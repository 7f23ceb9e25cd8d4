/* SPDX-License-Identifier: BSD-3-Clause
 * Ports: a producer's rings at a node, made ahead of its records where the
 * graph knows it will reach, and on first use otherwise.  A port's ring is
 * ended while its producer has finished or no longer reaches the node (the
 * port is not `fed`); control operations recompute that after each change
 * of edges, so readers learn end of stream from the rings alone.
 */
#include <errno.h>
#include <stdlib.h>

#include "filters/graph/internal.h"
#include "filters/log.h"

struct pfs_producer *pfs_producer_by_uid(uint64_t uid)
{
	for (int i = 0; i < g.nslots; i++)
		if (g.producers[i] && g.producers[i]->uid == uid)
			return g.producers[i];
	return NULL;
}

struct pfs_port *pfs_port_find(const struct pfs_node *n, uint64_t uid)
{
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++) {
		struct pfs_port *p = pfs_node_port(n, i);
		if (p->uid == uid)
			return p;
	}
	return NULL;
}

/* Does producer p reach node n?  (ports_lock) */
static bool reaches(const struct pfs_producer *p, const struct pfs_node *n)
{
	if (p->top == n)
		return true;
	for (size_t i = 0; i < n->nparents; i++) {
		struct pfs_port *up = pfs_port_find(n->parents[i], p->uid);
		if (up && up->fed)
			return true;
	}
	return false;
}

/* A port's ring is live while its producer is and reaches it (ports_lock). */
static void port_set_fed(struct pfs_port *port, const struct pfs_producer *p, bool fed)
{
	bool ended = !p || p->ended || !fed;
	port->fed = fed;
	if (bw_ibuf_ended(port->ib) != ended)
		bw_ibuf_set_ended(port->ib, ended);
}

static bool array_add(void *arrayp, size_t *n, void *item)
{
	void ***array = arrayp;
	void **a = realloc(*array, (*n + 1) * sizeof(*a));
	if (!a)
		return false;
	a[(*n)++] = item;
	*array = a;
	return true;
}

static void array_del(void **array, size_t *n, void *item)
{
	for (size_t i = 0; i < *n; i++)
		if (array[i] == item) {
			array[i] = array[--*n];
			return;
		}
}

/*
 * A lossless producer must not overwrite bytes that a reader of any of its
 * IBufs still needs: each of its DBufs watches each of its IBufs.
 * (ports_lock)
 */
static bool producer_add_port(struct pfs_producer *p, struct pfs_port *port)
{
	for (size_t i = 0; p->lossless && i < p->ndbufs; i++)
		if (bw_dbuf_watch(p->dbufs[i], port->ib) != 0) {
			while (i--)
				bw_dbuf_unwatch(p->dbufs[i], port->ib);
			return false;
		}
	if (array_add(&p->ports, &p->nports, port))
		return true;
	for (size_t i = 0; p->lossless && i < p->ndbufs; i++)
		bw_dbuf_unwatch(p->dbufs[i], port->ib);
	return false;
}

static bool producer_add_dbuf(struct pfs_producer *p, struct bw_dbuf *db)
{
	for (size_t i = 0; p->lossless && i < p->nports; i++)
		if (bw_dbuf_watch(db, p->ports[i]->ib) != 0)
			return false;
	return array_add(&p->dbufs, &p->ndbufs, db);
}

static void producer_forget_port(struct pfs_producer *p, struct pfs_port *port)
{
	for (size_t i = 0; i < p->ndbufs; i++)
		bw_dbuf_unwatch(p->dbufs[i], port->ib);
	array_del((void **)p->ports, &p->nports, port);
	if (port->db)
		array_del((void **)p->dbufs, &p->ndbufs, port->db);
}

/* Descriptors per IBuf: one per KiB of data ring. */
static uint64_t ibuf_count(void)
{
	uint64_t n = g.ring_bytes / 1024;
	return n < 1024 ? 1024 : n;
}

/* Append a port to node n (ports_lock).  False at the bound. */
static bool node_add_port(struct pfs_node *n, struct pfs_port *port)
{
	uint32_t i = n->nports;
	if (i >= PFS_MAX_PRODUCERS)
		return false;
	if (!n->ports[i / PFS_CHUNK] &&
	    !(n->ports[i / PFS_CHUNK] = calloc(PFS_CHUNK, sizeof(struct pfs_port *))))
		return false;
	n->ports[i / PFS_CHUNK][i % PFS_CHUNK] = port;
	__atomic_store_n(&n->nports, i + 1, __ATOMIC_RELEASE);
	return true;
}

/* Under ports_lock: publish a made port, unless another thread made the
 * producer's port at n first (*won) or it cannot be. */
static bool publish_port(struct pfs_producer *p, struct pfs_node *n,
			 struct pfs_port *port, struct pfs_port **won)
{
	*won = pfs_port_find(n, p->uid);
	if (*won || n->removed)
		return false;
	if (!producer_add_port(p, port))
		return false;
	port_set_fed(port, p, reaches(p, n));
	if (!node_add_port(n, port)) {
		producer_forget_port(p, port);
		return false;
	}
	return true;
}

/* Make producer p's port at node n: rare (once per producer and node). */
static struct pfs_port *port_new(struct pfs_producer *p, struct pfs_node *n)
{
	struct pfs_port *port = calloc(1, sizeof(*port));
	unsigned flags = p->lossless ? BW_LOSSLESS : 0;
	if (!port || bw_ibuf_create(&port->ib, ibuf_count(), flags) != 0) {
		free(port);
		pfs_log("%s: no memory for a ring", n->name);
		return NULL;
	}
	port->uid = p->uid;
	port->node = n;
	if (p->lossless)
		pfs_readers_hold_ring(n, port->ib, true);
	struct pfs_port *won;
	pthread_mutex_lock(&g.ports_lock);
	bool ok = publish_port(p, n, port, &won);
	pthread_mutex_unlock(&g.ports_lock);
	if (ok) {
		bw_waitq_wake(&n->changed);	/* readers follow the new ring */
		return port;
	}
	if (p->lossless)
		pfs_readers_hold_ring(n, port->ib, false);
	bw_ibuf_destroy(port->ib);
	free(port);
	if (!won && !n->removed)
		pfs_log("%s: no room for producer %s's ring (at most %d per node)",
			n->name, p->name, PFS_MAX_PRODUCERS);
	return won;
}

struct pfs_port *pfs_port_of(struct pfs_producer *p, struct pfs_node *n)
{
	struct pfs_port *port = pfs_port_find(n, p->uid);
	return port ? port : port_new(p, n);
}

/* The port's own data ring, made on first use. */
struct bw_dbuf *pfs_port_dbuf(struct pfs_producer *p, struct pfs_port *port)
{
	if (port->db)
		return port->db;
	unsigned flags = p->lossless ? BW_LOSSLESS : 0;
	struct bw_dbuf *db;
	if (bw_dbuf_create(&db, g.ring_bytes, flags) != 0) {
		pfs_log("producer %s: no memory for a data ring", p->name);
		return NULL;
	}
	pthread_mutex_lock(&g.ports_lock);
	bool ok = producer_add_dbuf(p, db);
	pthread_mutex_unlock(&g.ports_lock);
	if (!ok) {
		bw_dbuf_destroy(db);
		return NULL;
	}
	port->db = db;
	return db;
}

void pfs_ports_below(struct pfs_producer *p, struct pfs_node *n, bool dbufs)
{
	struct pfs_edges *out = rcu_dereference(n->out);
	for (size_t i = 0; out && i < out->n; i++) {
		struct pfs_node *child = out->e[i].node;
		struct pfs_port *port = pfs_port_of(p, child);
		if (!port)
			continue;
		if (dbufs && rcu_dereference(child->stage)->filter->makes_bytes)
			pfs_port_dbuf(p, port);
		pfs_ports_below(p, child, dbufs);
	}
}

/* Nodes from n down, each after all of its parents that are below n
 * (reverse post-order), into *list. */
static void walk_below(struct pfs_node *n, uint64_t walk, struct pfs_node ***list,
		       size_t *len, size_t *cap)
{
	if (n->walk == walk)
		return;
	n->walk = walk;
	struct pfs_edges *out = n->out;
	for (size_t i = 0; out && i < out->n; i++)
		walk_below(out->e[i].node, walk, list, len, cap);
	if (*len == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pfs_node **l = realloc(*list, c * sizeof(*l));
		if (!l)
			return;
		*list = l;
		*cap = c;
	}
	(*list)[(*len)++] = n;
}

void pfs_ports_refeed(struct pfs_node *n)
{
	struct pfs_node **list = NULL;
	size_t len = 0, cap = 0;
	walk_below(n, ++g.walks, &list, &len, &cap);
	pthread_mutex_lock(&g.ports_lock);
	while (len--) {
		struct pfs_node *m = list[len];
		for (uint32_t i = 0; i < m->nports; i++) {
			struct pfs_port *port = pfs_node_port(m, i);
			struct pfs_producer *p = pfs_producer_by_uid(port->uid);
			port_set_fed(port, p, p && reaches(p, m));
		}
	}
	pthread_mutex_unlock(&g.ports_lock);
	free(list);
}

void pfs_ports_detach(struct pfs_node *n)
{
	pthread_mutex_lock(&g.ports_lock);
	__atomic_store_n(&n->removed, true, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < n->nports; i++) {
		struct pfs_port *port = pfs_node_port(n, i);
		struct pfs_producer *p = pfs_producer_by_uid(port->uid);
		if (p)
			producer_forget_port(p, port);
		bw_ibuf_cancel(port->ib);
		port_set_fed(port, NULL, false);
	}
	pthread_mutex_unlock(&g.ports_lock);
	bw_waitq_wake(&n->changed);
}
