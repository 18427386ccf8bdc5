#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The kernel programs on live traffic, without the agent: bpftool loads and
# pins $BUILD/bpfix.bpf.o, tc and ip attach it to veth pairs in namespaces of
# this test's own, and the pinned flow table and stats are read back and
# compared with what was sent, which this script knows exactly.
#
#  1. TC: bpfix_tc_ingress and bpfix_tc_egress on one veth end; IPv4 and IPv6
#     pings and a UDP echo exchange. Each of those flows must be found once,
#     with the right interface, direction, packets, octets (IP total length),
#     frame octets and IP length range.
#  2. Native XDP, MTU 9000: bpfix_xdp in driver mode on the receiving end;
#     8000-byte pings and an 8900-byte UDP datagram arrive as multi-buffer
#     frames (veth hands XDP about 3.5 KB linear, the rest in fragments; a
#     3000-byte datagram fits one buffer), and each must be counted whole:
#     octets = IP total length, l2_octets = IP total length + 14.
#  3. Transparency: every ping is answered, every UDP datagram arrives with
#     its bytes intact and its echo comes back identical.
# In both parts the stats must agree with the tables: packets, octets and
# frame octets equal the sums over all flows (ARP, NDP, MLD included), per
# table and per IP version, with nothing lost or malformed.
#
#   env BUILD=build sh tests/ns/test_kernel_live.sh
#   BPFIX_TEST_KEEP=1 leaves the namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

ETH_HLEN=14
ICMP_ECHO_REQUEST=0x0800	# type << 8 | code, as the key holds it
ICMP_ECHO_REPLY=0x0000
ICMP6_ECHO_REQUEST=0x8000
ICMP6_ECHO_REPLY=0x8100
UDP_PORT=5001
UDP_SPORT=40001

need_root
need_cmds ip tc nsenter bpftool python3 ping timeout awk
need_bpffs
OBJ=$BUILD/bpfix.bpf.o
need_file "$OBJ" "run make $OBJ"
TMP=$TEST_TMP

# udp_expect SIZE...: what IPv4 datagrams with these payload sizes add up
# to: udp_n packets, udp_ip octets of IP total length, udp_min..udp_max.
udp_expect() {
	udp_n=0 udp_ip=0 udp_min=65535 udp_max=0
	for _xp_s in "$@"; do
		_xp_l=$((20 + 8 + _xp_s))
		udp_n=$((udp_n + 1)) udp_ip=$((udp_ip + _xp_l))
		[ "$_xp_l" -lt "$udp_min" ] && udp_min=$_xp_l
		[ "$_xp_l" -gt "$udp_max" ] && udp_max=$_xp_l
	done
}

# flow_is FLOWS WHAT IFINDEX DIRECTION PACKETS OCTETS MIN_LEN MAX_LEN FILTER...
# FILTER names one conversation direction (addresses, protocol, ports); it
# must match exactly one flow in all tables, on the right interface and
# direction, with these counters.
flow_is() {
	_fi_file=$1 _fi_what=$2
	_fi_want="ifindex=$3 direction=$4 packets=$5 octets=$6 l2_octets=$(($6 + $5 * ETH_HLEN))"
	_fi_want="$_fi_want min_ip_len=$7 max_ip_len=$8 fragments=0 flags=0"
	shift 8
	check_eq "$_fi_what" \
		"$(rec_fields "$_fi_file" ifindex,direction,packets,octets,l2_octets,min_ip_len,max_ip_len,fragments,flags "$@")" \
		"$_fi_want"
}

# read_tables PIN PART: both flow tables of PIN into $TMP/flows.PART, the
# stats into $TMP/stats.PART as name=value lines. Sets FLOWS and STATS.
read_tables() {
	FLOWS=$TMP/flows.$2
	STATS=$TMP/stats.$2
	map_records "$1/maps/flow_table_0" 0 "$1/maps/flow_table_1" 1 \
		"$1/maps/stats" stats >"$TMP/maps.$2"
	grep -v '^table=stats ' "$TMP/maps.$2" >"$FLOWS"
	grep '^table=stats ' "$TMP/maps.$2" | tr ' ' '\n' >"$STATS"
}

