/* SPDX-License-Identifier: BSD-3-Clause
 * The zero-copy socket's protocol, between the daemon (fs/clients.c) and
 * libpipesfs (lib/pipesfs.c): the layout both build against.  Not an API:
 * include/pipesfs.h is.  See docs/zerocopy.md.
 *
 * A SOCK_SEQPACKET Unix socket: one message, one request or reply.  Every
 * message is a struct pfs_msg, then `len` bytes of body; host byte order
 * (both ends are on one machine).  The client sends requests; the daemon
 * answers each with exactly one PFS_MSG_OK or PFS_MSG_ERROR, after zero or
 * more PFS_MSG_RING messages for PFS_MSG_RINGS.  Clients never send
 * descriptors; the daemon sends them only with PFS_MSG_RING (one or two)
 * and the OK of PFS_MSG_WAIT (one), in SCM_RIGHTS, opened read-only.
 */
#ifndef PIPESFS_PROTO_H
#define PIPESFS_PROTO_H

#include <stdint.h>

#define PFS_PROTO_VERSION 1
#define PFS_MSG_MAX 4096	/* bytes of a message, header included */

enum pfs_msg_type {
	/* requests */
	PFS_MSG_HELLO = 1,	/* body: struct pfs_msg_hello */
	PFS_MSG_OPEN = 2,	/* body: struct pfs_msg_node (ino: the node
				 * directory's inode number) -> OK with
				 * struct pfs_msg_node (handle set) */
	PFS_MSG_RINGS = 3,	/* body: struct pfs_msg_node (handle) -> a
				 * RING per ring, then OK with
				 * struct pfs_msg_rings */
	PFS_MSG_WAIT = 4,	/* body: struct pfs_msg_node (handle) -> OK
				 * with an eventfd the daemon writes when
				 * the node may have new records or rings */
	PFS_MSG_CLOSE = 5,	/* body: struct pfs_msg_node (handle) -> OK */
	/* replies */
	PFS_MSG_OK = 64,
	PFS_MSG_ERROR = 65,	/* body: struct pfs_msg_error */
	PFS_MSG_RING = 66,	/* body: struct pfs_msg_ring, and its memfd
				 * (a file replayed in place: then also the
				 * file, a second descriptor) */
};

struct pfs_msg {
	uint32_t type;		/* enum pfs_msg_type */
	uint32_t len;		/* bytes of body after this header */
};

struct pfs_msg_hello {
	uint32_t version;	/* PFS_PROTO_VERSION */
	uint32_t pad;
};

struct pfs_msg_node {
	uint64_t ino;		/* OPEN: the node directory's st_ino */
	uint32_t handle;	/* the daemon's number for the open node */
	uint32_t from;		/* RINGS: the first port wanted (the number
				 * of IBufs the client has): a port's IBuf and
				 * its producer's DBufs come once */
};

enum pfs_ring_kind {
	PFS_RING_IBUF = 1,	/* a producer's index ring at the node */
	PFS_RING_DBUF = 2,	/* a data ring its descriptors point into */
};

struct pfs_msg_ring {
	uint32_t kind;		/* enum pfs_ring_kind */
	uint32_t pad;
	uint64_t producer;	/* IBuf: its producer's uid (never reused) */
};

struct pfs_msg_rings {
	uint32_t count;		/* RING messages sent before this OK */
	uint32_t ended;		/* 1: the node is removed: no ring will come */
	uint64_t generation;	/* changes when the node gains a ring */
};

struct pfs_msg_error {
	int32_t err;		/* a positive errno */
	char message[];		/* why, for people: NUL-terminated */
};

#endif
