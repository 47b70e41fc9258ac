// SPDX-License-Identifier: GPL-2.0
#include "base/bits.h"
#include "precopy/converge.h"
#include "base/ram.h"

#define MIN_MEASURE_BYTES	(1ULL << 20)

void kmig_conv_init(struct kmig_conv *c)
{
	*c = (struct kmig_conv){
		.downtime_limit_ns = 300 * 1000000ULL,
		.max_iterations = 30,
		.throttle_initial = 20,
		.throttle_increment = 10,
		.throttle_max = 99,
		.bytes_per_page = KMIG_PAGE_SIZE,
	};
}

static void measure(struct kmig_conv *c, const struct kmig_conv_sample *s)
{
	if (s->prev_bytes < MIN_MEASURE_BYTES || !s->prev_ns || !s->prev_data_pages)
		return;
	c->bandwidth = s->prev_bytes * 1e9 / s->prev_ns;
	c->bytes_per_page = (double)s->prev_bytes / s->prev_data_pages;
}

uint64_t kmig_dt_parts_sum(const struct kmig_dt_parts *p)
{
	return p->pause + p->harvest + p->devstate + p->transfer + p->prepare + p->commit;
}

/* @bytes at the measured bandwidth; UINT64_MAX if unknown. */
static uint64_t wire_ns(const struct kmig_conv *c, double bytes)
{
	double ns;

	if (bytes <= 0)
		return 0;
	if (c->bandwidth <= 0)
		return UINT64_MAX;
	ns = bytes / c->bandwidth * 1e9;
	return ns >= 1.8e18 ? UINT64_MAX : (uint64_t)ns;
}

uint64_t kmig_conv_expect(const struct kmig_conv *c, uint64_t pages, struct kmig_dt_parts *parts)
{
	const struct kmig_conv_fixed *f = &c->fixed;
	uint64_t pages_ns = wire_ns(c, pages * c->bytes_per_page);
	uint64_t dev_ns = wire_ns(c, f->devstate_bytes);
	struct kmig_dt_parts p = {
		.pause = f->vmm_rtt_ns,
		.harvest = f->harvest_ns,
		.devstate = f->devstate_ns ?: f->vmm_rtt_ns,
		.prepare = f->link_rtt_ns + f->vmm_rtt_ns,
		.commit = f->link_rtt_ns + f->commit_ns,
	};

	if (pages_ns == UINT64_MAX || dev_ns == UINT64_MAX) {
		if (parts)
			*parts = p;
		return UINT64_MAX;
	}
	p.transfer = pages_ns + dev_ns + f->link_rtt_ns;
	if (parts)
		*parts = p;
	return kmig_dt_parts_sum(&p);
}

void kmig_conv_probe(struct kmig_conv *c, uint64_t link_rtt_ns)
{
	struct kmig_conv_fixed *f = &c->fixed;

	f->link_rtt_ns = link_rtt_ns;
	f->link_rtts[f->nr_link_rtts++ % KMIG_CONV_RTT_KEEP] = link_rtt_ns;
}

uint64_t kmig_conv_commit_high(const struct kmig_conv *c)
{
	const struct kmig_conv_fixed *f = &c->fixed;
	uint64_t rtt = f->link_rtt_ns;

	for (unsigned int i = 0; i < KMIG_MIN(f->nr_link_rtts, KMIG_CONV_RTT_KEEP); i++)
		rtt = KMIG_MAX(rtt, f->link_rtts[i]);
	return rtt + f->commit_ns;
}

/* QEMU's trigger: dirtied more than half of what was transferred. */
static void throttle_step(struct kmig_conv *c, const struct kmig_conv_sample *s)
{
	if (!c->auto_converge || s->dirty_pages * KMIG_PAGE_SIZE <= s->prev_bytes / 2)
		return;
	if (++c->high < 2)
		return;
	c->high = 0;
	if (!c->throttle)
		c->throttle = c->throttle_initial;
	else
		c->throttle += c->throttle_increment;
	if (c->throttle > c->throttle_max)
		c->throttle = c->throttle_max;
}

enum kmig_conv_verdict kmig_conv_decide(struct kmig_conv *c, const struct kmig_conv_sample *s,
					uint64_t *expected_ns)
{
	measure(c, s);
	*expected_ns = kmig_conv_expect(c, s->dirty_pages, NULL);
	if (*expected_ns <= c->downtime_limit_ns)
		return KMIG_CONV_DOWNTIME;
	if (s->iteration >= c->max_iterations)
		return KMIG_CONV_BOUND;
	throttle_step(c, s);
	return KMIG_CONV_ITERATE;
}

const char *kmig_conv_verdict_name(enum kmig_conv_verdict v)
{
	switch (v) {
	case KMIG_CONV_DOWNTIME:
		return "expected downtime within the limit";
	case KMIG_CONV_BOUND:
		return "iteration bound reached";
	default:
		return "iterate";
	}
}
