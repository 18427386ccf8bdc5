// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The IPFIX encoder (user/ipfix.c) driven the way an exporting process
 * drives it: a message capacity (tiny, UDP-sized, or anything up to past
 * the 65535 the header can say), then a sequence of templates, flow records,
 * statistics and interface records, all from the fuzzer's bytes; a full
 * message is finished, checked and started again, as ipfix_export.c does.
 *
 * Every add is checked against a model kept here: 0 grows the message by
 * exactly the item (and a set header when a new set opens); -ENOSPC leaves
 * the message as it was, happens only when the item really does not fit,
 * and on an empty message only when it never can; -EINVAL only for an id
 * that names no such template. Every finished message is decoded here,
 * independently of the encoder: header length = octets produced <= the
 * capacity, sets tile the message exactly, each template record matches
 * the template table, each data record decodes to the values of the
 * record that was added (interface names cut and zero-padded), in order, no
 * record crosses its set's end, and the message's counters agree.
 */
#include <errno.h>
#include <endian.h>
#include "fuzz.h"
#include "ipfix.h"
#include "../wire.h"

#define MAX_ITEMS 256

enum item_kind { ITEM_TEMPLATE, ITEM_FLOW, ITEM_STATS, ITEM_IFACE };

struct item {
	enum item_kind kind;
	uint16_t tid;
	struct flow_record flow;
	struct ipfix_stats stats;
	uint32_t odid, ifindex;
	char *name;		/* NULL stands for "" */
};

struct model {
	struct ipfix_msg m;
	uint8_t *buf;
	size_t alloc;
	uint16_t open_set;	/* set id the next item of that id continues, 0: none */
	struct item items[MAX_ITEMS];
	int n;
	uint32_t messages;
	uint8_t *snap;		/* the message before an add, to see -ENOSPC changed nothing */
};

static int valid_tid(uint16_t tid)
{
	return tid >= IPFIX_TID_FIRST && tid < IPFIX_TID_END;
}

static int is_stats_tid(uint16_t tid)
{
	return tid == IPFIX_TID_METERING_STATS || tid == IPFIX_TID_METERING_RELIABILITY ||
	       tid == IPFIX_TID_EXPORTING_RELIABILITY;
}

/* Octets the item takes in its set, counted from the template table (the
 * field specifiers RFC 7011 3.2 defines), not asked of the encoder. */
static size_t item_len(const struct item *it)
{
	const struct ipfix_template *t = ipfix_template(it->tid);
	size_t len = 0;

	if (it->kind == ITEM_TEMPLATE) {
		len = t->scope ? 6 : 4;
		for (unsigned int i = 0; i < t->n_fields; i++)
			len += t->fields[i].pen ? 8 : 4;
		return len;
	}
	for (unsigned int i = 0; i < t->n_fields; i++)
		len += t->fields[i].len;
	return len;
}

static uint16_t item_set(const struct item *it)
{
	if (it->kind == ITEM_TEMPLATE)
		return ipfix_template(it->tid)->scope ? IPFIX_SET_OPTIONS : IPFIX_SET_TEMPLATE;
	return it->tid;
}

/* ---- what a data record must say --------------------------------------- */

/* RFC 5103: a biflow side without packets reports the other side's times. */
static const struct flow_side *times_of(const struct flow_record *r, const struct flow_side *s)
{
	const struct flow_side *o = s == &r->fwd ? &r->rev : &r->fwd;

	return !s->packets && r->biflow && o->packets ? o : s;
}

/* The value an information element must carry for flow record @r, from
 * include/bpfix.h's and ipfix.h's definitions. Addresses are compared as
 * octets by the caller; returns 0 and sets *known = 0 for an element this
 * oracle does not know (a new one in the table must be added here). */
