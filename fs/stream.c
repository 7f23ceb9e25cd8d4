/* SPDX-License-Identifier: BSD-3-Clause
 * The stream files all, new, pcap and pcapng: reading follows the node's rings
 * (a reader, reader.h), writing injects records at the node as its writer
 * producer (producer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/filter.h"
#include "filters/graph/producer.h"
#include "filters/limits.h"
#include "filters/log.h"
#include "fs/fs.h"

static uint32_t next_flow;

/* ---- reading ------------------------------------------------------------ */

_Static_assert(PFS_PCAP_GLOBAL_LEN <= PFS_PCAPNG_SHB_LEN, "fs_open.header holds both");

/* A capture-file view (pcap, pcapng) rather than a byte stream. */
static bool is_view(const struct fs_open *of)
{
	return of->file == FS_PCAP || of->file == FS_PCAPNG;
}

static const char *view_name(const struct fs_open *of)
{
	return of->file == FS_PCAPNG ? "pcapng" : "pcap";
}

/* A view's header: pcapng's SHB at once; pcap's global header with the
 * link type and precision of the first record (or, at EOF with no
 * record, Ethernet in microseconds).  False while it cannot be known. */
static bool view_header(struct fs_open *of)
{
	struct pfs_desc first = { .kind = PFS_KIND_FRAME, .link_type = PFS_LINKTYPE_ETHERNET };
	if (of->file == FS_PCAPNG) {
		pfs_pcapng_shb(of->header);
		of->header_len = PFS_PCAPNG_SHB_LEN;
		return true;
	}
	if (!pfs_reader_peek(of->reader, &first) && !pfs_reader_eof(of->reader))
		return false;
	pfs_pcap_view_of(&of->pcap, &first);
	pfs_pcap_global_header(of->header, &of->pcap);
	of->header_len = PFS_PCAP_GLOBAL_LEN;
	return true;
}

/* Copy what is left of the view's header (up to cap bytes) to out; 0
 * while it cannot be known. */
static size_t header(struct fs_open *of, uint8_t *out, size_t cap)
{
	if (!of->header_len && !view_header(of))
		return 0;
	size_t n = of->header_len - of->header_sent;
	n = n < cap ? n : cap;
	memcpy(out, of->header + of->header_sent, n);
	of->header_sent += n;
	return n;
}

/* A classic pcap stream has one link type: a record of another is left
 * out of the view (it stays in `all` and `pcapng`), counted, and the
 * first says so in log. */
static void pcap_frame(const struct pfs_desc *d, const uint8_t *data, size_t input,
		       struct bw_frame *f, void *arg)
{
	struct fs_open *of = arg;
	(void)input;
	pfs_pcap_frame(&of->pcap, d, data, f);
}

static void pcap_taken(const struct pfs_desc *d, size_t input, const struct bw_frame *f,
		       void *arg)
{
	struct fs_open *of = arg;
	(void)input;
	if (f->skip && of->pcap_left_out++ == 0)
		pfs_log("%s/pcap: a record of link type %d left out: this view is link "
			"type %d (its first record's); `pcapng` and `all` have every record",
			pfs_node_name(of->node), pfs_pcap_link_type(d), of->pcap.link_type);
}

/* The origin of the reader's input (pfs_reader_origin), looked up once
 * per input; 0 when it cannot be had. */
static uint64_t input_origin(struct fs_open *of, size_t input)
{
	if (input >= of->norigins) {
		uint64_t *o = realloc(of->origins, (input + 1) * sizeof(*o));
		if (!o)
			return 0;
		memset(o + of->norigins, 0, (input + 1 - of->norigins) * sizeof(*o));
		of->origins = o;
		of->norigins = input + 1;
	}
	if (!of->origins[input]) {
		char name[NAME_MAX + 1];
		of->origins[input] = pfs_reader_origin(of->reader, input, name, sizeof(name));
	}
	return of->origins[input];
}

/* The pcapng view: an IDB before the first record of each interface (one
 * per origin: a live source's workers are one). */
