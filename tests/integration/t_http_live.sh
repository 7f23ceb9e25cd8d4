#!/bin/bash
# http on a live capture: nginx in a network namespace this test makes,
# curl and a raw pipelining client in another, joined by a veth pair;
# pipesfs -s iface:v0 (-g v0/ip/tcp/http/text, -g v0/http) and tcpdump -w
# on the server's end.  tshark on tcpdump's capture is the oracle: each
# TCP stream's client bytes (`-z follow,tcp,raw`), split into requests.
#   - readers opened before the traffic: ip/tcp/http/get/all gets every
#     GET exactly once, byte for byte as sent (`..` paths, keep-alive with
#     `curl --next`, three requests pipelined in one segment); post/all
#     every POST with its body (a form, a 40000-byte upload sent after
#     `Expect: 100-continue`, a chunked one, a pipelined one); ip/tcp/http/all
#     every IPv4 request; v0/http/all the IPv6 one too;
#   - text below http: a line per request, `CLIENT > SERVER METHOD HOST
#     URI` as tshark sees them (the times are each capture's own);
#   - `ip link del v0`: every reader gets EOF after what came;
#   - README's headline pipeline live, on a second veth pair: `get` moved
#     under a node `httpclean` of its own, `cat http/all | SCRUB >
#     httpclean/all` (examples/scrub-http.sh --filter): httpclean/get/all,
#     opened before the pipeline writes, waits, then gets exactly the
#     clean GETs, byte for byte, and none from get's own history.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_tool ip nsenter nginx curl tcpdump tshark python3 perl
[ "$(id -u)" -eq 0 ] || skip "not root: live capture and network namespaces need root"

SPLIT="python3 $REPO/tests/tools/httpsplit.py"
id=pfshttp$$
srv=${id}s cli=${id}c
ip netns add "$srv" 2>"$T/netns.err" || skip "network namespaces are not available here: $(cat "$T/netns.err")"
ip netns add "$cli" || die "ip netns add $cli"
NGINX_PID=
cleanup_ns() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
trap 'rc=$?; cleanup_ns; (exit $rc); pfs_cleanup' EXIT
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done

# veth_up: a fresh pair v0 (nginx, pipesfs, tcpdump) / v1 (the clients)
veth_up() {
	ip link add v0 netns "$srv" type veth peer name v1 netns "$cli" || die "cannot make a veth pair"
	ip -n "$srv" addr add 10.96.0.1/24 dev v0
	ip -n "$cli" addr add 10.96.0.2/24 dev v1
	ip -n "$srv" -6 addr add fd96::1/64 dev v0 nodad
	ip -n "$cli" -6 addr add fd96::2/64 dev v1 nodad
	ip -n "$srv" link set v0 up
	ip -n "$cli" link set v1 up
	# The offloads stay on, as veth pairs come: TSO/GSO/GRO hand up
	# frames far longer than the MTU, which iface: keeps whole.
}
veth_up

# nginx as scripts/mktrace.sh runs it: any method, any path gets an answer
mkdir -p "$T/www" "$T/tmp"
chmod 755 "$T"
echo '<html><body>hello from pipesfs</body></html>' >"$T/www/index.html"
cat >"$T/nginx.conf" <<CONF
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/tmp;
	server {
		listen 10.96.0.1:80;
		listen [fd96::1]:80;
		root $T/www;
		location / { error_page 405 =200 \$uri; }
	}
}
CONF
ip netns exec "$srv" nginx -c "$T/nginx.conf" || die "nginx did not start: $(cat "$T/nginx.err")"
wait_for 10 test -s "$T/nginx.pid" || die "nginx wrote no pid file"
NGINX_PID=$(cat "$T/nginx.pid")

live_mount() {
	MNT=$(mktemp -d "$T/mnt.XXXX")
	PFS_ERR=$T/daemon.$(basename "$MNT").err
	nsenter --net="/run/netns/$srv" "$PIPESFS" -f "$@" "$MNT" 2>"$PFS_ERR" &
	PFS_PID=$!
	wait_for 30 mounted "$MNT" || die "pipesfs did not mount: $(cat "$PFS_ERR")"
}

