#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# An earlier agent's attachments (issue 12, item 1): a SIGKILLed agent
# leaves its programs attached and metering into the pinned tables. The
# agent that adopts the pins takes over the ones on interfaces it meters in
# the same mode and removes every other one, each said in one -v line and
# counted; it knows them by the programs the dead agent pinned beside its
# maps, not by name (which the kernel gives by id only with CAP_SYS_ADMIN).
#
#  - tc on B, SIGKILL, -m xdp on B: 10 pings are 10 records' worth, not 20;
#    no reverse packets (ingress only); the dead agent's filters and the
#    clsact it created are gone during the run and after it; the other
#    way round (xdp-generic, then tc): its XDP program is gone;
#  - tc on B and B2, SIGKILL, tc on B: B2's filters, clsact and lock file
#    go at the start; pings over B2 are not exported; nothing left after;
#  - with exactly CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON: a tc agent and
#    an xdp agent, each SIGKILLed and started again, take over their
#    predecessor's attachment (before: "belongs to program ''").
#
#   env BUILD=build sh tests/ns/test_adopt.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
need_root
need_cmds ip tc nsenter setpriv ping python3
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

topo_pair adopt 81 1
IF_B2=adopt2-b IF_A2=adopt2-a IP4_B2=10.81.2.2
veth_pair "$NS_A" "$IF_A2" "$NS_B" "$IF_B2" 81 2
NSINO=$(stat -L -c %i "$NETNS_DIR/$NS_B")

kill9() {
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	bg_untrack "$AGENT_PID"
}

# bpfix's TCX links (the default) or legacy filters on IF in NS_B
bpfix_filters() {
	bpfix_tc "$NS_B" "$1"
}

icmp_sum() {
	rec_sum "$RECS" "$1" protocol=1 src="$2" icmp_type=8
}

# ---- tc, then xdp on the same interface -------------------------------------
info "tc agent SIGKILLed, xdp agent on the same pins"
PIN_TAG=mode
agent_start mode1 "$NS_B" "$IF_B" -m tc -f json
kill9
check_eq "after SIGKILL: bpfix filters on $IF_B" "$(bpfix_filters "$IF_B")" 2
agent_start mode2 "$NS_B" "$IF_B" -m xdp -f json --idle-timeout 60 --active-timeout 60
check_eq "xdp agent running: bpfix tc filters on $IF_B, clsact" \
	"$(bpfix_filters "$IF_B"), $(attached "$NS_B" "$IF_B")" "0, clsact 0, tcx 0, xdp 1"
check_eq "-v lines on the dead agent's filters" \
	"$(grep -c "^bpfix: $IF_B: an earlier agent's TCX .* link, .*: removed$" "$AGENT_ERR")" 2
check "-v count line" grep -q "^bpfix: an earlier agent's attachments: 0 taken over, 2 removed$" \
	"$AGENT_ERR"
ping_ok "$NS_A" 10 "$IP4_B"
agent_stop "$NS_B" "$IF_B"
agent_records mode
check_eq "10 pings: packets, rev_packets" "$(icmp_sum packets "$IP4_A") $(icmp_sum rev_packets "$IP4_A")" \
	"10 0"
_pk=$(icmp_sum packets "$IP4_A")
reliability "SIGKILL in tc mode, restart in xdp mode on the same pins" \
	"10 pings: $_pk packets, $(icmp_sum rev_packets "$IP4_A") reverse; the dead agent's 2 TCX links removed, said with -v" \
	"$(( ${_pk:-0} > 10 ? ${_pk:-0} - 10 : 10 - ${_pk:-0} ))"

info "xdp-generic agent SIGKILLed, tc agent on the same pins"
PIN_TAG=mode2
agent_start back1 "$NS_B" "$IF_B" -m xdp-generic -f json
kill9
agent_start back2 "$NS_B" "$IF_B" -m tc -f json --idle-timeout 60 --active-timeout 60
check_eq "tc agent running: on $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 2, xdp 0"
check "-v line on the dead agent's program" \
	grep -q "^bpfix: $IF_B: an earlier agent's generic XDP program, .*: removed$" "$AGENT_ERR"
