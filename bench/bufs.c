/* SPDX-License-Identifier: BSD-3-Clause
 * bench/bufs: what moving one record from a producer thread to reader
 * threads costs through the beltway buffers (bufs/), next to a Linux pipe
 * and DPDK's rte_ring.
 *
 * Every case moves the same records: `size` bytes copied from a template,
 * with the record's sequence number in its first 8 bytes and again in a
 * trailer word near its end.  Readers touch every byte (a sum of 64-bit
 * words) and check the sum, both sequence numbers and their order, so a
 * torn, misplaced or unread record shows up as an error.
 *
 * Timing is per reader: from the common start to its last record, divided
 * by the records it was handed intact ("delivered").  A lossy bufs reader
 * that falls behind loses records; those are counted as drops, not as
 * work done.
 *
 * `--quick` runs only bufs, 1 reader, 64-byte records, for
 * `strace -c -f build/bench/bufs --quick`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __x86_64__
#include <x86intrin.h>
#endif

#include <rte_pause.h>
#include <rte_ring.h>

#include "bufs/dbuf.h"
#include "bufs/ibuf.h"
#include "bufs/reader.h"

#define PRODUCER_CPU 0
#define READER_CPU 1
#define DBUF_BYTES (64ull << 20)
#define IBUF_DESCS (64u << 10)
#define BATCH 32		/* records per flush / per ring burst */
#define SPIN_POLLS (1u << 16)	/* empty polls before a reader sleeps */
#define EOF_POLLS 256		/* empty polls between end-of-stream checks */
#define CHUNK_BYTES (64u << 10)	/* batched pipe: bytes per write/read */
#define MAX_READERS 4
#define MAX_RESULTS 32

/* ---- clocks and threads -------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t tsc(void)
{
#ifdef __x86_64__
	return __rdtsc();
#else
	return 0;
#endif
}

static bool have_tsc(void)
{
#ifdef __x86_64__
	return true;
#else
	return false;
#endif
}

/* A timed interval: wall time and TSC cycles. */
struct span {
	uint64_t t0, tsc0, ns, cycles;
};

static void span_start(struct span *s)
{
	s->t0 = now_ns();
	s->tsc0 = tsc();
}

static void span_stop(struct span *s)
{
	s->cycles = tsc() - s->tsc0;
	s->ns = now_ns() - s->t0;
}

static void pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc)
		fprintf(stderr, "warning: cannot pin to cpu %d: %s\n", cpu, strerror(rc));
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

/* ---- records ----------------------------------------------------- */

struct record_fmt {
	uint32_t size;
	uint32_t trailer;	/* offset of the second copy of the seq */
	uint64_t base_sum;	/* word sum of the template (seq words zero) */
	uint8_t *tmpl;
};

/* Sum of the record's 64-bit words plus its odd tail bytes: reads every
 * byte, and vectorises. */
static inline uint64_t touch(const uint8_t *p, uint32_t n)
{
	uint64_t acc = 0, w;
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc += w;
	}
	for (; i < n; i++)
		acc += p[i];
	return acc;
}

static void fmt_init(struct record_fmt *f, uint32_t size)
{
	f->size = size;
	/* Word-aligned, so each seq copy adds exactly seq to the sum. */
	f->trailer = (size / 8 - 1) * 8;
	f->tmpl = malloc(size);
	if (!f->tmpl)
		die("out of memory");
	uint32_t x = 12345;
	for (uint32_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		f->tmpl[i] = (uint8_t)(x >> 16);
	}
	memset(f->tmpl, 0, 8);
	memset(f->tmpl + f->trailer, 0, 8);
	f->base_sum = touch(f->tmpl, size);
}

static inline void fill_record(uint8_t *dst, const struct record_fmt *f, uint64_t seq)
{
	memcpy(dst, f->tmpl, f->size);
	memcpy(dst, &seq, 8);
	memcpy(dst + f->trailer, &seq, 8);
}

/* What a reader saw in a record. */
struct seen {
	uint64_t seq, trailer, sum;
};

static inline struct seen read_record(const uint8_t *p, const struct record_fmt *f)
{
	struct seen s;
	s.sum = touch(p, f->size);
	memcpy(&s.seq, p, 8);
	memcpy(&s.trailer, p + f->trailer, 8);
	return s;
}

