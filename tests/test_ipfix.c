// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX encoder and exporters.
 *
 * Golden tests: the expected octets are written out here from RFC 7011
 * (message header 3.1, field specifier 3.2, set header 3.3.2, template and
 * options template records 3.4.1/3.4.2, variable-length fields 7), RFC 5103
 * (reverse elements: enterprise bit and PEN 29305) and the IANA registry's
 * element ids, not taken from a run of the encoder. B16()/B32()/B64() split
 * a number into network-order octets; FS()/RFS() spell a field specifier.
 *
 * Then the transports: UDP datagrams within the MTU with consistent sequence
 * numbers, TCP through a collector that goes away and comes back (templates
 * again, sequence from 0, queued records delivered, overflow counted), a
 * collector that stops reading (the meter does not block), and a file that
 * ipfixDump (libfixbuf) decodes to the values put in, when it is installed.
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
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "config.h"
#include "ipfix.h"
#include "output.h"

#define B16(v) (uint8_t)((v) >> 8), (uint8_t)(v)
#define B32(v) B16((uint32_t)(v) >> 16), B16((uint32_t)(v) & 0xffff)
#define B64(v) B32((uint64_t)(v) >> 32), B32((uint64_t)(v) & 0xffffffff)
/* RFC 7011 3.2: IANA element (enterprise bit 0), and RFC 5103 reverse. */
#define FS(id, len)  B16(id), B16(len)
#define RFS(id, len) B16(0x8000 | (id)), B16(len), B32(29305)

#define T0 1700000000000ULL	/* 2023-11-14 22:13:20 UTC, in ms */

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
	size_t n = got_len < want_len ? got_len : want_len;

	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			fprintf(stderr, "first difference at offset %zu: got %02x, want %02x\n",
				i, got[i], want[i]);
			hexdump("got", got, got_len);
			hexdump("want", want, want_len);
			fail();
		}
	}
	if (got_len != want_len) {
		hexdump("got", got, got_len);
		hexdump("want", want, want_len);
	}
	assert_int_equal(got_len, want_len);
}

/* A message with one item, finished; returns its length. The first 16
 * octets are the header (checked by test_header). */
static size_t one_template(uint16_t tid)
{
	struct ipfix_msg m;

	ipfix_msg_init(&m, buf, sizeof(buf), 1);
	assert_int_equal(ipfix_msg_add_template(&m, tid), 0);
	return ipfix_msg_finish(&m, 0, 0);
}

static size_t one_flow(const struct flow_record *r)
{
	struct ipfix_msg m;

	ipfix_msg_init(&m, buf, sizeof(buf), 1);
	assert_int_equal(ipfix_msg_add_flow(&m, r), 0);
	assert_int_equal(m.records, 1);
	assert_int_equal(m.flows, 1);
	return ipfix_msg_finish(&m, 0, 0);
}

#define EXPECT_BODY(len, ...) do { \
	static const uint8_t want[] = { __VA_ARGS__ }; \
	expect_bytes(buf + IPFIX_MSG_HDR_LEN, (len) - IPFIX_MSG_HDR_LEN, want, sizeof(want)); \
} while (0)

/* ---- message header --------------------------------------------------- */

static void test_header(void **state)
{
	static const uint8_t want[] = {
		B16(10),		/* version */
		B16(16),		/* length: header only */
		B32(1700000000),	/* export time */
		B32(0xfffffffe),	/* sequence number */
		B32(0x01020304),	/* observation domain */
	};
	struct ipfix_msg m;
	size_t len;

	(void)state;
	ipfix_msg_init(&m, buf, sizeof(buf), 0x01020304);
	assert_true(ipfix_msg_empty(&m));
	len = ipfix_msg_finish(&m, 1700000000, 0xfffffffe);
	expect_bytes(buf, len, want, sizeof(want));

	/* the length field covers sets too */
	ipfix_msg_reset(&m);
	assert_int_equal(ipfix_msg_add_template(&m, IPFIX_TID_METERING_STATS), 0);
	len = ipfix_msg_finish(&m, 1, 2);
	assert_int_equal(len, 16 + 4 + 26);
	assert_int_equal(buf[2] << 8 | buf[3], 46);
}

/* ---- templates ------------------------------------------------------- */

#define KEY4	FS(8, 4), FS(12, 4), FS(7, 2), FS(11, 2), FS(4, 1), FS(32, 2)
#define KEY6	FS(27, 16), FS(28, 16), FS(7, 2), FS(11, 2), FS(4, 1), FS(139, 2)
/* vlanId (58) and postVlanId (59) go with the interfaces, per direction */
#define COMMON	FS(60, 1), FS(245, 2)
#define IPFWD	FS(10, 4), FS(14, 4), FS(58, 2), FS(59, 2), FS(61, 1), FS(152, 8), \
		FS(153, 8), FS(1, 8), FS(2, 8), FS(6, 2), FS(5, 1), FS(52, 1), FS(53, 1), \
		FS(25, 2), FS(26, 2)
#define IPREV	RFS(10, 4), RFS(14, 4), RFS(58, 2), RFS(59, 2), RFS(61, 1), RFS(152, 8), \
		RFS(153, 8), RFS(1, 8), RFS(2, 8), RFS(6, 2), RFS(5, 1), RFS(52, 1), RFS(53, 1), \
		RFS(25, 2), RFS(26, 2)
#define KEYL2	FS(56, 6), FS(80, 6), FS(256, 2), FS(245, 2)
#define L2FWD	FS(10, 4), FS(14, 4), FS(58, 2), FS(59, 2), FS(61, 1), FS(152, 8), \
		FS(153, 8), FS(1, 8), FS(2, 8), FS(352, 8)
#define L2REV	RFS(10, 4), RFS(14, 4), RFS(58, 2), RFS(59, 2), RFS(61, 1), RFS(152, 8), \
		RFS(153, 8), RFS(1, 8), RFS(2, 8), RFS(352, 8)

static void test_template_ipv4(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(256),
		B16(2), B16(4 + 4 + 24 * 4),		/* template set */
		B16(256), B16(24),
		KEY4, COMMON, IPFWD, FS(136, 1));
}

