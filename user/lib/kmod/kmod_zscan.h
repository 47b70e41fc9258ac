/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Zero scan through the module (KMIG_ZERO_SCAN): which pages of a memslot
 * range are zero, found by walking the VM's page tables: never-populated
 * pages and the shared (or huge) zero page without reading them, present
 * pages read in the kernel (unless KMIG_SCAN_F_NO_READ). Never faults
 * anything in. The result is a snapshot: a caller that sends zero pages as
 * markers must scan after the clear that re-protected them (dirty.h), so
 * that a later write is reported by the next harvest.
 */
#ifndef KMIG_KMOD_ZSCAN_H
#define KMIG_KMOD_ZSCAN_H

#include <stdint.h>

#include "base/errbuf.h"
#include "kmod/kmod_dev.h"

struct kmig_zscan_stats {
	uint64_t calls;		/* ioctls made (bounded work per call) */
	uint64_t none;		/* never populated */
	uint64_t zero_page;	/* the shared or huge zero page */
	uint64_t zero_data;	/* present, read, zero */
	uint64_t nonzero;	/* present with data, or not classifiable */
};

/*
 * Scan pages [@first, @first + @n) of @slot (@first a multiple of 64) with
 * @flags (KMIG_SCAN_F_*) into @zero (KMIG_BITMAP_WORDS(@n) words, bit i =
 * page first + i is zero), resuming the module's cursor until done and
 * retrying when a signal interrupts. @st (may be NULL) is added to.
 * Returns 0, or -errno with @err naming the range: -ENOENT no such slot,
 * -EINVAL bad range, -ENODEV the VM's process exited, -EPROTO the module
 * has no KMIG_ZERO_SCAN or broke its cursor contract.
 */
int kmig_zero_scan(struct kmig_kmod *m, uint32_t slot, uint64_t first, uint64_t n,
		   unsigned int flags, uint64_t *zero, struct kmig_zscan_stats *st,
		   struct kmig_err *err);

#endif /* KMIG_KMOD_ZSCAN_H */
