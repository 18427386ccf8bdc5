#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Beside another owner's programs (issue 13, section 3). On B's ingress
# another program is attached first (tests/bpf/other.bpf.c: it counts what
# it sees, then passes, redirects out of a third veth, or drops); then
# bpfix, for each of TCX (the default: its links go first on the hook) and
# legacy tc (--tc-mode legacy: its filters at prio 2, the other's at 10).
# A sends N UDP datagrams to a socket in B at each step:
#  - bpfix runs ahead of the other (the hook's order), counts each
#    datagram, and the other's verdict stands: its counter moves by N, and
#    the socket gets N (pass), or nothing while the redirect's veth peer
#    receives N (redirect), or nothing (drop);
#  - bpfix SIGKILLed: the other is still there, working, and bpfix's
#    orphaned attachments go on metering into the pinned tables;
#  - bpfix restarted on the same pins: it takes its attachments over; the
#    other is removed and added again under it: bpfix keeps counting;
#  - bpfix stopped: the other is still there and working, nothing of
#    bpfix's is left.
# The records of the last agent hold exactly 3 N datagrams (the three
# rounds it or its predecessor metered). XDP, where bpfix shares a hook
# with no one (README, "Beside other programs"): with another owner's
# program put there by xdp-loader (libxdp), -m xdp-generic fails with one
# line and the other stays attached and dropping; with bpfix's there
# first, xdp-loader is refused and bpfix counts N exactly; -m tc beside
# an XDP program that passes counts N exactly and leaves it attached.
# Also: the new options' bad values (one line, exit 2), legacy filters at
# the --tc-prio and --tc-handle asked for, and a killed agent's filters at
# prio 1 (bpfix's slot before TCX) found and removed by a TCX or a legacy
# successor: 3 N datagrams exactly, none metered twice.
#
#   env BUILD=build sh tests/ns/test_coexist.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
OTHER_OBJ=$BUILD/tests/other.bpf.o
N=200
PORT=7001
need_root
need_cmds ip tc nsenter bpftool python3 xdp-loader
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
need_file "$OTHER_OBJ" "run make"
need_file "$TCX_TOOL" "run make"
T0=$(date +%s)

# ---- the options' bad values: one line, exit 2, nothing attached ------------------
for bad in "--tc-mode bogus|--tc-mode bogus: use auto, tcx or legacy" \
	"--tc-position middle|--tc-position middle: use first or last" \
	"--tc-prio 0|--tc-prio: 0 is out of range 1..65535" \
	"--tc-handle 0|--tc-handle 0: use 1..4294967295 or 0x1..0xffffffff" \
	"--tc-handle 0xzz|--tc-handle 0xzz: use 1..4294967295 or 0x1..0xffffffff"; do
	opt=${bad%%|*}
	# shellcheck disable=SC2086 # the option and its value
	"$BPFIX" -i lo $opt --pin-path "$BPFFS/bpfix-$$-bad" >/dev/null 2>"$TEST_TMP/bad.err"
	check_eq "$opt: exit status, stderr" "$?: $(cat "$TEST_TMP/bad.err")" "2: bpfix: ${bad#*|}"
done
check "bad values: nothing pinned" test ! -e "$BPFFS/bpfix-$$-bad"

quiet_pair coex 86 1
# The redirect's way out: coex-rx, whose peer coex-ry counts what arrives.
if ! { ip -n "$NS_B" link add coex-rx type veth peer name coex-ry &&
	ip -n "$NS_B" link set coex-rx up && ip -n "$NS_B" link set coex-ry up; }; then
	fail "cannot create the redirect's veth pair"
fi
bpf_load "$OTHER_OBJ" other
OTHER=$BPF_PIN
RX_IDX=$(ifindex_of "$NS_B" coex-rx)
# shellcheck disable=SC2046 # four words, the ifindex's bytes (little-endian)
nsx "$NS_B" bpftool map update pinned "$OTHER/maps/redirect_to" key 0 0 0 0 \
	value $(printf '%08x' "$RX_IDX" | sed 's/\(..\)\(..\)\(..\)\(..\)/0x\4 0x\3 0x\2 0x\1/') ||
	fail "cannot set redirect_to"

