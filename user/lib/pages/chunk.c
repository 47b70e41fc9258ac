// SPDX-License-Identifier: GPL-2.0
/* Chunks of work for the page writers: split and classify (chunk.h). */
#include <string.h>

#include "base/bits.h"
#include "pages/chunk.h"

/* Bits of a chunk's mask for pages [lo, hi) from the caller's bitmap (bit
 * 0 = page @first; NULL: all, unless @none); returns the number set. */
static uint64_t chunk_bits(uint64_t *mask, uint64_t base, uint64_t first, const uint64_t *bitmap,
			   bool none, uint64_t lo, uint64_t hi)
{
	uint64_t set = 0;

	memset(mask, 0, KMIG_CHUNK_PAGES / 8);
	if (!bitmap && none)
		return 0;
	for (uint64_t p = lo; p < hi;) {
		uint64_t k = p - base, take = KMIG_MIN(hi - p, 64 - k % 64);
		uint64_t bits = bitmap ? kmig_bitmap_get(bitmap, p - first, take) :
			       (take < 64 ? (1ULL << take) - 1 : ~0ULL);

		mask[k / 64] |= bits << (k % 64);
		set += __builtin_popcountll(bits);
		p += take;
	}
	return set;
}

int kmig_chunk_split(const uint64_t *chunk_base, unsigned int owners, uint32_t block,
		     uint64_t first, uint64_t end, const uint64_t *bitmap, const uint64_t *zero,
		     kmig_chunk_push_fn push, void *arg)
{
	uint64_t chunk;

	for (uint64_t p = first; p < end; p = (chunk + 1) * KMIG_CHUNK_PAGES) {
		struct kmig_work w = { .kind = KMIG_WORK_PAGES, .block = block };
		uint64_t set, hi;
		int ret;

		chunk = p / KMIG_CHUNK_PAGES;
		w.arg = chunk * KMIG_CHUNK_PAGES;
		hi = KMIG_MIN(end, w.arg + KMIG_CHUNK_PAGES);
		set = chunk_bits(w.mask, w.arg, first, bitmap, false, p, hi);
		if (!set)
			continue;
		chunk_bits(w.zmask, w.arg, first, zero, true, p, hi);
		w.hinted = zero != NULL;
		ret = push(arg, kmig_chunk_channel(chunk_base, block, chunk, owners), &w, set);
		if (ret)
			return ret;
	}
	return 0;
}

void kmig_chunk_bases(const struct kmig_ram *ram, uint64_t *chunk_base)
{
	chunk_base[0] = 0;
	for (unsigned int i = 0; i < ram->nr; i++)
		chunk_base[i + 1] = chunk_base[i] +
			KMIG_DIV_ROUND_UP(ram->blocks[i].npages, KMIG_CHUNK_PAGES);
}