static inline bool seen_ok(const struct seen *s, const struct record_fmt *f,
			   uint64_t want)
{
	return s->seq == want && s->trailer == want &&
	       s->sum == f->base_sum + 2 * want;
}

/* ---- results ----------------------------------------------------- */

struct result {
	char name[48];
	uint32_t size;
	uint64_t sent;		/* records the producer wrote (timed) */
	uint64_t delivered;	/* records this reader used intact */
	uint64_t drops, errors, waits;
	uint64_t ns, cycles;	/* reader: start to its last record */
	uint64_t producer_ns;
};

static struct result results[MAX_RESULTS];
static int nresults;

static struct result *new_result(const char *name, uint32_t size, uint64_t sent)
{
	if (nresults == MAX_RESULTS)
		die("too many results");
	struct result *r = &results[nresults++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->size = size;
	r->sent = sent;
	return r;
}

static double ns_per_record(const struct result *r)
{
	return r->delivered ? (double)r->ns / (double)r->delivered : 0.0;
}

static void print_header(void)
{
	printf("%-22s %5s %9s %9s %9s %9s %8s %8s %8s %6s %5s %6s\n",
	       "case", "size", "sent", "delivered", "drops", "rec/s",
	       "ns/rec", "cyc/rec", "MB/s", "waits", "errs", "prodns");
}

static void print_result(const struct result *r)
{
	double secs = (double)r->ns / 1e9;
	double rate = secs > 0 ? (double)r->delivered / secs : 0;
	char cyc[16] = "n/a";
	if (have_tsc() && r->delivered)
		snprintf(cyc, sizeof(cyc), "%.1f",
			 (double)r->cycles / (double)r->delivered);
	printf("%-22s %5u %9lu %9lu %9lu %8.2fM %8.1f %8s %8.0f %6lu %5lu %6.1f\n",
	       r->name, r->size, (unsigned long)r->sent,
	       (unsigned long)r->delivered, (unsigned long)r->drops,
	       rate / 1e6, ns_per_record(r), cyc,
	       rate * r->size / 1e6, (unsigned long)r->waits,
	       (unsigned long)r->errors,
	       r->sent ? (double)r->producer_ns / (double)r->sent : 0.0);
	fflush(stdout);
}

/* ---- (a) bufs ---------------------------------------------------- */

/* The producer's and each reader's state sit on cache lines of their own,
 * so the benchmark adds no false sharing of its own. */
struct bufs_run {
	_Alignas(64) struct bw_dbuf *d;
	struct bw_ibuf *ib;
	const struct record_fmt *f;
	uint64_t warm, n;
	pthread_barrier_t warmed;	/* producer has done its lap */
	pthread_barrier_t ready;	/* readers have opened at the head */
	struct span producer;
};

struct bufs_reader {
	_Alignas(64) pthread_t thread;
	struct bufs_run *run;
	struct bw_reader r;
	uint64_t delivered, errors, waits, last;
	struct span span;
};

static void bufs_write(struct bufs_run *run, uint64_t first, uint64_t count)
{
	const struct record_fmt *f = run->f;
	struct bw_dbuf *d = run->d;
	struct bw_ibuf *ib = run->ib;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t pos;
		uint8_t *w = bw_dbuf_alloc(d, f->size, &pos);
		if (!w)
			die("bw_dbuf_alloc failed");
		fill_record(w, f, first + i);
		struct pfs_desc desc = {
			.pos = pos, .len = f->size, .wire_len = f->size,
			.dbuf = d->id, .kind = PFS_KIND_FRAME,
		};
		if (bw_ibuf_publish(ib, &desc) != 0)
			die("bw_ibuf_publish failed");
		if (i % BATCH == BATCH - 1)
			bw_ibuf_flush(ib);
	}
	bw_ibuf_flush(ib);
}

static void *bufs_produce(void *arg)
{
	struct bufs_run *run = arg;
	pin_self(PRODUCER_CPU);
	/* One lap of both rings: every page is mapped and faulted in. */
	bufs_write(run, 0, run->warm);
	pthread_barrier_wait(&run->warmed);
	pthread_barrier_wait(&run->ready);
	span_start(&run->producer);
	bufs_write(run, run->warm, run->n);
	span_stop(&run->producer);
	bw_ibuf_set_ended(run->ib, true);
	return NULL;
}

