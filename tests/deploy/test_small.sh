#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Small devices: the static builds (make static, make cross-arm64).
#   - build/arm64/bpfix-static is an AArch64 executable with no interpreter
#     and no shared libraries; under qemu-user it prints the same --help
#     and --version as the x86 build and exits 2 on a bad flag;
#   - build/bpfix-static meters 1,000 UDP flows on a veth this test made,
#     at --flows 65536 (the default) and --flows 4096, and the agent's
#     resident memory with the flows in its table is printed ("small:"
#     lines, the figures BENCHMARKS.md section 7 quotes) and held under
#     MAX_RSS_KIB.
# Sizes of both binaries are printed and held under MAX_BIN_KIB.
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

MAX_BIN_KIB=${MAX_BIN_KIB:-3072}
MAX_RSS_KIB=${MAX_RSS_KIB:-65536}
need_root
need_cmds qemu-aarch64-static readelf strip aarch64-linux-gnu-strip python3 nsenter
need_bpffs
use_python3
X86=$BUILD/bpfix-static ARM=$BUILD/arm64/bpfix-static
need_file "$X86" "run make static"
need_file "$ARM" "run make cross-arm64"

# ---- the arm64 binary ---------------------------------------------------------
check_eq "arm64: ELF machine" "$(readelf -h "$ARM" | sed -n 's/^ *Machine: *//p')" AArch64
check_eq "arm64: program interpreter (static: none)" "$(readelf -l "$ARM" | grep -c 'interpreter')" 0
check_eq "arm64: shared libraries needed" "$(readelf -d "$ARM" 2>/dev/null | grep -c NEEDED)" 0
check_eq "x86: shared libraries needed" "$(readelf -d "$X86" 2>/dev/null | grep -c NEEDED)" 0
for b in "$X86:strip" "$ARM:aarch64-linux-gnu-strip"; do
	strip=${b#*:} b=${b%%:*}
	size=$(stat -c %s "$b")
	"$strip" -o "$TEST_TMP/stripped" "$b" || fail "$strip $b failed"
	info "small: $b $size bytes, $(stat -c %s "$TEST_TMP/stripped") stripped"
	check "$b at most $MAX_BIN_KIB KiB" test "$size" -le $((MAX_BIN_KIB * 1024))
done
qemu-aarch64-static "$ARM" --help > "$TEST_TMP/arm.help" 2>&1
check_eq "arm64 under qemu: --help exit status" "$?" 0
"$X86" --help > "$TEST_TMP/x86.help" 2>&1
check "arm64 --help = x86 --help" cmp -s "$TEST_TMP/arm.help" "$TEST_TMP/x86.help"
check_eq "arm64 under qemu: --version" "$(qemu-aarch64-static "$ARM" --version)" "$("$X86" --version)"
qemu-aarch64-static "$ARM" --no-such-flag > /dev/null 2>&1
check_eq "arm64 under qemu: bad flag exit status" "$?" 2

# ---- resident memory at 1,000 flows -----------------------------------------------
topo_pair sm 86 2
for flows in 65536 4096; do
	BPFIX=$X86 agent_start "rss$flows" "$NS_A" "$IF_A" --flows "$flows" \
		-c "file:$TEST_TMP/rss$flows.ipfix"
	rss0=$(rss_kib "$AGENT_PID")
	nsx_timeout 60 "$NS_B" python3 "$(dirname "$0")/../ns/ipfix_interop.py" udp-flows \
		"$IP4_A" 9 20000 1000 64 0 || fail "could not send 1000 flows"
	sleep 6	# sweeps, and a -v line (every 5 s) with the table's fill
	rss=$(rss_kib "$AGENT_PID")
	table=$(grep '^bpfix running: ' "$AGENT_ERR" | tail -n 1 | sed -n 's/.* | table \([0-9]*\)\/.*/\1/p')
	# The kernel's side: what its maps (the journal among them) charge.
	memlock=$(cat /proc/"$AGENT_PID"/fdinfo/* 2>/dev/null | awk '$1 == "memlock:" { n += $2 } END { print int(n / 1024) }')
	info "small: --flows $flows: RSS ${rss0} KiB at start, ${rss} KiB with ${table:-?} flows in the table; maps' memlock $memlock KiB"
	check "--flows $flows: at least 1000 flows in the table (${table:-?})" test "${table:-0}" -ge 1000
	check "--flows $flows: RSS $rss KiB at most $MAX_RSS_KIB KiB" test "$rss" -le "$MAX_RSS_KIB"
	agent_stop -TERM
done
test_done
