// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetFlow v9 (RFC 3954) and v5 exporting processes over UDP: the output
 * makes export packets as records come (netflow.c encodes them,
 * netflow.h says what a record holds) and hands them to udp_tx.c's queue
 * and pacer, the same as IPFIX over UDP (ipfix_export.c's header comment
 * says how that is paced and counted).
 *
 * v9, what goes out and when:
 *  - Templates (the three data templates and the three options templates,
 *    in one packet or a few) before the first data, again every
 *    --template-refresh seconds and every NF9_REFRESH_PACKETS export
 *    packets (RFC 3954 section 9: both, as routers do, so a collector that
 *    starts late decodes within either), and ahead of the next data after
 *    a send was refused (ECONNREFUSED: nothing listened).
 *  - Options records (metering statistics, exporting statistics, the
 *    interface table) follow the templates every refresh interval and once
 *    more at close, scope System = the source ID.
 *  - The header's sequence number counts the export packets this exporter
 *    handed to the network before it (RFC 3954 section 5.1: packets, not
 *    records), stamped as the packet leaves, template packets included; a
 *    packet dropped before it left (queue full, shutdown) is counted in the
 *    exporting statistics instead. sysUptime and unix_secs are stamped
 *    then too; sysUptime counts from the exporter's start.
 *  - Source ID is --observation-domain.
 *
 * v5: 24-octet header, 48-octet records, 30 a packet at most (fewer when
 * --ipfix-mtu leaves no room for 30). IPv4 only: an IPv6 or non-IP flow,
 * or one too large to split into one packet's records, is not sent and is
 * counted: not-sent (records, packets, octets) and unsupported, per
 * output, in -v's exit line and the metrics, and said once per reason on
 * stderr. A side whose packets or octets exceed 32 bits is split into
 * records that each fit (sums stay exact, NF5_MAX_SPLIT at most). The
 * header's flow_sequence counts the v5 records made before the packet,
 * dropped ones included, so a collector sees any loss as a gap; engine
 * type and id are the observation domain's second and first octet;
 * sampling fields are zero. Interface indexes above 65535 go as 0 (said
 * once).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "errline.h"
#include "exporter.h"
#include "netflow.h"
#include "udp_tx.h"

#define NF9_REFRESH_PACKETS	20	/* export packets between templates, at most */

static inline void put_u32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/* ---- the exporting process ---------------------------------------------------- */

struct nf_out {
	struct output out;		/* first: what the agent holds */
	struct udp_tx tx;
	struct exporter_acct acct;
	int version;			/* 9 or 5 */
	uint64_t epoch_ms;		/* wall clock at sysUptime 0 */
	uint64_t refresh_ms, next_refresh_ms;
	uint32_t since_templates;	/* v9 packets made since the templates */
	int tpl_due, opts_due;
	struct iface *ifaces;		/* the interface table (exporter_set_iface) */
	int n_ifaces, cap_ifaces;
	uint8_t *buf, *tbuf;		/* v9: the packet being made, resent templates */
	struct nf9_msg m9;
	struct nf5_msg m5;
	uint32_t seq;			/* v9: packets sent; v5: records made */
	int said[NF5_REASONS];
	int said_ifindex;
};

static struct nf_out *to_nf(struct output *o)
{
	return (struct nf_out *)o;
}

static struct nf_out *tx_nf(struct udp_tx *t)
{
	return to_nf(t->out);
}

static void nf_stamp_time(const struct nf_out *x, uint8_t *msg)
{
	uint64_t ns = clock_wall_ns();
	uint64_t ms = ns / 1000000;

	put_u32(msg + 4, ms > x->epoch_ms ? (uint32_t)(ms - x->epoch_ms) : 0);
	put_u32(msg + 8, (uint32_t)(ns / 1000000000));
	if (x->version == 5)
		put_u32(msg + 12, (uint32_t)(ns % 1000000000));
}

/* v9: uptime, time and the packet's sequence number as it leaves; the
 * number moves only once it went (sent()), so a retried send keeps it. */
static void nf_tx_stamp(struct udp_tx *t, uint8_t *msg, size_t len)
{
	struct nf_out *x = tx_nf(t);

	(void)len;
	nf_stamp_time(x, msg);
	if (x->version == 9)
		put_u32(msg + 12, x->seq);
}

