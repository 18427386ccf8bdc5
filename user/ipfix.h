/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPFIX encoder (RFC 7011, biflows per RFC 5103): builds one message at a
 * time in a buffer the caller owns. No I/O and no allocation: the transports
 * (user/ipfix_export.c) decide when a message is finished and where it goes.
 *
 * A message is filled with ipfix_msg_add_*(); each returns -ENOSPC when the
 * item does not fit in what is left of the message, leaving the message as
 * it was, so the caller sends the message, resets it and adds the item again.
 * Records are never split across messages.
 *
 * Templates (ids 256..), all fixed; enum ipfix_tid lists them:
 *
 *  IPv4 / IPv6 flow, uniflow and biflow: addresses, ports, protocol,
 *   icmpTypeCode (ports are 0 for ICMP, as flow_key holds type<<8|code in
 *   dst_port), ipVersion, dot1qCustomerVlanId (inner tag of QinQ, 0 if
 *   none), then per direction: ingressInterface and egressInterface, vlanId
 *   and postVlanId (the outer tag, or the only one), each pair holding the
 *   interface and tag the packets were metered on by direction (IANA:
 *   vlanId is the ingress interface's VLAN, postVlanId the egress one's),
 *   the other 0; flowDirection, start/end (ms), octet/packet delta counts,
 *   tcpControlBits, ipClassOfService (first packet), min/max TTL, min/max
 *   IP total length, flowLabelIPv6 (v6); and flowEndReason. A biflow has
 *   the per-direction fields twice, the reverse ones under PEN 29305, and
 *   biflowDirection. None of them is one RFC 5103 section 6.1 calls
 *   non-reversible (identifiers such as observationDomainId, process
 *   configuration and statistics, biflowDirection, paddingOctets).
 *   Last, communityId (PEN IPFIX_PEN_BPFIX): the record's Community ID v1,
 *   "1:" and 28 base64 characters in a fixed 30-octet string (always that
 *   long, so no variable-length field: pmacct sums a template's lengths
 *   in 16 bits); all zero octets (an empty string) when the record has
 *   none. One value for both directions: never reversed.
 *  Non-IP (L2) flow: MAC addresses, ethernetType, dot1qCustomerVlanId, and
 *   per direction interfaces, VLANs, direction, times, counters
 *   (octetDeltaCount: L2 payload, as the meter counts it;
 *   layer2OctetDeltaCount: whole frames); flowEndReason; the biflow the
 *   reverse of each per-direction field.
 *
 *  Flows out of a tunnel (flow_key.tun_type set): the same three kinds,
 *   uniflow and biflow, with the tunnel after the key: bpfixTunnelType,
 *   bpfixTunnelId (VNI, GRE key, top MPLS label), layer2SegmentId (IANA
 *   351: 0x01 << 56 | VNI for VXLAN, 0 for the others, which the registry
 *   has no encapsulation code for), and the outer addresses in
 *   bpfixTunnelSource/DestinationIPv4Address and ...IPv6Address (the
 *   family the tunnel has not is 0; all 0 for MPLS). Enterprise elements
 *   (IPFIX_PEN_BPFIX): the IANA registry has none for a tunnel's type or
 *   outer addresses.
 *
 * In biflow templates the reverse fields come before the forward ones:
 * nfdump 1.7 decodes a reverse element it has no mapping for (all but the
 * octet and packet counts) as its forward counterpart, and the field that
 * comes later in the record wins, so only this order keeps its forward
 * times, flags, interfaces and direction right. RFC 5103 sets no order.
 *
 * A biflow side without packets (a one-way conversation, or an active
 * timeout interval in which one side was quiet) carries 0 counters and the
 * other side's start and end times, not 0 (1970) timestamps.
 *
 * Options templates (RFC 7011 section 4), one per set (nfdump 1.7 reads only
 * the first options template of a set):
 *  metering process statistics (4.1), scope observationDomainId;
 *  metering process reliability statistics (4.2), scope observationDomainId,
 *   with the time window as two observationTimeMilliseconds;
 *  exporting process reliability statistics (4.3), scope exportingProcessId,
 *   same window;
 *  interface table: scope observationDomainId, then ingressInterface and
 *   interfaceDescription holding the interface's name in IPFIX_IFNAME_LEN
 *   octets, zero-padded. All fixed-length, and exactly these fields: nfdump
 *   1.7.1 takes the name from interfaceDescription (not interfaceName), the
 *   index only from a non-scope ingressInterface, and sizes each record as
 *   scope + 4 + name length; pmacct sums an options template's field
 *   lengths in 16 bits, which variable-length fields (65535) overflow.
 *
 * Options records may go in messages of an observation domain of their own
 * (IPFIX_ODID_OPTIONS, RFC 7011 section 3.1: 0 when no specific domain is
 * relevant to the whole message); the scope says which domain they are
 * about. ipfix_export.c says when.
 */
