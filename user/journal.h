/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's journal: what the agent holds in memory survives its death.
 *
 * A drain moves flows out of the kernel's tables (lookup-and-delete). Once
 * moved, the counts live only in the agent until they are exported; an
 * agent killed with SIGKILL would take them with it. So the memory that
 * holds them is not the agent's own: it is a BPF array map
 * (BPF_F_MMAPABLE), pinned beside the flow tables as "agent_journal" and
 mmap()ed, and so is a second one, "flows", the agent's flow table
 * entries (include/bpfix.h, struct flowtab_entry; the hash chains and the
 * free list are rebuilt from them), typed by the object's BTF so that
 * `bpftool map dump` shows every live flow by field name. The journal
 * holds
 *
 *   - the drain's staging buffers: the kernel writes each batch of drained
 *     flows straight into them; a staged flow whose key is not zero has not
 *     been folded into the table yet;
 *   - a ledger: records handed to the outputs, and per output what it
 *     settled (written to its transport, or counted as not sent);
 *   - the operation in progress, with an undo copy of the one entry it
 *     changes;
 *   - the id of its "flows" map: the two are one journal, adopted or
 *     replaced together (a journal whose flows map is gone or another is
 *     replaced, with a warning).
 *
 * Both maps are MAP_SHARED memory of the one process: the ordering below
 * holds across them as within one.
 *
 * Every change that moves counts is one logged operation:
 *
 *   APPLY  fold staged flow S into entry E: undo := E; op := APPLY; change
 *          E; zero S's key; op := NONE. Recovery: S's key still set means
 *          the fold may be partial: E := undo, and S is folded again.
 *   EMIT   make entry E's record: undo := E; before := handed; op := EMIT;
 *          handed += the record; hand it to the outputs; reset or free E;
 *          op := NONE. Recovery: handed moved means the record went out: E
 *          is freed; else E := undo and handed := before.
 *   MOVE   move held entry H into entry T, its datagram's flow (flowtab.h,
 *          flowtab_resolve_held): undo := T; moved := 0; op := MOVE;
 *          change (or create) T; moved := 1; free H; op := NONE.
 *          Recovery: moved set means T holds H's counts: H is freed; else
 *          T := undo and H stays. (moved, not H's own state, commits: H's
 *          release is a memset of many stores.)
 *
 * The op word is the commit: a single aligned store, after the fields it
 * describes (a killed process loses no store it has executed; a compiler
 * barrier keeps them in order). The other state an operation touches
 * (FIN/RST flags of a flow, its initiator) moves no counts.
 *
 * A restarted agent finds the journal pinned, finishes or undoes the
 * operation, rebuilds its table, folds what was staged, and counts as not
 * sent, per output, what was handed to an output but never settled by it
 * (in a UDP message not yet sent, a TCP queue, an unwritten stdout
 * buffer): handed - (sent + not sent). Those are reported by the new
 * outputs, in the options records of an IPFIX session. Nothing is counted
 * twice but for one case no process can rule out: a message the transport
 * took in the instant before the kill, counted as not sent though it
 * arrived.
 *
 * A journal of another geometry (another --flows, another number of
 * CPUs) cannot be adopted in place: the agent exports its flows at once as
 * forced-end records (not crash-safe for that moment) and replaces it. So
 * is a journal of version 1 or 2, which held the entries itself (between
 * the header and the staging): an upgrade cuts the flows of that moment
 * short, it loses none. One of another entry layout cannot be read: it is
 * replaced, with a warning. Versions 1 to 3 are all of another entry
 * layout now (version 4's flow keys carry the tunnel: 60 bytes, not 52),
 * so an agent of before tunnels leaves a journal that is replaced, with
 * that one line (entry_size says it).
 */
#ifndef BPFIX_JOURNAL_H
#define BPFIX_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "flow.h"
#include "output.h"

#define JOURNAL_MAGIC   0x4c4e4a7869667062ull	/* "bpfixJNL" */
#define JOURNAL_VERSION 4	/* 4: outputs named in the ledgers, the interface
				 * table (ifaces[]): a successor tells the flows of an
				 * interface gone while no agent ran from those of one
				 * that took its number, and flow keys with tunnel
				 * fields (ABI 4); 3: entries in FLOWS_PIN; 2: JOP_MOVE */
#define JOURNAL_IFACES  MAX_FOLLOWED
#define JOURNAL_ENTRIES_INSIDE 2	/* up to this version the entries were here */
#define JOURNAL_OUTPUT_IDS 4	/* from this version the ledgers name their outputs */
#define JOURNAL_OUTPUT_NAME 48	/* an output's name as a message repeats it */
#define JOURNAL_OUTPUTS (MAX_COLLECTORS + 1)
#define JOURNAL_PIN     "agent_journal"
#define FLOWS_PIN       "flows"

enum journal_op {
	JOP_NONE = 0,
	JOP_APPLY = 1,
	JOP_EMIT = 2,
	JOP_MOVE = 3,
};

struct journal_ledger {
	uint64_t handed_records;	/* records handed to every output */
	uint64_t handed_packets;
	uint64_t handed_octets;
	uint32_t n_out;			/* outputs of the agent that wrote it */
	uint32_t pad0;
	struct output_stats out[JOURNAL_OUTPUTS];	/* each output's own counts */
	/* not sent at the ledger's start (an earlier agent's loss): in out[]'s
	 * not-sent counts, but never handed in this ledger */
	uint64_t carried[JOURNAL_OUTPUTS][3];
};

/* One interface the table's flows may be on, by the name the agent knew
 * it by (agent.c, FOLLOWING THE NODE). */
struct journal_iface {
	uint32_t ifindex;		/* 0: a free slot; written after the name (the commit) */
	char name[IF_NAMESIZE];
};

struct journal_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t entry_size;		/* sizeof(struct flowtab_entry) */
	uint32_t capacity;		/* entries */
	uint32_t batch;			/* staged flows */
	uint32_t ncpus;			/* per-CPU values per staged flow */
	uint32_t bank;			/* ledger[bank] is current */
	/* the operation in progress */
	uint32_t op;			/* enum journal_op: written last */
	uint32_t op_entry;		/* APPLY, EMIT: the entry; MOVE: T */
	uint32_t op_staged;		/* APPLY: the staged flow; MOVE: H */
	uint32_t pad0;
	uint64_t before[3];		/* EMIT: handed records, packets, octets;
					 * MOVE: before[0] is moved */
	struct flowtab_entry undo;
	struct journal_ledger ledger[2];
	uint64_t runs;			/* agents that used this journal */
	/* version 3 */
	uint32_t flows_id;		/* kernel id of its FLOWS_PIN map */
	uint32_t pad1;
	/* version 4: whose each of ledger[b].out[] is, so that a successor
	 * with other outputs (or the same in another order) counts an
	 * output's loss against that output: a hash of its whole name
	 * (output_id()), never 0 for an output, and the name's start */
	uint64_t out_id[2][JOURNAL_OUTPUTS];
	char out_name[2][JOURNAL_OUTPUTS][JOURNAL_OUTPUT_NAME];
	/* ... and the interface table */
	uint32_t n_ifaces;		/* slots of ifaces[] ever used */
	uint32_t pad2;
	struct journal_iface ifaces[JOURNAL_IFACES];
};

