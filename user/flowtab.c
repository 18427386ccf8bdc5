// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's flow table: the per-CPU merge, canonical keys (the two
 * directions of a conversation, ICMP requests and answers, on one entry),
 * the table and its expiry decisions. See flowtab.h; which side began a
 * conversation is initiator.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include "flowtab.h"
#include "journal.h"


/* ---- merging --------------------------------------------------------------- */

void flow_merge_percpu(const struct flow_counters *pc, int ncpus, int64_t offset_ns,
		       struct flow_side *out)
{
	uint64_t first = UINT64_MAX, last = 0;
	int c;

	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpus; c++) {
		const struct flow_counters *v = &pc[c];

		if (!v->packets)
			continue;
		if (!out->packets || v->min_ip_len < out->min_ip_len)
			out->min_ip_len = v->min_ip_len;
		if (!out->packets || v->min_ttl < out->min_ttl)
			out->min_ttl = v->min_ttl;
		if (v->max_ip_len > out->max_ip_len)
			out->max_ip_len = v->max_ip_len;
		if (v->max_ttl > out->max_ttl)
			out->max_ttl = v->max_ttl;
		if (v->first_ns < first) {
			/* The first packet's fields come from the earliest slot. */
			first = v->first_ns;
			out->tos = v->tos;
			out->flow_label = v->flow_label;
		}
		if (v->last_ns > last)
			last = v->last_ns;
		out->packets += v->packets;
		out->octets += v->octets;
		out->l2_octets += v->l2_octets;
		out->fragments += v->fragments;
		out->tcp_flags |= v->tcp_flags;
		out->tcp_syn |= v->tcp_syn;
		out->flags |= v->flags;
	}
	if (out->packets) {
		out->first_ns = first;
		out->first_ms = clock_kernel_to_wall_ms(first, offset_ns);
		out->last_ms = clock_kernel_to_wall_ms(last, offset_ns);
	}
}

void flow_side_add(struct flow_side *acc, const struct flow_side *d)
{
	if (!d->packets)
		return;
	if (!acc->packets) {
		uint32_t ifindex = acc->ifindex;
		uint8_t dir = acc->direction;

		*acc = *d;
		if (ifindex) {
			acc->ifindex = ifindex;
			acc->direction = dir;
		}
		return;
	}
	if (d->first_ms < acc->first_ms)
		acc->first_ms = d->first_ms;
	if (d->first_ns < acc->first_ns)
		acc->first_ns = d->first_ns;
	if (d->last_ms > acc->last_ms)
		acc->last_ms = d->last_ms;
	if (d->min_ip_len < acc->min_ip_len)
		acc->min_ip_len = d->min_ip_len;
	if (d->max_ip_len > acc->max_ip_len)
		acc->max_ip_len = d->max_ip_len;
	if (d->min_ttl < acc->min_ttl)
		acc->min_ttl = d->min_ttl;
	if (d->max_ttl > acc->max_ttl)
		acc->max_ttl = d->max_ttl;
	acc->packets += d->packets;
	acc->octets += d->octets;
	acc->l2_octets += d->l2_octets;
	acc->fragments += d->fragments;
	acc->tcp_flags |= d->tcp_flags;
	acc->tcp_syn |= d->tcp_syn;
	acc->flags |= d->flags;
}

/* ---- keys and directions --------------------------------------------------- */

/* 1 when (src, sport) sorts after (dst, dport): the key is the reverse of
 * its canonical orientation. */
static int key_reversed(const struct flow_key *k)
{
	int c = memcmp(&k->src, &k->dst, sizeof(k->src));

	if (c)
		return c > 0;
	return !flow_key_is_icmp(k) && k->src_port > k->dst_port;
}

/* Both directions of a conversation map to one canonical key: direction
 * cleared, endpoints sorted, ICMP answers folded onto their request; the
 * interface kept only where both directions cross the same one (TC). */
static void key_canonical(const struct flow_key *k, int biflow, int pair_ifindex,
			  struct flow_key *c, int *side)
{
	*c = *k;
	*side = 0;
	/* A held key stands for one fragment id in one direction: kept whole,
	 * so its move to the datagram's flow knows its direction. */
	if (!biflow || k->frag_held)
		return;
	c->direction = 0;
	if (!pair_ifindex)
		c->ifindex = 0;
	if (flow_key_is_icmp(k)) {
		c->src_port = 0;
		c->dst_port = flow_key_icmp_pair_type(k);
	}
	if (key_reversed(k)) {
		c->src = k->dst;
		c->dst = k->src;
		c->tun_reversed = k->tun_ref ? !k->tun_reversed : 0;
		if (!flow_key_is_icmp(k)) {
			c->src_port = k->dst_port;
			c->dst_port = k->src_port;
		}
		*side = 1;
	}
}

