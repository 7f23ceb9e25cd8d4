/* SPDX-License-Identifier: BSD-3-Clause
 * pcap:FILE[,name=DIR][,loop][,start=now]: replay a pcap or pcapng file.
 *
 * A classic pcap file is replayed in place: the file is mapped read-only
 * as the source's data ring and descriptors point into it, so no byte is
 * copied.  A pcapng file, and a classic one whose records libpcap changes
 * as it reads them (pfs_pcap_rewritten: pseudo-headers of the other byte
 * order), goes through libpcap and each packet is copied into a data
 * ring, one that takes the link type's largest record (pfs_max_snaplen).
 * Either way replay is lossless (the file is read no
 * faster than the slowest reader inside the daemon takes the records) and
 * starts at the first open of a stream file below the source, or at once
 * with start=now.  A looping replay without start=now pauses while no
 * stream file below it is open.
 *
 * A mapped file may shrink while replayed, or after: bw_dbuf_wrap_file
 * turns the accesses past its new end into zeros and marks the file's
 * DBuf truncated, which makes all its records invalid for readers.  The
 * replay looks at that mark before each record and at the file's size every
 * PCAP_CHECK_EVERY records (and at each open below it): then it ends, and
 * says so in log.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bufs/dbuf.h"
#include "filters/filter.h"
#include "filters/graph/graph.h"
#include "filters/graph/producer.h"
#include "filters/log.h"
#include "filters/pcapng.h"
#include "filters/savefile.h"
#include "filters/sources/types.h"

/* Records between two looks at the readers and the file's size. */
#define PCAP_CHECK_EVERY 4096

struct pcap_source {
	char *path;
	bool loop;
	bool start_now;		/* replays whether read or not */
	int link_type;
	bool nanosec;		/* the file's timestamps are nanoseconds */
	uint64_t passes;	/* times the file was read to its end */
	uint64_t next_check;	/* s->packets at the next checkpoint */
	/* in place (classic pcap) */
	int fd;
	struct bw_dbuf *file;
	struct pfs_pcap_format fmt;
	uint64_t file_len;
	int wake;		/* eventfd: shrinking, an open, or stop */
	int inotify;		/* the file's changes, or -1 */
	pthread_t watcher;	/* marks the file as soon as it shrinks */
	bool replaying;		/* (atomic) for the log line */
	bool said_shrunk;	/* (atomic) the log line is out */
	/* through libpcap (pcapng, rewritten records) */
	pcap_t *pc;
};

/* Split off the options we know from the end of FILE[,opt]...: the file
 * name itself may hold commas. */