static void pcapng_frame(const struct pfs_desc *d, const uint8_t *data, size_t input,
			 struct bw_frame *f, void *arg)
{
	struct fs_open *of = arg;
	int id = pfs_pcapng_interface(&of->pcapng, input_origin(of, input), d);
	if (id < 0) {
		f->skip = true;		/* no memory: it cannot be described */
		pfs_log("%s/pcapng: a record left out: out of memory", pfs_node_name(of->node));
		return;
	}
	if ((size_t)id == of->pcapng.n) {
		char origin[NAME_MAX + 1], description[2 * NAME_MAX];
		pfs_reader_origin(of->reader, input, origin, sizeof(origin));
		snprintf(description, sizeof(description), "pipesfs: records of %s read at %s",
			 origin[0] ? origin : "a producer gone", pfs_node_name(of->node));
		f->head_len = pfs_pcapng_idb(d, origin, description, f->head);
	}
	pfs_pcapng_epb((uint32_t)id, d, data, f);
}

static void pcapng_taken(const struct pfs_desc *d, size_t input, const struct bw_frame *f,
			 void *arg)
{
	struct fs_open *of = arg;
	if (!f->skip)
		pfs_pcapng_taken(&of->pcapng, input_origin(of, input), d);
}

/* Fill of->buf with up to size bytes (of->lock held).  *eof: nothing more
 * will come.  -ENOMEM when there is no buffer for it. */
static ssize_t fill(struct fs_open *of, size_t size, bool *eof)
{
	*eof = false;
	if (size > of->buf_cap) {
		uint8_t *b = realloc(of->buf, size);
		if (!b)
			return -ENOMEM;
		of->buf = b;
		of->buf_cap = size;
	}
	size_t n = 0;
	if (is_view(of) && (!of->header_len || of->header_sent < of->header_len) &&
	    !(n = header(of, of->buf, size)))
		return 0;
	n += pfs_reader_copy(of->reader, of->buf + n, size - n);
	if (n == 0)
		*eof = pfs_reader_eof(of->reader);
	return (ssize_t)n;
}

/* Answer req from the reader if there is something (or EOF) to answer
 * with; true if answered. */
static bool answer(fuse_req_t req, struct fs_open *of, size_t size)
{
	bool eof;
	ssize_t n = fill(of, size, &eof);
	if (n < 0)
		fuse_reply_err(req, -n);
	else if (n > 0 || eof)
		fuse_reply_buf(req, (const char *)of->buf, (size_t)n);
	return n != 0 || eof;
}

/* A parked item's retry (the parker's thread). */
static bool retry(struct fs_parked *p)
{
	struct fs_open *of = (struct fs_open *)((char *)p - offsetof(struct fs_open, park));
	pthread_mutex_lock(&of->lock);
	if (of->reader && !of->listening && (of->req || of->ph))
		of->listening = pfs_reader_listen(of->reader, fs_park_eventfd()) == 0;
	if (of->req && fuse_req_interrupted(of->req)) {
		fuse_reply_err(of->req, EINTR);
		of->req = NULL;
	} else if (of->req && answer(of->req, of, of->req_size)) {
		of->req = NULL;
	}
	if (of->ph && pfs_reader_ready(of->reader)) {
		fuse_lowlevel_notify_poll(of->ph);
		fuse_pollhandle_destroy(of->ph);
		of->ph = NULL;
	}
	bool done = !of->req && !of->ph;
	if (done && of->listening) {
		pfs_reader_unlisten(of->reader);
		of->listening = false;
	}
	if (done)
		of->park.on_list = false;
	pthread_mutex_unlock(&of->lock);
	return done;
}

static void park_put(struct fs_parked *p)
{
	fs_open_put((struct fs_open *)((char *)p - offsetof(struct fs_open, park)));
}

/* With of->lock held. */
static void park(struct fs_open *of)
{
	fs_open_get(of);
	fs_park_add(&of->park);
}

static void release(struct fs_open *of);

