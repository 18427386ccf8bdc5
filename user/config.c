// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Command line -> struct bpfix_config. Every bad value gets one line that
 * names the option and the cause; nothing is attached until this passed. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "errline.h"
#include "config.h"

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

/* Collectors at HOST:PORT, by URI scheme. */
static const struct {
	const char *prefix;
	enum collector_kind kind;
} schemes[] = {
	{ "udp://", COLLECTOR_UDP },
	{ "tcp://", COLLECTOR_TCP },
	{ "netflow9://", COLLECTOR_NETFLOW9 },
	{ "netflow5://", COLLECTOR_NETFLOW5 },
};

int config_parse_collector(const char *uri, struct collector *c, char *err, size_t errlen)
{
	const char *hostport = NULL, *colon;
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
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (!strncmp(uri, schemes[i].prefix, n)) {
			c->kind = schemes[i].kind;
			hostport = uri + n;
			break;
		}
	}
	if (!hostport)
		return err_line(err, errlen, -EINVAL,
			    "-c %s: unknown collector (use udp://HOST:PORT, tcp://HOST:PORT, "
			    "file:PATH, netflow9://HOST:PORT or netflow5://HOST:PORT)", uri);

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

/* A '*', a '?' or a bracket expression ("[0-9]"): a lone '[' is a name's. */
static int is_glob(const char *s)
{
	const char *open = strchr(s, '[');

	return strpbrk(s, "*?") || (open && strchr(open + 1, ']'));
}

/* "/re/" is a regex ('/' is in no interface name), the name of an
 * interface that exists a name (Linux takes '*', '?' and '[' in names),
 * else a glob (is_glob), anything else a name.
 * A regex is compiled here once to say what is wrong with it, and again
 * at each match (links come and go a few a second: no state to free). */
/*
 * What glibc's regcomp() makes of an ERE grows with its repetitions: a
 * bound {m,n} copies what it repeats n times, nested bounds multiply, and
 * stacked operators (a+++, undefined in POSIX) compound: a 127-character
 * -i /.../ took 12 GB (fuzz_config). An interface name has at most
 * IF_NAMESIZE - 1 characters, so no useful regex needs more than that of
 * any one thing: refuse stacked operators, bounds past it, and nested
 * bounds whose product passes REGEX_COPIES. Returns NULL or why not.
 */
#define REGEX_COPIES 256

static const char *regex_too_costly(const char *re)
{
	unsigned long copies[PATTERN_MAX + 1] = { 1 };	/* per open group: its dearest part */
	unsigned long atom = 1;		/* copies the last atom makes */
	int depth = 0, after_rep = 0, have_atom = 0;

	for (const char *s = re; *s; s++) {
		unsigned long n = 1;

		switch (*s) {
		case '\\':
			if (s[1])
				s++;
			atom = 1, have_atom = 1, after_rep = 0;
			continue;
		case '[':
			/* a bracket expression: ']' first is a member, [:class:] too */
			s += s[1] == '^' ? 2 : 1;
			if (*s == ']')
				s++;
			while (*s && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
					const char *e = strchr(s + 2, s[1]);

					s = e && e[1] == ']' ? e + 1 : s;
				}
				s++;
			}
			if (!*s)
				return NULL;	/* regcomp says what is wrong */
			atom = 1, have_atom = 1, after_rep = 0;
			continue;
		case '(':
			if (depth == PATTERN_MAX)
				return NULL;
			copies[++depth] = 1;
			have_atom = 0, after_rep = 0;
			continue;
		case ')':
			if (!depth) {	/* glibc takes it as a literal: go on */
				atom = 1, have_atom = 1, after_rep = 0;
				continue;
			}
			atom = copies[depth--];
			have_atom = 1, after_rep = 0;
			continue;
		case '|':
			have_atom = 0, after_rep = 0;
			continue;
		case '*': case '+': case '?':
			break;
		case '{':
			n = strtoul(s + 1, (char **)&s, 10);
			if (*s == ',')
				n = s[1] == '}' ? n + 1 : strtoul(s + 1, (char **)&s, 10);
			while (*s && *s != '}')
				s++;
			if (!*s)
				return "a '{' without its '}'";
			if (n > IF_NAMESIZE - 1)
				return "a bound past an interface name's 15 characters";
			break;
		default:
			atom = 1, have_atom = 1, after_rep = 0;
			continue;
		}
		if (after_rep)
			return "one repetition right after another (undefined in POSIX)";
		after_rep = 1;
		if (!have_atom)
			continue;	/* regcomp says what is wrong */
		/* a group counts as its dearest part: nested bounds multiply */
		atom *= n ? n : 1;
		if (atom > REGEX_COPIES)
			return "nested bounds that multiply past what a name can hold";
		if (atom > copies[depth])
			copies[depth] = atom;
	}
	return NULL;
}

