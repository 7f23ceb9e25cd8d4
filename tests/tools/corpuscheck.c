/* SPDX-License-Identifier: BSD-3-Clause
 * corpuscheck: a test helper for tests/integration/t_corpus.sh (built by
 * the test itself: cc -O2 -o corpuscheck corpuscheck.c -lpcap).  It does
 * in one process what would otherwise take some fifty per capture.
 *
 *   corpuscheck [-t SECONDS] MOUNT [NODE...] < LIST
 *
 * LIST has one line per source: NAME, a tab, the capture FILE it replays.
 * For each source MOUNT/NAME:
 *   - `all` must equal the bytes of FILE's records as libpcap reads them;
 *   - `pcap` must be a pcap stream libpcap reads, holding the same records
 *     as FILE: link type, timestamps, lengths and bytes;
 * and for each NODE below it (e.g. ip/tcp):
 *   - `all` and `pcap` must reach EOF; the pcap must be one libpcap reads,
 *     with as many records as `stats` says (records:), and `all` as many
 *     bytes as `stats` says (bytes:).
 * Every read of a file must end within SECONDS (default 30).
 *
 * Timestamps are compared as pcap's 32-bit seconds can hold them (seconds
 * modulo 2^32, microseconds normalised into 0..999999), not at all where
 * the file's fraction is invalid (libpcap's reading of it is no reference),
 * and a record's original length as at least its captured length: a
 * capture with such oddities cannot come back unchanged in a pcap stream.
 *
 * Prints "FAIL: ..." per failed check and a last line "checked N sources";
 * exits 0 if every check passed, 1 if one failed, 2 on bad usage, 4 at
 * once if the mount is gone (ENOTCONN: the daemon died).
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf {
	char *p;
	size_t n, cap;
};

static volatile sig_atomic_t timed_out;
static int failures;
static unsigned timeout_secs = 30;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void fail(const char *name, const char *file, const char *fmt, ...)
{
	va_list ap;
	printf("FAIL: %s (%s): ", name, file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures++;
}

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			perror("corpuscheck");
			exit(3);
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(b, tmp, (size_t)n);
}

/* Read path to EOF into b.  Returns NULL or what went wrong. */
static const char *slurp(const char *path, struct buf *b)
{
	static char why[512];
	b->n = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0 && errno == ENOTCONN) {
		/* The daemon is gone: every further check would fail the same. */
		printf("FAIL: %s: the mount is gone (%s): the daemon died\n", path, strerror(errno));
		exit(4);
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "open: %s", strerror(errno));
		return why;
	}
	timed_out = 0;
	alarm(timeout_secs);
	char chunk[1 << 16];
	const char *err = NULL;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			put(b, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR && !timed_out)
			continue;
		if (timed_out)
			snprintf(why, sizeof(why), "no EOF within %u s (%zu bytes read)",
				 timeout_secs, b->n);
		else
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
		err = why;
		break;
	}
	alarm(0);
	close(fd);
	return err;
}

/* Records of an open capture: their bytes into all (if not NULL), a dump
 * into dump (if not NULL).  Returns the record count, or -1 with *err. */
static long records(pcap_t *pc, struct buf *all, struct buf *dump, const char **err)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	long n = 0;
	int rc;
	if (dump)
		putf(dump, "linktype %d\n", pcap_datalink(pc));
	while ((rc = pcap_next_ex(pc, &h, &bytes)) == 1) {
		n++;
		if (all)
			put(all, bytes, h->caplen);
		if (dump) {
			uint64_t us = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000u +
				      (uint32_t)h->ts.tv_usec;
			uint32_t len = h->len < h->caplen ? h->caplen : h->len;
			if (h->ts.tv_usec < 0 || h->ts.tv_usec >= 1000000)
				put(dump, "?", 1);	/* matches any timestamp */
			else
				putf(dump, "%u.%06u", (uint32_t)(us / 1000000u),
				     (uint32_t)(us % 1000000u));
			putf(dump, " %u %u ", h->caplen, len);
			for (bpf_u_int32 i = 0; i < h->caplen; i++)
				putf(dump, "%02x", bytes[i]);
			put(dump, "\n", 1);
		}
	}
	if (rc == PCAP_ERROR) {
		*err = pcap_geterr(pc);
		return -1;
	}
	return n;
}

/* A pcap stream in memory, parsed by libpcap. */
static long mem_records(struct buf *b, struct buf *all, struct buf *dump, char *why, size_t len)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	if (b->n == 0) {
		snprintf(why, len, "empty (not even a pcap header)");
		return -1;
	}
	FILE *f = fmemopen(b->p, b->n, "r");
	pcap_t *pc = f ? pcap_fopen_offline(f, errbuf) : NULL;
	if (!pc) {
		snprintf(why, len, "libpcap cannot open it: %s", f ? errbuf : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	const char *err = NULL;
	long n = records(pc, all, dump, &err);
	if (n < 0)
		snprintf(why, len, "libpcap: %s", err);
	pcap_close(pc);	/* closes f */
	return n;
}

static long stat_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, klen) == 0 && l[klen] == ':')
			return strtol(l + klen + 1, NULL, 10);
	return -1;
}

/* Do two dumps match?  A want line whose timestamp is "?" (the file's was
 * invalid: libpcap's reading of it is no reference) matches any. */
