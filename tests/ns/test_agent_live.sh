#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # awk, python and sh -c programs in single quotes
# The agent on live traffic: $BPFIX (default $BUILD/bpfix) runs in namespace
# B on B's end of a veth pair with JSON output and short timeouts, namespace
# A sends traffic this script knows exactly, SIGINT stops the agent, and its
# records are compared with what was sent.
#
# Runs (mode x pairing): tc x biflow, tc x uniflow, xdp (native, on the
# receiving veth) x biflow, xdp-generic x uniflow, then tc in the text
# format. In each JSON run:
#  - ping -c N -s S from A to B: ICMP echo, dport 0, icmp_type 8, packets N,
#    bytes N*(S+28); the N replies in the reverse direction (tc) or nowhere
#    (xdp meters B's ingress only); the source is the pinger;
#  - UDP echo exchanges of known datagram sizes, client in A to a server in
#    B, and client in B to a server in A: packets and IP bytes exact per
#    direction, and the orientation the initiator rules give (the server's
#    port listens on the agent's host; else the side seen first);
#  - an iperf3 TCP run, client A, server B: source = the SYN sender, SYN
#    (and SYN-ACK) seen, FIN or RST, at least as many packets as the payload
#    needs at one MSS each (a GSO aggregate counts its segments), the last
#    record of each connection "end" (xdp: not "end" when the client sent
#    neither FIN nor RST, since the server's end is not metered), every
#    earlier one "active";
#  - raw frames crafted with scapy and sent on A's veth: 802.1Q and QinQ
#    tagged UDP, IPv6 UDP behind two extension headers, ARP: exact packets
#    and bytes (IP total length; the ARP payload for L2 flows), VLAN ids;
#  - an IPv6 ping just before SIGINT: its record is "forced";
#  - every line is JSON and agrees with itself (first <= last within start
#    and end, bytes within packets * min/max IP length, frame bytes >= IP
#    bytes + 14 per packet), its times fall within the run; sums are over
#    all records of a flow (timeouts may split it); exit status 0; -v's exit
#    line counts exactly the packets the records hold and loses none;
#    nothing stays attached or pinned.
# Then a crash: SIGKILL leaves the programs metering into the pinned
# tables; a restarted agent adopts them and exports every ping sent before,
# during and after the gap, once.
#
# A documented limitation is reported, not checked: generic XDP sees
# GSO/GRO aggregates (veth passes TSO skbs through) and counts each as one
# packet (README, "-m xdp-generic").
#
#   env BUILD=build sh tests/ns/test_agent_live.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_DUMP=1      print every record
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}

PINGS=5 PING_SIZE=100
PING6S=2 PING6_SIZE=200			# the last traffic: a "forced" record
UDP_SIZES="1 64 100 512 1000 1472"
UDP_PORT=5001 UDP_SPORT=40001		# client A -> server B
UDP_RPORT=5002 UDP_RSPORT=40002		# client B -> server A
IPERF_PORT=5201 IPERF_CPORT=40100 IPERF_SECS=2
MSS=1448				# MTU 1500 - IPv4 - TCP with timestamps
# crafted frames: count and payload of each kind
VLAN_ID=42 VLAN_N=3 VLAN_PAYLOAD=50
QINQ_OUTER=100 QINQ_INNER=200 QINQ_N=2 QINQ_PAYLOAD=20
V6X_N=4 V6X_PAYLOAD=40
ARP_N=2 ARP_MAC=02:00:00:00:aa:01

use_python3	# Debian's, which has scapy
need_root
need_cmds ip tc nsenter python3 ping iperf3 ss timeout
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
python3 -c 'import scapy.all' 2>/dev/null || skip "$PYTHON3 has no scapy (python3-scapy)"
T0=$(date +%s)

# ---- records ---------------------------------------------------------------------
#
# The agent's records (lib.sh's agent_records) are in RECS.