static int parse_pattern(const char *opt, const char *arg, struct iface_pattern *p, char *err,
			 size_t errlen)
{
	size_t len = strlen(arg);

	memset(p, 0, sizeof(*p));	/* configurations compare whole (fuzz_config) */
	if (len >= sizeof(p->text))
		return err_line(err, errlen, -EINVAL, "%s '%.32s...': longer than %d characters",
				opt, arg, PATTERN_MAX - 1);
	if (len >= 2 && arg[0] == '/' && arg[len - 1] == '/') {
		const char *why;
		regex_t re;
		int rc;

		p->kind = PATTERN_REGEX;
		memcpy(p->text, arg + 1, len - 2);
		p->text[len - 2] = '\0';
		if ((why = regex_too_costly(p->text)))
			return err_line(err, errlen, -EINVAL, "%s %s: %s", opt, arg, why);
		rc = regcomp(&re, p->text, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char why[96];

			regerror(rc, &re, why, sizeof(why));
			return err_line(err, errlen, -EINVAL, "%s %s: %s", opt, arg, why);
		}
		regfree(&re);
		return 0;
	}
	if (!len || (arg[0] == '/' && len == 1))
		return err_line(err, errlen, -EINVAL, "%s '%s': not an interface name or pattern",
				opt, arg);
	p->kind = is_glob(arg) && !(len < IF_NAMESIZE && if_nametoindex(arg)) ?
		  PATTERN_GLOB : PATTERN_EXACT;
	if (p->kind == PATTERN_EXACT && len >= IF_NAMESIZE)
		return err_line(err, errlen, -EINVAL, "%s '%s': not an interface name", opt, arg);
	memcpy(p->text, arg, len + 1);
	return 0;
}

static int pattern_matches(const struct iface_pattern *p, const char *name)
{
	regex_t re;
	int hit;

	switch (p->kind) {
	case PATTERN_EXACT:
		return !strcmp(p->text, name);
	case PATTERN_GLOB:
		return !fnmatch(p->text, name, 0);
	case PATTERN_REGEX:
		if (regcomp(&re, p->text, REG_EXTENDED | REG_NOSUB))
			return 0;	/* compiled at parse: cannot happen */
		hit = !regexec(&re, name, 0, NULL, 0);
		regfree(&re);
		return hit;
	}
	return 0;
}

int config_iface_wanted(const struct bpfix_config *cfg, const char *name)
{
	int wanted = 0, i;

	for (i = 0; i < cfg->n_ifaces && !wanted; i++)
		wanted = !strcmp(cfg->ifaces[i].name, name);
	for (i = 0; i < cfg->n_match && !wanted; i++)
		wanted = pattern_matches(&cfg->match[i], name);
	for (i = 0; i < cfg->n_exclude && wanted; i++)
		wanted = !pattern_matches(&cfg->exclude[i], name);
	return wanted;
}

/* -i: a plain name must exist now (a typo is an error, not a silent
 * agent); a pattern may match nothing yet. */
