// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX over TCP: one session per connection, records in a bounded queue
 * while the collector is away or slow, reconnects with backoff.
 * ipfix_export.c's header comment says what goes out and when.
 *
 * A record leaves the queue once the message carrying it is written whole,
 * and counts as sent once the collector's TCP acknowledged that message
 * (SIOCOUTQ: what the kernel still holds unacknowledged), not when send()
 * took it: a collector that accepts and resets, or dies with its window
 * full, lost what it never acknowledged, and that is counted as not sent
 * when the connection dies. What TCP cannot tell: data acknowledged into
 * the collector's socket buffer that the collector then never read (it
 * crashed, or closed without reading).
 * A connection that dies young (before TCP_YOUNG_MS) keeps doubling the
 * backoff: a collector that accepts and drops at once is not hammered.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include "errline.h"
#include "ipfix_export.h"

static struct flow_record *q_at(struct ipfix_out *x, uint32_t i)
{
	return &x->q[(x->q_tail + i) % x->q_cap];
}

static void tcp_unacked_lost(struct ipfix_out *x)
{
	for (; x->if_len; x->if_len--, x->if_head = (x->if_head + 1) % TCP_INFLIGHT) {
		const struct tcp_inflight *f = &x->inflight[x->if_head];

		ipx_count_drop(x, f->flows, f->packets, f->octets);
	}
	x->if_head = 0;
	x->written = 0;
}

static void tcp_down(struct ipfix_out *x)
{
	uint64_t now = clock_mono_ms();

	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->state == TCP_UP && now - x->up_ms >= TCP_YOUNG_MS)
		x->backoff_ms = TCP_BACKOFF_MIN_MS;	/* it worked a while */
	x->state = TCP_DOWN;
	x->out.stats->errors++;
	/* The partly written message dies with the connection (the collector
	 * discards it); its records are still queued and go out again. Those
	 * written whole and never acknowledged are lost with it. */
	x->pending = 0;
	x->pend_off = 0;
	x->pend_q = 0;
	tcp_unacked_lost(x);
	x->retry_ms = now + x->backoff_ms;
	x->backoff_ms *= 2;
	if (x->backoff_ms > TCP_BACKOFF_MAX_MS)
		x->backoff_ms = TCP_BACKOFF_MAX_MS;
}

static void tcp_up(struct ipfix_out *x)
{
	x->state = TCP_UP;
	x->up_ms = clock_mono_ms();
	x->seq = 0;		/* a new transport session */
	x->tpl_due = 1;
	x->opts_due = 1;	/* report what was lost while away */
}

static void tcp_connect(struct ipfix_out *x)
{
	struct addrinfo *ai = x->ai;
	unsigned int n = 0;

	for (struct addrinfo *a = x->ai; a; a = a->ai_next)
		n++;
	for (unsigned int i = 0; i < x->ai_next % n; i++)
		ai = ai->ai_next;
	x->ai_next++;

	x->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		tcp_down(x);
		return;
	}
	x->connect_ms = clock_mono_ms();
	if (connect(x->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		tcp_up(x);
	} else if (errno == EINPROGRESS) {
		x->state = TCP_CONNECTING;
	} else {
		tcp_down(x);
	}
}

/* Has the pending connect() finished? Waits up to @timeout_ms. */
static void tcp_connecting(struct ipfix_out *x, int timeout_ms)
{
	struct pollfd pfd = { .fd = x->fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (poll(&pfd, 1, timeout_ms) <= 0) {
		if (clock_mono_ms() - x->connect_ms > TCP_CONNECT_TIMEOUT_MS)
			tcp_down(x);
		return;
	}
	if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr)
		tcp_down(x);
	else
		tcp_up(x);
}

/* A collector that closed its end shows up as EOF; anything it sends is
 * ignored (IPFIX collectors send nothing). */
static void tcp_check_peer(struct ipfix_out *x)
{
	char buf[256];
	ssize_t n = recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		tcp_down(x);
}

