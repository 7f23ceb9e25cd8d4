#!/bin/bash
# bench/fs: the filesystem's read path and the graph's per-packet cost,
# each side by side with the tool a user would otherwise use.
#
#   1. `cat MNT/SRC/all > /dev/null` (records already in the ring) against
#      `cat` of the same bytes from a tmpfs file: MB/s and the ratio.
#   2. replaying TRACE through source -> ip -> tcp against
#      `tcpdump -r TRACE -w /dev/null 'ip and tcp'`: ns per packet, ratio.
#
# Median and spread (min-max) of $runs runs (default 9), the rows taking
# turns; the ratios are pipesfs's advantage (above 1: pipesfs better).
#
# usage: bench/fs.sh PIPESFS [TRACE]   (root; TRACE, or $BENCH_TRACE, of at
# least 100000 packets: on less it says so and prints no ratio)
set -euo pipefail
runs=${runs:-9}
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/fs.sh PIPESFS [TRACE]}
bench_need tcpdump
bench_trace "${2:-}"
bench_enough "$packets"
mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
shm=$(mktemp -d /dev/shm/pipesfs-bench.XXXXXX)
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt"; rm -rf "$shm"; }
trap cleanup EXIT

# The whole trace in one ring, so that `all` holds all of it: the smallest
# power of two (at least 64M) that holds the trace's bytes twice and one
# index slot per packet (the index ring has ring-size / 1024 slots).
ring=$((64 << 20))
while [ "$ring" -lt $((2 * $(stat -c %s "$trace"))) ] || [ "$ring" -lt $((packets * 1024)) ]; do
	ring=$((ring * 2))
done
"$pipesfs" --ring-size "$ring" -s "pcap:$trace,name=b,start=now" "$mnt" || broken "pipesfs did not mount"
wait_replay "$mnt" || broken "the replay did not end"
bytes=$(awk '/^bytes:/ {print $2}' "$mnt/b/stats")
[ "${bytes:-0}" -gt 0 ] || broken "the source holds no bytes after its replay"
cat "$mnt/b/all" > "$shm/all"	# untimed: the copy, and a first read
# Every record's bytes, or the figures would be of part of the trace.
[ "$(stat -c %s "$shm/all")" = "$bytes" ] ||
	broken "cat of MNT/b/all read $(stat -c %s "$shm/all") bytes of the $bytes the source replayed (--ring-size $((ring >> 20))M)"

# The four rows take turns, $runs times: `cat` of the node (the mount
# above, kept), `cat` of its tmpfs copy, a replay through source -> ip ->
# tcp in a mount of its own, tcpdump.
cmd_fs="pipesfs --ring-size $((ring >> 20))M -s pcap:TRACE,name=b,start=now MNT; cat MNT/b/all > /dev/null"
cmd_tmpfs="cat /dev/shm/COPY > /dev/null"
cmd_graph="pipesfs -g b/ip/tcp -s pcap:TRACE,name=b,start=now MNT (the replay's time from its log)"
cmd_tcpdump="tcpdump -r TRACE -w /dev/null 'ip and tcp'"
for r in $(seq "$runs"); do
	t=$(time_ns "cat '$mnt/b/all' > /dev/null") || broken "cat of MNT/b/all failed"
	sample fs "$r" "$(per "$bytes" "$t" 1000)"		# MB/s: bytes/ns * 1000
	t=$(time_ns "cat '$shm/all' > /dev/null") || broken "cat of the tmpfs copy failed"
	sample tmpfs "$r" "$(per "$bytes" "$t" 1000)"
	t=$(replay_ns "$pipesfs" "$trace" -g b/ip/tcp) || broken "the replay through source -> ip -> tcp failed (run $r)"
	sample graph "$r" "$(per "$t" "$packets")"
	t=$(time_ns "tcpdump -r '$trace' -w /dev/null 'ip and tcp' 2>/dev/null") || broken "tcpdump failed"
	sample tcpdump "$r" "$(per "$t" "$packets")"
done

printf "bench/fs: %d packets, %d bytes of records (all of them in the node, --ring-size %dM);\n" \
	"$packets" "$bytes" $((ring >> 20))
printf "median [min-max] of %d runs, rows taking turns\n\n" "$runs"
printf "%-46s %20s %20s\n" "case" "MB/s" "ns/packet"
printf "%-46s %20s %20s\n" "cat MNT/b/all > /dev/null (1 MiB reads)" "$(fig fs)" -
printf "%-46s %20s %20s\n" "cat tmpfs copy > /dev/null" "$(fig tmpfs)" -
printf "%-46s %20s %20s\n" "pipesfs replay: source -> ip -> tcp" - "$(fig graph)"
printf "%-46s %20s %20s\n" "tcpdump -r TRACE -w /dev/null 'ip and tcp'" - "$(fig tcpdump)"
r1=$(result "cat of a node's all vs cat of the same bytes from tmpfs" MB/s higher fs "cat from tmpfs" tmpfs \
	"$cmd_fs" "$cmd_tmpfs" "throughput; the node held the whole trace (--ring-size $((ring >> 20))M)")
r2=$(result "replay source -> ip -> tcp vs tcpdump 'ip and tcp'" ns/packet lower graph "tcpdump -r" tcpdump \
	"$cmd_graph" "$cmd_tcpdump" "the replay's time is the source thread's own; tcpdump's includes its start")
printf "\nratios, pipesfs's advantage (above 1: pipesfs better), medians [spread over the runs]:\n"
printf "  cat MNT/b/all throughput / tmpfs cat's      %s\n" "$r1"
printf "  tcpdump's time per packet / pipesfs replay's %s\n" "$r2"
printf "note: a classic pcap file is replayed in place (mapped, no copy); pipesfs\n"
printf "      publishes a descriptor at each of three nodes, tcpdump only filters.\n"
printf "      The replay time is the source thread's own (log), tcpdump's includes its start.\n"
