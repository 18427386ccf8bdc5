#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python programs in single quotes
# Full table (issue 5, item 2): far more concurrent flows than --flows. The
# kernel's LRU tables evict flows before the agent drains them, and the
# agent's own table passes its high-water mark: lack-of-resources expiry
# must start, every evicted flow and packet must be reported lost, and
# exported + reported lost must still be exactly what was sent.
#
# A quiet veth pair (lib.sh's quiet_pair) joins namespaces A and B. From
# A, tcpreplay --topspeed --preload-pcap loops a pcap of FLOWS frames, each
# its own flow (IPv4 UDP, IPv4 TCP ACKs and IPv6 UDP in turn, to a MAC that
# is not B's, so nothing answers), against bpfix --flows 1024 (the
# minimum: 1024 flows per kernel table and in the agent) on B's veth, with
# timeouts far longer than the run, so every flow stays live: FLOWS/1024
# times more concurrent flows than there is room for. For each mode (xdp,
# tc) it asserts:
#  - B's rx_packets delta (the independent count) = what tcpreplay says it
#    sent = the packets bpfix says it saw (-v exit line);
#  - exported record packets + packets bpfix reports lost = that count
#    (the reliability row; lost silently must be 0);
#  - lost flows and lost packets were reported (the LRU evicted), the lost
#    flows being the flows the kernel made less those the agent drained
#    (and those the kernel could not insert: the -v line and the stats
#    map agree), and lack-of-resources records were made (flowEndReason 5);
#  - every output line is a JSON record, and as many as the agent made;
#  - the agent's resident memory is printed at start and end; with SOAK=1
#    the end must be within 10 % of its figure 15 s in, the table having
#    churned through hundreds of thousands of flows by then.
# The records are summed as they come (lib.sh's json_tally): there are
# about as many as packets.
#
#   env BUILD=build sh tests/ns/test_fulltable.sh
#   SOAK=1                 102400 flows (100x), 60 s per mode (default:
#                          51200 flows, 50x, the pcap sent 4 times)
#   MODES="xdp tc"         the modes to run
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
TABLE=1024			# --flows, the least bpfix takes
if [ "$SOAK" = 1 ]; then
	FLOWS=$((100 * TABLE)) SEND="--loop=0 --duration=60" HOW="60 s"
else
	FLOWS=$((50 * TABLE)) SEND="--loop=4" HOW="4 passes"
fi
MODES=${MODES:-xdp tc}
AGENT_ARGS="-f json --flows $TABLE --idle-timeout 600 --active-timeout 600 --sweep-interval 100"
OTHERHOST=02:00:00:00:0b:0b	# the frames' destination: not B's MAC
RSS_SLACK=10			# % the agent may grow after 15 s (SOAK=1)

use_python3
need_root
need_cmds ip nsenter python3 mkfifo tcpreplay
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
T0=$(date +%s)

quiet_pair ft 79 3

# The pcap, written directly (scapy takes a minute for 100k frames): frame
# i is flow i, the three kinds in turn.
_flows_py='
import struct, sys
out, n, smac, dmac = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
eth4, eth6 = mac(dmac) + mac(smac) + b"\x08\x00", mac(dmac) + mac(smac) + b"\x86\xdd"

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff

def ip4(proto, src, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                    src, bytes((10, 99, 0, 1)))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4

with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        sport = 1024 + i % 60000
        if i % 3 == 0:
            frame = eth4 + ip4(17, struct.pack("!I", 0x0a640000 + i),
                               struct.pack("!HHHH", sport, 9, 26, 0) + bytes(18))
        elif i % 3 == 1:
            frame = eth4 + ip4(6, struct.pack("!I", 0x0a640000 + i),
                               struct.pack("!HHIIBBHHH", sport, 80, i, 1, 0x50, 0x10, 512, 0, 0))
        else:
            frame = eth6 + struct.pack("!IHBB", 0x60000000, 12, 17, 64) + \
                bytes.fromhex("fd000100000000000000000000000000")[:12] + struct.pack("!I", i) + \
                bytes.fromhex("fd000099000000000000000000000001") + \
                struct.pack("!HHHH", sport, 9, 12, 0) + bytes(4)
        f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame)) + frame)
'
PCAP=$TEST_TMP/flows.pcap
python3 -c "$_flows_py" "$PCAP" "$FLOWS" "$(mac_of "$NS_A" "$IF_A")" "$OTHERHOST" ||
	fail "cannot build $PCAP"

