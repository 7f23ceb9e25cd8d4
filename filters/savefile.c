/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/savefile.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
#define MAGIC_KUZNETZOV 0xa1b2cd34u	/* µs, 24-byte record headers */
#define KUZNETZOV_RECORD_HDR 24		/* and ifindex, protocol, pkt_type */

/* The link type field: LINKTYPE_ value in the low 26 bits as libpcap
 * reads it (16 as the format has it, 10 reserved), FCS length above. */
#define LT_LINKTYPE(x) ((x) & 0x03ffffffu)

/* LINKTYPE_ values libpcap treats specially.  Each is its DLT_ value
 * (linktype_to_dlt: Ethernet is 1 either way, the others lie in the
 * "matching range", 104 to 289), so they are compared with either. */
#define LT_ETHERNET 1
#define LT_LINUX_SLL 113
#define LT_PFLOG 117
#define LT_USB_LINUX 189
#define LT_USB_LINUX_MMAPPED 220
#define LT_DBUS 231
#define LT_NFLOG 239
#define LT_USBPCAP 249
#define LT_LINUX_SLL2 276
#define LT_EBHSCR 279

uint32_t pfs_max_snaplen(int link_type)
{
	switch (link_type) {
	case LT_DBUS:
		return 128u << 20;
	case LT_EBHSCR:
		return 8u << 20;
	case LT_USBPCAP:
		return 1u << 20;
	default:
		return PFS_PCAP_MAX_RECORD;
	}
}

static uint32_t get32(const struct pfs_pcap_format *f, const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return f->swapped ? __builtin_bswap32(v) : v;
}

static uint16_t get16(const struct pfs_pcap_format *f, const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return f->swapped ? __builtin_bswap16(v) : v;
}

static bool known_magic(uint32_t m)
{
	return m == MAGIC_USEC || m == MAGIC_NSEC || m == MAGIC_KUZNETZOV;
}

/* The magic, in our byte order; sets f->swapped.  0 if none. */
static uint32_t magic_of(struct pfs_pcap_format *f, const uint8_t *b)
{
	uint32_t m;
	memcpy(&m, b, 4);
	f->swapped = !known_magic(m) && known_magic(__builtin_bswap32(m));
	m = get32(f, b);
	return known_magic(m) ? m : 0;
}

/* As libpcap: 2.0 to 2.4, and DG/UX tcpdump's 543.0. */
static int check_version(struct pfs_pcap_format *f, const uint8_t *b,
			 char *err, size_t errlen)
{
	uint16_t major = get16(f, b + 4), minor = get16(f, b + 6);
	if (major < 2) {
		snprintf(err, errlen, "archaic pcap savefile format");
		return -EINVAL;
	}
	if (!(major == 2 && minor <= 4) && !(major == 543 && minor == 0)) {
		snprintf(err, errlen, "unsupported pcap savefile version %u.%u", major, minor);
		return -EINVAL;
	}
	f->lengths = major == 543 || minor < 3 ? PFS_LENGTHS_SWAPPED :
		     minor == 3 ? PFS_LENGTHS_MAYBE_SWAPPED : PFS_LENGTHS_NOT_SWAPPED;
	return 0;
}

/* libpcap's snapshot length (pcap_adjust_snapshot): one that an int
 * cannot hold, or 0, is the link type's maximum.  Kuznetzov's patch
 * captured Ethernet "cooked", with a faked 14-byte header on top. */
static uint32_t snapshot(const struct pfs_pcap_format *f, uint32_t snaplen, uint32_t magic)
{
	if (snaplen == 0 || snaplen > INT32_MAX)
		snaplen = f->max_caplen;
	if (magic == MAGIC_KUZNETZOV && f->link_type == LT_ETHERNET)
		snaplen = snaplen <= INT32_MAX - 14 ? snaplen + 14 : INT32_MAX;
	return snaplen;
}

int pfs_pcap_parse_header(struct pfs_pcap_format *f, const uint8_t *b,
			  char *err, size_t errlen)
{
	uint32_t magic = magic_of(f, b);
	if (!magic) {
		snprintf(err, errlen, "not a pcap stream (magic 0x%08x)", get32(f, b));
		return -EINVAL;
	}
	int rc = check_version(f, b, err, errlen);
	if (rc)
		return rc;
	uint32_t lt = LT_LINKTYPE(get32(f, b + 20));
	if (lt > UINT16_MAX) {
		snprintf(err, errlen, "link type 0x%x: reserved bits set", lt);
		return -EINVAL;
	}
	f->link_type = (int)lt;
	f->nanosec = magic == MAGIC_NSEC;
	f->record_hdr = magic == MAGIC_KUZNETZOV ? KUZNETZOV_RECORD_HDR : PFS_PCAP_RECORD_HDR;
	f->max_caplen = pfs_max_snaplen(f->link_type);
	f->snaplen = snapshot(f, get32(f, b + 16), magic);
	return 0;
}

bool pfs_pcap_rewritten(const struct pfs_pcap_format *f)
{
	switch (f->link_type) {
	case LT_USB_LINUX_MMAPPED:
		return true;
	case LT_LINUX_SLL:
	case LT_LINUX_SLL2:
	case LT_PFLOG:
	case LT_USB_LINUX:
	case LT_NFLOG:
		return f->swapped;
	default:
		return false;
	}
}

