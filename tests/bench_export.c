// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Export benchmark (BENCHMARKS.md section 4): how fast the agent turns flow
 * records into IPFIX, on one core, and how many instructions a record
 * takes. tools/bench_agent.sh runs it and pastes its standard output
 * (markdown) into BENCHMARKS.md.
 *
 *  - encoder: ipfix_msg_add_flow() into a memory buffer; when a record does
 *    not fit, ipfix_msg_finish() and ipfix_msg_reset() as the exporter does,
 *    and nothing is sent. Messages of 1472 octets (UDP over IPv4 at the
 *    default --ipfix-mtu 1500) and 16384 (TCP and file collectors).
 *  - exporter: the agent's IPFIX output to file:/dev/null through its
 *    record() callback (encoder, message flushes, stdio writes).
 *  - formatters: flow_format_text() and flow_format_json() into a buffer,
 *    what stdout output costs before the write.
 * Records: 1024 distinct records of each kind (IPv4 and IPv6, uniflow and
 * biflow, TCP/UDP/ICMP), and the mix of all four kinds interleaved. Each
 * figure is the median of REPS runs of about RUN_NS each, pinned to one CPU;
 * records per second are per CPU second of the process
 * (CLOCK_PROCESS_CPUTIME_ID) and per wall second.
 *
 * Instructions per record: the program runs itself under
 * `valgrind --tool=callgrind --collect-atstart=no` with CALLGRIND_TOGGLE_COLLECT
 * around the encoding loop only, CALLGRIND_N records, and divides the Ir
 * total by the records; the functions callgrind saw in the loop tell
 * whether anything was allocated there.
 *
 *   bench_export [-c cpu] [-r reps] [-t run_ms] [-n callgrind_records]
 *   bench_export -V KIND -n N     (the child run under callgrind)
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <valgrind/callgrind.h>

#include "bench.h"
#include "config.h"
#include "ipfix.h"
#include "output.h"

#define NREC          1024		/* distinct records per kind (power of two) */
#define MAX_REPS      15
#define MSG_UDP       1472
#define MSG_STREAM    16384
#define GOAL_RPS      10e6
#define CALLGRIND_N   100000

enum kind { K_V4_UNI, K_V4_BI, K_V6_UNI, K_V6_BI, K_MIX, KINDS };
static const char *const kind_name[KINDS] = {
	"IPv4 uniflow", "IPv4 biflow", "IPv6 uniflow", "IPv6 biflow", "mix (1/4 each)",
};
static const char *const kind_arg[KINDS] = { "v4", "v4bi", "v6", "v6bi", "mix" };

enum job { J_ENC_UDP, J_ENC_STREAM, J_OUTPUT, J_TEXT, J_JSON, JOBS };
static const char *const job_name[JOBS] = {
	"IPFIX encoder, 1472-octet messages",
	"IPFIX encoder, 16384-octet messages",
	"IPFIX output to file:/dev/null",
	"text formatter",
	"JSON formatter",
};

static struct flow_record recs[KINDS][NREC];

/* ---- records ---------------------------------------------------------------- */

static void make_side(struct flow_side *s, uint32_t i, int dir, uint64_t t0)
{
	memset(s, 0, sizeof(*s));
	s->packets = 1 + (i * 7 + dir) % 1000;
	s->octets = s->packets * (60 + i % 1400);
	s->l2_octets = s->octets + 14 * s->packets;
	s->first_ms = t0 + i % 977 + dir;
	s->last_ms = s->first_ms + 1000 + i % 5000;
	s->first_ns = s->first_ms * 1000000;
	s->ifindex = 2 + i % 3;
	s->direction = dir ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS;
	s->min_ip_len = 40;
	s->max_ip_len = 60 + i % 1400;
	s->tcp_flags = TCP_FLAG_ACK | TCP_FLAG_PSH | (dir ? 0 : TCP_FLAG_SYN);
	s->tcp_syn = dir ? TCP_SYNACK_SEEN : TCP_SYN_SEEN;
	s->min_ttl = 60;
	s->max_ttl = 64;
	s->tos = i % 4;
	s->flow_label = i & 0xfffff;
}