#ifndef BPFIX_IPFIX_H
#define BPFIX_IPFIX_H

#include <stddef.h>
#include <stdint.h>
#include "flow.h"

#define IPFIX_VERSION          10
#define IPFIX_MSG_HDR_LEN      16
#define IPFIX_SET_HDR_LEN      4
#define IPFIX_SET_TEMPLATE     2
#define IPFIX_SET_OPTIONS      3
#define IPFIX_MSG_MAX          65535	/* the header's length field */
#define IPFIX_PEN_REVERSE      29305	/* RFC 5103 reverse information elements */
/* bpfix's own elements. bpfix has no Private Enterprise Number of its own
 * yet: 32473 is the one RFC 5612 sets aside for examples, never assigned
 * to anyone, so no collector mistakes these for another vendor's elements
 * (29305 cannot be used: collectors read any element under it as the
 * reverse of the IANA element of the same id). */
#define IPFIX_PEN_BPFIX        32473
#define IPFIX_IE_COMMUNITY_ID  1	/* communityId: string, COMMUNITY_ID_STR_LEN octets */
/* the tunnel's elements are ids 32001.. under it (ipfix.c, EE_*) */
#define IPFIX_IFNAME_LEN       16	/* interfaceDescription octets: IF_NAMESIZE */
#define IPFIX_ODID_OPTIONS     0	/* RFC 7011 3.1: no specific observation domain */

enum ipfix_tid {
	IPFIX_TID_IPV4 = 256,
	IPFIX_TID_IPV4_BIFLOW,
	IPFIX_TID_IPV6,
	IPFIX_TID_IPV6_BIFLOW,
	IPFIX_TID_L2,
	IPFIX_TID_L2_BIFLOW,
	IPFIX_TID_METERING_STATS,	/* options */
	IPFIX_TID_METERING_RELIABILITY,	/* options */
	IPFIX_TID_EXPORTING_RELIABILITY,/* options */
	IPFIX_TID_INTERFACES,		/* options */
	/* Flows out of a tunnel: after the options, whose ids stay. */
	IPFIX_TID_IPV4_TUNNEL,
	IPFIX_TID_IPV4_TUNNEL_BIFLOW,
	IPFIX_TID_IPV6_TUNNEL,
	IPFIX_TID_IPV6_TUNNEL_BIFLOW,
	IPFIX_TID_L2_TUNNEL,
	IPFIX_TID_L2_TUNNEL_BIFLOW,
	IPFIX_TID_END,
};
#define IPFIX_TID_FIRST        IPFIX_TID_IPV4
#define IPFIX_TID_OPTIONS      IPFIX_TID_METERING_STATS	/* the first options template */
#define IPFIX_TID_OPTIONS_LAST IPFIX_TID_INTERFACES	/* ... and the last */

static inline int ipfix_tid_is_options(uint16_t tid)
{
	return tid >= IPFIX_TID_OPTIONS && tid <= IPFIX_TID_OPTIONS_LAST;
}
#define IPFIX_TEMPLATES        (IPFIX_TID_END - IPFIX_TID_FIRST)

