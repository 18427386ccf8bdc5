#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make test-deploy: the deployment suites tests/deploy/test_*.sh (systemd
# unit booted in nspawn, container image under podman, the DaemonSet's
# schema and its pod under podman kube play, the arm64 build under qemu).
# Minutes, not seconds, so apart from make test. Same summary as
# tests/run.sh; a suite never skips here (exit 77 counts as failed).
#   tests/deploy/run.sh [BUILD] [PATTERN]
set -u
build=${1:-build}
pattern=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0 failed=""

for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	echo "=== $name"
	start=$(date +%s)
	env BUILD="$build" sh "$t"
	rc=$?
	took="$(($(date +%s) - start)) s"
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); echo "--- PASS $name ($took)"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "--- FAIL $name (exit $rc, $took)"
	fi
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "deploy: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
