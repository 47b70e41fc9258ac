// SPDX-License-Identifier: GPL-2.0
/*
 * Precopy convergence decisions (converge.h) on given figures: switch over
 * when the dirty pages fit the downtime limit at the measured bandwidth,
 * at the iteration bound otherwise; transfers under 1 MiB do not replace
 * the bandwidth estimate; compression shows in the bytes per page; and
 * auto-converge raises the throttle like QEMU's (every second trigger,
 * initial then increments, capped), never without the option.
 */
#include "precopy/converge.h"
#include "t.h"

#define MS 1000000ULL
#define MIB (1ULL << 20)

/* The previous iteration moved @mib MiB of data pages in @ms. */
static struct kmig_conv_sample sample(unsigned int it, uint64_t dirty, uint64_t mib, uint64_t ms)
{
	return (struct kmig_conv_sample){ .iteration = it, .dirty_pages = dirty,
					  .prev_bytes = mib * MIB, .prev_data_pages = mib * 256,
					  .prev_ns = ms * MS };
}

static void t_downtime(struct t_state *st)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	/* 100 MiB in 1 s: 100 MiB/s; 25600 pages (100 MiB) take 1 s. */
	s = sample(1, 25600, 100, 1000);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_ITERATE, "iterate");
	T_ASSERT(st, exp > 990 * MS && exp < 1010 * MS, "expected %llu", (unsigned long long)exp);
	/* 7000 pages: 273 ms, under the 300 ms default. */
	s = sample(2, 7000, 100, 1000);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_DOWNTIME, "fits: %llu",
		 (unsigned long long)exp);
	/* Nothing dirty: 0 ms, even without a measurement. */
	kmig_conv_init(&c);
	s = sample(1, 0, 0, 0);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_DOWNTIME && exp == 0, "empty");
	/* No measurement yet and pages dirty: unknown, iterate. */
	s = sample(1, 10, 0, 0);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_ITERATE && exp == UINT64_MAX,
		 "unknown");
}

static void t_small_transfer_keeps_estimate(struct t_state *st)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	s = sample(1, 25600, 100, 1000);
	kmig_conv_decide(&c, &s, &exp);
	/* 64 KiB in 10 ms (latency, not bandwidth): the estimate stays. */
	s = (struct kmig_conv_sample){ .iteration = 2, .dirty_pages = 25600,
				       .prev_bytes = 64 << 10, .prev_data_pages = 16,
				       .prev_ns = 10 * MS };
	kmig_conv_decide(&c, &s, &exp);
	T_ASSERT(st, c.bandwidth > 99 * MIB && c.bandwidth < 101 * MIB, "bandwidth %f", c.bandwidth);
}

static void t_compression(struct t_state *st)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	/* 50 MiB on the wire for 100 MiB of pages in 1 s: 2048 bytes a page. */
	s = (struct kmig_conv_sample){ .iteration = 1, .dirty_pages = 25600,
				       .prev_bytes = 50 * MIB, .prev_data_pages = 25600,
				       .prev_ns = 1000 * MS };
	kmig_conv_decide(&c, &s, &exp);
	T_ASSERT(st, c.bytes_per_page == 2048, "bytes per page %f", c.bytes_per_page);
	T_ASSERT(st, exp > 990 * MS && exp < 1010 * MS, "expected %llu", (unsigned long long)exp);
}

static void t_bound(struct t_state *st)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	c.max_iterations = 3;
	for (unsigned int i = 1; i < 3; i++) {
		s = sample(i, 25600, 100, 1000);
		T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_ITERATE, "it %u", i);
	}
	s = sample(3, 25600, 100, 1000);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_BOUND, "bound");
}