# sum_is WHAT FIELD WANT FILTER...: the sum of FIELD over matching records.
sum_is() {
	_si_what=$1 _si_field=$2 _si_want=$3
	shift 3
	check_eq "$_si_what" "$(rec_sum "$RECS" "$_si_field" "$@")" "$_si_want"
}

# all_are WHAT FIELD VALUE FILTER...: there are matching records, and all
# have FIELD=VALUE.
all_are() {
	_aa_what=$1 _aa_field=$2 _aa_val=$3
	shift 3
	_aa_n=$(rec_count "$RECS" "$@")
	check_eq "$_aa_what: records with $_aa_field other than $_aa_val (of $_aa_n)" \
		"$([ "$_aa_n" -gt 0 ] && rec_count "$RECS" "$@" "$_aa_field!=$_aa_val" || echo "no records")" 0
}

# last_of FIELD FILTER...: FIELD of the last matching record.
last_of() {
	_lo_field=$1
	shift
	rec_show "$RECS" "$@" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$_lo_field=//p"
}

# ---- traffic -----------------------------------------------------------------------

# iperf3_run: client in A, server in B, IPERF_SECS of TCP; sets IPERF_BYTES
# (payload the server received).
iperf3_run() {
	nsenter --net="$NETNS_DIR/$NS_B" iperf3 -s -1 -B "$IP4_B" -p "$IPERF_PORT" \
		>"$TEST_TMP/iperf3-server.log" 2>&1 &
	_ip_pid=$!
	bg_track "$_ip_pid"
	_ip_i=0
	until nsx "$NS_B" ss -ltnH "sport = :$IPERF_PORT" | grep -q LISTEN; do
		[ "$_ip_i" -ge 50 ] && fail "iperf3 server in $NS_B did not listen"
		_ip_i=$((_ip_i + 1))
		sleep 0.1
	done
	nsx_timeout $((IPERF_SECS + 15)) "$NS_A" iperf3 -c "$IP4_B" -p "$IPERF_PORT" \
		--cport "$IPERF_CPORT" -t "$IPERF_SECS" -J >"$TEST_TMP/iperf3.json" 2>&1
	check "iperf3 client: $IPERF_SECS s of TCP" test $? -eq 0
	wait "$_ip_pid"
	bg_untrack "$_ip_pid"
	IPERF_BYTES=$(python3 -c 'import json, sys
print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' <"$TEST_TMP/iperf3.json" 2>/dev/null)
	IPERF_BYTES=${IPERF_BYTES:-0}
}

# The crafted frames, made once with scapy (slow to import) as hex lines;
# each run sends them with a plain AF_PACKET socket.
_scapy_py='
import sys
from scapy.all import ARP, Dot1AD, Dot1Q, Ether, IP, IPv6, IPv6ExtHdrDestOpt, \
    IPv6ExtHdrHopByHop, UDP, Raw
(dmac, vid, vn, vpay, qo, qi, qn, qpay, xn, xpay, an, amac) = sys.argv[1:]
frames = []
frames += [Ether(dst=dmac) / Dot1Q(vlan=int(vid)) / IP(src="10.99.0.1", dst="10.99.0.2") /
           UDP(sport=1111, dport=2222) / Raw(b"v" * int(vpay))] * int(vn)
frames += [Ether(dst=dmac) / Dot1AD(vlan=int(qo)) / Dot1Q(vlan=int(qi)) /
           IP(src="10.99.1.1", dst="10.99.1.2") / UDP(sport=1112, dport=2223) /
           Raw(b"q" * int(qpay))] * int(qn)
frames += [Ether(dst=dmac) / IPv6(src="fd00:99::1", dst="fd00:99::2") / IPv6ExtHdrHopByHop() /
           IPv6ExtHdrDestOpt() / UDP(sport=3333, dport=4444) / Raw(b"x" * int(xpay))] * int(xn)
frames += [Ether(src=amac, dst="ff:ff:ff:ff:ff:ff") /
           ARP(op=1, hwsrc=amac, psrc="10.99.2.1", pdst="10.99.2.3")] * int(an)
for f in frames:
    print(bytes(f).hex())
'
_send_py='
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
n = 0
for line in open(sys.argv[2]):
    s.send(bytes.fromhex(line.strip()))
    n += 1
print(n)
'

frames_make() {
	_fm_mac=$(mac_of "$NS_B" "$IF_B")
	FRAMES=$TEST_TMP/frames.hex
	python3 -c "$_scapy_py" "$_fm_mac" "$VLAN_ID" "$VLAN_N" "$VLAN_PAYLOAD" \
		"$QINQ_OUTER" "$QINQ_INNER" "$QINQ_N" "$QINQ_PAYLOAD" "$V6X_N" "$V6X_PAYLOAD" \
		"$ARP_N" "$ARP_MAC" >"$FRAMES" || fail "scapy could not build the frames"
}

frames_send() {
	check_eq "crafted frames sent on $IF_A" \
		"$(nsx_timeout 10 "$NS_A" python3 -c "$_send_py" "$IF_A" "$FRAMES")" \
		$((VLAN_N + QINQ_N + V6X_N + ARP_N))
}

# ---- one run ------------------------------------------------------------------------

# run_json TAG MODE biflow|uniflow AGENT_ARGS...
run_json() {
	_rj_tag=$1 _rj_mode=$2 _rj_pair=$3
	shift 3
	[ "$_rj_pair" = uniflow ] && set -- --uniflow "$@"
	info "run $_rj_tag ($(($(date +%s) - T0)) s): -m $_rj_mode -f json $*"
	RUN_T0=$(date +%s%3N)
	agent_start "$_rj_tag" "$NS_B" "$IF_B" -m "$_rj_mode" -f json --idle-timeout 3 \
		--sweep-interval 200 "$@"

	ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
	# shellcheck disable=SC2086
	udp_exchange "$NS_A" "$NS_B" "$IP4_B" "$UDP_PORT" "$UDP_SPORT" $UDP_SIZES
	# shellcheck disable=SC2086
	udp_exchange "$NS_B" "$NS_A" "$IP4_A" "$UDP_RPORT" "$UDP_RSPORT" $UDP_SIZES
	frames_send
	iperf3_run
	# The end of a TCP connection is reported after a 2 s grace.
	sleep 2.6
	ping_ok "$NS_A" "$PING6S" -s "$PING6_SIZE" "$IP6_B"
	agent_stop "$NS_B" "$IF_B"
	RUN_T1=$(date +%s%3N)

	agent_records "$_rj_tag"
	[ -n "${BPFIX_TEST_DUMP:-}" ] && cat "$RECS"
	check_records "$_rj_mode" "$_rj_pair"
}

# check_records MODE biflow|uniflow: a run's records against its traffic.
check_records() {
	_cr_pair=$2 _cr_tc=0
	[ "$1" = tc ] && _cr_tc=1
	records_sane
	# Wall-clock times (converted from the kernel's boot-time clock) fall
	# within the agent's run.
	check "record times within the run ($RUN_T0..$RUN_T1 ms)" awk -v t0="$RUN_T0" -v t1="$RUN_T1" '
		{ for (i = 1; i <= NF; i++) if ($i ~ /^(rev_)?(first|last)_ms=[1-9]/) {
			v = substr($i, index($i, "=") + 1) + 0
			if (v < t0 || v > t1) bad++ } }
		END { exit bad > 0 }' "$RECS"
	all_are "all" biflow "$([ "$_cr_pair" = biflow ] && echo true || echo false)"
	check_eq "records without packets" \
		"$(rec_count "$RECS" packets=0 rev_packets=0) $(rec_count "$RECS" packets=0 biflow=false)" "0 0"
	check_eq "records of another interface" \
		"$(rec_count "$RECS" packets!=0 interface!="$IF_B") $(rec_count "$RECS" biflow=true rev_packets!=0 rev_interface!="$IF_B")" \
		"0 0"
	check_ping "$_cr_pair" "$_cr_tc"
	n=0 b=0
	for s in $UDP_SIZES; do
		n=$((n + 1)) b=$((b + 28 + s))
	done
	# Client A, server B: 5001 listens on the agent's host (rule 4), and
	# the client spoke first (rule 5).
	check_udp "$_cr_pair" "$_cr_tc" "$IP4_A" "$UDP_SPORT" "$IP4_B" "$UDP_PORT" "$n" "$b" a
	# Client B, server A: no listening socket here; in tc the client spoke
	# first (rule 5; its first datagram and the echo are often in the same
	# millisecond, and B's address is the higher one, so only the kernel's
	# ns timestamps order them); in xdp only the answers A -> B were metered.
	check_udp "$_cr_pair" "$_cr_tc" "$IP4_B" "$UDP_RSPORT" "$IP4_A" "$UDP_RPORT" "$n" "$b" b
	check_frames
	check_tcp "$1" "$_cr_pair"

	# The IPv6 ping was in flight at SIGINT.
	set -- ip_version=6 protocol=58 src="$IP6_A" dst="$IP6_B" icmp_type=128
	sum_is "ICMPv6 echo before SIGINT: packets" packets "$PING6S" "$@"
	sum_is "ICMPv6 echo before SIGINT: bytes" bytes $((PING6S * (PING6_SIZE + 48))) "$@"
	check_eq "ICMPv6 echo before SIGINT: end_reason" "$(last_of end_reason "$@")" forced

	# Exact overall: the records hold every packet the kernel metered.
	agent_exit_agrees
}

check_ping() {
	_cp_pair=$1 _cp_tc=$2
	l=$((PING_SIZE + 28))
	set -- protocol=1 src="$IP4_A" dst="$IP4_B" icmp_type=8
	all_are "ICMP echo $IP4_A > $IP4_B" dport 0 "$@"
	all_are "ICMP echo $IP4_A > $IP4_B" direction ingress "$@"
	sum_is "ICMP echo requests: packets" packets "$PINGS" "$@"
	sum_is "ICMP echo requests: bytes" bytes $((PINGS * l)) "$@"
	if [ "$_cp_pair" = biflow ]; then
		sum_is "ICMP echo replies (reverse): packets" rev_packets $((PINGS * _cp_tc)) "$@"
		sum_is "ICMP echo replies (reverse): bytes" rev_bytes $((PINGS * l * _cp_tc)) "$@"
		[ "$_cp_tc" = 1 ] && all_are "ICMP echo replies (reverse)" rev_direction egress "$@"
		all_are "ICMP echo" biflow_direction 1 "$@"
		check_eq "ICMP records from $IP4_B" "$(rec_count "$RECS" protocol=1 src="$IP4_B")" 0
		return
	fi
	set -- protocol=1 src="$IP4_B" dst="$IP4_A" icmp_type=0
	sum_is "ICMP echo replies $IP4_B > $IP4_A: packets" packets $((PINGS * _cp_tc)) "$@"
	sum_is "ICMP echo replies $IP4_B > $IP4_A: bytes" bytes $((PINGS * l * _cp_tc)) "$@"
	[ "$_cp_tc" = 1 ] && all_are "ICMP echo replies" direction egress "$@"
}

# check_udp PAIR TC CLIENT CPORT SERVER SPORT N BYTES a|b (the client's side)
# shellcheck disable=SC2086
check_udp() {
	_cu_pair=$1 _cu_tc=$2 _cu_n=$7 _cu_b=$8 _cu_side=$9
	c2s="protocol=17 src=$3 sport=$4 dst=$5 dport=$6"
	s2c="protocol=17 src=$5 sport=$6 dst=$3 dport=$4"
	_cu_what="UDP $3:$4 > $5:$6"
	_cu_rwhat="UDP $5:$6 > $3:$4"
	# Datagrams metered client -> server and server -> client.
	if [ "$_cu_tc" = 1 ]; then
		fw=$_cu_n rv=$_cu_n
	elif [ "$_cu_side" = a ]; then
		fw=$_cu_n rv=0
	else
		fw=0 rv=$_cu_n
	fi
	if [ "$_cu_pair" = uniflow ]; then
		sum2_is "$_cu_what: packets bytes" packets bytes "$fw $((_cu_b * fw / _cu_n))" $c2s
		sum2_is "$_cu_rwhat: packets bytes" packets bytes "$rv $((_cu_b * rv / _cu_n))" $s2c
		return
	fi
	if [ "$fw" = 0 ]; then
		# Only the server's answers were metered: the record starts there.
		sum2_is "$_cu_rwhat (answers only) biflow: packets bytes" packets bytes "$rv $_cu_b" $s2c
		sum2_is "$_cu_rwhat (answers only) biflow: rev_packets rev_bytes" rev_packets rev_bytes \
			"0 0" $s2c
		check_eq "$_cu_what: records (never metered)" "$(rec_count "$RECS" $c2s)" 0
		return
	fi
	check_eq "$_cu_what biflow: records oriented from the server" "$(rec_count "$RECS" $s2c)" 0
	sum2_is "$_cu_what biflow: packets bytes" packets bytes "$_cu_n $_cu_b" $c2s
	sum2_is "$_cu_what biflow: rev_packets rev_bytes" rev_packets rev_bytes \
		"$rv $((_cu_b * rv / _cu_n))" $c2s
}

# check_frames: the crafted frames, all on B's ingress.
check_frames() {
	# 802.1Q: the VLAN id is part of the key; bytes are IP total length.
	set -- protocol=17 src=10.99.0.1 dst=10.99.0.2 sport=1111 dport=2222
	sum2_is "802.1Q vlan $VLAN_ID UDP: packets bytes" packets bytes \
		"$VLAN_N $((VLAN_N * (28 + VLAN_PAYLOAD)))" "$@" vlan="$VLAN_ID" vlan_inner=0
	check_eq "802.1Q UDP: records without vlan $VLAN_ID" \
		"$(rec_count "$RECS" "$@" vlan!="$VLAN_ID")" 0
	all_are "802.1Q UDP" direction ingress "$@"
	set -- protocol=17 src=10.99.1.1 dst=10.99.1.2 sport=1112 dport=2223
	sum2_is "QinQ $QINQ_OUTER.$QINQ_INNER UDP: packets bytes" packets bytes \
		"$QINQ_N $((QINQ_N * (28 + QINQ_PAYLOAD)))" "$@" vlan="$QINQ_OUTER" vlan_inner="$QINQ_INNER"
	check_eq "QinQ UDP: records without vlan $QINQ_OUTER.$QINQ_INNER" \
		"$(rec_count "$RECS" "$@" vlan!="$QINQ_OUTER") $(rec_count "$RECS" "$@" vlan_inner!="$QINQ_INNER")" \
		"0 0"
	# IPv6 + hop-by-hop + destination options (8 bytes each) + UDP.
	set -- ip_version=6 protocol=17 src=fd00:99::1 dst=fd00:99::2 sport=3333 dport=4444
	sum2_is "IPv6 UDP behind 2 extension headers: packets bytes" packets bytes \
		"$V6X_N $((V6X_N * (40 + 8 + 8 + 8 + V6X_PAYLOAD)))" "$@"
	# ARP: an L2 flow keyed by MACs and EtherType; bytes = ARP payload.
	set -- ip_version=0 ether_type=2054 src="$ARP_MAC" dst=ff:ff:ff:ff:ff:ff
	sum2_is "ARP from $ARP_MAC: packets bytes" packets bytes "$ARP_N $((ARP_N * 28))" "$@"
	sum_is "ARP from $ARP_MAC: frame bytes" l2_bytes $((ARP_N * 42)) "$@"
	all_are "ARP from $ARP_MAC" proto ARP "$@"
}

# check_tcp MODE PAIR: iperf3's two connections, control and data, both
# from the client in A to port IPERF_PORT in B. The data connection ends
# with the server's RST or with FINs, as iperf3's timing has it.
# FILTER strings ($c2s, $s2c) are split on purpose.
# shellcheck disable=SC2086
check_tcp() {
	_ct_mode=$1 _ct_pair=$2 _ct_tc=0
	[ "$_ct_mode" = tc ] && _ct_tc=1
	c2s="protocol=6 src=$IP4_A dst=$IP4_B dport=$IPERF_PORT"
	s2c="protocol=6 src=$IP4_B sport=$IPERF_PORT dst=$IP4_A"
	[ "$_ct_pair" = biflow ] &&
		check_eq "TCP records oriented from the server (not the SYN sender)" \
			"$(rec_count "$RECS" protocol=6 src="$IP4_B")" 0
	ports=$(rec_show "$RECS" $c2s | tr ' ' '\n' | sed -n 's/^sport=//p' | sort -u)
	ctl=$(printf '%s\n' "$ports" | grep -v -x "$IPERF_CPORT")
	check_eq "TCP connections to $IPERF_PORT: client ports other than $IPERF_CPORT (the control one)" \
		"$(printf '%s\n' "$ctl" | grep -c .)" 1
	for conn in data ctl; do
		if [ "$conn" = data ]; then
			port=$IPERF_CPORT
		else
			port=$(printf '%s\n' "$ctl" | head -n 1)
		fi
		set -- $c2s sport="$port"
		w="iperf3 $conn $port > $IPERF_PORT"
		info "$w: $(rec_count "$RECS" "$@") record(s)"
		check "$w: SYN from the client" test "$(rec_sum "$RECS" syn "$@")" -gt 0
		if [ "$conn" = data ]; then
			pk=$(rec_sum "$RECS" packets "$@") by=$(rec_sum "$RECS" bytes "$@")
			_ct_got=$(test $((pk * MSS)) -ge "$IPERF_BYTES" && echo yes || echo no)
			_ct_what="$w: $pk packets can carry $IPERF_BYTES payload bytes ($MSS each; max_ip_len $(rec_show "$RECS" "$@" | tr ' ' '\n' | sed -n 's/^max_ip_len=//p' | sort -n | tail -n 1))"
			if [ "$_ct_mode" = xdp-generic ]; then
				info "$_ct_what: $_ct_got (generic XDP counts an aggregate as one packet: documented)"
			else
				check_eq "$_ct_what" "$_ct_got" yes
			fi
			check "$w: $by bytes hold the payload and 40 bytes of headers per packet" \
				test "$by" -ge $((IPERF_BYTES + 40 * pk))
		fi
		# What the client sent to end it, what the server sent.
		cfin=$(rec_sum "$RECS" fin "$@") crst=$(rec_sum "$RECS" rst "$@")
		if [ "$_ct_pair" = biflow ]; then
			[ "$_ct_tc" = 1 ] || sum_is "$w: reverse packets (xdp: ingress only)" rev_packets 0 "$@"
			all_are "$w" biflow_direction 1 "$@"
			sfin=$(rec_sum "$RECS" rev_fin "$@") srst=$(rec_sum "$RECS" rev_rst "$@")
			ssyn=$(rec_sum "$RECS" rev_syn "$@") spk=$(rec_sum "$RECS" rev_packets "$@")
		else
			sfin=$(rec_sum "$RECS" fin $s2c dport="$port")
			srst=$(rec_sum "$RECS" rst $s2c dport="$port")
			ssyn=$(rec_sum "$RECS" syn $s2c dport="$port")
			spk=$(rec_sum "$RECS" packets $s2c dport="$port")
		fi
		# The last record: "end" once FIN both ways or RST were metered
		# (xdp: FIN or RST from the client, the only side seen); else
		# "idle", or "active" if no packet came after an active timeout.
		# Every earlier one: "active".
		last=$(last_of end_reason "$@")
		if [ "$_ct_tc" = 1 ]; then
			check "$w: server packets, SYN-ACK" test "$spk" -gt 0 -a "$ssyn" -gt 0
			check "$w: FIN or RST" test $((cfin + crst + sfin + srst)) -gt 0
			want=end
			# Uniflow, and only the server closed (iperf3's RST): the
			# client's direction may have sent nothing after its
			# active-timeout record, and an empty record is not sent.
			[ "$_ct_pair" = uniflow ] && [ $((cfin + crst)) = 0 ] && [ "$last" = active ] &&
				want=active
		else
			check_eq "$w: server packets (xdp: ingress only)" "$spk" 0
			want=end
			# Nothing ended it: idle, or forced if SIGINT came first,
			# or active if nothing came after an active timeout.
			[ $((cfin + crst)) -gt 0 ] ||
				case $last in idle|forced|active) want=$last ;; *) want="idle|forced|active" ;; esac
		fi
		[ "$conn" = ctl ] && check "$w: FIN from the client" test "$cfin" -gt 0
		if [ "$want" = end ]; then
			check_eq "$w: last record's end_reason" "$last" end
		else
			check_eq "$w: last record's end_reason (no end metered)" "$last" "$want"
		fi
		check_eq "$w: earlier records that are not 'active'" \
			"$(($(rec_count "$RECS" "$@" end_reason!=active) - $([ "$last" = active ] && echo 0 || echo 1)))" 0
		if [ "$_ct_pair" = uniflow ] && [ "$_ct_tc" = 1 ]; then
			check_eq "$w: the server's last record's end_reason" \
				"$(last_of end_reason $s2c dport="$port")" end
		fi
	done
}

