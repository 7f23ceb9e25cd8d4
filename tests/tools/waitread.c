/* SPDX-License-Identifier: BSD-3-Clause
 * waitread: a test helper for tests/integration (built by the tests
 * themselves: cc -O2 -o waitread waitread.c).
 *
 *   waitread [-s] MS FILE [COUNT]
 *
 * Opens FILE read-only, then waits up to MS milliseconds for it to become
 * readable with poll(2) (or select(2) with -s).  If it does not, prints
 * "timeout" on stderr and exits 3.  If it does, reads once (up to COUNT
 * bytes, default 4096), writes what it read to stdout and exits 0 (an empty
 * read, EOF, writes nothing).  Errors exit 1, bad usage 2.
 *
 * bash's `read -t` is no substitute: it never times out on a regular file,
 * and pipesfs's stream files are regular files.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int use_select = argc > 1 && strcmp(argv[1], "-s") == 0;
	argv += use_select;
	argc -= use_select;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: waitread [-s] MS FILE [COUNT]\n");
		return 2;
	}
	int ms = atoi(argv[1]);
	size_t count = argc == 4 ? strtoul(argv[3], NULL, 10) : 4096;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	int ready;
	if (use_select) {
		if (fd >= FD_SETSIZE)
			return 1;
		fd_set rfds;
		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		ready = select(fd + 1, &rfds, NULL, NULL, &tv);
		if (ready > 0 && !FD_ISSET(fd, &rfds))
			ready = 0;
	} else {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ready = poll(&p, 1, ms);
		if (ready > 0 && !(p.revents & (POLLIN | POLLHUP | POLLERR)))
			ready = 0;
	}
	if (ready < 0) {
		perror(use_select ? "select" : "poll");
		return 1;
	}
	if (ready == 0) {
		fprintf(stderr, "timeout\n");
		return 3;
	}
	char *buf = malloc(count ? count : 1);
	ssize_t n = buf ? read(fd, buf, count) : -1;
	if (n < 0) {
		perror("read");
		return 1;
	}
	if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
