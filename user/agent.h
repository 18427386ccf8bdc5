/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's loop: sweep (flip, drain, account), expire, hand records to
 * the outputs. */
#ifndef BPFIX_AGENT_H
#define BPFIX_AGENT_H

#include <signal.h>
#include "config.h"
#include "flowtab.h"
#include "journal.h"
#include "links.h"
#include "meter.h"
#include "metrics.h"
#include "output.h"

struct agent {
	const struct bpfix_config *cfg;
	const sigset_t *wait_mask;	/* agent_wait()'s, or NULL */
	struct meter meter;
	struct flowtab tab;
	struct journal jr;		/* the table and the drain's staging live here */
	struct listen_ports lp;
	uint64_t lp_loaded_ms;
	struct output *out[MAX_COLLECTORS + 1];
	struct output_stats *out_stats[MAX_COLLECTORS + 1];	/* outlive the outputs */
	const char *out_names[MAX_COLLECTORS + 1];	/* out[i]->name: the ledger's */
	uint64_t out_unsupported[MAX_COLLECTORS + 1];	/* out[i]'s, once closed */
	int n_out;

	/* Kernel counters of each table slot when it was last drained: the
	 * next drain must account for exactly what was added since. */
	uint64_t slot_flows[FLOW_TABLES];
	uint64_t slot_packets[FLOW_TABLES];
	uint64_t slot_octets[FLOW_TABLES];
	int slot_known[FLOW_TABLES];	/* 0: adopted, baseline unknown */

	/* The tunnels map by ref (include/bpfix.h, TUNNELS): read again when a
	 * record names a ref not read yet. TUNNEL_REF_MAX + 1 entries, made
	 * when the first tunnelled record comes. */
	struct tunnel_ends *tun_by_ref;

	struct bpfix_stats start;	/* kernel stats when the agent started */
	struct bpfix_stats last;	/* ... at the last sweep */
	struct meter_totals totals;

	/* what sweeps found */
	uint64_t sweeps;
	uint64_t drained_flows, drained_packets, drained_octets;
	uint64_t adopted_flows, adopted_packets;	/* from an earlier run's tables */
	/* an earlier agent handed them to outputs this one does not have,
	 * which never sent them (journal_new_ledger) */
	uint64_t orphan_records, orphan_packets;
	uint64_t lost_flows, lost_packets, lost_octets;	/* evicted in the kernel */
	uint64_t sweep_ns_last, sweep_ns_max, sweep_ns_total;
	uint64_t sweep_hist[METRICS_SWEEP_BUCKETS + 1];	/* sweeps by duration */
	uint64_t last_drained_flows;	/* in the kernel table the last sweep drained */
	/* records emitted, by interface (the kernel counts no interface) */
	struct metrics_iface ifc[METRICS_IFACES];
	int n_ifc;
	int64_t offset_ns;		/* boot -> wall, this sweep */
	uint64_t now_ms;
	int hurry;			/* new flows come fast enough to fill half a kernel
					 * table in one interval: sweep sooner */
	uint64_t flip_ns;		/* monotonic time of the last drain */
	struct frag_snapshot frags;	/* frag_table, read when held keys wait */

	/* FOLLOWING THE NODE: interfaces attached and let go as links come
	 * and go (agent_follow). One let go has its number here until the
	 * next sweep drained what the kernel counted for it and ended its
	 * flows (forced end): no interface is attached under that number
	 * before, so nothing of a new one lands in the old one's flows. */
	struct links links;
	uint32_t *gone;
	uint32_t n_gone, cap_gone;
	uint64_t ifaces_attached, ifaces_let_go, attach_failures, xdp_detached;
	int stopping;			/* agent_stop: only deletions are heeded */
};

/* What one drain read, and the agent it feeds. */
struct drain_ctx {
	struct agent *a;
	struct flowtab *tab;	/* a->tab, or a table an earlier journal's flows go through */
	uint64_t flows, packets, octets;
};

/* Fold @d, the delta of staged flow @staged (drain_fn's index, or
 * DRAIN_UNSTAGED: meter.h), into @t: one APPLY in t's journal (journal.h;
 * the journal @t was adopted with, whose staging the drain reads). */
void agent_fold(struct flowtab *t, uint32_t staged, const struct flow_key *key,
		const struct flow_side *d);
/* A drain_fn (meter.h) with a struct drain_ctx: merge one flow's per-CPU
 * slots and fold the delta into d->tab (agent_fold). */
void agent_drain_flow(void *ctx, uint32_t staged, const struct flow_key *key,
		      const struct flow_counters *percpu, int ncpus);

int agent_start(struct agent *a, const struct bpfix_config *cfg, char *err, size_t errlen);
/* One sweep: returns 0 or a negative errno (the agent carries on). */
int agent_sweep(struct agent *a);
/* The deadline (monotonic ms) of the sweep after the one due at
 * @deadline_ms: an interval later, a quarter of one while the agent hurries,
 * and never in the past (after a long sweep or a suspend: no burst). */
uint64_t agent_next_sweep_ms(const struct agent *a, uint64_t deadline_ms);
/* Let the outputs send what is due now (the UDP pacer). Returns when they
 * next want to run (monotonic ns), UINT64_MAX when nothing waits. */
uint64_t agent_pump(struct agent *a);
/* Wait until @deadline_ns (monotonic), a signal, or an output's reader
 * takes more (output_ops.wait_fd). With a->wait_mask set, the wait runs
 * under that signal mask: the caller blocks SIGINT and SIGTERM outside
 * it, so a signal that comes just before the wait is not slept through. */
void agent_wait(struct agent *a, uint64_t deadline_ns);
/* Read the link events waiting (agent_wait woke for them, or not: it
 * never blocks): a wanted interface that appears is attached, one that
 * goes away, is renamed out of the patterns or excluded is let go, and a
 * sweep runs at once if one was, to end its flows. ENOBUFS: a dump of
 * every link instead, counted as a resync. */
void agent_follow(struct agent *a);
/* Every output is gone (its reader went away): nothing left to meter for. */
int agent_outputs_gone(const struct agent *a);
/* Detach, drain everything, emit all as forced end, let the outputs
 * deliver it for up to --shutdown-timeout (cut short once *@abort is set:
 * a second signal), close them. Returns 0, or -EIO when an output was
 * still failing to write at the end (its records counted as not sent). */
int agent_stop(struct agent *a, const volatile int *abort);
void agent_print_counters(struct agent *a, FILE *f, const char *when);
/* Copy what the last sweep left into @s, for metrics_publish (main thread;
 * not after agent_stop). */
void agent_snapshot(const struct agent *a, struct metrics_snapshot *s);

#endif /* BPFIX_AGENT_H */
