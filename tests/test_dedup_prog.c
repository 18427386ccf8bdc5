// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --dedup through BPF_PROG_TEST_RUN (include/bpfix.h, ONE PACKET, ONE
 * COUNT). Each row is a short story of sightings: a frame, the program
 * that sees it (XDP, TC ingress, TC egress), the interface it is seen on,
 * and a pause before it. The row states how many packets were metered and
 * on which interface, and how many were counted as duplicates; every other
 * stat must stay 0, as in tests/test_prog.c, and the accounting identity
 * must hold. Rows run against an object loaded with --dedup on, or, where
 * a row says so, off (the same story counted twice, so the rows can fail).
 *
 * Two interfaces: the test unshares a network namespace and makes a veth
 * pair beside its loopback, so a test run names lo or one veth by ifindex
 * and nothing outside the process sees either (the namespace goes with it).
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#define DUMMY "bpfixdd0"

#define XDP   0
#define TC_IN 1
#define TC_EG 2

#define IF_LO    0	/* loopback */
#define IF_DUMMY 1	/* one end of a veth pair */

#define MAX_SIGHTINGS 4

/* What a sighting changes in the frame, as a forwarding hop would (or
 * would not). */
#define V_TTL      0x001	/* TTL / hop limit one less, IPv4 header checksum changed */
#define V_MAC      0x002	/* other MACs */
#define V_VLAN     0x004	/* an 802.1Q tag in the data */
#define V_ECN      0x008	/* CE marked */
#define V_L4CSUM   0x010	/* the L4 checksum filled in */
#define V_PAYLOAD  0x020	/* one payload byte differs: another packet */
#define V_IPID     0x040	/* another IPv4 id: another packet */
#define V_LABEL    0x080	/* another IPv6 flow label: another packet */
#define V_DSCP     0x100	/* another DSCP: another packet */
#define V_PAD      0x200	/* 40 bytes after the datagram (Ethernet padding, junk) */
#define V_LATE     0x400	/* a payload byte past the fingerprint differs */

static const __u8 mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const __u8 mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const __u8 mac_c[6] = { 0x02, 0, 0, 0, 0, 0x0c };

static void eth(struct pkt *p, int v, __u16 type)
{
	pkt_init(p);
	if (v & V_VLAN) {
		pkt_eth(p, mac_b, mac_a, ETH_TYPE_8021Q);
		pkt_vlan(p, 42, type);
	} else {
		pkt_eth(p, v & V_MAC ? mac_c : mac_b, v & V_MAC ? mac_b : mac_a, type);
	}
}

static void ip4(struct pkt *p, int v, __u8 proto)
{
	struct pkt_ip4 ip = {
		.src = { 10, 0, 0, 1 }, .dst = { 192, 168, 1, 2 }, .proto = proto,
		.ttl = v & V_TTL ? 63 : 64, .id = v & V_IPID ? 0x1235 : 0x1234,
		.tos = (v & V_DSCP ? 0x20 : 0) | (v & V_ECN ? 0x03 : 0x02),
	};

	pkt_ipv4(p, &ip);
	if (v & V_TTL)
		pkt_set16(p, p->l3_off + 10, 0xbeef);
}

static void ip6(struct pkt *p, int v, __u8 next)
{
	struct pkt_ip6 ip = {
		.src = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		.dst = { 0x20, 0x01, 0x0d, 0xb8, [14] = 1, [15] = 2 },
		.nexthdr = next, .hop_limit = v & V_TTL ? 63 : 64,
		.tclass = (v & V_DSCP ? 0x20 : 0) | (v & V_ECN ? 0x03 : 0x02),
		.flow_label = v & V_LABEL ? 0x54321 : 0x12345,
	};

	pkt_ipv6(p, &ip);
}

static void payload(struct pkt *p, int v, size_t n)
{
	size_t off = p->len;

	pkt_payload(p, n);
	if (v & V_PAYLOAD)
		p->buf[off + n - 1] ^= 0xff;
}

/* Bytes after the datagram that are not part of it: its IP length stays. */
static void pad(struct pkt *p, int v)
{
	if (v & V_PAD)
		memset(pkt_put(p, 40), 0xaa, 40);
}

/* IPv4 TCP ACK|PSH with 10 bytes of data: ip_len 50 (62 behind a tag). */
static void f_tcp4(struct pkt *p, int v)
{
	size_t l4;

	eth(p, v, ETH_TYPE_IPV4);
	ip4(p, v, PROTO_TCP);
	l4 = p->len;
	pkt_tcp(p, 40000, 80, TCP_FLAG_ACK | TCP_FLAG_PSH, 0);
	payload(p, v, 10);
	if (v & V_L4CSUM)
		pkt_set16(p, l4 + 16, 0xcafe);
	pkt_finish(p);
	pad(p, v);
}

