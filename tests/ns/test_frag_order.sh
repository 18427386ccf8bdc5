#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python programs in single quotes
# Fragments in any order (issue 10, include/bpfix.h FRAGMENTS IN ANY ORDER),
# live: a seeded scapy replay of many flows, IPv4 and IPv6, UDP and ICMP
# echo, most of their datagrams fragmented (fragment(), fragment6()), some
# not, with EVERY packet of the replay in a seeded random order, so a
# datagram's later fragments often come sweeps before its first. Plus
# ORPHANS later fragments from one source whose first fragments never come.
# The replay goes from namespace A over a quiet veth pair to B, where the
# real agent meters it (-f json --uniflow, sweeps every 100 ms), first with
# -m xdp, then with -m tc. Ground truth is computed from the pcap alone
# (fragments grouped by datagram, ports from each first fragment): every
# flow's packets and octets in the records must be exactly the truth's,
# there must be no other record of the replay's addresses but one port-0
# FLOW_F_FRAG_UNMATCHED record per orphan (their packets exact), and -v's
# exit line must count the orphans as unmatched held fragments, others as
# resolved, nothing lost. On the code before held keys this fails: later
# fragments that beat their first went to port-0 flows.
#
#   env BUILD=build sh tests/ns/test_frag_order.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   FLOWS=500 SEED=10      flows in the replay (1 to 6 datagrams each), seed
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
FLOWS=${FLOWS:-500}
SEED=${SEED:-10}
ORPHANS=20
AGENT_ARGS="-f json --uniflow --idle-timeout 60 --active-timeout 120 --sweep-interval 100"

use_python3
need_root
need_cmds ip nsenter python3 timeout
python3 -c 'import scapy.all' 2>/dev/null || skip "python3 has no scapy"
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
T0=$(date +%s)

_frag_py='
import collections, ipaddress, json, random, socket, sys
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, IP, IPv6, IPv6ExtHdrFragment, UDP, ICMP, ICMPv6EchoRequest,
                       Raw, RawPcapReader, fragment, fragment6, wrpcap)

SRC4, DST4 = "198.18.0.0", "198.19.0.1"
SRC6, DST6 = "2001:db8:f1::", "2001:db8:f2::1"
ORPHAN4 = "198.18.255.250"

def gen(seed, nflows, orphans, smac, dmac, pcap, summary):
    rnd = random.Random(seed)
    pkts, ident, datagrams, fragmented = [], rnd.randrange(1, 1 << 15), 0, 0
    eth = Ether(src=smac, dst=dmac)
    for f in range(nflows):
        v6 = rnd.random() < 0.4
        icmp = rnd.random() < 0.15
        src = str(ipaddress.ip_address(SRC6 if v6 else SRC4) + 1 + f)
        dst = DST6 if v6 else DST4
        sport, dport = rnd.randrange(1024, 65536), rnd.choice((53, 123, 443, 4789, 9999))
        for d in range(rnd.randint(1, 6)):
            ident += 1
            big = rnd.random() < 0.8
            size = rnd.randint(1500, 4000) if big else rnd.randint(20, 1000)
            l4 = (ICMPv6EchoRequest(id=f, seq=d) if v6 else ICMP(id=f, seq=d)) if icmp \
                else UDP(sport=sport, dport=dport)
            data = Raw(bytes(rnd.getrandbits(8) for _ in range(size)))
            datagrams += 1
            if v6:
                p = IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(id=ident) / l4 / data
                if big:
                    frags = fragment6(p, rnd.choice((600, 1000, 1280, 1400)))
                else:
                    p = IPv6(src=src, dst=dst) / l4 / data
                    frags = [p]
            else:
                p = IP(src=src, dst=dst, id=ident & 0xffff) / l4 / data
                frags = fragment(p, fragsize=rnd.choice((512, 1024, 1280, 1400))) if big else [p]
            fragmented += len(frags) > 1
            pkts.extend(eth / x for x in frags)
    for o in range(orphans):
        ident += 1
        p = IP(src=ORPHAN4, dst=DST4, id=ident & 0xffff, flags="MF" if o % 2 else 0,
               frag=rnd.randrange(1, 100), proto=17) / Raw(b"\x5a" * rnd.randint(8, 600))
        pkts.append(eth / p)
    rnd.shuffle(pkts)
    wrpcap(pcap, pkts)
    with open(summary, "w") as fh:
        fh.write("%d %d %d\n" % (len(pkts), datagrams, fragmented))

