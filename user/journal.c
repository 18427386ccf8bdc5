// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's journal: see journal.h for the layout and the protocol. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "initiator.h"
#include "journal.h"

#define JOURNAL_PAGE 4096u

/* Stores before it are done before stores after it: the op word commits. */
#define ordered() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* The header as a version @v journal has it: the fields after runs came
 * with version 3, the outputs' names and the interface table with 4. */
static size_t hdr_size(uint32_t v)
{
	if (v >= JOURNAL_OUTPUT_IDS)
		return sizeof(struct journal_hdr);
	return v > JOURNAL_ENTRIES_INSIDE ? offsetof(struct journal_hdr, out_id)
					  : offsetof(struct journal_hdr, flows_id);
}

static int entries_inside(const struct journal_hdr *h)
{
	return h->version <= JOURNAL_ENTRIES_INSIDE;
}

/* Offsets of the parts after the header. Up to version 2 the entries came
 * first. */
static size_t off_entries(uint32_t v)
{
	return round_up(hdr_size(v), 64);
}

static size_t off_keys(uint32_t v, uint32_t capacity)
{
	size_t entries = v > JOURNAL_ENTRIES_INSIDE ? 0
			 : (size_t)capacity * sizeof(struct flowtab_entry);

	return round_up(off_entries(v) + entries, 64);
}

static size_t off_values(uint32_t v, uint32_t capacity, uint32_t batch)
{
	return round_up(off_keys(v, capacity) + (size_t)batch * sizeof(struct flow_key), 64);
}

static size_t layout_size(uint32_t v, uint32_t capacity, uint32_t batch, uint32_t ncpus)
{
	return round_up(off_values(v, capacity, batch) +
			(size_t)batch * ncpus * sizeof(struct flow_counters), JOURNAL_PAGE);
}

size_t journal_size(uint32_t batch, uint32_t ncpus)
{
	return layout_size(JOURNAL_VERSION, 0, batch, ncpus);
}

size_t journal_flows_size(uint32_t capacity)
{
	return round_up((size_t)capacity * sizeof(struct flowtab_entry), JOURNAL_PAGE);
}

static void set_parts(struct journal *j, struct flowtab_entry *entries)
{
	uint8_t *p = j->mem;
	const struct journal_hdr *h = j->mem;

	j->h = j->mem;
	j->entries = entries_inside(h) ? (struct flowtab_entry *)(p + off_entries(h->version))
				       : entries;
	j->keys = (struct flow_key *)(p + off_keys(h->version, h->capacity));
	j->values = (struct flow_counters *)(p + off_values(h->version, h->capacity, h->batch));
}

/* Version 1 is version 2 without MOVE; both held the entries themselves,
 * in this layout: they are read (to be exported), never adopted in place. */
static int same_layout(const struct journal_hdr *h)
{
	return h->magic == JOURNAL_MAGIC && h->version >= 1 && h->version <= JOURNAL_VERSION &&
	       h->entry_size == sizeof(struct flowtab_entry);
}

/* @mem (@len bytes) holds a journal this agent can read, of any geometry. */
static int readable(const void *mem, size_t len)
{
	const struct journal_hdr *h = mem;

	return len >= sizeof(*h) && same_layout(h) &&
	       len >= layout_size(h->version, h->capacity, h->batch, h->ncpus);
}

static int same_geometry(const struct journal_hdr *h, uint32_t capacity, uint32_t batch,
			 uint32_t ncpus)
{
	return h->capacity == capacity && h->batch == batch && h->ncpus == ncpus;
}

static int staged(const struct flow_key *k)
{
	return k->ifindex != 0;	/* every metered flow has an interface */
}

