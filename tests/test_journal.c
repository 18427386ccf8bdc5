// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's journal (user/journal.h) over shared memory instead of the
 * pinned map: each logged operation killed at its worst moment and
 * recovered, the ledger's count of what outputs never sent, and a child
 * process that folds and expires flows while the parent kills it with
 * SIGKILL hundreds of times: every packet fed is, in the end, in exactly one
 * record handed out or still in the table.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "flowtab.h"
#include "journal.h"
#include "meter.h"

#define CAP   64
#define BATCH 128
#define NCPUS 2
#define KILLS 1000

/* ---- a journal over shared memory ------------------------------------------- */

struct rig {
	void *mem;
	size_t len;
	struct journal j;
	struct flowtab t;
	uint64_t emitted_packets;	/* by this process's emit callback */
};

static void rig_emit(void *ctx, const struct flow_record *r)
{
	struct rig *g = ctx;
	struct output_stats *s = journal_out_stats(&g->j, 0, 1);

	journal_handed(&g->j, r);
	s->records++;
	g->emitted_packets += r->fwd.packets + r->rev.packets;
}

/* A rig's memory: the journal, then its flows map's entries. */
#define RIG_LEN(cap, batch, ncpus) (journal_size(batch, ncpus) + journal_flows_size(cap))

static struct flowtab_entry *rig_entries(void *mem, uint32_t batch, uint32_t ncpus)
{
	return (struct flowtab_entry *)((uint8_t *)mem + journal_size(batch, ncpus));
}

/* journal_open_mem() over a rig's memory */
static int rig_journal_open(struct journal *j, void *mem, uint32_t cap, uint32_t batch,
			    uint32_t ncpus)
{
	return journal_open_mem(j, mem, journal_size(batch, ncpus),
				rig_entries(mem, batch, ncpus), cap, batch, ncpus);
}

static void *shared(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	return m;
}

/* The fixture: a rig of @len bytes of shared memory, zeros as a new pinned
 * map is, in *state; the test opens it. */
static int rig_map(void **state, size_t len)
{
	struct rig *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	g->len = len;
	g->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) {
		free(g);
		return -1;
	}
	*state = g;
	return 0;
}

static int rig_setup(void **state)
{
	return rig_map(state, RIG_LEN(CAP, BATCH, NCPUS));
}

static int rig_teardown(void **state)
{
	struct rig *g = *state;

	munmap(g->mem, g->len);
	free(g);
	return 0;
}

/* Open (or reopen after a "kill") the journal in g->mem and its table. */
static void rig_open(struct rig *g, uint64_t idle_ms, uint64_t active_ms)
{
	memset(&g->j, 0, sizeof(g->j));
	g->j.fd = -1;
	assert_int_equal(rig_journal_open(&g->j, g->mem, CAP, BATCH, NCPUS), 0);
	assert_int_equal(flowtab_init(&g->t, CAP, 1, 1, idle_ms, active_ms, rig_emit, g), 0);
	flowtab_adopt(&g->t, g->j.entries, &g->j);
}

static void rig_close(struct rig *g)
{
	flowtab_free(&g->t);	/* the entries are the journal's: kept */
}

static struct flow_key key_n(uint32_t n)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.ifindex = 7;
	k.ip_version = 4;
	k.protocol = 17;
	k.src.ip4 = htonl(0x0a000001);
	k.dst.ip4 = htonl(0x0a000002);
	k.src_port = (uint16_t)(1000 + n % 4000);
	k.dst_port = 53;
	return k;
}

/* The held key (include/bpfix.h, FRAGMENTS IN ANY ORDER) of fragment id
 * @id of flow key_n's addresses. */
static struct flow_key held_key(uint32_t id)
{
	struct flow_key k = key_n(0);

	flow_key_hold(&k, id);
	return k;
}

/* The rigs' frag_table: an even id is the datagram of flow key_n(id),
 * an odd one's first fragment never comes. */
static int find_even(void *ctx, const struct frag_key *fk, struct frag_ports *out)
{
	struct flow_key k = key_n(fk->id);

	(void)ctx;
	if (fk->id & 1)
		return -ENOENT;
	out->src_port = k.src_port;
	out->dst_port = k.dst_port;
	out->protocol = k.protocol;
	return 0;
}

