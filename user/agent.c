// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sweeps and their accounting. Each sweep flips the epoch, drains the old
 * table whole and checks what it read against what the kernel says it
 * added to that table since it was last drained: flows, packets, octets.
 * The difference is what the kernel's LRU evicted before the drain, and it
 * is reported as lost, never hidden.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent.h"
#include "errline.h"

#define LISTEN_RELOAD_MS 1000	/* a server started a second ago counts */

/* The counters of interface @ifindex: one of the first few, nearly always.
 * An ifindex the agent was not told of (an earlier run's adopted flows)
 * gets a slot of its own while there are slots; then one slot, ifindex 0,
 * takes the rest (wherever it is: slots of interfaces let go are removed,
 * tell_iface). */
static struct metrics_iface *iface_counts(struct agent *a, uint32_t ifindex)
{
	struct metrics_iface *c;
	int i;

	for (i = 0; i < a->n_ifc; i++)
		if (a->ifc[i].ifindex == ifindex)
			return &a->ifc[i];
	if (a->n_ifc >= METRICS_IFACES - 1) {
		for (i = 0; i < a->n_ifc; i++)
			if (!a->ifc[i].ifindex)
				return &a->ifc[i];
		ifindex = 0;
	}
	c = &a->ifc[a->n_ifc++];
	memset(c, 0, sizeof(*c));
	c->ifindex = ifindex;
	if (ifindex && !if_indextoname(ifindex, c->name))
		c->name[0] = '\0';
	return c;
}

static void count_iface(struct agent *a, const struct flow_side *side)
{
	struct metrics_iface *c;

	if (!side->packets)
		return;
	c = iface_counts(a, side->ifindex);
	c->packets += side->packets;
	c->octets += side->octets;
}

/* The outer addresses of @r's tunnel into @r->tun: the pair its ref names,
 * the way round its forward direction saw them. Refs are never reused, so
 * a pair once read stays right; one not read yet means the tunnels map
 * has pairs newer than the last read. */
static void tunnel_resolve(struct agent *a, struct flow_record *r)
{
	const struct flow_key *k = &r->key;
	const struct tunnel_ends *e;

	if (!k->tun_ref || k->tun_ref > TUNNEL_REF_MAX || !a->meter.skel)
		return;
	if (!a->tun_by_ref) {
		a->tun_by_ref = calloc(TUNNEL_REF_MAX + 1, sizeof(*a->tun_by_ref));
		if (!a->tun_by_ref)
			return;
	}
	e = &a->tun_by_ref[k->tun_ref];
	if (!e->ip_version)
		meter_read_tunnels(&a->meter, a->tun_by_ref, TUNNEL_REF_MAX + 1);
	if (!e->ip_version)
		return;		/* not in the map: the record goes without them */
	r->tun.ip_version = e->ip_version;
	r->tun.src = k->tun_reversed ? e->b : e->a;
	r->tun.dst = k->tun_reversed ? e->a : e->b;
}

static void emit(void *ctx, const struct flow_record *rec)
{
	struct agent *a = ctx;
	struct flow_record tr;
	const struct flow_record *r = rec;
	int i;

	if (rec->key.tun_type) {
		tr = *rec;
		tunnel_resolve(a, &tr);
		r = &tr;
	}

	journal_handed(&a->jr, r);	/* first: see journal.h, EMIT */
	for (i = 0; i < a->n_out; i++)
		a->out[i]->ops->record(a->out[i], r);
	a->totals.records_emitted++;
	count_iface(a, &r->fwd);
	if (r->biflow)
		count_iface(a, &r->rev);
}

void agent_fold(struct flowtab *t, uint32_t staged, const struct flow_key *key,
		const struct flow_side *d)
{
	struct flowtab_at at;

	/* One logged operation (journal.h, APPLY), from the entry the fold
	 * changes to the staged flow's release; a flow with nothing to fold
	 * is only released. */
	if (flowtab_locate(t, key, d, &at)) {
		journal_apply_begin(t->jr, at.entry, staged);
		flowtab_add_at(t, &at, key, d);
	}
	journal_apply_end(t->jr, staged);
}

void agent_drain_flow(void *ctx, uint32_t staged, const struct flow_key *key,
		      const struct flow_counters *percpu, int ncpus)
{
	struct drain_ctx *d = ctx;
	struct flow_side side;

	flow_merge_percpu(percpu, ncpus, d->a->offset_ns, &side);
	d->flows++;
	d->packets += side.packets;
	d->octets += side.octets;
	agent_fold(d->tab, staged, key, &side);
}

