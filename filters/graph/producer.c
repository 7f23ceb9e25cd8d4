/* SPDX-License-Identifier: BSD-3-Clause
 * The scheduler: producers run records through the graph to completion,
 * depth first, publishing descriptors at every node a record reaches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filters/graph/internal.h"
#include "filters/graph/producer.h"
#include "filters/log.h"
#include "filters/savefile.h"

/* ---- lifetime ----------------------------------------------------------- */

static int slot_take(struct pfs_producer *p)
{
	for (int i = 0; i < PFS_MAX_PRODUCERS; i++)
		if (!g.producers[i]) {
			g.producers[i] = p;
			if (i >= g.nslots)
				g.nslots = i + 1;
			return i;
		}
	return -1;
}

struct pfs_producer *pfs_producer_new(const char *name, bool lossless)
{
	struct pfs_producer *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name))) {
		free(p);
		pfs_log("producer %s: out of memory", name);
		errno = ENOMEM;
		return NULL;
	}
	p->lossless = lossless;
	p->max_record = PFS_PCAP_MAX_RECORD;
	pthread_mutex_init(&p->run_lock, NULL);
	/* Slot and uid together: an edge made meanwhile sees both or
	 * neither (see pfs_producer_claim_backfill). */
	pthread_mutex_lock(&g.ports_lock);
	p->slot = slot_take(p);
	p->uid = p->origin = pfs_graph_new_id();
	pthread_mutex_unlock(&g.ports_lock);
	if (p->slot < 0) {
		pfs_log("producer %s: too many producers (at most %d)", name,
			PFS_MAX_PRODUCERS);
		pthread_mutex_destroy(&p->run_lock);
		free(p->name);
		free(p);
		errno = ENOSPC;
		return NULL;
	}
	return p;
}

int pfs_producer_set_origin(struct pfs_producer *p, const struct pfs_producer *of)
{
	char *name = strdup(of->origin_name ? of->origin_name : of->name);
	if (!name)
		return -ENOMEM;
	pthread_mutex_lock(&g.ports_lock);
	free(p->origin_name);
	p->origin_name = name;
	p->origin = of->origin;
	pthread_mutex_unlock(&g.ports_lock);
	return 0;
}

void pfs_producer_set_max_record(struct pfs_producer *p, uint32_t bytes)
{
	if (bytes > __atomic_load_n(&p->max_record, __ATOMIC_RELAXED))
		__atomic_store_n(&p->max_record, bytes, __ATOMIC_RELAXED);
}

/* The graph lock keeps control operations, which find producers by their
 * ports, from using one that is going. */
void pfs_producer_free(struct pfs_producer *p)
{
	if (!p)
		return;
	pfs_graph_lock();
	pthread_mutex_lock(&g.ports_lock);
	g.producers[p->slot] = NULL;
	for (size_t i = 0; i < p->nports; i++)
		if (!bw_ibuf_ended(p->ports[i]->ib))
			bw_ibuf_set_ended(p->ports[i]->ib, true);
	pthread_mutex_unlock(&g.ports_lock);
	pfs_graph_unlock();
	pthread_mutex_destroy(&p->run_lock);
	free(p->dbufs);
	free(p->shared);
	free(p->ports);
	free(p->origin_name);
	free(p->name);
	free(p);
}

/* A copy of p's port list, to walk without ports_lock (malloc'd; NULL
 * when out of memory).  Ports live as long as their nodes, and the
 * caller, online or holding the graph lock, keeps those. */
static struct pfs_port **ports_snapshot(struct pfs_producer *p, size_t *n)
{
	pthread_mutex_lock(&g.ports_lock);
	*n = p->nports;
	struct pfs_port **ports = malloc(*n * sizeof(*ports) + 1);
	if (ports)
		memcpy(ports, p->ports, *n * sizeof(*ports));
	pthread_mutex_unlock(&g.ports_lock);
	return ports;
}

int pfs_producer_attach_locked(struct pfs_producer *p, struct pfs_node *n)
{
	pthread_mutex_lock(&g.ports_lock);
	p->top = n;
	pthread_mutex_unlock(&g.ports_lock);
	if (!pfs_port_of(p, n))
		return -errno;
	return pfs_ports_below(p, n);
}

/* The data rings of p's ports: at its top node if it copies records
 * there, and wherever the filter makes bytes.  Made by the producer's own
 * thread, outside the graph lock: populating one takes a while. */
static int make_dbufs(struct pfs_producer *p, struct pfs_node *top, bool copies)
{
	size_t n;
	rcu_thread_online();	/* before the copy: its nodes stay */
	struct pfs_port **ports = ports_snapshot(p, &n);
	int rc = ports ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct pfs_node *node = ports[i]->node;
		bool want = node == top ? copies
			    : rcu_dereference(node->stage)->filter->makes_bytes;
		if (want && !pfs_port_dbuf(p, ports[i]))
			rc = -errno;
	}
	rcu_thread_offline();
	free(ports);
	return rc;
}

