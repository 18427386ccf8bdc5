/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one packet parser, compiled into the XDP and the TC programs.
 *
 * Every read is preceded by a bounds check against the end of the linear
 * data (cursor_take); loops are bounded by VLAN_MAX_DEPTH and
 * IPV6_EXT_MAX_CHAIN. The parser never writes to the packet. It fills a
 * zeroed flow_key and a packet_meta, and names the malformed reason (an
 * offset into struct bpfix_stats) when it had to stop early; the rules for
 * what a malformed packet is metered as are in include/bpfix.h.
 */
#ifndef BPFIX_PARSE_BPF_H
#define BPFIX_PARSE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpfix.h"

/* vmlinux.h carries types, not the uapi macros. */
#define ETH_HLEN        14
#define ETH_P_802_3_MIN 0x0600	/* below: an 802.3 length field */
#define ETH_P_IP        0x0800
#define ETH_P_IPV6      0x86DD
#define ETH_P_8021Q     0x8100
#define ETH_P_8021AD    0x88A8
#define ETH_P_QINQ1     0x9100	/* pre-standard QinQ, still seen */
#define VLAN_VID_MASK   0x0fff

#define IPPROTO_HOPOPTS_  0
#define IPPROTO_ICMP_     1
#define IPPROTO_TCP_      6
#define IPPROTO_UDP_      17
#define IPPROTO_DCCP_     33
#define IPPROTO_ROUTING_  43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_       51
#define IPPROTO_ICMPV6_   58
#define IPPROTO_DSTOPTS_  60
#define IPPROTO_SCTP_     132
#define IPPROTO_UDPLITE_  136

#define IPV4_FRAG_OFFSET 0x1fff
#define IPV4_FRAG_MF     0x2000
#define IPV6_FRAG_OFFSET 0xfff8
#define IPV6_FRAG_MF     0x0001

/* What the packet is, beyond its key. Sizes are per wire packet. */
struct packet_meta {
	__u64 frame_len;	/* whole frame, Ethernet header included */
	__u32 ip_len;		/* IP total length (L2 payload for L2 flows) */
	__u32 flow_label;
	__u32 frag_id;		/* identification, when is_fragment */
	__u16 l2_hdr_len;	/* Ethernet + VLAN tags */
	__u16 l34_hdr_len;	/* IP header (with options/extensions) + L4 header */
	__u16 tcp_flags;
	__u16 malformed;	/* offsetof(struct bpfix_stats, reason), 0 if none */
	__u8  ttl;
	__u8  tos;
	__u8  tcp_syn;
	__u8  is_fragment;	/* 1: first fragment, 2: later fragment */
	__u8  flow_flags;	/* FLOW_F_* this packet sets */
};

#define FRAG_FIRST 1
#define FRAG_LATER 2

#define MALFORMED(reason) ((__u16)__builtin_offsetof(struct bpfix_stats, reason))

/* Where the parser reads from. XDP and TC differ only in the helper that
 * copies bytes out of a frame (FRAME_XDP/FRAME_TC, a constant per program,
 * so the compiler keeps one of them). */
#define FRAME_XDP 1
#define FRAME_TC  2

struct cursor {
	void *pos;		/* direct packet access: next byte */
	void *end;		/* data_end */
	void *ctx;		/* xdp_md or __sk_buff, for frame_load() */
	__u32 off;		/* indirect reads: offset of the next byte in the frame */
	__u32 off_end;		/* ... and of the end of the IP datagram */
	__u8 buf[20];		/* indirect reads land here */
};

/* Returns a pointer to the next @len bytes and advances, or NULL when the
 * data ends first. @len must be a constant or a bounded value. */
