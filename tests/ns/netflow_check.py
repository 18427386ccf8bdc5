#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""test_netflow.sh's judge: NetFlow v9 and v5 as nfdump, nfacctd and
tshark decoded them, against ground truth and against the IPFIX reference
decode (ipfixDump) of the same agent, each biflow as the two
unidirectional records NetFlow carries. The parsers of ipfixDump, nfdump
and pmacct output are ipfix_interop.py's."""

import argparse
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfix_interop as ii  # noqa: E402

KEY = ("ipv", "proto", "src", "dst", "sport", "dport", "icmp")
TIME_SLACK_MS = 1000  # v9's unix_secs has whole seconds
V5_MAX = 30

# ICMP types as the agent pairs them (user/flowtab.c, flow_key_reverse):
# a request's reverse is its answer, an answer's its request, code 0.
ICMP_PAIRS = {4: {8: 0, 13: 14, 15: 16, 17: 18},
              6: {128: 129, 130: 131, 133: 134, 135: 136, 139: 140}}


def rev_icmp(ipv, icmp):
    t = icmp >> 8
    pairs = ICMP_PAIRS[ipv]
    back = {v: k for k, v in pairs.items()}
    return (pairs.get(t, back.get(t, t))) << 8


def uniflows(ref):
    """Each reference biflow as its unidirectional records: the forward
    side with the record's key, the reverse with the key reversed; a side
    without packets is none."""
    out = []
    for r in ref:
        for s in ("f", "r"):
            side = r.get(s)
            if not side or not side.get("pkts"):
                continue
            u = {n: r.get(n, 0) for n in KEY}
            if s == "r":
                u.update(src=r["src"], dst=r["dst"])
                u["src"], u["dst"] = r["dst"], r["src"]
                u["sport"], u["dport"] = r.get("dport", 0), r.get("sport", 0)
                if u["proto"] in (1, 58) and u["ipv"]:
                    u["icmp"] = rev_icmp(u["ipv"], u["icmp"])
            # the reference has the forward class of service only
            u["tos"] = r.get("tos", 0) if s == "f" and r.get("ipv") else None
            u["vlan"] = r.get("vlan", 0)  # the outer tag, both directions
            for n in ("pkts", "octs", "flags", "in", "out", "dir", "start", "end",
                      "minttl", "maxttl", "minlen", "maxlen"):
                u[n] = side.get(n)
            out.append(u)
    return out


def flat(r):
    """A decoded record (ipfix_interop's shape) as one flat dict."""
    u = {n: r.get(n, 0) for n in KEY}
    u["tos"] = r.get("tos")
    u["vlan"] = -1 if r.get("vlan_misplaced") else r.get("vlan", 0)
    for n, v in r.get("f", {}).items():
        u[n] = v
    return u


def show(u):
    return " ".join("%s=%s" % (n, u.get(n)) for n in KEY + ("pkts", "octs", "in", "out"))


def match(v, who, got, want, fields, slack_ms):
    """Record for record: each wanted record once among the decoded ones,
    equal in @fields (None in the wanted one: not known), times within
    @slack_ms; nothing decoded left over."""
    left = list(got)
    missing, off = [], []
    for w in want:
        hit = None
        for i, g in enumerate(left):
            if all(w.get(n) is None or g.get(n) == w.get(n) for n in KEY + fields):
                hit = i
                break
        if hit is None:
            missing.append(show(w))
            continue
        g = left.pop(hit)
        if slack_ms is not None:
            for n in ("start", "end"):
                if g.get(n) is None or abs(g[n] - w[n]) > slack_ms:
                    off.append("%s: %s %s vs %s" % (show(w), n, g.get(n), w[n]))
    v.check(not missing, "%s: every one of the %d records, with %s" %
            (who, len(want), ", ".join(fields)), missing)
    if slack_ms is not None:
        v.check(not off, "%s: first and last times within %d ms" % (who, slack_ms), off)
    v.check(not left, "%s: no record beyond them" % who, [show(g) for g in left])


