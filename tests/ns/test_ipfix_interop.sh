#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bpfix's IPFIX read by collectors nobody here wrote. bpfix meters one veth
# end in a namespace of this test's own and exports, all at once, to
#   - nfcapd (nfdump) over UDP            -> nfdump prints the flows
#   - a TCP sink that stores the stream   -> ipfixDump (libfixbuf) decodes it
#   - nfacctd (pmacct) over UDP           -> its print plugin's CSV
#   - a file                              -> ipfixDump decodes it
# while tshark captures the UDP and TCP streams on lo and decodes both.
# From the other namespace go 4 pings, 3 UDP datagrams over IPv4 and 2 over
# IPv6, each echoed. Every decoder must show each conversation as one biflow
# (initiator as source) with the packets and octets that were sent, forward
# and reverse (nfacctd: forward only, it ignores RFC 5103 reverse elements),
# and the options records (interface table, statistics) must decode too.
#
#   env BUILD=build sh tests/ns/test_ipfix_interop.sh
#   BPFIX_TEST_KEEP=1 leaves the namespaces and files up (see lib.sh)
#
# Known collector limits this test tolerates, each checked to stay as known:
#   nfcapd 1.7.1 has no TCP listener (hence the sink); it counts only flow
#   records in sequence numbers, where RFC 7011 counts options records too,
#   so it reports sequence failures; and its interface-name option reader
#   cannot take variable-length strings ("Process_ifvrf_option: ... size
#   error"), which it logs and skips.
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=4739		# IPFIX: nfcapd (UDP) and the sink (TCP), as tshark expects
PMACCT_PORT=2100
UDP_PORT=5001
ODID=4242

need_root
need_cmds ip nsenter python3 ping timeout awk
need_bpffs
BPFIX=$BUILD/bpfix
need_file "$BPFIX" "run make $BPFIX"
"$BPFIX" -h 2>/dev/null | grep -q -- '-c URI' || skip "$BPFIX has no -c"
have() { command -v "$1" >/dev/null 2>&1; }
TMP=$TEST_TMP

# ---- parse each tool's output into one line per flow -----------------------
#   "PROTO SRC DST SPORT DPORT PACKETS OCTETS RPACKETS ROCTETS"
# addresses in canonical text, ICMP type/code in DPORT as type * 256 + code,
# "-" for what the tool does not give.
_norm_py='
import ipaddress, re, sys

def addr(s):
    try:
        return str(ipaddress.ip_address(s.strip()))
    except ValueError:
        return s.strip()

def out(r):
    print(" ".join(str(r.get(k, "-")) for k in
                   ("proto", "src", "dst", "sport", "dport", "pkts", "octs", "rpkts", "rocts")))

def ipfixdump(lines):
    names = {"sourceIPv4Address": "src", "sourceIPv6Address": "src",
             "destinationIPv4Address": "dst", "destinationIPv6Address": "dst",
             "sourceTransportPort": "sport", "destinationTransportPort": "dport",
             "protocolIdentifier": "proto", "packetDeltaCount": "pkts",
             "octetDeltaCount": "octs", "reversePacketDeltaCount": "rpkts",
             "reverseOctetDeltaCount": "rocts", "icmpTypeCodeIPv4": "icmp",
             "icmpTypeCodeIPv6": "icmp"}
    r = None
    for line in lines:
        if line.startswith("--- "):
            if r and "src" in r:
                emit(r)
            r = {} if "data record" in line else None
            continue
        m = re.match(r"\s*\([0-9/]+\)\s+(?:\(S\)\s+)?(\w+) : (.*)$", line)
        if r is not None and m and m.group(1) in names:
            r[names[m.group(1)]] = m.group(2).strip()
    if r and "src" in r:
        emit(r)

def emit(r):
    r["src"], r["dst"] = addr(r["src"]), addr(r["dst"])
    if r.get("proto") in ("1", "58"):
        r["dport"] = r.get("icmp", r.get("dport"))
    out(r)

def tshark(lines):
    keys = {"SrcAddr": "src", "DstAddr": "dst", "SrcPort": "sport", "DstPort": "dport",
            "Protocol": "proto", "Packets": "pkts", "Octets": "octs", "ICMP Type": "icmp"}
    r = None
    for line in lines:
        s = line.strip()
        if re.match(r"Flow \d+$", s) or s.startswith("FlowSet Id") or s.startswith("Cisco NetFlow"):
            if r and "src" in r:
                emit(r)
            r = {} if s.startswith("Flow ") else None
            continue
        m = re.match(r"([A-Za-z ]+): (\S+)(.*)$", s)
        if r is None or not m or m.group(1) not in keys:
            continue
        k, v = keys[m.group(1)], m.group(2)
        if k == "proto":
            v = re.search(r"\((\d+)\)", m.group(3)).group(1)
        elif k == "icmp":
            v = str(int(v, 16))
        if "(Reverse" in m.group(3):
            if k in ("pkts", "octs"):
                r["r" + k] = v
            continue
        r[k] = v
    if r and "src" in r:
        emit(r)

