#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Benchmark against peers on the wire, BENCHMARKS.md section 2: one veth
# rig, one traffic mix, replayed at the fastest rate the rig makes and at a
# moderate one, metered in turn by bpfix (xdp, tc), softflowd and pmacctd,
# each exporting to nfcapd; what reached nfcapd's files is scored flow by
# flow against ground truth computed from the pcap. Meters and collector run
# with stock settings, as users run them (nfcapd -w DIR -p PORT -b ADDR,
# no -B; no raised buffers in the peers); the rows softflowd-tuned and
# pmacctd-tuned add the buffers this benchmark used to give them, nfcapd -B
# 64 MiB included, to show what tuning buys. Rewrites only the lines
# between the peers markers of BENCHMARKS.md (inserting them under the
# section's heading the first time); the text is also kept in
# BUILD/bench-peers.md, the raw figures in BUILD/peers/results.
#
#   tools/bench_peers.sh [BUILD]                      (make bench)
#
#   BENCH_PEERS_SECONDS=6    about how long each replay lasts (loops of the
#                            pcap at full speed; the moderate rate plays the
#                            pcap at least once)
#   BENCH_PEERS_PPS=20000    the moderate rate, packets per second
#   BENCH_PEERS_METERS="bpfix-xdp bpfix-tc softflowd pmacctd softflowd-tuned
#                       pmacctd-tuned ref-null ref-xdp"
#                            (*-tuned: the peer with larger capture and
#                            pipe buffers, exporting to nfcapd -B 67108864;
#                            ref-*: reference_null / reference_xdp of
#                            bpf/reference.bpf.c on native XDP, no agent, no
#                            export: what a do-nothing and a minimal XDP
#                            meter cost on the same replay)
#   BENCH_PEERS_NO_DOC=1     measure, keep BUILD/bench-peers.md, leave
#                            BENCHMARKS.md alone
#   BPFIX_TEST_KEEP=1        leave the namespaces up (tests/ns/lib.sh)
#
# Runs as root; everything lives in two namespaces of its own (pid in their
# names) and is removed on any exit. BPF run-time statistics are switched on
# (tools/peers/bpf_stats.py) only around the bpfix replays.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
doc=$here/BENCHMARKS.md
begin='<!-- peers:begin (written by tools/bench_peers.sh; edits here are lost) -->'
end='<!-- peers:end -->'
heading='## 2. Against peers on the wire'
out=$build/bench-peers.md
PY=/usr/bin/python3	# Debian's, where python3-scapy lives
SECONDS_PER_REPLAY=${BENCH_PEERS_SECONDS:-6}
PPS=${BENCH_PEERS_PPS:-20000}
METERS=${BENCH_PEERS_METERS:-bpfix-xdp bpfix-tc softflowd pmacctd softflowd-tuned pmacctd-tuned ref-null ref-xdp}
NO_DOC=${BENCH_PEERS_NO_DOC:-0}
PORT=4739

die() {
	echo "bench_peers: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (namespaces, BPF)"
BPFIX=$build/bpfix
[ -x "$BPFIX" ] || die "$BPFIX: not built (make)"
[ -e "$build/reference.bpf.o" ] || die "$build/reference.bpf.o: not built (make)"
for c in ip nsenter ss tc bpftool tcpreplay dumpcap nfcapd nfdump softflowd softflowctl pmacctd; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (tools/deps.sh installs it)"
done
"$PY" -c 'import scapy' 2>/dev/null || die "$PY has no scapy (apt-get install python3-scapy)"
case $SECONDS_PER_REPLAY$PPS in
*[!0-9]*) die "BENCH_PEERS_SECONDS and BENCH_PEERS_PPS take whole numbers" ;;
esac

# ---- BENCHMARKS.md: find our place before spending minutes ----------------

