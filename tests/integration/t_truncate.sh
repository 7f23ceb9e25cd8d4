#!/bin/bash
# A capture file replayed in place (mapped) that shrinks while mounted
# (README "File sources"): touching the mapping past the file's new end
# must not kill the daemon (SIGBUS).  Copies of the trace are cut to half,
# to its 24-byte header and to nothing:
#  1. during a looping replay, while readers of a source stream, a pcap
#     view and a filter node read, and one reader is stopped (the replay
#     waits for it) until after the cut;
#  2. after a replay has ended, with a reader opened before the cut that
#     reads after it, and a new reader.
# Each time: readers end (EOF, no error), a new reader gets nothing (the
# file's records are dropped, not handed out as zeros), `log` names the
# file, the rest of the mount (another source, a written node) still
# serves, and the unmount is clean.
. "$(dirname "$0")/lib.sh"
need_trace
need_tool truncate

LEN=$(stat -c %s "$TRACE")
# What a source replaying the trace itself (o) gives, cut nowhere.
O_BYTES=""

log_has() { timeout 5 cat "$MNT/log" | grep -qF -- "$1"; }

# cut SIZE FILE: truncate to SIZE bytes (0: as `: > FILE` does).
cut_file() {
	if [ "$1" = 0 ]; then
		: >"$2"
	else
		truncate -s "$1" "$2"
	fi
}

# after_cut WHAT SIZE: what every case checks once the file was cut.
after_cut() {
	local what=$1 size=$2
	alive "$PFS_PID" || bad "$what: pipesfs died"
	wait_for 5 log_has "t: $T/cap.pcap shrank to $size bytes (was $LEN)" ||
		bad "$what: no line in log about the shrunk file: $(timeout 5 tail -3 "$MNT/log")"
	check_eq "$what: bytes a new reader of t/all gets" 0 "$(rd "$MNT/t/all" 10 | wc -c)"
	check_eq "$what: bytes a new reader of t/ip/tcp/all gets" 0 "$(rd "$MNT/t/ip/tcp/all" 10 | wc -c)"
	check_eq "$what: bytes of o/all (the other source)" "$O_BYTES" "$(rd "$MNT/o/all" 10 | wc -c)"
	mkdir "$MNT/w" || bad "$what: mkdir w failed"
	printf abc >"$MNT/w/all" || bad "$what: writing w/all failed"
	check_eq "$what: w/all read back" abc "$(rd "$MNT/w/all" 5)"
}

# reader NAME FILE: cat FILE in the background into $T/NAME.{out,err};
# sets READER to its pid.
reader() {
	timeout -k 2 30 cat "$2" >"$T/$1.out" 2>"$T/$1.err" &
	READER=$!
	bg_add $READER
}

# reader_ended WHAT NAME PID: it ended by itself, with status 0 and no
# error message.
reader_ended() {
	local rc=0
	if ! wait_gone "$3" 15; then
		bad "$1: reader $2 did not end within 15 s after the cut"
		return
	fi
	wait "$3" || rc=$?
	check_eq "$1: status of reader $2" 0 "$rc"
	check_eq "$1: errors of reader $2" "" "$(cat "$T/$2.err")"
}

# ---- 1. during a looping replay ---------------------------------------------
for size in $((LEN / 2)) 24 0; do
	what="looping replay cut to $size bytes"
	cp "$TRACE" "$T/cap.pcap"
	pfs_mount -s "pcap:$T/cap.pcap,name=t,loop" -s "pcap:$TRACE,name=o" -g t/ip/tcp
	[ -n "$O_BYTES" ] || O_BYTES=$(rd "$MNT/o/all" 10 | wc -c)
	reader all "$MNT/t/all"
	r_all=$READER
	reader pcap "$MNT/t/pcap"
	r_pcap=$READER
	reader tcp "$MNT/t/ip/tcp/all"
	r_tcp=$READER
	reader slow "$MNT/t/all"
	r_slow=$READER
	wait_for 10 stat_is "$MNT/t" readers = 3 || bad "$what: the readers of t did not open"
	wait_for 10 stat_is "$MNT/t/ip/tcp" readers = 1 || bad "$what: the reader of t/ip/tcp did not open"
	wait_for 10 stat_is "$MNT/t" records -gt 1000 || bad "$what: the looping source does not flow"
	kill -STOP $r_slow
	cut_file "$size" "$T/cap.pcap"
	kill -CONT $r_slow
	for r in "all $r_all" "pcap $r_pcap" "tcp $r_tcp" "slow $r_slow"; do
		# shellcheck disable=SC2086
		reader_ended "$what" $r
	done
	log_has "while replayed: replay ended" || bad "$what: the log does not say the replay ended"
	after_cut "$what" "$size"
	pfs_umount
done

# ---- 2. after the replay ended --------------------------------------------------
for size in $((LEN / 2)) 24 0; do
	what="ended replay cut to $size bytes"
	cp "$TRACE" "$T/cap.pcap"
	pfs_mount -s "pcap:$T/cap.pcap,name=t" -s "pcap:$TRACE,name=o" -g t/ip/tcp
	[ "$(rd "$MNT/t/all" 10 | wc -c)" -gt 0 ] || bad "$what: t/all was empty before the cut"
	exec 3<"$MNT/t/all"
	cut_file "$size" "$T/cap.pcap"
	wait_for 5 log_has "t: $T/cap.pcap shrank to $size bytes (was $LEN) after its replay" ||
		bad "$what: no line in log about the shrunk file: $(timeout 5 tail -3 "$MNT/log")"
	check_eq "$what: bytes read after the cut by a reader opened before it" 0 \
		"$(timeout 10 cat <&3 | wc -c)"
	exec 3<&-
	after_cut "$what" "$size"
	pfs_umount
done

# ---- 3. during a replay held back by an unread reader ----------------------
# The file is cut in the middle of a page while the replay waits for the
# owner's reader: the records that lay past the new end, in the rest of
# its last page, read as zeros from the mapping without a fault.  Not one
# of them may reach the reader.
what="held-back replay cut mid-page"
python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); open(sys.argv[2], 'wb').write(d[:24] + d[24:] * 20)" \
	"$TRACE" "$T/big.pcap"
pfs_mount --ring-size 64K -s "pcap:$T/big.pcap,name=t"
exec 3<"$MNT/t/pcap"
wait_for 10 stat_is "$MNT/t" records -gt 0 || bad "$what: the replay did not start"
cut_file 30000 "$T/big.pcap"
wait_for 5 log_has "shrank to 30000 bytes" || bad "$what: no line in log about the shrunk file"
timeout 10 cat <&3 >"$T/held.pcap"
exec 3<&-
zeros=$(timeout 10 tcpdump -nr "$T/held.pcap" -x 2>/dev/null |
	awk '/0x0000:/ { if ($2 == "0000" && $3 == "0000" && $4 == "0000") z++ } END { print z + 0 }')
check_eq "$what: records of zeros the reader got" 0 "$zeros"
pfs_umount

pfs_done
