// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Link events from rtnetlink (user/links.h). The parser trusts no length
 * in what it reads: netlink is the kernel's, but a buffer of bytes is what
 * the fuzzer hands it, and a reader that trusts nlmsg_len or rta_len reads
 * past its buffer the day a message is cut short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "errline.h"
#include "links.h"

/* Large enough for a dump's burst of a few hundred veths between two
 * reads: the kernel's default (212992) drops events of a node whose pods
 * all start at once; past this, ENOBUFS resyncs. */
#define LINKS_RCVBUF (4u << 20)
#define LINKS_READ_BUF 65536

/* The attributes of one link message: @p, @len octets after the
 * ifinfomsg. Returns 0, or -EINVAL when one runs past the message. */
static int parse_attrs(const unsigned char *p, size_t len, struct link_event *ev)
{
	while (len >= sizeof(struct rtattr)) {
		struct rtattr rta;
		size_t alen, step;

		memcpy(&rta, p, sizeof(rta));
		alen = rta.rta_len;
		if (alen < sizeof(struct rtattr) || alen > len)
			return -EINVAL;
		switch (rta.rta_type) {
		case IFLA_IFNAME: {
			size_t n = alen - RTA_LENGTH(0);
			const unsigned char *s = p + RTA_LENGTH(0);
			const unsigned char *nul = memchr(s, '\0', n);

			/* a name and its NUL within IF_NAMESIZE, or no name */
			if (!nul || nul == s || (size_t)(nul - s) >= IF_NAMESIZE)
				return -EINVAL;
			memcpy(ev->name, s, (size_t)(nul - s) + 1);
			break;
		}
		case IFLA_MTU:
			if (alen < RTA_LENGTH(sizeof(uint32_t)))
				return -EINVAL;
			memcpy(&ev->mtu, p + RTA_LENGTH(0), sizeof(uint32_t));
			break;
		}
		step = RTA_ALIGN(alen);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

void links_parse(const void *buf, size_t len, link_fn fn, void *ctx, struct links_parsed *out)
{
	const unsigned char *p = buf;

	memset(out, 0, sizeof(*out));
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr nh;
		size_t mlen, step;

		memcpy(&nh, p, sizeof(nh));
		mlen = nh.nlmsg_len;
		if (mlen < sizeof(nh) || mlen > len) {
			out->malformed++;
			return;	/* the rest cannot be framed */
		}
		if (nh.nlmsg_type == NLMSG_DONE) {
			out->done = 1;
		} else if (nh.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;

			if (mlen < NLMSG_LENGTH(sizeof(int))) {
				out->malformed++;
			} else {
				memcpy(&e.error, p + NLMSG_HDRLEN, sizeof(int));
				/* an ack is error 0; a dump that failed ends too */
				if (e.error) {
					out->error = e.error < 0 ? e.error : -EPROTO;
					out->done = 1;
				}
			}
		} else if (nh.nlmsg_type == RTM_NEWLINK || nh.nlmsg_type == RTM_DELLINK) {
			struct link_event ev = { .gone = nh.nlmsg_type == RTM_DELLINK };
			struct ifinfomsg ifi;
			size_t off = NLMSG_LENGTH(sizeof(ifi));

			if (mlen < off) {
				out->malformed++;
			} else {
				memcpy(&ifi, p + NLMSG_HDRLEN, sizeof(ifi));
				ev.ifindex = ifi.ifi_index > 0 ? (unsigned int)ifi.ifi_index : 0;
				ev.flags = ifi.ifi_flags;
				if (!ev.ifindex ||
				    parse_attrs(p + NLMSG_ALIGN(off), mlen > NLMSG_ALIGN(off) ?
						mlen - NLMSG_ALIGN(off) : 0, &ev)) {
					out->malformed++;
				} else {
					out->events++;
					fn(ctx, &ev);
				}
			}
		}
		step = NLMSG_ALIGN(mlen);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
	if (len)
		out->malformed++;	/* a piece shorter than a header */
}

int links_open(struct links *l, char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	/* smaller on request: how tests make the kernel drop events */
	const char *env = getenv("BPFIX_NETLINK_RCVBUF");
	int size = env && atoi(env) > 0 ? atoi(env) : (int)LINKS_RCVBUF;

	memset(l, 0, sizeof(*l));
	l->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (l->fd < 0)
		return err_line(err, errlen, -errno, "rtnetlink socket (link events): %s",
				strerror(errno));
	/* FORCE needs CAP_NET_ADMIN, which the agent has here; without it the
	 * kernel caps the size at rmem_max: fewer events before a resync. */
	if (env || setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(l->fd);
		l->fd = -1;
		return err_line(err, errlen, ret, "rtnetlink: subscribing to link events: %s",
				strerror(-ret));
	}
	return 0;
}

/* One buffer's events, counted. */
static void parse_counted(struct links *l, const void *buf, size_t len, link_fn fn, void *ctx,
			  struct links_parsed *r)
{
	links_parse(buf, len, fn, ctx, r);
	l->messages += r->events;
	l->malformed += r->malformed;
}

int links_read(struct links *l, link_fn fn, void *ctx)
{
	static unsigned char buf[LINKS_READ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		struct links_parsed r;
		ssize_t n = recvfrom(l->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
				     &fromlen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			l->resyncs++;
			return -ENOBUFS;
		}
		if (n <= 0)
			return 0;	/* EAGAIN: all read */
		if (from.nl_pid)
			continue;	/* only the kernel speaks on this socket */
		parse_counted(l, buf, (size_t)n, fn, ctx, &r);
	}
}

int links_dump(struct links *l, link_fn fn, void *ctx)
{
	static unsigned char buf[LINKS_READ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	int fd, ret = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0)
		ret = -errno;
	while (!ret && !done) {
		struct links_parsed r;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		parse_counted(l, buf, (size_t)n, fn, ctx, &r);
		done = r.done;
		ret = r.error;
	}
	close(fd);
	return ret;
}

void links_close(struct links *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
