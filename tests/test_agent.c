// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the agent's logic: command line, clock conversion, per-CPU
 * merge, the direction heuristic (a table of cases), expiry decisions and
 * the flow table's bookkeeping (nothing lost, nothing counted twice).
 */
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "config.h"
#include "errline.h"
#include "flowtab.h"
#include "meter.h"
#include "output.h"

/* ---- command line ----------------------------------------------------------- */

static int parse(struct bpfix_config *cfg, char *err, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = "bpfix";
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return config_parse(cfg, argc, argv, err, 256);
}

static void test_config_defaults(void **state)
{
	struct bpfix_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&cfg, err, NULL), 0);
	assert_int_equal(cfg.mode, MODE_TC);
	assert_int_equal(cfg.format, FORMAT_TEXT);
	assert_int_equal(cfg.idle_timeout_s, DEFAULT_IDLE_TIMEOUT_S);
	assert_int_equal(cfg.active_timeout_s, DEFAULT_ACTIVE_TIMEOUT_S);
	assert_int_equal(cfg.sweep_interval_ms, DEFAULT_SWEEP_INTERVAL_MS);
	assert_int_equal(cfg.flows, DEFAULT_FLOWS);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.n_collectors, 0);
	assert_int_equal(cfg.uniflow, 0);
	assert_int_equal(cfg.dedup, 0);
	assert_string_equal(cfg.pin_path, DEFAULT_PIN_PATH);
	/* the option table's defaults (config_defaults) */
	assert_int_equal(cfg.observation_domain, DEFAULT_OBSERVATION_DOMAIN);
	assert_int_equal(cfg.template_refresh_s, DEFAULT_TEMPLATE_REFRESH_S);
	assert_int_equal(cfg.ipfix_mtu, DEFAULT_IPFIX_MTU);
	assert_int_equal(cfg.tcp_queue_records, DEFAULT_TCP_QUEUE_RECORDS);
	assert_int_equal(cfg.export_rate, DEFAULT_EXPORT_RATE);
	assert_int_equal(cfg.shutdown_timeout_s, DEFAULT_SHUTDOWN_TIMEOUT_S);
	assert_int_equal(cfg.udp_queue_records, DEFAULT_UDP_QUEUE_RECORDS);
	assert_int_equal(cfg.memory, 0);
	assert_int_equal(cfg.flows_set, 0);
	assert_int_equal(cfg.udp_queue_set, 0);
	assert_int_equal(cfg.verbose, 0);
	assert_string_equal(cfg.metrics, "");
}

static void test_config_values(void **state)
{
	struct bpfix_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&cfg, err, "-i", "lo", "-m", "xdp-generic", "-f", "json",
			       "--idle-timeout", "5", "--active-timeout", "30",
			       "--sweep-interval", "250", "--flows", "4096", "--uniflow", "--dedup",
			       "--observation-domain", "4294967295", "--pin-path", "/sys/fs/bpf/x",
			       "-c", "udp://192.0.2.1:4739", "-c", "tcp://[2001:db8::1]:9995",
			       "-c", "file:/tmp/f.ipfix", "-vv", NULL), 0);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0].name, "lo");
	assert_int_equal(cfg.ifaces[0].ifindex, 1);
	assert_int_equal(cfg.mode, MODE_XDP_GENERIC);
	assert_int_equal(cfg.format, FORMAT_JSON);
	assert_int_equal(cfg.idle_timeout_s, 5);
	assert_int_equal(cfg.active_timeout_s, 30);
	assert_int_equal(cfg.sweep_interval_ms, 250);
	assert_int_equal(cfg.flows, 4096);
	assert_int_equal(cfg.uniflow, 1);
	assert_int_equal(cfg.dedup, 1);
	assert_int_equal(cfg.observation_domain, 4294967295u);
	assert_string_equal(cfg.pin_path, "/sys/fs/bpf/x");
	assert_int_equal(cfg.verbose, 2);
	assert_int_equal(cfg.n_collectors, 3);
	assert_int_equal(cfg.collectors[0].kind, COLLECTOR_UDP);
	assert_string_equal(cfg.collectors[0].host, "192.0.2.1");
	assert_string_equal(cfg.collectors[0].port, "4739");
	assert_int_equal(cfg.collectors[1].kind, COLLECTOR_TCP);
	assert_string_equal(cfg.collectors[1].host, "2001:db8::1");
	assert_string_equal(cfg.collectors[1].port, "9995");
	assert_int_equal(cfg.collectors[2].kind, COLLECTOR_FILE);
	assert_string_equal(cfg.collectors[2].path, "/tmp/f.ipfix");
}

