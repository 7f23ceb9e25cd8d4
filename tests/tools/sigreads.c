/* SPDX-License-Identifier: BSD-3-Clause
 * sigreads FILE SECONDS INTERVAL_US READS_PER_OPEN
 *
 * Reads FILE while a SIGALRM every INTERVAL_US microseconds interrupts
 * system calls (the handler is installed without SA_RESTART, so a blocked
 * read returns EINTR), closing and reopening it every READS_PER_OPEN
 * reads, for SECONDS.  Prints one line of counts; exits 1 if any call
 * failed with anything but EINTR (or a read hit EOF on a live stream),
 * so that a daemon which mishandles interrupted reads shows up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct counts {
	unsigned long opens, reads, interrupted, failed;
	unsigned long long bytes;
	int first_errno;
};

static void on_alarm(int sig)
{
	(void)sig;
}

static void failure(struct counts *c, int err)
{
	if (!c->failed++)
		c->first_errno = err;
}

/* One open, up to per reads, one close. */
static void cycle(const char *path, int per, char *buf, size_t size, struct counts *c)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno != EINTR)
			failure(c, errno);
		return;
	}
	c->opens++;
	for (int i = 0; i < per; i++) {
		ssize_t n = read(fd, buf, size);
		if (n > 0) {
			c->reads++;
			c->bytes += (unsigned long long)n;
		} else if (n < 0 && errno == EINTR) {
			c->interrupted++;
		} else {
			failure(c, n == 0 ? 0 : errno);	/* EOF: the stream is live */
			break;
		}
	}
	if (close(fd) != 0 && errno != EINTR)
		failure(c, errno);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: sigreads FILE SECONDS INTERVAL_US READS_PER_OPEN\n");
		return 2;
	}
	int secs = atoi(argv[2]), per = atoi(argv[4]);
	long us = atol(argv[3]);
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	struct itimerval every = { { 0, us }, { 0, us } };
	if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &every, NULL) != 0)
		return 2;
	size_t size = 1 << 16;
	char *buf = malloc(size);
	struct counts c = { 0 };
	time_t end = time(NULL) + secs;
	while (buf && time(NULL) < end && c.failed < 10)
		cycle(argv[1], per, buf, size, &c);
	printf("opens=%lu reads=%lu eintr=%lu failed=%lu first_errno=%d (%s) bytes=%llu\n",
	       c.opens, c.reads, c.interrupted, c.failed, c.first_errno,
	       c.first_errno ? strerror(c.first_errno) : c.failed ? "EOF" : "-", c.bytes);
	free(buf);
	return c.failed ? 1 : 0;
}
