// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetFlow v9 and v5 encoders (user/netflow.c): golden octets, written out
 * here from RFC 3954 (packet header 5.1, template FlowSet 5.2, data
 * FlowSet 5.3 and its padding, options template 6.1, field types 8) and
 * Cisco's NetFlow v5 record format (24-octet header, 48-octet record), not
 * taken from a run of the encoder; then what does not fit (-ENOSPC leaves
 * the packet as it was, v5's 30 records, IPv6 and non-IP refused), the
 * 32-bit split, the sysUptime wrap, the URIs, and an exporting process to
 * a socket here: one sequence number per v9 export packet, v5's
 * flow_sequence counting records.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "config.h"
#include "netflow.h"
#include "output.h"
#include "ipfix_records.h"
#include "wire.h"

#define B16(v) (uint8_t)((v) >> 8), (uint8_t)(v)
#define B32(v) B16((uint32_t)(v) >> 16), B16((uint32_t)(v) & 0xffff)
#define B64(v) B32((uint64_t)(v) >> 32), B32((uint64_t)(v) & 0xffffffff)
#define FT(type, len) B16(type), B16(len)	/* RFC 3954 5.2: type, length */

static uint8_t buf[65536];

static void hexdump(const char *what, const uint8_t *p, size_t len)
{
	fprintf(stderr, "%s (%zu octets):", what, len);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
	fprintf(stderr, "\n");
}

static void expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
			 size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, got_len)) {
		hexdump("got", got, got_len);
		hexdump("want", want, want_len);
	}
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
}

/* RFC 3954 5.1, 5.2: the IPv4 data template, one FlowSet. */
static void test_v9_template_ipv4(void **state)
{
	static const uint8_t want[] = {
		B16(9), B16(1), B32(1000), B32(1700000000), B32(7), B32(258),
		B16(0), B16(4 + 4 + 22 * 4),		/* FlowSet id 0, length */
		B16(256), B16(22),
		FT(8, 4), FT(12, 4), FT(7, 2), FT(11, 2), FT(4, 1), FT(32, 2), FT(60, 1),
		FT(10, 4), FT(14, 4), FT(58, 2), FT(59, 2), FT(61, 1),
		FT(22, 4), FT(21, 4), FT(1, 8), FT(2, 8),
		FT(6, 1), FT(5, 1), FT(52, 1), FT(53, 1), FT(25, 2), FT(26, 2),
	};
	struct nf9_msg m;
	size_t len;

	(void)state;
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_template(&m, NF9_TID_IPV4), 0);
	len = nf9_msg_finish(&m, 1000, 1700000000, 7, 258);
	expect_bytes(buf, len, want, sizeof(want));
	assert_int_equal(nf9_msg_add_template(&m, NF9_TID_END), -EINVAL);
}

/* RFC 3954 6.1: an options template, scope System, its FlowSet padded
 * to 32 bits; the interface table's, scope Interface. */
static void test_v9_options_template(void **state)
{
	static const uint8_t want[] = {
		B16(9), B16(2), B32(0), B32(0), B32(0), B32(1),
		B16(1), B16(4 + 6 + 5 * 4 + 2),
		B16(259), B16(4), B16(16),		/* scope length, option length */
		FT(1, 4), FT(163, 8), FT(164, 8), FT(165, 8), FT(166, 8),
		0, 0,					/* padding */
		B16(1), B16(4 + 6 + 2 * 4 + 2),
		B16(261), B16(4), B16(4),
		FT(2, 4), FT(82, 16),
		0, 0,
	};
	struct nf9_msg m;
	size_t len;

	(void)state;
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_template(&m, NF9_TID_METERING), 0);
	assert_int_equal(nf9_msg_add_template(&m, NF9_TID_INTERFACES), 0);
	len = nf9_msg_finish(&m, 0, 0, 0, 1);
	expect_bytes(buf, len, want, sizeof(want));
}

/* RFC 3954 5.3: a data FlowSet of one IPv4 record (61 octets), padded to
 * 68; FIRST/LAST_SWITCHED in ms since the epoch; ICMP in ICMP_TYPE, ports
 * 0; metered on egress: OUTPUT_SNMP, direction 1. */
