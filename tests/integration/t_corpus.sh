#!/bin/bash
# Every capture of tcpdump's test corpus passes through ip/tcp, ip6/udp,
# vlan and arp without a crash or a sanitizer report, and comes back out
# of its source node as libpcap reads it:
#  - files libpcap cannot open are left out (counted); the daemon must
#    refuse to start on such a file, with an error naming it (checked once,
#    on a file of zeros if the corpus has no such file);
#  - up to 32 sources per mount (the daemon's limit); -g makes ip/tcp and
#    ip6/udp (64 paths: the daemon's -g limit), mkdir makes vlan and arp
#    after the mount (before any stream is opened, so before the replay),
#    and every other filter too, at once: http (with method=GET and text
#    below it), text, payload and port= on TCP, udp, icmp, host= and net=
#    on IPv4, icmp6 and http on IPv6 (not read: they must only survive
#    every capture, and answer `stats`);
#  - tests/tools/corpuscheck reads, per source, `all` (the records' bytes)
#    and `pcap` (the same records: link type, timestamps, lengths, bytes),
#    and per node (ip, ip/tcp, ip6, ip6/udp, vlan, arp, bpf=BPF) `all`,
#    `pcap` and `stats`, every read to EOF within 30 s: the pcap must be
#    one libpcap reads, with stats' records, and `all` must hold stats'
#    bytes;
#  - the bpf=BPF node holds the records `tcpdump -r FILE BPF` selects, on
#    every link-layer variant libpcap takes (the corpus's quirk-* files:
#    FCS bits, other byte orders, old versions; none if BPF does not
#    compile for the link type);
#  - every mount ends with fusermount3 -u, exit status 0 within 5 s, and
#    no sanitizer report on stderr.
# PFS_CORPUS_BATCH sets the sources per mount (default 32).
. "$(dirname "$0")/lib.sh"
[ -d "$CORPUS" ] || skip "no corpus at $CORPUS"
build_tool pcapcat -lpcap
build_tool corpuscheck -lpcap
need_pipesfs

batch=${PFS_CORPUS_BATCH:-32}
BPF='ip or ip6 or arp'

# The records `tcpdump -r FILE BPF` selects, as `pcapcat -d` dumps them:
# nothing where BPF does not compile for the link type or selects none
# (those before a read error where one ends the file).
tcpdump_dump() {
	rm -f "$T/sel.pcap"
	tcpdump -r "$1" -w "$T/sel.pcap" "$BPF" 2>/dev/null
	[ ! -s "$T/sel.pcap" ] || [ "$("$T/pcapcat" -n "$T/sel.pcap")" = 0 ] ||
		"$T/pcapcat" -d "$T/sel.pcap"
}

# same_dump WANT GOT: the two dumps are the same, but where WANT's
# timestamp is "?" (the file's fraction is invalid, and libpcap's reading
# of it no reference), which matches any.
same_dump() {
	perl -e 'open my $w, "<", $ARGV[0] or exit 2; open my $g, "<", $ARGV[1] or exit 2;
		while (1) {
			my ($a, $b) = (scalar <$w>, scalar <$g>);
			exit 0 if !defined $a && !defined $b;
			exit 1 if !defined $a || !defined $b;
			next if $a eq $b;
			exit 1 unless $a =~ s/^\? // && $b =~ s/^\S+ // && $a eq $b;
		}' "$1" "$2"
}

# The same of node $1's pcap view.
view_dump() {
	[ "$(stat_of "$1" records)" = 0 ] ||
		{ timeout 30 cat "$1/pcap" >"$T/view.pcap" && "$T/pcapcat" -d "$T/view.pcap"; }
}
PFS_KEEP_GOING=1	# a daemon that dies fails this batch; the next ones still run
mapfile -t all_files < <(find "$CORPUS" -maxdepth 1 -type f | LC_ALL=C sort)
[ "${#all_files[@]}" -gt 0 ] || skip "no files in $CORPUS"
"$T/pcapcat" -c "${all_files[@]}" >"$T/good" 2>"$T/bad"
mapfile -t files <"$T/good"
nbad=$(wc -l <"$T/bad")
say "corpus: ${#all_files[@]} files, libpcap opens ${#files[@]}, $nbad left out:"
sed 's/^/    /' "$T/bad" | head -n 20
[ "${#files[@]}" -gt 0 ] || skip "libpcap opens no file in $CORPUS"

