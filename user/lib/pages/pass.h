/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one pass of a page writer over a chunk (the stream's channels, the
 * snapshot writer's threads): which pages are zero, which are data, and
 * for each data page its checksum (CRC32C or the page sum) and, if asked, its copy
 * into a staging buffer, all while the page is in the cache: a data page's
 * bytes are read from memory once in userspace.
 *
 * A hinted chunk (kmig_work.hinted: a dirty tracker classified it) is
 * taken as it is: zero-hinted pages become zero pages without being read,
 * every other page is data, with no zero check. An unhinted chunk is
 * classified here: holes first (classify.h: SEEK_DATA or pagemap, nothing
 * read), then each populated page's zero check, fused with its CRC and
 * copy.
 */
#ifndef KMIG_PASS_H
#define KMIG_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ram.h"
#include "pages/classify.h"
#include "pages/queue.h"
#include "pages/stats.h"

_Static_assert(KMIG_CHUNK_PAGES <= 256, "page offsets in a chunk are 8 bits");

/* What kmig_pass_chunk() does to each data page. */
#define KMIG_PASS_CRC	(1U << 0)	/* CRC32C into crc[] (snapshot files) */
#define KMIG_PASS_STAGE	(1U << 1)	/* copy into the staging buffer, list order
					 * (the CRC is then the copy's) */
#define KMIG_PASS_PSUM	(1U << 2)	/* the page sum (crc.h) into crc[] instead
					 * (the stream's page checksum) */

/* One chunk's pages, offsets from the chunk's first page, increasing. */
struct kmig_chunk_pages {
	unsigned int nr_zero, nr_data;
	uint8_t zero[KMIG_CHUNK_PAGES];
	uint8_t data[KMIG_CHUNK_PAGES];
	uint32_t crc[KMIG_CHUNK_PAGES];	/* of data[i]: KMIG_PASS_CRC or _PSUM */
};

struct kmig_pass {
	struct kmig_classifier cls;	/* holes of unhinted chunks */
	kmig_zero_fn zero;
	uint8_t *stage;			/* KMIG_CHUNK_PAGES pages, or NULL */
};

/* @stage: allocate the staging buffer (KMIG_PASS_STAGE may be used). Only
 * fails for lack of memory. */
int kmig_pass_init(struct kmig_pass *ps, bool stage);
void kmig_pass_fini(struct kmig_pass *ps);

/*
 * Chunk @w (kind PAGES) of @b into @out: zero pages, data pages, and as
 * @flags say their CRCs and (KMIG_PASS_STAGE) data page i copied to
 * ps->stage + i * page size.
 * Adds to @st: pages_none (zero, not read), pages_zero (read, zero),
 * bytes_read, bytes_copied, ns_classify. Returns 0 or -errno (a failed
 * SEEK_DATA or pagemap read).
 */
int kmig_pass_chunk(struct kmig_pass *ps, const struct kmig_ram_block *b,
		    const struct kmig_work *w, unsigned int flags, struct kmig_chunk_pages *out,
		    struct kmig_chan_stats *st);

/* How the writers find zero pages, for reports. */
const char *kmig_pass_path(void);

#endif /* KMIG_PASS_H */