static void test_v9_data_ipv4(void **state)
{
	static const uint8_t want[] = {
		B16(9), B16(1), B32(5000), B32(1700000004), B32(3), B32(258),
		B16(256), B16(4 + 61 + 3),
		10, 1, 2, 3, 10, 3, 2, 1, B16(0), B16(0), 1, B16(0x0800), 4,
		B32(0), B32(5), B16(0), B16(0), 1,
		B32(1000), B32(3000), B64(252), B64(3),
		0, 0, 64, 64, B16(84), B16(84),
		0, 0, 0,				/* padding */
	};
	struct flow_record r;
	struct nf9_msg m;
	size_t len;

	(void)state;
	icmp4_uniflow(&r);
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0 - 1000), 0);
	assert_int_equal(m.records, 1);
	assert_int_equal(m.flows, 1);
	assert_int_equal(m.packets, 3);
	assert_int_equal(m.octets, 252);
	len = nf9_msg_finish(&m, 5000, 1700000004, 3, 258);
	expect_bytes(buf, len, want, sizeof(want));
}

/* A biflow: its forward record, then the reverse one with the key
 * reversed, its own interface, VLAN field, direction, times and
 * counters; TCP_FLAGS is one octet (the NS bit does not fit). */
static void test_v9_biflow(void **state)
{
	static const uint8_t want[] = {
		B16(9), B16(2), B32(0), B32(0), B32(0), B32(1),
		B16(256), B16(4 + 2 * 61 + 2),
		192, 0, 2, 1, 198, 51, 100, 7, B16(40000), B16(443), 6, B16(0), 4,
		B32(3), B32(0), B16(100), B16(0), 0,
		B32(123), B32(1999), B64(1500), B64(10),
		0x1b, 0xb8, 60, 64, B16(52), B16(1500),
		198, 51, 100, 7, 192, 0, 2, 1, B16(443), B16(40000), 6, B16(0), 4,
		B32(0), B32(3), B16(0), B16(100), 1,
		B32(200), B32(1900), B64(6000), B64(8),
		0x13, 0, 63, 63, B16(40), B16(1500),
		0, 0,
	};
	struct flow_record r;
	struct nf9_msg m;
	size_t len;

	(void)state;
	tcp4_biflow(&r);
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0), 0);
	assert_int_equal(m.records, 2);
	assert_int_equal(m.flows, 1);
	assert_int_equal(m.packets, 18);
	assert_int_equal(m.octets, 7500);
	len = nf9_msg_finish(&m, 0, 0, 0, 1);
	expect_bytes(buf, len, want, sizeof(want));
}

/* An ICMP echo biflow's reverse record is the echo reply; a biflow side
 * without packets makes no record. */
static void test_v9_icmp_reverse(void **state)
{
	struct flow_record r;
	struct nf9_msg m;
	size_t len;

	(void)state;
	icmp4_uniflow(&r);
	r.biflow = 1;
	r.rev = r.fwd;
	r.rev.direction = FLOW_DIR_INGRESS;
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0), 0);
	len = nf9_msg_finish(&m, 0, 0, 0, 1);
	assert_int_equal(len, 20 + 4 + 2 * 61 + 2);
	/* second record: src 10.3.2.1, ICMP_TYPE 0 (echo reply) */
	assert_memory_equal(buf + 24 + 61, ((uint8_t[]){ 10, 3, 2, 1, 10, 1, 2, 3 }), 8);
	assert_memory_equal(buf + 24 + 61 + 13, ((uint8_t[]){ 0, 0 }), 2);
	assert_memory_equal(buf + 24 + 13, ((uint8_t[]){ 8, 0 }), 2);

	r.rev.packets = 0;
	r.rev.octets = 0;
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0), 0);
	assert_int_equal(m.records, 1);
}

/* Times are ms since the epoch modulo 2^32, as sysUptime: a collector's
 * (uptime - first) mod 2^32 stays right across the wrap; before the
 * epoch is 0. */
static void test_v9_uptime_wrap(void **state)
{
	struct flow_record r;
	struct nf9_msg m;
	const uint8_t *rec = buf + 24;

	(void)state;
	icmp4_uniflow(&r);
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0 - (1ull << 32) - 10), 0);
	assert_memory_equal(rec + 29, ((uint8_t[]){ B32(10), B32(2010) }), 8);
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0 + 1000), 0);
	assert_memory_equal(rec + 29, ((uint8_t[]){ B32(0), B32(1000) }), 8);
}

/* The options records: statistics with scope System, the interface table
 * with scope Interface and the name in 16 octets, zero-padded. */
