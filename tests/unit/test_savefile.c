/* SPDX-License-Identifier: BSD-3-Clause
 * The savefile reader (filters/savefile.c) against libpcap, the oracle:
 * one crafted file per quirk libpcap's sf-pcap.c handles (byte orders,
 * µs and ns, Kuznetzov's records, versions and their swapped lengths,
 * the link type field's upper bits, snapshot lengths, records longer than
 * the snapshot length or the link type's maximum, pseudo-headers libpcap
 * rewrites).  Each is read by libpcap (pcap_fopen_offline on fmemopen, ns
 * precision) and by both of our paths, the in-place one
 * (pfs_pcap_parse_record) and the written-stream one (pfs_pcap_parse):
 * the records (timestamp, captured and wire length, bytes) must be the
 * same, or both must refuse the file.
 */
#include <check.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/savefile.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
#define MAGIC_KUZ 0xa1b2cd34u
#define LT_ETHER 1
#define LT_SLL 113
#define LT_PFLOG 117
#define LT_USB_LINUX 189
#define LT_USB_MMAPPED 220
#define LT_DBUS 231
#define LT_NFLOG 239
#define LT_USBPCAP 249
#define LT_EBHSCR 279
#define LT_SLL2 276
#define TS_SEC 1700000000u
#define MAX_RECS 8

/* ---- crafting files ---- */

struct hdr {
	bool swap;
	uint32_t magic;
	uint16_t major, minor;
	uint32_t snaplen, linktype;
};

/* A record as stored: its two length fields as written (f1 is the
 * captured length from version 2.3 on), and `stored` data bytes. */
struct rec {
	uint32_t sec, frac, f1, f2, stored;
	const uint8_t *data;	/* NULL: a pattern */
};

struct file {
	size_t len;
	uint8_t *b;
};

static void put32(struct file *f, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(f->b + f->len, &v, 4);
	f->len += 4;
}

static void put16(struct file *f, uint16_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap16(v);
	memcpy(f->b + f->len, &v, 2);
	f->len += 2;
}

static size_t file_size(const struct rec *r, int n)
{
	size_t len = PFS_PCAP_GLOBAL_LEN;
	for (int i = 0; i < n; i++)
		len += 24 + r[i].stored;
	return len;
}

/* Header h, then records r[0..n); cut bytes short of the whole. */
static struct file craft(struct hdr h, const struct rec *r, int n, size_t cut)
{
	struct file f = { 0, malloc(file_size(r, n)) };
	ck_assert_ptr_nonnull(f.b);
	put32(&f, h.magic, h.swap);
	put16(&f, h.major, h.swap);
	put16(&f, h.minor, h.swap);
	put32(&f, 0, h.swap);
	put32(&f, 0, h.swap);
	put32(&f, h.snaplen, h.swap);
	put32(&f, h.linktype, h.swap);
	for (int i = 0; i < n; i++) {
		put32(&f, r[i].sec, h.swap);
		put32(&f, r[i].frac, h.swap);
		put32(&f, r[i].f1, h.swap);
		put32(&f, r[i].f2, h.swap);
		if (h.magic == MAGIC_KUZ) {	/* ifindex, protocol, pkt_type, pad */
			memset(f.b + f.len, 0xee, 8);
			f.len += 8;
		}
		for (uint32_t j = 0; j < r[i].stored; j++)
			f.b[f.len++] = r[i].data ? r[i].data[j] : (uint8_t)(i * 31 + (int)j + 1);
	}
	ck_assert_uint_ge(f.len, cut);
	f.len -= cut;
	return f;
}

/* ---- reading them ---- */

struct got {
	bool opened;		/* the header was taken */
	bool failed;		/* the records ended in an error */
	bool refused;		/* ours: at a bad record (not a short file) */
	int n;
	struct pfs_desc d[MAX_RECS];
	uint8_t *data[MAX_RECS];
};

