// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --memory -> --flows: what each part costs for a number of flows, and the
 * most flows whose parts fit the budget (see budget.h for what counts).
 *
 * The kernel's share is what it charges each map (map_mem_usage in
 * kernel/bpf/hashtab.c and arraymap.c; bpftool's bytes_memlock), measured
 * on 6.18 with 2 possible CPUs by creating maps of 1024, 1025, 2048, 4096,
 * 65536, 65537, 100000 and 131072 entries and reading bytes_memlock:
 *
 *   hash   fixed + 32 * ncpus + 16 * roundup_pow_of_two(entries)
 *          + entries * (48 + round8(key) + (per-CPU ? 8 : round8(value)))
 *          + (per-CPU ? entries * round8(value) * ncpus : 0)
 *   array  fixed + entries * (8 + round8(value) * ncpus)   (per-CPU)
 *          fixed + entries * round8(value)
 *          page + PAGE_ALIGN(entries * value)               (BPF_F_MMAPABLE)
 *
 * (a flow table of 65536 entries: 16,778,112 bytes, 256 a flow and 896
 * fixed; of 65537: 17,826,928, the buckets doubled). The fixed parts
 * measured 832 (struct bpf_htab) and 312 (struct bpf_array); they are
 * taken larger here, as kernels differ in them.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "errline.h"
#include "bpfix.h"
#include "budget.h"
#include "config.h"
#include "journal.h"
#include "meter.h"

#define HTAB_FIXED      1024	/* struct bpf_htab: 832 measured */
#define HTAB_PER_CPU    32	/* its map-locked counters: 8 ints per possible CPU */
#define HTAB_BUCKET     16	/* struct bucket, one per power of two >= entries */
#define HTAB_ELEM_HDR   48	/* struct htab_elem before the key */
#define ARRAY_FIXED     512	/* struct bpf_array: 312 measured */
#define PAGE_BYTES      4096u

