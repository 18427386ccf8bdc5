// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Table-driven packet tests of the kernel programs (bpf/bpfix.bpf.c) through
 * BPF_PROG_TEST_RUN.
 *
 * Each row names its frames (built with pkt.h), the programs to run them
 * through, the expected outcome of the run, the exact flows it leaves in the
 * flow table (key fields and counters summed over CPUs) and the exact stats
 * it adds: every one of the counters in struct bpfix_stats is compared, a
 * counter a row does not name must stay 0. The maps are reset before every
 * row and program, so "after" is the delta. A row runs through XDP, TC
 * ingress and TC egress unless it says otherwise; the harness fills in the
 * key fields that depend on the program (direction, ifindex), so one row
 * states what the parser must make of a frame wherever it runs.
 *
 * What BPF_PROG_TEST_RUN itself does, as observed on 6.18 and asserted here
 * so a change in the kernel shows:
 *  - frames shorter than ETH_HLEN are refused with -EINVAL by XDP and TC,
 *    so the programs' malformed_eth path cannot be reached from a test run;
 *  - TC (skb) runs refuse, with -EINVAL, a frame whose EtherType is IPv4
 *    (IPv6) but that holds fewer than 20 (40) bytes after the Ethernet
 *    header; other EtherTypes, 0x8100 included, pass from 14 bytes up. So
 *    a truncated IP header reaches TC only behind a VLAN tag, and the rows
 *    for it come in pairs;
 *  - TC runs take linear data only, at most PAGE_SIZE - NET_SKB_PAD -
 *    sizeof(skb_shared_info) bytes (3712 on x86-64), so a 9000-byte frame
 *    is -EINVAL on TC while XDP (an "xdp.frags" program) gets it as a
 *    multi-buffer frame;
 *  - without a ctx the skb's device, and XDP's rxq device, is loopback
 *    (ifindex 1); a TC ctx's ifindex selects the device, its
 *    ingress_ifindex only sets skb_iif; an XDP ctx's ingress_ifindex
 *    selects the rxq device;
 *  - a TC ctx's gso_segs and gso_size reach skb_shinfo().
 */
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfix.h"
#include "bpfix.skel.h"
#include "pkt.h"
#include "prog_run.h"

#define SKIP_EXIT 77

/* Programs a row runs through. */
#define P_XDP    0x1
#define P_TC_IN  0x2
#define P_TC_EG  0x4
#define P_TC     (P_TC_IN | P_TC_EG)
#define P_ALL    (P_XDP | P_TC)

#define MAX_FRAMES 4
#define MAX_FLOWS  3

/* ---- Addresses: brace lists, so the same bytes build the frames and
 * initialise the expected keys (a key's address is bytes in network order). */
#define MAC_A     { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a }
#define MAC_B     { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b }
#define MAC_BCAST { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }
#define MAC_LLDP  { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e }
#define IP4_A     { 10, 0, 0, 1 }
#define IP4_B     { 192, 168, 1, 2 }
#define IP6_A     { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 }
#define IP6_B     { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x01, [15] = 0x02 }

static const __u8 mac_a[6] = MAC_A;
static const __u8 mac_b[6] = MAC_B;
static const __u8 mac_bcast[6] = MAC_BCAST;
static const __u8 mac_lldp[6] = MAC_LLDP;
static const __u8 ip4_a[4] = IP4_A;
static const __u8 ip4_b[4] = IP4_B;

/* ---- Frame builders. @arg is the row's parameter for the frame. ---- */

#define FRAME(name) static void name(struct pkt *p, int arg __attribute__((unused)))

static void eth(struct pkt *p, __u16 type)
{
	pkt_init(p);
	pkt_eth(p, mac_b, mac_a, type);
}

static struct pkt_ip4 ip4_hdr(__u8 proto)
{
	struct pkt_ip4 ip = { .proto = proto, .ttl = 64, .id = 0x1234 };

	memcpy(ip.src, ip4_a, 4);
	memcpy(ip.dst, ip4_b, 4);
	return ip;
}

static void ip4(struct pkt *p, __u8 proto)
{
	struct pkt_ip4 ip = ip4_hdr(proto);

	pkt_ipv4(p, &ip);
}

static struct pkt_ip6 ip6_hdr(__u8 next)
{
	return (struct pkt_ip6){ .src = IP6_A, .dst = IP6_B, .nexthdr = next, .hop_limit = 64 };
}

static void ip6(struct pkt *p, __u8 next)
{
	struct pkt_ip6 ip = ip6_hdr(next);

	pkt_ipv6(p, &ip);
}

/* IPv4 TCP, ACK|PSH, 10 bytes of data: ip_len 50, frame 64. */
FRAME(f_ip4_tcp)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_TCP);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK | TCP_FLAG_PSH, 0);
	pkt_payload(p, 10);
	pkt_finish(p);
}

/* IPv4 UDP, 20 bytes of data: ip_len 48, frame 62. */
FRAME(f_ip4_udp)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 20);
	pkt_finish(p);
}

/* IPv4 SCTP, one 16-byte chunk: ip_len 48, frame 62. */
FRAME(f_ip4_sctp)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_SCTP);
	pkt_sctp(p, 5000, 6000);
	pkt_payload(p, 16);
	pkt_finish(p);
}

/* IPv4 ICMP, @arg = type << 8 | code: ip_len 44, frame 58. */
FRAME(f_ip4_icmp)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_ICMP);
	pkt_icmp(p, arg >> 8, arg & 0xff);
	pkt_payload(p, 16);
	pkt_finish(p);
}

/* IPv4 with 12 bytes of options (IHL 8), TCP ACK: ip_len 52, frame 66. */
FRAME(f_ip4_opts)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_TCP);

	ip.opt_len = 12;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_finish(p);
}

/* IPv4 UDP with TOS @arg: ip_len 28, frame 42. */
FRAME(f_ip4_tos)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_UDP);

	ip.tos = arg;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* IPv4 UDP of 28 bytes padded to the 60-byte Ethernet minimum: the pad is
 * frame, not IP. */
FRAME(f_ip4_padded)
{
	f_ip4_tos(p, 0);
	pkt_put(p, 60 - p->len);
}

/* IPv6 TCP SYN with flow label 0x12345: ip_len 60, frame 74. */
FRAME(f_ip6_tcp_syn)
{
	struct pkt_ip6 ip = ip6_hdr(PROTO_TCP);

	ip.flow_label = 0x12345;
	eth(p, ETH_TYPE_IPV6);
	pkt_ipv6(p, &ip);
	pkt_tcp(p, 40000, 443, TCP_FLAG_SYN, 0);
	pkt_finish(p);
}

/* IPv6 UDP, traffic class 0xb8, 8 bytes of data: ip_len 56, frame 70. */
FRAME(f_ip6_udp)
{
	struct pkt_ip6 ip = ip6_hdr(PROTO_UDP);

	ip.tclass = 0xb8;
	eth(p, ETH_TYPE_IPV6);
	pkt_ipv6(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 8);
	pkt_finish(p);
}

/* ICMPv6, @arg = type << 8 | code: ip_len 56, frame 70. */
FRAME(f_ip6_icmp6)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_ICMPV6);
	pkt_icmp(p, arg >> 8, arg & 0xff);
	pkt_payload(p, 8);
	pkt_finish(p);
}

/* Hop-by-hop (8) + UDP + 4: ip_len 60, frame 74. */
FRAME(f_ip6_hbh)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_HOPOPTS);
	pkt_ip6_ext(p, PROTO_UDP, 8);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 4);
	pkt_finish(p);
}

/* Routing (24) + TCP ACK: ip_len 84, frame 98. */
FRAME(f_ip6_routing)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_ROUTING);
	pkt_ip6_ext(p, PROTO_TCP, 24);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_finish(p);
}

/* Destination options (16) + UDP + 4: ip_len 68, frame 82. */
FRAME(f_ip6_dstopts)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_DSTOPTS);
	pkt_ip6_ext(p, PROTO_UDP, 16);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 4);
	pkt_finish(p);
}

/* AH (24, length in 4-byte words) + TCP ACK: ip_len 84, frame 98. */
FRAME(f_ip6_ah)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_AH);
	pkt_ip6_ah(p, PROTO_TCP, 24, 0x100);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_finish(p);
}

/* @arg extension headers (6 or 7: IPV6_EXT_MAX_CHAIN and one more) before
 * UDP + 4: HBH 8, DST 8, RTG 8, AH 12, then DST 8 each.
 * 6: ip_len 40 + 52 + 12 = 104, frame 118; 7: ip_len 112, frame 126. */
FRAME(f_ip6_chain)
{
	int i;

	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_HOPOPTS);
	pkt_ip6_ext(p, PROTO_DSTOPTS, 8);
	pkt_ip6_ext(p, PROTO_ROUTING, 8);
	pkt_ip6_ext(p, PROTO_AH, 8);
	pkt_ip6_ah(p, PROTO_DSTOPTS, 12, 0x200);
	for (i = 4; i < arg; i++)
		pkt_ip6_ext(p, i == arg - 1 ? PROTO_UDP : PROTO_DSTOPTS, 8);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 4);
	pkt_finish(p);
}