/* Each bad command line fails with a message naming the cause. */
static void test_config_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} rows[] = {
		{ { "-i", "nosuchif0" }, "nosuchif0: no such interface" },
		{ { "-i", "lo", "-i", "lo" }, "given twice" },
		{ { "-m", "ebpf" }, "-m ebpf: use tc, xdp or xdp-generic" },
		{ { "-f", "xml" }, "-f xml: use text or json" },
		{ { "--mode", "" }, "-m : use tc" },
		{ { "--idle-timeout", "0" }, "out of range" },
		{ { "--idle-timeout", "10x" }, "not a number" },
		{ { "--idle-timeout", "-1" }, "not a number" },
		{ { "--active-timeout", "99999999999999999999" }, "not a number" },
		{ { "--sweep-interval", "5" }, "out of range" },
		{ { "--flows", "100" }, "out of range" },
		{ { "--observation-domain", "4294967296" }, "out of range" },
		{ { "--pin-path", "relative" }, "absolute" },
		{ { "-c", "udp://host" }, "missing :PORT" },
		{ { "-c", "udp://host:0" }, "port" },
		{ { "-c", "udp://host:65536" }, "port" },
		{ { "-c", "ftp://x:1" }, "unknown collector" },
		{ { "-c", "udp://[::1:4739" }, "[IPv6]:PORT" },
		{ { "-c", "udp://::1:4739" }, "brackets" },
		{ { "-c", "file:" }, "needs a path" },
		{ { "-c", "udp://:4739" }, "missing host" },
		{ { "--idle-timeout", "30", "--active-timeout", "10" }, "shorter than" },
		{ { "--memory", "1.5G" }, "--memory: '1.5G' is not a size" },
		{ { "--memory", "0" }, "--memory: 0 holds no flows" },
		{ { "--udp-queue", "0" }, "--udp-queue: 0 is out of range 1..67108864" },
		{ { "--metrics", "9402" }, "--metrics 9402: missing :PORT" },
		{ { "--uniflow=1" }, "--uniflow=1: unknown option" },
		{ { "--dedup=on" }, "--dedup=on: unknown option" },
		{ { "--u", "1" }, "--u: unknown option" },	/* --udp-queue or --uniflow */
		{ { "-m" }, "-m: needs a value" },
		{ { "--bogus" }, "unknown option" },
		{ { "-x" }, "unknown option" },
		{ { "--flows" }, "needs a value" },
		{ { "extra" }, "unexpected argument" },
	};
	struct bpfix_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char err[256] = "";
		int ret = parse(&cfg, err, rows[i].args[0], rows[i].args[1], rows[i].args[2],
				rows[i].args[3], NULL);

		if (ret != -EINVAL || !strstr(err, rows[i].msg))
			fail_msg("row %zu (%s %s): ret %d, message '%s', expected '%s'", i,
				 rows[i].args[0], rows[i].args[1] ? rows[i].args[1] : "", ret, err,
				 rows[i].msg);
	}
}

/* Every option in the usage, with the default config.h gives it. */
static void test_config_usage(void **state)
{
	static const struct {
		const char *opt;	/* as the usage's option list starts it */
		const char *dflt;	/* "" for none */
		unsigned long long num;	/* ... else with this number */
	} rows[] = {
		{ "-i, --interface IFACE", "(default: the interface of the default route)", 0 },
		{ "-m, --mode MODE", "(default tc)", 0 },
		{ "-c, --collector URI", "(default: print to stdout)", 0 },
		{ "-f, --format FORMAT", "(default text)", 0 },
		{ "--idle-timeout SEC", "(default %llu)", DEFAULT_IDLE_TIMEOUT_S },
		{ "--active-timeout SEC", "(default %llu)", DEFAULT_ACTIVE_TIMEOUT_S },
		{ "--sweep-interval MS", "(default %llu)", DEFAULT_SWEEP_INTERVAL_MS },
		{ "--memory SIZE", "(default: %lluM,", BUDGET_DEFAULT_BYTES >> 20 },
		{ "--flows N", "(default: as many as --memory holds", 0 },
		{ "--uniflow", "", 0 },
		{ "--observation-domain ID", "(default %llu)", DEFAULT_OBSERVATION_DOMAIN },
		{ "--pin-path DIR", "(default: " DEFAULT_PIN_PATH ")", 0 },
		{ "--template-refresh SEC", "(default %llu)", DEFAULT_TEMPLATE_REFRESH_S },
		{ "--ipfix-mtu BYTES", "(default %llu)", DEFAULT_IPFIX_MTU },
		{ "--tcp-queue N", "(default %llu)", DEFAULT_TCP_QUEUE_RECORDS },
		{ "--export-rate N", "(default %llu)", DEFAULT_EXPORT_RATE },
		{ "--udp-queue N", "at least %llu)", DEFAULT_UDP_QUEUE_RECORDS },
		{ "--shutdown-timeout SEC", "(default %llu)", DEFAULT_SHUTDOWN_TIMEOUT_S },
		{ "--metrics ADDR:PORT", "", 0 },
		{ "-v, --verbose", "", 0 },
		{ "-h, --help", "", 0 },
		{ "-V, --version", "", 0 },
	};
	char *text = NULL, line[96], want[128];
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	config_usage(f);
	fclose(f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *at, *end;

		snprintf(line, sizeof(line), "\n  %s ", rows[i].opt);
		at = strstr(text, line);
		if (!at)
			fail_msg("no '%s' in the usage", rows[i].opt);
		/* its help: up to the next option or the blank line */
		at += strlen(line);
		for (end = at; *end && strncmp(end, "\n  -", 4) && strncmp(end, "\n\n", 2); end++)
			;
		if (!*rows[i].dflt)
			continue;
		snprintf(want, sizeof(want), rows[i].dflt, rows[i].num);
		/* the help wraps: compare with its white space as single spaces */
		{
			char flat[512];
			size_t n = 0;

			for (const char *p = at; p < end && n + 1 < sizeof(flat); p++)
				if (*p != ' ' && *p != '\n')
					flat[n++] = *p;
				else if (n && flat[n - 1] != ' ')
					flat[n++] = ' ';
			flat[n] = '\0';
			if (!strstr(flat, want))
				fail_msg("'%s': no '%s' in '%s'", rows[i].opt, want, flat);
		}
	}
	free(text);
}

static void test_config_help_version(void **state)
{
	struct bpfix_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, err, "-h", NULL), CONFIG_HELP);
	assert_int_equal(parse(&cfg, err, "-V", NULL), CONFIG_VERSION);
}

/* ---- clocks and merging --------------------------------------------------------- */

