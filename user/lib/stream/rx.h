/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receiver core: the checks that need the session (sequence, block table,
 * page ranges, channel affinity, limits) and the application of a packet to
 * the destination RAM. No sockets and no threads here, so the fuzzers and
 * the hostile-input tests drive exactly the code the receiver runs.
 *
 * Order per packet: kmig_hdr_decode() (wire.c), kmig_rx_check_hdr(), read
 * the body (its length is now trusted), kmig_rx_apply() which checks the
 * body CRC and every list entry before it writes a byte of guest memory.
 */
#ifndef KMIG_RX_H
#define KMIG_RX_H

#include <pthread.h>
#include <stdbool.h>

#include "codec/codec.h"
#include "base/errbuf.h"
#include "base/ram.h"
#include "pages/stats.h"
#include "stream/wire.h"

struct kmig_rx_session {
	struct kmig_ram *ram;		/* destination blocks */
	bool ram_given;			/* caller's blocks: the table must match */
	uint64_t max_ram;		/* bytes of new blocks we accept */
	uint32_t max_devstate;		/* bytes */
	unsigned int nr_channels;
	uint8_t codec;			/* from the hellos */
	bool switchover;		/* KMIG_FEAT_SWITCHOVER: COMMIT may follow END */
	uint64_t chunk_base[KMIG_MAX_BLOCKS + 1];

	pthread_mutex_t lock;		/* protects the fields below */
	pthread_cond_t cond;
	bool table_ready;		/* ram and chunk_base are final */
	bool failed;
	uint8_t *devstate;
	uint32_t devstate_len;
	bool have_devstate;
};

struct kmig_rx_chan {
	struct kmig_rx_session *s;
	unsigned int id;
	uint64_t seq;			/* next expected sequence number */
	bool ended;
	bool committed;			/* switchover: COMMIT received (channel 0) */
	struct kmig_codec codec;	/* decompression context, reused */
	uint8_t *stage;			/* decompressed batch */
	struct kmig_err err;
	struct kmig_chan_stats stats;
};

/* What the caller must send back after a packet. */
enum kmig_rx_action {
	KMIG_RX_NONE,
	KMIG_RX_SYNC_ACK,
	KMIG_RX_END_ACK,
	KMIG_RX_COMMIT,		/* switchover: the sender committed */
};

int kmig_rx_session_init(struct kmig_rx_session *s, struct kmig_ram *ram,
			 unsigned int nr_channels, uint8_t codec);
void kmig_rx_session_fini(struct kmig_rx_session *s);

int kmig_rx_chan_init(struct kmig_rx_chan *ch, struct kmig_rx_session *s, unsigned int id);
void kmig_rx_chan_fini(struct kmig_rx_chan *ch);

/* Session rules that need no body. Also advances the sequence. */
int kmig_rx_check_hdr(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h);

/* Body CRC, lists, decompression, then the write. @body has
 * kmig_hdr_body_len(h) bytes. */
int kmig_rx_apply(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		  const uint8_t *body, enum kmig_rx_action *action);

/* True once the block table was applied (lock-free read for the fast path
 * after the first true). */
bool kmig_rx_table_ready(struct kmig_rx_session *s);

/* The whole sequence on a packet in memory (tests, fuzzers): decode,
 * check, apply. @used gets the packet's length; a buffer that ends inside
 * the packet gives -ENODATA. */
int kmig_rx_feed(struct kmig_rx_chan *ch, const uint8_t *buf, size_t len, size_t *used,
		 enum kmig_rx_action *action);
#endif /* KMIG_RX_H */
