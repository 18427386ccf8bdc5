#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make soak: every libFuzzer target (tests/fuzz/) for FUZZ_SOAK_SECONDS
# (default 600) each, from the corpus earlier runs grew; one
# "reliability: TARGET | time, inputs, coverage | crashes" line per target.
# A crash fails the run and keeps its input under BUILD/fuzz/crashes/.
#   tools/soak.d/fuzz.sh [BUILD]
set -u
build=${1:-${BUILD:-build}}
here=$(cd "$(dirname "$0")/../.." && pwd)
SOAK=1
FUZZ_SECONDS=${FUZZ_SOAK_SECONDS:-600}
export SOAK FUZZ_SECONDS
exec sh "$here/tests/fuzz/run.sh" "$build"
