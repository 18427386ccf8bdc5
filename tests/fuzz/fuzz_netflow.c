// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The NetFlow v9 and v5 encoders (user/netflow.c) driven as the exporting
 * process drives them (netflow_export.c): a packet capacity, then
 * templates, flow records, statistics and interface records (v9) or flow
 * records (v5), all from the fuzzer's bytes; a full packet is finished,
 * decoded here and started again.
 *
 * Every add is checked against a model kept here: -ENOSPC and -EOPNOTSUPP
 * leave the packet as it was, octet for octet; -EOPNOTSUPP (v5) exactly
 * for what is not IPv4 or takes more than NF5_MAX_SPLIT records. Every
 * finished packet is decoded independently of the encoder:
 *  v9: the header's count is the records added; FlowSets tile the packet,
 *   each a multiple of 4 octets, padding zero and shorter than a record;
 *   template and options template records say what the tables say (RFC
 *   3954 5.2, 6.1: ids, field count or scope and option lengths in
 *   octets); data records follow the FlowSet's template, in the order
 *   added: a flow record as its unidirectional records (a biflow's
 *   reverse with addresses and ports swapped), each with its addresses,
 *   interfaces, direction, counters and sysUptime times (ms since the
 *   epoch modulo 2^32, 0 before it);
 *  v5: 24 + 48 x count octets, count <= 30, version, flow sequence and
 *   engine as given; the records of a flow record are its directions in
 *   order, each split into records of at most 2^32 - 1 packets and
 *   octets whose sums are the side's exactly, with the side's addresses,
 *   ports (ICMP: type and code in the destination port), protocol,
 *   interfaces and times.
 */
#include <errno.h>
#include "fuzz.h"
#include "netflow.h"
#include "../wire.h"

#define MAX_ITEMS 128

enum item_kind { ITEM_TEMPLATE, ITEM_FLOW, ITEM_STATS, ITEM_IFACE };

struct item {
	enum item_kind kind;
	uint16_t tid;
	struct flow_record flow;
	struct ipfix_stats stats;
	uint32_t ifindex;
	char name[NF9_IFNAME_LEN + 8];
};

struct model {
	int v5;
	uint8_t *buf, *snap;
	size_t alloc;
	struct nf9_msg m9;
	struct nf5_msg m5;
	uint64_t epoch;
	struct item items[MAX_ITEMS];
	int n;
};

static uint32_t uptime(uint64_t ms, uint64_t epoch)
{
	return ms > epoch ? (uint32_t)(ms - epoch) : 0;
}

/* The unidirectional records of @r, from the definitions in netflow.h:
 * the forward side unless a biflow's forward side is empty and its
 * reverse is not; the reverse side when a biflow's has packets. Each as
 * (key source/destination, ports, side). */
struct uni {
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	const struct flow_side *s;
};

static int uniflows(const struct flow_record *r, struct uni u[2])
{
	const struct flow_key *k = &r->key;
	int n = 0;

	if (!r->biflow || r->fwd.packets || !r->rev.packets)
		u[n++] = (struct uni){ k->src.ip6, k->dst.ip6, k->src_port, k->dst_port, &r->fwd };
	if (r->biflow && r->rev.packets)
		u[n++] = (struct uni){ k->dst.ip6, k->src.ip6, k->dst_port, k->src_port, &r->rev };
	return n;
}

/* ---- v9 ------------------------------------------------------------------ */

/* One v9 data record of flow uniflow @u: the fields the oracle knows. */
static void check_v9_flow(const struct model *md, const uint8_t *p,
			  const struct ipfix_template *t, const struct flow_record *r,
			  const struct uni *u)
{
	int icmp = flow_key_is_icmp(&r->key);

	for (unsigned int i = 0; i < t->n_fields; i++) {
		const struct ipfix_field *f = &t->fields[i];
		uint64_t v = get_uint(p, f->len), want;
		const struct flow_side *s = u->s;

		switch (f->id) {
		case 8: case 27: case 56:
			FUZZ_ASSERT(!memcmp(p, u->src, f->len), "source address");
			p += f->len;
			continue;
		case 12: case 28: case 80:
			FUZZ_ASSERT(!memcmp(p, u->dst, f->len), "destination address");
			p += f->len;
			continue;
		/* ICMP: no ports; the reverse record's type is flow_key_reverse's */
		case 7:  want = icmp ? 0 : u->sport; break;
		case 11: want = icmp ? 0 : u->dport; break;
		case 32: want = v; FUZZ_ASSERT(icmp || !v, "ICMP_TYPE of a non-ICMP flow"); break;
		case 4:  want = r->key.protocol; break;
		case 60: want = r->key.ip_version; break;
		case 10: want = s->direction == FLOW_DIR_INGRESS ? s->ifindex : 0; break;
		case 14: want = s->direction == FLOW_DIR_EGRESS ? s->ifindex : 0; break;
		case 61: want = s->direction & 0xff; break;
		case 22: want = uptime(s->first_ms, md->epoch); break;
		case 21: want = uptime(s->last_ms, md->epoch); break;
		case 1:  want = s->octets; break;
		case 2:  want = s->packets; break;
		case 6:  want = s->tcp_flags & 0xff; break;
		case 5:  want = s->tos; break;
		case 52: want = s->min_ttl; break;
		case 53: want = s->max_ttl; break;
		case 25: want = s->min_ip_len; break;
		case 26: want = s->max_ip_len; break;
		case 31: want = s->flow_label & 0xfffff; break;
		default: want = v; break;	/* VLANs: ipfix.c's, fuzzed there */
		}
		FUZZ_ASSERT(v == want, "field type %u: %llu, want %llu", f->id,
			    (unsigned long long)v, (unsigned long long)want);
		p += f->len;
	}
}

