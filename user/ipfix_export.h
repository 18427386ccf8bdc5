/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPFIX exporting processes' own state, shared by the three files that
 * make them: ipfix_export.c (records into messages, files, the templates
 * and options schedule, opening, and what IPFIX adds to the UDP
 * transport of udp_tx.c: templates resent, export time) and ipfix_tcp.c
 * (the TCP session). Nothing else includes it: the agent sees struct
 * output (output.h).
 */
#ifndef BPFIX_IPFIX_EXPORT_H
#define BPFIX_IPFIX_EXPORT_H

#include <netdb.h>
#include "ipfix.h"
#include "output.h"
#include "udp_tx.h"
#include "exporter.h"

#define IPFIX_STREAM_MSG	16384	/* octets per TCP/file message */
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
	struct exporter_acct acct;	/* domain, id, what its statistics report */
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

	int fd;				/* UDP, TCP, file */
	uint64_t file_off;		/* file: octets of whole messages written */

	/* UDP and FIFOs: finished messages wait for the pacer (udp_tx.h);
	 * tx.uq is NULL for TCP and plain files */
	struct udp_tx tx;
	uint8_t *tbuf;			/* templates resent after a refused send */

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

/* ---- ipfix_tcp.c ---- */
/* Set @x up as a TCP session to @c and try to connect (a collector that
 * is down is no error: it is retried). */
int tcp_open(struct ipfix_out *x, const struct collector *c, const struct bpfix_config *cfg,
	     char *err, size_t errlen);
/* Once the message buffer exists: the templates to a collector that is up. */
void tcp_start(struct ipfix_out *x);

#endif /* BPFIX_IPFIX_EXPORT_H */