static void update_totals(struct agent *a, const struct bpfix_stats *s)
{
	struct meter_totals *t = &a->totals;

	t->now_ms = a->now_ms;
	t->packets_seen = s->packets - a->start.packets;
	t->octets_seen = s->octets - a->start.octets;
	t->flows_observed = s->table_flows_0 + s->table_flows_1 -
			    a->start.table_flows_0 - a->start.table_flows_1;
	t->ignored_packets = a->lost_packets +
			     (s->insert_failed_packets - a->start.insert_failed_packets) +
			     (s->not_metered_packets - a->start.not_metered_packets);
	t->ignored_octets = a->lost_octets +
			    (s->insert_failed_octets - a->start.insert_failed_octets) +
			    (s->not_metered_octets - a->start.not_metered_octets);
	t->flows_lost = a->lost_flows + (s->insert_failed - a->start.insert_failed);
	t->duplicate_packets = s->duplicate_packets - a->start.duplicate_packets;
	t->malformed_packets = 0;
#define X(name, doc) \
	if (!strncmp(#name, "malformed_", 10)) \
		t->malformed_packets += s->name - a->start.name;
	BPFIX_STATS(X)
#undef X
}

/* Held fragments (include/bpfix.h, FRAGMENTS IN ANY ORDER) whose first
 * fragment has come since join their datagram's flow: one read of
 * frag_table, and only while some wait. */
static void resolve_held(struct agent *a)
{
	if (!a->tab.held || meter_read_frags(&a->meter, &a->frags) <= 0)
		return;
	flowtab_resolve_held(&a->tab, frag_snapshot_find, &a->frags);
}

/* Drain table @slot (frozen by a flip) and account for it. */
static int drain_slot(struct agent *a, int slot)
{
	struct drain_ctx d = { .a = a, .tab = &a->tab };
	struct bpfix_stats s;
	uint64_t added_flows, added_packets, added_octets, big = a->meter.big_buckets;
	long n;
	int ret;

	/* said once: it is rare, and each time only a moment's exposure */
	n = meter_drain(&a->meter, slot, agent_drain_flow, &d);
	if (a->meter.big_buckets != big && !big)
		fprintf(stderr, "bpfix: a kernel table bucket held more flows than a drain batch "
			"(%u): drained through memory outside the journal for a moment\n",
			a->meter.drain.batch);
	if (n < 0)
		return (int)n;
	a->last_drained_flows = d.flows;
	ret = meter_read_stats(&a->meter, &s);
	if (ret)
		return ret;
	added_flows = (&s.table_flows_0)[slot] - a->slot_flows[slot];
	added_packets = (&s.table_packets_0)[slot] - a->slot_packets[slot];
	added_octets = (&s.table_octets_0)[slot] - a->slot_octets[slot];
	if (a->slot_known[slot]) {
		a->drained_flows += d.flows;
		a->drained_packets += d.packets;
		a->drained_octets += d.octets;
		if (added_packets > d.packets) {
			a->lost_packets += added_packets - d.packets;
			a->lost_octets += added_octets - d.octets;
		}
		if (added_flows > d.flows)
			a->lost_flows += added_flows - d.flows;
	} else {
		/* Adopted from an earlier run: the baseline is unknown, so the
		 * first drain of this slot is counted apart. */
		a->adopted_flows += d.flows;
		a->adopted_packets += d.packets;
		a->slot_known[slot] = 1;
	}
	/* At this rate, would a full interval fill half a table? Then sweep
	 * sooner, before the LRU evicts; measured as a rate so that the
	 * short interval of a hurried sweep does not end the hurry. */
	{
		uint64_t now = clock_mono_ns(), since = now - a->flip_ns;
		uint64_t interval = (uint64_t)a->cfg->sweep_interval_ms * 1000000;

		a->hurry = a->flip_ns && since &&
			   (double)d.flows * interval / since > a->meter.table_entries / 2;
		a->flip_ns = now;
	}
	a->slot_flows[slot] = (&s.table_flows_0)[slot];
	a->slot_packets[slot] = (&s.table_packets_0)[slot];
	a->slot_octets[slot] = (&s.table_octets_0)[slot];
	a->last = s;
	update_totals(a, &s);
	resolve_held(a);
	return 0;
}

static void end_gone(struct agent *a);

static void sample_clocks(struct agent *a)
{
	a->offset_ns = clock_mono_offset_ns();
	a->now_ms = clock_wall_ms();
}

int agent_sweep(struct agent *a)
{
	uint64_t t0 = clock_mono_ns(), dt;
	int slot, ret, i;

	sample_clocks(a);
	if (a->now_ms >= a->lp_loaded_ms + LISTEN_RELOAD_MS) {
		listen_ports_load(&a->lp);
		a->lp_loaded_ms = a->now_ms;
	}
	slot = meter_flip(&a->meter);
	if (slot < 0)
		return slot;
	ret = drain_slot(a, slot);
	end_gone(a);
	flowtab_expire(&a->tab, a->now_ms);
	for (i = 0; i < a->n_out; i++)
		a->out[i]->ops->tick(a->out[i], &a->totals);
	dt = clock_mono_ns() - t0;
	a->sweeps++;
	a->sweep_ns_last = dt;
	a->sweep_ns_total += dt;
	a->sweep_hist[metrics_sweep_bucket(dt)]++;
	if (dt > a->sweep_ns_max)
		a->sweep_ns_max = dt;
	return ret;
}

static int open_outputs(struct agent *a, char *err, size_t errlen)
{
	const struct bpfix_config *cfg = a->cfg;
	int i;

	if (!cfg->n_collectors) {
		a->out[a->n_out] = output_text_open(stdout, cfg->format, err, errlen);
		if (!a->out[a->n_out])
			return -EINVAL;
		a->out_stats[a->n_out] = a->out[a->n_out]->stats;
		a->out_names[a->n_out] = a->out[a->n_out]->name;
		a->n_out++;
		return 0;
	}
	for (i = 0; i < cfg->n_collectors; i++) {
		const struct collector *c = &cfg->collectors[i];

		a->out[a->n_out] = c->kind == COLLECTOR_NETFLOW9 || c->kind == COLLECTOR_NETFLOW5 ?
					   output_netflow_open(c, cfg, err, errlen) :
					   output_ipfix_open(c, cfg, err, errlen);
		if (!a->out[a->n_out])
			return -EINVAL;
		a->out_stats[a->n_out] = a->out[a->n_out]->stats;
		a->out_names[a->n_out] = a->out[a->n_out]->name;
		a->n_out++;
	}
	return 0;
}

/* Tables of an earlier run whose layout differs: drained once, after our
 * programs replaced theirs (the first flip waited for those to finish). */
static void drain_stale(struct agent *a)
{
	struct drain_ctx d = { .a = a, .tab = &a->tab };
	int i;

	for (i = 0; i < FLOW_TABLES; i++)
		if (a->meter.stale_fd[i] >= 0)
			meter_drain_fd(&a->meter, a->meter.stale_fd[i], agent_drain_flow, &d);
	a->adopted_flows += d.flows;
	a->adopted_packets += d.packets;
}

static void prefetch_flow(void *tab, const struct flow_key *key)
{
	flowtab_prefetch(tab, key);
}

/* What an earlier agent handed outputs this agent does not have and they
 * never sent: said, and counted apart (no output of ours reports it). */
static void say_orphans(struct agent *a, const struct journal_recovery *r)
{
	for (int i = 0; i < r->n_orphans; i++) {
		const struct output_stats *s = &r->orphan[i].lost;

		a->orphan_records += s->records_not_sent;
		a->orphan_packets += s->packets_not_sent;
		fprintf(stderr, "bpfix: %s (an earlier agent's output, not one of this agent's): "
			"%llu records (%llu packets) it was handed were never sent\n",
			r->orphan[i].name, (unsigned long long)s->records_not_sent,
			(unsigned long long)s->packets_not_sent);
	}
}

static void tell_outputs(struct agent *a, uint32_t ifindex, const char *name);

/* An earlier agent's journal of another geometry: its flows go out now as
 * forced-end records, what it never sent is counted as not sent. */
static void export_old_journal(struct agent *a)
{
	struct journal *old = a->jr.old;
	struct flowtab t;
	struct drain_ctx d = { .a = a, .tab = &t };

	journal_new_ledger(old, a->out_names, a->n_out);
	say_orphans(a, &old->rec);
	journal_carry(&a->jr, old->rec.lost);
	if (flowtab_init(&t, old->h->capacity, a->tab.biflow, a->tab.pair_ifindex,
			 a->tab.idle_ms, a->tab.active_ms, emit, a))
		return;
	flowtab_adopt(&t, old->entries, NULL);
	t.lp = &a->lp;
	t.community_id = a->tab.community_id;
	t.community_id_seed = a->tab.community_id_seed;
	journal_fold_staged(old, agent_drain_flow, &d);
	a->adopted_flows += d.flows;
	a->adopted_packets += d.packets;
	fprintf(stderr, "bpfix: %s: an earlier agent's journal for %u flows: "
		"%u flows exported now (forced end)\n", old->path, old->h->capacity, t.used);
	/* under the names it knew them by, not a number's name now */
	for (uint32_t i = 0; old->h->version >= 4 && i < old->h->n_ifaces; i++)
		if (old->h->ifaces[i].ifindex && memchr(old->h->ifaces[i].name, '\0', IF_NAMESIZE))
			tell_outputs(a, old->h->ifaces[i].ifindex, old->h->ifaces[i].name);
	flowtab_flush(&t, FLOW_END_FORCED);
	for (uint32_t i = 0; old->h->version >= 4 && i < old->h->n_ifaces; i++)
		if (old->h->ifaces[i].ifindex)
			tell_outputs(a, old->h->ifaces[i].ifindex, NULL);
	flowtab_free(&t);
	journal_close(old, 0);
	free(old);
	a->jr.old = NULL;
}

/* Open the journal, recover what a killed agent left in it, and move the
 * table, the drain's staging and the outputs' counters into it. */
static int journal_start(struct agent *a, char *err, size_t errlen)
{
	struct journal *j = &a->jr;
	struct drain_ctx d = { .a = a, .tab = &a->tab };
	const struct journal_recovery *r = &j->rec;
	struct journal_limits lim = { .packets = UINT64_MAX, .now_ms = clock_wall_ms() };
	struct journal_flows_type type = { .btf_fd = -1 };
	struct bpfix_stats ks;
	int ret, i;

	if (meter_flows_type(&a->meter, &type.btf_fd, &type.key_type_id, &type.value_type_id))
		type.btf_fd = -1;	/* untyped: bpftool shows hex */
	ret = journal_open(j, a->meter.pin_dir, a->cfg->flows, a->meter.drain.batch,
			   (uint32_t)a->meter.ncpus, &type, err, errlen);
	if (ret)
		return ret;
	/* What it holds came from these tables: never more than they counted;
	 * tables made anew (another --flows, another layout) counted nothing
	 * of it, and bound nothing. */
	if (a->meter.adopted && !meter_read_stats(&a->meter, &ks))
		lim.packets = ks.packets;
	journal_drop_implausible(j, &lim);
	if (j->old)
		journal_drop_implausible(j->old, &lim);
	journal_new_ledger(j, a->out_names, a->n_out);
	say_orphans(a, r);
	for (i = 0; i < a->n_out; i++) {
		struct output_stats *s = journal_out_stats(j, i, a->n_out);

		a->out[i]->stats = s;
		a->out_stats[i] = s;
		if (r->lost[i].records_not_sent)
			fprintf(stderr, "bpfix: %s: %llu records (%llu packets) an earlier agent "
				"handed it were never sent: counted as not sent\n",
				a->out[i]->name,
				(unsigned long long)r->lost[i].records_not_sent,
				(unsigned long long)r->lost[i].packets_not_sent);
	}
	meter_set_drain_hooks(&a->meter, &(struct drain_hooks){
		.keys = j->keys,
		.values = j->values,
		.batch = j->h->batch,
		.ahead = prefetch_flow,
		.ahead_ctx = &a->tab,
		.ahead_dist = FLOWTAB_PREFETCH,
	});
	flowtab_adopt(&a->tab, j->entries, j);
	if (r->entries || r->staged || r->op)
		fprintf(stderr, "bpfix: %s: adopted an earlier agent's journal: %llu flows "
			"(%llu packets) in its table, %llu drained flows (%llu packets) to fold%s\n",
			j->path, (unsigned long long)r->entries, (unsigned long long)r->packets,
			(unsigned long long)r->staged, (unsigned long long)r->staged_packets,
			r->op ? (r->op_undone ? "; its last operation undone" :
				 "; its last operation completed") : "");
	journal_fold_staged(j, agent_drain_flow, &d);
	a->adopted_flows += d.flows;
	a->adopted_packets += d.packets;
	if (j->old)
		export_old_journal(a);
	return 0;
}

/* ---- FOLLOWING THE NODE (agent.h) --------------------------------------- */

/* One line on stderr, control characters of names replaced (err_line). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char raw[512], line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	err_line(line, sizeof(line), 0, "%s", raw);
	fprintf(stderr, "bpfix: %s\n", line);
}

static void tell_outputs(struct agent *a, uint32_t ifindex, const char *name)
{
	for (int i = 0; i < a->n_out; i++)
		if (a->out[i]->ops->iface)
			a->out[i]->ops->iface(a->out[i], ifindex, name);
}

/* The outputs, the journal and the per-interface counters learn what
 * @ifindex is called now, or (@name NULL) that it is gone and its records
 * are out. */
static void tell_iface(struct agent *a, uint32_t ifindex, const char *name)
{
	int i;

	journal_iface(&a->jr, ifindex, name);
	tell_outputs(a, ifindex, name);
	for (i = 0; i < a->n_ifc && a->ifc[i].ifindex != ifindex; i++)
		;
	if (!name) {
		if (i < a->n_ifc) {
			memmove(&a->ifc[i], &a->ifc[i + 1], sizeof(a->ifc[0]) * (a->n_ifc - i - 1));
			a->n_ifc--;
		}
		return;
	}
	if (i == a->n_ifc) {
		if (a->n_ifc >= METRICS_IFACES - 1)
			return;	/* counted in the last slot, for the rest */
		memset(&a->ifc[i], 0, sizeof(a->ifc[i]));
		a->ifc[i].ifindex = ifindex;
		a->n_ifc++;
	}
	snprintf(a->ifc[i].name, sizeof(a->ifc[i].name), "%s", name);
}

/* The flows of the interfaces let go since the last sweep end now, the
 * kernel's last counts for them drained (the flip before this waited for
 * every program that could still be counting on them). */
static void end_gone(struct agent *a)
{
	if (!a->n_gone)
		return;
	flowtab_flush_ifaces(&a->tab, a->gone, a->n_gone, FLOW_END_FORCED);
	for (uint32_t i = 0; i < a->n_gone; i++)
		tell_iface(a, a->gone[i], NULL);
	a->n_gone = 0;
}

static int gone_pending(const struct agent *a, uint32_t ifindex)
{
	for (uint32_t i = 0; i < a->n_gone; i++)
		if (a->gone[i] == ifindex)
			return 1;
	return 0;
}

static int attach_one(struct agent *a, uint32_t ifindex, const char *name, uint32_t mtu)
{
	char err[256];
	int ret;

	/* A number just let go: its flows end first (end_gone). */
	if (gone_pending(a, ifindex))
		agent_sweep(a);
	ret = meter_attach_iface(&a->meter, ifindex, name, err, sizeof(err));
	if (ret) {
		a->attach_failures++;
		say("%s", err);
		return ret;
	}
	meter_iface(&a->meter, ifindex)->mtu = mtu;
	a->ifaces_attached++;
	tell_iface(a, ifindex, name);
	say("%s: attached (ifindex %u)", name, ifindex);
	return 0;
}

/* @in_kernel: the interface is still there (renamed out of the patterns),
 * and our attachments come off it; else the kernel took them with it. */
static void let_go(struct agent *a, uint32_t ifindex, int in_kernel, const char *why)
{
	struct attachment *att = meter_iface(&a->meter, ifindex);
	char name[IF_NAMESIZE];

	if (!att)
		return;
	snprintf(name, sizeof(name), "%s", att->name);
	if (in_kernel)
		meter_detach_iface(&a->meter, ifindex);
	else
		meter_forget_iface(&a->meter, ifindex);
	a->ifaces_let_go++;
	say("%s: let go (ifindex %u, %s): its flows end (forced end)", name, ifindex, why);
	if (a->n_gone == a->cap_gone) {
		uint32_t cap = a->cap_gone ? a->cap_gone * 2 : 16;
		uint32_t *g = realloc(a->gone, sizeof(*g) * cap);

		if (!g) {
			/* no room to wait for the next sweep: this one now */
			agent_sweep(a);
			flowtab_flush_ifaces(&a->tab, &ifindex, 1, FLOW_END_FORCED);
			tell_iface(a, ifindex, NULL);
			return;
		}
		a->gone = g;
		a->cap_gone = cap;
	}
	a->gone[a->n_gone++] = ifindex;
}

/* The interface -i named (by its name now, or the one it had at start):
 * a rename does not make it another interface, so it stays metered. */
static int named_by_user(const struct bpfix_config *cfg, const struct attachment *att)
{
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (cfg->ifaces[i].ifindex == att->ifindex || !strcmp(cfg->ifaces[i].name, att->name))
			return 1;
	return 0;
}

static void on_link(void *ctx, const struct link_event *ev)
{
	struct agent *a = ctx;
	struct attachment *att = meter_iface(&a->meter, ev->ifindex);

	if (ev->gone) {
		let_go(a, ev->ifindex, 0, "gone");
		return;
	}
	if (!ev->name[0] || a->stopping)
		return;
	if (att && strcmp(att->name, ev->name)) {
		if (!config_iface_wanted(a->cfg, ev->name) && !named_by_user(a->cfg, att)) {
			char why[64];

			snprintf(why, sizeof(why), "renamed %s", ev->name);
			let_go(a, ev->ifindex, 1, why);
			return;
		}
		say("%s: renamed %s, still metered", att->name, ev->name);
		snprintf(att->name, sizeof(att->name), "%s", ev->name);
		tell_iface(a, ev->ifindex, ev->name);
	}
	if (att && ev->mtu && att->mtu != ev->mtu) {
		uint32_t was = att->mtu;

		att->mtu = ev->mtu;
		if (meter_iface_intact(&a->meter, att))
			return;
		/* the driver dropped our program for the new MTU: counted,
		 * and attached again if it takes it */
		a->xdp_detached++;
		say("%s: MTU %u -> %u: bpfix's program is no longer attached; attaching again",
		    ev->name, was, ev->mtu);
		meter_detach_iface(&a->meter, ev->ifindex);
		attach_one(a, ev->ifindex, ev->name, ev->mtu);
		return;
	}
	if (att || !config_iface_wanted(a->cfg, ev->name))
		return;
	attach_one(a, ev->ifindex, ev->name, ev->mtu);
}

/* A dump's links, kept for a look at all of them together. */
struct link_list {
	struct link_event *ev;
	uint32_t n, cap;
	int nomem;
};

static void collect_link(void *ctx, const struct link_event *ev)
{
	struct link_list *l = ctx;

	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		struct link_event *e = realloc(l->ev, sizeof(*e) * cap);

		if (!e) {
			l->nomem = 1;
			return;
		}
		l->ev = e;
		l->cap = cap;
	}
	l->ev[l->n++] = *ev;
}

static const struct link_event *list_find(const struct link_list *l, uint32_t ifindex)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->ev[i].ifindex == ifindex)
			return &l->ev[i];
	return NULL;
}

