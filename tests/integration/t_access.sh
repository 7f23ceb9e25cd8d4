#!/bin/bash
# Who may enter a mount and what they may do there (DESIGN.md, Security:
# "By default only the user who mounted can enter the mount (FUSE's
# default). With -o allow_other, permissions are checked from mode bits
# (default_permissions); nodes are created 0750 and stream files 0640 owned
# by the mounting user, and --group NAME grants a group read access.")
#
# The mount is made by an unprivileged owner (its own user, made here; the
# daemon runs as it), as it would be in real use; `-o allow_other` by a
# user needs `user_allow_other` in /etc/fuse.conf, which the test adds and
# takes out again.  Where a user cannot mount (no setuid fusermount3, the
# binary or /etc/fuse.conf out of reach) root is the owner, and the test
# says so.  Three more roles: a member of the group G, another user in no
# group of the mount, and root.
# 1. Default mount: the other user (and root) cannot stat, ls or read it:
#    Permission denied; the owner reads.
# 2. -o allow_other: the root, nodes drwxr-x---, stream files -rw-r-----
#    (stats and log -r--r-----), owner and owner's group; the other user and
#    the member of G (G not given) are denied ls, cat all/pcap/stats; the
#    owner reads the replay whole.
# 3. -o allow_other --group G: the group of everything is G, nodes made
#    later by the owner too; the member lists and reads all, pcap, pcapng,
#    filter, stats and log (the same bytes and packets as the owner), but
#    mkdir, rmdir, mv, ln -s, rm, writing filter/all/pcap are Permission
#    denied, chmod/chown/chgrp Operation not permitted, and nothing changes;
#    the other user is denied; the owner's chmod takes and gives back the
#    member's access.
# 4. The member's unread reader of a looping source does not hold the
#    replay back (t_holdback checks it fully).
# The zero-copy socket (docs/zerocopy.md) applies the same rule to the
# connecting process: in each mount, examples/zerocopy-count (libpipesfs)
# is run as each user on a stage that copies (z/ip/tcp/text, made with -g)
# and on the source z, and a python client speaks the protocol
# (include/pipesfs_proto.h) straight to the socket the owner reads from
# `.socket`: HELLO, then OPEN of a node directory's inode (as the owner
# stats it), so FUSE's checks are not what refuses it.
# 1. The owner reads the records `cat all` reads; the others cannot read
#    `.socket`, and their connections (root's too) end with no answer.
# 2. `.socket` -r--r-----; the others' zerocopy-count fails (FUSE: Permission
#    denied), their OPEN gets EACCES.
# 3. The member reads the owner's records through zerocopy-count; the other
#    user's OPEN gets EACCES; the owner's chmod 600 of the node's `all`
#    takes the member's access away (EACCES) and chmod 640 gives it back.
#    As on the FUSE side: the node's directory made 0700 (or an ancestor's),
#    or the member's process without its supplementary groups, refuses it.
# 5. The member's client holding a looping source's rings, unread, does
#    not hold the replay back.
# A denial is checked by exit status and message.
. "$(dirname "$0")/lib.sh"
need_trace
[ "$(id -u)" = 0 ] || skip "needs root (users and a group are made)"
need_tool useradd groupadd userdel groupdel setpriv stat tcpdump cmp python3

TRACE=$(realpath "$TRACE")
# zerocopy-count, built next to the daemon; copied where every user can run it.
ZC_BUILT=${ZC:-$(dirname "$PIPESFS")/examples/zerocopy-count}
ZCDIR=$T/zc
# A python3 every user can run (root's PATH may lead into /root).
PYTHON=$(PATH=/usr/local/bin:/usr/bin:/bin command -v python3) || skip "no python3 in /usr/local/bin:/usr/bin:/bin"
OWNER=pfsao$$		# mounts (when it can)
MEMBER=pfsam$$		# in G
OTHER=pfsax$$		# in no group of the mount
G=pfsag$$		# the group given with --group
USERS=()
GROUPS_MADE=()
MEMBER_PIDS=()
FUSE_CONF=/etc/fuse.conf
FUSE_CONF_SAVED=""	# "" untouched, "new" made here, else the copy of the original
SOCK_DIRS=()		# the owner's socket directories, removed when empty

