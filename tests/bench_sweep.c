// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sweep benchmark (BENCHMARKS.md section 3): what one sweep of N flows
 * costs the agent, against N and against the capacity of the tables, and
 * what the kernel tables cost in memory per flow. tools/bench_agent.sh runs
 * it and pastes its standard output (markdown) into BENCHMARKS.md.
 *
 * Everything is the agent's own code: agent_start() with the real skeleton
 * (maps sized by --flows and pinned under a private pin path, no interface
 * attached, one IPFIX file output to /dev/null), then per sweep:
 *  - the kernel table the current epoch names is filled from userspace with
 *    bpf_map_update_batch() (per-CPU values, ncpus slots each), N flows:
 *    N/2 conversations, both directions (TC mode: the agent pairs them into
 *    one biflow entry), 3/4 IPv4 and 1/4 IPv6, TCP and UDP; each direction's
 *    counters in one CPU's slot, as RSS spreads flows;
 *  - agent_sweep() itself is timed (the figure the goal is about), and the
 *    same sweep is also taken apart with the agent's public functions:
 *    meter_flip(); meter_drain() with agent_drain_flow() (user/agent.c:
 *    flow_merge_percpu() + agent_fold()); meter_read_stats();
 *    flowtab_expire(). meter_drain() with a callback that does nothing gives
 *    the kernel's share (batch lookup-and-delete and the copy out).
 * Each measurement is checked: the drain must return exactly N flows and
 * the agent's table hold N/2 conversations, or the benchmark fails.
 *
 * Per case: a warm-up sweep (touches the memory, as a running agent has;
 * the agent's table then holds the conversations), -r timed agent_sweep()s
 * in that "existing" state (the steady state of live flows), then -P phase
 * breakdowns: existing, the kernel's share alone, and "new" (the agent's
 * table emptied first, so every conversation creates an entry).
 *
 *   bench_sweep [-r reps] [-P phase_reps] [-c cpu] [-n N,N,...] [-k N]
 *               [-C CAP,CAP,...] [-m max_mem_mib] [-T seconds] [-A] [-p pin_path]
 *     -r  timed agent_sweep() runs per case (median; default 3)
 *     -P  runs of the phase breakdown per case (median; default 1)
 *     -n  flows for the scaling table; capacity = N * 5/4 (the agent's table
 *         stays below its 90 % lack-of-resources mark)
 *     -k, -C  flows and capacities for the capacity table
 *     -m  skip a case whose estimated memory exceeds this (default: half of
 *         MemAvailable)
 *     -T  skip a case that would end past this many seconds from the start,
 *         judged by the per-flow time of the costliest case so far (the
 *         capacity cases run first, then the flows in increasing order)
 *     -A  drain without the look-ahead prefetch (flowtab_prefetch), to
 *         measure what it gains
 *     -p  where the agent pins its maps (default /sys/fs/bpf/bpfix-bench-PID);
 *         removed at the end of each case
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "bench.h"
#include "bpfix.skel.h"

#define MAX_REPS     15
#define MAX_CASES    16
#define FILL_CHUNK   8192
#define GOAL_FLOWS   1000000
#define GOAL_SECONDS 0.3
#define SETTLE_MS    30000
#define SETTLE_SLACK_KIB (64 << 10)

/* ---- clocks ------------------------------------------------------------------ */

struct stamp {
	uint64_t wall, cpu, user, sys;	/* ns */
};

