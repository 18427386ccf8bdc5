// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* stdout output: one readable line per flow (in the spirit of nfdump's line
 * format) or one JSON object per line. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <net/if.h>
#include "errline.h"
#include "output.h"

static const char *const end_names[] = {
	"?", "idle", "active", "end", "forced", "resources",
};

static const char *end_name(uint8_t reason)
{
	return reason < ARRAY_SIZE(end_names) ? end_names[reason] : "?";
}

static const char *proto_name(const struct flow_key *k, char *buf, size_t len)
{
	if (!k->ip_version) {
		switch (k->ether_type) {
		case 0x0806: return "ARP";
		case 0x88cc: return "LLDP";
		case 0x8035: return "RARP";
		case 0x88f7: return "PTP";
		}
		snprintf(buf, len, "0x%04x", k->ether_type);
		return buf;
	}
	switch (k->protocol) {
	case 1:   return "ICMP";
	case 6:   return "TCP";
	case 17:  return "UDP";
	case 33:  return "DCCP";
	case 47:  return "GRE";
	case 50:  return "ESP";
	case 58:  return "ICMP6";
	case 132: return "SCTP";
	case 136: return "UDPL";
	}
	snprintf(buf, len, "%u", k->protocol);
	return buf;
}

static void addr_str(const struct flow_key *k, const union flow_addr *a, char *buf, size_t len)
{
	if (k->ip_version == 4)
		inet_ntop(AF_INET, &a->ip4, buf, len);
	else if (k->ip_version == 6)
		inet_ntop(AF_INET6, a->ip6, buf, len);
	else
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a->mac[0], a->mac[1],
			 a->mac[2], a->mac[3], a->mac[4], a->mac[5]);
}

/* An outer address of a record's tunnel (flow_record.tun). */
static void tun_addr_str(const struct flow_tunnel *t, const union flow_addr *a, char *buf,
			 size_t len)
{
	if (t->ip_version == 4)
		inet_ntop(AF_INET, &a->ip4, buf, len);
	else if (t->ip_version == 6)
		inet_ntop(AF_INET6, a->ip6, buf, len);
	else
		snprintf(buf, len, "-");
}

/* " vxlan vni 42 192.0.2.1->192.0.2.2", " mpls label 16": the tunnel a
 * flow came out of, after a text line; "" when it came out of none. */
static void tunnel_str(const struct flow_record *r, char *buf, size_t len)
{
	const struct flow_key *k = &r->key;
	char id[32] = "", addrs[2 * INET6_ADDRSTRLEN + 4] = "";
	const char *name = flow_tunnel_name(k->tun_type);
	const char *id_name = flow_tunnel_id_name(k->tun_type);

	buf[0] = '\0';
	if (!name)
		return;
	if (id_name && (k->tun_id || k->tun_type != TUNNEL_GRE))
		snprintf(id, sizeof(id), " %s %u", id_name, k->tun_id);
	if (r->tun.ip_version) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

		tun_addr_str(&r->tun, &r->tun.src, s, sizeof(s));
		tun_addr_str(&r->tun, &r->tun.dst, d, sizeof(d));
		snprintf(addrs, sizeof(addrs), " %s->%s", s, d);
	}
	snprintf(buf, len, " %s%s%s", name, id, addrs);
}

/* "10.0.0.1:80", "[fd00::1]:80", "10.0.0.1" (ICMP source), "8.0" type.code
 * for an ICMP destination, a MAC for L2 flows. */
