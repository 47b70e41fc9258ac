/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transfer statistics, like QEMU's query-migrate: bytes on the wire, pages
 * by kind, time per phase, per channel (the kmig command renders them).
 * Counters are written by their channel's thread only (relaxed atomics, so
 * a progress reader on another thread sees sane values).
 */
#ifndef KMIG_STATS_H
#define KMIG_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pages/pages.h"

struct kmig_chan_stats {
	uint64_t packets;
	uint64_t bytes_wire;		/* headers + bodies, this direction */
	uint64_t pages_none;		/* sender: zero, never read (a hole, or a dirty
					 * tracker's zero hint) */
	uint64_t pages_zero;		/* sender: read, zero; receiver: all zero markers */
	uint64_t pages_zeroed;		/* receiver: zero marker cleared a written page */
	uint64_t pages_raw;		/* data pages sent/received uncompressed */
	uint64_t pages_compressed;	/* data pages in compressed batches */
	uint64_t bytes_compressed;	/* their payload bytes on the wire */
	uint64_t batches_raw, batches_compressed;
	/* Page bytes by what touched them (per data page: divide by
	 * (pages_raw + pages_compressed) * 4096): */
	uint64_t bytes_read;		/* read by a userspace pass (the sender's fused
					 * zero check + CRC + copy counts once; zero
					 * pages read whole; the receiver's verification;
					 * a compressor's input) */
	uint64_t bytes_copied;		/* written by userspace: staging copies,
					 * decompression output */
	uint64_t bytes_kcopied;		/* copied by the kernel: socket send/receive,
					 * pipe to file (payload bytes) */
	uint64_t pages_badcrc;		/* receiver: data pages that landed with a
					 * CRC mismatch (unverified until a later
					 * copy of the page verifies) */
	uint64_t ns_classify;		/* sender: hole skip + the fused page pass */
	uint64_t ns_codec;		/* compress (sender) / decompress (receiver) */
	uint64_t ns_io;			/* time in send/recv */
	uint64_t ns_throttle;		/* sender: waiting for the rate limiter */
};

/* Every counter of struct kmig_chan_stats, in order: X(name) each. */
#define KMIG_CHAN_STATS_FIELDS(X) \
	X(packets) X(bytes_wire) X(pages_none) X(pages_zero) X(pages_zeroed) \
	X(pages_raw) X(pages_compressed) X(bytes_compressed) X(batches_raw) \
	X(batches_compressed) X(bytes_read) X(bytes_copied) X(bytes_kcopied) X(pages_badcrc) \
	X(ns_classify) X(ns_codec) X(ns_io) X(ns_throttle)

enum kmig_phase {
	KMIG_PHASE_SETUP,	/* connect/accept, hellos, block table */
	KMIG_PHASE_PAGES,	/* page transfer until the last flush */
	KMIG_PHASE_FINISH,	/* device state, END, acknowledgements */
	KMIG_PHASE_NR,
};

/* TLS on the channels (tls/tls.h): what ran, for the reports. */
struct kmig_tls_stats {
	bool on;
	bool ktls_tx, ktls_rx;	/* the kernel did it, on every channel */
	char version[16];	/* "TLSv1.3" */
	char cipher[48];	/* "TLS_AES_128_GCM_SHA256" */
};

struct kmig_stats {
	const char *role;	/* "send" or "receive" */
	const char *codec;
	int auto_compress;
	int no_page_sums;	/* plaintext pages without page sums
				 * (--no-page-sums on both ends) */
	unsigned int nr_channels;
	uint64_t ram_bytes;	/* size of all blocks */
	uint64_t pages_queued;	/* sender: pages handed to kmig_send_queue() */
	uint64_t syncs;		/* flush barriers completed */
	uint64_t devstate_bytes;
	uint64_t ns_phase[KMIG_PHASE_NR];
	uint64_t ns_total;
	struct kmig_tls_stats tls;
	struct kmig_chan_stats chan[KMIG_MAX_WORKERS];
	struct kmig_chan_stats sum;
};

/* One batch of @data data pages moved, compressed into @bytes or raw. */
void kmig_chan_stats_batch(struct kmig_chan_stats *c, uint64_t data, bool compressed,
			   uint64_t bytes);

/* Fill @st->sum from the channels. */
void kmig_stats_sum(struct kmig_stats *st);
/* Copy counters with relaxed loads (from a live stream). */
void kmig_chan_stats_load(struct kmig_chan_stats *dst, const struct kmig_chan_stats *src);

#endif /* KMIG_STATS_H */
