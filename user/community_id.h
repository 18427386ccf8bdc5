/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Community ID flow hash, version 1 (github.com/corelight/community-id-spec):
 * the same string for both directions of a conversation, so a record of
 * bpfix joins a Zeek, Suricata or Elastic record of the same flow.
 *
 *   sha1(seed . saddr . daddr . proto . 0 . sport . dport), "1:" + base64
 *
 * seed: 2 octets, network order; addresses 4 or 16 octets; the endpoint
 * with the smaller address (then port) first. Ports only for TCP, UDP,
 * SCTP and ICMP/ICMPv6, where type and code stand for them: a type that
 * has a counterpart (echo request and reply, ...) gives (type, counterpart
 * type) and is ordered like ports; any other type is one-way, (type, code)
 * as seen, not reordered. Any other IP protocol hashes addresses and
 * protocol only. Non-IP (L2) flows have no Community ID.
 *
 * The agent computes it once per record, where the record is finished
 * (flowtab.c, emit_record), when an output shows it (JSON, IPFIX: not for
 * text alone), and keeps the digest in the record; outputs spell it with
 * community_id_str().
 */
#ifndef BPFIX_COMMUNITY_ID_H
#define BPFIX_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>
#include "bpfix.h"

#define SHA1_DIGEST_LEN      20
#define COMMUNITY_ID_STR_LEN 30	/* "1:" + 28 base64 characters, no NUL */

/* SHA-1 (FIPS 180-4) of @len octets at @data. */
void sha1(const void *data, size_t len, uint8_t digest[SHA1_DIGEST_LEN]);

/* The Community ID v1 digest of @k's conversation with @seed. Returns 0,
 * or -EAFNOSUPPORT for a key that is not IPv4 or IPv6 (nothing written). */
int community_id_digest(const struct flow_key *k, uint16_t seed,
			uint8_t digest[SHA1_DIGEST_LEN]);

/* "1:" + base64(@digest) into @out: COMMUNITY_ID_STR_LEN characters and
 * a NUL. */
void community_id_str(const uint8_t digest[SHA1_DIGEST_LEN], char out[COMMUNITY_ID_STR_LEN + 1]);

#endif /* BPFIX_COMMUNITY_ID_H */
