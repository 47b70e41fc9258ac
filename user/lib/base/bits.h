/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the library: little-endian field access for the
 * wire format, page bitmaps, overflow-checked arithmetic, monotonic time.
 * Header-only and stateless.
 */
#ifndef KMIG_BITS_H
#define KMIG_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define KMIG_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KMIG_DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define KMIG_BITMAP_WORDS(bits)	KMIG_DIV_ROUND_UP((uint64_t)(bits), 64)
#define KMIG_MIN(a, b)		((a) < (b) ? (a) : (b))
#define KMIG_MAX(a, b)		((a) > (b) ? (a) : (b))

/* Relaxed counters: written by one thread, read by others for progress. */
#define KMIG_STAT_ADD(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)
#define KMIG_STAT_GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

static inline void kmig_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void kmig_put_le32(uint8_t *p, uint32_t v)
{
	kmig_put_le16(p, v);
	kmig_put_le16(p + 2, v >> 16);
}

static inline void kmig_put_le64(uint8_t *p, uint64_t v)
{
	kmig_put_le32(p, v);
	kmig_put_le32(p + 4, v >> 32);
}

static inline uint16_t kmig_get_le16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static inline uint32_t kmig_get_le32(const uint8_t *p)
{
	return kmig_get_le16(p) | (uint32_t)kmig_get_le16(p + 2) << 16;
}

static inline uint64_t kmig_get_le64(const uint8_t *p)
{
	return kmig_get_le32(p) | (uint64_t)kmig_get_le32(p + 4) << 32;
}

static inline bool kmig_test_bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static inline void kmig_set_bit(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ULL << (i % 64);
}

static inline void kmig_clear_bit(uint64_t *bm, uint64_t i)
{
	bm[i / 64] &= ~(1ULL << (i % 64));
}

/* @nbits (1..64) bits of @bm starting at bit @pos, in the low bits. Reads
 * only the words that hold them. */
static inline uint64_t kmig_bitmap_get(const uint64_t *bm, uint64_t pos, unsigned int nbits)
{
	unsigned int sh = pos % 64;
	uint64_t w = bm[pos / 64] >> sh;

	if (sh && sh + nbits > 64)
		w |= bm[pos / 64 + 1] << (64 - sh);
	return nbits < 64 ? w & ((1ULL << nbits) - 1) : w;
}

/* a + b and a * b, false on overflow (the result is then unspecified). */
static inline bool kmig_add_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

static inline bool kmig_mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

static inline uint64_t kmig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Give @impl the versioned name @name_at_ver in libkmig.so (libkmig.map):
 * "name@@VER" is the default that new builds link to, "name@VER" an older
 * one kept for binaries linked before. An asm directive rather than the
 * symver attribute, which GCC 12 has and Debian 12's clang 14 (the fuzz
 * build) has not.
 */
#define KMIG_SYMVER(impl, name_at_ver) __asm__(".symver " #impl ", " name_at_ver)

#endif /* KMIG_BITS_H */