static int parse_opts(char *spec, struct pfs_source *s, struct pcap_source *p,
		      char *err, size_t errlen)
{
	char *comma;
	while ((comma = strrchr(spec, ','))) {
		const char *opt = comma + 1;
		if (strcmp(opt, "loop") == 0)
			p->loop = true;
		else if (strcmp(opt, "start=now") == 0)
			s->started = p->start_now = true;
		else if (strncmp(opt, "name=", 5) == 0 && opt[5]) {
			free(s->name);
			if (!(s->name = strdup(opt + 5))) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
		} else if (strncmp(opt, "start=", 6) == 0 || strncmp(opt, "name=", 5) == 0) {
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
 * file or one that cannot be replayed in place (libpcap then decides),
 * -EINVAL if it cannot be mapped. */
static int open_in_place(struct pcap_source *p, char *err, size_t errlen)
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
	    pfs_pcap_parse_header(&p->fmt, hdr, ignored, sizeof(ignored)) != 0 ||
	    pfs_pcap_rewritten(&p->fmt)) {
		close(p->fd);
		p->fd = -1;
		return 0;
	}
	p->file_len = (uint64_t)st.st_size;
	p->link_type = p->fmt.link_type;
	p->nanosec = p->fmt.nanosec;
	int rc = bw_dbuf_wrap_file(&p->file, p->fd, p->file_len);
	if (rc == 0 && (p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "%s: cannot map: %s", p->path, strerror(-rc));
		return -EINVAL;
	}
	bw_dbuf_notify_truncated(p->file, p->wake);
	/* Optional: it tells watch_file at once that the file was cut. */
	p->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (p->inotify >= 0 && inotify_add_watch(p->inotify, p->path, IN_MODIFY) < 0) {
		close(p->inotify);
		p->inotify = -1;
	}
	return 1;
}

/* The file's size now (as opened if it cannot be had). */
static uint64_t file_size(const struct pcap_source *p)
{
	struct stat st;
	return fstat(p->fd, &st) == 0 ? (uint64_t)st.st_size : p->file_len;
}

/* Has the mapped file shrunk (found by a fault, or by its size now)?  Its
 * DBuf is marked then: readers drop its records. */
static bool file_shrunk(struct pcap_source *p)
{
	if (!bw_dbuf_truncated(p->file) && file_size(p) < p->file_len)
		bw_dbuf_set_truncated(p->file);
	return bw_dbuf_truncated(p->file);
}

/* The one line in log about a file that shrank, during its replay or
 * after it: from whichever of the replay and the watcher sees it first. */
static void log_shrunk(struct pfs_source *s, struct pcap_source *p)
{
	if (__atomic_exchange_n(&p->said_shrunk, true, __ATOMIC_ACQ_REL))
		return;
	char when[64] = "after its replay";
	if (__atomic_load_n(&p->replaying, __ATOMIC_ACQUIRE))
		snprintf(when, sizeof(when), "while replayed: replay ended after %llu packets",
			 (unsigned long long)s->packets);
	pfs_log("%s: %s shrank to %llu bytes (was %llu) %s; records not read yet "
		"are dropped, readers get EOF", s->name, p->path,
		(unsigned long long)file_size(p), (unsigned long long)p->file_len, when);
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
	case 15:	/* DLT_SLIP_BSDOS */
		return 102;
	case 16:	/* DLT_PPP_BSDOS */
		return 103;
	case 19:	/* DLT_ATM_CLIP */
		return 106;
	default:
		return dlt;
	}
}

static void ignore_record(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	(void)arg, (void)d, (void)data;
}

/* Whether the first interface of a pcapng file (its first n bytes at b)
 * has timestamps finer than a microsecond (its if_tsresol), as the
 * pcapng parser of written streams reads it. */
static bool pcapng_nanosec(const uint8_t *b, size_t n)
{
	struct pfs_pcapng_parser p = { 0 };
	char ignored[PFS_ERR_LEN];
	bool nsec = pfs_pcapng_parse(&p, b, n, ignore_record, NULL, ignored,
				     sizeof(ignored)) == 0 &&
		    p.nifs > 0 && p.ifs[0].units > 1000000;
	pfs_pcapng_parser_fini(&p);
	return nsec;
}

/* Whether the file's timestamps are finer than a microsecond: libpcap,
 * asked for nanoseconds, does not tell whether the file has them. */
static bool file_nanosec(const char *path)
{
	uint8_t b[4096];
	char ignored[PFS_ERR_LEN];
	struct pfs_pcap_format f;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, b, sizeof(b), 0) : -1;
	if (fd >= 0)
		close(fd);
	if (n >= PFS_PCAP_GLOBAL_LEN &&
	    pfs_pcap_parse_header(&f, b, ignored, sizeof(ignored)) == 0)
		return f.nanosec;
	return n > 0 && pcapng_nanosec(b, (size_t)n);
}

/* Timestamps in nanoseconds, as libpcap reads them at that precision. */
static int open_libpcap(struct pcap_source *p, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	p->pc = pcap_open_offline_with_tstamp_precision(p->path, PCAP_TSTAMP_PRECISION_NANO,
							perr);
	if (!p->pc) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	p->link_type = linktype_of(pcap_datalink(p->pc));
	if (p->link_type > UINT16_MAX) {	/* reserved bits set: see savefile.h */
		snprintf(err, errlen, "%s: link type 0x%x: reserved bits set", p->path,
			 (unsigned)p->link_type);
		return -EINVAL;
	}
	p->nanosec = file_nanosec(p->path);
	return 0;
}