static void test_v9_options_data(void **state)
{
	static const uint8_t want[] = {
		B16(9), B16(2), B32(0), B32(0), B32(0), B32(9),
		B16(260), B16(4 + 52),
		B32(9), B64(1000), B64(20), B64(300), B64(4), B64(5), B64(6),
		B16(261), B16(4 + 20),
		B32(7), 'v', 'e', 't', 'h', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct ipfix_stats s = {
		.observation_domain = 9, .exported_octets = 1000, .exported_messages = 20,
		.exported_records = 300, .not_sent_flows = 4, .not_sent_packets = 5,
		.not_sent_octets = 6,
	};
	struct nf9_msg m;
	size_t len;

	(void)state;
	nf9_msg_init(&m, buf, 1400);
	assert_int_equal(nf9_msg_add_stats(&m, NF9_TID_EXPORTING, &s), 0);
	assert_int_equal(nf9_msg_add_interface(&m, 7, "veth0"), 0);
	assert_int_equal(nf9_msg_add_stats(&m, NF9_TID_IPV4, &s), -EINVAL);
	len = nf9_msg_finish(&m, 0, 0, 0, 9);
	expect_bytes(buf, len, want, sizeof(want));
}

/* -ENOSPC leaves the packet as it was, octet for octet. */
static void test_v9_full(void **state)
{
	struct flow_record r;
	struct nf9_msg m;
	uint8_t before[256];
	uint32_t len;
	int n = 0;

	(void)state;
	tcp4_biflow(&r);
	nf9_msg_init(&m, buf, 256);	/* 20 + 4 + 2 * 122 = 268 does not fit */
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0), 0);
	n++;
	len = m.len;
	memcpy(before, buf, len);
	assert_int_equal(nf9_msg_add_flow(&m, &r, T0), -ENOSPC);
	assert_int_equal(m.len, len);
	assert_int_equal(m.count, 2 * n);
	assert_memory_equal(buf, before, len);
}

/* Cisco's v5 format: header, then 48-octet records; engine type and id
 * from the observation domain (0x0102), sampling 0. */
static void test_v5_golden(void **state)
{
	static const uint8_t want[] = {
		B16(5), B16(2), B32(5000), B32(1700000000), B32(123456789), B32(7),
		1, 2, B16(0),
		192, 0, 2, 1, 198, 51, 100, 7, B32(0), B16(3), B16(0),
		B32(10), B32(1500), B32(123), B32(1999), B16(40000), B16(443),
		0, 0x1b, 6, 0xb8, B16(0), B16(0), 0, 0, B16(0),
		198, 51, 100, 7, 192, 0, 2, 1, B32(0), B16(0), B16(3),
		B32(8), B32(6000), B32(200), B32(1900), B16(443), B16(40000),
		0, 0x13, 6, 0, B16(0), B16(0), 0, 0, B16(0),
	};
	struct flow_record r;
	struct nf5_msg m;
	size_t len;

	(void)state;
	tcp4_biflow(&r);
	nf5_msg_init(&m, NF5_MAX_RECORDS);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	assert_int_equal(m.count, 2);
	assert_int_equal(m.flows, 1);
	len = nf5_msg_finish(&m, 5000, 1700000000123456789ull, 7, 0x0102);
	expect_bytes(m.buf, len, want, sizeof(want));
}

/* ICMP: type and code in the destination port, source port 0. */
static void test_v5_icmp(void **state)
{
	struct flow_record r;
	struct nf5_msg m;

	(void)state;
	icmp4_uniflow(&r);
	nf5_msg_init(&m, NF5_MAX_RECORDS);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	assert_memory_equal(m.buf + 24 + 12, ((uint8_t[]){ B16(0), B16(5) }), 4);
	assert_memory_equal(m.buf + 24 + 32, ((uint8_t[]){ B16(0), B16(0x0800) }), 4);
}

/* 30 records a packet; a biflow needs room for both; the packet is
 * unchanged when it does not fit. */
static void test_v5_thirty(void **state)
{
	struct flow_record r;
	struct nf5_msg m;
	uint8_t before[NF5_MSG_LEN];

	(void)state;
	tcp4_biflow(&r);
	nf5_msg_init(&m, 64);
	assert_int_equal(m.max, 30);
	for (int i = 0; i < 15; i++)
		assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	memcpy(before, m.buf, sizeof(before));
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), -ENOSPC);
	assert_int_equal(m.count, 30);
	assert_int_equal(m.flows, 15);
	assert_memory_equal(m.buf, before, sizeof(before));
	assert_int_equal(nf5_msg_finish(&m, 0, 0, 0, 0), 24 + 30 * 48);

	nf5_msg_init(&m, 29);
	for (int i = 0; i < 14; i++)
		assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	icmp4_uniflow(&r);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), -ENOSPC);
}

