// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Hot-path benchmark: kernel-measured ns per packet of bpfix_xdp (and, for
 * comparison, bpfix_tc_ingress) against the bare-minimum flow meter
 * bpf/reference.bpf.c, through BPF_PROG_TEST_RUN. tools/bench.sh runs it and
 * pastes its standard output (markdown) into BENCHMARKS.md, section 1.
 *
 * Two cases per packet kind:
 *  existing  the flow is inserted by one warm-up run, then test runs with
 *            repeat = R / EXISTING_SLICES, the programs taking turns;
 *            opts.duration is the kernel's mean ns per run.
 *  new       repeat would reuse one packet, so one flow: instead N distinct
 *            prebuilt packets (different source port/address) each run once
 *            (repeat = 1) and their opts.duration are summed; the programs
 *            take turns in chunks of NEW_FLOW_CHUNK packets. The tables are
 *            sized so nothing is evicted.
 * Every measurement starts with empty tables and is checked afterwards
 * (flows and packets drained must match what was sent), so a program that
 * took a different path than intended fails the benchmark instead of
 * producing a flattering figure. Programs run interleaved, their order
 * rotated each round; the reported figure is the median over the rounds.
 *
 *   bench_prog [-r rounds] [-R repeat] [-n new_flows] [-c cpu] [-D]
 *
 * -D loads bpfix with --dedup on and a zero window: every packet is
 * fingerprinted, looked up and remembered, and none is a duplicate, so the
 * figures are what --dedup adds to each packet it meters.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfix.h"
#include "bench.h"
#include "bpfix.skel.h"
#include "reference.skel.h"

/* Big enough that N new flows never meet LRU eviction: an LRU map can
 * evict before it is full (per-CPU free lists), so leave ample room. */
#define BENCH_TABLE_ENTRIES (1u << 20)
#define DEFAULT_ROUNDS      5
#define DEFAULT_REPEAT      1000000
#define DEFAULT_NEW_FLOWS   200000
#define MAX_ROUNDS          99
#define FRAME_MAX           128
#define NEW_FLOW_CHUNK      1000	/* frames a program runs before the next's turn */
#define EXISTING_SLICES     10		/* turns per program in repeat mode */
#define DRAIN_CHUNK         4096

enum kind { KIND_V4_TCP, KIND_V6_TCP, KIND_VLAN_V4_UDP, KIND_VXLAN_V4_TCP, KINDS };
static const char *const kind_name[KINDS] = {
	"IPv4/TCP", "IPv6/TCP", "VLAN IPv4/UDP", "VXLAN IPv4/TCP",
};

/* reference_null and reference_clock are yardsticks, not meters: the
 * harness's own cost per run, and that plus one bpf_ktime_get_boot_ns(). */
enum prog { PROG_REF, PROG_XDP, PROG_TC, PROG_NULL, PROG_CLOCK, PROGS };
static const char *const prog_name[PROGS] = {
	"reference_xdp", "bpfix_xdp", "bpfix_tc_ingress", "reference_null", "reference_clock",
};

enum bench_case { CASE_EXISTING, CASE_NEW, CASES };
static const char *const case_name[CASES] = { "existing flow", "new flow" };

struct frame {
	__u8 data[FRAME_MAX];
	__u32 len;
};

struct bench {
	struct bpfix *bpfix;
	struct reference *ref;
	int prog_fd[PROGS];
	int ncpus;
	unsigned int rounds, repeat, new_flows;
	int dedup;		/* -D */
	int tunnel_mode;	/* -t: --tunnels inner or outer of the measured bpfix
				 * (both would meter a VXLAN frame as two flows) */
	/* new_flows distinct frames per kind, and as many more for the TC
	 * program (see measure_new) */
	struct frame *frames[KINDS];
	struct frame *tc_frames[KINDS];
	double ns[KINDS][CASES][PROGS][MAX_ROUNDS];
};

/* ---- frames -------------------------------------------------------------- */

/* 802.1Q tag as it follows the MAC addresses; not in the uapi headers. */
struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