/* Stage flow @n with @packets at slot @i, as the kernel's batch drain does. */
static void stage_at(struct journal *j, uint32_t i, uint32_t n, uint64_t packets, uint64_t ms)
{
	struct flow_counters *v = &j->values[(size_t)i * NCPUS];
	int c;

	memset(v, 0, sizeof(*v) * NCPUS);
	for (c = 0; c < NCPUS; c++) {
		v[c].packets = packets / NCPUS + (c == 0 ? packets % NCPUS : 0);
		v[c].octets = v[c].packets * 100;
		v[c].first_ns = v[c].last_ns = ms * 1000000 + n;
		v[c].min_ip_len = v[c].max_ip_len = 100;
	}
	j->keys[i] = key_n(n);
}

static void stage(struct journal *j, uint32_t i, uint32_t n, uint64_t packets)
{
	stage_at(j, i, n, packets, 1000);
}

/* The agent's drain callback, as agent_drain_flow does it. */
static void fold(void *ctx, uint32_t staged, const struct flow_key *key,
		 const struct flow_counters *pc, int ncpus)
{
	struct rig *g = ctx;
	struct flow_side side;

	flow_merge_percpu(pc, ncpus, 0, &side);
	agent_fold(&g->t, staged, key, &side);
}

static uint64_t table_packets(const struct rig *g)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < CAP; i++)
		if (g->j.entries[i].used)
			n += g->j.entries[i].side[0].packets + g->j.entries[i].side[1].packets;
	return n;
}

/* A rig with flow 2 (5 packets) and held id 2 (3 packets) folded in:
 * the indexes of the flow's entry and of the held one. */
static void rig_flow_and_held(struct rig *g, uint32_t *flow, uint32_t *held)
{
	uint32_t i;

	*flow = *held = CAP;
	rig_open(g, 60000, 60000);
	stage(&g->j, 0, 2, 5);
	stage(&g->j, 1, 2, 3);
	g->j.keys[1] = held_key(2);
	journal_fold_staged(&g->j, fold, g);
	assert_int_equal(g->t.used, 2);
	assert_int_equal(g->t.held, 1);
	for (i = 0; i < CAP; i++) {
		if (!g->j.entries[i].used)
			continue;
		if (g->j.entries[i].canon.frag_held)
			*held = i;
		else
			*flow = i;
	}
	assert_true(*flow < CAP && *held < CAP);
}

/* A rig with one flow of 5 packets folded in; returns its entry's index. */
static uint32_t rig_one_flow(struct rig *g)
{
	uint32_t idx;

	rig_open(g, 60000, 60000);
	stage(&g->j, 0, 1, 5);
	journal_fold_staged(&g->j, fold, g);
	assert_int_equal(table_packets(g), 5);
	for (idx = 0; idx < CAP && !g->j.entries[idx].used; idx++)
		;
	assert_true(idx < CAP);
	return idx;
}

static uint64_t handed(const struct rig *g)
{
	return g->j.h->ledger[g->j.h->bank].handed_packets;
}

/* ---- each operation, killed half way ---------------------------------------- */

/* APPLY killed after the entry changed, before the staged flow was released:
 * the change is undone and the flow folded again, once. */
static void test_apply_undone(void **state)
{
	struct rig *g = *state;
	struct flowtab_at at;
	struct flow_side d;
	uint32_t idx;

	rig_one_flow(g);
	stage(&g->j, 3, 1, 7);
	flow_merge_percpu(&g->j.values[3 * NCPUS], NCPUS, 0, &d);
	assert_true(flowtab_locate(&g->t, &g->j.keys[3], &d, &at));
	journal_apply_begin(&g->j, at.entry, 3);
	flowtab_add_at(&g->t, &at, &g->j.keys[3], &d);	/* ... and the kill: no release */
	idx = g->j.h->op_entry;
	assert_int_equal(g->j.h->op, JOP_APPLY);
	assert_int_equal(g->j.entries[idx].side[0].packets + g->j.entries[idx].side[1].packets, 12);
	rig_close(g);

	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.adopted, 1);
	assert_int_equal(g->j.rec.op, JOP_APPLY);
	assert_int_equal(g->j.rec.op_undone, 1);
	assert_int_equal(g->j.rec.staged, 1);
	assert_int_equal(g->j.rec.staged_packets, 7);
	assert_int_equal(table_packets(g), 5);
	journal_fold_staged(&g->j, fold, g);
	assert_int_equal(table_packets(g), 12);
	assert_int_equal(g->t.used, 1);
	assert_int_equal(g->j.keys[3].ifindex, 0);
	rig_close(g);
}

