// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of --metrics: the exposition formatter from a hand-filled
 * snapshot (exact lines, label value escaping, histogram buckets, one HELP
 * and TYPE per family before its samples), the sweep histogram's bucket
 * bounds, and the command line's ADDR:PORT.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "config.h"
#include "metrics.h"

static struct metrics_snapshot snap;
static char *text;

static void fill(struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->now_ms = 1700000000123;
	s->totals.since_ms = 1700000000000;
	s->totals.packets_seen = 1234;
	s->totals.octets_seen = 567890;
	s->totals.flows_observed = 42;
	s->totals.records_emitted = 40;
	s->kernel.l2_octets = 600000;
	s->kernel.insert_failed = 2;
	s->kernel.insert_failed_packets = 5;
	s->kernel.insert_failed_octets = 500;
	s->kernel.not_metered_packets = 1;
	s->kernel.not_metered_octets = 10;
	s->kernel.malformed_ipv4_ihl = 3;
	s->kernel.malformed_eth = 1;
	s->kernel.frag_held = 9;
	s->kernel.table_flows_0 = 77;	/* shown as bpfix_kernel_flows_total, not apart */
	s->drained_flows = 41;
	s->lru_flows = 4;
	s->lru_packets = 8;
	s->lru_octets = 800;
	s->table_used = 17;
	s->table_capacity = 65536;
	s->kernel_table_entries = 32768;
	s->kernel_table_drained = 12;
	s->mem.budget = 64ull << 20;
	s->mem.ncpus = 2;
	s->mem.kernel_bytes = 36008960;
	s->mem.journal_bytes = 28725248;
	s->mem.frag_entries = 8284;
	s->sweeps = 6;
	s->sweep_ns_total = 1500000000;		/* 1.5 s */
	s->sweep_ns_last = 2000000;		/* 2 ms */
	s->sweep_ns_max = 12345678901;		/* 12.345678901 s: +Inf */
	s->sweep_hist[0] = 1;			/* <= 1 ms */
	s->sweep_hist[1] = 2;			/* <= 2.5 ms */
	s->sweep_hist[4] = 2;			/* <= 25 ms */
	s->sweep_hist[METRICS_SWEEP_BUCKETS] = 1;
	s->n_out = 2;
	snprintf(s->out[0].name, sizeof(s->out[0].name), "udp://192.0.2.9:4739");
	s->out[0].st.records_sent = 30;
	s->out[0].st.records_not_sent = 10;
	s->out[0].unsupported = 3;
	/* a file name may hold what a label value must escape */
	snprintf(s->out[1].name, sizeof(s->out[1].name), "file:/tmp/a\"b\\c\nd");
	s->out[1].st.records_sent = 7;
	s->n_ifc = 2;
	s->ifc[0].ifindex = 3;
	snprintf(s->ifc[0].name, sizeof(s->ifc[0].name), "veth0");
	s->ifc[0].packets = 1200;
	s->ifc[0].octets = 560000;
	s->ifc[1].ifindex = 0;			/* the slot for the rest */
	s->ifc[1].packets = 4;
}

static int setup(void **state)
{
	size_t len;
	FILE *f;

	(void)state;
	fill(&snap);
	f = open_memstream(&text, &len);
	if (!f)
		return -1;
	metrics_format(f, &snap);
	return fclose(f);
}

static int teardown(void **state)
{
	(void)state;
	free(text);
	return 0;
}