static void test_clock_conversion(void **state)
{
	int64_t off;

	(void)state;
	assert_int_equal(clock_kernel_to_wall_ms(1500000000ull, 1000000000000ll), 1001500);
	assert_int_equal(clock_kernel_to_wall_ms(999999, 0), 0);	/* truncates */
	assert_int_equal(clock_kernel_to_wall_ms(5, -10), 0);	/* never negative */
	/* The sampled offset places "now" in monotonic time at wall-clock now. */
	off = clock_mono_offset_ns();
	{
		struct timespec b;
		uint64_t now = clock_wall_ms(), conv;

		clock_gettime(CLOCK_MONOTONIC, &b);
		conv = clock_kernel_to_wall_ms((uint64_t)b.tv_sec * 1000000000 + b.tv_nsec, off);
		assert_true(conv + 5 >= now && conv <= now + 5);
	}
}

static void test_merge_percpu(void **state)
{
	struct flow_counters pc[3] = {
		{ .packets = 2, .octets = 200, .l2_octets = 228, .first_ns = 3000000,
		  .last_ns = 9000000, .min_ip_len = 60, .max_ip_len = 140, .tcp_flags = 0x10,
		  .min_ttl = 60, .max_ttl = 64, .tos = 0x20, .flow_label = 7, .fragments = 1,
		  .tcp_syn = TCP_SYNACK_SEEN },
		{ 0 },	/* a CPU that saw nothing: its zeros must not count */
		{ .packets = 1, .octets = 40, .l2_octets = 54, .first_ns = 1000000,
		  .last_ns = 1000000, .min_ip_len = 40, .max_ip_len = 40, .tcp_flags = 0x02,
		  .min_ttl = 63, .max_ttl = 63, .tos = 0x10, .flow_label = 9,
		  .tcp_syn = TCP_SYN_SEEN, .flags = FLOW_F_GSO },
	};
	struct flow_side s;

	(void)state;
	flow_merge_percpu(pc, 3, 1000000000ll, &s);
	assert_int_equal(s.packets, 3);
	assert_int_equal(s.octets, 240);
	assert_int_equal(s.l2_octets, 282);
	assert_int_equal(s.first_ms, 1001);
	assert_int_equal(s.last_ms, 1009);
	assert_int_equal(s.min_ip_len, 40);
	assert_int_equal(s.max_ip_len, 140);
	assert_int_equal(s.min_ttl, 60);
	assert_int_equal(s.max_ttl, 64);
	assert_int_equal(s.tcp_flags, 0x12);
	assert_int_equal(s.tcp_syn, TCP_SYN_SEEN | TCP_SYNACK_SEEN);
	assert_int_equal(s.tos, 0x10);		/* from the earliest slot */
	assert_int_equal(s.flow_label, 9);
	assert_int_equal(s.fragments, 1);
	assert_int_equal(s.flags, FLOW_F_GSO);

	memset(pc, 0, sizeof(pc));
	flow_merge_percpu(pc, 3, 0, &s);
	assert_int_equal(s.packets, 0);
	assert_int_equal(s.first_ms, 0);
}

static void test_stats_sum(void **state)
{
	struct bpfix_stats pc[2] = { { 0 } }, sum;

	(void)state;
	pc[0].packets = 5;
	pc[1].packets = 7;
	pc[1].no_table = 3;
	pc[0].table_octets_1 = 11;
	stats_sum(pc, 2, &sum);
	assert_int_equal(sum.packets, 12);
	assert_int_equal(sum.no_table, 3);
	assert_int_equal(sum.table_octets_1, 11);
}

/* ---- the direction heuristic ------------------------------------------------------ */

static struct flow_key mk_key(uint8_t proto, const char *src, uint16_t sport, const char *dst,
			      uint16_t dport)
{
	struct flow_key k = { 0 };

	k.ifindex = 2;
	k.ip_version = 4;
	k.protocol = proto;
	k.ether_type = 0x0800;
	inet_pton(AF_INET, src, &k.src.ip4);
	inet_pton(AF_INET, dst, &k.dst.ip4);
	k.src_port = sport;
	k.dst_port = dport;
	return k;
}

/* The README's initiator table, a row a case. Side 0 always goes
 * 10.0.0.1:sport -> 10.0.0.2:dport; side 1 is its reverse. Every row is
 * tried and every wrong one said before the test fails. */
