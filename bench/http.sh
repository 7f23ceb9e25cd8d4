#!/bin/bash
# bench/http: every GET request of an HTTP trace, from start to EOF, by
# pipesfs and by the two tools a user would otherwise reach for, in one
# run, with the same number of requests found by each (issue 11):
#
#   pipesfs  mount `-s pcap:TRACE,name=b -g b/tcp/http`, then
#            `cat MNT/b/tcp/http/get/all`, timed from the mount command to
#            cat's EOF (mount and daemon start included), with pipesfs's
#            defaults (64 MiB rings).  The replay starts
#            at cat's open (no start=now), so nothing is read before the
#            clock's reader is there.  `tcp` right below the source takes
#            IPv4 and IPv6: `b/ip/tcp/http` would see only IPv4 (the bench
#            trace's IPv6 requests, a quarter of them, would be missed).
#   tshark   tshark -r TRACE -o tcp.reassemble_out_of_order:TRUE
#              -Y 'http.request.method == "GET"' -T fields -E occurrence=a
#              -e http.request.method -e http.request.uri
#   tcpflow  tcpflow -r TRACE -o DIR (a tmpfs directory), then grep over
#            the client-to-server flow files (those to port 80).
#
# Each command's requests are counted inside its timed run: GET request
# lines (^GET SP URI SP HTTP/1.x CR$) of cat's output and of each flow file
# (grep per file: flow files need not end in a newline), and the GET
# occurrences of each frame's http.request.method field for tshark (a frame
# with pipelined requests has several, comma-separated).  The counts must
# agree between runs and between tools, else an error says which differ and
# by how much, and no ratio is printed.  Per row: requests/s and ns per
# packet of the trace; ratios tshark/pipesfs (goal >= 30x) and
# tcpflow/pipesfs (goal >= 5x).
#
# The http stage's own cost: the source thread's replay time (log; lib.sh's
# replay_ns, start=now, nobody reading) through `-g b/tcp/http` minus that
# through `-g b/tcp`: what adding the stage to the graph costs.  It is put
# against the plain replay source -> ip -> tcp (`-g b/ip/tcp`, the whole
# replay: reading the trace and both stages) as a ratio; goal <= 3x.
#
# usage: bench/http.sh PIPESFS [TRACE]   (root; TRACE: HTTP traffic to
# port 80, at least 100000 packets: `make bench` records one with
# scripts/mktrace.sh -n 300000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/http.sh PIPESFS [TRACE]}
bench_need tshark tcpflow tcpdump
bench_trace "${2:-}"
bench_enough "$packets"

work=$(mktemp -d /dev/shm/pipesfs-bench.XXXXXX)
mnt=
cleanup() {
	[ -z "$mnt" ] || { fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null; rmdir "$mnt"; }
	rm -rf "$work"
}
trap cleanup EXIT

get_line=$'^GET [^ ]+ HTTP/1\\.[01]\r$'

# One run of each, timed: each prints its GET count on stdout, returns
# non-zero if a command failed, and leaves its errors in $work/err.
run_pipesfs() {
	mnt=$(mktemp -d /tmp/pipesfs-bench.XXXXXX)
	"$pipesfs" -s "pcap:$trace,name=b" -g b/tcp/http "$mnt" 2> "$work/err" || return 1
	cat "$mnt/b/tcp/http/get/all" 2> "$work/err" | grep -a -c -E "$get_line"
	local st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] && [ "${st[1]}" -le 1 ]
}
after_pipesfs() {	# untimed: unmount; the replay went over the whole trace
	local n
	n=$(sed -n 's/.*replay of .* ended after \([0-9]*\) packets.*/\1/p' "$mnt/log")
	fusermount3 -u "$mnt"
	rmdir "$mnt"
	mnt=
	[ "$n" = "$packets" ] || broken "pipesfs: the replay went over ${n:-no} packets of $packets"
}
run_tshark() {
	tshark -r "$trace" -o tcp.reassemble_out_of_order:TRUE \
		-Y 'http.request.method == "GET"' -T fields -E occurrence=a \
		-e http.request.method -e http.request.uri 2> "$work/err" |
	awk -F'\t' '{ n = split($1, m, ","); for (i = 1; i <= n; i++) c += m[i] == "GET" }
		END { print c + 0 }'
}
run_tcpflow() {
	mkdir "$work/flows"
	tcpflow -r "$trace" -o "$work/flows" > /dev/null 2> "$work/err" || return 1
	# grep's status is 1 for a flow without a request line: a failure
	# shows as a count that differs.
	{ find "$work/flows" -type f \( -name '*-*.00080' -o -name '*-*.00080c[0-9]*' \) \
		-exec grep -a -h -c -E "$get_line" {} + || true; } | awk '{ c += $1 } END { print c + 0 }'
}
after_tcpflow() { rm -rf "$work/flows"; }

