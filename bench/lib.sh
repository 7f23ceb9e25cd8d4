# shellcheck shell=bash
# Shared by the benchmark scripts (sourced).  Every figure is the median
# and the spread (min-max) of $runs runs, the rows of a benchmark taking
# turns (run 1 of every row, then run 2 of every row, ...) so that a busy
# moment of the machine falls on all of them alike.
#
# A benchmark that cannot measure says why and prints no ratio (README,
# "Tests and benchmarks"):
#   not_measured REASON  what the machine lacks or the user chose: a tool
#                        not installed, a trace too small: exit status 0;
#   broken REASON        a measurement that ran and went wrong (a replay that
#                        did not end, a command that failed, a capture of
#                        nothing): exit status 1.
#
# Results: when $BENCH_RESULTS names a file, every comparison a script
# makes is appended to it as one tab-separated line (result, result_none,
# not_measured and broken write them; bench/report.sh reads them):
#
#    1 bench           bench/fs, bench/http, ...
#    2 row             what is compared, in words
#    3 pipesfs_median  pipesfs's figure, in UNIT
#    4 pipesfs_min
#    5 pipesfs_max
#    6 other           the tool pipesfs is compared with
#    7 other_median    its figure, in UNIT
#    8 other_min
#    9 other_max
#   10 unit            ns/packet, MB/s, CPU s/Mpkt, ...
#   11 ratio           pipesfs's advantage, from the medians: other/pipesfs
#                      where lower is better (times, CPU), pipesfs/other
#                      where higher is better (throughput, % captured);
#                      above 1: pipesfs better, below 1: pipesfs worse
#   12 pipesfs_command the command line timed for pipesfs
#   13 other_command   the command line timed for the other
#   14 status          ok | not_measured | error
#   15 runs            runs that measured (the median's sample)
#   16 better          lower | higher: which way UNIT is better
#   17 ratio_min       the spread of the ratio: its lowest and highest over
#   18 ratio_max       the runs, each run's pipesfs figure against the same
#                      run's other (rows taking turns), else from the
#                      extremes (other_min/pipesfs_max, ...)
#   19 note            why a row did not measure, or what to know
#
# A field that does not apply is "-"; no field holds a tab or a newline.
# A row that did not measure has status not_measured or error, "-" for
# every figure and the ratio, and the reason in its note.  With
# $BENCH_NOTES naming a file, bench_note appends "bench<TAB>text" lines
# to it: facts about a run (the trace, counts, pages) for the report.
runs=${runs:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=bench/$(basename "$0" .sh)

# tsv FIELD...: one line of $BENCH_RESULTS (tabs and newlines in a field
# become spaces).
tsv() {
	[ -n "${BENCH_RESULTS:-}" ] || return 0
	local f out= sep=
	for f; do
		f=${f//$'\t'/ }
		f=${f//$'\n'/ }
		out+=$sep${f:--}
		sep=$'\t'
	done
	printf '%s\n' "$out" >> "$BENCH_RESULTS"
}

# bench_note TEXT: a fact about this run, for the report.
bench_note() {
	[ -z "${BENCH_NOTES:-}" ] || printf '%s\t%s\n' "$bench" "${*//$'\n'/ }" >> "$BENCH_NOTES"
}

# result_none ROW STATUS REASON [UNIT OTHER PFS_CMD OTHER_CMD]: a row that
# did not measure (STATUS not_measured or error): its reason, no figure.
result_none() {
	tsv "$bench" "$1" - - - "${5:--}" - - - "${4:--}" - "${6:--}" "${7:--}" "$2" 0 - - - "$3"
}

not_measured() {
	echo "$bench: not measured: $*"
	result_none "the whole benchmark" not_measured "$*"
	exit 0
}
broken() {
	echo "$bench: error: $*" >&2
	result_none "the whole benchmark" error "$*"
	exit 1
}

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
# tick VAR: the wall clock in ns into VAR, without a fork.
tick() { local t=${EPOCHREALTIME/[.,]/}; printf -v "$1" %s "$((10#$t * 1000))"; }

# time_ns COMMAND: the wall time of one run of COMMAND (eval'd), in ns;
# fails if COMMAND does.
time_ns() {
	local t0 t1
	tick t0
	eval "$1" || { echo "$bench: error: failed: $1" >&2; return 1; }
	tick t1
	echo $((t1 - t0))
}

# ---- samples: KEY -> "RUN:VALUE ..." (in this shell: not from $(...)) --
declare -A samples=()

# sample KEY RUN VALUE: one run's figure for row KEY.
sample() { samples[$1]+="$2:$3 "; }

# per VALUE DIVISOR [MULT]: VALUE / DIVISOR * MULT, as a number awk reads.
per() { awk -v v="$1" -v d="$2" -v m="${3:-1}" 'BEGIN {printf "%.6f", v / d * m}'; }

# sample_diff OUT A B: OUT's sample for every run that has both: A - B
# (a stage's own cost: the replay through it minus the one without it).
sample_diff() {
	local out=$1 s r v
	declare -A b=()
	for s in ${samples[$3]:-}; do b[${s%%:*}]=${s#*:}; done
	for s in ${samples[$2]:-}; do
		r=${s%%:*}
		[ -n "${b[$r]:-}" ] || continue
		v=$(awk -v a="${s#*:}" -v b="${b[$r]}" 'BEGIN {printf "%.6f", a - b}')
		sample "$out" "$r" "$v"
	done
}

# nsamples KEY: how many runs of KEY measured.
nsamples() { local a=(${samples[$1]:-}); echo ${#a[@]}; }

# fmt NUMBER: three significant digits or so (integers from 100 up).
fmt() {
	awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x
		if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x
		else if (a >= 1) printf "%.2f", x; else printf "%.3g", x }'
}

# stats KEY: "MEDIAN MIN MAX N" of KEY's samples (nothing without one).
stats() {
	local s
	for s in ${samples[$1]:-}; do echo "${s#*:}"; done | sort -g | awk '
		NF { v[++n] = $1 }
		END { if (!n) exit
			m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%.6f %.6f %.6f %d\n", m, v[1], v[n], n }'
}

# fig KEY: "MEDIAN [MIN-MAX]" of KEY's samples, or "-".
fig() {
	local m lo hi n
	read -r m lo hi n <<< "$(stats "$1")"
	[ -n "${n:-}" ] || { echo -; return; }
	echo "$(fmt "$m") [$(fmt "$lo")-$(fmt "$hi")]"
}
# med KEY: the median of KEY's samples, or nothing.
med() { local m; read -r m _ <<< "$(stats "$1")"; echo "${m:-}"; }

# ratio_of PKEY OKEY BETTER: "RATIO RMIN RMAX" (pipesfs's advantage, as in
# column 11 above) from the medians, the spread from the runs both rows
# measured (paired), else from the extremes; nothing when either has no
# sample or a median is not above 0.
ratio_of() {
	local p o s
	p=$(for s in ${samples[$1]:-}; do echo "p ${s%%:*} ${s#*:}"; done)
	o=$(for s in ${samples[$2]:-}; do echo "o ${s%%:*} ${s#*:}"; done)
	printf '%s\n%s\n' "$p" "$o" | awk -v better="$3" -v pm="$(med "$1")" -v om="$(med "$2")" '
	function r(pv, ov) { return better == "lower" ? ov / pv : pv / ov }
	$1 == "p" { P[$2] = $3; if (!np++ || $3 < pmin) pmin = $3; if (np == 1 || $3 > pmax) pmax = $3 }
	$1 == "o" { O[$2] = $3; if (!no++ || $3 < omin) omin = $3; if (no == 1 || $3 > omax) omax = $3 }
	END {
		if (!np || !no || pm <= 0 || om <= 0) exit
		# Paired: each run against the same run of the other row; a run
		# whose figure is not above 0 (a difference lost in the noise)
		# has no ratio of its own.
		for (k in P) if ((k in O) && P[k] > 0 && O[k] > 0) {
			x = r(P[k], O[k])
			if (!paired++ || x < lo) lo = x
			if (paired == 1 || x > hi) hi = x
		}
		if (paired < 2 && pmin > 0 && omin > 0) {
			lo = better == "lower" ? omin / pmax : pmin / omax
			hi = better == "lower" ? omax / pmin : pmax / omin
		} else if (paired < 2) {
			lo = hi = r(pm, om)
		}
		printf "%.6f %.6f %.6f\n", r(pm, om), lo, hi
	}'
}

# rfmt RATIO: a ratio as printed: 2 decimals under 10, then fewer.
rfmt() { awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'; }

# result ROW UNIT BETTER PKEY OTHER OKEY PFS_CMD OTHER_CMD [NOTE]: the
# comparison of row PKEY (pipesfs) with row OKEY (OTHER) in UNIT (BETTER:
# lower or higher is better): a line of $BENCH_RESULTS, and its ratio
# ("2.31x [2.05-2.60]") on stdout; a row without samples on either side is
# written as an error with no ratio ("-" on stdout).
result() {
	local row=$1 unit=$2 better=$3 pk=$4 other=$5 ok=$6 pc=$7 oc=$8 note=${9:-}
	local pm plo phi pn om olo ohi on r rlo rhi
	read -r pm plo phi pn <<< "$(stats "$pk")"
	read -r om olo ohi on <<< "$(stats "$ok")"
	read -r r rlo rhi <<< "$(ratio_of "$pk" "$ok" "$better")"
	if [ -z "${pn:-}" ] || [ -z "${on:-}" ] || [ -z "${r:-}" ]; then
		result_none "$row" error "${note:+$note; }no ratio: $([ -z "${pn:-}" ] && echo "pipesfs" || echo "$other") measured nothing (see the output)" \
			"$unit" "$other" "$pc" "$oc"
		echo -
		return
	fi
	[ "$on" -lt "$pn" ] || pn=$on
	tsv "$bench" "$row" "$(fmt "$pm")" "$(fmt "$plo")" "$(fmt "$phi")" "$other" \
		"$(fmt "$om")" "$(fmt "$olo")" "$(fmt "$ohi")" "$unit" "$(rfmt "$r")" "$pc" "$oc" ok "$pn" "$better" \
		"$(rfmt "$rlo")" "$(rfmt "$rhi")" "$note"
	echo "$(rfmt "$r")x [$(rfmt "$rlo")-$(rfmt "$rhi")]"
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

# replay_ns PIPESFS TRACE [-g PATH ...]: the source thread's own time, in
# ns, to replay TRACE through the graph in one mount (`start=now`, nobody
# reading), from the daemon's log; fails unless the replay went over all
# $packets packets.
replay_ns() {
	local pipesfs=$1 trace=$2 t mnt n
	shift 2
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
	echo "$t"
}