# The owner's daemon and the member's processes must be gone before
# userdel, and /etc/fuse.conf is put back; then the usual cleanup.
acc_cleanup() {
	local rc=$? pid u g d
	for pid in "${MEMBER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$MNT" ] && mounted "$MNT"; then
		fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	if [ -n "$PFS_PID" ] && alive "$PFS_PID"; then
		wait_gone "$PFS_PID" 3 || kill -TERM "$PFS_PID" 2>/dev/null
		wait_gone "$PFS_PID" 3 || kill -KILL "$PFS_PID" 2>/dev/null
	fi
	for d in "${SOCK_DIRS[@]}"; do
		rmdir "$d" 2>/dev/null
	done
	for u in "${USERS[@]}"; do
		userdel "$u" 2>/dev/null
	done
	for g in "${GROUPS_MADE[@]}"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null
	done
	case $FUSE_CONF_SAVED in
	"") ;;
	new) rm -f "$FUSE_CONF" ;;
	*) cat "$FUSE_CONF_SAVED" >"$FUSE_CONF" ;;
	esac
	(exit "$rc")
	pfs_cleanup
}
trap acc_cleanup EXIT

for g in "$OWNER" "$MEMBER" "$OTHER" "$G"; do
	groupadd "$g" || die "groupadd $g failed"
	GROUPS_MADE+=("$g")
done
for u in "$OWNER" "$MEMBER" "$OTHER"; do
	useradd -M -N -g "$u" -s /usr/sbin/nologin "$u" || die "useradd $u failed"
	USERS+=("$u")
done
usermod -a -G "$G" "$MEMBER" || die "usermod -G $G $MEMBER failed"
chmod 711 "$T"		# every user reaches the mount points inside it

# as ROLE CMD...: run CMD (bounded) as owner, member, other or root;
# member-nogroups is the member's uid and gid without its supplementary
# groups (G among them), as a process that dropped them; member-manygroups
# has 100 groups before G (the socket takes all of a peer's groups).
declare -A USER_OF=([owner]=$OWNER [member]=$MEMBER [other]=$OTHER [root]=root
	[member-nogroups]=$MEMBER [member-manygroups]=$MEMBER)
as() {
	local u=${USER_OF[$1]} groups=--init-groups
	[ "$1" = member-nogroups ] && groups=--clear-groups
	[ "$1" = member-manygroups ] &&
		groups=--groups=$(seq -s, 60001 60100),$(getent group "$G" | cut -d: -f3)
	shift
	if [ "$u" = root ]; then
		timeout -k 2 20 "$@"
	else
		timeout -k 2 20 setpriv --reuid="$u" --regid="$u" "$groups" "$@"
	fi
}
as member id -Gn | tr ' ' '\n' | grep -qx "$G" || die "$MEMBER is not in $G: $(as member id -Gn)"

# ---- who mounts ---------------------------------------------------------------
# A user mounts through the setuid fusermount3; it must be able to run the
# binary and read the trace (copied into $T if it cannot).
why_root=""
if [ ! -u "$(command -v fusermount3)" ]; then
	why_root="fusermount3 is not setuid root"
elif ! as owner "$PIPESFS" --version >/dev/null 2>"$T/version.err"; then
	why_root="$OWNER cannot run $PIPESFS: $(head -n 1 "$T/version.err")"
elif ! grep -qx '[[:space:]]*user_allow_other[[:space:]]*' "$FUSE_CONF" 2>/dev/null; then
	if [ -e "$FUSE_CONF" ]; then
		cp -p "$FUSE_CONF" "$T/fuse.conf.orig" && FUSE_CONF_SAVED=$T/fuse.conf.orig
	else
		FUSE_CONF_SAVED=new
	fi
	if [ -z "$FUSE_CONF_SAVED" ] || ! echo user_allow_other >>"$FUSE_CONF" 2>/dev/null; then
		[ "$FUSE_CONF_SAVED" = new ] && FUSE_CONF_SAVED=""
		why_root="cannot add user_allow_other to $FUSE_CONF"
	fi
fi
if [ -n "$why_root" ]; then
	USER_OF[owner]=root
	OWNER=root
	say "mounted by root ($why_root)"
else
	say "mounted by the unprivileged user $OWNER (uid $(id -u "$OWNER"))"
	if ! as owner test -r "$TRACE"; then
		cp "$TRACE" "$T/trace.pcap" && chmod 644 "$T/trace.pcap" && TRACE=$T/trace.pcap
	fi
	# pfs_mount runs $PIPESFS -f OPTIONS MNT: this runs it as the owner,
	# whose mount point MNT (fusermount3 wants it writable) becomes.
	real=$PIPESFS
	PIPESFS=$T/pipesfs-as-owner
	cat >"$PIPESFS" <<-EOF
	#!/bin/sh
	for m; do :; done
	chown "$OWNER:$OWNER" "\$m" || exit 1
	exec setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups "$real" "\$@"
	EOF
	chmod 755 "$PIPESFS"
fi
OWNER_GROUP=$(id -gn "$OWNER")

# ---- checks ----------------------------------------------------------------------

