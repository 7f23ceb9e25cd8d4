/* SPDX-License-Identifier: BSD-3-Clause
 * The soak test's reader and writer (tests/integration/t_soak.sh): reads a
 * stream file as it comes and checks every record, or writes checksummed
 * lines into a written node.
 *
 *   soakread stream FILE REF    FILE's bytes must be REF's, repeated: a
 *                               view of a looping replay (`all`, `text`)
 *                               from any record on; REF is one loop of it
 *   soakread frames FILE REF    FILE is a pcap or pcapng stream whose
 *                               frames must be REF's (a pcap file, one
 *                               loop), repeated, from any frame on;
 *                               timestamps are not compared
 *   soakread lines FILE         FILE holds lines "SEQ HASH PAYLOAD" (as
 *                               `write` makes them): each hash right, each
 *                               SEQ one more than the last
 *   soakread write FILE         write such lines into FILE, one write(2)
 *                               each, until SIGTERM
 *
 * A reader checks what it read until SIGTERM (or end of file), then
 * prints "ok BYTES bytes RECORDS records INTR interrupted reads" (records:
 * frames or lines; 0 for a byte stream) and exits 0, or, at the first
 * wrong byte, "FAIL why" and exits 1.  SIGINT interrupts a blocked read
 * (no SA_RESTART): the read returns EINTR and the reader reads on, so
 * every byte after an interrupt is checked too.
 * Only whole records are checked; a partial last one is left alone.
 * SOAKREAD_PAUSE_MS=N sleeps N ms after each read (a reader that keeps up
 * with less than all the machine's CPU).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long long interrupts, records, total;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_int(int sig)
{
	(void)sig;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL after %llu bytes, %llu records: ", total, records);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static void *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		fail("%s: %s", path, strerror(errno));
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n <= 0)
			fail("%s: short read", path);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return b;
}

/* ---- the input, as it comes ---- */

static uint8_t *buf;
static size_t have, cap = 4 << 20;
static unsigned pause_us;

/* More bytes into buf; false at end of file or SIGTERM. */
static bool fill(int fd)
{
	while (!stop) {
		if (have == cap) {
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				fail("out of memory");
		}
		ssize_t n = read(fd, buf + have, cap - have);
		if (n > 0) {
			have += (size_t)n;
			total += (size_t)n;
			if (pause_us)
				usleep(pause_us);
			return true;
		}
		if (n == 0)
			return false;
		if (errno != EINTR)
			fail("read: %s", strerror(errno));
		interrupts++;
	}
	return false;
}

static void consume(size_t n)
{
	memmove(buf, buf + n, have - n);
	have -= n;
}

/* ---- stream: bytes against REF, repeated ---- */

/* The offsets in REF where what came first may start: each is checked on
 * from there, and dropped at its first difference. */
static void check_stream(int fd, const uint8_t *ref, size_t rlen)
{
	size_t *cand = NULL, ncand = 0;
	bool placed = false;
	while (fill(fd)) {
		if (!placed) {
			if (have < 64 && have < rlen)
				continue;
			cand = malloc(rlen * sizeof(*cand));
			for (size_t o = 0; cand && o < rlen; o++)
				cand[ncand] = o, ncand += ref[o] == buf[0];
			placed = true;
		}
		size_t kept = 0;
		for (size_t c = 0; c < ncand; c++) {
			size_t o = cand[c], i = 0;
			while (i < have) {
				size_t n = rlen - o < have - i ? rlen - o : have - i;
				if (memcmp(ref + o, buf + i, n) != 0)
					break;
				i += n;
				o = (o + n) % rlen;
			}
			if (i == have)
				cand[kept++] = o;
		}
		if (!kept)
			fail("bytes that are not the reference's from any offset (%zu offsets tried)",
			     ncand);
		ncand = kept;
		have = 0;
	}
	free(cand);
}

/* ---- frames: a pcap or pcapng stream against REF's frames ----
 *
 * Read by hand, not with libpcap: a reader here is interrupted mid-read
 * on purpose and must read on, and libpcap's file reader ends on EINTR.
 * Only the fields the check needs are read (lengths, the EPB's data). */

struct frame {
	const uint8_t *p;
	uint32_t len;
};

static struct frame *ref_frames;
static size_t nref;

/* A classic pcap file's records (our own byte order: the daemon's). */
static void load_ref(const uint8_t *b, size_t len)
{
	if (len < 24)
		fail("reference: no pcap header");
	ref_frames = malloc((len / 16 + 1) * sizeof(*ref_frames));
	for (size_t o = 24; o + 16 <= len;) {
		uint32_t caplen;
		memcpy(&caplen, b + o + 8, 4);
		if (o + 16 + caplen > len)
			break;
		ref_frames[nref++] = (struct frame){ b + o + 16, caplen };
		o += 16 + caplen;
	}
	if (!nref)
		fail("reference: no frame");
}

static size_t *fcand;
static size_t nfcand;
static bool fplaced;

