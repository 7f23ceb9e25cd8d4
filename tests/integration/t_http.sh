#!/bin/bash
# http and method=M on a real mount (DESIGN.md "Filters"):
#  - on the project's demo trace, on a larger trace this test records with
#    the project's own script (scripts/mktrace.sh -n: nginx under curl's
#    and wrk's load, IPv4 and IPv6, keep-alive and Connection: close), and
#    on TRACE when it is another (CI's larger trace), against tshark
#    reading the original (tshark joins a frame's pipelined requests with
#    commas: they are counted one by one):
#      - the (method, URI) multiset of `http` equals tshark's requests,
#        and `cat http/all` is a valid request stream (tests/tools/
#        httpsplit.py frames it strictly); `records` is their number;
#      - `tshark -r http/pcap` and `tshark -r http/pcapng` find one request
#        per record, each with tshark's time, client and server address and
#        port (the exported-PDU tags), method, Host and URI;
#      - `text` below `http` prints one `EPOCH.USEC CLIENT > SERVER METHOD
#        HOST URI` line per request, the same lines;
#      - `tcp/method=GET` holds tshark's GETs;
#  - crafted traces (tests/tools/mkhttptrace.py, scapy) with shuffled,
#    repeated, overlapping and lost segments, no SYN, SYN-ACK first,
#    wrapping sequence numbers, a reused 4-tuple, data after FIN and RST,
#    keep-alive probes, padding, IPv6: every request whose bytes all came
#    comes out once, byte for byte, and nothing else;
#  - a written byte stream, in small writes, is framed into the same
#    requests, byte for byte;
#  - `http` has its method children from the start, and one for a method
#    first seen when its directory is looked at (holding that method's
#    requests, from before too), up to a bound (the rest counted).
# make deps installs every tool it needs (mktrace.sh's, python3-scapy).
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tshark python3 nginx curl wrk tcpdump ethtool ip

SPLIT="python3 $REPO/tests/tools/httpsplit.py"

# req_lines: tshark -T fields output (time, ip.src, ipv6.src, src port,
# ip.dst, ipv6.dst, dst port, methods, hosts, URIs) to one
# "EPOCH.USEC CLIENT > SERVER METHOD HOST URI" line per request, as `text`
# prints them (no Host: `-`; unprintable bytes `.`), sorted.
req_lines() {
	LC_ALL=C awk -F'\t' '
	function addr(v4, v6) { return v4 != "" ? v4 : "[" v6 "]" }
	{
		split($1, t, ".")
		ts = t[1] "." substr(t[2] "000000", 1, 6)
		c = addr($2, $3) ":" $4
		s = addr($5, $6) ":" $7
		n = split($8, m, ","); split($9, h, ","); split($10, u, ",")
		for (i = 1; i <= n; i++) {
			if (h[i] == "") h[i] = "-"
			line = ts " " c " > " s " " m[i] " " h[i] " " u[i]
			gsub(/[^ -~]/, ".", line)
			print line
		}
	}' | LC_ALL=C sort
}

# tshark's view of the requests in capture $1 (reassembling TCP, as http does)
tshark_orig() {
	timeout 120 tshark -r "$1" -o tcp.reassemble_out_of_order:TRUE -Y http.request \
		-T fields -e frame.time_epoch -e ip.src -e ipv6.src -e tcp.srcport \
		-e ip.dst -e ipv6.dst -e tcp.dstport -e http.request.method \
		-e http.host -e http.request.uri 2>"$T/tshark.err" | req_lines
}

# tshark's view of the requests in the pcap or pcapng stream on stdin
# (exported PDUs: the addresses and ports are the records' tags); the
# number of frames in it goes to $2.
tshark_export() {
	timeout -k 2 60 tshark -r - -T fields \
		-e frame.time_epoch -e exported_pdu.ipv4_src -e exported_pdu.ipv6_src \
		-e exported_pdu.src_port -e exported_pdu.ipv4_dst -e exported_pdu.ipv6_dst \
		-e exported_pdu.dst_port -e http.request.method -e http.host \
		-e http.request.uri 2>/dev/null >"$T/export.$1"
	wc -l <"$T/export.$1" >"$2"
	awk -F'\t' '$8 != ""' "$T/export.$1" | req_lines
	rm -f "$T/export.$1"
}