static void got_add(struct got *g, const struct pfs_desc *d, const uint8_t *data)
{
	ck_assert_int_lt(g->n, MAX_RECS);
	g->d[g->n] = *d;
	g->data[g->n] = malloc(d->len ? d->len : 1);
	ck_assert_ptr_nonnull(g->data[g->n]);
	memcpy(g->data[g->n], data, d->len);
	g->n++;
}

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->data[i]);
}

static struct got by_libpcap(const struct file *f, int *link_type)
{
	struct got g = { 0 };
	char err[PCAP_ERRBUF_SIZE];
	FILE *in = fmemopen(f->b, f->len, "r");
	ck_assert_ptr_nonnull(in);
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!pc) {
		fclose(in);
		return g;
	}
	g.opened = true;
	*link_type = pcap_datalink(pc);
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct pfs_desc d = pfs_pcap_libpcap_desc(h, 0, false);
		got_add(&g, &d, data);
	}
	g.failed = rc == -1;
	pcap_close(pc);
	return g;
}

/* The in-place path: the records where they lie in the file. */
static struct got in_place(const struct file *f, struct pfs_pcap_format *fmt)
{
	struct got g = { 0 };
	char err[256];
	if (f->len < PFS_PCAP_GLOBAL_LEN ||
	    pfs_pcap_parse_header(fmt, f->b, err, sizeof err) != 0)
		return g;
	g.opened = true;
	size_t off = PFS_PCAP_GLOBAL_LEN, size;
	struct pfs_desc d;
	int rc;
	while ((rc = pfs_pcap_parse_record(fmt, f->b + off, f->len - off, &d, &size,
					   err, sizeof err)) == 1) {
		got_add(&g, &d, f->b + off + fmt->record_hdr);
		off += size;
	}
	g.failed = rc < 0 || off < f->len;
	g.refused = rc < 0;
	return g;
}

static void collect(void *arg, const struct pfs_desc *d, const uint8_t *data)
{
	got_add(arg, d, data);
}

/* The written-stream path, the file in one write. */
static struct got written(const struct file *f)
{
	struct got g = { 0 };
	struct pfs_pcap_parser p = { 0 };
	char err[256];
	g.refused = pfs_pcap_parse(&p, f->b, f->len, collect, &g, err, sizeof err) != 0;
	g.failed = g.refused || p.npending > 0;
	g.opened = p.have_header;
	pfs_pcap_parser_fini(&p);
	return g;
}

/* Ours (flags, kind and link type aside) is libpcap's record. */
static void check_same(const char *what, const struct got *ours, const struct got *want,
		       const struct pfs_pcap_format *fmt)
{
	ck_assert_msg(ours->n == want->n, "%s: %d records, libpcap %d", what, ours->n, want->n);
	for (int i = 0; i < want->n; i++) {
		const struct pfs_desc *a = &ours->d[i], *b = &want->d[i];
		ck_assert_msg(a->ts_ns == b->ts_ns && a->len == b->len && a->wire_len == b->wire_len,
			      "%s: record %d: ts %llu len %u wire %u, libpcap %llu %u %u", what, i,
			      (unsigned long long)a->ts_ns, a->len, a->wire_len,
			      (unsigned long long)b->ts_ns, b->len, b->wire_len);
		ck_assert_msg(memcmp(ours->data[i], want->data[i], b->len) == 0,
			      "%s: record %d: other bytes", what, i);
		ck_assert_int_eq(a->kind, PFS_KIND_FRAME);
		ck_assert_int_eq(a->link_type, fmt->link_type);
		ck_assert_int_eq(a->flags, fmt->nanosec ? PFS_REC_TS_NSEC : 0);
	}
}

/* Reads f every way; returns how many records libpcap read (-1: it
 * refused the file).  Asserts ours agree. */
