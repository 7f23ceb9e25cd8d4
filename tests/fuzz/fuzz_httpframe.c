/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: the HTTP/1.x request framer (filters/httpframe.c).
 *
 * Input: an options byte, 8 bytes of seed, a prefix length P, then the
 * stream's bytes: the first P once, the rest repeated.
 *   options bit 0      the stream's beginning was not seen (seek first)
 *   options bits 1-4   the rest is repeated 2^r times (up to 80 KiB in
 *                      all): long header sections and bodies from short
 *                      inputs
 *   options bits 5-6   that many losses (pfs_http_lost) at places and of
 *                      sizes the seed chooses
 * The stream is fed three ways: whole (up to each loss), a byte at a
 * time (its first 4 KiB, then in small pieces), and in pieces the seed
 * chooses.  Invariants:
 *  - each call takes what it may (something when given something, never
 *    more than given), and `at` moves by what it took;
 *  - a request framed spans bytes after the previous one and after the
 *    last loss (records never overlap, nor span a loss), starts with a
 *    request-line (method token, SP, target, SP, HTTP/1.x, line end);
 *  - `skipped` only grows; requests, skipped and lost bytes never add up
 *    to more than the stream; in_request() means start <= at;
 *  - every way of feeding frames the same requests, reports the same bad
 *    ones at the same bytes and ends in the same state: the framer never
 *    depends on where its input was cut.
 */
#include "filters/httpframe.h"
#include "tests/fuzz/fuzz.h"

#define MAX_STREAM (80u << 10)	/* past PFS_HTTP_MAX_HEAD */
#define MAX_LOSSES 3
#define MAX_EVENTS 4096

struct event {
	uint8_t ev;
	uint8_t flags;
	uint64_t start, at;
};

struct result {
	struct event ev[MAX_EVENTS];
	size_t n;		/* events logged (all counted in `events`) */
	size_t events;
	uint64_t at, skipped, start;
	bool in_request;
};

struct loss {
	size_t pos;		/* before data byte pos */
	uint64_t n;
};

/* The stream as fed: data bytes and lost bytes, by stream offset. */
static uint8_t *sbytes;
static uint8_t *slost;

static bool tchar(uint8_t c)
{
	return pfs_http_token(&c, 1);
}

/* A request-line at the start of r[0, n): method SP target SP
 * HTTP/1.d (CR) LF. */
static bool request_line(const uint8_t *r, size_t n)
{
	size_t i = 0;

	while (i < n && tchar(r[i]))
		i++;
	if (!i || i == n || r[i++] != ' ')
		return false;
	size_t t = i;
	while (i < n && r[i] > ' ' && r[i] != 0x7f)
		i++;
	if (i == t || i == n || r[i++] != ' ')
		return false;
	if (n - i < 9 || memcmp(r + i, "HTTP/1.", 7) || r[i + 7] < '0' || r[i + 7] > '9')
		return false;
	i += 8;
	return r[i] == '\n' || (r[i] == '\r' && i + 1 < n && r[i + 1] == '\n');
}

/* Feeds data[0, n) with the losses, in pieces: 0 whole, 1 a byte at a
 * time (the first 4 KiB), 2 as the PRNG says. */
static void feed(const uint8_t *data, size_t n, const struct loss *losses, int nlosses,
		 bool seek, int how, uint64_t seed, struct result *res)
{
	struct pfs_http_framer f = { 0 };
	uint64_t boundary = 0, done_bytes = 0, lost_bytes = 0, skipped = 0, soff = 0;
	int li = 0;

	memset(res, 0, sizeof *res);
	if (seek)
		pfs_http_framer_seek(&f);
	for (size_t i = 0;;) {
		while (li < nlosses && losses[li].pos == i) {
			pfs_http_lost(&f, losses[li].n);
			soff += losses[li].n;
			lost_bytes += losses[li].n;
			boundary = soff;
			li++;
			FZ_CHECK(f.at == soff, "at %llu after a loss, stream at %llu",
				 (unsigned long long)f.at, (unsigned long long)soff);
			FZ_CHECK(!pfs_http_in_request(&f), "in a request just after a loss");
		}
		if (i == n)
			break;
		size_t stop = li < nlosses ? losses[li].pos : n, len = stop - i;
		if (how == 1)	/* then small pieces: long streams stay quick */
			len = i < 4096 ? 1 : 1 + fz_rand(&seed) % 64;
		else if (how == 2)
			len = 1 + fz_rand(&seed) % (fz_rand(&seed) % 4 ? 16 : 2048);
		if (len > stop - i)
			len = stop - i;
		size_t taken = (size_t)-1;
		uint64_t at0 = f.at;
		enum pfs_http_event ev = pfs_http_feed(&f, data + i, len, &taken);
		FZ_CHECK(taken <= len && taken > 0, "took %zu of %zu", taken, len);
		FZ_CHECK(f.at == at0 + taken, "at moved %llu for %zu taken",
			 (unsigned long long)(f.at - at0), taken);
		FZ_CHECK(ev == PFS_HTTP_MORE || ev == PFS_HTTP_DONE || ev == PFS_HTTP_BAD,
			 "event %d", (int)ev);
		FZ_CHECK(ev != PFS_HTTP_MORE || taken == len, "MORE after %zu of %zu", taken, len);
		i += taken;
		soff += taken;
		FZ_CHECK(f.skipped >= skipped, "skipped went back");
		skipped = f.skipped;
		if (ev == PFS_HTTP_DONE) {
			FZ_CHECK(f.start >= boundary && f.at > f.start,
				 "request [%llu, %llu) after %llu",
				 (unsigned long long)f.start, (unsigned long long)f.at,
				 (unsigned long long)boundary);
			for (uint64_t k = f.start; k < f.at; k++)
				FZ_CHECK(!slost[k], "request over a lost byte");
			FZ_CHECK(request_line(sbytes + f.start, f.at - f.start),
				 "request at %llu without a request-line",
				 (unsigned long long)f.start);
			done_bytes += f.at - f.start;
			boundary = f.at;
		}
		if (ev != PFS_HTTP_MORE) {
			if (res->n < MAX_EVENTS)
				res->ev[res->n++] = (struct event){ (uint8_t)ev, f.flags, f.start,
								    f.at };
			res->events++;
		}
		if (pfs_http_in_request(&f))
			FZ_CHECK(f.start >= boundary && f.start <= f.at, "request under way at %llu",
				 (unsigned long long)f.start);
		FZ_CHECK(done_bytes + f.skipped + lost_bytes <= f.at,
			 "requests %llu + skipped %llu + lost %llu > %llu",
			 (unsigned long long)done_bytes, (unsigned long long)f.skipped,
			 (unsigned long long)lost_bytes, (unsigned long long)f.at);
	}
	FZ_CHECK(f.at == soff, "at %llu at the end of %llu", (unsigned long long)f.at,
		 (unsigned long long)soff);
	res->at = f.at;
	res->skipped = f.skipped;
	res->in_request = pfs_http_in_request(&f);
	res->start = res->in_request ? f.start : 0;
}