static void check_v9_options(const uint8_t *p, const struct ipfix_template *t,
			     const struct item *it)
{
	if (it->kind == ITEM_IFACE) {
		size_t n = strnlen(it->name, NF9_IFNAME_LEN - 1);

		FUZZ_ASSERT(get32(p) == it->ifindex, "interface scope");
		FUZZ_ASSERT(!memcmp(p + 4, it->name, n), "interface name");
		for (size_t i = n; i < NF9_IFNAME_LEN; i++)
			FUZZ_ASSERT(!p[4 + i], "interface name padding");
		return;
	}
	FUZZ_ASSERT(get32(p) == it->stats.observation_domain, "System scope");
	FUZZ_ASSERT(t->rec_len == 4 + 8 * (t->n_fields - 1), "statistics are 8 octets");
}

/* Template records of a template (0) or options template (1) FlowSet. */
static const uint8_t *check_v9_template(const uint8_t *p, const struct item *it)
{
	const struct ipfix_template *t = nf9_template(it->tid);

	FUZZ_ASSERT(get16(p) == it->tid, "template id %u, want %u", get16(p), it->tid);
	if (t->scope) {
		FUZZ_ASSERT(get16(p + 2) == 4 * t->scope, "scope length");
		FUZZ_ASSERT(get16(p + 4) == 4 * (t->n_fields - t->scope), "option length");
		p += 6;
	} else {
		FUZZ_ASSERT(get16(p + 2) == t->n_fields, "field count");
		p += 4;
	}
	for (unsigned int i = 0; i < t->n_fields; i++, p += 4) {
		FUZZ_ASSERT(get16(p) == t->fields[i].id && get16(p + 2) == t->fields[i].len,
			    "field %u", i);
	}
	return p;
}

static void check_v9(struct model *md, size_t len)
{
	const uint8_t *b = md->buf;
	uint32_t off = NF9_HDR_LEN, count = 0;
	int item = 0, sub = 0;	/* the item, and which of its records */

	FUZZ_ASSERT(len == md->m9.len && len <= md->m9.cap && len % 4 == 0, "length %zu", len);
	FUZZ_ASSERT(get16(b) == 9, "version");
	while (off < len) {
		uint16_t id = get16(b + off), flen = get16(b + off + 2);
		const uint8_t *p = b + off + 4, *end = b + off + flen;

		FUZZ_ASSERT(flen >= 4 && flen % 4 == 0 && off + flen <= len, "FlowSet length %u",
			    flen);
		FUZZ_ASSERT(id == 0 || id == 1 || (id >= NF9_TID_FIRST && id < NF9_TID_END),
			    "FlowSet id %u", id);
		while (item < md->n && end - p >= 4) {
			const struct item *it = &md->items[item];
			const struct ipfix_template *t = nf9_template(it->tid);
			size_t need;

			if (it->kind == ITEM_TEMPLATE) {
				if (id != (t->scope ? 1 : 0))
					break;
				need = nf9_template_record_len(it->tid);
				FUZZ_ASSERT(p + need <= end, "template record crosses its FlowSet");
				p = check_v9_template(p, it);
				count++;
				item++;
				continue;
			}
			if (id != it->tid)
				break;
			FUZZ_ASSERT(p + t->rec_len <= end, "record crosses its FlowSet");
			if (it->kind == ITEM_FLOW) {
				struct uni u[2];
				int n = uniflows(&it->flow, u);

				check_v9_flow(md, p, t, &it->flow, &u[sub]);
				if (++sub == n) {
					sub = 0;
					item++;
				}
			} else {
				check_v9_options(p, t, it);
				item++;
			}
			p += t->rec_len;
			count++;
		}
		FUZZ_ASSERT(end - p < 4, "%td octets of padding", end - p);
		for (; p < end; p++)
			FUZZ_ASSERT(!*p, "padding not zero");
		off += flen;
	}
	FUZZ_ASSERT(item == md->n && !sub, "%d of %d items decoded", item, md->n);
	FUZZ_ASSERT(get16(b + 2) == count && count == md->m9.count, "count %u, decoded %u",
		    get16(b + 2), count);
}

