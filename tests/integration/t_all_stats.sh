#!/bin/bash
# `all` is the concatenation of the records' bytes (against
# tests/tools/pcapcat), for a source and for classifier nodes; two readers
# at once each get everything; a file source is lossless even when its ring
# is smaller than the file.  `stats` has the keys records, bytes, drops,
# readers, copied_bytes with the right values; classifier and pass-through
# nodes copy nothing (copied_bytes: 0).  stats, filter, log and an ended
# stream can be opened, read and closed thousands of times.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump
build_tool pcapcat -lpcap

"$T/pcapcat" "$TRACE" >"$T/want.s" || die "pcapcat $TRACE failed"
for sel in "ip/tcp|ip and tcp" "port=80|port 80"; do
	IFS='|' read -r node expr <<<"$sel"
	key=${node//\//_}
	# shellcheck disable=SC2086
	timeout 30 tcpdump -r "$TRACE" -w "$T/sel.$key.pcap" $expr 2>/dev/null ||
		die "tcpdump -w failed"
	"$T/pcapcat" "$T/sel.$key.pcap" >"$T/want.$key"
done
[ -s "$T/want.ip_tcp" ] || die "no IPv4 TCP in the trace"

# stats_check NODE RECORDS BYTES COPIED(or "any")
stats_check() {
	local node=$1 key
	timeout 5 cat "$MNT/$node/stats" >"$T/stats" || { bad "cannot read $node/stats"; return; }
	for key in records bytes drops readers copied_bytes; do
		case $(grep -c "^$key: [0-9][0-9]*\$" "$T/stats") in
		1) ;;
		*) bad "$node/stats: want one line '$key: NUMBER':"; sed 's/^/    /' "$T/stats" ;;
		esac
	done
	check_eq "$node/stats records" "$2" "$(stat_of "$MNT/$node" records)"
	check_eq "$node/stats bytes" "$3" "$(stat_of "$MNT/$node" bytes)"
	check_eq "$node/stats drops" 0 "$(stat_of "$MNT/$node" drops)"
	check_eq "$node/stats readers (none open)" 0 "$(stat_of "$MNT/$node" readers)"
	[ "$4" = any ] || check_eq "$node/stats copied_bytes" "$4" "$(stat_of "$MNT/$node" copied_bytes)"
}

pfs_mount -s "pcap:$TRACE,name=s" -g s/ip/tcp -g s/port=80 -g s/everything

# Two readers of ip/tcp/all at once, and one of the source's.
rd "$MNT/s/ip/tcp/all" >"$T/got.ip_tcp.1" &
r1=$!
bg_add $r1
rd "$MNT/s/ip/tcp/all" >"$T/got.ip_tcp.2" &
r2=$!
bg_add $r2
rd "$MNT/s/all" >"$T/got.s"
wait $r1 || bad "first reader of ip/tcp/all failed"
wait $r2 || bad "second reader of ip/tcp/all failed"
cmp -s "$T/want.s" "$T/got.s" ||
	bad "s/all ($(wc -c <"$T/got.s") bytes) is not the records' bytes ($(wc -c <"$T/want.s") bytes)"
for i in 1 2; do
	cmp -s "$T/want.ip_tcp" "$T/got.ip_tcp.$i" ||
		bad "reader $i of s/ip/tcp/all ($(wc -c <"$T/got.ip_tcp.$i") bytes) is not the IPv4 TCP records' bytes ($(wc -c <"$T/want.ip_tcp") bytes)"
done
rd "$MNT/s/port=80/all" >"$T/got.port"
cmp -s "$T/want.port=80" "$T/got.port" || bad "s/port=80/all is not the port 80 records' bytes"
rd "$MNT/s/everything/all" >"$T/got.everything"
cmp -s "$T/want.s" "$T/got.everything" || bad "s/everything/all (pass-through) is not every record's bytes"
# Read again after the end: the node still holds it all.
rd "$MNT/s/ip/tcp/all" | cmp -s "$T/want.ip_tcp" - || bad "a second read of s/ip/tcp/all differs"

n_all=$(tcount "$TRACE")
n_tcp=$(tcount "$TRACE" ip and tcp)
n_80=$(tcount "$TRACE" port 80)
stats_check s "$n_all" "$(wc -c <"$T/want.s")" any
stats_check s/ip/tcp "$n_tcp" "$(wc -c <"$T/want.ip_tcp")" 0
stats_check s/port=80 "$n_80" "$(wc -c <"$T/want.port=80")" 0
stats_check s/everything "$n_all" "$(wc -c <"$T/want.s")" 0
check_eq "s/ip/stats copied_bytes" 0 "$(stat_of "$MNT/s/ip" copied_bytes)"

# readers counts open readers.
exec 3<"$MNT/s/ip/tcp/all" || bad "cannot open s/ip/tcp/all"
exec 4<"$MNT/s/ip/tcp/pcap" || bad "cannot open s/ip/tcp/pcap"
check_eq "s/ip/tcp/stats readers with two open" 2 "$(stat_of "$MNT/s/ip/tcp" readers)"
exec 3<&- 4<&-
wait_for 5 stat_is "$MNT/s/ip/tcp" readers = 0 ||
	bad "s/ip/tcp/stats readers is $(stat_of "$MNT/s/ip/tcp" readers) after both closed"
# stats, filter, log and an ended stream read over and over (open, read,
# close: 2000 times each, no process per read).  With the SAN build this
# finds races between a read's reply and the file's release.
build_tool rdloop
timeout 120 "$T/rdloop" 2000 "$MNT/s/ip/tcp/stats" "$MNT/s/ip/tcp/filter" "$MNT/log" \
	"$MNT/s/ip/tcp/all" 2>"$T/rdloop.err" || bad "reading files over and over failed: $(cat "$T/rdloop.err")"
alive "$PFS_PID" || bad "pipesfs died while files were read over and over"
pfs_umount

# Lossless with a ring smaller than the file: the producer waits for the
# reader, nothing is dropped.
size=$(wc -c <"$T/want.s")
if [ "$size" -gt 65536 ]; then
	pfs_mount --ring-size 64K -s "pcap:$TRACE,name=s" -g s/ip/tcp
	rd "$MNT/s/all" >"$T/got.small"
	cmp -s "$T/want.s" "$T/got.small" ||
		bad "with a 64K ring, s/all ($(wc -c <"$T/got.small") bytes) is not every record's bytes ($size)"
	check_eq "s/stats drops with a 64K ring and one reader" 0 "$(stat_of "$MNT/s" drops)"
	pfs_umount
else
	say "NOTE: the trace is smaller than 64K: the small-ring check proves nothing, left out"
fi

pfs_done
