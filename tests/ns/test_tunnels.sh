#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Inner flows of tunnels (issue 16), live: bpfix -m tc on the underlay veth
# of namespace B, which A reaches over a quiet veth pair (IPv6 off,
# permanent neighbours: nothing but what the test sends crosses it).
#  1. Real VXLAN devices between A and B, VNI 42 on port 4789 and VNI 43 on
#     8472 (flannel's), with permanent neighbours inside too: UDP datagrams
#     between the inner addresses, each echoed back, are each one biflow
#     record per tunnel with the tunnel's type, VNI and outer (underlay)
#     addresses, exactly the packets and bytes sent and echoed, and no
#     record of the outer UDP flows.
#  2. scapy-built GRE (key, no key, checksum+key+sequence with Ethernet
#     inside), Geneve (two VNIs, the same inner flow), IP-in-IP (4in4,
#     6in4), VXLAN and MPLS frames sent raw from A to an address B does not
#     have (B's stack drops them; this kernel has no gre, geneve or ipip
#     devices to terminate them): each inner flow and tunnel is exactly one
#     record with the packets and bytes scapy built (tests/data/
#     tunnel_frames.py compares), and a GRE header cut in its key is the
#     outer flow, counted under malformed_tunnel.
#  3. --tunnels both: the GRE flow's inner record and its outer one (IP
#     protocol 47, the outer octets).
#  4. --tunnels outer: the same GRE frames are one protocol-47 flow, no
#     tunnel in any record.
#  5. The frames of 2 exported as IPFIX to a file and, over UDP, to nfcapd
#     and a capture: ipfixDump (with docs/bpfix-ipfix.xml) shows each
#     tunnel record's type, id and outer address, the VXLAN VNI as
#     layer2SegmentId; tshark decodes them without a warning; nfcapd stores
#     the inner flows.
#
#   env BUILD=build sh tests/ns/test_tunnels.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
FRAMES=$(dirname "$0")/../data/tunnel_frames.py
ARGS="-m tc -f json --idle-timeout 1 --sweep-interval 100"
OUTER_DST=10.83.7.99		# an address B does not have: its stack drops the frames

use_python3
need_root
need_cmds ip nsenter python3 timeout
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
python3 -c 'import scapy.all' 2>/dev/null || skip "python3-scapy missing (tools/deps.sh)"
quiet_pair tu 83 7
MAC_A=$(mac_of "$NS_A" "$IF_A")
MAC_B=$(mac_of "$NS_B" "$IF_B")

# ---- 1. VXLAN devices ---------------------------------------------------------

# vxlan_dev NAME VNI PORT NET: a VXLAN device over the underlay in A and in
# B, 192.168.NET.1 and .2, each knowing the other's MAC.
vxlan_dev() {
	ip -n "$NS_A" link add "$1" type vxlan id "$2" local "$IP4_A" remote "$IP4_B" \
		dstport "$3" dev "$IF_A" &&
	ip -n "$NS_B" link add "$1" type vxlan id "$2" local "$IP4_B" remote "$IP4_A" \
		dstport "$3" dev "$IF_B" || skip "cannot create a vxlan device (no vxlan module?)"
	ip -n "$NS_A" addr add "192.168.$4.1/24" dev "$1" &&
	ip -n "$NS_B" addr add "192.168.$4.2/24" dev "$1" &&
	ip -n "$NS_A" link set "$1" up &&
	ip -n "$NS_B" link set "$1" up &&
	ip -n "$NS_A" neigh replace "192.168.$4.2" dev "$1" nud permanent \
		lladdr "$(mac_of "$NS_B" "$1")" &&
	ip -n "$NS_B" neigh replace "192.168.$4.1" dev "$1" nud permanent \
		lladdr "$(mac_of "$NS_A" "$1")" || fail "cannot configure $1"
}
vxlan_dev vx42 42 4789 42
vxlan_dev vx43 43 8472 43

info "1. VXLAN devices: VNI 42 (4789), VNI 43 (8472)"
agent_start vx "$NS_B" "$IF_B" $ARGS
udp_exchange "$NS_A" "$NS_B" 192.168.42.2 7001 41000 100 200 300 400
udp_exchange "$NS_A" "$NS_B" 192.168.43.2 7002 41001 50 60 70
sleep 2
agent_stop "$NS_B" "$IF_B"
agent_records vx
records_sane
for t in "42 192.168.42 7001 41000 4 1112" "43 192.168.43 7002 41001 3 264"; do
	# shellcheck disable=SC2086 # words
	set -- $t
	what="vxlan vni $1"
	check_eq "$what: records" "$(rec_count "$RECS" tunnel=vxlan tunnel_id="$1")" 1
	check_eq "$what: its flow, tunnel and counts" "$(rec_get "$RECS" \
		"src,dst,sport,dport,tunnel_src,tunnel_dst,packets,bytes,rev_packets,rev_bytes" \
		tunnel=vxlan tunnel_id="$1")" \
		"$2.1 $2.2 $4 $3 $IP4_A $IP4_B $5 $6 $5 $6"
