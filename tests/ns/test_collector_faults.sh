#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# IPFIX/TCP collectors that fail (issue 5, collector faults). One agent
# meters A's veth (--idle-timeout 1, sweeps every 100 ms, options every
# 2 s, --tcp-queue 256) and exports at once to
#   1. tcp://127.0.0.1:PA  collector A: nobody listens when bpfix starts
#   2. tcp://127.0.0.1:PB  collector B: reads, stops reading (SIGSTOP),
#                          reads again (SIGCONT)
#   3. a file              the reference: every record made (ipfixDump)
#   4. tcp://192.0.2.1:..  a collector with no route (TEST-NET-1)
# Each flow is one UDP datagram from B's namespace to a sink on A's port
# 9, from its own source port; each phase has its own ports and size.
#
# Absent at start: 300 flows before A listens. bpfix starts all the same
# and meters; its connection attempts (SYNs seen on lo) are 1 s, then 2 s
# apart (backoff doubling from 1 s); once A listens, the next attempt
# connects. Asserted on A's session (ipfixDump): sequence 0 and the
# templates first, RFC 7011 sequence numbers, exactly 256 (the queue) of
# the 300 records, and in its first message the exporting process
# reliability record: notSent flows and packets 44, octets 44 x 128, its
# time window inside the absence.
#
# Stops reading: a burst of 2000 flows while B reads (all 2000 arrive),
# then B is stopped and 2000 more flows are made, 500 at a time. B's socket
# buffers are small (its receive buffer 8 KiB, the kernel's send buffers
# in A's namespace at most 64 KiB; on lo they would otherwise take MBs of
# the stream): metering goes on (every record is in the file while B is
# stopped), the agent's resident memory does not grow with the backlog
# (at most by the queue, 256 records), and the records that did not fit
# are counted. Once B reads again, the first reliability record made after
# the burst reports exactly the records B lacks (flows, packets, octets),
# as does the last one, at exit.
#
# No route: connect() fails at once; bpfix starts, retries, and counts
# every record not sent. The exit line's not-sent is A's + B's + all.
#
# For each: records made - received - counted not sent = 0, printed as a
# reliability line.
#
# Queue shorter than a sweep's records: a second agent with --tcp-queue 4,
# a collector that reads, 20 flows at once: all 20 arrive, none is counted
# not sent (the queue bounds what waits for a collector, not how many
# records one sweep may hand to a connected one).
#
#   env BUILD=build sh tests/ns/test_collector_faults.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and files up (see lib.sh)
#   BPFIX_TEST_SAVE=DIR    copy streams, decodes and logs to DIR
#   SOAK=1                 bursts of 20000 flows
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
HELPER=$(dirname "$0")/ipfix_interop.py

PA=4751 PB=4752 PC=4753
QUEUE=256		# at least one message's worth (106 records): see the last case
REFRESH=2
SINK_PORT=9
ABSENT_N=300 ABSENT_SPORT=5000 ABSENT_SIZE=100
BURST_N=2000 BASE_SPORT=10000 BASE_SIZE=150 STALL_SPORT=40000 STALL_SIZE=200
STALL_CHUNK=500		# flows at a time while B is stopped (BURST_N is a multiple)
[ "$SOAK" = 1 ] && BURST_N=20000	# (ports up to 59999)
SMALL_QUEUE=4 SMALL_N=20 SMALL_SPORT=6000 SMALL_SIZE=50
WMEM_MAX=65536 RCVBUF=8192
RECORD_MEM=184		# octets a queued record takes (struct flow_record, user/flow.h)
RSS_SLACK=64		# KiB the heap may move by for other reasons

use_python3
need_root
need_cmds ip nsenter python3 timeout ipfixDump
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
ipfix_test_setup

# records FILE SPORT N [SECONDS [STATE]]: wait (default 20 s) until the
# IPFIX file or stream FILE holds the N records of the flows from SPORT
# on; prints how many it holds. STATE: count only what FILE gained since
# the last call with that STATE (see ipfix_interop.py wait-records).
records() {
	python3 "$HELPER" wait-records "$1" "$2-$(($2 + $3 - 1))" "$3" "${4:-20}" ${5:+"$5"}
}

