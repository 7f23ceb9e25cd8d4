/* SPDX-License-Identifier: BSD-3-Clause
 * text: one line per record, for grep, written into the stage's own ring.
 *
 *   frames         EPOCH.USEC PROTO SRC > DST len N "PREVIEW"
 *   HTTP requests  EPOCH.USEC CLIENT > SERVER METHOD HOST URI
 *   anything else  EPOCH.USEC stream FLOWHASH len N "PREVIEW"
 *
 * PROTO names what the dissector found complete: tcp, udp, icmp, icmp6
 * (a whole transport header), ip, ip6 (other protocols, later fragments,
 * transport headers cut short), arp, else the ethertype in hex (0x88cc),
 * or `?` when there is none (802.3 frames, unknown link types).  SRC and
 * DST are a.b.c.d:port or [v6]:port, without the port (and the brackets)
 * when the protocol has none; MAC addresses for other Ethernet frames;
 * `-` when there are none.  N is the frame's length on the wire, also for
 * a record `payload` narrowed (records that are no frames: their length).
 * PREVIEW is up to 64 bytes of what `payload` would pass on; for frames
 * that are neither IP nor ARP (which is all header), the bytes after the
 * link-layer header; for unknown link types, the frame.  Bytes outside
 * printable ASCII, `"` and `\` show as `.`; so do spaces in the HTTP
 * fields, which keeps them one word each (an empty one shows as `-`, and
 * HOST is `-` without a Host header).  FLOWHASH is the record's flow hash
 * in 8 hex digits.  A line ends in '\n' and is cut to at most 512 bytes.
 *
 * Each line is preceded in the stage's ring by the flow it describes
 * (struct pfs_flow_meta, the descriptor's head_room), so a `pcap` view can
 * give Wireshark its addresses and ports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/filter.h"
#include "filters/payload.h"

#define LINE_MAX_BYTES 512
#define PREVIEW_BYTES 64

/* Per producer: the counters.  A line that finds no room in the stage's
 * ring is counted by the scheduler, in the node's drops. */
struct text {
	uint64_t lines;
};

static const char *const counters[] = { "lines", NULL };

/* A line being built: at most LINE_MAX_BYTES - 1 characters, then '\n'. */
struct line {
	char b[LINE_MAX_BYTES];
	size_t n;
};

static void put(struct line *l, const char *fmt, ...)
{
	size_t room = LINE_MAX_BYTES - l->n;	/* the '\n' takes the NUL's place */
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(l->b + l->n, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->n += (size_t)n < room ? (size_t)n : room - 1;
}

static void put_escaped(struct line *l, const uint8_t *s, size_t n, bool spaces)
{
	for (size_t i = 0; i < n && l->n < LINE_MAX_BYTES - 1; i++) {
		bool shown = s[i] > ' ' && s[i] < 0x7f && s[i] != '"' && s[i] != '\\';
		l->b[l->n++] = shown || (spaces && s[i] == ' ') ? (char)s[i] : '.';
	}
}

static void put_time(struct line *l, uint64_t ts_ns)
{
	put(l, "%" PRIu64 ".%06" PRIu64, ts_ns / 1000000000u, ts_ns % 1000000000u / 1000u);
}

static void put_addr(struct line *l, const uint8_t *a, unsigned alen, int port)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(alen == 4 ? AF_INET : AF_INET6, a, s, sizeof s);
	if (port < 0)
		put(l, "%s", s);
	else
		put(l, alen == 4 ? "%s:%d" : "[%s]:%d", s, port);
}

