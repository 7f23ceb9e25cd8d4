#!/bin/bash
# Every command of README.md runs as printed and does what the README says.
# The README marks its shell examples with `<!-- t_readme: NAME -->`; this
# test takes each marked block from README.md itself, so the two cannot
# drift, and runs it as root from the repository, /mnt/... being a fresh
# mount point:
#   - worked-example, on the demo trace: each `# COMMAND` runs; what it
#     prints (stdout and stderr, TZ=UTC, LC_ALL=C) must be the lines under
#     it ("..." stands for anything, a leading EPOCH.USEC for any time); it
#     must succeed unless those lines are an error message;
#   - http-demo, on the demo trace, as worked-example;
#   - live-http, live-intro, live-grep: live capture on `eth0`, one end of
#     a veth pair in network namespaces this test makes (addresses only
#     there): the daemon starts under `nsenter --net` (the mount stays
#     visible here), the other end sends HTTP (GET /, /admin, a path with
#     `..`, a query; a POST), DNS and HTTPS traffic, all the time; a
#     command that reads a live stream runs until it has printed (for
#     live-http: until it has printed what the README says it prints),
#     then is stopped, as Ctrl-C would; a command ending in `&` runs in the
#     background until the block's end; its output goes to a file, line
#     buffered as on a terminal (stdbuf -oL), and is checked after the
#     block;
#   - `make demo` and `make demo-live` through the scripts they run;
#   - --help lists every filter of the README's table, and each usage it
#     shows, its placeholders filled in, makes a node running that filter.
# Not run: `make deps` (it installs packages), `make check` (it runs this
# test) and the tuning example (huge pages and a NIC).
. "$(dirname "$0")/lib.sh"
need_trace
need_pipesfs
need_tool tcpdump tshark perl ip nsenter curl python3 setsid stdbuf
export TZ=UTC LC_ALL=C

# readme_block NAME: the code block after `<!-- t_readme: NAME ... -->`,
# its indentation taken off.
readme_block() {
	awk -v name="$1" '
		index($0, "<!-- t_readme: " name " ") == 1 || $0 == "<!-- t_readme: " name " -->" { want = 1; next }
		want && /^    / { print substr($0, 5); started = 1; next }
		want && started && !/^$/ { exit }
	' "$REPO/README.md"
}

# The command as it runs here: the mount point, and the daemon (DAEMON).
DAEMON=$PIPESFS
as_run() {
	sed -e "s#/mnt/pipes#$MNT#g; s#/mnt/p\\([/ ']\\|\$\\)#$MNT\\1#g" \
	    -e "s#^pipesfs #$DAEMON #" <<<"$1"
}

