/* SPDX-License-Identifier: BSD-3-Clause
 * iface:NAME[,name=DIR]: live capture on a Linux interface through the
 * kernel's TPACKET_V3 packet ring (packet(7); the kernel's
 * Documentation/networking/packet_mmap.rst), without a copy.
 *
 * Each worker has a packet socket bound to the interface and a ring of
 * blocks that the kernel fills with frames and hands over (block status
 * TP_STATUS_USER) when a block is full or its timeout (BLOCK_TIMEOUT_MS)
 * passed.  The ring, mapped a second time read-only, is the worker's data
 * ring (DBuf): a frame's record points where the kernel wrote it, and the
 * records of every selecting stage below point there too.  The worker
 * keeps the blocks it has read as the ring's history (what `all` shows),
 * up to half the ring, and gives the oldest back to the kernel as it
 * reads more; before it does, it moves the DBuf's tail past the block, so
 * a reader still on it finds out after the fact and counts the loss, as
 * with any lossy ring.  A live source never waits for readers.
 *
 * Several workers share the interface through PACKET_FANOUT_HASH: the
 * kernel hashes a packet's flow symmetrically, so both directions of a
 * connection reach one worker (TCP reassembly needs both).
 *
 * Every packet is accounted for: what the sockets got (PACKET_STATISTICS
 * tp_packets) is what the workers delivered to the source's node plus what
 * the kernel dropped for want of a free block (tp_drops); `stats` shows
 * all three.
 *
 * The kernel takes a frame's outer VLAN tag out (into tp_vlan_tci and
 * tp_vlan_tpid).  As libpcap does, the worker puts it back where it was on
 * the wire, with its TPID (802.1ad's 0x88a8 too), in the room
 * PACKET_RESERVE keeps before each frame: the 12 address bytes move 4
 * back, in place, before the record is published.
 *
 * Zero-copy clients (libpipesfs) may map rings read-only, and must get
 * read access to packet data and nothing more.  This ring can be mapped
 * only through its packet socket, and whoever holds that socket can
 * capture on any interface or inject frames: the socket is never handed
 * out.  Clients get the ring's mirror instead (bw_dbuf_make_mirror): a
 * memfd with the frames at the same positions, which the worker fills
 * with a copy of each frame only once a client has been given it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bufs/dbuf.h"
#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "filters/log.h"
#include "filters/pcapio.h"
#include "filters/sources/types.h"

#define BLOCK_SIZE (128u << 10)	/* holds a 64 KiB GRO/TSO frame whole */
#define BLOCKS_MIN 8u
#define BLOCK_TIMEOUT_MS 8	/* a partly filled block is handed over */
#define VLAN_TAG_LEN 4
#define IDLE_MS 50		/* the longest wait: whether to stop is seen */
#define IDLE_LOOKS 20		/* idle waits between looks at the interface */
#define LINKTYPE_RAW 101	/* tcpdump.org link-layer header types */

struct tp_worker {
	pthread_t thread;
	bool running;		/* its own thread (workers but the first) */
	struct pfs_source *s;
	struct pfs_producer *producer;
	unsigned index;
	int fd;			/* its packet socket */
	int epfd;		/* an epoll instance watching it, edge-triggered */
	uint8_t *ring;		/* the ring, read-write: block status, tags */
	const uint8_t *view;	/* the same, read-only: the DBuf's bytes */
	struct bw_dbuf *dbuf;
	uint64_t next;		/* blocks read so far: the next one's number */
	uint64_t oldest;	/* the oldest block not yet given back */
	unsigned idle_waits;	/* waits that timed out, since the last look */
	uint64_t packets;	/* delivered to the source's node */
	uint64_t kernel_packets, kernel_drops, kernel_freezes;	/* stats_lock */
};

struct tp_source {
	char if_name[IF_NAMESIZE];
	unsigned if_index;
	uint16_t link_type;
	bool gone;		/* the interface is gone or down: workers end */
	unsigned nworkers;
	uint32_t blocks;	/* per worker's ring */
	uint64_t ring_size;	/* blocks * BLOCK_SIZE, a power of two */
	pthread_mutex_t stats_lock;	/* PACKET_STATISTICS reads reset them */
	struct tp_worker *workers;
};

