/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the packet tests share to run frames through BPF_PROG_TEST_RUN on the
 * bpfix programs and read the maps back: one frame through one program with
 * the transparency check, the stats summed over CPUs, flows merged over CPUs
 * the way the agent merges them, the accounting identity of
 * include/bpfix.h, and the process set-up (libbpf quiet, one CPU).
 *
 * Functions take map and program fds and the number of possible CPUs, so a
 * test keeps its skeleton to itself. All are static inline: a test that
 * includes this header and uses half of it builds without warnings.
 */
#ifndef BPFIX_TESTS_PROG_RUN_H
#define BPFIX_TESTS_PROG_RUN_H

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfix.h"

#define PROG_RUN_XDP_PASS      2
#define PROG_RUN_TC_ACT_UNSPEC (-1)

/* libbpf's messages only with BPFIX_TEST_VERBOSE set, and never its debug
 * ones: a test's output is its verdicts. */
static inline int prog_run_libbpf_print(enum libbpf_print_level level, const char *fmt,
					va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("BPFIX_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* One CPU for the whole run, so the per-CPU slots a test reads are the
 * ones its runs wrote, and a flow's first-packet fields come from one slot
 * whatever the scheduler does. */
static inline void prog_run_pin_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set)) {
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
			return;
		}
	}
}

/* Empty a hash map. Deleting the key get_next_key returned makes the next
 * call start over, so always ask for the first key. */
static inline void prog_run_clear_map(int fd, size_t key_size)
{
	__u8 key[128];

	if (key_size > sizeof(key))
		abort();
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}

/* Zero every CPU's slot of the stats map. */
static inline int prog_run_zero_stats(int fd, int ncpus)
{
	struct bpfix_stats zero[ncpus];
	__u32 key = 0;

	memset(zero, 0, sizeof(zero));
	return bpf_map_update_elem(fd, &key, zero, BPF_ANY) ? -errno : 0;
}

/* The stats map summed over CPUs into @sum; 0 or a negative errno. */
static inline int prog_run_read_stats(int fd, int ncpus, struct bpfix_stats *sum)
{
	struct bpfix_stats slot[ncpus];
	__u32 key = 0;
	int i, j;

	if (bpf_map_lookup_elem(fd, &key, slot))
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < ncpus; i++)
		for (j = 0; j < (int)BPFIX_STAT_COUNT; j++)
			((__u64 *)sum)[j] += ((__u64 *)&slot[i])[j];
	return 0;
}

/* Counter @i of struct bpfix_stats, by index, and its name. */
static inline __u64 prog_run_stat(const struct bpfix_stats *s, unsigned int i)
{
	return ((const __u64 *)s)[i];
}

static inline const char *prog_run_stat_name(unsigned int i)
{
#define PROG_RUN_STAT_NAME(name, doc) #name,
	static const char *const names[] = { BPFIX_STATS(PROG_RUN_STAT_NAME) };
#undef PROG_RUN_STAT_NAME

	return i < BPFIX_STAT_COUNT ? names[i] : NULL;
}

/* The index of the counter called @name, or -1. */
static inline int prog_run_stat_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < BPFIX_STAT_COUNT; i++)
		if (!strcmp(prog_run_stat_name(i), name))
			return i;
	return -1;
}

/*
 * The accounting identity of include/bpfix.h. Returns true when it holds;
 * otherwise writes the side that does not add up to @why (if not NULL).
 */
static inline bool prog_run_identity(const struct bpfix_stats *s, char *why, size_t n)
{
	__u64 p = s->table_packets_0 + s->table_packets_1 + s->insert_failed_packets +
		  s->not_metered_packets;
	__u64 o = s->table_octets_0 + s->table_octets_1 + s->insert_failed_octets +
		  s->not_metered_octets;

	if (s->packets + s->tunnel_outer_packets == p && s->octets + s->tunnel_outer_octets == o)
		return true;
	if (why)
		snprintf(why, n, "packets %llu + tunnel_outer %llu vs tables + insert_failed + "
			 "not_metered %llu, octets %llu + %llu vs %llu",
			 (unsigned long long)s->packets, (unsigned long long)s->tunnel_outer_packets,
			 (unsigned long long)p, (unsigned long long)s->octets,
			 (unsigned long long)s->tunnel_outer_octets, (unsigned long long)o);
	return false;
}