/* ---- v5 ------------------------------------------------------------------ */

static void check_v5(struct model *md, size_t len, uint32_t seq, uint32_t odid)
{
	const uint8_t *b = md->m5.buf;
	const uint8_t *p = b + NF5_HDR_LEN;
	unsigned int count = get16(b + 2);

	FUZZ_ASSERT(get16(b) == 5 && count <= md->m5.max && count <= NF5_MAX_RECORDS,
		    "header: version %u count %u", get16(b), count);
	FUZZ_ASSERT(len == NF5_HDR_LEN + (size_t)count * NF5_REC_LEN, "length");
	FUZZ_ASSERT(get32(b + 16) == seq && b[20] == (uint8_t)(odid >> 8) &&
		    b[21] == (uint8_t)odid && !get16(b + 22), "sequence, engine, sampling");
	for (int i = 0; i < md->n; i++) {
		const struct flow_record *r = &md->items[i].flow;
		struct uni u[2];
		int n = uniflows(r, u), icmp = flow_key_is_icmp(&r->key);

		for (int j = 0; j < n; j++) {
			uint64_t pk = 0, oc = 0;
			const struct flow_side *s = u[j].s;

			do {
				uint32_t rp, ro;

				FUZZ_ASSERT(p + NF5_REC_LEN <= b + len, "records run out");
				FUZZ_ASSERT(!memcmp(p, u[j].src, 4) && !memcmp(p + 4, u[j].dst, 4),
					    "addresses");
				FUZZ_ASSERT(!get32(p + 8), "next hop");
				FUZZ_ASSERT(get16(p + 12) == (s->direction == FLOW_DIR_INGRESS &&
							      s->ifindex <= 0xffff ? s->ifindex : 0) &&
					    get16(p + 14) == (s->direction == FLOW_DIR_EGRESS &&
							      s->ifindex <= 0xffff ? s->ifindex : 0),
					    "interfaces");
				rp = get32(p + 16);
				ro = get32(p + 20);
				pk += rp;
				oc += ro;
				FUZZ_ASSERT(get32(p + 24) == uptime(s->first_ms, md->epoch) &&
					    get32(p + 28) == uptime(s->last_ms, md->epoch), "times");
				FUZZ_ASSERT(get16(p + 32) == (icmp ? 0 : u[j].sport), "source port");
				FUZZ_ASSERT(icmp || get16(p + 34) == u[j].dport, "destination port");
				FUZZ_ASSERT(p[37] == (uint8_t)s->tcp_flags && p[38] == r->key.protocol &&
					    p[39] == s->tos, "flags, protocol, tos");
				p += NF5_REC_LEN;
			} while (pk < s->packets || oc < s->octets);
			FUZZ_ASSERT(pk == s->packets && oc == s->octets,
				    "split sums %llu/%llu, want %llu/%llu", (unsigned long long)pk,
				    (unsigned long long)oc, (unsigned long long)s->packets,
				    (unsigned long long)s->octets);
		}
	}
	FUZZ_ASSERT(p == b + len, "records beyond the flows added");
}

/* ---- the driver ---------------------------------------------------------- */

static void finish(struct model *md, struct fuzz_in *in)
{
	uint32_t up = fuzz_u32(in), secs = fuzz_u32(in), seq = fuzz_u32(in), odid = fuzz_u32(in);

	if (md->v5) {
		check_v5(md, nf5_msg_finish(&md->m5, up, (uint64_t)secs * 1000000007u, seq, odid),
			 seq, odid);
		FUZZ_ASSERT(get32(md->m5.buf + 4) == up, "sysUptime");
		nf5_msg_reset(&md->m5);
	} else {
		size_t len = nf9_msg_finish(&md->m9, up, secs, seq, odid);

		FUZZ_ASSERT(get32(md->buf + 4) == up && get32(md->buf + 8) == secs &&
			    get32(md->buf + 12) == seq && get32(md->buf + 16) == odid, "header");
		check_v9(md, len);
		nf9_msg_reset(&md->m9);
	}
	md->n = 0;
}