/* @line is one whole line of the exposition. */
static int has_line(const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define assert_line(l) do { \
	if (!has_line(l)) \
		fail_msg("missing line: %s", l); \
} while (0)

static void test_exact_lines(void **state)
{
	char build[128];

	(void)state;
	snprintf(build, sizeof(build), "bpfix_build_info{version=\"%s\",abi=\"%d\"} 1",
		 BPFIX_VERSION, BPFIX_ABI_VERSION);
	assert_line(build);
	assert_line("# TYPE bpfix_packets_total counter");
	assert_line("bpfix_packets_total 1234");
	assert_line("bpfix_bytes_total 567890");
	assert_line("bpfix_frame_bytes_total 600000");
	assert_line("bpfix_kernel_flows_total 42");
	assert_line("bpfix_drained_flows_total 41");
	assert_line("bpfix_records_total 40");
	assert_line("bpfix_start_time_seconds 1700000000");
	assert_line("bpfix_last_sweep_timestamp_seconds 1700000000.123000000");
	assert_line("bpfix_collector_records_sent_total{collector=\"udp://192.0.2.9:4739\"} 30");
	assert_line("bpfix_collector_records_not_sent_total{collector=\"udp://192.0.2.9:4739\"} 10");
	assert_line("bpfix_collector_records_unsupported_total{collector=\"udp://192.0.2.9:4739\"} 3");
	assert_line("bpfix_interface_packets_total{interface=\"veth0\",ifindex=\"3\"} 1200");
	assert_line("bpfix_interface_bytes_total{interface=\"veth0\",ifindex=\"3\"} 560000");
	assert_line("bpfix_interface_packets_total{interface=\"\",ifindex=\"0\"} 4");
	assert_line("bpfix_lost_flows_total{reason=\"lru_eviction\"} 4");
	assert_line("bpfix_lost_flows_total{reason=\"insert_failed\"} 2");
	assert_line("bpfix_lost_packets_total{reason=\"lru_eviction\"} 8");
	assert_line("bpfix_lost_packets_total{reason=\"insert_failed\"} 5");
	assert_line("bpfix_lost_packets_total{reason=\"not_metered\"} 1");
	assert_line("bpfix_lost_bytes_total{reason=\"not_metered\"} 10");
	assert_line("bpfix_malformed_packets_total{reason=\"ipv4_ihl\"} 3");
	assert_line("bpfix_malformed_packets_total{reason=\"eth\"} 1");
	assert_line("bpfix_malformed_packets_total{reason=\"tcp_doff\"} 0");
	assert_line("bpfix_kernel_frag_held_total 9");
	assert_line("bpfix_memory_budget_bytes 67108864");
	assert_line("bpfix_memory_bytes{part=\"kernel_tables\"} 36008960");
	assert_line("bpfix_memory_bytes{part=\"journal\"} 28725248");
	assert_line("bpfix_possible_cpus 2");
	assert_line("bpfix_fragment_table_capacity_entries 8284");
	assert_line("# TYPE bpfix_agent_table_flows gauge");
	assert_line("bpfix_agent_table_flows 17");
	assert_line("bpfix_agent_table_capacity_flows 65536");
	assert_line("bpfix_kernel_table_capacity_flows 32768");
	assert_line("bpfix_kernel_table_drained_flows 12");
	assert_line("bpfix_sweep_last_duration_seconds 0.002000000");
	assert_line("bpfix_sweep_max_duration_seconds 12.345678901");
	/* stats shown under another name are not shown twice */
	assert_null(strstr(text, "bpfix_kernel_table_flows_0"));
	assert_null(strstr(text, "bpfix_kernel_packets_total"));
	assert_null(strstr(text, "bpfix_kernel_malformed"));
	assert_null(strstr(text, "bpfix_kernel_insert_failed"));
}

static void test_escaping(void **state)
{
	(void)state;
	/* " -> \", \ -> \\, newline -> \n: still one line */
	assert_line("bpfix_collector_records_sent_total{collector=\"file:/tmp/a\\\"b\\\\c\\nd\"} 7");
}

static void test_histogram(void **state)
{
	(void)state;
	assert_line("# TYPE bpfix_sweep_duration_seconds histogram");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"0.001\"} 1");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"0.0025\"} 3");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"0.005\"} 3");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"0.01\"} 3");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"0.025\"} 5");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"1\"} 5");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"10\"} 5");
	assert_line("bpfix_sweep_duration_seconds_bucket{le=\"+Inf\"} 6");
	assert_line("bpfix_sweep_duration_seconds_sum 1.500000000");
	assert_line("bpfix_sweep_duration_seconds_count 6");
}

static int help_count(const char *name)
{
	char pat[160];
	const char *p;
	int n = 0;

	snprintf(pat, sizeof(pat), "# HELP %s ", name);
	for (p = text; (p = strstr(p, pat)); p++)
		n++;
	return n;
}

/* Each family: HELP then TYPE, once, before its samples, and no sample of
 * a family whose TYPE was not given; counters end in _total. */
static void test_structure(void **state)
{
	char *copy = strdup(text), *line, *save = NULL;
	char family[128] = "", type[16] = "";
	int samples = 0, families = 0;

	(void)state;
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			assert_int_equal(help_count(name), 1);
			snprintf(family, sizeof(family), "%s", name);
			type[0] = '\0';
			families++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, type), 2);
			assert_string_equal(name, family);
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			continue;
		}
		assert_int_not_equal(line[0], '#');
		assert_true(type[0]);
		assert_int_equal(strncmp(line, family, strlen(family)), 0);
		samples++;
	}
	free(copy);
	assert_true(families > 30);
	assert_true(samples > families);
}

