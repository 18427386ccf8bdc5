// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfix flow meter: an XDP program and two TC (clsact) programs that run the
 * one parser (parse.bpf.h) and add each packet to its flow in the flow table
 * of the current epoch (include/bpfix.h, FLOW EPOCHS). They never drop or
 * change a packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bpfix.h"
#include "parse.bpf.h"

#define TC_ACT_UNSPEC_ (-1)	/* let the next program and the stack decide (TCX_NEXT) */
#define GSO_BY_FRAGS_  0xffff	/* gso_size of SCTP: segment at the frag_list */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The two flow tables are declared apart so each has a name and BTF of its
 * own for bpftool; flow_tables holds them for the epoch lookup. */
struct flow_table {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, FLOW_TABLE_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct flow_counters);
};

struct flow_table flow_table_0 SEC(".maps");
struct flow_table flow_table_1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FLOW_TABLES);
	__type(key, __u32);
	__array(values, struct flow_table);
} flow_tables SEC(".maps") = {
	.values = { &flow_table_0, &flow_table_1 },
};

/* The epoch the agent last set; the kernel writes table[epoch % FLOW_TABLES]. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfix_stats);
} stats SEC(".maps");

/* First fragments' ports. Shared, not per-CPU: the fragments of one
 * datagram may be received on different CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAG_TABLE_ENTRIES);
	__type(key, struct frag_key);
	__type(value, struct frag_ports);
} frag_table SEC(".maps");

/* --dedup (include/bpfix.h, ONE PACKET, ONE COUNT), set by the agent before
 * load. Off, the verifier drops the whole hook as dead code: a packet costs
 * what it did without it. */
const volatile __u8 dedup_enabled = 0;
const volatile __u64 dedup_window_ns = DEDUP_WINDOW_NS;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << DEDUP_SLOTS_LOG2);
	__type(key, __u32);
	__type(value, struct dedup_entry);
} dedup_recent SEC(".maps");

/* The agent's flow table (include/bpfix.h, struct flowtab_entry), here for
 * its BTF: no program touches it. The agent creates it beside its journal
 * (user/journal.h), --flows elements, so `bpftool map dump` names every
 * field of every live flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FLOW_TABLE_ENTRIES);
	__type(key, __u32);
	__type(value, struct flowtab_entry);
} flows SEC(".maps");

/* Add @n to the counter at byte @offset of @s (a MALFORMED() value). */
static __always_inline void stat_add(struct bpfix_stats *s, __u32 offset, __u64 n)
{
	__u32 off = offset & ~7u;

	/* One register for the test and the index: clang would otherwise
	 * test one copy of the offset and index with another, which the
	 * verifier cannot follow. */
	asm volatile("" : "+r"(off));
	if (off <= sizeof(*s) - sizeof(__u64))
		*(__u64 *)((__u8 *)s + off) += n;
}

/* Place a fragment in its datagram's flow (see frag_table), or hold it
 * (include/bpfix.h, FRAGMENTS IN ANY ORDER). */
static __always_inline void fragment_ports(struct flow_key *key, struct packet_meta *m,
					   struct bpfix_stats *s)
{
	struct frag_key fk;
	struct frag_ports *fp;

	frag_key_of(key, m->frag_id, &fk);
	if (m->is_fragment == FRAG_FIRST) {
		struct frag_ports ports = {
			.src_port = key->src_port,
			.dst_port = key->dst_port,
			.protocol = key->protocol,
		};

		if (bpf_map_update_elem(&frag_table, &fk, &ports, BPF_ANY))
			s->frag_table_failed++;
		else
			s->frag_first++;
		return;
	}
	fp = bpf_map_lookup_elem(&frag_table, &fk);
	if (fp) {
		key->src_port = fp->src_port;
		key->dst_port = fp->dst_port;
		key->protocol = fp->protocol;
		s->frag_joined++;
	} else {
		flow_key_hold(key, m->frag_id);
		s->frag_held++;
	}
}

