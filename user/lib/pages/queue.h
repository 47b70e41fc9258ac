/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A channel's work queue: a bounded ring of small work items between the
 * producer (the caller of kmig_send_queue(), e.g. a precopy loop) and the
 * channel's thread. A full queue blocks the producer (back-pressure) until
 * half of it is free; an aborted queue wakes everyone with -ECANCELED.
 */
#ifndef KMIG_QUEUE_H
#define KMIG_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pages/pages.h"

enum kmig_work_kind {
	KMIG_WORK_PAGES,	/* one chunk: block, first page, page mask */
	KMIG_WORK_SYNC,		/* send SYNC(arg), wait for its ack */
	KMIG_WORK_DEVSTATE,	/* send the stream's device state (channel 0) */
	KMIG_WORK_END,		/* send END, wait for its ack, stop */
};

struct kmig_work {
	enum kmig_work_kind kind;
	uint32_t block;
	uint64_t arg;		/* PAGES: first page (chunk-aligned); SYNC: id */
	uint64_t mask[KMIG_CHUNK_PAGES / 64];	/* PAGES: pages to send */
	uint64_t zmask[KMIG_CHUNK_PAGES / 64];	/* PAGES, hinted: of those, the
						 * zero ones (never read) */
	bool hinted;		/* PAGES: a dirty tracker classified every page of
				 * mask (zmask zero, the rest data): no page of it
				 * is classified again */
};

struct kmig_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct kmig_work *ring;
	unsigned int cap, head, count;
	bool aborted;
};

int kmig_queue_init(struct kmig_queue *q, unsigned int cap);
void kmig_queue_fini(struct kmig_queue *q);
int kmig_queue_push(struct kmig_queue *q, const struct kmig_work *w);
int kmig_queue_pop(struct kmig_queue *q, struct kmig_work *w);
void kmig_queue_abort(struct kmig_queue *q);
/* Items waiting (for progress displays). */
unsigned int kmig_queue_len(struct kmig_queue *q);

#endif /* KMIG_QUEUE_H */