static int add_iface(struct bpfix_config *cfg, const char *name, char *err, size_t errlen)
{
	struct iface_pattern p = { 0 };
	struct iface *ifc;
	int i, ret;

	ret = parse_pattern("-i", name, &p, err, errlen);
	if (ret)
		return ret;
	if (p.kind != PATTERN_EXACT) {
		if (cfg->n_match == MAX_IFACES)
			return err_line(err, errlen, -EINVAL, "-i: at most %d patterns", MAX_IFACES);
		for (i = 0; i < cfg->n_match; i++)
			if (cfg->match[i].kind == p.kind && !strcmp(cfg->match[i].text, p.text))
				return err_line(err, errlen, -EINVAL, "-i %s: given twice", name);
		cfg->match[cfg->n_match++] = p;
		return 0;
	}
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

/* --exclude: any kind, and a name that does not exist is no error (it
 * may come later). */
static int add_exclude(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (cfg->n_exclude == MAX_IFACES)
		return err_line(err, errlen, -EINVAL, "--exclude: at most %d patterns", MAX_IFACES);
	return parse_pattern("--exclude", arg, &cfg->exclude[cfg->n_exclude++], err, errlen);
}

static int add_collector(struct bpfix_config *cfg, const char *uri, char *err, size_t errlen)
{
	if (cfg->n_collectors == MAX_COLLECTORS)
		return err_line(err, errlen, -EINVAL, "-c: at most %d collectors", MAX_COLLECTORS);
	return config_parse_collector(uri, &cfg->collectors[cfg->n_collectors++], err, errlen);
}

/* Room is left for the names of the pins under it. */
static int parse_pin_path(struct bpfix_config *cfg, const char *dir, char *err, size_t errlen)
{
	if (!*dir || strlen(dir) >= sizeof(cfg->pin_path) - 64)
		return err_line(err, errlen, -EINVAL, "--pin-path: bad directory '%s'", dir);
	if (dir[0] != '/')
		return err_line(err, errlen, -EINVAL, "--pin-path %s: must be an absolute path", dir);
	snprintf(cfg->pin_path, sizeof(cfg->pin_path), "%s", dir);
	return 0;
}

/* --tc-handle: decimal, or hex with 0x as tc prints it; not 0 (the
 * kernel picks one then, and it would not be known as ours). */
static int parse_tc_handle(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen)
{
	int hex = !strncmp(arg, "0x", 2) || !strncmp(arg, "0X", 2);
	const char *digits = hex ? arg + 2 : arg;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (!isxdigit((unsigned char)*digits) || errno || *end || !v || v > UINT32_MAX)
		return err_line(err, errlen, -EINVAL,
			    "--tc-handle %s: use 1..4294967295 or 0x1..0xffffffff", arg);
	cfg->tc_handle = (uint32_t)v;
	return 0;
}


/* --vxlan-port, --geneve-port: one more UDP port in @ports (the defaults
 * stay). */
static int add_port(uint16_t *ports, const char *opt, const char *arg, char *err, size_t errlen)
{
	uint32_t port;
	int i;

	if (parse_uint(opt, arg, 1, 65535, &port, err, errlen))
		return -EINVAL;
	for (i = 0; i < TUNNEL_PORTS_MAX && ports[i]; i++)
		if (ports[i] == port)
			return 0;	/* a default, or given twice: the same */
	if (i == TUNNEL_PORTS_MAX)
		return err_line(err, errlen, -EINVAL, "%s %s: at most %d ports, defaults included",
				opt, arg, TUNNEL_PORTS_MAX);
	ports[i] = (uint16_t)port;
	return 0;
}

static int add_vxlan_port(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen)
{
	for (int i = 0; i < TUNNEL_PORTS_MAX; i++)
		if (cfg->geneve_ports[i] && cfg->geneve_ports[i] == atoi(arg))
			return err_line(err, errlen, -EINVAL, "--vxlan-port %s: already a Geneve port",
					arg);
	return add_port(cfg->vxlan_ports, "--vxlan-port", arg, err, errlen);
}

static int add_geneve_port(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen)
{
	for (int i = 0; i < TUNNEL_PORTS_MAX; i++)
		if (cfg->vxlan_ports[i] && cfg->vxlan_ports[i] == atoi(arg))
			return err_line(err, errlen, -EINVAL, "--geneve-port %s: already a VXLAN port",
					arg);
	return add_port(cfg->geneve_ports, "--geneve-port", arg, err, errlen);
}

/* ---- the options: one table for getopt, the usage and the defaults ---------- */

enum opt_kind {
	OPT_UINT,	/* a uint32_t field, min..max */
	OPT_SIZE,	/* a uint64_t field, bytes: 256M, 1G (parse_size) */
	OPT_ENUM,	/* an enum field, one of .choices */
	OPT_FLAG,	/* no value: the int field is 1 */
	OPT_COUNT,	/* no value: the int field counts them (-vv) */
	OPT_FUNC,	/* .parse does it */
	OPT_RETURN,	/* no value: config_parse returns .ret (-h, -V) */
};

struct opt_choice {
	const char *name;
	int value;
};

struct opt_row {
	const char *name;	/* --name */
	char letter;		/* -l; 0: none */
	const char *arg;	/* the value as the usage names it; NULL: takes none */
	enum opt_kind kind;
	size_t off;		/* the field (CFG_FIELD) */
	size_t given;		/* an int field set to 1 when given; 0: none */
	uint32_t min, max;	/* OPT_UINT */
	uint32_t dflt;		/* OPT_UINT, OPT_ENUM: config_defaults sets it */
	const struct opt_choice *choices;	/* OPT_ENUM, up to a NULL name */
	int (*parse)(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen);
	int ret;		/* OPT_RETURN */
	int many;		/* may be given again for more ("[-i IFACE]...") */
	const char *help;
	/* In the usage instead of .dflt, "(default: ...)": what the value
	 * is when it is derived, or not a number. */
	const char *dflt_text;
};

/* offsetof a field of struct bpfix_config, which must be of @type: a
 * row's kind cannot write past a field of another width. */
#define CFG_FIELD(f, type) \
	(offsetof(struct bpfix_config, f) + \
	 0 * sizeof(_Generic(((struct bpfix_config *)0)->f, type: 1)))
/* Field 0 is the interfaces, never a "given" flag. */
_Static_assert(offsetof(struct bpfix_config, ifaces) == 0, "CFG_FIELD 0 means none");
_Static_assert(sizeof(enum attach_mode) == sizeof(int) && sizeof(enum out_format) == sizeof(int) &&
	       sizeof(enum tc_mode) == sizeof(int) && sizeof(enum tc_position) == sizeof(int),
	       "OPT_ENUM writes an int");
/* --memory's default as the usage says it. */
_Static_assert(DEFAULT_TC_HANDLE == 0xb9f1, "--tc-handle's dflt_text names DEFAULT_TC_HANDLE");
_Static_assert(BUDGET_DEFAULT_BYTES == 64ull << 20 && BUDGET_MIN_FLOWS == 1024,
	       "--memory's dflt_text names BUDGET_DEFAULT_BYTES and BUDGET_MIN_FLOWS");

#define UINT(f, lo, hi, d) \
	.kind = OPT_UINT, .off = CFG_FIELD(f, uint32_t), .min = (lo), .max = (hi), .dflt = (d)
#define ENUM(f, type, c, d) \
	.kind = OPT_ENUM, .off = CFG_FIELD(f, type), .choices = (c), .dflt = (d)
#define SIZE(f)       .kind = OPT_SIZE, .off = CFG_FIELD(f, uint64_t)
#define FUNC(fn)      .kind = OPT_FUNC, .parse = (fn)
#define FLAG(f)       .kind = OPT_FLAG, .off = CFG_FIELD(f, int)
#define COUNT(f)      .kind = OPT_COUNT, .off = CFG_FIELD(f, int)
#define RETURN(r)     .kind = OPT_RETURN, .ret = (r)
#define GIVEN(f)      .given = CFG_FIELD(f, int)
#define STR_(x)       #x
#define STR(x)        STR_(x)

static const struct opt_choice modes[] = {
	{ "tc", MODE_TC }, { "xdp", MODE_XDP }, { "xdp-generic", MODE_XDP_GENERIC }, { NULL, 0 },
};
static const struct opt_choice tc_modes[] = {
	{ "auto", TC_MODE_AUTO }, { "tcx", TC_MODE_TCX }, { "legacy", TC_MODE_LEGACY }, { NULL, 0 },
};
static const struct opt_choice tc_positions[] = {
	{ "first", TC_POS_FIRST }, { "last", TC_POS_LAST }, { NULL, 0 },
};
static const struct opt_choice formats[] = {
	{ "text", FORMAT_TEXT }, { "json", FORMAT_JSON }, { NULL, 0 },
};
static const struct opt_choice tunnel_modes[] = {
	{ "inner", TUNNEL_MODE_INNER }, { "outer", TUNNEL_MODE_OUTER },
	{ "both", TUNNEL_MODE_BOTH }, { NULL, 0 },
};

/* In the usage's order. A new option is a row: getopt, the usage and the
 * defaults all come from here. */
static const struct opt_row opt_rows[] = {
	{ "interface", 'i', "IFACE", FUNC(add_iface), .many = 1,
	  .help = "interface to meter: a name, a glob ('veth*') or /regex/; repeat for more; "
		  "interfaces that match later are metered as they come",
	  .dflt_text = "the interface of the default route" },
	{ "exclude", 0, "IFACE", FUNC(add_exclude), .many = 1,
	  .help = "not these, of what -i matches: a name, glob or /regex/; repeat for more" },
	{ "mode", 'm', "MODE", ENUM(mode, enum attach_mode, modes, MODE_TC),
	  .help = "tc: clsact ingress and egress; xdp: native XDP, ingress only; "
		  "xdp-generic: skb XDP" },
	{ "tc-mode", 0, "TCMODE", ENUM(tc_mode, enum tc_mode, tc_modes, TC_MODE_AUTO),
	  .help = "-m tc: TCX links (kernel 6.6+), legacy cls_bpf filters, or auto: TCX "
		  "where the kernel has it" },
	{ "tc-position", 0, "POS",
	  ENUM(tc_position, enum tc_position, tc_positions, TC_POS_FIRST),
	  .help = "TCX: ahead of the programs already on the hook, or behind them" },
	{ "tc-prio", 0, "N", UINT(tc_prio, 1, 65535, DEFAULT_TC_PRIO),
	  .help = "legacy tc: the filters' priority (1 is Cilium's)" },
	{ "tc-handle", 0, "HANDLE", FUNC(parse_tc_handle),
	  .help = "legacy tc: the filters' handle", .dflt_text = "0xb9f1" },
	{ "collector", 'c', "URI", FUNC(add_collector), .many = 1,
	  .help = "collector: IPFIX udp://HOST:PORT, tcp://HOST:PORT, file:PATH; NetFlow "
		  "netflow9://HOST:PORT, netflow5://HOST:PORT (UDP); repeat for more",
	  .dflt_text = "print to stdout" },
	{ "format", 'f', "FORMAT", ENUM(format, enum out_format, formats, FORMAT_TEXT),
	  .help = "stdout format without -c: text or json" },
	{ "idle-timeout", 0, "SEC", UINT(idle_timeout_s, 1, 86400, DEFAULT_IDLE_TIMEOUT_S),
	  .help = "end a flow after SEC without packets" },
	{ "active-timeout", 0, "SEC", UINT(active_timeout_s, 1, 86400, DEFAULT_ACTIVE_TIMEOUT_S),
	  .help = "report a long flow every SEC" },
	{ "sweep-interval", 0, "MS", UINT(sweep_interval_ms, 10, 60000, DEFAULT_SWEEP_INTERVAL_MS),
	  .help = "read the kernel tables every MS" },
	{ "memory", 0, "SIZE", SIZE(memory),
	  .help = "kernel tables, fragment table and journal together: 256M, 1G",
	  .dflt_text = "64M, or what 1024 flows need" },
	{ "flows", 0, "N", UINT(flows, BUDGET_MIN_FLOWS, BUDGET_MAX_FLOWS, DEFAULT_FLOWS),
	  GIVEN(flows_set),
	  .help = "flows held at once, kernel and agent",
	  .dflt_text = "as many as --memory holds on this machine's CPUs" },
	{ "uniflow", 0, NULL, FLAG(uniflow),
	  .help = "one record per direction instead of biflows" },
	{ "dedup", 0, NULL, FLAG(dedup),
	  .help = "count a packet seen on several metered interfaces once, where first seen" },
	{ "tunnels", 0, "MODE", ENUM(tunnels, int, tunnel_modes, TUNNEL_MODE_INNER),
	  .help = "VXLAN, Geneve, GRE, IP-in-IP, MPLS: inner meters the flow inside, "
		  "the tunnel as its properties; outer the flow on the wire; both the two" },
	{ "vxlan-port", 0, "PORT", FUNC(add_vxlan_port), .many = 1,
	  .help = "decode UDP to PORT as VXLAN too; repeat for more",
	  .dflt_text = "4789 and 8472" },
	{ "geneve-port", 0, "PORT", FUNC(add_geneve_port), .many = 1,
	  .help = "decode UDP to PORT as Geneve too; repeat for more", .dflt_text = "6081" },
	{ "observation-domain", 0, "ID",
	  UINT(observation_domain, 0, UINT32_MAX, DEFAULT_OBSERVATION_DOMAIN),
	  .help = "IPFIX observation domain of the flows" },
	{ "community-id-seed", 0, "N", UINT(community_id_seed, 0, 65535, 0),
	  .help = "seed of each record's Community ID (JSON, IPFIX); the tools "
		  "that join on it must use the same" },
	{ "pin-path", 0, "DIR", FUNC(parse_pin_path),
	  .help = "where maps are pinned", .dflt_text = DEFAULT_PIN_PATH },
	{ "template-refresh", 0, "SEC",
	  UINT(template_refresh_s, 1, 86400, DEFAULT_TEMPLATE_REFRESH_S),
	  .help = "IPFIX/UDP and NetFlow v9 template and options resend" },
	{ "ipfix-mtu", 0, "BYTES", UINT(ipfix_mtu, 576, 65535, DEFAULT_IPFIX_MTU),
	  .help = "UDP path MTU (IPFIX, NetFlow)" },
	{ "tcp-queue", 0, "N", UINT(tcp_queue_records, 1, 1u << 24, DEFAULT_TCP_QUEUE_RECORDS),
	  .help = "IPFIX/TCP records held while disconnected" },
	{ "export-rate", 0, "N", UINT(export_rate, 100, 100000000, DEFAULT_EXPORT_RATE),
	  .help = "UDP records a second at most, per collector; the default is what "
		  "a stock collector takes" },
	/* 0 until config_parse: from --flows (config_udp_queue_default) */
	{ "udp-queue", 0, "N", UINT(udp_queue_records, 1, 1u << 26, 0), GIVEN(udp_queue_set),
	  .help = "UDP records waiting to be sent, per collector",
	  .dflt_text = "--flows, at least " STR(DEFAULT_UDP_QUEUE_RECORDS) },
	{ "shutdown-timeout", 0, "SEC",
	  UINT(shutdown_timeout_s, 0, 3600, DEFAULT_SHUTDOWN_TIMEOUT_S),
	  .help = "at exit, time to deliver what is queued" },
	{ "metrics", 0, "ADDR:PORT", FUNC(config_parse_metrics),
	  .help = "serve /metrics (Prometheus), /healthz and /readyz over HTTP: "
		  "127.0.0.1:9402, [::1]:9402, :9402 (every address)" },
	{ "verbose", 'v', NULL, COUNT(verbose),
	  .help = "print counters every few seconds (-vv: libbpf too)" },
	{ "help", 'h', NULL, RETURN(CONFIG_HELP), .help = "this help" },
	{ "version", 'V', NULL, RETURN(CONFIG_VERSION), .help = "print the version" },
};

/* What getopt_long returns for row @i: its letter, else a value past
 * every letter. */
static int opt_val(size_t i)
{
	return opt_rows[i].letter ? opt_rows[i].letter : 256 + (int)i;
}

void config_defaults(struct bpfix_config *cfg)
{
	const struct opt_row *r;

	memset(cfg, 0, sizeof(*cfg));
	for (r = opt_rows; r < opt_rows + ARRAY_SIZE(opt_rows); r++) {
		if (r->kind == OPT_UINT)
			*(uint32_t *)((char *)cfg + r->off) = r->dflt;
		else if (r->kind == OPT_ENUM)
			*(int *)((char *)cfg + r->off) = (int)r->dflt;
	}
	snprintf(cfg->pin_path, sizeof(cfg->pin_path), "%s", DEFAULT_PIN_PATH);
	cfg->tc_handle = DEFAULT_TC_HANDLE;
	{
		static const uint16_t vxlan[TUNNEL_PORTS_MAX] = { TUNNEL_VXLAN_PORTS_DEFAULT };
		static const uint16_t geneve[TUNNEL_PORTS_MAX] = { TUNNEL_GENEVE_PORTS_DEFAULT };

		memcpy(cfg->vxlan_ports, vxlan, sizeof(vxlan));
		memcpy(cfg->geneve_ports, geneve, sizeof(geneve));
	}
}

/* The option as messages name it: "-m", "--idle-timeout". */
static const char *opt_flag(const struct opt_row *r, char *buf, size_t len)
{
	if (r->letter)
		snprintf(buf, len, "-%c", r->letter);
	else
		snprintf(buf, len, "--%s", r->name);
	return buf;
}

/* "use tc, xdp or xdp-generic" */
static int parse_enum(const struct opt_row *r, const char *flag, const char *arg, int *out,
		      char *err, size_t errlen)
{
	const struct opt_choice *c;
	char list[128] = "";
	size_t n = 0;

	for (c = r->choices; c->name; c++) {
		if (!strcmp(arg, c->name)) {
			*out = c->value;
			return 0;
		}
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      c == r->choices ? "" : c[1].name ? ", " : " or ", c->name);
	}
	return err_line(err, errlen, -EINVAL, "%s %s: use %s", flag, arg, list);
}

