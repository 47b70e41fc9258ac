/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bandwidth limit shared by all channels of a stream, to emulate a slower
 * link: the channels together send at most @rate bytes/s. It models one
 * link: a packet occupies it for len/rate seconds after the previous
 * packet (of any channel) left; its sender waits until then. Up to
 * KMIG_RL_BURST_NS of unused time is credited, so short pauses don't
 * lower the average.
 */
#ifndef KMIG_RATELIMIT_H
#define KMIG_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#define KMIG_RL_BURST_NS	(5 * 1000 * 1000ULL)

struct kmig_ratelimit {
	pthread_mutex_t lock;
	uint64_t rate;		/* bytes per second; 0: unlimited */
	uint64_t next_ns;	/* when the emulated link is free again */
};

void kmig_ratelimit_init(struct kmig_ratelimit *rl, uint64_t rate);
void kmig_ratelimit_fini(struct kmig_ratelimit *rl);
/* Wait until @len bytes may have passed the link. Returns the time waited
 * in ns, or 0. Sleeps in slices and returns early when *@stop is set. */
uint64_t kmig_ratelimit_wait(struct kmig_ratelimit *rl, uint64_t len, const int *stop);

#endif /* KMIG_RATELIMIT_H */
