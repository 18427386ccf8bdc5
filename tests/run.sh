#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every test suite: the cmocka binaries in BUILD/tests (packet tests
# through BPF_PROG_TEST_RUN, agent unit tests), then the namespace tests
# tests/ns/test_*.sh. Each suite is one line of the summary; the last line
# counts suites: "N passed, N failed, N skipped".
#   tests/run.sh [BUILD] [PATTERN]   PATTERN: only suites whose name matches
set -u
build=${1:-build}
pattern=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0 skip=0 failed=""

mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf

run_suite() {
	name=$1; shift
	case "$name" in *"$pattern"*) ;; *) return ;; esac
	echo "=== $name"
	"$@"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "--- PASS $name" ;;
	77) skip=$((skip + 1)); echo "--- SKIP $name" ;;
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
[ -n "$failed" ] && echo "failed:$failed"
echo "suites: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
