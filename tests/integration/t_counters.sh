#!/bin/bash
# Every counter in `stats` against what readers actually received, on a
# lossless replay through small rings (--ring-size 64K: the text stage's
# data ring holds fewer lines than its index ring has descriptors), with a
# fast and a slow reader of each node: a stage that copies (text), stages
# that select (tcp, a pass-through below text) and the source.
#   - both readers get every record, the same bytes;
#   - records, bytes, the filters' counters (lines, matched, not_matched)
#     are what the readers got; copied_bytes is 0 where a stage selects;
#   - drops and every reader's reader_drops are 0;
#   - a reader opened after the replay, when the ring has wrapped, gets
#     the newest records the node still holds, whole lines, and no
#     drops: records gone before its open were not its loss.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump python3
build_tool slowread
build_tool pcapcat -lpcap

# The demo trace 100 times over, each pass 1000 s later than the last (so
# every text line is unique): far more than a 64K ring.
big=$T/big.pcap
python3 - "$TRACE" "$big" <<'PY' || die "cannot make $big"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", d[:4])[0] == 0xa1b2c3d4, "a little-endian µs pcap"
recs, off = [], 24
while off + 16 <= len(d):
    sec, usec, cap, wire = struct.unpack("<IIII", d[off:off + 16])
    recs.append((sec, usec, d[off + 16:off + 16 + cap], wire))
    off += 16 + cap
with open(sys.argv[2], "wb") as out:
    out.write(d[:24])
    for k in range(100):
        for sec, usec, data, wire in recs:
            out.write(struct.pack("<IIII", sec + 1000 * k, usec, len(data), wire) + data)
PY
n_all=$(tcount "$big")
n_tcp=$(tcount "$big" tcp)
"$T/pcapcat" "$big" >"$T/want.src" || die "pcapcat $big failed"
timeout 30 tcpdump -r "$big" -w "$T/tcp.pcap" tcp 2>/dev/null || die "tcpdump -w failed"
"$T/pcapcat" "$T/tcp.pcap" >"$T/want.tcp"

pfs_mount --ring-size 64K -s "pcap:$big,name=b" -g b/text/lines -g b/tcp
nodes="b/text/lines b/text b/tcp b"

# Every reader is opened before any reads, deepest node first: the first
# open starts the replay, and the unread readers of text/lines hold it from
# the first line (text's data ring cannot wrap past them), so it stops
# within a ring of lines, before any index ring wraps: each reader, fast or
# slow, has every record to get.
fd=10
for node in $nodes; do
	eval "exec $fd<\"\$MNT/$node/all\"" || die "cannot open $node/all"
	eval "exec $((fd + 1))<\"\$MNT/$node/all\"" || die "cannot open $node/all"
	fd=$((fd + 2))
