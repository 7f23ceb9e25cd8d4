/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: the zero-copy socket (fs/clients.c), as a client that
 * sends anything would drive it.  The daemon's socket thread runs in this
 * process, over a graph with a node written into (so OPEN, RINGS and WAIT
 * have rings to give), and each input is one connection:
 *
 *	repeat: a flags byte (bit 0: pass a descriptor with it; bit 1:
 *	        close after it), a 2-byte length, that many bytes sent as
 *	        one message
 *
 * after each message the replies are read (with a bound on the wait).
 * Invariants: no crash, leak or sanitizer report in the daemon's thread;
 * every reply is a whole message of a known reply type whose length
 * matches its header; every ring it passes is open read-only (WAIT's
 * eventfd is the client's own); the socket still serves a well-formed
 * client afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "fs/fs.h"
#include "pipesfs_proto.h"
#include "tests/fuzz/fuzz.h"

static bool read_only(int fd)
{
	return (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY;
}

/* WAIT's eventfd: the client's own wakeups, no ring. */
static bool is_eventfd(int fd)
{
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	return n > 0 && (link[n] = '\0', strcmp(link, "anon_inode:[eventfd]") == 0);
}

static int connect_server(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fs_clients_path());
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	FZ_CHECK(s >= 0, "socket: %s", strerror(errno));
	FZ_CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		 strerror(errno));
	return s;
}

/* Replies until none comes within a moment, each checked; false once
 * the daemon closed the connection. */
static bool read_replies(int s)
{
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, 2) != 1)
			return true;
		char buf[PFS_MSG_MAX];
		union {
			char b[CMSG_SPACE(2 * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				    .msg_controllen = sizeof(ctl.b) };
		ssize_t got = recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (got <= 0)
			return false;
		struct pfs_msg h;
		FZ_CHECK((size_t)got >= sizeof(h), "a reply of %zd bytes", got);
		memcpy(&h, buf, sizeof(h));
		FZ_CHECK(h.len == (size_t)got - sizeof(h), "length %u in a %zd-byte reply", h.len, got);
		FZ_CHECK(h.type == PFS_MSG_OK || h.type == PFS_MSG_ERROR || h.type == PFS_MSG_RING,
			 "reply type %u", h.type);
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t k = 0; k < n; k++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
				FZ_CHECK(fd >= 0 && (read_only(fd) || is_eventfd(fd)),
					 "a ring passed open for writing");
				close(fd);
			}
		}
	}
}

static void send_one(int s, const uint8_t *msg, size_t len, bool with_fd)
{
	struct iovec iov = { (void *)msg, len };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = with_fd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	}
	/* Refused (too long, closed): the daemon's to say so, or not. */
	(void)sendmsg(s, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (fd >= 0)
		close(fd);
}

static void setup(void)
{
	fs_cfg.uid = getuid();
	fs_cfg.gid = getgid();
	fs_cfg.dir_mode = 0750;
	fs_cfg.file_mode = 0640;
	FZ_CHECK(pfs_graph_init(1 << 20, 1ull << 30) == 0, "graph");
	pfs_graph_thread_register();
	struct pfs_node *n;
	pfs_graph_lock();
	int rc = pfs_node_mkdir(pfs_graph_root(), "w", NULL, &n);
	pfs_graph_unlock();
	FZ_CHECK(rc == 0, "mkdir w: %d", rc);
	struct pfs_producer *p;
	FZ_CHECK(pfs_node_writer_open(n, &p) == 0, "writer");
	FZ_CHECK(fs_clients_start() == 0, "the socket");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	int s = connect_server();
	bool open = true;
	size_t at = 0;
	while (open && at + 3 <= size) {
		uint8_t flags = data[at];
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
		at += 3;
		if (len > size - at)
			len = size - at;
		send_one(s, data + at, len, flags & 1);
		at += len;
		open = read_replies(s) && !(flags & 2);
	}
	close(s);
	/* The socket serves on. */
	s = connect_server();
	struct {
		struct pfs_msg h;
		struct pfs_msg_hello b;
	} hello = { { PFS_MSG_HELLO, sizeof(hello.b) }, { PFS_PROTO_VERSION, 0 } };
	FZ_CHECK(send(s, &hello, sizeof(hello), MSG_NOSIGNAL) == sizeof(hello), "hello");
	struct pfs_msg h;
	char buf[PFS_MSG_MAX];
	ssize_t got = recv(s, buf, sizeof(buf), 0);
	FZ_CHECK(got >= (ssize_t)sizeof(h), "no answer to a proper HELLO after the input");
	memcpy(&h, buf, sizeof(h));
	FZ_CHECK(h.type == PFS_MSG_OK, "HELLO answered with %u", h.type);
	close(s);
	return 0;
}
