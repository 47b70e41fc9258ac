/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receiver core: the checks that need the session (sequence, block table,
 * page ranges, channel affinity, limits), and each packet's way into the
 * destination RAM. The transport is an ops table (struct kmig_rx_io): a
 * socket (recv.c) or a packet in memory (kmig_rx_feed(): the fuzzers and
 * the hostile-input tests), so both drive exactly the code the receiver
 * runs.
 *
 * Order per packet: kmig_hdr_decode() (wire.c), the session checks, then
 * for PAGES the lists section, whose CRC and every entry are checked before
 * a byte of guest memory is written; then the page bytes land straight in
 * the destination's memory (a raw payload is received into the pages'
 * places, a compressed frame is decoded into them), and each data page is
 * checked against its page sum (crc.h) where it landed. A mismatch marks the page
 * unverified, not failed: the sender sends from guest memory, so a page
 * the guest rewrote while it was on its way mismatches too, and such a
 * page is dirty and comes again. A later copy that verifies (or a zero
 * marker) clears the mark; END fails the channel if any of its pages is
 * still unverified (the source guest is paused for the last pass, so
 * nothing can race it then), except in a live migration, where the strict
 * limit's guard may resume the source while the last pages are on their
 * way: there COMMIT fails instead, and ABORT lets them come again. Other packets' bodies are read whole and
 * checked by the body CRC before they are used.
 */
#ifndef KMIG_RX_H
#define KMIG_RX_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "codec/codec.h"
#include "base/errbuf.h"
#include "base/ram.h"
#include "pages/stats.h"
#include "stream/wire.h"

/* Where a channel's bytes come from. Every call returns 0 or -errno and
 * consumes exactly what it was asked for. */
struct kmig_rx_io {
	/* @len bytes into @buf. */
	int (*read)(void *ctx, void *buf, size_t len);
	/* The bytes of @iov (destination pages); may change @iov. */
	int (*readv)(void *ctx, struct iovec *iov, int cnt);
	/* @len bytes into @fd at @off (a block's file) without passing
	 * through userspace, or, if the file refuses that, through its
	 * mapping @map (then *@mapped is set). NULL: not offered. */
	int (*splice)(void *ctx, int fd, uint64_t off, void *map, size_t len, bool *mapped);
	void *ctx;
	/* The transport authenticates every byte (TLS): PAGES may leave out
	 * the page sums (KMIG_PKT_F_NO_PSUM). */
	bool authenticated;
};

/* Creates a destination block from the sender's table (a receiver without
 * the caller's blocks): kmig_ram_add_*() into @ram. */
typedef int (*kmig_rx_create_fn)(void *arg, struct kmig_ram *ram, const char *name,
				 uint64_t size);

/*
 * How raw pages land into never-written pages of a block with a file.
 * SPLICE: socket -> pipe -> file, one copy and no page fault, in 4 KiB
 * pages unless the file takes huge pages on every route. MAP: received
 * through the mapping, with MADV_HUGEPAGE: each fault of a fresh 2 MiB
 * range allocates (and clears) one huge page, where the same pages by
 * splice() would be 512 page-cache insertions and leave the guest on 4 KiB
 * pages; a 2 MiB range with one data page is then allocated whole. AUTO:
 * MAP for the caller's memfds (a VMM's) whose huge pages come only by a
 * fault (shmem_enabled "advise": base/thp.h), SPLICE otherwise (blocks
 * the receiver creates keep every zero page a hole).
 */
enum kmig_landing {
	KMIG_LAND_AUTO,
	KMIG_LAND_SPLICE,
	KMIG_LAND_MAP,
};

extern const char *const kmig_landing_names[];	/* "auto", ..., NULL */

