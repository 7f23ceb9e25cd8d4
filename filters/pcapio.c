/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/pcapio.h"

#include <netinet/in.h>
#include <string.h>

#include "filters/pkt.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du

/* Wireshark's epan/exported_pdu.h: tags are a 16-bit code and a 16-bit
 * length (of the value that follows), both big-endian. */
#define EXP_PDU_TAG_END_OF_OPT 0
#define EXP_PDU_TAG_DISSECTOR_NAME 12	/* once EXP_PDU_TAG_PROTO_NAME */
#define EXP_PDU_TAG_DISSECTOR_TABLE_NAME 14
#define EXP_PDU_TAG_DISSECTOR_TABLE_NAME_NUM_VAL 32	/* right after the table's */
#define EXP_PDU_TAG_IPV4_SRC 20
#define EXP_PDU_TAG_IPV4_DST 21
#define EXP_PDU_TAG_IPV6_SRC 22
#define EXP_PDU_TAG_IPV6_DST 23
#define EXP_PDU_TAG_PORT_TYPE 24
#define EXP_PDU_TAG_SRC_PORT 25
#define EXP_PDU_TAG_DST_PORT 26
#define EXP_PDU_PT_TCP 2
#define EXP_PDU_PT_UDP 3

struct global_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct record_hdr {
	uint32_t sec, frac, caplen, len;
};

_Static_assert(sizeof(struct record_hdr) + PFS_UPPER_PDU_TAGS_MAX <= BW_HEAD_MAX,
	       "a record header and its tags fit a record's head");

/* A narrowed frame (`payload`) is no longer a frame of its link type. */
int pfs_pcap_link_type(const struct pfs_desc *d)
{
	return d->kind == PFS_KIND_FRAME && !d->head_room ? d->link_type
							  : PFS_LINKTYPE_UPPER_PDU;
}

void pfs_pcap_view_of(struct pfs_pcap_view *v, const struct pfs_desc *first)
{
	v->link_type = pfs_pcap_link_type(first);
	v->nsec = first->flags & PFS_REC_TS_NSEC;
}

void pfs_pcap_global_header(uint8_t out[PFS_PCAP_GLOBAL_LEN], const struct pfs_pcap_view *v)
{
	struct global_hdr h = {
		.magic = v->nsec ? MAGIC_NSEC : MAGIC_USEC, .major = 2, .minor = 4,
		.snaplen = pfs_max_snaplen(v->link_type), .linktype = (uint32_t)v->link_type,
	};
	memcpy(out, &h, sizeof(h));
}

/* ---- exported-PDU tags ---- */

static uint8_t *put_tag(uint8_t *p, uint16_t code, const void *value, uint16_t len)
{
	uint16_t padded = (uint16_t)((len + 3) & ~3u);
	*p++ = (uint8_t)(code >> 8);
	*p++ = (uint8_t)code;
	*p++ = (uint8_t)(padded >> 8);
	*p++ = (uint8_t)padded;
	memset(p, 0, padded);
	if (len)
		memcpy(p, value, len);
	return p + padded;
}

static uint8_t *put_tag_u32(uint8_t *p, uint16_t code, uint32_t v)
{
	uint32_t be = htonl(v);
	return put_tag(p, code, &be, 4);
}

/* Wireshark's dissector for a record's bytes: its "data-text-lines"
 * shows a text line as text; "data" is raw bytes. */
static const char *dissector(const struct pfs_desc *d)
{
	switch (d->kind) {
	case PFS_KIND_HTTP:
		return "http";
	case PFS_KIND_TEXT:
		return "data-text-lines";
	}
	return "data";
}

/* The tag that says how to dissect the record.  A transport payload
 * (`payload`) goes to Wireshark's port table, its lower port first, as
 * Wireshark's TCP and UDP dissectors hand on a segment's payload (nothing
 * is shown for a port it has no dissector for, but the bytes); anything
 * else to its dissector by name. */
static uint8_t *put_dissector(uint8_t *p, const struct pfs_desc *d, const struct pfs_flow_meta *m)
{
	bool ports = m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP;
	if (d->kind != PFS_KIND_FRAME || !ports) {
		const char *name = dissector(d);
		return put_tag(p, EXP_PDU_TAG_DISSECTOR_NAME, name, (uint16_t)strlen(name));
	}
	const char *table = m->proto == IPPROTO_TCP ? "tcp.port" : "udp.port";
	uint16_t port = m->src_port < m->dst_port ? m->src_port : m->dst_port;
	p = put_tag(p, EXP_PDU_TAG_DISSECTOR_TABLE_NAME, table, (uint16_t)strlen(table));
	return put_tag_u32(p, EXP_PDU_TAG_DISSECTOR_TABLE_NAME_NUM_VAL, port);
}

static uint8_t *put_flow(uint8_t *p, const struct pfs_flow_meta *m)
{
	if (m->family != 4 && m->family != 6)
		return p;
	bool v4 = m->family == 4;
	p = put_tag(p, v4 ? EXP_PDU_TAG_IPV4_SRC : EXP_PDU_TAG_IPV6_SRC, m->src, v4 ? 4 : 16);
	p = put_tag(p, v4 ? EXP_PDU_TAG_IPV4_DST : EXP_PDU_TAG_IPV6_DST, m->dst, v4 ? 4 : 16);
	if (m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP)
		return p;
	p = put_tag_u32(p, EXP_PDU_TAG_PORT_TYPE,
			m->proto == IPPROTO_TCP ? EXP_PDU_PT_TCP : EXP_PDU_PT_UDP);
	p = put_tag_u32(p, EXP_PDU_TAG_SRC_PORT, m->src_port);
	return put_tag_u32(p, EXP_PDU_TAG_DST_PORT, m->dst_port);
}

size_t pfs_upper_pdu_tags(const struct pfs_desc *d, const uint8_t *data, uint8_t *out)
{
	if (d->kind == PFS_KIND_FRAME && !d->head_room)
		return 0;
	struct pfs_flow_meta m;
	pfs_record_flow(d, data, &m);
	uint8_t *p = put_dissector(out, d, &m);
	p = put_flow(p, &m);
	p = put_tag(p, EXP_PDU_TAG_END_OF_OPT, NULL, 0);
	return (size_t)(p - out);
}

/* ---- records ---- */

void pfs_pcap_frame(const struct pfs_pcap_view *v, const struct pfs_desc *d,
		    const uint8_t *data, struct bw_frame *f)
{
	if (pfs_pcap_link_type(d) != v->link_type) {
		f->skip = true;
		return;
	}
	size_t ntags = pfs_upper_pdu_tags(d, data, f->head + sizeof(struct record_hdr));
	uint32_t ns = (uint32_t)(d->ts_ns % 1000000000u);
	struct record_hdr h = {
		.sec = (uint32_t)(d->ts_ns / 1000000000u),
		.frac = v->nsec ? ns : ns / 1000u,
		.caplen = (uint32_t)(d->len + ntags),
		.len = (uint32_t)((ntags ? d->len : d->wire_len) + ntags),
	};
	memcpy(f->head, &h, sizeof(h));
	f->head_len = sizeof(h) + ntags;
}
