# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Variables set here for the sourcing test (NS_A, IP4_B, XDP_ERR, ...) look
# unused to shellcheck:
# shellcheck disable=SC2034
#
# Library for the namespace tests (tests/ns/test_*.sh); POSIX sh, source it:
#
#   . "$(dirname "$0")/lib.sh"
#
# It builds network namespaces joined by veth pairs, loads and pins the BPF
# objects, attaches them, reads pinned maps through bpftool's BTF-formatted
# JSON, sends traffic it checks, runs the agent and reads its JSON records,
# and tears everything down on any exit (EXIT, INT, TERM, HUP).
#
#   exit codes      0 pass, 1 fail, 77 skip (skip REASON)
#   BPFIX_TEST_KEEP=1   leave namespaces, pins and processes up for
#                       debugging; the commands that would remove them are
#                       printed instead of run
#
# Everything a test creates is named after the shell's pid, so runs in
# parallel never meet: namespaces bpfix-PID-TAG-a / -b, pins under
# /sys/fs/bpf/bpfix-PID-TAG. Nothing here touches the host's interfaces.
#
# The host's bpffs is not visible through `ip netns exec` or `ip -n` (they
# remount /sys), so commands that name pinned objects run through nsx, which
# switches only the network namespace.
#
# Functions use a per-function prefix for their variables (no `local` in
# POSIX sh).

set -u

T=$(basename "$0" .sh)
BUILD=${BUILD:-build}
BPFIX_TEST_KEEP=${BPFIX_TEST_KEEP:-0}
BPFFS=/sys/fs/bpf
NETNS_DIR=/var/run/netns

_fails=0
_cleanup_cmds=""	# newest first, one command per line
_cleaned=0

# ---- messages and verdicts ------------------------------------------------

info() {
	printf '%s: %s\n' "$T" "$*"
}

# One line naming the failure, then exit 1 (the EXIT trap cleans up).
fail() {
	printf '%s: FAIL: %s\n' "$T" "$*" >&2
	exit 1
}

skip() {
	printf '%s: SKIP: %s\n' "$T" "$*"
	exit 77
}

# check_eq WHAT GOT WANT: one line either way; failures are counted and the
# test goes on, so one run shows every wrong value. Returns 0 when equal.
check_eq() {
	if [ "$2" = "$3" ]; then
		printf '  ok   %s = %s\n' "$1" "$2"
		return 0
	fi
	printf '  FAIL %s = %s, expected %s\n' "$1" "$2" "$3"
	_fails=$((_fails + 1))
	return 1
}

# check WHAT COMMAND...: the command's success is the assertion.
check() {
	_ck_what=$1
	shift
	if "$@"; then
		printf '  ok   %s\n' "$_ck_what"
		return 0
	fi
	printf '  FAIL %s\n' "$_ck_what"
	_fails=$((_fails + 1))
	return 1
}

# Exit with the verdict of every check so far.
test_done() {
	if [ "$_fails" -ne 0 ]; then
		printf '%s: FAIL: %d check(s) failed\n' "$T" "$_fails" >&2
		exit 1
	fi
	info "PASS"
	exit 0
}

# reliability CASE HELD LOST: one row of RELIABILITY.md (tools/soak.sh
# collects these lines from every suite it runs): the case, what was held
# (load, fault, inputs; with the figures measured) and the records or
# packets lost silently, which must be 0 for the test to pass.
reliability() {
	printf 'reliability: %s | %s | %s\n' "$1" "$2" "$3"
}

# SOAK=1 (make soak) selects the long variant of a test.
SOAK=${SOAK:-0}

# ---- prerequisites --------------------------------------------------------

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (namespaces, BPF)"
}

need_cmds() {
	for _nc in "$@"; do
		command -v "$_nc" >/dev/null 2>&1 || skip "command not found: $_nc"
	done
}

need_bpffs() {
	[ "$(stat -f -c %T "$BPFFS" 2>/dev/null)" = bpf_fs ] && return 0
	mount -t bpf bpf "$BPFFS" 2>/dev/null || skip "cannot mount bpffs at $BPFFS"
}

need_file() {
	[ -e "$1" ] || skip "$1 missing (${2:-run make first})"
}

# use_python3: from here on `python3` is one interpreter, for the test and
# lib.sh's helpers alike, found once (a pyenv shim costs a second per start
# on a busy machine): $PYTHON3 if set, else /usr/bin/python3 (Debian's,
# which has scapy), else the first on PATH. A link to it in $TEST_TMP/bin
# goes first in PATH. Sets PYTHON3 (empty when there is none: need_cmds
# python3 then skips). Call it before need_cmds.
use_python3() {
	PYTHON3=${PYTHON3:-$(command -v /usr/bin/python3 || command -v python3)}
	if [ -n "$PYTHON3" ]; then
		mkdir -p "$TEST_TMP/bin" && ln -sf "$PYTHON3" "$TEST_TMP/bin/python3" &&
			PATH=$TEST_TMP/bin:$PATH
	fi
}

# ---- cleanup --------------------------------------------------------------

# defer COMMAND: run COMMAND (a string, eval'd) at cleanup, newest first.
defer() {
	_cleanup_cmds="$1
$_cleanup_cmds"
}

cleanup() {
	[ "$_cleaned" = 1 ] && return 0
	_cleaned=1
	if [ "$BPFIX_TEST_KEEP" = 1 ]; then
		info "BPFIX_TEST_KEEP=1: topology left up; to remove it:"
		printf '%s\n' "$_cleanup_cmds" | sed -n '/^for _p in/d; s/^./    &/p'
		[ -n "${_bg_pids# }" ] && printf '    kill%s\n' "${_bg_pids% }"
		return 0
	fi
	printf '%s\n' "$_cleanup_cmds" | while IFS= read -r _cu; do
		[ -n "$_cu" ] && eval "$_cu" >/dev/null 2>&1
	done
	return 0
}

# shellcheck disable=SC2154 # _rc is assigned inside the trap
trap '_rc=$?; cleanup; exit $_rc' EXIT
trap 'info "interrupted (SIGINT)"; exit 130' INT
trap 'info "terminated (SIGTERM)"; exit 143' TERM
trap 'info "hangup (SIGHUP)"; exit 129' HUP

