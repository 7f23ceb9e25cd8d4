#!/bin/bash
# DESIGN.md "Operations" and their errors: mkdir of good and bad specs
# (EINVAL plus a line in `log`), pass-through nodes, mv (rewiring, renaming,
# EINVAL under a node's own descendant), ln -s (a second parent, ELOOP for
# a cycle, EINVAL for a target outside the mount or not a node), rm of a
# link, rmdir (ENOTEMPTY; EOF for a blocked reader), and writing `filter`;
# a node named after its filter keeps the two the same (mv changes both,
# a write that would make them differ is EINVAL); names like a filter's.
#
# The system calls are made with perl, so the errors are the daemon's (or
# the kernel's), not coreutils' own checks.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump perl

# expect ERROR OP ARG...
expect() {
	local want=$1
	shift
	check_eq "$* (relative to the mount)" "$want" "$(cd "$MNT" && sys "$@")"
}
loglines() { timeout 5 cat "$MNT/log" | wc -l; }
# inject NODE: write the trace into NODE/pcap as one stream.
inject() { timeout 20 dd if="$TRACE" of="$MNT/$1/pcap" bs=1M status=none || bad "writing the trace into $1/pcap failed"; }

N_ALL=$(tcount "$TRACE")
N_IP=$(tcount "$TRACE" ip)
N_IP6=$(tcount "$TRACE" ip6)
N_IP6TCP=$(tcount "$TRACE" ip6 and tcp)
N_TCP=$(tcount "$TRACE" tcp)
N_443=$(tcount "$TRACE" port 443)
N_80=$(tcount "$TRACE" port 80)
[ "$N_IP6TCP" -gt 0 ] && [ "$N_IP" -gt 0 ] && [ "$N_IP6" -gt 0 ] && [ "$N_80" -gt "$N_443" ] ||
	die "the trace lacks the traffic these checks need"

# The source is not started (no start=now): nothing flows until the first
# open of a stream file below it, so the graph is complete before replay.
pfs_mount -s "pcap:$TRACE,name=s" -g s/ip/both -g s/ip/both2 -g s/ip6 -g s/ip/tcp -g s/arp

# ---- mkdir -------------------------------------------------------------------
for spec in port=abc nosuch=1 port=70000 host=not.an.address net=10.0.0.0_33 =x; do
	before=$(loglines)
	expect "Invalid argument" mkdir "s/$spec"
	[ -e "$MNT/s/$spec" ] && bad "a node s/$spec exists after the refused mkdir"
	after=$(loglines)
	[ "$after" -gt "$before" ] || bad "mkdir s/$spec: no line added to log"
	timeout 5 cat "$MNT/log" | tail -n $(( after - before )) | grep -qF -- "${spec%%=*}" ||
		bad "mkdir s/$spec: the new log lines do not name it: $(timeout 5 tail -n 2 "$MNT/log")"
done
# Also as coreutils' mkdir reports it.
mkdir "$MNT/s/port=abc" 2>"$T/mkdir.err" && bad "mkdir s/port=abc succeeded"
grep -q "Invalid argument" "$T/mkdir.err" || bad "mkdir s/port=abc: $(cat "$T/mkdir.err")"
expect "File exists" mkdir s/ip
# A plain name that is no filter: a pass-through node.
expect OK mkdir s/everything
[ -f "$MNT/s/everything/all" ] && [ -f "$MNT/s/everything/filter" ] || bad "s/everything has no stream files"

