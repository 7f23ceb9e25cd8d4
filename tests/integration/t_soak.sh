#!/bin/bash
# Soak: many readers of every kind, the graph rewired beside them, readers
# killed and interrupted, then the daemon unmounted under traffic and
# killed (issue 14).  SOAK_SECONDS (default 60) of churn, on one mount of
# the trace replayed in a loop (l, with l/ip/tcp/http and l/ip/tcp/text)
# and a written node (w) a writer feeds with checksummed lines:
#   - 65 readers at once: tests/tools/soakread checking every byte of
#     l/ip/tcp/all, l/ip/tcp/text/all and l/ip/tcp/http/all against one
#     loop of them (read from a mount that does not loop), every frame of
#     l/ip/tcp/pcap and pcapng against that loop's pcap, and every line of
#     w/all (its hash, and its number one more than the last's);
#     zerocopy-count clients of those nodes and of nodes the churn makes
#     and removes; `cat` of the churned nodes;
#   - meanwhile: mkdir, mv (under w and back), ln -s (and cycles, refused),
#     rm of links, rmdir, and filter writes on nodes l/c0..c5 (moved under
#     w and back: never linked into what the checking readers read); a
#     checking reader SIGKILLed (and another started) or SIGINTed mid-read
#     (it reads on and checks on) every 0.3 s;
#   - then: every checking reader still running ends with "ok" (none
#     failed at any time: no torn, repeated or missing byte, frame or
#     line, since the owner's readers are lossless); the nodes read count
#     no drops; the daemon's heap (RssAnon) after the churn is within 25%
#     (and 16 MB) of what it was a quarter of the way in, and, every
#     reader gone, within 16 MB of what it was before the first (not
#     judged under ASan, whose shadow and quarantine grow it); no
#     sanitizer report;
#   - unmount (lazy) under traffic: the daemon exits 0;
#   - SIGKILL of the daemon under traffic: the mount point says ENOTCONN,
#     the readers end, `fusermount3 -u` cleans up, and a daemon mounted
#     there again serves the trace.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_trace
need_tool cmp
build_tool soakread
SR=$T/soakread
ZC=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
[ -x "$ZC" ] || die "no $ZC (make builds it)"
SECS=${SOAK_SECONDS:-60}
# Checking readers take a breath after each read: 46 of them at full speed
# leave the churn and the kills little CPU on a small machine.
export SOAKREAD_PAUSE_MS=${SOAKREAD_PAUSE_MS:-20}

# ---- one loop of each view, from a mount that does not loop ------------------
pfs_mount -s "pcap:$TRACE,name=r" -g r/ip/tcp/http -g r/ip/tcp/text
rd "$MNT/r/ip/tcp/all" > "$T/ref.all"
rd "$MNT/r/ip/tcp/text/all" > "$T/ref.text"
rd "$MNT/r/ip/tcp/http/all" > "$T/ref.http"
rd "$MNT/r/ip/tcp/pcap" > "$T/ref.pcap"
pfs_umount
for f in all text http pcap; do
	[ -s "$T/ref.$f" ] || die "the trace gives no ip/tcp $f to check against"
done

# ---- the soak mount ---------------------------------------------------------------
pfs_mount -s "pcap:$TRACE,name=l,loop" -g l/ip/tcp/http -g l/ip/tcp/text
mkdir "$MNT/w" || die "mkdir w failed"
rss() { awk '/^RssAnon:/ {print $2}' "/proc/$PFS_PID/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$PFS_PID/status"; }
rss_idle0=$(rss)
"$SR" write "$MNT/w/all" > "$T/writer.out" 2>&1 &
WRITER=$!
bg_add $WRITER

# Checking readers: slot i runs KIND[i] on its file; OUT[i] is its output.
declare -a PID KIND OUT
declare -A FILE_OF=([all]=l/ip/tcp/all [text]=l/ip/tcp/text/all [http]=l/ip/tcp/http/all
	[pcap]=l/ip/tcp/pcap [pcapng]=l/ip/tcp/pcapng [lines]=w/all)
started=0
start_reader() {
	local i=$1 k=${KIND[$1]} f=$MNT/${FILE_OF[${KIND[$1]}]}
	local args=(stream "$f" "$T/ref.$k")
	started=$((started + 1))
	OUT[$i]=$T/reader.$i.$started
	case $k in
	pcap | pcapng) args=(frames "$f" "$T/ref.pcap") ;;
	lines) args=(lines "$f") ;;
	esac
	"$SR" "${args[@]}" > "${OUT[$i]}" 2>&1 &
	PID[$i]=$!
	bg_add "${PID[$i]}"
}
# A reader that ended on its own ended on a failure (or an error): say it.
failed=0
ended() {
	local i=$1
	alive "${PID[$i]}" && return 1
	wait "${PID[$i]}" 2>/dev/null
	bad "reader ${KIND[$i]} of ${FILE_OF[${KIND[$i]}]} ended: $(head -c 300 "${OUT[$i]}")"
	failed=$((failed + 1))
	return 0
}
n=0
for k in all all all all all all all all text text text text text text text text \
	http http http http http http pcap pcap pcap pcap pcap pcap pcap pcap \
	pcapng pcapng pcapng pcapng pcapng pcapng pcapng pcapng \
	lines lines lines lines lines lines lines lines; do
	KIND[$n]=$k
	start_reader $n
	n=$((n + 1))