/* Events were lost: what is there now is the truth. An attachment whose
 * interface is not in the dump, or holds none of our programs (its number
 * names another interface now), is let go; then each link as if new. */
static void resync(struct agent *a)
{
	struct link_list l = { 0 };
	int ret = links_dump(&a->links, collect_link, &l);

	if (ret || l.nomem) {
		say("link events lost (ENOBUFS) and the links cannot be listed: %s",
		    strerror(ret ? -ret : ENOMEM));
		free(l.ev);
		return;
	}
	for (int i = a->meter.n_att - 1; i >= 0; i--) {
		struct attachment *att = &a->meter.att[i];

		if (!list_find(&l, att->ifindex) || !meter_iface_intact(&a->meter, att))
			let_go(a, att->ifindex, 0, "gone while link events were lost");
	}
	for (uint32_t i = 0; i < l.n; i++)
		on_link(a, &l.ev[i]);
	say("link events lost (ENOBUFS): resynced from a dump of %u links", l.n);
	free(l.ev);
}

void agent_follow(struct agent *a)
{
	int ret;

	if (a->links.fd < 0)
		return;
	if (links_read(&a->links, on_link, a) == -ENOBUFS)
		resync(a);
	if (a->n_gone) {
		ret = agent_sweep(a);
		if (ret)
			say("sweep: %s", strerror(-ret));
	}
}

