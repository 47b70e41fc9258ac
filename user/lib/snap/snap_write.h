/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshot writer: N threads write pages at their fixed offsets in a
 * snapshot file (snap_fmt.h), straight from guest memory with O_DIRECT.
 * It is a sink (sink.h), so the precopy loop drives it exactly as it
 * drives the stream: a page queued again (dirtied again) is written again
 * to the same place; a page that became zero loses its bitmap bit.
 *
 * Crash safety, in order:
 *   create:  O_TRUNC, the header with state WRITING, fdatasync: from here
 *            on the file never looks complete, whatever happens next;
 *   pages:   parallel pwrite() at fixed offsets (no ordering needed);
 *   finish:  the threads stop, then bitmaps, CRC arrays, device state and
 *            block table are written, fdatasync;
 *   commit:  (the sink's point of no return) the header with state
 *            COMPLETE and every checksum, fdatasync, and the directory is
 *            synced. A crash before the last header write leaves a WRITING
 *            header: restore refuses the file.
 * A save that fails, is cancelled or never commits (not killed) removes
 * its file at destroy.
 *
 * O_DIRECT: every offset and length is a multiple of 4096 and guest RAM is
 * page aligned, so page data goes from the mapping to the disk with no
 * copy; metadata goes through aligned buffers. A filesystem that refuses
 * O_DIRECT (EINVAL at open or at the first aligned write: tmpfs) gets
 * buffered I/O instead, and kmig_snap_writer_io() says so.
 */
#ifndef KMIG_SNAP_WRITE_H
#define KMIG_SNAP_WRITE_H

#include <stdbool.h>

#include "base/errbuf.h"
#include "base/ram.h"
#include "pages/sink.h"

struct kmig_snap_wopts {
	unsigned int nr_threads;	/* 1..KMIG_MAX_WORKERS; 0: 2 */
	bool no_data_crc;		/* leave out the per-page CRC32C arrays */
	bool live;			/* KMIG_SNAP_F_LIVE in the header */
	bool buffered;			/* don't even try O_DIRECT */
	unsigned int queue_depth;	/* chunks per thread queue; 0: 256 */
};

struct kmig_snap_writer;

void kmig_snap_wopts_init(struct kmig_snap_wopts *o);

/* Create (truncate) @path, write the WRITING header, start the threads.
 * @ram stays mapped and unchanged until destroy. */
int kmig_snap_writer_create(struct kmig_snap_writer **out, const char *path,
			    const struct kmig_snap_wopts *o, const struct kmig_ram *ram,
			    struct kmig_err *e);

/* "O_DIRECT" or "buffered: <why>". */
const char *kmig_snap_writer_io(const struct kmig_snap_writer *w);

/* The writer behind the sink ops: p is a struct kmig_snap_writer. */
extern const struct kmig_sink_ops kmig_snap_sink_ops;

#endif /* KMIG_SNAP_WRITE_H */