# Background processes this test started and has not reaped: cleanup kills
# them by pid; once reaped a pid is forgotten, so a recycled pid is never hit.
_bg_pids=" "
bg_track() {
	if [ -z "${_bg_defer:-}" ]; then
		_bg_defer=1
		# shellcheck disable=SC2016 # expanded at cleanup
		defer 'for _p in $_bg_pids; do kill "$_p"; done'
	fi
	_bg_pids="$_bg_pids$1 "
}
bg_untrack() {
	_bg_pids=$(printf '%s' "$_bg_pids" | sed "s/ $1 / /")
}

# TEST_TMP: a private temporary directory, removed at cleanup. Made here,
# not on demand: a function called in $(...) runs in a subshell and could
# not register it.
TEST_TMP=$(mktemp -d "/tmp/bpfix-$$-XXXXXX") || fail "mktemp failed"
defer "rm -rf '$TEST_TMP'"

# ---- background processes --------------------------------------------

# bg NS COMMAND...: COMMAND in the background in NS; $! is COMMAND itself
# (nsenter execs it), so it can be signalled and waited for.
bg() {
	_bg_ns=$1
	shift
	nsenter --net="$NETNS_DIR/$_bg_ns" "$@" &
	bg_track "$!"
}

# wait_for FILE PATTERN WHAT [PID]: up to 15 s for PATTERN in FILE.
wait_for() {
	for _wf in $(seq 150); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && break
		sleep 0.1
	done
	cat "$1" >&2 2>/dev/null
	fail "$3 did not start"
}

# wait_file FILE WHAT PID: up to 15 s for FILE to exist.
wait_file() {
	for _wf in $(seq 150); do
		[ -e "$1" ] && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	fail "$2 did not start"
}

# stop PID SIGNAL SECONDS: signal PID (unless SIGNAL is "-"), wait up to
# SECONDS for it to exit, then kill it. Returns its exit status.
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

# ---- namespaces and veth pairs --------------------------------------------

# nsx NS COMMAND...: run COMMAND in network namespace NS with the host's
# mounts (so pinned objects under /sys/fs/bpf are visible).
nsx() {
	_nx_ns=$1
	shift
	nsenter --net="$NETNS_DIR/$_nx_ns" "$@"
}

# nsx_timeout SECONDS NS COMMAND...: nsx, killed after SECONDS.
nsx_timeout() {
	_nt_s=$1 _nt_ns=$2
	shift 2
	timeout "$_nt_s" nsenter --net="$NETNS_DIR/$_nt_ns" "$@"
}

# netns_create NAME: a namespace with lo up and no IPv6 DAD (addresses are
# usable at once; links created later inherit it from "default").
netns_create() {
	ip netns add "$1" || fail "ip netns add $1 failed"
	defer "ip netns del '$1'"
	ip -n "$1" link set lo up
	# shellcheck disable=SC2016 # for the inner sh
	nsx "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/accept_dad \
		/proc/sys/net/ipv6/conf/default/accept_dad; do
		[ -w "$f" ] && echo 0 > "$f"; done; exit 0'
}

# veth_pair NS_A IF_A NS_B IF_B X Y [MTU]: a veth pair from IF_A in NS_A
# (10.X.Y.1/24, fd00:X:Y::1/64) to IF_B in NS_B (10.X.Y.2, fd00:X:Y::2), up.
veth_pair() {
	_vp_mtu=${7:-1500}
	ip link add "$2" mtu "$_vp_mtu" netns "$1" type veth \
		peer name "$4" mtu "$_vp_mtu" netns "$3" ||
		fail "cannot create veth pair $2/$4 (mtu $_vp_mtu)"
	if ! { ip -n "$1" addr add "10.$5.$6.1/24" dev "$2" &&
	       ip -n "$3" addr add "10.$5.$6.2/24" dev "$4" &&
	       ip -n "$1" addr add "fd00:$5:$6::1/64" dev "$2" nodad &&
	       ip -n "$3" addr add "fd00:$5:$6::2/64" dev "$4" nodad &&
	       ip -n "$1" link set "$2" up &&
	       ip -n "$3" link set "$4" up; }; then
		fail "cannot configure veth pair $2/$4"
	fi
}

# topo_pair TAG X Y [MTU]: two new namespaces joined by one veth pair.
# Sets NS_A NS_B IF_A IF_B IP4_A IP4_B IP6_A IP6_B (A is the .1 end).
topo_pair() {
	NS_A=bpfix-$$-$1-a
	NS_B=bpfix-$$-$1-b
	IF_A=$1-a
	IF_B=$1-b
	IP4_A=10.$2.$3.1
	IP4_B=10.$2.$3.2
	IP6_A=fd00:$2:$3::1
	IP6_B=fd00:$2:$3::2
	netns_create "$NS_A"
	netns_create "$NS_B"
	veth_pair "$NS_A" "$IF_A" "$NS_B" "$IF_B" "$2" "$3" ${4:+"$4"}
}

# interop_pair TAG X Y: topo_pair TAG X Y for the interop tests: a second
# address on A (A4_2 10.X.Y.11, A6_2 fd00:X:Y::11), and wire-sized packets
# on both ends (no TSO, GSO, GRO), so a capture counts what the meter
# counts. Also sets IFX_A IFX_B MAC_A MAC_B.
interop_pair() {
	topo_pair "$1" "$2" "$3"
	A4_2=10.$2.$3.11 A6_2=fd00:$2:$3::11
	ip -n "$NS_A" addr add "$A4_2/24" dev "$IF_A"
	ip -n "$NS_A" addr add "$A6_2/64" dev "$IF_A" nodad
	for _ip in "$NS_A $IF_A" "$NS_B $IF_B"; do
		# shellcheck disable=SC2086 # two words
		set -- $_ip
		nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 ||
			fail "ethtool -K $2 tso off gso off gro off failed"
	done
	IFX_A=$(ifindex_of "$NS_A" "$IF_A")
	IFX_B=$(ifindex_of "$NS_B" "$IF_B")
	MAC_A=$(mac_of "$NS_A" "$IF_A")
	MAC_B=$(mac_of "$NS_B" "$IF_B")
}

# ifindex_of NS IF
ifindex_of() {
	ip -n "$1" -o link show dev "$2" | cut -d: -f1
}

# mac_of NS IF: IF's MAC address.
mac_of() {
	ip -n "$1" -o link show dev "$2" | sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p'
}

# ---- BPF objects ----------------------------------------------------------

