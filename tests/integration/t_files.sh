#!/bin/bash
# Stream file semantics (DESIGN.md "The tree"): `new` holds only what came
# after the open; a node nobody wrote to blocks its readers like a FIFO;
# readers see written bytes and EOF once every writer closed; a pcap stream
# written into `pcap` (whole or in small pieces) becomes frames that the
# node and its children hold; garbage written into `pcap` fails with EINVAL
# and injects nothing; two writers at once are two flows, both whole; a
# written node is lossless through a ring smaller than what is written;
# poll and select report readiness (the helper
# tests/tools/waitread: bash's `read -t` never times out on a regular
# file); stream files have size 0 and are not seekable.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump perl
build_tool waitread

N_ALL=$(tcount "$TRACE")
N_IP=$(tcount "$TRACE" ip)
pfs_mount -s "pcap:$TRACE,name=s"

# ---- size 0, not seekable ------------------------------------------------------
for f in all new pcap; do
	check_eq "size of s/$f" 0 "$(stat -c %s "$MNT/s/$f")"
done
check_eq "lseek on s/all" "Illegal seek" "$(timeout 10 perl -e '
	open(my $f, "<", $ARGV[0]) or die "$!";
	print sysseek($f, 10, 0) ? "OK" : "$!";' "$MNT/s/all")"

# ---- new -----------------------------------------------------------------------
# After a source has ended, `new` has nothing and ends at once.
rd "$MNT/s/all" >/dev/null
check_eq "bytes in s/new opened after the replay ended" 0 "$(rd "$MNT/s/new" 5 | wc -c)"
# A written node: what was written before the open is not in `new`, what
# was written after it is, even if the reader reads only later.
mkdir "$MNT/n" || bad "mkdir n failed"
exec 4>"$MNT/n/all"
printf old >&4
exec 3<"$MNT/n/new"
exec 5<"$MNT/n/all"
printf new1 >&4
exec 4>&-
check_eq "n/new opened between two writes" new1 "$(timeout 5 cat <&3)"
check_eq "n/all opened between two writes" oldnew1 "$(timeout 5 cat <&5)"
exec 3<&- 5<&-

# ---- a node nobody wrote to blocks; a writer unblocks ---------------------------
mkdir "$MNT/top" || bad "mkdir top failed"
rc=0
timeout 1 cat "$MNT/top/all" >/dev/null || rc=$?
check_eq "timeout 1 cat top/all (never written: must block)" 124 "$rc"
# A reader waiting before the first write gets the bytes and EOF.
timeout 10 cat "$MNT/top/all" >"$T/early" &
early=$!
bg_add $early
wait_for 5 stat_is "$MNT/top" readers = 1 || bad "the early reader of top/all did not open"
printf abc >"$MNT/top/all" || bad "printf abc > top/all failed"
if wait_gone $early 3; then
	rc=0
	wait $early || rc=$?
	check_eq "status of the early reader of top/all" 0 "$rc"
	check_eq "what the early reader of top/all read" abc "$(cat "$T/early")"
else
	bad "the reader of top/all did not get EOF within 3 s after the writer closed"
fi
check_eq "a later reader of top/all" abc "$(rd "$MNT/top/all" 5)"
# While a writer stays open, readers wait for more; its close ends them.
mkdir "$MNT/open" || bad "mkdir open failed"
exec 4>"$MNT/open/all"
printf xyz >&4
( exec 4>&-; timeout 10 cat "$MNT/open/all" >"$T/open.out" ) &
reader=$!
bg_add $reader
wait_for 5 test -s "$T/open.out" || bad "the reader of open/all got nothing"
sleep 0.3
alive $reader || bad "the reader of open/all ended while a writer was still open"
exec 4>&-
wait_gone $reader 3 || bad "the reader of open/all did not end within 3 s after the writer closed"
check_eq "what the reader of open/all read" xyz "$(cat "$T/open.out")"

# ---- two writers at once: each open is one flow, nothing lost or torn -------
# Each line is one write(), so records hold whole lines and any mix of the
# two flows must keep every line whole and each flow's lines in order.
mkdir "$MNT/two" || bad "mkdir two failed"
writer() { timeout 60 perl -e 'for (1 .. 3000) { syswrite(STDOUT, "$ARGV[0]$_\n") == length("$ARGV[0]$_\n") or die "$!" }' "$1"; }
writer a >"$MNT/two/all" &
wa=$!
writer b >"$MNT/two/all" &
wb=$!
wait $wa || bad "writer a into two/all failed"
wait $wb || bad "writer b into two/all failed"
rd "$MNT/two/all" 10 >"$T/two.out"
check_eq "lines in two/all after two writers of 3000 lines each" 6000 "$(wc -l <"$T/two.out")"
check_eq "flow a in two/all, in order" "$(seq -f 'a%g' 1 3000 | md5sum)" "$(grep '^a' "$T/two.out" | md5sum)"
check_eq "flow b in two/all, in order" "$(seq -f 'b%g' 1 3000 | md5sum)" "$(grep '^b' "$T/two.out" | md5sum)"
check_eq "two/stats records (one per write)" 6000 "$(stat_of "$MNT/two" records)"

