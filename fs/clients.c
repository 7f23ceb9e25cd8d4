/* SPDX-License-Identifier: BSD-3-Clause
 * The zero-copy socket (docs/zerocopy.md; the protocol is
 * include/pipesfs_proto.h): libpipesfs clients ask for a node's rings and
 * get their memfds, read-only.
 *
 * One thread serves every connection from an epoll loop.  It never blocks
 * on a client: requests are read when they come, replies are sent with
 * MSG_DONTWAIT, and a client whose socket is full, who sends a malformed
 * or oversized message, or who sends descriptors, is told why (when it
 * can be) and disconnected.  Each connection is checked (SO_PEERCRED)
 * against the node it opens, as the kernel checks a read of the node's
 * `all` file (default_permissions); without allow_other only the mounting
 * user may connect at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bufs/dbuf.h"
#include "filters/log.h"
#include "fs/fs.h"
#include "pipesfs_proto.h"

#define MAX_CONNS 1024		/* connections at once */
#define MAX_PER_UID 64		/* ... of one user: no user locks out others */
#define MAX_NODES 64		/* nodes open per connection */

struct conn_node {
	struct pfs_node *node;	/* a reference, or NULL: a free handle */
	struct pfs_reader *watch;	/* wakes the loop: new records, new rings */
	uint64_t stamp;		/* the watch's pfs_reader_stamp when told */
	int efd;		/* the client's: written when the stamp moves */
	uint64_t *sent;		/* DBuf ids given already: a bit each */
};

struct conn {
	int fd;
	struct ucred cred;
	gid_t *groups;		/* the peer's supplementary groups at connect */
	int ngroups;
	struct conn_node nodes[MAX_NODES];
};

static struct {
	int listen_fd, epfd, stop_fd;
	int wake_fd;		/* every watch's wakeups: one eventfd of the
				 * loop's, since a ring's wakeup queue takes
				 * a few distinct listeners only */
	pthread_t thread;
	bool running;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[64];		/* where it is: made for it, removed after */
	struct conn *conns[MAX_CONNS];
} srv = { .listen_fd = -1, .epfd = -1, .stop_fd = -1, .wake_fd = -1 };

/* ---- replies --------------------------------------------------------------- */

/* One message, with nfds descriptors (at most 2).  False when the client
 * cannot take it now: it is then disconnected. */
static bool send_fds(struct conn *c, uint32_t type, const void *body, uint32_t len,
		     const int *fds, size_t nfds)
{
	struct pfs_msg h = { type, len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	if (nfds) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len);
}

/* One message with descriptor fd (-1: none). */
static bool send_msg(struct conn *c, uint32_t type, const void *body, uint32_t len, int fd)
{
	return send_fds(c, type, body, len, &fd, fd >= 0);
}

static bool send_error(struct conn *c, int err, const char *why)
{
	char body[sizeof(struct pfs_msg_error) + 256];
	struct pfs_msg_error *e = (struct pfs_msg_error *)body;
	e->err = err;
	snprintf(e->message, sizeof(body) - sizeof(*e), "%s", why);
	return send_msg(c, PFS_MSG_ERROR, body, (uint32_t)(sizeof(*e) + strlen(e->message) + 1), -1);
}

/* ---- who may read ---------------------------------------------------------- */

static bool in_group(const struct conn *c, gid_t want)
{
	if (c->cred.gid == want)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == want)
			return true;
	return false;
}

/* Does inode ino's mode grant the peer `want` (4 read, 1 search), as the
 * kernel's permission check (default_permissions) would? */
static bool granted(const struct conn *c, fuse_ino_t ino, unsigned want)
{
	struct stat st;
	fs_fill_attr(&st, ino, 0);
	unsigned bits = c->cred.uid == st.st_uid ? st.st_mode >> 6
			: in_group(c, st.st_gid) ? st.st_mode >> 3 : st.st_mode;
	return (bits & want) == want;
}

/* May the peer read node n's records, as the kernel would let it read
 * n's `all` by the node's path: search on every directory from the root
 * down to n, and read on `all`?  Without allow_other, only the mounting
 * user may (FUSE's own rule); root passes mode bits, as it does. */
static bool may_read(const struct conn *c, struct pfs_node *n)
{
	if (!fs_cfg.allow_other)
		return c->cred.uid == fs_cfg.uid;
	if (c->cred.uid == 0)
		return true;
	if (!granted(c, fs_ino(pfs_node_id(n), FS_ALL), 4) ||
	    !granted(c, fs_ino(0, FS_DIR), 1))	/* the mount root */
		return false;
	for (struct pfs_node *d = n; d && pfs_node_id(d); d = pfs_node_home(d))
		if (!granted(c, fs_ino(pfs_node_id(d), FS_DIR), 1))
			return false;
	return true;
}

