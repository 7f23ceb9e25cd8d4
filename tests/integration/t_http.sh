#!/bin/bash
# http and method=M on a real mount (DESIGN.md "Filters"):
#  - on the project's trace (and ../shared/traces/http-small.pcap, where
#    present), the (method, URI) multiset of `http` equals tshark's
#    requests (tshark joins a frame's pipelined requests with commas: they
#    are counted one by one), and `cat http/all` is a valid request stream
#    (tests/tools/httpsplit.py frames it strictly);
#  - `tshark -r http/pcap` finds each request in its record;
#  - `text` below `http` prints one `EPOCH.USEC CLIENT > SERVER METHOD
#    HOST URI` line per request; `tcp/method=GET` holds tshark's GETs;
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
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tshark python3

SPLIT="python3 $REPO/tests/tools/httpsplit.py"

# tshark's requests of $1, one "METHOD<TAB>URI" line each, sorted.
tshark_requests() {
	timeout 60 tshark -r "$1" -o tcp.reassemble_out_of_order:TRUE -Y http.request \
		-T fields -e http.request.method -e http.request.uri 2>/dev/null |
		awk -F'\t' '{ n = split($1, m, ","); split($2, u, ","); for (i = 1; i <= n; i++) print m[i] "\t" u[i] }' |
		sort
}

check_trace() {
	local trace=$1 name
	name=$(basename "$trace" .pcap)
	tshark_requests "$trace" >"$T/$name.want"
	[ -s "$T/$name.want" ] || bad "$name: tshark found no requests"
	pfs_mount -s "pcap:$trace,name=s" -g s/http/text -g s/tcp/method=GET
	rd "$MNT/s/http/all" >"$T/$name.all"
	$SPLIT <"$T/$name.all" | sort >"$T/$name.got" ||
		bad "$name: http/all is not a valid HTTP request stream"
	if ! diff "$T/$name.want" "$T/$name.got" >"$T/$name.diff"; then
		bad "$name: (method, URI) of http differ from tshark's (< tshark, > http):"
		sed 's/^/    /' "$T/$name.diff" | head -20
	fi
	say "$name: $(wc -l <"$T/$name.got") requests, tshark $(wc -l <"$T/$name.want")"
	check_eq "$name: http records" "$(wc -l <"$T/$name.want")" "$(stat_of "$MNT/s/http" records)"

	rd "$MNT/s/http/text/all" >"$T/$name.text"
	check_eq "$name: text lines" "$(wc -l <"$T/$name.want")" "$(wc -l <"$T/$name.text")"
	local odd
	odd=$(grep -cvE '^[0-9]+\.[0-9]{6} (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ > (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ [^ ]+ [^ ]+ [^ ]+$' "$T/$name.text")
	check_eq "$name: text lines not of the form EPOCH.USEC CLIENT > SERVER METHOD HOST URI" 0 "$odd"
	awk '{ print $5 "\t" $7 }' "$T/$name.text" | sort >"$T/$name.text.mu"
	# text shows unprintable bytes as '.', tshark as they are: compare counts per method
	check_eq "$name: methods in text" "$(cut -f1 "$T/$name.want" | sort | uniq -c)" \
		"$(cut -f1 "$T/$name.text.mu" | sort | uniq -c)"

	rd "$MNT/s/http/pcap" | timeout 60 tshark -r - -Y http.request -T fields \
		-e http.request.method -e http.request.uri 2>/dev/null | sort >"$T/$name.pcap"
	check_eq "$name: tshark on http/pcap (a request per record)" "$(cat "$T/$name.want")" \
		"$(cat "$T/$name.pcap")"

	rd "$MNT/s/tcp/method=GET/all" | $SPLIT | sort >"$T/$name.get"
	check_eq "$name: tcp/method=GET" "$(grep '^GET	' "$T/$name.want")" "$(cat "$T/$name.get")"
	pfs_umount
}

check_trace "$TRACE"
SHARED=$REPO/../shared/traces/http-small.pcap
if [ -r "$SHARED" ]; then
	check_trace "$SHARED"
else
	say "NOTE: no $SHARED: the project's trace only"
fi

# ---- crafted disorder ------------------------------------------------------------
if /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
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
else
	say "NOTE: no python3-scapy: crafted traces not checked (make deps installs it)"
fi

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
pfs_done
