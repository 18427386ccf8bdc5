// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bare-minimum flow meter, the yardstick of the hot-path benchmark
 * (tests/bench_prog.c, BENCHMARKS.md section 1): parse Ethernet, at most one
 * 802.1Q tag, IPv4 (options skipped by IHL) or the IPv6 fixed header (no
 * extension headers, no fragments), TCP or UDP ports, then one per-CPU LRU
 * hash lookup and an in-place update of packets/bytes, or an insert.
 *
 * It is deliberately not bpfix: no stats, no epochs, no timestamps, no
 * malformed-packet accounting. Whatever bpfix_xdp costs beyond this program
 * is the price of those features, which is what the benchmark is for.
 * reference_null and reference_clock below are the benchmark's yardsticks
 * for the harness and the clock. Nothing loads this outside the benchmark.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* vmlinux.h carries types, not the uapi macros; the names differ from
 * parse.bpf.h's on purpose, so the two never meet. */
#define REF_ETH_P_IP     0x0800
#define REF_ETH_P_IPV6   0x86DD
#define REF_ETH_P_8021Q  0x8100
#define REF_IPPROTO_TCP  6
#define REF_IPPROTO_UDP  17

#ifndef REF_TABLE_ENTRIES
#define REF_TABLE_ENTRIES 32768		/* flows; the benchmark resizes before load */
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 40 bytes, no implicit padding: the hash covers every byte, so the key is
 * zeroed first. IPv4 addresses sit in the first 4 bytes of src/dst. */
struct ref_key {
	__u8  src[16];
	__u8  dst[16];
	__u16 src_port;		/* network order: nothing here needs host order */
	__u16 dst_port;
	__u16 vlan;		/* TCI as on the wire, 0 if untagged */
	__u8  protocol;
	__u8  ip_version;
};
_Static_assert(sizeof(struct ref_key) == 40, "ref_key has padding");

/* packets first: the benchmark's table drain reads it there, as it does
 * struct flow_counters'. */
struct ref_counters {
	__u64 packets;
	__u64 bytes;		/* frame bytes, as the linear XDP buffer has them */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, REF_TABLE_ENTRIES);
	__type(key, struct ref_key);
	__type(value, struct ref_counters);
} ref_flows SEC(".maps");

SEC("xdp")
int reference_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ref_key key = {};
	struct ref_counters *c;
	struct ethhdr *eth = data;
	void *l4;
	__u16 proto;
	__u64 len = data_end - data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	l4 = eth + 1;

	if (proto == bpf_htons(REF_ETH_P_8021Q)) {
		__be16 *tag = l4;	/* TCI, encapsulated EtherType */

		if ((void *)(tag + 2) > data_end)
			return XDP_PASS;
		key.vlan = tag[0];
		proto = tag[1];
		l4 = tag + 2;
	}

	if (proto == bpf_htons(REF_ETH_P_IP)) {
		struct iphdr *iph = l4;

		if ((void *)(iph + 1) > data_end)
			return XDP_PASS;
		key.ip_version = 4;
		key.protocol = iph->protocol;
		__builtin_memcpy(key.src, &iph->saddr, 4);
		__builtin_memcpy(key.dst, &iph->daddr, 4);
		/* A minimal meter still has to find L4 behind IPv4 options. */
		l4 = (void *)iph + iph->ihl * 4;
	} else if (proto == bpf_htons(REF_ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = l4;

		if ((void *)(ip6h + 1) > data_end)
			return XDP_PASS;
		key.ip_version = 6;
		key.protocol = ip6h->nexthdr;
		__builtin_memcpy(key.src, &ip6h->saddr, 16);
		__builtin_memcpy(key.dst, &ip6h->daddr, 16);
		l4 = ip6h + 1;
	} else {
		return XDP_PASS;
	}

	if (key.protocol == REF_IPPROTO_TCP || key.protocol == REF_IPPROTO_UDP) {
		/* Both headers start with source and destination port. */
		__be16 *ports = l4;

		if ((void *)(ports + 2) > data_end)
			return XDP_PASS;
		key.src_port = ports[0];
		key.dst_port = ports[1];
	}

	c = bpf_map_lookup_elem(&ref_flows, &key);
	if (c) {
		/* Our CPU's slot: no atomics needed. */
		c->packets++;
		c->bytes += len;
	} else {
		struct ref_counters fresh = { .packets = 1, .bytes = len };

		bpf_map_update_elem(&ref_flows, &key, &fresh, BPF_NOEXIST);
	}
	return XDP_PASS;
}

/* Does nothing: its BPF_PROG_TEST_RUN time is the harness's own cost per
 * run (timer reads, bh disable, dispatcher), which the benchmark reports so
 * the reader can subtract it from both sides of a ratio. */
SEC("xdp")
int reference_null(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Reads the clock bpfix stamps every packet with, and nothing else: minus
 * reference_null, the price of one bpf_ktime_get_boot_ns() on this machine.
 * The reference itself keeps no timestamps, so this is the one cost bpfix
 * cannot avoid by being lean; where the clocksource is slow (kvm-clock) it
 * is the largest item of bpfix's hot path (BENCHMARKS.md). */
SEC("xdp")
int reference_clock(struct xdp_md *ctx)
{
	/* A helper call is never optimised away: the result may be dropped. */
	bpf_ktime_get_boot_ns();
	return XDP_PASS;
}
