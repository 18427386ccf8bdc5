/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one packet parser, compiled into the XDP and the TC programs.
 *
 * Every read is preceded by a bounds check against the end of the linear
 * data (cursor_take); loops are bounded by VLAN_MAX_DEPTH,
 * IPV6_EXT_MAX_CHAIN, TUNNEL_MAX_DEPTH and MPLS_MAX_DEPTH. The parser never writes to the packet. It fills a
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
#define ETH_P_TEB       0x6558	/* transparent Ethernet bridging (GRE, Geneve) */
#define ETH_P_MPLS_UC   0x8847
#define ETH_P_MPLS_MC   0x8848
#define VLAN_VID_MASK   0x0fff

#define IPPROTO_HOPOPTS_  0
#define IPPROTO_ICMP_     1
#define IPPROTO_IPIP_     4
#define IPPROTO_IPV6_     41
#define IPPROTO_GRE_      47
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
	__u8  tunnel;		/* PKT_TUNNEL_* */
};

#define PKT_TUNNEL_DECAP    0x01	/* the key is the flow inside a tunnel */
#define PKT_TUNNEL_TOO_DEEP 0x02	/* ... and there was another one inside */
#define PKT_TUNNEL_FULL     0x04	/* a tunnel the tunnels map had no room for */

#define FRAG_FIRST 1
#define FRAG_LATER 2

#define MALFORMED(reason) ((__u16)__builtin_offsetof(struct bpfix_stats, reason))

/* Where the parser reads from. XDP and TC differ only in the helper that
 * copies bytes out of a frame (FRAME_XDP/FRAME_TC, a constant per program,
 * so the compiler keeps one of them). */
#define FRAME_XDP 1
#define FRAME_TC  2

struct cursor {
	void *start;		/* the frame's first byte */
	void *pos;		/* direct packet access: next byte */
	void *end;		/* data_end */
	void *ctx;		/* xdp_md or __sk_buff, for frame_load() */
	__u32 off;		/* indirect reads: offset of the next byte in the frame */
	__u32 off_end;		/* ... and of the end of the IP datagram */
	__u8 buf[20];		/* indirect reads land here */
	__u8 indirect;		/* 1: IPv6 extension headers were read by offset */
	__u8 hw_vlan_len;	/* 4: a tag taken out of the data was on the wire */
};

/* Where the cursor is in the frame as it was on the wire (the offsets
 * packet_meta counts in). */
static __always_inline __u32 cursor_wire_off(const struct cursor *c)
{
	return (__u32)(c->pos - c->start) + c->hw_vlan_len;
}

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
	c->indirect = 1;
	c->off = (__u32)((void *)ip6h - c->start) + sizeof(*ip6h);
	c->off_end = (__u32)((void *)ip6h - c->start) + m->ip_len;
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

/* ---- Tunnels ------------------------------------------------------------ */

/*
 * Set by the agent before load (--tunnels, --vxlan-port, --geneve-port).
 * The verifier knows their values, so with --tunnels outer no tunnel code
 * is left on the packet path (the step functions are still verified), and
 * a port list costs a few compares of a UDP packet's destination port.
 * Port 0 ends a list.
 */
const volatile __u8 tunnel_mode = TUNNEL_MODE_INNER;
const volatile __u16 tunnel_vxlan_ports[TUNNEL_PORTS_MAX] = { TUNNEL_VXLAN_PORTS_DEFAULT };
const volatile __u16 tunnel_geneve_ports[TUNNEL_PORTS_MAX] = { TUNNEL_GENEVE_PORTS_DEFAULT };

/* An encapsulation header, as tunnel_header() read it. */
struct tunnel {
	__u32 id;		/* flow_key.tun_id */
	__u16 next;		/* what follows: ETH_P_TEB (a frame), ETH_P_IP, ETH_P_IPV6 */
	__u8  type;		/* TUNNEL_* */
};

