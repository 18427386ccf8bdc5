/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow records the IPFIX tests encode: test_ipfix.c (golden octets) and
 * test_ipfix_export.c (the transports). */
#ifndef BPFIX_TESTS_IPFIX_RECORDS_H
#define BPFIX_TESTS_IPFIX_RECORDS_H

#include <string.h>
#include <arpa/inet.h>
#include "flow.h"

#define T0 1700000000000ULL	/* 2023-11-14 22:13:20 UTC, in ms */

static inline void addr4(union flow_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, &a->ip4), 1);
}

static inline void addr6(union flow_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a->ip6), 1);
}

static inline void mac(union flow_addr *a, uint8_t last)
{
	static const uint8_t m[6] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(a->mac, m, 6);
	a->mac[5] = last;
}

/* ICMP echo request, one direction, metered on egress. */
static inline void icmp4_uniflow(struct flow_record *r)
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

static inline void tcp4_biflow(struct flow_record *r)
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

#endif /* BPFIX_TESTS_IPFIX_RECORDS_H */
