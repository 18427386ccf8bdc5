#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python programs in single quotes
# --dedup (README, "One packet, one count"): a packet that crosses two
# metered interfaces of one node is counted once, in the records of the
# first interface that saw it, and once more as a duplicate; without
# --dedup it is in the records of both.
#
# Two nodes, each a namespace N between two "pods" P1 and P2 (namespaces
# with one veth each, IPv6 off, neighbours permanent: only what the test
# sends crosses), the agent in N metering both of N's veth ends, v1 and v2,
# in TC mode (ingress and egress):
#   bridge  v1 and v2 are ports of a bridge (both ends of a bridge);
#   routed  N routes between them (a pod veth and the NIC: TTL, MACs and
#           the IP checksum change between the two sightings);
#   xdp-chain  routed, in -m xdp (ingress only), with a veth pair va/vb
#           inside N that requests take, so that they are received on v1
#           and again on vb (native XDP on veth: through v1's and vb's
#           NAPI, which either CPU may poll: a second sighting polled on
#           the other CPU is metered again, so here each request is
#           either a duplicate or in vb's records, and at most 5% are in
#           vb's; the number is printed).
# P1 sends COUNT UDP datagrams of distinct payloads to P2, one at a time,
# and P2 answers each (two clients, pinned to different CPUs, so both
# CPUs carry traffic). Ground truth is what the python ends counted:
# requests sent by P1 and received by P2, answers sent by P2 and received
# by P1. With --dedup the records must hold the requests exactly on v1
# (ingress) and the answers exactly on v2 (ingress), nothing of them on the
# second interface, and the -v exit line's duplicates must equal requests
# plus answers (every second sighting recognised: the measurement of
# whether a packet crosses both hooks on one CPU). Without --dedup each
# count is in the records of both interfaces and duplicates is 0.
# A TCP transfer over the bridge (GSO aggregates) with --dedup: no packet
# of it in the second interface's records, and the packets in the first's
# equal the duplicates.
#
#   env BUILD=build sh tests/ns/test_dedup.sh
#   COUNT=500              requests per client
#   BLAST=20000            datagrams of the blast
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
COUNT=${COUNT:-500}
BLAST=${BLAST:-20000}
DPORT=7000 SPORT0=41000
AGENT_ARGS="-f json --uniflow --idle-timeout 60 --sweep-interval 100"

use_python3
need_root
need_cmds ip nsenter python3 taskset nproc
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

# quiet_ns NAME: a namespace with IPv6 off before any link exists.
quiet_ns() {
	netns_create "$1"
	# shellcheck disable=SC2016 # for the inner sh
	nsx "$1" sh -c 'for f in all default; do
		echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done' ||
		fail "cannot disable IPv6 in $1"
}

# xdp_chain: in the routed node, a veth pair va/vb inside N that requests
# to P2 take (v1 -> va -> vb -> v2, by policy routing on vb), so they are
# received twice on the node, on v1 and on vb; answers go straight back.
xdp_chain() {
	ip link add va netns "$NS_N" type veth peer name vb netns "$NS_N" &&
	ip -n "$NS_N" addr add 10.78.3.1/24 dev va &&
	ip -n "$NS_N" addr add 10.78.3.2/24 dev vb &&
	ip -n "$NS_N" link set va multicast off up &&
	ip -n "$NS_N" link set vb multicast off up &&
	ip -n "$NS_N" neigh replace "$IP_P2" dev va nud permanent \
		lladdr "$(mac_of "$NS_N" vb)" &&
	ip -n "$NS_N" rule add iif v1 lookup 101 &&
	ip -n "$NS_N" route add 10.78.2.0/24 dev va table 101 &&
	ip -n "$NS_N" rule add iif vb lookup 102 &&
	ip -n "$NS_N" route add 10.78.2.0/24 dev v2 table 102 &&
	nsx "$NS_N" sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do
		echo 0 > "$f"; done' ||
		fail "cannot build the veth chain inside $NS_N"
}

