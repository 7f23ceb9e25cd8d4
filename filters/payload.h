/* SPDX-License-Identifier: BSD-3-Clause
 * Where a frame's payload lies: what `payload` narrows a frame to, and
 * what `text` previews.
 */
#ifndef FILTERS_PAYLOAD_H
#define FILTERS_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "filters/pkt.h"

/* The payload of a dissected frame, as offset and length from the frame's
 * start: a TCP or UDP payload; for other IP protocols (and for later
 * fragments) the bytes after the IP headers.  False when there is none to
 * speak of: not IP, or a transport or extension header cut short.  The
 * length may be 0. */
bool pfs_payload_span(const struct pfs_pkt *p, uint32_t *off, uint32_t *len);

#endif