/* Use one record: read it all, then ask whether it was intact throughout.
 * Only intact records count, and they must be whole and in order. */
static void bufs_take(struct bufs_reader *rd, const struct pfs_desc *d,
		      const void *data)
{
	const struct record_fmt *f = rd->run->f;
	struct seen s = read_record(data, f);
	if (!bw_reader_intact(&rd->r, d))
		return;		/* overwritten while we read: a drop */
	if (d->len != f->size || !seen_ok(&s, f, d->seq) ||
	    (rd->delivered && d->seq <= rd->last))
		rd->errors++;
	rd->last = d->seq;
	rd->delivered++;
}

static void bufs_consume(struct bufs_reader *rd)
{
	const struct timespec tick = { 0, 1000 * 1000 };
	unsigned idle = 0;
	for (;;) {
		struct pfs_desc d;
		const void *data;
		if (bw_reader_next(&rd->r, &d, &data)) {
			idle = 0;
			bufs_take(rd, &d, data);
			continue;
		}
		idle++;
		rte_pause();	/* as the rte_ring consumer does when empty */
		if (idle % EOF_POLLS == 0 && bw_reader_eof(&rd->r))
			return;
		if (idle >= SPIN_POLLS) {
			rd->waits++;
			bw_reader_wait(&rd->r, &tick);
			idle = 0;
		}
	}
}

static void *bufs_read(void *arg)
{
	struct bufs_reader *rd = arg;
	pin_self(READER_CPU);
	pthread_barrier_wait(&rd->run->warmed);
	if (bw_reader_open(&rd->r, rd->run->ib, BW_FROM_NOW) != 0)
		die("bw_reader_open failed");
	pthread_barrier_wait(&rd->run->ready);
	span_start(&rd->span);
	bufs_consume(rd);
	span_stop(&rd->span);
	return NULL;
}

static void bufs_report(const struct bufs_run *run, struct bufs_reader *rd,
			int nreaders, int i)
{
	char name[48];
	if (nreaders == 1)
		snprintf(name, sizeof(name), "bufs 1 reader");
	else
		snprintf(name, sizeof(name), "bufs %d readers: r%d", nreaders, i);
	struct result *r = new_result(name, run->f->size, run->n);
	r->delivered = rd->delivered;
	r->drops = rd->r.drops;
	r->errors = rd->errors;
	/* Every record was either handed on or counted as dropped. */
	if (rd->delivered + rd->r.drops != run->n || rd->r.records != rd->delivered)
		r->errors++;
	r->waits = rd->waits;
	r->ns = rd->span.ns;
	r->cycles = rd->span.cycles;
	r->producer_ns = run->producer.ns;
}

static uint64_t bufs_warm_records(uint32_t size)
{
	uint64_t lap = DBUF_BYTES / size + 1;
	return lap > IBUF_DESCS ? lap : IBUF_DESCS + 1;
}

static void run_bufs(const struct record_fmt *f, int nreaders, uint64_t n)
{
	struct bufs_run run = { .f = f, .warm = bufs_warm_records(f->size), .n = n };
	struct bufs_reader rd[MAX_READERS];
	pthread_t producer;

	if (bw_dbuf_create(&run.d, DBUF_BYTES, 0) || bw_ibuf_create(&run.ib, IBUF_DESCS, 0))
		die("cannot create rings");
	pthread_barrier_init(&run.warmed, NULL, (unsigned)nreaders + 1);
	pthread_barrier_init(&run.ready, NULL, (unsigned)nreaders + 1);
	for (int i = 0; i < nreaders; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].run = &run;
		pthread_create(&rd[i].thread, NULL, bufs_read, &rd[i]);
	}
	pthread_create(&producer, NULL, bufs_produce, &run);
	pthread_join(producer, NULL);
	for (int i = 0; i < nreaders; i++) {
		pthread_join(rd[i].thread, NULL);
		bufs_report(&run, &rd[i], nreaders, i);
		print_result(&results[nresults - 1]);
		bw_reader_close(&rd[i].r);
	}
	pthread_barrier_destroy(&run.warmed);
	pthread_barrier_destroy(&run.ready);
	bw_ibuf_destroy(run.ib);
	bw_dbuf_destroy(run.d);
}

