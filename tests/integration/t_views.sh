#!/bin/bash
# The `pcapng` view and upper-layer records, on a real mount.
#  - A node fed by an Ethernet source and a raw-IP source (ln -s): its
#    pcapng view holds every record (as many as `stats` counts), tshark
#    reads it with one interface per source named after it, and each
#    interface's packets are those of its input (as tshark shows them).  Its
#    pcap view keeps the first link type and says where the rest are.
#  - A nanosecond capture keeps its nanoseconds through `pcap` and
#    `pcapng` (tcpdump --time-stamp-precision=nano).
#  - pcapng written into `pcapng` (editcap's, tcpdump -w through editcap,
#    a nanosecond one) becomes frame records, read back whole; a bad
#    stream is refused whole (EINVAL, a line in log, nothing injected).
#  - text lines, `payload` records and written bytes, in both views, are
#    exported PDUs tshark dissects (text lines as text, a TCP payload by
#    its port: HTTP here), with the flow's addresses and ports.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump tshark editcap python3

raw=$OWN_CORPUS/raw.pcap
nano=$OWN_CORPUS/ether-be-ns.pcap
[ -r "$raw" ] && [ -r "$nano" ] || die "no $raw or $nano (make builds the corpus)"

ts() { timeout -k 2 60 tshark "$@" 2>"$T/tshark.err"; }
td() { timeout -k 2 30 tcpdump -nn -tt -x "$@" 2>/dev/null; }
tdn() { timeout -k 2 30 tcpdump --time-stamp-precision=nano -nn -tt "$@" 2>/dev/null; }

pfs_mount -s "pcap:$TRACE,name=e" -s "pcap:$raw,name=r" -s "pcap:$nano,name=ns" \
	-g e/m -g e/ip/tcp/payload -g e/ip/tcp/text
ln -s ../e/m "$MNT/r/m" || bad "ln -s ../e/m r/m failed"

# ---- two sources, two link types, one node ----
rd "$MNT/e/m/pcapng" >"$T/m.pcapng"
n_e=$(tcount "$TRACE")
n_r=$(tcount "$raw")
check_eq "records at e/m" "$((n_e + n_r))" "$(stat_of "$MNT/e/m" records)"
check_eq "packets tshark reads in e/m/pcapng" "$((n_e + n_r))" \
	"$(ts -r "$T/m.pcapng" | wc -l)"
[ -s "$T/tshark.err" ] && grep -v 'Running as user' "$T/tshark.err" | grep -q . &&
	bad "tshark on e/m/pcapng: $(cat "$T/tshark.err")"
ts -r "$T/m.pcapng" -T fields -e frame.interface_name | sort | uniq -c |
	awk '{print $2 "=" $1}' | tr '\n' ' ' >"$T/ifaces"
check_eq "e/m/pcapng interfaces (name=packets)" "e=$n_e r=$n_r " "$(cat "$T/ifaces")"
# Each interface's packets against its input, as tshark shows both: time,
# lengths, then every byte (libpcap cannot read a pcapng file of two link
# types, and tshark writes no pcap of one interface out of it).
tsdump() {
	ts -r "$@" -T fields -e frame.time_epoch -e frame.len -e frame.cap_len &&
		ts -r "$@" -x
}
for src in e r; do
	in=$TRACE
	[ $src = r ] && in=$raw
	tsdump "$in" >"$T/want.$src"
	tsdump "$T/m.pcapng" -Y "frame.interface_name == \"$src\"" >"$T/got.$src" ||
		bad "tshark cannot read interface $src of e/m/pcapng: $(cat "$T/tshark.err")"
	[ "$(wc -l <"$T/want.$src")" -gt 100 ] || bad "tshark shows too little of $in"
	cmp -s "$T/want.$src" "$T/got.$src" ||
		bad "e/m/pcapng interface $src differs from $in: $(diff "$T/want.$src" "$T/got.$src" | head -n 4)"