/* What one packet (or GSO aggregate of @segs packets) adds to a flow. */
struct packet_delta {
	__u64 packets;
	__u64 octets;
	__u64 l2_octets;
	__u16 min_ip_len;
	__u16 max_ip_len;
};

static __always_inline __u16 clamp_u16(__u64 v)
{
	return v > 0xffff ? 0xffff : v;
}

static __always_inline void packet_delta(const struct packet_meta *m, __u32 segs,
					 __u32 gso_size, struct packet_delta *d)
{
	__u64 extra, last;

	d->packets = 1;
	d->octets = m->ip_len;
	d->l2_octets = m->frame_len;
	d->min_ip_len = clamp_u16(m->ip_len);
	d->max_ip_len = d->min_ip_len;
	if (segs <= 1)
		return;

	/* An aggregate of @segs wire packets: each repeats the headers, all but
	 * the last carry gso_size bytes of payload. */
	extra = segs - 1;
	d->packets = segs;
	d->octets += extra * m->l34_hdr_len;
	d->l2_octets += extra * (m->l2_hdr_len + m->l34_hdr_len);
	if (gso_size == GSO_BY_FRAGS_) {
		/* SCTP: segments of unequal sizes; only their mean is known. */
		d->min_ip_len = clamp_u16(d->octets / segs);
		d->max_ip_len = d->min_ip_len;
	} else if (gso_size && (__u64)m->ip_len > extra * gso_size) {
		last = m->ip_len - extra * gso_size;
		d->min_ip_len = clamp_u16(last);
		d->max_ip_len = clamp_u16((__u64)m->l34_hdr_len + gso_size);
	}
}

static __always_inline void counters_add(struct flow_counters *c, const struct packet_meta *m,
					 const struct packet_delta *d, __u64 now)
{
	if (c->packets == 0) {
		/* This CPU's first packet of the flow in this epoch: a precise
		 * time (once per flow and CPU), so two directions that begin
		 * within one tick are still ordered for the agent. */
		c->first_ns = bpf_ktime_get_ns();
		c->last_ns = c->first_ns;
		c->min_ip_len = d->min_ip_len;
		c->max_ip_len = d->max_ip_len;
		c->min_ttl = m->ttl;
		c->max_ttl = m->ttl;
		c->tos = m->tos;
		c->flow_label = m->flow_label;
	} else {
		if (d->min_ip_len < c->min_ip_len)
			c->min_ip_len = d->min_ip_len;
		if (d->max_ip_len > c->max_ip_len)
			c->max_ip_len = d->max_ip_len;
		if (m->ttl < c->min_ttl)
			c->min_ttl = m->ttl;
		if (m->ttl > c->max_ttl)
			c->max_ttl = m->ttl;
	}
	c->packets += d->packets;
	c->octets += d->octets;
	c->l2_octets += d->l2_octets;
	if (now > c->last_ns)
		c->last_ns = now;
	c->tcp_flags |= m->tcp_flags;
	c->tcp_syn |= m->tcp_syn;
	if (m->is_fragment)
		c->fragments += d->packets;
	c->flags |= m->flow_flags;
}

/*
 * Add one parsed packet to its flow in the current epoch's table.
 * Without atomics: each CPU writes only its own slot of the per-CPU value.
 * @outer: the packet's outer flow metered beside its inner one (--tunnels
 * both), counted apart so that packets stays one per wire packet.
 */