# denied ROLE MESSAGE WHAT CMD...: CMD, run as ROLE, must fail saying MESSAGE.
denied() {
	local role=$1 msg=$2 what=$3 rc=0
	shift 3
	as "$role" "$@" >/dev/null 2>"$T/err" || rc=$?
	local err
	err=$(head -c 300 "$T/err" | tr '\n' ' ')
	if [ "$rc" -eq 0 ]; then
		bad "$role: $what succeeded, expected '$msg'"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		bad "$role: $what did not end within 20 s (expected '$msg')"
	elif ! grep -q "$msg" "$T/err"; then
		bad "$role: $what: exit $rc, '$err', expected '$msg'"
	else
		say "ok: $role: $what: exit $rc, $msg"
	fi
}

# allowed ROLE WHAT CMD...: CMD, run as ROLE, must succeed; its stdout is
# left in $T/out.
allowed() {
	local role=$1 what=$2 rc=0
	shift 2
	as "$role" "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		bad "$role: $what: exit $rc, '$(head -c 300 "$T/err" | tr '\n' ' ')'"
		return 1
	fi
	return 0
}

# modes 'PERMS USER GROUP' PATH...: what ls -l shows of each PATH (stat
# by the owner).
modes() {
	local want=$1 p got name
	shift
	for p in "$@"; do
		name=${p#"$MNT"}
		name=${name#/}
		got=$(as owner stat -c '%A %U %G' "$p" 2>&1)
		check_eq "mode, owner and group of ${name:-the mount root}" "$want" "$got" &&
			say "ok: ${name:-the mount root}: $got"
	done
}

# has WHAT FILE NAME...: FILE (an ls listing) names every NAME.
has() {
	local what=$1 f=$2 n missing=""
	shift 2
	for n in "$@"; do
		grep -qx -- "$n" "$f" || missing="$missing $n"
	done
	if [ -n "$missing" ]; then
		bad "$what lacks$missing: $(tr '\n' ' ' <"$f")"
	else
		say "ok: $what lists $*"
	fi
}

# ostat NODE KEY: a stats value, read by the owner (root may not enter).
ostat() {
	as owner cat "$1/stats" | awk -F': ' -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }'
}
ostat_is() {
	local v
	v=$(ostat "$1" "$2") && test "$v" "$3" "$4"
}

N_PKTS=$(tcount "$TRACE")
[ "$N_PKTS" -gt 0 ] 2>/dev/null || die "tcpdump reads no packets from $TRACE"
FILES=(all filter new pcap pcapng stats)

# ---- the zero-copy socket: helpers ---------------------------------------------------
# zerocopy-count and the protocol client, where every user can run them.
mkdir -m 755 "$ZCDIR" || die "cannot make $ZCDIR"
ZC=""
if [ -x "$ZC_BUILT" ]; then
	install -m 755 "$ZC_BUILT" "$ZCDIR/zerocopy-count" || die "cannot copy $ZC_BUILT into $ZCDIR"
	ZC=$ZCDIR/zerocopy-count
else
	say "NOTE: no $ZC_BUILT (make builds it): only the protocol client checks the socket"
fi
# probe.py SOCKET hello|open|hold [INO]: HELLO; then OPEN {ino}; then (hold)
# WAIT and RINGS, keeping the rings unread for 120 s.  One line: what the
# daemon answered ("answered", "ok", "OPEN: error 13 (EACCES) why",
# "holding N rings"), "closed" (the connection ended with no answer) or
# "connect failed: ERRNO".
cat >"$ZCDIR/probe.py" <<'EOF'
import errno, socket, struct, sys, time
path, mode = sys.argv[1], sys.argv[2]
ino = int(sys.argv[3]) if len(sys.argv) > 3 else 0
OPEN, RINGS, WAIT, OK, ERROR, RING = 2, 3, 4, 64, 65, 66
def out(line):
    print(line, flush=True)
    sys.exit(0)
def name(e):
    return errno.errorcode.get(e, str(e))
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
try:
    s.connect(path)
except OSError as e:
    out("connect failed: " + name(e.errno))
fds = []
def send(typ, body):
    try:
        s.send(struct.pack("=II", typ, len(body)) + body)
    except (BrokenPipeError, ConnectionResetError):
        out("closed")
def recv(what):
    try:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(2 * 4))
    except ConnectionResetError:
        out("closed")
    except socket.timeout:
        out(what + ": no answer within 5 s")
    if msg == b"":
        out("closed")
    if len(msg) < 8:
        out("%s: a short reply %r" % (what, msg))
    typ = struct.unpack("=II", msg[:8])[0]
    body = msg[8:]
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(struct.unpack("%di" % (len(data) // 4), data[:len(data) // 4 * 4]))
    if typ == ERROR:
        err = struct.unpack("=i", body[:4])[0]
        why = body[4:].split(b"\0")[0].decode(errors="replace")
        out("%s: error %d (%s) %s" % (what, err, name(err), why))
    return typ, body
def request(what, typ, body):
    send(typ, body)
    t, b = recv(what)
    if t != OK:
        out("%s: reply type %d" % (what, t))
    return b
request("HELLO", 1, struct.pack("=II", 1, 0))
if mode == "hello":
    out("answered")
handle = struct.unpack("=QII", request("OPEN", OPEN, struct.pack("=QII", ino, 0, 0))[:16])[1]
if mode == "open":
    out("ok")
node = struct.pack("=QII", ino, handle, 0)
request("WAIT", WAIT, node)
send(RINGS, node)
rings = 0
while True:
    t, b = recv("RINGS")
    if t == OK:
        break
    rings += t == RING
print("holding %d rings, %d descriptors" % (rings, len(fds)), flush=True)
time.sleep(120)
EOF
chmod 644 "$ZCDIR/probe.py"
as other "$PYTHON" -c 'print("ok")' >/dev/null 2>&1 || die "$OTHER cannot run $PYTHON"

# probe ROLE WANT WHAT ARGS...: probe.py ARGS, run as ROLE, must print a
# line matching the extended regular expression WANT.
probe() {
	local role=$1 want=$2 what=$3 got
	shift 3
	got=$(as "$role" "$PYTHON" "$ZCDIR/probe.py" "$@" 2>&1 | head -c 300 | tr '\n' ' ')
	got=${got% }
	if [[ $got =~ ^($want)$ ]]; then
		say "ok: $role: socket: $what: $got"
	else
		bad "$role: socket: $what: '$got', expected /$want/"
	fi
}
EACCES='OPEN: error 13 \(EACCES\) .*'

# zc_reads ROLE NODE WANT WHAT: zerocopy-count NODE, run as ROLE, prints
# WANT.
zc_reads() {
	local role=$1 node=$2 want=$3 what=$4
	[ -n "$ZC" ] || return 0
	if allowed "$role" "zerocopy-count $what" "$ZC" "$node" 2; then
		check_eq "$role: zerocopy-count $what" "$want" "$(cat "$T/out")" &&
			say "ok: $role: zerocopy-count $what: $want"
	fi
}
# zc_denied ROLE NODE WHAT: zerocopy-count NODE, run as ROLE, fails with
# Permission denied (from FUSE or from the daemon: the message is the same).
zc_denied() {
	[ -n "$ZC" ] || return 0
	denied "$1" "zerocopy-count: $2: Permission denied" "zerocopy-count $3" "$ZC" "$2" 2
}

ino_of() { as owner stat -c %i "$1"; }

# sock_check: SOCK, the socket the owner reads from the mount's .socket:
# its directory drwx--x--x and the socket srw-rw-rw-, both the daemon's.
# Also TEXT (the stage z/ip/tcp/text), INO_TEXT and INO_Z, and what
# zerocopy-count should print for them: WANT_TEXT (the lines and bytes of
# the owner's cat all) and WANT_Z (the trace's packets, cat all's bytes).
sock_check() {
	SOCK=$(as owner cat "$MNT/.socket")
	if [ -z "$SOCK" ] || [ ! -S "$SOCK" ]; then
		bad "the mount's .socket names no socket: '$SOCK'"
		return 1
	fi
	local dir
	dir=$(dirname "$SOCK")
	[ "$OWNER" != root ] && SOCK_DIRS+=("$dir")
	check_eq "the socket's directory" "drwx--x--x $OWNER" "$(stat -c '%A %U' "$dir")" &&
		check_eq "the socket" "srw-rw-rw- $OWNER" "$(stat -c '%A %U' "$SOCK")" &&
		say "ok: socket $SOCK: srw-rw-rw- $OWNER in drwx--x--x $OWNER"
	TEXT=$MNT/z/ip/tcp/text
	INO_TEXT=$(ino_of "$TEXT")
	INO_Z=$(ino_of "$MNT/z")
	as owner cat "$TEXT/all" >"$T/text.all" || bad "owner: cat z/ip/tcp/text/all failed"
	[ -s "$T/text.all" ] || bad "owner: z/ip/tcp/text/all is empty"
	WANT_TEXT="records $(wc -l <"$T/text.all") bytes $(wc -c <"$T/text.all") lost 0"
	as owner cat "$MNT/z/all" >"$T/z.all" || bad "owner: cat z/all failed"
	WANT_Z="records $N_PKTS bytes $(wc -c <"$T/z.all") lost 0"
	return 0
}

# ---- 1. the default mount: the owner only -------------------------------------------
pfs_mount -s "pcap:$TRACE,name=s" -s "pcap:$TRACE,name=z" -g z/ip/tcp/text
if allowed owner "ls the mount" ls "$MNT"; then has "owner: ls the mount" "$T/out" log s; fi
if allowed owner "cat s/all" cat "$MNT/s/all"; then
	cp "$T/out" "$T/owner.all"
	[ -s "$T/owner.all" ] || bad "owner: s/all is empty"
	say "ok: owner: cat s/all: $(wc -c <"$T/owner.all") bytes"
fi
allowed owner "cat s/stats" cat "$MNT/s/stats" && check_eq "owner: s/stats records" "$N_PKTS" \
	"$(awk -F': ' '$1 == "records" { print $2 }' "$T/out")" && say "ok: owner: s/stats says records: $N_PKTS"
for r in other member $([ "$OWNER" != root ] && echo root); do
	denied "$r" "Permission denied" "stat the mount" stat "$MNT"
	denied "$r" "Permission denied" "ls the mount" ls "$MNT"
	denied "$r" "Permission denied" "cat s/all" cat "$MNT/s/all"
done
denied other "Permission denied" "cat s/stats" cat "$MNT/s/stats"

# The socket: the owner reads; the others cannot read .socket, and their
# connection to the socket it names ends with no answer.
if sock_check; then
	zc_reads owner "$TEXT" "$WANT_TEXT" "z/ip/tcp/text (cat all's lines and bytes)"
	zc_reads owner "$MNT/z" "$WANT_Z" "z (the source: the trace's packets, cat all's bytes)"
	probe owner ok "OPEN z/ip/tcp/text by its inode" "$SOCK" open "$INO_TEXT"
	for r in other member $([ "$OWNER" != root ] && echo root); do
		denied "$r" "Permission denied" "cat .socket" cat "$MNT/.socket"
		zc_denied "$r" "$TEXT" "z/ip/tcp/text"
		probe "$r" "closed|connect failed: ECONNREFUSED" "HELLO, OPEN z/ip/tcp/text by its inode" \
			"$SOCK" open "$INO_TEXT"
	done
fi
pfs_umount

# ---- 2. -o allow_other: mode bits, the owner's group -------------------------------
pfs_mount -o allow_other -s "pcap:$TRACE,name=s" -s "pcap:$TRACE,name=z" -g z/ip/tcp/text
modes "drwxr-x--- $OWNER $OWNER_GROUP" "$MNT" "$MNT/s"
modes "-rw-r----- $OWNER $OWNER_GROUP" "$MNT/s/all" "$MNT/s/pcap" "$MNT/s/filter"
modes "-r--r----- $OWNER $OWNER_GROUP" "$MNT/s/stats" "$MNT/log" "$MNT/.socket"
if allowed owner "cat s/all" cat "$MNT/s/all"; then
	if cmp -s "$T/out" "$T/owner.all"; then
		say "ok: owner: cat s/all: the same $(wc -c <"$T/out") bytes as in mount 1"
	else
		bad "owner: s/all differs from mount 1's ($(wc -c <"$T/out") bytes, not $(wc -c <"$T/owner.all"))"
	fi
fi
if allowed owner "cat s/pcap" cat "$MNT/s/pcap"; then
	cp "$T/out" "$T/owner.pcap"
	check_eq "owner: packets in s/pcap" "$N_PKTS" "$(tcount "$T/owner.pcap")" && say "ok: owner: s/pcap holds $N_PKTS packets"
fi
for r in other member; do
	denied "$r" "Permission denied" "ls the mount" ls "$MNT"
	denied "$r" "Permission denied" "ls s" ls "$MNT/s"
	denied "$r" "Permission denied" "cat s/all" cat "$MNT/s/all"
	denied "$r" "Permission denied" "cat s/pcap" cat "$MNT/s/pcap"
	denied "$r" "Permission denied" "cat s/stats" cat "$MNT/s/stats"
done

# The socket: anyone may connect, but OPEN follows the node's mode bits.
if sock_check; then
	zc_reads owner "$TEXT" "$WANT_TEXT" "z/ip/tcp/text (cat all's lines and bytes)"
	zc_reads owner "$MNT/z" "$WANT_Z" "z (the source: the trace's packets, cat all's bytes)"
	probe owner ok "OPEN z/ip/tcp/text by its inode" "$SOCK" open "$INO_TEXT"
	for r in other member; do
		denied "$r" "Permission denied" "cat .socket" cat "$MNT/.socket"
		zc_denied "$r" "$TEXT" "z/ip/tcp/text"
		zc_denied "$r" "$MNT/z" "z"
		probe "$r" answered "HELLO (allow_other: it may connect)" "$SOCK" hello
		probe "$r" "$EACCES" "OPEN z/ip/tcp/text by its inode" "$SOCK" open "$INO_TEXT"
		probe "$r" "$EACCES" "OPEN z by its inode" "$SOCK" open "$INO_Z"
	done
fi
pfs_umount

# ---- 3. -o allow_other --group G: the group reads, and only reads --------------------
pfs_mount --ring-size 1M -o allow_other --group "$G" -s "pcap:$TRACE,name=s" -s "pcap:$TRACE,name=l,loop" \
	-s "pcap:$TRACE,name=z" -g z/ip/tcp/text
allowed owner "mkdir s/ip" mkdir "$MNT/s/ip"
allowed owner "mkdir w (a written node)" mkdir "$MNT/w"
allowed owner "write hello into w/all" sh -c 'echo hello >"$1"' _ "$MNT/w/all"
allowed owner "cat s/all (the replay)" cat "$MNT/s/all"
modes "drwxr-x--- $OWNER $G" "$MNT" "$MNT/s" "$MNT/s/ip" "$MNT/w"
modes "-rw-r----- $OWNER $G" "$MNT/s/all" "$MNT/s/new" "$MNT/s/pcap" "$MNT/s/pcapng" "$MNT/s/filter" "$MNT/s/ip/all" "$MNT/w/all"
modes "-r--r----- $OWNER $G" "$MNT/s/stats" "$MNT/log" "$MNT/.socket"

# The member reads.
if allowed member "ls the mount" ls "$MNT"; then has "member: ls the mount" "$T/out" log s l w; fi
if allowed member "ls s" ls "$MNT/s"; then has "member: ls s" "$T/out" ip "${FILES[@]}"; fi
if allowed member "cat s/all" cat "$MNT/s/all"; then
	if cmp -s "$T/out" "$T/owner.all"; then
		say "ok: member: cat s/all: the owner's $(wc -c <"$T/out") bytes"
	else
		bad "member: s/all differs from the owner's ($(wc -c <"$T/out") bytes, not $(wc -c <"$T/owner.all"))"
	fi
fi
for v in pcap pcapng; do
	if allowed member "cat s/$v" cat "$MNT/s/$v"; then
		cp "$T/out" "$T/member.$v"
		check_eq "member: packets in s/$v" "$N_PKTS" "$(tcount "$T/member.$v")" && say "ok: member: s/$v holds $N_PKTS packets"
	fi
done
allowed member "cat s/stats" cat "$MNT/s/stats" && check_eq "member: s/stats records" "$N_PKTS" \
	"$(awk -F': ' '$1 == "records" { print $2 }' "$T/out")" && say "ok: member: s/stats says records: $N_PKTS"
allowed member "cat s/ip/filter" cat "$MNT/s/ip/filter" && check_eq "member: s/ip/filter" ip "$(cat "$T/out")" &&
	say "ok: member: s/ip/filter reads ip"
allowed member "cat w/all" cat "$MNT/w/all" && check_eq "member: w/all" hello "$(cat "$T/out")" &&
	say "ok: member: w/all reads the owner's hello"
if allowed member "cat log" cat "$MNT/log"; then
	if [ -s "$T/out" ]; then
		say "ok: member: log: $(wc -l <"$T/out") lines"
	else
		bad "member: log is empty"
	fi
fi

# The member may not change anything.
PD="Permission denied"
denied member "$PD" "mkdir s/tcp" mkdir "$MNT/s/tcp"
denied member "$PD" "mkdir a top-level node" mkdir "$MNT/x"
denied member "$PD" "rmdir s/ip" rmdir "$MNT/s/ip"
denied member "$PD" "mv s/ip s/ip2" mv "$MNT/s/ip" "$MNT/s/ip2"
denied member "$PD" "mv s/ip to the top" mv "$MNT/s/ip" "$MNT/"
denied member "$PD" "ln -s ../s w/s" ln -s ../s "$MNT/w/s"
denied member "$PD" "rm s/all" rm -f "$MNT/s/all"
denied member "$PD" "write s/ip/filter" sh -c 'echo tcp >"$1"' _ "$MNT/s/ip/filter"
denied member "$PD" "write s/all" sh -c 'echo x >"$1"' _ "$MNT/s/all"
denied member "$PD" "write s/pcap" sh -c 'cat "$2" >"$1"' _ "$MNT/s/pcap" "$TRACE"
denied member "$PD" "write w/all" sh -c 'echo x >"$1"' _ "$MNT/w/all"
denied member "$PD" "write w/pcap" sh -c 'cat "$2" >"$1"' _ "$MNT/w/pcap" "$TRACE"
EP="Operation not permitted"
denied member "$EP" "chmod 666 s/all" chmod 666 "$MNT/s/all"
denied member "$EP" "chmod 777 s" chmod 777 "$MNT/s"
denied member "$EP" "chown $MEMBER s/all" chown "$MEMBER" "$MNT/s/all"
denied member "$EP" "chgrp $MEMBER s" chgrp "$MEMBER" "$MNT/s"
# ... and nothing changed.
check_eq "s/ip/filter after the member's write" ip "$(as owner cat "$MNT/s/ip/filter")"
as owner ls "$MNT/s" >"$T/ls.s"
grep -qx ip "$T/ls.s" && ! grep -qx ip2 "$T/ls.s" && ! grep -qx tcp "$T/ls.s" ||
	bad "s after the member's mkdir/mv/rmdir: $(tr '\n' ' ' <"$T/ls.s")"
as owner ls "$MNT" >"$T/ls.top"
grep -qx ip "$T/ls.top" || grep -qx x "$T/ls.top" && bad "the top after the member's mkdir/mv: $(tr '\n' ' ' <"$T/ls.top")"
check_eq "w bytes after the member's writes" 6 "$(ostat "$MNT/w" bytes)"
modes "-rw-r----- $OWNER $G" "$MNT/s/all"
modes "drwxr-x--- $OWNER $G" "$MNT/s"
say "ok: after the member's attempts: s/ip/filter ip, no ip2/tcp/x, w bytes 6"

# The other user is denied.
denied other "$PD" "ls the mount" ls "$MNT"
denied other "$PD" "cat s/all" cat "$MNT/s/all"
denied other "$PD" "cat s/stats" cat "$MNT/s/stats"
denied other "$PD" "cat log" cat "$MNT/log"

# A node the owner makes now is the same, and the member reads it.
allowed owner "mkdir s/ip/tcp" mkdir "$MNT/s/ip/tcp"
modes "drwxr-x--- $OWNER $G" "$MNT/s/ip/tcp"
modes "-rw-r----- $OWNER $G" "$MNT/s/ip/tcp/all" "$MNT/s/ip/tcp/pcap"
modes "-r--r----- $OWNER $G" "$MNT/s/ip/tcp/stats"
N_TCP=$(tcount "$TRACE" ip and tcp)
allowed member "cat s/ip/tcp/pcap" cat "$MNT/s/ip/tcp/pcap" && cp "$T/out" "$T/member.tcp.pcap" &&
	check_eq "member: packets in s/ip/tcp/pcap" "$N_TCP" "$(tcount "$T/member.tcp.pcap")" &&
	say "ok: member: s/ip/tcp/pcap holds the $N_TCP tcp packets"
denied member "$PD" "rmdir s/ip/tcp" rmdir "$MNT/s/ip/tcp"

# The owner's chmod takes the member's access away and gives it back.
allowed owner "chmod 600 w/all" chmod 600 "$MNT/w/all"
modes "-rw------- $OWNER $G" "$MNT/w/all"
denied member "$PD" "cat w/all after the owner's chmod 600" cat "$MNT/w/all"
allowed owner "chmod 640 w/all" chmod 640 "$MNT/w/all"
allowed member "cat w/all after the owner's chmod 640" cat "$MNT/w/all" &&
	check_eq "member: w/all after chmod 640" hello "$(cat "$T/out")" && say "ok: member: w/all readable again after chmod 640"

# The socket: the member reads the owner's records; the other user's OPEN
# is refused; the owner's chmod of the node's all takes the member's access
# away and gives it back.
if sock_check; then
	modes "drwxr-x--- $OWNER $G" "$TEXT"
	modes "-rw-r----- $OWNER $G" "$TEXT/all"
	allowed member "cat .socket" cat "$MNT/.socket" && check_eq "member: .socket" "$SOCK" "$(cat "$T/out")" &&
		say "ok: member: .socket names $SOCK"
	zc_reads owner "$TEXT" "$WANT_TEXT" "z/ip/tcp/text (cat all's lines and bytes)"
	zc_reads member "$TEXT" "$WANT_TEXT" "z/ip/tcp/text (the owner's records)"
	zc_reads owner "$MNT/z" "$WANT_Z" "z (the source: the trace's packets, cat all's bytes)"
	zc_reads member "$MNT/z" "$WANT_Z" "z (the owner's records)"
	zc_reads member-manygroups "$MNT/z" "$WANT_Z" "z (G the 101st of its groups)"
	probe member ok "OPEN z/ip/tcp/text by its inode" "$SOCK" open "$INO_TEXT"
	denied other "$PD" "cat .socket" cat "$MNT/.socket"
	zc_denied other "$TEXT" "z/ip/tcp/text"
	probe other answered "HELLO (allow_other: it may connect)" "$SOCK" hello
	probe other "$EACCES" "OPEN z/ip/tcp/text by its inode" "$SOCK" open "$INO_TEXT"
	probe other "$EACCES" "OPEN z by its inode" "$SOCK" open "$INO_Z"

	allowed owner "chmod 600 z/ip/tcp/text/all" chmod 600 "$TEXT/all"
	modes "-rw------- $OWNER $G" "$TEXT/all"
	denied member "$PD" "cat z/ip/tcp/text/all after the owner's chmod 600" cat "$TEXT/all"
	zc_denied member "$TEXT" "z/ip/tcp/text after the owner's chmod 600 of its all (the daemon refuses)"
	probe member "$EACCES" "OPEN z/ip/tcp/text after the owner's chmod 600 of its all" "$SOCK" open "$INO_TEXT"
	zc_reads owner "$TEXT" "$WANT_TEXT" "z/ip/tcp/text after its chmod 600 (the owner still reads)"
	allowed owner "chmod 640 z/ip/tcp/text/all" chmod 640 "$TEXT/all"
	zc_reads member "$TEXT" "$WANT_TEXT" "z/ip/tcp/text after the owner's chmod 640"
	probe member ok "OPEN z/ip/tcp/text after the owner's chmod 640" "$SOCK" open "$INO_TEXT"

	# The same rule as the kernel's: the node's directory, or an ancestor,
	# made 0700 hides it; a process without G in its groups is not in G.
	allowed owner "chmod 700 z/ip/tcp/text" chmod 700 "$TEXT"
	denied member "$PD" "cat z/ip/tcp/text/all, its directory 0700" cat "$TEXT/all"
	zc_denied member "$TEXT" "z/ip/tcp/text, its directory 0700"
	probe member "$EACCES" "OPEN z/ip/tcp/text, its directory 0700" "$SOCK" open "$INO_TEXT"
	allowed owner "chmod 750 z/ip/tcp/text" chmod 750 "$TEXT"
	allowed owner "chmod 700 z" chmod 700 "$MNT/z"
	denied member "$PD" "stat z/ip/tcp/text, z 0700" stat "$TEXT"
	probe member "$EACCES" "OPEN z/ip/tcp/text by its inode, z 0700" "$SOCK" open "$INO_TEXT"
	allowed owner "chmod 750 z" chmod 750 "$MNT/z"
	denied member-nogroups "$PD" "cat z/ip/tcp/text/all, G dropped from its groups" cat "$TEXT/all"
	probe member-nogroups "$EACCES" "OPEN z/ip/tcp/text, G dropped from its groups" "$SOCK" open "$INO_TEXT"
	zc_reads member "$TEXT" "$WANT_TEXT" "z/ip/tcp/text, after all that"
fi

# ---- 4. the member's unread reader does not hold a replay back --------------------
# loop_goes_on WHO: the replay into l goes on past 8 of its rings while
# WHO, open on l, reads nothing (1M rings hold 1024 records).
loop_goes_on() {
	local r0
	r0=$(ostat "$MNT/l" records)
	if wait_for 20 ostat_is "$MNT/l" records -gt $((r0 + 8 * 1024)); then
		say "ok: $1, unread: the loop went on past 8 rings ($r0 -> $(ostat "$MNT/l" records) records)"
	else
		bad "the loop stalls behind $1: records $(ostat "$MNT/l" records), from $r0"
	fi
}

# l has had no stream file open: its replay has not started.
check_eq "l records before any open" 0 "$(ostat "$MNT/l" records)"
setpriv --reuid="$MEMBER" --regid="$MEMBER" --init-groups \
	sh -c 'exec sleep 600 <"$1"' _ "$MNT/l/all" 2>"$T/member.err" &
MEMBER_PIDS+=($!)
if wait_for 10 ostat_is "$MNT/l" readers = 1; then
	loop_goes_on "the member's reader of l/all"
else
	bad "the member's reader of l/all is not open: $(cat "$T/member.err")"
fi
kill "${MEMBER_PIDS[0]}" 2>/dev/null
wait_gone "${MEMBER_PIDS[0]}" 5 || bad "the member's reader did not end"

# ---- 5. the member's client holding l's rings does not hold the replay back ----------
# Its OPEN and WAIT start l again (a reader below it); it never reads.
if [ -n "${SOCK:-}" ]; then
	setpriv --reuid="$MEMBER" --regid="$MEMBER" --init-groups \
		"$PYTHON" "$ZCDIR/probe.py" "$SOCK" hold "$(ino_of "$MNT/l")" >"$T/hold.out" 2>&1 &
	MEMBER_PIDS+=($!)
	hold_pid=$!
	if wait_for 10 grep -qs '^holding' "$T/hold.out"; then
		loop_goes_on "the member's client ($(cat "$T/hold.out"))"
	else
		bad "the member's client of l: $(head -c 300 "$T/hold.out")"
	fi
	kill "$hold_pid" 2>/dev/null
	wait_gone "$hold_pid" 5 || bad "the member's client did not end"
fi

pfs_done
