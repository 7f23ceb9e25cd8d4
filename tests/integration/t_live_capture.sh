#!/bin/bash
# Live capture on the kernel's TPACKET_V3 ring (iface:v0), on one end of a
# veth pair in network namespaces this test makes; the traffic is crafted
# here and sent from the other end.
#   1. accounting at top speed (5 runs, 1 or 2 workers, two of them with a
#      1M ring, two with a slow reader): every frame tcpreplay sent reached
#      v0 or is counted dropped by veth; every frame that reached v0 is in
#      the source's kernel_packets; kernel_packets = records + kernel_drops;
#      a reader of `pcap` got records - its reader_drops frames, each one
#      sent, none twice;
#   2. VLAN tags as on the wire: 802.1Q, QinQ (802.1ad outer TPID 0x88a8),
#      a priority tag (TCI 0), an S-tag alone, two C-tags, untagged
#      (tests/tools/send_tagged.py): v0/pcap has tcpdump -i v0's frames,
#      byte for byte; `bpf=ether proto 0x88a8` and `vlan` count as
#      tcpdump -r does;
#   3. per-packet kernel timestamps: v0/pcap is a nanosecond pcap whose
#      timestamps are tcpdump -i v0's (nanosecond) within 50 us; a ping
#      request and its reply have different timestamps;
#   4. two workers: both get packets, their sum is the source's records;
#      all of a TCP connection's packets (both directions) go to one
#      worker; v0/ip/tcp/pcap has tcpdump's TCP frames, each connection's
#      in tcpdump's order; --workers 8 on fewer CPUs is capped, with a
#      line in log.
# run.sh: alone
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_tool ip nsenter tcpdump tcpreplay curl ping cc taskset
PY=/usr/bin/python3
[ -x $PY ] || skip "no $PY"
$PY -c 'import scapy' 2>/dev/null || skip "no python3-scapy (make deps installs it)"

# Frames per top-speed run (PFS_CAPTURE_PKTS to change it).
PKTS=${PFS_CAPTURE_PKTS:-60000}

id=pfscap$$
cap=${id}c snd=${id}s
ip netns add "$cap" 2>"$T/netns.err" || skip "network namespaces are not available here: $(cat "$T/netns.err")"
ip netns add "$snd" || die "ip netns add $snd"
cleanup_ns() { ip netns del "$cap" 2>/dev/null; ip netns del "$snd" 2>/dev/null; }
trap 'rc=$?; cleanup_ns; (exit $rc); pfs_cleanup' EXIT

# v0 (captured, in $cap) / v1 (the sender, in $snd), fixed MACs.  v0 stays
# silent: no IPv6, no address until section 3 (frames to it are dropped
# without a reply), static neighbours after: every frame on v0 is ours.
MAC0=02:00:00:00:00:a0 MAC1=02:00:00:00:00:a1
ip link add v0 netns "$cap" address $MAC0 type veth peer name v1 netns "$snd" address $MAC1 ||
	die "cannot make a veth pair"
for ns in "$cap" "$snd"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$cap" link set v0 up
ip -n "$snd" link set v1 up

build_tool slowread

# ---- helpers ------------------------------------------------------------------

# The pcap tool: crafting the flows, counting and comparing captures.
cat >"$T/pcaptool.py" <<'EOF'
import random, struct, sys