# The daemon refuses a file libpcap cannot open.
refused=$(sed -n '1s/: .*//p' "$T/bad")
if [ -z "$refused" ]; then
	refused=$T/zeros.pcap
	head -c 200 /dev/zero >"$refused"
fi
mkdir "$T/refuse"
rc=0
timeout -k 2 10 "$PIPESFS" -f -s "pcap:$refused" "$T/refuse" 2>"$T/refuse.err" || rc=$?
if mounted "$T/refuse"; then
	bad "pipesfs mounted with a source libpcap cannot open ($refused)"
	fusermount3 -u "$T/refuse"
fi
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] ||
	bad "pipesfs -s pcap:$refused: want a non-zero exit at once, got status $rc"
grep -qF -- "$refused" "$T/refuse.err" ||
	bad "pipesfs -s pcap:$refused: the error does not name the file: $(cat "$T/refuse.err")"
pfs_check_stderr "$T/refuse.err"

# The other filters, made below each source and left to run.
MORE=(ip/tcp/http/method=GET ip/tcp/http/text ip/tcp/text ip/tcp/payload ip/tcp/port=80
	ip/udp ip/icmp ip/host=10.0.0.1 ip/net=10.0.0.0_8 ip6/icmp6 ip6/tcp/http)
start=$(date +%s)
checked=0
for ((b = 0; b < ${#files[@]}; b += batch)); do
	args=()
	: >"$T/list"
	dirs=()
	for ((i = b; i < b + batch && i < ${#files[@]}; i++)); do
		args+=(-s "pcap:${files[$i]},name=f$i" -g "f$i/ip/tcp" -g "f$i/ip6/udp")
		printf 'f%d\t%s\n' "$i" "${files[$i]}" >>"$T/list"
	done
	pfs_mount "${args[@]}"
	for ((i = b; i < b + batch && i < ${#files[@]}; i++)); do
		dirs+=("$MNT/f$i/vlan" "$MNT/f$i/arp" "$MNT/f$i/bpf=$BPF")
		for s in "${MORE[@]}"; do
			dirs+=("$MNT/f$i/$s")
		done
	done
	mkdir -p "${dirs[@]}" || bad "mkdir of the filter nodes failed"
	rc=0
	timeout -k 5 600 "$T/corpuscheck" -t 30 "$MNT" ip ip/tcp ip6 ip6/udp vlan arp "bpf=$BPF" \
		<"$T/list" >"$T/check.out" 2>&1 || rc=$?
	grep -v '^checked ' "$T/check.out"
	n=$(sed -n 's/^checked \([0-9]*\) sources$/\1/p' "$T/check.out")
	checked=$((checked + ${n:-0}))
	case $rc in
	0) ;;
	1) PFS_FAILED=1 ;;
	4) PFS_FAILED=1 ;;	# the daemon died: reported below
	*) bad "corpuscheck on f$b.. ended with status $rc" ;;
	esac
	for ((i = b; i < b + batch && i < ${#files[@]}; i++)); do
		same_dump <(tcpdump_dump "${files[$i]}") <(view_dump "$MNT/f$i/bpf=$BPF") ||
			bad "f$i/bpf=$BPF/pcap differs from tcpdump -r ${files[$i]} '$BPF'"
	done
	stats=()
	for ((i = b; i < b + batch && i < ${#files[@]}; i++)); do
		for s in "${MORE[@]}"; do
			stats+=("$MNT/f$i/$s/stats")
		done
	done
	timeout 30 cat "${stats[@]}" > /dev/null || bad "the other filters' stats cannot all be read"
	if alive "$PFS_PID"; then
		pfs_umount || say "    (that mount held: $(cut -f2 "$T/list" | xargs -n1 basename | tr '\n' ' '))"
	else
		bad "pipesfs died while reading sources f$b..f$((i - 1)): $(cut -f2 "$T/list" | xargs -n1 basename | tr '\n' ' ')"
	fi
done
say "checked $checked captures in $(( $(date +%s) - start )) s; $nbad files left out"
check_eq "captures checked" "${#files[@]}" "$checked"
exit "$PFS_FAILED"
