// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tunnels through BPF_PROG_TEST_RUN (bpf/parse.bpf.h, parse_tunnels): every
 * encapsulation the parser takes off, nested twice, one level too deep, not
 * tunnels that look like them, and each frame truncated at every header
 * boundary, in --tunnels inner, outer and both (the skeleton is loaded once
 * per mode: tunnel_mode is rodata).
 *
 * The frame builder records each IP header it appends (version, addresses,
 * protocol, ports, offset), so a row's expected flow comes from the bytes
 * that were sent: the row says which IP header the metered flow is (level)
 * and which tunnel it must carry; the harness checks that exactly that flow
 * (and, in both mode, the outer one) is in the table with one packet and
 * the octets of that IP header on, and that every stat of struct
 * bpfix_stats is exactly what the row implies, all others 0. Each row runs
 * through XDP, TC ingress and TC egress.
 */
#include <errno.h>
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
#define MAX_LEVELS 5

#define ETH_TYPE_TEB  0x6558
#define ETH_TYPE_MPLS 0x8847
#define PROTO_IPIP    4
#define PROTO_IPV6    41
#define PROTO_GRE     47

/* ---- A frame builder that remembers its IP headers and lengths ---- */

struct level {
	__u8 version;
	__u8 proto;
	__u8 src[16], dst[16];
	__u16 sport, dport;
	size_t off;		/* IP header's offset */
};

struct tb {
	struct pkt p;
	struct level lv[MAX_LEVELS];
	int n;
	size_t udp_off[MAX_LEVELS];
	int n_udp;
	size_t bound[32];	/* offsets where a header starts */
	int n_bound;
};

static const __u8 mac_a[6] = { 2, 0, 0, 0, 0, 0x0a }, mac_b[6] = { 2, 0, 0, 0, 0, 0x0b };
static const __u8 mac_c[6] = { 2, 0, 0, 0, 0, 0x0c }, mac_d[6] = { 2, 0, 0, 0, 0, 0x0d };

static void tb_bound(struct tb *b)
{
	b->bound[b->n_bound++] = b->p.len;
}

static void tb_eth(struct tb *b, const __u8 *dst, const __u8 *src, __u16 type)
{
	if (b->p.len == 0)
		pkt_init(&b->p);
	else
		tb_bound(b);
	pkt_eth(&b->p, dst, src, type);
}

/* IPv4 a.b.c.@host -> a.b.c.@host+1 in net 10.@net.0.0 */
static void tb_ip4(struct tb *b, __u8 net, __u8 proto)
{
	struct pkt_ip4 ip = { .proto = proto, .ttl = 64, .id = 7 };
	struct level *l = &b->lv[b->n++];

	tb_bound(b);
	ip.src[0] = 10, ip.src[1] = net, ip.src[3] = 1;
	ip.dst[0] = 10, ip.dst[1] = net, ip.dst[3] = 2;
	memset(l, 0, sizeof(*l));
	l->version = 4;
	l->proto = proto;
	memcpy(l->src, ip.src, 4);
	memcpy(l->dst, ip.dst, 4);
	l->off = b->p.len;
	pkt_ipv4(&b->p, &ip);
}

static void tb_ip6(struct tb *b, __u8 net, __u8 proto)
{
	struct pkt_ip6 ip = { .nexthdr = proto, .hop_limit = 64 };
	struct level *l = &b->lv[b->n++];

	tb_bound(b);
	ip.src[0] = 0xfd, ip.src[1] = net, ip.src[15] = 1;
	ip.dst[0] = 0xfd, ip.dst[1] = net, ip.dst[15] = 2;
	memset(l, 0, sizeof(*l));
	l->version = 6;
	l->proto = proto;
	memcpy(l->src, ip.src, 16);
	memcpy(l->dst, ip.dst, 16);
	l->off = b->p.len;
	pkt_ipv6(&b->p, &ip);
}

static void tb_udp(struct tb *b, __u16 sport, __u16 dport)
{
	tb_bound(b);
	b->lv[b->n - 1].sport = sport;
	b->lv[b->n - 1].dport = dport;
	b->udp_off[b->n_udp++] = b->p.len;
	pkt_udp(&b->p, sport, dport);
}

