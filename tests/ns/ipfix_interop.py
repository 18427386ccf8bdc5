#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers for the IPFIX interop tests (tests/ns/test_ipfix_*.sh).

Traffic the tests send and can count, and readers for what the collectors
decoded: each collector's output becomes the same kind of record, so one
comparison serves all of them.

  frames SRC_MAC DST_MAC B4 A4 B6 A6 HEX TRUTH  scapy frames (VLAN, QinQ, IPv4
                                  and IPv6 fragments) as hex lines, and what
                                  they must be metered as (TRUTH, appended)
  send IFACE HEX                  send the hex frames on IFACE (AF_PACKET)
  udp-sink PORT SECONDS READY REPORT
                                  count datagrams to PORT (IPv4 and IPv6)
  tcp-serve PORT N RECV SEND READY REPORT
                                  N connections: read RECV octets, answer
                                  SEND octets in 1000-octet writes, close
  tcp-client ADDR PORT SPORT SEND RECV
                                  the other end of one such connection
  udp-flows ADDR PORT SPORT N SIZE GAP
                                  N one-datagram flows from SPORT, SPORT+1..
  tcp-sink PORT OUT READY [RCVBUF]
                                  store one IPFIX/TCP connection's stream
  syn-watch PORT OUT READY        log the TCP SYNs to PORT on lo (times)
  wait-records PATH LO-HI N SECONDS [STATE]
                                  wait for N flow records from ports LO-HI
                                  in an IPFIX file or stream being written
                                  (STATE: only in what was added since)
  wait-report PATH LO-HI SECONDS  wait for an exporting process reliability
                                  record after those; print its notSent*
  capture-read PCAP OUT           the metered link's packets for the checks
  udp-gate PORT TO GATE READY REPORT
                                  a silent path to a collector: drop what
                                  arrives on PORT until the file GATE
                                  exists, then forward it to port TO
  check-mixed ...                 test_ipfix_interop.sh's verdicts
  check-late ...                  test_ipfix_transport.sh: a late collector
  check-tcp ...                   test_ipfix_transport.sh: TCP restart
  check-faults ...                test_collector_faults.sh