static int opt_apply(const struct opt_row *r, struct bpfix_config *cfg, const char *arg,
		     char *err, size_t errlen)
{
	void *field = (char *)cfg + r->off;
	char flag[32];

	opt_flag(r, flag, sizeof(flag));
	if (r->given)
		*(int *)((char *)cfg + r->given) = 1;
	switch (r->kind) {
	case OPT_UINT:
		return parse_uint(flag, arg, r->min, r->max, field, err, errlen);
	case OPT_SIZE:
		return parse_size(flag, arg, field, err, errlen);
	case OPT_ENUM:
		return parse_enum(r, flag, arg, field, err, errlen);
	case OPT_FLAG:
		*(int *)field = 1;
		return 0;
	case OPT_COUNT:
		(*(int *)field)++;
		return 0;
	case OPT_FUNC:
		return r->parse(cfg, arg, err, errlen);
	case OPT_RETURN:
		return r->ret;
	}
	return -EINVAL;
}

/* ---- the usage ---------------------------------------------------------------- */

#define USAGE_WIDTH 80	/* columns at most */
#define HELP_COL    25	/* where an option's help starts */

/* @text's words after column @col, a space before each, lines up to
 * USAGE_WIDTH, the next ones indented to @indent. A word that opens a
 * parenthesis stays with the next: "(default" and its value. Returns the
 * column it ends at. */
