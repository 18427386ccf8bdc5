// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX exporting processes (RFC 7011 section 10): one output per collector,
 * over UDP, TCP or into a file. The encoding is user/ipfix.c's.
 *
 * What goes out, and when:
 *  - Templates and options templates precede the first data record of a
 *    transport session. UDP resends them every --template-refresh seconds,
 *    and early after a send was refused (ECONNREFUSED: templates sent a
 *    moment before reached nobody), so a collector started late decodes
 *    data at once, within one refresh interval at worst; TCP sends them
 *    once per connection (RFC 7011 8.1: a collector may drop a connection
 *    on which a template arrives twice); a file gets them once, at its
 *    start (the file is truncated at open: one file, one session). Templates
 *    are never withdrawn.
 *  - Options records (metering statistics, metering and exporting
 *    reliability, interface table) follow the templates every refresh
 *    interval, on each new TCP connection, and once more at close. Each
 *    output is its own exporting process: exportingProcessId 1, 2, ... in
 *    the order the outputs were opened (the order of -c), and its
 *    statistics count what it sent and dropped.
 *  - Records are packed into messages; a message goes out when the next
 *    record does not fit and on every tick, so a record waits at most one
 *    sweep interval. UDP messages fit the path MTU given by --ipfix-mtu
 *    (minus 20+8 octets of IPv4+UDP header, 40+8 for IPv6); TCP and file
 *    messages are at most IPFIX_STREAM_MSG octets, well below the 65535 the
 *    header allows, so a large sweep starts reaching the collector after a
 *    few hundred records instead of after thousands.
 *  - Sequence numbers count the data records (options records included)
 *    handed to the transport before a message in this session, per
 *    observation domain; a UDP datagram that send() refused still advances
 *    them, so the collector sees the loss as a gap. A new TCP connection is
 *    a new session and starts at 0.
 *  - Over UDP and into a file, options templates and options records go in
 *    messages of their own, in observation domain IPFIX_ODID_OPTIONS (0),
 *    with their own sequence numbers; flow templates and flow records keep
 *    the configured domain. nfcapd counts only flow records in a domain's
 *    sequence (RFC 7011 counts options records too), so options records in
 *    the flows' domain read to it as a sequence error after every refresh.
 *    With --observation-domain 0 both share domain 0. TCP, which nfcapd
 *    does not take, keeps everything in the configured domain.
 *
 * Never blocking the meter: UDP sends wait at most UDP_SEND_TIMEOUT_MS for
 * room in the local socket buffer (a burst of datagrams drains at link
 * speed), and after one such timeout the rest of the sweep's messages are
 * dropped without waiting. TCP is non-blocking throughout: records wait in a
 * bounded queue (--tcp-queue records) while the collector is away or slow;
 * a record that finds the queue full is dropped and counted. The queue holds
 * copies of struct flow_record (184 octets: 12 MB of address space for the
 * default 65536), and an emptied queue starts over at its first slot, so
 * memory is only touched as deep as the queue ever got. A record leaves the
 * queue only once the message carrying it is written whole; the message a
 * lost connection cut goes again on the next one.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include "ipfix.h"
#include "output.h"

#define IPFIX_STREAM_MSG	16384	/* octets per TCP/file message */
#define UDP_SNDBUF		(4 << 20) /* octets: one large sweep's datagrams */
#define UDP_SEND_TIMEOUT_MS	50
#define TCP_BACKOFF_MIN_MS	1000	/* first reconnect delay, doubled per failure */
#define TCP_BACKOFF_MAX_MS	30000
#define TCP_CONNECT_TIMEOUT_MS	10000	/* a connect() still pending is abandoned */
#define CLOSE_WAIT_MS		2000	/* close(): time allowed to deliver what is queued */

enum tcp_state {
	TCP_DOWN,		/* waiting for retry_ms */
	TCP_CONNECTING,		/* non-blocking connect() in progress */
	TCP_UP,
};

struct ipfix_out {
	struct output out;		/* first: what the agent holds */
	enum collector_kind kind;

