#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Community ID on the wire: an agent meters a veth pair while A talks to B
# in every way the specification distinguishes: TCP (IPv4 and IPv6), UDP
# (both), ICMP and ICMPv6 echo (two-way types; ICMPv6 brings neighbor
# discovery along, two-way too), SCTP and RSVP through raw sockets (what B
# answers, a protocol unreachable or nothing, is one-way ICMP); twice:
#
#   1. -f json: every IP record's "community_id";
#   2. -c file: with --community-id-seed 7: every IPv4/IPv6 record's
#      communityId element (PEN 32473, id 1, 30 octets), read from the
#      IPFIX file by a decoder written here.
#
# Each id must equal the one computed here in Python (hashlib's SHA-1,
# not the agent's), from the record's own addresses, ports or ICMP type
# and code; that implementation first passes the specification's table
# rows (community-id-spec baseline/README.md), so neither side can agree
# with the other on a wrong reading of the specification. A biflow's id is
# the id of either direction. Every kind of traffic must show up.
#
#   env BUILD=build sh tests/ns/test_community_id.sh
#   BPFIX=/path/to/bpfix     the binary under test
#   BPFIX_TEST_KEEP=1        leave the namespaces up (lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
TCP_PORT=8080

use_python3
need_root
need_cmds ip nsenter python3 ping
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
ipfix_test_setup
topo_pair cid 79 1

# Community ID v1 in Python, checked against the specification first;
# then "check JSON|IPFIX SEED FILE": one "name=value" line per figure.
_cid_py='
import base64, hashlib, json, socket, struct, sys

PAIRS = {1: {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17},
         58: {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
              130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144}}

def cid(src, dst, proto, a, b, seed):
    """a, b: ports, or ICMP type and code."""
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    ports, two_way = True, True
    if proto in PAIRS:
        if a in PAIRS[proto]:
            b = PAIRS[proto][a]
        else:
            two_way = False
    elif proto not in (6, 17, 132):
        ports, a, b = False, 0, 0
    if two_way and not (s < d or (s == d and a < b)):
        s, d, a, b = d, s, b, a
    data = struct.pack("!H", seed) + s + d + struct.pack("BB", proto, 0)
    if ports:
        data += struct.pack("!HH", a, b)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()

