// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --metrics: the exposition (Prometheus text format 0.0.4) of the snapshot
 * the last sweep left, and the health endpoints, served by libmicrohttpd
 * from a thread of its own (metrics.h says which thread owns what).
 *
 * Why a library: parsing HTTP requests and surviving slow or hostile
 * clients is the whole difficulty of a small HTTP server, and the part a
 * home-made one gets wrong. libmicrohttpd's internal polling thread
 * serves every connection; the limits below bound what clients can hold:
 *   METRICS_CONN_MAX     connections at once (more wait in the backlog)
 *   METRICS_CONN_PER_IP  of those from one address (more are accepted and
 *                        closed): one host cannot take them all from
 *                        Prometheus and the kubelet's probes
 *   METRICS_CONN_IDLE_S  a connection idle this long (half a request, a
 *                        reader that stopped reading) is cut off
 * None of them can reach the main thread: it only ever waits for
 * metrics.lock, which the HTTP thread holds for one memcpy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "metrics.h"

#define METRICS_CONN_MAX    32
#define METRICS_CONN_PER_IP 8
#define METRICS_CONN_IDLE_S 5
#define METRICS_BACKLOG     128
#define METRICS_STALE_MIN_NS 1000000000ull	/* /healthz: at least 1 s of grace */

enum metrics_state {
	STATE_STARTING,		/* attached, no sweep done yet */
	STATE_READY,
	STATE_STOPPING,		/* a stop signal came: draining, delivering */
};

struct metrics {
	int fd;				/* the listening socket */
	char addr[sizeof(((struct bpfix_config *)0)->metrics)];
	uint64_t stale_ns;		/* /healthz: the loop must run this often */
	uint64_t shutdown_ns;		/* --shutdown-timeout */
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;
	struct metrics_snapshot published;	/* main writes, HTTP reads: under lock */
	struct metrics_snapshot reading;	/* the HTTP thread's own copy */
	_Atomic uint64_t alive_until_ns;	/* monotonic */
	_Atomic int state;
};

/* ---- the exposition --------------------------------------------------------- */

/* @s with the escapes the text format asks for: backslash and newline in
 * HELP text, and the double quote too in a label value. */
static void put_escaped(FILE *f, const char *s, int label)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && label)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	put_escaped(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void put_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* name{key="value"} v */
static void put_labelled(FILE *f, const char *name, const char *key, const char *value,
			 uint64_t v)
{
	fprintf(f, "%s{%s=\"", name, key);
	put_escaped(f, value, 1);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

/* Seconds from ns, exactly: no float rounding in the text. */
static void put_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000),
		(unsigned long long)(ns % 1000000000));
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	put_u64(f, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	put_u64(f, name, v);
}

static void gauge_seconds(FILE *f, const char *name, const char *help, uint64_t ns)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	put_seconds(f, ns);
	fputc('\n', f);
}

/* What each output counts (struct output_stats), one family per field. */
static const struct {
	const char *name;
	const char *help;
	size_t off;
} out_fields[] = {
#define F(field, name, help) { name, help, offsetof(struct output_stats, field) }
	F(records, "bpfix_collector_records_total",
	  "Flow records the output accepted (label collector: its URI, or stdout)."),
	F(records_sent, "bpfix_collector_records_sent_total",
	  "Flow records written to the output's transport; summed over outputs, "
	  "-v's 'exported'."),
	F(packets_sent, "bpfix_collector_packets_sent_total",
	  "Packets in the records sent."),
	F(octets_sent, "bpfix_collector_bytes_sent_total",
	  "IP octets in the records sent."),
	F(records_not_sent, "bpfix_collector_records_not_sent_total",
	  "Flow records dropped (queue full, collector gone, shutdown timeout); "
	  "summed over outputs, -v's 'not-sent'."),
	F(packets_not_sent, "bpfix_collector_packets_not_sent_total",
	  "Packets in the records not sent."),
	F(octets_not_sent, "bpfix_collector_bytes_not_sent_total",
	  "IP octets in the records not sent."),
	F(messages, "bpfix_collector_messages_total", "IPFIX messages sent."),
	F(errors, "bpfix_collector_errors_total", "Transport errors the output saw."),
#undef F
};

/* Kernel stats with a family of their own below; every other one is
 * bpfix_kernel_NAME_total, so a stat added to BPFIX_STATS shows up. */
