#!/bin/bash
# bench/http: per-packet cost of `http` (TCP reassembly and request
# framing) side by side with tshark finding the same requests:
#   http   against  tshark -r TRACE -Y http.request -T fields -e http.request.method -e http.request.uri
# The pipesfs figure is the source thread's replay time through
# source -> http; the stage's own cost is that minus a replay with no
# stage.  tshark's includes reading the file (as the replay does).
#
# usage: bench/http.sh PIPESFS [TRACE]   (root; TRACE: HTTP traffic)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/http.sh PIPESFS [TRACE]}
bench_trace "${2:-}"
bench_enough "$packets"
bench_need tshark

t_base=$(replay_ns "$pipesfs" "$trace")
t_http=$(replay_ns "$pipesfs" "$trace" -g b/http)
t_ts=$(best "tshark -r '$trace' -o tcp.reassemble_out_of_order:TRUE -Y http.request -T fields \
	-e http.request.method -e http.request.uri > /dev/null 2>&1")

awk -v p="$packets" -v base="$t_base" -v http="$t_http" -v ts="$t_ts" 'BEGIN {
	printf "bench/http: %d packets; best of '"$runs"' runs; ns per packet\n\n", p
	printf "%-44s %10s %10s\n", "case", "total", "stage"
	printf "%-44s %10.0f %10s\n", "pipesfs replay, no stage", base / p, "-"
	printf "%-44s %10.0f %10.0f\n", "pipesfs replay -> http", http / p, (http - base) / p
	printf "%-44s %10.0f %10s\n", "tshark -Y http.request -T fields", ts / p, "-"
	printf "\nratio (tshark / pipesfs, above 1: pipesfs faster)\n"
	printf "  http: %.2fx whole replay, %.2fx the stage alone\n", ts / http, ts / (http - base)
}'