static __always_inline int tunnel_port(const volatile __u16 *ports, __u16 port)
{
	int i;

	for (i = 0; i < TUNNEL_PORTS_MAX; i++) {
		if (!ports[i])
			return 0;
		if (ports[i] == port)
			return 1;
	}
	return 0;
}

/* An MPLS label stack (RFC 3032) after Ethernet: the top label is the
 * tunnel's id; what follows the bottom of the stack is IP if its first
 * nibble says so (no control word or Ethernet pseudowire is decoded). */
static __always_inline int mpls_header(struct cursor *c, struct tunnel *t)
{
	__u8 *e, *ip;
	int i;

	for (i = 0; i < MPLS_MAX_DEPTH; i++) {
		e = cursor_take(c, 4);
		if (!e)
			return -1;
		if (i == 0)
			t->id = ((__u32)e[0] << 12) | ((__u32)e[1] << 4) | (e[2] >> 4);
		if (e[2] & 0x01)	/* bottom of stack */
			goto bottom;
	}
	return -1;			/* deeper than MPLS_MAX_DEPTH */
bottom:
	ip = c->pos;
	if ((void *)(ip + 1) > c->end)
		return -1;
	switch (ip[0] >> 4) {
	case 4:
		t->next = ETH_P_IP;
		break;
	case 6:
		t->next = ETH_P_IPV6;
		break;
	default:
		return 0;
	}
	t->type = TUNNEL_MPLS;
	return 1;
}

/* GRE (RFC 2784, key and sequence number of RFC 2890). Version 1 (PPTP)
 * and payloads other than IP and Ethernet are not decoded. */
static __always_inline int gre_header(struct cursor *c, struct tunnel *t)
{
	__u8 *h = cursor_take(c, 4);
	__u8 *w;

	if (!h)
		return -1;
	if (h[1] & 0x07)
		return 0;			/* not version 0 */
	if ((h[0] & 0x4f) || (h[1] & 0xf8))
		return -1;			/* routing, reserved bits (RFC 2784 2.3) */
	if ((h[0] & 0x80) && !cursor_take(c, 4))
		return -1;			/* checksum, reserved1 */
	if (h[0] & 0x20) {
		w = cursor_take(c, 4);
		if (!w)
			return -1;
		t->id = ((__u32)w[0] << 24) | ((__u32)w[1] << 16) | ((__u32)w[2] << 8) | w[3];
	}
	if ((h[0] & 0x10) && !cursor_take(c, 4))
		return -1;			/* sequence number */
	t->next = ((__u16)h[2] << 8) | h[3];
	if (t->next != ETH_P_IP && t->next != ETH_P_IPV6 && t->next != ETH_P_TEB)
		return 0;
	t->type = TUNNEL_GRE;
	return 1;
}

/*
 * Is the flow just parsed (@key, @m; the cursor after its transport header,
 * or after its IP header when it has none parse_l4 knows) a tunnel?
 * Returns 1 with @t filled and the cursor after the encapsulation header,
 * 0 when it is not one, -1 when its encapsulation header is truncated,
 * malformed, or beyond the outer datagram.
 * Fragments are not decapsulated: only the first would have the inner
 * headers, so the datagram would split into two flows.
 */
