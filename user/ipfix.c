// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX encoder: templates as tables, one writer that walks a table. The
 * template set a collector sees and the data records it decodes with it come
 * from the same table, so they cannot disagree.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "errline.h"
#include "ipfix.h"

/* Information element ids (IANA "IPFIX Information Elements" registry). */
enum {
	IE_octetDeltaCount = 1,
	IE_packetDeltaCount = 2,
	IE_protocolIdentifier = 4,
	IE_ipClassOfService = 5,
	IE_tcpControlBits = 6,
	IE_sourceTransportPort = 7,
	IE_sourceIPv4Address = 8,
	IE_ingressInterface = 10,
	IE_destinationTransportPort = 11,
	IE_destinationIPv4Address = 12,
	IE_egressInterface = 14,
	IE_minimumIpTotalLength = 25,
	IE_maximumIpTotalLength = 26,
	IE_sourceIPv6Address = 27,
	IE_destinationIPv6Address = 28,
	IE_flowLabelIPv6 = 31,
	IE_icmpTypeCodeIPv4 = 32,
	IE_exportedOctetTotalCount = 40,
	IE_exportedMessageTotalCount = 41,
	IE_exportedFlowRecordTotalCount = 42,
	IE_minimumTTL = 52,
	IE_maximumTTL = 53,
	IE_sourceMacAddress = 56,
	IE_vlanId = 58,
	IE_postVlanId = 59,
	IE_ipVersion = 60,
	IE_flowDirection = 61,
	IE_destinationMacAddress = 80,
	IE_interfaceDescription = 83,
	IE_flowEndReason = 136,
	IE_icmpTypeCodeIPv6 = 139,
	IE_exportingProcessId = 144,
	IE_observationDomainId = 149,
	IE_flowStartMilliseconds = 152,
	IE_flowEndMilliseconds = 153,
	IE_observedFlowTotalCount = 163,
	IE_ignoredPacketTotalCount = 164,
	IE_ignoredOctetTotalCount = 165,
	IE_notSentFlowTotalCount = 166,
	IE_notSentPacketTotalCount = 167,
	IE_notSentOctetTotalCount = 168,
	IE_biflowDirection = 239,
	IE_dot1qCustomerVlanId = 245,
	IE_ethernetType = 256,
	IE_observationTimeMilliseconds = 323,
	IE_layer2SegmentId = 351,
	IE_layer2OctetDeltaCount = 352,
};

/* bpfix's enterprise elements (IPFIX_PEN_BPFIX, docs/reference.md). */
enum {
	EE_bpfixTunnelType = 32001,			/* unsigned8: TUNNEL_* */
	EE_bpfixTunnelId = 32002,			/* unsigned32 */
	EE_bpfixTunnelSourceIPv4Address = 32003,
	EE_bpfixTunnelDestinationIPv4Address = 32004,
	EE_bpfixTunnelSourceIPv6Address = 32005,
	EE_bpfixTunnelDestinationIPv6Address = 32006,
};

/* layer2SegmentId's encapsulation octet (IANA registry, element 351). */
#define L2_SEGMENT_VXLAN 0x01

#define COMMUNITY_ID	{ IPFIX_IE_COMMUNITY_ID, COMMUNITY_ID_STR_LEN, IPFIX_PEN_BPFIX, S_COMMUNITY_ID }
#define F(ie, len, src)	{ IE_##ie, len, 0, src }
#define R(ie, len, src)	{ IE_##ie, len, IPFIX_PEN_REVERSE, (src) | S_REV }
#define E(ee, len, src)	{ EE_##ee, len, IPFIX_PEN_BPFIX, src }

#define IPV4_KEY \
	F(sourceIPv4Address, 4, S_SRC_ADDR), \
	F(destinationIPv4Address, 4, S_DST_ADDR), \
	F(sourceTransportPort, 2, S_SRC_PORT), \
	F(destinationTransportPort, 2, S_DST_PORT), \
	F(protocolIdentifier, 1, S_PROTO), \
	F(icmpTypeCodeIPv4, 2, S_ICMP)

#define IPV6_KEY \
	F(sourceIPv6Address, 16, S_SRC_ADDR), \
	F(destinationIPv6Address, 16, S_DST_ADDR), \
	F(sourceTransportPort, 2, S_SRC_PORT), \
	F(destinationTransportPort, 2, S_DST_PORT), \
	F(protocolIdentifier, 1, S_PROTO), \
	F(icmpTypeCodeIPv6, 2, S_ICMP)