static int check_file(const char *what, struct file f)
{
	int dlt = -1;
	struct pfs_pcap_format fmt;
	struct got want = by_libpcap(&f, &dlt), mine = in_place(&f, &fmt), wr = written(&f);
	ck_assert_msg(mine.opened == want.opened, "%s: ours %s the header, libpcap %s", what,
		      mine.opened ? "takes" : "refuses", want.opened ? "takes" : "refuses");
	int n = want.opened ? want.n : -1;
	if (want.opened) {
		/* in place only where libpcap hands out the file's bytes */
		if (!pfs_pcap_rewritten(&fmt))
			check_same(what, &mine, &want, &fmt);
		ck_assert_msg(mine.failed == want.failed, "%s: ours %s, libpcap %s", what,
			      mine.failed ? "fails" : "ends", want.failed ? "fails" : "ends");
		/* a written stream with a bad record is refused whole; one
		 * cut short hands on its complete records */
		ck_assert_int_eq(wr.refused, mine.refused);
		if (mine.refused)
			ck_assert_int_eq(wr.n, 0);
		else
			check_same(what, &wr, &want, &fmt);
	}
	got_free(&want);
	got_free(&mine);
	got_free(&wr);
	free(f.b);
	return n;
}

/* ---- the quirks ---- */

static const struct hdr plain = { .magic = MAGIC_USEC, .major = 2, .minor = 4,
				  .snaplen = 65535, .linktype = LT_ETHER };

static const struct rec three[] = {
	{ TS_SEC, 123456, 60, 60, 60, NULL },
	{ TS_SEC + 1, 999999, 0, 0, 0, NULL },
	{ TS_SEC + 2, 1, 100, 1514, 100, NULL },
};

START_TEST(byte_orders_and_precisions)
{
	static const uint32_t magics[] = { MAGIC_USEC, MAGIC_NSEC, MAGIC_KUZ };
	for (int swap = 0; swap < 2; swap++)
		for (size_t m = 0; m < 3; m++) {
			struct hdr h = plain;
			h.swap = swap;
			h.magic = magics[m];
			ck_assert_int_eq(check_file("magic", craft(h, three, 3, 0)), 3);
			h.linktype = LT_SLL;
			ck_assert_int_eq(check_file("magic, SLL", craft(h, three, 3, 0)), 3);
		}
}
END_TEST

START_TEST(timestamps)
{
	/* fractions past a second, the largest seconds (of the other byte
	 * order, which libpcap 1.10 reads unsigned) */
	static const struct rec r[] = {
		{ TS_SEC, 1999999, 4, 4, 4, NULL },
		{ 0xffffffffu, 999999999, 4, 4, 4, NULL },
		{ 0, 0, 4, 4, 4, NULL },
	};
	struct hdr h = plain;
	ck_assert_int_eq(check_file("µs", craft(h, r, 1, 0)), 1);
	h.magic = MAGIC_NSEC;
	ck_assert_int_eq(check_file("ns", craft(h, r, 1, 0)), 1);
	h.swap = true;
	ck_assert_int_eq(check_file("ns swapped", craft(h, r, 3, 0)), 3);
	h.magic = MAGIC_USEC;
	ck_assert_int_eq(check_file("µs swapped", craft(h, r, 3, 0)), 3);
}
END_TEST

/* A fraction field with its top bit set, in files of our byte order
 * (which libpcap 1.10 reads signed): one timestamp, read unsigned, in
 * place and through libpcap (records it rewrites, Linux USB).  Found by
 * tests/fuzz/fuzz_pcap_file: records read through libpcap had the
 * fraction signed (a second early for 0xffffffff µs). */
START_TEST(fraction_fields_unsigned)
{
	static const uint32_t magics[] = { MAGIC_USEC, MAGIC_NSEC, MAGIC_KUZ };
	static const int lts[] = { LT_ETHER, LT_USB_MMAPPED };
	static const uint32_t fracs[] = { 0xffffffffu, 0x80000000u, 0xfffffc18u };
	for (size_t m = 0; m < 3; m++)
		for (size_t l = 0; l < 2; l++)
			for (size_t i = 0; i < 3; i++) {
				struct rec r = { TS_SEC, fracs[i], 64, 64, 64, NULL };
				struct hdr h = plain;
				h.magic = magics[m];
				h.linktype = (uint32_t)lts[l];
				struct file f = craft(h, &r, 1, 0);
				struct got w = written(&f);
				struct pfs_pcap_format fmt;
				char err[256];
				ck_assert_int_eq(pfs_pcap_parse_header(&fmt, f.b, err, sizeof err), 0);
				ck_assert_int_eq(pfs_pcap_rewritten(&fmt), l == 1);
				ck_assert_int_eq(w.n, 1);
				uint64_t frac = magics[m] == MAGIC_NSEC ? fracs[i] : fracs[i] * 1000ull;
				ck_assert_uint_eq(w.d[0].ts_ns, TS_SEC * 1000000000ull + frac);
				got_free(&w);
				free(f.b);
			}
}
END_TEST

