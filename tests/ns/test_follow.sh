#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Following the node (issue 13, sections 1 and 2): one agent in namespace
# H with -i 'fw*' --exclude 'fwx*', veth pairs made and deleted under it,
# their other ends in namespace P. The links are quiet (no IPv6,
# permanent neighbours): only the pings sent cross them, and each veth's
# own counters (rx + tx, from its creation) are the ground truth of what
# bpfix must have counted on it.
#
#   1. nothing matches at start: said, not an error; fw1 created after the
#      start is attached within one sweep interval and its pings are in
#      the records exactly; fwx1 (excluded) and zz1 (no pattern) are not
#      attached, and no record names them;
#   2. fw2 deleted mid-flow (idle timeout far off): its flow is exported at
#      once, end reason forced end (4), exactly; the agent keeps running,
#      its lock file goes;
#   3. a rename out of the patterns lets fw3 go (its flow forced end), back
#      into them attaches it again;
#   4. ifindex reuse: fw4 made with index N, pinged, deleted; fw5 made with
#      the same index, pinged: each one's records name it, not the other;
#   5. churn: CHURN (200) veth pairs made and deleted in rounds while fw1
#      and fw6 carry pings: every attach and let go counted, none failed;
#      after it no qdisc, filter (bpftool net, tc filter show) or lock file
#      of a churned one is left; the agent's RSS is measured before and
#      after (flat: within CHURN_RSS_KIB); the steady interfaces' records
#      are exact;
#   6. SIGINT: exit status 0, nothing left on the interfaces, no lock;
#   7. an agent SIGKILLed with fw1's flows in its journal; fw1 deleted and
#      fw7 made with its index: the next agent exports fw1's flows under
#      fw1's name (forced end, exact) and fw7's under fw7's;
#   8. -m xdp: fx1's program removed behind the agent's back and its MTU
#      changed (as a driver may do): said, and attached again;
#   9. a receive buffer too small for a burst of 60 new links made while
#      the agent is stopped (SIGSTOP), fr1 deleted meanwhile: ENOBUFS, a
#      resync from a dump lets fr1 go and attaches the 60, counted;
#  10. -c file: fq1 and then fq2 with the same index: in the IPFIX file
#      (ipfixDump), each flow record of that index comes after an interface
#      table options record that gives it its own interface's name.
#
#   env BUILD=build sh tests/ns/test_follow.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
CHURN=${CHURN:-200}
CHURN_ROUND=${CHURN_ROUND:-25}
CHURN_RSS_KIB=${CHURN_RSS_KIB:-1024}
SWEEP_MS=500

need_root
need_cmds ip tc nsenter bpftool ping python3 stat ipfixDump
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
use_python3

NS_H=bpfix-$$-fh
NS_P=bpfix-$$-fp
for ns in "$NS_H" "$NS_P"; do
	netns_create "$ns"
	# shellcheck disable=SC2016 # for the inner sh
	nsx "$ns" sh -c 'for f in all default; do
		echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done' ||
		fail "cannot disable IPv6 in $ns"
done
NS_INO=$(stat -L -c %i "$NETNS_DIR/$NS_H")

# mkpair IF PEER N [INDEX]: IF in H (10.77.N.1) and PEER in P (10.77.N.2),
# quiet and up; IF gets ifindex INDEX when given.
mkpair() {
	ip -n "$NS_H" link add "$1" ${4:+index "$4"} type veth peer name "$2" netns "$NS_P" ||
		fail "cannot create veth pair $1/$2"
	ip -n "$NS_H" addr add "10.77.$3.1/24" dev "$1" &&
	ip -n "$NS_P" addr add "10.77.$3.2/24" dev "$2" &&
	ip -n "$NS_H" neigh replace "10.77.$3.2" dev "$1" nud permanent \
		lladdr "$(mac_of "$NS_P" "$2")" &&
	ip -n "$NS_P" neigh replace "10.77.$3.1" dev "$2" nud permanent \
		lladdr "$(mac_of "$NS_H" "$1")" &&
	ip -n "$NS_H" link set "$1" up &&
	ip -n "$NS_P" link set "$2" up || fail "cannot configure veth pair $1/$2"
}

