#!/bin/bash
# bench/run: every benchmark in one go, then BENCHMARKS.md (`make bench`).
#
# Runs bench/bufs.sh, fs.sh, filters.sh, http.sh, live.sh and zerocopy.sh
# one after the other (never two at once), each with PIPESFS and TRACE,
# printing what each prints and keeping it in OUT/NAME.log; every one runs
# even after one failed.  Their results (lib.sh: one tab-separated line
# per comparison) go to OUT/results.tsv, their notes to OUT/notes.tsv, and
# what ran (the machine's load, each benchmark's command, exit status,
# time and the load average as it started) to OUT/meta.tsv; the previous
# run's results are kept as OUT/results.prev.tsv, for the report's
# reproducibility check.  Then
# bench/report.sh writes BENCHMARKS.md and bench/ratios.png from them.
#
# Exit status 1 when a benchmark broke (a measurement that went wrong),
# 0 otherwise ("not measured" is not a failure).
#
# usage: bench/run.sh PIPESFS TRACE [OUT]   (root; OUT defaults to
# build/bench; BENCH_ONLY="fs http" runs only those; runs=N for every
# benchmark's number of runs)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
pipesfs=${1:?usage: bench/run.sh PIPESFS TRACE [OUT]}
trace=${2:?usage: bench/run.sh PIPESFS TRACE [OUT]}
out=${3:-$repo/build/bench}
mkdir -p "$out"
benches=${BENCH_ONLY:-bufs fs filters http live zerocopy}

[ ! -s "$out/results.tsv" ] || mv "$out/results.tsv" "$out/results.prev.tsv"
[ ! -s "$out/meta.tsv" ] || mv "$out/meta.tsv" "$out/meta.prev.tsv"
: > "$out/results.tsv"
: > "$out/notes.tsv"
: > "$out/meta.tsv"
export BENCH_RESULTS=$out/results.tsv BENCH_NOTES=$out/notes.tsv
meta() { local IFS=$'\t'; echo "$*" >> "$out/meta.tsv"; }

meta start "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta version "$(git -C "$repo" describe --always --dirty --tags 2>/dev/null || echo "?")"
meta load "$(cut -d' ' -f1-3 /proc/loadavg)"
meta trace "$trace"
meta hugepages "$(awk '/^HugePages_Total:/ {t = $2} /^HugePages_Free:/ {f = $2} /^Hugepagesize:/ {s = $2 " " $3}
	END {printf "%d of %s, %d free", t, s, f}' /proc/meminfo)"
meta runs "${runs:-}"
t_all=$SECONDS
st=0
for b in $benches; do
	echo
	echo "== bench/$b.sh"
	t0=$SECONDS load=$(cut -d' ' -f1 /proc/loadavg)
	bash "$here/$b.sh" "$pipesfs" "$trace" 2>&1 | tee "$out/$b.log"
	rc=${PIPESTATUS[0]}
	meta bench "$b" "$rc" $((SECONDS - t0)) "bench/$b.sh $pipesfs $trace" "$load"
	if [ "$rc" != 0 ]; then
		st=1
		# A script that stopped without saying why in the results.
		awk -F'\t' -v b="bench/$b" '$1 == b && $14 == "error" {f = 1} END {exit !f}' "$BENCH_RESULTS" ||
			printf 'bench/%s\tthe whole benchmark\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\terror\t0\t-\t-\t-\tbench/%s.sh exited with status %s: see %s\n' \
				"$b" "$b" "$rc" "$out/$b.log" >> "$BENCH_RESULTS"
	fi
done
meta total $((SECONDS - t_all))
meta end "$(date -u '+%Y-%m-%d %H:%M UTC')"

echo
echo "== bench/report.sh"
"$here/report.sh" "$out" || st=1
exit $st