done
check_eq "records of the outer UDP flows (4789, 8472)" \
	"$(($(rec_count "$RECS" dport=4789) + $(rec_count "$RECS" dport=8472) + \
	    $(rec_count "$RECS" sport=4789) + $(rec_count "$RECS" sport=8472)))" 0
check_eq "records without a tunnel" \
	"$(($(rec_count "$RECS") - $(rec_count "$RECS" tunnel=vxlan)))" 0

# ---- 2. scapy frames ----------------------------------------------------------

# scapy_run TAG SET [both] ARGS...: an agent on B's veth with ARGS, the
# frames of SET sent from A, then the agent stopped; EXPECT, RECS set.
scapy_run() {
	_sr_tag=$1 _sr_set=$2 _sr_both=$3
	shift 3
	agent_start "$_sr_tag" "$NS_B" "$IF_B" $ARGS "$@"
	EXPECT=$TEST_TMP/$_sr_tag.expect
	nsx_timeout 60 "$NS_A" python3 "$FRAMES" send "$IF_A" "$MAC_A" "$MAC_B" "$IP4_A" \
		"$OUTER_DST" "$EXPECT" "$_sr_set" "$_sr_both" || fail "scapy could not send"
	sleep 2
	# the kernel's counters, before the agent unpins them
	map_records "$AGENT_PIN/stats" >"$TEST_TMP/$_sr_tag.kstats" ||
		fail "cannot read $AGENT_PIN/stats"
	agent_stop "$NS_B" "$IF_B"
	agent_records "$_sr_tag"
	records_sane
}

info "2. scapy: GRE, Geneve, IP-in-IP, VXLAN, MPLS, a cut GRE header"
scapy_run scapy all -
check "every inner flow and tunnel exactly once, with its packets and bytes" \
	python3 "$FRAMES" check "$EXPECT" "$AGENT_OUT"
check_eq "kernel: malformed_tunnel" "$(rec_get "$TEST_TMP/scapy.kstats" malformed_tunnel)" 2
check_eq "kernel: tunnel_decap (5+6+4+7+3+8+2+5+9 frames)" \
	"$(rec_get "$TEST_TMP/scapy.kstats" tunnel_decap)" 49
check_eq "the cut GRE record is flagged malformed" \
	"$(rec_get "$RECS" flags protocol=47)" 2

info "3. --tunnels both"
scapy_run both gre-key both --tunnels both
check "the inner record and the outer one" python3 "$FRAMES" check "$EXPECT" "$AGENT_OUT"
check_eq "kernel: tunnel_outer_packets" \
	"$(rec_get "$TEST_TMP/both.kstats" tunnel_outer_packets)" 5

info "4. --tunnels outer"
scapy_run outer gre-key - --tunnels outer
check_eq "records with a tunnel" "$(grep -c '"tunnel"' "$AGENT_OUT")" 0
check_eq "the GRE flow on the wire" "$(rec_get "$RECS" "src,dst,packets" protocol=47)" \
	"$IP4_A $OUTER_DST 5"
check_eq "kernel: tunnel_decap" "$(rec_get "$TEST_TMP/outer.kstats" tunnel_decap)" 0

# ---- 5. IPFIX: ipfixDump, tshark, nfcapd --------------------------------------

