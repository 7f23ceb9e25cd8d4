#!/bin/bash
# bench/live: capture on a veth pair in private namespaces while tcpreplay
# sends a trace as fast as it can.  Side by side, in one run:
#   pipesfs -s iface:vb  with `cat MNT/vb/pcap > /dev/null` reading
#   tcpdump -i vb -w /dev/null
#   netsniff-ng --in vb --out /dev/null (if installed)
# For each: packets sent (as tcpreplay counts them), packets captured, and
# CPU seconds per million packets captured (the capturing processes' user +
# system time from just before the replay to the end of the capture).  A
# row that captured under a tenth of what was sent measured nothing (a tool
# that did not start or did not flush): it is an error, with no figures.
#
# usage: bench/live.sh PIPESFS [TRACE] [LOOPS]   (root; TRACE as for
# bench/fs.sh, sent LOOPS times, default 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/live.sh PIPESFS [TRACE] [LOOPS]}
bench_need tcpdump tcpreplay
bench_trace "${2:-}"
loops=${3:-1}
bench_enough $((packets * loops))
tag=pfsb$$ snd=pfsb$$s cap=pfsb$$c mnt=$(mktemp -d /tmp/pipesfs-live.XXXXXX)
out=$(mktemp /tmp/pipesfs-live.XXXXXX)
cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
	rm -f "$out"
	ip netns del "$snd" 2>/dev/null || true
	ip netns del "$cap" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$snd"
ip netns add "$cap"
# No IPv6 on the pair: the kernel's own router and neighbour solicitations
# would be captured on top of what was sent.
for ns in "$snd" "$cap"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
done
ip link add va netns "$snd" type veth peer name vb netns "$cap"
ip -n "$snd" link set va up
ip -n "$cap" link set vb up

# CPU ticks (user + system) of a process and its threads, or of its
# threads named $2.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
thread_ticks() { cat /proc/$1/task/*/stat | awk -v n="($2" 'index($2, n) == 1 {t += $14 + $15} END {print t + 0}'; }
hz=$(getconf CLK_TCK)
status=0
declare -A cpu

# replay: sends the trace; sets $sent to the packets tcpreplay sent.  Then
# waits 2 s for the capture to drain: libpcap's packet ring hands tcpdump a
# partly filled block only at its 1 s timeout, and stopping sooner lost
# that last block (on a small trace, nearly all of it: 0.6% captured).
replay() {
	sent=$(ip netns exec "$snd" tcpreplay -q --topspeed --loop="$loops" -i va "$trace" 2>&1 |
	       awk '/Successful packets:/ {print $3}') || true
	sleep 2
}

# report NAME CAPTURED TICKS: a row, or an error line (and status 1) when
# the row measured nothing.
report() {
	if [ -z "$2" ] || [ "${sent:-0}" = 0 ] || [ "$2" -lt $((sent / 10)) ]; then
		echo "$bench: error: $1: captured ${2:-nothing} of ${sent:-0} packets sent: measured nothing, no figures" >&2
		status=1
		return 1
	fi
	cpu[$1]=$(awk -v c="$2" -v t="$3" -v hz="$hz" 'BEGIN {printf "%.2f", t / hz / c * 1e6}')
	awk -v n="$1" -v c="$2" -v s="$sent" -v cpu="${cpu[$1]}" 'BEGIN {
		printf "%-34s %10d %10d %8.1f%% %12s\n", n, s, c, 100 * c / s, cpu }'
}
# fail NAME WHY: a row that could not run.
fail() { echo "$bench: error: $1: $2, no figures" >&2; status=1; }

printf "bench/live: %s sent %d time(s) (%d packets) at top speed over a veth pair\n\n" \
	"$trace" "$loops" $((packets * loops))
printf "%-34s %10s %10s %9s %12s\n" "capture" "sent" "captured" "of sent" "cpu s/Mpkt"

# pipesfs: the worker publishes into the source's ring; `cat` reads it all.
# The daemon returns once the port has started and the mount is up.
if nsenter --net="/var/run/netns/$cap" "$pipesfs" --workers 1 -s iface:vb "$mnt" &&
   pid=$(pgrep -n -f "$pipesfs --workers 1 -s iface:vb $mnt"); then
	cat "$mnt/vb/pcap" > /dev/null &
	reader=$!
	sleep 0.5
	t0=$(ticks "$pid") w0=$(thread_ticks "$pid" pfs-worker)
	replay
	t1=$(ticks "$pid") r1=$(ticks "$reader") w1=$(thread_ticks "$pid" pfs-worker)
	records=$(awk '/^records:/ {print $2}' "$mnt/vb/stats")
	drops=$(awk '/^reader_drops:/ {print $2}' "$mnt/vb/stats")
	kill "$reader"; wait "$reader" 2>/dev/null || true
	if report "pipesfs + cat vb/pcap" $((records - ${drops:-0})) $((t1 - t0 + r1)); then
		report "  of which the daemon" "$records" $((t1 - t0))
		report "  of which the capture worker" "$records" $((w1 - w0))
	fi
	fusermount3 -u "$mnt"
else
	fail "pipesfs -s iface:vb" "the daemon did not start"
fi

# other NAME READY COUNT_AWK COMMAND...: a capturing tool in the capture
# namespace, the same way; READY is what it prints once capturing,
# COUNT_AWK finds how many packets it captured in what it printed at exit.
other() {
	local name=$1 ready=$2 count=$3 pid t0 t1 n
	shift 3
	ip netns exec "$cap" "$@" > "$out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do	# 10 s at most
		grep -q "$ready" "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "$ready" "$out"; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		n=$(tr -d '\r' < "$out" | grep . | tail -1) || true
		fail "$name" "did not start within 10 s${n:+ (it said: $n)}"
		return
	fi
	t0=$(ticks "$pid")
	replay
	t1=$(ticks "$pid")
	kill -INT "$pid"
	for _ in $(seq 50); do	# 5 s at most: a hung tool must not hang the run
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -KILL "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
		fail "$name" "did not stop on SIGINT"
		return
	fi
	wait "$pid" 2>/dev/null || true
	n=$(tr -d '\r' < "$out" | awk "$count")
	report "$name" "$n" $((t1 - t0)) || true
}
other "tcpdump -i vb -w /dev/null" "listening on" '/packets captured/ {print $1}' \
	tcpdump -i vb -w /dev/null
if command -v netsniff-ng > /dev/null; then
	# Its default ring, sized from the link's speed, took seconds of system
	# time to set up here, and the replay was over before it captured (0%).
	# Captured: what the ring handed over, less what was still in it at exit.
	other "netsniff-ng --in vb -S 16MiB" "Running" \
		'/packets passed filter/ {p = $1} /unread on exit/ {u = substr($4, 2)} END {print p - u}' \
		netsniff-ng --in vb --out /dev/null --silent -S 16MiB
else
	echo "netsniff-ng: not measured: not installed (make deps installs it)"
fi

p="pipesfs + cat vb/pcap" t="tcpdump -i vb -w /dev/null"
# No ratio over a CPU time below the clock's tick (a tiny trace).
if [ -n "${cpu[$p]:-}" ] && [ "${cpu[$t]:-0}" != 0.00 ]; then
	awk -v p="${cpu[$p]}" -v t="${cpu[$t]}" 'BEGIN {
		printf "\nratio: CPU per packet, pipesfs + cat / tcpdump  %.1fx (above 1: pipesfs dearer)\n", p / t }'
fi
echo
echo "note: a pipesfs worker polls while bursts come full, naps 200 us after a partial"
echo "      one and up to 1 ms when idle; each row's CPU time covers the replay and 2 s after."
exit $status
