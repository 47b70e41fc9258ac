/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty harvest through the module (KMIG_HARVEST): the dirty bitmaps of
 * several memslot ranges in one call, optionally split into dirty-and-
 * non-zero and dirty-and-zero pages in the same pass.
 *
 * Semantics: KVM_GET_DIRTY_LOG in manual-protect mode, for many ranges at
 * once: bits are read, not cleared. The VM must have
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled and no dirty ring, and each
 * slot KVM_MEM_LOG_DIRTY_PAGES.
 *
 * THE RULE with KMIG_HARVEST_F_CLASSIFY (see uapi/linux/kmig.h):
 *   1. send the pages of @zero as zero pages and do NOT clear their bits;
 *   2. have the VMM clear exactly the bits of @dirty (KVM_CLEAR_DIRTY_LOG
 *      with @dirty as its bitmap, same first_page), and only then read and
 *      send those pages;
 *   3. the next round's harvest reports the zero pages again (zero, or with
 *      their new content); the harvest done while the VM is paused is final.
 * Clearing a zero page's bit could lose a guest write that happened between
 * the classification and the clear.
 */
#ifndef KMIG_KMOD_HARVEST_H
#define KMIG_KMOD_HARVEST_H

#include <stdint.h>

#include "base/errbuf.h"
#include "kmod/kmod_dev.h"

/* One range of one memslot. */
struct kmig_harvest_range {
	uint32_t slot;		/* in: KMIG_SLOT(address space, slot id) */
	uint64_t first_page;	/* in: from the slot's start, multiple of 64 */
	uint64_t num_pages;	/* in */
	uint64_t *dirty;	/* out: KMIG_BITMAP_WORDS(num_pages) words:
				 * dirty and non-zero (all dirty pages
				 * without KMIG_HARVEST_F_CLASSIFY) */
	uint64_t *zero;		/* out with CLASSIFY: dirty and zero; else NULL */
	uint64_t nr_dirty;	/* out: dirty pages (both bitmaps) */
	uint64_t nr_zero;	/* out: dirty and zero */
};

struct kmig_harvest_stats {
	uint64_t calls;		/* ioctls made (more than one: bounded work) */
	uint64_t nr_dirty;	/* dirty pages, all ranges */
	uint64_t nr_zero;	/* of those, zero */
};

/*
 * Harvests @n ranges (@n <= KMIG_HARVEST_MAX_ENTRIES) with @flags
 * (KMIG_HARVEST_F_CLASSIFY, KMIG_HARVEST_F_NO_READ), @max_pages per ioctl
 * (0: the module's bound), retrying when a signal interrupts. @st (may be
 * NULL) is set. Returns 0, or -errno with @err naming the failing range:
 * -EOPNOTSUPP VM not in manual-protect mode, -ENXIO dirty ring, -ENOENT no
 * such slot, -ENODATA slot without dirty logging, -EINVAL bad range,
 * -ENODEV the VM's process exited, -ENOTTY/-EPROTO module without
 * KMIG_FEAT_HARVEST.
 */
int kmig_harvest(struct kmig_kmod *m, struct kmig_harvest_range *r, unsigned int n,
		 unsigned int flags, uint64_t max_pages, struct kmig_harvest_stats *st,
		 struct kmig_err *err);

#endif /* KMIG_KMOD_HARVEST_H */
