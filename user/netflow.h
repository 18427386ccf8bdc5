/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NetFlow v9 (RFC 3954) and v5 encoders: one export packet at a time in a
 * buffer the caller owns, no I/O, no allocation (the exporting process is
 * netflow_export.c, over udp_tx.h). Like ipfix.h, an add that does not
 * fit returns -ENOSPC and leaves the packet as it was.
 *
 * Both are unidirectional: a biflow goes as two records, the forward one
 * (initiator as source) and the reverse one (its key reversed: ports
 * swapped, an ICMP request's answer type), each with its own interface,
 * direction, times and counters; a side without packets makes no record.
 * v9's data templates carry what the IPFIX ones do where v9 has a field
 * type for it (RFC 3954 section 8, ids below 128: no enterprise elements,
 * no flowEndReason, biflowDirection, dot1qCustomerVlanId or ethernetType),
 * with FIRST_SWITCHED and LAST_SWITCHED in ms of sysUptime.
 *
 * Times: sysUptime counts ms since an epoch the caller chooses (netflow_export.c:
 * the exporter's start), modulo 2^32 like a router's; FIRST/LAST_SWITCHED
 * are on the same clock, so a collector's (sysUptime - first) mod 2^32 is
 * right across the wrap, every 49.7 days. A time before the epoch is 0.
 */
#ifndef BPFIX_NETFLOW_H
#define BPFIX_NETFLOW_H

#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "ipfix.h"

#define NF9_VERSION		9
#define NF9_HDR_LEN		20
#define NF9_SET_HDR_LEN		4
#define NF9_SET_TEMPLATE	0
#define NF9_SET_OPTIONS		1
#define NF9_MSG_MAX		65507	/* a UDP datagram's payload over IPv4 */
#define NF9_SCOPE_SYSTEM	1	/* RFC 3954 6.1 scope field types */
#define NF9_SCOPE_INTERFACE	2
#define NF9_IFNAME_LEN		16	/* IF_NAME octets: IF_NAMESIZE */

#define NF5_VERSION		5
#define NF5_HDR_LEN		24
#define NF5_REC_LEN		48
#define NF5_MAX_RECORDS		30
#define NF5_MSG_LEN		(NF5_HDR_LEN + NF5_MAX_RECORDS * NF5_REC_LEN)
/* v5's counters are 32 bits: a side of more is split into records of at
 * most this many packets and octets each (sums stay exact), in at most
 * NF5_MAX_SPLIT records. */
#define NF5_COUNTER_MAX		0xffffffffu
#define NF5_MAX_SPLIT		NF5_MAX_RECORDS

enum nf9_tid {
	NF9_TID_IPV4 = 256,
	NF9_TID_IPV6,
	NF9_TID_L2,
	NF9_TID_METERING,	/* options: what the meter saw, ignored and lost */
	NF9_TID_EXPORTING,	/* options: what this exporter sent and did not */
	NF9_TID_INTERFACES,	/* options: ifindex -> name */
	NF9_TID_END,
};
#define NF9_TID_FIRST		NF9_TID_IPV4
#define NF9_TID_OPTIONS		NF9_TID_METERING
#define NF9_TEMPLATES		(NF9_TID_END - NF9_TID_FIRST)

/* A v9 template: ipfix.h's struct, with the options template's scope
 * count in scope (v9 puts the scope's length in octets on the wire). */
const struct ipfix_template *nf9_template(uint16_t tid);
uint16_t nf9_flow_tid(const struct flow_record *r);
size_t nf9_template_record_len(uint16_t tid);

/* A v9 export packet being built. */
struct nf9_msg {
	uint8_t  *buf;
	uint32_t cap;		/* a multiple of 4 (FlowSets are padded to 4) */
	uint32_t len;
	uint32_t set_off;	/* the open FlowSet's header, 0: none */
	uint16_t set_id;
	uint16_t count;		/* records of every kind: the header's count */
	uint32_t records;	/* data records, options included */
	uint32_t flows;		/* flow records handed in (a biflow is one) */
	uint64_t packets, octets;
};

void nf9_msg_init(struct nf9_msg *m, uint8_t *buf, size_t cap);
void nf9_msg_reset(struct nf9_msg *m);
static inline int nf9_msg_empty(const struct nf9_msg *m)
{
	return m->len <= NF9_HDR_LEN;
}
int nf9_msg_add_template(struct nf9_msg *m, uint16_t tid);
/* One flow record: one data record, two for a biflow with packets both
 * ways, all or none. FIRST/LAST_SWITCHED relative to @epoch_ms. */
int nf9_msg_add_flow(struct nf9_msg *m, const struct flow_record *r, uint64_t epoch_ms);
/* An options record of @tid (NF9_TID_METERING or NF9_TID_EXPORTING). */
int nf9_msg_add_stats(struct nf9_msg *m, uint16_t tid, const struct ipfix_stats *s);
/* An interface table record: @name cut to NF9_IFNAME_LEN - 1 octets. */
int nf9_msg_add_interface(struct nf9_msg *m, uint32_t ifindex, const char *name);
/* Close the open FlowSet and write the header. Returns the length. */
size_t nf9_msg_finish(struct nf9_msg *m, uint32_t uptime_ms, uint32_t unix_secs,
		      uint32_t seq, uint32_t source_id);

/* Why a flow record does not go as v5 (netflow_export.c counts each). */
enum nf5_unsupported {
	NF5_OK = 0,
	NF5_IPV6,		/* IPv4 only */
	NF5_L2,			/* no addresses to put */
	NF5_TOO_BIG,		/* more than NF5_MAX_SPLIT records' worth */
	NF5_REASONS,
};
extern const char *const nf5_reason_names[NF5_REASONS];

/* A v5 export packet being built. */
struct nf5_msg {
	uint8_t  buf[NF5_MSG_LEN];
	uint16_t max;		/* records a packet holds here (the MTU's), <= 30 */
	uint16_t count;		/* v5 records */
	uint32_t flows;		/* flow records handed in */
	uint64_t packets, octets;
	uint64_t clamped_ifindex;	/* records whose interface index went as 0 (> 65535) */
};

void nf5_msg_init(struct nf5_msg *m, unsigned int max_records);
void nf5_msg_reset(struct nf5_msg *m);
static inline int nf5_msg_empty(const struct nf5_msg *m)
{
	return !m->count;
}
/* Whether @r can go as v5, and in how many records (@n, both sides). */
enum nf5_unsupported nf5_check(const struct flow_record *r, unsigned int *n);
/* @r's records, all or none: 0, -ENOSPC, or -EOPNOTSUPP (nf5_check says
 * why). */
int nf5_msg_add_flow(struct nf5_msg *m, const struct flow_record *r, uint64_t epoch_ms);
/* The header: @flow_seq the flows (v5 records) made before this packet;
 * engine type and id the observation domain's two low octets. */
size_t nf5_msg_finish(struct nf5_msg *m, uint32_t uptime_ms, uint64_t wall_ns,
		      uint32_t flow_seq, uint32_t odid);

#endif /* BPFIX_NETFLOW_H */
