# Sourced by the examples: mount pipesfs with the sources given ($@, each
# an `iface:NAME`, `dpdk:DEVARGS` or `pcap:FILE` spec, named s1, s2, ...)
# on a fresh directory $MNT, and unmount it when the example ends.
# PIPESFS names the binary (default: pipesfs in PATH, else the build's).
# shellcheck shell=bash
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIPESFS=${PIPESFS:-$(command -v pipesfs || echo "$repo/build/pipesfs")}
MNT=$(mktemp -d /tmp/pipesfs-example.XXXXXX)
# Background readers go first: an open file keeps the mount busy.
unmount() {
	local pids
	pids=$(jobs -p)
	# shellcheck disable=SC2086
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	wait || true
	cd /
	fusermount3 -u "$MNT" 2>/dev/null || true
	rmdir "$MNT"
}
trap unmount EXIT
args=()
i=0
for spec in "$@"; do
	i=$((i + 1))
	args+=(-s "$spec,name=s$i")
done
# pipesfs returns once mounted (it forks into the background)
"$PIPESFS" "${args[@]}" "$MNT"