static void tb_tcp(struct tb *b, __u16 sport, __u16 dport)
{
	tb_bound(b);
	b->lv[b->n - 1].sport = sport;
	b->lv[b->n - 1].dport = dport;
	pkt_tcp(&b->p, sport, dport, TCP_FLAG_ACK, 0);
}

static __u8 *tb_put(struct tb *b, size_t n)
{
	tb_bound(b);
	return pkt_put(&b->p, n);
}

static void tb_vxlan(struct tb *b, __u32 vni)
{
	__u8 *h = tb_put(b, 8);

	h[0] = 0x08;
	put32(h + 4, vni << 8);
}

static void tb_geneve(struct tb *b, __u32 vni, __u16 proto, __u8 opt_len)
{
	__u8 *h = tb_put(b, 8);

	h[0] = opt_len / 4;
	put16(h + 2, proto);
	put32(h + 4, vni << 8);
	if (opt_len)
		memset(tb_put(b, opt_len), 0xab, opt_len);
}

/* GRE with @flags (0x80 C, 0x20 K, 0x10 S in the first octet) */
static void tb_gre(struct tb *b, __u8 flags, __u16 proto, __u32 key)
{
	__u8 *h = tb_put(b, 4);

	h[0] = flags;
	put16(h + 2, proto);
	if (flags & 0x80)
		tb_put(b, 4);
	if (flags & 0x20)
		put32(tb_put(b, 4), key);
	if (flags & 0x10)
		put32(tb_put(b, 4), 99);
}

static void tb_mpls(struct tb *b, __u32 label, int bottom)
{
	__u8 *h = tb_put(b, 4);

	put32(h, label << 12 | (bottom ? 0x100 : 0) | 64);
}

/* Inner payloads: IPv4/TCP in net 1, IPv6/UDP in net 2. */
static void tb_in_tcp4(struct tb *b)
{
	tb_ip4(b, 1, PROTO_TCP);
	tb_tcp(b, 40000, 80);
	memset(tb_put(b, 10), 'x', 10);
}

static void tb_in_udp6(struct tb *b)
{
	tb_ip6(b, 2, PROTO_UDP);
	tb_udp(b, 5000, 53);
	memset(tb_put(b, 20), 'y', 20);
}

/* IP and UDP lengths as the bytes that follow them, as pkt_finish does. */
static void tb_finish(struct tb *b)
{
	int i;

	for (i = 0; i < b->n; i++) {
		size_t off = b->lv[i].off;

		if (off >= b->p.len)
			continue;
		if (b->lv[i].version == 4 && off + 4 <= b->p.len)
			pkt_set16(&b->p, off + 2, b->p.len - off);
		else if (b->lv[i].version == 6 && off + 6 <= b->p.len)
			pkt_set16(&b->p, off + 4, b->p.len - off - 40);
	}
	for (i = 0; i < b->n_udp; i++)
		if (b->udp_off[i] + 6 <= b->p.len)
			pkt_set16(&b->p, b->udp_off[i] + 4, b->p.len - b->udp_off[i]);
}

/* ---- The frames ---- */

enum frame_id {
	F_VXLAN4, F_VXLAN8472, F_VXLAN_V6, F_VXLAN_PORT, F_VXLAN_NOI, F_VXLAN_VNI2, F_VXLAN_GPE,
	F_VXLAN_GBP,
	F_GENEVE, F_GENEVE_IP, F_GENEVE_OTHER,
	F_GRE, F_GRE_CKS, F_GRE_TEB, F_GRE_V1, F_GRE_ROUTING,
	F_IPIP, F_SIT, F_4IN6, F_6IN6,
	F_MPLS3, F_MPLS_V6, F_MPLS_PW, F_MPLS_DEEP,
	F_GRE_VXLAN, F_VXLAN_IPIP, F_IPIP3, F_UDP4790,
};