ping_ok "$NS_A" 3 "$IP4_B"
agent_stop "$NS_B" "$IF_B"
agent_records back
check_eq "3 pings: packets, rev_packets" "$(icmp_sum packets "$IP4_A") $(icmp_sum rev_packets "$IP4_A")" \
	"3 3"

# ---- two interfaces, then one -----------------------------------------------
info "tc agent on two interfaces SIGKILLed, restarted on one"
PIN_TAG=two
agent_start two1 "$NS_B" "$IF_B" -i "$IF_B2" -m tc -f json
B2IDX=$(ifindex_of "$NS_B" "$IF_B2")
kill9
check_eq "after SIGKILL: bpfix filters on $IF_B2, its lock file" \
	"$(bpfix_filters "$IF_B2") $(ls /run/bpfix/"$NSINO-$B2IDX.lock" 2>/dev/null | wc -l)" "2 1"
agent_start two2 "$NS_B" "$IF_B" -m tc -f json --idle-timeout 60 --active-timeout 60
check_eq "restarted on $IF_B: on $IF_B2 filters, qdisc" \
	"$(bpfix_filters "$IF_B2"), $(attached "$NS_B" "$IF_B2")" "0, clsact 0, tcx 0, xdp 0"
check "restarted on $IF_B: $IF_B2's stale lock file removed" \
	test ! -e "/run/bpfix/$NSINO-$B2IDX.lock"
check_eq "-v lines: $IF_B taken over, $IF_B2 removed" \
	"$(grep -c "^bpfix: $IF_B: an earlier agent's TCX .* link, .*: taken over$" "$AGENT_ERR") $(grep -c "^bpfix: $IF_B2: an earlier agent's TCX .* link, .*: removed$" "$AGENT_ERR")" \
	"2 2"
check "-v count line" grep -q "^bpfix: an earlier agent's attachments: 2 taken over, 2 removed$" \
	"$AGENT_ERR"
ping_ok "$NS_A" 3 "$IP4_B2"
ping_ok "$NS_A" 4 "$IP4_B"
agent_stop "$NS_B" "$IF_B"
check_eq "after: on $IF_B2" "$(attached "$NS_B" "$IF_B2")" "clsact 0, tcx 0, xdp 0"
agent_records two
check_eq "pings over $IF_B2 after the restart: records" \
	"$(rec_count "$RECS" protocol=1 dst="$IP4_B2")" 0
check_eq "pings over $IF_B: packets, rev_packets" "$(icmp_sum packets "$IP4_A") $(icmp_sum rev_packets "$IP4_A")" \
	"4 4"
_b2=$(rec_count "$RECS" protocol=1 dst="$IP4_B2")
reliability "SIGKILL on -i B -i B2, restart on -i B" \
	"B's 2 TCX links taken over, B2's 2 TCX links and lock file removed, said with -v; B2's pings after: $_b2 records" \
	"$_b2"

# ---- exactly the documented capabilities ------------------------------------
CAPS_BPFIX=$TEST_TMP/bpfix-caps
printf '#!/bin/sh\nexec setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon --inh-caps=-all %s "$@"\n' \
	"$(realpath "$BPFIX")" >"$CAPS_BPFIX"
chmod +x "$CAPS_BPFIX"
ROOT_BPFIX=$BPFIX
BPFIX=$CAPS_BPFIX
for mode in tc xdp; do
	info "-m $mode with CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON: SIGKILL, restart"
	PIN_TAG=caps-$mode
	agent_start "caps-$mode-1" "$NS_B" "$IF_B" -m "$mode" -f json
	kill9
	agent_start "caps-$mode-2" "$NS_B" "$IF_B" -m "$mode" -f json
	check_eq "-m $mode restarted: taken over" \
		"$(grep -c "^bpfix: $IF_B: an earlier agent's .*: taken over$" "$AGENT_ERR")" \
		"$([ "$mode" = tc ] && echo 2 || echo 1)"
	ping_ok "$NS_A" 2 "$IP4_B"
	agent_stop "$NS_B" "$IF_B"
done
BPFIX=$ROOT_BPFIX
PIN_TAG=''
test_done
