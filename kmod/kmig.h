/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig.h - definitions shared by the module's subsystems.
 *
 * Each subsystem has its own header (session.h, vm.h, zscan.h); this one
 * holds only what does not belong to one of them.
 */
#ifndef _KMIG_KMIG_H
#define _KMIG_KMIG_H

#include <linux/string.h>
#include <linux/types.h>
#include <linux/kmig.h>

/* How a scanned page was classified; indexes per-session counters. */
enum kmig_zkind {
	KMIG_ZK_NONE,		/* never populated (no PTE, page-cache hole) */
	KMIG_ZK_ZERO_PAGE,	/* shared zero page or huge zero page */
	KMIG_ZK_ZERO_DATA,	/* present, read, all zero */
	KMIG_ZK_NONZERO,	/* data, not read, or not classifiable */
	KMIG_ZK_NR
};

static inline bool kmig_is_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* dev.c */
int kmig_dev_init(void);
void kmig_dev_uninit(void);

#endif /* _KMIG_KMIG_H */
