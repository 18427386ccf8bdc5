// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX over UDP (and into a FIFO): finished messages wait in a bounded
 * queue and a pacer sends them at --export-rate at most, so a collector
 * with its stock socket buffer keeps every record. ipfix_export.c's header
 * comment says what goes out and when; this is how it is paced.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "ipfix_export.h"

/* One queued datagram: its counts, then the message. */
struct udp_slot {
	uint32_t len;
	uint32_t records;		/* data records, options included */
	uint64_t flows, packets, octets;
	uint8_t msg[];
};

static struct udp_slot *udp_slot(const struct ipfix_out *x, uint32_t i)
{
	return (struct udp_slot *)(x->uq + (size_t)((x->uq_head + i) % x->uq_slots) *
					   x->uq_slot_size);
}

void udp_enqueue(struct ipfix_out *x, const struct ipfix_msg *m, size_t len)
{
	struct udp_slot *s;

	if (x->uq_len == x->uq_slots || x->uq_records + m->flows > x->uq_cap) {
		ipx_count_drop(x, m->flows, m->packets, m->octets);
		return;
	}
	s = udp_slot(x, x->uq_len++);
	s->len = (uint32_t)len;
	s->records = m->records;
	s->flows = m->flows;
	s->packets = m->packets;
	s->octets = m->octets;
	memcpy(s->msg, m->buf, len);
	x->uq_records += m->flows;
}

static void udp_pop(struct ipfix_out *x)
{
	x->uq_records -= udp_slot(x, 0)->flows;
	x->uq_head = (x->uq_head + 1) % x->uq_slots;
	if (!--x->uq_len)
		x->uq_head = 0;	/* keep using the queue's first pages */
}

/* The oldest queued message will not be sent. */
void udp_drop_head(struct ipfix_out *x)
{
	struct udp_slot *s = udp_slot(x, 0);

	ipx_count_drop(x, s->flows, s->packets, s->octets);
	udp_pop(x);
}

