#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# bpfix's IPFIX read by collectors nobody here wrote: a mixed run.
#
# Two namespaces joined by one veth pair, A (server side) and B (client
# side). Two agents meter the same traffic at once:
#   agent A  on A's veth, biflows (default), observation domain 4242
#   agent B  on B's veth, --uniflow,          observation domain 4343
# Each exports to collectors of its own, in its own namespace, on lo:
#   nfcapd (nfdump) over UDP  -> nfdump -o raw
#   nfacctd (pmacct) over UDP -> its print plugin's CSV
#   a file                    -> ipfixDump (libfixbuf): the reference decode
# and dumpcap captures both UDP streams for tshark to decode (cflow).
#
# Traffic from B to A (sizes below), with --idle-timeout 1,
# --active-timeout 3, sweeps every 100 ms, templates and options every 3 s:
#   ICMP echo over IPv4 and IPv6 (ping; class of service 0x20 and 0x48,
#   an IPv6 flow label), UDP echo over IPv4 and IPv6 to
#   port 7, a TCP exchange over IPv4 and over IPv6 (3000 octets up, 2000
#   down, FIN both ways), scapy frames sent on B's veth: 802.1Q-tagged UDP
#   (A's kernel drops them: no VLAN device there; the meter sees them
#   first), QinQ-tagged UDP, a 3000-octet UDP datagram in three IPv4
#   fragments and one in three IPv6 fragments (to a sink on port 9);
#   a 4 s ping to A's second address (active timeout: two records or
#   more), and an IPv6 ping just before the agents stop (forced end).
# The link also carries what the kernel sends by itself (ARP, neighbour
# discovery, router solicitations): those records are compared too.
#
# Ground truth, computed apart from the agent: packets and octets from
# what was sent (ping count x size, datagram sizes, the scapy frames) and,
# for TCP, whose segmentation is the kernel's, from a capture of A's veth
# (TSO/GSO off, so the capture sees wire packets); TCP flags, class of
# service, TTLs, IP lengths, flow label and the first and last packet times
# from that capture too.
#
# The collectors run as users run them: nfcapd with its default socket
# buffer (no -B), nfacctd with no buffer settings, in the foreground so
# that their log lines land in files here; nfacctd's sequence checks are on
# (nfacctd_disable_checks: false), which only adds log lines.
#
# Asserted, per agent:
#   ipfixDump (file): every flow above with the key it was sent with
#     (initiator as source), packets and octets per direction, TCP flags,
#     class of service, min/max TTL and IP length, flow label,
#     ingress/egress interface, vlanId/postVlanId and flowDirection per
#     direction, end reason (idle 1, active 2 then idle, end of TCP 3,
#     forced 4), biflowDirection, first/last times within 1 s of the
#     capture; the packets of all records equal the agent's own count and
#     the records its record count; flows and their templates in the
#     configured observation domain, options records and their templates in
#     domain 0; sequence numbers per RFC 7011 in each domain (options records
#     count); options records of the four kinds, the interface table naming
#     the veth in a fixed 16-octet interfaceDescription, nothing lost or not
#     sent, and the metering statistics counting the records and messages
#     sent before; nothing on ipfixDump's stderr, no complaint in its output.
#   tshark, nfdump, nfacctd: the same flows against the same ground truth,
#     and the whole record set of the reference decode, record for record
#     and field for field, as far as each collector keeps fields:
#       tshark   everything, reverse fields, TTLs, lengths and flow labels
#                included; no malformed data, no expert info of any level,
#                no data set without its template, RFC 7011 sequence numbers
#                per domain on both UDP streams.
#       nfdump   forward fields, reverse packets and octets (nfdump 1.7 maps
#                the other reverse elements onto forward ones; bpfix puts
#                reverse fields first so the forward ones win), non-IP flows
#                by MAC address; no dot1qCustomerVlanId, no EtherType; an IP
#                flow's ipClassOfService shows as "dst tos"; the interface
#                table's name beside every input/output that is the veth.
#       nfacctd  forward fields only (it ignores RFC 5103 reverse elements),
#                no end reason, no biflowDirection, no ICMP type, no non-IP
#                flows; it reads the first octet of the 2-octet
#                tcpControlBits (RFC 7125: that octet holds the header length
#                and reserved bits, so 0).
#   nfcapd's log (stderr): no line but its known informational ones; 0
#     sequence errors, 0 bad packets, two exporters (the flows' domain and
#     domain 0). It has no TCP listener (TCP is in test_ipfix_transport.sh).
#   nfacctd's log: no line but its known informational ones: no warning, no
#     error, no "expecting flow" sequence complaint.
#
#   env BUILD=build sh tests/ns/test_ipfix_interop.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and files up (see lib.sh)
#   BPFIX_TEST_DUMP=1      print every decoded record of the reference
#   BPFIX_TEST_SAVE=DIR    copy captures, decodes and logs to DIR
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
HELPER=$(dirname "$0")/ipfix_interop.py

