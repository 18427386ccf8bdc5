/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPFIX exporting processes' own state, shared by the three files that
 * make them: ipfix_export.c (records into messages, files, the templates
 * and options schedule, opening), ipfix_udp.c (the queue and the pacer,
 * for UDP and FIFOs) and ipfix_tcp.c (the TCP session). Nothing else
 * includes it: the agent sees struct output (output.h).
 */
#ifndef BPFIX_IPFIX_EXPORT_H
#define BPFIX_IPFIX_EXPORT_H

#include <netdb.h>
#include "ipfix.h"
#include "output.h"

#define IPFIX_STREAM_MSG	16384	/* octets per TCP/file message */
#define UDP_SNDBUF		(1 << 20) /* octets: what a link may hold behind a burst */
#define PACE_BURST_MS		5	/* a burst is at most this long at --export-rate */
#define PACE_RETRY_NS		1000000	/* a full local socket buffer: try again */
#define UDP_QUEUE_SPARE_SLOTS	64	/* messages beyond the full ones (partial, options) */
#define TCP_BACKOFF_MIN_MS	1000	/* first reconnect delay, doubled per failure */
#define TCP_BACKOFF_MAX_MS	30000
#define TCP_CONNECT_TIMEOUT_MS	10000	/* a connect() still pending is abandoned */
#define CLOSE_WAIT_MS		2000	/* close(): time allowed to deliver what is queued */
#define TCP_YOUNG_MS		5000	/* a connection that dies younger: back off more */
#define TCP_INFLIGHT		1024	/* messages written and not yet acked, at most */

enum tcp_state {
	TCP_DOWN,		/* waiting for retry_ms */
	TCP_CONNECTING,		/* non-blocking connect() in progress */
	TCP_UP,
};

/* A message on the wire the collector has not acked yet (ipfix_tcp.c). */
struct tcp_inflight {
	uint64_t end;			/* stream offset just past it */
	uint32_t len;
	uint32_t pad0;
	uint64_t flows, packets, octets;
};

struct ipfix_out {
	struct output out;		/* first: what the agent holds */
	enum collector_kind kind;

	/* configuration, copied so the caller's struct may go away */
	uint32_t odid;
	uint32_t exporter_id;		/* exportingProcessId: 1, 2, ... in open order */
	uint64_t refresh_ms;
	/* the interface table options record: the interfaces the agent
	 * follows now (output_ops.iface), cap_ifaces of room */
	struct iface *ifaces;
	int n_ifaces, cap_ifaces;

	struct ipfix_msg msg;
	uint8_t *buf;
	uint32_t seq;			/* data records sent in this session */
	uint32_t opts_seq;		/* ... in IPFIX_ODID_OPTIONS (UDP, file) */

	int tpl_due;			/* (options) templates before the next data */
	int opts_due;			/* options records with the next message */
	uint64_t next_refresh_ms;	/* monotonic */
	struct meter_totals totals;	/* as of the last tick */
	int have_totals;
	uint64_t octets_sent;		/* exportedOctetTotalCount */
	uint64_t open_wall_ms;
	uint64_t first_drop_ms, last_drop_ms;

	int fd;				/* UDP, TCP, file */
	uint64_t file_off;		/* file: octets of whole messages written */

	/* UDP: finished messages waiting for the pacer */
	uint8_t *uq;			/* uq_slots slots of uq_slot_size octets */
	size_t uq_slot_size;
	uint32_t uq_slots, uq_head, uq_len;
	uint64_t uq_records, uq_cap;	/* flow records queued, and the most allowed */
	uint64_t rate;			/* --export-rate: records a second at most */
	uint64_t pace;			/* ... for this sweep interval */
	uint64_t sweep_ms;
	double tokens;			/* records that may go now */
	double burst;			/* ... at most */
	uint64_t tok_ns;		/* monotonic time of the last refill */
	uint32_t uq_burst_min;		/* records: a burst holds a full flow message */
	uint8_t *tbuf;			/* templates resent after a refused send */
	int tpl_lost;			/* a send was refused since the last tick */
	int tpl_resend;			/* templates go again ahead of the next data ... */
	int tpl_rearmed;		/* ... which a refusal asked for once this sweep */
	uint32_t seq_next_out;		/* ... with that message's sequence number */

	/* TCP */
	struct addrinfo *ai;
	unsigned int ai_next;		/* address the next attempt uses */
	enum tcp_state state;
	uint64_t retry_ms, backoff_ms, connect_ms;
	struct flow_record *q;		/* ring: records not yet fully written */
	uint32_t q_cap, q_tail, q_len;
	struct tcp_inflight *inflight;	/* ring: messages written, not yet acked */
	uint32_t if_head, if_len;
	uint64_t written;		/* octets written on this connection */
	uint64_t up_ms;			/* monotonic time the connection came up */
	uint32_t batch;			/* records that about fill a message */
	int pending;			/* msg holds a finished message ... */
	uint32_t pend_off;		/* ... of which so many octets are written */
	uint32_t pend_q;		/* queue records it carries */
	int pend_tpl, pend_opts;	/* and whether templates, options */
};

static inline struct ipfix_out *to_ipfix(struct output *o)
{
	return (struct ipfix_out *)o;
}

/* ---- ipfix_export.c ---- */
void ipx_count_drop(struct ipfix_out *x, uint64_t flows, uint64_t packets, uint64_t octets);
/* Message @m went out whole (@len octets on the transport). */
void ipx_count_sent(struct ipfix_out *x, const struct ipfix_msg *m, size_t len);
void ipx_fill_stats(const struct ipfix_out *x, struct ipfix_stats *s);
/* output_ops.iface: the interface table changes, and is sent again with
 * the next tick's options. */
void ipx_iface(struct output *o, uint32_t ifindex, const char *name);
int ipx_add_templates(struct ipfix_msg *m);
extern const uint16_t ipx_stats_tids[3];
size_t ipx_templates_size(void);
size_t ipx_options_size(const struct ipfix_out *x);
size_t ipx_largest_item(void);
void ipx_take_totals(struct ipfix_out *x, const struct meter_totals *t);
uint64_t ipx_tick_begin(struct ipfix_out *x, const struct meter_totals *t);
void ipx_free(struct ipfix_out *x);
int ipx_resolve(const struct collector *c, int socktype, struct addrinfo **res,
		char *err, size_t errlen);

/* ---- ipfix_udp.c ---- */
/* Open the UDP socket; returns the message size for --ipfix-mtu. */
int udp_open(struct ipfix_out *x, const struct collector *c, uint32_t mtu,
	     char *err, size_t errlen);
int udp_queue_open(struct ipfix_out *x, const struct bpfix_config *cfg, uint32_t cap,
		   char *err, size_t errlen);
void udp_enqueue(struct ipfix_out *x, const struct ipfix_msg *m, size_t len);
void udp_drop_head(struct ipfix_out *x);
uint64_t udp_pace(struct ipfix_out *x, uint64_t now_ns, uint64_t rate);
void udp_set_pace(struct ipfix_out *x);
uint64_t udp_pump(struct output *o, uint64_t now_ns);

/* ---- ipfix_tcp.c ---- */
/* Set @x up as a TCP session to @c and try to connect (a collector that
 * is down is no error: it is retried). */
int tcp_open(struct ipfix_out *x, const struct collector *c, const struct bpfix_config *cfg,
	     char *err, size_t errlen);
/* Once the message buffer exists: the templates to a collector that is up. */
void tcp_start(struct ipfix_out *x);

#endif /* BPFIX_IPFIX_EXPORT_H */