static void t_auto_converge(struct t_state *st)
{
	static const uint32_t want[] = { 0, 20, 20, 30, 30, 40, 40, 50 };
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	/* Without the option: never throttled. */
	for (unsigned int i = 1; i < 10; i++) {
		s = sample(i, 25600, 40, 1000);
		kmig_conv_decide(&c, &s, &exp);
	}
	T_ASSERT(st, c.throttle == 0, "throttled without auto-converge: %u", c.throttle);
	kmig_conv_init(&c);
	c.auto_converge = true;
	/* 100 MiB dirtied per 40 MiB sent: a trigger each time, a step every 2nd. */
	for (unsigned int i = 1; i <= 8; i++) {
		s = sample(i, 25600, 40, 1000);
		kmig_conv_decide(&c, &s, &exp);
		T_ASSERT(st, c.throttle == want[i - 1], "iteration %u: throttle %u, expected %u", i,
			 c.throttle, want[i - 1]);
	}
	/* Dirtying less than half of what was sent: no trigger. */
	s = sample(9, 2000, 40, 1000);
	kmig_conv_decide(&c, &s, &exp);
	s = sample(10, 2000, 40, 1000);
	kmig_conv_decide(&c, &s, &exp);
	T_ASSERT(st, c.throttle == 50, "throttle %u", c.throttle);
	/* Capped. */
	c.throttle_max = 60;
	for (unsigned int i = 11; i < 20; i++) {
		s = sample(i, 25600, 40, 1000);
		kmig_conv_decide(&c, &s, &exp);
	}
	T_ASSERT(st, c.throttle == 60, "cap: %u", c.throttle);
}

/* Every part of the downtime counts: the fixed costs (VMM and link round
 * trips, the last harvest, the device state, the destination's staging
 * and commit) push a switchover that the pages alone would allow past the
 * limit; the parts add up to the total. */
static void t_fixed_costs(struct t_state *st)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	struct kmig_dt_parts p;
	uint64_t exp;

	kmig_conv_init(&c);
	c.fixed = (struct kmig_conv_fixed){
		.vmm_rtt_ns = 1 * MS, .harvest_ns = 2 * MS, .link_rtt_ns = 3 * MS,
		.devstate_bytes = 1 * MIB, .commit_ns = 20 * MS,
	};
	/* 100 MiB/s: 7000 pages 273.4 ms; + pause 1, harvest 2, devstate 1
	 * (a VMM round trip until learned), device state on the wire 10,
	 * END 3, staging 3 + 1, commit 3 + 20: 317.4 ms > 300 ms. */
	s = sample(1, 7000, 100, 1000);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_ITERATE, "%llu",
		 (unsigned long long)exp);
	T_ASSERT(st, kmig_conv_expect(&c, 7000, &p) == exp && kmig_dt_parts_sum(&p) == exp,
		 "parts add up");
	T_ASSERT(st, p.pause == 1 * MS && p.harvest == 2 * MS && p.devstate == 1 * MS &&
		 p.prepare == 4 * MS && p.commit == 23 * MS, "fixed parts");
	T_ASSERT(st, p.transfer > 286 * MS && p.transfer < 287 * MS, "transfer %llu",
		 (unsigned long long)p.transfer);
	/* Learned at an aborted switchover: a 5 ms GET_DEVICE_STATE. */
	c.fixed.devstate_ns = 5 * MS;
	kmig_conv_expect(&c, 0, &p);
	T_ASSERT(st, p.devstate == 5 * MS && p.prepare == 4 * MS && p.transfer >= 13 * MS &&
		 p.transfer < 14 * MS, "learned parts");
	/* Fewer pages fit again. */
	s = sample(2, 5000, 100, 1000);
	T_ASSERT(st, kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_DOWNTIME, "%llu",
		 (unsigned long long)exp);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_downtime), T_CASE(t_small_transfer_keeps_estimate), T_CASE(t_compression),
		T_CASE(t_bound), T_CASE(t_auto_converge), T_CASE(t_fixed_costs),
	};

	return t_main("converge", cases, sizeof(cases) / sizeof(cases[0]));
}
