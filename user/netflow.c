// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetFlow v9 (RFC 3954) and v5 exporting processes over UDP: the encoders
 * (netflow.h says what a record holds) and the output, which makes export
 * packets as records come and hands them to udp_tx.c's queue and pacer,
 * the same as IPFIX over UDP (ipfix_export.c's header comment says how
 * that is paced and counted).
 *
 * v9, what goes out and when:
 *  - Templates (the three data templates and the three options templates,
 *    in one packet or a few) before the first data, again every
 *    --template-refresh seconds and every NF9_REFRESH_PACKETS export
 *    packets (RFC 3954 section 9: both, as routers do, so a collector that
 *    starts late decodes within either), and ahead of the next data after
 *    a send was refused (ECONNREFUSED: nothing listened).
 *  - Options records (metering statistics, exporting statistics, the
 *    interface table) follow the templates every refresh interval and once
 *    more at close, scope System = the source ID.
 *  - The header's sequence number counts the export packets this exporter
 *    handed to the network before it (RFC 3954 section 5.1: packets, not
 *    records), stamped as the packet leaves, template packets included; a
 *    packet dropped before it left (queue full, shutdown) is counted in the
 *    exporting statistics instead. sysUptime and unix_secs are stamped
 *    then too; sysUptime counts from the exporter's start.
 *  - Source ID is --observation-domain.
 *
 * v5: 24-octet header, 48-octet records, 30 a packet at most (fewer when
 * --ipfix-mtu leaves no room for 30). IPv4 only: an IPv6 or non-IP flow,
 * or one too large to split into one packet's records, is not sent and is
 * counted: not-sent (records, packets, octets) and unsupported, per
 * output, in -v's exit line and the metrics, and said once per reason on
 * stderr. A side whose packets or octets exceed 32 bits is split into
 * records that each fit (sums stay exact, NF5_MAX_SPLIT at most). The
 * header's flow_sequence counts the v5 records made before the packet,
 * dropped ones included, so a collector sees any loss as a gap; engine
 * type and id are the observation domain's second and first octet;
 * sampling fields are zero. Interface indexes above 65535 go as 0 (said
 * once).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "errline.h"
#include "exporter.h"
#include "flowtab.h"
#include "netflow.h"
#include "udp_tx.h"

#define NF9_REFRESH_PACKETS	20	/* export packets between templates, at most */

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
	uint64_t n = (s->packets + NF5_COUNTER_MAX - 1) / NF5_COUNTER_MAX;
	uint64_t o = (s->octets + NF5_COUNTER_MAX - 1) / NF5_COUNTER_MAX;

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

/* ---- the exporting process ---------------------------------------------------- */

struct nf_out {
	struct output out;		/* first: what the agent holds */
	struct udp_tx tx;
	struct exporter_acct acct;
	int version;			/* 9 or 5 */
	uint64_t epoch_ms;		/* wall clock at sysUptime 0 */
	uint64_t refresh_ms, next_refresh_ms;
	uint32_t since_templates;	/* v9 packets made since the templates */
	int tpl_due, opts_due;
	int n_ifaces;
	struct iface ifaces[MAX_IFACES];
	uint8_t *buf, *tbuf;		/* v9: the packet being made, resent templates */
	struct nf9_msg m9;
	struct nf5_msg m5;
	uint32_t seq;			/* v9: packets sent; v5: records made */
	int said[NF5_REASONS];
	int said_ifindex;
};

static struct nf_out *to_nf(struct output *o)
{
	return (struct nf_out *)o;
}

static struct nf_out *tx_nf(struct udp_tx *t)
{
	return to_nf(t->out);
}

static void nf_stamp_time(const struct nf_out *x, uint8_t *msg)
{
	uint64_t ns = clock_wall_ns();
	uint64_t ms = ns / 1000000;

	put_u32(msg + 4, ms > x->epoch_ms ? (uint32_t)(ms - x->epoch_ms) : 0);
	put_u32(msg + 8, (uint32_t)(ns / 1000000000));
	if (x->version == 5)
		put_u32(msg + 12, (uint32_t)(ns % 1000000000));
}

/* v9: uptime, time and the packet's sequence number as it leaves; the
 * number moves only once it went (sent()), so a retried send keeps it. */