Check modes print one line per assertion, lib.sh style ("  ok   ..." or
"  FAIL ..."), and exit with the number of failures (at most 100).
"""
import argparse
import calendar
import collections
import functools
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import time

# Templates a TCP session starts with (user/ipfix.h): 6 flow, 4 options,
# 6 flow templates for tunnels.
TEMPLATES = 16


def options_tid(tid):
    """262-265 are the options templates; 266-271 (tunnels) flow ones."""
    return 262 <= tid <= 265

# ---- traffic ------------------------------------------------------------------


def touch(path):
    with open(path, "w"):
        pass


def frames(args):
    """Crafted frames and their ground truth (one key=value line per flow)."""
    from scapy.all import (Dot1AD, Dot1Q, Ether, IP, IPv6, IPv6ExtHdrFragment, Raw,
                           UDP, fragment, fragment6)
    smac, dmac, b4, a4, b6, a6, hex_out, truth_out = args
    eth = Ether(src=smac, dst=dmac)
    flows = []  # (name, frames, key)

    def add(name, frs, key):
        flows.append((name, frs, key))

    # 802.1Q: the receiving kernel has no VLAN device and drops them; the
    # meter sees them first.
    add("vlan", [eth / Dot1Q(vlan=42) / IP(src=b4, dst=a4) / UDP(sport=1111, dport=2222) /
                 Raw(b"v" * 50)] * 3,
        dict(ipv=4, proto=17, src=b4, dst=a4, sport=1111, dport=2222, vlan=42, vlan2=0,
             bidir=0))
    add("qinq", [eth / Dot1AD(vlan=100) / Dot1Q(vlan=200) / IP(src=b4, dst=a4) /
                 UDP(sport=1112, dport=2223) / Raw(b"q" * 20)] * 2,
        dict(ipv=4, proto=17, src=b4, dst=a4, sport=1112, dport=2223, vlan=100, vlan2=200,
             bidir=0))
    # One 3000-octet UDP datagram in three IPv4 fragments, one in three
    # IPv6 fragments; the discard port has a listener (udp-sink).
    add("frag4", fragment(eth / IP(src=b4, dst=a4, id=0x4242) / UDP(sport=3333, dport=9) /
                          Raw(b"f" * 3000), fragsize=1480),
        dict(ipv=4, proto=17, src=b4, dst=a4, sport=3333, dport=9, vlan=0, vlan2=0))
    add("frag6", fragment6(eth / IPv6(src=b6, dst=a6) / IPv6ExtHdrFragment(id=0x4243) /
                           UDP(sport=3334, dport=9) / Raw(b"g" * 3000), 1280),
        dict(ipv=6, proto=17, src=b6, dst=a6, sport=3334, dport=9, vlan=0, vlan2=0))
    with open(hex_out, "w") as hx, open(truth_out, "a") as tr:
        for name, frs, key in flows:
            octets = 0
            for f in frs:
                f = Ether(bytes(f))
                ip = f[IP] if IP in f else f[IPv6]
                octets += len(ip)
                hx.write(bytes(f).hex() + "\n")
            rec = dict(name=name, icmp=0, pkts=len(frs), octs=octets, rpkts=0, rocts=0,
                       reason=1, **key)
            tr.write(" ".join("%s=%s" % kv for kv in rec.items()) + "\n")


def send(args):
    iface, hex_in = args
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    n = 0
    with open(hex_in) as f:
        for line in f:
            s.send(bytes.fromhex(line.strip()))
            n += 1
    print(n)


def stop_on_term():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def udp_sink(args):
    port, seconds, ready, report = args
    socks = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, int(port)))
        s.setblocking(False)
        socks.append(s)
    got = []
    stop_on_term()
    touch(ready)
    end = time.time() + float(seconds)
    import select
    try:
        while time.time() < end:
            r, _, _ = select.select(socks, [], [], 0.2)
            for s in r:
                data = s.recv(65535)
                got.append(len(data))
    finally:
        with open(report, "w") as f:
            f.write("datagrams=%d octets=%d\n" % (len(got), sum(got)))


def tcp_serve(args):
    """N connections on a dual-stack PORT: read RECV octets, answer SEND."""
    port, n, nrecv, nsend, ready, report = args
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port)))
    s.listen(4)
    s.settimeout(20)
    touch(ready)
    lines = []
    for _ in range(int(n)):
        c, peer = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        got = 0
        while got < int(nrecv):
            d = c.recv(65536)
            if not d:
                break
            got += len(d)
        left = int(nsend)
        while left > 0:
            c.sendall(b"s" * min(1000, left))
            left -= min(1000, left)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
        c.close()
        lines.append("received=%d" % got)
    with open(report, "w") as f:
        f.write(" ".join(lines) + "\n")


def tcp_client(args):
    addr, port, sport, nsend, nrecv = args
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind(("", int(sport)))
    s.settimeout(10)
    s.connect((addr, int(port)))
    left = int(nsend)
    while left > 0:
        s.sendall(b"c" * min(1000, left))
        left -= min(1000, left)
    got = 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    s.close()
    if got != int(nrecv):
        sys.exit("tcp-client: received %d octets, expected %s" % (got, nrecv))


def udp_flows(args):
    addr, port, sport, n, size, gap = args
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for i in range(int(n)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("", int(sport) + i))
        s.sendto(b"u" * int(size), (addr, int(port)))
        s.close()
        time.sleep(float(gap))


def tcp_sink(args):
    """Accept one connection, store what arrives (a stream of IPFIX
    messages is an IPFIX file), exit at its end or on SIGTERM. RCVBUF, if
    given, fixes the receive buffer (no autotuning): a collector stopped
    with SIGSTOP then holds at most that much of the stream."""
    port, out, ready = args[:3]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if len(args) > 3:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(args[3]))
    s.bind(("127.0.0.1", int(port)))
    s.listen(1)
    s.settimeout(60)
    stop_on_term()
    touch(ready)
    c, _ = s.accept()
    with open(out, "wb", buffering=0) as f:
        while True:
            d = c.recv(65536)
            if not d:
                break
            f.write(d)


def udp_gate(args):
    """Datagrams to PORT vanish (no ICMP error: the exporter cannot tell)
    until GATE exists; then each goes on, unchanged, to port TO."""
    port, to, gate, ready, report = args
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    s.settimeout(0.1)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    counts = {"dropped": 0, "forwarded": 0}
    stop_on_term()
    touch(ready)
    try:
        while True:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            if os.path.exists(gate):
                out.sendto(data, ("127.0.0.1", int(to)))
                counts["forwarded"] += 1
            else:
                counts["dropped"] += 1
    finally:
        with open(report, "w") as f:
            f.write("dropped=%(dropped)d forwarded=%(forwarded)d\n" % counts)


def syn_watch(args):
    """The times (ms since the epoch, one a line) of the TCP SYNs sent to
    127.0.0.1:PORT, seen on lo: the exporter's connection attempts, also
    those nobody answers but with a reset. Runs until SIGTERM."""
    port, out, ready = args
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind(("lo", 0))
    stop_on_term()
    touch(ready)
    with open(out, "w", buffering=1) as f:
        while True:
            data, sa = s.recvfrom(65535)
            if sa[2] == 4:  # PACKET_OUTGOING: lo shows each packet twice
                continue
            ip = data[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            tcp = ip[(ip[0] & 15) * 4:]
            if len(tcp) >= 14 and int.from_bytes(tcp[2:4], "big") == int(port) and \
                    tcp[13] & 0x12 == 0x02:
                f.write("%d\n" % int(time.time() * 1000))


def message_ends(data):
    """The offsets where the whole IPFIX messages of DATA end (a file or
    stream still being written may end in part of one)."""
    ends, end = [], 0
    while end + 4 <= len(data):
        n = int.from_bytes(data[end + 2:end + 4], "big")
        if n < 16 or end + n > len(data):
            break
        end += n
        ends.append(end)
    return ends


SCAN = re.compile(r"^--- (Message) Header|^--- (data )?\w|tid:\s+(\d+)|"
                  r"sourceTransportPort : (\d+)|(notSent\w+TotalCount) : (\d+)", re.M)


class Scan:
    """A quick look at what the IPFIX file or stream PATH holds so far
    (through ipfixDump, whole messages only), for waiting on it: sports,
    the message index of each flow record by source port, and reports,
    the exporting process reliability records as [message index, notSent
    flows, packets, octets]. Each update decodes only the messages added
    since the last, after the first one (bpfix's streams and files carry
    every template there)."""

    def __init__(self, path):
        self.path, self.done, self.msgs = path, 0, 0
        self.sports, self.reports = {}, []

    def update(self):
        import subprocess
        import tempfile
        if not os.path.exists(self.path):
            return self
        with open(self.path, "rb") as f:
            data = f.read()
        ends = message_ends(data)
        if not ends or ends[-1] == self.done:
            return self
        head = data[:ends[0]] if self.done else b""
        with tempfile.NamedTemporaryFile(suffix=".ipfix") as tmp:
            tmp.write(head + data[self.done:ends[-1]])
            tmp.flush()
            text = subprocess.run(["ipfixDump", "--in", tmp.name], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, universal_newlines=True).stdout
        # the first message again, for its templates: index -1, skipped
        msg, data_rec, tid = self.msgs - (2 if head else 1), False, 0
        for m in SCAN.finditer(text):
            if m.group(1):
                msg += 1
            elif msg < self.msgs:
                continue
            elif m.group(0).startswith("---"):  # a data record, or a template
                data_rec, tid = m.group(2) is not None, 0
            elif not data_rec:
                continue
            elif m.group(3):
                tid = int(m.group(3))
                if tid == 264:
                    self.reports.append([msg])
            elif m.group(4) and not options_tid(tid):
                self.sports[int(m.group(4))] = msg
            elif m.group(5) and tid == 264:
                self.reports[-1].append(m.group(6))
        self.msgs += len([e for e in ends if e > self.done])
        self.done = ends[-1]
        return self


def in_range(sports, lohi):
    lo, hi = (int(x) for x in lohi.split("-"))
    return [m for p, m in sports.items() if lo <= p <= hi]


def wait_records(args):
    """Wait up to SECONDS until the IPFIX file or stream PATH holds N flow
    records from source ports LO-HI; print how many it holds. With STATE
    (a file), only what was added to PATH since the last call with that
    STATE counts: a wait for the records of new flows does not decode the
    whole of a large file each time."""
    path, lohi, n, seconds = args[:4]
    state = args[4] if len(args) > 4 else None
    end = time.time() + float(seconds)
    scan = Scan(path)
    if state and os.path.exists(state):
        scan.done, scan.msgs = (int(x) for x in read(state).split())
    while True:
        have = len(in_range(scan.update().sports, lohi))
        if have >= int(n) or time.time() >= end:
            if state:
                with open(state, "w") as f:
                    f.write("%d %d\n" % (scan.done, scan.msgs))
            print(have)
            return 0 if have >= int(n) else 1
        time.sleep(0.1)


def wait_report(args):
    """Wait up to SECONDS until the stream PATH holds an exporting process
    reliability record made after the last record from source ports LO-HI
    (in that record's message or a later one); print its notSent flows,
    packets and octets."""
    path, lohi, seconds = args
    end = time.time() + float(seconds)
    scan = Scan(path)
    while True:
        scan.update()
        last = max(in_range(scan.sports, lohi) or [1 << 30])
        after = [r[1:] for r in scan.reports if r[0] >= last]
        if after or time.time() >= end:
            print(" ".join(after[0]) if after else "none")
            return 0 if after else 1
        time.sleep(0.1)


# ---- decoders' output as records ------------------------------------------------
#
# A flow record is a dict: ipv (4, 6, 0 for L2), proto, src, dst, sport,
# dport, icmp (type << 8 | code), vlan, vlan2, tos, etype, reason, bidir,
# and per direction ("f" forward, "r" reverse, absent in a uniflow): pkts,
# octs, flags, start, end (ms since the epoch), in, out, dir. A field the
# decoder does not give is absent. Messages are dicts: odid, seq, records
# (data records, options records included), flows (flow records), tids.

SIDE = ("pkts", "octs", "flags", "start", "end", "in", "out", "dir")
SIDE_IP = ("minttl", "maxttl", "minlen", "maxlen", "label")  # IP flows


def addr(s):
    s = s.strip()
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s.lower()


@functools.lru_cache(maxsize=4096)
def utc_s(s):
    """'2026-11-24 09:53:58' (UTC) -> s since the epoch; cached, as records
    made together share their second (strptime is most of a large
    decode's time)."""
    return calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S"))


def utc_ms(s):
    """'2026-11-24 09:53:58.151[000]' (UTC) -> ms since the epoch."""
    m = re.match(r"(\d+-\d+-\d+ \d+:\d+:\d+)(?:\.(\d+))?", s.strip())
    frac = (m.group(2) or "0")[:3].ljust(3, "0")
    return utc_s(m.group(1)) * 1000 + int(frac)


IPFIXDUMP_NAMES = {
    "sourceIPv4Address": "src", "sourceIPv6Address": "src", "sourceMacAddress": "src",
    "destinationIPv4Address": "dst", "destinationIPv6Address": "dst",
    "destinationMacAddress": "dst", "sourceTransportPort": "sport",
    "destinationTransportPort": "dport", "protocolIdentifier": "proto",
    "icmpTypeCodeIPv4": "icmp", "icmpTypeCodeIPv6": "icmp", "vlanId": "f.vlanin",
    "postVlanId": "f.vlanout",
    "dot1qCustomerVlanId": "vlan2", "ethernetType": "etype", "flowEndReason": "reason",
    "biflowDirection": "bidir", "ipClassOfService": "tos",
    "packetDeltaCount": "f.pkts", "octetDeltaCount": "f.octs", "tcpControlBits": "f.flags",
    "flowStartMilliseconds": "f.start", "flowEndMilliseconds": "f.end",
    "ingressInterface": "f.in", "egressInterface": "f.out", "flowDirection": "f.dir",
    "minimumTTL": "f.minttl", "maximumTTL": "f.maxttl", "minimumIpTotalLength": "f.minlen",
    "maximumIpTotalLength": "f.maxlen", "flowLabelIPv6": "f.label",
}


def ipfixdump(text):
    """ipfixDump's text: (messages, flow records, options records)."""
    msgs, flows, opts = [], [], []
    msg = rec = None
    hdr = re.compile(r"export time: (.*?)\s+observation domain id: (\d+)")
    seq = re.compile(r"message length: (\d+)\s+sequence number: (\d+)")
    field = re.compile(r"\s*\(([0-9/]+)\)\s+(?:\(S\)\s+)?(\w+) : (.*)$")
    tid = re.compile(r"tid:\s+(\d+)")

    def close():
        if rec is None:
            return
        if "tid" in rec and options_tid(rec["tid"]):
            opts.append(rec)
        else:
            f = flow_from_names(rec)
            f["_msg"] = rec["_msg"]
            flows.append(f)

    in_template = False
    for line in text.splitlines():
        if line.startswith("--- "):
            close()
            rec = None
            in_template = False
            if line.startswith("--- Message Header"):
                msg = {"records": 0, "flows": 0, "tids": [], "templates": 0,
                       "template_tids": []}
                msgs.append(msg)
            elif "template record" in line and msg is not None:
                msg["templates"] += 1
                in_template = True
            elif "data record" in line:
                rec = {"_msg": len(msgs) - 1}
            continue
        # (cheap tests before each regex: a large decode has 40 lines a record)
        m = line.startswith("export time") and hdr.match(line)
        if m and msg is not None:
            msg["export"] = utc_ms(m.group(1))
            msg["odid"] = int(m.group(2))
            continue
        m = line.startswith("message length") and seq.match(line)
        if m and msg is not None:
            msg["length"], msg["seq"] = int(m.group(1)), int(m.group(2))
            continue
        if in_template and "tid:" in line:
            msg["template_tids"].append(int(tid.search(line).group(1)))
            in_template = False
            continue
        if rec is None:
            continue
        m = "tid:" in line and tid.search(line)
        if m and "tid" not in rec:
            rec["tid"] = int(m.group(1))
            msg["records"] += 1
            msg["tids"].append(rec["tid"])
            if not options_tid(rec["tid"]):
                msg["flows"] += 1
            continue
        m = field.match(line)
        if m:
            name, val = m.group(2), m.group(3).strip()
            if name in rec:  # observationTimeMilliseconds twice
                name += "_2"
            rec[name] = val
    close()
    return msgs, flows, opts


def flow_from_names(named):
    r = {"tid": named.get("tid")}
    for name, val in named.items():
        rev = name.startswith("reverse") and name[7:8].isupper()
        base = name[7].lower() + name[8:] if rev else name
        canon = IPFIXDUMP_NAMES.get(base)
        if canon is None:
            continue
        if rev:
            if not canon.startswith("f."):
                continue
            canon = "r." + canon[2:]
        if canon == "_msg":
            continue
        if canon in ("src", "dst"):
            v = addr(val)
        elif canon.endswith(("start", "end")):
            v = utc_ms(val)
        else:
            v = int(val, 0) if val[:2] in ("0x",) else int(val)
        put(r, canon, v)
    return finish(r)


def put(r, canon, v):
    if canon.startswith(("f.", "r.")):
        r.setdefault(canon[0], {})[canon[2:]] = v
    else:
        r[canon] = v


def side_vlans(r):
    """vlanId and postVlanId are per direction: the outer tag in the one
    the side's flowDirection names (vlanId: ingress, postVlanId: egress,
    IANA), 0 in the other; both sides of a biflow carry the same tag. The
    record's vlan is the forward side's; a tag in the wrong field or two
    sides that disagree put the side in vlan_misplaced."""
    for s in ("f", "r"):
        side = r.get(s)
        if side is None or ("vlanin" not in side and "vlanout" not in side):
            continue
        vin, vout = side.pop("vlanin", 0), side.pop("vlanout", 0)
        mine, other = (vout, vin) if side.get("dir") == 1 else (vin, vout)
        if other or (s == "r" and mine != r.get("vlan")):
            r.setdefault("vlan_misplaced", []).append(s)
        if s == "f":
            r["vlan"] = mine


def finish(r):
    side_vlans(r)
    if "ipv" not in r:
        src = r.get("src", "")
        r["ipv"] = 6 if ":" in src and src.count(":") != 5 or "::" in src else \
            0 if re.match(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", src) else 4
    if r["ipv"] == 0:
        r.setdefault("proto", 0)
    return r


TSHARK_LABELS = {
    "SrcAddr": "src", "DstAddr": "dst", "SrcPort": "sport", "DstPort": "dport",
    "Protocol": "proto", "ICMP Type": "icmp", "IPv6 ICMP Type": "icmp6t",
    "IPv6 ICMP Code": "icmp6c", "Vlan Id": "f.vlanin", "Post Vlan Id": "f.vlanout",
    "Dot1q Customer Vlan Id": "vlan2",
    "IP ToS": "tos", "Flow End Reason": "reason", "Biflow Direction": "bidir",
    "Source Mac Address": "src", "Destination Mac Address": "dst",
    "Ethernet Type": "etype", "Ethertype": "etype", "IPVersion": "ipvers",
    "Octets": "f.octs", "Packets": "f.pkts", "TCP Flags": "f.flags",
    "StartTime": "f.start", "EndTime": "f.end", "InputInt": "f.in", "OutputInt": "f.out",
    "Direction": "f.dir", "MinTTL": "f.minttl", "MaxTTL": "f.maxttl", "MinLength": "f.minlen",
    "MaxLength": "f.maxlen", "ipv6FlowLabel": "f.label",
}
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                      "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def tshark_time(s):
    m = re.match(r"(\w{3}) +(\d+), (\d+) (\d+):(\d+):(\d+)\.(\d+)", s)
    mon, day, year, hh, mm, ss, frac = m.groups()
    t = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    return t * 1000 + int(frac[:3].ljust(3, "0"))


def tshark_num(label, val, rest):
    if label in ("Protocol", "Flow End Reason", "Biflow Direction", "Direction"):
        m = re.search(r"\((\d+)\)\s*(?:\(Reverse|$)", rest) or re.search(r"\((\d+)\)", rest)
        return int(m.group(1)) if m else int(val)
    return int(val, 16) if val.startswith("0x") else int(val)


def tshark(text):
    """tshark -V of IPFIX over UDP: {destination port: (messages, flow
    records)} and the lines where tshark complains."""
    streams = collections.defaultdict(lambda: ([], []))
    bad = []
    msg = rec = None
    port = None
    in_opts = False

    def close():
        if rec is not None and "src" in rec:
            if "icmp6t" in rec:
                rec["icmp"] = rec.pop("icmp6t") << 8 | rec.pop("icmp6c", 0)
            rec.pop("ipvers", None)
            streams[port][1].append(finish(rec))

    side = "f"
    for raw in text.splitlines():
        s = raw.strip()
        if re.search(r"Malformed|Expert Info|no template found", s) or \
                raw.startswith("tshark:"):
            bad.append(s)
        if raw[:1] not in (" ", "\t"):  # the next frame or protocol layer
            close()
            rec = None
        m = re.match(r"User Datagram Protocol, Src Port: \d+, Dst Port: (\d+)", s)
        if m:
            close()
            rec = msg = None
            port = int(m.group(1))
            continue
        if s.startswith("Cisco NetFlow/IPFIX"):
            close()
            rec = None
            msg = {"records": 0, "flows": 0, "tids": []}
            streams[port][0].append(msg)
            continue
        if msg is None:
            continue
        m = re.match(r"Set \d+ \[id=(\d+)\](?: \((\d+) flows?\))?", s)
        if m:
            close()
            rec = None
            tid, n = int(m.group(1)), int(m.group(2) or 0)
            in_opts = options_tid(tid)
            msg.setdefault("sets", []).append([tid, n, 0])
            if tid >= 256:
                msg["records"] += n
                msg["tids"] += [tid] * n
                if not in_opts:
                    msg["flows"] += n
            continue
        m = re.match(r"FlowSequence: (\d+)$", s)
        if m:
            msg["seq"] = int(m.group(1))
            continue
        m = re.match(r"FlowSet Length: (\d+)$", s)
        if m and msg.get("sets"):
            msg["sets"][-1][2] = int(m.group(1))
            continue
        m = re.match(r"Observation Domain Id: (\d+)$", s)
        if m and "odid" not in msg:  # the header's (a record may carry one too)
            msg["odid"] = int(m.group(1))
            continue
        if re.match(r"Flow \d+$", s):
            close()
            rec = None if in_opts else {}
            side = "f"
            continue
        if rec is None:
            continue
        m = re.match(r"([A-Za-z][A-Za-z0-9 ]*?): (\S+)(.*)$", s)
        if not m or m.group(1) not in TSHARK_LABELS:
            continue
        label, val, rest = m.groups()
        val = val.rstrip(",")
        canon = TSHARK_LABELS[label]
        # A reverse field says so, except the times (under a [Duration]
        # line that does not): they belong to the side of the fields
        # around them.
        if canon.startswith("f.") and label not in ("StartTime", "EndTime"):
            side = "r" if "(Reverse Type" in rest else "f"
        if canon.startswith("f."):
            canon = side + canon[1:]
        elif "(Reverse Type" in rest:
            continue
        if canon in ("src", "dst"):
            mac = re.search(r"\(((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\)", rest)
            v = addr(mac.group(1) if mac else val)
        elif canon.endswith(("start", "end")):
            v = tshark_time(val + rest)
        else:
            v = tshark_num(label, val, rest)
        put(rec, canon, v)
    close()
    return streams, bad


def nfdump_raw(text):
    """nfdump -o raw: flow records (forward times, flags, interfaces;
    reverse counts as 'out packets/bytes')."""
    flows = []
    rec = None
    keys = {"proto": "proto", "src port": "sport", "dst port": "dport",
            "src addr": "src", "dst addr": "dst", "in src mac": "mac_src",
            "in dst mac": "mac_dst", "src vlan": "vlan", "dst vlan": "dst_vlan",
            "src tos": "tos", "dst tos": "dst_tos", "end reason": "reason", "biFlow Dir": "bidir",
            "in packets": "f.pkts", "in bytes": "f.octs", "tcp flags": "f.flags",
            "first": "f.start", "last": "f.end", "input": "f.in", "output": "f.out",
            "direction": "f.dir", "out packets": "r.pkts", "out bytes": "r.octs",
            "ICMP": "icmp", "received at": "recv"}

    def close():
        if rec is None:
            return
        if "src" not in rec and "mac_src" in rec:
            rec["src"], rec["dst"] = rec.pop("mac_src"), rec.pop("mac_dst")
            rec["ipv"] = 0
        rec.pop("mac_src", None)
        rec.pop("mac_dst", None)
        flows.append(finish(rec))

    for line in text.splitlines():
        if line.startswith("Flow Record:"):
            close()
            rec = {}
            continue
        m = re.match(r"\s+(.+?)\s+=\s+(\S+)(.*)$", line)
        if rec is None or not m or m.group(1) not in keys:
            continue
        canon, val = keys[m.group(1)], m.group(2)
        if canon in ("f.in", "f.out") and m.group(3).strip():
            rec[canon[2:] + "_name"] = m.group(3).strip()
        if canon in ("src", "dst", "mac_src", "mac_dst"):
            v = addr(val)
        elif canon == "icmp":
            t, c = val.split(".")
            v = int(t) << 8 | int(c)
        else:
            v = int(val, 16) if val.startswith("0x") else int(val)
        put(rec, canon, v)
    close()
    for r in flows:
        if r.get("proto") in (1, 58):
            r.pop("sport", None)
            r.pop("dport", None)
            r["sport"] = r["dport"] = 0
        # vlanId is "src vlan", postVlanId "dst vlan" (forward ones: the
        # reverse ones are overwritten)
        src_vlan, dst_vlan = r.pop("vlan", 0), r.pop("dst_vlan", 0)
        mine, other = (dst_vlan, src_vlan) if r.get("f", {}).get("dir") == 1 else \
            (src_vlan, dst_vlan)
        r["vlan"] = mine
        if other:
            r["vlan_misplaced"] = ["f"]
        if r["ipv"]:
            r.setdefault("icmp", 0)
        # nfdump 1.7.1 prints an IP flow's ipClassOfService as "dst tos"
        # (no "src tos" line); an L2 flow's as "src tos"
        if "tos" not in r and "dst_tos" in r:
            r["tos"] = r["dst_tos"]
        r.pop("dst_tos", None)
    return flows


PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmpv6": 58}


def pmacct_csv(text):
    flows = []
    head = None
    for line in text.splitlines():
        f = line.strip().split(",")
        if not line.strip():
            continue
        if f[0] == "SRC_MAC" or (head is None and not f[0][:1].isdigit()):
            head = f
            continue
        r = dict(zip(head, f))
        et = int(r.get("ETYPE", "0"), 16)
        rec = {"ipv": {0x800: 4, 0x86dd: 6}.get(et, 0),
               "proto": PROTOCOLS.get(r["PROTOCOL"].lower(), None),
               "src": addr(r["SRC_IP"]), "dst": addr(r["DST_IP"]),
               "sport": int(r["SRC_PORT"]), "dport": int(r["DST_PORT"]),
               "vlan": int(r["VLAN"]), "tos": int(r["TOS"]),
               "f": {"pkts": int(r["PACKETS"]), "octs": int(r["BYTES"]),
                     "flags": int(r["TCP_FLAGS"]), "start": utc_ms(r["TIMESTAMP_START"]),
                     "end": utc_ms(r["TIMESTAMP_END"]), "in": int(r["IN_IFACE"]),
                     "out": int(r["OUT_IFACE"])}}
        if rec["proto"] is None:
            rec["proto"] = int(r["PROTOCOL"])
        flows.append(rec)
    return flows


# ---- what each collector keeps of a record ------------------------------------------
#
# FIELDS says which fields a collector gives (top level, forward side,
# reverse side); as_shown() turns a record of the reference decode into
# what that collector is documented or found to make of it (None: dropped).
# The comparison is then exact.

TOP = ("ipv", "proto", "src", "dst", "sport", "dport", "icmp", "vlan", "vlan2", "tos",
       "etype", "reason", "bidir")
FIELDS = {
    "ipfixdump": (TOP, SIDE + SIDE_IP, SIDE + SIDE_IP),
    "tshark": (TOP, SIDE + SIDE_IP, SIDE + SIDE_IP),
    # reverse elements other than the counters are read as their forward
    # counterparts and overwritten by them (they come first); no
    # dot1qCustomerVlanId, no EtherType
    "nfdump": (("ipv", "proto", "src", "dst", "sport", "dport", "icmp", "vlan", "tos",
                "reason", "bidir"), SIDE, ("pkts", "octs")),
    # forward fields only, no end reason, no biflowDirection, no ICMP type
    "nfacctd": (("ipv", "proto", "src", "dst", "sport", "dport", "vlan", "tos"),
                ("pkts", "octs", "flags", "start", "end", "in", "out"), ()),
}


def pick(r, who):
    top, fwd, rev = FIELDS[who]
    out = {n: r.get(n) for n in top}
    out["f"] = {n: r.get("f", {}).get(n) for n in fwd}
    if rev and r.get("r") is not None:
        out["r"] = {n: r["r"].get(n) for n in rev}
    return out


def as_shown(r, who):
    r = dict(r, f=dict(r.get("f", {})))
    if who == "nfacctd":
        if r["ipv"] == 0:
            return None  # non-IP records are not kept
        # tcpControlBits is 2 octets (RFC 7125); pmacct copies the first
        # octet (header length and reserved bits: 0) into its 1-octet flags
        r["f"]["flags"] = r["f"].get("flags", 0) >> 8
        r.pop("r", None)
    if who == "nfdump":
        if r["ipv"] == 0:
            r.update(proto=0, sport=0, dport=0, tos=0)
            r["f"]["flags"] = 0
        if r.get("r") is None:
            r["bidir"] = 0  # a uniflow record: "biFlow Dir 0x00"
    return pick(r, who)


def shown(r):
    """A record as one short line."""
    def side(s):
        if s is None:
            return "-"
        return "%s/%s fl=%s t=%s..%s if=%s/%s d=%s" % (
            s.get("pkts"), s.get("octs"), s.get("flags"), s.get("start"), s.get("end"),
            s.get("in"), s.get("out"), s.get("dir"))
    port = ("icmp %d.%d" % (r["icmp"] >> 8, r["icmp"] & 255)) if r.get("icmp") else \
        "%s>%s" % (r.get("sport"), r.get("dport"))
    return "v%s p%s %s>%s %s vlan %s/%s tos %s | F %s | R %s | end %s bd %s" % (
        r.get("ipv"), r.get("proto"), r.get("src"), r.get("dst"), port, r.get("vlan"),
        r.get("vlan2"), r.get("tos"), side(r.get("f")), side(r.get("r")), r.get("reason"),
        r.get("bidir"))


def frozen(x):
    if isinstance(x, dict):
        return tuple(sorted((k, frozen(v)) for k, v in x.items()))
    return x


# ---- verdicts ------------------------------------------------------------------------

class Verdicts:
    def __init__(self):
        self.fails = 0

    def ok(self, what):
        print("  ok   %s" % what)

    def fail(self, what, details=()):
        print("  FAIL %s" % what)
        for d in list(details)[:12]:
            print("         %s" % d)
        self.fails += 1

    def check(self, cond, what, details=()):
        if cond:
            self.ok(what)
        else:
            self.fail(what, details)
        return cond

    def eq(self, what, got, want):
        if got == want:
            self.ok("%s = %s" % (what, got))
            return True
        self.fail("%s = %s, expected %s" % (what, got, want))
        return False


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def keyvals(line):
    out = {}
    for w in line.split():
        k, _, v = w.partition("=")
        out[k] = int(v) if re.match(r"^-?\d+$", v) else v
    return out


# ---- ground truth from a capture ------------------------------------------------------

CAPTURE_FIELDS = ("frame.time_epoch vlan.id ieee8021ad.id "
                  "ip.src ip.dst ip.proto ip.len ip.id ip.dsfield ip.ttl "
                  "ipv6.tclass ipv6.hlim ipv6.flow "
                  "ip.frag_offset ipv6.src ipv6.dst ipv6.nxt ipv6.plen ipv6.fraghdr.nxt "
                  "ipv6.fraghdr.ident ipv6.fraghdr.offset tcp.srcport tcp.dstport "
                  "tcp.flags udp.srcport udp.dstport icmp.type icmp.code icmpv6.type "
                  "icmpv6.code").split()


def capture_packets(text):
    """tshark -T fields (CAPTURE_FIELDS) of the metered link, reassembly
    off: one dict per packet with its flow key, as the meter keys it
    (later fragments take the ports of their first fragment)."""
    pkts = []
    first_frag = {}
    for line in text.splitlines():
        v = line.split("\t")
        if len(v) < len(CAPTURE_FIELDS):
            continue
        f_all = dict(zip(CAPTURE_FIELDS, v))
        f = {n: (x.split(",")[0] if x else "") for n, x in f_all.items()}
        # tags in frame order: an 802.1ad (QinQ) outer tag, then 802.1Q
        vl = [int(x) for x in (f_all["ieee8021ad.id"] + "," + f_all["vlan.id"]).split(",")
              if x]
        p = {"t": int(round(float(f["frame.time_epoch"]) * 1000)),
             "vlan": vl[0] if vl else 0, "vlan2": vl[1] if len(vl) > 1 else 0}
        if f["ip.src"]:
            p.update(ipv=4, src=addr(f["ip.src"]), dst=addr(f["ip.dst"]),
                     proto=int(f["ip.proto"]), octs=int(f["ip.len"]),
                     tos=int(f["ip.dsfield"], 16), ttl=int(f["ip.ttl"]), label=None)
            frag = (p["src"], p["dst"], p["proto"], f["ip.id"])
            offset = int(f["ip.frag_offset"] or 0)
        elif f["ipv6.src"]:
            nxt = int(f["ipv6.nxt"])
            p.update(ipv=6, src=addr(f["ipv6.src"]), dst=addr(f["ipv6.dst"]),
                     proto=int(f["ipv6.fraghdr.nxt"]) if f["ipv6.fraghdr.ident"] else nxt,
                     octs=int(f["ipv6.plen"]) + 40, tos=int(f["ipv6.tclass"], 16),
                     ttl=int(f["ipv6.hlim"]), label=int(f["ipv6.flow"], 16))
            frag = (p["src"], p["dst"], f["ipv6.fraghdr.ident"]) \
                if f["ipv6.fraghdr.ident"] else None
            offset = int(f["ipv6.fraghdr.offset"] or 0)
        else:
            continue
        sport = f["tcp.srcport"] or f["udp.srcport"]
        dport = f["tcp.dstport"] or f["udp.dstport"]
        p["sport"], p["dport"] = int(sport or 0), int(dport or 0)
        p["flags"] = int(f["tcp.flags"], 16) if f["tcp.flags"] else 0
        p["icmp"] = 0
        if p["proto"] == 1 and f["icmp.type"]:
            p["icmp"] = int(f["icmp.type"]) << 8 | int(f["icmp.code"] or 0)
        if p["proto"] == 58 and f["icmpv6.type"]:
            p["icmp"] = int(f["icmpv6.type"]) << 8 | int(f["icmpv6.code"] or 0)
        if p["ipv"] == 4 and not f["ip.id"]:
            frag = None
        if frag is not None:
            if offset == 0:
                first_frag[frag] = (p["sport"], p["dport"])
            elif frag in first_frag:
                p["sport"], p["dport"] = first_frag[frag]
        pkts.append(p)
    return pkts


def capture_read(args):
    """The capture of the metered link as CAPTURE_FIELDS lines (tshark,
    reassembly off: each fragment as it was on the wire)."""
    import subprocess
    pcap, out = args
    cmd = ["tshark", "-r", pcap, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=/t"]
    for f in CAPTURE_FIELDS:
        cmd += ["-e", f]
    with open(out, "w") as fh:
        return subprocess.run(cmd, stdout=fh, stderr=subprocess.DEVNULL).returncode


def icmp_reply(ipv, icmp):
    t = icmp >> 8
    pairs = {4: {8: 0, 13: 14, 15: 16, 17: 18}, 6: {128: 129}}
    return pairs[ipv][t] << 8 if t in pairs[ipv] else None


def reverse_key(k):
    r = dict(k, src=k["dst"], dst=k["src"], sport=k["dport"], dport=k["sport"])
    if k["proto"] in (1, 58):
        r["icmp"] = icmp_reply(k["ipv"], k["icmp"])
    return r


KEY = ("ipv", "proto", "src", "dst", "sport", "dport", "icmp", "vlan", "vlan2")


def pkt_matches(p, k):
    return all(p.get(n, 0) == k.get(n, 0) for n in KEY)


def capture_side(pkts, k):
    mine = [p for p in pkts if pkt_matches(p, k)] if k.get("icmp") is not None else []
    if not mine:
        return {"pkts": 0, "octs": 0, "flags": 0}
    flags = 0
    for p in mine:
        flags |= p["flags"]
    return {"pkts": len(mine), "octs": sum(p["octs"] for p in mine), "flags": flags,
            "start": min(p["t"] for p in mine), "end": max(p["t"] for p in mine),
            "tos": mine[0]["tos"], "minttl": min(p["ttl"] for p in mine),
            "maxttl": max(p["ttl"] for p in mine), "minlen": min(p["octs"] for p in mine),
            "maxlen": max(p["octs"] for p in mine), "label": mine[0]["label"]}


# ---- the mixed run ---------------------------------------------------------------------

def rec_matches(r, k):
    for n in KEY:
        if n == "vlan2" and "vlan2" not in r:
            continue
        want = k.get(n, 0)
        got = r.get(n, 0)
        if n in ("sport", "dport") and k["proto"] in (1, 58):
            want = 0
        if n == "icmp" and (k["proto"] not in (1, 58) or "icmp" not in r):
            continue
        if got != want:
            return False
    return True


def expectations(truth_lines, pkts, uniflow, ifindex, tx_side):
    """The flows the test made, as this agent must export them: a list of
    (name, key, sides), sides {"f": {...}, "r": {...}} with what each
    direction must hold; uniflow splits each flow in two."""
    out = []
    for line in truth_lines:
        t = keyvals(line)
        key = {n: t.get(n, 0) for n in KEY}
        for n in ("src", "dst"):
            key[n] = addr(str(t[n]))
        rkey = reverse_key(key)
        cap_f, cap_r = capture_side(pkts, key), capture_side(pkts, rkey)
        f = {"pkts": t["pkts"], "octs": t["octs"]} if t["pkts"] != "capture" else \
            {"pkts": cap_f["pkts"], "octs": cap_f["octs"]}
        r = {"pkts": t["rpkts"], "octs": t["rocts"]} if t["rpkts"] != "capture" else \
            {"pkts": cap_r["pkts"], "octs": cap_r["octs"]}
        f["flags"], r["flags"] = cap_f["flags"], cap_r["flags"]
        for side, cap in ((f, cap_f), (r, cap_r)):
            side["cap"] = cap
        # metered on ingress of the agent's interface: what the other
        # namespace sent; egress: what this one sent
        sides = {"f": f, "r": r}
        for s in ("f", "r"):
            egress = s == tx_side
            sides[s].update({"in": 0 if egress else ifindex, "out": ifindex if egress else 0,
                             "dir": 1 if egress else 0})
        reasons = [int(x) for x in str(t["reason"]).split(",")]
        # biflowDirection: 1 when an initiator rule decides, 0 when only
        # "first seen" does (two ports that are no service: README)
        extra = dict(reasons=reasons, split=t.get("split", 0), name=t["name"],
                     bidir=t.get("bidir", 1))
        if not uniflow:
            out.append((t["name"], key, dict(sides, **extra)))
            continue
        out.append((t["name"] + "/fwd", key, dict(f=sides["f"], **extra)))
        if r["pkts"] or r["cap"]["pkts"]:
            out.append((t["name"] + "/rev", rkey, dict(f=sides["r"], **extra)))
    return out


def check_truth(v, who, recs, exps, uniflow, quirks, ref):
    """Each flow the test made: the records of its key hold what was sent
    (summed over records when an active timeout split it), with the
    flags, class of service, interfaces, times and end reason the capture
    and the timeouts say. quirks: what this collector is known not to
    keep (see as_shown)."""
    for name, key, want in exps:
        label = "%s: %s" % (who, name)
        k = dict(key)
        mine = [r for r in recs if rec_matches(r, k)]
        if quirks.get("no_icmp_type") and key["proto"] in (1, 58):
            # ICMP flows of one address pair differ by type only: keep the
            # records whose times are those of this flow's reference records
            times = set((r["f"].get("start"), r["f"].get("end")) for r in ref
                        if rec_matches(r, key))
            mine = [r for r in mine if (r["f"].get("start"), r["f"].get("end")) in times]
        if not mine:
            v.fail("%s: no record of %s" % (label, json.dumps(key)))
            continue
        mine.sort(key=lambda r: (r["f"].get("end") or 0, r["f"].get("start") or 0))
        problems = []
        sides = ("f",) if uniflow or quirks.get("no_reverse") else ("f", "r")
        for s in sides:
            w = want[s]
            have = [r.get(s) for r in mine]
            if any(h is None for h in have):
                problems.append("no %s side" % s)
                continue
            for n in ("pkts", "octs"):
                got = sum(h.get(n, 0) for h in have)
                if got != w[n]:
                    problems.append("%s.%s %s, sent %s" % (s, n, got, w[n]))
                if w["cap"][n] != w[n]:  # the capture is ground truth too
                    problems.append("%s.%s %s in the capture, sent %s" % (
                        s, n, w["cap"][n], w[n]))
            if s == "f" and not w["pkts"]:
                problems.append("nothing sent: the test's own fault")
            live = [h for h in have if h.get("pkts")]
            if not live:
                continue
            if "flags" in have[0]:
                got = 0
                for h in have:
                    got |= h.get("flags", 0)
                wf = w["flags"] >> 8 if quirks.get("flags_first_octet") else w["flags"]
                if got != wf:
                    problems.append("%s.flags 0x%x, captured 0x%x" % (s, got, wf))
            for n in ("in", "out", "dir"):
                if n in have[0] and any(h.get(n) != w[n] for h in live):
                    problems.append("%s.%s %s, expected %s" % (
                        s, n, [h.get(n) for h in live], w[n]))
            # TTLs and IP lengths over the records, flow label of the first
            if "minttl" in have[0] and w["cap"]["pkts"]:
                got = (min(h["minttl"] for h in live), max(h["maxttl"] for h in live),
                       min(h["minlen"] for h in live), max(h["maxlen"] for h in live))
                cap = tuple(w["cap"][n] for n in ("minttl", "maxttl", "minlen", "maxlen"))
                if got != cap:
                    problems.append("%s TTL min/max, IP length min/max %s, captured %s" % (
                        s, got, cap))
                first = min(live, key=lambda h: h["start"])
                if first.get("label") != w["cap"]["label"]:
                    problems.append("%s flow label %s, captured %s" % (
                        s, first.get("label"), w["cap"]["label"]))
            if "start" in have[0] and w["cap"]["pkts"]:
                start = min(h["start"] for h in live)
                end = max(h["end"] for h in live)
                d = max(abs(start - w["cap"]["start"]), abs(end - w["cap"]["end"]))
                if d > 1000:
                    problems.append("%s times %s..%s, captured %s..%s" % (
                        s, start, end, w["cap"]["start"], w["cap"]["end"]))
                want["dt"] = max(want.get("dt", 0), d)
        if "tos" in mine[0] and want["f"]["cap"]["pkts"]:
            first = min((r for r in mine if r["f"].get("pkts")),
                        key=lambda r: r["f"]["start"])
            if first.get("tos") != want["f"]["cap"]["tos"]:
                problems.append("class of service %s, captured 0x%x" % (
                    first.get("tos"), want["f"]["cap"]["tos"]))
        reasons = [r.get("reason") for r in mine]
        if "reason" in mine[0]:
            if want["split"]:
                ok = len(mine) >= 2 and all(x == 2 for x in reasons[:-1]) and \
                    reasons[-1] in want["reasons"]
            else:
                ok = len(mine) == 1 and reasons[0] in want["reasons"]
            if not ok:
                problems.append("end reasons %s, expected %s%s" % (
                    reasons, "2,...," if want["split"] else "", want["reasons"]))
        elif not want["split"] and len(mine) != 1:
            problems.append("%d records, expected 1" % len(mine))
        if not uniflow and "bidir" in mine[0] and \
                any(r.get("bidir") != want["bidir"] for r in mine):
            problems.append("biflowDirection %s, expected %s" % (
                [r.get("bidir") for r in mine], want["bidir"]))

        summary = "%d record%s, %s/%s" % (
            len(mine), "s" * (len(mine) > 1), sum(r["f"].get("pkts", 0) for r in mine),
            sum(r["f"].get("octs", 0) for r in mine))
        if "r" in sides:
            summary += " <> %s/%s" % (sum(r["r"].get("pkts", 0) for r in mine),
                                      sum(r["r"].get("octs", 0) for r in mine))
        if "reason" in mine[0]:
            summary += ", end %s" % ",".join(str(x) for x in reasons)
        if key["proto"] == 6 and "flags" in mine[0]["f"]:
            summary += ", flags 0x%x" % max(r["f"].get("flags", 0) for r in mine)
            if "r" in sides and "flags" in mine[0]["r"]:
                summary += "/0x%x" % max(r["r"].get("flags", 0) for r in mine)
        v.check(not problems, "%s: %s" % (label, summary), problems + [shown(r) for r in mine])


def check_same(v, label, who, recs, ref):
    """The collector shows every record of the reference decode, and
    nothing else, field for field as far as it keeps fields."""
    want = collections.Counter(frozen(x) for x in (as_shown(r, who) for r in ref)
                               if x is not None)
    got = collections.Counter(frozen(pick(r, who)) for r in recs)
    missing = want - got
    extra = got - want
    details = ["missing:    %s" % shown(unfreeze(m)) for m in missing] + \
        ["unexpected: %s" % shown(unfreeze(e)) for e in extra]
    n_l2 = sum(1 for r in ref if r["ipv"] == 0)
    return v.check(not missing and not extra,
                   "%s: the reference's %d records (%d non-IP%s), every field kept equal"
                   % (label, sum(want.values()), n_l2,
                      ": dropped" if who == "nfacctd" else ""), details)


def unfreeze(t):
    out = {}
    for k, x in t:
        out[k] = dict(x) if isinstance(x, tuple) else x
    return out


def rfc_sequence(msgs):
    """Sequence number errors of one session's messages: per observation
    domain, each message's number is the count of data records (options
    records included) sent before it in that domain (RFC 7011 section
    3.1)."""
    errors = []
    expect = {}
    for i, m in enumerate(msgs):
        dom = m.get("odid")
        if dom in expect and m["seq"] != expect[dom]:
            errors.append("domain %s, message %d: sequence %d, expected %d" % (
                dom, i, m["seq"], expect[dom]))
        expect[dom] = (m["seq"] + m["records"]) & 0xffffffff
    return errors


def domains(msgs, what):
    """The observation domains of the messages that carry WHAT: "flows"
    (flow records), "options" (options records), "flow templates",
    "options templates"."""
    def has(m):
        if what == "flows":
            return m["flows"] > 0
        if what == "options":
            return m["records"] > m["flows"]
        tids = m.get("template_tids", [])
        return any(options_tid(t) == (what == "options templates") for t in tids)
    return sorted(set(m.get("odid") for m in msgs if has(m)))


def check_mixed(a):
    v = Verdicts()
    uniflow, tag = a.uniflow, a.tag
    truth = [ln for ln in read(a.truth).splitlines() if ln.strip()]
    pkts = capture_packets(read(a.capture))
    exps = expectations(truth, pkts, uniflow, a.ifindex, a.tx_side)
    msgs, ref, opts = ipfixdump(read(a.ipfixdump))
    if os.environ.get("BPFIX_TEST_DUMP") == "1":
        for r in ref:
            print("    %s" % shown(r))

    # ---- the reference: the file, decoded by ipfixDump
    who = "ipfixDump %s" % tag
    check_truth(v, who, ref, exps, uniflow, {}, ref)
    check_vlans(v, who, ref)
    v.check(not re.search(r"warn|error|invalid|malformed|out of sequence",
                          read(a.ipfixdump), re.I), "%s: no complaint" % who,
            [ln for ln in read(a.ipfixdump).splitlines()
             if re.search(r"warn|error|invalid|malformed|sequence", ln, re.I)])
    err = read(a.ipfixdump_err).splitlines()
    v.check(not err, "%s: nothing on stderr" % who, err)
    if a.exit_line:
        w = a.exit_line.replace("|", " ").split()
        n_packets = int(w[w.index("packets") + 1])
        n_records = int(w[w.index("records") + 1])
        v.eq("%s: packets in all records (the agent counted %d)" % (who, n_packets),
             sum(r["f"]["pkts"] + (r["r"]["pkts"] if "r" in r else 0) for r in ref),
             n_packets)
        v.eq("%s: flow records (the agent made %d)" % (who, n_records), len(ref), n_records)
    # flows in the configured domain, options in domain 0 (nfcapd counts
    # only flow records in a domain's sequence), each with its templates
    v.eq("%s: observation domains of flows, flow templates, options, options templates"
         % who, [domains(msgs, w) for w in ("flows", "flow templates", "options",
                                            "options templates")],
         [[a.odid], [a.odid], [0], [0]])
    v.eq("%s: sequence errors (RFC 7011 rule, per domain)" % who, rfc_sequence(msgs), [])
    tids = sorted(set(r.get("tid") for r in ref))
    v.eq("%s: flow templates used" % who, tids,
         [256, 258, 260] if uniflow else [257, 259, 261])
    by_tid = collections.defaultdict(list)
    for o in opts:
        by_tid[o["tid"]].append(o)
    v.check(sorted(by_tid) == [262, 263, 264, 265],
            "%s: options records of the four kinds (%s)" % (
                who, ", ".join("%d x%d" % (t, len(by_tid[t])) for t in sorted(by_tid))))
    last = {t: by_tid[t][-1] for t in by_tid}
    if 265 in last:
        # the name in a fixed 16 octets, zero-padded, as nfdump reads it
        v.eq("%s: interface table: domain, index, name" % who,
             [(o.get("observationDomainId"), o.get("ingressInterface"),
               o.get("interfaceDescription")) for o in by_tid[265]],
             [(str(a.odid), str(a.ifindex), "(len: 16) %s" % a.ifname)] * len(by_tid[265]))
    if 264 in last:
        v.eq("%s: exporting process reliability: notSent flows, packets, octets" % who,
             [last[264].get(n) for n in ("notSentFlowTotalCount", "notSentPacketTotalCount",
                                         "notSentOctetTotalCount")], ["0", "0", "0"])
    if 263 in last:
        v.eq("%s: metering process reliability: ignored packets, octets, lost flows" % who,
             [last[263].get(n) for n in ("ignoredPacketTotalCount", "ignoredOctetTotalCount",
                                         "notSentFlowTotalCount")], ["0", "0", "0"])
    if 262 in last:
        before = msgs[:last[262]["_msg"]]
        v.eq("%s: last metering statistics: flow records and messages sent before it" % who,
             (int(last[262]["exportedFlowRecordTotalCount"]),
              int(last[262]["exportedMessageTotalCount"])),
             (sum(m["flows"] for m in before), len(before)))

    # ---- tshark on the capture of both UDP streams
    nf_port, pm_port = (int(x) for x in a.tshark_ports.split(","))
    streams, bad = tshark(read(a.tshark))
    trecs = streams[nf_port][1]
    who = "tshark %s" % tag
    check_truth(v, who, trecs, exps, uniflow, {}, ref)
    check_same(v, who, "tshark", trecs, ref)
    check_vlans(v, who, trecs)
    v.check(not bad, "%s: no malformed data, no expert info, no data set without its "
            "template, nothing on stderr" % who, bad)
    for port in (nf_port, pm_port):
        pm = streams[port][0]
        v.eq("%s: port %d: domains of flows and options, sequence errors (RFC 7011 rule, "
             "per domain)" % (who, port),
             (domains(pm, "flows"), domains(pm, "options"), rfc_sequence(pm)),
             ([a.odid], [0], []))
    v.check(sorted(frozen(r) for r in streams[pm_port][1]) == sorted(frozen(r) for r in trecs),
            "%s: port %d carries the records of port %d" % (who, pm_port, nf_port))

    # ---- nfcapd, read with nfdump
    if a.nfdump:
        who = "nfdump %s" % tag
        recs = nfdump_raw(read(a.nfdump))
        check_truth(v, who, recs, exps, uniflow, {}, ref)
        check_same(v, who, "nfdump", recs, ref)
        check_vlans(v, who, recs)
        # the interface table read: nfdump names the interface by its index
        named = sum(1 for r in recs for n in ("in", "out") if r["f"].get(n) == a.ifindex)
        wrong = [shown(r) + " names %r/%r" % (r.get("in_name"), r.get("out_name"))
                 for r in recs if any(r.get(n + "_name", "") != (
                     a.ifname if r["f"].get(n) == a.ifindex else "") for n in ("in", "out"))]
        v.check(named and not wrong, "%s: input/output %d named %s (%d times), 0 unnamed" % (
            who, a.ifindex, a.ifname, named), wrong)
        log = nfcapd_log(read(a.nfcapd_log))
        who = "nfcapd %s" % tag
        v.eq("%s: sequence errors, bad packets" % who, (log["seq"], log["bad"]), (0, 0))
        v.eq("%s: exporters (observation domains)" % who, log["exporters"], sorted([a.odid, 0]))
        v.check(not log["other"], "%s: no error or warning, no line but the known "
                "informational ones" % who, log["other"])

    # ---- nfacctd's CSV
    if a.nfacctd:
        who = "nfacctd %s" % tag
        recs = pmacct_csv(read(a.nfacctd))
        check_truth(v, who, recs, exps, uniflow,
                    {"no_reverse": True, "no_icmp_type": True, "flags_first_octet": True},
                    ref)
        check_same(v, who, "nfacctd", recs, ref)
        # sequence checks on (nfacctd_disable_checks: false): a gap in a
        # domain's sequence numbers is an "expecting flow" line
        other = [ln for ln in read(a.nfacctd_log).splitlines() if not NFACCTD_INFO.match(ln)]
        v.check(not other, "%s: no sequence complaint, warning or error, no line but the "
                "known informational ones" % who, other)

    print("  info %s: decoded times within %d ms of the capture" % (
        tag, max([w.get("dt", 0) for _, _, w in exps] or [0])))
    return v.fails


def flows_of(recs, sports):
    lo, hi = (int(x) for x in sports.split("-"))
    return [r for r in recs if r.get("proto") == 17 and lo <= r.get("sport", -1) <= hi]


def ident(r):
    return (r["src"], r["dst"], r.get("sport"), r.get("dport"), r["f"].get("start"))


def check_late(a):
    """A collector that starts after bpfix: what it decodes is what the
    reference holds, and everything exported from one template refresh
    interval after its start on is there."""
    v = Verdicts()
    msgs, ref, _ = ipfixdump(read(a.ref))
    recs = nfdump_raw(read(a.nfdump))
    who = a.label
    by_id = {ident(r): r for r in ref}
    stray = [r for r in recs if ident(r) not in by_id or
             frozen(pick(r, "nfdump")) != frozen(as_shown(by_id[ident(r)], "nfdump"))]
    v.check(not stray, "%s: %d records decoded, each equal to the reference's" % (
        who, len(recs)), [shown(r) for r in stray])
    if not recs:
        v.fail("%s: nothing decoded" % who)
        return v.fails
    first = min(r["recv"] for r in recs)
    # start_ms is read by the shell just after it launched the collector,
    # which may already have received a datagram: a few ms of slack.
    v.check(first >= a.start_ms - 100, "%s: nothing decoded before it started" % who)
    late = first - a.start_ms
    v.check(late <= a.refresh * 1000 + 1500,
            "%s: first record decoded %d ms after the collector started (template "
            "refresh %d s)" % (who, late, a.refresh))
    # a message's export time has a resolution of one second
    due = a.start_ms + a.refresh * 1000 + 1000
    want = [r for r in flows_of(ref, a.sports) if msgs[r["_msg"]]["export"] >= due]
    have = set(ident(r) for r in recs)
    missing = [r for r in want if ident(r) not in have]
    v.check(want and not missing,
            "%s: all %d records exported from %d ms after its start on" % (
                who, len(want), due - a.start_ms), [shown(r) for r in missing])
    lost = [r for r in flows_of(ref, a.sports) if ident(r) not in have]
    print("  info %s: %d of the test's %d records exported before it could decode them" % (
        who, len(lost), len(flows_of(ref, a.sports))))
    log = nfcapd_log(read(a.nfcapd_log))
    v.eq("%s: bad packets" % who, log["bad"], 0)
    v.check(not log["other"], "%s: no error or warning, no line but the known "
            "informational ones" % who, log["other"])
    # The agent runs with the default observation domain, 0, which its
    # options records use too: nfcapd, counting flow records only, sees a
    # gap after each options message (test_ipfix_interop.sh sets domains
    # and requires 0).
    print("  info %s: %d sequence errors counted by nfcapd (flows and options share "
          "domain 0)" % (who, log["seq"]))
    return v.fails


NOT_SENT = ("notSentFlowTotalCount", "notSentPacketTotalCount", "notSentOctetTotalCount")


def exit_counts(line):
    w = line.replace("|", " ").split()
    return {n: int(w[w.index(n) + 1]) for n in ("packets", "records")}


def check_tcp(a):
    """A TCP collector killed and restarted."""
    v = Verdicts()
    _, ref, _ = ipfixdump(read(a.ref))
    m1, s1, o1 = ipfixdump(read(a.s1))
    m2, s2, o2 = ipfixdump(read(a.s2))
    for who, path, msgs in (("session 1", a.s1, m1), ("session 2", a.s2, m2)):
        text = read(path)
        bad = re.compile(r"warn|error|invalid|malformed|out of sequence", re.I)
        v.check(msgs and not bad.search(text),
                "ipfixDump %s: %d messages, no complaint" % (who, len(msgs)),
                [ln for ln in text.splitlines() if bad.search(ln)])
        if msgs:
            v.eq("ipfixDump %s: starts with sequence 0 and the templates (16)" % who,
                 (msgs[0].get("seq"), msgs[0]["templates"]), (0, TEMPLATES))
            v.eq("ipfixDump %s: sequence errors (RFC 7011 rule)" % who, rfc_sequence(msgs), [])
    ids1, ids2 = set(ident(r) for r in s1), set(ident(r) for r in s2)
    refids = set(ident(r) for r in ref)
    v.eq("records of both sessions that are not in the reference",
         [shown(r) for r in s1 + s2 if ident(r) not in refids], [])
    v.eq("records in both sessions", sorted(ids1 & ids2), [])
    before = [r for r in flows_of(ref, a.before_sports)]
    v.eq("the %d records of the flows before the kill, in session 1" % len(before),
         [shown(r) for r in before if ident(r) not in ids1], [])
    down = flows_of(ref, a.down_sports)
    kept = [r for r in down if ident(r) in ids2]
    v.eq("flows while the collector was down: records (queue %d)" % a.queue,
         (len(down), len(kept), len([r for r in down if ident(r) in ids1])),
         (a.down_n, a.queue, 0))
    after = flows_of(ref, a.after_sports)
    v.eq("the %d records of the flows after the restart, in session 2" % a.after_n,
         (len(after), [shown(r) for r in after if ident(r) not in ids2]), (a.after_n, []))

    rel2 = [o for o in o2 if o["tid"] == 264]
    lost = a.down_n - a.queue
    want = [str(lost), str(lost), str(lost * (a.size + 28))]
    if not rel2:
        v.fail("session 2: no exporting process reliability record")
    else:
        first = rel2[0]
        v.eq("session 2, its first message: exporting process reliability, "
             "exportingProcessId %d: notSent flows, packets, octets" % a.exporter_id,
             [first.get("exportingProcessId")] +
             [first.get(n) for n in ("notSentFlowTotalCount", "notSentPacketTotalCount",
                                     "notSentOctetTotalCount")],
             [str(a.exporter_id)] + want)
        v.eq("session 2: it is in the first message", first["_msg"], 0)
        t0 = utc_ms(first.get("observationTimeMilliseconds", "1970-01-01 00:00:00"))
        t1 = utc_ms(first.get("observationTimeMilliseconds_2", "1970-01-01 00:00:00"))
        v.check(a.kill_ms <= t0 <= t1 <= a.back_ms + 1000,
                "session 2: the drops' time window %+d..%+d ms after the kill, within the "
                "collector's absence (%d ms)" % (t0 - a.kill_ms, t1 - a.kill_ms,
                                                 a.back_ms - a.kill_ms))
        v.eq("session 2: the last such record (at exit) reports the same",
             [rel2[-1].get(n) for n in ("notSentFlowTotalCount", "notSentPacketTotalCount",
                                        "notSentOctetTotalCount")], want)
    rel1 = [o for o in o1 if o["tid"] == 264]
    v.eq("session 1: exporting process reliability: nothing not sent",
         sorted(set(o.get("notSentFlowTotalCount") for o in rel1)), ["0"])
    if a.exit_line:
        n = exit_counts(a.exit_line)
        pk = sum(r["f"]["pkts"] + (r["r"]["pkts"] if "r" in r else 0) for r in s1 + s2)
        v.eq("records: session 1 + session 2 + not sent = the agent's (%d)" % n["records"],
             len(s1) + len(s2) + lost, n["records"])
        v.eq("packets: session 1 + session 2 + not sent = the agent's (%d)" % n["packets"],
             pk + lost, n["packets"])
    return v.fails


def session_sane(v, who, text, msgs, refids, recs):
    """One TCP session as ipfixDump decoded it: no complaint, one set of
    templates at its start (sequence 0), RFC 7011 sequence numbers, and
    only records of the reference, each once."""
    bad = re.compile(r"warn|error|invalid|malformed|out of sequence")
    hit = bad.search(text.lower())  # (re.I costs seconds on a large decode)
    v.check(msgs and not hit, "%s: %d messages, no complaint from ipfixDump" % (
        who, len(msgs)), hit and [ln for ln in text.lower().splitlines() if bad.search(ln)])
    if not msgs:
        return
    v.eq("%s: sequence and templates of its first message, templates in all" % who,
         (msgs[0].get("seq"), msgs[0]["templates"], sum(m["templates"] for m in msgs)),
         (0, TEMPLATES, TEMPLATES))
    v.eq("%s: sequence errors (RFC 7011 rule)" % who, rfc_sequence(msgs), [])
    ids = [ident(r) for r in recs]
    v.eq("%s: records not in the reference, records twice" % who,
         ([shown(r) for r in recs if ident(r) not in refids],
          len(ids) - len(set(ids))), ([], 0))


def reports(opts, exporter_id):
    return [o for o in opts if o["tid"] == 264 and
            o.get("exportingProcessId") == str(exporter_id)]


def not_sent(o):
    return [int(o.get(n, -1)) for n in NOT_SENT]


ROWS = []


def reliability(case, held, lost):
    """A row for lib.sh's reliability line, which the shell prints (see
    --rows)."""
    ROWS.append("%s\t%s\t%s\n" % (case, held, lost))


def check_faults(a):
    """test_collector_faults.sh: a TCP collector absent at start (A), one
    that stops reading (B), one with no route; the file is the reference."""
    v = Verdicts()
    _, ref, _ = ipfixdump(read(a.ref))
    refids = set(ident(r) for r in ref)
    absent, base, stall = (flows_of(ref, x) for x in (a.absent_sports, a.base_sports,
                                                      a.stall_sports))
    v.eq("the reference (file): records of the absence, the two bursts, others",
         (len(absent), len(base), len(stall), len(ref) - len(absent) - len(base) - len(stall)),
         (a.absent_n, a.burst_n, a.burst_n, 0))
    octets = {id(r): r["f"]["octs"] + r.get("r", {}).get("octs", 0) for r in ref}
    packets = {id(r): r["f"]["pkts"] + r.get("r", {}).get("pkts", 0) for r in ref}

    # ---- A: absent at start
    text = read(a.a)
    ma, sa, oa = ipfixdump(text)
    session_sane(v, "collector A", text, ma, refids, sa)
    ida = set(ident(r) for r in sa)
    syn = [int(x) for x in read(a.syn).split()]
    tried = [t for t in syn if t < a.back_ms]
    gaps = [y - x for x, y in zip(tried, tried[1:])]
    v.check(tried and a.start_ms <= tried[0] <= a.metering_ms,
            "collector A: first connection attempt while bpfix started (%+d ms)" % (
                (tried[0] - a.start_ms) if tried else 0))
    v.check(len(tried) >= 2 and all(
        1000 * 2 ** i - 100 <= g <= 1000 * 2 ** i + 1000 for i, g in enumerate(gaps)),
        "collector A: refused attempts %s ms apart (backoff 1 s doubling, +1 s slack)" % gaps)
    later = [t for t in syn if t >= a.back_ms]
    backoff = 1000 * 2 ** len(gaps)
    v.check(later and later[0] - a.back_ms <= backoff + 1000,
            "collector A: connected %d ms after it listened (next attempt due within %d ms)" % (
                (later[0] - a.back_ms) if later else -1, backoff))
    lost = a.absent_n - a.queue
    want = [lost, lost, lost * (a.absent_size + 28)]
    rep = reports(oa, 1)
    if not rep or rep[0]["_msg"] != 0:
        v.fail("collector A: no exporting process reliability record in its first message")
    else:
        v.eq("collector A, first message: notSent flows, packets, octets (queue %d of %d)" % (
            a.queue, a.absent_n), not_sent(rep[0]), want)
        t0 = utc_ms(rep[0].get("observationTimeMilliseconds", "1970-01-01 00:00:00"))
        t1 = utc_ms(rep[0].get("observationTimeMilliseconds_2", "1970-01-01 00:00:00"))
        v.check(a.start_ms <= t0 <= t1 <= a.back_ms,
                "collector A: the drops' time window %+d..%+d ms after bpfix started, "
                "before the collector listened (%+d ms)" % (
                    t0 - a.start_ms, t1 - a.start_ms, a.back_ms - a.start_ms))
    v.eq("collector A: records of the absence it received", len(
        [r for r in absent if ident(r) in ida]), a.queue)
    ns_a = not_sent(rep[-1]) if rep else [0, 0, 0]
    missing = [r for r in ref if ident(r) not in ida]
    silent_a = len(ref) - len(sa) - ns_a[0]
    v.eq("collector A, at exit: notSent = records it lacks (flows, packets, octets)", ns_a,
         [len(missing), sum(packets[id(r)] for r in missing),
          sum(octets[id(r)] for r in missing)])
    v.eq("collector A: %d records made - %d received - %d not sent (lost silently)" % (
        len(ref), len(sa), ns_a[0]), silent_a, 0)
    reliability("IPFIX/TCP collector absent at start",
                "%d records made before it listened, queue %d: %d delivered on connection, "
                "%d reported not sent in its first message; attempts %s ms apart" % (
                    a.absent_n, a.queue, a.queue, lost, ", ".join(map(str, gaps))), silent_a)

    # ---- B: stops reading (SIGSTOP), then reads again (SIGCONT)
    text = read(a.b)
    mb, sb, ob = ipfixdump(text)
    session_sane(v, "collector B", text, mb, refids, sb)
    idb = set(ident(r) for r in sb)
    v.eq("collector B: records of the first burst (it was reading)",
         len([r for r in base if ident(r) in idb]), a.burst_n)
    got = [r for r in stall if ident(r) in idb]
    k = a.burst_n - len(got)
    v.check(0 < k and len(got) >= a.queue,
            "collector B: of the %d records made while it was stopped, %d delivered (queue %d "
            "and the socket buffers), %d not" % (a.burst_n, len(got), a.queue, k))
    want = [k, k, k * (a.stall_size + 28)]
    rep = reports(ob, 2)
    v.eq("collector B: the first report made after the burst, once it read again "
         "(notSent flows, packets, octets)", [int(x) for x in a.report.split()]
         if a.report != "none" else None, want)
    if rep:
        v.eq("collector B: the last report (at exit)", not_sent(rep[-1]), want)
        first_stall = min([r["_msg"] for r in got] or [len(mb)])
        v.eq("collector B: reports before the stop (notSent flows)",
             sorted(set(not_sent(o)[0] for o in rep if o["_msg"] < first_stall)), [0])
    else:
        v.fail("collector B: no exporting process reliability record")
    silent_b = len(ref) - len(sb) - k
    v.eq("collector B: %d records made - %d received - %d not sent (lost silently)" % (
        len(ref), len(sb), k), silent_b, 0)
    rss1, rss2 = (int(x) for x in a.rss.split())
    reliability("IPFIX/TCP collector stops reading (SIGSTOP, then SIGCONT)",
                "%d records made while stopped, queue %d: %d delivered, %d reported not sent "
                "once it read again; agent RSS %d -> %d KiB" % (
                    a.burst_n, a.queue, len(got), k, rss1, rss2), silent_b)

    # ---- the agent's own counts
    if a.exit_line:
        w = a.exit_line.replace("|", " ").split()
        n = {x: int(w[w.index(x) + 1]) for x in ("packets", "records", "exported", "not-sent")}
        v.eq("bpfix exit line: records, packets (the reference's)",
             (n["records"], n["packets"]), (len(ref), sum(packets.values())))
        v.eq("bpfix exit line: exported = A + B + file", n["exported"],
             len(sa) + len(sb) + len(ref))
        silent_c = len(ref) - (n["not-sent"] - ns_a[0] - k)
        v.eq("bpfix exit line: not sent = A's + B's + all %d for the collector with no "
             "route" % len(ref), n["not-sent"], ns_a[0] + k + len(ref))
        reliability("IPFIX/TCP collector with no route", "%d records made, none deliverable: "
                    "all reported not sent (exit line)" % len(ref), silent_c)
    else:
        v.fail("no exit line from bpfix")
    return v.fails


# What nfcapd 1.7.1 says in the foreground (errors and information alike go
# to stderr, with no level): anything else is a complaint.
NFCAPD_INFO = re.compile(
    r"^(Add flow source: |Bound to |Init v5/v7: |Init v9: |Init IPFIX: |Startup nfcapd\.$|"
    r"Process_ipfix: New ipfix exporter: SysID: \d+, Observation domain \d+ from: |"
    r"Ident: '[^']*' Flows: \d+, Packets: \d+, Bytes: \d+, Sequence Errors: \d+, "
    r"Bad Packets: \d+$|Terminating nfcapd\.$)")


def nfcapd_log(text):
    seq = bad = 0
    exporters, other = [], []
    for line in text.splitlines():
        m = re.search(r"Sequence Errors: (\d+), Bad Packets: (\d+)", line)
        if m:
            seq += int(m.group(1))
            bad += int(m.group(2))
        m = re.search(r"New ipfix exporter: .*Observation domain (\d+) from", line)
        if m:
            exporters.append(int(m.group(1)))
        if not NFCAPD_INFO.match(line):
            other.append(line)
    return {"seq": seq, "bad": bad, "exporters": sorted(exporters), "other": other}


# What nfacctd (pmacct 1.7.7) says with the print plugin: anything else,
# an "expecting flow" sequence complaint (INFO) included, is a complaint.
NFACCTD_INFO = re.compile(
    r"^INFO \( default/core \): (NetFlow Accounting Daemon, nfacctd | '--|"
    r"Reading configuration file |waiting for NetFlow/IPFIX data on |OK, Exiting \.\.\.$)|"
    r"^INFO \( p/print \): (cache entries=\d+ base cache memory=\d+ bytes$|"
    r"\*\*\* Purging cache - (START|END) \(PID: )")


def check_vlans(v, who, recs):
    """vlanId on ingress, postVlanId on egress (see side_vlans)."""
    bad = [shown(r) + " (%s)" % ",".join(r["vlan_misplaced"]) for r in recs
           if r.get("vlan_misplaced")]
    v.check(not bad, "%s: the outer VLAN as vlanId when metered on ingress, postVlanId on "
            "egress" % who, bad)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    simple = {"frames": frames, "send": send, "udp-sink": udp_sink, "tcp-serve": tcp_serve,
              "tcp-client": tcp_client, "udp-flows": udp_flows, "tcp-sink": tcp_sink,
              "udp-gate": udp_gate, "capture-read": capture_read, "syn-watch": syn_watch,
              "wait-records": wait_records, "wait-report": wait_report}
    if mode in simple:
        return simple[mode](args) or 0
    p = argparse.ArgumentParser(prog="ipfix_interop.py " + mode)
    if mode == "check-mixed":
        p.add_argument("--tag", required=True)
        p.add_argument("--uniflow", action="store_true")
        p.add_argument("--ifindex", type=int, required=True)
        p.add_argument("--ifname", required=True)
        p.add_argument("--odid", type=int, required=True)
        p.add_argument("--truth", required=True)
        p.add_argument("--capture", required=True)
        p.add_argument("--ipfixdump", required=True)
        p.add_argument("--ipfixdump-err", required=True)
        p.add_argument("--tshark")
        p.add_argument("--nfdump")
        p.add_argument("--nfcapd-log")
        p.add_argument("--nfacctd")
        p.add_argument("--exit-line", default="")
        p.add_argument("--tx-side", choices=("f", "r"), required=True)
        p.add_argument("--tshark-ports", required=True)
        p.add_argument("--nfacctd-log")
        return min(check_mixed(p.parse_args(args)), 100)
    if mode == "check-late":
        p.add_argument("--label", required=True)
        p.add_argument("--ref", required=True)
        p.add_argument("--nfdump", required=True)
        p.add_argument("--nfcapd-log", required=True)
        p.add_argument("--start-ms", type=int, required=True)
        p.add_argument("--refresh", type=int, required=True)
        p.add_argument("--sports", required=True)
        return min(check_late(p.parse_args(args)), 100)
    if mode == "check-tcp":
        for n in ("ref", "s1", "s2", "before-sports", "down-sports", "after-sports"):
            p.add_argument("--" + n, required=True)
        for n in ("kill-ms", "back-ms", "queue", "size", "down-n", "after-n", "exporter-id"):
            p.add_argument("--" + n, type=int, required=True)
        p.add_argument("--exit-line", default="")
        return min(check_tcp(p.parse_args(args)), 100)
    if mode == "check-faults":
        for n in ("ref", "a", "b", "syn", "absent-sports", "base-sports", "stall-sports",
                  "report", "rss"):
            p.add_argument("--" + n, required=True)
        for n in ("start-ms", "metering-ms", "back-ms", "queue", "absent-n", "absent-size",
                  "burst-n", "stall-size"):
            p.add_argument("--" + n, type=int, required=True)
        p.add_argument("--exit-line", default="")
        p.add_argument("--rows", required=True)
        a = p.parse_args(args)
        fails = check_faults(a)
        with open(a.rows, "w") as f:
            f.writelines(ROWS)
        return min(fails, 100)
    sys.exit("ipfix_interop.py: unknown mode " + mode)


if __name__ == "__main__":
    sys.exit(main())
