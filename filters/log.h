/* SPDX-License-Identifier: BSD-3-Clause
 * The daemon's recent messages, one line each: what the mount root's `log`
 * file shows, so a user can see why an operation was refused.
 */
#ifndef FILTERS_LOG_H
#define FILTERS_LOG_H

#include <stddef.h>

#define PFS_LOG_LINES 256	/* kept; older lines are forgotten */
#define PFS_LOG_LINE 512	/* longest line kept, with its '\n' */

void pfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Also copy every line to stderr (foreground/debug mode). */
void pfs_log_to_stderr(int on);

/* Copy the kept lines, oldest first, into buf; returns the bytes written. */
size_t pfs_log_read(char *buf, size_t cap);

#endif
