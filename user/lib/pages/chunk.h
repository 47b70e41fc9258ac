/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chunks: the unit of work of every page writer (the stream's channels,
 * the snapshot writer's threads). A range of a block with an optional page
 * bitmap is cut into work items of KMIG_CHUNK_PAGES pages, each owned by
 * one thread (kmig_chunk_channel()), so the successive versions of a page
 * are always written by the same thread, in the order they were queued.
 * A chunk carries the dirty tracker's classification when it has one
 * (kmig_work.hinted); pass.h turns a chunk into zero and data pages.
 */
#ifndef KMIG_CHUNK_H
#define KMIG_CHUNK_H

#include <stdint.h>

#include "base/ram.h"
#include "pages/queue.h"

/* Thread (stream channel) owning chunk @chunk of block @block, given the
 * chunk bases of the table (base[i] = chunks of blocks before i). */
static inline unsigned int kmig_chunk_channel(const uint64_t *chunk_base, uint32_t block,
					      uint64_t chunk, unsigned int nr_channels)
{
	return (chunk_base[block] + chunk) % nr_channels;
}

/* Called for each chunk with at least one page to write: @set pages. */
typedef int (*kmig_chunk_push_fn)(void *arg, unsigned int owner, const struct kmig_work *w,
				  uint64_t set);

/*
 * Pages [first, end) of @block (end <= the block's pages, checked by the
 * caller): @bitmap (NULL: all) bit i = page first + i to write, @zero
 * (NULL: none) of those known zero. @chunk_base: chunks of the blocks
 * before each block; @owners: threads. Stops at the first push error.
 */
int kmig_chunk_split(const uint64_t *chunk_base, unsigned int owners, uint32_t block,
		     uint64_t first, uint64_t end, const uint64_t *bitmap, const uint64_t *zero,
		     kmig_chunk_push_fn push, void *arg);

/* Fill chunk_base[0..nr] for @ram (chunk_base[i]: chunks before block i). */
void kmig_chunk_bases(const struct kmig_ram *ram, uint64_t *chunk_base);

#endif /* KMIG_CHUNK_H */
