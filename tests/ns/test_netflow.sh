#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# bpfix's NetFlow v9 and v5 read by collectors nobody here wrote.
#
# Two namespaces joined by one veth pair; one agent on A's veth (biflows,
# observation domain 0x0102: engine type 1, engine id 2 in v5) exports at
# once, to collectors in A on lo, each run as users run them (no buffer
# settings, in the foreground so their logs land here):
#   netflow9://  -> nfcapd (nfdump) on NF9_PORT
#   netflow5://  -> a second nfcapd on NF5_PORT
#   netflow9://  -> nfacctd (pmacct, print plugin CSV) on PM_PORT
#   file:        -> IPFIX, decoded by ipfixDump: the reference
# and dumpcap captures the three UDP streams for tshark to decode (cflow).
#
# Traffic from B to A, the IPFIX interop test's mix (tests/ns/
# ipfix_interop.py's helpers and frames): ICMP echo over IPv4 and IPv6
# (class of service 0x20), UDP echo over IPv4 and IPv6, a TCP exchange
# over IPv4 and IPv6 (3000 octets up, 2000 down, FIN both ways), scapy
# frames (802.1Q- and QinQ-tagged UDP, a 3000-octet datagram in three IPv4
# fragments and one in three IPv6 fragments, to a sink), 45 one-way UDP
# flows at once (full v5 packets), a 4 s ping (--active-timeout 3: two
# records or more), an IPv6 ping just before the agent stops (forced
# end), and what the kernel sends by itself (ARP, neighbour discovery:
# non-IP and ICMPv6 flows).
#
# Ground truth: the packets and octets of the pings and UDP datagrams from
# what was sent; of everything, the reference decode (ipfixDump of the
# IPFIX the same agent wrote, checked against ground truth by
# test_ipfix_interop.sh), each biflow as its two unidirectional records.
#
# Asserted:
#   nfdump of nfcapd v9, nfacctd, tshark v9: the ground-truth flows, both
#     directions, with their packets and octets; every unidirectional
#     record of the reference, record for record, with its key, packets,
#     octets, TCP flags, class of service, input/output interface and (v9)
#     direction and outer VLAN (tshark: TTLs and IP lengths too), first/last
#     times within 1 s of the reference's (v9 says unix_secs in seconds; v5
#     in tshark: to the ms); the active-timeout flow in two records or more; tshark: no malformed packet or expert info,
#     sequence numbers 0, 1, 2 ... one per export packet, every data
#     FlowSet after its template, source ID the observation domain.
#   nfdump of nfcapd v5, tshark v5: the IPv4 ones likewise; no IPv6 or
#     non-IP record; at most 30 records a packet; flow_sequence the records
#     before each packet, full ones of 30; engine type 1, id 2; sampling 0;
#     the agent's exit
#     line and stderr count and name the IPv6 and non-IP records as
#     unsupported (not sent), and the v5 output's not-sent records are
#     exactly them.
#   Every packet the agent counted is in the v9 records; v5's plus what it
#     counted as unsupported.
#   nfcapd's logs: only its informational lines, 0 sequence errors, 0 bad
#     packets; nfacctd's: no warning, no error, no sequence complaint.
#
#   env BUILD=build sh tests/ns/test_netflow.sh
#   BPFIX_TEST_KEEP=1 / BPFIX_TEST_SAVE=DIR as for test_ipfix_interop.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
HELPER=$(dirname "$0")/ipfix_interop.py
CHECK=$(dirname "$0")/netflow_check.py

NF9_PORT=2055 NF5_PORT=9995 PM_PORT=2100
ODID=258		# 0x0102
# The active timeout is longer than idle timeout plus the length of the
# short flows, so those end idle, not active.
IDLE=1 ACTIVE=3 SWEEP_MS=100 REFRESH=3
ECHO_PORT=7 TCP_PORT=8080 SINK_PORT=9 UDP_N=45 UDP_SIZE=40
PING_N=4 PING_SIZE=100 PING6_N=3 PING6_SIZE=200
TCP_UP=3000 TCP_DOWN=2000
ACTIVE_N=9 ACTIVE_SIZE=64		# one every 0.5 s: 4 s > --active-timeout
FORCED_N=2 FORCED_SIZE=300