/* ---- the table --------------------------------------------------------------- */

static uint32_t key_hash(const struct flow_key *k)
{
	const uint32_t *w = (const uint32_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < sizeof(*k) / 4; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

int flowtab_init(struct flowtab *t, uint32_t capacity, int biflow, int pair_ifindex,
		 uint64_t idle_ms, uint64_t active_ms, flow_emit_fn emit, void *ctx)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->capacity = capacity;
	for (t->nbuckets = 1024; t->nbuckets < capacity * 2; t->nbuckets <<= 1)
		;
	t->e = calloc(capacity, sizeof(*t->e));
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	t->free_list = malloc(sizeof(*t->free_list) * capacity);
	if (!t->e || !t->bucket || !t->free_list) {
		flowtab_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < capacity; i++)
		t->free_list[i] = capacity - 1 - i;
	t->nfree = capacity;
	t->biflow = biflow;
	t->pair_ifindex = pair_ifindex;
	t->idle_ms = idle_ms;
	t->active_ms = active_ms;
	t->end_grace_ms = idle_ms < END_GRACE_MS ? idle_ms : END_GRACE_MS;
	t->high_water = capacity - capacity / 10;	/* 90 % */
	t->low_water = capacity - capacity / 4;		/* 75 %, and room for one */
	if (t->low_water == capacity)
		t->low_water = capacity - 1;
	t->emit = emit;
	t->emit_ctx = ctx;
	return 0;
}

void flowtab_free(struct flowtab *t)
{
	if (!t->e_external)
		free(t->e);
	free(t->bucket);
	free(t->free_list);
	memset(t, 0, sizeof(*t));
}

void flowtab_adopt(struct flowtab *t, struct flowtab_entry *entries, struct journal *jr)
{
	uint32_t i;

	if (!t->e_external)
		free(t->e);
	t->e = entries;
	t->e_external = 1;
	t->jr = jr;
	memset(t->bucket, 0, sizeof(*t->bucket) * t->nbuckets);
	t->nfree = t->used = t->held = t->scan_end = 0;
	/* Free indexes pushed high to low: the lowest is handed out first. */
	for (i = t->capacity; i-- > 0;) {
		struct flowtab_entry *e = &t->e[i];
		uint32_t b;

		if (!e->used) {
			t->free_list[t->nfree++] = i;
			continue;
		}
		b = key_hash(&e->canon) & (t->nbuckets - 1);
		e->hnext = t->bucket[b];
		t->bucket[b] = i + 1;
		t->used++;
		t->held += e->canon.frag_held;
		if (i >= t->scan_end)
			t->scan_end = i + 1;
	}
}

static struct flowtab_entry *lookup(struct flowtab *t, const struct flow_key *canon, uint32_t h)
{
	uint32_t i = t->bucket[h & (t->nbuckets - 1)];

	while (i) {
		struct flowtab_entry *e = &t->e[i - 1];

		if (!memcmp(&e->canon, canon, sizeof(*canon)))
			return e;
		i = e->hnext;
	}
	return NULL;
}

static void unlink_entry(struct flowtab *t, struct flowtab_entry *e)
{
	uint32_t idx = e - t->e, *p = &t->bucket[key_hash(&e->canon) & (t->nbuckets - 1)];

	while (*p && *p != idx + 1)
		p = &t->e[*p - 1].hnext;
	if (*p)
		*p = e->hnext;
	t->held -= e->canon.frag_held;
	memset(e, 0, sizeof(*e));
	t->free_list[t->nfree++] = idx;
	t->used--;
}

/* Make the record of @e (if it has anything new) and reset its deltas. */
static void emit_record(struct flowtab *t, struct flowtab_entry *e, uint8_t reason)
{
	struct flow_record r;
	int init, s;

	if (!e->side[0].packets && !e->side[1].packets)
		return;
	memset(&r, 0, sizeof(r));
	r.end_reason = reason;
	if (!t->biflow) {
		r.key = e->key[0];
		r.fwd = e->side[0];
	} else {
		if (e->initiator < 0 && e->canon.frag_held) {
			/* one direction, and its ports are a fragment id */
			e->initiator = 0;
			e->rule = INIT_FIRST_SEEN;
		} else if (e->initiator < 0) {
			enum initiator_rule rule;
			int seen[2] = { e->seen[0], e->seen[1] };

			e->initiator = flow_initiator(e->key, e->side, seen, t->lp, &rule);
			e->rule = rule;
		}
		init = e->initiator;
		r.biflow = 1;
		r.biflow_direction = e->rule == INIT_FIRST_SEEN ? BIFLOW_ARBITRARY : BIFLOW_INITIATOR;
		if (e->seen[init])
			r.key = e->key[init];
		else
			flow_key_reverse(&e->key[!init], &r.key);
		r.fwd = e->side[init];
		r.rev = e->side[!init];
	}
	if (r.key.frag_held) {
		/* Its first fragment never came: exported as the kernel once
		 * metered such fragments, ports 0. */
		r.key.frag_held = 0;
		r.key.src_port = 0;
		r.key.dst_port = 0;
		r.fwd.flags |= FLOW_F_FRAG_UNMATCHED;
		t->stats.held_unmatched += r.fwd.packets;
	}
	if (t->community_id)
		r.community_id_set = !community_id_digest(&r.key, t->community_id_seed,
							  r.community_id);
	t->emit(t->emit_ctx, &r);
	t->stats.records++;
	for (s = 0; s < 2; s++) {
		uint32_t ifindex = e->side[s].ifindex;
		uint8_t dir = e->side[s].direction;

		memset(&e->side[s], 0, sizeof(e->side[s]));
		e->side[s].ifindex = ifindex;
		e->side[s].direction = dir;
	}
}

/* One logged operation each: the record and the reset (or removal) of the
 * entry it came from (journal.h, EMIT). */
static void expire_entry(struct flowtab *t, struct flowtab_entry *e, uint8_t reason)
{
	journal_emit_begin(t->jr, (uint32_t)(e - t->e));
	emit_record(t, e, reason);
	unlink_entry(t, e);
	journal_end(t->jr);
}

static void active_record(struct flowtab *t, struct flowtab_entry *e)
{
	journal_emit_begin(t->jr, (uint32_t)(e - t->e));
	emit_record(t, e, FLOW_END_ACTIVE);
	journal_end(t->jr);
}

static int cmp_u64_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Lack of resources: expire the least recently active flows until the
 * table is down to @target entries. */
static void expire_oldest(struct flowtab *t, uint32_t target)
{
	uint64_t (*v)[2];
	uint32_t i, n = 0;

	if (t->used <= target)
		return;
	v = malloc(sizeof(*v) * t->used);
	if (!v) {
		/* No memory to sort: expire in table order rather than lose. */
		for (i = 0; i < t->scan_end && t->used > target; i++)
			if (t->e[i].used)
				expire_entry(t, &t->e[i], FLOW_END_RESOURCES);
		return;
	}
	for (i = 0; i < t->scan_end; i++)
		if (t->e[i].used) {
			v[n][0] = t->e[i].last_ms;
			v[n][1] = i;
			n++;
		}
	qsort(v, n, sizeof(*v), cmp_u64_pair);
	for (i = 0; i < n && t->used > target; i++)
		expire_entry(t, &t->e[v[i][1]], FLOW_END_RESOURCES);
	free(v);
}

static struct flowtab_entry *create(struct flowtab *t, const struct flow_key *canon, uint32_t h)
{
	struct flowtab_entry *e;
	uint32_t idx, b;

	idx = t->free_list[--t->nfree];
	if (idx >= t->scan_end)
		t->scan_end = idx + 1;
	e = &t->e[idx];
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->canon = *canon;
	e->initiator = -1;
	b = h & (t->nbuckets - 1);
	e->hnext = t->bucket[b];
	t->bucket[b] = idx + 1;
	t->used++;
	t->held += canon->frag_held;
	return e;
}

/* Add @d to side @s of @e, whose key is @key. */
static void side_add(struct flowtab_entry *e, int s, const struct flow_key *key,
		     const struct flow_side *d)
{
	if (!e->seen[s]) {
		e->seen[s] = 1;
		e->key[s] = *key;
		e->side[s].ifindex = key->ifindex;
		e->side[s].direction = key->direction;
	}
	flow_side_add(&e->side[s], d);
	if (d->last_ms > e->last_ms)
		e->last_ms = d->last_ms;
	if (key->protocol != IPPROTO_TCP || !key->ip_version ||
	    !(d->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)))
		return;
	if (d->tcp_flags & TCP_FLAG_FIN)
		e->fin[s] = 1;
	if (d->tcp_flags & TCP_FLAG_RST)
		e->rst = 1;
	/* Decided in flowtab_expire(), once the whole drain is in: the
	 * other direction's delta may come later in the same drain. */
	e->end_check = 1;
}

