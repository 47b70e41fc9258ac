/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The worker pool of every page writer: N threads, each with its bounded
 * work queue, fed with the chunks of kmig_pool_queue() (chunk.h: a chunk
 * always goes to the same worker), with barriers (SYNC, END) that return
 * once every worker has done everything queued before them, and one
 * failure state (the first error wins, every queue is aborted, every waiter
 * wakes up). What a worker does with an item is the sink's: the stream's
 * channels send packets and wait for acknowledgements, the snapshot
 * writer's threads write pages at fixed file offsets. Like QEMU multifd's
 * per-method ops table, the sink gives its work function to the pool.
 *
 * Threads: init, start, queue, push, barrier, stop and fini are called by
 * one producer thread; fail, failed and error from any thread (the workers
 * included).
 */
#ifndef KMIG_POOL_H
#define KMIG_POOL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "base/ram.h"
#include "pages/queue.h"

struct kmig_pool_ops {
	/*
	 * Do @w on worker @id: PAGES (a chunk), SYNC(arg), DEVSTATE, END.
	 * Returns 0 or -errno; on an error the sink should have called
	 * kmig_pool_fail() with its own text first (otherwise the pool fails
	 * with "worker N: strerror"). A worker stops after an error or END.
	 */
	int (*work)(void *arg, unsigned int id, const struct kmig_work *w);
	/* The pool just failed: unblock what the workers may wait on (the
	 * stream shuts its sockets down). Called once, with the pool's lock
	 * held: must not call back into the pool. May be NULL. */
	void (*failed)(void *arg);
};

struct kmig_pool_worker {
	struct kmig_pool *p;
	unsigned int id;
	struct kmig_queue q;
	pthread_t thread;
	bool started;
	uint64_t acked_sync;	/* under p->lock */
	bool ended;		/* under p->lock */
};

struct kmig_pool {
	const struct kmig_pool_ops *ops;
	void *arg;
	const struct kmig_ram *ram;
	uint64_t chunk_base[KMIG_MAX_BLOCKS + 1];
	struct kmig_pool_worker *w;
	unsigned int nr;
	unsigned int nr_init;	/* workers whose queue exists (cleanup bound) */

	pthread_mutex_t lock;	/* err, acks; cond signals both */
	pthread_cond_t cond;
	int failed;		/* also read without the lock (fast paths) */
	struct kmig_err err;

	uint64_t sync_id;	/* producer side only */
	uint64_t pages_queued, syncs;
};

/* @nr workers (1..KMIG_MAX_WORKERS), @depth chunks per queue, over @ram
 * (mapped and unchanged in layout until fini). No thread runs yet. */
int kmig_pool_init(struct kmig_pool *p, unsigned int nr, unsigned int depth,
		   const struct kmig_ram *ram, const struct kmig_pool_ops *ops, void *arg);
/* Start the worker threads. On an error the pool has failed. */
int kmig_pool_start(struct kmig_pool *p);

/* Pages [first, first + n) of @block, @bitmap (NULL: all) bit i = page
 * first + i to write; @zero (NULL: the workers classify) the tracker's
 * classification: of those pages, the zero ones (every other one is data).
 * Blocks while the owning worker's queue is full. */
int kmig_pool_queue(struct kmig_pool *p, uint32_t block, uint64_t first, uint64_t n,
		    const uint64_t *bitmap, const uint64_t *zero);
/* One item to worker @id (e.g. the device state to worker 0). */
int kmig_pool_push(struct kmig_pool *p, unsigned int id, const struct kmig_work *w);
/* SYNC on every worker: returns when all have done everything before it. */
int kmig_pool_flush(struct kmig_pool *p);
/* END on every worker, wait for all, join the threads. */
int kmig_pool_end(struct kmig_pool *p);
/* After kmig_pool_end(): start the workers again, for more work and
 * another END (a live migration's switchover called off after END). */
int kmig_pool_restart(struct kmig_pool *p);
/* Join the threads (after kmig_pool_end() or a failure). */
void kmig_pool_join(struct kmig_pool *p);

/* Fail the pool once with @code and a message (the first one wins); wakes
 * every worker and waiter. Returns the pool's error code. */
int kmig_pool_fail(struct kmig_pool *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int kmig_pool_vfail(struct kmig_pool *p, int code, const char *fmt, va_list ap);
/* The error code (0: none) and text ("" if none). */
int kmig_pool_error_code(struct kmig_pool *p);
const char *kmig_pool_error(const struct kmig_pool *p);

/* Fails the pool if threads still run (-ECANCELED), joins them, frees. */
void kmig_pool_fini(struct kmig_pool *p);

#endif /* KMIG_POOL_H */
