/* SPDX-License-Identifier: BSD-3-Clause
 * HTTP/1.x request framing: a state machine over the stream's bytes, one
 * byte at a time in the header section and chunk-size lines, in bulk in
 * bodies and chunk data.  See httpframe.h for the rules.
 */
#include <string.h>

#include "filters/httpframe.h"

enum state {
	S_IDLE,			/* between requests: empty lines, then one */
	S_SEEK,			/* at a line start, seeking a request line */
	S_SKIP,			/* seeking: to the next line start */
	S_METHOD, S_TARGET0, S_TARGET, S_VERSION, S_LINE_CR,
	S_FIELD, S_FIELD_CR, S_NAME, S_VALUE, S_VALUE_CR,
	S_BODY,
	S_CHUNK_SIZE, S_CHUNK_EXT, S_CHUNK_SIZE_CR, S_CHUNK_DATA, S_CHUNK_END,
	S_CHUNK_END_LF, S_TRAILER, S_TRAILER_CR, S_TRAILER_LINE,
};

/* Which field's value is being read. */
enum field { F_NONE, F_OTHER, F_LENGTH, F_TE, F_EXPECT };

static const char version[] = "HTTP/1.";

/* tchar (RFC 9110 §5.6.2): the bytes of a token. */
static bool tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool pfs_http_token(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!tchar(s[i]))
			return false;
	return n > 0;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void pfs_http_framer_seek(struct pfs_http_framer *f)
{
	f->state = S_SEEK;
	f->seeking = 1;
}

bool pfs_http_in_request(const struct pfs_http_framer *f)
{
	return f->state > S_SKIP;
}

void pfs_http_lost(struct pfs_http_framer *f, uint64_t n)
{
	if (pfs_http_in_request(f))
		f->skipped += f->at - f->start;
	f->at += n;
	pfs_http_framer_seek(f);
}

/* A request (or what may be one) starts at the byte being taken. */
static void begin(struct pfs_http_framer *f)
{
	f->start = f->at;
	f->state = S_METHOD;
	f->flags = 0;
	f->line = 0;
	f->field = F_NONE;
	f->have_length = f->te_chunked = f->te_seen = 0;
	f->length = 0;
}

/* ---- field values ---- */

static void value_start(struct pfs_http_framer *f)
{
	f->field_length = 0;
	f->digits = f->list_sep = 0;
	f->word_len = 0;
}

/* One element of a Content-Length list has ended: it must agree with
 * every other (RFC 9110 §8.6). */
static bool length_element(struct pfs_http_framer *f)
{
	if (!f->digits)
		return true;	/* an empty list element */
	if (f->have_length && f->length != f->field_length)
		return false;
	f->length = f->field_length;
	f->have_length = 1;
	f->field_length = 0;
	f->digits = f->list_sep = 0;
	return true;
}

static bool length_byte(struct pfs_http_framer *f, uint8_t c)
{
	if (c >= '0' && c <= '9') {
		if (f->list_sep || f->field_length > (UINT64_MAX - 9) / 10)
			return false;
		f->field_length = f->field_length * 10 + (c - '0');
		f->digits = 1;
		return true;
	}
	if (c == ' ' || c == '\t') {
		f->list_sep = f->digits;	/* OWS after digits ends them */
		return true;
	}
	return c == ',' && length_element(f);
}

/* The last word of a list value (Transfer-Encoding's codings, Expect),
 * lower case; a word too long for `word` is no word we look for. */
static void word_byte(struct pfs_http_framer *f, uint8_t c)
{
	if (c == ',') {
		f->word_len = 0;
		f->list_sep = 0;
	} else if (c == ' ' || c == '\t') {
		f->list_sep = f->word_len > 0;
	} else if (f->list_sep || f->word_len >= sizeof f->word) {
		f->word_len = sizeof f->word;	/* no longer a plain word */
	} else {
		f->word[f->word_len++] = (char)lower(c);
	}
}

static bool word_is(const struct pfs_http_framer *f, const char *w)
{
	return f->word_len == strlen(w) && !memcmp(f->word, w, f->word_len);
}

static bool value_byte(struct pfs_http_framer *f, uint8_t c)
{
	if (c == 0)
		return false;	/* RFC 9110 §5.5: NUL is never field content */
	if (f->field == F_LENGTH)
		return length_byte(f, c);
	if (f->field == F_TE || f->field == F_EXPECT)
		word_byte(f, c);
	return true;
}

