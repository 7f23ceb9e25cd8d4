#!/bin/bash
# Who may hold back a lossless producer (DESIGN.md, Buffers: "the producer
# waits for the slowest reader that is allowed to hold it back (the mount's
# owner); any other reader falls behind and loses, counted").
#
# A mount shared with a group (-o allow_other --group G), 1M rings (1024
# descriptors), a looping file source s and a written node w.
# 1. A group member opens s/all and w/all and never reads them: the replay
#    keeps flowing (records grow by many rings), a 4 MB write into w by the
#    owner completes; when the member then reads, its losses are counted
#    (reader_drops > 0 at s and at w).
# 2. The owner's own unread reader is allowed to hold back: the replay
#    stops within a ring of where it was; a 4 MB write into w blocks within
#    a ring, and completes once that reader closes.
. "$(dirname "$0")/lib.sh"
need_trace
[ "$(id -u)" = 0 ] || skip "needs root (a user and a group are made)"
need_tool useradd groupadd userdel groupdel setpriv mkfifo dd

RING=1048576		# --ring-size
DESCS=1024		# descriptors per ring: ring size / 1024
BATCH=32		# PFS_FLUSH_BATCH: records a producer may not have flushed
WRITE=$((4 * RING))	# a write of several rings

MEMBER=pfshb$$
MEMBER_PIDS=()
# The member's processes must be gone before userdel; then the usual cleanup.
hb_cleanup() {
	local rc=$? pid
	for pid in "${MEMBER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
	done
	userdel "$MEMBER" 2>/dev/null
	groupdel "$MEMBER" 2>/dev/null
	(exit "$rc")
	pfs_cleanup
}
trap hb_cleanup EXIT
groupadd "$MEMBER" || die "groupadd $MEMBER failed"
useradd -M -N -g "$MEMBER" -s /usr/sbin/nologin "$MEMBER" || die "useradd $MEMBER failed"
AS_MEMBER=(setpriv --reuid="$MEMBER" --regid="$MEMBER" --init-groups)
chmod 711 "$T"		# the member reaches the mount point inside it

pfs_mount --ring-size 1M -o allow_other --group "$MEMBER" -s "pcap:$TRACE,name=s,loop"
mkdir "$MNT/w" || die "mkdir w failed"

# write_w ERRFILE: the owner writes WRITE bytes into w/all, in the
# background (WPID).  A write blocked in the daemon cannot be killed, so
# callers bound their wait with wait_gone and die: the exit trap then
# unmounts, which ends it.
write_w() {
	dd if=/dev/zero of="$MNT/w/all" bs=64k count=$((WRITE / 65536)) status=none 2>"$1" &
	WPID=$!
	bg_add $WPID
}

# wait_write SECONDS WHAT: WPID must end within SECONDS, with status 0.
wait_write() {
	wait_gone "$WPID" "$1" || die "$2 is blocked"
	local rc=0
	wait "$WPID" || rc=$?
	check_eq "status of $2" 0 "$rc"
}

# records_stop NODE: wait (bounded) until NODE's records stay the same for
# a second; prints the count they stopped at.
records_stop() {
	local prev=-1 cur same=0 i
	for i in $(seq 1 150); do
		cur=$(stat_of "$1" records) || return 1
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 5 ] && { echo "$cur"; return 0; }
		else
			same=0
		fi
		prev=$cur
		sleep 0.2
	done
	return 1
}

# ---- 1. a member's unread files hold nothing back ---------------------------------
go=$T/go
mkfifo -m 666 "$go"
# Opens both files as the member, then reads nothing until told (a line on
# $go), then one read of each, so the losses are counted.
"${AS_MEMBER[@]}" sh -c 'exec 3<"$1" 4<"$2"; read go <"$3"
	dd bs=64k count=1 status=none <&3 >/dev/null
	dd bs=64k count=1 status=none <&4 >/dev/null
	exec sleep 600' _ "$MNT/s/all" "$MNT/w/all" "$go" 2>"$T/member.err" &