/* ---- requests -------------------------------------------------------------- */

static struct conn_node *handle_of(struct conn *c, const struct pfs_msg_node *b)
{
	return b->handle < MAX_NODES && c->nodes[b->handle].node ? &c->nodes[b->handle] : NULL;
}

static bool do_open(struct conn *c, const struct pfs_msg_node *b)
{
	if (fs_ino_file(b->ino) != FS_DIR || b->ino == FUSE_ROOT_ID)
		return send_error(c, ENOTDIR, "not a node directory's inode");
	uint32_t h = 0;
	while (h < MAX_NODES && c->nodes[h].node)
		h++;
	if (h == MAX_NODES)
		return send_error(c, EMFILE, "too many nodes open on one connection");
	pfs_graph_lock();
	struct pfs_node *n = pfs_node_by_id(fs_ino_id(b->ino));
	bool ok = n && may_read(c, n);
	if (ok)
		pfs_node_get(n);
	else if (n)	/* for the owner: the client hears only EACCES */
		pfs_log("zero-copy client (uid %u, pid %d): may not read %s: Permission denied",
			(unsigned)c->cred.uid, (int)c->cred.pid, pfs_node_name(n));
	pfs_graph_unlock();
	if (!n)
		return send_error(c, ENOENT, "no such node");
	if (!ok)
		return send_error(c, EACCES, "the node's permissions do not let you read it");
	c->nodes[h] = (struct conn_node){ .node = n, .efd = -1 };
	struct pfs_msg_node reply = { .ino = b->ino, .handle = h };
	return send_msg(c, PFS_MSG_OK, &reply, sizeof(reply), -1);
}

#define MAX_RINGS 1024	/* per RINGS reply */

struct ring_list {
	uint64_t *sent;		/* the node's DBuf ids given already */
	int fds[MAX_RINGS][2];	/* the ring's memfd, and a file DBuf's file */
	struct pfs_msg_ring rings[MAX_RINGS];
	uint32_t n;
};

/* fd opened anew, read-only: the client cannot map it writable.  -1 on
 * failure (or for -1). */
static int reopen_ro(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return fd < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
}

/* Under the ports lock: read-only descriptors of each ring not given yet
 * (dbuf 0: an IBuf). */
static void collect_ring(void *arg, uint16_t dbuf, int fd, int file, uint64_t producer)
{
	struct ring_list *l = arg;
	if (l->n == MAX_RINGS || (dbuf && (l->sent[dbuf / 64] >> (dbuf % 64) & 1)))
		return;
	int ro = reopen_ro(fd), file_ro = reopen_ro(file);
	if (ro < 0 || (file >= 0 && file_ro < 0)) {
		if (ro >= 0)
			close(ro);
		return;
	}
	if (dbuf)
		l->sent[dbuf / 64] |= 1ull << (dbuf % 64);
	l->fds[l->n][0] = ro;
	l->fds[l->n][1] = file_ro;
	l->rings[l->n++] = (struct pfs_msg_ring){
		.kind = dbuf ? PFS_RING_DBUF : PFS_RING_IBUF, .producer = producer,
	};
}

static bool do_rings(struct conn *c, const struct pfs_msg_node *b)
{
	struct conn_node *cn = handle_of(c, b);
	if (!cn)
		return send_error(c, EBADF, "no such handle");
	struct ring_list *l = calloc(1, sizeof(*l));
	if (!l || (!cn->sent && !(cn->sent = calloc((BW_DBUF_MAX + 64) / 64, sizeof(uint64_t))))) {
		free(l);
		return send_error(c, ENOMEM, "out of memory");
	}
	l->sent = cn->sent;
	/* The watcher follows (and so listens to) the rings made since: a
	 * record published in one after this reply wakes the client. */
	if (cn->watch)
		pfs_reader_ready(cn->watch);
	uint32_t nports = pfs_node_rings(cn->node, b->from, collect_ring, l);
	bool ok = true;
	for (uint32_t i = 0; i < l->n; i++) {
		size_t nfds = l->fds[i][1] >= 0 ? 2 : 1;
		ok = ok && send_fds(c, PFS_MSG_RING, &l->rings[i], sizeof(l->rings[i]), l->fds[i],
				    nfds);
		for (size_t k = 0; k < nfds; k++)
			close(l->fds[i][k]);
	}
	struct pfs_msg_rings done = { .count = l->n, .generation = nports,
				      .ended = pfs_node_removed(cn->node) };
	free(l);
	return ok && send_msg(c, PFS_MSG_OK, &done, sizeof(done), -1);
}