static uint64_t flow_value(const struct flow_record *r, uint16_t ie, int rev, int *known)
{
	const struct flow_key *k = &r->key;
	const struct flow_side *s = rev ? &r->rev : &r->fwd;
	int icmp = flow_key_is_icmp(k);

	*known = 1;
	switch (ie) {
	case 7:   return icmp ? 0 : k->src_port;
	case 11:  return icmp ? 0 : k->dst_port;
	case 32:
	case 139: return icmp ? k->dst_port : 0;
	case 4:   return k->protocol;
	case 60:  return k->ip_version;
	case 256: return k->ether_type;
	case 58:  return s->direction == FLOW_DIR_INGRESS ? k->vlan_outer & 0xfff : 0;
	case 59:  return s->direction == FLOW_DIR_EGRESS ? k->vlan_outer & 0xfff : 0;
	case 245: return k->vlan_inner & 0xfff;
	case 136: return r->end_reason;
	case 239: return r->biflow_direction;
	case 10:  return s->direction == FLOW_DIR_INGRESS ? s->ifindex : 0;
	case 14:  return s->direction == FLOW_DIR_EGRESS ? s->ifindex : 0;
	case 61:  return s->direction;
	case 152: return times_of(r, s)->first_ms;
	case 153: return times_of(r, s)->last_ms;
	case 1:   return s->octets;
	case 2:   return s->packets;
	case 352: return s->l2_octets;
	case 6:   return s->tcp_flags;
	case 5:   return s->tos;
	case 52:  return s->min_ttl;
	case 53:  return s->max_ttl;
	case 25:  return s->min_ip_len;
	case 26:  return s->max_ip_len;
	case 31:  return s->flow_label & 0xfffff;
	case 351: return k->tun_type == TUNNEL_VXLAN ? 1ull << 56 | (k->tun_id & 0xffffff) : 0;
	case 32001: return k->tun_type;		/* bpfix's (IPFIX_PEN_BPFIX) */
	case 32002: return k->tun_id;
	}
	*known = 0;
	return 0;
}

/* bpfix's tunnel address elements (ipfix.h): the record's outer address of
 * the element's family and direction, or zeros. */
static int tunnel_addr_ok(const struct flow_record *r, uint16_t ie, const uint8_t *p, size_t len)
{
	int v6 = ie >= 32005, dst = ie == 32004 || ie == 32006;
	static const uint8_t zero[16];

	if (r->key.tun_type && r->tun.ip_version == (v6 ? 6 : 4))
		return !memcmp(p, dst ? r->tun.dst.ip6 : r->tun.src.ip6, len);
	return !memcmp(p, zero, len);
}

/* Statistics records: the struct's fields in template order (ipfix.h). */
static int stats_values(const struct item *it, uint16_t *ie, uint64_t *v)
{
	const struct ipfix_stats *s = &it->stats;
	int n = 0;

#define V(id, val) (ie[n] = (id), v[n++] = (val))
	switch (it->tid) {
	case IPFIX_TID_METERING_STATS:
		V(149, s->observation_domain); V(41, s->exported_messages);
		V(42, s->exported_records); V(40, s->exported_octets);
		V(163, s->observed_flows);
		break;
	case IPFIX_TID_METERING_RELIABILITY:
		V(149, s->observation_domain); V(164, s->ignored_packets);
		V(165, s->ignored_octets); V(166, s->lost_flows);
		V(323, s->ignored_first_ms); V(323, s->ignored_last_ms);
		break;
	case IPFIX_TID_EXPORTING_RELIABILITY:
		V(144, s->exporting_process); V(166, s->not_sent_flows);
		V(167, s->not_sent_packets); V(168, s->not_sent_octets);
		V(323, s->not_sent_first_ms); V(323, s->not_sent_last_ms);
		break;
	}
#undef V
	return n;
}

/* ---- decoding a finished message ----------------------------------------- */

static size_t check_template_record(const uint8_t *p, size_t left, const struct item *it,
				    int options)
{
	const struct ipfix_template *t = ipfix_template(it->tid);
	size_t off = options ? 6 : 4;

	FUZZ_ASSERT(it->kind == ITEM_TEMPLATE, "a template record where the model has kind %d",
		    it->kind);
	FUZZ_ASSERT(left >= off, "template record header crosses the set end");
	FUZZ_ASSERT(get16(p) == it->tid && get16(p + 2) == t->n_fields,
		    "template record %u/%u, expected %u/%u", get16(p), get16(p + 2), it->tid,
		    t->n_fields);
	if (options)
		FUZZ_ASSERT(get16(p + 4) == t->scope && t->scope >= 1 && t->scope <= t->n_fields,
			    "options template %u scope %u", it->tid, get16(p + 4));
	for (unsigned int i = 0; i < t->n_fields; i++) {
		const struct ipfix_field *f = &t->fields[i];
		uint16_t id;

		FUZZ_ASSERT(off + 4 <= left, "template %u field %u crosses the set end", it->tid, i);
		id = get16(p + off);
		FUZZ_ASSERT((id & 0x7fff) == f->id && !!(id & 0x8000) == !!f->pen &&
			    get16(p + off + 2) == f->len, "template %u field %u: %04x/%u", it->tid,
			    i, id, get16(p + off + 2));
		off += 4;
		if (f->pen) {
			FUZZ_ASSERT(off + 4 <= left && get32(p + off) == f->pen,
				    "template %u field %u enterprise number", it->tid, i);
			off += 4;
		}
	}
	return off;
}