static __always_inline void *cursor_take(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

/* @kind is a constant at every call site: the other helper is not emitted
 * (an XDP program may not even name bpf_skb_load_bytes). */
static __always_inline long frame_load(struct cursor *c, const int kind, __u32 off, void *buf,
				       __u32 len)
{
	if (kind == FRAME_XDP)
		return bpf_xdp_load_bytes(c->ctx, off, buf, len);
	return bpf_skb_load_bytes(c->ctx, off, buf, len);
}

/*
 * The same, read by offset into c->buf (at most sizeof(c->buf) bytes) and
 * bounded by the end of the IP datagram. Used after IPv6 extension headers:
 * their lengths make every packet pointer offset different, and the
 * verifier would explore each combination; scalar offsets it need not
 * track precisely, so the walk verifies in linear time.
 */
static __always_inline void *cursor_take_indirect(struct cursor *c, __u32 len, const int kind)
{
	if (len > sizeof(c->buf) || c->off + len > c->off_end ||
	    frame_load(c, kind, c->off, c->buf, len))
		return NULL;
	c->off += len;
	return c->buf;
}

/* @mode, a constant at every call site: 0 reads the packet directly,
 * FRAME_XDP/FRAME_TC by offset with that program's helper. */
static __always_inline void *l4_take(struct cursor *c, __u32 len, const int mode)
{
	return mode ? cursor_take_indirect(c, len, mode) : cursor_take(c, len);
}

/*
 * Headers parsed past the end of the IP datagram (into Ethernet padding)
 * are not headers: forget the ports and flags read there. Checked once,
 * after parsing, as an offset: a second end pointer in the cursor would
 * double the verifier's states.
 */
static __always_inline void check_datagram_end(struct cursor *c, void *ip, __u32 ip_len,
					       struct flow_key *key, struct packet_meta *m,
					       __u16 l3_hdr_len)
{
	if ((__u32)(c->pos - ip) <= ip_len)
		return;
	key->src_port = 0;
	key->dst_port = 0;
	m->tcp_flags = 0;
	m->tcp_syn = 0;
	m->l34_hdr_len = l3_hdr_len;
	if (!m->malformed)
		m->malformed = MALFORMED(malformed_l4_trunc);
}

static __always_inline int is_vlan_tpid(__u16 proto)
{
	return proto == ETH_P_8021Q || proto == ETH_P_8021AD || proto == ETH_P_QINQ1;
}

/* An IP packet whose IP header cannot be read is metered as an L2 flow:
 * the key keeps interface, VLANs, MACs and EtherType; the rest is zeroed. */
static __always_inline void key_as_l2(struct flow_key *key, struct packet_meta *m,
				      const struct ethhdr *eth, __u16 reason)
{
	key->ip_version = 0;
	key->protocol = 0;
	key->src_port = 0;
	key->dst_port = 0;
	__builtin_memset(&key->src, 0, sizeof(key->src));
	__builtin_memset(&key->dst, 0, sizeof(key->dst));
	__builtin_memcpy(key->src.mac, eth->h_source, 6);
	__builtin_memcpy(key->dst.mac, eth->h_dest, 6);
	m->ip_len = m->frame_len - m->l2_hdr_len;
	m->l34_hdr_len = 0;
	m->ttl = 0;
	m->tos = 0;
	m->flow_label = 0;
	m->is_fragment = 0;
	m->malformed = reason;
}

/* Transport header: ports (or ICMP type/code) and TCP flags. */
static __always_inline void parse_l4(struct cursor *c, __u8 proto,
				     struct flow_key *key, struct packet_meta *m,
				     const int mode)
{
	switch (proto) {
	case IPPROTO_TCP_: {
		struct tcphdr *th = l4_take(c, sizeof(*th), mode);
		__u8 *raw = (__u8 *)th;

		if (!th) {
			m->malformed = MALFORMED(malformed_l4_trunc);
			return;
		}
		key->src_port = bpf_ntohs(th->source);
		key->dst_port = bpf_ntohs(th->dest);
		/* Byte 12 low bit is NS, byte 13 holds CWR..FIN (RFC 7125). */
		m->tcp_flags = ((__u16)(raw[12] & 0x01) << 8) | raw[13];
		if ((m->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
			m->tcp_syn = TCP_SYN_SEEN;
		else if ((m->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
			 (TCP_FLAG_SYN | TCP_FLAG_ACK))
			m->tcp_syn = TCP_SYNACK_SEEN;
		if (th->doff < 5)
			m->malformed = MALFORMED(malformed_tcp_doff);
		else
			m->l34_hdr_len += th->doff * 4;
		return;
	}
	case IPPROTO_UDP_:
	case IPPROTO_UDPLITE_: {
		struct udphdr *uh = l4_take(c, sizeof(*uh), mode);

		if (!uh) {
			m->malformed = MALFORMED(malformed_l4_trunc);
			return;
		}
		key->src_port = bpf_ntohs(uh->source);
		key->dst_port = bpf_ntohs(uh->dest);
		m->l34_hdr_len += sizeof(*uh);
		return;
	}
	case IPPROTO_SCTP_:
	case IPPROTO_DCCP_: {
		/* Both start with source and destination port; SCTP's common
		 * header is 12 bytes, DCCP's generic header at least 12 with
		 * its length (data offset, 4-byte words) in byte 4. */
		__be16 *ports = l4_take(c, 12, mode);

		if (!ports) {
			m->malformed = MALFORMED(malformed_l4_trunc);
			return;
		}
		key->src_port = bpf_ntohs(ports[0]);
		key->dst_port = bpf_ntohs(ports[1]);
		m->l34_hdr_len += proto == IPPROTO_SCTP_ ? 12 : ((__u8 *)ports)[4] * 4;
		return;
	}
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		/* type, code, checksum */
		__u8 *ih = l4_take(c, 4, mode);

		if (!ih) {
			m->malformed = MALFORMED(malformed_l4_trunc);
			return;
		}
		key->dst_port = ((__u16)ih[0] << 8) | ih[1];
		return;
	}
	default:
		return;
	}
}

static __always_inline void parse_ipv4(struct cursor *c, const struct ethhdr *eth,
				       struct flow_key *key, struct packet_meta *m)
{
	struct iphdr *iph = cursor_take(c, sizeof(*iph));
	__u32 ihl, tot_len, avail;
	__u16 frag;

	if (!iph) {
		key_as_l2(key, m, eth, MALFORMED(malformed_ipv4_trunc));
		return;
	}
	if (iph->version != 4) {
		key_as_l2(key, m, eth, MALFORMED(malformed_ip_version));
		return;
	}
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph) || !cursor_take(c, ihl - sizeof(*iph))) {
		key_as_l2(key, m, eth, MALFORMED(malformed_ipv4_ihl));
		return;
	}

	key->ip_version = 4;
	key->protocol = iph->protocol;
	key->src.ip4 = iph->saddr;
	key->dst.ip4 = iph->daddr;
	m->ttl = iph->ttl;
	m->tos = iph->tos;
	m->l34_hdr_len = ihl;

	avail = m->frame_len - m->l2_hdr_len;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len == 0) {
		/* BIG TCP aggregates leave tot_len 0; the frame says it all. */
		tot_len = avail;
	} else if (tot_len < ihl || tot_len > avail) {
		/* Count the octets that were there, not the ones claimed. */
		m->malformed = MALFORMED(malformed_ipv4_len);
		tot_len = avail;
	}
	m->ip_len = tot_len;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IPV4_FRAG_OFFSET | IPV4_FRAG_MF)) {
		m->frag_id = bpf_ntohs(iph->id);
		if (frag & IPV4_FRAG_OFFSET) {
			m->is_fragment = FRAG_LATER;	/* no transport header here */
			return;
		}
		m->is_fragment = FRAG_FIRST;
	}
	parse_l4(c, iph->protocol, key, m, 0);
	check_datagram_end(c, iph, tot_len, key, m, ihl);
}