/* Finish or undo the operation a killed agent was in. */
static void settle_op(struct journal *j)
{
	struct journal_hdr *h = j->h;
	struct journal_ledger *l = &h->ledger[h->bank];

	j->rec.op = h->op;
	switch (h->op) {
	case JOP_APPLY:
		if (h->op_entry < h->capacity && h->op_staged < h->batch &&
		    staged(&j->keys[h->op_staged])) {
			j->entries[h->op_entry] = h->undo;	/* fold again */
			j->rec.op_undone = 1;
		}
		break;
	case JOP_EMIT:
		if (h->op_entry >= h->capacity)
			break;
		if (l->handed_records != h->before[0]) {
			/* the record went out: the entry's counts with it */
			memset(&j->entries[h->op_entry], 0, sizeof(struct flowtab_entry));
		} else {
			j->entries[h->op_entry] = h->undo;
			l->handed_packets = h->before[1];
			l->handed_octets = h->before[2];
			j->rec.op_undone = 1;
		}
		break;
	case JOP_MOVE:
		if (h->op_entry >= h->capacity || h->op_staged >= h->capacity)
			break;
		if (h->before[0]) {
			memset(&j->entries[h->op_staged], 0, sizeof(struct flowtab_entry));
		} else {
			j->entries[h->op_entry] = h->undo;
			j->rec.op_undone = 1;
		}
		break;
	}
	ordered();
	h->op = JOP_NONE;
}

/* What an adopted journal holds, for j->rec. */
static void survey(struct journal *j)
{
	const struct journal_hdr *h = j->h;
	uint32_t i;
	int s;

	for (i = 0; i < h->capacity; i++) {
		const struct flowtab_entry *e = &j->entries[i];

		if (!e->used)
			continue;
		j->rec.entries++;
		for (s = 0; s < 2; s++)
			j->rec.packets += e->side[s].packets;
	}
	for (i = 0; i < h->batch; i++) {
		if (!staged(&j->keys[i]))
			continue;
		j->rec.staged++;
		for (s = 0; s < (int)h->ncpus; s++)
			j->rec.staged_packets += j->values[(size_t)i * h->ncpus + s].packets;
	}
}

/* ---- what an adopted journal may hold ----------------------------------- */

/* A key the kernel could have made (include/bpfix.h, struct flow_key). */
static int key_plausible(const struct flow_key *k)
{
	if (k->direction > FLOW_DIR_EGRESS || k->frag_held > 1 || k->tun_type > TUNNEL_MPLS ||
	    k->tun_reversed > 1 || k->tun_ref > TUNNEL_REF_MAX ||
	    (!k->tun_type && (k->tun_reversed || k->tun_id || k->tun_ref)))
		return 0;
	switch (k->ip_version) {
	case 4:
		return !k->src.words[1] && !k->src.words[2] && !k->src.words[3] &&
		       !k->dst.words[1] && !k->dst.words[2] && !k->dst.words[3];
	case 6:
		return 1;
	case 0:
		return !k->protocol && !k->src_port && !k->dst_port && !k->frag_held;
	}
	return 0;
}

/* Counts one direction may hold: no more packets than the kernel ever
 * counted, lengths and times that agree with each other. */
static int side_plausible(const struct flow_side *d, const struct journal_limits *lim)
{
	if (!d->packets)
		return !d->octets && !d->fragments;
	return d->packets <= lim->packets && d->octets <= d->packets * 65535 &&
	       d->octets >= d->packets * d->min_ip_len && d->min_ip_len <= d->max_ip_len &&
	       d->fragments <= d->packets && d->min_ttl <= d->max_ttl &&
	       d->direction <= FLOW_DIR_EGRESS && d->tcp_flags <= 0x1ff &&
	       d->first_ms <= d->last_ms && d->last_ms <= lim->now_ms + JOURNAL_CLOCK_SLACK_MS;
}

static int entry_plausible(const struct flowtab_entry *e, const struct journal_limits *lim)
{
	int s;

	if (e->used != 1 || !key_plausible(&e->canon) || e->initiator < -1 ||
	    e->initiator > 1 || e->rst > 1 || e->end_check > 1 || e->rule > INIT_FIRST_SEEN)
		return 0;
	for (s = 0; s < 2; s++) {
		if (e->seen[s] > 1 || e->fin[s] > 1 || !side_plausible(&e->side[s], lim))
			return 0;
		if (e->seen[s] && !key_plausible(&e->key[s]))
			return 0;
	}
	return 1;
}

static int staged_plausible(const struct flow_key *k, const struct flow_counters *v,
			    uint32_t ncpus, const struct journal_limits *lim)
{
	uint64_t packets = 0;
	uint32_t c;

	if (!key_plausible(k))
		return 0;
	for (c = 0; c < ncpus; c++) {
		if (v[c].packets > lim->packets || v[c].octets > v[c].packets * 65535 ||
		    v[c].min_ip_len > v[c].max_ip_len || v[c].fragments > v[c].packets ||
		    (v[c].packets && v[c].first_ns > v[c].last_ns))
			return 0;
		packets += v[c].packets;
	}
	return packets && packets <= lim->packets;
}

