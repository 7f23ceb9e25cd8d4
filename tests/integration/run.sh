#!/bin/bash
# Run every tests/integration/t_*.sh against a real pipesfs mount.
#
# usage: tests/integration/run.sh [PIPESFS_BINARY] [TEST_NAME...]
#
# Prints one line per test (PASS t_x, FAIL t_x, SKIP t_x: reason), then
# "N passed, N failed[, N skipped]"; exits non-zero if any test failed.
# A failed test's output goes to stderr, and every test's full output is
# kept in $PFS_LOGDIR (default: a temporary directory, named at the end).
#
# Each test runs under `timeout` (PFS_TEST_TIMEOUT seconds, default 300;
# t_corpus gets PFS_CORPUS_TIMEOUT, default 480), so a hang fails the test
# instead of hanging CI.  PFS_JOBS=N runs N tests at a time (CI: 2); each
# makes its own mounts, namespaces and users, so they do not meet.  A test
# with a line "# run.sh: alone" (one that judges rates or drops of live
# traffic, which a busy neighbour changes) runs with no other beside it.
# Tests get PIPESFS (absolute), TRACE and CORPUS.
set -u

here=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$here/../.." && pwd)

PIPESFS=${1:-${PIPESFS:-$REPO/build/pipesfs}}
[ $# -gt 0 ] && shift
case $PIPESFS in /*) ;; *) PIPESFS=$(pwd)/$PIPESFS ;; esac
# The project's own data: the demo trace it ships (recorded by
# scripts/mktrace.sh) and the captures `make` makes from it.
TRACE=${TRACE:-$REPO/examples/demo.pcap}
CORPUS=${CORPUS:-$REPO/build/corpus}
export PIPESFS TRACE CORPUS

if [ ! -x "$PIPESFS" ]; then
	echo "run.sh: no pipesfs binary at $PIPESFS (make first, or pass its path)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

logdir=${PFS_LOGDIR:-$(mktemp -d /tmp/pfs-it-logs.XXXXXX)}
mkdir -p "$logdir"

tests=()
if [ $# -gt 0 ]; then
	for name in "$@"; do
		tests+=("$here/${name%.sh}.sh")
	done
else
	for t in "$here"/t_*.sh; do
		tests+=("$t")
	done
fi

# run_one TEST: run it, bounded; its output, then its status, in its log.
run_one() {
	local name limit start rc
	name=$(basename "$1" .sh)
	limit=${PFS_TEST_TIMEOUT:-300}
	[ "$name" = t_corpus ] && limit=${PFS_CORPUS_TIMEOUT:-480}
	start=$(date +%s)
	timeout -k 10 "$limit" bash "$1" >"$logdir/$name.log" 2>&1 </dev/null
	rc=$?
	echo "($name: status $rc after $(( $(date +%s) - start ))s)" >>"$logdir/$name.log"
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] ||
		echo "== $name: killed after $limit s (timeout)" >>"$logdir/$name.log"
	return "$rc"
}

# report TEST STATUS: its line, and a failed test's output.
pass=0 fail=0 skipped=0
report() {
	local name reason log
	name=$(basename "$1" .sh)
	log=$logdir/$name.log
	case $2 in
	0)
		echo "PASS $name"
		pass=$((pass + 1))
		;;
	77)
		reason=$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)
		echo "SKIP $name: ${reason:-no reason given}"
		skipped=$((skipped + 1))
		;;
	*)
		echo "FAIL $name"
		fail=$((fail + 1))
		{
			echo "== $name output ($log):"
			sed -n '1,200p' "$log" | sed 's/^/  /'
		} >&2
		;;
	esac
}

# PFS_JOBS tests at a time (default 1: one after another), each reported
# as it ends.
declare -A test_of=()
reap() {
	local pid rc=0
	wait -n -p pid || rc=$?
	report "${test_of[$pid]}" "$rc"
	unset "test_of[$pid]"
}
for t in "${tests[@]}"; do
	jobs=${PFS_JOBS:-1}
	grep -qx '# run.sh: alone' "$t" && jobs=1
	while [ "${#test_of[@]}" -ge "$jobs" ]; do
		reap
	done
	run_one "$t" &
	test_of[$!]=$t
	[ "$jobs" = 1 ] || continue
	while [ "${#test_of[@]}" -gt 0 ]; do
		reap
	done
done
while [ "${#test_of[@]}" -gt 0 ]; do
	reap
done

echo "logs: $logdir" >&2
summary="$pass passed, $fail failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$fail" -eq 0 ]
