// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An exporting process's account (exporter.h): what IPFIX and NetFlow v9
 * outputs report of themselves in their statistics options records, moved
 * by these functions only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include "exporter.h"

static unsigned int exporter_ids;

void exporter_acct_init(struct exporter_acct *a, uint32_t odid)
{
	memset(a, 0, sizeof(*a));
	a->odid = odid;
	a->exporter_id = ++exporter_ids;
	a->open_wall_ms = clock_wall_ms();
}

void exporter_take_totals(struct exporter_acct *a, const struct meter_totals *t)
{
	if (!t)
		return;
	a->totals = *t;
	a->have_totals = 1;
}

void exporter_count_drop(struct exporter_acct *a, struct output_stats *s, uint64_t flows,
			 uint64_t packets, uint64_t octets)
{
	uint64_t now = clock_wall_ms();

	if (!flows)
		return;
	if (!s->records_not_sent)
		a->first_drop_ms = now;
	a->last_drop_ms = now;
	output_count_not_sent(s, flows, packets, octets);
}

void exporter_count_sent(struct exporter_acct *a, struct output_stats *s, uint64_t flows,
			 uint64_t packets, uint64_t octets, size_t len)
{
	s->messages++;
	output_count_sent(s, flows, packets, octets);
	a->octets_sent += len;
}

/* The interface table's names as they are now: a renamed interface
 * shows its new name (one lookup per interface per options burst). */
int exporter_set_iface(struct iface **ifaces, int *n, int *cap, uint32_t ifindex,
		       const char *name)
{
	int i;

	for (i = 0; i < *n && (*ifaces)[i].ifindex != ifindex; i++)
		;
	if (!name) {
		if (i == *n)
			return 0;
		(*ifaces)[i] = (*ifaces)[--*n];
		return 1;
	}
	if (i == *n) {
		if (*n == *cap) {
			int c = *cap ? *cap * 2 : 16;
			struct iface *t = realloc(*ifaces, sizeof(*t) * (size_t)c);

			if (!t)
				return 0;	/* not in the table: flows still carry the ifindex */
			*ifaces = t;
			*cap = c;
		}
		(*ifaces)[(*n)++].ifindex = ifindex;
	} else if (!strncmp((*ifaces)[i].name, name, IF_NAMESIZE - 1)) {
		return 0;
	}
	snprintf((*ifaces)[i].name, IF_NAMESIZE, "%s", name);
	return 1;
}

void exporter_fill_stats(const struct exporter_acct *a, const struct output_stats *os,
			 struct ipfix_stats *s)
{
	const struct meter_totals *t = &a->totals;

	memset(s, 0, sizeof(*s));
	s->observation_domain = a->odid;
	s->exporting_process = a->exporter_id;
	s->exported_messages = os->messages;
	s->exported_records = os->records_sent;
	s->exported_octets = a->octets_sent;
	s->observed_flows = t->flows_observed;
	s->ignored_packets = t->ignored_packets;
	s->ignored_octets = t->ignored_octets;
	s->lost_flows = t->flows_lost;
	/* The meter counts losses, not when they happened: the window they
	 * happened in is what its counters cover. */
	s->ignored_first_ms = t->since_ms;
	s->ignored_last_ms = t->now_ms;
	s->not_sent_flows = os->records_not_sent;
	s->not_sent_packets = os->packets_not_sent;
	s->not_sent_octets = os->octets_not_sent;
	if (os->records_not_sent) {
		/* what an earlier, killed agent never sent came before us */
		s->not_sent_first_ms = a->first_drop_ms ? a->first_drop_ms : a->open_wall_ms;
		s->not_sent_last_ms = a->last_drop_ms ? a->last_drop_ms : a->open_wall_ms;
	} else {
		/* nothing dropped: the window we know that for */
		s->not_sent_first_ms = a->open_wall_ms;
		s->not_sent_last_ms = t->now_ms > a->open_wall_ms ? t->now_ms : clock_wall_ms();
	}
}