# tcpdump_start FILE: tcpdump -w FILE on v0, until tcpdump_stop
tcpdump_start() {
	nsenter --net="/run/netns/$srv" tcpdump -i v0 -s 0 -U -w "$1" 2>"$T/tcpdump.err" &
	DUMP=$!
	bg_add $DUMP
	wait_for 10 grep -q 'listening on' "$T/tcpdump.err" || die "tcpdump did not start: $(cat "$T/tcpdump.err")"
}
# tcpdump_stop FILE: once it has every frame pipesfs's source got
tcpdump_stop() {
	local n
	n=$(stat_of "$MNT/v0" records)
	dumped() { [ "$(tcount "$1")" -ge "$n" ]; }
	wait_for 20 dumped "$1" || bad "tcpdump has $(tcount "$1") frames, v0 $n"
	kill -INT "$DUMP"
	wait_gone "$DUMP" 10 || bad "tcpdump did not stop"
}

# reader NAME FILE: cat FILE to $T/NAME.out in the background (pid in
# READER[NAME]); wait until the node counts the reader.
declare -A READER
reader() {
	timeout 120 cat "$2" >"$T/$1.out" &
	READER[$1]=$!
	bg_add $!
	wait_for 10 stat_is "$(dirname "$2")" readers -ge 1 || bad "$2 did not open"
}

C() { ip netns exec "$cli" curl -sS --max-time 20 "$@" >/dev/null 2>>"$T/curl.err" || bad "curl $*: $(tail -1 "$T/curl.err")"; }
raw() {	# raw REQUESTS: written in one write on one connection, then the answers read to the close
	ip netns exec "$cli" bash -c 'exec 3<>/dev/tcp/10.96.0.1/80 && printf "$1" >&3 && timeout 20 cat <&3 >/dev/null' raw "$1" ||
		bad "raw requests failed"
}

# expect_reqs WHAT FILE JSON: FILE is a valid request stream holding exactly
# JSON's requests
expect_reqs() {
	if $SPLIT --expect "$3" <"$2" >"$T/cmp.out" 2>&1; then
		say "$1: $(tail -1 "$T/cmp.out")"
	else
		bad "$1: not the requests sent:"
		sed 's/^/    /' "$T/cmp.out" | head -20 >&2
	fi
}

