// SPDX-License-Identifier: GPL-2.0
/* The stream sender behind the sink ops (sink.h). */
#include <errno.h>

#include "stream/send.h"
#include "pages/sink.h"

static int queue(void *p, uint32_t block, uint64_t first, uint64_t n, const uint64_t *bitmap,
		 const uint64_t *zero)
{
	return kmig_send_queue_zero(p, block, first, n, bitmap, zero);
}

static int flush(void *p)
{
	return kmig_send_flush(p);
}

static int finish(void *p, const void *devstate, size_t len)
{
	return kmig_send_finish(p, devstate, len);
}

static int prepare(void *p, int timeout_ms)
{
	return kmig_send_await_prepared(p, timeout_ms);
}

/* COMMIT, then RESUMED: only the destination's own failure report
 * (-EREMOTEIO) says for sure that its guest does not run. */
static int commit(void *p, int timeout_ms, struct kmig_sink_commit *out)
{
	struct kmig_resumed rep;
	int ret = kmig_send_commit(p);

	if (!ret)
		ret = kmig_send_await_resumed(p, &rep, timeout_ms);
	out->in_doubt = ret && ret != -EREMOTEIO;
	if (!ret) {
		out->dst_devstate_ns = rep.devstate_ns;
		out->dst_commit_ns = rep.commit_ns;
		out->dst_total_ns = rep.total_ns;
	}
	return ret;
}

static int abort_switchover(void *p, int timeout_ms)
{
	return kmig_send_abort(p, timeout_ms);
}

static void cancel(void *p, int err)
{
	kmig_send_cancel(p, err);
}

static void stats(void *p, struct kmig_stats *st)
{
	kmig_send_stats(p, st);
}

static const char *error(const void *p)
{
	return kmig_send_error(p);
}

static const char *classify_path(const void *p)
{
	return kmig_send_classify_path(p);
}

static void destroy(void *p)
{
	kmig_send_destroy(p);
}

const struct kmig_sink_ops kmig_sink_send_ops = {
	.name = "stream", .queue = queue, .flush = flush, .finish = finish,
	.prepare = prepare, .commit = commit, .abort = abort_switchover, .cancel = cancel,
	.stats = stats, .error = error,
	.classify_path = classify_path, .destroy = destroy,
};
