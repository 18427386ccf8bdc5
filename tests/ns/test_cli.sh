#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # awk, python and sh -c programs in single quotes
# Misuse of the agent (README, promise 6: clear): each bad command line or
# impossible request gets one line on stderr, "bpfix: " and the object and
# cause, nothing on stdout, the documented exit code (2 usage, 1 run-time),
# and leaves nothing behind: no clsact qdisc or XDP program on the test
# interface, no pin directory. Runs in namespaces of its own (so "-i" names
# resolve there and no default route exists), always with a pin path of its
# own.
#
#  usage (exit 2): unknown interface, no interface and no default route,
#    every numeric flag with a non-number, a negative, an empty value,
#    trailing junk, an overflow, and values just out of range; unknown
#    options, a missing value, a stray argument, bad -m and -f, bad
#    collector URIs (too long, host too long, empty brackets), more than 8
#    collectors, more than 32 interfaces, --active-timeout below
#    --idle-timeout, a sweep longer than the idle timeout, bad -i names, a
#    relative or too long pin path, a value given to --uniflow or glued to
#    -v (the line names the argument as given); --memory that is not a
#    size, 0, an overflow, too small for 1024 flows on this machine's
#    possible CPUs, or too small for the --flows given with it;
#  -h and --help (0, usage and examples on stdout), -V and --version (0);
#  run-time (exit 1): pin paths not on bpffs or under a missing directory,
#    on a read-only bpffs (new, or a directory already there), taken by a
#    pinned map or under one (what was there stays); collectors that
#    cannot be reached at start: a name that does not resolve (.invalid),
#    UDP with no route, a file that cannot be made (a TCP collector that
#    is down is retried: test_collector_faults.sh);
#    native XDP where the driver has none (lo, a bridge, a dummy if the
#    kernel has it), a second agent on a metered interface (tc and xdp) or
#    on a pin path in use (the first one goes on metering, undisturbed),
#    missing privileges (uid nobody), another program's XDP attachment;
#  others' attachments: a clsact qdisc and filter installed before bpfix
#    survive it, and its own filters go;
#  --memory 64M -v: the derived capacities on one line, the kernel maps
#    created with them (bpftool max_entries), their bytes_memlock
#    together within the budget;
#  started through `ip netns exec` (a private /sys): meters, and SIGTERM
#    ends it with exit 0 and nothing attached.
#
#   env BUILD=build sh tests/ns/test_cli.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}

use_python3
need_root
need_cmds ip tc nsenter setpriv timeout ping unshare bpftool
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
T0=$(date +%s)
PIN=$BPFFS/bpfix-$$-cli
defer "rm -rf '$PIN'"

# ---- one invocation -----------------------------------------------------------

# bpfix_in NS ARGS...: run bpfix in NS (at most 30 s); RC, stdout in OUT,
# stderr in ERR.
OUT=$TEST_TMP/out ERR=$TEST_TMP/err
bpfix_in() {
	_bi_ns=$1
	shift
	nsx_timeout 30 "$_bi_ns" "$BPFIX" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

# fails RC PATTERN ARGS...: bpfix ARGS in NS_B exits RC with nothing on
# stdout and one line on stderr, "bpfix: " and matching PATTERN (grep -E),
# and leaves nothing attached or pinned. --pin-path PIN comes first, so
# ARGS may override it.
fails() {
	_fl_rc=$1 _fl_pat=$2
	shift 2
	bpfix_in "$NS_B" --pin-path "$PIN" "$@"
	_fl_line=$(head -n 1 "$ERR")
	check_eq "bpfix $*: exit, stdout lines, stderr lines" \
		"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "$_fl_rc 0 1"
	case $_fl_pat in
	^*) ;;
	*) _fl_pat="^bpfix: .*($_fl_pat)" ;;
	esac
	check "  -> $_fl_line" matches "$_fl_line" "$_fl_pat"
	[ "$_fl_rc" = 2 ] && return 0	# a usage error comes before anything is touched
	nothing_left "$NS_B" "$IF_B" "$PIN" "  -> exit $RC"
}

