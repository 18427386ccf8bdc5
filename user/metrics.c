// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --metrics: the exposition (Prometheus text format 0.0.4) of the snapshot
 * the last sweep left. Served by metrics_http.c (libmicrohttpd, a thread of
 * its own; metrics.h says which thread owns what), or by nobody in a build
 * without it (metrics_none.c: the static build).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "errline.h"
#include "metrics.h"

/* ---- the exposition --------------------------------------------------------- */

/* @s with the escapes the text format asks for: backslash and newline in
 * HELP text, and the double quote too in a label value. */
static void put_escaped(FILE *f, const char *s, int label)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && label)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	put_escaped(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void put_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* name{key="value"} v */
static void put_labelled(FILE *f, const char *name, const char *key, const char *value,
			 uint64_t v)
{
	fprintf(f, "%s{%s=\"", name, key);
	put_escaped(f, value, 1);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

/* Seconds from ns, exactly: no float rounding in the text. */
static void put_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000),
		(unsigned long long)(ns % 1000000000));
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	put_u64(f, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	put_u64(f, name, v);
}

static void gauge_seconds(FILE *f, const char *name, const char *help, uint64_t ns)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	put_seconds(f, ns);
	fputc('\n', f);
}

/* What each output counts (struct output_stats), one family per field. */
static const struct {
	const char *name;
	const char *help;
	size_t off;
} out_fields[] = {
#define F(field, name, help) { name, help, offsetof(struct output_stats, field) }
	F(records, "bpfix_collector_records_total",
	  "Flow records the output accepted (label collector: its URI, or stdout)."),
	F(records_sent, "bpfix_collector_records_sent_total",
	  "Flow records written to the output's transport; summed over outputs, "
	  "-v's 'exported'."),
	F(packets_sent, "bpfix_collector_packets_sent_total",
	  "Packets in the records sent."),
	F(octets_sent, "bpfix_collector_bytes_sent_total",
	  "IP octets in the records sent."),
	F(records_not_sent, "bpfix_collector_records_not_sent_total",
	  "Flow records dropped (queue full, collector gone, shutdown timeout); "
	  "summed over outputs, -v's 'not-sent'."),
	F(packets_not_sent, "bpfix_collector_packets_not_sent_total",
	  "Packets in the records not sent."),
	F(octets_not_sent, "bpfix_collector_bytes_not_sent_total",
	  "IP octets in the records not sent."),
	F(messages, "bpfix_collector_messages_total",
	  "IPFIX messages (NetFlow export packets) sent."),
	F(errors, "bpfix_collector_errors_total", "Transport errors the output saw."),
#undef F
};

/* Kernel stats with a family of their own below; every other one is
 * bpfix_kernel_NAME_total, so a stat added to BPFIX_STATS shows up. */
static int kernel_stat_shown_apart(const char *name)
{
	static const char *const apart[] = {
		"packets", "octets", "l2_octets", "insert_failed", "insert_failed_packets",
		"insert_failed_octets", "not_metered_packets", "not_metered_octets",
	};
	size_t i;

	if (!strncmp(name, "malformed_", 10) || !strncmp(name, "table_", 6))
		return 1;
	for (i = 0; i < ARRAY_SIZE(apart); i++)
		if (!strcmp(name, apart[i]))
			return 1;
	return 0;
}

