/* SPDX-License-Identifier: BSD-3-Clause
 * The stream files all, new and pcap: reading follows the node's rings,
 * writing injects records at the node.
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "log.h"

static uint32_t next_flow;

/* ---- reading ------------------------------------------------------------ */

/* Follow every ring the node has now; rings made later are read from
 * their start, which is after this open. */
static void follow_new_ports(struct fs_open *of)
{
	struct pfs_node *n = of->node;
	uint32_t nports = __atomic_load_n(&n->nports, __ATOMIC_ACQUIRE);
	for (uint32_t i = of->merge.n; i < nports; i++) {
		struct bw_ibuf *ib = n->ports[i]->ib;
		enum bw_start from = of->reading ? BW_FROM_OLDEST : of->start;
		struct bw_hold hold;
		int rc = pfs_reader_take_hold(n, &of->stat, ib, &hold)
			 ? bw_merge_add_held(&of->merge, ib, &hold)
			 : bw_merge_add(&of->merge, ib, from);
		if (rc != 0)
			break;
		if (of->armed)
			bw_reader_listen(&of->merge.in[of->merge.n - 1].r);
	}
}

static bool at_eof(struct fs_open *of)
{
	pfs_graph_lock();
	bool ended = pfs_node_upstream_ended(of->node);
	pfs_graph_unlock();
	follow_new_ports(of);
	return ended && !bw_merge_ready(&of->merge);
}

/* The pcap view: the global header goes first, with the link type of the
 * first record (or, at EOF with no record, Ethernet).  Copies what is left
 * of it (up to cap bytes) to out; 0 while the link type cannot be known. */
static size_t pcap_header(struct fs_open *of, uint8_t *out, size_t cap)
{
	struct pfs_desc first;
	if (of->pcap_link < 0) {
		if (bw_merge_peek(&of->merge, &first))
			of->pcap_link = pfs_pcap_link_type(&first);
		else if (at_eof(of))
			of->pcap_link = PFS_LINKTYPE_ETHERNET;
		else
			return 0;
		pfs_pcap_global_header(of->pcap_header, of->pcap_link);
	}
	size_t n = PFS_PCAP_GLOBAL_LEN - of->pcap_header_sent;
	n = n < cap ? n : cap;
	memcpy(out, of->pcap_header + of->pcap_header_sent, n);
	of->pcap_header_sent += n;
	return n;
}

/* Fill of->buf with up to size bytes.  *eof: nothing more will come. */
static size_t fill(struct fs_open *of, size_t size, bool *eof)
{
	if (size > of->buf_cap) {
		uint8_t *b = realloc(of->buf, size);
		if (!b)
			return 0;
		of->buf = b;
		of->buf_cap = size;
	}
	follow_new_ports(of);
	size_t n = 0;
	*eof = false;
	if (of->file == FS_PCAP && of->pcap_header_sent < PFS_PCAP_GLOBAL_LEN &&
	    !(n = pcap_header(of, of->buf, size)))
		return 0;
	n += bw_merge_copy(&of->merge, of->buf + n, size - n);
	if (n == 0)
		*eof = at_eof(of);
	return n;
}

static uint64_t reader_drops(struct pfs_reader *r)
{
	struct fs_open *of = (struct fs_open *)((char *)r - offsetof(struct fs_open, stat));
	return bw_merge_drops(&of->merge);
}

int fs_stream_open(struct fs_open *of, int flags)
{
	int acc = flags & O_ACCMODE;
	if (acc == O_RDWR)
		return -EINVAL;	/* a stream is read or written, not both */
	if (acc == O_WRONLY) {
		int rc = pfs_node_writer_open(of->node);
		if (rc)
			return rc;
		of->writing = true;
		of->flow = __atomic_add_fetch(&next_flow, 1, __ATOMIC_RELAXED);
		return 0;
	}
	of->start = of->file == FS_NEW ? BW_FROM_NOW : BW_FROM_OLDEST;
	of->pcap_link = -1;
	bw_merge_init(&of->merge, of->file == FS_PCAP ? pfs_pcap_record_prefix : NULL,
		      &of->pcap_link);
	of->stat.drops = reader_drops;
	/* Listed first: lossless rings made from now on are held for us. */
	pfs_node_reader_add(of->node, &of->stat);
	follow_new_ports(of);	/* the rings there now, from of->start */
	of->reading = true;	/* later ones from their start */
	pfs_node_start_sources(of->node);
	return 0;
}

/* The kernel interrupts a parked read (Ctrl-C on cat): answer at once. */
static void on_interrupt(fuse_req_t req, void *arg)
{
	struct fs_open *of = arg;
	pthread_mutex_lock(&of->lock);
	if (of->req == req) {
		of->req = NULL;
		fuse_reply_err(req, EINTR);
	}
	pthread_mutex_unlock(&of->lock);
}

