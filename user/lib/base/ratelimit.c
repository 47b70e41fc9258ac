// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "base/bits.h"
#include "base/ratelimit.h"

#define SLICE_NS (50 * 1000 * 1000ULL)	/* re-check *stop this often */

void kmig_ratelimit_init(struct kmig_ratelimit *rl, uint64_t rate)
{
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate;
	rl->next_ns = 0;
}

void kmig_ratelimit_fini(struct kmig_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

uint64_t kmig_ratelimit_wait(struct kmig_ratelimit *rl, uint64_t len, const int *stop)
{
	uint64_t now, start, done, t0;

	if (!rl->rate)
		return 0;
	t0 = now = kmig_now_ns();
	pthread_mutex_lock(&rl->lock);
	start = KMIG_MAX(rl->next_ns, now > KMIG_RL_BURST_NS ? now - KMIG_RL_BURST_NS : 0);
	/* len * 1e9 / rate without overflow for len < 2^34. */
	done = start + (uint64_t)((double)len * 1e9 / (double)rl->rate);
	rl->next_ns = done;
	pthread_mutex_unlock(&rl->lock);
	while (now < done && !__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		uint64_t d = KMIG_MIN(done - now, SLICE_NS);
		struct timespec ts = { .tv_sec = d / 1000000000ULL, .tv_nsec = d % 1000000000ULL };

		nanosleep(&ts, NULL);
		now = kmig_now_ns();
	}
	return now - t0;
}