static void format_histogram(FILE *f, const struct metrics_snapshot *s)
{
	static const uint64_t bound_us[METRICS_SWEEP_BUCKETS] = { METRICS_SWEEP_BOUNDS_US };
	const char *name = "bpfix_sweep_duration_seconds";
	uint64_t cum = 0;
	int i;

	family(f, name, "histogram",
	       "Time one sweep took: flip, drain, account, expire, hand records to the outputs.");
	for (i = 0; i < METRICS_SWEEP_BUCKETS; i++) {
		cum += s->sweep_hist[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, bound_us[i] / 1e6,
			(unsigned long long)cum);
	}
	cum += s->sweep_hist[METRICS_SWEEP_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	fprintf(f, "%s_sum ", name);
	put_seconds(f, s->sweep_ns_total);
	fprintf(f, "\n%s_count %llu\n", name, (unsigned long long)s->sweeps);
}

void metrics_format(FILE *f, const struct metrics_snapshot *s)
{
	const struct meter_totals *t = &s->totals;
	const struct bpfix_stats *k = &s->kernel;
	size_t j;
	int i;

	family(f, "bpfix_build_info", "gauge",
	       "The agent's version and kernel/agent ABI (labels); always 1.");
	fprintf(f, "bpfix_build_info{version=\"");
	put_escaped(f, BPFIX_VERSION, 1);
	fprintf(f, "\",abi=\"%d\"} 1\n", BPFIX_ABI_VERSION);
	gauge(f, "bpfix_start_time_seconds",
	      "Wall clock (seconds since 1970) when the counters started: the agent's start.",
	      t->since_ms / 1000);
	gauge_seconds(f, "bpfix_last_sweep_timestamp_seconds",
		      "Wall clock (seconds since 1970) of the sweep these figures come from.",
		      s->now_ms * 1000000);

	counter(f, "bpfix_packets_total",
		"Wire packets the kernel programs saw (a GSO aggregate counts its segments).",
		t->packets_seen);
	counter(f, "bpfix_bytes_total",
		"IP octets (total length) of those packets; the L2 payload of non-IP frames.",
		t->octets_seen);
	counter(f, "bpfix_frame_bytes_total",
		"Frame octets of those packets, Ethernet header included.", k->l2_octets);
	counter(f, "bpfix_kernel_flows_total", "Flows created in the kernel's flow tables.",
		t->flows_observed);
	counter(f, "bpfix_drained_flows_total",
		"Flows the agent read out of the kernel's tables (a flow that lasts several "
		"sweeps counts at each).", s->drained_flows);
	counter(f, "bpfix_adopted_flows_total",
		"Flows taken over from an earlier run's pinned tables or journal.",
		s->adopted_flows);
	counter(f, "bpfix_adopted_packets_total", "Packets in the adopted flows.",
		s->adopted_packets);
	counter(f, "bpfix_records_total", "Flow records handed to the outputs.",
		t->records_emitted);
	counter(f, "bpfix_earlier_outputs_records_not_sent_total",
		"Records an earlier agent handed to outputs this agent does not have, "
		"never sent.", s->orphan_records);
	counter(f, "bpfix_earlier_outputs_packets_not_sent_total",
		"Packets in those records.", s->orphan_packets);

	for (j = 0; j < ARRAY_SIZE(out_fields); j++) {
		family(f, out_fields[j].name, "counter", out_fields[j].help);
		for (i = 0; i < s->n_out; i++)
			put_labelled(f, out_fields[j].name, "collector", s->out[i].name,
				     *(const uint64_t *)((const char *)&s->out[i].st +
							 out_fields[j].off));
	}
	family(f, "bpfix_collector_records_unsupported_total", "counter",
	       "Of the records not sent: those the output's format cannot carry "
	       "(IPv6 and non-IP flows into NetFlow v5).");
	for (i = 0; i < s->n_out; i++)
		put_labelled(f, "bpfix_collector_records_unsupported_total", "collector",
			     s->out[i].name, s->out[i].unsupported);

	for (j = 0; j < 2; j++) {
		const char *name = j ? "bpfix_interface_bytes_total" :
				       "bpfix_interface_packets_total";

		family(f, name, "counter", j ?
		       "IP octets in the records emitted for the interface, by the agent's "
		       "sum at emit time (the kernel keeps no per-interface counter)." :
		       "Packets in the records emitted for the interface, by the agent's "
		       "sum at emit time (the kernel keeps no per-interface counter).");
		for (i = 0; i < s->n_ifc; i++) {
			fprintf(f, "%s{interface=\"", name);
			put_escaped(f, s->ifc[i].name, 1);
			fprintf(f, "\",ifindex=\"%u\"} %llu\n", s->ifc[i].ifindex,
				(unsigned long long)(j ? s->ifc[i].octets : s->ifc[i].packets));
		}
	}

	gauge(f, "bpfix_interfaces", "Interfaces metered now (attached).", s->ifaces_metered);
	counter(f, "bpfix_interfaces_attached_total",
		"Interfaces attached: at start, and each that appeared or was renamed into "
		"the -i patterns since.", s->ifaces_attached);
	counter(f, "bpfix_interfaces_let_go_total",
		"Interfaces let go while running: deleted, or renamed out of the patterns "
		"(their flows ended with reason forced end).", s->ifaces_let_go);
	counter(f, "bpfix_interface_attach_failures_total",
		"Attempts to attach to a matching interface that failed (said on stderr).",
		s->attach_failures);
	counter(f, "bpfix_interface_program_lost_total",
		"Times bpfix's program was found gone from an interface it metered after an "
		"MTU change (attached again if the interface took it).", s->xdp_detached);
	counter(f, "bpfix_netlink_resyncs_total",
		"Link events the kernel dropped (ENOBUFS), each answered by a dump of every link.",
		s->netlink_resyncs);
	counter(f, "bpfix_netlink_malformed_total",
		"Link event messages or attributes out of bounds, skipped.", s->netlink_malformed);

	family(f, "bpfix_lost_flows_total", "counter",
	       "Flows in no record: evicted by the kernel's LRU before a sweep drained them "
	       "(lru_eviction), or never inserted (insert_failed).");
	put_labelled(f, "bpfix_lost_flows_total", "reason", "lru_eviction", s->lru_flows);
	put_labelled(f, "bpfix_lost_flows_total", "reason", "insert_failed", k->insert_failed);
	family(f, "bpfix_lost_packets_total", "counter",
	       "Packets seen but in no record: lru_eviction, insert_failed, and not_metered "
	       "(no flow could be keyed, no table installed); the sum is -v's 'lost packets'.");
	put_labelled(f, "bpfix_lost_packets_total", "reason", "lru_eviction", s->lru_packets);
	put_labelled(f, "bpfix_lost_packets_total", "reason", "insert_failed",
		     k->insert_failed_packets);
	put_labelled(f, "bpfix_lost_packets_total", "reason", "not_metered",
		     k->not_metered_packets);
	family(f, "bpfix_lost_bytes_total", "counter",
	       "IP octets of the lost packets, by the same reasons.");
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "lru_eviction", s->lru_octets);
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "insert_failed",
		     k->insert_failed_octets);
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "not_metered",
		     k->not_metered_octets);

	family(f, "bpfix_malformed_packets_total", "counter",
	       "Packets counted under a malformed reason (the kernel stat malformed_REASON); "
	       "all but reason eth are still metered, as L2 flows or with ports 0.");
