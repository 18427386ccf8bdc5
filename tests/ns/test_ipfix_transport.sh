#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# bpfix's IPFIX transports when the collector is not there: one agent
# meters A's veth (--idle-timeout 1, sweeps every 100 ms, templates every
# 3 s, --tcp-queue 4) and exports at once to
#   1. udp://127.0.0.1:P1  nobody listens (each send is refused: ICMP port
#                          unreachable) until nfcapd starts there
#   2. udp://127.0.0.1:P2  a silent path (a gate that drops every datagram,
#                          as a firewall would: the exporter cannot tell)
#                          that opens onto a second nfcapd
#   3. tcp://127.0.0.1:P4  a TCP sink storing the stream (nfcapd has no TCP
#                          listener; the stream is an IPFIX file for
#                          ipfixDump), killed and restarted mid-run
#   4. a file              ipfixDump: the reference, every record made
# Each flow is one UDP datagram from B to a sink on A's port 9, from its own
# source port, so each record is told apart by its source port.
#
# Late collector: a new flow every 0.25 s for 7 s, so records go out
# continuously; 2 s in, nfcapd starts on P1 and the gate on P2 opens. Each
# nfcapd decodes its first record within one refresh interval of its start
# (3 s, plus 1.5 s of slack for the sweep, the record interval and a busy
# machine; measured and printed: on P1 bpfix resends the templates as soon
# as a send was refused, on P2 only the refresh timer can help), every
# record exported from one refresh interval on (export times have a
# resolution of 1 s: from 4 s on), and nothing that differs from the
# reference.
#
# TCP collector restart: the sink is killed (SIGKILL), 10 flows while it is
# down (the queue keeps 4, drops 6), a new sink, 3 flows. Asserted on the
# two sessions decoded by ipfixDump: each starts with sequence 0 and the
# templates and has RFC 7011 sequence numbers; every record before the kill
# is in session 1; exactly 4 of the 10 records made while down arrive in
# session 2, none twice; the 3 records after the restart arrive; session 2's
# first message reports the loss in the exporting process reliability
# options record: notSentFlowTotalCount 6, notSentPacketTotalCount 6,
# notSentOctetTotalCount 6 x 228, its time window inside the absence; and
# the records and packets of both sessions plus the loss are exactly the
# agent's own counts.
#
# The link is quiet but for the test's flows: IPv6 off (no router
# solicitations, no neighbour discovery), static ARP entries.
#
#   env BUILD=build sh tests/ns/test_ipfix_transport.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and files up (see lib.sh)
#   BPFIX_TEST_SAVE=DIR    copy streams, decodes and logs to DIR
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
HELPER=$(dirname "$0")/ipfix_interop.py

P1=4739 P2=4740 P3=4741 P4=4742
REFRESH=3 QUEUE=4
SINK_PORT=9
LATE_N=28 LATE_SPORT=41000 LATE_GAP=0.25	# one flow every 0.25 s for 7 s;
LATE_START=2				# the collectors start after 2 s
DOWN_N=10 DOWN_SPORT=41200 DOWN_SIZE=200	# TCP collector down
AFTER_N=3 AFTER_SPORT=41300 AFTER_SIZE=300	# and back
TCP_EXPORTER_ID=3			# exportingProcessId: place among the -c

PYTHON3=${PYTHON3:-$(command -v /usr/bin/python3 || command -v python3)}
if [ -n "$PYTHON3" ]; then
	mkdir -p "$TEST_TMP/bin" && ln -sf "$PYTHON3" "$TEST_TMP/bin/python3" &&
		PATH=$TEST_TMP/bin:$PATH
fi

need_root
need_cmds ip nsenter python3 timeout ipfixDump nfcapd nfdump
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
ipfix_test_setup

# ---- topology ----------------------------------------------------------------------

