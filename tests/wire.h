/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Network-order readers for the tests and fuzzers that decode what the
 * IPFIX and NetFlow encoders wrote: one copy, so every decoder reads the
 * octets the same way.
 */
#ifndef BPFIX_TESTS_WIRE_H
#define BPFIX_TESTS_WIRE_H

#include <stdint.h>

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* An unsigned of @len (0..8) octets. */
static inline uint64_t get_uint(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t get64(const uint8_t *p)
{
	return get_uint(p, 8);
}

#endif /* BPFIX_TESTS_WIRE_H */