	/* configuration, copied so the caller's struct may go away */
	uint32_t odid;
	uint32_t exporter_id;		/* exportingProcessId: 1, 2, ... in open order */
	uint64_t refresh_ms;
	int n_ifaces;
	struct iface ifaces[MAX_IFACES];

	struct ipfix_msg msg;
	uint8_t *buf;
	uint32_t seq;			/* data records sent in this session */
	uint32_t opts_seq;		/* ... in IPFIX_ODID_OPTIONS (UDP, file) */

	int tpl_due;			/* (options) templates before the next data */
	int opts_due;			/* options records with the next message */
	uint64_t next_refresh_ms;	/* monotonic */
	struct meter_totals totals;	/* as of the last tick */
	int have_totals;
	uint64_t octets_sent;		/* exportedOctetTotalCount */
	uint64_t open_wall_ms;
	uint64_t first_drop_ms, last_drop_ms;

	int fd;				/* UDP, TCP */
	FILE *f;			/* file */
	int udp_blocked;		/* a send timed out during this sweep */
	int tpl_lost;			/* a send failed since the templates went out */
	int tpl_rearmed;		/* ... and made them due again this sweep */

	/* TCP */
	struct addrinfo *ai;
	unsigned int ai_next;		/* address the next attempt uses */
	enum tcp_state state;
	uint64_t retry_ms, backoff_ms, connect_ms;
	struct flow_record *q;		/* ring: records not yet fully written */
	uint32_t q_cap, q_tail, q_len;
	uint32_t batch;			/* records that about fill a message */
	int pending;			/* msg holds a finished message ... */
	uint32_t pend_off;		/* ... of which so many octets are written */
	uint32_t pend_q;		/* queue records it carries */
	int pend_tpl, pend_opts;	/* and whether templates, options */
};

static unsigned int exporter_ids;

static struct ipfix_out *to_ipfix(struct output *o)
{
	return (struct ipfix_out *)o;
}

static void count_drop(struct ipfix_out *x, uint64_t flows, uint64_t packets, uint64_t octets)
{
	uint64_t now = clock_wall_ms();

	if (!flows)
		return;
	if (!x->out.stats->records_not_sent)
		x->first_drop_ms = now;
	x->last_drop_ms = now;
	x->out.stats->records_not_sent += flows;
	x->out.stats->packets_not_sent += packets;
	x->out.stats->octets_not_sent += octets;
}

/* Message @m went out whole (@len octets on the transport). */
static void count_sent(struct ipfix_out *x, const struct ipfix_msg *m, size_t len)
{
	x->out.stats->messages++;
	x->out.stats->records_sent += m->flows;
	x->out.stats->packets_sent += m->packets;
	x->out.stats->octets_sent += m->octets;
	x->octets_sent += len;
}

static void fill_stats(const struct ipfix_out *x, struct ipfix_stats *s)
{
	const struct meter_totals *t = &x->totals;
	const struct output_stats *os = x->out.stats;

	memset(s, 0, sizeof(*s));
	s->observation_domain = x->odid;
	s->exporting_process = x->exporter_id;
	s->exported_messages = os->messages;
	s->exported_records = os->records_sent;
	s->exported_octets = x->octets_sent;
	s->observed_flows = t->flows_observed;
	s->ignored_packets = t->ignored_packets;
	s->ignored_octets = t->ignored_octets;
	s->lost_flows = t->flows_lost;
	/* The meter counts losses, not when they happened: the window they
	 * happened in is what its counters cover. */
	s->ignored_first_ms = t->since_ms;
	s->ignored_last_ms = t->now_ms;
	s->not_sent_flows = os->records_not_sent;
	s->not_sent_packets = os->packets_not_sent;
	s->not_sent_octets = os->octets_not_sent;
	if (os->records_not_sent) {
		/* what an earlier, killed agent never sent came before us */
		s->not_sent_first_ms = x->first_drop_ms ? x->first_drop_ms : x->open_wall_ms;
		s->not_sent_last_ms = x->last_drop_ms ? x->last_drop_ms : x->open_wall_ms;
	} else {
		/* nothing dropped: the window we know that for */
		s->not_sent_first_ms = x->open_wall_ms;
		s->not_sent_last_ms = t->now_ms > x->open_wall_ms ? t->now_ms : clock_wall_ms();
	}
}

