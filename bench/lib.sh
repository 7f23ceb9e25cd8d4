# Shared by the benchmark scripts (sourced).  Every measurement is the best
# of $runs runs: the least disturbed one on a shared machine.
#
# A benchmark that cannot measure says why and prints no ratio (README,
# "Tests and benchmarks"):
#   not_measured REASON  what the machine lacks or the user chose: a tool
#                        not installed, a trace too small: exit status 0;
#   broken REASON        a measurement that ran and went wrong (a replay that
#                        did not end, a command that failed, a capture of
#                        nothing): exit status 1.
runs=${runs:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=bench/$(basename "$0" .sh)

not_measured() { echo "$bench: not measured: $*"; exit 0; }
broken() { echo "$bench: error: $*" >&2; exit 1; }

# bench_need TOOL...: each TOOL is installed (`make deps` installs them all).
bench_need() {
	local t
	for t; do
		command -v "$t" > /dev/null || not_measured "$t is not installed (make deps installs it)"
	done
}

# bench_trace [TRACE]: sets $trace, and $packets to its packet count:
# TRACE, else $BENCH_TRACE, else the one `make bench` recorded.
bench_trace() {
	trace=${1:-${BENCH_TRACE:-}}
	[ -n "$trace" ] || [ ! -r "$repo/build/bench/http.pcap" ] || trace=$repo/build/bench/http.pcap
	[ -n "$trace" ] || broken "no trace to measure on: give one ($bench.sh PIPESFS TRACE, or BENCH_TRACE=...), or run make bench, which records one"
	[ -r "$trace" ] || broken "cannot read the trace $trace"
	packets=$(tcpdump -r "$trace" 2>/dev/null | wc -l)
}

# bench_enough PACKETS: a run over fewer packets than $BENCH_MIN_PACKETS
# (default 100000) times start-up, not the per-packet cost (on the 81
# packets of the demo trace, tcpdump's start alone made pipesfs look 166x
# faster): say so and print no ratio.
bench_enough() {
	local min=${BENCH_MIN_PACKETS:-100000}
	[ "$1" -ge "$min" ] ||
		not_measured "$1 packets, fewer than $min: a run that short times start-up, not packets; no ratio (make bench records a trace large enough)"
}

now() { date +%s%N; }

# best COMMAND: the shortest wall time of $runs runs, in ns; fails if
# COMMAND does.
best() {
	local b=0 t0 t1
	for _ in $(seq "$runs"); do
		t0=$(now)
		eval "$1" || { echo "$bench: error: failed: $1" >&2; return 1; }
		t1=$(now)
		[ $b = 0 ] || [ $((t1 - t0)) -lt $b ] && b=$((t1 - t0))
	done
	echo $b
}

# wait_replay MNT: until the source's replay has ended (bounded).
wait_replay() {
	for _ in $(seq 1200); do
		grep -q 'replay of .* ended' "$1/log" && return 0
		sleep 0.05
	done
	echo "$bench: error: the replay did not end within 60 s" >&2
	return 1
}

# replay_ns PIPESFS TRACE [-g PATH ...]: the source thread's own time to
# replay TRACE through the graph (best of $runs mounts), in ns; fails
# unless every mount replayed all $packets packets.
replay_ns() {
	local pipesfs=$1 trace=$2 b=0 t mnt n
	shift 2
	for _ in $(seq "$runs"); do
		mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
		"$pipesfs" "$@" -s "pcap:$trace,name=b,start=now" "$mnt" || { rmdir "$mnt"; return 1; }
		wait_replay "$mnt" || { fusermount3 -u "$mnt"; rmdir "$mnt"; return 1; }
		n=$(sed -n 's/.*replay of .* ended after \([0-9]*\) packets.*/\1/p' "$mnt/log")
		t=$(sed -n 's/.*replay of .* packets in \([0-9.]*\) s$/\1/p' "$mnt/log" |
		    awk '{printf "%d", $1 * 1e9}')
		fusermount3 -u "$mnt"
		rmdir "$mnt"
		if [ "$n" != "$packets" ] || [ -z "$t" ]; then
			echo "$bench: error: the replay went over ${n:-no} packets of $packets" >&2
			return 1
		fi
		[ $b = 0 ] || [ "$t" -lt $b ] && b=$t
	done
	echo $b
}
