/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page classification: which pages of a block range are zero (never
 * populated, the shared zero page, or read and found zero) and which must
 * be read and sent.
 *
 * Two paths behind one call:
 *  - module: /dev/kmig present AND a VM fd given AND the block is a KVM
 *    memslot (block->slot): KMIG_ATTACH_VM once, then KMIG_ZERO_SCAN with
 *    its resume cursor. The module walks page tables; it never faults pages
 *    in and reads only present pages.
 *  - fallback (same results, userspace): lseek(SEEK_DATA/SEEK_HOLE) on
 *    memfd/file blocks and /proc/self/pagemap on anonymous blocks skip
 *    never-populated ranges without touching them (reading a memfd hole
 *    would allocate it); populated pages get the vectorised zero check.
 *
 * A classifier is owned by one thread (it holds its own /dev/kmig session,
 * pagemap fd and buffers). kmig_classify_init() only fails for resource
 * errors: a missing module is not an error, the classifier then uses the
 * fallback and @why says why.
 */
#ifndef KMIG_CLASSIFY_H
#define KMIG_CLASSIFY_H

#include <stdint.h>

#include "base/ram.h"
#include "base/zero.h"

enum kmig_class_path {
	KMIG_CLASS_FALLBACK,
	KMIG_CLASS_MODULE,
};

/* Flags of kmig_classify(). */
#define KMIG_CLASSIFY_NO_READ	(1U << 0)	/* don't read populated pages */

struct kmig_class_counts {
	uint64_t none;		/* never populated: not read */
	uint64_t zero_page;	/* mapped to the shared zero page (module) */
	uint64_t zero_data;	/* populated, read, all zero */
	uint64_t data;		/* to be sent (or not read: NO_READ) */
};

struct kmig_classifier {
	enum kmig_class_path path;
	int dev_fd;		/* /dev/kmig session, -1 on the fallback */
	int pagemap_fd;		/* /proc/self/pagemap, opened on first use */
	uint32_t max_batch;	/* module: pages per KMIG_ZERO_SCAN call */
	kmig_zero_fn zero;
	uint64_t *pm_buf;	/* pagemap entries, KMIG_PM_BATCH of them */
	/*
	 * The last data extent found by SEEK_DATA/SEEK_HOLE. shmem answers
	 * SEEK_HOLE by walking the page cache up to the next hole, so asking
	 * again for every chunk of one long extent would cost O(extent) per
	 * chunk; the extent is remembered instead. Only data is remembered,
	 * never a hole: a stale entry can make us read a page that was punched
	 * meanwhile, never skip a page that holds data.
	 */
	const struct kmig_ram_block *ext_block;
	uint64_t ext_data, ext_hole;	/* bytes */
	char why[192];		/* which path and why, for logs */
};

/*
 * @dev_path: NULL for KMIG_DEVICE_PATH. @vm_fd: a KVM VM fd or -1.
 */
int kmig_classify_init(struct kmig_classifier *c, const char *dev_path, int vm_fd);
void kmig_classify_fini(struct kmig_classifier *c);

/*
 * Classify pages [first, first + n) of @b. @want (NULL: all) is a bitmap
 * of n bits of the pages the caller asks about: only those are read and
 * counted. @zero receives a bitmap of n bits (bit i = page first + i is
 * zero; bits of pages not wanted are unspecified); @cnt, if not NULL, is
 * added to. On the module path with a @want mask, the module's counts
 * cover the whole range and are not split per page: wanted zero pages are
 * counted as zero_page.
 * The module path needs @first a multiple of 64 and @b->slot set;
 * otherwise (or if a scan call fails) the fallback answers, which is always
 * correct. Returns 0 or -errno (-EINVAL for a range past the block).
 */
int kmig_classify(struct kmig_classifier *c, const struct kmig_ram_block *b,
		  uint64_t first, uint64_t n, unsigned int flags, const uint64_t *want,
		  uint64_t *zero, struct kmig_class_counts *cnt);

/* The fallback only, for tests and benchmarks. */
int kmig_classify_fallback(struct kmig_classifier *c, const struct kmig_ram_block *b,
			   uint64_t first, uint64_t n, unsigned int flags,
			   const uint64_t *want, uint64_t *zero, struct kmig_class_counts *cnt);

#endif /* KMIG_CLASSIFY_H */
