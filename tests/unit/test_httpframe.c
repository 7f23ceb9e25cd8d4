/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for the HTTP/1.x request framer (filters/httpframe.c): each
 * stream is fed whole, byte by byte, and in pieces of every size, and
 * must frame the same requests each way.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/httpframe.h"

#define MAX_EVENTS 16

/* What framing a stream gave: each request's span, and the bad ones. */
struct framed {
	int n;			/* requests */
	uint64_t start[MAX_EVENTS], end[MAX_EVENTS];
	uint8_t flags[MAX_EVENTS];
	int bad;
	uint64_t skipped;
	bool open;		/* a request under way at the end */
};

/* Feeds s[0, n) in pieces of `piece` bytes (0: whole), to f. */
static void feed(struct pfs_http_framer *f, const char *s, size_t n, size_t piece,
		 struct framed *out)
{
	for (size_t at = 0; at < n;) {
		size_t len = piece && piece < n - at ? piece : n - at, taken;
		enum pfs_http_event ev = pfs_http_feed(f, (const uint8_t *)s + at, len, &taken);
		ck_assert_uint_le(taken, len);
		ck_assert(taken > 0 || len == 0);
		at += taken;
		if (ev == PFS_HTTP_DONE) {
			ck_assert_int_lt(out->n, MAX_EVENTS);
			out->start[out->n] = f->start;
			out->end[out->n] = f->at;
			out->flags[out->n++] = f->flags;
		} else if (ev == PFS_HTTP_BAD) {
			out->bad++;
		}
	}
	out->skipped = f->skipped;
	out->open = pfs_http_in_request(f);
}

/* Frames s (from its start, or seeking), checks every way of feeding it
 * agrees, and returns the framing. */
static struct framed frame_as(const char *s, size_t n, bool seek)
{
	struct framed whole;

	for (size_t piece = 0; piece <= (n < 40 ? n : 40); piece++) {
		struct pfs_http_framer f = { 0 };
		struct framed got;
		memset(&got, 0, sizeof got);	/* padding too: compared whole */
		if (seek)
			pfs_http_framer_seek(&f);
		feed(&f, s, n, piece, &got);
		ck_assert_uint_eq(f.at, n);
		if (piece == 0)
			whole = got;
		else
			ck_assert_msg(!memcmp(&got, &whole, sizeof got),
				      "fed in pieces of %zu, framed otherwise", piece);
	}
	return whole;
}

static struct framed frame(const char *s)
{
	return frame_as(s, strlen(s), false);
}

/* One request spanning [start, end) of the stream. */
static void is_request(const struct framed *f, int i, uint64_t start, uint64_t end)
{
	ck_assert_int_gt(f->n, i);
	ck_assert_uint_eq(f->start[i], start);
	ck_assert_uint_eq(f->end[i], end);
}

START_TEST(request_line_and_fields)
{
	static const char get[] = "GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
	struct framed f = frame(get);

	ck_assert_int_eq(f.n, 1);
	is_request(&f, 0, 0, strlen(get));
	ck_assert_int_eq(f.bad, 0);
	ck_assert(!f.open);
	ck_assert_uint_eq(f.flags[0], 0);

	f = frame("GET / HTTP/1.0\n\n");	/* bare LF lines, HTTP/1.0 */
	ck_assert_int_eq(f.n, 1);
	f = frame("\r\n\r\nGET / HTTP/1.1\r\n\r\n");	/* empty lines before */
	is_request(&f, 0, 4, 22);
	f = frame("OPTIONS * HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n");	/* obs-fold */
	ck_assert_int_eq(f.n, 1);
	f = frame("GET / HTTP/1.1\r\nHost: x\r\n");	/* the head is not over */
	ck_assert_int_eq(f.n, 0);
	ck_assert(f.open);
}
END_TEST

START_TEST(bodies)
{
	static const char post[] = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
	struct framed f = frame(post);

	ck_assert_int_eq(f.n, 2);
	is_request(&f, 0, 0, strlen(post) - 18);
	is_request(&f, 1, strlen(post) - 18, strlen(post));

	/* a list of equal values is one value (RFC 9110 §8.6) */
	f = frame("PUT / HTTP/1.1\r\ncontent-length: 2, 2\r\nContent-Length:2\r\n\r\nhi");
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.bad, 0);

	static const char chunked[] = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
				      "5;ext=1\r\nhello\r\n10 \r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n";
	f = frame(chunked);
	ck_assert_int_eq(f.n, 1);
	is_request(&f, 0, 0, strlen(chunked));
	ck_assert_uint_eq(f.flags[0], 0);

	/* chunked wins over Content-Length, and that is suspicious */
	static const char both[] = "POST / HTTP/1.1\r\nContent-Length: 100\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	f = frame(both);
	ck_assert_int_eq(f.n, 2);
	ck_assert_uint_eq(f.flags[0], PFS_HTTP_SUSPICIOUS);
	ck_assert_uint_eq(f.flags[1], 0);
	is_request(&f, 0, 0, strlen(both) - 18);
}
END_TEST

