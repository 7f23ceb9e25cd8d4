/* SPDX-License-Identifier: BSD-3-Clause
 * HTTP/1.x request framing (RFC 9112): where each request of a byte
 * stream begins and ends, fed the stream's bytes in order, in pieces of
 * any size.  The framer never looks back at bytes it was fed before: it
 * keeps only what framing needs (the body's length, the chunk being
 * read), so a caller keeps the bytes of a request itself, and can stop
 * keeping them (a request too large to keep) while framing goes on.
 * No allocation, no system calls, never a byte read beyond what it is
 * given.
 *
 * Rules (RFC 9112 sections):
 *  - request-line = method SP request-target SP HTTP-version (§3); the
 *    method is a token (RFC 9110 §5.6.2), the version HTTP/1.0 or
 *    HTTP/1.1 (§2.3); empty lines before it are ignored (§2.2), and a
 *    bare LF ends a line as CRLF does (§2.2);
 *  - field-line = field-name ":" OWS field-value OWS (§5); no whitespace
 *    before the colon (§5.1); obsolete line folding continues the value
 *    (§5.2);
 *  - the message body (§6.3): chunked when Transfer-Encoding's final
 *    coding is chunked, even if Content-Length is there too (counted as
 *    suspicious: request smuggling looks like that); a Transfer-Encoding
 *    whose final coding is not chunked is a bad request; else
 *    Content-Length bytes (a list of equal values is one value, RFC 9110
 *    §8.6; differing values are a bad request); else no body;
 *  - chunked transfer coding (§7.1): chunk-size in hex (more than 60 bits
 *    is a bad request), chunk extensions skipped, trailer fields read to
 *    the empty line.
 * A header section (request-line, fields and the empty line) over
 * PFS_HTTP_MAX_HEAD bytes is a bad request; so is a trailer section or a
 * chunk-size line that long.
 *
 * A bad request is reported once, then the framer seeks the next request
 * line: the next line that starts with a whole valid request-line.  It
 * also seeks (without reporting anything) at the start of a stream whose
 * beginning was not seen, and after bytes were lost (pfs_http_lost).
 */
#ifndef FILTERS_HTTPFRAME_H
#define FILTERS_HTTPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest header section (request-line, fields, empty line). */
#define PFS_HTTP_MAX_HEAD 65536u

/* What a request was found to have (pfs_http_framer.flags). */
#define PFS_HTTP_SUSPICIOUS 0x01	/* both Transfer-Encoding and Content-Length */
#define PFS_HTTP_EXPECT 0x02		/* Expect: 100-continue (RFC 9110 §10.1.1):
					 * the body follows the server's
					 * 100 response, in the same stream */

enum pfs_http_event {
	PFS_HTTP_MORE,		/* every byte was taken; none ended a request */
	PFS_HTTP_DONE,		/* a request ended at the last byte taken */
	PFS_HTTP_BAD,		/* a bad request, at the last byte taken */
};

/* One direction's framing state.  Zeroed, it expects a request at the
 * stream's first byte; pfs_http_framer_seek() makes one for a stream seen
 * from its middle.  The fields are the framer's; callers read `start`,
 * `at`, `flags` and `skipped`. */
struct pfs_http_framer {
	uint64_t at;		/* stream offset of the next byte to take */
	uint64_t start;		/* the current request's first byte (while
				 * pfs_http_in_request) */
	uint64_t skipped;	/* bytes passed over while seeking, in all */
	uint64_t left;		/* body or chunk bytes still to come */
	uint64_t length;	/* Content-Length (have_length) or chunk-size */
	uint64_t field_length;	/* this Content-Length field's value */
	uint32_t line;		/* bytes of the current line (chunk-size,
				 * trailer), or of the header section */
	uint8_t state;
	uint8_t flags;		/* PFS_HTTP_* of the current request */
	uint8_t field;		/* which field's value is being read */
	uint8_t seeking;	/* a failed request-line is no bad request */
	uint8_t have_length, te_chunked, te_seen, digits, list_sep;
	uint8_t name_len, word_len;
	char name[20];		/* the field name so far, lower case */
	char word[16];		/* the last word of a value, lower case */
};

/* A framer for a stream whose beginning was not seen (or after a loss):
 * it seeks the next request line. */
void pfs_http_framer_seek(struct pfs_http_framer *f);

/* Feeds the stream's next bytes b[0, n).  Takes bytes up to the end, or
 * up to and including the byte that ends a request (DONE: it spans
 * [f->start, f->at) of the stream) or shows one bad (BAD); *taken says
 * how many.  Feed the rest again after DONE or BAD. */
enum pfs_http_event pfs_http_feed(struct pfs_http_framer *f, const uint8_t *b,
				  size_t n, size_t *taken);

/* Is a request (or what may become one) under way, from f->start?  The
 * bytes a caller must keep to have the whole request are [f->start,
 * f->at); when false, none. */
bool pfs_http_in_request(const struct pfs_http_framer *f);

/* `n` bytes of the stream were lost (never fed): what was under way is
 * dropped, and the framer seeks the next request line after them. */
void pfs_http_lost(struct pfs_http_framer *f, uint64_t n);

/* Is s[0, n) a token (RFC 9110 §5.6.2), as methods are? */
bool pfs_http_token(const uint8_t *s, size_t n);

#endif
