/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: a capture file replayed by a `pcap:FILE` source
 * (filters/sources/pcap.c), the whole way the daemon replays one: the
 * source opens the file (a classic pcap file is mapped and replayed in
 * place, its records parsed where they lie by pfs_pcap_parse_record,
 * filters/savefile.c; pcapng and files whose records libpcap rewrites go
 * through libpcap, with the timestamp precision read by the pcapng parser,
 * filters/pcapng.c), its thread replays it into a graph, and a reader of
 * the source's node reads every record to the end of the stream.  Written
 * pcap and pcapng streams are fuzz_pcap_stream's.
 *
 * Input: an options byte, then the file's bytes (in a memfd, named by
 * /proc/self/fd/N).  The options byte, mod 8:
 *   1   `loop`: the records are read twice over (two passes), then the
 *       source is stopped (rarely: a looping replay runs as far ahead of
 *       the reader as the ring lets it, each pass of a file read through
 *       libpcap opening it again)
 *   2   `start=now`: the replay starts before the reader opens
 *   any other: neither
 *
 * The oracle is libpcap (pcap_fopen_offline_with_tstamp_precision, ns, on
 * fmemopen of the same bytes), as README's Choices says: files are read as
 * libpcap 1.10 reads them.  Invariants:
 *  - the source opens the file exactly when libpcap does, but for the
 *    documented deviation (filters/savefile.h): a classic file whose link
 *    type field has its reserved bits (16 to 25) set is refused;
 *  - the reader gets exactly libpcap's records, in order, up to where
 *    libpcap reads no more (an error, a record cut short, one longer than
 *    the link type allows): the same count, timestamps (a classic file's
 *    fields read unsigned, the other documented deviation; a pcapng
 *    timestamp a descriptor cannot hold, before 1970 or past 2554, is not
 *    compared), captured and wire lengths and bytes; every record a frame
 *    of one link type, libpcap's (as a LINKTYPE_ value: libpcap's DLT_RAW
 *    is 101), and of one precision; with `loop`, the second pass the same
 *    again;
 *  - replayed in place (stats: `replay: in place`), each record is the
 *    file's own bytes at its position (d.pos, less a pass's worth of
 *    positions for the second pass);
 *  - the source's stats count every record read (`packets_read`).
 * Checked less: the precision flag (PFS_REC_TS_NSEC: for pcapng, the first
 * interface's if_tsresol as our pcapng parser reads it) only to be the
 * same for all records; and libpcap's DLT values 11 to 19, which stand
 * for several LINKTYPE_ values, not against the records' link type.
 * Left out: files read through libpcap whose link type allows records
 * over 1 MiB (EBHSCR, D-Bus), whose data ring (twice that, up to 256 MiB,
 * populated when made) would be made for each input; those inputs are
 * not kept.
 *
 * The graph lives across inputs, the source's node going after each as
 * at unmount; what it lets go of is freed after a grace period, on
 * liburcu's call_rcu thread (waiting for that, rcu_barrier, takes 10 ms),
 * so `make fuzz` runs this target with -detect_leaks=0
 * (FUZZ_FLAGS_fuzz_pcap_file) and LeakSanitizer checks at exit.
 */
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "filters/graph/graph.h"
#include "filters/graph/internal.h"	/* a source node's hooks */
#include "filters/graph/reader.h"
#include "filters/savefile.h"
#include "filters/sources/source.h"
#include "tests/fuzz/fuzz.h"

#define RING_BYTES (1u << 20)
#define RING_BUDGET (1ull << 30)
#define MAX_RECS 4096
#define WAIT_S 10.0		/* for the replay to end */

struct rec {
	struct pfs_desc d;
	uint8_t *data;
	bool ts_ok;		/* libpcap's: d.ts_ns is its timestamp */
};

struct recs {
	struct rec r[MAX_RECS];
	size_t n;
};

static void recs_clear(struct recs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->r[i].data);
	x->n = 0;
}

static void recs_add(struct recs *x, const struct pfs_desc *d, const uint8_t *data)
{
	FZ_CHECK(x->n < MAX_RECS, "more than %d records", MAX_RECS);
	x->r[x->n].d = *d;
	x->r[x->n++].data = fz_copy(data, d->len);
}

