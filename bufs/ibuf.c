/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/ibuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_pow2(uint64_t x)
{
	return x >= 2 && (x & (x - 1)) == 0;
}

int bw_ibuf_create(struct bw_ibuf **out, uint64_t count, unsigned flags)
{
	if (!is_pow2(count) || count > (1ull << 32))
		return -EINVAL;
	struct bw_ibuf *ib = aligned_alloc(64, sizeof(*ib));
	if (!ib)
		return -ENOMEM;
	memset(ib, 0, sizeof(*ib));
	/* Not populated: a node that sees few records costs little memory. */
	int rc = bw_shm_map(&ib->shm, "pipesfs-ibuf", count * sizeof(struct pfs_desc),
			    false);
	if (rc == 0 && (rc = bw_gate_init(&ib->gate)) != 0)
		bw_shm_unmap(&ib->shm);
	if (rc) {
		free(ib);
		return rc;
	}
	ib->shm.hdr->magic = PFS_RING_MAGIC_IBUF;
	ib->shm.hdr->size = count;
	ib->slots = ib->shm.ring;
	ib->count = count;
	ib->mask = count - 1;
	ib->tail_step = count / 64 ? count / 64 : 1;
	ib->lossless = flags & BW_LOSSLESS;
	bw_waitq_init(&ib->data);
	*out = ib;
	return 0;
}

int bw_ibuf_attach(struct bw_ibuf **out, int fd)
{
	struct bw_ibuf *ib = aligned_alloc(64, sizeof(*ib));
	if (!ib)
		return -ENOMEM;
	memset(ib, 0, sizeof(*ib));
	int rc = bw_shm_attach(&ib->shm, fd);
	if (rc == 0) {
		const struct pfs_ring_header *h = ib->shm.hdr;
		uint64_t room = (ib->shm.map_len - h->data_offset) / sizeof(struct pfs_desc);
		if (h->magic != PFS_RING_MAGIC_IBUF || !is_pow2(h->size) || h->size > room)
			rc = -EPROTO;
		else
			rc = bw_gate_init(&ib->gate);
		if (rc) {
			ib->shm.fd = -1;	/* still the caller's */
			bw_shm_unmap(&ib->shm);
		}
	}
	if (rc) {
		free(ib);
		return rc;
	}
	ib->slots = ib->shm.ring;
	ib->count = ib->shm.hdr->size;
	ib->mask = ib->count - 1;
	bw_waitq_init(&ib->data);
	*out = ib;
	return 0;
}

void bw_ibuf_destroy(struct bw_ibuf *ib)
{
	if (!ib)
		return;
	bw_gate_fini(&ib->gate);
	bw_waitq_fini(&ib->data);
	bw_shm_unmap(&ib->shm);
	free(ib);
}

struct room_query {
	struct bw_ibuf *ib;
	uint64_t need;
};

static bool room_ready(void *arg)
{
	struct room_query *q = arg;
	return bw_gate_min(&q->ib->gate) >= q->need;
}

/* Make slot `ib->head` writable: move the tail past the descriptor that
 * lives there now, in steps of tail_step, never past what a lossless
 * reader holds. */
static int make_room(struct bw_ibuf *ib)
{
	uint64_t need = ib->head - ib->count + 1;
	uint64_t target = ib->tail + ib->tail_step;
	if (target < need)
		target = need;
	if (ib->lossless) {
		struct room_query q = { ib, need };
		/* Readers that sleep until our next flush would never move. */
		bw_ibuf_flush(ib);
		int rc = bw_gate_wait(&ib->gate, room_ready, &q);
		if (rc)
			return rc;
		uint64_t held = bw_gate_min(&ib->gate);
		if (target > held)
			target = held;
	}
	ib->tail = target;
	__atomic_store_n(&ib->shm.hdr->tail, target, __ATOMIC_RELAXED);
	/* Readers that see any byte we write next also see the new tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return 0;
}

int bw_ibuf_publish(struct bw_ibuf *ib, struct pfs_desc *d)
{
	if (ib->head - ib->tail >= ib->count) {
		int rc = make_room(ib);
		if (rc)
			return rc;
	}
	d->seq = ib->head;
	memcpy(&ib->slots[ib->head & ib->mask], d, sizeof(*d));
	ib->head++;
	return 0;
}

void bw_ibuf_flush(struct bw_ibuf *ib)
{
	__atomic_store_n(&ib->shm.hdr->head, ib->head, __ATOMIC_RELEASE);
	bw_waitq_wake(&ib->data);
}

void bw_ibuf_set_ended(struct bw_ibuf *ib, bool ended)
{
	__atomic_store_n(&ib->shm.hdr->ended, ended, __ATOMIC_RELEASE);
	bw_waitq_wake(&ib->data);
}

void bw_ibuf_cancel(struct bw_ibuf *ib)
{
	bw_gate_cancel(&ib->gate);
}
