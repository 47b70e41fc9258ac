// SPDX-License-Identifier: GPL-2.0
/* The page writers' worker pool (pool.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/bits.h"
#include "pages/chunk.h"
#include "pages/pool.h"

/*
 * The writers read each page of a file-backed block about once, in order
 * within a chunk: read ahead (a file on a disk), and don't count this
 * mapping's reads as the pages' recent use (munmap() then marks none of
 * them accessed; Linux 6.3+). Advice only: no error.
 */
static void read_once(const struct kmig_ram_block *b)
{
	if (b->fd >= 0)
		madvise(b->base, b->size, MADV_SEQUENTIAL);
}

int kmig_pool_init(struct kmig_pool *p, unsigned int nr, unsigned int depth,
		   const struct kmig_ram *ram, const struct kmig_pool_ops *ops, void *arg)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!nr || nr > KMIG_MAX_WORKERS || !depth || !ram->nr)
		return -EINVAL;
	p->ops = ops;
	p->arg = arg;
	p->ram = ram;
	p->nr = nr;
	kmig_chunk_bases(ram, p->chunk_base);
	for (unsigned int i = 0; i < ram->nr; i++)
		read_once(&ram->blocks[i]);
	p->w = calloc(nr, sizeof(*p->w));
	if (!p->w)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++) {
		int ret = kmig_queue_init(&p->w[i].q, depth);

		if (ret)
			return ret;
		p->w[i].p = p;
		p->w[i].id = i;
		p->nr_init = i + 1;
	}
	return 0;
}

int kmig_pool_vfail(struct kmig_pool *p, int code, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&p->lock);
	if (!p->failed) {
		p->err.code = code;
		vsnprintf(p->err.msg, sizeof(p->err.msg), fmt, ap);
		__atomic_store_n(&p->failed, 1, __ATOMIC_RELAXED);
		for (unsigned int i = 0; i < p->nr_init; i++)
			kmig_queue_abort(&p->w[i].q);
		if (p->ops && p->ops->failed)
			p->ops->failed(p->arg);
		pthread_cond_broadcast(&p->cond);
	}
	code = p->err.code;
	pthread_mutex_unlock(&p->lock);
	return code;
}

int kmig_pool_fail(struct kmig_pool *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = kmig_pool_vfail(p, code, fmt, ap);
	va_end(ap);
	return code;
}

int kmig_pool_error_code(struct kmig_pool *p)
{
	int code;

	pthread_mutex_lock(&p->lock);
	code = p->failed ? p->err.code : 0;
	pthread_mutex_unlock(&p->lock);
	return code;
}

const char *kmig_pool_error(const struct kmig_pool *p)
{
	return p->err.msg;
}

static void publish(struct kmig_pool_worker *w, const struct kmig_work *wk)
{
	pthread_mutex_lock(&w->p->lock);
	if (wk->kind == KMIG_WORK_SYNC)
		w->acked_sync = wk->arg;
	else
		w->ended = true;
	pthread_cond_broadcast(&w->p->cond);
	pthread_mutex_unlock(&w->p->lock);
}

static void *worker_main(void *arg)
{
	struct kmig_pool_worker *w = arg;
	struct kmig_pool *p = w->p;
	struct kmig_work wk;

	while (!kmig_queue_pop(&w->q, &wk)) {	/* an error: aborted, the pool failed */
		int ret = p->ops->work(p->arg, w->id, &wk);

		if (ret) {
			kmig_pool_fail(p, ret, "worker %u: %s", w->id, strerror(-ret));
			break;
		}
		if (wk.kind == KMIG_WORK_SYNC || wk.kind == KMIG_WORK_END)
			publish(w, &wk);
		if (wk.kind == KMIG_WORK_END)
			break;
	}
	return NULL;
}

int kmig_pool_start(struct kmig_pool *p)
{
	for (unsigned int i = 0; i < p->nr; i++) {
		int ret = -pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]);

		if (ret)
			return kmig_pool_fail(p, ret, "starting worker %u: %s", i, strerror(-ret));
		p->w[i].started = true;
	}
	return 0;
}

int kmig_pool_push(struct kmig_pool *p, unsigned int id, const struct kmig_work *w)
{
	int ret = kmig_queue_push(&p->w[id].q, w);

	return ret ? kmig_pool_error_code(p) ?: ret : 0;
}

static int push_chunk(void *arg, unsigned int owner, const struct kmig_work *w, uint64_t set)
{
	struct kmig_pool *p = arg;
	int ret = kmig_pool_push(p, owner, w);

	if (!ret)
		p->pages_queued += set;
	return ret;
}

int kmig_pool_queue(struct kmig_pool *p, uint32_t block, uint64_t first, uint64_t n,
		    const uint64_t *bitmap, const uint64_t *zero)
{
	uint64_t end;

	if (block >= p->ram->nr || !kmig_add_ok(first, n, &end) ||
	    end > p->ram->blocks[block].npages)
		return -EINVAL;
	return kmig_chunk_split(p->chunk_base, p->nr, block, first, end, bitmap, zero,
				push_chunk, p);
}

static bool all_done(struct kmig_pool *p, enum kmig_work_kind kind, uint64_t id)
{
	for (unsigned int i = 0; i < p->nr; i++)
		if (kind == KMIG_WORK_SYNC ? p->w[i].acked_sync < id : !p->w[i].ended)
			return false;
	return true;
}

/* @kind on every worker's queue, then wait until all have done it. */
static int barrier(struct kmig_pool *p, enum kmig_work_kind kind, uint64_t id)
{
	struct kmig_work wk = { .kind = kind, .arg = id };
	int ret = 0;

	for (unsigned int i = 0; i < p->nr && !ret; i++)
		ret = kmig_pool_push(p, i, &wk);
	if (ret)
		return ret;
	pthread_mutex_lock(&p->lock);
	while (!p->failed && !all_done(p, kind, id))
		pthread_cond_wait(&p->cond, &p->lock);
	ret = p->failed ? p->err.code : 0;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int kmig_pool_flush(struct kmig_pool *p)
{
	int ret = barrier(p, KMIG_WORK_SYNC, ++p->sync_id);

	if (!ret)
		p->syncs++;
	return ret;
}

int kmig_pool_end(struct kmig_pool *p)
{
	int ret = barrier(p, KMIG_WORK_END, 0);

	kmig_pool_join(p);
	return ret;
}

int kmig_pool_restart(struct kmig_pool *p)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	ret = p->failed ? p->err.code : 0;
	for (unsigned int i = 0; !ret && i < p->nr; i++)
		p->w[i].ended = false;
	pthread_mutex_unlock(&p->lock);
	return ret ?: kmig_pool_start(p);
}

void kmig_pool_join(struct kmig_pool *p)
{
	for (unsigned int i = 0; i < p->nr_init; i++) {
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
		p->w[i].started = false;
	}
}

void kmig_pool_fini(struct kmig_pool *p)
{
	for (unsigned int i = 0; i < p->nr_init; i++)
		if (p->w[i].started) {
			kmig_pool_fail(p, -ECANCELED, "cancelled");
			break;
		}
	kmig_pool_join(p);
	for (unsigned int i = 0; i < p->nr_init; i++)
		kmig_queue_fini(&p->w[i].q);
	free(p->w);
	p->w = NULL;
	p->nr_init = 0;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}