def truth(pcap):
    """Flows and their packets and octets, from the frames alone."""
    flows = collections.Counter()
    octets = collections.Counter()
    groups = collections.defaultdict(list)   # datagram -> ip lengths
    ports = {}                               # datagram -> flow key
    orphan = collections.Counter()
    for b, _ in RawPcapReader(pcap):
        et, ip = int.from_bytes(b[12:14], "big"), b[14:]
        if et == 0x0800:
            ihl, tot = (ip[0] & 15) * 4, int.from_bytes(ip[2:4], "big")
            frag, proto = int.from_bytes(ip[6:8], "big"), ip[9]
            src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
            off, more, ident, l4 = frag & 0x1fff, frag & 0x2000, int.from_bytes(ip[4:6], "big"), ip[ihl:]
        elif et == 0x86dd:
            tot, nh = int.from_bytes(ip[4:6], "big") + 40, ip[6]
            src, dst = str(ipaddress.IPv6Address(ip[8:24])), str(ipaddress.IPv6Address(ip[24:40]))
            l4, off, more, ident, proto = ip[40:], 0, 0, None, nh
            if nh == 44:
                fo = int.from_bytes(l4[2:4], "big")
                proto, off, more = l4[0], fo >> 3, fo & 1
                ident, l4 = int.from_bytes(l4[4:8], "big"), l4[8:]
        else:
            continue
        if src == ORPHAN4:
            orphan[src] += 1
            continue
        def key_of(l4):
            if proto in (1, 58):
                return (src, dst, proto, 0, l4[0])       # ICMP: the type
            return (src, dst, proto, int.from_bytes(l4[0:2], "big"), int.from_bytes(l4[2:4], "big"))
        if off == 0 and not more:
            k = key_of(l4)
            flows[k] += 1
            octets[k] += tot
            continue
        g = (src, dst, proto if et == 0x0800 else 0, ident)
        groups[g].append(tot)
        if off == 0:
            ports[g] = key_of(l4)
    for g, lens in groups.items():
        k = ports[g]          # every datagram of the replay has its first
        flows[k] += len(lens)
        octets[k] += sum(lens)
    return flows, octets, sum(orphan.values())

def check(pcap, records):
    flows, octets, orphans = truth(pcap)
    got_p, got_o = collections.Counter(), collections.Counter()
    bogus = unmatched = unmatched_pk = unmatched_bad = 0
    for line in open(records):
        r = json.loads(line)
        if r["src"] == ORPHAN4:
            unmatched += 1
            unmatched_pk += r["packets"]
            unmatched_bad += not (r["flags"] & 1 and r["sport"] == 0 and r["dport"] == 0)
            continue
        if not (r["src"].startswith("198.18.") or r["src"].startswith("2001:db8:f1:")):
            continue
        k = (str(ipaddress.ip_address(r["src"])), str(ipaddress.ip_address(r["dst"])),
             r["protocol"], r["sport"], r.get("icmp_type", r["dport"]))
        if k not in flows or r["flags"] & 1:
            bogus += 1
        got_p[k] += r["packets"]
        got_o[k] += r["bytes"]
    wrong = [k for k in flows if got_p[k] != flows[k] or got_o[k] != octets[k]]
    for k in wrong[:5]:
        print("  flow %s: %d packets %d octets, truth %d %d" %
              (k, got_p[k], got_o[k], flows[k], octets[k]), file=sys.stderr)
    print(len(flows), len(wrong), bogus, unmatched, unmatched_pk, unmatched_bad, orphans,
          sum(flows.values()))

