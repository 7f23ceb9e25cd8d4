#!/bin/bash
# Classifier nodes hold exactly the packets tcpdump finds with the matching
# expression: each node's `pcap` is read with `tcpdump -r`, and its stats
# agree.  Some nodes are made before the replay starts (live path), the
# others with mkdir after the source has ended (backfill from what the
# parent still holds, also below a node that was itself backfilled).
# tshark reads a node's pcap from a pipe (`cat pcap | tshark -r -`).
. "$(dirname "$0")/lib.sh"
need_trace
need_tool tcpdump

# source, node path, tcpdump expression
specs=(
	"s|ip|ip"
	"s|ip6|ip6"
	"s|tcp|tcp"
	"s|udp|udp"
	"s|arp|arp"
	# tcpdump's icmp6 does not look past IPv6 extension headers; pipesfs
	# does (DESIGN.md), so MLD reports behind a hop-by-hop header count.
	"s|icmp6|icmp6 or (ip6[6] == 0 and ip6[40] == 58)"
	"s|port=80|port 80"
	"s|port=1-100|portrange 1-100"
	"s|ip/tcp|ip and tcp"
	"s|ip6/tcp|ip6 and tcp"
	"s|ip6/icmp6|icmp6 or (ip6[6] == 0 and ip6[40] == 58)"
	"s|host=10.77.0.1|host 10.77.0.1"
	"s|host=fd77::1|host fd77::1"
	"s|net=10.77.0.0_24|net 10.77.0.0/24"
	"s|tcp/port=80|tcp port 80"
	"s|net=fd77::_16|net fd77::/16"
)
# Nodes made before any stream is opened: they see the replay live.
early=(s/ip s/tcp)

# Two captures from the corpus add UDP, ICMP, ARP and IPv6 UDP traffic (the
# HTTP trace has no UDP at all).
srcs=(-s "pcap:$TRACE,name=s")
dhcp=$CORPUS/dhcp-rfc4388.pcap
babel=$CORPUS/babel_rfc6126bis.pcap
if [ -r "$dhcp" ] && [ -r "$babel" ]; then
	srcs+=(-s "pcap:$dhcp,name=d" -s "pcap:$babel,name=b")
	specs+=(
		"d|ip|ip"
		"d|udp|udp"
		"d|icmp|icmp"
		"d|arp|arp"
		"d|ip/udp|ip and udp"
		"d|ip/icmp|icmp"
		"d|port=67|port 67"
		"d|host=10.40.2.3|host 10.40.2.3"
		"d|net=10.40.0.0_16|net 10.40.0.0/16"
		"b|ip6|ip6"
		"b|udp|udp"
		"b|ip6/udp|ip6 and udp"
		"b|ip|ip"
	)
	early+=(d/udp b/ip6)
else
	say "NOTE: $dhcp or $babel missing: UDP counts come from the HTTP trace only"
fi
file_of() { case $1 in s) echo "$TRACE" ;; d) echo "$dhcp" ;; b) echo "$babel" ;; esac; }

pfs_mount "${srcs[@]}"
for n in "${early[@]}"; do
	mkdir "$MNT/$n" || bad "mkdir $n failed"
done

# Read every source to its end: the replays run and end.
for src in $(printf '%s\n' "${specs[@]}" | cut -d'|' -f1 | sort -u); do
	want=$(tcount "$(file_of "$src")")
	got=$(tcount "$MNT/$src/pcap")
	check_eq "packets in $src/pcap" "$want" "$got"
	check_eq "records in $src/stats" "$want" "$(stat_of "$MNT/$src" records)"
done

# Now the other nodes: mkdir -p after the end, so all they hold is backfill.
for spec in "${specs[@]}"; do
	IFS='|' read -r src node expr <<<"$spec"
	[ -d "$MNT/$src/$node" ] || mkdir -p "$MNT/$src/$node" || bad "mkdir -p $src/$node failed"
done

for spec in "${specs[@]}"; do
	IFS='|' read -r src node expr <<<"$spec"
	# shellcheck disable=SC2086  # the expression is words for tcpdump
	want=$(tcount "$(file_of "$src")" $expr)
	got=$(tcount "$MNT/$src/$node/pcap")
	check_eq "packets in $src/$node (tcpdump '$expr')" "$want" "$got"
	check_eq "records in $src/$node/stats" "$want" "$(stat_of "$MNT/$src/$node" records)"
	check_eq "filter of $src/$node" "${node##*/}" "$(timeout 5 cat "$MNT/$src/$node/filter")"
done

# A sanity check of the checks: the trace does have TCP, IPv6 and port 80.
[ "$(tcount "$TRACE" ip6 and tcp)" -gt 0 ] && [ "$(tcount "$TRACE" port 80)" -gt 0 ] ||
	bad "the trace has no IPv6 TCP or no port 80: these counts prove little"

# tshark reads the pcap stream from a pipe.
if command -v tshark >/dev/null 2>&1; then
	for node in "" /ip/tcp /ip6; do
		expr=$([ -z "$node" ] && echo "" || { [ "$node" = /ip6 ] && echo ip6 || echo "ip and tcp"; })
		# shellcheck disable=SC2086
		want=$(tcount "$TRACE" $expr)
		got=$(timeout -k 2 60 cat "$MNT/s$node/pcap" |
			timeout -k 2 60 tshark -r - 2>"$T/tshark.err" | wc -l) ||
			bad "cat s$node/pcap | tshark -r - failed: $(tail -n 3 "$T/tshark.err")"
		check_eq "packets tshark reads from cat s$node/pcap" "$want" "$got"
	done
else
	bad "tshark is not installed: cannot check 'cat pcap | tshark -r -'"
fi

pfs_done
