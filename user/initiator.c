// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Which side began a conversation: the rules of the README's initiator
 * table, in order, and the listening sockets the service-port rule asks
 * about. See initiator.h. */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "initiator.h"

void listen_ports_set(struct listen_ports *lp, int proto, uint16_t port)
{
	uint8_t *bits = proto == IPPROTO_TCP ? lp->tcp : lp->udp;

	bits[port / 8] |= 1u << (port % 8);
}

static int listen_port_is_set(const struct listen_ports *lp, int proto, uint16_t port)
{
	const uint8_t *bits;

	if (!lp || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return 0;
	bits = proto == IPPROTO_TCP ? lp->tcp : lp->udp;
	return bits[port / 8] >> (port % 8) & 1;
}

static void listen_ports_file(struct listen_ports *lp, const char *path, int proto)
{
	char line[512];
	unsigned int port, state;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		/* sl local_address:port rem_address:port st ... */
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port, &state) != 2)
			continue;
		/* TCP_LISTEN is 0x0A; a bound UDP socket is 0x07 (TCP_CLOSE). */
		if ((proto == IPPROTO_TCP && state == 0x0A) || (proto == IPPROTO_UDP && state == 0x07))
			listen_ports_set(lp, proto, port);
	}
	fclose(f);
}

void listen_ports_load(struct listen_ports *lp)
{
	memset(lp, 0, sizeof(*lp));
	listen_ports_file(lp, "/proc/net/tcp", IPPROTO_TCP);
	listen_ports_file(lp, "/proc/net/tcp6", IPPROTO_TCP);
	listen_ports_file(lp, "/proc/net/udp", IPPROTO_UDP);
	listen_ports_file(lp, "/proc/net/udp6", IPPROTO_UDP);
}

static int has_ports(const struct flow_key *k)
{
	switch (k->protocol) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_DCCP: case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		return k->ip_version != 0;
	}
	return 0;
}

static int is_service(const struct listen_ports *lp, int proto, uint16_t port)
{
	return (port && port < 1024) || listen_port_is_set(lp, proto, port);
}

int flow_initiator(const struct flow_key key[2], const struct flow_side side[2],
		   const int seen[2], const struct listen_ports *lp, enum initiator_rule *rule)
{
	int s;

	for (s = 0; s < 2; s++) {
		/* 1. A SYN without ACK opens a connection. */
		if (seen[s] && (side[s].tcp_syn & TCP_SYN_SEEN) &&
		    !(seen[!s] && (side[!s].tcp_syn & TCP_SYN_SEEN))) {
			*rule = INIT_TCP_SYN;
			return s;
		}
	}
	for (s = 0; s < 2; s++) {
		/* 2. The SYN-ACK comes from the responder. */
		if (seen[s] && (side[s].tcp_syn & TCP_SYNACK_SEEN) &&
		    !(seen[!s] && (side[!s].tcp_syn & TCP_SYNACK_SEEN))) {
			*rule = INIT_TCP_SYNACK;
			return !s;
		}
	}
	for (s = 0; s < 2; s++) {
		/* 3. ICMP: the request's sender. */
		if (seen[s] && flow_key_is_icmp(&key[s]) && flow_key_icmp_query(&key[s])) {
			*rule = INIT_ICMP_REQUEST;
			return flow_key_icmp_query(&key[s]) > 0 ? s : !s;
		}
	}
	for (s = 0; s < 2; s++) {
		/* 4. Towards a service port from an ephemeral one. */
		const struct flow_key *k = &key[s];

		if (!seen[s] || !has_ports(k))
			continue;
		if (is_service(lp, k->protocol, k->dst_port) !=
		    is_service(lp, k->protocol, k->src_port)) {
			*rule = INIT_SERVICE_PORT;
			return is_service(lp, k->protocol, k->dst_port) ? s : !s;
		}
		/* Below 1024 wins over a listening socket: compare ranks. */
		if (k->src_port && k->dst_port && (k->src_port < 1024) != (k->dst_port < 1024)) {
			*rule = INIT_SERVICE_PORT;
			return k->dst_port < 1024 ? s : !s;
		}
	}
	/* 5. Whoever spoke first. */
	*rule = INIT_FIRST_SEEN;
	if (seen[0] && seen[1])
		return side[1].first_ms < side[0].first_ms ||
		       (side[1].first_ms == side[0].first_ms && side[1].first_ns < side[0].first_ns);
	return seen[0] ? 0 : 1;
}