static void build(struct tb *b, int id)
{
	memset(b, 0, sizeof(*b));
	switch (id) {
	case F_VXLAN4:		/* the flannel/Cilium overlay */
	case F_VXLAN8472:
	case F_VXLAN_PORT:
	case F_VXLAN_NOI:
	case F_VXLAN_VNI2:
	case F_VXLAN_GPE:
	case F_VXLAN_GBP:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_UDP);
		tb_udp(b, 50000, id == F_VXLAN8472 ? 8472 : id == F_VXLAN_PORT ? 4790 : 4789);
		tb_vxlan(b, id == F_VXLAN_VNI2 ? 43 : 42);
		if (id == F_VXLAN_NOI)
			b->p.buf[b->p.len - 8] = 0;
		if (id == F_VXLAN_GPE)		/* P: VXLAN-GPE's, not decoded */
			b->p.buf[b->p.len - 8] = 0x0c;
		if (id == F_VXLAN_GBP)		/* G and a group policy id */
			b->p.buf[b->p.len - 8] = 0x88, b->p.buf[b->p.len - 5] = 7;
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	case F_VXLAN_V6:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV6);
		tb_ip6(b, 9, PROTO_UDP);
		tb_udp(b, 50000, 4789);
		tb_vxlan(b, 0xabcdef);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV6);
		tb_in_udp6(b);
		break;
	case F_GENEVE:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_UDP);
		tb_udp(b, 50000, 6081);
		tb_geneve(b, 77, ETH_TYPE_TEB, 8);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	case F_GENEVE_IP:
	case F_GENEVE_OTHER:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_UDP);
		tb_udp(b, 50000, 6081);
		tb_geneve(b, 78, id == F_GENEVE_IP ? ETH_TYPE_IPV6 : 0x88cc, 0);
		tb_in_udp6(b);
		break;
	case F_GRE:
	case F_GRE_V1:
	case F_GRE_ROUTING:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_GRE);
		tb_gre(b, id == F_GRE_ROUTING ? 0x40 : 0, ETH_TYPE_IPV4, 0);
		if (id == F_GRE_V1)
			b->p.buf[b->p.len - 3] = 1;
		tb_in_tcp4(b);
		break;
	case F_GRE_CKS:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_GRE);
		tb_gre(b, 0x80 | 0x20 | 0x10, ETH_TYPE_IPV6, 0x01020304);
		tb_in_udp6(b);
		break;
	case F_GRE_TEB:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV6);
		tb_ip6(b, 9, PROTO_GRE);
		tb_gre(b, 0x20, ETH_TYPE_TEB, 0x00123401);	/* NVGRE: VSID 0x1234, FlowID 1 */
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	case F_IPIP:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_IPIP);
		tb_in_tcp4(b);
		break;
	case F_SIT:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_IPV6);
		tb_in_udp6(b);
		break;
	case F_4IN6:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV6);
		tb_ip6(b, 9, PROTO_IPIP);
		tb_in_tcp4(b);
		break;
	case F_6IN6:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV6);
		tb_ip6(b, 9, PROTO_IPV6);
		tb_in_udp6(b);
		break;
	case F_MPLS3:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_MPLS);
		tb_mpls(b, 1000, 0);
		tb_mpls(b, 2000, 0);
		tb_mpls(b, 3000, 1);
		tb_in_tcp4(b);
		break;
	case F_MPLS_V6:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_MPLS);
		tb_mpls(b, 0xfffff, 1);
		tb_in_udp6(b);
		break;
	case F_MPLS_PW:		/* pseudowire control word: not decoded */
		tb_eth(b, mac_b, mac_a, ETH_TYPE_MPLS);
		tb_mpls(b, 16, 1);
		tb_put(b, 4);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	case F_MPLS_DEEP:	/* no bottom of stack in MPLS_MAX_DEPTH labels */
		tb_eth(b, mac_b, mac_a, ETH_TYPE_MPLS);
		for (int i = 0; i < MPLS_MAX_DEPTH + 1; i++)
			tb_mpls(b, 100 + i, i == MPLS_MAX_DEPTH);
		tb_in_tcp4(b);
		break;
	case F_GRE_VXLAN:	/* an overlay inside a DC GRE tunnel */
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 8, PROTO_GRE);
		tb_gre(b, 0x20, ETH_TYPE_IPV4, 5);
		tb_ip4(b, 9, PROTO_UDP);
		tb_udp(b, 50000, 4789);
		tb_vxlan(b, 42);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	case F_VXLAN_IPIP:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV6);
		tb_ip6(b, 8, PROTO_UDP);
		tb_udp(b, 50000, 4789);
		tb_vxlan(b, 42);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_IPV6);
		tb_in_udp6(b);
		break;
	case F_IPIP3:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 7, PROTO_IPIP);
		tb_ip4(b, 8, PROTO_IPIP);
		tb_ip4(b, 9, PROTO_IPIP);
		tb_in_tcp4(b);
		break;
	case F_UDP4790:
		tb_eth(b, mac_b, mac_a, ETH_TYPE_IPV4);
		tb_ip4(b, 9, PROTO_UDP);
		tb_udp(b, 50000, 4790);
		tb_vxlan(b, 42);
		tb_eth(b, mac_d, mac_c, ETH_TYPE_IPV4);
		tb_in_tcp4(b);
		break;
	}
	tb_finish(b);
}

