// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What every output shares: how its counts move, and what it does when its
 * writes fail or work again (one line on stderr per change, never one per
 * record). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "output.h"

void output_count_sent(struct output_stats *s, uint64_t records, uint64_t packets,
		       uint64_t octets)
{
	s->records_sent += records;
	s->packets_sent += packets;
	s->octets_sent += octets;
}

void output_count_not_sent(struct output_stats *s, uint64_t records, uint64_t packets,
			   uint64_t octets)
{
	s->records_not_sent += records;
	s->packets_not_sent += packets;
	s->octets_not_sent += octets;
}

void output_write_failed(struct output *o, int err)
{
	o->stats->errors++;
	if (err == EPIPE) {
		if (!o->gone)
			fprintf(stderr, "bpfix: %s: closed by its reader: records are counted as "
				"not sent\n", o->name);
		o->gone = 1;
		return;
	}
	if (err != o->write_error)
		fprintf(stderr, "bpfix: %s: %s: records are counted as not sent\n", o->name,
			strerror(err));
	o->write_error = err;
	o->failing = 1;
}

void output_write_ok(struct output *o)
{
	if (o->write_error)
		fprintf(stderr, "bpfix: %s: writes work again\n", o->name);
	o->write_error = 0;
	o->failing = 0;
}

int output_resolve(const struct collector *c, int socktype, struct addrinfo **res,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype };
	int rc = getaddrinfo(c->host, c->port, &hints, res);

	if (rc) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", c->uri, c->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -ENOENT;
	}
	/* connect() would only say EINVAL: a link-local address is on
	 * every interface, and the URI must say which (RFC 6874). */
	for (struct addrinfo *ai = *res; ai; ai = ai->ai_next) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ai->ai_addr;

		if (ai->ai_family != AF_INET6 || !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) ||
		    s6->sin6_scope_id)
			return 0;
	}
	snprintf(err, errlen, "%s: %s is link-local: name its interface, [%s%%IFACE]:%s",
		 c->uri, c->host, c->host, c->port);
	freeaddrinfo(*res);
	*res = NULL;
	return -EINVAL;
}
