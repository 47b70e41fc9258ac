// SPDX-License-Identifier: GPL-2.0
/* A page writer's one pass over a chunk (pass.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "pages/pass.h"

int kmig_pass_init(struct kmig_pass *ps, bool stage)
{
	int ret;

	memset(ps, 0, sizeof(*ps));
	ps->zero = kmig_zero_best();
	ret = kmig_classify_init(&ps->cls);
	if (ret)
		return ret;
	if (stage) {
		ps->stage = malloc(KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE);
		if (!ps->stage)
			return -ENOMEM;
	}
	return 0;
}

void kmig_pass_fini(struct kmig_pass *ps)
{
	kmig_classify_fini(&ps->cls);
	free(ps->stage);
	ps->stage = NULL;
}

/* A data page: copy and/or CRC, reading the guest page once. */
static void data_page(struct kmig_pass *ps, unsigned int flags, const uint8_t *page,
		      struct kmig_chunk_pages *out)
{
	unsigned int i = out->nr_data++;

	if (flags & KMIG_PASS_STAGE) {
		uint8_t *copy = ps->stage + (size_t)i * KMIG_PAGE_SIZE;

		if (flags & KMIG_PASS_PSUM) {	/* copy and sum fused: one read */
			out->crc[i] = kmig_psum_copy(copy, page, KMIG_PAGE_SIZE);
			return;
		}
		memcpy(copy, page, KMIG_PAGE_SIZE);
		page = copy;	/* the CRC describes the bytes that will be sent */
	}
	if (flags & KMIG_PASS_PSUM)
		out->crc[i] = kmig_psum(page, KMIG_PAGE_SIZE);
	else if (flags & KMIG_PASS_CRC)
		out->crc[i] = kmig_crc32c_buf(page, KMIG_PAGE_SIZE);
}

/* Holes of an unhinted chunk, without reading a page: bit i = page i. */
static int holes(struct kmig_pass *ps, const struct kmig_ram_block *b,
		 const struct kmig_work *w, unsigned int n, uint64_t *hole,
		 struct kmig_chan_stats *st)
{
	struct kmig_class_counts cnt = { 0 };
	int ret = kmig_classify(&ps->cls, b, w->arg, n, KMIG_CLASSIFY_NO_READ, w->mask, hole,
				&cnt);

	if (!ret)
		KMIG_STAT_ADD(st->pages_none, cnt.none);
	return ret;
}

int kmig_pass_chunk(struct kmig_pass *ps, const struct kmig_ram_block *b,
		    const struct kmig_work *w, unsigned int flags, struct kmig_chunk_pages *out,
		    struct kmig_chan_stats *st)
{
	unsigned int n = KMIG_MIN((uint64_t)KMIG_CHUNK_PAGES, b->npages - w->arg);
	uint64_t zero[KMIG_CHUNK_PAGES / 64], t0 = kmig_now_ns(), hinted = 0, read0 = 0;
	const uint8_t *base = b->base + w->arg * KMIG_PAGE_SIZE;
	int ret = 0;

	out->nr_zero = out->nr_data = 0;
	if ((flags & KMIG_PASS_STAGE) && !ps->stage)
		return -EINVAL;
	if (w->hinted)
		memcpy(zero, w->zmask, sizeof(zero));
	else
		ret = holes(ps, b, w, n, zero, st);
	for (unsigned int i = 0; !ret && i < n; i++) {
		const uint8_t *page = base + (size_t)i * KMIG_PAGE_SIZE;

		if (!kmig_test_bit(w->mask, i))
			continue;
		if (kmig_test_bit(zero, i)) {
			out->zero[out->nr_zero++] = i;
			hinted += w->hinted;
		} else if (!w->hinted && ps->zero(page, KMIG_PAGE_SIZE)) {
			out->zero[out->nr_zero++] = i;	/* read whole to know */
			read0++;
		} else {
			out->data[out->nr_data] = i;
			data_page(ps, flags, page, out);
		}
	}
	KMIG_STAT_ADD(st->pages_none, hinted);
	KMIG_STAT_ADD(st->pages_zero, read0);
	/* Zero pages read whole; data pages once, if checksummed or copied. */
	KMIG_STAT_ADD(st->bytes_read, (read0 + (flags & (KMIG_PASS_CRC | KMIG_PASS_PSUM |
							 KMIG_PASS_STAGE) ?
						out->nr_data : 0)) * KMIG_PAGE_SIZE);
	if (flags & KMIG_PASS_STAGE)
		KMIG_STAT_ADD(st->bytes_copied, (uint64_t)out->nr_data * KMIG_PAGE_SIZE);
	KMIG_STAT_ADD(st->ns_classify, kmig_now_ns() - t0);
	return ret;
}

const char *kmig_pass_path(void)
{
	return "the dirty tracker's zero hints; unhinted pages: holes (SEEK_DATA or pagemap) "
	       "and a zero check fused with the CRC on the writer threads";
}
