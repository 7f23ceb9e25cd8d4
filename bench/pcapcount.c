/* SPDX-License-Identifier: BSD-3-Clause
 * pcapcount: libpcap's own per-record cost, for bench/zerocopy.sh (which
 * builds it: cc -O2 -o pcapcount pcapcount.c -lpcap).
 *
 *   pcapcount FILE|-    read every record with pcap_next_ex, looking at
 *                       its first byte as a reader would, and print
 *                       "records N bytes B" (B: the captured bytes)
 *
 * Exit 0; 1 when the file cannot be opened or a read fails midway (the
 * count so far is still printed); 2 on bad usage.
 */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pcapcount FILE|-\n");
		return 2;
	}
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(argv[1], err);
	if (!pc) {
		fprintf(stderr, "pcapcount: %s: %s\n", argv[1], err);
		return 1;
	}
	unsigned long long records = 0, bytes = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	int n;
	while ((n = pcap_next_ex(pc, &h, &data)) == 1) {
		volatile u_char first = h->caplen ? data[0] : 0;
		(void)first;
		records++;
		bytes += h->caplen;
	}
	int rc = 0;
	if (n == PCAP_ERROR) {
		fprintf(stderr, "pcapcount: %s: %s\n", argv[1], pcap_geterr(pc));
		rc = 1;
	}
	printf("records %llu bytes %llu\n", records, bytes);
	pcap_close(pc);
	return rc;
}