matches() {
	printf '%s\n' "$1" | grep -q -E -e "$2"
}

# usage PATTERN ARGS...: exit 2; the PIN check once is enough.
usage() {
	_us_pat=$1
	shift
	fails 2 "$_us_pat" "$@"
}

# ---- a running agent ----------------------------------------------------------
#
# Agents run through lib.sh's agent_start and agent_stop, pinned at PIN1.

# tc_filters NS IF: "ingress-filter-ids / egress-filter-ids" (bpf program
# ids and handles, for before/after comparisons).
tc_filters() {
	for _tf in ingress egress; do
		nsx "$1" tc filter show dev "$2" "$_tf" | sed -n 's/.* pref \([0-9]*\) .*handle \(0x[0-9a-f]*\) .* id \([0-9]*\) .*/\1:\2:\3/p' |
			tr '\n' ' '
		[ "$_tf" = ingress ] && printf '/ '
	done
}

# ---- the topology ---------------------------------------------------------------

topo_pair cli 80 1
ip -n "$NS_B" link set lo up
ip -n "$NS_B" link add br0 type bridge && ip -n "$NS_B" link set br0 up ||
	fail "cannot create a bridge in $NS_B"

# ---- usage errors: exit 2 --------------------------------------------------------

info "usage errors: exit 2 ($(($(date +%s) - T0)) s)"
usage "nosuch0: no such interface" -i nosuch0
usage "no default route" -f json
usage "not an interface name" -i ""
usage "not an interface name" -i 0123456789abcdefXYZ
usage "$IF_B: given twice" -i "$IF_B" -i "$IF_B"
# FLAG MIN MAX (MIN 0: no value below it)
for spec in --idle-timeout:1:86400 --active-timeout:1:86400 --sweep-interval:10:60000 \
	--flows:1024:16777216 --observation-domain:0:4294967295 --template-refresh:1:86400 \
	--ipfix-mtu:576:65535 --tcp-queue:1:16777216 --export-rate:100:100000000 \
	--udp-queue:1:67108864 --shutdown-timeout:0:3600; do
	flag=${spec%%:*} range=${spec#*:}
	min=${range%:*} max=${range#*:}
	for v in x -1 "" 10x 99999999999999999999 0x10 " 5" $((max + 1)); do
		usage "^bpfix: $flag: " -i "$IF_B" "$flag" "$v"
	done
	[ "$min" -gt 0 ] && usage "^bpfix: $flag: $((min - 1)) is out of range $min\.\.$max" \
		-i "$IF_B" "$flag" $((min - 1))
done
# --memory SIZE: K, M, G or bytes; nothing else, and a budget that holds
# at least 1024 flows on this machine's possible CPUs.
NCPUS=$(awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-");
	c += n == 2 ? r[2] - r[1] + 1 : 1 } } END { print c }' /sys/devices/system/cpu/possible)
for v in x "" -1 10x 1.5G 64MB 0x10 " 5" 99999999999999999999 17179869184G; do
	usage "^bpfix: --memory: " -i "$IF_B" --memory "$v"
done
usage "^bpfix: --memory: 0 holds no flows" -i "$IF_B" --memory 0
usage "^bpfix: --memory 5000K holds [0-9]+ flows on $NCPUS CPUs, at least 1024 needed\$" \
	-i "$IF_B" --memory 5000K
usage "^bpfix: --flows 1000000 needs [0-9]+ MiB on $NCPUS CPUs, more than --memory 64M\$" \
	-i "$IF_B" --memory 64M --flows 1000000
usage "--bogus: unknown option" -i "$IF_B" --bogus
usage "-x: unknown option" -i "$IF_B" -x
usage "--sweep-interval: needs a value" -i "$IF_B" --sweep-interval
usage "-i: needs a value|-i.*value" -i
usage "extra: unexpected argument" -i "$IF_B" extra
usage "-m foo: use tc, xdp or xdp-generic" -i "$IF_B" -m foo
usage "-m : use tc" -i "$IF_B" -m ""
usage "-m TC: use tc" -i "$IF_B" -m TC
usage "-f xml: use text or json" -i "$IF_B" -f xml
usage "-c udp://host: missing :PORT" -i "$IF_B" -c udp://host
usage "-c ftp://x:1: unknown collector" -i "$IF_B" -c ftp://x:1
usage "-c udp://\[::1:4739: expected \[IPv6\]:PORT" -i "$IF_B" -c "udp://[::1:4739"
usage "-c udp://::1:4739: put an IPv6 address in brackets" -i "$IF_B" -c "udp://::1:4739"
usage "-c tcp://:4739: missing host" -i "$IF_B" -c tcp://:4739
usage "-c udp://h:0: port must be 1..65535" -i "$IF_B" -c udp://h:0
usage "-c udp://h:65536: port" -i "$IF_B" -c udp://h:65536
usage "-c udp://h:ipfix: port" -i "$IF_B" -c udp://h:ipfix
usage "-c file:: .*needs a path" -i "$IF_B" -c file:
usage "-c : unknown collector" -i "$IF_B" -c ""
usage "-c udp://host: missing :PORT" -i "$IF_B" -c "tcp://[::1]:4739" -c udp://host
usage "--active-timeout 5 is shorter than --idle-timeout 10" \
	-i "$IF_B" --active-timeout 5 --idle-timeout 10
usage "--sweep-interval 5000 ms is longer than --idle-timeout 2 s" \
	-i "$IF_B" --sweep-interval 5000 --idle-timeout 2
usage "--pin-path relative: must be an absolute path" -i "$IF_B" --pin-path relative
usage "--pin-path: bad directory" -i "$IF_B" --pin-path ""
usage "--pin-path: bad directory" -i "$IF_B" --pin-path "/$(printf 'p%.0s' $(seq 4050))"
usage "-f : use text or json" -i "$IF_B" -f ""
# An option that takes no value, given one; a value glued to a short
# flag: the line names the argument as given, not its neighbour.
usage "--uniflow=1: " -i "$IF_B" --uniflow=1
usage "-v=3|-=: " -i "$IF_B" -v=3
usage "-c: collector URI too long" -i "$IF_B" -c "file:/$(printf 'p%.0s' $(seq 5000))"
usage "-c tcp://h+:4739: host name too long" -i "$IF_B" -c "tcp://$(printf 'h%.0s' $(seq 300)):4739"
usage "-c tcp://\[\]:1: missing host" -i "$IF_B" -c "tcp://[]:1"
usage "-c udp://\[::1\]x:1: expected \[IPv6\]:PORT" -i "$IF_B" -c "udp://[::1]x:1"
# shellcheck disable=SC2046 # split: one word each
usage "-c: at most 8 collectors" -i "$IF_B" $(for _c in $(seq 9); do
	printf -- '-c file:/tmp/bpfix-%s-%s ' "$$" "$_c"; done)
# 16 veth pairs: with IF_B, 33 interfaces, one more than -i takes.
for _x in $(seq 0 15); do
	echo "link add many$_x type veth peer name many$_x-p"
done | ip -n "$NS_B" -batch - || fail "cannot add veth pairs to $NS_B"
# shellcheck disable=SC2046 # split: one word each
usage "-i: at most 32 interfaces" -i "$IF_B" $(for _x in $(seq 0 15); do
	printf -- '-i many%s -i many%s-p ' "$_x" "$_x"; done)
nothing_left "$NS_B" "$IF_B" "$PIN" "after the usage errors"

# ---- help and version: exit 0 -------------------------------------------------------

for h in -h --help; do
	bpfix_in "$NS_B" "$h"
	check_eq "bpfix $h: exit, stderr lines" "$RC $(wc -l <"$ERR")" "0 0"
	check "bpfix $h: usage line first" grep -q '^usage: bpfix ' "$OUT"
	check "bpfix $h: examples" grep -q '^examples:' "$OUT"
	for o in -i -m -c -f --idle-timeout --active-timeout --sweep-interval --memory --flows --uniflow \
		--observation-domain --pin-path -v -h -V; do
		grep -q -e "  $o" -e "\[$o" "$OUT" || check "bpfix $h: mentions $o" false
	done
	check "bpfix $h: examples run bpfix" test "$(grep -c '^  bpfix ' "$OUT")" -ge 2
done
for v in -V --version; do
	bpfix_in "$NS_B" "$v"
	check_eq "bpfix $v: exit, stdout lines, stderr lines" \
		"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "0 1 0"
	check "bpfix $v: $(cat "$OUT")" grep -q -E '^bpfix [0-9]+\.[0-9]+\.[0-9]+' "$OUT"
done

# ---- run-time errors: exit 1 ----------------------------------------------------------

info "run-time errors: exit 1 ($(($(date +%s) - T0)) s)"
NOTBPF=/tmp/bpfix-$$-notbpf
defer "rm -rf '$NOTBPF'"
fails 1 "--pin-path $NOTBPF: /tmp is not on a bpf filesystem" -i "$IF_B" --pin-path "$NOTBPF"
check "  -> $NOTBPF not created" test ! -e "$NOTBPF"
fails 1 "--pin-path $PIN/x/y: No such file" -i "$IF_B" --pin-path "$PIN/x/y"

# Pin paths that cannot be written: a read-only bpffs (containers often
# mount /sys read-only), new or with the directory already there, and a
# path a pinned map (not a directory) takes or lies under. What was there
# stays as it was. The read-only mounts are made in a mount namespace of
# their own, which goes with bpfix: iproute2 takes any bpffs it finds in
# the mount table when /sys/fs/bpf is not one (under ip netns exec), so
# nobody else, this test included, may see them.
RO=$TEST_TMP/robpf
mkdir -p "$RO" || fail "mkdir $RO failed"
# ro_case SETUP PIN_PATH PATTERN: SETUP (sh, in the private mount
# namespace), then bpfix -i IF_B --pin-path PIN_PATH as fails does it;
# PIN_PATH afterwards (in that namespace) in RO_AFTER: "absent", or
# "dir N" (N entries).
ro_case() {
	# shellcheck disable=SC2016 # for the inner sh
	unshare -m --propagation private sh -c '
		set -e
		eval "$1"
		set +e
		nsenter --net="$2" timeout 30 "$3" -i "$4" --pin-path "$5" >"$6" 2>"$7" </dev/null
		echo $? >"$8"
		if [ -d "$5" ]; then echo "dir $(ls -A "$5" | wc -l)"; else echo absent; fi >"$9"
	' sh "$1" "$NETNS_DIR/$NS_B" "$BPFIX" "$IF_B" "$2" "$OUT" "$ERR" "$TEST_TMP/ro.rc" \
		"$TEST_TMP/ro.after" || fail "cannot set up a read-only bpffs for --pin-path $2"
	RC=$(cat "$TEST_TMP/ro.rc") RO_AFTER=$(cat "$TEST_TMP/ro.after")
	check_eq "bpfix --pin-path $2 (read-only bpffs): exit, stdout lines, stderr lines" \
		"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "1 0 1"
	check "  -> $(head -n 1 "$ERR")" matches "$(head -n 1 "$ERR")" "^bpfix: .*($3)"
	check_eq "  -> then on $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 0, xdp 0"
}
ro_case "mount -t bpf -o ro bpf '$RO'" "$RO/pins" "--pin-path $RO/pins: Read-only file system"
check_eq "  -> then $RO/pins" "$RO_AFTER" absent
ro_case "mount -t bpf bpf '$RO'; mkdir '$RO/pins'; mount -o remount,ro '$RO'" "$RO/pins" \
	"--pin-path $RO/pins: .*Read-only file system"
check_eq "  -> then $RO/pins (there before)" "$RO_AFTER" "dir 0"
# A read-only /run: the lock directory cannot be made. The error names the
# cause (EROFS), not the ENOENT of the lock file's open that follows it.
# shellcheck disable=SC2016 # for the inner sh
# (the network namespace first: its handle lives under /run)
nsenter --net="$NETNS_DIR/$NS_B" unshare -m --propagation private sh -c '
	mount -t tmpfs -o ro none /run || exit 99
	timeout 30 "$1" -i "$2" --pin-path "$3" >"$4" 2>"$5" </dev/null
' sh "$BPFIX" "$IF_B" "$BPFFS/bpfix-$$-cli-rorun" "$OUT" "$ERR"
RC=$?
check_eq "bpfix with /run read-only: exit, stdout lines, stderr lines" \
	"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "1 0 1"
check "  -> $(head -n 1 "$ERR")" matches "$(head -n 1 "$ERR")" \
	"^bpfix: /run/bpfix: Read-only file system"
nothing_left "$NS_B" "$IF_B" "$BPFFS/bpfix-$$-cli-rorun" "  -> with /run read-only"
BLOCK=$BPFFS/bpfix-$$-cli-block
bpftool map create "$BLOCK" type array key 4 value 4 entries 1 name cli_block ||
	fail "cannot pin a map at $BLOCK"
defer "rm -f '$BLOCK'"
for _p in "$BLOCK" "$BLOCK/pins"; do
	fails 1 "--pin-path $_p: Not a directory" -i "$IF_B" --pin-path "$_p"
	check "  -> the map pinned at $BLOCK still there" \
		sh -c "bpftool map show pinned '$BLOCK' >/dev/null"
done
# foreign_pin WHAT MAP PATTERN CREATE...: a map pinned as FOREIGN/MAP by
# `bpftool map create` with CREATE, and nothing else there: bpfix with that
# --pin-path exits 1 with one line matching PATTERN, and leaves the
# directory as it was and nothing attached.
FOREIGN=$BPFFS/bpfix-$$-cli-foreign
mkdir -p "$FOREIGN" && defer "rm -rf '$FOREIGN'"
foreign_pin() {
	_fp_what=$1 _fp_map=$2 _fp_pat=$3
	shift 3
	rm -f "$FOREIGN"/*
	bpftool map create "$FOREIGN/$_fp_map" "$@" name "$_fp_map" ||
		fail "cannot pin a map at $FOREIGN/$_fp_map"
	bpfix_in "$NS_B" --pin-path "$FOREIGN" -i "$IF_B"
	check_eq "bpfix --pin-path $_fp_what: exit, stdout, stderr lines" \
		"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "1 0 1"
	check "  -> $(head -n 1 "$ERR")" matches "$(head -n 1 "$ERR")" "$_fp_pat"
	check_eq "  -> what is in $FOREIGN afterwards" "$(ls "$FOREIGN")" "$_fp_map"
	check_eq "  -> filters on $IF_B" "$(tc_filters "$NS_B" "$IF_B" | tr -d ' ')" "/"
	reliability "--pin-path $_fp_what" \
		"refused in one line: $(head -n 1 "$ERR" | sed "s|$FOREIGN|PIN|; s/|/:/g"); the pin stays, nothing attached" \
		"$(( $(ls "$FOREIGN" | wc -l) == 1 ? 0 : 1 ))"
}
# A flow table of another layout (another tool, another bpfix ABI): it used
# to be drained with bpfix's layout (heap corruption, exit 134).
foreign_pin "with a flow table of another layout" flow_table_0 \
	"^bpfix: $FOREIGN/flow_table_0: a pinned map of another layout \\(type 10, key 60, value 512 octets" \
	type lru_percpu_hash key 60 value 512 entries 30000
# Another tool's map named like one of bpfix's (stats), no bpfix journal
# beside it: it used to be unlinked.
foreign_pin "beside another tool's 'stats'" stats \
	"^bpfix: $FOREIGN/stats: a pinned map of another layout and no bpfix journal" \
	type array key 4 value 8 entries 1

# Collectors that cannot be reached at start. A name that does not
# resolve (the reserved .invalid TLD; the namespace has no route to a DNS
# server either, so nothing leaves it), a UDP collector with no route
# (connect() says so at once) and a file that cannot be made: one line,
# exit 1, before anything is loaded. (A TCP collector that is down or
# has no route is retried instead: test_collector_faults.sh.)
fails 1 "tcp://collector.invalid:4739: cannot resolve collector\.invalid" \
	-i "$IF_B" -c tcp://collector.invalid:4739
# A link-local collector without its interface: connect() says only EINVAL.
for _k in udp tcp; do
	fails 1 "$_k://\[fe80::1\]:4739: fe80::1 is link-local: name its interface" \
		-i "$IF_B" -c "$_k://[fe80::1]:4739"
done
fails 1 "udp://collector.invalid:4739: cannot resolve collector\.invalid" \
	-i "$IF_B" -c udp://collector.invalid:4739
fails 1 "udp://192.0.2.1:4739: cannot connect: Network is unreachable" \
	-i "$IF_B" -c udp://192.0.2.1:4739
fails 1 "file:$TEST_TMP/none/x.ipfix: cannot open .*No such file" \
	-i "$IF_B" -c "file:$TEST_TMP/none/x.ipfix"
fails 1 "file:$TEST_TMP: cannot open .*Is a directory" -i "$IF_B" -c "file:$TEST_TMP"

for dev in lo br0; do
	fails 1 "$dev: the driver cannot run native XDP; try -m xdp-generic" -i "$dev" -m xdp
	check_eq "  -> then on $dev" "$(attached "$NS_B" "$dev")" "clsact 0, tcx 0, xdp 0"
done
if ip -n "$NS_B" link add dummy0 type dummy 2>/dev/null; then
	fails 1 "dummy0: the driver cannot run native XDP" -i dummy0 -m xdp
	check_eq "  -> then on dummy0" "$(attached "$NS_B" dummy0)" "clsact 0, tcx 0, xdp 0"
else
	info "no dummy interfaces in this kernel: that case is skipped"
fi

# A second agent: on the metered interface, or on the pin path in use.
info "a second agent ($(($(date +%s) - T0)) s)"
# shellcheck disable=SC2034 # PIN_TAG and LEFT_ON are read by lib.sh
PIN_TAG=cli-first	# for every agent_start: their pins are PIN1
agent_start agent "$NS_B" "$IF_B" -f json --idle-timeout 60 --active-timeout 60
PIN1=$AGENT_PIN
before=$(tcx_progs "$NS_B" "$IF_B")
check_eq "first agent's TCX links" "$before" "ingress: bpfix_tc_ingres / egress: bpfix_tc_egress"
LEFT_ON="clsact 0, tcx 2, xdp 0"	# the first agent's
fails 1 "$IF_B: already metered by another bpfix \(pid $AGENT_PID\)" -i "$IF_B"
fails 1 "$IF_B: already metered by another bpfix" -i "$IF_B" -m xdp-generic
fails 1 "$IF_B: already metered by another bpfix" -i "$IF_B" -m xdp
fails 1 "--pin-path $PIN1: another bpfix is running with it" -i br0 --pin-path "$PIN1"
check_eq "  -> then on br0" "$(attached "$NS_B" br0)" "clsact 0, tcx 0, xdp 0"
# shellcheck disable=SC2034
LEFT_ON=
check_eq "first agent's TCX links after them" "$(tcx_progs "$NS_B" "$IF_B")" "$before"
check "first agent still running" proc_alive "$AGENT_PID"
check "first agent's pins still there" test -e "$PIN1/stats"
# shellcheck disable=SC2086
nsx_timeout 10 "$NS_A" ping -n -q -c 3 -i 0.05 "$IP4_B" >/dev/null 2>&1
agent_stop -INT
check_eq "first agent: its ping record (packets, rev_packets)" \
	"$(python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
print(*[(x["packets"], x["rev_packets"]) for x in r if x["protocol"] == 1 and x.get("icmp_type") == 8])' \
		<"$AGENT_OUT")" "(3, 3)"
nothing_left "$NS_B" "$IF_B" "$PIN1" "first agent stopped"

# --memory 64M: the capacities it derives, printed once with -v, are what
# the kernel maps were created with, and the kernel's own count of their
# memory (bytes_memlock) is within the budget, and most of it (the agent's
# index, on the heap, is the rest).
info "--memory 64M ($(($(date +%s) - T0)) s)"
# shellcheck disable=SC2034 # read by lib.sh
PIN_TAG=cli-memory
agent_start agent "$NS_B" "$IF_B" -f json --memory 64M
line=$(grep '^bpfix: memory ' "$AGENT_ERR")
check_eq "--memory 64M -v: memory lines" "$(grep -c '^bpfix: memory ' "$AGENT_ERR")" 1
check "  -> $line" matches "$line" \
	"^bpfix: memory [0-9.]+ MiB of 64\.0 MiB on $NCPUS possible CPUs: kernel tables 2 x [0-9]+ flows [0-9.]+ MiB, agent table [0-9]+ flows [0-9.]+ MiB \(journal [0-9.]+, index [0-9.]+\), fragments [0-9]+ [0-9.]+ MiB, other maps [0-9.]+ MiB\$"
kflows=$(printf '%s\n' "$line" | sed -n 's/.* kernel tables 2 x \([0-9]*\) flows.*/\1/p')
aflows=$(printf '%s\n' "$line" | sed -n 's/.* agent table \([0-9]*\) flows.*/\1/p')
frags=$(printf '%s\n' "$line" | sed -n 's/.* fragments \([0-9]*\) .*/\1/p')
check "  -> at least 1024 flows: $kflows" test "${kflows:-0}" -ge 1024
check_eq "  -> agent table as the kernel's" "$aflows" "$kflows"
# max_entries of a pinned map; "bytes_memlock" of them all
map_field() {
	bpftool -j map show pinned "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
for t in flow_table_0 flow_table_1; do
	check_eq "  -> $t max_entries" "$(map_field "$AGENT_PIN/$t" max_entries)" "$kflows"
done
check_eq "  -> frag_table max_entries" "$(map_field "$AGENT_PIN/frag_table" max_entries)" "$frags"
memlock=0 nmaps=0
for m in "$AGENT_PIN"/*; do
	case ${m##*/} in bpfix_* | tcx-*) continue ;; esac	# programs, TCX links (user/attach.c)
	memlock=$((memlock + $(map_field "$m" bytes_memlock)))
	nmaps=$((nmaps + 1))
done
check_eq "  -> maps pinned (8, the journal and the flows map)" "$nmaps" 10
check "  -> bytes_memlock of them all, $memlock, within 64 MiB" test "$memlock" -le $((64 << 20))
check "  -> ... and more than 56 MiB of it" test "$memlock" -gt $((56 << 20))
agent_stop -INT "$NS_B" "$IF_B"
check "  -> its exit line: table 0/$aflows" grep -q "^bpfix exit: .* table 0/$aflows " "$AGENT_ERR"
# shellcheck disable=SC2034 # read by lib.sh
PIN_TAG=cli-first

# No privileges: uid nobody (bpffs is often world-writable with the sticky
# bit, so it gets as far as loading).
PIN2=$BPFFS/bpfix-$$-cli-nobody
defer "rm -rf '$PIN2'"
nsx_timeout 30 "$NS_B" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$BPFIX" -i "$IF_B" --pin-path "$PIN2" >"$OUT" 2>"$ERR" </dev/null
RC=$?
check_eq "bpfix as uid 65534: exit, stdout lines, stderr lines" \
	"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "1 0 1"
check "  -> $(head -n 1 "$ERR")" grep -q -E '^bpfix: .*(privileges|permitted|denied).*root' "$ERR"
check_eq "  -> then on $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 0, xdp 0"
check_eq "  -> then $PIN2 exists" "$(test -e "$PIN2" && echo yes || echo no)" no

# Another program's XDP attachment stays; bpfix refuses to replace it.
REF=$BUILD/reference.bpf.o
# (iproute2 loads objects through ip netns exec: its bpffs directories then
# go to a private /sys, not the host's.)
if [ -e "$REF" ] &&
	ip netns exec "$NS_B" ip link set dev "$IF_B" xdpgeneric obj "$REF" sec xdp 2>/dev/null; then
	defer "ip -n '$NS_B' link set dev '$IF_B' xdpgeneric off"
	ref=$(ip -n "$NS_B" link show dev "$IF_B" | sed -n 's/.*prog\/xdp id \([0-9]*\) name \([a-z_]*\).*/\2 (id \1)/p')
	for m in xdp-generic xdp; do
		bpfix_in "$NS_B" --pin-path "$PIN" -i "$IF_B" -m "$m"
		check_eq "bpfix -m $m over $ref: exit, stdout, stderr lines" \
			"$RC $(wc -l <"$OUT") $(wc -l <"$ERR")" "1 0 1"
		check "  -> $(head -n 1 "$ERR")" \
			grep -q "^bpfix: $IF_B: XDP program '${ref%% *}' ${ref#* } is attached" "$ERR"
		check_eq "  -> then on $IF_B" \
			"$(ip -n "$NS_B" link show dev "$IF_B" | sed -n 's/.*prog\/xdp id \([0-9]*\) name \([a-z_]*\).*/\2 (id \1)/p')" \
			"$ref"
		check "  -> then no $PIN" test ! -e "$PIN"
	done
	ip -n "$NS_B" link set dev "$IF_B" xdpgeneric off
else
	info "no $REF (or it would not attach): the foreign XDP program case is skipped"
fi

# ---- others' clsact qdisc and filter survive ------------------------------------------

info "a clsact qdisc and filter installed before ($(($(date +%s) - T0)) s)"
nsx "$NS_B" tc qdisc add dev "$IF_B" clsact || fail "cannot add clsact to $IF_B"
defer "nsx '$NS_B' tc qdisc del dev '$IF_B' clsact"
ip netns exec "$NS_B" tc filter add dev "$IF_B" ingress prio 5 bpf direct-action \
	obj "$BUILD/bpfix.bpf.o" sec tc 2>"$TEST_TMP/tc.err" ||
	{ cat "$TEST_TMP/tc.err" >&2; fail "cannot add a bpf filter to $IF_B"; }
theirs=$(tc_filters "$NS_B" "$IF_B")
agent_start agent "$NS_B" "$IF_B" -f json --tc-mode legacy
check "bpfix added its filters to theirs: $(tc_filters "$NS_B" "$IF_B")" \
	test "$(tc_filters "$NS_B" "$IF_B" | grep -o 0xb9f1 | wc -l)" -eq 2
agent_stop -INT
check_eq "after bpfix: their clsact qdisc" "$(nsx "$NS_B" tc qdisc show dev "$IF_B" | grep -c clsact)" 1
check_eq "after bpfix: their filter, and none of bpfix's" "$(tc_filters "$NS_B" "$IF_B")" "$theirs"
check "after bpfix: no $PIN1" test ! -e "$PIN1"
nsx "$NS_B" tc qdisc del dev "$IF_B" clsact

# ---- ip netns exec, SIGTERM --------------------------------------------------------------

info "started through ip netns exec, stopped by SIGTERM ($(($(date +%s) - T0)) s)"
# Its bpffs is its own (ip netns exec remounts /sys): the pins are not ours
# to see, and it must clean them up itself.
AGENT_OUT=$TEST_TMP/netns.out AGENT_ERR=$TEST_TMP/netns.err
ip netns exec "$NS_B" "$BPFIX" -i "$IF_B" -v -f json --pin-path /sys/fs/bpf/bpfix-$$-netns \
	>"$AGENT_OUT" 2>"$AGENT_ERR" </dev/null &
AGENT_PID=$!
bg_track "$AGENT_PID"
agent_wait_metering
check_eq "under ip netns exec: attached to $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 2, xdp 0"
nsx_timeout 10 "$NS_A" ping -n -q -c 2 -i 0.05 "$IP4_B" >/dev/null 2>&1
agent_stop -TERM
check_eq "under ip netns exec: the ping's record (packets, rev_packets, end_reason)" \
	"$(python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
print(*[(x["packets"], x["rev_packets"], x["end_reason"]) for x in r
        if x["protocol"] == 1 and x.get("icmp_type") == 8])' <"$AGENT_OUT")" "(2, 2, 'forced')"
check_eq "under ip netns exec, after SIGTERM: on $IF_B" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 0, xdp 0"

info "took $(($(date +%s) - T0)) s"
test_done