static uint64_t ts(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void stamp(struct stamp *s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	s->user = (uint64_t)ru.ru_utime.tv_sec * 1000000000 + ru.ru_utime.tv_usec * 1000;
	s->sys = (uint64_t)ru.ru_stime.tv_sec * 1000000000 + ru.ru_stime.tv_usec * 1000;
	s->cpu = ts(CLOCK_PROCESS_CPUTIME_ID);
	s->wall = ts(CLOCK_MONOTONIC);
}

/* a phase's cost: b - a */
struct cost {
	double wall, cpu, user, sys;	/* ms */
};

static struct cost cost_of(const struct stamp *a, const struct stamp *b)
{
	struct cost c = {
		.wall = (b->wall - a->wall) / 1e6,
		.cpu = (b->cpu - a->cpu) / 1e6,
		.user = (b->user - a->user) / 1e6,
		.sys = (b->sys - a->sys) / 1e6,
	};
	return c;
}

/* ---- flows ------------------------------------------------------------------- */

/* Flow @i: conversation i/2, direction i&1. Unique for i < 2^25. */
static void make_key(uint32_t i, struct flow_key *k)
{
	uint32_t c = i / 2, host = 1 + (c >> 10);
	uint16_t cport = 1024 + (c & 1023);
	union flow_addr client = { 0 }, server = { 0 };
	int dir = i & 1, udp = c % 3 == 0;

	memset(k, 0, sizeof(*k));
	k->ifindex = 2;
	k->direction = dir ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS;
	k->protocol = udp ? 17 : 6;
	if (c % 4 == 3) {
		k->ip_version = 6;
		k->ether_type = 0x86dd;
		client.ip6[0] = 0xfd;
		client.words[3] = htonl(host);
		server.ip6[0] = 0xfd;
		server.ip6[15] = 0xfe;
	} else {
		k->ip_version = 4;
		k->ether_type = 0x0800;
		client.ip4 = htonl(0x0a000000 | host);
		server.ip4 = htonl(0x0a800001);
	}
	/* ingress: client -> server; egress: the answers */
	k->src = dir ? server : client;
	k->dst = dir ? client : server;
	k->src_port = dir ? (udp ? 53 : 443) : cport;
	k->dst_port = dir ? cport : (udp ? 53 : 443);
}

/* The counters of flow @i: on one CPU's slot, recent timestamps (no flow
 * is due for expiry), no FIN (no end detected). */
static void make_values(uint32_t i, int ncpus, uint64_t now_ns, struct flow_counters *v)
{
	int cpu = (i / 2) % ncpus, dir = i & 1;
	struct flow_counters *c = &v[cpu];

	memset(v, 0, sizeof(*v) * ncpus);
	c->packets = 10 + (i & 7);
	c->octets = c->packets * 300;
	c->l2_octets = c->octets + c->packets * 14;
	c->first_ns = now_ns - 500000000ull;
	c->last_ns = now_ns;
	c->min_ip_len = 52;
	c->max_ip_len = 1500;
	c->tcp_flags = TCP_FLAG_ACK | TCP_FLAG_PSH | (dir ? 0 : TCP_FLAG_SYN);
	c->tcp_syn = dir ? TCP_SYNACK_SEEN : TCP_SYN_SEEN;
	c->min_ttl = 63;
	c->max_ttl = 64;
}

struct bench {
	int ncpus, cpu;
	unsigned int reps, phase_reps;
	uint64_t max_mem;		/* bytes */
	double time_budget;		/* s, 0: none */
	double t_start, ns_per_flow;	/* s; the costliest finished case, per flow */
	int no_ahead;			/* -A: the drain without flowtab_prefetch() */
	char pin_path[PATH_MAX];
	struct flow_key *keys;		/* FILL_CHUNK */
	struct flow_counters *values;	/* FILL_CHUNK * ncpus */
};

/* Fill the table the kernel writes now with flows 0..n-1. */
static int fill(struct bench *b, struct agent *a, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = a->meter.table_fd[a->meter.epoch & (FLOW_TABLES - 1)];
	uint64_t now = ts(CLOCK_MONOTONIC);
	uint32_t i, done, count;

	for (done = 0; done < n; done += count) {
		count = n - done < FILL_CHUNK ? n - done : FILL_CHUNK;
		for (i = 0; i < count; i++) {
			make_key(done + i, &b->keys[i]);
			make_values(done + i, b->ncpus, now, &b->values[(size_t)i * b->ncpus]);
		}
		if (bpf_map_update_batch(fd, b->keys, b->values, &count, &opts)) {
			fprintf(stderr, "bench_sweep: fill %u flows: %s (after %u)\n", n,
				strerror(errno), done + count);
			return -1;
		}
	}
	return 0;
}

/* ---- the sweep, taken apart --------------------------------------------------- */

static void on_flow_nothing(void *ctx, uint32_t staged, const struct flow_key *key,
			    const struct flow_counters *percpu, int ncpus)
{
	(void)staged;
	(void)key;
	(void)percpu;
	(void)ncpus;
	((struct drain_ctx *)ctx)->flows++;
}

enum phase { PH_FLIP, PH_DRAIN, PH_EXPIRE, PH_TOTAL, PHASES };

struct sample {
	struct cost ph_new[PHASES];	/* phases, agent table empty */
	struct cost ph_old[PHASES];	/* phases, conversations already there */
	struct cost kernel;		/* meter_drain() with a no-op callback */
};

static int check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "bench_sweep: %s: %llu, expected %llu\n", what,
		(unsigned long long)got, (unsigned long long)want);
	return -1;
}

