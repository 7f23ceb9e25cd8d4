/* SPDX-License-Identifier: BSD-3-Clause
 * Parked reads and polls (see park.h): one thread, one eventfd, one list.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs/park.h"
#include "filters/log.h"

static struct {
	pthread_mutex_t lock;
	struct fs_parked **list;
	size_t n, cap;
	int efd;
	bool stop;
	pthread_t thread;
} park = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

int fs_park_eventfd(void)
{
	return park.efd;
}

void fs_park_kick(void)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is non-zero already, a wakeup is due anyway. */
	if (write(park.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pfs_log("parker: eventfd write failed: %d", errno);
}

/* Append to the list (park.lock held); false when out of memory. */
static bool list_add(struct fs_parked *p)
{
	if (park.n == park.cap) {
		size_t cap = park.cap ? park.cap * 2 : 16;
		struct fs_parked **l = realloc(park.list, cap * sizeof(*l));
		if (!l)
			return false;
		park.list = l;
		park.cap = cap;
	}
	park.list[park.n++] = p;
	return true;
}

void fs_park_add(struct fs_parked *p)
{
	if (p->on_list) {
		p->put(p);
	} else {
		pthread_mutex_lock(&park.lock);
		bool ok = list_add(p);
		pthread_mutex_unlock(&park.lock);
		if (ok) {
			p->on_list = true;
		} else {
			pfs_log("out of memory parking a read");
			p->put(p);
		}
	}
	/* The parker listens, then retries: nothing is missed. */
	fs_park_kick();
}

/* Put the items still parked back, before those added meanwhile. */
static void put_back(struct fs_parked **kept, size_t n)
{
	pthread_mutex_lock(&park.lock);
	for (size_t i = 0; i < n; i++)
		if (!list_add(kept[i]))
			pfs_log("out of memory: a parked read is lost until its reader interrupts it");
	pthread_mutex_unlock(&park.lock);
}

/* Take the list, retry each item, put back the ones still parked. */
static void serve(void)
{
	pthread_mutex_lock(&park.lock);
	struct fs_parked **list = park.list;
	size_t n = park.n, kept = 0;
	park.list = NULL;
	park.n = park.cap = 0;
	pthread_mutex_unlock(&park.lock);

	for (size_t i = 0; i < n; i++) {
		struct fs_parked *p = list[i];
		if (p->retry(p))
			p->put(p);
		else
			list[kept++] = p;
	}
	put_back(list, kept);
	free(list);
}

static void *parker(void *arg)
{
	(void)arg;
	uint64_t count;
	pthread_setname_np(pthread_self(), "pfs-parker");
	while (!__atomic_load_n(&park.stop, __ATOMIC_ACQUIRE)) {
		if (read(park.efd, &count, sizeof(count)) < 0 && errno != EINTR)
			break;
		serve();
	}
	return NULL;
}

int fs_park_start(void)
{
	park.efd = eventfd(0, EFD_CLOEXEC);
	if (park.efd < 0)
		return -errno;
	int rc = pthread_create(&park.thread, NULL, parker, NULL);
	return -rc;
}

void fs_park_stop(void)
{
	__atomic_store_n(&park.stop, true, __ATOMIC_RELEASE);
	fs_park_kick();
	pthread_join(park.thread, NULL);
	for (size_t i = 0; i < park.n; i++)
		park.list[i]->put(park.list[i]);
	free(park.list);
	park.list = NULL;
	park.n = park.cap = 0;
	close(park.efd);
	park.efd = -1;
}
