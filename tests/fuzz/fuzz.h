/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets (tests/fuzz/fuzz_*.c) share: an assertion that
 * stays on whatever NDEBUG says, a reader that turns the fuzzer's bytes into
 * values (zeros once the bytes run out, so every input is a whole case), and
 * one way to make a flow record from bytes for the encoder and the
 * formatters.
 */
#ifndef BPFIX_FUZZ_H
#define BPFIX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "flow.h"

/* abort() is what libFuzzer reports as a crash and saves the input of. */
#define FUZZ_ASSERT(cond, ...) do {						\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: assertion failed: %s: ", __FILE__,	\
			__LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
		abort();							\
	}									\
} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline void fuzz_in_init(struct fuzz_in *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->left = size;
}

static inline void fuzz_bytes(struct fuzz_in *in, void *out, size_t n)
{
	size_t take = n < in->left ? n : in->left;

	memcpy(out, in->p, take);
	memset((uint8_t *)out + take, 0, n - take);
	in->p += take;
	in->left -= take;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

/* A flow record from the bytes. Raw bytes alone would almost never make
 * the shapes the agent makes (IPv4/IPv6/L2, biflow or not, times in order),
 * so a control octet picks a shape and leaves the rest raw: the encoder and
 * the formatters must cope with any value, including the ones the sweep
 * never produces (ip_version 5, a VLAN id above 4095, last before first). */
static inline void fuzz_flow_record(struct fuzz_in *in, struct flow_record *r)
{
	uint8_t ctl = fuzz_u8(in);

	fuzz_bytes(in, r, sizeof(*r));
	switch (ctl & 3) {
	case 0: r->key.ip_version = 4; break;
	case 1: r->key.ip_version = 6; break;
	case 2: r->key.ip_version = 0; break;
	case 3: break;				/* raw */
	}
	if (ctl & 4)
		r->biflow = !!r->biflow;
	if (ctl & 8) {				/* the agent's shape: ordered times */
		struct flow_side *s[2] = { &r->fwd, &r->rev };

		for (int i = 0; i < 2; i++) {
			s[i]->first_ms %= 1ull << 45;	/* before year 3000 */
			s[i]->last_ms = s[i]->first_ms + s[i]->last_ms % 86400000;
			s[i]->direction &= 1;
			s[i]->flow_label &= 0xfffff;
		}
		r->key.vlan_outer &= 0xfff;
		r->key.vlan_inner &= 0xfff;
		if (r->key.ip_version == 4) {
			memset(r->key.src.ip6 + 4, 0, 12);
			memset(r->key.dst.ip6 + 4, 0, 12);
		}
	}
	if (ctl & 16) {				/* ICMP, to reach the type.code paths */
		r->key.protocol = r->key.ip_version == 6 ? 58 : 1;
		r->key.src_port = 0;
	}
	if (ctl & 32) {				/* one side without packets */
		if (ctl & 64)
			r->fwd.packets = 0;
		else
			r->rev.packets = 0;
	}
	if (ctl & 128) {			/* small counters, as most flows have */
		r->fwd.packets %= 1000;
		r->rev.packets %= 1000;
		r->fwd.octets %= 1500000;
		r->rev.octets %= 1500000;
	}
}

/* An error the agent prints as "bpfix: ERR": one line (promise 5), so no
 * control character may come through from what the user typed, and
 * terminated inside the buffer it was given. */
static inline void fuzz_check_err(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	FUZZ_ASSERT(n < errlen, "error message not terminated");
	FUZZ_ASSERT(n > 0, "empty error message");
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
			    "control character 0x%02x at %zu in error \"%s\"",
			    (unsigned char)err[i], i, err);
}

