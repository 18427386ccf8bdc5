#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # awk, python and sh -c programs in single quotes
# Exactness under load (README, promise 1: exact): every packet the meter sees is in
# exactly one record, while sweeps run every 100 ms and the active timeout
# cuts each flow into a record a second.
#
# A quiet veth pair (IPv6 off, permanent neighbour entries: no ND, MLD or
# ARP) joins namespaces A and B. For BLAST_SECS, A sends fixed-size UDP
# datagrams to B as fast as it can, in flows whose true counts are known:
# trafgen (64 source ports in turn, in chunks of exactly known size, through
# the qdisc path like any socket) or, without trafgen, one python3 sender
# per CPU counting its successful sendto()s.
#  1. bpfix -m tc on A's veth (the sender): TC egress sees every frame
#     handed to the device (a veth drops after that), so per flow the
#     records' packets must equal what was sent, in total also A's
#     tx_packets + tx_dropped delta, and bytes count * (28 + payload),
#     summed over the many active-timeout records.
#  2. bpfix -m xdp --uniflow on B's veth (the receiver): XDP sees what the
#     device receives, so the records' packets must equal the delta of B's
#     rx_packets across the blast (and each flow's count, if the veth
#     dropped nothing).
# In both: -v's exit line says nothing was lost and counts exactly the
# packets the records hold; every record but a flow's last is "active".
# The measured rate and the number of records and sweeps are printed.
#
#   env BUILD=build sh tests/ns/test_exact.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BLAST_SECS=10          length of each blast
#   SOURCE=trafgen|python  the sender (default trafgen if installed)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
BLAST_SECS=${BLAST_SECS:-10}
PAYLOAD=64			# bytes per datagram: IP total length 92
DPORT=9 SPORT0=50000		# blaster i sends from SPORT0 + i
AGENT_ARGS="-f json --idle-timeout 1 --active-timeout 1 --sweep-interval 100"

use_python3
need_root
need_cmds ip tc nsenter python3 timeout nproc
SOURCE=${SOURCE:-$(command -v trafgen >/dev/null 2>&1 && echo trafgen || echo python)}
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
BLASTERS=$(nproc)
[ "$BLASTERS" -gt 4 ] && BLASTERS=4
T0=$(date +%s)

# ---- the blast ------------------------------------------------------------------
#
# trafgen (netsniff-ng) when installed: FLOWS source ports in turn, sent in
# chunks of CHUNK frames (a multiple of FLOWS, so each flow's count is
# exact) until BLAST_SECS have passed; --qdisc-path, so frames go through
# dev_queue_xmit and TC egress like any socket's. Else one python3 sender
# per CPU (up to 4), each counting its successful sendto()s.

FLOWS=64 CHUNK=$((64 * 8192))

_blast_py='
import socket, sys, time
dst, port, sport, size, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", sport))
payload, addr, send = b"\x5a" * size, (dst, port), s.sendto
sent = errors = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    for _ in range(256):
        try:
            send(payload, addr)
            sent += 1
        except OSError:
            errors += 1
print(sent, errors)
'

