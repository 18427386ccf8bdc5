// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetFlow v9 (RFC 3954) and v5 encoders: templates as tables written by
 * ipfix.c's field writer, the packets' headers and FlowSets here.
 * netflow.h says what a record holds; netflow_export.c sends them.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "errline.h"
#include "netflow.h"

/* Field types (RFC 3954 section 8; the IPFIX registry's ids from 128 for
 * the statistics v9 does not name). */
enum {
	NF9_IN_BYTES = 1,
	NF9_IN_PKTS = 2,
	NF9_PROTOCOL = 4,
	NF9_SRC_TOS = 5,
	NF9_TCP_FLAGS = 6,
	NF9_L4_SRC_PORT = 7,
	NF9_IPV4_SRC_ADDR = 8,
	NF9_INPUT_SNMP = 10,
	NF9_L4_DST_PORT = 11,
	NF9_IPV4_DST_ADDR = 12,
	NF9_OUTPUT_SNMP = 14,
	NF9_LAST_SWITCHED = 21,
	NF9_FIRST_SWITCHED = 22,
	NF9_MIN_PKT_LNGTH = 25,
	NF9_MAX_PKT_LNGTH = 26,
	NF9_IPV6_SRC_ADDR = 27,
	NF9_IPV6_DST_ADDR = 28,
	NF9_IPV6_FLOW_LABEL = 31,
	NF9_ICMP_TYPE = 32,
	NF9_TOTAL_BYTES_EXP = 40,
	NF9_TOTAL_PKTS_EXP = 41,	/* export packets */
	NF9_TOTAL_FLOWS_EXP = 42,
	NF9_MIN_TTL = 52,
	NF9_MAX_TTL = 53,
	NF9_IN_SRC_MAC = 56,
	NF9_SRC_VLAN = 58,
	NF9_DST_VLAN = 59,
	NF9_IP_PROTOCOL_VERSION = 60,
	NF9_DIRECTION = 61,
	NF9_IN_DST_MAC = 80,
	NF9_IF_NAME = 82,
	NF9_OBSERVED_FLOWS = 163,	/* observedFlowTotalCount */
	NF9_IGNORED_PACKETS = 164,	/* ignoredPacketTotalCount */
	NF9_IGNORED_OCTETS = 165,
	NF9_NOT_SENT_FLOWS = 166,	/* notSentFlowTotalCount */
	NF9_NOT_SENT_PACKETS = 167,
	NF9_NOT_SENT_OCTETS = 168,
};

#define F(type, len, src)	{ NF9_##type, len, 0, src }

#define NF9_SIDE \
	F(INPUT_SNMP, 4, S_IN_IF), \
	F(OUTPUT_SNMP, 4, S_OUT_IF), \
	F(SRC_VLAN, 2, S_IN_VLAN), \
	F(DST_VLAN, 2, S_OUT_VLAN), \
	F(DIRECTION, 1, S_DIRECTION), \
	F(FIRST_SWITCHED, 4, S_UPTIME_START), \
	F(LAST_SWITCHED, 4, S_UPTIME_END), \
	F(IN_BYTES, 8, S_OCTETS), \
	F(IN_PKTS, 8, S_PACKETS)

/* TCP_FLAGS is one octet in v9: the header's flag bits, which is all
 * tcpControlBits holds (RFC 7125). ICMP_TYPE serves ICMPv6 too: v9 has
 * no field of its own for it. */
#define NF9_IP_SIDE \
	NF9_SIDE, \
	F(TCP_FLAGS, 1, S_TCP_FLAGS), \
	F(SRC_TOS, 1, S_TOS), \
	F(MIN_TTL, 1, S_MIN_TTL), \
	F(MAX_TTL, 1, S_MAX_TTL), \
	F(MIN_PKT_LNGTH, 2, S_MIN_LEN), \
	F(MAX_PKT_LNGTH, 2, S_MAX_LEN)

static const struct ipfix_field f9_ipv4[] = {
	F(IPV4_SRC_ADDR, 4, S_SRC_ADDR),
	F(IPV4_DST_ADDR, 4, S_DST_ADDR),
	F(L4_SRC_PORT, 2, S_SRC_PORT),
	F(L4_DST_PORT, 2, S_DST_PORT),
	F(PROTOCOL, 1, S_PROTO),
	F(ICMP_TYPE, 2, S_ICMP),
	F(IP_PROTOCOL_VERSION, 1, S_IP_VERSION),
	NF9_IP_SIDE,
};

