/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small snapshot files in memory for the fuzzer and its seed corpus:
 * snap_small_build() lays out a valid file (data_align 4 KiB, so that it
 * fits the fuzzer's 64 KiB inputs), snap_small_fixup() recomputes every
 * checksum of a (mutated) file wherever its fields point inside the
 * buffer, so that mutations reach the rules behind the checksums.
 */
#ifndef KMIG_FUZZ_SNAP_SMALL_H
#define KMIG_FUZZ_SNAP_SMALL_H

#include <stdio.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "snap/snap_fmt.h"

/* @len bytes at @off inside @n? */
static inline int snap_small_in(size_t n, uint64_t off, uint64_t len)
{
	return off <= n && len <= n - off;
}

static inline void snap_small_fixup(uint8_t *f, size_t n)
{
	uint64_t toff, tsize, doff, dlen;
	uint32_t nr, flags;

	if (n < KMIG_SNAP_HDR_SIZE)
		return;
	flags = kmig_get_le32(f + 20);
	nr = kmig_get_le32(f + 28);
	toff = kmig_get_le64(f + 40);
	tsize = kmig_get_le64(f + 48);
	doff = kmig_get_le64(f + 64);
	dlen = kmig_get_le64(f + 72);
	for (uint32_t i = 0; i < nr && snap_small_in(n, toff, (uint64_t)(i + 1) * 128); i++) {
		uint8_t *e = f + toff + (uint64_t)i * 128;
		uint64_t pages = kmig_get_le64(e + 64) / KMIG_PAGE_SIZE;
		uint64_t boff = kmig_get_le64(e + 80), coff = kmig_get_le64(e + 96);

		if (pages < (1ULL << 30) && snap_small_in(n, boff, (pages + 63) / 64 * 8))
			kmig_put_le32(e + 104, kmig_crc32c_buf(f + boff, (pages + 63) / 64 * 8));
		if ((flags & KMIG_SNAP_F_DATA_CRC) && pages < (1ULL << 30) &&
		    snap_small_in(n, coff, pages * 4))
			kmig_put_le32(e + 108, kmig_crc32c_buf(f + coff, pages * 4));
	}
	if (snap_small_in(n, toff, tsize))
		kmig_put_le32(f + 56, kmig_crc32c_buf(f + toff, tsize));
	if (snap_small_in(n, doff, dlen))
		kmig_put_le32(f + 36, kmig_crc32c_buf(f + doff, dlen));
	kmig_put_le32(f + 252, kmig_crc32c_buf(f, 252));
}

/*
 * A valid file of @nr (1..2) blocks of 4 and 3 pages, pages present where
 * (i % 3), in @f (at least 64 KiB); returns its length (at most 56 KiB).
 */
static inline size_t snap_small_build(uint8_t *f, unsigned int nr, int data_crc)
{
	static const uint64_t pages[2] = { 4, 3 };
	struct kmig_snap_block b[2];
	struct kmig_snap_hdr h = {
		.version = KMIG_SNAP_VERSION, .state = KMIG_SNAP_STATE_COMPLETE,
		.flags = data_crc ? KMIG_SNAP_F_DATA_CRC : 0, .page_size = KMIG_PAGE_SIZE,
		.nr_blocks = nr, .data_align = 4096, .table_offset = 4096,
		.table_size = nr * KMIG_SNAP_ENTRY_SIZE,
	};
	uint64_t off = 8192;

	memset(f, 0, 65536);
	memset(b, 0, sizeof(b));
	for (unsigned int i = 0; i < nr; i++) {
		snprintf(b[i].name, sizeof(b[i].name), "slot%u", i);
		b[i].size = pages[i] * KMIG_PAGE_SIZE;
		b[i].npages = pages[i];
		b[i].bitmap_offset = off;
		off += 4096;
		if (data_crc) {
			b[i].crc_offset = off;
			off += 4096;
		}
	}
	for (unsigned int i = 0; i < nr; i++) {
		b[i].data_offset = off;
		for (uint64_t p = 0; p < pages[i]; p++) {
			uint8_t *d = f + off + p * KMIG_PAGE_SIZE;

			if (!(p % 3))
				continue;
			memset(d, 'a' + p, KMIG_PAGE_SIZE);
			kmig_set_bit((uint64_t *)(f + b[i].bitmap_offset), p);
			b[i].present_pages++;
			if (data_crc)
				kmig_put_le32(f + b[i].crc_offset + 4 * p,
					      kmig_crc32c_buf(d, KMIG_PAGE_SIZE));
		}
		h.present_pages += b[i].present_pages;
		h.ram_bytes += b[i].size;
		off += b[i].size;
	}
	h.devstate_offset = off;
	h.devstate_len = 100;
	memset(f + off, 'D', 100);
	h.file_size = off + 4096;
	kmig_snap_table_encode(f + h.table_offset, b, nr);
	kmig_snap_hdr_encode(f, &h);
	snap_small_fixup(f, h.file_size);
	return h.file_size;
}

#endif /* KMIG_FUZZ_SNAP_SMALL_H */
