/* SPDX-License-Identifier: BSD-3-Clause
 * libpipesfs (include/pipesfs.h): a node's rings, mapped read-only from
 * the memfds the daemon passes over its socket (include/pipesfs_proto.h),
 * read with bufs' own merge (docs/zerocopy.md).
 */
#include "pipesfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "bufs/dbuf.h"
#include "bufs/ibuf.h"
#include "bufs/merge.h"
#include "pipesfs_proto.h"

struct pipesfs_client {
	int sock;
	uint32_t handle;	/* the daemon's, for the node */
	int efd;		/* the daemon writes it: new records or rings */
	int pfd;		/* epoll of efd and sock: pipesfs_fd() */
	bool from_now;
	bool opened;		/* the open's rings followed: later ones are new */
	bool ended;		/* the node is removed: no ring will come */
	uint64_t generation;	/* of the rings last asked for */
	uint16_t asked_dbuf;	/* the last DBuf id asked for, missing */
	struct bw_dbuf_table *dbufs;
	struct bw_dbuf **dbuf_list;
	size_t ndbufs;
	struct bw_ibuf **ibufs;
	size_t nibufs;
	struct bw_merge merge;
};

/* ---- the socket ------------------------------------------------------------ */

/* Receive one message: its type, body (up to cap) and descriptors (fds[0]
 * and fds[1], -1 where none came).  Returns the body's length or -errno. */
static ssize_t recv_fds(int sock, uint32_t *type, void *body, size_t cap, int fds[2])
{
	char buf[PFS_MSG_MAX];
	union {
		char b[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };
	fds[0] = fds[1] = -1;
	ssize_t got = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	if (got < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(cm), (n < 2 ? n : 2) * sizeof(int));
		}
	struct pfs_msg h;
	if ((size_t)got < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.len != (size_t)got - sizeof(h) || h.len > cap)
		return -EPROTO;
	memcpy(body, buf + sizeof(h), h.len);
	*type = h.type;
	return h.len;
}

/* A message with at most one descriptor. */
static ssize_t recv_msg(int sock, uint32_t *type, void *body, size_t cap, int *fd)
{
	int fds[2];
	ssize_t n = recv_fds(sock, type, body, cap, fds);
	if (fds[1] >= 0)
		close(fds[1]);
	*fd = fds[0];
	return n;
}

/* A request, and its OK's body (up to cap bytes) and descriptor: the
 * body's length, or -errno (the daemon's error, or the connection's). */
static ssize_t request(int sock, uint32_t type, const void *body, uint32_t len,
		       void *reply, size_t cap, int *fd)
{
	char out[PFS_MSG_MAX];
	struct pfs_msg h = { type, len };
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), body, len);
	if (send(sock, out, sizeof(h) + len, MSG_NOSIGNAL) < 0)
		return -errno;
	char in[PFS_MSG_MAX];
	uint32_t t;
	ssize_t n = recv_msg(sock, &t, in, sizeof(in), fd);
	if (n >= 0 && t == PFS_MSG_ERROR) {
		int32_t err = EPROTO;
		if ((size_t)n >= sizeof(err))
			memcpy(&err, in, sizeof(err));
		return -(err > 0 ? err : EPROTO);
	}
	if (n >= 0 && (t != PFS_MSG_OK || (size_t)n > cap))
		return -EPROTO;
	if (n > 0)
		memcpy(reply, in, (size_t)n);
	return n;
}

#define FUSE_SUPER_MAGIC 0x65735546	/* statfs(2)'s f_type of a FUSE mount */

/* The socket's path, from the `.socket` file of the mount holding dir,
 * and the mount root's owner (the mounting user: the daemon's). */
static int socket_of(const char *dir, char *path, size_t cap, uid_t *owner)
{
	char root[PATH_MAX], up[PATH_MAX + 16];
	struct stat st, above;
	struct statfs fs;
	if (!realpath(dir, root) || stat(root, &st) != 0 || statfs(root, &fs) != 0)
		return -errno;
	if (fs.f_type != FUSE_SUPER_MAGIC)
		return -ENOTDIR;
	/* The mount root is the highest directory on the same device. */
	for (;;) {
		snprintf(up, sizeof(up), "%s/..", root);
		if (stat(up, &above) != 0 || above.st_dev != st.st_dev || strcmp(root, "/") == 0)
			break;
		if (!realpath(up, root))
			return -errno;
	}
	if (stat(root, &st) != 0)
		return -errno;
	*owner = st.st_uid;
	snprintf(up, sizeof(up), "%s/.socket", root);
	FILE *f = fopen(up, "re");
	if (!f)
		return errno == ENOENT ? -ENOTDIR : -errno;
	bool ok = fgets(path, (int)cap, f) != NULL;
	fclose(f);
	path[strcspn(path, "\n")] = '\0';
	return ok && *path ? 0 : -ENOTDIR;
}

/* Connected to path, whose peer runs as owner (the mount's daemon) or
 * root: a `.socket` anyone could write elsewhere names no other peer. */