/*
 * Frame @idx of @kind: flow @idx differs from every other in its source
 * port (low 14 bits of idx) and source address (the rest). Lengths are
 * consistent (IP total length = what follows the IP header's start), so
 * bpfix meters each frame as a well-formed packet; sizes are the smallest
 * realistic ones, the programs never read the payload.
 */
static __u32 build_frame(enum kind kind, __u32 idx, __u8 *buf)
{
	static const __u8 dmac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	__u16 sport = 1024 + (idx & 0x3fff);
	__u32 host = 1 + (idx >> 14);
	struct ethhdr *eth = (struct ethhdr *)buf;
	__u8 *p = buf + sizeof(*eth);
	__u32 len;

	memset(buf, 0, FRAME_MAX);
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);

	if (kind == KIND_VXLAN_V4_TCP) {
		/* The IPv4/TCP frame of the same idx inside VXLAN (4789, VNI 1);
		 * the outer source port follows the inner flow, as Linux's
		 * vxlan does, and the outer source address its host, so the
		 * reference (which sees only the outer UDP flow) and --tunnels
		 * outer get a new flow per frame too. */
		struct iphdr *iph = (struct iphdr *)p;
		struct udphdr *uh = (struct udphdr *)(iph + 1);
		__u8 *vx = (__u8 *)(uh + 1);
		__u32 inner = build_frame(KIND_V4_TCP, idx, vx + 8);

		eth->h_proto = htons(ETH_P_IP);
		iph->version = 4;
		iph->ihl = sizeof(*iph) / 4;
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->saddr = htonl(0xac100000 | host);	/* 172.16/12: a node per host */
		iph->daddr = htonl(0xac1fffff);
		uh->source = htons(sport);
		uh->dest = htons(4789);
		vx[0] = 0x08;
		vx[6] = 1;
		len = sizeof(*uh) + 8 + inner;
		uh->len = htons(len);
		iph->tot_len = htons(sizeof(*iph) + len);
		return (p - buf) + sizeof(*iph) + len;
	}

	if (kind == KIND_VLAN_V4_UDP) {
		struct vlan_tag *tag = (struct vlan_tag *)p;

		eth->h_proto = htons(ETH_P_8021Q);
		tag->tci = htons(100);
		tag->encap_proto = htons(ETH_P_IP);
		p += sizeof(*tag);
	} else {
		eth->h_proto = htons(kind == KIND_V6_TCP ? ETH_P_IPV6 : ETH_P_IP);
	}

	if (kind == KIND_V6_TCP) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)p;
		struct tcphdr *th = (struct tcphdr *)(ip6 + 1);

		ip6->version = 6;
		ip6->payload_len = htons(sizeof(*th));
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		ip6->saddr.s6_addr[0] = 0xfd;
		ip6->saddr.s6_addr32[3] = htonl(host);
		ip6->daddr.s6_addr[0] = 0xfd;
		ip6->daddr.s6_addr[15] = 0xfe;
		th->source = htons(sport);
		th->dest = htons(443);
		th->doff = sizeof(*th) / 4;
		th->ack = 1;
		len = (__u8 *)(th + 1) - buf;
	} else {
		struct iphdr *iph = (struct iphdr *)p;
		__u32 l4_len;

		iph->version = 4;
		iph->ihl = sizeof(*iph) / 4;
		iph->ttl = 64;
		iph->saddr = htonl(0x0a000000 | host);
		iph->daddr = htonl(0x0a800001);
		if (kind == KIND_V4_TCP) {
			struct tcphdr *th = (struct tcphdr *)(iph + 1);

			iph->protocol = IPPROTO_TCP;
			th->source = htons(sport);
			th->dest = htons(443);
			th->doff = sizeof(*th) / 4;
			th->ack = 1;
			l4_len = sizeof(*th) + 6;	/* a 60-byte frame */
		} else {
			struct udphdr *uh = (struct udphdr *)(iph + 1);

			iph->protocol = IPPROTO_UDP;
			uh->source = htons(sport);
			uh->dest = htons(53);
			l4_len = sizeof(*uh) + 14;	/* a 60-byte frame with the tag */
			uh->len = htons(l4_len);
		}
		iph->tot_len = htons(sizeof(*iph) + l4_len);
		len = (p - buf) + sizeof(*iph) + l4_len;
	}
	return len;
}