/* Atomic fragment (offset 0, M 0): a whole datagram with a fragment
 * header (RFC 6946). UDP + 4: ip_len 60, frame 74. */
FRAME(f_ip6_atomic_frag)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_ip6_frag(p, PROTO_UDP, 0, 0, 0x77);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, 4);
	pkt_finish(p);
}

/* 802.1Q (PCP 1, VID 100) IPv4 UDP: ip_len 28, frame 46. */
FRAME(f_vlan1)
{
	eth(p, ETH_TYPE_8021Q);
	pkt_vlan(p, 1 << 13 | 100, ETH_TYPE_IPV4);
	ip4(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* Pre-standard QinQ TPID 0x9100 (VID 5) IPv4 UDP: ip_len 28, frame 46. */
FRAME(f_vlan_9100)
{
	eth(p, 0x9100);
	pkt_vlan(p, 5, ETH_TYPE_IPV4);
	ip4(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* 802.1ad VID 200 + 802.1Q (PCP 3) VID 300, IPv6 TCP ACK: ip_len 60,
 * frame 82. */
FRAME(f_vlan2)
{
	eth(p, ETH_TYPE_8021AD);
	pkt_vlan(p, 200, ETH_TYPE_8021Q);
	pkt_vlan(p, 3 << 13 | 300, ETH_TYPE_IPV6);
	ip6(p, PROTO_TCP);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_finish(p);
}

/* Three tags (VIDs 10, 20, 30), IPv4 UDP: frame 54. */
FRAME(f_vlan3)
{
	eth(p, ETH_TYPE_8021AD);
	pkt_vlan(p, 10, ETH_TYPE_8021Q);
	pkt_vlan(p, 20, ETH_TYPE_8021Q);
	pkt_vlan(p, 30, ETH_TYPE_IPV4);
	ip4(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* A VLAN TPID followed by @arg bytes of the tag only: frame 14 + arg. */
FRAME(f_vlan_trunc)
{
	eth(p, ETH_TYPE_8021Q);
	pkt_payload(p, arg);
}

/* 802.1ad VID 100, then 3 bytes of the inner 802.1Q tag: frame 21. */
FRAME(f_vlan_inner_trunc)
{
	eth(p, ETH_TYPE_8021AD);
	pkt_vlan(p, 100, ETH_TYPE_8021Q);
	pkt_payload(p, 3);
}

/* ARP request to broadcast: frame 42, L2 payload 28. */
FRAME(f_arp)
{
	pkt_init(p);
	pkt_eth(p, mac_bcast, mac_a, ETH_TYPE_ARP);
	pkt_arp(p, mac_a, ip4_a, ip4_b);
}

/* ARP in 802.1Q VID 7: frame 46, L2 payload 28. */
FRAME(f_arp_vlan)
{
	pkt_init(p);
	pkt_eth(p, mac_bcast, mac_a, ETH_TYPE_8021Q);
	pkt_vlan(p, 7, ETH_TYPE_ARP);
	pkt_arp(p, mac_a, ip4_a, ip4_b);
}

/* LLDP with 32 bytes of TLVs: frame 46. */
FRAME(f_lldp)
{
	pkt_init(p);
	pkt_eth(p, mac_lldp, mac_a, ETH_TYPE_LLDP);
	pkt_payload(p, 32);
}

/* IPv4 first fragment (MF, offset 0) of datagram id @arg, UDP
 * 1111 -> 2222 + 24: ip_len 52, frame 66. */
FRAME(f_ip4_frag_first)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_UDP);

	ip.id = arg;
	ip.frag = 0x2000;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_udp(p, 1111, 2222);
	pkt_payload(p, 24);
	pkt_finish(p);
}

/* IPv4 last fragment (offset 32 bytes) of datagram id @arg, 20 bytes of
 * UDP data and no UDP header: ip_len 40, frame 54. */
FRAME(f_ip4_frag_later)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_UDP);

	ip.id = arg;
	ip.frag = 32 / 8;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_payload(p, 20);
	pkt_finish(p);
}

/* IPv6 first fragment of id @arg, UDP 1111 -> 2222 + 24: ip_len 80,
 * frame 94. */
FRAME(f_ip6_frag_first)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_ip6_frag(p, PROTO_UDP, 0, 1, arg);
	pkt_udp(p, 1111, 2222);
	pkt_payload(p, 24);
	pkt_finish(p);
}

/* IPv6 last fragment (offset 32) of id @arg, 20 bytes: ip_len 68,
 * frame 82. */
FRAME(f_ip6_frag_later)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_ip6_frag(p, PROTO_UDP, 32, 0, arg);
	pkt_payload(p, 20);
	pkt_finish(p);
}

/* IPv6 first fragment of id @arg whose Fragment header is followed by a
 * destination options header, then UDP 1111 -> 2222 + 24: ip_len 88,
 * frame 102. */
FRAME(f_ip6_frag_first_dstopts)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_ip6_frag(p, PROTO_DSTOPTS, 0, 1, arg);
	pkt_ip6_ext(p, PROTO_UDP, 8);
	pkt_udp(p, 1111, 2222);
	pkt_payload(p, 24);
	pkt_finish(p);
}

/* ... and its last fragment: the Fragment header still names dstopts
 * (RFC 8200: the per-fragment headers are repeated), 20 bytes: ip_len 68,
 * frame 82. */
FRAME(f_ip6_frag_later_dstopts)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_ip6_frag(p, PROTO_DSTOPTS, 40, 0, arg);
	pkt_payload(p, 20);
	pkt_finish(p);
}

/* IPv4 total length 20 (no transport header) in a 60-byte frame whose
 * Ethernet padding could be read as a TCP header. */
FRAME(f_ip4_tcp_in_padding)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_TCP);
	pkt_payload(p, 26);
	pkt_finish(p);
	pkt_set16(p, 14 + 2, 20);
}

/* An 802.3 frame: the type field is the length @arg of the LLC payload. */
FRAME(f_llc)
{
	pkt_init(p);
	pkt_eth(p, mac_b, mac_a, arg);
	pkt_payload(p, arg);
}

/* IPv4 SCTP GSO aggregate of @arg bytes in all. */
FRAME(f_ip4_sctp_big)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_SCTP);
	pkt_sctp(p, 5000, 6000);
	pkt_payload(p, arg - 46);
	pkt_finish(p);
}

/* IPv4 TCP with the 9 flag bits @arg, no data: ip_len 40, frame 54. */
FRAME(f_tcp_flags)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_TCP);
	pkt_tcp(p, 40000, 80, arg, 0);
	pkt_finish(p);
}

/* As f_tcp_flags(ACK) with the three reserved bits of byte 12 set: they
 * are not flags and must not reach tcpControlBits. */
FRAME(f_tcp_reserved)
{
	f_tcp_flags(p, TCP_FLAG_ACK);
	p->buf[14 + 20 + 12] |= 0x0e;
}

/* TCP ACK with data offset @arg (< 5 is malformed): ip_len 40, frame 54. */
FRAME(f_tcp_doff)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_TCP);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, arg);
	pkt_finish(p);
}

/* Packet @arg of one TCP flow whose TTL, TOS and length vary:
 * TTL 64, 3, 200; TOS 0x10, 0x20, 0; ip_len 40, 140, 90. */
FRAME(f_ttl)
{
	static const __u8 ttl[] = { 64, 3, 200 };
	static const __u8 tos[] = { 0x10, 0x20, 0x00 };
	static const size_t data[] = { 0, 100, 50 };
	struct pkt_ip4 ip = ip4_hdr(PROTO_TCP);

	ip.ttl = ttl[arg];
	ip.tos = tos[arg];
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_payload(p, data[arg]);
	pkt_finish(p);
}

/* Packet @arg of one IPv6 UDP flow whose label, hop limit and traffic
 * class vary: ip_len 48, frame 62. */
