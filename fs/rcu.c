/* SPDX-License-Identifier: BSD-3-Clause
 * libfuse makes its worker threads itself, so each registers with the
 * graph (QSBR RCU) the first time it runs records through it, and stays
 * offline except inside a producer's run.  An offline thread never holds
 * up a grace period, however long it blocks in the kernel.
 */
#include <pthread.h>

#include "fs/fs.h"

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void unregister(void *unused)
{
	(void)unused;
	pfs_graph_thread_unregister();
}

static void make_key(void)
{
	pthread_key_create(&key, unregister);
}

void fs_rcu_register(void)
{
	pthread_once(&once, make_key);
	if (pthread_getspecific(key))
		return;
	pfs_graph_thread_register();
	pthread_setspecific(key, &key);
}
