#!/bin/bash
# Graph operations fed what users (or hostile users) may type: reserved and
# control-character names, long plain names, links whose text stops leading
# to their target after a mv, mv onto a parent that links the node already,
# stacked diamonds of links (one record must reach a node once), and bpf=
# expressions too long to compile, or slow to compile while the rest of the
# mount is used.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool perl

expect() {
	local want=$1
	shift
	check_eq "$*" "$want" "$(cd "$MNT" && sys "$@")"
}
# log_has TEXT: a line of `log` holds TEXT.
log_has() { timeout 5 cat "$MNT/log" | grep -qF -- "$1"; }

pfs_mount --ring-size 1M -s "pcap:$TRACE,name=s" -g s/ip -s "pcap:$TRACE,name=b,loop" -g b/ip

# ---- names ----
# In a node, the kernel finds the file first (EEXIST, ENOTDIR); at the top,
# and for `log` anywhere, the daemon refuses the names of a node's files.
for f in all new pcap filter stats; do
	expect "File exists" mkdir "s/$f"
	expect "Invalid argument" mkdir "$f"
	expect "Invalid argument" symlink s/ip "$f"
done
expect "Invalid argument" mkdir s/log
log_has "mkdir stats: the name of a file every node holds" || bad "no log line for mkdir stats"
mkdir "$MNT/s/ip/x" "$MNT/y" || bad "mkdir s/ip/x y"
expect "Not a directory" rename s/ip/x s/ip/all
expect "Invalid argument" rename y stats
expect "Invalid argument" rename s/ip/x s/ip/log
expect "Invalid argument" mkdir "$(printf 's/a\nforged line')"
expect "Invalid argument" mkdir "$(printf 's/b\033[2J')"
forged=$(timeout 5 cat "$MNT/log" | grep -c '^forged line')
check_eq "log lines that a name with a newline began" 0 "$forged"
log_has "'a\\x0aforged line': holds a control character" ||
	bad "the control character is not escaped in log: $(timeout 5 tail -3 "$MNT/log")"
long=$(printf 'n%.0s' $(seq 1 255))
expect OK mkdir "s/$long"
check_eq "filter of a 255-character plain name" pass "$(timeout 5 cat "$MNT/s/$long/filter")"
rmdir "$MNT/s/$long" || bad "rmdir of the long name"

# A plain name that looks like a filter still makes a pass-through node,
# and log says so, with the filter it resembles.
expect OK mkdir s/tpc
check_eq "filter of s/tpc" pass "$(timeout 5 cat "$MNT/s/tpc/filter")"
log_has "tpc: no filter of that name, a pass-through node (did you mean tcp?)" ||
	bad "no log line for the typo tpc"
expect "Invalid argument" mkdir s/prot=80
log_has "no filter named 'prot' (did you mean port?)" || bad "no log line for prot=80"

# ---- links that a mv would break ----
mkdir -p "$MNT/s/ip/tcp" "$MNT/s/other"
ln -s ../ip/tcp "$MNT/s/other/lt" || bad "ln -s ../ip/tcp s/other/lt"
mkdir "$MNT/s/moved" && mv "$MNT/s/other" "$MNT/s/moved/" || bad "mv s/other s/moved/"
text=$(readlink "$MNT/s/moved/other/lt")
check_eq "readlink after the link's directory moved" "../../ip/tcp" "$text"
check_eq "the link leads to its target" "$(stat -c %i "$MNT/s/ip/tcp")" \
	"$(stat -L -c %i "$MNT/s/moved/other/lt")"
check_eq "ls -l size of the link" "${#text}" "$(stat -c %s "$MNT/s/moved/other/lt")"
mv "$MNT/s/ip/tcp" "$MNT/s/tcp2" || bad "mv s/ip/tcp s/tcp2"
check_eq "readlink after the target moved" "../../tcp2" "$(readlink "$MNT/s/moved/other/lt")"
check_eq "the link still leads to its target" "$(stat -c %i "$MNT/s/tcp2")" \
	"$(stat -L -c %i "$MNT/s/moved/other/lt")"

# ---- mv onto a parent that links the node already ----
mkdir -p "$MNT/w/p" "$MNT/w/q/n"
ln -s ../q/n "$MNT/w/p/ln" || bad "ln -s ../q/n w/p/ln"
expect "File exists" rename w/q/n w/p/n
log_has "feeds it already" || bad "no log line for the mv onto a linked parent"

