#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Malformed-frame corpus for tests/test_badpkt.c and tests/ns/test_badpkt.sh.

  tests/badpkt.py > tests/data/badpkt.txt          regenerate the committed corpus
  tests/badpkt.py --random N --seed S              N random frames only (SOAK=1)

One frame per line: LABELS HEX NAME ("#" starts a comment line). LABELS is a comma-separated list of
struct bpfix_stats counters (include/bpfix.h) that the frame must raise by
exactly one, where the counters checked are parsed_*, malformed_* and
frag_*: every one of those a frame does not name must stay as it was. Each
frame names its parsed_* (or malformed_eth, which is not metered). "any"
marks a random frame, whose outcome nobody predicted: the tests then check
only what holds for every frame (passed unchanged, counted once, at most one
malformed reason, the accounting identity).

The frag_* labels are stateful: they hold when the frames run in file order
through programs whose frag_table starts empty. The targeted frames come
first and the random ones after, so nothing random can change a label; each
fragment group uses an identification of its own.

Frames are built with scapy where scapy builds what is wanted, then cut or
patched byte by byte where the point is a wrong value; checksums are
whatever scapy made of the frame before it was broken (the meter ignores
them). Addresses are documentation ones (192.0.2.0/24, 198.51.100.0/24,
2001:db8::/32) and the MACs locally administered, so no frame is for the
namespaces' own stacks in the wire test.
"""
import argparse
import logging
import os
import random
import re
import struct
import sys

# scapy warns about checksums it cannot compute for headers built alone.
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (ARP, ICMP, ICMPv6EchoRequest, ICMPv6DestUnreach, IP, IPv6, LLC, SNAP,
                       SCTP, SCTPChunkData, STP, TCP, UDP, Dot1AD, Dot1Q, Dot3, Ether, Raw)

SEED = 5
RANDOM_N = 1000  # random frames after the targeted ones
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
IP4_A, IP4_B = "192.0.2.1", "198.51.100.2"
IP6_A, IP6_B = "2001:db8::1", "2001:db8::2"
MAX_FRAME = 1514  # fits a veth of MTU 1500 untagged

P4, P6, L2 = "parsed_ipv4", "parsed_ipv6", "parsed_l2"
ETH_IP4, ETH_IP6, ETH_ARP = 0x0800, 0x86DD, 0x0806
TPID_Q, TPID_AD, TPID_9100 = 0x8100, 0x88A8, 0x9100
HOP, RTG, FRAG, AH, DST, NONE = 0, 43, 44, 51, 60, 59


def M(reason):
    return "malformed_" + reason


def pay(n, seed=0):
    """n bytes of a pattern, so a changed byte shows."""
    return bytes((i * 7 + 3 + seed) & 0xFF for i in range(n))


def eth(t):
    return Ether(dst=MAC_B, src=MAC_A, type=t)


def ip4(**kw):
    kw.setdefault("src", IP4_A)
    kw.setdefault("dst", IP4_B)
    return IP(**kw)


def ip6(**kw):
    kw.setdefault("src", IP6_A)
    kw.setdefault("dst", IP6_B)
    return IPv6(**kw)


def udp(n=20, sport=1111, dport=2222):
    return UDP(sport=sport, dport=dport) / Raw(pay(n))


def patch(frame, off, value, width=2):
    """The frame's bytes with the big-endian field at off set to value."""
    b = bytearray(bytes(frame))
    b[off:off + width] = value.to_bytes(width, "big")
    return bytes(b)