done
# And a slow reader of text's pcap view, which frames each line with the
# flow it came from.
exec 18<"$MNT/b/text/pcap" || die "cannot open b/text/pcap"
fd=10
pids=()
for node in $nodes; do
	key=${node//\//_}
	timeout 120 cat <&$fd >"$T/fast.$key" &
	pids+=($!)
	bg_add $!
	timeout 120 "$T/slowread" 700 200 <&$((fd + 1)) >"$T/slow.$key" &
	pids+=($!)
	bg_add $!
	fd=$((fd + 2))
done
timeout 120 "$T/slowread" 900 200 <&18 >"$T/slow.pcap" &
pids+=($!)
bg_add $!
for pid in "${pids[@]}"; do
	wait "$pid" || bad "a reader (pid $pid) did not reach EOF (status $?)"
done

# stats while the readers are still open (the shell holds their files).
for node in $nodes; do
	key=${node//\//_}
	timeout 5 cat "$MNT/$node/stats" >"$T/stats.$key" || bad "cannot read $node/stats"
	want_readers=2 want_drops="0 0"
	[ "$node" = b/text ] && want_readers=3 want_drops="0 0 0"
	check_eq "$node: readers" $want_readers "$(stat_of "$MNT/$node" readers)"
	check_eq "$node: reader_drops" "$want_drops" "$(stat_of "$MNT/$node" reader_drops)"
	check_eq "$node: drops" 0 "$(stat_of "$MNT/$node" drops)"
	check_eq "$node: duplicates" 0 "$(stat_of "$MNT/$node" duplicates)"
	cmp -s "$T/fast.$key" "$T/slow.$key" ||
		bad "$node: the fast reader ($(wc -c <"$T/fast.$key") bytes) and the slow one ($(wc -c <"$T/slow.$key")) got different bytes"
	check_eq "$node: bytes (what each reader got)" "$(wc -c <"$T/fast.$key")" \
		"$(stat_of "$MNT/$node" bytes)"
done
for fd in $(seq 10 18); do
	eval "exec $fd<&-"
done

# The source: every record of the file, replayed in place.
cmp -s "$T/want.src" "$T/fast.b" || bad "b/all is not every record's bytes"
check_eq "b: records" "$n_all" "$(stat_of "$MNT/b" records)"
check_eq "b: packets_read" "$n_all" "$(stat_of "$MNT/b" packets_read)"
check_eq "b: copied_bytes (replayed in place)" 0 "$(stat_of "$MNT/b" copied_bytes)"

# tcp selects: its records are the file's TCP frames, nothing copied.
cmp -s "$T/want.tcp" "$T/fast.b_tcp" || bad "b/tcp/all is not the TCP records' bytes"
check_eq "b/tcp: records" "$n_tcp" "$(stat_of "$MNT/b/tcp" records)"
check_eq "b/tcp: matched" "$n_tcp" "$(stat_of "$MNT/b/tcp" matched)"
check_eq "b/tcp: not_matched" $((n_all - n_tcp)) "$(stat_of "$MNT/b/tcp" not_matched)"
check_eq "b/tcp: copied_bytes" 0 "$(stat_of "$MNT/b/tcp" copied_bytes)"

# text copies: a line per record, into its own ring.
lines=$(wc -l <"$T/fast.b_text")
check_eq "b/text: lines the readers got" "$n_all" "$lines"
check_eq "b/text: records" "$n_all" "$(stat_of "$MNT/b/text" records)"
check_eq "b/text: lines" "$n_all" "$(stat_of "$MNT/b/text" lines)"
check_eq "b/text: distinct lines" "$n_all" "$(sort -u "$T/fast.b_text" | wc -l)"
# What text copies is at least its lines, and the same per line (each line
# may carry a fixed-size header in the ring).
copied=$(stat_of "$MNT/b/text" copied_bytes)
tbytes=$(stat_of "$MNT/b/text" bytes)
[ "$copied" -ge "$tbytes" ] && [ $(((copied - tbytes) % n_all)) -eq 0 ] ||
	bad "b/text: copied_bytes $copied for $n_all lines of $tbytes bytes"
[ "$tbytes" -gt $((4 * 65536)) ] || bad "b/text: $tbytes bytes of text: the ring never wrapped"
check_eq "b/text: records in the slow reader's pcap view" "$n_all" "$("$T/pcapcat" -n "$T/slow.pcap")"

# A pass-through below text selects text's records: nothing copied.
cmp -s "$T/fast.b_text" "$T/fast.b_text_lines" || bad "b/text/lines/all differs from b/text/all"
check_eq "b/text/lines: records" "$n_all" "$(stat_of "$MNT/b/text/lines" records)"
check_eq "b/text/lines: copied_bytes" 0 "$(stat_of "$MNT/b/text/lines" copied_bytes)"

# After the replay: a new reader gets the newest lines the node still holds
# (a ring's worth, fewer than all), whole, and has lost nothing.
for node in b/text b/text/lines; do
	key=${node//\//_}
	rd "$MNT/$node/all" >"$T/late.$key"
	late=$(wc -c <"$T/late.$key")
	[ "$late" -gt 0 ] && [ "$late" -lt "$(wc -c <"$T/fast.$key")" ] ||
		bad "$node: a reader after the replay got $late bytes: want the newest lines, not all"
	tail -c "$late" "$T/fast.$key" | cmp -s - "$T/late.$key" ||
		bad "$node: a reader after the replay did not get the newest lines"
	before=$(head -c $(($(wc -c <"$T/fast.$key") - late)) "$T/fast.$key" | tail -c 1 | od -An -tx1)
	check_eq "$node: the byte before what a reader after the replay got" " 0a" "$before"
	check_eq "$node: drops after a late reader" 0 "$(stat_of "$MNT/$node" drops)"
done
pfs_done