static __always_inline int is_ipv6_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS_ || nexthdr == IPPROTO_ROUTING_ ||
	       nexthdr == IPPROTO_DSTOPTS_ || nexthdr == IPPROTO_AH_ ||
	       nexthdr == IPPROTO_FRAGMENT_;
}

static __always_inline void parse_ipv6(struct cursor *c, const struct ethhdr *eth,
				       struct flow_key *key, struct packet_meta *m, const int kind)
{
	struct ipv6hdr *ip6h = cursor_take(c, sizeof(*ip6h));
	__u32 payload_len, avail;
	__u8 nexthdr;
	__u8 *fl;
	int i;

	if (!ip6h) {
		key_as_l2(key, m, eth, MALFORMED(malformed_ipv6_trunc));
		return;
	}
	if (ip6h->version != 6) {
		key_as_l2(key, m, eth, MALFORMED(malformed_ip_version));
		return;
	}

	key->ip_version = 6;
	__builtin_memcpy(key->src.ip6, &ip6h->saddr, 16);
	__builtin_memcpy(key->dst.ip6, &ip6h->daddr, 16);
	fl = ip6h->flow_lbl;
	m->ttl = ip6h->hop_limit;
	m->tos = (ip6h->priority << 4) | (fl[0] >> 4);
	m->flow_label = ((__u32)(fl[0] & 0x0f) << 16) | ((__u32)fl[1] << 8) | fl[2];
	m->l34_hdr_len = sizeof(*ip6h);

