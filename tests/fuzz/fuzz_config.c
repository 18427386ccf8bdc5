// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The command line: bytes -> argv -> config_parse(). An input with a NUL
 * splits on NULs (arguments may then hold spaces and newlines, as a shell
 * can pass them); one without splits on white space, which is how the seeds
 * and tests/fuzz/config.dict read.
 *
 * Whatever the arguments: no crash, no leak, nothing printed by the parser
 * itself, and either one error line (fuzz_check_err) or a configuration
 * that keeps every rule the parser promises (check_config): values in their
 * ranges, the active timeout not below the idle one, the sweep not longer
 * than the idle timeout, interfaces that exist and are named once,
 * collectors made of the pieces of their URI. Each input is parsed twice
 * from fresh copies: the same answer both times, so no state (getopt's)
 * leaks from one parse into the next.
 */
#include <errno.h>
#include "fuzz.h"

#define ERRLEN   512	/* as main.c */
#define MAX_ARGS 128	/* room for -i and -c past their limits */
#define ARGV0    "bpfix-argv0"	/* a name no error may quote unless an argument has it */

static FILE *capture;
static char capture_buf[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	capture = fmemopen(capture_buf, sizeof(capture_buf), "w");
	if (!capture)
		abort();
	return 0;
}

static void check_range(const char *what, uint32_t v, uint32_t min, uint32_t max)
{
	FUZZ_ASSERT(v >= min && v <= max, "%s %u outside %u..%u", what, v, min, max);
}

static void check_config(const struct bpfix_config *cfg, char *const *args, int n_args)
{
	FUZZ_ASSERT(cfg->mode == MODE_TC || cfg->mode == MODE_XDP ||
		    cfg->mode == MODE_XDP_GENERIC, "mode %d", (int)cfg->mode);
	FUZZ_ASSERT(cfg->format == FORMAT_TEXT || cfg->format == FORMAT_JSON, "format %d",
		    (int)cfg->format);
	check_range("idle timeout", cfg->idle_timeout_s, 1, 86400);
	check_range("active timeout", cfg->active_timeout_s, 1, 86400);
	FUZZ_ASSERT(cfg->active_timeout_s >= cfg->idle_timeout_s,
		    "active timeout %u below idle timeout %u", cfg->active_timeout_s,
		    cfg->idle_timeout_s);
	check_range("sweep interval", cfg->sweep_interval_ms, 10, 60000);
	FUZZ_ASSERT((uint64_t)cfg->sweep_interval_ms <= cfg->idle_timeout_s * 1000ull,
		    "sweep %u ms longer than idle timeout %u s", cfg->sweep_interval_ms,
		    cfg->idle_timeout_s);
	check_range("flows", cfg->flows, 1024, 1u << 24);
	check_range("template refresh", cfg->template_refresh_s, 1, 86400);
	check_range("ipfix mtu", cfg->ipfix_mtu, 576, 65535);
	check_range("tcp queue", cfg->tcp_queue_records, 1, 1u << 24);
	check_range("udp queue", cfg->udp_queue_records, 1, 1u << 26);
	check_range("export rate", cfg->export_rate, 100, 100000000);
	check_range("shutdown timeout", cfg->shutdown_timeout_s, 0, 3600);
	FUZZ_ASSERT(cfg->uniflow == 0 || cfg->uniflow == 1, "uniflow %d", cfg->uniflow);
	FUZZ_ASSERT(cfg->verbose >= 0 && cfg->verbose < MAX_ARGS * 1024, "verbose %d",
		    cfg->verbose);
	FUZZ_ASSERT(strnlen(cfg->pin_path, sizeof(cfg->pin_path)) < sizeof(cfg->pin_path) - 64,
		    "pin path too long");
	FUZZ_ASSERT(cfg->pin_path[0] == '/', "pin path '%s' not absolute", cfg->pin_path);

	FUZZ_ASSERT(cfg->n_ifaces >= 0 && cfg->n_ifaces <= MAX_IFACES, "%d interfaces",
		    cfg->n_ifaces);
	for (int i = 0; i < cfg->n_ifaces; i++) {
		const struct iface *ifc = &cfg->ifaces[i];
		size_t n = strnlen(ifc->name, sizeof(ifc->name));

		FUZZ_ASSERT(n > 0 && n < sizeof(ifc->name), "interface %d name length %zu", i, n);
		FUZZ_ASSERT(ifc->ifindex, "interface %s without an index", ifc->name);
		for (int j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(cfg->ifaces[j].name, ifc->name),
				    "interface %s twice", ifc->name);
	}

	FUZZ_ASSERT(cfg->n_collectors >= 0 && cfg->n_collectors <= MAX_COLLECTORS,
		    "%d collectors", cfg->n_collectors);
	for (int i = 0; i < cfg->n_collectors; i++) {
		const struct collector *c = &cfg->collectors[i];
		int found = 0;

		/* The URI is one argument, or the value glued to an option
		 * (-cURI, --collector=URI, an abbreviation of it). */
		for (int a = 0; a < n_args && !found; a++) {
			size_t la = strlen(args[a]), lu = strnlen(c->uri, sizeof(c->uri));

			found = la >= lu && !strcmp(args[a] + la - lu, c->uri);
		}
		FUZZ_ASSERT(found, "collector '%s' is in no argument", c->uri);
		fuzz_check_collector(c->uri, c);
	}
}

/* Copies of the arguments, each in a buffer of its exact size, and an argv
 * that getopt may permute. */
static int make_argv(const uint8_t *data, size_t size, char **args, char **argv)
{
	int has_nul = memchr(data, 0, size) != NULL, n = 0;
	size_t i = 0;

	argv[0] = strdup(ARGV0);
	while (i < size && n < MAX_ARGS) {
		size_t start, len;

		if (has_nul) {
			start = i;
			while (i < size && data[i])
				i++;
		} else {
			while (i < size && strchr(" \t\n\r\v\f", data[i]))
				i++;
			if (i == size)
				break;
			start = i;
			while (i < size && !strchr(" \t\n\r\v\f", data[i]))
				i++;
		}
		len = i - start;
		args[n] = malloc(len + 1);
		memcpy(args[n], data + start, len);
		args[n][len] = '\0';
		n++;
		i++;		/* the separator */
	}
	for (int a = 0; a < n; a++)
		argv[a + 1] = args[a];
	argv[n + 1] = NULL;
	return n + 1;
}

static int parse(struct bpfix_config *cfg, int argc, char **argv, char *err)
{
	FILE *out = stdout, *errf = stderr;
	long printed;
	int ret;

	/* The parser prints nothing itself (main.c prints its one line):
	 * anything getopt or the parser wrote would be a second line. */
	rewind(capture);
	stdout = capture;
	stderr = capture;
	ret = config_parse(cfg, argc, argv, err, ERRLEN);
	fflush(capture);
	printed = ftell(capture);
	stdout = out;
	stderr = errf;
	FUZZ_ASSERT(printed == 0, "the parser printed %ld octets: %.*s", printed,
		    (int)printed, capture_buf);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bpfix_config cfg[2];
	char *args[2][MAX_ARGS], *argv[2][MAX_ARGS + 2], *err[2];
	int argc = 0, ret[2];

	for (int k = 0; k < 2; k++) {
		argc = make_argv(data, size, args[k], argv[k]);
		err[k] = calloc(1, ERRLEN);
		ret[k] = parse(&cfg[k], argc, argv[k], err[k]);
	}
	FUZZ_ASSERT(ret[0] == ret[1], "parsed twice: %d then %d", ret[0], ret[1]);
	switch (ret[0]) {
	case 0:
		FUZZ_ASSERT(!memcmp(&cfg[0], &cfg[1], sizeof(cfg[0])),
			    "parsed twice: two configurations");
		check_config(&cfg[0], args[0], argc - 1);
		break;
	case CONFIG_HELP:
	case CONFIG_VERSION:
		break;
	default:
		FUZZ_ASSERT(ret[0] == -EINVAL, "returned %d", ret[0]);
		fuzz_check_err(err[0], ERRLEN);
		FUZZ_ASSERT(!strcmp(err[0], err[1]), "parsed twice: '%s' then '%s'", err[0],
			    err[1]);
		/* argv[0] is the program, never the culprit: an error that
		 * quotes it must have an argument that holds it too. */
		if (strstr(err[0], ARGV0)) {
			int quoted = 0;

			for (int a = 0; a < argc - 1 && !quoted; a++)
				quoted = strstr(args[0][a], ARGV0) != NULL;
			FUZZ_ASSERT(quoted, "error names argv[0]: '%s'", err[0]);
		}
	}
	for (int k = 0; k < 2; k++) {
		for (int a = 0; a < argc - 1; a++)
			free(args[k][a]);
		free(argv[k][0]);
		free(err[k]);
	}
	return 0;
}