/* The ledger of the outputs: nobody settled more than was handed. */
static int ledger_plausible(const struct journal_ledger *l, const struct journal_limits *lim)
{
	uint32_t o;

	if (l->n_out > JOURNAL_OUTPUTS || l->handed_packets > lim->packets)
		return 0;
	for (o = 0; o < l->n_out; o++) {
		const struct output_stats *s = &l->out[o];

		if (s->records_sent + s->records_not_sent > l->handed_records + l->carried[o][0] ||
		    s->records_sent > s->records || l->carried[o][0] > s->records_not_sent)
			return 0;
	}
	return 1;
}

uint64_t journal_drop_implausible(struct journal *j, const struct journal_limits *lim)
{
	struct journal_hdr *h = j->h;
	struct journal_ledger *l = &h->ledger[h->bank];
	uint64_t entries = 0, staged_n = 0, total = 0;
	uint32_t i;
	int ledger = 1;

	if (!j->rec.adopted)
		return 0;
	for (i = 0; i < h->capacity; i++) {
		struct flowtab_entry *e = &j->entries[i];

		if (!e->used)
			continue;
		if (entry_plausible(e, lim) &&
		    e->side[0].packets + e->side[1].packets <= lim->packets - total) {
			total += e->side[0].packets + e->side[1].packets;
			continue;
		}
		memset(e, 0, sizeof(*e));
		entries++;
	}
	for (i = 0; i < h->batch; i++) {
		if (!staged(&j->keys[i]))
			continue;
		if (staged_plausible(&j->keys[i], &j->values[(size_t)i * h->ncpus], h->ncpus, lim))
			continue;
		j->keys[i].ifindex = 0;
		staged_n++;
	}
	if (!ledger_plausible(l, lim)) {
		memset(l, 0, sizeof(*l));
		ledger = 0;
	}
	if (entries || staged_n || !ledger) {
		memset(&j->rec.entries, 0, sizeof(j->rec) - offsetof(struct journal_recovery, entries));
		survey(j);
		fprintf(stderr, "bpfix: %s: an earlier agent's journal holds what no meter "
			"could have written (corrupted?): %llu flow entries and %llu staged flows "
			"dropped%s\n", j->path, (unsigned long long)entries,
			(unsigned long long)staged_n,
			ledger ? "" : ", and its ledger of the outputs");
	}
	j->rec.dropped = entries + staged_n;
	return j->rec.dropped;
}

static void init_hdr(struct journal *j, uint32_t capacity, uint32_t batch, uint32_t ncpus,
		     int zeroed)
{
	struct journal_hdr *h = j->mem;

	if (!zeroed)
		memset(j->mem, 0, j->len);
	h->version = JOURNAL_VERSION;
	h->entry_size = sizeof(struct flowtab_entry);
	h->capacity = capacity;
	h->batch = batch;
	h->ncpus = ncpus;
	ordered();
	h->magic = JOURNAL_MAGIC;
}

/* @zeroed: @mem is known to be all zero (an array map starts zeroed: for a
 * large table, writing it again would cost start-up a pass over it). */
static int open_mem(struct journal *j, void *mem, size_t len, struct flowtab_entry *entries,
		    uint32_t capacity, uint32_t batch, uint32_t ncpus, int zeroed)
{
	struct journal_hdr *h = mem;

	if (readable(mem, len) && same_geometry(h, capacity, batch, ncpus) &&
	    (entries || entries_inside(h))) {
		j->mem = mem;
		j->len = len;
		j->rec.adopted = 1;
		set_parts(j, entries);
		settle_op(j);
		survey(j);
	} else {
		if (len < journal_size(batch, ncpus) || !entries)
			return -EINVAL;
		j->mem = mem;
		j->len = len;
		init_hdr(j, capacity, batch, ncpus, zeroed);
		if (!zeroed)
			memset(entries, 0, (size_t)capacity * sizeof(*entries));
		set_parts(j, entries);
	}
	j->h->runs++;
	return 0;
}