# sum2_is WHAT F1 F2 "WANT1 WANT2" FILTER...
sum2_is() {
	_s2_what=$1 _s2_f1=$2 _s2_f2=$3 _s2_want=$4
	shift 4
	check_eq "$_s2_what" "$(rec_sum "$RECS" "$_s2_f1" "$@") $(rec_sum "$RECS" "$_s2_f2" "$@")" \
		"$_s2_want"
}

# ---- text format -------------------------------------------------------------

run_text() {
	info "run text ($(($(date +%s) - T0)) s): -m tc, text"
	agent_start text "$NS_B" "$IF_B" --idle-timeout 3 --sweep-interval 200
	ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
	agent_stop "$NS_B" "$IF_B"
	check_eq "text: header" "$(head -n 1 "$AGENT_OUT" | tr -s ' ')" \
		"Start (UTC) Duration Proto Source Destination Packets Bytes RPackets RBytes Flags RFlags VLAN Interface End"
	# 2026-11-24 09:05:41.631 0.411 ICMP 10.9.0.1 <> 10.9.0.2:8.0 3 384 3 384 ........ ........ - tvb/in forced
	l=$((PING_SIZE + 28))
	check_eq "text: the ping's line (from the 4th word)" \
		"$(awk -v a="$IP4_A" '$4 == "ICMP" && $5 == a { $1 = $2 = $3 = ""; print }' "$AGENT_OUT" | tr -s ' ')" \
		" ICMP $IP4_A <> $IP4_B:8.0 $PINGS $((PINGS * l)) $PINGS $((PINGS * l)) ........ ........ - $IF_B/in forced"
	check "text: the ping's start is a UTC date and time, its duration in seconds" \
		awk -v a="$IP4_A" '$4 == "ICMP" && $5 == a { ok = $1 ~ /^20[0-9][0-9]-[01][0-9]-[0-3][0-9]$/ &&
			$2 ~ /^[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9][0-9][0-9]$/ && $3 ~ /^[0-9]+\.[0-9][0-9][0-9]$/ }
			END { exit !ok }' "$AGENT_OUT"
	check_eq "text: lines that are not the header or a record" \
		"$(awk 'NR > 1 && NF != 16' "$AGENT_OUT" | wc -l)" 0
}