/* Every template and options template into @m: the TCP session start,
 * where output_ipfix_open checked they fit one message with the options. */
static int add_templates(struct ipfix_msg *m)
{
	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++) {
		int err = ipfix_msg_add_template(m, tid);

		if (err)
			return err;
	}
	return 0;
}

static const uint16_t stats_tids[] = {
	IPFIX_TID_METERING_STATS,
	IPFIX_TID_METERING_RELIABILITY,
	IPFIX_TID_EXPORTING_RELIABILITY,
};

/* Room the templates, or the options records, need in one message. */
static size_t templates_size(void)
{
	size_t len = IPFIX_MSG_HDR_LEN;

	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++)
		len += ipfix_template_record_len(tid) + IPFIX_SET_HDR_LEN;
	return len;
}

static size_t options_size(const struct ipfix_out *x)
{
	size_t len = IPFIX_MSG_HDR_LEN;

	for (size_t i = 0; i < sizeof(stats_tids) / sizeof(stats_tids[0]); i++)
		len += ipfix_template(stats_tids[i])->rec_len + IPFIX_SET_HDR_LEN;
	len += IPFIX_SET_HDR_LEN + x->n_ifaces * ipfix_template(IPFIX_TID_INTERFACES)->rec_len;
	return len;
}

/* The largest single item: what every message must be able to hold. */
static size_t largest_item(void)
{
	size_t max = 0;

	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++) {
		const struct ipfix_template *t = ipfix_template(tid);
		size_t len = ipfix_template_record_len(tid);

		if (t->rec_len > len)
			len = t->rec_len;
		if (len > max)
			max = len;
	}
	return IPFIX_MSG_HDR_LEN + IPFIX_SET_HDR_LEN + max;
}

/* ---- UDP and file: messages go out as soon as they are full ------------- */

static int sync_write(struct ipfix_out *x, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (x->kind == COLLECTOR_FILE)
		return fwrite(buf, 1, len, x->f) == len ? 0 : -(errno ? errno : EIO);
	do {
		n = send(x->fd, buf, len, x->udp_blocked ? MSG_DONTWAIT : 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			x->udp_blocked = 1;	/* no more waiting until the next tick */
		return -errno;
	}
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static void sync_flush(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;
	uint32_t *seq = m->odid != x->odid ? &x->opts_seq : &x->seq;
	size_t len;

	if (ipfix_msg_empty(m))
		return;
	len = ipfix_msg_finish(m, (uint32_t)(clock_wall_ms() / 1000), *seq);
	if (sync_write(x, m->buf, len) == 0) {
		count_sent(x, m, len);
	} else {
		x->out.stats->errors++;
		count_drop(x, m->flows, m->packets, m->octets);
		/* ECONNREFUSED says nothing listened a moment ago: templates
		 * sent then are lost. Send them again before the next data, so
		 * a collector that is just starting decodes at once rather
		 * than after the next refresh: at once the first time in a
		 * sweep, and at the start of the next sweep (sync_tick) if
		 * sends failed after that, so a collector that stays away does
		 * not cost a template burst per record. */
		if (x->kind == COLLECTOR_UDP) {
			x->tpl_lost = 1;
			if (!x->tpl_rearmed) {
				x->tpl_due = 1;
				x->tpl_rearmed = 1;
			}
		}
	}
	*seq += m->records;
	ipfix_msg_reset(m);
}

/* The flow templates; the options templates go with the options. */
static void sync_templates(struct ipfix_out *x)
{
	x->tpl_due = 0;		/* a failed send on the way sets them again */
	x->tpl_lost = 0;
	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_OPTIONS; tid++) {
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			sync_flush(x);
			ipfix_msg_add_template(&x->msg, tid);
		}
	}
}

/* Options templates and records in messages of IPFIX_ODID_OPTIONS, after
 * the flows' message (which may carry their templates). */