/* Counters over 32 bits: split into records that fit, the sums exact;
 * more than a packet's worth is refused (NF5_TOO_BIG). */
static void test_v5_split(void **state)
{
	struct flow_record r;
	struct nf5_msg m;
	unsigned int n;
	uint64_t pk = 0, oc = 0;

	(void)state;
	icmp4_uniflow(&r);
	r.fwd.packets = 5;
	r.fwd.octets = 9000000001ull;		/* 3 records' worth */
	assert_int_equal(nf5_check(&r, &n), NF5_OK);
	assert_int_equal(n, 3);
	nf5_msg_init(&m, NF5_MAX_RECORDS);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), 0);
	assert_int_equal(m.count, 3);
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = m.buf + 24 + i * 48;

		pk += (uint32_t)(p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19]);
		oc += (uint32_t)((uint32_t)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23]);
	}
	assert_int_equal(pk, 5);
	assert_int_equal(oc, 9000000001ull);
	/* the first records take the remainder: 2, 2, 1 packets */
	assert_memory_equal(m.buf + 24 + 16, ((uint8_t[]){ B32(2), B32(3000000001u) }), 8);
	assert_memory_equal(m.buf + 24 + 96 + 16, ((uint8_t[]){ B32(1), B32(3000000000u) }), 8);

	r.fwd.packets = 31ull * NF5_COUNTER_MAX;
	assert_int_equal(nf5_check(&r, &n), NF5_TOO_BIG);
	r.fwd.packets = UINT64_MAX;	/* must not wrap to a few records */
	assert_int_equal(nf5_check(&r, &n), NF5_TOO_BIG);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), -EOPNOTSUPP);
	assert_int_equal(m.count, 3);
}

/* IPv6 and non-IP flows do not go as v5. */
static void test_v5_unsupported(void **state)
{
	struct flow_record r;
	struct nf5_msg m;
	unsigned int n;

	(void)state;
	icmp4_uniflow(&r);
	r.key.ip_version = 6;
	assert_int_equal(nf5_check(&r, &n), NF5_IPV6);
	nf5_msg_init(&m, NF5_MAX_RECORDS);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), -EOPNOTSUPP);
	r.key.ip_version = 0;
	assert_int_equal(nf5_check(&r, &n), NF5_L2);
	assert_int_equal(nf5_msg_add_flow(&m, &r, T0), -EOPNOTSUPP);
	assert_int_equal(m.count, 0);
	assert_string_equal(nf5_reason_names[NF5_IPV6], "IPv6");
}

static void test_uris(void **state)
{
	struct collector c;
	char err[256];

	(void)state;
	assert_int_equal(config_parse_collector("netflow9://[2001:db8::1]:2055", &c, err,
						sizeof(err)), 0);
	assert_int_equal(c.kind, COLLECTOR_NETFLOW9);
	assert_string_equal(c.host, "2001:db8::1");
	assert_string_equal(c.port, "2055");
	assert_int_equal(config_parse_collector("netflow5://collector:9995", &c, err,
						sizeof(err)), 0);
	assert_int_equal(c.kind, COLLECTOR_NETFLOW5);
	assert_string_equal(c.host, "collector");
	assert_int_equal(config_parse_collector("netflow9://host", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "-c netflow9://host: missing :PORT");
	assert_int_equal(config_parse_collector("netflow7://h:1", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "netflow9://HOST:PORT or netflow5://HOST:PORT"));
}

static int udp_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Everything that came, up to @max datagrams: their lengths in @lens. */
static int drain(int fd, uint8_t (*pkts)[2048], size_t *lens, int max)
{
	int n = 0;

	while (n < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, 300) <= 0)
			break;
		got = recv(fd, pkts[n], sizeof(pkts[n]), 0);
		assert_true(got > 0);
		lens[n++] = (size_t)got;
	}
	return n;
}

/* Data records of template 256 (61 octets) in a v9 packet, FlowSet by
 * FlowSet (padding is shorter than a record). */
static int ipv4_records(const uint8_t *p, size_t len)
{
	int n = 0;

	for (size_t off = 20; off + 4 <= len;) {
		uint16_t id = p[off] << 8 | p[off + 1], flen = p[off + 2] << 8 | p[off + 3];

		assert_true(flen >= 4 && off + flen <= len);
		assert_int_equal(flen % 4, 0);
		if (id == 256)
			n += (flen - 4) / 61;
		off += flen;
	}
	return n;
}