struct kmig_rx_session {
	struct kmig_ram *ram;		/* destination blocks */
	bool ram_given;			/* caller's blocks: the table must match */
	kmig_rx_create_fn create;	/* otherwise: NULL creates memfds */
	void *create_arg;
	uint64_t max_ram;		/* bytes of new blocks we accept */
	uint32_t max_devstate;		/* bytes */
	unsigned int nr_channels;
	uint8_t codec;			/* from the hellos */
	bool switchover;		/* KMIG_FEAT_SWITCHOVER: COMMIT may follow END */
	bool no_psum;			/* KMIG_FEAT_NO_PSUM, allowed: plaintext
					 * PAGES may come without page sums */
	uint64_t chunk_base[KMIG_MAX_BLOCKS + 1];
	enum kmig_landing landing;	/* set before the table comes */
	uint64_t land_map[KMIG_MAX_BLOCKS / 64];	/* blocks landed through
							 * the mapping (final
							 * with table_ready) */
	/* Pages whose last copy did not match its CRC; each 64-page word
	 * belongs to one channel (chunk affinity): no lock. */
	uint64_t *unverified[KMIG_MAX_BLOCKS];

	pthread_mutex_t lock;		/* protects the fields below */
	pthread_cond_t cond;
	bool table_ready;		/* ram, chunk_base, unverified are final */
	bool failed;
	uint8_t *devstate;
	uint32_t devstate_len;
	bool have_devstate;
	/* A live migration's END with pages unverified: only COMMIT fails
	 * (an ABORT sends them again). */
	bool end_unverified;
	char end_why[KMIG_ERR_MAX + 16];
};

struct kmig_rx_chan {
	struct kmig_rx_session *s;
	unsigned int id;
	uint64_t seq;			/* next expected sequence number */
	bool ended;
	bool committed;			/* switchover: COMMIT received (channel 0) */
	struct kmig_codec codec;	/* decompression context, reused */
	uint8_t *lists;			/* a PAGES lists section */
	uint8_t *cbuf;			/* a compressed payload */
	uint8_t *body;			/* other bodies (table, device state) */
	size_t body_cap;
	uint64_t unverified;		/* pages of this channel still marked */
	uint64_t no_splice[KMIG_MAX_BLOCKS / 64];	/* blocks whose file refused */
	struct kmig_err err;
	struct kmig_chan_stats stats;
};

/* What the caller must send back after a packet. */
enum kmig_rx_action {
	KMIG_RX_NONE,
	KMIG_RX_SYNC_ACK,
	KMIG_RX_END_ACK,
	KMIG_RX_COMMIT,		/* switchover: the sender committed */
	KMIG_RX_ABORT,		/* switchover: the sender aborted it */
};

int kmig_rx_session_init(struct kmig_rx_session *s, struct kmig_ram *ram,
			 unsigned int nr_channels, uint8_t codec);
void kmig_rx_session_fini(struct kmig_rx_session *s);

int kmig_rx_chan_init(struct kmig_rx_chan *ch, struct kmig_rx_session *s, unsigned int id);
/* After the sender's ABORT (the channel threads have ended): the session
 * drops the device state and every channel takes pages again, until the
 * next END. Sequence numbers and page marks go on. */
void kmig_rx_session_reopen(struct kmig_rx_session *s);
void kmig_rx_chan_reopen(struct kmig_rx_chan *ch);
void kmig_rx_chan_fini(struct kmig_rx_chan *ch);

/* One packet from @io: header (decoded into @h), checks, body,
 * application; @action: what to answer. */
int kmig_rx_packet(struct kmig_rx_chan *ch, const struct kmig_rx_io *io,
		   struct kmig_pkt_hdr *h, enum kmig_rx_action *action);

/* True once the block table was applied (lock-free read for the fast path
 * after the first true). */
bool kmig_rx_table_ready(struct kmig_rx_session *s);

/* kmig_rx_packet() on a packet in memory (tests, fuzzers). @used gets the
 * packet's length; a buffer that ends inside the packet gives -ENODATA. */
int kmig_rx_feed(struct kmig_rx_chan *ch, const uint8_t *buf, size_t len, size_t *used,
		 enum kmig_rx_action *action);

/* rx_pages.c: a PAGES packet whose header passed the checks. */
int kmig_rx_pages(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		  const struct kmig_rx_io *io);
/* rx_pages.c: END: every page of the channel verified? */
int kmig_rx_end_check(struct kmig_rx_chan *ch);

#endif /* KMIG_RX_H */
