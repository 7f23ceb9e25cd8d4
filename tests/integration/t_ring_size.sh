#!/bin/bash
# --ring-size and the largest records (README "Synopsis"): a size that is
# no power of two of at least 64K is refused at start (exit status 2, a
# one-line error, no mount).  With the smallest size accepted, the largest
# records pipesfs accepts go through whole, end to end: a pcap record of
# 262144 bytes written into `pcap`, and a 1 MiB write into `all`; the ring
# they are copied into is sized for them (at least 512K, said in log).  A
# larger pcap record fails the write with EINVAL and a line in log, and
# injects nothing.  Link types for which libpcap takes longer records
# (pfs_max_snaplen) get them whole: a D-Bus file replayed in place (a
# 300000-byte record), a USBPcap pcapng file copied through libpcap (a
# 500000-byte record: its ring is made for 1 MiB records), a D-Bus pcap
# stream written into `pcap` (a 300000-byte record); one above the
# link type's maximum is refused.  drops stay 0 throughout.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_tool perl
build_tool pcapcat -lpcap

# ---- refused at start ------------------------------------------------------------
mkdir "$T/nomnt"
for size in 32K 65535 100K 0; do
	rc=0
	timeout 10 "$PIPESFS" -f --ring-size "$size" "$T/nomnt" 2>"$T/refused.err" || rc=$?
	check_eq "exit status of pipesfs --ring-size $size" 2 "$rc"
	grep -q -- "--ring-size $size: want a power of two of at least 64K" "$T/refused.err" ||
		bad "pipesfs --ring-size $size: no clear error: $(cat "$T/refused.err")"
	! mounted "$T/nomnt" || bad "pipesfs --ring-size $size mounted"
done

# mkpcap SIZE...: a classic pcap stream (Ethernet), one record of each size,
# its bytes a pattern of the size, so a mix-up shows.
mkpcap() {
	perl -e 'binmode STDOUT;
		print pack("VvvVVVV", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1);
		for my $i (0 .. $#ARGV) {
			my $n = $ARGV[$i];
			print pack("VVVV", 1000 + $i, 0, $n, $n), chr($n % 251) x $n;
		}' "$@"
}

# mkpcap_lt LINKTYPE SIZE...: the same, of another link type.
mkpcap_lt() {
	perl -e 'binmode STDOUT;
		my $lt = shift;
		print pack("VvvVVVV", 0xa1b2c3d4, 2, 4, 0, 0, 0, $lt);
		for my $i (0 .. $#ARGV) {
			my $n = $ARGV[$i];
			print pack("VVVV", 1000 + $i, 0, $n, $n), chr($n % 251) x $n;
		}' "$@"
}

# mkpcapng LINKTYPE SIZE...: a pcapng file, one interface (no snapshot
# length), one enhanced packet block per size.
mkpcapng() {
	perl -e 'binmode STDOUT;
		sub block { my ($t, $b) = @_; $b .= "\0" x (-length($b) % 4);
			    my $n = 12 + length($b); pack("VV", $t, $n) . $b . pack("V", $n) }
		my $lt = shift;
		print block(0x0a0d0d0a, pack("VvvVV", 0x1a2b3c4d, 1, 0, 0xffffffff, 0xffffffff));
		print block(1, pack("vvV", $lt, 0, 0));
		for my $i (0 .. $#ARGV) {
			my $n = $ARGV[$i];
			print block(6, pack("VVVVV", 0, 0, 1000 + $i, $n, $n) . chr($n % 251) x $n);
		}' "$@"
}

# ---- files with longer records, replayed --------------------------------------
LONG="1000 300000 1000"
mkpcap_lt 231 $LONG >"$T/dbus.pcap"		# LINKTYPE_DBUS: in place
mkpcapng 249 1000 500000 1000 >"$T/usbpcap.pcapng"	# LINKTYPE_USBPCAP: copied
for f in dbus.pcap usbpcap.pcapng; do
	"$T/pcapcat" -n "$T/$f" | grep -qx 3 || die "libpcap does not read the 3 records of $f"