/*
 * An earlier agent's interfaces (its journal, adopted) that are gone, or
 * whose number another interface holds now (a name other than the
 * journal's): a sweep drains what the kernel tables still hold, and their
 * flows are exported now as forced end under the journal's names, before
 * anything is attached under those numbers. Then the journal's table is
 * this agent's to fill.
 */
static void end_adopted_gone(struct agent *a)
{
	const struct journal_hdr *h = a->jr.h;
	uint32_t *ifs, n = 0;
	char now[IF_NAMESIZE];

	if (!a->jr.rec.adopted || !h || h->version < 4 || !h->n_ifaces ||
	    h->n_ifaces > JOURNAL_IFACES)
		return;
	ifs = calloc(h->n_ifaces, sizeof(*ifs));
	for (uint32_t i = 0; ifs && i < h->n_ifaces; i++) {
		const char *was = journal_iface_name(&a->jr, h->ifaces[i].ifindex);

		if (!was || (if_indextoname(h->ifaces[i].ifindex, now) && !strcmp(now, was)))
			continue;
		tell_outputs(a, h->ifaces[i].ifindex, was);
		ifs[n++] = h->ifaces[i].ifindex;
	}
	if (n) {
		agent_sweep(a);
		flowtab_flush_ifaces(&a->tab, ifs, n, FLOW_END_FORCED);
		for (uint32_t i = 0; i < n; i++) {
			say("%s (ifindex %u): gone since an earlier agent metered it: its flows "
			    "exported (forced end)", journal_iface_name(&a->jr, ifs[i]), ifs[i]);
			tell_outputs(a, ifs[i], NULL);
		}
	}
	free(ifs);
	journal_ifaces_clear(&a->jr);
}

