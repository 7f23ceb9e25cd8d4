#!/bin/sh
# Install every build, test and benchmark dependency from Debian packages.
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# wrk and ethtool: the benchmarks' trace (scripts/mktrace.sh -n);
# netsniff-ng: bench/live.sh's second comparison; tcpflow: the HTTP
# benchmark's comparison; clang and libclang-rt-dev (libFuzzer and the
# sanitizers' runtimes, only recommended by clang): `make fuzz`; man-db
# (and groff-base with it): t_install renders the manual page; gnuplot-nox:
# `make bench` draws bench/ratios.png.
apt-get install -y -q --no-install-recommends \
	build-essential pkg-config ca-certificates \
	clang libclang-rt-dev \
	check \
	libdpdk-dev dpdk \
	libfuse3-dev fuse3 \
	liburcu-dev \
	libpcap-dev \
	tcpdump tshark python3-scapy \
	iproute2 iputils-ping netcat-openbsd procps curl nginx-light tcpreplay \
	wrk ethtool netsniff-ng tcpflow gnuplot-nox \
	man-db
