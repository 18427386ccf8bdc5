#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python and sh -c programs in single quotes
# Overload (issue 5, item 1): the fastest traffic this rig can make, from
# several senders at once, while sweeps run every 100 ms and the active
# timeout cuts every flow into a record a second. Every packet that reached
# the metered interface must be in exactly one exported record or be
# reported lost by bpfix: exported + reported lost = the interface's own
# count, exactly.
#
# A quiet veth pair joins namespaces A and B (lib.sh's quiet_pair). From A,
# at the same time and as fast as they can:
#  - tcpreplay --topspeed --preload-pcap, looping a pcap (built here with
#    scapy) of 192 biflows both ways: IPv4 and IPv6 UDP exchanges, TCP
#    connections from SYN to FIN or RST (the next loop's SYN reopens
#    them), ICMP and ICMPv6 echo;
#  - trafgen on one CPU, 64 IPv4 and 64 IPv6 UDP flows.
# Every frame is addressed to a MAC that is not B's, so B's stack drops it
# quietly after the meter: nothing is answered and the link carries only
# what the senders sent. bpfix meters B's veth, for each mode:
#   xdp  native XDP (veth runs its NAPI ring): what the device receives
#   tc   clsact ingress and egress: the same, through the CPUs' backlogs
# The independent count is B's rx_packets delta (plus tx_packets and
# tx_dropped in TC mode, where egress is metered too; nothing goes out),
# the generators' own reports are printed beside it. Asserted per mode:
#  - the packets bpfix says it saw (-v exit line) = that count;
#  - exported record packets + packets bpfix reports lost = that count
#    (the reliability row; lost silently must be 0), and with nothing
#    reported lost, the records' bytes = B's rx_bytes delta (frame bytes in
#    TC mode; IP bytes in XDP mode, where a veth counts what its ring
#    received after pulling the Ethernet header);
#  - records are JSON and sane, the mix is in them (TCP, UDP, ICMP over
#    IPv4 and IPv6), active-timeout records were made, and sweeps ran at
#    least every 500 ms on average;
#  - the agent's resident memory, sampled every second: printed at start,
#    once the table is warm (a quarter into the run) and at the end; with
#    SOAK=1, the end must be within 10 % of the warm figure.
#
#   env BUILD=build sh tests/ns/test_overload.sh
#   SOAK=1                 60 s per mode (default: 6 s)
#   OVERLOAD_SECS=N        N s per mode, whatever SOAK says
#   MODES="xdp tc"         the modes to run
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
if [ "$SOAK" = 1 ]; then
	SECS=${OVERLOAD_SECS:-60}
else
	SECS=${OVERLOAD_SECS:-6}
fi
MODES=${MODES:-xdp tc}
AGENT_ARGS="-f json --idle-timeout 1 --active-timeout 1 --sweep-interval 100"
OTHERHOST=02:00:00:00:0b:0b	# the frames' destination: not B's MAC
RSS_SLACK=10			# % the agent may grow once warm (SOAK=1)

use_python3
need_root
need_cmds ip nsenter python3 timeout tcpreplay trafgen
python3 -c 'import scapy' 2>/dev/null || skip "python3 has no scapy"
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
T0=$(date +%s)

quiet_pair ov 79 2

# ---- the traffic ------------------------------------------------------------------

# The pcap: each biflow's packets in order, the flows interleaved, so a
# loop is a busy mix rather than one flow after another.
_mix_py='
import sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, \
    Raw, wrpcap
out, smac, dmac = sys.argv[1:4]
flows = []

def frame(l3, l4, size, seed):
    return Ether(src=smac, dst=dmac) / l3 / l4 / Raw(bytes((seed + k) & 0xff for k in range(size)))

for i in range(48):  # UDP: 4 queries and 4 answers
    for l3, c, s in ((IP, "10.200.0.%d" % (i + 1), "10.201.0.1"),
                     (IPv6, "fd00:200::%x" % (i + 1), "fd00:201::1")):
        f = []
        for k in range(4):
            f.append(frame(l3(src=c, dst=s), UDP(sport=20000 + i, dport=53), 30 + 7 * k, i))
            f.append(frame(l3(src=s, dst=c), UDP(sport=53, dport=20000 + i), 90 + 11 * k, i))
        flows.append(f)
for i in range(32):  # TCP: handshake, 8 segments, FIN both ways (every 4th: RST)
    for l3, c, s in ((IP, "10.202.0.%d" % (i + 1), "10.203.0.1"),
                     (IPv6, "fd00:202::%x" % (i + 1), "fd00:203::1")):
        cp, sp = 30000 + i, 80 if i % 2 else 443
        up = lambda fl, n=0: frame(l3(src=c, dst=s), TCP(sport=cp, dport=sp, flags=fl), n, i)
        dn = lambda fl, n=0: frame(l3(src=s, dst=c), TCP(sport=sp, dport=cp, flags=fl), n, i)
        f = [up("S"), dn("SA"), up("A")]
        for k in range(4):
            f += [up("PA", 40 + k), dn("PA", 200 + 13 * k)]
        f += [up("FA"), dn("FA"), up("A")] if i % 4 else [up("R")]
        flows.append(f)