static bool dumps_match(const struct buf *want, const struct buf *got)
{
	const char *w = want->p ? want->p : "", *g = got->p ? got->p : "";
	for (;;) {
		const char *we = strchr(w, '\n'), *ge = strchr(g, '\n');
		if (!we || !ge)
			return !we && !ge && strcmp(w, g) == 0;
		if (w[0] == '?' && w[1] == ' ') {
			const char *gs = memchr(g, ' ', (size_t)(ge - g));
			if (!gs || we - (w + 1) != ge - gs || memcmp(w + 1, gs, (size_t)(we - w - 1)))
				return false;
		} else if (we - w != ge - g || memcmp(w, g, (size_t)(we - w))) {
			return false;
		}
		w = we + 1;
		g = ge + 1;
	}
}

/* The first line where two dumps differ, shortened, for the message. */
static void first_diff(const struct buf *a, const struct buf *b, char *out, size_t len)
{
	size_t i = 0, line = 1, start = 0;
	while (i < a->n && i < b->n && a->p[i] == b->p[i]) {
		if (a->p[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	snprintf(out, len, "line %zu: want '%.70s' got '%.70s'", line,
		 start < a->n ? a->p + start : "", start < b->n ? b->p + start : "");
	for (char *c = out; *c; c++)
		if (*c == '\n')
			*c = '|';
}

static void check(const char *mnt, const char *name, const char *file,
		  char **nodes, int nnodes)
{
	char path[16640], why[600], errbuf[PCAP_ERRBUF_SIZE];
	struct buf want_all = { 0 }, want_dump = { 0 }, got = { 0 }, got_dump = { 0 },
		   got_all = { 0 }, stats = { 0 };
	const char *err = NULL;

	pcap_t *pc = pcap_open_offline(file, errbuf);
	if (!pc) {
		fail(name, file, "libpcap cannot open the file: %s", errbuf);
		return;
	}
	records(pc, &want_all, &want_dump, &err);	/* a read error ends it, as a replay */
	pcap_close(pc);

	snprintf(path, sizeof(path), "%s/%s/all", mnt, name);
	if ((err = slurp(path, &got)))
		fail(name, file, "all: %s", err);
	else if (got.n != want_all.n || memcmp(got.p, want_all.p, got.n))
		fail(name, file, "all (%zu bytes) is not the records' bytes (%zu bytes)",
		     got.n, want_all.n);

	snprintf(path, sizeof(path), "%s/%s/pcap", mnt, name);
	if ((err = slurp(path, &got))) {
		fail(name, file, "pcap: %s", err);
	} else if (mem_records(&got, NULL, &got_dump, why, sizeof(why)) < 0) {
		fail(name, file, "pcap: %s", why);
	} else if (!dumps_match(&want_dump, &got_dump)) {
		first_diff(&want_dump, &got_dump, why, sizeof(why));
		fail(name, file, "pcap: the records differ from the file's: %s", why);
	}

	for (int i = 0; i < nnodes; i++) {
		const char *node = nodes[i];
		snprintf(path, sizeof(path), "%s/%s/%s/all", mnt, name, node);
		if ((err = slurp(path, &got_all))) {
			fail(name, file, "%s/all: %s", node, err);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s/%s/pcap", mnt, name, node);
		if ((err = slurp(path, &got))) {
			fail(name, file, "%s/pcap: %s", node, err);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s/%s/stats", mnt, name, node);
		if ((err = slurp(path, &stats))) {
			fail(name, file, "%s/stats: %s", node, err);
			continue;
		}
		long recs = stat_value(stats.p, "records"), bytes = stat_value(stats.p, "bytes");
		struct buf pcap_all = { 0 };
		long n = mem_records(&got, &pcap_all, NULL, why, sizeof(why));
		if (n < 0)
			fail(name, file, "%s/pcap: %s", node, why);
		else if (n != recs)
			fail(name, file, "%s/pcap holds %ld records, %s/stats says %ld", node, n,
			     node, recs);
		else if (pcap_all.n != got_all.n || memcmp(pcap_all.p, got_all.p, got_all.n))
			fail(name, file, "%s/pcap's record bytes (%zu) differ from %s/all (%zu)",
			     node, pcap_all.n, node, got_all.n);
		if ((long)got_all.n != bytes)
			fail(name, file, "%s/all holds %zu bytes, %s/stats says %ld", node,
			     got_all.n, node, bytes);
		free(pcap_all.p);
	}
	free(want_all.p);
	free(want_dump.p);
	free(got.p);
	free(got_dump.p);
	free(got_all.p);
	free(stats.p);
}

int main(int argc, char **argv)
{
	int a = 1;
	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		timeout_secs = (unsigned)atoi(argv[2]);
		a = 3;
	}
	if (argc - a < 1 || timeout_secs == 0) {
		fprintf(stderr, "usage: corpuscheck [-t SECONDS] MOUNT [NODE...] < LIST\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	const char *mnt = argv[a];
	char line[8192];
	int checked = 0;
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "corpuscheck: bad list line '%s'\n", line);
			return 2;
		}
		*tab = '\0';
		check(mnt, line, tab + 1, argv + a + 1, argc - a - 1);
		checked++;
	}
	printf("checked %d sources\n", checked);
	return failures ? 1 : 0;
}
