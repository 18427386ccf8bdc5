/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's configuration: the command line (a contract: extend it, do
 * not rename it) parsed into one struct. */
#ifndef BPFIX_CONFIG_H
#define BPFIX_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <net/if.h>
#include <sys/socket.h>
#include "budget.h"
#include "bpfix.h"

#define BPFIX_VERSION "0.1.0"

/* -i exact names given at once, and -i / --exclude patterns, each; the
 * interfaces followed are not bounded by it (MAX_FOLLOWED). */
#define MAX_IFACES     32
/* Interfaces metered at once (meter.h, struct attachment; allocated as
 * they come): a node with a few thousand pod veths. One more is counted as
 * an attach failure with one line. */
#define MAX_FOLLOWED   4096
#define PATTERN_MAX    128	/* octets of one -i / --exclude pattern, NUL included */
#define MAX_COLLECTORS 8

/* Defaults (docs/reference.md "Timeouts" explains them against nProbe, ipfixprobe and
 * softflowd). */
#define DEFAULT_IDLE_TIMEOUT_S     15
#define DEFAULT_ACTIVE_TIMEOUT_S   60
#define DEFAULT_SWEEP_INTERVAL_MS  1000
#define DEFAULT_FLOWS              65536
/* Not 0: RFC 7011 keeps 0 for messages of no specific domain, where the
 * options go (ipfix_export.c), and nfcapd reads options records in the
 * flows' domain as sequence errors. */
#define DEFAULT_OBSERVATION_DOMAIN 1
#define DEFAULT_PIN_PATH           "/sys/fs/bpf/bpfix"
#define DEFAULT_TEMPLATE_REFRESH_S 60
#define DEFAULT_IPFIX_MTU          1500
#define DEFAULT_TCP_QUEUE_RECORDS  65536
#define DEFAULT_UDP_QUEUE_RECORDS  262144	/* at least; --flows if more */
#define DEFAULT_EXPORT_RATE        50000	/* records/s per UDP collector (docs/reference.md) */
#define DEFAULT_SHUTDOWN_TIMEOUT_S 25	/* Kubernetes' grace period is 30 s */

enum attach_mode {
	MODE_TC,		/* clsact ingress + egress */
	MODE_XDP,		/* native XDP (driver mode), ingress */
	MODE_XDP_GENERIC,	/* generic (skb) XDP, ingress */
};

/* -m tc: how the filters are attached (README, "Beside other programs"). */
enum tc_mode {
	TC_MODE_AUTO,		/* TCX links where the kernel has TCX (6.6+), else legacy */
	TC_MODE_TCX,		/* TCX links only: an error where the kernel has none */
	TC_MODE_LEGACY,		/* cls_bpf filters on a clsact qdisc */
};

/* Where our TCX links go among the others on the hook. */
enum tc_position {
	TC_POS_FIRST,		/* ahead of every program there now */
	TC_POS_LAST,		/* behind them */
};

/* Legacy tc: the lowest priority that is not Cilium's (prio 1 handle 1
 * on its lxc devices), and a handle of our own. */
#define DEFAULT_TC_PRIO   2
#define DEFAULT_TC_HANDLE 0xb9f1

enum out_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

enum collector_kind {
	COLLECTOR_UDP,
	COLLECTOR_TCP,
	COLLECTOR_FILE,
	COLLECTOR_NETFLOW9,	/* NetFlow v9 over UDP (netflow_export.c) */
	COLLECTOR_NETFLOW5,	/* NetFlow v5 over UDP */
};

struct collector {
	enum collector_kind kind;
	char uri[PATH_MAX + 8];	/* as given, for messages */
	char host[256];		/* UDP/TCP: name or address ([v6] brackets removed) */
	char port[8];		/* UDP/TCP: decimal port */
	char path[PATH_MAX];	/* file: */
};

struct iface {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
};

/* An -i or --exclude argument that is not a plain name: a glob (fnmatch:
 * "veth*", "eth[0-9]") or /regex/ (POSIX ERE, unanchored unless ^$ say). */
enum pattern_kind {
	PATTERN_GLOB,
	PATTERN_REGEX,
	PATTERN_EXACT,		/* --exclude only: -i's plain names are ifaces[] */
};

struct iface_pattern {
	enum pattern_kind kind;
	char text[PATTERN_MAX];	/* the glob, or the regex without its slashes */
};