# ---- writing pcap streams ----------------------------------------------------
timeout 20 tcpdump -nn -tt -x -r "$TRACE" >"$T/want.txt" 2>/dev/null
timeout 20 tcpdump -nn -tt -x -r "$TRACE" ip >"$T/want.ip.txt" 2>/dev/null
mkdir -p "$MNT/w/ip" "$MNT/w2" "$MNT/w3" || bad "mkdir w... failed"
timeout 20 cat "$TRACE" >"$MNT/w/pcap" || bad "cat TRACE > w/pcap failed"
# Written in 100-byte pieces: records split across writes.
timeout 30 dd if="$TRACE" of="$MNT/w2/pcap" bs=100 status=none || bad "dd bs=100 into w2/pcap failed"
mkdir "$MNT/w2/ip" || bad "mkdir w2/ip failed"	# after the write: backfill
for node in w w2; do
	check_eq "$node/stats records after writing the trace" "$N_ALL" "$(stat_of "$MNT/$node" records)"
	timeout 20 tcpdump -nn -tt -x -r "$MNT/$node/pcap" >"$T/got.$node.txt" 2>"$T/td.err" ||
		bad "tcpdump -r $node/pcap failed: $(cat "$T/td.err")"
	cmp -s "$T/want.txt" "$T/got.$node.txt" ||
		bad "$node/pcap (the trace written into it) differs from the trace (tcpdump -x)"
	timeout 20 tcpdump -nn -tt -x -r "$MNT/$node/ip/pcap" >"$T/got.$node.ip.txt" 2>"$T/td.err" ||
		bad "tcpdump -r $node/ip/pcap failed: $(cat "$T/td.err")"
	cmp -s "$T/want.ip.txt" "$T/got.$node.ip.txt" ||
		bad "$node/ip/pcap differs from tcpdump -r TRACE ip ($(grep -c '^[0-9]' "$T/got.$node.ip.txt") packets, want $N_IP)"
done

# ---- garbage written into pcap ---------------------------------------------------
# Each is one write() (dd bs=1M): refused with EINVAL, nothing injected.
head -c 24 "$TRACE" >"$T/hdr"
# The trace's first two records, whole.
timeout 10 perl -e '
	open(my $f, "<:raw", $ARGV[0]) or die; read($f, my $b, 1 << 20);
	my $off = 24;
	for (1 .. 2) { my $cap = unpack("V", substr($b, $off + 8, 4)); $off += 16 + $cap; }
	print substr($b, 0, $off);' "$TRACE" >"$T/two" || bad "perl failed"
head -c 100 /dev/urandom | tr '\324' x >"$T/random"		# no pcap magic
{ cat "$T/hdr"; printf '\1\0\0\0\0\0\0\0\377\377\377\377\100\0\0\0'; head -c 64 /dev/zero; } >"$T/huge"
{ cat "$T/two"; printf '\1\0\0\0\0\0\0\0\340\223\4\0\340\223\4\0'; head -c 300000 /dev/zero; } >"$T/oversized"
{ printf '\324\303\262\241\1\0\4\0'; tail -c +9 "$T/two"; } >"$T/version"	# version 1.4
before=$(stat_of "$MNT/w3" records)
for g in random huge oversized version; do
	logb=$(timeout 5 cat "$MNT/log" | wc -l)
	rc=0
	timeout 10 dd if="$T/$g" of="$MNT/w3/pcap" bs=1M status=none 2>"$T/dd.err" || rc=$?
	[ "$rc" -ne 0 ] && grep -q "Invalid argument" "$T/dd.err" ||
		bad "writing $g into w3/pcap: want EINVAL, got status $rc: $(cat "$T/dd.err")"
	check_eq "w3/stats records after writing $g" "$before" "$(stat_of "$MNT/w3" records)"
	[ "$(timeout 5 cat "$MNT/log" | wc -l)" -gt "$logb" ] || bad "writing $g into w3/pcap added no line to log"
done
# A good write, then a bad one on the same open file: the first stays, the
# second is refused whole.
exec 4>"$MNT/w3/pcap"
timeout 10 dd if="$T/two" bs=1M status=none >&4 || bad "writing two records into w3/pcap failed"
check_eq "w3/stats records after two good records" "$((before + 2))" "$(stat_of "$MNT/w3" records)"
tail -c +25 "$T/oversized" >"$T/oversized.body"
rc=0
timeout 10 dd if="$T/oversized.body" bs=1M status=none >&4 2>"$T/dd.err" || rc=$?
[ "$rc" -ne 0 ] || bad "two good records then an oversized one (one write) were accepted"
exec 4>&-
check_eq "w3/stats records after a refused write" "$((before + 2))" "$(stat_of "$MNT/w3" records)"

# ---- poll and select -------------------------------------------------------------
mkdir "$MNT/p" || bad "mkdir p failed"
for how in "" -s; do
	name=${how:+select}
	name=${name:-poll}
	t0=$(now_ms)
	rc=0
	out=$(timeout 10 "$T/waitread" $how 1000 "$MNT/p/all" 2>/dev/null) || rc=$?
	el=$(( $(now_ms) - t0 ))
	check_eq "$name on p/all (nothing written yet): waitread status (3 = timed out)" 3 "$rc"
	[ "$el" -ge 900 ] || bad "$name on p/all returned after $el ms, before its 1 s timeout"