static const struct ipfix_field f9_ipv6[] = {
	F(IPV6_SRC_ADDR, 16, S_SRC_ADDR),
	F(IPV6_DST_ADDR, 16, S_DST_ADDR),
	F(L4_SRC_PORT, 2, S_SRC_PORT),
	F(L4_DST_PORT, 2, S_DST_PORT),
	F(PROTOCOL, 1, S_PROTO),
	F(ICMP_TYPE, 2, S_ICMP),
	F(IP_PROTOCOL_VERSION, 1, S_IP_VERSION),
	NF9_IP_SIDE,
	F(IPV6_FLOW_LABEL, 3, S_FLOW_LABEL),	/* 20 bits in 3 octets (RFC 3954) */
};

static const struct ipfix_field f9_l2[] = {
	F(IN_SRC_MAC, 6, S_SRC_ADDR),
	F(IN_DST_MAC, 6, S_DST_ADDR),
	NF9_SIDE,
};

/* Scope first (RFC 3954 6.1): System, 4 octets, the source ID. */
static const struct ipfix_field f9_metering[] = {
	{ NF9_SCOPE_SYSTEM, 4, 0, S_ODID },
	F(OBSERVED_FLOWS, 8, S_OBSERVED_FLOWS),
	F(IGNORED_PACKETS, 8, S_IGN_PACKETS),
	F(IGNORED_OCTETS, 8, S_IGN_OCTETS),
	F(NOT_SENT_FLOWS, 8, S_LOST_FLOWS),	/* as IPFIX's: lost by the meter */
};

static const struct ipfix_field f9_exporting[] = {
	{ NF9_SCOPE_SYSTEM, 4, 0, S_ODID },
	F(TOTAL_BYTES_EXP, 8, S_EXP_OCTETS),
	F(TOTAL_PKTS_EXP, 8, S_EXP_MESSAGES),
	F(TOTAL_FLOWS_EXP, 8, S_EXP_RECORDS),
	F(NOT_SENT_FLOWS, 8, S_NS_FLOWS),
	F(NOT_SENT_PACKETS, 8, S_NS_PACKETS),
	F(NOT_SENT_OCTETS, 8, S_NS_OCTETS),
};

static const struct ipfix_field f9_interfaces[] = {
	{ NF9_SCOPE_INTERFACE, 4, 0, S_IFINDEX },
	F(IF_NAME, NF9_IFNAME_LEN, S_IFNAME),
};

#undef F

#define TPL(tid, scope, f) [(tid) - NF9_TID_FIRST] = { tid, scope, ARRAY_SIZE(f), 0, f }

static struct ipfix_template nf9_tpl[NF9_TEMPLATES] = {
	TPL(NF9_TID_IPV4, 0, f9_ipv4),
	TPL(NF9_TID_IPV6, 0, f9_ipv6),
	TPL(NF9_TID_L2, 0, f9_l2),
	TPL(NF9_TID_METERING, 1, f9_metering),
	TPL(NF9_TID_EXPORTING, 1, f9_exporting),
	TPL(NF9_TID_INTERFACES, 1, f9_interfaces),
};

const struct ipfix_template *nf9_template(uint16_t tid)
{
	static int done;

	if (tid < NF9_TID_FIRST || tid >= NF9_TID_END)
		return NULL;
	if (!done) {
		for (size_t i = 0; i < ARRAY_SIZE(nf9_tpl); i++) {
			struct ipfix_template *t = &nf9_tpl[i];

			t->rec_len = 0;
			for (unsigned int j = 0; j < t->n_fields; j++)
				t->rec_len += t->fields[j].len;
		}
		done = 1;
	}
	return &nf9_tpl[tid - NF9_TID_FIRST];
}

uint16_t nf9_flow_tid(const struct flow_record *r)
{
	switch (r->key.ip_version) {
	case 4:  return NF9_TID_IPV4;
	case 6:  return NF9_TID_IPV6;
	default: return NF9_TID_L2;
	}
}