static const struct initiator_row {
	const char *name;
	uint8_t proto;
	uint16_t sport, dport;		/* of side 0 */
	int seen[2];			/* the side had packets */
	uint8_t syn[2];			/* tcp_syn bits */
	uint64_t first_ms[2];
	uint16_t listen;		/* a listening port on this host, 0: none */
	int want;			/* the initiator's side */
	enum initiator_rule rule;	/* ... and the rule that must decide it */
} initiator_rows[] = {
		{ .name = "syn from side 0", .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
		  .seen = { 1, 1 }, .syn = { TCP_SYN_SEEN, TCP_SYNACK_SEEN }, .first_ms = { 10, 5 }, .want = 0, .rule = INIT_TCP_SYN },
		{ .name = "syn from side 1", .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
		  .seen = { 1, 1 }, .syn = { TCP_SYNACK_SEEN, TCP_SYN_SEEN }, .first_ms = { 1, 2 }, .want = 1, .rule = INIT_TCP_SYN },
		{ .name = "syn to ephemeral port", .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
		  .seen = { 1, 0 }, .syn = { TCP_SYN_SEEN, 0 }, .first_ms = { 1, 0 }, .want = 0, .rule = INIT_TCP_SYN },
		{ .name = "only syn-ack seen", .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
		  .seen = { 1, 0 }, .syn = { TCP_SYNACK_SEEN, 0 }, .first_ms = { 1, 0 }, .want = 1, .rule = INIT_TCP_SYNACK },
		{ .name = "syn-ack beats service port", .proto = IPPROTO_TCP, .sport = 40000, .dport = 22,
		  .seen = { 1, 1 }, .syn = { TCP_SYNACK_SEEN, 0 }, .first_ms = { 1, 2 }, .want = 1, .rule = INIT_TCP_SYNACK },
		{ .name = "simultaneous open falls through", .proto = IPPROTO_TCP, .sport = 40000, .dport = 443,
		  .seen = { 1, 1 }, .syn = { TCP_SYN_SEEN, TCP_SYN_SEEN }, .first_ms = { 5, 1 }, .want = 0, .rule = INIT_SERVICE_PORT },
		{ .name = "mid-stream tcp to service", .proto = IPPROTO_TCP, .sport = 40000, .dport = 443,
		  .seen = { 1, 1 }, .first_ms = { 9, 1 }, .want = 0, .rule = INIT_SERVICE_PORT },
		{ .name = "mid-stream tcp from service", .proto = IPPROTO_TCP, .sport = 443, .dport = 40000,
		  .seen = { 1, 1 }, .first_ms = { 1, 9 }, .want = 1, .rule = INIT_SERVICE_PORT },
		{ .name = "udp dns query", .proto = IPPROTO_UDP, .sport = 53124, .dport = 53,
		  .seen = { 1, 1 }, .first_ms = { 5, 1 }, .want = 0, .rule = INIT_SERVICE_PORT },
		{ .name = "udp dns answer seen alone", .proto = IPPROTO_UDP, .sport = 53, .dport = 53124,
		  .seen = { 1, 0 }, .first_ms = { 5, 0 }, .want = 1, .rule = INIT_SERVICE_PORT },
		{ .name = "listening socket", .proto = IPPROTO_UDP, .sport = 41000, .dport = 5201,
		  .seen = { 1, 1 }, .first_ms = { 9, 1 }, .listen = 5201, .want = 0, .rule = INIT_SERVICE_PORT },
		{ .name = "listening socket, reverse", .proto = IPPROTO_TCP, .sport = 5201, .dport = 41000,
		  .seen = { 1, 1 }, .first_ms = { 1, 9 }, .listen = 5201, .want = 1, .rule = INIT_SERVICE_PORT },
		{ .name = "both privileged: first seen", .proto = IPPROTO_UDP, .sport = 123, .dport = 123,
		  .seen = { 1, 1 }, .first_ms = { 9, 1 }, .want = 1, .rule = INIT_FIRST_SEEN },
		{ .name = "both ephemeral: first seen", .proto = IPPROTO_UDP, .sport = 40000, .dport = 50000,
		  .seen = { 1, 1 }, .first_ms = { 1, 9 }, .want = 0, .rule = INIT_FIRST_SEEN },
		{ .name = "first seen, side 1 earlier", .proto = IPPROTO_UDP, .sport = 40000, .dport = 50000,
		  .seen = { 1, 1 }, .first_ms = { 9, 1 }, .want = 1, .rule = INIT_FIRST_SEEN },
		{ .name = "only side 1 seen", .proto = IPPROTO_UDP, .sport = 40000, .dport = 50000,
		  .seen = { 0, 1 }, .first_ms = { 0, 1 }, .want = 1, .rule = INIT_FIRST_SEEN },
		{ .name = "gre: first seen", .proto = IPPROTO_GRE, .sport = 0, .dport = 0,
		  .seen = { 1, 1 }, .first_ms = { 1, 2 }, .want = 0, .rule = INIT_FIRST_SEEN },
};