/* At start: -i's names (as meter_attach always did: a failure is the
 * agent's), then every other link a pattern matches (a failure is said
 * and counted), each with the MTU a later event compares. */
static int attach_start(struct agent *a, char *err, size_t errlen)
{
	const struct bpfix_config *cfg = a->cfg;
	struct link_list l = { 0 };
	struct iface named[MAX_IFACES];
	int n = 0, i, ret;

	end_adopted_gone(a);
	ret = links_dump(&a->links, collect_link, &l);
	if (ret || l.nomem) {
		free(l.ev);
		return err_line(err, errlen, ret ? ret : -ENOMEM, "cannot list the interfaces "
				"(rtnetlink): %s", strerror(ret ? -ret : ENOMEM));
	}
	a->meter.verbose = cfg->verbose;
	for (i = 0; i < cfg->n_ifaces; i++)
		if (config_iface_wanted(cfg, cfg->ifaces[i].name))
			named[n++] = cfg->ifaces[i];
	ret = meter_attach(&a->meter, cfg, named, n, err, errlen);
	if (ret) {
		free(l.ev);
		return ret;
	}
	for (i = 0; i < n; i++) {
		const struct link_event *ev = list_find(&l, named[i].ifindex);
		struct attachment *att = meter_iface(&a->meter, named[i].ifindex);

		if (att)
			att->mtu = ev ? ev->mtu : 0;
		a->ifaces_attached++;
		tell_iface(a, named[i].ifindex, named[i].name);
	}
	for (uint32_t k = 0; k < l.n; k++)
		if (l.ev[k].name[0] && !meter_iface(&a->meter, l.ev[k].ifindex) &&
		    config_iface_wanted(cfg, l.ev[k].name))
			attach_one(a, l.ev[k].ifindex, l.ev[k].name, l.ev[k].mtu);
	free(l.ev);
	if (config_has_patterns(cfg) && !a->meter.n_att)
		say("no interface matches -i yet: each is metered as it appears");
	return 0;
}