static void nf_tx_sent(struct udp_tx *t, const struct udp_counts *c, size_t len)
{
	struct nf_out *x = tx_nf(t);

	if (x->version == 9)
		x->seq++;
	exporter_count_sent(&x->acct, x->out.stats, c->flows, c->packets, c->octets, len);
}

static void nf_tx_not_sent(struct udp_tx *t, const struct udp_counts *c)
{
	struct nf_out *x = tx_nf(t);

	exporter_count_drop(&x->acct, x->out.stats, c->flows, c->packets, c->octets);
}

/* v9: every template again, in packets of their own, ahead of the next
 * queued packet after a refused send. */
static int nf9_tx_resend(struct udp_tx *t, const uint8_t *next, size_t len)
{
	struct nf_out *x = tx_nf(t);
	struct nf9_msg m;
	uint16_t tid = NF9_TID_FIRST;

	(void)next;
	(void)len;
	nf9_msg_init(&m, x->tbuf, x->m9.cap);
	while (tid < NF9_TID_END) {
		int err;

		while (tid < NF9_TID_END && !nf9_msg_add_template(&m, tid))
			tid++;
		nf9_msg_finish(&m, 0, 0, x->seq, x->acct.odid);
		nf_tx_stamp(t, m.buf, m.len);
		err = udp_tx_send(t, m.buf, m.len);
		if (err)
			return err;
		nf_tx_sent(t, &(struct udp_counts){ 0 }, m.len);
		nf9_msg_reset(&m);
	}
	x->since_templates = 0;
	return 0;
}

static const struct udp_tx_ops nf9_tx_ops = {
	.resend = nf9_tx_resend,
	.stamp = nf_tx_stamp,
	.sent = nf_tx_sent,
	.not_sent = nf_tx_not_sent,
};

static const struct udp_tx_ops nf5_tx_ops = {
	.stamp = nf_tx_stamp,
	.sent = nf_tx_sent,
	.not_sent = nf_tx_not_sent,
};

/* The packet being made is complete: into the queue. */
static void nf_msg_done(struct nf_out *x)
{
	struct udp_counts c;
	size_t len;

	if (x->version == 9) {
		struct nf9_msg *m = &x->m9;

		if (nf9_msg_empty(m))
			return;
		len = nf9_msg_finish(m, 0, 0, 0, x->acct.odid);	/* stamped as it leaves */
		c = (struct udp_counts){ .records = m->records, .flows = m->flows,
					 .packets = m->packets, .octets = m->octets };
		udp_tx_enqueue(&x->tx, m->buf, len, &c);
		nf9_msg_reset(m);
		if (++x->since_templates >= NF9_REFRESH_PACKETS)
			x->tpl_due = 1;
		return;
	}
	if (nf5_msg_empty(&x->m5))
		return;
	len = nf5_msg_finish(&x->m5, 0, 0, x->seq, x->acct.odid);
	x->seq += x->m5.count;
	c = (struct udp_counts){ .records = x->m5.count, .flows = x->m5.flows,
				 .packets = x->m5.packets, .octets = x->m5.octets };
	udp_tx_enqueue(&x->tx, x->m5.buf, len, &c);
	nf5_msg_reset(&x->m5);
}

static void nf9_templates(struct nf_out *x)
{
	x->tpl_due = 0;
	x->since_templates = 0;
	for (uint16_t tid = NF9_TID_FIRST; tid < NF9_TID_END; tid++) {
		if (nf9_msg_add_template(&x->m9, tid) == -ENOSPC) {
			nf_msg_done(x);
			x->tpl_due = 0;		/* these are the templates */
			x->since_templates = 0;
			nf9_msg_add_template(&x->m9, tid);
		}
	}
}

static void nf9_options(struct nf_out *x)
{
	static const uint16_t stats_tids[] = { NF9_TID_METERING, NF9_TID_EXPORTING };
	struct ipfix_stats s;

	if (!x->acct.have_totals)
		return;
	exporter_fill_stats(&x->acct, x->out.stats, &s);
	for (size_t i = 0; i < ARRAY_SIZE(stats_tids); i++) {
		if (nf9_msg_add_stats(&x->m9, stats_tids[i], &s) == -ENOSPC) {
			nf_msg_done(x);
			nf9_msg_add_stats(&x->m9, stats_tids[i], &s);
		}
	}
	for (int i = 0; i < x->n_ifaces; i++) {
		const struct iface *ifc = &x->ifaces[i];

		if (nf9_msg_add_interface(&x->m9, ifc->ifindex, ifc->name) == -ENOSPC) {
			nf_msg_done(x);
			nf9_msg_add_interface(&x->m9, ifc->ifindex, ifc->name);
		}
	}
	x->opts_due = 0;
}