# bpf_load OBJ TAG: load every program of OBJ, pin them under
# /sys/fs/bpf/bpfix-PID-TAG/<program> and the maps under .../maps/<map>.
# Sets BPF_PIN to that directory.
bpf_load() {
	BPF_PIN=$BPFFS/bpfix-$$-$2
	[ -e "$BPF_PIN" ] && fail "$BPF_PIN already exists"
	defer "rm -rf '$BPF_PIN'"
	_bl_err=$TEST_TMP/bpftool-load.err
	if ! bpftool prog loadall "$1" "$BPF_PIN" pinmaps "$BPF_PIN/maps" 2>"$_bl_err"; then
		tail -n 20 "$_bl_err" >&2
		fail "bpftool prog loadall $1 failed (verifier log above)"
	fi
}

# tc_attach NS DEV ingress|egress PINNED_PROG: clsact + direct-action filter.
tc_attach() {
	if ! nsx "$1" tc qdisc show dev "$2" | grep -q 'qdisc clsact'; then
		nsx "$1" tc qdisc add dev "$2" clsact ||
			fail "$2: cannot add clsact qdisc"
		defer "nsenter --net='$NETNS_DIR/$1' tc qdisc del dev '$2' clsact"
	fi
	nsx "$1" tc filter add dev "$2" "$3" bpf direct-action object-pinned "$4" ||
		fail "$2: cannot attach $4 at tc $3"
}

# tc_detach NS DEV: remove the clsact qdisc and with it every filter.
tc_detach() {
	nsx "$1" tc qdisc del dev "$2" clsact
}

# xdp_attach NS DEV xdpdrv|xdpgeneric|xdp PINNED_PROG: returns ip's status;
# its error message is in XDP_ERR.
xdp_attach() {
	defer "nsenter --net='$NETNS_DIR/$1' ip link set dev '$2' '$3' off"
	XDP_ERR=$(nsx "$1" ip link set dev "$2" "$3" pinned "$4" 2>&1)
}

xdp_detach() {
	nsx "$1" ip link set dev "$2" "$3" off
}

# xdp_mode NS DEV: "driver ID", "generic ID", "offload ID" or "none", from
# the attach mode ip reports ("xdp", "xdpgeneric", "xdpoffload" after the
# MTU) and its "prog/xdp.. id ID" line.
xdp_mode() {
	_xm=$(ip -n "$1" -d link show dev "$2")
	_xm_mode=$(printf '%s\n' "$_xm" | sed -n '1s/.* mtu [0-9]* \(xdp[a-z]*\) .*/\1/p')
	_xm_id=$(printf '%s\n' "$_xm" | sed -n 's/.* prog\/xdp[a-z]* id \([0-9]*\) .*/\1/p')
	case $_xm_mode in
	xdp) echo "driver $_xm_id" ;;
	xdpgeneric) echo "generic $_xm_id" ;;
	xdpoffload) echo "offload $_xm_id" ;;
	*) echo none ;;
	esac
}

# prog_id PINNED_PROG
prog_id() {
	bpftool prog show pinned "$1" | sed -n '1s/^\([0-9]*\):.*/\1/p'
}

# ---- reading maps ---------------------------------------------------------
#
# map_records PINNED_MAP [LABEL [PINNED_MAP LABEL]...] prints one line per
# map entry, as space-separated NAME=VALUE words: "table=LABEL" (if given;
# several maps are read in one go, python3 starts slowly), the key's
# fields (struct flow_key's addresses as text: dotted IPv4, IPv6, or MAC for
# L2 flows; a scalar key as key=N), then the value's fields with the per-CPU
# slots merged as the agent merges them: counters summed, min_*/first_* the
# minimum and max_*/last_* the maximum over the CPUs that saw packets,
# *flags and tcp_syn OR'ed, flow_label and tos from the CPU that saw the
# first packet. pad* fields are dropped. Names come from the map's BTF
# (bpftool's "formatted" JSON), so no test holds a copy of the layout; a map
# without BTF is an error. Numbers are decimal.
#
# Queries on such a file (awk, quick):
#   rec_get FILE FIELD [FILTER...]        FIELD of the one matching record,
#                                         "none" or "ambiguous:N" otherwise
#   rec_fields FILE F1,F2.. [FILTER...]   "F1=v1 F2=v2 .." of the one matching
#                                         record ("*": the whole record)
#   rec_sum FILE FIELD [FILTER...]        sum of FIELD over matching records
#   rec_count FILE [FILTER...]            number of matching records
#   rec_show FILE [FILTER...]             the matching records
# FILTER is NAME=VALUE or NAME!=VALUE; 0x.. values are converted to decimal,
# text compares without regard to case.

_lib_py='
import ipaddress, json, socket, subprocess, sys

FIRST_PACKET = ("flow_label", "tos")

def text_addr(a, ipv):
    b = bytes(a["ip6"])
    if ipv == 4:
        return str(ipaddress.IPv4Address(b[:4]))
    if ipv == 6:
        return str(ipaddress.IPv6Address(b))
    return ":".join("%02x" % x for x in b[:6])

def merge(slots):
    live = [s for s in slots if s.get("packets", 1)] or slots
    out = {}
    for name in slots[0]:
        if name.startswith("pad"):
            continue
        if name.startswith("min_") or name.startswith("first_"):
            out[name] = min(s[name] for s in live)
        elif name.startswith("max_") or name.startswith("last_"):
            out[name] = max(s[name] for s in live)
        elif name.endswith("flags") or name == "tcp_syn":
            v = 0
            for s in slots:
                v |= s[name]
            out[name] = v
        elif name in FIRST_PACKET:
            out[name] = min(live, key=lambda s: s.get("first_ns", 0))[name]
        else:
            out[name] = sum(s[name] for s in slots)
    return out

def records(pin, label):
    dump = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin],
                          stdout=subprocess.PIPE, universal_newlines=True)
    if dump.returncode:
        sys.exit("bpftool map dump pinned %s failed" % pin)
    for e in json.loads(dump.stdout):
        f = e.get("formatted")
        if f is None:
            sys.exit("%s has no BTF: bpftool cannot name its fields" % pin)
        r = [] if label is None else [("table", label)]
        k = f["key"]
        if isinstance(k, dict):
            for name, v in k.items():
                if not name.startswith("pad"):
                    r.append((name, text_addr(v, k.get("ip_version"))
                              if isinstance(v, dict) else v))
        else:
            r.append(("key", k))
        vals = f.get("values")  # per-CPU maps
        value = merge([v["value"] for v in vals]) if vals is not None else f["value"]
        r.extend((n, v) for n, v in value.items() if not n.startswith("pad"))
        print(" ".join("%s=%s" % (n, v) for n, v in r))

