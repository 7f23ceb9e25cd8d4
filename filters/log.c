/* SPDX-License-Identifier: BSD-3-Clause */
#include "filters/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char lines[PFS_LOG_LINES][PFS_LOG_LINE];
static uint64_t starts[PFS_LOG_LINES];	/* each kept line's offset in the log */
static unsigned long written;	/* lines ever logged */
static uint64_t total;		/* bytes ever logged */
static int to_stderr;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void pfs_log_to_stderr(int on)
{
	to_stderr = on;
}

/*
 * Messages quote what users typed (names, specs): a control character is
 * shown as \xNN, so no name can end a line early or forge one.  A message
 * too long for a line ends in "...".
 */
static void escape(char *out, size_t cap, const char *msg)
{
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		bool ctl = *c < 0x20 || *c == 0x7f;
		if (n + (ctl ? 4 : 1) + 4 > cap) {
			memcpy(out + n, "...", 4);
			return;
		}
		n += ctl ? (size_t)sprintf(out + n, "\\x%02x", *c) : (out[n] = (char)*c, 1);
	}
	out[n] = '\0';
}

void pfs_log(const char *fmt, ...)
{
	char raw[PFS_LOG_LINE * 2], msg[PFS_LOG_LINE - 32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape(msg, sizeof(msg), raw);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);

	pthread_mutex_lock(&lock);
	char *line = lines[written % PFS_LOG_LINES];
	int len = snprintf(line, PFS_LOG_LINE, "%lld.%06ld %s\n", (long long)now.tv_sec,
			   now.tv_nsec / 1000, msg);
	starts[written % PFS_LOG_LINES] = total;
	total += len < PFS_LOG_LINE ? (uint64_t)len : PFS_LOG_LINE - 1;
	written++;
	if (to_stderr)
		fputs(line, stderr);
	pthread_mutex_unlock(&lock);
}

uint64_t pfs_log_size(void)
{
	pthread_mutex_lock(&lock);
	uint64_t size = total;
	pthread_mutex_unlock(&lock);
	return size;
}

size_t pfs_log_read(uint64_t off, char *buf, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&lock);
	unsigned long first = written > PFS_LOG_LINES ? written - PFS_LOG_LINES : 0;
	for (unsigned long i = first; i < written && n < cap; i++) {
		const char *line = lines[i % PFS_LOG_LINES];
		uint64_t start = starts[i % PFS_LOG_LINES], len = strlen(line);
		if (start + len <= off)
			continue;
		/* Lines before the oldest kept one are gone: start there. */
		uint64_t skip = off > start ? off - start : 0;
		size_t k = (size_t)(len - skip) < cap - n ? (size_t)(len - skip) : cap - n;
		memcpy(buf + n, line + skip, k);
		n += k;
		off = start + skip + k;
	}
	pthread_mutex_unlock(&lock);
	return n;
}