def truth_records(path):
    """The ground truth: each flow sent, and its reply (rpkts, rocts; the
    same as sent when not given: echoes), summed over the records of its
    key (an active timeout splits a flow)."""
    out = []
    for line in open(path):
        kv = ii.keyvals(line)
        f = {n: kv.get(n, 0) for n in KEY}
        for n in ("ipv", "proto", "sport", "dport", "icmp"):
            f[n] = int(f[n])
        f["src"], f["dst"] = ii.addr(kv["src"]), ii.addr(kv["dst"])
        f["pkts"], f["octs"], f["name"] = int(kv["pkts"]), int(kv["octs"]), kv["name"]
        f["split"] = kv.get("split", 0)
        r = dict(f, src=f["dst"], dst=f["src"], sport=f["dport"], dport=f["sport"])
        if f["proto"] in (1, 58):
            r["icmp"] = rev_icmp(f["ipv"], f["icmp"])
        r["name"] = f["name"] + " (reply)"
        r["pkts"], r["octs"] = int(kv.get("rpkts", f["pkts"])), int(kv.get("rocts", f["octs"]))
        out += [f, r] if r["pkts"] else [f]
    return out


def check_truth(v, who, recs, truth):
    for t in truth:
        hits = [r for r in recs if all(r.get(n) == t[n] for n in KEY)]
        got = (sum(r.get("pkts") or 0 for r in hits), sum(r.get("octs") or 0 for r in hits))
        v.eq("%s: %s: packets, octets" % (who, t["name"]), got, (t["pkts"], t["octs"]))
        if t.get("split"):
            v.check(len(hits) >= 2, "%s: %s: the active timeout split it (%d records)" %
                    (who, t["name"], len(hits)))


# ---- tshark ----------------------------------------------------------------------

TS_NUM = {"SrcPort": "sport", "DstPort": "dport", "InputInt": "in", "OutputInt": "out",
          "Octets": "octs", "Packets": "pkts", "TCP Flags": "flags", "IP ToS": "tos",
          "MinTTL": "minttl", "MaxTTL": "maxttl", "MinLength": "minlen",
          "MaxLength": "maxlen", "ICMP Type": "icmp", "IPVersion": "ipv"}


