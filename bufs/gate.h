/* SPDX-License-Identifier: BSD-3-Clause
 * Gates: the positions that in-process consumers of a lossless ring still
 * need.  Each consumer joins with a hold and moves it forward as it goes;
 * the producer waits while the smallest hold is behind what it is about to
 * overwrite.  Holds live in daemon memory, never in the shared ring, and
 * slots are never freed while the gate lives, so the producer can scan them
 * without locks while consumers come and go.
 */
#ifndef BUFS_GATE_H
#define BUFS_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bufs/waitq.h"

#define BW_GATE_SLOTS 32
#define BW_NO_HOLD UINT64_MAX

struct bw_gate_chunk {
	uint64_t pos[BW_GATE_SLOTS];	/* BW_NO_HOLD when the slot is free */
	struct bw_gate_chunk *next;
};

struct bw_gate {
	struct bw_gate_chunk *chunks;
	pthread_mutex_t lock;		/* serialises join and leave */
	uint32_t cancelled;		/* set: producers stop waiting */
	struct bw_waitq space;		/* a waiting producer sleeps here */
};

struct bw_hold {
	struct bw_gate *gate;
	uint64_t *slot;
};

int bw_gate_init(struct bw_gate *g);
void bw_gate_fini(struct bw_gate *g);

/* Consumers.  join returns -ENOMEM when no slot can be had. */
int bw_gate_join(struct bw_gate *g, uint64_t pos, struct bw_hold *h);
void bw_hold_move(struct bw_hold *h, uint64_t pos);
void bw_gate_leave(struct bw_hold *h);

/* Producer: the smallest hold, or BW_NO_HOLD. */
uint64_t bw_gate_min(const struct bw_gate *g);

/* Producer: wait until ready(arg) is true.  Returns 0, or -ECANCELED once
 * bw_gate_cancel() was called (the ring is being torn down). */
int bw_gate_wait(struct bw_gate *g, bool (*ready)(void *), void *arg);
void bw_gate_cancel(struct bw_gate *g);

#endif
