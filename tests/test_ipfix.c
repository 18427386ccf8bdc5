// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX encoder: golden octets.
 *
 * Golden tests: the expected octets are written out here from RFC 7011
 * (message header 3.1, field specifier 3.2, set header 3.3.2, template and
 * options template records 3.4.1/3.4.2, variable-length fields 7), RFC 5103
 * (reverse elements: enterprise bit and PEN 29305) and the IANA registry's
 * element ids, not taken from a run of the encoder. B16()/B32()/B64() split
 * a number into network-order octets; FS()/RFS() spell a field specifier.
 *
 * The transports are tests/test_ipfix_export.c's.
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
#include "ipfix_records.h"

#define B16(v) (uint8_t)((v) >> 8), (uint8_t)(v)
#define B32(v) B16((uint32_t)(v) >> 16), B16((uint32_t)(v) & 0xffff)
#define B64(v) B32((uint64_t)(v) >> 32), B32((uint64_t)(v) & 0xffffffff)
/* RFC 7011 3.2: IANA element (enterprise bit 0), and RFC 5103 reverse. */
#define FS(id, len)  B16(id), B16(len)
#define RFS(id, len) B16(0x8000 | (id)), B16(len), B32(29305)
/* bpfix's communityId: enterprise element 1 of PEN 32473 (ipfix.h), a
 * 30-octet string; a record without one carries 30 zero octets. */
#define CIDFS        B16(0x8000 | 1), B16(30), B32(32473)
#define Z6           0, 0, 0, 0, 0, 0
#define NOCID        Z6, Z6, Z6, Z6, Z6

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
		B16(2), B16(4 + 4 + 24 * 4 + 8),	/* template set */
		B16(256), B16(25),
		KEY4, COMMON, IPFWD, FS(136, 1), CIDFS);
}

static void test_template_ipv4_biflow(void **state)
{
	(void)state;
	/* reverse elements before the forward ones (nfdump, see ipfix.h) */
	EXPECT_BODY(one_template(257),
		B16(2), B16(4 + 4 + 40 * 4 + 15 * 4 + 8),
		B16(257), B16(41),
		KEY4, COMMON, IPREV, IPFWD, FS(136, 1), FS(239, 1), CIDFS);
}

static void test_template_ipv6(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(258),
		B16(2), B16(4 + 4 + 25 * 4 + 8),
		B16(258), B16(26),
		KEY6, COMMON, IPFWD, FS(31, 4), FS(136, 1), CIDFS);
}

static void test_template_ipv6_biflow(void **state)
{
	(void)state;
	EXPECT_BODY(one_template(259),
		B16(2), B16(4 + 4 + 42 * 4 + 16 * 4 + 8),
		B16(259), B16(43),
		KEY6, COMMON, IPREV, RFS(31, 4), IPFWD, FS(31, 4), FS(136, 1), FS(239, 1), CIDFS);
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
	assert_int_equal(ipfix_msg_add_template(&m, IPFIX_TID_END), -EINVAL);
	len = ipfix_msg_finish(&m, 0, 0);

	static const struct { uint16_t id, len; } sets[] = {
		{ 2, 4 + 108 + 64 }, { 3, 4 + 26 }, { 3, 4 + 30 }, { 2, 4 + 112 },
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

static void test_record_ipv4(void **state)
{
	struct flow_record r;

	(void)state;
	icmp4_uniflow(&r);
	EXPECT_BODY(one_flow(&r),
		B16(256), B16(4 + 103),
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
		1,			/* flowEndReason: idle */
		NOCID);			/* communityId: none computed */
}

static void test_record_ipv4_biflow(void **state)
{
	struct flow_record r;

	(void)state;
	tcp4_biflow(&r);
	EXPECT_BODY(one_flow(&r),
		B16(257), B16(4 + 158),
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
		1,			/* biflowDirection: initiator */
		NOCID);
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
		B16(258), B16(4 + 131),
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3,
		B16(5353), B16(53), 17, B16(0),
		6, B16(0),
		B32(2), B32(0), B16(7), B16(0), 0,	/* ingress: vlanId 7 */
		B64(T0 + 500), B64(T0 + 500),
		B64(80), B64(1),
		B16(0), 0x20, 255, 255, B16(80), B16(80),
		B32(0xabcde),		/* flowLabelIPv6 */
		4,			/* flowEndReason: forced */
		NOCID);
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
		B16(259), B16(4 + 190),
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
		1, 1, NOCID);
}