static void make_record(struct flow_record *r, enum kind k, uint32_t i, uint64_t t0)
{
	struct flow_key *key = &r->key;
	int v6 = k == K_V6_UNI || k == K_V6_BI;

	memset(r, 0, sizeof(*r));
	key->ifindex = 2 + i % 3;
	key->ip_version = v6 ? 6 : 4;
	key->ether_type = v6 ? 0x86dd : 0x0800;
	key->protocol = i % 8 == 7 ? (v6 ? 58 : 1) : i % 3 ? 6 : 17;
	key->vlan_outer = i % 5 ? 0 : 100;
	if (v6) {
		key->src.ip6[0] = 0x20;
		key->src.ip6[1] = 0x01;
		key->src.words[3] = htonl(i + 1);
		key->dst.ip6[0] = 0x20;
		key->dst.ip6[1] = 0x01;
		key->dst.words[2] = htonl(i * 2654435761u);
	} else {
		key->src.ip4 = htonl(0x0a000000 | (i + 1));
		key->dst.ip4 = htonl(0xc0a80000 | (i * 37 % 65536));
	}
	if (key->protocol == 1 || key->protocol == 58) {
		key->dst_port = (key->protocol == 1 ? 8 : 128) << 8;
	} else {
		key->src_port = 1024 + i % 60000;
		key->dst_port = key->protocol == 6 ? 443 : 53;
	}
	r->end_reason = 1 + i % 5;
	r->biflow = k == K_V4_BI || k == K_V6_BI;
	r->biflow_direction = r->biflow ? BIFLOW_INITIATOR : 0;
	make_side(&r->fwd, i, 0, t0);
	if (r->biflow)
		make_side(&r->rev, i, 1, t0);
}

static void make_records(void)
{
	uint64_t t0 = 1795000000000ull;	/* ms, a fixed date */
	uint32_t i;
	int k;

	for (k = 0; k < K_MIX; k++)
		for (i = 0; i < NREC; i++)
			make_record(&recs[k][i], k, i, t0);
	/* the mix: the four kinds in turn */
	for (i = 0; i < NREC; i++)
		recs[K_MIX][i] = recs[i % 4][i];
}

/* ---- the loops --------------------------------------------------------------- */

static uint8_t msgbuf[IPFIX_MSG_MAX];
static char line[4096];
static volatile uint64_t sink;

/* Encode @n records of @rs into messages of @cap octets; returns octets. */
static uint64_t encode(const struct flow_record *rs, uint64_t n, size_t cap)
{
	struct ipfix_msg m;
	uint64_t i, octets = 0;
	uint32_t seq = 0;

	ipfix_msg_init(&m, msgbuf, cap, 1);
	for (i = 0; i < n; i++) {
		const struct flow_record *r = &rs[i & (NREC - 1)];

		if (ipfix_msg_add_flow(&m, r) == -ENOSPC) {
			octets += ipfix_msg_finish(&m, 1795000000, seq);
			seq += m.records;
			ipfix_msg_reset(&m);
			ipfix_msg_add_flow(&m, r);
		}
	}
	octets += ipfix_msg_finish(&m, 1795000000, seq);
	return octets;
}

static uint64_t format(const struct flow_record *rs, uint64_t n, int json)
{
	uint64_t i, len = 0;

	for (i = 0; i < n; i++)
		len += json ? flow_format_json(&rs[i & (NREC - 1)], line, sizeof(line))
			    : flow_format_text(&rs[i & (NREC - 1)], line, sizeof(line));
	return len;
}

static struct output *devnull_output(void)
{
	static struct bpfix_config cfg;
	char err[256];
	struct output *o;

	config_defaults(&cfg);
	cfg.n_collectors = 1;
	if (config_parse_collector("file:/dev/null", &cfg.collectors[0], err, sizeof(err))) {
		fprintf(stderr, "bench_export: %s\n", err);
		return NULL;
	}
	o = output_ipfix_open(&cfg.collectors[0], &cfg, err, sizeof(err));
	if (!o)
		fprintf(stderr, "bench_export: %s\n", err);
	return o;
}

static uint64_t output_run(struct output *o, const struct flow_record *rs, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		o->ops->record(o, &rs[i & (NREC - 1)]);
	return n;
}

static uint64_t run_job(enum job j, const struct flow_record *rs, uint64_t n, struct output *o)
{
	switch (j) {
	case J_ENC_UDP:    return encode(rs, n, MSG_UDP);
	case J_ENC_STREAM: return encode(rs, n, MSG_STREAM);
	case J_OUTPUT:     return output_run(o, rs, n);
	case J_TEXT:       return format(rs, n, 0);
	case J_JSON:       return format(rs, n, 1);
	default:           return 0;
	}
}

/* ---- timing -------------------------------------------------------------------- */

