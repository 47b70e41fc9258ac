/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the precopy loop's pages go: the multifd stream to a destination
 * (send.h) or a snapshot file (snap_write.h). One ops table, so that live
 * migration and live save share one precopy loop (precopy.c).
 *
 * The calls mean what the stream's calls mean (send.h): queue pages (a
 * page queued twice is written twice, the later content wins), flush (a
 * barrier: everything queued before is written), finish with the device
 * state (for a file: also the commit that makes it complete), cancel from
 * any thread, statistics as struct kmig_stats.
 */
#ifndef KMIG_SINK_H
#define KMIG_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "pages/stats.h"

struct kmig_sink_ops {
	const char *name;
	int (*queue)(void *p, uint32_t block, uint64_t first, uint64_t n,
		     const uint64_t *bitmap, const uint64_t *zero);
	int (*flush)(void *p);
	int (*finish)(void *p, const void *devstate, size_t len);
	void (*cancel)(void *p, int err);
	void (*stats)(void *p, struct kmig_stats *st);
	const char *(*error)(const void *p);
	const char *(*classify_path)(const void *p);
	void (*destroy)(void *p);
};

struct kmig_sink {
	const struct kmig_sink_ops *ops;
	void *p;
};

/* The stream sender (struct kmig_send) as a sink. */
extern const struct kmig_sink_ops kmig_sink_send_ops;

#endif /* KMIG_SINK_H */