static struct output *open_to(int version, uint16_t port, struct bpfix_config *cfg,
			      uint32_t queue)
{
	struct collector c;
	char uri[64], err[256];
	struct output *o;

	config_defaults(cfg);
	cfg->observation_domain = 0x0102;
	cfg->export_rate = 1000000;
	cfg->udp_queue_records = queue;
	snprintf(uri, sizeof(uri), "netflow%d://127.0.0.1:%u", version, port);
	assert_int_equal(config_parse_collector(uri, &c, err, sizeof(err)), 0);
	o = output_netflow_open(&c, cfg, err, sizeof(err));
	if (!o)
		fprintf(stderr, "%s\n", err);
	assert_non_null(o);
	return o;
}

/* v9 through the output: templates first, then data; one sequence number
 * per export packet; the counts of what went. */
static void test_v9_output(void **state)
{
	static uint8_t pkts[64][2048];
	size_t lens[64];
	struct bpfix_config cfg;
	struct meter_totals t = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port;
	int fd = udp_listen(&port), n, data = 0;

	(void)state;
	o = open_to(9, port, &cfg, 0);
	tcp4_biflow(&r);
	r.fwd.first_ms = r.rev.first_ms = clock_wall_ms();
	r.fwd.last_ms = r.rev.last_ms = r.fwd.first_ms;
	for (int i = 0; i < 30; i++)	/* 60 records: several packets */
		assert_int_equal(o->ops->record(o, &r), 0);
	assert_int_equal(o->ops->tick(o, &t), 0);
	for (int i = 0; i < 20 && o->ops->pump(o, clock_mono_ns()) != UINT64_MAX; i++)
		usleep(10000);
	n = drain(fd, pkts, lens, 64);
	assert_true(n >= 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pkts[i][0] << 8 | pkts[i][1], 9);
		assert_int_equal(get32(pkts[i] + 12), i);		/* sequence */
		assert_int_equal(get32(pkts[i] + 16), 0x0102);		/* source ID */
		data += ipv4_records(pkts[i], lens[i]);
	}
	assert_int_equal(pkts[0][20] << 8 | pkts[0][21], 0);	/* templates first */
	assert_int_equal(data, 60);
	assert_int_equal(o->stats->records_sent, 30);
	assert_int_equal(o->stats->packets_sent, 30 * 18);
	assert_int_equal(o->stats->messages, n);
	assert_int_equal(o->stats->records_not_sent, 0);
	o->ops->close(o, &t);
	close(fd);
}

/* v5 through the output: flow_sequence counts records; IPv6 is counted
 * as not sent and unsupported. */
static void test_v5_output(void **state)
{
	static uint8_t pkts[16][2048];
	size_t lens[16];
	struct bpfix_config cfg;
	struct meter_totals t = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port;
	int fd = udp_listen(&port), n;
	uint32_t seq = 0;

	(void)state;
	o = open_to(5, port, &cfg, 0);
	tcp4_biflow(&r);
	for (int i = 0; i < 20; i++)	/* 40 records: 30 + 10 */
		assert_int_equal(o->ops->record(o, &r), 0);
	r.key.ip_version = 6;
	assert_int_equal(o->ops->record(o, &r), 0);
	assert_int_equal(o->ops->tick(o, &t), 0);
	for (int i = 0; i < 20 && o->ops->pump(o, clock_mono_ns()) != UINT64_MAX; i++)
		usleep(10000);
	n = drain(fd, pkts, lens, 16);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		uint16_t count = pkts[i][2] << 8 | pkts[i][3];

		assert_int_equal(lens[i], 24 + count * 48);
		assert_int_equal(get32(pkts[i] + 16), seq);
		assert_int_equal(pkts[i][20], 1);
		assert_int_equal(pkts[i][21], 2);
		seq += count;
	}
	assert_int_equal(seq, 40);
	assert_int_equal(o->stats->records, 21);
	assert_int_equal(o->stats->records_sent, 20);
	assert_int_equal(o->stats->records_not_sent, 1);
	assert_int_equal(o->records_unsupported, 1);
	assert_int_equal(o->stats->packets_not_sent, 18);
	o->ops->close(o, &t);
	close(fd);
}

/* The shared queue: what finds it full is counted as not sent, every
 * record either sent or not; v5's flow_sequence shows the loss as a gap
 * (v9's counts packets sent, the loss is in the exporting statistics). */