static void check_frame(const uint8_t *p, uint32_t len)
{
	if (!fplaced) {
		fcand = malloc(nref * sizeof(*fcand));
		for (size_t i = 0; i < nref; i++)
			if (ref_frames[i].len == len && memcmp(ref_frames[i].p, p, len) == 0)
				fcand[nfcand++] = i;
		fplaced = true;
	} else {
		size_t kept = 0;
		for (size_t c = 0; c < nfcand; c++) {
			size_t i = (fcand[c] + 1) % nref;
			if (ref_frames[i].len == len && memcmp(ref_frames[i].p, p, len) == 0)
				fcand[kept++] = i;
		}
		nfcand = kept;
	}
	if (!nfcand)
		fail("frame %llu (%u bytes) is not the next of the reference's", records + 1, len);
	records++;
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void check_frames(int fd)
{
	enum { START, PCAP, PCAPNG } kind = START;
	while (fill(fd)) {
		for (;;) {
			if (kind == START) {
				if (have < 4)
					break;
				kind = u32(buf) == 0x0a0d0d0a ? PCAPNG : PCAP;
				if (kind == PCAP) {
					if (have < 24)
						break;
					consume(24);
				}
			}
			if (kind == PCAP) {
				if (have < 16 || have < 16 + u32(buf + 8))
					break;
				check_frame(buf + 16, u32(buf + 8));
				consume(16 + u32(buf + 8));
			} else {
				if (have < 8 || have < u32(buf + 4))
					break;
				uint32_t type = u32(buf), blen = u32(buf + 4);
				if (blen < 12 || blen % 4)
					fail("a pcapng block of %u bytes", blen);
				if (type == 6) {	/* Enhanced Packet Block */
					if (blen < 32 || u32(buf + 20) > blen - 32)
						fail("an EPB of %u bytes with %u captured", blen,
						     u32(buf + 20));
					check_frame(buf + 28, u32(buf + 20));
				}
				consume(blen);
			}
		}
	}
}

/* ---- lines: "SEQ HASH PAYLOAD\n" ---- */

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	return h;
}

static void check_lines(int fd)
{
	unsigned long long last = 0;
	while (fill(fd)) {
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			size_t n = (size_t)(nl - (char *)buf);
			char line[512];
			if (n >= sizeof(line))
				fail("a line of %zu bytes", n);
			memcpy(line, buf, n);
			line[n] = '\0';
			unsigned long long seq;
			uint64_t hash;
			int off = 0;
			if (sscanf(line, "%llu %" SCNx64 " %n", &seq, &hash, &off) != 2 || !off)
				fail("a torn line: \"%s\"", line);
			if (fnv1a(line + off, n - (size_t)off) != hash)
				fail("line %llu's payload does not match its hash: \"%s\"", seq, line);
			if (records && seq != last + 1)
				fail("line %llu after line %llu", seq, last);
			last = seq;
			records++;
			consume(n + 1);
		}
	}
}

static void write_lines(const char *path)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	char line[256], payload[160];
	for (unsigned long long seq = 0; !stop; seq++) {
		/* Payloads of varying length, so records straddle ring ends. */
		int plen = snprintf(payload, sizeof(payload), "%0*llu", (int)(seq % 97) + 8,
				    seq * 2654435761ull);
		int n = snprintf(line, sizeof(line), "%llu %016" PRIx64 " %s\n", seq,
				 fnv1a(payload, (size_t)plen), payload);
		for (int off = 0; off < n && !stop;) {
			ssize_t w = write(fd, line + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				fail("write: %s", strerror(errno));
			if (w > 0)
				off += (int)w;
		}
		records++;
	}
	printf("wrote %llu lines\n", records);
	exit(0);
}

int main(int argc, char **argv)
{
	bool with_ref = argc >= 2 && (strcmp(argv[1], "stream") == 0 ||
				      strcmp(argv[1], "frames") == 0);
	if (argc < 3 || with_ref != (argc == 4)) {
		fprintf(stderr, "usage: soakread stream|frames FILE REF | lines|write FILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *pause = getenv("SOAKREAD_PAUSE_MS");
	pause_us = pause ? (unsigned)atoi(pause) * 1000 : 0;
	struct sigaction term = { .sa_handler = on_term }, intr = { .sa_handler = on_int };
	sigaction(SIGTERM, &term, NULL);
	sigaction(SIGINT, &intr, NULL);	/* no SA_RESTART: reads return EINTR */
	if (strcmp(argv[1], "write") == 0)
		write_lines(argv[2]);
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		fail("%s: %s", argv[2], strerror(errno));
	buf = malloc(cap);
	size_t rlen = 0;
	const uint8_t *ref = argc == 4 ? slurp(argv[3], &rlen) : NULL;
	if (strcmp(argv[1], "stream") == 0)
		check_stream(fd, ref, rlen);
	else if (strcmp(argv[1], "frames") == 0)
		load_ref(ref, rlen), check_frames(fd);
	else
		check_lines(fd);
	printf("ok %llu bytes %llu records %llu interrupted reads\n", total, records, interrupts);
	return 0;
}