static int put_words(FILE *f, int col, int indent, const char *text)
{
	text += strspn(text, " ");
	while (*text) {
		int len = (int)strcspn(text, " "), unit = len;

		if (text[0] == '(' && !memchr(text, ')', len) && text[len])
			unit += 1 + (int)strcspn(text + len + 1, " ");
		if (col > indent && col + 1 + unit > USAGE_WIDTH)
			col = fprintf(f, "\n%*s", indent, "") - 1;
		col += fprintf(f, " %.*s", len, text);
		text += len;
		text += strspn(text, " ");
	}
	return col;
}

/* "[-i IFACE]...", "[--uniflow]", "[-m tc|xdp|xdp-generic]" */
static void synopsis_item(const struct opt_row *r, char *buf, size_t len)
{
	char flag[32];
	size_t n;

	n = snprintf(buf, len, "[%s", opt_flag(r, flag, sizeof(flag)));
	if (r->kind == OPT_ENUM)
		for (const struct opt_choice *c = r->choices; c->name && n < len; c++)
			n += snprintf(buf + n, len - n, "%c%s", c == r->choices ? ' ' : '|', c->name);
	else if (r->arg && n < len)
		n += snprintf(buf + n, len - n, " %s", r->arg);
	if (n < len)
		snprintf(buf + n, len - n, "]%s", r->many ? "..." : "");
}