FRAME(f_ip6_label)
{
	static const __u32 label[] = { 0x11111, 0x22222 };
	static const __u8 hop[] = { 255, 1 };
	static const __u8 tclass[] = { 0x28, 0x00 };
	struct pkt_ip6 ip = ip6_hdr(PROTO_UDP);

	ip.flow_label = label[arg];
	ip.hop_limit = hop[arg];
	ip.tclass = tclass[arg];
	eth(p, ETH_TYPE_IPV6);
	pkt_ipv6(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* The first @arg bytes of f_ip4_tcp. */
FRAME(f_short)
{
	f_ip4_tcp(p, 0);
	pkt_trunc(p, arg);
}

/* An Ethernet header of EtherType @arg and nothing else: frame 14. */
FRAME(f_eth_only)
{
	eth(p, arg);
}

/* The first @arg bytes of an IPv4 header: frame 14 + arg. */
FRAME(f_ip4_trunc)
{
	f_ip4_udp(p, 0);
	pkt_trunc(p, 14 + arg);
}

/* 802.1Q VID 100, then the first @arg & 0xff bytes of an IP header of
 * EtherType @arg >> 8 (IPv4 UDP or IPv6 UDP): frame 18 + (arg & 0xff). */
FRAME(f_vlan_ip_trunc)
{
	int type = arg >> 8, keep = arg & 0xff;

	eth(p, ETH_TYPE_8021Q);
	pkt_vlan(p, 100, type);
	if (type == ETH_TYPE_IPV4)
		ip4(p, PROTO_UDP);
	else
		ip6(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
	pkt_trunc(p, 18 + keep);
}

/* IPv4 UDP with IHL @arg and a 20-byte header: ip_len 28, frame 42. */
FRAME(f_ip4_ihl)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_UDP);

	ip.ihl = arg;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* f_ip4_udp (48 bytes of IP) with total length @arg. */
FRAME(f_ip4_totlen)
{
	f_ip4_udp(p, 0);
	pkt_set16(p, 14 + 2, arg);
}

/* IPv4 UDP under EtherType IPv4 with IP version @arg: frame 42. */
FRAME(f_ip4_version)
{
	struct pkt_ip4 ip = ip4_hdr(PROTO_UDP);

	ip.version = arg;
	eth(p, ETH_TYPE_IPV4);
	pkt_ipv4(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* IPv6 UDP (ip_len 48) under EtherType IPv6 with IP version @arg:
 * frame 62. */
FRAME(f_ip6_version)
{
	struct pkt_ip6 ip = ip6_hdr(PROTO_UDP);

	ip.version = arg;
	eth(p, ETH_TYPE_IPV6);
	pkt_ipv6(p, &ip);
	pkt_udp(p, 5353, 53);
	pkt_finish(p);
}

/* The first @arg bytes of an IPv6 header: frame 14 + arg. */
FRAME(f_ip6_trunc)
{
	f_ip6_udp(p, 0);
	pkt_trunc(p, 14 + arg);
}

/* Hop-by-hop header claiming 16 bytes of which the frame holds 8:
 * ip_len 48, frame 62. */
FRAME(f_ip6_ext_body_trunc)
{
	__u8 *b;

	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_HOPOPTS);
	b = pkt_put(p, 8);
	b[0] = PROTO_UDP;
	b[1] = 1;		/* (1 + 1) * 8 bytes */
	pkt_finish(p);
}

/* One byte of a hop-by-hop header: ip_len 41, frame 55. */
FRAME(f_ip6_ext_1byte)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_HOPOPTS);
	pkt_put(p, 1)[0] = PROTO_UDP;
	pkt_finish(p);
}

/* Four of the 8 bytes of a fragment header: ip_len 44, frame 58. */
FRAME(f_ip6_frag_hdr_trunc)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_FRAGMENT);
	pkt_put(p, 4)[0] = PROTO_UDP;
	pkt_finish(p);
}

/* Destination options (8), then 2 bytes of an AH header claiming 24:
 * ip_len 50, frame 64. */
FRAME(f_ip6_ah_trunc)
{
	__u8 *b;

	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_DSTOPTS);
	pkt_ip6_ext(p, PROTO_AH, 8);
	b = pkt_put(p, 2);
	b[0] = PROTO_TCP;
	b[1] = 24 / 4 - 2;
	pkt_finish(p);
}

/* f_ip6_udp (payload 16) with payload length @arg. */
FRAME(f_ip6_paylen)
{
	f_ip6_udp(p, 0);
	pkt_set16(p, 14 + 4, arg);
}

/* L4 headers one byte (or more) short of their minimum; lengths stay
 * consistent so that only the L4 header is at fault. */
enum { L4T_TCP4, L4T_UDP4, L4T_SCTP4, L4T_ICMP4, L4T_TCP6, L4T_ICMP6 };

FRAME(f_l4_trunc)
{
	switch (arg) {
	case L4T_TCP4:		/* 19 of 20: ip_len 39, frame 53 */
		eth(p, ETH_TYPE_IPV4);
		ip4(p, PROTO_TCP);
		pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
		pkt_trunc(p, p->len - 1);
		break;
	case L4T_UDP4:		/* 7 of 8: ip_len 27, frame 41 */
		eth(p, ETH_TYPE_IPV4);
		ip4(p, PROTO_UDP);
		pkt_udp(p, 5353, 53);
		pkt_trunc(p, p->len - 1);
		break;
	case L4T_SCTP4:		/* 11 of 12: ip_len 31, frame 45 */
		eth(p, ETH_TYPE_IPV4);
		ip4(p, PROTO_SCTP);
		pkt_sctp(p, 5000, 6000);
		pkt_trunc(p, p->len - 1);
		break;
	case L4T_ICMP4:		/* 3 of 4: ip_len 23, frame 37 */
		eth(p, ETH_TYPE_IPV4);
		ip4(p, PROTO_ICMP);
		pkt_icmp(p, 8, 0);
		pkt_trunc(p, p->len - 5);
		break;
	case L4T_TCP6:		/* 10 of 20: ip_len 50, frame 64 */
		eth(p, ETH_TYPE_IPV6);
		ip6(p, PROTO_TCP);
		pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
		pkt_trunc(p, p->len - 10);
		break;
	case L4T_ICMP6:		/* 1 of 4: ip_len 41, frame 55 */
		eth(p, ETH_TYPE_IPV6);
		ip6(p, PROTO_ICMPV6);
		pkt_icmp(p, 128, 0);
		pkt_trunc(p, p->len - 7);
		break;
	}
	pkt_finish(p);
}

/* IPv4 TCP ACK frame of @arg bytes in all: ip_len arg - 14. */
FRAME(f_ip4_big)
{
	eth(p, ETH_TYPE_IPV4);
	ip4(p, PROTO_TCP);
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK, 0);
	pkt_payload(p, arg - 54);
	pkt_finish(p);
}

/* IPv6 UDP frame of @arg bytes in all: ip_len arg - 14. */
FRAME(f_ip6_udp_big)
{
	eth(p, ETH_TYPE_IPV6);
	ip6(p, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, arg - 62);
	pkt_finish(p);
}

/* ---- Rows ---- */

struct frame {
	void (*build)(struct pkt *p, int arg);
	int arg;
};

struct exp_flow {
	struct flow_key key;		/* ifindex, direction: filled per program */
	struct flow_counters c;		/* first_ns, last_ns: checked apart */
};

struct row {
	const char *name;
	struct frame frames[MAX_FRAMES];	/* ended by a NULL build */
	unsigned int progs;			/* P_*; 0 means P_ALL */
	int err;				/* what the test run returns */
	__u32 gso_segs, gso_size;		/* TC ctx */
	__u32 epoch;				/* flow_epoch during the row */
	int no_table;				/* run with flow_tables[0] empty */
	int ctx_ifindex;			/* TC ctx ifindex, XDP ctx ingress_ifindex */
	int ctx_ingress_ifindex;		/* TC ctx ingress_ifindex */
	__u32 frag_entries;			/* frag_table entries after the row */
	struct exp_flow flows[MAX_FLOWS];	/* ended by packets == 0 */
	struct bpfix_stats stats;		/* exact delta */
};

#define KEY4(proto_, sport, dport) \
	.ip_version = 4, .protocol = (proto_), .ether_type = ETH_TYPE_IPV4, \
	.src_port = (sport), .dst_port = (dport), .src.ip6 = IP4_A, .dst.ip6 = IP4_B
#define KEY6(proto_, sport, dport) \
	.ip_version = 6, .protocol = (proto_), .ether_type = ETH_TYPE_IPV6, \
	.src_port = (sport), .dst_port = (dport), .src.ip6 = IP6_A, .dst.ip6 = IP6_B
/* An L2 flow: MACs and EtherType, no IP fields. */
#define KEYL2(type, dmac) \
	.ether_type = (type), .src.mac = MAC_A, .dst.mac = dmac

/* One packet of IP length @len in a frame of @frame octets. */
#define ONE(len, frame) \
	.packets = 1, .octets = (len), .l2_octets = (frame), \
	.min_ip_len = (len), .max_ip_len = (len)
#define TTL(t) .min_ttl = (t), .max_ttl = (t)

/* Stats of @n packets, @o octets and @l2 frame octets added to flow table
 * @t (0 or 1) as @f new flows. */
#define IN_TABLE(t, f, n, o, l2) \
	.packets = (n), .octets = (o), .l2_octets = (l2), \
	.table_flows_##t = (f), .table_packets_##t = (n), .table_octets_##t = (o)

#define ACK TCP_FLAG_ACK
#define MALF FLOW_F_MALFORMED

