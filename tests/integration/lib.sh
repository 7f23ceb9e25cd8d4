# Shared helpers for the pipesfs integration tests (sourced by t_*.sh).
# shellcheck shell=bash disable=SC2120
#
# Environment (run.sh sets it; each test also works when run by hand):
#   PIPESFS  the daemon binary (default: $REPO/build/pipesfs)
#   TRACE    an HTTP trace    (default: the demo trace, $REPO/examples/demo.pcap)
#   CORPUS   captures to run every filter on (default: $REPO/build/corpus,
#            which `make` makes from the demo trace; tcpdump's test
#            captures are a larger one)
#   OWN_CORPUS  the one `make` makes (default: $REPO/build/corpus), for
#            tests that need its particular captures
#
# A test exits 0 (pass), 1 (fail) or 77 (skip, with the reason printed as
# "SKIP: reason").  FAIL and SKIP lines go to stderr (so a check made inside
# $(...) still shows).  `bad` records a failed check and lets the test go on, so
# one run shows every mismatch; `die` fails at once.  The EXIT trap always
# unmounts, stops the daemon (by its pid) and every background helper the
# test registered, and removes the temporary directory.
#
# Every wait is bounded: reads go through `timeout`, and waits for mounts,
# daemon exits and conditions poll with a deadline.

set -u
set -o pipefail