static void test_template_ipv4_biflow(void **state)
{
	(void)state;
	/* reverse elements before the forward ones (nfdump, see ipfix.h) */
	EXPECT_BODY(one_template(257),
		B16(2), B16(4 + 4 + 40 * 4 + 15 * 4),
		B16(257), B16(40),
		KEY4, COMMON, IPREV, IPFWD, FS(136, 1), FS(239, 1));
}

static void test_template_ipv6(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(258),
		B16(2), B16(4 + 4 + 25 * 4),
		B16(258), B16(25),
		KEY6, COMMON, IPFWD, FS(31, 4), FS(136, 1));
}

static void test_template_ipv6_biflow(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(259),
		B16(2), B16(4 + 4 + 42 * 4 + 16 * 4),
		B16(259), B16(42),
		KEY6, COMMON, IPREV, RFS(31, 4), IPFWD, FS(31, 4), FS(136, 1), FS(239, 1));
}

static void test_template_l2(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(260),
		B16(2), B16(4 + 4 + 15 * 4),
		B16(260), B16(15),
		KEYL2, L2FWD, FS(136, 1));
}

static void test_template_l2_biflow(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(261),
		B16(2), B16(4 + 4 + 26 * 4 + 10 * 4),
		B16(261), B16(26),
		KEYL2, L2REV, L2FWD, FS(136, 1), FS(239, 1));
}

static void test_options_templates(void **state)
{
	(void)state;
	/* RFC 7011 3.4.2.2: id, field count, scope field count, scope first */
	EXPECT_BODY(one_template(262),
		B16(3), B16(4 + 6 + 5 * 4),
		B16(262), B16(5), B16(1),
		FS(149, 4),		/* scope: observationDomainId */
		FS(41, 8), FS(42, 8), FS(40, 8), FS(163, 8));
	EXPECT_BODY(one_template(263),
		B16(3), B16(4 + 6 + 6 * 4),
		B16(263), B16(6), B16(1),
		FS(149, 4),
		FS(164, 8), FS(165, 8), FS(166, 8), FS(323, 8), FS(323, 8));
	EXPECT_BODY(one_template(264),
		B16(3), B16(4 + 6 + 6 * 4),
		B16(264), B16(6), B16(1),
		FS(144, 4),		/* scope: exportingProcessId */
		FS(166, 8), FS(167, 8), FS(168, 8), FS(323, 8), FS(323, 8));
	/* the layout nfdump 1.7.1 reads: scope, ingressInterface, the name in
	 * interfaceDescription, all fixed-length (ipfix.h) */
	EXPECT_BODY(one_template(265),
		B16(3), B16(4 + 6 + 3 * 4),
		B16(265), B16(3), B16(1),
		FS(149, 4),		/* scope: observationDomainId */
		FS(10, 4), FS(83, 16));
}

/* Data templates share a set; each options template gets a set of its own
 * (nfdump 1.7.1 reads only the first options template of a set). */
static void test_template_sets(void **state)
{
	struct ipfix_msg m;
	size_t len, off = IPFIX_MSG_HDR_LEN;

	(void)state;
	ipfix_msg_init(&m, buf, sizeof(buf), 1);
	assert_int_equal(ipfix_msg_add_template(&m, 256), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 260), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 262), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 263), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 258), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 9), -EINVAL);
	assert_int_equal(ipfix_msg_add_template(&m, 266), -EINVAL);
	len = ipfix_msg_finish(&m, 0, 0);

	static const struct { uint16_t id, len; } sets[] = {
		{ 2, 4 + 100 + 64 }, { 3, 4 + 26 }, { 3, 4 + 30 }, { 2, 4 + 104 },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		assert_int_equal(buf[off] << 8 | buf[off + 1], sets[i].id);
		assert_int_equal(buf[off + 2] << 8 | buf[off + 3], sets[i].len);
		off += sets[i].len;
	}
	assert_int_equal(off, len);
	assert_int_equal(m.records, 0);		/* templates are not data records */
}

/* ---- data records ---------------------------------------------------- */

static void addr4(union flow_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, &a->ip4), 1);
}

static void addr6(union flow_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a->ip6), 1);
}

static void mac(union flow_addr *a, uint8_t last)
{
	static const uint8_t m[6] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(a->mac, m, 6);
	a->mac[5] = last;
}

/* ICMP echo request, one direction, metered on egress. */
static void icmp4_uniflow(struct flow_record *r)
{
	memset(r, 0, sizeof(*r));
	r->key.ifindex = 5;
	r->key.direction = FLOW_DIR_EGRESS;
	r->key.ip_version = 4;
	r->key.protocol = 1;
	r->key.ether_type = 0x0800;
	r->key.src_port = 0x1234;	/* not a port: must not show */
	r->key.dst_port = 8 << 8 | 0;	/* type 8 code 0 */
	addr4(&r->key.src, "10.1.2.3");
	addr4(&r->key.dst, "10.3.2.1");
	r->end_reason = FLOW_END_IDLE;
	r->fwd = (struct flow_side){
		.packets = 3, .octets = 252, .l2_octets = 294,
		.first_ms = T0, .last_ms = T0 + 2000,
		.ifindex = 5, .direction = FLOW_DIR_EGRESS,
		.min_ip_len = 84, .max_ip_len = 84, .min_ttl = 64, .max_ttl = 64,
	};
}

static void test_record_ipv4(void **state)
{
	struct flow_record r;

	(void)state;
	icmp4_uniflow(&r);
	EXPECT_BODY(one_flow(&r),
		B16(256), B16(4 + 73),
		10, 1, 2, 3,		/* sourceIPv4Address */
		10, 3, 2, 1,		/* destinationIPv4Address */
		B16(0), B16(0),		/* ports: 0 for ICMP */
		1,			/* protocolIdentifier */
		B16(0x0800),		/* icmpTypeCodeIPv4 */
		4,			/* ipVersion */
		B16(0),			/* dot1qCustomerVlanId */
		B32(0), B32(5),		/* ingressInterface, egressInterface */
		B16(0), B16(0),		/* vlanId, postVlanId: untagged */
		1,			/* flowDirection: egress */
		B64(T0), B64(T0 + 2000),
		B64(252), B64(3),	/* octets, packets */
		B16(0),			/* tcpControlBits */
		0,			/* ipClassOfService */
		64, 64,			/* minimumTTL, maximumTTL */
		B16(84), B16(84),	/* min/max IP total length */
		1);			/* flowEndReason: idle */
}

