/* SPDX-License-Identifier: BSD-3-Clause
 * Live sources through DPDK:
 *   iface:NAME[,name=DIR]     any Linux interface (net_af_packet)
 *   dpdk:DEVARGS[,name=DIR]   a PCI address or a vdev string
 *
 * Each source has --workers packet workers, one RX queue each (RSS spreads
 * flows where the port can).  A worker is a producer with its own rings:
 * it polls a burst, copies each frame once into its data ring (the only
 * copy: every stage below is zero-copy), runs the graph, publishes, and
 * announces a quiescent state.  Live rings are lossy: a worker never waits
 * for a reader.  A worker polls without pause while bursts come full; after
 * a partial burst it naps 50 us so the next one gathers (interrupt
 * moderation, as NICs do), and while the port is idle its naps double to
 * 1 ms, offline for RCU: a quiet mount does not burn a core.
 */
#include <errno.h>
#include <sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "eal.h"
#include "graph.h"
#include "log.h"
#include "pcapio.h"
#include "source.h"

#define BURST 32
#define RX_DESCS 1024
#define MBUFS 8191
#define NAP_MIN_NS (200 * 1000)	/* after a partial burst: let a burst gather */
#define NAP_MAX_NS (1000 * 1000)	/* naps double to this while the port is idle */
#define AF_PACKET_FRAMES 8192	/* the kernel ring behind an iface: source */
#define MAX_WORKERS 16

struct worker {
	pthread_t thread;
	struct pfs_source *s;
	struct pfs_ctx *ctx;
	uint16_t queue;
	long nap_ns;		/* the next nap, while idle */
	uint64_t packets, bytes, lost;
};

struct live_src {
	char *devargs;		/* what EAL probes */
	char *dev_name;		/* the ethdev's name */
	bool pci;
	uint16_t port;
	unsigned nworkers;
	struct rte_mempool *pool;
	struct worker workers[MAX_WORKERS];
};

static unsigned workers_wanted = 1;
static cpu_set_t cpus;		/* what the process may use, before EAL */

