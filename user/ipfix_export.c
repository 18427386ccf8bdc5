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
 * copies of struct flow_record (224 octets: 15 MB of address space for the
 * default 65536), and an emptied queue starts over at its first slot, so
 * memory is only touched as deep as the queue ever got. A record leaves the
 * queue only once the message carrying it is written whole; the message a
 * lost connection cut goes again on the next one. The UDP queue is
 * allocated and reused the same way.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include "errline.h"
#include "ipfix_export.h"

void ipx_count_drop(struct ipfix_out *x, uint64_t flows, uint64_t packets, uint64_t octets)
{
	exporter_count_drop(&x->acct, x->out.stats, flows, packets, octets);
}

/* Message @m went out whole (@len octets on the transport). */
void ipx_count_sent(struct ipfix_out *x, const struct ipfix_msg *m, size_t len)
{
	exporter_count_sent(&x->acct, x->out.stats, m->flows, m->packets, m->octets, len);
}

/* The table holds what the agent said (attached, renamed, gone): never
 * a name looked up by number, which may be another interface's by then. */
void ipx_iface(struct output *o, uint32_t ifindex, const char *name)
{
	struct ipfix_out *x = to_ipfix(o);

	if (exporter_set_iface(&x->ifaces, &x->n_ifaces, &x->cap_ifaces, ifindex, name))
		x->opts_due = 1;
}

void ipx_fill_stats(const struct ipfix_out *x, struct ipfix_stats *s)
{
	exporter_fill_stats(&x->acct, x->out.stats, s);
}

/* Every template and options template into @m: the TCP session start,
 * where output_ipfix_open checked they fit one message with the options. */
int ipx_add_templates(struct ipfix_msg *m)
{
	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++) {
		int err = ipfix_msg_add_template(m, tid);

		if (err)
			return err;
	}
	return 0;
}

const uint16_t ipx_stats_tids[3] = {
	IPFIX_TID_METERING_STATS,
	IPFIX_TID_METERING_RELIABILITY,
	IPFIX_TID_EXPORTING_RELIABILITY,
};

/* Room the templates, or the options records, need in one message. */
size_t ipx_templates_size(void)
{
	size_t len = IPFIX_MSG_HDR_LEN;

	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++)
		len += ipfix_template_record_len(tid) + IPFIX_SET_HDR_LEN;
	return len;
}

size_t ipx_options_size(const struct ipfix_out *x)
{
	size_t len = IPFIX_MSG_HDR_LEN;

	for (size_t i = 0; i < ARRAY_SIZE(ipx_stats_tids); i++)
		len += ipfix_template(ipx_stats_tids[i])->rec_len + IPFIX_SET_HDR_LEN;
	len += IPFIX_SET_HDR_LEN + x->n_ifaces * ipfix_template(IPFIX_TID_INTERFACES)->rec_len;
	return len;
}

/* The largest single item: what every message must be able to hold. */
size_t ipx_largest_item(void)
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

/* ---- what IPFIX adds to the UDP transport (udp_tx.h) -------------------------- */

static struct ipfix_out *tx_ipfix(struct udp_tx *t)
{
	return to_ipfix(t->out);
}

/* A message header's u32 at @off: 8 sequence number, 12 domain. */
static uint32_t msg_u32(const uint8_t *msg, size_t off)
{
	uint32_t v;

	memcpy(&v, msg + off, 4);
	return be32toh(v);
}

/* The flow templates again, ahead of the queued flow message @next, after
 * a send was refused (options messages carry their own templates: they
 * wait for a flow message). They carry no data records: domain and
 * sequence number are @next's. Returns 0 once they are out. */
