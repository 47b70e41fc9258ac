/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sender side of a stream: N channels, each a TCP connection and a thread
 * of the worker pool (pages/pool.h) that owns its socket, codec context,
 * classifier and buffers.
 *
 * The producer (a CLI, a precopy loop) calls kmig_send_queue() with ranges
 * of a block and an optional bitmap of the pages to send; the range is cut
 * into chunks of KMIG_CHUNK_PAGES and each chunk goes to the queue of the
 * channel that owns it (kmig_chunk_channel(): fixed by block and chunk
 * index). Because one page always travels on the same channel, and one
 * channel is one ordered TCP stream applied in order by one receiver
 * thread, successive versions of a page are applied in the order they were
 * queued, with no barrier needed. kmig_send_flush() is a barrier anyway:
 * it returns when every page queued before it has been applied by the
 * receiver (an iteration boundary of precopy).
 *
 * The sender thread reads a page when it sends it, not when it is queued:
 * queueing a page that changes later sends its newer content, which is
 * what precopy wants. A data page is read once in userspace (pages/pass.h:
 * zero check, page sum) and sent from guest memory; a page the guest rewrites
 * meanwhile arrives unverified and must be queued again (it is dirty), as
 * the precopy loop does. Zero detection and hole skipping happen on the
 * channel threads, never on the producer's thread, and only for pages the
 * caller did not classify (kmig_send_queue_zero()).
 *
 * Threads: create, connect/start, queue, flush, finish and destroy are
 * called by one producer thread; cancel, stats and error from any thread.
 *
 * Errors: every call returns 0 or -errno. The first failure (a channel's
 * socket, the receiver's ERROR packet, kmig_send_cancel()) fails the whole
 * stream: all sockets are shut down, all threads and blocked callers wake
 * up, and kmig_send_error() tells what happened.
 */
#ifndef KMIG_SEND_H
#define KMIG_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "base/ram.h"
#include "pages/stats.h"
#include "stream/wire.h"

struct kmig_send;
struct kmig_tls;

struct kmig_send_opts {
	unsigned int nr_channels;	/* 1..KMIG_MAX_CHANNELS; 0: 2 */
	enum kmig_codec_id codec;	/* with auto_compress: the codec to use */
	int level;			/* 0: codec default */
	int auto_compress;		/* per batch raw vs compressed (autocomp.h) */
	uint64_t max_bandwidth;		/* bytes/s over all channels; 0: none */
	unsigned int queue_depth;	/* chunks per channel queue; 0: 256 */
	int handshake_timeout_ms;	/* per reply; 0: 10 s */
	int idle_timeout_ms;		/* after the handshake, a receiver that takes
					 * nothing (or answers nothing) this long
					 * fails the session; 0: KMIG_IDLE_TIMEOUT_MS */
	int switchover;			/* live migration: PREPARED/COMMIT/RESUMED
					 * after finish (KMIG_FEAT_SWITCHOVER) */
	int no_page_sums;		/* plaintext pages without page sums
					 * (KMIG_FEAT_NO_PSUM): for a trusted
					 * link; the receiver must allow it
					 * (kmig_recv_opts.no_page_sums) */
	/* TLS on every channel (tls/tls.h; the caller's, kept until
	 * destroy); NULL: plaintext. Each channel's handshake, then its
	 * hello inside TLS, one channel after the other. */
	struct kmig_tls *tls;
};

/* Defaults: 2 channels, no compression, no limit. */
void kmig_send_opts_init(struct kmig_send_opts *o);

/* @ram must stay mapped and unchanged in layout until destroy. */
int kmig_send_create(struct kmig_send **out, const struct kmig_send_opts *o,
		     const struct kmig_ram *ram);

/* Connect nr_channels TCP connections, hello on each, send the block
 * table on channel 0, start the channel threads. */
int kmig_send_connect(struct kmig_send *s, const char *host, const char *port);
/* The same over already connected stream sockets (fds[nr_channels]); the
 * stream takes ownership of them. */
int kmig_send_start(struct kmig_send *s, const int *fds);

/* Queue pages [first, first + n) of @block; @bitmap (may be NULL: all)
 * has bit i set for page first + i to be sent. Blocks while the owning
 * channel's queue is full. */
int kmig_send_queue(struct kmig_send *s, uint32_t block, uint64_t first, uint64_t n,
		    const uint64_t *bitmap);
/* The same, with @zero (may be NULL): the caller (a dirty tracker)
 * classified every page of @bitmap: the set bits of @zero are zero pages,
 * sent as markers without being read; every other page is data, sent with
 * no zero check. NULL: the channel threads classify. Bit i of both is page
 * first + i. */
int kmig_send_queue_zero(struct kmig_send *s, uint32_t block, uint64_t first, uint64_t n,
			 const uint64_t *bitmap, const uint64_t *zero);
/* Every page of every block. */
int kmig_send_queue_all(struct kmig_send *s);

/* Barrier: returns when the receiver has applied everything queued before. */
int kmig_send_flush(struct kmig_send *s);

/* Flush, send the device state (may be NULL/0: none) on channel 0, END on
 * every channel, wait for the receiver's acknowledgements, stop threads. */
int kmig_send_finish(struct kmig_send *s, const void *devstate, size_t len);

/*
 * Live migration (opts.switchover), after kmig_send_finish() succeeded:
 *  - kmig_send_await_prepared(): the receiver staged the device state at its
 *    VMM and waits for our word; nothing runs there yet;
 *  - kmig_send_commit(): COMMIT, the point of no return: from now on the
 *    guest may run at the destination, so the source must not resume it
 *    unless the destination says it failed;
 *  - kmig_send_await_resumed(): the destination's guest runs (0, @rep
 *    filled), or the destination reported a failure: -EREMOTEIO, its text
 *    in kmig_send_error() (its guest does not run). Any other error (a
 *    timeout, a closed connection) leaves the outcome unknown.
 * @timeout_ms: at most that long for the answer (> 0).
 */
int kmig_send_await_prepared(struct kmig_send *s, int timeout_ms);
int kmig_send_commit(struct kmig_send *s);
int kmig_send_await_resumed(struct kmig_send *s, struct kmig_resumed *rep, int timeout_ms);
/* Instead of COMMIT (a strict downtime limit would be exceeded), with the
 * source guest resumed or not: ABORT; the receiver drops what it staged,
 * never runs the guest, and takes pages again. 0: the stream goes on as
 * before the finish (queue, flush, finish again; the receiver's PREPARED,
 * if not read yet, is read first, at most @timeout_ms). -errno: the
 * stream failed. A PREPARED that kmig_send_await_prepared() did not get in
 * time (-ETIMEDOUT) leaves the stream usable for this. */
int kmig_send_abort(struct kmig_send *s, int timeout_ms);

/* From any thread (not from a signal handler): fail the stream with @err
 * (e.g. -ECANCELED) and wake everything. */
void kmig_send_cancel(struct kmig_send *s, int err);

/* The error text of a failed stream ("" if none). */
const char *kmig_send_error(const struct kmig_send *s);
/* Current statistics (safe while running). */
void kmig_send_stats(struct kmig_send *s, struct kmig_stats *st);
/* How the channel threads find zero pages (kmig_pass_path()). */
const char *kmig_send_classify_path(const struct kmig_send *s);

/* Cancels if still running, joins threads, closes sockets. */
void kmig_send_destroy(struct kmig_send *s);

#endif /* KMIG_SEND_H */