/* Where a field's value comes from (struct ipfix_field.src). Per-direction
 * values (S_IN_IF .. S_UPTIME_END) describe the forward direction, or with
 * S_REV the reverse. Here, not in ipfix.c, because NetFlow v9's templates
 * (netflow.c) are tables of the same fields written by the same writer. */
enum ipfix_src {
	S_SRC_ADDR = 1,		/* IPv4, IPv6 or MAC by the field's length */
	S_DST_ADDR,
	S_SRC_PORT,		/* 0 for ICMP */
	S_DST_PORT,
	S_ICMP,			/* type << 8 | code, 0 unless ICMP */
	S_PROTO,
	S_IP_VERSION,
	S_ETHER_TYPE,
	S_VLAN_INNER,
	S_END_REASON,
	S_BIFLOW_DIR,
	S_COMMUNITY_ID,		/* 30 octets, "1:" + base64 (community_id.h) */

	S_IN_IF,		/* ifindex if metered on ingress, else 0 */
	S_OUT_IF,		/* ifindex if metered on egress, else 0 */
	S_IN_VLAN,		/* outer VLAN if metered on ingress, else 0 */
	S_OUT_VLAN,		/* outer VLAN if metered on egress, else 0 */
	S_DIRECTION,
	S_START_MS,
	S_END_MS,
	S_OCTETS,
	S_PACKETS,
	S_L2_OCTETS,
	S_TCP_FLAGS,
	S_TOS,
	S_MIN_TTL,
	S_MAX_TTL,
	S_MIN_LEN,
	S_MAX_LEN,
	S_FLOW_LABEL,
	S_UPTIME_START,		/* NetFlow: ms since the exporter's epoch, 32 bits */
	S_UPTIME_END,

	S_ODID,
	S_EXPORTER_ID,
	S_EXP_MESSAGES,
	S_EXP_RECORDS,
	S_EXP_OCTETS,
	S_OBSERVED_FLOWS,
	S_IGN_PACKETS,
	S_IGN_OCTETS,
	S_LOST_FLOWS,
	S_IGN_FIRST_MS,
	S_IGN_LAST_MS,
	S_NS_FLOWS,
	S_NS_PACKETS,
	S_NS_OCTETS,
	S_NS_FIRST_MS,
	S_NS_LAST_MS,

	S_IFINDEX,
	S_IFNAME,

	S_TUN_TYPE,
	S_TUN_ID,
	S_L2_SEGMENT,		/* layer2SegmentId: VXLAN's VNI, else 0 */
	S_TUN_SRC4,		/* outer address, 0 unless of that family */
	S_TUN_DST4,
	S_TUN_SRC6,
	S_TUN_DST6,
};
#define S_REV 0x80
_Static_assert(S_TUN_DST6 < S_REV, "value sources fit below S_REV");

/* One field specifier of a template, and where its value comes from. */
struct ipfix_field {
	uint16_t id;		/* information element id, enterprise bit clear */
	uint16_t len;		/* octets on the wire */
	uint32_t pen;		/* 0: IANA */
	uint8_t  src;		/* value source (ipfix.c) */
};

struct ipfix_template {
	uint16_t id;
	uint16_t scope;		/* scope field count: non-zero for options templates */
	uint16_t n_fields;
	uint16_t rec_len;	/* data record length */
	const struct ipfix_field *fields;
};