def entries(pin):
    """The agent flow table (the pinned "flows" map): one line per side
    of each entry in use, its key and counters by their BTF names; then
    one "unused=N total=N" line."""
    dump = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin],
                          stdout=subprocess.PIPE, universal_newlines=True)
    if dump.returncode:
        sys.exit("bpftool map dump pinned %s failed" % pin)
    unused = total = 0
    for e in json.loads(dump.stdout):
        f = e.get("formatted")
        if f is None:
            sys.exit("%s has no BTF: bpftool cannot name its fields" % pin)
        v = f["value"]
        total += 1
        if not v["used"]:
            unused += 1
            continue
        for s in (0, 1):
            if not v["seen"][s]:
                continue
            k = v["key"][s]
            r = [("entry", f["key"]), ("side", s), ("initiator", v["initiator"]),
                 ("entry_last_ms", v["last_ms"])]
            for name, x in k.items():
                if not name.startswith("pad"):
                    r.append((name, text_addr(x, k["ip_version"]) if isinstance(x, dict) else x))
            r.extend(("side_" + n, x) for n, x in v["side"][s].items()
                     if not n.startswith("pad"))
            print(" ".join("%s=%s" % (n, x) for n, x in r))
    print("unused=%d total=%d" % (unused, total))

def pattern(size):
    return bytes((i * 7 + size) & 0xff for i in range(size))

def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

def udp_echo(addr, port, count, ready, report):
    """Echo COUNT datagrams; report how many carried the expected bytes."""
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(10)  # the sender is python3 too, slow to start when busy
    open(ready, "w").close()
    got = bad = octets = 0
    try:
        while got < int(count):
            data, peer = s.recvfrom(65535)
            got += 1
            octets += len(data)
            bad += data != pattern(len(data))
            s.sendto(data, peer)
    except socket.timeout:
        pass
    with open(report, "w") as fh:
        fh.write("received=%d intact=%d octets=%d\n" % (got, got - bad, octets))

def udp_send(addr, port, sport, sizes):
    """Send one datagram per size, each answered by its echo before the next."""
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind(("", int(sport)))
    s.connect((addr, int(port)))
    s.settimeout(3)
    for size in map(int, sizes):
        s.send(pattern(size))
        try:
            echo = s.recv(65535)
        except socket.timeout:
            sys.exit("no echo for the %d-byte datagram" % size)
        if echo != pattern(size):
            sys.exit("echo of the %d-byte datagram differs (%d bytes back)" % (size, len(echo)))

mode, args = sys.argv[1], sys.argv[2:]
if mode == "records":
    if len(args) == 1:
        records(args[0], None)
    for i in range(0, len(args) - 1, 2):
        records(args[i], args[i + 1])
elif mode == "entries":
    entries(args[0])
elif mode == "udp-echo":
    udp_echo(*args)
elif mode == "udp-send":
    udp_send(args[0], args[1], args[2], args[3:])
else:
    sys.exit("lib.sh: unknown mode " + mode)
'

# One awk program for every query; FILTERS arrive with 0x values converted.
# shellcheck disable=SC2016 # awk, not sh
_rec_awk='
BEGIN { nflt = split(filters, flt, " "); nfld = split(fields, fld, ",") }
{
	for (k in r)
		delete r[k]
	n = split($0, kv, " ")
	for (i = 1; i <= n; i++) {
		p = index(kv[i], "=")
		r[substr(kv[i], 1, p - 1)] = substr(kv[i], p + 1)
	}
	for (j = 1; j <= nflt; j++) {
		f = flt[j]
		neg = index(f, "!=") > 0
		p = neg ? index(f, "!=") : index(f, "=")
		name = substr(f, 1, p - 1)
		val = substr(f, p + 1 + neg)
		eq = (name in r) && tolower(r[name]) == tolower(val)
		if (eq == neg)
			next
	}
	matched++
	if (mode == "sum")
		sum += r[fields]
	else if (mode == "show")
		print
	else if (fields == "*")
		line = $0
	else {
		line = ""
		for (j = 1; j <= nfld; j++)
			line = line (j > 1 ? " " : "") (mode == "get" ? "" : fld[j] "=") \
				((fld[j] in r) ? r[fld[j]] : "none")
	}
}
END {
	if (mode == "sum")
		printf "%.0f\n", sum
	else if (mode == "count")
		print matched + 0
	else if (mode != "show")
		print matched == 1 ? line : matched ? "ambiguous:" matched : "none"
}'

# _rec MODE FILE FIELDS FILTER...
_rec() {
	_rc_mode=$1 _rc_file=$2 _rc_fields=$3
	shift 3
	_rc_flt=""
	for _rc_f in "$@"; do
		case $_rc_f in
		*!=0x*|*!=0X*) _rc_f="${_rc_f%%!=*}!=$((${_rc_f#*!=}))" ;;
		*=0x*|*=0X*) _rc_f="${_rc_f%%=*}=$((${_rc_f#*=}))" ;;
		esac
		_rc_flt="$_rc_flt $_rc_f"
	done
	awk -v mode="$_rc_mode" -v fields="$_rc_fields" -v filters="$_rc_flt" \
		"$_rec_awk" "$_rc_file"
}

_py() {
	python3 -c "$_lib_py" "$@"
}

# map_json PINNED_MAP: the raw bpftool JSON dump.
map_json() {
	bpftool -j map dump pinned "$1"
}

map_records() {
	_py records "$@" || fail "cannot read pinned map(s) $*"
}

# flow_entries PINNED_FLOWS: the agent's live flow table as map_records
# prints a map, one line per direction (side) of each entry in use: entry
# (index), side, the side's key (key[side], addresses as text), side_*
# (side[side]'s counters), entry_last_ms; then "unused=N total=N".
flow_entries() {
	_py entries "$1" || fail "cannot read the agent's flow table $1"
}

rec_get() { _rg_file=$1 _rg_field=$2; shift 2; _rec get "$_rg_file" "$_rg_field" "$@"; }
rec_fields() { _rf_file=$1 _rf_fields=$2; shift 2; _rec fields "$_rf_file" "$_rf_fields" "$@"; }
rec_sum() { _rs_file=$1 _rs_field=$2; shift 2; _rec sum "$_rs_file" "$_rs_field" "$@"; }
rec_count() { _rn_file=$1; shift; _rec count "$_rn_file" "" "$@"; }
rec_show() { _rw_file=$1; shift; _rec show "$_rw_file" "" "$@"; }

