/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Structures and constants shared by the kernel programs (bpf/) and the agent
 * (user/). This is the one definition of the pinned maps' layout: every
 * struct uses fixed-width types, explicit padding and a size assertion, so a
 * change to the layout is a deliberate act (and a new BPFIX_ABI_VERSION).
 *
 * The kernel side includes this after vmlinux.h, the agent after
 * <linux/types.h>; neither side has its own copy of anything defined here.
 */
#ifndef BPFIX_H
#define BPFIX_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bumped whenever a struct below changes, so an agent can refuse to adopt
 * pinned tables written by a different layout. */
#define BPFIX_ABI_VERSION 4	/* 4: tunnel fields in struct flow_key (60 bytes), the
				 * tunnels map, tunnel stats, duplicate_* stats
				 * (--dedup); 3: struct flowtab_entry in the "flows" map */

/* ---- Tunables (compile-time defaults; the agent resizes maps before load) */

#ifndef FLOW_TABLE_ENTRIES
#define FLOW_TABLE_ENTRIES 32768	/* flows per table (two tables) */
#endif
#ifndef FRAG_TABLE_ENTRIES
#define FRAG_TABLE_ENTRIES 8192		/* datagrams whose first fragment is remembered */
#endif
#ifndef VLAN_MAX_DEPTH
#define VLAN_MAX_DEPTH 2		/* 802.1ad outer + 802.1Q inner */
#endif
#ifndef IPV6_EXT_MAX_CHAIN
#define IPV6_EXT_MAX_CHAIN 6		/* extension headers walked before giving up */
#endif
#ifndef DEDUP_SLOTS_LOG2
#define DEDUP_SLOTS_LOG2 8		/* --dedup: 2^8 recent packets per CPU */
#endif
#ifndef DEDUP_WINDOW_NS
#define DEDUP_WINDOW_NS 10000000ULL	/* --dedup: ns, on the coarse clock (ticks of 1-10 ms) */
#endif
#ifndef TUNNEL_MAX_DEPTH
#define TUNNEL_MAX_DEPTH 2		/* encapsulations taken off one packet */
#endif
#ifndef MPLS_MAX_DEPTH
#define MPLS_MAX_DEPTH 8		/* MPLS label stack entries walked */
#endif
#define TUNNEL_PORTS_MAX 4		/* UDP ports per encapsulation (VXLAN, Geneve) */
#ifndef TUNNEL_TABLE_ENTRIES
#define TUNNEL_TABLE_ENTRIES 4096	/* outer address pairs (the "tunnels" map) */
#endif
#define TUNNEL_REF_MAX (2 * TUNNEL_TABLE_ENTRIES)	/* refs handed out at most */
#define TUNNEL_SCRATCH_BYTES 320	/* per CPU, the parser's decapsulation slot at most */
/* Decoded unless told otherwise (README "Tunnels" argues 8472). */
#define TUNNEL_VXLAN_PORTS_DEFAULT  4789, 8472	/* IANA; Linux's and flannel's default */
#define TUNNEL_GENEVE_PORTS_DEFAULT 6081	/* IANA */
#ifndef PARSE_PULL_LEN
#define PARSE_PULL_LEN 256		/* bytes TC makes linear before parsing */
#endif

/* Number of flow tables the kernel alternates between (see FLOW EPOCHS). */
#define FLOW_TABLES 2

/*
 * FLOW EPOCHS: how the agent drains without losing a packet.
 *
 * The kernel writes flows into table[epoch & 1] (flow_tables is an
 * ARRAY_OF_MAPS holding two LRU_PERCPU_HASH tables, epoch lives in the
 * one-element flow_epoch array). A sweep:
 *   1. agent writes epoch+1 into flow_epoch;
 *   2. agent re-stores the old table's fd into its own flow_tables slot; the
 *      kernel answers any update of a map-in-map with synchronize_rcu(), so
 *      when the syscall returns, every XDP/TC program that could have read the
 *      old epoch (they all run inside an RCU read-side section) has finished;
 *   3. nothing writes the old table any more: the agent drains it whole with
 *      BPF_MAP_LOOKUP_AND_DELETE_BATCH and adds the deltas to its own table.
 * Per epoch slot the kernel also counts the flows it created and the
 * packets/octets it added (bpfix_stats.table_*_E). After the drain, these equal what
 * the agent read out unless the LRU evicted flows; the difference is the
 * exact loss, which the agent reports.
 */