/* ---- the socket and its ring ----------------------------------------------- */

static int sockopt(int fd, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, SOL_PACKET, name, val, len) == 0 ? 0 : -errno;
}

/* The ring: blocks of BLOCK_SIZE, as many as --ring-size holds (at least
 * BLOCKS_MIN), mapped twice. */
static int tp_ring(struct tp_worker *w, struct tp_source *t)
{
	int version = TPACKET_V3, reserve = VLAN_TAG_LEN;
	struct tpacket_req3 req = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = t->blocks,
		.tp_frame_size = TPACKET_ALIGNMENT << 7,	/* V3 only checks it */
		.tp_retire_blk_tov = BLOCK_TIMEOUT_MS,
		.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH,
	};
	req.tp_frame_nr = BLOCK_SIZE / req.tp_frame_size * t->blocks;
	int rc = sockopt(w->fd, PACKET_VERSION, &version, sizeof(version));
	if (rc == 0)
		rc = sockopt(w->fd, PACKET_RESERVE, &reserve, sizeof(reserve));
	if (rc == 0)
		rc = sockopt(w->fd, PACKET_RX_RING, &req, sizeof(req));
	if (rc)
		return rc;
	void *rw = mmap(NULL, t->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	if (rw == MAP_FAILED)
		return -errno;
	w->ring = rw;
	void *ro = mmap(NULL, t->ring_size, PROT_READ, MAP_SHARED, w->fd, 0);
	if (ro == MAP_FAILED)
		return -errno;
	w->view = ro;
	rc = bw_dbuf_wrap(&w->dbuf, ro, t->ring_size);
	return rc ? rc : bw_dbuf_make_mirror(w->dbuf);
}

/* Bound to the interface, every protocol; in promiscuous mode, as
 * tcpdump's capture is; in the source's fanout group. */
static int tp_bind(struct tp_worker *w, struct tp_source *t, int *group)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)t->if_index,
	};
	if (bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		return -errno;
	struct packet_mreq mr = { .mr_ifindex = (int)t->if_index, .mr_type = PACKET_MR_PROMISC };
	int rc = sockopt(w->fd, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
	if (rc || t->nworkers == 1)
		return rc;
	/* The first socket gets a group id no other capture in the network
	 * namespace uses; the others join it. */
	int arg = PACKET_FANOUT_HASH << 16;
	if (w->index == 0)
		arg |= PACKET_FANOUT_FLAG_UNIQUEID << 16;
	else
		arg |= *group;
	if ((rc = sockopt(w->fd, PACKET_FANOUT, &arg, sizeof(arg))) != 0)
		return rc;
	socklen_t len = sizeof(arg);
	if (w->index == 0 && getsockopt(w->fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0)
		return -errno;
	*group = arg & 0xffff;
	return 0;
}

static int tp_socket(struct tp_worker *w, struct tp_source *t, int *group)
{
	/* Protocol 0: nothing arrives before the bind, on any interface. */
	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -errno;
	int rc = tp_ring(w, t);
	if (rc == 0)
		rc = tp_bind(w, t, group);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	if (rc == 0 && ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0))
		rc = -errno;
	return rc;
}

/* The kernel's counters since last asked (asking resets them), added to
 * the worker's. */
static void tp_take_stats(struct tp_worker *w, struct tp_source *t)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);
	pthread_mutex_lock(&t->stats_lock);
	if (w->fd >= 0 && getsockopt(w->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
		w->kernel_packets += st.tp_packets;	/* tp_drops included */
		w->kernel_drops += st.tp_drops;
		w->kernel_freezes += st.tp_freeze_q_cnt;
	}
	pthread_mutex_unlock(&t->stats_lock);
}

/* ---- workers --------------------------------------------------------------- */

static struct tpacket_block_desc *tp_block(const struct tp_worker *w, uint64_t n)
{
	struct tp_source *t = w->s->priv;
	return (struct tpacket_block_desc *)(w->ring + (n % t->blocks) * BLOCK_SIZE);
}

