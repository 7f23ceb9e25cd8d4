/* SPDX-License-Identifier: BSD-3-Clause */
#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct pfs_source *pfs_source_alloc(const struct pfs_source_ops *ops,
				    const char *name, bool lossless)
{
	struct pfs_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ops = ops;
	s->name = strdup(name);
	s->ctx = pfs_ctx_new(lossless);
	if (!s->name || !s->ctx) {
		pfs_ctx_free(s->ctx);
		free(s->name);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return s;
}

int pfs_source_launch(struct pfs_source *s)
{
	int rc = pthread_create(&s->thread, NULL, s->ops->run, s);
	s->running = rc == 0;
	return -rc;
}

static void set_flag(struct pfs_source *s, bool *flag)
{
	pthread_mutex_lock(&s->lock);
	*flag = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void pfs_source_start(struct pfs_source *s)
{
	if (!__atomic_load_n(&s->started, __ATOMIC_ACQUIRE))
		set_flag(s, &s->started);
}

bool pfs_source_wait_start(struct pfs_source *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->started && !s->stop)
		pthread_cond_wait(&s->cond, &s->lock);
	bool go = !s->stop;
	pthread_mutex_unlock(&s->lock);
	return go;
}

bool pfs_source_stopping(struct pfs_source *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE);
}

void pfs_source_free(struct pfs_source *s)
{
	if (!s)
		return;
	if (s->running) {
		set_flag(s, &s->stop);
		pfs_ctx_cancel(s->ctx);	/* a lossless wait ends now */
		pthread_join(s->thread, NULL);
	}
	if (s->ops->free)
		s->ops->free(s);
	pfs_ctx_free(s->ctx);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->name);
	free(s);
}
