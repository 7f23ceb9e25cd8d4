/* SPDX-License-Identifier: BSD-3-Clause
 * Batched wakeups between one producer and any number of waiters.
 *
 * A waiter arms the queue, re-checks its condition, then sleeps on a futex;
 * the producer calls bw_waitq_wake() once per batch.  An event loop listens
 * instead, with an eventfd of its own, for as long as it has a request
 * parked.  When nobody waits, a wake is one fence and two loads: no system
 * call on a busy ring; otherwise one futex wake for sleepers and one
 * eventfd write per listening event loop.
 */
#ifndef BUFS_WAITQ_H
#define BUFS_WAITQ_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define BW_WAITQ_EVENTFDS 4	/* distinct event loops listening at once */

struct bw_waitq {
	uint32_t seq;		/* futex word: bumped by every wake of sleepers */
	uint32_t sleepers;	/* armed futex waiters */
	uint32_t listeners;	/* listens, over every eventfd */
	pthread_mutex_t lock;	/* the eventfd table */
	struct {
		int fd;
		uint32_t refs;
	} efd[BW_WAITQ_EVENTFDS];
};

void bw_waitq_init(struct bw_waitq *q);
void bw_waitq_fini(struct bw_waitq *q);

/* Producer: wake everyone armed.  Call after publishing a batch. */
void bw_waitq_wake(struct bw_waitq *q);

/* Waiter: arm, returning the token to sleep on.  After arming, re-check the
 * condition; then bw_waitq_sleep(); then disarm. */
uint32_t bw_waitq_arm(struct bw_waitq *q);
void bw_waitq_disarm(struct bw_waitq *q);

/* Event loops: listen with their eventfd (then re-check), poll it, and
 * unlisten with the same fd.  Listens nest (counted per fd).  listen
 * returns 0, or -ENOSPC when BW_WAITQ_EVENTFDS other fds listen already. */
int bw_waitq_listen(struct bw_waitq *q, int efd);
void bw_waitq_unlisten(struct bw_waitq *q, int efd);

/* Sleep until a wake after `token`, a signal, or `timeout` (NULL: none).
 * Returns 0 when woken (possibly spuriously), -ETIMEDOUT or -EINTR. */
int bw_waitq_sleep(struct bw_waitq *q, uint32_t token,
		   const struct timespec *timeout);

#endif