/* ---- two-thread cases: pipe and rte_ring ----------------------------- */

/* A producer and one consumer that each move `warm` records untimed, meet,
 * then move `n` timed records. */
struct duo {
	const struct record_fmt *f;
	uint64_t warm, n;
	void (*send)(struct duo *, uint64_t first, uint64_t count);
	void (*recv)(struct duo *, uint64_t first, uint64_t count);
	pthread_barrier_t ready;
	struct span producer, consumer;
	uint64_t errors;
	/* the channel */
	int fd[2];
	bool batched;
	struct rte_ring *ring;
	uint8_t *pool;
	uint64_t slots;
};

static void *duo_produce(void *arg)
{
	struct duo *c = arg;
	pin_self(PRODUCER_CPU);
	c->send(c, 0, c->warm);
	pthread_barrier_wait(&c->ready);
	span_start(&c->producer);
	c->send(c, c->warm, c->n);
	span_stop(&c->producer);
	return NULL;
}

static void *duo_consume(void *arg)
{
	struct duo *c = arg;
	pin_self(READER_CPU);
	c->recv(c, 0, c->warm);
	pthread_barrier_wait(&c->ready);
	span_start(&c->consumer);
	c->recv(c, c->warm, c->n);
	span_stop(&c->consumer);
	return NULL;
}

static void run_duo(struct duo *c, const char *name)
{
	pthread_t p, q;
	pthread_barrier_init(&c->ready, NULL, 2);
	pthread_create(&q, NULL, duo_consume, c);
	pthread_create(&p, NULL, duo_produce, c);
	pthread_join(p, NULL);
	pthread_join(q, NULL);
	pthread_barrier_destroy(&c->ready);

	struct result *r = new_result(name, c->f->size, c->n);
	r->delivered = c->n;
	r->errors = c->errors;
	r->ns = c->consumer.ns;
	r->cycles = c->consumer.cycles;
	r->producer_ns = c->producer.ns;
	print_result(r);
}

static void check_record(struct duo *c, const uint8_t *p, uint64_t want)
{
	struct seen s = read_record(p, c->f);
	if (!seen_ok(&s, c->f, want))
		c->errors++;
}

/* ---- (b) pipe ---------------------------------------------------- */

static void write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("pipe write failed");
		buf += n;
		len -= (size_t)n;
	}
}

static void read_full(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("pipe read failed");
		buf += n;
		len -= (size_t)n;
	}
}

/* Records per chunk: whole records only, so none is split across reads. */
static uint64_t chunk_records(const struct duo *c)
{
	return CHUNK_BYTES / c->f->size;
}

static void pipe_send(struct duo *c, uint64_t first, uint64_t count)
{
	static _Thread_local uint8_t buf[CHUNK_BYTES];
	uint32_t size = c->f->size;
	uint64_t per = c->batched ? chunk_records(c) : 1;
	for (uint64_t i = 0; i < count; i += per) {
		uint64_t k = count - i < per ? count - i : per;
		for (uint64_t j = 0; j < k; j++)
			fill_record(buf + j * size, c->f, first + i + j);
		write_full(c->fd[1], buf, k * size);
	}
}

static void pipe_recv(struct duo *c, uint64_t first, uint64_t count)
{
	static _Thread_local uint8_t buf[CHUNK_BYTES];
	uint32_t size = c->f->size;
	uint64_t per = c->batched ? chunk_records(c) : 1;
	for (uint64_t i = 0; i < count; i += per) {
		uint64_t k = count - i < per ? count - i : per;
		read_full(c->fd[0], buf, k * size);
		for (uint64_t j = 0; j < k; j++)
			check_record(c, buf + j * size, first + i + j);
	}
}

static int pipe_capacity = -1;

