// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bad-packet corpus through BPF_PROG_TEST_RUN (README promise 2,
 * "transparent"): every frame of tests/data/badpkt.txt (made by
 * tests/badpkt.py: malformed frames labelled with the counters they must
 * raise, then random ones) runs, in file order, through the XDP program,
 * TC ingress and TC egress, each from empty maps. For every frame:
 *  - the program returns XDP_PASS / TC_ACT_UNSPEC and the frame comes out
 *    with the same length and bytes;
 *  - it is counted once: packets +1, l2_octets + its length, octets at most
 *    its length - 14 (what was there, not what a header claimed), all of
 *    it in the current flow table, nothing lost (not_metered, insert_failed,
 *    no_table, frag_table_failed stay);
 *  - of the counters parsed_*, malformed_* and frag_*, a labelled frame
 *    raises exactly those its label names, each by one, and no other; any
 *    frame raises exactly one parsed_* and at most one malformed_*;
 * After the corpus: the accounting identity of include/bpfix.h holds, and
 * the flow table holds exactly the flows, packets and octets the stats say
 * were added to it; then a well-formed UDP flow of three packets is
 * metered exactly (the meter keeps working). Last, the XDP and TC runs
 * must have raised the same counters for every frame both ran (one
 * parser).
 *
 * What BPF_PROG_TEST_RUN refuses (-EINVAL), as test_prog.c found it, and
 * asserted here: frames shorter than 14 bytes (so the malformed_eth
 * frames of the corpus never reach a program), and on TC an IPv4 (IPv6)
 * EtherType with fewer than 20 (40) bytes after the Ethernet header. A
 * refused frame must leave every counter as it was; its labels are checked
 * where it does run.
 *
 * The corpus: $BPFIX_BADPKT_CORPUS, else tests/data/badpkt.txt from the
 * current directory (make test runs from the top of the tree), else from
 * the binary's ../../tests/data (build/tests/test_badpkt).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfix.h"
#include "bpfix.skel.h"
#include "pkt.h"
#include "prog_run.h"

#define SKIP_EXIT 77
#define CORPUS_ENV "BPFIX_BADPKT_CORPUS"
#define CORPUS_REL "tests/data/badpkt.txt"
#define REPORT_MAX 25		/* failing frames described per program */

enum { PROG_XDP, PROG_TC_IN, PROG_TC_EG, NPROGS };
static const char *const prog_names[NPROGS] = { "xdp", "tc_ingress", "tc_egress" };

struct frame {
	char *name;
	__u8 *data;
	__u32 len;
	int line;
	bool any;		/* random: no labels */
	__u64 labels;		/* bit i: counter i must rise by one */
};

/* What one frame did in one program: the test run's result and which of
 * the checked counters rose. */
struct outcome {
	int err;
	__u64 rose;
};

static struct bpfix *skel;
static int ncpus;
static struct frame *frames;
static size_t nframes;
static struct outcome *outcomes[NPROGS];
static char corpus_path[PATH_MAX];
static __u64 checked_mask;	/* parsed_*, malformed_*, frag_* */
static __u64 parsed_mask, malformed_mask;
static __u8 frame_out[PKT_MAX];
/* For the reliability line: runs that passed the frame on unchanged, runs
 * that did not, and frames the test run refused, over all programs. */
static size_t runs_intact, runs_broken, runs_refused;

#define BIT(name) (1ULL << (offsetof(struct bpfix_stats, name) / sizeof(__u64)))

