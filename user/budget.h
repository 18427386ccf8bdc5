/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * --memory: the flows a memory budget holds on this machine.
 *
 * What the budget covers is what a flow's capacity costs from the start,
 * whether or not a flow ever comes: both kernel flow tables (LRU per-CPU
 * hashes, preallocated), the fragment table, the other maps (stats,
 * epoch, flow_tables), the journal (the agent's flow table and the drain's
 * staging, a pinned BPF array) and the agent's index over it (hash buckets
 * and free list, on the heap). The kernel figures are what the kernel
 * charges each map (its map_mem_usage: bpftool's bytes_memlock). Not in
 * it: the export queues (--udp-queue, --tcp-queue, stdout's), address
 * space touched only as deep as a backlog gets, sized by their own options
 * (docs/reference.md, "Memory").
 *
 * The kernel tables and the agent's table are both --flows entries: a
 * kernel table holds every flow that had a packet in one sweep interval,
 * which for long-lived flows is nearly all the live ones, and a kernel
 * table too small loses flows (LRU eviction, counted) where an agent table
 * too small only exports early (lack of resources).
 */
#ifndef BPFIX_BUDGET_H
#define BPFIX_BUDGET_H

#include <stdint.h>
#include <stdio.h>

#define BUDGET_DEFAULT_BYTES (64ull << 20)	/* docs/reference.md "Memory": why 64 MiB */
#define BUDGET_MIN_FLOWS     1024u		/* --flows' minimum */
#define BUDGET_MAX_FLOWS     (1u << 24)		/* --flows' maximum */
#define FRAG_PER_FLOWS       8			/* fragment entries: --flows / 8 ... */
#define FRAG_MIN_ENTRIES     1024u		/* ... and never fewer */

/* The derived capacities and what each part costs, in bytes. */
struct memory_budget {
	uint64_t budget;		/* --memory, or the default's bytes */
	int given;			/* --memory was given */
	int flows_given;		/* --flows alone: the budget is what it costs */
	uint32_t ncpus;			/* possible CPUs */
	uint32_t kernel_entries;	/* each of the FLOW_TABLES kernel tables */
	uint32_t agent_entries;		/* the agent's flow table (--flows) */
	uint32_t frag_entries;		/* frag_table */
	uint32_t batch;			/* flows per drain batch (journal staging) */
	uint64_t kernel_bytes;		/* both kernel flow tables */
	uint64_t frag_bytes;		/* frag_table */
	uint64_t maps_bytes;		/* stats, flow_epoch, flow_tables */
	uint64_t journal_bytes;		/* the journal map: entries, staging, header */
	uint64_t index_bytes;		/* agent heap: buckets and free list */
	uint64_t total_bytes;		/* the sum of the parts: <= budget */
};

/* Fragment table entries for @flows. */
uint32_t budget_frag_entries(uint32_t flows);

/* The parts of @flows flows on @ncpus possible CPUs into @b (budget and
 * given untouched). Returns b->total_bytes. */
uint64_t budget_cost(uint32_t flows, uint32_t ncpus, struct memory_budget *b);

/*
 * Size the tables for @memory bytes (0: the default, grown to hold
 * BUDGET_MIN_FLOWS where that needs more) on @ncpus possible CPUs. @flows
 * 0: as many flows as fit, at most BUDGET_MAX_FLOWS; otherwise exactly
 * @flows, which must fit unless @memory is 0 (--flows alone sizes the
 * tables as before, and @b says what they cost). Returns 0, or -EINVAL
 * with one line in @err (a usage error: too small for the minimum, or
 * @flows over @memory).
 */
int budget_derive(uint64_t memory, uint32_t flows, uint32_t ncpus, struct memory_budget *b,
		  char *err, size_t errlen);

struct bpfix_config;
/* budget_derive for @cfg (--memory, --flows) on @ncpus possible CPUs:
 * sets cfg->flows, cfg->mem and, unless --udp-queue was given, the UDP
 * queue that follows --flows. Returns 0, -EINVAL (usage) or, when @ncpus
 * is a negative errno (libbpf_num_possible_cpus failed), that, with @err. */
int budget_configure(struct bpfix_config *cfg, int ncpus, char *err, size_t errlen);

/* The one -v line: possible CPUs, entries and bytes of each part. */
void budget_print(FILE *f, const struct memory_budget *b);

#endif /* BPFIX_BUDGET_H */