# blast: sets SENT (frames sent) and BLAST_MS, and writes each flow's
# "SOURCE_PORT COUNT" to $TEST_TMP/want.
blast() {
	_bl_end=$(($(date +%s) + BLAST_SECS))
	_bl_t0=$(date +%s%N)
	SENT=0
	: >"$TEST_TMP/want"
	if [ "$SOURCE" = trafgen ]; then
		# The source port's low byte counts 1..FLOWS: ports 0xc301...
		cat >"$TEST_TMP/trafgen.cfg" <<-EOF
		{
		  $(hexbytes "$(mac_of "$NS_B" "$IF_B")"), $(hexbytes "$(mac_of "$NS_A" "$IF_A")"), 0x08, 0x00,
		  0x45, 0x00, const16($((28 + PAYLOAD))), 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, csumip(14, 33),
		  $(hexbytes "$IP4_A"), $(hexbytes "$IP4_B"),
		  0xc3, dinc(1, $FLOWS), const16($DPORT), const16($((8 + PAYLOAD))), 0x00, 0x00,
		  fill(0x5a, $PAYLOAD)
		}
		EOF
		_bl_chunks=0
		while [ "$(date +%s)" -lt "$_bl_end" ]; do
			nsx_timeout 60 "$NS_A" trafgen --dev "$IF_A" --conf "$TEST_TMP/trafgen.cfg" \
				-n "$CHUNK" --cpus 1 --qdisc-path >"$TEST_TMP/trafgen.out" 2>&1 ||
				{ tail -n 5 "$TEST_TMP/trafgen.out" >&2; fail "trafgen failed"; }
			_bl_out=$(tr '\r' '\n' <"$TEST_TMP/trafgen.out" |
				sed -n 's/^ *\([0-9]*\) packets outgoing.*/\1/p')
			[ "$_bl_out" = "$CHUNK" ] ||
				fail "trafgen sent ${_bl_out:-?} frames, not $CHUNK"
			_bl_chunks=$((_bl_chunks + 1))
		done
		SENT=$((_bl_chunks * CHUNK))
		_bl_i=1
		while [ "$_bl_i" -le "$FLOWS" ]; do
			echo "$((0xc300 + _bl_i)) $((SENT / FLOWS))" >>"$TEST_TMP/want"
			_bl_i=$((_bl_i + 1))
		done
	else
		_bl_pids=""
		_bl_i=1
		while [ "$_bl_i" -le "$BLASTERS" ]; do
			nsenter --net="$NETNS_DIR/$NS_A" python3 -c "$_blast_py" "$IP4_B" "$DPORT" \
				$((SPORT0 + _bl_i)) "$PAYLOAD" "$BLAST_SECS" >"$TEST_TMP/blast.$_bl_i" &
			bg_track $!
			_bl_pids="$_bl_pids $!"
			_bl_i=$((_bl_i + 1))
		done
		for _bl_p in $_bl_pids; do
			wait "$_bl_p"
			bg_untrack "$_bl_p"
		done
		_bl_i=1
		while [ "$_bl_i" -le "$BLASTERS" ]; do
			read -r _bl_s _bl_e <"$TEST_TMP/blast.$_bl_i" ||
				fail "blaster $_bl_i reported nothing"
			check_eq "blaster $_bl_i: failed sendto()s (of $_bl_s)" "$_bl_e" 0
			echo "$((SPORT0 + _bl_i)) $_bl_s" >>"$TEST_TMP/want"
			SENT=$((SENT + _bl_s))
			_bl_i=$((_bl_i + 1))
		done
	fi
	BLAST_MS=$((($(date +%s%N) - _bl_t0) / 1000000))
	info "$SOURCE sent $SENT frames in $BLAST_MS ms: $((SENT * 1000 / BLAST_MS)) packets/s"
}

# ---- records ---------------------------------------------------------------------

# records_common: checks every run makes of its records.
records_common() {
	agent_records "$1"
	records_sane
	agent_exit_agrees
	info "-v: $(printf '%s\n' "$AGENT_EXIT" | sed -n 's/.*| \(sweeps [0-9]* last [0-9.]* ms max [0-9.]* ms\).*/\1/p')"
}

# per_flow FILTER...: each blast flow (source port) against what was sent:
# its packets, and its records: at least one per active timeout, all
# "active" but the last. Sets NREC.
per_flow() {
	NREC=0
	_pf_bad=0 _pf_few=0 _pf_order=0 _pf_min=999999 _pf_max=0
	while read -r _pf_port _pf_want; do
		_pf_got=$(rec_sum "$RECS" packets "$@" sport="$_pf_port")
		_pf_n=$(rec_count "$RECS" "$@" sport="$_pf_port")
		_pf_last=$(rec_show "$RECS" "$@" sport="$_pf_port" | tail -n 1 |
			tr ' ' '\n' | sed -n 's/^end_reason=//p')
		_pf_early=$(($(rec_count "$RECS" "$@" sport="$_pf_port" end_reason!=active) -
			$([ "$_pf_last" = active ] && echo 0 || echo 1)))
		if [ "$_pf_got" != "$_pf_want" ]; then
			printf '    sport %s: %s packets, sent %s\n' "$_pf_port" "$_pf_got" "$_pf_want"
			_pf_bad=$((_pf_bad + 1))
		fi
		[ "$_pf_n" -lt $((BLAST_SECS - 2)) ] && _pf_few=$((_pf_few + 1))
		[ "$_pf_early" != 0 ] && _pf_order=$((_pf_order + 1))
		[ "$_pf_n" -lt "$_pf_min" ] && _pf_min=$_pf_n
		[ "$_pf_n" -gt "$_pf_max" ] && _pf_max=$_pf_n
		NREC=$((NREC + _pf_n))
	done <"$TEST_TMP/want"
	_pf_flows=$(wc -l <"$TEST_TMP/want")
	check_eq "$_pf_flows flows: packets other than sent" "$_pf_bad" 0
	check_eq "$_pf_flows flows: fewer than $((BLAST_SECS - 2)) records ($_pf_min..$_pf_max each)" \
		"$_pf_few" 0
	check_eq "$_pf_flows flows: a record before the last that is not 'active'" "$_pf_order" 0
}

