// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX exporting processes (user/ipfix_export.c, udp_tx.c, ipfix_tcp.c)
 * through real sockets and files, read back by a decoder of their own: UDP
 * datagrams within the MTU with consistent sequence numbers per domain, the
 * pacer's rate and its bounded queue, TCP through a collector that goes away
 * and comes back (templates again, sequence from 0, queued records
 * delivered, overflow counted), a collector that stops reading (the meter
 * does not block), and a file that ipfixDump (libfixbuf) decodes to the
 * values put in.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "config.h"
#include "ipfix.h"
#include "output.h"
#include "ipfix_records.h"
#include "wire.h"

struct domain {
	uint32_t odid;
	unsigned int messages;
	uint32_t first_seq, next_seq;
	int rec_len[IPFIX_TEMPLATES];
};

struct decoded {
	unsigned int messages;
	unsigned int templates[IPFIX_TEMPLATES];	/* template records seen per id */
	unsigned int data[IPFIX_TEMPLATES];		/* data records seen per id */
	struct domain dom[2];				/* in the order they appeared */
	unsigned int n_dom;
	unsigned int seq_errors;
	size_t max_len;
	uint64_t packets;				/* forward packets of flow records */
	uint64_t not_sent_flows;			/* last exporting reliability record */
};

static struct domain *domain_of(struct decoded *d, uint32_t odid)
{
	for (unsigned int i = 0; i < d->n_dom; i++)
		if (d->dom[i].odid == odid)
			return &d->dom[i];
	assert_true(d->n_dom < 2);
	d->dom[d->n_dom].odid = odid;
	return &d->dom[d->n_dom++];
}

static void decode_templates(struct decoded *d, struct domain *dom, const uint8_t *p,
			     size_t len, int options)
{
	while (len >= 4) {
		uint16_t tid = get16(p), n = get16(p + 2), scope = options ? get16(p + 4) : 0;
		size_t off = options ? 6 : 4;
		int rec = 0;

		assert_in_range(tid, IPFIX_TID_FIRST, IPFIX_TID_END - 1);
		assert_true(!options || (scope && scope <= n));
		for (unsigned int i = 0; i < n; i++) {
			uint16_t id = get16(p + off), flen = get16(p + off + 2);

			rec += flen;
			off += id & 0x8000 ? 8 : 4;
		}
		dom->rec_len[tid - IPFIX_TID_FIRST] = rec;
		d->templates[tid - IPFIX_TID_FIRST]++;
		p += off;
		len -= off;
	}
	assert_int_equal(len, 0);
}

static unsigned int decode_data(struct decoded *d, struct domain *dom, uint16_t tid,
				const uint8_t *p, size_t len)
{
	int rec = dom->rec_len[tid - IPFIX_TID_FIRST];
	unsigned int n = 0;

	assert_int_not_equal(rec, 0);	/* the template came first, in this domain */
	while (len > 0) {
		size_t l = rec;

		assert_true(l <= len);
		if (tid == IPFIX_TID_IPV4)
			d->packets += get64(p + 4 + 4 + 2 + 2 + 1 + 2 + 1 + 2 + 4 + 4 + 2 + 2 + 1 +
					    16 + 8);
		if (tid == IPFIX_TID_EXPORTING_RELIABILITY)
			d->not_sent_flows = get64(p + 4);
		p += l;
		len -= l;
		n++;
	}
	d->data[tid - IPFIX_TID_FIRST] += n;
	return n;
}

/* One message; returns its length. */
static size_t decode_msg(struct decoded *d, const uint8_t *p, size_t avail)
{
	size_t len, off = IPFIX_MSG_HDR_LEN;
	uint32_t seq, records = 0;
	struct domain *dom;

	assert_true(avail >= IPFIX_MSG_HDR_LEN);
	assert_int_equal(get16(p), 10);
	len = get16(p + 2);
	assert_true(len <= avail);
	seq = get32(p + 8);
	dom = domain_of(d, get32(p + 12));
	if (dom->messages && seq != dom->next_seq)
		d->seq_errors++;
	if (!dom->messages)
		dom->first_seq = seq;
	while (off < len) {
		uint16_t id = get16(p + off), slen = get16(p + off + 2);

		assert_true(slen >= 4 && off + slen <= len);
		if (id == 2 || id == 3)
			decode_templates(d, dom, p + off + 4, slen - 4, id == 3);
		else
			records += decode_data(d, dom, id, p + off + 4, slen - 4);
		off += slen;
	}
	assert_int_equal(off, len);
	dom->next_seq = seq + records;
	dom->messages++;
	d->messages++;
	if (len > d->max_len)
		d->max_len = len;
	return len;
}