# ---- ln -s: a second parent --------------------------------------------------
expect OK symlink ../ip/both s/ip6/both
[ -L "$MNT/s/ip6/both" ] || bad "s/ip6/both is not a symbolic link"
check_eq "readlink s/ip6/both" "../ip/both" "$(readlink "$MNT/s/ip6/both")"
[ -f "$MNT/s/ip6/both/pcap" ] || bad "s/ip6/both/pcap cannot be reached through the link"
# An absolute target inside the mount works too.
expect OK symlink "$MNT/s/ip/both2" s/arp/both2
# A cycle: ip6 -> both, so both -> ip6 would loop; so would a node under itself.
expect "Too many levels of symbolic links" symlink ../../ip6 s/ip/both/cycle
expect "Too many levels of symbolic links" symlink "$MNT/s/ip" s/ip/both/cycle
expect "Too many levels of symbolic links" symlink . s/ip/both/self
ln -s ../../ip6 "$MNT/s/ip/both/cycle" 2>"$T/ln.err" && bad "ln -s making a cycle succeeded"
grep -q "Too many levels of symbolic links" "$T/ln.err" || bad "ln -s cycle: $(cat "$T/ln.err")"
# Targets that are not nodes of this mount.
expect "Invalid argument" symlink /etc s/ip6/outside
expect "Invalid argument" symlink /tmp s/ip6/outside
expect "Invalid argument" symlink ../../../../.. s/ip6/outside
expect "Invalid argument" symlink ../ip/filter s/ip6/afile
expect "Invalid argument" symlink "$MNT/s/ip/all" s/ip6/afile
expect "Invalid argument" symlink ../nosuch s/ip6/nothing
expect "Invalid argument" symlink "$MNT" s/ip6/root
for l in outside afile nothing root cycle self; do
	[ -e "$MNT/s/ip6/$l" ] || [ -L "$MNT/s/ip6/$l" ] && bad "s/ip6/$l exists after a refused ln -s"
	[ -L "$MNT/s/ip/both/$l" ] && bad "s/ip/both/$l exists after a refused ln -s"
done

# ---- mv ------------------------------------------------------------------------
# Under its own descendant: EINVAL.  The first the kernel may refuse by
# itself; the second it cannot see (s/a and s/b are siblings, but a link
# makes a a child of b, so b under a would be a cycle): only the daemon can.
expect "Invalid argument" rename s/ip s/ip/tcp/ip
expect OK mkdir s/a
expect OK mkdir s/b
expect OK symlink ../a s/b/a-link
expect "Invalid argument" rename s/b s/a/b
[ -d "$MNT/s/b" ] && [ ! -e "$MNT/s/a/b" ] || bad "s/b moved although the move was refused"
# Rewire before the replay: s/ip/tcp goes under s/ip6 and keeps its filter.
expect OK rename s/ip/tcp s/ip6/tcp
[ -d "$MNT/s/ip6/tcp" ] || bad "ls s/ip6: no tcp after mv s/ip/tcp s/ip6/"
[ -e "$MNT/s/ip/tcp" ] && bad "s/ip/tcp is still there after mv s/ip/tcp s/ip6/"
check_eq "filter of s/ip6/tcp after the mv" tcp "$(timeout 5 cat "$MNT/s/ip6/tcp/filter")"
# Rename within one parent.
expect OK mkdir s/ip6/port=80
expect OK rename s/ip6/port=80 s/ip6/web
timeout 5 tail -n 1 "$MNT/log" | grep -q "web: no filter of that name, the node keeps its filter" ||
	bad "mv to a plain name: log does not say the filter stays: $(timeout 5 tail -n 1 "$MNT/log")"
check_eq "filter of s/ip6/web (renamed from port=80)" port=80 "$(timeout 5 cat "$MNT/s/ip6/web/filter")"
[ -e "$MNT/s/ip6/port=80" ] && bad "s/ip6/port=80 is still there after the rename"
# A node named after its filter: a rename to another spec changes both; a
# filter write that would make them differ is refused, and log says how.
expect OK mkdir s/ip6/port=22
expect OK rename s/ip6/port=22 s/ip6/port=443
check_eq "filter of s/ip6/port=443 (renamed from port=22)" port=443 \
	"$(timeout 5 cat "$MNT/s/ip6/port=443/filter")"
expect "Invalid argument" rename s/ip6/port=443 s/ip6/port=abc
[ -d "$MNT/s/ip6/port=443" ] || bad "s/ip6/port=443 went away with a refused rename"
( echo 'port 22' >"$MNT/s/ip6/port=443/filter" ) 2>"$T/filter.err" &&
	bad "writing 'port 22' into port=443/filter succeeded"
grep -q "Invalid argument" "$T/filter.err" || bad "port 22 into port=443/filter: $(cat "$T/filter.err")"
timeout 5 tail -n 1 "$MNT/log" | grep -qF "mv 'port=443' 'port=22'" ||
	bad "the refused filter write: log does not say how: $(timeout 5 tail -n 1 "$MNT/log")"