# other_seen: the other program's packet counter: in SEEN_MAP (bpftool's
# words for it), the one pinned with the programs unless seen_of says.
SEEN_MAP="pinned $OTHER/maps/seen"
other_seen() {
	# shellcheck disable=SC2086 # two words
	bpftool -j map dump $SEEN_MAP |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["formatted"]["value"])' ||
		fail "cannot read the other's counter ($SEEN_MAP)"
}

# seen_of PROG_ID: SEEN_MAP for a copy of the object loaded by someone
# else (xdp-loader): the "seen" map of that program.
seen_of() {
	SEEN_MAP="id $(python3 -c '
import json, subprocess, sys
show = lambda *a: json.loads(subprocess.check_output(["bpftool", "-j"] + list(a)))
for m in show("prog", "show", "id", sys.argv[1]).get("map_ids", []):
    if show("map", "show", "id", str(m))["name"] == "seen":
        print(m)' "$1")"
}

# A receiver in B counts the datagrams on PORT until none came for 1 s
# (at most 10 s); the sender in A sends N, 1 ms apart.
_coex_py='
import socket, sys, time
mode = sys.argv[1]
if mode == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], int(sys.argv[3])))
    open(sys.argv[4], "w").close()
    s.settimeout(1.5)
    n, t0 = 0, time.time()
    while time.time() - t0 < 10:
        try:
            s.recv(2048)
            n += 1
        except socket.timeout:
            break
    open(sys.argv[5], "w").write("%d\n" % n)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", int(sys.argv[4])))
    for i in range(int(sys.argv[5])):
        s.sendto(b"coexist %05d" % i, (sys.argv[2], int(sys.argv[3])))
        time.sleep(0.001)
'

# round WHAT VERDICT [SEEN]: N datagrams from A; the other counts SEEN
# (default N), and the verdict's outcome is what it says (checks).
round() {
	_r_what=$1 _r_v=$2 _r_n=${3:-$N}
	_r_seen=$(other_seen) _r_rx=$(dev_stat "$NS_B" coex-ry rx_packets)
	rm -f "$TEST_TMP/recv.ready" "$TEST_TMP/recv.count"
	nsx "$NS_B" python3 -c "$_coex_py" recv "$IP4_B" "$PORT" "$TEST_TMP/recv.ready" \
		"$TEST_TMP/recv.count" &
	_r_pid=$!
	bg_track "$_r_pid"
	wait_file "$TEST_TMP/recv.ready" "the receiver in $NS_B" "$_r_pid"
	nsx_timeout 20 "$NS_A" python3 -c "$_coex_py" send "$IP4_B" "$PORT" 40000 "$N" ||
		fail "$_r_what: cannot send"
	wait "$_r_pid"
	bg_untrack "$_r_pid"
	_r_got=$(cat "$TEST_TMP/recv.count")
	_r_out=$(($(dev_stat "$NS_B" coex-ry rx_packets) - _r_rx))
	case $_r_v in
	pass) _r_want="$N 0" ;;
	redir) _r_want="0 $N" ;;
	drop) _r_want="0 0" ;;
	esac
	check_eq "$_r_what: the other saw; received by the socket, out of the redirect" \
		"$(($(other_seen) - _r_seen)); $_r_got $_r_out" "$_r_n; $_r_want"
}

# bpfix's datagrams in the last agent's records
metered() {
	agent_records "$1"
	rec_sum "$RECS" packets protocol=17 src="$IP4_A" dport="$PORT"
}

# unlink_link PIN WANT: remove a TCX link's pin; the kernel releases the
# link (and detaches its program) in a work item soon after: wait up to
# 5 s for IF_B's hooks to read WANT.
unlink_link() {
	rm -f "$1"
	for _ul in $(seq 50); do
		[ "$(tcx_progs "$NS_B" "$IF_B")" = "$2" ] && return 0
		sleep 0.1
	done
}

kill9() {
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	bg_untrack "$AGENT_PID"
}