# ---- stacked diamonds: one written record reaches the bottom once ----
K=16
cur=$MNT/top
mkdir "$cur"
for i in $(seq 1 $K); do
	mkdir "$cur/a$i" "$cur/b$i" "$cur/a$i/c$i" || bad "mkdir level $i"
	ln -s "../a$i/c$i" "$cur/b$i/l$i" || bad "ln -s at level $i"
	cur=$cur/a$i/c$i
done
timeout 60 cat "$cur/all" >"$T/bottom" &
reader=$!
bg_add $reader
wait_for 5 stat_is "$cur" readers = 1 || bad "the bottom reader did not open"
printf 'x\n' | timeout 60 dd of="$MNT/top/all" status=none || bad "the write into top/all"
wait_gone $reader 20 || bad "the bottom reader did not get EOF"
check_eq "records at the bottom of $K diamonds" 1 "$(stat_of "$cur" records)"
check_eq "bytes the bottom reader got" "x" "$(cat "$T/bottom")"
[ "$(stat_of "$cur" duplicates)" -ge 1 ] || bad "no duplicate counted at the bottom"

# ---- bpf= expressions ----
big=$(awk 'BEGIN { for (i = 1; i <= 400; i++) printf "%sport %d", (i > 1 ? " or " : ""), i }')
mkdir "$MNT/s/ip/fz" || bad "mkdir s/ip/fz"
printf 'bpf %s\n' "$big" | timeout 30 dd of="$MNT/s/ip/fz/filter" bs=64k status=none 2>/dev/null &&
	bad "a ${#big}-byte bpf expression was taken"
log_has "bytes; at most 2048 compile" || bad "no log line for the over-long bpf expression"
# A slow compile holds nothing the rest of the mount needs: an ls started
# after it ends before it (an order of events, not a time limit).
slow=$(awk 'BEGIN { for (i = 1; i <= 170; i++) printf "%sport %d", (i > 1 ? " or " : ""), i }')
( printf 'bpf %s\n' "$slow" | timeout 120 dd of="$MNT/s/ip/fz/filter" bs=64k status=none; echo done >"$T/compiled" ) &
bg_add $!
sleep 0.2
timeout 60 ls "$MNT/s" >/dev/null && mkdir "$MNT/s/other2" || bad "ls or mkdir during the compile"
[ -e "$T/compiled" ] && say "note: the compile ended before ls did (a fast machine): ordering not shown"
wait_for 120 test -e "$T/compiled" || bad "the slow bpf write never ended"
check_eq "filter after the slow compile" "bpf $slow" "$(timeout 5 cat "$MNT/s/ip/fz/filter")"
# Ctrl-C on a slow filter write ends it at once, and the filter it was
# setting up is not applied, even when its compile ends later.
slower=$(awk 'BEGIN { for (i = 1; i <= 180; i++) printf "%sport %d", (i > 1 ? " or " : ""), i }')
printf 'bpf %s\n' "$slower" >"$T/slower"
timeout -s INT 0.3 dd if="$T/slower" of="$MNT/s/ip/fz/filter" bs=64k status=none 2>/dev/null &&
	bad "the interrupted filter write succeeded"
wait_for 10 log_has "interrupted while being set up" || bad "no log line for the interrupted filter write"
sleep 3	# the abandoned compile ends meanwhile
check_eq "filter after an interrupted write" "bpf $slow" "$(timeout 5 cat "$MNT/s/ip/fz/filter")"

# ---- mkdir never waits for a busy producer ----
# The owner's unread reader holds the looping replay back: the replay is
# stuck inside its run.  mkdir and ls below it still answer, and the
# replay is still stuck after them (an order of events, not a time).
sleep 600 <"$MNT/b/all" &
staller=$!
bg_add $staller
wait_for 10 stat_is "$MNT/b" readers = 1 || bad "the stalling reader did not open"
r0=$(stat_of "$MNT/b" records)
sleep 0.5
wait_for 10 stat_is "$MNT/b" records = "$(stat_of "$MNT/b" records)" || bad "the replay did not stall"
r1=$(stat_of "$MNT/b" records)
[ "$r1" -gt "$r0" ] || [ "$r1" -gt 0 ] || bad "the replay never ran"
for i in $(seq 1 20); do
	timeout 30 mkdir "$MNT/b/ip/m$i" || bad "mkdir b/ip/m$i under a stalled producer"
done
timeout 30 ls "$MNT/b/ip" >/dev/null || bad "ls under a stalled producer"
check_eq "records while stalled, after 20 mkdir" "$r1" "$(stat_of "$MNT/b" records)"
kill $staller
wait_gone $staller 5

pfs_done
