/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's clocks: wall time for records, monotonic time for intervals
 * and deadlines, and the conversion of the kernel's timestamps.
 *
 * The kernel stamps packets with bpf_ktime_get_ns() and
 * bpf_ktime_get_coarse_ns(): the host's CLOCK_MONOTONIC, whatever time
 * namespace the agent runs in. An agent in a time namespace (unshare
 * --time, some container runtimes) reads a monotonic clock shifted by the
 * namespace's offset (/proc/self/timens_offsets), so that offset is taken
 * out before kernel times are converted.
 */
#ifndef BPFIX_CLOCK_H
#define BPFIX_CLOCK_H

#include <stdint.h>

/* CLOCK_REALTIME minus the host's CLOCK_MONOTONIC in ns, sampled now
 * (CLOCK_MONOTONIC stops during suspend: sampling at every sweep keeps the
 * error to packets of the interval before a suspend). */
int64_t clock_mono_offset_ns(void);
/* Kernel (host monotonic) ns -> wall-clock ms with @offset_ns. */
uint64_t clock_kernel_to_wall_ms(uint64_t kernel_ns, int64_t offset_ns);
/* Now, in ms since 1970 (CLOCK_REALTIME); and monotonic ns and ms in the
 * agent's own namespace, for intervals and deadlines. */
uint64_t clock_wall_ms(void);
uint64_t clock_wall_ns(void);
uint64_t clock_mono_ns(void);
uint64_t clock_mono_ms(void);
/* The time namespace's CLOCK_MONOTONIC offset in ns (0 outside one), as
 * read from @path ("monotonic SEC NSEC" lines); exposed for tests. */
int64_t clock_timens_offset_ns(const char *path);

#endif /* BPFIX_CLOCK_H */