/* APPLY killed after the release: done, nothing to redo. */
static void test_apply_completed(void **state)
{
	struct rig *g = *state;

	rig_one_flow(g);
	g->j.h->op = JOP_APPLY;	/* as if killed between the release and op := NONE */
	rig_close(g);
	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.op_undone, 0);
	assert_int_equal(table_packets(g), 5);
	assert_int_equal(g->j.h->op, JOP_NONE);
	rig_close(g);
}

/* The drain's own fold (agent_fold) opens APPLY before its first store into
 * the entry: a child whose entries are read-only dies at that store
 * (SIGSEGV: like a kill, it loses no store it has made), and the next
 * agent finds APPLY open on that entry and staged flow, and folds the flow
 * once. */
static void test_fold_killed_in_apply(void **state)
{
	struct rig *g = *state;
	uint32_t idx;
	int status;
	pid_t pid;

	idx = rig_one_flow(g);
	stage(&g->j, 3, 1, 7);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct flow_side d;

		signal(SIGSEGV, SIG_DFL);	/* not cmocka's: die here */
		flow_merge_percpu(&g->j.values[3 * NCPUS], NCPUS, 0, &d);
		if (mprotect(g->j.entries, journal_flows_size(CAP), PROT_READ) == 0)
			agent_fold(&g->t, 3, &g->j.keys[3], &d);
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	assert_int_equal(g->j.h->op, JOP_APPLY);
	assert_int_equal(g->j.h->op_entry, idx);
	assert_int_equal(g->j.h->op_staged, 3);
	rig_close(g);

	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.op, JOP_APPLY);
	assert_int_equal(g->j.rec.staged_packets, 7);
	assert_int_equal(table_packets(g), 5);
	journal_fold_staged(&g->j, fold, g);
	assert_int_equal(table_packets(g), 12);
	assert_int_equal(g->j.keys[3].ifindex, 0);
	assert_int_equal(g->j.h->op, JOP_NONE);
	rig_close(g);
}

/* EMIT killed after the record was handed out: the entry goes. */
static void test_emit_completed(void **state)
{
	struct rig *g = *state;
	struct flow_record r;
	uint32_t idx;

	idx = rig_one_flow(g);
	journal_emit_begin(&g->j, idx);
	memset(&r, 0, sizeof(r));
	r.fwd.packets = 5;
	journal_handed(&g->j, &r);	/* ... killed before the entry's reset */
	rig_close(g);
	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.op, JOP_EMIT);
	assert_int_equal(g->j.rec.op_undone, 0);
	assert_int_equal(table_packets(g), 0);
	assert_int_equal(g->t.used, 0);
	assert_int_equal(handed(g), 5);
	rig_close(g);
}

/* EMIT killed half way through the ledger's update, before the record
 * counted: the entry stays as it was, the ledger as before. */
static void test_emit_undone(void **state)
{
	struct rig *g = *state;
	struct journal_ledger *l;
	uint32_t idx;

	idx = rig_one_flow(g);
	journal_emit_begin(&g->j, idx);
	l = &g->j.h->ledger[g->j.h->bank];
	l->handed_packets += 5;			/* torn: packets, not yet the record */
	memset(&g->j.entries[idx].side, 0, sizeof(g->j.entries[idx].side));
	rig_close(g);
	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.op_undone, 1);
	assert_int_equal(table_packets(g), 5);
	assert_int_equal(handed(g), 0);
	assert_int_equal(g->t.used, 1);
	rig_close(g);
}

/* Flow 2 and its held fragments (rig_flow_and_held), then a MOVE of the
 * held entry into the flow killed after the flow changed: before the
 * commit, or after it, half way through freeing the held entry. The rig
 * reopened as the next agent; the flow's entry index in @flow. */
static void rig_killed_in_move(struct rig *g, int committed, uint32_t *flow)
{
	uint32_t held;

	rig_flow_and_held(g, flow, &held);
	journal_move_begin(&g->j, *flow, held);
	g->j.entries[*flow].side[0].packets += 3;
	if (committed) {
		journal_move_done(&g->j);
		memset(&g->j.entries[held].side, 0, sizeof(g->j.entries[held].side));
	}
	rig_close(g);
	rig_open(g, 60000, 60000);
	assert_int_equal(g->j.rec.op, JOP_MOVE);
	assert_int_equal(g->j.rec.op_undone, !committed);
	assert_int_equal(table_packets(g), 8);
}