/* Direction of a packet relative to the metered interface. */
#define FLOW_DIR_INGRESS 0
#define FLOW_DIR_EGRESS  1

/* Bits of flow_counters.tcp_syn: what the direction heuristic needs and the
 * OR of the flags cannot tell (a SYN then an ACK looks like a SYN-ACK). */
#define TCP_SYN_SEEN     0x01	/* a SYN without ACK */
#define TCP_SYNACK_SEEN  0x02	/* a SYN with ACK */

/* Bits of flow_counters.flags */
#define FLOW_F_FRAG_UNMATCHED 0x01	/* later fragments whose first never came (agent) */
#define FLOW_F_MALFORMED      0x02	/* a packet of this flow was counted as malformed */
#define FLOW_F_GSO            0x04	/* a GRO/GSO aggregate was counted */

/* flow_key.tun_type: the encapsulation a flow was taken out of. */
#define TUNNEL_NONE   0
#define TUNNEL_VXLAN  1		/* RFC 7348, UDP */
#define TUNNEL_GENEVE 2		/* RFC 8926, UDP */
#define TUNNEL_GRE    3		/* RFC 2784/2890, IP protocol 47 */
#define TUNNEL_IPIP   4		/* IPv4/IPv6 in IPv4/IPv6, IP protocols 4 and 41 */
#define TUNNEL_MPLS   5		/* RFC 3032 label stack after Ethernet */

/* --tunnels: what a decapsulated packet is metered as (the kernel's
 * tunnel_mode, set before load). */
#define TUNNEL_MODE_INNER 0	/* its innermost flow, the tunnel as its properties */
#define TUNNEL_MODE_OUTER 1	/* the flow on the wire, as before tunnels were parsed */
#define TUNNEL_MODE_BOTH  2	/* both: the outer flow counts the outer octets */

/* TCP flag bits as tcpControlBits (RFC 7125) carries them. */
#define TCP_FLAG_FIN 0x001
#define TCP_FLAG_SYN 0x002
#define TCP_FLAG_RST 0x004
#define TCP_FLAG_PSH 0x008
#define TCP_FLAG_ACK 0x010
#define TCP_FLAG_URG 0x020
#define TCP_FLAG_ECE 0x040
#define TCP_FLAG_CWR 0x080
#define TCP_FLAG_NS  0x100

/*
 * Flow key. One layout for IPv4, IPv6 and non-IP (L2) flows:
 *  - ip_version 4: addresses in addr.ip4 (first 4 bytes, network order), rest 0
 *  - ip_version 6: addresses in addr.ip6
 *  - ip_version 0: a non-IP frame, or an IP packet whose IP header could not
 *    be parsed (counted as malformed): addresses are the MACs in addr.mac,
 *    ether_type the EtherType after the VLAN tags, protocol and ports 0.
 * ICMP and ICMPv6 carry type<<8|code in dst_port and 0 in src_port, as
 * NetFlow and IPFIX collectors expect.
 * frag_held 1 marks a held key (FRAGMENTS IN ANY ORDER below): no real
 * flow has it, so the two can never meet in a table.
 * A flow taken out of a tunnel (tun_type not TUNNEL_NONE) keeps the
 * interface, direction and VLANs of the frame and the fields of its inner
 * headers; the tun_ fields say which tunnel: the outermost one, as seen on
 * the metered link: its type, its VNI, GRE key or top MPLS label in tun_id,
 * and its outer addresses by reference (TUNNELS below: tun_ref, and
 * tun_reversed for which of the pair is the outer source; both 0 for MPLS,
 * which has none). The same inner flow in another tunnel is another flow.
 * Not tunnelled: all tun_ fields 0.
 * The fields are ordered so there is no implicit padding; the kernel
 * zero-initialises every key before filling it, and the hash covers all
 * 60 bytes. Why the outer addresses are not in the key: the kernel's
 * jhash takes 12 bytes a round, and 60 bytes take the rounds 52 took; the
 * 92 bytes of the addresses in place cost every packet, tunnelled or not,
 * ~20 ns (BENCHMARKS.md section 1).
 */
