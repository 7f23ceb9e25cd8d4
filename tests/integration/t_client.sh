#!/bin/bash
# Zero-copy clients (libpipesfs, the daemon's socket; docs/zerocopy.md).
#   - examples/zerocopy-count reads a stage's records in place: the same
#     records and bytes as `cat all`; a source's, in its capture file
#     mapped in place; and a written node's;
#   - a client that opened a written node before any writer gets the ring
#     of each writer that comes (one while another is still open), and
#     ends at once when the last closes (end of stream); so does one in an
#     event loop (poll on pipesfs_fd) that was busy when the first records
#     came: every record, none lost; with PIPESFS_FROM_NOW too (a ring made
#     after the open is read from its start); and when the node is
#     removed before the busy client looks: every record, then the end;
#   - six clients of one node at once, and a `cat` of it beside them: each
#     gets every record;
#   - the mount root, and a directory outside any mount whose `.socket`
#     names a socket, are refused with ENOTDIR;
#   - a client waiting when the daemon is killed returns ECONNRESET (both
#     pipesfs_wait and pipesfs_fd's poll);
#   - bad input on the socket (short, unknown, oversized, carrying a
#     descriptor) gets an error and a closed connection, and the daemon
#     keeps serving;
#   - without allow_other another user's connection is refused.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_trace
need_tool python3
ZC=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
[ -x "$ZC" ] || die "no $ZC (make builds it)"
ZCPOLL=${ZCPOLL:-$(dirname "$PIPESFS")/tests/tools/zcpoll}
[ -x "$ZCPOLL" ] || die "no $ZCPOLL (make builds it)"

pfs_mount -s "pcap:$TRACE,name=demo" -g demo/ip/tcp/text
sock=$(cat "$MNT/.socket")
[ -S "$sock" ] || die "the mount root's .socket names no socket: '$sock'"

read -r _ rec _ bytes _ lost < <("$ZC" "$MNT/demo/ip/tcp/text" 2)
check_eq "text records through libpipesfs = lines of cat all" \
	"$(timeout 5 cat "$MNT/demo/ip/tcp/text/all" | wc -l)" "$rec"
check_eq "text bytes through libpipesfs = bytes of cat all" \
	"$(timeout 5 cat "$MNT/demo/ip/tcp/text/all" | wc -c)" "$bytes"
check_eq "records lost" 0 "$lost"
say "libpipesfs on demo/ip/tcp/text: $rec records, $bytes bytes"

# The source's own records lie in the capture file, mapped in place: the
# client maps the file too.
read -r _ rec _ bytes _ lost < <("$ZC" "$MNT/demo" 1)
check_eq "the source's records and bytes through libpipesfs (the file, in place)" \
	"$(timeout 5 tcpdump -r "$TRACE" 2>/dev/null | wc -l) $(timeout 5 cat "$MNT/demo/all" | wc -c)" \
	"$rec $bytes"

mkdir "$MNT/w"
printf 'hello\nworld\n' > "$MNT/w/all"
read -r _ rec _ bytes _ lost < <("$ZC" "$MNT/w" 1)
check_eq "a written node's bytes through libpipesfs" 12 "$bytes"

mkdir "$MNT/w2"
"$ZC" "$MNT/w2" 30 > "$T/w2.out" 2>&1 &
zc=$!
bg_add $zc
# The client's watch counts among the node's readers.
wait_for 10 stat_is "$MNT/w2" readers -ge 1 || bad "the client of w2 did not open: $(cat "$T/w2.out")"
exec 3> "$MNT/w2/all"
printf 'one\n' >&3
printf 'second\n' > "$MNT/w2/all"
exec 3>&-
# Idle, it would wait 30 s: ending at once is the end of stream.
wait_gone $zc 5 || bad "the client of w2 did not end when its writers closed"
check_eq "a client opened before the writers: what two writers wrote (two rings made later)" \
	"records 2 bytes 11 lost 0" "$(cat "$T/w2.out")"