static void tcp4_biflow(struct flow_record *r)
{
	memset(r, 0, sizeof(*r));
	r->key.ifindex = 3;
	r->key.direction = FLOW_DIR_INGRESS;
	r->key.ip_version = 4;
	r->key.protocol = 6;
	r->key.vlan_outer = 100;
	r->key.vlan_inner = 200;
	r->key.ether_type = 0x0800;
	r->key.src_port = 40000;
	r->key.dst_port = 443;
	addr4(&r->key.src, "192.0.2.1");
	addr4(&r->key.dst, "198.51.100.7");
	r->biflow = 1;
	r->end_reason = FLOW_END_DETECTED;
	r->biflow_direction = BIFLOW_INITIATOR;
	r->fwd = (struct flow_side){
		.packets = 10, .octets = 1500, .l2_octets = 1640,
		.first_ms = T0 + 123, .last_ms = T0 + 1999,
		.ifindex = 3, .direction = FLOW_DIR_INGRESS,
		.min_ip_len = 52, .max_ip_len = 1500,
		.tcp_flags = TCP_FLAG_NS | TCP_FLAG_ACK | TCP_FLAG_PSH | TCP_FLAG_SYN | TCP_FLAG_FIN,
		.min_ttl = 60, .max_ttl = 64, .tos = 0xb8,
	};
	r->rev = (struct flow_side){
		.packets = 8, .octets = 6000, .l2_octets = 6112,
		.first_ms = T0 + 200, .last_ms = T0 + 1900,
		.ifindex = 3, .direction = FLOW_DIR_EGRESS,
		.min_ip_len = 40, .max_ip_len = 1500,
		.tcp_flags = TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_FIN,
		.min_ttl = 63, .max_ttl = 63,
	};
}

static void test_record_ipv4_biflow(void **state)
{
	struct flow_record r;

	(void)state;
	tcp4_biflow(&r);
	EXPECT_BODY(one_flow(&r),
		B16(257), B16(4 + 128),
		192, 0, 2, 1, 198, 51, 100, 7,
		B16(40000), B16(443), 6, B16(0),
		4, B16(200),		/* inner tag */
		/* reverse: metered leaving interface 3, outer tag as postVlanId */
		B32(0), B32(3), B16(0), B16(100), 1,
		B64(T0 + 200), B64(T0 + 1900),
		B64(6000), B64(8),
		B16(0x013), 0, 63, 63, B16(40), B16(1500),
		/* forward: entering, outer tag as vlanId */
		B32(3), B32(0), B16(100), B16(0), 0,
		B64(T0 + 123), B64(T0 + 1999),
		B64(1500), B64(10),
		B16(0x11b), 0xb8, 60, 64, B16(52), B16(1500),
		3,			/* flowEndReason: end detected */
		1);			/* biflowDirection: initiator */
}

static void test_record_ipv6(void **state)
{
	struct flow_record r = { 0 };

	(void)state;
	r.key.ifindex = 2;
	r.key.ip_version = 6;
	r.key.protocol = 17;
	r.key.vlan_outer = 7;
	r.key.ether_type = 0x86dd;
	r.key.src_port = 5353;
	r.key.dst_port = 53;
	addr6(&r.key.src, "2001:db8::1");
	addr6(&r.key.dst, "2001:db8::2:3");
	r.end_reason = FLOW_END_FORCED;
	r.fwd = (struct flow_side){
		.packets = 1, .octets = 80, .l2_octets = 94,
		.first_ms = T0 + 500, .last_ms = T0 + 500,
		.ifindex = 2, .direction = FLOW_DIR_INGRESS,
		.flow_label = 0xabcde, .min_ip_len = 80, .max_ip_len = 80,
		.min_ttl = 255, .max_ttl = 255, .tos = 0x20,
	};
	EXPECT_BODY(one_flow(&r),
		B16(258), B16(4 + 101),
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3,
		B16(5353), B16(53), 17, B16(0),
		6, B16(0),
		B32(2), B32(0), B16(7), B16(0), 0,	/* ingress: vlanId 7 */
		B64(T0 + 500), B64(T0 + 500),
		B64(80), B64(1),
		B16(0), 0x20, 255, 255, B16(80), B16(80),
		B32(0xabcde),		/* flowLabelIPv6 */
		4);			/* flowEndReason: forced */
}

/* A biflow whose reverse saw nothing: reverse counters 0, reverse times
 * those of the forward direction (never 1970). */
static void test_record_ipv6_biflow_empty_reverse(void **state)
{
	struct flow_record r = { 0 };

	(void)state;
	r.key.ifindex = 2;
	r.key.ip_version = 6;
	r.key.protocol = 58;
	r.key.ether_type = 0x86dd;
	r.key.dst_port = 128 << 8;	/* echo request */
	addr6(&r.key.src, "fe80::1");
	addr6(&r.key.dst, "ff02::1");
	r.biflow = 1;
	r.end_reason = FLOW_END_IDLE;
	r.biflow_direction = BIFLOW_INITIATOR;
	r.fwd = (struct flow_side){
		.packets = 4, .octets = 416, .l2_octets = 472,
		.first_ms = T0, .last_ms = T0 + 3000,
		.ifindex = 2, .direction = FLOW_DIR_INGRESS, .flow_label = 0x12345,
		.min_ip_len = 104, .max_ip_len = 104, .min_ttl = 64, .max_ttl = 64,
	};
	r.rev.ifindex = 2;
	r.rev.direction = FLOW_DIR_EGRESS;
	EXPECT_BODY(one_flow(&r),
		B16(259), B16(4 + 160),
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		B16(0), B16(0), 58, B16(0x8000),	/* icmpTypeCodeIPv6 128/0 */
		6, B16(0),
		/* reverse */
		B32(0), B32(2), B16(0), B16(0), 1,
		B64(T0), B64(T0 + 3000),		/* borrowed */
		B64(0), B64(0),
		B16(0), 0, 0, 0, B16(0), B16(0),
		B32(0),					/* reverseFlowLabelIPv6 */
		/* forward */
		B32(2), B32(0), B16(0), B16(0), 0,
		B64(T0), B64(T0 + 3000),
		B64(416), B64(4),
		B16(0), 0, 64, 64, B16(104), B16(104),
		B32(0x12345),
		1, 1);
}