/* ---- Rows ---- */

enum { M_INNER = 1, M_OUTER = 2, M_BOTH = 4, M_ALL = 7 };

struct row {
	const char *name;
	int frame;
	int cut;		/* > 0: keep the frame up to header boundary cut-1 (+ cut_extra) */
	int cut_extra;
	unsigned int modes;	/* which --tunnels modes (M_*), 0: all */
	int level;		/* the IP header the flow is of; -1: an L2 flow */
	__u8 tun_type;
	__u32 tun_id;
	int tun_level;		/* the IP header holding the outer addresses; -1: none */
	bool malformed;		/* counted under malformed_tunnel */
	bool too_deep;
};

#define ROW(n, f, lvl, t, id, tl, ...) \
	{ .name = n, .frame = f, .level = lvl, .tun_type = t, .tun_id = id, .tun_level = tl, \
	  __VA_ARGS__ }
#define PLAIN(n, f, ...) { .name = n, .frame = f, .level = 0, .tun_level = -1, __VA_ARGS__ }
#define MALFORMED(n, f, ...) \
	{ .name = n, .frame = f, .level = 0, .tun_level = -1, .malformed = true, __VA_ARGS__ }

static struct row rows[160];
static size_t n_rows;

static const struct row fixed_rows[] = {
	ROW("vxlan 4789, IPv4 underlay", F_VXLAN4, 1, TUNNEL_VXLAN, 42, 0),
	ROW("vxlan 8472 (Linux, flannel)", F_VXLAN8472, 1, TUNNEL_VXLAN, 42, 0),
	ROW("vxlan, IPv6 underlay, IPv6 inside", F_VXLAN_V6, 1, TUNNEL_VXLAN, 0xabcdef, 0),
	ROW("vxlan other vni", F_VXLAN_VNI2, 1, TUNNEL_VXLAN, 43, 0),
	ROW("vxlan on a port the agent added", F_VXLAN_PORT, 1, TUNNEL_VXLAN, 42, 0,
	    .modes = M_INNER),
	MALFORMED("vxlan without the I flag", F_VXLAN_NOI),
	MALFORMED("vxlan with GPE's P flag", F_VXLAN_GPE),
	ROW("vxlan with GBP's G flag and a policy id", F_VXLAN_GBP, 1, TUNNEL_VXLAN, 42, 0),
	ROW("geneve with options, Ethernet inside", F_GENEVE, 1, TUNNEL_GENEVE, 77, 0),
	ROW("geneve, IPv6 inside", F_GENEVE_IP, 1, TUNNEL_GENEVE, 78, 0),
	PLAIN("geneve, LLDP inside: not decoded", F_GENEVE_OTHER),
	ROW("gre, IPv4 inside", F_GRE, 1, TUNNEL_GRE, 0, 0),
	ROW("gre checksum+key+sequence, IPv6 inside", F_GRE_CKS, 1, TUNNEL_GRE, 0x01020304, 0),
	ROW("gre (NVGRE) Ethernet inside, IPv6 underlay", F_GRE_TEB, 1, TUNNEL_GRE, 0x00123401, 0),
	PLAIN("gre version 1 (PPTP): not decoded", F_GRE_V1),
	MALFORMED("gre routing bit", F_GRE_ROUTING),
	ROW("ipip 4in4", F_IPIP, 1, TUNNEL_IPIP, 0, 0),
	ROW("ipip 6in4 (sit)", F_SIT, 1, TUNNEL_IPIP, 0, 0),
	ROW("ipip 4in6", F_4IN6, 1, TUNNEL_IPIP, 0, 0),
	ROW("ipip 6in6", F_6IN6, 1, TUNNEL_IPIP, 0, 0),
	ROW("mpls 3 labels, IPv4", F_MPLS3, 0, TUNNEL_MPLS, 1000, -1),
	ROW("mpls 1 label, IPv6", F_MPLS_V6, 0, TUNNEL_MPLS, 0xfffff, -1),
	{ .name = "mpls pseudowire: the L2 flow", .frame = F_MPLS_PW, .level = -1,
	  .tun_level = -1 },
	{ .name = "mpls deeper than MPLS_MAX_DEPTH", .frame = F_MPLS_DEEP, .level = -1,
	  .tun_level = -1, .malformed = true },
	ROW("nested: vxlan in gre (outermost kept)", F_GRE_VXLAN, 2, TUNNEL_GRE, 5, 0),
	ROW("nested: 6in4 in vxlan", F_VXLAN_IPIP, 2, TUNNEL_VXLAN, 42, 0),
	ROW("too deep: ipip three times", F_IPIP3, 2, TUNNEL_IPIP, 0, 0, .too_deep = true),
	PLAIN("udp 4790 without the port added", F_UDP4790, .modes = M_OUTER | M_BOTH),
};

