#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Interface names are user-controlled bytes (issue 12): Linux takes any
# octet but '/', ':' and white space, so a name can hold a terminal's
# escape sequence or octets that are not UTF-8. JSON lines must stay valid
# UTF-8 JSON, text lines and error lines must not pass escape sequences
# through, and a renamed interface shows its new name in records and in
# the IPFIX interface table.
#
# B's veth is renamed "v ESC [31m 0xff q" before the agent starts on it:
#   1. -f json: every line is JSON in strict UTF-8, and the interface
#      reads back as the name's octets (ESC as \u001b, 0xff as \u00ff);
#   2. text: no ESC octet in the output, the name shown as v\x1b[31m\xffq;
#      an unknown -i name with an escape sequence: the error line has none;
#   3. -c file: while the agent runs the veth is renamed "renamed0": the
#      records after it and the interface table at exit (ipfixDump) name
#      the new name.
#
#   env BUILD=build sh tests/ns/test_ifnames.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}

use_python3
need_root
need_cmds ip nsenter python3 ping ipfixDump
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
quiet_pair in 84 7
ESC=$(printf '\033')
WEIRD=$(printf 'v\033[31m\377q')
rename() {
	ip -n "$NS_B" link set dev "$1" down &&
	ip -n "$NS_B" link set dev "$1" name "$2" &&
	ip -n "$NS_B" link set dev "$2" up ||
		fail "cannot rename $1"
	# the stack forgets the address routes while down: back, and B's
	# neighbour entry for A
	ip -n "$NS_B" neigh replace "$IP4_A" dev "$2" nud permanent \
		lladdr "$(mac_of "$NS_A" "$IF_A")" 2>/dev/null
}
rename "$IF_B" "$WEIRD"
IF_B=$WEIRD

# ---- 1. JSON --------------------------------------------------------------
agent_start json "$NS_B" "$IF_B" -f json --idle-timeout 1 --sweep-interval 200
ping_ok "$NS_A" 3 "$IP4_B"
sleep 2
agent_stop
check "JSON: every line is JSON in strict UTF-8, the interface its octets" \
	python3 -c '
import json, sys
# no multi-octet UTF-8 in the name: each octet is the code point it reads as
want = "".join(chr(b) for b in sys.argv[2].encode("utf-8", "surrogateescape"))
n = 0
for raw in open(sys.argv[1], "rb"):
    r = json.loads(raw.decode("utf-8"))
    n += 1
    if r["interface"] != want:
        sys.exit("interface %r, expected %r" % (r["interface"], want))
sys.exit(0 if n else "no records")' "$AGENT_OUT" "$WEIRD"

# ---- 2. text and error lines ----------------------------------------------
agent_start text "$NS_B" "$IF_B" --idle-timeout 1 --sweep-interval 200
ping_ok "$NS_A" 3 "$IP4_B"
sleep 2
agent_stop
check_eq "text: ESC octets in the output" "$(grep -c "$ESC" "$AGENT_OUT")" 0
check "text: the name escaped (v\\x1b[31m\\xffq)" grep -q -F 'v\x1b[31m\xffq/' "$AGENT_OUT"
nsenter --net="$NETNS_DIR/$NS_B" "$BPFIX" -i "$(printf 'no\033[2Jsuch')" \
	>/dev/null 2>"$TEST_TMP/bad.err"
check_eq "an unknown -i with an escape sequence: exit status" "$?" 2
check_eq "... ESC octets in its error line" "$(grep -c "$ESC" "$TEST_TMP/bad.err")" 0

# ---- 3. renamed while metered ------------------------------------------------
agent_start ipfix "$NS_B" "$IF_B" -c "file:$TEST_TMP/flows.ipfix" --idle-timeout 1 \
	--sweep-interval 200
ping_ok "$NS_A" 2 "$IP4_B"
sleep 1.5
rename "$IF_B" renamed0
IF_B=renamed0
sleep 1.2			# the name cache's TTL
ping_ok "$NS_A" 2 "$IP4_B"
sleep 2
agent_stop
ipfixDump --in "$TEST_TMP/flows.ipfix" >"$TEST_TMP/dump" 2>"$TEST_TMP/dump.err"
check_eq "ipfixDump's complaints" "$(grep -c . "$TEST_TMP/dump.err")" 0
check "the interface table at exit names renamed0" \
	sh -c "grep -a 'interfaceDescription' '$TEST_TMP/dump' | tail -n 1 | grep -q renamed0"
reliability "an interface named with an escape sequence and a non-UTF-8 octet, then renamed" \
	"JSON lines strict UTF-8, text and error lines escaped (v\\x1b[31m\\xffq), the new name in records and the IPFIX interface table" \
	"$(( $(grep -c "$ESC" "$AGENT_OUT") + $(grep -c "$ESC" "$TEST_TMP/bad.err") )) terminal escapes passed through"
test_done
