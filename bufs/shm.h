/* SPDX-License-Identifier: BSD-3-Clause
 * Ring memory: one memfd holding a header page followed by the ring,
 * mapped once.  Huge pages are used when the system has them to give.
 */
#ifndef BUFS_SHM_H
#define BUFS_SHM_H

#include <stdbool.h>
#include <stddef.h>

#include "pipesfs_record.h"

struct bw_shm {
	int fd;				/* the memfd, shareable with clients */
	void *base;			/* the whole mapping */
	size_t map_len;
	bool hugetlb;
	struct pfs_ring_header *hdr;	/* at base */
	void *ring;			/* at base + hdr->data_offset, or file_base */
	void *file_base;		/* a file's mapping (ours to unmap), or NULL */
	size_t file_map_len;
};

/* Descriptors below the open-file limit that rings never take. */
#define BW_SHM_FD_RESERVE 32

/* Map `ring_bytes` (plus a header page) named `name`; `populate` faults
 * every page in now.  Returns 0 or -errno: -EMFILE when only the reserved
 * descriptors are left (or none), -ENFILE at the system's limit, -ENOMEM
 * when the memory cannot be had. */
int bw_shm_map(struct bw_shm *m, const char *name, size_t ring_bytes, bool populate);
/* A header page, and `map_bytes` of file `file_fd` mapped read-only as the
 * ring.  Returns 0 or -errno. */
int bw_shm_map_file(struct bw_shm *m, const char *name, int file_fd, size_t map_bytes);

/* A header page, and memory the caller mapped (and unmaps, after
 * bw_shm_unmap) as the ring.  Returns 0 or -errno. */
int bw_shm_wrap(struct bw_shm *m, const char *name, void *ring);

/* A client's view of a ring the daemon made: memfd `fd` (m's once this
 * succeeds), mapped whole and read-only, its header checked against the
 * mapping's length.  Returns 0, or -EPROTO for a header that does not
 * fit, or -errno. */
int bw_shm_attach(struct bw_shm *m, int fd);

void bw_shm_unmap(struct bw_shm *m);

#endif