static void test_record_l2(void **state)
{
	struct flow_record r = { 0 };

	(void)state;
	r.key.ifindex = 4;
	r.key.ether_type = 0x0806;
	mac(&r.key.src, 1);
	memset(r.key.dst.mac, 0xff, 6);
	r.end_reason = FLOW_END_IDLE;
	r.fwd = (struct flow_side){
		.packets = 2, .octets = 56, .l2_octets = 120,
		.first_ms = T0, .last_ms = T0 + 10,
		.ifindex = 4, .direction = FLOW_DIR_INGRESS,
	};
	EXPECT_BODY(one_flow(&r),
		B16(260), B16(4 + 70),
		0x02, 0, 0, 0, 0, 0x01,			/* sourceMacAddress */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* destinationMacAddress */
		B16(0x0806), B16(0),
		B32(4), B32(0), B16(0), B16(0), 0,
		B64(T0), B64(T0 + 10),
		B64(56), B64(2), B64(120),		/* octets, packets, layer2 octets */
		1);
}

/* QinQ, and a biflow whose forward direction saw nothing this interval
 * (an active-timeout record): forward times are the reverse's. */
static void test_record_l2_biflow(void **state)
{
	struct flow_record r = { 0 };

	(void)state;
	r.key.ifindex = 6;
	r.key.ether_type = 0x88b5;
	r.key.vlan_outer = 10;
	r.key.vlan_inner = 20;
	mac(&r.key.src, 0x0a);
	mac(&r.key.dst, 0x0b);
	r.biflow = 1;
	r.end_reason = FLOW_END_ACTIVE;
	r.biflow_direction = BIFLOW_ARBITRARY;
	r.fwd.ifindex = 6;
	r.fwd.direction = FLOW_DIR_INGRESS;
	r.rev = (struct flow_side){
		.packets = 7, .octets = 700, .l2_octets = 798,
		.first_ms = T0 + 1000, .last_ms = T0 + 1500,
		.ifindex = 6, .direction = FLOW_DIR_EGRESS,
	};
	EXPECT_BODY(one_flow(&r),
		B16(261), B16(4 + 124),
		0x02, 0, 0, 0, 0, 0x0a, 0x02, 0, 0, 0, 0, 0x0b,
		B16(0x88b5), B16(20),
		/* reverse: egress, outer tag 10 as postVlanId */
		B32(0), B32(6), B16(0), B16(10), 1,
		B64(T0 + 1000), B64(T0 + 1500),
		B64(700), B64(7), B64(798),
		/* forward */
		B32(6), B32(0), B16(10), B16(0), 0,
		B64(T0 + 1000), B64(T0 + 1500),		/* borrowed */
		B64(0), B64(0), B64(0),
		2,					/* active timeout */
		0);					/* arbitrary */
}

/* ---- options records ------------------------------------------------- */

static const struct ipfix_stats stats = {
	.observation_domain = 0x0a0b0c0d,
	.exporting_process = 7,
	.exported_messages = 11,
	.exported_records = 222,
	.exported_octets = 33333,
	.observed_flows = 44,
	.ignored_packets = 5,
	.ignored_octets = 600,
	.lost_flows = 2,
	.ignored_first_ms = T0,
	.ignored_last_ms = T0 + 60000,
	.not_sent_flows = 3,
	.not_sent_packets = 30,
	.not_sent_octets = 3000,
	.not_sent_first_ms = T0 + 10000,
	.not_sent_last_ms = T0 + 20000,
};

static size_t one_stats(uint16_t tid)
{
	struct ipfix_msg m;

	ipfix_msg_init(&m, buf, sizeof(buf), 1);
	assert_int_equal(ipfix_msg_add_stats(&m, tid, &stats), 0);
	assert_int_equal(m.records, 1);
	assert_int_equal(m.flows, 0);
	return ipfix_msg_finish(&m, 0, 0);
}

static void test_options_records(void **state)
{
	struct ipfix_msg m;

	(void)state;
	EXPECT_BODY(one_stats(262),
		B16(262), B16(4 + 36),
		B32(0x0a0b0c0d), B64(11), B64(222), B64(33333), B64(44));
	EXPECT_BODY(one_stats(263),
		B16(263), B16(4 + 44),
		B32(0x0a0b0c0d), B64(5), B64(600), B64(2), B64(T0), B64(T0 + 60000));
	EXPECT_BODY(one_stats(264),
		B16(264), B16(4 + 44),
		B32(7), B64(3), B64(30), B64(3000), B64(T0 + 10000), B64(T0 + 20000));
	ipfix_msg_init(&m, buf, sizeof(buf), 1);
	assert_int_equal(ipfix_msg_add_stats(&m, 256, &stats), -EINVAL);
}

/* Fixed-length names, zero-padded, cut so the last octet is always 0
 * (nfdump 1.7.1 overwrites it); a domain and an index of their own. */