# measure NAME: best of $runs runs of run_NAME (then after_NAME, untimed):
# sets t_NAME (ns) and n_NAME (its GET count, the same in every run).
measure() {
	local name=$1 b=0 n= c t0 t1
	for _ in $(seq "$runs"); do
		t0=$(now)
		"run_$name" > "$work/count" ||
			broken "$name failed: $(tail -n 3 "$work/err" | tr '\n' ' ')"
		t1=$(now)
		c=$(cat "$work/count")
		! declare -F "after_$name" > /dev/null || "after_$name"
		[ -z "$n" ] || [ "$c" = "$n" ] || broken "$name found $n GET requests in one run, $c in another"
		n=$c
		[ $b = 0 ] || [ $((t1 - t0)) -lt $b ] && b=$((t1 - t0))
	done
	printf -v "t_$name" %s "$b"
	printf -v "n_$name" %s "$n"
}

measure pipesfs
measure tshark
measure tcpflow
t_iptcp=$(replay_ns "$pipesfs" "$trace" -g b/ip/tcp) || exit 1
t_tcp=$(replay_ns "$pipesfs" "$trace" -g b/tcp) || exit 1
t_http=$(replay_ns "$pipesfs" "$trace" -g b/tcp/http) || exit 1

span=
command -v capinfos > /dev/null &&
	span=$(capinfos -a -e -S -r "$trace" 2>/dev/null |
	       awk '/^First packet time/ {f = $4} /^Last packet time/ {l = $4} END {if (l) printf "%.1f", l - f}')

awk -v p="$packets" -v span="$span" \
    -v tp="$t_pipesfs" -v np="$n_pipesfs" -v tt="$t_tshark" -v nt="$n_tshark" \
    -v tf="$t_tcpflow" -v nf="$n_tcpflow" \
    -v iptcp="$t_iptcp" -v tcp="$t_tcp" -v http="$t_http" 'BEGIN {
	printf "bench/http: every GET request of %d packets%s, start to EOF; best of '"$runs"' runs\n\n", p,
		span == "" ? "" : sprintf(" (%s s of traffic)", span)
	printf "%-52s %9s %11s %10s\n", "case", "GETs", "requests/s", "ns/packet"
	row("pipesfs: mount; cat b/tcp/http/get/all | grep -c", np, tp)
	row("tshark -Y '\''http.request.method == \"GET\"'\'' -T fields", nt, tt)
	row("tcpflow -r TRACE -o DIR; grep -c over flows to :80", nf, tf)
	printf "\n%-52s %9s %11s %10.0f\n", "replay (source thread): source -> ip -> tcp", "", "", iptcp / p
	printf "%-52s %9s %11s %10.0f\n", "replay: source -> tcp", "", "", tcp / p
	printf "%-52s %9s %11s %10.0f\n", "replay: source -> tcp -> http", "", "", http / p
	printf "%-52s %9s %11s %10.0f\n", "  the http stage alone (difference of the two)", "", "", (http - tcp) / p
	if (span != "" && span < 10)
		printf "\nnote: the trace spans %s s, less than the 10 s of load issue 11 asks for\n", span
}
function row(what, n, t) { printf "%-52s %9d %11.0f %10.0f\n", what, n, n / (t / 1e9), t / p }'

# Identical counts, or no ratio.
if [ "$n_pipesfs" != "$n_tshark" ] || [ "$n_pipesfs" != "$n_tcpflow" ]; then
	broken "the tools found different numbers of GET requests, so no ratio: pipesfs $n_pipesfs, tshark $n_tshark ($((n_tshark - n_pipesfs)) more than pipesfs), tcpflow $n_tcpflow ($((n_tcpflow - n_pipesfs)) more than pipesfs)"
fi
[ "$n_pipesfs" -gt 0 ] || broken "no GET request found in $trace: not an HTTP trace?"

awk -v tp="$t_pipesfs" -v tt="$t_tshark" -v tf="$t_tcpflow" \
    -v iptcp="$t_iptcp" -v tcp="$t_tcp" -v http="$t_http" 'BEGIN {
	printf "\nratios (the same requests found by all three):\n"
	goal("  tshark  / pipesfs, whole run", tt / tp, ">=", 30)
	goal("  tcpflow / pipesfs, whole run", tf / tp, ">=", 5)
	goal("  http stage alone / replay source -> ip -> tcp", (http - tcp) / iptcp, "<=", 3)
}
function goal(what, r, op, g) {
	printf "%-50s %7.2fx  (goal %s %dx: %s)\n", what, r, op, g,
		(op == ">=" ? r >= g : r <= g) ? "met" : "NOT met"
}'