static void sync_options(struct ipfix_out *x)
{
	struct ipfix_stats s;

	if (!x->have_totals)
		return;
	fill_stats(x, &s);
	sync_flush(x);
	ipfix_msg_set_odid(&x->msg, IPFIX_ODID_OPTIONS);
	for (uint16_t tid = IPFIX_TID_OPTIONS; tid < IPFIX_TID_END; tid++) {
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			sync_flush(x);
			ipfix_msg_add_template(&x->msg, tid);
		}
	}
	for (size_t i = 0; i < sizeof(stats_tids) / sizeof(stats_tids[0]); i++) {
		if (ipfix_msg_add_stats(&x->msg, stats_tids[i], &s) == -ENOSPC) {
			sync_flush(x);
			ipfix_msg_add_stats(&x->msg, stats_tids[i], &s);
		}
	}
	for (int i = 0; i < x->n_ifaces; i++) {
		const struct iface *ifc = &x->ifaces[i];

		if (ipfix_msg_add_interface(&x->msg, x->odid, ifc->ifindex, ifc->name) ==
		    -ENOSPC) {
			sync_flush(x);
			ipfix_msg_add_interface(&x->msg, x->odid, ifc->ifindex, ifc->name);
		}
	}
	sync_flush(x);
	ipfix_msg_set_odid(&x->msg, x->odid);
	x->opts_due = 0;
}

static int sync_record(struct output *o, const struct flow_record *r)
{
	struct ipfix_out *x = to_ipfix(o);
	int err;

	o->stats->records++;
	/* Templates go first whenever they are due, also when a send on the
	 * way made them due again; three rounds: full message, templates,
	 * templates that filled the message. */
	for (int round = 0; round < 3; round++) {
		if (x->tpl_due)
			sync_templates(x);
		err = ipfix_msg_add_flow(&x->msg, r);
		if (err != -ENOSPC)
			break;
		sync_flush(x);
	}
	if (err) {
		o->stats->errors++;
		count_drop(x, 1, flow_record_packets(r), flow_record_octets(r));
	}
	return 0;
}

static void take_totals(struct ipfix_out *x, const struct meter_totals *t)
{
	if (!t)
		return;
	x->totals = *t;
	x->have_totals = 1;
}

/* The start of every tick: the sweep's totals, and whether the periodic
 * options (and, over UDP, templates) are due. */
static uint64_t tick_begin(struct ipfix_out *x, const struct meter_totals *t)
{
	uint64_t now = clock_mono_ms();

	take_totals(x, t);
	if (now >= x->next_refresh_ms) {
		x->next_refresh_ms = now + x->refresh_ms;
		x->opts_due = 1;
		if (x->kind == COLLECTOR_UDP)
			x->tpl_due = 1;
	}
	return now;
}

static int sync_tick(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);

	tick_begin(x, t);
	if (x->tpl_due)
		sync_templates(x);
	if (x->opts_due)
		sync_options(x);
	sync_flush(x);
	x->udp_blocked = 0;
	x->tpl_rearmed = 0;
	if (x->tpl_lost)
		x->tpl_due = 1;
	if (x->f && fflush(x->f)) {
		o->stats->errors++;
		return -errno;
	}
	return 0;
}

static void ipfix_free(struct ipfix_out *x)
{
	if (x->fd >= 0)
		close(x->fd);
	if (x->f)
		fclose(x->f);
	if (x->ai)
		freeaddrinfo(x->ai);
	free(x->q);
	free(x->buf);
	free(x);
}

static void sync_close(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);

	take_totals(x, t);
	x->udp_blocked = 0;
	if (x->tpl_due)
		sync_templates(x);
	sync_options(x);
	sync_flush(x);
	if (x->f) {
		if (fclose(x->f))
			o->stats->errors++;
		x->f = NULL;
	}
	ipfix_free(x);
}

static const struct output_ops sync_ops = {
	.record = sync_record,
	.tick = sync_tick,
	.close = sync_close,
};

/* ---- TCP: a queue of records, written without ever blocking ------------ */

static struct flow_record *q_at(struct ipfix_out *x, uint32_t i)
{
	return &x->q[(x->q_tail + i) % x->q_cap];
}