/* ---- transports --------------------------------------------------------- */

static void config(struct bpfix_config *cfg)
{
	config_defaults(cfg);
	cfg->observation_domain = 77;
	cfg->n_ifaces = 1;
	strcpy(cfg->ifaces[0].name, "eth0");
	cfg->ifaces[0].ifindex = 999999;	/* no such interface: the name stays (ipx_refresh_names) */
}

static struct output *open_uri(const char *uri, const struct bpfix_config *cfg)
{
	struct collector c;
	char err[512] = "";
	struct output *o;

	assert_int_equal(config_parse_collector(uri, &c, err, sizeof(err)), 0);
	o = output_ipfix_open(&c, cfg, err, sizeof(err));
	if (!o)
		fprintf(stderr, "%s\n", err);
	assert_non_null(o);
	return o;
}

static struct meter_totals totals(void)
{
	return (struct meter_totals){
		.since_ms = T0, .now_ms = T0 + 5000, .packets_seen = 1000,
		.flows_observed = 40, .ignored_packets = 3, .ignored_octets = 300,
		.flows_lost = 1, .records_emitted = 30,
	};
}

static int udp_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rcvbuf = 1 << 20;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_error_lines(void **state)
{
	struct bpfix_config cfg;
	struct collector c;
	char err[512] = "";

	(void)state;
	/* .invalid never resolves (RFC 6761); do not wait long for a DNS
	 * server that does not answer. */
	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	config(&cfg);
	assert_int_equal(config_parse_collector("udp://nohost.invalid:4739", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "udp://nohost.invalid:4739: cannot resolve nohost.invalid: "));

	assert_int_equal(config_parse_collector("tcp://nohost.invalid:4739", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "tcp://nohost.invalid:4739: cannot resolve nohost.invalid: "));

	assert_int_equal(config_parse_collector("file:/nonexistent/dir/x.ipfix", &c, err,
						sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_string_equal(err, "file:/nonexistent/dir/x.ipfix: cannot open "
			    "/nonexistent/dir/x.ipfix: No such file or directory");
}

/* What agent_stop does before closing: pump until nothing waits. */
static void deliver(struct output *o)
{
	uint64_t wake;

	while (o->ops->pump && (wake = o->ops->pump(o, clock_mono_ns())) != UINT64_MAX) {
		struct timespec ts = { .tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000 };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

/* Messages never exceed the MTU (minus IPv4 + UDP headers), records are
 * never split, sequence numbers add up; nothing listening is no error. */
static void test_udp(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port;
	char uri[64];
	uint8_t dgram[65536];
	int fd;
	ssize_t n;

	(void)state;
	config(&cfg);
	cfg.ipfix_mtu = 576;
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	icmp4_uniflow(&r);
	for (int i = 0; i < 40; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	deliver(o);
	o->ops->close(o, &t);

	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0) {
		assert_true(n <= 576 - 28);
		assert_int_equal(decode_msg(&d, dgram, n), n);
	}
	close(fd);
	assert_int_equal(d.seq_errors, 0);
	/* flows in the configured domain, options in domain 0 (nfcapd), each
	 * with its own sequence from 0 */
	assert_int_equal(d.n_dom, 2);
	assert_int_equal(d.dom[0].odid, 77);
	assert_int_equal(d.dom[0].first_seq, 0);
	assert_int_equal(d.dom[0].next_seq, 40);
	assert_int_equal(d.dom[1].odid, IPFIX_ODID_OPTIONS);
	assert_int_equal(d.dom[1].first_seq, 0);
	assert_int_equal(d.dom[1].next_seq, 2 * 4);	/* 3 statistics + 1 interface */
	assert_int_equal(d.data[0], 40);
	assert_int_equal(d.packets, 40 * 3);
	assert_true(d.max_len > 576 - 28 - 73);		/* messages are filled */
	/* flow templates once (refresh is 60 s); options at the first tick and
	 * at close, each time with their templates */
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d.templates[i], ipfix_tid_is_options(IPFIX_TID_FIRST + i) ? 2 : 1);
	assert_int_equal(d.data[IPFIX_TID_METERING_STATS - IPFIX_TID_FIRST], 2);
	assert_int_equal(d.data[IPFIX_TID_INTERFACES - IPFIX_TID_FIRST], 2);

	/* flows in domain 0 share it, and its one sequence, with the options */
	struct decoded d0 = { 0 };

	cfg.observation_domain = 0;
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	for (int i = 0; i < 10; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	deliver(o);
	o->ops->close(o, &t);
	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(&d0, dgram, n), n);
	close(fd);
	assert_int_equal(d0.seq_errors, 0);
	assert_int_equal(d0.n_dom, 1);
	assert_int_equal(d0.dom[0].odid, 0);
	assert_int_equal(d0.dom[0].next_seq, 10 + 2 * 4);
	cfg.observation_domain = 77;

	/* nobody listening: ECONNREFUSED is counted, not fatal */
	fd = udp_listen(&port);
	close(fd);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	for (int j = 0; j < 5; j++) {
		for (int i = 0; i < 20; i++)
			o->ops->record(o, &r);
		assert_int_equal(o->ops->tick(o, &t), 0);
		deliver(o);
	}
	assert_int_equal(o->stats->records, 100);
	assert_true(o->stats->errors > 0);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 100);

	/* the collector starts late: what it receives decodes at once (the
	 * decoder insists on templates before data), well before the 60 s
	 * template refresh */
	struct decoded late = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int j = 0; j < 3; j++) {
		for (int i = 0; i < 20; i++)
			o->ops->record(o, &r);
		assert_int_equal(o->ops->tick(o, &t), 0);
		deliver(o);
	}
	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(&late, dgram, n), n);
	close(fd);
	assert_true(late.data[0] >= 20);
	o->ops->close(o, &t);

	/* an MTU that leaves no room for a template is refused at open */
	struct collector c;
	char err[512];

	cfg.ipfix_mtu = 200;
	assert_int_equal(config_parse_collector(uri, &c, err, sizeof(err)), 0);
	assert_null(output_ipfix_open(&c, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "MTU of 200"));
}