/* ---- maps ----------------------------------------------------------------- */

/* Packets are the first field of both the reference's value and
 * struct flow_counters, which is how table_drain finds them. */
_Static_assert(offsetof(struct flow_counters, packets) == 0, "packets first");

/*
 * Empty the per-CPU flow table @fd with batch lookup-and-delete (a per-key
 * walk restarts whenever the current key is deleted). Returns the number of
 * flows and, in *@packets, the sum over flows and CPUs of the value's first
 * u64 (its packet count); -1 on error.
 */
static long table_drain(struct bench *b, int fd, __u64 *packets)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	__u32 in_batch = 0, out_batch = 0, count, stride, i;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	void *keys = NULL, *values = NULL;
	int first = 1, done = 0, err;
	long flows = -1;

	*packets = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -1;
	/* A per-CPU value comes as one 8-byte aligned slot per possible CPU. */
	stride = (info.value_size + 7) & ~7u;
	keys = calloc(DRAIN_CHUNK, info.key_size);
	values = calloc((size_t)DRAIN_CHUNK * b->ncpus, stride);
	if (!keys || !values)
		goto out;

	flows = 0;
	while (!done) {
		count = DRAIN_CHUNK;
		/* hash batch tokens are bucket indexes: a __u32 is enough */
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in_batch, &out_batch,
						      keys, values, &count, &opts);
		if (err && errno != ENOENT) {
			flows = -1;
			goto out;
		}
		done = err != 0;	/* ENOENT: this was the last bucket */
		first = 0;
		in_batch = out_batch;
		for (i = 0; i < count * b->ncpus; i++) {
			__u64 v;

			memcpy(&v, (__u8 *)values + (size_t)i * stride, sizeof(v));
			*packets += v;
		}
		flows += count;
	}
out:
	free(keys);
	free(values);
	return flows;
}

static int tables_drain(struct bench *b, long *flows, __u64 *packets)
{
	int fds[] = {
		bpf_map__fd(b->ref->maps.ref_flows),
		bpf_map__fd(b->bpfix->maps.flow_table_0),
		bpf_map__fd(b->bpfix->maps.flow_table_1),
	};
	unsigned int i;

	*flows = 0;
	*packets = 0;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		__u64 p;
		long n = table_drain(b, fds[i], &p);

		if (n < 0)
			return -errno;
		*flows += n;
		*packets += p;
	}
	return 0;
}

/* ---- runs ----------------------------------------------------------------- */

/* One BPF_PROG_TEST_RUN; returns the kernel's mean ns per run, or -1. */
static long test_run(int prog_fd, const struct frame *f, unsigned int repeat)
{
	__u8 out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = f->data,
		.data_size_in = f->len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = repeat,
	);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err) {
		fprintf(stderr, "bench: test run: %s\n", strerror(errno));
		return -1;
	}
	/* Both program types only pass: XDP_PASS 2, TC_ACT_UNSPEC -1. */
	if (opts.retval != XDP_PASS && opts.retval != (__u32)-1) {
		fprintf(stderr, "bench: test run: unexpected verdict %d\n", (int)opts.retval);
		return -1;
	}
	return opts.duration;
}

/* Checks the tables hold exactly @flows flows and @packets packets, and
 * leaves them empty for the next measurement. */
static int expect_tables(struct bench *b, const char *what, long flows, __u64 packets)
{
	long got_flows;
	__u64 got_packets;

	if (tables_drain(b, &got_flows, &got_packets)) {
		fprintf(stderr, "bench: drain: %s\n", strerror(errno));
		return -1;
	}
	if (got_flows != flows || got_packets != packets) {
		fprintf(stderr, "bench: %s: tables held %ld flows, %llu packets; "
			"expected %ld, %llu\n", what, got_flows,
			(unsigned long long)got_packets, flows, (unsigned long long)packets);
		return -1;
	}
	return 0;
}