def tshark_nf(text):
    """tshark -V of NetFlow v9/v5: {port: [packet]}, each packet a dict of
    header fields, its FlowSets and its flow records; and the lines where
    tshark complains."""
    streams = collections.defaultdict(list)
    bad = []
    port = pkt = rec = None
    for raw in text.splitlines():
        s = raw.strip()
        if re.search(r"Malformed|Expert Info|no template found", s) or raw.startswith("tshark:"):
            bad.append(s)
        if raw[:1] not in (" ", "\t"):  # the next frame or protocol layer
            rec = None
        m = re.match(r"User Datagram Protocol, Src Port: \d+, Dst Port: (\d+)", s)
        if m:
            port, pkt, rec = int(m.group(1)), None, None
            continue
        if s == "Cisco NetFlow/IPFIX":
            pkt = {"sets": [], "flows": [], "opts": []}
            streams[port].append(pkt)
            rec = None
            continue
        if pkt is None:
            continue
        m = re.match(r"(Version|Count|FlowSequence|SourceId|CurrentSecs|CurrentNSecs|EngineId): (\d+)$", s)
        if m and rec is None:
            pkt[m.group(1)] = int(m.group(2))
            continue
        m = re.match(r"SysUptime: ([\d.]+) seconds", s)
        if m:
            pkt["uptime"] = round(float(m.group(1)) * 1000)
            continue
        m = re.match(r"EngineType: .*\((\d+)\)$", s)
        if m:
            pkt["EngineType"] = int(m.group(1))
            continue
        m = re.match(r".*= (SamplingMode|SampleRate): .*?(\d+)\)?$", s)
        if m:
            pkt[m.group(1)] = int(m.group(2))
            continue
        m = re.match(r"FlowSet \d+ \[id=(\d+)\]", s)
        if m:
            pkt["sets"].append({"id": int(m.group(1)), "template_frame": False})
            rec = None
            continue
        if s.startswith("[Template Frame:") and pkt["sets"]:
            pkt["sets"][-1]["template_frame"] = True
            continue
        if re.match(r"(Flow \d+|pdu \d+/\d+)$", s):
            tid = pkt["sets"][-1]["id"] if pkt["sets"] else 0
            rec = {"tid": tid} if tid < 259 else None  # flow records, not options
            if rec is not None:
                pkt["flows"].append(rec)
            else:
                pkt["opts"].append({"tid": tid})
            continue
        if rec is None:
            m = re.match(r"([A-Za-z][A-Za-z ]*?): (\S+)$", s)
            if m and pkt["opts"] and raw.startswith(" " * 12):
                pkt["opts"][-1][m.group(1)] = m.group(2)
            continue
        m = re.match(r"([A-Za-z][A-Za-z0-9 ]*?): (.*)$", s)
        if not m:
            continue
        label, val = m.group(1), m.group(2)
        if label in ("SrcAddr", "DstAddr"):
            rec[label[:3].lower()] = ii.addr(val)
        elif label in ("Source Mac Address", "Destination Mac Address"):
            mac = re.search(r"\(((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\)", val)
            rec["src" if label.startswith("Source") else "dst"] = mac.group(1)
        elif label == "Protocol":
            rec["proto"] = int(re.search(r"\((\d+)\)", val).group(1))
        elif label in ("Vlan Id", "Post Vlan Id"):
            rec["vlanin" if label == "Vlan Id" else "vlanout"] = int(val.split()[0])
        elif label == "Direction":
            rec["dir"] = int(re.search(r"\((\d+)\)", val).group(1))
        elif label in ("StartTime", "EndTime"):
            rec["u" + label[:-4].lower()] = round(float(val.split()[0]) * 1000)
        elif label in TS_NUM:
            w = val.split()[0].rstrip(",")
            rec[TS_NUM[label]] = int(w, 16) if w.startswith("0x") else int(w)
    for pkts in streams.values():
        for p in pkts:
            # the collector's clock: unix time of sysUptime 0 (v5: with ns)
            boot = p.get("CurrentSecs", 0) * 1000 + p.get("CurrentNSecs", 0) // 1000000 - \
                p.get("uptime", 0)
            for r in p["flows"]:
                r["start"], r["end"] = boot + r.pop("ustart", 0), boot + r.pop("uend", 0)
                # SRC_VLAN on ingress, DST_VLAN on egress, the other 0
                vin, vout = r.pop("vlanin", 0), r.pop("vlanout", 0)
                mine, other = (vout, vin) if r.get("dir") == 1 else (vin, vout)
                r["vlan"] = mine if not other else -1
                if "ipv" not in r:
                    src = r.get("src", "")
                    r["ipv"] = 0 if src.count(":") == 5 and "::" not in src else \
                        6 if ":" in src else 4
                if p.get("Version") == 5:
                    r["ipv"] = 4
                    if r.get("proto") == 1:  # v5 puts ICMP's type and code in dport
                        r["icmp"], r["dport"] = r.get("dport", 0), 0
                    else:
                        r["icmp"] = 0
                for n in KEY:
                    r.setdefault(n, 0)
    return streams, bad


def check_tshark_v9(v, who, pkts, odid):
    seqs = [p.get("FlowSequence") for p in pkts]
    v.eq("%s: sequence numbers, one per export packet" % who, seqs, list(range(len(pkts))))
    v.eq("%s: source ID" % who, sorted({p.get("SourceId") for p in pkts}), [odid])
    v.eq("%s: version 9" % who, sorted({p.get("Version") for p in pkts}), [9])
    orphans = [(i, s["id"]) for i, p in enumerate(pkts) for s in p["sets"]
               if s["id"] >= 256 and not s["template_frame"]]
    v.check(not orphans, "%s: every data FlowSet after its template" % who, orphans)
    up = [p["uptime"] for p in pkts]
    v.check(up == sorted(up), "%s: sysUptime never goes back" % who, up)


def check_tshark_v9_options(v, who, pkts, odid, ifindex, ifname, records):
    """The options records: the interface table names the veth; the last
    exporting statistics (sent at close) count every record as sent, none
    as not sent, and the export packets before them."""
    opts = [(i, o) for i, p in enumerate(pkts) for o in p["opts"]]
    ifs = {(o.get("ScopeInterface"), o.get("IfName")) for _, o in opts if o["tid"] == 261}
    v.eq("%s: interface table" % who, sorted(ifs), [(str(ifindex), ifname)])
    exp = [(i, o) for i, o in opts if o["tid"] == 260]
    v.check(exp, "%s: exporting statistics" % who)
    if not exp:
        return
    i, last = exp[-1]
    got = (int(last.get("ScopeSystem", "0"), 16), int(last.get("FlowsExp", -1)),
           int(last.get("Not Sent Flows", -1)), int(last.get("PacketsExp", -1)))
    v.eq("%s: last exporting statistics: source, flows sent, not sent, packets before" %
         who, got, (odid, records, 0, i))


