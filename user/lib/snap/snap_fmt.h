/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshot file format, version 1 (Documentation/file-format.rst is the
 * specification; this header and snap_fmt.c are its code). All integers
 * little-endian; every offset a multiple of 4096 (O_DIRECT), block data at
 * multiples of the header's data_align.
 *
 *   0                 header (256 bytes used, the rest of 4 KiB zero)
 *   table_offset      block table: nr_blocks entries of 128 bytes
 *   per block         present-page bitmap, then (DATA_CRC) per-page CRC32C
 *   per block         page data: page i at data_offset + i * 4096; a page
 *                     not in the bitmap is a hole, never written, never read
 *   devstate_offset   device state blob
 *
 * The header is written twice: first with state WRITING (before any data),
 * last with state COMPLETE after everything else is on disk (fsync, header,
 * fsync). Only a COMPLETE header whose checksums all match restores.
 *
 * These functions are pure (buffers in, fields out) so that the fuzzer and
 * the unit tests reach every rule; snap_load.c reads a file with them.
 * Each returns 0 or -errno with the field, what was found and what was
 * expected in @e.
 */
#ifndef KMIG_SNAP_FMT_H
#define KMIG_SNAP_FMT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "base/ram.h"

#define KMIG_SNAP_MAGIC		"KMIGSNAP"
#define KMIG_SNAP_VERSION	1
#define KMIG_SNAP_HDR_SIZE	256U		/* bytes covered by header_crc */
#define KMIG_SNAP_ALIGN		4096U		/* every section and offset */
#define KMIG_SNAP_ENTRY_SIZE	128U
#define KMIG_SNAP_NAME_LEN	64U		/* name field, NUL padded */
#define KMIG_SNAP_DATA_ALIGN	(2U << 20)	/* what the writer uses */
#define KMIG_SNAP_ALIGN_MIN	4096U		/* data_align accepted */
#define KMIG_SNAP_ALIGN_MAX	(1U << 30)
#define KMIG_SNAP_DEVSTATE_MAX	(64U << 20)
#define KMIG_SNAP_BLOCK_MAX	(1ULL << 46)	/* 64 TiB per block */

/* header.state */
#define KMIG_SNAP_STATE_WRITING		0x54495257U	/* "WRIT" */
#define KMIG_SNAP_STATE_COMPLETE	0x504d4f43U	/* "COMP" */

/* header.flags */
#define KMIG_SNAP_F_DATA_CRC	(1U << 0)	/* per-page checksum arrays (CRC32C) */
#define KMIG_SNAP_F_LIVE	(1U << 1)	/* saved while the guest ran (precopy) */
/*
 * With DATA_CRC: the arrays hold page sums (base/crc.h, kmig_psum()), as
 * the stream's wire format 3 does, not CRC32C. A CRC costs 37 us a page
 * where the CPU is emulated (the lab), the sum about a tenth; both catch
 * every corrupted byte. Files without it (older writers) keep CRC32C.
 */
#define KMIG_SNAP_F_DATA_PSUM	(1U << 2)
#define KMIG_SNAP_F_ALL		(KMIG_SNAP_F_DATA_CRC | KMIG_SNAP_F_LIVE | KMIG_SNAP_F_DATA_PSUM)

struct kmig_snap_hdr {
	uint32_t version;
	uint32_t state;
	uint32_t flags;
	uint32_t page_size;
	uint32_t nr_blocks;
	uint32_t data_align;
	uint64_t table_offset, table_size;
	uint32_t table_crc;
	uint32_t devstate_crc;
	uint64_t devstate_offset, devstate_len;
	uint64_t file_size;		/* end of the last section */
	uint64_t ram_bytes;		/* sum of the block sizes */
	uint64_t present_pages;		/* sum of the bitmaps */
	uint64_t created_ns;		/* CLOCK_REALTIME of the commit */
};

struct kmig_snap_block {
	char name[KMIG_BLOCK_NAME_MAX + 1];
	uint64_t size, npages;
	uint64_t data_offset;
	uint64_t bitmap_offset;		/* bitmap_len bytes */
	uint64_t crc_offset;		/* npages * 4 bytes; 0 without DATA_CRC */
	uint64_t present_pages;
	uint32_t bitmap_crc, crcs_crc;
};