/* A truncated frame is the outer flow (or, for MPLS, the L2 flow); its
 * lengths are made to agree with the cut, so the fault is the
 * encapsulation's and nothing else's. Cuts start after the headers that
 * make the outer flow whole. */
static const struct { int frame; int first_cut; bool l2; } cut_frames[] = {
	{ F_VXLAN4, 2, false }, { F_VXLAN_V6, 2, false }, { F_GENEVE, 2, false },
	{ F_GRE_CKS, 1, false }, { F_GRE_TEB, 1, false }, { F_IPIP, 1, false },
	{ F_SIT, 1, false }, { F_MPLS3, 0, true }, { F_GRE_VXLAN, 1, false },
};

static void make_rows(void)
{
	static char names[160][64];
	struct tb b;
	size_t i;

	for (i = 0; i < sizeof(fixed_rows) / sizeof(fixed_rows[0]); i++)
		rows[n_rows++] = fixed_rows[i];
	for (i = 0; i < sizeof(cut_frames) / sizeof(cut_frames[0]); i++) {
		int k, extra;

		build(&b, cut_frames[i].frame);
		for (k = cut_frames[i].first_cut; k <= b.n_bound; k++) {
			for (extra = 0; extra <= 2; extra += 2) {
				struct row *r = &rows[n_rows];
				size_t at = k < b.n_bound ? b.bound[k] : b.p.len;

				/* the last boundary is the payload: a cut there is a whole frame */
				if (k >= b.n_bound - 1 || at + extra >= b.p.len)
					continue;
				assert_true(n_rows < sizeof(rows) / sizeof(rows[0]));
				for (size_t j = 0; j < sizeof(fixed_rows) / sizeof(fixed_rows[0]); j++)
					if (fixed_rows[j].frame == cut_frames[i].frame)
						snprintf(names[n_rows], sizeof(names[0]), "%s, cut at %zu",
							 fixed_rows[j].name, at + extra);
				*r = (struct row){ .name = names[n_rows], .frame = cut_frames[i].frame,
						   .cut = k + 1, .cut_extra = extra,
						   .level = cut_frames[i].l2 ? -1 : 0,
						   .tun_level = -1, .malformed = true };
				n_rows++;
			}
		}
	}
}