int journal_open_mem(struct journal *j, void *mem, size_t len, struct flowtab_entry *entries,
		     uint32_t capacity, uint32_t batch, uint32_t ncpus)
{
	return open_mem(j, mem, len, entries, capacity, batch, ncpus, 0);
}

static void *map_pinned(int fd, size_t *len)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	void *mem;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.value_size != JOURNAL_PAGE)
		return NULL;
	*len = (size_t)info.max_entries * JOURNAL_PAGE;
	mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return mem == MAP_FAILED ? NULL : mem;
}

int journal_pinned(const char *pin_dir)
{
	char path[PATH_MAX + 64];
	size_t len = 0;
	void *mem;
	int fd, ours;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, JOURNAL_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	mem = map_pinned(fd, &len);
	ours = mem && len >= sizeof(uint64_t) &&
	       ((const struct journal_hdr *)mem)->magic == JOURNAL_MAGIC;
	if (mem)
		munmap(mem, len);
	close(fd);
	return ours;
}

/* The flows map pinned at @path, if it is the one journal @h was written
 * with: mapped into f->flows_*. */
static int map_flows(struct journal *f, const char *path, const struct journal_hdr *h)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	int fd = bpf_obj_get(path);
	void *mem;

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.id != h->flows_id ||
	    info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.value_size != sizeof(struct flowtab_entry) || info.max_entries != h->capacity) {
		close(fd);
		return -ESTALE;
	}
	mem = mmap(NULL, journal_flows_size(h->capacity), PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	f->flows_fd = fd;
	f->flows_mem = mem;
	f->flows_len = journal_flows_size(h->capacity);
	snprintf(f->flows_path, sizeof(f->flows_path), "%s", path);
	return 0;
}

/* Create an mmapable array map, pin it at @path (mode 0600) and map it. */
static int create_pinned_map(const char *path, const char *name, __u32 value_size, __u32 n,
			     const struct journal_flows_type *type, void **memp, int *fdp,
			     char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	size_t len = (size_t)value_size * n;
	void *mem;
	int fd, ret;

	if (type && type->btf_fd >= 0) {
		opts.btf_fd = type->btf_fd;
		opts.btf_key_type_id = type->key_type_id;
		opts.btf_value_type_id = type->value_type_id;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, value_size, n, &opts);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create the map %s (%zu MiB): %s", name, len >> 20,
			 strerror(-ret));
		return ret;
	}
	if (bpf_obj_pin(fd, path)) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot pin: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	chmod(path, 0600);
	mem = mmap(NULL, round_up(len, JOURNAL_PAGE), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot map: %s", path, strerror(-ret));
		unlink(path);
		close(fd);
		return ret;
	}
	*memp = mem;
	*fdp = fd;
	return 0;
}

/* A new journal and its flows map, pinned. */
static int create_pinned(struct journal *j, size_t len, uint32_t capacity,
			 const struct journal_flows_type *type, char *err, size_t errlen)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	void *mem;
	int ret;

	ret = create_pinned_map(j->flows_path, FLOWS_PIN, sizeof(struct flowtab_entry), capacity,
				type, &mem, &j->flows_fd, err, errlen);
	if (ret)
		return ret;
	j->flows_mem = mem;
	j->flows_len = journal_flows_size(capacity);
	j->pinned = 1;
	ret = create_pinned_map(j->path, JOURNAL_PIN, JOURNAL_PAGE, (__u32)(len / JOURNAL_PAGE),
				NULL, &j->mem, &j->fd, err, errlen);
	if (ret)
		return ret;
	j->len = len;
	if (bpf_obj_get_info_by_fd(j->flows_fd, &info, &info_len)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", j->flows_path, strerror(-ret));
		return ret;
	}
	j->h = j->mem;
	j->h->flows_id = info.id;	/* before the magic: init_hdr writes it last */
	return 0;
}

static void unmap_flows(struct journal *j)
{
	if (j->flows_mem) {
		munmap(j->flows_mem, j->flows_len);
		close(j->flows_fd);
	}
	j->flows_mem = NULL;
	j->flows_fd = -1;
}