static void test_initiator_table(void **state)
{
	size_t i, wrong = 0;

	(void)state;
	for (i = 0; i < sizeof(initiator_rows) / sizeof(initiator_rows[0]); i++) {
		const struct initiator_row *r = &initiator_rows[i];
		struct flow_key key[2];
		struct flow_side side[2] = { { 0 } };
		struct listen_ports *lp = calloc(1, sizeof(*lp));
		enum initiator_rule rule = 0;
		int got, s;

		assert_non_null(lp);
		key[0] = mk_key(r->proto, "10.0.0.1", r->sport, "10.0.0.2", r->dport);
		flow_key_reverse(&key[0], &key[1]);
		for (s = 0; s < 2; s++) {
			side[s].tcp_syn = r->syn[s];
			side[s].first_ms = r->first_ms[s];
			side[s].packets = r->seen[s];
		}
		if (r->listen)
			listen_ports_set(lp, r->proto, r->listen);
		got = flow_initiator(key, side, r->seen, lp, &rule);
		free(lp);
		if (got != r->want || rule != r->rule) {
			print_error("row '%s': initiator %d by rule %d, expected %d by rule %d\n",
				    r->name, got, rule, r->want, r->rule);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

/* Both directions began in the same millisecond: the kernel's ns decide. */
static void test_initiator_same_ms(void **state)
{
	struct flow_key key[2];
	struct flow_side side[2] = { { .packets = 1, .first_ms = 5, .first_ns = 5000900 },
				     { .packets = 1, .first_ms = 5, .first_ns = 5000100 } };
	int seen[2] = { 1, 1 };
	enum initiator_rule rule;

	(void)state;
	key[0] = mk_key(17, "10.0.0.1", 40001, "10.0.0.2", 5001);
	flow_key_reverse(&key[0], &key[1]);
	assert_int_equal(flow_initiator(key, side, seen, NULL, &rule), 1);
	assert_int_equal(rule, INIT_FIRST_SEEN);
	side[1].first_ns = 5000950;
	assert_int_equal(flow_initiator(key, side, seen, NULL, &rule), 0);
}

static void test_initiator_icmp(void **state)
{
	struct flow_key key[2];
	struct flow_side side[2] = { { .packets = 1, .first_ms = 5 }, { .packets = 1, .first_ms = 1 } };
	int seen[2] = { 1, 1 };
	enum initiator_rule rule;

	(void)state;
	/* Side 0 is the echo reply (type 0); its reverse the request (8). */
	key[0] = mk_key(1, "10.0.0.2", 0, "10.0.0.1", 0x0000);
	flow_key_reverse(&key[0], &key[1]);
	assert_int_equal(key[1].dst_port, 0x0800);
	assert_int_equal(flow_initiator(key, side, seen, NULL, &rule), 1);
	assert_int_equal(rule, INIT_ICMP_REQUEST);
	/* ICMPv6 echo request 128 <-> reply 129 */
	key[0] = mk_key(58, "10.0.0.1", 0, "10.0.0.2", 128 << 8);
	key[0].ip_version = 6;
	flow_key_reverse(&key[0], &key[1]);
	assert_int_equal(key[1].dst_port, 129 << 8);
	assert_int_equal(flow_initiator(key, side, seen, NULL, &rule), 0);
}

/* ---- the flow table ------------------------------------------------------------------ */

struct sink {
	struct flow_record rec[64];
	int n;
};

static void sink_emit(void *ctx, const struct flow_record *r)
{
	struct sink *s = ctx;

	if (s->n < 64)
		s->rec[s->n] = *r;
	s->n++;
}

static struct flow_side mk_side(uint64_t packets, uint64_t octets, uint64_t first, uint64_t last,
				uint16_t flags, uint8_t syn)
{
	struct flow_side s = { 0 };

	s.packets = packets;
	s.octets = octets;
	s.first_ms = first;
	s.last_ms = last;
	s.tcp_flags = flags;
	s.tcp_syn = syn;
	s.min_ttl = s.max_ttl = 64;
	return s;
}

static void test_flowtab_biflow_pairing(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key c2s = mk_key(6, "10.0.0.1", 40000, "10.0.0.2", 80), s2c;
	struct flow_side d;

	(void)state;
	assert_int_equal(flowtab_init(&t, 1024, 1, 1, 15000, 60000, sink_emit, s), 0);
	flow_key_reverse(&c2s, &s2c);
	c2s.direction = FLOW_DIR_EGRESS;
	s2c.direction = FLOW_DIR_INGRESS;
	/* The server's SYN-ACK is drained before the client's SYN. */
	d = mk_side(1, 60, 1001, 1001, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_SYNACK_SEEN);
	flowtab_add(&t, &s2c, &d);
	d = mk_side(3, 180, 1000, 1500, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_SYN_SEEN);
	flowtab_add(&t, &c2s, &d);
	assert_int_equal(t.used, 1);
	assert_int_equal(flowtab_expire(&t, 2000), 0);
	assert_int_equal(flowtab_flush(&t, FLOW_END_FORCED), 1);
	assert_int_equal(s->n, 1);
	assert_true(s->rec[0].biflow);
	assert_memory_equal(&s->rec[0].key, &c2s, sizeof(c2s));	/* client first */
	assert_int_equal(s->rec[0].fwd.packets, 3);
	assert_int_equal(s->rec[0].fwd.octets, 180);
	assert_int_equal(s->rec[0].rev.packets, 1);
	assert_int_equal(s->rec[0].fwd.direction, FLOW_DIR_EGRESS);
	assert_int_equal(s->rec[0].rev.direction, FLOW_DIR_INGRESS);
	assert_int_equal(s->rec[0].biflow_direction, BIFLOW_INITIATOR);
	assert_int_equal(s->rec[0].end_reason, FLOW_END_FORCED);
	assert_int_equal(t.used, 0);
	flowtab_free(&t);
	free(s);
}

static void test_flowtab_uniflow(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key a = mk_key(17, "10.0.0.1", 5000, "10.0.0.2", 53), b;
	struct flow_side d = mk_side(2, 100, 1000, 1100, 0, 0);

	(void)state;
	flow_key_reverse(&a, &b);
	assert_int_equal(flowtab_init(&t, 1024, 0, 1, 15000, 60000, sink_emit, s), 0);
	flowtab_add(&t, &a, &d);
	flowtab_add(&t, &b, &d);
	assert_int_equal(t.used, 2);
	assert_int_equal(flowtab_flush(&t, FLOW_END_FORCED), 2);
	assert_false(s->rec[0].biflow);
	assert_false(s->rec[1].biflow);
	flowtab_free(&t);
	free(s);
}

/* A frag_find_fn: ids 1 and 2 are the two directions of a DNS query
 * (10.0.0.1:40000 <-> 10.0.0.2:53), every other id's first never came. */
static int find_dns(void *ctx, const struct frag_key *fk, struct frag_ports *out)
{
	(void)ctx;
	if (fk->id != 1 && fk->id != 2)
		return -ENOENT;
	out->src_port = fk->id == 1 ? 40000 : 53;
	out->dst_port = fk->id == 1 ? 53 : 40000;
	out->protocol = 17;
	return 0;
}

static struct flow_key mk_held(const char *src, const char *dst, uint32_t id)
{
	struct flow_key k = mk_key(17, src, 0, dst, 0);

	flow_key_hold(&k, id);
	return k;
}

/* Held keys (include/bpfix.h, FRAGMENTS IN ANY ORDER): never paired with a
 * flow whose ports look like their id, never cut by the active timeout,
 * moved to the right side of their datagram's biflow when resolved, and
 * exported with ports 0 and FLOW_F_FRAG_UNMATCHED at the idle timeout. */
static void test_flowtab_held(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key orphan = mk_held("10.0.0.1", "10.0.0.2", 0x12345);
	struct flow_key look_alike = mk_key(17, "10.0.0.2", 0x2345, "10.0.0.1", 0x0001);
	struct flow_key query = mk_key(17, "10.0.0.1", 40000, "10.0.0.2", 53);
	struct flow_key q_held = mk_held("10.0.0.1", "10.0.0.2", 1);
	struct flow_key a_held = mk_held("10.0.0.2", "10.0.0.1", 2);
	struct flow_side d;
	int i;

	(void)state;
	assert_int_equal(flowtab_init(&t, 1024, 1, 1, 5000, 1000, sink_emit, s), 0);
	d = mk_side(2, 3000, 1000, 1100, 0, 0);
	flowtab_add(&t, &orphan, &d);
	d = mk_side(1, 100, 1000, 1100, 0, 0);
	flowtab_add(&t, &look_alike, &d);
	flowtab_add(&t, &query, &d);
	d = mk_side(3, 4000, 1000, 1100, 0, 0);
	flowtab_add(&t, &q_held, &d);
	d = mk_side(4, 5000, 1000, 1100, 0, 0);
	flowtab_add(&t, &a_held, &d);
	assert_int_equal(t.used, 5);
	assert_int_equal(t.held, 3);

	assert_int_equal(flowtab_resolve_held(&t, find_dns, NULL), 2);
	assert_int_equal(t.used, 3);
	assert_int_equal(t.held, 1);
	assert_int_equal(t.stats.held_resolved, 7);
	/* the active timeout cuts the two flows, not the held entry */
	assert_int_equal(flowtab_expire(&t, 2500), 2);
	for (i = 0; i < 2; i++) {
		const struct flow_record *r = &s->rec[i];

		assert_false(r->key.frag_held);
		assert_int_equal(r->end_reason, FLOW_END_ACTIVE);
		if (r->key.src_port == 40000 || r->key.dst_port == 40000) {
			/* the query: 1 + 3 one way, 4 the other */
			assert_int_equal(r->fwd.packets + r->rev.packets, 8);
			assert_int_equal(r->key.src_port == 40000 ? r->fwd.packets : r->rev.packets, 4);
			assert_int_equal(r->fwd.octets + r->rev.octets, 100 + 4000 + 5000);
		} else {
			assert_int_equal(r->fwd.packets + r->rev.packets, 1);
		}
	}
	assert_int_equal(flowtab_expire(&t, 6099), 0);
	assert_int_equal(flowtab_expire(&t, 6100), 1);	/* the orphan; the others are empty */
	assert_int_equal(s->n, 3);
	assert_int_equal(s->rec[2].key.frag_held, 0);
	assert_int_equal(s->rec[2].key.src_port, 0);
	assert_int_equal(s->rec[2].key.dst_port, 0);
	assert_int_equal(s->rec[2].key.protocol, 17);
	assert_int_equal(s->rec[2].fwd.packets, 2);
	assert_int_equal(s->rec[2].fwd.octets, 3000);
	assert_int_equal(s->rec[2].rev.packets, 0);
	assert_true(s->rec[2].fwd.flags & FLOW_F_FRAG_UNMATCHED);
	assert_int_equal(s->rec[2].end_reason, FLOW_END_IDLE);
	assert_int_equal(t.stats.held_unmatched, 2);
	assert_int_equal(t.held, 0);
	flowtab_free(&t);
	free(s);
}

/* Expiry decisions: idle, active (with delta semantics), end detected with
 * grace, a new SYN after the end, lack of resources. */
static void test_flowtab_expiry(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key k = mk_key(17, "10.0.0.1", 5000, "10.0.0.2", 5001);
	struct flow_side d;

	(void)state;
	assert_int_equal(flowtab_init(&t, 1024, 1, 1, 10000, 30000, sink_emit, s), 0);

	/* active: a flow that never pauses gets a record every 30 s */
	d = mk_side(10, 1000, 1000, 9000, 0, 0);
	flowtab_add(&t, &k, &d);
	assert_int_equal(flowtab_expire(&t, 10000), 0);
	d = mk_side(10, 1000, 10000, 30000, 0, 0);
	flowtab_add(&t, &k, &d);
	assert_int_equal(flowtab_expire(&t, 30999), 0);	/* 1000 + 30000 not reached */
	assert_int_equal(flowtab_expire(&t, 31000), 1);
	assert_int_equal(s->rec[0].end_reason, FLOW_END_ACTIVE);
	assert_int_equal(s->rec[0].fwd.packets, 20);
	assert_int_equal(t.used, 1);				/* the flow goes on */
	d = mk_side(5, 500, 31500, 32000, 0, 0);
	flowtab_add(&t, &k, &d);
	/* idle: 10 s after its last packet */
	assert_int_equal(flowtab_expire(&t, 41999), 0);
	assert_int_equal(flowtab_expire(&t, 42000), 1);
	assert_int_equal(s->rec[1].end_reason, FLOW_END_IDLE);
	assert_int_equal(s->rec[1].fwd.packets, 5);		/* delta since the last record */
	assert_int_equal(s->rec[1].fwd.first_ms, 31500);
	assert_int_equal(t.used, 0);

	/* an active record and then nothing: the idle expiry sends no empty record */
	d = mk_side(1, 100, 50000, 50000, 0, 0);
	flowtab_add(&t, &k, &d);
	assert_int_equal(flowtab_expire(&t, 80000), 1);	/* idle fires first: 60000 */
	s->n = 0;

	/* TCP: FIN both ways, then the grace, then end of flow detected */
	{
		struct flow_key c = mk_key(6, "10.0.0.1", 40000, "10.0.0.2", 80), r;

		flow_key_reverse(&c, &r);
		d = mk_side(4, 200, 100000, 100500, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN,
			    TCP_SYN_SEEN);
		flowtab_add(&t, &c, &d);
		d = mk_side(3, 150, 100100, 100600, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN,
			    TCP_SYNACK_SEEN);
		flowtab_add(&t, &r, &d);
		assert_int_equal(flowtab_expire(&t, 101000), 0);	/* the sweep that saw it */
		assert_int_equal(flowtab_expire(&t, 101000 + END_GRACE_MS - 1), 0);
		/* the last ACK within the grace lands in the record */
		d = mk_side(1, 40, 100700, 100700, TCP_FLAG_ACK, 0);
		flowtab_add(&t, &c, &d);
		assert_int_equal(flowtab_expire(&t, 101000 + END_GRACE_MS), 1);
		assert_int_equal(s->rec[0].end_reason, FLOW_END_DETECTED);
		assert_int_equal(s->rec[0].fwd.packets, 5);
		assert_int_equal(s->rec[0].rev.packets, 3);

		/* RST ends at once (after the grace) */
		d = mk_side(2, 80, 200000, 200100, TCP_FLAG_SYN | TCP_FLAG_RST, TCP_SYN_SEEN);
		flowtab_add(&t, &c, &d);
		assert_int_equal(flowtab_expire(&t, 201000), 0);
		assert_int_equal(flowtab_expire(&t, 201000 + END_GRACE_MS), 1);
		assert_int_equal(s->rec[1].end_reason, FLOW_END_DETECTED);

		/* a new SYN on the same ports after the end starts a new flow */
		d = mk_side(2, 80, 300000, 300100, TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_ACK,
			    TCP_SYN_SEEN);
		flowtab_add(&t, &c, &d);
		d = mk_side(2, 80, 300050, 300150, TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_ACK,
			    TCP_SYNACK_SEEN);
		flowtab_add(&t, &r, &d);
		assert_int_equal(flowtab_expire(&t, 301000), 0);
		d = mk_side(1, 60, 301500, 301500, TCP_FLAG_SYN, TCP_SYN_SEEN);
		flowtab_add(&t, &c, &d);
		assert_int_equal(s->n, 3);
		assert_int_equal(s->rec[2].end_reason, FLOW_END_DETECTED);
		assert_int_equal(s->rec[2].fwd.packets, 2);
		assert_int_equal(t.used, 1);
		assert_int_equal(flowtab_flush(&t, FLOW_END_FORCED), 1);
		assert_int_equal(s->rec[3].fwd.packets, 1);
		assert_int_equal(s->rec[3].end_reason, FLOW_END_FORCED);
	}
	flowtab_free(&t);
	free(s);
}

/* A connection that ends just before its active timeout: its last record
 * carries the end, not an active timeout with an empty end to follow. */
static void test_flowtab_end_before_active(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key c = mk_key(6, "10.0.0.1", 40000, "10.0.0.2", 80), r;
	struct flow_side d;

	(void)state;
	flow_key_reverse(&c, &r);
	assert_int_equal(flowtab_init(&t, 1024, 1, 1, 2000, 2000, sink_emit, s), 0);
	d = mk_side(5, 300, 1000, 1900, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN, TCP_SYN_SEEN);
	flowtab_add(&t, &c, &d);
	d = mk_side(3, 200, 1001, 1950, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN,
		    TCP_SYNACK_SEEN);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 3000), 0);	/* active due, end pending */
	assert_int_equal(flowtab_expire(&t, 2000 + END_GRACE_MS), 1);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->rec[0].end_reason, FLOW_END_DETECTED);
	assert_int_equal(s->rec[0].fwd.packets, 5);
	assert_int_equal(s->rec[0].rev.packets, 3);
	flowtab_free(&t);
	free(s);
}

