/* SPDX-License-Identifier: BSD-3-Clause
 * slowread: a test helper for tests/integration (built by the tests
 * themselves: cc -O2 -o slowread slowread.c).
 *
 *   slowread BYTES PAUSE_US [FILE]
 *
 * A slow reader: reads FILE (default: standard input) to EOF, BYTES per
 * read(2), pausing PAUSE_US microseconds after each, and copies what it
 * reads to standard output.  How slow it is changes no result: a test
 * compares what it read, never how long it took.  Exits 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(1, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: slowread BYTES PAUSE_US [FILE]\n");
		return 2;
	}
	size_t size = strtoul(argv[1], NULL, 0);
	long pause_us = atol(argv[2]);
	int fd = argc == 4 ? open(argv[3], O_RDONLY) : 0;
	char *buf = malloc(size ? size : 1);
	if (fd < 0 || !buf || !size) {
		fprintf(stderr, "slowread: %s: %s\n", argc == 4 ? argv[3] : "stdin",
			fd < 0 ? strerror(errno) : "bad size");
		return 1;
	}
	const struct timespec pause = { pause_us / 1000000, pause_us % 1000000 * 1000 };
	for (;;) {
		ssize_t r = read(fd, buf, size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "slowread: read: %s\n", strerror(errno));
			return 1;
		}
		if (r == 0)
			return 0;
		if (write_all(buf, (size_t)r) != 0) {
			fprintf(stderr, "slowread: write: %s\n", strerror(errno));
			return 1;
		}
		nanosleep(&pause, NULL);
	}
}