int journal_open(struct journal *j, const char *pin_dir, uint32_t capacity, uint32_t batch,
		 uint32_t ncpus, const struct journal_flows_type *type, char *err,
		 size_t errlen)
{
	size_t len = journal_size(batch, ncpus), old_len = 0;
	void *old_mem = NULL;
	int fd, ret;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->flows_fd = -1;
	snprintf(j->path, sizeof(j->path), "%s/%s", pin_dir, JOURNAL_PIN);
	snprintf(j->flows_path, sizeof(j->flows_path), "%s/%s", pin_dir, FLOWS_PIN);
	fd = bpf_obj_get(j->path);
	if (fd >= 0)
		old_mem = map_pinned(fd, &old_len);
	if (old_mem && readable(old_mem, old_len)) {
		const struct journal_hdr *oh = old_mem;
		struct journal *o = calloc(1, sizeof(*o));

		if (!o) {
			snprintf(err, errlen, "out of memory");
			munmap(old_mem, old_len);
			close(fd);
			return -ENOMEM;
		}
		o->flows_fd = -1;
		ret = entries_inside(oh) ? 0 : map_flows(o, j->flows_path, oh);
		if (ret) {
			fprintf(stderr, "bpfix: %s: an earlier agent's journal whose flow table "
				"(%s) is %s: replaced, the flows it held are not reported\n",
				j->path, j->flows_path, ret == -ENOENT ? "gone" : "not its own");
			free(o);
		} else if (oh->version == JOURNAL_VERSION &&
			   same_geometry(oh, capacity, batch, ncpus) && old_len == len) {
			/* Ours to go on with, in place. */
			j->fd = fd;
			j->pinned = 1;
			j->flows_fd = o->flows_fd;
			j->flows_mem = o->flows_mem;
			j->flows_len = o->flows_len;
			free(o);
			return journal_open_mem(j, old_mem, old_len, j->flows_mem, capacity,
						batch, ncpus);
		} else {
			/* Another geometry or an earlier version: kept open for
			 * the agent to export. */
			o->fd = fd;
			snprintf(o->path, sizeof(o->path), "%s", j->path);
			journal_open_mem(o, old_mem, old_len, o->flows_mem, oh->capacity,
					 oh->batch, oh->ncpus);
			j->old = o;
			fd = -1;
			old_mem = NULL;
		}
	} else if (fd >= 0) {
		fprintf(stderr, "bpfix: %s: a journal bpfix cannot read (another version): "
			"replaced, whatever it held is not reported\n", j->path);
	}
	if (old_mem)
		munmap(old_mem, old_len);
	if (fd >= 0)
		close(fd);
	/* the old ones stay open in j->old until exported */
	unlink(j->path);
	unlink(j->flows_path);
	ret = create_pinned(j, len, capacity, type, err, errlen);
	if (ret) {
		journal_close(j, 1);
		return ret;
	}
	return open_mem(j, j->mem, len, j->flows_mem, capacity, batch, ncpus, 1);
}

void journal_close(struct journal *j, int unpin)
{
	if (j->old) {
		journal_close(j->old, 0);
		free(j->old);
	}
	if (j->mem && j->fd >= 0)
		munmap(j->mem, j->len);
	if (j->fd >= 0)
		close(j->fd);
	unmap_flows(j);
	if (unpin && j->pinned) {
		unlink(j->path);
		unlink(j->flows_path);
	}
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->flows_fd = -1;
}

/* ---- the log ------------------------------------------------------------- */

void journal_apply_begin(struct journal *j, uint32_t entry, uint32_t staged)
{
	struct journal_hdr *h;

	if (!j || staged >= j->h->batch)
		return;		/* not a staged flow: nothing to redo */
	h = j->h;
	h->undo = j->entries[entry];
	h->op_entry = entry;
	h->op_staged = staged;
	ordered();
	h->op = JOP_APPLY;
	ordered();
}

void journal_apply_end(struct journal *j, uint32_t staged)
{
	if (!j || staged >= j->h->batch)
		return;
	j->keys[staged].ifindex = 0;
	ordered();
	j->h->op = JOP_NONE;
	ordered();
}

void journal_emit_begin(struct journal *j, uint32_t entry)
{
	struct journal_hdr *h;
	struct journal_ledger *l;

	if (!j)
		return;
	h = j->h;
	l = &h->ledger[h->bank];
	h->undo = j->entries[entry];
	h->op_entry = entry;
	h->before[0] = l->handed_records;
	h->before[1] = l->handed_packets;
	h->before[2] = l->handed_octets;
	ordered();
	h->op = JOP_EMIT;
	ordered();
}