/* ---- the corpus ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse "LABELS HEX NAME" into @f; 0, or -1 with a message. */
static int parse_line(char *line, int lineno, struct frame *f)
{
	char *save = NULL, *labels, *hex, *name, *l;
	size_t i, n;

	labels = strtok_r(line, " \t\n", &save);
	hex = strtok_r(NULL, " \t\n", &save);
	name = strtok_r(NULL, " \t\n", &save);
	if (!labels || !hex) {
		fprintf(stderr, "%s:%d: want LABELS HEX [NAME]\n", corpus_path, lineno);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->line = lineno;
	n = strlen(hex);
	if (n % 2 || n / 2 > PKT_MAX) {
		fprintf(stderr, "%s:%d: odd or too long hex\n", corpus_path, lineno);
		return -1;
	}
	f->len = n / 2;
	f->data = malloc(f->len ? f->len : 1);
	f->name = strdup(name ? name : "(unnamed)");
	if (!f->data || !f->name)
		return -1;
	for (i = 0; i < f->len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "%s:%d: bad hex\n", corpus_path, lineno);
			return -1;
		}
		f->data[i] = hi << 4 | lo;
	}
	if (!strcmp(labels, "any")) {
		f->any = true;
		return 0;
	}
	for (l = strtok_r(labels, ",", &save); l; l = strtok_r(NULL, ",", &save)) {
		int idx = prog_run_stat_index(l);

		/* A label the stats do not have is a corpus the tests cannot
		 * check: a renamed counter must fail here, not pass. */
		if (idx < 0 || !(checked_mask & (1ULL << idx))) {
			fprintf(stderr, "%s:%d: %s: label %s is not a checked bpfix_stats counter\n",
				corpus_path, lineno, f->name, l);
			return -1;
		}
		f->labels |= 1ULL << idx;
	}
	return 0;
}

static FILE *open_corpus(void)
{
	const char *env = getenv(CORPUS_ENV);
	char exe[PATH_MAX - sizeof("/../../" CORPUS_REL)];
	ssize_t n;
	FILE *fh;

	if (env && *env) {
		snprintf(corpus_path, sizeof(corpus_path), "%s", env);
		return fopen(corpus_path, "r");
	}
	snprintf(corpus_path, sizeof(corpus_path), "%s", CORPUS_REL);
	fh = fopen(corpus_path, "r");
	if (fh)
		return fh;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(corpus_path, sizeof(corpus_path), "%s/../../%s", exe, CORPUS_REL);
		fh = fopen(corpus_path, "r");
	}
	return fh;
}

static int load_corpus(void)
{
	size_t cap = 0, linecap = 0;
	char *line = NULL;
	int lineno = 0;
	FILE *fh = open_corpus();

	if (!fh) {
		fprintf(stderr, "test_badpkt: cannot open the corpus %s: %s (set %s, or run from "
			"the top of the tree)\n", corpus_path, strerror(errno), CORPUS_ENV);
		return -1;
	}
	while (getline(&line, &linecap, fh) > 0) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\n")] == 0)
			continue;
		if (nframes == cap) {
			cap = cap ? cap * 2 : 1024;
			frames = realloc(frames, cap * sizeof(*frames));
			if (!frames)
				return -1;
		}
		if (parse_line(line, lineno, &frames[nframes]))
			return -1;
		nframes++;
	}
	free(line);
	fclose(fh);
	if (!nframes) {
		fprintf(stderr, "test_badpkt: %s holds no frame\n", corpus_path);
		return -1;
	}
	return 0;
}

/* ---- running ---- */

static int prog_fd(int prog)
{
	struct bpf_program *p[NPROGS] = {
		skel->progs.bpfix_xdp, skel->progs.bpfix_tc_ingress, skel->progs.bpfix_tc_egress,
	};

	return bpf_program__fd(p[prog]);
}

/* What BPF_PROG_TEST_RUN refuses before the program runs (see the top). */
static int expected_err(int prog, const struct frame *f)
{
	__u16 type;

	if (f->len < 14)
		return -EINVAL;
	if (prog == PROG_XDP)
		return 0;
	type = f->data[12] << 8 | f->data[13];
	if ((type == 0x0800 && f->len < 14 + 20) || (type == 0x86dd && f->len < 14 + 40))
		return -EINVAL;
	return 0;
}

static bool reset_maps(void)
{
	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_0), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.flow_table_1), sizeof(struct flow_key));
	prog_run_clear_map(bpf_map__fd(skel->maps.frag_table), sizeof(struct frag_key));
	return !prog_run_zero_stats(bpf_map__fd(skel->maps.stats), ncpus);
}

static bool read_stats(struct bpfix_stats *s)
{
	int err = prog_run_read_stats(bpf_map__fd(skel->maps.stats), ncpus, s);

	if (err)
		print_error("cannot read the stats map: %s\n", strerror(-err));
	return !err;
}