/* One sweep by phases, as agent_sweep() does it (listening ports and the
 * outputs' tick left out: they cost the same whatever the flows). */
static int sweep_phases(struct agent *a, uint32_t n, struct cost *ph)
{
	struct drain_ctx d = { .a = a, .tab = &a->tab };
	struct stamp s0, s1, s2, s3;
	struct bpfix_stats st;
	long got;
	int slot;

	a->offset_ns = clock_mono_offset_ns();
	a->now_ms = clock_wall_ms();
	stamp(&s0);
	slot = meter_flip(&a->meter);
	stamp(&s1);
	if (slot < 0)
		return check("meter_flip", 0, 1);
	got = meter_drain(&a->meter, slot, agent_drain_flow, &d);
	if (got >= 0 && meter_read_stats(&a->meter, &st))
		got = -1;
	stamp(&s2);
	flowtab_expire(&a->tab, a->now_ms);
	stamp(&s3);
	ph[PH_FLIP] = cost_of(&s0, &s1);
	ph[PH_DRAIN] = cost_of(&s1, &s2);
	ph[PH_EXPIRE] = cost_of(&s2, &s3);
	ph[PH_TOTAL] = cost_of(&s0, &s3);
	return check("flows drained", got, n) ?: check("agent table entries", a->tab.used, n / 2);
}

/* One agent_sweep() of @n flows, the agent's table holding their
 * conversations already (the steady state of live flows). */
static int measure_sweep(struct bench *b, struct agent *a, uint32_t n, struct cost *c)
{
	struct stamp s0, s1;
	uint64_t before = a->drained_flows;

	if (fill(b, a, n))
		return -1;
	stamp(&s0);
	if (agent_sweep(a))
		return check("agent_sweep", 1, 0);
	stamp(&s1);
	*c = cost_of(&s0, &s1);
	return check("agent_sweep drained", a->drained_flows - before, n) ?:
	       check("agent_sweep: lost flows", a->lost_flows, 0) ?:
	       check("agent_sweep: agent table", a->tab.used, n / 2);
}

/* The same sweep by phases: existing state, the kernel's share alone, and
 * the new state (the agent's table emptied first). Leaves the
 * conversations in the agent's table, as it found them. */
static int measure_phases(struct bench *b, struct agent *a, uint32_t n, struct sample *s)
{
	void (*ahead)(void *, const struct flow_key *) = a->meter.drain.ahead;
	struct drain_ctx d = { .a = a, .tab = &a->tab };
	struct stamp s0, s1;
	long got;
	int slot;

	if (fill(b, a, n) || sweep_phases(a, n, s->ph_old))
		return -1;
	/* the kernel's share: drain into nothing */
	if (fill(b, a, n))
		return -1;
	slot = meter_flip(&a->meter);
	if (slot < 0)
		return check("meter_flip", 0, 1);
	a->meter.drain.ahead = NULL;	/* the kernel alone: no look-ahead into the table */
	stamp(&s0);
	got = meter_drain(&a->meter, slot, on_flow_nothing, &d);
	stamp(&s1);
	a->meter.drain.ahead = ahead;
	s->kernel = cost_of(&s0, &s1);
	if (check("flows drained (no-op)", got, n))
		return -1;
	/* new: the agent's table emptied (records go to the output) */
	flowtab_flush(&a->tab, FLOW_END_FORCED);
	if (fill(b, a, n))
		return -1;
	return sweep_phases(a, n, s->ph_new);
}

/* ---- memory ------------------------------------------------------------------ */

