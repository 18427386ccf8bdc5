/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Metrics and health over HTTP (--metrics ADDR:PORT): /metrics in the
 * Prometheus text exposition format 0.0.4, /healthz and /readyz.
 *
 * Threads and who owns what:
 *   main thread  the agent (struct agent and everything it holds: meter,
 *                tables, journal, outputs) and the staging snapshot it fills
 *                with agent_snapshot() after each sweep. It hands that to
 *                metrics_publish(), which copies it under metrics.lock.
 *   HTTP thread  libmicrohttpd's one internal polling thread: every
 *                connection, request and response. It copies the published
 *                snapshot under metrics.lock into a snapshot of its own and
 *                formats from that, so it never sees a sweep half done and
 *                the main thread waits at most for one copy (tens of KiB),
 *                never for a client.
 *   shared       metrics.published (under metrics.lock); the liveness
 *                deadline and the ready state (C11 atomics, written by main,
 *                read by HTTP); everything else in struct metrics is set
 *                before the HTTP thread starts and only read after.
 */
#ifndef BPFIX_METRICS_H
#define BPFIX_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "output.h"

/* Upper bounds of the sweep duration histogram's buckets, in µs (1 ms to
 * 10 s; a sweep of a few thousand flows takes about a millisecond, a full
 * 16M-flow table seconds). */
#define METRICS_SWEEP_BOUNDS_US \
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, \
	1000000, 2500000, 5000000, 10000000
#define METRICS_SWEEP_BUCKETS 13	/* bounds above; one more bucket for +Inf */

/* Interfaces whose records are counted apart: the ones metered now (a
 * slot goes with its interface when it is let go), and those an earlier
 * run's adopted flows name; past that, one slot (ifindex 0) for the rest. */
#define METRICS_IFACES 1024

/* The bucket of a sweep that took @ns: 0..METRICS_SWEEP_BUCKETS (+Inf). */
static inline int metrics_sweep_bucket(uint64_t ns)
{
	static const uint64_t bound_us[METRICS_SWEEP_BUCKETS] = { METRICS_SWEEP_BOUNDS_US };
	int i;

	for (i = 0; i < METRICS_SWEEP_BUCKETS; i++)
		if (ns <= bound_us[i] * 1000)
			break;
	return i;
}

/* Packets and octets of the records emitted for one interface (the kernel
 * has no per-interface counter: the agent sums its records). */
struct metrics_iface {
	uint32_t ifindex;
	char name[IF_NAMESIZE];		/* "" when the interface is gone */
	uint64_t packets;
	uint64_t octets;
};

struct metrics_output {
	char name[sizeof(((struct output *)0)->name)];	/* collector URI, or "stdout" */
	struct output_stats st;
	uint64_t unsupported;		/* struct output's records_unsupported */
};

/* What one sweep left: every figure /metrics shows. Counters count since
 * the agent started. */
struct metrics_snapshot {
	uint64_t now_ms;			/* wall clock of the sweep */
	struct meter_totals totals;		/* what -v prints, and the IPFIX options */
	struct bpfix_stats kernel;		/* kernel stats since the agent started */
	uint64_t drained_flows;
	uint64_t adopted_flows, adopted_packets;
	uint64_t orphan_records, orphan_packets;	/* struct agent's */
	uint64_t lru_flows, lru_packets, lru_octets;	/* evicted by the kernel's LRU */
	uint32_t table_used, table_capacity;	/* the agent's flow table */
	uint32_t kernel_table_entries;		/* each kernel flow table's capacity */
	uint64_t kernel_table_drained;		/* flows in the table the last sweep drained */
	uint64_t sweeps;
	uint64_t sweep_ns_last, sweep_ns_max, sweep_ns_total;
	uint64_t sweep_hist[METRICS_SWEEP_BUCKETS + 1];	/* per bucket, not cumulative */
	struct metrics_output out[MAX_COLLECTORS + 1];
	int n_out;
	struct metrics_iface ifc[METRICS_IFACES];
	int n_ifc;
	/* interfaces followed (links.h) */
	uint32_t ifaces_metered;		/* attached now */
	uint64_t ifaces_attached, ifaces_let_go, attach_failures;
	uint64_t xdp_detached;			/* our XDP program gone from an interface */
	uint64_t netlink_resyncs, netlink_malformed;
	struct memory_budget mem;		/* what --memory bought (budget.h) */
};

struct metrics;

/* Bind and listen on cfg->metrics_sa (before anything is attached, so a
 * port in use fails first). NULL with one line in @err on failure; NULL
 * and no error when --metrics was not given. */
struct metrics *metrics_open(const struct bpfix_config *cfg, char *err, size_t errlen);
/* Start the HTTP thread. Call it once privileges are dropped (capabilities
 * are per thread: a thread made before privs_drop keeps them all); it
 * blocks the stop signals, which are the main thread's to take. */
int metrics_start(struct metrics *m, char *err, size_t errlen);
/* Main thread, after a sweep: copy @s for the HTTP thread. */
void metrics_publish(struct metrics *m, const struct metrics_snapshot *s);
/* Main thread: the loop is alive now (/healthz stays 200 for three sweep
 * intervals, at least a second); the first sweep is done (/readyz 200);
 * shutdown began (/readyz 503, /healthz 200 for --shutdown-timeout more). */
void metrics_alive(struct metrics *m);
void metrics_ready(struct metrics *m);
void metrics_stopping(struct metrics *m);
/* Stop the HTTP thread, close the socket, free. */
void metrics_close(struct metrics *m);
/* Every function above does nothing with m == NULL. */

/* The exposition of @s (Prometheus text format 0.0.4) on @f. */
void metrics_format(FILE *f, const struct metrics_snapshot *s);

#endif /* BPFIX_METRICS_H */