echo 'port 443' >"$MNT/s/ip6/port=443/filter" || bad "writing the spec port=443 is named after failed"
# A plain name like a filter's: a pass-through node, and log names the filter.
for name in tpc TCP; do
	expect OK mkdir "s/$name"
	timeout 5 tail -n 1 "$MNT/log" | grep -q "$name: .*pass-through.*did you mean tcp?" ||
		bad "mkdir s/$name: log does not suggest tcp: $(timeout 5 tail -n 1 "$MNT/log")"
done

# ---- now the replay: counts through the edges made above ----------------------
check_eq "packets in s/ip/both (child of ip and, by a link, of ip6)" \
	"$(tcount "$TRACE" ip or ip6)" "$(tcount "$MNT/s/ip/both/pcap")"
check_eq "packets read through the link s/ip6/both" \
	"$(tcount "$TRACE" ip or ip6)" "$(tcount "$MNT/s/ip6/both/pcap")"
check_eq "packets in s/ip/both2 (child of ip and, by an absolute link, of arp)" \
	"$(tcount "$TRACE" ip or arp)" "$(tcount "$MNT/s/ip/both2/pcap")"
check_eq "packets in s/ip6/tcp (moved from s/ip)" "$N_IP6TCP" "$(tcount "$MNT/s/ip6/tcp/pcap")"
check_eq "packets in s/ip6/web (ip6, port=80)" "$(tcount "$TRACE" ip6 and port 80)" "$(tcount "$MNT/s/ip6/web/pcap")"
check_eq "packets in s/ip6/port=443 (renamed from port=22)" "$(tcount "$TRACE" ip6 and port 443)" \
	"$(tcount "$MNT/s/ip6/port=443/pcap")"
check_eq "packets in s/everything (pass-through)" "$N_ALL" "$(tcount "$MNT/s/everything/pcap")"

# ---- rm of a link --------------------------------------------------------------
expect OK unlink s/ip6/both
[ -L "$MNT/s/ip6/both" ] && bad "s/ip6/both is still there after rm"
expect OK unlink s/arp/both2
expect "No such file or directory" unlink s/ip6/both

# ---- rmdir -------------------------------------------------------------------
expect "Directory not empty" rmdir s/ip
expect "Directory not empty" rmdir s/ip6
[ -d "$MNT/s/ip6/tcp" ] || bad "s/ip6/tcp went away with a refused rmdir"
expect OK rmdir s/ip6/web
[ -e "$MNT/s/ip6/web" ] && bad "s/ip6/web is still there after rmdir"
pfs_umount