static long long meminfo_kib(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The kernel's own count of a map's memory (fdinfo "memlock", which is
 * the map's memory usage since 6.4). */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8))
			v = strtoll(line + 8, NULL, 10);
	fclose(f);
	return v;
}

static uint64_t roundup_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Rough upper estimate of what a case needs: two kernel tables (element
 * header and key about 112 bytes, the per-CPU value, a 16-byte bucket per
 * power-of-two slot) and the agent's table (entry, two bucket words). */
static uint64_t estimate_mem(const struct bench *b, uint32_t capacity)
{
	uint64_t kernel = (uint64_t)capacity * (112 + sizeof(struct flow_counters) * b->ncpus) +
			  roundup_pow2(capacity) * 16;
	uint64_t agent = (uint64_t)capacity * (sizeof(struct flowtab_entry) + 4) +
			 roundup_pow2((uint64_t)capacity * 2) * 4;

	return 2 * kernel + agent;
}

/* ---- cases -------------------------------------------------------------------- */

struct result {
	uint32_t flows, capacity;
	int skipped;			/* 1: memory budget, 2: time budget */
	uint64_t est_mem;
	double est_s, elapsed_s;
	/* medians over the reps */
	struct cost ph_new[PHASES], ph_old[PHASES], kernel, sweep;
	double sweep_wall_min, sweep_wall_max;
	/* memory */
	long long memlock_table;	/* one flow table */
	uint32_t max_entries;
	long long percpu_delta_kib;
	double load1;
};

static struct cost cost_median(const struct cost *c, size_t stride, unsigned int n)
{
	double w[MAX_REPS], cpu[MAX_REPS], u[MAX_REPS], s[MAX_REPS];
	struct cost m;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct cost *x = (const struct cost *)((const char *)c + i * stride);

		w[i] = x->wall;
		cpu[i] = x->cpu;
		u[i] = x->user;
		s[i] = x->sys;
	}
	m.wall = bench_median(w, n);
	m.cpu = bench_median(cpu, n);
	m.user = bench_median(u, n);
	m.sys = bench_median(s, n);
	return m;
}

static double load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* The kernel frees a closed map's memory in a worker, after we return:
 * wait (up to SETTLE_MS) until it is back, so the next case does not pay
 * for this one. */
static void settle(long long avail0)
{
	struct timespec t = { 0, 100000000 };
	int i;

	for (i = 0; i < SETTLE_MS / 100; i++) {
		if (meminfo_kib("MemAvailable") >= avail0 - SETTLE_SLACK_KIB)
			return;
		nanosleep(&t, NULL);
	}
}

