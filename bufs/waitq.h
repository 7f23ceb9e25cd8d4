/* SPDX-License-Identifier: BSD-3-Clause
 * Batched wakeups between one producer and any number of waiters.
 *
 * A waiter arms the queue, re-checks its condition, then sleeps on a futex;
 * the producer calls bw_waitq_wake() once per batch.  An event loop listens
 * instead, through an eventfd, for as long as it has a request parked.
 * When nobody waits, a wake is one fence and two loads: no system call on
 * a busy ring; otherwise one futex wake for sleepers and one eventfd write
 * for listeners.
 */
#ifndef BUFS_WAITQ_H
#define BUFS_WAITQ_H

#include <stdint.h>
#include <time.h>

struct bw_waitq {
	uint32_t seq;		/* futex word: bumped by every wake of sleepers */
	uint32_t sleepers;	/* armed futex waiters */
	uint32_t listeners;	/* event loops with a request parked */
	int efd;		/* eventfd written for listeners, or -1 */
};

void bw_waitq_init(struct bw_waitq *q);

/* Set (or clear, with -1) the eventfd that wakes also signal. */
void bw_waitq_set_eventfd(struct bw_waitq *q, int efd);

/* Producer: wake everyone armed.  Call after publishing a batch. */
void bw_waitq_wake(struct bw_waitq *q);

/* Waiter: arm, returning the token to sleep on.  After arming, re-check the
 * condition; then bw_waitq_sleep() (or poll the eventfd); then disarm. */
uint32_t bw_waitq_arm(struct bw_waitq *q);
void bw_waitq_disarm(struct bw_waitq *q);

/* Event loops: listen (then re-check), poll the eventfd, unlisten. */
void bw_waitq_listen(struct bw_waitq *q);
void bw_waitq_unlisten(struct bw_waitq *q);

/* Sleep until a wake after `token`, a signal, or `timeout` (NULL: none).
 * Returns 0 when woken (possibly spuriously), -ETIMEDOUT or -EINTR. */
int bw_waitq_sleep(struct bw_waitq *q, uint32_t token,
		   const struct timespec *timeout);

#endif
