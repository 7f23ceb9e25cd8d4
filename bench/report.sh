#!/bin/bash
# bench/report: BENCHMARKS.md and its chart, from what bench/run.sh left in
# OUT (`make bench` runs it last):
#
#   OUT/results.tsv       one line per comparison (the columns: bench/lib.sh)
#   OUT/notes.tsv         facts about the run, per benchmark
#   OUT/meta.tsv          when, the load, the trace, each benchmark's
#                         command, exit status and time
#   OUT/results.prev.tsv  the run before, if any: each row's figures are
#                         checked against this run's spread
#
# It writes MD (default BENCHMARKS.md at the repository's root): the date,
# the machine, the versions, the command lines, a table per benchmark
# (medians, [min-max], ratios; a row that did not measure with its reason
# and no ratio), how to read and reproduce them; and PNG (default
# bench/ratios.png): every ratio on a log scale, drawn by gnuplot (without
# gnuplot, BENCHMARKS.md says the chart was not drawn).  Exit status 1
# when it could not write MD.
#
# usage: bench/report.sh [OUT [MD [PNG]]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:-$repo/build/bench}
md=${2:-$repo/BENCHMARKS.md}
png=${3:-$repo/bench/ratios.png}
res=$out/results.tsv
[ -r "$res" ] || { echo "bench/report: no $res: run make bench" >&2; exit 1; }
touch "$out/notes.tsv" "$out/meta.tsv"
meta() { awk -F'\t' -v k="$1" '$1 == k {print $2; exit}' "$out/meta.tsv"; }
# The chart's path as BENCHMARKS.md links it.
png_rel=$(realpath -m --relative-to="$(dirname "$(realpath -m "$md")")" "$png")

# ---- the machine and the versions ------------------------------------
first() { "$@" 2>&1 | grep -v -e '^Running as user' -e '^ *$' | head -n 1 || true; }
pc() { pkg-config --modversion "$1" 2>/dev/null || echo "not found"; }
cpu=$(lscpu 2>/dev/null | awk -F: '/^Model name/ {sub(/^ +/, "", $2); print $2; exit}')
virt=$(systemd-detect-virt 2>/dev/null || true)
[ -n "$virt" ] && [ "$virt" != none ] || virt=$(lscpu 2>/dev/null | awk -F: '/^Hypervisor vendor/ {sub(/^ +/, "", $2); print $2 " hypervisor"}')
cores=$(lscpu 2>/dev/null | awk -F: '
	/^CPU\(s\):/ {c = $2} /^Thread\(s\) per core/ {t = $2} /^Core\(s\) per socket/ {k = $2} /^Socket\(s\)/ {s = $2}
	END {gsub(/ /, "", c); gsub(/ /, "", t); gsub(/ /, "", k); gsub(/ /, "", s)
		printf "%s CPUs (%s socket(s) x %s core(s) x %s thread(s))", c, s, k, t}')
ram=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
debian="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(cat /etc/debian_version 2>/dev/null || echo "?")"
huge=$(meta hugepages)
[ -n "$huge" ] || huge=$(awk '/^HugePages_Total:/ {t = $2} /^HugePages_Free:/ {f = $2} /^Hugepagesize:/ {s = $2 " " $3}
	END {printf "%d of %s, %d free", t, s, f}' /proc/meminfo)
case $huge in
0\ *) huge_txt="none (vm.nr_hugepages 0: rings on 4 KiB pages)" ;;
*) huge_txt="$huge (vm.nr_hugepages; rings may use them)" ;;
esac
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "?")

