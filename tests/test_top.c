// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of `bpfix top`'s rows (user/top.c): what a screen shows of a
 * flow table, the rates from two reads (an entry that went out as a record
 * or holds another flow since counts whole), the sort orders, one line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "top.h"

#define CAP 8

static void flow(struct flowtab_entry *e, uint16_t sport, uint8_t proto)
{
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->initiator = -1;
	e->canon.ifindex = 999999;	/* no such interface: shown as a number */
	e->canon.ip_version = 4;
	e->canon.protocol = proto;
	e->canon.src_port = sport;
	e->canon.dst_port = 53;
	inet_pton(AF_INET, "10.0.0.1", &e->canon.src.ip4);
	inet_pton(AF_INET, "10.0.0.2", &e->canon.dst.ip4);
	e->key[0] = e->canon;
	e->key[1] = e->canon;
	e->key[1].src = e->canon.dst;
	e->key[1].dst = e->canon.src;
	e->key[1].src_port = 53;
	e->key[1].dst_port = sport;
	e->key[1].direction = FLOW_DIR_EGRESS;
}

static void add(struct flowtab_entry *e, int s, uint64_t packets, uint64_t octets,
		uint64_t first_ms, uint64_t last_ms)
{
	e->seen[s] = 1;
	if (!e->side[s].packets)
		e->side[s].first_ms = first_ms;
	e->side[s].packets += packets;
	e->side[s].octets += octets;
	e->side[s].last_ms = last_ms;
	e->side[s].first_ns = first_ms * 1000000;
	e->side[s].ifindex = e->key[s].ifindex;
}

/* A screen's rows in order, as "IDX:BYTES/PACKETS@RATE ...". */
static const char *screen(const struct top_row *rows, uint32_t n)
{
	static char buf[256];
	size_t len = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%u:%llu/%llu@%llu", i ? " " : "",
				rows[i].idx, (unsigned long long)rows[i].bytes,
				(unsigned long long)rows[i].packets,
				(unsigned long long)rows[i].rate);
	return buf;
}

static void test_rows_and_rates(void **state)
{
	struct flowtab_entry e[CAP];
	struct top_prev prev[CAP];
	struct top_row rows[CAP];
	uint32_t n;

	(void)state;
	memset(e, 0, sizeof(e));
	memset(prev, 0, sizeof(prev));
	flow(&e[2], 1000, IPPROTO_UDP);
	add(&e[2], 0, 10, 1000, 5000, 7000);
	flow(&e[5], 2000, IPPROTO_UDP);
	add(&e[5], 0, 5, 5000, 4000, 4500);
	add(&e[5], 1, 5, 2000, 4001, 9000);

	/* the first read: no rates yet; both sides together */
	n = top_collect(e, CAP, prev, 0, TOP_SORT_BYTES, rows);
	assert_string_equal(screen(rows, n), "5:7000/10@0 2:1000/10@0");
	assert_int_equal(rows[0].first_ms, 4000);
	assert_int_equal(rows[0].last_ms, 9000);

	/* 2 s later entry 2 has 3000 octets more: 1500 B/s; entry 5 nothing */
	add(&e[2], 0, 20, 3000, 0, 9000);
	n = top_collect(e, CAP, prev, 2000, TOP_SORT_RATE, rows);
	assert_string_equal(screen(rows, n), "2:4000/30@1500 5:7000/10@0");
	top_sort_rows(rows, n, TOP_SORT_PACKETS);
	assert_string_equal(screen(rows, n), "2:4000/30@1500 5:7000/10@0");
	top_sort_rows(rows, n, TOP_SORT_BYTES);
	assert_string_equal(screen(rows, n), "5:7000/10@0 2:4000/30@1500");

	/* entry 5's record went out and 600 octets came since: all of them
	 * within the interval; entry 2 now holds another flow of 100 */
	memset(e[5].side, 0, sizeof(e[5].side));
	add(&e[5], 1, 2, 600, 10000, 10500);
	flow(&e[2], 1001, IPPROTO_UDP);
	add(&e[2], 0, 1, 100, 10200, 10200);
	n = top_collect(e, CAP, prev, 1000, TOP_SORT_RATE, rows);
	assert_string_equal(screen(rows, n), "5:600/2@600 2:100/1@100");

	/* a freed entry is no row; its successor counts whole */
	e[5].used = 0;
	n = top_collect(e, CAP, prev, 1000, TOP_SORT_BYTES, rows);
	assert_string_equal(screen(rows, n), "2:100/1@0");
	assert_int_equal(prev[5].sig, 0);
	flow(&e[5], 2000, IPPROTO_UDP);
	add(&e[5], 0, 1, 50, 11000, 11000);
	n = top_collect(e, CAP, prev, 1000, TOP_SORT_BYTES, rows);
	assert_string_equal(screen(rows, n), "2:100/1@0 5:50/1@50");
}

static void test_format_row(void **state)
{
	struct flowtab_entry e;
	struct top_row r = { .bytes = 7000, .packets = 10, .rate = 123456,
			     .first_ms = 4000, .last_ms = 9000 };
	char line[256];

	(void)state;
	flow(&e, 40000, IPPROTO_UDP);
	add(&e, 0, 5, 5000, 4000, 4500);
	top_format_row(&r, &e, line, sizeof(line), 0);
	assert_string_equal(line, "        7000         10      123K     5.0s  999999     udp   "
				  "10.0.0.1:40000 -> 10.0.0.2:53");
	/* both ways; the reply began first here, so it is the source */
	add(&e, 1, 5, 2000, 3999, 9000);
	top_format_row(&r, &e, line, sizeof(line), 0);
	assert_non_null(strstr(line, " udp   10.0.0.2:53 <-> 10.0.0.1:40000"));
	/* once the initiator is chosen, it is */
	e.initiator = 0;
	top_format_row(&r, &e, line, sizeof(line), 0);
	assert_non_null(strstr(line, " udp   10.0.0.1:40000 <-> 10.0.0.2:53"));
	top_format_row(&r, &e, line, sizeof(line), 40);
	assert_int_equal(strlen(line), 40);

	/* ICMP: type and code, no ports */
	flow(&e, 0, IPPROTO_ICMP);
	e.key[0].dst_port = e.canon.dst_port = 8 << 8;
	add(&e, 0, 1, 84, 1000, 1000);
	r.rate = 84;
	top_format_row(&r, &e, line, sizeof(line), 0);
	assert_non_null(strstr(line, "       84 "));
	assert_non_null(strstr(line, " icmp  10.0.0.1 -> 10.0.0.2 type 8 code 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_rates),
		cmocka_unit_test(test_format_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
