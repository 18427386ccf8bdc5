// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `bpfix top`: the busiest flows of a running agent, like top or iftop.
 * It reads the agent's flow table where the agent keeps it, the pinned
 * map "flows" (journal.h), mapped PROT_READ (top_open): nothing
 * the agent does waits for it, and it cannot change a count. An entry is
 * read while the agent may be changing it; a screen can show one flow a
 * fold's worth behind, never a count the agent did not hold.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "config.h"
#include "journal.h"
#include "top.h"

#define TOP_DEFAULT_DELAY_MS 2000
#define TOP_HEADER_LINES 4	/* title, totals, blank, column names */

/* ---- rows ------------------------------------------------------------------- */

/* Which flow an entry holds, to tell a reused entry from the same flow. */
static uint32_t entry_sig(const struct flowtab_entry *e)
{
	const uint8_t *p = (const uint8_t *)&e->canon;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(e->canon); i++)
		h = (h ^ p[i]) * 16777619u;
	return h | 1;
}

static uint64_t row_key(const struct top_row *r, enum top_sort sort)
{
	switch (sort) {
	case TOP_SORT_PACKETS:
		return r->packets;
	case TOP_SORT_RATE:
		return r->rate;
	default:
		return r->bytes;
	}
}

static int row_cmp(const void *a, const void *b, void *sortp)
{
	const struct top_row *x = a, *y = b;
	enum top_sort sort = *(const enum top_sort *)sortp;
	uint64_t kx = row_key(x, sort), ky = row_key(y, sort);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->bytes != y->bytes)	/* then the larger flow */
		return x->bytes > y->bytes ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void top_sort_rows(struct top_row *rows, uint32_t n, enum top_sort sort)
{
	qsort_r(rows, n, sizeof(*rows), row_cmp, &sort);
}

uint32_t top_collect(const struct flowtab_entry *e, uint32_t cap, struct top_prev *prev,
		     uint64_t dt_ms, enum top_sort sort, struct top_row *rows)
{
	uint32_t i, n = 0;

	for (i = 0; i < cap; i++) {
		struct flowtab_entry x;
		struct top_row *r = &rows[n];
		uint64_t delta;
		uint32_t sig;
		int s;

		if (!__atomic_load_n(&e[i].used, __ATOMIC_RELAXED)) {
			prev[i].sig = 0;
			continue;
		}
		memcpy(&x, &e[i], sizeof(x));
		memset(r, 0, sizeof(*r));
		r->idx = i;
		for (s = 0; s < 2; s++) {
			const struct flow_side *d = &x.side[s];

			if (!d->packets)
				continue;
			r->bytes += d->octets;
			r->packets += d->packets;
			if (!r->first_ms || d->first_ms < r->first_ms)
				r->first_ms = d->first_ms;
			if (d->last_ms > r->last_ms)
				r->last_ms = d->last_ms;
		}
		sig = entry_sig(&x);
		delta = prev[i].sig == sig && r->bytes >= prev[i].bytes ? r->bytes - prev[i].bytes
									: r->bytes;
		r->rate = dt_ms ? delta * 1000 / dt_ms : 0;
		prev[i].sig = sig;
		prev[i].bytes = r->bytes;
		prev[i].packets = r->packets;
		n++;
	}
	top_sort_rows(rows, n, sort);
	return n;
}

/* ---- one line --------------------------------------------------------------- */

/* 1234, 12.3K, 4.56M: a rate's magnitude at a glance. */
static void human(uint64_t v, char *buf, size_t len)
{
	static const char unit[] = "KMGTP";
	double d = (double)v;
	int u = -1;

	if (v < 10000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return;
	}
	while (d >= 1000 && u < 4) {
		d /= 1000;
		u++;
	}
	snprintf(buf, len, d < 100 ? "%.1f%c" : "%.0f%c", d, unit[u]);
}

static void duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%.1fs", ms / 1000.0);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
}

static const char *proto_name(const struct flow_key *k, char *buf, size_t len)
{
	if (!k->ip_version)
		return "l2";
	switch (k->protocol) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmp6";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_UDPLITE: return "udpl";
	case IPPROTO_DCCP: return "dccp";
	}
	snprintf(buf, len, "%u", k->protocol);
	return buf;
}

static int has_ports(const struct flow_key *k)
{
	switch (k->protocol) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_SCTP: case IPPROTO_UDPLITE:
	case IPPROTO_DCCP:
		return k->ip_version && !k->frag_held;
	}
	return 0;
}