int fs_stream_open(struct fs_open *of, int flags, bool holds)
{
	int acc = flags & O_ACCMODE;
	of->park.retry = retry;
	of->park.put = park_put;
	of->release = release;
	if (acc == O_RDWR)
		return -EINVAL;	/* a stream is read or written, not both */
	if (acc == O_WRONLY) {
		int rc = pfs_node_writer_open(of->node, &of->writer);
		if (rc == 0)
			of->flow = __atomic_add_fetch(&next_flow, 1, __ATOMIC_RELAXED);
		return rc;
	}
	struct bw_framing framing = { pcap_frame, pcap_taken, of };
	if (of->file == FS_PCAPNG)
		framing = (struct bw_framing){ pcapng_frame, pcapng_taken, of };
	of->reader = pfs_reader_open(of->node, of->file == FS_NEW, holds,
				     is_view(of) ? &framing : NULL);
	return of->reader ? 0 : -ENOMEM;
}

/*
 * The kernel interrupts a parked read (Ctrl-C on cat): the parker answers
 * it.  The callback gets no pointer to the open file, which the read's
 * answer and the file's release may free while libfuse is calling us.
 */
static void on_interrupt(fuse_req_t req, void *arg)
{
	(void)req;
	(void)arg;
	fs_park_kick();
}

void fs_stream_read(fuse_req_t req, struct fs_open *of, size_t size, int flags)
{
	if (of->writer) {
		fuse_reply_err(req, EBADF);
		return;
	}
	fuse_req_interrupt_func(req, on_interrupt, NULL);
	pthread_mutex_lock(&of->lock);
	if (!of->reader) {
		fuse_reply_err(req, EBADF);	/* released under us */
	} else if (of->req) {
		/* One read at a time per open file: a second one waits its turn
		 * the way a pipe's second reader would, by failing softly. */
		fuse_reply_err(req, EAGAIN);
	} else if (answer(req, of, size)) {
		/* answered */
	} else if (flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);	/* as a FIFO with no data */
	} else if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
	} else {
		of->req = req;
		of->req_size = size;
		park(of);
	}
	pthread_mutex_unlock(&of->lock);
}

void fs_stream_poll(fuse_req_t req, struct fs_open *of, struct fuse_pollhandle *ph)
{
	if (of->writer) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLOUT);
		return;
	}
	pthread_mutex_lock(&of->lock);
	bool readable = !of->reader || pfs_reader_ready(of->reader);
	if (!readable && ph) {
		if (of->ph)
			fuse_pollhandle_destroy(of->ph);
		of->ph = ph;
		park(of);
	} else if (ph) {
		fuse_pollhandle_destroy(ph);
	}
	pthread_mutex_unlock(&of->lock);
	fuse_reply_poll(req, readable ? POLLIN : 0);
}

/* ---- writing ------------------------------------------------------------ */

struct inject_arg {
	struct fs_open *of;
	struct pfs_producer *p;
	int err;		/* why a record could not be stored (-errno) */
	size_t stored;		/* records (pcap) or bytes stored before that */
};

/* Copy a record of len bytes into the writer's ring at the node and
 * publish it there: 0, or -errno (descriptors, memory, teardown). */
static int inject(struct inject_arg *a, struct pfs_desc *d, const void *data,
		  uint32_t len)
{
	uint8_t *w = pfs_producer_alloc(a->p, a->of->node, len, d);
	if (!w)
		return -errno;
	memcpy(w, data, len);
	int rc = pfs_producer_inject(a->p, a->of->node, d, w);
	pfs_producer_yield(a->p);	/* a long write lets others in, too */
	return rc;
}

/* One record from a written pcap or pcapng stream.  Once one fails, the rest of the
 * write is not stored either. */