/* What a restart found, for the log line and the tests. */
struct journal_recovery {
	int adopted;			/* an earlier agent's journal was found */
	uint32_t op;			/* the operation it was killed in */
	int op_undone;			/* ... undone (else completed) */
	uint64_t entries, packets;	/* flows and packets in its table */
	uint64_t staged, staged_packets;	/* drained flows not yet folded */
	struct output_stats lost[JOURNAL_OUTPUTS];	/* handed, never settled: by
							 * this agent's outputs */
	/* ... by an earlier agent's output this agent does not have */
	struct journal_orphan {
		char name[JOURNAL_OUTPUT_NAME];
		struct output_stats lost;
	} orphan[JOURNAL_OUTPUTS];
	int n_orphans;
	uint64_t dropped;		/* entries and staged flows found implausible */
};

/* What an adopted journal can hold at most (journal_drop_implausible). */
struct journal_limits {
	uint64_t packets;		/* the kernel's packet count: no flow holds more */
	uint64_t now_ms;		/* wall clock: no packet is later */
};
#define JOURNAL_CLOCK_SLACK_MS (24ull * 3600 * 1000)	/* clocks that were set back */

struct journal {
	struct journal_hdr *h;
	struct flowtab_entry *entries;	/* the flows map (a version 1, 2: in mem) */
	struct flow_key *keys;		/* staging */
	struct flow_counters *values;	/* staging: batch * ncpus */
	void *mem;
	size_t len;
	int fd;
	int pinned;
	char path[4096];
	struct flowtab_entry *flows_mem;	/* the flows map, mapped */
	size_t flows_len;
	int flows_fd;
	char flows_path[4096];
	struct journal_recovery rec;
	struct journal *old;		/* an earlier journal of another geometry */
};

/* Is there a bpfix journal pinned in @pin_dir (a directory bpfix made)? */
int journal_pinned(const char *pin_dir);

/* Size of a journal for this geometry (a multiple of the page size), and
 * of its flows map of @capacity entries (mapped size, whole pages): the
 * memory the agent's table and journal take. */
size_t journal_size(uint32_t batch, uint32_t ncpus);
size_t journal_flows_size(uint32_t capacity);

/* The flows map's type: the BPF object's BTF (bpf/bpfix.bpf.c, "flows"),
 * so bpftool can name its fields; btf_fd -1 creates it untyped. */
struct journal_flows_type {
	int btf_fd;
	uint32_t key_type_id;
	uint32_t value_type_id;
};