static struct row rows[] = {
	/* ---- Well-formed IPv4 ---- */
	{
		.name = "ipv4 tcp",
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 udp",
		.frames = { { f_ip4_udp } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(48, 62), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 sctp",
		.frames = { { f_ip4_sctp } },
		.flows = { { .key = { KEY4(PROTO_SCTP, 5000, 6000) },
			     .c = { ONE(48, 62), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 icmp echo request: type<<8|code in dst_port",
		.frames = { { f_ip4_icmp, 8 << 8 | 0 } },
		.flows = { { .key = { KEY4(PROTO_ICMP, 0, 0x0800) },
			     .c = { ONE(44, 58), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 44, 58), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 icmp port unreachable",
		.frames = { { f_ip4_icmp, 3 << 8 | 3 } },
		.flows = { { .key = { KEY4(PROTO_ICMP, 0, 0x0303) },
			     .c = { ONE(44, 58), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 44, 58), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 with 12 bytes of options",
		.frames = { { f_ip4_opts } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(52, 66), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 52, 66), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 dscp EF + ECN in tos",
		.frames = { { f_ip4_tos, 0xb9 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(28, 42), TTL(64), .tos = 0xb9 } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 42), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 in a padded 60-byte frame: octets exclude the pad",
		.frames = { { f_ip4_padded } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(28, 60), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 60), .parsed_ipv4 = 1 },
	},
	{
		.name = "ipv4 ttl min/max, tos of the first packet, ip len min/max",
		.frames = { { f_ttl, 0 }, { f_ttl, 1 }, { f_ttl, 2 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { .packets = 3, .octets = 40 + 140 + 90,
				    .l2_octets = 54 + 154 + 104,
				    .min_ip_len = 40, .max_ip_len = 140,
				    .min_ttl = 3, .max_ttl = 200, .tos = 0x10,
				    .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 3, 270, 312), .parsed_ipv4 = 3 },
	},

	/* ---- TCP flags ---- */
	{
		.name = "tcp syn: TCP_SYN_SEEN",
		.frames = { { f_tcp_flags, TCP_FLAG_SYN } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = TCP_FLAG_SYN,
				    .tcp_syn = TCP_SYN_SEEN } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},
	{
		.name = "tcp syn-ack: TCP_SYNACK_SEEN",
		.frames = { { f_tcp_flags, TCP_FLAG_SYN | ACK } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = TCP_FLAG_SYN | ACK,
				    .tcp_syn = TCP_SYNACK_SEEN } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},
	{
		/* The OR of the flags looks like a SYN-ACK; tcp_syn must not. */
		.name = "tcp syn then ack: flags OR, still only TCP_SYN_SEEN",
		.frames = { { f_tcp_flags, TCP_FLAG_SYN }, { f_tcp_flags, ACK } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { .packets = 2, .octets = 80, .l2_octets = 108,
				    .min_ip_len = 40, .max_ip_len = 40, TTL(64),
				    .tcp_flags = TCP_FLAG_SYN | ACK,
				    .tcp_syn = TCP_SYN_SEEN } } },
		.stats = { IN_TABLE(0, 1, 2, 80, 108), .parsed_ipv4 = 2 },
	},
	{
		.name = "tcp NS bit is 0x100",
		.frames = { { f_tcp_flags, TCP_FLAG_NS | ACK } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = TCP_FLAG_NS | ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},
	{
		.name = "tcp all nine flags",
		.frames = { { f_tcp_flags, 0x1ff } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = 0x1ff,
				    .tcp_syn = TCP_SYNACK_SEEN } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},
	{
		.name = "tcp FIN PSH URG ECE CWR, no SYN: no tcp_syn bit",
		.frames = { { f_tcp_flags, TCP_FLAG_FIN | TCP_FLAG_PSH | TCP_FLAG_URG |
					   TCP_FLAG_ECE | TCP_FLAG_CWR } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = 0x0e9 } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},
	{
		.name = "tcp reserved header bits are not flags",
		.frames = { { f_tcp_reserved } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1 },
	},

	/* ---- Well-formed IPv6 ---- */
	{
		.name = "ipv6 tcp syn with flow label",
		.frames = { { f_ip6_tcp_syn } },
		.flows = { { .key = { KEY6(PROTO_TCP, 40000, 443) },
			     .c = { ONE(60, 74), TTL(64), .tcp_flags = TCP_FLAG_SYN,
				    .tcp_syn = TCP_SYN_SEEN, .flow_label = 0x12345 } } },
		.stats = { IN_TABLE(0, 1, 1, 60, 74), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 udp, traffic class in tos",
		.frames = { { f_ip6_udp } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(56, 70), TTL(64), .tos = 0xb8 } } },
		.stats = { IN_TABLE(0, 1, 1, 56, 70), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 icmpv6 echo request",
		.frames = { { f_ip6_icmp6, 128 << 8 | 0 } },
		.flows = { { .key = { KEY6(PROTO_ICMPV6, 0, 0x8000) },
			     .c = { ONE(56, 70), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 56, 70), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 icmpv6 port unreachable",
		.frames = { { f_ip6_icmp6, 1 << 8 | 4 } },
		.flows = { { .key = { KEY6(PROTO_ICMPV6, 0, 0x0104) },
			     .c = { ONE(56, 70), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 56, 70), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 flow label and tos of the first packet, hop limit min/max",
		.frames = { { f_ip6_label, 0 }, { f_ip6_label, 1 } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { .packets = 2, .octets = 96, .l2_octets = 124,
				    .min_ip_len = 48, .max_ip_len = 48,
				    .min_ttl = 1, .max_ttl = 255, .tos = 0x28,
				    .flow_label = 0x11111 } } },
		.stats = { IN_TABLE(0, 1, 2, 96, 124), .parsed_ipv6 = 2 },
	},
	{
		.name = "ipv6 hop-by-hop header",
		.frames = { { f_ip6_hbh } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(60, 74), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 60, 74), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 routing header",
		.frames = { { f_ip6_routing } },
		.flows = { { .key = { KEY6(PROTO_TCP, 40000, 80) },
			     .c = { ONE(84, 98), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 84, 98), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 destination options header",
		.frames = { { f_ip6_dstopts } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(68, 82), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 68, 82), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 authentication header",
		.frames = { { f_ip6_ah } },
		.flows = { { .key = { KEY6(PROTO_TCP, 40000, 80) },
			     .c = { ONE(84, 98), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 84, 98), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 IPV6_EXT_MAX_CHAIN extension headers: still parsed",
		.frames = { { f_ip6_chain, IPV6_EXT_MAX_CHAIN } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(104, 118), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 104, 118), .parsed_ipv6 = 1 },
	},
	{
		.name = "ipv6 atomic fragment is a whole datagram",
		.frames = { { f_ip6_atomic_frag } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(60, 74), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 60, 74), .parsed_ipv6 = 1 },
	},

	/* ---- VLAN ---- */
	{
		.name = "802.1Q tag: vlan_outer, PCP masked off",
		.frames = { { f_vlan1 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53), .vlan_outer = 100 },
			     .c = { ONE(28, 46), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 46), .parsed_ipv4 = 1 },
	},
	{
		.name = "0x9100 tag",
		.frames = { { f_vlan_9100 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53), .vlan_outer = 5 },
			     .c = { ONE(28, 46), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 46), .parsed_ipv4 = 1 },
	},
	{
		.name = "802.1ad + 802.1Q: vlan_outer and vlan_inner",
		.frames = { { f_vlan2 } },
		.flows = { { .key = { KEY6(PROTO_TCP, 40000, 80),
				      .vlan_outer = 200, .vlan_inner = 300 },
			     .c = { ONE(60, 82), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 60, 82), .parsed_ipv6 = 1 },
	},
	{
		/* VLAN_MAX_DEPTH is 2: the third TPID is the EtherType left,
		 * and the L2 payload starts after the two tags read. */
		.name = "three tags: malformed_vlan_depth, L2 flow",
		.frames = { { f_vlan3 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_8021Q, MAC_B),
				      .vlan_outer = 10, .vlan_inner = 20 },
			     .c = { ONE(54 - 22, 54), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 32, 54), .parsed_l2 = 1,
			   .malformed_vlan_depth = 1 },
	},
	{
		.name = "truncated 802.1Q tag: malformed_vlan, L2 flow",
		.frames = { { f_vlan_trunc, 2 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_8021Q, MAC_B) },
			     .c = { ONE(2, 16), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 2, 16), .parsed_l2 = 1, .malformed_vlan = 1 },
	},
	{
		.name = "14-byte frame of TPID 0x8100 alone: malformed_vlan, L2 flow",
		.frames = { { f_vlan_trunc, 0 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_8021Q, MAC_B) },
			     .c = { ONE(0, 14), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 0, 14), .parsed_l2 = 1, .malformed_vlan = 1 },
	},
	{
		.name = "truncated inner tag: malformed_vlan, L2 flow keeps the outer VID",
		.frames = { { f_vlan_inner_trunc } },
		.flows = { { .key = { KEYL2(ETH_TYPE_8021Q, MAC_B), .vlan_outer = 100 },
			     .c = { ONE(3, 21), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 3, 21), .parsed_l2 = 1, .malformed_vlan = 1 },
	},

	/* ---- L2 flows ---- */
	{
		.name = "arp: L2 flow",
		.frames = { { f_arp } },
		.flows = { { .key = { KEYL2(ETH_TYPE_ARP, MAC_BCAST) },
			     .c = { ONE(28, 42) } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 42), .parsed_l2 = 1 },
	},
	{
		.name = "arp in 802.1Q: L2 flow with vlan",
		.frames = { { f_arp_vlan } },
		.flows = { { .key = { KEYL2(ETH_TYPE_ARP, MAC_BCAST), .vlan_outer = 7 },
			     .c = { ONE(28, 46) } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 46), .parsed_l2 = 1 },
	},
	{
		.name = "lldp: L2 flow",
		.frames = { { f_lldp } },
		.flows = { { .key = { KEYL2(ETH_TYPE_LLDP, MAC_LLDP) },
			     .c = { ONE(32, 46) } } },
		.stats = { IN_TABLE(0, 1, 1, 32, 46), .parsed_l2 = 1 },
	},

	/* ---- Fragments ---- */
	{
		.name = "ipv4 fragments: the later one joins the first's ports",
		.frames = { { f_ip4_frag_first, 0x4242 }, { f_ip4_frag_later, 0x4242 } },
		.frag_entries = 1,
		.flows = { { .key = { KEY4(PROTO_UDP, 1111, 2222) },
			     .c = { .packets = 2, .octets = 52 + 40, .l2_octets = 66 + 54,
				    .fragments = 2, .min_ip_len = 40, .max_ip_len = 52,
				    TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 2, 92, 120), .parsed_ipv4 = 2,
			   .frag_first = 1, .frag_joined = 1 },
	},
	{
		.name = "ipv4 later fragment alone: held, the id in the ports",
		.frames = { { f_ip4_frag_later, 0x4242 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 0, 0x4242), .frag_held = 1 },
			     .c = { ONE(40, 54), TTL(64), .fragments = 1 } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1, .frag_held = 1 },
	},
	{
		.name = "ipv4 fragments out of order: the early later one is held",
		.frames = { { f_ip4_frag_later, 0x4242 }, { f_ip4_frag_first, 0x4242 } },
		.frag_entries = 1,
		.flows = { { .key = { KEY4(PROTO_UDP, 0, 0x4242), .frag_held = 1 },
			     .c = { ONE(40, 54), TTL(64), .fragments = 1 } },
			   { .key = { KEY4(PROTO_UDP, 1111, 2222) },
			     .c = { ONE(52, 66), TTL(64), .fragments = 1 } } },
		.stats = { IN_TABLE(0, 2, 2, 92, 120), .parsed_ipv4 = 2,
			   .frag_first = 1, .frag_held = 1 },
	},
	{
		.name = "ipv4 fragments of another datagram id do not join",
		.frames = { { f_ip4_frag_first, 0x4242 }, { f_ip4_frag_later, 0x4243 } },
		.frag_entries = 1,
		.flows = { { .key = { KEY4(PROTO_UDP, 1111, 2222) },
			     .c = { ONE(52, 66), TTL(64), .fragments = 1 } },
			   { .key = { KEY4(PROTO_UDP, 0, 0x4243), .frag_held = 1 },
			     .c = { ONE(40, 54), TTL(64), .fragments = 1 } } },
		.stats = { IN_TABLE(0, 2, 2, 92, 120), .parsed_ipv4 = 2,
			   .frag_first = 1, .frag_held = 1 },
	},
	{
		.name = "ipv6 fragments: the later one joins the first's ports",
		.frames = { { f_ip6_frag_first, 0x0abcdef1 }, { f_ip6_frag_later, 0x0abcdef1 } },
		.frag_entries = 1,
		.flows = { { .key = { KEY6(PROTO_UDP, 1111, 2222) },
			     .c = { .packets = 2, .octets = 80 + 68, .l2_octets = 94 + 82,
				    .fragments = 2, .min_ip_len = 68, .max_ip_len = 80,
				    TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 2, 148, 176), .parsed_ipv6 = 2,
			   .frag_first = 1, .frag_joined = 1 },
	},
	{
		/* RFC 8200 keys reassembly on addresses and id only: the later
		 * fragment's Next Header (dstopts) must not keep it apart. */
		.name = "ipv6 fragments with dstopts after the fragment header join",
		.frames = { { f_ip6_frag_first_dstopts, 0x51 }, { f_ip6_frag_later_dstopts, 0x51 } },
		.frag_entries = 1,
		.flows = { { .key = { KEY6(PROTO_UDP, 1111, 2222) },
			     .c = { .packets = 2, .octets = 88 + 68, .l2_octets = 102 + 82,
				    .fragments = 2, .min_ip_len = 68, .max_ip_len = 88,
				    TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 2, 156, 184), .parsed_ipv6 = 2,
			   .frag_first = 1, .frag_joined = 1 },
	},
	{
		.name = "ipv6 later fragment alone: held, the id in the ports",
		.frames = { { f_ip6_frag_later, 0x0abcdef1 } },
		.flows = { { .key = { KEY6(PROTO_UDP, 0x0abc, 0xdef1), .frag_held = 1 },
			     .c = { ONE(68, 82), TTL(64), .fragments = 1 } } },
		.stats = { IN_TABLE(0, 1, 1, 68, 82), .parsed_ipv6 = 1, .frag_held = 1 },
	},

	/* ---- The shortest frames: under ETH_HLEN the kernel refuses the run ---- */
	{
		.name = "zero-length frame: -EINVAL from the kernel",
		.frames = { { f_short, 0 } },
		.err = -EINVAL,
	},
	{
		.name = "13-byte frame: -EINVAL from the kernel",
		.frames = { { f_short, 13 } },
		.err = -EINVAL,
	},
	{
		.name = "14-byte IPv4 frame via XDP: malformed_ipv4_trunc, L2 flow",
		.progs = P_XDP,
		.frames = { { f_eth_only, ETH_TYPE_IPV4 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(0, 14), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 0, 14), .parsed_l2 = 1,
			   .malformed_ipv4_trunc = 1 },
	},
	{
		/* See the top of the file: TC runs want the IPv4 header. */
		.name = "14-byte IPv4 frame via TC: -EINVAL from the kernel",
		.progs = P_TC,
		.frames = { { f_eth_only, ETH_TYPE_IPV4 } },
		.err = -EINVAL,
	},
	{
		.name = "14-byte non-IP frame: L2 flow of 0 octets",
		.frames = { { f_eth_only, 0x88b5 } },
		.flows = { { .key = { KEYL2(0x88b5, MAC_B) }, .c = { ONE(0, 14) } } },
		.stats = { IN_TABLE(0, 1, 1, 0, 14), .parsed_l2 = 1 },
	},

	/* ---- Malformed IPv4 ---- */
	{
		.name = "ipv4 header of 1 byte via XDP: malformed_ipv4_trunc, L2 flow",
		.progs = P_XDP,
		.frames = { { f_ip4_trunc, 1 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(1, 15), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 1, 15), .parsed_l2 = 1,
			   .malformed_ipv4_trunc = 1 },
	},
	{
		.name = "ipv4 header of 19 bytes via XDP: malformed_ipv4_trunc, L2 flow",
		.progs = P_XDP,
		.frames = { { f_ip4_trunc, 19 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(19, 33), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 19, 33), .parsed_l2 = 1,
			   .malformed_ipv4_trunc = 1 },
	},
	{
		.name = "ipv4 header of 19 bytes via TC: -EINVAL from the kernel",
		.progs = P_TC,
		.frames = { { f_ip4_trunc, 19 } },
		.err = -EINVAL,
	},
	{
		/* Behind a tag the kernel lets it through to TC too. */
		.name = "ipv4 header of 19 bytes behind 802.1Q: malformed_ipv4_trunc, L2 flow",
		.frames = { { f_vlan_ip_trunc, ETH_TYPE_IPV4 << 8 | 19 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B), .vlan_outer = 100 },
			     .c = { ONE(19, 37), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 19, 37), .parsed_l2 = 1,
			   .malformed_ipv4_trunc = 1 },
	},
	{
		.name = "ipv4 header of 1 byte behind 802.1Q: malformed_ipv4_trunc, L2 flow",
		.frames = { { f_vlan_ip_trunc, ETH_TYPE_IPV4 << 8 | 1 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B), .vlan_outer = 100 },
			     .c = { ONE(1, 19), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 1, 19), .parsed_l2 = 1,
			   .malformed_ipv4_trunc = 1 },
	},
	{
		.name = "ipv4 IHL 4: malformed_ipv4_ihl, L2 flow",
		.frames = { { f_ip4_ihl, 4 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(28, 42), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 42), .parsed_l2 = 1,
			   .malformed_ipv4_ihl = 1 },
	},
	{
		.name = "ipv4 IHL 15, options beyond the frame: malformed_ipv4_ihl, L2 flow",
		.frames = { { f_ip4_ihl, 15 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(28, 42), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 42), .parsed_l2 = 1,
			   .malformed_ipv4_ihl = 1 },
	},
	{
		/* The octets that were there are counted, not the ones claimed. */
		.name = "ipv4 total length beyond the frame: malformed_ipv4_len, ports kept",
		.frames = { { f_ip4_totlen, 148 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(48, 62), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv4 = 1,
			   .malformed_ipv4_len = 1 },
	},
	{
		.name = "ipv4 total length below the header: malformed_ipv4_len, frame length counted",
		.frames = { { f_ip4_totlen, 10 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(48, 62), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv4 = 1,
			   .malformed_ipv4_len = 1 },
	},
	{
		.name = "ipv4 total length 0 (BIG TCP): frame length counted, not malformed",
		.frames = { { f_ip4_totlen, 0 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(48, 62), TTL(64) } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv4 = 1 },
	},
	{
		.name = "ip version 6 under EtherType IPv4: malformed_ip_version, L2 flow",
		.frames = { { f_ip4_version, 6 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV4, MAC_B) },
			     .c = { ONE(28, 42), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 28, 42), .parsed_l2 = 1,
			   .malformed_ip_version = 1 },
	},

	/* ---- Malformed IPv6 ---- */
	{
		.name = "ip version 4 under EtherType IPv6: malformed_ip_version, L2 flow",
		.frames = { { f_ip6_version, 4 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV6, MAC_B) },
			     .c = { ONE(48, 62), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_l2 = 1,
			   .malformed_ip_version = 1 },
	},
	{
		.name = "ipv6 header of 39 bytes via XDP: malformed_ipv6_trunc, L2 flow",
		.progs = P_XDP,
		.frames = { { f_ip6_trunc, 39 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV6, MAC_B) },
			     .c = { ONE(39, 53), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 39, 53), .parsed_l2 = 1,
			   .malformed_ipv6_trunc = 1 },
	},
	{
		.name = "ipv6 header of 39 bytes via TC: -EINVAL from the kernel",
		.progs = P_TC,
		.frames = { { f_ip6_trunc, 39 } },
		.err = -EINVAL,
	},
	{
		.name = "ipv6 header of 39 bytes behind 802.1Q: malformed_ipv6_trunc, L2 flow",
		.frames = { { f_vlan_ip_trunc, ETH_TYPE_IPV6 << 8 | 39 } },
		.flows = { { .key = { KEYL2(ETH_TYPE_IPV6, MAC_B), .vlan_outer = 100 },
			     .c = { ONE(39, 57), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 39, 57), .parsed_l2 = 1,
			   .malformed_ipv6_trunc = 1 },
	},
	{
		/* protocol is the header that could not be read. */
		.name = "ipv6 extension header body truncated: malformed_ipv6_ext_trunc, ports 0",
		.frames = { { f_ip6_ext_body_trunc } },
		.flows = { { .key = { KEY6(PROTO_HOPOPTS, 0, 0) },
			     .c = { ONE(48, 62), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 48, 62), .parsed_ipv6 = 1,
			   .malformed_ipv6_ext_trunc = 1 },
	},
	{
		.name = "ipv6 extension header of 1 byte: malformed_ipv6_ext_trunc",
		.frames = { { f_ip6_ext_1byte } },
		.flows = { { .key = { KEY6(PROTO_HOPOPTS, 0, 0) },
			     .c = { ONE(41, 55), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 41, 55), .parsed_ipv6 = 1,
			   .malformed_ipv6_ext_trunc = 1 },
	},
	{
		.name = "ipv6 fragment header truncated: malformed_ipv6_ext_trunc, not a fragment",
		.frames = { { f_ip6_frag_hdr_trunc } },
		.flows = { { .key = { KEY6(PROTO_FRAGMENT, 0, 0) },
			     .c = { ONE(44, 58), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 44, 58), .parsed_ipv6 = 1,
			   .malformed_ipv6_ext_trunc = 1 },
	},
	{
		.name = "ipv6 AH truncated after dstopts: protocol AH",
		.frames = { { f_ip6_ah_trunc } },
		.flows = { { .key = { KEY6(PROTO_AH, 0, 0) },
			     .c = { ONE(50, 64), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv6 = 1,
			   .malformed_ipv6_ext_trunc = 1 },
	},
	{
		/* After IPV6_EXT_MAX_CHAIN headers the protocol is the next
		 * extension header's type. */
		.name = "ipv6 IPV6_EXT_MAX_CHAIN + 1 extension headers: malformed_ipv6_ext_chain",
		.frames = { { f_ip6_chain, IPV6_EXT_MAX_CHAIN + 1 } },
		.flows = { { .key = { KEY6(PROTO_DSTOPTS, 0, 0) },
			     .c = { ONE(112, 126), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 112, 126), .parsed_ipv6 = 1,
			   .malformed_ipv6_ext_chain = 1 },
	},
	{
		.name = "ipv6 payload length beyond the frame: malformed_ipv6_len, ports kept",
		.frames = { { f_ip6_paylen, 116 } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(56, 70), TTL(64), .tos = 0xb8, .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 56, 70), .parsed_ipv6 = 1,
			   .malformed_ipv6_len = 1 },
	},
	{
		.name = "ipv6 payload length 0 (jumbogram / BIG TCP): frame length counted",
		.frames = { { f_ip6_paylen, 0 } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { ONE(56, 70), TTL(64), .tos = 0xb8 } } },
		.stats = { IN_TABLE(0, 1, 1, 56, 70), .parsed_ipv6 = 1 },
	},

	/* ---- Malformed L4: the flow keeps its addresses, ports 0 ---- */
	{
		/* Ethernet padding after a datagram is not a transport header. */
		.name = "transport header past the datagram's end: malformed_l4_trunc",
		.frames = { { f_ip4_tcp_in_padding } },
		.flows = { { .key = { KEY4(PROTO_TCP, 0, 0) },
			     .c = { ONE(20, 60), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 20, 60), .parsed_ipv4 = 1, .malformed_l4_trunc = 1 },
	},
	{
		/* The length field is not an EtherType: all 802.3 frames
		 * between two MACs are one flow with EtherType 0. */
		.name = "802.3 length frames: one L2 flow, ether_type 0",
		.frames = { { f_llc, 38 }, { f_llc, 39 } },
		.flows = { { .key = { KEYL2(0, MAC_B) },
			     .c = { .packets = 2, .octets = 38 + 39, .l2_octets = 52 + 53,
				    .min_ip_len = 38, .max_ip_len = 39 } } },
		.stats = { IN_TABLE(0, 1, 2, 77, 105), .parsed_l2 = 2 },
	},
	{
		.name = "tcp header of 19 bytes: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_TCP4 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 0, 0) },
			     .c = { ONE(39, 53), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 39, 53), .parsed_ipv4 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		.name = "udp header of 7 bytes: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_UDP4 } },
		.flows = { { .key = { KEY4(PROTO_UDP, 0, 0) },
			     .c = { ONE(27, 41), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 27, 41), .parsed_ipv4 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		.name = "sctp header of 11 bytes: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_SCTP4 } },
		.flows = { { .key = { KEY4(PROTO_SCTP, 0, 0) },
			     .c = { ONE(31, 45), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 31, 45), .parsed_ipv4 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		.name = "icmp header of 3 bytes: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_ICMP4 } },
		.flows = { { .key = { KEY4(PROTO_ICMP, 0, 0) },
			     .c = { ONE(23, 37), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 23, 37), .parsed_ipv4 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		.name = "ipv6 tcp header of 10 bytes: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_TCP6 } },
		.flows = { { .key = { KEY6(PROTO_TCP, 0, 0) },
			     .c = { ONE(50, 64), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv6 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		.name = "icmpv6 header of 1 byte: malformed_l4_trunc",
		.frames = { { f_l4_trunc, L4T_ICMP6 } },
		.flows = { { .key = { KEY6(PROTO_ICMPV6, 0, 0) },
			     .c = { ONE(41, 55), TTL(64), .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 41, 55), .parsed_ipv6 = 1,
			   .malformed_l4_trunc = 1 },
	},
	{
		/* The ports and flags were read before the offset was. */
		.name = "tcp data offset 4: malformed_tcp_doff, ports and flags kept",
		.frames = { { f_tcp_doff, 4 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(40, 54), TTL(64), .tcp_flags = ACK, .flags = MALF } } },
		.stats = { IN_TABLE(0, 1, 1, 40, 54), .parsed_ipv4 = 1,
			   .malformed_tcp_doff = 1 },
	},

	/* ---- Size ---- */
	{
		.name = "jumbo 9000-byte frame via XDP (multi-buffer)",
		.progs = P_XDP,
		.frames = { { f_ip4_big, 9000 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(8986, 9000), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 8986, 9000), .parsed_ipv4 = 1 },
	},
	{
		/* See the top of the file: skb test runs are linear only. */
		.name = "jumbo 9000-byte frame via TC: -EINVAL from the kernel",
		.progs = P_TC,
		.frames = { { f_ip4_big, 9000 } },
		.err = -EINVAL,
	},
	{
		/* Beyond XDP's linear 3520 bytes, within TC's 3712. */
		.name = "3600-byte frame",
		.frames = { { f_ip4_big, 3600 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(3586, 3600), TTL(64), .tcp_flags = ACK } } },
		.stats = { IN_TABLE(0, 1, 1, 3586, 3600), .parsed_ipv4 = 1 },
	},

	/* ---- GSO (TC only: the ctx carries gso_segs/gso_size) ---- */
	{
		/* ip_len 3540 = 40 + 3500: three segments of 40 + 1000 and
		 * one of 40 + 500, each with its own headers. */
		.name = "gso ipv4 tcp: 4 segments of 1000",
		.progs = P_TC,
		.gso_segs = 4, .gso_size = 1000,
		.frames = { { f_ip4_big, 3554 } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { .packets = 4, .octets = 3540 + 3 * 40,
				    .l2_octets = 3554 + 3 * (14 + 40),
				    .min_ip_len = 540, .max_ip_len = 1040, TTL(64),
				    .tcp_flags = ACK, .flags = FLOW_F_GSO } } },
		.stats = { IN_TABLE(0, 1, 4, 3660, 3716), .parsed_ipv4 = 4,
			   .gso_aggregates = 1 },
	},
	{
		/* ip_len 3048 = 48 + 3000: 2 x (48 + 1200) + (48 + 600). */
		.name = "gso ipv6 udp: 3 segments of 1200",
		.progs = P_TC,
		.gso_segs = 3, .gso_size = 1200,
		.frames = { { f_ip6_udp_big, 3062 } },
		.flows = { { .key = { KEY6(PROTO_UDP, 5353, 53) },
			     .c = { .packets = 3, .octets = 3048 + 2 * 48,
				    .l2_octets = 3062 + 2 * (14 + 48),
				    .min_ip_len = 648, .max_ip_len = 1248, TTL(64),
				    .flags = FLOW_F_GSO } } },
		.stats = { IN_TABLE(0, 1, 3, 3144, 3186), .parsed_ipv6 = 3,
			   .gso_aggregates = 1 },
	},
	{
		/* SCTP segments at the frag_list (gso_size GSO_BY_FRAGS): each
		 * repeats IP + SCTP common header (32); sizes known as a mean. */
		.name = "gso ipv4 sctp: GSO_BY_FRAGS",
		.progs = P_TC,
		.gso_segs = 3, .gso_size = 0xffff,
		.frames = { { f_ip4_sctp_big, 3014 } },
		.flows = { { .key = { KEY4(PROTO_SCTP, 5000, 6000) },
			     .c = { .packets = 3, .octets = 3000 + 2 * 32,
				    .l2_octets = 3014 + 2 * (14 + 32),
				    .min_ip_len = 3064 / 3, .max_ip_len = 3064 / 3, TTL(64),
				    .flags = FLOW_F_GSO } } },
		.stats = { IN_TABLE(0, 1, 3, 3064, 3106), .parsed_ipv4 = 3,
			   .gso_aggregates = 1 },
	},
	{
		.name = "gso_segs 1 is one packet",
		.progs = P_TC,
		.gso_segs = 1, .gso_size = 1000,
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},

	/* ---- Epochs and tables ---- */
	{
		.name = "epoch 1: flow_table_1 and table_*_1",
		.epoch = 1,
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(1, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},
	{
		.name = "epoch 2: back to flow_table_0",
		.epoch = 2,
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},
	{
		.name = "epoch 0xffffffff: flow_table_1",
		.epoch = 0xffffffff,
		.frames = { { f_ip4_udp } },
		.flows = { { .key = { KEY4(PROTO_UDP, 5353, 53) },
			     .c = { ONE(48, 62), TTL(64) } } },
		.stats = { IN_TABLE(1, 1, 1, 48, 62), .parsed_ipv4 = 1 },
	},
	{
		.name = "no table installed: no_table, not metered",
		.no_table = 1,
		.frames = { { f_ip4_tcp } },
		.stats = { .packets = 1, .octets = 50, .l2_octets = 64, .parsed_ipv4 = 1,
			   .no_table = 1, .not_metered_packets = 1,
			   .not_metered_octets = 50 },
	},

	/* ---- Interface ---- */
	{
		.name = "ctx ifindex (TC) / ingress_ifindex (XDP) is the key's ifindex",
		.ctx_ifindex = 1,
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},
	{
		/* skb->ifindex is the device; ingress_ifindex is skb_iif. */
		.name = "TC ctx ingress_ifindex does not change the key's ifindex",
		.progs = P_TC,
		.ctx_ingress_ifindex = 1,
		.frames = { { f_ip4_tcp } },
		.flows = { { .key = { KEY4(PROTO_TCP, 40000, 80) },
			     .c = { ONE(50, 64), TTL(64), .tcp_flags = ACK | TCP_FLAG_PSH } } },
		.stats = { IN_TABLE(0, 1, 1, 50, 64), .parsed_ipv4 = 1 },
	},
};

/* ---- Harness ---- */

static struct bpfix *skel;
static int ncpus;
static int other_ifindex;	/* an interface other than lo, 0 if none */
static bool gso_ok;		/* does the kernel pass ctx gso_* to the skb? */
static struct pkt frame_in;
static __u8 frame_out[PKT_MAX];

static const char *const prog_names[] = { "xdp", "tc_ingress", "tc_egress" };

struct where {
	const struct row *row;
	const char *prog;
};

static bool check_u64(const struct where *w, const char *what, __u64 got, __u64 want)
{
	if (got == want)
		return true;
	print_error("row \"%s\" [%s]: %s = %llu (0x%llx), want %llu (0x%llx)\n",
		    w->row->name, w->prog, what, (unsigned long long)got,
		    (unsigned long long)got, (unsigned long long)want,
		    (unsigned long long)want);
	return false;
}

static void fmt_key(const struct flow_key *k, char *buf, size_t n)
{
	const __u8 *s = k->src.ip6, *d = k->dst.ip6;

	snprintf(buf, n,
		 "{if %u dir %u v%u proto %u vlan %u/%u type 0x%04x ports %u>%u "
		 "src %02x%02x%02x%02x%02x%02x%02x%02x.. dst %02x%02x%02x%02x%02x%02x%02x%02x.. held %u "
		 "tun %u/%u/%u/%u}",
		 k->ifindex, k->direction, k->ip_version, k->protocol, k->vlan_outer,
		 k->vlan_inner, k->ether_type, k->src_port, k->dst_port,
		 s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
		 d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], k->frag_held,
		 k->tun_type, k->tun_reversed, k->tun_id, k->tun_ref);
}

static int map_fd(struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static unsigned int count_keys(int fd, size_t key_size)
{
	__u8 key[128], next[128];
	unsigned int n = 0;
	void *prev = NULL;

	assert(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

/* Print every flow of a table, for a failing row. */
static void dump_table(const char *name, int fd)
{
	struct flow_key key, next;
	struct flow_counters c;
	void *prev = NULL;
	char buf[256];

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		fmt_key(&key, buf, sizeof(buf));
		if (prog_run_lookup_flow(fd, ncpus, &key, &c))
			continue;
		print_error("  %s: %s packets %llu octets %llu l2 %llu frags %u ip_len %u..%u "
			    "ttl %u..%u tos 0x%x tcp_flags 0x%x tcp_syn 0x%x flags 0x%x label 0x%x\n",
			    name, buf, (unsigned long long)c.packets,
			    (unsigned long long)c.octets, (unsigned long long)c.l2_octets,
			    c.fragments, c.min_ip_len, c.max_ip_len, c.min_ttl, c.max_ttl,
			    c.tos, c.tcp_flags, c.tcp_syn, c.flags, c.flow_label);
	}
}

static bool set_table(__u32 slot, struct bpf_map *table)
{
	int fd = map_fd(table);

	return !bpf_map_update_elem(map_fd(skel->maps.flow_tables), &slot, &fd, BPF_ANY);
}

/* Every row starts from empty maps, zero stats and its own epoch. */
static bool reset_maps(const struct row *r)
{
	__u32 key = 0;

	prog_run_clear_map(map_fd(skel->maps.flow_table_0), sizeof(struct flow_key));
	prog_run_clear_map(map_fd(skel->maps.flow_table_1), sizeof(struct flow_key));
	prog_run_clear_map(map_fd(skel->maps.frag_table), sizeof(struct frag_key));
	if (prog_run_zero_stats(map_fd(skel->maps.stats), ncpus))
		return false;
	if (bpf_map_update_elem(map_fd(skel->maps.flow_epoch), &key, &r->epoch, BPF_ANY))
		return false;
	if (r->no_table && bpf_map_delete_elem(map_fd(skel->maps.flow_tables), &key))
		return false;
	return true;
}

static bool run_frame(const struct where *w, int prog, int prog_fd, const struct frame *f)
{
	struct __sk_buff skb = {};
	struct xdp_md xmd = {};
	struct prog_run_result res = { 0 };
	int want_ret = prog == 0 ? PROG_RUN_XDP_PASS : PROG_RUN_TC_ACT_UNSPEC;
	void *ctx = NULL;
	__u32 ctx_size = 0;
	bool ok = true;
	int err;

	f->build(&frame_in, f->arg);
	if (prog == 0 && w->row->ctx_ifindex) {
		xmd.data_end = frame_in.len;
		xmd.ingress_ifindex = other_ifindex;
		ctx = &xmd;
		ctx_size = sizeof(xmd);
	} else if (prog != 0 && (w->row->gso_segs || w->row->ctx_ifindex ||
				 w->row->ctx_ingress_ifindex)) {
		skb.gso_segs = w->row->gso_segs;
		skb.gso_size = w->row->gso_size;
		if (w->row->ctx_ifindex)
			skb.ifindex = other_ifindex;
		if (w->row->ctx_ingress_ifindex)
			skb.ingress_ifindex = other_ifindex;
		ctx = &skb;
		ctx_size = sizeof(skb);
	}

	err = prog_run_frame(prog_fd, frame_in.buf, frame_in.len, ctx, ctx_size, frame_out,
			     sizeof(frame_out), &res);
	ok &= check_u64(w, "test run result (negative errno)", err, w->row->err);
	if (err || w->row->err)
		return ok;
	ok &= check_u64(w, "return code", res.retval, want_ret);
	/* Transparent: the frame leaves exactly as it came. */
	ok &= check_u64(w, "data_size_out", res.size_out, frame_in.len);
	if (res.size_out == frame_in.len && !res.unchanged) {
		print_error("row \"%s\" [%s]: the program changed the frame\n",
			    w->row->name, w->prog);
		ok = false;
	}
	return ok;
}

static bool check_stats(const struct where *w)
{
	const struct bpfix_stats *want = &w->row->stats;
	struct bpfix_stats got;
	char why[256];
	bool ok = true;
	int err;

	err = prog_run_read_stats(map_fd(skel->maps.stats), ncpus, &got);
	if (err) {
		print_error("row \"%s\" [%s]: cannot read stats: %s\n",
			    w->row->name, w->prog, strerror(-err));
		return false;
	}
#define CHECK_STAT(name, doc) ok &= check_u64(w, "stats." #name, got.name, want->name);
	BPFIX_STATS(CHECK_STAT)
#undef CHECK_STAT

	/* The accounting identity of include/bpfix.h holds whatever the row. */
	if (!prog_run_identity(&got, why, sizeof(why))) {
		print_error("row \"%s\" [%s]: accounting identity: %s\n",
			    w->row->name, w->prog, why);
		ok = false;
	}
	return ok;
}

static bool check_flows(const struct where *w, int prog)
{
	const struct row *r = w->row;
	__u32 slot = r->epoch & (FLOW_TABLES - 1);
	struct bpf_map *tables[FLOW_TABLES] = { skel->maps.flow_table_0, skel->maps.flow_table_1 };
	int fd = map_fd(tables[slot]);
	unsigned int nflows = 0, n;
	bool ok = true;
	char what[512], kbuf[256];
	int i;

	for (i = 0; i < MAX_FLOWS && r->flows[i].c.packets; i++) {
		const struct flow_counters *want = &r->flows[i].c;
		struct flow_key key = r->flows[i].key;
		struct flow_counters got;

		nflows++;
		key.ifindex = r->ctx_ifindex && other_ifindex ? other_ifindex : 1;
		key.direction = prog == 2 ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS;
		fmt_key(&key, kbuf, sizeof(kbuf));
		if (prog_run_lookup_flow(fd, ncpus, &key, &got)) {
			print_error("row \"%s\" [%s]: flow %d %s not in flow_table_%u; it holds:\n",
				    r->name, w->prog, i, kbuf, slot);
			dump_table("flow_table_0", map_fd(skel->maps.flow_table_0));
			dump_table("flow_table_1", map_fd(skel->maps.flow_table_1));
			ok = false;
			continue;
		}
#define CHECK_FLOW(field) do { \
		snprintf(what, sizeof(what), "flow %d " #field, i); \
		ok &= check_u64(w, what, got.field, want->field); \
	} while (0)
		CHECK_FLOW(packets);
		CHECK_FLOW(octets);
		CHECK_FLOW(l2_octets);
		CHECK_FLOW(fragments);
		CHECK_FLOW(min_ip_len);
		CHECK_FLOW(max_ip_len);
		CHECK_FLOW(tcp_flags);
		CHECK_FLOW(min_ttl);
		CHECK_FLOW(max_ttl);
		CHECK_FLOW(tos);
		CHECK_FLOW(tcp_syn);
		CHECK_FLOW(flags);
		CHECK_FLOW(flow_label);
		CHECK_FLOW(pad0);
#undef CHECK_FLOW
		if (!got.first_ns || got.first_ns > got.last_ns) {
			print_error("row \"%s\" [%s]: flow %d first_ns %llu last_ns %llu: want 0 < first <= last\n",
				    r->name, w->prog, i, (unsigned long long)got.first_ns,
				    (unsigned long long)got.last_ns);
			ok = false;
		}
	}

	/* Nothing else: no stray flow in either table. */
	n = count_keys(fd, sizeof(struct flow_key));
	snprintf(what, sizeof(what), "flows in flow_table_%u", slot);
	ok &= check_u64(w, what, n, nflows);
	n = count_keys(map_fd(tables[!slot]), sizeof(struct flow_key));
	snprintf(what, sizeof(what), "flows in flow_table_%u (not this epoch's)", !slot);
	ok &= check_u64(w, what, n, 0);
	if (!ok && nflows) {
		print_error("row \"%s\" [%s]: tables hold:\n", r->name, w->prog);
		dump_table("flow_table_0", map_fd(skel->maps.flow_table_0));
		dump_table("flow_table_1", map_fd(skel->maps.flow_table_1));
	}
	n = count_keys(map_fd(skel->maps.frag_table), sizeof(struct frag_key));
	ok &= check_u64(w, "frag_table entries", n, r->frag_entries);
	return ok;
}

static bool run_row(const struct row *r, int prog)
{
	struct bpf_program *progs[] = {
		skel->progs.bpfix_xdp, skel->progs.bpfix_tc_ingress, skel->progs.bpfix_tc_egress,
	};
	struct where w = { .row = r, .prog = prog_names[prog] };
	bool ok = true;
	int i;

	if (!reset_maps(r)) {
		print_error("row \"%s\": cannot reset the maps: %s\n", r->name, strerror(errno));
		return false;
	}
	for (i = 0; i < MAX_FRAMES && r->frames[i].build; i++)
		ok &= run_frame(&w, prog, bpf_program__fd(progs[prog]), &r->frames[i]);
	ok &= check_stats(&w);
	ok &= check_flows(&w, prog);
	if (r->no_table && !set_table(0, skel->maps.flow_table_0)) {
		print_error("row \"%s\": cannot reinstall flow_table_0: %s\n",
			    r->name, strerror(errno));
		ok = false;
	}
	return ok;
}

/*
 * Whether a TC test run hands ctx gso_segs/gso_size to the skb: kernels that
 * do also copy them back into ctx_out, kernels that do not refuse the ctx.
 */
static bool probe_gso(void)
{
	struct __sk_buff in = { .gso_segs = 4, .gso_size = 1000 }, out = {};
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame_in.buf,
		    .ctx_in = &in, .ctx_size_in = sizeof(in),
		    .ctx_out = &out, .ctx_size_out = sizeof(out));

	f_ip4_big(&frame_in, 3554);
	opts.data_size_in = frame_in.len;
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bpfix_tc_ingress), &opts);
	return !err && out.gso_segs == 4 && out.gso_size == 1000;
}

static void test_row(void **state)
{
	const struct row *r = *state;
	unsigned int progs = r->progs ? r->progs : P_ALL;
	bool ok = true;
	int prog;

	if (r->gso_segs && !gso_ok) {
		print_message("row \"%s\": this kernel does not pass ctx gso_segs/gso_size "
			      "to TC test runs; skipped\n", r->name);
		skip();
	}
	if ((r->ctx_ifindex || r->ctx_ingress_ifindex) && !other_ifindex) {
		print_message("row \"%s\": no interface but lo to name in the ctx; skipped\n",
			      r->name);
		skip();
	}
	for (prog = 0; prog < 3; prog++)
		if (progs & (1u << prog))
			ok &= run_row(r, prog);
	if (!ok)
		fail_msg("row \"%s\" failed (see above)", r->name);
}

static int find_other_ifindex(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int found = 0;

	if (!ifs)
		return 0;
	for (i = ifs; i->if_index; i++) {
		if (i->if_index != 1) {
			found = i->if_index;
			break;
		}
	}
	if_freenameindex(ifs);
	return found;
}

int main(void)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct CMUnitTest *tests;
	size_t i;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_prog: needs root (BPF_PROG_TEST_RUN); skipped\n");
		return SKIP_EXIT;
	}
	libbpf_set_print(prog_run_libbpf_print);
	skel = bpfix__open_and_load();
	if (!skel) {
		/* as root, an object that does not load (a verifier
		 * rejection) is a failure, not a skip */
		fprintf(stderr, "test_prog: cannot load bpfix.bpf.o: %s "
			"(BPFIX_TEST_VERBOSE=1 for libbpf's messages)\n", strerror(errno));
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "test_prog: cannot count possible CPUs\n");
		bpfix__destroy(skel);
		return 1;
	}
	prog_run_pin_cpu();
	other_ifindex = find_other_ifindex();
	gso_ok = probe_gso();

	tests = calloc(n, sizeof(*tests));
	if (!tests) {
		bpfix__destroy(skel);
		return 1;
	}
	for (i = 0; i < n; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = test_row;
		tests[i].initial_state = &rows[i];
	}
	failed = _cmocka_run_group_tests("test_prog", tests, n, NULL, NULL);
	free(tests);
	bpfix__destroy(skel);
	return failed ? 1 : 0;
}
