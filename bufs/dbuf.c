/* SPDX-License-Identifier: BSD-3-Clause */
#include "dbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct bw_dbuf *registry[BW_DBUF_MAX + 1];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static int register_id(struct bw_dbuf *d)
{
	static unsigned next = 1;
	int rc = -ENFILE;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < BW_DBUF_MAX; i++) {
		unsigned id = (next + i - 1) % BW_DBUF_MAX + 1;
		if (!registry[id]) {
			d->id = (uint16_t)id;
			__atomic_store_n(&registry[id], d, __ATOMIC_RELEASE);
			next = id % BW_DBUF_MAX + 1;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

struct bw_dbuf *bw_dbuf_lookup(uint16_t id)
{
	return __atomic_load_n(&registry[id], __ATOMIC_ACQUIRE);
}

/* What every DBuf needs once its memory is mapped. */
static int dbuf_setup(struct bw_dbuf *d, uint64_t size, unsigned flags)
{
	int rc = register_id(d);
	if (rc)
		return rc;
	d->shm.hdr->magic = PFS_RING_MAGIC_DBUF;
	d->shm.hdr->id = d->id;
	d->shm.hdr->size = size;
	d->bytes = d->shm.ring;
	d->size = size;
	d->mask = size - 1;
	d->tail_step = size / 64;
	d->lossless = flags & BW_LOSSLESS;
	pthread_mutex_init(&d->watch_lock, NULL);
	return 0;
}

static struct bw_dbuf *dbuf_alloc_struct(void)
{
	struct bw_dbuf *d = aligned_alloc(64, sizeof(*d));
	if (d)
		memset(d, 0, sizeof(*d));
	return d;
}

int bw_dbuf_create(struct bw_dbuf **out, uint64_t size, unsigned flags)
{
	if (size < 4096 || (size & (size - 1)))
		return -EINVAL;
	struct bw_dbuf *d = dbuf_alloc_struct();
	if (!d)
		return -ENOMEM;
	/* Populated now: a first-touch fault per page in the producer's hot
	 * path costs more than all the rest of its work on the first lap. */
	int rc = bw_shm_map(&d->shm, "pipesfs-dbuf", size, true);
	if (rc == 0 && (rc = dbuf_setup(d, size, flags)) != 0)
		bw_shm_unmap(&d->shm);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int bw_dbuf_wrap_file(struct bw_dbuf **out, int fd, uint64_t len)
{
	uint64_t size = 4096;
	while (size < len)
		size <<= 1;
	struct bw_dbuf *d = dbuf_alloc_struct();
	if (!d)
		return -ENOMEM;
	int rc = bw_shm_map_file(&d->shm, "pipesfs-dbuf-file", fd, size);
	if (rc == 0 && (rc = dbuf_setup(d, size, 0)) != 0)
		bw_shm_unmap(&d->shm);
	if (rc) {
		free(d);
		return rc;
	}
	d->read_only = true;
	*out = d;
	return 0;
}

void bw_dbuf_destroy(struct bw_dbuf *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&registry_lock);
	__atomic_store_n(&registry[d->id], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_destroy(&d->watch_lock);
	free(d->watched);
	bw_shm_unmap(&d->shm);
	free(d);
}

int bw_dbuf_watch(struct bw_dbuf *d, struct bw_ibuf *ib)
{
	int rc = 0;
	pthread_mutex_lock(&d->watch_lock);
	if (d->nwatched == d->watched_cap) {
		size_t cap = d->watched_cap ? d->watched_cap * 2 : 4;
		struct bw_ibuf **w = realloc(d->watched, cap * sizeof(*w));
		if (w) {
			d->watched = w;
			d->watched_cap = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		d->watched[d->nwatched++] = ib;
	pthread_mutex_unlock(&d->watch_lock);
	return rc;
}

void bw_dbuf_unwatch(struct bw_dbuf *d, struct bw_ibuf *ib)
{
	pthread_mutex_lock(&d->watch_lock);
	for (size_t i = 0; i < d->nwatched; i++)
		if (d->watched[i] == ib) {
			d->watched[i] = d->watched[--d->nwatched];
			break;
		}
	pthread_mutex_unlock(&d->watch_lock);
}

/*
 * The lowest position of this DBuf that a joined reader of `ib` may still
 * read: the first descriptor at or after the smallest hold that points
 * here.  Positions only grow along an IBuf, so the first one is the lowest.
 * Safe because ib is written by this thread: no descriptor changes under us.
 */
static uint64_t lowest_needed(const struct bw_dbuf *d, const struct bw_ibuf *ib)
{
	if (__atomic_load_n(&ib->gate.cancelled, __ATOMIC_ACQUIRE))
		return BW_NO_HOLD;	/* being torn down: its readers get EOF */
	uint64_t seq = bw_gate_min(&ib->gate);
	if (seq < ib->tail)
		seq = ib->tail;
	for (; seq < ib->head; seq++) {
		const struct pfs_desc *desc = &ib->slots[seq & ib->mask];
		if (desc->dbuf == d->id)
			return desc->pos;
	}
	return BW_NO_HOLD;
}

struct dbuf_query {
	struct bw_dbuf *d;
	struct bw_ibuf *ib;
	uint64_t need;
};

static bool dbuf_ready(void *arg)
{
	struct dbuf_query *q = arg;
	return lowest_needed(q->d, q->ib) >= q->need;
}

/* Lossless: wait until no watched reader needs bytes below `need`, and
 * return how far the tail may go (at least need).  Readers of a cancelled
 * IBuf do not count, so tearing a consumer down always ends the wait. */
static uint64_t wait_for_readers(struct bw_dbuf *d, uint64_t need)
{
	for (;;) {
		struct dbuf_query q = { d, NULL, need };
		uint64_t lowest = BW_NO_HOLD;
		pthread_mutex_lock(&d->watch_lock);
		for (size_t i = 0; i < d->nwatched && !q.ib; i++) {
			uint64_t low = lowest_needed(d, d->watched[i]);
			if (low < need)
				q.ib = d->watched[i];
			else if (low < lowest)
				lowest = low;
		}
		pthread_mutex_unlock(&d->watch_lock);
		if (!q.ib)
			return lowest;
		/* Watched IBufs outlive our looking at them (see dbuf.h).
		 * A cancelled one no longer counts: look again. */
		bw_ibuf_flush(q.ib);
		bw_gate_wait(&q.ib->gate, dbuf_ready, &q);
	}
}

static void move_tail(struct bw_dbuf *d, uint64_t need, uint64_t limit)
{
	uint64_t target = d->tail + d->tail_step;
	if (target < need)
		target = need;
	if (target > limit)
		target = limit;
	if (d->lossless) {
		uint64_t allowed = wait_for_readers(d, need);
		if (target > allowed)
			target = allowed;
	}
	d->tail = target;
	__atomic_store_n(&d->shm.hdr->tail, target, __ATOMIC_RELAXED);
	/* Readers that see any byte we write next also see the new tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void *bw_dbuf_alloc(struct bw_dbuf *d, uint32_t len, uint64_t *pos)
{
	if (len > d->size / 2 || d->read_only)
		return NULL;
	uint64_t start = d->head;
	uint64_t off = start & d->mask;
	if (off + len > d->size)
		start += d->size - off;	/* skip the ring's end: no straddling */
	uint64_t end = start + len;
	if (end > d->size && end - d->size > d->tail)
		move_tail(d, end - d->size, start);
	d->head = end;
	*pos = start;
	return d->bytes + (start & d->mask);
}