/* IPv4 UDP with 400 bytes of data: ip_len 428, a frame long enough for
 * the programs to read the fingerprint from the packet directly. */
static void f_udp4_long(struct pkt *p, int v)
{
	size_t l4;

	eth(p, v, ETH_TYPE_IPV4);
	ip4(p, v, PROTO_UDP);
	l4 = p->len;
	pkt_udp(p, 5353, 53);
	payload(p, v & ~V_PAYLOAD, 400);
	if (v & V_PAYLOAD)
		p->buf[l4 + 8 + 40] ^= 0xff;	/* byte 68 of the datagram */
	if (v & V_LATE)
		p->buf[l4 + 8 + 44] ^= 0xff;	/* byte 72: past the fingerprint */
	pkt_finish(p);
	if (v & V_L4CSUM)
		pkt_set16(p, l4 + 6, 0xcafe);
	pad(p, v);
}

/* IPv4 UDP with 40 bytes of data: ip_len 68. */
static void f_udp4(struct pkt *p, int v)
{
	eth(p, v, ETH_TYPE_IPV4);
	ip4(p, v, PROTO_UDP);
	pkt_udp(p, 5353, 53);
	payload(p, v & ~V_PAYLOAD, 40);
	if (v & V_PAYLOAD)
		p->buf[p->len - 40 + 10] ^= 0xff;	/* inside the window */
	pkt_finish(p);
}

/* IPv6 UDP with 20 bytes of data: ip_len 68. */
static void f_udp6(struct pkt *p, int v)
{
	size_t l4;

	eth(p, v, ETH_TYPE_IPV6);
	ip6(p, v, PROTO_UDP);
	l4 = p->len;
	pkt_udp(p, 5353, 53);
	payload(p, v, 20);
	pkt_finish(p);
	if (v & V_L4CSUM)
		pkt_set16(p, l4 + 6, 0xcafe);
}

/* ARP: not IP, so never a duplicate. */
static void f_arp(struct pkt *p, int v)
{
	static const __u8 spa[4] = { 10, 0, 0, 1 }, tpa[4] = { 10, 0, 0, 2 };

	eth(p, v, ETH_TYPE_ARP);
	pkt_arp(p, mac_a, spa, tpa);
	pkt_finish(p);
}

struct sighting {
	void (*build)(struct pkt *p, int v);	/* NULL ends the row */
	int v;					/* V_* */
	int prog;				/* XDP, TC_IN, TC_EG */
	int iface;				/* IF_LO, IF_DUMMY */
	unsigned int pause_ms;			/* before this sighting */
	__u32 gso_segs, gso_size;		/* TC: a GRO/GSO aggregate */
};

struct row {
	const char *name;
	int dedup_off;				/* run against the object without --dedup */
	struct sighting s[MAX_SIGHTINGS];
	__u64 metered[2];			/* packets in flows of IF_LO, IF_DUMMY */
	__u64 duplicates;			/* stats.duplicate_packets */
	__u64 ip_len;				/* octets of every packet of the row */
	unsigned int ipv6;			/* parsed_ipv6 rather than parsed_ipv4 */
	unsigned int l2;			/* parsed_l2 */
};

/* Longer than DEDUP_WINDOW_NS plus two ticks of the coarse clock. */
#define OUTSIDE_MS (DEDUP_WINDOW_NS / 1000000 + 30)