/* Fill msg with what is due: templates, options records, queued records. */
static void tcp_build(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;

	ipfix_msg_reset(m);
	x->pend_tpl = x->tpl_due;
	x->pend_opts = x->opts_due && x->acct.have_totals;
	if (x->pend_tpl)
		ipx_add_templates(m);
	if (x->pend_opts) {
		struct ipfix_stats s;

		ipx_fill_stats(x, &s);
		for (size_t i = 0; i < ARRAY_SIZE(ipx_stats_tids); i++)
			ipfix_msg_add_stats(m, ipx_stats_tids[i], &s);
		for (int i = 0; i < x->n_ifaces; i++)
			ipfix_msg_add_interface(m, x->acct.odid, x->ifaces[i].ifindex,
						x->ifaces[i].name);
	}
	x->pend_q = 0;
	while (x->pend_q < x->q_len && ipfix_msg_add_flow(m, q_at(x, x->pend_q)) == 0)
		x->pend_q++;
	ipfix_msg_finish(m, (uint32_t)(clock_wall_ms() / 1000), x->seq);
	x->pending = 1;
	x->pend_off = 0;
}

/* The pending message is written whole: its records leave the queue, and
 * it waits for the collector's acknowledgement (tcp_acked). */
static void tcp_sent(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;
	struct tcp_inflight *f = &x->inflight[(x->if_head + x->if_len++) % TCP_INFLIGHT];

	x->written += m->len;
	f->end = x->written;
	f->len = m->len;
	f->flows = m->flows;
	f->packets = m->packets;
	f->octets = m->octets;
	x->seq += m->records;
	x->q_tail = (x->q_tail + x->pend_q) % x->q_cap;
	x->q_len -= x->pend_q;
	if (!x->q_len)
		x->q_tail = 0;	/* keep using the ring's first pages */
	if (x->pend_tpl)
		x->tpl_due = 0;
	if (x->pend_opts)
		x->opts_due = 0;
	x->pending = 0;
	x->pend_off = 0;
	x->pend_q = 0;
}

/* Messages the collector's TCP has acknowledged are sent. */
static void tcp_acked(struct ipfix_out *x)
{
	int outq = 0;

	if (x->state != TCP_UP || !x->if_len || ioctl(x->fd, SIOCOUTQ, &outq) || outq < 0)
		return;
	while (x->if_len) {
		struct tcp_inflight *f = &x->inflight[x->if_head];
		struct ipfix_msg sent = { .flows = f->flows, .packets = f->packets,
					  .octets = f->octets };

		if (f->end > x->written - (uint64_t)outq)
			break;
		ipx_count_sent(x, &sent, f->len);
		x->if_head = (x->if_head + 1) % TCP_INFLIGHT;
		x->if_len--;
	}
}

/* Write as much as the socket takes. @flush: also send a message that is
 * not full. */
static void tcp_pump(struct ipfix_out *x, int flush)
{
	tcp_acked(x);
	while (x->state == TCP_UP) {
		if (x->pending) {
			ssize_t n = send(x->fd, x->msg.buf + x->pend_off, x->msg.len - x->pend_off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					tcp_down(x);
				return;
			}
			x->pend_off += n;
			if (x->pend_off == x->msg.len)
				tcp_sent(x);
			continue;
		}
		if (x->if_len == TCP_INFLIGHT)
			return;		/* wait for acknowledgements */
		if (!x->tpl_due && !(x->opts_due && x->acct.have_totals) &&
		    (!x->q_len || (!flush && x->q_len < x->batch)))
			return;
		tcp_build(x);
	}
}

static int tcp_record(struct output *o, const struct flow_record *r)
{
	struct ipfix_out *x = to_ipfix(o);
	uint32_t fresh;

	o->stats->records++;
	/* A queue shorter than a message fills within a sweep: make room
	 * while the collector reads, drop only when it does not. */
	if (x->q_len == x->q_cap && x->state == TCP_UP)
		tcp_pump(x, 1);
	if (x->q_len == x->q_cap) {
		ipx_count_drop(x, 1, flow_record_packets(r), flow_record_octets(r));
		return 0;
	}
	*q_at(x, x->q_len++) = *r;
	/* Try the socket once per message's worth of new records: often
	 * enough to keep it busy during a large sweep, rare enough that a
	 * stalled collector does not cost a syscall per record. */
	fresh = x->q_len - x->pend_q;
	if (x->state == TCP_UP && fresh % x->batch == 0)
		tcp_pump(x, 0);
	return 0;
}

