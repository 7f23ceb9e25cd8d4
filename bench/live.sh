#!/bin/bash
# bench/live: capture on a veth pair in private namespaces while tcpreplay
# sends a trace as fast as it can (--topspeed).  Side by side, in one run:
#
#   pipesfs -f --workers N -s iface:vb MNT, N = 1, 2 and 4, with
#            `cat MNT/vb/pcap > FILE` reading (FILE in /dev/shm, so that
#            what the reader got can be counted), and N = 1 with no reader
#            (capturing into its ring, as tcpdump -w /dev/null captures
#            into nothing: the capture's own cost);
#   tcpdump -i vb -w /dev/null;
#   netsniff-ng --in vb --out /dev/null -S 16MiB (if installed).
#
# Each row is run $runs times (default 5; runs=N to change), the rows
# taking turns so that a busy moment of the machine falls on all of them;
# each row prints the median and, in brackets, the spread (min-max) over
# its runs of: packets captured of those sent, and CPU seconds per million
# packets captured.  CPU time is read in nanoseconds (the process's CPU
# clock: all its threads, exited ones included) from just before the
# replay to the end of the capture: 2 s after the replay (libpcap hands
# tcpdump a partly filled block only at its 1 s timeout) and, for pipesfs,
# until its counts have settled.  For pipesfs: the daemon alone (the whole
# process: capture workers and the FUSE threads serving the reader), and
# the daemon plus the `cat` reader.
#
# --workers N is capped by the daemon to the CPUs it may use (it says so in
# its log): the row says which count ran, as the source's stats give it
# (`workers:`).
#
# Accounting, for every pipesfs run, once traffic has stopped: packets
# sent (tcpreplay), received by vb (`/proc/net/dev` delta: rx_packets and
# rx dropped), stats `kernel_packets`, `records`, `kernel_drops`,
# `kernel_freezes`, what the reader got (records in its pcap stream) and its
# drops (stats `reader_drops`), and whether
#   sent (+ tcpreplay's ENOBUFS retries) == vb rx + vb rx dropped,
#   vb rx == kernel_packets  (every frame vb took reached the sockets),
#   kernel_packets == records + kernel_drops,
#   records == reader_got + reader_drops.
# A run whose sums are not all exact fails the benchmark (packets lost
# without a count).
#
# Ratios (pipesfs CPU per packet / tcpdump's, medians) and the goals are
# printed only from rows that measured.  A row run that measured nothing
# (a tool that did not start, a daemon that died, a capture under a tenth
# of what was sent, a replay that did not send the whole trace) is an
# error: said, kept out of the figures, and the exit status is 1.
#
# usage: bench/live.sh PIPESFS [TRACE] [LOOPS]   (root; TRACE as for
# bench/fs.sh, sent LOOPS times per run, default 1)
set -euo pipefail
runs=${runs:-5}
. "$(dirname "$0")/lib.sh"
pipesfs=${1:?usage: bench/live.sh PIPESFS [TRACE] [LOOPS]}
bench_need tcpdump tcpreplay perl
bench_trace "${2:-}"
loops=${3:-1}
bench_enough $((packets * loops))
pfs_workers=(1 2 4)
settle=2	# s after the replay: libpcap's 1 s timeout, and a margin

