#!/bin/bash
# bench/filters: per-packet cost of the filters people grep with, side by
# side with tcpdump in one run:
#   bpf=tcp port 80   against  tcpdump -r TRACE -w /dev/null 'tcp port 80'
#   text              against  tcpdump -nn -r TRACE > /dev/null
# The pipesfs figure is the source thread's replay time through
# source -> stage; the stage's own cost is that minus a replay with no
# stage.  tcpdump's includes reading the file (as the replay does).
#
# usage: bench/filters.sh PIPESFS [TRACE]   (root)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/filters.sh PIPESFS [TRACE]}
bench_need tcpdump
bench_trace "${2:-}"
bench_enough "$packets"

t_base=$(replay_ns "$pipesfs" "$trace")
t_bpf=$(replay_ns "$pipesfs" "$trace" -g "b/bpf=tcp port 80")
t_text=$(replay_ns "$pipesfs" "$trace" -g b/text)
t_td_bpf=$(best "tcpdump -r '$trace' -w /dev/null 'tcp port 80' 2>/dev/null")
t_td_text=$(best "tcpdump -nn -r '$trace' > /dev/null 2>&1")

awk -v p="$packets" -v base="$t_base" -v bpf="$t_bpf" -v text="$t_text" \
    -v tdb="$t_td_bpf" -v tdt="$t_td_text" 'BEGIN {
	printf "bench/filters: %d packets; best of '"$runs"' runs; ns per packet\n\n", p
	printf "%-44s %10s %10s\n", "case", "total", "stage"
	printf "%-44s %10.0f %10s\n", "pipesfs replay, no stage", base / p, "-"
	printf "%-44s %10.0f %10.0f\n", "pipesfs replay -> bpf=tcp port 80", bpf / p, (bpf - base) / p
	printf "%-44s %10.0f %10s\n", "tcpdump -r -w /dev/null '\''tcp port 80'\''", tdb / p, "-"
	printf "%-44s %10.0f %10.0f\n", "pipesfs replay -> text", text / p, (text - base) / p
	printf "%-44s %10.0f %10s\n", "tcpdump -nn -r > /dev/null", tdt / p, "-"
	printf "\nratios (tcpdump / pipesfs, above 1: pipesfs faster)\n"
	ratio("bpf: ", tdb, bpf, base)
	ratio("text:", tdt, text, base)
}
# A stage that seems to cost nothing (runs noisier than the stage) gets
# no ratio of its own.
function ratio(name, td, whole, base) {
	printf "  %s %.2fx whole replay, ", name, td / whole
	if (whole > base)
		printf "%.2fx the stage alone\n", td / (whole - base)
	else
		printf "the stage alone within the noise: no ratio\n"
}'