# ---- TCX ---------------------------------------------------------------------
tcx_case() {
	_v=$1
	info "TCX, the other ${_v}s ($(($(date +%s) - T0)) s)"
	PIN_TAG=tcx-$_v
	nsx "$NS_B" "$TCX_TOOL" attach "$IF_B" ingress "$OTHER/other_tc_$_v" "$OTHER/link-$_v" ||
		fail "cannot attach other_tc_$_v"
	defer "rm -f '$OTHER/link-$_v'"
	agent_start "tcx-$_v-1" "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60
	check_eq "bpfix's links first, the other's after" "$(tcx_progs "$NS_B" "$IF_B")" \
		"ingress: bpfix_tc_ingres other_tc_$_v / egress: bpfix_tc_egress"
	round "TCX $_v, bpfix running" "$_v"
	kill9
	check_eq "after SIGKILL: on the hook" "$(tcx_progs "$NS_B" "$IF_B")" \
		"ingress: bpfix_tc_ingres other_tc_$_v / egress: bpfix_tc_egress"
	round "TCX $_v, bpfix killed" "$_v"
	agent_start "tcx-$_v-2" "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60
	check_eq "restarted: the dead agent's links taken over" \
		"$(grep -c "^bpfix: $IF_B: an earlier agent's TCX .* link, .*: taken over$" "$AGENT_ERR")" 2
	unlink_link "$OTHER/link-$_v" "ingress: bpfix_tc_ingres / egress: bpfix_tc_egress"
	check_eq "the other removed: on the hook" "$(tcx_progs "$NS_B" "$IF_B")" \
		"ingress: bpfix_tc_ingres / egress: bpfix_tc_egress"
	nsx "$NS_B" "$TCX_TOOL" attach "$IF_B" ingress "$OTHER/other_tc_$_v" "$OTHER/link-$_v" ||
		fail "cannot attach other_tc_$_v again"
	round "TCX $_v, the other added again under bpfix" "$_v"
	LEFT_ON="clsact 0, tcx 1, xdp 0"	# the other's
	agent_stop "$NS_B" "$IF_B"
	LEFT_ON=
	check_eq "bpfix stopped: datagrams in its records (3 rounds)" "$(metered "tcx-$_v")" $((3 * N))
	check_eq "bpfix stopped: on the hook" "$(tcx_progs "$NS_B" "$IF_B")" \
		"ingress: other_tc_$_v / egress: "
	round "TCX $_v, bpfix stopped" "$_v"
	unlink_link "$OTHER/link-$_v" "ingress:  / egress: "
}

# ---- legacy tc ----------------------------------------------------------------
# tc's priorities on IF_B's ingress, in the order they run
prios() {
	nsx "$NS_B" tc filter show dev "$IF_B" ingress |
		sed -n 's/.* pref \([0-9]*\) bpf .* handle \(0x[0-9a-f]*\) \([a-z_]*\).*/\1:\3/p' | tr '\n' ' '
}

