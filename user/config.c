// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Command line -> struct bpfix_config. Every bad value gets one line that
 * names the option and the cause; nothing is attached until this passed. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "errline.h"
#include "config.h"

void config_defaults(struct bpfix_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MODE_TC;
	cfg->format = FORMAT_TEXT;
	cfg->idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
	cfg->active_timeout_s = DEFAULT_ACTIVE_TIMEOUT_S;
	cfg->sweep_interval_ms = DEFAULT_SWEEP_INTERVAL_MS;
	cfg->flows = DEFAULT_FLOWS;
	cfg->observation_domain = DEFAULT_OBSERVATION_DOMAIN;
	snprintf(cfg->pin_path, sizeof(cfg->pin_path), "%s", DEFAULT_PIN_PATH);
	cfg->template_refresh_s = DEFAULT_TEMPLATE_REFRESH_S;
	cfg->ipfix_mtu = DEFAULT_IPFIX_MTU;
	cfg->tcp_queue_records = DEFAULT_TCP_QUEUE_RECORDS;
	cfg->udp_queue_records = 0;	/* config_parse: from --flows */
	cfg->export_rate = DEFAULT_EXPORT_RATE;
	cfg->shutdown_timeout_s = DEFAULT_SHUTDOWN_TIMEOUT_S;
}

void config_usage(FILE *f)
{
	fprintf(f,
"usage: bpfix [-i IFACE]... [-m tc|xdp|xdp-generic] [-c URI]... [-f text|json]\n"
"             [--idle-timeout SEC] [--active-timeout SEC] [--sweep-interval MS]\n"
"             [--memory SIZE] [--flows N] [--uniflow] [--observation-domain ID]\n"
"             [--pin-path DIR] [--template-refresh SEC] [--ipfix-mtu BYTES]\n"
"             [--tcp-queue N] [--export-rate N] [--udp-queue N]\n"
"             [--shutdown-timeout SEC] [--metrics ADDR:PORT] [-v] [-h] [-V]\n"
"       bpfix top [--pin-path DIR] [-n COUNT] [-d SEC] [-s bytes|packets|rate]\n"
"\n"
"Meter every packet on IFACE in the kernel (eBPF) and print or export flows.\n"
"\n"
"  -i IFACE               interface to meter; repeat for more (default: the\n"
"                         interface of the default route)\n"
"  -m MODE                tc: clsact ingress and egress (default);\n"
"                         xdp: native XDP, ingress only; xdp-generic: skb XDP\n"
"  -c URI                 IPFIX collector: udp://HOST:PORT, tcp://HOST:PORT,\n"
"                         file:PATH; repeat for more (default: print to stdout)\n"
"  -f text|json           stdout format without -c (default text)\n"
"  --idle-timeout SEC     end a flow after SEC without packets (default %u)\n"
"  --active-timeout SEC   report a long flow every SEC (default %u)\n"
"  --sweep-interval MS    read the kernel tables every MS (default %u)\n"
"  --memory SIZE          kernel tables, fragment table and journal together:\n"
"                         256M, 1G (default %lluM, or what %u flows need)\n"
"  --flows N              flows held at once, kernel and agent (default: as\n"
"                         many as --memory holds on this machine's CPUs)\n"
"  --uniflow              one record per direction instead of biflows\n"
"  --observation-domain ID  IPFIX observation domain of the flows (default %u)\n"
"  --pin-path DIR         where maps are pinned (default %s)\n"
"  --template-refresh SEC IPFIX/UDP template and options resend (default %u)\n"
"  --ipfix-mtu BYTES      IPFIX/UDP path MTU (default %u)\n"
"  --tcp-queue N          IPFIX/TCP records held while disconnected (default %u)\n"
"  --export-rate N        IPFIX/UDP records a second at most, per collector\n"
"                         (default %u: what a stock collector takes)\n"
"  --udp-queue N          IPFIX/UDP records waiting to be sent (default:\n"
"                         --flows, at least %u)\n"
"  --shutdown-timeout SEC at exit, time to deliver what is queued (default %u)\n"
"  --metrics ADDR:PORT    serve /metrics (Prometheus), /healthz and /readyz over\n"
"                         HTTP: 127.0.0.1:9402, [::1]:9402, :9402 (every address)\n"
"  -v                     print counters every few seconds (-vv: libbpf too)\n"
"  -h                     this help;  -V  version\n"
"\n"
"examples:\n"
"  bpfix -i eth0                               flows of eth0 as text lines\n"
"  bpfix -i eth0 -f json --idle-timeout 5      JSON lines, quick expiry\n"
"  bpfix -i eth0 -i eth1 -m xdp -c udp://192.0.2.9:4739\n"
"                                              native XDP, IPFIX over UDP\n"
"  bpfix -i ens5 -c tcp://[2001:db8::9]:4739 -c file:/var/log/flows.ipfix\n"
"  bpfix -i eth0 -c udp://192.0.2.9:4739 --metrics 127.0.0.1:9402\n"
"                                              and metrics for Prometheus\n",
		DEFAULT_IDLE_TIMEOUT_S, DEFAULT_ACTIVE_TIMEOUT_S, DEFAULT_SWEEP_INTERVAL_MS,
		BUDGET_DEFAULT_BYTES >> 20, BUDGET_MIN_FLOWS, DEFAULT_OBSERVATION_DOMAIN,
		DEFAULT_PIN_PATH,
		DEFAULT_TEMPLATE_REFRESH_S,
		DEFAULT_IPFIX_MTU, DEFAULT_TCP_QUEUE_RECORDS, DEFAULT_EXPORT_RATE,
		DEFAULT_UDP_QUEUE_RECORDS, DEFAULT_SHUTDOWN_TIMEOUT_S);
}