static int connect_to(const char *path, uid_t owner)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int err = connect(s, (struct sockaddr *)&a, sizeof(a)) != 0 ? errno
		  : getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ? errno
		  : peer.uid != owner && peer.uid != 0 ? ENOTDIR : 0;
	if (err) {
		close(s);
		return -err;
	}
	return s;
}

/* ---- rings ----------------------------------------------------------------- */

static int keep(void ***list, size_t *n, void *item)
{
	void **l = realloc(*list, (*n + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	l[(*n)++] = item;
	*list = l;
	return 0;
}

/* One RING message's ring, attached.  An IBuf is followed only once the
 * reply is complete (follow_new): reading from the oldest record looks at
 * the data rings its records point into.  A DBuf id the client has
 * already is one it keeps. */
static int take_ring(struct pipesfs_client *c, const struct pfs_msg_ring *r, int fd, int file)
{
	int rc;
	if (r->kind == PFS_RING_IBUF) {
		struct bw_ibuf *ib;
		if ((rc = bw_ibuf_attach(&ib, fd)) != 0)
			return rc;
		if ((rc = keep((void ***)&c->ibufs, &c->nibufs, ib)) != 0)
			bw_ibuf_destroy(ib);
		return rc;
	}
	struct bw_dbuf *db;
	rc = bw_dbuf_attach(c->dbufs, fd, file, &db);
	if (rc == -EPROTO) {
		close(fd);	/* known already, or not shareable: its records drop */
		if (file >= 0)
			close(file);
		return 0;
	}
	if (rc == 0 && (rc = keep((void ***)&c->dbuf_list, &c->ndbufs, db)) != 0)
		bw_dbuf_detach(c->dbufs, db);
	return rc;
}

/* Follow the IBufs attached but not in the merge yet: those the open
 * found from now or from the oldest record they hold, as asked; every one
 * made later from its start, as the daemon's readers do, since all of its
 * records came after the open (and those lapped before we looked count
 * as lost). */
static int follow_new(struct pipesfs_client *c)
{
	for (size_t i = c->merge.n; i < c->nibufs; i++) {
		enum bw_start from = c->opened ? BW_FROM_START
				     : c->from_now ? BW_FROM_NOW : BW_FROM_OLDEST;
		int rc = bw_merge_add(&c->merge, c->ibufs[i], from);
		if (rc)
			return rc;
	}
	return 0;
}

/* The node's rings the client does not follow yet, every one attached
 * before any is read. */
static int update_rings(struct pipesfs_client *c)
{
	struct pfs_msg_node req = { .handle = c->handle, .from = (uint32_t)c->nibufs };
	struct pfs_msg h = { PFS_MSG_RINGS, sizeof(req) };
	char out[sizeof(h) + sizeof(req)];
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &req, sizeof(req));
	if (send(c->sock, out, sizeof(out), MSG_NOSIGNAL) < 0)
		return -errno;
	for (;;) {
		char body[PFS_MSG_MAX];
		uint32_t type;
		int fds[2];
		ssize_t n = recv_fds(c->sock, &type, body, sizeof(body), fds);
		if (n < 0)
			return (int)n;
		int fd = fds[0];
		if (type == PFS_MSG_RING && (size_t)n == sizeof(struct pfs_msg_ring) && fd >= 0) {
			struct pfs_msg_ring r;
			memcpy(&r, body, sizeof(r));
			int rc = take_ring(c, &r, fd, fds[1]);
			if (rc)
				return rc;
		} else if (type == PFS_MSG_OK && (size_t)n == sizeof(struct pfs_msg_rings)) {
			struct pfs_msg_rings done;
			memcpy(&done, body, sizeof(done));
			c->generation = done.generation;
			c->ended = done.ended;
			return follow_new(c);
		} else {
			for (int k = 0; k < 2; k++)
				if (fds[k] >= 0)
					close(fds[k]);
			return type == PFS_MSG_ERROR ? -EIO : -EPROTO;
		}
	}
}

/* pipesfs_fd(): readable when the daemon wakes us, or when it is gone. */
static int watch(struct pipesfs_client *c)
{
	struct epoll_event e = { .events = EPOLLIN }, s = { .events = EPOLLIN | EPOLLRDHUP };
	if ((c->pfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(c->pfd, EPOLL_CTL_ADD, c->efd, &e) != 0 ||
	    epoll_ctl(c->pfd, EPOLL_CTL_ADD, c->sock, &s) != 0)
		return -errno;
	return 0;
}

/* ---- the API --------------------------------------------------------------- */

struct pipesfs_client *pipesfs_open(const char *path, unsigned flags, int *err)
{
	struct stat st;
	char sock[PATH_MAX];
	uid_t owner = 0;
	struct pipesfs_client *c = calloc(1, sizeof(*c));
	int rc = !c ? -ENOMEM : stat(path, &st) != 0 ? -errno
		 : !S_ISDIR(st.st_mode) ? -ENOTDIR : socket_of(path, sock, sizeof(sock), &owner);
	if (rc) {
		free(c);
		*err = -rc;
		return NULL;
	}
	c->sock = -1;
	c->efd = -1;
	c->pfd = -1;
	c->from_now = flags & PIPESFS_FROM_NOW;
	c->dbufs = calloc(1, sizeof(*c->dbufs));
	bw_merge_init(&c->merge, false, NULL);
	c->merge.dbufs = c->dbufs;
	c->merge.await_dbufs = true;
	struct pfs_msg_hello hello = { PFS_PROTO_VERSION, 0 };
	struct pfs_msg_node node = { .ino = st.st_ino };
	int fd = -1;
	if (!c->dbufs)
		rc = -ENOMEM;
	else if ((c->sock = connect_to(sock, owner)) < 0)
		rc = c->sock;
	if (rc == 0)
		rc = (int)request(c->sock, PFS_MSG_HELLO, &hello, sizeof(hello), &hello,
				  sizeof(hello), &fd);
	if (rc >= 0)
		rc = (int)request(c->sock, PFS_MSG_OPEN, &node, sizeof(node), &node, sizeof(node), &fd);
	if (rc >= 0) {
		c->handle = node.handle;
		rc = (int)request(c->sock, PFS_MSG_WAIT, &node, sizeof(node), &node, 0, &c->efd);
	}
	if (rc >= 0)
		rc = c->efd >= 0 ? watch(c) : -EPROTO;
	if (rc >= 0)
		rc = update_rings(c);
	if (rc < 0) {
		pipesfs_close(c);
		*err = -rc;
		return NULL;
	}
	c->opened = true;
	return c;
}

/* Start loading the next record's first bytes while the caller uses this
 * one: a client reads rings the daemon wrote, from memory, not cache. */
static void prefetch_next(struct pipesfs_client *c)
{
	struct pfs_desc d;
	const struct bw_dbuf *db;
	if (bw_merge_peek(&c->merge, &d) && (db = bw_dbuf_find(c->dbufs, d.dbuf)))
		__builtin_prefetch(bw_dbuf_ptr(db, d.pos));
}

int pipesfs_next(struct pipesfs_client *c, struct pipesfs_record *r)
{
	struct pfs_desc d;
	const void *data;
	int n;
	uint16_t id;
	/* A record in a data ring its producer made after we last asked:
	 * ask for the rings (once per new ring); one still missing after
	 * that (not shareable) loses its records. */
	while ((n = bw_merge_next(&c->merge, &d, &data)) == 0 &&
	       (id = bw_merge_unknown_dbuf(&c->merge, false)) != 0) {
		if (id == c->asked_dbuf) {
			bw_merge_unknown_dbuf(&c->merge, true);
			continue;
		}
		c->asked_dbuf = id;
		int rc = update_rings(c);
		if (rc < 0)
			return rc;
	}
	if (n == 1)
		*r = (struct pipesfs_record){
			.data = data, .len = d.len, .wire_len = d.wire_len, .ts_ns = d.ts_ns,
			.flow_hash = d.flow_hash, .link_type = d.link_type,
			.head_room = d.head_room, .kind = d.kind, .flags = d.flags,
			.seq = d.seq, .pos = d.pos, .dbuf = d.dbuf,
		};
	if (n == 1)
		prefetch_next(c);
	return n;
}

bool pipesfs_intact(struct pipesfs_client *c, const struct pipesfs_record *r)
{
	struct pfs_desc d = { .pos = r->pos, .dbuf = r->dbuf, .len = r->len, .seq = r->seq };
	return bw_merge_intact(&c->merge, &d);
}

uint64_t pipesfs_lost(struct pipesfs_client *c)
{
	return bw_merge_drops(&c->merge);
}

bool pipesfs_eof(struct pipesfs_client *c)
{
	return c->ended ? bw_merge_eof(&c->merge) || c->merge.n == 0
			: c->merge.n > 0 && bw_merge_eof(&c->merge);
}

int pipesfs_wait(struct pipesfs_client *c, int timeout_ms)
{
	if (bw_merge_ready(&c->merge))
		return 1;
	struct pollfd p[2] = { { .fd = c->efd, .events = POLLIN },
			       { .fd = c->sock, .events = POLLIN } };
	int n = poll(p, 2, timeout_ms);
	if (n < 0)
		return -errno;
	/* The daemon speaks only when asked: the socket is readable now
	 * only when the daemon is gone. */
	if (p[1].revents)
		return -ECONNRESET;
	if (n == 0)
		return 0;
	uint64_t count;
	if (read(c->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	/* The daemon wakes us for new records and for new rings alike. */
	int rc = update_rings(c);
	return rc < 0 ? rc : 1;
}

int pipesfs_fd(const struct pipesfs_client *c)
{
	return c->pfd;
}

void pipesfs_close(struct pipesfs_client *c)
{
	if (!c)
		return;
	bw_merge_fini(&c->merge);
	for (size_t i = 0; i < c->nibufs; i++)
		bw_ibuf_destroy(c->ibufs[i]);
	for (size_t i = 0; i < c->ndbufs; i++)
		bw_dbuf_detach(c->dbufs, c->dbuf_list[i]);
	free(c->ibufs);
	free(c->dbuf_list);
	free(c->dbufs);
	if (c->efd >= 0)
		close(c->efd);
	if (c->pfd >= 0)
		close(c->pfd);
	if (c->sock >= 0)
		close(c->sock);
	free(c);
}