# frames IF: what crossed IF in H since it was made (rx + tx + tx_dropped).
frames() {
	arrivals "$NS_H" "$1" tc
}

# wait_line PATTERN WHAT MS: up to MS milliseconds for PATTERN in the
# agent's stderr; prints how long it took (ms), fails after MS.
wait_line() {
	_wl_t0=$(now_ms)
	while ! grep -q -- "$1" "$AGENT_ERR"; do
		[ $(($(now_ms) - _wl_t0)) -gt "$3" ] && { cat "$AGENT_ERR" >&2; fail "$2: no '$1' within $3 ms"; }
		proc_alive "$AGENT_PID" || { cat "$AGENT_ERR" >&2; fail "bpfix exited"; }
		sleep 0.02
	done
	echo $(($(now_ms) - _wl_t0))
}

# pings NS N COUNT: COUNT pings from NS (P) to 10.77.N.1, all answered.
pings() {
	ping_ok "$1" "$3" "10.77.$2.1"
}

# locks: how many lock files of H's interfaces there are.
locks() {
	set -- /run/bpfix/"$NS_INO"-*.lock
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

# lock_of IFINDEX: bpfix's lock file for IFINDEX in H.
lock_of() {
	echo "/run/bpfix/$NS_INO-$1.lock"
}

# packets_in FILTER...: packets (both directions) in the records of RECS
# that match (agent_records first: it sets RECS, so not in a subshell).
packets_in() {
	echo $(($(rec_sum "$RECS" packets "$@") + $(rec_sum "$RECS" rev_packets "$@")))
}

# ---- 1. created after the start, excluded, unmatched ------------------------
T0=$(now_ms)
agent_start follow "$NS_H" 'fw*' --exclude 'fwx*' -f json --sweep-interval "$SWEEP_MS" \
	--idle-timeout 60 --active-timeout 120 --flows 4096
check "nothing matched at start: said" grep -q "no interface matches -i yet" "$AGENT_ERR"

mkpair fw1 p1 1
took=$(wait_line "fw1: attached" "fw1 created after start" "$SWEEP_MS")
info "fw1 attached $took ms after it was made (sweep interval $SWEEP_MS ms)"
mkpair fwx1 px1 2
mkpair zz1 pz1 3
sleep 0.3
check_eq "fwx1 (excluded): bpfix's lines about it" "$(grep -c 'fwx1' "$AGENT_ERR")" 0
check_eq "fwx1 (excluded)" "$(attached "$NS_H" fwx1)" "clsact 0, tcx 0, xdp 0"
check_eq "zz1 (no pattern)" "$(attached "$NS_H" zz1)" "clsact 0, tcx 0, xdp 0"
check_eq "fw1" "$(attached "$NS_H" fw1)" "clsact 0, tcx 2, xdp 0"
IDX1=$(ifindex_of "$NS_H" fw1)
check "fw1's lock file" test -e "$(lock_of "$IDX1")"
pings "$NS_P" 1 40
pings "$NS_P" 2 10
pings "$NS_P" 3 10

# ---- 2. deleted mid-flow ----------------------------------------------------
mkpair fw2 p2 4
wait_line "fw2: attached" "fw2" 5000 >/dev/null
IDX2=$(ifindex_of "$NS_H" fw2)
pings "$NS_P" 4 30
sleep 0.2
FW2=$(frames fw2)
ip -n "$NS_H" link del fw2 || fail "cannot delete fw2"
took=$(wait_line "fw2: let go (ifindex $IDX2, gone)" "fw2 deleted" 5000)
info "fw2 let go $took ms after it was deleted"
sleep $((SWEEP_MS * 3 / 1000 + 1))
check "bpfix still running after fw2 went" proc_alive "$AGENT_PID"
check "fw2's lock file removed" test ! -e "$(lock_of "$IDX2")"
agent_records now
check_eq "fw2: packets in its records = frames that crossed it ($FW2)" \
	"$(packets_in ifindex="$IDX2")" "$FW2"
check_eq "fw2: its records not ended forced (4)" \
	"$(rec_count "$RECS" ifindex="$IDX2" end_reason_code!=4)" 0
check "fw2: records there" test "$(rec_count "$RECS" ifindex="$IDX2")" -gt 0

# ---- 3. renamed out of the patterns and back ---------------------------------
mkpair fw3 p3 5
wait_line "fw3: attached" "fw3" 5000 >/dev/null
IDX3=$(ifindex_of "$NS_H" fw3)
pings "$NS_P" 5 12
sleep 0.2
FW3=$(frames fw3)
ip -n "$NS_H" link set fw3 name yy3 || fail "cannot rename fw3"
wait_line "fw3: let go (ifindex $IDX3, renamed yy3)" "fw3 renamed" 5000 >/dev/null
check_eq "yy3 (renamed out of the patterns)" "$(attached "$NS_H" yy3)" "clsact 0, tcx 0, xdp 0"
sleep 1
agent_records now
check_eq "fw3: packets in its forced-end records = frames ($FW3)" \
	"$(packets_in ifindex="$IDX3" end_reason_code=4 interface=fw3)" "$FW3"
ip -n "$NS_H" link set yy3 name fw3b || fail "cannot rename yy3"
wait_line "fw3b: attached (ifindex $IDX3)" "yy3 renamed fw3b" 5000 >/dev/null
check_eq "fw3b (renamed back into them)" "$(attached "$NS_H" fw3b)" "clsact 0, tcx 2, xdp 0"

# ---- 4. an ifindex reused ----------------------------------------------------
REUSE=$((IDX3 + 500))
mkpair fw4 p4 6 "$REUSE"
wait_line "fw4: attached (ifindex $REUSE)" "fw4" 5000 >/dev/null
pings "$NS_P" 6 7
sleep 0.2
FW4=$(frames fw4)
ip -n "$NS_H" link del fw4 || fail "cannot delete fw4"
mkpair fw5 p5 7 "$REUSE"
wait_line "fw5: attached (ifindex $REUSE)" "fw5 (fw4's index)" 5000 >/dev/null
pings "$NS_P" 7 9
FW5=$(frames fw5)

# ---- 5. churn -----------------------------------------------------------------
mkpair fw6 p6 8
wait_line "fw6: attached" "fw6" 5000 >/dev/null
# a long ping on each steady interface for the whole churn
nsx "$NS_P" ping -n -q -c 3000 -i 0.01 -W 2 10.77.1.1 >"$TEST_TMP/ping1" 2>&1 &
P1=$!
bg_track "$P1"
nsx "$NS_P" ping -n -q -c 3000 -i 0.01 -W 2 10.77.8.1 >"$TEST_TMP/ping6" 2>&1 &
P6=$!
bg_track "$P6"
sleep 0.5
RSS0=$(rss_kib "$AGENT_PID")
made=0 round=0 RSS_MID=0
while [ "$made" -lt "$CHURN" ]; do
	: >"$TEST_TMP/add" && : >"$TEST_TMP/del"
	i=0
	while [ "$i" -lt "$CHURN_ROUND" ] && [ "$made" -lt "$CHURN" ]; do
		printf 'link add fwc%d type veth peer name pc%d netns %s\n' "$made" "$made" "$NS_P" \
			>>"$TEST_TMP/add"
		printf 'link set fwc%d up\n' "$made" >>"$TEST_TMP/add"
		printf 'link del fwc%d\n' "$made" >>"$TEST_TMP/del"
		i=$((i + 1)) made=$((made + 1))
	done
	ip -n "$NS_H" -batch "$TEST_TMP/add" || fail "churn round $round: cannot create"
	wait_line "fwc$((made - 1)): attached" "churn round $round" 10000 >/dev/null
	ip -n "$NS_H" -batch "$TEST_TMP/del" || fail "churn round $round: cannot delete"
	round=$((round + 1))
	[ "$made" -eq $((CHURN / 2)) ] && RSS_MID=$(rss_kib "$AGENT_PID")
done
wait_line "fwc$((made - 1)): let go" "churn: the last one let go" 10000 >/dev/null
wait "$P1"; wait "$P6"
bg_untrack "$P1"; bg_untrack "$P6"
sleep 1
RSS1=$(rss_kib "$AGENT_PID")
info "churn: $made veth pairs in $round rounds; agent RSS $RSS0 KiB before, $RSS_MID KiB half way, $RSS1 KiB after"
check "agent RSS flat over the churn: $RSS0 -> $RSS1 KiB (within $CHURN_RSS_KIB)" \
	test $((RSS1 - RSS0)) -le "$CHURN_RSS_KIB"
check_eq "churned interfaces attached (lines)" "$(grep -c 'fwc[0-9]*: attached' "$AGENT_ERR")" "$made"
check_eq "churned interfaces let go (lines)" "$(grep -c 'fwc[0-9]*: let go' "$AGENT_ERR")" "$made"
check_eq "attach failures said" "$(grep -c 'cannot\|already metered\|at most' "$AGENT_ERR")" 0
check_eq "clsact qdiscs left in H (TCX needs none)" \
	"$(nsx "$NS_H" tc qdisc show | grep -c clsact)" 0
left=0 ours=0
for dev in $(ip -n "$NS_H" -o link show | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
	n=$(bpfix_tc "$NS_H" "$dev")
	case $dev in fw1|fw3b|fw5|fw6) ours=$((ours + n)) ;; *) left=$((left + n)) ;; esac