stat() {
	sed -n "s/^$1=//p" "$STATS"
}

# The accounting identity of include/bpfix.h, checked against the tables
# themselves (the epoch never moves without an agent, so all is in table 0).
stats_agree() {
	check_eq "stats: packets lost (insert_failed + not_metered + no_table)" \
		"$(($(stat insert_failed_packets) + $(stat not_metered_packets) + $(stat no_table)))" 0
	check_eq "stats: malformed (all reasons)" \
		"$(sed -n 's/^malformed_[a-z0-9_]*=//p' "$STATS" | awk '{ s += $1 } END { print s + 0 }')" 0
	for _sa in packets octets l2_octets; do
		check_eq "stats: $_sa = sum over $(rec_count "$FLOWS") flows" \
			"$(stat "$_sa")" "$(rec_sum "$FLOWS" "$_sa")"
	done
	check_eq "stats: table_flows_0 = flows in table 0" \
		"$(stat table_flows_0)" "$(rec_count "$FLOWS" table=0)"
	check_eq "stats: table_packets_0 = sum over table 0" \
		"$(stat table_packets_0)" "$(rec_sum "$FLOWS" packets table=0)"
	check_eq "stats: table_octets_0 = sum over table 0" \
		"$(stat table_octets_0)" "$(rec_sum "$FLOWS" octets table=0)"
	check_eq "stats: table 1 untouched (flows, packets, entries)" \
		"$(stat table_flows_1) $(stat table_packets_1) $(rec_count "$FLOWS" table=1)" "0 0 0"
	check_eq "stats: parsed_ipv4 = IPv4 flows' packets" \
		"$(stat parsed_ipv4)" "$(rec_sum "$FLOWS" packets ip_version=4)"
	check_eq "stats: parsed_ipv6 = IPv6 flows' packets" \
		"$(stat parsed_ipv6)" "$(rec_sum "$FLOWS" packets ip_version=6)"
	check_eq "stats: parsed_l2 = L2 flows' packets" \
		"$(stat parsed_l2)" "$(rec_sum "$FLOWS" packets ip_version=0)"
}

# ---- 1. TC ingress and egress ----------------------------------------------

info "1. TC ingress + egress on a veth end"
topo_pair tc 77 1
bpf_load "$OBJ" tc
TC_PIN=$BPF_PIN
tc_attach "$NS_A" "$IF_A" ingress "$TC_PIN/bpfix_tc_ingress"
tc_attach "$NS_A" "$IF_A" egress "$TC_PIN/bpfix_tc_egress"
ifa=$(ifindex_of "$NS_A" "$IF_A")

PINGS=5 PING_SIZE=100
UDP_SIZES="1 64 100 512 1000 1472"
ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" -6 "$IP6_B"
# shellcheck disable=SC2086
udp_exchange "$NS_A" "$NS_B" "$IP4_B" "$UDP_PORT" "$UDP_SPORT" $UDP_SIZES
# Detach before reading, so nothing moves between the two reads.
tc_detach "$NS_A" "$IF_A"
read_tables "$TC_PIN" tc

# shellcheck disable=SC2086
udp_expect $UDP_SIZES
l4=$((20 + 8 + PING_SIZE)) l6=$((40 + 8 + PING_SIZE))
flow_is "$FLOWS" "ICMP echo request $IP4_A > $IP4_B (egress)" \
	"$ifa" 1 "$PINGS" $((PINGS * l4)) "$l4" "$l4" \
	protocol=1 src="$IP4_A" dst="$IP4_B" src_port=0 dst_port=$ICMP_ECHO_REQUEST
flow_is "$FLOWS" "ICMP echo reply $IP4_B > $IP4_A (ingress)" \
	"$ifa" 0 "$PINGS" $((PINGS * l4)) "$l4" "$l4" \
	protocol=1 src="$IP4_B" dst="$IP4_A" src_port=0 dst_port=$ICMP_ECHO_REPLY