#define X(name, doc) \
	if (!strncmp(#name, "malformed_", 10)) \
		put_labelled(f, "bpfix_malformed_packets_total", "reason", #name + 10, k->name);
	BPFIX_STATS(X)
#undef X

#define X(name, doc) \
	if (!kernel_stat_shown_apart(#name)) { \
		family(f, "bpfix_kernel_" #name "_total", "counter", "Kernel stat " #name ": " doc "."); \
		put_u64(f, "bpfix_kernel_" #name "_total", k->name); \
	}
	BPFIX_STATS(X)
#undef X

	gauge(f, "bpfix_agent_table_flows", "Flows the agent's flow table holds now.",
	      s->table_used);
	gauge(f, "bpfix_agent_table_capacity_flows",
	      "Flows the agent's flow table can hold (--flows).", s->table_capacity);
	gauge(f, "bpfix_kernel_table_capacity_flows",
	      "Flows each of the kernel's two flow tables can hold; a fuller one evicts (LRU).",
	      s->kernel_table_entries);
	gauge(f, "bpfix_memory_budget_bytes",
	      "What the kernel tables, fragment table and journal may take (--memory).",
	      s->mem.budget);
	family(f, "bpfix_memory_bytes", "gauge",
	       "What each part takes of the budget, for this machine's possible CPUs.");
	put_labelled(f, "bpfix_memory_bytes", "part", "kernel_tables", s->mem.kernel_bytes);
	put_labelled(f, "bpfix_memory_bytes", "part", "fragment_table", s->mem.frag_bytes);
	put_labelled(f, "bpfix_memory_bytes", "part", "other_maps", s->mem.maps_bytes);
	put_labelled(f, "bpfix_memory_bytes", "part", "journal", s->mem.journal_bytes);
	put_labelled(f, "bpfix_memory_bytes", "part", "agent_index", s->mem.index_bytes);
	gauge(f, "bpfix_possible_cpus", "Possible CPUs: a per-CPU value is paid this many times.",
	      s->mem.ncpus);
	gauge(f, "bpfix_fragment_table_capacity_entries",
	      "Datagrams whose first fragment's ports the kernel can remember.",
	      s->mem.frag_entries);
	gauge(f, "bpfix_kernel_table_drained_flows",
	      "Flows in the kernel table the last sweep drained: its occupancy at the flip.",
	      s->kernel_table_drained);

	format_histogram(f, s);
	gauge_seconds(f, "bpfix_sweep_last_duration_seconds", "Time the last sweep took.",
		      s->sweep_ns_last);
	gauge_seconds(f, "bpfix_sweep_max_duration_seconds",
		      "Time the longest sweep since the start took.", s->sweep_ns_max);
}
