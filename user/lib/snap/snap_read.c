// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot page reader: N threads take ranges of RANGE_PAGES pages (in
 * file order, from a shared counter) and read the runs of present pages
 * with one pread() each, straight into guest memory (O_DIRECT: no copy),
 * then check each page against its CRC32C. Absent pages are neither read
 * nor touched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "snap/snap_load.h"

#define RANGE_PAGES	512ULL		/* 2 MiB: one I/O at most per range */

struct reader {
	struct rctx *c;
	unsigned int id;
	pthread_t thread;
	uint8_t *scratch;		/* verification without RAM */
	struct kmig_err err;
	struct kmig_chan_stats stats;
};

struct rctx {
	const struct kmig_snap *s;
	const struct kmig_ram *ram;
	const int *cancel;
	struct kmig_snap_done *done;
	uint64_t range_base[KMIG_MAX_BLOCKS + 1];	/* ranges before each block */
	uint64_t next;				/* next range, atomic */
	int failed;				/* atomic */
};

static int check_crcs(struct reader *r, unsigned int bi, uint64_t s, uint64_t e,
		      const uint8_t *mem)
{
	const struct kmig_snap *sn = r->c->s;
	uint64_t t0 = kmig_now_ns();

	bool psum = sn->h.flags & KMIG_SNAP_F_DATA_PSUM;

	for (uint64_t p = s; p < e; p++, mem += KMIG_PAGE_SIZE) {
		uint32_t want = kmig_get_le32(sn->crcs[bi] + 4 * p);
		uint32_t got = psum ? kmig_psum(mem, KMIG_PAGE_SIZE) :
				      kmig_crc32c_buf(mem, KMIG_PAGE_SIZE);

		if (got != want)
			return kmig_err_set(&r->err, -EBADMSG, "block %s page %llu: data %s "
					    "0x%08x, its checksum array says 0x%08x (the page data "
					    "is damaged)", sn->blocks[bi].name,
					    (unsigned long long)p, psum ? "page sum" : "CRC32C",
					    got, want);
	}
	KMIG_STAT_ADD(r->stats.ns_codec, kmig_now_ns() - t0);
	return 0;
}

/* Present pages [s, e) of block @bi: one read, then their checksums. */
static int read_run(struct reader *r, unsigned int bi, uint64_t s, uint64_t e)
{
	const struct kmig_snap *sn = r->c->s;
	const struct kmig_snap_block *b = &sn->blocks[bi];
	uint8_t *dst = r->c->ram ? r->c->ram->blocks[bi].base + s * KMIG_PAGE_SIZE : r->scratch;
	uint64_t len = (e - s) * KMIG_PAGE_SIZE, off = b->data_offset + s * KMIG_PAGE_SIZE;
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_snap_pread(sn->f.fd, dst, len, off);

	KMIG_STAT_ADD(r->stats.ns_io, kmig_now_ns() - t0);
	if (ret)
		return kmig_err_set(&r->err, ret, "reading block %s pages %llu..%llu (%llu bytes "
				    "at offset %llu): %s", b->name, (unsigned long long)s,
				    (unsigned long long)e - 1, (unsigned long long)len,
				    (unsigned long long)off,
				    ret == -ENODATA ? "the file ends first" : strerror(-ret));
	KMIG_STAT_ADD(r->stats.pages_raw, e - s);
	KMIG_STAT_ADD(r->stats.bytes_wire, len);
	KMIG_STAT_ADD(r->stats.batches_raw, 1);
	return sn->crcs[bi] ? check_crcs(r, bi, s, e, dst) : 0;
}

static int read_range(struct reader *r, unsigned int bi, uint64_t first)
{
	const struct kmig_snap_block *b = &r->c->s->blocks[bi];
	const uint64_t *bm = r->c->s->bitmaps[bi];
	uint64_t end = KMIG_MIN(b->npages, first + RANGE_PAGES), p = first;
	int ret;

	while (p < end) {
		uint64_t q = p;

		if (!kmig_test_bit(bm, p)) {
			KMIG_STAT_ADD(r->stats.pages_none, 1);
			p++;
			continue;
		}
		while (q < end && kmig_test_bit(bm, q))
			q++;
		ret = read_run(r, bi, p, q);
		if (ret)
			return ret;
		p = q;
	}
	return 0;
}

