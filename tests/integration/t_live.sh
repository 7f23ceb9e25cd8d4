#!/bin/bash
# Live capture: pipesfs -s iface:v0 on one end of a veth pair inside
# network namespaces this test makes, traffic sent from the other end.
#   - what ip/udp/all shows is exactly the datagrams sent, in order;
#   - `new` shows only what came after its open, `all` the backlog too;
#   - tcpdump -r decodes the live pcap view;
#   - a reader that falls a ring behind loses records, counted in drops
#     (node and per reader), and never gets a torn one;
#   - a libpipesfs client reads a live stage through the mirror of the
#     kernel's ring (copied_bytes counts the mirror's copies), every
#     datagram sent once it has it;
#   - with two workers, the pcapng view names one interface, the source;
#   - a dpdk: device with more queues than workers has every queue read;
#   - unmounting during traffic: the daemon exits 0 at once.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_tool ip nsenter tcpdump ping tshark

id=pfslive$$
cap=${id}c snd=${id}s
ip netns add "$cap" 2>"$T/netns.err" || skip "network namespaces are not available here: $(cat "$T/netns.err")"
ip netns add "$snd" || die "ip netns add $snd"
cleanup_ns() { ip netns del "$cap" 2>/dev/null; ip netns del "$snd" 2>/dev/null; }
trap 'rc=$?; cleanup_ns; (exit $rc); pfs_cleanup' EXIT
ip link add v0 netns "$cap" type veth peer name v1 netns "$snd" || die "cannot make a veth pair"
for ns in "$cap" "$snd"; do
	# No IPv6 chatter (router solicitations, MLD): only what we send.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$cap" addr add 10.97.0.1/24 dev v0
ip -n "$snd" addr add 10.97.0.2/24 dev v1
ip -n "$cap" link set v0 up
ip -n "$snd" link set v1 up
# Static neighbours: no ARP either.
ip -n "$snd" neigh add 10.97.0.1 lladdr "$(ip -n "$cap" -br link show v0 | awk '{print $3}')" dev v1
ip -n "$cap" neigh add 10.97.0.2 lladdr "$(ip -n "$snd" -br link show v1 | awk '{print $3}')" dev v0

# live_mount OPTIONS...: pfs_mount, with the daemon in the capture namespace.
live_mount() {
	MNT=$(mktemp -d "$T/mnt.XXXX")
	PFS_ERR=$T/daemon.err
	nsenter --net="/var/run/netns/$cap" "$PIPESFS" -f "$@" "$MNT" 2>"$PFS_ERR" &
	PFS_PID=$!
	wait_for 30 mounted "$MNT" || die "pipesfs did not mount: $(cat "$PFS_ERR")"
}

# send FIRST LAST: UDP datagrams "live N" to port 7777, N = FIRST..LAST.
send() {
	ip netns exec "$snd" bash -c "for i in \$(seq $1 $2); do
		printf 'live %05d\n' \$i > /dev/udp/10.97.0.1/7777; done" 2>/dev/null
}

live_mount --workers 1 -s iface:v0 -g v0/ip/udp -g v0/ip/icmp
stat_is() { [ "$(stat_of "$1" "$2")" "$3" "$4" ]; }

send 1 10
wait_for 10 stat_is "$MNT/v0/ip/udp" records -ge 10 || bad "the first 10 datagrams did not arrive"
timeout 10 cat "$MNT/v0/ip/udp/new" > "$T/new.out" &
newcat=$!
bg_add $newcat
wait_for 5 stat_is "$MNT/v0/ip/udp" readers = 1 || bad "new did not open"
send 11 30
wait_for 10 stat_is "$MNT/v0/ip/udp" records -ge 30 || bad "datagrams 11-30 did not arrive"
# all: the backlog (1-10) and what came after (11-30), as sent.
timeout 3 cat "$MNT/v0/ip/udp/all" > "$T/all.out"
seq -f 'live %05g' 1 30 > "$T/sent"
check_eq "ip/udp records (datagrams sent: 30)" 30 "$(stat_of "$MNT/v0/ip/udp" records)"
check_eq "payloads in ip/udp/all, in order" "$(cat "$T/sent")" \
	"$(grep -a -o 'live [0-9]*' "$T/all.out")"
kill $newcat 2>/dev/null
wait $newcat 2>/dev/null
check_eq "payloads in ip/udp/new (opened after datagram 10)" \
	"$(seq -f 'live %05g' 11 30)" "$(grep -a -o 'live [0-9]*' "$T/new.out")"

# The pcap view of live frames, decoded by tcpdump (which ends at the
# 30th; the bound is for a failure only, and generous: once, beside the
# soak, 5 s saw 29).
timeout 20 tcpdump -nn -c 30 -r "$MNT/v0/ip/udp/pcap" 2>/dev/null > "$T/td.out"
check_eq "tcpdump lines of 10.97.0.2 > 10.97.0.1.7777 UDP" 30 \
	"$(grep -c '10.97.0.2.[0-9]* > 10.97.0.1.7777: UDP, length 11' "$T/td.out")"
check_eq "copied_bytes of ip/udp (a classifier)" 0 "$(stat_of "$MNT/v0/ip/udp" copied_bytes)"
check_eq "the kernel's packets equal the source's records plus the kernel's drops" \
	"$(stat_of "$MNT/v0" kernel_packets)" \
	"$(( $(stat_of "$MNT/v0" records) + $(stat_of "$MNT/v0" kernel_drops) ))"
pfs_umount