done
# Data arriving while poll waits wakes it.
timeout 10 "$T/waitread" 5000 "$MNT/p/all" >"$T/p.out" 2>"$T/p.err" &
waiter=$!
bg_add $waiter
wait_for 5 stat_is "$MNT/p" readers = 1 || bad "waitread did not open p/all"
sleep 0.2
t0=$(now_ms)
printf hello >"$MNT/p/all"
if wait_gone $waiter 3; then
	rc=0
	wait $waiter || rc=$?
	check_eq "poll woken by a write: waitread status" 0 "$rc"
	check_eq "poll woken by a write: what it read" hello "$(cat "$T/p.out")"
	el=$(( $(now_ms) - t0 ))
	[ "$el" -lt 2000 ] || bad "poll returned $el ms after the write"
else
	bad "poll on p/all was not woken within 3 s by a write"
fi
for how in "" -s; do
	name=${how:+select}
	name=${name:-poll}
	rc=0
	out=$(timeout 10 "$T/waitread" $how 2000 "$MNT/p/all" 3) || rc=$?
	check_eq "$name on p/all with data: status" 0 "$rc"
	check_eq "$name on p/all with data: first 3 bytes" hel "$out"
	# At EOF (nothing new will come) a reader is readable too: read gives 0.
	rc=0
	out=$(timeout 10 "$T/waitread" $how 2000 "$MNT/p/new") || rc=$?
	check_eq "$name on p/new after the writer closed (EOF): status" 0 "$rc"
	check_eq "$name on p/new after the writer closed: bytes" "" "$out"
done

pfs_umount

# ---- written nodes are lossless ----------------------------------------------
# A reader open before the first write gets every byte: the writer waits for
# it (DESIGN.md "Buffers").  3 MB in 1 MiB writes (records of up to 64K)
# through a 256K ring, five times (a fresh node each time, so the reader
# was there before the node had any ring); then through the smallest ring
# the daemon accepts (64K), where a write must arrive whole or fail.
head -c 3000000 /dev/urandom >"$T/big"
# lossless NODE: one trial; true if it passed.
lossless() {
	local node=$1 reader rc=0
	mkdir "$MNT/$node" || { bad "mkdir $node failed"; return 1; }
	timeout 60 cat "$MNT/$node/all" >"$T/$node.out" &
	reader=$!
	bg_add $reader
	wait_for 5 stat_is "$MNT/$node" readers = 1 || bad "the reader of $node/all did not open"
	timeout 60 dd if="$T/big" of="$MNT/$node/all" bs=1M status=none 2>"$T/dd.err" || rc=$?
	if ! wait_gone $reader 10; then
		bad "the reader of $node/all did not get EOF within 10 s after the writer closed"
		return 1
	fi
	wait $reader || bad "the reader of $node/all failed"
	if [ "$rc" -ne 0 ]; then
		say "writing 3 MB into $node/all failed: $(cat "$T/dd.err")"
		return 2
	fi
	if ! cmp -s "$T/big" "$T/$node.out"; then
		bad "$node/all read while 3 MB were written: $(wc -c <"$T/$node.out") bytes of 3000000 arrived; $node/stats: $(stat_of "$MNT/$node" records) records, $(stat_of "$MNT/$node" drops) drops"
		return 1
	fi
	return 0
}
pfs_mount --ring-size 256K
for i in 1 2 3 4 5; do
	lossless big$i || break
done
pfs_umount
pfs_mount --ring-size 64K
lossless small
[ $? -eq 2 ] && say "(with a 64K ring the write failed: allowed, nothing was lost silently)"

# tcpdump -w into a node, as root: tcpdump gives its savefile to the user
# it drops to (a chown that must succeed), then writes every packet.
mkdir "$MNT/tw" || bad "mkdir tw"
timeout 20 cat "$MNT/tw/pcap" >"$T/tw.pcap" &
twr=$!
bg_add $twr
wait_for 5 stat_is "$MNT/tw" readers = 1 || bad "the reader of tw/pcap did not open"
timeout 20 tcpdump -r "$TRACE" -w "$MNT/tw/pcap" 2>"$T/tw.err" || bad "tcpdump -w tw/pcap: $(cat "$T/tw.err")"
wait_gone $twr 20 || bad "the reader of tw/pcap got no EOF"
check_eq "packets tcpdump -w wrote into tw" "$(tcount "$TRACE")" "$(tcount "$T/tw.pcap")"
if id tcpdump >/dev/null 2>&1; then
	check_eq "owner of tw/pcap after tcpdump -w" "tcpdump" "$(stat -c %U "$MNT/tw/pcap")"
fi
chown root:root "$MNT/tw/pcap" && chmod 600 "$MNT/tw/pcap" || bad "chown/chmod by root"
check_eq "owner and mode after chown and chmod" "root 600" "$(stat -c '%U %a' "$MNT/tw/pcap")"

pfs_done
