/* SPDX-License-Identifier: BSD-3-Clause
 * Ports: a producer's rings at a node, made ahead of its records where the
 * graph knows it will reach, and on first use otherwise.  A port's ring is
 * ended while its producer has finished or no longer reaches the node (the
 * port is not `fed`); control operations recompute that after each change
 * of edges, so readers learn end of stream from the rings alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/internal.h"
#include "filters/log.h"
#include "filters/pcapio.h"

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

int pfs_producer_share(struct pfs_producer *p, struct bw_dbuf *d)
{
	pthread_mutex_lock(&g.ports_lock);
	bool ok = array_add(&p->shared, &p->nshared, d);
	pthread_mutex_unlock(&g.ports_lock);
	return ok ? 0 : -ENOMEM;
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
			return false;	/* db goes, and its watches with it */
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

/* Append a port to node n (ports_lock): 0, or -ENOSPC at the bound. */
static int node_add_port(struct pfs_node *n, struct pfs_port *port)
{
	uint32_t i = n->nports;
	if (i >= PFS_MAX_PRODUCERS)
		return -ENOSPC;
	if (!n->ports[i / PFS_CHUNK] &&
	    !(n->ports[i / PFS_CHUNK] = calloc(PFS_CHUNK, sizeof(struct pfs_port *))))
		return -ENOMEM;
	n->ports[i / PFS_CHUNK][i % PFS_CHUNK] = port;
	__atomic_store_n(&n->nports, i + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Under ports_lock: publish a made port, unless another thread made the
 * producer's port at n first (-EEXIST, *won), n is being removed
 * (-ENOENT) or it cannot be (-errno). */
static int publish_port(struct pfs_producer *p, struct pfs_node *n,
			struct pfs_port *port, struct pfs_port **won)
{
	*won = pfs_port_find(n, p->uid);
	if (*won || n->removed)
		return *won ? -EEXIST : -ENOENT;
	if (!producer_add_port(p, port))
		return -ENOMEM;
	port_set_fed(port, p, reaches(p, n));
	int rc = node_add_port(n, port);
	if (rc)
		producer_forget_port(p, port);
	return rc;
}

/* Producer p has no port at n, for reason rc: NULL, with the reason in the
 * log (unless n is going) and in errno. */
static struct pfs_port *port_failed(struct pfs_producer *p, struct pfs_node *n, int rc)
{
	if (rc == -ENOSPC)
		pfs_log("%s: no room for producer %s's ring (at most %d per node)",
			n->name, p->name, PFS_MAX_PRODUCERS);
	else if (rc != -ENOENT)
		pfs_log("%s: cannot make producer %s's ring: %s", n->name, p->name,
			strerror(-rc));
	errno = -rc;
	return NULL;
}

/* The memory of a ring, as the budget counts it: its bytes and the page
 * of its header (huge pages, when there are, cost more). */
#define RING_HEADER_PAGE 4096u

static uint64_t ibuf_bytes(void)
{
	return ibuf_count() * sizeof(struct pfs_desc) + RING_HEADER_PAGE;
}

/* Take `bytes` of the ring budget: 0, or -ENOMEM (logged) past it. */
static int budget_take(const char *what, uint64_t bytes)
{
	uint64_t used = __atomic_add_fetch(&g.ring_memory, bytes, __ATOMIC_RELAXED);
	if (used <= g.ring_budget)
		return 0;
	__atomic_sub_fetch(&g.ring_memory, bytes, __ATOMIC_RELAXED);
	pfs_log("%s: the rings would take %llu MiB, past --ring-budget %llu MiB",
		what, (unsigned long long)(used >> 20),
		(unsigned long long)(g.ring_budget >> 20));
	return -ENOMEM;
}

static void budget_give(uint64_t bytes)
{
	__atomic_sub_fetch(&g.ring_memory, bytes, __ATOMIC_RELAXED);
}

void pfs_port_free(struct pfs_port *port)
{
	budget_give(ibuf_bytes() + (port->db ? port->db->size + RING_HEADER_PAGE : 0));
	bw_ibuf_destroy(port->ib);
	bw_dbuf_destroy(port->db);
	free(port);
}

/* Make producer p's port at node n: rare (once per producer and node). */
static struct pfs_port *port_new(struct pfs_producer *p, struct pfs_node *n)
{
	int rc = budget_take(n->name, ibuf_bytes());
	if (rc)
		return port_failed(p, n, rc);
	struct pfs_port *port = calloc(1, sizeof(*port));
	unsigned flags = p->lossless ? BW_LOSSLESS : 0;
	rc = port ? bw_ibuf_create(&port->ib, ibuf_count(), flags) : -ENOMEM;
	if (rc) {
		free(port);
		budget_give(ibuf_bytes());
		return port_failed(p, n, rc);
	}
	port->uid = p->uid;
	port->node = n;
	if (p->lossless)
		pfs_readers_hold_ring(n, port->ib, true);
	struct pfs_port *won;
	pthread_mutex_lock(&g.ports_lock);
	rc = publish_port(p, n, port, &won);
	pthread_mutex_unlock(&g.ports_lock);
	if (rc == 0) {
		bw_waitq_wake(&n->changed);	/* readers follow the new ring */
		return port;
	}
	if (p->lossless)
		pfs_readers_hold_ring(n, port->ib, false);
	pfs_port_free(port);
	return won ? won : port_failed(p, n, rc);
}

struct pfs_port *pfs_port_of(struct pfs_producer *p, struct pfs_node *n)
{
	struct pfs_port *port = pfs_port_find(n, p->uid);
	return port ? port : port_new(p, n);
}

/*
 * A data ring takes records of at most half its size.  At its top node a
 * producer copies in records of up to its max_record bytes (a written or
 * copied pcap record: see pfs_producer_set_max_record), so its ring there
 * is never smaller than twice that, whatever --ring-size says; filters
 * make small records (text).  Ring sizes are powers of two.
 */
static uint64_t dbuf_size(struct pfs_producer *p, const struct pfs_port *port)
{
	pthread_mutex_lock(&g.ports_lock);
	bool top = port->node == p->top;
	pthread_mutex_unlock(&g.ports_lock);
	uint64_t least = 0;
	if (top) {
		uint64_t twice = 2ull * __atomic_load_n(&p->max_record, __ATOMIC_RELAXED);
		least = 1ull << (64 - __builtin_clzll(twice - 1));
	}
	return g.ring_bytes > least ? g.ring_bytes : least;
}

/* The port's own data ring, made on first use. */
struct bw_dbuf *pfs_port_dbuf(struct pfs_producer *p, struct pfs_port *port)
{
	if (port->db)
		return port->db;
	if (__atomic_load_n(&port->node->removed, __ATOMIC_ACQUIRE)) {
		errno = ENOENT;	/* the node is going: no ring for it */
		return NULL;
	}
	unsigned flags = p->lossless ? BW_LOSSLESS : 0;
	struct bw_dbuf *db;
	uint64_t size = dbuf_size(p, port);
	int rc = budget_take(port->node->name, size + RING_HEADER_PAGE);
	if (rc == 0 && (rc = bw_dbuf_create(&db, size, flags)) != 0)
		budget_give(size + RING_HEADER_PAGE);
	/* Known to the producer and to the port at once, under the lock that
	 * pfs_ports_detach holds: a node removed meanwhile gets no ring (its
	 * port would free it while the producer still listed it). */
	if (rc == 0) {
		pthread_mutex_lock(&g.ports_lock);
		if (port->node->removed)
			rc = -ENOENT;
		else if (!producer_add_dbuf(p, db))
			rc = -ENOMEM;
		else
			port->db = db;
		pthread_mutex_unlock(&g.ports_lock);
		if (rc) {
			bw_dbuf_destroy(db);
			budget_give(size + RING_HEADER_PAGE);
		}
	}
	if (rc) {
		if (rc != -ENOENT)
			pfs_log("%s: cannot make producer %s's data ring: %s", port->node->name,
				p->name, strerror(-rc));
		errno = -rc;
		return NULL;
	}
	return db;
}

int pfs_ports_below(struct pfs_producer *p, struct pfs_node *n)
{
	struct pfs_node **below;
	ssize_t len = pfs_nodes_below(n, &below);
	int rc = len < 0 ? (int)len : 0;
	for (ssize_t i = 1; i < len && rc == 0; i++) {	/* below[0] is n */
		struct pfs_port *port = pfs_port_of(p, below[i]);
		if (!port)
			rc = errno == ENOENT ? 0 : -errno;	/* a node going needs none */
	}
	free(below);
	return rc;
}

void pfs_ports_refeed(struct pfs_node *n)
{
	struct pfs_node **below;
	ssize_t len = pfs_nodes_below(n, &below);
	pthread_mutex_lock(&g.ports_lock);
	for (ssize_t k = 0; k < len; k++) {
		struct pfs_node *m = below[k];
		for (uint32_t i = 0; i < m->nports; i++) {
			struct pfs_port *port = pfs_node_port(m, i);
			struct pfs_producer *p = pfs_producer_by_uid(port->uid);
			port_set_fed(port, p, p && reaches(p, m));
		}
	}
	pthread_mutex_unlock(&g.ports_lock);
	free(below);
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
