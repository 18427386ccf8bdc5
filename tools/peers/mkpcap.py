#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Traffic mix and ground truth for tools/bench_peers.sh.

    /usr/bin/python3 tools/peers/mkpcap.py OUTDIR [--seed N] [--conversations N]

writes OUTDIR/mix.pcap, OUTDIR/mix.truth, OUTDIR/mix.summary and
OUTDIR/filler.pcap (see write_filler). The mix:
IPv4 and IPv6; TCP connections (handshake, data both ways, FIN exchange; a
few long ones), UDP request/response and one-way bulk streams, ICMP and
ICMPv6 echo; about a fifth of the conversations in 802.1Q VLANs, some of
them "twins" (the same 5-tuple in two VLANs, or tagged and untagged); UDP
and ICMP datagrams larger than the MTU split into IPv4 fragments, and UDP
over IPv6 with fragment headers. Frames shorter than 60 bytes are padded as
on a wire, so a frame's length is not its IP length.

Headers come from scapy (one template per direction of a conversation,
fragments from scapy's fragment()/fragment6()); per packet only lengths,
sequence numbers, IDs and checksums are patched, which keeps a 250k-packet
mix to seconds instead of minutes.

The ground truth (mix.truth) is computed from the written pcap by a parser
of its own (truth_from_pcap, also used by score.py), not from what the
generator meant to write; the generator's own tally must agree with it
exactly, and so must the per-packet dissection of tshark (if installed,
`--tshark-check`), or this script fails. Per flow, keyed by direction:
    vlan ipv proto src dst sport dport packets octets classes
octets = IPv4 total length / IPv6 payload length + 40 (what IPFIX
octetDeltaCount counts), ICMP type and code as sport 0, dport type*256+code,
vlan = outer 802.1Q id (0 untagged). A non-first fragment belongs to the
flow of its datagram's first fragment (reassembly identity: addresses,
protocol, identification), which is how a meter that reassembles, or
remembers first-fragment ports as bpfix does, keys it.
"""

import array
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys
from collections import defaultdict

# ---------------------------------------------------------------------------
# ground truth from a pcap (used by the generator's self-check and score.py)

ETH_VLAN = (0x8100, 0x88A8, 0x9100)
V6_EXT = (0, 43, 60, 51)  # hop-by-hop, routing, destination options, AH


def _ports(proto, l4):
    if proto in (6, 17) and len(l4) >= 4:
        return struct.unpack("!HH", l4[:4])
    if proto in (1, 58) and len(l4) >= 2:
        return 0, l4[0] << 8 | l4[1]
    return 0, 0


def truth_from_pcap(path):
    """{(vlan, ipv, proto, src, dst, sport, dport): [packets, octets, classes]}
    and a dict of counts (frames, non-IP, unmatched fragments)."""
    flows = {}
    frag4 = {}  # (src, dst, proto, id) -> ports of the first fragment
    frag6 = {}  # (src, dst, id) -> (proto, ports)
    stats = defaultdict(int)
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic not in (0xA1B2C3D4, 0xA1B23C4D):
            sys.exit("%s: not a little-endian pcap" % path)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            incl = struct.unpack("<IIII", rh)[2]
            fr = f.read(incl)
            stats["frames"] += 1
            off, et, vlan = 12, None, 0
            et = struct.unpack("!H", fr[off:off + 2])[0]
            off += 2
            tags = 0
            while et in ETH_VLAN:
                tci, et = struct.unpack("!HH", fr[off:off + 4])
                if tags == 0:
                    vlan = tci & 0xFFF
                tags += 1
                off += 4
            frag = False
            if et == 0x0800:
                ihl = (fr[off] & 15) * 4
                tot, ident, fo, proto = struct.unpack("!HHHxB", fr[off + 2:off + 10])
                src = str(ipaddress.IPv4Address(fr[off + 12:off + 16]))
                dst = str(ipaddress.IPv4Address(fr[off + 16:off + 20]))
                octets = tot
                mf, foff = fo & 0x2000, fo & 0x1FFF
                l4 = fr[off + ihl:off + tot]
                if foff == 0:
                    ports = _ports(proto, l4)
                    if mf:
                        frag = True
                        frag4[(src, dst, proto, ident)] = ports
                else:
                    frag = True
                    ports = frag4.get((src, dst, proto, ident))
                    if ports is None:
                        stats["unmatched_fragments"] += 1
                        ports = (0, 0)
                ipv = 4
            elif et == 0x86DD:
                plen, nh = struct.unpack("!HB", fr[off + 4:off + 7])
                src = str(ipaddress.IPv6Address(fr[off + 8:off + 24]))
                dst = str(ipaddress.IPv6Address(fr[off + 24:off + 40]))
                octets = plen + 40
                p = off + 40
                end = off + 40 + plen
                fh = None
                while True:
                    if nh in V6_EXT:
                        hl = (fr[p + 1] + 2) * 4 if nh == 51 else (fr[p + 1] + 1) * 8
                        nh, p = fr[p], p + hl
                    elif nh == 44:
                        fo, ident = struct.unpack("!HI", fr[p + 2:p + 8])
                        fh = (fo >> 3, fo & 1, ident)
                        nh, p = fr[p], p + 8
                    else:
                        break
                proto = nh
                if fh is None:
                    ports = _ports(proto, fr[p:end])
                else:
                    frag = True
                    if fh[0] == 0:
                        ports = _ports(proto, fr[p:end])
                        frag6[(src, dst, fh[2])] = (proto, ports)
                    else:
                        got = frag6.get((src, dst, fh[2]))
                        if got is None:
                            stats["unmatched_fragments"] += 1
                            ports = (0, 0)
                        else:
                            proto, ports = got
                ipv = 6
            else:
                stats["non_ip"] += 1
                continue
            key = (vlan, ipv, proto, src, dst, ports[0], ports[1])
            r = flows.get(key)
            if r is None:
                r = flows[key] = [0, 0, set()]
            r[0] += 1
            r[1] += octets
            if frag:
                r[2].add("frag")
            if tags:
                r[2].add("vlan")
    # twins: the same 5-tuple under more than one VLAN (or tagged and not)
    by5 = defaultdict(int)
    for k in flows:
        by5[k[1:]] += 1
    for k, r in flows.items():
        if by5[k[1:]] > 1:
            r[2].add("twin")
    return flows, stats


def flow_classes(key, r):
    """Classes for the breakdown: ip4/ip6, tcp/udp/icmp, plus vlan, frag, twin."""
    names = ["ip%d" % key[1], {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}.get(key[2], "p%d" % key[2])]
    return names + sorted(r[2])


def write_truth(flows, path):
    with open(path, "w") as f:
        f.write("# vlan ipv proto src dst sport dport packets octets classes\n")
        for k in sorted(flows, key=str):
            r = flows[k]
            f.write("%d %d %d %s %s %d %d %d %d %s\n" % (k + (r[0], r[1], ",".join(flow_classes(k, r)))))


def read_truth(path):
    flows = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            v = line.split()
            key = (int(v[0]), int(v[1]), int(v[2]), v[3], v[4], int(v[5]), int(v[6]))
            flows[key] = (int(v[7]), int(v[8]), v[9].split(","))
    return flows


# ---------------------------------------------------------------------------
# generator

def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(array.array("H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


class Gen:
    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.pkts = []  # (time, seq, frame)
        self.seq = 0
        self.tally = {}
        self.frag_id = 1
        self.payload = bytes(self.rnd.getrandbits(8) for _ in range(9000))
        self.used5 = set()
        from scapy.all import Ether, Dot1Q, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, \
            ICMPv6EchoReply, IPv6ExtHdrFragment, Raw, fragment, fragment6
        self.s = dict(Ether=Ether, Dot1Q=Dot1Q, IP=IP, IPv6=IPv6, TCP=TCP, UDP=UDP, ICMP=ICMP,
                      ICMPv6EchoRequest=ICMPv6EchoRequest, ICMPv6EchoReply=ICMPv6EchoReply,
                      IPv6ExtHdrFragment=IPv6ExtHdrFragment, Raw=Raw, fragment=fragment,
                      fragment6=fragment6)

    # -- addresses and ports
    def addr_pair(self, ipv):
        r = self.rnd
        if ipv == 4:
            c = "198.18.%d.%d" % (r.randrange(256), r.randrange(1, 255))
            s = "198.19.%d.%d" % (r.randrange(4), r.randrange(1, 255))
        else:
            c = "2001:db8:c:%x::%x" % (r.randrange(65536), r.randrange(1, 65536))
            s = "2001:db8:5:%x::%x" % (r.randrange(4), r.randrange(1, 65536))
        return str(ipaddress.ip_address(c)), str(ipaddress.ip_address(s))

    def macs(self):
        r = self.rnd
        return ("02:00:%02x:%02x:%02x:%02x" % tuple(r.randrange(256) for _ in range(4)),
                "02:01:%02x:%02x:%02x:%02x" % tuple(r.randrange(256) for _ in range(4)))

    def l2(self, mac_src, mac_dst, vlan):
        S = self.s
        e = S["Ether"](src=mac_src, dst=mac_dst)
        return e / S["Dot1Q"](vlan=vlan) if vlan else e

    # -- emitting
    def emit(self, t, frame, key, iplen):
        if len(frame) < 60:
            frame = frame + b"\0" * (60 - len(frame))
        if len(frame) > (1518 if key[0] else 1514):
            raise ValueError("frame of %d bytes exceeds a 1500-byte MTU: %s" % (len(frame), key))
        self.pkts.append((t, self.seq, frame))
        self.seq += 1
        r = self.tally.get(key)
        if r is None:
            r = self.tally[key] = [0, 0]
        r[0] += 1
        r[1] += iplen

    def direction(self, vlan, ipv, proto, src, dst, sport, dport, macs):
        """Header template for one direction; returns a packet builder."""
        S = self.s
        l3 = S["IP"](src=src, dst=dst, ttl=64) if ipv == 4 else S["IPv6"](src=src, dst=dst, hlim=64)
        if proto == 6:
            l4 = S["TCP"](sport=sport, dport=dport, window=64240)
        elif proto == 17:
            l4 = S["UDP"](sport=sport, dport=dport)
        else:
            l4 = S["ICMP"]() if ipv == 4 else S["ICMPv6EchoRequest"]()
        tmpl = bytes(self.l2(macs[0], macs[1], vlan) / l3 / l4)
        l3off = 18 if vlan else 14
        l4off = l3off + (20 if ipv == 4 else 40)
        ip_src = ipaddress.ip_address(src).packed
        ip_dst = ipaddress.ip_address(dst).packed
        gen = self

        def build(t, payload_len, flags=0, seq=0, ack=0, ip_id=0, df=True, icmp=None):
            hdr = bytearray(tmpl)
            pl = gen.payload[:payload_len]
            l4len = len(hdr) - l4off + payload_len
            if proto == 6:
                struct.pack_into("!IIBB", hdr, l4off + 4, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags)
                cs_at = l4off + 16
            elif proto == 17:
                struct.pack_into("!H", hdr, l4off + 4, l4len)
                cs_at = l4off + 6
            else:
                typ, code, ident, sq = icmp
                struct.pack_into("!BBHHH", hdr, l4off, typ, code, 0, ident, sq)
                cs_at = l4off + 2
            struct.pack_into("!H", hdr, cs_at, 0)
            if ipv == 4:
                iplen = 20 + l4len
                struct.pack_into("!HHH", hdr, l3off + 2, iplen, ip_id, 0x4000 if df else 0)
                struct.pack_into("!H", hdr, l3off + 10, 0)
                hdr[l3off + 10:l3off + 12] = csum(bytes(hdr[l3off:l3off + 20]))
                pseudo = ip_src + ip_dst + struct.pack("!xBH", proto, l4len)
            else:
                iplen = 40 + l4len
                struct.pack_into("!H", hdr, l3off + 4, l4len)
                pseudo = ip_src + ip_dst + struct.pack("!I3xB", l4len, proto)
            if proto == 1:
                pseudo = b""
            body = bytes(hdr[l4off:]) + pl
            c = csum(pseudo + body)
            if proto == 17 and c == b"\0\0":
                c = b"\xff\xff"
            hdr[cs_at:cs_at + 2] = c
            key = (vlan, ipv, proto, src, dst, sport, dport) if proto in (6, 17) else \
                (vlan, ipv, proto, src, dst, 0, (icmp[0] << 8) | icmp[1])
            gen.emit(t, bytes(hdr) + pl, key, iplen)

        return build

    def big_datagram(self, t, vlan, ipv, proto, src, dst, sport, dport, macs, size, icmp=None):
        """One UDP (or ICMP echo) datagram of SIZE payload bytes, fragmented
        by scapy to a 1500-byte MTU (first fragment first)."""
        S = self.s
        ident = self.frag_id
        self.frag_id = self.frag_id % 65535 + 1
        data = self.payload[:size]
        if ipv == 4:
            l4 = S["UDP"](sport=sport, dport=dport) if proto == 17 else \
                S["ICMP"](type=icmp[0], code=icmp[1], id=icmp[2], seq=icmp[3])
            pkt = self.l2(macs[0], macs[1], vlan) / S["IP"](src=src, dst=dst, ttl=64, id=ident) / \
                l4 / S["Raw"](data)
            frags = S["fragment"](pkt, 1480)
        else:
            pkt = self.l2(macs[0], macs[1], vlan) / S["IPv6"](src=src, dst=dst, hlim=64) / \
                S["IPv6ExtHdrFragment"](id=ident) / S["UDP"](sport=sport, dport=dport) / S["Raw"](data)
            frags = S["fragment6"](pkt, 1500)
        key = (vlan, ipv, proto, src, dst, sport, dport) if proto == 17 else \
            (vlan, ipv, proto, src, dst, 0, (icmp[0] << 8) | icmp[1])
        for i, fp in enumerate(frags):
            b = bytes(fp)
            l3off = 18 if vlan else 14
            if ipv == 4:
                iplen = struct.unpack("!H", b[l3off + 2:l3off + 4])[0]
            else:
                iplen = struct.unpack("!H", b[l3off + 4:l3off + 6])[0] + 40
            self.emit(t + i * 1e-6, b, key, iplen)

    # -- conversations (times in seconds from the start of the capture)
    def five_tuple(self, ipv, proto, sport=None, dport=None):
        r = self.rnd
        while True:
            c, s = self.addr_pair(ipv)
            sp = sport if sport is not None else r.randrange(32768, 61000)
            dp = dport if dport is not None else r.choice((80, 443, 8080, 5201, 22, 25, 993))
            k = (ipv, proto, c, s, sp, dp)
            if k not in self.used5:
                self.used5.add(k)
                return c, s, sp, dp

    def tcp(self, t, vlans, ipv, long=False):
        r = self.rnd
        c, s, sp, dp = self.five_tuple(ipv, 6)
        macs = self.macs()
        segs = r.randrange(300, 1500) if long else min(int(r.expovariate(1 / 12.0)) + 1, 120)
        for vi, vlan in enumerate(vlans):
            t0 = t + vi * r.uniform(0.05, 0.5)
            cs = self.direction(vlan, ipv, 6, c, s, sp, dp, macs)
            sc = self.direction(vlan, ipv, 6, s, c, dp, sp, macs[::-1])
            rtt = r.uniform(0.0002, 0.004)
            iss, irs = r.getrandbits(32), r.getrandbits(32)
            cs(t0, 0, 0x02, iss)                       # SYN
            sc(t0 + rtt / 2, 0, 0x12, irs, iss + 1)     # SYN-ACK
            cs(t0 + rtt, 0, 0x10, iss + 1, irs + 1)     # ACK
            tt, a, b = t0 + rtt, iss + 1, irs + 1
            up = r.random() < 0.3  # mostly downloads
            mss = 1460 if ipv == 4 else 1440  # a 1500-byte MTU, no TCP options
            for i in range(segs):
                tt += r.uniform(0.00005, 0.002)
                n = r.choice((mss, mss, mss, r.randrange(1, mss + 1)))
                if up:
                    cs(tt, n, 0x18 if i == segs - 1 else 0x10, a, b)
                    a += n
                    if i % 2 or i == segs - 1:
                        sc(tt + rtt / 2, 0, 0x10, b, a)
                else:
                    if i == 0:
                        q = r.randrange(40, 600)
                        cs(tt, q, 0x18, a, b)
                        a += q
                        tt += rtt
                    sc(tt, n, 0x18 if i == segs - 1 else 0x10, b, a)
                    b += n
                    if i % 2 or i == segs - 1:
                        cs(tt + rtt / 2, 0, 0x10, a, b)
            tt += rtt
            if r.random() < 0.05:
                cs(tt, 0, 0x14, a, b)                  # RST
                continue
            cs(tt, 0, 0x11, a, b)                      # FIN
            sc(tt + rtt / 2, 0, 0x11, b, a + 1)        # FIN
            cs(tt + rtt, 0, 0x10, a + 1, b + 1)        # last ACK

    def udp_rr(self, t, vlans, ipv, big=False):
        r = self.rnd
        dport = r.choice((53, 123, 161, 514, 5060, 4500))
        c, s, sp, dp = self.five_tuple(ipv, 17, dport=dport)
        macs = self.macs()
        n = r.randrange(1, 6)
        for vi, vlan in enumerate(vlans):
            tt = t + vi * r.uniform(0.05, 0.5)
            cs = self.direction(vlan, ipv, 17, c, s, sp, dp, macs)
            sc = self.direction(vlan, ipv, 17, s, c, dp, sp, macs[::-1])
            for i in range(n):
                cs(tt, r.randrange(20, 200), ip_id=r.getrandbits(16), df=False)
                tt += r.uniform(0.0002, 0.01)
                if big and r.random() < 0.7:
                    size = r.randrange(1600, 8000)
                    self.big_datagram(tt, vlan, ipv, 17, s, c, dp, sp, macs[::-1], size)
                else:
                    sc(tt, r.randrange(40, 1200), ip_id=r.getrandbits(16), df=False)
                tt += r.uniform(0.001, 0.05)

    def udp_bulk(self, t, vlans, ipv):
        r = self.rnd
        c, s, sp, dp = self.five_tuple(ipv, 17, dport=r.choice((5004, 1935, 5201)))
        macs = self.macs()
        n = r.randrange(100, 1500)
        size = r.choice((172, 1200, 1472 if ipv == 4 else 1452))
        for vi, vlan in enumerate(vlans):
            tt = t + vi * r.uniform(0.05, 0.5)
            cs = self.direction(vlan, ipv, 17, c, s, sp, dp, macs)
            for i in range(n):
                cs(tt, size, ip_id=r.getrandbits(16), df=False)
                tt += r.uniform(0.0001, 0.002)

    def icmp_echo(self, t, vlans, ipv, big=False):
        r = self.rnd
        c, s = self.addr_pair(ipv)
        while (ipv, c, s) in self.used5:
            c, s = self.addr_pair(ipv)
        self.used5.add((ipv, c, s))
        macs = self.macs()
        ident = r.getrandbits(16)
        n = r.randrange(1, 10)
        proto = 1 if ipv == 4 else 58
        req, rep = ((8, 0), (0, 0)) if ipv == 4 else ((128, 0), (129, 0))
        for vi, vlan in enumerate(vlans):
            tt = t + vi * r.uniform(0.05, 0.5)
            cs = self.direction(vlan, ipv, proto, c, s, 0, 0, macs)
            sc = self.direction(vlan, ipv, proto, s, c, 0, 0, macs[::-1])
            for i in range(n):
                if big:
                    size = r.randrange(1600, 4000)
                    self.big_datagram(tt, vlan, 4, 1, c, s, 0, 0, macs, size, req + (ident, i))
                    tt += r.uniform(0.0002, 0.004)
                    self.big_datagram(tt, vlan, 4, 1, s, c, 0, 0, macs[::-1], size, rep + (ident, i))
                else:
                    size = r.choice((56, 56, 56, r.randrange(0, 1400)))
                    cs(tt, size, ip_id=r.getrandbits(16), icmp=req + (ident, i))
                    tt += r.uniform(0.0002, 0.004)
                    sc(tt, size, ip_id=r.getrandbits(16), icmp=rep + (ident, i))
                tt += r.uniform(0.01, 0.2)

    def generate(self, conversations, span):
        r = self.rnd
        kinds = [  # (weight, function, args)
            (26, self.tcp, (4,)), (12, self.tcp, (6,)),
            (0.6, self.tcp, (4, True)), (0.3, self.tcp, (6, True)),
            (16, self.udp_rr, (4,)), (7, self.udp_rr, (6,)),
            (6, self.udp_rr, (4, True)), (3, self.udp_rr, (6, True)),
            (1.5, self.udp_bulk, (4,)), (0.6, self.udp_bulk, (6,)),
            (12, self.icmp_echo, (4,)), (6, self.icmp_echo, (6,)),
            (2, self.icmp_echo, (4, True)),
        ]
        total = sum(k[0] for k in kinds)
        for i in range(conversations):
            x = r.uniform(0, total)
            for w, fn, args in kinds:
                x -= w
                if x <= 0:
                    break
            u = r.random()
            if u < 0.03:
                vlans = (10, 20)        # twins: one 5-tuple in two VLANs
            elif u < 0.05:
                vlans = (0, 30)         # twins: untagged and tagged
            elif u < 0.20:
                vlans = (r.choice((10, 20, 30, 40)),)
            else:
                vlans = (0,)
            fn(r.uniform(0, span), vlans, *args)

    def write(self, path):
        self.pkts.sort(key=lambda p: (p[0], p[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, _, fr in self.pkts:
                us = int(round(t * 1e6)) + 1700000000 * 1000000
                f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
                f.write(fr)


# ---------------------------------------------------------------------------
# an independent dissection: tshark's fields, joined to first fragments

TSHARK_FIELDS = ("vlan.id", "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.id", "ip.frag_offset",
                 "ip.flags.mf", "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt",
                 "ipv6.fraghdr.offset", "ipv6.fraghdr.ident", "ipv6.fraghdr.nxt",
                 "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
                 "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code")


def truth_from_tshark(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for fld in TSHARK_FIELDS:
        cmd += ["-e", fld]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True, check=True).stdout
    flows, frag4, frag6 = {}, {}, {}
    for line in out.splitlines():
        v = dict(zip(TSHARK_FIELDS, line.split("|")))
        vlan = int(v["vlan.id"] or 0)
        sp = v["tcp.srcport"] or v["udp.srcport"]
        dp = v["tcp.dstport"] or v["udp.dstport"]
        ports = None
        if v["ip.src"]:
            ipv, src, dst, proto = 4, v["ip.src"], v["ip.dst"], int(v["ip.proto"])
            octets = int(v["ip.len"])
            ident = int(v["ip.id"], 0)
            off = int(v["ip.frag_offset"] or 0)
            if proto == 1 and v["icmp.type"]:
                ports = (0, int(v["icmp.type"]) * 256 + int(v["icmp.code"]))
            elif sp:
                ports = (int(sp), int(dp))
            if off:
                ports = frag4[(src, dst, proto, ident)]
            elif v["ip.flags.mf"] in ("1", "True"):
                frag4[(src, dst, proto, ident)] = ports
        else:
            ipv, src, dst = 6, v["ipv6.src"], v["ipv6.dst"]
            octets = int(v["ipv6.plen"]) + 40
            proto = int(v["ipv6.fraghdr.nxt"] or v["ipv6.nxt"])
            if v["icmpv6.type"]:
                ports = (0, int(v["icmpv6.type"]) * 256 + int(v["icmpv6.code"]))
            elif sp:
                ports = (int(sp), int(dp))
            if v["ipv6.fraghdr.ident"]:
                fk = (src, dst, int(v["ipv6.fraghdr.ident"], 0))
                if int(v["ipv6.fraghdr.offset"] or 0):
                    proto, ports = frag6[fk]
                else:
                    frag6[fk] = (proto, ports)
        key = (vlan, ipv, proto, str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)))
        key += ports or (0, 0)
        r = flows.setdefault(key, [0, 0])
        r[0] += 1
        r[1] += octets
    return flows


# A train of small UDP frames replayed after the mix, outside the truth and
# excluded from every score: a libpcap (TPACKET_V3) meter may hold the last
# packets before a pause in a partly filled ring block until more traffic
# fills it; the filler makes sure the mix's own last packets reach it.
FILLER_SRC, FILLER_DST, FILLER_PACKETS = "198.51.100.1", "198.51.100.2", 5000


def write_filler(path):
    from scapy.all import Ether, IP, UDP
    fr = bytes(Ether(src="02:00:00:00:00:fe", dst="02:01:00:00:00:fe") /
               IP(src=FILLER_SRC, dst=FILLER_DST, ttl=64) / UDP(sport=9, dport=9) / (b"\0" * 18))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(FILLER_PACKETS):
            f.write(struct.pack("<IIII", 1800000000, i, len(fr), len(fr)))
            f.write(fr)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__.strip().split("\n\n")[1])
    outdir = args[0]
    seed, conversations, check = 6, 5000, False
    i = 1
    while i < len(args):
        if args[i] == "--seed":
            seed, i = int(args[i + 1]), i + 2
        elif args[i] == "--conversations":
            conversations, i = int(args[i + 1]), i + 2
        elif args[i] == "--tshark-check":
            check, i = True, i + 1
        else:
            sys.exit("mkpcap: unknown argument %s" % args[i])
    os.makedirs(outdir, exist_ok=True)
    pcap = os.path.join(outdir, "mix.pcap.tmp")
    g = Gen(seed)
    g.generate(conversations, 10.0)
    g.write(pcap)

    flows, stats = truth_from_pcap(pcap)
    mine = {k: [r[0], r[1]] for k, r in flows.items()}
    if mine != g.tally:
        diff = [k for k in set(mine) | set(g.tally) if mine.get(k) != g.tally.get(k)]
        sys.exit("mkpcap: the pcap's ground truth differs from what was generated "
                 "(%d flows vs %d; %d keys differ)" % (len(mine), len(g.tally), len(diff)))
    if stats["unmatched_fragments"] or stats["non_ip"]:
        sys.exit("mkpcap: unexpected frames: %s" % dict(stats))
    if check:
        ts = truth_from_tshark(pcap)
        if ts != mine:
            bad = [k for k in set(ts) | set(mine) if ts.get(k) != mine.get(k)]
            sys.exit("mkpcap: tshark's dissection disagrees on %d flows, e.g. %s: tshark %s, "
                     "mine %s" % (len(bad), bad[0], ts.get(bad[0]), mine.get(bad[0])))
    write_truth(flows, os.path.join(outdir, "mix.truth"))
    cls = defaultdict(int)
    for k, r in flows.items():
        for c in flow_classes(k, r):
            cls[c] += 1
    summary = {"seed": seed, "conversations": conversations, "packets": stats["frames"],
               "flows": len(flows), "octets": sum(r[1] for r in flows.values()),
               "wire_bytes": sum(len(p[2]) for p in g.pkts),
               "fragments": sum(1 for p in g.pkts if _is_fragment(p[2])),
               "flows_by_class": dict(sorted(cls.items())), "tshark_checked": check,
               "filler": FILLER_PACKETS}
    with open(os.path.join(outdir, "mix.summary"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    write_filler(os.path.join(outdir, "filler.pcap"))
    os.replace(pcap, os.path.join(outdir, "mix.pcap"))
    print(json.dumps(summary, sort_keys=True))


def _is_fragment(fr):
    off = 12
    et = struct.unpack("!H", fr[off:off + 2])[0]
    off += 2
    while et in ETH_VLAN:
        et = struct.unpack("!H", fr[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800:
        return bool(struct.unpack("!H", fr[off + 6:off + 8])[0] & 0x3FFF)
    return et == 0x86DD and fr[off + 6] == 44


if __name__ == "__main__":
    main()