/* The tunnel a flow came out of: forward, like the key. */
#define TUNNEL_KEY \
	E(bpfixTunnelType, 1, S_TUN_TYPE), \
	E(bpfixTunnelId, 4, S_TUN_ID), \
	F(layer2SegmentId, 8, S_L2_SEGMENT), \
	E(bpfixTunnelSourceIPv4Address, 4, S_TUN_SRC4), \
	E(bpfixTunnelDestinationIPv4Address, 4, S_TUN_DST4), \
	E(bpfixTunnelSourceIPv6Address, 16, S_TUN_SRC6), \
	E(bpfixTunnelDestinationIPv6Address, 16, S_TUN_DST6)

#define IP_COMMON \
	F(ipVersion, 1, S_IP_VERSION), \
	F(dot1qCustomerVlanId, 2, S_VLAN_INNER)

/* minimum/maximumIpTotalLength are unsigned64 in the registry; an IP total
 * length fits in two octets (reduced-size encoding, RFC 7011 section 6.2). */
#define IP_SIDE(X) \
	X(ingressInterface, 4, S_IN_IF), \
	X(egressInterface, 4, S_OUT_IF), \
	X(vlanId, 2, S_IN_VLAN), \
	X(postVlanId, 2, S_OUT_VLAN), \
	X(flowDirection, 1, S_DIRECTION), \
	X(flowStartMilliseconds, 8, S_START_MS), \
	X(flowEndMilliseconds, 8, S_END_MS), \
	X(octetDeltaCount, 8, S_OCTETS), \
	X(packetDeltaCount, 8, S_PACKETS), \
	X(tcpControlBits, 2, S_TCP_FLAGS), \
	X(ipClassOfService, 1, S_TOS), \
	X(minimumTTL, 1, S_MIN_TTL), \
	X(maximumTTL, 1, S_MAX_TTL), \
	X(minimumIpTotalLength, 2, S_MIN_LEN), \
	X(maximumIpTotalLength, 2, S_MAX_LEN)

#define L2_SIDE(X) \
	X(ingressInterface, 4, S_IN_IF), \
	X(egressInterface, 4, S_OUT_IF), \
	X(vlanId, 2, S_IN_VLAN), \
	X(postVlanId, 2, S_OUT_VLAN), \
	X(flowDirection, 1, S_DIRECTION), \
	X(flowStartMilliseconds, 8, S_START_MS), \
	X(flowEndMilliseconds, 8, S_END_MS), \
	X(octetDeltaCount, 8, S_OCTETS), \
	X(packetDeltaCount, 8, S_PACKETS), \
	X(layer2OctetDeltaCount, 8, S_L2_OCTETS)

static const struct ipfix_field f_ipv4[] = {
	IPV4_KEY, IP_COMMON, IP_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
	COMMUNITY_ID,
};

/* Biflows: reverse fields first, see ipfix.h (nfdump). */
static const struct ipfix_field f_ipv4_biflow[] = {
	IPV4_KEY, IP_COMMON, IP_SIDE(R),
	IP_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
	COMMUNITY_ID,
};

static const struct ipfix_field f_ipv6[] = {
	IPV6_KEY, IP_COMMON, IP_SIDE(F),
	F(flowLabelIPv6, 4, S_FLOW_LABEL),
	F(flowEndReason, 1, S_END_REASON),
	COMMUNITY_ID,
};

static const struct ipfix_field f_ipv6_biflow[] = {
	IPV6_KEY, IP_COMMON, IP_SIDE(R),
	R(flowLabelIPv6, 4, S_FLOW_LABEL),
	IP_SIDE(F),
	F(flowLabelIPv6, 4, S_FLOW_LABEL),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
	COMMUNITY_ID,
};

#define L2_KEY \
	F(sourceMacAddress, 6, S_SRC_ADDR), \
	F(destinationMacAddress, 6, S_DST_ADDR), \
	F(ethernetType, 2, S_ETHER_TYPE), \
	F(dot1qCustomerVlanId, 2, S_VLAN_INNER)

static const struct ipfix_field f_l2[] = {
	L2_KEY, L2_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
};

