/* SPDX-License-Identifier: BSD-3-Clause */
#include "bufs/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUGE_PAGE (2u << 20)
#define SMALL_PAGE 4096u

/*
 * A memfd for a ring, or -errno.  The kernel hands out the lowest free
 * descriptor, so one that lands among the last BW_SHM_FD_RESERVE below the
 * open-file limit means the table is full up to there: it is given back
 * and the ring fails with EMFILE.  Those descriptors thus stay for the
 * process's own needs (watching its mount, glibc loading libgcc_s to end
 * threads at unmount), however many rings are asked for.
 */
static int ring_fd(const char *name, bool huge)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0));
	if (fd < 0)
		return -errno;
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)fd + BW_SHM_FD_RESERVE >= lim.rlim_cur) {
		close(fd);
		return -EMFILE;
	}
	return fd;
}

static int try_map(struct bw_shm *m, const char *name, size_t ring_bytes,
		   bool huge, bool populate)
{
	size_t page = huge ? HUGE_PAGE : SMALL_PAGE;
	if (huge && ring_bytes % HUGE_PAGE)
		return -EINVAL;
	int fd = ring_fd(name, huge);
	if (fd < 0)
		return fd;
	size_t len = page + ring_bytes;
	/* hugetlbfs reserves pages at mmap time, so a system without enough
	 * free huge pages fails here rather than with SIGBUS later. */
	void *base = MAP_FAILED;
	if (ftruncate(fd, (off_t)len) == 0)
		base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
	if (base == MAP_FAILED) {
		int err = errno;
		close(fd);
		return -err;
	}
	/* Once mapped here, the memfd takes no writable mapping and no write
	 * more, whoever opens it (a client could reopen it read-write
	 * through /proc), and keeps its size. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_SEAL) != 0) {
		int err = errno;
		munmap(base, len);
		close(fd);
		return -err;
	}
	m->fd = fd;
	m->base = base;
	m->map_len = len;
	m->hugetlb = huge;
	m->hdr = base;
	memset(m->hdr, 0, sizeof(*m->hdr));
	m->hdr->data_offset = page;
	m->ring = (char *)base + page;
	return 0;
}

int bw_shm_map(struct bw_shm *m, const char *name, size_t ring_bytes, bool populate)
{
	if (try_map(m, name, ring_bytes, true, populate) == 0)
		return 0;
	return try_map(m, name, ring_bytes, false, populate);
}

int bw_shm_map_file(struct bw_shm *m, const char *name, int file_fd, size_t map_bytes)
{
	void *file = mmap(NULL, map_bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, file_fd, 0);
	if (file == MAP_FAILED)
		return -errno;
	int rc = try_map(m, name, 0, false, false);
	if (rc) {
		munmap(file, map_bytes);
		return rc;
	}
	m->ring = m->file_base = file;
	m->file_map_len = map_bytes;
	return 0;
}

int bw_shm_wrap(struct bw_shm *m, const char *name, void *ring)
{
	int rc = try_map(m, name, 0, false, false);
	if (rc == 0)
		m->ring = ring;
	return rc;
}

int bw_shm_attach(struct bw_shm *m, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_size < (off_t)sizeof(struct pfs_ring_header))
		return -EPROTO;
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	const struct pfs_ring_header *h = base;
	if (h->data_offset < sizeof(*h) || h->data_offset > (uint64_t)st.st_size) {
		munmap(base, (size_t)st.st_size);
		return -EPROTO;
	}
	*m = (struct bw_shm){
		.fd = fd, .base = base, .map_len = (size_t)st.st_size, .hdr = base,
		.ring = (char *)base + h->data_offset,
	};
	return 0;
}

void bw_shm_unmap(struct bw_shm *m)
{
	if (m->file_base)
		munmap(m->file_base, m->file_map_len);
	m->file_base = NULL;
	if (m->base)
		munmap(m->base, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	m->base = NULL;
	m->fd = -1;
}