/* id, count (or scope and option lengths), then type and length each */
size_t nf9_template_record_len(uint16_t tid)
{
	const struct ipfix_template *t = nf9_template(tid);

	if (!t)
		return 0;
	return (t->scope ? 6 : 4) + 4 * (size_t)t->n_fields;
}

/* ---- v9 packets ------------------------------------------------------------ */

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

static inline uint32_t align4(uint32_t n)
{
	return (n + 3) & ~3u;
}

void nf9_msg_reset(struct nf9_msg *m)
{
	m->len = NF9_HDR_LEN;
	m->set_off = 0;
	m->set_id = 0;
	m->count = 0;
	m->records = 0;
	m->flows = 0;
	m->packets = 0;
	m->octets = 0;
}

void nf9_msg_init(struct nf9_msg *m, uint8_t *buf, size_t cap)
{
	nf9_template(NF9_TID_FIRST);
	m->buf = buf;
	m->cap = (cap > NF9_MSG_MAX ? NF9_MSG_MAX : (uint32_t)cap) & ~3u;
	nf9_msg_reset(m);
}

/* RFC 3954 5.3: a FlowSet is padded to 32 bits, the padding in its
 * length, so the next one starts aligned. */
static void nf9_set_close(struct nf9_msg *m)
{
	uint32_t end = align4(m->len);

	if (!m->set_off)
		return;
	memset(m->buf + m->len, 0, end - m->len);
	m->len = end;
	put_u16(m->buf + m->set_off + 2, (uint16_t)(m->len - m->set_off));
	m->set_off = 0;
	m->set_id = 0;
}

/* Room for @len octets in FlowSet @set_id: where to write, or NULL (the
 * packet unchanged). cap is a multiple of 4, so the padding always fits. */
static uint8_t *nf9_reserve(struct nf9_msg *m, uint16_t set_id, size_t len)
{
	int open = !(m->set_off && m->set_id == set_id);
	uint32_t start = open ? align4(m->len) + NF9_SET_HDR_LEN : m->len;

	if (start + len > m->cap || m->count == UINT16_MAX)
		return NULL;
	if (open) {
		nf9_set_close(m);
		m->set_off = m->len;
		m->set_id = set_id;
		put_u16(m->buf + m->len, set_id);
		put_u16(m->buf + m->len + 2, 0);	/* nf9_set_close() */
		m->len += NF9_SET_HDR_LEN;
	}
	m->len += len;
	return m->buf + m->len - len;
}

int nf9_msg_add_template(struct nf9_msg *m, uint16_t tid)
{
	const struct ipfix_template *t = nf9_template(tid);
	uint8_t *p;

	if (!t)
		return -EINVAL;
	/* one options template a FlowSet, as for IPFIX (nfdump) */
	p = nf9_reserve(m, t->scope ? NF9_SET_OPTIONS : NF9_SET_TEMPLATE,
			nf9_template_record_len(tid));
	if (!p)
		return -ENOSPC;
	p = put_u16(p, t->id);
	if (t->scope) {
		p = put_u16(p, (uint16_t)(4 * t->scope));
		p = put_u16(p, (uint16_t)(4 * (t->n_fields - t->scope)));
	} else {
		p = put_u16(p, t->n_fields);
	}
	for (unsigned int i = 0; i < t->n_fields; i++) {
		p = put_u16(p, t->fields[i].id);
		p = put_u16(p, t->fields[i].len);
	}
	m->count++;
	if (t->scope)
		nf9_set_close(m);
	return 0;
}

/* The reverse side of biflow @r as a uniflow record of its own. */
static void reverse_record(const struct flow_record *r, struct flow_record *u)
{
	memset(u, 0, sizeof(*u));
	flow_key_reverse(&r->key, &u->key);
	u->key.ifindex = r->rev.ifindex;
	u->key.direction = r->rev.direction;
	u->end_reason = r->end_reason;
	u->fwd = r->rev;
}

/* The uniflow records @r goes as: 1 or 2 in @u (u[0] may be @r itself). */
static unsigned int uniflows(const struct flow_record *r, struct flow_record *rev,
			     const struct flow_record *u[2])
{
	unsigned int n = 0;

	if (!r->biflow || r->fwd.packets || !r->rev.packets)
		u[n++] = r;
	if (r->biflow && r->rev.packets) {
		reverse_record(r, rev);
		u[n++] = rev;
	}
	return n;
}