union flow_addr {
	__u8  ip6[16];
	__u32 ip4;		/* network byte order */
	__u8  mac[6];
	__u32 words[4];
};

struct flow_key {
	__u32 ifindex;		/* interface the packet was metered on */
	__u8  direction;	/* FLOW_DIR_* */
	__u8  ip_version;	/* 4, 6, or 0 for an L2 flow */
	__u8  protocol;		/* IP protocol, 0 for L2 flows */
	__u8  frag_held;	/* 1: a held key, ports are a fragment id */
	__u16 vlan_outer;	/* VLAN id (12 bits) of the outer tag, 0 if untagged */
	__u16 vlan_inner;	/* VLAN id of the inner tag (QinQ), 0 if none */
	__u16 ether_type;	/* host order: 0x0800, 0x86dd, 0x0806, ... */
	__u16 src_port;		/* host order */
	__u16 dst_port;		/* host order; ICMP: type << 8 | code */
	__u8  tun_type;		/* TUNNEL_*, 0: not tunnelled (ABI 3's pad) */
	__u8  tun_reversed;	/* 1: the outer source is the tunnel's ends.b, else ends.a */
	union flow_addr src;
	union flow_addr dst;
	__u32 tun_id;		/* VNI (24 bits), GRE key, top MPLS label (20 bits); 0 if none */
	__u32 tun_ref;		/* the outer address pair (TUNNELS); 0: none */
};
_Static_assert(sizeof(struct flow_key) == 60, "flow_key layout changed");

/*
 * TUNNELS. The outer address pairs of the tunnels the kernel took flows
 * out of, each once, in the "tunnels" map: key struct tunnel_ends (the two
 * addresses in a fixed order, so both directions are one pair), value its
 * ref (1..TUNNEL_REF_MAX), handed out from the one-element "tunnel_next"
 * array. Entries are never deleted: a ref names one pair for the life of
 * the pins, so a flow's key is exact and the agent reads the pair once.
 * A pair that finds the map full (TUNNEL_TABLE_ENTRIES) is not taken out
 * of its tunnel: its packets are the outer flow, counted tunnel_table_full.
 */
struct tunnel_ends {
	__u8  ip_version;	/* 4 or 6 */
	__u8  pad0[3];
	union flow_addr a;	/* the pair, a before b by 32-bit words */
	union flow_addr b;
};
_Static_assert(sizeof(struct tunnel_ends) == 36, "tunnel_ends layout changed");

/*
 * Per-CPU counters of one flow during one epoch. Each CPU writes only its
 * own slot, without atomics; the agent merges the slots (sum the counters,
 * min of first_ns and minima, max of last_ns and maxima, OR of the flags,
 * the first-packet fields from the slot with the earliest first_ns).
 * 64 bytes: on a 128-CPU node that is 8 KiB per flow, so keep it so.
 */