/* communityId: "1:" and the base64 of the record's digest (decoded here,
 * not encoded again), or 30 zero octets for a record without one. */
static void check_community_id(const uint8_t *p, size_t len, const struct flow_record *r)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t d[SHA1_DIGEST_LEN + 1];
	uint32_t acc = 0;
	int bits = 0, n = 0;

	FUZZ_ASSERT(len == COMMUNITY_ID_STR_LEN, "communityId is %zu octets", len);
	if (!r->community_id_set) {
		for (size_t i = 0; i < len; i++)
			FUZZ_ASSERT(!p[i], "communityId of a record without one: octet %zu", i);
		return;
	}
	FUZZ_ASSERT(p[0] == '1' && p[1] == ':' && p[len - 1] == '=', "communityId framing");
	for (size_t i = 2; i < len - 1; i++) {
		const char *c = p[i] ? strchr(b64, p[i]) : NULL;

		FUZZ_ASSERT(c, "communityId octet %zu is not base64", i);
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[n++] = (uint8_t)(acc >> bits);
		}
	}
	FUZZ_ASSERT(n == SHA1_DIGEST_LEN && !memcmp(d, r->community_id, SHA1_DIGEST_LEN),
		    "communityId does not decode to the record's digest");
}

/* A fixed-length name: at most len - 1 octets of @want, then zeros. */
static void check_string(const uint8_t *p, size_t len, const char *want, const char *what)
{
	size_t n = want ? strnlen(want, len - 1) : 0;

	FUZZ_ASSERT(!n || !memcmp(p, want, n), "%s: the name", what);
	for (size_t i = n; i < len; i++)
		FUZZ_ASSERT(!p[i], "%s: octet %zu of %zu is not padding", what, i, len);
}

