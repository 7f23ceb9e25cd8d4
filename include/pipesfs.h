/* SPDX-License-Identifier: BSD-3-Clause
 * libpipesfs: read a pipesfs node's records in place, without a copy or a
 * system call per record (libpipesfs(3); the design: docs/zerocopy.md).
 *
 * A client opens a node by its path inside a mount.  The library asks the
 * daemon (over the Unix socket named in the mount root's `.socket`) for
 * the node's rings, maps them read-only, and merges them as the daemon's
 * own readers do.  The daemon checks the client's credentials
 * (SO_PEERCRED) against the node's permissions first, as the kernel checks
 * a read of the node's files.
 *
 *	struct pipesfs_client *c = pipesfs_open("/mnt/p/eth0/ip/tcp", 0, &err);
 *	struct pipesfs_record r;
 *	for (;;) {
 *		int n = pipesfs_next(c, &r);
 *		if (n == 0 && pipesfs_eof(c))
 *			break;
 *		if (n == 0) {
 *			pipesfs_wait(c, -1);
 *			continue;
 *		}
 *		use(r.data, r.len);
 *		if (!pipesfs_intact(c, &r))
 *			forget_what_was_used();	// overwritten meanwhile
 *	}
 *	pipesfs_close(c);
 *
 * Threads: a client is used by one thread at a time.  Different clients
 * are independent.
 */
#ifndef PIPESFS_H
#define PIPESFS_H

#include <stdbool.h>
#include <stdint.h>

#include "pipesfs_record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pipesfs_client;

/* One record, pointing into a ring mapped read-only.  `data` stays mapped
 * until pipesfs_close(), but its bytes may be overwritten by the producer
 * at any time after pipesfs_next() returned it: check pipesfs_intact()
 * after using them. */
struct pipesfs_record {
	const uint8_t *data;	/* len bytes */
	uint32_t len;		/* bytes at data */
	uint32_t wire_len;	/* frames: length on the wire (>= len); else len */
	uint64_t ts_ns;		/* capture or write time, ns since the epoch */
	uint32_t flow_hash;	/* the same for every record of one flow */
	uint16_t link_type;	/* frames: LINKTYPE_* (tcpdump.org); else 0 */
	uint16_t head_room;	/* bytes before data that belong to the record:
				 * a narrowed frame's headers, or a struct
				 * pfs_flow_meta (pipesfs_record.h) */
	uint8_t kind;		/* enum pfs_kind (pipesfs_record.h) */
	uint8_t flags;		/* PFS_REC_* (pipesfs_record.h) */
	uint64_t seq;		/* its sequence number in its producer's ring */
	uint64_t pos;		/* the library's: where it lies, for */
	uint16_t dbuf;		/* pipesfs_intact() */
};

/* Flags for pipesfs_open. */
#define PIPESFS_FROM_NOW 0x1	/* only records published after the open
				 * (the `new` file); default: from the oldest
				 * the node still holds (the `all` file) */

/* Open the node at `path` (a directory inside a pipesfs mount, absolute
 * or relative).  NULL with *err set to a positive errno on failure:
 *   ENOENT   no such node;
 *   ENOTDIR  path is no node directory of a pipesfs mount: outside any
 *            FUSE mount, the mount root itself, or a mount whose
 *            `.socket` names a socket not served by the mount's owner
 *            (or root);
 *   EACCES   the daemon refused: the caller may not read the node;
 *   ENOTCONN the daemon is gone, its mount left behind (killed);
 *   ECONNREFUSED, ENOENT on the socket: the daemon is gone;
 *   EMFILE   also: the daemon has as many connections as it takes from
 *            the caller's user (64) or from everyone (1024);
 *   EPROTO   the daemon spoke a protocol this library does not;
 *   ENOMEM, EMFILE  resources.
 * The client owns every mapping and descriptor it makes; pipesfs_close()
 * releases them. */
struct pipesfs_client *pipesfs_open(const char *path, unsigned flags, int *err);

/* The next record, in order within each producer (across producers by
 * timestamp, as `all` is).  1: *r is filled; 0: none for now (wait with
 * pipesfs_wait()); -errno: the connection to the daemon failed (EPIPE,
 * ECONNRESET) while asking for a data ring.  No system call, but for the
 * first record in a data ring made since the client last asked (one
 * round trip to the daemon per new ring).
 *
 * A node replaying a capture file in place (pcap:FILE) has its records
 * in the file itself, which the client maps: if the file shrinks while it
 * is read (truncate(1), `: > FILE`), touching a record past its new end
 * raises SIGBUS in the client, as in any program that maps a file.  The
 * daemon survives it; a client that may see it
 * handles SIGBUS itself (the library installs no signal handler). */
int pipesfs_next(struct pipesfs_client *c, struct pipesfs_record *r);

/* After using r's bytes: were they intact all along?  False: the producer
 * overwrote them meanwhile; the record is lost (and counted in
 * pipesfs_lost()), whatever was read from it must be dropped. */
bool pipesfs_intact(struct pipesfs_client *c, const struct pipesfs_record *r);

/* Records lost so far: lapped by a producer, or overwritten while used. */
uint64_t pipesfs_lost(struct pipesfs_client *c);

/* True once no record will come: every producer of the node ended (a
 * replay's end, a source's interface gone, writers closed) and all was
 * read. */
bool pipesfs_eof(struct pipesfs_client *c);

/* Wait until a record may be there, timeout_ms (-1: no limit); new rings
 * (a producer that starts reaching the node later) are joined here.  1:
 * look again with pipesfs_next(); 0: timed out; -EINTR, or -errno when
 * the connection to the daemon failed (EPIPE, ECONNRESET: the daemon is
 * gone, which a wait notices at once). */
int pipesfs_wait(struct pipesfs_client *c, int timeout_ms);

/* A descriptor that polls readable (POLLIN) when pipesfs_wait() would
 * return 1, or when the daemon is gone (pipesfs_wait() then says so), for
 * a caller's own event loop.  Drain pipesfs_next() first: records there at
 * the open make it readable only once more come.  Once it polls readable, call
 * pipesfs_wait(c, 0): that clears its readiness and joins new rings; then
 * pipesfs_next() until it returns 0, before polling again.  Owned by the
 * client. */
int pipesfs_fd(const struct pipesfs_client *c);

/* Unmap, close, forget.  NULL is fine. */
void pipesfs_close(struct pipesfs_client *c);

#ifdef __cplusplus
}
#endif

#endif