static void inject_frame(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	struct inject_arg *a = arg;
	struct pfs_desc rec = *d;
	rec.flow_hash = a->of->flow;
	/* Before the writer's first record makes its ring: big enough for
	 * the longest record of this link type (D-Bus, USBPcap). */
	pfs_producer_set_max_record(a->p, pfs_max_snaplen(d->link_type));
	if (!a->err && !(a->err = inject(a, &rec, data, d->len)))
		a->stored++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A written byte stream is cut into records of at most 64 KiB: the ring
 * a writer copies into takes records of up to PFS_PCAP_MAX_RECORD, however
 * small --ring-size is, so each chunk fits (PFS_STREAM_CHUNK). */
static void inject_bytes(struct inject_arg *a, const char *buf, size_t size)
{
	for (size_t off = 0; off < size && !a->err; off += PFS_STREAM_CHUNK) {
		size_t left = size - off;
		uint32_t len = (uint32_t)(left < PFS_STREAM_CHUNK ? left : PFS_STREAM_CHUNK);
		struct pfs_desc d = {
			.ts_ns = now_ns(), .wire_len = len, .flow_hash = a->of->flow,
			.kind = PFS_KIND_STREAM,
		};
		if (!(a->err = inject(a, &d, buf + off, len)))
			a->stored += len;
	}
}

/*
 * A write whose records could not all be stored: never a success.  A byte
 * stream's write that stored some returns that much (a short write: the
 * next one gets the error, as POSIX has it); a pcap stream's write fails,
 * the records before the failing one having gone in.  The log says why.
 */
static void reply_failed(fuse_req_t req, struct fs_open *of, const struct inject_arg *a,
			 size_t size)
{
	const char *name = pfs_node_name(of->node);
	if (is_view(of)) {
		pfs_log("%s/%s: write failed after %zu of its records: %s", name,
			view_name(of), a->stored, strerror(-a->err));
		fuse_reply_err(req, -a->err);
		return;
	}
	pfs_log("%s: write failed after %zu of %zu bytes: %s", name, a->stored, size,
		strerror(-a->err));
	if (a->stored)
		fuse_reply_write(req, a->stored);
	else
		fuse_reply_err(req, -a->err);
}

void fs_stream_write(fuse_req_t req, struct fs_open *of, const char *buf, size_t size)
{
	if (!of->writer) {
		fuse_reply_err(req, EBADF);
		return;
	}
	struct inject_arg a = { of, of->writer, 0, 0 };
	char err[PFS_ERR_LEN];
	int rc = 0;
	fs_rcu_register();
	/* One write at a time: each ring has exactly one producer. */
	pfs_producer_begin(a.p);
	if (of->file == FS_PCAP)
		rc = pfs_pcap_parse(&of->pcap_in, (const uint8_t *)buf, size,
				    inject_frame, &a, err, sizeof(err));
	else if (of->file == FS_PCAPNG)
		rc = pfs_pcapng_parse(&of->pcapng_in, (const uint8_t *)buf, size,
				      inject_frame, &a, err, sizeof(err));
	else
		inject_bytes(&a, buf, size);
	pfs_producer_end(a.p);
	if (rc) {
		pfs_log("%s/%s: write refused: %s", pfs_node_name(of->node), view_name(of),
			rc == -EINVAL ? err : strerror(-rc));
		fuse_reply_err(req, -rc);
	} else if (a.err) {
		reply_failed(req, of, &a, size);
	} else {
		fuse_reply_write(req, size);
	}
}

/* The file's close (of->release): a parked request is answered, the
 * reader goes (it holds no producer back any more), a writer closes. */
static void release(struct fs_open *of)
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
	if (of->listening) {
		pfs_reader_unlisten(of->reader);
		of->listening = false;
	}
	if (of->pcap_left_out > 1)
		pfs_log("%s/pcap: %llu records of other link types were left out of a view; "
			"`pcapng` has them", pfs_node_name(of->node),
			(unsigned long long)of->pcap_left_out);
	pfs_pcapng_view_fini(&of->pcapng);
	free(of->origins);
	of->origins = NULL;
	of->norigins = 0;
	if (of->reader) {
		pfs_reader_close(of->reader);
		of->reader = NULL;
	}
	pthread_mutex_unlock(&of->lock);
	if (of->writer) {
		size_t pending = of->pcap_in.npending + of->pcapng_in.npending;
		if (pending)
			pfs_log("%s/%s: %zu bytes of an incomplete record dropped at close",
				pfs_node_name(of->node), view_name(of), pending);
		pfs_pcap_parser_fini(&of->pcap_in);
		pfs_pcapng_parser_fini(&of->pcapng_in);
		pfs_graph_lock();
		pfs_node_writer_close(of->node);
		pfs_graph_unlock();
	}
}