# baseline/README.md, default settings and seed 1
SPEC = [(("1.2.3.4", "5.6.7.8", 6, 1122, 3344, 0), "1:wCb3OG7yAFWelaUydu0D+125CLM="),
        (("5.6.7.8", "1.2.3.4", 17, 3344, 1122, 0), "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
        (("5.6.7.8", "1.2.3.4", 1, 0, 0, 0), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
        (("1.2.3.4", "5.6.7.8", 1, 11, 0, 0), "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="),
        (("fe80:1011:1213:1415:1617:1819:1a1b:1c1d", "fe80:1:203:405:607:809:a0b:c0d",
          58, 129, 0, 0), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
        (("fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d",
          58, 146, 0, 1), "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
        (("5.6.7.8", "1.2.3.4", 132, 3344, 1122, 1), "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
        (("1.2.3.4", "5.6.7.8", 46, 0, 0, 1), "1:/buhqeOmaRCopOZFy9HnoJd5XW8=")]
for args, want in SPEC:
    if cid(*args) != want:
        sys.exit("the test'"'"'s own Community ID is wrong for %s" % (args,))

def json_records(path):
    for line in open(path):
        r = json.loads(line)
        if not r["ip_version"]:
            yield None
            continue
        icmp = "icmp_type" in r
        yield (r["src"], r["dst"], r["protocol"],
               r["icmp_type"] if icmp else r["sport"], r["icmp_code"] if icmp else r["dport"],
               r.get("community_id"))

def ipfix_records(path):
    """bpfix writes fixed-length fields only; templates per domain."""
    data, off, tpl = open(path, "rb").read(), 0, {}
    while off + 16 <= len(data):
        ver, mlen, _, _, odid = struct.unpack_from("!HHIII", data, off)
        if ver != 10 or mlen < 16:
            sys.exit("bad IPFIX message at %d" % off)
        end, p = off + mlen, off + 16
        while p + 4 <= end:
            sid, slen = struct.unpack_from("!HH", data, p)
            q, send = p + 4, p + slen
            while sid in (2, 3) and q + 4 <= send:
                tid, n = struct.unpack_from("!HH", data, q)
                q += 6 if sid == 3 else 4
                fields = []
                for _ in range(n):
                    ie, flen = struct.unpack_from("!HH", data, q)
                    q += 4
                    pen = 0
                    if ie & 0x8000:
                        pen = struct.unpack_from("!I", data, q)[0]
                        q += 4
                    fields.append((pen, ie & 0x7fff, flen))
                tpl[(odid, tid)] = fields
            if sid >= 256:
                fields = tpl[(odid, sid)]
                rlen = sum(f[2] for f in fields)
                while q + rlen <= send:
                    v = {}
                    for pen, ie, flen in fields:
                        v.setdefault((pen, ie), data[q:q + flen])
                        q += flen
                    if (0, 4) in v:
                        yield flow_of(v)
                    else:
                        yield None
            p = send
        off = end

def flow_of(v):
    num = lambda k: int.from_bytes(v[(0, k)], "big")
    if (0, 8) in v:
        src, dst = socket.inet_ntop(socket.AF_INET, v[(0, 8)]), socket.inet_ntop(socket.AF_INET, v[(0, 12)])
        icmp = num(32)
    else:
        src, dst = socket.inet_ntop(socket.AF_INET6, v[(0, 27)]), socket.inet_ntop(socket.AF_INET6, v[(0, 28)])
        icmp = num(139)
    proto = num(4)
    a, b = (icmp >> 8, icmp & 0xff) if proto in (1, 58) else (num(7), num(11))
    raw = v.get((32473, 1))
    return (src, dst, proto, a, b, raw.rstrip(b"\0").decode() if raw is not None else None)

KINDS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6", 132: "sctp", 46: "rsvp"}
what, seed, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
recs = list(json_records(path) if what == "JSON" else ipfix_records(path))
ip = [r for r in recs if r]
seen, bad = set(), []
for src, dst, proto, a, b, got in ip:
    want = cid(src, dst, proto, a, b, seed)
    # the other direction of the same conversation, as its own key
    if proto in PAIRS and a in PAIRS[proto]:
        back = cid(dst, src, proto, PAIRS[proto][a], 0, seed)
    else:
        back = cid(dst, src, proto, b, a, seed) if proto not in PAIRS else want
    if got != want or want != back:
        bad.append("%s %s > %s %d %d: %s, expected %s" % (KINDS.get(proto, proto), src, dst, a, b, got, want))
    seen.add(KINDS.get(proto, str(proto)) + ("6" if ":" in src and proto != 58 else ""))
    print("flow=%s %s > %s %d %d %s" % (KINDS.get(proto, proto), src, dst, a, b, got))
print("records=%d" % len(recs))
print("ip_records_with_the_expected_id=%d/%d" % (len(ip) - len(bad), len(ip)))
for k in sorted(seen):
    print("kind=%s" % k)
for line in bad[:10]:
    print("bad=%s" % line.replace(" ", "_"), file=sys.stderr)
'

# traffic: one of each kind from A to B (and back where B answers).
traffic() {
	bg "$NS_B" python3 "$(dirname "$0")/ipfix_interop.py" tcp-serve "$TCP_PORT" 2 3000 5000 \
		"$TEST_TMP/tcp.ready" "$TEST_TMP/tcp.report"
	_tr_srv=$!
	wait_file "$TEST_TMP/tcp.ready" "TCP server" "$_tr_srv"
	rm -f "$TEST_TMP/tcp.ready"
	check "TCP over IPv4" nsx_timeout 20 "$NS_A" python3 "$(dirname "$0")/ipfix_interop.py" \
		tcp-client "$IP4_B" "$TCP_PORT" 45001 3000 5000
	check "TCP over IPv6" nsx_timeout 20 "$NS_A" python3 "$(dirname "$0")/ipfix_interop.py" \
		tcp-client "$IP6_B" "$TCP_PORT" 45002 3000 5000
	stop "$_tr_srv" - 10
	udp_exchange "$NS_A" "$NS_B" "$IP4_B" 5353 46001 100 200
	udp_exchange "$NS_A" "$NS_B" "$IP6_B" 5354 46002 300
	ping_ok "$NS_A" 3 "$IP4_B"
	ping_ok "$NS_A" 3 -6 "$IP6_B"
	# SCTP (ports 47001 > 7) and RSVP (no ports) as raw IP payloads
	check "SCTP and RSVP datagrams sent" nsx_timeout 20 "$NS_A" python3 -c "
import socket, struct
for proto, payload in ((132, struct.pack('!HHII', 47001, 7, 0, 0) + bytes(16)),
                       (46, bytes(24))):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    for _ in range(2):
        s.sendto(payload, ('$IP4_B', 0))
"
	sleep 0.5
}

info "1. JSON lines, seed 0"
agent_start cid1 "$NS_B" "$IF_B" -f json
traffic
agent_stop
python3 -c "$_cid_py" check JSON 0 "$AGENT_OUT" >"$TEST_TMP/json.figures" 2>"$TEST_TMP/json.bad" ||
	{ cat "$TEST_TMP/json.bad" >&2; fail "cannot check the JSON records"; }
sed 's/^bad=/    /' "$TEST_TMP/json.bad"
N=$(sed -n 's/^ip_records_with_the_expected_id=[0-9]*\///p' "$TEST_TMP/json.figures")
check_eq "JSON: IP records whose community_id is the spec's" \
	"$(sed -n 's/^ip_records_with_the_expected_id=//p' "$TEST_TMP/json.figures")" "$N/$N"
check_eq "JSON: kinds of traffic with records" \
	"$(sed -n 's/^kind=//p' "$TEST_TMP/json.figures" | grep -c -x -e tcp -e tcp6 -e udp -e udp6 \
		-e icmp -e icmp6 -e sctp -e rsvp)" 8
sed -n 's/^flow=/    /p' "$TEST_TMP/json.figures"

info "2. IPFIX into a file, --community-id-seed 7"
agent_start cid2 "$NS_B" "$IF_B" -c "file:$TMP/cid.ipfix" --community-id-seed 7
traffic
agent_stop
python3 -c "$_cid_py" check IPFIX 7 "$TMP/cid.ipfix" >"$TEST_TMP/ipfix.figures" \
	2>"$TEST_TMP/ipfix.bad" || { cat "$TEST_TMP/ipfix.bad" >&2; fail "cannot read $TMP/cid.ipfix"; }
sed 's/^bad=/    /' "$TEST_TMP/ipfix.bad"
N=$(sed -n 's/^ip_records_with_the_expected_id=[0-9]*\///p' "$TEST_TMP/ipfix.figures")
check_eq "IPFIX: IP records whose communityId is the spec's (seed 7)" \
	"$(sed -n 's/^ip_records_with_the_expected_id=//p' "$TEST_TMP/ipfix.figures")" "$N/$N"
check_eq "IPFIX: kinds of traffic with records" \
	"$(sed -n 's/^kind=//p' "$TEST_TMP/ipfix.figures" | grep -c -x -e tcp -e tcp6 -e udp -e udp6 \
		-e icmp -e icmp6 -e sctp -e rsvp)" 8
sed -n 's/^flow=/    /p' "$TEST_TMP/ipfix.figures"
test_done