NF_PORT=4739		# nfcapd, and what tshark knows as IPFIX
PM_PORT=2100		# nfacctd
ODID_A=4242 ODID_B=4343
# The active timeout is longer than idle timeout plus the length of the
# short flows, so those end idle, not active.
IDLE=1 ACTIVE=3 SWEEP_MS=100 REFRESH=3
ECHO_PORT=7 TCP_PORT=8080 SINK_PORT=9
PING_N=4 PING_SIZE=100 PING6_N=3 PING6_SIZE=200
ACTIVE_N=9 ACTIVE_SIZE=64		# one every 0.5 s: 4 s > --active-timeout
FORCED_N=2 FORCED_SIZE=300
TCP_UP=3000 TCP_DOWN=2000

# python3: Debian's, which has scapy, for this script and lib.sh's helpers
# (a pyenv shim costs a second per start on a busy machine).
PYTHON3=${PYTHON3:-$(command -v /usr/bin/python3 || command -v python3)}
if [ -n "$PYTHON3" ]; then
	mkdir -p "$TEST_TMP/bin" && ln -sf "$PYTHON3" "$TEST_TMP/bin/python3" &&
		PATH=$TEST_TMP/bin:$PATH
fi

need_root
need_cmds ip nsenter python3 ping timeout ethtool tshark ipfixDump
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
python3 -c 'import scapy.all' 2>/dev/null || skip "$PYTHON3 has no scapy (python3-scapy)"
have() { command -v "$1" >/dev/null 2>&1; }
export TZ=UTC
TMP=$TEST_TMP
# BPFIX_TEST_SAVE=DIR: keep the captures, decodes and logs there.
[ -n "${BPFIX_TEST_SAVE:-}" ] &&
	defer "mkdir -p '$BPFIX_TEST_SAVE' && cp -r '$TMP'/. '$BPFIX_TEST_SAVE'/"
T0=$(date +%s%3N)
elapsed() { echo "$(( ($(date +%s%3N) - T0) / 1000 )) s"; }

# ---- topology and collectors ---------------------------------------------------

interop_pair ix 78 1


# nfcapd and nfacctd are optional (their checks are skipped, with a note);
# ipfixDump and tshark are not.
HAVE_NFCAPD=$(have nfcapd && have nfdump && echo 1)
HAVE_NFACCTD=$(have nfacctd && echo 1)
COLLECTOR_PIDS=""
# nfacctd ignores SIGTERM (lib.sh's cleanup signal): on an early exit its
# processes are killed outright; stopped in order, they get SIGINT.
NFACCTD_LIVE=" "
# shellcheck disable=SC2016 # expanded at cleanup
defer 'for _p in $NFACCTD_LIVE; do kill -KILL "$_p"; done'

# collectors TAG NS: a capture of NS's lo (dumpcap: tshark without its
# dissectors, quick to start), nfcapd and nfacctd, all in NS.
collectors() {
	_c_tag=$1 _c_ns=$2
	bg "$_c_ns" dumpcap -q -i lo -f "udp port $NF_PORT or udp port $PM_PORT" \
		-w "$TMP/$_c_tag-lo.pcap" >"$TMP/$_c_tag-dumpcap.log" 2>&1
	COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
	if [ -n "$HAVE_NFCAPD" ]; then
		mkdir -p "$TMP/$_c_tag-nfcapd"
		bg "$_c_ns" nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$TMP/$_c_tag-nfcapd" \
			>"$TMP/$_c_tag-nfcapd.log" 2>&1
		COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
	fi
	if [ -n "$HAVE_NFACCTD" ]; then
		# checks on: its sequence-number complaints are asserted
		cat >"$TMP/$_c_tag-nfacctd.conf" <<-EOF
		daemonize: false
		nfacctd_ip: 127.0.0.1
		nfacctd_port: $PM_PORT
		nfacctd_disable_checks: false
		timestamps_secs: false
		timestamps_utc: true
		plugins: print[p]
		print_output[p]: csv
		print_output_file[p]: $TMP/$_c_tag-pmacct.csv
		print_output_file_append[p]: true
		print_refresh_time[p]: 1
		aggregate[p]: src_host, dst_host, src_port, dst_port, proto, tos, vlan, tcpflags, in_iface, out_iface, timestamp_start, timestamp_end, etype
		EOF
		bg "$_c_ns" nfacctd -f "$TMP/$_c_tag-nfacctd.conf" >"$TMP/$_c_tag-nfacctd.log" 2>&1
		COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
		NFACCTD_LIVE="$NFACCTD_LIVE$! "
	fi
}