static void nf_tx_stamp(struct udp_tx *t, uint8_t *msg, size_t len)
{
	struct nf_out *x = tx_nf(t);

	(void)len;
	nf_stamp_time(x, msg);
	if (x->version == 9)
		put_u32(msg + 12, x->seq);
}

static void nf_tx_sent(struct udp_tx *t, const struct udp_counts *c, size_t len)
{
	struct nf_out *x = tx_nf(t);

	if (x->version == 9)
		x->seq++;
	exporter_count_sent(&x->acct, x->out.stats, c->flows, c->packets, c->octets, len);
}

static void nf_tx_not_sent(struct udp_tx *t, const struct udp_counts *c)
{
	struct nf_out *x = tx_nf(t);

	exporter_count_drop(&x->acct, x->out.stats, c->flows, c->packets, c->octets);
}

/* v9: every template again, in packets of their own, ahead of the next
 * queued packet after a refused send. */
static int nf9_tx_resend(struct udp_tx *t, const uint8_t *next, size_t len)
{
	struct nf_out *x = tx_nf(t);
	struct nf9_msg m;
	uint16_t tid = NF9_TID_FIRST;

	(void)next;
	(void)len;
	nf9_msg_init(&m, x->tbuf, x->m9.cap);
	while (tid < NF9_TID_END) {
		int err;

		while (tid < NF9_TID_END && !nf9_msg_add_template(&m, tid))
			tid++;
		nf9_msg_finish(&m, 0, 0, x->seq, x->acct.odid);
		nf_tx_stamp(t, m.buf, m.len);
		err = udp_tx_send(t, m.buf, m.len);
		if (err)
			return err;
		nf_tx_sent(t, &(struct udp_counts){ 0 }, m.len);
		nf9_msg_reset(&m);
	}
	x->since_templates = 0;
	return 0;
}

static const struct udp_tx_ops nf9_tx_ops = {
	.resend = nf9_tx_resend,
	.stamp = nf_tx_stamp,
	.sent = nf_tx_sent,
	.not_sent = nf_tx_not_sent,
};

static const struct udp_tx_ops nf5_tx_ops = {
	.stamp = nf_tx_stamp,
	.sent = nf_tx_sent,
	.not_sent = nf_tx_not_sent,
};

/* The packet being made is complete: into the queue. */
static void nf_msg_done(struct nf_out *x)
{
	struct udp_counts c;
	size_t len;

	if (x->version == 9) {
		struct nf9_msg *m = &x->m9;

		if (nf9_msg_empty(m))
			return;
		len = nf9_msg_finish(m, 0, 0, 0, x->acct.odid);	/* stamped as it leaves */
		c = (struct udp_counts){ .records = m->records, .flows = m->flows,
					 .packets = m->packets, .octets = m->octets };
		udp_tx_enqueue(&x->tx, m->buf, len, &c);
		nf9_msg_reset(m);
		if (++x->since_templates >= NF9_REFRESH_PACKETS)
			x->tpl_due = 1;
		return;
	}
	if (nf5_msg_empty(&x->m5))
		return;
	len = nf5_msg_finish(&x->m5, 0, 0, x->seq, x->acct.odid);
	x->seq += x->m5.count;
	c = (struct udp_counts){ .records = x->m5.count, .flows = x->m5.flows,
				 .packets = x->m5.packets, .octets = x->m5.octets };
	udp_tx_enqueue(&x->tx, x->m5.buf, len, &c);
	nf5_msg_reset(&x->m5);
}

static void nf9_templates(struct nf_out *x)
{
	x->tpl_due = 0;
	x->since_templates = 0;
	for (uint16_t tid = NF9_TID_FIRST; tid < NF9_TID_END; tid++) {
		if (nf9_msg_add_template(&x->m9, tid) == -ENOSPC) {
			nf_msg_done(x);
			x->tpl_due = 0;		/* these are the templates */
			x->since_templates = 0;
			nf9_msg_add_template(&x->m9, tid);
		}
	}
}

