/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's flow table: where drained deltas accumulate until a flow's
 * record is due (idle, active, end detected, lack of resources, forced).
 * In biflow mode the two directions of a conversation share an entry; the
 * initiator is chosen by flow_initiator() (initiator.h) when the first
 * record is made.
 */
#ifndef BPFIX_FLOWTAB_H
#define BPFIX_FLOWTAB_H

#include <stdint.h>
#include "flow.h"
#include "initiator.h"

/* ---- pure helpers (unit-tested) ----------------------------------------- */

/* Merge the per-CPU slots of one drained flow into @out (which is zeroed
 * first): sum the counters, min of first time and minima, max of last time
 * and maxima, OR of flags; tos and flow label from the earliest slot. */
void flow_merge_percpu(const struct flow_counters *percpu, int ncpus, int64_t offset_ns,
		       struct flow_side *out);
/* Add @d (a later delta of the same direction) to @acc. */
void flow_side_add(struct flow_side *acc, const struct flow_side *d);

/* flow_key_reverse: flow.h */

/* ---- the table ---------------------------------------------------------- */

/* struct flowtab_entry: include/bpfix.h (the entries are the pinned map
 * "flows"). */

typedef void (*flow_emit_fn)(void *ctx, const struct flow_record *r);

struct journal;

struct flowtab_stats {
	uint64_t records;		/* records emitted */
	uint64_t held_resolved;		/* held fragments moved to their datagram's flow */
	uint64_t held_unmatched;	/* ... exported unresolved (ports 0, FRAG_UNMATCHED) */
};

/* flowtab_prefetch() runs this many flows ahead of flowtab_add(): the
 * bucket first, its entry half as many flows later. */
#define FLOWTAB_PREFETCH 16

struct flowtab {
	struct flowtab_entry *e;
	int e_external;			/* e is the journal's (journal.h), not ours */
	struct journal *jr;		/* logs the table's own changes of counts
					 * (EMIT, MOVE), or NULL */
	uint32_t capacity;
	uint32_t used;
	uint32_t held;			/* entries of held keys (bpfix.h, FRAGMENTS IN ANY ORDER) */
	uint32_t scan_end;		/* no entry at or above was ever used: scans stop
					 * here (the free list hands out low indexes first) */
	uint32_t *bucket;		/* index + 1 */
	uint32_t nbuckets;		/* power of two */
	uint32_t *free_list;		/* stack of free indexes */
	uint32_t nfree;
	int biflow;
	int pair_ifindex;		/* TC: pair directions on the same interface only */
	uint64_t idle_ms, active_ms, end_grace_ms;
	uint32_t high_water, low_water;	/* lack-of-resources expiry */
	const struct listen_ports *lp;
	int community_id;		/* 1: give each record its Community ID (an output shows it) */
	uint16_t community_id_seed;	/* --community-id-seed */
	uint32_t pf_bucket[FLOWTAB_PREFETCH];	/* flowtab_prefetch()'s ring */
	uint32_t pf_n;
	flow_emit_fn emit;
	void *emit_ctx;
	struct flowtab_stats stats;
};

/* Grace after FIN both ways or RST, so the last ACK lands in the record. */
#define END_GRACE_MS 2000

int flowtab_init(struct flowtab *t, uint32_t capacity, int biflow, int pair_ifindex,
		 uint64_t idle_ms, uint64_t active_ms, flow_emit_fn emit, void *ctx);
void flowtab_free(struct flowtab *t);
/* Use @entries (capacity of them, as an earlier agent left them, or zero)
 * instead of the table's own, and log the table's own changes of them in
 * @jr (whose entries they are: journal.h names an entry by its index), or
 * NULL: the hash chains, the free list and the counts are rebuilt from the
 * entries in use. */
void flowtab_adopt(struct flowtab *t, struct flowtab_entry *entries, struct journal *jr);

/* Add one drained delta for @key. Never loses it: a full table first
 * expires its oldest flows (lack of resources). Ends are decided at expiry,
 * with the sweep's time. The change of the one entry it lands in is not
 * logged: a caller that logs it (a staged flow's fold, journal.h, APPLY)
 * adds in the two steps below. */
void flowtab_add(struct flowtab *t, const struct flow_key *key, const struct flow_side *d);
/*
 * flowtab_add() in two steps, with the caller's log between them:
 * flowtab_locate() finds the one entry the add changes, or the free entry a
 * new flow takes, and makes room first (the records of an ended TCP
 * connection a new SYN reopens, and of lack of resources, each its own
 * logged operation, EMIT); it changes no count of that entry. Returns 0
 * when @d holds no packets: nothing to add. flowtab_add_at() then changes
 * entry at->entry, with nothing done to the table in between.
 */
struct flowtab_at {
	uint32_t entry;			/* index of the entry flowtab_add_at() changes */
	/* flowtab.c's */
	int create;			/* a free entry: the flow is new */
	int side;
	uint32_t hash;
	struct flow_key canon;
};
int flowtab_locate(struct flowtab *t, const struct flow_key *key, const struct flow_side *d,
		   struct flowtab_at *at);
void flowtab_add_at(struct flowtab *t, const struct flowtab_at *at, const struct flow_key *key,
		    const struct flow_side *d);
/* Warm the cache for a flowtab_add(@key) FLOWTAB_PREFETCH calls later: a
 * sweep's flows land in random buckets and entries of a table larger than
 * the cache, and a miss costs as much as the rest of the add. */
void flowtab_prefetch(struct flowtab *t, const struct flow_key *key);
/*
 * Held keys (include/bpfix.h, FRAGMENTS IN ANY ORDER) have entries of their
 * own: never paired, never cut by the active timeout; one still held at its
 * idle timeout (or at lack of resources, or a flush) is exported with ports
 * 0 and FLOW_F_FRAG_UNMATCHED. flowtab_resolve_held() asks @find for each
 * held entry's datagram (its frag_key) and, when it is found (0 and the
 * first fragment's ports in @out), moves the entry's counts into the
 * datagram's flow, one logged operation (journal.h, MOVE) each. Returns how
 * many moved. A move that needs a new entry in a full table waits for a
 * later sweep.
 */
typedef int (*frag_find_fn)(void *ctx, const struct frag_key *fk, struct frag_ports *out);
uint32_t flowtab_resolve_held(struct flowtab *t, frag_find_fn find, void *ctx);
/* Emit every record that is due at @now_ms; returns how many. */
uint32_t flowtab_expire(struct flowtab *t, uint64_t now_ms);
/* Emit everything with @reason (FLOW_END_FORCED at shutdown). */
uint32_t flowtab_flush(struct flowtab *t, uint8_t reason);
/* Emit with @reason every flow either side of which is on one of the @n
 * interfaces @ifindex (they went away: FLOW_END_FORCED); returns how many. */
uint32_t flowtab_flush_ifaces(struct flowtab *t, const uint32_t *ifindex, uint32_t n,
			      uint8_t reason);

#endif /* BPFIX_FLOWTAB_H */
