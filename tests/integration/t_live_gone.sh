#!/bin/bash
# A live source whose interface goes away ends, as a tcpdump capture does:
# pipesfs -s iface:v0 on one end of a veth pair inside network namespaces
# this test makes.
#   - `ip link del` of the interface: `log` says it is gone and the
#     capture ends; readers blocked on the source and on a stage below get
#     what came before, then EOF; a reader opened later gets the backlog
#     and EOF; the rest of the mount works and unmounting exits 0;
#   - `ip link set down`: the same, with `log` saying it went down.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_tool ip nsenter

id=pfsgone$$
cap=${id}c snd=${id}s
ip netns add "$cap" 2>"$T/netns.err" || skip "network namespaces are not available here: $(cat "$T/netns.err")"
ip netns add "$snd" || die "ip netns add $snd"
cleanup_ns() { ip netns del "$cap" 2>/dev/null; ip netns del "$snd" 2>/dev/null; }
trap 'rc=$?; cleanup_ns; (exit $rc); pfs_cleanup' EXIT

# veth_up: a fresh pair v0 (capture side) / v1 (sender side), addressed,
# with static neighbours and no IPv6 chatter: only what we send.
veth_up() {
	ip link add v0 netns "$cap" type veth peer name v1 netns "$snd" || die "cannot make a veth pair"
	for ns in "$cap" "$snd"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	ip -n "$cap" addr add 10.98.0.1/24 dev v0
	ip -n "$snd" addr add 10.98.0.2/24 dev v1
	ip -n "$cap" link set v0 up
	ip -n "$snd" link set v1 up
	ip -n "$snd" neigh add 10.98.0.1 lladdr "$(ip -n "$cap" -br link show v0 | awk '{print $3}')" dev v1
}

live_mount() {
	MNT=$(mktemp -d "$T/mnt.XXXX")
	PFS_ERR=$T/daemon.$(basename "$MNT").err
	nsenter --net="/var/run/netns/$cap" "$PIPESFS" -f "$@" "$MNT" 2>"$PFS_ERR" &
	PFS_PID=$!
	wait_for 30 mounted "$MNT" || die "pipesfs did not mount: $(cat "$PFS_ERR")"
}

# send FIRST LAST: UDP datagrams "gone N" to port 7777.
send() {
	ip netns exec "$snd" bash -c "for i in \$(seq $1 $2); do
		printf 'gone %05d\n' \$i > /dev/udp/10.98.0.1/7777; done" 2>/dev/null
}

log_has() { grep -q -- "$1" "$MNT/log"; }

# one_case HOW WANT: capture, read, take the interface away with HOW (a
# command run in the capture namespace), and check the end.
one_case() {
	local how=$1 want=$2
	veth_up
	live_mount --workers 1 -s iface:v0 -g v0/ip/udp
	timeout 60 cat "$MNT/v0/all" >"$T/src.out" &
	local src=$!
	bg_add $src
	timeout 60 cat "$MNT/v0/ip/udp/all" >"$T/udp.out" &
	local udp=$!
	bg_add $udp
	wait_for 10 stat_is "$MNT/v0/ip/udp" readers = 1 || bad "ip/udp/all did not open"
	send 1 20
	wait_for 10 stat_is "$MNT/v0/ip/udp" records -ge 20 || bad "the 20 datagrams did not arrive"
	# shellcheck disable=SC2086
	ip netns exec "$cap" $how || die "$how failed"
	# Bounded waits (a failure, not a measure): the source ends, the
	# blocked readers return.
	wait_for 20 log_has "v0: interface v0 $want" ||
		bad "$how: log does not say the interface $want: $(tail -3 "$MNT/log")"
	wait_gone $src 20 || bad "$how: a reader of v0/all still blocked"
	wait_gone $udp 20 || bad "$how: a reader of v0/ip/udp/all still blocked"
	wait $src || bad "$how: the reader of v0/all failed (status $?)"
	wait $udp || bad "$how: the reader of v0/ip/udp/all failed (status $?)"
	check_eq "$how: datagrams the reader of ip/udp got before the end" \
		"$(seq -f 'gone %05g' 1 20)" "$(grep -a -o 'gone [0-9]*' "$T/udp.out")"
	check_eq "$how: bytes the reader of v0/all got" "$(stat_of "$MNT/v0" bytes)" \
		"$(wc -c <"$T/src.out")"
	# Opened after the end: the backlog, then EOF at once.
	rd "$MNT/v0/ip/udp/all" 10 | grep -a -c 'gone [0-9]*' >"$T/late.n"
	check_eq "$how: a reader opened after the end gets the backlog" 20 "$(cat "$T/late.n")"
	check_eq "$how: drops" 0 "$(stat_of "$MNT/v0/ip/udp" drops)"
	log_has "the capture ends" || bad "$how: log does not say the capture ends"
	say "$how: $(grep -m1 'the capture ends' "$MNT/log")"
	# The rest of the mount works.
	mkdir "$MNT/top" || bad "$how: mkdir after the end failed"
	pfs_umount
	ip -n "$cap" link del v0 2>/dev/null
}

one_case "ip link del v0" "is gone"
one_case "ip link set v0 down" "went down"
pfs_done