# ---- traffic --------------------------------------------------------------

# udp_echo_start NS ADDR PORT COUNT: a background UDP echo server in NS that
# answers COUNT datagrams and checks each carries the pattern udp_send sent.
# Its verdict is in UDP_ECHO_RESULT after udp_echo_wait.
udp_echo_start() {
	_ue_dir=$TEST_TMP
	UDP_ECHO_REPORT=$_ue_dir/udp-echo-$1-$3.report
	_ue_ready=$_ue_dir/udp-echo-$1-$3.ready
	rm -f "$UDP_ECHO_REPORT" "$_ue_ready"
	nsx "$1" python3 -c "$_lib_py" udp-echo "$2" "$3" "$4" "$_ue_ready" "$UDP_ECHO_REPORT" &
	UDP_ECHO_PID=$!
	bg_track "$UDP_ECHO_PID"
	# python3 can take seconds to start on a busy machine.
	_ue_i=0
	while [ "$_ue_i" -lt 150 ]; do
		[ -e "$_ue_ready" ] && return 0
		kill -0 "$UDP_ECHO_PID" 2>/dev/null || fail "UDP echo server in $1 exited"
		sleep 0.1
		_ue_i=$((_ue_i + 1))
	done
	fail "UDP echo server in $1 did not start within 15 s"
}

# udp_echo_wait: wait for the echo server to exit; its report line is then
# in UDP_ECHO_RESULT. (Call it directly, not in $(...): a subshell cannot
# wait for the server.)
udp_echo_wait() {
	wait "$UDP_ECHO_PID" 2>/dev/null
	bg_untrack "$UDP_ECHO_PID"
	UDP_ECHO_RESULT=$(cat "$UDP_ECHO_REPORT" 2>/dev/null) ||
		UDP_ECHO_RESULT="no report from the UDP echo server"
}

# udp_send NS ADDR PORT SRC_PORT SIZE...: send one datagram of each payload
# SIZE from NS and check its echo comes back identical. Returns non-zero,
# with one line on stderr, when a datagram or its echo is lost or changed.
udp_send() {
	_us_ns=$1
	shift
	nsx_timeout 20 "$_us_ns" python3 -c "$_lib_py" udp-send "$@"
}

# ping_ok NS COUNT ARGS...: COUNT echo requests from NS (ping ARGS: size,
# -6, the destination...), all of them answered (one check).
ping_ok() {
	_po_ns=$1 _po_count=$2
	shift 2
	_po_out=$(nsx_timeout 15 "$_po_ns" ping -n -q -c "$_po_count" -i 0.05 -W 2 "$@" 2>&1)
	_po_got=$(printf '%s\n' "$_po_out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	check_eq "ping $* from $_po_ns: replies" "${_po_got:-0}" "$_po_count"
}

# udp_exchange NS_FROM NS_TO DST PORT SPORT SIZE...: one datagram of each
# payload SIZE from SPORT in NS_FROM to a UDP echo server on DST:PORT in
# NS_TO, each echoed back intact, and the server got exactly them (two
# checks).
udp_exchange() {
	_ux_from=$1 _ux_to=$2 _ux_dst=$3 _ux_port=$4 _ux_sport=$5
	shift 5
	_ux_n=$# _ux_octets=0
	for _ux_s in "$@"; do
		_ux_octets=$((_ux_octets + _ux_s))
	done
	udp_echo_start "$_ux_to" "$_ux_dst" "$_ux_port" "$_ux_n"
	check "UDP $_ux_sport -> $_ux_dst:$_ux_port: $_ux_n datagrams ($* bytes) echoed intact" \
		udp_send "$_ux_from" "$_ux_dst" "$_ux_port" "$_ux_sport" "$@"
	udp_echo_wait
	check_eq "UDP echo server in $_ux_to" "$UDP_ECHO_RESULT" \
		"received=$_ux_n intact=$_ux_n octets=$_ux_octets"
}

# ---- the agent ------------------------------------------------------------
#
# For the tests that run the agent itself, $BPFIX (the test sets it). One
# agent at a time: agent_start sets AGENT_PID AGENT_OUT AGENT_ERR AGENT_PIN,
# and agent_stop, agent_records and agent_exit_agrees act on that agent.

# proc_alive PID: PID is running (a zombie, exited but not reaped, is not).
proc_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}

# tcx_progs NS IF: the programs on IF's TCX hooks in NS, by name, in the
# order they run: "ingress: A B / egress: C" (iproute2 and bpftool here
# know no TCX; tests/tcx_tool.c asks the kernel).
TCX_TOOL=${TCX_TOOL:-$BUILD/tests/tcx_tool}
tcx_progs() {
	printf 'ingress: %s / egress: %s' "$(nsx "$1" "$TCX_TOOL" show "$2" ingress)" \
		"$(nsx "$1" "$TCX_TOOL" show "$2" egress)"
}

# attached NS IF: "clsact N, tcx T, xdp M", the clsact qdiscs, programs on
# the TCX hooks and XDP programs on IF in NS.
attached() {
	printf 'clsact %s, tcx %s, xdp %s' "$(nsx "$1" tc qdisc show dev "$2" | grep -c clsact)" \
		"$(tcx_progs "$1" "$2" | tr ' ' '\n' | grep -c -v -e : -e / -e '^$')" \
		"$(ip -n "$1" link show dev "$2" | grep -c 'prog/xdp')"
}

# bpfix_tc NS IF: bpfix's attachments on IF's tc hooks in NS, of either
# kind: legacy filters (programs bpfix_tc_*) and TCX links.
bpfix_tc() {
	echo $(($(for _bt in ingress egress; do nsx "$1" tc filter show dev "$2" "$_bt"; done |
		grep -c ' bpfix_tc_') + $(tcx_progs "$1" "$2" | tr ' ' '\n' | grep -c '^bpfix_tc_')))
}

# nothing_left NS IF PIN [WHAT]: no clsact qdisc, TCX link or XDP program on IF
# in NS (when LEFT_ON is set and not empty: exactly what it says, as
# attached prints it; someone else's), and no PIN. WHAT begins both check
# lines (default "bpfix exited").
nothing_left() {
	_nl_what=${4:-bpfix exited}
	check_eq "$_nl_what: then on $2" "$(attached "$1" "$2")" "${LEFT_ON:-clsact 0, tcx 0, xdp 0}"
	check "$_nl_what: then no $3" test ! -e "$3"
}