/* A range is done: its pages, and its present ones, for the progress. */
static void count_done(struct rctx *c, unsigned int bi, uint64_t first)
{
	const struct kmig_snap_block *b = &c->s->blocks[bi];
	uint64_t end = KMIG_MIN(b->npages, first + RANGE_PAGES), present = 0;

	for (uint64_t p = first; p < end; p++)
		present += kmig_test_bit(c->s->bitmaps[bi], p);
	__atomic_fetch_add(&c->done->pages, end - first, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->done->present, present, __ATOMIC_RELAXED);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct rctx *c = r->c;
	unsigned int bi = 0;
	uint64_t k;

	while (!__atomic_load_n(&c->failed, __ATOMIC_RELAXED) &&
	       !(c->cancel && __atomic_load_n(c->cancel, __ATOMIC_RELAXED))) {
		k = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		if (k >= c->range_base[c->s->h.nr_blocks])
			break;
		while (k >= c->range_base[bi + 1])
			bi++;
		if (read_range(r, bi, (k - c->range_base[bi]) * RANGE_PAGES)) {
			__atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		if (c->done)
			count_done(c, bi, (k - c->range_base[bi]) * RANGE_PAGES);
	}
	return NULL;
}

static void sum_stats(struct reader *rd, unsigned int n, uint64_t t0, struct kmig_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->role = "restore";
	st->codec = "none";
	st->nr_channels = n;
	for (unsigned int i = 0; i < n; i++)
		kmig_chan_stats_load(&st->chan[i], &rd[i].stats);
	kmig_stats_sum(st);
	st->ns_phase[KMIG_PHASE_PAGES] = st->ns_total = kmig_now_ns() - t0;
}

/* The first reader error, or a cancel. */
static int outcome(struct rctx *c, struct reader *rd, unsigned int n, struct kmig_err *e)
{
	for (unsigned int i = 0; i < n; i++)
		if (rd[i].err.code)
			return kmig_err_set(e, rd[i].err.code, "%s: %s", c->s->path, rd[i].err.msg);
	if (c->cancel && __atomic_load_n(c->cancel, __ATOMIC_RELAXED))
		return kmig_err_set(e, -ECANCELED, "cancelled");
	return 0;
}

int kmig_snap_read(const struct kmig_snap *s, const struct kmig_ram *ram,
		   unsigned int nr_threads, const int *cancel, struct kmig_snap_done *done,
		   struct kmig_stats *st, struct kmig_err *e)
{
	struct rctx c = { .s = s, .ram = ram, .cancel = cancel, .done = done };
	uint64_t t0 = kmig_now_ns();
	struct reader *rd;
	unsigned int started = 0;
	int ret = 0;

	if (!nr_threads || nr_threads > KMIG_MAX_WORKERS)
		return kmig_err_set(e, -EINVAL, "%u reader threads, expected 1..%u", nr_threads,
				    KMIG_MAX_WORKERS);
	if (!s->o.keep)
		return kmig_err_set(e, -EINVAL, "%s: opened without its bitmaps (opts.keep)",
				    s->path);
	for (unsigned int i = 0; i < s->h.nr_blocks; i++)
		c.range_base[i + 1] = c.range_base[i] +
			KMIG_DIV_ROUND_UP(s->blocks[i].npages, RANGE_PAGES);
	rd = calloc(nr_threads, sizeof(*rd));
	if (!rd)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	for (; started < nr_threads; started++) {
		rd[started].c = &c;
		rd[started].id = started;
		rd[started].scratch = ram ? NULL : kmig_snap_alloc(RANGE_PAGES * KMIG_PAGE_SIZE);
		ret = !ram && !rd[started].scratch ? -ENOMEM :
		      -pthread_create(&rd[started].thread, NULL, reader_main, &rd[started]);
		if (ret) {
			free(rd[started].scratch);
			kmig_err_set(e, ret, "starting reader %u: %s", started, strerror(-ret));
			__atomic_store_n(&c.failed, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(rd[i].thread, NULL);
		free(rd[i].scratch);
	}
	if (!ret)
		ret = outcome(&c, rd, started, e);
	if (st)
		sum_stats(rd, started, t0, st);
	free(rd);
	return ret;
}
