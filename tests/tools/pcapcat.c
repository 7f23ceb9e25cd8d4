/* SPDX-License-Identifier: BSD-3-Clause
 * pcapcat: a test helper for tests/integration (built by the tests
 * themselves: cc -O2 -o pcapcat pcapcat.c -lpcap).
 *
 *   pcapcat FILE        the bytes of every record (caplen bytes each),
 *                       concatenated, on stdout: what a node's `all` holds
 *   pcapcat -n FILE     the number of records libpcap reads from FILE
 *   pcapcat -d FILE     a dump to compare two captures by: "linktype N",
 *                       then per record "SEC.USEC CAPLEN LEN" and its bytes
 *                       in hex, one line each (seconds modulo 2^32,
 *                       microseconds normalised, LEN at least CAPLEN: what
 *                       a pcap stream can carry); a fraction libpcap hands
 *                       out invalid (a second or more, or negative: it
 *                       reads the field signed, and scales nanoseconds)
 *                       prints as "?": libpcap is no reference there
 *   pcapcat -l FILE     the link type as the file stores it (a LINKTYPE_
 *                       value, from the pcap header or the first pcapng
 *                       interface block; libpcap itself reports DLT_ values)
 *   pcapcat -c FILE...  which files libpcap can open: each openable one's
 *                       path on stdout, the others as "PATH: ERROR" on stderr
 *
 * A read error in the middle of a file ends the records there (as it ends
 * a pipesfs replay) and is reported on stderr; the exit status is then
 * still 0.  An open error exits 1 (except with -c); bad usage exits 2.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static pcap_t *open_file(const char *path, int quiet)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc && !quiet)
		fprintf(stderr, "%s: %s\n", path, err);
	return pc;
}

static uint32_t get32(const unsigned char *b, int swap)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* The stored link type: pcap header bytes 20-23, or the first pcapng IDB's
 * first two bytes after its type and length. */
static int stored_link_type(const char *path)
{
	unsigned char b[512];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(b, 1, sizeof(b), f) : 0;
	if (f)
		fclose(f);
	if (n < 24)
		return -1;
	uint32_t magic;
	memcpy(&magic, b, 4);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		return (int)(get32(b + 20, 0) & 0xffff);
	if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		return (int)(get32(b + 20, 1) & 0xffff);
	if (magic != 0x0a0d0d0au || n < 12)
		return -1;
	int swap = get32(b + 8, 0) != 0x1a2b3c4du;
	size_t off = 0;
	while (off + 12 <= n) {
		uint32_t type = get32(b + off, swap), len = get32(b + off + 4, swap);
		if (type == 1) {
			uint16_t lt;
			memcpy(&lt, b + off + 8, 2);
			return swap ? __builtin_bswap16(lt) : lt;
		}
		if (len < 12)
			return -1;
		off += len;
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-l") == 0) {
		int lt = stored_link_type(argv[2]);
		if (lt < 0) {
			fprintf(stderr, "%s: no link type found\n", argv[2]);
			return 1;
		}
		printf("%d\n", lt);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		char err[PCAP_ERRBUF_SIZE];
		for (int i = 2; i < argc; i++) {
			pcap_t *pc = pcap_open_offline(argv[i], err);
			if (pc) {
				printf("%s\n", argv[i]);
				pcap_close(pc);
			} else {
				fprintf(stderr, "%s: %s\n", argv[i], err);
			}
		}
		return 0;
	}
	int count = argc == 3 && strcmp(argv[1], "-n") == 0;
	int dump = argc == 3 && strcmp(argv[1], "-d") == 0;
	if (argc != 2 && !count && !dump) {
		fprintf(stderr, "usage: pcapcat FILE | pcapcat -n FILE | pcapcat -d FILE |"
			" pcapcat -c FILE...\n");
		return 2;
	}
	const char *path = argv[argc - 1];
	pcap_t *pc = open_file(path, 0);
	if (!pc)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	unsigned long long n = 0;
	int rc;
	if (dump)
		printf("linktype %d\n", pcap_datalink(pc));
	while ((rc = pcap_next_ex(pc, &h, &bytes)) == 1) {
		n++;
		if (dump) {
			/* As a pcap stream can hold them: 32-bit seconds,
			 * microseconds below a million, len >= caplen. */
			uint64_t us = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000u +
				      (uint32_t)h->ts.tv_usec;
			if (h->ts.tv_usec < 0 || h->ts.tv_usec >= 1000000)
				printf("?");
			else
				printf("%u.%06u", (uint32_t)(us / 1000000u),
				       (uint32_t)(us % 1000000u));
			printf(" %u %u\n", h->caplen,
			       h->len < h->caplen ? h->caplen : h->len);
			for (bpf_u_int32 i = 0; i < h->caplen; i++)
				printf("%02x", bytes[i]);
			putchar('\n');
		} else if (!count && fwrite(bytes, 1, h->caplen, stdout) != h->caplen) {
			perror("pcapcat: stdout");
			return 1;
		}
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "%s: after %llu records: %s\n", path, n, pcap_geterr(pc));
	if (count)
		printf("%llu\n", n);
	pcap_close(pc);
	return fflush(stdout) == 0 ? 0 : 1;
}