static void endpoint_str(const struct flow_key *k, int dst, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	uint16_t port = dst ? k->dst_port : k->src_port;

	addr_str(k, dst ? &k->dst : &k->src, a, sizeof(a));
	if (!k->ip_version)
		snprintf(buf, len, "%s", a);
	else if (flow_key_is_icmp(k))
		snprintf(buf, len, dst ? (k->ip_version == 6 ? "[%s]:%u.%u" : "%s:%u.%u") : "%s", a,
			 port >> 8, port & 0xff);
	else
		snprintf(buf, len, k->ip_version == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

static void flags_str(uint16_t f, char *buf)
{
	/* nfdump's order: CWR ECE URG ACK PSH RST SYN FIN. */
	static const char letters[] = "CEUAPRSF";
	int i;

	for (i = 0; i < 8; i++)
		buf[i] = f & (0x80 >> i) ? letters[i] : '.';
	buf[8] = '\0';
}

static void time_str(uint64_t ms, char *buf, size_t len, int iso)
{
	time_t s = ms / 1000;
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, iso ? ".%03uZ" : ".%03u", (unsigned int)(ms % 1000));
}

/* Length of the valid UTF-8 sequence at @p (of @n octets), 0 if it is
 * not one (overlong forms, surrogates and code points past U+10FFFF are
 * not). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* An interface name as text output shows it: Linux allows any octet but
 * '/' and white space, so control octets (a terminal's escape sequences)
 * and what is not UTF-8 are written as \xNN, and a backslash as \\. */
static const char *name_printable(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, n = strlen(in), i = 0;

	while (i < n && o + 5 < len) {
		size_t u = utf8_len(p + i, n - i);

		if (u == 1 && p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\') {
			out[o++] = (char)p[i++];
		} else if (u > 1 && o + u < len) {
			memcpy(out + o, p + i, u);
			o += u;
			i += u;
		} else if (p[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", p[i++]);
		}
	}
	out[o] = '\0';
	return out;
}

/* Interface names, cached: a record must not cost a syscall. The ones
 * the agent follows are told (flow_text_iface) and kept while it does,
 * sorted by ifindex; any other is looked up, and again after
 * IFNAME_TTL_MS, so a renamed interface shows its new name. */
#define IFNAME_TTL_MS 1000

struct ifname_told {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
};

static struct {
	struct ifname_told *e;
	uint32_t n, cap;
} told;

/* Where @ifindex is in told.e, or would go. */
static uint32_t told_at(uint32_t ifindex)
{
	uint32_t lo = 0, hi = told.n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (told.e[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void flow_text_iface(uint32_t ifindex, const char *name)
{
	uint32_t i = told_at(ifindex);
	int here = i < told.n && told.e[i].ifindex == ifindex;

	if (!name) {
		if (here) {
			memmove(&told.e[i], &told.e[i + 1], sizeof(told.e[0]) * (told.n - i - 1));
			told.n--;
		}
		return;
	}
	if (!here) {
		if (told.n == told.cap) {
			uint32_t cap = told.cap ? told.cap * 2 : 64;
			struct ifname_told *e = realloc(told.e, sizeof(*e) * cap);

			if (!e)
				return;	/* looked up by number then */
			told.e = e;
			told.cap = cap;
		}
		memmove(&told.e[i + 1], &told.e[i], sizeof(told.e[0]) * (told.n - i));
		told.n++;
		told.e[i].ifindex = ifindex;
	}
	snprintf(told.e[i].name, IF_NAMESIZE, "%s", name);
}

static const char *if_name(uint32_t ifindex)
{
	static struct {
		uint32_t ifindex;
		uint64_t at_ms;
		char name[IF_NAMESIZE];
	} cache[64];
	unsigned int slot = ifindex % 64;
	uint64_t now;
	uint32_t i;

	if (!ifindex)
		return "-";
	i = told_at(ifindex);
	if (i < told.n && told.e[i].ifindex == ifindex)
		return told.e[i].name;
	now = clock_mono_ms();
	if (cache[slot].ifindex != ifindex || now - cache[slot].at_ms > IFNAME_TTL_MS) {
		if (!if_indextoname(ifindex, cache[slot].name))
			snprintf(cache[slot].name, IF_NAMESIZE, "if%u", ifindex);
		cache[slot].ifindex = ifindex;
		cache[slot].at_ms = now;
	}
	return cache[slot].name;
}

const char *flow_text_header(void)
{
	return "Start (UTC)              Duration Proto Source                  "
	       "   Destination                Packets      Bytes  RPackets     RBytes "
	       "Flags    RFlags   VLAN  Interface   End";
}

int flow_format_text(const struct flow_record *r, char *buf, size_t len)
{
	char start[32], src[64], dst[64], proto[16], fl[9], rfl[9], vlan[16], ifc[80];
	char ifn[4 * IF_NAMESIZE + 1], tun[128];
	char rpk[24] = "-", rby[24] = "-";
	uint64_t s = flow_record_start_ms(r), e = flow_record_end_ms(r);
	const struct flow_key *k = &r->key;

	time_str(s, start, sizeof(start), 0);
	endpoint_str(k, 0, src, sizeof(src));
	endpoint_str(k, 1, dst, sizeof(dst));
	flags_str(r->fwd.tcp_flags, fl);
	flags_str(r->rev.tcp_flags, rfl);
	if (r->biflow) {
		snprintf(rpk, sizeof(rpk), "%llu", (unsigned long long)r->rev.packets);
		snprintf(rby, sizeof(rby), "%llu", (unsigned long long)r->rev.octets);
	} else {
		snprintf(rfl, sizeof(rfl), "-");
	}
	if (k->vlan_inner)
		snprintf(vlan, sizeof(vlan), "%u.%u", k->vlan_outer, k->vlan_inner);
	else if (k->vlan_outer)
		snprintf(vlan, sizeof(vlan), "%u", k->vlan_outer);
	else
		snprintf(vlan, sizeof(vlan), "-");
	snprintf(ifc, sizeof(ifc), "%s/%s",
		 name_printable(if_name(r->fwd.ifindex ? r->fwd.ifindex : r->rev.ifindex), ifn,
				sizeof(ifn)),
		 (r->fwd.packets ? r->fwd.direction : !r->rev.direction) ? "out" : "in");
	tunnel_str(r, tun, sizeof(tun));
	return snprintf(buf, len,
			"%-23s %9.3f %-5s %-26s %2s %-26s %8llu %10llu %9s %10s %-8s %-8s %-5s %-11s %s%s",
			start, (e - s) / 1000.0, proto_name(k, proto, sizeof(proto)), src,
			r->biflow ? "<>" : "->", dst, (unsigned long long)r->fwd.packets,
			(unsigned long long)r->fwd.octets, rpk, rby, fl, rfl, vlan, ifc,
			end_name(r->end_reason), tun);
}

/* @in as the inside of a JSON string (RFC 8259: valid UTF-8): Linux
 * allows quotes, backslashes, control octets and any other octet in
 * interface names. Valid UTF-8 passes; an octet that is not is written as
 * the code point of the same number (\\u00NN), so the line stays JSON. */
static const char *json_esc(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, n = strlen(in), i = 0;

	while (i < n && o + 7 < len) {
		size_t u = utf8_len(p + i, n - i);

		if (u == 1 && (p[i] == '"' || p[i] == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)p[i++];
		} else if (u == 1 && p[i] >= 0x20 && p[i] != 0x7f) {
			out[o++] = (char)p[i++];
		} else if (u > 1 && o + u < len) {
			memcpy(out + o, p + i, u);
			o += u;
			i += u;
		} else {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", p[i++]);
		}
	}
	out[o] = '\0';
	return out;
}

static int json_side(char *buf, size_t len, const char *pre, const struct flow_side *s)
{
	char first[32], last[32], ifn[6 * IF_NAMESIZE + 1];

	time_str(s->first_ms, first, sizeof(first), 1);
	time_str(s->last_ms, last, sizeof(last), 1);
	return snprintf(buf, len,
			",\"%spackets\":%llu,\"%sbytes\":%llu,\"%sl2_bytes\":%llu"
			",\"%sfirst\":\"%s\",\"%slast\":\"%s\",\"%sfirst_ms\":%llu,\"%slast_ms\":%llu"
			",\"%sifindex\":%u,\"%sinterface\":\"%s\",\"%sdirection\":\"%s\""
			",\"%stcp_flags\":%u,\"%smin_ttl\":%u,\"%smax_ttl\":%u"
			",\"%smin_ip_len\":%u,\"%smax_ip_len\":%u,\"%stos\":%u,\"%sflow_label\":%u"
			",\"%sfragments\":%u,\"%sflags\":%u",
			pre, (unsigned long long)s->packets, pre, (unsigned long long)s->octets,
			pre, (unsigned long long)s->l2_octets, pre, first, pre, last,
			pre, (unsigned long long)s->first_ms, pre, (unsigned long long)s->last_ms,
			pre, s->ifindex, pre, json_esc(if_name(s->ifindex), ifn, sizeof(ifn)),
			pre, s->direction ? "egress" : "ingress", pre, s->tcp_flags,
			pre, s->min_ttl, pre, s->max_ttl, pre, s->min_ip_len, pre, s->max_ip_len,
			pre, s->tos, pre, s->flow_label, pre, s->fragments, pre, s->flags);
}

int flow_format_json(const struct flow_record *r, char *buf, size_t len)
{
	char start[32], end[32], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], proto[16];
	uint64_t s = flow_record_start_ms(r), e = flow_record_end_ms(r);
	const struct flow_key *k = &r->key;
	size_t n;

	time_str(s, start, sizeof(start), 1);
	time_str(e, end, sizeof(end), 1);
	addr_str(k, &k->src, src, sizeof(src));
	addr_str(k, &k->dst, dst, sizeof(dst));
	n = snprintf(buf, len,
		     "{\"start\":\"%s\",\"end\":\"%s\",\"start_ms\":%llu,\"end_ms\":%llu"
		     ",\"end_reason\":\"%s\",\"end_reason_code\":%u,\"biflow\":%s"
		     ",\"ip_version\":%u,\"protocol\":%u,\"proto\":\"%s\",\"ether_type\":%u"
		     ",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u"
		     ",\"vlan\":%u,\"vlan_inner\":%u",
		     start, end, (unsigned long long)s, (unsigned long long)e,
		     end_name(r->end_reason), r->end_reason, r->biflow ? "true" : "false",
		     k->ip_version, k->protocol, proto_name(k, proto, sizeof(proto)), k->ether_type,
		     src, dst, flow_key_is_icmp(k) ? 0 : k->src_port, flow_key_is_icmp(k) ? 0 : k->dst_port,
		     k->vlan_outer, k->vlan_inner);
	/* The rest at n, counted even past the end: snprintf's semantics for
	 * the whole line, so a caller learns how much room it needed. */
#define AT_N n < len ? buf + n : NULL, n < len ? len - n : 0
	if (flow_key_is_icmp(k))
		n += snprintf(AT_N, ",\"icmp_type\":%u,\"icmp_code\":%u", k->dst_port >> 8,
			      k->dst_port & 0xff);
	if (k->tun_type) {
		const char *name = flow_tunnel_name(k->tun_type);

		n += snprintf(AT_N, ",\"tunnel\":\"%s\",\"tunnel_id\":%u",
			      name ? name : "unknown", k->tun_id);
		if (r->tun.ip_version) {
			char ts[INET6_ADDRSTRLEN], td[INET6_ADDRSTRLEN];

			tun_addr_str(&r->tun, &r->tun.src, ts, sizeof(ts));
			tun_addr_str(&r->tun, &r->tun.dst, td, sizeof(td));
			n += snprintf(AT_N, ",\"tunnel_src\":\"%s\",\"tunnel_dst\":\"%s\"", ts, td);
		}
	}
	if (r->community_id_set) {
		char cid[COMMUNITY_ID_STR_LEN + 1];

		community_id_str(r->community_id, cid);
		n += snprintf(AT_N, ",\"community_id\":\"%s\"", cid);
	}
	n += json_side(AT_N, "", &r->fwd);
	if (r->biflow) {
		n += json_side(AT_N, "rev_", &r->rev);
		n += snprintf(AT_N, ",\"biflow_direction\":%u", r->biflow_direction);
	}
	n += snprintf(AT_N, "}");
#undef AT_N
	return n;
}

/* ---- the stdout output ----------------------------------------------------- */

/*
 * Lines wait in a bounded queue and go out with write(), never blocking:
 * a reader that is slow or stopped (`| less`, a stuck log shipper) must not
 * stop sweeps or signals. The queue is written only as far as poll() says
 * the descriptor takes without blocking (a pipe takes PIPE_BUF octets once
 * it is writable); what does not fit in the queue is counted as not sent.
 * A record counts as sent once write() took the last octet of its line
 * (stdio would hide what it still holds, and a killed agent's journal must
 * not count those as sent).
 *
 * A reader that goes away (EPIPE, POLLERR/POLLHUP: `bpfix | head -3`)
 * ends the output: what is queued and what comes later is not sent, and
 * the agent stops when no output is left (output.gone). Any other write
 * error (ENOSPC: /dev/full, a full disk; EIO) is said once, on stderr,
 * until a write works again; the records are counted as not sent and an
 * output still failing at exit makes the exit status 1 (output.failing).
 */
/* A sweep's burst of lines for a reader that is behind for a moment (a
 * JSON line is 600-900 octets: some 80,000 of them). Address space: the
 * pages are touched only as deep as the queue gets. */
#define TEXT_QUEUE	(64 << 20)	/* octets of lines waiting */
#define TEXT_RECORDS	(TEXT_QUEUE / 128)	/* lines are longer: text ~170, JSON 600+ */
#define TEXT_RETRY_NS	100000000	/* a reader behind: look again in 100 ms at the latest */

struct text_pending {
	uint64_t end;			/* stream offset just past its line */
	uint64_t packets, octets;
};

struct output_text {
	struct output out;
	int fd;
	enum out_format format;
	int header_done;
	size_t chunk;			/* octets per write(): PIPE_BUF on a pipe */
	char *q;			/* TEXT_QUEUE octets: q[head, len) unwritten */
	size_t head, len;
	uint64_t written;		/* stream offset of q[head] */
	struct text_pending *rec;	/* records whose lines are queued, oldest first */
	uint32_t rec_head, rec_len;
	char line[4096];
};

static struct text_pending *rec_at(struct output_text *t, uint32_t i)
{
	return &t->rec[(t->rec_head + i) % TEXT_RECORDS];
}

static void settle_sent(struct output_text *t)
{
	while (t->rec_len && rec_at(t, 0)->end <= t->written) {
		struct text_pending *p = rec_at(t, 0);

		output_count_sent(t->out.stats, 1, p->packets, p->octets);
		t->rec_head = (t->rec_head + 1) % TEXT_RECORDS;
		t->rec_len--;
	}
}

/* Everything queued is not sent (a reader gone, an error, the exit). */
static void drop_queued(struct output_text *t)
{
	for (uint32_t i = 0; i < t->rec_len; i++)
		output_count_not_sent(t->out.stats, 1, rec_at(t, i)->packets,
				      rec_at(t, i)->octets);
	t->written += t->len - t->head;
	t->head = t->len = 0;
	t->rec_head = t->rec_len = 0;
}

static void text_failed(struct output_text *t, int err)
{
	output_write_failed(&t->out, err);
	drop_queued(t);
}

/* Write what the descriptor takes now. Returns 0 once the queue is
 * empty, -EAGAIN while the reader is behind. */
static int text_write(struct output_text *t)
{
	while (t->head < t->len && !t->out.gone) {
		struct pollfd p = { .fd = t->fd, .events = POLLOUT };
		size_t n = t->len - t->head;
		ssize_t w;

		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			return -errno;
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			text_failed(t, p.revents & POLLNVAL ? EBADF : EPIPE);
			break;
		}
		if (!(p.revents & POLLOUT))
			return -EAGAIN;
		w = write(t->fd, t->q + t->head, n < t->chunk ? n : t->chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (w <= 0) {
			text_failed(t, w < 0 ? errno : EIO);
			break;
		}
		output_write_ok(&t->out);
		t->head += (size_t)w;
		t->written += (uint64_t)w;
		settle_sent(t);
	}
	if (t->head == t->len)
		t->head = t->len = 0;
	return 0;
}

static void text_put(struct output_text *t, const char *s, int n, const struct flow_record *r)
{
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(t->line))
		n = sizeof(t->line) - 1;	/* the formatters truncate too */
	if (t->len + (size_t)n + 1 > TEXT_QUEUE && t->head) {
		memmove(t->q, t->q + t->head, t->len - t->head);
		t->len -= t->head;
		t->head = 0;
	}
	if (t->out.gone || t->len + (size_t)n + 1 > TEXT_QUEUE ||
	    (r && t->rec_len == TEXT_RECORDS)) {
		if (r)
			output_count_not_sent(t->out.stats, 1, flow_record_packets(r),
					      flow_record_octets(r));
		return;
	}
	memcpy(t->q + t->len, s, (size_t)n);
	t->q[t->len + (size_t)n] = '\n';
	t->len += (size_t)n + 1;
	if (r) {
		struct text_pending *p = rec_at(t, t->rec_len++);

		p->end = t->written + (t->len - t->head);
		p->packets = flow_record_packets(r);
		p->octets = flow_record_octets(r);
	}
}

static int text_record(struct output *o, const struct flow_record *r)
{
	struct output_text *t = (struct output_text *)o;
	int n;

	if (t->format == FORMAT_TEXT && !t->header_done) {
		const char *h = flow_text_header();

		text_put(t, h, (int)strlen(h), NULL);
		t->header_done = 1;
	}
	if (t->format == FORMAT_JSON)
		n = flow_format_json(r, t->line, sizeof(t->line));
	else
		n = flow_format_text(r, t->line, sizeof(t->line));
	o->stats->records++;
	text_put(t, t->line, n, r);
	/* a large sweep starts going out before it ends */
	if (t->len - t->head >= t->chunk)
		text_write(t);
	return 0;
}

/* A reader that is behind wakes the loop when it has read (wait_fd); the
 * retry is only a bound. */
static uint64_t text_pump(struct output *o, uint64_t now_ns)
{
	struct output_text *t = (struct output_text *)o;

	return text_write(t) == -EAGAIN ? now_ns + TEXT_RETRY_NS : UINT64_MAX;
}

static int text_wait_fd(struct output *o)
{
	struct output_text *t = (struct output_text *)o;

	return t->head < t->len && !o->gone ? t->fd : -1;
}

static int text_tick(struct output *o, const struct meter_totals *tot)
{
	(void)tot;
	text_pump(o, 0);
	return 0;
}

/* The agent has pumped until its shutdown deadline: what is left is not
 * sent. */
static void text_close(struct output *o, const struct meter_totals *tot)
{
	struct output_text *t = (struct output_text *)o;

	(void)tot;
	text_write(t);
	drop_queued(t);
	free(t->q);
	free(t->rec);
	free(t);
}

static void text_iface(struct output *o, uint32_t ifindex, const char *name)
{
	(void)o;
	flow_text_iface(ifindex, name);
}

static const struct output_ops text_ops = {
	.iface = text_iface,
	.record = text_record,
	.tick = text_tick,
	.pump = text_pump,
	.wait_fd = text_wait_fd,
	.close = text_close,
};

struct output *output_text_open(FILE *f, enum out_format format, char *err, size_t errlen)
{
	struct output_text *t = calloc(1, sizeof(*t));
	struct stat st;

	if (t) {
		t->q = malloc(TEXT_QUEUE);	/* large: mmap, untouched until used */
		t->rec = calloc(TEXT_RECORDS, sizeof(*t->rec));
	}
	if (!t || !t->q || !t->rec) {
		if (t) {
			free(t->q);
			free(t->rec);
			free(t);
		}
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->out.ops = &text_ops;
	snprintf(t->out.name, sizeof(t->out.name), "stdout");
	t->out.stats = &t->out.own;
	fflush(f);
	t->fd = fileno(f);
	t->format = format;
	/* A pipe or socket takes PIPE_BUF octets without blocking once poll()
	 * says it is writable; files and terminals take larger writes. */
	t->chunk = !fstat(t->fd, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ?
		   PIPE_BUF : 65536;
	return &t->out;
}