done
check_eq "bpfix's TCX links and tc filters in H (2 for each of fw1 fw3b fw5 fw6)" "$ours" 8
check_eq "bpfix's TCX links and tc filters on interfaces not metered" "$left" 0
check_eq "TCX link pins: those of fw1 fw3b fw5 fw6 only" \
	"$(ls "$AGENT_PIN" | grep -c '^tcx-')" 8
check_eq "lock files of H's interfaces (fw1 fw3b fw5 fw6)" \
	"$(locks)" 4

# ---- the steady and reused interfaces: exact ----------------------------------
FW1=$(frames fw1)
FW6=$(frames fw6)
FW5=$(frames fw5)
agent_stop
agent_records final
check_eq "fw1: packets in its records = frames that crossed it ($FW1)" \
	"$(packets_in interface=fw1)" "$FW1"
LOST_STEADY=$((FW1 + FW6 - $(packets_in interface=fw1) - $(packets_in interface=fw6)))
check_eq "fw6: packets in its records = frames that crossed it ($FW6)" \
	"$(packets_in interface=fw6)" "$FW6"
check_eq "fw4 (index $REUSE, deleted): packets in records named fw4 = its frames ($FW4)" \
	"$(packets_in interface=fw4)" "$FW4"
check_eq "fw5 (index $REUSE again): packets in records named fw5 = its frames ($FW5)" \
	"$(packets_in interface=fw5)" "$FW5"