static bool do_wait(struct conn *c, const struct pfs_msg_node *b)
{
	struct conn_node *cn = handle_of(c, b);
	if (!cn)
		return send_error(c, EBADF, "no such handle");
	if (cn->efd < 0) {
		cn->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		pfs_graph_lock();
		cn->watch = cn->efd >= 0 ? pfs_reader_open(cn->node, true, false, NULL) : NULL;
		pfs_graph_unlock();
		if (!cn->watch || pfs_reader_listen(cn->watch, srv.wake_fd) != 0)
			return send_error(c, ENOMEM, "cannot watch the node");
		cn->stamp = pfs_reader_stamp(cn->watch);
	}
	return send_msg(c, PFS_MSG_OK, NULL, 0, cn->efd);
}

static void node_close(struct conn_node *cn)
{
	pfs_graph_lock();
	if (cn->watch) {
		pfs_reader_unlisten(cn->watch);
		pfs_reader_close(cn->watch);
	}
	pfs_node_put(cn->node);
	pfs_graph_unlock();
	if (cn->efd >= 0)
		close(cn->efd);
	free(cn->sent);
	*cn = (struct conn_node){ .efd = -1 };
}

/* One request: false to disconnect. */
static bool serve(struct conn *c, const struct pfs_msg *h, const void *body)
{
	const struct pfs_msg_node *b = body;
	bool node_req = h->type >= PFS_MSG_OPEN && h->type <= PFS_MSG_CLOSE;
	if (node_req && h->len != sizeof(*b)) {
		send_error(c, EPROTO, "a node request's body is struct pfs_msg_node");
		return false;
	}
	switch (h->type) {
	case PFS_MSG_HELLO: {
		const struct pfs_msg_hello *hello = body;
		if (h->len != sizeof(*hello) || hello->version != PFS_PROTO_VERSION) {
			send_error(c, EPROTO, "protocol version 1 only");
			return false;
		}
		struct pfs_msg_hello reply = { PFS_PROTO_VERSION, 0 };
		return send_msg(c, PFS_MSG_OK, &reply, sizeof(reply), -1);
	}
	case PFS_MSG_OPEN:
		return do_open(c, b);
	case PFS_MSG_RINGS:
		return do_rings(c, b);
	case PFS_MSG_WAIT:
		return do_wait(c, b);
	case PFS_MSG_CLOSE:
		if (!handle_of(c, b))
			return send_error(c, EBADF, "no such handle");
		node_close(handle_of(c, b));
		return send_msg(c, PFS_MSG_OK, NULL, 0, -1);
	default:
		send_error(c, EPROTO, "unknown request");
		return false;
	}
}

/* ---- connections ----------------------------------------------------------- */

static void conn_drop(struct conn *c)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (c->nodes[i].node)
			node_close(&c->nodes[i]);
	epoll_ctl(srv.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	for (int i = 0; i < MAX_CONNS; i++)
		if (srv.conns[i] == c)
			srv.conns[i] = NULL;
	free(c->groups);
	free(c);
}

/* A message from c: whole, in bounds, with no descriptor; or the end. */
static void conn_readable(struct conn *c)
{
	union {
		struct pfs_msg h;
		char buf[PFS_MSG_MAX];
	} in;
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { in.buf, sizeof(in.buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	ssize_t got = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	bool fds = false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			fds = true;
			for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
				close(fd);
			}
		}
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	const char *bad = got <= 0 ? "" : fds ? "clients send no descriptors"
			  : m.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? "message too long"
			  : (size_t)got < sizeof(in.h) || in.h.len != (size_t)got - sizeof(in.h)
			  ? "message length does not match its header" : NULL;
	if (bad && *bad)
		send_error(c, EPROTO, bad);
	if (bad || !serve(c, &in.h, in.buf + sizeof(in.h)))
		conn_drop(c);
}

/* Why a connection from uid cannot be taken now, or NULL (*slot free). */
static const char *too_many(uid_t uid, int *slot)
{
	int mine = 0;
	*slot = -1;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (!srv.conns[i] && *slot < 0)
			*slot = i;
		mine += srv.conns[i] && srv.conns[i]->cred.uid == uid;
	}
	return mine >= MAX_PER_UID ? "too many connections of this user"
	       : *slot < 0 ? "too many connections" : NULL;
}

/* The peer's credentials, and its supplementary groups however many
 * (SO_PEERGROUPS says how much room they need: up to NGROUPS_MAX). */
static bool peer_creds(int fd, struct conn *c)
{
	socklen_t len = sizeof(struct ucred), glen = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) != 0 ||
	    (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &glen) != 0 && errno != ERANGE))
		return false;
	if (glen == 0)
		return true;
	c->groups = malloc(glen);
	if (!c->groups || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &glen) != 0)
		return false;
	c->ngroups = (int)(glen / sizeof(gid_t));
	return true;
}