# wait_nonempty FILE SECONDS: 0 once FILE has data.
wait_nonempty() {
	for _wn in $(seq $(($2 * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- topology ----------------------------------------------------------------------

quiet_pair cf 81 1
# On lo the kernel grows a socket's send buffer to MBs (tcp_wmem's
# maximum, 4 MiB): a stopped collector would then hold a whole burst.
nsx "$NS_A" sysctl -q -w net.ipv4.tcp_wmem="4096 16384 $WMEM_MAX" ||
	fail "cannot set net.ipv4.tcp_wmem in $NS_A"

bg "$NS_A" python3 "$HELPER" udp-sink "$SINK_PORT" 300 "$TMP/sink.ready" "$TMP/sink.report"
SINK_PID=$!
bg "$NS_A" python3 "$HELPER" syn-watch "$PA" "$TMP/syn" "$TMP/syn.ready"
SYN_PID=$!
bg "$NS_A" python3 "$HELPER" tcp-sink "$PB" "$TMP/b.ipfix" "$TMP/b.ready" "$RCVBUF"
B_PID=$!
# A stopped process ignores SIGTERM until continued: first SIGCONT.
defer "kill -CONT $B_PID"
wait_file "$TMP/sink.ready" "the UDP sink" "$SINK_PID"
wait_file "$TMP/syn.ready" "the SYN watcher" "$SYN_PID"
wait_file "$TMP/b.ready" "collector B" "$B_PID"

PIN=$BPFFS/bpfix-$$-cf
defer "rm -rf '$PIN'"
AGENT_ERR=$TMP/bpfix.err
START_MS=$(now_ms)
bg "$NS_A" "$BPFIX" -i "$IF_A" --pin-path "$PIN" -v --sweep-interval 100 --idle-timeout 1 \
	--template-refresh "$REFRESH" --tcp-queue "$QUEUE" \
	-c "tcp://127.0.0.1:$PA" -c "tcp://127.0.0.1:$PB" -c "file:$TMP/ref.ipfix" \
	-c "tcp://192.0.2.1:$PA" >"$TMP/bpfix.out" 2>"$AGENT_ERR"
AGENT_PID=$!
wait_for "$AGENT_ERR" "^bpfix: metering" "bpfix" "$AGENT_PID"
METERING_MS=$(now_ms)
check "bpfix started, collector A absent and one with no route ($((METERING_MS - START_MS)) ms)" \
	proc_alive "$AGENT_PID"

# ---- collector A absent at start ------------------------------------------------------

info "collector A absent: $ABSENT_N flows ($(elapsed))"
flows "$ABSENT_N" "$ABSENT_SPORT" "$ABSENT_SIZE"
check_eq "records made while A is absent (file)" \
	"$(records "$TMP/ref.ipfix" "$ABSENT_SPORT" "$ABSENT_N")" "$ABSENT_N"
bg "$NS_A" python3 "$HELPER" tcp-sink "$PA" "$TMP/a.ipfix" "$TMP/a.ready"
A_PID=$!
wait_file "$TMP/a.ready" "collector A" "$A_PID"
BACK_MS=$(now_ms)
wait_nonempty "$TMP/a.ipfix" 20
check "collector A: bpfix connected ($(( $(now_ms) - BACK_MS )) ms after it listened)" \
	test -s "$TMP/a.ipfix"

# ---- collector B reads, stops reading, reads again ---------------------------------------

# Paced (at most a few hundred records a sweep), so that a reader that
# loses the CPU for a sweep or two still keeps up: this burst is the
# healthy baseline.
info "collector B reading: $BURST_N flows ($(elapsed))"
flows "$BURST_N" "$BASE_SPORT" "$BASE_SIZE" 0.0004
check_eq "records of the first burst (file)" \
	"$(records "$TMP/ref.ipfix" "$BASE_SPORT" "$BURST_N")" "$BURST_N"
check_eq "records of the first burst at collector B" \
	"$(records "$TMP/b.ipfix" "$BASE_SPORT" "$BURST_N" 10)" "$BURST_N"
RSS1=$(rss_kib "$AGENT_PID")

# In chunks, each recorded before the next: the agent's flow table keeps
# the entries it ever used (the free ones are a stack), so while no more
# flows are live at once than in the first burst its memory stays where
# that burst left it, and what is left to grow is the queue.
kill -STOP "$B_PID"
info "collector B stopped: $BURST_N flows, $STALL_CHUNK at a time ($(elapsed))"
records "$TMP/ref.ipfix" 0 1 0 "$TMP/ref.scan" >/dev/null	# from here on
_sp=$STALL_SPORT _made=0
while [ "$_sp" -lt $((STALL_SPORT + BURST_N)) ]; do
	flows "$STALL_CHUNK" "$_sp" "$STALL_SIZE"
	_made=$((_made + $(records "$TMP/ref.ipfix" "$_sp" "$STALL_CHUNK" 20 "$TMP/ref.scan")))
	_sp=$((_sp + STALL_CHUNK))
done
check_eq "records of the second burst (file), made while B does not read" "$_made" "$BURST_N"
RSS2=$(rss_kib "$AGENT_PID")
check "bpfix still running" proc_alive "$AGENT_PID"
kill -CONT "$B_PID"
info "collector B reads again ($(elapsed))"
REPORT=$(python3 "$HELPER" wait-report "$TMP/b.ipfix" \
	"$STALL_SPORT-$((STALL_SPORT + BURST_N - 1))" $((REFRESH * 3)))
check "collector B: a reliability record after the burst ($REPORT)" test "$REPORT" != none

# The queue may fill (QUEUE records) and the heap move a little; keeping
# the backlog would take RECORD_MEM octets a record.
_grew=$((RSS2 - RSS1)) _bound=$((QUEUE * RECORD_MEM / 1024 + RSS_SLACK))
_k=${REPORT%% *}
[ "$_k" = none ] && _k=0
_backlog=$((_k * RECORD_MEM / 1024))
check "bpfix RSS while B was stopped: $RSS1 -> $RSS2 KiB (+$_grew), at most +$_bound" \
	test "$_grew" -le "$_bound"
check "  (the backlog not held, $_backlog KiB, exceeds that bound: the check can fail)" \
	test "$_backlog" -gt "$_bound"

stop "$AGENT_PID" TERM 15
check_eq "bpfix exit status" "$?" 0
check_eq "bpfix: stderr lines besides -v's" \
	"$(stderr_other "$AGENT_ERR")" 0
EXIT_LINE=$(grep '^bpfix exit: ' "$AGENT_ERR")
printf '  %s\n' "$EXIT_LINE"
stop "$A_PID" - 5
stop "$B_PID" - 5
stop "$SYN_PID" TERM 5
nothing_left "$NS_A" "$IF_A" "$PIN"

# ---- verdicts ----------------------------------------------------------------------

info "decoding ($(elapsed))"
for _f in ref a b; do
	ipfixDump --in "$TMP/$_f.ipfix" >"$TMP/$_f.dump" 2>&1
	check_eq "ipfixDump $_f: exit status" "$?" 0
done
python3 "$HELPER" check-faults --ref "$TMP/ref.dump" --a "$TMP/a.dump" --b "$TMP/b.dump" \
	--syn "$TMP/syn" --start-ms "$START_MS" --metering-ms "$METERING_MS" \
	--back-ms "$BACK_MS" --queue "$QUEUE" \
	--absent-sports "$ABSENT_SPORT-$((ABSENT_SPORT + ABSENT_N - 1))" \
	--absent-n "$ABSENT_N" --absent-size "$ABSENT_SIZE" --burst-n "$BURST_N" \
	--base-sports "$BASE_SPORT-$((BASE_SPORT + BURST_N - 1))" \
	--stall-sports "$STALL_SPORT-$((STALL_SPORT + BURST_N - 1))" --stall-size "$STALL_SIZE" \
	--report "$REPORT" --rss "$RSS1 $RSS2" --exit-line "$EXIT_LINE" --rows "$TMP/rows"
_rc=$?
[ "$_rc" -ge 100 ] && _rc=1
_fails=$((_fails + _rc))
# One reliability line per case: CASE, what was held, records lost silently.
_tab=$(printf '\t')
while IFS=$_tab read -r _case _held _lost; do
	reliability "$_case" "$_held" "$_lost"
done <"$TMP/rows"

# ---- a queue shorter than one sweep's records -------------------------------------------

info "--tcp-queue $SMALL_QUEUE, collector reading, $SMALL_N flows at once ($(elapsed))"
bg "$NS_A" python3 "$HELPER" tcp-sink "$PC" "$TMP/c.ipfix" "$TMP/c.ready"
C_PID=$!
wait_file "$TMP/c.ready" "collector C" "$C_PID"
AGENT_ERR=$TMP/bpfix-small.err
bg "$NS_A" "$BPFIX" -i "$IF_A" --pin-path "$PIN" -v --sweep-interval 100 --idle-timeout 1 \
	--tcp-queue "$SMALL_QUEUE" -c "tcp://127.0.0.1:$PC" -c "file:$TMP/ref-small.ipfix" \
	>"$TMP/bpfix-small.out" 2>"$AGENT_ERR"
AGENT_PID=$!
wait_for "$AGENT_ERR" "^bpfix: metering" "bpfix --tcp-queue $SMALL_QUEUE" "$AGENT_PID"
flows "$SMALL_N" "$SMALL_SPORT" "$SMALL_SIZE"
records "$TMP/ref-small.ipfix" "$SMALL_SPORT" "$SMALL_N" >/dev/null
_got=$(records "$TMP/c.ipfix" "$SMALL_SPORT" "$SMALL_N" 2)
stop "$AGENT_PID" TERM 15
check_eq "bpfix --tcp-queue $SMALL_QUEUE: exit status" "$?" 0
stop "$C_PID" - 5
check_eq "--tcp-queue $SMALL_QUEUE: records made, at the collector, not sent (exit line)" \
	"$(exit_counter records) $_got $(exit_counter not_sent)" "$SMALL_N $SMALL_N 0"

stop "$SINK_PID" TERM 5
_n=$((ABSENT_N + 2 * BURST_N + SMALL_N))
check_eq "the UDP sink: datagrams, octets" "$(cat "$TMP/sink.report")" \
	"datagrams=$_n octets=$((ABSENT_N * ABSENT_SIZE + BURST_N * (BASE_SIZE + STALL_SIZE) + SMALL_N * SMALL_SIZE))"
info "done ($(elapsed))"
test_done