static size_t check_data_record(const uint8_t *p, size_t left, const struct item *it)
{
	const struct ipfix_template *t = ipfix_template(it->tid);
	uint16_t sie[8];
	uint64_t sv[8];
	int n_stats = it->kind == ITEM_STATS ? stats_values(it, sie, sv) : 0;
	size_t off = 0;

	FUZZ_ASSERT(it->kind != ITEM_TEMPLATE, "a data record where the model has a template");
	if (it->kind == ITEM_STATS)
		FUZZ_ASSERT(n_stats == t->n_fields, "stats template %u: %u fields, expected %d",
			    it->tid, t->n_fields, n_stats);
	for (unsigned int i = 0; i < t->n_fields; i++) {
		const struct ipfix_field *f = &t->fields[i];
		size_t len = f->len;

		FUZZ_ASSERT(off + len <= left, "template %u field %u crosses the set end", it->tid,
			    i);
		if (it->kind == ITEM_FLOW) {
			const struct flow_key *k = &it->flow.key;
			int known;
			uint64_t want;

			if (f->pen == IPFIX_PEN_BPFIX && f->id == IPFIX_IE_COMMUNITY_ID) {
				check_community_id(p + off, len, &it->flow);
				off += len;
				continue;
			}
			switch (f->id) {
			case 8: case 27: case 56:	/* source IPv4, IPv6, MAC */
				FUZZ_ASSERT(!memcmp(p + off, k->src.ip6, len), "source address");
				break;
			case 12: case 28: case 80:
				FUZZ_ASSERT(!memcmp(p + off, k->dst.ip6, len), "destination address");
				break;
			case 32003: case 32004: case 32005: case 32006:
				FUZZ_ASSERT(f->pen == IPFIX_PEN_BPFIX &&
					    tunnel_addr_ok(&it->flow, f->id, p + off, len),
					    "tunnel address element %u", f->id);
				break;
			default:
				want = flow_value(&it->flow, f->id, f->pen == IPFIX_PEN_REVERSE, &known);
				FUZZ_ASSERT(known, "element %u has no oracle here", f->id);
				FUZZ_ASSERT(len == 8 || want >> (8 * len) == 0,
					    "element %u: %llu does not fit %zu octets", f->id,
					    (unsigned long long)want, len);
				FUZZ_ASSERT(get_uint(p + off, len) == want,
					    "template %u element %u%s: %llu, expected %llu", it->tid,
					    f->id, f->pen ? " (reverse)" : "",
					    (unsigned long long)get_uint(p + off, len),
					    (unsigned long long)want);
			}
		} else if (it->kind == ITEM_STATS) {
			FUZZ_ASSERT(f->id == sie[i] && !f->pen, "stats template %u field %u is %u",
				    it->tid, i, f->id);
			FUZZ_ASSERT(get_uint(p + off, len) == sv[i], "stats %u element %u: %llu",
				    it->tid, f->id, (unsigned long long)get_uint(p + off, len));
		} else {
			switch (i) {
			case 0:
				FUZZ_ASSERT(f->id == 149 && len == 4 && get32(p + off) == it->odid,
					    "interface record observationDomainId");
				break;
			case 1:
				FUZZ_ASSERT(f->id == 10 && len == 4 && get32(p + off) == it->ifindex,
					    "interface record ifindex");
				break;
			case 2:
				FUZZ_ASSERT(f->id == 83 && len == IPFIX_IFNAME_LEN,
					    "interface record field 2 is %u/%zu", f->id, len);
				check_string(p + off, len, it->name, "interfaceDescription");
				break;
			default:
				FUZZ_ASSERT(0, "interface record has field %u", i);
			}
		}
		off += len;
	}
	return off;
}

static void check_message(struct model *md, size_t len, uint32_t export_time, uint32_t seq)
{
	const uint8_t *p = md->buf;
	uint32_t records = 0, flows = 0;
	uint64_t packets = 0, octets = 0;
	size_t off = IPFIX_MSG_HDR_LEN;
	int k = 0;

	FUZZ_ASSERT(len == md->m.len && len <= md->m.cap && md->m.cap <= md->alloc &&
		    md->m.cap <= IPFIX_MSG_MAX, "message of %zu octets, capacity %u", len,
		    md->m.cap);
	FUZZ_ASSERT(get16(p) == IPFIX_VERSION, "version %u", get16(p));
	FUZZ_ASSERT(get16(p + 2) == len, "header says %u octets, %zu produced", get16(p + 2), len);
	FUZZ_ASSERT(get32(p + 4) == export_time && get32(p + 8) == seq &&
		    get32(p + 12) == md->m.odid, "header time, sequence or domain");

	while (off < len) {
		uint16_t id, slen;
		size_t end, roff;

		FUZZ_ASSERT(off + IPFIX_SET_HDR_LEN <= len, "set header at %zu crosses the end", off);
		id = get16(p + off);
		slen = get16(p + off + 2);
		FUZZ_ASSERT(slen > IPFIX_SET_HDR_LEN && off + slen <= len,
			    "set %u at %zu: length %u in a message of %zu", id, off, slen, len);
		FUZZ_ASSERT(id == IPFIX_SET_TEMPLATE || id == IPFIX_SET_OPTIONS || valid_tid(id),
			    "set id %u", id);
		end = off + slen;
		roff = off + IPFIX_SET_HDR_LEN;
		if (id == IPFIX_SET_OPTIONS)	/* one per set: ipfix.h (nfdump) */
			FUZZ_ASSERT(k < md->n && item_set(&md->items[k]) == id,
				    "options template set without its record");
		while (roff < end) {
			const struct item *it;
			size_t used;

			FUZZ_ASSERT(k < md->n, "more records than were added");
			it = &md->items[k++];
			FUZZ_ASSERT(item_set(it) == id, "item %d (kind %d, template %u) in set %u",
				    k - 1, it->kind, it->tid, id);
			if (id < 256)
				used = check_template_record(p + roff, end - roff, it,
							     id == IPFIX_SET_OPTIONS);
			else
				used = check_data_record(p + roff, end - roff, it);
			FUZZ_ASSERT(used == item_len(it), "record of %zu octets, expected %zu", used,
				    item_len(it));
			roff += used;
			if (it->kind != ITEM_TEMPLATE)
				records++;
			if (it->kind == ITEM_FLOW) {
				flows++;
				packets += it->flow.fwd.packets +
					   (it->flow.biflow ? it->flow.rev.packets : 0);
				octets += it->flow.fwd.octets +
					  (it->flow.biflow ? it->flow.rev.octets : 0);
			}
			if (id == IPFIX_SET_OPTIONS)
				FUZZ_ASSERT(roff == end, "options set holds more than one template");
		}
		FUZZ_ASSERT(roff == end, "set %u: records end at %zu, set at %zu", id, roff, end);
		off = end;
	}
	FUZZ_ASSERT(off == len, "sets end at %zu, message at %zu", off, len);
	FUZZ_ASSERT(k == md->n, "%d of %d items in the message", k, md->n);
	FUZZ_ASSERT(md->m.records == records && md->m.flows == flows && md->m.packets == packets &&
		    md->m.octets == octets, "message counters %u/%u/%llu/%llu, decoded %u/%u/%llu/%llu",
		    md->m.records, md->m.flows, (unsigned long long)md->m.packets,
		    (unsigned long long)md->m.octets, records, flows,
		    (unsigned long long)packets, (unsigned long long)octets);
}