static int ipx_tx_resend(struct udp_tx *t, const uint8_t *next, size_t len)
{
	struct ipfix_out *x = tx_ipfix(t);
	struct ipfix_msg m;
	uint16_t tid = IPFIX_TID_FIRST;

	if (len < IPFIX_MSG_HDR_LEN || msg_u32(next, 12) != x->acct.odid)
		return 1;
	ipfix_msg_init(&m, x->tbuf, x->msg.cap, x->acct.odid);
	while (tid < IPFIX_TID_END) {
		int err;

		while (tid < IPFIX_TID_END &&
		       (ipfix_tid_is_options(tid) || !ipfix_msg_add_template(&m, tid)))
			tid++;
		ipfix_msg_finish(&m, (uint32_t)(clock_wall_ms() / 1000), msg_u32(next, 8));
		err = udp_tx_send(t, m.buf, m.len);
		if (err)
			return err;
		ipx_count_sent(x, &m, m.len);	/* no data records: a message, its octets */
		ipfix_msg_reset(&m);
	}
	return 0;
}

/* Export time is when the message leaves. */
static void ipx_tx_stamp(struct udp_tx *t, uint8_t *msg, size_t len)
{
	uint32_t v = htobe32((uint32_t)(clock_wall_ms() / 1000));

	(void)t;
	if (len >= IPFIX_MSG_HDR_LEN)
		memcpy(msg + 4, &v, 4);
}

static void ipx_tx_sent(struct udp_tx *t, const struct udp_counts *c, size_t len)
{
	struct ipfix_msg m = { .flows = c->flows, .packets = c->packets, .octets = c->octets };

	ipx_count_sent(tx_ipfix(t), &m, len);
}

static void ipx_tx_not_sent(struct udp_tx *t, const struct udp_counts *c)
{
	ipx_count_drop(tx_ipfix(t), c->flows, c->packets, c->octets);
}

static const struct udp_tx_ops ipx_udp_tx_ops = {
	.resend = ipx_tx_resend,
	.stamp = ipx_tx_stamp,
	.sent = ipx_tx_sent,
	.not_sent = ipx_tx_not_sent,
};

/* The UDP queue in messages of @cap octets: a full one holds at least
 * the records of the longest template, a burst at least a full message of
 * IPv4 flows. */
static int ipx_udp_queue_open(struct ipfix_out *x, const struct bpfix_config *cfg,
			      uint32_t cap, char *err, size_t errlen)
{
	size_t longest = 0, room = cap - IPFIX_MSG_HDR_LEN - IPFIX_SET_HDR_LEN;

	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++)
		if (ipfix_template(tid)->rec_len > longest)
			longest = ipfix_template(tid)->rec_len;
	x->tbuf = malloc(cap);
	if (!x->tbuf) {
		snprintf(err, errlen, "%s: %s", x->out.name, strerror(ENOMEM));
		return -ENOMEM;
	}
	return udp_tx_queue_open(&x->tx, cfg, cap, (uint32_t)(room / longest),
				 (uint32_t)(room / ipfix_template(IPFIX_TID_IPV4)->rec_len),
				 err, errlen);
}

/* ---- messages are made as records come (UDP, file, FIFO) ------------------- */

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
static void ipx_msg_done(struct ipfix_out *x)
{
	struct ipfix_msg *m = &x->msg;
	uint32_t *seq = m->odid != x->acct.odid ? &x->opts_seq : &x->seq;
	size_t len;

	if (ipfix_msg_empty(m))
		return;
	len = ipfix_msg_finish(m, (uint32_t)(clock_wall_ms() / 1000), *seq);
	*seq += m->records;
	if (x->tx.uq) {
		struct udp_counts c = { .records = m->records, .flows = m->flows,
					.packets = m->packets, .octets = m->octets };

		udp_tx_enqueue(&x->tx, m->buf, len, &c);	/* UDP, or a FIFO */
	}
	else if (file_write(x, m->buf, len) == 0)
		ipx_count_sent(x, m, len);
	else {
		/* not in the file: the next message follows the last one
		 * there without a gap (the loss is in the options records) */
		*seq -= m->records;
		ipx_count_drop(x, m->flows, m->packets, m->octets);
	}
	ipfix_msg_reset(m);
}

