/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's interfaces as they come and go: an rtnetlink socket
 * subscribed to RTNLGRP_LINK (non-blocking, polled in the agent's one
 * wait), and a dump of every link for the start and for a resync after
 * the kernel dropped events (ENOBUFS). What the messages say is parsed by
 * links_parse(), a pure function over bytes (tests/test_links.c,
 * tests/fuzz/fuzz_netlink.c).
 */
#ifndef BPFIX_LINKS_H
#define BPFIX_LINKS_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

/* One RTM_NEWLINK or RTM_DELLINK, as far as the agent needs it. */
struct link_event {
	int gone;			/* RTM_DELLINK */
	unsigned int ifindex;		/* never 0 */
	unsigned int flags;		/* IFF_UP, ... (ifi_flags) */
	uint32_t mtu;			/* IFLA_MTU; 0: the message had none */
	char name[IF_NAMESIZE];		/* IFLA_IFNAME; "": the message had none */
};

typedef void (*link_fn)(void *ctx, const struct link_event *ev);

/* What links_parse found in one buffer. */
struct links_parsed {
	uint32_t events;		/* link messages handed to the callback */
	uint32_t malformed;		/* messages or attributes out of bounds: skipped */
	int done;			/* NLMSG_DONE: a dump ended */
	int error;			/* NLMSG_ERROR's errno (negative), or 0 */
};

/*
 * The netlink messages in @buf (@len octets, any alignment): each link
 * message with a valid ifinfomsg and an ifindex goes to @fn. Every length
 * is checked against what is left before it is read: a message whose
 * length runs past the buffer ends the parse (nothing after it can be
 * framed) and one whose attributes do is skipped, each counted in
 * @out->malformed. Other message types are ignored.
 */
void links_parse(const void *buf, size_t len, link_fn fn, void *ctx, struct links_parsed *out);

struct links {
	int fd;				/* subscribed, non-blocking; -1: closed */
	uint64_t messages;		/* link messages read */
	uint64_t malformed;		/* ... skipped as malformed (links_parse) */
	uint64_t resyncs;		/* ENOBUFS: events lost, a dump read instead */
};

/* Subscribe to link events. Returns 0 or a negative errno with one line. */
int links_open(struct links *l, char *err, size_t errlen);
/* Read every event waiting now (never blocks), each to @fn. Returns 0, or
 * -ENOBUFS when the kernel dropped some (the socket is usable again: the
 * caller reads a links_dump() to learn what it missed, and counts it). */
int links_read(struct links *l, link_fn fn, void *ctx);
/* Every link there is now, each as an RTM_NEWLINK event to @fn (a socket
 * of its own, blocking). Returns 0 or a negative errno. */
int links_dump(struct links *l, link_fn fn, void *ctx);
void links_close(struct links *l);

#endif /* BPFIX_LINKS_H */