static __always_inline void meter(struct flow_key *key, struct packet_meta *m,
				  struct bpfix_stats *s, __u32 segs, __u32 gso_size,
				  const int outer)
{
	struct packet_delta d;
	struct flow_counters *c;
	__u32 zero = 0, slot = 0;
	__u32 *epoch;
	void *table;
	__u64 now;
	long err;

	packet_delta(m, segs, gso_size, &d);
	if (d.packets > 1)
		m->flow_flags |= FLOW_F_GSO;
	if (outer) {
		s->tunnel_outer_packets += d.packets;
		s->tunnel_outer_octets += d.octets;
		goto keyed;
	}
	s->packets += d.packets;
	s->octets += d.octets;
	s->l2_octets += d.l2_octets;
	if (d.packets > 1)
		s->gso_aggregates++;
	if (m->malformed) {
		stat_add(s, m->malformed, d.packets);
		m->flow_flags |= FLOW_F_MALFORMED;
	}
	if (key->ip_version == 4)
		s->parsed_ipv4 += d.packets;
	else if (key->ip_version == 6)
		s->parsed_ipv6 += d.packets;
	else
		s->parsed_l2 += d.packets;
	if (m->tunnel) {
		if (m->tunnel & PKT_TUNNEL_DECAP)
			s->tunnel_decap += d.packets;
		if (m->tunnel & PKT_TUNNEL_TOO_DEEP)
			s->tunnel_too_deep += d.packets;
		if (m->tunnel & PKT_TUNNEL_FULL)
			s->tunnel_table_full += d.packets;
	}
keyed:

	if (m->is_fragment)
		fragment_ports(key, m, s);

	epoch = bpf_map_lookup_elem(&flow_epoch, &zero);
	if (epoch)
		slot = *epoch & (FLOW_TABLES - 1);
	table = bpf_map_lookup_elem(&flow_tables, &slot);
	if (!table) {
		s->no_table += d.packets;
		s->not_metered_packets += d.packets;
		s->not_metered_octets += d.octets;
		return;
	}

	/* CLOCK_MONOTONIC at tick granularity: a precise read costs 25-35 ns
	 * under kvm-clock, as much as the rest of the hot path (BENCHMARKS.md).
	 * IPFIX carries milliseconds; the tick is 1-4 ms. */
	now = bpf_ktime_get_coarse_ns();
	c = bpf_map_lookup_elem(table, key);
	if (!c) {
		struct flow_counters fresh = {};

		counters_add(&fresh, m, &d, now);
		err = bpf_map_update_elem(table, key, &fresh, BPF_NOEXIST);
		if (!err) {
			(&s->table_flows_0)[slot]++;
			goto counted;
		}
		/* -EEXIST: another CPU created it since our lookup. */
		c = bpf_map_lookup_elem(table, key);
		if (!c) {
			s->insert_failed++;
			s->insert_failed_packets += d.packets;
			s->insert_failed_octets += d.octets;
			return;
		}
		s->insert_race++;
	}
	counters_add(c, m, &d, now);
counted:
	(&s->table_packets_0)[slot] += d.packets;
	(&s->table_octets_0)[slot] += d.octets;
}

/* The first @k (0..7) bytes of @w as they lay in memory, the rest zero. */
static __always_inline __u64 first_bytes(__u64 w, __u32 k)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return w & ((1ULL << (k * 8)) - 1);
#else
	return w & ~(~0ULL >> (k * 8));
#endif
}

/*
 * The fingerprint of a parsed IPv4 or IPv6 packet whose IP header starts
 * at @ip_off (include/bpfix.h, ONE PACKET, ONE COUNT): its first
 * DEDUP_FP_BYTES, zero past the datagram's end, with what a hop rewrites
 * masked. Read directly when the linear data holds them, else (a
 * multi-buffer frame) with one helper call.
 * @l4 is the L4 protocol when its header follows the IP header (0 for a
 * later fragment). Returns 0, or -1 when the bytes cannot be read (the
 * packet is then metered as usual).
 */