/* A decimal port as the collector holds it: 1..65535, no leading zero. */
static inline unsigned long fuzz_check_port(const char *port, size_t size)
{
	size_t n = strnlen(port, size);
	unsigned long v = 0;

	FUZZ_ASSERT(n > 0 && n < size, "port not terminated or empty");
	FUZZ_ASSERT(port[0] != '0', "port '%s' has a leading zero", port);
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(port[i] >= '0' && port[i] <= '9', "port '%s' not decimal", port);
		v = v * 10 + (unsigned long)(port[i] - '0');
		FUZZ_ASSERT(v <= 65535, "port '%s' above 65535", port);
	}
	FUZZ_ASSERT(v >= 1, "port 0");
	return v;
}

/* The value of a decimal string that may carry leading zeros (what the
 * user typed after the colon), or -1 when it is not one. */
static inline long fuzz_decimal(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			return -1;
	}
	return v;
}

/* An accepted collector URI, checked against the text it came from: every
 * part is a piece of @uri, nothing was invented or dropped. */
static inline void fuzz_check_collector(const char *uri, const struct collector *c)
{
	const char *rest, *portstr;
	size_t hostlen, scheme = 6;
	unsigned long port;

	FUZZ_ASSERT(strnlen(c->uri, sizeof(c->uri)) < sizeof(c->uri), "uri not terminated");
	FUZZ_ASSERT(!strcmp(c->uri, uri), "uri '%s' kept as '%s'", uri, c->uri);
	switch (c->kind) {
	case COLLECTOR_FILE:
		FUZZ_ASSERT(!strncmp(uri, "file:", 5), "'%s' taken as a file", uri);
		FUZZ_ASSERT(strnlen(c->path, sizeof(c->path)) < sizeof(c->path), "path");
		FUZZ_ASSERT(c->path[0] && !strcmp(c->path, uri + 5), "'%s': path '%s'", uri,
			    c->path);
		return;
	case COLLECTOR_UDP:
		FUZZ_ASSERT(!strncmp(uri, "udp://", 6), "'%s' taken as UDP", uri);
		break;
	case COLLECTOR_TCP:
		FUZZ_ASSERT(!strncmp(uri, "tcp://", 6), "'%s' taken as TCP", uri);
		break;
	case COLLECTOR_NETFLOW9:
		FUZZ_ASSERT(!strncmp(uri, "netflow9://", 11), "'%s' taken as NetFlow v9", uri);
		scheme = 11;
		break;
	case COLLECTOR_NETFLOW5:
		FUZZ_ASSERT(!strncmp(uri, "netflow5://", 11), "'%s' taken as NetFlow v5", uri);
		scheme = 11;
		break;
	default:
		FUZZ_ASSERT(0, "'%s': collector kind %d", uri, (int)c->kind);
	}
	hostlen = strnlen(c->host, sizeof(c->host));
	FUZZ_ASSERT(hostlen > 0 && hostlen < sizeof(c->host), "'%s': host length %zu", uri,
		    hostlen);
	port = fuzz_check_port(c->port, sizeof(c->port));
	rest = uri + scheme;
	if (rest[0] == '[') {
		FUZZ_ASSERT(!memcmp(rest + 1, c->host, hostlen) && rest[1 + hostlen] == ']' &&
			    rest[2 + hostlen] == ':', "'%s': host '%s'", uri, c->host);
		FUZZ_ASSERT(!strchr(c->host, ']'), "'%s': host '%s'", uri, c->host);
		portstr = rest + 3 + hostlen;
	} else {
		FUZZ_ASSERT(!strchr(c->host, ':'), "'%s': unbracketed host '%s' has a colon",
			    uri, c->host);
		FUZZ_ASSERT(!memcmp(rest, c->host, hostlen) && rest[hostlen] == ':',
			    "'%s': host '%s'", uri, c->host);
		portstr = rest + hostlen + 1;
	}
	FUZZ_ASSERT(fuzz_decimal(portstr) == (long)port, "'%s': port %lu from '%s'", uri, port,
		    portstr);
}

#endif /* BPFIX_FUZZ_H */