void fs_stream_read(fuse_req_t req, struct fs_open *of, size_t size)
{
	if (of->writing) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* Before taking the lock: the callback may run at once. */
	fuse_req_interrupt_func(req, on_interrupt, of);
	pthread_mutex_lock(&of->lock);
	if (of->req) {
		/* One read at a time per open file: a second one waits its turn
		 * the way a pipe's second reader would, by failing softly. */
		pthread_mutex_unlock(&of->lock);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	bool eof;
	size_t n = fill(of, size, &eof);
	if (n || eof) {
		fuse_reply_buf(req, (const char *)of->buf, n);
		pthread_mutex_unlock(&of->lock);
		return;
	}
	if (fuse_req_interrupted(req)) {
		pthread_mutex_unlock(&of->lock);
		fuse_reply_err(req, EINTR);
		return;
	}
	of->req = req;
	of->req_size = size;
	fs_park_add(of);
	pthread_mutex_unlock(&of->lock);
}

bool fs_stream_try_parked(struct fs_open *of)
{
	if (!of->armed) {
		follow_new_ports(of);
		bw_merge_listen(&of->merge);
		of->armed = true;
	}
	bool eof;
	if (of->req) {
		size_t n = fill(of, of->req_size, &eof);
		if (n || eof) {
			fuse_reply_buf(of->req, (const char *)of->buf, n);
			of->req = NULL;
		}
	}
	if (of->ph && (bw_merge_ready(&of->merge) || at_eof(of))) {
		fuse_lowlevel_notify_poll(of->ph);
		fuse_pollhandle_destroy(of->ph);
		of->ph = NULL;
	}
	bool done = !of->req && !of->ph;
	if (done && of->armed) {
		bw_merge_unlisten(&of->merge);
		of->armed = false;
	}
	return done;
}

void fs_stream_poll(fuse_req_t req, struct fs_open *of, struct fuse_pollhandle *ph)
{
	if (of->writing) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLOUT);
		return;
	}
	pthread_mutex_lock(&of->lock);
	follow_new_ports(of);
	bool readable = bw_merge_ready(&of->merge) || at_eof(of);
	if (!readable && ph) {
		if (of->ph)
			fuse_pollhandle_destroy(of->ph);
		of->ph = ph;
		fs_park_add(of);
	} else if (ph) {
		fuse_pollhandle_destroy(ph);
	}
	pthread_mutex_unlock(&of->lock);
	fuse_reply_poll(req, readable ? POLLIN : 0);
}

/* ---- writing ------------------------------------------------------------ */

struct inject_arg {
	struct fs_open *of;
	struct pfs_ctx *c;
};

/* One record from a written pcap stream: copied into the writer's ring. */
static void inject_frame(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	struct inject_arg *a = arg;
	struct pfs_desc rec = *d;
	uint8_t *w = pfs_ctx_alloc(a->c, a->of->node, d->len, &rec);
	if (!w)
		return;
	memcpy(w, data, d->len);
	rec.flow_hash = a->of->flow;
	pfs_ctx_inject(a->c, a->of->node, &rec, w);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void inject_bytes(struct inject_arg *a, const char *buf, size_t size)
{
	/* A written byte stream is cut into records of at most 64 KiB (and a
	 * quarter of a ring, so a small ring still takes them). */
	uint64_t chunk = pfs_graph_ring_bytes() / 4 < 65536 ? pfs_graph_ring_bytes() / 4 : 65536;
	for (size_t off = 0; off < size; off += chunk) {
		uint32_t len = (uint32_t)(size - off < chunk ? size - off : chunk);
		struct pfs_desc d = {
			.ts_ns = now_ns(), .wire_len = len, .flow_hash = a->of->flow,
			.kind = PFS_KIND_STREAM,
		};
		uint8_t *w = pfs_ctx_alloc(a->c, a->of->node, len, &d);
		if (!w)
			return;
		memcpy(w, buf + off, len);
		pfs_ctx_inject(a->c, a->of->node, &d, w);
	}
}

void fs_stream_write(fuse_req_t req, struct fs_open *of, const char *buf, size_t size)
{
	if (!of->writing) {
		fuse_reply_err(req, EBADF);
		return;
	}
	struct pfs_node *n = of->node;
	struct inject_arg a = { of, n->writer };
	char err[PFS_ERR_LEN];
	int rc = 0;
	/* One writer at a time: each ring has exactly one producer. */
	pthread_mutex_lock(&a.c->run_lock);
	fs_rcu_online();
	pfs_ctx_set_ended(a.c, false);
	if (of->file == FS_PCAP)
		rc = pfs_pcap_parse(&of->pcap_in, (const uint8_t *)buf, size,
				    inject_frame, &a, err, sizeof(err));
	else
		inject_bytes(&a, buf, size);
	pfs_ctx_flush(a.c);
	fs_rcu_offline();
	pthread_mutex_unlock(&a.c->run_lock);
	if (rc) {
		pfs_log("%s/pcap: write refused: %s", n->name, err);
		fuse_reply_err(req, -rc);
	} else {
		fuse_reply_write(req, size);
	}
}

void fs_stream_release(struct fs_open *of)
{
	pthread_mutex_lock(&of->lock);
	if (of->req) {
		fuse_reply_err(of->req, EINTR);
		of->req = NULL;
	}
	if (of->ph) {
		fuse_pollhandle_destroy(of->ph);
		of->ph = NULL;
	}
	if (of->armed) {
		bw_merge_unlisten(&of->merge);
		of->armed = false;
	}
	pthread_mutex_unlock(&of->lock);
	pfs_graph_lock();
	if (of->writing) {
		if (of->pcap_in.npending)
			pfs_log("%s/pcap: %zu bytes of an incomplete record dropped at close",
				of->node->name, of->pcap_in.npending);
		pfs_pcap_parser_fini(&of->pcap_in);
		pfs_node_writer_close(of->node);
	} else {
		pfs_node_reader_del(of->node, &of->stat);
	}
	pfs_graph_unlock();
}