# cmp_lines WHAT WANT-FILE GOT-FILE: the same lines, else the first differences
cmp_lines() {
	if ! diff "$2" "$3" >"$T/cmp.diff"; then
		bad "$1 differ (< tshark on the trace, > pipesfs): $(grep -c '^[<>]' "$T/cmp.diff") lines:"
		grep '^[<>]' "$T/cmp.diff" | head -10 | sed 's/^/    /' >&2
	fi
}

check_trace() {
	local trace=$1 name=$2 n
	tshark_orig "$trace" >"$T/$name.lines" || bad "$name: tshark failed: $(head -3 "$T/tshark.err")"
	awk '{ print $5 "\t" $7 }' "$T/$name.lines" | LC_ALL=C sort >"$T/$name.want"
	n=$(wc -l <"$T/$name.want")
	[ "$n" -gt 0 ] || bad "$name: tshark found no requests"
	pfs_mount -s "pcap:$trace,name=s" -g s/http/text -g s/tcp/method=GET
	rd "$MNT/s/http/all" 60 >"$T/$name.all"
	$SPLIT <"$T/$name.all" | LC_ALL=C sort >"$T/$name.got" ||
		bad "$name: http/all is not a valid HTTP request stream"
	cmp_lines "$name: (method, URI) of http/all" "$T/$name.want" "$T/$name.got"
	say "$name (at ${SECONDS}s): tshark $n requests; http/all $(wc -l <"$T/$name.got"), records $(stat_of "$MNT/s/http" records)"
	check_eq "$name: http records" "$n" "$(stat_of "$MNT/s/http" records)"

	rd "$MNT/s/http/text/all" 60 | LC_ALL=C sort >"$T/$name.text"
	local odd
	odd=$(grep -cvE '^[0-9]+\.[0-9]{6} (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ > (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ [^ ]+ [^ ]+ [^ ]+$' "$T/$name.text")
	check_eq "$name: text lines not of the form EPOCH.USEC CLIENT > SERVER METHOD HOST URI" 0 "$odd"
	cmp_lines "$name: text lines" "$T/$name.lines" "$T/$name.text"
	say "$name: text $(wc -l <"$T/$name.text") lines"

	local v
	for v in pcap pcapng; do
		rd "$MNT/s/http/$v" 60 | tshark_export "$v" "$T/$name.$v.frames" >"$T/$name.$v"
		check_eq "$name: frames in http/$v (a record per request)" "$n" "$(cat "$T/$name.$v.frames")"
		cmp_lines "$name: requests tshark finds in http/$v" "$T/$name.lines" "$T/$name.$v"
		say "$name: http/$v $(cat "$T/$name.$v.frames") frames, $(wc -l <"$T/$name.$v") requests"
	done

	rd "$MNT/s/tcp/method=GET/all" 60 | $SPLIT | LC_ALL=C sort >"$T/$name.get"
	check_eq "$name: tcp/method=GET" "$(grep '^GET	' "$T/$name.want")" "$(cat "$T/$name.get")"
	pfs_umount
	rm -f "$T/$name".*
}

check_trace "$REPO/examples/demo.pcap" demo
[ "$TRACE" -ef "$REPO/examples/demo.pcap" ] || check_trace "$TRACE" "$(basename "$TRACE" .pcap)"

# A larger trace, recorded here by the project's own script (about 5000
# requests on about 1000 connections: keep-alive, Connection: close, IPv6;
# PFS_HTTP_PACKETS packets).
BIG_PACKETS=${PFS_HTTP_PACKETS:-20000}
if timeout -k 5 200 "$REPO/scripts/mktrace.sh" -n "$BIG_PACKETS" "$T/mktrace.pcap" >"$T/mktrace.out" 2>&1; then
	say "$(cat "$T/mktrace.out")"
	check_trace "$T/mktrace.pcap" recorded
	rm -f "$T/mktrace.pcap"