/* bpfix_tc_ingress would meter bpfix_xdp's frames under the same keys into
 * the same table, so it has frames of its own (other source addresses). */
static const struct frame *frame_of(const struct bench *b, enum prog p, enum kind k,
				    unsigned int i)
{
	return p == PROG_TC ? &b->tc_frames[k][i] : &b->frames[k][i];
}

/*
 * Existing flow, repeat mode: after one warm-up run per program (which
 * inserts its flow), the programs take turns running EXISTING_SLICES slices
 * of repeat / EXISTING_SLICES runs each, so a burst of other work on the
 * box lands on all of them rather than on whichever ran then. Averaging
 * the slices also smooths the kernel's rounding of each mean to whole ns.
 */
static int measure_existing(struct bench *b, enum kind k, unsigned int round, double *ns)
{
	unsigned int slice_repeat = b->repeat / EXISTING_SLICES, s, j;
	__u64 sum[PROGS] = { 0 };
	char what[96];
	long d;

	for (j = 0; j < PROGS; j++)
		if (test_run(b->prog_fd[j], frame_of(b, j, k, 0), 1) < 0)
			return -1;
	for (s = 0; s < EXISTING_SLICES; s++) {
		for (j = 0; j < PROGS; j++) {
			enum prog p = (j + round + s) % PROGS;

			d = test_run(b->prog_fd[p], frame_of(b, p, k, 0), slice_repeat);
			if (d < 0)
				return -1;
			sum[p] += d;
		}
	}
	for (j = 0; j < PROGS; j++)
		ns[j] = (double)sum[j] / EXISTING_SLICES;
	/* Three meters, one flow each, every run counted. */
	snprintf(what, sizeof(what), "%s, existing flow", kind_name[k]);
	return expect_tables(b, what, 3, 3 * (1 + (__u64)EXISTING_SLICES * slice_repeat));
}

/*
 * New flows: the programs take turns, NEW_FLOW_CHUNK frames each, in an
 * order rotated every round, so a change of machine speed during the pass
 * (other work on the box) hits every program alike; a program running all
 * its frames in one stretch would be at the mercy of whatever ran then.
 */
static int measure_new(struct bench *b, enum kind k, unsigned int round, double *ns)
{
	__u64 sum[PROGS] = { 0 };
	unsigned int first, last, i, j;
	char what[96];
	long d;

	for (first = 0; first < b->new_flows; first = last) {
		last = first + NEW_FLOW_CHUNK < b->new_flows ? first + NEW_FLOW_CHUNK
							       : b->new_flows;
		for (j = 0; j < PROGS; j++) {
			enum prog p = (j + round) % PROGS;

			/* The clock's cost is told by repeat mode. */
			if (p == PROG_CLOCK)
				continue;
			for (i = first; i < last; i++) {
				d = test_run(b->prog_fd[p], frame_of(b, p, k, i), 1);
				if (d < 0)
					return -1;
				sum[p] += d;
			}
		}
	}
	for (j = 0; j < PROGS; j++)
		ns[j] = (double)sum[j] / b->new_flows;
	/* Three meters, one new flow per frame each. */
	snprintf(what, sizeof(what), "%s, new flows", kind_name[k]);
	return expect_tables(b, what, 3L * b->new_flows, 3ULL * b->new_flows);
}

