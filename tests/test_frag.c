// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fragments in any order (include/bpfix.h, FRAGMENTS IN ANY ORDER), through
 * the real programs and the agent's own code: every order of the fragments
 * of one UDP datagram (2, 3 and 5 fragments; one fragment duplicated;
 * overlapping fragments; the first fragment missing), IPv4 and IPv6, XDP and
 * TC ingress and egress, each order cut into two sweeps at every point.
 * Frames run through BPF_PROG_TEST_RUN; each sweep drains the flow table as
 * the agent does (meter_drain_fd, flow_merge_percpu, flowtab_add), reads
 * frag_table (meter_read_frags) and resolves held entries
 * (flowtab_resolve_held); a flush at the end makes the records.
 *
 * What must come out: with a first fragment, exactly one record, the
 * datagram's flow (ports 1111 -> 2222), holding every frame, packets and
 * octets exact, no FLOW_F_FRAG_UNMATCHED; without one, exactly one record
 * with ports 0 and FLOW_F_FRAG_UNMATCHED holding every frame. The kernel
 * stats say how many frames were held (those before the first) and joined
 * (those after), the agent's how many held ones it resolved or exported
 * unmatched, the accounting identity holds, and between the two sweeps
 * exactly the expected number of held entries waits.
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
#include "flowtab.h"
#include "meter.h"
#include "pkt.h"
#include "prog_run.h"

#define MAX_FRAGS  8
#define TABLE_SIZE 64		/* kernel tables: small, so a drain is quick */
#define SPORT 1111
#define DPORT 2222
#define FRAG_ID 0x1234abcd	/* IPv4 keeps the low 16 bits */

static const __u8 mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const __u8 mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

/* One fragment: @offset and @len in bytes of the fragmentable part (UDP
 * header and data), @more the MF flag. */
struct frag {
	__u16 offset, len;
	int more;
};

struct layout {
	const char *name;
	struct frag f[MAX_FRAGS];
	int n;
};

static const struct layout layouts[] = {
	{ "2 fragments", { { 0, 24, 1 }, { 24, 16, 0 } }, 2 },
	{ "3 fragments", { { 0, 16, 1 }, { 16, 16, 1 }, { 32, 8, 0 } }, 3 },
	{ "5 fragments", { { 0, 16, 1 }, { 16, 16, 1 }, { 32, 16, 1 }, { 48, 16, 1 }, { 64, 8, 0 } }, 5 },
	{ "3 fragments, the first duplicated",
	  { { 0, 16, 1 }, { 16, 16, 1 }, { 32, 8, 0 }, { 0, 16, 1 } }, 4 },
	{ "3 fragments, the middle duplicated",
	  { { 0, 16, 1 }, { 16, 16, 1 }, { 32, 8, 0 }, { 16, 16, 1 } }, 4 },
	{ "3 fragments, the last duplicated",
	  { { 0, 16, 1 }, { 16, 16, 1 }, { 32, 8, 0 }, { 32, 8, 0 } }, 4 },
	{ "3 overlapping fragments", { { 0, 24, 1 }, { 16, 24, 1 }, { 32, 16, 0 } }, 3 },
	{ "5 fragments, the first never comes",
	  { { 16, 16, 1 }, { 32, 16, 1 }, { 48, 16, 1 }, { 64, 8, 0 } }, 4 },
};

static struct bpfix *skel;
static int ncpus;
static struct meter m;
static struct frag_snapshot frags;

static const char *const prog_names[] = { "xdp", "tc_ingress", "tc_egress" };

/* The frame of fragment @f of the datagram, IP version @v; its IP length. */
static __u32 build(struct pkt *p, int v, const struct frag *f)
{
	int first = f->offset == 0;

	pkt_init(p);
	pkt_eth(p, mac_b, mac_a, v == 4 ? ETH_TYPE_IPV4 : ETH_TYPE_IPV6);
	if (v == 4) {
		struct pkt_ip4 ip = { .src = { 10, 0, 0, 1 }, .dst = { 192, 168, 1, 2 },
				      .proto = PROTO_UDP, .ttl = 64, .id = (__u16)FRAG_ID };

		ip.frag = (f->more ? 0x2000 : 0) | f->offset / 8;
		pkt_ipv4(p, &ip);
	} else {
		struct pkt_ip6 ip = { .src = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
				      .dst = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
				      .nexthdr = PROTO_FRAGMENT, .hop_limit = 64 };

		pkt_ipv6(p, &ip);
		pkt_ip6_frag(p, PROTO_UDP, f->offset, f->more, FRAG_ID);
	}
	if (first) {
		pkt_udp(p, SPORT, DPORT);
		pkt_payload(p, f->len - 8);
	} else {
		pkt_payload(p, f->len);
	}
	pkt_finish(p);
	return (__u32)(p->len - p->l3_off);
}

/* ---- one order, two sweeps ------------------------------------------------ */

struct run {
	struct flowtab t;
	struct flow_record rec[4];
	int nrec;
};

static void collect(void *ctx, const struct flow_record *r)
{
	struct run *u = ctx;

	if (u->nrec < 4)
		u->rec[u->nrec] = *r;
	u->nrec++;
}