/* ---- Harness ---- */

static struct bpfix *skel;
static int ncpus;
static int mode;		/* TUNNEL_MODE_* of the loaded skeleton */
static __u8 frame_out[PKT_MAX];
static const char *const prog_names[] = { "xdp", "tc ingress", "tc egress" };

static void row_frame(const struct row *r, struct tb *b)
{
	build(b, r->frame);
	if (r->cut) {
		pkt_trunc(&b->p, b->bound[r->cut - 1] + r->cut_extra);
		tb_finish(b);
	}
}

static void key_of_level(const struct tb *b, int lv, struct flow_key *k)
{
	const struct level *l = &b->lv[lv];

	k->ip_version = l->version;
	k->protocol = l->proto;
	k->ether_type = l->version == 4 ? ETH_TYPE_IPV4 : ETH_TYPE_IPV6;
	memcpy(k->src.ip6, l->src, l->version == 4 ? 4 : 16);
	memcpy(k->dst.ip6, l->dst, l->version == 4 ? 4 : 16);
	if (l->proto == PROTO_TCP || l->proto == PROTO_UDP) {
		k->src_port = l->sport;
		k->dst_port = l->dport;
	}
}

/* The tunnels map entry a row's tunnel makes (include/bpfix.h, TUNNELS):
 * the outer pair in word order; returns 1 when the outer source is b. */
static int want_ends(const struct tb *b, const struct row *r, struct tunnel_ends *e)
{
	const struct level *t = &b->lv[r->tun_level];
	union flow_addr s = { 0 }, d = { 0 };
	int rev = 0;

	memcpy(s.ip6, t->src, t->version == 4 ? 4 : 16);
	memcpy(d.ip6, t->dst, t->version == 4 ? 4 : 16);
	for (int i = 0; i < 4; i++) {
		if (s.words[i] != d.words[i]) {
			rev = s.words[i] > d.words[i];
			break;
		}
	}
	memset(e, 0, sizeof(*e));
	e->ip_version = t->version;
	e->a = rev ? d : s;
	e->b = rev ? s : d;
	return rev;
}

/* The flow the row expects (@outer: the wire flow of --tunnels both) and
 * its octets. */
static __u64 want_key(const struct row *r, const struct tb *b, int prog, bool outer,
		      struct flow_key *k)
{
	bool decap = mode != TUNNEL_MODE_OUTER && r->tun_type && !outer;
	int lv = decap ? r->level : 0;

	memset(k, 0, sizeof(*k));
	k->ifindex = 1;
	k->direction = prog == 2 ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS;
	if ((decap && r->level < 0) || (!decap && (r->level < 0 || r->tun_type == TUNNEL_MPLS))) {
		/* MPLS undecoded: the L2 flow of the frame */
		k->ether_type = ETH_TYPE_MPLS;
		memcpy(k->src.mac, mac_a, 6);
		memcpy(k->dst.mac, mac_b, 6);
		return b->p.len - 14;
	}
	key_of_level(b, lv, k);
	if (decap) {
		k->tun_type = r->tun_type;
		k->tun_id = r->tun_id;
		if (r->tun_level >= 0) {
			struct tunnel_ends e;

			/* the pair is the first the emptied tunnels map got */
			k->tun_ref = 1;
			k->tun_reversed = want_ends(b, r, &e);
		}
	}
	return b->p.len - b->lv[lv].off;
}