/* After each packet: the producer lets others in between batches. */
static void next_packet(struct pfs_source *s)
{
	s->packets++;
	pfs_producer_yield(s->producer);
}

/* Before a record, every PCAP_CHECK_EVERY: a looping replay nobody reads
 * pauses (outside its run) until someone does; a mapped file that shrank
 * ends the replay.  False: the replay ends. */
static bool checkpoint(struct pfs_source *s, struct pcap_source *p)
{
	bool go = true;
	p->next_check = s->packets + PCAP_CHECK_EVERY;
	if (p->loop && !p->start_now) {
		pfs_producer_end(s->producer);
		go = pfs_source_pause_unread(s);
		pfs_producer_begin(s->producer);
	}
	return go && !(p->file && file_shrunk(p));
}

static bool may_inject(struct pfs_source *s, struct pcap_source *p)
{
	return s->packets < p->next_check || checkpoint(s, p);
}

/* One pass over a mapped file.  Positions grow by the ring size per pass,
 * so every record of every pass has its own position.  False: the replay
 * ends (the file shrank, or the source stops). */
static bool pass_in_place(struct pfs_source *s, struct pcap_source *p)
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
		/* The header just read may lie past a new end: then it read
		 * zeros (an empty record), or faulted and the DBuf is marked. */
		if (bw_dbuf_truncated(p->file) || (d.len == 0 && file_shrunk(p)) ||
		    !may_inject(s, p))
			return false;
		d.dbuf = p->file->id;
		d.pos = base + off + p->fmt.record_hdr;
		s->bytes += d.len;
		pfs_producer_inject(s->producer, s->node, &d, map + off + p->fmt.record_hdr);
		off += size;
		next_packet(s);
	}
	if (rc < 0)
		pfs_log("%s: %s at offset %llu", s->name, err, (unsigned long long)off);
	else if (rc == 0 && off < p->file_len)
		pfs_log("%s: %s: truncated record at offset %llu", s->name, p->path,
			(unsigned long long)off);
	return !pfs_source_stopping(s);
}

/* One pass through libpcap (reopened for the next one).  False: the
 * replay ends. */
