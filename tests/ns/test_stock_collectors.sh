#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python programs in single quotes
# Stock collectors (issue 10, part 1): every record reaches nfcapd and
# nfacctd run as users run them, with their default socket buffers (no -B,
# no nfacctd_pipe_size, rmem untouched), however many flows end at once.
#
# A quiet veth pair (lib.sh's quiet_pair) joins namespaces A and B; bpfix
# (defaults but --flows, which must hold the run's flows) meters B's veth
# and exports over UDP to a stock nfcapd and a stock nfacctd in B at once.
# From A, tcpreplay sends a pcap of one-packet UDP flows, each its own
# source address and port and its own length, to a MAC that is not B's (so
# nothing answers). Two bursts:
#   1. idle storm: IDLE_FLOWS flows, then nothing: with --idle-timeout 6
#      they all end in one sweep, mid-run; the test waits until the
#      collectors hold them (or the time the pace needs, doubled, passes);
#   2. shutdown: STOP_FLOWS more flows, then SIGTERM once the kernel has
#      metered them all (well within the idle timeout): they end at once
#      as forced records; the time to
#      exit is printed and must be within --shutdown-timeout.
# Then, per collector, flow by flow against the pcap (the ground truth,
# computed here): each flow stored once, with its packets and octets;
# nothing stored that was not sent; and the agent's -v exit line says
# nothing was lost or left unsent.
#
# Each collector's log is printed; nfcapd's own count of what it received
# is read from it.
#
#   env BUILD=build sh tests/ns/test_stock_collectors.sh
#   IDLE_FLOWS=50000 STOP_FLOWS=100000   the bursts
#   BPFIX_ARGS="--export-rate 40000"     more bpfix arguments (benchmarks)
#   SCHEME=netflow9 (or netflow5)        export NetFlow instead of IPFIX (udp)
#   BPFIX=/path/to/bpfix                 the binary under test
#   BPFIX_TEST_KEEP=1                    leave namespaces up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
IDLE_FLOWS=${IDLE_FLOWS:-50000}
STOP_FLOWS=${STOP_FLOWS:-100000}
BPFIX_ARGS=${BPFIX_ARGS:-}
SCHEME=${SCHEME:-udp}
NF_PORT=4739
PM_PORT=2100
OTHERHOST=02:00:00:00:0c:0c	# the frames' destination: not B's MAC
IDLE=6			# s: longer than sending and settling a burst takes

use_python3
need_root
need_cmds ip nsenter python3 tcpreplay nfcapd nfdump nfacctd
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
ipfix_test_setup

info "net.core.rmem_default $(cat /proc/sys/net/core/rmem_default)," \
	"rmem_max $(cat /proc/sys/net/core/rmem_max): the collectors' buffers"
quiet_pair sc 81 4

# flows.py OUT FIRST N SMAC DMAC DST: N frames, flow FIRST+i each, and the
# ground truth: "src sport dst dport packets octets" per flow on stdout.
_flows_py='
import struct, sys
out, first, n, smac, dmac, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5], sys.argv[6]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
eth = mac(dmac) + mac(smac) + b"\x08\x00"
daddr = bytes(int(x) for x in dst.split("."))

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff

with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(first, first + n):
        src = struct.pack("!I", 0x0a640000 + (i >> 8) * 256 + (i & 0xff))
        sport, dport, payload = 1024 + i % 50000, 9, i % 97
        l4 = struct.pack("!HHHH", sport, dport, 8 + payload, 0) + bytes(payload)
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, 17, 0,
                        src, daddr)
        frame = eth + h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4
        f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame)) + frame)
        print("%s %d %s %d 1 %d" % (".".join(map(str, src)), sport, dst, dport, 20 + len(l4)))
'
DST=10.81.4.99		# a host that is not there: B's stack drops the frames
SMAC=$(mac_of "$NS_A" "$IF_A")
python3 -c "$_flows_py" "$TEST_TMP/idle.pcap" 0 "$IDLE_FLOWS" "$SMAC" "$OTHERHOST" "$DST" \
	>"$TEST_TMP/truth" || fail "cannot build the idle-storm pcap"
python3 -c "$_flows_py" "$TEST_TMP/stop.pcap" "$IDLE_FLOWS" "$STOP_FLOWS" "$SMAC" \
	"$OTHERHOST" "$DST" >>"$TEST_TMP/truth" || fail "cannot build the shutdown pcap"
ALL=$((IDLE_FLOWS + STOP_FLOWS))