/* The kernel's frame as it was on the wire: its outer VLAN tag put back.
 * *mac and *len grow by the tag. */
static void tp_restore_vlan(const struct tpacket3_hdr *h, uint8_t **mac, uint32_t *len,
			    uint32_t *wire_len)
{
	if (!(h->tp_status & TP_STATUS_VLAN_VALID) && h->hv1.tp_vlan_tci == 0)
		return;
	if (*len < 2 * ETH_ALEN)
		return;
	uint16_t tpid = h->tp_status & TP_STATUS_VLAN_TPID_VALID ? h->hv1.tp_vlan_tpid
								 : ETH_P_8021Q;
	uint8_t *at = *mac - VLAN_TAG_LEN;
	memmove(at, *mac, 2 * ETH_ALEN);
	uint8_t tag[VLAN_TAG_LEN] = { tpid >> 8, tpid & 0xff, h->hv1.tp_vlan_tci >> 8,
				      h->hv1.tp_vlan_tci & 0xff };
	memcpy(at + 2 * ETH_ALEN, tag, sizeof(tag));
	*mac = at;
	*len += VLAN_TAG_LEN;
	*wire_len += VLAN_TAG_LEN;
}

/* One frame, published where the kernel wrote it.  `base` is the block's
 * first position. */
static void tp_frame(struct tp_worker *w, struct tp_source *t, const struct tpacket3_hdr *h,
		     uint8_t *block, uint64_t base)
{
	uint8_t *mac = (uint8_t *)h + h->tp_mac;
	struct pfs_desc d = {
		.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec,
		.len = h->tp_snaplen, .wire_len = h->tp_len,
		.flow_hash = h->hv1.tp_rxhash, .kind = PFS_KIND_FRAME,
		.link_type = t->link_type, .flags = PFS_REC_TS_NSEC,
		.dbuf = w->dbuf->id,
	};
	if (t->link_type == PFS_LINKTYPE_ETHERNET)
		tp_restore_vlan(h, &mac, &d.len, &d.wire_len);
	d.pos = base + (uint64_t)(mac - block);
	if (bw_dbuf_mirror_wanted(w->dbuf)) {	/* for zero-copy clients */
		bw_dbuf_mirror_copy(w->dbuf, d.pos, d.len);
		pfs_producer_count_copied(w->producer, w->s->node, d.len);
	}
	pfs_producer_inject(w->producer, w->s->node, &d, w->view + (mac - w->ring));
	pfs_producer_yield(w->producer);
	__atomic_store_n(&w->packets, w->packets + 1, __ATOMIC_RELAXED);	/* stats read it */
}

/* Give the oldest block back to the kernel: first the tail moves past it,
 * so readers still on it find out. */
static void tp_release(struct tp_worker *w)
{
	bw_dbuf_set_tail(w->dbuf, (w->oldest + 1) * BLOCK_SIZE);
	__atomic_store_n(&tp_block(w, w->oldest)->hdr.bh1.block_status, TP_STATUS_KERNEL,
			 __ATOMIC_RELEASE);
	w->oldest++;
}

/* The next block, if the kernel has handed it over: its frames published,
 * then kept as history while the kernel has blocks enough to fill. */
static bool tp_read_block(struct tp_worker *w, struct tp_source *t)
{
	struct tpacket_block_desc *b = tp_block(w, w->next);
	if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
		return false;
	uint8_t *block = (uint8_t *)b;
	uint64_t base = w->next * BLOCK_SIZE;
	const uint8_t *h = block + b->hdr.bh1.offset_to_first_pkt;
	/* The kernel wrote the headers on another CPU, and the block to give
	 * back was written long ago: ask for their lines early, or each one
	 * stalls the worker (most of its time, measured). */
	__builtin_prefetch(tp_block(w, w->oldest), 1);
	for (uint32_t i = 0; i < b->hdr.bh1.num_pkts; i++) {
		const struct tpacket3_hdr *f = (const struct tpacket3_hdr *)h;
		h += f->tp_next_offset;
		__builtin_prefetch(h);
		tp_frame(w, t, f, block, base);
	}
	w->next++;
	/* Half the ring is history, half the kernel's to fill.  Not less:
	 * the kernel checks, without a lock, that the block a quarter of
	 * the ring ahead of its own is free, and when it is not, that its
	 * own is, which fails now and then while another CPU moves on to
	 * the next block: the packet is dropped (tpacket_rcv's "If we are
	 * flooded, just give up").  Holding three quarters lost 0-17 of
	 * 300000 packets at top speed where tcpdump lost none. */
	while (w->next - w->oldest > t->blocks / 2)
		tp_release(w);
	return true;
}