PFS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$PFS_LIB_DIR/../.." && pwd)
PIPESFS=${PIPESFS:-$REPO/build/pipesfs}
case $PIPESFS in /*) ;; *) PIPESFS=$(pwd)/$PIPESFS ;; esac
# The project's own data: the demo trace it ships (recorded by
# scripts/mktrace.sh) and the captures `make` makes from it.
TRACE=${TRACE:-$REPO/examples/demo.pcap}
CORPUS=${CORPUS:-$REPO/build/corpus}
# The captures `make` builds from the demo trace, whatever CORPUS is: the
# link types and formats tests need that a larger corpus may not have.
OWN_CORPUS=${OWN_CORPUS:-$REPO/build/corpus}
export PIPESFS TRACE CORPUS OWN_CORPUS

PFS_NAME=$(basename "$0" .sh)
PFS_FAILED=0
PFS_PID=""		# the mounted daemon
MNT=""			# its mount point
PFS_ERR=""		# its stderr
PFS_BG=()		# background helpers to stop at exit

T=$(mktemp -d "/tmp/pfs-it.$PFS_NAME.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }

# ---- reporting -------------------------------------------------------------

say() { printf '%s\n' "$*"; }
bad() {
	printf 'FAIL: %s\n' "$*" >&2
	PFS_FAILED=1
	# A dead daemon makes every later check fail: say so once, show why.
	if [ -n "$PFS_PID" ] && ! alive "$PFS_PID"; then
		pfs_died
	fi
}
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }

# check DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" != "$3" ]; then
		bad "$1: expected '$2', got '$3'"
		return 1
	fi
	return 0
}

need_trace() {
	[ -r "$TRACE" ] || skip "no trace at $TRACE"
}

need_tool() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
	done
}

need_pipesfs() {
	[ -x "$PIPESFS" ] || die "no pipesfs binary at $PIPESFS (build it first)"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	need_tool fusermount3 timeout
}

# Build a C helper from tests/tools into $T: build_tool NAME [LIBS...]
build_tool() {
	local name=$1
	shift
	cc -O2 -Wall -o "$T/$name" "$REPO/tests/tools/$name.c" "$@" 2>"$T/$name.cc.err" ||
		die "cannot build tests/tools/$name.c: $(cat "$T/$name.cc.err")"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- processes --------------------------------------------------------------

# Is pid $1 running (a zombie does not count)?
alive() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$s" ] && [[ $s != Z* ]]
}

# wait_gone PID SECONDS: true if the process ended within SECONDS.
wait_gone() {
	local pid=$1 deadline=$(( $(now_ms) + ${2%.*} * 1000 ))
	while alive "$pid"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# wait_for SECONDS COMMAND...: poll COMMAND until it succeeds.  COMMAND is
# run again each time, but its arguments are expanded once, by the caller:
# use stat_is (below) or a function, not test "$(...)".
wait_for() {
	local deadline=$(( $(now_ms) + $1 * 1000 ))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# Register a background helper's pid so the exit trap stops it.
bg_add() { PFS_BG+=("$1"); }

# ---- mounting -----------------------------------------------------------------

mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# pfs_mount [DAEMON OPTIONS...]: mount a fresh pipesfs on $MNT in the
# foreground mode (-f), stderr in $PFS_ERR; wait (bounded) for the mount.
pfs_mount() {
	[ -z "$PFS_PID" ] || die "pfs_mount: a daemon is mounted already"
	need_pipesfs
	MNT=$(mktemp -d "$T/mnt.XXXX")
	PFS_ERR=$T/daemon.$(basename "$MNT").err
	"$PIPESFS" -f "$@" "$MNT" 2>"$PFS_ERR" &
	PFS_PID=$!
	local deadline=$(( $(now_ms) + 15000 ))
	until mounted "$MNT"; do
		if ! alive "$PFS_PID"; then
			local rc=0
			wait "$PFS_PID" || rc=$?
			PFS_PID=""
			die "pipesfs exited (status $rc) before mounting: $PIPESFS -f $* $MNT: $(cat "$PFS_ERR")"
		fi
		[ "$(now_ms)" -ge "$deadline" ] && die "pipesfs did not mount $MNT within 15 s"
		sleep 0.02
	done
}

# Sanitizer reports in the daemon's stderr fail the test.
pfs_check_stderr() {
	local f=${1:-$PFS_ERR}
	if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: ThreadSanitizer' "$f"; then
		bad "sanitizer report in the daemon's stderr:"
		sed -n '1,60p' "$f" | sed 's/^/    /'
	fi
}

# The daemon died while mounted: report its status and stderr, clear the
# dead mount; exit unless PFS_KEEP_GOING is set (t_corpus goes on with its
# next batch).
pfs_died() {
	local rc=0
	wait "$PFS_PID" 2>/dev/null || rc=$?
	PFS_PID=""
	printf 'FAIL: pipesfs died while mounted (status %s); its stderr:\n' "$rc" >&2
	sed -n '1,60p' "$PFS_ERR" | sed 's/^/    /' >&2
	fusermount3 -u -z "$MNT" 2>/dev/null
	[ -n "${PFS_KEEP_GOING:-}" ] || exit 1
}

# pfs_wait_exit SECONDS [WHEN]: the daemon must exit with status 0 within
# SECONDS (WHEN says since when, for the message).
pfs_wait_exit() {
	local secs=${1:-5} when=${2:-"$1 s after the unmount"} rc=0
	if ! wait_gone "$PFS_PID" "$secs"; then
		bad "pipesfs still running $when (pid $PFS_PID); its threads:"
		local t
		for t in /proc/"$PFS_PID"/task/*; do
			echo "    $(cat "$t/comm" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
		done
		kill -TERM "$PFS_PID" 2>/dev/null
		wait_gone "$PFS_PID" 3 || kill -KILL "$PFS_PID" 2>/dev/null
		wait "$PFS_PID" 2>/dev/null
		PFS_PID=""
		pfs_check_stderr
		return 1
	fi
	wait "$PFS_PID" || rc=$?
	PFS_PID=""
	if [ "$rc" -ne 0 ]; then
		bad "pipesfs exited with status $rc after the unmount; its stderr:"
		sed -n '1,40p' "$PFS_ERR" | sed 's/^/    /'
	fi
	pfs_check_stderr
	[ "$rc" -eq 0 ]
}

# pfs_umount: fusermount3 -u (retried while the kernel says busy, which a
# just-closed file can cause for a moment), then the daemon must exit 0
# within 5 s with a clean stderr.
pfs_umount() {
	[ -n "$PFS_PID" ] || return 0
	local ok=0
	for _ in $(seq 1 25); do
		if fusermount3 -u "$MNT" 2>"$T/fusermount.err"; then
			ok=1
			break
		fi
		mounted "$MNT" || break
		sleep 0.2
	done
	if [ "$ok" -eq 0 ]; then
		bad "fusermount3 -u $MNT failed: $(cat "$T/fusermount.err")"
		fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	pfs_wait_exit 5
}

# The exit trap: stop what is left, by pid; keep the test's exit status.
pfs_cleanup() {
	local rc=$?
	trap - EXIT
	local pid
	for pid in "${PFS_BG[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$MNT" ] && mounted "$MNT"; then
		fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	if [ -n "$PFS_PID" ] && alive "$PFS_PID"; then
		wait_gone "$PFS_PID" 3 || kill -TERM "$PFS_PID" 2>/dev/null
		wait_gone "$PFS_PID" 3 || kill -KILL "$PFS_PID" 2>/dev/null
	fi
	for pid in "${PFS_BG[@]}"; do
		wait_gone "$pid" 2 || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "${PFS_KEEP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T" 2>/dev/null
	fi
	exit "$rc"
}
trap pfs_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# pfs_done: unmount if still mounted, then exit with the test's verdict.
pfs_done() {
	pfs_umount
	exit "$PFS_FAILED"
}

# ---- reading ----------------------------------------------------------------

# rd FILE [SECONDS]: cat FILE to EOF (stdout), failing the check if it does
# not end within SECONDS (default 20) or fails.
rd() {
	local f=$1 secs=${2:-20} rc=0
	timeout -k 2 "$secs" cat "$f" || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		bad "reading $f did not reach EOF within $secs s"
	elif [ "$rc" -ne 0 ]; then
		bad "reading $f failed (status $rc)"
	fi
	return "$rc"
}

# stat_of NODE KEY: one value from NODE/stats.
stat_of() {
	timeout 5 cat "$1/stats" | awk -F': ' -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }'
}

# stat_is NODE KEY OP VALUE: test NODE/stats' KEY with test's OP, e.g.
# `wait_for 5 stat_is "$MNT/x" readers = 1`.
stat_is() {
	local v
	v=$(stat_of "$1" "$2") && test "$v" "$3" "$4"
}

# sys OP ARG...: make one system call; prints OK or strerror(errno).  Made
# with perl, so the errors are the daemon's (or the kernel's), not
# coreutils' own checks.
sys() {
	timeout 30 perl -e '
		my ($op, @a) = @ARGV;
		my $ok = $op eq "mkdir" ? mkdir($a[0])
		       : $op eq "rmdir" ? rmdir($a[0])
		       : $op eq "rename" ? rename($a[0], $a[1])
		       : $op eq "symlink" ? symlink($a[0], $a[1])
		       : $op eq "unlink" ? unlink($a[0])
		       : die "bad op $op";
		print $ok ? "OK" : "$!";' "$@" || echo "perl failed"
}

# tcount FILE [EXPR...]: how many packets tcpdump reads from FILE matching
# EXPR ("ERR" if tcpdump fails or takes more than 30 s).
tcount() {
	local f=$1 out
	shift
	if out=$(timeout -k 2 30 tcpdump -nn -r "$f" "$@" 2>"$T/tcpdump.err" | wc -l); then
		echo "$out"
	else
		echo "ERR"
		echo "tcpdump -r $f $*: $(cat "$T/tcpdump.err")" >&2
	fi
}
