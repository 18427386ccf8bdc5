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
 * Delivered, not just sent (UDP): a collector run with its stock socket
 * buffer (net.core.rmem_default, 208 KiB on Debian: some 90 datagrams)
 * loses whatever arrives faster than it reads, and UDP tells nobody. So
 * UDP messages are not sent when they are made: each finished message
 * goes into a bounded queue (--udp-queue records) and a pacer sends them
 * at --export-rate records a second at most, in bursts of at most
 * PACE_BURST_MS worth. A sweep's records are spread over the sweep
 * interval: the pace for the next interval is what empties the queue by
 * then, never more than --export-rate and never under a sixteenth of it,
 * so a collector sees a steady stream rather than one burst a sweep. The
 * agent's loop wakes the pacer between sweeps (output_ops.pump). Sends
 * never block (MSG_DONTWAIT): a full local socket buffer waits for the
 * next wake. A message that finds the queue full is dropped and counted
 * as not sent, as is one the kernel refused, and one still queued when
 * the shutdown deadline (--shutdown-timeout) passes. Export time is
 * stamped when a message leaves, sequence numbers when it is made: a
 * dropped message is a gap the collector can see. After a refused send
 * (ECONNREFUSED: nothing listened) the templates go again, ahead of the
 * next queued data, so a collector that starts late decodes at once.
 *
 * TCP is non-blocking throughout: records wait in a
 * bounded queue (--tcp-queue records) while the collector is away or slow;
 * a record that finds the queue full is dropped and counted. The queue holds
 * copies of struct flow_record (200 octets: 13 MB of address space for the
 * default 65536), and an emptied queue starts over at its first slot, so
 * memory is only touched as deep as the queue ever got. A record leaves the
 * queue only once the message carrying it is written whole; the message a
 * lost connection cut goes again on the next one. The UDP queue is
 * allocated and reused the same way.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include "ipfix.h"
#include "output.h"

#define IPFIX_STREAM_MSG	16384	/* octets per TCP/file message */
#define UDP_SNDBUF		(1 << 20) /* octets: what a link may hold behind a burst */
#define PACE_BURST_MS		5	/* a burst is at most this long at --export-rate */
#define PACE_RETRY_NS		1000000	/* a full local socket buffer: try again */
#define UDP_QUEUE_SPARE_SLOTS	64	/* messages beyond the full ones (partial, options) */
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

	int fd;				/* UDP, TCP, file */
	uint64_t file_off;		/* file: octets of whole messages written */

	/* UDP: finished messages waiting for the pacer */
	uint8_t *uq;			/* uq_slots slots of uq_slot_size octets */
	size_t uq_slot_size;
	uint32_t uq_slots, uq_head, uq_len;
	uint64_t uq_records, uq_cap;	/* flow records queued, and the most allowed */
	uint64_t rate;			/* --export-rate: records a second at most */
	uint64_t pace;			/* ... for this sweep interval */
	uint64_t sweep_ms;
	double tokens;			/* records that may go now */
	double burst;			/* ... at most */
	uint64_t tok_ns;		/* monotonic time of the last refill */
	uint32_t uq_burst_min;		/* records: a burst holds a full flow message */
	uint8_t *tbuf;			/* templates resent after a refused send */
	int tpl_lost;			/* a send was refused since the last tick */
	int tpl_resend;			/* templates go again ahead of the next data ... */
	int tpl_rearmed;		/* ... which a refusal asked for once this sweep */
	uint32_t seq_next_out;		/* ... with that message's sequence number */

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

/* ---- UDP and file: messages are made as records come ------------------- */

static void udp_enqueue(struct ipfix_out *x, const struct ipfix_msg *m, size_t len);

/* A whole message into a file, or none of it: after a failed or short
 * write (a full disk) the file is cut back to the last whole message, so
 * whatever reads it later decodes everything counted as sent, and the
 * templates go again with the next message (the failed one may have been
 * theirs). */
static int file_write(struct ipfix_out *x, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(x->fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			if (off && (ftruncate(x->fd, (off_t)x->file_off) ||
				    lseek(x->fd, (off_t)x->file_off, SEEK_SET) < 0))
				err = errno;	/* cannot cut it back: say why */
			output_write_failed(&x->out, err);
			x->tpl_due = 1;
			return -err;
		}
		off += (size_t)n;
	}
	x->file_off += len;
	output_write_ok(&x->out);
	return 0;
}

/* The message in x->msg is complete: a file takes it now, UDP (and a
 * FIFO) queue it. */