struct flow_counters {
	__u64 packets;		/* wire packets (a GSO aggregate counts gso_segs) */
	__u64 octets;		/* sum of IP total length (L2 payload for L2 flows) */
	__u64 l2_octets;	/* sum of frame length, Ethernet header included, FCS not */
	__u64 first_ns;		/* bpf_ktime_get_ns() of the first packet (precise) */
	__u64 last_ns;		/* bpf_ktime_get_coarse_ns() of the last, >= first_ns */
	__u32 flow_label;	/* IPv6 flow label of the first packet */
	__u32 fragments;	/* packets that were IP fragments */
	__u16 min_ip_len;	/* minimum IP total length */
	__u16 max_ip_len;
	__u16 tcp_flags;	/* OR of TCP_FLAG_* (the header's bits only) */
	__u8  min_ttl;		/* TTL or hop limit */
	__u8  max_ttl;
	__u8  tos;		/* TOS / traffic class byte of the first packet */
	__u8  tcp_syn;		/* TCP_SYN_SEEN | TCP_SYNACK_SEEN */
	__u8  flags;		/* FLOW_F_* */
	__u8  pad0;
};
_Static_assert(sizeof(struct flow_counters) == 64, "flow_counters layout changed");

/*
 * The agent's flow table (user/flowtab.h): where drained deltas accumulate
 * until a flow's record is due. Its entries are the pinned array "flows"
 * (BPF_F_MMAPABLE, one element per --flows, key = index), which the agent
 * mmaps as its table and a successor adopts (user/journal.h), and which
 * `bpftool map dump pinned PIN/flows` shows by field name: an entry with
 * used 0 is free, whatever else it holds. The kernel programs never touch
 * it; it is declared in bpf/bpfix.bpf.c for its BTF.
 *
 * An mmapable array's elements are 8-byte aligned, at a stride of the value
 * size rounded up to 8: both structs are multiples of 8 with every pad
 * explicit, so the map's stride is the C array's. The fields are in the
 * order of ABI 2's agent-private struct (pads where the compiler had put
 * them); since ABI 4 its keys are longer (tunnel fields), so a journal of
 * before is of another entry layout (user/journal.h).
 */

/* One direction of a flow, merged over CPUs and over the sweeps since the
 * last record (delta semantics: an active-timeout record carries what came
 * since the previous record of the same flow). */
struct flow_side {
	__u64 packets;
	__u64 octets;		/* IP total length (L2 payload for L2 flows) */
	__u64 l2_octets;	/* frame octets */
	__u64 first_ms;		/* wall clock, ms since 1970; 0 when packets == 0 */
	__u64 last_ms;
	__u64 first_ns;		/* kernel (monotonic) ns of the first packet: orders
				 * two directions that began in the same ms */
	__u32 ifindex;		/* interface this direction was metered on */
	__u32 fragments;
	__u32 flow_label;	/* IPv6 flow label of the first packet */
	__u16 min_ip_len;
	__u16 max_ip_len;
	__u16 tcp_flags;	/* TCP_FLAG_* OR'ed, header bits only (RFC 7125) */
	__u8  direction;	/* FLOW_DIR_* */
	__u8  min_ttl;
	__u8  max_ttl;
	__u8  tos;		/* of the first packet */
	__u8  tcp_syn;		/* TCP_SYN_SEEN | TCP_SYNACK_SEEN */
	__u8  flags;		/* FLOW_F_* */
};
_Static_assert(sizeof(struct flow_side) == 72, "flow_side changed: bump BPFIX_ABI_VERSION");
_Static_assert(__builtin_offsetof(struct flow_side, flags) == 71, "flow_side has a hole");

