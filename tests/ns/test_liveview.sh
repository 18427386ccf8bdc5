#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# The live view (issue 14, part 2): the agent's flow table is the pinned map
# PIN/flows, typed by the object's BTF, so `bpftool map dump` shows every
# live flow by field name.
#
# A quiet veth pair; bpfix (tc) on B's end with timeouts of 10 minutes, so
# nothing is exported while the test looks. A pings B 4 times and sends B's
# UDP echo server 3 datagrams (100, 200, 300 bytes) from port 40001. After
# a sweep, `bpftool -j map dump pinned PIN/flows`, read by field name
# (lib.sh's flow_entries), must hold exactly those two conversations: each
# direction on its own side of one entry, with its addresses, ports, packet
# and octet counts, interface and direction, and first/last timestamps
# inside the time the traffic was sent; every other entry says used 0.
#
#   env BUILD=build sh tests/ns/test_liveview.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
FLOWS=1024
UDP_PORT=5001
UDP_SPORT=40001
ICMP_ECHO_REQUEST=2048	# type << 8 | code, as the key holds it
ICMP_ECHO_REPLY=0

use_python3
need_root
need_cmds ip nsenter bpftool python3 ping timeout awk
command -v tmux >/dev/null || fail "tmux is missing (tools/deps.sh installs it)"
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

quiet_pair lv 84 7
IFX_B=$(ifindex_of "$NS_B" "$IF_B")

agent_start lv "$NS_B" "$IF_B" --flows "$FLOWS" --idle-timeout 600 --active-timeout 600 \
	--sweep-interval 200 -f json
T_SENT0=$(now_ms)
ping_ok "$NS_A" 4 "$IP4_B"
udp_exchange "$NS_A" "$NS_B" "$IP4_B" "$UDP_PORT" "$UDP_SPORT" 100 200 300
T_SENT1=$(now_ms)
sleep 0.6			# a sweep folds them into the table

# ---- bpftool, by field name ---------------------------------------------
check "PIN/flows is an mmapable array of struct flowtab_entry with BTF" \
	sh -c "bpftool map show pinned '$AGENT_PIN/flows' | grep -q 'flags 0x400' &&
		bpftool map show pinned '$AGENT_PIN/flows' | grep -q btf_id &&
		bpftool btf dump id \$(bpftool map show pinned '$AGENT_PIN/flows' |
			sed -n 's/.*btf_id \([0-9]*\).*/\1/p') | grep -q \"STRUCT 'flowtab_entry'\""
ENTRIES=$TEST_TMP/flows.txt
flow_entries "$AGENT_PIN/flows" >"$ENTRIES"
info "live flows:"
sed 's/^/    /' "$ENTRIES"

check_eq "every entry dumped, all but the two conversations' with used 0" \
	"$(tail -n 1 "$ENTRIES")" "unused=$((FLOWS - 2)) total=$FLOWS"
check_eq "nothing exported yet" "$(wc -l <"$AGENT_OUT")" 0