# The same in an event loop, busy for 300 ms when the first records come.
mkdir "$MNT/w3"
"$ZCPOLL" "$MNT/w3" 30 300 > "$T/w3.out" 2>&1 &
zc=$!
bg_add $zc
wait_for 10 stat_is "$MNT/w3" readers -ge 1 || bad "the poll client of w3 did not open: $(cat "$T/w3.out")"
cat "$TRACE" > "$MNT/w3/pcap" || bad "writing the trace into w3/pcap failed"
wait_gone $zc 5 || bad "the poll client of w3 did not end when its writer closed"
check_eq "a poll client busy when the first records came: the trace's packets" \
	"records $(tcpdump -r "$TRACE" 2>/dev/null | wc -l) bytes $(stat_of "$MNT/w3" bytes) lost 0" \
	"$(cat "$T/w3.out")"

# The same, opened from now; and a node removed before the client looks.
busy_client() {
	local node=$1 what=$2
	shift 2
	"$ZCPOLL" "$MNT/$node" 30 "$@" > "$T/$node.out" 2>&1 &
	local zc=$!
	bg_add $zc
	wait_for 10 stat_is "$MNT/$node" readers -ge 1 || bad "the client of $node did not open"
	cat "$TRACE" > "$MNT/$node/pcap" || bad "writing the trace into $node/pcap failed"
	[ "$what" != removed ] || rmdir "$MNT/$node" || bad "rmdir $node failed"
	wait_gone $zc 5 || bad "the client of $node did not end"
	check_eq "a busy poll client of $node ($what): the trace's packets" \
		"records $(tcpdump -r "$TRACE" 2>/dev/null | wc -l) bytes $trace_bytes lost 0" \
		"$(cat "$T/$node.out")"
}
trace_bytes=$(stat_of "$MNT/w3" bytes)
mkdir "$MNT/w3n" "$MNT/w3r"
busy_client w3n "opened from now" 1000 now
busy_client w3r removed 1000

# Six clients of one node, and a cat beside them.
mkdir "$MNT/w4"
zcs=()
for i in 1 2 3 4 5 6; do
	"$ZC" "$MNT/w4" 30 > "$T/w4.$i.out" 2>&1 &
	zcs+=($!)
	bg_add $!
done
wait_for 10 stat_is "$MNT/w4" readers -ge 6 || bad "six clients of w4 did not all open: $(cat "$T"/w4.*.out)"
timeout 10 cat "$MNT/w4/all" > "$T/w4.cat" &
c4=$!
bg_add $c4
wait_for 10 stat_is "$MNT/w4" readers -ge 7 || bad "cat of w4/all did not open"
printf 'six and a cat\n' > "$MNT/w4/all"
for p in "${zcs[@]}" $c4; do
	wait_gone "$p" 5 || bad "a reader of w4 did not end at its end of stream"
done
check_eq "cat of w4/all beside six clients" "six and a cat" "$(cat "$T/w4.cat")"
for i in 1 2 3 4 5 6; do
	check_eq "client $i of 6 on w4" "records 1 bytes 14 lost 0" "$(cat "$T/w4.$i.out")"
done

# What is no node of a mount.
check_eq "zerocopy-count of the mount root" "zerocopy-count: $MNT: Not a directory" \
	"$("$ZC" "$MNT" 1 2>&1)"
# A .socket at the root of a file system that is no pipesfs (a tmpfs of
# the test's), naming a socket that notes who connects.
mkdir "$T/fake"
mount -t tmpfs -o size=1m pfs-fake "$T/fake" || die "cannot mount a tmpfs"
mkdir "$T/fake/dir"
echo "$T/fake.sock" > "$T/fake/.socket"
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(10)
try:
    s.accept(); open(sys.argv[2], "w").write("connected\n")
except socket.timeout:
    pass' "$T/fake.sock" "$T/fake.log" &