# node TAG bridge|routed: namespaces N (node), P1, P2 (pods), veths
# P1:eth0 - N:v1 and P2:eth0 - N:v2, joined by a bridge or routing. Sets
# NS_N NS_P1 NS_P2 IP_P1 IP_P2.
node() {
	NS_N=bpfix-$$-$1-n NS_P1=bpfix-$$-$1-p1 NS_P2=bpfix-$$-$1-p2
	for _nd_ns in "$NS_N" "$NS_P1" "$NS_P2"; do
		quiet_ns "$_nd_ns"
	done
	ip link add eth0 netns "$NS_P1" type veth peer name v1 netns "$NS_N" &&
	ip link add eth0 netns "$NS_P2" type veth peer name v2 netns "$NS_N" ||
		fail "cannot create the veth pairs of $1"
	_nd_m1=$(mac_of "$NS_P1" eth0) _nd_m2=$(mac_of "$NS_P2" eth0)
	if [ "$2" = bridge ]; then
		IP_P1=10.77.0.1 IP_P2=10.77.0.2
		ip -n "$NS_N" link add br0 type bridge stp_state 0 mcast_snooping 0 &&
		ip -n "$NS_N" link set v1 master br0 &&
		ip -n "$NS_N" link set v2 master br0 &&
		ip -n "$NS_P1" addr add "$IP_P1/24" dev eth0 &&
		ip -n "$NS_P2" addr add "$IP_P2/24" dev eth0 &&
		ip -n "$NS_P1" neigh replace "$IP_P2" dev eth0 nud permanent lladdr "$_nd_m2" &&
		ip -n "$NS_P2" neigh replace "$IP_P1" dev eth0 nud permanent lladdr "$_nd_m1" ||
			fail "cannot configure the bridge of $1"
	else
		IP_P1=10.78.1.2 IP_P2=10.78.2.2
		ip -n "$NS_N" addr add 10.78.1.1/24 dev v1 &&
		ip -n "$NS_N" addr add 10.78.2.1/24 dev v2 &&
		ip -n "$NS_P1" addr add "$IP_P1/24" dev eth0 &&
		ip -n "$NS_P2" addr add "$IP_P2/24" dev eth0 &&
		nsx "$NS_N" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' &&
		ip -n "$NS_N" neigh replace "$IP_P1" dev v1 nud permanent lladdr "$_nd_m1" &&
		ip -n "$NS_N" neigh replace "$IP_P2" dev v2 nud permanent lladdr "$_nd_m2" &&
		ip -n "$NS_P1" neigh replace 10.78.1.1 dev eth0 nud permanent \
			lladdr "$(mac_of "$NS_N" v1)" &&
		ip -n "$NS_P2" neigh replace 10.78.2.1 dev eth0 nud permanent \
			lladdr "$(mac_of "$NS_N" v2)" ||
			fail "cannot configure the routing of $1"
	fi
	for _nd_ns in "$NS_N" "$NS_P1" "$NS_P2"; do
		for _nd_if in $(ip -n "$_nd_ns" -o link show | sed -n 's/^[0-9]*: \([a-z0-9]*\)[@:].*/\1/p'); do
			# multicast off: no IGMP report crosses the node (br0's,
			# flooded to both ports, would be one more duplicate)
			ip -n "$_nd_ns" link set "$_nd_if" multicast off up ||
				fail "cannot set $_nd_if up in $_nd_ns"
		done
	done
	if [ "$2" = routed ]; then
		ip -n "$NS_P1" route add default via 10.78.1.1 &&
		ip -n "$NS_P2" route add default via 10.78.2.1 ||
			fail "cannot add the pods' routes in $1"
	fi
}

# P2 answers each datagram with its own payload; P1's clients send COUNT
# each, one at a time, and print "sent answered"; the server prints what it
# received and answered once it has seen CLIENTS * COUNT or 5 s of silence.
_server_py='
import socket, sys
port, want = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", port))
s.settimeout(5)
open(sys.argv[3], "w").close()
got = sent = 0
try:
    while got < want:
        data, peer = s.recvfrom(2048)
        got += 1
        sent += s.sendto(data, peer) == len(data)
