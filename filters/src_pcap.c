/* SPDX-License-Identifier: BSD-3-Clause
 * pcap:FILE[,name=DIR][,loop][,start=now]: replay a pcap or pcapng file.
 * Lossless: the file is read no faster than the slowest reader inside the
 * daemon takes the records.  Replay starts at the first open of a stream
 * file below the source, or at once with start=now.
 */
#include <errno.h>
#include <libgen.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "log.h"
#include "source.h"

struct pcap_src {
	char *path;
	bool loop;
	pcap_t *pc;
	int link_type;
	uint64_t passes;	/* times the file was read to its end */
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

static int open_file(struct pcap_src *p, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	p->pc = pcap_open_offline(p->path, perr);
	if (!p->pc) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	p->link_type = pcap_datalink(p->pc);
	return 0;
}

static void produce(struct pfs_source *s, const struct pcap_pkthdr *h,
		    const uint8_t *bytes, int link_type)
{
	struct pfs_desc d = {
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
			 (uint64_t)h->ts.tv_usec * 1000ull,
		.wire_len = h->len,
		.kind = PFS_KIND_FRAME,
		.link_type = (uint16_t)link_type,
	};
	uint8_t *w = pfs_ctx_alloc(s->ctx, s->node, h->caplen, &d);
	if (!w)
		return;		/* counted as lost in the node's drops */
	memcpy(w, bytes, h->caplen);
	pfs_ctx_inject(s->ctx, s->node, &d, w);
	s->packets++;
	s->bytes += h->caplen;
}

/* One pass over the file.  Returns false when the thread should end. */
static bool replay(struct pfs_source *s, struct pcap_src *p)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc;
	pthread_mutex_lock(&s->ctx->run_lock);
	while (!pfs_source_stopping(s) && (rc = pcap_next_ex(p->pc, &h, &bytes)) == 1) {
		produce(s, h, bytes, p->link_type);
		if (s->packets % PFS_FLUSH_BATCH == 0) {
			/* Between batches: control threads may backfill. */
			pfs_ctx_flush(s->ctx);
			pthread_mutex_unlock(&s->ctx->run_lock);
			rcu_quiescent_state();
			pthread_mutex_lock(&s->ctx->run_lock);
		}
	}
	pfs_ctx_flush(s->ctx);
	pthread_mutex_unlock(&s->ctx->run_lock);
	if (pfs_source_stopping(s))
		return false;
	if (rc == -1)
		pfs_log("%s: %s: %s", s->name, p->path, pcap_geterr(p->pc));
	p->passes++;
	if (rc != PCAP_ERROR_BREAK || !p->loop)
		return false;	/* an error, or the end of a single pass */
	char err[PCAP_ERRBUF_SIZE];
	pcap_close(p->pc);
	p->pc = NULL;
	if (open_file(p, err, sizeof(err)) != 0) {
		pfs_log("%s: reopening %s: %s", s->name, p->path, err);
		return false;
	}
	return true;
}

static void *run(void *arg)
{
	struct pfs_source *s = arg;
	struct pcap_src *p = s->priv;
	rcu_register_thread();
	rcu_thread_offline();
	if (pfs_source_wait_start(s)) {
		rcu_thread_online();
		while (replay(s, p))
			;
		rcu_thread_offline();
	}
	pthread_mutex_lock(&s->ctx->run_lock);
	pfs_ctx_set_ended(s->ctx, true);
	pthread_mutex_unlock(&s->ctx->run_lock);
	pfs_log("%s: replay of %s ended after %llu packets", s->name, p->path,
		(unsigned long long)s->packets);
	rcu_unregister_thread();
	return NULL;
}

static size_t stats(struct pfs_source *s, char *buf, size_t cap)
{
	struct pcap_src *p = s->priv;
	int n = snprintf(buf, cap, "source: pcap:%s\nlink_type: %d\npackets_read: %llu\n"
			 "passes: %llu\n", p->path, p->link_type,
			 (unsigned long long)s->packets, (unsigned long long)p->passes);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
}

static void pcap_free(struct pfs_source *s)
{
	struct pcap_src *p = s->priv;
	if (!p)
		return;
	if (p->pc)
		pcap_close(p->pc);
	free(p->path);
	free(p);
}

static const struct pfs_source_ops pcap_ops = {
	.kind = "pcap",
	.run = run,
	.stats = stats,
	.free = pcap_free,
};

struct pfs_source *pfs_source_pcap_new(const char *spec, char *err, size_t errlen)
{
	struct pcap_src *p = calloc(1, sizeof(*p));
	char *path = strdup(spec), *name = NULL;
	bool now = false;
	struct pfs_source *s = NULL;
	if (!p || !path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (parse_opts(path, p, &name, &now, err, errlen) != 0)
		goto fail;
	p->path = path;
	path = NULL;
	if (!p->path[0]) {
		snprintf(err, errlen, "pcap source: no file given");
		goto fail;
	}
	if (open_file(p, err, errlen) != 0)
		goto fail;
	if (!name)
		name = stem(p->path);
	s = pfs_source_alloc(&pcap_ops, name ? name : "pcap", true);
	if (!s) {
		snprintf(err, errlen, "out of memory (or too many sources)");
		goto fail;
	}
	s->priv = p;
	s->started = now;
	free(name);
	return s;
fail:
	if (p && p->pc)
		pcap_close(p->pc);
	if (p)
		free(p->path);
	free(p);
	free(path);
	free(name);
	return NULL;
}
