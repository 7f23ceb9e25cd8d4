/* SPDX-License-Identifier: BSD-3-Clause
 * zerocopy-count NODE [SECONDS]: count a pipesfs node's records and bytes
 * through libpipesfs, reading them in place (nothing is copied), until
 * the node's end of stream or SECONDS (0: no limit) without a record.
 * Prints "records N bytes B lost L".  Exit 0, or 1 with a line on stderr.
 *
 *	cc -o zerocopy-count zerocopy-count.c $(pkg-config --cflags --libs pipesfs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipesfs.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: zerocopy-count NODE [SECONDS]\n");
		return 2;
	}
	int idle_ms = argc == 3 ? atoi(argv[2]) * 1000 : 0, err;
	struct pipesfs_client *c = pipesfs_open(argv[1], 0, &err);
	if (!c) {
		fprintf(stderr, "zerocopy-count: %s: %s\n", argv[1], strerror(err));
		return 1;
	}
	unsigned long long records = 0, bytes = 0;
	int rc = 0;
	for (;;) {
		struct pipesfs_record r;
		int n = pipesfs_next(c, &r);
		if (n < 0) {
			rc = n;
			break;
		}
		if (n == 1) {
			/* The bytes are used (here: looked at once) before the
			 * check, as a real reader would. */
			volatile uint8_t first = r.len ? r.data[0] : 0;
			(void)first;
			if (pipesfs_intact(c, &r)) {
				records++;
				bytes += r.len;
			}
			continue;
		}
		if (pipesfs_eof(c))
			break;
		if ((rc = pipesfs_wait(c, idle_ms ? idle_ms : -1)) <= 0)
			break;
	}
	printf("records %llu bytes %llu lost %llu\n", records, bytes,
	       (unsigned long long)pipesfs_lost(c));
	pipesfs_close(c);
	if (rc < 0) {
		fprintf(stderr, "zerocopy-count: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	return 0;
}
