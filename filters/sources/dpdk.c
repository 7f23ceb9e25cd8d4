/* SPDX-License-Identifier: BSD-3-Clause
 * dpdk:DEVARGS[,name=DIR]: a NIC port or vdev through DPDK (a PCI address
 * or a vdev string).
 *
 * The source has up to --workers packet workers.  Where the device spreads
 * flows by RSS, it gets one RX queue per worker; a device that spreads
 * packets over its queues itself (net_af_packet's qpairs, net_pcap's rx
 * files) gets every queue it has, dealt round-robin to the workers: no
 * queue is left that nobody reads.  A worker is a producer with its own
 * rings: it polls a burst on each of its queues, copies each frame once
 * into its data ring (the only copy: every stage below is zero-copy) and
 * runs it through the graph.
 * Live rings are lossy: a worker never waits for a reader.  A worker polls
 * without pause while bursts come full; after a partial burst it naps
 * 200 us so the next one gathers (interrupt moderation, as NICs do), and
 * while the device is idle its naps double up to 1 ms, out of its run (so
 * offline for RCU): a quiet mount does not burn a core.
 *
 * A device on a kernel interface (one DPDK gives the index of, as
 * net_af_packet and net_tap do) ends when the interface is deleted or
 * taken down, as a tcpdump capture does: the first worker looks while the
 * device is idle, says why in the log, and every worker's rings end.
 */
#include <errno.h>
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

#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "filters/log.h"
#include "filters/pcapio.h"
#include "filters/sources/types.h"

#define BURST 32
#define RX_DESCS 1024
#define MBUFS 8191		/* per worker */
#define NAP_MIN_NS (200 * 1000)	/* after a partial burst: let a burst gather */
#define NAP_MAX_NS (1000 * 1000)	/* naps double to this while the device is idle */
#define IFACE_CHECK_NAPS 64	/* idle naps between looks at the interface */
/* EAL memory without hugepages (MB): a worker's MBUFS mbufs take about 20. */
#define MB_PER_SOURCE 32
#define MB_PER_WORKER 32

struct dpdk_worker {
	pthread_t thread;
	bool running;		/* its own thread (workers but the first) */
	struct pfs_source *s;
	struct pfs_producer *producer;
	unsigned index;		/* polls queues index, index + nworkers, ... */
	long nap_ns;		/* the next nap, while idle */
	unsigned idle_naps;
	uint64_t packets, bytes, lost;
};

struct dpdk_source {
	char *devargs;		/* what EAL probes */
	char *dev_name;		/* the ethdev's name */
	char *eal_dev;		/* its EAL word: the PCI devargs, or --vdev=devargs */
	char eal_mb[16];	/* the EAL memory it asks for */
	bool pci;
	bool up;		/* the device runs: stop it at close */
	uint16_t port;		/* DPDK's port id */
	unsigned if_index;	/* the kernel interface behind it, or 0 */
	char if_name[IF_NAMESIZE];	/* its name when the device started */
	bool gone;		/* that interface is gone or down: workers end */
	unsigned nworkers;
	uint16_t nqueues;	/* RX queues */
	struct rte_mempool *pool;
	struct dpdk_worker *workers;	/* nworkers of them */
};

static bool looks_like_pci(const char *s)
{
	unsigned a, b, c, d;
	return sscanf(s, "%x:%x:%x.%x", &a, &b, &c, &d) == 4 ||
	       sscanf(s, "%x:%x.%x", &a, &b, &c) == 3;
}

/* ---- the device ------------------------------------------------------------ */

/*
 * A Toeplitz key of 0x6d5a repeated hashes both directions of a flow
 * alike (Woo and Park, "Scalable TCP Session Monitoring with Symmetric
 * Receive-side Scaling", 2012), so a connection's two directions reach
 * one worker: TCP reassembly (`http`) needs both.  52 bytes is the
 * longest key DPDK's drivers take; a device says how much it uses.
 */
static uint8_t symmetric_rss_key[52];

static void symmetric_rss(const struct rte_eth_dev_info *info, struct rte_eth_rss_conf *rss)
{
	for (size_t i = 0; i < sizeof(symmetric_rss_key); i++)
		symmetric_rss_key[i] = i % 2 ? 0x5a : 0x6d;
	rss->rss_key = symmetric_rss_key;
	rss->rss_key_len = info->hash_key_size && info->hash_key_size <= sizeof(symmetric_rss_key)
			   ? info->hash_key_size : 40;
}