int pfs_pcap_parse_record(const struct pfs_pcap_format *f, const uint8_t *b,
			  size_t len, struct pfs_desc *d, size_t *size,
			  char *err, size_t errlen)
{
	if (len < f->record_hdr)
		return 0;
	uint32_t caplen = get32(f, b + 8), wire = get32(f, b + 12);
	if (f->lengths == PFS_LENGTHS_SWAPPED ||
	    (f->lengths == PFS_LENGTHS_MAYBE_SWAPPED && caplen > wire)) {
		uint32_t t = caplen;
		caplen = wire;
		wire = t;
	}
	if (caplen > f->max_caplen) {
		snprintf(err, errlen, "pcap record of %u bytes refused (at most %u)",
			 caplen, f->max_caplen);
		return -EINVAL;
	}
	if (len - f->record_hdr < caplen)
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
		.flags = f->nanosec ? PFS_REC_TS_NSEC : 0,
	};
	*size = f->record_hdr + (size_t)caplen;
	return 1;
}

struct pfs_desc pfs_pcap_libpcap_desc(const struct pcap_pkthdr *h, int link_type,
				      bool nanosec)
{
	/* tv_usec holds nanoseconds.  A negative field is a classic file's
	 * 32-bit one that libpcap read signed (see savefile.h): taken as the
	 * unsigned field it is (a fraction of µs, libpcap scaled to ns).
	 * pcapng's seconds are 64 bits: they pass 2^32 in 2106. */
	uint64_t sec = h->ts.tv_sec < 0 ? (uint32_t)h->ts.tv_sec : (uint64_t)h->ts.tv_sec;
	uint64_t frac = h->ts.tv_usec >= 0 ? (uint64_t)h->ts.tv_usec
			: nanosec ? (uint32_t)h->ts.tv_usec
			: (uint32_t)(h->ts.tv_usec / 1000) * 1000ull;
	return (struct pfs_desc){
		.ts_ns = sec * 1000000000ull + frac,
		.len = h->caplen,
		.wire_len = h->len,
		.kind = PFS_KIND_FRAME,
		.link_type = (uint16_t)link_type,
		.flags = nanosec ? PFS_REC_TS_NSEC : 0,
	};
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
			fn(arg, &d, buf + off + f->record_hdr);
		off += size;
	}
	return rc < 0 ? rc : (long)off;
}

/* Hand on records that libpcap changes as it reads them (see
 * pfs_pcap_rewritten) as libpcap reads them: header and records, already
 * validated, read by libpcap from memory. */
static int walk_libpcap(const struct pfs_pcap_parser *p, const uint8_t *recs, size_t len,
			pfs_pcap_record_fn fn, void *arg, char *err, size_t errlen)
{
	uint8_t *file = malloc(PFS_PCAP_GLOBAL_LEN + len);
	FILE *in = file ? fmemopen(file, PFS_PCAP_GLOBAL_LEN + len, "r") : NULL;
	char why[PCAP_ERRBUF_SIZE] = "out of memory";
	pcap_t *pc = NULL;
	if (in) {
		memcpy(file, p->header, PFS_PCAP_GLOBAL_LEN);
		memcpy(file + PFS_PCAP_GLOBAL_LEN, recs, len);
		pc = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, why);
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pc ? 0 : -1;
	while (pc && (rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct pfs_desc d = pfs_pcap_libpcap_desc(h, p->fmt.link_type, p->fmt.nanosec);
		fn(arg, &d, data);
	}
	/* Not expected: walk() has checked what libpcap checks. */
	if (rc == -1)
		snprintf(err, errlen, "libpcap: %s", pc ? pcap_geterr(pc) : why);
	if (pc)
		pcap_close(pc);		/* and in */
	else if (in)
		fclose(in);
	free(file);
	return rc == -1 ? -EINVAL : 0;
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
	if (!trial.have_header && total >= 4 && total < PFS_PCAP_GLOBAL_LEN &&
	    !magic_of(&trial.fmt, all)) {
		/* No need to wait for the whole header to refuse what is no
		 * pcap stream (`echo text > pcap`). */
		snprintf(err, errlen, "not a pcap stream (magic 0x%08x)", get32(&trial.fmt, all));
		rc = -EINVAL;
	} else if (!trial.have_header && total >= PFS_PCAP_GLOBAL_LEN) {
		rc = pfs_pcap_parse_header(&trial.fmt, all, err, errlen);
		memcpy(trial.header, all, PFS_PCAP_GLOBAL_LEN);
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
	if (!trial.have_header)
		start = 0;
	else if (used && pfs_pcap_rewritten(&trial.fmt))
		rc = walk_libpcap(&trial, all + start, (size_t)used, fn, arg, err, errlen);
	else
		walk(&trial.fmt, all + start, total - start, fn, arg, err, errlen);
	size_t rest = total - start - (size_t)used;
	memmove(all, all + start + used, rest);
	free(p->pending);
	*p = trial;
	p->pending = all;
	p->npending = rest;
	return rc;
}

void pfs_pcap_parser_fini(struct pfs_pcap_parser *p)
{
	free(p->pending);
	p->pending = NULL;
	p->npending = 0;
}
