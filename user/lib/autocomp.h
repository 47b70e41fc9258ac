/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --compress auto: per batch, send raw or compressed, whichever moves the
 * batch sooner from this channel's own measurements:
 *
 *   raw:        B / link
 *   compressed: B / codec + B * ratio / link
 *
 * so compress iff link < codec * (1 - ratio): when the link (or the rate
 * limit) is the bottleneck, not the CPU. link is bytes on the wire per ns
 * spent sending (socket writes and rate-limiter waits), codec is input bytes
 * per ns of compression, ratio is output/input; all exponentially weighted.
 * While sending raw, every KMIG_AUTO_PROBE-th batch is compressed anyway
 * so the codec figures follow the content.
 */
#ifndef KMIG_AUTOCOMP_H
#define KMIG_AUTOCOMP_H

#include <stdbool.h>
#include <stdint.h>

#define KMIG_AUTO_PROBE 16

struct kmig_autocomp {
	double link;		/* bytes per ns */
	double codec;		/* bytes per ns */
	double ratio;
	bool have_link, have_codec;
	unsigned int since_probe;
	uint64_t decisions_raw, decisions_compress;
};

void kmig_autocomp_init(struct kmig_autocomp *ac);
bool kmig_autocomp_want(struct kmig_autocomp *ac);
void kmig_autocomp_sent(struct kmig_autocomp *ac, uint64_t bytes, uint64_t ns);
void kmig_autocomp_coded(struct kmig_autocomp *ac, uint64_t in, uint64_t out, uint64_t ns);

#endif /* KMIG_AUTOCOMP_H */