static bool pass_libpcap(struct pfs_source *s, struct pcap_source *p)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc;
	while (!pfs_source_stopping(s) && (rc = pcap_next_ex(p->pc, &h, &bytes)) == 1) {
		if (!may_inject(s, p))
			return false;
		struct pfs_desc d = pfs_pcap_libpcap_desc(h, p->link_type, p->nanosec);
		uint8_t *w = pfs_producer_alloc(s->producer, s->node, h->caplen, &d);
		if (w) {	/* else counted as lost in the node's drops */
			memcpy(w, bytes, h->caplen);
			s->bytes += h->caplen;
			pfs_producer_inject(s->producer, s->node, &d, w);
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
	return !pfs_source_stopping(s) && p->pc;
}

/* Returns false if the replay ended early (the file shrank, or stop). */
static bool replay(struct pfs_source *s, struct pcap_source *p)
{
	bool whole;
	pfs_producer_begin(s->producer);
	do {
		whole = p->file ? pass_in_place(s, p) : pass_libpcap(s, p);
		p->passes += whole;
	} while (whole && p->loop);
	pfs_producer_end(s->producer);
	return whole;
}

static void drain(int fd)
{
	char buf[4096];
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		continue;
}

/* The watcher's thread.  Readers read the mapped file during the replay
 * and after it, and the replay may be blocked waiting for one of them:
 * until the stop, mark the file as soon as it shrinks (the change, or a
 * reader's fault, wakes us), so that no reader takes the zeros that
 * stand past its new end in its last page, and say so in log. */
static void *watch_file(void *arg)
{
	struct pfs_source *s = arg;
	struct pcap_source *p = s->priv;
	struct pollfd fds[2] = { { p->wake, POLLIN, 0 }, { p->inotify, POLLIN, 0 } };
	pthread_setname_np(pthread_self(), "pfs-filewatch");
	while (!pfs_source_stopping(s)) {
		if (file_shrunk(p)) {
			log_shrunk(s, p);
			break;
		}
		if (poll(fds, p->inotify >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		drain(p->wake);
		drain(p->inotify);
	}
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *pcap_source_run(void *arg)
{
	struct pfs_source *s = arg;
	struct pcap_source *p = s->priv;
	struct timespec t0;
	pthread_setname_np(pthread_self(), "pfs-replay");
	pfs_graph_thread_register();
	/* A mapped file is its own data ring: only libpcap's records copy. */
	if (!p->file)
		pfs_producer_set_max_record(s->producer, pfs_max_snaplen(p->link_type));
	int rc = pfs_producer_attach(s->producer, s->node, !p->file);
	if (rc == 0 && p->file)
		rc = pfs_producer_share(s->producer, p->file);
	if (rc)
		pfs_log("%s: no memory for the source's rings", s->name);
	bool watching = rc == 0 && p->file &&
			pthread_create(&p->watcher, NULL, watch_file, s) == 0;
	if (rc == 0 && pfs_source_wait_start(s)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		__atomic_store_n(&p->replaying, true, __ATOMIC_RELEASE);
		if (!replay(s, p) && p->file && file_shrunk(p))
			log_shrunk(s, p);
		else
			pfs_log("%s: replay of %s ended after %llu packets in %.6f s", s->name,
				p->path, (unsigned long long)s->packets, seconds_since(&t0));
		__atomic_store_n(&p->replaying, false, __ATOMIC_RELEASE);
	}
	pfs_producer_set_ended(s->producer, true);
	if (watching)
		pthread_join(p->watcher, NULL);	/* it ends at the stop */
	pfs_graph_thread_unregister();
	return NULL;
}

static void pcap_source_stats(struct pfs_source *s, FILE *out)
{
	struct pcap_source *p = s->priv;
	fprintf(out, "source: pcap:%s\nreplay: %s\nlink_type: %d\n"
		"packets_read: %llu\npasses: %llu\n", p->path,
		p->file ? "in place" : "copied (libpcap)", p->link_type,
		(unsigned long long)s->packets, (unsigned long long)p->passes);
}

/* Before a new reader reads: a mapped file that shrank is marked, so the
 * reader drops its records rather than read zeros.  Wakes watch_file. */
static void pcap_source_wake(struct pfs_source *s)
{
	struct pcap_source *p = s->priv;
	if (!p->file)
		return;
	file_shrunk(p);
	eventfd_write(p->wake, 1);
}

static void pcap_source_close(struct pfs_source *s)
{
	struct pcap_source *p = s->priv;
	if (p->pc)
		pcap_close(p->pc);
	bw_dbuf_destroy(p->file);
	if (p->fd >= 0)
		close(p->fd);
	if (p->wake >= 0)
		close(p->wake);
	if (p->inotify >= 0)
		close(p->inotify);
	free(p->path);
	free(p);
}

/* FILE[,name=DIR][,loop][,start=now]: the file opened (or mapped) now. */
static int pcap_source_open(struct pfs_source *s, const char *args, char *err, size_t errlen)
{
	struct pcap_source *p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(args))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->fd = p->wake = p->inotify = -1;
	s->priv = p;
	int rc = parse_opts(p->path, s, p, err, errlen);
	if (rc == 0 && !p->path[0]) {
		snprintf(err, errlen, "pcap source: no file given");
		rc = -EINVAL;
	}
	if (rc == 0 && (rc = open_in_place(p, err, errlen)) == 0)
		rc = open_libpcap(p, err, errlen);
	if (rc < 0)
		return rc;
	if (!s->name && !(s->name = stem(p->path))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

const struct pfs_source_type pfs_pcap_type = {
	.prefix = "pcap:",
	.usage = "pcap:FILE[,name=DIR][,loop][,start=now]",
	.summary = "replay a pcap or pcapng file",
	.lossless = true,
	.open = pcap_source_open,
	.run = pcap_source_run,
	.stats = pcap_source_stats,
	.wake = pcap_source_wake,
	.close = pcap_source_close,
};