static int run_case(struct bench *b, uint32_t n, uint32_t capacity, struct result *r)
{
	static struct bpfix_config cfg;
	static struct agent a;
	struct sample s[MAX_REPS];
	struct cost sw[MAX_REPS];
	char err[512] = "";
	long long avail0, percpu0;
	uint64_t t0;
	unsigned int i, p;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->flows = n;
	r->capacity = capacity;
	r->est_mem = estimate_mem(b, capacity);
	/* what this case would take at the per-flow pace of the costliest so far */
	r->est_s = b->ns_per_flow * n / 1e9;
	if (b->time_budget > 0 && ts(CLOCK_MONOTONIC) / 1e9 - b->t_start + r->est_s >
				  b->time_budget) {
		r->skipped = 2;
		fprintf(stderr, "bench_sweep: %u flows in %u: about %.0f s, over the time budget: "
			"skipped\n", n, capacity, r->est_s);
		return 0;
	}
	if (r->est_mem > b->max_mem) {
		r->skipped = 1;
		fprintf(stderr, "bench_sweep: %u flows in %u: needs about %llu MiB, budget %llu MiB: "
			"skipped\n", n, capacity, (unsigned long long)(r->est_mem >> 20),
			(unsigned long long)(b->max_mem >> 20));
		return 0;
	}
	fprintf(stderr, "bench_sweep: %u flows, capacity %u, %u reps\n", n, capacity, b->reps);
	t0 = ts(CLOCK_MONOTONIC);

	config_defaults(&cfg);
	cfg.flows = capacity;
	cfg.mode = MODE_TC;
	cfg.n_ifaces = 0;	/* nothing attached: the tables are filled from here */
	cfg.n_collectors = 1;
	if (config_parse_collector("file:/dev/null", &cfg.collectors[0], err, sizeof(err))) {
		fprintf(stderr, "bench_sweep: %s\n", err);
		return -1;
	}
	snprintf(cfg.pin_path, sizeof(cfg.pin_path), "%s", b->pin_path);

	avail0 = meminfo_kib("MemAvailable");
	percpu0 = meminfo_kib("Percpu");
	if (agent_start(&a, &cfg, err, sizeof(err))) {
		fprintf(stderr, "bench_sweep: agent_start: %s\n", err);
		return -1;
	}
	if (b->no_ahead)
		a.meter.drain.ahead = NULL;
	r->percpu_delta_kib = meminfo_kib("Percpu") - percpu0;
	r->memlock_table = map_memlock(a.meter.table_fd[0]);
	{
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(a.meter.table_fd[0], &info, &len))
			r->max_entries = info.max_entries;
	}

	/* warm-up: touch what this N touches, as a running agent has; the
	 * agent's table then holds the conversations */
	if (fill(b, &a, n) || agent_sweep(&a))
		goto out;

	for (i = 0; i < b->reps; i++)
		if (measure_sweep(b, &a, n, &sw[i]))
			goto out;
	for (i = 0; i < b->phase_reps; i++)
		if (measure_phases(b, &a, n, &s[i]))
			goto out;
	for (p = 0; p < PHASES; p++) {
		r->ph_new[p] = cost_median(&s[0].ph_new[p], sizeof(s[0]), b->phase_reps);
		r->ph_old[p] = cost_median(&s[0].ph_old[p], sizeof(s[0]), b->phase_reps);
	}
	r->kernel = cost_median(&s[0].kernel, sizeof(s[0]), b->phase_reps);
	r->sweep = cost_median(sw, sizeof(sw[0]), b->reps);
	r->sweep_wall_min = r->sweep_wall_max = sw[0].wall;
	for (i = 1; i < b->reps; i++) {
		if (sw[i].wall < r->sweep_wall_min)
			r->sweep_wall_min = sw[i].wall;
		if (sw[i].wall > r->sweep_wall_max)
			r->sweep_wall_max = sw[i].wall;
	}
	r->load1 = load1();
	ret = 0;
out:
	agent_stop(&a, NULL);		/* flushes, unpins, removes the pin directory */
	settle(avail0);
	r->elapsed_s = (ts(CLOCK_MONOTONIC) - t0) / 1e9;
	return ret;
}

/* ---- report -------------------------------------------------------------------- */

static const char *count_str(uint32_t v, char *buf, size_t len)
{
	if (v >= 1000000 && v % 1000000 == 0)
		snprintf(buf, len, "%uM", v / 1000000);
	else if (v >= 1000 && v % 1000 == 0)
		snprintf(buf, len, "%uk", v / 1000);
	else if (v >= 1 << 20 && v % (1 << 20) == 0)
		snprintf(buf, len, "%u Mi", v >> 20);
	else if (v >= 1 << 10 && v % (1 << 10) == 0)
		snprintf(buf, len, "%u Ki", v >> 10);
	else
		snprintf(buf, len, "%u", v);
	return buf;
}

static void print_sweep_table(const struct result *r, int n)
{
	char f[16], c[16];
	int i;

	printf("| flows | capacity | `agent_sweep()` wall ms [min-max] | CPU ms (user + sys) "
	       "| ns per flow, wall / CPU | flows per CPU second |\n");
	printf("|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		if (r[i].skipped == 1) {
			printf("| %s | %s | skipped: needs about %llu MiB, over the memory budget "
			       "| | | |\n", count_str(r[i].flows, f, sizeof(f)),
			       count_str(r[i].capacity, c, sizeof(c)),
			       (unsigned long long)(r[i].est_mem >> 20));
			continue;
		}
		if (r[i].skipped) {
			printf("| %s | %s | skipped: would take about %.0f s, over the time budget "
			       "| | | |\n", count_str(r[i].flows, f, sizeof(f)),
			       count_str(r[i].capacity, c, sizeof(c)), r[i].est_s);
			continue;
		}
		printf("| %s | %s | **%.1f** [%.1f-%.1f] | %.1f (%.0f + %.0f) | %.0f / %.0f "
		       "| %.2fM |\n",
		       count_str(r[i].flows, f, sizeof(f)), count_str(r[i].capacity, c, sizeof(c)),
		       r[i].sweep.wall, r[i].sweep_wall_min, r[i].sweep_wall_max, r[i].sweep.cpu,
		       r[i].sweep.user, r[i].sweep.sys, r[i].sweep.wall * 1e6 / r[i].flows,
		       r[i].sweep.cpu * 1e6 / r[i].flows,
		       r[i].flows / (r[i].sweep.cpu / 1e3) / 1e6);
	}
}