/* ---- report --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void spread(const double *v, unsigned int n, double *lo, double *hi)
{
	unsigned int i;

	*lo = *hi = v[0];
	for (i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

static void print_results(struct bench *b)
{
	double worst = 0, clock;
	int k, c, p;

	printf("Median of %u rounds, ns per packet (kernel-measured `opts.duration`), "
	       "min-max over the rounds in brackets. `harness` is `reference_null`, an XDP "
	       "program that only returns XDP_PASS: the test-run machinery's own cost per run, "
	       "included in every other column. *net* ratios subtract it from both sides.\n\n",
	       b->rounds);
	printf("| kind | case | reference_xdp | bpfix_xdp | bpfix_tc_ingress | harness "
	       "| xdp / ref | xdp / ref net | tc / ref |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < KINDS; k++) {
		for (c = 0; c < CASES; c++) {
			double med[PROGS], lo, hi, net;

			printf("| %s | %s", kind_name[k], case_name[c]);
			for (p = 0; p <= PROG_NULL; p++) {
				med[p] = median(b->ns[k][c][p], b->rounds);
				spread(b->ns[k][c][p], b->rounds, &lo, &hi);
				printf(" | %.1f [%.1f-%.1f]", med[p], lo, hi);
			}
			net = (med[PROG_XDP] - med[PROG_NULL]) / (med[PROG_REF] - med[PROG_NULL]);
			printf(" | **%.2f** | %.2f | %.2f |\n", med[PROG_XDP] / med[PROG_REF], net,
			       med[PROG_TC] / med[PROG_REF]);
			if (med[PROG_XDP] / med[PROG_REF] > worst)
				worst = med[PROG_XDP] / med[PROG_REF];
		}
	}
	printf("\nWorst bpfix_xdp / reference_xdp ratio: **%.2f** (goal: at most 2.00): %s.\n",
	       worst, worst <= 2.0 ? "met" : "NOT met");
	clock = median(b->ns[KIND_V4_TCP][CASE_EXISTING][PROG_CLOCK], b->rounds) -
		median(b->ns[KIND_V4_TCP][CASE_EXISTING][PROG_NULL], b->rounds);
	printf("\nOne precise clock read (`bpf_ktime_get_boot_ns()`), which bpfix makes only "
	       "for a flow's first packet per CPU and epoch (the hot path reads the coarse "
	       "clock), costs **%.1f ns** here (`reference_clock` - `reference_null`, repeat "
	       "mode, median).\n", clock);
}

/* Number of x86 instructions in a JITed image, by objdump when it is
 * installed; -1 when it cannot be told. */
static long count_native_insns(const __u8 *image, __u32 len)
{
	char path[] = "/tmp/bpfix-bench-jit-XXXXXX";
	char cmd[256], line[512];
	long n = -1;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, image, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "objdump -D -b binary -m i386:x86-64 %s 2>/dev/null", path);
	f = popen(cmd, "r");
	if (f) {
		n = 0;
		/* instruction lines look like "  1f:\t48 89 e5 \tmov ..." */
		while (fgets(line, sizeof(line), f))
			if (strchr(line, '\t') && strstr(line, ":\t"))
				n++;
		if (pclose(f) != 0)
			n = -1;
	}
	unlink(path);
	return n;
}

static int print_sizes(struct bench *b)
{
	int p;

	printf("\n| program | verified insns | xlated insns | JITed bytes | JITed x86 insns |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (p = 0; p < PROGS; p++) {
		struct bpf_prog_info info = {};
		__u32 info_len = sizeof(info), jited_len;
		__u8 *image;
		long native = -1;

		if (bpf_obj_get_info_by_fd(b->prog_fd[p], &info, &info_len))
			return -errno;
		/* Second call with a buffer for the JITed image. */
		jited_len = info.jited_prog_len;
		image = calloc(1, jited_len ? jited_len : 1);
		if (!image)
			return -ENOMEM;
		memset(&info, 0, sizeof(info));
		info.jited_prog_len = jited_len;
		info.jited_prog_insns = (__u64)(uintptr_t)image;
		info_len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(b->prog_fd[p], &info, &info_len) && jited_len)
			native = count_native_insns(image, jited_len);
		free(image);
		printf("| %s | %u | %u | %u | ", prog_name[p], info.verified_insns,
		       info.xlated_prog_len / 8, info.jited_prog_len);
		if (native >= 0)
			printf("%ld |\n", native);
		else
			printf("n/a |\n");
	}
	return 0;
}

