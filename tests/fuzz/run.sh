#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the libFuzzer targets that make built into BUILD/fuzz/ (tests/fuzz/
# fuzz_*.c): each first replays every input kept in tests/fuzz/regress/
# TARGET/ once, then fuzzes for FUZZ_SECONDS from its seeds
# (tests/fuzz/seeds/TARGET/), the regression inputs and the corpus earlier
# runs on this machine grew (BUILD/fuzz/corpus/TARGET/, the only directory
# libFuzzer writes to).
#
#   tests/fuzz/run.sh [BUILD] [PATTERN]   PATTERN: only targets whose name matches
#   FUZZ_SECONDS=20      fuzzing time per target (make test: 15; make soak: 600)
#   SOAK=1               also print a "reliability:" line per target (tools/soak.sh);
#                        its last field, crashes, must be 0
#
# A crash, sanitizer report, leak, timeout or failed assertion fails the run;
# the input is kept as BUILD/fuzz/crashes/TARGET/crash-SHA1 (or leak-,
# timeout-, oom-) and the lines above say how to replay it and keep it as a
# regression test. Exit: 0 pass, 1 fail, 77 skip (no fuzzer built: clang's
# libFuzzer runtime missing).
set -u
build=${1:-build}
pattern=${2:-}
secs=${FUZZ_SECONDS:-20}
SOAK=${SOAK:-0}
here=$(cd "$(dirname "$0")" && pwd)
out=$build/fuzz
fails=0 ran=0

# Stack traces for UBSan too; leaks are ASan's default under libFuzzer.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# What each target feeds, for the summary; the longest input each may try
# (fuzz_uri and fuzz_config must reach past PATH_MAX).
describe() {
	case $1 in
	fuzz_config) echo "command line (config_parse)" ;;
	fuzz_uri)    echo "collector URIs (config_parse_collector)" ;;
	fuzz_ipfix)  echo "IPFIX encoder: messages decoded back" ;;
	fuzz_netflow) echo "NetFlow v9 and v5 encoders: packets decoded back" ;;
	fuzz_format) echo "text and JSON formats" ;;
	fuzz_netlink) echo "rtnetlink link messages (links_parse)" ;;
	*)           echo "$1" ;;
	esac
}

max_len() {
	case $1 in
	fuzz_config|fuzz_uri) echo 4200 ;;
	fuzz_format) echo 512 ;;
	*) echo 4096 ;;
	esac
}

# final_stat NAME LOG: a figure of libFuzzer's -print_final_stats.
final_stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# What a failure left: the report's key lines and where the input is.
report_crash() {
	_rc_name=$1 _rc_log=$2
	grep -a -E 'assertion failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|Test unit written' \
		"$_rc_log" | head -n 12 | sed 's/^/    /'
	for _rc_f in "$out/crashes/$_rc_name"/*; do
		[ -f "$_rc_f" ] || continue
		echo "  kept: $_rc_f"
		echo "  replay: $out/$_rc_name $_rc_f"
		echo "  after the fix keep it: cp $_rc_f tests/fuzz/regress/$_rc_name/NAME"
	done
	echo "  log: $_rc_log"
}

for bin in "$out"/fuzz_*; do
	{ [ -f "$bin" ] && [ -x "$bin" ]; } || continue
	name=$(basename "$bin")
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	ran=$((ran + 1))
	corpus=$out/corpus/$name
	crashes=$out/crashes/$name
	log=$out/log/$name.log
	mkdir -p "$corpus" "$crashes" "$out/log"
	rm -f "$crashes"/*
	: >"$log"

	# The kept inputs, each once: a bug fixed once stays fixed.
	set --
	for f in "$here/regress/$name"/*; do
		[ -f "$f" ] && set -- "$@" "$f"
	done
	if [ $# -gt 0 ] &&
	   ! "$bin" -error_exitcode=1 -artifact_prefix="$crashes/" "$@" >>"$log" 2>&1; then
		echo "$name: FAIL: a regression input fails again:" \
			"$(sed -n 's/^Running: //p' "$log" | tail -n 1)"
		report_crash "$name" "$log"
		fails=$((fails + 1))
		[ "$SOAK" = 1 ] && printf 'reliability: %s | %s | %s\n' \
			"$name: $(describe "$name")" "a kept regression input failed again" 1
		continue
	fi
	nregress=$#

	set -- "$corpus"
	for d in "$here/seeds/$name" "$here/regress/$name"; do
		[ -d "$d" ] && set -- "$@" "$d"
	done
	[ -f "$here/$name.dict" ] && set -- -dict="$here/$name.dict" "$@"
	# libFuzzer's own exit codes for a crash (77) and a timeout (70)
	# would read as skip and as an odd failure to tests/run.sh: both are 1.
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$name")" -error_exitcode=1 -timeout_exitcode=1 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$@" >>"$log" 2>&1; then
		echo "$name: FAIL after $secs s"
		report_crash "$name" "$log"
		fails=$((fails + 1))
		[ "$SOAK" = 1 ] && printf 'reliability: %s | %s | %s\n' \
			"$name: $(describe "$name")" "crashed within $secs s (inputs kept)" 1
		continue
	fi
	runs=$(final_stat number_of_executed_units "$log")
	rate=$(final_stat average_exec_per_sec "$log")
	new=$(final_stat new_units_added "$log")
	done_line=$(grep -a 'DONE' "$log" | tail -n 1)
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p')
	echo "$name: ok: $nregress regression inputs, $secs s: $runs runs ($rate/s)," \
		"cov $cov, ft $ft, corpus $corp (+$new)"
	[ "$SOAK" = 1 ] && printf 'reliability: %s | %s | %s\n' \
		"$name: $(describe "$name")" \
		"$secs s, $runs inputs ($rate/s) under ASan+UBSan, no crash; $cov edges, corpus $corp" \
		0
done

[ "$ran" -eq 0 ] && { echo "no fuzzer in $out/ (make fuzz; clang's libFuzzer runtime)"; exit 77; }
[ "$fails" -eq 0 ]
