#!/bin/bash
# A looping file source pauses while no stream file below it is open, and
# resumes at the next open (README "File sources"): after its reader
# closes, the daemon uses next to no CPU (measured in CPU seconds from
# /proc, not in wall-clock time) and its records stop growing; a reader
# opened again, at the source or at a node below it, gets records again;
# opening `new` again and again never misses the resume (each read
# returns data); `log` has one line per pause and per resume; reading
# `stats` does not wake it; the unmount while paused is clean.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool head

HZ=$(getconf CLK_TCK)

# cpu_ticks: the daemon's user + system time, in clock ticks (the fields
# after the command name, which is in parentheses).
cpu_ticks() {
	sed 's/.*) //' "/proc/$PFS_PID/stat" | awk '{ print $12 + $13 }'
}

# log_count TEXT: lines of the mount's log that hold TEXT.
log_count() { timeout 5 cat "$MNT/log" | grep -cF -- "$1"; }
log_count_is() { [ "$(log_count "$1")" -eq "$2" ]; }

# paused_quietly WHAT: over 2 s, under 0.2 s of CPU and no new records.
paused_quietly() {
	local c0 c1 r0 r1
	c0=$(cpu_ticks)
	r0=$(stat_of "$MNT/t" records)
	sleep 2
	c1=$(cpu_ticks)
	r1=$(stat_of "$MNT/t" records)
	say "$1: the daemon used $((c1 - c0)) ticks of CPU ($HZ a second) in 2 s"
	[ $(( (c1 - c0) * 10 )) -lt "$HZ" ] ||
		bad "$1: the daemon used $((c1 - c0)) ticks of CPU in 2 s (want < 0.2 s)"
	check_eq "$1: records replayed while paused" "$r0" "$r1"
}

pfs_mount -s "pcap:$TRACE,name=t,loop" -g t/ip/tcp

# ---- read a bit, close: it pauses ---------------------------------------------
head -c 1000000 "$MNT/t/all" >/dev/null
wait_for 5 log_count_is "t: paused" 1 || bad "no 'paused' line in log after the reader closed"
paused_quietly "after the first reader closed"
r0=$(stat_of "$MNT/t" records)
check_eq "t/stats readers while paused" 0 "$(stat_of "$MNT/t" readers)"
check_eq "'resumed' lines in log before any new open" 0 "$(log_count "t: resumed")"

# ---- a reader below it: it resumes, records flow, then it pauses again ---------
timeout -k 2 30 cat "$MNT/t/ip/tcp/all" >/dev/null &
r=$!
bg_add $r
wait_for 10 stat_is "$MNT/t" records -gt "$r0" || bad "records did not grow after a reader opened t/ip/tcp/all"
wait_for 5 log_count_is "t: resumed" 1 || bad "no 'resumed' line in log after t/ip/tcp/all was opened"
r1=$(stat_of "$MNT/t" records)
wait_for 10 stat_is "$MNT/t" records -gt "$r1" || bad "records stopped growing with a reader open"
kill $r
wait_gone $r 5 || bad "the reader of t/ip/tcp/all did not end"
wait_for 5 log_count_is "t: paused" 2 || bad "no second 'paused' line in log after the reader was killed"
paused_quietly "after the reader below was killed"

# ---- no resume is missed: each open of new gets data -----------------------------
for i in $(seq 1 20); do
	n=$(timeout 10 head -c 1 "$MNT/t/new" | wc -c)
	if [ "$n" != 1 ]; then
		bad "open $i of t/new got $n bytes (a resume was missed?)"
		break
	fi
done
# Every resume is followed by a pause (a quick reopen may find it running).
pauses_balanced() { [ "$(log_count "t: paused")" -eq $(( $(log_count "t: resumed") + 1 )) ]; }
wait_for 5 pauses_balanced ||
	bad "log: $(log_count "t: paused") 'paused' lines for $(log_count "t: resumed") 'resumed' ones"

# ---- stats does not wake it ---------------------------------------------------------
for _ in 1 2 3; do
	stat_of "$MNT/t" records >/dev/null
	stat_of "$MNT/t/ip/tcp" records >/dev/null
done
paused_quietly "after reading stats"

pfs_done