static void tcp_down(struct ipfix_out *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->state = TCP_DOWN;
	x->out.stats->errors++;
	/* The partly written message dies with the connection (the collector
	 * discards it); its records are still queued and go out again. */
	x->pending = 0;
	x->pend_off = 0;
	x->pend_q = 0;
	x->retry_ms = clock_mono_ms() + x->backoff_ms;
	x->backoff_ms *= 2;
	if (x->backoff_ms > TCP_BACKOFF_MAX_MS)
		x->backoff_ms = TCP_BACKOFF_MAX_MS;
}

static void tcp_up(struct ipfix_out *x)
{
	x->state = TCP_UP;
	x->backoff_ms = TCP_BACKOFF_MIN_MS;
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
	x->pend_opts = x->opts_due && x->have_totals;
	if (x->pend_tpl)
		add_templates(m);
	if (x->pend_opts) {
		struct ipfix_stats s;

		fill_stats(x, &s);
		for (size_t i = 0; i < sizeof(stats_tids) / sizeof(stats_tids[0]); i++)
			ipfix_msg_add_stats(m, stats_tids[i], &s);
		for (int i = 0; i < x->n_ifaces; i++)
			ipfix_msg_add_interface(m, x->odid, x->ifaces[i].ifindex,
						x->ifaces[i].name);
	}
	x->pend_q = 0;
	while (x->pend_q < x->q_len && ipfix_msg_add_flow(m, q_at(x, x->pend_q)) == 0)
		x->pend_q++;
	ipfix_msg_finish(m, (uint32_t)(clock_wall_ms() / 1000), x->seq);
	x->pending = 1;
	x->pend_off = 0;
}

static void tcp_sent(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;

	count_sent(x, m, m->len);
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

/* Write as much as the socket takes. @flush: also send a message that is
 * not full. */
static void tcp_pump(struct ipfix_out *x, int flush)
{
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
		if (!x->tpl_due && !(x->opts_due && x->have_totals) &&
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
		count_drop(x, 1, flow_record_packets(r), flow_record_octets(r));
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
	uint64_t now = tick_begin(x, t);

	tcp_progress(x, now);
	tcp_pump(x, 1);
	return 0;
}

static void tcp_close(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);
	uint64_t deadline = clock_mono_ms() + CLOSE_WAIT_MS;

	take_totals(x, t);
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
		    (!x->pending && !x->q_len && !(x->opts_due && x->have_totals)))
			break;
		if (!left)
			break;
		poll(&pfd, 1, left);
	}
	/* What is still queued will not be sent. */
	for (uint32_t i = 0; i < x->q_len; i++)
		count_drop(x, 1, flow_record_packets(q_at(x, i)), flow_record_octets(q_at(x, i)));
	x->q_len = 0;
	if (x->fd >= 0)
		shutdown(x->fd, SHUT_WR);
	ipfix_free(x);
}

static const struct output_ops tcp_ops = {
	.record = tcp_record,
	.tick = tcp_tick,
	.close = tcp_close,
};

/* ---- open -------------------------------------------------------------- */

static int resolve(const struct collector *c, int socktype, struct addrinfo **res,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype };
	int rc = getaddrinfo(c->host, c->port, &hints, res);

	if (rc) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", c->uri, c->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -ENOENT;
	}
	return 0;
}

static int open_udp(struct ipfix_out *x, const struct collector *c, uint32_t mtu,
		    char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	struct timeval tv = { .tv_usec = UDP_SEND_TIMEOUT_MS * 1000 };
	int sndbuf = UDP_SNDBUF, ret = 0, saved = 0;
	uint32_t hdr;

	ret = resolve(c, SOCK_DGRAM, &res, err, errlen);
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
	setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if (mtu <= hdr || mtu - hdr < largest_item()) {
		snprintf(err, errlen, "%s: an MTU of %u leaves %d octets per IPFIX message, "
			 "%zu needed", c->uri, mtu, (int)mtu - (int)hdr, largest_item());
		return -EINVAL;
	}
	return (int)(mtu - hdr > IPFIX_MSG_MAX ? IPFIX_MSG_MAX : mtu - hdr);
}