legacy_case() {
	_v=$1
	info "legacy tc, the other ${_v}s ($(($(date +%s) - T0)) s)"
	PIN_TAG=legacy-$_v
	nsx "$NS_B" tc qdisc add dev "$IF_B" clsact || fail "cannot add clsact to $IF_B"
	defer "nsenter --net='$NETNS_DIR/$NS_B' tc qdisc del dev '$IF_B' clsact 2>/dev/null"
	nsx "$NS_B" tc filter add dev "$IF_B" ingress prio 10 handle 1 bpf da \
		object-pinned "$OTHER/other_tc_$_v" || fail "cannot add other_tc_$_v"
	agent_start "legacy-$_v-1" "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60 \
		--tc-mode legacy
	check_eq "bpfix's filter first, the other's after" "$(prios)" \
		"2:bpfix_tc_ingres 10:other_tc_$_v "
	round "legacy $_v, bpfix running" "$_v"
	kill9
	check_eq "after SIGKILL: filters" "$(prios)" "2:bpfix_tc_ingres 10:other_tc_$_v "
	round "legacy $_v, bpfix killed" "$_v"
	agent_start "legacy-$_v-2" "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60 \
		--tc-mode legacy
	check_eq "restarted: the dead agent's filters taken over" \
		"$(grep -c "^bpfix: $IF_B: an earlier agent's tc .* filter, .*: taken over$" "$AGENT_ERR")" 2
	nsx "$NS_B" tc filter del dev "$IF_B" ingress prio 10 handle 1 bpf ||
		fail "cannot remove other_tc_$_v"
	check_eq "the other removed: filters" "$(prios)" "2:bpfix_tc_ingres "
	nsx "$NS_B" tc filter add dev "$IF_B" ingress prio 10 handle 1 bpf da \
		object-pinned "$OTHER/other_tc_$_v" || fail "cannot add other_tc_$_v again"
	round "legacy $_v, the other added again under bpfix" "$_v"
	LEFT_ON="clsact 1, tcx 0, xdp 0"	# the other's
	agent_stop "$NS_B" "$IF_B"
	LEFT_ON=
	check_eq "bpfix stopped: datagrams in its records (3 rounds)" "$(metered "legacy-$_v")" \
		$((3 * N))
	check_eq "bpfix stopped: filters" "$(prios)" "10:other_tc_$_v "
	round "legacy $_v, bpfix stopped" "$_v"
	nsx "$NS_B" tc qdisc del dev "$IF_B" clsact
}

for v in pass redir drop; do
	tcx_case "$v"
	legacy_case "$v"
done

# ---- XDP ------------------------------------------------------------------------
# Another owner's XDP program goes on through libxdp (xdp-loader), as a
# libxdp user's would: in a dispatcher where the kernel can run one, else
# (as here: no freplace programs, README) alone.
info "XDP: another owner's program through xdp-loader ($(($(date +%s) - T0)) s)"
# libxdp keeps its lock (and any dispatcher's pins) under $BPFFS/xdp
[ -e "$BPFFS/xdp" ] || defer "rmdir '$BPFFS/xdp' 2>/dev/null"
nsx "$NS_B" xdp-loader load -m skb "$IF_B" "$OTHER_OBJ" -n other_xdp_drop ||
	fail "xdp-loader cannot load other_xdp_drop"
