/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small frame builder for the packet tests: appends Ethernet, VLAN tags,
 * IPv4 (with options), IPv6 (with extension headers), TCP, UDP, SCTP, ICMP,
 * ICMPv6 and payload to a buffer, byte by byte in network order, so the
 * tests do not depend on any libc's idea of a protocol header's layout.
 *
 * Lengths that depend on what follows (IPv4 total length, IPv6 payload
 * length, UDP length) are filled by pkt_finish(); a test that wants a lying
 * length overwrites it afterwards (pkt_set16()), and one that wants a
 * truncated frame cuts it afterwards (pkt_trunc()). Checksums are left 0:
 * the meter never looks at them.
 */
#ifndef BPFIX_TESTS_PKT_H
#define BPFIX_TESTS_PKT_H

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>

/* Big enough for a 9000-byte jumbo frame plus slack. */
#define PKT_MAX 9216

struct pkt {
	__u8 buf[PKT_MAX];
	size_t len;
	size_t l3_off;		/* start of the IP header, 0 if none yet */
	size_t l4_off;		/* start of the UDP header, 0 if none */
	__u8 l3_version;	/* 4 or 6 when an IP header was appended */
};

#define ETH_TYPE_IPV4   0x0800
#define ETH_TYPE_ARP    0x0806
#define ETH_TYPE_8021Q  0x8100
#define ETH_TYPE_IPV6   0x86dd
#define ETH_TYPE_8021AD 0x88a8
#define ETH_TYPE_LLDP   0x88cc

#define PROTO_HOPOPTS  0
#define PROTO_ICMP     1
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_AH       51
#define PROTO_ICMPV6   58
#define PROTO_NONE     59
#define PROTO_DSTOPTS  60
#define PROTO_SCTP     132

static inline void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

/* Append @n zeroed bytes and return them. */
static inline __u8 *pkt_put(struct pkt *p, size_t n)
{
	__u8 *b = p->buf + p->len;

	assert(p->len + n <= sizeof(p->buf));
	memset(b, 0, n);
	p->len += n;
	return b;
}

static inline void put16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static inline void put32(__u8 *b, __u32 v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* Overwrite the 16-bit field at byte @off of the frame. */
static inline void pkt_set16(struct pkt *p, size_t off, __u16 v)
{
	assert(off + 2 <= p->len);
	put16(p->buf + off, v);
}

static inline void pkt_trunc(struct pkt *p, size_t len)
{
	assert(len <= p->len);
	p->len = len;
}

static inline void pkt_eth(struct pkt *p, const __u8 dst[6], const __u8 src[6], __u16 type)
{
	__u8 *b = pkt_put(p, 14);

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	put16(b + 12, type);
}

/* A VLAN tag after the Ethernet header (or the previous tag), whose TPID
 * the previous type field named: TCI, then the encapsulated EtherType. */
static inline void pkt_vlan(struct pkt *p, __u16 tci, __u16 next_type)
{
	__u8 *b = pkt_put(p, 4);

	put16(b, tci);
	put16(b + 2, next_type);
}

struct pkt_ip4 {
	__u8  src[4];
	__u8  dst[4];
	__u8  proto;
	__u8  ttl;
	__u8  tos;
	__u16 id;
	__u16 frag;		/* flags and offset as on the wire: 0x2000 MF, 0x1fff offset/8 */
	__u8  opt_len;		/* bytes of options (NOPs), a multiple of 4 */
	__u8  ihl;		/* 0: computed from opt_len; else written as is */
	__u8  version;		/* 0: 4; else written as is */
};

static inline void pkt_ipv4(struct pkt *p, const struct pkt_ip4 *ip)
{
	__u8 ihl = ip->ihl ? ip->ihl : (20 + ip->opt_len) / 4;
	__u8 *b;

	p->l3_off = p->len;
	p->l3_version = 4;
	b = pkt_put(p, 20 + ip->opt_len);
	b[0] = (ip->version ? ip->version : 4) << 4 | (ihl & 0x0f);
	b[1] = ip->tos;
	put16(b + 4, ip->id);
	put16(b + 6, ip->frag);
	b[8] = ip->ttl;
	b[9] = ip->proto;
	memcpy(b + 12, ip->src, 4);
	memcpy(b + 16, ip->dst, 4);
	memset(b + 20, 1, ip->opt_len);		/* NOP options */
}

struct pkt_ip6 {
	__u8  src[16];
	__u8  dst[16];
	__u8  nexthdr;
	__u8  hop_limit;
	__u8  tclass;
	__u32 flow_label;	/* 20 bits */
	__u8  version;		/* 0: 6; else written as is */
};

static inline void pkt_ipv6(struct pkt *p, const struct pkt_ip6 *ip)
{
	__u8 *b;

	p->l3_off = p->len;
	p->l3_version = 6;
	b = pkt_put(p, 40);
	put32(b, (__u32)(ip->version ? ip->version : 6) << 28 |
		 (__u32)ip->tclass << 20 | (ip->flow_label & 0xfffff));
	b[6] = ip->nexthdr;
	b[7] = ip->hop_limit;
	memcpy(b + 8, ip->src, 16);
	memcpy(b + 24, ip->dst, 16);
}

/* A hop-by-hop, routing or destination options header of @len bytes (a
 * multiple of 8, at least 8); the body is PadN, which no parser minds. */
static inline void pkt_ip6_ext(struct pkt *p, __u8 next, size_t len)
{
	__u8 *b;

	assert(len >= 8 && len % 8 == 0);
	b = pkt_put(p, len);
	b[0] = next;
	b[1] = len / 8 - 1;
	b[2] = 1;		/* PadN covering the rest */
	b[3] = len - 4;
}

/* An authentication header of @len bytes (a multiple of 4, at least 12):
 * its length counts 4-byte words minus 2 (RFC 4302). */
static inline void pkt_ip6_ah(struct pkt *p, __u8 next, size_t len, __u32 spi)
{
	__u8 *b;

	assert(len >= 12 && len % 4 == 0);
	b = pkt_put(p, len);
	b[0] = next;
	b[1] = len / 4 - 2;
	put32(b + 4, spi);
}

/* Fragment header: @offset in bytes (a multiple of 8), @more the M flag. */
static inline void pkt_ip6_frag(struct pkt *p, __u8 next, __u16 offset, int more, __u32 id)
{
	__u8 *b = pkt_put(p, 8);

	b[0] = next;
	put16(b + 2, (offset & 0xfff8) | (more ? 1 : 0));
	put32(b + 4, id);
}

/* TCP header: @flags the 9 bits FIN..NS (NS lands in byte 12's low bit),
 * @doff in 32-bit words (0: 5); options, if doff > 5, are NOPs. */
static inline void pkt_tcp(struct pkt *p, __u16 sport, __u16 dport, __u16 flags, __u8 doff)
{
	size_t len = (doff > 5 ? doff : 5) * 4;
	__u8 *b = pkt_put(p, len);

	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, 1000);	/* seq */
	b[12] = (doff ? doff : 5) << 4 | ((flags >> 8) & 1);
	b[13] = flags & 0xff;
	put16(b + 14, 65535);	/* window */
	if (len > 20)
		memset(b + 20, 1, len - 20);
}

