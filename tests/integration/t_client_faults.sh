#!/bin/bash
# Faults on the zero-copy socket (docs/zerocopy.md; the issue's "a client
# that dies mid-read affects no one; a slow client loses records (counted),
# never holds back a live source or another user's lossless producer;
# nothing a client sends can make the daemon read or write outside a ring
# or crash it"), on one mount of the demo trace looping (l, with
# l/ip/tcp/text: a stage whose records clients read) and written nodes:
#   1. clients SIGKILLed mid-read (running, and stopped): the daemon lives,
#      a `cat all` beside them keeps reading, their connections and watches
#      go (readers, the daemon's descriptors back to what they were), the
#      socket serves a new client, `log` has no new line but pause/resume;
#   2. a client SIGSTOPped on a lossless written node: a writer of many
#      rings completes while it is stopped; after SIGCONT it counts what
#      it lost (lost > 0, records + lost = what was written);
#   3. floods: 300 connections at once from one user (the daemon takes 64
#      per user): the others get an error and are closed, the 64 are
#      served, a new client works once they go;
#      65 OPENs on one connection: the 65th gets EMFILE, the connection
#      stays usable; RINGS requests sent and never read: the daemon drops
#      that connection and serves others meanwhile; 200 descriptors in one
#      message, and the connection's own socket: an error, closed, none
#      kept by the daemon; stream and datagram sockets are refused;
#   4. 1000 random messages (types 0..100, lengths 0..5000, header lengths
#      true or not, bodies random or near-valid) and 1000 well-formed
#      requests of random inodes and handles, 5 s at most; a client
#      that never sends, one that sends half a header and closes, one that
#      asks for RINGS and closes before the reply: the daemon lives and a
#      proper client works afterwards;
#   5. OPEN of a file's inode, of no node, of the root, and of a node
#      removed between OPEN and RINGS: error replies (or RINGS' `ended`),
#      never a crash; a client reading a node that is removed ends;
#   6. with allow_other and --group, a member (nobody) holding 300
#      connections does not lock the owner out, and cannot make the rings
#      it gets writable (mmap, /proc/self/fd reopened O_RDWR).
# Every check runs whatever the previous ones found; a dead daemon fails
# the test at once (lib.sh's `bad`).
. "$(dirname "$0")/lib.sh"
need_pipesfs
need_trace
# /usr/bin/python3 starts in a tenth of the time a pyenv shim may take.
PY=${PY:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3) || skip "python3 is not installed"
ZC=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
[ -x "$ZC" ] || skip "no $ZC (make builds it)"

# The protocol (include/pipesfs_proto.h), for the python clients below.
cat >"$T/pfsproto.py" <<'EOF'
import os, socket, struct, time
HELLO, OPEN, RINGS, WAIT, CLOSE = 1, 2, 3, 4, 5
OK, ERROR, RING = 64, 65, 66
ERRS = (ConnectionResetError, BrokenPipeError, ConnectionRefusedError)