static void test_sweep_buckets(void **state)
{
	(void)state;
	assert_int_equal(metrics_sweep_bucket(0), 0);
	assert_int_equal(metrics_sweep_bucket(1000000), 0);		/* le 1 ms */
	assert_int_equal(metrics_sweep_bucket(1000001), 1);
	assert_int_equal(metrics_sweep_bucket(2500000), 1);
	assert_int_equal(metrics_sweep_bucket(10000000000ull), METRICS_SWEEP_BUCKETS - 1);
	assert_int_equal(metrics_sweep_bucket(10000000001ull), METRICS_SWEEP_BUCKETS);
}

/* ---- --metrics on the command line ------------------------------------------ */

static int parse_metrics(struct bpfix_config *cfg, const char *value, char *err)
{
	char *argv[] = { "bpfix", "--metrics", (char *)value, NULL };

	return config_parse(cfg, 3, argv, err, 256);
}

static void test_config_metrics(void **state)
{
	static struct bpfix_config cfg;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&cfg.metrics_sa;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&cfg.metrics_sa;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse_metrics(&cfg, "127.0.0.1:9402", err), 0);
	assert_string_equal(cfg.metrics, "127.0.0.1:9402");
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohs(v4->sin_port), 9402);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(cfg.metrics_salen, sizeof(*v4));

	assert_int_equal(parse_metrics(&cfg, "[::1]:65535", err), 0);
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 65535);
	assert_memory_equal(&v6->sin6_addr, &in6addr_loopback, 16);
	/* the longest: a link-local address with its scope */
	assert_int_equal(parse_metrics(&cfg, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%1]:65535",
				       err), 0);
	assert_int_equal(v6->sin6_scope_id, 1);

	assert_int_equal(parse_metrics(&cfg, ":9402", err), 0);
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 9402);
	assert_memory_equal(&v6->sin6_addr, &in6addr_any, 16);

	/* without --metrics: no listener */
	{
		char *argv[] = { "bpfix", NULL };

		assert_int_equal(config_parse(&cfg, 1, argv, err, sizeof(err)), 0);
		assert_string_equal(cfg.metrics, "");
	}
}

static void test_config_metrics_errors(void **state)
{
	static const struct {
		const char *value, *line;
	} bad[] = {
		{ "127.0.0.1", "--metrics 127.0.0.1: missing :PORT" },
		{ "127.0.0.1:", "--metrics 127.0.0.1:: port must be 1..65535" },
		{ "127.0.0.1:0", "--metrics 127.0.0.1:0: port must be 1..65535" },
		{ "127.0.0.1:65536", "--metrics 127.0.0.1:65536: port must be 1..65535" },
		{ "127.0.0.1:94x", "--metrics 127.0.0.1:94x: port must be 1..65535" },
		{ ":-1", "--metrics :-1: port must be 1..65535" },
		{ "localhost:9402", "--metrics localhost:9402: 'localhost' is not an IPv4 address" },
		{ "127.1:9402", "--metrics 127.1:9402: '127.1' is not an IPv4 address" },
		{ "256.0.0.1:9402", "--metrics 256.0.0.1:9402: '256.0.0.1' is not an IPv4" },
		{ "::1:9402", "--metrics ::1:9402: put an IPv6 address in brackets" },
		{ "[::1]9402", "--metrics [::1]9402: expected [IPv6]:PORT" },
		{ "[]:9402", "--metrics []:9402: empty brackets" },
		{ "[127.0.0.1]:9402", "--metrics [127.0.0.1]:9402: '127.0.0.1' is not an IPv6" },
		{ "", "--metrics : missing :PORT" },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%0123456789abcdef0123456789abcdef0123456789]:1",
		  "--metrics: address too long" },
	};
	static struct bpfix_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";

		if (parse_metrics(&cfg, bad[i].value, err) != -EINVAL ||
		    strncmp(err, bad[i].line, strlen(bad[i].line)) || strchr(err, '\n'))
			fail_msg("--metrics '%s': got '%s', expected '%s...'", bad[i].value, err,
				 bad[i].line);
	}
}

int main(void)
{
	const struct CMUnitTest format_tests[] = {
		cmocka_unit_test(test_exact_lines),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_structure),
	};
	const struct CMUnitTest other_tests[] = {
		cmocka_unit_test(test_sweep_buckets),
		cmocka_unit_test(test_config_metrics),
		cmocka_unit_test(test_config_metrics_errors),
	};

	return cmocka_run_group_tests_name("metrics_format", format_tests, setup, teardown) |
	       cmocka_run_group_tests_name("metrics_config", other_tests, NULL, NULL);
}