static void nf9_options(struct nf_out *x)
{
	static const uint16_t stats_tids[] = { NF9_TID_METERING, NF9_TID_EXPORTING };
	struct ipfix_stats s;

	if (!x->acct.have_totals)
		return;
	exporter_refresh_names(x->ifaces, x->n_ifaces);
	exporter_fill_stats(&x->acct, x->out.stats, &s);
	for (size_t i = 0; i < ARRAY_SIZE(stats_tids); i++) {
		if (nf9_msg_add_stats(&x->m9, stats_tids[i], &s) == -ENOSPC) {
			nf_msg_done(x);
			nf9_msg_add_stats(&x->m9, stats_tids[i], &s);
		}
	}
	for (int i = 0; i < x->n_ifaces; i++) {
		const struct iface *ifc = &x->ifaces[i];

		if (nf9_msg_add_interface(&x->m9, ifc->ifindex, ifc->name) == -ENOSPC) {
			nf_msg_done(x);
			nf9_msg_add_interface(&x->m9, ifc->ifindex, ifc->name);
		}
	}
	x->opts_due = 0;
}

/* Not for v5: counted as not sent and unsupported, said once a reason. */
static void nf5_unsupported(struct nf_out *x, enum nf5_unsupported why,
			    const struct flow_record *r)
{
	x->out.stats->records_unsupported++;
	exporter_count_drop(&x->acct, x->out.stats, 1, flow_record_packets(r),
			    flow_record_octets(r));
	if (!x->said[why]++)
		fprintf(stderr, "bpfix: %s: %s flows do not fit NetFlow v5: not sent, "
			"counted as unsupported\n", x->out.name, nf5_reason_names[why]);
}

static int nf_record(struct output *o, const struct flow_record *r)
{
	struct nf_out *x = to_nf(o);
	int err = 0;

	o->stats->records++;
	if (x->version == 5) {
		unsigned int n;
		enum nf5_unsupported why = nf5_check(r, &n);

		if (why == NF5_OK && n > x->m5.max)
			why = NF5_TOO_BIG;	/* more than the MTU's packet holds */
		if (why != NF5_OK) {
			nf5_unsupported(x, why, r);
			return 0;
		}
		if (nf5_msg_add_flow(&x->m5, r, x->epoch_ms) == -ENOSPC) {
			nf_msg_done(x);
			err = nf5_msg_add_flow(&x->m5, r, x->epoch_ms);
		}
		if (x->m5.clamped_ifindex && !x->said_ifindex++)
			fprintf(stderr, "bpfix: %s: interface indexes above 65535 do not fit "
				"NetFlow v5: sent as 0\n", o->name);
	} else {
		for (int round = 0; round < 2; round++) {
			if (x->tpl_due)
				nf9_templates(x);
			err = nf9_msg_add_flow(&x->m9, r, x->epoch_ms);
			if (err != -ENOSPC)
				break;
			nf_msg_done(x);
		}
	}
	if (err) {
		o->stats->errors++;
		exporter_count_drop(&x->acct, o->stats, 1, flow_record_packets(r),
				    flow_record_octets(r));
	}
	return 0;
}

static int nf_tick(struct output *o, const struct meter_totals *t)
{
	struct nf_out *x = to_nf(o);
	uint64_t now = clock_mono_ms();

	exporter_take_totals(&x->acct, t);
	if (now >= x->next_refresh_ms) {
		x->next_refresh_ms = now + x->refresh_ms;
		x->opts_due = x->tpl_due = x->version == 9;
	}
	if (x->tpl_due)
		nf9_templates(x);
	if (x->opts_due)
		nf9_options(x);
	nf_msg_done(x);
	udp_tx_tick(&x->tx);
	return 0;
}

static uint64_t nf_pump(struct output *o, uint64_t now_ns)
{
	struct nf_out *x = to_nf(o);

	return udp_tx_pace(&x->tx, now_ns, x->tx.pace);
}

static void nf_free(struct nf_out *x)
{
	if (x->tx.fd >= 0)
		close(x->tx.fd);
	udp_tx_free(&x->tx);
	free(x->buf);
	free(x->tbuf);
	free(x);
}

/* Shutdown: the agent pumped until its deadline; what is queued now is
 * not sent. The last options report that, unpaced. */
