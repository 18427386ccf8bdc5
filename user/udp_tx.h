/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Export messages over UDP (or into a FIFO), whatever their format: a
 * bounded queue of finished messages and a pacer that sends them at
 * --export-rate records a second at most (user/udp_tx.c). IPFIX
 * (ipfix_export.c) and NetFlow v9 and v5 (netflow_export.c) make the messages;
 * this counts what was sent and not sent, through their hooks, so that
 * each keeps its own statistics (first and last drop, octets exported).
 */
#ifndef BPFIX_UDP_TX_H
#define BPFIX_UDP_TX_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "output.h"

#define UDP_SNDBUF		(1 << 20) /* octets: what a link may hold behind a burst */
#define PACE_BURST_MS		5	/* a burst is at most this long at --export-rate */
#define PACE_RETRY_NS		1000000	/* a full local socket buffer: try again */
#define UDP_QUEUE_SPARE_SLOTS	64	/* messages beyond the full ones (partial, options) */

/* What a message carries: @records (data records, options included) pace
 * it; its @flows, @packets and @octets are what is sent or not. */
struct udp_counts {
	uint32_t records;
	uint64_t flows, packets, octets;
};

struct udp_tx;

/* What the message format adds to the transport. */
struct udp_tx_ops {
	/* The queued message @msg is about to go while templates are due
	 * again (a send was refused): send them with udp_tx_send first.
	 * 0 once out, 1 when @msg is not one to put them before (they wait
	 * for the next), else the send's error. May be NULL: a format
	 * without templates. */
	int  (*resend)(struct udp_tx *t, const uint8_t *msg, size_t len);
	/* Stamp @msg as it leaves (export time). */
	void (*stamp)(struct udp_tx *t, uint8_t *msg, size_t len);
	/* The message went out whole (@len octets), or will not go. */
	void (*sent)(struct udp_tx *t, const struct udp_counts *c, size_t len);
	void (*not_sent)(struct udp_tx *t, const struct udp_counts *c);
};

struct udp_tx {
	const struct udp_tx_ops *ops;
	struct output *out;		/* whose stats and state (gone, failing) */
	int fd;
	int fifo;			/* write() whole PIPE_BUF messages, EPIPE: gone */

	uint8_t *uq;			/* uq_slots slots of uq_slot_size octets */
	size_t uq_slot_size;
	uint32_t uq_slots, uq_head, uq_len;
	uint64_t uq_records, uq_cap;	/* flow records queued, and the most allowed */
	uint64_t rate;			/* --export-rate: records a second at most */
	uint64_t pace;			/* ... for this sweep interval */
	uint64_t sweep_ms;
	double tokens;			/* records that may go now */
	double burst;			/* ... at most */
	uint64_t tok_ns;		/* monotonic time of the last refill */
	uint32_t uq_burst_min;		/* records: a burst holds a full flow message */
	int tpl_lost;			/* a send was refused since the last tick */
	int tpl_resend;			/* templates go again ahead of the next data ... */
	int tpl_rearmed;		/* ... which a refusal asked for once this sweep */
};

/* Connect a UDP socket to @c. Returns the message size for @mtu, at most
 * @msg_max, or a negative errno with one line in @err (@largest: octets
 * the largest single item needs, which a message must hold). */
int udp_tx_open(struct udp_tx *t, const struct collector *c, uint32_t mtu, size_t largest,
		uint32_t msg_max, char *err, size_t errlen);
/* The queue: --udp-queue flow records in messages of @cap octets, of
 * which a full one holds at least @min_full records and a full one of the
 * most common kind @burst_min (the smallest burst the pacer sends). */
int udp_tx_queue_open(struct udp_tx *t, const struct bpfix_config *cfg, uint32_t cap,
		      uint32_t min_full, uint32_t burst_min, char *err, size_t errlen);
/* A finished message into the queue (or counted as not sent: full). */
void udp_tx_enqueue(struct udp_tx *t, const uint8_t *msg, size_t len,
		    const struct udp_counts *c);
/* send() one datagram without waiting: 0, -EAGAIN, or the error. */
int udp_tx_send(struct udp_tx *t, const uint8_t *buf, size_t len);
/* Send what the pace allows now; returns when to come back (monotonic
 * ns), UINT64_MAX when nothing waits. */
uint64_t udp_tx_pace(struct udp_tx *t, uint64_t now_ns, uint64_t rate);
/* The end of a sweep's messages: the pace for the next interval, and what
 * it allows now. */
void udp_tx_tick(struct udp_tx *t);
/* Everything still queued will not be sent. */
void udp_tx_drop_all(struct udp_tx *t);
void udp_tx_free(struct udp_tx *t);

#endif /* BPFIX_UDP_TX_H */