/* The names of the counters in @mask, for a message. */
static const char *names_of(__u64 mask, char *buf, size_t n)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < BPFIX_STAT_COUNT && used < n; i++)
		if (mask & (1ULL << i))
			used += snprintf(buf + used, n - used, "%s%s", used ? "," : "",
					 prog_run_stat_name(i));
	if (!mask)
		snprintf(buf, n, "(none)");
	return buf;
}

struct report {
	int prog;
	unsigned int failed;	/* frames with at least one failed check */
	const struct frame *cur;
	bool cur_failed;
};

static void complain(struct report *r, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (!r->cur_failed)
		r->failed++;
	r->cur_failed = true;
	if (r->failed > REPORT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("[%s] line %d %s (%u bytes): %s\n", prog_names[r->prog], r->cur->line,
		    r->cur->name, r->cur->len, msg);
}

#define D(name) (after->name - before->name)

/* Everything one frame must have done to the stats (see the top). */
static void check_frame(struct report *r, const struct frame *f, const struct bpfix_stats *before,
			const struct bpfix_stats *after, struct outcome *o)
{
	char want[512], got[512];
	unsigned int i;

	o->rose = 0;
	for (i = 0; i < BPFIX_STAT_COUNT; i++) {
		__u64 d = prog_run_stat(after, i) - prog_run_stat(before, i);

		if (!(checked_mask & (1ULL << i)))
			continue;
		if (d > 1)
			complain(r, "%s rose by %llu", prog_run_stat_name(i), (unsigned long long)d);
		if (d)
			o->rose |= 1ULL << i;
	}
	if (D(packets) != 1)
		complain(r, "packets rose by %llu, want 1", (unsigned long long)D(packets));
	if (D(l2_octets) != f->len)
		complain(r, "l2_octets rose by %llu, want the frame's %u",
			 (unsigned long long)D(l2_octets), f->len);
	if (D(octets) > f->len - 14)
		complain(r, "octets rose by %llu, more than the frame's %u bytes after the MACs "
			 "and EtherType", (unsigned long long)D(octets), f->len - 14);
	if (D(table_packets_0) + D(table_packets_1) != 1 ||
	    D(table_octets_0) + D(table_octets_1) != D(octets))
		complain(r, "not added to a flow table: table packets +%llu octets +%llu, "
			 "octets +%llu", (unsigned long long)(D(table_packets_0) + D(table_packets_1)),
			 (unsigned long long)(D(table_octets_0) + D(table_octets_1)),
			 (unsigned long long)D(octets));
	if (D(not_metered_packets) || D(insert_failed) || D(no_table) || D(frag_table_failed))
		complain(r, "lost: not_metered +%llu insert_failed +%llu no_table +%llu "
			 "frag_table_failed +%llu", (unsigned long long)D(not_metered_packets),
			 (unsigned long long)D(insert_failed), (unsigned long long)D(no_table),
			 (unsigned long long)D(frag_table_failed));
	if (__builtin_popcountll(o->rose & parsed_mask) != 1)
		complain(r, "parsed_* that rose: %s; want exactly one",
			 names_of(o->rose & parsed_mask, got, sizeof(got)));
	if (__builtin_popcountll(o->rose & malformed_mask) > 1)
		complain(r, "more than one malformed reason: %s",
			 names_of(o->rose & malformed_mask, got, sizeof(got)));
	if (!f->any && o->rose != f->labels)
		complain(r, "raised %s; the label says %s", names_of(o->rose, got, sizeof(got)),
			 names_of(f->labels, want, sizeof(want)));
}

#undef D

/* After the corpus: the identity, and the table holds what the stats say
 * was added to it. */
static bool check_totals(int prog, size_t ran)
{
	struct prog_run_table_sum t;
	struct bpfix_stats s;
	char why[256];
	bool ok = true;
	int err;

	if (!read_stats(&s))
		return false;
	if (!prog_run_identity(&s, why, sizeof(why))) {
		print_error("[%s] accounting identity after the corpus: %s\n", prog_names[prog], why);
		ok = false;
	}
	if (s.packets != ran) {
		print_error("[%s] packets %llu after %zu frames ran\n", prog_names[prog],
			    (unsigned long long)s.packets, ran);
		ok = false;
	}
	/* flow_epoch stays 0 here: everything is in table 0. */
	err = prog_run_sum_table(bpf_map__fd(skel->maps.flow_table_0), ncpus, &t);
	if (err) {
		print_error("[%s] cannot read flow_table_0: %s\n", prog_names[prog], strerror(-err));
		return false;
	}
	if (t.flows != s.table_flows_0 || t.packets != s.table_packets_0 ||
	    t.octets != s.table_octets_0 || s.table_packets_1) {
		print_error("[%s] flow_table_0 holds %llu flows, %llu packets, %llu octets; the stats "
			    "say %llu, %llu, %llu (and table 1: %llu packets)\n", prog_names[prog],
			    (unsigned long long)t.flows, (unsigned long long)t.packets,
			    (unsigned long long)t.octets, (unsigned long long)s.table_flows_0,
			    (unsigned long long)s.table_packets_0,
			    (unsigned long long)s.table_octets_0,
			    (unsigned long long)s.table_packets_1);
		ok = false;
	}
	return ok;
}

/* A well-formed flow after the corpus: three IPv4 UDP packets (IP length
 * 48, frame 62) of ports no corpus frame uses, metered exactly. */
static bool check_meter_works(int prog)
{
	static const __u8 mac_a[6] = { 0x02, 0, 0, 0, 0x0c, 0x01 };
	static const __u8 mac_b[6] = { 0x02, 0, 0, 0, 0x0c, 0x02 };
	struct pkt_ip4 ip = { .src = { 10, 250, 0, 1 }, .dst = { 10, 250, 0, 2 },
			      .proto = PROTO_UDP, .ttl = 64, .id = 1 };
	struct flow_key key = {
		.ifindex = 1,	/* no ctx: loopback */
		.direction = prog == PROG_TC_EG ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS,
		.ip_version = 4, .protocol = PROTO_UDP, .ether_type = ETH_TYPE_IPV4,
		.src_port = 61001, .dst_port = 62002,
		.src.ip6 = { 10, 250, 0, 1 }, .dst.ip6 = { 10, 250, 0, 2 },
	};
	struct bpfix_stats before, after;
	struct flow_counters c;
	static struct pkt p;
	int want_ret = prog == PROG_XDP ? PROG_RUN_XDP_PASS : PROG_RUN_TC_ACT_UNSPEC;
	struct prog_run_result res = { 0 };
	bool ok = true;
	int i, err;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, ETH_TYPE_IPV4);
	pkt_ipv4(&p, &ip);
	pkt_udp(&p, 61001, 62002);
	pkt_payload(&p, 20);
	pkt_finish(&p);
	if (!read_stats(&before))
		return false;
	for (i = 0; i < 3; i++) {
		err = prog_run_frame(prog_fd(prog), p.buf, p.len, NULL, 0, frame_out,
				     sizeof(frame_out), &res);
		if (err || !res.unchanged || res.retval != want_ret) {
			print_error("[%s] the well-formed frame after the corpus: test run %d, "
				    "returned %d, unchanged %d\n", prog_names[prog], err, res.retval,
				    res.unchanged);
			return false;
		}
	}
	if (!read_stats(&after))
		return false;
	err = prog_run_lookup_flow(bpf_map__fd(skel->maps.flow_table_0), ncpus, &key, &c);
	if (err) {
		print_error("[%s] the well-formed flow after the corpus is not in flow_table_0: %s\n",
			    prog_names[prog], strerror(-err));
		return false;
	}
#define WANT(what, got_, want_) do { \
	if ((__u64)(got_) != (__u64)(want_)) { \
		print_error("[%s] well-formed flow after the corpus: %s = %llu, want %llu\n", \
			    prog_names[prog], what, (unsigned long long)(got_), \
			    (unsigned long long)(want_)); \
		ok = false; \
	} \
} while (0)
	WANT("packets", c.packets, 3);
	WANT("octets", c.octets, 3 * 48);
	WANT("l2_octets", c.l2_octets, 3 * 62);
	WANT("min_ip_len", c.min_ip_len, 48);
	WANT("max_ip_len", c.max_ip_len, 48);
	WANT("min_ttl", c.min_ttl, 64);
	WANT("flags", c.flags, 0);
	WANT("fragments", c.fragments, 0);
	WANT("stats packets", after.packets - before.packets, 3);
	WANT("stats parsed_ipv4", after.parsed_ipv4 - before.parsed_ipv4, 3);
	WANT("stats table_packets_0", after.table_packets_0 - before.table_packets_0, 3);
	WANT("stats table_flows_0", after.table_flows_0 - before.table_flows_0, 1);