done
# The classic view keeps one link type and points at pcapng.
rd "$MNT/e/m/pcap" >"$T/m.pcap"
got=$(tcount "$T/m.pcap")
[ "$got" = "$n_e" ] || [ "$got" = "$n_r" ] || bad "e/m/pcap holds $got records, neither source's count"
timeout 5 grep -q "m/pcap: a record of link type .* \`pcapng\` and \`all\` have every record" \
	"$MNT/log" || bad "no log line pointing at pcapng: $(timeout 5 tail -3 "$MNT/log")"

# ---- nanoseconds kept ----
for v in pcap pcapng; do
	rd "$MNT/ns/$v" >"$T/ns.$v"
	tdn -r "$nano" >"$T/want.ns"
	tdn -r "$T/ns.$v" >"$T/got.ns.$v"
	[ -s "$T/want.ns" ] || bad "tcpdump reads nothing from $nano"
	cmp -s "$T/want.ns" "$T/got.ns.$v" ||
		bad "ns/$v: nanosecond timestamps differ: $(diff "$T/want.ns" "$T/got.ns.$v" | head -n 4)"
done
check_eq "ns/pcap magic (nanoseconds)" "4d3cb2a1" "$(od -An -tx1 -N4 "$T/ns.pcap" | tr -d ' \n')"

# ---- writing pcapng ----
mkdir "$MNT/w1" "$MNT/w2" "$MNT/w3" "$MNT/bad" || bad "mkdir w1 w2 w3 bad failed"
# editcap's pcapng, in 1000-byte writes (blocks split across writes)
editcap -F pcapng "$TRACE" "$T/trace.pcapng" || bad "editcap -F pcapng failed"
dd if="$T/trace.pcapng" of="$MNT/w1/pcapng" bs=1000 status=none || bad "writing w1/pcapng failed"
# tcpdump -w through editcap, as a pipeline would
timeout 30 tcpdump -r "$TRACE" -w - 2>/dev/null | editcap -F pcapng - - >"$MNT/w2/pcapng" ||
	bad "tcpdump -w - | editcap -F pcapng - - > w2/pcapng failed"
# a nanosecond pcapng
editcap -F pcapng "$nano" "$T/nano.pcapng" || bad "editcap of $nano failed"
cat "$T/nano.pcapng" >"$MNT/w3/pcapng" || bad "writing w3/pcapng failed"
td -r "$TRACE" >"$T/want.trace"
for w in w1 w2; do
	timeout 10 cat "$MNT/$w/pcap" >"$T/$w.pcap"
	td -r "$T/$w.pcap" >"$T/got.$w"
	cmp -s "$T/want.trace" "$T/got.$w" ||
		bad "$w/pcap differs from the pcapng written: $(diff "$T/want.trace" "$T/got.$w" | head -n 4)"
done
timeout 10 cat "$MNT/w3/pcap" >"$T/w3.pcap"
tdn -r "$T/w3.pcap" >"$T/got.w3"
cmp -s "$T/want.ns" "$T/got.w3" ||
	bad "w3/pcap: written nanoseconds differ: $(diff "$T/want.ns" "$T/got.w3" | head -n 4)"
# bad input: a classic pcap into pcapng, and a damaged block after good ones
if cat "$TRACE" >"$MNT/bad/pcapng" 2>/dev/null; then
	bad "a classic pcap written into bad/pcapng was accepted"
fi
python3 - "$T/trace.pcapng" "$T/damaged.pcapng" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0xff		# the last block's closing length
open(sys.argv[2], "wb").write(b)
PY
if dd if="$T/damaged.pcapng" of="$MNT/bad/pcapng" bs=1M status=none 2>/dev/null; then
	bad "a damaged pcapng written in one write into bad/pcapng was accepted"