/* RX queues and workers.  With RSS, one queue per worker, flows spread
 * symmetrically.  Without, every queue the device has (a device with
 * several and no RSS fills them itself, as net_af_packet's fanout does:
 * a queue left out would lose its packets unseen), at most one worker per
 * queue. */
static int dpdk_rss(struct dpdk_source *d, const struct rte_eth_dev_info *info,
		    struct rte_eth_conf *conf)
{
	unsigned want = pfs_sources_workers();
	if (info->flow_type_rss_offloads && want > 1) {
		d->nqueues = (uint16_t)(want < info->max_rx_queues ? want : info->max_rx_queues);
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
		symmetric_rss(info, &conf->rx_adv_conf.rss_conf);
	} else {
		d->nqueues = info->flow_type_rss_offloads ? 1 : info->max_rx_queues;
	}
	d->nworkers = want < d->nqueues ? want : d->nqueues;
	return d->nqueues ? 0 : -ENODEV;
}

static int dpdk_queues(struct dpdk_source *d, const struct rte_eth_dev_info *info,
		       const struct rte_eth_conf *conf)
{
	int socket = rte_eth_dev_socket_id(d->port);
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	snprintf(pool_name, sizeof(pool_name), "pfs%u", d->port);
	d->pool = rte_pktmbuf_pool_create(pool_name, MBUFS * d->nqueues, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!d->pool)
		return -rte_errno;
	uint16_t txq = d->nqueues < info->max_tx_queues ? d->nqueues : info->max_tx_queues;
	int rc = rte_eth_dev_configure(d->port, d->nqueues, txq, conf);
	for (uint16_t q = 0; rc == 0 && q < d->nqueues; q++)
		rc = rte_eth_rx_queue_setup(d->port, q, RX_DESCS, socket, NULL, d->pool);
	for (uint16_t q = 0; rc == 0 && q < txq; q++)
		rc = rte_eth_tx_queue_setup(d->port, q, RX_DESCS, socket, NULL);
	return rc;
}

static int dpdk_device_start(struct pfs_source *s, struct dpdk_source *d,
			     char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf = { 0 };
	if (rte_eth_dev_get_port_by_name(d->dev_name, &d->port) != 0) {
		snprintf(err, errlen, "DPDK made no device %s", d->dev_name);
		return -ENODEV;
	}
	int rc = rte_eth_dev_info_get(d->port, &info);
	if (rc == 0)
		rc = dpdk_rss(d, &info, &conf);
	if (rc == 0)
		rc = dpdk_queues(d, &info, &conf);
	if (rc == 0 && (rc = rte_eth_dev_start(d->port)) == 0)
		d->up = true;
	if (rc) {
		snprintf(err, errlen, "DPDK device %s: %s", d->dev_name,
			 rte_strerror(rc < 0 ? -rc : rc));
		return -EIO;
	}
	rte_eth_promiscuous_enable(d->port);	/* a capture sees everything */
	pfs_log("%s: port %u (%s) started: %u RX queue(s), %u worker(s)", s->name,
		d->port, d->dev_name, d->nqueues, d->nworkers);
	return 0;
}

/* ---- workers --------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);	/* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One frame: its only copy, into the worker's data ring. */
static void dpdk_take(struct dpdk_worker *w, struct rte_mbuf *m, uint64_t ts)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct pfs_desc d = {
		.ts_ns = ts, .wire_len = len, .kind = PFS_KIND_FRAME,
		.link_type = PFS_LINKTYPE_ETHERNET, .flow_hash = m->hash.rss,
	};
	uint8_t *dst = pfs_producer_alloc(w->producer, w->s->node, len, &d);
	if (!dst) {
		w->lost++;
		return;
	}
	const void *src = rte_pktmbuf_read(m, 0, len, dst);
	if (src != dst)
		memcpy(dst, src, len);
	pfs_producer_inject(w->producer, w->s->node, &d, dst);
	pfs_producer_yield(w->producer);
	w->packets++;
	w->bytes += len;
}

/* Out of the run while asleep: readers see what it made, control threads
 * and RCU need not wait for it. */
static void dpdk_nap(struct dpdk_worker *w)
{
	const struct timespec t = { 0, w->nap_ns };
	if (w->nap_ns < NAP_MAX_NS)
		w->nap_ns *= 2;
	pfs_producer_end(w->producer);
	nanosleep(&t, NULL);
	pfs_producer_begin(w->producer);
}

static bool dpdk_gone(const struct dpdk_source *d)
{
	return __atomic_load_n(&d->gone, __ATOMIC_ACQUIRE);
}

/* The device idles: has its interface gone?  The first worker looks, now
 * and then, and tells the others. */
