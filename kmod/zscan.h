/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zscan.h - zero-page scan of a memslot range by page-table walk.
 */
#ifndef _KMIG_ZSCAN_H
#define _KMIG_ZSCAN_H

#include <linux/types.h>

#include "kmig.h"

struct kmig_session;
struct mm_struct;
struct zscan;

int kmig_zscan_ioctl(struct kmig_session *s, void *arg);
u32 kmig_zscan_max_batch(void);

/* For the harvest: classify only chosen pages; see zscan.c. */
struct zscan *kmig_zscan_begin(struct kmig_session *s, struct mm_struct *mm,
			       bool no_read);
void kmig_zscan_end(struct zscan *zs);
u64 kmig_zscan_range(struct zscan *zs, unsigned long hva, u64 npages,
		     const unsigned long *want, unsigned long *zero,
		     u64 count[KMIG_ZK_NR]);

#endif /* _KMIG_ZSCAN_H */