static __always_inline int dedup_fingerprint(void *ctx, const int kind, void *data,
					     void *data_end, __u32 ip_off, __u32 ip_len,
					     __u8 ip_version, __u8 l4, __u64 *fp)
{
	struct cursor c = { .ctx = ctx };
	__u32 n = ip_len < DEDUP_FP_BYTES ? ip_len : DEDUP_FP_BYTES;
	__u8 *b = (__u8 *)fp;
	__u32 hdr, csum = 0, i;
	__u8 *ip;

	if (ip_off > ETH_HLEN + 4 * VLAN_MAX_DEPTH || n < 20)
		return -1;
	ip = data + ip_off;
	if ((void *)(ip + DEDUP_FP_BYTES) <= data_end) {
		for (i = 0; i < DEDUP_FP_BYTES / 8; i++)
			fp[i] = ((__u64 *)ip)[i];
	} else if ((void *)(ip + n) <= data_end) {
		/* A short datagram, linear: whole words, then what is left
		 * of the frame in 4, 2 and 1 bytes (the verifier needs a
		 * constant offset for each read). */
		__builtin_memset(fp, 0, DEDUP_FP_BYTES);
		for (i = 0; i < DEDUP_FP_BYTES / 8; i++) {
			__u8 *p = ip + i * 8, *t = b + i * 8;

			if ((void *)(p + 8) <= data_end) {
				fp[i] = *(__u64 *)p;
				continue;
			}
			if ((void *)(p + 4) <= data_end) {
				*(__u32 *)t = *(__u32 *)p;
				p += 4;
				t += 4;
			}
			if ((void *)(p + 2) <= data_end) {
				*(__u16 *)t = *(__u16 *)p;
				p += 2;
				t += 2;
			}
			if ((void *)(p + 1) <= data_end)
				*t = *p;
			break;
		}
	} else {
		__builtin_memset(fp, 0, DEDUP_FP_BYTES);
		/* 20..72, in a form the verifier keeps through the min() */
		asm volatile("" : "+r"(n));
		n = ((n - 1) & 127) + 1;
		if (n > DEDUP_FP_BYTES || frame_load(&c, kind, ip_off, fp, n))
			return -1;
	}
	/* Past the datagram's end (padding, or what the direct read took
	 * along): zero. */
	for (i = 0; n < DEDUP_FP_BYTES && i < DEDUP_FP_BYTES / 8; i++) {
		__u32 k = n > i * 8 ? n - i * 8 : 0;

		if (k < 8)
			fp[i] = first_bytes(fp[i], k);
	}

	if (ip_version == 4) {
		hdr = (b[0] & 0x0f) * 4;
		b[1] &= ~0x03;		/* ECN */
		b[8] = 0;		/* TTL */
		b[10] = 0;		/* header checksum */
		b[11] = 0;
	} else {
		hdr = 40;
		b[1] &= ~0x30;		/* ECN */
		b[7] = 0;		/* hop limit */
		if (b[6] != l4)
			l4 = 0;		/* extension headers come first */
	}
	if (l4 == IPPROTO_TCP_)
		csum = hdr + 16;
	else if (l4 == IPPROTO_UDP_ || l4 == IPPROTO_UDPLITE_)
		csum = hdr + 6;
	else if (l4 == IPPROTO_ICMP_ || l4 == IPPROTO_ICMPV6_)
		csum = hdr + 2;
	if (csum && csum < DEDUP_FP_BYTES - 1) {
		b[csum] = 0;	/* L4 checksum */
		b[csum + 1] = 0;
	}
	return 0;
}

/*
 * --dedup: has this CPU metered the packet on some interface within the
 * window? If not, remember it here and now. A second and third sighting
 * both match the first: the window runs from where the packet was metered.
 * @proto: IP version | L4 protocol << 8 (see dedup_fingerprint).
 */