#undef WANT
	for (i = 0; i < (int)BPFIX_STAT_COUNT; i++) {
		if ((malformed_mask & (1ULL << i)) &&
		    prog_run_stat(&after, i) != prog_run_stat(&before, i)) {
			print_error("[%s] the well-formed frames raised %s\n", prog_names[prog],
				    prog_run_stat_name(i));
			ok = false;
		}
	}
	return ok;
}

static void run_corpus(int prog)
{
	struct report r = { .prog = prog };
	struct bpfix_stats before, after;
	size_t i, ran = 0, refused = 0;
	int want_ret = prog == PROG_XDP ? PROG_RUN_XDP_PASS : PROG_RUN_TC_ACT_UNSPEC;
	bool ok = true;

	outcomes[prog] = calloc(nframes, sizeof(*outcomes[prog]));
	assert_non_null(outcomes[prog]);
	if (!reset_maps())
		fail_msg("[%s] cannot reset the maps: %s", prog_names[prog], strerror(errno));
	if (!read_stats(&before))
		fail();
	for (i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];
		struct outcome *o = &outcomes[prog][i];
		struct prog_run_result res = { 0 };
		int want_err = expected_err(prog, f);

		r.cur = f;
		r.cur_failed = false;
		o->err = prog_run_frame(prog_fd(prog), f->data, f->len, NULL, 0, frame_out,
					sizeof(frame_out), &res);
		if (!read_stats(&after))
			fail();
		if (o->err != want_err) {
			complain(&r, "test run returned %d, want %d", o->err, want_err);
			runs_broken += !want_err;
		} else if (o->err) {
			refused++;
			if (memcmp(&before, &after, sizeof(before)))
				complain(&r, "refused by the test run, yet counted");
		} else {
			ran++;
			if (res.retval != want_ret)
				complain(&r, "returned %d, want %d", res.retval, want_ret);
			if (!res.unchanged)
				complain(&r, "the frame came out changed");
			if (res.retval == want_ret && res.unchanged)
				runs_intact++;
			else
				runs_broken++;
			check_frame(&r, f, &before, &after, o);
		}
		before = after;
	}
	if (r.failed > REPORT_MAX)
		print_error("[%s] ... and %u more failing frames\n", prog_names[prog],
			    r.failed - REPORT_MAX);
	ok &= !r.failed;
	ok &= check_totals(prog, ran);
	ok &= check_meter_works(prog);
	runs_refused += refused;
	print_message("[%s] %zu frames: %zu ran, %zu refused by the test run, %u failed\n",
		      prog_names[prog], nframes, ran, refused, r.failed);
	if (!ok)
		fail_msg("[%s] the corpus failed (see above)", prog_names[prog]);
}