for i in range(16):  # ICMP and ICMPv6 echo
    f, g = [], []
    for k in range(4):
        f += [frame(IP(src="10.204.0.%d" % (i + 1), dst="10.205.0.1"), ICMP(type=8, id=i, seq=k), 56, k),
              frame(IP(src="10.205.0.1", dst="10.204.0.%d" % (i + 1)), ICMP(type=0, id=i, seq=k), 56, k)]
        g += [frame(IPv6(src="fd00:204::%x" % (i + 1), dst="fd00:205::1"), ICMPv6EchoRequest(id=i, seq=k), 56, k),
              frame(IPv6(src="fd00:205::1", dst="fd00:204::%x" % (i + 1)), ICMPv6EchoReply(id=i, seq=k), 56, k)]
    flows += [f, g]
pkts = []
while any(flows):
    for f in flows:
        if f:
            pkts.append(f.pop(0))
wrpcap(out, pkts)
'
MIX=$TEST_TMP/mix.pcap
python3 -c "$_mix_py" "$MIX" "$(mac_of "$NS_A" "$IF_A")" "$OTHERHOST" ||
	fail "cannot build $MIX"

# trafgen: an IPv4 and an IPv6 UDP frame in turn, the source port's low
# byte counting 1..64 in each.
cat >"$TEST_TMP/trafgen.cfg" <<EOF
{
  $(hexbytes "$OTHERHOST"), $(hexbytes "$(mac_of "$NS_A" "$IF_A")"), 0x08, 0x00,
  0x45, 0x00, const16(92), 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, csumip(14, 33),
  10, 206, 0, 1, 10, 207, 0, 1,
  0xc3, dinc(1, 64), const16(9), const16(72), 0x00, 0x00,
  fill(0x5a, 64)
}
{
  $(hexbytes "$OTHERHOST"), $(hexbytes "$(mac_of "$NS_A" "$IF_A")"), 0x86, 0xdd,
  0x60, 0x00, 0x00, 0x00, const16(72), 0x11, 0x40,
  0xfd, 0x00, 0x02, 0x06, fill(0x00, 11), 0x01,
  0xfd, 0x00, 0x02, 0x07, fill(0x00, 11), 0x01,
  0xc4, dinc(1, 64), const16(9), const16(72), 0x00, 0x00,
  fill(0x5a, 64)
}
EOF

# send: both senders for SECS seconds, the agent's memory sampled every
# second meanwhile. Sets GEN (the generators' own count of frames sent),
# GEN_HOW, SEND_MS and RSS_WARM, RSS_MAX.
send() {
	_sd_t0=$(date +%s%N)
	bg "$NS_A" tcpreplay -i "$IF_A" --topspeed --preload-pcap --loop=0 --duration="$SECS" \
		--no-flow-stats "$MIX" >"$TEST_TMP/tcpreplay.out" 2>&1
	_sd_tr=$!
	# -t 0: a sendto() per frame. From its TX ring, trafgen's last flush
	# fails (EAGAIN) while the veth is busy, and it exits without a report.
	bg "$NS_A" timeout -s INT "$SECS" trafgen --dev "$IF_A" --conf "$TEST_TMP/trafgen.cfg" \
		--cpus 1 -t 0 >"$TEST_TMP/trafgen.out" 2>&1
	_sd_tg=$!
	RSS_WARM=0 RSS_MAX=0
	_sd_i=0
	while [ "$_sd_i" -lt "$SECS" ]; do
		sleep 1
		_sd_i=$((_sd_i + 1))
		_sd_rss=$(rss_kib "$AGENT_PID")
		[ "$_sd_rss" -gt "$RSS_MAX" ] && RSS_MAX=$_sd_rss
		[ "$_sd_i" = $(((SECS + 3) / 4)) ] && RSS_WARM=$_sd_rss
	done
	wait "$_sd_tr"
	_sd_trc=$?
	bg_untrack "$_sd_tr"
	wait "$_sd_tg"
	bg_untrack "$_sd_tg"
	SEND_MS=$((($(date +%s%N) - _sd_t0) / 1000000))
	[ "$_sd_trc" = 0 ] || { cat "$TEST_TMP/tcpreplay.out" >&2; fail "tcpreplay failed"; }
	_sd_a=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$TEST_TMP/tcpreplay.out")
	_sd_f=$(sed -n 's/^[[:space:]]*Failed packets:[[:space:]]*\([0-9]*\).*/\1/p' "$TEST_TMP/tcpreplay.out")
	_sd_b=$(tr '\r' '\n' <"$TEST_TMP/trafgen.out" | sed -n 's/^ *\([0-9]*\) packets outgoing.*/\1/p')
	[ -n "$_sd_a" ] || { cat "$TEST_TMP/tcpreplay.out" >&2; fail "no report from tcpreplay"; }
	[ -n "$_sd_b" ] || { cat "$TEST_TMP/trafgen.out" >&2; fail "no report from trafgen"; }
	GEN=$((_sd_a + _sd_b))
	GEN_HOW="tcpreplay $_sd_a (failed ${_sd_f:-?}) + trafgen $_sd_b"
}

