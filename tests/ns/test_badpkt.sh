#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python and awk programs in single quotes
# Bad packets on the wire (README, promise 2: transparent): the corpus of
# tests/data/badpkt.txt (tests/badpkt.py; labelled malformed frames, then
# random ones) goes from namespace A to namespace B over a quiet veth pair
# (lib.sh's quiet_pair: nothing else crosses it) with bpfix's programs
# loaded three times, each with maps of its own, without the agent:
#   eg  bpfix_tc_egress on A's veth (the sender's TC egress)
#   xdp bpfix_xdp in native mode on B's veth (the receiver, multi-buffer
#       aware, GRO off so nothing is merged)
#   in  bpfix_tc_ingress on B's veth, behind XDP (the stack has moved an
#       outer 802.1Q/802.1ad tag out of the data by then: the parser's
#       hw-VLAN path, which BPF_PROG_TEST_RUN cannot reach)
# One python3 process holds a packet socket in each namespace and works in
# lockstep: it sends a frame on A's veth and waits for it on B's, then the
# next, so no queue can overflow and each frame is matched byte for byte
# (an outer tag the stack moved out of the data is put back from the
# packet's auxdata, as libpcap does). Asserted:
#  1. targeted frames: every one sent arrives unchanged; at each of the
#     three places packets = frames sent, frame octets = their sum, and
#     each of parsed_*, malformed_* and frag_* is exactly the sum of the
#     labels of the frames sent; nothing lost (not_metered, insert_failed,
#     no_table), the accounting identity holds;
#  2. random frames: every one arrives unchanged; each place counts them
#     all, and the three raise the same counters by reason (one parser);
#  3. the meter keeps working: 5 pings afterwards are one flow of exactly
#     5 packets and 5 * 128 octets at each place, raise parsed_ipv4 by 5 and
#     nothing else, and the places' totals are the frames sent plus those
#     pings (nothing else was metered).
# Frames the kernel keeps off the wire are counted and explained, and
# checked through BPF_PROG_TEST_RUN only (build/tests/test_badpkt):
#  - shorter than an Ethernet header: AF_PACKET refuses them (EINVAL,
#    asserted);
#  - an 802.1Q/802.1ad TPID and fewer than 20 bytes in all: the receiving
#    stack's skb_vlan_untag() frees them before any packet tap or TC
#    program sees them (XDP does), so no receiver could show they arrived.
# SOAK=1 adds a phase of SOAK_FRAMES random frames made on the fly with a
# new seed (printed), on the wire as in 2, and through test_badpkt.
#
#   env BUILD=build sh tests/ns/test_badpkt.sh
#   BPFIX_BADPKT_CORPUS=FILE   another corpus (default tests/data/badpkt.txt)
#   BPFIX_TEST_KEEP=1          leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${BPFIX_BADPKT_CORPUS:-$HERE/data/badpkt.txt}
OBJ=$BUILD/bpfix.bpf.o
PINGS=5 PING_SIZE=100
SOAK_FRAMES=${SOAK_FRAMES:-50000}
POINTS="eg xdp in"

use_python3
need_root
need_cmds ip tc nsenter bpftool python3 ethtool ping timeout awk
need_bpffs
need_file "$OBJ" "run make $OBJ"
[ -r "$CORPUS" ] || fail "corpus $CORPUS missing (it is committed; tests/badpkt.py remakes it)"
T0=$(date +%s%3N)
TMP=$TEST_TMP

# ---- the wire ---------------------------------------------------------------------
#
# wire_py CORPUS PHASE NS_A_PATH IF_A IF_B REPORT, run in B's namespace:
# PHASE "targeted" sends the labelled frames, "random" the "any" ones.
# REPORT gets NAME=VALUE lines: frames, sent, refused (AF_PACKET said
# EINVAL), vlan_short (not sent), intact, changed, lost, extra (arrived
# unasked), l2_octets (sum of the lengths sent), tag_restored (frames whose
# outer tag came back from the auxdata), and exp_COUNTER, the sum of
# the labels of the frames sent. Each changed or lost frame is named on
# stderr.
_wire_py='
import ctypes, errno, os, select, socket, struct, sys

ETH_P_ALL, SOL_PACKET, PACKET_AUXDATA, PACKET_OUTGOING = 3, 263, 8, 4
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40
CLONE_NEWNET = 0x40000000
corpus, phase, ns_a, if_a, if_b, report = sys.argv[1:7]

frames = []
for lineno, line in enumerate(open(corpus), 1):
    if line.startswith("#") or not line.strip():
        continue
    labels, hexs, name = (line.split() + ["?"])[:3]
    if (labels == "any") != (phase == "random"):
        continue
    frames.append((lineno, name, labels, bytes.fromhex(hexs)))

rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
rx.bind((if_b, ETH_P_ALL))
rx.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
rx.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(ns_a, os.O_RDONLY)
if libc.setns(fd, CLONE_NEWNET):
    sys.exit("setns %s: %s" % (ns_a, os.strerror(ctypes.get_errno())))
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
tx.bind((if_a, 0))

def receive(timeout):
    """The next frame B received (not one it sent), its tag restored."""
    while select.select([rx], [], [], timeout)[0]:
        data, anc, flags, addr = rx.recvmsg(65536, socket.CMSG_SPACE(20))
        if addr[2] == PACKET_OUTGOING:
            continue
        for level, kind, cdata in anc:
            if level != SOL_PACKET or kind != PACKET_AUXDATA:
                continue
            status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", cdata[:20])
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                n["tag_restored"] += 1
        return data
    return None

n = {k: 0 for k in ("frames", "sent", "refused", "vlan_short", "intact", "changed", "lost",
                    "extra", "l2_octets", "tag_restored")}
exp = {}
while receive(0) is not None:
    n["extra"] += 1
for lineno, name, labels, frame in frames:
    n["frames"] += 1
    what = "line %d %s (%d bytes)" % (lineno, name, len(frame))
    if len(frame) < 14:
        try:
            tx.send(frame)
            sys.stderr.write("%s: AF_PACKET sent a frame shorter than 14 bytes\n" % what)
            n["changed"] += 1
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            n["refused"] += 1
        continue
    if frame[12:14] in (b"\x81\x00", b"\x88\xa8") and len(frame) < 20:
        n["vlan_short"] += 1
        continue
    if tx.send(frame) != len(frame):
        sys.exit("%s: short send" % what)
    n["sent"] += 1
    n["l2_octets"] += len(frame)
    if labels != "any":
        for label in labels.split(","):
            exp[label] = exp.get(label, 0) + 1
    got = receive(2.0)
    if got is None:
        n["lost"] += 1
        sys.stderr.write("%s: lost\n" % what)
        if n["lost"] >= 5:
            sys.exit("5 frames lost: giving up")
    elif got != frame:
        n["changed"] += 1
        sys.stderr.write("%s: arrived as %d bytes %s, sent %s\n" %
                         (what, len(got), got[:64].hex(), frame[:64].hex()))
    else:
        n["intact"] += 1
while receive(0.2) is not None:
    n["extra"] += 1
with open(report, "w") as fh:
    for k, v in n.items():
        fh.write("%s=%d\n" % (k, v))
    for k, v in sorted(exp.items()):
        fh.write("exp_%s=%d\n" % (k, v))
'

# wire PHASE CORPUS: send PHASE's frames of CORPUS; the report is $TMP/wire.PHASE
# (WIRE); one check that every frame sent arrived unchanged.
wire() {
	WIRE=$TMP/wire.$1
	nsx_timeout 120 "$NS_B" python3 -c "$_wire_py" "$2" "$1" "$NETNS_DIR/$NS_A" \
		"$IF_A" "$IF_B" "$WIRE" || fail "the $1 frames could not be sent (see above)"
	check_eq "$1 frames: of $(w frames), sent / arrived unchanged / changed / lost / unasked" \
		"$(w sent) / $(w intact) / $(w changed) / $(w lost) / $(w extra)" \
		"$(w sent) / $(w sent) / 0 / 0 / 0"
	info "$1 frames: $(w frames) in the corpus; $(w refused) shorter than 14 bytes" \
		"refused by AF_PACKET (EINVAL); $(w vlan_short) with a VLAN TPID and under 20" \
		"bytes not sent (the receiver's skb_vlan_untag frees them before any tap);" \
		"$(w tag_restored) received with the outer tag out of the data"
}

# w NAME: a value of the current wire report (0 if absent).
w() {
	sed -n "s/^$1=//p" "$WIRE" | grep . || echo 0
}

# ---- the counters ------------------------------------------------------------------

# stats_read TAG: the three places' stats into $TMP/stats.TAG (one record
# each, table=eg|xdp|in). Sets STATS.
stats_read() {
	STATS=$TMP/stats.$1
	map_records "$PIN_eg/maps/stats" eg "$PIN_xdp/maps/stats" xdp \
		"$PIN_in/maps/stats" in >"$STATS"
}

# st FILE PLACE NAME: one counter of one place.
st() {
	rec_get "$1" "$3" table="$2"
}

# CHECKED: the counters the labels speak of, as the stats map's BTF names them.
checked_names() {
	head -n 1 "$STATS" | tr ' ' '\n' | grep -E '^(parsed|malformed|frag)_' | cut -d= -f1
}

