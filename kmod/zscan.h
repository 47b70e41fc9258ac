/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zscan.h - zero-page scan of a memslot range by page-table walk.
 */
#ifndef _KMIG_ZSCAN_H
#define _KMIG_ZSCAN_H

#include <linux/types.h>

struct kmig_session;

int kmig_zscan_ioctl(struct kmig_session *s, void *arg);
u32 kmig_zscan_max_batch(void);

#endif /* _KMIG_ZSCAN_H */