/* Then: killed before the commit, the flow as it was, the held entry
 * still there, resolved again, once; killed after, the held entry gone,
 * its counts in the flow. */
static void move_killed(struct rig *g, int committed)
{
	uint32_t flow;

	rig_killed_in_move(g, committed, &flow);
	assert_int_equal(g->j.entries[flow].side[0].packets, committed ? 8 : 5);
	assert_int_equal(g->t.held, !committed);
	assert_int_equal(flowtab_resolve_held(&g->t, find_even, NULL), !committed);
	assert_int_equal(table_packets(g), 8);
	assert_int_equal(g->j.entries[flow].side[0].packets, 8);
	assert_int_equal(g->t.used, 1);
	assert_int_equal(g->t.held, 0);
	assert_int_equal(g->j.h->op, JOP_NONE);
	rig_close(g);
}

static void test_move_killed_before_commit(void **state)
{
	move_killed(*state, 0);
}

static void test_move_killed_after_commit(void **state)
{
	move_killed(*state, 1);
}

/* A held entry that is never resolved goes out at its idle timeout with
 * ports 0 and FLOW_F_FRAG_UNMATCHED, and only then. */
static void test_held_unmatched(void **state)
{
	struct rig *g = *state;

	rig_open(g, 3000, 3000);
	stage_at(&g->j, 0, 0, 4, 1000);
	g->j.keys[0] = held_key(7);
	journal_fold_staged(&g->j, fold, g);
	assert_int_equal(flowtab_resolve_held(&g->t, find_even, NULL), 0);
	assert_int_equal(flowtab_expire(&g->t, 3999), 0);
	assert_int_equal(flowtab_expire(&g->t, 4000), 1);
	assert_int_equal(handed(g), 4);
	assert_int_equal(g->t.stats.held_unmatched, 4);
	assert_int_equal(g->t.held, 0);
	rig_close(g);
}

/* What outputs were handed and never settled is counted as not sent, once:
 * a second restart does not count it again. */
static const char *const two_outputs[] = { "udp://192.0.2.1:4739", "file:/tmp/x.ipfix" };

static void test_ledger_lost(void **state)
{
	struct rig *g = *state;
	struct output_stats *s;
	struct flow_record r;
	int i;

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, two_outputs, 2);
	s = journal_out_stats(&g->j, 0, 2);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 10; i++) {
		r.fwd.packets = 3;
		r.fwd.octets = 300;
		journal_handed(&g->j, &r);
		s->records++;
	}
	s->records_sent = 6;	/* output 0: 6 sent, 1 dropped, 3 in flight */
	s->packets_sent = 18;
	s->octets_sent = 1800;
	s->records_not_sent = 1;
	s->packets_not_sent = 3;
	s->octets_not_sent = 300;
	s = journal_out_stats(&g->j, 1, 2);	/* output 1: all 10 sent */
	s->records_sent = 10;
	s->packets_sent = 30;
	s->octets_sent = 3000;
	rig_close(g);

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, two_outputs, 2);
	assert_int_equal(g->j.rec.lost[0].records_not_sent, 3);
	assert_int_equal(g->j.rec.lost[0].packets_not_sent, 9);
	assert_int_equal(g->j.rec.lost[0].octets_not_sent, 900);
	assert_int_equal(g->j.rec.lost[1].records_not_sent, 0);
	s = journal_out_stats(&g->j, 0, 2);
	assert_int_equal(s->records_not_sent, 3);	/* reported by the new output */
	assert_int_equal(s->packets_not_sent, 9);
	/* the new agent sends all it hands, then is killed too */
	r.fwd.packets = 2;
	r.fwd.octets = 200;
	journal_handed(&g->j, &r);
	s->records++;
	s->records_sent++;
	s->packets_sent += 2;
	s->octets_sent += 200;
	journal_out_stats(&g->j, 1, 2)->records_sent++;
	rig_close(g);

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, two_outputs, 2);
	assert_int_equal(g->j.rec.lost[0].records_not_sent, 0);
	assert_int_equal(g->j.rec.lost[1].records_not_sent, 0);
	rig_close(g);
}

/* An output's loss follows its name, not its slot (issue 12: after a
 * SIGKILL, records stuck in stdout's buffer were reported by the next
 * run's file: output): the same outputs in another order, and outputs the
 * earlier agent did not have. */