static __always_inline int tunnel_header(struct cursor *c, const struct flow_key *key,
					 const struct packet_meta *m, struct tunnel *t)
{
	__u8 *h;
	int r;

	if (c->indirect || m->malformed || m->is_fragment)
		return 0;
	t->id = 0;
	if (!key->ip_version) {
		if (key->ether_type != ETH_P_MPLS_UC && key->ether_type != ETH_P_MPLS_MC)
			return 0;
		r = mpls_header(c, t);
		goto check;
	}
	switch (key->protocol) {
	case IPPROTO_UDP_:
		if (tunnel_port(tunnel_vxlan_ports, key->dst_port)) {
			/* RFC 7348: flags with I set, 24 reserved bits, VNI, 8
			 * reserved. As Linux's vxlan, other flags (but GBP's G)
			 * and the last octet must be 0: a datagram that only
			 * happens to go to the port is rarely taken for one. */
			h = cursor_take(c, 8);
			if (!h || (h[0] & 0x7f) != 0x08 || h[7])
				return -1;
			t->type = TUNNEL_VXLAN;
			t->next = ETH_P_TEB;
			t->id = ((__u32)h[4] << 16) | ((__u32)h[5] << 8) | h[6];
			r = 1;
		} else if (tunnel_port(tunnel_geneve_ports, key->dst_port)) {
			/* RFC 8926: version and option length (4-byte words),
			 * flags, protocol type, VNI, reserved; options skipped */
			__u32 opt;

			h = cursor_take(c, 8);
			if (!h || (h[0] >> 6))
				return -1;
			opt = (h[0] & 0x3f) * 4;
			if (opt && !cursor_take(c, opt))
				return -1;
			t->next = ((__u16)h[2] << 8) | h[3];
			if (t->next != ETH_P_TEB && t->next != ETH_P_IP && t->next != ETH_P_IPV6)
				return 0;
			t->type = TUNNEL_GENEVE;
			t->id = ((__u32)h[4] << 16) | ((__u32)h[5] << 8) | h[6];
			r = 1;
		} else {
			return 0;
		}
		break;
	case IPPROTO_GRE_:
		r = gre_header(c, t);
		break;
	case IPPROTO_IPIP_:
	case IPPROTO_IPV6_:
		t->type = TUNNEL_IPIP;
		t->next = key->protocol == IPPROTO_IPIP_ ? ETH_P_IP : ETH_P_IPV6;
		r = 1;
		break;
	default:
		return 0;
	}
check:
	if (r > 0 && cursor_wire_off(c) > (__u32)m->l2_hdr_len + m->ip_len)
		return -1;
	return r;
}

/* Make @key and @m, the flow just parsed, ready for the one inside it,
 * whose headers start @inner_off bytes into the frame. The frame's fields
 * (interface, direction, VLANs) stay; the tunnel's come from the outermost
 * one (@first). The inner headers are parsed as a frame that ends where
 * the outer datagram does. */
static __always_inline void tunnel_enter(struct flow_key *key, struct packet_meta *m,
					 const struct tunnel *t, __u32 inner_off, int first)
{
	__u32 end = (__u32)m->l2_hdr_len + m->ip_len;

	if (first) {
		/* its outer addresses: parse_tunnels, tunnel_ref */
		key->tun_type = t->type;
		key->tun_id = t->id;
	}
	key->ip_version = 0;
	key->protocol = 0;
	key->src_port = 0;
	key->dst_port = 0;
	__builtin_memset(&key->src, 0, sizeof(key->src));
	__builtin_memset(&key->dst, 0, sizeof(key->dst));
	m->frame_len = end;
	m->l2_hdr_len = inner_off;
	m->ip_len = 0;
	m->l34_hdr_len = 0;
	m->tcp_flags = 0;
	m->tcp_syn = 0;
	m->ttl = 0;
	m->tos = 0;
	m->flow_label = 0;
}

/* The inner headers: an Ethernet frame (ETH_P_TEB, no VLAN tags decoded:
 * a tagged inner frame is an L2 flow) or an IP packet. */
static __always_inline void parse_inner(struct cursor *c, struct ethhdr *eth, __u16 next,
					struct flow_key *key, struct packet_meta *m, const int kind)
{
	if (next == ETH_P_TEB) {
		struct ethhdr *ie = cursor_take(c, sizeof(*ie));

		if (!ie) {
			m->malformed = MALFORMED(malformed_tunnel);
			return;
		}
		eth = ie;
		m->l2_hdr_len += ETH_HLEN;
		next = bpf_ntohs(ie->h_proto);
	}
	key->ether_type = next;
	switch (next) {
	case ETH_P_IP:
		parse_ipv4(c, eth, key, m);
		break;
	case ETH_P_IPV6:
		parse_ipv6(c, eth, key, m, kind);
		break;
	default:
		if (next < ETH_P_802_3_MIN)
			key->ether_type = 0;
		key_as_l2(key, m, eth, 0);
		break;
	}
}