struct flowtab_entry {
	struct flow_key canon;		/* lookup key (both directions map here) */
	struct flow_key key[2];		/* first exact key seen per direction */
	__u32 pad0;
	struct flow_side side[2];	/* deltas since the last record */
	__u64 last_ms;			/* last packet of either side */
	__u64 end_seen_ms;		/* sweep time the end (FIN both ways, RST) was seen */
	__u64 fin_ms;			/* sweep time of the first FIN or RST, either way */
	__u32 hnext;			/* bucket chain: index + 1, 0 ends (rebuilt on adoption) */
	__u8  used;			/* 0: a free entry */
	__u8  seen[2];			/* side ever had packets */
	__u8  fin[2];			/* FIN seen from side */
	__u8  rst;
	__u8  end_check;		/* a FIN or RST came: decide at expiry */
	__s8  initiator;		/* -1 until the first record */
	__u8  rule;			/* enum initiator_rule that chose it */
	__u8  pad1[3];
};
_Static_assert(sizeof(struct flowtab_entry) == 368, "flowtab_entry changed: bump BPFIX_ABI_VERSION");
_Static_assert(__builtin_offsetof(struct flowtab_entry, pad0) == 3 * sizeof(struct flow_key) &&
	       __builtin_offsetof(struct flowtab_entry, side) ==
	       __builtin_offsetof(struct flowtab_entry, pad0) + 4 &&
	       __builtin_offsetof(struct flowtab_entry, last_ms) ==
	       __builtin_offsetof(struct flowtab_entry, side) + 2 * sizeof(struct flow_side) &&
	       __builtin_offsetof(struct flowtab_entry, hnext) ==
	       __builtin_offsetof(struct flowtab_entry, last_ms) + 24 &&
	       __builtin_offsetof(struct flowtab_entry, pad1) ==
	       __builtin_offsetof(struct flowtab_entry, hnext) + 13,
	       "flowtab_entry has a hole");
_Static_assert(sizeof(struct flowtab_entry) % 8 == 0, "an mmapable array's stride");

/* Fragment table: first fragment's ports, keyed like IP reassembly:
 * addresses, identification and, for IPv4 (RFC 791), protocol. IPv6
 * (RFC 8200) keys without it: a later fragment's Next Header may name an
 * extension header, so frag_key.protocol is 0 and the upper-layer protocol
 * travels in frag_ports. */
struct frag_key {
	union flow_addr src;
	union flow_addr dst;
	__u32 id;		/* IPv4 id (16 bits) or IPv6 fragment id, host order */
	__u8  ip_version;
	__u8  protocol;
	__u16 pad0;
};
_Static_assert(sizeof(struct frag_key) == 40, "frag_key layout changed");

struct frag_ports {
	__u16 src_port;
	__u16 dst_port;
	__u8  protocol;		/* upper-layer protocol (IPv6: after the extension headers) */
	__u8  pad0[3];
};
_Static_assert(sizeof(struct frag_ports) == 8, "frag_ports layout changed");

/*
 * FRAGMENTS IN ANY ORDER. A later fragment whose first fragment is not in
 * frag_table yet is metered, like any packet, into the epoch's flow table,
 * under a held key: its own key (protocol as its header names it) with
 * frag_held 1 and the fragment identification in place of the ports. The
 * kernel keeps nothing else, so the epochs' exactness holds for it as for
 * every flow. The agent, once it has drained a held key, looks its datagram
 * up in frag_table (frag_key_of_held) at each sweep; when the first fragment
 * has come, the held counts move to the datagram's flow. One still
 * unresolved at its idle timeout is exported with ports 0 and
 * FLOW_F_FRAG_UNMATCHED.
 */
#ifdef __VMLINUX_H__
#define BPFIX_SHARED static __always_inline
#else
#define BPFIX_SHARED static inline
#endif

/* The reassembly key of a datagram whose fragment has flow key @k. */
BPFIX_SHARED void frag_key_of(const struct flow_key *k, __u32 id, struct frag_key *fk)
{
	__builtin_memset(fk, 0, sizeof(*fk));
	fk->src = k->src;
	fk->dst = k->dst;
	fk->id = id;
	fk->ip_version = k->ip_version;
	fk->protocol = k->ip_version == 4 ? k->protocol : 0;
}

/* Make @k the held key of fragment id @id. */
BPFIX_SHARED void flow_key_hold(struct flow_key *k, __u32 id)
{
	k->frag_held = 1;
	k->src_port = (__u16)(id >> 16);
	k->dst_port = (__u16)id;
}

/* The reassembly key of held key @k. */
BPFIX_SHARED void frag_key_of_held(const struct flow_key *k, struct frag_key *fk)
{
	frag_key_of(k, (__u32)k->src_port << 16 | k->dst_port, fk);
}