# doc_place: "markers" when the file has exactly one begin marker before one
# end marker, "insert" when it has neither and the section's heading is
# followed by "Not measured yet." (the first run puts the markers in that
# line's place); anything else is refused: rewriting would have to guess,
# and could eat someone else's text.
doc_place() {
	[ -e "$doc" ] || die "$doc missing (tools/bench.sh creates it)"
	_nb=$(grep -cxF "$begin" "$doc")
	_ne=$(grep -cxF "$end" "$doc")
	if [ "$_nb" = 0 ] && [ "$_ne" = 0 ]; then
		[ "$(grep -cxF "$heading" "$doc")" = 1 ] ||
			die "$doc: needs exactly one '$heading' line"
		awk -v h="$heading" '
			$0 == h { seen = 1; next }
			seen == 1 && $0 == "" { next }
			seen == 1 { ok = $0 == "Not measured yet."; exit }
			END { exit !ok }' "$doc" ||
			die "$doc: '$heading' is not followed by 'Not measured yet.'; put '$begin' and '$end' where the figures belong"
		echo insert
		return 0
	fi
	if [ "$_nb" != 1 ] || [ "$_ne" != 1 ] ||
	   [ "$(grep -nxF "$begin" "$doc" | cut -d: -f1)" -gt "$(grep -nxF "$end" "$doc" | cut -d: -f1)" ]; then
		die "$doc: needs exactly one '$begin' line before one '$end' line"
	fi
	echo markers
}
[ "$NO_DOC" = 1 ] || doc_place >/dev/null

# ---- the traffic mix, generated once ---------------------------------------

mix=$build/peers
mkdir -p "$mix"
if [ ! -s "$mix/mix.pcap" ] || [ ! -s "$mix/mix.truth" ] || [ ! -s "$mix/filler.pcap" ] ||
   [ -n "$(find "$here/tools/peers/mkpcap.py" -newer "$mix/mix.pcap")" ]; then
	echo "bench_peers: generating the traffic mix (once, about a minute)" >&2
	"$PY" "$here/tools/peers/mkpcap.py" "$mix" --tshark-check >/dev/null ||
		die "traffic mix generation failed"
fi
NPKTS=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$mix/mix.summary")
NFLOWS=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["flows"])' "$mix/mix.summary")

# ---- the rig ---------------------------------------------------------------

# shellcheck disable=SC2034 # read by tests/ns/lib.sh
BUILD=$build
# shellcheck source=tests/ns/lib.sh
. "$here/tests/ns/lib.sh"
need_bpffs

res=$build/peers/results
rm -rf "$res"
mkdir -p "$res"
NS_S=bpfix-$$-peers-s	# tcpreplay
NS_M=bpfix-$$-peers-m	# the meter, nfcapd
IF_S=pr$$s
IF_M=pr$$m
for ns in "$NS_S" "$NS_M"; do
	netns_create "$ns"
	# No addresses and no IPv6 on the veths: the namespaces' own stacks must
	# not add a single packet (router solicitations, MLD) to the mix.
	nsx "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6;
		echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
done
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_M" netns "$NS_M" ||
	fail "cannot create veth pair $IF_S/$IF_M"
ip -n "$NS_S" link set "$IF_S" up
ip -n "$NS_M" link set "$IF_M" up
# A stock nfcapd's socket gets rmem_default; the tuned rows' -B 64 MiB is
# capped at rmem_max (doubled, as the kernel counts). Both recorded for the
# report, and each nfcapd's own buffer is read back from its socket.
nsx "$NS_M" cat /proc/sys/net/core/rmem_default >"$res/rmem_default"
nsx "$NS_M" cat /proc/sys/net/core/rmem_max >"$res/rmem_max"

# bg NS COMMAND...: COMMAND in the background in NS; $! is COMMAND itself.
bg() {
	_bg_ns=$1
	shift
	nsenter --net="$NETNS_DIR/$_bg_ns" "$@" &
}

# wait_for FILE PATTERN PID WHAT: up to 15 s for PATTERN in FILE.
wait_for() {
	for _wf in $(seq 150); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { cat "$1" >&2; fail "$4 exited"; }
		sleep 0.1
	done
	cat "$1" >&2
	fail "$4 did not start within 15 s"
}

# stop PID SECONDS: wait up to SECONDS for PID to exit (kill it after);
# returns its exit status.
stop() {
	for _st in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		info "pid $1 still running after $2 s: killed"
		kill -KILL "$1"
	fi
	wait "$1"
	_st=$?
	bg_untrack "$1"
	return "$_st"
}

CLK_TCK=$(getconf CLK_TCK)
# proc_cpu_ms PID: utime + stime of PID and its children, in ms.
proc_cpu_ms() {
	for _p in $1 $(pgrep -P "$1"); do
		sed 's/.*) //' "/proc/$_p/stat" 2>/dev/null
	done | awk -v hz="$CLK_TCK" '{ s += $12 + $13 } END { printf "%d\n", s * 1000 / hz }'
}


# rx_packets NS DEV / tx_dropped NS DEV
link_stat() {
	ip -n "$1" -s -s link show dev "$2" | awk -v want="$3" '
		/^ *RX: / { mode = "rx"; next } /^ *TX: / { mode = "tx"; next }
		mode != "" { if (want == mode "_packets") v = $2; if (want == mode "_dropped") v = $4; mode = "" }
		END { print v + 0 }'
}