static bool tp_gone(const struct tp_source *t)
{
	return __atomic_load_n(&t->gone, __ATOMIC_ACQUIRE);
}

/* Has the interface gone?  The first worker looks when its socket reports
 * an error (the kernel's, when the interface goes down or away: ENETDOWN)
 * and, in case it cannot, every IDLE_LOOKS idle waits; it tells the
 * others. */
static void tp_look(struct tp_worker *w, struct tp_source *t, bool error)
{
	if (w->index != 0 || (!error && ++w->idle_waits % IDLE_LOOKS))
		return;
	char why[64 + IF_NAMESIZE];
	if (pfs_iface_gone(t->if_index, t->if_name, why, sizeof(why))) {
		pfs_log("%s: %s: the capture ends (readers get end of stream once "
			"they have read what came before)", w->s->name, why);
		__atomic_store_n(&t->gone, true, __ATOMIC_RELEASE);
	}
}

/* Until the kernel hands over a block (or an error, or IDLE_MS), out of
 * the run: readers see what it made, control threads and RCU need not
 * wait for it.  The kernel wakes the socket's waiters when it hands over
 * a block, but poll(2) alone would not wait: it reports data while the
 * block before the kernel's current one is the reader's, and the worker
 * keeps blocks as history.  Edge-triggered epoll reports each wakeup
 * once, whatever that test says; one that came while the worker was
 * reading is reported at once.  Then looks at the interface, as
 * tp_look says. */
static void tp_wait(struct tp_worker *w, struct tp_source *t)
{
	struct epoll_event ev;
	pfs_producer_end(w->producer);
	int n = epoll_wait(w->epfd, &ev, 1, IDLE_MS);
	pfs_producer_begin(w->producer);
	if (n <= 0 || (ev.events & EPOLLERR))
		tp_look(w, t, n > 0);
}

static void tp_poll(struct tp_worker *w, struct tp_source *t)
{
	bool ending = false;
	pfs_producer_begin(w->producer);
	while (!pfs_source_stopping(w->s)) {
		if (tp_read_block(w, t))
			continue;
		if (ending)
			break;	/* what the interface had sent is read */
		tp_wait(w, t);
		/* Gone: one more block timeout hands over the last block. */
		if ((ending = tp_gone(t)))
			nanosleep(&(struct timespec){ 0, 2 * BLOCK_TIMEOUT_MS * 1000000L }, NULL);
	}
	pfs_producer_end(w->producer);
}

static void *tp_work(void *arg)
{
	struct tp_worker *w = arg;
	struct tp_source *t = w->s->priv;
	char name[16];
	snprintf(name, sizeof(name), "pfs-worker%u", w->index);
	pthread_setname_np(pthread_self(), name);
	pfs_source_pin_worker(w->index);
	pfs_graph_thread_register();
	if (pfs_producer_attach(w->producer, w->s->node, false) != 0 ||
	    pfs_producer_share(w->producer, w->dbuf) != 0)
		pfs_log("%s: no memory for worker %u's rings", w->s->name, w->index);
	tp_poll(w, t);
	tp_take_stats(w, t);
	if (tp_gone(t))		/* its rings end: readers get EOF */
		pfs_producer_set_ended(w->producer, true);
	pfs_graph_thread_unregister();
	return NULL;
}