int pfs_producer_attach(struct pfs_producer *p, struct pfs_node *n, bool copies)
{
	pfs_graph_lock();
	int rc = pfs_producer_attach_locked(p, n);
	pfs_graph_unlock();
	return rc ? rc : make_dbufs(p, n, copies);
}

void pfs_producer_set_ended(struct pfs_producer *p, bool ended)
{
	pthread_mutex_lock(&g.ports_lock);
	p->ended = ended;
	for (size_t i = 0; i < p->nports; i++) {
		bool e = ended || !p->ports[i]->fed;
		if (bw_ibuf_ended(p->ports[i]->ib) != e)
			bw_ibuf_set_ended(p->ports[i]->ib, e);
	}
	pthread_mutex_unlock(&g.ports_lock);
}

void pfs_producer_cancel(struct pfs_producer *p)
{
	pthread_mutex_lock(&g.ports_lock);
	for (size_t i = 0; i < p->nports; i++)
		bw_ibuf_cancel(p->ports[i]->ib);
	pthread_mutex_unlock(&g.ports_lock);
}

/* ---- runs --------------------------------------------------------------- */

void pfs_producer_flush(struct pfs_producer *p)
{
	for (size_t i = 0; i < p->ntouched; i++) {
		p->touched[i]->touched = false;
		bw_ibuf_flush(p->touched[i]->ib);
	}
	p->ntouched = 0;
	p->since_flush = 0;
	p->flushed = true;
}

/* Backfills a control thread could not do while we ran: every new node
 * below one of ours that we have not backfilled yet (RCU online). */
static void backfill_pending(struct pfs_producer *p)
{
	size_t n;
	struct pfs_port **ports = ports_snapshot(p, &n);
	for (size_t i = 0; ports && i < n; i++) {
		struct pfs_edges *out = rcu_dereference(ports[i]->node->out);
		for (size_t k = 0; out && k < out->n; k++)
			if (pfs_producer_claim_backfill(p, out->e[k].st))
				pfs_producer_backfill(p, ports[i], out->e[k].node,
						      ports[i]->ib->head);
	}
	free(ports);
	pfs_producer_flush(p);
}

void pfs_producer_begin(struct pfs_producer *p)
{
	pthread_mutex_lock(&p->run_lock);
	rcu_thread_online();
}

void pfs_producer_yield(struct pfs_producer *p)
{
	if (!p->flushed)
		return;
	/* Nothing touched may be left for after the quiescent state: its
	 * node may be gone by then. */
	pfs_producer_flush(p);
	p->flushed = false;
	rcu_thread_offline();
	pthread_mutex_unlock(&p->run_lock);
	/* Control threads waiting for the run (backfill) get it here. */
	pthread_mutex_lock(&p->run_lock);
	rcu_thread_online();
}

void pfs_producer_end(struct pfs_producer *p)
{
	backfill_pending(p);
	p->flushed = false;
	rcu_thread_offline();
	pthread_mutex_unlock(&p->run_lock);
}

/* ---- records ------------------------------------------------------------ */

uint8_t *pfs_producer_alloc(struct pfs_producer *p, struct pfs_node *n,
			    uint32_t len, struct pfs_desc *d)
{
	struct pfs_port *port = pfs_port_of(p, n);
	struct bw_dbuf *db = port ? pfs_port_dbuf(p, port) : NULL;
	if (!db) {
		/* errno says why, and the log; the record is lost here */
		if (port)
			pfs_count(&port->drops, 1);
		return NULL;
	}
	/* An empty record takes a byte all the same: every record copied in
	 * has a position of its own, so two empty ones alike (a capture's
	 * empty packets of one timestamp) are two records, not one arriving
	 * twice (see duplicate()). */
	uint64_t pos;
	uint8_t *w = bw_dbuf_alloc(db, len ? len : 1, &pos);
	if (!w) {
		/* more than half the ring: it cannot carry the record */
		pfs_count(&port->drops, 1);
		errno = EMSGSIZE;
		return NULL;
	}
	d->pos = pos;
	d->dbuf = db->id;
	d->len = len;
	pfs_count(&port->copied_bytes, len);
	return w;
}

void pfs_producer_count_copied(struct pfs_producer *p, struct pfs_node *n, uint32_t len)
{
	struct pfs_port *port = pfs_port_of(p, n);
	if (port)
		pfs_count(&port->copied_bytes, len);
}

struct sched_out {
	struct pfs_out base;
	struct pfs_producer *p;
	struct pfs_node *n;
};

static void out_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct sched_out *so = (struct sched_out *)o;
	pfs_producer_inject(so->p, so->n, d, data);
}