/*
 * A packet being decapsulated, one encapsulation at a time: the flow parsed
 * so far and where its headers end, and the outermost flow as it was
 * parsed (to go back to when an inner header is malformed; --tunnels both
 * meters it too). A per-CPU scratch slot: on the stack the programs would
 * pass 512 bytes.
 */
struct tunnel_walk {
	struct flow_key key;		/* the flow parsed so far */
	struct packet_meta m;
	__u32 off;			/* data offset where its headers end */
	__u8  indirect;			/* its IPv6 extension headers were read by offset */
	__u8  hw_vlan_len;		/* struct cursor's */
	__u8  first;			/* 1: the next encapsulation is the outermost */
	__u8  pad0;
	struct flow_key outer_key;	/* the flow on the wire */
	struct packet_meta outer_m;
	struct tunnel_ends ends;	/* its outer addresses, as tunnel_ref looks them up */
	struct tunnel_ends last_ends;	/* this CPU's last pair and its ref: refs are */
	__u32 last_ref;			/* never reused, so a match needs no lookup */
};

_Static_assert(sizeof(struct tunnel_walk) <= TUNNEL_SCRATCH_BYTES,
	       "the agent's memory budget counts TUNNEL_SCRATCH_BYTES a CPU");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tunnel_walk);
} tunnel_scratch SEC(".maps");

static __always_inline struct tunnel_walk *tunnel_walk_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tunnel_scratch, &zero);
}

/* include/bpfix.h, TUNNELS. Shared, not per-CPU: a ref is the pair's on
 * every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TUNNEL_TABLE_ENTRIES);
	__type(key, struct tunnel_ends);
	__type(value, __u32);
} tunnels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tunnel_next SEC(".maps");

/*
 * The ref of the outer address pair of @w's flow on the wire, into @key
 * (tun_ref, and tun_reversed when its source is the pair's b), the pair
 * added to the tunnels map if it is new. Returns -1 when the map is full
 * or the refs are spent: the packet stays the outer flow.
 */