static __always_inline int dedup_seen(void *ctx, const int kind, void *data, void *data_end,
				      __u32 ip_off, __u32 ip_len, __u32 proto, __u32 ifindex)
{
	__u64 fp[DEDUP_FP_BYTES / 8];
	struct dedup_entry *e;
	__u64 h = 0, diff = 0, now;
	__u32 slot;
	int i;

	if ((__u8)proto != 4 && (__u8)proto != 6)
		return 0;
	if (dedup_fingerprint(ctx, kind, data, data_end, ip_off, ip_len, (__u8)proto,
			      (__u8)(proto >> 8), fp))
		return 0;
	/* Rotated words XORed, then one multiply: a slot index, not an
	 * identity (the whole fingerprint is compared). */
	for (i = 0; i < DEDUP_FP_BYTES / 8; i++)
		h ^= i ? fp[i] << (7 * i) | fp[i] >> (64 - 7 * i) : fp[i];
	h *= 0x9e3779b97f4a7c15ULL;
	slot = h >> (64 - DEDUP_SLOTS_LOG2);
	e = bpf_map_lookup_elem(&dedup_recent, &slot);
	if (!e)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	for (i = 0; i < DEDUP_FP_BYTES / 8; i++)
		diff |= e->fp[i] ^ fp[i];
	if (!diff && e->seen_ns && now - e->seen_ns < dedup_window_ns)
		return 1;
	__builtin_memcpy(e->fp, fp, sizeof(fp));
	e->seen_ns = now;
	e->ifindex = ifindex;
	return 0;
}

/*
 * The hook as global functions: the verifier checks each once, on its own,
 * instead of once for every state the parser leaves behind (inlined, it
 * took bpfix_tc_ingress from 65k to 888k of the 1M instructions the
 * verifier allows).
 */
__noinline int dedup_seen_xdp(struct xdp_md *ctx, __u32 ip_off, __u32 ip_len, __u32 proto,
			      __u32 ifindex)
{
	return dedup_seen(ctx, FRAME_XDP, (void *)(long)ctx->data, (void *)(long)ctx->data_end,
			  ip_off, ip_len, proto, ifindex);
}

__noinline int dedup_seen_tc(struct __sk_buff *skb, __u32 ip_off, __u32 ip_len, __u32 proto,
			     __u32 ifindex)
{
	return dedup_seen(skb, FRAME_TC, (void *)(long)skb->data, (void *)(long)skb->data_end,
			  ip_off, ip_len, proto, ifindex);
}

/* What dedup_seen_*() take as @proto. */
static __always_inline __u32 dedup_proto(const struct flow_key *key, const struct packet_meta *m)
{
	return key->ip_version | (m->is_fragment == FRAG_LATER ? 0 : (__u32)key->protocol << 8);
}

/* A duplicate's count: what meter() would have added to the flow. */
static __always_inline void count_duplicate(struct bpfix_stats *s, const struct packet_meta *m,
					    __u32 segs, __u32 gso_size)
{
	struct packet_delta d;

	packet_delta(m, segs, gso_size, &d);
	s->duplicate_packets += d.packets;
	s->duplicate_octets += d.octets;
}

/* --tunnels both: the outer flow of inner packet @m (parse_tunnels left it
 * in the scratch slot). A GSO aggregate's segments each repeat every header
 * from the outer IP header to the end of the inner transport header. */
static __always_inline void meter_outer(const struct packet_meta *m, struct bpfix_stats *s,
					__u32 segs, __u32 gso_size)
{
	struct tunnel_walk *w = tunnel_walk_slot();

	if (!w)
		return;
	w->outer_m.l34_hdr_len = m->l2_hdr_len - w->outer_m.l2_hdr_len + m->l34_hdr_len;
	meter(&w->outer_key, &w->outer_m, s, segs, gso_size, 1);
}

static __always_inline struct bpfix_stats *stats_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/*
 * A packet taken out of a tunnel: its inner flow, and with --tunnels both
 * its outer one, metered. A global function, which the verifier checks
 * once: inlined, meter() was checked again for every outer header path
 * that can carry a tunnel, and loading took three times as long.
 */
