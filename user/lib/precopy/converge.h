/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Precopy convergence: after each harvest, switch over or iterate again,
 * and whether to throttle the guest (auto-converge). Pure arithmetic on
 * measured figures, so the decisions are unit-tested without a guest.
 *
 * Switch over when the pages still dirty could be sent within the
 * downtime limit at the measured bandwidth:
 *
 *	expected downtime = dirty pages * wire bytes per page / bandwidth
 *
 * with bandwidth and wire bytes per data page (compression shows here; zero
 * markers ride along almost free) from the last
 * iteration that moved at least 1 MiB (smaller transfers measure latency,
 * not bandwidth), or when the iteration bound is reached.
 *
 * Auto-converge, as QEMU's: when the guest dirtied more than half of what
 * the previous iteration transferred, twice (not necessarily in a row), the
 * throttle goes to throttle_initial, then up by throttle_increment per
 * trigger, at most throttle_max percent of the vCPUs' time.
 */
#ifndef KMIG_CONVERGE_H
#define KMIG_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

struct kmig_conv {
	/* settings */
	uint64_t downtime_limit_ns;
	unsigned int max_iterations;	/* switch over at this iteration */
	bool auto_converge;
	uint32_t throttle_initial, throttle_increment, throttle_max;
	/* state */
	uint32_t throttle;		/* percent now */
	unsigned int high;		/* triggers counted towards the next step */
	double bandwidth;		/* bytes/s; 0: not measured yet */
	double bytes_per_page;		/* on the wire, per page sent */
};

/* What the previous iteration's transfer moved, and the new harvest. */
struct kmig_conv_sample {
	unsigned int iteration;		/* the one being decided, >= 1 */
	uint64_t dirty_pages;		/* harvested: dirtied meanwhile */
	uint64_t prev_bytes;		/* on the wire in the previous iteration */
	uint64_t prev_data_pages;	/* pages it sent with content */
	uint64_t prev_ns;		/* its transfer time */
};

enum kmig_conv_verdict {
	KMIG_CONV_ITERATE,
	KMIG_CONV_DOWNTIME,		/* switch over: fits the downtime limit */
	KMIG_CONV_BOUND,		/* switch over: iteration bound reached */
};

/* Defaults: 300 ms, 30 iterations, throttle 20 + 10 up to 99. */
void kmig_conv_init(struct kmig_conv *c);

/* Decide for @s; @expected_ns gets the estimate (UINT64_MAX: unknown).
 * Updates the throttle (read c->throttle afterwards). */
enum kmig_conv_verdict kmig_conv_decide(struct kmig_conv *c, const struct kmig_conv_sample *s,
					uint64_t *expected_ns);

const char *kmig_conv_verdict_name(enum kmig_conv_verdict v);

#endif /* KMIG_CONVERGE_H */