static struct row rows[] = {
	{
		.name = "same frame, two interfaces (tc egress, tc ingress): once",
		.s = { { f_tcp4, 0, TC_EG, IF_DUMMY }, { f_tcp4, 0, TC_IN, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 1, .ip_len = 50,
	},
	{
		.name = "same frame without --dedup: twice",
		.dedup_off = 1,
		.s = { { f_tcp4, 0, TC_EG, IF_DUMMY }, { f_tcp4, 0, TC_IN, IF_LO } },
		.metered = { 1, 1 }, .ip_len = 50,
	},
	{
		.name = "forwarded: TTL, IP checksum and MACs changed: once",
		.s = { { f_tcp4, 0, TC_IN, IF_LO }, { f_tcp4, V_TTL | V_MAC, TC_EG, IF_DUMMY } },
		.metered = { 1, 0 }, .duplicates = 1, .ip_len = 50,
	},
	{
		.name = "tagged on one hop, untagged on the next, CE marked: once",
		.s = { { f_tcp4, V_VLAN, TC_IN, IF_DUMMY }, { f_tcp4, V_ECN, TC_EG, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 1, .ip_len = 50,
	},
	{
		.name = "L4 checksum filled in between hops: once",
		.s = { { f_tcp4, 0, TC_EG, IF_LO }, { f_tcp4, V_L4CSUM, TC_IN, IF_DUMMY } },
		.metered = { 1, 0 }, .duplicates = 1, .ip_len = 50,
	},
	{
		.name = "veth, bridge, NIC: three sightings, once",
		.s = { { f_tcp4, 0, TC_IN, IF_DUMMY }, { f_tcp4, V_MAC, TC_EG, IF_LO },
		       { f_tcp4, V_TTL | V_MAC, TC_EG, IF_DUMMY } },
		.metered = { 0, 1 }, .duplicates = 2, .ip_len = 50,
	},
	{
		.name = "xdp first, then tc: once",
		.s = { { f_udp4, 0, XDP, IF_DUMMY }, { f_udp4, V_TTL, TC_EG, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 1, .ip_len = 68,
	},
	{
		.name = "different payload: twice",
		.s = { { f_udp4, 0, TC_IN, IF_DUMMY }, { f_udp4, V_PAYLOAD, TC_EG, IF_LO } },
		.metered = { 1, 1 }, .ip_len = 68,
	},
	{
		.name = "different IPv4 id: twice",
		.s = { { f_tcp4, 0, TC_IN, IF_DUMMY }, { f_tcp4, V_IPID, TC_EG, IF_LO } },
		.metered = { 1, 1 }, .ip_len = 50,
	},
	{
		.name = "different DSCP: twice",
		.s = { { f_tcp4, 0, TC_IN, IF_DUMMY }, { f_tcp4, V_DSCP, TC_EG, IF_LO } },
		.metered = { 1, 1 }, .ip_len = 50,
	},
	{
		/* 2 wire packets of 45 octets: 50 + one more 40-byte header */
		.name = "gso aggregate seen on two interfaces: its segments once",
		.s = { { f_tcp4, 0, TC_EG, IF_DUMMY, 0, 2, 5 }, { f_tcp4, 0, TC_IN, IF_LO, 0, 2, 5 } },
		.metered = { 0, 2 }, .duplicates = 2, .ip_len = 45,
	},
	{
		.name = "long frame (read directly), forwarded: TTL, MACs, checksums changed: once",
		.s = { { f_udp4_long, 0, TC_IN, IF_DUMMY },
		       { f_udp4_long, V_TTL | V_MAC | V_L4CSUM | V_ECN, TC_EG, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 1, .ip_len = 428,
	},
	{
		.name = "long frame, a payload byte inside the fingerprint differs: twice",
		.s = { { f_udp4_long, 0, XDP, IF_DUMMY }, { f_udp4_long, V_PAYLOAD, TC_EG, IF_LO } },
		.metered = { 1, 1 }, .ip_len = 428,
	},
	{
		/* A limit, stated so a change shows. */
		.name = "long frame, a payload byte past the fingerprint differs: once",
		.s = { { f_udp4_long, 0, XDP, IF_DUMMY }, { f_udp4_long, V_LATE, TC_EG, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 1, .ip_len = 428,
	},
	{
		.name = "padded after the datagram on one hop (read directly), not on the next: once",
		.s = { { f_tcp4, V_PAD, TC_IN, IF_DUMMY }, { f_tcp4, 0, TC_EG, IF_LO },
		       { f_tcp4, V_PAD | V_TTL, XDP, IF_LO } },
		.metered = { 0, 1 }, .duplicates = 2, .ip_len = 50,
	},
	{
		.name = "outside the window: twice",
		.s = { { f_tcp4, 0, TC_IN, IF_DUMMY }, { f_tcp4, 0, TC_EG, IF_LO, OUTSIDE_MS } },
		.metered = { 1, 1 }, .ip_len = 50,
	},
	{
		.name = "ipv6 forwarded: hop limit, ECN, L4 checksum changed: once",
		.s = { { f_udp6, 0, TC_EG, IF_LO },
		       { f_udp6, V_TTL | V_ECN | V_L4CSUM | V_MAC, TC_IN, IF_DUMMY } },
		.metered = { 1, 0 }, .duplicates = 1, .ip_len = 68, .ipv6 = 1,
	},
	{
		.name = "ipv6 different flow label: twice",
		.s = { { f_udp6, 0, TC_EG, IF_LO }, { f_udp6, V_LABEL, TC_IN, IF_DUMMY } },
		.metered = { 1, 1 }, .ip_len = 68, .ipv6 = 1,
	},
	{
		.name = "ipv6 different payload: twice",
		.s = { { f_udp6, 0, XDP, IF_LO }, { f_udp6, V_PAYLOAD, TC_IN, IF_DUMMY } },
		.metered = { 1, 1 }, .ip_len = 68, .ipv6 = 1,
	},
	{
		/* A limit, stated so a change shows: two identical packets
		 * inside the window are one. */
		.name = "identical packet twice on one interface inside the window: once",
		.s = { { f_udp4, 0, TC_IN, IF_LO }, { f_udp4, 0, TC_IN, IF_LO } },
		.metered = { 1, 0 }, .duplicates = 1, .ip_len = 68,
	},
	{
		.name = "non-IP frames are never duplicates",
		.s = { { f_arp, 0, TC_IN, IF_LO }, { f_arp, 0, TC_EG, IF_DUMMY } },
		.metered = { 1, 1 }, .ip_len = 28, .l2 = 1,
	},
};

static struct bpfix *skel_on, *skel_off;
static int ncpus;
static int ifindex[2];
static struct pkt frame;
static __u8 frame_out[PKT_MAX];

static bool check_u64(const struct row *r, const char *what, __u64 got, __u64 want)
{
	if (got == want)
		return true;
	print_error("row \"%s\": %s = %llu, want %llu\n", r->name, what,
		    (unsigned long long)got, (unsigned long long)want);
	return false;
}

static bool reset_maps(struct bpfix *skel)
{
	size_t vsize = bpf_map__value_size(skel->maps.dedup_recent);
	__u8 *zero = calloc(ncpus, (vsize + 7) & ~7ul);
	__u32 key = 0, slot;
	bool ok = zero != NULL;

	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_0), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_1), sizeof(struct flow_key));
	ok = ok && !prog_run_zero_stats(bpf_map__fd(skel->maps.stats), ncpus);
	ok = ok && !bpf_map_update_elem(bpf_map__fd(skel->maps.flow_epoch), &key, &key, BPF_ANY);
	for (slot = 0; ok && slot < bpf_map__max_entries(skel->maps.dedup_recent); slot++)
		ok = !bpf_map_update_elem(bpf_map__fd(skel->maps.dedup_recent), &slot, zero,
					  BPF_ANY);
	free(zero);
	return ok;
}

static bool see(const struct row *r, struct bpfix *skel, const struct sighting *s)
{
	struct bpf_program *progs[] = {
		skel->progs.bpfix_xdp, skel->progs.bpfix_tc_ingress, skel->progs.bpfix_tc_egress,
	};
	struct __sk_buff skb = {
		.ifindex = ifindex[s->iface], .gso_segs = s->gso_segs, .gso_size = s->gso_size,
	};
	struct xdp_md xmd = { .ingress_ifindex = ifindex[s->iface] };
	struct prog_run_result res = { 0 };
	void *ctx = s->prog == XDP ? (void *)&xmd : (void *)&skb;
	__u32 ctx_size = s->prog == XDP ? sizeof(xmd) : sizeof(skb);
	bool ok = true;
	int err;

	if (s->pause_ms)
		usleep(s->pause_ms * 1000);
	s->build(&frame, s->v);
	xmd.data_end = frame.len;
	err = prog_run_frame(bpf_program__fd(progs[s->prog]), frame.buf, frame.len, ctx,
			     ctx_size, frame_out, sizeof(frame_out), &res);
	ok &= check_u64(r, "test run result (negative errno)", err, 0);
	if (err)
		return false;
	ok &= check_u64(r, "return code", res.retval,
			s->prog == XDP ? PROG_RUN_XDP_PASS : PROG_RUN_TC_ACT_UNSPEC);
	if (!res.unchanged) {
		print_error("row \"%s\": the program changed the frame\n", r->name);
		ok = false;
	}
	return ok;
}

/* Packets in the flows of each interface. */
static bool metered_by_iface(struct bpfix *skel, __u64 out[2])
{
	int fd = bpf_map__fd(skel->maps.flow_table_0);
	struct flow_key key, next;
	struct flow_counters c;
	void *prev = NULL;

	out[0] = out[1] = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (prog_run_lookup_flow(fd, ncpus, &key, &c))
			return false;
		if (key.ifindex == (__u32)ifindex[IF_LO])
			out[0] += c.packets;
		else if (key.ifindex == (__u32)ifindex[IF_DUMMY])
			out[1] += c.packets;
		else
			return false;
	}
	return true;
}

static void test_row(void **state)
{
	const struct row *r = *state;
	struct bpfix *skel = r->dedup_off ? skel_off : skel_on;
	struct bpfix_stats got, want = {};
	__u64 metered[2], n = r->metered[0] + r->metered[1];
	char why[256];
	bool ok = true;
	int i;

	if (!reset_maps(skel))
		fail_msg("row \"%s\": cannot reset the maps: %s", r->name, strerror(errno));
	for (i = 0; i < MAX_SIGHTINGS && r->s[i].build; i++)
		ok &= see(r, skel, &r->s[i]);

	want.packets = n;
	want.octets = n * r->ip_len;
	want.table_packets_0 = n;
	want.table_octets_0 = n * r->ip_len;
	want.table_flows_0 = (r->metered[0] != 0) + (r->metered[1] != 0);
	want.gso_aggregates = r->s[0].gso_segs > 1;
	want.duplicate_packets = r->duplicates;
	want.duplicate_octets = r->duplicates * r->ip_len;
	if (r->l2)
		want.parsed_l2 = n;
	else if (r->ipv6)
		want.parsed_ipv6 = n;
	else
		want.parsed_ipv4 = n;
	if (prog_run_read_stats(bpf_map__fd(skel->maps.stats), ncpus, &got))
		fail_msg("row \"%s\": cannot read stats", r->name);
	/* l2_octets depend on each sighting's framing; the rest is exact. */
	want.l2_octets = got.l2_octets;
#define CHECK_STAT(name, doc) ok &= check_u64(r, "stats." #name, got.name, want.name);
	BPFIX_STATS(CHECK_STAT)
#undef CHECK_STAT
	if (!prog_run_identity(&got, why, sizeof(why))) {
		print_error("row \"%s\": accounting identity: %s\n", r->name, why);
		ok = false;
	}
	if (!metered_by_iface(skel, metered)) {
		print_error("row \"%s\": cannot read the flow table, or a flow of another "
			    "interface\n", r->name);
		ok = false;
	} else {
		ok &= check_u64(r, "packets metered on lo", metered[0], r->metered[0]);
		ok &= check_u64(r, "packets metered on " DUMMY, metered[1], r->metered[1]);
	}
	if (!ok)
		fail_msg("row \"%s\" failed (see above)", r->name);
}

/* A network namespace of our own with lo and a veth up. */
static int make_interfaces(void)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_dedup_prog: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (system("ip link set lo up && ip link add " DUMMY " type veth peer name " DUMMY "p && "
		   "ip link set " DUMMY " up")) {
		fprintf(stderr, "test_dedup_prog: cannot make a veth pair\n");
		return -1;
	}
	ifindex[IF_LO] = if_nametoindex("lo");
	ifindex[IF_DUMMY] = if_nametoindex(DUMMY);
	return ifindex[IF_LO] && ifindex[IF_DUMMY] ? 0 : -1;
}

static struct bpfix *load(int dedup)
{
	struct bpfix *skel = bpfix__open();

	if (!skel)
		return NULL;
	skel->rodata->dedup_enabled = dedup;
	if (bpfix__load(skel)) {
		bpfix__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(void)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct CMUnitTest *tests;
	int failed = 1;
	size_t i;

	if (geteuid() != 0) {
		fprintf(stderr, "test_dedup_prog: needs root (BPF_PROG_TEST_RUN); skipped\n");
		return SKIP_EXIT;
	}
	libbpf_set_print(prog_run_libbpf_print);
	if (make_interfaces())
		return 1;
	ncpus = libbpf_num_possible_cpus();
	skel_on = load(1);
	skel_off = load(0);
	if (ncpus <= 0 || !skel_on || !skel_off) {
		/* as root, an object that does not load is a failure */
		fprintf(stderr, "test_dedup_prog: cannot load bpfix.bpf.o with and without "
			"--dedup (BPFIX_TEST_VERBOSE=1 for libbpf's messages)\n");
		goto out;
	}
	/* Every sighting on one CPU: the cache is per CPU (a packet seen on
	 * two CPUs is two packets, see README). */
	prog_run_pin_cpu();

	tests = calloc(n, sizeof(*tests));
	if (!tests)
		goto out;
	for (i = 0; i < n; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = test_row;
		tests[i].initial_state = &rows[i];
	}
	failed = _cmocka_run_group_tests("test_dedup_prog", tests, n, NULL, NULL);
	free(tests);
out:
	bpfix__destroy(skel_on);
	bpfix__destroy(skel_off);
	return failed ? 1 : 0;
}