# by_reason FILE PLACE [BASE]: "name=value" for every checked counter that
# is not 0 (minus its value in BASE, if given).
by_reason() {
	_br=""
	for _br_n in $CHECKED; do
		_br_v=$(st "$1" "$2" "$_br_n")
		[ -n "${3:-}" ] && _br_v=$((_br_v - $(st "$3" "$2" "$_br_n")))
		[ "$_br_v" != 0 ] && _br="$_br $_br_n=$_br_v"
	done
	printf '%s\n' "${_br# }"
}

# expected_by_reason: the same, from the wire report's label sums.
expected_by_reason() {
	_eb=""
	for _eb_n in $CHECKED; do
		_eb_v=$(w "exp_$_eb_n")
		[ "$_eb_v" != 0 ] && _eb="$_eb $_eb_n=$_eb_v"
	done
	printf '%s\n' "${_eb# }"
}

# reason_diff GOT WANT: the counters in which two by_reason lines differ.
reason_diff() {
	printf '%s\n%s\n' "$1" "$2" | awk '
	NR == 1 { for (i = 1; i <= NF; i++) { split($i, kv, "="); got[kv[1]] = kv[2]; seen[kv[1]] } }
	NR == 2 { for (i = 1; i <= NF; i++) { split($i, kv, "="); want[kv[1]] = kv[2]; seen[kv[1]] } }
	END {
		for (k in seen)
			if (got[k] + 0 != want[k] + 0)
				printf "    %s = %d, expected %d\n", k, got[k], want[k]
	}'
}

# nothing_lost FILE PLACE: no packet lost, and the accounting identity
# (two checks).
nothing_lost() {
	_nl_f=$1 _nl_p=$2
	set -- not_metered_packets insert_failed_packets no_table frag_table_failed
	check_eq "$_nl_p: nothing lost" \
		"$(rec_fields "$_nl_f" "$1,$2,$3,$4" table="$_nl_p")" "$1=0 $2=0 $3=0 $4=0"
	_nl_tp=$(($(st "$_nl_f" "$_nl_p" table_packets_0) + $(st "$_nl_f" "$_nl_p" table_packets_1)))
	_nl_to=$(($(st "$_nl_f" "$_nl_p" table_octets_0) + $(st "$_nl_f" "$_nl_p" table_octets_1)))
	check_eq "$_nl_p: packets octets = those added to the flow tables" \
		"$(st "$_nl_f" "$_nl_p" packets) $(st "$_nl_f" "$_nl_p" octets)" "$_nl_tp $_nl_to"
}

# delta FILE BASE PLACE NAME: how much one counter rose from BASE to FILE.
delta() {
	echo $(($(st "$1" "$3" "$4") - $(st "$2" "$3" "$4")))
}

# wire_reliability CASE: the reliability line of the last wire run: what
# was sent and held, and the frames lost or changed (which must be 0).
wire_reliability() {
	_wr="$(w sent) of $(w frames) frames sent A->B over a veth, $(w intact) arrived unchanged,"
	_wr="$_wr counted by TC egress, native XDP and TC ingress; $(w refused) < 14 B and"
	_wr="$_wr $(w vlan_short) short VLAN ones kept off the wire by the kernel"
	reliability "bad packets on the wire: $1" "$_wr" "$(($(w changed) + $(w lost)))"
}

# random_phase TAG CORPUS BASE: send CORPUS's random frames; each place
# counts each one (packets and frame octets since the stats file BASE), and
# the three agree by reason. Leaves the stats in $TMP/stats.TAG.
random_phase() {
	wire random "$2"
	stats_read "$1"
	_rp_ref=""
	for _rp in $POINTS; do
		check_eq "$1: $_rp counted the random frames sent (packets, frame octets)" \
			"$(delta "$STATS" "$3" "$_rp" packets) $(delta "$STATS" "$3" "$_rp" l2_octets)" \
			"$(w sent) $(w l2_octets)"
		_rp_got=$(by_reason "$STATS" "$_rp" "$3")
		if [ -z "$_rp_ref" ]; then
			_rp_ref=$_rp_got
			info "$1: $_rp by reason: $_rp_got"
		else
			check_eq "$1: $_rp by reason = eg's" "$_rp_got" "$_rp_ref" ||
				reason_diff "$_rp_got" "$_rp_ref"
		fi
		nothing_lost "$STATS" "$_rp"
	done
	wire_reliability "$1 frames"
}

# ---- set-up ---------------------------------------------------------------------------

quiet_pair bp 81 1
bpf_load "$OBJ" eg
PIN_eg=$BPF_PIN
bpf_load "$OBJ" xdp
PIN_xdp=$BPF_PIN
bpf_load "$OBJ" in
PIN_in=$BPF_PIN
tc_attach "$NS_A" "$IF_A" egress "$PIN_eg/bpfix_tc_egress"
xdp_attach "$NS_B" "$IF_B" xdpdrv "$PIN_xdp/bpfix_xdp" || fail "$IF_B: native XDP refused: $XDP_ERR"
check_eq "$IF_B: XDP attach mode and program" "$(xdp_mode "$NS_B" "$IF_B")" \
	"driver $(prog_id "$PIN_xdp/bpfix_xdp")"