PYTHON3=${PYTHON3:-$(command -v /usr/bin/python3 || command -v python3)}
if [ -n "$PYTHON3" ]; then
	mkdir -p "$TEST_TMP/bin" && ln -sf "$PYTHON3" "$TEST_TMP/bin/python3" &&
		PATH=$TEST_TMP/bin:$PATH
fi

need_root
need_cmds ip nsenter python3 ping timeout ethtool tshark dumpcap ipfixDump nfcapd nfdump nfacctd
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
python3 -c 'import scapy.all' 2>/dev/null || skip "$PYTHON3 has no scapy (python3-scapy)"
export TZ=UTC
TMP=$TEST_TMP
[ -n "${BPFIX_TEST_SAVE:-}" ] &&
	defer "mkdir -p '$BPFIX_TEST_SAVE' && cp -r '$TMP'/. '$BPFIX_TEST_SAVE'/"
T0=$(date +%s%3N)
elapsed() { echo "$(( ($(date +%s%3N) - T0) / 1000 )) s"; }

interop_pair nf 86 1

# ---- collectors ----------------------------------------------------------------------

COLLECTOR_PIDS=""
NFACCTD_LIVE=" "
# shellcheck disable=SC2016 # expanded at cleanup
defer 'for _p in $NFACCTD_LIVE; do kill -KILL "$_p"; done'

info "collectors ($(elapsed))"
bg "$NS_A" dumpcap -q -i lo -f "udp port $NF9_PORT or udp port $NF5_PORT or udp port $PM_PORT" \
	-w "$TMP/lo.pcap" >"$TMP/dumpcap.log" 2>&1
COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
for _c in "v9 $NF9_PORT" "v5 $NF5_PORT"; do
	# shellcheck disable=SC2086 # two words
	set -- $_c
	mkdir -p "$TMP/nfcapd-$1"
	bg "$NS_A" nfcapd -b 127.0.0.1 -p "$2" -w "$TMP/nfcapd-$1" >"$TMP/nfcapd-$1.log" 2>&1
	COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
done
cat >"$TMP/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $PM_PORT
nfacctd_disable_checks: false
timestamps_secs: false
timestamps_utc: true
plugins: print[p]
print_output[p]: csv
print_output_file[p]: $TMP/pmacct.csv
print_output_file_append[p]: true
print_refresh_time[p]: 1
aggregate[p]: src_host, dst_host, src_port, dst_port, proto, tos, vlan, tcpflags, in_iface, out_iface, timestamp_start, timestamp_end, etype
EOF
bg "$NS_A" nfacctd -f "$TMP/nfacctd.conf" >"$TMP/nfacctd.log" 2>&1
COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
NFACCTD_LIVE="$NFACCTD_LIVE$! "
wait_for "$TMP/dumpcap.log" "Capturing on" "dumpcap on lo"
wait_for "$TMP/nfcapd-v9.log" "Startup" "nfcapd (v9)"
wait_for "$TMP/nfcapd-v5.log" "Startup" "nfcapd (v5)"
wait_for "$TMP/nfacctd.log" "waiting for NetFlow" "nfacctd"

# the interop test's scapy frames: 802.1Q, QinQ, IPv4 and IPv6 fragments,
# and their ground truth
TRUTH=$TMP/truth
: >"$TRUTH"
check "scapy builds the frames" python3 "$HELPER" frames "$MAC_B" "$MAC_A" "$IP4_B" "$IP4_A" \
	"$IP6_B" "$IP6_A" "$TMP/frames.hex" "$TRUTH"

# ---- the agent -------------------------------------------------------------------------