static bool check(bool cond, const struct row *r, int prog, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		return true;
	print_error("row \"%s\" [%s, mode %d]: ", r->name, prog_names[prog], mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

static bool run_row(const struct row *r, int prog)
{
	struct bpf_program *progs[] = {
		skel->progs.bpfix_xdp, skel->progs.bpfix_tc_ingress, skel->progs.bpfix_tc_egress,
	};
	bool decap = mode != TUNNEL_MODE_OUTER && r->tun_type;
	bool both = decap && mode == TUNNEL_MODE_BOTH;
	bool malformed = r->malformed && mode != TUNNEL_MODE_OUTER;
	struct bpfix_stats got, want = {};
	struct prog_run_result res;
	struct flow_counters c;
	struct flow_key k;
	struct tb b;
	__u64 octets, outer_octets = 0;
	__u32 zero = 0;
	bool ok = true;
	int fd = bpf_map__fd(skel->maps.flow_table_0);
	int err;

	prog_run_clear_map(fd, sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_1), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.tunnels), sizeof(struct tunnel_ends));
	{
		/* and the per-CPU slot that remembers the last pair's ref (the
		 * kernel never deletes a pair; this test does) */
		size_t vs = bpf_map__value_size(skel->maps.tunnel_scratch);
		void *zeros = calloc(ncpus, (vs + 7) & ~(size_t)7);

		if (!zeros || bpf_map_update_elem(bpf_map__fd(skel->maps.tunnel_scratch), &zero,
						  zeros, BPF_ANY)) {
			free(zeros);
			return check(false, r, prog, "cannot reset tunnel_scratch");
		}
		free(zeros);
	}
	if (prog_run_zero_stats(bpf_map__fd(skel->maps.stats), ncpus) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.flow_epoch), &zero, &zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.tunnel_next), &zero, &zero, BPF_ANY))
		return check(false, r, prog, "cannot reset the maps");
	row_frame(r, &b);
	err = prog_run_frame(bpf_program__fd(progs[prog]), b.p.buf, b.p.len, NULL, 0,
			     frame_out, sizeof(frame_out), &res);
	ok &= check(!err, r, prog, "test run: %s", strerror(-err));
	if (err)
		return ok;
	ok &= check(res.retval == (prog ? PROG_RUN_TC_ACT_UNSPEC : PROG_RUN_XDP_PASS), r, prog,
		    "return code %d", res.retval);
	ok &= check(res.unchanged, r, prog, "the frame was changed");

	octets = want_key(r, &b, prog, false, &k);
	err = prog_run_lookup_flow(fd, ncpus, &k, &c);
	ok &= check(!err, r, prog, "flow (level %d, tunnel %u id %u) not in the table",
		    decap ? r->level : 0, k.tun_type, k.tun_id);
	if (!err) {
		ok &= check(c.packets == 1, r, prog, "packets %llu", (unsigned long long)c.packets);
		ok &= check(c.octets == octets, r, prog, "octets %llu, want %llu",
			    (unsigned long long)c.octets, (unsigned long long)octets);
		ok &= check(c.l2_octets == b.p.len, r, prog, "l2_octets %llu, want %zu",
			    (unsigned long long)c.l2_octets, b.p.len);
		ok &= check(!!(c.flags & FLOW_F_MALFORMED) == malformed, r, prog,
			    "flags %#x", c.flags);
	}
	if (both) {
		struct flow_key ok_;

		outer_octets = want_key(r, &b, prog, true, &ok_);
		err = prog_run_lookup_flow(fd, ncpus, &ok_, &c);
		ok &= check(!err, r, prog, "outer flow not in the table");
		if (!err) {
			ok &= check(c.packets == 1 && c.octets == outer_octets &&
				    c.l2_octets == b.p.len && !c.flags, r, prog,
				    "outer flow: packets %llu octets %llu flags %#x",
				    (unsigned long long)c.packets, (unsigned long long)c.octets,
				    c.flags);
		}
	}
	{
		/* the tunnels map: the outer pair, once, under ref 1 */
		bool has_ends = decap && r->tun_level >= 0;
		int tfd = bpf_map__fd(skel->maps.tunnels);
		struct tunnel_ends e;
		__u32 ref = 0;
		unsigned int n = 0;
		struct tunnel_ends tk, tn;
		void *prev = NULL;

		while (!bpf_map_get_next_key(tfd, prev, &tn)) {
			tk = tn;
			prev = &tk;
			n++;
		}
		ok &= check(n == has_ends, r, prog, "%u pairs in the tunnels map", n);
		if (has_ends) {
			want_ends(&b, r, &e);
			ok &= check(!bpf_map_lookup_elem(tfd, &e, &ref) && ref == 1, r, prog,
				    "the outer pair is not in the tunnels map under ref 1 (%u)", ref);
		}
	}
	{
		struct prog_run_table_sum sum;

		prog_run_sum_table(fd, ncpus, &sum);
		ok &= check(sum.flows == 1u + both, r, prog, "%llu flows in the table",
			    (unsigned long long)sum.flows);
	}

	want.packets = 1;
	want.octets = octets;
	want.l2_octets = b.p.len;
	if (k.ip_version == 4)
		want.parsed_ipv4 = 1;
	else if (k.ip_version == 6)
		want.parsed_ipv6 = 1;
	else
		want.parsed_l2 = 1;
	want.malformed_tunnel = malformed;
	want.tunnel_decap = decap;
	want.tunnel_too_deep = decap && r->too_deep;
	want.tunnel_outer_packets = both;
	want.tunnel_outer_octets = outer_octets;
	want.table_flows_0 = 1 + both;
	want.table_packets_0 = 1 + both;
	want.table_octets_0 = octets + outer_octets;
	if (prog_run_read_stats(bpf_map__fd(skel->maps.stats), ncpus, &got))
		return check(false, r, prog, "cannot read stats");
	for (unsigned int i = 0; i < BPFIX_STAT_COUNT; i++)
		ok &= check(prog_run_stat(&got, i) == prog_run_stat(&want, i), r, prog,
			    "stats.%s %llu, want %llu", prog_run_stat_name(i),
			    (unsigned long long)prog_run_stat(&got, i),
			    (unsigned long long)prog_run_stat(&want, i));
	ok &= check(prog_run_identity(&got, NULL, 0), r, prog, "accounting identity");
	return ok;
}

