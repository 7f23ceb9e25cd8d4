/* SPDX-License-Identifier: BSD-3-Clause
 * What the HTTP stages (`http`, `method=M`) tell the stages below them.
 *
 * An HTTP request record (PFS_KIND_HTTP) holds one request's exact wire
 * bytes.  Which connection it came on is found in one of two places:
 *  - a request that lay inside one segment is not copied: the record
 *    points into its frame, flagged PFS_REC_IN_FRAME, and the frame's
 *    headers are the head_room bytes before it (link_type says the
 *    frame's link type); the frame's sender is the client;
 *  - a request assembled from several segments is copied into the
 *    stage's ring after a struct pfs_flow_meta, and head_room is the
 *    meta's size.
 * Requests framed from a written byte stream have no addresses (a zero
 * family).  pfs_record_flow() (filters/pkt.h) reads either form.
 *
 * A request longer than PFS_HTTP_MAX_RECORD bytes (a large body) becomes
 * a record of its first PFS_HTTP_MAX_RECORD bytes (its header section and
 * the start of its body) with PFS_HTTP_AUX_TRUNCATED set in the
 * descriptor's aux; the rest of its body is passed over.
 */
#ifndef FILTERS_HTTP_H
#define FILTERS_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "filters/tcpreasm.h"
#include "pipesfs_record.h"

#define PFS_HTTP_MAX_RECORD PFS_TCP_KEEP
#define PFS_HTTP_AUX_TRUNCATED 0x1u

#endif