static void msg_done(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;
	uint32_t *seq = m->odid != x->odid ? &x->opts_seq : &x->seq;
	size_t len;

	if (ipfix_msg_empty(m))
		return;
	len = ipfix_msg_finish(m, (uint32_t)(clock_wall_ms() / 1000), *seq);
	*seq += m->records;
	if (x->uq)
		udp_enqueue(x, m, len);	/* UDP, or a FIFO */
	else if (file_write(x, m->buf, len) == 0)
		count_sent(x, m, len);
	else {
		/* not in the file: the next message follows the last one
		 * there without a gap (the loss is in the options records) */
		*seq -= m->records;
		count_drop(x, m->flows, m->packets, m->octets);
	}
	ipfix_msg_reset(m);
}

/* The flow templates; the options templates go with the options. */
static void sync_templates(struct ipfix_out *x)
{
	x->tpl_due = 0;
	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_OPTIONS; tid++) {
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			msg_done(x);
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
	msg_done(x);
	ipfix_msg_set_odid(&x->msg, IPFIX_ODID_OPTIONS);
	for (uint16_t tid = IPFIX_TID_OPTIONS; tid < IPFIX_TID_END; tid++) {
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			msg_done(x);
			ipfix_msg_add_template(&x->msg, tid);
		}
	}
	for (size_t i = 0; i < sizeof(stats_tids) / sizeof(stats_tids[0]); i++) {
		if (ipfix_msg_add_stats(&x->msg, stats_tids[i], &s) == -ENOSPC) {
			msg_done(x);
			ipfix_msg_add_stats(&x->msg, stats_tids[i], &s);
		}
	}
	for (int i = 0; i < x->n_ifaces; i++) {
		const struct iface *ifc = &x->ifaces[i];

		if (ipfix_msg_add_interface(&x->msg, x->odid, ifc->ifindex, ifc->name) ==
		    -ENOSPC) {
			msg_done(x);
			ipfix_msg_add_interface(&x->msg, x->odid, ifc->ifindex, ifc->name);
		}
	}
	msg_done(x);
	ipfix_msg_set_odid(&x->msg, x->odid);
	x->opts_due = 0;
}

