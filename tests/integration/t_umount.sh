#!/bin/bash
# Unmounting (DESIGN.md: "`fusermount3 -u MOUNTPOINT` unmounts; the daemon
# then exits 0 and leaves nothing behind").
#
# 1. Under load, readers still open: a looping source, with
#    `cat s/pcap > /dev/null` and `cat s/ip/tcp/all > /dev/null` running.
#    The kernel refuses a plain `fusermount3 -u` while files are open
#    (EBUSY: tried once, not counted), so this uses `fusermount3 -u -z`
#    (lazy: the mount point is detached at once).  Then the daemon must
#    exit 0 within 5 s, its readers must end within 5 s, and no process
#    may be left that names the mount point.
# 2. A looping source still replaying (start=now) with no reader open:
#    a plain `fusermount3 -u` works and the daemon exits 0 within 5 s.
# 3. A lossless producer blocked on a stopped reader (64K ring): lazy
#    unmount, then the reader is killed; the daemon exits 0 within 5 s.
. "$(dirname "$0")/lib.sh"
need_trace

# Processes whose command line names the mount point (read-only scan).
left_over() {
	local d
	for d in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$1" && echo "${d#/proc/}"
	done
}

# ---- 1. lazy unmount with readers open ---------------------------------------------
pfs_mount -s "pcap:$TRACE,name=s,loop" -g s/ip/tcp
mnt=$MNT
cat "$MNT/s/pcap" >/dev/null 2>"$T/r1.err" &
r1=$!
bg_add $r1
cat "$MNT/s/ip/tcp/all" >/dev/null 2>"$T/r2.err" &
r2=$!
bg_add $r2
wait_for 10 stat_is "$MNT/s/ip/tcp" records -gt 1000 || bad "the looping source does not flow"
alive $r1 && alive $r2 || bad "a reader of the looping source ended by itself"
if fusermount3 -u "$MNT" 2>"$T/fu.err"; then
	say "NOTE: plain fusermount3 -u succeeded with files open"
else
	say "plain fusermount3 -u with open files: $(cat "$T/fu.err") (expected; now -z)"
	fusermount3 -u -z "$MNT" 2>"$T/fu.err" || bad "fusermount3 -u -z failed: $(cat "$T/fu.err")"
fi
mounted "$mnt" && bad "$mnt is still mounted after fusermount3 -u -z"
# Both within the same 5 s: the daemon's exit and the readers'.
wait_gone "$PFS_PID" 5
still=""
for r in $r1 $r2; do
	wait_gone $r 1 || still="$still $r"
done
pfs_wait_exit 0 "5 s after the lazy unmount"
[ -z "$still" ] || bad "readers of a looping source still running 5 s after the lazy unmount:$still"
left=$(left_over "$mnt")
[ -z "$left" ] || bad "processes left that name $mnt: $left"
# End the readers (if they still run) so the connection goes and the next
# mount starts clean.
kill -TERM $r1 $r2 2>/dev/null
wait_gone $r1 3
wait_gone $r2 3

# ---- 2. plain unmount while a looping source replays --------------------------------
pfs_mount -s "pcap:$TRACE,name=s,loop,start=now" -g s/ip/tcp
wait_for 10 stat_is "$MNT/s/ip/tcp" records -gt 1000 || bad "the looping source does not flow"
rd "$MNT/s/stats" 5 >/dev/null
mnt=$MNT
t0=$(now_ms)
pfs_umount
say "unmount with a looping source: the daemon ended $(( $(now_ms) - t0 )) ms after fusermount3 -u"
left=$(left_over "$mnt")
[ -z "$left" ] || bad "processes left that name $mnt: $left"

# ---- 3. a producer blocked in a lossless wait -------------------------------------
pfs_mount --ring-size 64K -s "pcap:$TRACE,name=s,loop"
mnt=$MNT
cat "$MNT/s/all" >/dev/null &
r=$!
bg_add $r
wait_for 10 stat_is "$MNT/s" records -gt 100 || bad "the source does not flow"
kill -STOP $r
sleep 0.5
n1=$(stat_of "$MNT/s" records)
sleep 0.5
n2=$(stat_of "$MNT/s" records)
check_eq "s/stats records while its only reader is stopped (lossless: the producer waits)" "$n1" "$n2"
fusermount3 -u -z "$MNT" 2>"$T/fu.err" || bad "fusermount3 -u -z failed: $(cat "$T/fu.err")"
kill -KILL $r
wait_gone $r 5
pfs_wait_exit 5 "5 s after the lazy unmount and the reader's death"
left=$(left_over "$mnt")
[ -z "$left" ] || bad "processes left that name $mnt: $left"

exit "$PFS_FAILED"