void journal_move_begin(struct journal *j, uint32_t target, uint32_t held)
{
	struct journal_hdr *h;

	if (!j)
		return;
	h = j->h;
	h->undo = j->entries[target];
	h->op_entry = target;
	h->op_staged = held;
	h->before[0] = 0;
	ordered();
	h->op = JOP_MOVE;
	ordered();
}

void journal_move_done(struct journal *j)
{
	if (!j)
		return;
	ordered();
	j->h->before[0] = 1;
	ordered();
}

void journal_end(struct journal *j)
{
	if (!j)
		return;
	ordered();
	j->h->op = JOP_NONE;
	ordered();
}

void journal_handed(struct journal *j, const struct flow_record *r)
{
	struct journal_ledger *l;

	if (!j)
		return;
	l = &j->h->ledger[j->h->bank];
	l->handed_packets += flow_record_packets(r);
	l->handed_octets += flow_record_octets(r);
	ordered();
	l->handed_records++;	/* last: EMIT's recovery reads it */
	ordered();
}

struct output_stats *journal_out_stats(struct journal *j, int i, int n_out)
{
	j->h->ledger[j->h->bank].n_out = (uint32_t)n_out;
	return &j->h->ledger[j->h->bank].out[i];
}

/* ---- recovery ------------------------------------------------------------ */

/* An earlier agent's loss into output @o's slot of ledger @l: not sent,
 * and carried (never handed in @l). */
static void carry_lost(struct journal_ledger *l, int o, const struct output_stats *lost)
{
	l->out[o].records_not_sent += lost->records_not_sent;
	l->out[o].packets_not_sent += lost->packets_not_sent;
	l->out[o].octets_not_sent += lost->octets_not_sent;
	l->carried[o][0] += lost->records_not_sent;
	l->carried[o][1] += lost->packets_not_sent;
	l->carried[o][2] += lost->octets_not_sent;
}

void journal_carry(struct journal *j, const struct output_stats *lost)
{
	int o;

	for (o = 0; o < JOURNAL_OUTPUTS; o++)
		carry_lost(&j->h->ledger[j->h->bank], o, &lost[o]);
}

/* An output's identity in the ledger: FNV-1a of its whole name, never 0
 * (0: a slot of a journal that names no outputs). */
static uint64_t output_id(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	return h ? h : 1;
}

/* Which of the @n_out new outputs @ids old slot @o of ledger bank @b
 * was: the one of its name, or in order for a journal that names none;
 * -1 for none. */
static int new_slot(const struct journal_hdr *h, uint32_t b, int o, const uint64_t *ids,
		    int n_out)
{
	if (h->version < JOURNAL_OUTPUT_IDS || !h->out_id[b][o])
		return o < n_out ? o : -1;
	for (int i = 0; i < n_out; i++)
		if (ids[i] == h->out_id[b][o])
			return i;
	return -1;
}

