// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Link events (user/links.c): links_parse() over any bytes, as a recv()
 * from rtnetlink could hand them, in a buffer of exactly that size (ASan
 * sees any read past it) and at an odd address (UBSan sees an unaligned
 * access). Every event it hands on must name an interface (ifindex > 0),
 * with a terminated name of fewer than IF_NAMESIZE octets that occurs in
 * the input; it cannot find more events and malformed pieces than the
 * input has headers; and a second parse finds the same.
 */
#include <linux/netlink.h>
#include "fuzz.h"
#include "links.h"

struct check {
	const uint8_t *data;
	size_t size;
	struct link_event ev[64];
	uint32_t n;
};

static void on_event(void *ctx, const struct link_event *ev)
{
	struct check *c = ctx;
	size_t len = strnlen(ev->name, IF_NAMESIZE);

	FUZZ_ASSERT(ev->ifindex > 0, "ifindex 0");
	FUZZ_ASSERT(len < IF_NAMESIZE, "name not terminated");
	FUZZ_ASSERT(!len || memmem(c->data, c->size, ev->name, len + 1),
		    "name '%s' (and its NUL) not in the input", ev->name);
	FUZZ_ASSERT(ev->gone == 0 || ev->gone == 1, "gone %d", ev->gone);
	if (c->n < 64)
		c->ev[c->n] = *ev;
	c->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *raw = malloc(size + 1), *buf = raw + 1;	/* odd address */
	struct check *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct links_parsed ra, rb;

	memcpy(buf, data, size);
	a->data = b->data = buf;
	a->size = b->size = size;
	links_parse(buf, size, on_event, a, &ra);
	FUZZ_ASSERT(ra.events == a->n, "%u events said, %u handed on", ra.events, a->n);
	FUZZ_ASSERT((size_t)ra.events + ra.malformed <= size / NLMSG_HDRLEN + 1,
		    "%u events and %u malformed in %zu octets", ra.events, ra.malformed, size);
	FUZZ_ASSERT(ra.error <= 0, "error %d", ra.error);
	links_parse(buf, size, on_event, b, &rb);
	FUZZ_ASSERT(!memcmp(&ra, &rb, sizeof(ra)) && a->n == b->n &&
		    !memcmp(a->ev, b->ev, sizeof(a->ev[0]) * (a->n < 64 ? a->n : 64)),
		    "a second parse differs");
	free(raw);
	free(a);
	free(b);
	return 0;
}
