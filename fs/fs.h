/* SPDX-License-Identifier: BSD-3-Clause
 * The FUSE daemon's shared declarations.  fs/ is the only place that
 * talks to libfuse; it sees the graph through its public headers only
 * (graph.h, reader.h, and producer.h for writes).
 *
 * Modules, each using only those after it: main.c -> ops.c (the lowlevel
 * operations) -> stream.c (the stream files) -> open.c (open files), park.c
 * (parked requests), rcu.c (FUSE threads as RCU threads); ops.c -> spec.c
 * (filter specs, parsed interruptibly), attrs.c (owners and modes).  open.c and
 * park.c call back into the files they hold only through function
 * pointers (of->release, struct fs_parked).
 */
#ifndef FS_FS_H
#define FS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "filters/graph/graph.h"
#include "filters/graph/reader.h"
#include "filters/pcapio.h"
#include "filters/pcapng.h"
#include "fs/park.h"

/* What an inode is: a node's directory, one of its files, or a link. */
enum fs_file {
	FS_DIR, FS_ALL, FS_NEW, FS_PCAP, FS_PCAPNG, FS_FILTER, FS_STATS,
	FS_LOG,		/* the mount root only */
	FS_SOCKET,	/* the mount root only: where the zero-copy socket is */
	FS_LINK,	/* a symbolic link: the id is the link's */
	FS_NFILES
};

/* Inode numbers: (id << 4) + file + 1, so the root's directory is 1. */
static inline fuse_ino_t fs_ino(uint64_t id, enum fs_file f)
{
	return (id << 4) + (fuse_ino_t)f + 1;
}

static inline uint64_t fs_ino_id(fuse_ino_t ino)
{
	return (ino - 1) >> 4;
}

static inline enum fs_file fs_ino_file(fuse_ino_t ino)
{
	return (enum fs_file)((ino - 1) & 15);
}

static inline bool fs_is_stream(enum fs_file f)
{
	return f == FS_ALL || f == FS_NEW || f == FS_PCAP || f == FS_PCAPNG;
}

struct fs_config {
	const char *mountpoint;		/* absolute */
	uid_t uid;
	gid_t gid;
	mode_t dir_mode, file_mode;
	bool allow_other;		/* -o allow_other: modes decide */
	struct timespec mounted;
};

/* The attributes of inode ino as stat shows them (chown and chmod
 * included); link_len: a link's text length (FS_LINK). */
void fs_fill_attr(struct stat *st, fuse_ino_t ino, size_t link_len);

/* The zero-copy socket (clients.c): started after the mount, stopped
 * before the graph goes.  fs_clients_path: where it is ("" if none). */
int fs_clients_start(void);
const char *fs_clients_path(void);
void fs_clients_stop(void);
extern struct fs_config fs_cfg;

/* One open stream, filter, stats or log file. */
struct fs_open {
	struct fs_open *prev, *next;	/* every open file (fs/open.c) */
	enum fs_file file;
	struct pfs_node *node;		/* a reference */
	pthread_mutex_t lock;		/* one request at a time */
	unsigned refs;			/* the open file's, requests', the parker's */
	void (*release)(struct fs_open *of);	/* at close, before the put */
	/* reading a stream */
	struct pfs_reader *reader;
	uint8_t header[PFS_PCAPNG_SHB_LEN];	/* a view's: pcap's global
						 * header, pcapng's SHB */
	size_t header_len;		/* 0 until known (pcap: at its first record) */
	size_t header_sent;		/* bytes of it read */
	struct pfs_pcap_view pcap;	/* set with the pcap view's header */
	uint64_t pcap_left_out;		/* records of another link type */
	struct pfs_pcapng_view pcapng;
	uint64_t *origins;		/* pcapng: each input's pfs_reader_origin */
	size_t norigins;
	uint8_t *buf;			/* what reads are copied through */
	size_t buf_cap;
	/* a parked read or poll */
	struct fs_parked park;
	bool listening;			/* the reader's wakeups write the parker's fd */
	fuse_req_t req;
	size_t req_size;
	struct fuse_pollhandle *ph;
	/* writing */
	struct pfs_producer *writer;
	uint32_t flow;
	struct pfs_pcap_parser pcap_in;
	struct pfs_pcapng_parser pcapng_in;
	/* filter, stats and log: what was there at open */
	char *text;
	size_t text_len;
};

extern const struct fuse_lowlevel_ops fs_ops;

/* fs/open.c: open files.  new takes a node reference; get and put count
 * the users of an open file (the last put frees); release is the file's
 * close (it calls of->release, set by the kind of file).  At the end,
 * release_all closes what the kernel never released (a detached mount). */
struct fs_open *fs_open_new(enum fs_file file, struct pfs_node *node);
void fs_open_get(struct fs_open *of);
void fs_open_put(struct fs_open *of);
void fs_open_release(struct fs_open *of);
void fs_open_release_all(void);

/* fs/stream.c: the stream files (graph lock held for open; open sets
 * of->release).  holds: a reader opened by the mount's owner, whom
 * lossless producers wait for (see pfs_reader_open). */
int fs_stream_open(struct fs_open *of, int flags, bool holds);
void fs_stream_read(fuse_req_t req, struct fs_open *of, size_t size, int flags);
void fs_stream_write(fuse_req_t req, struct fs_open *of, const char *buf, size_t size);
void fs_stream_poll(fuse_req_t req, struct fs_open *of, struct fuse_pollhandle *ph);

/* fs/attrs.c: owners and modes changed by chown and chmod, by inode.
 * apply: put them into a stat.  set: change them (cur: the file's stat
 * now; who: the requester's uid; only root changes an owner or group,
 * only the owner or root a mode): 0, or -EPERM with a line in the log.
 * forget: inodes first .. first + n - 1 are gone. */
void fs_attrs_apply(struct stat *st);
int fs_attrs_set(const struct stat *cur, const struct stat *want, int to_set, uid_t who);
void fs_attrs_forget(fuse_ino_t first, unsigned n);

/* fs/spec.c: parse a filter spec (pfs_stage_parse) for request req,
 * without the graph lock, giving up with -EINTR as soon as req is
 * interrupted.  0 with *st, -EINVAL (reason in the log) or -ENOMEM. */
int fs_spec_parse(fuse_req_t req, const char *spec, bool dirname, struct pfs_stage **st);

/* fs/rcu.c: a FUSE thread registers with the graph's RCU the first time
 * it runs records through the graph (a write). */
void fs_rcu_register(void);

#endif
