// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The stdout formats (user/output_text.c): any flow record through
 * flow_format_text() and flow_format_json().
 *
 * snprintf semantics, as output.h promises: into a buffer large enough, the
 * return value is the length written and the string is one line without
 * control characters; into any smaller buffer (size 0 included, every size
 * at the edges, one the input picks) the return value is the same full
 * length, the buffer holds its prefix, terminated, and nothing is written
 * past the size given (each buffer is allocated at that size for ASan).
 *
 * JSON: the line is one object that a strict parser (RFC 8259, written here)
 * accepts: strings without raw control characters and with valid escapes,
 * numbers as JSON spells them, no duplicate keys; and the counters in it are
 * the record's, and so is its community_id (decoded back to the digest).
 */
#include "fuzz.h"
#include "output.h"

#define BIG 8192

struct json {
	const char *p;
	const char *start;
	const struct flow_record *r;
	char keys[128][32];	/* the top-level object's keys, for duplicates */
	int n_keys;
	int community_id_seen;
};

static void json_fail(const struct json *j, const char *what)
{
	FUZZ_ASSERT(0, "JSON: %s at offset %td: %s", what, j->p - j->start, j->start);
}

static void ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

/* A string; its text (unescaped ASCII only, which is all the agent writes
 * into keys) goes to @out when given. */
static void json_string(struct json *j, char *out, size_t outlen)
{
	size_t n = 0;

	if (*j->p != '"')
		json_fail(j, "expected a string");
	j->p++;
	for (;;) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"')
			break;
		if (!c)
			json_fail(j, "unterminated string");
		if (c < 0x20)
			json_fail(j, "control character in a string");
		if (c == '\\') {
			j->p++;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						json_fail(j, "bad \\u escape");
				j->p += 4;
			} else if (!*j->p || !strchr("\"\\/bfnrt", *j->p)) {
				json_fail(j, "bad escape");
			}
		}
		if (out && n + 1 < outlen)
			out[n++] = (char)*j->p;
		j->p++;
	}
	j->p++;
	if (out)
		out[n] = '\0';
}

/* A number as JSON spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static void json_number(struct json *j, unsigned long long *v, int *is_uint)
{
	const char *s = j->p;

	*is_uint = 1;
	if (*j->p == '-') {
		*is_uint = 0;
		j->p++;
	}
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		json_fail(j, "bad number");
	if (*j->p == '.') {
		*is_uint = 0;
		j->p++;
		if (*j->p < '0' || *j->p > '9')
			json_fail(j, "bad fraction");
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		*is_uint = 0;
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (*j->p < '0' || *j->p > '9')
			json_fail(j, "bad exponent");
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	*v = *is_uint ? strtoull(s, NULL, 10) : 0;
}

static void json_value(struct json *j, int depth, const char *key);

/* Not strcmp(): libFuzzer's hook on it would study every key compared. */
static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void json_object(struct json *j, int depth)
{
	if (depth > 8)
		json_fail(j, "nested too deep");
	j->p++;			/* { */
	ws(j);
	if (*j->p == '}') {
		j->p++;
		return;
	}
	for (;;) {
		char key[32];

		ws(j);
		json_string(j, key, sizeof(key));
		if (depth == 0) {
			for (int i = 0; i < j->n_keys; i++)
				if (same(j->keys[i], key))
					json_fail(j, "duplicate key");
			FUZZ_ASSERT(j->n_keys < 128, "more than 128 keys");
			snprintf(j->keys[j->n_keys++], sizeof(j->keys[0]), "%s", key);
		}
		ws(j);
		if (*j->p != ':')
			json_fail(j, "expected ':'");
		j->p++;
		json_value(j, depth + 1, depth == 0 ? key : NULL);
		ws(j);
		if (*j->p == '}') {
			j->p++;
			return;
		}
		if (*j->p != ',')
			json_fail(j, "expected ',' or '}'");
		j->p++;
	}
}

/* The counters of a record are there exactly: keys output_text.c names. */
static void check_counter(const struct json *j, const char *key, unsigned long long v)
{
	const struct flow_record *r = j->r;
	const struct { const char *key; uint64_t want; } c[] = {
		{ "packets", r->fwd.packets }, { "bytes", r->fwd.octets },
		{ "rev_packets", r->rev.packets }, { "rev_bytes", r->rev.octets },
		{ "ip_version", r->key.ip_version }, { "end_reason_code", r->end_reason },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (same(key, c[i].key))
			FUZZ_ASSERT(v == c[i].want, "JSON %s is %llu, the record's %llu", key, v,
				    (unsigned long long)c[i].want);
}

/* "community_id": "1:" and the base64 of the record's digest, decoded here
 * (not encoded again), and only for a record that has one. */
static void check_community_id(const struct json *j, const char *id)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t d[SHA1_DIGEST_LEN + 1];
	uint32_t acc = 0;
	int bits = 0, n = 0;
	size_t len = strlen(id);

	FUZZ_ASSERT(j->r->community_id_set, "community_id in a record without one: %s", id);
	FUZZ_ASSERT(len == COMMUNITY_ID_STR_LEN && !strncmp(id, "1:", 2) && id[len - 1] == '=',
		    "community_id %s", id);
	for (size_t i = 2; i < len - 1; i++) {
		const char *c = strchr(b64, id[i]);

		FUZZ_ASSERT(c && id[i], "community_id %s: not base64", id);
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8 && n <= SHA1_DIGEST_LEN) {
			bits -= 8;
			d[n++] = (uint8_t)(acc >> bits);
		}
	}
	FUZZ_ASSERT(n == SHA1_DIGEST_LEN && !memcmp(d, j->r->community_id, SHA1_DIGEST_LEN),
		    "community_id %s is not the record's digest", id);
}

