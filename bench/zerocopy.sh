#!/bin/bash
# bench/zerocopy: the cost per record of reading one node's records, side by
# side in one run:
#
#   (a) libpipesfs: `zerocopy-count MNT/x` (examples/zerocopy-count.c),
#       which maps the node's rings and reads each record in place;
#   (b) `cat MNT/x/all > /dev/null`: the same records through FUSE reads;
#   (c) `cat MNT/x/pcap | pcapcount -`: the node's pcap stream through a
#       pipe into libpcap's pcap_next_ex (bench/pcapcount.c);
#   (d) `pcapcount TRACE`: libpcap's pcap_next_ex on the trace file itself,
#       the libpcap baseline per record;
#   (e) `tcpdump -r TRACE -w /dev/null`: the same through tcpdump.
#
# Every reader looks at each record's first byte (a reader uses its records;
# (b) and (e) copy them).  The node holds the whole trace before any reader
# runs: TRACE is written into a written node (`mkdir MNT/x`, `cat TRACE >
# MNT/x/pcap`: each packet becomes a record in the node's own ring, a
# memfd), the writer closes, and every reader then reads from the oldest
# record to the end of stream (a written node's readers get EOF once its
# writers have closed), without a producer running meanwhile.  The ring
# size is the smallest power of two (at least 64M) that holds the trace's
# bytes twice and one index slot per packet (the index ring has
# ring-size / 1024 slots), and the node's `stats` must count every packet.
#
# Each row runs $runs times (default 15; runs=N to change), the rows taking
# turns so that a busy moment of the machine falls on all of them, after an
# untimed pass that checks what each reader got (every record and byte,
# lost 0): median and spread [min-max] of the wall time, as records per
# second and ns per record.  Each row also runs, as many times, on nothing:
# a node and a trace holding only a pcap header (start-up: exec, open,
# mapping, exit); "net" is, per run, the whole run minus the same run's
# start-up, per record (median and spread of those).  Times are bash's $EPOCHREALTIME (no fork around the timed
# command).
#
# Zero copy: the node's `copied_bytes` (bytes written into its rings: the
# writer's one copy of each packet) is read before and after every
# libpipesfs run and must not move; zerocopy-count's own byte count says
# what it read in place.
#
# Ratios (medians: each other row's time per record over libpipesfs's,
# above 1: libpipesfs cheaper; the spread from each run against the same
# run of the other row) are printed only from rows that measured.  A run that went wrong (a
# reader that failed or did not end, a count that differs, copied_bytes that
# moved) is an error: said, kept out of the figures, and the exit status is
# 1.  The goals of issue 13: libpipesfs at least 10x cheaper per record than
# libpcap (row (d), net of start-up), and zero bytes copied for the client.
#
# usage: bench/zerocopy.sh PIPESFS [TRACE]   (root; TRACE as for
# bench/fs.sh; zerocopy-count is taken next to PIPESFS, in examples/, or
# from $ZEROCOPY_COUNT)
set -euo pipefail
runs=${runs:-15}
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/zerocopy.sh PIPESFS [TRACE]}
bench_need tcpdump cc timeout fusermount3
zc=${ZEROCOPY_COUNT:-$(dirname "$pipesfs")/examples/zerocopy-count}
[ -x "$zc" ] || not_measured "$zc is not built (make builds it)"
[ -x "$pipesfs" ] || broken "$pipesfs is not an executable"
bench_trace "${2:-}"
bench_enough "$packets"
tmo=120	# s: a reader that has not ended by then never will