# agent_start TAG NS IF ARGS...: $BPFIX -v ARGS on IF in NS, in the
# background, with a pin path of its own, $BPFFS/bpfix-PID-TAG (PIN_TAG,
# when set and not empty, stands there instead of TAG: agents started one
# after another on the same pins), removed at cleanup. Returns once the
# agent says it meters (programs attached; see agent_wait_metering). Its
# stdout and stderr go to $TEST_TMP/TAG.out and TAG.err. Sets AGENT_PID
# (bpfix itself: nsenter execs it, so signals reach it), AGENT_OUT,
# AGENT_ERR and AGENT_PIN.
agent_start() {
	_as_tag=$1 _as_ns=$2 _as_if=$3
	shift 3
	AGENT_PIN=$BPFFS/bpfix-$$-${PIN_TAG:-$_as_tag}
	AGENT_OUT=$TEST_TMP/$_as_tag.out
	AGENT_ERR=$TEST_TMP/$_as_tag.err
	defer "rm -rf '$AGENT_PIN'"
	# emptied here, not by the redirection in the background job, which
	# may come after agent_wait_metering read an earlier agent's lines
	: >"$AGENT_ERR"
	nsenter --net="$NETNS_DIR/$_as_ns" "$BPFIX" -i "$_as_if" --pin-path "$AGENT_PIN" -v "$@" \
		>"$AGENT_OUT" 2>"$AGENT_ERR" &
	AGENT_PID=$!
	bg_track "$AGENT_PID"
	agent_wait_metering "bpfix $* on $_as_if"
}

# agent_wait_metering [WHAT]: wait for the "bpfix: metering" line in
# AGENT_ERR, then 0.2 s more; if AGENT_PID exits or 15 s pass first, print
# its stderr and fail ("WHAT did not start metering", default "bpfix").
# For an agent started some other way, once AGENT_PID and AGENT_ERR are set.
agent_wait_metering() {
	_aw_i=0
	while ! grep -q '^bpfix: metering' "$AGENT_ERR" 2>/dev/null; do
		if ! proc_alive "$AGENT_PID" || [ "$_aw_i" -ge 300 ]; then
			cat "$AGENT_ERR" >&2
			fail "${1:-bpfix} did not start metering within 15 s"
		fi
		_aw_i=$((_aw_i + 1))
		sleep 0.05
	done
	sleep 0.2
}

# agent_stop [-SIGNAL] [NS IF]: SIGNAL (default INT) to the agent, which
# must exit within 15 s (else SIGKILL, and fail) and with status 0. With
# NS IF, also: its stderr holds no line but -v's (metering, running, exit),
# and nothing_left NS IF AGENT_PIN.
agent_stop() {
	_ap_sig=INT
	case ${1:-} in
	-*) _ap_sig=${1#-}; shift ;;
	esac
	kill "-$_ap_sig" "$AGENT_PID"
	_ap_i=0
	while proc_alive "$AGENT_PID"; do
		if [ "$_ap_i" -ge 150 ]; then
			kill -KILL "$AGENT_PID"
			fail "bpfix did not exit within 15 s of SIG$_ap_sig"
		fi
		_ap_i=$((_ap_i + 1))
		sleep 0.1
	done
	wait "$AGENT_PID"
	_ap_rc=$?
	bg_untrack "$AGENT_PID"
	check_eq "bpfix exit status after SIG$_ap_sig" "$_ap_rc" 0
	[ $# -ge 2 ] || return 0
	check_eq "stderr lines besides -v's" \
		"$(stderr_other "$AGENT_ERR" -e "^bpfix: .*an earlier agent")" 0
	nothing_left "$1" "$2" "$AGENT_PIN"
}

# stderr_other FILE [GREP-ARGS...]: the lines of an agent's stderr that are
# none of -v's (metering, memory, running, exit), nor match GREP-ARGS.
stderr_other() {
	_so_file=$1
	shift
	grep -c -v -e '^bpfix: metering ' -e '^bpfix: memory ' -e '^bpfix running: ' \
		-e '^bpfix exit: ' "$@" "$_so_file"
}

# agent_records NAME: the agent's JSON lines (AGENT_OUT) as lib.sh records
# (NAME=VALUE words, for rec_sum, rec_count, rec_show) in
# $TEST_TMP/NAME.recs; sets RECS. Booleans become true/false, spaces in
# values "_"; fin, syn, rst (and rev_*) are the tcp_flags bits; "insane" is
# "none" or the ways the record disagrees with itself (first > last, first
# or last outside start..end, bytes outside packets * min/max IP length,
# frame bytes below bytes + 14 per packet); a line that is not a JSON
# object becomes "invalid=1". Fails if python3 does.
_json_py='
import json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    try:
        r = json.loads(line)
        assert isinstance(r, dict)
    except (ValueError, AssertionError):
        print("invalid=1")
        continue
    for p in ("", "rev_"):
        f = r.get(p + "tcp_flags")
        if isinstance(f, int):
            r[p + "fin"], r[p + "syn"], r[p + "rst"] = f & 1, f >> 1 & 1, f >> 2 & 1
    bad = []
    for p in ("", "rev_") if r.get("biflow") else ("",):
        n = r.get(p + "packets", 0)
        if not n:
            continue
        if not r[p + "first_ms"] <= r[p + "last_ms"]:
            bad.append(p + "first>last")
        if not (r["start_ms"] <= r[p + "first_ms"] and r[p + "last_ms"] <= r["end_ms"]):
            bad.append(p + "outside-start..end")
        if not n * r[p + "min_ip_len"] <= r[p + "bytes"] <= n * r[p + "max_ip_len"]:
            bad.append(p + "bytes-vs-ip-len")
        if r[p + "l2_bytes"] < r[p + "bytes"] + 14 * n:
            bad.append(p + "l2_bytes")
    r["insane"] = ",".join(bad) or "none"
    print(" ".join("%s=%s" % (k, str(v).lower() if isinstance(v, bool)
                              else str(v).replace(" ", "_")) for k, v in r.items()))
'
agent_records() {
	RECS=$TEST_TMP/$1.recs
	python3 -c "$_json_py" <"$AGENT_OUT" >"$RECS" || fail "cannot read $AGENT_OUT"
}

# records_sane: every line of RECS is a JSON object and no record disagrees
# with itself (two checks; the insane records are shown).
records_sane() {
	check_eq "lines that are not JSON objects" "$(rec_count "$RECS" invalid=1)" 0
	check_eq "records whose times, lengths or byte counts disagree" \
		"$(rec_count "$RECS" insane!=none)" 0 || rec_show "$RECS" insane!=none | sed 's/^/    /'
}

# agent_exit_agrees: -v's exit line (in AGENT_ERR) says no flow or packet
# was lost, and the records in RECS hold exactly the packets it says were
# metered (two checks). Sets AGENT_EXIT to the line.
agent_exit_agrees() {
	AGENT_EXIT=$(grep '^bpfix exit: ' "$AGENT_ERR")
	check_eq "-v exit line: lost" \
		"$(printf '%s\n' "$AGENT_EXIT" | sed -n 's/.*| \(lost flows [0-9]* packets [0-9]*\) |.*/\1/p')" \
		"lost flows 0 packets 0"
	_ae_seen=$(printf '%s\n' "$AGENT_EXIT" | sed -n 's/^bpfix exit: packets \([0-9]*\) .*/\1/p')
	check_eq "packets in all $(rec_count "$RECS") records = packets metered (-v exit line)" \
		"$(($(rec_sum "$RECS" packets) + $(rec_sum "$RECS" rev_packets)))" "${_ae_seen:-no exit line}"
}

# ---- reliability: quiet links, counters, soak (issue 5) -------------------
#
# For the tests that hold the meter to exact counts under load
# (test_exact, test_overload, test_fulltable): a link that carries only
# what the test sends, the kernel's own counters of what crossed it, the
# agent's memory and -v exit line, and a tally of JSON records too many to
# keep.

# quiet_pair TAG X Y: like topo_pair, but nothing crosses the link unless a
# test sends it: IPv6 off before the links exist, neighbours permanent.
# Frames of any kind (IPv6 too) still cross it and are metered; the
# namespaces' stacks just do not answer them. Sets NS_A NS_B IF_A IF_B
# IP4_A IP4_B.
quiet_pair() {
	NS_A=bpfix-$$-$1-a NS_B=bpfix-$$-$1-b IF_A=$1-a IF_B=$1-b
	IP4_A=10.$2.$3.1 IP4_B=10.$2.$3.2
	for _qp_ns in "$NS_A" "$NS_B"; do
		netns_create "$_qp_ns"
		# shellcheck disable=SC2016 # for the inner sh
		nsx "$_qp_ns" sh -c 'for f in all default; do
			echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done' ||
			fail "cannot disable IPv6 in $_qp_ns"
	done
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" ||
		fail "cannot create veth pair $IF_A/$IF_B"
	ip -n "$NS_A" addr add "$IP4_A/24" dev "$IF_A" &&
	ip -n "$NS_B" addr add "$IP4_B/24" dev "$IF_B" &&
	ip -n "$NS_A" neigh replace "$IP4_B" dev "$IF_A" nud permanent \
		lladdr "$(mac_of "$NS_B" "$IF_B")" &&
	ip -n "$NS_B" neigh replace "$IP4_A" dev "$IF_B" nud permanent \
		lladdr "$(mac_of "$NS_A" "$IF_A")" &&
	ip -n "$NS_A" link set "$IF_A" up &&
	ip -n "$NS_B" link set "$IF_B" up ||
		fail "cannot configure veth pair $IF_A/$IF_B"
}

# dev_stat NS IF COUNTER: the device counter as the namespace's sysfs has it.
dev_stat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# hexbytes A.B.C.D or aa:bb:..: trafgen's comma-separated byte list.
hexbytes() {
	printf '%s\n' "$1" | awk -F '[.:]' '{
		for (i = 1; i <= NF; i++)
			printf "%s%s", (i > 1 ? ", " : ""), (index($0, ":") ? "0x" $i : $i) }'
}