static void dpdk_look(struct dpdk_worker *w)
{
	struct dpdk_source *d = w->s->priv;
	char why[64 + IF_NAMESIZE];
	if (w->index == 0 && d->if_index && ++w->idle_naps % IFACE_CHECK_NAPS == 0 &&
	    pfs_iface_gone(d->if_index, d->if_name, why, sizeof(why))) {
		pfs_log("%s: %s: the capture ends (readers get end of stream once "
			"they have read what came before)", w->s->name, why);
		__atomic_store_n(&d->gone, true, __ATOMIC_RELEASE);
	}
}

/* A burst from each of the worker's queues; how many came, and whether
 * every burst came full. */
static uint16_t dpdk_bursts(struct dpdk_worker *w, bool *full)
{
	struct dpdk_source *d = w->s->priv;
	struct rte_mbuf *burst[BURST];
	uint16_t total = 0;
	*full = true;
	for (unsigned q = w->index; q < d->nqueues; q += d->nworkers) {
		uint16_t n = rte_eth_rx_burst(d->port, (uint16_t)q, burst, BURST);
		uint64_t ts = now_ns();
		for (uint16_t i = 0; i < n; i++)
			dpdk_take(w, burst[i], ts);
		rte_pktmbuf_free_bulk(burst, n);
		total += n;
		*full &= n == BURST;
	}
	return total;
}

static void dpdk_poll(struct dpdk_worker *w)
{
	struct dpdk_source *d = w->s->priv;
	pfs_producer_begin(w->producer);
	while (!pfs_source_stopping(w->s)) {
		bool full;
		if (dpdk_bursts(w, &full) == 0) {
			dpdk_look(w);
			if (dpdk_gone(d))
				break;
			dpdk_nap(w);
			continue;
		}
		w->nap_ns = NAP_MIN_NS;
		if (!full)
			dpdk_nap(w);
	}
	pfs_producer_end(w->producer);
}

static void *dpdk_work(void *arg)
{
	struct dpdk_worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "pfs-worker%u", w->index);
	pthread_setname_np(pthread_self(), name);
	pfs_source_pin_worker(w->index);
	rte_thread_register();	/* an lcore id: mempool caches work */
	prctl(PR_SET_TIMERSLACK, 1000UL);	/* naps as asked, not 50 us longer */
	pfs_graph_thread_register();
	if (pfs_producer_attach(w->producer, w->s->node, true) != 0)
		pfs_log("%s: no memory for worker %u's rings", w->s->name, w->index);
	dpdk_poll(w);
	if (dpdk_gone(w->s->priv))	/* its rings end: readers get EOF */
		pfs_producer_set_ended(w->producer, true);
	pfs_graph_thread_unregister();
	rte_thread_unregister();
	return NULL;
}

/* The source's thread: start the other workers, be worker 0, and join. */
static void *dpdk_run(void *arg)
{
	struct pfs_source *s = arg;
	struct dpdk_source *d = s->priv;
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(d->port, &info) == 0 && info.if_index &&
	    if_indextoname(info.if_index, d->if_name))
		d->if_index = info.if_index;
	for (unsigned i = 1; i < d->nworkers; i++) {
		struct dpdk_worker *w = &d->workers[i];
		w->running = pthread_create(&w->thread, NULL, dpdk_work, w) == 0;
		if (!w->running)
			pfs_log("%s: cannot start worker %u", s->name, i);
	}
	dpdk_work(&d->workers[0]);
	for (unsigned i = 1; i < d->nworkers; i++)
		if (d->workers[i].running)
			pthread_join(d->workers[i].thread, NULL);
	return NULL;
}

static void dpdk_stats(struct pfs_source *s, FILE *out)
{
	struct dpdk_source *d = s->priv;
	struct rte_eth_stats st = { 0 };
	rte_eth_stats_get(d->port, &st);
	fprintf(out, "source: %s\nport: %u\nrx_packets: %llu\nrx_bytes: %llu\n"
		"rx_missed: %llu\nrx_errors: %llu\nrx_nombuf: %llu\nrx_queues: %u\n"
		"workers: %u\n", d->devargs, d->port, (unsigned long long)st.ipackets,
		(unsigned long long)st.ibytes, (unsigned long long)st.imissed,
		(unsigned long long)st.ierrors, (unsigned long long)st.rx_nombuf,
		d->nqueues, d->nworkers);
	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		const struct dpdk_worker *w = &d->workers[i];
		fprintf(out, "worker%u_packets: %llu\nworker%u_lost: %llu\n", i,
			(unsigned long long)w->packets, i, (unsigned long long)w->lost);
	}
}

