/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --compress auto: per batch, send raw or compressed, whichever has moved
 * a byte of guest memory sooner on this channel lately:
 *
 *   raw:        B / link                       (time to push B bytes)
 *   compressed: B / codec + B * ratio / link   (compress, push fewer bytes)
 *
 * Both costs are measured, not modelled: for each batch the channel records
 * the wall time from the compression decision to the end of its socket
 * write (compression, rate-limiter wait, socket write) per input byte, and
 * keeps an exponentially weighted average per mode. That folds in the real
 * link share (the rate limit and the other channels), the codec's speed on
 * this CPU under its current load, and the ratio on the current content,
 * including batches that did not shrink. The cheaper mode wins; every
 * KMIG_AUTO_PROBE-th batch (4 times less often when the other mode costs
 * more than twice as much) tries the other mode so its figure stays fresh.
 * So compression is used when the link is the bottleneck and skipped when
 * the CPU is.
 */
#ifndef KMIG_AUTOCOMP_H
#define KMIG_AUTOCOMP_H

#include <stdbool.h>
#include <stdint.h>

#define KMIG_AUTO_PROBE 16

struct kmig_autocomp {
	double cost[2];		/* ns per input byte: [0] raw, [1] compressed */
	bool have[2];
	unsigned int since_probe;
	uint64_t decisions[2];
};

void kmig_autocomp_init(struct kmig_autocomp *ac);
/* Compress the next batch? */
bool kmig_autocomp_want(struct kmig_autocomp *ac);
/* A batch of @in input bytes took @ns in mode @compressed (the mode that
 * was decided, even if the batch did not shrink and went raw). */
void kmig_autocomp_record(struct kmig_autocomp *ac, bool compressed, uint64_t in, uint64_t ns);

#endif /* KMIG_AUTOCOMP_H */