/*
 * ONE PACKET, ONE COUNT (--dedup). A packet that crosses several metered
 * interfaces of one node (pod veth, bridge, NIC) is metered by the first
 * hook that sees it; the later ones count it in duplicate_packets and
 * leave it out of every flow. "The same packet" is the same fingerprint
 * within DEDUP_WINDOW_NS of its first sighting, on the same CPU: the first
 * DEDUP_FP_BYTES of the IP datagram (zero past its end), that is the IP
 * header (IPv4 options included) and what follows it: ports, TCP seq, ack,
 * flags, window, options; UDP length and payload; ICMP id, sequence.
 * Masked, as a forwarding hop may rewrite them: TTL / hop limit, the IPv4
 * header checksum, ECN (a qdisc may mark CE between hops), and the L4
 * checksum (a CHECKSUM_PARTIAL skb carries only the pseudo-header sum there
 * until a device or skb_checksum_help() completes it). MACs and VLAN tags
 * are not part of it.
 *
 * The recent fingerprints are a direct-mapped cache in a per-CPU array
 * (dedup_recent, 2^DEDUP_SLOTS_LOG2 slots indexed by a hash of the
 * fingerprint): no lock, no allocation, one slot written per packet. A
 * collision only forgets the older packet (it is then counted again, as
 * without --dedup), it never merges two different fingerprints.
 */
#define DEDUP_FP_BYTES 72	/* IPv6 header + 32, IPv4 header + 52 */

struct dedup_entry {
	__u64 seen_ns;		/* coarse monotonic time of the first sighting */
	__u32 ifindex;		/* where it was metered (for bpftool) */
	__u32 pad0;
	__u64 fp[DEDUP_FP_BYTES / 8];	/* first bytes of the datagram, masked */
};
_Static_assert(sizeof(struct dedup_entry) == 88, "dedup_entry layout changed");

/*
 * Kernel statistics: one per-CPU element of struct bpfix_stats, so a packet
 * costs one map lookup for all of them and `bpftool map dump` names every
 * counter. BPFIX_STATS is the single list: the struct, the agent's names and
 * the documentation below all come from it. X(name, description).
 *
 * The accounting identity the tests and the agent rely on, over all CPUs:
 *
 *   packets + tunnel_outer_packets
 *           = sum(table_packets_E) + insert_failed_packets + not_metered_packets
 *   octets  + tunnel_outer_octets
 *           = sum(table_octets_E)  + insert_failed_octets  + not_metered_octets
 *
 * (a tunnelled packet in --tunnels both is metered twice: packets counts it
 * once, as its inner flow, tunnel_outer_packets the second time).
 *
 * Duplicates (--dedup) are in none of these: packets counts each packet
 * once, where it was metered, and duplicate_packets its later sightings.
 *
 * "Malformed" packets are still metered with the fields parsed before the
 * fault (an IP packet whose IP header cannot be parsed becomes an L2 flow,
 * one whose L4 header cannot be parsed keeps ports 0); only frames shorter
 * than an Ethernet header, or seen while no table is installed, are not.
 */
