#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Tunnelled frames for tests/ns/test_tunnels.sh, built with scapy, and the
ground truth to check bpfix's records against.

The machine's kernel has vxlan but no gre, geneve or ipip devices, so GRE,
Geneve, IP-in-IP, MPLS (and a scapy VXLAN) frames are built here and sent
raw over a veth; the receiver's stack drops them (they are addressed to an
address it does not have, or are MPLS), bpfix on its ingress meters them.

  tunnel_frames.py send IFACE SRC_MAC DST_MAC OUTER_SRC OUTER_DST EXPECT SET
      send the frames of SET (all, gre-key) on IFACE and write what bpfix
      must report, one JSON object per flow, to EXPECT: the inner flow's
      addresses, ports and protocol, the tunnel (type, id, outer
      addresses), packets and bytes (inner IP total lengths, as scapy
      built them); "outer": true for an outer flow (--tunnels both, or a
      malformed encapsulation).
  tunnel_frames.py check EXPECT RECORDS [both]
      compare bpfix's JSON lines (RECORDS) with EXPECT: every expected flow
      in exactly one record with exactly its packets and bytes, and no
      record of a tunnelled flow that was not expected. One line per check;
      exit 1 if any failed.
"""
import json
import sys

from scapy.all import (GRE, IP, TCP, UDP, Ether, IPv6, Raw, conf, sendp)
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

conf.verb = 0


def inner4_udp(sport, dport=53, net=1, size=30):
    return IP(src="172.16.%d.1" % net, dst="172.16.%d.2" % net) / UDP(sport=sport, dport=dport) \
        / Raw(b"u" * size)


def inner4_tcp(sport, dport=80, net=1, size=20):
    return IP(src="172.16.%d.1" % net, dst="172.16.%d.2" % net) / TCP(sport=sport, dport=dport,
                                                                        flags="S") \
        / Raw(b"t" * size)


def inner6_udp(sport, dport=53, size=40):
    return IPv6(src="fd10::1", dst="fd10::2") / UDP(sport=sport, dport=dport) / Raw(b"v" * size)


def inner6_tcp(sport, dport=443, size=10):
    return IPv6(src="fd10::1", dst="fd10::2") / TCP(sport=sport, dport=dport, flags="S") \
        / Raw(b"w" * size)


def inner_eth(ip):
    return Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02") / ip


def flow_of(ip):
    """The inner flow's key fields and one packet's IP total length."""
    ip = ip.__class__(bytes(ip))	# lengths filled in
    l4 = ip.payload
    proto = ip.proto if ip.version == 4 else ip.nh
    return {"ip_version": ip.version, "protocol": proto, "src": ip.src, "dst": ip.dst,
            "sport": l4.sport, "dport": l4.dport}, len(ip)


def frames(outer_src, outer_dst, which):
    """(frame payload above Ethernet, EtherType, count, expected flow) tuples."""
    o4 = IP(src=outer_src, dst=outer_dst)
    out = []

    def add(name, tun, tun_id, inner, count, above, addresses=True):
        key, ip_len = flow_of(inner)
        exp = dict(key, tunnel=tun, tunnel_id=tun_id, packets=count, bytes=count * ip_len,
                   name=name)
        if addresses:
            exp["tunnel_src"], exp["tunnel_dst"] = outer_src, outer_dst
        out.append((name, above, count, exp))

    i = inner4_tcp(1111)
    add("gre key 7, IPv4/TCP", "gre", 7, i, 5, o4 / GRE(key_present=1, key=7, proto=0x0800) / i)
    if which == "gre-key":
        return out
    i = inner6_udp(2222)
    add("gre, IPv6/UDP", "gre", 0, i, 6, o4 / GRE(proto=0x86dd) / i)
    i = inner4_udp(2223, net=5)
    add("gre checksum+key+seq, Ethernet (TEB)", "gre", 0x123401, i, 4,
        o4 / GRE(chksum_present=1, key_present=1, seqnum_present=1, key=0x123401, sequence_number=9,
                 proto=0x6558) / inner_eth(i))
    i = inner4_udp(3333, net=2)
    add("geneve vni 100, options", "geneve", 100, i, 7,
        o4 / UDP(sport=50001, dport=6081) /
        GENEVE(vni=100, proto=0x6558, optionlen=2, options=b"\x01\x02\x03\x04\x05\x06\x07\x08") /
        inner_eth(i))
    add("geneve vni 101, the same inner flow", "geneve", 101, i, 3,
        o4 / UDP(sport=50001, dport=6081) / GENEVE(vni=101, proto=0x6558) / inner_eth(i))
    i = inner4_udp(4444, net=3)
    add("ipip 4in4", "ipip", 0, i, 8, IP(src=outer_src, dst=outer_dst, proto=4) / i)
    add("vxlan vni 5, the ipip one's inner flow", "vxlan", 5, i, 2,
        o4 / UDP(sport=50002, dport=4789) / VXLAN(flags=0x08, vni=5) / inner_eth(i))
    i = inner6_tcp(5555)
    add("ipip 6in4", "ipip", 0, i, 5, IP(src=outer_src, dst=outer_dst, proto=41) / i)
    i = inner4_udp(6666, net=4)
    add("mpls 1000/2000", "mpls", 1000, i, 9,
        MPLS(label=1000, s=0, ttl=64) / MPLS(label=2000, s=1, ttl=64) / i, addresses=False)
    # A GRE header that says a key follows, cut before it: the outer flow,
    # counted under malformed_tunnel.
    bad = bytearray(bytes(o4 / GRE(key_present=1, proto=0x0800))[:-4])
    bad[2:4] = len(bad).to_bytes(2, "big")	# the outer datagram ends there
    bad = Raw(bytes(bad))
    out.append(("gre cut in its key", bad, 2,
                {"name": "gre cut in its key", "outer": True, "malformed": True,
                 "ip_version": 4, "protocol": 47, "src": outer_src, "dst": outer_dst,
                 "sport": 0, "dport": 0, "packets": 2, "bytes": 2 * len(bad)}))
    return out


def send(iface, smac, dmac, outer_src, outer_dst, expect, which, both=False):
    todo = frames(outer_src, outer_dst, which)
    with open(expect, "w") as f:
        for name, above, count, exp in todo:
            eth = Ether(src=smac, dst=dmac) / above
            if isinstance(above, MPLS):
                eth.type = 0x8847
            elif isinstance(above, Raw):
                eth.type = 0x0800
            eth = Ether(bytes(eth))
            sendp([eth] * count, iface=iface)
            print(json.dumps(exp), file=f)
            if both and not exp.get("outer") and exp["tunnel"] != "mpls":
                ip = eth[IP] if IP in eth else eth[IPv6]
                print(json.dumps({"name": name + ": the outer flow", "outer": True,
                                  "ip_version": 4, "protocol": ip.proto, "src": outer_src,
                                  "dst": outer_dst,
                                  "sport": ip[UDP].sport if ip.proto == 17 else 0,
                                  "dport": ip[UDP].dport if ip.proto == 17 else 0,
                                  "packets": count, "bytes": count * len(ip)}), file=f)


KEY = ("ip_version", "protocol", "src", "dst", "sport", "dport")
TUN = ("tunnel", "tunnel_id", "tunnel_src", "tunnel_dst")


def check(expect, records):
    exp = [json.loads(line) for line in open(expect) if line.strip()]
    recs = [json.loads(line) for line in open(records) if line.strip()]
    fails = 0
    used = set()
    for e in exp:
        want_tun = None if e.get("outer") else tuple(e.get(k) for k in TUN)
        match = [i for i, r in enumerate(recs)
                 if tuple(r.get(k) for k in KEY) == tuple(e[k] for k in KEY) and
                 (tuple(r.get(k) for k in TUN) if "tunnel" in r else None) == want_tun]
        got = [(recs[i]["packets"], recs[i]["bytes"]) for i in match]
        ok = got == [(e["packets"], e["bytes"])]
        print("  %s  %s: records %s, want one of packets %d bytes %d" % (
            "ok  " if ok else "FAIL", e["name"], got, e["packets"], e["bytes"]))
        fails += not ok
        used.update(match)
    stray = [r for i, r in enumerate(recs) if i not in used and "tunnel" in r]
    print("  %s  tunnelled records nobody sent: %d" % ("ok  " if not stray else "FAIL",
                                                       len(stray)))
    for r in stray:
        print("       ", json.dumps({k: r.get(k) for k in KEY + TUN + ("packets", "bytes")}))
    fails += bool(stray)
    return 1 if fails else 0


if __name__ == "__main__":
    if len(sys.argv) >= 8 and sys.argv[1] == "send":
        send(*sys.argv[2:9], both=len(sys.argv) > 9 and sys.argv[9] == "both")
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