static void run_pipe(const struct record_fmt *f, bool batched, uint64_t n)
{
	struct duo c = { .f = f, .n = n, .batched = batched,
			 .send = pipe_send, .recv = pipe_recv };
	if (pipe2(c.fd, O_CLOEXEC) != 0)
		die("pipe2 failed");
	pipe_capacity = fcntl(c.fd[0], F_GETPIPE_SZ);
	/* Two laps of the pipe's buffer, or a few chunks. */
	c.warm = batched ? 4 * chunk_records(&c) : 2 * (uint64_t)pipe_capacity / f->size;
	run_duo(&c, batched ? "pipe batched 64K" : "pipe write+read/rec");
	close(c.fd[0]);
	close(c.fd[1]);
}

/* ---- (c) rte_ring ------------------------------------------------- */

/* No EAL needed: an SPSC ring in our own aligned memory. */
static struct rte_ring *ring_new(unsigned count)
{
	ssize_t bytes = rte_ring_get_memsize(count);
	if (bytes < 0)
		return NULL;
	size_t align = _Alignof(struct rte_ring);
	size_t len = ((size_t)bytes + align - 1) / align * align;
	struct rte_ring *r = aligned_alloc(align, len);
	if (r && rte_ring_init(r, "bench", count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
		free(r);
		r = NULL;
	}
	return r;
}

static void enqueue_all(struct rte_ring *r, void **objs, unsigned k)
{
	unsigned done = 0;
	while (done < k) {
		unsigned m = rte_ring_sp_enqueue_burst(r, objs + done, k - done, NULL);
		if (!m)
			rte_pause();
		done += m;
	}
}

static void ring_send(struct duo *c, uint64_t first, uint64_t count)
{
	uint32_t size = c->f->size;
	void *burst[BATCH];
	unsigned k = 0;
	for (uint64_t i = first; i < first + count; i++) {
		uint8_t *slot = c->pool + (i % c->slots) * size;
		fill_record(slot, c->f, i);
		burst[k++] = slot;
		if (k == BATCH) {
			enqueue_all(c->ring, burst, k);
			k = 0;
		}
	}
	enqueue_all(c->ring, burst, k);
}

static void ring_recv(struct duo *c, uint64_t first, uint64_t count)
{
	void *got[BATCH];
	uint64_t i = first, end = first + count;
	while (i < end) {
		unsigned want = end - i < BATCH ? (unsigned)(end - i) : BATCH;
		unsigned m = rte_ring_sc_dequeue_burst(c->ring, got, want, NULL);
		if (!m)
			rte_pause();
		for (unsigned j = 0; j < m; j++)
			check_record(c, got[j], i + j);
		i += m;
	}
}

/* Ring entries such that the pool (twice that many record slots) cycles
 * through as many bytes as the bufs DBuf: same cache and TLB footprint. */
static unsigned ring_count(uint32_t size)
{
	unsigned count = 1024;
	while (2ull * (count * 2) * size <= DBUF_BYTES)
		count *= 2;
	return count;
}

static void run_ring(const struct record_fmt *f, uint64_t n)
{
	unsigned count = ring_count(f->size);
	struct duo c = { .f = f, .n = n, .send = ring_send, .recv = ring_recv };
	c.ring = ring_new(count);
	c.slots = 2ull * count;
	/* Slot i is refilled only after record i - count has been dequeued
	 * and its burst read: the ring never holds more than count - 1. */
	c.pool = aligned_alloc(64, (c.slots * f->size + 63) / 64 * 64);
	if (!c.ring || !c.pool)
		die("cannot create rte_ring or its pool");
	c.warm = c.slots;	/* one lap of the pool */
	run_duo(&c, "rte_ring SPSC burst32");
	free(c.pool);
	free(c.ring);
}

/* ---- summary ----------------------------------------------------- */

static const struct result *find(const char *name, uint32_t size)
{
	for (int i = 0; i < nresults; i++)
		if (results[i].size == size && strcmp(results[i].name, name) == 0)
			return &results[i];
	return NULL;
}

static void print_ratio(const char *label, const char *other, const uint32_t *sizes)
{
	printf("%-28s", label);
	for (int i = 0; i < 2; i++) {
		const struct result *b = find("bufs 1 reader", sizes[i]);
		const struct result *o = find(other, sizes[i]);
		/* No ratio on a case that delivered nothing or had errors. */
		if (b && o && ns_per_record(b) > 0 && ns_per_record(o) > 0 &&
		    !b->errors && !o->errors)
			printf(" %12.3fx", ns_per_record(b) / ns_per_record(o));
		else
			printf(" %13s", "n/a");
	}
	printf("\n");
}

/* Prints the ratios; returns the errors of every case. */
static uint64_t print_summary(void)
{
	static const uint32_t sizes[2] = { 64, 1500 };
	printf("\nratios: ns/record of bufs (1 reader) / ns/record of the other "
	       "(below 1x: bufs is cheaper)\n");
	printf("%-28s %10u B %10u B\n", "", sizes[0], sizes[1]);
	print_ratio("bufs / pipe write+read/rec", "pipe write+read/rec", sizes);
	print_ratio("bufs / pipe batched 64K", "pipe batched 64K", sizes);
	print_ratio("bufs / rte_ring SPSC", "rte_ring SPSC burst32", sizes);
	uint64_t errors = 0;
	for (int i = 0; i < nresults; i++)
		errors += results[i].errors;
	printf("\nerrors: %lu\n", (unsigned long)errors);
	return errors;
}

/* ---- main -------------------------------------------------------- */

/* Timed records per case, picked for roughly 0.5-1.5 s each on the 2-vCPU
 * VM this was written on (where bufs is far slower than its design
 * suggests: see the numbers), and under ~20 s for the whole run. */
struct plan {
	uint32_t size;
	uint64_t bufs, pipe_each, pipe_batched, ring;
};

static const struct plan plans[] = {
	{ 64, 5000000, 300000, 40000000, 40000000 },
	{ 1500, 2000000, 200000, 2000000, 6000000 },
};

static void print_intro(bool quick)
{
	printf("bench/bufs: producer thread pinned to cpu %d, reader threads to cpu %d "
	       "(%ld cpus online)\n", PRODUCER_CPU, READER_CPU,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("bufs: lossy, DBuf %llu MiB, IBuf %u descriptors, bw_ibuf_flush every %d "
	       "records;\n      readers spin %u empty polls, then bw_reader_wait (1 ms)\n",
	       DBUF_BYTES >> 20, IBUF_DESCS, BATCH, SPIN_POLLS);
	if (!quick)
		printf("      4-reader cases: all four readers share cpu %d; "
		       "rows are per reader\n", READER_CPU);
	printf("ns/rec, cyc/rec (TSC), rec/s: reader's time from start to its last "
	       "record / records delivered intact;\nprodns: producer ns per record "
	       "sent; waits: times a reader slept; every case warms up one ring lap first\n\n");
}

static uint64_t run_all(void)
{
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		const struct plan *p = &plans[i];
		struct record_fmt f;
		fmt_init(&f, p->size);
		run_bufs(&f, 1, p->bufs);
		run_bufs(&f, 4, p->bufs);
		run_pipe(&f, false, p->pipe_each);
		run_pipe(&f, true, p->pipe_batched);
		run_ring(&f, p->ring);
		free(f.tmpl);
		printf("\n");
	}
	printf("pipe: capacity %d bytes (default); batched: %u-byte chunks of whole records, "
	       "one write()/read() per chunk\n", pipe_capacity, CHUNK_BYTES);
	printf("rte_ring: SPSC (RING_F_SP_ENQ|RING_F_SC_DEQ), rte_ring_init on aligned_alloc "
	       "memory (no EAL),\n          burst enqueue/dequeue of %d pointers; ring of %u "
	       "(64 B) / %u (1500 B) entries,\n          pool of twice that many record slots "
	       "(same bytes as the DBuf)\n", BATCH, ring_count(64), ring_count(1500));
	return print_summary();
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	if (argc > 1 && !quick) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	print_intro(quick);
	print_header();
	if (quick) {
		struct record_fmt f;
		fmt_init(&f, 64);
		run_bufs(&f, 1, 2000000);
		free(f.tmpl);
		printf("\nerrors: %lu\n", (unsigned long)results[0].errors);
		return results[0].errors != 0;
	}
	/* A case whose records came torn, misplaced or missing measured
	 * nothing: make bench fails. */
	return run_all() != 0;
}