#define BPFIX_STATS(X) \
	X(packets,                "wire packets seen (a GSO aggregate counts gso_segs)") \
	X(octets,                 "their octets, as flow_counters.octets") \
	X(l2_octets,              "their frame octets") \
	X(gso_aggregates,         "TC skbs that stood for more than one wire packet") \
	X(parsed_ipv4,            "packets metered as IPv4 flows") \
	X(parsed_ipv6,            "packets metered as IPv6 flows") \
	X(parsed_l2,              "packets metered as L2 (MAC/EtherType) flows") \
	X(malformed_eth,          "shorter than an Ethernet header: not metered") \
	X(malformed_vlan,         "truncated VLAN tag: L2 flow") \
	X(malformed_vlan_depth,   "more than VLAN_MAX_DEPTH tags: L2 flow") \
	X(malformed_ipv4_trunc,   "IPv4 header truncated: L2 flow") \
	X(malformed_ipv4_ihl,     "IHL below 5 or options beyond the frame: L2 flow") \
	X(malformed_ipv4_len,     "total length below the header or beyond the frame") \
	X(malformed_ip_version,   "IP version disagrees with the EtherType: L2 flow") \
	X(malformed_ipv6_trunc,   "IPv6 header truncated: L2 flow") \
	X(malformed_ipv6_ext_trunc, "IPv6 extension header truncated: ports 0") \
	X(malformed_ipv6_ext_chain, "more than IPV6_EXT_MAX_CHAIN extension headers: ports 0") \
	X(malformed_ipv6_len,     "IPv6 payload length beyond the frame") \
	X(malformed_l4_trunc,     "TCP/UDP/SCTP/ICMP header truncated: ports 0") \
	X(malformed_tcp_doff,     "TCP data offset below 5") \
	X(malformed_tunnel,       "encapsulation or inner headers truncated or malformed: outer flow") \
	X(tunnel_decap,           "packets metered as the flow inside a tunnel") \
	X(tunnel_table_full,      "tunnelled packets whose outer pair found the tunnels map full: outer flow") \
	X(tunnel_too_deep,        "more than TUNNEL_MAX_DEPTH encapsulations: the innermost taken off is metered") \
	X(tunnel_outer_packets,   "--tunnels both: outer flows' packets metered beside the inner") \
	X(tunnel_outer_octets,    "their octets (the outer IP total length)") \
	X(frag_first,             "first fragments whose ports were remembered") \
	X(frag_joined,            "later fragments placed in their first fragment's flow") \
	X(frag_held,              "later fragments before their first: metered under a held key") \
	X(frag_table_failed,      "first fragments that could not be remembered") \
	X(table_flows_0,          "flows created in flow table 0") \
	X(table_flows_1,          "flows created in flow table 1") \
	X(table_packets_0,        "packets added to flow table 0") \
	X(table_packets_1,        "packets added to flow table 1") \
	X(table_octets_0,         "octets added to flow table 0") \
	X(table_octets_1,         "octets added to flow table 1") \
	X(insert_race,            "another CPU created the flow first (not a loss)") \
	X(insert_failed,          "new flows that could not be inserted") \
	X(insert_failed_packets,  "packets of those flows (lost)") \
	X(insert_failed_octets,   "octets of those flows (lost)") \
	X(not_metered_packets,    "packets no flow could be keyed for (lost)") \
	X(not_metered_octets,     "octets of those packets (lost)") \
	X(no_table,               "packets seen while no flow table was installed") \
	X(duplicate_packets,      "--dedup: packets already metered on another interface (not again)") \
	X(duplicate_octets,       "their octets")

#define BPFIX_STAT_FIELD(name, doc) __u64 name;
struct bpfix_stats {
	BPFIX_STATS(BPFIX_STAT_FIELD)
};
#undef BPFIX_STAT_FIELD

#define BPFIX_STAT_COUNT (sizeof(struct bpfix_stats) / sizeof(__u64))
_Static_assert(sizeof(struct bpfix_stats) == 45 * sizeof(__u64),
	       "bpfix_stats changed: bump BPFIX_ABI_VERSION");
/* The kernel indexes the per-table counters by epoch slot. */
_Static_assert(__builtin_offsetof(struct bpfix_stats, table_flows_1) ==
	       __builtin_offsetof(struct bpfix_stats, table_flows_0) + 8, "table_flows");
_Static_assert(__builtin_offsetof(struct bpfix_stats, table_packets_1) ==
	       __builtin_offsetof(struct bpfix_stats, table_packets_0) + 8, "table_packets");
_Static_assert(__builtin_offsetof(struct bpfix_stats, table_octets_1) ==
	       __builtin_offsetof(struct bpfix_stats, table_octets_0) + 8, "table_octets");
_Static_assert(FLOW_TABLES == 2, "one table_*_N stat per flow table");

#endif /* BPFIX_H */