static void endpoint(const struct flow_key *k, const union flow_addr *a, __u16 port,
		     char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!k->ip_version) {
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a->mac[0], a->mac[1],
			 a->mac[2], a->mac[3], a->mac[4], a->mac[5]);
		return;
	}
	inet_ntop(k->ip_version == 4 ? AF_INET : AF_INET6, a->ip6, ip, sizeof(ip));
	if (!has_ports(k))
		snprintf(buf, len, "%s", ip);
	else if (k->ip_version == 4)
		snprintf(buf, len, "%s:%u", ip, port);
	else
		snprintf(buf, len, "[%s]:%u", ip, port);
}

static void iface_name(uint32_t ifindex, char *buf, size_t len)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(ifindex, name))
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%u", ifindex);	/* the agent's namespace is not ours */
}

/* The side to show as the source: the initiator once chosen, else the one
 * that began first. */
static int first_side(const struct flowtab_entry *e)
{
	if (e->initiator == 0 || e->initiator == 1)
		return e->initiator;
	if (e->seen[0] && e->seen[1])
		return e->side[1].first_ns && e->side[1].first_ns < e->side[0].first_ns;
	return !e->seen[0];
}

void top_format_row(const struct top_row *r, const struct flowtab_entry *e, char *buf,
		    size_t len, unsigned int width)
{
	int s = first_side(e), both = e->seen[0] && e->seen[1];
	const struct flow_key *k = &e->key[s];
	char bytes[24], rate[16], dur[16], ifn[2 * IF_NAMESIZE + 2], other[IF_NAMESIZE + 1];
	char src[64], dst[64], proto[8], extra[40] = "";

	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r->bytes);
	human(r->rate, rate, sizeof(rate));
	duration(r->last_ms > r->first_ms ? r->last_ms - r->first_ms : 0, dur, sizeof(dur));
	iface_name(e->side[s].ifindex, ifn, sizeof(ifn));
	if (both && e->side[!s].ifindex != e->side[s].ifindex) {
		iface_name(e->side[!s].ifindex, other, sizeof(other));
		strncat(ifn, "/", sizeof(ifn) - strlen(ifn) - 1);
		strncat(ifn, other, sizeof(ifn) - strlen(ifn) - 1);
	}
	endpoint(k, &k->src, k->src_port, src, sizeof(src));
	endpoint(k, &k->dst, k->dst_port, dst, sizeof(dst));
	if (!k->ip_version)
		snprintf(extra, sizeof(extra), " ethertype 0x%04x", k->ether_type);
	else if (k->frag_held)
		snprintf(extra, sizeof(extra), " (fragments waiting for their first)");
	else if (flow_key_is_icmp(k))
		snprintf(extra, sizeof(extra), " type %u code %u", k->dst_port >> 8,
			 k->dst_port & 0xff);
	snprintf(buf, len, "%12s %10llu %9s %8s  %-10s %-5s %s %s %s%s", bytes,
		 (unsigned long long)r->packets, rate, dur, ifn,
		 proto_name(k, proto, sizeof(proto)), src, both ? "<->" : "->", dst, extra);
	if (width && strlen(buf) > width)
		buf[width] = '\0';
}

/* ---- the terminal ------------------------------------------------------------- */

static volatile sig_atomic_t top_stop, top_resized, top_suspend;
static struct termios saved_tty;
static int tty_raw, tty_screen, tty_alt;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else if (sig == SIGTSTP)
		top_suspend = 1;
	else
		top_stop = 1;
}

/* Back to the terminal as it was: on every way out. */
static void tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = 0;
	}
	if (tty_screen) {
		/* cursor back; the shell's screen back, or a newline after ours */
		fputs(tty_alt ? "\033[?25h\033[?1049l" : "\033[?25h\n", stdout);
		fflush(stdout);
		tty_screen = 0;
	}
}

/* Keys without Enter, not echoed; signals (^C) still work. On a screen of
 * its own (@alt) unless a count of screens was asked for: then the last
 * one stays. */
static void tty_enter(int keys, int alt)
{
	tty_alt = alt;
	fputs(alt ? "\033[?1049h\033[?25l" : "\033[?25l", stdout);
	tty_screen = 1;
	if (keys && !tcgetattr(STDIN_FILENO, &saved_tty)) {
		struct termios raw = saved_tty;

		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (!tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
			tty_raw = 1;
	}
	fflush(stdout);
}

/* ^Z: the shell gets its terminal back as it was, and top its own after
 * fg. */
static void tty_suspend(int keys, const struct sigaction *sa)
{
	int alt = tty_alt;

	tty_restore();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);		/* stopped here until SIGCONT */
	sigaction(SIGTSTP, sa, NULL);
	tty_enter(keys, alt);
}

