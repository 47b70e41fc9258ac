// SPDX-License-Identifier: GPL-2.0
/*
 * The strict downtime limit (kmig_precopy_opts.downtime_strict): once the
 * source is paused, the switchover goes on only while what is left of it,
 * as estimated (converge.h), still fits the limit. Checked at each step:
 *
 *  - after the final harvest and after GET_DEVICE_STATE (nothing has been
 *    said to the destination yet): the source guest resumes, the pages
 *    queued go on as precopy pages (their dirty bits were never cleared),
 *    and precopy goes on: a retry (-EAGAIN), up to strict_retries;
 *  - after END, when PREPARED does not come in time, and after PREPARED:
 *    the source resumes first, then ABORT goes to the destination instead
 *    of COMMIT (it drops what it staged, never runs the guest, and takes
 *    pages again); the stream goes on and so does precopy: a retry too.
 *    The source's dirty bits of the final pass were never cleared and its
 *    logging is still on (the lazy stop runs only after the job), so every
 *    page written since the final harvest, and every page of that pass,
 *    goes again; the destination's copy of the rest stays valid;
 *  - the guard: a thread, armed when the switchover starts to wait on the
 *    sink (the last pages' barrier, END's acknowledgements, PREPARED),
 *    that fires just before the deadline (PAUSE + limit, less two VMM round
 *    trips, at least 1 ms) if COMMIT has not been claimed by then: it
 *    resumes the source itself (the job thread does not use the source
 *    VMM's client while the guard is armed); the job thread, once its wait
 *    on the sink returns (each is bounded), sends ABORT instead of COMMIT.
 *
 * After strict_retries aborted switchovers the migration fails cleanly,
 * the source running. So the pause of the source never exceeds the limit
 * plus the margin (KMIG_STRICT_MARGIN_NS: the guard's wake-up and one
 * RESUME request), except while the source VMM itself is slow to answer
 * PAUSE, GET_DIRTY_LOG or GET_DEVICE_STATE: those steps are checked as
 * soon as they return (the guest resumes then, without a word to the
 * destination), but not cut short. COMMIT goes out only if the expected
 * commit (COMMIT until RESUMED) still fits; once it is out nothing can be
 * undone: the destination's commit is in the estimate, and its overrun,
 * if any, is reported.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/bits.h"
#include "precopy/precopy_int.h"

/* The guard fires this much before the deadline, so that its RESUME (two
 * VMM round trips as measured, at least 1 ms) ends by then. */
static uint64_t lead_ns(const struct kmig_precopy *pc)
{
	return KMIG_MAX(2 * pc->conv.fixed.vmm_rtt_ns, 1000000ULL);
}

static void *guard_main(void *arg)
{
	struct kmig_precopy *pc = arg;
	struct kmig_strict *g = &pc->strict;
	uint64_t at = g->deadline - KMIG_MIN(lead_ns(pc), pc->conv.downtime_limit_ns / 2);
	struct timespec ts = { .tv_sec = at / 1000000000ULL, .tv_nsec = at % 1000000000ULL };
	int ret = 0;

	pthread_mutex_lock(&g->lock);
	while (!g->stop && !g->committing && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	g->fired = !g->stop && !g->committing;
	pthread_mutex_unlock(&g->lock);
	if (!g->fired)
		return NULL;
	kmig_strict_count(pc, "the guard: no COMMIT by the deadline");
	/* While armed the job thread only waits on the sink (or sits in a
	 * test hook): the source VMM's client is the guard's until disarm
	 * joins it. COMMIT can no longer go out: the job thread sends ABORT
	 * once its wait returns. */
	kmig_precopy_resume_source(pc);
	return NULL;
}

/* The guard waits on kmig_now_ns()'s clock. */
static int cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int ret = pthread_condattr_init(&a);

	if (!ret)
		ret = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return -ret;
}

int kmig_strict_init(struct kmig_strict *g)
{
	int ret = -pthread_mutex_init(&g->lock, NULL);

	if (ret)
		return ret;
	ret = cond_init_monotonic(&g->cond);
	if (ret)
		pthread_mutex_destroy(&g->lock);
	g->init = !ret;
	return ret;
}

void kmig_strict_fini(struct kmig_strict *g)
{
	if (!g->init)
		return;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

int kmig_strict_arm(struct kmig_precopy *pc)
{
	struct kmig_strict *g = &pc->strict;
	int ret;

	if (!pc->o.downtime_strict)
		return 0;
	g->stop = g->committing = g->fired = false;
	ret = -pthread_create(&g->thread, NULL, guard_main, pc);
	if (ret)
		return pc_fail(pc, ret, "strict downtime guard: %s", strerror(-ret));
	g->running = true;
	return 0;
}

void kmig_strict_disarm(struct kmig_precopy *pc)
{
	struct kmig_strict *g = &pc->strict;

	if (!g->running)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	g->running = false;
}

/* COMMIT may go out: the guard has not fired and will not any more. */
int kmig_strict_claim_commit(struct kmig_precopy *pc)
{
	struct kmig_strict *g = &pc->strict;
	bool fired;

	if (!g->running)
		return 0;
	/* No wake-up: the guard, at its time, finds COMMIT claimed and ends;
	 * waking it now would put its thread on a core just when COMMIT
	 * goes out and RESUMED is awaited. Disarm joins it afterwards. */
	pthread_mutex_lock(&g->lock);
	fired = g->fired;
	g->committing = !fired;
	pthread_mutex_unlock(&g->lock);
	return fired ? -ETIME : 0;
}

bool kmig_strict_fired(struct kmig_precopy *pc)
{
	struct kmig_strict *g = &pc->strict;
	bool fired;

	if (!g->running)
		return false;
	pthread_mutex_lock(&g->lock);
	fired = g->fired;
	pthread_mutex_unlock(&g->lock);
	return fired;
}

void kmig_strict_count(struct kmig_precopy *pc, const char *why)
{
	kmig_job_lock(&pc->job);
	snprintf(pc->st.abort_reason, sizeof(pc->st.abort_reason), "%s", why);
	pc->st.aborts++;
	kmig_job_unlock(&pc->job);
}

/* Does the rest (@rest_ns, expected) still fit the deadline? */
bool kmig_strict_late(struct kmig_precopy *pc, uint64_t rest_ns, const char *step)
{
	uint64_t now = kmig_now_ns();

	if (!pc->o.downtime_strict || (rest_ns != UINT64_MAX &&
					now + rest_ns <= pc->strict.deadline))
		return false;
	if (kmig_strict_fired(pc))	/* the guard's abort is counted already */
		return false;
	kmig_job_lock(&pc->job);
	snprintf(pc->st.abort_reason, sizeof(pc->st.abort_reason), "%s: %.1f ms paused, "
		 "%s%.1f ms expected to go, limit %.1f ms", step,
		 (now + pc->conv.downtime_limit_ns - pc->strict.deadline) / 1e6,
		 rest_ns == UINT64_MAX ? "unknown, > " : "",
		 (rest_ns == UINT64_MAX ? 0 : rest_ns) / 1e6, pc->conv.downtime_limit_ns / 1e6);
	pc->st.aborts++;
	kmig_job_unlock(&pc->job);
	return true;
}
