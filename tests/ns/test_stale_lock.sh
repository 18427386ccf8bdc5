#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Whose clsact qdisc it is (issue 12, item 3) is decided from the qdisc,
# never from a lock file: a SIGKILLed agent's /run/bpfix/NETNS-IFINDEX.lock
# outlives its namespace and interface, whose numbers are reused at once.
# At its clean exit an agent removes clsact only if it created it in this
# run, or an earlier agent's filters were on it, and no filter is left.
#
#  - a stale lock file naming this namespace and interface that says
#    "clsact=created" (as bpfix's before this change wrote), and a clsact
#    with another tool's filters (classic BPF filters,
#    ingress and egress): after bpfix's clean exit both filters and the
#    qdisc remain, and the lock file is gone;
#  - in one namespace: an agent SIGKILLed, the user replaces its clsact
#    with one of their own with a filter; the next agent's clean
#    exit leaves their qdisc and filter;
#  - an agent SIGKILLed, the user adds a filter to its clsact: the next
#    agent takes over the dead one's filters, and its clean exit leaves the
#    qdisc with the user's filter on it.
#
#   env BUILD=build sh tests/ns/test_stale_lock.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
need_root
need_cmds ip tc nsenter bpftool ping
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

topo_pair stale 82 1
NSINO=$(stat -L -c %i "$NETNS_DIR/$NS_B")
IDX=$(ifindex_of "$NS_B" "$IF_B")
LOCK=/run/bpfix/$NSINO-$IDX.lock

# Another tool's filters: cls_bpf with classic BPF bytecode that matches
# nothing ("ret #0"): cls_bpf is the one classifier every kernel bpfix runs
# on has (matchall and the gact action may be modules that are not there),
# and the bytecode passes every packet on.
others() {
	for _o in ingress egress; do
		nsx "$NS_B" tc filter show dev "$IF_B" "$_o"
	done | grep -c 'handle 0x7 .*bytecode'
}

# crashed_agent TAG: a tc agent on IF_B (pins PIN_TAG), SIGKILLed once it
# meters: its filters, the clsact it created and its lock file stay.
crashed_agent() {
	agent_start "$1" "$NS_B" "$IF_B" -f json --tc-mode legacy
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	bg_untrack "$AGENT_PID"
}

# other_filter ingress|egress PRIO
other_filter() {
	nsx "$NS_B" tc filter add dev "$IF_B" "$1" prio "$2" handle 7 bpf bytecode '1,6 0 0 0,' ||
		fail "cannot add another tool's $1 filter"
}

# ---- a stale lock file's word -----------------------------------------------
info "a stale lock file saying clsact=created, another tool's clsact and filters"
nsx "$NS_B" tc qdisc add dev "$IF_B" clsact || fail "cannot add clsact to $IF_B"
defer "nsenter --net='$NETNS_DIR/$NS_B' tc qdisc del dev '$IF_B' clsact"
other_filter ingress 5
other_filter egress 7
mkdir -p /run/bpfix
printf '99999\nclsact=created\n' >"$LOCK"
defer "rm -f '$LOCK'"
check_eq "before bpfix: others' filters" "$(others)" 2
agent_start word "$NS_B" "$IF_B" -f json --tc-mode legacy
ping_ok "$NS_A" 2 "$IP4_B"
LEFT_ON="clsact 1, tcx 0, xdp 0"
agent_stop "$NS_B" "$IF_B"
check_eq "after bpfix: others' filters (ingress, egress)" "$(others)" 2
check_eq "after bpfix: bpfix's filters" \
	"$(nsx "$NS_B" tc filter show dev "$IF_B" ingress | grep -c 0xb9f1)" 0
check "after bpfix: the stale lock file is gone" test ! -e "$LOCK"
reliability "a stale lock file saying clsact=created; another tool's clsact and 2 filters" \
	"after bpfix's clean exit: $(others) of 2 filters and the qdisc stay, the stale lock file is gone" \
	"$((2 - $(others)))"
nsx "$NS_B" tc qdisc del dev "$IF_B" clsact

# ---- a crashed agent's qdisc replaced by the user's -------------------------
info "SIGKILL, the user replaces the clsact qdisc, a new agent"
PIN_TAG=replaced
crashed_agent rep1
nsx "$NS_B" tc qdisc del dev "$IF_B" clsact &&
	nsx "$NS_B" tc qdisc add dev "$IF_B" clsact &&
	other_filter ingress 5 || fail "cannot replace the clsact qdisc"
agent_start rep2 "$NS_B" "$IF_B" -f json --tc-mode legacy
agent_stop "$NS_B" "$IF_B"
check_eq "after bpfix: the user's filter" "$(others)" 1
reliability "SIGKILL, the user replaces clsact with theirs, a new agent" \
	"after its clean exit: the user's qdisc and $(others) of 1 filter stay" "$((1 - $(others)))"
nsx "$NS_B" tc qdisc del dev "$IF_B" clsact

# ---- a crashed agent's qdisc the user added a filter to ---------------------
info "SIGKILL, the user adds a filter to the dead agent's clsact, a new agent"
PIN_TAG=added
crashed_agent add1
other_filter egress 7
agent_start add2 "$NS_B" "$IF_B" -f json --tc-mode legacy
check_eq "restarted: the dead agent's filters taken over" \
	"$(grep -c "^bpfix: $IF_B: an earlier agent's tc .* filter, .*: taken over$" "$AGENT_ERR")" 2
agent_stop "$NS_B" "$IF_B"
check_eq "after bpfix: the user's filter on the dead agent's qdisc" "$(others)" 1
reliability "SIGKILL, the user adds a filter to the dead agent's clsact, a new agent" \
	"the dead agent's 2 filters taken over and removed at exit; $(others) of 1 user filter and its qdisc stay" \
	"$((1 - $(others)))"
PIN_TAG=''
test_done