/* A decimal in [min, max], nothing else: "10x", "-1", "" and overflow fail. */
static int parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max,
		      uint32_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s < '0' || *s > '9')
		return err_line(err, errlen, -EINVAL, "%s: '%s' is not a number", opt, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return err_line(err, errlen, -EINVAL, "%s: '%s' is not a number", opt, s);
	if (v < min || v > max)
		return err_line(err, errlen, -EINVAL, "%s: %s is out of range %llu..%llu", opt, s,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)v;
	return 0;
}

/* A size in bytes with an optional K, M or G (powers of 1024), nothing
 * else: "1.5G", "64MB", "-1", "" and overflow fail. */
static int parse_size(const char *opt, const char *s, uint64_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return err_line(err, errlen, -EINVAL, "%s: '%s' is not a size (use e.g. 256M, 1G)", opt,
			    s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end)
		return err_line(err, errlen, -EINVAL, "%s: '%s' is not a size (use e.g. 256M, 1G)", opt, s);
	if (errno || v > (UINT64_MAX >> shift))
		return err_line(err, errlen, -EINVAL, "%s: %s is too large", opt, s);
	if (!v)
		return err_line(err, errlen, -EINVAL, "%s: 0 holds no flows", opt);
	*out = (uint64_t)v << shift;
	return 0;
}

uint32_t config_udp_queue_default(uint32_t flows)
{
	return flows > DEFAULT_UDP_QUEUE_RECORDS ? flows : DEFAULT_UDP_QUEUE_RECORDS;
}

