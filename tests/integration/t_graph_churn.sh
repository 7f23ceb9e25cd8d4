#!/bin/bash
# "Graph changes never stop traffic" (DESIGN.md "Operations"): for about
# 6 s, while a looping source replays and a reader follows s/ip/tcp, nodes
# are made, read, linked, unlinked, moved, refiltered and removed (some
# while a reader is still on them).  Every operation must succeed, the
# long reader must keep getting data, the daemon must stay up and end
# cleanly (this is the test to run with the SAN build: races between
# workers, readers and graph changes show up as sanitizer reports).
. "$(dirname "$0")/lib.sh"
need_trace

pfs_mount -s "pcap:$TRACE,name=s,loop,start=now" -g s/ip/tcp -g s/ip6
cat "$MNT/s/ip/tcp/all" >/dev/null 2>"$T/long.err" &
long=$!
bg_add $long
wait_for 10 stat_is "$MNT/s/ip/tcp" records -gt 1000 || bad "the looping source does not flow"

# The churn, in one perl process so it is fast: each round makes
# s/ip/xN and s/ip/tcp/port=80, opens and reads their streams, links xN
# under s/ip6 and unlinks it, gives it a child, moves it under s/ip6,
# writes its filter, and removes it all while its stream is still open
# (read again after the removal: EOF or data, never an error).
timeout -k 5 60 perl -e '
	use strict; use warnings; use Time::HiRes qw(time);
	my ($m, $secs) = @ARGV;
	my $end = time + $secs;
	my ($i, $bad) = (0, 0);
	$SIG{ALRM} = sub { die "a read blocked for 5 s\n" };
	sub ok { my ($what, $r) = @_; return 1 if $r; print "FAIL: during the churn: $what: $!\n"; $bad++; return 0 }
	sub rd { my ($f) = @_; my $buf; alarm 5; my $n = sysread($f, $buf, 65536); alarm 0; return $n }
	while (time < $end && $i < 5000) {
		$i++;
		my $x = "$m/s/ip/x$i";
		ok("mkdir $x", mkdir $x) or last;
		ok("mkdir s/ip/tcp/port=80", mkdir "$m/s/ip/tcp/port=80") or last;
		my ($fa, $fp);
		ok("open $x/all", open($fa, "<", "$x/all")) or last;
		ok("open port=80/pcap", open($fp, "<", "$m/s/ip/tcp/port=80/pcap")) or last;
		ok("read $x/all", defined rd($fa));
		ok("read port=80/pcap", defined rd($fp));
		ok("symlink", symlink("../ip/x$i", "$m/s/ip6/l$i"));
		ok("mkdir $x/c", mkdir "$x/c");
		ok("unlink s/ip6/l$i", unlink "$m/s/ip6/l$i");
		ok("rename $x s/ip6/x$i", rename($x, "$m/s/ip6/x$i"));
		if (ok("open s/ip6/x$i/filter", open(my $ff, ">", "$m/s/ip6/x$i/filter"))) {
			ok("write filter", syswrite($ff, "tcp\n"));
			close $ff;
		}
		ok("read s/ip6/x$i/all after the move", defined rd($fa));
		ok("rmdir s/ip6/x$i/c", rmdir "$m/s/ip6/x$i/c");
		ok("rmdir s/ip6/x$i", rmdir "$m/s/ip6/x$i");
		ok("rmdir s/ip/tcp/port=80", rmdir "$m/s/ip/tcp/port=80");
		# Removed while open: the rest of what it holds, then EOF.
		my $n;
		for (1 .. 100000) { $n = rd($fa); last unless $n }
		ok("read $x/all after rmdir (to EOF)", defined $n && $n == 0);
		for (1 .. 100000) { $n = rd($fp); last unless $n }
		ok("read port=80/pcap after rmdir (to EOF)", defined $n && $n == 0);
		close $fa; close $fp;
	}
	print "$i rounds of graph changes\n";
	exit($bad ? 1 : 0);
' "$MNT" 6 >"$T/churn.out" 2>&1 || PFS_FAILED=1
sed -n '1,30p' "$T/churn.out"
rounds=$(sed -n 's/^\([0-9]*\) rounds of graph changes$/\1/p' "$T/churn.out")
[ "${rounds:-0}" -ge 10 ] || bad "only ${rounds:-0} rounds of graph changes in 6 s"
alive "$PFS_PID" || bad "pipesfs died during the churn"

# The long reader still follows s/ip/tcp, which still fills.
alive $long || bad "the reader of s/ip/tcp/all ended during the churn: $(cat "$T/long.err")"
r0=$(stat_of "$MNT/s/ip/tcp" records)
wait_for 5 stat_is "$MNT/s/ip/tcp" records -gt "$r0" || bad "s/ip/tcp stopped growing after the churn"
check_eq "nodes left under s/ip6 after the churn" "" "$(find "$MNT/s/ip6" -mindepth 1 -maxdepth 1 \( -type d -o -type l \) | head -n 3)"

# Stages that make bytes, made and removed at once under the busy source,
# 40 times each: the data ring the source makes at such a node's first
# record must not outlive the node in the source's list (a use after free
# once, at the next rmdir).
for spec in text "bpf=tcp port 80" payload; do
	for _ in $(seq 1 40); do
		mkdir "$MNT/s/ip/tcp/$spec" 2>/dev/null
		rmdir "$MNT/s/ip/tcp/$spec" 2>/dev/null
	done
	alive "$PFS_PID" || pfs_died
done
say "made and removed text, bpf= and payload 40 times each under the busy source"

kill -TERM $long 2>/dev/null
wait_gone $long 3
pfs_done
