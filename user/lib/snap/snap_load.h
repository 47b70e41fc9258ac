/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshot loader: open a snapshot file and validate all of its metadata
 * (header, block table, layout, bitmaps, CRC arrays, device state) before
 * anything uses it; then the parallel page reader (kmig_snap_read()).
 *
 * A file whose header is not COMPLETE is refused (the save never
 * committed). Every error names the file, the field, what was found and
 * what was expected.
 */
#ifndef KMIG_SNAP_LOAD_H
#define KMIG_SNAP_LOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "base/ram.h"
#include "snap/snap_fmt.h"
#include "snap/snap_io.h"
#include "pages/stats.h"

struct kmig_snap_opts {
	bool buffered;			/* no O_DIRECT */
	/* Refuse a file that claims more RAM than this (0: no limit). */
	uint64_t max_ram;
	/* The destination's blocks (NULL: none): matched, as by
	 * kmig_snap_match(), right after the block table, before anything
	 * sized by the file's claims is read or allocated. */
	const struct kmig_ram *layout;
	/* Keep the bitmaps, CRC arrays and device state (kmig_snap_read()
	 * and restore need them). Without, they are checked in pieces of
	 * 1 MiB, so memory does not grow with the file's claims. */
	bool keep;
};

struct kmig_snap {
	char path[PATH_MAX];
	struct kmig_snap_opts o;
	struct kmig_snap_file f;
	uint64_t st_size;			/* the file's size on disk */
	struct kmig_snap_hdr h;
	struct kmig_snap_block blocks[KMIG_MAX_BLOCKS];
	/* o.keep only: */
	uint64_t *bitmaps[KMIG_MAX_BLOCKS];	/* host order */
	uint8_t *crcs[KMIG_MAX_BLOCKS];		/* little-endian u32 per page */
	uint8_t *devstate;			/* devstate_len bytes */
};

/* Open @path (O_DIRECT unless o->buffered or refused; never blocks on a
 * FIFO: only a regular file opens) and validate it. -EFBIG: over
 * o->max_ram; -EINVAL: not o->layout, or not a regular file. */
int kmig_snap_open(struct kmig_snap **out, const char *path, const struct kmig_snap_opts *o,
		   struct kmig_err *e);
/* The same over an open fd (taken over; the fuzzer passes a memfd). */
int kmig_snap_open_fd(struct kmig_snap **out, int fd, const char *name,
		      const struct kmig_snap_opts *o, struct kmig_err *e);
void kmig_snap_close(struct kmig_snap *s);

/* The file's blocks are @ram's blocks: same count, names and sizes, in
 * order (the destination VM was started with the saved VM's layout). */
int kmig_snap_match(const struct kmig_snap *s, const struct kmig_ram *ram, struct kmig_err *e);

/*
 * (Opened with o.keep.) Read every present page with @nr_threads threads (1..KMIG_MAX_WORKERS),
 * into the blocks of @ram (matched; absent pages are never touched, so
 * fresh memory stays unallocated), or with @ram NULL into scratch buffers
 * (verification only). Pages are checked against their CRC32C (DATA_CRC).
 * @st (may be NULL) gets role "restore": bytes and pages read, absent
 * pages as pages_none, time in reads (ns_io) and checksums (ns_codec).
 * @cancel (may be NULL) is polled; non-zero stops the readers.
 * @done (may be NULL): pages covered so far and, of those, present pages
 * read, added atomically as each range is done (a progress line's).
 */
struct kmig_snap_done {
	uint64_t pages, present;
};

int kmig_snap_read(const struct kmig_snap *s, const struct kmig_ram *ram,
		   unsigned int nr_threads, const int *cancel, struct kmig_snap_done *done,
		   struct kmig_stats *st, struct kmig_err *e);

#endif /* KMIG_SNAP_LOAD_H */
