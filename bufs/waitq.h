/* SPDX-License-Identifier: BSD-3-Clause
 * Batched wakeups between one producer and any number of waiters.
 *
 * A waiter arms the queue, re-checks its condition, then sleeps; the
 * producer calls bw_waitq_wake() once per batch.  When nobody is armed the
 * wake is one fence and one load: no system call on a busy ring.  Besides
 * futex sleepers, an event loop can listen through an eventfd: it arms the
 * queue for as long as it has a request parked and polls the fd.
 */
#ifndef BUFS_WAITQ_H
#define BUFS_WAITQ_H

#include <stdint.h>
#include <time.h>

struct bw_waitq {
	uint32_t seq;		/* futex word: bumped by every wake */
	uint32_t armed;		/* sleepers plus parked listeners */
	int efd;		/* eventfd written by wakes, or -1 */
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

/* Sleep until a wake after `token`, a signal, or `timeout` (NULL: none).
 * Returns 0 when woken (possibly spuriously), -ETIMEDOUT or -EINTR. */
int bw_waitq_sleep(struct bw_waitq *q, uint32_t token,
		   const struct timespec *timeout);

#endif