/* The flow templates; the options templates go with the options. */
static void ipx_templates(struct ipfix_out *x)
{
	x->tpl_due = 0;
	for (uint16_t tid = IPFIX_TID_FIRST; tid < IPFIX_TID_END; tid++) {
		if (ipfix_tid_is_options(tid))
			continue;
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			ipx_msg_done(x);
			ipfix_msg_add_template(&x->msg, tid);
		}
	}
}

/* Options templates and records in messages of IPFIX_ODID_OPTIONS, after
 * the flows' message (which may carry their templates). */
static void ipx_options(struct ipfix_out *x)
{
	struct ipfix_stats s;

	if (!x->acct.have_totals)
		return;
	ipx_fill_stats(x, &s);
	ipx_msg_done(x);
	ipfix_msg_set_odid(&x->msg, IPFIX_ODID_OPTIONS);
	for (uint16_t tid = IPFIX_TID_OPTIONS; tid <= IPFIX_TID_OPTIONS_LAST; tid++) {
		if (ipfix_msg_add_template(&x->msg, tid) == -ENOSPC) {
			ipx_msg_done(x);
			ipfix_msg_add_template(&x->msg, tid);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(ipx_stats_tids); i++) {
		if (ipfix_msg_add_stats(&x->msg, ipx_stats_tids[i], &s) == -ENOSPC) {
			ipx_msg_done(x);
			ipfix_msg_add_stats(&x->msg, ipx_stats_tids[i], &s);
		}
	}
	for (int i = 0; i < x->n_ifaces; i++) {
		const struct iface *ifc = &x->ifaces[i];

		if (ipfix_msg_add_interface(&x->msg, x->acct.odid, ifc->ifindex, ifc->name) ==
		    -ENOSPC) {
			ipx_msg_done(x);
			ipfix_msg_add_interface(&x->msg, x->acct.odid, ifc->ifindex, ifc->name);
		}
	}
	ipx_msg_done(x);
	ipfix_msg_set_odid(&x->msg, x->acct.odid);
	x->opts_due = 0;
}

static int ipx_record(struct output *o, const struct flow_record *r)
{
	struct ipfix_out *x = to_ipfix(o);
	int err;

	o->stats->records++;
	/* Templates go first whenever they are due; two rounds: the full
	 * message goes, then the record fits an empty one. */
	for (int round = 0; round < 2; round++) {
		if (x->tpl_due)
			ipx_templates(x);
		err = ipfix_msg_add_flow(&x->msg, r);
		if (err != -ENOSPC)
			break;
		ipx_msg_done(x);
	}
	if (err) {
		o->stats->errors++;
		ipx_count_drop(x, 1, flow_record_packets(r), flow_record_octets(r));
	}
	return 0;
}

void ipx_take_totals(struct ipfix_out *x, const struct meter_totals *t)
{
	exporter_take_totals(&x->acct, t);
}

/* The start of every tick: the sweep's totals, and whether the periodic
 * options (and, over UDP, templates) are due. */
uint64_t ipx_tick_begin(struct ipfix_out *x, const struct meter_totals *t)
{
	uint64_t now = clock_mono_ms();

	ipx_take_totals(x, t);
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

	ipx_tick_begin(x, t);
	if (x->tpl_due)
		ipx_templates(x);
	if (x->opts_due)
		ipx_options(x);
	ipx_msg_done(x);
	if (x->tx.uq)
		udp_tx_tick(&x->tx);
	return 0;
}

void ipx_free(struct ipfix_out *x)
{
	if (x->fd >= 0)
		close(x->fd);
	if (x->ai)
		freeaddrinfo(x->ai);
	free(x->q);
	free(x->inflight);
	udp_tx_free(&x->tx);
	free(x->tbuf);
	free(x->buf);
	free(x->ifaces);
	free(x);
}

/* Shutdown: the agent has pumped every output until its deadline
 * (agent_stop); what is still queued now will not be sent. */
static void sync_close(struct output *o, const struct meter_totals *t)
{
	struct ipfix_out *x = to_ipfix(o);

	ipx_take_totals(x, t);
	udp_tx_drop_all(&x->tx);
	/* The final options report what was not sent: they go unpaced, a
	 * message or two. */
	if (x->tpl_due)
		ipx_templates(x);
	ipx_options(x);
	ipx_msg_done(x);
	if (x->tx.uq)
		udp_tx_pace(&x->tx, clock_mono_ns(), UINT32_MAX);
	ipx_free(x);
}

static uint64_t udp_pump(struct output *o, uint64_t now_ns)
{
	struct ipfix_out *x = to_ipfix(o);

	return udp_tx_pace(&x->tx, now_ns, x->tx.pace);
}

static const struct output_ops file_ops = {
	.iface = ipx_iface,
	.record = ipx_record,
	.tick = sync_tick,
	.close = sync_close,
};

static const struct output_ops udp_ops = {
	.iface = ipx_iface,
	.record = ipx_record,
	.tick = sync_tick,
	.pump = udp_pump,
	.close = sync_close,
};

/* ---- open -------------------------------------------------------------- */

/* A file is written as messages are made. A FIFO is opened without
 * blocking (an open for writing would wait for a reader for ever) and then
 * fed like a UDP collector: messages of PIPE_BUF octets, which a pipe
 * takes whole or not at all, queued while the reader is behind, so a slow
 * or stopped reader never stops the agent. Returns the message size. */
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
	x->tx.fd = x->fd;
	x->tx.fifo = 1;
	if (ipx_udp_queue_open(x, cfg, PIPE_BUF, err, errlen))
		return -ENOMEM;
	x->tx.rate = UINT32_MAX;	/* a reader on this host: no buffer to spare it */
	x->tx.pace = x->tx.rate;
	return PIPE_BUF;
}