static int add(struct model *md, struct item *it)
{
	switch (it->kind) {
	case ITEM_TEMPLATE: return nf9_msg_add_template(&md->m9, it->tid);
	case ITEM_FLOW:
		return md->v5 ? nf5_msg_add_flow(&md->m5, &it->flow, md->epoch) :
				nf9_msg_add_flow(&md->m9, &it->flow, md->epoch);
	case ITEM_STATS: return nf9_msg_add_stats(&md->m9, it->tid, &it->stats);
	case ITEM_IFACE: return nf9_msg_add_interface(&md->m9, it->ifindex, it->name);
	}
	return -EINVAL;
}

static void put(struct model *md, struct fuzz_in *in, struct item *it)
{
	const uint8_t *cur = md->v5 ? md->m5.buf : md->buf;
	size_t cur_len = md->v5 ? NF5_HDR_LEN + (size_t)md->m5.count * NF5_REC_LEN : md->m9.len;
	uint16_t count = md->v5 ? md->m5.count : md->m9.count;
	int err;

	memcpy(md->snap, cur, cur_len);
	err = add(md, it);
	if (err == -ENOSPC && md->n) {	/* full: finish it, and once more */
		FUZZ_ASSERT(!memcmp(md->snap, cur, cur_len), "-ENOSPC changed the packet");
		finish(md, in);
		err = add(md, it);
	}
	if (err) {
		size_t now = md->v5 ? NF5_HDR_LEN + (size_t)md->m5.count * NF5_REC_LEN : md->m9.len;

		FUZZ_ASSERT(err == -ENOSPC || err == -EINVAL || err == -EOPNOTSUPP, "error %d", err);
		if (md->n)
			FUZZ_ASSERT(now == cur_len && (md->v5 ? md->m5.count : md->m9.count) == count &&
				    !memcmp(md->snap, cur, cur_len), "a refused add changed the packet");
		if (md->v5 && it->kind == ITEM_FLOW) {
			unsigned int n;
			enum nf5_unsupported why = nf5_check(&it->flow, &n);

			FUZZ_ASSERT(err == -EOPNOTSUPP ? why != NF5_OK : n > md->m5.max,
				    "v5 refusal %d, reason %d", err, why);
		}
		return;
	}
	if (md->v5) {
		FUZZ_ASSERT(it->flow.key.ip_version == 4, "v5 took an IP version %u flow",
			    it->flow.key.ip_version);
	}
	md->items[md->n++] = *it;
	if (md->n == MAX_ITEMS)
		finish(md, in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model md;
	struct fuzz_in in;

	fuzz_in_init(&in, data, size);
	md.v5 = fuzz_u8(&in) & 1;
	md.alloc = 64 + fuzz_u16(&in) % 1500;
	md.epoch = fuzz_u64(&in) % (1ull << 46);
	md.n = 0;
	md.buf = malloc(md.alloc);	/* exactly: a write past it is ASan's */
	md.snap = malloc(md.alloc > NF5_MSG_LEN ? md.alloc : NF5_MSG_LEN);
	nf9_msg_init(&md.m9, md.buf, md.alloc);
	nf5_msg_init(&md.m5, fuzz_u8(&in) % (NF5_MAX_RECORDS + 8));

	for (int ops = 0; in.left && ops < 4 * MAX_ITEMS; ops++) {
		static struct item it;
		uint8_t op = fuzz_u8(&in);

		memset(&it, 0, sizeof(it));
		switch (md.v5 ? (op & 1 ? 1 : 6) : op % 8) {
		case 0:
			it.kind = ITEM_TEMPLATE;
			it.tid = op & 0x80 ? fuzz_u16(&in) : NF9_TID_FIRST - 1 + fuzz_u8(&in) % 8;
			break;
		case 1: case 2: case 3:
			it.kind = ITEM_FLOW;
			fuzz_flow_record(&in, &it.flow);
			if (op & 0x40) {	/* past 32 bits: v5 splits */
				it.flow.fwd.packets = fuzz_u64(&in) % (40ull << 32);
				it.flow.fwd.octets = fuzz_u64(&in) % (40ull << 32);
			}
			it.tid = nf9_flow_tid(&it.flow);
			break;
		case 4:
			it.kind = ITEM_STATS;
			it.tid = NF9_TID_METERING - 1 + fuzz_u8(&in) % 4;
			fuzz_bytes(&in, &it.stats, sizeof(it.stats));
			break;
		case 5:
			it.kind = ITEM_IFACE;
			it.tid = NF9_TID_INTERFACES;
			it.ifindex = fuzz_u32(&in);
			fuzz_bytes(&in, it.name, sizeof(it.name) - 1);
			break;
		case 6:
			if (md.n)
				finish(&md, &in);
			continue;
		default:
			continue;
		}
		put(&md, &in, &it);
	}
	if (md.n)
		finish(&md, &in);
	free(md.snap);
	free(md.buf);
	return 0;
}