# collectors_ready TAG: each says it listens (or captures).
collectors_ready() {
	wait_for "$TMP/$1-dumpcap.log" "Capturing on" "dumpcap on lo ($1)"
	[ -n "$HAVE_NFCAPD" ] && wait_for "$TMP/$1-nfcapd.log" "Startup" "nfcapd ($1)"
	[ -n "$HAVE_NFACCTD" ] && wait_for "$TMP/$1-nfacctd.log" "waiting for NetFlow" "nfacctd ($1)"
	return 0
}

info "collectors, captures and frames ($(elapsed))"
collectors A "$NS_A"
collectors B "$NS_B"
bg "$NS_A" dumpcap -q -i "$IF_A" -w "$TMP/wire.pcap" >"$TMP/wire-dumpcap.log" 2>&1
COLLECTOR_PIDS="$COLLECTOR_PIDS $!"
TRUTH=$TMP/truth
: >"$TRUTH"
python3 "$HELPER" frames "$MAC_B" "$MAC_A" "$IP4_B" "$IP4_A" "$IP6_B" "$IP6_A" \
	"$TMP/frames.hex" "$TRUTH" &
FRAMES_PID=$!
bg_track "$FRAMES_PID"
collectors_ready A
collectors_ready B
wait_for "$TMP/wire-dumpcap.log" "Capturing on" "dumpcap on $IF_A"
stop "$FRAMES_PID" - 20 || fail "scapy could not build the frames"

# ---- the agents -----------------------------------------------------------------

# agent TAG NS IF ODID ARGS...: bpfix exporting to TAG's collectors.
# Sets AGENT_PID.
agent() {
	_ag_tag=$1 _ag_ns=$2 _ag_if=$3 _ag_odid=$4
	shift 4
	defer "rm -rf '$BPFFS/bpfix-$$-$_ag_tag'"
	bg "$_ag_ns" "$BPFIX" -i "$_ag_if" --pin-path "$BPFFS/bpfix-$$-$_ag_tag" -v \
		--sweep-interval "$SWEEP_MS" --idle-timeout "$IDLE" --active-timeout "$ACTIVE" \
		--template-refresh "$REFRESH" --observation-domain "$_ag_odid" "$@" \
		-c "udp://127.0.0.1:$NF_PORT" -c "udp://127.0.0.1:$PM_PORT" \
		-c "file:$TMP/$_ag_tag.ipfix" >"$TMP/$_ag_tag-bpfix.out" 2>"$TMP/$_ag_tag-bpfix.err"
	AGENT_PID=$!
}
agent A "$NS_A" "$IF_A" "$ODID_A"
A_AGENT=$AGENT_PID
agent B "$NS_B" "$IF_B" "$ODID_B" --uniflow
B_AGENT=$AGENT_PID
wait_for "$TMP/A-bpfix.err" "^bpfix: metering" "bpfix A" "$A_AGENT"
wait_for "$TMP/B-bpfix.err" "^bpfix: metering" "bpfix B" "$B_AGENT"
for _e in "$NS_A $IF_A" "$NS_B $IF_B"; do
	# shellcheck disable=SC2086 # two words
	set -- $_e
	[ "$(bpfix_tc "$1" "$2")" = 2 ] ||
		fail "bpfix's programs not on $2's tc hooks although it says it meters"
done

# ---- traffic ----------------------------------------------------------------------

# expect NAME KEY=VALUE...: one flow the agents must export (see the
# helper's expectations()); pkts/octs forward (from B), rpkts/rocts back.
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

