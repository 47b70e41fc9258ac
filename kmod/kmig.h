/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig.h - definitions shared by the module's subsystems.
 *
 * Each subsystem has its own header (session.h, vm.h, zscan.h, harvest.h,
 * logstop.h, netlink.h); this one holds only what does not belong to one
 * of them.
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

/*
 * Counters, per session and module-wide. The order is the order of the
 * netlink attributes: counter i is KMIG_STATS_A_ZSCAN_CALLS + i.
 */
enum kmig_stat {
	KMIG_ST_ZSCAN_CALLS,
	KMIG_ST_ZSCAN_NS,
	KMIG_ST_ZSCAN_NONE,		/* pages by enum kmig_zkind, in order */
	KMIG_ST_ZSCAN_ZERO_PAGE,
	KMIG_ST_ZSCAN_ZERO_DATA,
	KMIG_ST_ZSCAN_NONZERO,
	KMIG_ST_HARVEST_CALLS,
	KMIG_ST_HARVEST_NS,
	KMIG_ST_HARVEST_PAGES,		/* pages of the ranges looked at */
	KMIG_ST_HARVEST_DIRTY,
	KMIG_ST_HARVEST_ZERO_NONE,	/* dirty and zero, by kind */
	KMIG_ST_HARVEST_ZERO_PAGE,
	KMIG_ST_HARVEST_ZERO_DATA,
	KMIG_ST_STOP_REQUESTS,
	KMIG_ST_STOP_PENDING,
	KMIG_ST_STOP_DONE,
	KMIG_ST_STOP_CANCELLED,
	KMIG_ST_STOP_SLOTS_DONE,
	KMIG_ST_STOP_SLOTS_SKIPPED,
	KMIG_ST_STOP_SLOTS_FAILED,
	KMIG_ST_STOP_WORK_NS,
	KMIG_ST_STOP_LATENCY_NS,
	KMIG_ST_NR
};

static inline bool kmig_is_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* dev.c */
int kmig_dev_init(void);
void kmig_dev_uninit(void);

#endif /* _KMIG_KMIG_H */
