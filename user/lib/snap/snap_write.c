// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot writer: threads that write chunks of pages at fixed offsets,
 * the flush barrier, and the commit (snap_write.h). The page-writing
 * threads own disjoint chunks (kmig_chunk_channel()), and a chunk is two
 * whole bitmap words, so each thread updates its own bitmap words and CRC
 * entries with no lock; the commit reads them after joining the threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bits.h"
#include "pages/chunk.h"
#include "base/crc.h"
#include "pages/pass.h"
#include "pages/pool.h"
#include "snap/snap_fmt.h"
#include "snap/snap_io.h"
#include "snap/snap_write.h"

struct wthread {
	struct kmig_snap_writer *w;
	unsigned int id;
	struct kmig_pass pass;		/* zero pages, CRCs: one read per page */
	struct kmig_err err;
	struct kmig_chan_stats stats;
};

struct kmig_snap_writer {
	struct kmig_snap_wopts o;
	char path[PATH_MAX];
	struct kmig_snap_file f;
	const struct kmig_ram *ram;
	struct kmig_snap_hdr h;
	struct kmig_snap_block blocks[KMIG_MAX_BLOCKS];
	uint64_t *bitmaps[KMIG_MAX_BLOCKS];	/* present pages, host order */
	uint8_t *crcs[KMIG_MAX_BLOCKS];		/* per-page CRC32C, little-endian */
	struct kmig_pool pool;		/* the writer threads, queues, failure */
	struct wthread *th;
	unsigned int nr, nr_init;

	uint64_t devstate_len;
	uint64_t t_start, t_setup, t_pages, t_end;
	bool committed;
};

void kmig_snap_wopts_init(struct kmig_snap_wopts *o)
{
	memset(o, 0, sizeof(*o));
	o->nr_threads = 2;
}