# ---- the chart --------------------------------------------------------
chart_txt=
if command -v gnuplot > /dev/null; then
	data=$(mktemp /tmp/pipesfs-report.XXXXXX)
	trap 'rm -f "$data"' EXIT
	# index, label, ratio, spread low, spread high
	awk -F'\t' '$14 == "ok" && $11 != "-" {
		b = $1; sub(/^bench\//, "", b)
		printf "%d\t%s\t%s\t%s\t%s\n", ++n, b ": " $2, $11, $17, $18 }' "$res" > "$data"
	n=$(wc -l < "$data")
	if [ "$n" -gt 0 ]; then
		read -r lo hi <<< "$(awk -F'\t' 'NR == 1 {l = $4; h = $5} {if ($4 < l) l = $4; if ($5 > h) h = $5; if ($3 < l) l = $3; if ($3 > h) h = $3}
			END {l = l < 1 ? l : 1; h = h > 1 ? h : 1; printf "%g %g\n", l / 4, h * 4}' "$data")"
		# Tics at 1, 2 and 5 times each power of ten in the range.
		tics=$(awk -v lo="$lo" -v hi="$hi" 'BEGIN {
			for (e = -4; e <= 4; e++) for (i = 1; i <= 3; i++) {
				m = i == 1 ? 1 : i == 2 ? 2 : 5; x = m * 10 ^ e
				if (x >= lo && x <= hi) { printf "%s\"%gx\" %g", s, x, x; s = ", " }
			} }')
		term="pngcairo size 1500,$((120 + 26 * n)) font 'DejaVu Sans,10'"
		gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo || term="png size 1500,$((120 + 26 * n))"
		mkdir -p "$(dirname "$png")"
		if gnuplot 2> "$out/gnuplot.err" <<-EOF
			set terminal $term
			set output '$png'
			set datafile separator "\t"
			set termoption noenhanced
			set title "pipesfs's advantage per comparison (log scale): the median ratio (bar) and its spread over the runs (whiskers)\nabove 1x, green: pipesfs better; below 1x, red: pipesfs worse (the other's time / pipesfs's; pipesfs's / the other's for MB/s and % captured)"
			set logscale x 10
			set xrange [$lo:$hi]
			set yrange [$n + 0.7:0.3]
			set xtics ($tics)
			set mxtics 10
			set grid xtics mxtics lc rgb "#dddddd"
			set ytics scale 0 font ",9"
			set lmargin 72
			set key off
			set style fill solid 0.75 border -1
			set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "black"
			plot '$data' using (1):1:(\$3 < 1 ? \$3 : 1):(\$3 > 1 ? \$3 : 1):(\$1 - 0.36):(\$1 + 0.36):(\$3 >= 1 ? 0x4caf50 : 0xe53935):ytic(2) \
				with boxxyerror lc rgb variable, \
			     '' using 3:1:4:5 with xerrorbars lc rgb "black" pt 7 ps 0.4, \
			     '' using (\$3 >= 1 ? \$5 * 1.08 : NaN):1:(sprintf("%sx", stringcolumn(3))) with labels left font ",8", \
			     '' using (\$3 < 1 ? \$4 / 1.08 : NaN):1:(sprintf("%sx", stringcolumn(3))) with labels right font ",8"
		EOF
		then
			chart_txt="![pipesfs's advantage per row, log scale]($png_rel)"
		else
			chart_txt="(The chart was not drawn: gnuplot failed: $(tail -n 2 "$out/gnuplot.err" | tr '\n' ' '))"
		fi
	else
		chart_txt="(No chart: no row measured a ratio.)"
	fi
else
	chart_txt="(The chart was not drawn: gnuplot is not installed; \`apt-get install gnuplot-nox\`, then \`bench/report.sh\` draws it from this run's results.)"
fi

