// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --memory -> --flows (user/budget.c) for 2, 64 and 256 possible CPUs: the
 * exact capacities at the default budget, never over the budget and as
 * many flows as fit, more flows for more memory, the minimum's error, and
 * --flows against --memory. The kernel's share is held to what the kernel
 * charged for maps measured on 6.18 (budget.c's header); the journal's and
 * the index's to what journal.c and flowtab.c allocate.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "budget.h"
#include "config.h"
#include "flowtab.h"
#include "journal.h"
#include "meter.h"

static const uint32_t cpus[] = { 2, 64, 256 };

/* The parts add up, and nothing is left out of the total. */
static void assert_parts(const struct memory_budget *b)
{
	assert_int_equal(b->total_bytes, b->kernel_bytes + b->frag_bytes + b->maps_bytes +
					 b->journal_bytes + b->index_bytes);
	assert_int_equal(b->kernel_entries, b->agent_entries);
	assert_int_equal(b->frag_entries, budget_frag_entries(b->agent_entries));
	assert_int_equal(b->batch, meter_drain_batch(b->ncpus));
}

/* The default budget (64 MiB) on 2, 64 and 256 possible CPUs: the flows,
 * to the entry. docs/reference.md "Memory" has this table. */
static void test_default(void **state)
{
	static const struct {
		uint32_t ncpus, flows, frag, batch;
		uint64_t kernel, journal, total;
	} want[] = {
		{ 2, 65479, 8184, 32832, 34576912, 30363648, 67108396 },
		{ 64, 6989, 1024, 1088, 59199536, 7188480, 67107220 },
		{ 256, 1823, 1024, 320, 60257552, 6029312, 67079100 },
	};
	struct memory_budget b;
	char err[256] = "";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(budget_derive(0, 0, want[i].ncpus, &b, err, sizeof(err)), 0);
		assert_int_equal(b.budget, BUDGET_DEFAULT_BYTES);
		assert_false(b.given);
		assert_int_equal(b.ncpus, want[i].ncpus);
		assert_int_equal(b.agent_entries, want[i].flows);
		assert_int_equal(b.frag_entries, want[i].frag);
		assert_int_equal(b.batch, want[i].batch);
		assert_int_equal(b.kernel_bytes, want[i].kernel);
		assert_int_equal(b.journal_bytes, want[i].journal);
		assert_int_equal(b.total_bytes, want[i].total);
		assert_true(b.total_bytes <= b.budget);
		assert_parts(&b);
		/* --memory 64M says the same, given */
		assert_int_equal(budget_derive(64ull << 20, 0, want[i].ncpus, &b, err,
					       sizeof(err)), 0);
		assert_true(b.given);
		assert_int_equal(b.agent_entries, want[i].flows);
	}
}

/* Against the kernel's own count (bpftool's bytes_memlock, 6.18, 2 CPUs):
 * a flow table of 65536 entries 17,302,400 bytes, of 65537 18,351,224
 * (60-byte keys; 16,778,112 and 17,826,928 with ABI 3's 52),
 * frag_table of 8192 918,400; budget.c takes struct bpf_htab 192 bytes
 * larger than the 832 measured. The journal is its map: a page, then
 * journal_size(). */
static void test_kernel_measured(void **state)
{
	struct memory_budget b;

	(void)state;
	budget_cost(65536, 2, &b);
	assert_int_equal(b.kernel_bytes, 2 * (17302400 + 192));
	assert_int_equal(b.frag_entries, 8192);
	assert_int_equal(b.frag_bytes, 918400 + 192);
	assert_int_equal(b.journal_bytes,
			 4096 + journal_size(b.batch, 2) + 4096 + journal_flows_size(65536));
	budget_cost(65537, 2, &b);
	assert_int_equal(b.kernel_bytes, 2 * (18351224 + 192));
	/* 64 bytes a CPU: a 128-CPU node pays 8 KiB a flow a table */
	budget_cost(65536, 128, &b);
	assert_true(b.kernel_bytes > 2 * 65536ull * 128 * sizeof(struct flow_counters));
	assert_true(b.kernel_bytes > (1ull << 30));
}

/* The index is what flowtab_init() allocates besides the entries (which
 * live in the journal). */
static void test_index_is_flowtab(void **state)
{
	static const uint32_t caps[] = { 1024, 1826, 6998, 65536, 66276 };
	struct memory_budget b;
	struct flowtab t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		assert_int_equal(flowtab_init(&t, caps[i], 1, 1, 15000, 60000, NULL, NULL), 0);
		budget_cost(caps[i], 2, &b);
		assert_int_equal(b.index_bytes, sizeof(*t.bucket) * t.nbuckets +
						sizeof(*t.free_list) * caps[i]);
		flowtab_free(&t);
	}
}

/* From 8 MiB to 1 GiB in odd steps: never over the budget, as many flows
 * as fit (one more would not), and never fewer for more memory. */
static void test_monotonic_within(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
		uint32_t last = 0;
		uint64_t m;

		for (m = 8ull << 20; m <= (1ull << 30); m += (3ull << 20) + 4093) {
			struct memory_budget b, more;
			char err[256];

			if (budget_derive(m, 0, cpus[c], &b, err, sizeof(err))) {
				assert_int_equal(last, 0);	/* too small only below some size */
				continue;
			}
			assert_true(b.total_bytes <= m);
			assert_true(b.agent_entries >= BUDGET_MIN_FLOWS);
			assert_true(b.agent_entries >= last);
			assert_parts(&b);
			if (b.agent_entries < BUDGET_MAX_FLOWS)
				assert_true(budget_cost(b.agent_entries + 1, cpus[c], &more) > m);
			last = b.agent_entries;
		}
		assert_true(last > BUDGET_MIN_FLOWS);
	}
}