/* Merge one flow's per-CPU slots the way the agent does (include/bpfix.h):
 * counters summed, minima and first_ns the least, maxima and last_ns the
 * most over the CPUs that saw packets, flags OR'ed, the first-packet fields
 * from the earliest slot. */
static inline void prog_run_merge_counters(const struct flow_counters *slot, int ncpus,
					   struct flow_counters *c)
{
	bool any = false;
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ncpus; i++) {
		const struct flow_counters *s = &slot[i];

		if (!s->packets)
			continue;
		c->packets += s->packets;
		c->octets += s->octets;
		c->l2_octets += s->l2_octets;
		c->fragments += s->fragments;
		c->tcp_flags |= s->tcp_flags;
		c->tcp_syn |= s->tcp_syn;
		c->flags |= s->flags;
		c->pad0 |= s->pad0;
		if (!any || s->first_ns < c->first_ns) {
			c->first_ns = s->first_ns;
			c->tos = s->tos;
			c->flow_label = s->flow_label;
		}
		if (!any || s->last_ns > c->last_ns)
			c->last_ns = s->last_ns;
		if (!any || s->min_ip_len < c->min_ip_len)
			c->min_ip_len = s->min_ip_len;
		if (!any || s->max_ip_len > c->max_ip_len)
			c->max_ip_len = s->max_ip_len;
		if (!any || s->min_ttl < c->min_ttl)
			c->min_ttl = s->min_ttl;
		if (!any || s->max_ttl > c->max_ttl)
			c->max_ttl = s->max_ttl;
		any = true;
	}
}

/* One flow of a flow table, merged; 0 or a negative errno (-ENOENT). */
static inline int prog_run_lookup_flow(int fd, int ncpus, const struct flow_key *k,
				       struct flow_counters *c)
{
	struct flow_counters slot[ncpus];

	if (bpf_map_lookup_elem(fd, k, slot))
		return -errno;
	prog_run_merge_counters(slot, ncpus, c);
	return 0;
}

/* What a flow table holds in all: flows and, merged, packets and octets. */
struct prog_run_table_sum {
	__u64 flows;
	__u64 packets;
	__u64 octets;
};

static inline int prog_run_sum_table(int fd, int ncpus, struct prog_run_table_sum *sum)
{
	struct flow_key key, next;
	struct flow_counters c;
	void *prev = NULL;
	int err;

	memset(sum, 0, sizeof(*sum));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		err = prog_run_lookup_flow(fd, ncpus, &key, &c);
		if (err)
			return err;
		sum->flows++;
		sum->packets += c.packets;
		sum->octets += c.octets;
	}
	return 0;
}

/* What one test run made of a frame. */
struct prog_run_result {
	int retval;		/* the program's return value */
	__u32 size_out;		/* bytes the kernel copied back */
	bool unchanged;		/* same length and same bytes as went in */
};

/*
 * Run one frame through @prog_fd, with the context @ctx of @ctx_size bytes
 * (a struct xdp_md or __sk_buff; NULL and 0 for none: the device is then
 * loopback). Returns the test run's result (0 or a negative errno); on 0,
 * @res says what the program returned and whether the frame came out
 * exactly as it went in (README promise 2: transparent). @out is scratch space of
 * @out_size bytes, at least @len.
 */
static inline int prog_run_frame(int prog_fd, const void *frame, __u32 len, void *ctx,
				 __u32 ctx_size, void *out, __u32 out_size,
				 struct prog_run_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame,
		    .data_size_in = len,
		    .data_out = out,
		    .data_size_out = out_size,
		    .ctx_in = ctx,
		    .ctx_size_in = ctx_size);
	const __u8 *in = frame;
	__u32 i;
	int err;

	/* Every byte the kernel does not copy back differs from the frame's. */
	for (i = 0; i < len && i < out_size; i++)
		((__u8 *)out)[i] = ~in[i];
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err < 0 ? err : -EIO;
	res->retval = (int)opts.retval;
	res->size_out = opts.data_size_out;
	res->unchanged = opts.data_size_out == len && !memcmp(out, frame, len);
	return 0;
}

#endif /* BPFIX_TESTS_PROG_RUN_H */