static __always_inline int tunnel_ref(struct tunnel_walk *w, struct flow_key *key)
{
	const struct flow_key *o = &w->outer_key;
	struct tunnel_ends *e = &w->ends;
	__u32 zero = 0, n, *ref, *next;
	int i, rev = 0;

	if (!o->ip_version)
		return 0;		/* MPLS after Ethernet: no addresses */
	for (i = 0; i < 4; i++) {
		if (o->src.words[i] != o->dst.words[i]) {
			rev = o->src.words[i] > o->dst.words[i];
			break;
		}
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ip_version = o->ip_version;
	e->a = rev ? o->dst : o->src;
	e->b = rev ? o->src : o->dst;
	key->tun_reversed = rev;
	if (w->last_ref) {
		const __u32 *x = (const __u32 *)e, *y = (const __u32 *)&w->last_ends;
		__u32 diff = 0;

		for (i = 0; i < (int)(sizeof(*e) / 4); i++)
			diff |= x[i] ^ y[i];
		if (!diff) {
			key->tun_ref = w->last_ref;
			return 0;
		}
	}
	ref = bpf_map_lookup_elem(&tunnels, e);
	if (ref) {
		n = *ref;
		goto found;
	}
	next = bpf_map_lookup_elem(&tunnel_next, &zero);
	if (!next || *next >= TUNNEL_REF_MAX)
		return -1;
	n = __sync_fetch_and_add(next, 1) + 1;
	if (n > TUNNEL_REF_MAX)
		return -1;
	if (bpf_map_update_elem(&tunnels, e, &n, BPF_NOEXIST)) {
		/* another CPU added the pair first (its ref wins; n is not
		 * used), or the map is full */
		ref = bpf_map_lookup_elem(&tunnels, e);
		if (!ref)
			return -1;
		n = *ref;
	}
found:
	key->tun_ref = n;
	w->last_ends = *e;
	w->last_ref = n;
	return 0;
}

/*
 * Take one encapsulation off @w: 1 when w->key/m are now the flow inside,
 * 0 when the flow is not a tunnel, -1 when the encapsulation or the inner
 * headers are truncated or malformed (w is then half changed).
 */
static __always_inline int tunnel_step(void *ctx, const int kind, void *data, void *data_end,
				       struct tunnel_walk *w)
{
	struct cursor c = { .start = data, .end = data_end, .ctx = ctx };
	struct tunnel t = {};
	struct ethhdr *eth = data;
	__u32 off = w->off;
	int r;

	/* tunnel_header reads only linear data, which TC pulled up to
	 * PARSE_PULL_LEN; the bound also tells the verifier off's range. */
	if (off > PARSE_PULL_LEN || (void *)(eth + 1) > data_end)
		return 0;
	c.pos = data + off;
	c.indirect = w->indirect;
	c.hw_vlan_len = w->hw_vlan_len;
	r = tunnel_header(&c, &w->key, &w->m, &t);
	if (r <= 0)
		return r;
	tunnel_enter(&w->key, &w->m, &t, cursor_wire_off(&c), w->first);
	/* Each way through the headers (GRE's optional fields, MPLS's labels,
	 * VXLAN or Geneve) leaves the cursor at an offset of its own, and the
	 * verifier would check the inner headers once for each. Read back
	 * from the map, the offset is one unknown value in a known range. */
	w->off = (__u32)(c.pos - data);
	off = *(volatile __u32 *)&w->off;
	if (off > PARSE_PULL_LEN)
		return -1;
	c.pos = data + off;
	parse_inner(&c, eth, t.next, &w->key, &w->m, kind);
	if (w->m.malformed)
		return -1;
	w->off = (__u32)(c.pos - data);
	w->indirect = c.indirect;
	w->first = 0;
	return 1;
}

/*
 * One step per program type, each a global function: the verifier checks it
 * once, on its own, instead of once per path through the outer headers
 * (inlined, the three levels of headers took it past 1M instructions).
 */
__noinline int tunnel_step_xdp(struct xdp_md *ctx, struct tunnel_walk *w)
{
	if (!ctx || !w)
		return 0;
	return tunnel_step(ctx, FRAME_XDP, (void *)(long)ctx->data, (void *)(long)ctx->data_end, w);
}

__noinline int tunnel_step_tc(struct __sk_buff *skb, struct tunnel_walk *w)
{
	if (!skb || !w)
		return 0;
	return tunnel_step(skb, FRAME_TC, (void *)(long)skb->data, (void *)(long)skb->data_end, w);
}

/* Could the flow just parsed be a tunnel? What a packet that is not one
 * pays for tunnels: these compares. */
static __always_inline int tunnel_candidate(int indirect, const struct flow_key *key,
					    const struct packet_meta *m)
{
	/* The protocol first: TCP, the common case, is one compare. */
	switch (key->protocol) {
	case IPPROTO_UDP_:
		if (!tunnel_port(tunnel_vxlan_ports, key->dst_port) &&
		    !tunnel_port(tunnel_geneve_ports, key->dst_port))
			return 0;
		break;
	case IPPROTO_GRE_:
	case IPPROTO_IPIP_:
	case IPPROTO_IPV6_:
		if (!key->ip_version)
			return 0;
		break;
	case 0:
		if (key->ether_type != ETH_P_MPLS_UC && key->ether_type != ETH_P_MPLS_MC)
			return 0;
		break;
	default:
		return 0;
	}
	return !indirect && !m->malformed && !m->is_fragment;
}

/*
 * Take off up to TUNNEL_MAX_DEPTH encapsulations from the flow @key/@m just
 * parsed. Returns 1 when @key is now the flow inside, tunnel_walk_slot()
 * holding the outermost flow as it was parsed (--tunnels both meters it
 * too), 0 when @key stays the flow on the wire. An encapsulation that is
 * truncated or malformed, at any depth, leaves the outermost flow, counted
 * under malformed_tunnel.
 */
static __always_inline int parse_tunnels(void *ctx, const int kind, struct cursor *c,
					 struct flow_key *key, struct packet_meta *m)
{
	struct tunnel_walk *w;
	int n = 0, r = 0;

	if (!tunnel_candidate(c->indirect, key, m))
		return 0;
	w = tunnel_walk_slot();
	if (!w)
		return 0;
	w->key = *key;
	w->m = *m;
	w->outer_key = *key;
	w->outer_m = *m;
	w->off = (__u32)(c->pos - c->start);
	w->indirect = c->indirect;
	w->hw_vlan_len = c->hw_vlan_len;
	w->first = 1;
	/* A step (a call) only where the flow so far may be a tunnel: the
	 * inner flow of a VXLAN packet costs one call, not two. */
	while (n < TUNNEL_MAX_DEPTH) {
		if (n > 0 && !tunnel_candidate(w->indirect, &w->key, &w->m))
			break;
		r = kind == FRAME_XDP ? tunnel_step_xdp(ctx, w) : tunnel_step_tc(ctx, w);
		if (r <= 0)
			break;
		n++;
	}
	if (r < 0) {
		*key = w->outer_key;
		*m = w->outer_m;
		m->malformed = MALFORMED(malformed_tunnel);
		return 0;
	}
	if (!n) {
		/* Not a tunnel after all: the key as it was, but read back
		 * from the slot like every other outcome here, so that the
		 * verifier meets one kind of state after parse_frame, not
		 * one per header path. */
		*key = w->outer_key;
		*m = w->outer_m;
		return 0;
	}
	*key = w->key;
	*m = w->m;
	/* One more inside (by port or protocol): what was taken off stays,
	 * the rest is not looked at. */
	if (n == TUNNEL_MAX_DEPTH && tunnel_candidate(w->indirect, key, m))
		m->tunnel |= PKT_TUNNEL_TOO_DEEP;
	if (tunnel_ref(w, key)) {
		*key = w->outer_key;
		*m = w->outer_m;
		m->tunnel = PKT_TUNNEL_FULL;
		return 0;
	}
	m->frame_len = w->outer_m.frame_len;
	m->tunnel |= PKT_TUNNEL_DECAP;
	return 1;
}

/*
 * Parse one frame of @ctx (@kind FRAME_XDP or FRAME_TC, a constant).
 * @m->frame_len must be set by the caller (the whole frame, which may be
 * longer than the linear data); @hw_vlan_tci is the outer tag
 * the NIC or the stack took out of the data (TC), or 0 and @hw_vlan 0.
 * Returns 0 when @key is ready to meter, 1 when it is ready and is the flow
 * inside a tunnel whose outer flow is in tunnel_walk_slot(), -1
 * when no flow can be keyed (the frame is shorter than an Ethernet header);
 * m->malformed names any fault.
 */
static __always_inline int parse_frame(void *ctx, const int kind, void *data, void *data_end,
				       int hw_vlan, __u16 hw_vlan_tci,
				       struct flow_key *key, struct packet_meta *m)
{
	struct cursor c = { .start = data, .pos = data, .end = data_end, .ctx = ctx };
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
		c.hw_vlan_len = 4;
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
	if (tunnel_mode == TUNNEL_MODE_OUTER)
		return 0;
	return parse_tunnels(ctx, kind, &c, key, m);
}

#endif /* BPFIX_PARSE_BPF_H */
