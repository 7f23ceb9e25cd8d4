/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/gate.h"

#include <errno.h>
#include <stdlib.h>

static struct bw_gate_chunk *chunk_new(void)
{
	struct bw_gate_chunk *c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	for (int i = 0; i < BW_GATE_SLOTS; i++)
		c->pos[i] = BW_NO_HOLD;
	c->next = NULL;
	return c;
}

int bw_gate_init(struct bw_gate *g)
{
	g->chunks = chunk_new();
	if (!g->chunks)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	g->cancelled = 0;
	bw_waitq_init(&g->space);
	return 0;
}

void bw_gate_fini(struct bw_gate *g)
{
	struct bw_gate_chunk *c = g->chunks;
	while (c) {
		struct bw_gate_chunk *next = c->next;
		free(c);
		c = next;
	}
	g->chunks = NULL;
	bw_waitq_fini(&g->space);
	pthread_mutex_destroy(&g->lock);
}

static uint64_t *free_slot(struct bw_gate *g)
{
	struct bw_gate_chunk *c, *last = NULL;
	for (c = g->chunks; c; last = c, c = c->next)
		for (int i = 0; i < BW_GATE_SLOTS; i++)
			if (__atomic_load_n(&c->pos[i], __ATOMIC_RELAXED) == BW_NO_HOLD)
				return &c->pos[i];
	c = chunk_new();
	if (!c)
		return NULL;
	/* Publish the chunk whole: a scanning producer sees it or not. */
	__atomic_store_n(&last->next, c, __ATOMIC_RELEASE);
	return &c->pos[0];
}

int bw_gate_join(struct bw_gate *g, uint64_t pos, struct bw_hold *h)
{
	pthread_mutex_lock(&g->lock);
	uint64_t *slot = free_slot(g);
	if (slot)
		__atomic_store_n(slot, pos, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&g->lock);
	if (!slot)
		return -ENOMEM;
	h->gate = g;
	h->slot = slot;
	return 0;
}

void bw_hold_move(struct bw_hold *h, uint64_t pos)
{
	__atomic_store_n(h->slot, pos, __ATOMIC_RELEASE);
	bw_waitq_wake(&h->gate->space);
}

void bw_gate_leave(struct bw_hold *h)
{
	if (!h->gate)
		return;
	pthread_mutex_lock(&h->gate->lock);
	__atomic_store_n(h->slot, BW_NO_HOLD, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->gate->lock);
	bw_waitq_wake(&h->gate->space);
	h->gate = NULL;
	h->slot = NULL;
}

uint64_t bw_gate_min(const struct bw_gate *g)
{
	uint64_t min = BW_NO_HOLD;
	const struct bw_gate_chunk *c = g->chunks;
	for (; c; c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE))
		for (int i = 0; i < BW_GATE_SLOTS; i++) {
			uint64_t p = __atomic_load_n(&c->pos[i], __ATOMIC_ACQUIRE);
			if (p < min)
				min = p;
		}
	return min;
}

int bw_gate_wait(struct bw_gate *g, bool (*ready)(void *), void *arg)
{
	/* A periodic re-check bounds the cost of any missed wake. */
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };

	while (!ready(arg)) {
		if (__atomic_load_n(&g->cancelled, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		uint32_t token = bw_waitq_arm(&g->space);
		if (!ready(arg) && !__atomic_load_n(&g->cancelled, __ATOMIC_ACQUIRE))
			bw_waitq_sleep(&g->space, token, &tick);
		bw_waitq_disarm(&g->space);
	}
	return 0;
}

void bw_gate_cancel(struct bw_gate *g)
{
	__atomic_store_n(&g->cancelled, 1, __ATOMIC_RELEASE);
	bw_waitq_wake(&g->space);
}
