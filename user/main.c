// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfix: meter flows in the kernel, expire them exactly, print or export.
 * Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 2 for a usage
 * error, 1 for a run-time error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "metrics.h"
#include "privs.h"
#include "top.h"

#define EXIT_USAGE   2
#define EXIT_RUNTIME 1
#define VERBOSE_EVERY_MS 5000

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t stop_now;	/* a second signal: do not wait at exit */
static int verbosity;

static void on_signal(int sig)
{
	if (stop_signal)
		stop_now = 1;
	stop_signal = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's own lines (probes that fail by design included) only
	 * with -vv; our errors say what went wrong in one line. */
	(void)level;
	if (verbosity < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}


int main(int argc, char **argv)
{
	static struct bpfix_config cfg;
	static struct agent agent;
	static struct metrics_snapshot snap;	/* main thread's; metrics_publish copies it */
	struct metrics *metrics;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t stop_set, wait_mask;
	char err[512] = "";
	uint64_t next, next_verbose;
	int ret;

	/* Subcommands: tools beside the agent, with options of their own. */
	if (argc > 1 && !strcmp(argv[1], "top"))
		return top_main(argc - 1, argv + 1);

	ret = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (ret == CONFIG_HELP) {
		config_usage(stdout);
		return 0;
	}
	if (ret == CONFIG_VERSION) {
		printf("bpfix %s (kernel/agent ABI %d)\n", BPFIX_VERSION, BPFIX_ABI_VERSION);
		return 0;
	}
	if (ret) {
		fprintf(stderr, "bpfix: %s\n", err);
		return EXIT_USAGE;
	}
	if (!cfg.n_ifaces && !cfg.n_match) {
		if (config_default_iface(&cfg.ifaces[0], err, sizeof(err))) {
			fprintf(stderr, "bpfix: %s\n", err);
			return EXIT_USAGE;
		}
		cfg.n_ifaces = 1;
	}
	/* --memory -> --flows for this machine's possible CPUs: a budget
	 * too small is a usage error, before anything is touched. */
	ret = budget_configure(&cfg, libbpf_num_possible_cpus(), err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bpfix: %s\n", err);
		return ret == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	verbosity = cfg.verbose;
	libbpf_set_print(libbpf_print);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Listening first: a port in use fails before anything is attached. */
	metrics = metrics_open(&cfg, err, sizeof(err));
	if (!metrics && cfg.metrics[0]) {
		fprintf(stderr, "bpfix: %s\n", err);
		return EXIT_RUNTIME;
	}
	ret = agent_start(&agent, &cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bpfix: %s\n", err);
		metrics_close(metrics);
		return EXIT_RUNTIME;
	}
	/* Loaded, attached, pinned, outputs open: what is left needs only
	 * CAP_BPF (map operations) and CAP_NET_ADMIN (detaching). */
	if (privs_drop(err, sizeof(err)))
		fprintf(stderr, "bpfix: warning: cannot drop capabilities: %s\n", err);
	if (metrics) {
		agent_snapshot(&agent, &snap);
		metrics_publish(metrics, &snap);
		if (metrics_start(metrics, err, sizeof(err))) {
			fprintf(stderr, "bpfix: %s\n", err);
			agent_stop(&agent, &stop_now);
			metrics_close(metrics);
			return EXIT_RUNTIME;
		}
	}
	if (cfg.verbose) {
		int i;

		fprintf(stderr, "bpfix: metering");
		for (i = 0; i < agent.meter.n_att; i++)
			fprintf(stderr, " %s", agent.meter.att[i].name);
		fprintf(stderr, " (%s)%s; maps pinned at %s\n",
			cfg.mode == MODE_XDP ? "xdp" : cfg.mode == MODE_XDP_GENERIC ? "xdp-generic"
			: !agent.meter.tcx ? "tc, legacy filters"
			: cfg.tc_position == TC_POS_FIRST ? "tc, TCX links first" : "tc, TCX links last",
			agent.meter.adopted ? ", adopted an earlier run's tables" : "",
			cfg.pin_path);
		budget_print(stderr, &cfg.mem);
	}

	/* The one place that waits: until the next sweep, or sooner when an
	 * output's pacer has a message due or a reader took more. SIGINT and
	 * SIGTERM are let in only while it waits (and are never lost: one
	 * that came before is pending, and ends the wait at once). */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_set, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	agent.wait_mask = &wait_mask;
	next = clock_mono_ms() + cfg.sweep_interval_ms;
	next_verbose = clock_mono_ms() + VERBOSE_EVERY_MS;
	while (!stop_signal) {
		uint64_t wake = agent_pump(&agent);

		metrics_alive(metrics);
		if (wake > next * 1000000)
			wake = next * 1000000;
		agent_wait(&agent, wake);
		if (stop_signal)
			break;
		agent_follow(&agent);
		if (agent_outputs_gone(&agent)) {
			fprintf(stderr, "bpfix: no output left: stopping as on SIGTERM\n");
			break;
		}
		if (clock_mono_ms() < next)
			continue;
		ret = agent_sweep(&agent);
		if (ret)
			fprintf(stderr, "bpfix: sweep: %s\n", strerror(-ret));
		if (metrics) {
			agent_snapshot(&agent, &snap);
			metrics_publish(metrics, &snap);
			metrics_ready(metrics);
		}
		next = agent_next_sweep_ms(&agent, next);
		if (cfg.verbose && clock_mono_ms() >= next_verbose) {
			agent_print_counters(&agent, stderr, "running");
			next_verbose += VERBOSE_EVERY_MS;
		}
	}
	metrics_stopping(metrics);
	/* An output that kept failing (a full disk, /dev/full) was said on
	 * stderr; its records are counted as not sent. */
	ret = agent_stop(&agent, &stop_now);
	metrics_close(metrics);
	return ret ? EXIT_RUNTIME : 0;
}