int nf9_msg_add_flow(struct nf9_msg *m, const struct flow_record *r, uint64_t epoch_ms)
{
	const struct ipfix_template *t = nf9_template(nf9_flow_tid(r));
	const struct flow_record *u[2];
	struct flow_record rev;
	unsigned int n = uniflows(r, &rev, u);
	uint8_t *p;

	if (m->count > UINT16_MAX - n)
		return -ENOSPC;
	p = nf9_reserve(m, t->id, (size_t)n * t->rec_len);
	if (!p)
		return -ENOSPC;
	/* a biflow's forward record keeps its own times (no side_times) */
	for (unsigned int i = 0; i < n; i++) {
		struct flow_record one = *u[i];

		one.biflow = 0;
		p = ipfix_put_flow(p, t->fields, t->n_fields, &one, epoch_ms);
	}
	m->count += n;
	m->records += n;
	m->flows++;
	m->packets += flow_record_packets(r);
	m->octets += flow_record_octets(r);
	return 0;
}

static int nf9_add_options(struct nf9_msg *m, uint16_t tid, const struct ipfix_stats *s,
			   uint32_t ifindex, const char *name)
{
	const struct ipfix_template *t = nf9_template(tid);
	uint8_t *p = nf9_reserve(m, t->id, t->rec_len);

	if (!p)
		return -ENOSPC;
	ipfix_put_options(p, t->fields, t->n_fields, s, ifindex, name);
	m->count++;
	m->records++;
	return 0;
}

int nf9_msg_add_stats(struct nf9_msg *m, uint16_t tid, const struct ipfix_stats *s)
{
	if (tid != NF9_TID_METERING && tid != NF9_TID_EXPORTING)
		return -EINVAL;
	return nf9_add_options(m, tid, s, 0, NULL);
}

int nf9_msg_add_interface(struct nf9_msg *m, uint32_t ifindex, const char *name)
{
	struct ipfix_stats none = { 0 };

	return nf9_add_options(m, NF9_TID_INTERFACES, &none, ifindex, name);
}

size_t nf9_msg_finish(struct nf9_msg *m, uint32_t uptime_ms, uint32_t unix_secs,
		      uint32_t seq, uint32_t source_id)
{
	uint8_t *p = m->buf;

	nf9_set_close(m);
	p = put_u16(p, NF9_VERSION);
	p = put_u16(p, m->count);
	p = put_u32(p, uptime_ms);
	p = put_u32(p, unix_secs);
	p = put_u32(p, seq);
	put_u32(p, source_id);
	return m->len;
}

/* ---- v5 packets ------------------------------------------------------------ */

const char *const nf5_reason_names[NF5_REASONS] = {
	[NF5_OK] = "",
	[NF5_IPV6] = "IPv6",
	[NF5_L2] = "non-IP",
	[NF5_TOO_BIG] = "too large to split",
};

void nf5_msg_reset(struct nf5_msg *m)
{
	m->count = 0;
	m->flows = 0;
	m->packets = 0;
	m->octets = 0;
}

void nf5_msg_init(struct nf5_msg *m, unsigned int max_records)
{
	memset(m, 0, sizeof(*m));
	m->max = max_records > NF5_MAX_RECORDS ? NF5_MAX_RECORDS : (uint16_t)max_records;
}

/* Records one side takes: as many as its largest counter needs. */
static unsigned int nf5_split(const struct flow_side *s)
{
	/* no + MAX - 1: a counter near 2^64 must not wrap to a few records */
	uint64_t n = s->packets / NF5_COUNTER_MAX + !!(s->packets % NF5_COUNTER_MAX);
	uint64_t o = s->octets / NF5_COUNTER_MAX + !!(s->octets % NF5_COUNTER_MAX);

	if (o > n)
		n = o;
	return n ? (n > NF5_MAX_SPLIT ? NF5_MAX_SPLIT + 1 : (unsigned int)n) : 1;
}

enum nf5_unsupported nf5_check(const struct flow_record *r, unsigned int *n)
{
	const struct flow_record *u[2];
	struct flow_record rev;
	unsigned int k;