except socket.timeout:
    pass
print(got, sent)
'
_client_py='
import socket, sys
dst, port, sport, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", sport))
s.settimeout(1)
sent = answered = 0
for i in range(count):
    payload = b"%d:%d:" % (sport, i) + b"\x5a" * 64
    if s.sendto(payload, (dst, port)) == len(payload):
        sent += 1
    try:
        answered += s.recv(2048) == payload
    except socket.timeout:
        pass
print(sent, answered)
'

# exchange: the two clients against the server; sets REQ (requests sent,
# all received) and ANS (answers sent, all received).
exchange() {
	rm -f "$TEST_TMP/ready"
	bg "$NS_P2" python3 -c "$_server_py" "$DPORT" $((2 * COUNT)) "$TEST_TMP/ready" \
		>"$TEST_TMP/server"
	_ex_srv=$!
	wait_file "$TEST_TMP/ready" "UDP server" "$_ex_srv"
	_ex_cpus=$(nproc)
	for _ex_i in 0 1; do
		nsenter --net="$NETNS_DIR/$NS_P1" taskset -c $((_ex_i % _ex_cpus)) \
			python3 -c "$_client_py" "$IP_P2" "$DPORT" $((SPORT0 + _ex_i)) "$COUNT" \
			>"$TEST_TMP/client.$_ex_i" &
		bg_track $!
		eval "_ex_c$_ex_i=\$!"
	done
	# shellcheck disable=SC2154 # set by the eval above
	for _ex_p in "$_ex_c0" "$_ex_c1"; do
		wait "$_ex_p"
		bg_untrack "$_ex_p"
	done
	stop "$_ex_srv" - 10
	read -r _ex_got _ex_ans <"$TEST_TMP/server" || fail "the UDP server reported nothing"
	REQ=0 _ex_back=0
	for _ex_i in 0 1; do
		read -r _ex_s _ex_a <"$TEST_TMP/client.$_ex_i" || fail "client $_ex_i reported nothing"
		REQ=$((REQ + _ex_s)) _ex_back=$((_ex_back + _ex_a))
	done
	ANS=$_ex_ans
	check_eq "requests received by P2 = sent by P1" "$_ex_got" "$REQ"
	check_eq "answers received by P1 = sent by P2" "$_ex_back" "$ANS"
}

# exit_duplicates: the duplicates of -v's exit line.
exit_duplicates() {
	grep '^bpfix exit: ' "$AGENT_ERR" | sed -n 's/.* | duplicates \([0-9]*\) | .*/\1/p' |
		grep . || echo '?'
}

# udp_in IF DIRECTION: packets of the exchange's UDP flows in the records
# of IF in DIRECTION (requests to DPORT, answers from it).
udp_in() {
	echo $(($(rec_sum "$RECS" packets interface="$1" direction="$2" protocol=17 dport="$DPORT") +
		$(rec_sum "$RECS" packets interface="$1" direction="$2" protocol=17 sport="$DPORT")))
}

# other_ip: packets of IP records that are not the exchange's (an IGMP
# report the stack still sends: with --dedup, one more duplicate each time
# it crosses two metered interfaces).
other_ip() {
	echo $(($(rec_sum "$RECS" packets ip_version!=0) -
		$(rec_sum "$RECS" packets protocol=17 dport="$DPORT") -
		$(rec_sum "$RECS" packets protocol=17 sport="$DPORT") -
		$(rec_sum "$RECS" packets protocol=6)))
}

# dups_is WHAT WANT: the -v exit line's duplicates are WANT, or up to
# other_ip more.
dups_is() {
	_di=$(exit_duplicates) _di_other=$(other_ip)
	[ "$_di_other" -gt 0 ] && info "$1: $_di_other packets of other IP flows" &&
		rec_show "$RECS" ip_version!=0 protocol!=17 protocol!=6 | cut -c1-200 | sed 's/^/    /'
	check "$1: duplicates (-v exit line, $_di) = $2 (+ up to $_di_other others)" \
		test "$_di" -ge "$2" -a "$_di" -le $(($2 + _di_other))
}