int agent_start(struct agent *a, const struct bpfix_config *cfg, char *err, size_t errlen)
{
	int ret, i;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->jr.fd = -1;
	a->links.fd = -1;
	ret = open_outputs(a, err, errlen);
	if (ret)
		goto fail;
	ret = flowtab_init(&a->tab, cfg->flows, !cfg->uniflow, cfg->mode == MODE_TC,
			   (uint64_t)cfg->idle_timeout_s * 1000,
			   (uint64_t)cfg->active_timeout_s * 1000, emit, a);
	if (ret) {
		snprintf(err, errlen, "out of memory for %u flows", cfg->flows);
		goto fail;
	}
	listen_ports_load(&a->lp);
	a->tab.lp = &a->lp;
	/* JSON and IPFIX carry it; the text line does not */
	a->tab.community_id = cfg->n_collectors || cfg->format == FORMAT_JSON;
	a->tab.community_id_seed = cfg->community_id_seed;
	for (i = 0; i < cfg->n_ifaces; i++) {
		a->ifc[i].ifindex = cfg->ifaces[i].ifindex;
		snprintf(a->ifc[i].name, sizeof(a->ifc[i].name), "%s", cfg->ifaces[i].name);
	}
	a->n_ifc = cfg->n_ifaces;

	ret = meter_open(&a->meter, cfg, err, errlen);
	if (ret)
		goto fail_meter;
	sample_clocks(a);
	ret = journal_start(a, err, errlen);
	if (ret)
		goto fail_meter;
	ret = meter_read_stats(&a->meter, &a->start);
	if (ret) {
		snprintf(err, errlen, "cannot read the stats map: %s", strerror(-ret));
		goto fail_meter;
	}
	a->last = a->start;
	a->slot_flows[0] = a->start.table_flows_0;
	a->slot_flows[1] = a->start.table_flows_1;
	a->slot_packets[0] = a->start.table_packets_0;
	a->slot_packets[1] = a->start.table_packets_1;
	a->slot_octets[0] = a->start.table_octets_0;
	a->slot_octets[1] = a->start.table_octets_1;
	for (i = 0; i < FLOW_TABLES; i++)
		a->slot_known[i] = !a->meter.adopted;

	/* subscribed before the dump: no link comes between unseen */
	ret = links_open(&a->links, err, errlen);
	if (ret)
		goto fail_meter;
	ret = attach_start(a, err, errlen);
	if (ret)
		goto fail_meter;
	sample_clocks(a);
	a->totals.since_ms = a->now_ms;
	a->lp_loaded_ms = a->now_ms;
	if (a->meter.adopted || a->meter.stale_fd[0] >= 0 || a->meter.stale_fd[1] >= 0) {
		/* Sweep both slots now: one flip is also the barrier after
		 * which no program of the earlier run still writes. */
		agent_sweep(a);
		drain_stale(a);
		agent_sweep(a);
	}
	return 0;

fail_meter:
	/* Nothing was metered yet: remove what we created, keep an earlier
	 * run's pins (they may still hold its flows, and its journal what
	 * it drained). */
	for (i = 0; i < a->n_out; i++)
		a->out[i]->stats = &a->out[i]->own;
	journal_close(&a->jr, !a->jr.rec.adopted);
	meter_close(&a->meter, !a->meter.adopted);
	links_close(&a->links);
fail:
	for (i = 0; i < a->n_out; i++)
		a->out[i]->ops->close(a->out[i], &a->totals);
	a->n_out = 0;
	flowtab_free(&a->tab);
	free(a->tun_by_ref);
	a->tun_by_ref = NULL;
	return ret ? ret : -EINVAL;
}