def ext(nh, length=8, kind=DST):
    """A hop-by-hop, routing or destination options header of length bytes
    (8n) or an AH of length bytes (4n), next header nh; the body is PadN, a
    routing header of type 0 with no segments left, or an SPI and sequence."""
    if kind == AH:
        return bytes([nh, length // 4 - 2, 0, 0]) + struct.pack("!II", 0x100, 1) + \
            bytes(length - 12)
    if kind == RTG:
        return bytes([nh, length // 8 - 1, 0, 0]) + bytes(length - 4)
    return bytes([nh, length // 8 - 1, 1, length - 4]) + bytes(length - 4)


def fraghdr(nh, offset, more, ident):
    return struct.pack("!BBHI", nh, 0, (offset & 0xFFF8) | (1 if more else 0), ident)


def v6raw(first_nh, body, **kw):
    """Ethernet + IPv6 whose payload is body (extension headers and what
    follows, as bytes), payload length counted by scapy."""
    return eth(ETH_IP6) / ip6(nh=first_nh, **kw) / Raw(body)


class Corpus:
    def __init__(self, known):
        self.known = known
        self.lines = []
        self.names = set()
        self.frag_id = 0x4000

    def new_id(self):
        """A fragment identification no other group uses."""
        self.frag_id += 1
        return self.frag_id

    def add(self, name, labels, frame):
        b = bytes(frame)
        if name in self.names:
            sys.exit("badpkt.py: duplicate name " + name)
        if not 0 < len(b) <= MAX_FRAME:
            sys.exit("badpkt.py: %s is %d bytes" % (name, len(b)))
        if labels != ["any"]:
            for label in labels:
                if label not in self.known:
                    sys.exit("badpkt.py: %s: %s is not a bpfix_stats counter" % (name, label))
            if len([x for x in labels if x.startswith("parsed_")]) != \
                    (0 if "malformed_eth" in labels else 1):
                sys.exit("badpkt.py: %s: exactly one parsed_* (none for malformed_eth)" % name)
        self.names.add(name)
        self.lines.append("%s %s %s" % (",".join(labels), b.hex(), name))


def stats_names():
    """The counters of BPFIX_STATS, from the one list in include/bpfix.h."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "include", "bpfix.h")) as fh:
        text = fh.read()
    block = text[text.index("#define BPFIX_STATS(X)"):]
    block = block[:block.index("\n\n")]
    return set(re.findall(r"X\((\w+),", block))


# ---- targeted malformations ---------------------------------------------------------


def ethernet(c):
    good = eth(ETH_IP4) / ip4() / udp()
    # Never reaches a program: BPF_PROG_TEST_RUN and AF_PACKET refuse
    # frames shorter than an Ethernet header; kept so the tests say so.
    for n in (1, 6, 12, 13):
        c.add("eth-short-%d" % n, ["malformed_eth"], bytes(good)[:n])
    only = {ETH_IP4: [M("ipv4_trunc"), L2], ETH_IP6: [M("ipv6_trunc"), L2],
            ETH_ARP: [L2], TPID_Q: [M("vlan"), L2], TPID_AD: [M("vlan"), L2],
            TPID_9100: [M("vlan"), L2], 0x0000: [L2], 0x05DC: [L2], 0x05FF: [L2],
            0x0600: [L2], 0x88CC: [L2], 0x8847: [M("tunnel"), L2], 0xFFFF: [L2]}
    for t, labels in only.items():
        c.add("eth-only-%04x" % t, labels, eth(t))
    # 802.3: a length where the EtherType would be, true or not.
    stp = Dot3(dst="01:80:c2:00:00:00", src=MAC_A) / LLC() / STP()
    c.add("8023-stp", [L2], stp)
    c.add("8023-length-too-big", [L2], patch(stp, 12, 1500))
    c.add("8023-length-0", [L2], patch(stp, 12, 0))
    c.add("8023-snap-ip", [L2], Dot3(dst=MAC_B, src=MAC_A) / LLC() / SNAP(code=ETH_IP4) /
          ip4() / udp())
    # The EtherType says one IP version, the header the other.
    c.add("ethertype-ip4-holds-ip6", [M("ip_version"), L2], eth(ETH_IP4) / ip6() / udp())
    c.add("ethertype-ip6-holds-ip4-short", [M("ipv6_trunc"), L2], eth(ETH_IP6) / ip4() / udp(4))
    c.add("ethertype-ip6-holds-ip4", [M("ip_version"), L2], eth(ETH_IP6) / ip4() / udp(40))
    c.add("ethertype-arp-holds-ip4", [L2], eth(ETH_ARP) / ip4() / udp())
    c.add("arp-truncated", [L2], bytes(eth(ETH_ARP) / ARP(psrc=IP4_A, pdst="192.0.2.9"))[:16])
    c.add("arp-ok", [L2], Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A) /
          ARP(hwsrc=MAC_A, psrc=IP4_A, pdst="192.0.2.9"))


def vlan(c):
    inner = ip4() / udp()
    for tpid in (TPID_Q, TPID_AD, TPID_9100):
        for n in (1, 2, 3):
            c.add("vlan-%04x-tag-%d-bytes" % (tpid, n), [M("vlan"), L2],
                  bytes(eth(tpid) / Raw(pay(4)))[:14 + n])
        c.add("vlan-%04x-tag-only" % tpid, [L2], patch(eth(tpid) / Raw(pay(4)), 16, 0x0000))
    for n in range(4):
        c.add("qinq-inner-tag-%d-bytes" % n, [M("vlan"), L2],
              bytes(eth(TPID_AD) / Dot1Q(vlan=100, type=TPID_Q) / Raw(pay(4)))[:18 + n])
    c.add("qinq-then-tpid-nothing-more", [M("vlan_depth"), L2],
          bytes(eth(TPID_AD) / Dot1Q(vlan=100, type=TPID_Q) / Dot1Q(vlan=200, type=TPID_Q)))
    # Too many tags: every TPID the parser knows, three to six deep.
    tpids = [TPID_AD, TPID_Q, TPID_9100, TPID_Q, TPID_AD, TPID_Q]
    for depth in (3, 4, 6):
        f = eth(tpids[0])
        for i in range(depth):
            nxt = tpids[i + 1] if i + 1 < depth else ETH_IP4
            f = f / Dot1Q(vlan=10 * (i + 1), type=nxt)
        c.add("vlan-depth-%d" % depth, [M("vlan_depth"), L2], f / inner)
    # A wall of 0x8100 tags up to a full frame ("a loop" of tags).
    f = eth(TPID_Q)
    for i in range(300):
        f = f / Dot1Q(vlan=i, type=TPID_Q)
    c.add("vlan-wall-300", [M("vlan_depth"), L2], bytes(f)[:1200])
    c.add("vlan-ip4-ok", [P4], eth(TPID_Q) / Dot1Q(vlan=42, prio=5) / inner)
    c.add("vlan-vid-0-priority-tag", [P4], eth(TPID_Q) / Dot1Q(vlan=0, prio=3) / inner)
    c.add("vlan-vid-4095-dei", [P4], eth(TPID_Q) / Dot1Q(vlan=4095, id=1) / inner)
    c.add("vlan-9100-then-8100", [P4], eth(TPID_9100) / Dot1Q(vlan=5, type=TPID_Q) /
          Dot1Q(vlan=6) / inner)
    c.add("qinq-ip6-tcp-ok", [P6], eth(TPID_AD) / Dot1AD(vlan=200) / Dot1Q(vlan=300) /
          ip6() / TCP(sport=40000, dport=80, flags="A"))
    c.add("vlan-arp", [L2], eth(TPID_Q) / Dot1Q(vlan=7) / ARP(psrc=IP4_A, pdst="192.0.2.9"))
    c.add("vlan-8023-inside", [L2], eth(TPID_Q) / Dot1Q(vlan=7, type=40) / Raw(pay(40)))
    # Behind a tag a truncated IP header reaches TC test runs too.
    for n in (0, 1, 10, 19):
        c.add("vlan-ip4-trunc-%d" % n, [M("ipv4_trunc"), L2],
              bytes(eth(TPID_Q) / Dot1Q(vlan=9) / inner)[:18 + n])
    for n in (0, 20, 39):
        c.add("vlan-ip6-trunc-%d" % n, [M("ipv6_trunc"), L2],
              bytes(eth(TPID_Q) / Dot1Q(vlan=9) / ip6() / udp())[:18 + n])
    c.add("qinq-ip4-ihl-2", [M("ipv4_ihl"), L2], eth(TPID_AD) / Dot1AD(vlan=1) / Dot1Q(vlan=2) /
          ip4(ihl=2) / udp())
    c.add("vlan-ip6-version-4", [M("ip_version"), L2],
          patch(eth(TPID_Q) / Dot1Q(vlan=9) / ip6() / udp(), 18, 0x4000))


def ip4_opts(options, l4, ihl=None, **kw):
    """IPv4 with raw option bytes (IHL from their length unless given)."""
    hdr = bytes(ip4(proto=kw.pop("proto", 17), **kw))[:20]
    body = options + bytes(l4)
    ihl = ihl if ihl is not None else (20 + len(options)) // 4
    b = bytearray(hdr + body)
    b[0] = 0x40 | ihl
    b[2:4] = len(b).to_bytes(2, "big")
    return bytes(eth(ETH_IP4)) + bytes(b)


def ipv4(c):
    good = eth(ETH_IP4) / ip4() / udp()  # IP 48 bytes, frame 62
    for n in range(20):
        c.add("ip4-trunc-%d" % n, [M("ipv4_trunc"), L2], bytes(good)[:14 + n])
    for v in (0, 1, 5, 6, 7, 15):
        c.add("ip4-version-%d" % v, [M("ip_version"), L2], patch(good, 14, v << 4 | 5, 1))
    for ihl in range(5):
        c.add("ip4-ihl-%d" % ihl, [M("ipv4_ihl"), L2], patch(good, 14, 0x40 | ihl, 1))
    # IHL beyond the frame: the options the header claims are not there.
    c.add("ip4-ihl-6-header-only", [M("ipv4_ihl"), L2], patch(good, 14, 0x46, 1)[:34])
    c.add("ip4-ihl-15-frame-48", [M("ipv4_ihl"), L2], patch(good, 14, 0x4F, 1)[:14 + 47])
    c.add("ip4-ihl-15-frame-34", [M("ipv4_ihl"), L2], patch(good, 14, 0x4F, 1)[:34])
    # Options that are there, whatever they say: not the meter's business.
    opts = {
        "nop": b"\x01" * 4, "eol": b"\x00" * 4, "rr": b"\x07\x07\x04" + bytes(4) + b"\x00",
        "ra": b"\x94\x04\x00\x00", "len0": b"\x44\x00\x05\x00",
        "len1": b"\x83\x01\x00\x00", "len255": b"\x89\xff\x00\x00",
        "unknown": b"\xfe\x04\xab\xcd", "40": b"\x01" * 40,
    }
    for name, o in opts.items():
        c.add("ip4-opt-%s" % name, [P4], ip4_opts(o, udp()))
    c.add("ip4-opt-40-tcp", [P4], ip4_opts(b"\x01" * 40, TCP(flags="S"), proto=6))
    # Total length.
    c.add("ip4-totlen-0-big-tcp", [P4], patch(good, 16, 0))
    for v in (1, 19):
        c.add("ip4-totlen-%d" % v, [M("ipv4_len"), P4], patch(good, 16, v))
    c.add("ip4-totlen-below-options", [M("ipv4_len"), P4],
          patch(ip4_opts(b"\x01" * 8, udp()), 16, 24))
    c.add("ip4-totlen-frame+1", [M("ipv4_len"), P4], patch(good, 16, 49))
    c.add("ip4-totlen-ffff", [M("ipv4_len"), P4], patch(good, 16, 0xFFFF))
    c.add("ip4-totlen-ffff-tcp", [M("ipv4_len"), P4],
          patch(eth(ETH_IP4) / ip4() / TCP(flags="PA") / Raw(pay(10)), 16, 0xFFFF))
    # Ethernet padding is not a header: a datagram that ends inside the
    # transport header, in a frame that goes on.
    c.add("ip4-totlen-20-udp-in-pad", [M("l4_trunc"), P4], patch(good, 16, 20))
    c.add("ip4-totlen-27-udp-in-pad", [M("l4_trunc"), P4], patch(good, 16, 27))
    c.add("ip4-totlen-28-udp-exact", [P4], patch(good, 16, 28))
    c.add("ip4-totlen-39-tcp-in-pad", [M("l4_trunc"), P4],
          patch(eth(ETH_IP4) / ip4() / TCP() / Raw(pay(26)), 16, 39))
    # Length too big and the L4 header cut by the frame: the parser
    # reports the transport header (one reason per packet, the last).
    c.add("ip4-totlen-big-and-udp-cut", [M("l4_trunc"), P4],
          patch(bytes(good)[:14 + 20 + 4], 16, 100))
    for proto in (0, 2, 4, 41, 47, 50, 51, 59, 103, 255):
        # 4 and 41: IP-in-IP whose inner header is not one (GRE's 47 here
        # has a version bpfix does not decode: the outer flow, no fault)
        c.add("ip4-proto-%d" % proto, [P4] + ([M("tunnel")] if proto in (4, 41) else []),
              eth(ETH_IP4) / ip4(proto=proto) / Raw(pay(24)))
    c.add("ip4-icmp6-in-ip4", [P4], eth(ETH_IP4) / ip4(proto=58) / ICMPv6EchoRequest())
    c.add("ip4-icmp6-in-ip4-2-bytes", [M("l4_trunc"), P4],
          eth(ETH_IP4) / ip4(proto=58) / Raw(b"\x80\x00"))
    c.add("ip4-ttl-0-tos-ff", [P4], eth(ETH_IP4) / ip4(ttl=0, tos=0xFF) / udp())
    c.add("ip4-evil-bit", [P4], eth(ETH_IP4) / ip4(flags="evil") / udp())
    c.add("ip4-df", [P4], eth(ETH_IP4) / ip4(flags="DF") / udp())
    c.add("ip4-bad-checksum", [P4], patch(good, 24, 0xDEAD))
    c.add("ip4-addrs-0-and-bcast", [P4], eth(ETH_IP4) / ip4(src="0.0.0.0",
                                                             dst="255.255.255.255") / udp())
    c.add("ip4-multicast", [P4], Ether(dst="01:00:5e:00:00:fb", src=MAC_A) /
          ip4(dst="224.0.0.251") / udp())
    c.add("ip4-1500", [P4], eth(ETH_IP4) / ip4() / udp(1472))


def l4(c):
    for ver, mk, label in ((4, lambda p: eth(ETH_IP4) / ip4(proto=p), P4),
                           (6, lambda p: eth(ETH_IP6) / ip6(nh=p), P6)):
        tcp = bytes(TCP(sport=40000, dport=80, flags="A"))
        for n in (0, 1, 12, 14, 19):
            c.add("ip%d-tcp-%d-bytes" % (ver, n), [M("l4_trunc"), label], mk(6) / Raw(tcp[:n]))
        for doff in range(5):
            c.add("ip%d-tcp-doff-%d" % (ver, doff), [M("tcp_doff"), label],
                  mk(6) / TCP(dataofs=doff, flags="A") / Raw(pay(8)))
        # A data offset beyond the datagram is not counted: the meter reads
        # the fixed header only (docs/reference.md, "what counts as malformed").
        c.add("ip%d-tcp-doff-15-no-options" % ver, [label], mk(6) / TCP(dataofs=15, flags="S"))
        c.add("ip%d-tcp-all-flags" % ver, [label], mk(6) / TCP(flags=0x1FF))
        c.add("ip%d-tcp-no-flags-port-0" % ver, [label], mk(6) / TCP(sport=0, dport=0, flags=0))
        for n in range(8):
            c.add("ip%d-udp-%d-bytes" % (ver, n), [M("l4_trunc"), label],
                  mk(17) / Raw(bytes(UDP(sport=1, dport=2))[:n]))
        for v in (0, 1, 7, 0xFFFF):
            c.add("ip%d-udp-len-%d" % (ver, v), [label],
                  mk(17) / UDP(sport=1111, dport=2222, len=v) / Raw(pay(12)))
        c.add("ip%d-udplite-7-bytes" % ver, [M("l4_trunc"), label], mk(136) / Raw(pay(7)))
        c.add("ip%d-udplite-ok" % ver, [label], mk(136) / Raw(pay(16)))
        for n in (0, 4, 11):
            c.add("ip%d-sctp-%d-bytes" % (ver, n), [M("l4_trunc"), label],
                  mk(132) / Raw(bytes(SCTP(sport=5000, dport=6000))[:n]))
        c.add("ip%d-sctp-no-chunks" % ver, [label], mk(132) / SCTP(sport=5000, dport=6000))
        c.add("ip%d-sctp-garbage-chunk" % ver, [label], mk(132) / SCTP() / Raw(b"\xff" * 7))
        c.add("ip%d-dccp-11-bytes" % ver, [M("l4_trunc"), label], mk(33) / Raw(pay(11)))
        c.add("ip%d-dccp-doff-0" % ver, [label], mk(33) / Raw(b"\x13\x88\x17\x70" + bytes(8)))
        icmp = 1 if ver == 4 else 58
        for n in range(4):
            c.add("ip%d-icmp-%d-bytes" % (ver, n), [M("l4_trunc"), label],
                  mk(icmp) / Raw(b"\x08\x00\x00\x00"[:n]))
        c.add("ip%d-icmp-type-code-ff" % ver, [label], mk(icmp) / Raw(b"\xff\xff\x00\x00"))
        c.add("ip%d-other-icmp" % ver, [label], mk(1 if ver == 6 else 58) / Raw(pay(8)))
    c.add("ip4-icmp-error-garbage-inside", [P4], eth(ETH_IP4) / ip4() / ICMP(type=3, code=3) /
          Raw(pay(5)))
    c.add("ip6-icmp6-error-garbage-inside", [P6], eth(ETH_IP6) / ip6() / ICMPv6DestUnreach() /
          Raw(pay(5)))


def ipv6(c):
    good = eth(ETH_IP6) / ip6() / udp()  # payload 28, frame 82
    for n in (0, 1, 4, 8, 20, 38, 39):
        c.add("ip6-trunc-%d" % n, [M("ipv6_trunc"), L2], bytes(good)[:14 + n])
    for v in (0, 4, 5, 7, 15):
        c.add("ip6-version-%d" % v, [M("ip_version"), L2], patch(good, 14, v << 12, 2))
    c.add("ip6-paylen-0-jumbo", [P6], patch(good, 18, 0))
    c.add("ip6-paylen-frame+1", [M("ipv6_len"), P6], patch(good, 18, 29))
    c.add("ip6-paylen-ffff", [M("ipv6_len"), P6], patch(good, 18, 0xFFFF))
    c.add("ip6-paylen-4-udp-in-pad", [M("l4_trunc"), P6], patch(good, 18, 4))
    c.add("ip6-paylen-8-udp-exact", [P6], patch(good, 18, 8))
    c.add("ip6-paylen-big-and-tcp-cut", [M("l4_trunc"), P6],
          patch(bytes(eth(ETH_IP6) / ip6() / TCP())[:14 + 40 + 10], 18, 500))
    for nh in (NONE, 50, 135, 139, 140, 253, 41, 4):
        c.add("ip6-nh-%d" % nh, [P6] + ([M("tunnel")] if nh in (4, 41) else []),
              eth(ETH_IP6) / ip6(nh=nh) / Raw(pay(24)))
    c.add("ip6-tclass-label-max", [P6], eth(ETH_IP6) / ip6(tc=0xFF, fl=0xFFFFF, hlim=0) / udp())
    c.add("ip6-1500", [P6], eth(ETH_IP6) / ip6() / udp(1452))


def ipv6_ext(c):
    u = bytes(UDP(sport=3333, dport=4444) / Raw(pay(12)))
    t = bytes(TCP(sport=40000, dport=80, flags="A"))
    # Chains of one to six headers are walked to the transport header.
    kinds = [HOP, DST, RTG, AH, DST, DST]
    for n in range(1, 7):
        body, nh = u, 17
        for k in reversed(kinds[:n]):
            body = ext(nh, 12 if k == AH else 8, k) + body
            nh = k
        c.add("ip6-chain-%d" % n, [P6], v6raw(nh, body))
    # One more than IPV6_EXT_MAX_CHAIN, and "loops": the same header
    # naming itself as next, over and over.
    for n, k in ((7, DST), (8, HOP), (16, RTG), (40, DST), (100, HOP)):
        body = u
        for i in range(n):
            body = ext(k if i else 17, 8, k) + body
        c.add("ip6-chain-%d-%s" % (n, {HOP: "hbh", DST: "dst", RTG: "rtg"}[k]),
              [M("ipv6_ext_chain"), P6], v6raw(k, body))
    body = u
    for i in range(50):
        body = ext(AH if i else 17, 12, AH) + body
    c.add("ip6-chain-50-ah", [M("ipv6_ext_chain"), P6], v6raw(AH, body))
    # Six complete headers whose last names a seventh that is not there:
    # the bound, not the truncation, is what the parser sees.
    body = b""
    for i in range(6):
        body = ext(HOP, 8, HOP) + body
    c.add("ip6-chain-6-then-nothing", [M("ipv6_ext_chain"), P6], v6raw(HOP, body))
    # A loop that ends inside the bound: the fourth header is missing.
    c.add("ip6-hbh-loop-3-then-nothing", [M("ipv6_ext_trunc"), P6],
          v6raw(HOP, ext(HOP, 8, HOP) * 3))
    # Truncated extension headers.
    c.add("ip6-hbh-0-bytes", [M("ipv6_ext_trunc"), P6], v6raw(HOP, b""))
    c.add("ip6-hbh-1-byte", [M("ipv6_ext_trunc"), P6], v6raw(HOP, b"\x11"))
    c.add("ip6-hbh-claims-16-has-8", [M("ipv6_ext_trunc"), P6], v6raw(HOP, ext(17, 16)[:8]))
    c.add("ip6-dst-len-255", [M("ipv6_ext_trunc"), P6],
          v6raw(DST, bytes([17, 255]) + bytes(6) + u))
    c.add("ip6-rtg-past-paylen-in-pad", [M("ipv6_ext_trunc"), P6],
          patch(v6raw(RTG, ext(17, 24, RTG) + u), 18, 16))
    c.add("ip6-ah-claims-24-has-2", [M("ipv6_ext_trunc"), P6],
          v6raw(DST, ext(AH, 8) + bytes([6, 24 // 4 - 2])))
    c.add("ip6-ah-len-0", [P6], v6raw(AH, bytes([17, 0, 0, 0, 0, 0, 1, 0]) + u))
    for n in (1, 4, 7):
        c.add("ip6-frag-hdr-%d-bytes" % n, [M("ipv6_ext_trunc"), P6],
              v6raw(FRAG, fraghdr(17, 0, 1, 1)[:n]))
    c.add("ip6-hbh-not-first", [P6], v6raw(DST, ext(HOP, 8) + ext(17, 8, HOP) + u))
    c.add("ip6-ext-then-nh-253", [P6], v6raw(DST, ext(253, 8) + pay(16)))
    c.add("ip6-ext-then-no-next", [P6], v6raw(HOP, ext(NONE, 8, HOP) + pay(16)))
    c.add("ip6-ext-then-esp", [P6], v6raw(DST, ext(50, 8) + pay(16)))
    c.add("ip6-paylen-0-with-ext", [P6], patch(v6raw(HOP, ext(17, 8, HOP) + u), 18, 0))
    c.add("ip6-paylen-big-with-ext", [M("ipv6_len"), P6],
          patch(v6raw(HOP, ext(17, 8, HOP) + u), 18, 1000))
    # Transport headers behind extension headers (read by offset).
    c.add("ip6-ext-udp-7-bytes", [M("l4_trunc"), P6], v6raw(DST, ext(17, 8) + u[:7]))
    c.add("ip6-ext-tcp-doff-3", [M("tcp_doff"), P6],
          v6raw(DST, ext(6, 8) + bytes(TCP(dataofs=3, flags="S"))))
    c.add("ip6-ext-tcp-19-bytes", [M("l4_trunc"), P6], v6raw(RTG, ext(6, 8, RTG) + t[:19]))
    c.add("ip6-ext-icmp6-3-bytes", [M("l4_trunc"), P6], v6raw(HOP, ext(58, 8, HOP) + b"\x80\0\0"))
    c.add("ip6-ext-sctp-11-bytes", [M("l4_trunc"), P6], v6raw(DST, ext(132, 8) + pay(11)))
    c.add("ip6-ext-dccp-ok", [P6], v6raw(DST, ext(33, 8) + pay(16)))
    c.add("ip6-ext-udp-cut-by-paylen", [M("l4_trunc"), P6],
          patch(v6raw(DST, ext(17, 8) + u), 18, 8 + 4))
    c.add("ip6-ext-tcp-ok-40-bytes-of-options", [P6],
          v6raw(HOP, ext(6, 8, HOP) + bytes(TCP(flags="S", options=[("NOP", None)] * 40))))


def frag4(c):
    def frag(ident, offset, more, payload, proto=17, src=IP4_A, **kw):
        flags = "MF" if more else 0
        return eth(ETH_IP4) / ip4(id=ident, frag=offset // 8, flags=flags, proto=proto,
                                  src=src, **kw) / Raw(payload)

    first = bytes(UDP(sport=1111, dport=2222, len=8 + 64)) + pay(24)  # 32 bytes
    i = c.new_id()
    c.add("f4-normal-first", [P4, "frag_first"], frag(i, 0, True, first))
    c.add("f4-normal-middle", [P4, "frag_joined"], frag(i, 32, True, pay(16)))
    c.add("f4-normal-last", [P4, "frag_joined"], frag(i, 48, False, pay(24)))
    i = c.new_id()
    c.add("f4-first-missing-middle", [P4, "frag_held"], frag(i, 32, True, pay(16)))
    c.add("f4-first-missing-last", [P4, "frag_held"], frag(i, 48, False, pay(24)))
    # Tiny first fragments: the transport header split across fragments.
    i = c.new_id()
    c.add("f4-tiny-first-tcp-8", [P4, M("l4_trunc"), "frag_first"],
          frag(i, 0, True, bytes(TCP(sport=40000, dport=80))[:8], proto=6))
    c.add("f4-tiny-rest-of-tcp", [P4, "frag_joined"],
          frag(i, 8, False, bytes(TCP(sport=40000, dport=80))[8:], proto=6))
    i = c.new_id()
    tiny = frag(i, 0, True, bytes(UDP(sport=1, dport=2))[:4] + pay(26))
    c.add("f4-tiny-first-udp-in-pad", [P4, M("l4_trunc"), "frag_first"], patch(tiny, 16, 24))
    # Overlaps and a duplicate first fragment (last one wins the ports).
    i = c.new_id()
    c.add("f4-overlap-first", [P4, "frag_first"], frag(i, 0, True, first))
    c.add("f4-overlap-offset-8", [P4, "frag_joined"], frag(i, 8, True, pay(32)))
    c.add("f4-overlap-offset-0-again", [P4, "frag_first"],
          frag(i, 0, True, bytes(UDP(sport=7, dport=8)) + pay(24)))
    c.add("f4-overlap-same-range", [P4, "frag_joined"], frag(i, 8, True, pay(32)))
    c.add("f4-overlap-last", [P4, "frag_joined"], frag(i, 16, False, pay(8)))
    # The identification is the datagram's only with the same addresses and
    # protocol (RFC 791).
    i = c.new_id()
    c.add("f4-dup-id-first-udp", [P4, "frag_first"], frag(i, 0, True, first))
    c.add("f4-dup-id-later-tcp", [P4, "frag_held"], frag(i, 32, False, pay(8), proto=6))
    c.add("f4-dup-id-later-other-src", [P4, "frag_held"],
          frag(i, 32, False, pay(8), src="192.0.2.77"))
    c.add("f4-dup-id-later-udp", [P4, "frag_joined"], frag(i, 32, False, pay(8)))
    # Offsets past 64 KiB.
    i = c.new_id()
    c.add("f4-overflow-first", [P4, "frag_first"], frag(i, 0, True, first))
    c.add("f4-overflow-offset-max", [P4, "frag_joined"], frag(i, 0x1FFF * 8, False, pay(64)))
    c.add("f4-overflow-offset-max-unseen", [P4, "frag_held"],
          frag(c.new_id(), 0x1FFF * 8, True, pay(64)))
    i = c.new_id()
    c.add("f4-icmp-first", [P4, "frag_first"], frag(i, 0, True, bytes(ICMP()) + pay(24), proto=1))
    c.add("f4-icmp-last", [P4, "frag_joined"], frag(i, 32, False, pay(8), proto=1))
    i = c.new_id()
    c.add("f4-gre-first-no-ports", [P4, "frag_first"], frag(i, 0, True, pay(32), proto=47))
    c.add("f4-gre-last", [P4, "frag_joined"], frag(i, 32, False, pay(8), proto=47))
    i = c.new_id()
    c.add("f4-df-and-mf-first", [P4, "frag_first"],
          eth(ETH_IP4) / ip4(id=i, flags="DF+MF", proto=17) / Raw(first))
    c.add("f4-empty-last", [P4, "frag_joined"], frag(i, 32, False, b""))
    c.add("f4-later-totlen-big", [P4, M("ipv4_len"), "frag_joined"],
          patch(frag(i, 40, False, pay(8)), 16, 900))
    c.add("f4-later-ihl-bad-is-l2", [M("ipv4_ihl"), L2],
          patch(frag(i, 48, False, pay(8)), 14, 0x43, 1))
    i = c.new_id()
    c.add("f4-first-tcp-doff-2", [P4, M("tcp_doff"), "frag_first"],
          frag(i, 0, True, bytes(TCP(dataofs=2, flags="S")) + pay(12), proto=6))
    c.add("f4-first-ihl-bad-is-l2", [M("ipv4_ihl"), L2],
          patch(frag(c.new_id(), 0, True, first), 14, 0x44, 1))
    c.add("f4-not-a-fragment-offset-0-no-mf", [P4], frag(c.new_id(), 0, False, first))


def frag6(c):
    u = bytes(UDP(sport=1111, dport=2222, len=8 + 64)) + pay(24)  # 32 bytes

    def fr(ident, offset, more, payload, nh=17, src=IP6_A):
        return eth(ETH_IP6) / ip6(nh=FRAG, src=src) / Raw(fraghdr(nh, offset, more, ident) +
                                                          payload)

    i = c.new_id()
    c.add("f6-normal-first", [P6, "frag_first"], fr(i, 0, True, u))
    c.add("f6-normal-middle", [P6, "frag_joined"], fr(i, 32, True, pay(16)))
    c.add("f6-normal-last", [P6, "frag_joined"], fr(i, 48, False, pay(24)))
    c.add("f6-first-missing", [P6, "frag_held"], fr(c.new_id(), 32, False, pay(16)))
    i = c.new_id()
    c.add("f6-tiny-first-tcp-4", [P6, M("l4_trunc"), "frag_first"],
          fr(i, 0, True, bytes(TCP(sport=40000, dport=80))[:4], nh=6))
    c.add("f6-tiny-rest", [P6, "frag_joined"], fr(i, 8, False, pay(16), nh=6))
    i = c.new_id()
    c.add("f6-overlap-first", [P6, "frag_first"], fr(i, 0, True, u))
    c.add("f6-overlap-offset-8", [P6, "frag_joined"], fr(i, 8, True, pay(32)))
    c.add("f6-dup-first", [P6, "frag_first"], fr(i, 0, True, bytes(UDP(sport=5, dport=6)) +
                                                  pay(24)))
    c.add("f6-overlap-last", [P6, "frag_joined"], fr(i, 16, False, pay(8)))
    # IPv6 keys without the protocol: a later fragment naming another
    # upper-layer protocol still joins (RFC 8200 reassembly).
    c.add("f6-later-names-tcp-joins", [P6, "frag_joined"], fr(i, 24, False, pay(8), nh=6))
    c.add("f6-later-other-src", [P6, "frag_held"],
          fr(i, 24, False, pay(8), src="2001:db8::77"))
    i = c.new_id()
    c.add("f6-first-then-dstopts", [P6, "frag_first"], fr(i, 0, True, ext(17, 8) + u, nh=DST))
    c.add("f6-later-names-dstopts", [P6, "frag_joined"], fr(i, 40, False, pay(8), nh=DST))
    c.add("f6-overflow-offset-max", [P6, "frag_joined"], fr(i, 0xFFF8, False, pay(64)))
    c.add("f6-overflow-offset-max-unseen", [P6, "frag_held"],
          fr(c.new_id(), 0xFFF8, True, pay(64)))
    c.add("f6-atomic", [P6], fr(c.new_id(), 0, False, u))
    # Two fragment headers: the second, a later fragment, names the
    # datagram, and no first fragment of it was seen.
    i, j = c.new_id(), c.new_id()
    c.add("f6-two-frag-headers", [P6, "frag_held"],
          fr(i, 0, True, fraghdr(17, 16, False, j) + pay(16), nh=FRAG))
    # A first fragment whose extension chain goes past the bound: counted
    # as a first fragment (ports 0) and as a chain too long.
    body = u
    for k in range(6):
        body = ext(DST if k else 17, 8) + body
    c.add("f6-first-chain-too-long", [P6, M("ipv6_ext_chain"), "frag_first"],
          fr(c.new_id(), 0, True, body, nh=DST))
    # The same identification as an IPv4 group: another key.
    c.add("f6-id-of-an-ip4-datagram", [P6, "frag_held"], fr(0x4001, 32, False, pay(8)))
    i = c.new_id()
    c.add("f6-first-ah-udp", [P6, "frag_first"], fr(i, 0, True, ext(17, 12, AH) + u, nh=AH))
    c.add("f6-later-paylen-big", [P6, M("ipv6_len"), "frag_joined"],
          patch(fr(i, 56, False, pay(8)), 18, 999))


# ---- random frames ---------------------------------------------------------------------


def bases():
    """Well-formed frames of every kind the parser reads, and how many of
    their first bytes are headers (where a random value does the most)."""
    u = udp(24)
    frames = [
        eth(ETH_IP4) / ip4() / u,
        eth(ETH_IP4) / ip4() / TCP(sport=40000, dport=443, flags="S",
                                    options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]),
        eth(ETH_IP4) / ip4(options=[]) / ICMP() / Raw(pay(32)),
        eth(ETH_IP4) / ip4() / SCTP(sport=5000, dport=6000) / SCTPChunkData(data=pay(16)),
        eth(ETH_IP4) / ip4(proto=33) / Raw(b"\x13\x88\x17\x70\x03" + bytes(11) + pay(8)),
        Ether(ip4_opts(b"\x94\x04\x00\x00\x01\x01\x01\x00", udp(16))),
        eth(ETH_IP4) / ip4(id=0x7001, flags="MF") / u,
        eth(ETH_IP4) / ip4(id=0x7001, frag=4) / Raw(pay(24)),
        eth(TPID_Q) / Dot1Q(vlan=42) / ip4() / u,
        eth(TPID_AD) / Dot1AD(vlan=100) / Dot1Q(vlan=200) / ip4() / TCP(flags="PA") / Raw(pay(8)),
        eth(TPID_AD) / Dot1AD(vlan=100) / Dot1Q(vlan=200) / ip6() / u,
        eth(ETH_IP6) / ip6() / u,
        eth(ETH_IP6) / ip6() / TCP(sport=40000, dport=80, flags="SA"),
        eth(ETH_IP6) / ip6() / ICMPv6EchoRequest() / Raw(pay(16)),
        eth(ETH_IP6) / ip6() / SCTP() / Raw(pay(8)),
        v6raw(HOP, ext(RTG, 8, HOP) + ext(DST, 24, RTG) + ext(17, 16) + bytes(u)),
        v6raw(DST, ext(AH, 8) + ext(6, 16, AH) + bytes(TCP(flags="A"))),
        v6raw(FRAG, fraghdr(17, 0, True, 0x7002) + bytes(u)),
        v6raw(FRAG, fraghdr(DST, 32, False, 0x7002) + pay(24)),
        v6raw(HOP, ext(DST, 8, HOP) + ext(RTG, 8) + ext(AH, 8, RTG) + ext(DST, 12, AH) +
              ext(DST, 8) + ext(17, 8) + bytes(u)),
        Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A) / ARP(psrc=IP4_A, pdst="192.0.2.9"),
        Dot3(dst="01:80:c2:00:00:00", src=MAC_A) / LLC() / STP(),
        eth(TPID_Q) / Dot1Q(vlan=7) / ARP(psrc=IP4_A, pdst="192.0.2.9"),
    ]
    out = []
    for f in frames:
        b = bytes(f)
        hdr = len(b) - (len(f[Raw].load) if Raw in f else 0)
        out.append((b, max(hdr, 14)))
    return out


BOUNDARY = (0, 1, 2, 4, 5, 8, 0x0F, 0x10, 0x7F, 0x80, 0xFF, 0x100, 0x5DC, 0x5FF, 0x600, 0x800,
            0x8100, 0x86DD, 0x88A8, 0x9100, 0x7FFF, 0xFFFE, 0xFFFF)


def mutate(rng, frame, hdr):
    """One random frame from a well-formed one: cut it, or put random or
    boundary values in its headers (a byte, a 16-bit field, a bit), or
    several of these at once."""
    b = bytearray(frame)
    span = min(len(b), hdr + 8)
    kind = rng.choice(("cut", "byte", "word", "bit", "many"))
    ops = [kind] if kind != "many" else [rng.choice(("byte", "word", "bit"))
                                         for _ in range(rng.randint(2, 5))] + \
        (["cut"] if rng.random() < 0.3 else [])
    for op in ops:
        if op == "cut" and len(b) > 15:
            b = b[:rng.randrange(14, len(b))]
            span = min(span, len(b))
        elif op == "byte":
            b[rng.randrange(12, span)] = rng.randrange(256)
        elif op == "word" and span >= 14:
            off = rng.randrange(12, span - 1)
            v = rng.choice(BOUNDARY) if rng.random() < 0.6 else rng.randrange(65536)
            b[off:off + 2] = v.to_bytes(2, "big")
        elif op == "bit":
            off = rng.randrange(12, span)
            b[off] ^= 1 << rng.randrange(8)
    return kind, bytes(b)


def random_frames(c, n, seed):
    rng = random.Random(seed)
    base = bases()
    for k in range(n):
        frame, hdr = base[k % len(base)]
        kind, b = mutate(rng, frame, hdr)
        c.add("rnd-%d-base%d-%s" % (k, k % len(base), kind), ["any"], b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED, help="random seed (default %d)" % SEED)
    ap.add_argument("--random", type=int, default=None, metavar="N",
                    help="only N random frames (default: the targeted frames, then %d "
                    "random)" % RANDOM_N)
    args = ap.parse_args()

    c = Corpus(stats_names())
    if args.random is None:
        for section in (ethernet, vlan, ipv4, l4, ipv6, ipv6_ext, frag4, frag6):
            section(c)
        targeted = len(c.lines)
        random_frames(c, RANDOM_N, args.seed)
    else:
        targeted = 0
        random_frames(c, args.random, args.seed)
    out = sys.stdout
    out.write("# bpfix bad-packet corpus: LABELS HEX NAME per frame (tests/badpkt.py explains).\n")
    out.write("# Made by: tests/badpkt.py --seed %d%s; %d targeted, %d random frames.\n" %
              (args.seed, "" if args.random is None else " --random %d" % args.random,
               targeted, len(c.lines) - targeted))
    out.write("\n".join(c.lines) + "\n")


if __name__ == "__main__":
    main()