static int wfail(struct kmig_snap_writer *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fail the writer once (kmig_pool_fail()): record why, wake all. */
static int wfail(struct kmig_snap_writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = kmig_pool_vfail(&w->pool, code, fmt, ap);
	va_end(ap);
	return code;
}

/* Data pages [i, j) of the chunk @cp (consecutive in the block, from
 * page @first): their CRCs from the pass, one pwrite from guest memory
 * (O_DIRECT: the kernel moves it to the disk), present bits. */
static int write_run(struct wthread *t, uint32_t bi, uint64_t first,
		     const struct kmig_chunk_pages *cp, unsigned int i, unsigned int j)
{
	struct kmig_snap_writer *w = t->w;
	const struct kmig_ram_block *b = &w->ram->blocks[bi];
	uint64_t s = first + cp->data[i], e = s + (j - i);
	uint64_t t0 = kmig_now_ns(), len = (e - s) * KMIG_PAGE_SIZE;
	int ret;

	for (unsigned int k = i; w->crcs[bi] && k < j; k++)
		kmig_put_le32(w->crcs[bi] + 4 * (first + cp->data[k]), cp->crc[k]);
	ret = kmig_snap_pwrite(w->f.fd, b->base + s * KMIG_PAGE_SIZE, len,
			       w->blocks[bi].data_offset + s * KMIG_PAGE_SIZE);
	KMIG_STAT_ADD(t->stats.ns_io, kmig_now_ns() - t0);
	if (ret)
		return kmig_err_set(&t->err, ret, "writing block %s pages %llu..%llu at offset "
				    "%llu: %s", b->name, (unsigned long long)s,
				    (unsigned long long)e - 1,
				    (unsigned long long)(w->blocks[bi].data_offset + s * KMIG_PAGE_SIZE),
				    strerror(-ret));
	for (uint64_t p = s; p < e; p++)
		kmig_set_bit(w->bitmaps[bi], p);
	KMIG_STAT_ADD(t->stats.pages_raw, e - s);
	KMIG_STAT_ADD(t->stats.bytes_wire, len);
	KMIG_STAT_ADD(t->stats.bytes_kcopied, len);
	KMIG_STAT_ADD(t->stats.batches_raw, 1);
	return 0;
}

/* A zero page: its old content (if any) is no longer part of the file. */
static void drop_page(struct kmig_snap_writer *w, uint32_t bi, uint64_t p)
{
	kmig_clear_bit(w->bitmaps[bi], p);
	if (w->crcs[bi])
		memset(w->crcs[bi] + 4 * p, 0, 4);
}

static int write_chunk(struct wthread *t, const struct kmig_work *wk)
{
	struct kmig_snap_writer *w = t->w;
	const struct kmig_ram_block *b = &w->ram->blocks[wk->block];
	struct kmig_chunk_pages cp;
	int ret = kmig_pass_chunk(&t->pass, b, wk, w->o.no_data_crc ? 0 : KMIG_PASS_PSUM, &cp,
				  &t->stats);

	if (ret)
		return kmig_err_set(&t->err, ret, "classifying block %s: %s", b->name,
				    strerror(-ret));
	for (unsigned int i = 0; i < cp.nr_zero; i++)
		drop_page(w, wk->block, wk->arg + cp.zero[i]);
	for (unsigned int i = 0, j; i < cp.nr_data; i = j) {
		for (j = i + 1; j < cp.nr_data && cp.data[j] == cp.data[j - 1] + 1; j++)
			;
		ret = write_run(t, wk->block, wk->arg, &cp, i, j);
		if (ret)
			return ret;
	}
	return 0;
}

static int pool_work(void *arg, unsigned int id, const struct kmig_work *wk)
{
	struct kmig_snap_writer *w = arg;
	struct wthread *t = &w->th[id];
	int ret = wk->kind == KMIG_WORK_PAGES ? write_chunk(t, wk) : 0;

	if (ret)
		return wfail(w, ret, "%s: thread %u: %s", w->path, t->id, t->err.msg);
	return 0;
}

static const struct kmig_pool_ops pool_ops = { .work = pool_work };

static int failed_code(struct kmig_snap_writer *w)
{
	return kmig_pool_error_code(&w->pool);
}

static int w_queue(void *p, uint32_t block, uint64_t first, uint64_t n, const uint64_t *bitmap,
		   const uint64_t *zero)
{
	struct kmig_snap_writer *w = p;

	return kmig_pool_queue(&w->pool, block, first, n, bitmap, zero);
}

static int w_flush(void *p)
{
	struct kmig_snap_writer *w = p;

	return kmig_pool_flush(&w->pool);
}

/* One metadata section: @len bytes of the aligned @buf, padded with the
 * zeros that follow in the buffer, at @off. */
static int write_meta(struct kmig_snap_writer *w, const char *what, const void *buf,
		      uint64_t len, uint64_t off)
{
	int ret = kmig_snap_pwrite(w->f.fd, buf, kmig_snap_align_up(len, KMIG_SNAP_ALIGN), off);

	if (ret)
		return wfail(w, ret, "%s: writing the %s at offset %llu: %s", w->path, what,
			     (unsigned long long)off, strerror(-ret));
	return 0;
}

/* Bitmaps and CRC arrays, with their checksums into the table. */
static int write_block_meta(struct kmig_snap_writer *w)
{
	for (unsigned int i = 0; i < w->ram->nr; i++) {
		struct kmig_snap_block *b = &w->blocks[i];
		uint64_t words = KMIG_BITMAP_WORDS(b->npages);
		char what[96];
		int ret;

		b->present_pages = 0;
		for (uint64_t k = 0; k < words; k++)
			b->present_pages += __builtin_popcountll(w->bitmaps[i][k]);
		w->h.present_pages += b->present_pages;
		kmig_snap_bitmap_to_le(w->bitmaps[i], words);
		b->bitmap_crc = kmig_crc32c_buf(w->bitmaps[i], words * 8);
		snprintf(what, sizeof(what), "bitmap of block %s", b->name);
		ret = write_meta(w, what, w->bitmaps[i], words * 8, b->bitmap_offset);
		if (ret || !w->crcs[i])
			continue;
		b->crcs_crc = kmig_crc32c_buf(w->crcs[i], kmig_snap_crcs_len(b->npages));
		snprintf(what, sizeof(what), "CRC array of block %s", b->name);
		ret = write_meta(w, what, w->crcs[i], kmig_snap_crcs_len(b->npages), b->crc_offset);
		if (ret)
			return ret;
	}
	return failed_code(w);
}

static int write_devstate_table(struct kmig_snap_writer *w, const void *devstate, size_t len)
{
	uint8_t *buf = kmig_snap_alloc(KMIG_MAX(len, w->h.table_size));
	int ret;

	if (!buf)
		return wfail(w, -ENOMEM, "out of memory");
	w->h.devstate_len = len;
	w->h.devstate_crc = kmig_crc32c_buf(devstate, len);
	w->h.file_size = w->h.devstate_offset + kmig_snap_align_up(len, KMIG_SNAP_ALIGN);
	if (len)	/* a stopped save of a VMM without device state: NULL, 0 */
		memcpy(buf, devstate, len);
	ret = len ? write_meta(w, "device state", buf, len, w->h.devstate_offset) : 0;
	if (!ret) {
		memset(buf, 0, kmig_snap_align_up(KMIG_MAX(len, w->h.table_size), KMIG_SNAP_ALIGN));
		kmig_snap_table_encode(buf, w->blocks, w->h.nr_blocks);
		w->h.table_crc = kmig_crc32c_buf(buf, w->h.table_size);
		ret = write_meta(w, "block table", buf, w->h.table_size, w->h.table_offset);
	}
	free(buf);
	return ret;
}

static int write_header(struct kmig_snap_writer *w)
{
	uint8_t *buf = kmig_snap_alloc(KMIG_SNAP_ALIGN);
	int ret;

	if (!buf)
		return wfail(w, -ENOMEM, "out of memory");
	kmig_snap_hdr_encode(buf, &w->h);
	ret = write_meta(w, "header", buf, KMIG_SNAP_ALIGN, 0);
	free(buf);
	return ret;
}

static int sync_file(struct kmig_snap_writer *w, const char *when)
{
	if (fdatasync(w->f.fd))
		return wfail(w, -errno, "%s: fdatasync %s: %s", w->path, when, strerror(errno));
	return 0;
}

/* The directory entry of a new file must be durable too. */
static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Every page written; then metadata and sync: all but the COMPLETE header. */
static int finish_meta(struct kmig_snap_writer *w, const void *devstate, size_t len)
{
	int ret = write_block_meta(w);

	if (!ret)
		ret = write_devstate_table(w, devstate, len);
	if (!ret && ftruncate(w->f.fd, w->h.file_size))
		ret = wfail(w, -errno, "%s: setting the size to %llu: %s", w->path,
			    (unsigned long long)w->h.file_size, strerror(errno));
	if (!ret)
		ret = sync_file(w, "before the commit");
	return ret;
}

static int w_finish(void *p, const void *devstate, size_t len)
{
	struct kmig_snap_writer *w = p;
	int ret;

	if (len > KMIG_SNAP_DEVSTATE_MAX)
		return wfail(w, -EFBIG, "%s: device state of %zu bytes, at most %u fit", w->path,
			     len, KMIG_SNAP_DEVSTATE_MAX);
	ret = w_flush(w);
	w->t_pages = kmig_now_ns();
	if (!ret)
		ret = kmig_pool_end(&w->pool);
	kmig_pool_join(&w->pool);
	w->devstate_len = len;
	if (!ret)
		ret = finish_meta(w, devstate, len);
	w->t_end = kmig_now_ns();
	return ret ?: failed_code(w);
}

/* The point of no return: the COMPLETE header, sync, the directory. A
 * failure here leaves no doubt: the file is not complete and is removed. */
static int w_commit(void *p, int timeout_ms, struct kmig_sink_commit *out)
{
	struct kmig_snap_writer *w = p;
	struct timespec ts;
	uint64_t t0 = kmig_now_ns();
	int ret;

	memset(out, 0, sizeof(*out));
	ret = failed_code(w);
	if (ret)
		return ret;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->h.created_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	w->h.state = KMIG_SNAP_STATE_COMPLETE;
	ret = write_header(w);
	if (!ret)
		ret = sync_file(w, "after the commit");
	if (!ret) {
		sync_dir(w->path);
		w->committed = true;
	}
	w->t_end += kmig_now_ns() - t0;
	return ret;
}

static void w_cancel(void *p, int err)
{
	wfail(p, err, "%s", err == -ECANCELED ? "cancelled" : strerror(-err));
}

static void w_stats(void *p, struct kmig_stats *st)
{
	struct kmig_snap_writer *w = p;
	uint64_t now = kmig_now_ns(), setup = w->t_setup ?: now;
	uint64_t pages = w->t_pages ?: now, end = w->t_end ?: now;

	memset(st, 0, sizeof(*st));
	st->role = "save";
	st->codec = "none";
	st->nr_channels = w->nr;
	st->ram_bytes = kmig_ram_total(w->ram);
	st->pages_queued = w->pool.pages_queued;
	st->syncs = w->pool.syncs;
	st->devstate_bytes = w->devstate_len;
	st->ns_phase[KMIG_PHASE_SETUP] = setup - w->t_start;
	st->ns_phase[KMIG_PHASE_PAGES] = pages > setup ? pages - setup : 0;
	st->ns_phase[KMIG_PHASE_FINISH] = w->t_pages && end > pages ? end - pages : 0;
	st->ns_total = end - w->t_start;
	for (unsigned int i = 0; i < w->nr_init; i++)
		kmig_chan_stats_load(&st->chan[i], &w->th[i].stats);
	kmig_stats_sum(st);
}

static const char *w_error(const void *p)
{
	const struct kmig_snap_writer *w = p;

	return kmig_pool_error(&w->pool);
}

static const char *w_classify_path(const void *p)
{
	return kmig_pass_path();
}

const char *kmig_snap_writer_io(const struct kmig_snap_writer *w)
{
	return w->f.io;
}

static void w_destroy(void *p)
{
	struct kmig_snap_writer *w = p;
	struct stat sb;

	if (!w)
		return;
	w_cancel(w, -ECANCELED);
	kmig_pool_fini(&w->pool);	/* joins the threads */
	for (unsigned int i = 0; w->th && i < w->nr_init; i++)
		kmig_pass_fini(&w->th[i].pass);
	free(w->th);
	/* Never leave a partial file behind (a kill leaves a WRITING one). */
	if (w->f.fd >= 0 && !w->committed && !fstat(w->f.fd, &sb) && S_ISREG(sb.st_mode))
		unlink(w->path);
	kmig_snap_file_close(&w->f);
	for (unsigned int i = 0; i < KMIG_MAX_BLOCKS; i++) {
		free(w->bitmaps[i]);
		free(w->crcs[i]);
	}
	free(w);
}

const struct kmig_sink_ops kmig_snap_sink_ops = {
	.name = "file", .queue = w_queue, .flush = w_flush, .finish = w_finish,
	.commit = w_commit, .cancel = w_cancel, .stats = w_stats, .error = w_error,
	.classify_path = w_classify_path, .destroy = w_destroy,
};

static int alloc_blocks(struct kmig_snap_writer *w)
{
	for (unsigned int i = 0; i < w->ram->nr; i++) {
		uint64_t np = w->ram->blocks[i].npages;

		w->bitmaps[i] = kmig_snap_alloc(kmig_snap_bitmap_len(np));
		if (!w->bitmaps[i])
			return -ENOMEM;
		if (w->o.no_data_crc)
			continue;
		w->crcs[i] = kmig_snap_alloc(kmig_snap_crcs_len(np));
		if (!w->crcs[i])
			return -ENOMEM;
	}
	return 0;
}

static int start_threads(struct kmig_snap_writer *w, struct kmig_err *e)
{
	int ret;

	w->th = calloc(w->nr, sizeof(*w->th));
	if (!w->th)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < w->nr; i++) {
		struct wthread *t = &w->th[i];

		t->w = w;
		t->id = i;
		w->nr_init = i + 1;
		ret = kmig_pass_init(&t->pass, false);
		if (ret)
			return kmig_err_set(e, ret, "writer thread %u: %s", i, strerror(-ret));
	}
	ret = kmig_pool_start(&w->pool);
	if (ret)
		return kmig_err_set(e, ret, "%s", kmig_pool_error(&w->pool));
	return 0;
}