check_eq "records of index $REUSE: all named fw4 or fw5" \
	"$(rec_count "$RECS" ifindex="$REUSE" interface!=fw4 interface!=fw5)" 0
check_eq "fw4's records: forced end" "$(rec_count "$RECS" interface=fw4 end_reason_code!=4)" 0
check_eq "records of fwx1, zz1 or a churned interface" \
	"$(grep -c 'interface=fwx1\|interface=zz1\|interface=fwc' "$RECS")" 0
records_sane
agent_exit_agrees
EXITL=$(grep '^bpfix exit: ' "$AGENT_ERR" | sed -n 's/.*| \(interfaces .*\)$/\1/p')
info "exit: $EXITL"
# attached: fw1 fw2 fw3 fw3b fw4 fw5 fw6 + churn; let go: fw2 fw3 fw4 + churn
check_eq "-v exit line: interfaces" "$EXITL" \
	"interfaces 0 attached $((made + 7)) let-go $((made + 3)) failed 0 resyncs 0"
for dev in fw1 fw3b fw5 fw6; do
	check_eq "$dev after exit" "$(attached "$NS_H" "$dev")" "clsact 0, tcx 0, xdp 0"
done
check_eq "lock files of H's interfaces after exit" \
	"$(locks)" 0
check "no pins left" test ! -e "$AGENT_PIN"
# ---- 7. a killed agent's flows, their interface gone and its number reused ----
PIN_TAG=crash
agent_start crash1 "$NS_H" 'fw*' -f json --sweep-interval "$SWEEP_MS" --idle-timeout 60 \
	--active-timeout 120 --flows 4096