static void print_phase_table(const struct result *r, int n, int header)
{
	char f[16], c[16];
	int i;

	if (header) {
		printf("| flows | capacity | flip | drain, kernel only (ns per flow) "
		       "| drain with merge + `agent_fold`, new (agent ns per flow) "
		       "| same, existing (agent ns per flow) "
		       "| `flowtab_expire` (ns per capacity entry) | sum, existing "
		       "| wall ms of the sum |\n");
		printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	}
	for (i = 0; i < n; i++) {
		const struct result *x = &r[i];

		if (x->skipped)
			continue;
		printf("| %s | %s | %.2f | %.1f (%.0f) | %.1f (%.0f) | %.1f (%.0f) | %.1f (%.1f) "
		       "| %.1f | %.1f |\n",
		       count_str(x->flows, f, sizeof(f)), count_str(x->capacity, c, sizeof(c)),
		       x->ph_old[PH_FLIP].cpu, x->kernel.cpu, x->kernel.cpu * 1e6 / x->flows,
		       x->ph_new[PH_DRAIN].cpu,
		       (x->ph_new[PH_DRAIN].cpu - x->kernel.cpu) * 1e6 / x->flows,
		       x->ph_old[PH_DRAIN].cpu,
		       (x->ph_old[PH_DRAIN].cpu - x->kernel.cpu) * 1e6 / x->flows,
		       x->ph_old[PH_EXPIRE].cpu, x->ph_old[PH_EXPIRE].cpu * 1e6 / x->capacity,
		       x->ph_old[PH_TOTAL].cpu, x->ph_old[PH_TOTAL].wall);
	}
}

static void print_memory_table(const struct bench *b, const struct result *r, int n,
			       int header)
{
	char c[16];
	int i;

	if (header) {
		printf("| capacity (`--flows`) | memlock of one flow table (fdinfo) "
		       "| bytes per entry | of which per-CPU values | both tables, per `--flows` unit "
		       "| agent's table, per unit | `Percpu` growth in /proc/meminfo |\n");
		printf("|---:|---:|---:|---:|---:|---:|---:|\n");
	}
	for (i = 0; i < n; i++) {
		const struct result *x = &r[i];
		double per = x->max_entries ? (double)x->memlock_table / x->max_entries : 0;
		/* entry + free-list slot + bucket words (2..4 per entry) */
		double agent = sizeof(struct flowtab_entry) + 4 +
			       4.0 * roundup_pow2((uint64_t)x->capacity * 2) / x->capacity;

		if (x->skipped || !x->max_entries)
			continue;
		printf("| %s | %.1f MiB | %.0f | %zu (%zu x %d CPUs) | %.0f B | %.0f B "
		       "| %.0f MiB |\n",
		       count_str(x->capacity, c, sizeof(c)), x->memlock_table / 1048576.0, per,
		       sizeof(struct flow_counters) * b->ncpus, sizeof(struct flow_counters),
		       b->ncpus, 2 * per, agent, x->percpu_delta_kib / 1024.0);
	}
}

/* Does the cost follow the flows more than the capacity? The same flows in
 * the largest capacity against the smallest, next to ten times the flows. */