# ---- BENCHMARKS.md ----------------------------------------------------
tmp=$md.tmp
{
cat <<EOF
# Benchmarks

Written by \`make bench\` (bench/run.sh, then bench/report.sh) on
$(meta start); do not edit by hand: run \`make bench\` again. The
benchmarks took $(awk -v s="$(meta total)" 'BEGIN {printf "%d min %d s", s / 60, s % 60}') on the machine below.

Every figure is the **median** and, in brackets, the **spread** [lowest–highest]
of several runs, the rows of a benchmark taking turns (run 1 of every
row, then run 2 of every row, …) so that a busy moment of the machine
falls on all of them alike. Every **ratio** is pipesfs's advantage: the
other tool's time (or CPU) over pipesfs's, or pipesfs's throughput (or
share captured) over the other's, from the medians; **above 1×,
pipesfs is better; below 1×, it is worse.** Its spread comes from each run
against the same run of the other row. A row that did not measure says
why and has no ratio.

$chart_txt

## The machine

| | |
|---|---|
| CPU | ${cpu:-?}${virt:+ ($virt)} |
| cores | $cores |
| RAM | $ram |
| kernel | $(uname -r) ($(uname -m)) |
| Debian | $debian |
| huge pages | $huge_txt; transparent huge pages: $thp |
| load average before the runs | $(meta load) (1, 5, 15 min) |

## Versions

| | |
|---|---|
| pipesfs | $(meta version) (\`git describe\` as the runs started) |
| gcc | $(first gcc --version) |
| libfuse3 | $(pc fuse3) |
| liburcu | $(pc liburcu) |
| libpcap | $(pc libpcap) |
| DPDK (rte_ring) | $(pc libdpdk) |
| tcpdump | $(first tcpdump --version) |
| tshark | $(first tshark --version) |
| tcpflow | $(first tcpflow -V) |
| tcpreplay | $(first tcpreplay -V) |
| netsniff-ng | $(first netsniff-ng -v) |
| kernel | $(uname -r) |

## Command lines

\`make bench\` ran, one after the other (never two at once), on
\`$(meta trace)\`$(tr=$(meta trace); [ -r "$tr" ] && printf ' (%s MB)' "$(($(stat -c %s "$tr") / 1000000))"):

| benchmark | command | exit status | time | load average (1 min) as it started |
|---|---|---|---|---|
EOF
awk -F'\t' '$1 == "bench" {
	printf "| bench/%s | `%s` | %s | %d s | %s |\n", $2, $5, $3 == 0 ? "0" : $3 " (error)", $4, $6 == "" ? "?" : $6 }' "$out/meta.tsv"
cat <<EOF

$(r=$(meta runs); [ -z "$r" ] && echo "Each script's own number of runs (its default; \`runs=N make bench\` sets them all)." ||
	echo "Every script ran with \`runs=$r\`.")
The trace, unless \`BENCH_TRACE=FILE\` names another, is recorded once by
\`scripts/mktrace.sh -n 300000 build/bench/http.pcap\` (nginx under \`wrk\`'s
load in private network namespaces). Each row's timed command lines are
listed under its table (TRACE: the trace; MNT: a pipesfs mount; CAP and
SND: the capturing and sending network namespaces).

## Results
EOF

# One section per benchmark, in the order they ran.
awk -F'\t' -v notes="$out/notes.tsv" -v meta="$out/meta.tsv" '
function esc(s) { gsub(/\|/, "\\|", s); return s }
function fig(m, lo, hi) { return m == "-" ? "–" : m " [" lo "–" hi "]" }
function use(text, row, note) {
	if (!(text in ci)) { ci[text] = ++nc; C[nc] = text; isnote[nc] = note; at[nc] = row }
	else at[ci[text]] = at[ci[text]] ", " row
}
BEGIN {
	while ((getline l < meta) > 0) { split(l, f, "\t"); if (f[1] == "bench") order[++nb] = "bench/" f[2] }
	while ((getline l < notes) > 0) { i = index(l, "\t"); b = substr(l, 1, i - 1); note[b] = note[b] "\n- " substr(l, i + 1) }
}
{ rows[$1] = rows[$1] RS $0; if (!($1 in seen)) { seen[$1] = 1; if (!nb) order[++no] = $1 } }
END {
	n = nb ? nb : no
	for (o = 1; o <= n; o++) {
		b = order[o]
		printf "\n### %s\n\n", b
		if (!(b in rows)) { printf "No result: the script wrote none (see its log).\n"; continue }
		m = split(substr(rows[b], 2), R, RS)
		printf "| # | comparison | unit | pipesfs | the other | the other'"'"'s | ratio [spread] | runs |\n"
		printf "|---|---|---|---|---|---|---|---|\n"
		k = 0; lines = ""
		for (i = 1; i <= m; i++) {
			split(R[i], f, "\t")
			k++
			if (f[14] == "ok") {
				printf "| %d | %s | %s | %s | %s | %s | **%s×** [%s–%s] | %s |\n", k, esc(f[2]), f[10],
					fig(f[3], f[4], f[5]), esc(f[6]), fig(f[7], f[8], f[9]), f[11], f[17], f[18], f[15]
			} else {
				printf "| %d | %s | %s | – | %s | – | %s: %s | %s |\n", k, esc(f[2]), f[10] == "-" ? "" : f[10],
					f[6] == "-" ? "" : esc(f[6]), f[14] == "error" ? "**error**" : "not measured", esc(f[19]), f[15]
			}
			# The command lines and notes, each once, with the rows
			# they belong to.
			if (f[12] != "-") use("pipesfs: `" f[12] "`", k)
			if (f[13] != "-") use(f[6] ": `" f[13] "`", k)
			if (f[14] == "ok" && f[19] != "-") use(f[19], k, 1)
		}
		if (nc) printf "\nCommand lines (TRACE: the trace; MNT: a pipesfs mount) and notes, by row:\n\n"
		for (i = 1; i <= nc; i++)
			printf "- %s %s: %s\n", index(at[i], ",") ? "rows" : "row", at[i], C[i] (isnote[i] ? "" : "")
		nc = 0; delete ci; delete C; delete at; delete isnote
		if (b in note) printf "\nThis run:%s\n", note[b]
	}
}' "$res"

cat <<'EOF'

## How to read the rows

- **bench/bufs**: one record moved from a producer thread to a reader
  thread (pinned to the two CPUs), in ns per record, through the beltway
  buffers (`bufs/`) against a Linux pipe and DPDK's `rte_ring`. The ratio
  is the other's ns per record over bufs's: above 1×, bufs moves a record
  more cheaply. `rte_ring` moves 8-byte pointers to records in a pool,
  bufs a descriptor and the record's bytes into its ring.
- **bench/fs**: `cat` of a node's `all` (records through FUSE reads)
  against `cat` of the same bytes from tmpfs: MB/s, the ratio pipesfs's
  over tmpfs's (below 1×: reading a node is slower than reading a
  file); and the source thread's replay of the trace through
  source → ip → tcp against `tcpdump -r` filtering `ip and tcp`: ns per
  packet, the ratio tcpdump's over pipesfs's (above 1×: pipesfs faster).
- **bench/filters**: the replay through a stage (`bpf=tcp port 80`,
  `text`) against the tcpdump command that does the same, per packet;
  "whole replay" is the source thread's whole time, "the stage alone" the
  same minus a replay with no stage (per run). Above 1×: pipesfs faster.
- **bench/http**: every GET request of the trace, from the mount command
  to `cat`'s end of file, against `tshark` and `tcpflow` + `grep` from
  their start to their end, with the same number of requests found by
  each (else an error and no ratio): the other's time over pipesfs's
  (above 1×: pipesfs faster; the goals are 30× and 5×). The `http` stage
  alone (a replay through `tcp/http` minus one through `tcp`) is put
  against the whole replay through source → ip → tcp: above 1×, the stage
  costs less than that replay (the goal: at most 3× its cost, a ratio of
  0.33 or more).
- **bench/live**: `tcpreplay --topspeed` over a veth pair; CPU seconds per
  million packets captured, of the daemon (all its threads) and of the
  daemon plus its `cat …/pcap` reader, against `tcpdump -i -w /dev/null`
  (and `netsniff-ng`): tcpdump's over pipesfs's, above 1× pipesfs cheaper;
  and the share of what was sent that was captured, pipesfs's over
  tcpdump's (1×: as much). The daemon's accounting (sent = received =
  captured + dropped) must add up in every run.
- **bench/zerocopy**: a node's records (the whole trace written into it)
  read to their end by a libpipesfs client, against `cat all`, `cat pcap`
  into libpcap, libpcap on the trace file and `tcpdump -r`: the other's ns
  per record over libpipesfs's, above 1× libpipesfs cheaper; "whole run"
  includes start-up, "net" is each run minus the same run on an empty node
  or trace. Huge pages (see the machine) change libpipesfs's figure
  several times over.

The spread is the lowest and highest of the runs; on this kind of
machine (a shared VM with two CPUs) a run varies by some percent to a few
tens of percent, more for the shortest measurements (the stage-alone
differences). A row whose spread crosses 1× says only that the two are
close.
EOF

if [ -s "$out/results.prev.tsv" ]; then
	prev_when=$(awk -F'\t' '$1 == "start" {print $2}' "$out/meta.prev.tsv" 2>/dev/null || true)
	prev_load=$(awk -F'\t' '$1 == "bench" {printf "%s%s %s", s, $2, $6 == "" ? "?" : $6; s = ", "}' "$out/meta.prev.tsv" 2>/dev/null || true)
	cat <<EOF

## How much runs vary: against an earlier run

\`make bench\` keeps the results of the run before (\`build/bench/results.prev.tsv\`);
here is this run against that one, of ${prev_when:-an unknown date}${prev_load:+ (load average as each benchmark started: $prev_load)}.
For each row: is the earlier run's median within this run's spread, and
this run's median within the earlier run's spread (pipesfs's figure, the
other's, the ratio), and how far the ratio moved.

| bench | comparison | pipesfs: earlier median in this spread / this median in the earlier | the other's | ratio: earlier → this | ratio in this spread / this in the earlier | ratio moved |
|---|---|---|---|---|---|---|
EOF
	awk -F'\t' '
	function esc(s) { gsub(/\|/, "\\|", s); return s }
	function inr(x, lo, hi) { return (x + 0 >= lo + 0 && x + 0 <= hi + 0) ? "yes" : "**no**" }
	NR == FNR { if ($14 == "ok") P[$1 "\t" $2] = $0; next }
	$14 == "ok" && (($1 "\t" $2) in P) {
		split(P[$1 "\t" $2], p, "\t")
		a = inr(p[3], $4, $5) " / " inr($3, p[4], p[5])
		b = inr(p[7], $8, $9) " / " inr($7, p[8], p[9])
		c = inr(p[11], $17, $18) " / " inr($11, p[17], p[18])
		mv = p[11] > 0 ? ($11 / p[11] - 1) * 100 : 0
		printf "| %s | %s | %s | %s | %s× → %s× | %s | %+.0f%% |\n", $1, esc($2), a, b, p[11], $11, c, mv
		rows++
		na += (a == "yes / yes"); nb += (b == "yes / yes"); nc += (c == "yes / yes")
		m = mv < 0 ? -mv : mv; bn = $1
		if (!(bn in nbm)) order[++no] = bn
		nbm[bn]++; if (m > maxm[bn]) maxm[bn] = m; sum[bn] += m
		if (c == "yes / yes") okr[bn]++
	}
	END {
		if (!rows) exit
		printf "\n%d rows measured in both runs; within the other run'"'"'s spread both ways: pipesfs'"'"'s figure in %d, the other'"'"'s in %d, the ratio in %d. How far the ratios moved, per benchmark:\n\n", rows, na, nb, nc
		for (i = 1; i <= no; i++) {
			bn = order[i]
			printf "- %s: on average %.0f%%, at most %.0f%%; the ratio within the spread both ways in %d of %d rows\n",
				bn, sum[bn] / nbm[bn], maxm[bn], okr[bn], nbm[bn]
		}
	}' "$out/results.prev.tsv" "$res"
	cat <<'EOF'

The absolute figures move with what else the machine runs: a run next to
another job on this 2-CPU VM took up to twice as long per packet. The
ratios, from rows taking turns, move less, but not equally: the stage-alone
rows are differences of two noisy replays, and bench/bufs pins a thread
to each of the two CPUs, so that anything else running lands on one of
them. Read a ratio with its spread; where two runs disagree, the figure
is not better known than the range they span.
EOF
fi

cat <<'EOF'

## How to reproduce

As root, with `/dev/fuse`, on Debian 12:

```sh
make deps          # the tools compared with, gnuplot, and nginx and wrk for the trace
make bench         # records build/bench/http.pcap the first time, then every benchmark
```

`make bench` prints each benchmark's own tables as it goes (kept in
`build/bench/*.log`), writes every comparison to `build/bench/results.tsv`
(one tab-separated line each; the columns are described in
`bench/lib.sh`), and rewrites this file and its chart. It fails when a
benchmark broke (a measurement that went wrong); a tool that is not
installed or a trace too small gives "not measured" rows instead.
`BENCH_TRACE=FILE make bench` measures on another trace (100000 packets
at least), `runs=N make bench` runs every row N times, and
`bench/report.sh` writes this file again from the last run's results.
A second `make bench` lists, under "How much runs vary", which figures
fell within the other run's spread and how far each ratio moved.
EOF
} > "$tmp"
mv "$tmp" "$md"
echo "bench/report: wrote $md$([ -z "$chart_txt" ] || [ "${chart_txt#!}" = "$chart_txt" ] || echo " and $png")"