static uint64_t ts(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct rate {
	double cpu_rps, wall_rps;	/* medians */
	double bytes_per_rec;
};

/* Records per second of job @j on kind @k: calibrate the count to about
 * @run_ns, then @reps timed runs. */
static struct rate measure(enum job j, enum kind k, unsigned int reps, uint64_t run_ns,
			   struct output *o)
{
	double cpu[MAX_REPS], wall[MAX_REPS];
	uint64_t n = 1024, c0, w0, dt, bytes = 0;
	struct rate r;
	unsigned int i;

	/* calibrate (and warm up) */
	for (;;) {
		c0 = ts(CLOCK_PROCESS_CPUTIME_ID);
		sink += run_job(j, recs[k], n, o);
		dt = ts(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (dt >= run_ns / 8)
			break;
		n *= 2;
	}
	n = n * run_ns / (dt ? dt : 1) + 1;
	for (i = 0; i < reps; i++) {
		w0 = ts(CLOCK_MONOTONIC);
		c0 = ts(CLOCK_PROCESS_CPUTIME_ID);
		bytes = run_job(j, recs[k], n, o);
		cpu[i] = n / ((ts(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9);
		wall[i] = n / ((ts(CLOCK_MONOTONIC) - w0) / 1e9);
		sink += bytes;
	}
	r.cpu_rps = bench_median(cpu, reps);
	r.wall_rps = bench_median(wall, reps);
	r.bytes_per_rec = (double)bytes / n;
	return r;
}

/* ---- callgrind ----------------------------------------------------------------- */

/* The child: @n records of kind @k through job @j, collected alone. */
static int callgrind_child(enum job j, enum kind k, uint64_t n)
{
	struct output *o = j == J_OUTPUT ? devnull_output() : NULL;

	if (j == J_OUTPUT && !o)
		return 1;
	sink += run_job(j, recs[k], 1024, o);	/* first-use setup outside */
	CALLGRIND_TOGGLE_COLLECT;
	sink += run_job(j, recs[k], n, o);
	CALLGRIND_TOGGLE_COLLECT;
	return 0;
}

struct ir {
	double per_record;	/* -1: not measured */
	int allocs;		/* an allocator was called in the loop */
};

static struct ir callgrind(enum job j, enum kind k, uint64_t n)
{
	char out[] = "/tmp/bpfix-bench-callgrind-XXXXXX", exe[4096], nbuf[32], jbuf[8];
	char line_buf[4096];
	struct ir r = { -1, 0 };
	ssize_t len;
	pid_t pid;
	int fd, st;
	FILE *f;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	fd = mkstemp(out);
	if (len <= 0 || fd < 0)
		return r;
	close(fd);
	exe[len] = '\0';
	snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)n);
	snprintf(jbuf, sizeof(jbuf), "%d", j);
	pid = fork();
	if (pid == 0) {
		char of[sizeof(out) + 32];

		snprintf(of, sizeof(of), "--callgrind-out-file=%s", out);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("valgrind", "valgrind", "--tool=callgrind", "--collect-atstart=no", of,
		       exe, "-V", kind_arg[k], "-J", jbuf, "-n", nbuf, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(out);
		return r;
	}
	f = fopen(out, "r");
	if (f) {
		while (fgets(line_buf, sizeof(line_buf), f)) {
			unsigned long long ir;

			if (sscanf(line_buf, "totals: %llu", &ir) == 1 ||
			    sscanf(line_buf, "summary: %llu", &ir) == 1)
				r.per_record = (double)ir / n;
			/* function names appear once, as "fn=(id) name" */
			if ((!strncmp(line_buf, "fn=", 3) || !strncmp(line_buf, "cfn=", 4)) &&
			    (strstr(line_buf, "malloc") || strstr(line_buf, "calloc") ||
			     strstr(line_buf, "realloc") || strstr(line_buf, " free")))
				r.allocs = 1;
		}
		fclose(f);
	}
	unlink(out);
	return r;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: bench_export [-c cpu] [-r reps] [-t run_ms] [-n callgrind_records]\n");
	exit(2);
}

static double mrps(double v)
{
	return v / 1e6;
}

int main(int argc, char **argv)
{
	unsigned int reps = 5, run_ms = 200;
	uint64_t cg_n = CALLGRIND_N;
	int cpu = -1, opt, child_kind = -1, child_job = J_ENC_UDP, k, j, have_vg;
	static struct rate rate[JOBS][KINDS];
	static struct ir ir[JOBS][KINDS];
	struct output *o;

	while ((opt = getopt(argc, argv, "c:r:t:n:V:J:h")) != -1) {
		switch (opt) {
		case 'c': cpu = strtol(optarg, NULL, 0); break;
		case 'r': reps = strtoul(optarg, NULL, 0); break;
		case 't': run_ms = strtoul(optarg, NULL, 0); break;
		case 'n': cg_n = strtoull(optarg, NULL, 0); break;
		case 'J': child_job = strtol(optarg, NULL, 0); break;
		case 'V':
			for (k = 0; k < KINDS; k++)
				if (!strcmp(optarg, kind_arg[k]))
					child_kind = k;
			if (child_kind < 0)
				usage();
			break;
		default: usage();
		}
	}
	if (reps < 1 || reps > MAX_REPS || !run_ms || !cg_n || child_job < 0 || child_job >= JOBS)
		usage();
	make_records();
	if (child_kind >= 0)
		return callgrind_child(child_job, child_kind, cg_n);

	cpu = bench_pin_cpu("bench_export", cpu);
	if (cpu < 0)
		return 1;
	o = devnull_output();
	if (!o)
		return 1;
	for (j = 0; j < JOBS; j++) {
		fprintf(stderr, "bench_export: %s\n", job_name[j]);
		for (k = 0; k < KINDS; k++)
			rate[j][k] = measure(j, k, reps, (uint64_t)run_ms * 1000000, o);
	}
	o->ops->close(o, NULL);

	have_vg = !system("valgrind --version >/dev/null 2>&1");
	for (j = 0; j < JOBS; j++)
		for (k = 0; k < KINDS; k++) {
			ir[j][k].per_record = -1;
			/* formatters: the mix only; callgrind is slow */
			if (!have_vg || ((j == J_TEXT || j == J_JSON) && k != K_MIX))
				continue;
			fprintf(stderr, "bench_export: callgrind, %s, %s\n", job_name[j],
				kind_name[k]);
			ir[j][k] = callgrind(j, k, j >= J_TEXT ? cg_n / 10 : cg_n);
		}

	printf("Pinned to CPU %d; median of %u runs of about %u ms per figure; records per "
	       "second of process CPU time (and of wall time). Ir: instructions per record "
	       "under callgrind (%llu records, %llu for the formatters, collection "
	       "toggled around the loop only).\n\n", cpu, reps, run_ms,
	       (unsigned long long)cg_n, (unsigned long long)cg_n / 10);
	printf("| records | %s, M/s (wall) | Ir | octets per record | %s, M/s | Ir | "
	       "%s, M/s | Ir |\n", job_name[J_ENC_UDP], job_name[J_ENC_STREAM],
	       job_name[J_OUTPUT]);
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < KINDS; k++) {
		printf("| %s | **%.1f** (%.1f) | %.0f | %.1f | %.1f | %.0f | %.1f | %.0f |\n",
		       kind_name[k], mrps(rate[J_ENC_UDP][k].cpu_rps),
		       mrps(rate[J_ENC_UDP][k].wall_rps), ir[J_ENC_UDP][k].per_record,
		       rate[J_ENC_UDP][k].bytes_per_rec, mrps(rate[J_ENC_STREAM][k].cpu_rps),
		       ir[J_ENC_STREAM][k].per_record, mrps(rate[J_OUTPUT][k].cpu_rps),
		       ir[J_OUTPUT][k].per_record);
	}
	printf("\nFor comparison, stdout output's formatters (into a buffer, no write):\n\n");
	printf("| records | text, M/s (wall) | JSON, M/s (wall) | Ir text / JSON (mix) |\n");
	printf("|---|---:|---:|---:|\n");
	for (k = 0; k < KINDS; k++) {
		printf("| %s | %.2f (%.2f) | %.2f (%.2f) |", kind_name[k],
		       mrps(rate[J_TEXT][k].cpu_rps), mrps(rate[J_TEXT][k].wall_rps),
		       mrps(rate[J_JSON][k].cpu_rps), mrps(rate[J_JSON][k].wall_rps));
		if (k == K_MIX && ir[J_TEXT][k].per_record >= 0)
			printf(" %.0f / %.0f |\n", ir[J_TEXT][k].per_record,
			       ir[J_JSON][k].per_record);
		else
			printf(" |\n");
	}
	{
		int allocs = 0, measured = 0;

		for (j = J_ENC_UDP; j <= J_ENC_STREAM; j++)
			for (k = 0; k < KINDS; k++) {
				allocs |= ir[j][k].allocs;
				measured |= ir[j][k].per_record >= 0;
			}
		if (measured)
			printf("\nAllocator calls inside the encoding loop (callgrind's function "
			       "list): %s.\n", allocs ? "**some**" : "none");
		else
			printf("\nInstructions per record: not measured (valgrind not found).\n");
	}
	printf("\nEncoder, mix, 1472-octet messages: **%.1fM records/s** per CPU second "
	       "(goal: at least %.0fM): %s.\n", mrps(rate[J_ENC_UDP][K_MIX].cpu_rps),
	       GOAL_RPS / 1e6, rate[J_ENC_UDP][K_MIX].cpu_rps >= GOAL_RPS ? "met" : "NOT met");
	return 0;
}
