#!/bin/bash
# bench/live: capture on a veth pair in private namespaces while tcpreplay
# sends a trace as fast as it can.  Side by side, in one run:
#   pipesfs -s iface:vb  with `cat MNT/vb/pcap > /dev/null` reading
#   tcpdump -i vb -w /dev/null
#   netsniff-ng (if installed)
# For each: packets captured / packets sent, and CPU seconds per million
# packets (the capturing processes' user + system time).
#
# usage: bench/live.sh PIPESFS [TRACE] [LOOPS]   (root)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pipesfs=${1:?usage: bench/live.sh PIPESFS [TRACE] [LOOPS]}
trace=${2:-/tmp/pipesfs-bench.pcap}
[ -s "$trace" ] || trace=$repo/examples/demo.pcap
loops=${3:-3}
tag=pfsb$$ snd=pfsb$$s cap=pfsb$$c mnt=$(mktemp -d /tmp/pipesfs-live.XXXXXX)
cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
	ip netns del "$snd" 2>/dev/null || true
	ip netns del "$cap" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$snd"
ip netns add "$cap"
ip link add va netns "$snd" type veth peer name vb netns "$cap"
ip -n "$snd" link set va up
ip -n "$cap" link set vb up
sent=$(( $(tcpdump -r "$trace" 2>/dev/null | wc -l) * loops ))

# CPU ticks (user + system) of a process and its threads, or of its
# threads named $2.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
thread_ticks() { cat /proc/$1/task/*/stat | awk -v n="($2" 'index($2, n) == 1 {t += $14 + $15} END {print t + 0}'; }
hz=$(getconf CLK_TCK)
replay() { ip netns exec "$snd" tcpreplay -q --topspeed --loop="$loops" -i va "$trace" > /dev/null 2>&1; }
report() { # name captured cpu_ticks
	awk -v n="$1" -v c="$2" -v s="$sent" -v t="$3" -v hz="$hz" 'BEGIN {
		printf "%-34s %10d %10d %8.1f%% %12.2f\n", n, s, c, 100 * c / s,
		       t / hz / (c > 0 ? c : 1) * 1e6 }'
}

printf "bench/live: %s sent %d times (%d packets) over a veth pair\n\n" "$trace" "$loops" "$sent"
printf "%-34s %10s %10s %9s %12s\n" "capture" "sent" "captured" "ratio" "cpu s/Mpkt"

# pipesfs: the worker publishes into the source's ring; `cat` reads it all.
nsenter --net="/var/run/netns/$cap" "$pipesfs" --workers 1 -s iface:vb "$mnt"
pid=$(pgrep -n -f "$pipesfs --workers 1 -s iface:vb $mnt")
cat "$mnt/vb/pcap" > /dev/null &
reader=$!
sleep 0.5
t0=$(ticks "$pid") w0=$(thread_ticks "$pid" pfs-worker)
replay
sleep 0.5
t1=$(ticks "$pid") r1=$(ticks "$reader") w1=$(thread_ticks "$pid" pfs-worker)
records=$(awk '/^records:/ {print $2}' "$mnt/vb/stats")
drops=$(awk '/^reader_drops:/ {print $2}' "$mnt/vb/stats")
kill "$reader"; wait "$reader" 2>/dev/null || true
report "pipesfs + cat vb/pcap" $((records - ${drops:-0})) $((t1 - t0 + r1))
report "  of which the daemon" "$records" $((t1 - t0))
report "  of which the capture worker" "$records" $((w1 - w0))
fusermount3 -u "$mnt"

# other NAME COMMAND COUNT_AWK: a capturing tool, the same way; COUNT_AWK
# finds how many packets it captured in what it printed.
other() {
	local name=$1 cmd=$2 count=$3 pid ticks
	ip netns exec "$cap" $cmd > /tmp/$tag.out 2>&1 &
	pid=$!
	sleep 1
	replay
	sleep 0.5
	ticks=$(ticks "$(pgrep -n -f "^${cmd%% *}")")
	kill -INT "$pid"; wait "$pid" 2>/dev/null || true
	report "$name" "$(awk "$count" /tmp/$tag.out)" "$ticks"
	rm -f /tmp/$tag.out
}
other "tcpdump -i vb -w /dev/null" "tcpdump -i vb -w /dev/null" '/packets captured/ {print $1}'
if command -v netsniff-ng > /dev/null; then
	other "netsniff-ng --in vb" "netsniff-ng --in vb --out /dev/null --silent" \
		'/packets incoming/ {print $1}'
else
	echo "netsniff-ng: not installed (apt-get install netsniff-ng to compare)"
fi
echo
echo "note: a pipesfs worker polls while bursts come full, naps 200 us after a partial"
echo "      one and up to 1 ms when idle; the CPU time covers the whole run."