topo_pair tr 79 1
for _e in "$NS_A $IF_A $IP4_B $IF_B $NS_B" "$NS_B $IF_B $IP4_A $IF_A $NS_A"; do
	# shellcheck disable=SC2086 # five words
	set -- $_e
	nsx "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1" ||
		fail "cannot turn IPv6 off on $2"
	_mac=$(ip -n "$5" -o link show dev "$4" | sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
	ip -n "$1" neigh replace "$3" lladdr "$_mac" dev "$2" nud permanent ||
		fail "cannot add a static ARP entry on $2"
done

info "collectors ($(elapsed))"
bg "$NS_A" python3 "$HELPER" udp-sink "$SINK_PORT" 90 "$TMP/sink.ready" "$TMP/sink.report"
SINK_PID=$!
bg "$NS_A" python3 "$HELPER" udp-gate "$P2" "$P3" "$TMP/gate.open" "$TMP/gate.ready" \
	"$TMP/gate.report"
GATE_PID=$!
mkdir -p "$TMP/nfcapd1" "$TMP/nfcapd2"
bg "$NS_A" nfcapd -b 127.0.0.1 -p "$P3" -w "$TMP/nfcapd2" >"$TMP/nfcapd2.log" 2>&1
NFCAPD2_PID=$!
bg "$NS_A" python3 "$HELPER" tcp-sink "$P4" "$TMP/s1.ipfix" "$TMP/s1.ready"
S1_PID=$!
wait_file "$TMP/sink.ready" "the UDP sink" "$SINK_PID"
wait_file "$TMP/gate.ready" "the UDP gate" "$GATE_PID"
wait_file "$TMP/s1.ready" "the TCP sink" "$S1_PID"
wait_for "$TMP/nfcapd2.log" "Startup" "nfcapd on port $P3" "$NFCAPD2_PID"

PIN=$BPFFS/bpfix-$$-tr
defer "rm -rf '$PIN'"
bg "$NS_A" "$BPFIX" -i "$IF_A" --pin-path "$PIN" -v --sweep-interval 100 --idle-timeout 1 \
	--template-refresh "$REFRESH" --tcp-queue "$QUEUE" \
	-c "udp://127.0.0.1:$P1" -c "udp://127.0.0.1:$P2" -c "tcp://127.0.0.1:$P4" \
	-c "file:$TMP/ref.ipfix" >"$TMP/bpfix.out" 2>"$TMP/bpfix.err"
BPFIX_PID=$!
wait_for "$TMP/bpfix.err" "^bpfix: metering" "bpfix" "$BPFIX_PID"
[ "$(bpfix_tc "$NS_A" "$IF_A")" = 2 ] ||
	fail "bpfix's programs not on $IF_A's tc hooks although it says it meters"

# ---- a late collector --------------------------------------------------------------

info "$LATE_N flows over 7 s, no collector decoding yet ($(elapsed))"
flows "$LATE_N" "$LATE_SPORT" 100 "$LATE_GAP" &
FLOWS_PID=$!
bg_track "$FLOWS_PID"
sleep "$LATE_START"
bg "$NS_A" nfcapd -b 127.0.0.1 -p "$P1" -w "$TMP/nfcapd1" >"$TMP/nfcapd1.log" 2>&1
NFCAPD1_PID=$!
wait_for "$TMP/nfcapd1.log" "Startup" "nfcapd on port $P1" "$NFCAPD1_PID"
START_MS=$(now_ms)
: >"$TMP/gate.open"
info "collectors started ($(elapsed))"
stop "$FLOWS_PID" - 20 || fail "the flows were not sent"
sleep 1.5

# ---- a TCP collector goes away and comes back ----------------------------------------

check "TCP session 1 received data" test -s "$TMP/s1.ipfix"
KILL_MS=$(now_ms)
stop "$S1_PID" KILL 5
info "TCP collector killed; $DOWN_N flows ($(elapsed))"
sleep 0.5		# bpfix sees the end of the connection at its next sweep
flows "$DOWN_N" "$DOWN_SPORT" "$DOWN_SIZE" 0.02
sleep 1		# their records wait in the queue or are dropped
bg "$NS_A" python3 "$HELPER" tcp-sink "$P4" "$TMP/s2.ipfix" "$TMP/s2.ready"
S2_PID=$!
wait_file "$TMP/s2.ready" "the second TCP sink" "$S2_PID"
BACK_MS=$(now_ms)
for _i in $(seq 100); do	# the reconnect backoff doubles from 1 s
	[ -s "$TMP/s2.ipfix" ] && break
	sleep 0.1
done
check "TCP session 2: bpfix reconnected within 10 s ($(( $(now_ms) - BACK_MS )) ms)" \
	test -s "$TMP/s2.ipfix"
info "TCP collector back; $AFTER_N flows ($(elapsed))"
flows "$AFTER_N" "$AFTER_SPORT" "$AFTER_SIZE" 0.1
sleep 1.5

stop "$BPFIX_PID" TERM 10
check_eq "bpfix exit status" "$?" 0
check_eq "bpfix: stderr lines besides -v's" \
	"$(stderr_other "$TMP/bpfix.err")" 0
EXIT_LINE=$(grep '^bpfix exit: ' "$TMP/bpfix.err")
printf '  %s\n' "$EXIT_LINE"
stop "$S2_PID" - 5		# the end of the connection ends it
for _p in $NFCAPD1_PID $NFCAPD2_PID; do
	stop "$_p" INT 5
done
stop "$GATE_PID" TERM 5
stop "$SINK_PID" TERM 5
check_eq "the gate on port $P2: datagrams dropped before it opened, forwarded after" \
	"$(sed 's/=[1-9][0-9]*/=N/g' "$TMP/gate.report")" "dropped=N forwarded=N"
_octets=$((LATE_N * 100 + DOWN_N * DOWN_SIZE + AFTER_N * AFTER_SIZE))
check_eq "the sink on port $SINK_PORT: datagrams" "$(cat "$TMP/sink.report")" \
	"datagrams=$((LATE_N + DOWN_N + AFTER_N)) octets=$_octets"

# ---- verdicts ----------------------------------------------------------------------

info "decoding ($(elapsed))"
for _f in ref s1 s2; do
	ipfixDump --in "$TMP/$_f.ipfix" >"$TMP/$_f.dump" 2>&1
	check_eq "ipfixDump $_f: exit status" "$?" 0
done
verdict() {
	python3 "$HELPER" "$@"
	_v_rc=$?
	[ "$_v_rc" -ge 100 ] && _v_rc=1
	_fails=$((_fails + _v_rc))
}
for _n in 1 2; do
	nfdump -R "$TMP/nfcapd$_n" -o raw >"$TMP/nfdump$_n.txt" 2>&1
	check_eq "nfdump $_n: exit status" "$?" 0
done
info "late collectors"
verdict check-late --label "nfcapd on port $P1 (sends were refused)" --ref "$TMP/ref.dump" \
	--nfdump "$TMP/nfdump1.txt" --nfcapd-log "$TMP/nfcapd1.log" --start-ms "$START_MS" \
	--refresh "$REFRESH" --sports "$LATE_SPORT-$((LATE_SPORT + LATE_N - 1))"
verdict check-late --label "nfcapd behind the silent path $P2" --ref "$TMP/ref.dump" \
	--nfdump "$TMP/nfdump2.txt" --nfcapd-log "$TMP/nfcapd2.log" --start-ms "$START_MS" \
	--refresh "$REFRESH" --sports "$LATE_SPORT-$((LATE_SPORT + LATE_N - 1))"
info "TCP collector restart"
verdict check-tcp --ref "$TMP/ref.dump" --s1 "$TMP/s1.dump" --s2 "$TMP/s2.dump" \
	--before-sports "$LATE_SPORT-$((LATE_SPORT + LATE_N - 1))" \
	--down-sports "$DOWN_SPORT-$((DOWN_SPORT + DOWN_N - 1))" \
	--after-sports "$AFTER_SPORT-$((AFTER_SPORT + AFTER_N - 1))" \
	--kill-ms "$KILL_MS" --back-ms "$BACK_MS" --queue "$QUEUE" --size "$DOWN_SIZE" \
	--down-n "$DOWN_N" --after-n "$AFTER_N" --exporter-id "$TCP_EXPORTER_ID" \
	--exit-line "$EXIT_LINE"
info "done ($(elapsed))"
test_done