static uint64_t round8(uint64_t n)
{
	return (n + 7) & ~7ull;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static uint64_t hash_bytes(uint64_t entries, uint32_t key, uint32_t value, int percpu,
			   uint32_t ncpus)
{
	uint64_t elem = HTAB_ELEM_HDR + round8(key) + (percpu ? 8 : round8(value));
	uint64_t b = HTAB_FIXED + (uint64_t)HTAB_PER_CPU * ncpus +
		     HTAB_BUCKET * pow2_at_least(entries) + entries * elem;

	if (percpu)
		b += entries * round8(value) * ncpus;
	return b;
}

static uint64_t array_bytes(uint64_t entries, uint32_t value, int percpu, uint32_t ncpus)
{
	if (percpu)
		return ARRAY_FIXED + entries * (8 + round8(value) * ncpus);
	return ARRAY_FIXED + entries * round8(value);
}

/* flowtab_init()'s index: a bucket array (a power of two, at least 1024
 * and twice the capacity) and a free list, 4 bytes an index. */
static uint64_t index_bytes(uint32_t flows)
{
	uint64_t nbuckets = 1024;

	while (nbuckets < (uint64_t)flows * 2)
		nbuckets <<= 1;
	return 4 * (nbuckets + flows);
}

uint32_t budget_frag_entries(uint32_t flows)
{
	uint32_t n = flows / FRAG_PER_FLOWS;

	return n > FRAG_MIN_ENTRIES ? n : FRAG_MIN_ENTRIES;
}

uint64_t budget_cost(uint32_t flows, uint32_t ncpus, struct memory_budget *b)
{
	b->ncpus = ncpus;
	b->kernel_entries = flows;
	b->agent_entries = flows;
	b->frag_entries = budget_frag_entries(flows);
	b->batch = meter_drain_batch(ncpus);
	b->kernel_bytes = FLOW_TABLES * hash_bytes(flows, sizeof(struct flow_key),
						   sizeof(struct flow_counters), 1, ncpus);
	b->frag_bytes = hash_bytes(b->frag_entries, sizeof(struct frag_key),
				   sizeof(struct frag_ports), 0, ncpus);
	b->maps_bytes = array_bytes(1, sizeof(struct bpfix_stats), 1, ncpus) +	/* stats */
			array_bytes(1, sizeof(__u32), 0, ncpus) +		/* flow_epoch */
			array_bytes(FLOW_TABLES, sizeof(void *), 0, ncpus) +	/* flow_tables */
			hash_bytes(TUNNEL_TABLE_ENTRIES, sizeof(struct tunnel_ends),
				   sizeof(__u32), 0, ncpus) +			/* tunnels */
			array_bytes(1, sizeof(__u32), 0, ncpus) +		/* tunnel_next */
			array_bytes(1, TUNNEL_SCRATCH_BYTES, 1, ncpus);	/* tunnel_scratch */
	/* Two mmapable arrays (journal.c): the journal (header, ledger,
	 * staging) and the flows map of the table's entries; each costs one
	 * page for struct bpf_array (their data starts page-aligned). */
	b->journal_bytes = PAGE_BYTES + journal_size(b->batch, ncpus) +
			   PAGE_BYTES + journal_flows_size(flows);
	b->index_bytes = index_bytes(flows);
	b->total_bytes = b->kernel_bytes + b->frag_bytes + b->maps_bytes + b->journal_bytes +
			 b->index_bytes;
	return b->total_bytes;
}

/* @bytes as --memory takes it: 64M, 1G, 1536K, 1000. */
static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char unit[] = "KMGT";
	int u = -1;

	while (bytes && u < 3 && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(buf, len, "%llu%.*s", (unsigned long long)bytes, u >= 0, u >= 0 ? unit + u : "");
	return buf;
}

/* The most flows whose parts take at most @memory (cost grows with the
 * flows, so a binary search finds it exactly). */
static uint32_t flows_within(uint64_t memory, uint32_t ncpus)
{
	struct memory_budget tmp;
	uint32_t lo = 0, hi = BUDGET_MAX_FLOWS;

	if (budget_cost(0, ncpus, &tmp) > memory)
		return 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (budget_cost(mid, ncpus, &tmp) <= memory)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int budget_derive(uint64_t memory, uint32_t flows, uint32_t ncpus, struct memory_budget *b,
		  char *err, size_t errlen)
{
	char s[32];
	uint32_t n;

	memset(b, 0, sizeof(*b));
	if (!ncpus)
		return err_line(err, errlen, -EINVAL, "no possible CPUs");
	b->given = memory != 0;
	if (!memory) {
		/* The default never holds fewer than the minimum: on a machine
		 * of very many CPUs it grows to what the minimum needs. */
		uint64_t min = budget_cost(BUDGET_MIN_FLOWS, ncpus, b);

		memory = min > BUDGET_DEFAULT_BYTES ? min : BUDGET_DEFAULT_BYTES;
	}
	b->budget = memory;
	if (flows) {
		budget_cost(flows, ncpus, b);
		if (!b->given) {
			/* --flows alone sizes the tables as it always did: the
			 * budget is what they cost. */
			b->flows_given = 1;
			b->budget = b->total_bytes;
			return 0;
		}
		if (b->total_bytes > memory)
			return err_line(err, errlen, -EINVAL,
				    "--flows %u needs %llu MiB on %u CPUs, more than --memory %s",
				    flows, (unsigned long long)((b->total_bytes + (1 << 20) - 1) >> 20),
				    ncpus, size_str(memory, s, sizeof(s)));
		return 0;
	}
	n = flows_within(memory, ncpus);
	if (n < BUDGET_MIN_FLOWS)
		return err_line(err, errlen, -EINVAL, "--memory %s holds %u flows on %u CPUs, at least %u needed",
			    size_str(memory, s, sizeof(s)), n, ncpus, BUDGET_MIN_FLOWS);
	budget_cost(n, ncpus, b);
	return 0;
}

int budget_configure(struct bpfix_config *cfg, int ncpus, char *err, size_t errlen)
{
	int ret;

	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-ncpus));
		return ncpus ? ncpus : -ENODEV;
	}
	ret = budget_derive(cfg->memory, cfg->flows_set ? cfg->flows : 0, (uint32_t)ncpus,
			    &cfg->mem, err, errlen);
	if (ret)
		return ret;
	cfg->flows = cfg->mem.agent_entries;
	if (!cfg->udp_queue_set)
		cfg->udp_queue_records = config_udp_queue_default(cfg->flows);
	return 0;
}

static double mib(uint64_t bytes)
{
	return bytes / 1048576.0;
}

void budget_print(FILE *f, const struct memory_budget *b)
{
	fprintf(f,
		"bpfix: memory %.1f MiB of %.1f MiB%s on %u possible CPUs: "
		"kernel tables %d x %u flows %.1f MiB, agent table %u flows %.1f MiB "
		"(journal %.1f, index %.1f), fragments %u %.1f MiB, other maps %.1f MiB\n",
		mib(b->total_bytes), mib(b->budget),
		b->given ? "" : b->flows_given ? " (--flows)" : " (default)", b->ncpus,
		FLOW_TABLES, b->kernel_entries, mib(b->kernel_bytes), b->agent_entries,
		mib(b->journal_bytes + b->index_bytes), mib(b->journal_bytes),
		mib(b->index_bytes), b->frag_entries, mib(b->frag_bytes), mib(b->maps_bytes));
}
