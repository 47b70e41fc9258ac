/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live save, `kmig save` (Documentation/snapshot.rst): the precopy engine
 * (precopy.h: its states, recovery and report) with a snapshot file
 * (snap_write.h) as its sink, or, stopped, one pass of every page with the
 * guest paused. The file's commit is its COMPLETE header, the point of no
 * return: a save that fails or is cancelled before it leaves no file, and
 * the guest runs on.
 */
#ifndef KMIG_SAVE_H
#define KMIG_SAVE_H

#include "precopy/precopy.h"
#include "snap/snap_write.h"

struct kmig_save_opts {
	struct kmig_precopy_opts pc;	/* the source VMM, precopy, the module */
	const char *path;		/* the snapshot file (created or truncated) */
	struct kmig_snap_wopts w;	/* writer threads, O_DIRECT, CRCs */
};

/* Defaults: live, the guest resumed after, 2 writer threads. */
void kmig_save_opts_init(struct kmig_save_opts *o);
/* The engine with the file @o->path as its sink; run, cancel, statistics
 * and destroy are the engine's (precopy.h): 0 from run, the file is
 * complete. @o's strings must stay valid until destroy. */
int kmig_save_create(struct kmig_precopy **out, const struct kmig_save_opts *o);
/* "O_DIRECT" or "buffered: <why>" once the file was created; "" before.
 * @pc: a save's. */
const char *kmig_save_io(struct kmig_precopy *pc);

#endif /* KMIG_SAVE_H */
