// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Community ID v1 (user/community_id.c) against the specification's own
 * outputs (github.com/corelight/community-id-spec, baseline/): its tables
 * for TCP, UDP, SCTP, ICMP, ICMPv6 and a port-less protocol (RSVP) over
 * IPv4 and IPv6, with seed 0 and seed 1, and the JSON baselines its tool
 * made from real captures (baseline_deflt.json, baseline_seed1.json). The
 * SHA-1 under it against the FIPS 180 examples. And the record the agent
 * makes of a conversation (flowtab.c) carries the id either direction's
 * key gives alone.
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
#include "community_id.h"
#include "config.h"
#include "flowtab.h"
#include "output.h"

/* ---- SHA-1: FIPS 180-2 appendix A and the NIST example values ---------- */

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < SHA1_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha1(const void *msg, size_t len, const char *want)
{
	uint8_t d[SHA1_DIGEST_LEN];
	char got[2 * SHA1_DIGEST_LEN + 1];

	sha1(msg, len, d);
	hex(d, got);
	assert_string_equal(got, want);
}

static void test_sha1_fips180(void **state)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char four_blocks[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	char *million = malloc(1000000);

	(void)state;
	expect_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	expect_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	/* 56 octets: the padding takes a block of its own */
	expect_sha1(two_blocks, strlen(two_blocks), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	expect_sha1(four_blocks, strlen(four_blocks), "a49b2446a02c645bf419f995b67091253a04a259");
	assert_non_null(million);
	memset(million, 'a', 1000000);
	expect_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
}

/* ---- Community ID: the spec's vectors ----------------------------------- */

/* One row: the tuple as a packet shows it; for ICMP and ICMPv6, a and b
 * are type and code (the kernel keys them as type << 8 | code in
 * dst_port), for other protocols the ports. */
struct vector {
	uint8_t proto;
	const char *src, *dst;
	uint16_t a, b;
	uint16_t seed;
	const char *id;
};

#define V6A "fe80:0001:0203:0405:0607:0809:0A0B:0C0D"
#define V6B "fe80:1011:1213:1415:1617:1819:1A1B:1C1D"

/* baseline/README.md: "Default settings" and "A custom seed=1 value" */
static const struct vector tables[] = {
	{ 6, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 6, "5.6.7.8", "1.2.3.4", 3344, 1122, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 17, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
	{ 17, "5.6.7.8", "1.2.3.4", 3344, 1122, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
	{ 132, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
	{ 132, "5.6.7.8", "1.2.3.4", 3344, 1122, 0, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
	{ 1, "1.2.3.4", "5.6.7.8", 8, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },	/* echo */
	{ 1, "5.6.7.8", "1.2.3.4", 0, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },	/* reply */
	{ 1, "1.2.3.4", "5.6.7.8", 11, 0, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=" },	/* one-way */
	{ 58, V6A, V6B, 128, 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
	{ 58, V6B, V6A, 129, 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
	{ 58, V6A, V6B, 146, 0, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=" },
	{ 46, "1.2.3.4", "5.6.7.8", 0, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=" },
	{ 46, "5.6.7.8", "1.2.3.4", 0, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=" },
	{ 46, V6A, V6B, 0, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=" },
	{ 46, V6B, V6A, 0, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=" },

	{ 6, "1.2.3.4", "5.6.7.8", 1122, 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 6, "5.6.7.8", "1.2.3.4", 3344, 1122, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 17, "1.2.3.4", "5.6.7.8", 1122, 3344, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=" },
	{ 132, "5.6.7.8", "1.2.3.4", 3344, 1122, 1, "1:uitchpn5MMGAQKBJh7bIr/bAr7s=" },
	{ 1, "1.2.3.4", "5.6.7.8", 8, 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
	{ 1, "5.6.7.8", "1.2.3.4", 0, 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
	{ 1, "1.2.3.4", "5.6.7.8", 11, 0, 1, "1:1DD7cWGC/Yg91YGsQeni8du3pIA=" },
	{ 58, V6A, V6B, 128, 0, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=" },
	{ 58, V6B, V6A, 129, 0, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=" },
	{ 58, V6A, V6B, 146, 0, 1, "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=" },
	{ 46, "5.6.7.8", "1.2.3.4", 0, 0, 1, "1:/buhqeOmaRCopOZFy9HnoJd5XW8=" },
	{ 46, V6A, V6B, 0, 0, 1, "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=" },
};

/* baseline_deflt.json and baseline_seed1.json (the spec's captures):
 * ICMP rows as the packets were (type, code), not the tool's mapped ports. */
#define LL1 "fe80::200:86ff:fe05:80da"
#define LL2 "fe80::260:97ff:fe07:69ea"
static const struct vector captures[] = {
	/* neighbor solicitation and advertisement, both ways */
	{ 58, LL1, LL2, 135, 0, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ 58, LL2, LL1, 136, 0, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ 58, LL2, LL1, 135, 0, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
	{ 58, LL1, LL2, 136, 0, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
	/* time exceeded; destination unreachable, code 4: one-way */
	{ 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 0,
	  "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=" },
	{ 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, 0,
	  "1:hLZd0XGWojozrvxqE0dWB1iM6R0=" },
	{ 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, 0,
	  "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	{ 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, 0,
	  "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	/* router solicitation and advertisement, to multicast groups */
	{ 58, LL1, "ff02::2", 133, 0, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=" },
	{ 58, LL2, "ff02::1", 134, 0, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=" },
	{ 1, "192.168.0.89", "192.168.0.1", 8, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	{ 1, "192.168.0.1", "192.168.0.89", 0, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	{ 1, "10.0.0.1", "10.0.0.2", 11, 0, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=" },
	{ 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 0,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 0,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	/* SCTP with equal ports: the addresses alone decide */
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
	{ 132, "192.168.170.56", "192.168.170.8", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ 6, "66.35.250.204", "128.232.110.120", 80, 34855, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
	{ 17, "8.8.8.8", "192.168.1.52", 53, 54585, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
	{ 46, "10.1.12.1", "10.1.12.2", 0, 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },
	{ 46, "10.1.12.2", "10.1.12.1", 0, 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },

	{ 58, LL1, LL2, 135, 0, 1, "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, 1,
	  "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=" },
	{ 1, "192.168.0.1", "192.168.0.89", 0, 0, 1, "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 1,
	  "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7, 1, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 17, "8.8.8.8", "192.168.1.52", 53, 54585, 1, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 46, "10.1.12.2", "10.1.12.1", 0, 0, 1, "1:rYir8gphR31noO9iDRQmF/BteEI=" },
};

/* The key the kernel makes of such a packet (bpfix.h, parse.bpf.h). */
static struct flow_key key_of(const struct vector *v)
{
	struct flow_key k = { 0 };
	int v6 = strchr(v->src, ':') != NULL;

	k.ifindex = 1;
	k.ip_version = v6 ? 6 : 4;
	k.ether_type = v6 ? 0x86dd : 0x0800;
	k.protocol = v->proto;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, v->src, k.src.ip6), 1);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, v->dst, k.dst.ip6), 1);
	if (v->proto == IPPROTO_ICMP || v->proto == IPPROTO_ICMPV6) {
		k.dst_port = (uint16_t)(v->a << 8 | v->b);
	} else if (v->proto == IPPROTO_TCP || v->proto == IPPROTO_UDP ||
		   v->proto == IPPROTO_SCTP) {
		k.src_port = v->a;
		k.dst_port = v->b;
	}
	return k;
}

static void id_of(const struct flow_key *k, uint16_t seed, char out[COMMUNITY_ID_STR_LEN + 1])
{
	uint8_t d[SHA1_DIGEST_LEN];

	assert_int_equal(community_id_digest(k, seed, d), 0);
	community_id_str(d, out);
	assert_int_equal(strlen(out), COMMUNITY_ID_STR_LEN);
}

static void check_vectors(const struct vector *v, size_t n)
{
	char got[COMMUNITY_ID_STR_LEN + 1];

	for (size_t i = 0; i < n; i++) {
		struct flow_key k = key_of(&v[i]);

		id_of(&k, v[i].seed, got);
		if (strcmp(got, v[i].id))
			fail_msg("proto %u %s -> %s (%u, %u) seed %u: got %s, want %s", v[i].proto,
				 v[i].src, v[i].dst, v[i].a, v[i].b, v[i].seed, got, v[i].id);
	}
}

static void test_spec_tables(void **state)
{
	(void)state;
	check_vectors(tables, sizeof(tables) / sizeof(tables[0]));
}

static void test_spec_captures(void **state)
{
	(void)state;
	check_vectors(captures, sizeof(captures) / sizeof(captures[0]));
}

/* The seed is in the hash: another seed, another id, for every row. */
static void test_seed_changes_id(void **state)
{
	char a[COMMUNITY_ID_STR_LEN + 1], b[COMMUNITY_ID_STR_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct flow_key k = key_of(&tables[i]);

		id_of(&k, 0, a);
		id_of(&k, 65535, b);
		assert_string_not_equal(a, b);
	}
}

/* What is not hashed: interface, direction, VLANs; a port-less protocol's
 * ports field (which held a fragment's id before it was cleared); and an L2
 * flow has no id. */
static void test_what_is_hashed(void **state)
{
	struct flow_key k = key_of(&tables[0]), o;
	char a[COMMUNITY_ID_STR_LEN + 1], b[COMMUNITY_ID_STR_LEN + 1];
	uint8_t d[SHA1_DIGEST_LEN];

	(void)state;
	id_of(&k, 0, a);
	o = k;
	o.ifindex = 7;
	o.direction = FLOW_DIR_EGRESS;
	o.vlan_outer = 100;
	o.vlan_inner = 200;
	id_of(&o, 0, b);
	assert_string_equal(a, b);
	o = k;
	o.src_port++;
	id_of(&o, 0, b);
	assert_string_not_equal(a, b);

	o = key_of(&tables[12]);	/* RSVP */
	o.src_port = 1;
	o.dst_port = 2;
	id_of(&o, 0, b);
	assert_string_equal(b, tables[12].id);

	memset(&o, 0, sizeof(o));
	o.ether_type = 0x0806;	/* ARP */
	memset(d, 0xaa, sizeof(d));
	assert_int_equal(community_id_digest(&o, 0, d), -EAFNOSUPPORT);
	assert_int_equal(d[0], 0xaa);
}

/* ---- the agent's records ------------------------------------------------ */

struct sink {
	int n;
	struct flow_record rec[8];
};

static void sink_emit(void *ctx, const struct flow_record *r)
{
	struct sink *s = ctx;

	assert_true(s->n < 8);
	s->rec[s->n++] = *r;
}

static struct flow_side side(uint64_t packets, uint64_t first, uint8_t dir)
{
	struct flow_side s = { 0 };

	s.packets = packets;
	s.octets = packets * 100;
	s.first_ms = s.last_ms = first;
	s.direction = dir;
	s.ifindex = 1;
	return s;
}

/* A conversation of each kind through the flow table, biflow and uniflow:
 * every record it emits carries the id of the spec, which is the id of
 * either direction's key alone; with another seed, the seed's. */
static void conversation(int biflow, uint16_t seed, const struct vector *out,
			 const struct vector *back)
{
	struct flowtab t;
	struct sink s = { 0 };
	struct flow_key ko = key_of(out), kb = key_of(back);
	struct flow_side d;
	char got[COMMUNITY_ID_STR_LEN + 1], fwd[COMMUNITY_ID_STR_LEN + 1],
	     rev[COMMUNITY_ID_STR_LEN + 1];

	assert_int_equal(flowtab_init(&t, 1024, biflow, 1, 15000, 60000, sink_emit, &s), 0);
	t.community_id = 1;
	t.community_id_seed = seed;
	d = side(2, 1000, FLOW_DIR_EGRESS);
	flowtab_add(&t, &ko, &d);
	d = side(3, 1001, FLOW_DIR_INGRESS);
	flowtab_add(&t, &kb, &d);
	assert_int_equal(flowtab_flush(&t, FLOW_END_FORCED), biflow ? 1 : 2);
	id_of(&ko, seed, fwd);
	id_of(&kb, seed, rev);
	assert_string_equal(fwd, out->id);
	assert_string_equal(rev, back->id);
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.rec[i].community_id_set, 1);
		assert_int_equal(s.rec[i].biflow, biflow);
		community_id_str(s.rec[i].community_id, got);
		assert_string_equal(got, fwd);
		assert_string_equal(got, rev);
	}
	flowtab_free(&t);
}

static void test_records_carry_id(void **state)
{
	(void)state;
	for (int bi = 0; bi <= 1; bi++) {
		conversation(bi, 0, &tables[0], &tables[1]);	/* TCP v4 */
		conversation(bi, 0, &tables[2], &tables[3]);	/* UDP */
		conversation(bi, 0, &tables[4], &tables[5]);	/* SCTP */
		conversation(bi, 0, &tables[6], &tables[7]);	/* ICMP echo */
		conversation(bi, 0, &tables[9], &tables[10]);	/* ICMPv6 echo */
		conversation(bi, 0, &tables[14], &tables[15]);	/* RSVP v6 */
		conversation(bi, 0, &captures[13], &captures[14]);	/* TCP v6 */
		conversation(bi, 1, &tables[16], &tables[17]);	/* TCP v4, seed 1 */
		conversation(bi, 1, &tables[20], &tables[21]);	/* ICMP, seed 1 */
	}
}

/* Only text on stdout: nothing shows an id, so none is computed. */
static void test_not_for_text(void **state)
{
	struct flowtab t;
	struct sink s = { 0 };
	struct flow_key k = key_of(&tables[0]);
	struct flow_side d = side(1, 1000, FLOW_DIR_EGRESS);

	(void)state;
	assert_int_equal(flowtab_init(&t, 1024, 1, 1, 15000, 60000, sink_emit, &s), 0);
	flowtab_add(&t, &k, &d);
	assert_int_equal(flowtab_flush(&t, FLOW_END_FORCED), 1);
	assert_int_equal(s.rec[0].community_id_set, 0);
	flowtab_free(&t);
}

/* The JSON line holds it; an L2 record none. */
static void test_json(void **state)
{
	struct flow_record r = { 0 };
	char line[4096];
	uint8_t d[SHA1_DIGEST_LEN];

	(void)state;
	r.key = key_of(&tables[0]);
	r.fwd = side(1, 1000, FLOW_DIR_INGRESS);
	assert_int_equal(community_id_digest(&r.key, 0, d), 0);
	memcpy(r.community_id, d, sizeof(d));
	r.community_id_set = 1;
	flow_format_json(&r, line, sizeof(line));
	assert_non_null(strstr(line, ",\"community_id\":\"1:wCb3OG7yAFWelaUydu0D+125CLM=\","));
	r.community_id_set = 0;
	flow_format_json(&r, line, sizeof(line));
	assert_null(strstr(line, "community_id"));
}

/* --community-id-seed: 0 unless given, 0..65535, one error line else. */
static void test_option(void **state)
{
	struct bpfix_config cfg;
	char err[256];
	char *ok[] = { "bpfix", "--community-id-seed", "65535", NULL };
	char *none[] = { "bpfix", NULL };
	const char *bad[] = { "65536", "-1", "x", "" };

	(void)state;
	assert_int_equal(config_parse(&cfg, 1, none, err, sizeof(err)), 0);
	assert_int_equal(cfg.community_id_seed, 0);
	assert_int_equal(config_parse(&cfg, 3, ok, err, sizeof(err)), 0);
	assert_int_equal(cfg.community_id_seed, 65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "bpfix", "--community-id-seed", (char *)bad[i], NULL };

		err[0] = '\0';
		assert_int_equal(config_parse(&cfg, 3, argv, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "community-id-seed"));
		assert_null(strchr(err, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_fips180),
		cmocka_unit_test(test_spec_tables),
		cmocka_unit_test(test_spec_captures),
		cmocka_unit_test(test_seed_changes_id),
		cmocka_unit_test(test_what_is_hashed),
		cmocka_unit_test(test_records_carry_id),
		cmocka_unit_test(test_not_for_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
