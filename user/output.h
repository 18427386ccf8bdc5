/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outputs: where flow records go. One interface for the stdout printers
 * (text, JSON lines), the IPFIX exporting processes (UDP, TCP, file) and
 * the NetFlow v9 and v5 ones (UDP);
 * the agent holds a list of them and hands each record to all.
 */
#ifndef BPFIX_OUTPUT_H
#define BPFIX_OUTPUT_H

#include <stdio.h>
#include "flow.h"
#include "config.h"

struct output;

/*
 * What the agent knows of the metering process as a whole, handed to the
 * outputs on each tick (IPFIX options records report it).
 */
struct meter_totals {
	uint64_t since_ms;		/* wall clock when these counters started */
	uint64_t now_ms;		/* wall clock of this report */
	uint64_t packets_seen;		/* kernel: wire packets seen */
	uint64_t octets_seen;
	uint64_t flows_observed;	/* flows created in the kernel tables */
	uint64_t ignored_packets;	/* seen but in no record (table full, not keyed) */
	uint64_t ignored_octets;
	uint64_t flows_lost;		/* flows the kernel LRU evicted before a drain */
	uint64_t malformed_packets;	/* metered, but counted under a malformed reason */
	uint64_t duplicate_packets;	/* --dedup: seen again on another interface, not metered again */
	uint64_t records_emitted;	/* records handed to the outputs */
};

struct output_ops {
	/* One record; must not block on the network (queue or count it). */
	int  (*record)(struct output *o, const struct flow_record *r);
	/* Once per sweep, after its records: flush, refresh templates,
	 * send options records, reconnect. */
	int  (*tick)(struct output *o, const struct meter_totals *t);
	/* Between sweeps (may be NULL): send what is due at @now_ns
	 * (monotonic). Returns when to be called again, UINT64_MAX when
	 * nothing waits. */
	uint64_t (*pump)(struct output *o, uint64_t now_ns);
	/* May be NULL: a descriptor whose POLLOUT should wake the loop
	 * (lines wait for a reader that was behind), or -1. */
	int (*wait_fd)(struct output *o);
	/* Shutdown: send what is pending (bounded wait), release. */
	void (*close)(struct output *o, const struct meter_totals *t);
	/* May be NULL: interface @ifindex is called @name from now on (it
	 * was attached, or renamed), or, @name NULL, is gone and its last
	 * records were handed: its number may name another interface next
	 * (links.h), and no lookup by number may give old records the new
	 * one's name or the other way round. */
	void (*iface)(struct output *o, uint32_t ifindex, const char *name);
};

/* What every output counts; the agent prints them with -v. */
struct output_stats {
	uint64_t records;		/* records accepted */
	uint64_t records_sent;		/* records written to the transport */
	uint64_t packets_sent;		/* ... and the packets and octets they hold */
	uint64_t octets_sent;
	uint64_t records_not_sent;	/* dropped (queue full, collector gone) */
	uint64_t packets_not_sent;
	uint64_t octets_not_sent;
	uint64_t messages;		/* IPFIX messages (NetFlow export packets) sent */
	uint64_t errors;		/* transport errors seen */
};

struct output {
	const struct output_ops *ops;
	char name[PATH_MAX + 16];	/* "stdout", the collector URI */
	/* Where it counts: its own, or the agent's journal (journal.h), so
	 * that a restarted agent learns what a killed one never sent. */
	struct output_stats *stats;
	struct output_stats own;
	/* of stats->records_not_sent: those the format cannot carry (IPv6,
	 * non-IP into NetFlow v5); not in output_stats, whose layout the
	 * journal keeps (journal.h) */
	uint64_t records_unsupported;
	int gone;			/* nobody reads it any more (EPIPE): agent_outputs_gone() */
	int failing;			/* its last write failed: exit status 1 */
	int write_error;		/* the errno last said on stderr */
};

/* @records flow records holding @packets and @octets went out to the
 * transport, or will not (dropped, or never written): the one place an
 * output's sent and not-sent counts move. */
void output_count_sent(struct output_stats *s, uint64_t records, uint64_t packets,
		       uint64_t octets);
void output_count_not_sent(struct output_stats *s, uint64_t records, uint64_t packets,
			   uint64_t octets);
/* A write failed with @err: EPIPE makes the output gone, anything else
 * failing; said on stderr once per change. */
void output_write_failed(struct output *o, int err);
/* A write worked: "works again" if it was failing. */
void output_write_ok(struct output *o);

/* getaddrinfo for a collector's host and port, or one line in @err (a
 * name that does not resolve, a link-local address without its
 * interface). */
struct addrinfo;
int output_resolve(const struct collector *c, int socktype, struct addrinfo **res,
		   char *err, size_t errlen);

/* stdout: one readable line per record, or one JSON object per line. */
struct output *output_text_open(FILE *f, enum out_format format, char *err, size_t errlen);

/* IPFIX exporting process to one collector (user/ipfix_export.c).
 * Returns NULL with one line in @err when the collector cannot be used at
 * all (unresolvable name, unwritable file); a TCP collector that is merely
 * down is not an error: it is retried. */
struct output *output_ipfix_open(const struct collector *c, const struct bpfix_config *cfg,
				 char *err, size_t errlen);

/* NetFlow v9 or v5 exporting process to one UDP collector (netflow_export.c). */
struct output *output_netflow_open(const struct collector *c, const struct bpfix_config *cfg,
				   char *err, size_t errlen);

/* Format one record as text or JSON into @buf (no newline). Returns the
 * length (snprintf semantics). Used by the stdout output and tests. */
int flow_format_text(const struct flow_record *r, char *buf, size_t len);
int flow_format_json(const struct flow_record *r, char *buf, size_t len);
/* The names flow_format_text/json give interface @ifindex: @name while
 * the agent follows it (no lookup by number, which another interface may
 * hold by then), NULL to forget it (then looked up, cached a second). */
void flow_text_iface(uint32_t ifindex, const char *name);
/* Header line for the text format. */
const char *flow_text_header(void);

#endif /* BPFIX_OUTPUT_H */
