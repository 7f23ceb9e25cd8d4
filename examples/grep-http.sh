#!/bin/bash
# Live grep of HTTP requests: one line per request, as it completes, from
# TCP reassembled on any port.
#
# usage: examples/grep-http.sh SOURCE [GREP-ARGS...]
#   SOURCE   iface:eth0 (live: runs until Ctrl-C), or pcap:FILE (ends at
#            the file's end)
#   e.g.     examples/grep-http.sh iface:eth0 -E 'POST|\.\./'
#
# Each line is `EPOCH.USEC CLIENT > SERVER METHOD HOST URI`.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 5,8p "$0" >&2; exit 2; }
source=$1
shift
. "$(dirname "$0")/mount.sh" "$source"

# The source's requests (http), one text line each (text below http).
# --line-buffered: each line is printed as soon as its request is whole.
mkdir -p "$MNT/s1/http/text"
grep --line-buffered "${@:-.}" "$MNT/s1/http/text/all"
