#!/bin/bash
# Record an HTTP trace: an nginx server and a curl client in two private
# network namespaces joined by a veth pair, captured with tcpdump on the
# client side.  Needs root, nginx, curl and tcpdump; -n also needs wrk.
#
#   scripts/mktrace.sh OUT.pcap             the demo trace: a few requests
#   scripts/mktrace.sh -n PACKETS OUT.pcap  the same, then wrk's load until
#                                           PACKETS are captured (the benchmarks)
#
# With -n, the load runs at most $MKTRACE_SECONDS (default 120) seconds; a
# machine too slow to reach PACKETS by then gets no OUT and exit status 1
# (a short trace would only be refused later by the benchmarks).
set -euo pipefail
usage="usage: mktrace.sh [-n PACKETS] OUT.pcap"
packets=
[ "${1:-}" = -n ] && { packets=${2:?$usage}; shift 2; }
out=$(realpath -m "${1:?$usage}")
limit=${MKTRACE_SECONDS:-120}
for t in nginx curl tcpdump ${packets:+wrk ethtool}; do
	command -v "$t" > /dev/null ||
		{ echo "mktrace: $t is not installed (make deps installs it)" >&2; exit 1; }
done
id=pfsdemo$$
srv=${id}s cli=${id}c work=$(mktemp -d)
cleanup() {
	[ -n "${dump:-}" ] && kill "$dump" 2>/dev/null && wait "$dump" 2>/dev/null
	[ -n "${load:-}" ] && kill $load 2>/dev/null && wait $load 2>/dev/null
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip link add v0 netns "$srv" type veth peer name v1 netns "$cli"
ip -n "$srv" addr add 10.99.0.1/24 dev v0
ip -n "$cli" addr add 10.99.0.2/24 dev v1
ip -n "$srv" -6 addr add fd99::1/64 dev v0 nodad
ip -n "$cli" -6 addr add fd99::2/64 dev v1 nodad
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$srv" link set v0 up
ip -n "$cli" link set v1 up
if [ -n "$packets" ]; then
	# Segments as a wire carries them: without this, veth passes 64 KiB
	# TSO frames, which tcpreplay (bench/live.sh) cannot send again.
	ip netns exec "$srv" ethtool -K v0 tso off gso off
	ip netns exec "$cli" ethtool -K v1 tso off gso off
fi

mkdir -p "$work/www" "$work/tmp"
chmod 755 "$work"
echo '<html><body>hello from pipesfs</body></html>' > "$work/www/index.html"
seq 1 400 | sed 's/^/line /' > "$work/www/numbers.txt"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $work/tmp;
	keepalive_requests 1000000;
	server {
		listen 10.99.0.1:80;
		listen [fd99::1]:80;
		root $work/www;
		location / { error_page 405 =200 \$uri; }
	}
}
CONF
ip netns exec "$srv" nginx -c "$work/nginx.conf"

# The demo's whole capture goes to the file as it comes (-U); the load's
# is cut at PACKETS by tcpdump itself (-c), in a buffer big enough to keep up.
ip netns exec "$cli" tcpdump -i v1 -s 0 -U -B 16384 ${packets:+-c "$packets"} \
	-w "$out.part" 2>/dev/null &
dump=$!
sleep 1
get() { ip netns exec "$cli" curl -s --max-time 3 "$@" > /dev/null || true; }
get http://10.99.0.1/
get http://10.99.0.1/numbers.txt
get -X POST -d 'user=demo&pass=secret' http://10.99.0.1/login
get -I http://10.99.0.1/index.html
get -g 'http://[fd99::1]/index.html'
get http://10.99.0.1/a http://10.99.0.1/b	# two requests on one connection
ip netns exec "$cli" ping -c 2 -W 1 10.99.0.1 > /dev/null || true
if [ -n "$packets" ]; then
	# Kept-alive connections for small replies, and a connection per
	# request for a larger one (handshakes, several segments, closes).
	wrk() { ip netns exec "$cli" wrk -t1 -d "${limit}s" "$@" > /dev/null 2>&1 & load+=" $!"; }
	load=
	wrk -c8 http://10.99.0.1/index.html
	wrk -c4 -H 'Connection: close' http://10.99.0.1/numbers.txt
	wrk -c4 'http://[fd99::1]/index.html'
	wait -n "$dump" $load || true	# tcpdump has its PACKETS, or time is up
	kill $load 2>/dev/null || true
	wait $load 2>/dev/null || true
	load=
fi
sleep 1
kill "$dump" 2>/dev/null || true
wait "$dump" 2>/dev/null || true
dump=
got=$(tcpdump -r "$out.part" 2>/dev/null | wc -l)
if [ -n "$packets" ] && [ "$got" -lt "$packets" ]; then
	echo "mktrace: only $got of $packets packets in ${limit} s: no trace written (raise MKTRACE_SECONDS?)" >&2
	rm -f "$out.part"
	exit 1
fi
mv "$out.part" "$out"
echo "mktrace: wrote $got packets to $out"