/* Uniflow: each direction's record ends with the connection, whichever
 * direction's FIN or RST is drained first; a one-way flow ends on its FIN. */
static void test_flowtab_uniflow_end(void **state)
{
	struct flowtab t;
	struct sink *s = calloc(1, sizeof(*s));
	struct flow_key c = mk_key(6, "10.0.0.1", 40000, "10.0.0.2", 80), r, o;
	struct flow_side d;

	(void)state;
	flow_key_reverse(&c, &r);
	c.direction = FLOW_DIR_EGRESS;
	r.direction = FLOW_DIR_INGRESS;
	assert_int_equal(flowtab_init(&t, 1024, 0, 1, 60000, 60000, sink_emit, s), 0);
	d = mk_side(5, 300, 1000, 1900, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN, TCP_SYN_SEEN);
	flowtab_add(&t, &c, &d);
	d = mk_side(3, 200, 1001, 1950, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_SYNACK_SEEN);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 2000), 0);
	assert_int_equal(flowtab_expire(&t, 2000 + END_GRACE_MS), 0);	/* one FIN only */
	d = mk_side(1, 40, 2100, 2100, TCP_FLAG_ACK | TCP_FLAG_FIN, 0);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 5000), 0);
	assert_int_equal(flowtab_expire(&t, 5000 + END_GRACE_MS), 2);
	assert_int_equal(s->rec[0].end_reason, FLOW_END_DETECTED);
	assert_int_equal(s->rec[1].end_reason, FLOW_END_DETECTED);
	/* RST from the server ends the client's direction too */
	d = mk_side(2, 100, 10000, 10100, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_SYN_SEEN);
	flowtab_add(&t, &c, &d);
	d = mk_side(1, 40, 10050, 10050, TCP_FLAG_RST, 0);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 11000), 0);
	assert_int_equal(flowtab_expire(&t, 11000 + END_GRACE_MS), 2);
	assert_int_equal(s->rec[2].end_reason, FLOW_END_DETECTED);
	assert_int_equal(s->rec[3].end_reason, FLOW_END_DETECTED);
	/* one way only (nothing metered back): its FIN ends it */
	o = mk_key(6, "10.0.0.1", 40001, "10.0.0.2", 80);
	d = mk_side(3, 120, 20000, 20100, TCP_FLAG_ACK | TCP_FLAG_FIN, 0);
	flowtab_add(&t, &o, &d);
	assert_int_equal(flowtab_expire(&t, 21000), 0);
	assert_int_equal(flowtab_expire(&t, 21000 + END_GRACE_MS), 1);
	assert_int_equal(s->rec[4].end_reason, FLOW_END_DETECTED);
	/* the active timeout falls between the client's FIN and the
	 * server's: the connection's only record still says "end" */
	s->n = 0;
	c.src_port = 40002;
	flow_key_reverse(&c, &r);
	r.direction = FLOW_DIR_INGRESS;
	d = mk_side(50, 3000, 30000, 89900, TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN,
		    TCP_SYN_SEEN);
	flowtab_add(&t, &c, &d);
	d = mk_side(20, 1000, 30001, 89000, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_SYNACK_SEEN);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 90000), 0);		/* active due: held */
	d = mk_side(1, 40, 90100, 90100, TCP_FLAG_RST, 0);
	flowtab_add(&t, &r, &d);
	assert_int_equal(flowtab_expire(&t, 91000), 0);
	assert_int_equal(flowtab_expire(&t, 91000 + END_GRACE_MS), 2);
	assert_int_equal(s->rec[0].end_reason, FLOW_END_DETECTED);
	assert_int_equal(s->rec[1].end_reason, FLOW_END_DETECTED);
	flowtab_free(&t);
	free(s);
}