	avail = m->frame_len - m->l2_hdr_len;
	payload_len = bpf_ntohs(ip6h->payload_len);
	if (payload_len == 0) {
		payload_len = avail - sizeof(*ip6h);	/* jumbogram / BIG TCP */
	} else if (payload_len + sizeof(*ip6h) > avail) {
		/* Count the octets that were there, not the ones claimed. */
		m->malformed = MALFORMED(malformed_ipv6_len);
		payload_len = avail - sizeof(*ip6h);
	}
	m->ip_len = payload_len + sizeof(*ip6h);

	nexthdr = ip6h->nexthdr;
	if (!is_ipv6_ext(nexthdr)) {
		/* The common case: the transport header follows at once. */
		key->protocol = nexthdr;
		parse_l4(c, nexthdr, key, m, 0);
		check_datagram_end(c, ip6h, m->ip_len, key, m, sizeof(*ip6h));
		return;
	}

	/* Extension headers: read by offset (see cursor_take_indirect). */
	c->off = (__u32)((void *)ip6h - (void *)eth) + sizeof(*ip6h);
	c->off_end = (__u32)((void *)ip6h - (void *)eth) + m->ip_len;
	for (i = 0; i < IPV6_EXT_MAX_CHAIN; i++) {
		__u8 *ext;
		__u32 len;

		switch (nexthdr) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_AH_:
			ext = cursor_take_indirect(c, 2, kind);
			if (!ext)
				goto ext_trunc;
			/* AH counts 4-byte words minus 2, the others 8-byte
			 * words minus 1 (RFC 4302, RFC 8200). */
			len = nexthdr == IPPROTO_AH_ ? ((__u32)ext[1] + 2) * 4
						     : ((__u32)ext[1] + 1) * 8;
			if (c->off + len - 2 > c->off_end)
				goto ext_trunc;	/* key names the truncated header */
			nexthdr = ext[0];
			c->off += len - 2;
			m->l34_hdr_len += len;
			break;
		case IPPROTO_FRAGMENT_: {
			__u8 *fh = cursor_take_indirect(c, 8, kind);
			__u16 off;

			if (!fh)
				goto ext_trunc;
			nexthdr = fh[0];
			m->l34_hdr_len += 8;
			off = ((__u16)fh[2] << 8) | fh[3];
			m->frag_id = ((__u32)fh[4] << 24) | ((__u32)fh[5] << 16) |
				     ((__u32)fh[6] << 8) | fh[7];
			if (off & IPV6_FRAG_OFFSET) {
				m->is_fragment = FRAG_LATER;
				key->protocol = nexthdr;
				return;
			}
			if (off & IPV6_FRAG_MF)
				m->is_fragment = FRAG_FIRST;
			/* An atomic fragment (offset 0, M 0) is a whole
			 * datagram: parse on as if unfragmented. */
			break;
		}
		default:
			goto upper;
		}
	}
	/* Still an extension header after the bound: give up on ports. */
	if (is_ipv6_ext(nexthdr)) {
		key->protocol = nexthdr;
		m->malformed = MALFORMED(malformed_ipv6_ext_chain);
		return;
	}
