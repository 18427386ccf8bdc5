#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every test suite: the cmocka binaries in BUILD/tests (packet tests
# through BPF_PROG_TEST_RUN, agent unit tests), then the namespace tests
# tests/ns/test_*.sh. Each suite is one line of the summary; the last line
# counts suites: "N passed, N failed, N skipped".
#   tests/run.sh [BUILD] [PATTERN]   PATTERN: only suites whose name matches
# A suite exits 77 to skip, with a line saying why (the summary repeats it).
# The core suites (packet tests, agent, IPFIX, journal) may not skip: on
# this project's machines everything they need is there, so a skip there
# is a failure that would otherwise read green.
set -u
build=${1:-build}
pattern=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0 skip=0 failed="" skipped=""
CORE="test_prog test_badpkt test_frag test_agent test_ipfix test_ipfix_export test_journal"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM

mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf

run_suite() {
	name=$1; shift
	case "$name" in *"$pattern"*) ;; *) return ;; esac
	echo "=== $name"
	# The suite's output as it comes, and kept for its skip reason. A
	# file, not a pipe: a process a suite leaves behind cannot hold it.
	# The suite runs in the foreground (an asynchronous one would start
	# with SIGINT ignored, and so would everything it stops with SIGINT);
	# tail shows the file meanwhile and has 0.3 s to catch up after.
	: >"$log"
	tail -n +1 -s 0.1 -f "$log" &
	tpid=$!
	"$@" >"$log" 2>&1
	rc=$?
	sleep 0.3
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	if [ "$rc" = 77 ]; then
		why=$(grep -i 'skip' "$log" | tail -n 1)
		case " $CORE " in
		*" $name "*)
			fail=$((fail + 1)); failed="$failed $name"
			echo "--- FAIL $name (a core suite skipped: ${why:-no reason given})"
			return ;;
		esac
		skip=$((skip + 1)); skipped="$skipped
  $name: ${why:-no reason given}"
		echo "--- SKIP $name"
		return
	fi
	case $rc in
	0) pass=$((pass + 1)); echo "--- PASS $name" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "--- FAIL $name (exit $rc)" ;;
	esac
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" "$t"
done
# libFuzzer targets (tests/fuzz/): kept crash inputs, then 15 s of fuzzing
# each here; make soak fuzzes 10 minutes each (tools/soak.d/fuzz.sh).
run_suite fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-15}" sh "$here/fuzz/run.sh" "$build"
for t in "$here"/ns/test_*.sh; do
	[ -f "$t" ] || continue
	run_suite "$(basename "$t" .sh)" env BUILD="$build" sh "$t"
done

echo
[ -n "$skipped" ] && echo "skipped:$skipped"
[ -n "$failed" ] && echo "failed:$failed"
echo "suites: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
