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
/* bpfix's own elements (the tunnel, docs/reference.md) sit under the same
 * PEN at ids no IANA element has (32001..), so a collector that reads them
 * as reverse elements finds no forward one to confuse them with. */
#define IPFIX_PEN_BPFIX        IPFIX_PEN_REVERSE
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

#endif /* BPFIX_IPFIX_H */