fake=$!
bg_add $fake
wait_for 5 test -S "$T/fake.sock" || bad "the fake socket did not start"
check_eq "zerocopy-count of a directory on a tmpfs with a .socket at its root" \
	"zerocopy-count: $T/fake/dir: Not a directory" "$("$ZC" "$T/fake/dir" 1 2>&1)"
[ ! -e "$T/fake.log" ] || bad "the library connected to the socket a stray .socket named"
kill $fake 2>/dev/null
umount "$T/fake"

# Bad input: each message gets an error or a closed connection; the
# daemon serves on.
python3 - "$sock" > "$T/bad.out" 2>&1 <<'EOF' || bad "bad-input client: $(cat "$T/bad.out")"
import os, socket, struct, sys
path = sys.argv[1]
def attempt(name, data, fds=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    if fds:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fds))])
    else:
        s.send(data)
    s.settimeout(5)
    reply = s.recv(8192)
    after = s.recv(8192)	# b"" once the daemon closed it
    typ = struct.unpack("II", reply[:8])[0] if len(reply) >= 8 else None
    print(name, "reply type", typ, "then", "closed" if after == b"" else "open")
    if typ != 65 or after != b"":
        sys.exit(name + ": expected an error (65) and a closed connection")
attempt("short", b"\x01")
attempt("unknown type", struct.pack("II", 99, 0))
attempt("length mismatch", struct.pack("II", 1, 100) + b"x")
attempt("oversized", struct.pack("II", 1, 8192) + b"x" * 8192)
attempt("descriptor", struct.pack("II", 1, 8) + struct.pack("II", 1, 0), os.open("/dev/null", os.O_RDONLY))
attempt("wrong version", struct.pack("II", 1, 8) + struct.pack("II", 7, 0))
EOF
say "$(cat "$T/bad.out")"
alive "$PFS_PID" || bad "the daemon died of bad input on its socket"
read -r _ rec _ _ _ _ < <("$ZC" "$MNT/demo/ip/tcp/text" 1)
[ "${rec:-0}" -gt 0 ] || bad "libpipesfs reads nothing after the bad input"

# Without allow_other, only the owner may connect.
if id nobody > /dev/null 2>&1; then
	chmod o+rx "$T" "$(dirname "$ZC")" 2>/dev/null
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
try:
    s.send(b"\x01\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00")
    print("closed" if s.recv(100) == b"" else "answered")
except (ConnectionResetError, BrokenPipeError):
    print("closed")' "$sock" 2>&1)
	check_eq "another user's connection (no allow_other)" closed "$out"
fi

# The daemon killed while clients wait: they hear of it.
mkdir "$MNT/w5"
"$ZC" "$MNT/w5" 30 > "$T/w5.wait.out" 2> "$T/w5.wait.err" &
zw=$!
"$ZCPOLL" "$MNT/w5" 30 > "$T/w5.poll.out" 2>&1 &
zp=$!
bg_add $zw
bg_add $zp
wait_for 10 stat_is "$MNT/w5" readers -ge 2 || bad "the clients of w5 did not open"
kill -KILL "$PFS_PID"
wait "$PFS_PID" 2>/dev/null
PFS_PID=""
for p in $zw $zp; do
	wait_gone "$p" 5 || bad "a client still waits 5 s after the daemon was killed"
done
check_eq "pipesfs_wait when the daemon is killed" \
	"zerocopy-count: $MNT/w5: Connection reset by peer" "$(cat "$T/w5.wait.err")"
check_eq "poll on pipesfs_fd, then pipesfs_wait, when the daemon is killed" \
	"error: Connection reset by peer" "$(cat "$T/w5.poll.out")"
fusermount3 -u "$MNT" || bad "fusermount3 -u of the killed daemon's mount failed"
# A killed daemon cannot remove its socket's directory: the test does.
rm -r "$(dirname "$sock")" || bad "cannot remove the killed daemon's socket directory"
exit "$PFS_FAILED"