static void test_xdp(void **state)
{
	(void)state;
	run_corpus(PROG_XDP);
}

static void test_tc_ingress(void **state)
{
	(void)state;
	run_corpus(PROG_TC_IN);
}

static void test_tc_egress(void **state)
{
	(void)state;
	run_corpus(PROG_TC_EG);
}

/* One parser: what a frame raised must not depend on the program. */
static void test_programs_agree(void **state)
{
	char a[512], b[512];
	unsigned int bad = 0;
	size_t i;
	int prog;

	(void)state;
	for (prog = 0; prog < NPROGS; prog++)
		if (!outcomes[prog])
			fail_msg("%s did not run", prog_names[prog]);
	for (i = 0; i < nframes; i++) {
		for (prog = PROG_TC_IN; prog < NPROGS; prog++) {
			const struct outcome *x = &outcomes[PROG_XDP][i], *t = &outcomes[prog][i];

			if (x->err || t->err || x->rose == t->rose)
				continue;
			if (++bad <= REPORT_MAX)
				print_error("line %d %s: xdp raised %s, %s raised %s\n", frames[i].line,
					    frames[i].name, names_of(x->rose, a, sizeof(a)),
					    prog_names[prog], names_of(t->rose, b, sizeof(b)));
		}
	}
	if (bad)
		fail_msg("%u frames counted differently by XDP and TC", bad);
}