static void test_row(void **state)
{
	const struct row *r = *state;
	unsigned int modes = r->modes ? r->modes : M_ALL;
	bool ok = true;

	if (!(modes & (1u << mode)))
		skip();
	for (int prog = 0; prog < 3; prog++)
		ok &= run_row(r, prog);
	if (!ok)
		fail_msg("row \"%s\" failed (see above)", r->name);
}

static int load(int m)
{
	skel = bpfix__open();
	if (!skel)
		return -errno;
	skel->rodata->tunnel_mode = m;
	skel->rodata->tunnel_vxlan_ports[2] = 4790;
	if (m != TUNNEL_MODE_INNER)
		skel->rodata->tunnel_vxlan_ports[2] = 0;
	if (bpfix__load(skel)) {
		int err = -errno;

		bpfix__destroy(skel);
		skel = NULL;
		return err;
	}
	mode = m;
	return 0;
}

int main(void)
{
	static const char *const group[] = { "test_tunnel inner", "test_tunnel outer",
					     "test_tunnel both" };
	struct CMUnitTest *tests;
	int failed = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "test_tunnel: needs root (BPF_PROG_TEST_RUN); skipped\n");
		return SKIP_EXIT;
	}
	libbpf_set_print(prog_run_libbpf_print);
	ncpus = libbpf_num_possible_cpus();
	prog_run_pin_cpu();
	make_rows();
	tests = calloc(n_rows, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n_rows; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = test_row;
		tests[i].initial_state = &rows[i];
	}
	for (int m = TUNNEL_MODE_INNER; m <= TUNNEL_MODE_BOTH; m++) {
		int err = load(m);

		if (err) {
			/* as root, an object that does not load is a failure */
			fprintf(stderr, "test_tunnel: cannot load bpfix.bpf.o with tunnel_mode %d: "
				"%s (BPFIX_TEST_VERBOSE=1 for libbpf's messages)\n", m, strerror(-err));
			free(tests);
			return 1;
		}
		failed |= _cmocka_run_group_tests(group[m], tests, n_rows, NULL, NULL);
		bpfix__destroy(skel);
		skel = NULL;
	}
	free(tests);
	return failed ? 1 : 0;
}