defer "rm -rf '$BPFFS/bpfix-$$-nf'"
bg "$NS_A" "$BPFIX" -i "$IF_A" --pin-path "$BPFFS/bpfix-$$-nf" -v \
	--sweep-interval "$SWEEP_MS" --idle-timeout "$IDLE" --active-timeout "$ACTIVE" \
	--template-refresh "$REFRESH" --observation-domain "$ODID" \
	-c "netflow9://127.0.0.1:$NF9_PORT" -c "netflow5://127.0.0.1:$NF5_PORT" \
	-c "netflow9://127.0.0.1:$PM_PORT" -c "file:$TMP/ref.ipfix" \
	>"$TMP/bpfix.out" 2>"$TMP/bpfix.err"
AGENT_PID=$!
wait_for "$TMP/bpfix.err" "^bpfix: metering" "bpfix" "$AGENT_PID"

# ---- traffic ------------------------------------------------------------------------------

expect() {
	_ex_name=$1
	shift
	echo "name=$_ex_name $*" >>"$TRUTH"
}

info "traffic from $NS_B to $NS_A ($(elapsed))"
# the active-timeout flow runs alongside the rest
nsenter --net="$NETNS_DIR/$NS_B" ping -n -q -c "$ACTIVE_N" -i 0.5 -s "$ACTIVE_SIZE" "$A4_2" \
	>"$TMP/ping-active.out" 2>&1 &
ACTIVE_PID=$!
bg_track "$ACTIVE_PID"
bg "$NS_A" python3 "$HELPER" udp-sink "$SINK_PORT" 20 "$TMP/sink.ready" "$TMP/sink.report"
SINK_PID=$!
bg "$NS_A" python3 "$HELPER" tcp-serve "$TCP_PORT" 2 "$TCP_UP" "$TCP_DOWN" \
	"$TMP/tcp.ready" "$TMP/tcp.report"
TCPS_PID=$!
ping_ok "$NS_B" "$PING_N" -s "$PING_SIZE" -Q 0x20 "$IP4_A"
expect icmp4 ipv=4 proto=1 src="$IP4_B" dst="$IP4_A" icmp=$((8 << 8)) \
	pkts=$PING_N octs=$((PING_N * (PING_SIZE + 28)))
ping_ok "$NS_B" "$PING6_N" -s "$PING6_SIZE" "$IP6_A"
expect icmp6 ipv=6 proto=58 src="$IP6_B" dst="$IP6_A" icmp=$((128 << 8)) \
	pkts=$PING6_N octs=$((PING6_N * (PING6_SIZE + 48)))
udp_exchange "$NS_B" "$NS_A" "$IP4_A" "$ECHO_PORT" 40001 100 200 300
expect udp4 ipv=4 proto=17 src="$IP4_B" dst="$IP4_A" sport=40001 dport=$ECHO_PORT \
	pkts=3 octs=$((600 + 3 * 28))
udp_exchange "$NS_B" "$NS_A" "$IP6_A" "$ECHO_PORT" 40002 50 1000
expect udp6 ipv=6 proto=17 src="$IP6_B" dst="$IP6_A" sport=40002 dport=$ECHO_PORT \
	pkts=2 octs=$((1050 + 2 * 48))
wait_file "$TMP/tcp.ready" "the TCP server" "$TCPS_PID"
check "TCP over IPv4: $TCP_UP octets up, $TCP_DOWN down" \
	nsx_timeout 15 "$NS_B" python3 "$HELPER" tcp-client "$IP4_A" "$TCP_PORT" 40100 "$TCP_UP" "$TCP_DOWN"
check "TCP over IPv6: $TCP_UP octets up, $TCP_DOWN down" \
	nsx_timeout 15 "$NS_B" python3 "$HELPER" tcp-client "$IP6_A" "$TCP_PORT" 40101 "$TCP_UP" "$TCP_DOWN"
stop "$TCPS_PID" - 5
wait_file "$TMP/sink.ready" "the UDP sink" "$SINK_PID"
check_eq "scapy frames sent on $IF_B" \
	"$(nsx_timeout 10 "$NS_B" python3 "$HELPER" send "$IF_B" "$TMP/frames.hex")" \
	"$(wc -l <"$TMP/frames.hex")"