/* ---- driving the encoder ------------------------------------------------ */

static void model_reset(struct model *md)
{
	for (int i = 0; i < md->n; i++)
		free(md->items[i].name);
	md->n = 0;
	md->open_set = 0;
	ipfix_msg_reset(&md->m);
}

static void finish(struct model *md, uint32_t export_time, uint32_t seq)
{
	size_t len = ipfix_msg_finish(&md->m, export_time, seq);

	check_message(md, len, export_time, seq);
	md->messages++;
	model_reset(md);
}

static int add(struct model *md, const struct item *it)
{
	switch (it->kind) {
	case ITEM_TEMPLATE: return ipfix_msg_add_template(&md->m, it->tid);
	case ITEM_FLOW:     return ipfix_msg_add_flow(&md->m, &it->flow);
	case ITEM_STATS:    return ipfix_msg_add_stats(&md->m, it->tid, &it->stats);
	case ITEM_IFACE:    return ipfix_msg_add_interface(&md->m, it->odid, it->ifindex,
							  it->name);
	}
	return -EINVAL;
}

/* Add @it as an exporting process does: when it does not fit, send the
 * message and add it to a new one. Takes @it's strings. */
static void put(struct model *md, struct item *it)
{
	int valid = it->kind == ITEM_FLOW ? 1 : it->kind == ITEM_STATS ? is_stats_tid(it->tid)
		  : it->kind == ITEM_IFACE ? 1 : valid_tid(it->tid);

	if (it->kind == ITEM_FLOW)
		it->tid = ipfix_flow_tid(&it->flow);
	if (it->kind == ITEM_IFACE)
		it->tid = IPFIX_TID_INTERFACES;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct ipfix_msg before = md->m;
		size_t need = 0;
		int ret;

		memcpy(md->snap, md->buf, md->m.len);
		ret = add(md, it);
		if (!valid) {
			FUZZ_ASSERT(ret == -EINVAL, "kind %d template %u: %d, expected -EINVAL",
				    it->kind, it->tid, ret);
		} else {
			FUZZ_ASSERT(ret == 0 || ret == -ENOSPC, "kind %d template %u: returned %d",
				    it->kind, it->tid, ret);
			need = item_len(it) + (md->open_set == item_set(it) ? 0 : IPFIX_SET_HDR_LEN);
		}
		if (ret) {
			FUZZ_ASSERT(!memcmp(&before, &md->m, sizeof(before)) &&
				    !memcmp(md->snap, md->buf, md->m.len),
				    "a refused add changed the message");
			if (ret == -EINVAL)
				break;
			FUZZ_ASSERT(before.len + need > before.cap,
				    "-ENOSPC for %zu octets with %u of %u used", need, before.len,
				    before.cap);
			if (ipfix_msg_empty(&md->m))
				break;		/* never fits: the caller drops it */
			finish(md, md->messages, md->messages);
			continue;
		}
		if (it->kind == ITEM_TEMPLATE)
			FUZZ_ASSERT(ipfix_template_record_len(it->tid) == item_len(it),
				    "ipfix_template_record_len(%u) = %zu, expected %zu", it->tid,
				    ipfix_template_record_len(it->tid), item_len(it));
		FUZZ_ASSERT(md->m.len == before.len + need && md->m.len <= md->m.cap,
			    "add of %zu octets: %u -> %u (capacity %u)", need, before.len, md->m.len,
			    md->m.cap);
		FUZZ_ASSERT(md->n < MAX_ITEMS, "model full");
		md->items[md->n++] = *it;
		it->name = NULL;
		/* Options templates close their set (ipfix.h). */
		md->open_set = it->kind == ITEM_TEMPLATE && item_set(it) == IPFIX_SET_OPTIONS
			       ? 0 : item_set(it);
		return;
	}
	free(it->name);
}