static void accept_one(void)
{
	int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	int slot = -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	const char *full = NULL;
	if (!c || !peer_creds(fd, c) ||
	    (c->cred.uid != fs_cfg.uid && !fs_cfg.allow_other)) {
		close(fd);	/* the client sees its connection end */
		if (c)
			free(c->groups);
		free(c);
		return;
	}
	c->fd = fd;
	if ((full = too_many(c->cred.uid, &slot)) ||
	    epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		send_error(c, EMFILE, full ? full : strerror(errno));
		close(fd);
		free(c->groups);
		free(c);
		return;
	}
	for (int i = 0; i < MAX_NODES; i++)
		c->nodes[i].efd = -1;
	srv.conns[slot] = c;
}

/* Some watched ring was woken: tell the clients whose node moved. */
static void wake_clients(void)
{
	uint64_t n;
	if (read(srv.wake_fd, &n, sizeof(n)) != sizeof(n))
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		for (int k = 0; srv.conns[i] && k < MAX_NODES; k++) {
			struct conn_node *cn = &srv.conns[i]->nodes[k];
			uint64_t stamp, one = 1;
			if (!cn->watch || (stamp = pfs_reader_stamp(cn->watch)) == cn->stamp)
				continue;
			cn->stamp = stamp;
			/* Nonblocking: EAGAIN only when a wakeup is pending. */
			if (write(cn->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				pfs_log("zero-copy client (uid %u): cannot wake it: %s",
					(unsigned)srv.conns[i]->cred.uid, strerror(errno));
		}
}

static void *loop(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "pfs-clients");
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(srv.epfd, ev, 16, -1);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &srv.stop_fd)
				return NULL;
			if (ev[i].data.ptr == &srv.listen_fd)
				accept_one();
			else if (ev[i].data.ptr == &srv.wake_fd)
				wake_clients();
			else
				conn_readable(ev[i].data.ptr);
		}
	}
}

/* ---- start and stop -------------------------------------------------------- */

/* Where the socket goes: a directory of its own, made anew (mkdtemp:
 * nobody can have made it first, or swap what is in it) in /run for root,
 * in /tmp for others (not the user's runtime directory: it is private,
 * and --group members must reach the socket).  Searchable, not listable:
 * who may use the socket is the daemon's to say. */
static int socket_path(void)
{
	snprintf(srv.dir, sizeof(srv.dir), "%s/pipesfs-XXXXXX", geteuid() == 0 ? "/run" : "/tmp");
	if (!mkdtemp(srv.dir) || chmod(srv.dir, 0711) != 0) {
		srv.dir[0] = '\0';
		return -errno;
	}
	snprintf(srv.path, sizeof(srv.path), "%s/socket", srv.dir);
	return 0;
}

int fs_clients_start(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int rc = socket_path();
	if (rc)
		return rc;
	memcpy(a.sun_path, srv.path, sizeof(a.sun_path));
	srv.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	srv.stop_fd = eventfd(0, EFD_CLOEXEC);
	srv.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event l = { .events = EPOLLIN, .data.ptr = &srv.listen_fd };
	struct epoll_event s = { .events = EPOLLIN, .data.ptr = &srv.stop_fd };
	struct epoll_event w = { .events = EPOLLIN, .data.ptr = &srv.wake_fd };
	if (srv.listen_fd < 0 || srv.epfd < 0 || srv.stop_fd < 0 || srv.wake_fd < 0 ||
	    bind(srv.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    chmod(srv.path, 0666) != 0 || listen(srv.listen_fd, 64) != 0 ||
	    epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.listen_fd, &l) != 0 ||
	    epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.stop_fd, &s) != 0 ||
	    epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.wake_fd, &w) != 0)
		rc = -errno;
	if (rc == 0)
		rc = -pthread_create(&srv.thread, NULL, loop, NULL);
	srv.running = rc == 0;
	if (rc)
		pfs_log("zero-copy socket %s: %s", srv.path, strerror(-rc));
	return rc;
}

const char *fs_clients_path(void)
{
	return srv.running ? srv.path : "";
}

void fs_clients_stop(void)
{
	if (srv.running) {
		uint64_t one = 1;
		if (write(srv.stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(srv.thread, NULL);
		for (int i = 0; i < MAX_CONNS; i++)
			if (srv.conns[i])
				conn_drop(srv.conns[i]);
		srv.running = false;
	}
	if (srv.dir[0]) {
		unlink(srv.path);
		rmdir(srv.dir);
		srv.dir[0] = '\0';
	}
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.epfd >= 0)
		close(srv.epfd);
	if (srv.stop_fd >= 0)
		close(srv.stop_fd);
	if (srv.wake_fd >= 0)
		close(srv.wake_fd);
	srv.listen_fd = srv.epfd = srv.stop_fd = srv.wake_fd = -1;
}
