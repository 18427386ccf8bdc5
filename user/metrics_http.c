// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --metrics: /metrics (metrics.c's exposition of the snapshot the last
 * sweep left) and the health endpoints, served by libmicrohttpd from a
 * thread of its own (metrics.h says which thread owns what).
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
#include <stdio.h>
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