static const struct ipfix_field f_l2_biflow[] = {
	L2_KEY, L2_SIDE(R),
	L2_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
};

static const struct ipfix_field f_ipv4_tunnel[] = {
	IPV4_KEY, TUNNEL_KEY, IP_COMMON, IP_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
};

static const struct ipfix_field f_ipv4_tunnel_biflow[] = {
	IPV4_KEY, TUNNEL_KEY, IP_COMMON, IP_SIDE(R),
	IP_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
};

static const struct ipfix_field f_ipv6_tunnel[] = {
	IPV6_KEY, TUNNEL_KEY, IP_COMMON, IP_SIDE(F),
	F(flowLabelIPv6, 4, S_FLOW_LABEL),
	F(flowEndReason, 1, S_END_REASON),
};

static const struct ipfix_field f_ipv6_tunnel_biflow[] = {
	IPV6_KEY, TUNNEL_KEY, IP_COMMON, IP_SIDE(R),
	R(flowLabelIPv6, 4, S_FLOW_LABEL),
	IP_SIDE(F),
	F(flowLabelIPv6, 4, S_FLOW_LABEL),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
};

static const struct ipfix_field f_l2_tunnel[] = {
	L2_KEY, TUNNEL_KEY, L2_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
};

static const struct ipfix_field f_l2_tunnel_biflow[] = {
	L2_KEY, TUNNEL_KEY, L2_SIDE(R),
	L2_SIDE(F),
	F(flowEndReason, 1, S_END_REASON),
	F(biflowDirection, 1, S_BIFLOW_DIR),
};

/* RFC 7011 4.1 (observedFlowTotalCount added: what the meter saw). */
static const struct ipfix_field f_metering_stats[] = {
	F(observationDomainId, 4, S_ODID),		/* scope */
	F(exportedMessageTotalCount, 8, S_EXP_MESSAGES),
	F(exportedFlowRecordTotalCount, 8, S_EXP_RECORDS),
	F(exportedOctetTotalCount, 8, S_EXP_OCTETS),
	F(observedFlowTotalCount, 8, S_OBSERVED_FLOWS),
};

/* RFC 7011 4.2: "time first/last packet ignored" are observationTime*
 * elements; notSentFlowTotalCount carries the flows the meter lost (LRU
 * evictions), which the registry defines as dropped by the Metering Process. */
static const struct ipfix_field f_metering_reliability[] = {
	F(observationDomainId, 4, S_ODID),		/* scope */
	F(ignoredPacketTotalCount, 8, S_IGN_PACKETS),
	F(ignoredOctetTotalCount, 8, S_IGN_OCTETS),
	F(notSentFlowTotalCount, 8, S_LOST_FLOWS),
	F(observationTimeMilliseconds, 8, S_IGN_FIRST_MS),
	F(observationTimeMilliseconds, 8, S_IGN_LAST_MS),
};

/* RFC 7011 4.3 */
static const struct ipfix_field f_exporting_reliability[] = {
	F(exportingProcessId, 4, S_EXPORTER_ID),	/* scope */
	F(notSentFlowTotalCount, 8, S_NS_FLOWS),
	F(notSentPacketTotalCount, 8, S_NS_PACKETS),
	F(notSentOctetTotalCount, 8, S_NS_OCTETS),
	F(observationTimeMilliseconds, 8, S_NS_FIRST_MS),
	F(observationTimeMilliseconds, 8, S_NS_LAST_MS),
};

/* The layout nfdump 1.7.1 reads (ipfix.h): the name in interfaceDescription. */
static const struct ipfix_field f_interfaces[] = {
	F(observationDomainId, 4, S_ODID),		/* scope */
	F(ingressInterface, 4, S_IFINDEX),
	F(interfaceDescription, IPFIX_IFNAME_LEN, S_IFNAME),
};

#define TPL(tid, scope, f) [(tid) - IPFIX_TID_FIRST] = { tid, scope, ARRAY_SIZE(f), 0, f }

