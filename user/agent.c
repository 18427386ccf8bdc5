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
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent.h"

#define LISTEN_RELOAD_MS 1000	/* a server started a second ago counts */

/* The counters of interface @ifindex: one of the first few, nearly always.
 * An ifindex no -i named (an earlier run's adopted flows) gets a slot of
 * its own while there are slots; then the last slot, ifindex 0, takes the
 * rest. */
static struct metrics_iface *iface_counts(struct agent *a, uint32_t ifindex)
{
	struct metrics_iface *c;
	int i;

	for (i = 0; i < a->n_ifc; i++)
		if (a->ifc[i].ifindex == ifindex)
			return &a->ifc[i];
	if (a->n_ifc == METRICS_IFACES)
		return &a->ifc[METRICS_IFACES - 1];
	c = &a->ifc[a->n_ifc++];
	c->ifindex = a->n_ifc < METRICS_IFACES ? ifindex : 0;
	if (!c->ifindex || !if_indextoname(ifindex, c->name))
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
		a->n_out++;
		return 0;
	}
	for (i = 0; i < cfg->n_collectors; i++) {
		a->out[a->n_out] = output_ipfix_open(&cfg->collectors[i], cfg, err, errlen);
		if (!a->out[a->n_out])
			return -EINVAL;
		a->out_stats[a->n_out] = a->out[a->n_out]->stats;
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

/* An earlier agent's journal of another geometry: its flows go out now as
 * forced-end records, what it never sent is counted as not sent. */
static void export_old_journal(struct agent *a)
{
	struct journal *old = a->jr.old;
	struct flowtab t;
	struct drain_ctx d = { .a = a, .tab = &t };

	journal_new_ledger(old);
	journal_carry(&a->jr, old->rec.lost);
	if (flowtab_init(&t, old->h->capacity, a->tab.biflow, a->tab.pair_ifindex,
			 a->tab.idle_ms, a->tab.active_ms, emit, a))
		return;
	flowtab_adopt(&t, old->entries, NULL);
	t.lp = &a->lp;
	journal_fold_staged(old, agent_drain_flow, &d);
	a->adopted_flows += d.flows;
	a->adopted_packets += d.packets;
	fprintf(stderr, "bpfix: %s: an earlier agent's journal for %u flows: "
		"%u flows exported now (forced end)\n", old->path, old->h->capacity, t.used);
	flowtab_flush(&t, FLOW_END_FORCED);
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
	journal_new_ledger(j);
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

int agent_start(struct agent *a, const struct bpfix_config *cfg, char *err, size_t errlen)
{
	int ret, i;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->jr.fd = -1;
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

	ret = meter_attach(&a->meter, cfg, err, errlen);
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
	struct pollfd pfd[MAX_COLLECTORS + 1];
	uint64_t now = clock_mono_ns();
	struct timespec ts;
	int i, n = 0;

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

	/* Stop metering first; then two flips drain both slots, the second
	 * catching packets that raced with the detach. */
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
		a->out[i]->ops->close(a->out[i], &a->totals);
		a->out[i] = NULL;
	}
	if (a->cfg->verbose)
		agent_print_counters(a, stderr, "exit");
	a->n_out = 0;
	/* Everything went out or was counted: nothing for a successor. */
	journal_close(&a->jr, 1);
	meter_close(&a->meter, 1);
	flowtab_free(&a->tab);
	frag_snapshot_free(&a->frags);
	free(a->tun_by_ref);
	a->tun_by_ref = NULL;
	return failing ? -EIO : 0;
}

void agent_print_counters(struct agent *a, FILE *f, const char *when)
{
	const struct meter_totals *t = &a->totals;
	uint64_t exported = 0, not_sent = 0;
	int i;

	for (i = 0; i < a->n_out; i++) {
		exported += a->out_stats[i]->records_sent;
		not_sent += a->out_stats[i]->records_not_sent;
	}
	fprintf(f,
		"bpfix %s: packets %llu octets %llu | kernel flows %llu drained %llu | "
		"records %llu exported %llu not-sent %llu | lost flows %llu packets %llu | "
		"malformed %llu | adopted flows %llu packets %llu | "
		"held fragments resolved %llu unmatched %llu waiting %u | table %u/%u | "
		"sweeps %llu last %.1f ms max %.1f ms\n",
		when, (unsigned long long)t->packets_seen, (unsigned long long)t->octets_seen,
		(unsigned long long)t->flows_observed, (unsigned long long)a->drained_flows,
		(unsigned long long)t->records_emitted, (unsigned long long)exported,
		(unsigned long long)not_sent, (unsigned long long)t->flows_lost,
		(unsigned long long)t->ignored_packets, (unsigned long long)t->malformed_packets,
		(unsigned long long)a->adopted_flows, (unsigned long long)a->adopted_packets,
		(unsigned long long)a->tab.stats.held_resolved,
		(unsigned long long)a->tab.stats.held_unmatched, a->tab.held, a->tab.used, a->tab.capacity, (unsigned long long)a->sweeps,
		a->sweep_ns_last / 1e6, a->sweep_ns_max / 1e6);
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
	}
	s->n_ifc = a->n_ifc;
	memcpy(s->ifc, a->ifc, sizeof(s->ifc[0]) * a->n_ifc);
	s->mem = a->cfg->mem;
}
