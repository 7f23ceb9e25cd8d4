#!/bin/bash
# Ctrl-C: SIGINT to a `cat` blocked on a node with no data ends it, killed
# by the signal, having read nothing (DESIGN.md: "a signal interrupts a
# blocked read promptly").  No data ever comes, so a read that ignored the
# interrupt would block for good: the 20 s bound only tells a hang from a
# busy machine, and how long it took is printed, not judged.  Tried on a
# top-level node nobody writes to, and on a filter node that matches
# nothing below a looping source that keeps the daemon busy.  Afterwards
# the reader count is back to 0 and the daemon still serves.
#
# Background jobs of a script ignore SIGINT; `env --default-signal=INT`
# gives cat the default action back, as an interactive shell would.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump
env --default-signal=INT true 2>/dev/null || skip "env --default-signal is not supported (coreutils < 8.31)"

# A port no packet of the trace uses.
[ "$(tcount "$TRACE" port 9)" = 0 ] || die "the trace has port 9 traffic"
pfs_mount -s "pcap:$TRACE,name=s,loop,start=now" -g s/port=9 -g s/ip/tcp
mkdir "$MNT/top" || bad "mkdir top failed"
wait_for 5 stat_is "$MNT/s" records -gt 1000 || bad "the looping source does not run"

# ctrl_c NODE: start cat NODE/all, check it blocks, SIGINT it, time its end.
ctrl_c() {
	local node=$1 cat rc el t0
	env --default-signal=INT cat "$MNT/$node/all" >"$T/cat.out" 2>"$T/cat.err" &
	cat=$!
	bg_add $cat
	wait_for 5 stat_is "$MNT/$node" readers = 1 || bad "cat $node/all did not open it"
	sleep 0.3
	if ! alive $cat; then
		bad "cat $node/all did not block (it ended: $(cat "$T/cat.err"))"
		return
	fi
	t0=$(date +%s%N)
	kill -INT $cat
	if ! wait_gone $cat 20; then
		bad "cat $node/all still blocked 20 s after SIGINT"
		kill -KILL $cat 2>/dev/null
		return
	fi
	el=$(( ($(date +%s%N) - t0) / 1000000 ))
	rc=0
	wait $cat || rc=$?
	say "cat $node/all: ended ${el} ms after SIGINT, status $rc"
	check_eq "status of cat $node/all after SIGINT (killed by SIGINT)" 130 "$rc"
	check_eq "bytes cat $node/all read" 0 "$(wc -c <"$T/cat.out")"
	wait_for 3 stat_is "$MNT/$node" readers = 0 ||
		bad "$node/stats readers is $(stat_of "$MNT/$node" readers) after the interrupted cat ended"
}

for _ in 1 2 3; do
	ctrl_c top
	ctrl_c s/port=9
done

# The daemon still serves: the looping source flows, a write is read back.
r0=$(stat_of "$MNT/s/ip/tcp" records)
wait_for 5 stat_is "$MNT/s/ip/tcp" records -gt "$r0" || bad "s/ip/tcp stopped growing"
printf after >"$MNT/top/all" || bad "writing top/all failed"
check_eq "top/all after the interrupts" after "$(rd "$MNT/top/all" 5)"

pfs_done
