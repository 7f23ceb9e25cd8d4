#!/bin/bash
# bench/bufs: what moving one record from a producer thread to a reader
# thread costs through the beltway buffers, against a Linux pipe (a write
# and a read per record, and batched in 64 KiB) and DPDK's rte_ring (SPSC,
# bursts of 32 pointers), for 64-byte and 1500-byte records: bench/bufs.c
# (build/bench/bufs), run $runs times (default 9).  Each run of it runs
# every case in turn, so the runs are the rows taking turns; each case's
# figure is the median and spread (min-max) of its ns per record over the
# runs.  A run whose cases delivered torn, misplaced or missing records
# (bufs's `errs` column, or its exit status) is an error: its figures are
# left out, and the exit status is 1.
#
# usage: bench/bufs.sh PIPESFS [TRACE]   (as the other benchmarks; the
# binary is taken next to PIPESFS, in bench/, or from $BUFS_BENCH; TRACE
# is not used)
set -euo pipefail
runs=${runs:-9}
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/bufs.sh PIPESFS [TRACE]}
bin=${BUFS_BENCH:-$(dirname "$pipesfs")/bench/bufs}
[ -x "$bin" ] || not_measured "$bin is not built (make bench builds it)"
work=$(mktemp -d /dev/shm/pipesfs-bufs.XXXXXX)
trap 'rm -rf "$work"' EXIT

status=0
t0=$(now)
for r in $(seq "$runs"); do
	rc=0
	"$bin" > "$work/out.$r" 2> "$work/err.$r" || rc=$?
	# A case line: its name in 22 columns, then size sent delivered drops
	# rec/s ns/rec cyc/rec MB/s waits errs prodns.
	awk -v r="$r" 'NF >= 12 && substr($0, 23, 1) == " " && substr($0, 24) ~ /^ *[0-9]+ / {
		name = substr($0, 1, 22); sub(/ +$/, "", name)
		split(substr($0, 24), f, " ")
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r, name, f[1], f[6], f[10], f[4], f[3]
	}' "$work/out.$r" > "$work/cases.$r"
	if [ ! -s "$work/cases.$r" ]; then
		echo "$bench: error: run $r printed no case (exit status $rc): $(tail -n 3 "$work/err.$r" | tr '\n' ' ')" >&2
		status=1
		continue
	fi
	while IFS=$'\t' read -r _ name size ns errs drops delivered; do
		if [ "$errs" != 0 ] || [ "$delivered" = 0 ]; then
			echo "$bench: error: run $r, $name, $size B: $errs torn, misplaced or missing records, $delivered delivered: left out" >&2
			status=1
			continue
		fi
		case $name in
		"bufs 4 readers: r"*)	# the four readers: their mean, per run
			echo "$size $ns $drops" >> "$work/four.$r" ;;
		*)	sample "$name/$size" "$r" "$ns" ;;
		esac
	done < "$work/cases.$r"
	for size in 64 1500; do
		[ ! -s "$work/four.$r" ] ||
			v=$(awk -v s="$size" '$1 == s {t += $2; n++} END {if (n == 4) printf "%.3f", t / n}' "$work/four.$r")
		[ -z "${v:-}" ] || sample "bufs 4 readers/$size" "$r" "$v"
		v=
	done
	[ "$rc" = 0 ] || { [ "$status" != 0 ] || echo "$bench: error: run $r ended with status $rc" >&2; status=1; }
done
t_all=$((($(now) - t0) / 1000000000))

sed -n '1,/^case /{/^case /d;p}' "$work/out.1"
printf "%d runs of every case, each run every case in turn (%d s in all); ns per record, median [min-max]\n\n" \
	"$runs" "$t_all"
cases=("bufs 1 reader" "bufs 4 readers" "pipe write+read/rec" "pipe batched 64K" "rte_ring SPSC burst32")
printf "%-24s %22s %22s\n" "case" "64 B" "1500 B"
for c in "${cases[@]}"; do
	printf "%-24s %22s %22s\n" "$c" "$(fig "$c/64")" "$(fig "$c/1500")"
done
echo "(bufs 4 readers: the mean of its four readers, all on one CPU, per run)"
sed -n '/^pipe: capacity/,/^ *pool of/p' "$work/out.1"

cmd_bufs="build/bench/bufs (bench/bufs.c): bufs 1 reader, lossy DBuf + IBuf, producer and reader pinned to CPUs 0 and 1"
declare -A other=(
	["pipe write+read/rec"]="pipe, write+read per record"
	["pipe batched 64K"]="pipe, 64 KiB batches"
	["rte_ring SPSC burst32"]="DPDK rte_ring SPSC"
)
declare -A ocmd=(
	["pipe write+read/rec"]="build/bench/bufs: pipe2(), write() and read() of each record"
	["pipe batched 64K"]="build/bench/bufs: pipe2(), write() and read() of 64 KiB of whole records"
	["rte_ring SPSC burst32"]="build/bench/bufs: rte_ring_init(RING_F_SP_ENQ|RING_F_SC_DEQ), burst enqueue/dequeue of 32 pointers to records in a pool"
)
printf "\nratios, the other's ns per record / bufs 1 reader's (above 1: bufs cheaper), medians [spread]:\n"
printf "  %-30s %24s %24s\n" "" "64 B" "1500 B"
for c in "${cases[@]:2}"; do
	note=
	[ "$c" != "rte_ring SPSC burst32" ] || note="rte_ring moves 8-byte pointers (the producer fills a pool slot, the reader reads it), bufs a descriptor and the record's bytes"
	a=$(result "bufs vs ${other[$c]}, 64 B records" ns/record lower "bufs 1 reader/64" "${other[$c]}" "$c/64" \
		"$cmd_bufs" "${ocmd[$c]}" "$note")
	b=$(result "bufs vs ${other[$c]}, 1500 B records" ns/record lower "bufs 1 reader/1500" "${other[$c]}" "$c/1500" \
		"$cmd_bufs" "${ocmd[$c]}" "$note")
	printf "  %-30s %24s %24s\n" "vs $c" "$a" "$b"
done
[ "$status" = 0 ] || result_none "runs that went wrong" error "a run of build/bench/bufs failed or had errors: see the output; the rows count only the cases that measured"
exit $status