START_TEST(other_magics_refused)
{
	/* pcapng's, Navtel's and Mesquita's (which libpcap does not read),
	 * text */
	static const uint32_t magics[] = { 0, 0xffffffffu, 0x0a0d0d0au, 0xa12b3c4du,
					   0xa1b234cdu, 0xa1b2c3d5u, 0x20544547u };
	for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
		struct hdr h = plain;
		h.magic = magics[i];
		ck_assert_int_eq(check_file("magic", craft(h, three, 1, 0)), -1);
	}
}
END_TEST

START_TEST(versions)
{
	/* which versions libpcap takes; 0x0200 is a 2 in the other order */
	static const uint16_t v[][2] = {
		{ 2, 0 }, { 2, 1 }, { 2, 2 }, { 2, 3 }, { 2, 4 }, { 2, 5 }, { 2, 0xffff },
		{ 1, 0 }, { 0, 4 }, { 3, 0 }, { 543, 0 }, { 543, 1 }, { 542, 0 },
		{ 0x0200, 4 }, { 0xffff, 0 },
	};
	for (int swap = 0; swap < 2; swap++)
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			struct hdr h = plain;
			h.swap = swap;
			h.major = v[i][0];
			h.minor = v[i][1];
			check_file("version", craft(h, three, 3, 0));
		}
}
END_TEST

START_TEST(lengths_swapped_by_version)
{
	/* before 2.3 (and 543.0) the captured length comes second; in 2.3,
	 * where the first is larger */
	static const struct rec r[] = {
		{ TS_SEC, 1, 1514, 60, 60, NULL },	/* swapped in 2.3 */
		{ TS_SEC, 2, 40, 60, 40, NULL },	/* not in 2.3 */
		{ TS_SEC, 3, 50, 50, 50, NULL },
	};
	static const struct rec before[] = {
		{ TS_SEC, 1, 1514, 60, 60, NULL },
		{ TS_SEC, 2, 60, 40, 40, NULL },
	};
	static const uint16_t v[][2] = { { 2, 0 }, { 2, 2 }, { 543, 0 } };
	for (int swap = 0; swap < 2; swap++) {
		struct hdr h = plain;
		h.swap = swap;
		h.minor = 3;
		ck_assert_int_eq(check_file("2.3", craft(h, r, 3, 0)), 3);
		for (size_t i = 0; i < 3; i++) {
			h.major = v[i][0];
			h.minor = v[i][1];
			ck_assert_int_eq(check_file("before 2.3", craft(h, before, 2, 0)), 2);
		}
	}
}
END_TEST

START_TEST(link_type_upper_bits)
{
	/* FCS length and its flag (bits 26 to 31) are not the link type */
	static const uint32_t ok[] = { 0x24000000u, 0x14000000u, 0x04000000u, 0x08000000u,
				       0xfc000000u };
	for (int swap = 0; swap < 2; swap++)
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
			struct hdr h = plain;
			h.swap = swap;
			h.linktype = ok[i] | LT_ETHER;
			ck_assert_int_eq(check_file("FCS bits", craft(h, three, 3, 0)), 3);
		}
	/* bits 16 to 25 are reserved: libpcap makes a link type of them,
	 * pipesfs refuses the file (savefile.h) */
	struct hdr h = plain;
	h.linktype = 0x00010000u | LT_ETHER;
	struct file f = craft(h, three, 3, 0);
	struct pfs_pcap_format fmt;
	char err[256] = "";
	ck_assert_int_eq(pfs_pcap_parse_header(&fmt, f.b, err, sizeof err), -EINVAL);
	ck_assert_str_eq(err, "link type 0x10001: reserved bits set");
	free(f.b);
}
END_TEST