def check_tshark_v5(v, who, pkts, odid):
    seq, want = [], []
    n = 0
    for p in pkts:
        seq.append(p.get("FlowSequence"))
        want.append(n)
        n += p.get("Count", 0)
    v.eq("%s: flow_sequence: the records before each packet" % who, seq, want)
    v.eq("%s: records per packet, count = records" % who,
         [p.get("Count") for p in pkts if p.get("Count", 0) > V5_MAX or
          p.get("Count") != len(p["flows"])], [])
    v.eq("%s: engine type, id" % who, sorted({(p.get("EngineType"), p.get("EngineId"))
                                              for p in pkts}), [(odid >> 8 & 255, odid & 255)])
    v.eq("%s: full packets hold 30 records" % who, max(p.get("Count", 0) for p in pkts)
         if n >= V5_MAX else V5_MAX, V5_MAX)
    v.eq("%s: sampling mode and interval" % who,
         sorted({(p.get("SamplingMode"), p.get("SampleRate")) for p in pkts}), [(0, 0)])


# ---- logs -------------------------------------------------------------------------

NFCAPD_NF = re.compile(r"^(Process_v9: New v9 exporter: SysID: \d+, Domain: \d+, IP: |"
                       r"Process_v5: New exporter: SysID: \d+, engine id \d+, type \d+, IP: |$)")


def check_nfcapd_log(v, path, odid):
    text = ii.read(path)
    log = ii.nfcapd_log(text)
    other = [ln for ln in log["other"] if not NFCAPD_NF.match(ln)]
    who = "nfcapd (%s)" % os.path.basename(path)
    v.check(not other, "%s: only its informational lines" % who, other)
    v.eq("%s: sequence errors, bad packets" % who, (log["seq"], log["bad"]), (0, 0))
    ex = re.findall(r"New v9 exporter: .*Domain: (\d+)", text)
    ex5 = re.findall(r"New exporter: .*engine id (\d+), type (\d+)", text)
    v.check([int(d) for d in ex] == [odid] or
            [(int(t), int(i)) for i, t in ex5] == [(odid >> 8 & 255, odid & 255)],
            "%s: one exporter, of the observation domain" % who, ex + ex5)