# ---- one mode ---------------------------------------------------------------------

# overload: the run and its checks, bpfix -m MODE on B's veth.
overload() {
	info "-m $MODE on $IF_B: tcpreplay and trafgen for $SECS s"
	# shellcheck disable=SC2086
	agent_start "$MODE" "$NS_B" "$IF_B" -m "$MODE" $AGENT_ARGS
	RSS_START=$(rss_kib "$AGENT_PID")
	rx0=$(dev_stat "$NS_B" "$IF_B" rx_packets) rb0=$(dev_stat "$NS_B" "$IF_B" rx_bytes)
	ar0=$(arrivals "$NS_B" "$IF_B" "$MODE")
	kp0=$(kernel_packets "$AGENT_PIN")
	send
	settle "$AGENT_PIN" "$kp0" arrivals "$NS_B" "$IF_B" "$MODE" "$ar0" ||
		info "10 s on, the kernel has seen $(($(kernel_packets "$AGENT_PIN") - kp0)) packets, $IF_B counts $SETTLED"
	want=$SETTLED
	info "kernel: $(kernel_losses)"
	rx=$(($(dev_stat "$NS_B" "$IF_B" rx_packets) - rx0))
	rb=$(($(dev_stat "$NS_B" "$IF_B" rx_bytes) - rb0))
	rate=$((want * 1000 / SEND_MS))
	RSS_END=$(rss_kib "$AGENT_PID")
	agent_stop "$NS_B" "$IF_B"
	info "$IF_B: $want frames in $SEND_MS ms: $rate packets/s (sent: $GEN_HOW)"
	check_eq "frames the generators sent (their reports) = frames $IF_B received" "$GEN" "$rx"
	agent_records "$MODE"
	records_sane
	_ol_got=$(($(rec_sum "$RECS" packets) + $(rec_sum "$RECS" rev_packets)))
	_ol_lost=$(exit_counter lost_packets)
	info "-v: $(grep '^bpfix exit: ' "$AGENT_ERR")"
	check_eq "packets bpfix saw (-v exit line) = frames that reached $IF_B" \
		"$(exit_counter seen)" "$want"
	check_eq "records in the output = records made (-v exit line)" \
		"$(rec_count "$RECS")" "$(exit_counter records)"
	if [ "$_ol_lost" = 0 ]; then
		# A veth counts the bytes of what its XDP ring received after
		# the Ethernet header was pulled, the frame otherwise.
		if [ "$MODE" = tc ]; then
			_ol_f=l2_bytes _ol_what="frame bytes"
		else
			_ol_f=bytes _ol_what="IP bytes"
		fi
		check_eq "$_ol_what in records = $IF_B's rx_bytes delta" \
			"$(($(rec_sum "$RECS" "$_ol_f") + $(rec_sum "$RECS" "rev_$_ol_f")))" "$rb"
	fi
	for _ol_p in "4 6 tcp" "6 6 tcp" "4 17 udp" "6 17 udp" "4 1 icmp" "6 58 icmpv6"; do
		# shellcheck disable=SC2086 # the three words
		set -- $_ol_p
		check "IPv$1 $3 records made" test "$(rec_count "$RECS" ip_version="$1" protocol="$2")" -gt 0
	done
	_ol_active=$(rec_count "$RECS" end_reason=active)
	_ol_sweeps=$(exit_counter sweeps)
	check "active-timeout records made ($_ol_active)" test "$_ol_active" -gt 0
	# Every 100 ms asked; half a second allows for a machine busy with
	# other tests besides the senders.
	check "sweeps ($_ol_sweeps in $SEND_MS ms) at least every 500 ms" \
		test "$_ol_sweeps" -ge $((SEND_MS / 500))
	info "agent RSS: $RSS_START KiB at start, $RSS_WARM warm, $RSS_END at the end (max $RSS_MAX)"
	if [ "$SOAK" = 1 ]; then
		check "agent RSS at the end within $RSS_SLACK % of the warm table's" \
			test "$RSS_END" -le $((RSS_WARM * (100 + RSS_SLACK) / 100))
	fi
	reliability_exact "overload, -m $MODE" \
		"$SECS s at $(human "$rate") pkt/s from tcpreplay --topspeed (192 IPv4/IPv6 TCP/UDP/ICMP biflows) + trafgen (128 UDP flows), sweeps every 100 ms, active timeout 1 s: $(human "$want") packets, $(human "$(rec_count "$RECS")") records, $_ol_sweeps sweeps, $_ol_lost reported lost; agent RSS $RSS_START KiB at start, $RSS_WARM warm, $RSS_END at the end" \
		"$want" "$_ol_got" "$_ol_lost"
}

for MODE in $MODES; do
	overload
done

info "took $(($(date +%s) - T0)) s"
test_done
