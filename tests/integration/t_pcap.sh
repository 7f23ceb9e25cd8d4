#!/bin/bash
# pcap round trip: the records read back from a source's `pcap` equal the
# input's, link type and timestamps (to the nanosecond) included; so do a classifier node's
# (against tcpdump with the same expression).  Compared two ways: the text
# of `tcpdump -nn -tt -x -r`, and a dump of every record's header fields and
# bytes (tests/tools/pcapcat -d).  Besides the HTTP trace, a few captures
# from the corpus bring other link types, pcapng, nanosecond and
# big-endian files.  Records that are no frames (a byte stream written
# into a node) come out as LINKTYPE_WIRESHARK_UPPER_PDU with the protocol
# name "data", which tshark dissects.  (t_views: pcapng, and upper-layer
# records with their flows.)
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump
build_tool pcapcat -lpcap

files=("$TRACE")
for f in raw.pcap sll.pcap null.pcap ether-be-ns.pcap ether.pcapng; do
	[ -r "$OWN_CORPUS/$f" ] || die "$OWN_CORPUS/$f missing (make check, or make $OWN_CORPUS/.made, makes it)"
	files+=("$OWN_CORPUS/$f")
done
for f in RADIUS-RFC3162.pcap dns-badcookie.pcap LINKTYPE_RAW_ipv4.pcap \
	ieee802.11_exthdr.pcap bgp_vpn_attrset.pcap OSPFv2_Capture_FINAL.pcapng \
	tcp-handshake-nano.pcap pptp.pcap; do
	if [ -r "$CORPUS/$f" ]; then
		files+=("$CORPUS/$f")
	else
		say "NOTE: $CORPUS/$f missing: not compared"
	fi
done

srcs=()
for i in "${!files[@]}"; do
	srcs+=(-s "pcap:${files[$i]},name=f$i")
done
pfs_mount "${srcs[@]}" -g f0/ip/tcp

# tcpdump's text, timestamps to the nanosecond, and the header line it
# prints (link type, snapshot aside).
td() {
	timeout -k 2 30 tcpdump --time-stamp-precision=nano -nn -tt -x -r "$@" 2>"$T/td.err"
	local rc=$?
	sed -n 's/.*\(link-type [^ ]*\).*/\1/p' "$T/td.err"
	return $rc
}

for i in "${!files[@]}"; do
	f=${files[$i]}
	name=$(basename "$f")
	td "$f" >"$T/want.$i.txt" || bad "tcpdump cannot read $f"
	td "$MNT/f$i/pcap" >"$T/got.$i.txt" || bad "tcpdump -r f$i/pcap failed: $(cat "$T/td.err")"
	if ! cmp -s "$T/want.$i.txt" "$T/got.$i.txt"; then
		bad "f$i/pcap ($name): tcpdump -nn -tt -x output differs from the input's:"
		diff "$T/want.$i.txt" "$T/got.$i.txt" | head -n 10 | sed 's/^/    /'
	fi
	"$T/pcapcat" -d "$f" >"$T/wantd.$i" 2>"$T/pcapcat.err" || bad "pcapcat -d $f failed"
	rd "$MNT/f$i/pcap" >"$T/pcap.$i"
	"$T/pcapcat" -d "$T/pcap.$i" >"$T/gotd.$i" 2>"$T/pcapcat.err" ||
		bad "f$i/pcap ($name) is no pcap libpcap reads: $(cat "$T/pcapcat.err")"
	[ -s "$T/pcapcat.err" ] && bad "f$i/pcap ($name): libpcap: $(cat "$T/pcapcat.err")"
	if ! cmp -s "$T/wantd.$i" "$T/gotd.$i"; then
		bad "f$i/pcap ($name): records differ (pcapcat -d, < input, > pipesfs):"
		diff "$T/wantd.$i" "$T/gotd.$i" | head -n 6 | cut -c1-120 | sed 's/^/    /'
	fi
	# The global header: the input's precision (our files and tcpdump's
	# pcapng ones are in microseconds), version 2.4, the input's link type.
	case $(od -An -tx1 -N4 "$f" | tr -d ' \n') in
	4d3cb2a1 | a1b23c4d) magic=4d3cb2a1 ;;
	*) magic=d4c3b2a1 ;;
	esac
	hdr=$(head -c 24 "$T/pcap.$i" | od -An -tx1 | tr -d ' \n')
	check_eq "f$i/pcap ($name) magic and version" "${magic}02000400" "${hdr:0:16}"
	# pcap files store LINKTYPE_ values (LINKTYPE_RAW is 101), which are not
	# always libpcap's DLT_ values (DLT_RAW is 12 on Linux).
	check_eq "f$i/pcap ($name) link type in the global header (LINKTYPE_)" \
		"$("$T/pcapcat" -l "$f")" "$("$T/pcapcat" -l "$T/pcap.$i")"