# A zero-copy client: the kernel's ring is never passed, the client gets
# a mirror the worker fills from the moment the client has it.  Until a
# frame went into the mirror the client may not have it yet: warm-up
# datagrams to another port, until the source counts copied bytes.  The
# client ends 5 s after its last record.
ZC=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
if [ -x "$ZC" ]; then
	live_mount --workers 1 -s iface:v0 -g v0/ip/udp/port=7777
	check_eq "copied_bytes of v0 before any client" 0 "$(stat_of "$MNT/v0" copied_bytes)"
	"$ZC" "$MNT/v0/ip/udp/port=7777" 5 > "$T/zc.out" 2>&1 &
	zc=$!
	bg_add $zc
	warm() {
		ip netns exec "$snd" bash -c 'echo warm > /dev/udp/10.97.0.1/7778' 2>/dev/null
		stat_is "$MNT/v0" copied_bytes -gt 0
	}
	wait_for 10 warm || bad "no frame went into the mirror: $(cat "$T/zc.out")"
	send 1 300
	wait_gone $zc 20 || bad "the client did not end 5 s after the last datagram"
	check_eq "port=7777 through libpipesfs, live (300 sent)" \
		"records 300 bytes $(stat_of "$MNT/v0/ip/udp/port=7777" bytes) lost 0" "$(cat "$T/zc.out")"
	check_eq "records of port=7777" 300 "$(stat_of "$MNT/v0/ip/udp/port=7777" records)"
	check_eq "copied_bytes of port=7777 (a classifier: the client reads the mirror in place)" \
		0 "$(stat_of "$MNT/v0/ip/udp/port=7777" copied_bytes)"
	# The mirror's copies: each frame since the client came, once.
	[ "$(stat_of "$MNT/v0" copied_bytes)" -ge "$(stat_of "$MNT/v0/ip/udp/port=7777" bytes)" ] ||
		bad "copied_bytes of v0 ($(stat_of "$MNT/v0" copied_bytes)) does not count the mirror's copies"
	say "libpipesfs on a live stage: $(cat "$T/zc.out"); the mirror's copies: $(stat_of "$MNT/v0" copied_bytes) bytes"
	pfs_umount
else
	bad "no $ZC (make builds it)"
fi

# Two workers share the interface (a fanout group): a capture file names
# one interface for the source, not one per worker.
live_mount --workers 2 -s iface:v0 -g v0/ip/udp
send 1 200
wait_for 10 stat_is "$MNT/v0/ip/udp" records -ge 200
say "2 workers: $(stat_of "$MNT/v0" worker0_packets) and $(stat_of "$MNT/v0" worker1_packets) packets"
[ "$(stat_of "$MNT/v0" worker1_packets)" -gt 0 ] || bad "the second worker got no packet of 200 datagrams"
timeout 3 cat "$MNT/v0/ip/udp/pcapng" > "$T/two.pcapng"
check_eq "interfaces in ip/udp/pcapng of a source with 2 workers (names)" v0 \
	"$(tshark -r "$T/two.pcapng" -T fields -e frame.interface_name 2>/dev/null | sort -u)"
pfs_umount

# A DPDK device that spreads packets over queues of its own (two
# net_af_packet sockets in a fanout group) with one worker: the worker
# polls both queues, so no packet goes unread.
live_mount --workers 1 -s "dpdk:net_af_packet0,iface=v0,qpairs=2,name=v0" -g v0/ip/udp
send 1 200
wait_for 10 stat_is "$MNT/v0/ip/udp" records -ge 200
say "dpdk: 2 queues, 1 worker: $(stat_of "$MNT/v0" rx_queues) queues polled by $(stat_of "$MNT/v0" workers) worker(s)"
check_eq "datagrams through a 2-queue net_af_packet port with 1 worker (200 sent)" \
	200 "$(stat_of "$MNT/v0/ip/udp" records)"
pfs_umount

# A reader that falls behind a small ring loses records, counted, and
# whatever it does read is whole.  2000 pings of 1000 bytes and their
# replies are about 4 MB through a 1 MB data ring.
live_mount --workers 1 --ring-size 1M -s iface:v0 -g v0/ip/icmp
exec 3< "$MNT/v0/ip/icmp/all"
ip netns exec "$snd" ping -q -f -c 2000 -s 1000 10.97.0.1 > /dev/null 2>&1
timeout 3 cat <&3 > "$T/slow.out"
drops=$(stat_of "$MNT/v0/ip/icmp" reader_drops)
records=$(stat_of "$MNT/v0/ip/icmp" records)
say "a reader a ring behind: $records records, reader_drops $drops"
[ "${drops:-0}" -gt 0 ] || bad "no drops counted for a reader 4 MB behind a 1 MB ring"
[ "$(stat_of "$MNT/v0/ip/icmp" drops)" -ge "${drops:-0}" ] ||
	bad "the node's drops do not include its reader's"
# Every frame read is a whole 1042-byte echo (request or reply).
size=$(wc -c < "$T/slow.out")
[ $((size % 1042)) -eq 0 ] && [ "$size" -gt 0 ] ||
	bad "the slow reader read $size bytes: not whole 1042-byte frames"
exec 3<&-

# Unmount during traffic, with no file open: the daemon ends at once.
ip netns exec "$snd" ping -q -f -w 10 10.97.0.1 > /dev/null 2>&1 &
flood=$!
bg_add $flood
sleep 0.5
pfs_umount
kill $flood 2>/dev/null
pfs_done