/* Below the minimum: one line, the flows it would hold, a usage error. */
static void test_minimum(void **state)
{
	struct memory_budget b;
	char err[256] = "";

	(void)state;
	assert_int_equal(budget_derive(10ull << 20, 0, 256, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--memory 10M holds 129 flows on 256 CPUs, at least 1024 needed");
	assert_int_equal(budget_derive(10ull << 20, 0, 64, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--memory 10M holds 589 flows on 64 CPUs, at least 1024 needed");
	/* 2 CPUs: the staging alone is 5.7 MiB */
	assert_int_equal(budget_derive(5000ull << 10, 0, 2, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--memory 5000K holds 0 flows on 2 CPUs, at least 1024 needed");
	assert_int_equal(budget_derive(10ull << 20, 0, 2, &b, err, sizeof(err)), 0);
	assert_int_equal(b.agent_entries, 3997);
	/* The default never holds fewer than the minimum: on 4096 CPUs it
	 * grows to what 1024 flows need. */
	assert_int_equal(budget_derive(0, 0, 4096, &b, err, sizeof(err)), 0);
	assert_int_equal(b.agent_entries, BUDGET_MIN_FLOWS);
	assert_true(b.budget > BUDGET_DEFAULT_BYTES);
	assert_int_equal(b.budget, b.total_bytes);
	/* Exactly the minimum's cost holds it; a byte less does not. */
	budget_cost(BUDGET_MIN_FLOWS, 256, &b);
	{
		uint64_t need = b.total_bytes;

		assert_int_equal(budget_derive(need, 0, 256, &b, err, sizeof(err)), 0);
		assert_int_equal(b.agent_entries, BUDGET_MIN_FLOWS);
		assert_int_equal(budget_derive(need - 1, 0, 256, &b, err, sizeof(err)), -EINVAL);
	}
}

/* --flows and --memory: --flows if it fits, else an error; --flows alone
 * is not held to the default budget. */
static void test_flows_given(void **state)
{
	struct memory_budget b;
	char err[256] = "";

	(void)state;
	assert_int_equal(budget_derive(64ull << 20, 60000, 2, &b, err, sizeof(err)), 0);
	assert_int_equal(b.agent_entries, 60000);
	assert_int_equal(b.budget, 64ull << 20);
	assert_true(b.total_bytes <= b.budget);
	assert_int_equal(budget_derive(64ull << 20, 65536, 64, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--flows 65536 needs 559 MiB on 64 CPUs, more than --memory 64M");
	/* alone: what it costs (1 GiB on 128 CPUs, as before --memory) */
	assert_int_equal(budget_derive(0, 65536, 128, &b, err, sizeof(err)), 0);
	assert_int_equal(b.agent_entries, 65536);
	assert_true(b.flows_given);
	assert_int_equal(b.budget, b.total_bytes);
	assert_true(b.total_bytes > (1ull << 30));
}

/* The command line: --memory's values, and budget_configure setting
 * --flows and the UDP queue that follows it. */
static int parse(struct bpfix_config *cfg, char *err, ...)
{
	char *argv[16] = { "bpfix" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return config_parse(cfg, argc, argv, err, 256);
}

static void test_config(void **state)
{
	static const char *bad[] = { "x", "", "-1", "10x", "1.5G", "64MB", "0x10", " 5", "0",
				     "99999999999999999999", "17179869184G" };
	static struct bpfix_config cfg;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(&cfg, err, "--memory", bad[i], NULL), -EINVAL);
		assert_memory_equal(err, "--memory: ", 10);
	}
	assert_int_equal(parse(&cfg, err, "--memory", "1G", NULL), 0);
	assert_int_equal(cfg.memory, 1ull << 30);
	assert_int_equal(parse(&cfg, err, "--memory", "1536k", NULL), 0);
	assert_int_equal(cfg.memory, 1536ull << 10);
	assert_int_equal(parse(&cfg, err, "--memory", "1000", NULL), 0);
	assert_int_equal(cfg.memory, 1000);

	/* derived: --flows and the UDP queue follow */
	assert_int_equal(parse(&cfg, err, "--memory", "256M", NULL), 0);
	assert_int_equal(budget_configure(&cfg, 2, err, sizeof(err)), 0);
	assert_int_equal(cfg.flows, 272361);
	assert_int_equal(cfg.udp_queue_records, 272361);
	assert_int_equal(cfg.mem.agent_entries, 272361);
	/* ... unless --udp-queue was given */
	assert_int_equal(parse(&cfg, err, "--memory", "256M", "--udp-queue", "1000", NULL), 0);
	assert_int_equal(budget_configure(&cfg, 2, err, sizeof(err)), 0);
	assert_int_equal(cfg.udp_queue_records, 1000);
	/* the default */
	assert_int_equal(parse(&cfg, err, NULL), 0);
	assert_int_equal(budget_configure(&cfg, 2, err, sizeof(err)), 0);
	assert_int_equal(cfg.flows, 65479);
	assert_int_equal(cfg.udp_queue_records, DEFAULT_UDP_QUEUE_RECORDS);
	/* both, --flows too large for the budget */
	assert_int_equal(parse(&cfg, err, "--memory", "64M", "--flows", "1000000", NULL), 0);
	assert_int_equal(budget_configure(&cfg, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--flows 1000000 needs 888 MiB on 2 CPUs, more than --memory 64M");
	/* no CPU count: a run-time error, not a usage one */
	assert_int_equal(parse(&cfg, err, NULL), 0);
	assert_int_equal(budget_configure(&cfg, -ENOENT, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_kernel_measured),
		cmocka_unit_test(test_index_is_flowtab),
		cmocka_unit_test(test_monotonic_within),
		cmocka_unit_test(test_minimum),
		cmocka_unit_test(test_flows_given),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
