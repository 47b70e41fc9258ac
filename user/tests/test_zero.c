// SPDX-License-Identifier: GPL-2.0
/* Every zero-check variant against a memcmp reference: lengths 0..600 and
 * 4096, alignments 0..63, a non-zero byte at every position. One fixture
 * variant per implementation; one the CPU lacks is reported as SKIP. */
#include <string.h>

#include "kselftest_harness.h"
#include "base/zero.h"

static unsigned char zeros[8192 + 128];
static unsigned char buf[8192 + 128];

static int ref(const unsigned char *p, size_t len)
{
	return !memcmp(p, zeros, len);
}

FIXTURE(zero) {
	kmig_zero_fn fn;
};

FIXTURE_VARIANT(zero) {
	const char *name;
};

FIXTURE_VARIANT_ADD(zero, scalar) { .name = "scalar" };
FIXTURE_VARIANT_ADD(zero, sse2) { .name = "sse2" };
FIXTURE_VARIANT_ADD(zero, avx2) { .name = "avx2" };
FIXTURE_VARIANT_ADD(zero, avx512) { .name = "avx512" };

FIXTURE_SETUP(zero)
{
	self->fn = kmig_zero_by_name(variant->name);
}

FIXTURE_TEARDOWN(zero)
{
}

TEST_F(zero, against_memcmp)
{
	static const size_t lens[] = { 0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 127, 128, 129,
				       255, 256, 257, 511, 600, 4095, 4096 };
	kmig_zero_fn fn = self->fn;

	if (!fn)
		SKIP(return, "%s: not supported by this CPU", variant->name);
	for (size_t a = 0; a < 64; a++) {
		for (size_t l = 0; l < ARRAY_SIZE(lens); l++) {
			size_t len = lens[l];
			unsigned char *p = buf + a;

			memset(buf, 0, sizeof(buf));
			ASSERT_TRUE(fn(p, len))
				TH_LOG("%s zero len %zu align %zu", variant->name, len, a);
			/* Non-zero bytes just outside must not matter. */
			buf[a + len] = 0xff;
			if (a)
				buf[a - 1] = 0xff;
			ASSERT_TRUE(fn(p, len))
				TH_LOG("%s guard bytes len %zu align %zu", variant->name, len, a);
			/* Every position for small lengths and at alignment 0;
			 * a stride elsewhere keeps the run short. */
			size_t step = (len <= 600 || a == 0) ? 1 : 61;

			for (size_t pos = 0; pos < len; pos += step) {
				for (int v = 1; v < 256; v <<= 1) {
					p[pos] = v;
					ASSERT_EQ(ref(p, len), fn(p, len))
						TH_LOG("%s len %zu align %zu byte %#x at %zu",
						       variant->name, len, a, v, pos);
					p[pos] = 0;
				}
			}
		}
	}
}

TEST(dispatch)
{
	ASSERT_NE(NULL, kmig_zero_best()) TH_LOG("no variant");
	ASSERT_EQ(NULL, kmig_zero_by_name("nonsense")) TH_LOG("unknown name accepted");
	ASSERT_EQ(kmig_zero_best(), kmig_zero_by_name(kmig_zero_best_name())) TH_LOG("best");
	TH_LOG("best variant: %s", kmig_zero_best_name());
}

TEST_HARNESS_MAIN