/* rec_len is filled in on first use. */
static struct ipfix_template templates[IPFIX_TEMPLATES] = {
	TPL(IPFIX_TID_IPV4, 0, f_ipv4),
	TPL(IPFIX_TID_IPV4_BIFLOW, 0, f_ipv4_biflow),
	TPL(IPFIX_TID_IPV6, 0, f_ipv6),
	TPL(IPFIX_TID_IPV6_BIFLOW, 0, f_ipv6_biflow),
	TPL(IPFIX_TID_L2, 0, f_l2),
	TPL(IPFIX_TID_L2_BIFLOW, 0, f_l2_biflow),
	TPL(IPFIX_TID_METERING_STATS, 1, f_metering_stats),
	TPL(IPFIX_TID_METERING_RELIABILITY, 1, f_metering_reliability),
	TPL(IPFIX_TID_EXPORTING_RELIABILITY, 1, f_exporting_reliability),
	TPL(IPFIX_TID_INTERFACES, 1, f_interfaces),
	TPL(IPFIX_TID_IPV4_TUNNEL, 0, f_ipv4_tunnel),
	TPL(IPFIX_TID_IPV4_TUNNEL_BIFLOW, 0, f_ipv4_tunnel_biflow),
	TPL(IPFIX_TID_IPV6_TUNNEL, 0, f_ipv6_tunnel),
	TPL(IPFIX_TID_IPV6_TUNNEL_BIFLOW, 0, f_ipv6_tunnel_biflow),
	TPL(IPFIX_TID_L2_TUNNEL, 0, f_l2_tunnel),
	TPL(IPFIX_TID_L2_TUNNEL_BIFLOW, 0, f_l2_tunnel_biflow),
};

static void templates_setup(void)
{
	static int done;

	if (done)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++) {
		struct ipfix_template *t = &templates[i];
		unsigned int len = 0;

		for (unsigned int j = 0; j < t->n_fields; j++)
			len += t->fields[j].len;
		t->rec_len = len;
	}
	done = 1;
}

const struct ipfix_template *ipfix_template(uint16_t tid)
{
	if (tid < IPFIX_TID_FIRST || tid >= IPFIX_TID_END)
		return NULL;
	templates_setup();
	return &templates[tid - IPFIX_TID_FIRST];
}

uint16_t ipfix_flow_tid(const struct flow_record *r)
{
	int bi = r->biflow != 0;

	if (r->key.tun_type) {
		switch (r->key.ip_version) {
		case 4:
			return bi ? IPFIX_TID_IPV4_TUNNEL_BIFLOW : IPFIX_TID_IPV4_TUNNEL;
		case 6:
			return bi ? IPFIX_TID_IPV6_TUNNEL_BIFLOW : IPFIX_TID_IPV6_TUNNEL;
		default:
			return bi ? IPFIX_TID_L2_TUNNEL_BIFLOW : IPFIX_TID_L2_TUNNEL;
		}
	}
	switch (r->key.ip_version) {
	case 4:
		return bi ? IPFIX_TID_IPV4_BIFLOW : IPFIX_TID_IPV4;
	case 6:
		return bi ? IPFIX_TID_IPV6_BIFLOW : IPFIX_TID_IPV6;
	default:
		return bi ? IPFIX_TID_L2_BIFLOW : IPFIX_TID_L2;
	}
}

size_t ipfix_template_record_len(uint16_t tid)
{
	const struct ipfix_template *t = ipfix_template(tid);
	size_t len;

	if (!t)
		return 0;
	len = t->scope ? 6 : 4;
	for (unsigned int i = 0; i < t->n_fields; i++)
		len += t->fields[i].pen ? 8 : 4;
	return len;
}

/* ---- message and sets ------------------------------------------------- */

static inline uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
	return p + 2;
}

static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static inline uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
	return p + 8;
}

/* An unsigned value in the field's length: reduced-size encoding keeps the
 * low-order octets (RFC 7011 section 6.2), so callers only pass values that
 * fit. */