/* ---- libpcap ---- */

struct theirs {
	bool opened;
	int link_type;		/* pcap_datalink's */
	struct recs recs;
};

/* The file's format as its magic says: 0 pcapng (or anything else), 1 a
 * classic file of µs, 2 of ns. */
static int classic(const uint8_t *b, size_t n)
{
	uint32_t m;

	if (n < 4)
		return 0;
	memcpy(&m, b, 4);
	if (m == 0xa1b2c3d4 || m == 0xa1b2cd34 || m == 0xd4c3b2a1 || m == 0x34cdb2a1)
		return 1;
	return m == 0xa1b23c4d || m == 0x4d3cb2a1 ? 2 : 0;
}

/* libpcap's timestamp h (in ns) as ns since the epoch, the fields of a
 * classic file read unsigned as the format has them (savefile.h: libpcap
 * 1.10 reads those of a file of its byte order as signed); false when a
 * descriptor cannot hold it (pcapng: before 1970, or past 2554). */
static bool ts_of(const struct pcap_pkthdr *h, int format, uint64_t *ns)
{
	if (format) {
		uint64_t frac = format == 2 ? (uint32_t)h->ts.tv_usec
				: (uint64_t)(uint32_t)(h->ts.tv_usec / 1000) * 1000;
		*ns = (uint32_t)h->ts.tv_sec * 1000000000ull + frac;
		return true;
	}
	__int128 v = (__int128)h->ts.tv_sec * 1000000000 + h->ts.tv_usec;
	*ns = (uint64_t)v;
	return v >= 0 && v <= (__int128)UINT64_MAX;
}

static void by_libpcap(const uint8_t *b, size_t n, struct theirs *t)
{
	char err[PCAP_ERRBUF_SIZE];

	t->opened = false;
	if (!n)			/* fmemopen wants a size; libpcap refuses it */
		return;
	uint8_t *copy = fz_copy(b, n);
	FILE *in = fmemopen(copy, n, "r");
	FZ_CHECK(in, "fmemopen");
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO,
							      err);
	t->opened = pc != NULL;
	if (!pc) {
		fclose(in);
		free(copy);
		return;
	}
	t->link_type = pcap_datalink(pc);
	struct pcap_pkthdr *h;
	const u_char *data;
	int format = classic(b, n);
	while (t->recs.n < MAX_RECS && pcap_next_ex(pc, &h, &data) == 1) {
		struct pfs_desc d = { .len = h->caplen, .wire_len = h->len };
		bool ok = ts_of(h, format, &d.ts_ns);
		recs_add(&t->recs, &d, data);
		t->recs.r[t->recs.n - 1].ts_ok = ok;
	}
	pcap_close(pc);
	free(copy);
}

/* A classic file whose link type field has reserved bits set: refused
 * (savefile.h), where libpcap makes an unknown link type of it. */
static bool reserved_bits(const uint8_t *b, size_t n)
{
	uint32_t magic, lt;

	if (n < PFS_PCAP_GLOBAL_LEN)
		return false;
	memcpy(&magic, b, 4);
	memcpy(&lt, b + 20, 4);
	bool known = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d || magic == 0xa1b2cd34;
	bool swapped = !known && (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1 ||
				  magic == 0x34cdb2a1);
	if (swapped)
		lt = __builtin_bswap32(lt);
	return (known || swapped) && (lt & 0x03ff0000u);
}

/* libpcap's DLT as a LINKTYPE_ value (as the source names it). */
static int linktype_of(int dlt)
{
	switch (dlt) {
	case 12: case 14: return 101;
	case 11: return 100;
	case 15: return 102;
	case 16: return 103;
	case 19: return 106;
	default: return dlt;
	}
}

/* ---- ours ---- */

static void desc_frame(const struct pfs_desc *d, const uint8_t *data, size_t input,
		       struct bw_frame *f, void *arg)
{
	(void)data, (void)input, (void)arg;
	memcpy(f->head, d, sizeof *d);
	f->head_len = sizeof *d;
}

static const struct bw_framing desc_prefix = { desc_frame, NULL, NULL };

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Read records into x until end of stream or `want` of them (0: no
 * bound); false if neither came within WAIT_S. */
