// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Community ID v1 (community_id.h) and the SHA-1 it needs. SHA-1 is
 * written out here (FIPS 180-4 section 6.1) rather than taken from
 * libcrypto or nettle: one 20-octet hash of at most 40 octets a record
 * does not justify a library in the static and arm64 builds, and
 * tests/test_community_id.c holds it to the FIPS 180 examples.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include "community_id.h"

/* ---- SHA-1 ---------------------------------------------------------- */

static inline uint32_t rol32(uint32_t x, unsigned int n)
{
	return x << n | x >> (32 - n);
}

/* One round: the four functions of FIPS 180-4 4.1.1 each take 20 rounds,
 * written as four loops so the compiler sees no branch inside a round. */
#define SHA1_ROUND(f, k) do { \
		uint32_t tmp = rol32(a, 5) + (f) + e + (k) + w[t]; \
		e = d; \
		d = c; \
		c = rol32(b, 30); \
		b = a; \
		a = tmp; \
	} while (0)

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	int t;

	for (t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
	for (t = 16; t < 80; t++)
		w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	for (t = 0; t < 20; t++)
		SHA1_ROUND((b & c) | (~b & d), 0x5a827999);
	for (; t < 40; t++)
		SHA1_ROUND(b ^ c ^ d, 0x6ed9eba1);
	for (; t < 60; t++)
		SHA1_ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdc);
	for (; t < 80; t++)
		SHA1_ROUND(b ^ c ^ d, 0xca62c1d6);
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void sha1(const void *data, size_t len, uint8_t digest[SHA1_DIGEST_LEN])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	const uint8_t *p = data;
	uint64_t bits = (uint64_t)len * 8;
	uint8_t last[128] = { 0 };
	size_t rest, tail;

	for (; len >= 64; p += 64, len -= 64)
		sha1_block(h, p);
	/* the rest, 0x80, zeros to 56 mod 64, the length in bits */
	rest = len;
	memcpy(last, p, rest);
	last[rest] = 0x80;
	tail = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		last[tail - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, last);
	if (tail == 128)
		sha1_block(h, last + 64);
	for (int i = 0; i < 5; i++) {
		digest[4 * i] = (uint8_t)(h[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
		digest[4 * i + 3] = (uint8_t)h[i];
	}
}

/* ---- Community ID --------------------------------------------------- */

/* The type that answers (or asks) @type, or -1: a one-way type. The
 * spec's table, which is Zeek's (ICMP4_counterpart, ICMP6_counterpart). */
static int icmp_counterpart(uint8_t protocol, uint8_t type)
{
	static const uint8_t v4[][2] = {
		{ 8, 0 },	/* echo / echo reply */
		{ 13, 14 },	/* timestamp */
		{ 15, 16 },	/* information */
		{ 10, 9 },	/* router solicitation / advertisement */
		{ 17, 18 },	/* address mask */
	};
	static const uint8_t v6[][2] = {
		{ 128, 129 },	/* echo */
		{ 133, 134 },	/* router solicitation / advertisement */
		{ 135, 136 },	/* neighbor solicitation / advertisement */
		{ 130, 131 },	/* multicast listener query / report */
		{ 139, 140 },	/* node information query / response */
		{ 144, 145 },	/* home agent address discovery */
	};
	const uint8_t (*t)[2] = protocol == IPPROTO_ICMP ? v4 : v6;
	size_t n = protocol == IPPROTO_ICMP ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);

	for (size_t i = 0; i < n; i++) {
		if (t[i][0] == type)
			return t[i][1];
		if (t[i][1] == type)
			return t[i][0];
	}
	return -1;
}

int community_id_digest(const struct flow_key *k, uint16_t seed,
			uint8_t digest[SHA1_DIGEST_LEN])
{
	/* seed 2, addresses 2 x 16, protocol, pad, ports 2 x 2 */
	uint8_t in[2 + 32 + 2 + 4], *p = in;
	const uint8_t *a = k->src.ip6, *b = k->dst.ip6;
	size_t alen = k->ip_version == 4 ? 4 : 16;
	uint16_t sport = k->src_port, dport = k->dst_port;
	int ports = 1, order = 1, c;

	if (k->ip_version != 4 && k->ip_version != 6)
		return -EAFNOSUPPORT;
	switch (k->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		uint8_t type = k->dst_port >> 8;
		int other = icmp_counterpart(k->protocol, type);

		sport = type;
		dport = other < 0 ? (k->dst_port & 0xff) : (uint16_t)other;
		order = other >= 0;
		break;
	}
	default:
		ports = 0;
		sport = dport = 0;
		break;
	}
	c = memcmp(a, b, alen);
	if (order && (c > 0 || (c == 0 && sport > dport))) {
		const uint8_t *t = a;
		uint16_t tp = sport;

		a = b;
		b = t;
		sport = dport;
		dport = tp;
	}
	*p++ = (uint8_t)(seed >> 8);
	*p++ = (uint8_t)seed;
	memcpy(p, a, alen);
	p += alen;
	memcpy(p, b, alen);
	p += alen;
	*p++ = k->protocol;
	*p++ = 0;
	if (ports) {
		*p++ = (uint8_t)(sport >> 8);
		*p++ = (uint8_t)sport;
		*p++ = (uint8_t)(dport >> 8);
		*p++ = (uint8_t)dport;
	}
	sha1(in, (size_t)(p - in), digest);
	return 0;
}

void community_id_str(const uint8_t digest[SHA1_DIGEST_LEN], char out[COMMUNITY_ID_STR_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	int i;

	*o++ = '1';
	*o++ = ':';
	/* 20 octets: six groups of three, then two octets and one '=' */
	for (i = 0; i + 3 <= SHA1_DIGEST_LEN; i += 3) {
		uint32_t v = (uint32_t)digest[i] << 16 | (uint32_t)digest[i + 1] << 8 | digest[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	{
		uint32_t v = (uint32_t)digest[i] << 16 | (uint32_t)digest[i + 1] << 8;

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
}