snd=pfsb$$s cap=pfsb$$c
work=$(mktemp -d /dev/shm/pipesfs-live.XXXXXX)
mnt= dpid= rpid= opid=
cleanup() {
	[ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
	[ -z "$opid" ] || kill -KILL "$opid" 2>/dev/null || true
	if [ -n "$mnt" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
		[ -z "$dpid" ] || kill "$dpid" 2>/dev/null || true
		rmdir "$mnt" 2>/dev/null || true
	fi
	rm -rf "$work"
	ip netns del "$snd" 2>/dev/null || true
	ip netns del "$cap" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$snd"
ip netns add "$cap"
# No IPv6 on the pair: the kernel's own router and neighbour solicitations
# would be captured on top of what was sent.
for ns in "$snd" "$cap"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
done
ip link add va netns "$snd" type veth peer name vb netns "$cap"
ip -n "$snd" link set va up
ip -n "$cap" link set vb up

# cpu_ns PID...: each process's CPU time in ns (its CPU clock, as
# clock_getcpuclockid gives it: every thread, live or exited), or - for a
# process that is gone.
cpu_ns() {
	perl -MTime::HiRes=clock_gettime -e 'for (@ARGV) {
		my $c; { use integer; $c = ((~($_ + 0)) << 3) | 2; }
		my $t = kill(0, $_) ? clock_gettime($c) : -1;
		print $t < 0 ? "-\n" : sprintf("%.0f\n", $t * 1e9) }' "$@"
}

# threads PID: "TID COMM NS" per thread of PID (its CPU time so far, from
# schedstat), for the daemon's CPU by thread (threads that exit in the
# window are missing from it: a breakdown, not the total).
threads() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(cat "$t/comm" 2>/dev/null) $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
	done 2>/dev/null || true
}
# by_thread BEFORE AFTER: "WORKERS PARKER OTHER" ns between the snapshots:
# the capture workers (pfs-worker*), the thread waking readers
# (pfs-parker), and the rest (FUSE threads serving reads, main, ...).
by_thread() {
	awk 'NR == FNR {t0[$1] = $3; next}
	     NF == 3 {d = $3 - ($1 in t0 ? t0[$1] : 0)
		if ($2 ~ /^pfs-worker/) w += d; else if ($2 == "pfs-parker") p += d; else o += d}
	     END {printf "%d %d %d\n", w, p, o}' "$1" "$2"
}

# vb_counts: "RX_PACKETS RX_DROPPED" of vb (/proc/net/dev's drop field:
# rx_dropped + rx_missed_errors).
vb_counts() {
	ip netns exec "$cap" cat /proc/net/dev | awk '$1 == "vb:" {print $3, $5}'
}

# pcap_count FILE: the records in a pcap stream, whole ones only.
pcap_count() {
	perl -e 'open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
		read($f, my $h, 24) == 24 or do { print "0\n"; exit };
		my $m = unpack("V", $h);
		my $le = $m == 0xa1b2c3d4 || $m == 0xa1b23c4d;
		my $n = 0;
		while (read($f, my $r, 16) == 16) {
			my $len = unpack($le ? "V" : "N", substr($r, 8, 4));
			last if read($f, my $b, $len) != $len;
			$n++;
		}
		print "$n\n"' "$1"
}

# replay: sends the trace; sets $sent (tcpreplay's successful packets),
# $retried (its ENOBUFS retries: each a frame the kernel dropped on the
# way, then sent again) and $pps; returns 1 when the replay did not send
# the whole trace.
replay() {
	local out
	out=$(ip netns exec "$snd" tcpreplay -q --topspeed --loop="$loops" -i va "$trace" 2>&1) || true
	sent=$(awk '/Successful packets:/ {print $3}' <<< "$out")
	retried=$(awk '/Retried packets \(ENOBUFS\):/ {print $4}' <<< "$out")
	pps=$(awk '/^Rated:/ {for (i = 1; i < NF; i++) if ($(i + 1) == "pps") print $i}' <<< "$out")
	sent=${sent:-0} retried=${retried:-0} pps=${pps:-0}
	if [ "$sent" != $((packets * loops)) ]; then
		why="tcpreplay sent $sent of $((packets * loops)) packets ($(tail -n 1 <<< "$out"))"
		return 1
	fi
}

# One line per run in $work/rows, tab-separated:
#   ROW RUN ok SENT CAPTURED CPU_NS PPS [READER_GOT CPU_WITH_READER_NS
#     WORKERS EXACT CPU_NS_WORKERS CPU_NS_PARKER CPU_NS_REST IDLE_NS_PER_S]
#   ROW RUN broken WHY
status=0
record() { local IFS=$'\t'; echo "$*" >> "$work/rows"; }
run_broken() {	# ROW RUN WHY
	echo "$bench: error: $1, run $2: $3" >&2
	record "$1" "$2" broken "$3"
	status=1
}
# enough CAPTURED: a capture of at least a tenth of what was sent measured
# something; under that, the tool did not start or did not flush.
enough() { [ -n "$1" ] && [ "$1" -ge $((sent / 10)) ] && [ "$sent" -gt 0 ]; }

stat_of() { awk -v k="$1:" '$1 == k {print $2; exit}' "$work/stats"; }

# pipesfs_run N RUN [none]: one run of the daemon with --workers N, read
# by cat (or by no one).
pipesfs_run() {
	local n=$1 r=$2 reader=${3:-cat} row="pipesfs --workers $1" v0 v1 c0 c1 i0 i1 t_end size last kp rec kd got rd eff rc
	[ "$reader" = cat ] || row="$row, no reader"
	local st_if st_kern st_rec st_vb exact v0rx v0dr v1rx v1dr why=
	: > "$work/daemon.err"
	mnt=$(mktemp -d /tmp/pipesfs-live.XXXXXX)
	nsenter --net="/var/run/netns/$cap" "$pipesfs" -f --workers "$n" -s iface:vb "$mnt" \
		> "$work/daemon.err" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do	# 10 s at most
		[ -r "$mnt/vb/stats" ] && break
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	if ! cat "$mnt/vb/stats" > "$work/stats" 2>/dev/null; then
		pipesfs_end
		run_broken "$row" "$r" "the daemon did not start within 10 s ($(tail -n 2 "$work/daemon.err" | tr '\n' ' '))"
		return
	fi
	eff=$(stat_of workers)
	[ -n "$capped" ] || capped=$(grep -o -e '--workers [0-9]*: capped to [0-9]*.*' "$mnt/log" || true)
	: > "$work/got.pcap"
	if [ "$reader" = cat ]; then
		cat "$mnt/vb/pcap" > "$work/got.pcap" 2> "$work/cat.err" &
		rpid=$!
		for _ in $(seq 50); do	# 5 s at most for cat's open
			cat "$mnt/vb/stats" > "$work/stats" 2>/dev/null || break
			[ "$(stat_of readers)" = 1 ] && break
			sleep 0.1
		done
	fi
	# The daemon's CPU time with no traffic, over 1 s: what waiting costs.
	i0=$(cpu_ns "$dpid")
	sleep 1
	i1=$(cpu_ns "$dpid")
	v0=$(vb_counts)
	threads "$dpid" > "$work/threads0"
	c0=$(cpu_ns "$dpid" $rpid | paste -sd ' ')
	if ! replay; then
		pipesfs_end
		run_broken "$row" "$r" "$why"
		return
	fi
	sleep "$settle"
	# Settled: the daemon's counts add up (kernel_packets == records +
	# kernel_drops) and stay, and cat's output stops growing; 5 s at most.
	last= t_end=$(($(now) + 5000000000))
	while :; do
		kill -0 "$dpid" 2>/dev/null || break
		cat "$mnt/vb/stats" > "$work/stats" 2>/dev/null || break
		size=$(stat -c %s "$work/got.pcap")
		kp=$(stat_of kernel_packets) rec=$(stat_of records) kd=$(stat_of kernel_drops)
		if [ -n "$kp" ] && [ -n "$rec" ] && [ -n "$kd" ] && [ "$kp" = $((rec + kd)) ] &&
		   [ "$last" = "$kp $rec $size" ]; then
			break
		fi
		last="$kp $rec $size"
		[ "$(now)" -lt "$t_end" ] || break
		sleep 0.1
	done
	c1=$(cpu_ns "$dpid" $rpid | paste -sd ' ')
	threads "$dpid" > "$work/threads1"
	v1=$(vb_counts)
	if ! kill -0 "$dpid" 2>/dev/null; then
		pipesfs_end
		run_broken "$row" "$r" "the daemon exited during the run (status $rc$(tail -n 3 "$work/daemon.err" | tr '\n' ' ' | sed 's/^./: &/'))"
		return
	fi
	if [ -n "$rpid" ]; then
		kill "$rpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
		rpid=
	fi
	got=$(pcap_count "$work/got.pcap")
	rm -f "$work/got.pcap"
	pipesfs_end
	[ "$rc" = 0 ] || why="the daemon $([ "$rc" = killed ] && echo "did not exit within 5 s of its unmount" ||
		echo "ended with status $rc at its unmount")"

	rec=$(stat_of records) rd=$(awk '$1 == "reader_drops:" {print $2}' "$work/stats")
	kp=$(stat_of kernel_packets) kd=$(stat_of kernel_drops)
	read -r v0rx v0dr <<< "$v0"
	read -r v1rx v1dr <<< "$v1"
	local vrx=$((v1rx - v0rx)) vdr=$((v1dr - v0dr))
	yn() { if eval "$1"; then echo yes; else echo no; fi; }
	st_if=$(yn '[ $((sent + retried)) = $((vrx + vdr)) ]')
	st_vb=$(yn '[ -n "$kp" ] && [ "$vrx" = "$kp" ]')
	st_kern=$(yn '[ -n "$kp" ] && [ -n "$kd" ] && [ "$kp" = $((rec + kd)) ]')
	st_rec=$(yn '[ -n "$rd" ] && [ "$rec" = $((got + rd)) ]')
	[ "$reader" = cat ] || st_rec=yes	# nobody read: nothing to add up
	exact=$(yn '[ $st_if$st_vb$st_kern$st_rec = yesyesyesyes ]')
	local workers
	workers=$(awk -F': ' '/^worker[0-9]+_packets:/ {printf "%s%s", s, $2; s = "/"}' "$work/stats")
	local kdw
	kdw=$(awk -F': ' '/^worker[0-9]+_kernel_drops:/ {printf "%s%s", s, $2; s = "/"}' "$work/stats")
	local -a c0a c1a
	read -r -a c0a <<< "$c0"
	read -r -a c1a <<< "$c1"
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" \
		"$n$([ "$reader" = cat ] || echo ",none")" "$r" "${eff:--}" "$sent" "$retried" "$vrx" "$vdr" "${kp:--}" "$rec" "${kd:--}" \
		"$(stat_of kernel_freezes || true)" "$got" "${rd:--}" "$st_if" "$st_vb" "$st_kern" "$st_rec" "$exact" \
		"${workers:--}" "${kdw:--}" >> "$work/accounts"
	[ "$exact" = yes ] || { status=1; inexact=$((inexact + 1)); }
	if [ -n "$why" ]; then
		run_broken "$row" "$r" "$why"
	elif ! enough "$rec"; then
		run_broken "$row" "$r" "captured ${rec:-nothing} of $sent packets sent: measured nothing"
	elif [ "$reader" = cat ] && ! enough "$got"; then
		run_broken "$row" "$r" "cat got $got of the $rec records: its reads failed? ($(tail -n 1 "$work/cat.err"))"
	elif [ "${c0a[0]}" = - ] || [ "${c1a[0]}" = - ] || [ "${c1a[1]:-}" = - ] || [ "$i0" = - ] || [ "$i1" = - ]; then
		run_broken "$row" "$r" "could not read the CPU time of the daemon or of cat"
	elif [ "$reader" != cat ]; then
		record "$row" "$r" ok "$sent" "$rec" $((c1a[0] - c0a[0])) "$pps"
	else
		record "$row" "$r" ok "$sent" "$rec" $((c1a[0] - c0a[0])) "$pps" "$got" \
			$((c1a[0] - c0a[0] + c1a[1] - c0a[1])) "${eff:--}" "$exact" \
			$(by_thread "$work/threads0" "$work/threads1") $((i1 - i0))
	fi
}
# pipesfs_end: stop the reader and unmount; sets $rc to the daemon's exit
# status (a signal shows as 128 + its number), or "killed" when it was
# still there 5 s after the unmount.
pipesfs_end() {
	if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; rpid=; fi
	fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
	for _ in $(seq 50); do	# 5 s at most
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	rc=0
	if kill -KILL "$dpid" 2>/dev/null; then
		wait "$dpid" 2>/dev/null || true
		rc=killed
	else
		wait "$dpid" 2>/dev/null || rc=$?
	fi
	dpid=
	rmdir "$mnt" 2>/dev/null || true
	mnt=
	rm -f "$work/got.pcap"
}