info "5. IPFIX of the scapy frames: ipfixDump, tshark, nfcapd"
NF_PORT=4739
if command -v ipfixDump >/dev/null 2>&1 && command -v tshark >/dev/null 2>&1 &&
   command -v dumpcap >/dev/null 2>&1; then
	bg "$NS_B" dumpcap -q -i lo -f "udp port $NF_PORT" -w "$TEST_TMP/lo.pcap" \
		>"$TEST_TMP/dumpcap.log" 2>&1
	DUMPCAP=$!
	HAVE_NFCAPD=$(command -v nfcapd >/dev/null 2>&1 && command -v nfdump >/dev/null 2>&1 &&
		echo 1)
	if [ -n "$HAVE_NFCAPD" ]; then
		mkdir -p "$TEST_TMP/nfcapd"
		bg "$NS_B" nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$TEST_TMP/nfcapd" \
			>"$TEST_TMP/nfcapd.log" 2>&1
		NFCAPD=$!
		wait_for "$TEST_TMP/nfcapd.log" "Startup" "nfcapd"
	fi
	wait_for "$TEST_TMP/dumpcap.log" "Capturing on" "dumpcap on lo"
	agent_start ipfix "$NS_B" "$IF_B" -m tc --idle-timeout 1 --sweep-interval 100 \
		-c "file:$TEST_TMP/t.ipfix" -c "udp://127.0.0.1:$NF_PORT"
	nsx_timeout 60 "$NS_A" python3 "$FRAMES" send "$IF_A" "$MAC_A" "$MAC_B" "$IP4_A" \
		"$OUTER_DST" "$TEST_TMP/ipfix.expect" all - || fail "scapy could not send"
	sleep 2
	agent_stop "$NS_B" "$IF_B"
	sleep 1
	stop "$DUMPCAP" INT 5
	[ -n "$HAVE_NFCAPD" ] && stop "$NFCAPD" INT 5

	ipfixDump -e "$(dirname "$0")/../../docs/bpfix-ipfix.xml" --in "$TEST_TMP/t.ipfix" \
		>"$TEST_TMP/t.dump" 2>&1
	check_eq "ipfixDump exit status" "$?" 0
	check_eq "ipfixDump warnings or errors" "$(grep -c -i -e error -e warning "$TEST_TMP/t.dump")" 0
	check_eq "ipfixDump: tunnel records (tids 266-271)" \
		"$(grep -c -E '^[[:space:]]*count: .*tid: *(26[6-9]|27[01]) ' "$TEST_TMP/t.dump")" 9
	check_eq "ipfixDump: bpfixTunnelType of each (3 gre, 2 geneve, 2 ipip, vxlan, mpls)" \
		"$(sed -n 's/.*bpfixTunnelType : //p' "$TEST_TMP/t.dump" | sort | uniq -c |
		   awk '{ printf "%s%sx%s", (NR > 1 ? " " : ""), $2, $1 }')" "1x1 2x2 3x3 4x2 5x1"
	check_eq "ipfixDump: the VXLAN VNI 5 as layer2SegmentId (0x01 << 56 | 5)" \
		"$(grep -c 'layer2SegmentId : 72057594037927941' "$TEST_TMP/t.dump")" 1
	check_eq "ipfixDump: outer source $IP4_A, per tunnel record but MPLS's" \
		"$(grep -c "bpfixTunnelSourceIPv4Address : $IP4_A" "$TEST_TMP/t.dump")" 8
	check_eq "ipfixDump: GRE key 0x123401" \
		"$(grep -c 'bpfixTunnelId : 1192961$' "$TEST_TMP/t.dump")" 1

	tshark -r "$TEST_TMP/lo.pcap" -d "udp.port==$NF_PORT,cflow" -V >"$TEST_TMP/tshark.txt" 2>&1
	check_eq "tshark exit status" "$?" 0
	check_eq "tshark: malformed or expert warnings" \
		"$(grep -c -i -e malformed -e 'Expert Info' "$TEST_TMP/tshark.txt")" 0
	check_eq "tshark: layer2SegmentId of the VXLAN flow" \
		"$(grep -c 'Layer2 Segment Id: 72057594037927941$' "$TEST_TMP/tshark.txt")" 1
	# bpfix's elements (PEN 32473): tshark names no such field, it shows
	# their bytes
	check_eq "tshark: the GRE key 0x123401 (bpfix element 32002)" \
		"$(grep -c 'Enterprise Private entry: (Example Enterprise Number for Documentation Use) Type 32002: Value (hex bytes): 00 12 34 01$' "$TEST_TMP/tshark.txt")" 1
	check_eq "tshark: tunnel records' inner addresses (172.16.3.1, vxlan and ipip)" \
		"$(grep -c 'SrcAddr: 172.16.3.1$' "$TEST_TMP/tshark.txt")" 2

	if [ -n "$HAVE_NFCAPD" ]; then
		nfdump -R "$TEST_TMP/nfcapd" -o raw >"$TEST_TMP/nfdump.txt" 2>&1
		check_eq "nfdump exit status" "$?" 0
		check_eq "nfdump: flows of 172.16.3.1 (the inner flow, in two tunnels)" \
			"$(grep -c 'src addr *= *172.16.3.1$' "$TEST_TMP/nfdump.txt")" 2
		check_eq "nfdump: flows in all (9 inner, the cut GRE outer)" \
			"$(grep -c '^Flow Record' "$TEST_TMP/nfdump.txt")" 10
	fi
else
	info "ipfixDump, tshark or dumpcap missing: IPFIX decoding not checked"
fi

test_done