work=$(mktemp -d /dev/shm/pipesfs-zerocopy.XXXXXX)
mnt=
cleanup() {
	if [ -n "$mnt" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
		rmdir "$mnt" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# libpcap's reader, built here as tests/tools are.
if ! cc -O2 -Wall -Wextra -o "$work/pcapcount" "$repo/bench/pcapcount.c" -lpcap 2> "$work/cc.err"; then
	grep -q 'pcap/pcap.h' "$work/cc.err" &&
		not_measured "libpcap's headers are not installed (make deps installs them)"
	broken "cannot build bench/pcapcount.c: $(cat "$work/cc.err")"
fi
pcapcount=$work/pcapcount

# The ring: the trace's bytes twice, an index slot per packet.
tbytes=$(stat -c %s "$trace")
ring=$((64 << 20))
while [ "$ring" -lt $((2 * tbytes)) ] || [ "$ring" -lt $((packets * 1024)) ]; do
	ring=$((ring * 2))
done
# A pcap header alone (tcpdump writes one for the trace's link type, pcap
# or pcapng alike): the start-up rows' trace and node.
tcpdump -r "$trace" -w "$work/empty.pcap" 'less 0 and greater 1' 2>/dev/null ||
	broken "tcpdump could not write an empty capture from $trace"
magic=$(od -An -tx1 -N4 "$trace" | tr -d ' \n')
view=pcap
[ "$magic" != 0a0d0d0a ] || view=pcapng

huge_free() { awk '/^HugePages_Free:/ {print $2}' /proc/meminfo; }
huge_total() { awk '/^HugePages_Total:/ {print $2}' /proc/meminfo; }
huge0=$(huge_free)
mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
"$pipesfs" --ring-size "$ring" "$mnt" || { rmdir "$mnt"; mnt=; broken "pipesfs did not mount"; }
log_tail() { tail -n 3 "$mnt/log" 2>/dev/null | sed 's/^/  log: /'; }
mkdir "$mnt/x" "$mnt/e" || broken "mkdir of the nodes failed: $(log_tail)"
cat "$trace" > "$mnt/x/$view" || broken "writing $trace into x/$view failed: $(log_tail)"
cat "$work/empty.pcap" > "$mnt/e/pcap" || broken "writing a pcap header into e/pcap failed: $(log_tail)"
huge1=$(huge_free)
stat_of() { awk -v k="$2:" '$1 == k {print $2}' "$mnt/$1/stats"; }
[ "$(stat_of x records)" = "$packets" ] ||
	broken "the node counts $(stat_of x records) records of the trace's $packets: $(log_tail)"
[ "$(stat_of x drops)" = 0 ] || broken "the node dropped $(stat_of x drops) records: $(log_tail)"
bytes=$(stat_of x bytes)
copied0=$(stat_of x copied_bytes)
[ "$(stat_of e records)" = 0 ] || broken "the empty node counts $(stat_of e records) records"

# The rows: NAME, and a function reading NODE TRACE, its output on stdout.
keys=(zc all pipe pcap tcpdump)
declare -A name=(
	[zc]="(a) libpipesfs: zerocopy-count MNT/x"
	[all]="(b) cat MNT/x/all > /dev/null"
	[pipe]="(c) cat MNT/x/pcap | pcap_next_ex"
	[pcap]="(d) libpcap: pcap_next_ex on TRACE"
	[tcpdump]="(e) tcpdump -r TRACE -w /dev/null"
)
row_zc() { timeout "$tmo" "$zc" "$1" 0; }
row_all() { timeout "$tmo" cat "$1/all"; }
row_pipe() { timeout "$tmo" cat "$1/pcap" | "$pcapcount" -; }
row_pcap() { "$pcapcount" "$2"; }
row_tcpdump() { tcpdump -r "$2" -w /dev/null 2>/dev/null; }

# check KEY RC RECORDS BYTES [OUTPUT]: why a run's result is wrong, or
# nothing.  OUTPUT: the reader's (`all`: its byte count, when counted).
check() {
	local k=$1 rc=$2 r=$3 b=$4 out=${5-}
	if [ "$rc" = 124 ] && [ "$k" != pcap ] && [ "$k" != tcpdump ]; then
		echo "did not end within $tmo s"
		return
	fi
	[ "$rc" = 0 ] || { echo "exit status $rc"; return; }
	case $k in
	zc) [ "$out" = "records $r bytes $b lost 0" ] || echo "got \"$out\", not \"records $r bytes $b lost 0\"" ;;
	all) [ -z "$out" ] || [ "$out" = "$b" ] || echo "read $out bytes of $b" ;;
	pipe) [ "$out" = "records $r bytes $b" ] || echo "got \"$out\", not \"records $r bytes $b\"" ;;
	pcap) [ "${out%% bytes *}" = "records $r" ] || echo "got \"$out\", not $r records" ;;
	esac
}