int config_parse_collector(const char *uri, struct collector *c, char *err, size_t errlen)
{
	const char *hostport, *colon;
	size_t hostlen;
	uint32_t port;

	memset(c, 0, sizeof(*c));
	if (strlen(uri) >= sizeof(c->uri))
		return err_line(err, errlen, -EINVAL, "-c: collector URI too long");
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	/* No host or path holds one, and every later error line quotes it. */
	for (const char *p = uri; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err_line(err, errlen, -EINVAL, "-c %s: a control character in the URI", uri);

	if (!strncmp(uri, "file:", 5)) {
		c->kind = COLLECTOR_FILE;
		if (!uri[5])
			return err_line(err, errlen, -EINVAL, "-c %s: file: needs a path", uri);
		if (strlen(uri + 5) >= sizeof(c->path))
			return err_line(err, errlen, -EINVAL, "-c %s: path too long", uri);
		snprintf(c->path, sizeof(c->path), "%s", uri + 5);
		return 0;
	}
	if (!strncmp(uri, "udp://", 6))
		c->kind = COLLECTOR_UDP;
	else if (!strncmp(uri, "tcp://", 6))
		c->kind = COLLECTOR_TCP;
	else
		return err_line(err, errlen, -EINVAL,
			    "-c %s: unknown collector (use udp://HOST:PORT, tcp://HOST:PORT or file:PATH)",
			    uri);

	hostport = uri + 6;
	if (*hostport == '[') {			/* [2001:db8::1]:4739 */
		const char *close = strchr(hostport, ']');

		if (!close || close[1] != ':')
			return err_line(err, errlen, -EINVAL, "-c %s: expected [IPv6]:PORT", uri);
		hostport++;
		hostlen = close - hostport;
		colon = close + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon)
			return err_line(err, errlen, -EINVAL, "-c %s: missing :PORT", uri);
		hostlen = colon - hostport;
		if (memchr(hostport, ':', hostlen))
			return err_line(err, errlen, -EINVAL, "-c %s: put an IPv6 address in brackets", uri);
	}
	if (!hostlen)
		return err_line(err, errlen, -EINVAL, "-c %s: missing host", uri);
	if (hostlen >= sizeof(c->host))
		return err_line(err, errlen, -EINVAL, "-c %s: host name too long", uri);
	memcpy(c->host, hostport, hostlen);
	c->host[hostlen] = '\0';
	if (parse_uint("-c port", colon + 1, 1, 65535, &port, err, errlen))
		return err_line(err, errlen, -EINVAL, "-c %s: port must be 1..65535", uri);
	snprintf(c->port, sizeof(c->port), "%u", port);
	return 0;
}

int config_parse_metrics(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen)
{
	static const char hint[] = "use ADDR:PORT, [IPv6]:PORT or :PORT";
	struct addrinfo hints = {
		.ai_family = AF_INET6,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	}, *res;
	char host[sizeof(cfg->metrics)], port_s[8];
	const char *colon;
	size_t hostlen;
	uint32_t port;
	int ret;

	if (strlen(arg) >= sizeof(cfg->metrics))
		return err_line(err, errlen, -EINVAL, "--metrics: address too long");
	if (*arg == '[') {			/* [::1]:9402 */
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			return err_line(err, errlen, -EINVAL, "--metrics %s: expected [IPv6]:PORT", arg);
		hostlen = close - arg - 1;
		memcpy(host, arg + 1, hostlen);
		colon = close + 1;
		if (!hostlen)
			return err_line(err, errlen, -EINVAL, "--metrics %s: empty brackets (%s)", arg, hint);
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return err_line(err, errlen, -EINVAL, "--metrics %s: missing :PORT (%s)", arg, hint);
		hostlen = colon - arg;
		memcpy(host, arg, hostlen);
		if (memchr(host, ':', hostlen))
			return err_line(err, errlen, -EINVAL, "--metrics %s: put an IPv6 address in brackets",
				    arg);
	}
	host[hostlen] = '\0';
	if (parse_uint("--metrics port", colon + 1, 1, 65535, &port, err, errlen))
		return err_line(err, errlen, -EINVAL, "--metrics %s: port must be 1..65535", arg);
	snprintf(port_s, sizeof(port_s), "%u", port);
	memset(&cfg->metrics_sa, 0, sizeof(cfg->metrics_sa));
	if (!hostlen) {
		/* Every address: [::] takes IPv4 too (metrics.c clears
		 * IPV6_V6ONLY, and falls back to 0.0.0.0 without IPv6). */
		struct sockaddr_in6 *any = (struct sockaddr_in6 *)&cfg->metrics_sa;

		any->sin6_family = AF_INET6;
		any->sin6_addr = in6addr_any;
		any->sin6_port = htons((uint16_t)port);
		cfg->metrics_salen = sizeof(*any);
	} else if (*arg != '[') {
		/* inet_pton, not getaddrinfo: "127.1" and "0x7f000001" are
		 * not what anyone means by an address. */
		struct sockaddr_in *v4 = (struct sockaddr_in *)&cfg->metrics_sa;

		if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
			return err_line(err, errlen, -EINVAL, "--metrics %s: '%s' is not an IPv4 address (%s)",
				    arg, host, hint);
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		cfg->metrics_salen = sizeof(*v4);
	} else {
		/* getaddrinfo for the scope of a link-local one (fe80::1%eth0) */
		ret = getaddrinfo(host, port_s, &hints, &res);
		if (ret)
			return err_line(err, errlen, -EINVAL, "--metrics %s: '%s' is not an IPv6 address",
				    arg, host);
		memcpy(&cfg->metrics_sa, res->ai_addr, res->ai_addrlen);
		cfg->metrics_salen = res->ai_addrlen;
		freeaddrinfo(res);
	}
	snprintf(cfg->metrics, sizeof(cfg->metrics), "%s", arg);
	return 0;
}

