// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Export messages over UDP (and into a FIFO), whatever their format:
 * finished messages wait in a bounded queue and a pacer sends them at
 * --export-rate at most, so a collector with its stock socket buffer keeps
 * every record. ipfix_export.c's header comment says what goes out and
 * when; this is how it is paced, for IPFIX and NetFlow alike (udp_tx.h).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "udp_tx.h"

/* One queued datagram: its counts, then the message. */
struct udp_slot {
	uint32_t len;
	struct udp_counts c;
	uint8_t msg[];
};

static struct udp_slot *udp_slot(const struct udp_tx *t, uint32_t i)
{
	return (struct udp_slot *)(t->uq + (size_t)((t->uq_head + i) % t->uq_slots) *
					   t->uq_slot_size);
}

void udp_tx_enqueue(struct udp_tx *t, const uint8_t *msg, size_t len,
		    const struct udp_counts *c)
{
	struct udp_slot *s;

	if (t->uq_len == t->uq_slots || t->uq_records + c->flows > t->uq_cap) {
		t->ops->not_sent(t, c);
		return;
	}
	s = udp_slot(t, t->uq_len++);
	s->len = (uint32_t)len;
	s->c = *c;
	memcpy(s->msg, msg, len);
	t->uq_records += c->flows;
}

static void udp_pop(struct udp_tx *t)
{
	t->uq_records -= udp_slot(t, 0)->c.flows;
	t->uq_head = (t->uq_head + 1) % t->uq_slots;
	if (!--t->uq_len)
		t->uq_head = 0;	/* keep using the queue's first pages */
}

/* The oldest queued message will not be sent. */
static void udp_drop_head(struct udp_tx *t)
{
	t->ops->not_sent(t, &udp_slot(t, 0)->c);
	udp_pop(t);
}

void udp_tx_drop_all(struct udp_tx *t)
{
	while (t->uq_len)
		udp_drop_head(t);
}