/*
 * Room for every flow and first fragment of the corpus: an LRU map evicts
 * silently when it fills (a full LRU map evicts without telling anyone), and the table
 * would then hold less than the stats say was added to it. Twice the
 * frames and some: an LRU map starts evicting a little before it is full.
 * (The defaults hold the committed corpus; SOAK's is larger.)
 */
static int size_maps(void)
{
	__u32 flows = 2 * nframes + 1024, frags = nframes + 1024;
	int err = 0;

	if (flows > FLOW_TABLE_ENTRIES) {
		err = err ?: bpf_map__set_max_entries(skel->maps.flow_table_0, flows);
		err = err ?: bpf_map__set_max_entries(skel->maps.flow_table_1, flows);
	}
	if (frags > FRAG_TABLE_ENTRIES)
		err = err ?: bpf_map__set_max_entries(skel->maps.frag_table, frags);
	return err;
}

/* Which counters the labels may name and the checks cover. */
static void init_masks(void)
{
	unsigned int i;

	for (i = 0; i < BPFIX_STAT_COUNT; i++) {
		const char *n = prog_run_stat_name(i);

		if (!strncmp(n, "parsed_", 7))
			parsed_mask |= 1ULL << i;
		else if (!strncmp(n, "malformed_", 10))
			malformed_mask |= 1ULL << i;
	}
	checked_mask = parsed_mask | malformed_mask | BIT(frag_first) | BIT(frag_joined) |
		       BIT(frag_held) | BIT(frag_table_failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xdp),
		cmocka_unit_test(test_tc_ingress),
		cmocka_unit_test(test_tc_egress),
		cmocka_unit_test(test_programs_agree),
	};
	size_t i, labelled = 0;
	int failed, err;

	_Static_assert(BPFIX_STAT_COUNT <= 64, "one bit per counter in a __u64");
	init_masks();
	if (load_corpus())
		return 1;
	if (geteuid() != 0) {
		fprintf(stderr, "test_badpkt: needs root (BPF_PROG_TEST_RUN); skipped\n");
		return SKIP_EXIT;
	}
	libbpf_set_print(prog_run_libbpf_print);
	skel = bpfix__open();
	err = skel ? size_maps() : -errno;
	if (!err)
		err = bpfix__load(skel);
	if (err) {
		/* as root, an object that does not load (a verifier
		 * rejection) is a failure, not a skip */
		fprintf(stderr, "test_badpkt: cannot load bpfix.bpf.o: %s "
			"(BPFIX_TEST_VERBOSE=1 for libbpf's messages)\n", strerror(-err));
		bpfix__destroy(skel);
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "test_badpkt: cannot count possible CPUs\n");
		bpfix__destroy(skel);
		return 1;
	}
	prog_run_pin_cpu();
	printf("test_badpkt: %zu frames from %s\n", nframes, corpus_path);
	failed = cmocka_run_group_tests_name("test_badpkt", tests, NULL, NULL);
	for (i = 0; i < nframes; i++)
		labelled += !frames[i].any;
	/* One row of RELIABILITY.md (tests/ns/lib.sh, reliability()). */
	printf("reliability: bad packets through BPF_PROG_TEST_RUN | %zu frames (%zu labelled, "
	       "%zu random) through XDP, TC ingress and TC egress: %zu runs passed the frame on "
	       "unchanged, %zu refused by the test run | %zu\n", nframes, labelled,
	       nframes - labelled, runs_intact, runs_refused, runs_broken);
	bpfix__destroy(skel);
	return failed ? 1 : 0;
}