def read_pcap(path):
    """(nanosecond?, link type, [(ts_ns, bytes, wire length)]); a record cut
    short at the end is left out"""
    d = open(path, "rb").read()
    if len(d) < 24:
        return None, None, []
    for end in "<>":
        magic = struct.unpack(end + "I", d[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            break
    else:
        sys.exit("%s: not a pcap file" % path)
    ns = magic == 0xa1b23c4d
    link = struct.unpack(end + "I", d[20:24])[0]
    off, recs = 24, []
    while off + 16 <= len(d):
        sec, frac, cap, wire = struct.unpack(end + "IIII", d[off:off + 16])
        if off + 16 + cap > len(d):
            break
        recs.append((sec * 10**9 + (frac if ns else frac * 1000), d[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    return ns, link, recs

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff

def mk(out, n, dst, src):
    """n frames of 1024 flows (UDP and TCP, 10.95.0.0/16 > 10.94.0.0/16, ports
    tcpdump decodes nothing on), 60 to 200 bytes, each distinct"""
    rnd = random.Random(7)
    dst, src = (bytes.fromhex(m.replace(":", "")) for m in (dst, src))
    flows = [(rnd.choice((6, 17)), bytes([10, 95, rnd.randrange(256), rnd.randrange(1, 255)]),
              bytes([10, 94, rnd.randrange(256), rnd.randrange(1, 255)]),
              rnd.randrange(22000, 23000), rnd.randrange(21000, 22000))
             for _ in range(1024)]
    f = open(out, "wb")
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        proto, a, b, sp, dp = flows[rnd.randrange(len(flows))]
        data = b"pfs-capture %08d " % i
        data += b"x" * rnd.randrange(0, 140)
        if proto == 17:
            l4 = struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data
        else:
            l4 = struct.pack("!HHIIBBHHH", sp, dp, i, 1, 5 << 4, 0x18, 512, 0, 0) + data
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i & 0xffff, 0, 64, proto, 0, a, b)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = dst + src + b"\x08\x00" + ip + l4
        fr += b"\0" * max(0, 60 - len(fr))
        f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(fr), len(fr)) + fr)

def count(path):
    print(len(read_pcap(path)[2]))

def dump(path):
    """one line per frame: caplen, wire length, bytes in hex"""
    for _, b, wire in read_pcap(path)[2]:
        print(len(b), wire, b.hex())

def subset(sent, got):
    """got's frames against sent's: how many, how many twice, how many never sent, how many of sent missing"""
    s = set(r[1] for r in read_pcap(sent)[2])
    g = [r[1] for r in read_pcap(got)[2]]
    print(len(g), len(g) - len(set(g)), sum(1 for b in g if b not in s), len(s - set(g)))

def icmp_echo(b):
    """(type, id, seq) of an ICMP echo in an untagged IPv4 frame, or None"""
    if len(b) < 42 or b[12:14] != b"\x08\x00" or b[23] != 1:
        return None
    o = 14 + (b[14] & 15) * 4
    t = b[o]
    return (t, b[o + 4:o + 6], b[o + 6:o + 8]) if t in (0, 8) else None

def ts(ref, pfs, tol_ns):
    """pfs's timestamps against ref's, frames matched by their bytes"""
    _, _, r = read_pcap(ref)
    ns, link, p = read_pcap(pfs)
    ns = -1 if ns is None else ns
    when = {}
    for t, b, _ in r:
        when.setdefault(b, []).append(t)
    diffs, unmatched = [], 0
    for t, b, _ in p:
        if when.get(b):
            diffs.append(t - when[b].pop(0))
        else:
            unmatched += 1
    over = sum(1 for d in diffs if abs(d) > tol_ns)
    worst = max((abs(d) for d in diffs), default=-1)
    echo = {}
    for t, b, _ in p:
        e = icmp_echo(b)
        if e:
            echo.setdefault((e[1], e[2]), {})[e[0]] = t
    pairs = [v for v in echo.values() if 0 in v and 8 in v]
    same = sum(1 for v in pairs if v[0] == v[8])
    backwards = sum(1 for v in pairs if v[0] < v[8])
    distinct = len(set(r[0] for r in p))
    print("echo=%d " % sum(1 for r in p if icmp_echo(r[1])), end="")
    print("ns=%d link=%s pfs=%d ref=%d matched=%d unmatched=%d over=%d worst_ns=%d "
          "pairs=%d same=%d backwards=%d distinct=%d"
          % (ns, link, len(p), len(r), len(diffs), unmatched, over, worst,
             len(pairs), same, backwards, distinct))

def conn(b):
    """a TCP frame's connection (both directions alike), or None"""
    if len(b) < 54 or b[12:14] != b"\x08\x00" or b[23] != 6:
        return None
    o = 14 + (b[14] & 15) * 4
    x, y = (b[26:30], b[o:o + 2]), (b[30:34], b[o + 2:o + 4])
    return (x, y) if x < y else (y, x)

def conns(ref, pfs):
    """per TCP connection, are pfs's frames ref's, in ref's order?"""
    def by_conn(path):
        c = {}
        for _, b, _ in read_pcap(path)[2]:
            k = conn(b)
            if k:
                c.setdefault(k, []).append(b)
        return c
    r, p = by_conn(ref), by_conn(pfs)
    same = sum(1 for k in r if p.get(k) == r[k])
    sameset = sum(1 for k in r if sorted(p.get(k, [])) == sorted(r[k]))
    print("conns=%d pfs_conns=%d same_order=%d same_frames=%d" % (len(r), len(p), same, sameset))

cmd = sys.argv[1]
if cmd == "mk": mk(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
elif cmd == "count": count(sys.argv[2])
elif cmd == "dump": dump(sys.argv[2])
elif cmd == "subset": subset(sys.argv[2], sys.argv[3])
elif cmd == "ts": ts(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif cmd == "conns": conns(sys.argv[2], sys.argv[3])
else: sys.exit("bad command " + cmd)
EOF
ptool() { timeout 60 $PY "$T/pcaptool.py" "$@"; }

# live_mount OPTIONS...: pfs_mount, with the daemon in the capture namespace.
live_mount() {
	MNT=$(mktemp -d "$T/mnt.XXXX")
	PFS_ERR=$T/daemon.$(basename "$MNT").err
	nsenter --net="/var/run/netns/$cap" "$PIPESFS" -f "$@" "$MNT" 2>"$PFS_ERR" &
	PFS_PID=$!
	wait_for 30 mounted "$MNT" || die "pipesfs $* did not mount: $(cat "$PFS_ERR")"
}

# linkstats NS DEV: "rx_packets rx_dropped tx_packets tx_dropped" of DEV.
linkstats() {
	nsenter --net="/var/run/netns/$1" cat /proc/net/dev |
		sed 's/:/ /' | awk -v d="$2" '$1 == d { print $3, $5, $11, $13 }'
}

# add N...: the sum, or "?" when one of them is not a number (a key missing).
add() {
	local s=0 x
	for x; do
		[[ $x =~ ^-?[0-9]+$ ]] || { echo "?"; return; }
		s=$((s + x))
	done
	echo $s
}

# v0stats: the source's stats into $T/v0.stats.
v0stats() { timeout 5 cat "$MNT/v0/stats" >"$T/v0.stats"; }
sv() { awk -F': ' -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "none" }' "$T/v0.stats"; }
# The sum of a per-worker key (worker%d_packets) over the workers.
sv_sum() {
	awk -F': ' -v re="^worker[0-9]+_$1\$" '$1 ~ re { s += $2; f = 1 } END { print f ? s : "none" }' "$T/v0.stats"
}

# settle: wait (up to 5 s) until the source's records, kernel_packets and
# kernel_drops have not moved for 3 looks 100 ms apart (a block the kernel
# has not handed over retires after a few ms).
settle() {
	local last="" same=0 cur deadline=$(( $(now_ms) + 5000 ))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		v0stats
		cur="$(sv records) $(sv kernel_packets) $(sv kernel_drops) $(sv_sum packets)"
		if [ "$cur" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0
			last=$cur
		fi
		sleep 0.1
	done
	bad "the source's counters still move 5 s after the traffic: $cur"
}

# grown FILE: wait (up to SECS, default 10) until FILE has stopped growing
# for 300 ms (a reader has caught up).
grown() {
	local f=$1 secs=${2:-10} last=-1 same=0 cur deadline
	deadline=$(( $(now_ms) + secs * 1000 ))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		cur=$(stat -c %s "$f" 2>/dev/null || echo 0)
		if [ "$cur" = "$last" ] && [ "$cur" -gt 0 ]; then
			same=$((same + 1))
			[ $same -ge 6 ] && return 0
		else
			same=0
			last=$cur
		fi
		sleep 0.05
	done
	return 1
}

# read_now STREAM OUT: what STREAM holds now (a live stream never ends).
read_now() {
	timeout 60 cat "$1" >"$2" &
	local c=$!
	bg_add $c
	grown "$2" 10 || bad "reading $1: nothing, or it kept growing for 10 s"
	kill $c 2>/dev/null
	wait $c 2>/dev/null
}

# tcpdump_start FILE: tcpdump -i v0 (nanoseconds) -w FILE, until tcpdump_stop
# (--immediate-mode: the frames of a block the kernel has not handed over
# yet when tcpdump is stopped would be lost).
tcpdump_start() {
	nsenter --net="/var/run/netns/$cap" tcpdump -i v0 -nn -s 0 -B 65536 -U --immediate-mode \
		--time-stamp-precision=nano -w "$1" 2>"$T/tcpdump.err" &
	DUMP=$!
	bg_add $DUMP
	wait_for 10 grep -q 'listening on' "$T/tcpdump.err" ||
		die "tcpdump did not start: $(cat "$T/tcpdump.err")"
}
# tcpdump_stop: stop it; TD_DROPS: what it says the kernel dropped for it.
tcpdump_stop() {
	sleep 0.2
	kill -INT $DUMP 2>/dev/null
	wait_gone $DUMP 10 || bad "tcpdump did not stop"
	wait $DUMP 2>/dev/null
	TD_DROPS=$(awk '/packets dropped by kernel/ { print $1 }' "$T/tcpdump.err")
	TD_DROPS=${TD_DROPS:-?}
}

# f KEY: the value of KEY=VALUE in $res (the pcap tool's last answer).
f() { sed -n "s/.*\b$1=\([-0-9a-zA-Z]*\).*/\1/p" <<<"$res"; }

# pcount FILE [EXPR...]: how many frames of FILE match EXPR (tcpdump's
# filter; counted as records, whatever tcpdump would print for them).
pcount() {
	local f=$1
	shift
	timeout 30 tcpdump -r "$f" -w - "$@" 2>"$T/pcount.err" | ptool count /dev/stdin
}

# ---- 1. accounting at top speed ------------------------------------------------

ptool mk "$T/flows.pcap" "$PKTS" $MAC0 $MAC1 || die "cannot craft the flows"
say "[$SECONDS s] 1. $PKTS frames of 1024 flows, tcpreplay --topspeed into v0, 5 runs"

# run N WORKERS RING READER: one top-speed run, daemon started afresh.
# READER: cat (fast) or slow (slowread, 4 KiB per read, 2 ms apart).
run() {
	local n=$1 w=$2 ring=$3 rdr=$4 ropt=()
	[ "$ring" = default ] || ropt=(--ring-size "$ring")
	live_mount --workers "$w" "${ropt[@]}" -s iface:v0
	v0stats
	if [ "$n" = 1 ]; then
		check_eq "run 1: stats source" "iface:v0" "$(sv source)"
		check_eq "run 1: stats interface" "v0" "$(sv interface)"
		for k in kernel_packets kernel_drops kernel_freezes worker0_packets worker0_kernel_drops; do
			[ "$(sv $k)" != none ] || bad "run 1: no $k in v0/stats"
		done
	fi
	check_eq "run $n: stats workers (--workers $w)" "$w" "$(sv workers)"
	local out=$T/run$n.pcap
	if [ "$rdr" = cat ]; then
		timeout 120 cat "$MNT/v0/pcap" >"$out" &
	else
		timeout 120 "$T/slowread" 4096 2000 "$MNT/v0/pcap" >"$out" &
	fi
	local rpid=$!
	bg_add $rpid
	wait_for 10 stat_is "$MNT/v0" readers = 1 || bad "run $n: the reader of v0/pcap did not open"
	local a0 a1 b0 b1
	read -r -a a0 <<<"$(linkstats "$cap" v0)"
	read -r -a a1 <<<"$(linkstats "$snd" v1)"
	ip netns exec "$snd" tcpreplay -i v1 --topspeed "$T/flows.pcap" >"$T/replay.out" 2>&1 ||
		bad "run $n: tcpreplay failed: $(tail -3 "$T/replay.out")"
	local sent
	sent=$(awk '/Successful packets:/ { print $3 }' "$T/replay.out")
	settle
	grown "$out" 60 || bad "run $n: the reader of v0/pcap did not catch up"
	v0stats
	read -r -a b0 <<<"$(linkstats "$cap" v0)"
	read -r -a b1 <<<"$(linkstats "$snd" v1)"
	local rx=$((b0[0] - a0[0])) rxd=$((b0[1] - a0[1])) tx=$((b0[2] - a0[2]))
	local txd1=$((b1[3] - a1[3]))
	local kp kd rec rdrops recsum wdsum
	kp=$(sv kernel_packets) kd=$(sv kernel_drops) rec=$(sv records) rdrops=$(sv reader_drops)
	recsum=$(sv_sum packets) wdsum=$(sv_sum kernel_drops)
	kill $rpid 2>/dev/null
	wait $rpid 2>/dev/null
	local got dup foreign missing
	read -r got dup foreign missing <<<"$(ptool subset "$T/flows.pcap" "$out")"
	say "run $n (--workers $w, ring $ring, $rdr reader): sent $sent; v0 rx_packets +$rx rx_dropped +$rxd tx_packets +$tx; v1 tx_dropped +$txd1"
	say "    kernel_packets $kp = records $rec + kernel_drops $kd (freezes $(sv kernel_freezes)); workers' packets $recsum, kernel_drops $wdsum; node drops $(sv drops)"
	say "    reader of v0/pcap: got $got + reader_drops $rdrops (of records $rec); $dup twice, $foreign never sent, $missing sent frames not read"
	check_eq "run $n: frames sent = v0 rx_packets + rx_dropped + v1 tx_dropped" \
		"$sent" "$((rx + rxd + txd1))"
	check_eq "run $n: v0 tx_packets (v0 stays silent)" 0 "$tx"
	check_eq "run $n: kernel_packets = v0 rx_packets" "$rx" "$kp"
	check_eq "run $n: kernel_packets = records + kernel_drops" "$kp" "$(add "$rec" "$kd")"
	check_eq "run $n: sum of workerI_packets = records" "$rec" "$recsum"
	check_eq "run $n: sum of workerI_kernel_drops = kernel_drops" "$kd" "$wdsum"
	check_eq "run $n: frames read + reader_drops = records" "$rec" "$(add "$got" "$rdrops")"
	check_eq "run $n: frames read twice" 0 "$dup"
	check_eq "run $n: frames read that were never sent" 0 "$foreign"
	[ "$rec" -gt 0 ] || bad "run $n: no records"
	if [ "$kd" = 0 ] && [ "$rdrops" = 0 ] && [ $((rxd + txd1)) = 0 ]; then
		check_eq "run $n: sent frames not read (nothing dropped anywhere)" 0 "$missing"
	fi
	pfs_umount
}
run 1 2 default cat
run 2 1 default cat
run 3 2 1M cat
run 4 1 1M slow
run 5 2 default slow

# ---- 2. VLAN tags as on the wire ----------------------------------------------------

say "[$SECONDS s] 2. VLAN tags: tests/tools/send_tagged.py from v1, v0/pcap against tcpdump -i v0"
live_mount --workers 2 -s iface:v0 -g v0/vlan
mkdir "$MNT/v0/bpf=ether proto 0x88a8" || bad "mkdir bpf=ether proto 0x88a8 failed: $(tail -2 "$MNT/log")"
tcpdump_start "$T/qinq.ref.pcap"
nsent=$(ip netns exec "$snd" timeout 60 $PY "$REPO/tests/tools/send_tagged.py" v1 $MAC0 $MAC1 3 2>"$T/tagged.err") ||
	bad "send_tagged.py failed: $(cat "$T/tagged.err")"
tcpdump_stop
settle
read_now "$MNT/v0/pcap" "$T/qinq.pfs.pcap"
ptool dump "$T/qinq.ref.pcap" >"$T/qinq.ref.txt"
ptool dump "$T/qinq.pfs.pcap" >"$T/qinq.pfs.txt"
say "frames sent $nsent; tcpdump -i v0: $(wc -l <"$T/qinq.ref.txt") (dropped ${TD_DROPS}); v0/pcap: $(wc -l <"$T/qinq.pfs.txt"); v0 records $(sv records)"
# One frame of each kind (the first round), as tcpdump -e decodes them.
decoded() {
	timeout 10 tcpdump -r "$1" -c 7 -t -e -nn 2>/dev/null | sed 's/^[^,]*, //; s/, ethertype IPv4 (0x0800), 10.96.*//'
}
paste -d '\n' <(decoded "$T/qinq.ref.pcap" | sed 's/^/  tcpdump -i v0: /') \
	<(decoded "$T/qinq.pfs.pcap" | sed 's/^/  v0\/pcap:       /')
check_eq "tcpdump -i v0 frames (sent)" "$nsent" "$(wc -l <"$T/qinq.ref.txt")"
# Frames compared as caplen, wire length and bytes.
if ! cmp -s <(sort "$T/qinq.ref.txt") <(sort "$T/qinq.pfs.txt"); then
	bad "v0/pcap's frames are not tcpdump -i v0's (caplen, len, bytes; sorted; < tcpdump, > pipesfs):"
	diff <(sort "$T/qinq.ref.txt") <(sort "$T/qinq.pfs.txt") | head -16 | cut -c1-160 >&2
elif ! cmp -s "$T/qinq.ref.txt" "$T/qinq.pfs.txt"; then
	bad "v0/pcap has tcpdump -i v0's frames, but in another order"
else
	say "v0/pcap: tcpdump -i v0's $(wc -l <"$T/qinq.pfs.txt") frames, byte for byte, in order"
fi
ad_ref=$(pcount "$T/qinq.ref.pcap" 'ether proto 0x88a8')
vlan_ref=$(pcount "$T/qinq.ref.pcap" vlan)
ad_pfs=$(stat_of "$MNT/v0/bpf=ether proto 0x88a8" records)
vlan_pfs=$(stat_of "$MNT/v0/vlan" records)
say "bpf=ether proto 0x88a8: $ad_pfs records, tcpdump -r REF 'ether proto 0x88a8': $ad_ref; vlan: $vlan_pfs records, tcpdump -r REF vlan: $vlan_ref"
[ "$ad_ref" -gt 0 ] 2>/dev/null || bad "tcpdump finds no 802.1ad frame in its own capture: $ad_ref"
check_eq "bpf=ether proto 0x88a8 records = tcpdump -r REF 'ether proto 0x88a8'" "$ad_ref" "$ad_pfs"
check_eq "vlan records = tcpdump -r REF vlan" "$vlan_ref" "$vlan_pfs"
pfs_umount

# ---- 3. per-packet timestamps ---------------------------------------------------------

# From here v0 has an address: it answers pings and serves HTTP.
ip -n "$cap" addr add 10.99.0.1/24 dev v0
ip -n "$snd" addr add 10.99.0.2/24 dev v1
# static_neigh: no ARP (again after a mount: should the daemon take the
# link down and up, the static entries are gone).
static_neigh() {
	ip -n "$snd" neigh replace 10.99.0.1 lladdr $MAC0 dev v1 nud permanent
	ip -n "$cap" neigh replace 10.99.0.2 lladdr $MAC1 dev v0 nud permanent
}
static_neigh

say "[$SECONDS s] 3. timestamps: 150 pings 10 ms apart, v0/pcap against tcpdump -i v0 --time-stamp-precision=nano"
live_mount --workers 2 -s iface:v0
static_neigh
tcpdump_start "$T/ping.ref.pcap"
ip netns exec "$snd" ping -q -i 0.01 -c 150 -W 1 10.99.0.1 >"$T/ping.out" 2>&1 ||
	bad "ping failed: $(cat "$T/ping.out")"
tcpdump_stop
settle
read_now "$MNT/v0/pcap" "$T/ping.pfs.pcap"
res=$(ptool ts "$T/ping.ref.pcap" "$T/ping.pfs.pcap" 50000)
say "v0 records $(sv records), kernel_drops $(sv kernel_drops); tcpdump dropped $TD_DROPS; $res"
check_eq "v0/pcap is a nanosecond pcap" 1 "$(f ns)"
check_eq "v0/pcap frames (tcpdump's)" "$(f ref)" "$(f pfs)"
check_eq "ICMP echoes in v0/pcap (150 requests, 150 replies)" 300 "$(f echo)"
if [ "$(f ref)" != 300 ]; then
	say "tcpdump -i v0 also has:"
	timeout 10 tcpdump -r "$T/ping.ref.pcap" -nn -e 'not icmp' 2>/dev/null | head -5 | sed 's/^/    /'
fi
check_eq "v0/pcap frames not in tcpdump's capture" 0 "$(f unmatched)"
check_eq "timestamps more than 50 us from tcpdump's (worst $(f worst_ns) ns)" 0 "$(f over)"
check_eq "request/reply pairs" 150 "$(f pairs)"
check_eq "a ping request and its reply with one timestamp" 0 "$(f same)"
check_eq "a reply stamped before its request" 0 "$(f backwards)"
check_eq "distinct timestamps (one per frame)" "$(f pfs)" "$(f distinct)"
pfs_umount

# ---- 4. two workers, flows kept whole ---------------------------------------------------

say "[$SECONDS s] 4. --workers 2: 12 HTTP connections (each on its own), then 6000 frames of 1024 flows"
# The server, curl and tcpreplay run on CPU 0 only, so the kernel hands
# every frame to the capture sockets from one CPU, in one order.  A sender
# that moved between CPUs mid-flow could have two of a flow's frames
# delivered at once on two CPUs, and tcpdump's socket and the workers'
# see them in different orders (a CI run saw 1 connection of 539 so).
mkdir -p "$T/www"
for i in $(seq 1 12); do head -c $((i * 700)) /dev/zero | tr '\0' 'w' >"$T/www/f$i.txt"; done
ip netns exec "$cap" taskset -c 0 $PY -m http.server 8080 --bind 10.99.0.1 --directory "$T/www" >"$T/httpd.log" 2>&1 &
bg_add $!
listening() { ip netns exec "$cap" ss -ltn | grep -q '10.99.0.1:8080'; }
wait_for 10 listening || die "python3 -m http.server did not start: $(cat "$T/httpd.log")"
live_mount --workers 2 -s iface:v0 -g v0/ip/tcp
static_neigh
tcpdump_start "$T/flows.ref.pcap"
settle
v0stats
w0=$(sv worker0_packets) w1=$(sv worker1_packets)
: >"$T/conns"
for i in $(seq 1 12); do
	port=$(ip netns exec "$snd" taskset -c 0 curl -s -m 10 -o /dev/null -w '%{local_port}' "http://10.99.0.1:8080/f$i.txt") ||
		bad "curl $i failed"
	settle
	n0=$(sv worker0_packets) n1=$(sv worker1_packets)
	echo "$port $(add "$n0" "-$w0") $(add "$n1" "-$w1")" >>"$T/conns"
	w0=$n0 w1=$n1
done
ip netns exec "$snd" taskset -c 0 tcpreplay -i v1 --pps 10000 -L 6000 "$T/flows.pcap" >"$T/replay.out" 2>&1 ||
	bad "tcpreplay failed: $(tail -3 "$T/replay.out")"
tcpdump_stop
settle
rec=$(sv records) kd=$(sv kernel_drops) kp=$(sv kernel_packets)
w0=$(sv worker0_packets) w1=$(sv worker1_packets)
read_now "$MNT/v0/ip/tcp/pcap" "$T/tcp.pfs.pcap"
all_ref=$(pcount "$T/flows.ref.pcap")
tcp_ref=$(pcount "$T/flows.ref.pcap" tcp)
tcp_pfs=$(ptool count "$T/tcp.pfs.pcap")
say "worker0_packets $w0 + worker1_packets $w1 (records $rec; kernel_packets $kp, kernel_drops $kd); tcpdump -i v0: $all_ref frames (dropped $TD_DROPS)"
say "ip/tcp: $(stat_of "$MNT/v0/ip/tcp" records) records, its pcap $tcp_pfs frames; tcpdump 'tcp' $tcp_ref"
[ "$w0" -gt 0 ] 2>/dev/null || bad "worker0_packets: $w0"
[ "$w1" -gt 0 ] 2>/dev/null || bad "worker1_packets: $w1"
check_eq "worker0_packets + worker1_packets = records" "$rec" "$(add "$w0" "$w1")"
check_eq "kernel_drops" 0 "$kd"
if [ "$kd" = 0 ] && [ "$TD_DROPS" = 0 ]; then
	check_eq "records = tcpdump -i v0's frames" "$all_ref" "$rec"
fi
check_eq "v0/ip/tcp/pcap frames = tcpdump -r REF tcp" "$tcp_ref" "$tcp_pfs"
res=$(ptool conns "$T/flows.ref.pcap" "$T/tcp.pfs.pcap")
say "TCP connections: $res"
check_eq "TCP connections with tcpdump's frames in v0/ip/tcp/pcap" "$(f conns)" "$(f same_frames)"
check_eq "TCP connections in tcpdump's order in v0/ip/tcp/pcap" "$(f conns)" "$(f same_order)"
used0=0 used1=0
while read -r port d0 d1; do
	n=$(pcount "$T/flows.ref.pcap" tcp port "$port")
	say "connection from port $port: $n frames (tcpdump); worker0 +$d0, worker1 +$d1"
	check_eq "connection from port $port: frames the workers took" "$n" "$(add "$d0" "$d1")"
	[ "$d0" = 0 ] || [ "$d1" = 0 ] || bad "connection from port $port split over both workers: $d0 and $d1"
	[ "$d0" -gt 0 ] 2>/dev/null && used0=$((used0 + 1))
	[ "$d1" -gt 0 ] 2>/dev/null && used1=$((used1 + 1))
done <"$T/conns"
say "connections on worker0: $used0, on worker1: $used1"
pfs_umount

# --workers 8 on fewer CPUs: capped, with a line in log.
ncpu=$(nproc)
if [ "$ncpu" -lt 8 ]; then
	live_mount --workers 8 -s iface:v0
	v0stats
	line=$(grep -i -m1 'capped' "$MNT/log")
	say "--workers 8 on $ncpu CPUs: workers $(sv workers); log: ${line:-(nothing)}"
	[ -n "$line" ] || bad "--workers 8 on $ncpu CPUs: no line in log says it is capped"
	check_eq "--workers 8 on $ncpu CPUs: stats workers" "$ncpu" "$(sv workers)"
	pfs_umount
fi
pfs_done