/* Values of the statistics options records (one struct feeds all three). */
struct ipfix_stats {
	uint32_t observation_domain;
	uint32_t exporting_process;
	/* metering process statistics */
	uint64_t exported_messages;	/* exportedMessageTotalCount */
	uint64_t exported_records;	/* exportedFlowRecordTotalCount */
	uint64_t exported_octets;	/* exportedOctetTotalCount */
	uint64_t observed_flows;	/* observedFlowTotalCount */
	/* metering process reliability */
	uint64_t ignored_packets;	/* ignoredPacketTotalCount */
	uint64_t ignored_octets;	/* ignoredOctetTotalCount */
	uint64_t lost_flows;		/* notSentFlowTotalCount: flows the meter lost */
	uint64_t ignored_first_ms;	/* window the above were counted in */
	uint64_t ignored_last_ms;
	/* exporting process reliability */
	uint64_t not_sent_flows;	/* notSentFlowTotalCount */
	uint64_t not_sent_packets;	/* notSentPacketTotalCount */
	uint64_t not_sent_octets;	/* notSentOctetTotalCount */
	uint64_t not_sent_first_ms;	/* first and last drop */
	uint64_t not_sent_last_ms;
};

/* A message being built. Counters cover what was added since the reset. */
struct ipfix_msg {
	uint8_t  *buf;
	uint32_t cap;		/* size limit of this message (<= IPFIX_MSG_MAX) */
	uint32_t len;		/* octets used, message header included */
	uint32_t set_off;	/* offset of the open set's header, 0: none open */
	uint16_t set_id;
	uint32_t odid;		/* observation domain id */
	uint32_t records;	/* data records, options records included */
	uint32_t flows;		/* flow records */
	uint64_t packets;	/* packets and octets of those flow records */
	uint64_t octets;
};

const struct ipfix_template *ipfix_template(uint16_t tid);
/* Template a flow record is exported with. */
uint16_t ipfix_flow_tid(const struct flow_record *r);
/* Octets a template record takes in a template set (header included). */
size_t ipfix_template_record_len(uint16_t tid);

/* Use @buf (@cap octets, at most IPFIX_MSG_MAX taken) and start empty. */
void ipfix_msg_init(struct ipfix_msg *m, uint8_t *buf, size_t cap, uint32_t odid);
/* Start over: an empty message (header only). */
void ipfix_msg_reset(struct ipfix_msg *m);
static inline int ipfix_msg_empty(const struct ipfix_msg *m)
{
	return m->len <= IPFIX_MSG_HDR_LEN;
}
/* The observation domain of the next message (the current one is empty). */
static inline void ipfix_msg_set_odid(struct ipfix_msg *m, uint32_t odid)
{
	m->odid = odid;
}

/* Each returns 0, -ENOSPC (the item does not fit, message unchanged) or
 * -EINVAL (no such template). */
int ipfix_msg_add_template(struct ipfix_msg *m, uint16_t tid);
int ipfix_msg_add_flow(struct ipfix_msg *m, const struct flow_record *r);
int ipfix_msg_add_stats(struct ipfix_msg *m, uint16_t tid, const struct ipfix_stats *s);
/* An interface table record of observation domain @odid: @name cut to
 * IPFIX_IFNAME_LEN - 1 octets, so it always ends in a zero octet (nfdump
 * 1.7.1 overwrites the last one). */
int ipfix_msg_add_interface(struct ipfix_msg *m, uint32_t odid, uint32_t ifindex,
			    const char *name);

/* Close the open set and write the header: @export_time in seconds,
 * @seq the data records sent before this message in this session. Returns
 * the message length; the message stays as it is until the next reset. */
size_t ipfix_msg_finish(struct ipfix_msg *m, uint32_t export_time, uint32_t seq);

/* The writer every flow template goes through: @n fields of record @r at
 * @p, S_UPTIME_* relative to @epoch_ms (modulo 2^32: NetFlow's sysUptime
 * wraps). Returns the end. */
uint8_t *ipfix_put_flow(uint8_t *p, const struct ipfix_field *f, unsigned int n,
			const struct flow_record *r, uint64_t epoch_ms);
/* ... and every options record's: statistics @s, an interface's
 * @ifindex and @ifname (S_IFINDEX, S_IFNAME). */
uint8_t *ipfix_put_options(uint8_t *p, const struct ipfix_field *f, unsigned int n,
			   const struct ipfix_stats *s, uint32_t ifindex, const char *ifname);

#endif /* BPFIX_IPFIX_H */
