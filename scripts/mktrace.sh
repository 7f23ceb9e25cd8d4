#!/bin/bash
# Record a small HTTP trace for the demo: an nginx server and a curl client
# in two private network namespaces joined by a veth pair, captured with
# tcpdump on the client side.  Needs root, nginx, curl and tcpdump.
#
# usage: scripts/mktrace.sh OUT.pcap
set -euo pipefail
out=$(realpath -m "${1:?usage: mktrace.sh OUT.pcap}")
id=pfsdemo$$
srv=${id}s cli=${id}c work=$(mktemp -d)
cleanup() {
	[ -n "${dump:-}" ] && kill "$dump" 2>/dev/null && wait "$dump" 2>/dev/null
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

mkdir -p "$work/www" "$work/tmp"
chmod 755 "$work"
echo '<html><body>hello from pipesfs</body></html>' > "$work/www/index.html"
seq 1 400 | sed 's/^/line /' > "$work/www/numbers.txt"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $work/tmp;
	server {
		listen 10.99.0.1:80;
		listen [fd99::1]:80;
		root $work/www;
		location / { error_page 405 =200 \$uri; }
	}
}
CONF
ip netns exec "$srv" nginx -c "$work/nginx.conf"

ip netns exec "$cli" tcpdump -i v1 -s 0 -U -w "$out" 2>/dev/null &
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
sleep 1
kill "$dump"
wait "$dump" 2>/dev/null || true
dump=
echo "mktrace: wrote $(tcpdump -r "$out" 2>/dev/null | wc -l) packets to $out"
