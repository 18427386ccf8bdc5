/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's flow record: what the sweep makes of the kernel's per-CPU
 * counters and what every output (text, JSON, IPFIX) receives. Agent-only;
 * the kernel's layout is include/bpfix.h.
 */
#ifndef BPFIX_FLOW_H
#define BPFIX_FLOW_H

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include "bpfix.h"
#include "clock.h"
#include "community_id.h"

/* flowEndReason (IANA IPFIX registry, RFC 5102 section 5.11.3). */
#define FLOW_END_IDLE      1	/* idle timeout */
#define FLOW_END_ACTIVE    2	/* active timeout: the flow goes on */
#define FLOW_END_DETECTED  3	/* end of flow detected (TCP FIN both ways, RST) */
#define FLOW_END_FORCED    4	/* forced end (agent shutdown) */
#define FLOW_END_RESOURCES 5	/* lack of resources (table near full) */

/* biflowDirection (IE 239, RFC 5103 section 6.3). */
#define BIFLOW_ARBITRARY        0
#define BIFLOW_INITIATOR        1	/* source is the initiator */
#define BIFLOW_REVERSE_INITIATOR 2
#define BIFLOW_PERIMETER        3

/* struct flow_side: include/bpfix.h (a flow table entry holds two). */

/* The outer addresses of a record's tunnel, as the forward direction had
 * them: what key.tun_ref names in the tunnels map (include/bpfix.h,
 * TUNNELS), filled in when the record is handed to the outputs. */
struct flow_tunnel {
	uint8_t ip_version;		/* 4 or 6; 0: no addresses (MPLS) */
	union flow_addr src;
	union flow_addr dst;
};

/*
 * A flow record as exported. key is the forward direction's key: for a
 * biflow the initiator's (source = initiator), key.ifindex/direction are
 * those of fwd. A biflow's rev describes packets from key.dst to key.src;
 * it may have no packets (a one-way conversation seen in biflow mode).
 */
struct flow_record {
	struct flow_key  key;
	uint8_t          biflow;		/* 1: rev is meaningful */
	uint8_t          end_reason;		/* FLOW_END_* */
	uint8_t          biflow_direction;	/* BIFLOW_* */
	/* Community ID v1 (community_id.h) of the conversation, made once
	 * where the record is finished; set 0: none (an L2 flow). */
	uint8_t          community_id_set;
	uint8_t          community_id[SHA1_DIGEST_LEN];
	struct flow_side fwd;
	struct flow_side rev;
	struct flow_tunnel tun;			/* key.tun_type set: its outer addresses */
};

/* ICMP or ICMPv6 as the kernel keys it (parse.bpf.h, parse_l4: either
 * protocol under either IP version): type << 8 | code in dst_port. */
static inline int flow_key_is_icmp(const struct flow_key *k)
{
	return k->ip_version && (k->protocol == IPPROTO_ICMP || k->protocol == IPPROTO_ICMPV6);
}

/* The name of flow_key.tun_type, as text and JSON show it; NULL for none. */
static inline const char *flow_tunnel_name(uint8_t type)
{
	switch (type) {
	case TUNNEL_VXLAN:  return "vxlan";
	case TUNNEL_GENEVE: return "geneve";
	case TUNNEL_GRE:    return "gre";
	case TUNNEL_IPIP:   return "ipip";
	case TUNNEL_MPLS:   return "mpls";
	}
	return NULL;
}

/* What flow_key.tun_id is for a tunnel type: "vni", "key", "label"; NULL
 * when the type has none (IP-in-IP). */
static inline const char *flow_tunnel_id_name(uint8_t type)
{
	switch (type) {
	case TUNNEL_VXLAN:
	case TUNNEL_GENEVE: return "vni";
	case TUNNEL_GRE:    return "key";
	case TUNNEL_MPLS:   return "label";
	}
	return NULL;
}

/* Packets and octets a record holds, both directions of a biflow: what
 * every output and the journal's ledger count it as. */
/* ICMP types that ask (1) or answer (-1); 0: neither (ICMP or ICMPv6 by
 * the key's protocol, type in dst_port's high octet). */
static inline int flow_key_icmp_query(const struct flow_key *k)
{
	uint8_t type = k->dst_port >> 8;

	if (k->protocol == IPPROTO_ICMP) {
		switch (type) {
		case 8: case 13: case 15: case 17: return 1;	/* echo, timestamp, info, mask */
		case 0: case 14: case 16: case 18: return -1;
		}
	} else {
		switch (type) {
		case 128: case 130: case 133: case 135: case 139: return 1;
		case 129: case 131: case 134: case 136: case 140: return -1;
		}
	}
	return 0;
}

/* The request type an answer belongs to, as type << 8 (code dropped: the
 * pair shares one entry; each side keeps its own key). */
static inline uint16_t flow_key_icmp_pair_type(const struct flow_key *k)
{
	uint8_t type = k->dst_port >> 8;

	if (flow_key_icmp_query(k) < 0)
		type = k->protocol == IPPROTO_ICMP ? (type == 0 ? 8 : type - 1) : type - 1;
	return (uint16_t)type << 8;
}

/* The key of the opposite direction (ICMP echo reply <-> request): the
 * flow table pairs directions by it, NetFlow (unidirectional) writes a
 * biflow's reverse record with it. */
static inline void flow_key_reverse(const struct flow_key *k, struct flow_key *out)
{
	*out = *k;
	out->src = k->dst;
	out->dst = k->src;
	/* The answer comes back through the tunnel the other way. */
	out->tun_reversed = k->tun_ref ? !k->tun_reversed : 0;
	if (flow_key_is_icmp(k)) {
		uint8_t type = k->dst_port >> 8;
		int q = flow_key_icmp_query(k);

		if (q > 0)
			type = k->protocol == IPPROTO_ICMP ? (type == 8 ? 0 : type + 1) : type + 1;
		else if (q < 0)
			type = flow_key_icmp_pair_type(k) >> 8;
		out->src_port = 0;
		out->dst_port = (uint16_t)type << 8;
		return;
	}
	out->src_port = k->dst_port;
	out->dst_port = k->src_port;
}

static inline uint64_t flow_record_packets(const struct flow_record *r)
{
	return r->fwd.packets + (r->biflow ? r->rev.packets : 0);
}

static inline uint64_t flow_record_octets(const struct flow_record *r)
{
	return r->fwd.octets + (r->biflow ? r->rev.octets : 0);
}

/* Start and end of a record over both directions, in wall-clock ms. */
static inline uint64_t flow_record_start_ms(const struct flow_record *r)
{
	uint64_t s = r->fwd.packets ? r->fwd.first_ms : UINT64_MAX;

	if (r->biflow && r->rev.packets && r->rev.first_ms < s)
		s = r->rev.first_ms;
	return s == UINT64_MAX ? 0 : s;
}

static inline uint64_t flow_record_end_ms(const struct flow_record *r)
{
	uint64_t e = r->fwd.packets ? r->fwd.last_ms : 0;

	if (r->biflow && r->rev.packets && r->rev.last_ms > e)
		e = r->rev.last_ms;
	return e;
}

#endif /* BPFIX_FLOW_H */