/* The source's thread: start the other workers, be worker 0, and join. */
static void *tp_run(void *arg)
{
	struct pfs_source *s = arg;
	struct tp_source *t = s->priv;
	for (unsigned i = 1; i < t->nworkers; i++) {
		struct tp_worker *w = &t->workers[i];
		w->running = pthread_create(&w->thread, NULL, tp_work, w) == 0;
		if (!w->running)
			pfs_log("%s: cannot start worker %u", s->name, i);
	}
	tp_work(&t->workers[0]);
	for (unsigned i = 1; i < t->nworkers; i++)
		if (t->workers[i].running)
			pthread_join(t->workers[i].thread, NULL);
	return NULL;
}

static void tp_stats(struct pfs_source *s, FILE *out)
{
	struct tp_source *t = s->priv;
	uint64_t packets = 0, drops = 0, freezes = 0;
	for (unsigned i = 0; t->workers && i < t->nworkers; i++) {
		struct tp_worker *w = &t->workers[i];
		tp_take_stats(w, t);
		pthread_mutex_lock(&t->stats_lock);
		packets += w->kernel_packets;
		drops += w->kernel_drops;
		freezes += w->kernel_freezes;
		pthread_mutex_unlock(&t->stats_lock);
	}
	fprintf(out, "source: iface:%s\ninterface: %s\nworkers: %u\nring_blocks: %u\n"
		"block_size: %u\nkernel_packets: %llu\nkernel_drops: %llu\n"
		"kernel_freezes: %llu\n", t->if_name, t->if_name, t->nworkers, t->blocks,
		BLOCK_SIZE, (unsigned long long)packets, (unsigned long long)drops,
		(unsigned long long)freezes);
	for (unsigned i = 0; t->workers && i < t->nworkers; i++) {
		const struct tp_worker *w = &t->workers[i];
		pthread_mutex_lock(&t->stats_lock);
		fprintf(out, "worker%u_packets: %llu\nworker%u_kernel_drops: %llu\n", i,
			(unsigned long long)__atomic_load_n(&w->packets, __ATOMIC_RELAXED), i,
			(unsigned long long)w->kernel_drops);
		pthread_mutex_unlock(&t->stats_lock);
	}
}

/* ---- the type -------------------------------------------------------------- */

/* After the fork: a socket, ring and producer per worker (the first is
 * the source's own producer). */
