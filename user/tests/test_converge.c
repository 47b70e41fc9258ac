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
#include "kselftest_harness.h"

#define MS 1000000ULL
#define MIB (1ULL << 20)

/* The previous iteration moved @mib MiB of data pages in @ms. */
static struct kmig_conv_sample sample(unsigned int it, uint64_t dirty, uint64_t mib, uint64_t ms)
{
	return (struct kmig_conv_sample){ .iteration = it, .dirty_pages = dirty,
					  .prev_bytes = mib * MIB, .prev_data_pages = mib * 256,
					  .prev_ns = ms * MS };
}

TEST(downtime)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	/* 100 MiB in 1 s: 100 MiB/s; 25600 pages (100 MiB) take 1 s. */
	s = sample(1, 25600, 100, 1000);
	ASSERT_EQ(KMIG_CONV_ITERATE, kmig_conv_decide(&c, &s, &exp)) TH_LOG("iterate");
	ASSERT_TRUE(exp > 990 * MS && exp < 1010 * MS)
		TH_LOG("expected %llu", (unsigned long long)exp);
	/* 7000 pages: 273 ms, under the 300 ms default. */
	s = sample(2, 7000, 100, 1000);
	ASSERT_EQ(KMIG_CONV_DOWNTIME, kmig_conv_decide(&c, &s, &exp))
		TH_LOG("fits: %llu", (unsigned long long)exp);
	/* Nothing dirty: 0 ms, even without a measurement. */
	kmig_conv_init(&c);
	s = sample(1, 0, 0, 0);
	ASSERT_TRUE(kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_DOWNTIME && exp == 0)
		TH_LOG("empty");
	/* No measurement yet and pages dirty: unknown, iterate. */
	s = sample(1, 10, 0, 0);
	ASSERT_TRUE(kmig_conv_decide(&c, &s, &exp) == KMIG_CONV_ITERATE && exp == UINT64_MAX)
		TH_LOG("unknown");
}

TEST(small_transfer_keeps_estimate)
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
	ASSERT_TRUE(c.bandwidth > 99 * MIB && c.bandwidth < 101 * MIB)
		TH_LOG("bandwidth %f", c.bandwidth);
}

TEST(compression)
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
	ASSERT_TRUE(c.bytes_per_page == 2048) TH_LOG("bytes per page %f", c.bytes_per_page);
	ASSERT_TRUE(exp > 990 * MS && exp < 1010 * MS)
		TH_LOG("expected %llu", (unsigned long long)exp);
}

TEST(bound)
{
	struct kmig_conv c;
	struct kmig_conv_sample s;
	uint64_t exp;

	kmig_conv_init(&c);
	c.max_iterations = 3;
	for (unsigned int i = 1; i < 3; i++) {
		s = sample(i, 25600, 100, 1000);
		ASSERT_EQ(KMIG_CONV_ITERATE, kmig_conv_decide(&c, &s, &exp)) TH_LOG("it %u", i);
	}
	s = sample(3, 25600, 100, 1000);
	ASSERT_EQ(KMIG_CONV_BOUND, kmig_conv_decide(&c, &s, &exp)) TH_LOG("bound");
}

TEST(auto_converge)
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
	ASSERT_EQ(0, c.throttle) TH_LOG("throttled without auto-converge: %u", c.throttle);
	kmig_conv_init(&c);
	c.auto_converge = true;
	/* 100 MiB dirtied per 40 MiB sent: a trigger each time, a step every 2nd. */
	for (unsigned int i = 1; i <= 8; i++) {
		s = sample(i, 25600, 40, 1000);
		kmig_conv_decide(&c, &s, &exp);
		ASSERT_EQ(want[i - 1], c.throttle)
			TH_LOG("iteration %u: throttle %u, expected %u", i, c.throttle,
			       want[i - 1]);
	}
	/* Dirtying less than half of what was sent: no trigger. */
	s = sample(9, 2000, 40, 1000);
	kmig_conv_decide(&c, &s, &exp);
	s = sample(10, 2000, 40, 1000);
	kmig_conv_decide(&c, &s, &exp);
	ASSERT_EQ(50, c.throttle) TH_LOG("throttle %u", c.throttle);
	/* Capped. */
	c.throttle_max = 60;
	for (unsigned int i = 11; i < 20; i++) {
		s = sample(i, 25600, 40, 1000);
		kmig_conv_decide(&c, &s, &exp);
	}
	ASSERT_EQ(60, c.throttle) TH_LOG("cap: %u", c.throttle);
}

/* Every part of the downtime counts: the fixed costs (VMM and link round
 * trips, the last harvest, the device state, the destination's staging
 * and commit) push a switchover that the pages alone would allow past the
 * limit; the parts add up to the total. */
TEST(fixed_costs)
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
	ASSERT_EQ(KMIG_CONV_ITERATE, kmig_conv_decide(&c, &s, &exp))
		TH_LOG("%llu", (unsigned long long)exp);
	ASSERT_TRUE(kmig_conv_expect(&c, 7000, &p) == exp && kmig_dt_parts_sum(&p) == exp)
		TH_LOG("parts add up");
	ASSERT_TRUE(p.pause == 1 * MS && p.harvest == 2 * MS && p.devstate == 1 * MS &&
	            p.prepare == 4 * MS && p.commit == 23 * MS)
		TH_LOG("fixed parts");
	ASSERT_TRUE(p.transfer > 286 * MS && p.transfer < 287 * MS)
		TH_LOG("transfer %llu", (unsigned long long)p.transfer);
	/* Learned at an aborted switchover: a 5 ms GET_DEVICE_STATE. */
	c.fixed.devstate_ns = 5 * MS;
	kmig_conv_expect(&c, 0, &p);
	ASSERT_TRUE(p.devstate == 5 * MS && p.prepare == 4 * MS && p.transfer >= 13 * MS &&
	            p.transfer < 14 * MS)
		TH_LOG("learned parts");
	/* Fewer pages fit again. */
	s = sample(2, 5000, 100, 1000);
	ASSERT_EQ(KMIG_CONV_DOWNTIME, kmig_conv_decide(&c, &s, &exp))
		TH_LOG("%llu", (unsigned long long)exp);
}

/* The strict limit's check before COMMIT takes the longest of the last 8
 * probes' round trips, not the latest one; an old outlier ages out. */
TEST(commit_high)
{
	struct kmig_conv c;

	kmig_conv_init(&c);
	c.fixed.commit_ns = 2 * MS;
	ASSERT_EQ(2 * MS, kmig_conv_commit_high(&c));
	kmig_conv_probe(&c, 9 * MS);
	for (int i = 0; i < 7; i++)
		kmig_conv_probe(&c, 1 * MS);
	ASSERT_EQ(1 * MS, c.fixed.link_rtt_ns);
	ASSERT_EQ(11 * MS, kmig_conv_commit_high(&c));
	kmig_conv_probe(&c, 1 * MS);	/* the 9 ms one is 9 probes old now */
	ASSERT_EQ(3 * MS, kmig_conv_commit_high(&c));
}

TEST_HARNESS_MAIN