/* ---- the types ------------------------------------------------------------- */

/* After EAL: the device, then a producer per worker (the first is the
 * source's own). */
static int dpdk_start(struct pfs_source *s, char *err, size_t errlen)
{
	struct dpdk_source *d = s->priv;
	int rc = dpdk_device_start(s, d, err, errlen);
	if (rc == 0 && !(d->workers = calloc(d->nworkers, sizeof(*d->workers)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; rc == 0 && i < d->nworkers; i++) {
		struct dpdk_worker *w = &d->workers[i];
		char name[256];
		snprintf(name, sizeof(name), "%s worker %u", s->name, i);
		w->s = s;
		w->index = i;
		w->nap_ns = NAP_MIN_NS;
		w->producer = i == 0 ? s->producer : pfs_producer_new(name, false);
		if (!w->producer || pfs_producer_set_origin(w->producer, s->producer) != 0) {
			snprintf(err, errlen, "out of memory, or too many producers");
			rc = -ENOMEM;
		}
	}
	return rc;
}

static int dpdk_eal_args(struct pfs_source *s, char **argv, int room)
{
	struct dpdk_source *d = s->priv;
	char *words[] = { "-a", d->eal_dev, "-m", d->eal_mb };
	int first = d->pci ? 0 : 1, n = 4 - first;
	if (n > room)
		return -E2BIG;
	memcpy(argv, words + first, (size_t)n * sizeof(*argv));
	return n;
}

static void dpdk_close(struct pfs_source *s)
{
	struct dpdk_source *d = s->priv;
	if (d->up) {
		rte_eth_dev_stop(d->port);
		rte_eth_dev_close(d->port);
	}
	for (unsigned i = 1; d->workers && i < d->nworkers; i++)
		pfs_producer_free(d->workers[i].producer);
	rte_mempool_free(d->pool);
	free(d->workers);
	free(d->devargs);
	free(d->dev_name);
	free(d->eal_dev);
	free(d);
}

/* A PCI address or a vdev string, named by what comes before its options. */
static int dev_devargs(struct dpdk_source *d, const char *devargs)
{
	d->devargs = strdup(devargs);
	d->dev_name = strndup(devargs, strcspn(devargs, ","));
	d->pci = looks_like_pci(devargs);
	return d->devargs && d->dev_name ? 0 : -ENOMEM;
}

/* Everything EAL and the directory need, from the body of the spec. */
static int dpdk_describe(struct pfs_source *s, struct dpdk_source *d, const char *body,
			 const char *name)
{
	int rc = dev_devargs(d, body);
	if (rc)
		return rc;
	if (d->pci)
		d->eal_dev = strdup(d->devargs);
	else if (asprintf(&d->eal_dev, "--vdev=%s", d->devargs) < 0)
		d->eal_dev = NULL;
	snprintf(d->eal_mb, sizeof(d->eal_mb), "%u",
		 MB_PER_SOURCE + MB_PER_WORKER * pfs_sources_workers());
	s->name = strdup(name && *name ? name : d->dev_name);
	return d->eal_dev && s->name ? 0 : -ENOMEM;
}

/* DEVARGS, with an optional trailing ,name=DIR (a device's own options
 * may hold commas). */
static int dpdk_open(struct pfs_source *s, const char *args, char *err, size_t errlen)
{
	struct dpdk_source *d = calloc(1, sizeof(*d));
	char *body = strdup(args), *name = NULL;
	if (!d || !body) {
		free(d);
		free(body);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->priv = d;
	s->started = true;	/* live: it runs whether read or not */
	char *opt = strstr(body, ",name=");
	if (opt && !strchr(opt + 1, ',')) {
		name = opt + 6;
		*opt = '\0';
	}
	int rc = 0;
	if (!body[0]) {
		snprintf(err, errlen, "no device given");
		rc = -EINVAL;
	} else if ((rc = dpdk_describe(s, d, body, name)) != 0) {
		snprintf(err, errlen, "out of memory");
	}
	free(body);
	return rc;
}

const struct pfs_source_type pfs_dpdk_type = {
	.prefix = "dpdk:",
	.usage = "dpdk:DEVARGS[,name=DIR]",
	.summary = "any DPDK device: PCI address or vdev",
	.needs_eal = true,
	.open = dpdk_open,
	.eal_args = dpdk_eal_args,
	.start = dpdk_start,
	.run = dpdk_run,
	.stats = dpdk_stats,
	.close = dpdk_close,
};