B1=$(frames fw1)
pings "$NS_P" 1 12
sleep $((SWEEP_MS * 3 / 1000 + 1))
K1=$(($(frames fw1) - B1))
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
bg_untrack "$AGENT_PID"
ip -n "$NS_H" link del fw1 || fail "cannot delete fw1"
mkpair fw7 p7 9 "$IDX1"
agent_start crash2 "$NS_H" 'fw*' -f json --sweep-interval "$SWEEP_MS" --idle-timeout 60 \
	--active-timeout 120 --flows 4096
PIN_TAG=
check "restart: fw1's flows in the journal said gone" \
	grep -q "fw1 (ifindex $IDX1): gone since an earlier agent metered it" "$AGENT_ERR"
check "restart: fw7 attached under fw1's number $IDX1" \
	grep -q "fw7: attached (ifindex $IDX1)" "$AGENT_ERR"
pings "$NS_P" 9 5
K7=$(frames fw7)
agent_stop
agent_records crash2
check_eq "restart: packets in records named fw1 = what crossed it under the killed agent ($K1)" \
	"$(packets_in interface=fw1)" "$K1"
check_eq "restart: fw1's records not forced end" "$(rec_count "$RECS" interface=fw1 end_reason_code!=4)" 0
check_eq "restart: packets in records named fw7 = its frames ($K7)" "$(packets_in interface=fw7)" "$K7"
check_eq "restart: records of index $IDX1 named neither" \
	"$(rec_count "$RECS" ifindex="$IDX1" interface!=fw1 interface!=fw7)" 0
for dev in fw3b fw5 fw6 fw7; do
	check_eq "$dev after the restarted agent's exit" "$(attached "$NS_H" "$dev")" "clsact 0, tcx 0, xdp 0"
done
check_eq "lock files of H's interfaces after its exit" \
	"$(locks)" 0

# ---- 8. XDP: the program gone after an MTU change, attached again ----------
agent_start xdp "$NS_H" 'fx*' -m xdp -f json --sweep-interval "$SWEEP_MS"
mkpair fx1 px1x 10
wait_line "fx1: attached" "fx1 (XDP)" 5000 >/dev/null
check_eq "fx1 (native XDP)" "$(attached "$NS_H" fx1)" "clsact 0, tcx 0, xdp 1"
# what a driver that reconfigures for an MTU may do: drop the program
ip -n "$NS_H" link set dev fx1 xdp off || fail "cannot remove fx1's XDP program"
ip -n "$NS_H" link set dev fx1 mtu 1400 || fail "cannot set fx1's MTU"
wait_line "fx1: MTU 1500 -> 1400: bpfix's program is no longer attached; attaching again" \
	"fx1's MTU change" 5000 >/dev/null
wait_line "fx1: attached" "fx1 attached again" 5000 >/dev/null
sleep 0.2
check_eq "fx1 after the MTU change" "$(attached "$NS_H" fx1)" "clsact 0, tcx 0, xdp 1"
check "bpfix still running" proc_alive "$AGENT_PID"
agent_stop
check_eq "fx1 after exit" "$(attached "$NS_H" fx1)" "clsact 0, tcx 0, xdp 0"
check_eq "-v exit line (XDP): interfaces" \
	"$(grep '^bpfix exit: ' "$AGENT_ERR" | sed -n 's/.*| \(interfaces .*\)$/\1/p')" \
	"interfaces 0 attached 2 let-go 0 failed 0 resyncs 0"

# ---- 9. link events lost (ENOBUFS): a resync from a dump ---------------------
export BPFIX_NETLINK_RCVBUF=4096
agent_start resync "$NS_H" 'fr*' -f json --sweep-interval "$SWEEP_MS"
unset BPFIX_NETLINK_RCVBUF
mkpair fr1 pr1 11
wait_line "fr1: attached" "fr1" 5000 >/dev/null
IDXR=$(ifindex_of "$NS_H" fr1)
kill -STOP "$AGENT_PID"
: >"$TEST_TMP/burst"
for i in $(seq 60); do
	printf 'link add frn%d type veth peer name prn%d netns %s\n' "$i" "$i" "$NS_P" >>"$TEST_TMP/burst"