static void test_interface_records(void **state)
{
	struct ipfix_msg m;
	size_t len;

	(void)state;
	ipfix_msg_init(&m, buf, sizeof(buf), 0);
	assert_int_equal(ipfix_msg_add_interface(&m, 4242, 2, "eth0"), 0);
	assert_int_equal(ipfix_msg_add_interface(&m, 4242, 1, "lo"), 0);
	assert_int_equal(ipfix_msg_add_interface(&m, 7, 0x01020304, "0123456789abcdefgh"), 0);
	assert_int_equal(ipfix_msg_add_interface(&m, 7, 9, NULL), 0);
	assert_int_equal(m.records, 4);
	assert_int_equal(m.flows, 0);
	len = ipfix_msg_finish(&m, 0, 0);
	EXPECT_BODY(len,
		B16(265), B16(4 + 4 * 24),	/* one set */
		B32(4242), B32(2), 'e', 't', 'h', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		B32(4242), B32(1), 'l', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		B32(7), B32(0x01020304),
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 0,
		B32(7), B32(9), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

/* ---- message size limit ----------------------------------------------- */

static void test_split(void **state)
{
	struct flow_record r;
	struct ipfix_msg m;
	uint8_t small[16 + 4 + 3 * 73];
	size_t len;

	(void)state;
	icmp4_uniflow(&r);
	/* exactly three 73-octet records fit */
	ipfix_msg_init(&m, small, sizeof(small), 0x42);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	assert_int_equal(m.len, sizeof(small));
	assert_int_equal(ipfix_msg_add_flow(&m, &r), -ENOSPC);
	assert_int_equal(ipfix_msg_add_template(&m, 256), -ENOSPC);
	assert_int_equal(m.len, sizeof(small));		/* nothing half-written */
	assert_int_equal(m.records, 3);
	assert_int_equal(m.packets, 9);
	assert_int_equal(m.octets, 756);
	len = ipfix_msg_finish(&m, 1700000000, 1000);
	static const uint8_t hdr1[] = {
		B16(10), B16(sizeof(small)), B32(1700000000), B32(1000), B32(0x42),
		B16(256), B16(4 + 3 * 73),
	};
	expect_bytes(small, sizeof(hdr1), hdr1, sizeof(hdr1));
	assert_int_equal(len, sizeof(small));

	/* the next message carries on: sequence 1003 */
	ipfix_msg_reset(&m);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	len = ipfix_msg_finish(&m, 1700000001, 1000 + 3);
	static const uint8_t hdr2[] = {
		B16(10), B16(16 + 4 + 73), B32(1700000001), B32(1003), B32(0x42),
		B16(256), B16(4 + 73),
	};
	expect_bytes(small, sizeof(hdr2), hdr2, sizeof(hdr2));
	assert_int_equal(len, 16 + 4 + 73);

	/* a record of another template needs a set header too */
	struct flow_record r6;

	memset(&r6, 0, sizeof(r6));
	r6.key.ip_version = 6;
	ipfix_msg_init(&m, small, 16 + 4 + 73 + 4 + 101 - 1, 0x42);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	assert_int_equal(ipfix_msg_add_flow(&m, &r6), -ENOSPC);
	ipfix_msg_init(&m, small, 16 + 4 + 73 + 4 + 101, 0x42);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	assert_int_equal(ipfix_msg_add_flow(&m, &r6), 0);
	assert_int_equal(m.len, 16 + 4 + 73 + 4 + 101);

	/* an options template needs its own set header */
	ipfix_msg_init(&m, small, 16 + 4 + 100 + 4 + 26 - 1, 0x42);
	assert_int_equal(ipfix_msg_add_template(&m, 256), 0);
	assert_int_equal(ipfix_msg_add_template(&m, 262), -ENOSPC);

	/* sequence numbers wrap modulo 2^32 */
	ipfix_msg_reset(&m);
	ipfix_msg_finish(&m, 0, (uint32_t)(0xffffffffu + 3u));
	static const uint8_t wrap[] = { B32(2) };
	expect_bytes(small + 8, 4, wrap, 4);
}

/* ---- a minimal decoder for the transport tests -------------------------- */

/* Sequence numbers and templates are per observation domain (RFC 7011 3.1,
 * 8): a data set decodes only with a template of its own domain. */
struct domain {
	uint32_t odid;
	unsigned int messages;
	uint32_t first_seq, next_seq;
	int rec_len[IPFIX_TEMPLATES];
};

struct decoded {
	unsigned int messages;
	unsigned int templates[IPFIX_TEMPLATES];	/* template records seen per id */
	unsigned int data[IPFIX_TEMPLATES];		/* data records seen per id */
	struct domain dom[2];				/* in the order they appeared */
	unsigned int n_dom;
	unsigned int seq_errors;
	size_t max_len;
	uint64_t packets;				/* forward packets of flow records */
	uint64_t not_sent_flows;			/* last exporting reliability record */
};

static struct domain *domain_of(struct decoded *d, uint32_t odid)
{
	for (unsigned int i = 0; i < d->n_dom; i++)
		if (d->dom[i].odid == odid)
			return &d->dom[i];
	assert_true(d->n_dom < 2);
	d->dom[d->n_dom].odid = odid;
	return &d->dom[d->n_dom++];
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void decode_templates(struct decoded *d, struct domain *dom, const uint8_t *p,
			     size_t len, int options)
{
	while (len >= 4) {
		uint16_t tid = get16(p), n = get16(p + 2), scope = options ? get16(p + 4) : 0;
		size_t off = options ? 6 : 4;
		int rec = 0;

		assert_in_range(tid, IPFIX_TID_FIRST, IPFIX_TID_END - 1);
		assert_true(!options || (scope && scope <= n));
		for (unsigned int i = 0; i < n; i++) {
			uint16_t id = get16(p + off), flen = get16(p + off + 2);

			rec += flen;
			off += id & 0x8000 ? 8 : 4;
		}
		dom->rec_len[tid - IPFIX_TID_FIRST] = rec;
		d->templates[tid - IPFIX_TID_FIRST]++;
		p += off;
		len -= off;
	}
	assert_int_equal(len, 0);
}

static unsigned int decode_data(struct decoded *d, struct domain *dom, uint16_t tid,
				const uint8_t *p, size_t len)
{
	int rec = dom->rec_len[tid - IPFIX_TID_FIRST];
	unsigned int n = 0;

	assert_int_not_equal(rec, 0);	/* the template came first, in this domain */
	while (len > 0) {
		size_t l = rec;

		assert_true(l <= len);
		if (tid == IPFIX_TID_IPV4)
			d->packets += get64(p + 4 + 4 + 2 + 2 + 1 + 2 + 1 + 2 + 4 + 4 + 2 + 2 + 1 +
					    16 + 8);
		if (tid == IPFIX_TID_EXPORTING_RELIABILITY)
			d->not_sent_flows = get64(p + 4);
		p += l;
		len -= l;
		n++;
	}
	d->data[tid - IPFIX_TID_FIRST] += n;
	return n;
}

/* One message; returns its length. */
static size_t decode_msg(struct decoded *d, const uint8_t *p, size_t avail)
{
	size_t len, off = IPFIX_MSG_HDR_LEN;
	uint32_t seq, records = 0;
	struct domain *dom;

	assert_true(avail >= IPFIX_MSG_HDR_LEN);
	assert_int_equal(get16(p), 10);
	len = get16(p + 2);
	assert_true(len <= avail);
	seq = get32(p + 8);
	dom = domain_of(d, get32(p + 12));
	if (dom->messages && seq != dom->next_seq)
		d->seq_errors++;
	if (!dom->messages)
		dom->first_seq = seq;
	while (off < len) {
		uint16_t id = get16(p + off), slen = get16(p + off + 2);

		assert_true(slen >= 4 && off + slen <= len);
		if (id == 2 || id == 3)
			decode_templates(d, dom, p + off + 4, slen - 4, id == 3);
		else
			records += decode_data(d, dom, id, p + off + 4, slen - 4);
		off += slen;
	}
	assert_int_equal(off, len);
	dom->next_seq = seq + records;
	dom->messages++;
	d->messages++;
	if (len > d->max_len)
		d->max_len = len;
	return len;
}

/* ---- transports --------------------------------------------------------- */

static void config(struct bpfix_config *cfg)
{
	config_defaults(cfg);
	cfg->observation_domain = 77;
	cfg->n_ifaces = 1;
	strcpy(cfg->ifaces[0].name, "eth0");
	cfg->ifaces[0].ifindex = 2;
}

static struct output *open_uri(const char *uri, const struct bpfix_config *cfg)
{
	struct collector c;
	char err[512] = "";
	struct output *o;

	assert_int_equal(config_parse_collector(uri, &c, err, sizeof(err)), 0);
	o = output_ipfix_open(&c, cfg, err, sizeof(err));
	if (!o)
		fprintf(stderr, "%s\n", err);
	assert_non_null(o);
	return o;
}

static struct meter_totals totals(void)
{
	return (struct meter_totals){
		.since_ms = T0, .now_ms = T0 + 5000, .packets_seen = 1000,
		.flows_observed = 40, .ignored_packets = 3, .ignored_octets = 300,
		.flows_lost = 1, .records_emitted = 30,
	};
}

static int udp_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rcvbuf = 1 << 20;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_error_lines(void **state)
{
	struct bpfix_config cfg;
	struct collector c;
	char err[512] = "";

	(void)state;
	/* .invalid never resolves (RFC 6761); do not wait long for a DNS
	 * server that does not answer. */
	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	config(&cfg);
	assert_int_equal(config_parse_collector("udp://nohost.invalid:4739", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "udp://nohost.invalid:4739: cannot resolve nohost.invalid: "));

	assert_int_equal(config_parse_collector("tcp://nohost.invalid:4739", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "tcp://nohost.invalid:4739: cannot resolve nohost.invalid: "));

	assert_int_equal(config_parse_collector("file:/nonexistent/dir/x.ipfix", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_string_equal(err, "file:/nonexistent/dir/x.ipfix: cannot open "
			    "/nonexistent/dir/x.ipfix: No such file or directory");
}

/* What agent_stop does before closing: pump until nothing waits. */
static void deliver(struct output *o)
{
	uint64_t wake;

	while (o->ops->pump && (wake = o->ops->pump(o, clock_mono_ns())) != UINT64_MAX) {
		struct timespec ts = { .tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000 };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

/* Messages never exceed the MTU (minus IPv4 + UDP headers), records are
 * never split, sequence numbers add up; nothing listening is no error. */
static void test_udp(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port;
	char uri[64];
	uint8_t dgram[65536];
	int fd;
	ssize_t n;

	(void)state;
	config(&cfg);
	cfg.ipfix_mtu = 576;
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	icmp4_uniflow(&r);
	for (int i = 0; i < 40; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	deliver(o);
	o->ops->close(o, &t);

	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0) {
		assert_true(n <= 576 - 28);
		assert_int_equal(decode_msg(&d, dgram, n), n);
	}
	close(fd);
	assert_int_equal(d.seq_errors, 0);
	/* flows in the configured domain, options in domain 0 (nfcapd), each
	 * with its own sequence from 0 */
	assert_int_equal(d.n_dom, 2);
	assert_int_equal(d.dom[0].odid, 77);
	assert_int_equal(d.dom[0].first_seq, 0);
	assert_int_equal(d.dom[0].next_seq, 40);
	assert_int_equal(d.dom[1].odid, IPFIX_ODID_OPTIONS);
	assert_int_equal(d.dom[1].first_seq, 0);
	assert_int_equal(d.dom[1].next_seq, 2 * 4);	/* 3 statistics + 1 interface */
	assert_int_equal(d.data[0], 40);
	assert_int_equal(d.packets, 40 * 3);
	assert_true(d.max_len > 576 - 28 - 73);		/* messages are filled */
	/* flow templates once (refresh is 60 s); options at the first tick and
	 * at close, each time with their templates */
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d.templates[i], IPFIX_TID_FIRST + i < IPFIX_TID_OPTIONS ? 1 : 2);
	assert_int_equal(d.data[IPFIX_TID_METERING_STATS - IPFIX_TID_FIRST], 2);
	assert_int_equal(d.data[IPFIX_TID_INTERFACES - IPFIX_TID_FIRST], 2);

	/* flows in domain 0 share it, and its one sequence, with the options */
	struct decoded d0 = { 0 };

	cfg.observation_domain = 0;
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	for (int i = 0; i < 10; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	deliver(o);
	o->ops->close(o, &t);
	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(&d0, dgram, n), n);
	close(fd);
	assert_int_equal(d0.seq_errors, 0);
	assert_int_equal(d0.n_dom, 1);
	assert_int_equal(d0.dom[0].odid, 0);
	assert_int_equal(d0.dom[0].next_seq, 10 + 2 * 4);
	cfg.observation_domain = 77;

	/* nobody listening: ECONNREFUSED is counted, not fatal */
	fd = udp_listen(&port);
	close(fd);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	for (int j = 0; j < 5; j++) {
		for (int i = 0; i < 20; i++)
			o->ops->record(o, &r);
		assert_int_equal(o->ops->tick(o, &t), 0);
		deliver(o);
	}
	assert_int_equal(o->stats->records, 100);
	assert_true(o->stats->errors > 0);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 100);

	/* the collector starts late: what it receives decodes at once (the
	 * decoder insists on templates before data), well before the 60 s
	 * template refresh */
	struct decoded late = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int j = 0; j < 3; j++) {
		for (int i = 0; i < 20; i++)
			o->ops->record(o, &r);
		assert_int_equal(o->ops->tick(o, &t), 0);
		deliver(o);
	}
	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(&late, dgram, n), n);
	close(fd);
	assert_true(late.data[0] >= 20);
	o->ops->close(o, &t);

	/* an MTU that leaves no room for a template is refused at open */
	struct collector c;
	char err[512];

	cfg.ipfix_mtu = 200;
	assert_int_equal(config_parse_collector(uri, &c, err, sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "MTU of 200"));
}

/* Records a collector has received so far, data records of the flow
 * templates only. */
static uint64_t drain_flows(int fd, struct decoded *d)
{
	uint8_t dgram[65536];
	ssize_t n;

	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(d, dgram, n), n);
	return d->data[0];
}

/* The agent's loop in pretend time: pump at each wake-up the output asks
 * for, from @from_ns until @to_ns. Returns the last answer. */
static uint64_t pump_until(struct output *o, uint64_t from_ns, uint64_t to_ns)
{
	uint64_t w = from_ns;

	while ((w = o->ops->pump(o, w)) != UINT64_MAX && w <= to_ns)
		;
	return w;
}

/* The pacer (ipfix_export.c): a sweep's records go out at --export-rate at
 * most, in bursts of a few milliseconds' worth, and the queue is bounded:
 * what does not fit is counted as not sent, exactly. Time is the pump's
 * argument, so nothing here depends on how fast the machine is. */
static void test_udp_pacing(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d = { 0 };
	struct flow_record r;
	struct output *o;
	uint64_t now, got;
	uint16_t port;
	char uri[64];
	int fd;

	(void)state;
	config(&cfg);
	cfg.export_rate = 1000;		/* records a second */
	cfg.sweep_interval_ms = 100;	/* 2000 records: the pace stays at the rate */
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	assert_non_null(o->ops->pump);
	icmp4_uniflow(&r);
	for (int i = 0; i < 2000; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	now = clock_mono_ns();
	/* at the tick: one burst, a message or so (20 uniflow records) */
	got = drain_flows(fd, &d);
	assert_in_range(got, 1, 40);
	/* 100 ms later: 100 more records, give or take a message */
	pump_until(o, now, now + 100000000);
	got = drain_flows(fd, &d);
	assert_in_range(got, 100 - 20, 100 + 40 + 20);
	/* 1 s later: 1000 more; no message is sent early */
	pump_until(o, now + 100000000, now + 1100000000);
	got = drain_flows(fd, &d);
	assert_in_range(got, 1100 - 20, 1100 + 40 + 20);
	assert_int_equal(o->stats->records_sent, got);
	assert_int_equal(o->stats->records_not_sent, 0);
	/* the rest by 2 s; then nothing waits */
	assert_int_equal(pump_until(o, now + 1100000000, now + 2100000000), UINT64_MAX);
	assert_int_equal(drain_flows(fd, &d), 2000);
	assert_int_equal(d.seq_errors, 0);
	o->ops->close(o, &t);

	/* A queue of 100 records, 1000 in one sweep: the first messages that
	 * fit wait (100 records less at most two messages' shortfall: the
	 * first carries templates), the rest are not sent, and every record
	 * is one or the other. */
	cfg.udp_queue_records = 100;
	o = open_uri(uri, &cfg);
	for (int i = 0; i < 1000; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	assert_in_range(o->stats->records_not_sent, 1000 - 100, 1000 - 100 + 40);
	assert_int_equal(o->stats->packets_not_sent, o->stats->records_not_sent * 3);
	now = clock_mono_ns();
	assert_int_equal(pump_until(o, now, now + 10 * 1000000000ull), UINT64_MAX);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 1000);
	/* close: a record still queued is not sent, and said so */
	for (int i = 0; i < 200; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	o->ops->close(o, &t);
	close(fd);
}

static int tcp_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int tcp_accept(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* Read what arrives within @ms and decode it as a stream of messages. */
static void tcp_read(int fd, struct decoded *d, int ms)
{
	static uint8_t stream[1 << 22];
	size_t have = 0, off = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (poll(&pfd, 1, ms) == 1) {
		n = recv(fd, stream + have, sizeof(stream) - have, 0);
		if (n <= 0)
			break;
		have += n;
	}
	while (off < have)
		off += decode_msg(d, stream + off, have - off);
}

static void tick_for(struct output *o, const struct meter_totals *t, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		o->ops->tick(o, t);
		usleep(50 * 1000);
	}
}

static void test_tcp_reconnect(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d1 = { 0 }, d2 = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port = 0;
	char uri[64];
	int lfd, cfd;

	(void)state;
	config(&cfg);
	cfg.tcp_queue_records = 25;
	lfd = tcp_listen(&port);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	cfd = tcp_accept(lfd, 1000);
	assert_true(cfd >= 0);
	icmp4_uniflow(&r);
	for (int i = 0; i < 10; i++)
		o->ops->record(o, &r);
	o->ops->tick(o, &t);
	tcp_read(cfd, &d1, 200);
	/* TCP: one domain, options records counted in its sequence */
	assert_int_equal(d1.n_dom, 1);
	assert_int_equal(d1.dom[0].odid, 77);
	assert_int_equal(d1.dom[0].first_seq, 0);
	assert_int_equal(d1.seq_errors, 0);
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d1.templates[i], 1);
	assert_int_equal(d1.data[0], 10);
	assert_int_equal(o->stats->records_sent, 10);

	/* the collector goes away: records wait in the queue, what does not
	 * fit (25 held) is counted */
	close(cfd);
	close(lfd);
	tick_for(o, &t, 200);	/* notices EOF */
	for (int i = 0; i < 30; i++)
		o->ops->record(o, &r);
	o->ops->tick(o, &t);
	assert_int_equal(o->stats->records_not_sent, 5);
	assert_int_equal(o->stats->packets_not_sent, 15);
	assert_int_equal(o->stats->octets_not_sent, 5 * 252);

	/* back: templates again, sequence from 0, the 25 held records, and an
	 * exporting reliability record telling of the 5 lost */
	lfd = tcp_listen(&port);
	for (int i = 0; i < 60 && (cfd = tcp_accept(lfd, 0)) < 0; i++)
		tick_for(o, &t, 50);
	assert_true(cfd >= 0);
	o->ops->tick(o, &t);
	tcp_read(cfd, &d2, 200);
	assert_int_equal(d2.n_dom, 1);
	assert_int_equal(d2.dom[0].first_seq, 0);
	assert_int_equal(d2.seq_errors, 0);
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d2.templates[i], 1);
	assert_int_equal(d2.data[0], 25);
	assert_int_equal(d2.not_sent_flows, 5);
	assert_int_equal(o->stats->records_sent, 35);
	assert_int_equal(o->stats->records, 40);
	o->ops->close(o, &t);
	close(cfd);
	close(lfd);
}

/* A collector that accepts and never reads: the socket buffers fill, then
 * the queue, then records are dropped and counted; record() stays fast. */
static void test_tcp_stalled(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct flow_record r;
	struct output *o;
	struct timespec a, b;
	uint16_t port = 0;
	char uri[64];
	int lfd, cfd, small = 4096;
	const int total = 200000;

	(void)state;
	config(&cfg);
	cfg.tcp_queue_records = 1000;
	lfd = tcp_listen(&port);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	cfd = tcp_accept(lfd, 1000);
	assert_true(cfd >= 0);
	o->ops->tick(o, &t);
	icmp4_uniflow(&r);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < total; i++) {
		o->ops->record(o, &r);
		if (i % 20000 == 0)
			o->ops->tick(o, &t);
	}
	o->ops->tick(o, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 2);
	assert_int_equal(o->stats->records, total);
	assert_true(o->stats->records_not_sent > 0);
	/* sent, dropped, or still queued (at most the queue) */
	assert_true(o->stats->records_sent + o->stats->records_not_sent <= (uint64_t)total);
	assert_true(o->stats->records_sent + o->stats->records_not_sent + 1000 >= (uint64_t)total);
	assert_int_equal(o->stats->packets_not_sent, 3 * o->stats->records_not_sent);
	/* the collector gives up: close() does not wait for it */
	close(cfd);
	close(lfd);
	clock_gettime(CLOCK_MONOTONIC, &a);
	o->ops->close(o, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec <= 1);
}

static int have_ipfixdump(void)
{
	return system("ipfixDump --version >/dev/null 2>&1") == 0;
}

/* The file transport, decoded by libfixbuf's ipfixDump. */
static void test_file_ipfixdump(void **state)
{
	char path[] = "/tmp/test_ipfix.XXXXXX";
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct flow_record r;
	struct output *o;
	char uri[64], cmd[256], line[512], *out = NULL;
	size_t outlen = 0;
	FILE *p, *mem;
	int fd, status;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	config(&cfg);
	snprintf(uri, sizeof(uri), "file:%s", path);
	o = open_uri(uri, &cfg);
	icmp4_uniflow(&r);
	o->ops->record(o, &r);
	tcp4_biflow(&r);
	o->ops->record(o, &r);
	memset(&r, 0, sizeof(r));
	r.key.ether_type = 0x0806;
	mac(&r.key.src, 1);
	mac(&r.key.dst, 2);
	r.fwd.packets = 2;
	r.fwd.octets = 56;
	r.fwd.l2_octets = 120;
	r.fwd.first_ms = T0;
	r.fwd.last_ms = T0 + 1;
	r.end_reason = FLOW_END_IDLE;
	o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	o->ops->close(o, &t);

	if (!have_ipfixdump()) {
		unlink(path);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "ipfixDump --in %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	mem = open_memstream(&out, &outlen);
	while (fgets(line, sizeof(line), p))
		fputs(line, mem);
	fclose(mem);
	status = pclose(p);
	unlink(path);
	if (status)
		fprintf(stderr, "%s", out);
	assert_int_equal(status, 0);

	static const char *const want[] = {
		"observation domain id: 77",
		"sourceIPv4Address : 10.1.2.3",
		"icmpTypeCodeIPv4 : 2048",
		"sourceIPv4Address : 192.0.2.1",
		"destinationTransportPort : 443",
		"dot1qCustomerVlanId : 200",
		"reverseOctetDeltaCount : 6000",
		"reversePacketDeltaCount : 8",
		"reverseEgressInterface : 3",
		"reverseFlowStartMilliseconds : 2023-11-14 22:13:20.200",
		"tcpControlBits : 283",
		"biflowDirection : 1",
		"sourceMacAddress : 02:00:00:00:00:01",
		"ethernetType : 2054",
		"layer2OctetDeltaCount : 120",
		"observedFlowTotalCount : 40",
		"ignoredPacketTotalCount : 3",
		"exportedFlowRecordTotalCount : 3",
		"notSentFlowTotalCount : 1",
		"interfaceDescription : (len: 16) eth0",
		"observation domain id: 0",
		"3 Messages, 11 Data Records, 14 Template Records",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(out, want[i])) {
			fprintf(stderr, "%s\nmissing: %s\n", out, want[i]);
			fail();
		}
	}
	assert_null(strstr(out, "rror"));
	assert_null(strstr(out, "arning"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_template_ipv4),
		cmocka_unit_test(test_template_ipv4_biflow),
		cmocka_unit_test(test_template_ipv6),
		cmocka_unit_test(test_template_ipv6_biflow),
		cmocka_unit_test(test_template_l2),
		cmocka_unit_test(test_template_l2_biflow),
		cmocka_unit_test(test_options_templates),
		cmocka_unit_test(test_template_sets),
		cmocka_unit_test(test_record_ipv4),
		cmocka_unit_test(test_record_ipv4_biflow),
		cmocka_unit_test(test_record_ipv6),
		cmocka_unit_test(test_record_ipv6_biflow_empty_reverse),
		cmocka_unit_test(test_record_l2),
		cmocka_unit_test(test_record_l2_biflow),
		cmocka_unit_test(test_options_records),
		cmocka_unit_test(test_interface_records),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udp_pacing),
		cmocka_unit_test(test_tcp_reconnect),
		cmocka_unit_test(test_tcp_stalled),
		cmocka_unit_test(test_file_ipfixdump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