# side_is WHAT FILTER... EXPECTED: the one side matching FILTER has EXPECTED
# (side_packets side_octets side_ifindex side_direction)
side_is() {
	_si_what=$1
	shift
	_si_want=$(eval echo "\${$#}")
	_si_n=$(($# - 1))
	_si_flt=""
	while [ "$_si_n" -gt 0 ]; do
		_si_flt="$_si_flt $1"
		shift
		_si_n=$((_si_n - 1))
	done
	# shellcheck disable=SC2086 # the filters are words
	check_eq "$_si_what" \
		"$(rec_fields "$ENTRIES" side_packets,side_octets,side_ifindex,side_direction $_si_flt)" \
		"$_si_want"
	# shellcheck disable=SC2086
	_si_first=$(rec_get "$ENTRIES" side_first_ms $_si_flt)
	# shellcheck disable=SC2086
	_si_last=$(rec_get "$ENTRIES" side_last_ms $_si_flt)
	check "$_si_what: first/last ($_si_first..$_si_last) within the sending ($T_SENT0..$T_SENT1 ms)" \
		[ "${_si_first:-0}" -ge $((T_SENT0 - 1000)) ] && [ "${_si_first:-0}" -le "${_si_last:-0}" ] &&
		[ "${_si_last:-0}" -le $((T_SENT1 + 1000)) ]
}

# IPv4 ICMP echo: 4 requests in, 4 replies out, 84 octets each
side_is "ICMP echo requests A -> B" protocol=1 "src=$IP4_A" "dst=$IP4_B" \
	"dst_port=$ICMP_ECHO_REQUEST" \
	"side_packets=4 side_octets=336 side_ifindex=$IFX_B side_direction=0"
side_is "ICMP echo replies B -> A" protocol=1 "src=$IP4_B" "dst=$IP4_A" \
	"dst_port=$ICMP_ECHO_REPLY" \
	"side_packets=4 side_octets=336 side_ifindex=$IFX_B side_direction=1"
check_eq "the ICMP conversation is one entry" \
	"$(rec_get "$ENTRIES" entry protocol=1 side=0)" "$(rec_get "$ENTRIES" entry protocol=1 side=1)"
# UDP: 3 datagrams each way, IP total length 128 + 228 + 328
side_is "UDP A:$UDP_SPORT -> B:$UDP_PORT" protocol=17 "src=$IP4_A" "dst=$IP4_B" \
	"src_port=$UDP_SPORT" "dst_port=$UDP_PORT" \
	"side_packets=3 side_octets=684 side_ifindex=$IFX_B side_direction=0"
side_is "UDP B:$UDP_PORT -> A:$UDP_SPORT" protocol=17 "src=$IP4_B" "dst=$IP4_A" \
	"src_port=$UDP_PORT" "dst_port=$UDP_SPORT" \
	"side_packets=3 side_octets=684 side_ifindex=$IFX_B side_direction=1"
check_eq "the UDP conversation is one entry" \
	"$(rec_get "$ENTRIES" entry protocol=17 side=0)" \
	"$(rec_get "$ENTRIES" entry protocol=17 side=1)"

# ---- bpfix top -n 1 -----------------------------------------------------
# top_row FILE PROTO: "BYTES PACKETS RATE IFACE" of the one PROTO row
top_row() {
	awk -v p="$2" '$6 == p { n++; r = $1 " " $2 " " $3 " " $5 } END { print n == 1 ? r : "rows:" n + 0 }' "$1"
}
TOP=$TEST_TMP/top.txt
nsx_timeout 10 "$NS_B" "$BPFIX" top --pin-path "$AGENT_PIN" -n 1 -d 0.5 >"$TOP"
check_eq "bpfix top -n 1 -d 0.5: exit status" "$?" 0
info "bpfix top -n 1:"
sed 's/^/    /' "$TOP"
check_eq "top: the header says 2 flows of $FLOWS" \
	"$(sed -n 's/^flows \([0-9]*\) of \([0-9]*\),.*/\1 \2/p' "$TOP")" "2 $FLOWS"
check_eq "top: the UDP conversation, both ways, no traffic in the interval" \
	"$(top_row "$TOP" udp)" "1368 6 0 $IF_B"
check_eq "top: the ICMP conversation" "$(top_row "$TOP" icmp)" "672 8 0 $IF_B"
check "top: the UDP row names both ends" \
	grep -q "udp   $IP4_A:$UDP_SPORT <-> $IP4_B:$UDP_PORT\$" "$TOP"
check_eq "top: sorted by bytes, UDP first" "$(awk '$6 ~ /^(udp|icmp)$/ { print $6 }' "$TOP" | head -n 1)" udp
check_eq "top -s packets: ICMP first" \
	"$(nsx_timeout 10 "$NS_B" "$BPFIX" top --pin-path "$AGENT_PIN" -n 1 -d 0.2 -s packets |
		awk '$6 ~ /^(udp|icmp)$/ { print $6 }' | head -n 1)" icmp

# The rate is over the interval: a conversation that comes during it.
nsx "$NS_B" "$BPFIX" top --pin-path "$AGENT_PIN" -n 1 -d 6 -s rate >"$TOP" 2>&1 &
TOP_PID=$!
bg_track "$TOP_PID"
sleep 0.3
udp_exchange "$NS_A" "$NS_B" "$IP4_B" "$UDP_PORT" $((UDP_SPORT + 1)) 1000 1000
wait "$TOP_PID"
check_eq "top -n 1 -d 6 -s rate exits 0" "$?" 0
bg_untrack "$TOP_PID"
sed 's/^/    /' "$TOP"
_r=$(awk -v f="$IP4_A:$((UDP_SPORT + 1))" '$0 ~ f { print $1, $3 }' "$TOP")
check "top: the new conversation's rate ($_r: BYTES RATE) is its 4112 bytes over 6 s" \
	[ "${_r%% *}" = 4112 ] && [ "${_r#* }" -ge 600 ] && [ "${_r#* }" -le 800 ]
check_eq "top -s rate: it comes first" \
	"$(awk '$6 ~ /^(udp|icmp)$/ { print $7 }' "$TOP" | head -n 1)" "$IP4_A:$((UDP_SPORT + 1))"

check_eq "top, no agent there: one line, exit 1" \
	"$("$BPFIX" top --pin-path "$AGENT_PIN-none" -n 1 2>&1; echo "exit $?")" \
	"bpfix top: $AGENT_PIN-none/flows: no flow table there (is bpfix running with --pin-path $AGENT_PIN-none?)
exit 1"

# ---- bpfix top in a terminal (tmux) ---------------------------------------
# appears FILE: within 10 s
appears() {
	_fa_i=0
	while [ "$_fa_i" -lt 100 ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
		_fa_i=$((_fa_i + 1))
	done
	return 1
}
TMUX_SOCK=bpfix-$$-lv		# a server of our own
TTY0=$TEST_TMP/stty.before TTY1=$TEST_TMP/stty.after TOPRC=$TEST_TMP/top.rc
tmux -L "$TMUX_SOCK" new-session -d -s top -x 132 -y 20 sh ||
	fail "cannot start a tmux session"
defer "tmux -L '$TMUX_SOCK' kill-server"
tmux -L "$TMUX_SOCK" send-keys -t top "stty -g >$TTY0; nsenter --net=$NETNS_DIR/$NS_B \
$BPFIX top --pin-path $AGENT_PIN -d 0.5; echo \$? >$TOPRC; stty -g >$TTY1; clear" Enter
# pane_has TEXT: within 10 s, the pane shows TEXT
# shellcheck disable=SC2317 # called through check
pane_has() {
	_ph_i=0
	while [ "$_ph_i" -lt 100 ]; do
		tmux -L "$TMUX_SOCK" capture-pane -p -t top | grep -qF -- "$1" && return 0
		sleep 0.1
		_ph_i=$((_ph_i + 1))
	done
	tmux -L "$TMUX_SOCK" capture-pane -p -t top | sed 's/^/    /' >&2
	return 1
}
check "tmux: top shows its header" pane_has "BYTES    PACKETS  RATE B/s DURATION  IFACE"
check "tmux: ... and the UDP conversation on $IF_B" \
	pane_has "$IF_B       udp   $IP4_A:$UDP_SPORT <-> $IP4_B:$UDP_PORT"
tmux -L "$TMUX_SOCK" capture-pane -p -t top | sed -n '1,8s/^/    /p'
PANE_TTY=$(tmux -L "$TMUX_SOCK" display -p -t top '#{pane_tty}')
check "tmux: while top runs, its terminal takes keys unbuffered, unechoed" \
	sh -c "stty -F '$PANE_TTY' -a | grep -q -- '-icanon.*-echo '"
tmux -L "$TMUX_SOCK" send-keys -t top p
check "tmux: key p sorts by packets" pane_has "sort: packets"
tmux -L "$TMUX_SOCK" send-keys -t top q
check "tmux: key q ends it" appears "$TOPRC"
check_eq "tmux: top's exit status" "$(cat "$TOPRC" 2>/dev/null)" 0
appears "$TTY1"
check_eq "tmux: the terminal's settings restored (stty -g)" \
	"$(cat "$TTY1" 2>/dev/null)" "$(cat "$TTY0")"
# and on SIGTERM
rm -f "$TOPRC" "$TTY1"
tmux -L "$TMUX_SOCK" send-keys -t top "nsenter --net=$NETNS_DIR/$NS_B $BPFIX top \
--pin-path $AGENT_PIN -d 0.5; echo \$? >$TOPRC; stty -g >$TTY1; clear" Enter
check "tmux: top runs again" pane_has "sort: bytes (b p r: sort, q: quit)"
TOP_PID=$(pgrep -P "$(tmux -L "$TMUX_SOCK" display -p -t top '#{pane_pid}')" | head -n 1)
kill -TERM "${TOP_PID:-0}"
check "tmux: SIGTERM ends it" appears "$TOPRC"
check_eq "tmux: top's exit status after SIGTERM" "$(cat "$TOPRC" 2>/dev/null)" 0
appears "$TTY1"
check_eq "tmux: the terminal's settings restored after SIGTERM" \
	"$(cat "$TTY1" 2>/dev/null)" "$(cat "$TTY0")"

agent_stop "$NS_B" "$IF_B"
check_eq "at exit: the three conversations exported" "$(wc -l <"$AGENT_OUT")" 3
test_done
