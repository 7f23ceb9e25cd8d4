#!/bin/bash
# Running out of descriptors (README "Limits"): the daemon starts with a
# low open-file limit whose soft value is below the hard one, and raises
# it to the hard one (said in log).  Nodes are then made until mkdir fails:
# every mkdir that returned 0 gives a node that gets the whole replay; the
# failing one fails with EMFILE ("Too many open files", also in log) and
# leaves nothing behind, as do mv and ln -s under the source.  A write that needs a new ring fails with EMFILE
# and stores nothing, an open for writing that needs one fails the same
# way, a write that needs none goes through; once nodes are removed, both
# work again.  The unmount ends with exit status 0.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool prlimit
SOFT=200 HARD=320

# The daemon, started under those limits (prlimit execs it: same pid).
real=$PIPESFS
PIPESFS=$T/pipesfs-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s "%s" "$@"\n' "$SOFT" "$HARD" "$real" >"$PIPESFS"
chmod +x "$PIPESFS"
pfs_mount -s "pcap:$TRACE,name=t"

grep -q "open-file limit: $HARD (raised from $SOFT)" "$MNT/log" ||
	bad "log does not say the open-file limit was raised to $HARD: $(head -3 "$MNT/log")"
check_eq "the daemon's soft open-file limit" "$HARD" \
	"$(awk '/^Max open files/ { print $4 }' "/proc/$PFS_PID/limits")"

# Before the descriptors run out: x's writer has both its rings (it wrote),
# w's writer only its index ring (its data ring comes with its first write).
mkdir "$MNT/x" "$MNT/w" "$MNT/v" || bad "mkdir x w v failed"
exec 3>"$MNT/x/all"
printf one >&3 || bad "the first write into x/all failed"
exec 4>"$MNT/w/all"

# ---- mkdir until it fails ----------------------------------------------------------
made=0
for i in $(seq 1 "$HARD"); do
	mkdir "$MNT/t/s$i" 2>"$T/mkdir.err" || break
	made=$i
done
fail=s$((made + 1))
[ "$made" -gt 0 ] && [ "$made" -lt "$HARD" ] || bad "$made mkdirs of $HARD succeeded"
grep -q "Too many open files" "$T/mkdir.err" ||
	bad "mkdir t/$fail: want EMFILE, got: $(cat "$T/mkdir.err")"
[ ! -e "$MNT/t/$fail" ] || bad "the failed mkdir left t/$fail behind"
grep -q "mkdir $fail: Too many open files" "$MNT/log" ||
	bad "no line in log says why mkdir $fail failed: $(tail -3 "$MNT/log")"
say "mkdir: $made nodes made, the next failed: $(cat "$T/mkdir.err")"
# mv and ln -s under t need t's producer's rings too: refused, no edge left.
mkdir "$MNT/lone" || bad "mkdir lone (at the top: no ring needed) failed"
rc=0
mv "$MNT/lone" "$MNT/t/" 2>"$T/mv.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Too many open files" "$T/mv.err" ||
	bad "mv lone t/: want EMFILE, got status $rc: $(cat "$T/mv.err")"
[ -d "$MNT/lone" ] && [ ! -e "$MNT/t/lone" ] || bad "the failed mv moved lone"
rc=0
ln -s "$MNT/lone" "$MNT/t/l" 2>"$T/ln.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Too many open files" "$T/ln.err" ||
	bad "ln -s lone t/l: want EMFILE, got status $rc: $(cat "$T/ln.err")"
[ ! -L "$MNT/t/l" ] || bad "the failed ln -s left t/l"
# The daemon keeps descriptors for itself (the reserve, 32).
nfd=$(ls "/proc/$PFS_PID/fd" | wc -l)
[ "$nfd" -le $((HARD - 32)) ] || bad "the daemon holds $nfd descriptors of $HARD: no reserve left"

# ---- every node that was made gets the replay ---------------------------------
rd "$MNT/t/all" >/dev/null
want=$(stat_of "$MNT/t" records)
[ "$want" -gt 0 ] || bad "the replay has no records"
wait_for 5 stat_is "$MNT/t/s$made" records = "$want" || bad "t/s$made did not get the replay"
short=0
for i in $(seq 1 "$made"); do
	[ "$(stat_of "$MNT/t/s$i" records)" = "$want" ] || short=$((short + 1))
done
check_eq "nodes made that did not get all $want records" 0 "$short"

# ---- writes fail rather than vanish ---------------------------------------------
rc=0
printf hello >&4 2>"$T/w.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Too many open files" "$T/w.err" ||
	bad "a write into w/all needing a new ring: want EMFILE, got status $rc: $(cat "$T/w.err")"
grep -q "w: write failed after 0 of 5 bytes: Too many open files" "$MNT/log" ||
	bad "no line in log says why the write into w/all failed: $(tail -3 "$MNT/log")"
check_eq "w/stats records after the failed write" 0 "$(stat_of "$MNT/w" records)"
rc=0
(exec 5>"$MNT/v/all") 2>"$T/v.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Too many open files" "$T/v.err" ||
	bad "opening v/all for writing: want EMFILE, got status $rc: $(cat "$T/v.err")"
grep -q "v: cannot open for writing: Too many open files" "$MNT/log" ||
	bad "no line in log says why v/all could not be opened: $(tail -3 "$MNT/log")"
printf two >&3 || bad "a write into x/all, whose rings exist, failed"
exec 3>&-
check_eq "x/all" onetwo "$(rd "$MNT/x/all" 5)"

# ---- removing nodes gives the descriptors back ---------------------------------
for i in $(seq 1 20); do
	rmdir "$MNT/t/s$i" || bad "rmdir t/s$i failed"
done
# Rings are freed after a grace period: retry (each failure is clean).
write_w() { printf hello >&4 2>/dev/null; }
wait_for 10 write_w || bad "writing into w/all still fails after 20 nodes were removed"
exec 4>&-
check_eq "w/all (only the write that succeeded)" hello "$(rd "$MNT/w/all" 5)"
mkdir "$MNT/t/again" || bad "mkdir t/again failed after nodes were removed"
check_eq "t/again/stats records (backfilled)" "$want" "$(stat_of "$MNT/t/again" records)"
printf hi >"$MNT/v/all" || bad "writing into v/all failed after nodes were removed"

pfs_done