static void put_mac(struct line *l, const uint8_t *m)
{
	put(l, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- frames ---- */

static const char *proto_name(const struct pfs_pkt *p, char hex[8])
{
	static const struct { uint8_t proto; const char *name; } l4[] = {
		{ IPPROTO_TCP, "tcp" }, { IPPROTO_UDP, "udp" },
		{ IPPROTO_ICMP, "icmp" }, { IPPROTO_ICMPV6, "icmp6" },
	};

	for (size_t i = 0; i < sizeof l4 / sizeof *l4; i++)
		if (pfs_pkt_is(p, l4[i].proto))
			return l4[i].name;
	if (p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6))
		return p->flags & PFS_PKT_IP4 ? "ip" : "ip6";
	if (p->flags & PFS_PKT_ARP)
		return "arp";
	if (!p->net_proto)
		return "?";
	snprintf(hex, 8, "0x%04x", p->net_proto);
	return hex;
}

static void put_ends(struct line *l, const struct pfs_pkt *p, uint16_t link_type,
		     const uint8_t *frame, uint32_t len)
{
	bool ports = pfs_pkt_is(p, IPPROTO_TCP) || pfs_pkt_is(p, IPPROTO_UDP);

	if (p->addr_len) {
		put_addr(l, p->src, p->addr_len, ports ? p->sport : -1);
		put(l, " > ");
		put_addr(l, p->dst, p->addr_len, ports ? p->dport : -1);
	} else if (link_type == PFS_LT_ETHERNET && len >= 14) {
		put_mac(l, frame + 6);
		put(l, " > ");
		put_mac(l, frame);
	} else {
		put(l, "- > -");
	}
}

/* What the preview shows of a dissected frame of len bytes: see the top. */
static void preview_span(const struct pfs_pkt *p, bool known, uint32_t len,
			 uint32_t *off, uint32_t *plen)
{
	*off = 0;
	*plen = known ? 0 : len;
	if (!known || (p->flags & PFS_PKT_ARP))	/* ARP is all header */
		return;
	if (!(p->flags & (PFS_PKT_IP4 | PFS_PKT_IP6))) {
		*off = p->l3_off;
		*plen = p->l3_end - p->l3_off;
	} else if (!pfs_payload_span(p, off, plen)) {
		*plen = 0;
	}
}

static void frame_line(struct line *l, const struct pfs_desc *d, const uint8_t *data,
		       struct pfs_flow_meta *m)
{
	/* a narrowed frame is described by the whole frame */
	uint16_t room = d->len <= UINT32_MAX - d->head_room ? d->head_room : 0;
	const uint8_t *frame = data - room;
	uint32_t len = room + d->len, off, plen;
	struct pfs_pkt p;
	char hex[8];
	bool known = pfs_pkt_parse(&p, d->link_type, frame, len) == 0;

	if (known)
		pfs_pkt_flow(&p, m);
	preview_span(&p, known, len, &off, &plen);
	put(l, " %s ", proto_name(&p, hex));
	put_ends(l, &p, d->link_type, frame, len);
	put(l, " len %" PRIu32 " \"", d->wire_len);
	put_escaped(l, frame + off, plen < PREVIEW_BYTES ? plen : PREVIEW_BYTES, true);
	put(l, "\"");
}

/* ---- HTTP requests ---- */

static void put_endpoint(struct line *l, const struct pfs_flow_meta *m, bool client)
{
	if (m->family != 4 && m->family != 6) {
		put(l, "-");
		return;
	}
	put_addr(l, client ? m->src : m->dst, m->family == 4 ? 4 : 16,
		 client ? m->src_port : m->dst_port);
}

/* The next line of b[0, n) at *at, without its CR LF; false at the end of
 * the header section (an empty line) or of the bytes. */
static bool next_line(const uint8_t *b, uint32_t n, uint32_t *at,
		      const uint8_t **s, uint32_t *len)
{
	if (*at >= n)
		return false;
	const uint8_t *nl = memchr(b + *at, '\n', n - *at);
	uint32_t end = nl ? (uint32_t)(nl - b) : n;

	*s = b + *at;
	*len = end - *at;
	if (*len && (*s)[*len - 1] == '\r')
		(*len)--;
	*at = end + 1;
	return *len > 0;
}

/* The length of the word at s[0, n): up to a space or the end. */
static uint32_t word_len(const uint8_t *s, uint32_t n)
{
	const uint8_t *sp = memchr(s, ' ', n);
	return sp ? (uint32_t)(sp - s) : n;
}

/* A field of the HTTP line: one word, `-` when empty. */
static void put_word(struct line *l, const uint8_t *s, uint32_t n)
{
	put(l, " ");
	if (n)
		put_escaped(l, s, n, false);
	else
		put(l, "-");
}

/* The Host header's value among the header lines from b[at]; NULL if none. */
static const uint8_t *host(const uint8_t *b, uint32_t n, uint32_t at, uint32_t *len)
{
	const uint8_t *s;

	while (next_line(b, n, &at, &s, len)) {
		if (*len < 5 || strncasecmp((const char *)s, "host:", 5))
			continue;
		for (s += 5, *len -= 5; *len && (*s == ' ' || *s == '\t'); s++, (*len)--)
			;
		while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
			(*len)--;
		return s;
	}
	*len = 0;
	return b;
}

static void http_line(struct line *l, const struct pfs_desc *d, const uint8_t *data,
		      const struct pfs_flow_meta *m)
{
	const uint8_t *req = data, *value;
	uint32_t at = 0, len = 0, mlen, skip, hlen;

	put(l, " ");
	put_endpoint(l, m, true);
	put(l, " > ");
	put_endpoint(l, m, false);
	if (!next_line(data, d->len, &at, &req, &len))
		len = 0;
	mlen = word_len(req, len);
	skip = mlen < len ? mlen + 1 : len;	/* the method and its space */
	value = host(data, d->len, at, &hlen);
	put_word(l, req, mlen);
	put_word(l, value, hlen);
	put_word(l, req + skip, word_len(req + skip, len - skip));
}

/* ---- everything else ---- */

static void stream_line(struct line *l, const struct pfs_desc *d, const uint8_t *data)
{
	put(l, " stream %08" PRIx32 " len %" PRIu32 " \"", d->flow_hash, d->len);
	put_escaped(l, data, d->len < PREVIEW_BYTES ? d->len : PREVIEW_BYTES, true);
	put(l, "\"");
}

static void process(void *conf, void *pstate, const struct pfs_desc *d,
		    const uint8_t *data, struct pfs_out *out)
{
	struct text *t = pstate;
	(void)conf;
	struct line l = { .n = 0 };
	struct pfs_flow_meta m = { 0 };
	struct pfs_desc n = {
		.ts_ns = d->ts_ns, .flow_hash = d->flow_hash, .aux = d->aux,
		.head_room = sizeof m, .kind = PFS_KIND_TEXT,
		.flags = d->flags & ~PFS_REC_IN_FRAME,	/* it has its flow header */
	};

	put_time(&l, d->ts_ns);
	if (d->kind == PFS_KIND_FRAME)
		frame_line(&l, d, data, &m);
	else
		pfs_record_flow(d, data, &m);
	if (d->kind == PFS_KIND_HTTP)
		http_line(&l, d, data, &m);
	else if (d->kind != PFS_KIND_FRAME)
		stream_line(&l, d, data);
	l.b[l.n++] = '\n';
	uint8_t *w = out->alloc(out, (uint32_t)(sizeof m + l.n), &n);
	if (!w)
		return;
	memcpy(w, &m, sizeof m);
	memcpy(w + sizeof m, l.b, l.n);
	n.pos += sizeof m;
	n.len = n.wire_len = (uint32_t)l.n;
	pfs_count(&t->lines, 1);
	out->emit(out, &n, w + sizeof m);
}

const struct pfs_filter pfs_filter_text = {
	.name = "text", .usage = "text",
	.summary = "one line of text per record, for grep",
	.makes_bytes = true,
	.counters = counters, .pstate_size = sizeof(struct text),
	.process = process,
};