# fulltable: the run and its checks, bpfix -m MODE --flows TABLE on B's veth.
fulltable() {
	info "-m $MODE --flows $TABLE on $IF_B: $FLOWS flows, tcpreplay $SEND"
	json_tally_start "$MODE"
	# shellcheck disable=SC2086
	agent_start "$MODE" "$NS_B" "$IF_B" -m "$MODE" $AGENT_ARGS
	rx0=$(dev_stat "$NS_B" "$IF_B" rx_packets)
	ar0=$(arrivals "$NS_B" "$IF_B" "$MODE")
	kp0=$(kernel_packets "$AGENT_PIN")
	_ft_t0=$(date +%s%N)
	RSS_START=$(rss_kib "$AGENT_PID") RSS_WARM=0
	# shellcheck disable=SC2086
	bg "$NS_A" tcpreplay -i "$IF_A" --topspeed --preload-pcap $SEND --no-flow-stats "$PCAP" \
		>"$TEST_TMP/tcpreplay.out" 2>&1
	_ft_tr=$!
	# The agent's memory once its table has churned for a quarter of a
	# soak run (15 s), for the check at the end.
	_ft_i=0
	while proc_alive "$_ft_tr"; do
		sleep 0.5
		_ft_i=$((_ft_i + 1))
		[ "$_ft_i" = 30 ] && RSS_WARM=$(rss_kib "$AGENT_PID")
	done
	wait "$_ft_tr" || { cat "$TEST_TMP/tcpreplay.out" >&2; fail "tcpreplay failed"; }
	bg_untrack "$_ft_tr"
	_ft_ms=$((($(date +%s%N) - _ft_t0) / 1000000))
	_ft_sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$TEST_TMP/tcpreplay.out")
	settle "$AGENT_PIN" "$kp0" arrivals "$NS_B" "$IF_B" "$MODE" "$ar0" ||
		info "10 s on, the kernel has seen $(($(kernel_packets "$AGENT_PIN") - kp0)) packets, $IF_B counts $SETTLED"
	want=$SETTLED
	info "kernel: $(kernel_losses)"
	_ft_rate=$((want * 1000 / _ft_ms))
	RSS_END=$(rss_kib "$AGENT_PID")
	agent_stop "$NS_B" "$IF_B"
	json_tally_wait
	info "$IF_B: $want frames of $FLOWS flows in $_ft_ms ms: $_ft_rate packets/s"
	info "-v: $(grep '^bpfix exit: ' "$AGENT_ERR")"
	info "records: $(tr '\n' ' ' <"$TALLY")"
	_ft_lost=$(exit_counter lost_packets)
	_ft_lflows=$(exit_counter lost_flows)
	_ft_res=$(tally_get end_resources)
	check_eq "frames tcpreplay sent (its report) = frames $IF_B received" "${_ft_sent:-?}" \
		"$(($(dev_stat "$NS_B" "$IF_B" rx_packets) - rx0))"
	check_eq "packets bpfix saw (-v exit line) = frames that reached $IF_B" \
		"$(exit_counter seen)" "$want"
	check_eq "lines that are not JSON records" "$(tally_get invalid)" 0
	check_eq "records in the output = records made (-v exit line)" \
		"$(tally_get records)" "$(exit_counter records)"
	check "flows reported lost (LRU evictions): $_ft_lflows" test "$_ft_lflows" -gt 0
	check "packets reported lost: $_ft_lost" test "$_ft_lost" -gt 0
	check_eq "lost flows = flows the kernel made - flows drained + insert_failed" "$_ft_lflows" \
		$(($(exit_counter kernel_flows) - $(exit_counter drained) +
		   $(rec_get "$TEST_TMP/kstats" insert_failed)))
	check "lack-of-resources records: $_ft_res" test "$_ft_res" -gt 0
	_ft_w=
	[ "$RSS_WARM" != 0 ] && _ft_w=", $RSS_WARM 15 s in"
	info "agent RSS: $RSS_START KiB at start$_ft_w, $RSS_END at the end"
	if [ "$SOAK" = 1 ]; then
		check "agent RSS at the end within $RSS_SLACK % of its figure 15 s in" \
			test "$RSS_END" -le $((RSS_WARM * (100 + RSS_SLACK) / 100))
	fi
	reliability_exact "full table, -m $MODE" \
		"$FLOWS concurrent flows ($((FLOWS / TABLE))x --flows $TABLE), tcpreplay --topspeed $HOW at $(human "$_ft_rate") pkt/s: $(human "$want") packets, $(human "$(tally_get records)") records ($(human "$_ft_res") lack-of-resources), $(human "$_ft_lflows") flows and $(human "$_ft_lost") packets reported lost; agent RSS $RSS_START KiB at start, $RSS_END at the end" \
		"$want" "$(tally_get packets)" "$_ft_lost"
}

for MODE in $MODES; do
	fulltable
done

info "took $(($(date +%s) - T0)) s"
test_done
