/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel side as the agent sees it: load the programs through the
 * skeleton, pin the maps, attach to interfaces, flip the epoch and drain
 * the old flow table (include/bpfix.h, FLOW EPOCHS).
 */
#ifndef BPFIX_METER_H
#define BPFIX_METER_H

#include <stdint.h>
#include "bpfix.h"
#include "config.h"

struct bpfix;

/* The drain's batch: this much of per-CPU values a batch call, and 64
 * flows more (the journal's staging holds one batch: budget.h). */
#define DRAIN_BATCH_BYTES (4u << 20)

static inline uint32_t meter_drain_batch(uint32_t ncpus)
{
	return DRAIN_BATCH_BYTES / (sizeof(struct flow_counters) * ncpus) + 64;
}

struct attachment {
	unsigned int ifindex;
	char name[IF_NAMESIZE];
	int lock_fd;		/* flock'd: one bpfix per interface */
	char lock_path[64];
	int inherited;		/* an earlier agent's filter was here: its clsact may go */
	int created_qdisc;	/* we created clsact in this run */
	int attached_in;	/* TC ingress filter / XDP program in place */
	int attached_eg;	/* TC egress filter */
	int link_fd[2];		/* TCX links, ingress and egress (pinned), or -1 */
	uint32_t mtu;		/* as the last link event said (links.h); 0: not known */
};

/*
 * Where a drain puts what it reads, and what runs ahead of it: one struct,
 * set in one call (meter_set_drain_hooks). Until then the meter drains
 * into buffers of its own and nothing looks ahead.
 */
struct drain_hooks {
	/* The staging: each batch call writes its flows straight into these
	 * (the journal's, journal.h, where a drained flow survives the agent).
	 * Unused keys are zero there. */
	struct flow_key *keys;		/* batch of them */
	struct flow_counters *values;	/* batch * ncpus */
	uint32_t batch;
	/* Called with the key of the flow ahead_dist ahead of the one the
	 * drain callback gets, to warm the cache for it (flowtab_prefetch),
	 * or NULL. */
	void (*ahead)(void *ahead_ctx, const struct flow_key *key);
	void *ahead_ctx;
	uint32_t ahead_dist;
};

/* A program an earlier agent on this pin path pinned (user/meter.c, AN
 * EARLIER AGENT'S ATTACHMENTS): how its attachments are known. */
#define DEAD_PROGS 16

struct dead_prog {
	int fd;
	__u32 id;
	char name[16];		/* BPF_OBJ_NAME_LEN */
	char pin[PATH_MAX + 288];	/* pin_dir/NAME-ID */
};

struct meter {
	struct bpfix *skel;
	enum attach_mode mode;
	int tcx;		/* -m tc through TCX links, not legacy filters */
	enum tc_position tc_position;	/* where new TCX links go */
	__u32 tc_prio, tc_handle;	/* legacy filters' */
	unsigned long netns_ino;	/* names our TCX links' pins */
	int ncpus;		/* possible CPUs: per-CPU value slots */
	int table_fd[FLOW_TABLES];
	int tables_fd;		/* flow_tables (map of maps) */
	int epoch_fd;
	int stats_fd;
	int frag_fd;		/* frag_table */
	uint32_t epoch;		/* the epoch the kernel writes now */
	uint32_t table_entries;
	int pinned;		/* maps pinned under pin_dir (by us or adopted) */
	int created_dir;	/* pin_dir did not exist before us */
	int adopted;		/* pinned maps of an earlier run were reused */
	int pin_dir_fd;		/* flock'd: one agent per pin path */
	int pin_locked;		/* the flock is ours: only then may pin_dir go */
	char prog_pin[3][PATH_MAX + 32];	/* our programs' pins (NAME-ID), or "" */
	struct dead_prog dead[DEAD_PROGS];	/* an earlier agent's programs */
	int n_dead;
	int pinned_only;	/* known by their pins only, not by name */
	unsigned int taken_over, removed;	/* its attachments, as adopted */
	int verbose;		/* -v: each of them said on stderr */
	int stale_fd[FLOW_TABLES];	/* incompatible tables of an earlier run, or -1 */
	char pin_dir[PATH_MAX];
	struct attachment *att;	/* n_att of them, room for cap_att (MAX_FOLLOWED at most) */
	int n_att, cap_att;
	struct drain_hooks drain;	/* the hooks', or our own buffers */
	int buffers_external;		/* drain.keys are the hooks' staging */
	uint32_t keys_dirty;		/* keys the last batch wrote: zeroed before the next */
	uint64_t big_buckets;		/* buckets larger than a batch (meter_drain_fd) */
};

/* drain_fn's @staged when the flow is in the meter's own buffers: in no
 * staging (struct drain_hooks). */
#define DRAIN_UNSTAGED UINT32_MAX

/* Callback for each drained flow: its index in the staging
 * (drain_hooks.keys[@staged], or DRAIN_UNSTAGED), its key and its per-CPU
 * slots. */
typedef void (*drain_fn)(void *ctx, uint32_t staged, const struct flow_key *key,
			 const struct flow_counters *percpu, int ncpus);

