/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `bpfix top`: a running agent's busiest flows, read from its pinned flow
 * table (include/bpfix.h, struct flowtab_entry; the map "flows") without
 * disturbing it: the map is mapped PROT_READ.
 */
#ifndef BPFIX_TOP_H
#define BPFIX_TOP_H

#include <stdint.h>
#include <stdio.h>
#include "bpfix.h"

enum top_sort {
	TOP_SORT_BYTES,
	TOP_SORT_PACKETS,
	TOP_SORT_RATE,
};

/* One flow of a screen: entry @idx of the table, both sides together. */
struct top_row {
	uint32_t idx;
	uint64_t bytes;			/* octets, as records count them */
	uint64_t packets;
	uint64_t rate;			/* octets a second over the last interval */
	uint64_t first_ms, last_ms;	/* since the flow's last record */
};

/* What the previous read saw of each entry, to make rates of. */
struct top_prev {
	uint32_t sig;			/* the entry's flow (0: unused) */
	uint64_t bytes;
	uint64_t packets;
};

/*
 * The rows of the @n entries in use in @e (@cap entries), against @prev
 * (cap of them, updated for the next call) read @dt_ms ago, sorted by
 * @sort, busiest first. An entry that holds another flow than at the
 * previous read, or fewer octets (its record went out in between), counts
 * whole in its rate. Returns the number of rows written to @rows (cap).
 */
uint32_t top_collect(const struct flowtab_entry *e, uint32_t cap, struct top_prev *prev,
		     uint64_t dt_ms, enum top_sort sort, struct top_row *rows);
void top_sort_rows(struct top_row *rows, uint32_t n, enum top_sort sort);

/* One line for @r (no newline): bytes, packets, rate, duration, interface,
 * protocol and the conversation, at most @width columns (0: no limit). */
void top_format_row(const struct top_row *r, const struct flowtab_entry *e, char *buf,
		    size_t len, unsigned int width);

/* `bpfix top ARGS...` (argv[0] is "top"): the exit status. */
int top_main(int argc, char **argv);

#endif /* BPFIX_TOP_H */