/* Not for v5: counted as not sent and unsupported, said once a reason. */
static void nf5_unsupported(struct nf_out *x, enum nf5_unsupported why,
			    const struct flow_record *r)
{
	x->out.records_unsupported++;
	exporter_count_drop(&x->acct, x->out.stats, 1, flow_record_packets(r),
			    flow_record_octets(r));
	if (!x->said[why]++)
		fprintf(stderr, "bpfix: %s: %s flows do not fit NetFlow v5: not sent, "
			"counted as unsupported\n", x->out.name, nf5_reason_names[why]);
}

static int nf_record(struct output *o, const struct flow_record *r)
{
	struct nf_out *x = to_nf(o);
	int err = 0;

	o->stats->records++;
	if (x->version == 5) {
		unsigned int n;
		enum nf5_unsupported why = nf5_check(r, &n);

		if (why == NF5_OK && n > x->m5.max)
			why = NF5_TOO_BIG;	/* more than the MTU's packet holds */
		if (why != NF5_OK) {
			nf5_unsupported(x, why, r);
			return 0;
		}
		if (nf5_msg_add_flow(&x->m5, r, x->epoch_ms) == -ENOSPC) {
			nf_msg_done(x);
			err = nf5_msg_add_flow(&x->m5, r, x->epoch_ms);
		}
		if (x->m5.clamped_ifindex && !x->said_ifindex++)
			fprintf(stderr, "bpfix: %s: interface indexes above 65535 do not fit "
				"NetFlow v5: sent as 0\n", o->name);
	} else {
		for (int round = 0; round < 2; round++) {
			if (x->tpl_due)
				nf9_templates(x);
			err = nf9_msg_add_flow(&x->m9, r, x->epoch_ms);
			if (err != -ENOSPC)
				break;
			nf_msg_done(x);
		}
	}
	if (err) {
		o->stats->errors++;
		exporter_count_drop(&x->acct, o->stats, 1, flow_record_packets(r),
				    flow_record_octets(r));
	}
	return 0;
}

static int nf_tick(struct output *o, const struct meter_totals *t)
{
	struct nf_out *x = to_nf(o);
	uint64_t now = clock_mono_ms();

	exporter_take_totals(&x->acct, t);
	if (now >= x->next_refresh_ms) {
		x->next_refresh_ms = now + x->refresh_ms;
		x->opts_due = x->tpl_due = x->version == 9;
	}
	if (x->tpl_due)
		nf9_templates(x);
	if (x->opts_due)
		nf9_options(x);
	nf_msg_done(x);
	udp_tx_tick(&x->tx);
	return 0;
}

static uint64_t nf_pump(struct output *o, uint64_t now_ns)
{
	struct nf_out *x = to_nf(o);

	return udp_tx_pace(&x->tx, now_ns, x->tx.pace);
}

static void nf_free(struct nf_out *x)
{
	if (x->tx.fd >= 0)
		close(x->tx.fd);
	udp_tx_free(&x->tx);
	free(x->buf);
	free(x->tbuf);
	free(x->ifaces);
	free(x);
}

static void nf_iface(struct output *o, uint32_t ifindex, const char *name)
{
	struct nf_out *x = to_nf(o);

	if (exporter_set_iface(&x->ifaces, &x->n_ifaces, &x->cap_ifaces, ifindex, name) &&
	    x->version == 9)
		x->opts_due = 1;
}

/* Shutdown: the agent pumped until its deadline; what is queued now is
 * not sent. The last options report that, unpaced. */
static void nf_close(struct output *o, const struct meter_totals *t)
{
	struct nf_out *x = to_nf(o);

	exporter_take_totals(&x->acct, t);
	udp_tx_drop_all(&x->tx);
	if (x->version == 9) {
		if (x->tpl_due)
			nf9_templates(x);
		nf9_options(x);
	}
	nf_msg_done(x);
	udp_tx_pace(&x->tx, clock_mono_ns(), UINT32_MAX);
	nf_free(x);
}