int flowtab_locate(struct flowtab *t, const struct flow_key *key, const struct flow_side *d,
		   struct flowtab_at *at)
{
	struct flowtab_entry *e;

	if (!d->packets)
		return 0;
	key_canonical(key, t->biflow, t->pair_ifindex, &at->canon, &at->side);
	at->hash = key_hash(&at->canon);
	e = lookup(t, &at->canon, at->hash);
	/* A new SYN (or its SYN-ACK, drained first) after the end of a TCP
	 * connection opens a new flow. */
	if (e && e->end_seen_ms && (d->tcp_syn & (TCP_SYN_SEEN | TCP_SYNACK_SEEN))) {
		expire_entry(t, e, FLOW_END_DETECTED);
		e = NULL;
	}
	if (!e && !t->nfree)
		expire_oldest(t, t->low_water);
	at->create = !e;
	/* create() takes the top of the free list */
	at->entry = e ? (uint32_t)(e - t->e) : t->free_list[t->nfree - 1];
	return 1;
}

void flowtab_add_at(struct flowtab *t, const struct flowtab_at *at, const struct flow_key *key,
		    const struct flow_side *d)
{
	struct flowtab_entry *e = at->create ? create(t, &at->canon, at->hash) : &t->e[at->entry];

	side_add(e, at->side, key, d);
}

