#!/bin/bash
# `make demo-live`: live capture without a NIC.  Two private network
# namespaces joined by a veth pair; pipesfs captures on one end (DPDK
# net_af_packet) while the other end sends pings, UDP datagrams and HTTP
# requests (to a python3 web server on the captured end); grep, tcpdump
# and cat read the live stages; then everything is torn down.
#
# usage: scripts/demo-live.sh [PIPESFS]   (root)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pipesfs=$(realpath "${1:-$repo/build/pipesfs}")
cap=pfsdemo$$c snd=pfsdemo$$s
mnt=$(mktemp -d /tmp/pipesfs-live.XXXXXX)
cleanup() {
	cd /
	[ -n "${sender:-}" ] && kill "$sender" 2>/dev/null
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
	ip netns del "$cap" 2>/dev/null || true
	ip netns del "$snd" 2>/dev/null || true
}
trap cleanup EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; eval "$@"; }

ip netns add "$cap"
ip netns add "$snd"
ip link add v0 netns "$cap" type veth peer name v1 netns "$snd"
ip -n "$cap" addr add 10.98.0.1/24 dev v0
ip -n "$snd" addr add 10.98.0.2/24 dev v1
ip -n "$cap" link set v0 up
ip -n "$snd" link set v1 up
echo "a veth pair: v0 (10.98.0.1, captured) <-> v1 (10.98.0.2, sending)"
ip netns exec "$cap" python3 -m http.server 80 --bind 10.98.0.1 >/dev/null 2>&1 &
server=$!

# pipesfs joins the capture namespace's network only, so its mount is
# visible here.
run "nsenter --net=/var/run/netns/$cap $pipesfs -s iface:v0 -g v0/ip/udp -g v0/ip/icmp -g v0/ip/tcp/http/text $mnt"
ip netns exec "$snd" bash -c 'for i in $(seq 1 40); do
	echo "hello pipesfs $i" > /dev/udp/10.98.0.1/5000
	ping -c 1 -W 1 10.98.0.1 > /dev/null
	curl -s -m 1 -o /dev/null "http://10.98.0.1/page$i"
	sleep 0.1
done' > /dev/null 2>&1 &
sender=$!
sleep 1
cd "$mnt"
run "ls v0 v0/ip"
run "timeout 2 grep --line-buffered -a -o 'hello pipesfs [0-9]*' v0/ip/udp/all | head -5 || true"
run "timeout 2 tcpdump -c 4 -nr v0/ip/icmp/pcap 2>/dev/null || true"
run "timeout 2 grep --line-buffered GET v0/ip/tcp/http/text/all | head -3 || true"
run "timeout 2 cat v0/ip/tcp/http/get/all | head -5 || true"
run "grep -E '^(records|drops|readers|rx_packets|rx_missed):' v0/stats"
wait "$sender" || true
sender=
cd /
run "fusermount3 -u $mnt"