def nfdump(lines):
    for line in lines:
        f = [x.strip() for x in line.split(";")]
        if len(f) != 9 or not f[5].isdigit():
            continue
        proto = {"ICMP": "1", "ICMP6": "58", "TCP": "6", "UDP": "17"}.get(f[0], f[0])
        dport = f[4]
        if "." in dport:
            t, c = dport.split(".")
            dport = str(int(t) * 256 + int(c))
        out({"proto": proto, "src": addr(f[1]), "dst": addr(f[2]), "sport": f[3],
             "dport": dport, "pkts": f[5], "octs": f[6], "rpkts": f[7], "rocts": f[8]})

def pmacct(lines):
    head = None
    for line in lines:
        f = line.strip().split(",")
        if head is None:
            head = f
            continue
        r = dict(zip(head, f))
        if "SRC_IP" not in r:
            continue
        proto = {"icmp": "1", "ipv6-icmp": "58", "tcp": "6", "udp": "17"}.get(r["PROTOCOL"],
                                                                           r["PROTOCOL"])
        out({"proto": proto, "src": addr(r["SRC_IP"]), "dst": addr(r["DST_IP"]),
             "sport": r["SRC_PORT"], "dport": r["DST_PORT"], "pkts": r["PACKETS"],
             "octs": r["BYTES"]})

{"ipfixdump": ipfixdump, "tshark": tshark, "nfdump": nfdump,
 "pmacct": pmacct}[sys.argv[1]](sys.stdin.read().splitlines())
'
norm() {
	python3 -c "$_norm_py" "$1"
}

# mirror LINE: the same conversation seen from the other end (for "-"
# reverse counters the forward ones stay: the echo traffic is symmetric).
mirror() {
	printf '%s\n' "$1" | awk '{ if ($8 == "-") print $1, $3, $2, $5, $4, $6, $7, $8, $9;
				   else print $1, $3, $2, $5, $4, $8, $9, $6, $7 }'
}

# has_flow WHAT FILE LINE: the normalized FILE holds LINE exactly once. Which
# end is the source is the agent's choice (its direction heuristic, tested
# with the agent); a record whose source is the responder is accepted here
# with a note, as what this test checks is the IPFIX encoding.
has_flow() {
	if [ "$(grep -c -F -x -- "$3" "$2")" = 1 ]; then
		printf '  ok   %s: %s\n' "$1" "$3"
		return 0
	fi
	_hf_m=$(mirror "$3")
	if [ "$(grep -c -F -x -- "$_hf_m" "$2")" = 1 ]; then
		printf '  ok   %s: %s (note: exported with the responder as source)\n' "$1" "$_hf_m"
		case $MIRRORED in
		*"[$3]"*) ;;
		*) MIRRORED="$MIRRORED [$3]" ;;
		esac
		return 0
	fi
	printf '  FAIL %s: %s not found once; it has:\n' "$1" "$3"
	sed 's/^/         /' "$2"
	_fails=$((_fails + 1))
}
MIRRORED=""

# ---- topology, collectors, bpfix ------------------------------------------

topo_pair ix 78 1
PIN=$BPFFS/bpfix-$$-ix
defer "rm -rf '$PIN'"

# bg NS COMMAND...: COMMAND in the background in NS; $! is COMMAND itself
# (nsenter execs it), so it can be signalled and waited for. (nsx in the
# background would leave $! naming a subshell.)
bg() {
	_bg_ns=$1
	shift
	nsenter --net="$NETNS_DIR/$_bg_ns" "$@" &
}

# wait_for FILE PATTERN WHAT: up to 10 s for PATTERN to appear in FILE.
wait_for() {
	for _wf in $(seq 100); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$1" >&2 2>/dev/null
	fail "$3 did not start"
}

if have tshark; then
	bg "$NS_A" tshark -i lo -f "port $PORT" -w "$TMP/lo.pcap" >"$TMP/tshark.log" 2>&1
	TSHARK_PID=$!
	bg_track "$TSHARK_PID"
	wait_for "$TMP/tshark.log" "Capturing on" tshark
fi
if have nfcapd; then
	mkdir -p "$TMP/nfcapd"
	bg "$NS_A" nfcapd -b 127.0.0.1 -p "$PORT" -w "$TMP/nfcapd" >"$TMP/nfcapd.log" 2>&1
	NFCAPD_PID=$!
	bg_track "$NFCAPD_PID"
	wait_for "$TMP/nfcapd.log" "Startup" nfcapd
