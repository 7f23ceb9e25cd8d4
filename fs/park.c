/* SPDX-License-Identifier: BSD-3-Clause
 * Parked reads and polls: a read with nothing to return does not hold a
 * thread.  Its open file goes on a list, its rings' wakeups are armed (they
 * write one eventfd), and this module's thread answers it when data comes,
 * the stream ends, or the kernel interrupts the request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static struct {
	pthread_mutex_t lock;
	struct fs_open **list;
	size_t n, cap;
	int efd;
	bool stop;
	pthread_t thread;
} park = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

/* Called with of->lock held. */
void fs_park_add(struct fs_open *of)
{
	if (of->parked)
		goto kick;
	pthread_mutex_lock(&park.lock);
	if (park.n == park.cap) {
		size_t cap = park.cap ? park.cap * 2 : 16;
		struct fs_open **l = realloc(park.list, cap * sizeof(*l));
		if (!l) {
			pthread_mutex_unlock(&park.lock);
			pfs_log("out of memory parking a read");
			return;
		}
		park.list = l;
		park.cap = cap;
	}
	__atomic_fetch_add(&of->refs, 1, __ATOMIC_RELAXED);
	park.list[park.n++] = of;
	of->parked = true;
	pthread_mutex_unlock(&park.lock);
kick:
	/* The parker arms the rings, then looks again: nothing is missed. */
	pfs_graph_kick();
}

/* Take the list, answer what can be answered, put the rest back. */
static void serve(void)
{
	pthread_mutex_lock(&park.lock);
	struct fs_open **list = park.list;
	size_t n = park.n;
	park.list = NULL;
	park.n = park.cap = 0;
	pthread_mutex_unlock(&park.lock);

	for (size_t i = 0; i < n; i++) {
		struct fs_open *of = list[i];
		pthread_mutex_lock(&of->lock);
		bool done = fs_stream_try_parked(of);
		if (done)
			of->parked = false;
		pthread_mutex_unlock(&of->lock);
		if (done) {
			fs_open_put(of);
			continue;
		}
		pthread_mutex_lock(&park.lock);
		if (park.n == park.cap) {
			size_t cap = park.cap ? park.cap * 2 : 16;
			struct fs_open **l = realloc(park.list, cap * sizeof(*l));
			if (l) {
				park.list = l;
				park.cap = cap;
			}
		}
		if (park.n < park.cap)
			park.list[park.n++] = of;
		pthread_mutex_unlock(&park.lock);
	}
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
	pfs_graph_set_eventfd(park.efd);
	int rc = pthread_create(&park.thread, NULL, parker, NULL);
	return -rc;
}

void fs_park_stop(void)
{
	__atomic_store_n(&park.stop, true, __ATOMIC_RELEASE);
	pfs_graph_kick();
	pthread_join(park.thread, NULL);
	for (size_t i = 0; i < park.n; i++)
		fs_open_put(park.list[i]);
	free(park.list);
	park.list = NULL;
	park.n = park.cap = 0;
}