/* An interface name: mostly short ones from the input, sometimes NULL,
 * sometimes longer than the field (cut), or with a zero octet inside. */
static char *fuzz_string(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);
	size_t len;
	char *s;

	switch (sel & 3) {
	case 0:
		return NULL;
	case 3:
		len = IPFIX_IFNAME_LEN - 2 + fuzz_u8(in) % 8;	/* around the cut */
		s = malloc(len + 1);
		memset(s, 'a' + sel % 26, len);
		s[len] = '\0';
		return s;
	}
	len = (sel >> 2) % 40;
	s = malloc(len + 1);
	fuzz_bytes(in, s, len);
	s[len] = '\0';
	return s;
}

static size_t fuzz_cap(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);
	uint32_t v = fuzz_u32(in);

	switch (sel & 3) {
	case 0: return IPFIX_MSG_HDR_LEN + v % 256;	/* most items never fit */
	case 1: return 548 + v % 1024;			/* --ipfix-mtu 576 and up, UDP */
	case 2: return v & 1 ? 1500 - 28 : 1500 - 48;	/* Ethernet, IPv4 or IPv6 */
	}
	return IPFIX_MSG_HDR_LEN + v % (IPFIX_MSG_MAX + 1024 - IPFIX_MSG_HDR_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model md;
	struct fuzz_in in;
	uint32_t odid;

	fuzz_in_init(&in, data, size);
	md.alloc = fuzz_cap(&in);
	odid = fuzz_u32(&in);
	/* Exactly the capacity: a write past it is ASan's to see. */
	md.buf = malloc(md.alloc);
	md.snap = malloc(md.alloc);
	md.n = 0;
	md.open_set = 0;
	md.messages = 0;
	ipfix_msg_init(&md.m, md.buf, md.alloc, odid);

	for (int ops = 0; in.left && ops < MAX_ITEMS; ops++) {
		struct item it = { 0 };
		uint8_t op = fuzz_u8(&in);

		switch (op % 8) {
		case 0:
			it.kind = ITEM_TEMPLATE;
			it.tid = op & 0x80 ? fuzz_u16(&in) : 250 + fuzz_u8(&in) % 20;
			break;
		case 1: case 2: case 3:
			it.kind = ITEM_FLOW;
			fuzz_flow_record(&in, &it.flow);
			break;
		case 4:
			it.kind = ITEM_STATS;
			it.tid = IPFIX_TID_METERING_STATS - 1 + fuzz_u8(&in) % 5;
			fuzz_bytes(&in, &it.stats, sizeof(it.stats));
			break;
		case 5:
			it.kind = ITEM_IFACE;
			it.odid = fuzz_u32(&in);
			it.ifindex = fuzz_u32(&in);
			it.name = fuzz_string(&in);
			break;
		case 6: {
			uint32_t t = fuzz_u32(&in), seq = fuzz_u32(&in);

			finish(&md, t, seq);
			continue;
		}
		default:
			continue;
		}
		put(&md, &it);
	}
	if (!ipfix_msg_empty(&md.m))
		finish(&md, 1, 2);
	model_reset(&md);
	free(md.snap);
	free(md.buf);
	return 0;
}
