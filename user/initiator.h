/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which side of a conversation began it, for biflow records (RFC 5103:
 * the source is the initiator). The rules, tried in order, are the
 * README's initiator table: a SYN, a SYN-ACK, an ICMP request, a service
 * port (below 1024, or a socket listening on this host), and then
 * whichever side was seen first.
 */
#ifndef BPFIX_INITIATOR_H
#define BPFIX_INITIATOR_H

#include <stdint.h>
#include "flow.h"

/* How flow_initiator() decided; the table in the README lists the cases. */
enum initiator_rule {
	INIT_TCP_SYN = 1,	/* a SYN without ACK */
	INIT_TCP_SYNACK,	/* the other side sent the SYN-ACK */
	INIT_ICMP_REQUEST,	/* ICMP/ICMPv6 echo (or other) request */
	INIT_SERVICE_PORT,	/* destination is a service port, source is not */
	INIT_FIRST_SEEN,	/* neither: the side seen first */
};

/* Ports where a socket listens on this host, per protocol (TCP, UDP). */
struct listen_ports {
	uint8_t tcp[65536 / 8];
	uint8_t udp[65536 / 8];
};
/* From /proc/net/{tcp,udp}{,6}; a file that cannot be read adds nothing
 * (the service-port rule then falls back to ports below 1024). */
void listen_ports_load(struct listen_ports *lp);
void listen_ports_set(struct listen_ports *lp, int proto, uint16_t port);

/*
 * Which side began the conversation: 0 or 1. @key[s] is side s's key (its
 * source is the sender of side s), @side[s] its counters; seen[s] says
 * whether side s ever had packets. @lp may be NULL.
 */
int flow_initiator(const struct flow_key key[2], const struct flow_side side[2],
		   const int seen[2], const struct listen_ports *lp, enum initiator_rule *rule);

#endif /* BPFIX_INITIATOR_H */