# rss_kib PID: the process's resident memory (VmRSS) in KiB, 0 if it is gone.
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status" 2>/dev/null | grep . ||
		echo 0
}

# exit_counter NAME: one counter of the agent's -v exit line (AGENT_ERR):
# seen (packets metered), kernel_flows, drained, records, exported,
# not_sent, lost_flows, lost_packets, sweeps. "?" when there is no such
# line (the checks comparing it then fail).
exit_counter() {
	case $1 in
	seen) _ec='s/^bpfix exit: packets \([0-9]*\) .*/\1/p' ;;
	kernel_flows) _ec='s/.* | kernel flows \([0-9]*\) drained .*/\1/p' ;;
	drained) _ec='s/.* | kernel flows [0-9]* drained \([0-9]*\) | .*/\1/p' ;;
	records) _ec='s/.* | records \([0-9]*\) exported .*/\1/p' ;;
	exported) _ec='s/.* | records [0-9]* exported \([0-9]*\) .*/\1/p' ;;
	not_sent) _ec='s/.* exported [0-9]* not-sent \([0-9]*\) | .*/\1/p' ;;
	lost_flows) _ec='s/.* | lost flows \([0-9]*\) packets .*/\1/p' ;;
	lost_packets) _ec='s/.* | lost flows [0-9]* packets \([0-9]*\) | .*/\1/p' ;;
	sweeps) _ec='s/.* | sweeps \([0-9]*\) last .*/\1/p' ;;
	*) fail "exit_counter: no counter $1" ;;
	esac
	grep '^bpfix exit: ' "$AGENT_ERR" | sed -n "$_ec" | grep . || echo '?'
}

# kernel_packets PIN: the kernel's count of packets seen (the stats map
# pinned under PIN, its CPUs summed).
kernel_packets() {
	map_records "$1/stats" >"$TEST_TMP/kstats" && rec_get "$TEST_TMP/kstats" packets
}

# kernel_losses: from the last kernel_packets read, the kernel's own count
# of what no flow table kept, for a line of text: new flows it could not
# insert (and their packets), packets no flow could be keyed for, packets
# seen while no table was installed.
kernel_losses() {
	printf 'insert_failed %s (packets %s), not_metered_packets %s, no_table %s' \
		"$(rec_get "$TEST_TMP/kstats" insert_failed)" \
		"$(rec_get "$TEST_TMP/kstats" insert_failed_packets)" \
		"$(rec_get "$TEST_TMP/kstats" not_metered_packets)" \
		"$(rec_get "$TEST_TMP/kstats" no_table)"
}

