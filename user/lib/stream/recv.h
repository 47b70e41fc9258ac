/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receiver side of a stream: accept the channels of one session, then one
 * thread per channel that validates every packet (rx.c) before it writes
 * into the destination RAM.
 *
 * Destination RAM: the caller's struct kmig_ram. If it is empty, the
 * receiver creates one block per entry of the sender's block table
 * (bounded by max_ram): a memfd, or what opts.create_block makes; otherwise the table must name the same blocks with
 * the same sizes in the same order (a VMM's memfds). Fresh blocks are
 * assumed zero; for blocks that already hold data, call
 * kmig_ram_mark_all_written() so that zero pages clear them.
 *
 * Threads: kmig_recv_run() blocks (run it on a thread of its own if the
 * caller has other work); cancel and stats may be called from any thread.
 *
 * kmig_recv_run() returns 0 only when every channel ended cleanly with END;
 * the caller then reads the device state (kmig_recv_devstate()) and the
 * statistics, and applies the device state itself, in one batch.
 */
#ifndef KMIG_RECV_H
#define KMIG_RECV_H

#include <stddef.h>
#include <stdint.h>

#include "base/ram.h"
#include "pages/stats.h"
#include "stream/rx.h"
#include "stream/wire.h"

struct kmig_recv;
struct kmig_tls;

/* A connection refused before it could touch memory: who and why. */
typedef void (*kmig_recv_refused_fn)(void *arg, const char *peer, const char *why);

struct kmig_recv_opts {
	unsigned int max_channels;	/* 0: KMIG_MAX_CHANNELS */
	uint64_t max_ram;		/* bytes of blocks to create; 0: 64 GiB */
	uint32_t max_devstate;		/* bytes; 0: 64 MiB */
	int accept_timeout_ms;		/* until all channels are there; 0: 30 s */
	int idle_timeout_ms;		/* after the handshake, a sender silent this
					 * long on a channel fails the session;
					 * 0: KMIG_IDLE_TIMEOUT_MS */
	int switchover;			/* a live-migration destination: the sender
					 * must ask for KMIG_FEAT_SWITCHOVER */
	/* Without the caller's blocks: how to create each block of the
	 * sender's table (NULL: a memfd), e.g. a file to receive into. */
	kmig_rx_create_fn create_block;
	void *create_arg;
	enum kmig_landing landing;	/* fresh pages of blocks with a file
					 * (rx.h); 0: KMIG_LAND_AUTO */
	int no_page_sums;		/* accept a plaintext sender's pages
					 * without page sums (KMIG_FEAT_NO_PSUM):
					 * trust the link. Otherwise its hello
					 * is refused. */
	/* TLS on every channel (tls/tls.h; the caller's, kept until
	 * destroy); NULL: plaintext. Then a connection whose handshake
	 * fails, or whose hello inside TLS is not of this session's peer
	 * (another certificate, another session id, not channel 0 first),
	 * is refused, reported to @refused and closed, and the receiver
	 * keeps waiting for its channels: someone who merely reaches the
	 * port can neither join nor end the session. */
	struct kmig_tls *tls;
	kmig_recv_refused_fn refused;	/* may be NULL */
	void *refused_arg;
};

int kmig_recv_create(struct kmig_recv **out, const struct kmig_recv_opts *o,
		     struct kmig_ram *ram);

/* Listen on @host:@port (port "0": any free port, see kmig_recv_port()). */
int kmig_recv_listen(struct kmig_recv *r, const char *host, const char *port);
uint16_t kmig_recv_port(const struct kmig_recv *r);
/* Use already connected sockets instead of listening (fds[nr]); the
 * receiver takes ownership. */
int kmig_recv_set_fds(struct kmig_recv *r, const int *fds, unsigned int nr);

/* Accept, receive, wait for the end. 0 on a complete transfer. */
int kmig_recv_run(struct kmig_recv *r);

/*
 * Live migration (opts.switchover), after kmig_recv_run() returned 0 and
 * the device state has been staged at the VMM:
 *  - kmig_recv_await_commit(): PREPARED to the sender, then its COMMIT.
 *    0: resume the guest now. -EAGAIN: the sender's ABORT (a strict
 *    downtime limit): never resume it, drop what was staged at the VMM,
 *    and kmig_recv_run() again: more pages, another END (the memory
 *    received stays valid; the device state is gone). Any other error
 *    (the sender cancelled or vanished, no COMMIT within @timeout_ms, a
 *    cancel here): never resume it; the receiver has failed.
 *  - kmig_recv_resumed(): the guest runs; RESUMED with our timings.
 *  - kmig_recv_abort(): fail with a reason the sender receives as ERROR
 *    (e.g. the VMM refused the device state, or its COMMIT failed).
 */
int kmig_recv_await_commit(struct kmig_recv *r, int timeout_ms);
int kmig_recv_resumed(struct kmig_recv *r, const struct kmig_resumed *rep);
int kmig_recv_abort(struct kmig_recv *r, int err, const char *msg);

/* From any thread: fail with @err, shut every socket down. */
void kmig_recv_cancel(struct kmig_recv *r, int err);

const char *kmig_recv_error(const struct kmig_recv *r);
/* The device-state blob, or NULL if the sender sent none. */
const void *kmig_recv_devstate(struct kmig_recv *r, size_t *len);
void kmig_recv_stats(struct kmig_recv *r, struct kmig_stats *st);
/* Negotiated parameters, valid once channels arrived. */
unsigned int kmig_recv_channels(const struct kmig_recv *r);
/* The sender's ABORTs taken so far. */
unsigned int kmig_recv_aborts(const struct kmig_recv *r);
/* Connections refused so far (see kmig_recv_opts.tls). */
unsigned int kmig_recv_refused(const struct kmig_recv *r);

void kmig_recv_destroy(struct kmig_recv *r);

#endif /* KMIG_RECV_H */
