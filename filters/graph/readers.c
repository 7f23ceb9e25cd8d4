/* SPDX-License-Identifier: BSD-3-Clause
 * Readers of a node: a merge of the node's rings, following rings made
 * after the open, with end of stream read from the rings themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "filters/graph/internal.h"
#include "filters/graph/reader.h"
#include "filters/log.h"

/* A hold joined for a reader on a lossless ring made after its open,
 * until the reader follows that ring. */
struct pending_hold {
	struct bw_ibuf *ib;
	struct bw_hold hold;
};

struct pfs_reader {
	struct pfs_reader *next;	/* the node's readers */
	struct pfs_node *node;
	struct bw_merge merge;
	enum bw_start start;		/* for the rings there at the open */
	bool opened;			/* later rings: from their start */
	int efd;			/* listening with it, or -1 */
	struct pending_hold *pending;	/* node's readers_lock */
	size_t npending, pending_cap;
};

/* Take reader r's pending hold on ib (or, with hold NULL, let go of it).
 * (readers_lock) */
static bool take_hold(struct pfs_reader *r, const struct bw_ibuf *ib,
		      struct bw_hold *hold)
{
	for (size_t i = 0; i < r->npending; i++)
		if (r->pending[i].ib == ib) {
			if (hold)
				*hold = r->pending[i].hold;
			else
				bw_gate_leave(&r->pending[i].hold);
			r->pending[i] = r->pending[--r->npending];
			return true;
		}
	return false;
}

static bool add_hold(struct pfs_reader *r, struct bw_ibuf *ib)
{
	if (r->npending == r->pending_cap) {
		size_t cap = r->pending_cap ? r->pending_cap * 2 : 4;
		struct pending_hold *p = realloc(r->pending, cap * sizeof(*p));
		if (!p)
			return false;
		r->pending = p;
		r->pending_cap = cap;
	}
	if (bw_gate_join(&ib->gate, 0, &r->pending[r->npending].hold) != 0)
		return false;
	r->pending[r->npending++].ib = ib;
	return true;
}

/* A lossless ring is about to appear at n: hold it from its start for
 * every holding reader already there (before any can see the ring), so
 * that none misses a record before it follows it.  With join false, undo
 * that.  Other readers hold nothing: they follow it from its start and
 * count what they were lapped by. */
void pfs_readers_hold_ring(struct pfs_node *n, struct bw_ibuf *ib, bool join)
{
	pthread_mutex_lock(&n->readers_lock);
	for (struct pfs_reader *r = n->readers; r; r = r->next) {
		if (!r->merge.holds)
			continue;
		if (!join)
			take_hold(r, ib, NULL);
		else if (!add_hold(r, ib))
			pfs_log("%s: no memory to hold a new ring for a reader: "
				"it reads that ring from its oldest record", n->name);
	}
	pthread_mutex_unlock(&n->readers_lock);
}

/*
 * Where to follow a ring of port from.  Rings made after the open: from
 * their start.  Rings there at the open: from r->start, but a ring whose
 * producer no longer reaches the node holds what a former parent gave it
 * (before a `mv` or the `rm` of a link): that is no longer the node's
 * history, and is not shown (from now: should the producer reach the
 * node again, its new records are).
 */
static enum bw_start start_of(const struct pfs_reader *r, const struct pfs_port *port)
{
	if (r->opened)
		return BW_FROM_START;
	pthread_mutex_lock(&g.ports_lock);
	bool fed = port->fed;
	pthread_mutex_unlock(&g.ports_lock);
	return fed ? r->start : BW_FROM_NOW;
}

/* Follow every ring the node has now: those there at the open from
 * start_of, later ones from their start (or the hold made for us), so
 * what they lost before we looked counts in our drops. */
static void follow_new_rings(struct pfs_reader *r)
{
	struct pfs_node *n = r->node;
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = r->merge.n; i < nports; i++) {
		struct pfs_port *port = pfs_node_port(n, i);
		struct bw_ibuf *ib = port->ib;
		struct bw_hold hold;
		pthread_mutex_lock(&n->readers_lock);
		bool held = take_hold(r, ib, &hold);
		pthread_mutex_unlock(&n->readers_lock);
		int rc = held ? bw_merge_add_held(&r->merge, ib, &hold)
			      : bw_merge_add(&r->merge, ib, start_of(r, port));
		if (rc != 0)
			break;
		if (r->efd >= 0)
			bw_reader_listen(&r->merge.in[r->merge.n - 1].r, r->efd);
	}
}

/* Start the sources upstream of n (graph lock held): each node once
 * (walk marks), however many paths lead up to it through links. */