struct counting_sink {
	uint64_t records, packets, octets;
	uint64_t by_reason[6];
};

static void counting_emit(void *ctx, const struct flow_record *r)
{
	struct counting_sink *c = ctx;

	c->records++;
	c->packets += r->fwd.packets + r->rev.packets;
	c->octets += r->fwd.octets + r->rev.octets;
	c->by_reason[r->end_reason]++;
}

/* Far more flows than the table holds: lack-of-resources expiry, oldest
 * first, and every packet in exactly one record. */
/* A table of @capacity entries far too small for its flows: every packet
 * in exactly one record. */
static void resources_exact(uint32_t capacity)
{
	struct flowtab t;
	struct counting_sink c = { 0 };
	uint64_t sent_packets = 0, sent_octets = 0, now = 1000000;
	uint32_t i, round;

	assert_int_equal(flowtab_init(&t, capacity, 1, 1, 5000, 20000, counting_emit, &c), 0);
	srand(7);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < 400; i++) {
			struct flow_key k = mk_key(17, "10.0.0.1", 1024 + rand() % 3000, "10.0.0.2",
						   (rand() & 1) ? 53 : 40000 + rand() % 50);
			struct flow_side d = mk_side(1 + rand() % 5, 0, now, now + rand() % 100, 0, 0);

			d.octets = d.packets * 100;
			if (rand() & 1) {
				struct flow_key r;

				flow_key_reverse(&k, &r);
				k = r;
			}
			sent_packets += d.packets;
			sent_octets += d.octets;
			flowtab_add(&t, &k, &d);
			assert_true(t.used <= t.capacity);
		}
		flowtab_expire(&t, now);
		assert_true(t.used <= t.high_water);
		now += 1000;
	}
	flowtab_flush(&t, FLOW_END_FORCED);
	assert_true(c.by_reason[FLOW_END_RESOURCES] > 0);
	assert_int_equal(c.packets, sent_packets);
	assert_int_equal(c.octets, sent_octets);
	assert_int_equal(t.used, 0);
	flowtab_free(&t);
}