/* ---- setup ---------------------------------------------------------------- */

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int load(struct bench *b)
{
	int err;

	b->bpfix = bpfix__open();
	b->ref = reference__open();
	if (!b->bpfix || !b->ref) {
		fprintf(stderr, "bench: open skeletons: %s\n", strerror(errno));
		return -1;
	}
	b->bpfix->rodata->tunnel_mode = (__u8)b->tunnel_mode;
	/* Same capacity on both sides, so neither evicts and neither gets a
	 * smaller (more cache-friendly) bucket array than the other. */
	err = bpf_map__set_max_entries(b->bpfix->maps.flow_table_0, BENCH_TABLE_ENTRIES);
	err = err ?: bpf_map__set_max_entries(b->bpfix->maps.flow_table_1, BENCH_TABLE_ENTRIES);
	err = err ?: bpf_map__set_max_entries(b->bpfix->maps.frag_table, BENCH_TABLE_ENTRIES);
	err = err ?: bpf_map__set_max_entries(b->ref->maps.ref_flows, BENCH_TABLE_ENTRIES);
	if (err) {
		fprintf(stderr, "bench: resize tables: %s\n", strerror(-err));
		return -1;
	}
	if (b->dedup) {
		b->bpfix->rodata->dedup_enabled = 1;
		b->bpfix->rodata->dedup_window_ns = 0;
	}
	err = bpfix__load(b->bpfix);
	if (err) {
		fprintf(stderr, "bench: load bpfix: %s\n", strerror(-err));
		return -1;
	}
	err = reference__load(b->ref);
	if (err) {
		fprintf(stderr, "bench: load reference: %s\n", strerror(-err));
		return -1;
	}
	b->prog_fd[PROG_REF] = bpf_program__fd(b->ref->progs.reference_xdp);
	b->prog_fd[PROG_XDP] = bpf_program__fd(b->bpfix->progs.bpfix_xdp);
	b->prog_fd[PROG_TC] = bpf_program__fd(b->bpfix->progs.bpfix_tc_ingress);
	b->prog_fd[PROG_NULL] = bpf_program__fd(b->ref->progs.reference_null);
	b->prog_fd[PROG_CLOCK] = bpf_program__fd(b->ref->progs.reference_clock);
	return 0;
}

static int build_frames(struct bench *b)
{
	unsigned int i;
	int k;

	for (k = 0; k < KINDS; k++) {
		b->frames[k] = calloc(b->new_flows, sizeof(struct frame));
		b->tc_frames[k] = calloc(b->new_flows, sizeof(struct frame));
		if (!b->frames[k] || !b->tc_frames[k])
			return -1;
		for (i = 0; i < b->new_flows; i++) {
			b->frames[k][i].len = build_frame(k, i, b->frames[k][i].data);
			b->tc_frames[k][i].len = build_frame(k, b->new_flows + i,
							     b->tc_frames[k][i].data);
		}
	}
	return 0;
}

/* Every frame must have been metered as a well-formed flow: any malformed,
 * lost or unplaced packet means the benchmark measured another path. */