__noinline int meter_decapsulated(struct flow_key *key, struct packet_meta *m, __u32 segs,
				  __u32 gso_size)
{
	struct bpfix_stats *s = stats_slot();

	if (!key || !m || !s)
		return 0;
	if (tunnel_mode == TUNNEL_MODE_BOTH)
		meter_outer(m, s, segs, gso_size);
	meter(key, m, s, segs, gso_size, 0);
	return 0;
}

/* Frames too short to key a flow: counted, not metered. */
static __always_inline void not_metered(struct bpfix_stats *s, __u64 frame_len)
{
	s->packets++;
	s->l2_octets += frame_len;
	s->malformed_eth++;
	s->not_metered_packets++;
}

SEC("xdp.frags")
int bpfix_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet_meta m = {};
	struct flow_key key = {};
	struct bpfix_stats *s = stats_slot();
	int r;

	if (!s)
		return XDP_PASS;
	/* With multi-buffer frames the linear part holds the headers and
	 * bpf_xdp_get_buff_len() the whole frame. */
	m.frame_len = bpf_xdp_get_buff_len(ctx);
	key.ifindex = ctx->ingress_ifindex;
	key.direction = FLOW_DIR_INGRESS;
	r = parse_frame(ctx, FRAME_XDP, data, data_end, 0, 0, &key, &m);
	if (r < 0) {
		not_metered(s, m.frame_len);
		return XDP_PASS;
	}
	/* A packet taken out of a tunnel is never a duplicate: dedup's
	 * fingerprint is read at the outer IP header (ONE PACKET, ONE COUNT). */
	if (!r && dedup_enabled &&
	    dedup_seen_xdp(ctx, m.l2_hdr_len, m.ip_len, dedup_proto(&key, &m), key.ifindex)) {
		count_duplicate(s, &m, 1, 0);
		return XDP_PASS;
	}
	if (r > 0)
		meter_decapsulated(&key, &m, 1, 0);
	else
		meter(&key, &m, s, 1, 0, 0);
	return XDP_PASS;
}

static __always_inline int tc_meter(struct __sk_buff *skb, __u8 direction)
{
	struct packet_meta m = {};
	struct flow_key key = {};
	struct bpfix_stats *s = stats_slot();
	void *data, *data_end;
	int r;

	if (!s)
		return TC_ACT_UNSPEC_;
	/* Headers of a non-linear skb may sit in its fragments; making the
	 * first bytes linear changes no byte of the packet. */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data_end - data < PARSE_PULL_LEN && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < PARSE_PULL_LEN ? skb->len : PARSE_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	/* An outer VLAN tag the stack or NIC took out of the data is not in
	 * skb->len, but it was on the wire. */
	m.frame_len = skb->len + (skb->vlan_present ? 4 : 0);
	key.ifindex = skb->ifindex;
	key.direction = direction;
	r = parse_frame(skb, FRAME_TC, data, data_end, skb->vlan_present, skb->vlan_tci,
			&key, &m);
	if (r < 0) {
		not_metered(s, m.frame_len);
		return TC_ACT_UNSPEC_;
	}
	/* A tag taken out of the data is in l2_hdr_len, not before the IP header. */
	if (!r && dedup_enabled &&
	    dedup_seen_tc(skb, m.l2_hdr_len - (skb->vlan_present ? 4 : 0), m.ip_len,
			  dedup_proto(&key, &m), key.ifindex)) {
		count_duplicate(s, &m, skb->gso_segs, skb->gso_size);
		return TC_ACT_UNSPEC_;
	}
	if (r > 0)
		meter_decapsulated(&key, &m, skb->gso_segs, skb->gso_size);
	else
		meter(&key, &m, s, skb->gso_segs, skb->gso_size, 0);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int bpfix_tc_ingress(struct __sk_buff *skb)
{
	return tc_meter(skb, FLOW_DIR_INGRESS);
}

SEC("tc")
int bpfix_tc_egress(struct __sk_buff *skb)
{
	return tc_meter(skb, FLOW_DIR_EGRESS);
}
