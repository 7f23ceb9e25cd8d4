/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/dbuf.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct bw_dbuf_table bw_dbuf_registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static int register_id(struct bw_dbuf *d)
{
	static unsigned next = 1;
	int rc = -ENFILE;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < BW_DBUF_MAX; i++) {
		unsigned id = (next + i - 1) % BW_DBUF_MAX + 1;
		if (!bw_dbuf_registry.by_id[id]) {
			d->id = (uint16_t)id;
			__atomic_store_n(&bw_dbuf_registry.by_id[id], d, __ATOMIC_RELEASE);
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
	return bw_dbuf_find(&bw_dbuf_registry, id);
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
	if (d) {
		memset(d, 0, sizeof(*d));
		d->notify_fd = d->file_fd = -1;
	}
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

/* The rest of a read-only DBuf (a file's, a wrapped ring's) once its
 * memory is mapped into d->shm, or not (rc): 0, or -errno with d freed. */
static int read_only_setup(struct bw_dbuf *d, uint64_t size, int rc)
{
	if (rc == 0 && (rc = dbuf_setup(d, size, 0)) != 0)
		bw_shm_unmap(&d->shm);
	if (rc) {
		free(d);
		return rc;
	}
	d->read_only = true;
	d->notify_fd = -1;
	d->file_fd = -1;
	return 0;
}

/* ---- files that shrink under their mapping (see dbuf.h) ---- */

/* The mappings of file DBufs, by id, for the SIGBUS handler: static memory
 * it may read at any moment, where a DBuf might be being freed.  lo is 0
 * while the slot is unused; it is set after hi and cleared first. */
static struct file_map {
	uintptr_t lo, hi;
} file_maps[BW_DBUF_MAX + 1];
static struct sigaction sigbus_before;
static uintptr_t page_size;
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;

void bw_dbuf_set_truncated(struct bw_dbuf *d)
{
	/* Every position is below the tail now: readers that check a record
	 * after using it drop it. */
	__atomic_store_n(&d->shm.hdr->tail, UINT64_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&d->truncated, true, __ATOMIC_RELEASE);
	/* Before the zero pages appear: whoever reads them sees the tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	int fd = __atomic_load_n(&d->notify_fd, __ATOMIC_ACQUIRE);
	uint64_t one = 1;
	/* A failed write loses a wakeup only: the flag is set all the same. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

void bw_dbuf_notify_truncated(struct bw_dbuf *d, int efd)
{
	__atomic_store_n(&d->notify_fd, efd, __ATOMIC_RELEASE);
}

/* The id of the file DBuf whose mapping holds addr, or 0. */
static unsigned file_map_at(uintptr_t addr)
{
	for (unsigned id = 1; id <= BW_DBUF_MAX; id++) {
		uintptr_t lo = __atomic_load_n(&file_maps[id].lo, __ATOMIC_ACQUIRE);
		if (lo && addr >= lo && addr < file_maps[id].hi)
			return id;
	}
	return 0;
}

/* A fault in a file DBuf's mapping past its file's end: from the faulting
 * page to the end of the mapping, all lies past it now, so zero pages go
 * there in one go.  Returning retries the access, which reads zeros.  Any
 * other SIGBUS gets the action from before: restored, it runs when the
 * access faults again (or the signal, if one was sent, is raised). */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	uintptr_t addr = (uintptr_t)si->si_addr;
	unsigned id = si->si_code == BUS_ADRERR ? file_map_at(addr) : 0;
	struct bw_dbuf *d = id ? bw_dbuf_lookup((uint16_t)id) : NULL;
	if (d) {
		bw_dbuf_set_truncated(d);
		uintptr_t page = addr & ~(page_size - 1);
		if (mmap((void *)page, file_maps[id].hi - page, PROT_READ,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
			return;
	}
	sigaction(sig, &sigbus_before, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

static void install_sigbus(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &sigbus_before);
}

int bw_dbuf_wrap_file(struct bw_dbuf **out, int fd, uint64_t len)
{
	uint64_t size = 4096;
	while (size < len)
		size <<= 1;
	struct bw_dbuf *d = dbuf_alloc_struct();
	if (!d)
		return -ENOMEM;
	int rc = read_only_setup(d, size, bw_shm_map_file(&d->shm, "pipesfs-dbuf-file", fd, size));
	if (rc)
		return rc;
	d->file_fd = fd;
	pthread_once(&sigbus_once, install_sigbus);
	struct file_map *m = &file_maps[d->id];
	m->hi = (uintptr_t)d->shm.file_base + d->shm.file_map_len;
	__atomic_store_n(&m->lo, (uintptr_t)d->shm.file_base, __ATOMIC_RELEASE);
	*out = d;
	return 0;
}

int bw_dbuf_wrap(struct bw_dbuf **out, void *bytes, uint64_t size)
{
	if (size < 4096 || (size & (size - 1)))
		return -EINVAL;
	struct bw_dbuf *d = dbuf_alloc_struct();
	if (!d)
		return -ENOMEM;
	int rc = read_only_setup(d, size, bw_shm_wrap(&d->shm, "pipesfs-dbuf-wrapped", bytes));
	if (rc == 0)
		*out = d;
	return rc;
}

/* Map a client's file DBuf's file: as much of it as there is, up to the
 * ring's size. */
static int attach_file(struct bw_dbuf *d, int file_fd)
{
	struct stat st;
	if (fstat(file_fd, &st) != 0)
		return -errno;
	size_t len = (size_t)st.st_size < d->shm.hdr->size ? (size_t)st.st_size : d->shm.hdr->size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_SHARED, file_fd, 0) : MAP_FAILED;
	if (map == MAP_FAILED)
		return len ? -errno : -EPROTO;
	d->shm.ring = d->shm.file_base = map;
	d->shm.file_map_len = len;
	close(file_fd);
	return 0;
}

int bw_dbuf_attach(struct bw_dbuf_table *t, int fd, int file_fd, struct bw_dbuf **out)
{
	struct bw_dbuf *d = dbuf_alloc_struct();
	if (!d)
		return -ENOMEM;
	int rc = bw_shm_attach(&d->shm, fd);
	if (rc == 0) {
		const struct pfs_ring_header *h = d->shm.hdr;
		uint64_t size = h->size;
		if (h->magic != PFS_RING_MAGIC_DBUF || h->id == 0 || h->id > BW_DBUF_MAX ||
		    size < 4096 || (size & (size - 1)) || bw_dbuf_find(t, (uint16_t)h->id) ||
		    (file_fd < 0 && size > d->shm.map_len - h->data_offset))
			rc = -EPROTO;
		else if (file_fd >= 0)
			rc = attach_file(d, file_fd);
		if (rc) {
			d->shm.fd = -1;	/* still the caller's */
			bw_shm_unmap(&d->shm);
		}
	}
	if (rc) {
		free(d);
		return rc;
	}
	d->bytes = d->shm.ring;
	d->size = d->shm.hdr->size;
	d->mask = d->size - 1;
	d->id = (uint16_t)d->shm.hdr->id;
	d->read_only = true;
	d->notify_fd = d->file_fd = -1;
	pthread_mutex_init(&d->watch_lock, NULL);
	__atomic_store_n(&t->by_id[d->id], d, __ATOMIC_RELEASE);
	*out = d;
	return 0;
}

void bw_dbuf_detach(struct bw_dbuf_table *t, struct bw_dbuf *d)
{
	__atomic_store_n(&t->by_id[d->id], NULL, __ATOMIC_RELEASE);
	pthread_mutex_destroy(&d->watch_lock);
	bw_shm_unmap(&d->shm);
	free(d);
}

int bw_dbuf_make_mirror(struct bw_dbuf *d)
{
	struct bw_shm *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int rc = bw_shm_map(m, "pipesfs-dbuf-mirror", d->size, false);
	if (rc) {
		free(m);
		return rc;
	}
	m->hdr->magic = PFS_RING_MAGIC_DBUF;
	m->hdr->id = d->id;
	m->hdr->size = d->size;
	m->hdr->tail = UINT64_MAX;	/* nothing in it yet */
	d->mirror = m;
	return 0;
}

void bw_dbuf_mirror_want(struct bw_dbuf *d)
{
	__atomic_store_n(&d->mirror_wanted, true, __ATOMIC_RELAXED);
}

void bw_dbuf_mirror_copy(struct bw_dbuf *d, uint64_t pos, uint32_t len)
{
	struct pfs_ring_header *h = d->mirror->hdr;
	memcpy((uint8_t *)d->mirror->ring + (pos & d->mask), d->bytes + (pos & d->mask), len);
	uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
	if (tail == UINT64_MAX)		/* the first copy: the oldest valid */
		tail = pos > d->tail ? pos : d->tail;
	/* Release: the bytes are there before the tail says so, and before
	 * the descriptor published next. */
	__atomic_store_n(&h->tail, tail, __ATOMIC_RELEASE);
}

void bw_dbuf_set_tail(struct bw_dbuf *d, uint64_t tail)
{
	d->tail = tail;
	/* Release: the tail is seen before whatever overwrites the bytes
	 * below it (the caller hands them on after this). */
	__atomic_store_n(&d->shm.hdr->tail, tail, __ATOMIC_RELEASE);
	if (d->mirror) {
		struct pfs_ring_header *h = d->mirror->hdr;
		if (__atomic_load_n(&h->tail, __ATOMIC_RELAXED) < tail)
			__atomic_store_n(&h->tail, tail, __ATOMIC_RELEASE);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void bw_dbuf_destroy(struct bw_dbuf *d)
{
	if (!d)
		return;
	if (d->read_only)
		__atomic_store_n(&file_maps[d->id].lo, 0, __ATOMIC_RELEASE);
	/* A zero-copy client may map this ring until it closes, and its id
	 * may name another ring later: to such a client every record of it
	 * is gone from now on (counted as lost), never another ring's bytes
	 * read as its own. */
	__atomic_store_n(&d->shm.hdr->tail, UINT64_MAX, __ATOMIC_RELEASE);
	if (d->mirror)
		__atomic_store_n(&d->mirror->hdr->tail, UINT64_MAX, __ATOMIC_RELEASE);
	pthread_mutex_lock(&registry_lock);
	__atomic_store_n(&bw_dbuf_registry.by_id[d->id], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_destroy(&d->watch_lock);
	free(d->watched);
	if (d->mirror) {
		bw_shm_unmap(d->mirror);
		free(d->mirror);
	}
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
 * here, from its head room (a view may frame the record with that: text's
 * flow header, a narrowed frame's headers).  Positions only grow along an
 * IBuf, so the first one is the lowest.  Safe because ib is written by
 * this thread: no descriptor changes under us.
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
			return desc->pos >= desc->head_room ? desc->pos - desc->head_room : 0;
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