# other_run ROW RUN READY COUNT_AWK COMMAND...: a capturing tool in the
# capture namespace; READY is what it prints once capturing, COUNT_AWK finds
# how many packets it captured in what it printed at exit.
other_run() {
	local row=$1 r=$2 ready=$3 count=$4 c0 c1 n
	shift 4
	ip netns exec "$cap" "$@" > "$work/out" 2>&1 &
	opid=$!
	for _ in $(seq 100); do	# 10 s at most
		grep -q "$ready" "$work/out" && break
		kill -0 "$opid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "$ready" "$work/out"; then
		kill "$opid" 2>/dev/null || true
		wait "$opid" 2>/dev/null || true
		opid=
		n=$(tr -d '\r' < "$work/out" | grep . | tail -1) || true
		run_broken "$row" "$r" "did not start within 10 s${n:+ (it said: $n)}"
		return
	fi
	c0=$(cpu_ns "$opid")
	if ! replay; then
		kill -KILL "$opid" 2>/dev/null || true
		wait "$opid" 2>/dev/null || true
		opid=
		run_broken "$row" "$r" "$why"
		return
	fi
	sleep "$settle"
	c1=$(cpu_ns "$opid")
	kill -INT "$opid"
	for _ in $(seq 50); do	# 5 s at most: a hung tool must not hang the run
		kill -0 "$opid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -KILL "$opid" 2>/dev/null; then
		wait "$opid" 2>/dev/null || true
		opid=
		run_broken "$row" "$r" "did not stop on SIGINT"
		return
	fi
	wait "$opid" 2>/dev/null || true
	opid=
	n=$(tr -d '\r' < "$work/out" | awk "$count")
	if ! enough "$n"; then
		run_broken "$row" "$r" "captured ${n:-nothing} of $sent packets sent: measured nothing (it said: $(tr -d '\r' < "$work/out" | grep . | tail -n 3 | tr '\n' ' '))"
	elif [ "$c0" = - ] || [ "$c1" = - ]; then
		run_broken "$row" "$r" "could not read its CPU time"
	else
		record "$row" "$r" ok "$sent" "$n" $((c1 - c0)) "$pps"
	fi
}
tcpdump_run() {
	other_run "tcpdump -i vb -w /dev/null" "$1" "listening on" '/packets captured/ {print $1}' \
		tcpdump -i vb -w /dev/null
}
# netsniff-ng's default ring, sized from the link's speed, took seconds of
# system time to set up here, and the replay was over before it captured
# (0%): -S 16MiB.  Captured: what its ring handed over, less what was still
# in it at exit.
netsniff_run() {
	other_run "netsniff-ng --in vb -S 16MiB" "$1" "Running" \
		'/packets passed filter/ {p = $1} /unread on exit/ {u = substr($4, 2)} END {if (p != "") print p - u}' \
		netsniff-ng --in vb --out /dev/null --silent -S 16MiB
}
have_netsniff=
command -v netsniff-ng > /dev/null && have_netsniff=1