void flowtab_add(struct flowtab *t, const struct flow_key *key, const struct flow_side *d)
{
	struct flowtab_at at;

	if (flowtab_locate(t, key, d, &at))
		flowtab_add_at(t, &at, key, d);
}

/* Move held entry @held into the flow of @key, its datagram's: one logged
 * operation (journal.h, MOVE). */
static int move_held(struct flowtab *t, struct flowtab_entry *held, const struct flow_key *key)
{
	struct flowtab_entry *e;
	struct flow_key canon;
	uint32_t h;
	int s;

	key_canonical(key, t->biflow, t->pair_ifindex, &canon, &s);
	h = key_hash(&canon);
	e = lookup(t, &canon, h);
	if (!e && !t->nfree)
		return 0;	/* no room without expiring: try again next sweep */
	journal_move_begin(t->jr, e ? (uint32_t)(e - t->e) : t->free_list[t->nfree - 1],
			   (uint32_t)(held - t->e));
	if (!e)
		e = create(t, &canon, h);
	side_add(e, s, key, &held->side[0]);
	journal_move_done(t->jr);
	t->stats.held_resolved += held->side[0].packets;
	unlink_entry(t, held);
	journal_end(t->jr);
	return 1;
}

uint32_t flowtab_resolve_held(struct flowtab *t, frag_find_fn find, void *ctx)
{
	uint32_t i, moved = 0;

	for (i = 0; i < t->scan_end && t->held; i++) {
		struct flowtab_entry *e = &t->e[i];
		struct frag_ports fp;
		struct frag_key fk;
		struct flow_key key;

		if (!e->used || !e->canon.frag_held)
			continue;
		frag_key_of_held(&e->key[0], &fk);
		if (find(ctx, &fk, &fp))
			continue;
		key = e->key[0];
		key.frag_held = 0;
		key.src_port = fp.src_port;
		key.dst_port = fp.dst_port;
		key.protocol = fp.protocol;
		moved += move_held(t, e, &key);
	}
	return moved;
}

void flowtab_prefetch(struct flowtab *t, const struct flow_key *key)
{
	struct flow_key canon;
	uint32_t b, i, old;
	int s;

	key_canonical(key, t->biflow, t->pair_ifindex, &canon, &s);
	b = key_hash(&canon) & (t->nbuckets - 1);
	__builtin_prefetch(&t->bucket[b]);
	t->pf_bucket[t->pf_n % FLOWTAB_PREFETCH] = b;
	t->pf_n++;
	if (t->pf_n <= FLOWTAB_PREFETCH / 2)
		return;
	/* a bucket prefetched half the distance ago: its head entry next */
	old = t->pf_bucket[(t->pf_n - 1 - FLOWTAB_PREFETCH / 2) % FLOWTAB_PREFETCH];
	i = t->bucket[old];
	if (i) {
		const char *e = (const char *)&t->e[i - 1];

		__builtin_prefetch(e, 1);
		__builtin_prefetch(e + 64, 1);
		__builtin_prefetch(e + 128, 1);
		__builtin_prefetch(e + 192, 1);
		__builtin_prefetch(e + 256, 1);
		__builtin_prefetch(e + 320, 1);
	}
}