static bool value_end(struct pfs_http_framer *f)
{
	switch (f->field) {
	case F_LENGTH:
		return length_element(f);
	case F_TE:
		/* the last field's last coding is the final one (§6.1) */
		f->te_seen = 1;
		f->te_chunked = word_is(f, "chunked");
		break;
	case F_EXPECT:
		if (word_is(f, "100-continue"))
			f->flags |= PFS_HTTP_EXPECT;
		break;
	}
	return true;
}

static void name_end(struct pfs_http_framer *f)
{
	static const struct { const char *name; uint8_t field; } known[] = {
		{ "content-length", F_LENGTH },
		{ "transfer-encoding", F_TE },
		{ "expect", F_EXPECT },
	};

	f->field = F_OTHER;
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (f->name_len == strlen(known[i].name) &&
		    !memcmp(f->name, known[i].name, f->name_len))
			f->field = known[i].field;
	value_start(f);
}

/* ---- the state machine ---- */

enum step { GO, DONE, BAD };

/* The header section has ended: how the body is framed (§6.3). */
static enum step head_end(struct pfs_http_framer *f)
{
	if (f->te_seen) {
		if (!f->te_chunked)
			return BAD;
		if (f->have_length)
			f->flags |= PFS_HTTP_SUSPICIOUS;
		f->state = S_CHUNK_SIZE;
		f->length = f->digits = f->list_sep = 0;
		f->line = 0;
		return GO;
	}
	if (!f->have_length || f->length == 0)
		return DONE;
	f->left = f->length;
	f->state = S_BODY;
	return GO;
}

static enum step chunk_size_end(struct pfs_http_framer *f)
{
	f->line = 0;
	if (f->length == 0) {
		f->state = S_TRAILER;
		return GO;
	}
	f->left = f->length;
	f->state = S_CHUNK_DATA;
	return GO;
}

/* The request line and the header section, one byte. */
static enum step head_byte(struct pfs_http_framer *f, uint8_t c)
{
	if (++f->line > PFS_HTTP_MAX_HEAD)
		return BAD;
	switch (f->state) {
	case S_METHOD:
		if (c == ' ' && f->at > f->start) {
			f->state = S_TARGET0;
			return GO;
		}
		return tchar(c) ? GO : BAD;
	case S_TARGET0:
	case S_TARGET:
		if (c == ' ' && f->state == S_TARGET) {
			f->state = S_VERSION;
			f->word_len = 0;
			return GO;
		}
		f->state = S_TARGET;
		return c > ' ' && c != 0x7f ? GO : BAD;
	case S_VERSION:
		if (f->word_len < sizeof version - 1)
			return c == (uint8_t)version[f->word_len++] ? GO : BAD;
		if (f->word_len == sizeof version - 1 && c >= '0' && c <= '9') {
			f->word_len++;
			return GO;
		}
		if (f->word_len < sizeof version)
			return BAD;
		if (c == '\n') {
			f->state = S_FIELD;
			return GO;
		}
		f->state = S_LINE_CR;
		return c == '\r' ? GO : BAD;
	case S_LINE_CR:
	case S_FIELD_CR:
	case S_VALUE_CR:
		if (c != '\n')
			return BAD;
		if (f->state == S_FIELD_CR)
			return head_end(f);
		f->state = S_FIELD;	/* a value ends when no fold follows */
		return GO;
	case S_FIELD:
		if (c == '\r' || c == '\n') {
			if (!value_end(f))
				return BAD;
			f->state = S_FIELD_CR;
			return c == '\n' ? head_end(f) : GO;
		}
		if (c == ' ' || c == '\t') {	/* obs-fold (§5.2) */
			f->state = S_VALUE;
			return f->field != F_NONE && value_byte(f, ' ') ? GO : BAD;
		}
		if (!value_end(f))
			return BAD;
		f->name_len = 0;
		f->state = S_NAME;
		/* fall through */
	case S_NAME:
		if (c == ':' && f->name_len) {
			name_end(f);
			f->state = S_VALUE;
			return GO;
		}
		if (!tchar(c))
			return BAD;
		if (f->name_len < sizeof f->name)
			f->name[f->name_len] = (char)lower(c);
		if (f->name_len < UINT8_MAX)
			f->name_len++;
		return GO;
	case S_VALUE:
		if (c == '\r') {
			f->state = S_VALUE_CR;
			return GO;
		}
		if (c == '\n') {
			f->state = S_FIELD;
			return GO;
		}
		return value_byte(f, c) ? GO : BAD;
	}
	return BAD;
}

