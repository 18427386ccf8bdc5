#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Hold BPF run-time statistics on while this process lives.

    bpf_stats.py            prints "enabled", then waits for SIGTERM/SIGINT
                            (or for its parent to die)

BPF_ENABLE_STATS (BPF_STATS_RUN_TIME) does what `sysctl
kernel.bpf_stats_enabled=1` does (the kernel then keeps run_time_ns and
run_cnt per program, shown by `bpftool prog show`), but as a reference
held by a file descriptor: when this process exits, however it exits, the
count drops again, and a setting someone else made through the sysctl is
neither overridden nor reset. Statistics cost every BPF program on the host
two clock reads per run, so hold them only while measuring.
"""

import ctypes
import os
import signal
import sys
import time

SYS_bpf = 321  # x86_64
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(8)  # union bpf_attr { __u32 type; } enable_stats
    ctypes.c_uint32.from_buffer(attr).value = BPF_STATS_RUN_TIME
    fd = libc.syscall(SYS_bpf, BPF_ENABLE_STATS, attr, 8)
    if fd < 0:
        err = ctypes.get_errno()
        sys.exit("bpf_stats: BPF_ENABLE_STATS: %s" % os.strerror(err))
    parent = os.getppid()
    print("enabled", flush=True)
    try:
        while os.getppid() == parent:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    os.close(fd)


if __name__ == "__main__":
    main()