static uint8_t *out_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	struct sched_out *so = (struct sched_out *)o;
	return pfs_producer_alloc(so->p, so->n, len, d);
}

static void touch(struct pfs_producer *p, struct pfs_port *port)
{
	if (port->touched)
		return;
	if (p->ntouched == sizeof(p->touched) / sizeof(p->touched[0]))
		pfs_producer_flush(p);
	port->touched = true;
	p->touched[p->ntouched++] = port;
}

/* Run a record through child's stage, as producer p. */
static void run_stage(struct pfs_producer *p, struct pfs_node *child,
		      const struct pfs_desc *d, const uint8_t *data)
{
	struct pfs_stage *st = rcu_dereference(child->stage);
	void *ps = pfs_stage_pstate(st, p);
	if (!ps && st->filter->pstate_size) {
		struct pfs_port *port = pfs_port_of(p, child);
		if (port)
			pfs_count(&port->drops, 1);
		return;
	}
	struct sched_out so = { { out_emit, out_alloc }, p, child };
	st->filter->process(st->conf, ps, d, data, &so.base);
}

/*
 * Run the records that producer p published at `from` before `end`
 * through a new child's stage: the child starts from what its parent
 * still holds.  Only the producer (or a thread holding its run) reads its
 * rings this way, so nothing changes under us.
 */
void pfs_producer_backfill(struct pfs_producer *p, struct pfs_port *from,
			   struct pfs_node *child, uint64_t end)
{
	struct bw_ibuf *ib = from->ib;
	uint64_t seq = end > ib->count ? end - ib->count : 0;
	if (seq < ib->tail)
		seq = ib->tail;
	/* A child removed meanwhile needs no more of it. */
	for (; seq < end && !__atomic_load_n(&child->removed, __ATOMIC_ACQUIRE); seq++) {
		const struct pfs_desc *d = &ib->slots[seq & ib->mask];
		struct bw_dbuf *db = bw_dbuf_lookup(d->dbuf);
		if (db && bw_dbuf_intact(db, d->pos))
			run_stage(p, child, d, bw_dbuf_ptr(db, d->pos));
	}
}

/* Claim the edge's backfill for producer p: true if it is ours to do. */
bool pfs_producer_claim_backfill(struct pfs_producer *p, struct pfs_edge_state *st)
{
	if (!st->backfill || p->uid > st->made_uid || (size_t)p->slot >= st->nwords * 64)
		return false;
	uint64_t *word = &st->done[p->slot / 64], bit = 1ull << (p->slot % 64);
	/* Per record and edge: a plain load, the locked OR only once. */
	if (__atomic_load_n(word, __ATOMIC_ACQUIRE) & bit)
		return false;
	return !(__atomic_fetch_or(word, bit, __ATOMIC_ACQ_REL) & bit);
}

/*
 * Is d the record this producer published last at this port?  A node with
 * two parents that share an ancestor (a diamond of links) is reached twice
 * by one record, one path after the other (depth first): the second copy
 * is a duplicate, and dropping it here also ends its walk below, so one
 * record reaches each node at most once however the links are stacked.
 */
static bool duplicate(const struct pfs_port *port, const struct pfs_desc *d)
{
	const struct bw_ibuf *ib = port->ib;
	if (ib->head == 0)
		return false;
	const struct pfs_desc *last = &ib->slots[(ib->head - 1) & ib->mask];
	return last->pos == d->pos && last->dbuf == d->dbuf && last->len == d->len &&
	       last->kind == d->kind && last->ts_ns == d->ts_ns &&
	       last->wire_len == d->wire_len && last->flow_hash == d->flow_hash;
}

int pfs_producer_inject(struct pfs_producer *p, struct pfs_node *n,
			const struct pfs_desc *d, const uint8_t *data)
{
	struct pfs_port *port = pfs_port_of(p, n);
	if (!port)
		return -errno;
	if (duplicate(port, d)) {
		pfs_count(&port->duplicates, 1);
		return 0;
	}
	struct pfs_desc rec = *d;
	int rc = bw_ibuf_publish(port->ib, &rec);
	if (rc) {
		pfs_count(&port->drops, 1);
		return rc;
	}
	pfs_count(&port->bytes, rec.len);
	touch(p, port);

	struct pfs_edges *out = rcu_dereference(n->out);
	for (size_t i = 0; out && i < out->n; i++) {
		struct pfs_edge *e = &out->e[i];
		if (pfs_producer_claim_backfill(p, e->st))
			pfs_producer_backfill(p, port, e->node, rec.seq);
		run_stage(p, e->node, &rec, data);
	}
	if (++p->since_flush >= PFS_FLUSH_BATCH)
		pfs_producer_flush(p);
	return 0;
}