struct output *output_ipfix_open(const struct collector *c, const struct bpfix_config *cfg,
				 char *err, size_t errlen)
{
	struct ipfix_out *x = calloc(1, sizeof(*x));
	int cap = IPFIX_STREAM_MSG;

	if (!x) {
		snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
		return NULL;
	}
	x->fd = -1;
	x->tx.fd = -1;
	x->tx.out = &x->out;
	x->tx.ops = &ipx_udp_tx_ops;
	x->kind = c->kind;
	snprintf(x->out.name, sizeof(x->out.name), "%s", c->uri);
	exporter_acct_init(&x->acct, cfg->observation_domain);
	x->refresh_ms = (uint64_t)cfg->template_refresh_s * 1000;
	/* -i's names; the agent says the rest as it attaches them */
	for (int i = 0; i < cfg->n_ifaces && i < MAX_IFACES; i++)
		ipx_iface(&x->out, cfg->ifaces[i].ifindex, cfg->ifaces[i].name);
	x->tpl_due = 1;
	x->opts_due = 1;
	x->out.stats = &x->out.own;
	x->next_refresh_ms = clock_mono_ms() + x->refresh_ms;

	switch (c->kind) {
	case COLLECTOR_UDP:
		x->out.ops = &udp_ops;
		cap = udp_tx_open(&x->tx, c, cfg->ipfix_mtu, ipx_largest_item(), IPFIX_MSG_MAX,
				  err, errlen);
		x->fd = x->tx.fd;	/* closed by ipx_free */
		if (cap < 0)
			goto fail;
		if (ipx_udp_queue_open(x, cfg, (uint32_t)cap, err, errlen))
			goto fail;
		break;
	case COLLECTOR_TCP:
		if (tcp_open(x, c, cfg, err, errlen))
			goto fail;
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
	ipfix_msg_init(&x->msg, x->buf, cap, x->acct.odid);
	if (c->kind == COLLECTOR_TCP)
		tcp_start(x);
	return &x->out;
fail:
	ipx_free(x);
	return NULL;
}
