/* SPDX-License-Identifier: BSD-3-Clause
 * rdloop: a test helper for tests/integration (built by the tests
 * themselves: cc -O2 -o rdloop rdloop.c).
 *
 *   rdloop N FILE...
 *
 * N times, for each FILE: open it, read it to EOF, close it.  Stresses the
 * daemon's open/read/release paths with no process started per read.
 * Exits 1 at the first failure (reported on stderr), else 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rdloop N FILE...\n");
		return 2;
	}
	long n = atol(argv[1]);
	static char buf[1 << 16];
	for (long i = 0; i < n; i++) {
		for (int f = 2; f < argc; f++) {
			int fd = open(argv[f], O_RDONLY);
			if (fd < 0) {
				fprintf(stderr, "rdloop: round %ld: open %s: %s\n", i, argv[f],
					strerror(errno));
				return 1;
			}
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				;
			if (r < 0) {
				fprintf(stderr, "rdloop: round %ld: read %s: %s\n", i, argv[f],
					strerror(errno));
				return 1;
			}
			close(fd);
		}
	}
	return 0;
}