/* Records a collector has received so far, data records of the flow
 * templates only. */
static uint64_t drain_flows(int fd, struct decoded *d)
{
	uint8_t dgram[65536];
	ssize_t n;

	while ((n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT)) > 0)
		assert_int_equal(decode_msg(d, dgram, n), n);
	return d->data[0];
}

/* The agent's loop in pretend time: pump at each wake-up the output asks
 * for, from @from_ns until @to_ns. Returns the last answer. */
static uint64_t pump_until(struct output *o, uint64_t from_ns, uint64_t to_ns)
{
	uint64_t w = from_ns;

	while ((w = o->ops->pump(o, w)) != UINT64_MAX && w <= to_ns)
		;
	return w;
}

/* The pacer (udp_tx.c): a sweep's records go out at --export-rate at
 * most, in bursts of a few milliseconds' worth, and the queue is bounded:
 * what does not fit is counted as not sent, exactly. Time is the pump's
 * argument, so nothing here depends on how fast the machine is. */
static void test_udp_pacing(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d = { 0 };
	struct flow_record r;
	struct output *o;
	uint64_t now, got;
	uint16_t port;
	char uri[64];
	int fd;

	(void)state;
	config(&cfg);
	cfg.export_rate = 1000;		/* records a second */
	cfg.sweep_interval_ms = 100;	/* 2000 records: the pace stays at the rate */
	fd = udp_listen(&port);
	snprintf(uri, sizeof(uri), "udp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	assert_non_null(o->ops->pump);
	icmp4_uniflow(&r);
	for (int i = 0; i < 2000; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	now = clock_mono_ns();
	/* at the tick: one burst, a message or so (20 uniflow records) */
	got = drain_flows(fd, &d);
	assert_in_range(got, 1, 40);
	/* 100 ms later: 100 more records, give or take a message */
	pump_until(o, now, now + 100000000);
	got = drain_flows(fd, &d);
	assert_in_range(got, 100 - 20, 100 + 40 + 20);
	/* 1 s later: 1000 more; no message is sent early */
	pump_until(o, now + 100000000, now + 1100000000);
	got = drain_flows(fd, &d);
	assert_in_range(got, 1100 - 20, 1100 + 40 + 20);
	assert_int_equal(o->stats->records_sent, got);
	assert_int_equal(o->stats->records_not_sent, 0);
	/* the rest by 2 s; then nothing waits */
	assert_int_equal(pump_until(o, now + 1100000000, now + 2100000000), UINT64_MAX);
	assert_int_equal(drain_flows(fd, &d), 2000);
	assert_int_equal(d.seq_errors, 0);
	o->ops->close(o, &t);

	/* A queue of 100 records, 1000 in one sweep: the first messages that
	 * fit wait (100 records less at most two messages' shortfall: the
	 * first carries templates), the rest are not sent, and every record
	 * is one or the other. */
	cfg.udp_queue_records = 100;
	o = open_uri(uri, &cfg);
	for (int i = 0; i < 1000; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	assert_in_range(o->stats->records_not_sent, 1000 - 100, 1000 - 100 + 40);
	assert_int_equal(o->stats->packets_not_sent, o->stats->records_not_sent * 3);
	now = clock_mono_ns();
	assert_int_equal(pump_until(o, now, now + 10 * 1000000000ull), UINT64_MAX);
	assert_int_equal(o->stats->records_sent + o->stats->records_not_sent, 1000);
	/* close: a record still queued is not sent, and said so */
	for (int i = 0; i < 200; i++)
		o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	o->ops->close(o, &t);
	close(fd);
}

static int tcp_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int tcp_accept(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* Read what arrives within @ms and decode it as a stream of messages. */
static void tcp_read(int fd, struct decoded *d, int ms)
{
	static uint8_t stream[1 << 22];
	size_t have = 0, off = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (poll(&pfd, 1, ms) == 1) {
		n = recv(fd, stream + have, sizeof(stream) - have, 0);
		if (n <= 0)
			break;
		have += n;
	}
	while (off < have)
		off += decode_msg(d, stream + off, have - off);
}

static void tick_for(struct output *o, const struct meter_totals *t, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		o->ops->tick(o, t);
		usleep(50 * 1000);
	}
}

static void test_tcp_reconnect(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct decoded d1 = { 0 }, d2 = { 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port = 0;
	char uri[64];
	int lfd, cfd;

	(void)state;
	config(&cfg);
	cfg.tcp_queue_records = 25;
	lfd = tcp_listen(&port);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	cfd = tcp_accept(lfd, 1000);
	assert_true(cfd >= 0);
	icmp4_uniflow(&r);
	for (int i = 0; i < 10; i++)
		o->ops->record(o, &r);
	o->ops->tick(o, &t);
	tcp_read(cfd, &d1, 200);
	/* TCP: one domain, options records counted in its sequence */
	assert_int_equal(d1.n_dom, 1);
	assert_int_equal(d1.dom[0].odid, 77);
	assert_int_equal(d1.dom[0].first_seq, 0);
	assert_int_equal(d1.seq_errors, 0);
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d1.templates[i], 1);
	assert_int_equal(d1.data[0], 10);
	/* sent once acknowledged, which the next tick sees */
	o->ops->tick(o, &t);
	assert_int_equal(o->stats->records_sent, 10);

	/* the collector goes away: records wait in the queue, what does not
	 * fit (25 held) is counted */
	close(cfd);
	close(lfd);
	tick_for(o, &t, 200);	/* notices EOF */
	for (int i = 0; i < 30; i++)
		o->ops->record(o, &r);
	o->ops->tick(o, &t);
	assert_int_equal(o->stats->records_not_sent, 5);
	assert_int_equal(o->stats->packets_not_sent, 15);
	assert_int_equal(o->stats->octets_not_sent, 5 * 252);

	/* back: templates again, sequence from 0, the 25 held records, and an
	 * exporting reliability record telling of the 5 lost */
	lfd = tcp_listen(&port);
	for (int i = 0; i < 60 && (cfd = tcp_accept(lfd, 0)) < 0; i++)
		tick_for(o, &t, 50);
	assert_true(cfd >= 0);
	o->ops->tick(o, &t);
	tcp_read(cfd, &d2, 200);
	assert_int_equal(d2.n_dom, 1);
	assert_int_equal(d2.dom[0].first_seq, 0);
	assert_int_equal(d2.seq_errors, 0);
	for (int i = 0; i < IPFIX_TEMPLATES; i++)
		assert_int_equal(d2.templates[i], 1);
	assert_int_equal(d2.data[0], 25);
	assert_int_equal(d2.not_sent_flows, 5);
	o->ops->tick(o, &t);
	assert_int_equal(o->stats->records_sent, 35);
	assert_int_equal(o->stats->records, 40);
	o->ops->close(o, &t);
	close(cfd);
	close(lfd);
}

/* A collector that accepts and never reads: the socket buffers fill, then
 * the queue, then records are dropped and counted; record() stays fast. */
static void test_tcp_stalled(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct flow_record r;
	struct output *o;
	struct timespec a, b;
	uint16_t port = 0;
	char uri[64];
	struct output_stats st;		/* outlives the output, as the journal's */
	int lfd, cfd, small = 4096;
	const int total = 200000;

	(void)state;
	config(&cfg);
	cfg.tcp_queue_records = 1000;
	lfd = tcp_listen(&port);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	st = *o->stats;
	o->stats = &st;
	cfd = tcp_accept(lfd, 1000);
	assert_true(cfd >= 0);
	o->ops->tick(o, &t);
	icmp4_uniflow(&r);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < total; i++) {
		o->ops->record(o, &r);
		if (i % 20000 == 0)
			o->ops->tick(o, &t);
	}
	o->ops->tick(o, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 2);
	assert_int_equal(st.records, total);
	assert_true(st.records_not_sent > 0);
	/* sent (acknowledged), dropped, or still queued or written and not
	 * yet acknowledged: never more than were made */
	assert_true(st.records_sent + st.records_not_sent <= (uint64_t)total);
	assert_int_equal(st.packets_not_sent, 3 * st.records_not_sent);
	/* the collector gives up: close() does not wait for it, and counts
	 * what it never acknowledged as not sent */
	close(cfd);
	close(lfd);
	clock_gettime(CLOCK_MONOTONIC, &a);
	o->ops->close(o, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec <= 2);
	assert_int_equal(st.records_sent + st.records_not_sent, total);
}

/* A collector that accepts, never reads, and resets: its window (4 KiB)
 * holds a few records, the rest stay unacknowledged in our send queue.
 * Only what it acknowledged counts as sent; the rest goes again on the
 * next connection and, at close, is counted as not sent; connections that
 * die young back off (1, 2, 4 s...), they do not restart at 1 s. */
static void test_tcp_reset(void **state)
{
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct flow_record r;
	struct output *o;
	uint16_t port = 0;
	char uri[64];
	struct output_stats st = { 0 };	/* outlives the output, as the journal's */
	int lfd, small = 4096, accepts = 0;
	const int total = 300;

	(void)state;
	config(&cfg);
	lfd = tcp_listen(&port);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
	o = open_uri(uri, &cfg);
	st = *o->stats;
	o->stats = &st;
	icmp4_uniflow(&r);
	for (int i = 0; i < total; i++)
		o->ops->record(o, &r);
	/* 6.5 s of sweeps; every connection reset 300 ms after it came */
	for (int ms = 0; ms < 6500; ms += 50) {
		int cfd = tcp_accept(lfd, 0);

		o->ops->tick(o, &t);
		if (cfd >= 0) {
			accepts++;
			usleep(300 * 1000);
			o->ops->tick(o, &t);
			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
			close(cfd);
			ms += 300;
		}
		usleep(50 * 1000);
	}
	print_message("%d connections, %llu records acknowledged\n", accepts,
		      (unsigned long long)st.records_sent);
	/* connected at 0, then again after 1, 2 s of backoff: not every second */
	assert_in_range(accepts, 2, 3);
	/* a 4 KiB window holds about 50 records of 73 octets, and templates */
	assert_true(st.records_sent < 150);
	o->ops->close(o, &t);
	assert_int_equal(st.records_sent + st.records_not_sent, total);
	assert_true(st.records_not_sent > 150);
	close(lfd);
}

static int have_ipfixdump(void)
{
	return system("ipfixDump --version >/dev/null 2>&1") == 0;
}

/* The file transport, decoded by libfixbuf's ipfixDump. */
static void test_file_ipfixdump(void **state)
{
	char path[] = "/tmp/test_ipfix.XXXXXX";
	struct bpfix_config cfg;
	struct meter_totals t = totals();
	struct flow_record r;
	struct output *o;
	char uri[64], cmd[256], line[512], *out = NULL;
	size_t outlen = 0;
	FILE *p, *mem;
	int fd, status;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	config(&cfg);
	snprintf(uri, sizeof(uri), "file:%s", path);
	o = open_uri(uri, &cfg);
	icmp4_uniflow(&r);
	o->ops->record(o, &r);
	tcp4_biflow(&r);
	o->ops->record(o, &r);
	/* the same flow out of a VXLAN tunnel: the tunnel templates */
	r.key.tun_type = TUNNEL_VXLAN;
	r.key.tun_id = 42;
	r.key.tun_ref = 1;
	r.tun.ip_version = 6;
	addr6(&r.tun.src, "2001:db8::1");
	addr6(&r.tun.dst, "2001:db8::2");
	o->ops->record(o, &r);
	memset(&r, 0, sizeof(r));
	r.key.ether_type = 0x0806;
	mac(&r.key.src, 1);
	mac(&r.key.dst, 2);
	r.fwd.packets = 2;
	r.fwd.octets = 56;
	r.fwd.l2_octets = 120;
	r.fwd.first_ms = T0;
	r.fwd.last_ms = T0 + 1;
	r.end_reason = FLOW_END_IDLE;
	o->ops->record(o, &r);
	assert_int_equal(o->ops->tick(o, &t), 0);
	o->ops->close(o, &t);

	if (!have_ipfixdump()) {
		unlink(path);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "ipfixDump --in %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	mem = open_memstream(&out, &outlen);
	while (fgets(line, sizeof(line), p))
		fputs(line, mem);
	fclose(mem);
	status = pclose(p);
	unlink(path);
	if (status)
		fprintf(stderr, "%s", out);
	assert_int_equal(status, 0);

	static const char *const want[] = {
		"observation domain id: 77",
		"sourceIPv4Address : 10.1.2.3",
		"icmpTypeCodeIPv4 : 2048",
		"sourceIPv4Address : 192.0.2.1",
		"destinationTransportPort : 443",
		"dot1qCustomerVlanId : 200",
		"reverseOctetDeltaCount : 6000",
		"reversePacketDeltaCount : 8",
		"reverseEgressInterface : 3",
		"reverseFlowStartMilliseconds : 2023-11-14 22:13:20.200",
		"tcpControlBits : 283",
		"biflowDirection : 1",
		"sourceMacAddress : 02:00:00:00:00:01",
		"ethernetType : 2054",
		"layer2OctetDeltaCount : 120",
		"observedFlowTotalCount : 40",
		"ignoredPacketTotalCount : 3",
		"exportedFlowRecordTotalCount : 4",
		"notSentFlowTotalCount : 1",
		"interfaceDescription : (len: 16) eth0",
		"observation domain id: 0",
		"layer2SegmentId : 72057594037927978",	/* 0x01 << 56 | 42: VXLAN */
		"3 Messages, 12 Data Records, 20 Template Records",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(out, want[i])) {
			fprintf(stderr, "%s\nmissing: %s\n", out, want[i]);
			fail();
		}
	}
	assert_null(strstr(out, "rror"));
	assert_null(strstr(out, "arning"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udp_pacing),
		cmocka_unit_test(test_tcp_reconnect),
		cmocka_unit_test(test_tcp_stalled),
		cmocka_unit_test(test_tcp_reset),
		cmocka_unit_test(test_file_ipfixdump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