/* send() a whole datagram without waiting: 0, -EAGAIN, or the error. */
static int udp_send(struct ipfix_out *x, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do {
		/* a FIFO (O_NONBLOCK): messages of PIPE_BUF go whole or not */
		n = x->kind == COLLECTOR_FILE ? write(x->fd, buf, len) :
						send(x->fd, buf, len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* The flow templates again, ahead of the queued flow data, after a send
 * was refused (options messages carry their own templates). They carry no
 * data records: domain and sequence number are the next flow message's.
 * Returns 0 once they are out. */
static int udp_resend_templates(struct ipfix_out *x)
{
	struct ipfix_msg t;
	uint16_t tid = IPFIX_TID_FIRST;

	ipfix_msg_init(&t, x->tbuf, x->msg.cap, x->odid);
	while (tid < IPFIX_TID_END) {
		int err;

		while (tid < IPFIX_TID_END &&
		       (ipfix_tid_is_options(tid) || !ipfix_msg_add_template(&t, tid)))
			tid++;
		ipfix_msg_finish(&t, (uint32_t)(clock_wall_ms() / 1000), x->seq_next_out);
		err = udp_send(x, t.buf, t.len);
		if (err)
			return err;
		ipx_count_sent(x, &t, t.len);	/* no data records: a message, its octets */
		ipfix_msg_reset(&t);
	}
	x->tpl_resend = 0;
	return 0;
}

static void stamp_export_time(uint8_t *msg)
{
	uint32_t t = htobe32((uint32_t)(clock_wall_ms() / 1000));

	memcpy(msg + 4, &t, 4);
}

/* A message header's u32 at @off: 8 sequence number, 12 domain. */
static uint32_t msg_u32(const uint8_t *msg, size_t off)
{
	uint32_t v;

	memcpy(&v, msg + off, 4);
	return be32toh(v);
}

/* Tokens for @now: what the pace allows since the last refill, up to a
 * burst. */
static void udp_refill(struct ipfix_out *x, uint64_t now_ns, uint64_t rate)
{
	x->burst = (double)rate * PACE_BURST_MS / 1000;
	if (x->burst < x->uq_burst_min)
		x->burst = x->uq_burst_min;
	if (now_ns > x->tok_ns)
		x->tokens += (double)(now_ns - x->tok_ns) * rate / 1e9;
	if (x->tokens > x->burst)
		x->tokens = x->burst;
	x->tok_ns = now_ns;
}

/* Send what the pace allows now. Returns when to come back (monotonic
 * ns), or UINT64_MAX when the queue is empty. A message goes once the
 * tokens cover it (or a whole burst, for a message of more records than
 * one burst holds): the debt it leaves keeps the average at @rate. */
uint64_t udp_pace(struct ipfix_out *x, uint64_t now_ns, uint64_t rate)
{
	int tried = 0;

	udp_refill(x, now_ns, rate);
	while (x->uq_len && x->out.gone)	/* a FIFO's reader left */
		udp_drop_head(x);
	while (x->uq_len) {
		struct udp_slot *s = udp_slot(x, 0);
		double need = s->records < x->burst ? s->records : x->burst;
		int err;

		if (x->tokens < need)
			return now_ns + (uint64_t)((need - x->tokens) * 1e9 / rate) + 1;
		if (x->tpl_resend && msg_u32(s->msg, 12) == x->odid) {
			x->seq_next_out = msg_u32(s->msg, 8);
			err = udp_resend_templates(x);
			if (err == -EAGAIN)
				return now_ns + PACE_RETRY_NS;
			/* A refusal here is most often an earlier datagram's
			 * (the kernel reports it on the next send): try once
			 * more, so the data never goes without templates to
			 * a collector that is just starting. */
			if (err && !tried++) {
				x->out.stats->errors++;
				continue;
			}
		}
		stamp_export_time(s->msg);
		err = udp_send(x, s->msg, s->len);
		if (err == -EAGAIN)
			return now_ns + PACE_RETRY_NS;	/* the local buffer is full */
		if (!err) {
			struct ipfix_msg sent = { .flows = s->flows, .packets = s->packets,
						  .octets = s->octets };

			ipx_count_sent(x, &sent, s->len);
		} else {
			/* ECONNREFUSED: nothing listened a moment ago, so
			 * the templates sent then reached nobody: again
			 * before the next data, once this sweep (a collector
			 * that stays away must not cost templates per
			 * message) and at the next (ICMP errors are rate
			 * limited: a send that "worked" proves nothing). */
			if (x->kind == COLLECTOR_FILE)
				output_write_failed(&x->out, -err);	/* EPIPE: gone */
			else
				x->out.stats->errors++;
			ipx_count_drop(x, s->flows, s->packets, s->octets);
			x->tpl_lost = 1;
			if (!x->tpl_rearmed)
				x->tpl_resend = x->tpl_rearmed = 1;
		}
		x->tokens -= s->records;
		udp_pop(x);
	}
	return UINT64_MAX;
}

uint64_t udp_pump(struct output *o, uint64_t now_ns)
{
	struct ipfix_out *x = to_ipfix(o);

	return udp_pace(x, now_ns, x->pace);
}

/* The pace for the next sweep interval: what empties the queue by its
 * end, within [rate / 16, rate]. */
void udp_set_pace(struct ipfix_out *x)
{
	uint64_t want = x->sweep_ms ? x->uq_records * 1000 / x->sweep_ms : x->rate;

	x->pace = want > x->rate ? x->rate : want < x->rate / 16 ? x->rate / 16 : want;
	if (!x->pace)
		x->pace = 1;
}

/* ---- opening ------------------------------------------------------------ */

int udp_open(struct ipfix_out *x, const struct collector *c, uint32_t mtu,
		    char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int sndbuf = UDP_SNDBUF, ret = 0, saved = 0;
	uint32_t hdr;

	ret = ipx_resolve(c, SOCK_DGRAM, &res, err, errlen);
	if (ret)
		return ret;
	for (ai = res; ai; ai = ai->ai_next) {
		x->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (x->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(x->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(x->fd);
		x->fd = -1;
	}
	if (!ai) {
		snprintf(err, errlen, "%s: cannot connect: %s", c->uri, strerror(saved));
		freeaddrinfo(res);
		return -saved;
	}
	hdr = ai->ai_family == AF_INET6 ? 40 + 8 : 20 + 8;
	freeaddrinfo(res);

	/* Root may exceed wmem_max; otherwise take what the kernel allows. */
	if (setsockopt(x->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	if (mtu <= hdr || mtu - hdr < ipx_largest_item()) {
		snprintf(err, errlen, "%s: an MTU of %u leaves %d octets per IPFIX message, "
			 "%zu needed", c->uri, mtu, (int)mtu - (int)hdr, ipx_largest_item());
		return -EINVAL;
	}
	return (int)(mtu - hdr > IPFIX_MSG_MAX ? IPFIX_MSG_MAX : mtu - hdr);
}

/* The UDP queue: --udp-queue flow records in messages of @cap octets.
 * A full message holds at least min_full records (the longest template's),
 * so that many slots cover the records; a few more hold the partial
 * messages a sweep ends with and options-only ones. calloc: pages are
 * backed only as deep as the queue gets. */
int udp_queue_open(struct ipfix_out *x, const struct bpfix_config *cfg, uint32_t cap,
			  char *err, size_t errlen)
{
	size_t longest = 0;
	uint32_t min_full;

	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++)
		if (ipfix_template(tid)->rec_len > longest)
			longest = ipfix_template(tid)->rec_len;
	min_full = (uint32_t)((cap - IPFIX_MSG_HDR_LEN - IPFIX_SET_HDR_LEN) / longest);
	x->uq_cap = cfg->udp_queue_records ? cfg->udp_queue_records : DEFAULT_UDP_QUEUE_RECORDS;
	x->uq_slots = (uint32_t)(x->uq_cap / min_full) + UDP_QUEUE_SPARE_SLOTS;
	x->uq_slot_size = (sizeof(struct udp_slot) + cap + 7) & ~(size_t)7;
	x->uq_burst_min = (cap - IPFIX_MSG_HDR_LEN - IPFIX_SET_HDR_LEN) /
			  ipfix_template(IPFIX_TID_IPV4)->rec_len;
	x->rate = cfg->export_rate ? cfg->export_rate : DEFAULT_EXPORT_RATE;
	x->pace = x->rate;
	x->sweep_ms = cfg->sweep_interval_ms;
	x->tok_ns = clock_mono_ns();
	x->tokens = x->uq_burst_min;
	x->uq = calloc(x->uq_slots, x->uq_slot_size);
	x->tbuf = malloc(cap);
	if (!x->uq || !x->tbuf) {
		snprintf(err, errlen, "%s: cannot allocate a queue of %llu records: %s",
			 x->out.name, (unsigned long long)x->uq_cap, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

