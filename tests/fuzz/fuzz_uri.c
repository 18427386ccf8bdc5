// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Collector URIs (-c): config_parse_collector() on any string. It must
 * accept or give one error line; what it accepts must be made of the
 * string's own pieces (fuzz_check_collector), parse the same way twice, and
 * survive a round trip through its canonical spelling (the form the error
 * messages and the README teach), which must parse to the same collector.
 */
#include <errno.h>
#include "fuzz.h"

#define ERRLEN 512	/* as main.c */

static void canonical(const struct collector *c, char *out, size_t len)
{
	const char *scheme = c->kind == COLLECTOR_UDP ? "udp" :
			     c->kind == COLLECTOR_TCP ? "tcp" :
			     c->kind == COLLECTOR_NETFLOW9 ? "netflow9" : "netflow5";

	if (strchr(c->host, ':') || c->host[0] == '[')
		snprintf(out, len, "%s://[%s]:%s", scheme, c->host, c->port);
	else
		snprintf(out, len, "%s://%s:%s", scheme, c->host, c->port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	/* Exact sizes, so ASan sees a read past the string or the buffers. */
	char *uri = malloc(n + 1), *err = malloc(ERRLEN), *uri2;
	struct collector *c = malloc(sizeof(*c)), *c2 = malloc(sizeof(*c2));
	int ret, ret2;

	memcpy(uri, data, n);
	uri[n] = '\0';
	err[0] = '\0';
	ret = config_parse_collector(uri, c, err, ERRLEN);
	if (ret) {
		FUZZ_ASSERT(ret == -EINVAL, "'%s': returned %d", uri, ret);
		fuzz_check_err(err, ERRLEN);
		goto out;
	}
	fuzz_check_collector(uri, c);

	ret2 = config_parse_collector(uri, c2, err, ERRLEN);
	FUZZ_ASSERT(ret2 == 0 && !memcmp(c, c2, sizeof(*c)), "'%s': second parse differs", uri);

	if (c->kind != COLLECTOR_FILE) {
		uri2 = malloc(sizeof(c->uri));
		canonical(c, uri2, sizeof(c->uri));
		ret2 = config_parse_collector(uri2, c2, err, ERRLEN);
		FUZZ_ASSERT(ret2 == 0, "'%s': canonical '%s' refused: %s", uri, uri2, err);
		FUZZ_ASSERT(c2->kind == c->kind && !strcmp(c2->host, c->host) &&
			    !strcmp(c2->port, c->port), "'%s': canonical '%s' parses to %s %s",
			    uri, uri2, c2->host, c2->port);
		free(uri2);
	}
out:
	free(c2);
	free(c);
	free(err);
	free(uri);
	return 0;
}