struct bpfix_config {
	/* -i plain names: each must exist at start (then followed by name) */
	struct iface ifaces[MAX_IFACES];
	int n_ifaces;			/* 0 until resolved: default route's */
	struct iface_pattern match[MAX_IFACES];	/* -i globs and /regexes/ */
	int n_match;
	struct iface_pattern exclude[MAX_IFACES];	/* --exclude, any kind */
	int n_exclude;
	enum attach_mode mode;
	enum tc_mode tc_mode;
	enum tc_position tc_position;
	uint32_t tc_prio;		/* legacy tc: the filters' priority */
	uint32_t tc_handle;		/* legacy tc: the filters' handle */
	struct collector collectors[MAX_COLLECTORS];
	int n_collectors;		/* 0: text or JSON on stdout */
	enum out_format format;
	uint32_t idle_timeout_s;
	uint32_t active_timeout_s;
	uint32_t sweep_interval_ms;
	uint32_t flows;			/* agent flow table size; kernel tables too (budget.h) */
	int flows_set;			/* --flows given (else derived from --memory) */
	uint64_t memory;		/* --memory bytes; 0: not given (budget.h) */
	struct memory_budget mem;	/* what budget_configure derived (zero before) */
	int uniflow;			/* 1: one record per direction */
	int dedup;			/* 1: a packet seen on several interfaces counts once */
	uint32_t observation_domain;
	uint32_t community_id_seed;	/* Community ID v1 seed, 0..65535 (community_id.h) */
	char pin_path[PATH_MAX];
	int verbose;
	uint32_t template_refresh_s;	/* IPFIX over UDP: templates and options resent */
	uint32_t ipfix_mtu;		/* IPFIX over UDP: path MTU (message fits in one datagram) */
	uint32_t tcp_queue_records;	/* IPFIX over TCP: records held while disconnected */
	uint32_t udp_queue_records;	/* IPFIX over UDP: records waiting for the pacer */
	int udp_queue_set;		/* --udp-queue given (else it follows --flows) */
	uint32_t export_rate;		/* IPFIX over UDP: records a second at most */
	uint32_t shutdown_timeout_s;	/* at exit: time to deliver what is queued */
	int tunnels;			/* --tunnels: TUNNEL_MODE_* (include/bpfix.h) */
	uint16_t vxlan_ports[TUNNEL_PORTS_MAX];	/* decoded as VXLAN: the defaults, then --vxlan-port */
	uint16_t geneve_ports[TUNNEL_PORTS_MAX];	/* ... as Geneve; 0 ends a list */
	char metrics[80];		/* --metrics as given ("" when not), for messages */
	struct sockaddr_storage metrics_sa;	/* ... the address to listen on */
	socklen_t metrics_salen;
};

/* Outcome of config_parse other than 0. */
#define CONFIG_HELP    1	/* -h: usage printed, exit 0 */
#define CONFIG_VERSION 2	/* -V: version printed, exit 0 */

/* Parse argv into @cfg (defaults first). Returns 0, CONFIG_HELP,
 * CONFIG_VERSION, or -EINVAL with one line naming the cause in @err.
 * Interfaces are resolved to ifindexes here; the default route's interface
 * is looked up by config_default_iface() when none is given. */
int config_parse(struct bpfix_config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_defaults(struct bpfix_config *cfg);
int config_parse_collector(const char *uri, struct collector *c, char *err, size_t errlen);
/* --metrics ADDR:PORT, [IPv6]:PORT or :PORT (every address): numeric
 * addresses only, no name is resolved. */
int config_parse_metrics(struct bpfix_config *cfg, const char *arg, char *err, size_t errlen);
int config_default_iface(struct iface *out, char *err, size_t errlen);
/* Whether interface @name is one to meter: an -i name or pattern matches
 * it and no --exclude does. */
int config_iface_wanted(const struct bpfix_config *cfg, const char *name);
/* Whether -i named patterns (else only plain names: nothing new can
 * match but those names coming back). */
static inline int config_has_patterns(const struct bpfix_config *cfg)
{
	return cfg->n_match > 0;
}
void config_usage(FILE *f);
/* --udp-queue when not given: room for every flow the table holds (a
 * shutdown ends them all at once), at least DEFAULT_UDP_QUEUE_RECORDS. */
uint32_t config_udp_queue_default(uint32_t flows);

#endif /* BPFIX_CONFIG_H */