else
	bad "scripts/mktrace.sh -n $BIG_PACKETS failed: $(cat "$T/mktrace.out")"
fi

# ---- crafted disorder ------------------------------------------------------------
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
	die "python3-scapy is not installed (make deps installs it)"
for seed in 1 2 3; do
	/usr/bin/python3 "$REPO/tests/tools/mkhttptrace.py" "$T/crafted.pcap" \
		"$T/crafted.json" "$seed" >"$T/crafted.out" 2>&1 ||
		die "mkhttptrace.py failed: $(cat "$T/crafted.out")"
	pfs_mount -s "pcap:$T/crafted.pcap,name=c" -g c/http
	rd "$MNT/c/http/all" >"$T/crafted.all"
	if ! $SPLIT --expect "$T/crafted.json" <"$T/crafted.all" >"$T/crafted.cmp"; then
		bad "crafted trace (seed $seed): requests differ:"
		sed 's/^/    /' "$T/crafted.cmp" | head -20
	fi
	say "crafted (seed $seed): $(tail -n 1 "$T/crafted.cmp")"
	for k in gap_bytes retransmitted_bytes out_of_order copied; do
		stat_is "$MNT/c/http" "$k" -gt 0 || bad "crafted (seed $seed): $k is 0"
	done
	pfs_umount
done

# ---- a written byte stream -------------------------------------------------------
printf 'GET /w1 HTTP/1.1\r\nHost: w\r\n\r\nPOST /w2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPUT /w3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' >"$T/stream"
pfs_mount
mkdir -p "$MNT/w/http" "$MNT/w/method=POST" || bad "mkdir under w failed"
# in writes of 7 bytes: requests span writes (and so records)
dd if="$T/stream" of="$MNT/w/all" bs=7 status=none || bad "writing w/all failed"
check_eq "w/http/all (a written stream, framed)" "$(cat "$T/stream" | od -c)" \
	"$(rd "$MNT/w/http/all" | od -c)"
check_eq "w/method=POST" "POST	/w2" "$(rd "$MNT/w/method=POST/all" | $SPLIT)"

# ---- method children ---------------------------------------------------------------
check_eq "children of a new http" "connect delete get head options patch post put trace" \
	"$(cd "$MNT/w/http" && find . -mindepth 1 -maxdepth 1 -type d | sed 's|^./||' | sort | xargs)"
check_eq "w/http/get/filter" "method=GET" "$(cat "$MNT/w/http/get/filter")"
check_eq "w/http/put" "PUT	/w3" "$(rd "$MNT/w/http/put/all" | $SPLIT)"
mkdir "$MNT/m" "$MNT/m/http" || bad "mkdir m/http failed"
{
	printf 'PROPFIND /p1 HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n'
	for i in $(seq 1 70); do printf 'X%d / HTTP/1.1\r\n\r\n' "$i"; done
	printf 'PROPFIND /p2 HTTP/1.1\r\n\r\n'
} >"$MNT/m/all" || bad "writing m/all failed"
rd "$MNT/m/http/all" >/dev/null
check_eq "m/http/propfind (made when looked up)" "PROPFIND	/p1
PROPFIND	/p2" "$(rd "$MNT/m/http/propfind/all" | $SPLIT)"
check_eq "children of m/http (nine, propfind, X1 ... up to the bound)" 64 \
	"$(find "$MNT/m/http" -mindepth 1 -maxdepth 1 -type d | wc -l)"
check_eq "m/http methods_over" $((9 + 1 + 70 - 64)) "$(stat_of "$MNT/m/http" methods_over)"
# a child removed stays removed
rmdir "$MNT/m/http/x1" || bad "rmdir m/http/x1 failed"
ls "$MNT/m/http" >/dev/null
[ ! -e "$MNT/m/http/x1" ] || bad "m/http/x1 came back after rmdir"
pfs_umount
pfs_done
