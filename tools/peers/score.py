#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Score what a meter exported against the ground truth of the mix.

    score.py TRUTH LOOPS NFDUMP_DIR DETAILS_FILE

TRUTH is mkpcap.py's mix.truth (one line per directional flow), LOOPS how
many times the pcap was replayed, NFDUMP_DIR what nfcapd stored. Records are
read with `nfdump -R DIR -o json` (the filler's flow, see mkpcap.py, left
out), keyed as the truth is (outer VLAN, IP
version, protocol, addresses, ports; ICMP type*256+code as destination
port) and summed per key: a meter may split a flow into several records
(timeouts, TCP end, the next loop's SYN), which is not an error here.

A flow is exact when its summed packets and octets both equal LOOPS times
the truth. Prints one JSON object (totals, exact/wrong/missing/extra
counts, a breakdown of the flows that are not exact by class;
stored_records counts every flow record nfcapd stored, the filler's
included, to set beside what the meter sent); the first
mismatches, with both values, go to DETAILS_FILE.
"""

import ipaddress
import json
import os
import subprocess
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkpcap import FILLER_SRC, read_truth  # noqa: E402


def records(nfdir):
    out = subprocess.run(["nfdump", "-R", nfdir, "-q", "-N", "-o", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode:
        sys.exit("score: nfdump -R %s failed: %s" % (nfdir, out.stderr.strip()))
    text = out.stdout.strip()
    if not text.startswith(("{", "[")):  # "No matching flows"
        return []
    if not text.startswith("["):
        text = "[" + text.rstrip(",") + "]"
    return json.loads(text)


def key_of(r):
    src = r.get("src4_addr") or r.get("src6_addr")
    dst = r.get("dst4_addr") or r.get("dst6_addr")
    if src is None or dst is None:
        return None
    ipv = 4 if "src4_addr" in r else 6
    proto = int(r.get("proto", 0))
    if proto in (1, 58):
        if "icmp_type" in r:
            sport, dport = 0, int(r["icmp_type"]) * 256 + int(r.get("icmp_code", 0))
        else:
            sport, dport = 0, int(r.get("dst_port", 0))
    else:
        sport, dport = int(r.get("src_port", 0)), int(r.get("dst_port", 0))
    return (int(r.get("src_vlan", 0)), ipv, proto, str(ipaddress.ip_address(src)),
            str(ipaddress.ip_address(dst)), sport, dport)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().split("\n\n")[1])
    truth = read_truth(sys.argv[1])
    loops = int(sys.argv[2])
    recs = records(sys.argv[3])
    got = defaultdict(lambda: [0, 0, 0])
    nrec = pk = oc = stored = 0
    for r in recs:
        if r.get("type") != "FLOW":
            continue
        stored += 1
        k = key_of(r)
        if k is None or k[3] == FILLER_SRC:
            continue
        p, o = int(r.get("in_packets", 0)), int(r.get("in_bytes", 0))
        g = got[k]
        g[0] += p
        g[1] += o
        g[2] += 1
        nrec += 1
        pk += p
        oc += o
    exact = wrong_pk = wrong_oc = missing = 0
    under = over = 0
    by_class = defaultdict(lambda: [0, 0])  # class -> [flows, not exact]
    bad = []
    for k, (tp, to, classes) in truth.items():
        ep, eo = tp * loops, to * loops
        g = got.get(k)
        ok = g is not None and g[0] == ep and g[1] == eo
        if not {"frag", "vlan", "twin"} & set(classes):
            classes = classes + ["plain"]
        for c in classes:
            by_class[c][0] += 1
            by_class[c][1] += not ok
        if ok:
            exact += 1
            continue
        if g is None:
            missing += 1
            bad.append((k, classes, ep, eo, None, None))
            continue
        wrong_pk += g[0] != ep
        wrong_oc += g[1] != eo
        under += g[0] < ep
        over += g[0] > ep
        bad.append((k, classes, ep, eo, g[0], g[1]))
    extra = [k for k in got if k not in truth]
    res = {
        "records": nrec, "packets": pk, "octets": oc, "stored_records": stored,
        "truth_flows": len(truth), "truth_packets": sum(t[0] for t in truth.values()) * loops,
        "truth_octets": sum(t[1] for t in truth.values()) * loops,
        "exact": exact, "not_exact": len(truth) - exact, "missing": missing,
        "wrong_packets": wrong_pk, "wrong_octets": wrong_oc,
        "packets_under": under, "packets_over": over,
        "extra_keys": len(extra), "extra_packets": sum(got[k][0] for k in extra),
        "extra_octets": sum(got[k][1] for k in extra),
        "not_exact_by_class": {c: "%d/%d" % (v[1], v[0]) for c, v in sorted(by_class.items())},
    }
    with open(sys.argv[4], "w") as f:
        f.write("# not exact (%d of %d flows): vlan ipv proto src dst sport dport classes"
                " | expected packets octets | got packets octets\n" % (len(bad), len(truth)))
        for b in sorted(bad, key=str):
            f.write("%s %s | %d %d | %s %s\n" % (" ".join(map(str, b[0])), ",".join(b[1]),
                                                  b[2], b[3], b[4], b[5]))
        f.write("# keys exported that are not in the truth (%d)\n" % len(extra))
        for k in sorted(extra, key=str):
            f.write("%s | got %d %d in %d records\n" % (" ".join(map(str, k)), *got[k]))
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