static void end_seen(struct flowtab_entry *e, uint64_t now_ms)
{
	if (!e->end_seen_ms)
		e->end_seen_ms = now_ms;
}

/*
 * Uniflow: the connection ends for both directions' records, so each
 * entry learns its reverse's FIN and RST (fin[1] holds the reverse's FIN).
 * The reverse is looked up on the same interface (TC: the other hook);
 * one not metered at all (XDP sees one way) does not hold the end back.
 */
static void uniflow_end(struct flowtab *t, struct flowtab_entry *e, const struct flow_key *key,
			uint64_t now_ms)
{
	struct flowtab_entry *r;
	struct flow_key rk;

	flow_key_reverse(key, &rk);
	if (t->pair_ifindex)
		rk.direction = !key->direction;
	r = lookup(t, &rk, key_hash(&rk));
	if (r) {
		if (!r->fin_ms)
			r->fin_ms = now_ms;
		r->fin[1] |= e->fin[0];
		e->fin[1] |= r->fin[0];
		r->rst |= e->rst;
		e->rst |= r->rst;
		if (r->rst || (r->fin[0] && r->fin[1]))
			end_seen(r, now_ms);
	}
	if (e->rst || (e->fin[0] && (e->fin[1] || !r)))
		end_seen(e, now_ms);
}

/* After a FIN or RST: has the connection ended? */
static void check_end(struct flowtab *t, struct flowtab_entry *e, uint64_t now_ms)
{
	e->end_check = 0;
	if (!e->fin_ms)
		e->fin_ms = now_ms;
	if (t->biflow) {
		/* FIN from each direction that was seen at all: in XDP mode
		 * (ingress only) one direction may never be seen. */
		if (e->rst || ((e->fin[0] || !e->seen[0]) && (e->fin[1] || !e->seen[1])))
			end_seen(e, now_ms);
		return;
	}
	uniflow_end(t, e, &e->key[0], now_ms);
}

uint32_t flowtab_expire(struct flowtab *t, uint64_t now_ms)
{
	uint64_t before = t->stats.records;
	uint32_t i;

	for (i = 0; i < t->scan_end; i++) {
		struct flowtab_entry *e = &t->e[i];
		uint64_t start;

		if (!e->used)
			continue;
		if (e->end_check)
			check_end(t, e, now_ms);
		if (e->end_seen_ms && now_ms >= e->end_seen_ms + t->end_grace_ms) {
			expire_entry(t, e, FLOW_END_DETECTED);
			continue;
		}
		if (now_ms >= e->last_ms + t->idle_ms) {
			expire_entry(t, e, e->end_seen_ms ? FLOW_END_DETECTED : FLOW_END_IDLE);
			continue;
		}
		start = UINT64_MAX;
		if (e->side[0].packets)
			start = e->side[0].first_ms;
		if (e->side[1].packets && e->side[1].first_ms < start)
			start = e->side[1].first_ms;
		/* A closing connection's last record comes with the end
		 * reason: no active-timeout record from its first FIN or RST
		 * until the grace has passed (then it was only half-closed). */
		if (start != UINT64_MAX && now_ms >= start + t->active_ms && !e->end_seen_ms &&
		    !e->canon.frag_held &&
		    (!e->fin_ms || now_ms >= e->fin_ms + t->end_grace_ms))
			active_record(t, e);
	}
	if (t->used > t->high_water)
		expire_oldest(t, t->low_water);
	return (uint32_t)(t->stats.records - before);
}

uint32_t flowtab_flush(struct flowtab *t, uint8_t reason)
{
	uint64_t before = t->stats.records;
	uint32_t i;

	for (i = 0; i < t->scan_end; i++)
		if (t->e[i].used)
			expire_entry(t, &t->e[i], reason);
	return (uint32_t)(t->stats.records - before);
}

uint32_t flowtab_flush_ifaces(struct flowtab *t, const uint32_t *ifindex, uint32_t n,
			      uint8_t reason)
{
	uint64_t before = t->stats.records;

	for (uint32_t i = 0; i < t->scan_end; i++) {
		struct flowtab_entry *e = &t->e[i];
		int hit = 0;

		if (!e->used)
			continue;
		for (uint32_t k = 0; k < n && !hit; k++)
			hit = (e->side[0].ifindex == ifindex[k] && e->side[0].ifindex) ||
			      (e->side[1].ifindex == ifindex[k] && e->side[1].ifindex);
		if (hit)
			expire_entry(t, e, reason);
	}
	return (uint32_t)(t->stats.records - before);
}
