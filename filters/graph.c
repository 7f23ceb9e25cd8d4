/* SPDX-License-Identifier: BSD-3-Clause */
#include "graph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "source.h"

#define ID_BUCKETS 1024

static struct {
	pthread_mutex_t lock;
	struct pfs_node *root;
	uint64_t next_id;
	struct pfs_ctx *ctxs[PFS_MAX_CTX];
	pthread_mutex_t ctx_lock;	/* ctxs, and every ctx's ring lists */
	uint64_t ring_bytes;
	int efd;
} g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ctx_lock = PTHREAD_MUTEX_INITIALIZER,
	.efd = -1,
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

struct pfs_node *pfs_graph_root(void)
{
	return g.root;
}

uint64_t pfs_graph_new_id(void)
{
	return __atomic_fetch_add(&g.next_id, 1, __ATOMIC_RELAXED);
}

uint64_t pfs_graph_ring_bytes(void)
{
	return g.ring_bytes;
}

void pfs_graph_set_eventfd(int efd)
{
	g.efd = efd;
}

void pfs_graph_kick(void)
{
	uint64_t one = 1;
	if (g.efd >= 0 && write(g.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pfs_log("eventfd write failed: %s", strerror(errno));
}

/* ---- stages ------------------------------------------------------------ */

static void stage_free(struct pfs_stage *st)
{
	if (!st)
		return;
	if (st->filter->fini)
		st->filter->fini(st->state);
	free(st->spec);
	free(st);
}

static void stage_free_rcu(struct rcu_head *head)
{
	stage_free(caa_container_of(head, struct pfs_stage, rcu));
}

/*
 * A spec is NAME or NAME=ARGS (or NAME ARGS, written into `filter`).  In a
 * directory name, a plain NAME that is no filter makes a pass-through node;
 * `dirname` says which rule applies.
 */
static struct pfs_stage *stage_new(const char *spec, bool dirname)
{
	size_t len = strcspn(spec, dirname ? "=" : "= \t");
	char name[64];
	const char *args = spec[len] ? spec + len + 1 : NULL;
	if (len == 0 || len >= sizeof(name)) {
		pfs_log("'%s': not a filter spec", spec);
		return NULL;
	}
	memcpy(name, spec, len);
	name[len] = '\0';
	const struct pfs_filter *f = pfs_filter_find(name);
	if (!f && dirname && !args)
		f = pfs_filter_find("pass");
	if (!f) {
		pfs_log("'%s': no filter named '%s'", spec, name);
		return NULL;
	}
	struct pfs_stage *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	char err[PFS_ERR_LEN] = "";
	st->filter = f;
	st->spec = strdup(f == pfs_filter_find(name) ? spec : "pass");
	if (!st->spec || f->init(&st->state, f == pfs_filter_find(name) ? args : NULL,
				 err, sizeof(err)) != 0) {
		if (err[0])
			pfs_log("'%s': %s", spec, err);
		else
			pfs_log("'%s': bad arguments (usage: %s)", spec, f->usage);
		free(st->spec);
		free(st);
		return NULL;
	}
	return st;
}

static void ctx_forget_port(struct pfs_ctx *c, struct pfs_port *p);

/* ---- nodes ------------------------------------------------------------- */

static void id_insert(struct pfs_node *n)
{
	struct id_link *l = malloc(sizeof(*l));
	if (!l)
		abort();
	l->node = n;
	l->next = id_table[n->id % ID_BUCKETS];
	id_table[n->id % ID_BUCKETS] = l;
}

static void id_remove(struct pfs_node *n)
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

static struct pfs_node *node_new(const char *name, struct pfs_stage *st)
{
	struct pfs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->id = pfs_graph_new_id();
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->stage = st;
	n->refs = 1;
	pthread_mutex_init(&n->readers_lock, NULL);
	id_insert(n);
	return n;
}

static void port_free(struct pfs_port *p)
{
	bw_ibuf_destroy(p->ib);
	bw_dbuf_destroy(p->db);
	free(p);
}

static void node_free_rcu(struct rcu_head *head)
{
	struct pfs_node *n = caa_container_of(head, struct pfs_node, rcu);
	for (uint32_t i = 0; i < n->nports; i++)
		port_free(n->ports[i]);
	stage_free(n->stage);
	free(n->out);
	free(n->parents);
	if (n->writer)
		pfs_ctx_free(n->writer);
	pthread_mutex_destroy(&n->readers_lock);
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

struct pfs_entry *pfs_node_entry(struct pfs_node *dir, const char *name)
{
	for (struct pfs_entry *e = dir->entries; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static struct pfs_entry *entry_add(struct pfs_node *dir, const char *name,
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
		e->link_id = pfs_graph_new_id();
	}
	e->next = dir->entries;
	dir->entries = e;
	return e;
}

static void entry_del(struct pfs_node *dir, struct pfs_entry *dead)
{
	for (struct pfs_entry **p = &dir->entries; *p; p = &(*p)->next)
		if (*p == dead) {
			*p = dead->next;
			free(dead->link);
			free(dead);
			return;
		}
}

/* ---- edges: data flows parent -> child --------------------------------- */

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

static void backfill_idle_producers(struct pfs_node *parent, const struct pfs_edge *edge);

/* A new node starts from what its parent still holds (backfill); a node
 * moved or linked under another parent follows it from now on. */
static int edge_add(struct pfs_node *parent, struct pfs_node *child, bool backfill)
{
	struct pfs_node **p = realloc(child->parents,
				      (child->nparents + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	child->parents = p;
	if (parent != g.root) {
		struct pfs_edge edge = { child, calloc(1, sizeof(*edge.st)) };
		if (!edge.st)
			return -ENOMEM;
		edge.st->backfilled = backfill ? 0 : ~0ull;
		int rc = edges_update(parent, &edge, NULL);
		if (rc) {
			free(edge.st);
			return rc;
		}
		if (backfill)
			backfill_idle_producers(parent, &edge);
	}
	child->parents[child->nparents++] = parent;
	return 0;
}

static void edge_del(struct pfs_node *parent, struct pfs_node *child)
{
	for (size_t i = 0; i < child->nparents; i++)
		if (child->parents[i] == parent) {
			child->parents[i] = child->parents[--child->nparents];
			break;
		}
	if (parent != g.root)
		edges_update(parent, NULL, child);
}

/* Is `n` reachable downstream from `from` (or the same node)? */
static bool feeds(const struct pfs_node *from, const struct pfs_node *n)
{
	if (from == n)
		return true;
	const struct pfs_edges *e = from->out;
	for (size_t i = 0; e && i < e->n; i++)
		if (feeds(e->e[i].node, n))
			return true;
	return false;
}

/* ---- control operations ------------------------------------------------ */

static bool name_ok(const char *name)
{
	return name[0] && strlen(name) <= NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

int pfs_node_mkdir(struct pfs_node *dir, const char *name, struct pfs_node **out)
{
	if (!name_ok(name))
		return -EINVAL;
	if (pfs_node_entry(dir, name))
		return -EEXIST;
	struct pfs_stage *st = stage_new(name, true);
	if (!st)
		return -EINVAL;
	struct pfs_node *n = node_new(name, st);
	if (!n) {
		stage_free(st);
		return -ENOMEM;
	}
	n->home = dir;
	if (!entry_add(dir, name, n, NULL) || edge_add(dir, n, true) != 0) {
		pfs_node_put(n);
		return -ENOMEM;
	}
	if (out)
		*out = n;
	pfs_graph_kick();
	return 0;
}

static struct pfs_ctx *ctx_by_uid(uint64_t uid)
{
	for (int i = 0; i < PFS_MAX_CTX; i++)
		if (g.ctxs[i] && g.ctxs[i]->uid == uid)
			return g.ctxs[i];
	return NULL;
}

/* Stop producers from waiting for n's readers and let go of its rings. */
static void detach_ports(struct pfs_node *n)
{
	pthread_mutex_lock(&g.ctx_lock);
	__atomic_store_n(&n->removed, true, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < n->nports; i++) {
		struct pfs_ctx *c = ctx_by_uid(n->ports[i]->ctx_uid);
		if (c)
			ctx_forget_port(c, n->ports[i]);
		bw_ibuf_cancel(n->ports[i]->ib);
	}
	pthread_mutex_unlock(&g.ctx_lock);
}

int pfs_node_rmdir(struct pfs_node *dir, const char *name)
{
	struct pfs_entry *e = pfs_node_entry(dir, name);
	if (!e || e->link)
		return e ? -ENOTDIR : -ENOENT;
	struct pfs_node *n = e->node;
	for (struct pfs_entry *c = n->entries; c; c = c->next)
		if (!c->link) {
			pfs_log("rmdir %s: it has child nodes (%s)", name, c->name);
			return -ENOTEMPTY;
		}
	if (n->source) {
		pfs_log("rmdir %s: a source stays as long as the mount", name);
		return -EBUSY;
	}
	/* Links inside n are edges into other nodes: they go with it. */
	while (n->entries) {
		edge_del(n, n->entries->node);
		entry_del(n, n->entries);
	}
	/* Links elsewhere that point at n must go too: n's other parents. */
	while (n->nparents) {
		struct pfs_node *p = n->parents[0];
		for (struct pfs_entry *l = p->entries; l; l = l->next)
			if (l->node == n) {
				entry_del(p, l);
				break;
			}
		edge_del(p, n);
	}
	id_remove(n);
	detach_ports(n);
	pfs_graph_kick();
	pfs_node_put(n);
	return 0;
}

int pfs_node_rename(struct pfs_node *from, const char *name,
		    struct pfs_node *to, const char *newname)
{
	struct pfs_entry *e = pfs_node_entry(from, name);
	if (!e)
		return -ENOENT;
	if (!name_ok(newname))
		return -EINVAL;
	struct pfs_entry *clash = pfs_node_entry(to, newname);
	if (clash == e)
		return 0;
	if (clash) {
		pfs_log("mv %s: %s exists already", name, newname);
		return -EEXIST;
	}
	struct pfs_node *n = e->node;
	if (!e->link && to != g.root && feeds(n, to)) {
		pfs_log("mv %s: cannot move a node under itself or below it", name);
		return -EINVAL;
	}
	if (e->link && to != from) {
		if (to != g.root && feeds(n, to))
			return -ELOOP;
		int rc = pfs_node_link(to, newname, n, e->link);
		return rc ? rc : pfs_node_unlink(from, name);
	}
	if (!entry_add(to, newname, n, e->link))
		return -ENOMEM;
	if (!e->link) {
		if (to != from) {
			int rc = edge_add(to, n, false);
			if (rc)
				return rc;
			edge_del(from, n);
			n->home = to;
		}
		snprintf(n->name, sizeof(n->name), "%s", newname);
	}
	entry_del(from, e);
	pfs_graph_kick();
	return 0;
}

int pfs_graph_add_source(struct pfs_source *s)
{
	if (!name_ok(s->name) || pfs_node_entry(g.root, s->name)) {
		pfs_log("source %s: bad or duplicate name", s->name);
		return -EEXIST;
	}
	struct pfs_stage *st = stage_new("pass", false);
	struct pfs_node *n = st ? node_new(s->name, st) : NULL;
	if (!n) {
		stage_free(st);
		return -ENOMEM;
	}
	n->source = s;
	s->node = n;
	n->home = g.root;
	if (!entry_add(g.root, s->name, n, NULL) || edge_add(g.root, n, false) != 0)
		return -ENOMEM;
	return 0;
}

int pfs_node_link(struct pfs_node *dir, const char *name,
		  struct pfs_node *target, const char *text)
{
	if (!name_ok(name))
		return -EINVAL;
	if (pfs_node_entry(dir, name))
		return -EEXIST;
	if (dir == g.root) {
		pfs_log("ln -s %s %s: links at the top would give no data", text, name);
		return -EINVAL;
	}
	if (feeds(target, dir)) {
		pfs_log("ln -s %s %s: that would make a cycle", text, name);
		return -ELOOP;
	}
	for (size_t i = 0; i < target->nparents; i++)
		if (target->parents[i] == dir) {
			pfs_log("ln -s %s %s: already a child here", text, name);
			return -EEXIST;
		}
	struct pfs_entry *e = entry_add(dir, name, target, text);
	if (!e || !e->link)
		return -ENOMEM;
	int rc = edge_add(dir, target, false);
	if (rc)
		entry_del(dir, e);
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
	entry_del(dir, e);
	return 0;
}

int pfs_node_set_filter(struct pfs_node *n, const char *spec)
{
	struct pfs_stage *st = stage_new(spec, false);
	if (!st)
		return -EINVAL;
	struct pfs_stage *old = n->stage;
	rcu_assign_pointer(n->stage, st);
	call_rcu(&old->rcu, stage_free_rcu);
	pfs_log("%s: filter is now '%s'", n->name, spec);
	return 0;
}

const char *pfs_node_spec(const struct pfs_node *n)
{
	return n->stage->spec;
}

bool pfs_node_upstream_ended(const struct pfs_node *n)
{
	if (__atomic_load_n(&n->removed, __ATOMIC_ACQUIRE))
		return true;
	if (n->open_writers)
		return false;
	if (n->source)
		return __atomic_load_n(&n->source->ctx->ended, __ATOMIC_ACQUIRE);
	if (n->nparents == 1 && n->parents[0] == g.root)
		return n->written;	/* top level: only what is written */
	for (size_t i = 0; i < n->nparents; i++)
		if (!pfs_node_upstream_ended(n->parents[i]))
			return false;
	return true;
}

void pfs_node_start_sources(const struct pfs_node *n)
{
	if (n->source)
		pfs_source_start(n->source);
	for (size_t i = 0; i < n->nparents; i++)
		if (n->parents[i] != g.root)
			pfs_node_start_sources(n->parents[i]);
}

void pfs_node_reader_add(struct pfs_node *n, struct pfs_reader *r)
{
	pthread_mutex_lock(&n->readers_lock);
	r->npending = 0;
	r->next = n->readers;
	n->readers = r;
	pthread_mutex_unlock(&n->readers_lock);
}

void pfs_node_reader_del(struct pfs_node *n, struct pfs_reader *r)
{
	pthread_mutex_lock(&n->readers_lock);
	for (struct pfs_reader **p = &n->readers; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	while (r->npending)
		bw_gate_leave(&r->pending[--r->npending].hold);
	pthread_mutex_unlock(&n->readers_lock);
	n->closed_reader_drops += r->drops(r);
}

/* Take reader r's pending hold on ib (or, with hold NULL, let go of it). */
static bool take_hold(struct pfs_reader *r, const struct bw_ibuf *ib,
		      struct bw_hold *hold)
{
	for (unsigned i = 0; i < r->npending; i++)
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

bool pfs_reader_take_hold(struct pfs_node *n, struct pfs_reader *r,
			  const struct bw_ibuf *ib, struct bw_hold *hold)
{
	pthread_mutex_lock(&n->readers_lock);
	bool found = take_hold(r, ib, hold);
	pthread_mutex_unlock(&n->readers_lock);
	return found;
}

/* A lossless ring is about to appear at n: hold it from its start for
 * every reader already there (before any can see the ring), so that none
 * misses a record before it follows it.  With join false, undo that. */
static void hold_for_readers(struct pfs_node *n, struct bw_ibuf *ib, bool join)
{
	pthread_mutex_lock(&n->readers_lock);
	for (struct pfs_reader *r = n->readers; r; r = r->next) {
		if (!join)
			take_hold(r, ib, NULL);
		else if (r->npending < PFS_READER_PENDING &&
			 bw_gate_join(&ib->gate, 0, &r->pending[r->npending].hold) == 0)
			r->pending[r->npending++].ib = ib;
	}
	pthread_mutex_unlock(&n->readers_lock);
}

/* snprintf into what is left of buf; returns the new length used. */
static size_t append(char *buf, size_t cap, size_t used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t cap, size_t used, const char *fmt, ...)
{
	if (used >= cap)
		return used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
	return n < 0 ? used : used + (size_t)n < cap ? used + (size_t)n : cap;
}

size_t pfs_node_stats(struct pfs_node *n, char *buf, size_t cap)
{
	uint64_t records = 0, bytes = 0, copied = 0, drops = n->closed_reader_drops;
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++) {
		struct pfs_port *p = n->ports[i];
		records += bw_ibuf_head(p->ib);
		bytes += __atomic_load_n(&p->bytes, __ATOMIC_RELAXED);
		copied += __atomic_load_n(&p->copied_bytes, __ATOMIC_RELAXED);
		drops += __atomic_load_n(&p->lost, __ATOMIC_RELAXED);
	}
	unsigned nreaders = 0;
	for (struct pfs_reader *r = n->readers; r; r = r->next, nreaders++)
		drops += r->drops(r);
	size_t used = append(buf, cap, 0, "filter: %s\nrecords: %llu\nbytes: %llu\n"
			     "drops: %llu\nreaders: %u\ncopied_bytes: %llu\n",
			     n->stage->spec, (unsigned long long)records,
			     (unsigned long long)bytes, (unsigned long long)drops, nreaders,
			     (unsigned long long)copied);
	if (n->readers) {
		used = append(buf, cap, used, "reader_drops:");
		for (struct pfs_reader *r = n->readers; r; r = r->next)
			used = append(buf, cap, used, " %llu", (unsigned long long)r->drops(r));
		used = append(buf, cap, used, "\n");
	}
	if (n->source && n->source->ops->stats)
		used += n->source->ops->stats(n->source, buf + used, cap - used);
	if (n->stage->filter->stats) {
		int len = n->stage->filter->stats(n->stage->state, buf + used, cap - used);
		used += len < 0 ? 0 : (size_t)len < cap - used ? (size_t)len : cap - used;
	}
	return used;
}

/* ---- setup ------------------------------------------------------------- */

int pfs_graph_init(uint64_t ring_bytes)
{
	g.ring_bytes = ring_bytes;
	struct pfs_stage *st = stage_new("pass", false);
	if (!st)
		return -ENOMEM;
	g.root = node_new("", st);
	return g.root ? 0 : -ENOMEM;
}

void pfs_graph_fini(void)
{
	/* Producers have stopped: free every node left, children first. */
	while (g.root && g.root->entries) {
		struct pfs_node *n = g.root->entries->node;
		struct pfs_node *dir = g.root;
		while (n->entries) {
			struct pfs_entry *c = n->entries;
			if (c->link) {
				pfs_node_unlink(n, c->name);
				continue;
			}
			dir = n;
			n = c->node;
		}
		if (n->source)
			n->source = NULL;	/* freed by its owner */
		pfs_node_rmdir(dir, n->name);
	}
	if (g.root)
		pfs_node_put(g.root);
	g.root = NULL;
	rcu_barrier();
}

/* ---- producers --------------------------------------------------------- */

struct pfs_ctx *pfs_ctx_new(bool lossless)
{
	struct pfs_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lossless = lossless;
	c->uid = pfs_graph_new_id();
	pthread_mutex_init(&c->run_lock, NULL);
	pthread_mutex_lock(&g.ctx_lock);
	c->id = -1;
	for (int i = 0; i < PFS_MAX_CTX && c->id < 0; i++)
		if (!g.ctxs[i]) {
			g.ctxs[i] = c;
			c->id = i;
		}
	pthread_mutex_unlock(&g.ctx_lock);
	if (c->id < 0) {
		pfs_log("too many producers (at most %d)", PFS_MAX_CTX);
		free(c);
		return NULL;
	}
	return c;
}

void pfs_ctx_free(struct pfs_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g.ctx_lock);
	g.ctxs[c->id] = NULL;
	pthread_mutex_unlock(&g.ctx_lock);
	pthread_mutex_destroy(&c->run_lock);
	free(c->dbufs);
	free(c->ibufs);
	free(c);
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
 * Called with g.ctx_lock held.
 */
static bool ctx_add_ibuf(struct pfs_ctx *c, struct bw_ibuf *ib)
{
	for (size_t i = 0; c->lossless && i < c->ndbufs; i++)
		if (bw_dbuf_watch(c->dbufs[i], ib) != 0)
			return false;
	return array_add(&c->ibufs, &c->nibufs, ib);
}

static bool ctx_add_dbuf(struct pfs_ctx *c, struct bw_dbuf *db)
{
	for (size_t i = 0; c->lossless && i < c->nibufs; i++)
		if (bw_dbuf_watch(db, c->ibufs[i]) != 0)
			return false;
	return array_add(&c->dbufs, &c->ndbufs, db);
}

static void ctx_forget_port(struct pfs_ctx *c, struct pfs_port *p)
{
	for (size_t i = 0; i < c->ndbufs; i++)
		bw_dbuf_unwatch(c->dbufs[i], p->ib);
	array_del((void **)c->ibufs, &c->nibufs, p->ib);
	if (p->db)
		array_del((void **)c->dbufs, &c->ndbufs, p->db);
}

/* Descriptors per IBuf: one per KiB of data ring. */
static uint64_t ibuf_count(void)
{
	uint64_t n = g.ring_bytes / 1024;
	return n < 1024 ? 1024 : n;
}

static struct pfs_port *port_find(const struct pfs_node *n, uint64_t uid)
{
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < nports; i++)
		if (n->ports[i]->ctx_uid == uid)
			return n->ports[i];
	return NULL;
}

/* Make producer c's port at node n: rare (once per producer and node). */
static struct pfs_port *port_new(struct pfs_ctx *c, struct pfs_node *n)
{
	struct pfs_port *p = calloc(1, sizeof(*p));
	unsigned flags = c->lossless ? BW_LOSSLESS : 0;
	if (!p || bw_ibuf_create(&p->ib, ibuf_count(), flags) != 0) {
		free(p);
		pfs_log("%s: no memory for a ring", n->name);
		return NULL;
	}
	p->ctx_uid = c->uid;
	bw_waitq_set_eventfd(&p->ib->data, g.efd);
	if (c->lossless)
		hold_for_readers(n, p->ib, true);
	pthread_mutex_lock(&g.ctx_lock);
	/* A control thread may make ports ahead of the producer: one wins. */
	struct pfs_port *won = port_find(n, c->uid);
	bool ok = !won && !n->removed && n->nports < PFS_MAX_PORTS &&
		  ctx_add_ibuf(c, p->ib);
	if (ok) {
		n->ports[n->nports] = p;
		__atomic_store_n(&n->nports, n->nports + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g.ctx_lock);
	if (!ok && c->lossless)
		hold_for_readers(n, p->ib, false);
	if (won) {
		port_free(p);
		return won;
	}
	if (!ok) {
		if (!n->removed)
			pfs_log("%s: too many producers", n->name);
		port_free(p);
		return NULL;
	}
	pfs_graph_kick();	/* parked readers follow the new ring */
	return p;
}

static struct pfs_port *port_of(struct pfs_ctx *c, struct pfs_node *n)
{
	struct pfs_port *p = port_find(n, c->uid);
	return p ? p : port_new(c, n);
}

/* A port's counters have one writer, its producer, and readers (stats):
 * an atomic store, not a locked add, on the per-record path. */
static void count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* The port's own data ring, made on first use. */
static struct bw_dbuf *port_dbuf(struct pfs_ctx *c, struct pfs_port *p)
{
	if (p->db)
		return p->db;
	unsigned flags = c->lossless ? BW_LOSSLESS : 0;
	struct bw_dbuf *db;
	if (bw_dbuf_create(&db, g.ring_bytes, flags) != 0)
		return NULL;
	pthread_mutex_lock(&g.ctx_lock);
	bool ok = ctx_add_dbuf(c, db);
	pthread_mutex_unlock(&g.ctx_lock);
	if (!ok) {
		bw_dbuf_destroy(db);
		return NULL;
	}
	p->db = db;
	return db;
}

/* Make c's ports at every node below n, with a data ring where the
 * filter makes bytes (RCU online). */
static void prepare_below(struct pfs_ctx *c, struct pfs_node *n)
{
	struct pfs_edges *out = rcu_dereference(n->out);
	for (size_t i = 0; out && i < out->n; i++) {
		struct pfs_node *child = out->e[i].node;
		struct pfs_port *p = port_of(c, child);
		if (!p)
			continue;
		if (rcu_dereference(child->stage)->filter->makes_bytes)
			port_dbuf(c, p);
		prepare_below(c, child);
	}
}

int pfs_ctx_prepare(struct pfs_ctx *c, struct pfs_node *n, bool copies)
{
	struct pfs_port *p = port_of(c, n);
	if (!p || (copies && !port_dbuf(c, p)))
		return -ENOMEM;
	prepare_below(c, n);
	return 0;
}

uint8_t *pfs_ctx_alloc(struct pfs_ctx *c, struct pfs_node *n, uint32_t len,
		       struct pfs_desc *d)
{
	struct pfs_port *p = port_of(c, n);
	struct bw_dbuf *db = p ? port_dbuf(c, p) : NULL;
	if (!db)
		return NULL;
	uint64_t pos;
	uint8_t *w = bw_dbuf_alloc(db, len, &pos);
	if (!w) {
		count(&p->lost, 1);
		return NULL;
	}
	d->pos = pos;
	d->dbuf = db->id;
	d->len = len;
	count(&p->copied_bytes, len);
	return w;
}

struct sched_out {
	struct pfs_out base;
	struct pfs_ctx *c;
	struct pfs_node *n;
};

static void out_emit(struct pfs_out *o, const struct pfs_desc *d, const uint8_t *data)
{
	struct sched_out *so = (struct sched_out *)o;
	pfs_ctx_inject(so->c, so->n, d, data);
}

static uint8_t *out_alloc(struct pfs_out *o, uint32_t len, struct pfs_desc *d)
{
	struct sched_out *so = (struct sched_out *)o;
	return pfs_ctx_alloc(so->c, so->n, len, d);
}

static void touch(struct pfs_ctx *c, struct pfs_port *p)
{
	if (p->touched)
		return;
	if (c->ntouched == sizeof(c->touched) / sizeof(c->touched[0]))
		pfs_ctx_flush(c);
	p->touched = true;
	c->touched[c->ntouched++] = p;
}

static void run_stage(struct pfs_ctx *c, struct pfs_node *child,
		      const struct pfs_desc *d, const uint8_t *data)
{
	struct pfs_stage *st = rcu_dereference(child->stage);
	struct sched_out so = { { out_emit, out_alloc }, c, child };
	st->filter->process(st->state, d, data, &so.base);
}

/*
 * Run the records that producer c published at `parent` before `end`
 * through a new child's stage: the child starts from what its parent
 * still holds.  Only the producer itself reads its rings this way, so
 * nothing changes under us.
 */
static void backfill(struct pfs_ctx *c, struct pfs_port *from,
		     struct pfs_node *child, uint64_t end)
{
	struct bw_ibuf *ib = from->ib;
	uint64_t seq = end > ib->count ? end - ib->count : 0;
	if (seq < ib->tail)
		seq = ib->tail;
	for (; seq < end; seq++) {
		const struct pfs_desc *d = &ib->slots[seq & ib->mask];
		struct bw_dbuf *db = bw_dbuf_lookup(d->dbuf);
		if (db && bw_dbuf_intact(db, d->pos))
			run_stage(c, child, d, bw_dbuf_ptr(db, d->pos));
	}
}

/* Claim the edge's backfill for producer c: true if it is ours to do. */
static bool claim_backfill(struct pfs_ctx *c, struct pfs_edge_state *st)
{
	uint64_t bit = 1ull << c->id;
	/* Per record and edge: a plain load, the locked OR only once. */
	if (__atomic_load_n(&st->backfilled, __ATOMIC_ACQUIRE) & bit)
		return false;
	return !(__atomic_fetch_or(&st->backfilled, bit, __ATOMIC_ACQ_REL) & bit);
}

/* At mkdir: producers that are idle now (their run lock is free within a
 * moment) backfill the new child at once; a busy one does it itself before
 * its next record at the parent. */
static void backfill_idle_producers(struct pfs_node *parent, const struct pfs_edge *edge)
{
	for (uint32_t i = 0; i < parent->nports; i++) {
		struct pfs_port *from = parent->ports[i];
		pthread_mutex_lock(&g.ctx_lock);
		struct pfs_ctx *c = ctx_by_uid(from->ctx_uid);
		pthread_mutex_unlock(&g.ctx_lock);
		if (!c)
			continue;
		port_of(c, edge->node);	/* now, not in the producer's hot path */
		struct timespec soon;
		clock_gettime(CLOCK_REALTIME, &soon);
		soon.tv_nsec += 100 * 1000 * 1000;
		if (soon.tv_nsec >= 1000000000) {
			soon.tv_sec++;
			soon.tv_nsec -= 1000000000;
		}
		if (pthread_mutex_timedlock(&c->run_lock, &soon) != 0)
			continue;
		if (claim_backfill(c, edge->st)) {
			backfill(c, from, edge->node, from->ib->head);
			pfs_ctx_flush(c);
		}
		pthread_mutex_unlock(&c->run_lock);
	}
}

void pfs_ctx_inject(struct pfs_ctx *c, struct pfs_node *n,
		    const struct pfs_desc *d, const uint8_t *data)
{
	struct pfs_port *p = port_of(c, n);
	if (!p)
		return;
	struct pfs_desc rec = *d;
	if (bw_ibuf_publish(p->ib, &rec) != 0) {
		count(&p->lost, 1);
		return;
	}
	count(&p->bytes, rec.len);
	touch(c, p);

	struct pfs_edges *out = rcu_dereference(n->out);
	for (size_t i = 0; out && i < out->n; i++) {
		struct pfs_edge *e = &out->e[i];
		if (claim_backfill(c, e->st))
			backfill(c, p, e->node, rec.seq);
		run_stage(c, e->node, &rec, data);
	}
	if (++c->since_flush >= PFS_FLUSH_BATCH)
		pfs_ctx_flush(c);
}

void pfs_ctx_flush(struct pfs_ctx *c)
{
	for (size_t i = 0; i < c->ntouched; i++) {
		c->touched[i]->touched = false;
		bw_ibuf_flush(c->touched[i]->ib);
	}
	c->ntouched = 0;
	c->since_flush = 0;
}

void pfs_ctx_set_ended(struct pfs_ctx *c, bool ended)
{
	pfs_ctx_flush(c);
	__atomic_store_n(&c->ended, ended, __ATOMIC_RELEASE);
	pfs_graph_kick();
}

void pfs_ctx_cancel(struct pfs_ctx *c)
{
	pthread_mutex_lock(&g.ctx_lock);
	for (size_t i = 0; i < c->nibufs; i++)
		bw_ibuf_cancel(c->ibufs[i]);
	pthread_mutex_unlock(&g.ctx_lock);
}

int pfs_node_writer_open(struct pfs_node *n)
{
	if (!n->writer && !(n->writer = pfs_ctx_new(true)))
		return -ENOMEM;
	n->open_writers++;
	n->written = true;
	return 0;
}

void pfs_node_writer_close(struct pfs_node *n)
{
	if (--n->open_writers == 0)
		pfs_graph_kick();	/* readers may be at EOF now */
}