fi
check_eq "records injected into bad" 0 "$(stat_of "$MNT/bad" records)"
timeout 5 grep -q 'bad/pcapng: write refused: not a pcapng stream' "$MNT/log" ||
	bad "no log line for the pcap written into bad/pcapng"
timeout 5 grep -q 'bad/pcapng: write refused: pcapng: a block of .* ends with another length' \
	"$MNT/log" || bad "no log line for the damaged pcapng"

# ---- upper-layer records: text, payload, written bytes ----
fields=(-T fields -e exported_pdu.prot_name -e exported_pdu.dis_table_name
	-e exported_pdu.ipv4_src -e exported_pdu.ipv4_dst
	-e exported_pdu.port_type -e exported_pdu.src_port -e exported_pdu.dst_port)
n_tcp=$(tcount "$TRACE" ip and tcp)
n_pl=$(tcount "$TRACE" 'ip and tcp and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)')
for v in pcap pcapng; do
	rd "$MNT/e/ip/tcp/text/$v" >"$T/text.$v"
	ts -r "$T/text.$v" "${fields[@]}" >"$T/text.$v.f" || bad "tshark cannot read text/$v"
	check_eq "text/$v records" "$n_tcp" "$(wc -l <"$T/text.$v.f")"
	# every line of a TCP segment: data-text-lines, IPv4 addresses, TCP (2) and ports
	check_eq "text/$v records with their flow" "$n_tcp" \
		"$(grep -cP '^data-text-lines\t\t10\.\d+\.\d+\.\d+\t10\.\d+\.\d+\.\d+\t2\t\d+\t\d+$' "$T/text.$v.f")"
	ts -r "$T/text.$v" -Y data-text-lines -T fields -e data-text-lines >/dev/null ||
		bad "tshark finds no text lines in text/$v"
	rd "$MNT/e/ip/tcp/payload/$v" >"$T/payload.$v"
	ts -r "$T/payload.$v" "${fields[@]}" >"$T/payload.$v.f" || bad "tshark cannot read payload/$v"
	check_eq "payload/$v records" "$n_pl" "$(wc -l <"$T/payload.$v.f")"
	# dissected by Wireshark's tcp.port table, with the flow
	check_eq "payload/$v records with their flow" "$n_pl" \
		"$(grep -cP '^\ttcp\.port\t10\.\d+\.\d+\.\d+\t10\.\d+\.\d+\.\d+\t2\t\d+\t\d+$' "$T/payload.$v.f")"
	# the demo trace is HTTP on port 80: tshark shows its requests
	check_eq "HTTP requests tshark finds in payload/$v" "$(tcount "$TRACE" 'tcp dst port 80 and tcp[((tcp[12]&0xf0)>>2):4] = 0x47455420')" \
		"$(ts -r "$T/payload.$v" -Y 'http.request.method == "GET"' | wc -l)"
done
# a text line says what tshark shows of it
line=$(timeout 10 head -c 100000 "$MNT/e/ip/tcp/text/all" 2>/dev/null | grep -m1 GET | cut -c1-40)
[ -n "$line" ] || bad "no GET line in e/ip/tcp/text/all"
ts -r "$T/text.pcapng" -V >"$T/text.V"
grep -qF "$line" "$T/text.V" || bad "tshark -V text/pcapng lacks '$line'"
mkdir "$MNT/notes" || bad "mkdir notes failed"
printf 'hello, pipes' >"$MNT/notes/all" || bad "writing notes/all failed"
rd "$MNT/notes/pcapng" 5 >"$T/notes.pcapng"
check_eq "notes/pcapng: a written chunk as tshark shows it" "data	hello, pipes" \
	"$(ts -r "$T/notes.pcapng" -T fields -e exported_pdu.prot_name -e data.data |
		awk -F'\t' '{ printf "%s\t", $1; print $2 }' | python3 -c '
import sys
p, h = sys.stdin.read().rstrip("\n").split("\t")
print(p + "\t" + bytes.fromhex(h.replace(":", "")).decode())')"

pfs_done