static int kernel_stat_shown_apart(const char *name)
{
	static const char *const apart[] = {
		"packets", "octets", "l2_octets", "insert_failed", "insert_failed_packets",
		"insert_failed_octets", "not_metered_packets", "not_metered_octets",
	};
	size_t i;

	if (!strncmp(name, "malformed_", 10) || !strncmp(name, "table_", 6))
		return 1;
	for (i = 0; i < sizeof(apart) / sizeof(apart[0]); i++)
		if (!strcmp(name, apart[i]))
			return 1;
	return 0;
}

static void format_histogram(FILE *f, const struct metrics_snapshot *s)
{
	static const uint64_t bound_us[METRICS_SWEEP_BUCKETS] = { METRICS_SWEEP_BOUNDS_US };
	const char *name = "bpfix_sweep_duration_seconds";
	uint64_t cum = 0;
	int i;

	family(f, name, "histogram",
	       "Time one sweep took: flip, drain, account, expire, hand records to the outputs.");
	for (i = 0; i < METRICS_SWEEP_BUCKETS; i++) {
		cum += s->sweep_hist[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, bound_us[i] / 1e6,
			(unsigned long long)cum);
	}
	cum += s->sweep_hist[METRICS_SWEEP_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	fprintf(f, "%s_sum ", name);
	put_seconds(f, s->sweep_ns_total);
	fprintf(f, "\n%s_count %llu\n", name, (unsigned long long)s->sweeps);
}

void metrics_format(FILE *f, const struct metrics_snapshot *s)
{
	const struct meter_totals *t = &s->totals;
	const struct bpfix_stats *k = &s->kernel;
	size_t j;
	int i;

	family(f, "bpfix_build_info", "gauge",
	       "The agent's version and kernel/agent ABI (labels); always 1.");
	fprintf(f, "bpfix_build_info{version=\"");
	put_escaped(f, BPFIX_VERSION, 1);
	fprintf(f, "\",abi=\"%d\"} 1\n", BPFIX_ABI_VERSION);
	gauge(f, "bpfix_start_time_seconds",
	      "Wall clock (seconds since 1970) when the counters started: the agent's start.",
	      t->since_ms / 1000);
	gauge_seconds(f, "bpfix_last_sweep_timestamp_seconds",
		      "Wall clock (seconds since 1970) of the sweep these figures come from.",
		      s->now_ms * 1000000);

	counter(f, "bpfix_packets_total",
		"Wire packets the kernel programs saw (a GSO aggregate counts its segments).",
		t->packets_seen);
	counter(f, "bpfix_bytes_total",
		"IP octets (total length) of those packets; the L2 payload of non-IP frames.",
		t->octets_seen);
	counter(f, "bpfix_frame_bytes_total",
		"Frame octets of those packets, Ethernet header included.", k->l2_octets);
	counter(f, "bpfix_kernel_flows_total", "Flows created in the kernel's flow tables.",
		t->flows_observed);
	counter(f, "bpfix_drained_flows_total",
		"Flows the agent read out of the kernel's tables (a flow that lasts several "
		"sweeps counts at each).", s->drained_flows);
	counter(f, "bpfix_adopted_flows_total",
		"Flows taken over from an earlier run's pinned tables or journal.",
		s->adopted_flows);
	counter(f, "bpfix_adopted_packets_total", "Packets in the adopted flows.",
		s->adopted_packets);
	counter(f, "bpfix_records_total", "Flow records handed to the outputs.",
		t->records_emitted);

	for (j = 0; j < sizeof(out_fields) / sizeof(out_fields[0]); j++) {
		family(f, out_fields[j].name, "counter", out_fields[j].help);
		for (i = 0; i < s->n_out; i++)
			put_labelled(f, out_fields[j].name, "collector", s->out[i].name,
				     *(const uint64_t *)((const char *)&s->out[i].st +
							 out_fields[j].off));
	}

	for (j = 0; j < 2; j++) {
		const char *name = j ? "bpfix_interface_bytes_total" :
				       "bpfix_interface_packets_total";

		family(f, name, "counter", j ?
		       "IP octets in the records emitted for the interface, by the agent's "
		       "sum at emit time (the kernel keeps no per-interface counter)." :
		       "Packets in the records emitted for the interface, by the agent's "
		       "sum at emit time (the kernel keeps no per-interface counter).");
		for (i = 0; i < s->n_ifc; i++) {
			fprintf(f, "%s{interface=\"", name);
			put_escaped(f, s->ifc[i].name, 1);
			fprintf(f, "\",ifindex=\"%u\"} %llu\n", s->ifc[i].ifindex,
				(unsigned long long)(j ? s->ifc[i].octets : s->ifc[i].packets));
		}
	}

	family(f, "bpfix_lost_flows_total", "counter",
	       "Flows in no record: evicted by the kernel's LRU before a sweep drained them "
	       "(lru_eviction), or never inserted (insert_failed).");
	put_labelled(f, "bpfix_lost_flows_total", "reason", "lru_eviction", s->lru_flows);
	put_labelled(f, "bpfix_lost_flows_total", "reason", "insert_failed", k->insert_failed);
	family(f, "bpfix_lost_packets_total", "counter",
	       "Packets seen but in no record: lru_eviction, insert_failed, and not_metered "
	       "(no flow could be keyed, no table installed); the sum is -v's 'lost packets'.");
	put_labelled(f, "bpfix_lost_packets_total", "reason", "lru_eviction", s->lru_packets);
	put_labelled(f, "bpfix_lost_packets_total", "reason", "insert_failed",
		     k->insert_failed_packets);
	put_labelled(f, "bpfix_lost_packets_total", "reason", "not_metered",
		     k->not_metered_packets);
	family(f, "bpfix_lost_bytes_total", "counter",
	       "IP octets of the lost packets, by the same reasons.");
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "lru_eviction", s->lru_octets);
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "insert_failed",
		     k->insert_failed_octets);
	put_labelled(f, "bpfix_lost_bytes_total", "reason", "not_metered",
		     k->not_metered_octets);

	family(f, "bpfix_malformed_packets_total", "counter",
	       "Packets counted under a malformed reason (the kernel stat malformed_REASON); "
	       "all but reason eth are still metered, as L2 flows or with ports 0.");
