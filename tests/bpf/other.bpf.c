// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Another owner's programs, for tests/ns/test_coexist.sh: what a CNI puts
 * on the hooks bpfix shares. Each counts what it sees (seen[0]) and gives
 * its verdict: pass (TC_ACT_OK, which ends a TCX chain as it ends
 * legacy tc), drop, or redirect to the ifindex in redirect_to[0] (out of
 * that interface). The XDP ones do the same for a dispatcher's slot.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_OK_   0
#define TC_ACT_SHOT_ 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} redirect_to SEC(".maps");

static __always_inline void count(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&seen, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u32 target(void)
{
	__u32 zero = 0, *ifindex = bpf_map_lookup_elem(&redirect_to, &zero);

	return ifindex ? *ifindex : 0;
}

SEC("tc")
int other_tc_pass(struct __sk_buff *skb)
{
	count();
	return TC_ACT_OK_;
}

SEC("tc")
int other_tc_drop(struct __sk_buff *skb)
{
	count();
	return TC_ACT_SHOT_;
}

SEC("tc")
int other_tc_redir(struct __sk_buff *skb)
{
	count();
	return bpf_redirect(target(), 0);
}

SEC("xdp")
int other_xdp_pass(struct xdp_md *ctx)
{
	count();
	return XDP_PASS;
}

SEC("xdp")
int other_xdp_drop(struct xdp_md *ctx)
{
	count();
	return XDP_DROP;
}
