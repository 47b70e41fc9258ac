// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/kmig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/bits.h"
#include "pages/classify.h"

#define KMIG_PM_BATCH		4096	/* pagemap entries per pread */
#define PM_PRESENT		(1ULL << 63)
#define PM_SWAPPED		(1ULL << 62)

/* Open and attach a module session; on any failure explain in c->why. */
static void module_open(struct kmig_classifier *c, const char *dev_path, int vm_fd)
{
	struct kmig_info info = { .size = sizeof(info) };
	struct kmig_attach at = { .size = sizeof(at), .vm_fd = vm_fd };
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(c->why, sizeof(c->why), "userspace fallback: %s: %s%s", dev_path,
			 strerror(errno), errno == ENOENT ? " (kmig.ko not loaded)" : "");
		return;
	}
	if (ioctl(fd, KMIG_GET_INFO, &info) < 0) {
		snprintf(c->why, sizeof(c->why), "userspace fallback: KMIG_GET_INFO on %s: %s",
			 dev_path, strerror(errno));
		goto fail;
	}
	if (info.api_version != KMIG_API_VERSION || !(info.features & KMIG_FEAT_ZERO_SCAN) ||
	    info.page_size != KMIG_PAGE_SIZE || !info.max_batch_pages ||
	    info.max_batch_pages % 64) {
		snprintf(c->why, sizeof(c->why),
			 "userspace fallback: module API %u features %#llx page size %u batch %u, "
			 "expected API %d with ZERO_SCAN, page size %u, batch a multiple of 64",
			 info.api_version, (unsigned long long)info.features, info.page_size,
			 info.max_batch_pages, KMIG_API_VERSION, KMIG_PAGE_SIZE);
		goto fail;
	}
	if (ioctl(fd, KMIG_ATTACH_VM, &at) < 0) {
		snprintf(c->why, sizeof(c->why), "userspace fallback: KMIG_ATTACH_VM vm fd %d: %s",
			 vm_fd, strerror(errno));
		goto fail;
	}
	c->path = KMIG_CLASS_MODULE;
	c->dev_fd = fd;
	c->max_batch = info.max_batch_pages;
	snprintf(c->why, sizeof(c->why), "module %s (API %u, %u pages per scan call)",
		 dev_path, info.api_version, info.max_batch_pages);
	return;
fail:
	close(fd);
}

int kmig_classify_init(struct kmig_classifier *c, const char *dev_path, int vm_fd)
{
	memset(c, 0, sizeof(*c));
	c->path = KMIG_CLASS_FALLBACK;
	c->dev_fd = -1;
	c->pagemap_fd = -1;
	c->zero = kmig_zero_best();
	c->pm_buf = malloc(KMIG_PM_BATCH * sizeof(uint64_t));
	if (!c->pm_buf)
		return -ENOMEM;
	if (!dev_path)
		dev_path = KMIG_DEVICE_PATH;
	if (vm_fd < 0)
		snprintf(c->why, sizeof(c->why), "userspace fallback: no VM fd given");
	else
		module_open(c, dev_path, vm_fd);
	return 0;
}

void kmig_classify_fini(struct kmig_classifier *c)
{
	if (c->dev_fd >= 0)
		close(c->dev_fd);
	if (c->pagemap_fd >= 0)
		close(c->pagemap_fd);
	free(c->pm_buf);
	c->dev_fd = c->pagemap_fd = -1;
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
	dst->zero_page += src->zero_page;
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

int kmig_classify_fallback(struct kmig_classifier *c, const struct kmig_ram_block *b,
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

/* One KMIG_ZERO_SCAN range, resumed with the cursor until done. */
static int classify_module(struct kmig_classifier *c, const struct kmig_ram_block *b,
			   uint64_t first, uint64_t n, unsigned int flags, uint64_t *zero,
			   struct kmig_class_counts *cnt)
{
	struct kmig_zero_scan zs = {
		.size = sizeof(zs),
		.flags = (flags & KMIG_CLASSIFY_NO_READ) ? KMIG_SCAN_F_NO_READ : 0,
		.slot = b->slot,
		.first_page = first,
		.num_pages = n,
		.zero_bitmap = (uintptr_t)zero,
	};

	while (zs.cursor < n) {
		uint64_t before = zs.cursor;

		if (ioctl(c->dev_fd, KMIG_ZERO_SCAN, &zs) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (zs.cursor <= before || zs.cursor > n)
			return -EPROTO;		/* the module broke its contract */
		cnt->none += zs.nr_none;
		cnt->zero_page += zs.nr_zero_page;
		cnt->zero_data += zs.nr_zero_data;
		cnt->data += zs.nr_nonzero;
	}
	return 0;
}

static void module_counts(const struct kmig_class_counts *mod, const uint64_t *want,
			  const uint64_t *zero, uint64_t n, struct kmig_class_counts *cnt)
{
	if (!want) {
		counts_add(cnt, mod);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (!kmig_test_bit(want, i))
			continue;
		if (kmig_test_bit(zero, i))
			cnt->zero_page++;
		else
			cnt->data++;
	}
}

int kmig_classify(struct kmig_classifier *c, const struct kmig_ram_block *b,
		  uint64_t first, uint64_t n, unsigned int flags, const uint64_t *want,
		  uint64_t *zero, struct kmig_class_counts *cnt)
{
	struct kmig_class_counts mod = { 0 };
	uint64_t end;
	int ret;

	if (!kmig_add_ok(first, n, &end) || end > b->npages)
		return -EINVAL;
	if (c->path == KMIG_CLASS_MODULE && b->slot != KMIG_SLOT_NONE && first % 64 == 0) {
		ret = classify_module(c, b, first, n, flags, zero, &mod);
		if (!ret) {
			if (cnt)
				module_counts(&mod, want, zero, n, cnt);
			return 0;
		}
		/* Fall back for this range: the fallback is always correct. */
		snprintf(c->why, sizeof(c->why),
			 "module scan of slot %#x failed (%s): userspace fallback for that range",
			 b->slot, strerror(-ret));
	}
	return kmig_classify_fallback(c, b, first, n, flags, want, zero, cnt);
}
