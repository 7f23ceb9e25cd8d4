/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/waitq.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void bw_waitq_init(struct bw_waitq *q)
{
	q->seq = 0;
	q->sleepers = 0;
	q->listeners = 0;
	pthread_mutex_init(&q->lock, NULL);
	for (int i = 0; i < BW_WAITQ_EVENTFDS; i++) {
		q->efd[i].fd = -1;
		q->efd[i].refs = 0;
	}
}

void bw_waitq_fini(struct bw_waitq *q)
{
	pthread_mutex_destroy(&q->lock);
}

static void signal_listeners(struct bw_waitq *q)
{
	uint64_t one = 1;
	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < BW_WAITQ_EVENTFDS; i++)
		/* EAGAIN means the counter is already non-zero: fine. */
		if (q->efd[i].refs && write(q->efd[i].fd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			continue;
	pthread_mutex_unlock(&q->lock);
}

/*
 * The fence pairs with the one implied by the waiter's atomic increment in
 * bw_waitq_arm() or bw_waitq_listen(): either the waiter's re-check sees
 * what the producer published before calling us, or we see the waiter.
 * That is what makes it safe to skip the system calls when nobody waits.
 */
void bw_waitq_wake(struct bw_waitq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->sleepers, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&q->seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &q->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
	if (__atomic_load_n(&q->listeners, __ATOMIC_RELAXED))
		signal_listeners(q);
}

uint32_t bw_waitq_arm(struct bw_waitq *q)
{
	__atomic_fetch_add(&q->sleepers, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->seq, __ATOMIC_SEQ_CST);
}

void bw_waitq_disarm(struct bw_waitq *q)
{
	__atomic_fetch_sub(&q->sleepers, 1, __ATOMIC_RELEASE);
}

int bw_waitq_listen(struct bw_waitq *q, int efd)
{
	int slot = -1;
	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < BW_WAITQ_EVENTFDS; i++)
		if (q->efd[i].refs && q->efd[i].fd == efd)
			slot = i;
	for (int i = 0; i < BW_WAITQ_EVENTFDS && slot < 0; i++)
		if (!q->efd[i].refs)
			slot = i;
	if (slot >= 0) {
		q->efd[slot].fd = efd;
		q->efd[slot].refs++;
	}
	pthread_mutex_unlock(&q->lock);
	if (slot < 0)
		return -ENOSPC;
	__atomic_fetch_add(&q->listeners, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void bw_waitq_unlisten(struct bw_waitq *q, int efd)
{
	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < BW_WAITQ_EVENTFDS; i++)
		if (q->efd[i].refs && q->efd[i].fd == efd) {
			q->efd[i].refs--;
			__atomic_fetch_sub(&q->listeners, 1, __ATOMIC_RELEASE);
			break;
		}
	pthread_mutex_unlock(&q->lock);
}

int bw_waitq_sleep(struct bw_waitq *q, uint32_t token,
		   const struct timespec *timeout)
{
	long rc = syscall(SYS_futex, &q->seq, FUTEX_WAIT_PRIVATE, token,
			  timeout, NULL, 0);
	if (rc == 0 || errno == EAGAIN)
		return 0;
	return errno == ETIMEDOUT ? -ETIMEDOUT : -EINTR;
}