/* "-i, --interface IFACE", "--flows N" */
static int opt_line(FILE *f, const struct opt_row *r)
{
	int col = fprintf(f, "  ");

	if (r->letter)
		col += fprintf(f, "-%c, ", r->letter);
	col += fprintf(f, "--%s", r->name);
	if (r->arg)
		col += fprintf(f, " %s", r->arg);
	if (col < HELP_COL - 1)	/* put_words adds a space */
		col += fprintf(f, "%*s", HELP_COL - 1 - col, "");
	return col;
}

void config_usage(FILE *f)
{
	const struct opt_row *r;
	char item[64];
	int col;

	col = fprintf(f, "usage: bpfix");
	for (r = opt_rows; r < opt_rows + ARRAY_SIZE(opt_rows); r++) {
		synopsis_item(r, item, sizeof(item));
		col = put_words(f, col, (int)strlen("usage: bpfix"), item);
	}
	fprintf(f, "\n"
		"       bpfix top [--pin-path DIR] [-n COUNT] [-d SEC] [-s bytes|packets|rate]\n"
		"\n"
		"Meter every packet on IFACE in the kernel (eBPF) and print or export flows.\n"
		"\n");
	for (r = opt_rows; r < opt_rows + ARRAY_SIZE(opt_rows); r++) {
		char dflt[160] = "";

		if (r->dflt_text)
			snprintf(dflt, sizeof(dflt), "(default: %s)", r->dflt_text);
		else if (r->kind == OPT_UINT)
			snprintf(dflt, sizeof(dflt), "(default %u)", r->dflt);
		else if (r->kind == OPT_ENUM)
			for (const struct opt_choice *c = r->choices; c->name; c++)
				if (c->value == (int)r->dflt)
					snprintf(dflt, sizeof(dflt), "(default %s)", c->name);
		col = opt_line(f, r);
		col = put_words(f, col, HELP_COL - 1, r->help);
		put_words(f, col, HELP_COL - 1, dflt);
		fprintf(f, "\n");
	}
	fprintf(f, "\n"
		"examples:\n"
		"  bpfix -i eth0                               flows of eth0 as text lines\n"
		"  bpfix -i eth0 -f json --idle-timeout 5      JSON lines, quick expiry\n"
		"  bpfix -i eth0 -i eth1 -m xdp -c udp://192.0.2.9:4739\n"
		"                                              native XDP, IPFIX over UDP\n"
		"  bpfix -i 'lxc*' -i eth0 --exclude lxc_health -c udp://192.0.2.9:4739\n"
		"                                              a node's pod veths as they come\n"
		"  bpfix -i ens5 -c tcp://[2001:db8::9]:4739 -c file:/var/log/flows.ipfix\n"
		"  bpfix -i eth0 -c netflow9://192.0.2.9:2055 -c netflow5://192.0.2.9:9995\n"
		"  bpfix -i eth0 -c udp://192.0.2.9:4739 --metrics 127.0.0.1:9402\n"
		"                                              and metrics for Prometheus\n");
}