def conn(path, timeout=5):
    """A connection.  A socket with a timeout connects without blocking:
    while the daemon's backlog (64) is full that is EAGAIN, so try again
    for up to `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.001)

def msg(t, body=b"", length=None):
    return struct.pack("II", t, len(body) if length is None else length) + body

def node(ino=0, handle=0, first=0):
    """struct pfs_msg_node: RINGS sends the rings of ports from `first` on."""
    return struct.pack("QII", ino, handle, first)

def hello():
    return msg(HELLO, struct.pack("II", 1, 0))

def recv(s):
    """One message: (type, body, descriptors it carried); None: closed."""
    try:
        data, anc, flags, _ = s.recvmsg(8192, socket.CMSG_SPACE(16 * 4))
    except ERRS:
        return None
    fds = []
    for lvl, typ, d in anc:
        if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds += list(struct.unpack("%di" % (len(d) // 4), d[:len(d) - len(d) % 4]))
    for fd in fds:
        os.close(fd)
    if len(data) < 8:
        return None if not data else ("short", data, len(fds))
    t, n = struct.unpack("II", data[:8])
    return t, data[8:], len(fds)

def err_of(r):
    return struct.unpack("i", r[1][:4])[0] if r and r[0] == ERROR and len(r[1]) >= 4 else None

def name(r):
    if r is None:
        return "closed"
    if r[0] == ERROR:
        e = err_of(r)
        return "ERROR %s (%s)" % (os.strerror(e) if e else e, r[1][4:].split(b"\0")[0].decode(errors="replace"))
    return {OK: "OK", RING: "RING"}.get(r[0], "type %r" % (r[0],))

def request(s, t, body=b""):
    """Send one request: (its final reply or None, RING messages before it)."""
    try:
        s.send(msg(t, body))
    except ERRS:
        return None, 0
    rings = 0
    while True:
        r = recv(s)
        if r is None or r[0] != RING:
            return r, rings
        rings += 1

def works(path, ino):
    """A proper client: HELLO, OPEN ino, RINGS, WAIT, CLOSE all OK.  None,
    or what went wrong."""
    try:
        s = conn(path)
    except (OSError, socket.timeout) as e:
        return "connect: %s" % e
    with s:
        try:
            r, _ = request(s, HELLO, struct.pack("II", 1, 0))
            if not r or r[0] != OK:
                return "HELLO: %s" % name(r)
            r, _ = request(s, OPEN, node(ino))
            if not r or r[0] != OK:
                return "OPEN: %s" % name(r)
            h = struct.unpack("QII", r[1][:16])[1]
            r, n = request(s, RINGS, node(0, h))
            if not r or r[0] != OK:
                return "RINGS: %s" % name(r)
            r, _ = request(s, WAIT, node(0, h))
            if not r or r[0] != OK or r[2] != 1:
                return "WAIT: %s" % name(r)
            r, _ = request(s, CLOSE, node(0, h))
            if not r or r[0] != OK:
                return "CLOSE: %s" % name(r)
        except socket.timeout:
            return "no reply within 5 s"
    return None
EOF
export PYTHONPATH=$T

# py SCRIPT ARGS...: a python client (bounded); its output on stdout.
py() {
	local code=$1
	shift
	timeout -k 2 30 "$PY" -c "$code" "$@" 2>&1
}

# One mount for everything: the demo trace looping (lossless for the
# owner's `cat`), 1M rings so that a written node is lapped soon.
pfs_mount --ring-size 1M -s "pcap:$TRACE,loop,name=l" -g l/ip/tcp/text
TEXT=$MNT/l/ip/tcp/text
sock=$(cat "$MNT/.socket")
[ -S "$sock" ] || die "the mount root's .socket names no socket: '$sock'"

# daemon_fds: how many descriptors the daemon has open.
daemon_fds() { find "/proc/$PFS_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# fds_at_most N: the daemon holds at most N descriptors.
# shellcheck disable=SC2317  # called through wait_for
fds_at_most() { [ "$(daemon_fds)" -le "$1" ]; }
# log_news: lines of `log` since line $1, but pause/resume.
log_news() {
	timeout 5 cat "$MNT/log" | tail -n +"$(($1 + 1))" | grep -vE ': (paused|resumed): |: no filter of that name, a pass-through node$'
}
log_lines() { timeout 5 cat "$MNT/log" | wc -l; }
# client_works INO WHAT: a python client does HELLO, OPEN, RINGS, WAIT, CLOSE.
client_works() {
	local out
	out=$(py 'import sys, pfsproto as p
print(p.works(sys.argv[1], int(sys.argv[2])) or "ok")' "$sock" "$1")
	[ "$out" = ok ] || bad "$2: a proper client fails: $out"
}
# zc_works NODE RECORDS WHAT: zerocopy-count reads RECORDS records of NODE
# (a finished node), none lost.
zc_works() {
	local out
	out=$(timeout 10 "$ZC" "$1" 1 2>&1)
	check_eq "$3: zerocopy-count $1" "records $2 lost 0" \
		"$(sed -E 's/bytes [0-9]+ //' <<<"$out")"
}
ino_of() { stat -c %i "$1"; }

# A written node with the trace in it, as a finished node for zc_works.
mkdir "$MNT/done" || die "mkdir done"
cat "$TRACE" >"$MNT/done/pcap" || die "cat TRACE > done/pcap failed"
NREC=$(stat_of "$MNT/done" records)
[ "${NREC:-0}" -gt 0 ] || die "done/pcap: no records after cat TRACE"
zc_works "$MNT/done" "$NREC" "before any fault"
TEXT_INO=$(ino_of "$TEXT")
client_works "$TEXT_INO" "before any fault"
log0=$(log_lines)

# ---- 1. clients killed mid-read ---------------------------------------------
timeout 120 cat "$TEXT/all" >/dev/null &
catpid=$!
bg_add $catpid
wait_for 5 stat_is "$TEXT" readers = 1 || bad "the reader of text/all is not listed"
wait_for 5 stat_is "$TEXT" records -gt 1000 || bad "the looping replay does not reach text"
fds0=$(daemon_fds)
for i in 1 2 3 4 5 6; do
	"$ZC" "$TEXT" >/dev/null 2>"$T/zc$i.err" &
	zc=$!
	bg_add $zc
	# Open: its watch is listed among the node's readers.
	wait_for 5 stat_is "$TEXT" readers = 2 || bad "kill $i: the client's watch is not listed: $(cat "$T/zc$i.err")"
	sleep "0.$((i * 15))"
	[ "$i" -gt 4 ] && kill -STOP $zc	# stopped, then killed
	alive $zc || bad "kill $i: zerocopy-count ended before it was killed: $(cat "$T/zc$i.err")"
	r0=$(stat_of "$TEXT" records)
	kill -KILL $zc
	wait $zc 2>/dev/null
	alive "$PFS_PID" || bad "the daemon died with a client killed mid-read"
	wait_for 5 stat_is "$TEXT" readers = 1 ||
		bad "kill $i: the killed client's watch stays listed: readers $(stat_of "$TEXT" readers)"
	wait_for 5 stat_is "$TEXT" records -gt "$((r0 + 1000))" ||
		bad "kill $i: the replay stops after a client was killed (records $(stat_of "$TEXT" records), from $r0)"
done
alive $catpid || bad "the reader of text/all ended while clients were killed"
check_eq "text reader_drops (the owner's cat: lossless)" 0 "$(stat_of "$TEXT" reader_drops)"
wait_for 5 fds_at_most "$fds0" ||
	bad "the daemon's descriptors after 6 killed clients: $(daemon_fds), from $fds0"
client_works "$TEXT_INO" "after clients were killed"
zc_works "$MNT/done" "$NREC" "after clients were killed"
news=$(log_news "$log0")
[ -z "$news" ] || bad "log lines after clients were killed mid-read: $news"
say "1. 6 clients killed mid-read: the daemon lives, text/all read on (records $(stat_of "$TEXT" records)), descriptors $(daemon_fds) (from $fds0)"
kill $catpid 2>/dev/null
wait $catpid 2>/dev/null

# ---- 2. a stopped client holds no lossless writer back ----------------------
# The writer: the trace (81 records), then (on a line from $go) its records
# 100 times more in the same stream: some 1.3 MB, 8000 records, so the 1M
# ring (1024 descriptors) is lapped many times.
"$PY" - "$TRACE" "$T/more" <<'EOF' || die "cannot make the writer's data"
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[24:] * 100)
EOF
mkdir "$MNT/w" || die "mkdir w"
go=$T/go
mkfifo "$go"
{ cat "$TRACE"; read -r _ <"$go"; cat "$T/more"; } >"$MNT/w/pcap" 2>"$T/writer.err" &
writer=$!
bg_add $writer
wait_for 5 stat_is "$MNT/w" records = "$NREC" || bad "w: the first $NREC records did not come"
"$ZC" "$MNT/w" 3 >"$T/slow.out" 2>"$T/slow.err" &
slow=$!
bg_add $slow
wait_for 5 stat_is "$MNT/w" readers = 1 || bad "the slow client is not listed at w: $(cat "$T/slow.err")"
sleep 0.5		# it reads the first records, and waits
kill -STOP $slow
# shellcheck disable=SC2016
timeout 5 sh -c 'echo go >"$1"' _ "$go" || bad "the writer does not wait for its go"
t0=$(now_ms)
if wait_gone $writer 15; then
	rc=0
	wait $writer || rc=$?
	check_eq "the writer's status (w/pcap) beside a stopped client" 0 "$rc"
	say "2. the writer of $(stat_of "$MNT/w" records) records ended in $(($(now_ms) - t0)) ms beside a stopped client"
else
	bad "the writer of w/pcap is held back by a stopped zero-copy client (w: $(timeout 5 cat "$MNT/w/stats" | tr '\n' ' '))"
fi
total=$(stat_of "$MNT/w" records)
kill -CONT $slow
if wait_gone $slow 10; then
	wait $slow || bad "the slow client failed: $(cat "$T/slow.err")"
	read -r _ rec _ _ _ lost <"$T/slow.out"
	say "   the slow client: $(cat "$T/slow.out") (w records $total)"
	[ "${lost:-0}" -gt 0 ] 2>/dev/null || bad "the lapped client counts no loss: $(cat "$T/slow.out")"
	check_eq "the slow client's records + lost = w's records" "$total" "$((${rec:-0} + ${lost:-0}))"
else
	bad "the slow client does not end within 10 s after SIGCONT"
fi
alive "$PFS_PID" || bad "the daemon died"

# ---- 3. floods ---------------------------------------------------------------
fds0=$(daemon_fds)
out=$(py '
import socket, sys, time, pfsproto as p
path = sys.argv[1]
ss, refused = [], 0
for i in range(300):
    try:
        ss.append(p.conn(path))
    except OSError:
        refused += 1
time.sleep(0.3)
served = closed = errors = other = 0
for s in ss:
    try:
        s.send(p.hello())
        r = p.recv(s)
    except (OSError, socket.timeout):
        r = None
    if r and r[0] == p.OK:
        served += 1
    elif r and r[0] == p.ERROR:
        errors += 1
        if p.recv(s) is None:
            closed += 1
    elif r is None:
        closed += 1
    else:
        other += 1
print("connected %d refused %d served %d closed %d errors %d other %d" % (len(ss), refused, served, closed, errors, other))
# While they are open, a further connection is closed too.
print("one more:", p.works(path, int(sys.argv[2])) or "served")
for s in ss:
    s.close()
' "$sock" "$TEXT_INO")
say "3. 300 connections: $out"
read -r _ _ _ refused _ served _ closed _ _ _ other <<<"$(head -n1 <<<"$out")"
check_eq "connections served of 300 (64 per user)" 64 "${served:-}"
check_eq "connections closed (or refused) of 300" 236 "$((${closed:-0} + ${refused:-0}))"
check_eq "connections neither served nor closed" 0 "${other:-}"
grep -q "^one more: served" <<<"$out" && bad "a 65th connection of one user is served while 64 are open"
alive "$PFS_PID" || bad "the daemon died of 300 connections"
wait_for 5 fds_at_most "$fds0" || bad "the daemon's descriptors after 300 connections closed: $(daemon_fds), from $fds0"
client_works "$TEXT_INO" "after 300 connections"

# 65 OPENs on one connection.
out=$(py '
import sys, pfsproto as p
s = p.conn(sys.argv[1])
print("hello", p.name(p.request(s, p.HELLO, b"\1\0\0\0\0\0\0\0")[0]))
got = [p.request(s, p.OPEN, p.node(int(sys.argv[2])))[0] for i in range(65)]
ok = sum(1 for r in got if r and r[0] == p.OK)
print("opens ok", ok, "65th", p.name(got[-1]), "err", p.err_of(got[-1]))
r, n = p.request(s, p.RINGS, p.node(0, 63))
print("RINGS of handle 63:", p.name(r), n, "rings")
print("CLOSE of handle 5:", p.name(p.request(s, p.CLOSE, p.node(0, 5))[0]))
r = p.request(s, p.OPEN, p.node(int(sys.argv[2])))[0]
print("OPEN again:", p.name(r), "handle", r and r[0] == p.OK and __import__("struct").unpack("QII", r[1][:16])[1])
' "$sock" "$(ino_of "$MNT/done")")
say "   65 OPENs on one connection: $(tr '\n' ';' <<<"$out")"
grep -q "^opens ok 64 65th ERROR .* err 24$" <<<"$out" || bad "65 OPENs on one connection: expected 64 OK and EMFILE (24), got: $out"
grep -q "^RINGS of handle 63: OK [1-9]" <<<"$out" || bad "RINGS of the 64th handle: $out"
grep -q "^OPEN again: OK handle 5$" <<<"$out" || bad "after CLOSE of handle 5 an OPEN reuses it: $out"
alive "$PFS_PID" || bad "the daemon died of 65 OPENs"

# RINGS asked for again and again (2 s) and never read: the daemon must
# not wait for the client; it drops the connection once its socket is
# full, and serves another client meanwhile.
out=$(py '
import socket, sys, time, pfsproto as p
s = p.conn(sys.argv[1])
s.send(p.hello()); p.recv(s)
s.send(p.msg(p.OPEN, p.node(int(sys.argv[2])))); h = p.recv(s)
sent, dropped = 0, False
s.setblocking(False)
t0 = time.time()
while time.time() - t0 < 2 and not dropped:	# more than any socket holds
    try:
        s.send(p.msg(p.RINGS, p.node(0, 0)))
        sent += 1
    except BlockingIOError:
        time.sleep(0.001)
    except p.ERRS:
        dropped = True
print("sent", sent, "dropped while sending" if dropped else "")
print("other client:", p.works(sys.argv[1], int(sys.argv[3])) or "served")
# Now read what came: it must end with the connection closed.
s.settimeout(5)
n = 0
last = None
try:
    while True:
        r = p.recv(s)
        if r is None:
            break
        last = r
        n += 1
except socket.timeout:
    print("the connection was not closed (read %d messages, last %s)" % (n, p.name(last)))
    sys.exit(0)
print("closed after", n, "messages")
' "$sock" "$(ino_of "$MNT/done")" "$TEXT_INO")
say "   RINGS never read: $(tr '\n' ';' <<<"$out")"
grep -q "^other client: served$" <<<"$out" || bad "a client beside one that reads no replies: $out"
grep -q "^closed after" <<<"$out" || bad "a client that reads no replies is not dropped: $out"
alive "$PFS_PID" || bad "the daemon died of replies never read"

# Descriptors the wrong way: 200 in one message; the connection's own
# socket; stream and datagram sockets.
fds0=$(daemon_fds)
out=$(py '
import os, socket, struct, sys, pfsproto as p
path = sys.argv[1]
def fds_msg(fds, body):
    s = p.conn(path)
    s.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))])
    r = p.recv(s)
    return "%s then %s" % (p.name(r), p.name(p.recv(s)) if r else "-")
null = [os.open("/dev/null", os.O_RDONLY) for i in range(200)]
print("200 fds with HELLO:", fds_msg(null, p.hello()))
print("200 fds with OPEN:", fds_msg(null, p.msg(p.OPEN, p.node(int(sys.argv[2])))))
s = p.conn(path)
s.sendmsg([p.hello()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", s.fileno()))])
r = p.recv(s)
print("its own socket:", p.name(r), "then", p.name(p.recv(s)) if r else "-")
for kind, t in (("stream", socket.SOCK_STREAM), ("datagram", socket.SOCK_DGRAM)):
    s = socket.socket(socket.AF_UNIX, t)
    try:
        s.connect(path); s.send(p.hello()); print(kind, "connected")
    except OSError as e:
        print(kind, "refused")
' "$sock" "$TEXT_INO")
say "   descriptors sent: $(tr '\n' ';' <<<"$out")"
for w in "200 fds with HELLO" "200 fds with OPEN" "its own socket"; do
	grep -q "^$w: ERROR .* then closed$" <<<"$out" || bad "$w: expected an error and a closed connection: $(grep "^$w" <<<"$out")"
done
grep -q "^stream refused" <<<"$out" || bad "a stream socket connects"
grep -q "^datagram refused" <<<"$out" || bad "a datagram socket connects"
alive "$PFS_PID" || bad "the daemon died of descriptors sent to it"
wait_for 5 fds_at_most "$fds0" || bad "the daemon keeps descriptors clients sent: $(daemon_fds), from $fds0"
client_works "$TEXT_INO" "after descriptors were sent"

# ---- 4. garbage ----------------------------------------------------------------
fds0=$(daemon_fds)
out=$(py '
import os, random, socket, struct, sys, time, pfsproto as p
path, inos = sys.argv[1], [int(x) for x in sys.argv[2:]]
rnd = random.Random(int(os.environ.get("PFS_FUZZ_SEED", "13")))
def ino():
    return (rnd.choice(inos + [0, 1, 2**64 - 1, rnd.getrandbits(64)]) + rnd.choice([0, 0, 1, 15, 16])) % 2**64
known = []	# handles the daemon gave on this connection
def handle():
    if known and rnd.random() < 0.5:
        return rnd.choice(known)
    return rnd.choice([0, 0, 1, 2, 63, 64, 65, 2**31, 2**32 - 1, rnd.getrandbits(32)])
def first():
    return rnd.choice([0, 0, 0, 1, 2, 2**31, 2**32 - 1, rnd.getrandbits(32)])
def garbage():
    """A random type, a random (or near-valid) body, a header length true or not, maybe cut."""
    k = rnd.random()
    if k < 0.3:
        b = struct.pack("QII", ino(), handle(), first())
    elif k < 0.4:
        b = struct.pack("II", rnd.choice([0, 1, 2, 2**32 - 1]), rnd.getrandbits(32))
    else:
        b = rnd.randbytes(rnd.choice([0, 1, 7, 8, 15, 16, 17, 4088, 4089, rnd.randrange(5001)]))
    t = rnd.choice([rnd.randrange(101), rnd.randrange(1, 6), rnd.getrandbits(32)])
    m = p.msg(t, b, rnd.choice([None, None, None, rnd.randrange(5001), rnd.getrandbits(32), max(0, len(b) - 1), len(b) + 1]))
    return m[:rnd.randrange(len(m) + 1)] if rnd.random() < 0.1 else m
def shaped():
    """A well-formed request in a random order: OPEN, RINGS, WAIT, CLOSE of random inodes and handles."""
    t = rnd.choice([p.OPEN, p.OPEN, p.RINGS, p.RINGS, p.WAIT, p.CLOSE, p.CLOSE, p.HELLO])
    if t == p.HELLO:
        return p.msg(t, struct.pack("II", rnd.choice([1, 1, 1, 0, 2]), rnd.getrandbits(32)))
    return p.msg(t, struct.pack("QII", ino(), handle(), first()))
t0 = time.time()
for phase, make, n in (("garbage", garbage, 1000), ("well-formed", shaped, 1000)):
    sent = replies = closes = conns = rings = 0
    s = None
    while sent < n and time.time() - t0 < 5:
        if s is None:
            s = p.conn(path, 2); conns += 1
            known.clear()
            if phase != "garbage" or rnd.random() < 0.5:
                s.send(p.hello()); p.recv(s)
        m = make()
        try:
            s.send(m)
        except OSError:		# too long for a message (EMSGSIZE) or closed
            s.close(); s = None; closes += 1
            continue
        sent += 1
        try:
            while True:
                r = p.recv(s)
                if r is None or r[0] != p.RING:
                    break
                rings += 1
        except socket.timeout:
            print("no reply within 2 s to", m[:24].hex())
            s.close(); s = None
            continue
        if r is None:
            s.close(); s = None; closes += 1
        else:
            replies += 1
            if r[0] == p.OK and m[:4] == struct.pack("I", p.OPEN) and len(r[1]) >= 16:
                known.append(struct.unpack("QII", r[1][:16])[1])
    if s:
        s.close()
    print("%s: sent %d replies %d (rings %d) closed %d connections %d" % (phase, sent, replies, rings, closes, conns))
print("in %.1f s" % (time.time() - t0))
' "$sock" "$TEXT_INO" "$(ino_of "$MNT/done")" "$(ino_of "$MNT/w")" "$(ino_of "$TEXT/all")" 1)
say "4. random messages: $(tr '\n' ';' <<<"$out")"
grep -q "no reply" <<<"$out" && bad "random messages left unanswered: $(grep "no reply" <<<"$out" | head -5)"
for phase in garbage well-formed; do
	grep -qE "^$phase: sent (9[0-9]{2}|1000) " <<<"$out" || bad "fewer than 900 $phase messages in 5 s: $out"
done
alive "$PFS_PID" || bad "the daemon died of random messages"

# Silent and half-finished clients, 200 of each kind, then a proper one.
out=$(py '
import socket, struct, sys, time, pfsproto as p
path, ino = sys.argv[1], int(sys.argv[2])
quiet = [p.conn(path) for i in range(20)]	# connect, never send
for i in range(200):
    s = p.conn(path); s.send(b"\x01\x00\x00\x00"); s.close()	# half a header
for i in range(200):
    s = p.conn(path); s.send(p.msg(p.HELLO, b"\1\0\0\0")); s.close()	# half a body
for i in range(200):		# RINGS, closed before the reply
    s = p.conn(path); s.send(p.hello()); p.recv(s)
    s.send(p.msg(p.OPEN, p.node(ino))); p.recv(s)
    s.send(p.msg(p.RINGS, p.node(0, 0))); s.close()
print("beside 20 silent clients:", p.works(path, ino) or "served")
for s in quiet:
    s.close()
' "$sock" "$TEXT_INO")
say "   $out"
check_eq "a proper client beside silent ones" "beside 20 silent clients: served" "$out"
alive "$PFS_PID" || bad "the daemon died of half-finished clients"
wait_for 5 fds_at_most "$fds0" || bad "the daemon's descriptors after garbage: $(daemon_fds), from $fds0"
client_works "$TEXT_INO" "after garbage"
zc_works "$MNT/done" "$NREC" "after garbage"

# ---- 5. OPEN of what is no node ----------------------------------------------
mkdir "$MNT/gone" "$MNT/gone2" || die "mkdir gone gone2"
out=$(py '
import os, struct, sys, pfsproto as p
path, fino, done, gone, gone2, gone2_ino = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
s = p.conn(path)
p.request(s, p.HELLO, struct.pack("II", 1, 0))
def handle(r):
    return struct.unpack("QII", r[1][:16])[1] if r and r[0] == p.OK and len(r[1]) >= 16 else 0
def op(what, ino):
    r = p.request(s, p.OPEN, p.node(ino))[0]
    print(what + ":", p.name(r))
    return r
op("a file", fino)
op("no node", (((done >> 4) + 100000) << 4) + 1)
op("inode 0", 0)
op("the largest inode", 2**64 - 1)
r = op("the root", 1)
if r and r[0] == p.OK:
    rr, n = p.request(s, p.RINGS, p.node(0, handle(r)))
    print("RINGS of the root:", p.name(rr), n)
    p.request(s, p.CLOSE, p.node(0, handle(r)))
# A node removed between OPEN and RINGS.
gino = os.stat(gone).st_ino
r = op("OPEN gone", gino)
h = handle(r)
rr, n = p.request(s, p.RINGS, p.node(0, h))
ended = struct.unpack("IIQ", rr[1][:16])[1] if rr and rr[0] == p.OK and len(rr[1]) >= 16 else None
print("RINGS before rmdir:", p.name(rr), "ended", ended)
os.rmdir(gone)
rr, n = p.request(s, p.RINGS, p.node(0, h))
ended = struct.unpack("IIQ", rr[1][:16])[1] if rr and rr[0] == p.OK and len(rr[1]) >= 16 else None
print("RINGS after rmdir:", p.name(rr), "rings", n, "ended", ended)
print("WAIT after rmdir:", p.name(p.request(s, p.WAIT, p.node(0, h))[0]))
print("CLOSE after rmdir:", p.name(p.request(s, p.CLOSE, p.node(0, h))[0]))
print("CLOSE again:", p.name(p.request(s, p.CLOSE, p.node(0, h))[0]))
op("OPEN of the removed node", gino)
# Removed, then a new node made: the old inode must not open it.
os.rmdir(gone2)
os.mkdir(gone2 + "b")
op("OPEN of a removed node after a mkdir", gone2_ino)
print("after all that:", p.name(p.request(s, p.HELLO, struct.pack("II", 1, 0))[0]))
' "$sock" "$(ino_of "$TEXT/all")" "$(ino_of "$MNT/done")" "$MNT/gone" "$MNT/gone2" "$(ino_of "$MNT/gone2")")
say "5. $(tr '\n' ';' <<<"$out")"
exp_err() {
	grep -q "^$1: ERROR $2 " <<<"$out" || bad "OPEN of $1: expected an error ($2), got: $(grep "^$1:" <<<"$out")"
}
exp_err "a file" "Not a directory"
exp_err "no node" "No such file or directory"
exp_err "inode 0" "Not a directory"
exp_err "the largest inode" "Not a directory"
exp_err "OPEN of the removed node" "No such file or directory"
exp_err "OPEN of a removed node after a mkdir" "No such file or directory"
grep -qE "^the root: (OK|ERROR)" <<<"$out" || bad "OPEN of the root: $(grep "^the root" <<<"$out")"
grep -qE "^RINGS after rmdir: (ERROR|OK rings 0 ended 1)" <<<"$out" ||
	bad "RINGS of a node removed after its OPEN: expected an error or ended 1, got: $(grep "^RINGS after" <<<"$out")"
check_eq "RINGS of a node (top-level, empty) before its rmdir" "RINGS before rmdir: OK ended 0" "$(grep "^RINGS before" <<<"$out")"
grep -q "^CLOSE after rmdir: OK" <<<"$out" || bad "CLOSE of a removed node's handle: $(grep "^CLOSE after" <<<"$out")"
grep -q "^CLOSE again: ERROR Bad file descriptor" <<<"$out" || bad "CLOSE of a closed handle: $(grep "^CLOSE again" <<<"$out")"
check_eq "the connection after all that" "after all that: OK" "$(grep "^after all that" <<<"$out")"
alive "$PFS_PID" || bad "the daemon died of OPENs of no node"

# A client of an empty node waits for records, as `cat all` does.
mkdir "$MNT/empty" || die "mkdir empty"
rc=0
out=$(timeout 2 "$ZC" "$MNT/empty" 0 2>&1) || rc=$?
check_eq "zerocopy-count of an empty written node: still waiting after 2 s (timeout's status; output '$out')" 124 "$rc"

# A client reading a node that is removed ends (the node is gone: no
# record will come).
# A writer keeps it open, so only the removal ends the client.
mkdir "$MNT/rm" || die "mkdir rm"
go2=$T/go2
mkfifo "$go2"
{ cat "$TRACE"; read -r _ <"$go2"; } >"$MNT/rm/pcap" 2>"$T/rmw.err" &
rmw=$!
bg_add $rmw
wait_for 5 stat_is "$MNT/rm" records = "$NREC" || bad "rm: the trace did not come"
timeout 10 "$ZC" "$MNT/rm" 0 >"$T/rm.out" 2>"$T/rm.err" &
rmc=$!
bg_add $rmc
wait_for 5 stat_is "$MNT/rm" readers = 1 || bad "the client of rm is not listed: $(cat "$T/rm.err")"
sleep 0.3
alive $rmc || bad "the client of rm ended before the writer: $(cat "$T/rm.out" "$T/rm.err")"
check_eq "rmdir of a node a client reads (a writer open)" OK "$(sys rmdir "$MNT/rm")"
if wait_gone $rmc 5; then
	wait $rmc 2>/dev/null || bad "the client of the removed node failed: $(cat "$T/rm.err")"
	check_eq "the client of a removed node" "records $NREC lost 0" "$(sed -E 's/bytes [0-9]+ //' "$T/rm.out")"
else
	bad "a client reading a node that is removed does not end within 5 s"
fi
# shellcheck disable=SC2016
timeout 5 sh -c 'echo go >"$1"' _ "$go2" || bad "the writer of rm does not wait for its go"
wait_gone $rmw 5 || bad "the writer of the removed node rm does not end"
wait $rmw 2>/dev/null

alive "$PFS_PID" || bad "the daemon died"
news=$(log_news "$log0")
[ -z "$news" ] || bad "log lines during the test: $news"
pfs_umount

# ---- 6. another user: floods, and rings made writable -----------------------------
# With allow_other and --group, nobody (a member: may read, never write):
# - holds 300 connections: the owner's client must still be served
#   (docs/zerocopy.md: "At most N connections per uid");
# - gets a written node's rings: neither the descriptor it gets nor a
#   reopening of it (/proc/self/fd/N, O_RDWR) may map writable or write
#   (fs/clients.c: "a new open of the memfd, so the client cannot map it
#   writable"): a member who could write the owner's rings would change
#   what the owner's readers get.  Nothing is written: only tried.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	NOBODY=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
	pfs_mount -o allow_other --group "$(id -gn nobody)" -s "pcap:$TRACE,name=d"
	sock=$(cat "$MNT/.socket")
	mkdir "$MNT/w6" || die "mkdir w6"
	cat "$TRACE" >"$MNT/w6/pcap" || die "cat TRACE > w6/pcap"
	zc_works "$MNT/w6" "$NREC" "allow_other, the owner"
	"${NOBODY[@]}" "$PY" -c '
import socket, sys, time
ss = []
for i in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(sys.argv[1]); ss.append(s)
    except OSError:
        pass
served = 0
for s in ss:
    s.settimeout(2)
    try:
        s.send(b"\1\0\0\0\x08\0\0\0\1\0\0\0\0\0\0\0")
        served += len(s.recv(100)) > 0
    except OSError:
        pass
print("served", served, flush=True)
time.sleep(30)' "$sock" >"$T/nobody.out" 2>&1 &
	hog=$!
	bg_add $hog
	wait_for 15 grep -q served "$T/nobody.out" || bad "nobody's 300 connections: $(cat "$T/nobody.out")"
	say "6. another user (nobody) holds 300 connections: $(cat "$T/nobody.out")"
	client_works "$(ino_of "$MNT/w6")" "the owner while another user holds 300 connections"
	kill $hog
	wait $hog 2>/dev/null
	client_works "$(ino_of "$MNT/w6")" "the owner after the other user's connections closed"

	# The member's rings, and what it can make of them.
	out=$("${NOBODY[@]}" timeout 10 "$PY" -c '
import mmap, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
def req(t, body):
    s.send(struct.pack("II", t, len(body)) + body)
    got = []
    while True:
        data, anc, _, _ = s.recvmsg(8192, socket.CMSG_SPACE(4))
        t = struct.unpack("II", data[:8])[0] if len(data) >= 8 else None
        fds = [struct.unpack("i", d[:4])[0] for l, k, d in anc if k == socket.SCM_RIGHTS]
        if t != 66:
            return t, data[8:], got + fds
        got += fds
req(1, struct.pack("II", 1, 0))
t, body, _ = req(2, struct.pack("QII", int(sys.argv[2]), 0, 0))
if t != 64:
    sys.exit("OPEN: type %s %r" % (t, body))
t, body, fds = req(3, struct.pack("QII", 0, struct.unpack("QII", body[:16])[1], 0))
print("rings", len(fds))
def writable(fd):
    how = []
    try:
        mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE).close()
        how.append("maps writable")
    except OSError:
        pass
    return how
for fd in fds:
    how = writable(fd)
    try:
        rw = os.open("/proc/self/fd/%d" % fd, os.O_RDWR)
        how += ["reopened O_RDWR " + h for h in writable(rw)] or ["reopens O_RDWR (maps read-only)"]
    except OSError:
        pass
    print("ring", fd, ", ".join(how) or "read-only")
' "$sock" "$(ino_of "$MNT/w6")" 2>&1)
	say "   a member's rings: $(tr '\n' ';' <<<"$out")"
	grep -q "^rings [1-9]" <<<"$out" || bad "the member gets no rings of w6: $out"
	grep -q "^ring .*maps writable" <<<"$out" &&
		bad "a member (read-only) can map the owner's rings writable: $(grep "maps writable" <<<"$out" | tr '\n' ';')"
	zc_works "$MNT/w6" "$NREC" "the owner, after the member had the rings"
fi
pfs_done