START_TEST(expect_continue)
{
	struct framed f = frame("PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");

	ck_assert_int_eq(f.n, 0);	/* the body comes after the server's 100 */
	ck_assert(f.open);
	f = frame("PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
	ck_assert_int_eq(f.n, 1);
	ck_assert_uint_eq(f.flags[0], PFS_HTTP_EXPECT);
}
END_TEST

/* A bad request is counted once and skipped: the next request is found. */
static void bad_then_good(const char *bad)
{
	char s[1024];
	snprintf(s, sizeof s, "%sGET /next HTTP/1.1\r\n\r\n", bad);
	struct framed f = frame(s);
	ck_assert_msg(f.bad == 1, "%s: %d bad", bad, f.bad);
	ck_assert_msg(f.n == 1, "%s: %d requests", bad, f.n);
	is_request(&f, 0, strlen(bad), strlen(s));
	ck_assert_uint_eq(f.skipped, strlen(bad));
}

START_TEST(bad_requests)
{
	bad_then_good("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
	bad_then_good("POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n");
	bad_then_good("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n");
	bad_then_good("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
	bad_then_good("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		      "10000000000000000\r\n");		/* a chunk size over 60 bits */
	bad_then_good("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	bad_then_good("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
	bad_then_good("G(T / HTTP/1.1\r\n\r\n");	/* a method that is no token */
	bad_then_good("GET /\r\n");
	bad_then_good("GET / HTTP/2.0\r\n\r\n");
	bad_then_good("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n");
	bad_then_good("GET / HTTP/1.1\r\n folded-first: x\r\n\r\n");
	bad_then_good("GET / HTTP/1.1\rX\r\n");
}
END_TEST

START_TEST(header_section_limit)
{
	size_t n = PFS_HTTP_MAX_HEAD + 100;
	char *s = malloc(n + 64);
	struct pfs_http_framer f = { 0 };
	struct framed got = { 0 };

	ck_assert_ptr_nonnull(s);
	strcpy(s, "GET / HTTP/1.1\r\nX: ");
	memset(s + strlen(s), 'a', PFS_HTTP_MAX_HEAD);
	strcpy(s + 19 + PFS_HTTP_MAX_HEAD, "\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
	feed(&f, s, strlen(s), 0, &got);
	ck_assert_int_eq(got.bad, 1);
	ck_assert_int_eq(got.n, 1);
	ck_assert_uint_eq(got.end[0], strlen(s));

	/* just within the limit: a request */
	memset(&f, 0, sizeof f);
	memset(&got, 0, sizeof got);
	size_t fill = PFS_HTTP_MAX_HEAD - 19 - 4;
	strcpy(s, "GET / HTTP/1.1\r\nX: ");
	memset(s + 19, 'a', fill);
	strcpy(s + 19 + fill, "\r\n\r\n");
	ck_assert_uint_eq(strlen(s), PFS_HTTP_MAX_HEAD);
	feed(&f, s, strlen(s), 0, &got);
	ck_assert_int_eq(got.bad, 0);
	ck_assert_int_eq(got.n, 1);
	free(s);
}
END_TEST

START_TEST(seeking)
{
	/* mid-stream: the end of a body, then requests */
	static const char mid[] = "ody bytes\r\nmore GET / HTTP/1.1 not a line start\r\n"
				  "GET /x HTTP/1.1\r\n\r\n";
	struct framed f = frame_as(mid, strlen(mid), true);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.bad, 0);		/* guesses are not bad requests */
	is_request(&f, 0, strlen(mid) - 19, strlen(mid));
	ck_assert_uint_eq(f.skipped, strlen(mid) - 19);

	/* responses never frame as requests */
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	f = frame_as(resp, strlen(resp), true);
	ck_assert_int_eq(f.n, 0);
	ck_assert_int_eq(f.bad, 0);

	/* bytes lost in a request: it goes, the next is found */
	struct pfs_http_framer fr = { 0 };
	struct framed got = { 0 };
	feed(&fr, "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", 43, 0, &got);
	ck_assert(got.open);
	pfs_http_lost(&fr, 97);
	ck_assert(!pfs_http_in_request(&fr));
	feed(&fr, "GET /after HTTP/1.1\r\n\r\n", 23, 0, &got);
	ck_assert_int_eq(got.n, 1);
	is_request(&got, 0, 140, 163);
	ck_assert_uint_eq(got.skipped, 43);
}
END_TEST

START_TEST(tokens)
{
	ck_assert(pfs_http_token((const uint8_t *)"GET", 3));
	ck_assert(pfs_http_token((const uint8_t *)"M-SEARCH", 8));
	ck_assert(!pfs_http_token((const uint8_t *)"G T", 3));
	ck_assert(!pfs_http_token((const uint8_t *)"", 0));
	ck_assert(!pfs_http_token((const uint8_t *)"a/b", 3));
}
END_TEST

/* Random bytes never crash it, and it always takes what it is given. */
START_TEST(noise)
{
	static const char *const bits[] = {
		"GET ", "POST ", "/", " HTTP/1.1", "\r\n", "\n", "Content-Length: ",
		"Transfer-Encoding: chunked", "5", "ffffffffffffffffff", ";x", ":", " ",
		"\r", "0\r\n\r\n", "abc", "\0", "\xff",
	};
	uint32_t seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char s[512];
		size_t n = 0;
		while (n < 400) {
			seed = seed * 1103515245u + 12345u;
			const char *b = bits[(seed >> 16) % (sizeof bits / sizeof *bits)];
			size_t len = *b ? strlen(b) : 1;
			memcpy(s + n, b, len);
			n += len;
		}
		struct pfs_http_framer f = { 0 };
		struct framed got = { 0 };
		feed(&f, s, n, (seed >> 8) % 7, &got);
		ck_assert_uint_eq(f.at, n);
	}
}
END_TEST

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	Suite *s = suite_create("httpframe");
	TCase *tc = tcase_create("framing");
	/* A bound on a hang, not on speed: sanitizer builds on a busy
	 * machine take many times the default 4 s. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, request_line_and_fields);
	tcase_add_test(tc, bodies);
	tcase_add_test(tc, expect_continue);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, header_section_limit);
	tcase_add_test(tc, seeking);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, noise);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