static int check_bpfix_stats(struct bench *b)
{
	static const struct { const char *name; size_t off; } fields[] = {
#define BENCH_STAT(name, doc) { #name, offsetof(struct bpfix_stats, name) },
		BPFIX_STATS(BENCH_STAT)
#undef BENCH_STAT
	};
	struct bpfix_stats *per_cpu;
	__u32 zero = 0;
	unsigned int i;
	int cpu, bad = 0;

	per_cpu = calloc(b->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -1;
	if (bpf_map_lookup_elem(bpf_map__fd(b->bpfix->maps.stats), &zero, per_cpu)) {
		fprintf(stderr, "bench: read stats: %s\n", strerror(errno));
		free(per_cpu);
		return -1;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		__u64 sum = 0;

		if (strncmp(fields[i].name, "malformed_", 10) &&
		    strncmp(fields[i].name, "insert_", 7) &&
		    strncmp(fields[i].name, "not_metered_", 12) &&
		    strcmp(fields[i].name, "no_table") &&
		    strncmp(fields[i].name, "frag_", 5))
			continue;
		for (cpu = 0; cpu < b->ncpus; cpu++) {
			__u64 v;

			memcpy(&v, (__u8 *)&per_cpu[cpu] + fields[i].off, sizeof(v));
			sum += v;
		}
		if (sum) {
			fprintf(stderr, "bench: bpfix counted %llu %s\n",
				(unsigned long long)sum, fields[i].name);
			bad = 1;
		}
	}
	{
		/* The VXLAN frames took the tunnel path, not the outer UDP one. */
		__u64 decap = 0;

		for (cpu = 0; cpu < b->ncpus; cpu++)
			decap += per_cpu[cpu].tunnel_decap;
		if (!decap && b->tunnel_mode != TUNNEL_MODE_OUTER) {
			fprintf(stderr, "bench: bpfix decapsulated no VXLAN frame\n");
			bad = 1;
		}
	}
	free(per_cpu);
	return bad ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_prog [-r rounds] [-R repeat] [-n new_flows] [-c cpu] [-D] "
		"[-t inner|outer]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench *b;
	int opt, cpu = -1, ret = 1;
	unsigned int r;
	int k, c, i;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->rounds = DEFAULT_ROUNDS;
	b->repeat = DEFAULT_REPEAT;
	b->new_flows = DEFAULT_NEW_FLOWS;
	while ((opt = getopt(argc, argv, "r:R:n:c:Dt:h")) != -1) {
		switch (opt) {
		case 't':
			if (!strcmp(optarg, "inner"))
				b->tunnel_mode = TUNNEL_MODE_INNER;
			else if (!strcmp(optarg, "outer"))
				b->tunnel_mode = TUNNEL_MODE_OUTER;
			else
				usage();
			break;
		case 'r': b->rounds = strtoul(optarg, NULL, 0); break;
		case 'R': b->repeat = strtoul(optarg, NULL, 0); break;
		case 'n': b->new_flows = strtoul(optarg, NULL, 0); break;
		case 'c': cpu = strtol(optarg, NULL, 0); break;
		case 'D': b->dedup = 1; break;
		default: usage();
		}
	}
	if (b->rounds < 1 || b->rounds > MAX_ROUNDS || b->repeat < EXISTING_SLICES ||
	    b->new_flows < 1 ||
	    b->new_flows > BENCH_TABLE_ENTRIES / 4)	/* bpfix's table takes 2x */
		usage();

	libbpf_set_print(print_libbpf);
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus < 1) {
		fprintf(stderr, "bench: cannot count possible CPUs\n");
		goto out;
	}
	cpu = bench_pin_cpu("bench", cpu);
	if (cpu < 0 || load(b) || build_frames(b))
		goto out;

	fprintf(stderr, "bench: cpu %d, %u rounds, repeat %u, %u new flows%s\n",
		cpu, b->rounds, b->repeat, b->new_flows,
		b->dedup ? ", --dedup with a zero window" : "");
	for (r = 0; r < b->rounds; r++) {
		for (k = 0; k < KINDS; k++) {
			double ns[CASES][PROGS];

			if (measure_existing(b, k, r, ns[CASE_EXISTING]) ||
			    measure_new(b, k, r, ns[CASE_NEW]))
				goto out;
			for (c = 0; c < CASES; c++)
				for (i = 0; i < PROGS; i++)
					b->ns[k][c][i][r] = ns[c][i];
		}
		fprintf(stderr, "bench: round %u/%u done\n", r + 1, b->rounds);
	}
	if (check_bpfix_stats(b))
		goto out;

	print_results(b);
	if (print_sizes(b))
		goto out;
	ret = 0;
out:
	for (k = 0; k < KINDS; k++) {
		free(b->frames[k]);
		free(b->tc_frames[k]);
	}
	bpfix__destroy(b->bpfix);
	reference__destroy(b->ref);
	free(b);
	return ret;
}