static void test_queue_full(void **state)
{
	static uint8_t pkts[64][2048];
	size_t lens[64];
	struct bpfix_config cfg;
	struct meter_totals t = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port;
	int fd = udp_listen(&port), n;
	uint32_t seq = 0, got = 0, gaps = 0;

	(void)state;
	o = open_to(5, port, &cfg, 45);	/* a packet holds 15 biflows: 3 packets */
	tcp4_biflow(&r);
	for (int i = 0; i < 100; i++)
		assert_int_equal(o->ops->record(o, &r), 0);
	assert_int_equal(o->ops->tick(o, &t), 0);
	for (int i = 0; i < 20 && o->ops->pump(o, clock_mono_ns()) != UINT64_MAX; i++)
		usleep(10000);
	n = drain(fd, pkts, lens, 64);
	for (int i = 0; i < n; i++) {
		uint16_t count = pkts[i][2] << 8 | pkts[i][3];

		gaps += get32(pkts[i] + 16) != seq;
		seq = get32(pkts[i] + 16) + count;
		got += count;
	}
	assert_int_equal(got, 2 * o->stats->records_sent);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 100);
	assert_true(o->stats->records_not_sent >= 100 - 45);
	assert_int_equal(o->stats->packets_not_sent, o->stats->records_not_sent * 18);
	assert_int_equal(o->records_unsupported, 0);
	assert_int_equal(gaps, 0);		/* the first packets went, the rest never */
	assert_int_equal(seq, got);
	/* the next packet says how many records were made before it */
	assert_int_equal(o->ops->record(o, &r), 0);
	assert_int_equal(o->ops->tick(o, &t), 0);
	n = drain(fd, pkts, lens, 1);
	assert_int_equal(n, 1);
	assert_int_equal(get32(pkts[0] + 16), 200);
	o->ops->close(o, &t);
	close(fd);
}

static void pump_all(struct output *o)
{
	for (int i = 0; i < 20 && o->ops->pump(o, clock_mono_ns()) != UINT64_MAX; i++)
		usleep(10000);
}

/* v9 to a collector that starts late: the sends refused meanwhile are
 * counted, and the first packet it gets carries the templates, well
 * before the 60 s refresh (udp_tx's resend, v9's hook). */
static void test_v9_late_collector(void **state)
{
	static uint8_t pkts[64][2048];
	size_t lens[64];
	struct bpfix_config cfg;
	struct meter_totals t = { 0 };
	struct flow_record r;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct output *o;
	uint16_t port;
	int fd = udp_listen(&port), n;

	(void)state;
	close(fd);
	o = open_to(9, port, &cfg, 0);
	icmp4_uniflow(&r);
	for (int j = 0; j < 5; j++) {
		for (int i = 0; i < 20; i++)
			assert_int_equal(o->ops->record(o, &r), 0);
		assert_int_equal(o->ops->tick(o, &t), 0);
		pump_all(o);
	}
	assert_true(o->stats->errors > 0);
	assert_true(o->stats->records_not_sent > 0);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 100);

	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < 20; i++)
			assert_int_equal(o->ops->record(o, &r), 0);
		assert_int_equal(o->ops->tick(o, &t), 0);
		pump_all(o);
	}
	n = drain(fd, pkts, lens, 64);
	assert_true(n >= 2);
	assert_int_equal(pkts[0][20] << 8 | pkts[0][21], NF9_SET_TEMPLATE);
	for (int i = 1; i < n; i++)	/* numbered on: no packet lost here */
		assert_int_equal(get32(pkts[i] + 12), get32(pkts[0] + 12) + i);
	o->ops->close(o, &t);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v9_template_ipv4),
		cmocka_unit_test(test_v9_options_template),
		cmocka_unit_test(test_v9_data_ipv4),
		cmocka_unit_test(test_v9_biflow),
		cmocka_unit_test(test_v9_icmp_reverse),
		cmocka_unit_test(test_v9_uptime_wrap),
		cmocka_unit_test(test_v9_options_data),
		cmocka_unit_test(test_v9_full),
		cmocka_unit_test(test_v5_golden),
		cmocka_unit_test(test_v5_icmp),
		cmocka_unit_test(test_v5_thirty),
		cmocka_unit_test(test_v5_split),
		cmocka_unit_test(test_v5_unsupported),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_v9_output),
		cmocka_unit_test(test_v5_output),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_v9_late_collector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