static void print_verdicts(const struct result *rs, int n_scale, const struct result *rc,
			   int n_caps)
{
	const struct result *lo = NULL, *hi = NULL, *f1 = NULL, *f10 = NULL, *g = NULL;
	char a[16], c1[16], c2[16];
	int i;

	for (i = 0; i < n_scale; i++) {
		if (rs[i].skipped)
			continue;
		if (rs[i].flows == GOAL_FLOWS)
			g = &rs[i];
		if (rs[i].flows == 100000)
			f1 = &rs[i];
		if (rs[i].flows == 1000000)
			f10 = &rs[i];
	}
	for (i = 0; i < n_caps; i++) {
		if (rc[i].skipped)
			continue;
		if (!lo || rc[i].capacity < lo->capacity)
			lo = &rc[i];
		if (!hi || rc[i].capacity > hi->capacity)
			hi = &rc[i];
	}
	if (g)
		printf("\nSweep of 1M flows: **%.3f s** wall, %.3f s CPU (goal: under %.1f s): "
		       "%s.\n", g->sweep.wall / 1e3, g->sweep.cpu / 1e3, GOAL_SECONDS,
		       g->sweep.wall / 1e3 < GOAL_SECONDS ? "met"
		       : g->sweep.cpu / 1e3 < GOAL_SECONDS ? "NOT met in wall time (CPU time "
							    "would meet it: a loaded machine)"
		       : "NOT met");
	if (lo && hi && lo != hi && f1 && f10) {
		double cap_x = hi->sweep.wall / lo->sweep.wall;
		double flow_x = f10->sweep.wall / f1->sweep.wall;

		printf("\nCapacity against flows: %s flows cost %.1f ms in a %s table and %.1f ms "
		       "in a %s one (%.0fx the capacity: **%.2fx** the time); ten times the flows "
		       "(100k -> 1M, tables sized for them) cost **%.1fx** the time: the cost "
		       "follows %s.\n",
		       count_str(lo->flows, a, sizeof(a)), lo->sweep.wall,
		       count_str(lo->capacity, c1, sizeof(c1)), hi->sweep.wall,
		       count_str(hi->capacity, c2, sizeof(c2)), (double)hi->capacity / lo->capacity,
		       cap_x, flow_x,
		       cap_x < flow_x ? "the flows more than the capacity (goal met)"
				      : "the capacity as much as the flows (goal NOT met)");
	}
}