# ---- the collectors, as they come ---------------------------------------
mkdir -p "$TMP/nfcapd"
bg "$NS_B" nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$TMP/nfcapd" >"$TMP/nfcapd.log" 2>&1
NFCAPD_PID=$!
cat >"$TMP/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $PM_PORT
plugins: print[p]
print_output[p]: csv
print_output_file[p]: $TMP/pmacct.csv
print_output_file_append[p]: true
print_refresh_time[p]: 1
aggregate[p]: src_host, dst_host, src_port, dst_port, proto
EOF
bg "$NS_B" nfacctd -f "$TMP/nfacctd.conf" >"$TMP/nfacctd.log" 2>&1
NFACCTD_PID=$!
# nfacctd ignores SIGTERM (lib.sh's cleanup signal)
defer "kill -KILL $NFACCTD_PID 2>/dev/null"
wait_for "$TMP/nfcapd.log" "Startup" "nfcapd" "$NFCAPD_PID"
wait_for "$TMP/nfacctd.log" "waiting for NetFlow" "nfacctd" "$NFACCTD_PID"

# stored_pmacct: flow records nfacctd has written so far.
stored_pmacct() {
	_sp=$(grep -c '^[0-9]' "$TMP/pmacct.csv" 2>/dev/null)
	echo "${_sp:-0}"
}

# ---- bpfix ----------------------------------------------------------------
FLOWS=$(( (ALL + 65535) / 65536 * 65536 ))
# shellcheck disable=SC2086 # BPFIX_ARGS is words
agent_start sc "$NS_B" "$IF_B" --flows "$FLOWS" --idle-timeout "$IDLE" --active-timeout 600 \
	-c "$SCHEME://127.0.0.1:$NF_PORT" -c "$SCHEME://127.0.0.1:$PM_PORT" $BPFIX_ARGS
RATE=$(printf '%s\n' "$BPFIX_ARGS" | sed -n 's/.*--export-rate[ =]\([0-9]*\).*/\1/p')
RATE=${RATE:-$("$BPFIX" -h | sed -n 's/.*(default \([0-9]*\): what a stock collector takes).*/\1/p')}
info "bpfix --flows $FLOWS ${BPFIX_ARGS:-(default export settings)}: ${RATE:-?} records/s"
# (an unpaced bpfix says no rate: wait as long as for 20000 a second)
RATE=${RATE:-20000}

# 1. idle storm: all IDLE_FLOWS end in one sweep IDLE s after the last.
if [ "$IDLE_FLOWS" -gt 0 ]; then
	kp0=$(kernel_packets "$AGENT_PIN")
	nsx_timeout 60 "$NS_A" tcpreplay -i "$IF_A" --topspeed --preload-pcap --no-flow-stats \
		"$TEST_TMP/idle.pcap" >"$TEST_TMP/tcpreplay1.out" 2>&1 || fail "tcpreplay failed"
	settle "$AGENT_PIN" "$kp0" echo "$IDLE_FLOWS" ||
		fail "the kernel metered $(($(kernel_packets "$AGENT_PIN") - kp0)) of $IDLE_FLOWS packets"
	_t=$(now_ms)
	_limit=$(( IDLE * 1000 + 30000 + 2 * IDLE_FLOWS * 1000 / RATE ))
	while [ "$(stored_pmacct)" -lt "$IDLE_FLOWS" ] && [ $(($(now_ms) - _t)) -lt "$_limit" ]; do
		sleep 0.5
	done
	info "idle storm: $IDLE_FLOWS flows ended in one sweep; nfacctd holds $(stored_pmacct)" \
		"after $(( ($(now_ms) - _t) / 1000 )) s (the pace needs $((IDLE_FLOWS / RATE)) s)"
	check_eq "idle storm: agent still running" "$(proc_alive "$AGENT_PID" && echo yes)" yes
	check_eq "idle storm: records nfacctd stored mid-run" "$(stored_pmacct)" "$IDLE_FLOWS"
fi

# 2. shutdown: STOP_FLOWS live flows, SIGTERM, each ends as a forced record.
kp0=$(kernel_packets "$AGENT_PIN")
nsx_timeout 60 "$NS_A" tcpreplay -i "$IF_A" --topspeed --preload-pcap --no-flow-stats \
	"$TEST_TMP/stop.pcap" >"$TEST_TMP/tcpreplay2.out" 2>&1 || fail "tcpreplay failed"
settle "$AGENT_PIN" "$kp0" echo "$STOP_FLOWS" ||
	fail "the kernel metered $(($(kernel_packets "$AGENT_PIN") - kp0)) of $STOP_FLOWS packets"
sleep 1.2		# in the agent's table: one sweep at least
_t=$(now_ms)
kill -TERM "$AGENT_PID"
stop "$AGENT_PID" - 40
check_eq "bpfix exit status after SIGTERM" "$?" 0
SHUTDOWN_MS=$(($(now_ms) - _t))
info "shutdown with $STOP_FLOWS flows live: bpfix exited after $SHUTDOWN_MS ms"
check "shutdown within --shutdown-timeout (default 25 s) and a second" \
	[ "$SHUTDOWN_MS" -le 26000 ]