struct output *output_ipfix_open(const struct collector *c, const struct bpfix_config *cfg,
				 char *err, size_t errlen)
{
	struct ipfix_out *x = calloc(1, sizeof(*x));
	int cap = IPFIX_STREAM_MSG, ret = 0;

	if (!x) {
		snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
		return NULL;
	}
	x->fd = -1;
	x->kind = c->kind;
	snprintf(x->out.name, sizeof(x->out.name), "%s", c->uri);
	x->odid = cfg->observation_domain;
	x->exporter_id = ++exporter_ids;
	x->refresh_ms = (uint64_t)cfg->template_refresh_s * 1000;
	x->n_ifaces = cfg->n_ifaces;
	if (x->n_ifaces < 0 || x->n_ifaces > MAX_IFACES)
		x->n_ifaces = x->n_ifaces < 0 ? 0 : MAX_IFACES;
	memcpy(x->ifaces, cfg->ifaces, sizeof(x->ifaces[0]) * x->n_ifaces);
	for (int i = 0; i < x->n_ifaces; i++)
		x->ifaces[i].name[IF_NAMESIZE - 1] = '\0';
	x->tpl_due = 1;
	x->opts_due = 1;
	x->out.stats = &x->out.own;
	x->open_wall_ms = clock_wall_ms();
	x->next_refresh_ms = clock_mono_ms() + x->refresh_ms;

	switch (c->kind) {
	case COLLECTOR_UDP:
		x->out.ops = &sync_ops;
		cap = open_udp(x, c, cfg->ipfix_mtu, err, errlen);
		if (cap < 0)
			goto fail;
		break;
	case COLLECTOR_TCP:
		x->out.ops = &tcp_ops;
		ret = resolve(c, SOCK_STREAM, &x->ai, err, errlen);
		if (ret)
			goto fail;
		x->q_cap = cfg->tcp_queue_records ? cfg->tcp_queue_records : 1;
		/* calloc: pages are only backed once the queue reaches them */
		x->q = calloc(x->q_cap, sizeof(*x->q));
		if (!x->q) {
			snprintf(err, errlen, "%s: cannot allocate a queue of %u records: %s",
				 c->uri, x->q_cap, strerror(ENOMEM));
			goto fail;
		}
		x->batch = (IPFIX_STREAM_MSG - IPFIX_MSG_HDR_LEN - IPFIX_SET_HDR_LEN) /
			   ipfix_template(IPFIX_TID_IPV6_BIFLOW)->rec_len;
		/* Templates and options records go in one message. */
		if (templates_size() + options_size(x) - IPFIX_MSG_HDR_LEN > IPFIX_STREAM_MSG) {
			snprintf(err, errlen, "%s: templates and options do not fit a message",
				 c->uri);
			goto fail;
		}
		x->backoff_ms = TCP_BACKOFF_MIN_MS;
		x->state = TCP_DOWN;
		x->retry_ms = 0;
		tcp_connect(x);
		if (x->state == TCP_CONNECTING)
			tcp_connecting(x, 0);
		/* A collector that is merely down is no error: it is retried. */
		break;
	case COLLECTOR_FILE:
		x->out.ops = &sync_ops;
		x->f = fopen(c->path, "w");
		if (!x->f) {
			snprintf(err, errlen, "%s: cannot open %s: %s", c->uri, c->path,
				 strerror(errno));
			goto fail;
		}
		/* A message counts as sent once write() took it, not stdio. */
		setvbuf(x->f, NULL, _IONBF, 0);
		break;
	default:
		snprintf(err, errlen, "%s: not an IPFIX collector", c->uri);
		goto fail;
	}
	x->buf = malloc(cap);
	if (!x->buf) {
		snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
		goto fail;
	}
	ipfix_msg_init(&x->msg, x->buf, cap, x->odid);
	if (c->kind == COLLECTOR_TCP)
		tcp_pump(x, 0);	/* templates to a collector that is up */
	return &x->out;
fail:
	ipfix_free(x);
	return NULL;
}