	*n = 0;
	if (r->key.ip_version == 6)
		return NF5_IPV6;
	if (r->key.ip_version != 4)
		return NF5_L2;
	k = uniflows(r, &rev, u);
	for (unsigned int i = 0; i < k; i++)
		*n += nf5_split(&u[i]->fwd);
	return *n > NF5_MAX_SPLIT ? NF5_TOO_BIG : NF5_OK;
}

static uint16_t nf5_ifindex(struct nf5_msg *m, uint32_t ifindex)
{
	if (ifindex <= UINT16_MAX)
		return (uint16_t)ifindex;
	m->clamped_ifindex++;
	return 0;
}

static uint32_t nf5_time(uint64_t ms, uint64_t epoch_ms)
{
	return ms > epoch_ms ? (uint32_t)(ms - epoch_ms) : 0;
}

/* Record @i of @n of uniflow @u: an even share of its counters, the
 * remainder on the first ones. */
static void nf5_put(struct nf5_msg *m, const struct flow_record *u, unsigned int i,
		    unsigned int n, uint64_t epoch_ms)
{
	const struct flow_key *k = &u->key;
	const struct flow_side *s = &u->fwd;
	uint8_t *p = m->buf + NF5_HDR_LEN + (size_t)m->count * NF5_REC_LEN;
	uint64_t pk = s->packets / n + (i < s->packets % n);
	uint64_t oc = s->octets / n + (i < s->octets % n);
	int icmp = flow_key_is_icmp(k);

	memset(p, 0, NF5_REC_LEN);
	memcpy(p, k->src.ip6, 4);
	memcpy(p + 4, k->dst.ip6, 4);
	/* nexthop (8) stays 0 */
	put_u16(p + 12, nf5_ifindex(m, s->direction == FLOW_DIR_INGRESS ? s->ifindex : 0));
	put_u16(p + 14, nf5_ifindex(m, s->direction == FLOW_DIR_EGRESS ? s->ifindex : 0));
	put_u32(p + 16, (uint32_t)pk);
	put_u32(p + 20, (uint32_t)oc);
	put_u32(p + 24, nf5_time(s->first_ms, epoch_ms));
	put_u32(p + 28, nf5_time(s->last_ms, epoch_ms));
	/* ICMP: type << 8 | code in the destination port, as v5 exporters do */
	put_u16(p + 32, icmp ? 0 : k->src_port);
	put_u16(p + 34, k->dst_port);
	p[37] = (uint8_t)s->tcp_flags;
	p[38] = k->protocol;
	p[39] = s->tos;
	/* AS numbers and masks (40..45) stay 0: nothing here knows them */
	m->count++;
}

int nf5_msg_add_flow(struct nf5_msg *m, const struct flow_record *r, uint64_t epoch_ms)
{
	const struct flow_record *u[2];
	struct flow_record rev;
	unsigned int n, k;

	if (nf5_check(r, &n) != NF5_OK)
		return -EOPNOTSUPP;
	if (m->count + n > m->max)
		return -ENOSPC;
	k = uniflows(r, &rev, u);
	for (unsigned int i = 0; i < k; i++) {
		unsigned int parts = nf5_split(&u[i]->fwd);

		for (unsigned int j = 0; j < parts; j++)
			nf5_put(m, u[i], j, parts, epoch_ms);
	}
	m->flows++;
	m->packets += flow_record_packets(r);
	m->octets += flow_record_octets(r);
	return 0;
}

size_t nf5_msg_finish(struct nf5_msg *m, uint32_t uptime_ms, uint64_t wall_ns,
		      uint32_t flow_seq, uint32_t odid)
{
	uint8_t *p = m->buf;

	p = put_u16(p, NF5_VERSION);
	p = put_u16(p, m->count);
	p = put_u32(p, uptime_ms);
	p = put_u32(p, (uint32_t)(wall_ns / 1000000000));
	p = put_u32(p, (uint32_t)(wall_ns % 1000000000));
	p = put_u32(p, flow_seq);
	*p++ = (uint8_t)(odid >> 8);	/* engine_type */
	*p++ = (uint8_t)odid;		/* engine_id */
	put_u16(p, 0);			/* sampling: none */
	return NF5_HDR_LEN + (size_t)m->count * NF5_REC_LEN;
}