/* Bytes of a block's bitmap (whole 64-bit words) and CRC array. */
static inline uint64_t kmig_snap_bitmap_len(uint64_t npages)
{
	return (npages + 63) / 64 * 8;
}

static inline uint64_t kmig_snap_crcs_len(uint64_t npages)
{
	return npages * 4;
}

static inline uint64_t kmig_snap_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Header: encode sets header_crc; decode checks everything that can be
 * checked without the rest of the file. A WRITING header decodes (the
 * caller says it did not complete); -EBADMSG for bad magic/checksum/field,
 * -EPROTONOSUPPORT for another version. */
void kmig_snap_hdr_encode(uint8_t buf[KMIG_SNAP_HDR_SIZE], const struct kmig_snap_hdr *h);
int kmig_snap_hdr_decode(const uint8_t *buf, struct kmig_snap_hdr *h, struct kmig_err *e);

/* Block table: @buf of h->table_size bytes, @b of h->nr_blocks entries.
 * Decode checks the table checksum, names (valid, unique), sizes,
 * alignment and that every block's sections lie inside the file and
 * overlap nothing else (kmig_snap_layout_check). */
void kmig_snap_table_encode(uint8_t *buf, const struct kmig_snap_block *b, uint32_t nr);
int kmig_snap_table_decode(const uint8_t *buf, const struct kmig_snap_hdr *h,
			   struct kmig_snap_block *b, struct kmig_err *e);

/* Every section (header, table, bitmaps, CRC arrays, block data, device
 * state) inside [0, h->file_size), aligned, and disjoint. */
int kmig_snap_layout_check(const struct kmig_snap_hdr *h, const struct kmig_snap_block *b,
			   struct kmig_err *e);

/* A block's bitmap (kmig_snap_bitmap_len bytes as read from the file):
 * checksum, no bit past npages, popcount == present_pages. Converts it
 * in place to host order. */
int kmig_snap_bitmap_check(const struct kmig_snap_block *b, uint64_t *bitmap,
			   struct kmig_err *e);
/* A block's CRC array: its checksum (the array stays little-endian). */
int kmig_snap_crcs_check(const struct kmig_snap_block *b, const uint8_t *crcs,
			 struct kmig_err *e);

/*
 * The same checks on a bitmap or CRC array read in pieces (a loader that
 * does not keep them holds one piece at a time): start from a zeroed
 * kmig_snap_bmsum, pass every piece of whole words in order to
 * kmig_snap_bitmap_sum() (converted to host order in place), then
 * kmig_snap_bitmap_end(). For a CRC array, chain kmig_crc32c() over the
 * pieces and give the final CRC to kmig_snap_crcs_end().
 */
struct kmig_snap_bmsum {
	uint32_t crc;		/* running CRC32C of the little-endian bytes */
	uint64_t words, set;	/* words seen, bits set */
	uint64_t last;		/* the last word seen, host order */
};

void kmig_snap_bitmap_sum(struct kmig_snap_bmsum *m, uint64_t *bm, uint64_t words);
int kmig_snap_bitmap_end(const struct kmig_snap_block *b, const struct kmig_snap_bmsum *m,
			 struct kmig_err *e);
int kmig_snap_crcs_end(const struct kmig_snap_block *b, uint32_t crc, struct kmig_err *e);

/* Byte @i of a bitmap written to the file: host words to little-endian
 * (a no-op on x86; kept so the format does not depend on the host). */
void kmig_snap_bitmap_to_le(uint64_t *bm, uint64_t words);

/*
 * The writer's layout for @ram: table after the header, each block's
 * bitmap and CRC array (if @data_crc), then the block data at
 * KMIG_SNAP_DATA_ALIGN multiples. Fills @h (state WRITING, devstate and
 * totals left for the commit) and @b. -EINVAL for an empty or oversized
 * table.
 */
int kmig_snap_layout(const struct kmig_ram *ram, bool data_crc, struct kmig_snap_hdr *h,
		     struct kmig_snap_block *b);

/* "WRITING", "COMPLETE" or "0x%08x" (in @buf of 16 bytes). */
const char *kmig_snap_state_name(uint32_t state, char buf[16]);

#endif /* KMIG_SNAP_FMT_H */
