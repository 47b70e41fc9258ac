/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page classification on the writer threads, for pages no dirty tracker
 * classified (a plain "send every page", a stopped guest's one pass, a
 * tracker without zero hints): which pages of a block range are zero and
 * which must be read and written.
 *
 * lseek(SEEK_DATA/SEEK_HOLE) on memfd/file blocks and /proc/self/pagemap
 * on anonymous blocks skip never-populated ranges without touching them
 * (reading a memfd hole would allocate it); populated pages get the
 * vectorised zero check, unless KMIG_CLASSIFY_NO_READ leaves that to the
 * caller's own pass over the page (pass.h). The kernel module's zero scan
 * is the dirty tracker's business (lib/dirty/), which hands its result to
 * the writers as zero hints: a page it classified is not classified again.
 *
 * A classifier is owned by one thread (its pagemap fd and buffers).
 */
#ifndef KMIG_CLASSIFY_H
#define KMIG_CLASSIFY_H

#include <stdint.h>

#include "base/ram.h"
#include "base/zero.h"

/* Flags of kmig_classify(). */
#define KMIG_CLASSIFY_NO_READ	(1U << 0)	/* don't read populated pages */

struct kmig_class_counts {
	uint64_t none;		/* never populated: not read */
	uint64_t zero_data;	/* populated, read, all zero */
	uint64_t data;		/* to be sent (or not read: NO_READ) */
};

struct kmig_classifier {
	int pagemap_fd;		/* /proc/self/pagemap, opened on first use */
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
};

/* Only fails for lack of memory. */
int kmig_classify_init(struct kmig_classifier *c);
void kmig_classify_fini(struct kmig_classifier *c);

/*
 * Classify pages [first, first + n) of @b. @want (NULL: all) is a bitmap
 * of n bits of the pages the caller asks about: only those are read and
 * counted. @zero receives a bitmap of n bits (bit i = page first + i is
 * zero; bits of pages not wanted are unspecified); @cnt, if not NULL, is
 * added to. Returns 0 or -errno (-EINVAL for a range past the block).
 */
int kmig_classify(struct kmig_classifier *c, const struct kmig_ram_block *b,
		  uint64_t first, uint64_t n, unsigned int flags, const uint64_t *want,
		  uint64_t *zero, struct kmig_class_counts *cnt);

#endif /* KMIG_CLASSIFY_H */