/* A record with its Community ID: the string of the specification's own
 * table (community-id-spec, baseline/README.md: TCP 1.2.3.4:1122 ->
 * 5.6.7.8:3344, seed 0), as 30 octets of text. */
static void test_record_community_id(void **state)
{
	struct flow_record r = { 0 };

	(void)state;
	r.key.ifindex = 1;
	r.key.ip_version = 4;
	r.key.protocol = 6;
	r.key.ether_type = 0x0800;
	r.key.src_port = 1122;
	r.key.dst_port = 3344;
	inet_pton(AF_INET, "1.2.3.4", &r.key.src.ip4);
	inet_pton(AF_INET, "5.6.7.8", &r.key.dst.ip4);
	r.end_reason = FLOW_END_IDLE;
	r.fwd = (struct flow_side){
		.packets = 1, .octets = 40, .first_ms = T0, .last_ms = T0,
		.ifindex = 1, .direction = FLOW_DIR_INGRESS,
		.min_ip_len = 40, .max_ip_len = 40, .min_ttl = 64, .max_ttl = 64,
	};
	assert_int_equal(community_id_digest(&r.key, 0, r.community_id), 0);
	r.community_id_set = 1;
	EXPECT_BODY(one_flow(&r),
		B16(256), B16(4 + 103),
		1, 2, 3, 4, 5, 6, 7, 8, B16(1122), B16(3344), 6, B16(0),
		4, B16(0),
		B32(1), B32(0), B16(0), B16(0), 0,
		B64(T0), B64(T0), B64(40), B64(1),
		B16(0), 0, 64, 64, B16(40), B16(40),
		1,
		'1', ':', 'w', 'C', 'b', '3', 'O', 'G', '7', 'y', 'A', 'F', 'W', 'e', 'l',
		'a', 'U', 'y', 'd', 'u', '0', 'D', '+', '1', '2', '5', 'C', 'L', 'M', '=');
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
	uint8_t small[16 + 4 + 3 * 103];
	size_t len;

	(void)state;
	icmp4_uniflow(&r);
	/* exactly three 103-octet records fit */
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
		B16(256), B16(4 + 3 * 103),
	};
	expect_bytes(small, sizeof(hdr1), hdr1, sizeof(hdr1));
	assert_int_equal(len, sizeof(small));

	/* the next message carries on: sequence 1003 */
	ipfix_msg_reset(&m);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	len = ipfix_msg_finish(&m, 1700000001, 1000 + 3);
	static const uint8_t hdr2[] = {
		B16(10), B16(16 + 4 + 103), B32(1700000001), B32(1003), B32(0x42),
		B16(256), B16(4 + 103),
	};
	expect_bytes(small, sizeof(hdr2), hdr2, sizeof(hdr2));
	assert_int_equal(len, 16 + 4 + 103);

	/* a record of another template needs a set header too */
	struct flow_record r6;

	memset(&r6, 0, sizeof(r6));
	r6.key.ip_version = 6;
	ipfix_msg_init(&m, small, 16 + 4 + 103 + 4 + 131 - 1, 0x42);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	assert_int_equal(ipfix_msg_add_flow(&m, &r6), -ENOSPC);
	ipfix_msg_init(&m, small, 16 + 4 + 103 + 4 + 131, 0x42);
	assert_int_equal(ipfix_msg_add_flow(&m, &r), 0);
	assert_int_equal(ipfix_msg_add_flow(&m, &r6), 0);
	assert_int_equal(m.len, 16 + 4 + 103 + 4 + 131);

	/* an options template needs its own set header */
	ipfix_msg_init(&m, small, 16 + 4 + 108 + 4 + 26 - 1, 0x42);
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
		cmocka_unit_test(test_record_community_id),
		cmocka_unit_test(test_record_l2),
		cmocka_unit_test(test_record_l2_biflow),
		cmocka_unit_test(test_options_records),
		cmocka_unit_test(test_interface_records),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