static void test_ledger_by_name(void **state)
{
	static const char *const swapped[] = { "file:/tmp/x.ipfix", "udp://192.0.2.1:4739" };
	static const char *const other[] = { "tcp://192.0.2.9:4739" };
	struct rig *g = *state;
	struct output_stats *s;
	struct flow_record r;
	int i;

	memset(&r, 0, sizeof(r));
	r.fwd.packets = 2;
	r.fwd.octets = 200;
	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, two_outputs, 2);
	for (i = 0; i < 5; i++)
		journal_handed(&g->j, &r);
	s = journal_out_stats(&g->j, 0, 2);	/* the UDP one: 1 sent, 4 in flight */
	s->records_sent = 1;
	s->packets_sent = 2;
	s->octets_sent = 200;
	s = journal_out_stats(&g->j, 1, 2);	/* the file: all 5 sent */
	s->records_sent = 5;
	s->packets_sent = 10;
	s->octets_sent = 1000;
	rig_close(g);

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, swapped, 2);
	assert_int_equal(g->j.rec.lost[0].records_not_sent, 0);
	assert_int_equal(g->j.rec.lost[1].records_not_sent, 4);
	assert_int_equal(g->j.rec.lost[1].packets_not_sent, 8);
	assert_int_equal(g->j.rec.n_orphans, 0);
	assert_int_equal(journal_out_stats(&g->j, 1, 2)->records_not_sent, 4);
	assert_int_equal(journal_out_stats(&g->j, 0, 2)->records_not_sent, 0);
	rig_close(g);	/* killed again before sending anything */

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, other, 1);
	assert_int_equal(g->j.rec.lost[0].records_not_sent, 0);
	assert_int_equal(journal_out_stats(&g->j, 0, 1)->records_not_sent, 0);
	assert_int_equal(g->j.rec.n_orphans, 0);	/* counted once, in the run before */
	rig_close(g);
}

/* What an earlier agent handed an output this one does not have is an
 * orphan, named, and carried into no output of ours. */
static void test_ledger_orphan(void **state)
{
	static const char *const file_only[] = { "file:/tmp/x.ipfix" };
	struct rig *g = *state;
	struct flow_record r;
	int i;

	memset(&r, 0, sizeof(r));
	r.fwd.packets = 3;
	r.fwd.octets = 300;
	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, &(const char *){ "stdout" }, 1);
	for (i = 0; i < 7; i++)
		journal_handed(&g->j, &r);
	journal_out_stats(&g->j, 0, 1)->records_sent = 2;
	journal_out_stats(&g->j, 0, 1)->packets_sent = 6;
	journal_out_stats(&g->j, 0, 1)->octets_sent = 600;
	rig_close(g);

	rig_open(g, 60000, 60000);
	journal_new_ledger(&g->j, file_only, 1);
	assert_int_equal(g->j.rec.lost[0].records_not_sent, 0);
	assert_int_equal(journal_out_stats(&g->j, 0, 1)->records_not_sent, 0);
	assert_int_equal(g->j.rec.n_orphans, 1);
	assert_string_equal(g->j.rec.orphan[0].name, "stdout");
	assert_int_equal(g->j.rec.orphan[0].lost.records_not_sent, 5);
	assert_int_equal(g->j.rec.orphan[0].lost.packets_not_sent, 15);
	assert_int_equal(g->j.rec.orphan[0].lost.octets_not_sent, 1500);
	rig_close(g);
}

/* Another geometry is not adopted in place. */
static void test_geometry(void **state)
{
	struct rig *g = *state;
	struct journal j2;

	rig_open(g, 60000, 60000);
	rig_close(g);
	memset(&j2, 0, sizeof(j2));
	assert_int_equal(rig_journal_open(&j2, g->mem, CAP / 2, BATCH, NCPUS), 0);
	assert_int_equal(j2.rec.adopted, 0);
	/* staging for more flows than the memory holds */
	assert_int_equal(journal_open_mem(&j2, g->mem, journal_size(BATCH, NCPUS),
					  rig_entries(g->mem, BATCH, NCPUS), CAP, BATCH * 4, NCPUS),
			 -EINVAL);
}

/* A version 2 journal's memory: its entries, then room as large again
 * (a version 3 journal's flows map). */
static int rig_setup_v2(void **state)
{
	return rig_map(state, RIG_LEN(CAP, BATCH, NCPUS) + journal_flows_size(CAP));
}

/* A version 2 journal held its entries between the header and the staging
 * (the header without flows_id): read there, so that an upgraded agent can
 * export them (journal.h), and a reopen finds what was folded. */
