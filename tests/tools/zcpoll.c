/* SPDX-License-Identifier: BSD-3-Clause
 * A libpipesfs client in an event loop, as the manual says to write one:
 * poll(2) on pipesfs_fd(), then pipesfs_wait(c, 0), then pipesfs_next()
 * until it returns 0.  For t_client.
 *
 *   zcpoll NODE SECONDS [BUSY_MS [now]]
 *
 * Reads NODE's records until end of stream, or SECONDS without one; with
 * BUSY_MS, sleeps that long after the open first (a client busy when the
 * first records come); `now` opens with PIPESFS_FROM_NOW.  Prints "records N bytes B lost L", or "error: ..."
 * (exit status 1) when the library fails (the daemon gone: ECONNRESET).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipesfs.h"

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 5 || (argc == 5 && strcmp(argv[4], "now") != 0)) {
		fprintf(stderr, "usage: zcpoll NODE SECONDS [BUSY_MS [now]]\n");
		return 2;
	}
	int err, rc = 0;
	struct pipesfs_client *c = pipesfs_open(argv[1], argc == 5 ? PIPESFS_FROM_NOW : 0, &err);
	if (!c) {
		printf("error: %s\n", strerror(err));
		return 1;
	}
	if (argc >= 4)
		usleep((useconds_t)atoi(argv[3]) * 1000);
	unsigned long long records = 0, bytes = 0;
	struct pollfd p = { .fd = pipesfs_fd(c), .events = POLLIN };
	for (;;) {
		struct pipesfs_record r;
		while ((rc = pipesfs_next(c, &r)) == 1)
			if (pipesfs_intact(c, &r)) {
				records++;
				bytes += r.len;
			}
		if (rc < 0 || pipesfs_eof(c) || poll(&p, 1, atoi(argv[2]) * 1000) <= 0 ||
		    (rc = pipesfs_wait(c, 0)) < 0)
			break;
	}
	if (rc < 0)
		printf("error: %s\n", strerror(-rc));
	else
		printf("records %llu bytes %llu lost %llu\n", records, bytes,
		       (unsigned long long)pipesfs_lost(c));
	pipesfs_close(c);
	return rc < 0;
}