done

# A classifier node: the same records as tcpdump selects, byte for byte.
td "$TRACE" ip and tcp >"$T/want.iptcp.txt"
td "$MNT/f0/ip/tcp/pcap" >"$T/got.iptcp.txt" || bad "tcpdump -r f0/ip/tcp/pcap failed"
if ! cmp -s "$T/want.iptcp.txt" "$T/got.iptcp.txt"; then
	bad "f0/ip/tcp/pcap differs from tcpdump -r TRACE 'ip and tcp':"
	diff "$T/want.iptcp.txt" "$T/got.iptcp.txt" | head -n 10 | sed 's/^/    /'
fi
[ "$(wc -l <"$T/want.iptcp.txt")" -gt 100 ] || bad "tcpdump found too little IPv4 TCP in the trace"

# A stream record (written bytes) in the pcap view.
mkdir "$MNT/notes" || bad "mkdir notes failed"
printf 'hello, pipes' >"$MNT/notes/all" || bad "writing notes/all failed"
rd "$MNT/notes/pcap" 5 >"$T/notes.pcap"
"$T/pcapcat" -d "$T/notes.pcap" >"$T/notes.d" 2>"$T/pcapcat.err" ||
	bad "notes/pcap is no pcap libpcap reads: $(cat "$T/pcapcat.err")"
check_eq "notes/pcap link type" "linktype 252" "$(head -n 1 "$T/notes.d")"
check_eq "notes/pcap records" 1 "$(( ($(wc -l <"$T/notes.d") - 1) / 2 ))"
hex=$(sed -n 3p "$T/notes.d")
hello=$(printf 'hello, pipes' | od -An -tx1 | tr -d ' \n')
# Exported-PDU tags: PROTO_NAME (12) of length 4, "data", END, then the bytes.
check_eq "notes/pcap record" "000c000464617461""00000000$hello" "$hex"
if command -v tshark >/dev/null 2>&1; then
	proto=$(timeout -k 2 60 tshark -r "$T/notes.pcap" -T fields -e exported_pdu.prot_name 2>"$T/tshark.err")
	check_eq "the protocol tshark reads in notes/pcap" "data" "$proto"
fi

# A node fed by an Ethernet source and a raw-IP one: its pcap view has
# the link type of its first record; the others are left out of it,
# counted, and log says so, pointing at `pcapng` (which t_views checks).
python3 - "$T/raw.pcap" <<'PY'
import struct, sys
pkt = bytes.fromhex("45000014000100004011f9d70a0000010a000002")	# IPv4 header, no payload
out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)
for i in range(3):
	out += struct.pack("<IIII", 1000 + i, 0, len(pkt), len(pkt)) + pkt
open(sys.argv[1], "wb").write(out)
PY
pfs_umount
pfs_mount -s "pcap:$TRACE,name=e" -g e/m -s "pcap:$T/raw.pcap,name=r"
ln -s ../e/m "$MNT/r/lm" || bad "ln -s ../e/m r/lm"
n_e=$(tcount "$TRACE")
timeout 20 cat "$MNT/e/m/pcap" >"$T/mixed.pcap"	# starts both replays; EOF after both
check_eq "records at e/m" "$((n_e + 3))" "$(stat_of "$MNT/e/m" records)"
got=$(tcount "$T/mixed.pcap")
[ "$got" = "$n_e" ] || [ "$got" = 3 ] || bad "e/m/pcap holds $got records, neither source's count"
timeout 5 grep -q "e/m/pcap\|m/pcap: a record of link type" "$MNT/log" ||
	bad "no log line for the records left out of m/pcap: $(timeout 5 tail -3 "$MNT/log")"

pfs_done