static void start_sources(struct pfs_node *n, uint64_t walk)
{
	if (n->walk == walk)
		return;
	n->walk = walk;
	if (n->hooks && n->hooks->start)
		n->hooks->start(n->hooks_arg);
	for (size_t i = 0; i < n->nparents; i++)
		if (n->parents[i] != g.root)
			start_sources(n->parents[i], walk);
}

struct pfs_reader *pfs_reader_open(struct pfs_node *n, bool from_now, bool holds,
				   const struct bw_framing *framing)
{
	struct pfs_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->node = n;
	r->efd = -1;
	r->start = from_now ? BW_FROM_NOW : BW_FROM_OLDEST;
	bw_merge_init(&r->merge, holds, framing);
	pfs_node_get(n);
	/* Listed first: lossless rings made from now on are held for us (if
	 * we hold), or followed from their start. */
	pthread_mutex_lock(&n->readers_lock);
	r->next = n->readers;
	n->readers = r;
	pthread_mutex_unlock(&n->readers_lock);
	follow_new_rings(r);	/* the rings there now, from r->start */
	r->opened = true;
	start_sources(n, ++g.walks);
	return r;
}

void pfs_reader_close(struct pfs_reader *r)
{
	struct pfs_node *n = r->node;
	pthread_mutex_lock(&n->readers_lock);
	for (struct pfs_reader **p = &n->readers; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	while (r->npending)
		bw_gate_leave(&r->pending[--r->npending].hold);
	n->closed_reader_drops += bw_merge_drops(&r->merge);
	pthread_mutex_unlock(&n->readers_lock);
	bw_merge_fini(&r->merge);
	free(r->pending);
	pfs_node_put(n);
	free(r);
}

size_t pfs_reader_copy(struct pfs_reader *r, void *buf, size_t cap)
{
	follow_new_rings(r);
	return bw_merge_copy(&r->merge, buf, cap);
}

bool pfs_reader_peek(struct pfs_reader *r, struct pfs_desc *d)
{
	follow_new_rings(r);
	return bw_merge_peek(&r->merge, d);
}

/*
 * At end once every ring says so and all are read.  The node's ring count
 * is loaded again after the rings' ended flags: a ring made meanwhile (a
 * node moved under a live parent) is then seen, and followed first.
 */
/* Does some producer reach n?  If none does (n was moved under a node
 * nobody has written to yet), its ended rings are a former parent's: n
 * waits for what its new parent brings, as a node with no ring does. */
static bool fed(const struct pfs_node *n)
{
	bool any = false;
	pthread_mutex_lock(&g.ports_lock);
	for (uint32_t i = 0; i < n->nports && !any; i++)
		any = pfs_node_port(n, i)->fed;
	pthread_mutex_unlock(&g.ports_lock);
	return any;
}

bool pfs_reader_eof(struct pfs_reader *r)
{
	struct pfs_node *n = r->node;
	bool removed = __atomic_load_n(&n->removed, __ATOMIC_ACQUIRE);
	follow_new_rings(r);
	if (r->merge.n == 0)
		return removed;
	if (!bw_merge_eof(&r->merge))
		return false;
	return removed || (__atomic_load_n(&n->nports, __ATOMIC_ACQUIRE) == r->merge.n &&
			   fed(n));
}

bool pfs_reader_ready(struct pfs_reader *r)
{
	follow_new_rings(r);
	/* A record, or the node's end: every ring of the merge may have
	 * ended without the node being at its end (see fed()). */
	return (bw_merge_ready(&r->merge) && !bw_merge_eof(&r->merge)) || pfs_reader_eof(r);
}

int pfs_reader_listen(struct pfs_reader *r, int efd)
{
	follow_new_rings(r);
	int rc = bw_waitq_listen(&r->node->changed, efd);
	if (rc)
		return rc;
	if ((rc = bw_merge_listen(&r->merge, efd)) != 0) {
		bw_waitq_unlisten(&r->node->changed, efd);
		return rc;
	}
	r->efd = efd;
	return 0;
}

uint64_t pfs_reader_stamp(struct pfs_reader *r)
{
	follow_new_rings(r);
	/* Heads only grow and ends only come: each moves the sum. */
	uint64_t s = __atomic_load_n(&r->node->nports, __ATOMIC_ACQUIRE) +
		     pfs_node_removed(r->node);
	for (size_t i = 0; i < r->merge.n; i++) {
		const struct bw_ibuf *ib = r->merge.in[i].r.ib;
		s += 2 * bw_ibuf_head(ib) + bw_ibuf_ended(ib);
	}
	return s;
}

void pfs_reader_unlisten(struct pfs_reader *r)
{
	if (r->efd < 0)
		return;
	bw_merge_unlisten(&r->merge, r->efd);
	bw_waitq_unlisten(&r->node->changed, r->efd);
	r->efd = -1;
}

uint64_t pfs_reader_drops(struct pfs_reader *r)
{
	return bw_merge_drops(&r->merge);
}

uint64_t pfs_readers_drops(struct pfs_node *n, FILE *out, unsigned *nreaders)
{
	uint64_t sum = n->closed_reader_drops;
	*nreaders = 0;
	pthread_mutex_lock(&n->readers_lock);
	for (struct pfs_reader *r = n->readers; r; r = r->next) {
		uint64_t d = bw_merge_drops(&r->merge);
		sum += d;
		++*nreaders;
		if (out)
			fprintf(out, " %llu", (unsigned long long)d);
	}
	pthread_mutex_unlock(&n->readers_lock);
	return sum;
}

/* Depth first, each node once (a node reached by two paths, through
 * links, would otherwise be walked once per path). */
struct walk {
	const struct pfs_node **seen;
	size_t n, cap;
};

static bool first_visit(struct walk *w, const struct pfs_node *n)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->seen[i] == n)
			return false;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		const struct pfs_node **s = realloc(w->seen, cap * sizeof(*s));
		if (!s)
			return true;	/* walk it again rather than miss it */
		w->seen = s;
		w->cap = cap;
	}
	w->seen[w->n++] = n;
	return true;
}