static void tty_size(unsigned int *rows, unsigned int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the command ---------------------------------------------------------------- */

struct top {
	const char *pin;
	const struct flowtab_entry *e;
	uint32_t cap;
	struct top_prev *prev;
	struct top_row *rows;
	uint32_t n;
	enum top_sort sort;
	uint64_t delay_ms;
	int interactive;
};

static const char *const sort_names[] = { "bytes", "packets", "rate" };

static void draw(const struct top *t)
{
	unsigned int rows = UINT32_MAX, cols = 0, shown, i;
	uint64_t bytes = 0, packets = 0;
	char line[512];

	if (t->interactive) {
		tty_size(&rows, &cols);
		rows = rows > TOP_HEADER_LINES ? rows - TOP_HEADER_LINES : 1;
		fputs("\033[H\033[2J", stdout);
	}
	for (i = 0; i < t->n; i++) {
		bytes += t->rows[i].bytes;
		packets += t->rows[i].packets;
	}
	shown = t->n < rows ? t->n : rows;
	snprintf(line, sizeof(line), "bpfix top - %s - every %.1f s - sort: %s%s", t->pin,
		 t->delay_ms / 1000.0, sort_names[t->sort],
		 t->interactive ? " (b p r: sort, q: quit)" : "");
	if (cols && strlen(line) > cols)
		line[cols] = '\0';
	printf("%s\n", line);
	snprintf(line, sizeof(line), "flows %u of %u, showing %u; %llu bytes, %llu packets "
		 "since their last records", t->n, t->cap, shown, (unsigned long long)bytes,
		 (unsigned long long)packets);
	if (cols && strlen(line) > cols)
		line[cols] = '\0';
	printf("%s\n\n", line);
	snprintf(line, sizeof(line), "%12s %10s %9s %8s  %-10s %-5s %s", "BYTES", "PACKETS",
		 "RATE B/s", "DURATION", "IFACE", "PROTO", "FLOW");
	if (cols && strlen(line) > cols)
		line[cols] = '\0';
	printf("%s\n", line);
	for (i = 0; i < shown; i++) {
		struct flowtab_entry x;

		memcpy(&x, &t->e[t->rows[i].idx], sizeof(x));
		top_format_row(&t->rows[i], &x, line, sizeof(line), cols);
		/* no newline after a full screen's last line: it would scroll */
		printf(t->interactive && i + 1 == shown ? "%s" : "%s\n", line);
	}
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: bpfix top [--pin-path DIR] [-n COUNT] [-d SECONDS] [-s bytes|packets|rate]\n"
"\n"
"The busiest flows of the bpfix agent running with --pin-path DIR, from its\n"
"flow table (DIR/flows), refreshed like top. Counts are since each flow's\n"
"last record; the rate is over the last interval.\n"
"\n"
"  --pin-path DIR   the agent's pin path (default %s)\n"
"  -n COUNT         COUNT screens, then exit (default: until q or ^C); with\n"
"                   -n 1, or when stdout is not a terminal, plain lines\n"
"  -d SECONDS       interval (default %.0f; fractions allowed)\n"
"  -s KEY           sort by bytes (default), packets or rate\n"
"\n"
"keys: b p r sort by bytes, packets, rate; q quits\n", DEFAULT_PIN_PATH,
		TOP_DEFAULT_DELAY_MS / 1000.0);
}

static int parse_sort(const char *s, enum top_sort *out)
{
	int i;

	for (i = 0; i < 3; i++)
		if (!strcmp(s, sort_names[i])) {
			*out = (enum top_sort)i;
			return 0;
		}
	return -1;
}

/*
 * Map DIR/flows PROT_READ: 0, or 1 after one line on stderr. The fd is
 * opened read-write all the same: for an fd of a read-only open, mmap()
 * drops VM_SHARED and the kernel's bpf_map_mmap() refuses a mapping
 * without it (-EINVAL, seen on 6.18). A PROT_READ mapping of a map loses
 * VM_MAYWRITE, so it cannot be made writable later either.
 */
