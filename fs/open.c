/* SPDX-License-Identifier: BSD-3-Clause
 * Open files: made at open, freed when the release and every request that
 * was using them are done.  All of them are listed, so that a daemon whose
 * mount was detached under open files (the kernel then sends no release)
 * still frees everything when it ends.
 */
#include <stdlib.h>

#include "fs/fs.h"

static struct {
	pthread_mutex_t lock;
	struct fs_open *head;
} opens = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct fs_open *fs_open_new(enum fs_file file, struct pfs_node *node)
{
	struct fs_open *of = calloc(1, sizeof(*of));
	if (!of)
		return NULL;
	of->file = file;
	of->refs = 1;
	of->node = node;
	pfs_node_get(node);
	pthread_mutex_init(&of->lock, NULL);
	pthread_mutex_lock(&opens.lock);
	of->next = opens.head;
	if (of->next)
		of->next->prev = of;
	opens.head = of;
	pthread_mutex_unlock(&opens.lock);
	return of;
}

void fs_open_get(struct fs_open *of)
{
	__atomic_fetch_add(&of->refs, 1, __ATOMIC_RELAXED);
}

void fs_open_put(struct fs_open *of)
{
	if (__atomic_sub_fetch(&of->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&opens.lock);
	if (of->prev)
		of->prev->next = of->next;
	else
		opens.head = of->next;
	if (of->next)
		of->next->prev = of->prev;
	pthread_mutex_unlock(&opens.lock);
	pfs_node_put(of->node);
	pthread_mutex_destroy(&of->lock);
	free(of->buf);
	free(of->text);
	free(of);
}

void fs_open_release(struct fs_open *of)
{
	if (of->release)
		of->release(of);
	fs_open_put(of);
}

void fs_open_release_all(void)
{
	for (;;) {
		pthread_mutex_lock(&opens.lock);
		struct fs_open *of = opens.head;
		pthread_mutex_unlock(&opens.lock);
		if (!of)
			break;
		fs_open_release(of);
	}
}