static void test_version2(void **state)
{
	struct rig *g = *state;
	struct journal_hdr *h;
	uint8_t *base;

	base = g->mem;
	h = g->mem;
	h->version = 2;
	h->entry_size = sizeof(struct flowtab_entry);
	h->capacity = CAP;
	h->batch = BATCH;
	h->ncpus = NCPUS;
	h->magic = JOURNAL_MAGIC;
	for (int run = 0; run < 2; run++) {
		memset(&g->j, 0, sizeof(g->j));
		assert_int_equal(journal_open_mem(&g->j, g->mem, g->len, NULL, CAP, BATCH, NCPUS), 0);
		assert_int_equal(g->j.rec.adopted, 1);
		assert_int_equal(g->j.h->version, 2);
		assert_true((uint8_t *)g->j.entries >= base + offsetof(struct journal_hdr, flows_id));
		assert_true((uint8_t *)(g->j.entries + CAP) <= (uint8_t *)g->j.keys);
		assert_int_equal(flowtab_init(&g->t, CAP, 1, 1, 60000, 60000, rig_emit, g), 0);
		flowtab_adopt(&g->t, g->j.entries, &g->j);
		if (run == 0) {
			stage(&g->j, 0, 7, 10);
			journal_fold_staged(&g->j, fold, g);
		} else {
			assert_int_equal(g->j.rec.entries, 1);
			assert_int_equal(g->j.rec.packets, 10);
			assert_int_equal(table_packets(g), 10);
		}
		flowtab_free(&g->t);
	}
	/* a version 3 journal without its flows map is not opened */
	memset(base, 0, g->len);
	memset(&g->j, 0, sizeof(g->j));
	assert_int_equal(journal_open_mem(&g->j, g->mem, g->len, NULL, CAP, BATCH, NCPUS), -EINVAL);
}

/* ---- SIGKILL at random moments ------------------------------------------------ */

/* Time moves 1 ms a batch: flows stay in the table a few batches (idle
 * 3 ms, active 5 ms). */
#define ROUND_MS(round) (10000 + (uint64_t)(round))

struct ctl {
	volatile uint32_t staged_round;		/* parent: a batch is staged */
	volatile uint32_t done_round;		/* child: and folded and expired */
	volatile uint32_t ready;		/* child: recovered, waiting */
};

/* The child: an agent's loop over the shared journal, with a small table
 * and short timeouts so that records, lack-of-resources expiry and
 * active-timeout records happen all the time. */
static void child(struct rig *g, struct ctl *c)
{
	uint32_t seen = c->staged_round;

	rig_open(g, 3, 5);
	journal_new_ledger(&g->j, &(const char *){ "stdout" }, 1);
	journal_fold_staged(&g->j, fold, g);	/* what the last one left */
	flowtab_resolve_held(&g->t, find_even, NULL);
	flowtab_expire(&g->t, ROUND_MS(seen));
	c->done_round = seen;
	c->ready = 1;
	for (;;) {
		while (c->staged_round == seen)
			;
		seen = c->staged_round;
		journal_fold_staged(&g->j, fold, g);
		flowtab_resolve_held(&g->t, find_even, NULL);
		flowtab_expire(&g->t, ROUND_MS(seen));
		c->done_round = seen;
	}
}