fi
if have nfacctd; then
	cat >"$TMP/nfacctd.conf" <<-EOF
	daemonize: false
	nfacctd_ip: 127.0.0.1
	nfacctd_port: $PMACCT_PORT
	plugins: print[p]
	print_output[p]: csv
	print_output_file[p]: $TMP/pmacct.csv
	print_refresh_time[p]: 1
	aggregate[p]: src_host, dst_host, src_port, dst_port, proto
	EOF
	bg "$NS_A" nfacctd -f "$TMP/nfacctd.conf" >"$TMP/nfacctd.log" 2>&1
	NFACCTD_PID=$!
	bg_track "$NFACCTD_PID"
	wait_for "$TMP/nfacctd.log" "waiting for NetFlow" nfacctd
fi
# TCP collector: stores the byte stream, which is a valid IPFIX file.
bg "$NS_A" python3 -c '
import socket, sys
port, out, ready = sys.argv[1:4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(port)))
s.listen(1)
open(ready, "w").close()
s.settimeout(60)
c, _ = s.accept()
with open(out, "wb") as f:
    while True:
        d = c.recv(65536)
        if not d:
            break
        f.write(d)
' "$PORT" "$TMP/tcp.ipfix" "$TMP/sink.ready"
SINK_PID=$!
bg_track "$SINK_PID"
for _i in $(seq 100); do
	[ -e "$TMP/sink.ready" ] && break
	sleep 0.1
done
[ -e "$TMP/sink.ready" ] || fail "the TCP sink did not start"

bg "$NS_A" "$BPFIX" -i "$IF_A" --pin-path "$PIN" -v --sweep-interval 100 \
	--observation-domain "$ODID" \
	-c "udp://127.0.0.1:$PORT" -c "tcp://127.0.0.1:$PORT" \
	-c "udp://127.0.0.1:$PMACCT_PORT" -c "file:$TMP/file.ipfix" \
	>"$TMP/bpfix.out" 2>"$TMP/bpfix.err"
BPFIX_PID=$!
bg_track "$BPFIX_PID"
for _i in $(seq 150); do
	grep -q "metering" "$TMP/bpfix.err" && break
	kill -0 "$BPFIX_PID" 2>/dev/null || { cat "$TMP/bpfix.err" >&2; fail "bpfix exited"; }
	sleep 0.1
done
grep -q "metering" "$TMP/bpfix.err" || fail "bpfix did not start metering in 15 s"

# ---- traffic ---------------------------------------------------------------

info "traffic from $NS_B to $NS_A"
_ping=$(nsx_timeout 15 "$NS_B" ping -n -q -c 4 -i 0.1 -W 2 "$IP4_A" 2>&1)
check_eq "ping replies" "$(printf '%s\n' "$_ping" | sed -n 's/.* \([0-9]*\) received.*/\1/p')" 4
udp_echo_start "$NS_A" "$IP4_A" "$UDP_PORT" 3
check "UDP over IPv4 echoed" udp_send "$NS_B" "$IP4_A" "$UDP_PORT" 40001 100 200 300
udp_echo_wait
udp_echo_start "$NS_A" "$IP6_A" "$UDP_PORT" 2
check "UDP over IPv6 echoed" udp_send "$NS_B" "$IP6_A" "$UDP_PORT" 40002 50 1000
udp_echo_wait
sleep 0.5

