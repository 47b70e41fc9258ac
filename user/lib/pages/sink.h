/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the precopy engine's pages go: the multifd stream to a destination
 * (send.h) or a snapshot file (snap_write.h). One ops table, so that live
 * migration and live save share one precopy engine (precopy/precopy.h),
 * which never names either.
 *
 * The life of a sink, as the engine drives it:
 *
 *   { queue ... flush }* -> queue (final pass) -> finish -> prepare
 *   -> [point of no return] -> commit
 *
 * (The front end that makes the sink also connects it, if it must: the
 * engine only sees a sink ready for pages, precopy.h.)
 * queue:   pages [first, first + n) of @block; @bitmap (NULL: all) bit i
 *          = page first + i. @zero (NULL: none) says the dirty tracker
 *          classified every page of @bitmap: its set bits are zero pages
 *          (sent as markers, never read), every other page of @bitmap is
 *          data (sent without a zero check). @zero NULL: the sink's threads
 *          classify. A page queued twice is written twice, the later
 *          content wins.
 * flush:   a barrier: everything queued before is written (applied by the
 *          receiver, or in the file).
 * finish:  flush, then the device state; for a stream END and its
 *          acknowledgements, for a file every page and all metadata on
 *          disk, but the file not yet marked complete.
 * prepare: optional; wait (at most @timeout_ms) until the other side is
 *          ready to commit (the destination staged the device state).
 * commit:  the point of no return: the copy becomes the real one (the
 *          stream's COMMIT until the destination's RESUMED; the file's
 *          COMPLETE header). 0: committed. -errno: not committed, unless
 *          the sink set @out->in_doubt (no answer: the other side may or
 *          may not run the guest, so the source must not resume it).
 * abort:   optional, after finish (and maybe prepare) instead of commit
 *          (a strict downtime limit): the other side drops what it staged,
 *          never runs it; 0: the sink takes pages again (queue, flush,
 *          finish: precopy goes on), -errno: the sink failed.
 * cancel:  from any thread: fail the sink with @err, wake every call that
 *          waits; a file that never committed is removed at destroy.
 * stats, error, classify_path: from any thread.
 */
#ifndef KMIG_SINK_H
#define KMIG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pages/stats.h"

/* What a commit reports. */
struct kmig_sink_commit {
	bool in_doubt;			/* failed with the outcome unknown */
	/* the destination's own measures (RESUMED), 0 for a file */
	uint64_t dst_devstate_ns, dst_commit_ns, dst_total_ns;
};

struct kmig_sink_ops {
	const char *name;
	int (*queue)(void *p, uint32_t block, uint64_t first, uint64_t n,
		     const uint64_t *bitmap, const uint64_t *zero);
	int (*flush)(void *p);
	int (*finish)(void *p, const void *devstate, size_t len);
	int (*prepare)(void *p, int timeout_ms);
	int (*commit)(void *p, int timeout_ms, struct kmig_sink_commit *out);
	/* Optional, instead of commit after finish: the other side drops what
	 * it staged; then the sink takes pages again (@timeout_ms bounds the
	 * other side's answers). */
	int (*abort)(void *p, int timeout_ms);
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

/* The stream sender (struct kmig_send, made with opts.switchover for
 * prepare and commit) as a sink. */
extern const struct kmig_sink_ops kmig_sink_send_ops;

#endif /* KMIG_SINK_H */