uint64_t agent_next_sweep_ms(const struct agent *a, uint64_t deadline_ms)
{
	uint64_t interval = a->cfg->sweep_interval_ms, now = clock_mono_ms();

	deadline_ms += a->hurry ? interval / 4 : interval;
	if (deadline_ms < now)
		deadline_ms = now + (a->hurry ? 0 : interval);
	return deadline_ms;
}

uint64_t agent_pump(struct agent *a)
{
	uint64_t now = clock_mono_ns(), wake = UINT64_MAX;
	int i;

	for (i = 0; i < a->n_out; i++) {
		struct output *o = a->out[i];
		uint64_t w;

		if (!o->ops->pump)
			continue;
		w = o->ops->pump(o, now);
		if (w < wake)
			wake = w;
	}
	return wake;
}

void agent_wait(struct agent *a, uint64_t deadline_ns)
{
	struct pollfd pfd[MAX_COLLECTORS + 2];
	uint64_t now = clock_mono_ns();
	struct timespec ts;
	int i, n = 0;

	if (a->links.fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = a->links.fd, .events = POLLIN };
	for (i = 0; i < a->n_out; i++) {
		int fd = a->out[i]->ops->wait_fd ? a->out[i]->ops->wait_fd(a->out[i]) : -1;

		if (fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLOUT };
	}
	if (deadline_ns <= now)
		return;
	ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000);
	ts.tv_nsec = (long)((deadline_ns - now) % 1000000000);
	/* EINTR is the signal we wait for too */
	ppoll(n ? pfd : NULL, (nfds_t)n, &ts, a->wait_mask);
}

/* Shutdown: pump the outputs until nothing waits, the deadline passes or
 * a second signal says not to wait. */
static void deliver_queued(struct agent *a, const volatile int *abort)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)a->cfg->shutdown_timeout_s * 1000000000;
	uint64_t wake;

	while ((wake = agent_pump(a)) != UINT64_MAX && !(abort && *abort)) {
		if (wake > deadline)
			wake = deadline;
		if (clock_mono_ns() >= deadline)
			break;
		agent_wait(a, wake);
	}
}

int agent_outputs_gone(const struct agent *a)
{
	int i;

	for (i = 0; i < a->n_out; i++)
		if (!a->out[i]->gone)
			return 0;
	return a->n_out > 0;
}

int agent_stop(struct agent *a, const volatile int *abort)
{
	int i, failing = 0;

	/* Interfaces deleted just now are forgotten first, not detached:
	 * their numbers may be another interface's already. Then stop
	 * metering; two flips drain both slots, the second catching packets
	 * that raced with the detach. */
	a->stopping = 1;
	agent_follow(a);
	meter_detach(&a->meter);
	agent_sweep(a);
	sample_clocks(a);
	i = meter_flip(&a->meter);
	if (i >= 0)
		drain_slot(a, i);
	flowtab_flush(&a->tab, FLOW_END_FORCED);
	for (i = 0; i < a->n_out; i++)
		a->out[i]->ops->tick(a->out[i], &a->totals);
	deliver_queued(a, abort);
	/* Closing counts what could not be delivered in time as not sent:
	 * the exit line comes after, from the counters (in the journal). */
	for (i = 0; i < a->n_out; i++) {
		failing |= a->out[i]->failing;
		a->out_unsupported[i] = a->out[i]->records_unsupported;
		a->out[i]->ops->close(a->out[i], &a->totals);
		a->out[i] = NULL;
	}
	if (a->cfg->verbose)
		agent_print_counters(a, stderr, "exit");
	a->n_out = 0;
	/* Everything went out or was counted: nothing for a successor. */
	journal_close(&a->jr, 1);
	meter_close(&a->meter, 1);
	links_close(&a->links);
	free(a->gone);
	a->gone = NULL;
	a->n_gone = a->cap_gone = 0;
	flowtab_free(&a->tab);
	frag_snapshot_free(&a->frags);
	free(a->tun_by_ref);
	a->tun_by_ref = NULL;
	return failing ? -EIO : 0;
}