#define X(name, doc) \
	if (!strncmp(#name, "malformed_", 10)) \
		put_labelled(f, "bpfix_malformed_packets_total", "reason", #name + 10, k->name);
	BPFIX_STATS(X)
#undef X

#define X(name, doc) \
	if (!kernel_stat_shown_apart(#name)) { \
		family(f, "bpfix_kernel_" #name "_total", "counter", "Kernel stat " #name ": " doc "."); \
		put_u64(f, "bpfix_kernel_" #name "_total", k->name); \
	}
	BPFIX_STATS(X)
#undef X

	gauge(f, "bpfix_agent_table_flows", "Flows the agent's flow table holds now.",
	      s->table_used);
	gauge(f, "bpfix_agent_table_capacity_flows",
	      "Flows the agent's flow table can hold (--flows).", s->table_capacity);
	gauge(f, "bpfix_kernel_table_capacity_flows",
	      "Flows each of the kernel's two flow tables can hold; a fuller one evicts (LRU).",
	      s->kernel_table_entries);
	gauge(f, "bpfix_kernel_table_drained_flows",
	      "Flows in the kernel table the last sweep drained: its occupancy at the flip.",
	      s->kernel_table_drained);

	format_histogram(f, s);
	gauge_seconds(f, "bpfix_sweep_last_duration_seconds", "Time the last sweep took.",
		      s->sweep_ns_last);
	gauge_seconds(f, "bpfix_sweep_max_duration_seconds",
		      "Time the longest sweep since the start took.", s->sweep_ns_max);
}

/* ---- the server ---------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	return reply(c, code, "text/plain; charset=utf-8", (void *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_metrics(struct metrics *m, struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pthread_mutex_lock(&m->lock);
	m->reading = m->published;
	pthread_mutex_unlock(&m->lock);
	f = open_memstream(&buf, &len);
	if (!f)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	metrics_format(f, &m->reading);
	if (fclose(f)) {
		free(buf);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len,
		     MHD_RESPMEM_MUST_FREE);
}

/* libmicrohttpd's access handler, in the HTTP thread. A GET has no body,
 * so the answer goes on the first call. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics *m = cls;
	int state = atomic_load(&m->state);

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(m, c);
	if (!strcmp(url, "/healthz")) {
		if (clock_mono_ns() < atomic_load(&m->alive_until_ns))
			return reply_text(c, MHD_HTTP_OK, "ok\n");
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "agent loop stalled\n");
	}
	if (!strcmp(url, "/readyz")) {
		if (state == STATE_READY)
			return reply_text(c, MHD_HTTP_OK, "ready\n");
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				  state == STATE_STARTING ? "starting: no sweep yet\n" :
							    "stopping\n");
	}
	if (!strcmp(url, "/"))
		return reply_text(c, MHD_HTTP_OK, "bpfix: /metrics /healthz /readyz\n");
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

struct metrics *metrics_open(const struct bpfix_config *cfg, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&cfg->metrics_sa;
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	socklen_t salen = cfg->metrics_salen;
	struct metrics *m;
	int one = 1, zero = 0, saved;

	if (!cfg->metrics[0])
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "--metrics %s: %s", cfg->metrics, strerror(ENOMEM));
		return NULL;
	}
	snprintf(m->addr, sizeof(m->addr), "%s", cfg->metrics);
	m->stale_ns = 3ull * cfg->sweep_interval_ms * 1000000;
	if (m->stale_ns < METRICS_STALE_MIN_NS)
		m->stale_ns = METRICS_STALE_MIN_NS;
	m->shutdown_ns = (uint64_t)cfg->shutdown_timeout_s * 1000000000;
	pthread_mutex_init(&m->lock, NULL);
	atomic_store(&m->state, STATE_STARTING);
	atomic_store(&m->alive_until_ns, clock_mono_ns() + m->stale_ns);

	m->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0 && errno == EAFNOSUPPORT && cfg->metrics[0] == ':') {
		/* ":PORT" on a kernel without IPv6: every IPv4 address */
		any4.sin_port = ((const struct sockaddr_in6 *)sa)->sin6_port;
		sa = (const struct sockaddr *)&any4;
		salen = sizeof(any4);
		m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (m->fd < 0)
		goto fail;
	/* A restarted agent binds while the last one's connections linger. */
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6 && cfg->metrics[0] == ':')
		setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(m->fd, sa, salen) || listen(m->fd, METRICS_BACKLOG))
		goto fail;
	return m;

fail:
	saved = errno;
	snprintf(err, errlen, "--metrics %s: cannot listen: %s%s", cfg->metrics, strerror(saved),
		 saved == EADDRNOTAVAIL ? " (not an address of this host)" : "");
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
	errno = saved;
	return NULL;
}

int metrics_start(struct metrics *m, char *err, size_t errlen)
{
	sigset_t all, old;

	if (!m)
		return 0;
	/* The thread inherits this mask: a stop signal must wake the main
	 * thread's one wait (main.c), never land in the HTTP thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* MHD_USE_ITC: metrics_close wakes the thread through a pipe. Without
	 * it a full server (it polls no listening socket then) notices only
	 * at its next poll timeout, a held connection's idle timeout: 4.6 s
	 * more at exit with 32 stalled clients, against 1 ms with it
	 * (test_metrics.sh). */
	m->mhd = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0,
				  NULL, NULL, answer, m,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_MAX,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_CONN_IDLE_S,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->mhd) {
		snprintf(err, errlen, "--metrics %s: cannot start the HTTP server", m->addr);
		return -EINVAL;
	}
	return 0;
}

void metrics_publish(struct metrics *m, const struct metrics_snapshot *s)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->published = *s;
	pthread_mutex_unlock(&m->lock);
}

void metrics_alive(struct metrics *m)
{
	if (m)
		atomic_store(&m->alive_until_ns, clock_mono_ns() + m->stale_ns);
}

void metrics_ready(struct metrics *m)
{
	int starting = STATE_STARTING;

	if (m)
		atomic_compare_exchange_strong(&m->state, &starting, STATE_READY);
}

void metrics_stopping(struct metrics *m)
{
	if (!m)
		return;
	atomic_store(&m->state, STATE_STOPPING);
	/* agent_stop waits up to --shutdown-timeout for the outputs */
	atomic_store(&m->alive_until_ns, clock_mono_ns() + m->shutdown_ns + m->stale_ns);
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);	/* joins the thread, closes every socket */
	else
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