static int parse_list(const char *s, uint32_t *v, int max)
{
	int n = 0;
	char *end;

	while (*s && n < max) {
		double x = strtod(s, &end);

		if (end == s)
			return -1;
		if (*end == 'k')
			x *= 1000, end++;
		else if (*end == 'M')
			x *= 1000000, end++;
		if (x < 2 || x > (1u << 25))
			return -1;
		v[n++] = (uint32_t)x;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_sweep [-r reps] [-P phase_reps] [-c cpu] [-n N,N,...] [-k N] "
		"[-C CAP,CAP,...] [-m max_mem_mib] [-T seconds] [-A] [-p pin_path]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint32_t scale[MAX_CASES] = { 10000, 100000, 1000000, 4000000 };
	uint32_t caps[MAX_CASES] = { 131072, 1048576, 4194304 };
	uint32_t cap_flows = 100000;
	int n_scale = 4, n_caps = 3, opt, i;
	static struct result rs[MAX_CASES], rc[MAX_CASES];
	struct bench b = { .reps = 3, .phase_reps = 1, .cpu = -1 };

	while ((opt = getopt(argc, argv, "r:P:c:n:k:C:m:T:p:Ah")) != -1) {
		switch (opt) {
		case 'r': b.reps = strtoul(optarg, NULL, 0); break;
		case 'P': b.phase_reps = strtoul(optarg, NULL, 0); break;
		case 'c': b.cpu = strtol(optarg, NULL, 0); break;
		case 'n': n_scale = parse_list(optarg, scale, MAX_CASES); break;
		case 'k':
			if (parse_list(optarg, &cap_flows, 1) != 1)
				usage();
			break;
		case 'C': n_caps = parse_list(optarg, caps, MAX_CASES); break;
		case 'm': b.max_mem = strtoull(optarg, NULL, 0) << 20; break;
		case 'T': b.time_budget = strtod(optarg, NULL); break;
		case 'A': b.no_ahead = 1; break;
		case 'p': snprintf(b.pin_path, sizeof(b.pin_path), "%s", optarg); break;
		default: usage();
		}
	}
	if (b.reps < 1 || b.reps > MAX_REPS || b.phase_reps < 1 || b.phase_reps > MAX_REPS || n_scale < 0 || n_caps < 0 || cap_flows < 2)
		usage();
	for (i = 0; i < n_caps; i++)
		if (caps[i] < cap_flows + cap_flows / 4)
			usage();
	if (!b.pin_path[0])
		snprintf(b.pin_path, sizeof(b.pin_path), "/sys/fs/bpf/bpfix-bench-%d", (int)getpid());
	if (!b.max_mem)
		b.max_mem = (uint64_t)meminfo_kib("MemAvailable") * 1024 / 2;

	libbpf_set_print(print_libbpf);
	b.ncpus = libbpf_num_possible_cpus();
	b.keys = calloc(FILL_CHUNK, sizeof(*b.keys));
	b.values = calloc((size_t)FILL_CHUNK * (b.ncpus > 0 ? b.ncpus : 1), sizeof(*b.values));
	if (b.ncpus < 1 || !b.keys || !b.values)
		return 1;
	b.cpu = bench_pin_cpu("bench_sweep", b.cpu);
	if (b.cpu < 0)
		return 1;

	/* the largest cases last, so the time budget cuts them, not the rest */
	b.t_start = ts(CLOCK_MONOTONIC) / 1e9;
	for (i = 0; i < n_caps; i++)
		if (run_case(&b, cap_flows, caps[i], &rc[i]))
			return 1;
	for (i = 0; i < n_scale; i++) {
		if (run_case(&b, scale[i], scale[i] + scale[i] / 4, &rs[i]))
			return 1;
		/* the pace the time budget judges the next (larger) cases by */
		if (!rs[i].skipped && rs[i].elapsed_s * 1e9 / scale[i] > b.ns_per_flow)
			b.ns_per_flow = rs[i].elapsed_s * 1e9 / scale[i];
	}

	{
		double lmin = 1e9, lmax = -1;

		for (i = 0; i < n_scale + n_caps; i++) {
			const struct result *r = i < n_scale ? &rs[i] : &rc[i - n_scale];

			if (r->skipped)
				continue;
			lmin = r->load1 < lmin ? r->load1 : lmin;
			lmax = r->load1 > lmax ? r->load1 : lmax;
		}
		printf("Pinned to CPU %d; %d possible CPUs; `agent_sweep()`: median of %u sweeps "
		       "per case [min-max]; phase breakdown: %s %u. Load average (1 min) after "
		       "the cases: %.2f to %.2f.", b.cpu, b.ncpus, b.reps,
		       b.phase_reps > 1 ? "median of" : "one run of", b.phase_reps, lmin, lmax);
	}
	printf("\n\n**Against the number of flows** (capacity = flows x 5/4, as `--flows` "
	       "would be set for them):\n\n");
	print_sweep_table(rs, n_scale);
	printf("\n**Against the capacity** (%u flows; `--flows` sizes both kernel tables and "
	       "the agent's table):\n\n", cap_flows);
	print_sweep_table(rc, n_caps);
	printf("\n**By phase**, CPU ms (process CPU time: on a shared machine, steadier than "
	       "wall time). *kernel only* is `meter_drain()` with a callback "
	       "that does nothing: the batch lookup-and-delete system calls and the copy out. "
	       "The next two add the per-CPU merge and `agent_fold()` (the body of the "
	       "agent_drain_flow()), *new* with the agent's table empty, *existing* with the "
	       "conversations in it; *agent ns per flow* is their excess over the kernel's. "
	       "`flowtab_expire()` finds nothing due but visits every entry of the agent's "
	       "table. The sum leaves out what `agent_sweep()` adds (listening ports, the "
	       "outputs' tick).\n\n");
	print_phase_table(rs, n_scale, 1);
	print_phase_table(rc, n_caps, 0);
	printf("\n**Memory.** LRU hash maps are preallocated: the kernel tables cost their "
	       "capacity from load, whatever they hold; there are two (`flow_table_0`, "
	       "`flow_table_1`). Per-CPU values cost 64 bytes times the *possible* CPUs "
	       "(%d here; a 128-CPU node pays 8 KiB per entry per table for them):\n\n",
	       b.ncpus);
	print_memory_table(&b, rs, n_scale, 1);
	print_memory_table(&b, rc, n_caps, 0);
	print_verdicts(rs, n_scale, rc, n_caps);
	free(b.keys);
	free(b.values);
	return 0;
}