static void test_sigkill(void **state)
{
	struct rig *g = *state;
	struct ctl *c = shared(4096);
	uint64_t fed = 0, handed_total = 0;
	uint32_t round = 0, n = 0, kills = 0, moves = 0;
	unsigned int seed = 12345;
	int k;

	memset(c, 0, sizeof(*c));
	rig_open(g, 3, 5);	/* the parent stages through g->j's pointers */
	rig_close(g);
	for (k = 0; k < KILLS; k++) {
		pid_t pid;
		struct timespec ts, t0;
		long spin_ns;
		int i, rounds;

		c->ready = 0;
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			child(g, c);
			_exit(0);
		}
		while (!c->ready)
			;
		/* a few batches, then a kill at a random moment of one */
		rounds = 1 + rand_r(&seed) % 4;
		for (i = 0; i < rounds; i++) {
			uint32_t s, nflows = 1 + rand_r(&seed) % BATCH;

			while (c->done_round != round)
				;
			for (s = 0; s < nflows; s++) {
				uint64_t p = 1 + rand_r(&seed) % 9;

				uint32_t flow = n + rand_r(&seed) % 300;

				stage_at(&g->j, s, flow, p, ROUND_MS(round + 1));
				/* a quarter are held fragments: half of them
				 * resolve (find_even), half go out unmatched */
				if (rand_r(&seed) % 4 == 0)
					g->j.keys[s] = held_key(flow);
				fed += p;
			}
			n += 7;
			c->staged_round = ++round;
		}
		/* while the child works on the last batch (a fold is ~0.1 us
		 * a flow): spin, a sleep would mostly miss it */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		spin_ns = rand_r(&seed) % 40000;
		do
			clock_gettime(CLOCK_MONOTONIC, &ts);
		while ((ts.tv_sec - t0.tv_sec) * 1000000000 + ts.tv_nsec - t0.tv_nsec < spin_ns);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kills++;
		/* What the dead agent's ledger handed, once its last operation
		 * is settled (as the next agent's open would), then zeroed: the
		 * next agent's ledger starts from nothing either way. */
		rig_open(g, 3, 5);
		moves += g->j.rec.op == JOP_MOVE;
		handed_total += handed(g);
		g->j.h->ledger[g->j.h->bank].handed_packets = 0;
		g->j.h->ledger[g->j.h->bank].handed_records = 0;
		rig_close(g);
	}
	/* The last recovery: fold what is staged, count the table. */
	rig_open(g, 3, 5);
	journal_fold_staged(&g->j, fold, g);
	handed_total += handed(g);
	printf("# %u kills (%u in a MOVE), %llu packets fed, %llu handed out, %llu in the table\n",
	       kills, moves, (unsigned long long)fed, (unsigned long long)handed_total,
	       (unsigned long long)table_packets(g));
	assert_int_equal(handed_total + table_packets(g), fed);
	rig_close(g);
	munmap(c, 4096);
}

/* ---- a journal someone else wrote ------------------------------------------- */

struct checked {
	uint64_t records, packets, insane;
};

static void check_emit(void *ctx, const struct flow_record *r)
{
	struct checked *c = ctx;
	const struct flow_side *sd[2] = { &r->fwd, &r->rev };

	c->records++;
	for (int i = 0; i < 2; i++) {
		const struct flow_side *d = sd[i];

		c->packets += d->packets;
		if (d->packets > 1000 || d->octets > d->packets * 65535 ||
		    (d->packets && d->first_ms > d->last_ms))
			c->insane++;
	}
}

/* Whole pages of the entries and the staging overwritten with random bytes
 * (as `bpftool map update` on agent_journal can): what the next agent
 * exports never holds more packets than were metered, no record disagrees
 * with itself, and what it dropped it says. 200 seeded rounds, 40 flows
 * of 10 packets folded and 8 staged each. */
static void test_corrupt_pages(void **state)
{
	struct rig *g = *state;
	uint64_t dropped = 0, rounds_dropping = 0;
	unsigned int seed = 42;

	for (int round = 0; round < 200; round++) {
		struct journal_limits lim = { .packets = 40 * 10 + 8 * 10, .now_ms = 1ull << 40 };
		struct checked c = { 0 };
		uint8_t *base;
		size_t pages, first_page;

		memset(g->mem, 0, g->len);	/* a new journal each round */
		rig_open(g, 60000, 60000);
		for (uint32_t i = 0; i < 40; i++) {
			stage(&g->j, i, i, 10);
			journal_fold_staged(&g->j, fold, g);
		}
		for (uint32_t i = 0; i < 8; i++)
			stage(&g->j, i, 100 + i, 10);
		rig_close(g);

		/* the pages after the header's: staging and entries */
		base = g->mem;
		first_page = ((uint8_t *)g->j.keys - base + 4095) / 4096;
		pages = g->len / 4096;
		for (int k = 0; k < 1 + round % 3; k++) {
			size_t p = first_page + (size_t)rand_r(&seed) % (pages - first_page);

			for (size_t b = 0; b < 4096; b++)
				base[p * 4096 + b] = (uint8_t)rand_r(&seed);
		}

		memset(&g->j, 0, sizeof(g->j));
		g->j.fd = -1;
		assert_int_equal(rig_journal_open(&g->j, g->mem, CAP, BATCH, NCPUS), 0);
		dropped += journal_drop_implausible(&g->j, &lim);
		rounds_dropping += g->j.rec.dropped > 0;
		assert_int_equal(flowtab_init(&g->t, CAP, 1, 1, 60000, 60000, check_emit, &c), 0);
		flowtab_adopt(&g->t, g->j.entries, &g->j);
		journal_fold_staged(&g->j, fold, g);
		flowtab_flush(&g->t, FLOW_END_FORCED);
		assert_true(c.packets <= lim.packets);
		assert_int_equal(c.insane, 0);
		flowtab_free(&g->t);
	}
	print_message("200 rounds of random pages: %llu entries and staged flows dropped, "
		      "in %llu rounds\n", (unsigned long long)dropped,
		      (unsigned long long)rounds_dropping);
	/* a random page that hits entries or staging is found out */
	assert_true(rounds_dropping >= 150);
}

