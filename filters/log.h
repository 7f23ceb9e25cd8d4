/* SPDX-License-Identifier: BSD-3-Clause
 * The daemon's recent messages, one line each: what the mount root's `log`
 * file shows, so a user can see why an operation was refused.
 */
#ifndef FILTERS_LOG_H
#define FILTERS_LOG_H

#include <stddef.h>
#include <stdint.h>

#define PFS_LOG_LINES 256	/* kept; older lines are forgotten */
#define PFS_LOG_LINE 512	/* longest line kept, with its '\n' */

void pfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Also copy every line to stderr (foreground/debug mode). */
void pfs_log_to_stderr(int on);

/* The log is a file that only grows: its size is every byte ever logged,
 * and the last PFS_LOG_LINES lines are kept.  read copies up to cap bytes
 * from offset off (from the oldest line kept, for an offset before it);
 * returns the bytes copied, 0 at the end. */
uint64_t pfs_log_size(void);
size_t pfs_log_read(uint64_t off, char *buf, size_t cap);

#endif
