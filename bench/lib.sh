# Shared by the benchmark scripts (sourced).  Every measurement is the best
# of $runs runs: the least disturbed one on a shared machine.
runs=${runs:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_trace [TRACE]: the trace to use.  By default one recorded once with
# ../shared/tools/mktrace.sh (300k packets of HTTP), else the demo trace.
bench_trace() {
	local trace=${1:-}
	if [ -z "$trace" ]; then
		trace=/tmp/pipesfs-bench.pcap
		if [ ! -s "$trace" ] && [ -x "$repo/../shared/tools/mktrace.sh" ]; then
			echo "bench: recording a benchmark trace (once) into $trace" >&2
			"$repo/../shared/tools/mktrace.sh" "$trace" 5 > /dev/null 2>&1 || rm -f "$trace"
		fi
		[ -s "$trace" ] || trace=$repo/examples/demo.pcap
	fi
	echo "$trace"
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
