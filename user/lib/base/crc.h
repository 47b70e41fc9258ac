/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checksums.
 *
 * CRC32C (Castagnoli, from isa-l): of every hello, packet header and body,
 * and of the snapshot file's parts. kmig_crc32c(KMIG_CRC_INIT, ...)
 * chained over the parts, then kmig_crc32c_final(), gives the standard
 * CRC32C (0xe3069283 for "123456789").
 *
 * The page sum (kmig_psum()): of each data page of the stream, on both
 * sides, so the most frequent checksum of a migration. A weighted sum of
 * the page's little-endian 32-bit words w[0..n-1], mod 2^32:
 *
 *   psum = sum over i of (2 * (n - i) + 1) * w[i]
 *
 * Every weight is odd, so invertible mod 2^32: any change confined to one
 * aligned 32-bit word (a corrupted byte, any error burst inside a word)
 * always changes the sum; the weights differ by position, so moved or
 * swapped words change it too; other corruption goes unseen with a chance
 * of about 2^-32, as with a CRC-32. It replaced a per-page CRC32C (wire
 * format 2) because of what a CRC costs where the CPU is emulated (the
 * lab's TCG, where the bench against QEMU runs): with isa-l's CRC32C or
 * CRC-32, or zlib's crc32(), the live migration of a dense 128 MiB guest
 * took 4-12 s there, 0.9-1.3 s without a page checksum, 1.2-1.3 s with
 * this sum (Documentation/wire-format.rst); natively all take 0.2-0.5 us
 * per page.
 * Plain integer adds, computed inline (two running sums per lane, four
 * lanes for instruction-level parallelism).
 */
#ifndef KMIG_CRC_H
#define KMIG_CRC_H

#include <isa-l/crc.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KMIG_CRC_INIT 0xffffffffU

static inline uint32_t kmig_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* isa-l takes an int length: feed huge buffers in pieces. */
	const unsigned char *p = buf;

	while (len) {
		size_t n = len > (1U << 30) ? (1U << 30) : len;

		crc = crc32_iscsi((unsigned char *)p, (int)n, crc);
		p += n;
		len -= n;
	}
	return crc;
}

static inline uint32_t kmig_crc32c_final(uint32_t crc)
{
	return ~crc;
}

static inline uint32_t kmig_crc32c_buf(const void *buf, size_t len)
{
	return kmig_crc32c_final(kmig_crc32c(KMIG_CRC_INIT, buf, len));
}

/* Running sums per lane j (words 4m + j, m = 0..M-1): A[j] = sum of w,
 * B[j] = sum of (M - m) * w; with n = 4M, n - i = 4(M - m) - j gives
 * sum of (n - i) * w = 4 * sum B[j] - sum j * A[j]. */
struct kmig_psum_lanes {
	uint32_t a[4], b[4];
};

static inline void kmig_psum_add16(struct kmig_psum_lanes *l, const unsigned char *p)
{
	for (int j = 0; j < 4; j++) {
		uint32_t w;

		memcpy(&w, p + 4 * j, 4);	/* x86: little-endian, one load */
		l->a[j] += w;
		l->b[j] += l->a[j];
	}
}

static inline uint32_t kmig_psum_end(const struct kmig_psum_lanes *l)
{
	uint32_t sa = l->a[0] + l->a[1] + l->a[2] + l->a[3];
	uint32_t sb = 4 * (l->b[0] + l->b[1] + l->b[2] + l->b[3]) -
		      (l->a[1] + 2 * l->a[2] + 3 * l->a[3]);

	return sa + 2 * sb;
}

/*
 * The page sum of @len bytes at @buf; @len a multiple of 16. The variant
 * this CPU runs best (psum.c: AVX2, 8 lanes of 32 bytes, where the CPU has
 * it; else kmig_psum_lanes4()); every variant gives the same sum.
 */
uint32_t kmig_psum(const void *buf, size_t len);
typedef uint32_t (*kmig_psum_fn)(const void *buf, size_t len);
/* A variant by name ("lanes4", "avx2"); NULL if unknown or the CPU lacks
 * it. For tests and benchmarks. */
kmig_psum_fn kmig_psum_by_name(const char *name);
const char *kmig_psum_best_name(void);

/* The portable variant: four 32-bit lanes of plain integer adds. */
static inline uint32_t kmig_psum_lanes4(const void *buf, size_t len)
{
	struct kmig_psum_lanes l = { { 0 }, { 0 } };

	for (size_t i = 0; i + 16 <= len; i += 16)
		kmig_psum_add16(&l, (const unsigned char *)buf + i);
	return kmig_psum_end(&l);
}

/* Copy @len bytes (a multiple of 16) from @src to @dst and return the page
 * sum of the copy, in one pass over @src: each 16 bytes are loaded, stored
 * and added while in the cache (a page the guest rewrites meanwhile may
 * mismatch its sum; it lands unverified, and it is dirty and comes again). Where the CPU is emulated this costs
 * less than glibc's memcpy() alone, whose vector loops TCG runs slowly
 * (28 us per page in the lab). */
static inline uint32_t kmig_psum_copy(void *dst, const void *src, size_t len)
{
	struct kmig_psum_lanes l = { { 0 }, { 0 } };
	unsigned char v[16];

	for (size_t i = 0; i + 16 <= len; i += 16) {
		memcpy(v, (const unsigned char *)src + i, 16);
		memcpy((unsigned char *)dst + i, v, 16);
		kmig_psum_add16(&l, v);
	}
	return kmig_psum_end(&l);
}

#endif /* KMIG_CRC_H */
