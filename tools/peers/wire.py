#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Count the IPFIX records a meter put on the wire to its collector.

    wire.py PCAP

PCAP is a classic pcap (dumpcap -P) of the export on the loopback, taken
before the datagrams reach the collector's socket, so that what the meter
sent and what the collector kept can be told apart whatever the meter
itself reports. Each UDP payload is read as one IPFIX message (RFC 7011):
templates and options templates are learnt per observation domain, and the
records of each data set are counted by their template, flow records apart
from options records. RFC 7011's sequence number is the count of data
records sent before the message; softflowd 1.1.0 counts the message's own
flow records too, and no options records. Both readings are checked, with
and without options records, and the one the export keeps best is
reported (sequence_numbering) with the messages that break it
(sequence_breaks): a capture that lost datagrams breaks every reading.
span_seconds is the time from the first datagram to the last.
Prints one JSON object.
"""

import json
import struct
import sys

VARLEN = 65535


def datagrams(path, times=None):
    """UDP payloads of an Ethernet (or Linux cooked) IPv4/IPv6 pcap; the
    capture time of each (seconds) is appended to times if given."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
        else:
            sys.exit("wire: %s: not a classic pcap (dumpcap -P)" % path)
        link = struct.unpack(end + "I", head[20:24])[0]
        l2 = {1: 14, 113: 16}.get(link)
        if l2 is None:
            sys.exit("wire: %s: link type %d not handled" % (path, link))
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl = struct.unpack(end + "III", rec[:12])
            frame = f.read(incl)
            ip = frame[l2:]
            if not ip:
                continue
            ver = ip[0] >> 4
            if ver == 4 and ip[9] == 17:
                udp = ip[(ip[0] & 15) * 4:]
            elif ver == 6 and ip[6] == 17:
                udp = ip[40:]
            else:
                continue
            if times is not None:
                times.append(sec + frac / (1e9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e6))
            yield udp[8:]


def template_fields(body, off, count):
    """(offset after the fields, [field lengths])"""
    lens = []
    for _ in range(count):
        ftype, flen = struct.unpack("!HH", body[off:off + 4])
        off += 4
        if ftype & 0x8000:
            off += 4  # enterprise number
        lens.append(flen)
    return off, lens


def record_len(body, off, lens):
    """Length of the record at off, or None when it does not fit."""
    start = off
    for n in lens:
        if n == VARLEN:
            if off >= len(body):
                return None
            n = body[off]
            off += 1
            if n == 255:
                if off + 2 > len(body):
                    return None
                n = struct.unpack("!H", body[off:off + 2])[0]
                off += 2
        off += n
        if off > len(body):
            return None
    return off - start


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().split("\n\n")[1])
    templates = {}  # (odid, template id) -> (is options, [field lengths])
    # (records before the message?, options records counted?) -> breaks
    readings = {(b, o): 0 for b in (True, False) for o in (True, False)}
    last = {}  # odid -> (sequence number, flow records, options records)
    out = dict(messages=0, not_ipfix=0, flow_records=0, options_records=0,
               unknown_template_sets=0)
    times = []
    for msg in datagrams(sys.argv[1], times):
        if len(msg) < 16 or struct.unpack("!H", msg[:2])[0] != 10:
            out["not_ipfix"] += 1
            continue
        out["messages"] += 1
        length, _, seq, odid = struct.unpack("!HIII", msg[2:16])
        msg = msg[:length]
        flows = opts = 0
        off = 16
        while off + 4 <= len(msg):
            sid, slen = struct.unpack("!HH", msg[off:off + 4])
            if slen < 4:
                break
            body, off = msg[off + 4:off + slen], off + slen
            p = 0
            if sid in (2, 3):
                hdr = 4 if sid == 2 else 6
                while p + hdr <= len(body):
                    tid, cnt = struct.unpack("!HH", body[p:p + 4])
                    if tid < 256:  # padding
                        break
                    p, lens = template_fields(body, p + hdr, cnt)
                    templates[(odid, tid)] = (sid == 3, lens)
            elif sid >= 256:
                t = templates.get((odid, sid))
                if t is None:
                    out["unknown_template_sets"] += 1
                    continue
                while p < len(body):
                    n = record_len(body, p, t[1])
                    if not n:  # what is left is padding
                        break
                    p += n
                    if t[0]:
                        opts += 1
                    else:
                        flows += 1
        out["flow_records"] += flows
        out["options_records"] += opts
        if odid in last:
            pseq, pflows, popts = last[odid]
            for before, with_opts in readings:
                n = (pflows + popts * with_opts) if before else (flows + opts * with_opts)
                readings[(before, with_opts)] += seq != (pseq + n) & 0xFFFFFFFF
        last[odid] = (seq, flows, opts)
    # How the export was spread in time: a paced exporter over its run, a
    # burst at the end in a few milliseconds.
    out["span_seconds"] = round(times[-1] - times[0], 6) if times else 0
    (before, with_opts), out["sequence_breaks"] = min(
        readings.items(), key=lambda kv: (kv[1], not kv[0][0], not kv[0][1]))
    out["sequence_numbering"] = "%s, options records %s" % (
        "records before the message (RFC 7011)" if before else "the message's own records included",
        "counted" if with_opts else "not counted")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
