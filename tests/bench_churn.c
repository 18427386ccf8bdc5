// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Churn benchmark (BENCHMARKS.md section 5): how many new flows per second
 * the meter and the agent take without losing one. tools/bench_agent.sh
 * runs it and pastes its standard output (markdown) into BENCHMARKS.md.
 *
 * The real programs and the real agent: agent_start() loads the skeleton
 * (tables sized by --flows, maps pinned under a private path, no interface
 * attached, one IPFIX file output to /dev/null), and this process runs the
 * agent's main loop (user/main.c: sleep until the next sweep, agent_sweep(),
 * the next sweep one interval later or a quarter of it when the agent asks
 * to hurry) on one CPU, while a generator thread on the other CPU runs
 * bpfix_xdp through BPF_PROG_TEST_RUN on ever-new flows (one 60-byte
 * IPv4/UDP frame each, source address and port counting up), paced to a
 * target rate. The rate ramps up linearly over the first RAMP_SWEEPS sweep
 * intervals (traffic grows; a jump from nothing to more than the tables
 * hold within one interval is lost whatever the agent does, as it only
 * learns of the load at the next sweep), then holds for DURATION seconds.
 *
 * Then the generator stops, two more sweeps drain both
 * tables, and the kernel's count of flows created (stats table_flows_*)
 * is compared with what the agent drained: the difference is what the LRU
 * evicted (the agent's own lost-flow count), plus insert failures. A rate
 * is lossless when nothing was lost and every packet sent is in a drained
 * flow. Rates go up geometrically until the first loss (or until the
 * generator cannot go faster), then bisect between the last lossless rate
 * and the first lossy one.
 *
 *   bench_churn [-a agent_cpu] [-g gen_cpu] [-d seconds] [-p pin_path]
 *               [-R rate] [FLOWS:SWEEP_MS ...]   (default: 65536:1000 65536:100)
 *     -R  run this one rate (flows/s, 0: flat out) instead of the search
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "bench.h"
#include "bpfix.skel.h"

#define MAX_CONFIGS  8
#define MAX_STEPS    24
#define START_RATE   20000.0
#define STEP_UP      1.5
#define BISECTIONS   3
#define FRAME_LEN    60
#define RAMP_SWEEPS  5

/* ---- generator ------------------------------------------------------------- */

struct gen {
	int prog_fd, cpu;
	double rate;			/* flows per second; 0: as fast as it goes */
	uint64_t ramp_ns, duration_ns;	/* ramp, then hold */
	volatile int done;
	/* results */
	uint64_t sent, errors;
	double achieved;		/* flows per second while holding the rate */
};

static void build_frame(uint8_t *buf, uint64_t i)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);

	memset(buf, 0, FRAME_LEN);
	eth->h_dest[0] = 0x02;
	eth->h_dest[5] = 0x02;
	eth->h_source[0] = 0x02;
	eth->h_source[5] = 0x01;
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(FRAME_LEN - sizeof(*eth));
	ip->daddr = htonl(0xc0a80001);
	udp->dest = htons(53);
	udp->len = htons(FRAME_LEN - sizeof(*eth) - sizeof(*ip));
	/* flow i: a source address and port of its own */
	ip->saddr = htonl(0x0a000000 | (uint32_t)(1 + (i >> 14)));
	udp->source = htons(1024 + (i & 0x3fff));
}

static void *gen_main(void *arg)
{
	struct gen *g = arg;
	uint8_t frame[FRAME_LEN], out[FRAME_LEN];
	uint64_t t0, now = 0, i = 0, hold_i = 0, hold_t = 0;
	int holding = 0;
	double due;

	if (bench_pin_cpu("bench_churn", g->cpu) < 0)
		fprintf(stderr, "bench_churn: generator: cpu %d: cannot pin\n", g->cpu);
	t0 = clock_mono_ns();
	for (;;) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = FRAME_LEN,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if ((i & 15) == 0) {
			now = clock_mono_ns() - t0;
			if (now >= g->ramp_ns + g->duration_ns)
				break;
			if (now >= g->ramp_ns && !holding) {
				holding = 1;
				hold_t = now;
				hold_i = i;
			}
			/* frames due by now: the integral of the ramp, then the rate */
			if (now < g->ramp_ns)
				due = g->rate * ((double)now / 1e9) * ((double)now / g->ramp_ns) / 2;
			else
				due = g->rate * ((now - g->ramp_ns / 2) / 1e9);
			/* ahead of the target: wait a little */
			if (g->rate > 0 && i > due) {
				struct timespec ts = { 0, 50000 };

				nanosleep(&ts, NULL);
				continue;
			}
		}
		build_frame(frame, i);
		if (bpf_prog_test_run_opts(g->prog_fd, &opts) || opts.retval != XDP_PASS)
			g->errors++;
		i++;
	}
	g->sent = i;
	g->achieved = holding && now > hold_t ? (i - hold_i) / ((now - hold_t) / 1e9) : 0;
	g->done = 1;
	return NULL;
}