# bpf_progs NS DEV: ids of the BPF programs attached to DEV (XDP and TC).
bpf_progs() {
	nsx "$1" bpftool net show dev "$2" | grep -o 'id [0-9]*' | awk '{ print $2 }' | sort -u
}

# bpf_runtime IDS...: "run_time_ns run_cnt" summed over the programs.
bpf_runtime() {
	for _id in "$@"; do
		bpftool prog show id "$_id"
	done | awk '{ for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t += $(i + 1);
		if ($i == "run_cnt") c += $(i + 1) } } END { printf "%.0f %.0f\n", t, c }'
}

# udp_snmp: "OutDatagrams InDatagrams RcvbufErrors NoPorts" of NS_M's UDP.
# /proc/net is /proc/self/net, so cat run inside NS_M reads NS_M's own
# counters; only the meter's export and nfcapd use UDP there.
udp_snmp() {
	nsx "$NS_M" cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1; next }
		print $n["OutDatagrams"], $n["InDatagrams"], $n["RcvbufErrors"], $n["NoPorts"]; exit }'
}

# collector_socket: "rb=BYTES drops=N" of nfcapd's socket (ss's skmem rb and
# d: the receive buffer it got, and what the socket dropped in its life).
collector_socket() {
	nsx "$NS_M" ss -uamnH "sport = :$PORT" | tr -d '\n' |
		sed -n 's/.*skmem:(.*rb\([0-9]*\),.*,d\([0-9]*\)).*/rb=\1 drops=\2/p'
}

STATS_PID=""
stats_on() {
	"$PY" "$here/tools/peers/bpf_stats.py" >"$res/bpf_stats.out" 2>&1 &
	STATS_PID=$!
	bg_track "$STATS_PID"
	for _i in $(seq 50); do
		grep -q enabled "$res/bpf_stats.out" && return 0
		kill -0 "$STATS_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$res/bpf_stats.out" >&2
	fail "cannot enable BPF run-time statistics"
}
stats_off() {
	[ -n "$STATS_PID" ] || return 0
	kill "$STATS_PID" 2>/dev/null
	wait "$STATS_PID" 2>/dev/null
	bg_untrack "$STATS_PID"
	STATS_PID=""
}

# ---- one replay --------------------------------------------------------------

# meter_start METER DIR: start METER in NS_M exporting to nfcapd; sets
# METER_PID. meter_stop METER DIR stops it so that it exports everything.
meter_start() {
	case $1 in
	bpfix-xdp | bpfix-tc)
		PIN=$BPFFS/bpfix-$$-peers
		defer "rm -rf '$PIN'"
		bg "$NS_M" "$BPFIX" -i "$IF_M" -m "${1#bpfix-}" --uniflow --pin-path "$PIN" -v \
			-c "udp://127.0.0.1:$PORT" >"$2/meter.out" 2>"$2/meter.err"
		METER_PID=$!
		bg_track "$METER_PID"
		wait_for "$2/meter.err" "metering" "$METER_PID" "bpfix"
		;;
	softflowd | softflowd-tuned)
		# -v 10: IPFIX (the default v5 carries neither IPv6 nor VLANs);
		# -T vlan: flows keyed by VLAN as well (the default "full" merges
		# the mix's twins); -m 65536: the mix has more flows than the
		# default 8192 (bpfix's default table holds 65536); -d, -c, -p:
		# foreground, and control socket and pid file in the run's
		# directory. -B, the libpcap buffer (default 2 MiB), is tuning.
		_sf_tune=""
		[ "$1" = softflowd-tuned ] && _sf_tune="-B 67108864"
		# shellcheck disable=SC2086 # empty, or flag and value
		bg "$NS_M" softflowd -d -i "$IF_M" -v 10 -n "127.0.0.1:$PORT" -T vlan -m 65536 \
			$_sf_tune -c "$2/softflowd.ctl" -p "$2/softflowd.pid" \
			>"$2/meter.out" 2>"$2/meter.err"
		METER_PID=$!
		bg_track "$METER_PID"
		wait_for "$2/meter.err" "Exporting flows" "$METER_PID" "softflowd"
		;;
	pmacctd | pmacctd-tuned)
		# daemonize false: foreground, so it can be signalled and its log
		# kept; aggregate: the v9/IPFIX default plus vlan (the mix's
		# twins); nfprobe_version 10 is the default, said out loud;
		# nfprobe_maxflows: the mix has more flows than the default 8192.
		# promisc is true by default. The buffer and pipe sizes are tuning
		# (CONFIG-KEYS, FAQ Q7: against core-to-plugin loss).
		cat >"$2/pmacctd.conf" <<-EOF
		daemonize: false
		pcap_interface: $IF_M
		aggregate: src_host, dst_host, src_port, dst_port, proto, tos, vlan
		plugins: nfprobe[p]
		nfprobe_receiver[p]: 127.0.0.1:$PORT
		nfprobe_version[p]: 10
		nfprobe_maxflows[p]: 65536
		EOF
		if [ "$1" = pmacctd-tuned ]; then
			cat >>"$2/pmacctd.conf" <<-EOF
			plugin_buffer_size[p]: 102400
			plugin_pipe_size[p]: 102400000
			pmacctd_pipe_size: 67108864
			EOF
		fi
		bg "$NS_M" pmacctd -f "$2/pmacctd.conf" >"$2/meter.out" 2>"$2/meter.err"
		METER_PID=$!
		bg_track "$METER_PID"
		wait_for "$2/meter.err" "Exporting flows to" "$METER_PID" "pmacctd"
		;;
	ref-null | ref-xdp)
		if [ -z "${REF_PIN:-}" ]; then
			bpf_load "$build/reference.bpf.o" ref
			REF_PIN=$BPF_PIN
		fi
		_prog=reference_${1#ref-}
		xdp_attach "$NS_M" "$IF_M" xdpdrv "$REF_PIN/$_prog" ||
			fail "$IF_M: cannot attach $_prog: $XDP_ERR"
		METER_PID=""
		;;
	none) METER_PID="" ;;
	*) fail "unknown meter $1" ;;
	esac
}

