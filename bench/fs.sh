#!/bin/bash
# bench/fs: the filesystem's read path and the graph's per-packet cost,
# each side by side with the tool a user would otherwise use.
#
#   1. `cat MNT/SRC/all > /dev/null` (records already in the ring) against
#      `cat` of the same bytes from a tmpfs file: MB/s and the ratio.
#   2. replaying TRACE through source -> ip -> tcp against
#      `tcpdump -r TRACE -w /dev/null 'ip and tcp'`: ns per packet, ratio.
#
# usage: bench/fs.sh PIPESFS [TRACE]   (root; TRACE, or $BENCH_TRACE, of at
# least 100000 packets: on less it says so and prints no ratio)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/fs.sh PIPESFS [TRACE]}
bench_need tcpdump
bench_trace "${2:-}"
bench_enough "$packets"
mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
shm=$(mktemp -d /dev/shm/pipesfs-bench.XXXXXX)
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt"; rm -rf "$shm"; }
trap cleanup EXIT

# The whole trace in one ring, so that `all` holds all of it.
"$pipesfs" --ring-size 128M -s "pcap:$trace,name=b,start=now" "$mnt" || broken "pipesfs did not mount"
wait_replay "$mnt" || exit 1
bytes=$(awk '/^bytes:/ {print $2}' "$mnt/b/stats")
[ "${bytes:-0}" -gt 0 ] || broken "the source holds no bytes after its replay"
cat "$mnt/b/all" > "$shm/all"
t_fs=$(best "cat '$mnt/b/all' > /dev/null")
t_tmpfs=$(best "cat '$shm/all' > /dev/null")
fusermount3 -u "$mnt"
t_graph=$(replay_ns "$pipesfs" "$trace" -g b/ip/tcp)
t_tcpdump=$(best "tcpdump -r '$trace' -w /dev/null 'ip and tcp' 2>/dev/null")

mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN {printf "%.0f", b / (t / 1e9) / 1e6}'; }
awk -v p="$packets" -v bytes="$bytes" -v fs="$t_fs" -v tmp="$t_tmpfs" \
    -v g="$t_graph" -v td="$t_tcpdump" -v mfs="$(mbs "$t_fs")" -v mtmp="$(mbs "$t_tmpfs")" 'BEGIN {
	printf "bench/fs: %d packets, %d bytes of records; best of '"$runs"' runs\n\n", p, bytes
	printf "%-46s %10s %10s\n", "case", "MB/s", "ns/packet"
	printf "%-46s %10d %10.0f\n", "cat MNT/b/all > /dev/null (1 MiB reads)", mfs, fs / p
	printf "%-46s %10d %10.0f\n", "cat tmpfs copy > /dev/null", mtmp, tmp / p
	printf "%-46s %10s %10.0f\n", "pipesfs replay: source -> ip -> tcp", "-", g / p
	printf "%-46s %10s %10.0f\n", "tcpdump -r TRACE -w /dev/null '\''ip and tcp'\''", "-", td / p
	printf "\nratios: pipesfs cat / tmpfs cat throughput  %.2fx\n", tmp / fs
	printf "        pipesfs replay / tcpdump per packet   %.2fx (below 1: pipesfs faster)\n", g / td
	printf "note: a classic pcap file is replayed in place (mapped, no copy); pipesfs\n"
	printf "      publishes a descriptor at each of three nodes, tcpdump only filters.\n"
	printf "      The replay time is the source thread'\''s own (log), tcpdump'\''s includes its start.\n"
}'