/* ---- the command line ------------------------------------------------------- */

int config_parse(struct bpfix_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option long_opts[ARRAY_SIZE(opt_rows) + 1];
	char short_opts[1 + 2 * ARRAY_SIZE(opt_rows) + 1];
	size_t i, n = 0;
	int opt, ret, at;

	/* ':' first: a missing value is ':', not '?' */
	short_opts[n++] = ':';
	for (i = 0; i < ARRAY_SIZE(opt_rows); i++) {
		const struct opt_row *r = &opt_rows[i];

		long_opts[i] = (struct option){
			r->name, r->arg ? required_argument : no_argument, NULL,
			opt_val(i),
		};
		if (r->letter) {
			short_opts[n++] = r->letter;
			if (r->arg)
				short_opts[n++] = ':';
		}
	}
	long_opts[i] = (struct option){ NULL, 0, NULL, 0 };
	short_opts[n] = '\0';

	config_defaults(cfg);
	/* 0, not 1: glibc then forgets the rest of a "-hv" an earlier parse
	 * returned from, which still points into that parse's argv
	 * (tests/fuzz/regress/fuzz_config). */
	optind = 0;
	opterr = 0;	/* we print our own line */
	while ((at = optind, opt = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		const struct opt_row *r = NULL;

		if (opt == ':')
			return err_line(err, errlen, -EINVAL, "%s: needs a value", argv[optind - 1]);
		for (i = 0; i < ARRAY_SIZE(opt_rows) && !r; i++)
			if (opt == opt_val(i))
				r = &opt_rows[i];
		if (!r) {	/* '?' */
			/* A bad long option is the argument optind just passed;
			 * a bad letter inside "-xv" leaves optind where it was,
			 * so argv[optind - 1] would name the argument before. */
			if (optind > at && !strncmp(argv[optind - 1], "--", 2))
				return err_line(err, errlen, -EINVAL, "%s: unknown option (see bpfix -h)",
						argv[optind - 1]);
			return err_line(err, errlen, -EINVAL, "-%c: unknown option (see bpfix -h)", optopt);
		}
		ret = opt_apply(r, cfg, optarg, err, errlen);
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
