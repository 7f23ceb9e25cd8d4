#!/bin/bash
# Start-up failures (README, Synopsis): each is one line on stderr naming
# the cause (and the fix), exit status 2 for a wrong command line and 1
# for anything else, and no mount; the daemon is started as users start it
# (no -f), so errors found after it forked reach the terminal too.  DPDK's
# own output (EAL's usage text, its log) never reaches the terminal: one
# line sums it up.  A good live start prints nothing.
. "$(dirname "$0")/lib.sh"
need_trace
need_pipesfs
need_tool setpriv

MNT=$(mktemp -d "$T/mnt.XXXX")
# fails STATUS PATTERN COMMAND...: COMMAND (pipesfs ..., its mount point
# last) must exit with STATUS, print one line on stderr matching PATTERN
# (grep -E) and nothing on stdout, and leave nothing mounted.
fails() {
	local want=$1 pattern=$2 rc=0
	shift 2
	timeout -k 2 60 "$@" 2>"$T/err" >"$T/out" || rc=$?
	local what="pipesfs ${*:2}"
	check_eq "exit status of $what" "$want" "$rc"
	check_eq "lines on stderr of $what" 1 "$(wc -l <"$T/err")" || sed 's/^/    /' "$T/err" | head -5
	grep -qE -- "$pattern" "$T/err" || bad "$what: stderr does not say '$pattern': $(head -3 "$T/err")"
	[ -s "$T/out" ] && bad "$what printed on stdout: $(head -3 "$T/out")"
	local mp=${!#}
	if mounted "$mp"; then
		bad "$what mounted $mp"
		fusermount3 -u -z "$mp"
	fi
}

# The command line (2).
fails 2 "^pipesfs: --bogus: unknown option \(pipesfs --help" "$PIPESFS" --bogus "$MNT"
fails 2 "^pipesfs: -x: unknown option" "$PIPESFS" -x "$MNT"
fails 2 "^pipesfs: --ring-size: needs an argument" "$PIPESFS" "$MNT" --ring-size
fails 2 "^pipesfs: no MOUNTPOINT given" "$PIPESFS" -s "pcap:$TRACE"
fails 2 "^pipesfs: --ring-size 3: want a power of two" "$PIPESFS" --ring-size 3 "$MNT"
fails 2 "^pipesfs: mount point $T/nosuch: No such file or directory \(make the directory" \
	"$PIPESFS" -s "pcap:$TRACE" "$T/nosuch"
: >"$T/afile"
fails 2 "^pipesfs: mount point $T/afile: Not a directory" "$PIPESFS" -s "pcap:$TRACE" "$T/afile"
fails 2 "^pipesfs: -s nonsense:x: unknown type of source \(known: pcap: iface: dpdk:\)" \
	"$PIPESFS" -s nonsense:x "$MNT"
# -g starts at a source: a first name that is none is a typo, named with
# the sources there are; a bad spec further down says why (after the fork).
fails 2 "^pipesfs: -g nosuch/ip: no source named 'nosuch' \(sources: demo\)" \
	"$PIPESFS" -s "pcap:$TRACE,name=demo" -g nosuch/ip "$MNT"
fails 2 "^pipesfs: -g x: no source named 'x' \(no -s source given\)" "$PIPESFS" -g x "$MNT"
fails 2 "^pipesfs: -g demo/ip/port=abc: port=abc: expected a port number" \
	"$PIPESFS" -s "pcap:$TRACE,name=demo" -g demo/ip/port=abc "$MNT"

# The system (1).
fails 1 "^pipesfs: -s pcap:$T/nosuch.pcap: $T/nosuch.pcap: No such file or directory" \
	"$PIPESFS" -s "pcap:$T/nosuch.pcap" "$MNT"
fails 1 "^pipesfs: -s iface:nosuch0: no such interface: nosuch0" "$PIPESFS" -s iface:nosuch0 "$MNT"
# Not root: the interface needs it (not "no DPDK device").  The mount
# point is one that user can reach.
ubase=$(mktemp -d /tmp/pfs-startup.XXXXXX)
chmod 755 "$ubase"
mkdir "$ubase/mnt"
chmod 777 "$ubase/mnt"
fails 1 "^pipesfs: -s iface:lo: capturing on an interface needs root" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$PIPESFS" -s iface:lo "$ubase/mnt"
rm -rf "$ubase"
# An interface that is down captures nothing: refused, as tcpdump does.
ns=pfsstart$$
if ip netns add "$ns" 2>/dev/null; then
	ip -n "$ns" link add d0 type veth peer name d1
	fails 1 "^pipesfs: -s iface:d0: interface d0 is down \(ip link set d0 up\)" \
		nsenter --net="/var/run/netns/$ns" "$PIPESFS" -s iface:d0 "$MNT"
	ip netns del "$ns"
fi
# DPDK refusing: one line, with what DPDK said, none of its usage text.
fails 1 "^pipesfs: DPDK EAL failed to start: .*DPDK said: unrecognized option '--bogus-eal' \(check --eal" \
	"$PIPESFS" -s dpdk:net_null0 --eal --bogus-eal "$MNT"
fails 1 "^pipesfs: DPDK EAL failed to start: .*DPDK said: EAL: .*(lcores|core)" \
	"$PIPESFS" -s dpdk:net_null0 --eal "--lcores 99999" "$MNT"
# iface: captures without DPDK: EAL arguments would go nowhere.
fails 2 "^pipesfs: --eal --bogus-eal: no source uses DPDK" \
	"$PIPESFS" -s iface:lo --eal --bogus-eal "$MNT"
fails 1 "^pipesfs: DPDK EAL failed to start: .*net_bogus0" "$PIPESFS" -s dpdk:net_bogus0 "$MNT"

# A live start that works prints nothing; what DPDK said is in log.
rc=0
timeout 60 "$PIPESFS" -s dpdk:net_null0 "$MNT" >"$T/out" 2>"$T/err" || rc=$?
check_eq "exit status of pipesfs -s dpdk:net_null0" 0 "$rc"
[ -s "$T/err" ] || [ -s "$T/out" ] && bad "a good live start printed: $(cat "$T/out" "$T/err" | head -5)"
mounted "$MNT" || bad "pipesfs -s dpdk:net_null0 did not mount"
timeout 5 grep -q "net_null0: port .* started" "$MNT/log" || bad "log: $(timeout 5 cat "$MNT/log")"
fusermount3 -u "$MNT" || bad "fusermount3 -u failed"
wait_for 10 eval '! mounted "$MNT"' || bad "still mounted"

# A second pipesfs on a mount point pipesfs has already: refused, not
# stacked (which would take two unmounts to undo).
timeout 60 "$PIPESFS" -s "pcap:$TRACE" "$MNT" || bad "the first mount failed"
rc=0
timeout 60 "$PIPESFS" -s "pcap:$TRACE" "$MNT" >"$T/out" 2>"$T/err" || rc=$?
check_eq "exit status of a second mount on $MNT" 2 "$rc"
grep -qE "^pipesfs: mount point $MNT: already a FUSE mount \(fusermount3 -u it first\)" "$T/err" ||
	bad "a second mount said: $(head -3 "$T/err")"
check_eq "mounts on $MNT" 1 "$(awk -v m="$MNT" '$2 == m' /proc/mounts | wc -l)"
fusermount3 -u "$MNT" || bad "fusermount3 -u failed"
wait_for 10 eval '! mounted "$MNT"' || bad "still mounted"
exit "$PFS_FAILED"