done
pfs_mount --ring-size 64K -s "pcap:$T/dbus.pcap" -s "pcap:$T/usbpcap.pcapng"
for x in dbus:dbus.pcap usbpcap:usbpcap.pcapng; do
	src=${x%%:*} f=$T/${x#*:}
	timeout 30 cat "$MNT/$src/all" >"$T/$src.all" || bad "$src/all: no EOF within 30 s"
	cmp -s <("$T/pcapcat" "$f") "$T/$src.all" ||
		bad "$src/all is not the records of $f ($(wc -c <"$T/$src.all") bytes)"
	check_eq "$src/stats records" 3 "$(stat_of "$MNT/$src" records)"
	check_eq "$src/stats drops" 0 "$(stat_of "$MNT/$src" drops)"
done
grep -q "^replay: copied" "$MNT/usbpcap/stats" || bad "usbpcap.pcapng was not copied through libpcap"
pfs_umount

pfs_mount --ring-size 64K
grep -q "rings that records are copied into are 512K" "$MNT/log" ||
	bad "log does not say that rings records are copied into are 512K: $(cat "$MNT/log")"

# ---- the largest pcap records, one write ------------------------------------------
SIZES="1000 65536 262144 100000 262144 1000"
mkpcap $SIZES >"$T/big.pcap"
"$T/pcapcat" -d "$T/big.pcap" >"$T/want.dump" || die "pcapcat cannot read the stream it made"
mkdir "$MNT/w" || bad "mkdir w failed"
timeout 30 cat "$MNT/w/pcap" >"$T/got.pcap" &
reader=$!
bg_add $reader
wait_for 5 stat_is "$MNT/w" readers = 1 || bad "the reader of w/pcap did not open"
timeout 30 dd if="$T/big.pcap" of="$MNT/w/pcap" bs=2M status=none 2>"$T/dd.err" ||
	bad "one write of records of $SIZES bytes into w/pcap failed: $(cat "$T/dd.err")"
wait_gone $reader 10 || bad "the reader of w/pcap did not get EOF within 10 s after the writer closed"
"$T/pcapcat" -d "$T/got.pcap" >"$T/got.dump" 2>"$T/pcapcat.err" ||
	bad "w/pcap is no pcap stream: $(cat "$T/pcapcat.err")"
cmp -s "$T/want.dump" "$T/got.dump" ||
	bad "w/pcap is not the records written (sizes $SIZES); it has: $(awk 'NR > 1 && NR % 2 == 0 { printf "%s ", $2 }' "$T/got.dump")"
check_eq "w/stats records" 6 "$(stat_of "$MNT/w" records)"
check_eq "w/stats drops" 0 "$(stat_of "$MNT/w" drops)"

# ---- a byte stream: 1 MiB in one write ------------------------------------------
head -c 1048576 /dev/urandom >"$T/big.bin"
mkdir "$MNT/b" || bad "mkdir b failed"
timeout 30 cat "$MNT/b/all" >"$T/got.bin" &
reader=$!
bg_add $reader
wait_for 5 stat_is "$MNT/b" readers = 1 || bad "the reader of b/all did not open"
timeout 30 dd if="$T/big.bin" of="$MNT/b/all" bs=1M status=none 2>"$T/dd.err" ||
	bad "one 1 MiB write into b/all failed: $(cat "$T/dd.err")"
wait_gone $reader 10 || bad "the reader of b/all did not get EOF within 10 s after the writer closed"
cmp -s "$T/big.bin" "$T/got.bin" || bad "b/all: $(wc -c <"$T/got.bin") bytes, not the 1 MiB written"
check_eq "b/stats records (64 KiB each)" 16 "$(stat_of "$MNT/b" records)"
check_eq "b/stats drops" 0 "$(stat_of "$MNT/b" drops)"

# ---- a record larger than any accepted: refused whole -------------------------
mkpcap 1000 262145 >"$T/larger.pcap"
rc=0
timeout 10 dd if="$T/larger.pcap" of="$MNT/w/pcap" bs=1M status=none 2>"$T/dd.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Invalid argument" "$T/dd.err" ||
	bad "a pcap record of 262145 bytes: want EINVAL, got status $rc: $(cat "$T/dd.err")"
grep -q "w/pcap: write refused: pcap record of 262145 bytes refused" "$MNT/log" ||
	bad "no line in log for the refused record: $(tail -3 "$MNT/log")"
check_eq "w/stats records after the refused write" 6 "$(stat_of "$MNT/w" records)"
check_eq "w/stats drops after the refused write" 0 "$(stat_of "$MNT/w" drops)"

# ---- a D-Bus stream: records up to 128 MiB -----------------------------------
mkpcap_lt 231 $LONG >"$T/dbus-w.pcap"
mkdir "$MNT/d" || bad "mkdir d failed"
timeout 30 cat "$MNT/d/all" >"$T/d.all" &
reader=$!
bg_add $reader
wait_for 5 stat_is "$MNT/d" readers = 1 || bad "the reader of d/all did not open"
timeout 30 dd if="$T/dbus-w.pcap" of="$MNT/d/pcap" bs=1M status=none 2>"$T/dd.err" ||
	bad "a D-Bus stream with a record of 300000 bytes: the write failed: $(cat "$T/dd.err")"
wait_gone $reader 10 || bad "the reader of d/all did not get EOF within 10 s after the writer closed"
cmp -s <("$T/pcapcat" "$T/dbus-w.pcap") "$T/d.all" ||
	bad "d/all is not the D-Bus records written ($(wc -c <"$T/d.all") bytes)"
check_eq "d/stats records" 3 "$(stat_of "$MNT/d" records)"
check_eq "d/stats drops" 0 "$(stat_of "$MNT/d" drops)"
mkpcap_lt 249 $((1048576 + 1)) >"$T/usb-larger.pcap"
mkdir "$MNT/u" || bad "mkdir u failed"
rc=0
timeout 10 dd if="$T/usb-larger.pcap" of="$MNT/u/pcap" bs=2M status=none 2>"$T/dd.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Invalid argument" "$T/dd.err" ||
	bad "a USBPcap record of 1048577 bytes: want EINVAL, got status $rc: $(cat "$T/dd.err")"

pfs_done