def send(iface, pcap):
    # the frames as they are, not dissected again (and through the qdisc)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for b, _ in RawPcapReader(pcap):
        s.send(b)

mode, args = sys.argv[1], sys.argv[2:]
if mode == "gen":
    gen(int(args[0]), int(args[1]), int(args[2]), args[3], args[4], args[5], args[6])
elif mode == "check":
    check(args[0], args[1])
elif mode == "send":
    send(args[0], args[1])
'

quiet_pair fo 81 1
PCAP=$TEST_TMP/replay.pcap
python3 -c "$_frag_py" gen "$SEED" "$FLOWS" "$ORPHANS" "$(mac_of "$NS_A" "$IF_A")" \
	"$(mac_of "$NS_B" "$IF_B")" "$PCAP" "$TEST_TMP/summary" || fail "cannot make the replay"
read -r NPKTS NDGRAMS NFRAG <"$TEST_TMP/summary"
info "replay: $NPKTS frames, $NDGRAMS datagrams of $FLOWS flows, $NFRAG of them fragmented," \
	"$ORPHANS orphan fragments, all shuffled (seed $SEED)"
check "at least 1000 fragmented datagrams" test "$NFRAG" -ge 1000

# replay MODE: the replay through bpfix -m MODE on B's veth, checked.
replay() {
	info "bpfix -m $1 on $IF_B"
	# shellcheck disable=SC2086
	agent_start "$1" "$NS_B" "$IF_B" -m "$1" $AGENT_ARGS
	_rp_rx0=$(dev_stat "$NS_B" "$IF_B" rx_packets)
	_rp_t0=$(date +%s%N)
	nsx_timeout 300 "$NS_A" python3 -c "$_frag_py" send "$IF_A" "$PCAP" ||
		fail "the replay could not be sent"
	_rp_ms=$((($(date +%s%N) - _rp_t0) / 1000000))
	sleep 1
	_rp_rx=$(($(dev_stat "$NS_B" "$IF_B" rx_packets) - _rp_rx0))
	agent_stop "$NS_B" "$IF_B"
	info "$_rp_rx frames in $_rp_ms ms, $(wc -l <"$AGENT_OUT") records"
	check_eq "$1: frames $IF_B received = frames of the replay" "$_rp_rx" "$NPKTS"
	_rp_v=$(python3 -c "$_frag_py" check "$PCAP" "$AGENT_OUT") ||
		fail "cannot check the records of $1"
	# shellcheck disable=SC2086
	set -- "$1" $_rp_v
	check_eq "$1: of $2 flows, those whose packets or octets differ from the pcap's" "$3" 0
	check_eq "$1: records of no flow in the pcap (port 0, FLOW_F_FRAG_UNMATCHED)" "$4" 0
	check_eq "$1: orphans' records, their packets" "$5 $6" "$ORPHANS $8"
	check_eq "$1: orphans' records not ports 0 with FLOW_F_FRAG_UNMATCHED" "$7" 0
	agent_records "$1"
	records_sane
	agent_exit_agrees
	_rp_held=$(sed -n 's/.* | held fragments resolved \([0-9]*\) unmatched \([0-9]*\) waiting \([0-9]*\) |.*/\1 \2 \3/p' "$AGENT_ERR")
	info "$1: held fragments resolved, unmatched, still waiting: ${_rp_held:-?}"
	check_eq "$1: -v held fragments unmatched, still waiting" "${_rp_held#* }" "$ORPHANS 0"
	check "$1: -v some held fragments resolved (${_rp_held%% *})" \
		test "${_rp_held%% *}" -gt 0 2>/dev/null
}

replay xdp
replay tc
info "took $(($(date +%s) - T0)) s"
test_done
