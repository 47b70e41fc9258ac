/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harvest.h - KMIG_HARVEST: dirty bitmaps of several slots, fused with
 * zero classification.
 */
#ifndef _KMIG_HARVEST_H
#define _KMIG_HARVEST_H

struct kmig_session;

int kmig_harvest_ioctl(struct kmig_session *s, void *arg);

#endif /* _KMIG_HARVEST_H */
