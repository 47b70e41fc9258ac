// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pages/queue.h"

int kmig_queue_init(struct kmig_queue *q, unsigned int cap)
{
	memset(q, 0, sizeof(*q));
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->cap = cap;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return 0;
}

void kmig_queue_fini(struct kmig_queue *q)
{
	if (!q->ring)
		return;
	free(q->ring);
	q->ring = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
}

int kmig_queue_push(struct kmig_queue *q, const struct kmig_work *w)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap && !q->aborted)
		pthread_cond_wait(&q->not_full, &q->lock);
	if (q->aborted) {
		ret = -ECANCELED;
	} else {
		q->ring[(q->head + q->count) % q->cap] = *w;
		q->count++;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int kmig_queue_pop(struct kmig_queue *q, struct kmig_work *w)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->aborted)
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->aborted) {
		ret = -ECANCELED;
	} else {
		*w = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		/* A producer blocked on a full queue wakes when half of it is
		 * free, not at every pop: one wake-up per cap/2 items instead
		 * of a sleep and a wake-up per item (and a contended lock). */
		if (q->count <= q->cap / 2)
			pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void kmig_queue_abort(struct kmig_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->aborted = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

unsigned int kmig_queue_len(struct kmig_queue *q)
{
	unsigned int n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}