static bool read_records(struct pfs_reader *r, int efd, struct recs *x, size_t want)
{
	static uint8_t buf[1 << 20];
	size_t have = 0;
	double end = now_s() + WAIT_S;

	for (;;) {
		size_t got = pfs_reader_copy(r, buf + have, sizeof buf - have);
		have += got;
		size_t off = 0;
		while (have - off >= sizeof(struct pfs_desc)) {
			struct pfs_desc d;
			memcpy(&d, buf + off, sizeof d);
			if (have - off - sizeof d < d.len)
				break;
			if (!want || x->n < want)	/* a loop goes on */
				recs_add(x, &d, buf + off + sizeof d);
			off += sizeof d + d.len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (want && x->n >= want)
			return true;
		if (got)
			continue;
		if (pfs_reader_eof(r)) {
			if (!pfs_reader_copy(r, buf + have, sizeof buf - have))
				return have == 0;
			continue;
		}
		if (now_s() > end)
			return false;
		struct pollfd p = { efd, POLLIN, 0 };
		if (poll(&p, 1, 50) > 0) {
			uint64_t v;
			FZ_CHECK(read(efd, &v, sizeof v) == sizeof v, "eventfd");
		}
	}
}

/* A `key: value` line of the node's stats. */
static bool stat_is(struct pfs_node *n, const char *line)
{
	size_t len;
	char *text = pfs_node_stats(n, &len);
	FZ_CHECK(text, "stats");
	bool found = strstr(text, line) != NULL;
	free(text);
	return found;
}

static uint64_t stat_u64(struct pfs_node *n, const char *key)
{
	size_t len;
	char *text = pfs_node_stats(n, &len), *at;
	unsigned long long v = 0;
	FZ_CHECK(text, "stats");
	FZ_CHECK((at = strstr(text, key)) && sscanf(at + strlen(key), ": %llu", &v) == 1,
		 "no `%s` in stats", key);
	free(text);
	return v;
}

static void compare(const struct recs *ours, size_t from, const struct theirs *t,
		    const uint8_t *file, size_t n, bool in_place, uint64_t pass_base)
{
	for (size_t i = 0; i < t->recs.n; i++) {
		const struct pfs_desc *a = &ours->r[from + i].d, *b = &t->recs.r[i].d;
		FZ_CHECK((a->ts_ns == b->ts_ns || !t->recs.r[i].ts_ok) && a->len == b->len &&
				 a->wire_len == b->wire_len,
			 "record %zu: ts %llu len %u wire %u, libpcap %llu %u %u", from + i,
			 (unsigned long long)a->ts_ns, a->len, a->wire_len,
			 (unsigned long long)b->ts_ns, b->len, b->wire_len);
		FZ_CHECK(!memcmp(ours->r[from + i].data, t->recs.r[i].data, b->len),
			 "record %zu: other bytes than libpcap's", from + i);
		FZ_CHECK(a->kind == PFS_KIND_FRAME && a->link_type == ours->r[0].d.link_type &&
				 a->flags == ours->r[0].d.flags,
			 "record %zu: kind %u, link type %u, flags %#x", from + i, a->kind,
			 a->link_type, a->flags);
		if (in_place) {
			uint64_t at = a->pos - pass_base;
			FZ_CHECK(a->pos >= pass_base && at <= n && a->len <= n - at &&
					 !memcmp(file + at, t->recs.r[i].data, a->len),
				 "record %zu (in place) is not the file's bytes at %llu", from + i,
				 (unsigned long long)a->pos);
		}
	}
}

/* Read through libpcap with a link type whose records may pass 1 MiB
 * (EBHSCR, D-Bus): its ring takes twice that (up to 256 MiB), made and
 * populated for each input. */
static bool huge(const uint8_t *file, size_t n, int dlt)
{
	struct pfs_pcap_format f;
	char err[PFS_ERR_LEN];
	bool in_place = n >= PFS_PCAP_GLOBAL_LEN &&
			pfs_pcap_parse_header(&f, file, err, sizeof err) == 0 &&
			!pfs_pcap_rewritten(&f);
	return !in_place && pfs_max_snaplen(linktype_of(dlt)) > (1u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recs ours;
	static struct theirs t;
	static bool registered;
	struct fz z = { data, size };
	uint8_t opt = fz_u8(&z);
	bool loop = opt % 8 == 1, start_now = opt % 8 == 2;
	size_t n = z.n;
	const uint8_t *file = z.p;

	if (!registered) {
		FZ_CHECK(pfs_graph_init(RING_BYTES, RING_BUDGET) == 0, "pfs_graph_init");
		pfs_graph_thread_register();
		registered = true;
	}
	by_libpcap(file, n, &t);
	if (t.opened && huge(file, n, t.link_type)) {
		recs_clear(&t.recs);
		return -1;	/* not kept: see above */
	}
	if (loop && !t.recs.n)
		loop = false;	/* with no record, a loop replays nothing for ever */

	int fd = memfd_create("fz-capture", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	FZ_CHECK(write(fd, file, n) == (ssize_t)n, "write");
	char spec[128], err[PFS_ERR_LEN] = "";
	snprintf(spec, sizeof spec, "pcap:/proc/self/fd/%d,name=f%s%s", fd, loop ? ",loop" : "",
		 start_now ? ",start=now" : "");

	struct pfs_source *s = pfs_source_open(spec, err, sizeof err);
	bool refused = reserved_bits(file, n);
	FZ_CHECK(!!s == (t.opened && !refused), "the source %s the file (%s), libpcap %s it%s",
		 s ? "opens" : "refuses", err, t.opened ? "opens" : "refuses",
		 refused ? " (reserved link type bits)" : "");
	if (!s) {
		FZ_CHECK(err[0], "refused without a reason");
		close(fd);
		recs_clear(&t.recs);
		return 0;
	}
	pfs_graph_lock();
	FZ_CHECK(pfs_source_add_node(s) == 0, "pfs_source_add_node");
	pfs_graph_unlock();
	FZ_CHECK(pfs_source_launch(s) == 0, "pfs_source_launch");
	pfs_graph_lock();
	struct pfs_reader *r = pfs_reader_open(s->node, false, true, &desc_prefix);
	pfs_graph_unlock();
	FZ_CHECK(r, "pfs_reader_open");
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	FZ_CHECK(efd >= 0 && pfs_reader_listen(r, efd) == 0, "listen");

	bool in_place = stat_is(s->node, "replay: in place\n");
	int lt = linktype_of(t.link_type);
	size_t want = loop ? 2 * t.recs.n : 0;
	FZ_CHECK(read_records(r, efd, &ours, want),
		 "the replay did not end within %.0f s (%zu records, libpcap %zu)", WAIT_S,
		 ours.n, t.recs.n);
	FZ_CHECK(ours.n >= want && (loop || ours.n == t.recs.n), "%zu records, libpcap %zu%s",
		 ours.n, t.recs.n, loop ? " (twice)" : "");
	/* libpcap's DLT values 11 to 19 stand for several LINKTYPE_ ones */
	if (ours.n)
		FZ_CHECK(ours.r[0].d.link_type == lt || (t.link_type >= 11 && t.link_type <= 19),
			 "link type %u, libpcap's %d", ours.r[0].d.link_type, t.link_type);
	compare(&ours, 0, &t, file, n, in_place, 0);
	if (loop) {
		/* the second pass's positions lie a pass's worth further on */
		uint64_t base = ours.r[t.recs.n].d.pos - ours.r[0].d.pos;
		compare(&ours, t.recs.n, &t, file, n, in_place, base);
	} else {
		uint64_t read = stat_u64(s->node, "packets_read");
		FZ_CHECK(read == ours.n, "packets_read: %llu, %zu read", (unsigned long long)read,
			 ours.n);
	}

	pfs_graph_lock();
	pfs_reader_unlisten(r);
	pfs_reader_close(r);
	pfs_graph_unlock();
	close(efd);
	struct pfs_node *node = s->node;
	pfs_source_free(s);
	/* the source's node goes, as at unmount (pfs_graph_fini) */
	pfs_graph_lock();
	node->hooks = NULL;
	FZ_CHECK(pfs_node_rmdir(pfs_graph_root(), "f") == 0, "rmdir f");
	pfs_graph_unlock();
	close(fd);
	recs_clear(&ours);
	recs_clear(&t.recs);
	return 0;
}
