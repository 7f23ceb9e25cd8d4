#!/bin/bash
# The README's first command: mount the bundled trace, build a small graph
# of filter stages, show what a few of them hold, and unmount.
#
# usage: scripts/demo.sh [PIPESFS] [TRACE]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pipesfs=${1:-$repo/build/pipesfs}
trace=${2:-$repo/examples/demo.pcap}
mnt=$(mktemp -d /tmp/pipesfs-demo.XXXXXX)
trap 'cd /; fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; eval "$@"; }

run "$pipesfs -s pcap:$trace,name=demo $mnt"
cd "$mnt"
run "ls -l demo"
run "mkdir -p demo/ip/tcp/port=80 demo/ip6 demo/arp"
run "tcpdump -nr demo/ip/tcp/port=80/pcap 2>/dev/null | head -8"
run "tcpdump -nr demo/ip6/pcap 2>/dev/null | head -4"
run "cat demo/ip/tcp/port=80/stats"
run "grep -a -c 'GET /' demo/ip/tcp/port=80/all"
run "mkdir notes && printf 'hello, pipes\\n' > notes/all && cat notes/all"
run "mv demo/ip/tcp/port=80 demo/ip/tcp/port=22; cat demo/ip/tcp/port=22/filter"
run "tail -n 3 log"
cd /
run "fusermount3 -u $mnt"
trap 'rmdir "$mnt"' EXIT
