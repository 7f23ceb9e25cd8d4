#!/bin/bash
# Zero-copy clients (libpipesfs, the daemon's socket; docs/zerocopy.md).
#   - examples/zerocopy-count reads a stage's records in place: the same
#     records and bytes as `cat all`; a source's, in its capture file
#     mapped in place; and a written node's;
#   - a client that opened a written node before any writer gets the ring
#     of each writer that comes (one while another is still open), and
#     ends at once when the last closes (end of stream);
#   - bad input on the socket (short, unknown, oversized, carrying a
#     descriptor) gets an error and a closed connection, and the daemon
#     keeps serving;
#   - without allow_other another user's connection is refused.
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_trace
need_tool python3
ZC=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
[ -x "$ZC" ] || skip "no $ZC (make builds it)"

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
pfs_done