# many flows in one sweep: full v5 packets (30 records), v9 ones of many
# (one way, to the sink)
check "$UDP_N one-way UDP flows" nsx_timeout 15 "$NS_B" python3 "$HELPER" udp-flows \
	"$IP4_A" "$SINK_PORT" 41000 "$UDP_N" "$UDP_SIZE" 0
for _i in 0 1 $((UDP_N - 1)); do
	expect "udp-many-$_i" ipv=4 proto=17 src="$IP4_B" dst="$IP4_A" sport=$((41000 + _i)) \
		dport=$SINK_PORT pkts=1 octs=$((UDP_SIZE + 28)) rpkts=0 rocts=0
done
stop "$ACTIVE_PID" - 10
check_eq "ping to $A4_2 (the active-timeout flow): replies" \
	"$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping-active.out")" "$ACTIVE_N"
expect active4 ipv=4 proto=1 src="$IP4_B" dst="$A4_2" icmp=$((8 << 8)) \
	pkts=$ACTIVE_N octs=$((ACTIVE_N * (ACTIVE_SIZE + 28))) split=1
stop "$SINK_PID" TERM 5
check_eq "UDP sink on port $SINK_PORT" "$(cat "$TMP/sink.report")" \
	"datagrams=$((UDP_N + 2)) octets=$((UDP_N * UDP_SIZE + 6000))"

# idle timeout, the TCP end grace, a sweep; then a refresh interval, so
# options and templates go again; then a flow the shutdown ends
sleep $((IDLE + REFRESH))
ping_ok "$NS_B" "$FORCED_N" -s "$FORCED_SIZE" "$A6_2"
expect forced6 ipv=6 proto=58 src="$IP6_B" dst="$A6_2" icmp=$((128 << 8)) \
	pkts=$FORCED_N octs=$((FORCED_N * (FORCED_SIZE + 48)))
kill -TERM "$AGENT_PID"
stop "$AGENT_PID" - 15
check_eq "bpfix: exit status" "$?" 0
tail -n 1 "$TMP/bpfix.err" | sed 's/^/  /'
sleep 1.5			# nfacctd's print plugin writes every second
for _p in $COLLECTOR_PIDS; do
	stop "$_p" INT 5
	NFACCTD_LIVE=$(printf '%s' "$NFACCTD_LIVE" | sed "s/ $_p / /")
done

# ---- decode and judge ---------------------------------------------------------------------

info "decoding ($(elapsed))"
ipfixDump --in "$TMP/ref.ipfix" >"$TMP/ref.dump" 2>"$TMP/ref.dump.err"
check_eq "ipfixDump: exit status" "$?" 0
for _v in v9 v5; do
	nfdump -R "$TMP/nfcapd-$_v" -o raw >"$TMP/nfdump-$_v.txt" 2>&1
	check_eq "nfdump ($_v): exit status" "$?" 0
done
tshark -r "$TMP/lo.pcap" -d "udp.port==$NF9_PORT,cflow" -d "udp.port==$NF5_PORT,cflow" \
	-d "udp.port==$PM_PORT,cflow" -V >"$TMP/tshark.txt" 2>&1
check_eq "tshark: exit status" "$?" 0

python3 "$CHECK" --truth "$TRUTH" --ref "$TMP/ref.dump" --ref-err "$TMP/ref.dump.err" \
	--odid "$ODID" --ifindex "$IFX_A" --ifname "$IF_A" \
	--nfdump9 "$TMP/nfdump-v9.txt" --nfdump5 "$TMP/nfdump-v5.txt" \
	--nfcapd-logs "$TMP/nfcapd-v9.log,$TMP/nfcapd-v5.log" \
	--nfacctd "$TMP/pmacct.csv" --nfacctd-log "$TMP/nfacctd.log" \
	--tshark "$TMP/tshark.txt" --ports "$NF9_PORT,$NF5_PORT,$PM_PORT" \
	--agent-err "$TMP/bpfix.err"
_rc=$?
[ "$_rc" -ge 100 ] && _rc=1
_fails=$((_fails + _rc))
info "done ($(elapsed))"
test_done
