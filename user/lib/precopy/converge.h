/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Precopy convergence: after each harvest, switch over or iterate again,
 * and whether to throttle the guest (auto-converge). Pure arithmetic on
 * measured figures, so the decisions are unit-tested without a guest.
 *
 * Switch over when every part of the downtime fits the limit (or at the
 * iteration bound):
 *
 *	pause     a source VMM request (its round trip, measured at each
 *	          probe by a QUERY)
 *	harvest   the final harvest (the last one's time)
 *	devstate  GET_DEVICE_STATE (learned at an aborted switchover; before
 *	          that a VMM round trip)
 *	transfer  (dirty pages * wire bytes per page + device state bytes)
 *	          / bandwidth, plus one round trip with the destination for
 *	          END and its acknowledgement
 *	prepare   a round trip plus the destination's staging (its VMM's
 *	          SET_DEVICE_STATE: a VMM round trip, as the source's)
 *	commit    a round trip plus the destination's commit (a prior:
 *	          KMIG_CONV_COMMIT_NS_FIXED + _PER_GIB of RAM)
 *
 * with bandwidth and wire bytes per data page (compression shows here; zero
 * markers ride along almost free) from the last iteration that moved at
 * least 1 MiB (smaller transfers measure latency, not bandwidth), and the
 * round trip with the destination from a probe (an empty barrier: SYNC on
 * every channel and its acknowledgement) after each iteration.
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

/* The parts of a downtime, expected or measured (ns). */
struct kmig_dt_parts {
	uint64_t pause, harvest, devstate, transfer, prepare, commit;
};

/* The destination's commit (memslots, state, run, and RESUMED's way back
 * while the resumed guest competes for the cores) before one was seen:
 * 2 ms plus 1 ms per GiB of RAM (kmig-vmm on the 2-core development host:
 * 0.3-0.8 ms of VMM COMMIT, 1-6 ms from COMMIT to RESUMED, 2026-12). */
#define KMIG_CONV_COMMIT_NS_PER_GIB	1000000ULL
#define KMIG_CONV_COMMIT_NS_FIXED	2000000ULL

/* What the switchover's fixed costs were found to be (0: not measured). */
struct kmig_conv_fixed {
	uint64_t vmm_rtt_ns;		/* a source VMM request */
	uint64_t harvest_ns;		/* the last harvest */
	uint64_t link_rtt_ns;		/* an empty barrier with the destination */
	uint64_t devstate_bytes;	/* the last device state */
	uint64_t devstate_ns;		/* GET_DEVICE_STATE at an earlier switchover */
	uint64_t commit_ns;		/* destination commit beyond the round trip (a prior) */
	/* the last KMIG_CONV_RTT_KEEP round trips (kmig_conv_probe()) */
	uint64_t link_rtts[8];
	unsigned int nr_link_rtts;	/* probes so far */
};

#define KMIG_CONV_RTT_KEEP	8

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
	struct kmig_conv_fixed fixed;	/* set by the engine as it measures */
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

/* The expected downtime for @pages dirty pages, in parts (@parts may be
 * NULL); UINT64_MAX when pages are dirty and no bandwidth was measured. */
uint64_t kmig_conv_expect(const struct kmig_conv *c, uint64_t pages, struct kmig_dt_parts *parts);
/* A probe's round trip with the destination: the latest, and kept. */
void kmig_conv_probe(struct kmig_conv *c, uint64_t link_rtt_ns);
/* The commit (COMMIT until RESUMED) to expect at worst, for the strict
 * limit's last check before COMMIT: the longest of the last round trips
 * kept (the 8th of 8: a high percentile of what the link showed lately,
 * not its last sample) plus the destination's commit. */
uint64_t kmig_conv_commit_high(const struct kmig_conv *c);
/* The sum of @p's parts. */
uint64_t kmig_dt_parts_sum(const struct kmig_dt_parts *p);

const char *kmig_conv_verdict_name(enum kmig_conv_verdict v);

#endif /* KMIG_CONVERGE_H */
