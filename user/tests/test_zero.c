// SPDX-License-Identifier: GPL-2.0
/* Every zero-check variant against a memcmp reference: lengths 0..600 and
 * 4096, alignments 0..63, a non-zero byte at every position. */
#include <string.h>

#include "t.h"
#include "base/zero.h"

static unsigned char zeros[8192 + 128];
static unsigned char buf[8192 + 128];

static int ref(const unsigned char *p, size_t len)
{
	return !memcmp(p, zeros, len);
}

static void check_variant(struct t_state *st, const char *name)
{
	kmig_zero_fn fn = kmig_zero_by_name(name);
	static const size_t lens[] = { 0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 127, 128, 129,
				       255, 256, 257, 511, 600, 4095, 4096 };

	if (!fn)
		T_SKIP(st, "%s: not supported by this CPU", name);
	for (size_t a = 0; a < 64; a++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			size_t len = lens[l];
			unsigned char *p = buf + a;

			memset(buf, 0, sizeof(buf));
			T_ASSERT(st, fn(p, len) == 1, "%s zero len %zu align %zu", name, len, a);
			/* Non-zero bytes just outside must not matter. */
			buf[a + len] = 0xff;
			if (a)
				buf[a - 1] = 0xff;
			T_ASSERT(st, fn(p, len) == 1, "%s guard bytes len %zu align %zu", name, len, a);
			/* Every position for small lengths and at alignment 0;
			 * a stride elsewhere keeps the run short. */
			size_t step = (len <= 600 || a == 0) ? 1 : 61;

			for (size_t pos = 0; pos < len; pos += step) {
				for (int v = 1; v < 256; v <<= 1) {
					p[pos] = v;
					T_ASSERT(st, fn(p, len) == ref(p, len),
						 "%s len %zu align %zu byte %#x at %zu", name, len, a,
						 v, pos);
					p[pos] = 0;
				}
			}
		}
	}
}

static void t_scalar(struct t_state *st) { check_variant(st, "scalar"); }
static void t_sse2(struct t_state *st) { check_variant(st, "sse2"); }
static void t_avx2(struct t_state *st) { check_variant(st, "avx2"); }
static void t_avx512(struct t_state *st) { check_variant(st, "avx512"); }

static void t_dispatch(struct t_state *st)
{
	T_ASSERT(st, kmig_zero_best() != NULL, "no variant");
	T_ASSERT(st, kmig_zero_by_name("nonsense") == NULL, "unknown name accepted");
	T_ASSERT(st, kmig_zero_by_name(kmig_zero_best_name()) == kmig_zero_best(), "best");
	printf("# best variant: %s\n", kmig_zero_best_name());
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_scalar), T_CASE(t_sse2), T_CASE(t_avx2), T_CASE(t_avx512),
		T_CASE(t_dispatch),
	};

	return t_main("zero", cases, sizeof(cases) / sizeof(cases[0]));
}