/*
 * Open the journal pinned at @pin_dir/agent_journal and its entries at
 * @pin_dir/flows, or create and pin both (mode 0600). An earlier agent's
 * journal of the same geometry is adopted in place: its operation is
 * finished or undone (j->rec says what was found); flowtab_adopt(),
 * journal_new_ledger() and journal_fold_staged() then take it over. One of
 * another geometry or an earlier version is mapped as j->old, for the agent
 * to export. Returns 0 or a negative errno with one line in @err.
 */
int journal_open(struct journal *j, const char *pin_dir, uint32_t capacity, uint32_t batch,
		 uint32_t ncpus, const struct journal_flows_type *type, char *err,
		 size_t errlen);
/* The same over memory the caller provides (tests: MAP_SHARED regions);
 * @mem holds journal_size() bytes, zero or an earlier journal, @entries
 * @capacity entries (ignored for a version 1 or 2 journal, which holds its
 * own). */
int journal_open_mem(struct journal *j, void *mem, size_t len, struct flowtab_entry *entries,
		     uint32_t capacity, uint32_t batch, uint32_t ncpus);
/*
 * An adopted journal is memory anyone with the pin could have written: drop
 * each table entry and staged flow no meter could have made (fields out of
 * range, counts and lengths that disagree, more packets than the kernel
 * ever counted, alone or all together, times in the future) and a ledger
 * whose outputs settled more than they were handed. One line on stderr
 * says what was dropped; j->rec is surveyed again. Call after opening and
 * before flowtab_adopt(). Returns how many were dropped.
 */
uint64_t journal_drop_implausible(struct journal *j, const struct journal_limits *lim);
/* Unmap; @unpin removes both pins (a clean shutdown exported everything). */
void journal_close(struct journal *j, int unpin);

/*
 * The log (the operations above). Each is opened and closed by the one
 * function that makes its change. An entry is an index into j->entries
 * (the undo copy is taken there), a staged flow an index into j->keys;
 * the journal knows no more of who changes them. @j may be NULL: nothing
 * is logged.
 *
 * APPLY: journal_apply_begin() once the entry the fold of @staged changes
 * is known, before any change of it; journal_apply_end() after: the staged
 * flow is released (also one that had nothing to fold, without a begin).
 * A @staged outside the staging (>= batch: DRAIN_UNSTAGED, meter.h) logs
 * nothing, there is nothing to redo.
 * EMIT: journal_emit_begin() before the record of @entry is handed
 * (journal_handed), journal_end() once @entry is reset or freed.
 * MOVE: journal_move_begin() before @target changes, journal_move_done()
 * once it holds @held's counts (the commit), journal_end() once @held is
 * freed.
 */
void journal_apply_begin(struct journal *j, uint32_t entry, uint32_t staged);
void journal_apply_end(struct journal *j, uint32_t staged);
void journal_emit_begin(struct journal *j, uint32_t entry);
void journal_move_begin(struct journal *j, uint32_t target, uint32_t held);
void journal_move_done(struct journal *j);
void journal_end(struct journal *j);	/* closes EMIT and MOVE */

/* The interface table: @ifindex is called @name for the flows of the
 * table from now on (attached, renamed), or, @name NULL, has no flows left
 * (let go, its flows exported). Nothing with a journal of an earlier
 * version. */
void journal_iface(struct journal *j, uint32_t ifindex, const char *name);
/* The name the journal knows @ifindex by, or NULL. */
const char *journal_iface_name(const struct journal *j, uint32_t ifindex);
/* Forget every interface of the table (a new agent tells its own). */
void journal_ifaces_clear(struct journal *j);

/* The agent's side: a record is about to go to the outputs. */
void journal_handed(struct journal *j, const struct flow_record *r);
/* The current ledger's stats slot for output @i (of @n_out): outputs count
 * into it. */
struct output_stats *journal_out_stats(struct journal *j, int i, int n_out);

/*
 * Start a new ledger for the @n_out outputs @names (this agent's, in the
 * order of their slots), in which each output's slot begins with what the
 * earlier agent handed the output of that name and it never settled
 * (j->rec.lost[slot]), counted as not sent; what it handed an output of
 * another name is in j->rec.orphan. A journal older than
 * JOURNAL_OUTPUT_IDS names no outputs: its slots are matched in order.
 * Call before the outputs take their slots (journal_out_stats).
 */
void journal_new_ledger(struct journal *j, const char *const *names, int n_out);
/* Count @lost[] (JOURNAL_OUTPUTS slots) as not sent in the current ledger:
 * an earlier journal's losses. */
void journal_carry(struct journal *j, const struct output_stats *lost);

/* Fold the staged flows an earlier agent drained but never folded, through
 * @fold with each one's index in the staging (the agent's drain callback,
 * which folds each as one APPLY). */
typedef void (*journal_fold_fn)(void *ctx, uint32_t staged, const struct flow_key *key,
				const struct flow_counters *percpu, int ncpus);
void journal_fold_staged(struct journal *j, journal_fold_fn fold, void *ctx);

#endif /* BPFIX_JOURNAL_H */