# arrivals NS IF MODE [BASE]: the frames that reached IF in NS as the
# device counts them, less BASE (an earlier reading): those it received
# and, in MODE tc (egress is metered too), those it sent or dropped
# sending.
arrivals() {
	_av=$(dev_stat "$1" "$2" rx_packets)
	[ "$3" = tc ] &&
		_av=$((_av + $(dev_stat "$1" "$2" tx_packets) + $(dev_stat "$1" "$2" tx_dropped)))
	echo $((_av - ${4:-0}))
}

# settle PIN BASE COUNT...: wait (up to 10 s) until the packets the kernel
# has seen (kernel_packets PIN, less BASE, its reading before the traffic)
# equal what the command COUNT... prints (a count of the same traffic kept
# apart from bpfix, such as arrivals), the same at two polls 0.2 s apart.
# Then the frames still queued in a veth's ring or a CPU's backlog when the
# senders stopped have been through the programs and the device has
# counted them, so stopping the agent now (it detaches the programs first)
# leaves none unmetered. Sets SETTLED to the count's last figure; returns
# 1 if the two never meet (the test's own checks then show by how much).
settle() {
	_se_pin=$1 _se_kb=$2
	shift 2
	_se_i=0 _se_prev=
	while :; do
		SETTLED=$("$@")
		_se_now=$SETTLED:$(($(kernel_packets "$_se_pin") - _se_kb))
		[ "$_se_now" = "$SETTLED:$SETTLED" ] && [ "$_se_now" = "$_se_prev" ] && return 0
		_se_i=$((_se_i + 1))
		[ "$_se_i" -ge 50 ] && return 1
		_se_prev=$_se_now
		sleep 0.2
	done
}

# json_tally_start TAG: a reader that sums the agent's JSON records as they
# come, for runs that make too many to keep (hundreds of bytes each): call
# it just before agent_start TAG, whose stdout ($TEST_TMP/TAG.out) becomes
# a FIFO to it. json_tally_wait, after agent_stop, sets TALLY (the file of
# NAME=VALUE lines): records, packets (forward and reverse), bytes,
# invalid (lines that are not one JSON object with packet counts), and
# end_REASON for each flowEndReason seen (end_idle, end_active,
# end_resources, ...).
json_tally_start() {
	TALLY=$TEST_TMP/$1.tally
	rm -f "$TEST_TMP/$1.out"
	mkfifo "$TEST_TMP/$1.out" || fail "mkfifo $TEST_TMP/$1.out failed"
	# shellcheck disable=SC2016 # awk, not sh
	awk '
	function num(name) {
		if (!match($0, "\"" name "\":[0-9]+"))
			return -1
		return substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0
	}
	{
		p = num("packets"); rp = num("rev_packets"); b = num("bytes"); rb = num("rev_bytes")
		if ($0 !~ /^\{.*\}$/ || p < 0 || b < 0) {
			invalid++
			next
		}
		records++
		packets += p + (rp > 0 ? rp : 0)
		bytes += b + (rb > 0 ? rb : 0)
		if (match($0, /"end_reason":"[a-z]*"/))
			reason[substr($0, RSTART + 14, RLENGTH - 15)]++
	}
	END {
		printf "records=%d\npackets=%.0f\nbytes=%.0f\ninvalid=%d\n", records, packets, bytes, invalid
		for (r in reason)
			printf "end_%s=%d\n", r, reason[r]
	}' <"$TEST_TMP/$1.out" >"$TALLY" &
	TALLY_PID=$!
	bg_track "$TALLY_PID"
}

json_tally_wait() {
	wait "$TALLY_PID"
	bg_untrack "$TALLY_PID"
}

# tally_get NAME: a value of TALLY (0 when the name is not there).
tally_get() {
	sed -n "s/^$1=//p" "$TALLY" | grep . || echo 0
}

# human N: a figure for a line of text: 12345678 -> 12.3M, 45678 -> 46k.
human() {
	awk -v n="$1" 'BEGIN {
		if (n >= 1e6) printf "%.1fM", n / 1e6
		else if (n >= 1e4) printf "%.0fk", n / 1e3
		else printf "%d", n }'
}

# reliability_exact CASE HELD SENT EXPORTED LOST: the accounting promise
# for one case: of SENT packets (counted independently of bpfix), every
# one is in an exported record (EXPORTED) or reported lost by bpfix
# (LOST); the rest, lost silently, must be 0 (one check). Prints the
# reliability line with HELD. A figure that is not a number (a counter
# missing from the -v line: "?") fails the check rather than the shell.
reliability_exact() {
	case $3:$4:$5 in
	*[!0-9:]* | :* | *::* | *:)
		check_eq "$1: packets sent, exported, reported lost" "$3 $4 $5" "three numbers"
		reliability "$1" "$2" "? (sent $3, exported $4, reported lost $5)"
		return 1 ;;
	esac
	_re_silent=$(($3 - $4 - $5))
	check_eq "$1: $3 packets - $4 exported - $5 reported lost (lost silently)" "$_re_silent" 0
	reliability "$1" "$2" "$_re_silent"
}

# ---- IPFIX collector tests: flows one datagram each, a clock, saved files --

# ipfix_test_setup: for the tests whose checks read collectors' files:
# TZ=UTC, TMP, BPFIX_TEST_SAVE=DIR copies them there on exit, T0 (ms).
ipfix_test_setup() {
	export TZ=UTC
	TMP=$TEST_TMP
	[ -n "${BPFIX_TEST_SAVE:-}" ] &&
		defer "mkdir -p '$BPFIX_TEST_SAVE' && cp -r '$TMP'/. '$BPFIX_TEST_SAVE'/"
	T0=$(now_ms)
}

now_ms() { date +%s%3N; }
elapsed() { echo "$(( ($(now_ms) - T0) / 1000 )) s"; }

# flows N SPORT SIZE [GAP]: N one-datagram UDP flows from NS_B to
# IP4_A:SINK_PORT, source ports from SPORT up, SIZE octets of payload, GAP
# seconds apart (default 0: as fast as python3 goes, about 5000 a second),
# sent by ipfix_interop.py, so that each record is told apart by its port.
flows() {
	nsx_timeout 60 "$NS_B" python3 "$(dirname "$0")/ipfix_interop.py" udp-flows "$IP4_A" \
		"$SINK_PORT" "$2" "$1" "$3" "${4:-0}" || fail "could not send $1 flows from port $2"
}
