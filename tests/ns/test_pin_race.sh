#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Two agents starting at once on one --pin-path (issue 12, item 2). The
# one that loses the directory's flock must not remove the directory the
# winner holds locked: libbpf would make it again when the winner pins,
# the winner's lock would sit on a deleted inode, and a third agent could
# lock the new directory and share the winner's live maps.
#
# strace's fault injection opens the window the race needs, every time:
# agent 1 makes the directory, then its flock() waits 1.5 s on entry;
# agent 2, started meanwhile, gets the lock and waits 3 s after its
# flock() returns, so agent 1 fails (and cleans up) before agent 2 pins.
# Then agent 3 must be refused, and agent 2's directory fd must not name a
# deleted directory. Each agent on an interface of its own (veth pairs within one namespace).
#
#   env BUILD=build sh tests/ns/test_pin_race.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
need_root
need_cmds ip tc nsenter strace
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

NS=bpfix-$$-race
netns_create "$NS"
for i in 1 2 3; do
	ip -n "$NS" link add "race$i" type veth peer name "race${i}p" &&
		ip -n "$NS" link set "race$i" up && ip -n "$NS" link set "race${i}p" up ||
		fail "cannot create veth pair race$i/race${i}p"
done
PIN=$BPFFS/bpfix-$$-race
defer "rm -rf '$PIN'"

# The first flock() of each agent is the pin directory's.
bg "$NS" strace -f -qq -o /dev/null -e trace=flock -e inject=flock:delay_enter=1500000:when=1 \
	"$BPFIX" -i race1 --pin-path "$PIN" -v >"$TEST_TMP/a1.out" 2>"$TEST_TMP/a1.err"
A1=$!
wait_file "$PIN" "agent 1 (its pin directory)" "$A1"
bg "$NS" strace -f -qq -o /dev/null -e trace=flock -e inject=flock:delay_exit=3000000:when=1 \
	"$BPFIX" -i race2 --pin-path "$PIN" -v >"$TEST_TMP/a2.out" 2>"$TEST_TMP/a2.err"
A2=$!
stop "$A1" - 10
check_eq "agent 1 (lost the lock): exit status" "$?" 1
check "agent 1: says the pin path is taken" \
	grep -q "^bpfix: --pin-path $PIN: another bpfix is running with it$" "$TEST_TMP/a1.err"
wait_for "$TEST_TMP/a2.err" "^bpfix: metering" "agent 2" "$A2"
A2BPFIX=$(pgrep -P "$A2" | head -n 1)	# strace's tracee
check "agent 2: its pin directory fd names a live directory" sh -c \
	"ls -l /proc/$A2BPFIX/fd | grep -q ' $PIN\$' && ! ls -l /proc/$A2BPFIX/fd | grep -q '$PIN (deleted)'"
nsx_timeout 20 "$NS" "$BPFIX" -i race3 --pin-path "$PIN" -v >"$TEST_TMP/a3.out" 2>"$TEST_TMP/a3.err" &
A3=$!
bg_track "$A3"
sleep 3
SHARED=0
if kill -0 "$A3" 2>/dev/null; then
	SHARED=1
	check "agent 3: refused (it runs, sharing agent 2's maps: $(head -n 1 "$TEST_TMP/a3.err"))" false
	stop "$A3" INT 10
else
	stop "$A3" - 1
	check_eq "agent 3: exit status" "$?" 1
fi
check "agent 3: says the pin path is taken" \
	grep -q "^bpfix: --pin-path $PIN: another bpfix is running with it$" "$TEST_TMP/a3.err"
kill -INT "$A2BPFIX"	# strace passes its tracee's exit status on
stop "$A2" - 15
check_eq "agent 2: exit status after SIGINT" "$?" 0
check "then no $PIN" test ! -e "$PIN"
reliability "two agents start at once on one --pin-path (strace-delayed flock)" \
	"the loser and a third agent refused: '--pin-path PATH: another bpfix is running with it'; the winner's lock on its live directory" \
	"$SHARED"
test_done