# ---- 1. the sender's egress, TC ------------------------------------------------------

quiet_pair ex 79 1
info "1. bpfix -m tc on the sender's $IF_A; $SOURCE for $BLAST_SECS s"
# shellcheck disable=SC2086
agent_start tc "$NS_A" "$IF_A" -m tc $AGENT_ARGS
tx0=$(($(dev_stat "$NS_A" "$IF_A" tx_packets) + $(dev_stat "$NS_A" "$IF_A" tx_dropped)))
blast
sleep 1.5
agent_stop "$NS_A" "$IF_A"
records_common tc
tx=$(($(dev_stat "$NS_A" "$IF_A" tx_packets) + $(dev_stat "$NS_A" "$IF_A" tx_dropped) - tx0))
set -- protocol=17 src="$IP4_A" dst="$IP4_B" dport="$DPORT"
check_eq "blast packets in records = frames sent" "$(rec_sum "$RECS" packets "$@")" "$SENT"
check_eq "blast packets in records = $IF_A's tx_packets + tx_dropped delta" \
	"$(rec_sum "$RECS" packets "$@")" "$tx"
check_eq "blast bytes in records = frames sent * (28 + $PAYLOAD)" \
	"$(rec_sum "$RECS" bytes "$@")" $((SENT * (28 + PAYLOAD)))
check_eq "blast records: reverse packets, not egress" \
	"$(rec_sum "$RECS" rev_packets "$@") $(rec_count "$RECS" "$@" direction!=egress)" "0 0"
per_flow "$@"
info "1. $SENT packets ($((SENT * 1000 / BLAST_MS))/s) metered exactly in $NREC records"

# ---- 2. the receiver's ingress, native XDP ----------------------------------------------

info "2. bpfix -m xdp --uniflow on the receiver's $IF_B; $SOURCE for $BLAST_SECS s"
# shellcheck disable=SC2086
agent_start xdp "$NS_B" "$IF_B" -m xdp --uniflow $AGENT_ARGS
rx0=$(dev_stat "$NS_B" "$IF_B" rx_packets) rb0=$(dev_stat "$NS_B" "$IF_B" rx_bytes)
blast
sleep 1.5
rx1=$(dev_stat "$NS_B" "$IF_B" rx_packets) rb1=$(dev_stat "$NS_B" "$IF_B" rx_bytes)
agent_stop "$NS_B" "$IF_B"
records_common xdp
rx=$((rx1 - rx0)) rb=$((rb1 - rb0))
set -- protocol=17 src="$IP4_A" dst="$IP4_B" dport="$DPORT"
info "2. $IF_B received $rx of $SENT frames ($((rx * 1000 / BLAST_MS))/s; rx_bytes +$rb)"
check_eq "blast packets in records = $IF_B's rx_packets delta" "$(rec_sum "$RECS" packets "$@")" "$rx"
check_eq "blast bytes in records = rx_packets delta * (28 + $PAYLOAD)" \
	"$(rec_sum "$RECS" bytes "$@")" $((rx * (28 + PAYLOAD)))
check_eq "blast frame bytes in records = rx_packets delta * (14 + 28 + $PAYLOAD)" \
	"$(rec_sum "$RECS" l2_bytes "$@")" $((rx * (14 + 28 + PAYLOAD)))
check_eq "records of anything else (the link is quiet)" "$(rec_count "$RECS" dport!="$DPORT")" 0
check "$IF_B received no more than was sent" test "$rx" -le "$SENT"
if [ "$rx" = "$SENT" ]; then
	per_flow "$@"
else
	NREC=$(rec_count "$RECS" "$@")
	info "2. $((SENT - rx)) frames dropped before $IF_B received them: per-flow counts unknown"
fi
info "2. $rx packets ($((rx * 1000 / BLAST_MS))/s) metered exactly in $NREC records"

info "took $(($(date +%s) - T0)) s"
test_done
