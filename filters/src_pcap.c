/* SPDX-License-Identifier: BSD-3-Clause
 * pcap:FILE[,name=DIR][,loop][,start=now]: replay a pcap or pcapng file.
 *
 * A classic pcap file is replayed in place: the file is mapped read-only
 * as the source's data ring and descriptors point into it, so no byte is
 * copied.  A pcapng file goes through libpcap and each packet is copied
 * into a data ring.  Either way replay is lossless (the file is read no
 * faster than the slowest reader inside the daemon takes the records) and
 * starts at the first open of a stream file below the source, or at once
 * with start=now.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "log.h"
#include "pcapio.h"
#include "source.h"

struct pcap_src {
	char *path;
	bool loop;
	int link_type;
	uint64_t passes;	/* times the file was read to its end */
	/* in place (classic pcap) */
	int fd;
	struct bw_dbuf *file;
	struct pfs_pcap_format fmt;
	uint64_t file_len;
	/* through libpcap (pcapng) */
	pcap_t *pc;
};

/* Split off the options we know from the end of FILE[,opt]...: the file
 * name itself may hold commas. */
static int parse_opts(char *spec, struct pcap_src *p, char **name, bool *now,
		      char *err, size_t errlen)
{
	char *comma;
	while ((comma = strrchr(spec, ','))) {
		const char *opt = comma + 1;
		if (strcmp(opt, "loop") == 0)
			p->loop = true;
		else if (strcmp(opt, "start=now") == 0)
			*now = true;
		else if (strncmp(opt, "name=", 5) == 0 && opt[5])
			*name = strdup(opt + 5);
		else if (strncmp(opt, "start=", 6) == 0 || strncmp(opt, "name=", 5) == 0) {
			snprintf(err, errlen, "pcap source: bad option '%s'", opt);
			return -EINVAL;
		} else
			break;	/* part of the file name */
		*comma = '\0';
	}
	return 0;
}

/* The file's stem: `/x/y/http-small.pcap` names its directory `http-small`. */
static char *stem(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *base = strdup(basename(copy));
	free(copy);
	char *dot = base ? strchr(base, '.') : NULL;
	if (dot && dot != base)
		*dot = '\0';
	return base;
}

/* Classic pcap: map it.  Returns 1 if mapped, 0 if it is no classic pcap
 * file (libpcap then decides), -EINVAL on a bad header. */
static int open_in_place(struct pcap_src *p, char *err, size_t errlen)
{
	uint8_t hdr[PFS_PCAP_GLOBAL_LEN];
	struct stat st;
	p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0) {
		snprintf(err, errlen, "%s: %s", p->path, strerror(errno));
		return -EINVAL;
	}
	char ignored[PFS_ERR_LEN];
	if (fstat(p->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    pread(p->fd, hdr, sizeof(hdr), 0) != sizeof(hdr) ||
	    pfs_pcap_parse_header(&p->fmt, hdr, ignored, sizeof(ignored)) != 0) {
		close(p->fd);
		p->fd = -1;
		return 0;
	}
	p->file_len = (uint64_t)st.st_size;
	p->link_type = p->fmt.link_type;
	int rc = bw_dbuf_wrap_file(&p->file, p->fd, p->file_len);
	if (rc) {
		snprintf(err, errlen, "%s: cannot map: %s", p->path, strerror(-rc));
		return -EINVAL;
	}
	return 1;
}

/* libpcap speaks DLT values, files (and our pcap views) LINKTYPE ones;
 * they differ for a few, raw IP above all. */
static int linktype_of(int dlt)
{
	switch (dlt) {
	case 12:	/* DLT_RAW */
	case 14:	/* DLT_RAW on OpenBSD */
		return 101;
	case 11:	/* DLT_ATM_RFC1483 */
		return 100;
	default:
		return dlt;
	}
}

static int open_libpcap(struct pcap_src *p, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	p->pc = pcap_open_offline(p->path, perr);
	if (!p->pc) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	p->link_type = linktype_of(pcap_datalink(p->pc));
	return 0;
}

/* After each packet: between batches, let control threads in (backfill)
 * and announce a quiescent state. */
static void next_packet(struct pfs_source *s)
{
	if (++s->packets % PFS_FLUSH_BATCH)
		return;
	pfs_ctx_flush(s->ctx);
	pthread_mutex_unlock(&s->ctx->run_lock);
	rcu_quiescent_state();
	pthread_mutex_lock(&s->ctx->run_lock);
}

/* One pass over a mapped file.  Positions grow by the ring size per pass,
 * so every record of every pass has its own position. */
static void pass_in_place(struct pfs_source *s, struct pcap_src *p)
{
	const uint8_t *map = p->file->bytes;
	uint64_t off = PFS_PCAP_GLOBAL_LEN, base = p->passes * p->file->size;
	char err[PFS_ERR_LEN];
	struct pfs_desc d;
	size_t size;
	int rc = 0;
	while (!pfs_source_stopping(s) &&
	       (rc = pfs_pcap_parse_record(&p->fmt, map + off, p->file_len - off, &d,
					   &size, err, sizeof(err))) == 1) {
		d.dbuf = p->file->id;
		d.pos = base + off + PFS_PCAP_RECORD_HDR;
		s->bytes += d.len;
		pfs_ctx_inject(s->ctx, s->node, &d, map + off + PFS_PCAP_RECORD_HDR);
		off += size;
		next_packet(s);
	}
	if (rc < 0)
		pfs_log("%s: %s at offset %llu", s->name, err, (unsigned long long)off);
	else if (rc == 0 && off < p->file_len)
		pfs_log("%s: %s: truncated record at offset %llu", s->name, p->path,
			(unsigned long long)off);
}

