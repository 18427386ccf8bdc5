#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Least privilege: the agent runs with exactly CAP_BPF, CAP_NET_ADMIN and
# CAP_PERFMON (the set the README names), keeps only CAP_BPF and
# CAP_NET_ADMIN once attached, sets no_new_privs, pins its maps mode 0600,
# meters, and shuts down cleanly. Without CAP_PERFMON it fails with one
# clear line and leaves nothing pinned or attached.
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmds setpriv ping
need_bpffs
BPFIX=${BPFIX:-$BUILD/bpfix}
need_file "$BPFIX" "run make"

topo_pair pv 77 1
PIN=$BPFFS/bpfix-$$-privs
defer "rm -rf '$PIN'"

# The capability bits as /proc/PID/status prints them.
# shellcheck disable=SC2034 # CAP_PERFMON: the set, named in full
CAP_NET_ADMIN=12 CAP_PERFMON=38 CAP_BPF=39
kept=$(printf '%016x' $(((1 << CAP_BPF) | (1 << CAP_NET_ADMIN))))

# caps_run CAPS ARGS...: bpfix as uid 0 with only CAPS. It execs, so the
# caller's process becomes bpfix: run it with & or in ( ).
caps_run() {
	_cr_caps=$1
	shift
	exec nsenter --net="$NETNS_DIR/$NS_B" setpriv --bounding-set=-all,"$_cr_caps" \
		--inh-caps=-all "$BPFIX" -i "$IF_B" --pin-path "$PIN" "$@"
}

# ---- with exactly the documented set ---------------------------------------
caps_run +bpf,+net_admin,+perfmon -f json --idle-timeout 1 --sweep-interval 200 \
	> "$TEST_TMP/out.json" 2> "$TEST_TMP/err" &
AGENT_PID=$!
bg_track "$AGENT_PID"
i=0
until [ -e "$PIN/stats" ] && [ "$(bpfix_tc "$NS_B" "$IF_B")" = 2 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "agent not attached after 10 s: $(cat "$TEST_TMP/err")"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(cat "$TEST_TMP/err")"
	sleep 0.1
done
sleep 0.3	# privileges are dropped right after attaching

check_eq "effective capabilities after attach" \
	"$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$AGENT_PID/status")" "$kept"
check_eq "permitted capabilities after attach" \
	"$(sed -n 's/^CapPrm:[[:space:]]*//p' "/proc/$AGENT_PID/status")" "$kept"
# The bounding set keeps CAP_PERFMON here: dropping from it needs
# CAP_SETPCAP, which this run never had; no_new_privs and the empty
# inheritable set mean nothing can raise it again.
check_eq "no_new_privs" "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$AGENT_PID/status")" 1
for m in flow_table_0 flow_table_1 flow_tables flow_epoch stats frag_table; do
	check_eq "pin $m mode" "$(stat -c %a "$PIN/$m" 2>/dev/null)" 600
done

ip netns exec "$NS_A" ping -c 3 -i 0.2 -s 56 "$IP4_B" > /dev/null ||
	fail "ping through the metered interface failed"
sleep 1.5	# one idle timeout and a sweep
agent_stop -INT
check_eq "ICMP echo packets metered (both ways)" \
	"$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["proto"] == "ICMP" and r["icmp_type"] == 8:
        n += r["packets"] + r["rev_packets"]
print(n)' "$TEST_TMP/out.json")" 6
check_eq "nothing left on $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 0, xdp 0"
check "no pins left" test ! -e "$PIN"

# ---- without CAP_PERFMON -------------------------------------------------------
(caps_run +bpf,+net_admin) > /dev/null 2> "$TEST_TMP/err2"
rc=$?
check_eq "exit code without CAP_PERFMON" "$rc" 1
check_eq "one error line" "$(wc -l < "$TEST_TMP/err2")" 1
check "the line names the capabilities" grep -q "CAP_PERFMON" "$TEST_TMP/err2"
info "error line: $(cat "$TEST_TMP/err2")"
check "nothing pinned" test ! -e "$PIN"
check_eq "no qdisc added" "$(tc -n "$NS_B" qdisc show dev "$IF_B" | grep -c clsact)" 0
test_done