# glob LINE: README output as a pattern: "..." is anything, and so is a
# leading EPOCH.USEC time.
glob() {
	local p=$1
	p=${p//\\/\\\\}
	p=${p//\*/\\*}
	p=${p//\?/\\?}
	p=${p//\[/\\[}
	p=${p//\]/\\]}
	p=${p//.../*}
	[[ $p =~ ^[0-9]{10}\.[0-9]{6}\  ]] && p="[0-9]*.[0-9]* ${p#* }"
	printf '%s' "$p"
}

# A live stream never ends: a command reading one runs until it printed
# enough: LIVE_ENOUGH COMMAND OUTPUT_FILE says so (by default, a line).
reads_stream() { [[ $1 =~ ^(grep|tcpdump|cat)\ .*/(all|new|pcap)\'?(\ |$) ]]; }
printed_a_line() { grep -qv '^reading from file' "$2"; }
LIVE_ENOUGH=printed_a_line
# A command ending in `&` (comments aside) runs in the background.
in_background() { [[ $1 =~ \&[[:space:]]*(#.*)?$ ]]; }
BG_GROUPS=()
stop_background() {
	local g
	for g in "${BG_GROUPS[@]}"; do
		kill -TERM -- "-$g" 2>/dev/null
	done
	for g in "${BG_GROUPS[@]}"; do
		wait "$g" 2>/dev/null
	done
	BG_GROUPS=()
}

NCMD=0
# run_cmd COMMAND EXPECTED_LINES_FILE LIVE
run_cmd() {
	local cmd=$1 want=$2 live=$3 out=$T/out.$((++NCMD)) rc=0
	say "\$ $cmd"
	local real
	real=$(as_run "$cmd")
	if [ "$live" = live ] && in_background "$cmd"; then
		# its own process group, so that the whole pipeline can be stopped
		real=$(sed -E 's/[[:space:]]*&[[:space:]]*(#.*)?$//' <<<"$real")
		(cd "$REPO" && exec setsid stdbuf -oL bash -c "$real") >"$out" 2>&1 &
		BG_GROUPS+=($!)
		bg_add $!
		return
	fi
	if [ "$live" = live ] && reads_stream "$cmd"; then
		(cd "$REPO" && exec setsid stdbuf -oL bash -c "$real") >"$out" 2>&1 &
		local pid=$!
		bg_add $pid
		wait_for 30 "$LIVE_ENOUGH" "$cmd" "$out" ||
			bad "README: '$cmd' did not print what the README says within 30 s of live traffic: $(head -c 300 "$out")"
		kill -TERM -- "-$pid" 2>/dev/null
		wait $pid 2>/dev/null
		sed -n '1,3p' "$out"
		return
	fi
	(cd "$REPO" && timeout -k 2 60 bash -c "$real") >"$out" 2>&1 || rc=$?
	cat "$out"
	local error=0
	grep -q '^[a-z0-9]*: cannot ' "$want" && error=1
	[ "$rc" -eq 0 ] || [ "$error" -eq 1 ] ||
		bad "README: '$cmd' failed (status $rc): $(head -3 "$out")"
	[ "$error" -eq 1 ] && [ "$rc" -eq 0 ] && bad "README: '$cmd' succeeded; the README shows an error"
	local -a w g
	mapfile -t w <"$want"
	mapfile -t g <"$out"
	[ "${#w[@]}" -eq 0 ] && return
	if [ "${#w[@]}" -ne "${#g[@]}" ]; then
		bad "README: '$cmd' printed ${#g[@]} lines, the README shows ${#w[@]}"
		return
	fi
	local i
	for i in "${!w[@]}"; do
		# shellcheck disable=SC2053
		[[ ${g[i]} == $(glob "$(as_run "${w[i]}")") ]] ||
			bad "README: '$cmd' line $((i + 1)): printed '${g[i]}', the README shows '${w[i]}'"
	done
}

# run_block NAME [live]: each command of a marked block, with the output
# shown under it (`# COMMAND` blocks) or none (blocks of bare commands).
run_block() {
	local name=$1 live=${2:-} cmd="" prompt=0 line
	readme_block "$name" >"$T/block"
	[ -s "$T/block" ] || die "README.md has no block marked t_readme: $name"
	grep -q '^# ' "$T/block" && prompt=1
	: >"$T/want"
	while IFS= read -r line; do
		if [ "$prompt" -eq 0 ] || [[ $line == '# '* ]]; then
			[ -n "$cmd" ] && run_cmd "$cmd" "$T/want" "$live"
			cmd=${line#\# }
			: >"$T/want"
		else
			printf '%s\n' "$line" >>"$T/want"
		fi
	done <"$T/block"
	[ -n "$cmd" ] && run_cmd "$cmd" "$T/want" "$live"
}

# The daemon a README command started: unmount (if the block did not),
# and it must end.
readme_umount() {
	if mounted "$MNT"; then
		fusermount3 -u "$MNT" || bad "fusermount3 -u $MNT failed"
	fi
	wait_for 10 not_mounted "$MNT" || bad "$MNT is still mounted"
}
not_mounted() { ! mounted "$1"; }

# ---- the worked example, on the demo trace --------------------------------------
MNT=$(mktemp -d "$T/mnt.XXXX")
run_block worked-example
not_mounted "$MNT" || bad "the worked example ends mounted"
readme_umount

MNT=$(mktemp -d "$T/mnt.XXXX")
run_block http-demo
not_mounted "$MNT" || bad "the HTTP example ends mounted"
readme_umount

# ---- live examples: eth0 in a namespace of our own -------------------------------
id=pfsreadme$$
cap=${id}c snd=${id}s
ip netns add "$cap" 2>"$T/netns.err" || skip "network namespaces are not available here: $(cat "$T/netns.err")"
ip netns add "$snd" || die "ip netns add $snd"
cleanup_ns() { ip netns del "$cap" 2>/dev/null; ip netns del "$snd" 2>/dev/null; }
trap 'rc=$?; stop_background; cleanup_ns; (exit $rc); pfs_cleanup' EXIT
ip link add eth0 netns "$cap" type veth peer name v1 netns "$snd" || die "cannot make a veth pair"
ip -n "$cap" addr add 10.0.0.7/24 dev eth0
ip -n "$snd" addr add 10.0.0.2/24 dev v1
ip -n "$cap" link set eth0 up
ip -n "$snd" link set v1 up
ip -n "$cap" link set lo up
# The capture end serves HTTP; the other end asks it for pages, DNS and
# HTTPS (nobody answers those), all the time.
ip netns exec "$cap" python3 -m http.server 80 --bind 10.0.0.7 >/dev/null 2>&1 &
bg_add $!
ip netns exec "$snd" bash -c 'while :; do
	for uri in / /admin /a/../etc/passwd "/x?y=1"; do
		curl -s -m 1 --path-as-is -o /dev/null "http://10.0.0.7$uri"
	done
	curl -s -m 1 -o /dev/null -d name=x http://10.0.0.7/form
	echo query > /dev/udp/10.0.0.7/53
	timeout 1 bash -c "exec 3<>/dev/tcp/10.0.0.7/443" 2>/dev/null
	sleep 0.2
done' >/dev/null 2>&1 &
bg_add $!

DAEMON="nsenter --net=/run/netns/$cap $PIPESFS"

# live-http: the README's opening.  Each GET the sender makes, as curl
# sends it; the sender's GETs come in rounds of these URIs.
GETS=(/ /admin /a/../etc/passwd '/x?y=1')
CLEAN=(/ /admin '/x?y=1')
# requests FILE: the URIs of FILE's requests, one a line, if FILE is
# nothing but whole GET requests from the sender; else "BAD ..." lines.
requests() {
	perl -e 'local $/; my $b = <STDIN>; my $at = 0;
		while ($b =~ m{\GGET (\S+) HTTP/1\.1\r\nHost: 10\.0\.0\.7\r\nUser-Agent: curl/[^\r\n]+\r\nAccept: \*/\*\r\n\r\n}gc) {
			print "$1\n"; $at = pos($b);
		}
		print "BAD at byte $at: ", substr($b, $at, 60) =~ s/[^ -~]/./gr, "\n" if $at < length $b;' <"$1"
}
# in_rounds FILE URI...: FILE's URIs are the rounds of URI..., in order,
# none missing (the first and last rounds may be partial); prints why not.
in_rounds() {
	local file=$1
	shift
	perl -e 'my @r = @ARGV; my @u = map { chomp; $_ } <STDIN>;
		my ($i) = grep { $u[$_] eq $r[0] } 0 .. $#u;
		exit print "no $r[0]\n" unless defined $i;
		for my $k (0 .. $#u) {
			my $want = $r[($k - $i) % @r];
			exit print "request $k is $u[$k], not $want\n" if $u[$k] ne $want;
		}' "$@" <"$file"
}
count_of() { grep -cxF -- "$1" "$2"; }
http_enough() {
	local cmd=$1 out=$2
	case $cmd in
	*httpclean/get/all*)	# two rounds, so a `..` request went through the pipeline
		requests "$out" >"$out.uris"
		[ "$(count_of /x?y=1 "$out.uris")" -ge 2 ] ;;
	*get/all*)	# two rounds
		requests "$out" >"$out.uris"
		[ "$(count_of /x?y=1 "$out.uris")" -ge 2 ] ;;
	*text/all*)
		grep -q ' /admin$' "$out" ;;
	*) printed_a_line "$cmd" "$out" ;;
	esac
}
MNT=$(mktemp -d "$T/mnt.XXXX")
LIVE_ENOUGH=http_enough
N0=$NCMD
run_block live-http live
LIVE_ENOUGH=printed_a_line
# The outputs of its commands: get/all (2), grep (3), the clean GETs (7).
requests "$T/out.$((N0 + 2))" >"$T/get.uris"
grep BAD "$T/get.uris" && bad "live-http: get/all is not whole GET requests as sent"
why=$(in_rounds "$T/get.uris" "${GETS[@]}")
[ -z "$why" ] || bad "live-http: get/all misses a GET, or has another request: $why"
grep -q '^[0-9]*\.[0-9]\{6\} 10\.0\.0\.2:[0-9]* > 10\.0\.0\.7:80 GET 10\.0\.0\.7 /admin$' "$T/out.$((N0 + 3))" &&
	! grep -v ' /admin' "$T/out.$((N0 + 3))" | grep -q . ||
	bad "live-http: the grep did not print just the /admin lines: $(head -3 "$T/out.$((N0 + 3))")"
[ -d "$MNT/httpclean/get" ] && [ ! -e "$MNT/eth0/ip/tcp/http/get" ] ||
	bad "live-http: get did not move under httpclean"
requests "$T/out.$((N0 + 7))" >"$T/clean.uris"
grep BAD "$T/clean.uris" && bad "live-http: httpclean/get/all is not whole GET requests"
grep -F .. "$T/clean.uris" && bad "live-http: a request with .. passed the scrubbing"
why=$(in_rounds "$T/clean.uris" "${CLEAN[@]}")
[ -z "$why" ] || bad "live-http: httpclean/get/all misses a clean GET: $why"
stop_background
readme_umount

MNT=$(mktemp -d "$T/mnt.XXXX")
run_block live-intro live
[ -d "$MNT/clean/port=80/text" ] && [ ! -e "$MNT/eth0/ip/tcp/port=80" ] ||
	bad "live-intro: port=80 did not move under clean"
check_eq "filter of clean/port=80" port=80 "$(timeout 5 cat "$MNT/clean/port=80/filter")"
readme_umount

MNT=$(mktemp -d "$T/mnt.XXXX")
run_block live-grep live
# What its grep (the second command) and tcpdump (the fourth) printed.
grep -q ' > 10.0.0.7:53 ' "$T/out.$((NCMD - 2))" || bad "live-grep: grep showed no DNS query"
grep -q '10.0.0.7.443' "$T/out.$NCMD" || bad "live-grep: tcpdump showed no HTTPS packet"
readme_umount

# ---- make demo, make demo-live: the scripts they run ----------------------------
for target in demo demo-live; do
	grep -q "^$target: " "$REPO/Makefile" && grep -A1 "^$target: " "$REPO/Makefile" |
		grep -q "scripts/$target.sh" || bad "make $target does not run scripts/$target.sh"
	timeout 120 "$REPO/scripts/$target.sh" "$PIPESFS" >"$T/$target.out" 2>&1 ||
		bad "make $target (scripts/$target.sh) failed: $(tail -5 "$T/$target.out")"
done

# ---- --help: every filter, with a syntax that works -------------------------------
"$PIPESFS" --help >"$T/help" || bad "pipesfs --help failed"
sed -n '/pass-through node:$/,/^`fusermount3/p' "$T/help" | awk '/^  [^ ]/ { print $1 }' >"$T/usages"
sed -n '/^| spec | passes on |/,/^$/p' "$REPO/README.md" | grep -o '`[a-z0-9]*[=`]' |
	tr -d '`=' | sort -u >"$T/readme.filters"
sed 's/=.*//' "$T/usages" | sort -u >"$T/help.filters"
check_eq "filters in --help against README's table" "$(cat "$T/readme.filters")" "$(cat "$T/help.filters")"
pfs_mount -s "pcap:$TRACE,name=demo"
while read -r usage; do
	spec=${usage%%|*}
	spec=${spec//ADDR\/LEN/10.0.0.0_8}
	spec=${spec//ADDR/10.0.0.7}
	spec=${spec//EXPR/tcp port 80}
	spec=${spec//N/80}
	mkdir "$MNT/demo/$spec" 2>"$T/mkdir.err" ||
		bad "--help shows $usage, but mkdir demo/$spec fails: $(cat "$T/mkdir.err"): $(timeout 5 tail -n 1 "$MNT/log")"
	[ -d "$MNT/demo/$spec" ] && check_eq "filter of demo/$spec (from --help's $usage)" "$spec" \
		"$(timeout 5 cat "$MNT/demo/$spec/filter")"
done <"$T/usages"
pfs_done