static void pass_libpcap(struct pfs_source *s, struct pcap_src *p)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc;
	while (!pfs_source_stopping(s) && (rc = pcap_next_ex(p->pc, &h, &bytes)) == 1) {
		struct pfs_desc d = {
			.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
				 (uint64_t)h->ts.tv_usec * 1000ull,
			.wire_len = h->len,
			.kind = PFS_KIND_FRAME,
			.link_type = (uint16_t)p->link_type,
		};
		uint8_t *w = pfs_ctx_alloc(s->ctx, s->node, h->caplen, &d);
		if (w) {	/* else counted as lost in the node's drops */
			memcpy(w, bytes, h->caplen);
			s->bytes += h->caplen;
			pfs_ctx_inject(s->ctx, s->node, &d, w);
		}
		next_packet(s);
	}
	if (rc == -1)
		pfs_log("%s: %s: %s", s->name, p->path, pcap_geterr(p->pc));
	if (p->loop && !pfs_source_stopping(s)) {
		char err[PFS_ERR_LEN];
		pcap_close(p->pc);
		p->pc = NULL;
		if (open_libpcap(p, err, sizeof(err)) != 0)
			pfs_log("%s: reopening %s: %s", s->name, p->path, err);
	}
}

static void replay(struct pfs_source *s, struct pcap_src *p)
{
	pthread_mutex_lock(&s->ctx->run_lock);
	do {
		if (p->file)
			pass_in_place(s, p);
		else
			pass_libpcap(s, p);
		p->passes++;
	} while (p->loop && !pfs_source_stopping(s) && (p->file || p->pc));
	pfs_ctx_set_ended(s->ctx, true);
	pthread_mutex_unlock(&s->ctx->run_lock);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *run(void *arg)
{
	struct pfs_source *s = arg;
	struct pcap_src *p = s->priv;
	struct timespec t0;
	pthread_setname_np(pthread_self(), "pfs-replay");
	rcu_register_thread();
	int rc = pfs_ctx_prepare(s->ctx, s->node, !p->file);
	rcu_thread_offline();
	if (rc)
		pfs_log("%s: no memory for the source's rings", s->name);
	if (rc == 0 && pfs_source_wait_start(s)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rcu_thread_online();
		replay(s, p);
		rcu_thread_offline();
		pfs_log("%s: replay of %s ended after %llu packets in %.6f s", s->name,
			p->path, (unsigned long long)s->packets, seconds_since(&t0));
	} else {
		pfs_ctx_set_ended(s->ctx, true);
	}
	rcu_unregister_thread();
	return NULL;
}

static size_t stats(struct pfs_source *s, char *buf, size_t cap)
{
	struct pcap_src *p = s->priv;
	int n = snprintf(buf, cap, "source: pcap:%s\nreplay: %s\nlink_type: %d\n"
			 "packets_read: %llu\npasses: %llu\n", p->path,
			 p->file ? "in place" : "copied (libpcap)", p->link_type,
			 (unsigned long long)s->packets, (unsigned long long)p->passes);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
}

static void pcap_src_free(struct pcap_src *p)
{
	if (!p)
		return;
	if (p->pc)
		pcap_close(p->pc);
	bw_dbuf_destroy(p->file);
	if (p->fd >= 0)
		close(p->fd);
	free(p->path);
	free(p);
}

static void source_free(struct pfs_source *s)
{
	pcap_src_free(s->priv);
}

static const struct pfs_source_ops pcap_ops = {
	.kind = "pcap",
	.run = run,
	.stats = stats,
	.free = source_free,
};

static struct pcap_src *pcap_src_open(char *path, char *err, size_t errlen)
{
	struct pcap_src *p = calloc(1, sizeof(*p));
	if (!p) {
		free(path);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->fd = -1;
	p->path = path;
	int rc = open_in_place(p, err, errlen);
	if (rc == 0)
		rc = open_libpcap(p, err, errlen);
	if (rc < 0) {
		pcap_src_free(p);
		return NULL;
	}
	return p;
}

struct pfs_source *pfs_source_pcap_new(const char *spec, char *err, size_t errlen)
{
	char *path = strdup(spec), *name = NULL;
	bool now = false, loop = false;
	struct pcap_src opts = { 0 };
	if (!path || parse_opts(path, &opts, &name, &now, err, errlen) != 0 || !path[0]) {
		if (path && !path[0])
			snprintf(err, errlen, "pcap source: no file given");
		free(path);
		free(name);
		return NULL;
	}
	loop = opts.loop;
	struct pcap_src *p = pcap_src_open(path, err, errlen);
	if (!p) {
		free(name);
		return NULL;
	}
	p->loop = loop;
	if (!name)
		name = stem(p->path);
	struct pfs_source *s = pfs_source_alloc(&pcap_ops, name ? name : "pcap", true);
	free(name);
	if (!s) {
		snprintf(err, errlen, "out of memory (or too many sources)");
		pcap_src_free(p);
		return NULL;
	}
	s->priv = p;
	s->started = now;
	return s;
}