static int sync_record(struct output *o, const struct flow_record *r)
{
	struct ipfix_out *x = to_ipfix(o);
	int err;

	o->stats->records++;
	/* Templates go first whenever they are due; two rounds: the full
	 * message goes, then the record fits an empty one. */
	for (int round = 0; round < 2; round++) {
		if (x->tpl_due)
			sync_templates(x);
		err = ipfix_msg_add_flow(&x->msg, r);
		if (err != -ENOSPC)
			break;
		msg_done(x);
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

/* ---- UDP: the queue and the pacer --------------------------------------- */

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

static void udp_enqueue(struct ipfix_out *x, const struct ipfix_msg *m, size_t len)
{
	struct udp_slot *s;

	if (x->uq_len == x->uq_slots || x->uq_records + m->flows > x->uq_cap) {
		count_drop(x, m->flows, m->packets, m->octets);
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

static void udp_pop(struct ipfix_out *x);

/* The oldest queued message will not be sent. */
static void udp_drop_head(struct ipfix_out *x)
{
	struct udp_slot *s = udp_slot(x, 0);

	count_drop(x, s->flows, s->packets, s->octets);
	udp_pop(x);
}

static void udp_pop(struct ipfix_out *x)
{
	x->uq_records -= udp_slot(x, 0)->flows;
	x->uq_head = (x->uq_head + 1) % x->uq_slots;
	if (!--x->uq_len)
		x->uq_head = 0;	/* keep using the queue's first pages */
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
	while (tid < IPFIX_TID_OPTIONS) {
		int err = 0;

		while (tid < IPFIX_TID_OPTIONS && !(err = ipfix_msg_add_template(&t, tid)))
			tid++;
		ipfix_msg_finish(&t, (uint32_t)(clock_wall_ms() / 1000), x->seq_next_out);
		err = udp_send(x, t.buf, t.len);
		if (err)
			return err;
		x->octets_sent += t.len;
		x->out.stats->messages++;
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
static uint64_t udp_pace(struct ipfix_out *x, uint64_t now_ns, uint64_t rate)
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

			count_sent(x, &sent, s->len);
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
			count_drop(x, s->flows, s->packets, s->octets);
			x->tpl_lost = 1;
			if (!x->tpl_rearmed)
				x->tpl_resend = x->tpl_rearmed = 1;
		}
		x->tokens -= s->records;
		udp_pop(x);
	}
	return UINT64_MAX;
}

static uint64_t udp_pump(struct output *o, uint64_t now_ns)
{
	struct ipfix_out *x = to_ipfix(o);

	return udp_pace(x, now_ns, x->pace);
}

/* The pace for the next sweep interval: what empties the queue by its
 * end, within [rate / 16, rate]. */
static void udp_set_pace(struct ipfix_out *x)
{
	uint64_t want = x->sweep_ms ? x->uq_records * 1000 / x->sweep_ms : x->rate;

	x->pace = want > x->rate ? x->rate : want < x->rate / 16 ? x->rate / 16 : want;
	if (!x->pace)
		x->pace = 1;
}

static int sync_tick(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);

	tick_begin(x, t);
	if (x->tpl_due)
		sync_templates(x);
	if (x->opts_due)
		sync_options(x);
	msg_done(x);
	if (x->uq) {
		x->tpl_rearmed = 0;
		if (x->tpl_lost)
			x->tpl_resend = 1;
		x->tpl_lost = 0;
		udp_set_pace(x);
		udp_pace(x, clock_mono_ns(), x->pace);
	}
	return 0;
}

static void ipfix_free(struct ipfix_out *x)
{
	if (x->fd >= 0)
		close(x->fd);
	if (x->ai)
		freeaddrinfo(x->ai);
	free(x->q);
	free(x->uq);
	free(x->tbuf);
	free(x->buf);
	free(x);
}

/* Shutdown: the agent has pumped every output until its deadline
 * (agent_stop); what is still queued now will not be sent. */
static void sync_close(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);

	take_totals(x, t);
	while (x->uq_len)
		udp_drop_head(x);
	/* The final options report what was not sent: they go unpaced, a
	 * message or two. */
	if (x->tpl_due)
		sync_templates(x);
	sync_options(x);
	msg_done(x);
	if (x->uq)
		udp_pace(x, clock_mono_ns(), UINT32_MAX);
	ipfix_free(x);
}

static const struct output_ops file_ops = {
	.record = sync_record,
	.tick = sync_tick,
	.close = sync_close,
};

static const struct output_ops udp_ops = {
	.record = sync_record,
	.tick = sync_tick,
	.pump = udp_pump,
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

	if (mtu <= hdr || mtu - hdr < largest_item()) {
		snprintf(err, errlen, "%s: an MTU of %u leaves %d octets per IPFIX message, "
			 "%zu needed", c->uri, mtu, (int)mtu - (int)hdr, largest_item());
		return -EINVAL;
	}
	return (int)(mtu - hdr > IPFIX_MSG_MAX ? IPFIX_MSG_MAX : mtu - hdr);
}

/* A file is written as messages are made. A FIFO is opened without
 * blocking (an open for writing would wait for a reader for ever) and then
 * fed like a UDP collector: messages of PIPE_BUF octets, which a pipe
 * takes whole or not at all, queued while the reader is behind, so a slow
 * or stopped reader never stops the agent. Returns the message size. */
static int udp_queue_open(struct ipfix_out *x, const struct bpfix_config *cfg, uint32_t cap,
			  char *err, size_t errlen);

static int open_file(struct ipfix_out *x, const struct collector *c,
		     const struct bpfix_config *cfg, char *err, size_t errlen)
{
	struct stat st;

	x->out.ops = &file_ops;
	x->fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
	if (x->fd < 0) {
		if (errno == ENXIO)
			snprintf(err, errlen, "%s: a FIFO nobody reads: start its reader first",
				 c->uri);
		else
			snprintf(err, errlen, "%s: cannot open %s: %s", c->uri, c->path,
				 strerror(errno));
		return -errno;
	}
	if (fstat(x->fd, &st) || !S_ISFIFO(st.st_mode))
		return IPFIX_STREAM_MSG;
	x->out.ops = &udp_ops;
	if (udp_queue_open(x, cfg, PIPE_BUF, err, errlen))
		return -ENOMEM;
	x->rate = UINT32_MAX;	/* a reader on this host: no buffer to spare it */
	x->pace = x->rate;
	return PIPE_BUF;
}

/* The UDP queue: --udp-queue flow records in messages of @cap octets.
 * A full message holds at least min_full records (the longest template's),
 * so that many slots cover the records; a few more hold the partial
 * messages a sweep ends with and options-only ones. calloc: pages are
 * backed only as deep as the queue gets. */
static int udp_queue_open(struct ipfix_out *x, const struct bpfix_config *cfg, uint32_t cap,
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
		x->out.ops = &udp_ops;
		cap = open_udp(x, c, cfg->ipfix_mtu, err, errlen);
		if (cap < 0)
			goto fail;
		if (udp_queue_open(x, cfg, (uint32_t)cap, err, errlen))
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
		cap = open_file(x, c, cfg, err, errlen);
		if (cap < 0)
			goto fail;
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