def main():
    p = argparse.ArgumentParser(prog="netflow_check.py")
    for n in ("truth", "ref", "ref-err", "nfdump9", "nfdump5", "nfcapd-logs", "nfacctd",
              "nfacctd-log", "tshark", "ports", "agent-err"):
        p.add_argument("--" + n, required=True)
    p.add_argument("--odid", type=int, required=True)
    p.add_argument("--ifindex", type=int, required=True)
    p.add_argument("--ifname", required=True)
    a = p.parse_args()
    v = ii.Verdicts()

    v.eq("ipfixDump: stderr", ii.read(a.ref_err).strip(), "")
    _, ref, _ = ii.ipfixdump(ii.read(a.ref))
    want9 = uniflows(ref)
    want5 = [u for u in want9 if u["ipv"] == 4]
    v.check(len(want5) and len(want9) > len(want5),
            "reference: %d unidirectional records, %d of them IPv4" % (len(want9), len(want5)))
    truth = truth_records(a.truth)
    check_truth(v, "reference", want9, truth)

    err = ii.read(a.agent_err)
    exits = [ln for ln in err.splitlines() if ln.startswith("bpfix exit: ")]
    v.check(len(exits) == 1, "the agent's exit line")
    w = exits[0].replace("|", " ").split() if exits else []
    count = {n: int(w[w.index(n) + 1]) for n in ("packets", "records", "not-sent",
                                                 "unsupported") if n in w}
    no5 = [r for r in ref if r["ipv"] != 4]
    v.eq("agent: records not fit for v5, counted as unsupported",
         count.get("unsupported"), len(no5))
    v.eq("agent: not sent: only them", count.get("not-sent"), len(no5))
    for why, has in (("IPv6", any(r["ipv"] == 6 for r in ref)),
                     ("non-IP", any(r["ipv"] == 0 for r in ref))):
        said = re.search(r"netflow5://.*: %s flows do not fit NetFlow v5: not sent, "
                         r"counted as unsupported" % why, err)
        v.check(has and said, "agent: says once that %s flows do not fit v5" % why)

    # nfdump
    fields9 = ("pkts", "octs", "flags", "in", "out", "dir", "tos", "vlan")
    fields5 = ("pkts", "octs", "flags", "in", "out", "tos")
    nf9 = [flat(r) for r in ii.nfdump_raw(ii.read(a.nfdump9))]
    nf5 = [flat(r) for r in ii.nfdump_raw(ii.read(a.nfdump5))]
    for r in nf9 + nf5:
        if r["ipv"] == 0:
            r["proto"] = 0
    check_truth(v, "nfdump v9", nf9, truth)
    check_truth(v, "nfdump v5", nf5, [t for t in truth if t["ipv"] == 4])
    v.eq("nfdump v9: interfaces, one of input/output the veth's",
         sorted({(r["in"], r["out"]) for r in nf9}), [(0, a.ifindex), (a.ifindex, 0)])
    match(v, "nfdump v9", nf9, want9, fields9, TIME_SLACK_MS)
    match(v, "nfdump v5", nf5, want5, fields5, TIME_SLACK_MS)
    v.eq("nfdump v9: packets = the agent's", sum(r["pkts"] for r in nf9), count.get("packets"))
    v.eq("nfdump v5: packets + unsupported ones = the agent's",
         sum(r["pkts"] for r in nf5) +
         sum(r["f"].get("pkts", 0) + r.get("r", {}).get("pkts", 0) for r in no5),
         count.get("packets"))
    for path in a.nfcapd_logs.split(","):
        check_nfcapd_log(v, path, a.odid)

    # nfacctd: no non-IP flows; it sums what shares its aggregation key
    # (an ICMPv6 echo reply and a neighbour advertisement: no ICMP type)
    def agg(recs):
        s = collections.Counter()
        for r in recs:
            if r["ipv"]:
                k = (r["ipv"], r["proto"], r["src"], r["dst"], r["sport"], r["dport"],
                     r["in"], r["out"])
                s[k + ("pkts",)] += r["pkts"]
                s[k + ("octs",)] += r["octs"]
        return dict(s)
    pm = [flat(r) for r in ii.pmacct_csv(ii.read(a.nfacctd))]
    v.eq("nfacctd: packets and octets per key, both directions", agg(pm), agg(want9))
    bad = [ln for ln in ii.read(a.nfacctd_log).splitlines()
           if ln.strip() and not ii.NFACCTD_INFO.match(ln)]
    v.check(not bad, "nfacctd's log: no warning, no error, no sequence complaint", bad)

    # tshark
    streams, bad = tshark_nf(ii.read(a.tshark))
    v.check(not bad, "tshark: no malformed packet, no expert info", bad[:10])
    p9, p5, ppm = (int(x) for x in a.ports.split(","))
    for port, who in ((p9, "tshark v9 (nfcapd's)"), (ppm, "tshark v9 (nfacctd's)")):
        pk = streams.get(port, [])
        check_tshark_v9(v, who, pk, a.odid)
        check_tshark_v9_options(v, who, pk, a.odid, a.ifindex, a.ifname,
                                count.get("records"))
        recs = [r for p in pk for r in p["flows"]]
        check_truth(v, who, recs, truth)
        match(v, who, recs, want9, fields9 + ("minttl", "maxttl", "minlen", "maxlen"),
              TIME_SLACK_MS)
    pk = streams.get(p5, [])
    check_tshark_v5(v, "tshark v5", pk, a.odid)
    recs = [r for p in pk for r in p["flows"]]
    check_truth(v, "tshark v5", recs, [t for t in truth if t["ipv"] == 4])
    # v5 says nanoseconds: the times are the reference's to the ms
    match(v, "tshark v5", recs, want5, fields5, 1)
    return v.fails


if __name__ == "__main__":
    sys.exit(min(main(), 100))