# oracle PCAP PREFIX: tshark's requests in PCAP: PREFIX.all.json,
# PREFIX.get.json, PREFIX.post.json (the bytes), PREFIX.lines
# ("CLIENT > SERVER METHOD HOST URI", sorted)
oracle() {
	local streams z=()
	streams=$(timeout 60 tshark -r "$1" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" \
		-T fields -e tcp.stream 2>/dev/null | sort -un)
	for s in $streams; do z+=(-z "follow,tcp,raw,$s"); done
	timeout 60 tshark -r "$1" -q "${z[@]}" >"$2.follow" 2>/dev/null || bad "tshark -z follow failed"
	$SPLIT --follow <"$2.follow" >"$2.all.json" || bad "the client bytes tshark follows are not a request stream"
	$SPLIT --follow GET <"$2.follow" >"$2.get.json"
	$SPLIT --follow POST <"$2.follow" >"$2.post.json"
	timeout 60 tshark -r "$1" -o tcp.reassemble_out_of_order:TRUE -Y http.request \
		-T fields -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e http.request.method -e http.host -e http.request.uri 2>/dev/null |
		LC_ALL=C awk -F'\t' '
		function addr(v4, v6) { return v4 != "" ? v4 : "[" v6 "]" }
		{
			n = split($7, m, ","); split($8, h, ","); split($9, u, ",")
			for (i = 1; i <= n; i++)
				print addr($1, $2) ":" $3 " > " addr($4, $5) ":" $6 " " m[i] " " (h[i] == "" ? "-" : h[i]) " " u[i]
		}' | LC_ALL=C sort >"$2.lines"
}

njson() { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$1" 2>/dev/null || echo "?"; }

# ---- round 1: readers of get, post, all, text; the interface deleted ----------
tcpdump_start "$T/wire.pcap"
live_mount --workers 1 -s iface:v0 -g v0/ip/tcp/http/text -g v0/http
H=$MNT/v0/ip/tcp/http
reader get "$H/get/all"
reader post "$H/post/all"
reader all "$H/all"
reader text "$H/text/all"
reader all6 "$MNT/v0/http/all"

head -c 40000 /dev/zero | tr '\0' 'u' >"$T/upload"
C http://10.96.0.1/index.html
C --path-as-is 'http://10.96.0.1/static/../../etc/passwd'
C --path-as-is 'http://10.96.0.1/a/../b/../index.html?x=1'
C -d 'user=live&pass=secret' http://10.96.0.1/login
C -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
	--data-binary @"$T/upload" http://10.96.0.1/index.html
C -H 'Transfer-Encoding: chunked' -d 'chunked=yes' http://10.96.0.1/chunked
C -I http://10.96.0.1/index.html
C http://10.96.0.1/k1 --next http://10.96.0.1/k2 --next -d 'k=3' http://10.96.0.1/k3
raw 'GET /p1 HTTP/1.1\r\nHost: p\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\n\r\nhelloGET /../p3 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n'
C -g 'http://[fd96::1]/index.html'
# 7 GETs, 5 POSTs and a HEAD over IPv4, a GET over IPv6: bounded waits for
# them to arrive, then for tcpdump to have every frame pipesfs got
wait_for 30 stat_is "$H" records -ge 13 || bad "ip/tcp/http has $(stat_of "$H" records) of 13 requests"
wait_for 30 stat_is "$MNT/v0/http" records -ge 14 || bad "v0/http has $(stat_of "$MNT/v0/http" records) of 14 requests"
tcpdump_stop "$T/wire.pcap"

ip -n "$srv" link del v0 || bad "ip link del v0 failed"
for r in get post all text all6; do
	wait_gone "${READER[$r]}" 20 || bad "the reader of $r is still blocked after ip link del v0"
	wait "${READER[$r]}" || bad "the reader of $r failed (status $?)"
done
grep -q 'the capture ends' "$MNT/log" || bad "log does not say the capture ends: $(tail -2 "$MNT/log")"

oracle "$T/wire.pcap" "$T/o"
# the IPv4 ones: all but the one to [fd96::1]
for k in all get post; do
	python3 -c '
import json, sys
try:
    reqs = json.load(open(sys.argv[1]))
except ValueError:
    reqs = []
print(json.dumps([h for h in reqs if b"Host: [fd96::1]" not in bytes.fromhex(h)]))' \
		"$T/o.$k.json" >"$T/o4.$k.json"
done
grep -v '^\[' "$T/o.lines" >"$T/o4.lines"
check_eq "requests tshark finds on the wire (IPv6)" 1 "$(grep -c '^\[' "$T/o.lines")"
say "tshark: $(njson "$T/o4.all.json") IPv4 requests ($(njson "$T/o4.get.json") GET, $(njson "$T/o4.post.json") POST), $(njson "$T/o.all.json") in all"
check_eq "requests tshark finds on the wire (IPv4)" 13 "$(njson "$T/o4.all.json")"
expect_reqs "ip/tcp/http/get/all" "$T/get.out" "$T/o4.get.json"
expect_reqs "ip/tcp/http/post/all" "$T/post.out" "$T/o4.post.json"
expect_reqs "ip/tcp/http/all" "$T/all.out" "$T/o4.all.json"
expect_reqs "v0/http/all (IPv4 and IPv6)" "$T/all6.out" "$T/o.all.json"
grep -qa 'Expect: 100-continue' "$T/post.out" || bad "post/all has no request with Expect: 100-continue"
grep -qa "$(head -c 100 "$T/upload")" "$T/post.out" || bad "post/all lacks the upload's body"
check_eq "http records (IPv4)" 13 "$(stat_of "$H" records)"
cut -d' ' -f2- "$T/text.out" | LC_ALL=C sort >"$T/text.lines"
cmp_text=$(diff "$T/o4.lines" "$T/text.lines")
[ -z "$cmp_text" ] || bad "text lines differ from tshark's requests (< tshark, > text):
$cmp_text"
odd=$(grep -cvE '^[0-9]+\.[0-9]{6} [0-9.]+:[0-9]+ > [0-9.]+:[0-9]+ [^ ]+ [^ ]+ [^ ]+$' "$T/text.out")
check_eq "text lines not of the form EPOCH.USEC CLIENT > SERVER METHOD HOST URI" 0 "$odd"
say "text: $(wc -l <"$T/text.out") lines"
for k in gap_bytes bad_requests truncated lost; do
	check_eq "ip/tcp/http $k" 0 "$(stat_of "$H" "$k")"
done
check_eq "drops at ip/tcp/http" 0 "$(stat_of "$H" drops)"
# tcpdump got each frame whole; so must the source (GSO on veth, GRO on a
# NIC: TCP frames far longer than the MTU): the longest frames the same
rd "$MNT/v0/pcap" 20 >"$T/v0.pcap"
maxlen() { tshark -r "$1" -T fields -e frame.cap_len -e frame.len 2>/dev/null | sort -n | tail -1; }
check_eq "the longest frame of v0/pcap (caplen, len), as tcpdump's" "$(maxlen "$T/wire.pcap")" "$(maxlen "$T/v0.pcap")"
pfs_umount

# ---- round 2: README's headline pipeline, live -----------------------------------
SCRUB="$REPO/examples/scrub-http.sh --filter"
veth_up
tcpdump_start "$T/wire2.pcap"
live_mount --workers 1 -s iface:v0 -g v0/ip/tcp/http/text
H=$MNT/v0/ip/tcp/http
C http://10.96.0.1/before-the-mv
wait_for 30 stat_is "$H" records -ge 1 || bad "the first request did not arrive"
mkdir "$MNT/httpclean" || bad "mkdir httpclean failed"
mv "$H/get" "$MNT/httpclean/" || bad "mv http/get httpclean/ failed"
# get/all, opened before anything is written into httpclean: it waits (as
# a FIFO before its writer), and holds only what httpclean gives it: the
# GET from before the mv once, scrubbed (cat http/all starts with what
# http holds), not get's own copy from before the mv.
reader clean "$MNT/httpclean/get/all"
timeout 120 cat "$H/all" | $SCRUB >"$MNT/httpclean/all" &
PIPE=$!
bg_add $PIPE
C http://10.96.0.1/index.html
C --path-as-is 'http://10.96.0.1/static/../../etc/passwd'
C -d 'a=1' http://10.96.0.1/login
C http://10.96.0.1/clean1 --next --path-as-is http://10.96.0.1/x/../dirty --next http://10.96.0.1/clean2
# (nginx answers a path above its root with 400 and closes: that one last)
raw 'GET /p1 HTTP/1.1\r\nHost: p\r\n\r\nGET /p2 HTTP/1.1\r\nHost: p\r\n\r\nGET /../p3 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n'
# 10 requests; httpclean/get: its own GET from before the mv, the same
# scrubbed, then 5 clean GETs
wait_for 30 stat_is "$H" records -ge 10 || bad "http has $(stat_of "$H" records) of 10 requests"
wait_for 30 stat_is "$MNT/httpclean/get" records -ge 7 || bad "httpclean/get has $(stat_of "$MNT/httpclean/get" records) of 7 records"
tcpdump_stop "$T/wire2.pcap"
ip -n "$srv" link del v0 || bad "ip link del v0 failed"
# http/all ends, so the pipeline's writer closes httpclean/all: get/all ends
wait_gone "$PIPE" 20 || bad "the pipeline into httpclean/all still runs after ip link del v0"
wait_gone "${READER[clean]}" 20 || bad "the reader of httpclean/get/all is still blocked"
oracle "$T/wire2.pcap" "$T/o2"
python3 -c '
import json, sys
try:
    reqs = [bytes.fromhex(h) for h in json.load(open(sys.argv[1]))]
except ValueError:
    reqs = []
print(json.dumps([r.hex() for r in reqs
                  if b".." not in r.split(b" ", 2)[1]]))' \
	"$T/o2.get.json" >"$T/o2.clean.json"
check_eq "clean GETs tshark finds" 6 "$(njson "$T/o2.clean.json")"
expect_reqs "httpclean/get/all (the headline pipeline)" "$T/clean.out" "$T/o2.clean.json"
if grep -qa '^GET [^ ]*\.\.' "$T/clean.out"; then bad "a request with .. reached httpclean/get"; fi
pfs_done