static bool readers_below(const struct pfs_node *n, struct walk *w)
{
	if (!first_visit(w, n))
		return false;
	if (__atomic_load_n(&n->readers, __ATOMIC_ACQUIRE))
		return true;
	struct pfs_edges *out = rcu_dereference(n->out);
	for (size_t i = 0; out && i < out->n; i++)
		if (readers_below(out->e[i].node, w))
			return true;
	return false;
}

bool pfs_node_readers_below(struct pfs_node *n)
{
	struct walk w = { NULL, 0, 0 };
	rcu_thread_online();
	bool found = readers_below(n, &w);
	rcu_thread_offline();
	free(w.seen);
	return found;
}

bool pfs_node_removed(const struct pfs_node *n)
{
	return __atomic_load_n(&n->removed, __ATOMIC_ACQUIRE);
}

uint32_t pfs_node_rings(struct pfs_node *n, uint32_t from,
			void (*fn)(void *arg, uint16_t dbuf, int fd, int file, uint64_t producer),
			void *arg)
{
	pthread_mutex_lock(&g.ports_lock);
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++) {
		const struct pfs_port *port = pfs_node_port(n, i);
		if (i >= from)
			fn(arg, 0, port->ib->shm.fd, -1, port->uid);
		/* The port's own data ring: its producer forgets it when the
		 * node is removed, and readers may still be reading it. */
		if (port->db)
			fn(arg, port->db->id, port->db->shm.fd, -1, port->uid);
		/* A producer makes data rings as it goes: every port's. */
		const struct pfs_producer *p = pfs_producer_by_uid(port->uid);
		for (size_t k = 0; p && k < p->ndbufs; k++)
			fn(arg, p->dbufs[k]->id, p->dbufs[k]->shm.fd, -1, port->uid);
		for (size_t k = 0; p && k < p->nshared; k++) {
			struct bw_dbuf *d = p->shared[k];
			if (d->mirror) {
				bw_dbuf_mirror_want(d);
				fn(arg, d->id, d->mirror->fd, -1, port->uid);
			} else if (d->file_fd >= 0) {
				fn(arg, d->id, d->shm.fd, d->file_fd, port->uid);
			}
		}
	}
	pthread_mutex_unlock(&g.ports_lock);
	return nports;
}

/* Input i of the merge follows port i of the node: follow_new_rings adds
 * them in order. */
uint64_t pfs_reader_origin(struct pfs_reader *r, size_t input, char *name, size_t len)
{
	name[0] = '\0';
	if (input >= r->merge.n)
		return 0;
	uint64_t uid = pfs_node_port(r->node, (uint32_t)input)->uid, origin = 0;
	pthread_mutex_lock(&g.ports_lock);
	struct pfs_producer *p = pfs_producer_by_uid(uid);
	if (p) {
		snprintf(name, len, "%s", p->origin_name ? p->origin_name : p->name);
		origin = p->origin;
	}
	pthread_mutex_unlock(&g.ports_lock);
	return origin;
}