static const struct output_ops nf_ops = {
	.record = nf_record,
	.tick = nf_tick,
	.pump = nf_pump,
	.close = nf_close,
	.iface = nf_iface,
};

/* The largest single v9 item, with the packet header: what every packet
 * must hold. */
static size_t nf9_largest_item(void)
{
	size_t max = 0;

	for (uint16_t tid = NF9_TID_FIRST; tid < NF9_TID_END; tid++) {
		const struct ipfix_template *t = nf9_template(tid);
		size_t len = nf9_template_record_len(tid);

		/* a flow record may be a biflow's two */
		if ((size_t)(t->scope ? 1 : 2) * t->rec_len > len)
			len = (size_t)(t->scope ? 1 : 2) * t->rec_len;
		if (len > max)
			max = len;
	}
	return NF9_HDR_LEN + NF9_SET_HDR_LEN + ((max + 3) & ~(size_t)3);
}

struct output *output_netflow_open(const struct collector *c, const struct bpfix_config *cfg,
				   char *err, size_t errlen)
{
	struct nf_out *x = calloc(1, sizeof(*x));
	uint32_t min_full, burst_min;
	int cap;

	if (!x) {
		snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
		return NULL;
	}
	x->tx.fd = -1;
	x->tx.out = &x->out;
	x->version = c->kind == COLLECTOR_NETFLOW5 ? 5 : 9;
	x->tx.ops = x->version == 5 ? &nf5_tx_ops : &nf9_tx_ops;
	snprintf(x->out.name, sizeof(x->out.name), "%s", c->uri);
	x->out.ops = &nf_ops;
	x->out.stats = &x->out.own;
	exporter_acct_init(&x->acct, cfg->observation_domain);
	x->epoch_ms = x->acct.open_wall_ms;
	x->refresh_ms = (uint64_t)cfg->template_refresh_s * 1000;
	x->next_refresh_ms = clock_mono_ms() + x->refresh_ms;
	for (int i = 0; i < cfg->n_ifaces && i < MAX_IFACES; i++)
		nf_iface(&x->out, cfg->ifaces[i].ifindex, cfg->ifaces[i].name);
	x->tpl_due = x->opts_due = x->version == 9;

	if (c->kind != COLLECTOR_NETFLOW5 && c->kind != COLLECTOR_NETFLOW9) {
		snprintf(err, errlen, "%s: not a NetFlow collector", c->uri);
		goto fail;
	}
	if (x->version == 5) {
		cap = udp_tx_open(&x->tx, c, cfg->ipfix_mtu, NF5_HDR_LEN + NF5_REC_LEN,
				  NF5_MSG_LEN, err, errlen);
		if (cap < 0)
			goto fail;
		nf5_msg_init(&x->m5, (unsigned int)(cap - NF5_HDR_LEN) / NF5_REC_LEN);
		burst_min = x->m5.max;
		min_full = x->m5.max / 2 ? x->m5.max / 2 : 1;	/* biflows take two */
	} else {
		size_t room;

		cap = udp_tx_open(&x->tx, c, cfg->ipfix_mtu, nf9_largest_item(), NF9_MSG_MAX,
				  err, errlen);
		if (cap < 0)
			goto fail;
		x->buf = malloc(cap);
		x->tbuf = malloc(cap);
		if (!x->buf || !x->tbuf) {
			snprintf(err, errlen, "%s: %s", c->uri, strerror(ENOMEM));
			goto fail;
		}
		nf9_msg_init(&x->m9, x->buf, (size_t)cap);
		room = x->m9.cap - NF9_HDR_LEN - NF9_SET_HDR_LEN;
		min_full = (uint32_t)(room / nf9_template(NF9_TID_IPV6)->rec_len / 2);
		burst_min = (uint32_t)(room / nf9_template(NF9_TID_IPV4)->rec_len);
	}
	if (udp_tx_queue_open(&x->tx, cfg, (uint32_t)cap, min_full, burst_min, err, errlen))
		goto fail;
	return &x->out;
fail:
	nf_free(x);
	return NULL;
}