defer "nsenter --net='$NETNS_DIR/$NS_B' xdp-loader unload '$IF_B' --all"
ON_XDP=$(xdp_mode "$NS_B" "$IF_B")
ON_NAME=$(bpftool -j prog show id "${ON_XDP#generic }" | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
nsx_timeout 20 "$NS_B" "$BPFIX" -i "$IF_B" -m xdp-generic --pin-path "$BPFFS/bpfix-$$-xdp" \
	>"$TEST_TMP/xdp.out" 2>"$TEST_TMP/xdp.err"
check_eq "-m xdp-generic beside it: exit status" "$?" 1
check_eq "-m xdp-generic beside it: one line" "$(cat "$TEST_TMP/xdp.err")" \
	"bpfix: $IF_B: XDP program '$ON_NAME' (id ${ON_XDP#generic }) is attached; bpfix leaves it alone (meter $IF_B with -m tc)"
check_eq "the other XDP program still attached" "$(xdp_mode "$NS_B" "$IF_B")" "$ON_XDP"
check "no pins left" test ! -e "$BPFFS/bpfix-$$-xdp"
seen_of "${ON_XDP#generic }"
round "XDP drop, bpfix refused" drop
nsx "$NS_B" xdp-loader unload "$IF_B" --all || fail "xdp-loader cannot unload"

info "XDP: bpfix first, then xdp-loader ($(($(date +%s) - T0)) s)"
PIN_TAG=xdp-first
agent_start xdp-first "$NS_B" "$IF_B" -m xdp-generic -f json --idle-timeout 60 \
	--active-timeout 60
OURS=$(xdp_mode "$NS_B" "$IF_B")
check "xdp-loader refuses to replace bpfix's program" \
	sh -c "! nsenter --net='$NETNS_DIR/$NS_B' xdp-loader load -m skb '$IF_B' '$OTHER_OBJ' \
		-n other_xdp_drop 2>'$TEST_TMP/loader.err'"
check_eq "bpfix's program still attached" "$(xdp_mode "$NS_B" "$IF_B")" "$OURS"
SEEN_MAP="pinned $OTHER/maps/seen"
round "XDP, bpfix alone (the other's counter moves by nothing)" pass 0
agent_stop "$NS_B" "$IF_B"
check_eq "bpfix stopped: datagrams in its records" "$(metered xdp-first)" "$N"

info "-m tc beside another owner's XDP program ($(($(date +%s) - T0)) s)"
PIN_TAG=tc-xdp
nsx "$NS_B" xdp-loader load -m skb "$IF_B" "$OTHER_OBJ" -n other_xdp_pass ||
	fail "xdp-loader cannot load other_xdp_pass"
agent_start tc-xdp "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60
_x=$(xdp_mode "$NS_B" "$IF_B")
seen_of "${_x#generic }"
round "XDP pass, bpfix on tc" pass
LEFT_ON="clsact 0, tcx 0, xdp 1"	# the other's
agent_stop "$NS_B" "$IF_B"
LEFT_ON=
check_eq "bpfix stopped: datagrams in its records" "$(metered tc-xdp)" "$N"
check_eq "the other XDP program still attached" "$(xdp_mode "$NS_B" "$IF_B" | cut -d' ' -f1)" generic
nsx "$NS_B" xdp-loader unload "$IF_B" --all
SEEN_MAP="pinned $OTHER/maps/seen"

info "legacy tc at --tc-prio 7 --tc-handle 0x1234 ($(($(date +%s) - T0)) s)"
PIN_TAG=slot
agent_start slot "$NS_B" "$IF_B" -f json --tc-mode legacy --tc-prio 7 --tc-handle 0x1234
check_eq "filters at the slot asked for" "$(nsx "$NS_B" tc filter show dev "$IF_B" egress |
	sed -n 's/.* pref \([0-9]*\) bpf .* handle \(0x[0-9a-f]*\) \([a-z_]*\).*/\1 \2 \3/p')" \
	"7 0x1234 bpfix_tc_egress"
agent_stop "$NS_B" "$IF_B"

# ---- a dead agent's filters at another priority -----------------------------------
# bpfix attached at prio 1 before TCX (and at any --tc-prio since): its
# successor must find those filters wherever they are, or they would meter
# into the tables it adopts beside its own programs, each packet twice.
for next in "" "--tc-mode legacy"; do
	info "a killed agent's filters at prio 1, then bpfix ${next:-(TCX)} ($(($(date +%s) - T0)) s)"
	PIN_TAG=moved-${next:+legacy}
	agent_start "moved1${next:+-legacy}" "$NS_B" "$IF_B" -f json --idle-timeout 60 \
		--active-timeout 60 --tc-mode legacy --tc-prio 1
	round "prio 1 agent" pass 0
	kill9
	round "prio 1 agent killed" pass 0
	# shellcheck disable=SC2086 # no words or two
	agent_start "moved2${next:+-legacy}" "$NS_B" "$IF_B" -f json --idle-timeout 60 \
		--active-timeout 60 $next
	check_eq "restarted: the dead agent's prio 1 filters removed" \
		"$(grep -c "^bpfix: $IF_B: an earlier agent's tc .* filter, .*: removed$" "$AGENT_ERR")" 2
	if [ -n "$next" ]; then
		check_eq "restarted: filters" "$(prios)" "2:bpfix_tc_ingres "
	else
		check_eq "restarted: filters, TCX links" "$(prios)$(tcx_progs "$NS_B" "$IF_B")" \
			"ingress: bpfix_tc_ingres / egress: bpfix_tc_egress"
	fi
	round "restarted" pass 0
	# the dead agent's clsact goes too, with nothing left on it
	agent_stop "$NS_B" "$IF_B"
	check_eq "stopped: datagrams in the records (3 rounds, none twice)" \
		"$(metered "moved2${next:+-legacy}")" $((3 * N))
	nsx "$NS_B" tc qdisc del dev "$IF_B" clsact 2>/dev/null
done

PIN_TAG=''
info "took $(($(date +%s) - T0)) s"
test_done