/* The interface of the IPv4 default route, else of the IPv6 one. */
int config_default_iface(struct iface *out, char *err, size_t errlen)
{
	char line[512], name[IF_NAMESIZE];
	unsigned long dst, mask;
	char dst6[33];
	unsigned int plen;
	FILE *f;
	int found = 0;

	f = fopen("/proc/net/route", "r");
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			/* Iface Destination Gateway Flags RefCnt Use Metric Mask */
			if (sscanf(line, "%15s %lx %*x %*x %*d %*d %*d %lx", name, &dst, &mask) == 3 &&
			    dst == 0 && mask == 0)
				found = 1;
		}
		fclose(f);
	}
	f = found ? NULL : fopen("/proc/net/ipv6_route", "r");
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			/* dst plen src plen nexthop metric ref use flags iface */
			if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %*x %15s",
				   dst6, &plen, name) == 3 &&
			    plen == 0 && strcmp(name, "lo"))
				found = 1;
		}
		fclose(f);
	}
	if (!found)
		return err_line(err, errlen, -EINVAL, "no default route: name an interface with -i");
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->ifindex = if_nametoindex(name);
	if (!out->ifindex)
		return err_line(err, errlen, -EINVAL, "%s: no such interface", name);
	return 0;
}

static int add_iface(struct bpfix_config *cfg, const char *name, char *err, size_t errlen)
{
	struct iface *ifc;
	int i;

	if (!*name || strlen(name) >= IF_NAMESIZE)
		return err_line(err, errlen, -EINVAL, "-i '%s': not an interface name", name);
	if (cfg->n_ifaces == MAX_IFACES)
		return err_line(err, errlen, -EINVAL, "-i: at most %d interfaces", MAX_IFACES);
	for (i = 0; i < cfg->n_ifaces; i++)
		if (!strcmp(cfg->ifaces[i].name, name))
			return err_line(err, errlen, -EINVAL, "-i %s: given twice", name);
	ifc = &cfg->ifaces[cfg->n_ifaces];
	ifc->ifindex = if_nametoindex(name);
	if (!ifc->ifindex)
		return err_line(err, errlen, -EINVAL, "%s: no such interface", name);
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	cfg->n_ifaces++;
	return 0;
}

enum {
	OPT_IDLE = 256,
	OPT_ACTIVE,
	OPT_SWEEP,
	OPT_FLOWS,
	OPT_UNIFLOW,
	OPT_DOMAIN,
	OPT_PIN,
	OPT_TEMPLATE_REFRESH,
	OPT_IPFIX_MTU,
	OPT_TCP_QUEUE,
	OPT_EXPORT_RATE,
	OPT_UDP_QUEUE,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_METRICS,
	OPT_MEMORY,
};

