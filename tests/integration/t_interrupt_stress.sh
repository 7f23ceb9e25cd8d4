#!/bin/bash
# Reads interrupted by signals while files are closed and reopened, for
# PFS_STRESS_SECS seconds (default 30): 8 readers under a SIGALRM every
# 200 us, on a looping source's busy nodes and on a node that never gets a
# record (every read there blocks, so every alarm interrupts a parked
# read).  The interrupt, the answer and the close race each other all the
# time: no reader may see an error but EINTR, the daemon must keep
# answering, and it must exit cleanly at the unmount.  CI runs this with
# the sanitizer build, where a use of a freed open file is a report.
. "$(dirname "$0")/lib.sh"
need_trace
build_tool sigreads
SECS=${PFS_STRESS_SECS:-30}

pfs_mount -s "pcap:$TRACE,name=s,loop,start=now" -g s/ip/tcp/text -g s/port=9
wait_for 10 stat_is "$MNT/s" records -gt 1000 || bad "the looping source does not run"
readers=()
for f in s/all s/all s/ip/tcp/text/all s/ip/tcp/text/all s/ip/tcp/pcap s/port=9/all s/port=9/all s/port=9/pcap; do
	i=${#readers[@]}
	timeout -k 5 $((SECS + 30)) "$T/sigreads" "$MNT/$f" "$SECS" 200 20 >"$T/r$i" 2>&1 &
	readers+=($!)
	bg_add $!
done
for i in "${!readers[@]}"; do
	wait "${readers[$i]}" || bad "reader $i: $(cat "$T/r$i")"
done
say "a busy reader:  $(cat "$T/r0")"
say "a parked reader: $(cat "$T/r5")"
eintr=$(sed -n 's/.*eintr=\([0-9]*\).*/\1/p' "$T/r5")
[ "${eintr:-0}" -gt 0 ] || bad "no read of the empty node was interrupted: the test did not test"
timeout 10 ls "$MNT/s" >/dev/null || bad "the daemon does not answer after the readers"
pfs_done