/* Chunk-size lines and the trailer section, one byte. */
static enum step chunk_byte(struct pfs_http_framer *f, uint8_t c)
{
	if (++f->line > PFS_HTTP_MAX_HEAD)
		return BAD;
	switch (f->state) {
	case S_CHUNK_SIZE:
		if (hex(c) >= 0 && !f->list_sep) {
			if (++f->digits > 15)
				return BAD;	/* over 60 bits */
			f->length = f->length << 4 | (uint64_t)hex(c);
			return GO;
		}
		if (!f->digits)
			return BAD;
		if (c == '\n')
			return chunk_size_end(f);
		if (c == '\r')
			f->state = S_CHUNK_SIZE_CR;
		else if (c == ';')
			f->state = S_CHUNK_EXT;
		else if (c == ' ' || c == '\t')
			f->list_sep = 1;	/* BWS before an extension */
		else
			return BAD;
		return GO;
	case S_CHUNK_EXT:
		if (c == '\n')
			return chunk_size_end(f);
		if (c == '\r')
			f->state = S_CHUNK_SIZE_CR;
		return GO;
	case S_CHUNK_SIZE_CR:
		return c == '\n' ? chunk_size_end(f) : BAD;
	case S_CHUNK_END:
		f->state = S_CHUNK_END_LF;
		if (c == '\r')
			return GO;
		/* a bare LF */
		/* fall through */
	case S_CHUNK_END_LF:
		if (c != '\n')
			return BAD;
		f->state = S_CHUNK_SIZE;
		f->length = f->digits = f->list_sep = 0;
		f->line = 0;
		return GO;
	case S_TRAILER:
		if (c == '\n')
			return DONE;
		f->state = c == '\r' ? S_TRAILER_CR : S_TRAILER_LINE;
		return GO;
	case S_TRAILER_CR:
		return c == '\n' ? DONE : BAD;
	case S_TRAILER_LINE:
		if (c == '\n')
			f->state = S_TRAILER;
		return GO;
	}
	return BAD;
}

/* One byte outside requests: between them, or seeking. */
static enum step outside_byte(struct pfs_http_framer *f, uint8_t c)
{
	switch (f->state) {
	case S_IDLE:
		if (c == '\r' || c == '\n')
			return GO;	/* empty lines before a request (§2.2) */
		break;
	case S_SKIP:
		if (c == '\n')
			f->state = S_SEEK;
		f->skipped++;
		return GO;
	case S_SEEK:
		if (!tchar(c)) {
			f->state = c == '\n' ? S_SEEK : S_SKIP;
			f->skipped++;
			return GO;
		}
		break;
	}
	begin(f);
	return head_byte(f, c);
}

static enum step byte(struct pfs_http_framer *f, uint8_t c)
{
	if (f->state <= S_SKIP)
		return outside_byte(f, c);
	if (f->state < S_BODY)
		return head_byte(f, c);
	return chunk_byte(f, c);
}

/* The request that ends with the byte just taken failed: report it (not
 * when it was a guess made while seeking), and seek the next line. */
static enum pfs_http_event fail(struct pfs_http_framer *f, uint8_t c)
{
	bool report = !f->seeking;
	f->skipped += f->at - f->start;
	f->seeking = 1;
	f->state = c == '\n' ? S_SEEK : S_SKIP;
	return report ? PFS_HTTP_BAD : PFS_HTTP_MORE;
}

enum pfs_http_event pfs_http_feed(struct pfs_http_framer *f, const uint8_t *b,
				  size_t n, size_t *taken)
{
	size_t i = 0;

	while (i < n) {
		if (f->state == S_BODY || f->state == S_CHUNK_DATA) {
			size_t k = f->left < n - i ? (size_t)f->left : n - i;
			f->left -= k;
			f->at += k;
			i += k;
			if (f->left)
				break;
			if (f->state == S_CHUNK_DATA) {
				f->state = S_CHUNK_END;
				continue;
			}
			*taken = i;
			f->state = S_IDLE;
			f->seeking = 0;
			return PFS_HTTP_DONE;
		}
		uint8_t c = b[i++];
		enum step s = byte(f, c);
		f->at++;
		if (s == DONE) {
			*taken = i;
			f->state = S_IDLE;
			f->seeking = 0;
			return PFS_HTTP_DONE;
		}
		if (s == BAD) {
			enum pfs_http_event ev = fail(f, c);
			if (ev == PFS_HTTP_BAD) {
				*taken = i;
				return ev;
			}
		}
	}
	*taken = i;
	return PFS_HTTP_MORE;
}