START_TEST(snapshot_lengths)
{
	/* 0, and what an int cannot hold, mean the link type's maximum;
	 * above the maximum stays (records above the maximum are refused
	 * anyway); records above the snapshot length are cut to it */
	static const uint32_t snaps[] = { 0, 1, 64, 100, 262144, 1u << 20, 0x7fffffffu,
					  0x80000000u, 0xffffffffu };
	static const struct rec r[] = {
		{ TS_SEC, 1, 100, 100, 100, NULL },
		{ TS_SEC, 2, 101, 2000, 101, NULL },
		{ TS_SEC, 3, 64, 64, 64, NULL },
		{ TS_SEC, 4, 0, 9, 0, NULL },
	};
	for (int kuz = 0; kuz < 2; kuz++)
		for (size_t i = 0; i < sizeof snaps / sizeof snaps[0]; i++) {
			struct hdr h = plain;
			h.magic = kuz ? MAGIC_KUZ : MAGIC_USEC;
			h.snaplen = snaps[i];
			ck_assert_int_eq(check_file("snaplen", craft(h, r, 4, 0)), 4);
			h.linktype = LT_SLL;	/* Kuznetzov's +14 is Ethernet's */
			ck_assert_int_eq(check_file("snaplen, SLL", craft(h, r, 4, 0)), 4);
		}
}
END_TEST

/* A file of link type lt, snapshot length snap, with one record of
 * caplen bytes after a small one: how many records libpcap reads.  A
 * record above the maximum is refused at its header: its data is left
 * out. */
static int one_long(int lt, uint32_t snap, uint32_t caplen)
{
	uint32_t stored = caplen > pfs_max_snaplen(lt) ? 0 : caplen;
	struct rec r[] = { { TS_SEC, 1, 10, 10, 10, NULL },
			   { TS_SEC, 2, caplen, caplen, stored, NULL } };
	struct hdr h = plain;
	h.linktype = (uint32_t)lt;
	h.snaplen = snap;
	return check_file("long record", craft(h, r, 2, 0));
}

START_TEST(records_above_the_maximum)
{
	static const struct { int lt; uint32_t max; } m[] = {
		{ LT_ETHER, 256u << 10 }, { LT_USBPCAP, 1u << 20 }, { LT_EBHSCR, 8u << 20 },
		{ LT_DBUS, 128u << 20 },
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		ck_assert_uint_eq(pfs_max_snaplen(m[i].lt), m[i].max);
		if (m[i].max <= 1u << 20)	/* the others: too much memory */
			ck_assert_int_eq(one_long(m[i].lt, 0, m[i].max), 2);
		ck_assert_int_eq(one_long(m[i].lt, 0, m[i].max + 1), 1);
		/* refused whatever the snapshot length; cut below it */
		ck_assert_int_eq(one_long(m[i].lt, 100, m[i].max + 1), 1);
		ck_assert_int_eq(one_long(m[i].lt, 100, 300000), m[i].max < 300000 ? 1 : 2);
		ck_assert_int_eq(one_long(m[i].lt, 0xffffffffu, 300000), m[i].max < 300000 ? 1 : 2);
	}
	ck_assert_uint_eq(pfs_max_snaplen(LT_SLL), PFS_PCAP_MAX_RECORD);
}
END_TEST

START_TEST(truncated_files)
{
	/* cut in the last record's data, in its header, after it */
	for (int kuz = 0; kuz < 2; kuz++) {
		struct hdr h = plain;
		h.magic = kuz ? MAGIC_KUZ : MAGIC_USEC;
		for (size_t cut = 0; cut <= 110; cut += 5)
			check_file("truncated", craft(h, three, 3, cut));
	}
}
END_TEST