tc_attach "$NS_B" "$IF_B" ingress "$PIN_in/bpfix_tc_ingress"
# With XDP on it a veth receives through NAPI and GRO: no two frames may
# become one.
nsx "$NS_B" ethtool -K "$IF_B" gro off >/dev/null || fail "$IF_B: cannot turn GRO off"
check_eq "$IF_B: generic-receive-offload" \
	"$(nsx "$NS_B" ethtool -k "$IF_B" | sed -n 's/^generic-receive-offload: \([a-z]*\).*/\1/p')" off
stats_read start
CHECKED=$(checked_names)
[ -n "$CHECKED" ] || fail "the stats map has no parsed_/malformed_/frag_ counters"

# ---- 1. targeted frames ------------------------------------------------------------------

info "1. labelled frames of $CORPUS"
wire targeted "$CORPUS"
stats_read targeted
want=$(expected_by_reason)
for _p in $POINTS; do
	check_eq "$_p: packets, frame octets = the $(w sent) frames sent" \
		"$(st "$STATS" "$_p" packets) $(st "$STATS" "$_p" l2_octets)" "$(w sent) $(w l2_octets)"
	got=$(by_reason "$STATS" "$_p")
	check_eq "$_p: counters by reason = the labels' sums" "$got" "$want" ||
		reason_diff "$got" "$want"
	nothing_lost "$STATS" "$_p"
done
wire_reliability "labelled frames, counted by reason as labelled"
SENT_TOTAL=$(w sent)

# ---- 2. random frames ----------------------------------------------------------------------

info "2. random frames of $CORPUS"
random_phase random "$CORPUS" "$TMP/stats.targeted"
SENT_TOTAL=$((SENT_TOTAL + $(w sent)))
LAST=$STATS

if [ "$SOAK" = 1 ]; then
	seed=$(date +%s)
	info "2b. SOAK: $SOAK_FRAMES random frames, tests/badpkt.py --random $SOAK_FRAMES --seed $seed"
	python3 "$HERE/badpkt.py" --random "$SOAK_FRAMES" --seed "$seed" >"$TMP/soak.txt" ||
		fail "tests/badpkt.py could not make the soak corpus"
	env BPFIX_BADPKT_CORPUS="$TMP/soak.txt" "$BUILD/tests/test_badpkt" >"$TMP/soak.log" 2>&1
	check "the soak corpus through BPF_PROG_TEST_RUN (test_badpkt)" test $? -eq 0 ||
		cat "$TMP/soak.log"
	sed -n 's/^\[\([a-z_]*\)\] \([0-9]* frames: .*\)/    test_badpkt \1: \2/p' "$TMP/soak.log"
	random_phase soak "$TMP/soak.txt" "$LAST"
	SENT_TOTAL=$((SENT_TOTAL + $(w sent)))
	LAST=$STATS
fi

# ---- 3. the meter keeps working ------------------------------------------------------------

info "3. $PINGS pings after the bad packets"
ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
tc_detach "$NS_A" "$IF_A"
tc_detach "$NS_B" "$IF_B"
xdp_detach "$NS_B" "$IF_B" xdpdrv
stats_read end
map_records "$PIN_eg/maps/flow_table_0" eg "$PIN_xdp/maps/flow_table_0" xdp \
	"$PIN_in/maps/flow_table_0" in >"$TMP/flows"
l4=$((20 + 8 + PING_SIZE))
for _p in $POINTS; do
	dir=0
	[ "$_p" = eg ] && dir=1
	check_eq "$_p: the ping flow $IP4_A > $IP4_B" \
		"$(rec_fields "$TMP/flows" packets,octets,l2_octets,flags,direction table="$_p" \
			protocol=1 src="$IP4_A" dst="$IP4_B" dst_port=0x0800)" \
		"packets=$PINGS octets=$((PINGS * l4)) l2_octets=$((PINGS * (l4 + 14))) flags=0 direction=$dir"
	check_eq "$_p: packets in all = frames sent + pings (nothing else was metered)" \
		"$(st "$STATS" "$_p" packets)" $((SENT_TOTAL + PINGS))
	check_eq "$_p: what the pings raised by reason" "$(by_reason "$STATS" "$_p" "$LAST")" \
		"parsed_ipv4=$PINGS"
	nothing_lost "$STATS" "$_p"
done

info "took $(($(date +%s%3N) - T0)) ms"
test_done