meter_stop() {
	case $1 in
	bpfix-*)
		kill -TERM "$METER_PID"
		stop "$METER_PID" 60
		echo "exit=$?" >>"$2/meter.status"
		;;
	softflowd | softflowd-tuned)
		# softflowd 1.1.0 exits on SIGTERM without exporting what it holds.
		# "expire-all" exports every flow; the statistics after it say what
		# softflowd sent (it prints none at exit); "shutdown" then has
		# nothing left to export.
		softflowctl -c "$2/softflowd.ctl" statistics >"$2/softflowd.stats" 2>&1
		softflowctl -c "$2/softflowd.ctl" expire-all >>"$2/meter.err" 2>&1
		sleep 1
		softflowctl -c "$2/softflowd.ctl" statistics >"$2/softflowd.stats-end" 2>&1
		softflowctl -c "$2/softflowd.ctl" shutdown >>"$2/meter.err" 2>&1
		stop "$METER_PID" 60
		echo "exit=$?" >>"$2/meter.status"
		;;
	pmacctd | pmacctd-tuned)
		kill -INT "$METER_PID"
		stop "$METER_PID" 60
		echo "exit=$?" >>"$2/meter.status"
		;;
	ref-*)
		xdp_detach "$NS_M" "$IF_M" xdpdrv
		;;
	esac
}

# settle PID: wait until PID (and children) stop using CPU (a pcap meter may
# still be working through its capture ring when the replay ends): two
# half-second samples in a row without a tick, at most 30 s.
settle() {
	_se_last=$(proc_cpu_ms "$1") _se_quiet=0
	for _se in $(seq 60); do
		sleep 0.5
		_se_now=$(proc_cpu_ms "$1")
		if [ "$_se_now" = "$_se_last" ]; then
			_se_quiet=$((_se_quiet + 1))
			[ "$_se_quiet" -ge 2 ] && return 0
		else
			_se_quiet=0
		fi
		_se_last=$_se_now
	done
}