member=$!
MEMBER_PIDS+=("$member")
wait_for 10 stat_is "$MNT/s" readers = 1 || die "the member's reader of s/all is not open: $(cat "$T/member.err")"
wait_for 10 stat_is "$MNT/w" readers = 1 || die "the member's reader of w/all is not open: $(cat "$T/member.err")"

r0=$(stat_of "$MNT/s" records)
wait_for 30 stat_is "$MNT/s" records -gt $((r0 + 8 * DESCS)) ||
	bad "the replay stalls behind the member's unread reader: records $(stat_of "$MNT/s" records), from $r0"

write_w "$T/dd1.err"
wait_write 60 "the owner's write into w/all beside the member's unread reader"
check_eq "w bytes after the owner's write" "$WRITE" "$(stat_of "$MNT/w" bytes)"

timeout 5 sh -c 'echo go >"$1"' _ "$go" || die "the member's process is not waiting: $(cat "$T/member.err")"
for n in s w; do
	wait_for 10 stat_is "$MNT/$n" drops -gt 0 ||
		bad "$n: the member's losses are not counted: $(timeout 5 cat "$MNT/$n/stats" | tr '\n' ' ')"
done
d=$(stat_of "$MNT/s" reader_drops)
[ "${d:-0}" -gt 0 ] 2>/dev/null || bad "s: reader_drops '$d', expected the member's losses"
say "member lapped: s reader_drops $d, w reader_drops $(stat_of "$MNT/w" reader_drops)"
kill "$member" 2>/dev/null
wait_gone "$member" 5 || bad "the member's reader did not end"
wait_for 10 stat_is "$MNT/s" readers = 0 || bad "the member's reader of s is still listed"

# ---- 2. the owner's unread file holds the lossless producers back ------------
sleep 600 <"$MNT/s/all" &
owner=$!
bg_add $owner
wait_for 10 stat_is "$MNT/s" readers = 1 || die "the owner's reader of s/all is not open"
r1=$(stat_of "$MNT/s" records)
r2=$(records_stop "$MNT/s") || bad "the replay does not stop behind the owner's unread reader"
if [ -n "$r2" ] && [ "$((r2 - r1))" -gt $((DESCS + BATCH)) ]; then
	bad "the replay went $((r2 - r1)) records past the owner's reader, more than a ring ($DESCS)"
fi
sleep 1
check_eq "s records, still held back" "$r2" "$(stat_of "$MNT/s" records)"
say "replay held back: records $r1 at the owner's open, stopped at $r2"
kill "$owner"

sleep 600 <"$MNT/w/all" &
owner=$!
bg_add $owner
wait_for 10 stat_is "$MNT/w" readers = 1 || die "the owner's reader of w/all is not open"
b1=$(stat_of "$MNT/w" bytes)
write_w "$T/dd2.err"
records_stop "$MNT/w" >/dev/null || bad "the write does not stop behind the owner's unread reader"
b2=$(stat_of "$MNT/w" bytes)
alive "$WPID" || bad "the owner's write was not held back by the owner's own reader"
check_eq "w bytes, still held back" "$b2" "$(stat_of "$MNT/w" bytes)"
[ "$((b2 - b1))" -le "$RING" ] ||
	bad "the write went $((b2 - b1)) bytes past the owner's reader, more than a ring ($RING)"
say "write held back: $((b2 - b1)) bytes written of $WRITE"
kill "$owner"
wait_write 60 "the owner's write, once the owner's reader closed"
check_eq "w bytes after both writes" "$((b1 + WRITE))" "$(stat_of "$MNT/w" bytes)"

# A member may read, not take: chown and chmod by it fail (the kernel
# checks them, default_permissions) and the file stays as it was.
"${AS_MEMBER[@]}" chmod 666 "$MNT/s/all" 2>/dev/null && bad "the member's chmod of s/all succeeded"
"${AS_MEMBER[@]}" chown "$MEMBER" "$MNT/s/all" 2>/dev/null && bad "the member's chown of s/all succeeded"
check_eq "mode of s/all after the member's chmod" 640 "$(stat -c %a "$MNT/s/all")"

pfs_done