/* ---- pseudo-headers libpcap rewrites ---- */

/* A Linux cooked frame carrying a SocketCAN frame: protocol 0x000c, then
 * the CAN ID in the writer's byte order. */
static const uint8_t sll_can[] = {
	0, 0, 0x01, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x0c,
	0x12, 0x34, 0x56, 0x78, 4, 0, 0, 0, 1, 2, 3, 4,
};

/* The same in a Linux cooked v2 frame: protocol first, a 20-byte header. */
static const uint8_t sll2_can[] = {
	0x00, 0x0d, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
	0x12, 0x34, 0x56, 0x78, 4, 0, 0, 0, 1, 2, 3, 4,
};

/* NFLOG: a 4-byte header (version 0), then TLVs of length and type in
 * the writer's byte order. */
static const uint8_t nflog[] = {
	2, 0, 0, 0,
	0, 8, 0, 1, 0x08, 0x00, 3, 0,		/* length 8, type 1 */
	0, 6, 0, 10, 'a', 'b', 0, 0,		/* length 6 (padded to 8), type 10 */
};

/* A Linux USB header (64 bytes, memory-mapped); transfer type 0
 * (isochronous) at 9, urb_len at 32, ndesc at 60, then one descriptor. */
static uint8_t usb[80];

static void make_usb(bool swap)
{
	for (size_t i = 0; i < sizeof usb; i++)
		usb[i] = (uint8_t)(i * 7 + 3);
	usb[8] = 'C';		/* a completion */
	usb[9] = 0;		/* isochronous */
	usb[15] = 0;		/* data present */
	uint32_t urb_len = swap ? __builtin_bswap32(16) : 16;
	uint32_t ndesc = swap ? __builtin_bswap32(1) : 1;
	memcpy(usb + 32, &urb_len, 4);
	memcpy(usb + 60, &ndesc, 4);
}

START_TEST(pseudo_headers_rewritten)
{
	struct {
		int lt;
		const uint8_t *data;
		uint32_t len;
	} c[] = {
		{ LT_SLL, sll_can, sizeof sll_can },
		{ LT_SLL2, sll2_can, sizeof sll2_can },
		{ LT_NFLOG, nflog, sizeof nflog },
		{ LT_USB_LINUX, usb, 48 },
		{ LT_USB_MMAPPED, usb, sizeof usb },
		{ LT_PFLOG, usb, sizeof usb },
	};
	for (int swap = 0; swap < 2; swap++) {
		make_usb(swap);
		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			/* the wire length libpcap corrects for mmapped USB:
			 * 64 + 16 * ndesc + urb_len */
			struct rec r[] = {
				{ TS_SEC, 1, c[i].len, c[i].len, c[i].len, c[i].data },
				{ TS_SEC, 2, c[i].len, 96, c[i].len, c[i].data },
			};
			struct hdr h = plain;
			h.swap = swap;
			h.linktype = (uint32_t)c[i].lt;
			ck_assert_int_eq(check_file("pseudo-header", craft(h, r, 2, 0)), 2);
			struct pfs_pcap_format f = { .swapped = swap, .link_type = c[i].lt };
			ck_assert(pfs_pcap_rewritten(&f) == (swap || c[i].lt == LT_USB_MMAPPED));
		}
	}
}
END_TEST

static Suite *savefile_suite(void)
{
	Suite *s = suite_create("savefile");
	TCase *t = tcase_create("against libpcap");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, byte_orders_and_precisions);
	tcase_add_test(t, timestamps);
	tcase_add_test(t, fraction_fields_unsigned);
	tcase_add_test(t, other_magics_refused);
	tcase_add_test(t, versions);
	tcase_add_test(t, lengths_swapped_by_version);
	tcase_add_test(t, link_type_upper_bits);
	tcase_add_test(t, snapshot_lengths);
	tcase_add_test(t, records_above_the_maximum);
	tcase_add_test(t, truncated_files);
	tcase_add_test(t, pseudo_headers_rewritten);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(savefile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
