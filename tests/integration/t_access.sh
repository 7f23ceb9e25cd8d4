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
# A denial is checked by exit status and message.
. "$(dirname "$0")/lib.sh"
need_trace
[ "$(id -u)" = 0 ] || skip "needs root (users and a group are made)"
need_tool useradd groupadd userdel groupdel setpriv stat tcpdump cmp

TRACE=$(realpath "$TRACE")
OWNER=pfsao$$		# mounts (when it can)
MEMBER=pfsam$$		# in G
OTHER=pfsax$$		# in no group of the mount
G=pfsag$$		# the group given with --group
USERS=()
GROUPS_MADE=()
MEMBER_PIDS=()
FUSE_CONF=/etc/fuse.conf
FUSE_CONF_SAVED=""	# "" untouched, "new" made here, else the copy of the original

# The owner's daemon and the member's processes must be gone before
# userdel, and /etc/fuse.conf is put back; then the usual cleanup.
acc_cleanup() {
	local rc=$? pid u g
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

# as ROLE CMD...: run CMD (bounded) as owner, member, other or root.
declare -A USER_OF=([owner]=$OWNER [member]=$MEMBER [other]=$OTHER [root]=root)
as() {
	local u=${USER_OF[$1]}
	shift
	if [ "$u" = root ]; then
		timeout -k 2 20 "$@"
	else
		timeout -k 2 20 setpriv --reuid="$u" --regid="$u" --init-groups "$@"
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

# ---- 1. the default mount: the owner only -------------------------------------------
pfs_mount -s "pcap:$TRACE,name=s"
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
pfs_umount

# ---- 2. -o allow_other: mode bits, the owner's group -------------------------------
pfs_mount -o allow_other -s "pcap:$TRACE,name=s"
modes "drwxr-x--- $OWNER $OWNER_GROUP" "$MNT" "$MNT/s"
modes "-rw-r----- $OWNER $OWNER_GROUP" "$MNT/s/all" "$MNT/s/pcap" "$MNT/s/filter"
modes "-r--r----- $OWNER $OWNER_GROUP" "$MNT/s/stats" "$MNT/log"
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
pfs_umount

# ---- 3. -o allow_other --group G: the group reads, and only reads --------------------
pfs_mount --ring-size 1M -o allow_other --group "$G" -s "pcap:$TRACE,name=s" -s "pcap:$TRACE,name=l,loop"
allowed owner "mkdir s/ip" mkdir "$MNT/s/ip"
allowed owner "mkdir w (a written node)" mkdir "$MNT/w"
allowed owner "write hello into w/all" sh -c 'echo hello >"$1"' _ "$MNT/w/all"
allowed owner "cat s/all (the replay)" cat "$MNT/s/all"
modes "drwxr-x--- $OWNER $G" "$MNT" "$MNT/s" "$MNT/s/ip" "$MNT/w"
modes "-rw-r----- $OWNER $G" "$MNT/s/all" "$MNT/s/new" "$MNT/s/pcap" "$MNT/s/pcapng" "$MNT/s/filter" "$MNT/s/ip/all" "$MNT/w/all"
modes "-r--r----- $OWNER $G" "$MNT/s/stats" "$MNT/log"

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

# ---- 4. the member's unread reader does not hold a replay back --------------------
# l has had no stream file open: its replay has not started.
check_eq "l records before any open" 0 "$(ostat "$MNT/l" records)"
setpriv --reuid="$MEMBER" --regid="$MEMBER" --init-groups \
	sh -c 'exec sleep 600 <"$1"' _ "$MNT/l/all" 2>"$T/member.err" &
MEMBER_PIDS+=($!)
if wait_for 10 ostat_is "$MNT/l" readers = 1; then
	r0=$(ostat "$MNT/l" records)
	# 1M rings hold 1024 records: 8 rings past the member's open position.
	if wait_for 20 ostat_is "$MNT/l" records -gt $((r0 + 8 * 1024)); then
		say "ok: member's unread l/all: the loop went on past 8 rings ($r0 -> $(ostat "$MNT/l" records) records)"
	else
		bad "the loop stalls behind the member's unread reader: records $(ostat "$MNT/l" records), from $r0"
	fi
else
	bad "the member's reader of l/all is not open: $(cat "$T/member.err")"
fi
kill "${MEMBER_PIDS[0]}" 2>/dev/null
wait_gone "${MEMBER_PIDS[0]}" 5 || bad "the member's reader did not end"

pfs_done
