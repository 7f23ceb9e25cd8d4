#!/bin/bash
# bench/filters: per-packet cost of the filters people grep with, side by
# side with tcpdump in one run:
#   bpf=tcp port 80   against  tcpdump -r TRACE -w /dev/null 'tcp port 80'
#   text              against  tcpdump -nn -r TRACE > /dev/null
# The pipesfs figure is the source thread's replay time through
# source -> stage; the stage's own cost is that minus a replay with no
# stage.  tcpdump's includes reading the file (as the replay does).
#
# Median and spread (min-max) of $runs runs (default 9), the rows taking
# turns.
#
# usage: bench/filters.sh PIPESFS [TRACE]   (root)
set -euo pipefail
runs=${runs:-9}
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/filters.sh PIPESFS [TRACE]}
bench_need tcpdump
bench_trace "${2:-}"
bench_enough "$packets"

# The five rows take turns, $runs times; a stage's own cost is, per run,
# the replay through it minus that run's replay with no stage.
for r in $(seq "$runs"); do
	t=$(replay_ns "$pipesfs" "$trace") || broken "the replay with no stage failed (run $r)"
	sample base "$r" "$(per "$t" "$packets")"
	t=$(replay_ns "$pipesfs" "$trace" -g "b/bpf=tcp port 80") || broken "the replay through bpf= failed (run $r)"
	sample bpf "$r" "$(per "$t" "$packets")"
	t=$(replay_ns "$pipesfs" "$trace" -g b/text) || broken "the replay through text failed (run $r)"
	sample text "$r" "$(per "$t" "$packets")"
	t=$(time_ns "tcpdump -r '$trace' -w /dev/null 'tcp port 80' 2>/dev/null") || broken "tcpdump 'tcp port 80' failed"
	sample td_bpf "$r" "$(per "$t" "$packets")"
	t=$(time_ns "tcpdump -nn -r '$trace' > /dev/null 2>&1") || broken "tcpdump -nn -r failed"
	sample td_text "$r" "$(per "$t" "$packets")"
done
sample_diff bpf_stage bpf base
sample_diff text_stage text base

printf "bench/filters: %d packets; median [min-max] of %d runs, rows taking turns; ns per packet\n\n" \
	"$packets" "$runs"
printf "%-44s %20s %20s\n" "case" "total" "stage"
printf "%-44s %20s %20s\n" "pipesfs replay, no stage" "$(fig base)" -
printf "%-44s %20s %20s\n" "pipesfs replay -> bpf=tcp port 80" "$(fig bpf)" "$(fig bpf_stage)"
printf "%-44s %20s %20s\n" "tcpdump -r -w /dev/null 'tcp port 80'" "$(fig td_bpf)" -
printf "%-44s %20s %20s\n" "pipesfs replay -> text" "$(fig text)" "$(fig text_stage)"
printf "%-44s %20s %20s\n" "tcpdump -nn -r > /dev/null" "$(fig td_text)" -

replay="pipesfs -s pcap:TRACE,name=b,start=now MNT (the replay's time from its log)"
cmd_bpf="pipesfs -g 'b/bpf=tcp port 80' -s pcap:TRACE,name=b,start=now MNT"
cmd_text="pipesfs -g b/text -s pcap:TRACE,name=b,start=now MNT"
cmd_td_bpf="tcpdump -r TRACE -w /dev/null 'tcp port 80'"
cmd_td_text="tcpdump -nn -r TRACE > /dev/null"
# A stage that seems to cost nothing (its median difference not above 0:
# runs noisier than the stage) gets no ratio of its own.
stage() {	# ROW KEY OTHER OKEY PCMD OCMD
	local m
	m=$(med "$2")
	if [ -z "$m" ] || awk -v m="$m" 'BEGIN {exit !(m <= 0)}'; then
		result_none "$1" not_measured "the stage's own cost is within the noise of the runs (median difference $(fmt "${m:-0}") ns/packet): no ratio" \
			ns/packet "$3" "$5" "$6"
		echo "within the noise of the runs: no ratio"
		return
	fi
	local neg
	neg=$(for s in ${samples[$2]:-}; do echo "${s#*:}"; done | awk '$1 <= 0 {n++} END {print n + 0}')
	result "$1" ns/packet lower "$2" "$3" "$4" "$5" "$6" \
		"the stage alone: the replay through it minus a replay with no stage, per run$([ "$neg" = 0 ] || echo "; in $neg run(s) the difference was not above 0 (no ratio of its own)")"
}
printf "\nratios, tcpdump's time per packet / pipesfs's (above 1: pipesfs faster), medians [spread]:\n"
printf "  bpf:  whole replay %s, the stage alone %s\n" \
	"$(result "bpf=tcp port 80, whole replay vs tcpdump 'tcp port 80'" ns/packet lower bpf "tcpdump -r -w" td_bpf "$cmd_bpf" "$cmd_td_bpf" \
		"the replay's time is the source thread's own (reading the trace included); tcpdump's includes its start")" \
	"$(stage "bpf=tcp port 80, the stage alone vs tcpdump 'tcp port 80'" bpf_stage "tcpdump -r -w" td_bpf \
		"$cmd_bpf, minus $replay" "$cmd_td_bpf")"
printf "  text: whole replay %s, the stage alone %s\n" \
	"$(result "text, whole replay vs tcpdump -nn -r" ns/packet lower text "tcpdump -nn -r" td_text "$cmd_text" "$cmd_td_text" \
		"the replay's time is the source thread's own (reading the trace included); tcpdump's includes its start")" \
	"$(stage "text, the stage alone vs tcpdump -nn -r" text_stage "tcpdump -nn -r" td_text \
		"$cmd_text, minus $replay" "$cmd_td_text")"