# replay METER RATE LOOPS: one measured replay; results in $res/METER-RATE/.
replay() {
	_d=$res/$1-$2
	mkdir -p "$_d/nfcapd"
	info "$1, $2: $3 loop(s) of the pcap"
	_export=1
	case $1 in none | ref-*) _export=0 ;; esac
	# UDP counters from before the collector starts until it has stopped:
	# every export datagram, templates and the shutdown export included.
	_udp0=$(udp_snmp)
	if [ "$_export" = 1 ]; then
		# The export as it leaves the meter, before nfcapd's socket can
		# drop any of it (tools/peers/wire.py counts its records).
		bg "$NS_M" dumpcap -P -i lo -f "udp dst port $PORT" -w "$_d/export.pcap" \
			>"$_d/dumpcap.log" 2>&1
		_cap=$!
		bg_track "$_cap"
		wait_for "$_d/dumpcap.log" "Capturing on" "$_cap" dumpcap
		# Stock: what nfcapd's man page shows. The tuned rows' collector
		# asks for a 64 MiB socket buffer as well.
		_nf_tune=""
		case $1 in *-tuned) _nf_tune="-B 67108864" ;; esac
		# shellcheck disable=SC2086 # empty, or flag and value
		bg "$NS_M" nfcapd -w "$_d/nfcapd" -p "$PORT" -b 127.0.0.1 $_nf_tune >"$_d/nfcapd.log" 2>&1
		_nf=$!
		bg_track "$_nf"
		wait_for "$_d/nfcapd.log" "Startup" "$_nf" nfcapd
	fi
	meter_start "$1" "$_d"
	_progs=""
	case $1 in
	bpfix-* | ref-*)
		_progs=$(bpf_progs "$NS_M" "$IF_M")
		[ -n "$_progs" ] || fail "no BPF program attached to $IF_M"
		echo "$_progs" >"$_d/bpf_progs"
		stats_on
		;;
	esac
	sleep 1
	case $2 in
	top) _rate=--topspeed ;;
	*) _rate=--pps=$PPS ;;
	esac
	# Sample, replay the mix, then the filler (mkpcap.py: it pushes the
	# mix's last packets out of a pcap meter's ring), let the meter catch
	# up, sample again. The receive counters cover the mix alone, the CPU
	# figures mix and filler.
	_rx0=$(link_stat "$NS_M" "$IF_M" rx_packets)
	_txd0=$(link_stat "$NS_S" "$IF_S" tx_dropped)
	[ -n "$METER_PID" ] && _c0=$(proc_cpu_ms "$METER_PID")
	# shellcheck disable=SC2086 # one program id per word
	[ -n "$_progs" ] && _b0=$(bpf_runtime $_progs)
	nsx "$NS_S" tcpreplay -i "$IF_S" "$_rate" --preload-pcap --loop="$3" "$mix/mix.pcap" \
		>"$_d/tcpreplay.out" 2>&1 || { cat "$_d/tcpreplay.out" >&2; fail "tcpreplay failed"; }
	sleep 0.3	# XDP on a veth: the last packets may still wait for NAPI
	_rx1=$(link_stat "$NS_M" "$IF_M" rx_packets)
	_txd1=$(link_stat "$NS_S" "$IF_S" tx_dropped)
	nsx "$NS_S" tcpreplay -i "$IF_S" --topspeed "$mix/filler.pcap" >"$_d/filler.out" 2>&1 ||
		{ cat "$_d/filler.out" >&2; fail "tcpreplay (filler) failed"; }
	if [ -n "$METER_PID" ]; then
		case $1 in bpfix-*) sleep 1.5 ;; *) settle "$METER_PID" ;; esac
		_c1=$(proc_cpu_ms "$METER_PID")
	fi
	# shellcheck disable=SC2086 # one program id per word
	[ -n "$_progs" ] && _b1=$(bpf_runtime $_progs)
	stats_off
	meter_stop "$1" "$_d"
	_sock=""
	if [ "$_export" = 1 ]; then
		sleep 1
		_sock=$(collector_socket)
		kill -INT "$_nf"
		stop "$_nf" 20
		kill -INT "$_cap"
		stop "$_cap" 20
		"$PY" "$here/tools/peers/wire.py" "$_d/export.pcap" >"$_d/wire.json" ||
			fail "$_d/export.pcap: cannot count the export"
	fi
	_udp1=$(udp_snmp)
	{
		echo "meter=$1"
		echo "rate=$2"
		echo "loops=$3"
		sed -n 's/^Actual: \([0-9]*\) packets .* sent in \([0-9.]*\) seconds.*/sent=\1\
seconds=\2/p; s/^Rated: .* \([0-9.]*\) pps.*/pps=\1/p; s/^[[:space:]]*Failed packets:[[:space:]]*\([0-9]*\)/failed=\1/p' \
			"$_d/tcpreplay.out"
		sed -n 's/^Actual: \([0-9]*\) packets .*/filler=\1/p' "$_d/filler.out"
		echo "rx=$((_rx1 - _rx0))"
		echo "tx_dropped=$((_txd1 - _txd0))"
		echo "$_udp0 $_udp1" | awk '{ printf "udp_out=%d\nudp_in=%d\nexport_rcvbuf_errors=%d\nudp_noports=%d\n",
			$5 - $1, $6 - $2, $7 - $3, $8 - $4 }'
		if [ -n "$_sock" ]; then
			echo "collector_rcvbuf=${_sock#rb=}" | sed 's/ drops=.*//'
			echo "collector_socket_drops=${_sock#* drops=}"
		fi
		[ -n "$METER_PID" ] && echo "proc_ms=$((_c1 - _c0))"
		[ -n "$_progs" ] && echo "$_b0 $_b1" | awk '{ printf "bpf_ns=%.0f\nbpf_runs=%.0f\n", $3 - $1, $4 - $2 }'
	} >"$_d/figures"
}