/* Truncate, WRITING header, sync: the file never looks complete again. */
static int open_file(struct kmig_snap_writer *w, const char *path, struct kmig_err *e)
{
	int ret = kmig_snap_file_open(&w->f, path, O_RDWR | O_CREAT | O_TRUNC, w->o.buffered,
				      true);

	if (ret)
		return kmig_err_set(e, ret, "%s: open: %s", path, strerror(-ret));
	ret = kmig_snap_layout(w->ram, !w->o.no_data_crc, &w->h, w->blocks);
	if (ret)
		return kmig_err_set(e, ret, "%s: %u RAM blocks do not fit the format", path,
				    w->ram->nr);
	if (w->o.live)
		w->h.flags |= KMIG_SNAP_F_LIVE;
	ret = write_header(w) ?: sync_file(w, "after the WRITING header");
	if (ret)
		return kmig_err_set(e, ret, "%s", kmig_pool_error(&w->pool));
	return 0;
}

int kmig_snap_writer_create(struct kmig_snap_writer **out, const char *path,
			    const struct kmig_snap_wopts *o, const struct kmig_ram *ram,
			    struct kmig_err *e)
{
	struct kmig_snap_writer *w;
	int ret;

	if (!ram->nr || o->nr_threads > KMIG_MAX_WORKERS || strlen(path) >= PATH_MAX)
		return kmig_err_set(e, -EINVAL, "%s: bad writer options", path);
	w = calloc(1, sizeof(*w));
	if (!w)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	w->o = *o;
	w->o.nr_threads = o->nr_threads ?: 2;
	w->o.queue_depth = o->queue_depth ?: 256;
	w->nr = w->o.nr_threads;
	w->ram = ram;
	w->f.fd = -1;
	w->t_start = kmig_now_ns();
	snprintf(w->path, sizeof(w->path), "%s", path);
	ret = kmig_pool_init(&w->pool, w->nr, w->o.queue_depth, ram, &pool_ops, w);
	if (ret)
		kmig_err_set(e, ret, "%s: %u writer threads: %s", path, w->nr, strerror(-ret));
	if (!ret) {
		ret = alloc_blocks(w);
		if (ret)
			kmig_err_set(e, ret, "out of memory for the bitmaps");
	}
	if (!ret)
		ret = open_file(w, path, e);
	if (!ret)
		ret = start_threads(w, e);
	if (ret) {
		w_destroy(w);
		return ret;
	}
	w->t_setup = kmig_now_ns();
	*out = w;
	return 0;
}