ping_ok() {
	_po_n=$1
	shift
	_po=$(nsx_timeout 15 "$NS_B" ping -n -q -c "$_po_n" -i 0.1 -W 2 "$@" 2>&1)
	check_eq "ping $*: replies" "$(printf '%s\n' "$_po" | sed -n 's/.* \([0-9]*\) received.*/\1/p')" \
		"$_po_n"
}
ping_ok "$PING_N" -s "$PING_SIZE" -Q 0x20 "$IP4_A"
expect icmp4 ipv=4 proto=1 src="$IP4_B" dst="$IP4_A" icmp=$((8 << 8)) \
	pkts=$PING_N octs=$((PING_N * (PING_SIZE + 28))) rpkts=$PING_N \
	rocts=$((PING_N * (PING_SIZE + 28))) reason=1
ping_ok "$PING6_N" -s "$PING6_SIZE" -Q 0x48 -F 0x12345 "$IP6_A"
expect icmp6 ipv=6 proto=58 src="$IP6_B" dst="$IP6_A" icmp=$((128 << 8)) \
	pkts=$PING6_N octs=$((PING6_N * (PING6_SIZE + 48))) rpkts=$PING6_N \
	rocts=$((PING6_N * (PING6_SIZE + 48))) reason=1

udp_echo_start "$NS_A" "$IP4_A" "$ECHO_PORT" 3
check "UDP over IPv4 echoed" udp_send "$NS_B" "$IP4_A" "$ECHO_PORT" 40001 100 200 300
udp_echo_wait
expect udp4 ipv=4 proto=17 src="$IP4_B" dst="$IP4_A" sport=40001 dport=$ECHO_PORT \
	pkts=3 octs=$((600 + 3 * 28)) rpkts=3 rocts=$((600 + 3 * 28)) reason=1
udp_echo_start "$NS_A" "$IP6_A" "$ECHO_PORT" 2
check "UDP over IPv6 echoed" udp_send "$NS_B" "$IP6_A" "$ECHO_PORT" 40002 50 1000
udp_echo_wait
expect udp6 ipv=6 proto=17 src="$IP6_B" dst="$IP6_A" sport=40002 dport=$ECHO_PORT \
	pkts=2 octs=$((1050 + 2 * 48)) rpkts=2 rocts=$((1050 + 2 * 48)) reason=1

wait_file "$TMP/tcp.ready" "the TCP server" "$TCPS_PID"
check "TCP over IPv4: $TCP_UP octets up, $TCP_DOWN down" \
	nsx_timeout 15 "$NS_B" python3 "$HELPER" tcp-client "$IP4_A" "$TCP_PORT" 40100 "$TCP_UP" "$TCP_DOWN"
check "TCP over IPv6: $TCP_UP octets up, $TCP_DOWN down" \
	nsx_timeout 15 "$NS_B" python3 "$HELPER" tcp-client "$IP6_A" "$TCP_PORT" 40101 "$TCP_UP" "$TCP_DOWN"
stop "$TCPS_PID" - 5
check_eq "TCP server" "$(cat "$TMP/tcp.report" 2>/dev/null)" "received=$TCP_UP received=$TCP_UP"
for _t in "4 $IP4_B $IP4_A 40100" "6 $IP6_B $IP6_A 40101"; do
	# shellcheck disable=SC2086 # four words
	set -- $_t
	expect "tcp$1" ipv="$1" proto=6 src="$2" dst="$3" sport="$4" dport=$TCP_PORT \
		pkts=capture octs=capture rpkts=capture rocts=capture reason=3
done

wait_file "$TMP/sink.ready" "the UDP sink" "$SINK_PID"
check_eq "scapy frames sent on $IF_B" \
	"$(nsx_timeout 10 "$NS_B" python3 "$HELPER" send "$IF_B" "$TMP/frames.hex")" \
	"$(wc -l <"$TMP/frames.hex")"

stop "$ACTIVE_PID" - 10
check_eq "ping to $A4_2 (the active-timeout flow): replies" \
	"$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping-active.out")" "$ACTIVE_N"
expect active4 ipv=4 proto=1 src="$IP4_B" dst="$A4_2" icmp=$((8 << 8)) \
	pkts=$ACTIVE_N octs=$((ACTIVE_N * (ACTIVE_SIZE + 28))) rpkts=$ACTIVE_N \
	rocts=$((ACTIVE_N * (ACTIVE_SIZE + 28))) reason=1 split=1
stop "$SINK_PID" TERM 5
check_eq "UDP sink on port $SINK_PORT: the reassembled datagrams" "$(cat "$TMP/sink.report")" \
	"datagrams=2 octets=6000"