static inline uint8_t *put_uint(uint8_t *p, uint64_t v, uint16_t len)
{
	switch (len) {
	case 1: return put_u8(p, (uint8_t)v);
	case 2: return put_u16(p, (uint16_t)v);
	case 4: return put_u32(p, (uint32_t)v);
	case 8: return put_u64(p, v);
	}
	for (unsigned int i = len; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
	return p + len;
}

void ipfix_msg_reset(struct ipfix_msg *m)
{
	m->len = IPFIX_MSG_HDR_LEN;
	m->set_off = 0;
	m->set_id = 0;
	m->records = 0;
	m->flows = 0;
	m->packets = 0;
	m->octets = 0;
}

void ipfix_msg_init(struct ipfix_msg *m, uint8_t *buf, size_t cap, uint32_t odid)
{
	templates_setup();
	m->buf = buf;
	m->cap = cap > IPFIX_MSG_MAX ? IPFIX_MSG_MAX : (uint32_t)cap;
	m->odid = odid;
	ipfix_msg_reset(m);
}

static void set_close(struct ipfix_msg *m)
{
	if (!m->set_off)
		return;
	put_u16(m->buf + m->set_off + 2, (uint16_t)(m->len - m->set_off));
	m->set_off = 0;
	m->set_id = 0;
}

/* Make room for @len octets in a set @set_id, opening the set if needed.
 * Returns where to write, or NULL (nothing changed) if it does not fit. */
static uint8_t *set_reserve(struct ipfix_msg *m, uint16_t set_id, size_t len)
{
	size_t need = len;
	int open = !(m->set_off && m->set_id == set_id);

	if (open)
		need += IPFIX_SET_HDR_LEN;
	if (m->len + need > m->cap)
		return NULL;
	if (open) {
		set_close(m);
		m->set_off = m->len;
		m->set_id = set_id;
		put_u16(m->buf + m->len, set_id);
		put_u16(m->buf + m->len + 2, 0);	/* length: set_close() */
		m->len += IPFIX_SET_HDR_LEN;
	}
	m->len += len;
	return m->buf + m->len - len;
}

int ipfix_msg_add_template(struct ipfix_msg *m, uint16_t tid)
{
	const struct ipfix_template *t = ipfix_template(tid);
	size_t len = ipfix_template_record_len(tid);
	uint8_t *p;

	if (!t)
		return -EINVAL;
	if (t->scope) {
		/* Options templates go one per set: nfdump 1.7 reads only the
		 * first options template record of a set. Closing the open set
		 * costs nothing: its header is already counted. */
		if (m->len + IPFIX_SET_HDR_LEN + len > m->cap)
			return -ENOSPC;
		set_close(m);
	}
	p = set_reserve(m, t->scope ? IPFIX_SET_OPTIONS : IPFIX_SET_TEMPLATE, len);
	if (!p)
		return -ENOSPC;
	p = put_u16(p, t->id);
	p = put_u16(p, t->n_fields);
	if (t->scope)
		p = put_u16(p, t->scope);
	for (unsigned int i = 0; i < t->n_fields; i++) {
		const struct ipfix_field *f = &t->fields[i];

		p = put_u16(p, f->id | (f->pen ? 0x8000 : 0));
		p = put_u16(p, f->len);
		if (f->pen)
			p = put_u32(p, f->pen);
	}
	if (t->scope)
		set_close(m);
	return 0;
}

/* ---- data records ----------------------------------------------------- */

struct values {
	const struct flow_record *flow;
	const struct ipfix_stats *stats;	/* also an interface record's domain */
	uint32_t ifindex;
	const char *ifname;
};

/* The side whose times a side reports: a side without packets in a biflow
 * takes the other side's, so no exported timestamp reads 1970 (collectors
 * that ignore the counters would show it); its counters say it is empty. */
static const struct flow_side *side_times(const struct flow_record *r,
					  const struct flow_side *s)
{
	const struct flow_side *o = s == &r->fwd ? &r->rev : &r->fwd;

	return !s->packets && r->biflow && o->packets ? o : s;
}

/* One field of a flow record: a single dispatch per field, as this runs
 * for every field of every record. */
static uint8_t *put_flow_field(uint8_t *p, const struct ipfix_field *f,
			       const struct flow_record *r, uint64_t epoch_ms)
{
	const struct flow_key *k = &r->key;
	const struct flow_side *s = f->src & S_REV ? &r->rev : &r->fwd;
	uint64_t v;

	switch (f->src & ~S_REV) {
	case S_COMMUNITY_ID: {
		char cid[COMMUNITY_ID_STR_LEN + 1];

		if (!r->community_id_set) {
			memset(p, 0, f->len);
			return p + f->len;
		}
		community_id_str(r->community_id, cid);
		memcpy(p, cid, f->len);
		return p + f->len;
	}
	case S_SRC_ADDR:
		/* IPv4 in the first 4 octets of ip6, MACs in the first 6:
		 * both already in network order. */
		memcpy(p, k->src.ip6, f->len);
		return p + f->len;
	case S_DST_ADDR:
		memcpy(p, k->dst.ip6, f->len);
		return p + f->len;
	case S_TUN_SRC4:
	case S_TUN_DST4:
	case S_TUN_SRC6:
	case S_TUN_DST6: {
		int v6 = (f->src & ~S_REV) >= S_TUN_SRC6;
		int dst = (f->src & ~S_REV) == S_TUN_DST4 || (f->src & ~S_REV) == S_TUN_DST6;

		if (k->tun_type && r->tun.ip_version == (v6 ? 6 : 4))
			memcpy(p, dst ? r->tun.dst.ip6 : r->tun.src.ip6, f->len);
		else
			memset(p, 0, f->len);
		return p + f->len;
	}
	case S_SRC_PORT:   v = flow_key_is_icmp(k) ? 0 : k->src_port; break;
	case S_DST_PORT:   v = flow_key_is_icmp(k) ? 0 : k->dst_port; break;
	case S_ICMP:	   v = flow_key_is_icmp(k) ? k->dst_port : 0; break;
	case S_PROTO:	   v = k->protocol; break;
	case S_IP_VERSION: v = k->ip_version; break;
	case S_ETHER_TYPE: v = k->ether_type; break;
	case S_VLAN_INNER: v = k->vlan_inner & 0xfff; break;
	case S_END_REASON: v = r->end_reason; break;
	case S_BIFLOW_DIR: v = r->biflow_direction; break;
	case S_IN_IF:	   v = s->direction == FLOW_DIR_INGRESS ? s->ifindex : 0; break;
	case S_OUT_IF:	   v = s->direction == FLOW_DIR_EGRESS ? s->ifindex : 0; break;
	case S_IN_VLAN:	   v = s->direction == FLOW_DIR_INGRESS ? k->vlan_outer & 0xfff : 0; break;
	case S_OUT_VLAN:   v = s->direction == FLOW_DIR_EGRESS ? k->vlan_outer & 0xfff : 0; break;
	case S_DIRECTION:  v = s->direction; break;
	case S_START_MS:   v = side_times(r, s)->first_ms; break;
	case S_END_MS:	   v = side_times(r, s)->last_ms; break;
	case S_OCTETS:	   v = s->octets; break;
	case S_PACKETS:	   v = s->packets; break;
	case S_L2_OCTETS:  v = s->l2_octets; break;
	case S_TCP_FLAGS:  v = s->tcp_flags; break;
	case S_TOS:	   v = s->tos; break;
	case S_MIN_TTL:	   v = s->min_ttl; break;
	case S_MAX_TTL:	   v = s->max_ttl; break;
	case S_MIN_LEN:	   v = s->min_ip_len; break;
	case S_MAX_LEN:	   v = s->max_ip_len; break;
	case S_FLOW_LABEL: v = s->flow_label & 0xfffff; break;
	/* before the epoch (a flow an adopted table held): 0, not a wrap */
	case S_UPTIME_START:
		v = side_times(r, s)->first_ms;
		v = v > epoch_ms ? (uint32_t)(v - epoch_ms) : 0;
		break;
	case S_UPTIME_END:
		v = side_times(r, s)->last_ms;
		v = v > epoch_ms ? (uint32_t)(v - epoch_ms) : 0;
		break;
	case S_TUN_TYPE:   v = k->tun_type; break;
	case S_TUN_ID:	   v = k->tun_id; break;
	case S_L2_SEGMENT:
		v = k->tun_type == TUNNEL_VXLAN ?
		    (uint64_t)L2_SEGMENT_VXLAN << 56 | (k->tun_id & 0xffffff) : 0;
		break;
	default:	   v = 0; break;
	}
	return put_uint(p, v, f->len);
}

uint8_t *ipfix_put_flow(uint8_t *p, const struct ipfix_field *f, unsigned int n,
			const struct flow_record *r, uint64_t epoch_ms)
{
	for (unsigned int i = 0; i < n; i++)
		p = put_flow_field(p, &f[i], r, epoch_ms);
	return p;
}

static uint64_t stats_value(const struct ipfix_stats *s, uint8_t src)
{
	switch (src) {
	case S_ODID:		return s->observation_domain;
	case S_EXPORTER_ID:	return s->exporting_process;
	case S_EXP_MESSAGES:	return s->exported_messages;
	case S_EXP_RECORDS:	return s->exported_records;
	case S_EXP_OCTETS:	return s->exported_octets;
	case S_OBSERVED_FLOWS:	return s->observed_flows;
	case S_IGN_PACKETS:	return s->ignored_packets;
	case S_IGN_OCTETS:	return s->ignored_octets;
	case S_LOST_FLOWS:	return s->lost_flows;
	case S_IGN_FIRST_MS:	return s->ignored_first_ms;
	case S_IGN_LAST_MS:	return s->ignored_last_ms;
	case S_NS_FLOWS:	return s->not_sent_flows;
	case S_NS_PACKETS:	return s->not_sent_packets;
	case S_NS_OCTETS:	return s->not_sent_octets;
	case S_NS_FIRST_MS:	return s->not_sent_first_ms;
	case S_NS_LAST_MS:	return s->not_sent_last_ms;
	}
	return 0;
}

/* A fixed-length string (RFC 7011 6.1.6), zero-padded: at most len - 1
 * octets of @s, so the field always ends in a zero octet. */
static uint8_t *put_string(uint8_t *p, const char *s, uint16_t len)
{
	size_t n = s ? strnlen(s, len - 1) : 0;

	if (n)
		memcpy(p, s, n);
	memset(p + n, 0, len - n);
	return p + len;
}

static uint8_t *put_field(uint8_t *p, const struct ipfix_field *f, const struct values *v)
{
	switch (f->src) {
	case S_IFINDEX:
		return put_u32(p, v->ifindex);
	case S_IFNAME:
		return put_string(p, v->ifname, f->len);
	}
	return put_uint(p, stats_value(v->stats, f->src), f->len);
}

uint8_t *ipfix_put_options(uint8_t *p, const struct ipfix_field *f, unsigned int n,
			   const struct ipfix_stats *s, uint32_t ifindex, const char *ifname)
{
	struct values v = { .stats = s, .ifindex = ifindex, .ifname = ifname };

	for (unsigned int i = 0; i < n; i++)
		p = put_field(p, &f[i], &v);
	return p;
}

static int add_record(struct ipfix_msg *m, const struct ipfix_template *t,
		      const struct values *v)
{
	uint8_t *p = set_reserve(m, t->id, t->rec_len);

	if (!p)
		return -ENOSPC;
	if (v->flow) {
		ipfix_put_flow(p, t->fields, t->n_fields, v->flow, 0);
	} else {
		for (unsigned int i = 0; i < t->n_fields; i++)
			p = put_field(p, &t->fields[i], v);
	}
	m->records++;
	return 0;
}

int ipfix_msg_add_flow(struct ipfix_msg *m, const struct flow_record *r)
{
	struct values v = { .flow = r };
	int err = add_record(m, ipfix_template(ipfix_flow_tid(r)), &v);

	if (err)
		return err;
	m->flows++;
	m->packets += flow_record_packets(r);
	m->octets += flow_record_octets(r);
	return 0;
}

int ipfix_msg_add_stats(struct ipfix_msg *m, uint16_t tid, const struct ipfix_stats *s)
{
	struct values v = { .stats = s };

	if (tid != IPFIX_TID_METERING_STATS && tid != IPFIX_TID_METERING_RELIABILITY &&
	    tid != IPFIX_TID_EXPORTING_RELIABILITY)
		return -EINVAL;
	return add_record(m, ipfix_template(tid), &v);
}

int ipfix_msg_add_interface(struct ipfix_msg *m, uint32_t odid, uint32_t ifindex,
			    const char *name)
{
	struct ipfix_stats s = { .observation_domain = odid };
	struct values v = { .stats = &s, .ifindex = ifindex, .ifname = name };

	return add_record(m, ipfix_template(IPFIX_TID_INTERFACES), &v);
}

size_t ipfix_msg_finish(struct ipfix_msg *m, uint32_t export_time, uint32_t seq)
{
	uint8_t *p = m->buf;

	set_close(m);
	p = put_u16(p, IPFIX_VERSION);
	p = put_u16(p, (uint16_t)m->len);
	p = put_u32(p, export_time);
	p = put_u32(p, seq);
	put_u32(p, m->odid);
	return m->len;
}