# stop PID SIGNAL SECONDS: signal PID (unless SIGNAL is "-") and wait up to
# SECONDS for it to exit; then it is killed. Returns its exit status.
stop() {
	[ "$2" = - ] || kill "-$2" "$1" 2>/dev/null
	for _st in $(seq $(($3 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && { info "pid $1 still running: killed"; kill -KILL "$1"; }
	wait "$1"
	_st=$?
	bg_untrack "$1"
	return "$_st"
}

# Shutdown ends every flow (forced end) and sends the last options records.
stop "$BPFIX_PID" TERM 10
check_eq "bpfix exit status" "$?" 0
tail -n 1 "$TMP/bpfix.err" | sed 's/^/  /'
stop "$SINK_PID" - 5		# the TCP connection's end ends it
sleep 2				# nfacctd's print plugin writes every second
for _p in ${TSHARK_PID:-} ${NFCAPD_PID:-} ${NFACCTD_PID:-}; do
	stop "$_p" INT 5
done

# ---- what every decoder must show ----------------------------------------

# IP total lengths: ping 56 + 8 + 20; UDP payload + 8 + 20 (IPv4) or 40.
ICMP="1 $IP4_B $IP4_A 0 2048 4 336"
UDP4="17 $IP4_B $IP4_A 40001 $UDP_PORT 3 $((128 + 228 + 328))"
UDP6="17 $IP6_B $IP6_A 40002 $UDP_PORT 2 $((98 + 1048))"

expect_biflows() {
	has_flow "$1" "$2" "$ICMP 4 336"
	has_flow "$1" "$2" "$UDP4 3 $((128 + 228 + 328))"
	has_flow "$1" "$2" "$UDP6 2 $((98 + 1048))"
}

# A decoder's complaints: lines matching $2, one check.
no_complaints() {
	_nc=$(grep -i -E -- "$2" "$3" | grep -v -E -- "${4:-^$}")
	if [ -z "$_nc" ]; then
		printf '  ok   %s: no errors or warnings\n' "$1"
		return 0
	fi
	printf '  FAIL %s:\n%s\n' "$1" "$(printf '%s\n' "$_nc" | head -5 | sed 's/^/         /')"
	_fails=$((_fails + 1))
}

if have ipfixDump; then
	for _src in file tcp; do
		info "ipfixDump, $_src"
		ipfixDump --in "$TMP/$_src.ipfix" >"$TMP/$_src.dump" 2>&1
		check_eq "ipfixDump $_src: exit status" "$?" 0
		norm ipfixdump <"$TMP/$_src.dump" >"$TMP/$_src.flows"
		expect_biflows "ipfixDump $_src" "$TMP/$_src.flows"
		no_complaints "ipfixDump $_src" "error|warn|invalid|malformed" "$TMP/$_src.dump"
		check "ipfixDump $_src: observation domain $ODID" \
			grep -q "observation domain id: $ODID" "$TMP/$_src.dump"
		check "ipfixDump $_src: interface table names $IF_A" \
			grep -q "interfaceName : (len: ${#IF_A}) $IF_A" "$TMP/$_src.dump"
		check "ipfixDump $_src: metering statistics" \
			grep -q "observedFlowTotalCount : [1-9]" "$TMP/$_src.dump"
		check "ipfixDump $_src: nothing lost on the way" \
			grep -q "notSentFlowTotalCount : 0" "$TMP/$_src.dump"
		check "ipfixDump $_src: end reason forced" \
			grep -q "flowEndReason : 4" "$TMP/$_src.dump"
		check "ipfixDump $_src: ARP as an L2 flow" \
			grep -q "ethernetType : 2054" "$TMP/$_src.dump"
	done
else
	info "ipfixDump not installed: file and TCP stream not decoded"
fi

if have nfcapd; then
	info "nfcapd (UDP) -> nfdump"
	nfdump -R "$TMP/nfcapd" -q -N -o "fmt:%pr;%sa;%da;%sp;%dp;%pkt;%byt;%opkt;%obyt" \
		>"$TMP/nfdump.txt" 2>&1
	check_eq "nfdump: exit status" "$?" 0
	norm nfdump <"$TMP/nfdump.txt" >"$TMP/nfdump.flows"
	expect_biflows "nfdump" "$TMP/nfdump.flows"
	# the two known complaints (see the top of this file), nothing else
	no_complaints "nfcapd" "error|fail|invalid" "$TMP/nfcapd.log" \
		"Process_ifvrf_option: nbar option size error|Sequence Errors"
fi

if have tshark; then
	for _t in udp tcp; do
		info "tshark, IPFIX over $_t"
		tshark -r "$TMP/lo.pcap" -Y "$_t && cflow" -V >"$TMP/tshark-$_t.txt" 2>&1
		norm tshark <"$TMP/tshark-$_t.txt" >"$TMP/tshark-$_t.flows"
		expect_biflows "tshark $_t" "$TMP/tshark-$_t.flows"
		no_complaints "tshark $_t" "Malformed|Expert Info \((Warning|Error)" \
			"$TMP/tshark-$_t.txt"
		check "tshark $_t: interface table" grep -q "IfName: $IF_A" "$TMP/tshark-$_t.txt"
	done
fi

if have nfacctd; then
	info "nfacctd (UDP) -> CSV"
	norm pmacct <"$TMP/pmacct.csv" >"$TMP/pmacct.flows"
	# pmacct keeps no reverse elements and no ICMP type in the port
	has_flow "nfacctd" "$TMP/pmacct.flows" "1 $IP4_B $IP4_A 0 0 4 336 - -"
	has_flow "nfacctd" "$TMP/pmacct.flows" "$UDP4 - -"
	has_flow "nfacctd" "$TMP/pmacct.flows" "$UDP6 - -"
	no_complaints "nfacctd" "^(error|warn)" "$TMP/nfacctd.log"
fi

[ -n "$MIRRORED" ] &&
	info "note: exported with the responder as source:$MIRRORED"
test_done
