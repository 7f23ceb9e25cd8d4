/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/savefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du

static uint32_t get32(const struct pfs_pcap_format *f, const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return f->swapped ? __builtin_bswap32(v) : v;
}

int pfs_pcap_parse_header(struct pfs_pcap_format *f, const uint8_t *b,
			  char *err, size_t errlen)
{
	uint32_t magic;
	memcpy(&magic, b, 4);
	f->swapped = magic == __builtin_bswap32(MAGIC_USEC) ||
		     magic == __builtin_bswap32(MAGIC_NSEC);
	magic = get32(f, b);
	if (magic != MAGIC_USEC && magic != MAGIC_NSEC) {
		snprintf(err, errlen, "not a pcap stream (magic 0x%08x)", magic);
		return -EINVAL;
	}
	f->nanosec = magic == MAGIC_NSEC;
	uint16_t major;
	memcpy(&major, b + 4, 2);
	if ((f->swapped ? __builtin_bswap16(major) : major) != 2) {
		snprintf(err, errlen, "unsupported pcap version");
		return -EINVAL;
	}
	f->link_type = (int)(get32(f, b + 20) & 0xffff);
	/* As libpcap: a snapshot length of 0 or above the maximum means the
	 * maximum. */
	f->snaplen = get32(f, b + 16);
	if (f->snaplen == 0 || f->snaplen > PFS_PCAP_MAX_RECORD)
		f->snaplen = PFS_PCAP_MAX_RECORD;
	return 0;
}

int pfs_pcap_parse_record(const struct pfs_pcap_format *f, const uint8_t *b,
			  size_t len, struct pfs_desc *d, size_t *size,
			  char *err, size_t errlen)
{
	if (len < PFS_PCAP_RECORD_HDR)
		return 0;
	uint32_t caplen = get32(f, b + 8), wire = get32(f, b + 12);
	if (caplen > PFS_PCAP_MAX_RECORD) {
		snprintf(err, errlen, "pcap record of %u bytes refused (at most %u)",
			 caplen, PFS_PCAP_MAX_RECORD);
		return -EINVAL;
	}
	if (len - PFS_PCAP_RECORD_HDR < caplen)
		return 0;
	uint64_t frac = get32(f, b + 4);
	*d = (struct pfs_desc){
		.ts_ns = (uint64_t)get32(f, b) * 1000000000ull +
			 (f->nanosec ? frac : frac * 1000),
		/* as libpcap: what lies beyond the snapshot length is skipped */
		.len = caplen < f->snaplen ? caplen : f->snaplen,
		.wire_len = wire,
		.kind = PFS_KIND_FRAME,
		.link_type = (uint16_t)f->link_type,
	};
	*size = PFS_PCAP_RECORD_HDR + caplen;
	return 1;
}

/* Walk buf: validate (fn == NULL) or hand on records.  Returns how many
 * bytes complete records take, or -EINVAL. */
static long walk(const struct pfs_pcap_format *f, const uint8_t *buf, size_t len,
		 pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	size_t off = 0, size;
	struct pfs_desc d;
	int rc;
	while ((rc = pfs_pcap_parse_record(f, buf + off, len - off, &d, &size,
					   err, errlen)) == 1) {
		if (fn)
			fn(arg, &d, buf + off + PFS_PCAP_RECORD_HDR);
		off += size;
	}
	return rc < 0 ? rc : (long)off;
}

int pfs_pcap_parse(struct pfs_pcap_parser *p, const uint8_t *buf, size_t len,
		   pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	/* Join what was pending with what came: one contiguous stream. */
	size_t total = p->npending + len;
	uint8_t *all = malloc(total ? total : 1);
	if (!all)
		return -ENOMEM;
	if (p->npending)
		memcpy(all, p->pending, p->npending);
	if (len)
		memcpy(all + p->npending, buf, len);

	struct pfs_pcap_parser trial = *p;
	size_t start = 0;
	int rc = 0;
	if (!trial.have_header && total >= PFS_PCAP_GLOBAL_LEN) {
		rc = pfs_pcap_parse_header(&trial.fmt, all, err, errlen);
		trial.have_header = rc == 0;
		start = PFS_PCAP_GLOBAL_LEN;
	}
	long used = 0;
	if (rc == 0 && trial.have_header)
		used = walk(&trial.fmt, all + start, total - start, NULL, NULL, err, errlen);
	if (rc || used < 0) {
		free(all);
		return -EINVAL;
	}
	/* Valid: commit the header, hand on the records, keep the rest. */
	if (trial.have_header)
		walk(&trial.fmt, all + start, total - start, fn, arg, err, errlen);
	else
		start = 0;
	size_t rest = total - start - (size_t)used;
	memmove(all, all + start + used, rest);
	free(p->pending);
	*p = trial;
	p->pending = all;
	p->npending = rest;
	return 0;
}

void pfs_pcap_parser_fini(struct pfs_pcap_parser *p)
{
	free(p->pending);
	p->pending = NULL;
	p->npending = 0;
}