static void json_value(struct json *j, int depth, const char *key)
{
	unsigned long long v;
	int is_uint;

	ws(j);
	switch (*j->p) {
	case '{':
		json_object(j, depth);
		return;
	case '[':
		j->p++;
		ws(j);
		if (*j->p == ']') {
			j->p++;
			return;
		}
		for (;;) {
			json_value(j, depth + 1, NULL);
			ws(j);
			if (*j->p == ']') {
				j->p++;
				return;
			}
			if (*j->p != ',')
				json_fail(j, "expected ',' or ']'");
			j->p++;
		}
	case '"':
		if (key && same(key, "community_id")) {
			char id[64];

			json_string(j, id, sizeof(id));
			check_community_id(j, id);
			j->community_id_seen = 1;
			return;
		}
		json_string(j, NULL, 0);
		return;
	case 't':
		if (strncmp(j->p, "true", 4))
			json_fail(j, "bad literal");
		j->p += 4;
		return;
	case 'f':
		if (strncmp(j->p, "false", 5))
			json_fail(j, "bad literal");
		j->p += 5;
		return;
	case 'n':
		if (strncmp(j->p, "null", 4))
			json_fail(j, "bad literal");
		j->p += 4;
		return;
	}
	json_number(j, &v, &is_uint);
	if (key && is_uint)
		check_counter(j, key, v);
}

static void check_json(const char *s, const struct flow_record *r)
{
	struct json j = { .p = s, .start = s, .r = r };

	if (*s != '{')
		json_fail(&j, "not an object");
	json_object(&j, 0);
	if (*j.p)
		json_fail(&j, "text after the object");
	FUZZ_ASSERT(j.n_keys >= 10, "JSON object with %d keys", j.n_keys);
	FUZZ_ASSERT(j.community_id_seen == !!r->community_id_set,
		    "community_id %s for a record %s one", j.community_id_seen ? "given" : "missing",
		    r->community_id_set ? "with" : "without");
}

typedef int (*format_fn)(const struct flow_record *, char *, size_t);

static void check_format(format_fn fn, const char *name, const struct flow_record *r,
			 char *big, size_t small)
{
	size_t sizes[6];
	int n;

	memset(big, 0x55, BIG);
	n = fn(r, big, BIG);
	FUZZ_ASSERT(n >= 0 && (size_t)n < BIG, "%s: %d into %d octets", name, n, BIG);
	FUZZ_ASSERT(strlen(big) == (size_t)n, "%s: returned %d, wrote %zu", name, n, strlen(big));
	for (int i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)big[i] >= 0x20 && big[i] != 0x7f,
			    "%s: control character 0x%02x at %d: %s", name, (unsigned char)big[i],
			    i, big);

	sizes[0] = 0;
	sizes[1] = 1;
	sizes[2] = (size_t)n;
	sizes[3] = (size_t)n + 1;
	sizes[4] = small % ((size_t)n + 2);
	sizes[5] = n > 1 ? (size_t)n - 1 : 0;
	for (int i = 0; i < 6; i++) {
		size_t len = sizes[i], want = len ? ((size_t)n < len - 1 ? (size_t)n : len - 1) : 0;
		char *buf = len ? malloc(len) : NULL;
		int m;

		if (buf)
			memset(buf, 0x55, len);
		m = fn(r, buf, len);
		FUZZ_ASSERT(m == n, "%s: returned %d into %zu octets, %d into %d", name, m, len, n,
			    BIG);
		if (len) {
			FUZZ_ASSERT(strnlen(buf, len) == want && !memcmp(buf, big, want),
				    "%s: %zu octets do not hold the prefix of %d", name, len, n);
		}
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[BIG];
	struct flow_record r;
	struct fuzz_in in;
	uint16_t small;

	fuzz_in_init(&in, data, size);
	small = fuzz_u16(&in);
	fuzz_flow_record(&in, &r);
	/* Mostly interfaces the name cache holds: a miss costs if_indextoname()'s
	 * three syscalls, a tenth of the speed, for no new path. */
	if (small & 1) {
		r.fwd.ifindex %= 8;
		r.rev.ifindex %= 8;
	}
	check_format(flow_format_text, "text", &r, big, small);
	check_format(flow_format_json, "json", &r, big, small);
	check_json(big, &r);
	return 0;
}