static int tp_start(struct pfs_source *s, char *err, size_t errlen)
{
	struct tp_source *t = s->priv;
	t->nworkers = pfs_sources_workers();
	uint64_t ring = pfs_graph_ring_bytes();
	t->blocks = ring / BLOCK_SIZE > BLOCKS_MIN ? (uint32_t)(ring / BLOCK_SIZE) : BLOCKS_MIN;
	t->ring_size = (uint64_t)t->blocks * BLOCK_SIZE;
	if (!(t->workers = calloc(t->nworkers, sizeof(*t->workers)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < t->nworkers; i++)
		t->workers[i].fd = t->workers[i].epfd = -1;
	int group = 0, rc = 0;
	for (unsigned i = 0; rc == 0 && i < t->nworkers; i++) {
		struct tp_worker *w = &t->workers[i];
		char name[256];
		snprintf(name, sizeof(name), "%s worker %u", s->name, i);
		w->s = s;
		w->index = i;
		if ((rc = tp_socket(w, t, &group)) != 0) {
			snprintf(err, errlen, "packet ring on %s for worker %u: %s", t->if_name,
				 i, strerror(-rc));
		} else if (!(w->producer = i == 0 ? s->producer : pfs_producer_new(name, false)) ||
			   pfs_producer_set_origin(w->producer, s->producer) != 0) {
			snprintf(err, errlen, "out of memory, or too many producers");
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		pfs_log("%s: capturing on %s with %u worker(s), each with a %llu KiB "
			"kernel ring of %u blocks", s->name, t->if_name, t->nworkers,
			(unsigned long long)(t->ring_size >> 10), t->blocks);
	return rc;
}

static void tp_close(struct pfs_source *s)
{
	struct tp_source *t = s->priv;
	for (unsigned i = 0; t->workers && i < t->nworkers; i++) {
		struct tp_worker *w = &t->workers[i];
		if (i > 0)
			pfs_producer_free(w->producer);
		bw_dbuf_destroy(w->dbuf);
		if (w->view)
			munmap((void *)w->view, t->ring_size);
		if (w->ring)
			munmap(w->ring, t->ring_size);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->fd >= 0)
			close(w->fd);
	}
	pthread_mutex_destroy(&t->stats_lock);
	free(t->workers);
	free(t);
}

/* The interface's hardware type (ARPHRD_*) and whether it is up; false
 * when that cannot be had. */
static bool iface_query(const char *ifname, int *hwtype, bool *up)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == 0;
	*hwtype = ifr.ifr_hwaddr.sa_family;
	ok = ok && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	*up = ifr.ifr_flags & IFF_UP;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The link type of frames of hardware type `hwtype`, as a packet socket
 * gives them (SOCK_RAW: with their link-layer header), or 0. */
static uint16_t link_type_of(int hwtype)
{
	switch (hwtype) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:	/* lo's frames have a zeroed Ethernet header */
		return PFS_LINKTYPE_ETHERNET;
	case ARPHRD_NONE:	/* tun, WireGuard: IP packets, no link header */
	case ARPHRD_RAWIP:
		return LINKTYPE_RAW;
	default:
		return 0;
	}
}

/* May this process open a packet socket? */
static bool may_capture(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || (errno != EPERM && errno != EACCES);
}

/* NAME[,name=DIR]: the interface is checked now, before the fork. */
static int tp_open(struct pfs_source *s, const char *args, char *err, size_t errlen)
{
	struct tp_source *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->priv = t;
	s->started = true;	/* live: it runs whether read or not */
	pthread_mutex_init(&t->stats_lock, NULL);
	size_t n = strcspn(args, ",");
	const char *name = args[n] ? args + n + 1 : NULL;
	if (name && strncmp(name, "name=", 5) != 0) {
		snprintf(err, errlen, "unknown option %s (iface:NAME[,name=DIR])", name);
		return -EINVAL;
	}
	if (n == 0 || n >= IF_NAMESIZE) {
		snprintf(err, errlen, n ? "no such interface: %.*s" : "no interface given",
			 (int)n, args);
		return n ? -ENODEV : -EINVAL;
	}
	memcpy(t->if_name, args, n);
	if (!(t->if_index = if_nametoindex(t->if_name))) {
		snprintf(err, errlen, "no such interface: %s (ip link lists them)", t->if_name);
		return -ENODEV;
	}
	if (!may_capture()) {
		snprintf(err, errlen, "capturing on an interface needs root"
			 " (or CAP_NET_RAW): run pipesfs as root");
		return -EPERM;
	}
	int hwtype;
	bool up;
	if (!iface_query(t->if_name, &hwtype, &up)) {
		snprintf(err, errlen, "cannot query interface %s: %s", t->if_name, strerror(errno));
		return -errno;
	}
	if (!(t->link_type = link_type_of(hwtype))) {
		snprintf(err, errlen, "its hardware type is %d (ARPHRD_*, include/uapi/"
			 "linux/if_arp.h): pipesfs captures Ethernet, loopback and IP (tun) "
			 "interfaces; for others, use dpdk:", hwtype);
		return -EPROTONOSUPPORT;
	}
	if (!up) {	/* as tcpdump: it would capture nothing */
		snprintf(err, errlen, "interface %s is down (ip link set %s up)", t->if_name,
			 t->if_name);
		return -ENETDOWN;
	}
	s->name = strdup(name && name[5] ? name + 5 : t->if_name);
	if (!s->name) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

const struct pfs_source_type pfs_iface_type = {
	.prefix = "iface:",
	.usage = "iface:NAME[,name=DIR]",
	.summary = "live capture on a Linux interface (TPACKET_V3, zero copy)",
	.open = tp_open,
	.start = tp_start,
	.run = tp_run,
	.stats = tp_stats,
	.close = tp_close,
};