# ---- the runs ----------------------------------------------------------------

info "mix: $NPKTS packets, $NFLOWS flows; meters: $METERS"
# Full speed first without a meter: the rig's own rate sets the loop count.
replay none top 1
base_pps=$(sed -n 's/^pps=//p' "$res/none-top/figures")
loops_top=$(awk -v s="$SECONDS_PER_REPLAY" -v r="$base_pps" -v n="$NPKTS" \
	'BEGIN { l = int(s * r / n + 0.5); print l < 1 ? 1 : l }')
loops_mod=$(awk -v s="$SECONDS_PER_REPLAY" -v r="$PPS" -v n="$NPKTS" \
	'BEGIN { l = int(s * r / n + 0.5); print l < 1 ? 1 : l }')
rm -rf "$res/none-top"
for rate in top moderate; do
	[ "$rate" = top ] && loops=$loops_top || loops=$loops_mod
	for m in none $METERS; do
		replay "$m" "$rate" "$loops"
		case $m in none | ref-*) continue ;; esac
		"$PY" "$here/tools/peers/score.py" "$mix/mix.truth" "$loops" "$res/$m-$rate/nfcapd" \
			"$res/$m-$rate/mismatches.txt" >"$res/$m-$rate/score.json" ||
			fail "scoring $m at $rate failed"
	done
done

# ---- the section ---------------------------------------------------------------

versions() {
	echo "bpfix=$("$BPFIX" -V 2>&1 | head -n 1)"
	echo "softflowd=$(softflowd -h 2>&1 | sed -n 's/.*softflowd version \([^ .]*\.[^ ]*\)\..*/\1/p' | head -n 1)"
	echo "pmacctd=$(pmacctd -V 2>&1 | sed -n 's/.*pmacctd \([^ ]*\).*/\1/p' | head -n 1)"
	echo "nfcapd=$(nfcapd -V 2>&1 | sed -n 's/.*Version: //p')"
	echo "tcpreplay=$(tcpreplay -V 2>&1 | sed -n 's/^tcpreplay version: \([^ ]*\).*/\1/p')"
	echo "libpcap=$(dpkg-query -W -f '${Version}' libpcap0.8 2>/dev/null)"
	echo "rev=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1), $(nproc) CPUs online"
	echo "kernel=$(uname -r)"
	echo "rmem_max=$(cat "$res/rmem_max")"
	echo "rmem_default=$(cat "$res/rmem_default")"
	echo "pps=$PPS"
	echo "seconds=$SECONDS_PER_REPLAY"
	echo "meters=$METERS"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$res/versions"
versions
"$PY" "$here/tools/peers/report.py" "$res" "$mix/mix.summary" "$build" >"$out" ||
	fail "report failed"

if [ "$NO_DOC" = 1 ]; then
	echo "bench_peers: written to $out (BENCHMARKS.md left alone)" >&2
	exit 0
fi
# Copy over the old file rather than renaming a temporary one, so its owner
# and mode stay what they were. The file is looked at again: it may have
# changed in the minutes this took.
place=$(doc_place) || exit 1
if [ "$place" = insert ]; then
	awk -v h="$heading" -v b="$begin" -v e="$end" '
		$0 == h { seen = 1; print; next }
		seen == 1 && $0 == "Not measured yet." { print b; print e; seen = 2; next }
		{ print }' "$doc" >"$TEST_TMP/doc"
	cat "$TEST_TMP/doc" >"$doc"
fi
awk -v b="$begin" -v e="$end" -v f="$out" '
	$0 == b { print; print ""; while ((getline line < f) > 0) print line; print ""; skip = 1; next }
	$0 == e { skip = 0 }
	!skip { print }' "$doc" >"$TEST_TMP/doc"
cat "$TEST_TMP/doc" >"$doc"
echo "bench_peers: written to $doc (section 2) and $out" >&2
