// SPDX-License-Identifier: GPL-2.0
/*
 * The page sum's variants (crc.h). The sum is defined on 32-bit words with
 * per-position weights; a variant with L lanes keeps, per lane j (words
 * L*m + j), A[j] = sum of w and B[j] = sum of (M - m) * w, and with
 * n - i = L * (M - m) - j the weighted sum is L * sum B - sum j * A[j],
 * so any L gives the same result (tests/test_wire.c checks them against
 * the definition). AVX2 does 8 lanes, 32 bytes per step: half the
 * instructions of the 4-lane loop the compiler makes with SSE2, which
 * counts twice where the CPU is emulated (the lab's TCG runs each
 * instruction many times slower) and on both sides of every data page.
 */
#include <immintrin.h>
#include <string.h>

#include "base/crc.h"

__attribute__((target("avx2")))
static uint32_t psum_avx2(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
	uint32_t la[8], lb[8], sa = 0, sb = 0, sj = 0;
	size_t i;

	if (len % 32)		/* a 16-byte tail: the portable loop */
		return kmig_psum_lanes4(buf, len);
	for (i = 0; i < len; i += 32) {
		a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)(p + i)));
		b = _mm256_add_epi32(b, a);
	}
	_mm256_storeu_si256((__m256i *)la, a);
	_mm256_storeu_si256((__m256i *)lb, b);
	for (int j = 0; j < 8; j++) {
		sa += la[j];
		sb += lb[j];
		sj += (uint32_t)j * la[j];
	}
	return sa + 2 * (8 * sb - sj);
}

static uint32_t psum_lanes4(const void *buf, size_t len)
{
	return kmig_psum_lanes4(buf, len);
}

kmig_psum_fn kmig_psum_by_name(const char *name)
{
	__builtin_cpu_init();
	if (!strcmp(name, "lanes4"))
		return psum_lanes4;
	if (!strcmp(name, "avx2"))
		return __builtin_cpu_supports("avx2") ? psum_avx2 : NULL;
	return NULL;
}

const char *kmig_psum_best_name(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") ? "avx2" : "lanes4";
}

/* Chosen on first use; every thread that races here stores the same. */
static kmig_psum_fn best;

uint32_t kmig_psum(const void *buf, size_t len)
{
	kmig_psum_fn f = __atomic_load_n(&best, __ATOMIC_RELAXED);

	if (!f) {
		f = kmig_psum_by_name(kmig_psum_best_name());
		__atomic_store_n(&best, f, __ATOMIC_RELAXED);
	}
	return f(buf, len);
}
