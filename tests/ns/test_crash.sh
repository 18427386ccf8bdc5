#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# SIGKILL under load (issue 5, item 4): the agent is killed again and again
# while trafgen sends as fast as it can, and restarted each time on the same
# pin path. The programs stay attached and go on metering into the pinned
# tables while no agent runs; each new agent adopts the tables and the dead
# one's journal (user/journal.h: its flow table, its staged drain, what its
# output had not written), exports what the dead one had not, and counts as
# not sent what the dead one had handed to its output but never written.
# Over all the agents: exported packets + packets reported not sent or lost =
# the packets that reached the metered interface, exactly: nothing lost
# silently, nothing counted twice.
#
# A quiet veth pair (lib.sh's quiet_pair); trafgen in A sends IPv4 UDP frames
# of 256 flows to a MAC that is not B's, so B's stack drops them after the
# meter; bpfix -m xdp (native) on B's veth, JSON records into a reader that
# sums them (lib.sh's json_tally_start), idle and active timeouts of 1 s,
# sweeps every 100 ms, so records are made, drained flows are folded and
# outputs write all the time. The agents are killed at random moments 0.4 to
# 1.4 s into their run; the last one is stopped with SIGINT once the kernel
# has metered everything that arrived. The independent count is B's
# rx_packets delta.
#
# A kill inside a write() to the reader's pipe could leave part of a buffer
# written and the rest not: the successor then counts the whole buffer as not
# sent (journal.h says why no process can do better). A dead agent's last
# line cut short shows it; the test says so and allows for it.
#
#   env BUILD=build sh tests/ns/test_crash.sh
#   SOAK=1                 60 s of traffic (default: 6 s)
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
if [ "$SOAK" = 1 ]; then
	SECS=60
else
	SECS=6
fi
AGENT_ARGS="-m xdp -f json --idle-timeout 1 --active-timeout 1 --sweep-interval 100"
OTHERHOST=02:00:00:00:0c:0c

need_root
need_cmds ip nsenter timeout trafgen awk
need_bpffs
need_file "$BPFIX"

quiet_pair crash 79 1

cat >"$TEST_TMP/trafgen.cfg" <<EOF
{
  $(hexbytes "$OTHERHOST"), $(hexbytes "$(mac_of "$NS_A" "$IF_A")"), 0x08, 0x00,
  0x45, 0x00, const16(92), 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, csumip(14, 33),
  10, 208, 0, 1, 10, 209, 0, 1,
  0xc5, dinc(0, 255), const16(9), const16(72), 0x00, 0x00,
  fill(0x5a, 64)
}
EOF

arrived() {
	echo $(($(dev_stat "$NS_B" "$IF_B" rx_packets) - RX0))
}

# The agents, all on one pin path.
# shellcheck disable=SC2034 # read by lib.sh's agent_start
PIN_TAG=crash
RX0=$(dev_stat "$NS_B" "$IF_B" rx_packets)
GEN=0 EXPORTED=0 NOT_SENT=0 ADOPTED=0 CUT=0 RECORDS=0

# agent_up: start agent number GEN+1.
agent_up() {
	GEN=$((GEN + 1))
	json_tally_start "gen$GEN"
	# shellcheck disable=SC2086 # options
	agent_start "gen$GEN" "$NS_B" "$IF_B" $AGENT_ARGS
	if grep -q "adopted an earlier agent's journal" "$AGENT_ERR"; then
		ADOPTED=$((ADOPTED + 1))
	fi
	# What the dead one handed its output and never wrote, as this one says.
	_au=$(sed -n 's/^bpfix: stdout: [0-9]* records (\([0-9]*\) packets) an earlier agent.*/\1/p' \
		"$AGENT_ERR")
	NOT_SENT=$((NOT_SENT + ${_au:-0}))
}

# agent_down: what the agent's output wrote, once it is gone.
agent_down() {
	json_tally_wait
	EXPORTED=$((EXPORTED + $(tally_get packets)))
	RECORDS=$((RECORDS + $(tally_get records)))
	if [ "$(tally_get invalid)" != 0 ]; then
		CUT=$((CUT + 1))
		info "agent $GEN: killed inside a write(): its last line is cut short"
	fi
}

agent_up
bg "$NS_A" timeout -s INT "$SECS" trafgen --dev "$IF_A" --conf "$TEST_TMP/trafgen.cfg" \
	--cpus 1 -t 0 >"$TEST_TMP/trafgen.out" 2>&1
TRAFGEN=$!
T_END=$(($(date +%s) + SECS))
while [ "$(date +%s)" -lt "$T_END" ]; do
	sleep "$(awk -v s="$$$GEN" 'BEGIN { srand(s); printf "%.2f", 0.4 + rand() }')"
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	bg_untrack "$AGENT_PID"
	agent_down
	agent_up
done
wait "$TRAFGEN"
bg_untrack "$TRAFGEN"
settle "$AGENT_PIN" 0 arrived || info "the kernel's count never met rx_packets"
ARRIVED=$SETTLED
agent_stop "$NS_B" "$IF_B"
agent_down
LOST=$(exit_counter lost_packets)
SENT=$(tr '\r' '\n' <"$TEST_TMP/trafgen.out" | sed -n 's/^ *\([0-9]*\) packets outgoing.*/\1/p')
KILLS=$((GEN - 1))
info "$KILLS kills in $SECS s; trafgen sent ${SENT:-?}, $ARRIVED arrived; $RECORDS records, $EXPORTED packets exported, $NOT_SENT reported not sent by the successors, $LOST lost (last agent)"

check "at least 3 kills" test "$KILLS" -ge 3
check "successors adopted a journal that held flows ($ADOPTED of $KILLS)" test "$ADOPTED" -ge 1
check_eq "the last agent's records are sane" "$(exit_counter not_sent)" 0
HELD="$KILLS SIGKILLs at random moments in $SECS s of trafgen at full speed ($(human "$ARRIVED") packets, 256 flows, -m xdp, 1 s timeouts, 100 ms sweeps); each successor adopted the tables and the journal ($ADOPTED held flows)"
if [ "$CUT" = 0 ]; then
	reliability_exact "SIGKILL under load, restart" "$HELD" "$ARRIVED" "$EXPORTED" \
		"$((NOT_SENT + LOST))"
else
	# Counted twice at most: what the cut writes carried.
	_over=$((EXPORTED + NOT_SENT + LOST - ARRIVED))
	check "with $CUT cut writes: none lost silently" test "$_over" -ge 0
	reliability "SIGKILL under load, restart" "$HELD; $CUT kills inside a write()" 0
fi
test_done