grep '^bpfix exit: ' "$AGENT_ERR" | sed 's/^/  /'
check_eq "bpfix exit line: records not sent" "$(exit_counter not_sent)" 0
check_eq "bpfix exit line: flows lost in the kernel" "$(exit_counter lost_flows)" 0
check_eq "bpfix exit line: records exported (each of two collectors)" \
	"$(exit_counter exported)" "$((2 * ALL))"

# The collectors: what is in their sockets, then their files.
_t=$(now_ms)
while [ "$(stored_pmacct)" -lt "$ALL" ] && [ $(($(now_ms) - _t)) -lt 5000 ]; do
	sleep 0.5
done
sleep 1.5		# nfacctd's print plugin writes every second
stop "$NFACCTD_PID" INT 10
stop "$NFCAPD_PID" TERM 10
nfdump -R "$TMP/nfcapd" -q -N -o csv >"$TMP/nfdump.csv" 2>"$TMP/nfdump.err" ||
	{ cat "$TMP/nfdump.err" >&2; fail "nfdump cannot read nfcapd's files"; }
sed 's/^/  nfcapd: /' "$TMP/nfcapd.log" | grep -i -e 'stat\|error\|warn\|Ident' | tail -n 8
# Sequence errors show the collector missed datagrams (or misread our
# numbering); any other error or warning line is a complaint about what
# we sent.
check_eq "nfcapd: sequence errors it counted" \
	"$(sed -n 's/.*Sequence Errors: \([0-9]*\).*/\1/p' "$TMP/nfcapd.log" | awk '{ s += $1 } END { print s + 0 }')" 0
check_eq "nfcapd: error or warning lines" \
	"$(grep -i -e 'error' -e 'warn' "$TMP/nfcapd.log" | grep -vc 'Sequence Errors: ')" 0
sed 's/^/  nfacctd: /' "$TMP/nfacctd.log" | grep -e 'WARN' -e 'ERROR' | tail -n 8

# judge COLLECTOR FILE: the collector's "src sport dst dport packets octets"
# lines against the truth, flow by flow.
_judge_py='
import sys
truth, got = {}, {}
for line in open(sys.argv[1]):
    s, sp, d, dp, p, o = line.split()
    truth[(s, int(sp), d, int(dp))] = (int(p), int(o))
for line in open(sys.argv[2]):
    s, sp, d, dp, p, o = line.split()
    got.setdefault((s, int(sp), d, int(dp)), []).append((int(p), int(o)))
missing = [k for k in truth if k not in got]
extra = [k for k in got if k not in truth]
twice = [k for k in got if k in truth and len(got[k]) > 1]
wrong = [k for k in got if k in truth and len(got[k]) == 1 and got[k][0] != truth[k]]
print("flows %d stored %d missing %d extra %d twice %d wrong %d" %
      (len(truth), sum(len(v) for v in got.values()), len(missing), len(extra), len(twice),
       len(wrong)))
for k in (missing[:3] + extra[:3] + twice[:3] + wrong[:3]):
    print("  e.g. %s:%d > %s:%d truth %s stored %s" % (k + (truth.get(k), got.get(k))),
          file=sys.stderr)
'
judge() {
	_jv=$(python3 -c "$_judge_py" "$TEST_TMP/truth" "$2") || fail "cannot judge $1"
	check_eq "$1: flow by flow against the pcap" "$_jv" \
		"flows $ALL stored $ALL missing 0 extra 0 twice 0 wrong 0"
}

# nfdump csv: ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,...
awk -F, '$4 ~ /^10\./ { printf "%s %d %s %d %d %d\n", $4, $6, $5, $7, $12, $13 }' \
	"$TMP/nfdump.csv" >"$TEST_TMP/nfcapd.flows"
judge "nfcapd (stock)" "$TEST_TMP/nfcapd.flows"
# pmacct csv: SRC_IP,DST_IP,SRC_PORT,DST_PORT,PROTOCOL,PACKETS,BYTES
awk -F, '$1 ~ /^10\./ { printf "%s %d %s %d %d %d\n", $1, $3, $2, $4, $6, $7 }' \
	"$TMP/pmacct.csv" >"$TEST_TMP/nfacctd.flows"
judge "nfacctd (stock)" "$TEST_TMP/nfacctd.flows"

reliability "stock collectors: $IDLE_FLOWS flows idle at once, $STOP_FLOWS at SIGTERM" \
	"$ALL flows" "$(( 2 * ALL - $(grep -c . "$TEST_TMP/nfcapd.flows") - \
		$(grep -c . "$TEST_TMP/nfacctd.flows") ))"
test_done