/* A staging of one flow for every possible CPU. */
static int rig_setup_one_flow_batch(void **state)
{
	int ncpus = libbpf_num_possible_cpus();

	return ncpus > 0 ? rig_map(state, RIG_LEN(CAP, 1, (uint32_t)ncpus)) : -1;
}

/* A kernel table bucket larger than a drain batch (-ENOSPC from the batch
 * call): every flow still goes through the journal's staging, which stays
 * the drain's buffers (it used to be swapped for private ones for good,
 * and nothing was journaled after). A real map (root): PERCPU_HASH, 60
 * flows in 64 buckets, so buckets of two and more, drained with a staging
 * of one flow. */
static void test_drain_big_bucket(void **state)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	struct meter m;
	struct rig *g = *state;
	uint32_t i;

	if (geteuid() != 0) {
		print_message("needs root (a BPF map)\n");
		skip();
	}
	assert_true(ncpus > 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "big_bucket", sizeof(struct flow_key),
			    sizeof(struct flow_counters), CAP, NULL);
	assert_true(fd >= 0);
	for (i = 0; i < 60; i++) {
		struct flow_key k = key_n(i);
		struct flow_counters v[ncpus];

		memset(v, 0, sizeof(v));
		v[0].packets = 1;
		v[0].octets = 100;
		v[0].first_ns = v[0].last_ns = 1000000000;
		v[0].min_ip_len = v[0].max_ip_len = 100;
		assert_int_equal(bpf_map_update_elem(fd, &k, v, BPF_NOEXIST), 0);
	}
	memset(&g->j, 0, sizeof(g->j));
	g->j.fd = -1;
	assert_int_equal(rig_journal_open(&g->j, g->mem, CAP, 1, (uint32_t)ncpus), 0);
	assert_int_equal(flowtab_init(&g->t, CAP, 1, 1, 60000, 60000, rig_emit, g), 0);
	flowtab_adopt(&g->t, g->j.entries, &g->j);
	memset(&m, 0, sizeof(m));
	m.ncpus = ncpus;
	meter_set_drain_hooks(&m, &(struct drain_hooks){ .keys = g->j.keys, .values = g->j.values,
							.batch = 1 });

	assert_int_equal(meter_drain_fd(&m, fd, fold, g), 60);
	assert_true(m.big_buckets > 0);
	assert_ptr_equal(m.drain.keys, g->j.keys);	/* still the journal's staging */
	assert_int_equal(m.buffers_external, 1);
	assert_int_equal(g->t.used, 60);
	assert_int_equal(table_packets(g), 60);
	assert_int_equal(g->j.keys[0].ifindex, 0);	/* folded: nothing left staged */
	close(fd);
	flowtab_free(&g->t);
}

int main(void)
{
#define RIG_TEST(t, setup) cmocka_unit_test_setup_teardown(t, setup, rig_teardown)
	const struct CMUnitTest tests[] = {
		RIG_TEST(test_apply_undone, rig_setup),
		RIG_TEST(test_apply_completed, rig_setup),
		RIG_TEST(test_fold_killed_in_apply, rig_setup),
		RIG_TEST(test_emit_completed, rig_setup),
		RIG_TEST(test_emit_undone, rig_setup),
		RIG_TEST(test_move_killed_before_commit, rig_setup),
		RIG_TEST(test_move_killed_after_commit, rig_setup),
		RIG_TEST(test_held_unmatched, rig_setup),
		RIG_TEST(test_ledger_lost, rig_setup),
		RIG_TEST(test_ledger_by_name, rig_setup),
		RIG_TEST(test_ledger_orphan, rig_setup),
		RIG_TEST(test_geometry, rig_setup),
		RIG_TEST(test_version2, rig_setup_v2),
		RIG_TEST(test_sigkill, rig_setup),
		RIG_TEST(test_drain_big_bucket, rig_setup_one_flow_batch),
		RIG_TEST(test_corrupt_pages, rig_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