/* Open, size, pin (reusing an earlier run's pins when compatible) and load.
 * Returns 0 or a negative errno with one line in @err. */
int meter_open(struct meter *m, const struct bpfix_config *cfg, char *err, size_t errlen);
/* Attach to the @n interfaces of @ifs (those attached already stay), as
 * @cfg says (-v, --tc-mode, --tc-position, --tc-prio, --tc-handle: they
 * hold for interfaces attached later too); on failure, everything attached
 * is detached again and @err names the interface and the cause. Then an
 * earlier agent's attachments on interfaces not attached now are removed
 * (AN EARLIER AGENT'S ATTACHMENTS). */
int meter_attach(struct meter *m, const struct bpfix_config *cfg, const struct iface *ifs, int n,
		 char *err, size_t errlen);
/* Undo exactly what meter_attach did. */
void meter_detach(struct meter *m);
/* One interface, attached while running (user/attach.c): locked, an earlier
 * agent's attachment there taken over, ours added. On failure nothing of
 * it stays and @err names the interface and the cause. */
int meter_attach_iface(struct meter *m, unsigned int ifindex, const char *name, char *err,
		       size_t errlen);
/* Undo what meter_attach_iface did for @ifindex (none: nothing). */
void meter_detach_iface(struct meter *m, unsigned int ifindex);
/* The interface @ifindex is gone: the kernel took our attachments with it
 * (and may have given the number to another interface already, whose
 * qdisc and filters are not ours), so only our state, lock and link
 * pins go. */
void meter_forget_iface(struct meter *m, unsigned int ifindex);
/* Our attachment on @ifindex, or NULL. */
struct attachment *meter_iface(struct meter *m, unsigned int ifindex);
/* Whether our program is still where we attached it on @a (XDP: a driver
 * may drop it when it reconfigures, e.g. for an MTU; TC: always 1). */
int meter_iface_intact(struct meter *m, const struct attachment *a);
/* The programs an earlier agent pinned on this pin path (user/attach.c),
 * found at open; forgotten (@unpin: their pins removed too) once each of
 * their attachments is dealt with, or at close. */
void attach_find_earlier(struct meter *m);
void attach_forget_earlier(struct meter *m, int unpin);
/* Release everything; @unpin also removes the pins (clean shutdown). */
void meter_close(struct meter *m, int unpin);

/* Switch the kernel to the other table and wait until no program can still
 * write the old one. Returns the old table's slot, or a negative errno. */
int meter_flip(struct meter *m);
/* Read and delete every flow of table @slot (batch operations only).
 * Returns the number of flows drained or a negative errno. */
long meter_drain(struct meter *m, int slot, drain_fn fn, void *ctx);
/* The same for any flow table fd (an earlier run's stale table). */
long meter_drain_fd(struct meter *m, int fd, drain_fn fn, void *ctx);
/* Drain into @h's staging instead of the meter's own buffers, and call
 * @h->ahead ahead of the drain callback. The next drain zeroes every key
 * of the staging before its first batch call: what an earlier agent left
 * there is folded before (journal_fold_staged). A bucket larger than a
 * batch (rare) is read into memory of the drain's own and passed on
 * through the staging a batch at a time (big_buckets counts it). */
void meter_set_drain_hooks(struct meter *m, const struct drain_hooks *h);
/* frag_table as one sweep reads it: what the agent resolves held keys
 * against (include/bpfix.h, FRAGMENTS IN ANY ORDER). */
struct frag_entry {
	struct frag_key key;
	struct frag_ports ports;
};

struct frag_snapshot {
	struct frag_entry *e;	/* sorted by key */
	uint32_t n, cap;
	struct frag_key *keys;	/* batch buffers, cap each */
	struct frag_ports *ports;
};

/* Read all of frag_table with batch lookups (no per-key syscall) into
 * @fs, sorted for frag_snapshot_find. Returns the number of entries or a
 * negative errno. */
long meter_read_frags(struct meter *m, struct frag_snapshot *fs);
/* A frag_find_fn (flowtab.h) over a struct frag_snapshot. */
int frag_snapshot_find(void *fs, const struct frag_key *fk, struct frag_ports *out);
void frag_snapshot_free(struct frag_snapshot *fs);

/* The BTF of the "flows" map the object declares (bpf/bpfix.bpf.c), for
 * the journal to create it with (journal.h). -ENOENT: the object has none. */
int meter_flows_type(const struct meter *m, int *btf_fd, __u32 *key_type_id,
		     __u32 *value_type_id);

/* The tunnels map (include/bpfix.h, TUNNELS) into @by_ref, indexed by ref
 * (@n_refs entries: refs at or past it are skipped), with batch lookups.
 * Returns the pairs read or a negative errno. */
long meter_read_tunnels(struct meter *m, struct tunnel_ends *by_ref, uint32_t n_refs);

/* Sum the per-CPU stats. */
int meter_read_stats(struct meter *m, struct bpfix_stats *sum);

/* Sum per-CPU stats slots (exposed for tests). */
void stats_sum(const struct bpfix_stats *percpu, int ncpus, struct bpfix_stats *sum);

#endif /* BPFIX_METER_H */