static int loss_cmp(const void *a, const void *b)
{
	const struct loss *x = a, *y = b;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void same(const struct result *a, const struct result *b, const char *how)
{
	FZ_CHECK(a->events == b->events, "%s: %zu events, whole: %zu", how, b->events, a->events);
	for (size_t i = 0; i < a->n; i++)
		FZ_CHECK(!memcmp(&a->ev[i], &b->ev[i], sizeof a->ev[i]),
			 "%s: event %zu (%d [%llu, %llu)) differs from whole (%d [%llu, %llu))",
			 how, i, b->ev[i].ev, (unsigned long long)b->ev[i].start,
			 (unsigned long long)b->ev[i].at, a->ev[i].ev,
			 (unsigned long long)a->ev[i].start, (unsigned long long)a->ev[i].at);
	FZ_CHECK(a->at == b->at && a->skipped == b->skipped && a->in_request == b->in_request &&
			 a->start == b->start,
		 "%s: ends at %llu skipped %llu, whole: at %llu skipped %llu", how,
		 (unsigned long long)b->at, (unsigned long long)b->skipped,
		 (unsigned long long)a->at, (unsigned long long)a->skipped);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct result whole, other;
	struct fz z = { in, size };
	uint8_t opt = fz_u8(&z);
	uint64_t seed = 0;
	struct loss losses[MAX_LOSSES];
	int nlosses = (opt >> 5) & 3;

	for (int i = 0; i < 8; i++)
		seed = seed << 8 | fz_u8(&z);
	size_t plen, dlen;
	const uint8_t *pre = fz_bytes(&z, fz_u8(&z), &plen);
	const uint8_t *d = fz_bytes(&z, MAX_STREAM, &dlen);
	size_t reps = (size_t)1 << ((opt >> 1) & 15);
	if (dlen && reps > MAX_STREAM / dlen)
		reps = MAX_STREAM / dlen ? MAX_STREAM / dlen : 1;
	size_t n = plen + dlen * reps;
	uint8_t *data = malloc(n ? n : 1);
	FZ_CHECK(data != NULL, "out of memory");
	memcpy(data, pre, plen);
	for (size_t r = 0; r < reps; r++)
		if (dlen)
			memcpy(data + plen + r * dlen, d, dlen);

	uint64_t s = seed, lost = 0;
	for (int i = 0; i < nlosses; i++) {
		losses[i].pos = (size_t)(fz_rand(&s) % (n + 1));
		losses[i].n = fz_rand(&s) % 4 ? fz_rand(&s) % 300 : 0;
		lost += losses[i].n;
	}
	qsort(losses, (size_t)nlosses, sizeof *losses, loss_cmp);

	/* the stream by offset: data and lost bytes */
	sbytes = calloc(n + lost + 1, 1);
	slost = calloc(n + lost + 1, 1);
	FZ_CHECK(sbytes && slost, "out of memory");
	uint64_t off = 0;
	size_t i = 0;
	for (int li = 0; li <= nlosses; li++) {
		size_t stop = li < nlosses ? losses[li].pos : n;
		memcpy(sbytes + off, data + i, stop - i);
		off += stop - i;
		i = stop;
		if (li < nlosses) {
			memset(slost + off, 1, losses[li].n);
			off += losses[li].n;
		}
	}

	bool seek = opt & 1;
	feed(data, n, losses, nlosses, seek, 0, seed, &whole);
	feed(data, n, losses, nlosses, seek, 1, seed, &other);
	same(&whole, &other, "byte by byte");
	feed(data, n, losses, nlosses, seek, 2, seed, &other);
	same(&whole, &other, "in pieces");

	free(sbytes);
	free(slost);
	free(data);
	return 0;
}