upper:
	key->protocol = nexthdr;
	parse_l4(c, nexthdr, key, m, kind);
	return;
ext_trunc:
	key->protocol = nexthdr;
	m->malformed = MALFORMED(malformed_ipv6_ext_trunc);
}

/*
 * Parse one frame of @ctx (@kind FRAME_XDP or FRAME_TC, a constant).
 * @m->frame_len must be set by the caller (the whole frame, which may be
 * longer than the linear data); @hw_vlan_tci is the outer tag
 * the NIC or the stack took out of the data (TC), or 0 and @hw_vlan 0.
 * Returns 0 when @key is ready to meter, -1 when no flow can be keyed (the
 * frame is shorter than an Ethernet header); m->malformed names any fault.
 */
static __always_inline int parse_frame(void *ctx, const int kind, void *data, void *data_end,
				       int hw_vlan, __u16 hw_vlan_tci,
				       struct flow_key *key, struct packet_meta *m)
{
	struct cursor c = { .pos = data, .end = data_end, .ctx = ctx };
	struct ethhdr *eth = cursor_take(&c, sizeof(*eth));
	__u16 proto;
	int depth = 0;
	int i;

	if (!eth) {
		m->malformed = MALFORMED(malformed_eth);
		return -1;
	}
	m->l2_hdr_len = ETH_HLEN;
	proto = bpf_ntohs(eth->h_proto);

	if (hw_vlan) {
		key->vlan_outer = hw_vlan_tci & VLAN_VID_MASK;
		m->l2_hdr_len += 4;	/* on the wire the tag is there */
		depth = 1;
	}

	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		__be16 *tag;

		if (!is_vlan_tpid(proto))
			break;
		if (depth >= VLAN_MAX_DEPTH) {
			m->malformed = MALFORMED(malformed_vlan_depth);
			break;
		}
		tag = cursor_take(&c, 4);	/* TCI, encapsulated EtherType */
		if (!tag) {
			m->malformed = MALFORMED(malformed_vlan);
			break;
		}
		if (depth == 0)
			key->vlan_outer = bpf_ntohs(tag[0]) & VLAN_VID_MASK;
		else
			key->vlan_inner = bpf_ntohs(tag[0]) & VLAN_VID_MASK;
		proto = bpf_ntohs(tag[1]);
		m->l2_hdr_len += 4;
		depth++;
	}
	if (!m->malformed && is_vlan_tpid(proto))
		m->malformed = MALFORMED(malformed_vlan_depth);

	key->ether_type = proto;
	if (m->malformed) {
		key_as_l2(key, m, eth, m->malformed);
		return 0;
	}

	/* An 802.3 frame: the field is a length, not an EtherType. These
	 * (LLC: STP, ...) are keyed with EtherType 0. */
	if (proto < ETH_P_802_3_MIN) {
		key->ether_type = 0;
		key_as_l2(key, m, eth, 0);
		return 0;
	}

	switch (proto) {
	case ETH_P_IP:
		parse_ipv4(&c, eth, key, m);
		break;
	case ETH_P_IPV6:
		parse_ipv6(&c, eth, key, m, kind);
		break;
	default:
		key_as_l2(key, m, eth, 0);
		break;
	}
	return 0;
}

#endif /* BPFIX_PARSE_BPF_H */