static int top_open(struct top *t, char *path, size_t len)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	void *mem;
	int fd;

	snprintf(path, len, "%s/%s", t->pin, FLOWS_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "bpfix top: %s: no flow table there (is bpfix running "
				"with --pin-path %s?)\n", path, t->pin);
		else
			fprintf(stderr, "bpfix top: %s: %s%s\n", path, strerror(errno),
				errno == EPERM || errno == EACCES ? " (needs CAP_BPF; run as root)"
								  : "");
		return 1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.type != BPF_MAP_TYPE_ARRAY ||
	    !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.value_size != sizeof(struct flowtab_entry)) {
		fprintf(stderr, "bpfix top: %s: not a bpfix flow table of ABI %d\n", path,
			BPFIX_ABI_VERSION);
		close(fd);
		return 1;
	}
	mem = mmap(NULL, journal_flows_size(info.max_entries), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);	/* the mapping holds the map */
	if (mem == MAP_FAILED) {
		fprintf(stderr, "bpfix top: %s: cannot map: %s\n", path, strerror(errno));
		return 1;
	}
	t->e = mem;
	t->cap = info.max_entries;
	return 0;
}

/* Wait until @deadline (monotonic ms), a key or a signal. Returns the key
 * read, or 0. */
static int wait_key(uint64_t deadline, int keys)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t now = mono_ms();
	char c;

	if (now >= deadline)
		return 0;
	if (poll(&p, keys ? 1 : 0, (int)(deadline - now)) > 0 && (p.revents & POLLIN) &&
	    read(STDIN_FILENO, &c, 1) == 1)
		return c;
	return 0;
}

int top_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-path", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct top t = { .pin = DEFAULT_PIN_PATH, .delay_ms = TOP_DEFAULT_DELAY_MS };
	struct sigaction sa = { .sa_handler = on_signal };
	char path[PATH_MAX + 16], *end;
	unsigned long count = 0, screens = 0;
	uint64_t last, now;
	double d;
	int c, keys;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hn:d:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			t.pin = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' || !count) {
				fprintf(stderr, "bpfix top: -n: '%s' is not a count of 1 or more\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			d = strtod(optarg, &end);
			if (*end || !*optarg || !(d >= 0.1 && d <= 3600)) {
				fprintf(stderr, "bpfix top: -d: '%s' is not 0.1 to 3600 seconds\n",
					optarg);
				return 2;
			}
			t.delay_ms = (uint64_t)(d * 1000 + 0.5);
			break;
		case 's':
			if (parse_sort(optarg, &t.sort)) {
				fprintf(stderr, "bpfix top: -s: '%s' is not bytes, packets or rate\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "bpfix top: see bpfix top --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bpfix top: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (top_open(&t, path, sizeof(path)))
		return 1;
	t.prev = calloc(t.cap, sizeof(*t.prev));
	t.rows = calloc(t.cap, sizeof(*t.rows));
	if (!t.prev || !t.rows) {
		fprintf(stderr, "bpfix top: out of memory for %u flows\n", t.cap);
		return 1;
	}

	sigemptyset(&sa.sa_mask);	/* no SA_RESTART: poll() returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t.interactive = isatty(STDOUT_FILENO) && count != 1;
	keys = t.interactive && isatty(STDIN_FILENO);
	if (t.interactive) {
		sigaction(SIGTSTP, &sa, NULL);
		atexit(tty_restore);
		tty_enter(keys, !count);
		printf("bpfix top - %s - measuring for %.1f s\n", t.pin, t.delay_ms / 1000.0);
		fflush(stdout);
	}

	/* Every screen's rates are over one interval: the first comes after one. */
	top_collect(t.e, t.cap, t.prev, 0, t.sort, t.rows);
	last = mono_ms();
	while (!top_stop) {
		int key = wait_key(last + t.delay_ms, keys);

		if (top_stop || key == 'q' || key == 'Q')
			break;
		if (key == 'b' || key == 'p' || key == 'r') {
			t.sort = key == 'b' ? TOP_SORT_BYTES : key == 'p' ? TOP_SORT_PACKETS
									  : TOP_SORT_RATE;
			if (screens) {
				top_sort_rows(t.rows, t.n, t.sort);
				draw(&t);
			}
			continue;
		}
		if (top_suspend) {
			top_suspend = 0;
			tty_suspend(keys, &sa);
			top_resized = 1;	/* redraw: the screen was the shell's */
		}
		if (top_resized) {
			top_resized = 0;
			if (screens)
				draw(&t);
		}
		if (mono_ms() < last + t.delay_ms)
			continue;
		now = mono_ms();
		t.n = top_collect(t.e, t.cap, t.prev, now - last, t.sort, t.rows);
		last = now;
		if (!t.interactive && screens)
			printf("\n");
		draw(&t);
		if (++screens == count)
			break;
	}
	tty_restore();
	if (!t.interactive && ferror(stdout))
		return 1;
	return 0;
}