static const struct option long_opts[] = {
	{ "interface",          required_argument, NULL, 'i' },
	{ "mode",               required_argument, NULL, 'm' },
	{ "collector",          required_argument, NULL, 'c' },
	{ "format",             required_argument, NULL, 'f' },
	{ "idle-timeout",       required_argument, NULL, OPT_IDLE },
	{ "active-timeout",     required_argument, NULL, OPT_ACTIVE },
	{ "sweep-interval",     required_argument, NULL, OPT_SWEEP },
	{ "flows",              required_argument, NULL, OPT_FLOWS },
	{ "uniflow",            no_argument,       NULL, OPT_UNIFLOW },
	{ "observation-domain", required_argument, NULL, OPT_DOMAIN },
	{ "pin-path",           required_argument, NULL, OPT_PIN },
	{ "template-refresh",   required_argument, NULL, OPT_TEMPLATE_REFRESH },
	{ "ipfix-mtu",          required_argument, NULL, OPT_IPFIX_MTU },
	{ "tcp-queue",          required_argument, NULL, OPT_TCP_QUEUE },
	{ "export-rate",        required_argument, NULL, OPT_EXPORT_RATE },
	{ "udp-queue",          required_argument, NULL, OPT_UDP_QUEUE },
	{ "shutdown-timeout",   required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "metrics",            required_argument, NULL, OPT_METRICS },
	{ "memory",             required_argument, NULL, OPT_MEMORY },
	{ "verbose",            no_argument,       NULL, 'v' },
	{ "help",               no_argument,       NULL, 'h' },
	{ "version",            no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int config_parse(struct bpfix_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int opt, ret = 0, at;

	config_defaults(cfg);
	/* 0, not 1: glibc then forgets the rest of a "-hv" an earlier parse
	 * returned from, which still points into that parse's argv
	 * (tests/fuzz/regress/fuzz_config). */
	optind = 0;
	opterr = 0;	/* we print our own line */
	while ((at = optind,
		opt = getopt_long(argc, argv, ":i:m:c:f:vhV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			ret = add_iface(cfg, optarg, err, errlen);
			break;
		case 'm':
			if (!strcmp(optarg, "tc"))
				cfg->mode = MODE_TC;
			else if (!strcmp(optarg, "xdp"))
				cfg->mode = MODE_XDP;
			else if (!strcmp(optarg, "xdp-generic"))
				cfg->mode = MODE_XDP_GENERIC;
			else
				ret = err_line(err, errlen, -EINVAL, "-m %s: use tc, xdp or xdp-generic", optarg);
			break;
		case 'c':
			if (cfg->n_collectors == MAX_COLLECTORS)
				ret = err_line(err, errlen, -EINVAL, "-c: at most %d collectors", MAX_COLLECTORS);
			else
				ret = config_parse_collector(optarg,
							     &cfg->collectors[cfg->n_collectors++],
							     err, errlen);
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				cfg->format = FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				cfg->format = FORMAT_JSON;
			else
				ret = err_line(err, errlen, -EINVAL, "-f %s: use text or json", optarg);
			break;
		case OPT_IDLE:
			ret = parse_uint("--idle-timeout", optarg, 1, 86400, &cfg->idle_timeout_s,
					 err, errlen);
			break;
		case OPT_ACTIVE:
			ret = parse_uint("--active-timeout", optarg, 1, 86400,
					 &cfg->active_timeout_s, err, errlen);
			break;
		case OPT_SWEEP:
			ret = parse_uint("--sweep-interval", optarg, 10, 60000,
					 &cfg->sweep_interval_ms, err, errlen);
			break;
		case OPT_FLOWS:
			ret = parse_uint("--flows", optarg, BUDGET_MIN_FLOWS, BUDGET_MAX_FLOWS,
					 &cfg->flows, err, errlen);
			cfg->flows_set = 1;
			break;
		case OPT_MEMORY:
			ret = parse_size("--memory", optarg, &cfg->memory, err, errlen);
			break;
		case OPT_UNIFLOW:
			cfg->uniflow = 1;
			break;
		case OPT_DOMAIN:
			ret = parse_uint("--observation-domain", optarg, 0, UINT32_MAX,
					 &cfg->observation_domain, err, errlen);
			break;
		case OPT_PIN:
			if (!*optarg || strlen(optarg) >= sizeof(cfg->pin_path) - 64)
				ret = err_line(err, errlen, -EINVAL, "--pin-path: bad directory '%s'", optarg);
			else if (optarg[0] != '/')
				ret = err_line(err, errlen, -EINVAL, "--pin-path %s: must be an absolute path",
					   optarg);
			else
				snprintf(cfg->pin_path, sizeof(cfg->pin_path), "%s", optarg);
			break;
		case OPT_TEMPLATE_REFRESH:
			ret = parse_uint("--template-refresh", optarg, 1, 86400,
					 &cfg->template_refresh_s, err, errlen);
			break;
		case OPT_IPFIX_MTU:
			ret = parse_uint("--ipfix-mtu", optarg, 576, 65535, &cfg->ipfix_mtu,
					 err, errlen);
			break;
		case OPT_TCP_QUEUE:
			ret = parse_uint("--tcp-queue", optarg, 1, 1u << 24,
					 &cfg->tcp_queue_records, err, errlen);
			break;
		case OPT_EXPORT_RATE:
			ret = parse_uint("--export-rate", optarg, 100, 100000000,
					 &cfg->export_rate, err, errlen);
			break;
		case OPT_UDP_QUEUE:
			ret = parse_uint("--udp-queue", optarg, 1, 1u << 26,
					 &cfg->udp_queue_records, err, errlen);
			cfg->udp_queue_set = 1;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			ret = parse_uint("--shutdown-timeout", optarg, 0, 3600,
					 &cfg->shutdown_timeout_s, err, errlen);
			break;
		case OPT_METRICS:
			ret = config_parse_metrics(cfg, optarg, err, errlen);
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			return CONFIG_HELP;
		case 'V':
			return CONFIG_VERSION;
		case ':':
			return err_line(err, errlen, -EINVAL, "%s: needs a value", argv[optind - 1]);
		default:
			/* A bad long option is the argument optind just passed;
			 * a bad letter inside "-xv" leaves optind where it was,
			 * so argv[optind - 1] would name the argument before. */
			if (optind > at && !strncmp(argv[optind - 1], "--", 2))
				return err_line(err, errlen, -EINVAL, "%s: unknown option (see bpfix -h)",
					    argv[optind - 1]);
			return err_line(err, errlen, -EINVAL, "-%c: unknown option (see bpfix -h)", optopt);
		}
		if (ret)
			return ret;
	}
	if (optind < argc)
		return err_line(err, errlen, -EINVAL, "%s: unexpected argument (see bpfix -h)", argv[optind]);
	/* --flows as given; budget_configure() derives it from --memory and
	 * sets this again. */
	if (!cfg->udp_queue_set)
		cfg->udp_queue_records = config_udp_queue_default(cfg->flows);
	if (cfg->active_timeout_s < cfg->idle_timeout_s)
		return err_line(err, errlen, -EINVAL,
			    "--active-timeout %u is shorter than --idle-timeout %u",
			    cfg->active_timeout_s, cfg->idle_timeout_s);
	if (cfg->sweep_interval_ms > cfg->idle_timeout_s * 1000u)
		return err_line(err, errlen, -EINVAL,
			    "--sweep-interval %u ms is longer than --idle-timeout %u s",
			    cfg->sweep_interval_ms, cfg->idle_timeout_s);
	return 0;
}