void journal_new_ledger(struct journal *j, const char *const *names, int n_out)
{
	struct journal_hdr *h = j->h;
	const struct journal_ledger *l = &h->ledger[h->bank];
	struct journal_ledger *n = &h->ledger[!h->bank];
	struct journal_recovery *r = &j->rec;
	uint64_t ids[JOURNAL_OUTPUTS] = { 0 };
	int o;

	if (n_out > JOURNAL_OUTPUTS)
		n_out = JOURNAL_OUTPUTS;
	for (o = 0; o < n_out; o++)
		ids[o] = output_id(names[o]);
	/* Built aside and switched to with one store: a kill before the
	 * switch leaves the old ledger, and this is done again. */
	memset(n, 0, sizeof(*n));
	memset(r->lost, 0, sizeof(r->lost));
	memset(r->orphan, 0, sizeof(r->orphan));
	r->n_orphans = 0;
	for (o = 0; o < (int)l->n_out && o < JOURNAL_OUTPUTS; o++) {
		const struct output_stats *s = &l->out[o];
		const uint64_t *c = l->carried[o];
		uint64_t settled = s->records_sent + s->records_not_sent - c[0];
		struct output_stats lost = { 0 };
		int i;

		if (l->handed_records <= settled)
			continue;
		lost.records_not_sent = l->handed_records - settled;
		lost.packets_not_sent =
			l->handed_packets - (s->packets_sent + s->packets_not_sent - c[1]);
		lost.octets_not_sent =
			l->handed_octets - (s->octets_sent + s->octets_not_sent - c[2]);
		i = new_slot(h, h->bank, o, ids, n_out);
		if (i >= 0) {
			r->lost[i] = lost;
			carry_lost(n, i, &lost);
			continue;
		}
		/* Its output is not this agent's: said and counted, never
		 * carried (it would be reported by an output it never was). */
		if (h->version >= JOURNAL_OUTPUT_IDS)
			snprintf(r->orphan[r->n_orphans].name, JOURNAL_OUTPUT_NAME, "%.*s",
				 JOURNAL_OUTPUT_NAME - 1, h->out_name[h->bank][o]);
		else
			snprintf(r->orphan[r->n_orphans].name, JOURNAL_OUTPUT_NAME,
				 "output %d", o + 1);
		r->orphan[r->n_orphans++].lost = lost;
	}
	/* Only a journal that has room names its outputs (an older one's
	 * staging lies where the names would be). */
	if (h->version >= JOURNAL_OUTPUT_IDS) {
		memset(h->out_name[!h->bank], 0, sizeof(h->out_name[0]));
		for (o = 0; o < n_out; o++) {
			h->out_id[!h->bank][o] = ids[o];
			snprintf(h->out_name[!h->bank][o], JOURNAL_OUTPUT_NAME, "%.*s",
				 JOURNAL_OUTPUT_NAME - 1, names[o]);
		}
		for (; o < JOURNAL_OUTPUTS; o++)
			h->out_id[!h->bank][o] = 0;
	}
	n->n_out = (uint32_t)n_out;
	ordered();
	h->bank = !h->bank;
	ordered();
}

void journal_fold_staged(struct journal *j, journal_fold_fn fold, void *ctx)
{
	uint32_t i;

	for (i = 0; i < j->h->batch; i++)
		if (staged(&j->keys[i]))
			fold(ctx, i, &j->keys[i], &j->values[(size_t)i * j->h->ncpus],
			     (int)j->h->ncpus);
}

/* ---- the interface table ------------------------------------------------ */

static int has_ifaces(const struct journal *j)
{
	return j && j->h && j->h->version >= 4 && j->h->n_ifaces <= JOURNAL_IFACES;
}

void journal_iface(struct journal *j, uint32_t ifindex, const char *name)
{
	struct journal_hdr *h;
	uint32_t i, free_slot = UINT32_MAX;

	if (!has_ifaces(j) || !ifindex)
		return;
	h = j->h;
	/* the old slot goes first: a kill in between leaves no name, never
	 * a torn one */
	for (i = 0; i < h->n_ifaces; i++) {
		if (h->ifaces[i].ifindex == ifindex)
			h->ifaces[i].ifindex = 0;
		if (!h->ifaces[i].ifindex && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (!name)
		return;
	if (free_slot == UINT32_MAX) {
		if (h->n_ifaces == JOURNAL_IFACES)
			return;	/* MAX_FOLLOWED: attach refuses more */
		free_slot = h->n_ifaces;
	}
	snprintf(h->ifaces[free_slot].name, IF_NAMESIZE, "%s", name);
	ordered();
	h->ifaces[free_slot].ifindex = ifindex;
	ordered();
	if (free_slot == h->n_ifaces)
		h->n_ifaces++;
}

const char *journal_iface_name(const struct journal *j, uint32_t ifindex)
{
	if (!has_ifaces(j) || !ifindex)
		return NULL;
	for (uint32_t i = 0; i < j->h->n_ifaces; i++)
		if (j->h->ifaces[i].ifindex == ifindex &&
		    memchr(j->h->ifaces[i].name, '\0', IF_NAMESIZE))
			return j->h->ifaces[i].name;
	return NULL;
}

void journal_ifaces_clear(struct journal *j)
{
	if (!has_ifaces(j))
		return;
	for (uint32_t i = 0; i < j->h->n_ifaces; i++)
		j->h->ifaces[i].ifindex = 0;
	ordered();
	j->h->n_ifaces = 0;
}