done
checking=$n

others=()
# Zero-copy clients of the checked nodes (they end with the mount), and
# loops of clients and `cat`s of the churned nodes.
for node in l/ip/tcp l/ip/tcp/http l/ip/tcp/text w l; do
	"$ZC" "$MNT/$node" > "$T/zc.$(echo "$node" | tr / _)" 2>&1 &
	others+=($!)
	bg_add $!
done
churn_readers() {
	while :; do
		timeout -k 1 5 "$@" > /dev/null 2>&1
		sleep 0.1
	done
}
for k in 0 1 2; do
	churn_readers "$ZC" "$MNT/l/c$k" 1 &
	others+=($!)
	bg_add $!
done
for k in 0 1 2 3 4 5 6 7 8 9 10; do
	churn_readers cat "$MNT/l/c$((k % 6))/all" &
	others+=($!)
	bg_add $!
done
say "$((checking + ${#others[@]})) readers: $checking checking, 8 zero-copy clients, 11 cat loops of churned nodes"

# ---- churn ------------------------------------------------------------------------
SPECS=(udp tcp ip port=80 text payload "bpf=tcp port 80" http icmp)
churn_once() {
	local k=$((RANDOM % 6)) j=$((RANDOM % 6)) s=${SPECS[$((RANDOM % ${#SPECS[@]}))]}
	case $((RANDOM % 10)) in
	0 | 1) mkdir "$MNT/l/c$k" ;;
	2) mkdir "$MNT/l/c$k/$s" ;;
	3) echo "$s" > "$MNT/l/c$k/filter" ;;
	4) mv "$MNT/l/c$k" "$MNT/w/" && mv "$MNT/w/c$k" "$MNT/l/" ;;
	5) ln -s "$MNT/l/c$j" "$MNT/l/c$k/t" ;;	# a cycle, refused, now and then
	6) ln -s "$MNT/l" "$MNT/l/c$k/back" ;;	# a cycle: ELOOP
	7) rm -f "$MNT/l/c$k/t" ;;
	*) rmdir "$MNT/l/c$k/"*/ "$MNT/l/c$k" ;;
	esac
} 2>/dev/null

t0=$(now_ms)
quarter=$((t0 + SECS * 250))
end=$((t0 + SECS * 1000))
# The churn, back to back, in a loop of its own; it counts its operations.
(
	ops=0
	while [ "$(now_ms)" -lt "$end" ]; do
		churn_once
		ops=$((ops + 1))
	done
	echo "$ops" > "$T/churn.ops"
) &
churner=$!
bg_add $churner
kills=0 intrs=0
rss_warm=""
while [ "$(now_ms)" -lt "$end" ]; do
	i=$((RANDOM % checking))
	if ! ended "$i"; then
		if [ $((RANDOM % 3)) = 0 ]; then
			kill -KILL "${PID[$i]}" 2>/dev/null
			wait "${PID[$i]}" 2>/dev/null
			kills=$((kills + 1))
			start_reader "$i"
		else
			kill -INT "${PID[$i]}" 2>/dev/null
			intrs=$((intrs + 1))
		fi
	else
		start_reader "$i"
	fi
	alive "$PFS_PID" || pfs_died
	[ -n "$rss_warm" ] || [ "$(now_ms)" -lt "$quarter" ] || rss_warm=$(rss)
	echo "$(rss)/$(threads)" >> "$T/rss"
	sleep 0.3
done
wait_gone $churner 30 || bad "the churn did not stop"
rss_end=$(rss)
say "churn: $(cat "$T/churn.ops" 2>/dev/null) operations; $kills readers killed and replaced, $intrs interrupted; in $SECS s"
say "daemon heap (RssAnon, kB) / threads over the churn: $(tr '\n' ' ' < "$T/rss")"

# ---- verdicts ---------------------------------------------------------------------
declare -A got
for i in $(seq 0 $((checking - 1))); do
	ended "$i" && continue
	kill -TERM "${PID[$i]}"
