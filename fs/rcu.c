/* SPDX-License-Identifier: BSD-3-Clause
 * libfuse makes its worker threads itself, so each registers with QSBR RCU
 * the first time it needs to and stays offline except while a request runs
 * records through the graph.  An offline thread never holds up a grace
 * period, however long it blocks in the kernel.
 */
#include <pthread.h>

#include "fs.h"

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void unregister(void *unused)
{
	(void)unused;
	rcu_thread_online();
	rcu_unregister_thread();
}

static void make_key(void)
{
	pthread_key_create(&key, unregister);
}

void fs_rcu_online(void)
{
	pthread_once(&once, make_key);
	if (!pthread_getspecific(key)) {
		rcu_register_thread();	/* starts online */
		pthread_setspecific(key, &key);
		return;
	}
	rcu_thread_online();
}

void fs_rcu_offline(void)
{
	rcu_thread_offline();
}