/* As agent_drain_flow folds a drained flow. */
static void fold(void *ctx, uint32_t staged, const struct flow_key *key,
		 const struct flow_counters *pc, int n)
{
	struct run *u = ctx;
	struct flow_side side;

	(void)staged;	/* no journal here */

	flow_merge_percpu(pc, n, 0, &side);
	flowtab_add(&u->t, key, &side);
}

static void reset_maps(void)
{
	__u32 zero = 0;

	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_0), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_1), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.frag_table), sizeof(struct frag_key));
	assert_int_equal(prog_run_zero_stats(bpf_map__fd(skel->maps.stats), ncpus), 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.flow_epoch), &zero, &zero,
					     BPF_ANY), 0);
}

/* A sweep as the agent makes it (the epoch needs no flip: nothing runs
 * while the test drains). */
static void sweep(struct run *u)
{
	assert_true(meter_drain_fd(&m, bpf_map__fd(skel->maps.flow_table_0), fold, u) >= 0);
	if (u->t.held) {
		assert_true(meter_read_frags(&m, &frags) >= 0);
		flowtab_resolve_held(&u->t, frag_snapshot_find, &frags);
	}
}

static char where[256];

static bool fail_at(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

#define EXPECT(cond, ...) do { if (!(cond)) return fail_at(__VA_ARGS__); } while (0)

/* Frames @order[0..n) of layout @l, version @v, through program @prog, a
 * sweep after the first @cut of them and one after the rest. */
static bool run_order(const struct layout *l, int v, int prog, const int *order, int cut)
{
	struct bpf_program *progs[] = {
		skel->progs.bpfix_xdp, skel->progs.bpfix_tc_ingress, skel->progs.bpfix_tc_egress,
	};
	__u64 octets = 0, held = 0, joined = 0, firsts = 0;
	__u32 min_len = UINT32_MAX, max_len = 0;
	int has_first = 0, first_seen = 0, i, len;
	struct bpfix_stats st;
	struct run u;
	struct pkt p;
	char why[128];

	len = snprintf(where, sizeof(where), "%s, IPv%d, %s, order", l->name, v, prog_names[prog]);
	for (i = 0; i < l->n; i++)
		len += snprintf(where + len, sizeof(where) - len, " %d%s", order[i],
				i + 1 == cut ? " |" : "");
	for (i = 0; i < l->n; i++)
		has_first |= l->f[i].offset == 0;

	memset(&u, 0, sizeof(u));
	assert_int_equal(flowtab_init(&u.t, 256, 1, prog != 0, 60000, 60000, collect, &u), 0);
	reset_maps();
	for (i = 0; i < l->n; i++) {
		const struct frag *f = &l->f[order[i]];
		struct prog_run_result res = { 0 };
		static __u8 out[PKT_MAX];
		__u32 ip_len = build(&p, v, f);

		EXPECT(!prog_run_frame(bpf_program__fd(progs[prog]), p.buf, p.len, NULL, 0, out,
				       sizeof(out), &res), "test run failed");
		EXPECT(res.retval == (prog == 0 ? PROG_RUN_XDP_PASS : PROG_RUN_TC_ACT_UNSPEC) &&
		       res.size_out == p.len && res.unchanged, "frame %d not passed unchanged", i);
		octets += ip_len;
		min_len = ip_len < min_len ? ip_len : min_len;
		max_len = ip_len > max_len ? ip_len : max_len;
		if (f->offset == 0) {
			firsts++;
			first_seen = 1;
		} else if (first_seen) {
			joined++;
		} else {
			held++;
		}
		if (i + 1 == cut) {
			sweep(&u);
			/* one held entry waits while held frames have come
			 * and the first has not */
			EXPECT(u.t.held == (held && !first_seen), "after the first sweep %u held "
			       "entries wait, want %d", u.t.held, held && !first_seen);
		}
	}
	if (cut < l->n)
		sweep(&u);
	EXPECT(u.t.held == (has_first ? 0u : 1u), "after the last sweep %u held entries wait",
	       u.t.held);
	flowtab_flush(&u.t, FLOW_END_FORCED);

	assert_int_equal(prog_run_read_stats(bpf_map__fd(skel->maps.stats), ncpus, &st), 0);
	EXPECT(prog_run_identity(&st, why, sizeof(why)), "accounting identity: %s", why);
	EXPECT(st.frag_first == firsts && st.frag_held == held && st.frag_joined == joined,
	       "kernel frag_first %llu held %llu joined %llu, want %llu %llu %llu",
	       (unsigned long long)st.frag_first, (unsigned long long)st.frag_held,
	       (unsigned long long)st.frag_joined, (unsigned long long)firsts,
	       (unsigned long long)held, (unsigned long long)joined);
	EXPECT(u.nrec == 1, "%d records, want 1", u.nrec);
	{
		const struct flow_record *r = &u.rec[0];
		const struct flow_key *k = &r->key;
		uint16_t want_sport = has_first ? SPORT : 0, want_dport = has_first ? DPORT : 0;

		EXPECT(k->ip_version == v && k->protocol == PROTO_UDP && !k->frag_held &&
		       k->src_port == want_sport && k->dst_port == want_dport,
		       "record key v%u proto %u held %u ports %u > %u, want ports %u > %u",
		       k->ip_version, k->protocol, k->frag_held, k->src_port, k->dst_port,
		       want_sport, want_dport);
		EXPECT(r->fwd.packets == (uint64_t)l->n && r->fwd.octets == octets &&
		       r->fwd.fragments == (uint32_t)l->n && r->rev.packets == 0,
		       "record packets %llu octets %llu fragments %u rev %llu, want %d %llu %d 0",
		       (unsigned long long)r->fwd.packets, (unsigned long long)r->fwd.octets,
		       r->fwd.fragments, (unsigned long long)r->rev.packets, l->n,
		       (unsigned long long)octets, l->n);
		EXPECT(r->fwd.min_ip_len == min_len && r->fwd.max_ip_len == max_len,
		       "record ip length %u..%u, want %u..%u", r->fwd.min_ip_len,
		       r->fwd.max_ip_len, min_len, max_len);
		EXPECT(!!(r->fwd.flags & FLOW_F_FRAG_UNMATCHED) == !has_first,
		       "record flags 0x%x", r->fwd.flags);
	}
	EXPECT(u.t.stats.held_resolved == (has_first ? held : 0) &&
	       u.t.stats.held_unmatched == (has_first ? 0 : held),
	       "agent resolved %llu unmatched %llu held fragments, want %llu %llu",
	       (unsigned long long)u.t.stats.held_resolved,
	       (unsigned long long)u.t.stats.held_unmatched,
	       (unsigned long long)(has_first ? held : 0),
	       (unsigned long long)(has_first ? 0 : held));
	flowtab_free(&u.t);
	return true;
}

/* The next permutation of @a[0..n) in lexicographic order; 0 after the last. */
static int next_order(int *a, int n)
{
	int i = n - 2, j, x;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return 0;
	for (j = n - 1; a[j] <= a[i]; j--)
		;
	x = a[i], a[i] = a[j], a[j] = x;
	for (i++, j = n - 1; i < j; i++, j--)
		x = a[i], a[i] = a[j], a[j] = x;
	return 1;
}

static void test_layout(void **state)
{
	const struct layout *l = *state;
	unsigned int runs = 0, failed = 0;
	int order[MAX_FRAGS], v, prog, cut, i;

	for (v = 4; v <= 6; v += 2)
		for (prog = 0; prog < 3; prog++) {
			for (i = 0; i < l->n; i++)
				order[i] = i;
			do {
				for (cut = 1; cut <= l->n; cut++) {
					runs++;
					if (!run_order(l, v, prog, order, cut) && ++failed >= 10)
						fail_msg("%s: stopped after 10 failures", l->name);
				}
			} while (next_order(order, l->n));
		}
	print_message("%s: %u orders and cuts, %u failed\n", l->name, runs, failed);
	if (failed)
		fail_msg("%s: %u of %u failed (see above)", l->name, failed, runs);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(layouts) / sizeof(layouts[0])];
	struct drain_hooks drain = { 0 };
	size_t i;
	int failed, err = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "test_frag: needs root (BPF_PROG_TEST_RUN)\n");
		return 77;
	}
	libbpf_set_print(prog_run_libbpf_print);
	skel = bpfix__open();
	if (!skel) {
		fprintf(stderr, "test_frag: cannot open bpfix.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	err = err ?: bpf_map__set_max_entries(skel->maps.flow_table_0, TABLE_SIZE);
	err = err ?: bpf_map__set_max_entries(skel->maps.flow_table_1, TABLE_SIZE);
	err = err ?: bpf_map__set_max_entries(skel->maps.frag_table, TABLE_SIZE);
	err = err ?: bpfix__load(skel);
	if (err) {
		/* as root, an object that does not load is a failure */
		fprintf(stderr, "test_frag: cannot load bpfix.bpf.o: %s "
			"(BPFIX_TEST_VERBOSE=1 for libbpf's messages)\n", strerror(-err));
		bpfix__destroy(skel);
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	assert(ncpus > 0);
	prog_run_pin_cpu();
	m.skel = skel;
	m.ncpus = ncpus;
	m.frag_fd = bpf_map__fd(skel->maps.frag_table);
	drain.batch = TABLE_SIZE;
	drain.keys = calloc(drain.batch, sizeof(*drain.keys));
	drain.values = calloc((size_t)drain.batch * ncpus, sizeof(*drain.values));
	assert(drain.keys && drain.values);
	meter_set_drain_hooks(&m, &drain);

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = layouts[i].name;
		tests[i].test_func = test_layout;
		tests[i].initial_state = (void *)&layouts[i];
	}
	failed = _cmocka_run_group_tests("test_frag", tests, sizeof(layouts) / sizeof(layouts[0]),
					 NULL, NULL);
	free(drain.keys);
	free(drain.values);
	frag_snapshot_free(&frags);
	bpfix__destroy(skel);
	return failed ? 1 : 0;
}
