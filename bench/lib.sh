# Shared by the benchmark scripts (sourced).  Every measurement is the best
# of $runs runs: the least disturbed one on a shared machine.
runs=${runs:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_trace [TRACE]: the trace to measure on: TRACE, else $BENCH_TRACE.
# There is no default: the demo trace the project ships is far too small
# to time (record a larger one, e.g. with tcpdump on a busy link, or with
# tcpreplay --loop of the demo trace into a capture).
bench_trace() {
	local trace=${1:-${BENCH_TRACE:-}}
	if [ -z "$trace" ] || [ ! -r "$trace" ]; then
		echo "bench: no trace to measure on: give one (bench/$(basename "$0") PIPESFS TRACE, or BENCH_TRACE=...)" >&2
		return 1
	fi
	echo "$trace"
}

# bench_enough PACKETS: a run over fewer packets than $BENCH_MIN_PACKETS
# (default 100000) times start-up, not the per-packet cost: say so and
# print no ratio.
bench_enough() {
	local min=${BENCH_MIN_PACKETS:-100000}
	if [ "$1" -lt "$min" ]; then
		echo "bench/$(basename "$0"): the trace has $1 packets, fewer than $min: cannot measure, no ratio printed" >&2
		exit 0
	fi
}

now() { date +%s%N; }

# best COMMAND: the shortest wall time of $runs runs, in ns.
best() {
	local b=0 t0 t1
	for _ in $(seq "$runs"); do
		t0=$(now); eval "$1"; t1=$(now)
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
	echo "bench: replay did not end" >&2
	return 1
}

# replay_ns PIPESFS TRACE [-g PATH ...]: the source thread's own time to
# replay TRACE through the graph (best of $runs mounts), in ns.
replay_ns() {
	local pipesfs=$1 trace=$2 b=0 t mnt
	shift 2
	for _ in $(seq "$runs"); do
		mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
		"$pipesfs" "$@" -s "pcap:$trace,name=b,start=now" "$mnt"
		wait_replay "$mnt"
		t=$(sed -n 's/.*replay of .* packets in \([0-9.]*\) s$/\1/p' "$mnt/log" |
		    awk '{printf "%d", $1 * 1e9}')
		fusermount3 -u "$mnt"
		rmdir "$mnt"
		[ $b = 0 ] || [ "$t" -lt $b ] && b=$t
	done
	echo $b
}
