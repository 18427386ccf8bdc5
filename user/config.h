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

#define MAX_IFACES     32
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

enum out_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

enum collector_kind {
	COLLECTOR_UDP,
	COLLECTOR_TCP,
	COLLECTOR_FILE,
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

struct bpfix_config {
	struct iface ifaces[MAX_IFACES];
	int n_ifaces;			/* 0 until resolved: default route's */
	enum attach_mode mode;
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
	uint32_t observation_domain;
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
void config_usage(FILE *f);
/* --udp-queue when not given: room for every flow the table holds (a
 * shutdown ends them all at once), at least DEFAULT_UDP_QUEUE_RECORDS. */
uint32_t config_udp_queue_default(uint32_t flows);

#endif /* BPFIX_CONFIG_H */