# run_case TAG bridge|routed|xdp-chain dedup|nodedup
run_case() {
	_rc_name="$2, $3"
	info "--- $_rc_name"
	_rc_flag='' _rc_mode='-m tc' _rc_more=''
	[ "$3" = dedup ] && _rc_flag=--dedup
	if [ "$2" = xdp-chain ]; then
		node "$1" routed
		xdp_chain
		_rc_mode="-m xdp" _rc_more="-i vb"
	else
		node "$1" "$2"
	fi
	# shellcheck disable=SC2086 # lists of words
	agent_start "$1" "$NS_N" v1 -i v2 $_rc_more $_rc_mode $AGENT_ARGS $_rc_flag
	exchange
	sleep 0.3
	agent_stop "$NS_N" v1
	nothing_left "$NS_N" v2 "$AGENT_PIN"
	agent_records "$1"
	records_sane
	check_eq "$_rc_name: -v exit line: lost" \
		"$(exit_counter lost_flows)/$(exit_counter lost_packets)" "0/0"
	if [ "$2" = xdp-chain ]; then
		# XDP meters ingress: requests on v1 then vb, answers on v2.
		nothing_left "$NS_N" vb "$AGENT_PIN"
		check_eq "$_rc_name: requests in v1 ingress records" "$(udp_in v1 ingress)" "$REQ"
		check_eq "$_rc_name: answers in v2 ingress records" "$(udp_in v2 ingress)" "$ANS"
		if [ "$3" = dedup ]; then
			# v1's and vb's NAPI rings are each shared by both CPUs:
			# a request whose second sighting another CPU polled is
			# metered again (README). Each is one or the other.
			_rc_vb=$(udp_in vb ingress)
			info "$_rc_name: $((REQ - _rc_vb)) of $REQ second sightings recognised," \
				"$_rc_vb metered again (polled on another CPU)"
			check_eq "$_rc_name: requests in vb ingress records + duplicates" \
				"$((_rc_vb + $(exit_duplicates)))" "$REQ"
			check "$_rc_name: at most 5% of the second sightings missed ($_rc_vb)" \
				test "$_rc_vb" -le $((REQ / 20))
		else
			check_eq "$_rc_name: requests in vb ingress records" \
				"$(udp_in vb ingress)" "$REQ"
			check_eq "$_rc_name: duplicates (-v exit line)" "$(exit_duplicates)" 0
		fi
	elif [ "$3" = dedup ]; then
		check_eq "$_rc_name: requests in v1 ingress records" "$(udp_in v1 ingress)" "$REQ"
		check_eq "$_rc_name: requests in v2 egress records" "$(udp_in v2 egress)" 0
		check_eq "$_rc_name: answers in v2 ingress records" "$(udp_in v2 ingress)" "$ANS"
		check_eq "$_rc_name: answers in v1 egress records" "$(udp_in v1 egress)" 0
		dups_is "$_rc_name" $((REQ + ANS))
	else
		check_eq "$_rc_name: requests in v1 ingress records" "$(udp_in v1 ingress)" "$REQ"
		check_eq "$_rc_name: requests in v2 egress records" "$(udp_in v2 egress)" "$REQ"
		check_eq "$_rc_name: answers in v2 ingress records" "$(udp_in v2 ingress)" "$ANS"
		check_eq "$_rc_name: answers in v1 egress records" "$(udp_in v1 egress)" "$ANS"
		check_eq "$_rc_name: duplicates (-v exit line)" "$(exit_duplicates)" 0
	fi
}

_tcp_server_py='
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").close()
c, _ = s.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
print(n)
'