void pfs_dpdk_set_workers(unsigned n)
{
	workers_wanted = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

static bool looks_like_pci(const char *s)
{
	unsigned a, b, c, d;
	return sscanf(s, "%x:%x:%x.%x", &a, &b, &c, &d) == 4 ||
	       sscanf(s, "%x:%x.%x", &a, &b, &c) == 3;
}

/* ---- EAL ---------------------------------------------------------------- */

/* The n-th CPU (wrapping) the process may use. */
static int first_cpu(unsigned n)
{
	int count = CPU_COUNT(&cpus), seen = 0;
	for (int c = 0; c < CPU_SETSIZE && count; c++)
		if (CPU_ISSET(c, &cpus) && seen++ == (int)(n % (unsigned)count))
			return c;
	return 0;
}

/* Workers run on their own cores, as DPDK's do: worker i on the (i+1)-th
 * CPU, leaving the first to the filesystem's threads where there are
 * several. */
static void pin_worker(unsigned i)
{
	if (CPU_COUNT(&cpus) < 2)
		return;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first_cpu(i + 1), &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

int pfs_dpdk_eal_init(struct pfs_source **live, int nlive, const char *extra,
		      char *err, size_t errlen)
{
	/* EAL may keep pointers into its arguments: they outlive the call. */
	static char devs[16][512], *argv[64];
	char *words = extra ? strdup(extra) : NULL, *save = NULL;
	int argc = 0;
	sched_getaffinity(0, sizeof(cpus), &cpus);
	argv[argc++] = "-m";
	argv[argc++] = "512";	/* mbufs for every worker, without huge pages */
	for (int i = 0; i < nlive && i < 16; i++) {
		struct live_src *l = live[i]->priv;
		snprintf(devs[i], sizeof(devs[i]), "%s%s", l->pci ? "" : "--vdev=", l->devargs);
		if (l->pci)
			argv[argc++] = "-a";
		argv[argc++] = devs[i];
	}
	for (char *w = words ? strtok_r(words, " \t", &save) : NULL; w && argc < 64;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;	/* words stays allocated: EAL may keep it */
	int rc = pfs_eal_init(argc, argv);
	if (rc < 0) {
		snprintf(err, errlen, "DPDK EAL failed to start: %s", rte_strerror(-rc));
		return -EINVAL;
	}
	return 0;
}

/* ---- the port ------------------------------------------------------------ */

static int configure_port(struct pfs_source *s, struct live_src *l, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf = { 0 };
	if (rte_eth_dev_get_port_by_name(l->dev_name, &l->port) != 0) {
		snprintf(err, errlen, "no DPDK port named %s", l->dev_name);
		return -ENODEV;
	}
	int rc = rte_eth_dev_info_get(l->port, &info);
	if (rc)
		goto fail;
	l->nworkers = workers_wanted < info.max_rx_queues ? workers_wanted : info.max_rx_queues;
	if (l->nworkers > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP |
						    RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	} else if (l->nworkers > 1) {
		l->nworkers = 1;	/* no RSS: one queue keeps every flow in order */
	}
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	snprintf(pool_name, sizeof(pool_name), "pfs%u", l->port);
	l->pool = rte_pktmbuf_pool_create(pool_name, MBUFS * l->nworkers, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(l->port));
	if (!l->pool) {
		rc = -rte_errno;
		goto fail;
	}
	uint16_t txq = l->nworkers < info.max_tx_queues ? l->nworkers : info.max_tx_queues;
	rc = rte_eth_dev_configure(l->port, (uint16_t)l->nworkers, txq, &conf);
	for (uint16_t q = 0; rc == 0 && q < l->nworkers; q++)
		rc = rte_eth_rx_queue_setup(l->port, q, RX_DESCS, rte_eth_dev_socket_id(l->port),
					    NULL, l->pool);
	for (uint16_t q = 0; rc == 0 && q < txq; q++)
		rc = rte_eth_tx_queue_setup(l->port, q, RX_DESCS, rte_eth_dev_socket_id(l->port),
					    NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(l->port);
	if (rc)
		goto fail;
	rte_eth_promiscuous_enable(l->port);	/* a capture sees everything */
	pfs_log("%s: port %u (%s) started with %u worker(s)", s->name, l->port,
		l->dev_name, l->nworkers);
	return 0;
fail:
	snprintf(err, errlen, "DPDK port %s: %s", l->dev_name, rte_strerror(rc < 0 ? -rc : rc));
	return -EIO;
}

/* ---- workers ------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);	/* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One frame: its only copy, into the worker's data ring. */
static void take(struct worker *w, struct rte_mbuf *m, uint64_t ts)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct pfs_desc d = {
		.ts_ns = ts, .wire_len = len, .kind = PFS_KIND_FRAME,
		.link_type = PFS_LINKTYPE_ETHERNET, .flow_hash = m->hash.rss,
	};
	uint8_t *dst = pfs_ctx_alloc(w->ctx, w->s->node, len, &d);
	if (!dst) {
		w->lost++;
		return;
	}
	const void *src = rte_pktmbuf_read(m, 0, len, dst);
	if (src != dst)
		memcpy(dst, src, len);
	pfs_ctx_inject(w->ctx, w->s->node, &d, dst);
	w->packets++;
	w->bytes += len;
}

static void nap(struct worker *w)
{
	const struct timespec t = { 0, w->nap_ns };
	if (w->nap_ns < NAP_MAX_NS)
		w->nap_ns *= 2;
	pfs_ctx_flush(w->ctx);
	pthread_mutex_unlock(&w->ctx->run_lock);
	rcu_thread_offline();
	nanosleep(&t, NULL);
	rcu_thread_online();
	pthread_mutex_lock(&w->ctx->run_lock);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct live_src *l = w->s->priv;
	struct rte_mbuf *burst[BURST];
	char name[16];
	snprintf(name, sizeof(name), "pfs-worker%u", w->queue);
	pthread_setname_np(pthread_self(), name);
	pin_worker(w->queue);
	rte_thread_register();
	prctl(PR_SET_TIMERSLACK, 1000UL);	/* naps of 50 us, not 50 + 50 */	/* an lcore id: mempool caches work */
	rcu_register_thread();
	if (pfs_ctx_prepare(w->ctx, w->s->node, true) != 0)
		pfs_log("%s: no memory for worker %u's rings", w->s->name, w->queue);
	pthread_mutex_lock(&w->ctx->run_lock);
	while (!pfs_source_stopping(w->s)) {
		uint16_t n = rte_eth_rx_burst(l->port, w->queue, burst, BURST);
		if (n == 0) {
			nap(w);
			continue;
		}
		uint64_t ts = now_ns();
		for (uint16_t i = 0; i < n; i++)
			take(w, burst[i], ts);
		rte_pktmbuf_free_bulk(burst, n);
		w->nap_ns = NAP_MIN_NS;
		if (n < BURST) {
			nap(w);
			continue;
		}
		/* Between bursts: readers see the burst, control threads may
		 * backfill, RCU may reclaim. */
		pfs_ctx_flush(w->ctx);
		pthread_mutex_unlock(&w->ctx->run_lock);
		rcu_quiescent_state();
		pthread_mutex_lock(&w->ctx->run_lock);
	}
	pthread_mutex_unlock(&w->ctx->run_lock);
	rcu_unregister_thread();
	rte_thread_unregister();
	return NULL;
}

/* The source's thread: start the other workers, be worker 0, and join. */
static void *run(void *arg)
{
	struct pfs_source *s = arg;
	struct live_src *l = s->priv;
	for (unsigned i = 1; i < l->nworkers; i++)
		if (pthread_create(&l->workers[i].thread, NULL, work, &l->workers[i]) != 0) {
			pfs_log("%s: cannot start worker %u", s->name, i);
			l->workers[i].ctx = NULL;
		}
	work(&l->workers[0]);
	for (unsigned i = 1; i < l->nworkers; i++)
		if (l->workers[i].ctx)
			pthread_join(l->workers[i].thread, NULL);
	return NULL;
}

static size_t stats(struct pfs_source *s, char *buf, size_t cap)
{
	struct live_src *l = s->priv;
	struct rte_eth_stats st = { 0 };
	rte_eth_stats_get(l->port, &st);
	int n = snprintf(buf, cap, "source: %s\nport: %u\nrx_packets: %llu\nrx_bytes: %llu\n"
			 "rx_missed: %llu\nrx_errors: %llu\nrx_nombuf: %llu\nworkers: %u\n",
			 l->devargs, l->port, (unsigned long long)st.ipackets,
			 (unsigned long long)st.ibytes, (unsigned long long)st.imissed,
			 (unsigned long long)st.ierrors, (unsigned long long)st.rx_nombuf,
			 l->nworkers);
	size_t used = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
	for (unsigned i = 0; i < l->nworkers && used < cap; i++) {
		const struct worker *w = &l->workers[i];
		n = snprintf(buf + used, cap - used, "worker%u_packets: %llu\nworker%u_lost: %llu\n",
			     i, (unsigned long long)w->packets, i, (unsigned long long)w->lost);
		used += n < 0 ? 0 : (size_t)n < cap - used ? (size_t)n : cap - used;
	}
	return used;
}

static void live_free(struct pfs_source *s)
{
	struct live_src *l = s->priv;
	if (!l)
		return;
	if (l->pool) {
		rte_eth_dev_stop(l->port);
		rte_eth_dev_close(l->port);
	}
	for (unsigned i = 1; i < l->nworkers; i++)
		pfs_ctx_free(l->workers[i].ctx);
	rte_mempool_free(l->pool);
	free(l->devargs);
	free(l->dev_name);
	free(l);
}

static const struct pfs_source_ops live_ops = {
	.kind = "live",
	.run = run,
	.stats = stats,
	.free = live_free,
};

/* iface:NAME or dpdk:DEVARGS, with an optional trailing ,name=DIR. */
struct pfs_source *pfs_source_live_new(const char *spec, char *err, size_t errlen)
{
	static unsigned af_packet_count;
	bool iface = strncmp(spec, "iface:", 6) == 0;
	char *body = strdup(strchr(spec, ':') + 1), *name = NULL;
	struct live_src *l = calloc(1, sizeof(*l));
	if (!body || !l)
		goto nomem;
	char *opt = strstr(body, ",name=");
	if (opt && !strchr(opt + 1, ',')) {
		name = opt + 6;
		*opt = '\0';
	}
	if (!body[0]) {
		snprintf(err, errlen, "no %s given", iface ? "interface" : "device");
		goto fail;
	}
	if (iface && !if_nametoindex(body)) {
		snprintf(err, errlen, "no such interface: %s", body);
		goto fail;
	}
	char devargs[512], dev_name[256];
	if (iface) {
		snprintf(dev_name, sizeof(dev_name), "net_af_packet%u", af_packet_count++);
		snprintf(devargs, sizeof(devargs), "%s,iface=%s,qpairs=%u,blocksz=4096,"
			 "framesz=2048,framecnt=%u", dev_name, body, workers_wanted,
			 AF_PACKET_FRAMES);
	} else {
		snprintf(devargs, sizeof(devargs), "%s", body);
		snprintf(dev_name, sizeof(dev_name), "%.*s", (int)strcspn(body, ","), body);
	}
	l->devargs = strdup(devargs);
	l->dev_name = strdup(dev_name);
	l->pci = !iface && looks_like_pci(body);
	struct pfs_source *s = pfs_source_alloc(&live_ops, name && *name ? name
						: iface ? body : dev_name, false);
	if (!l->devargs || !l->dev_name || !s)
		goto nomem;
	s->priv = l;
	s->started = true;
	free(body);
	return s;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (l) {
		free(l->devargs);
		free(l->dev_name);
	}
	free(l);
	free(body);
	return NULL;
}

int pfs_source_live_start(struct pfs_source *s, char *err, size_t errlen)
{
	struct live_src *l = s->priv;
	int rc = configure_port(s, l, err, errlen);
	for (unsigned i = 0; rc == 0 && i < l->nworkers; i++) {
		struct worker *w = &l->workers[i];
		w->s = s;
		w->queue = (uint16_t)i;
		w->nap_ns = NAP_MIN_NS;
		w->ctx = i == 0 ? s->ctx : pfs_ctx_new(false);
		if (!w->ctx) {
			snprintf(err, errlen, "too many producers");
			rc = -ENOMEM;
		}
	}
	return rc;
}
