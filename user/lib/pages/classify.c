// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bits.h"
#include "pages/classify.h"

#define KMIG_PM_BATCH		4096	/* pagemap entries per pread */
#define PM_PRESENT		(1ULL << 63)
#define PM_SWAPPED		(1ULL << 62)

int kmig_classify_init(struct kmig_classifier *c)
{
	memset(c, 0, sizeof(*c));
	c->pagemap_fd = -1;
	c->zero = kmig_zero_best();
	c->pm_buf = malloc(KMIG_PM_BATCH * sizeof(uint64_t));
	return c->pm_buf ? 0 : -ENOMEM;
}

void kmig_classify_fini(struct kmig_classifier *c)
{
	if (c->pagemap_fd >= 0)
		close(c->pagemap_fd);
	free(c->pm_buf);
	c->pagemap_fd = -1;
	c->pm_buf = NULL;
}

static bool wanted(const uint64_t *want, uint64_t i)
{
	return !want || kmig_test_bit(want, i);
}

/* Never-populated pages [from, to): zero, and counted if wanted. */
static void mark_none(const uint64_t *want, uint64_t *zero, uint64_t from, uint64_t to,
		      struct kmig_class_counts *cnt)
{
	for (uint64_t i = from; i < to; i++) {
		kmig_set_bit(zero, i);
		cnt->none += wanted(want, i);
	}
}

static void counts_add(struct kmig_class_counts *dst, const struct kmig_class_counts *src)
{
	dst->none += src->none;
	dst->zero_data += src->zero_data;
	dst->data += src->data;
}

/* Populated pages: read unless NO_READ. */
static void check_pages(struct kmig_classifier *c, const struct kmig_ram_block *b,
			uint64_t first, uint64_t from, uint64_t to, unsigned int flags,
			const uint64_t *want, uint64_t *zero, struct kmig_class_counts *cnt)
{
	for (uint64_t i = from; i < to; i++) {
		if (!wanted(want, i))
			continue;
		if (!(flags & KMIG_CLASSIFY_NO_READ) &&
		    c->zero(b->base + (first + i) * KMIG_PAGE_SIZE, KMIG_PAGE_SIZE)) {
			kmig_set_bit(zero, i);
			cnt->zero_data++;
		} else {
			cnt->data++;
		}
	}
}

/*
 * The data extent at or after @pos: [*data, *hole), *data = -1 if none.
 * If it starts at or after @end, *hole is not looked up: SEEK_HOLE walks
 * the whole extent, and a chunk inside a hole would pay that walk for the
 * next extent every time (most of the classify time on a guest with large
 * zero regions, before this shortcut).
 */
static int find_extent(struct kmig_classifier *c, const struct kmig_ram_block *b, off_t pos,
		       off_t end, off_t *data, off_t *hole)
{
	if (c->ext_block == b && (uint64_t)pos >= c->ext_data && (uint64_t)pos < c->ext_hole) {
		*data = pos;
		*hole = c->ext_hole;
		return 0;
	}
	/* The fd's offsets are the block's plus fd_offset (a slot in a memfd). */
	*data = lseek(b->fd, b->fd_offset + pos, SEEK_DATA);
	if (*data < 0)
		return errno == ENXIO ? 0 : -errno;
	*data -= b->fd_offset;
	if (*data >= end) {
		*hole = *data;
		return 0;
	}
	*hole = lseek(b->fd, b->fd_offset + *data, SEEK_HOLE);
	if (*hole < 0)
		return -errno;
	*hole -= b->fd_offset;
	c->ext_block = b;
	c->ext_data = *data;
	c->ext_hole = *hole;
	return 0;
}

/* memfd/file: holes from SEEK_DATA/SEEK_HOLE are never-populated pages. */
static int classify_seek(struct kmig_classifier *c, const struct kmig_ram_block *b,
			 uint64_t first, uint64_t n, unsigned int flags, const uint64_t *want,
			 uint64_t *zero, struct kmig_class_counts *cnt)
{
	uint64_t i = 0;

	while (i < n) {
		off_t pos = (first + i) * KMIG_PAGE_SIZE, data, hole;
		int ret = find_extent(c, b, pos, (first + n) * KMIG_PAGE_SIZE, &data, &hole);

		if (ret)
			return ret;
		if (data < 0 || (uint64_t)data >= (first + n) * KMIG_PAGE_SIZE) {
			mark_none(want, zero, i, n, cnt);	/* the rest is a hole */
			break;
		}
		/* Extents are page-granular on shmem; round outward to be safe. */
		uint64_t d = data / KMIG_PAGE_SIZE - first;
		uint64_t h = KMIG_MIN(KMIG_DIV_ROUND_UP((uint64_t)hole, KMIG_PAGE_SIZE) - first, n);

		mark_none(want, zero, i, d, cnt);
		check_pages(c, b, first, d, h, flags, want, zero, cnt);
		i = h;
	}
	return 0;
}

/* Anonymous memory: pagemap says which pages were never touched. */
static int classify_pagemap(struct kmig_classifier *c, const struct kmig_ram_block *b,
			    uint64_t first, uint64_t n, unsigned int flags, const uint64_t *want,
			    uint64_t *zero, struct kmig_class_counts *cnt)
{
	uint64_t vpn0 = (uintptr_t)b->base / KMIG_PAGE_SIZE + first;

	if (c->pagemap_fd < 0) {
		c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (c->pagemap_fd < 0)
			return -errno;
	}
	for (uint64_t i = 0; i < n; i += KMIG_PM_BATCH) {
		uint64_t m = KMIG_MIN(n - i, (uint64_t)KMIG_PM_BATCH);
		ssize_t len = pread(c->pagemap_fd, c->pm_buf, m * 8, (vpn0 + i) * 8);

		if (len != (ssize_t)(m * 8))
			return len < 0 ? -errno : -EIO;
		for (uint64_t j = 0; j < m; j++) {
			if (c->pm_buf[j] & (PM_PRESENT | PM_SWAPPED))
				check_pages(c, b, first, i + j, i + j + 1, flags, want, zero, cnt);
			else
				mark_none(want, zero, i + j, i + j + 1, cnt);
		}
	}
	return 0;
}

int kmig_classify(struct kmig_classifier *c, const struct kmig_ram_block *b,
			   uint64_t first, uint64_t n, unsigned int flags,
			   const uint64_t *want, uint64_t *zero, struct kmig_class_counts *cnt)
{
	struct kmig_class_counts dummy = { 0 };
	uint64_t end;
	int ret;

	if (!kmig_add_ok(first, n, &end) || end > b->npages)
		return -EINVAL;
	if (!cnt)
		cnt = &dummy;
	memset(zero, 0, KMIG_BITMAP_WORDS(n) * 8);
	if (b->fd >= 0) {
		struct kmig_class_counts part = { 0 };

		ret = classify_seek(c, b, first, n, flags, want, zero, &part);
		if (ret == -EINVAL) {	/* no SEEK_DATA here: read everything */
			memset(zero, 0, KMIG_BITMAP_WORDS(n) * 8);
			memset(&part, 0, sizeof(part));
			check_pages(c, b, first, 0, n, flags, want, zero, &part);
			ret = 0;
		}
		if (!ret)
			counts_add(cnt, &part);
		return ret;
	}
	return classify_pagemap(c, b, first, n, flags, want, zero, cnt);
}