# Idle timeout, the TCP end grace (2 s) and a sweep: every flow so far
# is exported before the last one starts.
sleep $((IDLE + 1))
info "forced end ($(elapsed))"
ping_ok "$FORCED_N" -s "$FORCED_SIZE" "$A6_2"
expect forced6 ipv=6 proto=58 src="$IP6_B" dst="$A6_2" icmp=$((128 << 8)) \
	pkts=$FORCED_N octs=$((FORCED_N * (FORCED_SIZE + 48))) rpkts=$FORCED_N \
	rocts=$((FORCED_N * (FORCED_SIZE + 48))) reason=4
kill -TERM "$A_AGENT" "$B_AGENT"
for _a in "A $A_AGENT" "B $B_AGENT"; do
	# shellcheck disable=SC2086 # two words
	set -- $_a
	_a=$1
	stop "$2" - 10
	check_eq "bpfix $_a: exit status" "$?" 0
	check_eq "bpfix $_a: stderr lines besides -v's" \
		"$(stderr_other "$TMP/$_a-bpfix.err")" 0
	tail -n 1 "$TMP/$_a-bpfix.err" | sed 's/^/  /'
done
sleep 1.5			# nfacctd's print plugin writes every second
for _p in $COLLECTOR_PIDS; do
	stop "$_p" INT 5
	NFACCTD_LIVE=$(printf '%s' "$NFACCTD_LIVE" | sed "s/ $_p / /")
done

# ---- decode and judge ---------------------------------------------------------------

info "decoding ($(elapsed))"
# decode TAG: TAG's file (ipfixDump), lo capture (tshark) and nfcapd
# files (nfdump); exit statuses in TAG.rc. Both agents' at once.
decode() {
	ipfixDump --in "$TMP/$1.ipfix" >"$TMP/$1.dump" 2>"$TMP/$1.dump.err"
	_d_rc="ipfixDump=$?"
	tshark -r "$TMP/$1-lo.pcap" -d "udp.port==$NF_PORT,cflow" -d "udp.port==$PM_PORT,cflow" \
		-V >"$TMP/$1-tshark.txt" 2>&1
	_d_rc="$_d_rc tshark=$?"
	if [ -n "$HAVE_NFCAPD" ]; then
		nfdump -R "$TMP/$1-nfcapd" -o raw >"$TMP/$1-nfdump.txt" 2>&1
		_d_rc="$_d_rc nfdump=$?"
	fi
	echo "$_d_rc" >"$TMP/$1.rc"
}
decode A &
_dec_a=$!
bg_track "$_dec_a"
decode B &
_dec_b=$!
bg_track "$_dec_b"
python3 "$HELPER" capture-read "$TMP/wire.pcap" "$TMP/wire.txt" ||
	fail "tshark cannot read the capture of $IF_A"
for _p in $_dec_a $_dec_b; do
	wait "$_p"
	bg_untrack "$_p"
done
for _a in A B; do
	check_eq "decoders' exit status, agent $_a" "$(cat "$TMP/$_a.rc")" \
		"ipfixDump=0 tshark=0${HAVE_NFCAPD:+ nfdump=0}"
done

judge() {
	_j_tag=$1 _j_ifx=$2 _j_if=$3 _j_odid=$4
	shift 4
	python3 "$HELPER" check-mixed --tag "$_j_tag" --ifindex "$_j_ifx" --ifname "$_j_if" \
		--odid "$_j_odid" --truth "$TRUTH" --capture "$TMP/wire.txt" \
		--ipfixdump "$TMP/$_j_tag.dump" --ipfixdump-err "$TMP/$_j_tag.dump.err" \
		--tshark "$TMP/$_j_tag-tshark.txt" \
		--tshark-ports "$NF_PORT,$PM_PORT" \
		${HAVE_NFCAPD:+--nfdump "$TMP/$_j_tag-nfdump.txt" --nfcapd-log "$TMP/$_j_tag-nfcapd.log"} \
		${HAVE_NFACCTD:+--nfacctd "$TMP/$_j_tag-pmacct.csv" --nfacctd-log "$TMP/$_j_tag-nfacctd.log"} \
		--exit-line "$(grep '^bpfix exit: ' "$TMP/$_j_tag-bpfix.err")" "$@"
	_j_rc=$?
	[ "$_j_rc" -ge 100 ] && _j_rc=1
	_fails=$((_fails + _j_rc))
}
info "agent A: biflows on $IF_A"
judge A "$IFX_A" "$IF_A" "$ODID_A" --tx-side r
info "agent B: uniflows on $IF_B"
judge B "$IFX_B" "$IF_B" "$ODID_B" --tx-side f --uniflow
info "done ($(elapsed))"
test_done
