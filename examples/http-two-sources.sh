#!/bin/bash
# Two interfaces composed into one `http` stage: the stage made under the
# first is linked under the second too (`ln -s`), so it reassembles and
# frames both interfaces' connections, and one reader sees all requests.
#
# usage: examples/http-two-sources.sh SOURCE1 SOURCE2
#   e.g. examples/http-two-sources.sh iface:eth0 iface:eth1
#        (or pcap:FILE sources, which end at their ends)
#
# Prints one text line per request, from either.
set -euo pipefail
[ $# -eq 2 ] || { sed -n 6,8p "$0" >&2; exit 2; }
. "$(dirname "$0")/mount.sh" "$1" "$2"

mkdir -p "$MNT/s1/http/text"
# s2 feeds the same stage: a second parent.  Each source's worker keeps
# its own TCP state in the stage, so their connections never mix.
ln -s ../s1/http "$MNT/s2/http"
cat "$MNT/s1/http/text/all"