done
ip -n "$NS_H" -batch "$TEST_TMP/burst" || fail "cannot make the burst of links"
ip -n "$NS_H" link del fr1 || fail "cannot delete fr1"
kill -CONT "$AGENT_PID"
wait_line "link events lost (ENOBUFS): resynced" "the resync" 10000 >/dev/null
check "fr1, deleted while events were lost: let go" \
	grep -q "fr1: let go (ifindex $IDXR, gone while link events were lost)" "$AGENT_ERR"
wait_line "frn60: attached" "frn60 after the resync" 10000 >/dev/null
check_eq "the burst's interfaces attached, each once" \
	"$(grep -c 'frn[0-9]*: attached' "$AGENT_ERR")" 60
agent_stop
check "-v exit line: a resync counted" \
	sh -c "grep '^bpfix exit: ' '$AGENT_ERR' | grep -q 'failed 0 resyncs [1-9]'"
check_eq "lock files of H's interfaces after its exit" \
	"$(locks)" 0

# ---- 10. the IPFIX interface table as an ifindex is reused --------------------
agent_start ipfix "$NS_H" 'fq*' -c "file:$TEST_TMP/reuse.ipfix" --sweep-interval "$SWEEP_MS"
IDXQ=$((REUSE + 100))
mkpair fq1 pq1 12 "$IDXQ"
wait_line "fq1: attached (ifindex $IDXQ)" "fq1" 5000 >/dev/null
pings "$NS_P" 12 4
sleep $((SWEEP_MS * 3 / 1000 + 1))
ip -n "$NS_H" link del fq1 || fail "cannot delete fq1"
mkpair fq2 pq2 13 "$IDXQ"
wait_line "fq2: attached (ifindex $IDXQ)" "fq2 (fq1's index)" 5000 >/dev/null
pings "$NS_P" 13 4
sleep $((SWEEP_MS * 3 / 1000 + 1))
agent_stop
ipfixDump --in "$TEST_TMP/reuse.ipfix" >"$TEST_TMP/reuse.dump" 2>"$TEST_TMP/reuse.err"
check_eq "ipfixDump's complaints" "$(grep -c . "$TEST_TMP/reuse.err")" 0
# Each flow record of index IDXQ, in file order, against the name the
# interface table options record last gave that index: "net name" lines,
# net a (10.77.12.x: fq1's) or b (10.77.13.x: fq2's).
awk -v idx="$IDXQ" '
	function flush() {
		if (desc != "" && ing == idx)
			name = desc
		else if (src != "" && (ing == idx || eg == idx))
			print (src dst ~ /10\.77\.12\./ ? "a" : src dst ~ /10\.77\.13\./ ? "b" : "?"), name
		desc = ""; src = ""; dst = ""; ing = ""; eg = ""
	}
	/^--- /				{ flush() }
	/interfaceDescription :/	{ desc = $NF }
	/ ingressInterface :/		{ ing = $NF }
	/ egressInterface :/		{ eg = $NF }
	/ sourceIPv4Address :/		{ src = $NF }
	/ destinationIPv4Address :/	{ dst = $NF }
	END				{ flush() }' "$TEST_TMP/reuse.dump" >"$TEST_TMP/reuse.names"
check "IPFIX: fq1's flow records there" grep -q '^a ' "$TEST_TMP/reuse.names"
check "IPFIX: fq2's flow records there" grep -q '^b ' "$TEST_TMP/reuse.names"
check_eq "IPFIX: flow records of index $IDXQ the interface table names wrongly" \
	"$(grep -c -v -e '^a fq1$' -e '^b fq2$' "$TEST_TMP/reuse.names")" 0 ||
	sed 's/^/    /' "$TEST_TMP/reuse.names"

reliability "follow: $made veth pairs churned beside 2 steady ones" \
	"RSS $RSS0 -> $RSS1 KiB; fw1 $FW1 fw6 $FW6 frames" "$LOST_STEADY"
info "ran in $(elapsed)"
test_done
