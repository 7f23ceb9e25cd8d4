/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/pcapio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufs/merge.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
#define EXP_PDU_TAG_PROTO_NAME 12
#define EXP_PDU_TAG_END 0

struct global_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct record_hdr {
	uint32_t sec, usec, caplen, len;
};

/* A narrowed frame (`payload`) is no longer a frame of its link type. */
int pfs_pcap_link_type(const struct pfs_desc *d)
{
	return d->kind == PFS_KIND_FRAME && !d->head_room ? d->link_type
							  : PFS_LINKTYPE_UPPER_PDU;
}

void pfs_pcap_global_header(uint8_t out[PFS_PCAP_GLOBAL_LEN], int link_type)
{
	struct global_hdr h = {
		.magic = MAGIC_USEC, .major = 2, .minor = 4,
		.snaplen = PFS_PCAP_MAX_RECORD, .linktype = (uint32_t)link_type,
	};
	memcpy(out, &h, sizeof(h));
}

static const char *proto_name(uint8_t kind)
{
	return kind == PFS_KIND_HTTP ? "http" : "data";
}

/* Exported-PDU tags: the protocol's name, padded to 4 bytes, then END. */
static size_t upper_pdu_tags(const struct pfs_desc *d, uint8_t *out)
{
	const char *name = proto_name(d->kind);
	uint16_t len = (uint16_t)strlen(name);
	uint16_t padded = (uint16_t)((len + 3) & ~3u);
	uint8_t *p = out;
	*p++ = 0;
	*p++ = EXP_PDU_TAG_PROTO_NAME;
	*p++ = (uint8_t)(padded >> 8);
	*p++ = (uint8_t)padded;
	memset(p, 0, padded);
	memcpy(p, name, len);
	p += padded;
	memset(p, 0, 4);	/* EXP_PDU_TAG_END, length 0 */
	return (size_t)(p + 4 - out);
}

size_t pfs_pcap_record_prefix(const struct pfs_desc *d, void *out, void *link_type)
{
	int want = *(int *)link_type;
	if (pfs_pcap_link_type(d) != want)
		return BW_PREFIX_SKIP;
	uint8_t tags[32];
	/* A whole frame of link type 252 carries its own tags already. */
	bool plain_frame = d->kind == PFS_KIND_FRAME && d->head_room == 0;
	size_t ntags = want == PFS_LINKTYPE_UPPER_PDU && !plain_frame
		       ? upper_pdu_tags(d, tags) : 0;
	struct record_hdr h = {
		.sec = (uint32_t)(d->ts_ns / 1000000000u),
		.usec = (uint32_t)(d->ts_ns % 1000000000u / 1000u),
		.caplen = (uint32_t)(d->len + ntags),
		.len = (uint32_t)((ntags ? d->len : d->wire_len) + ntags),
	};
	memcpy(out, &h, sizeof(h));
	memcpy((uint8_t *)out + sizeof(h), tags, ntags);
	return sizeof(h) + ntags;
}