# ---- crash and restart --------------------------------------------------------------
#
# SIGKILL leaves the programs attached and the tables pinned: they go on
# metering. An agent started again on the same pin path adopts the tables
# and exports what they hold, and adopts the first agent's journal
# (user/journal.h) with what it had drained: here the pings sent before the
# crash (drained by the first agent's sweeps, in its journal), during the
# gap (in the kernel's tables) and after the restart, all once.

run_restart() {
	info "run crash ($(($(date +%s) - T0)) s): -m tc -f json, SIGKILL, restart"
	PIN_TAG=crash
	agent_start crash1 "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60 \
		--sweep-interval 100
	ping_ok "$NS_A" 3 -s "$PING_SIZE" "$IP4_B"
	sleep 0.5	# sweeps every 0.1 s: the pings are in the agent's journal
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	bg_untrack "$AGENT_PID"
	check_eq "after SIGKILL: bpfix TCX links on $IF_B, pinned maps, programs, links" \
		"$(tc_bpfix_filters), $(ls "$AGENT_PIN" | grep -c -v -e "^bpfix_" -e "^tcx-"), $(ls "$AGENT_PIN" | grep -c "^bpfix_tc_"), $(ls "$AGENT_PIN" | grep -c "^tcx-")" "2, 10, 2, 2"
	check_eq "after SIGKILL: records printed" "$(wc -l <"$AGENT_OUT")" 0
	ping_ok "$NS_A" 4 -s "$PING_SIZE" "$IP4_B"
	agent_start crash2 "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60 \
		--sweep-interval 200
	check "restarted agent: adopted the earlier tables" \
		grep -q "^bpfix: metering .*adopted an earlier run" "$AGENT_ERR"
	# the 3 echoes both ways at least: the link is not quiet (ARP, IPv6
	# neighbour discovery may add a flow of their own); the ICMP sums
	# below are the exact check
	_rj=$(sed -n "s/^bpfix: .*adopted an earlier agent's journal: \(.*\)/\1/p" "$AGENT_ERR")
	_rj_packets=$(printf '%s\n' "$_rj" |
		sed -n 's/^[1-9][0-9]* flows (\([0-9]*\) packets) in its table, 0 drained flows (0 packets) to fold$/\1/p')
	check "restarted agent: the first one's journal held the pings ($_rj)" \
		[ "${_rj_packets:-0}" -ge 6 ]
	check_eq "restarted agent: bpfix filters on $IF_B" "$(tc_bpfix_filters)" 2
	ping_ok "$NS_A" 2 -s "$PING_SIZE" "$IP4_B"
	# The restarted agent took the crashed one's pinned links over; they
	# go when it stops.
	agent_stop "$NS_B" "$IF_B"
	# shellcheck disable=SC2034 # read by lib.sh's agent_start
	PIN_TAG=''
	agent_records crash
	set -- protocol=1 src="$IP4_A" dst="$IP4_B" icmp_type=8
	sum2_is "ICMP echo before, during and after the gap: packets rev_packets" packets rev_packets \
		"9 9" "$@"
	sum_is "ICMP echo: bytes" bytes $((9 * (PING_SIZE + 28))) "$@"
	check_eq "-v exit line: lost" \
		"$(sed -n 's/^bpfix exit: .*| \(lost flows [0-9]* packets [0-9]*\) |.*/\1/p' "$AGENT_ERR")" \
		"lost flows 0 packets 0"
}

tc_bpfix_filters() {
	bpfix_tc "$NS_B" "$IF_B"
}

# ---- the runs ----------------------------------------------------------------------

topo_pair live 78 1
frames_make

run_json tcbi tc biflow --active-timeout 60
run_json tcuni tc uniflow --idle-timeout 2 --active-timeout 2
run_json xdpbi xdp biflow --active-timeout 60
run_json xgenuni xdp-generic uniflow --idle-timeout 2 --active-timeout 2
run_text
run_restart

info "took $(($(date +%s) - T0)) s"
test_done