done
for i in $(seq 0 $((checking - 1))); do
	wait_gone "${PID[$i]}" 10 || bad "reader ${KIND[$i]} did not end on SIGTERM"
	wait "${PID[$i]}" 2>/dev/null
	if ! grep -q '^ok ' "${OUT[$i]}"; then
		bad "reader ${KIND[$i]} of ${FILE_OF[${KIND[$i]}]}: $(head -c 300 "${OUT[$i]}")"
		continue
	fi
	read -r _ bytes _ recs _ < "${OUT[$i]}"
	got[${KIND[$i]}]=$(( ${got[${KIND[$i]}]:-0} + bytes ))
	[ "$bytes" -gt 0 ] || bad "reader ${KIND[$i]} of ${FILE_OF[${KIND[$i]}]} read nothing"
	: "$recs"
done
for k in all text http pcap pcapng lines; do
	say "  ${FILE_OF[$k]}: ${got[$k]:-0} bytes checked by the last readers of it"
done
check_eq "checking readers that failed during the churn" 0 "$failed"
for node in l l/ip/tcp l/ip/tcp/text l/ip/tcp/http w; do
	check_eq "drops of $node (the owner's readers are lossless)" 0 "$(stat_of "$MNT/$node" drops)"
done
say "daemon heap (RssAnon): $rss_warm kB a quarter in, $rss_end kB at the end"
# Under ASan, RssAnon also counts the shadow of every address the heap
# ever used and what the allocator holds back: it grows with any churn.
# The plain build's pass judges the heap; LeakSanitizer, at the daemon's
# exit, the ASan build's.
asan=$(ldd "$PIPESFS" | grep -c libasan)
if [ "$asan" != 0 ]; then
	say "(an ASan build: the heap's size is not judged)"
elif [ "$rss_end" -gt $((rss_warm * 5 / 4 + 16384)) ]; then
	bad "the daemon's heap grew from $rss_warm kB to $rss_end kB during the churn"
fi
kill -TERM $WRITER
wait_gone $WRITER 10 || bad "the writer did not end"
grep -q '^wrote ' "$T/writer.out" || bad "the writer: $(cat "$T/writer.out")"
say "writer: $(cat "$T/writer.out")"
# Every reader gone (a churn loop's last `timeout` ends within 6 s): the
# heap idle again, against the heap idle before the first reader.
kill "${others[@]}" 2>/dev/null
sleep 7
rss_idle1=$(rss)
say "daemon heap (RssAnon) idle: $rss_idle0 kB before the readers, $rss_idle1 kB after them"
[ "$asan" != 0 ] || [ "$rss_idle1" -le $((rss_idle0 + 16384)) ] ||
	bad "the daemon idle kept $((rss_idle1 - rss_idle0)) kB more after the soak than before it"

# ---- unmount under traffic --------------------------------------------------------
for f in l/ip/tcp/pcap l/ip/tcp/text/all w/all; do
	timeout -k 1 30 cat "$MNT/$f" > /dev/null 2>&1 &
	bg_add $!
done
sleep 1
fusermount3 -u -z "$MNT" || bad "fusermount3 -u -z under traffic failed"
pfs_wait_exit 10 "10 s after a lazy unmount under traffic" && say "lazy unmount under traffic: the daemon exited 0"

# ---- SIGKILL of the daemon under traffic ----------------------------------------
pfs_mount -s "pcap:$TRACE,name=l,loop" -g l/ip/tcp/text
readers=()
for f in l/ip/tcp/pcap l/ip/tcp/text/all l/all; do
	timeout -k 1 30 cat "$MNT/$f" > /dev/null 2> "$T/killed.err" &
	readers+=($!)
	bg_add $!
done
sock=$(cat "$MNT/.socket") || bad "no .socket in the mount root"
sleep 1
kill -KILL "$PFS_PID"
wait "$PFS_PID" 2>/dev/null
PFS_PID=""
check_eq "stat of the mount point after SIGKILL" "Transport endpoint is not connected" \
	"$(perl -e 'print stat($ARGV[0]) ? "OK" : "$!"' "$MNT")"
for r in "${readers[@]}"; do
	wait_gone "$r" 10 || bad "a reader did not end after the daemon died"
done
fusermount3 -u "$MNT" || bad "fusermount3 -u of the dead mount failed"
mounted "$MNT" && bad "the dead mount is still mounted"
# A killed daemon cannot remove its socket's directory: the test does.
rm -r "$(dirname "$sock")" || bad "cannot remove the killed daemon's socket directory"
"$PIPESFS" -f -s "pcap:$TRACE,name=r" "$MNT" 2> "$PFS_ERR" &
PFS_PID=$!
wait_for 15 mounted "$MNT" || die "pipesfs did not mount again on $MNT: $(cat "$PFS_ERR")"
mkdir -p "$MNT/r/ip/tcp" && rd "$MNT/r/ip/tcp/all" > "$T/again.all"
cmp -s "$T/again.all" "$T/ref.all" || bad "the daemon mounted again does not serve the trace's ip/tcp"
say "SIGKILL under traffic: ENOTCONN, readers ended, fusermount3 -u cleaned up, a new daemon serves"
pfs_done