int udp_tx_send(struct udp_tx *t, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do {
		/* a FIFO (O_NONBLOCK): messages of PIPE_BUF go whole or not */
		n = t->fifo ? write(t->fd, buf, len) : send(t->fd, buf, len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Tokens for @now: what the pace allows since the last refill, up to a
 * burst. */
static void udp_refill(struct udp_tx *t, uint64_t now_ns, uint64_t rate)
{
	t->burst = (double)rate * PACE_BURST_MS / 1000;
	if (t->burst < t->uq_burst_min)
		t->burst = t->uq_burst_min;
	if (now_ns > t->tok_ns)
		t->tokens += (double)(now_ns - t->tok_ns) * rate / 1e9;
	if (t->tokens > t->burst)
		t->tokens = t->burst;
	t->tok_ns = now_ns;
}

/* Send what the pace allows now. Returns when to come back (monotonic
 * ns), or UINT64_MAX when the queue is empty. A message goes once the
 * tokens cover it (or a whole burst, for a message of more records than
 * one burst holds): the debt it leaves keeps the average at @rate. */
uint64_t udp_tx_pace(struct udp_tx *t, uint64_t now_ns, uint64_t rate)
{
	int tried = 0;

	udp_refill(t, now_ns, rate);
	while (t->uq_len && t->out->gone)	/* a FIFO's reader left */
		udp_drop_head(t);
	while (t->uq_len) {
		struct udp_slot *s = udp_slot(t, 0);
		double need = s->c.records < t->burst ? s->c.records : t->burst;
		int err;

		if (t->tokens < need)
			return now_ns + (uint64_t)((need - t->tokens) * 1e9 / rate) + 1;
		if (t->tpl_resend && t->ops->resend) {
			err = t->ops->resend(t, s->msg, s->len);
			if (err == -EAGAIN)
				return now_ns + PACE_RETRY_NS;
			/* A refusal here is most often an earlier datagram's
			 * (the kernel reports it on the next send): try once
			 * more, so the data never goes without templates to
			 * a collector that is just starting. */
			if (err < 0 && !tried++) {
				t->out->stats->errors++;
				continue;
			}
			if (!err)
				t->tpl_resend = 0;
		}
		t->ops->stamp(t, s->msg, s->len);
		err = udp_tx_send(t, s->msg, s->len);
		if (err == -EAGAIN)
			return now_ns + PACE_RETRY_NS;	/* the local buffer is full */
		if (!err) {
			t->ops->sent(t, &s->c, s->len);
		} else {
			/* ECONNREFUSED: nothing listened a moment ago, so
			 * the templates sent then reached nobody: again
			 * before the next data, once this sweep (a collector
			 * that stays away must not cost templates per
			 * message) and at the next (ICMP errors are rate
			 * limited: a send that "worked" proves nothing). */
			if (t->fifo)
				output_write_failed(t->out, -err);	/* EPIPE: gone */
			else
				t->out->stats->errors++;
			t->ops->not_sent(t, &s->c);
			t->tpl_lost = 1;
			if (!t->tpl_rearmed)
				t->tpl_resend = t->tpl_rearmed = 1;
		}
		t->tokens -= s->c.records;
		udp_pop(t);
	}
	return UINT64_MAX;
}

/* The pace for the next sweep interval: what empties the queue by its
 * end, within [rate / 16, rate]. */
static void udp_set_pace(struct udp_tx *t)
{
	uint64_t want = t->sweep_ms ? t->uq_records * 1000 / t->sweep_ms : t->rate;

	t->pace = want > t->rate ? t->rate : want < t->rate / 16 ? t->rate / 16 : want;
	if (!t->pace)
		t->pace = 1;
}

void udp_tx_tick(struct udp_tx *t)
{
	t->tpl_rearmed = 0;
	if (t->tpl_lost)
		t->tpl_resend = 1;
	t->tpl_lost = 0;
	udp_set_pace(t);
	udp_tx_pace(t, clock_mono_ns(), t->pace);
}

/* ---- opening ------------------------------------------------------------ */

int udp_tx_open(struct udp_tx *t, const struct collector *c, uint32_t mtu, size_t largest,
		uint32_t msg_max, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int sndbuf = UDP_SNDBUF, saved = 0, rc;
	uint32_t hdr;

	rc = output_resolve(c, SOCK_DGRAM, &res, err, errlen);
	if (rc)
		return rc;
	for (ai = res; ai; ai = ai->ai_next) {
		t->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (t->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(t->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(t->fd);
		t->fd = -1;
	}
	if (!ai) {
		snprintf(err, errlen, "%s: cannot connect: %s", c->uri, strerror(saved));
		freeaddrinfo(res);
		return -saved;
	}
	hdr = ai->ai_family == AF_INET6 ? 40 + 8 : 20 + 8;
	freeaddrinfo(res);

	/* Root may exceed wmem_max; otherwise take what the kernel allows. */
	if (setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	if (mtu <= hdr || mtu - hdr < largest) {
		snprintf(err, errlen, "%s: an MTU of %u leaves %d octets per message, "
			 "%zu needed", c->uri, mtu, (int)mtu - (int)hdr, largest);
		return -EINVAL;
	}
	return (int)(mtu - hdr > msg_max ? msg_max : mtu - hdr);
}

/* A full message holds at least min_full records, so that many slots
 * cover the records; a few more hold the partial messages a sweep ends
 * with and options-only ones. calloc: pages are backed only as deep as the
 * queue gets. */
int udp_tx_queue_open(struct udp_tx *t, const struct bpfix_config *cfg, uint32_t cap,
		      uint32_t min_full, uint32_t burst_min, char *err, size_t errlen)
{
	t->uq_cap = cfg->udp_queue_records ? cfg->udp_queue_records : DEFAULT_UDP_QUEUE_RECORDS;
	t->uq_slots = (uint32_t)(t->uq_cap / (min_full ? min_full : 1)) + UDP_QUEUE_SPARE_SLOTS;
	t->uq_slot_size = (sizeof(struct udp_slot) + cap + 7) & ~(size_t)7;
	t->uq_burst_min = burst_min;
	t->rate = cfg->export_rate ? cfg->export_rate : DEFAULT_EXPORT_RATE;
	t->pace = t->rate;
	t->sweep_ms = cfg->sweep_interval_ms;
	t->tok_ns = clock_mono_ns();
	t->tokens = t->uq_burst_min;
	t->uq = calloc(t->uq_slots, t->uq_slot_size);
	if (!t->uq) {
		snprintf(err, errlen, "%s: cannot allocate a queue of %llu records: %s",
			 t->out->name, (unsigned long long)t->uq_cap, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void udp_tx_free(struct udp_tx *t)
{
	free(t->uq);
	t->uq = NULL;
}
