#!/bin/bash
# The HTTP examples (examples/*.sh) run as a user would run them, on
# capture files instead of interfaces: live grep of requests, the
# scrubbing pipeline (no request whose URI holds `..` reaches
# httpclean/get, every clean GET does), two sources into one `http` stage
# by `ln -s`.
. "$(dirname "$0")/lib.sh"
need_trace
need_pipesfs
need_tool perl tshark
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "no python3-scapy (make deps installs it)"
EX=$REPO/examples

# A trace with traversal attempts among clean requests: pipelined in one
# segment, and split over segments.
/usr/bin/python3 - "$T/scrub.pcap" <<'PY' || die "cannot make the scrub trace"
import sys
from scapy.all import IP, TCP, Ether, wrpcap
reqs = (b"GET /ok1 HTTP/1.1\r\nHost: h\r\n\r\n"
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"
        b"POST /form HTTP/1.1\r\nContent-Length: 4\r\n\r\na..b"
        b"GET /a/../b HTTP/1.1\r\nHost: h\r\n\r\n"
        b"PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n..\r\n0\r\n\r\n"
        b"GET /ok2?q=a.b HTTP/1.1\r\nHost: h\r\n\r\n")
e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
c = dict(src="10.9.0.1", dst="10.9.0.2")
s = dict(src="10.9.0.2", dst="10.9.0.1")
pk = [e / IP(**c) / TCP(sport=5000, dport=8000, flags="S", seq=0),
      e / IP(**s) / TCP(sport=8000, dport=5000, flags="SA", seq=0, ack=1)]
for off in range(0, len(reqs), 50):
    pk.append(e / IP(**c) / TCP(sport=5000, dport=8000, flags="PA", seq=1 + off, ack=1)
              / reqs[off:off + 50])
for i, p in enumerate(pk):
    p.time = 1700000000 + i / 1000
wrpcap(sys.argv[1], pk)
PY

# ---- live grep ---------------------------------------------------------------
out=$(timeout 60 "$EX/grep-http.sh" "pcap:$TRACE") || bad "grep-http.sh failed"
requests=$(timeout 60 tshark -r "$TRACE" -o tcp.reassemble_out_of_order:TRUE -Y http.request \
	-T fields -e http.request.method 2>/dev/null | tr ',' '\n' | grep -c .)
check_eq "grep-http.sh: a line per request of the trace" "$requests" "$(printf '%s\n' "$out" | grep -c .)"
out=$(timeout 60 "$EX/grep-http.sh" "pcap:$T/scrub.pcap" -F /..) || bad "grep-http.sh /.. failed"
check_eq "grep-http.sh pcap /.." "10.9.0.1:5000 > 10.9.0.2:8000 GET h /../../etc/passwd
10.9.0.1:5000 > 10.9.0.2:8000 GET h /a/../b" "$(printf '%s\n' "$out" | cut -d' ' -f2-)"

# ---- scrubbing -----------------------------------------------------------------
out=$(timeout 60 "$EX/scrub-http.sh" "pcap:$T/scrub.pcap" | tr -d '\r') || bad "scrub-http.sh failed"
check_eq "scrub-http.sh: httpclean/get" "GET /ok1 HTTP/1.1
Host: h

GET /ok2?q=a.b HTTP/1.1
Host: h" "$out"

# The filter alone (the README's opening pipeline), and usage errors.
printf 'GET /a HTTP/1.1\r\n\r\nPOST /../x HTTP/1.1\r\nContent-Length: 3\r\n\r\n..\nGET /b HTTP/1.1\r\n\r\n' |
	timeout 10 "$EX/scrub-http.sh" --filter >"$T/scrubbed" || bad "scrub-http.sh --filter failed"
check_eq "scrub-http.sh --filter" "GET /a HTTP/1.1|GET /b HTTP/1.1|" \
	"$(tr -d '\r' <"$T/scrubbed" | grep . | tr '\n' '|')"
for ex in grep-http.sh scrub-http.sh http-two-sources.sh; do
	rc=0
	"$EX/$ex" >/dev/null 2>"$T/usage" || rc=$?
	check_eq "$ex without arguments: exit status" 2 "$rc"
	grep -q "$ex" "$T/usage" || bad "$ex without arguments prints no usage: $(cat "$T/usage")"
done

# ---- two sources, one stage --------------------------------------------------------
n=$(timeout 60 "$EX/http-two-sources.sh" "pcap:$TRACE" "pcap:$T/scrub.pcap" | wc -l) ||
	bad "http-two-sources.sh failed"
check_eq "http-two-sources.sh: lines (the trace's requests and the scrub trace's 6)" \
	$((requests + 6)) "$n"
exit "$PFS_FAILED"