# ---- written nodes: rewiring, links and filters with new traffic ----------------
pfs_mount
mkdir "$MNT/t1" "$MNT/t2" "$MNT/t1/ip" "$MNT/t1/x" "$MNT/t1/f" || bad "mkdir of top-level nodes failed"
# mv A/X B/: X follows B from then on, and keeps its filter.
inject t1
check_eq "t1/ip records after one write into t1" "$N_IP" "$(stat_of "$MNT/t1/ip" records)"
expect OK rename t1/ip t2/ip
check_eq "filter of t2/ip after the mv" ip "$(timeout 5 cat "$MNT/t2/ip/filter")"
inject t1
check_eq "t2/ip records after a write into its old parent t1" "$N_IP" "$(stat_of "$MNT/t2/ip" records)"
inject t2
check_eq "t2/ip records after a write into its new parent t2" "$((2 * N_IP))" "$(stat_of "$MNT/t2/ip" records)"
# ln -s gives t1/x a second parent t2; rm takes the edge away again.
x0=$(stat_of "$MNT/t1/x" records)
expect OK symlink ../t1/x t2/x
printf A >"$MNT/t2/all" || bad "writing t2/all failed"
check_eq "t1/x records after a write into t2 through the link" "$((x0 + 1))" "$(stat_of "$MNT/t1/x" records)"
expect OK unlink t2/x
printf B >"$MNT/t2/all" || bad "writing t2/all failed"
check_eq "t1/x records after rm t2/x and a write into t2" "$((x0 + 1))" "$(stat_of "$MNT/t1/x" records)"
# filter: a write replaces it, a bad one is refused and changes nothing.
echo 'port 443' >"$MNT/t1/f/filter" || bad "echo 'port 443' > t1/f/filter failed"
check_eq "cat t1/f/filter" "port 443" "$(timeout 5 cat "$MNT/t1/f/filter")"
f0=$(stat_of "$MNT/t1/f" records)
inject t1
check_eq "t1/f (port 443) records after a write" "$((f0 + N_443))" "$(stat_of "$MNT/t1/f" records)"
echo 'port=80' >"$MNT/t1/f/filter" || bad "echo 'port=80' > t1/f/filter failed"
check_eq "cat t1/f/filter" "port=80" "$(timeout 5 cat "$MNT/t1/f/filter")"
inject t1
check_eq "t1/f (port=80) records after a write" "$((f0 + N_443 + N_80))" "$(stat_of "$MNT/t1/f" records)"
before=$(loglines)
( echo 'port abc' >"$MNT/t1/f/filter" ) 2>"$T/filter.err" && bad "writing 'port abc' into filter succeeded"
grep -q "Invalid argument" "$T/filter.err" || bad "a bad filter write: $(cat "$T/filter.err")"
( echo 'nosuch' >"$MNT/t1/f/filter" ) 2>"$T/filter.err" && bad "writing 'nosuch' into filter succeeded"
grep -q "Invalid argument" "$T/filter.err" || bad "a bad filter write: $(cat "$T/filter.err")"
check_eq "cat t1/f/filter after bad writes" "port=80" "$(timeout 5 cat "$MNT/t1/f/filter")"
[ "$(loglines)" -gt "$before" ] || bad "a refused filter write added no line to log"
echo tcp >"$MNT/t1/f/filter" || bad "echo tcp > t1/f/filter failed"
inject t1
check_eq "t1/f (tcp) records after a write" "$((f0 + N_443 + N_80 + N_TCP))" "$(stat_of "$MNT/t1/f" records)"

# rmdir: ENOTEMPTY with a child node; a leaf goes, and its blocked reader
# gets EOF.  top is never written to, so a reader of top/x blocks.
mkdir -p "$MNT/top/x/y" || bad "mkdir -p top/x/y failed"
expect "Directory not empty" rmdir top/x
expect "Directory not empty" rmdir top
expect OK rmdir top/x/y
timeout 10 cat "$MNT/top/x/all" >"$T/x.out" 2>"$T/x.err" &
reader=$!
bg_add $reader
wait_for 5 stat_is "$MNT/top/x" readers = 1 || bad "the reader of top/x/all did not open"
sleep 0.3
alive $reader || bad "the reader of top/x/all did not block (top was never written to)"
expect OK rmdir top/x
if wait_gone $reader 3; then
	rc=0
	wait $reader || rc=$?
	check_eq "exit status of cat top/x/all after rmdir top/x (EOF)" 0 "$rc"
	check_eq "bytes cat top/x/all read" 0 "$(wc -c <"$T/x.out")"
else
	bad "the blocked reader of top/x/all did not get EOF within 3 s of rmdir top/x"
fi
[ -e "$MNT/top/x" ] && bad "top/x is still there after rmdir"

# `log` follows like a log file: tail -f shows lines logged after it
# started, and never says the file was truncated.
timeout 20 tail -n 0 -f "$MNT/log" >"$T/tail.out" 2>"$T/tail.err" &
tailp=$!
bg_add $tailp
sleep 1.5	# tail's first look (an order of events, not a time limit)
mkdir "$MNT/stats" 2>/dev/null && bad "mkdir MNT/stats succeeded"
wait_for 10 grep -q "mkdir stats: the name of a file" "$T/tail.out" ||
	bad "tail -f log did not show the new line: $(cat "$T/tail.out" "$T/tail.err")"
grep -q "truncated" "$T/tail.err" && bad "tail -f log: $(cat "$T/tail.err")"
check_eq "size of log against its bytes" "$(timeout 5 cat "$MNT/log" | wc -c)" "$(stat -c %s "$MNT/log")"
kill $tailp
wait_gone $tailp 5

pfs_done