static void tcp_progress(struct ipfix_out *x, uint64_t now)
{
	if (x->state == TCP_DOWN && now >= x->retry_ms)
		tcp_connect(x);
	if (x->state == TCP_CONNECTING)
		tcp_connecting(x, 0);
	if (x->state == TCP_UP)
		tcp_check_peer(x);
}

static int tcp_tick(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);
	uint64_t now = ipx_tick_begin(x, t);

	tcp_progress(x, now);
	tcp_pump(x, 1);
	return 0;
}

static void tcp_close(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);
	uint64_t deadline = clock_mono_ms() + CLOSE_WAIT_MS;

	ipx_take_totals(x, t);
	x->opts_due = 1;
	if (x->state == TCP_DOWN)
		tcp_connect(x);	/* one last try, whatever the backoff */
	for (;;) {
		uint64_t now = clock_mono_ms();
		int left = now < deadline ? (int)(deadline - now) : 0;
		struct pollfd pfd = { .fd = x->fd, .events = POLLOUT };

		if (x->state == TCP_CONNECTING)
			tcp_connecting(x, left);
		if (x->state != TCP_UP)
			break;
		tcp_pump(x, 1);
		if (x->state != TCP_UP ||
		    (!x->pending && !x->q_len && !(x->opts_due && x->acct.have_totals) && !x->if_len))
			break;
		if (!x->pending && !x->q_len && !(x->opts_due && x->acct.have_totals)) {
			/* all written: wait for the acknowledgements */
			if (!left)
				break;
			usleep(10000);
			continue;
		}
		if (!left)
			break;
		poll(&pfd, 1, left);
	}
	/* What is still queued, or was written and never acknowledged, will
	 * not be sent. */
	for (uint32_t i = 0; i < x->q_len; i++)
		ipx_count_drop(x, 1, flow_record_packets(q_at(x, i)), flow_record_octets(q_at(x, i)));
	x->q_len = 0;
	tcp_acked(x);
	tcp_unacked_lost(x);
	if (x->fd >= 0)
		shutdown(x->fd, SHUT_WR);
	ipx_free(x);
}

static const struct output_ops tcp_ops = {
	.iface = ipx_iface,
	.record = tcp_record,
	.tick = tcp_tick,
	.close = tcp_close,
};

int tcp_open(struct ipfix_out *x, const struct collector *c, const struct bpfix_config *cfg,
	     char *err, size_t errlen)
{
	x->out.ops = &tcp_ops;
	if (output_resolve(c, SOCK_STREAM, &x->ai, err, errlen))
		return -1;
	x->q_cap = cfg->tcp_queue_records ? cfg->tcp_queue_records : 1;
	/* calloc: pages are only backed once the queue reaches them */
	x->q = calloc(x->q_cap, sizeof(*x->q));
	x->inflight = calloc(TCP_INFLIGHT, sizeof(*x->inflight));
	if (!x->q || !x->inflight) {
		snprintf(err, errlen, "%s: cannot allocate a queue of %u records: %s",
			 c->uri, x->q_cap, strerror(ENOMEM));
		return -1;
	}
	x->batch = (IPFIX_STREAM_MSG - IPFIX_MSG_HDR_LEN - IPFIX_SET_HDR_LEN) /
		   ipfix_template(IPFIX_TID_IPV6_BIFLOW)->rec_len;
	/* Templates and options records go in one message. */
	if (ipx_templates_size() + ipx_options_size(x) - IPFIX_MSG_HDR_LEN > IPFIX_STREAM_MSG) {
		snprintf(err, errlen, "%s: templates and options do not fit a message",
			 c->uri);
		return -1;
	}
	x->backoff_ms = TCP_BACKOFF_MIN_MS;
	x->state = TCP_DOWN;
	x->retry_ms = 0;
	tcp_connect(x);
	if (x->state == TCP_CONNECTING)
		tcp_connecting(x, 0);
	/* A collector that is merely down is no error: it is retried. */
	return 0;
}

void tcp_start(struct ipfix_out *x)
{
	tcp_pump(x, 0);
}
