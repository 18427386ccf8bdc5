/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What an exporting process, IPFIX (ipfix_export.c) or NetFlow v9
 * (netflow_export.c), knows of itself for the statistics its options
 * records report: one account per output, moved by the same few functions
 * (exporter.c), so both formats count alike.
 */
#ifndef BPFIX_EXPORTER_H
#define BPFIX_EXPORTER_H

#include <stdint.h>
#include "ipfix.h"
#include "output.h"

struct exporter_acct {
	uint32_t odid;			/* observation domain (v9: source id) */
	uint32_t exporter_id;		/* exportingProcessId: 1, 2, ... in open order */
	struct meter_totals totals;	/* as of the last tick */
	int have_totals;
	uint64_t octets_sent;		/* exportedOctetTotalCount */
	uint64_t open_wall_ms;
	uint64_t first_drop_ms, last_drop_ms;
};

/* A new exporting process of domain @odid, opened now: the next id. */
void exporter_acct_init(struct exporter_acct *a, uint32_t odid);
void exporter_take_totals(struct exporter_acct *a, const struct meter_totals *t);
/* @flows records holding @packets and @octets will not be sent. */
void exporter_count_drop(struct exporter_acct *a, struct output_stats *s, uint64_t flows,
			 uint64_t packets, uint64_t octets);
/* A message of @flows records went out whole, @len octets. */
void exporter_count_sent(struct exporter_acct *a, struct output_stats *s, uint64_t flows,
			 uint64_t packets, uint64_t octets, size_t len);
/* The interface table (@n of @cap in *@ifaces, grown as needed): @ifindex
 * named @name now, or gone (@name NULL), as the agent says it
 * (output_ops.iface): never a name looked up by number, which may be
 * another interface's by then. Returns 1 if the table changed (its
 * options record is due again). */
int exporter_set_iface(struct iface **ifaces, int *n, int *cap, uint32_t ifindex,
		       const char *name);
void exporter_fill_stats(const struct exporter_acct *a, const struct output_stats *os,
			 struct ipfix_stats *s);

#endif /* BPFIX_EXPORTER_H */