/* Output @i's records its format cannot carry, open or closed. */
static uint64_t out_unsupported(const struct agent *a, int i)
{
	return a->out[i] ? a->out[i]->records_unsupported : a->out_unsupported[i];
}

void agent_print_counters(struct agent *a, FILE *f, const char *when)
{
	const struct meter_totals *t = &a->totals;
	uint64_t exported = 0, not_sent = 0, unsupported = 0;
	int i;

	for (i = 0; i < a->n_out; i++) {
		exported += a->out_stats[i]->records_sent;
		not_sent += a->out_stats[i]->records_not_sent;
		unsupported += out_unsupported(a, i);
	}
	fprintf(f,
		"bpfix %s: packets %llu octets %llu | kernel flows %llu drained %llu | "
		"records %llu exported %llu not-sent %llu | unsupported %llu | "
		"lost flows %llu packets %llu | "
		"malformed %llu | duplicates %llu | adopted flows %llu packets %llu | "
		"held fragments resolved %llu unmatched %llu waiting %u | table %u/%u | "
		"sweeps %llu last %.1f ms max %.1f ms | "
		"interfaces %d attached %llu let-go %llu failed %llu resyncs %llu\n",
		when, (unsigned long long)t->packets_seen, (unsigned long long)t->octets_seen,
		(unsigned long long)t->flows_observed, (unsigned long long)a->drained_flows,
		(unsigned long long)t->records_emitted, (unsigned long long)exported,
		(unsigned long long)not_sent, (unsigned long long)unsupported,
		(unsigned long long)t->flows_lost,
		(unsigned long long)t->ignored_packets, (unsigned long long)t->malformed_packets,
		(unsigned long long)t->duplicate_packets,
		(unsigned long long)a->adopted_flows, (unsigned long long)a->adopted_packets,
		(unsigned long long)a->tab.stats.held_resolved,
		(unsigned long long)a->tab.stats.held_unmatched, a->tab.held, a->tab.used, a->tab.capacity, (unsigned long long)a->sweeps,
		a->sweep_ns_last / 1e6, a->sweep_ns_max / 1e6, a->meter.n_att,
		(unsigned long long)a->ifaces_attached, (unsigned long long)a->ifaces_let_go,
		(unsigned long long)a->attach_failures, (unsigned long long)a->links.resyncs);
	fflush(f);
}

void agent_snapshot(const struct agent *a, struct metrics_snapshot *s)
{
	int i;

	s->now_ms = a->now_ms;
	s->totals = a->totals;
#define X(name, doc) s->kernel.name = a->last.name - a->start.name;
	BPFIX_STATS(X)
#undef X
	s->drained_flows = a->drained_flows;
	s->adopted_flows = a->adopted_flows;
	s->adopted_packets = a->adopted_packets;
	s->orphan_records = a->orphan_records;
	s->orphan_packets = a->orphan_packets;
	s->lru_flows = a->lost_flows;
	s->lru_packets = a->lost_packets;
	s->lru_octets = a->lost_octets;
	s->table_used = a->tab.used;
	s->table_capacity = a->tab.capacity;
	s->kernel_table_entries = a->meter.table_entries;
	s->kernel_table_drained = a->last_drained_flows;
	s->sweeps = a->sweeps;
	s->sweep_ns_last = a->sweep_ns_last;
	s->sweep_ns_max = a->sweep_ns_max;
	s->sweep_ns_total = a->sweep_ns_total;
	memcpy(s->sweep_hist, a->sweep_hist, sizeof(s->sweep_hist));
	s->n_out = a->n_out;
	for (i = 0; i < a->n_out; i++) {
		snprintf(s->out[i].name, sizeof(s->out[i].name), "%s", a->out[i]->name);
		s->out[i].st = *a->out_stats[i];
		s->out[i].unsupported = out_unsupported(a, i);
	}
	s->n_ifc = a->n_ifc;
	memcpy(s->ifc, a->ifc, sizeof(s->ifc[0]) * a->n_ifc);
	s->ifaces_metered = (uint32_t)a->meter.n_att;
	s->ifaces_attached = a->ifaces_attached;
	s->ifaces_let_go = a->ifaces_let_go;
	s->attach_failures = a->attach_failures;
	s->xdp_detached = a->xdp_detached;
	s->netlink_resyncs = a->links.resyncs;
	s->netlink_malformed = a->links.malformed;
	s->mem = a->cfg->mem;
}