static inline void pkt_udp(struct pkt *p, __u16 sport, __u16 dport)
{
	__u8 *b;

	p->l4_off = p->len;
	b = pkt_put(p, 8);
	put16(b, sport);
	put16(b + 2, dport);
}

/* SCTP common header (12 bytes): ports, verification tag, checksum. */
static inline void pkt_sctp(struct pkt *p, __u16 sport, __u16 dport)
{
	__u8 *b = pkt_put(p, 12);

	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, 0xdeadbeef);
}

/* ICMP or ICMPv6: type, code, checksum, 4 bytes of rest-of-header. */
static inline void pkt_icmp(struct pkt *p, __u8 type, __u8 code)
{
	__u8 *b = pkt_put(p, 8);

	b[0] = type;
	b[1] = code;
	put16(b + 4, 0x1234);	/* echo identifier */
	put16(b + 6, 1);	/* echo sequence */
}

/* ARP request for IPv4 over Ethernet (28 bytes). */
static inline void pkt_arp(struct pkt *p, const __u8 sha[6], const __u8 spa[4], const __u8 tpa[4])
{
	__u8 *b = pkt_put(p, 28);

	put16(b, 1);		/* hardware: Ethernet */
	put16(b + 2, ETH_TYPE_IPV4);
	b[4] = 6;
	b[5] = 4;
	put16(b + 6, 1);	/* request */
	memcpy(b + 8, sha, 6);
	memcpy(b + 14, spa, 4);
	memcpy(b + 24, tpa, 4);
}

/* @n bytes of a recognisable pattern, so a changed byte shows. */
static inline void pkt_payload(struct pkt *p, size_t n)
{
	__u8 *b = pkt_put(p, n);
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (__u8)(i * 7 + 3);
}

/* Fill the lengths that depend on what follows the headers. */
static inline void pkt_finish(struct pkt *p)
{
	if (p->l3_version == 4)
		put16(p->buf + p->l3_off + 2, p->len - p->l3_off);
	else if (p->l3_version == 6)
		put16(p->buf + p->l3_off + 4, p->len - p->l3_off - 40);
	/* A UDP header cut by the frame's end keeps what it has. */
	if (p->l4_off && p->l4_off + 8 <= p->len)
		put16(p->buf + p->l4_off + 4, p->len - p->l4_off);
}

#endif /* BPFIX_TESTS_PKT_H */