rows=$work/rows
: > "$rows"
: > "$work/copied"
errors=0
# run KEY KIND RUN: one timed run of row KEY on the whole node and trace
# (KIND full) or on the empty ones (KIND empty); a line in $rows.
run() {
	local k=$1 kind=$2 i=$3 node=$mnt/x tr=$trace r=$packets b=$bytes dest=$work/out
	local t0 t1 rc=0 why c0 c1
	if [ "$kind" = empty ]; then
		node=$mnt/e tr=$work/empty.pcap r=0 b=0
	fi
	[ "$k" != all ] || dest=/dev/null
	[ "$k" != zc ] || c0=$(stat_of x copied_bytes)
	t0=${EPOCHREALTIME/[.,]/}
	"row_$k" "$node" "$tr" > "$dest" 2> "$work/err" || rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	why=$(check "$k" "$rc" "$r" "$b" "$(cat "$work/out" 2>/dev/null)")
	if [ "$k" = zc ]; then
		c1=$(stat_of x copied_bytes)
		# Per full run: the counter around it, and whether it measured
		# otherwise.
		[ "$kind" != full ] || printf '%s\t%s\t%s\t%s\n' "$i" "$c0" "$c1" \
			"$([ -z "$why" ] && echo ok || echo broken)" >> "$work/copied"
		[ "$c0" = "$copied0" ] && [ "$c1" = "$copied0" ] ||
			why="${why:+$why; }copied_bytes of x moved: $copied0 at the start, $c0 before the run, $c1 after"
	fi
	rm -f "$work/out"
	if [ -n "$why" ]; then
		echo "$bench: error: ${name[$k]} ($kind, run $i): $why$(sed 's/^/; /' "$work/err" | tr -d '\n')" >&2
		printf '%s\t%s\t%s\tbroken\n' "$k" "$kind" "$i" >> "$rows"
		errors=$((errors + 1))
		return 0
	fi
	printf '%s\t%s\t%s\tok\t%s\n' "$k" "$kind" "$i" $(((10#$t1 - 10#$t0) * 1000)) >> "$rows"
}

# The untimed pass: what each reader gets, in full (`all` counted).
for k in "${keys[@]}"; do
	rc=0
	if [ "$k" = all ]; then
		out=$( (row_all "$mnt/x" | wc -c) 2> "$work/err") || rc=$?
	else
		out=$("row_$k" "$mnt/x" "$trace" 2> "$work/err") || rc=$?
	fi
	why=$(check "$k" "$rc" "$packets" "$bytes" "$out")
	[ -z "$why" ] || broken "${name[$k]}, untimed pass: $why$(sed 's/^/; /' "$work/err" | tr -d '\n')"
	[ "$k" != zc ] || zc_out=$out
	[ "$k" != pcap ] || pcap_bytes=${out##* bytes }
done
[ "$(stat_of x copied_bytes)" = "$copied0" ] ||
	broken "copied_bytes of x moved in the untimed pass: $copied0, then $(stat_of x copied_bytes)"

load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now)
for i in $(seq "$runs"); do
	for k in "${keys[@]}"; do
		run "$k" full "$i"
		run "$k" empty "$i"
	done
done
t_all=$((($(now) - t_start) / 1000000000))

if [ "$huge1" -lt "$huge0" ]; then
	huge="on huge pages ($((huge0 - huge1)) taken of vm.nr_hugepages)"
else
	huge="on 4 KiB pages (vm.nr_hugepages $(huge_total), $(huge_free) free)"
fi
printf "bench/zerocopy: %s: %d packets, %d bytes of records (libpcap reads %s bytes from the file)\n" \
	"$trace" "$packets" "$bytes" "$pcap_bytes"
printf "written into node x (x/%s), --ring-size %dM: the whole trace in its ring, %s\n" \
	"$view" $((ring >> 20)) "$huge"
printf "%d runs per row, rows taking turns (%d s in all); median [min-max] over the runs that measured\n" \
	"$runs" "$t_all"
printf "this machine: %d CPUs, load average %s before the runs\n\n" "$(nproc)" "$load"

# The figures, per run that measured: ns/record and Mrecords/s of the whole
# run, the start-up (the run on nothing) in ms, and net ns/record: the
# run's whole time minus the same run's start-up, per record.
declare -A t_full=() t_empty=() nbad=()
while IFS=$'\t' read -r k kind i st ns; do
	if [ "$st" != ok ]; then nbad[$k]=$((${nbad[$k]:-0} + 1)); continue; fi
	if [ "$kind" = full ]; then
		t_full[$k,$i]=$ns
		sample "full:$k" "$i" "$(per "$ns" "$packets")"
		sample "mrs:$k" "$i" "$(per "$packets" "$ns" 1000)"
	else
		t_empty[$k,$i]=$ns
		sample "start:$k" "$i" "$(per "$ns" 1000000)"
	fi
done < "$rows"
for k in "${keys[@]}"; do
	for i in $(seq "$runs"); do
		[ -z "${t_full[$k,$i]:-}" ] || [ -z "${t_empty[$k,$i]:-}" ] ||
			sample "net:$k" "$i" "$(per $((t_full[$k,$i] - t_empty[$k,$i])) "$packets")"
	done
done
printf "%-38s %20s %20s %18s %16s\n" "reader" "Mrecords/s" "ns/record" "start-up ms" "ns/record net"
for k in "${keys[@]}"; do
	if [ "$(nsamples "full:$k")" = 0 ]; then
		printf "%-38s error: no run measured (see above)\n" "${name[$k]}"
		continue
	fi
	printf "%-38s %20s %20s %18s %16s%s\n" "${name[$k]}" "$(fig "mrs:$k")" "$(fig "full:$k")" \
		"$(fig "start:$k")" "$(fig "net:$k")" \
		"$([ -z "${nbad[$k]:-}" ] || echo "  (${nbad[$k]} of $((2 * runs)) runs broken)")"
done

declare -A cmd=(
	[zc]="zerocopy-count MNT/x 0 (examples/zerocopy-count.c: libpipesfs)"
	[all]="cat MNT/x/all > /dev/null"
	[pipe]="cat MNT/x/pcap | pcapcount - (bench/pcapcount.c: libpcap's pcap_next_ex)"
	[pcap]="pcapcount TRACE (bench/pcapcount.c: libpcap's pcap_next_ex)"
	[tcpdump]="tcpdump -r TRACE -w /dev/null"
)
declare -A short=(
	[all]="cat all" [pipe]="cat pcap | pcap_next_ex" [pcap]="libpcap pcap_next_ex on the file"
	[tcpdump]="tcpdump -r -w /dev/null"
)
printf "\nratios per record, the other row's time / libpipesfs's (above 1: libpipesfs cheaper), medians [spread]:\n"
printf "  %-38s %24s %24s\n" "" "whole run" "net of start-up"
for k in "${keys[@]:1}"; do
	w=$(result "libpipesfs vs ${short[$k]}, whole run" ns/record lower "full:zc" "${short[$k]}" "full:$k" \
		"${cmd[zc]}" "${cmd[$k]}" "$huge")
	n=$(result "libpipesfs vs ${short[$k]}, net of start-up" ns/record lower "net:zc" "${short[$k]}" "net:$k" \
		"${cmd[zc]}" "${cmd[$k]}" "$huge; each run's time minus the same run's on an empty node or trace$([ "$k" != pcap ] || echo "; goal >= 10x")")
	[ "$k" != pcap ] || g=$n
	printf "  vs %-35s %24s %24s\n" "${name[$k]}" "$w" "$n"
done
printf "\ngoals:\n"
if [ "${g:--}" != - ]; then
	printf "  libpipesfs at least 10x cheaper per record than libpcap (d), net of start-up: %s: %s\n" \
		"$g" "$(awk -v r="${g%%x*}" 'BEGIN {print (r >= 10 ? "met" : "NOT met")}')"
else
	printf "  libpipesfs at least 10x cheaper per record than libpcap (d): not judged (no net time for both)\n"
fi
bench_note "the trace written into a node's ring, --ring-size $((ring >> 20))M, $huge; $packets records, $bytes bytes"

# Zero copy: copied_bytes around every libpipesfs run.
awk -F'\t' -v c0="$copied0" -v zc="$zc_out" -v runs="$runs" '
BEGIN { kept = moved = 0 }
{ if ($2 != c0 || $3 != c0) moved++; else if ($4 == "ok") kept++ }
END {
	printf "  zero bytes copied between the ring and the client: copied_bytes of x stayed %s around each of", c0
	printf " the %d measured libpipesfs runs (of %d; %s): %s\n", kept, runs,
		moved ? moved " run(s) moved it" : "none moved it",
		moved ? "NOT met" : kept ? "met" : "not judged (no libpipesfs run measured)"
	printf "    (those %s bytes are the writer'"'"'s: each packet copied once into the ring by the write;\n", c0
	printf "    zerocopy-count read them in place, each run: \"%s\")\n", zc
}' "$work/copied"
printf "note: (b) and (c) copy every record out of the ring into the reader's buffer (FUSE reads; (c) also\n"
printf "      through a pipe), (d) and (e) read the file through the page cache (a copy per read).\n"

[ "$errors" = 0 ] || broken "$errors run(s) went wrong (above); their rows print only the runs that measured"
