# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Library for the deployment tests (tests/deploy/test_*.sh): tests/ns/lib.sh
# (namespaces, veth pairs, checks, cleanup on any exit) plus what booting a
# unit, a container or a pod needs. Deployment tests never skip: what
# make test-deploy needs, tools/deps.sh --deploy installs, so a missing tool
# is a failure here, not a skip.
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/../ns/lib.sh"

skip() {
	fail "$* (deployment tests do not skip: tools/deps.sh --deploy installs what they need)"
}

# shellcheck disable=SC2034 # for the sourcing test
DEPLOY=$(cd "$(dirname "$0")/../../tools/deploy" && pwd)

# ipfix_icmp_packets FILE SRC DST: packets of the ICMP biflows SRC -> DST in
# the IPFIX file FILE, forward + reverse, as ipfixDump (libfixbuf) decodes
# it; "undecodable" when ipfixDump fails.
ipfix_icmp_packets() {
	ipfixDump --in "$1" > "$1.dump" 2>&1 || { echo undecodable; return; }
	awk -v src="$2" -v dst="$3" '
	function flush() {
		if (s == src && d == dst && p == 1) n += fw + rv
		s = d = ""; p = fw = rv = 0
	}
	/^--- data record/ { flush() }
	$2 == "sourceIPv4Address" { s = $4 }
	$2 == "destinationIPv4Address" { d = $4 }
	$2 == "protocolIdentifier" { p = $4 }
	$2 == "packetDeltaCount" { fw = $4 }
	$2 == "reversePacketDeltaCount" { rv = $4 }
	END { flush(); print n + 0 }' "$1.dump"
}