/* Tables of 1-3 entries used to expire nothing when full (their low-water
 * mark was their capacity) and took the free list's entry -1. */
static void test_flowtab_resources_exact(void **state)
{
	const uint32_t capacities[] = { 1, 2, 3, 4, 5, 1024 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(capacities); i++)
		resources_exact(capacities[i]);
}

/* ---- formatting --------------------------------------------------------------------- */

static void test_format(void **state)
{
	struct flow_record r = { 0 };
	char buf[4096];

	(void)state;
	r.key = mk_key(6, "10.0.0.1", 40000, "10.0.0.2", 80);
	r.biflow = 1;
	r.end_reason = FLOW_END_IDLE;
	r.fwd = mk_side(3, 180, 1795511110630ull, 1795511111630ull,
			TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN, 0);
	r.rev = mk_side(2, 120, 1795511110640ull, 1795511111640ull, TCP_FLAG_ACK, 0);
	flow_format_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "2026-11-24 09:05:10.630"));
	assert_non_null(strstr(buf, "1.010"));
	assert_non_null(strstr(buf, "TCP"));
	assert_non_null(strstr(buf, "10.0.0.1:40000"));
	assert_non_null(strstr(buf, "10.0.0.2:80"));
	assert_non_null(strstr(buf, "...A..SF"));
	assert_non_null(strstr(buf, "idle"));
	flow_format_json(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"start\":\"2026-11-24T09:05:10.630Z\""));
	assert_non_null(strstr(buf, "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"sport\":40000,\"dport\":80"));
	assert_non_null(strstr(buf, "\"packets\":3,\"bytes\":180"));
	assert_non_null(strstr(buf, "\"rev_packets\":2,\"rev_bytes\":120"));
	assert_non_null(strstr(buf, "\"end_reason\":\"idle\""));
	assert_int_equal(buf[strlen(buf) - 1], '}');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_usage),
		cmocka_unit_test(test_config_help_version),
		cmocka_unit_test(test_clock_conversion),
		cmocka_unit_test(test_merge_percpu),
		cmocka_unit_test(test_stats_sum),
		cmocka_unit_test(test_initiator_table),
		cmocka_unit_test(test_initiator_same_ms),
		cmocka_unit_test(test_initiator_icmp),
		cmocka_unit_test(test_flowtab_biflow_pairing),
		cmocka_unit_test(test_flowtab_uniflow),
		cmocka_unit_test(test_flowtab_held),
		cmocka_unit_test(test_flowtab_expiry),
		cmocka_unit_test(test_flowtab_end_before_active),
		cmocka_unit_test(test_flowtab_uniflow_end),
		cmocka_unit_test(test_flowtab_resources_exact),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