: > "$work/rows"
: > "$work/accounts"
capped= inexact=0
load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now)
for r in $(seq "$runs"); do
	for n in "${pfs_workers[@]}"; do
		pipesfs_run "$n" "$r"
	done
	pipesfs_run 1 "$r" none
	tcpdump_run "$r"
	[ -z "$have_netsniff" ] || netsniff_run "$r"
done
t_all=$((($(now) - t_start) / 1000000000))

printf "bench/live: %s sent %d time(s) (%d packets) by tcpreplay --topspeed over a veth pair\n" \
	"$trace" "$loops" $((packets * loops))
printf "%d runs per row, rows taking turns (%d s in all); median [min-max] over the runs that measured\n" \
	"$runs" "$t_all"
printf "this machine: %d CPUs, load average %s before the runs" "$(nproc)" "$load"
if [ -n "$capped" ]; then
	printf "; the daemon capped --workers: \"%s\"\n" "$capped"
else
	printf "\n"
fi
echo

# The table: per row, median [min-max] of captured/sent and CPU s/Mpkt.
awk -F'\t' -v runs="$runs" -v netsniff="$have_netsniff" '
function med(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
function hi(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
# A percentage cut, never rounded, to 3 decimals: 100.000 only when whole.
function pct(c, s) { return int(100000 * c / s) / 1000 }
function fig(a, n, fmt) {
	return sprintf(fmt " [" fmt "-" fmt "]", med(a, n), lo(a, n), hi(a, n))
}
$3 == "ok" {
	k = $1; if (!(k in seen)) { seen[k] = 1; order[++nrows] = k }
	i = ++cnt[k]
	cap_pct[k, i] = pct($5, $4); cpu[k, i] = $6 / 1e9 / $5 * 1e6
	if (NF > 7) {
		rcap[k, i] = pct($8, $4); rcpu[k, i] = $9 / 1e9 / $8 * 1e6
		tw[k, i] = $12 / 1e9 / $5 * 1e6; tp[k, i] = $13 / 1e9 / $5 * 1e6; to[k, i] = $14 / 1e9 / $5 * 1e6
		idle[k, i] = $15 / 1e6
		if (!(k in eff)) eff[k] = $10
		else if (index("," eff[k] ",", "," $10 ",") == 0) eff[k] = eff[k] "," $10
	}
}
$3 == "broken" { k = $1; if (!(k in seen)) { seen[k] = 1; order[++nrows] = k }; bad[k]++ }
END {
	printf "%-38s %-8s %25s %24s\n", "capture", "workers", "captured, % of sent", "CPU s per Mpkt captured"
	for (o = 1; o <= nrows; o++) {
		k = order[o]; n = cnt[k]
		label = k
		if (k ~ /^pipesfs/) label = k ", daemon"
		wk = (k in eff) ? eff[k] : ""
		if (k ~ /^pipesfs/) { split(k, p, " "); if (wk != "" && wk != p[3]) wk = wk " (of " p[3] ")" }
		if (n == 0) { printf "%-38s %-8s %s\n", label, wk, "error: no run measured (see above)"; continue }
		for (i = 1; i <= n; i++) { a[i] = cap_pct[k, i]; b[i] = cpu[k, i] }
		note = bad[k] ? sprintf("  (%d of %d runs broken)", bad[k], n + bad[k]) : ""
		printf "%-38s %-8s %25s %24s%s\n", label, wk, fig(a, n, "%.3f"), fig(b, n, "%.3f"), note
		if (k ~ /^pipesfs/ && k !~ /no reader/) {
			for (i = 1; i <= n; i++) { a[i] = rcap[k, i]; b[i] = rcpu[k, i] }
			printf "%-38s %-8s %25s %24s\n", "  daemon + cat vb/pcap (what cat got)", "", fig(a, n, "%.3f"), fig(b, n, "%.3f")
			for (i = 1; i <= n; i++) { a[i] = tw[k, i]; b[i] = tp[k, i]; c[i] = to[k, i]; d[i] = idle[k, i] }
			printf "  daemon by thread, CPU s/Mpkt: workers %.3f, pfs-parker %.3f, the rest (FUSE, main) %.3f\n",
				med(a, n), med(b, n), med(c, n)
			printf "  daemon with no traffic: %.1f ms of CPU per s\n", med(d, n)
		}
	}
	if (!netsniff) printf "%-38s %s\n", "netsniff-ng", "not measured: not installed (make deps installs it)"
	printf "\nper run (captured/sent, CPU s per Mpkt, @ the rate tcpreplay reached in packets/s):\n"
	for (o = 1; o <= nrows; o++) {
		k = order[o]; line = ""
		for (i = 1; i <= nrun[k]; i++)
			line = line sprintf("  #%d %s", i, runfig[k, i])
		printf "  %-36s%s\n", (k ~ /^pipesfs/ ? k ", daemon" : k), line
	}
}
$3 == "ok" { nrun[$1]++; runfig[$1, $2] = sprintf("%d/%d %.3f @%dk", $5, $4, $6 / 1e9 / $5 * 1e6, $7 / 1000) }
$3 == "broken" { nrun[$1]++; runfig[$1, $2] = "error" }' "$work/rows"

echo
echo "pipesfs accounting, every run, once traffic stopped (if: sent + ENOBUFS retries == vb rx + rx dropped;"
echo "vb: vb rx == kernel_packets; kern: kernel_packets == records + kernel_drops; rdr: records == reader got + reader drops):"
awk -F'\t' 'BEGIN {
	printf "%-9s %4s %8s %5s %8s %6s %9s %8s %7s %6s %8s %6s %4s %3s %4s %4s %5s  %s\n", "workers", "ran", "sent", "retry",
		"vb_rx", "vb_drp", "kern_pkts", "records", "kdrops", "frzs", "rdr_got", "rdrops",
		"if", "vb", "kern", "rdr", "exact", "per worker: packets (kernel drops)"
}
{
	printf "%-9s %4s %8s %5s %8s %6s %9s %8s %7s %6s %8s %6s %4s %3s %4s %4s %5s  %s (%s)\n", $1 " #" $2, $3, $4, $5,
		$6, $7, $8, $9, $10, ($11 == "" ? "-" : $11), $12, $13, $14, $15, $16, $17, $18, $19, $20
}' "$work/accounts"

# Ratios and goals, from the rows that measured.
echo
awk -F'\t' -v inexact="$inexact" -v nacc="$(wc -l < "$work/accounts")" '
function med(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$3 == "ok" {
	k = $1; if (!(k in cnt) && k ~ /^pipesfs/) pfs[++np] = k
	i = ++cnt[k]
	cpu[k, i] = $6 / 1e9 / $5 * 1e6
	full[k] += ($5 == $4)
	if (NF > 7) { rcpu[k, i] = $9 / 1e9 / $8 * 1e6; rfull[k] += ($8 == $4); w[k] = $10 }
}
function m(arr, k,    a, i) { for (i = 1; i <= cnt[k]; i++) a[i] = arr[k, i]; return med(a, cnt[k]) }
END {
	t = "tcpdump -i vb -w /dev/null"
	if (!cnt[t]) {
		print "no ratio: tcpdump measured nothing"
	} else {
		tc = m(cpu, t)
		printf "ratios, CPU per packet (medians), pipesfs / tcpdump (%.3f s/Mpkt):\n", tc
		for (i = 1; i <= np; i++) {
			k = pfs[i]; d = m(cpu, k) / tc
			if (k ~ /no reader/) {
				printf "  %-44s daemon %5.2fx (goal <= 1x: %s)\n", k, d, d <= 1 ? "met" : "NOT met"
				continue
			}
			dr = m(rcpu, k) / tc
			printf "  %-44s daemon %5.2fx   daemon + cat %5.2fx\n", k " (ran " w[k] ")", d, dr
		}
	}
	print ""
	print "goals:"
	if (cnt[t] && full[t] == cnt[t]) {
		for (i = 1; i <= np; i++) {
			k = pfs[i]
			if (k ~ /no reader/)
				printf "  100%% captured where tcpdump captures 100%%, %-32s %d of %d runs: %s\n",
					k ":", full[k], cnt[k], full[k] == cnt[k] ? "met" : "NOT met"
			else
				printf "  100%% captured where tcpdump captures 100%%, %-32s %d of %d runs (cat got all: %d): %s\n",
					k ":", full[k], cnt[k], rfull[k], (full[k] == cnt[k] && rfull[k] == cnt[k]) ? "met" : "NOT met"
		}
	} else if (cnt[t]) {
		printf "  100%% captured where tcpdump captures 100%%: not judged, tcpdump captured 100%% in %d of %d runs\n", full[t], cnt[t]
	}
	printf "  accounting exact in every run: %d of %d runs: %s\n", nacc - inexact, nacc,
		(inexact == 0 && nacc > 0) ? "met" : "NOT met"
}' "$work/rows"

# The results (BENCH_RESULTS): per run that measured, paired by run number.
while IFS=$'\t' read -r row r st sent capd cpu _ got cpur _; do
	[ "$st" = ok ] || continue
	sample "cap:$row" "$r" "$(per "$capd" "$sent" 100)"
	sample "cpu:$row" "$r" "$(per "$cpu" "$capd" 0.001)"	# CPU s per Mpkt: ns/pkt / 1000
	[ -z "$got" ] || sample "rcpu:$row" "$r" "$(per "$cpur" "$got" 0.001)"
done < "$work/rows"
td="tcpdump -i vb -w /dev/null"
ns="netsniff-ng --in vb -S 16MiB"
cmd_td="ip netns exec CAP tcpdump -i vb -w /dev/null"
cmd_ns="ip netns exec CAP netsniff-ng --in vb --out /dev/null --silent -S 16MiB"
send="while ip netns exec SND tcpreplay -q --topspeed --loop=$loops -i va TRACE sends"
cpu_note="CPU time of the process (all its threads) from before the replay to $settle s after it"
for n in "${pfs_workers[@]}" none; do
	if [ "$n" = none ]; then
		row="pipesfs --workers 1, no reader"
		what="--workers 1, no reader"
		cmd="nsenter --net=CAP pipesfs -f --workers 1 -s iface:vb MNT"
	else
		row="pipesfs --workers $n"
		what="--workers $n, cat reading"
		cmd="nsenter --net=CAP pipesfs -f --workers $n -s iface:vb MNT; cat MNT/vb/pcap > /dev/shm/FILE"
	fi
	ran=$(awk -F'\t' -v k="$row" '$1 == k && $3 == "ok" && NF > 7 && !s[$10]++ {printf "%s%s", c, $10; c = ","}' "$work/rows")
	eff=$([ -z "$ran" ] || [ "$ran" = "${n/none/1}" ] || echo "; the daemon ran $ran worker(s) (capped to the CPUs it may use)")
	result "$what: captured % of sent vs tcpdump" "% of sent" higher "cap:$row" tcpdump "cap:$td" \
		"$cmd, $send" "$cmd_td, $send" "the daemon's records (what reached its rings) over what tcpreplay sent$eff" > /dev/null
	result "$what: daemon CPU vs tcpdump" "CPU s/Mpkt" lower "cpu:$row" tcpdump "cpu:$td" \
		"$cmd, $send" "$cmd_td, $send" "$cpu_note; the daemon alone$eff" > /dev/null
	if [ "$n" = none ]; then
		if [ -n "$have_netsniff" ]; then
			result "$what: daemon CPU vs netsniff-ng" "CPU s/Mpkt" lower "cpu:$row" netsniff-ng "cpu:$ns" \
				"$cmd, $send" "$cmd_ns, $send" "$cpu_note" > /dev/null
		else
			result_none "$what: daemon CPU vs netsniff-ng" not_measured \
				"netsniff-ng is not installed (make deps installs it)" "CPU s/Mpkt" netsniff-ng "$cmd" "$cmd_ns"
		fi
	else
		result "$what: daemon + cat CPU vs tcpdump" "CPU s/Mpkt" lower "rcpu:$row" tcpdump "cpu:$td" \
			"$cmd, $send" "$cmd_td, $send" "$cpu_note; the daemon and its cat reader, per packet cat got$eff" > /dev/null
	fi
done
nbroken=$(awk -F'\t' '$3 == "broken"' "$work/rows" | wc -l)
[ "$nbroken" = 0 ] && [ "$inexact" = 0 ] ||
	result_none "runs that went wrong" error "$nbroken run(s) broke and the pipesfs accounting did not add up in $inexact: see the output; the rows above count only the runs that measured"
bench_note "$((packets * loops)) packets per run sent by tcpreplay --topspeed over a veth pair; the pipesfs accounting exact in $(($(wc -l < "$work/accounts") - inexact)) of $(wc -l < "$work/accounts") runs${capped:+; the daemon capped --workers: \"$capped\"}"

[ "$inexact" = 0 ] || echo "$bench: error: the accounting did not add up in $inexact pipesfs run(s): see the table" >&2
echo
echo "note: CPU time covers the replay and the $settle s after it (for pipesfs, also until its counts"
echo "      settled), the same window for every row.  cat writes what it reads to a file in /dev/shm"
echo "      so that its records can be counted: that copy is in its CPU time (> /dev/null would not be)."
exit $status
