/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC32C (Castagnoli), the checksum of every hello and packet, from isa-l.
 * kmig_crc32c(KMIG_CRC_INIT, ...) chained over the parts, then
 * kmig_crc32c_final(), gives the standard CRC32C (0xe3069283 for
 * "123456789").
 */
#ifndef KMIG_CRC_H
#define KMIG_CRC_H

#include <isa-l/crc.h>
#include <stddef.h>
#include <stdint.h>

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

#endif /* KMIG_CRC_H */