static void nf_close(struct output *o, const struct meter_totals *t)
{
	struct nf_out *x = to_nf(o);

	exporter_take_totals(&x->acct, t);
	udp_tx_drop_all(&x->tx);
	if (x->version == 9) {
		if (x->tpl_due)
			nf9_templates(x);
		nf9_options(x);
	}
	nf_msg_done(x);
	udp_tx_pace(&x->tx, clock_mono_ns(), UINT32_MAX);
	nf_free(x);
}

static const struct output_ops nf_ops = {
	.record = nf_record,
	.tick = nf_tick,
	.pump = nf_pump,
	.close = nf_close,
};

/* The largest single v9 item, with the packet header: what every packet
 * must hold. */
static size_t nf9_largest_item(void)
{
	size_t max = 0;

	for (uint16_t tid = NF9_TID_FIRST; tid < NF9_TID_END; tid++) {
		const struct ipfix_template *t = nf9_template(tid);
		size_t len = nf9_template_record_len(tid);

		/* a flow record may be a biflow's two */
		if ((size_t)(t->scope ? 1 : 2) * t->rec_len > len)
			len = (size_t)(t->scope ? 1 : 2) * t->rec_len;
		if (len > max)
			max = len;
	}
	return NF9_HDR_LEN + NF9_SET_HDR_LEN + align4((uint32_t)max);
}

struct output *output_netflow_open(const struct collector *c, const struct bpfix_config *cfg,
				   char *err, size_t errlen)
{
	struct nf_out *x = calloc(1, sizeof(*x));
	uint32_t min_full, burst_min;
	int cap;

	if (!x) {
		snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
		return NULL;
	}
	x->tx.fd = -1;
	x->tx.out = &x->out;
	x->version = c->kind == COLLECTOR_NETFLOW5 ? 5 : 9;
	x->tx.ops = x->version == 5 ? &nf5_tx_ops : &nf9_tx_ops;
	snprintf(x->out.name, sizeof(x->out.name), "%s", c->uri);
	x->out.ops = &nf_ops;
	x->out.stats = &x->out.own;
	exporter_acct_init(&x->acct, cfg->observation_domain);
	x->epoch_ms = x->acct.open_wall_ms;
	x->refresh_ms = (uint64_t)cfg->template_refresh_s * 1000;
	x->next_refresh_ms = clock_mono_ms() + x->refresh_ms;
	x->n_ifaces = exporter_copy_ifaces(x->ifaces, cfg);
	x->tpl_due = x->opts_due = x->version == 9;

	if (c->kind != COLLECTOR_NETFLOW5 && c->kind != COLLECTOR_NETFLOW9) {
		snprintf(err, errlen, "%s: not a NetFlow collector", c->uri);
		goto fail;
	}
	if (x->version == 5) {
		cap = udp_tx_open(&x->tx, c, cfg->ipfix_mtu, NF5_HDR_LEN + NF5_REC_LEN,
				  NF5_MSG_LEN, err, errlen);
		if (cap < 0)
			goto fail;
		nf5_msg_init(&x->m5, (unsigned int)(cap - NF5_HDR_LEN) / NF5_REC_LEN);
		burst_min = x->m5.max;
		min_full = x->m5.max / 2 ? x->m5.max / 2 : 1;	/* biflows take two */
	} else {
		size_t room;

		cap = udp_tx_open(&x->tx, c, cfg->ipfix_mtu, nf9_largest_item(), NF9_MSG_MAX,
				  err, errlen);
		if (cap < 0)
			goto fail;
		x->buf = malloc(cap);
		x->tbuf = malloc(cap);
		if (!x->buf || !x->tbuf) {
			snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
			goto fail;
		}
		nf9_msg_init(&x->m9, x->buf, (size_t)cap);
		room = x->m9.cap - NF9_HDR_LEN - NF9_SET_HDR_LEN;
		min_full = (uint32_t)(room / nf9_template(NF9_TID_IPV6)->rec_len / 2);
		burst_min = (uint32_t)(room / nf9_template(NF9_TID_IPV4)->rec_len);
	}
	if (udp_tx_queue_open(&x->tx, cfg, (uint32_t)cap, min_full, burst_min, err, errlen))
		goto fail;
	return &x->out;
fail:
	nf_free(x);
	return NULL;
}