/* ---- one rate -------------------------------------------------------------- */

struct step {
	double target, achieved;
	uint64_t sent, packets, created, drained, lost, insert_failed, errors;
	uint64_t sweeps, hurried, max_per_sweep;
	double max_sweep_ms, max_gap_ms;
	int lossless, exact;
};

struct opts {
	int agent_cpu, gen_cpu;
	unsigned int seconds;
	double only_rate;		/* -R: one step at this rate; < 0: search */
	char pin_path[PATH_MAX];
};

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void sleep_until_ms(uint64_t deadline_ms, volatile int *stop)
{
	struct timespec ts = {
		.tv_sec = deadline_ms / 1000,
		.tv_nsec = (deadline_ms % 1000) * 1000000,
	};

	(void)stop;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int run_step(const struct opts *o, uint32_t flows, uint32_t sweep_ms, double rate,
		    struct step *s)
{
	static struct bpfix_config cfg;
	static struct agent a;
	struct bpfix_stats end;
	struct gen g = { 0 };
	pthread_t th;
	char err[512] = "";
	uint64_t next, before, last_sweep = 0, t;
	int i, ret = -1;

	memset(s, 0, sizeof(*s));
	s->target = rate;
	config_defaults(&cfg);
	cfg.flows = flows;
	cfg.sweep_interval_ms = sweep_ms;
	cfg.mode = MODE_XDP;
	cfg.n_ifaces = 0;
	cfg.n_collectors = 1;
	if (config_parse_collector("file:/dev/null", &cfg.collectors[0], err, sizeof(err))) {
		fprintf(stderr, "bench_churn: %s\n", err);
		return -1;
	}
	snprintf(cfg.pin_path, sizeof(cfg.pin_path), "%s", o->pin_path);
	if (agent_start(&a, &cfg, err, sizeof(err))) {
		fprintf(stderr, "bench_churn: agent_start: %s\n", err);
		return -1;
	}

	g.prog_fd = bpf_program__fd(a.meter.skel->progs.bpfix_xdp);
	g.cpu = o->gen_cpu;
	g.rate = rate;
	g.ramp_ns = rate > 0 ? (uint64_t)RAMP_SWEEPS * sweep_ms * 1000000 : 0;
	g.duration_ns = (uint64_t)o->seconds * 1000000000;
	if (pthread_create(&th, NULL, gen_main, &g)) {
		fprintf(stderr, "bench_churn: cannot start the generator\n");
		goto out;
	}

	/* user/main.c's loop */
	next = clock_mono_ms() + cfg.sweep_interval_ms;
	while (!g.done) {
		sleep_until_ms(next, &g.done);
		t = clock_mono_ns();
		if (last_sweep && (t - last_sweep) / 1e6 > s->max_gap_ms)
			s->max_gap_ms = (t - last_sweep) / 1e6;
		last_sweep = t;
		before = a.drained_flows;
		if (agent_sweep(&a))
			fprintf(stderr, "bench_churn: sweep failed\n");
		s->sweeps++;
		if (a.drained_flows - before > s->max_per_sweep)
			s->max_per_sweep = a.drained_flows - before;
		if (a.hurry)
			s->hurried++;
		next = agent_next_sweep_ms(&a, next);
	}
	pthread_join(th, NULL);
	/* drain both tables: everything sent is now in the agent */
	for (i = 0; i < FLOW_TABLES; i++)
		agent_sweep(&a);
	if (meter_read_stats(&a.meter, &end))
		goto out;

	s->achieved = g.achieved;
	s->sent = g.sent;
	s->errors = g.errors;
	s->packets = end.packets - a.start.packets;
	s->created = end.table_flows_0 + end.table_flows_1 - a.start.table_flows_0 -
		     a.start.table_flows_1;
	s->drained = a.drained_flows;
	s->lost = a.lost_flows;
	s->insert_failed = end.insert_failed - a.start.insert_failed;
	s->max_sweep_ms = a.sweep_ns_max / 1e6;
	s->lossless = !s->lost && !s->insert_failed && !s->errors &&
		      a.drained_packets == s->sent && s->drained == s->sent;
	/* the agent's accounting adds up either way */
	s->exact = s->created == s->drained + s->lost && s->packets == s->sent &&
		   a.drained_packets + a.lost_packets +
		   (end.insert_failed_packets - a.start.insert_failed_packets) == s->sent;
	ret = 0;
out:
	agent_stop(&a, NULL);
	return ret;
}

/* ---- search and report --------------------------------------------------------- */

static void print_step(const struct step *s)
{
	printf("| %.0fk | %.0fk | %llu | %llu | %llu | %llu | %llu | %llu (%llu hurried) "
	       "| %llu | %.0f | %.1f | %s%s |\n",
	       s->target / 1e3, s->achieved / 1e3, (unsigned long long)s->sent,
	       (unsigned long long)s->created, (unsigned long long)s->drained,
	       (unsigned long long)s->lost, (unsigned long long)s->insert_failed,
	       (unsigned long long)s->sweeps, (unsigned long long)s->hurried,
	       (unsigned long long)s->max_per_sweep, s->max_gap_ms, s->max_sweep_ms,
	       s->lossless ? "no loss" : "**loss**", s->exact ? "" : ", accounting OFF");
}

static void print_header(void)
{
	printf("| target flows/s | reached | flows sent | created in kernel | drained | "
	       "lost (LRU) | insert failed | sweeps | most flows in one sweep | longest gap "
	       "between sweeps, ms | longest sweep, ms | result |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
}

static int cmp_step(const void *x, const void *y)
{
	const struct step *a = x, *b = y;

	return (a->target > b->target) - (a->target < b->target);
}

static int run_config(const struct opts *o, uint32_t flows, uint32_t sweep_ms)
{
	struct step st[MAX_STEPS], maxrun;
	double rate = START_RATE, ok = 0, bad = 0, ok_achieved = 0;
	int n = 0, i;

	/* what the generator does flat out (it is also a step) */
	fprintf(stderr, "bench_churn: --flows %u, sweep %u ms: generator flat out\n", flows,
		sweep_ms);
	if (run_step(o, flows, sweep_ms, 0, &maxrun))
		return -1;
	/* geometric up to the first loss */
	while (n < MAX_STEPS) {
		if (rate > maxrun.achieved * 0.95)
			break;	/* the generator cannot pace it */
		fprintf(stderr, "bench_churn: --flows %u, sweep %u ms: %.0f flows/s\n", flows,
			sweep_ms, rate);
		if (run_step(o, flows, sweep_ms, rate, &st[n]))
			return -1;
		if (!st[n].lossless || st[n].achieved < rate * 0.95) {
			bad = rate;
			n++;
			break;
		}
		ok = rate;
		ok_achieved = st[n].achieved;
		n++;
		rate *= STEP_UP;
	}
	/* bisect */
	for (i = 0; bad > 0 && i < BISECTIONS && n < MAX_STEPS; i++) {
		rate = (ok + bad) / 2;
		fprintf(stderr, "bench_churn: --flows %u, sweep %u ms: %.0f flows/s\n", flows,
			sweep_ms, rate);
		if (run_step(o, flows, sweep_ms, rate, &st[n]))
			return -1;
		if (st[n].lossless && st[n].achieved >= rate * 0.95) {
			ok = rate;
			ok_achieved = st[n].achieved;
		} else {
			bad = rate;
		}
		n++;
	}
	qsort(st, n, sizeof(st[0]), cmp_step);

	printf("\n**`--flows %u`, sweep interval %u ms** (kernel tables of %u flows; "
	       "capacity / interval = %.0fk new flows per s):\n\n", flows, sweep_ms, flows,
	       flows / (sweep_ms / 1e3) / 1e3);
	print_header();
	for (i = 0; i < n; i++)
		print_step(&st[i]);
	maxrun.target = 0;
	printf("| flat out | %.0fk | %llu | %llu | %llu | %llu | %llu | %llu (%llu hurried) | "
	       "%llu | %.0f | %.1f | %s%s |\n", maxrun.achieved / 1e3,
	       (unsigned long long)maxrun.sent, (unsigned long long)maxrun.created,
	       (unsigned long long)maxrun.drained, (unsigned long long)maxrun.lost,
	       (unsigned long long)maxrun.insert_failed, (unsigned long long)maxrun.sweeps,
	       (unsigned long long)maxrun.hurried, (unsigned long long)maxrun.max_per_sweep,
	       maxrun.max_gap_ms, maxrun.max_sweep_ms,
	       maxrun.lossless ? "no loss" : "**loss**", maxrun.exact ? "" : ", accounting OFF");
	printf("\n");
	if (bad > 0)
		printf("Highest lossless rate found: **%.0fk new flows/s** (reached %.0fk); "
		       "loss from %.0fk/s.\n", ok / 1e3, ok_achieved / 1e3, bad / 1e3);
	else
		printf("No loss at any paced rate: **%.0fk new flows/s** is the highest tried "
		       "(reached %.0fk); the generator cannot pace much faster: flat out it makes "
		       "%.0fk/s, %s.\n", ok / 1e3, ok_achieved / 1e3, maxrun.achieved / 1e3,
		       maxrun.lossless ? "without loss either"
		       : "with loss, but from the first packet on, without the ramp that gives "
			 "the agent a sweep interval to notice");
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_churn [-a agent_cpu] [-g gen_cpu] [-d seconds] "
		"[-p pin_path] [-R rate] [FLOWS:SWEEP_MS ...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .agent_cpu = 0, .gen_cpu = 1, .seconds = 4, .only_rate = -1 };
	uint32_t flows[MAX_CONFIGS] = { 65536, 65536 }, sweep[MAX_CONFIGS] = { 1000, 100 };
	int n = 2, opt, i;

	while ((opt = getopt(argc, argv, "a:g:d:p:R:h")) != -1) {
		switch (opt) {
		case 'a': o.agent_cpu = strtol(optarg, NULL, 0); break;
		case 'g': o.gen_cpu = strtol(optarg, NULL, 0); break;
		case 'd': o.seconds = strtoul(optarg, NULL, 0); break;
		case 'p': snprintf(o.pin_path, sizeof(o.pin_path), "%s", optarg); break;
		case 'R': o.only_rate = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (optind < argc) {
		for (n = 0; optind < argc && n < MAX_CONFIGS; optind++, n++)
			if (sscanf(argv[optind], "%u:%u", &flows[n], &sweep[n]) != 2 ||
			    flows[n] < 1024 || sweep[n] < 4)
				usage();
	}
	if (!o.seconds)
		usage();
	if (!o.pin_path[0])
		snprintf(o.pin_path, sizeof(o.pin_path), "/sys/fs/bpf/bpfix-bench-%d",
			 (int)getpid());
	libbpf_set_print(print_libbpf);
	if (bench_pin_cpu("bench_churn", o.agent_cpu) < 0) {
		fprintf(stderr, "bench_churn: cpu %d: cannot pin\n", o.agent_cpu);
		return 1;
	}

	printf("Agent (sweeps, expiry, IPFIX to /dev/null) on CPU %d, generator "
	       "(`BPF_PROG_TEST_RUN` of `bpfix_xdp`, one new flow per frame) on CPU %d; "
	       "each rate ramps up over %d sweep intervals, then holds for %u s (*reached*: "
	       "the rate while holding); *flat out*: no pacing, no ramp; *lossless*: no flow lost or failed and every frame sent is "
	       "in a drained flow; the accounting check (created = drained + lost, packets "
	       "seen = sent) must hold at every rate.\n", o.agent_cpu, o.gen_cpu, RAMP_SWEEPS,
	       o.seconds);
	for (i = 0; i < n; i++) {
		struct step st;

		if (o.only_rate < 0) {
			if (run_config(&o, flows[i], sweep[i]))
				return 1;
			continue;
		}
		if (run_step(&o, flows[i], sweep[i], o.only_rate, &st))
			return 1;
		printf("\n**`--flows %u`, sweep interval %u ms**, one rate:\n\n", flows[i],
		       sweep[i]);
		print_header();
		print_step(&st);
	}
	return 0;
}