flow_is "$FLOWS" "ICMPv6 echo request $IP6_A > $IP6_B (egress)" \
	"$ifa" 1 "$PINGS" $((PINGS * l6)) "$l6" "$l6" \
	protocol=58 src="$IP6_A" dst="$IP6_B" src_port=0 dst_port=$ICMP6_ECHO_REQUEST
flow_is "$FLOWS" "ICMPv6 echo reply $IP6_B > $IP6_A (ingress)" \
	"$ifa" 0 "$PINGS" $((PINGS * l6)) "$l6" "$l6" \
	protocol=58 src="$IP6_B" dst="$IP6_A" src_port=0 dst_port=$ICMP6_ECHO_REPLY
flow_is "$FLOWS" "UDP $IP4_A:$UDP_SPORT > $IP4_B:$UDP_PORT (egress)" \
	"$ifa" 1 "$udp_n" "$udp_ip" "$udp_min" "$udp_max" \
	protocol=17 src="$IP4_A" dst="$IP4_B" src_port=$UDP_SPORT dst_port=$UDP_PORT
flow_is "$FLOWS" "UDP $IP4_B:$UDP_PORT > $IP4_A:$UDP_SPORT (ingress)" \
	"$ifa" 0 "$udp_n" "$udp_ip" "$udp_min" "$udp_max" \
	protocol=17 src="$IP4_B" dst="$IP4_A" src_port=$UDP_PORT dst_port=$UDP_SPORT
check_eq "flows on other interfaces" "$(rec_count "$FLOWS" ifindex!="$ifa")" 0
stats_agree

# ---- 2. native XDP with MTU 9000 (multi-buffer frames) ---------------------

info "2. native XDP on a veth end with MTU 9000"
topo_pair xdp 77 2 9000
bpf_load "$OBJ" xdp
XDP_PIN=$BPF_PIN
xdp_attach "$NS_B" "$IF_B" xdpdrv "$XDP_PIN/bpfix_xdp" ||
	fail "$IF_B: native XDP with MTU 9000 refused: $XDP_ERR"
check_eq "$IF_B: XDP attach mode and program" "$(xdp_mode "$NS_B" "$IF_B")" \
	"driver $(prog_id "$XDP_PIN/bpfix_xdp")"
ifb=$(ifindex_of "$NS_B" "$IF_B")

JPINGS=3 JPING_SIZE=8000
JUDP_SIZES="3000 8900"
ping_ok "$NS_A" "$JPINGS" -s "$JPING_SIZE" -M "do" "$IP4_B"
# shellcheck disable=SC2086
udp_exchange "$NS_A" "$NS_B" "$IP4_B" "$UDP_PORT" "$UDP_SPORT" $JUDP_SIZES
xdp_detach "$NS_B" "$IF_B" xdpdrv
read_tables "$XDP_PIN" xdp

l4=$((20 + 8 + JPING_SIZE))
flow_is "$FLOWS" "ICMP echo request $IP4_A > $IP4_B (XDP)" \
	"$ifb" 0 "$JPINGS" $((JPINGS * l4)) "$l4" "$l4" \
	protocol=1 src="$IP4_A" dst="$IP4_B" src_port=0 dst_port=$ICMP_ECHO_REQUEST
# shellcheck disable=SC2086
udp_expect $JUDP_SIZES
flow_is "$FLOWS" "UDP $IP4_A:$UDP_SPORT > $IP4_B:$UDP_PORT (XDP)" \
	"$ifb" 0 "$udp_n" "$udp_ip" "$udp_min" "$udp_max" \
	protocol=17 src="$IP4_A" dst="$IP4_B" src_port=$UDP_SPORT dst_port=$UDP_PORT
check_eq "XDP flows that are not ingress on $IF_B" \
	"$(rec_count "$FLOWS" ifindex!="$ifb") $(rec_count "$FLOWS" direction!=0)" "0 0"
stats_agree

test_done
