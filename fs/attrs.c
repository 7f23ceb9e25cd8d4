/* SPDX-License-Identifier: BSD-3-Clause
 * Owners and modes set by chown and chmod.  Every file starts owned by the
 * mounting user (fs_cfg); what root changes with chown, and what an owner
 * changes with chmod, is kept here by inode, as a file system keeps it,
 * and shows in every stat and permission check (default_permissions).
 * tcpdump -w, run as root, gives its savefile to the user it drops to.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "filters/log.h"
#include "fs/fs.h"

#define BUCKETS 256

struct attr {
	struct attr *next;
	fuse_ino_t ino;
	uid_t uid;
	gid_t gid;
	mode_t mode;		/* permission bits */
};

static struct {
	pthread_mutex_t lock;
	struct attr *bucket[BUCKETS];
} attrs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* attrs.lock held. */
static struct attr **slot(fuse_ino_t ino)
{
	struct attr **a = &attrs.bucket[ino % BUCKETS];
	while (*a && (*a)->ino != ino)
		a = &(*a)->next;
	return a;
}

void fs_attrs_apply(struct stat *st)
{
	pthread_mutex_lock(&attrs.lock);
	struct attr *a = *slot(st->st_ino);
	if (a) {
		st->st_uid = a->uid;
		st->st_gid = a->gid;
		st->st_mode = (st->st_mode & S_IFMT) | a->mode;
	}
	pthread_mutex_unlock(&attrs.lock);
}

/* Why `who` may not make this change (NULL: it may). */
static const char *refusal(const struct stat *cur, uid_t uid, gid_t gid, mode_t mode,
			   uid_t who)
{
	if (who == 0)
		return NULL;
	if (uid != cur->st_uid || gid != cur->st_gid)
		return "only root changes a file's owner or group here";
	if (mode != (cur->st_mode & 07777) && who != cur->st_uid)
		return "only the file's owner changes its mode";
	return NULL;
}

int fs_attrs_set(const struct stat *cur, const struct stat *want, int to_set, uid_t who)
{
	uid_t uid = to_set & FUSE_SET_ATTR_UID ? want->st_uid : cur->st_uid;
	gid_t gid = to_set & FUSE_SET_ATTR_GID ? want->st_gid : cur->st_gid;
	mode_t mode = to_set & FUSE_SET_ATTR_MODE ? want->st_mode & 07777 : cur->st_mode & 07777;
	const char *why = refusal(cur, uid, gid, mode, who);
	if (why) {
		pfs_log("chown/chmod of inode %llu by uid %u: %s",
			(unsigned long long)cur->st_ino, (unsigned)who, why);
		return -EPERM;
	}
	pthread_mutex_lock(&attrs.lock);
	struct attr **s = slot(cur->st_ino), *a = *s;
	if (!a && (a = calloc(1, sizeof(*a)))) {
		a->ino = cur->st_ino;
		*s = a;
	}
	if (a) {
		a->uid = uid;
		a->gid = gid;
		a->mode = mode;
	}
	pthread_mutex_unlock(&attrs.lock);
	return a ? 0 : -ENOMEM;
}

void fs_attrs_forget(fuse_ino_t first, unsigned n)
{
	pthread_mutex_lock(&attrs.lock);
	for (fuse_ino_t ino = first; ino < first + n; ino++) {
		struct attr **s = slot(ino), *a = *s;
		if (a) {
			*s = a->next;
			free(a);
		}
	}
	pthread_mutex_unlock(&attrs.lock);
}