# tcp_case TAG: a TCP transfer over a bridge with --dedup.
tcp_case() {
	info "--- bridge, TCP, dedup"
	node "$1" bridge
	agent_start "$1" "$NS_N" v1 -i v2 -f json --uniflow --sweep-interval 100 --dedup
	rm -f "$TEST_TMP/ready"
	bg "$NS_P2" python3 -c "$_tcp_server_py" "$DPORT" "$TEST_TMP/ready" >"$TEST_TMP/tcp"
	_tc_srv=$!
	wait_file "$TEST_TMP/ready" "TCP server" "$_tc_srv"
	nsx_timeout 30 "$NS_P1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"\x5a" * (8 << 20))
s.close()' "$IP_P2" "$DPORT" || fail "the TCP transfer failed"
	stop "$_tc_srv" - 10
	check_eq "bytes the TCP server received" "$(cat "$TEST_TMP/tcp")" $((8 << 20))
	sleep 0.3
	agent_stop
	agent_records "$1"
	records_sane
	_tc_first=$(($(rec_sum "$RECS" packets interface=v1 direction=ingress protocol=6) +
		$(rec_sum "$RECS" packets interface=v2 direction=ingress protocol=6)))
	info "TCP: $_tc_first packets in the first interface's records," \
		"$(rec_count "$RECS" protocol=6) records"
	check "TCP: packets in the first interface's records ($_tc_first)" test "$_tc_first" -gt 0
	check_eq "TCP: packets in the second interface's records" \
		$(($(rec_sum "$RECS" packets interface=v2 direction=egress protocol=6) +
		   $(rec_sum "$RECS" packets interface=v1 direction=egress protocol=6))) 0
	dups_is "TCP: packets of the first interface" "$_tc_first"
}

_blast_py='
import socket, sys
dst, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for i in range(count):
    payload = b"%d:" % i + b"\x5a" * 64
    try:
        sent += s.sendto(payload, (dst, port)) == len(payload)
    except OSError:
        pass
print(sent)
'

# blast_case TAG: BLAST datagrams as fast as one sender goes over the
# bridge with --dedup: more packets between a packet's two sightings than
# in the ping-pong above. Every one is in v1's records (the first
# sighting); each that reached v2's hook is a duplicate or, if its cache
# slot was taken in between, in v2's records: the share is printed and may
# be at most 5%.
blast_case() {
	info "--- bridge, blast, dedup"
	node "$1" bridge
	# shellcheck disable=SC2086 # AGENT_ARGS is a list of words
	agent_start "$1" "$NS_N" v1 -i v2 $AGENT_ARGS --dedup
	# a bound socket in P2, so no ICMP port unreachable comes back
	rm -f "$TEST_TMP/ready"
	bg "$NS_P2" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(120)' "$DPORT" "$TEST_TMP/ready"
	_bc_sink=$!
	wait_file "$TEST_TMP/ready" "UDP sink" "$_bc_sink"
	_bc_tx0=$(($(dev_stat "$NS_N" v2 tx_packets) + $(dev_stat "$NS_N" v2 tx_dropped)))
	_bc_sent=$(nsx_timeout 60 "$NS_P1" python3 -c "$_blast_py" "$IP_P2" "$DPORT" "$BLAST") ||
		fail "the blast failed"
	sleep 0.5
	stop "$_bc_sink" TERM 5
	_bc_fwd=$(($(dev_stat "$NS_N" v2 tx_packets) + $(dev_stat "$NS_N" v2 tx_dropped) - _bc_tx0))
	agent_stop "$NS_N" v1
	agent_records "$1"
	records_sane
	_bc_v2=$(udp_in v2 egress)
	info "blast: $_bc_sent sent, $_bc_fwd at v2's hook: $((_bc_fwd - _bc_v2)) recognised," \
		"$_bc_v2 metered again"
	check_eq "blast: datagrams in v1 ingress records = sent" "$(udp_in v1 ingress)" "$_bc_sent"
	dups_is "blast: frames at v2's hook - v2 egress records" $((_bc_fwd - _bc_v2))
	check "blast: at most 5% of the second sightings missed ($_bc_v2)" \
		test "$_bc_v2" -le $((_bc_fwd / 20))
}

run_case ddb bridge dedup
run_case ddn bridge nodedup
run_case ddr routed dedup
run_case dds routed nodedup
run_case ddx xdp-chain dedup
run_case ddy xdp-chain nodedup
tcp_case ddt
blast_case ddz
test_done
