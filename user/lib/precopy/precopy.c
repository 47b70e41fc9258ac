// SPDX-License-Identifier: GPL-2.0
/*
 * The precopy engine: the iterations and the switchover, over a dirty
 * tracker (dirty.h) and a sink (sink.h).
 *
 * An iteration: harvest -> (decide) -> clear -> queue -> flush. The clear
 * comes before the sink's threads read any page of the iteration, so a
 * write after it is caught by the next harvest (dirty.h). Iteration 0
 * queues every page: after its clear the tracker gives the zero pages of
 * the whole pass where it can (the module's scan), else the sink's threads
 * classify. When the decision is to switch over, the harvested pages are
 * not cleared: their bits stay set and the final harvest, with the guest
 * paused, takes them together with whatever was written since.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "precopy/precopy_int.h"

/* Pages the first pass scans and queues at a time (128 MiB): the sink's
 * threads send one piece while the next is scanned. */
#define FIRST_PASS_PIECE	(1ULL << 15)

struct counts {
	uint64_t bytes, data, zero, classify_ns;
};

static void sink_counts(struct kmig_sink *k, struct counts *c)
{
	struct kmig_stats st;

	k->ops->stats(k->p, &st);
	c->bytes = st.sum.bytes_wire;
	c->data = st.sum.pages_raw + st.sum.pages_compressed;
	c->zero = st.sum.pages_none + st.sum.pages_zero;
	c->classify_ns = st.sum.ns_classify;
}

static void count_since(struct kmig_precopy *pc, struct kmig_migrate_iter *it,
			const struct counts *a)
{
	struct counts b;

	sink_counts(&pc->sink, &b);
	it->bytes = b.bytes - a->bytes;
	it->data_pages = b.data - a->data;
	it->zero_pages = b.zero - a->zero;
	it->classify_ns = b.classify_ns - a->classify_ns;
	it->bandwidth = it->transfer_ns ? it->bytes * 1000000000ULL / it->transfer_ns : 0;
}

static const char *sink_error(struct kmig_precopy *pc)
{
	return pc->sink.ops->error(pc->sink.p);
}

/* Queue the harvested pages, with the tracker's zero bitmaps when they
 * classify every page queued. */
static int queue_harvest(struct kmig_precopy *pc)
{
	struct kmig_dirty *d = pc->dirty;

	for (unsigned int i = 0; i < d->nr; i++) {
		const struct kmig_dirty_slot *ds = &d->slots[i];
		int ret = pc->sink.ops->queue(pc->sink.p, ds->block, 0, ds->npages, ds->dirty,
					      d->hinted ? ds->zero : NULL);

		if (ret)
			return ret;
	}
	return 0;
}

static int harvest(struct kmig_precopy *pc, struct kmig_migrate_iter *it)
{
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_dirty_harvest(pc->dirty, it->index, &it->dirty_pages, &it->zero_hinted);

	it->harvest_ns = kmig_now_ns() - t0;
	kmig_job_lock(&pc->job);
	pc->st.dirty_syncs++;
	kmig_job_unlock(&pc->job);
	if (ret)
		return pc_fail(pc, ret, "harvest %u: %s", it->index, kmig_dirty_error(pc->dirty));
	if (it->index && t0 > pc->t_clear)
		it->dirty_rate = it->dirty_pages * 1000000000ULL / (t0 - pc->t_clear);
	if (it->index)		/* the first one has nothing to find */
		pc->conv.fixed.harvest_ns = it->harvest_ns;
	return 0;
}

/*
 * The pass of every page, a piece at a time: the tracker finds a piece's
 * zero pages where it can (the module's scan), then the piece is queued
 * with them, so that the sink's threads send it while the next piece is
 * scanned. Without the tracker's hints the sink's threads classify.
 */
static int first_pass(struct kmig_precopy *pc, struct kmig_migrate_iter *it)
{
	struct kmig_dirty *d = pc->dirty;
	int ret = 0;

	it->dirty_pages = kmig_ram_total(&pc->ram) / KMIG_PAGE_SIZE;
	for (unsigned int i = 0; !ret && i < d->nr; i++) {
		const struct kmig_dirty_slot *ds = &d->slots[i];

		for (uint64_t first = 0; !ret && first < ds->npages; first += FIRST_PASS_PIECE) {
			uint64_t n = KMIG_MIN(FIRST_PASS_PIECE, ds->npages - first), zero = 0;
			uint64_t t0 = kmig_now_ns();

			ret = kmig_dirty_first_pass(d, i, first, n, &zero);
			it->scan_ns += kmig_now_ns() - t0;
			if (ret)
				return pc_fail(pc, ret, "the first pass's zero scan: %s",
					       kmig_dirty_error(d));
			it->zero_hinted += zero;
			ret = pc->sink.ops->queue(pc->sink.p, ds->block, first, n, NULL,
						  d->hinted ? ds->zero + first / 64 : NULL);
		}
	}
	if (ret)
		return pc_fail(pc, ret, "%s: %s", it->final ? "final pass" : "iteration 0",
			       sink_error(pc));
	return 0;
}

static int set_throttle(struct kmig_precopy *pc, uint32_t pct)
{
	int ret = kmig_vmmp_throttle(pc->vmm, pct, NULL);

	if (ret)
		return pc_fail(pc, ret, "THROTTLE %u%%: %s", pct, kmig_vmmp_last_error(pc->vmm));
	return 0;
}

/* Iteration @it->index >= 1: switch over (*done) or go on, maybe throttled. */
static int decide(struct kmig_precopy *pc, struct kmig_migrate_iter *it,
		  const struct kmig_migrate_iter *prev, bool *done)
{
	struct kmig_conv_sample s = {
		.iteration = it->index, .dirty_pages = it->dirty_pages,
		.prev_bytes = prev->bytes, .prev_data_pages = prev->data_pages,
		.prev_ns = prev->transfer_ns,
	};
	uint32_t before = pc->conv.throttle;
	enum kmig_conv_verdict v = kmig_conv_decide(&pc->conv, &s, &it->expected_downtime_ns);

	kmig_job_lock(&pc->job);
	pc->st.expected_downtime_ns = it->expected_downtime_ns;
	kmig_conv_expect(&pc->conv, it->dirty_pages, &pc->st.expected);
	pc->st.remaining_bytes = it->dirty_pages * pc->conv.bytes_per_page;
	pc->st.page_bytes = pc->conv.bytes_per_page;
	*done = v != KMIG_CONV_ITERATE;
	if (*done)
		snprintf(pc->st.converged, sizeof(pc->st.converged), "%s",
			 kmig_conv_verdict_name(v));
	kmig_job_unlock(&pc->job);
	if (*done || pc->conv.throttle == before)
		return 0;
	it->throttle = pc->conv.throttle;
	return set_throttle(pc, pc->conv.throttle);
}

/*
 * The probe of the switchover's fixed costs, after each transfer: an empty
 * barrier (SYNC on every channel, each acknowledged once applied: the round
 * trip with the destination, END's and PREPARED's share of the downtime)
 * and a QUERY (a source VMM request: PAUSE's and GET_DEVICE_STATE's).
 */
static int probe(struct kmig_precopy *pc)
{
	struct kmig_vmmp_status qs;
	uint64_t t0 = kmig_now_ns(), t1;
	int ret = pc->sink.ops->flush(pc->sink.p);

	t1 = kmig_now_ns();
	if (ret)
		return pc_fail(pc, ret, "probe: %s", sink_error(pc));
	ret = kmig_vmmp_query(pc->vmm, &qs);
	if (ret)
		return pc_fail(pc, ret, "probe: %s", kmig_vmmp_last_error(pc->vmm));
	kmig_conv_probe(&pc->conv, t1 - t0);
	pc->conv.fixed.vmm_rtt_ns = kmig_now_ns() - t1;
	return 0;
}

/* Clear, (first pass: classify), queue, flush; measure what it moved. */
static int transfer(struct kmig_precopy *pc, struct kmig_migrate_iter *it)
{
	struct counts a;
	uint64_t t0 = kmig_now_ns(), t1;
	int ret = kmig_dirty_clear(pc->dirty);

	t1 = pc->t_clear = kmig_now_ns();
	it->clear_ns = t1 - t0;
	if (ret)
		return pc_fail(pc, ret, "iteration %u: %s", it->index, kmig_dirty_error(pc->dirty));
	sink_counts(&pc->sink, &a);
	ret = it->index ? queue_harvest(pc) : first_pass(pc, it);
	kmig_job_hook(&pc->job, "precopy-%u", it->index);
	if (!ret)
		ret = pc->sink.ops->flush(pc->sink.p);
	if (ret)
		return pc_fail(pc, ret, "iteration %u: %s", it->index, sink_error(pc));
	it->transfer_ns = kmig_now_ns() - t1;
	count_since(pc, it, &a);
	return probe(pc);
}

int kmig_precopy_iterate(struct kmig_precopy *pc)
{
	struct kmig_migrate_iter *prev = &pc->prev;
	int ret = kmig_job_set_state(&pc->job, KMIG_MIGRATE_PRECOPY);

	for (uint32_t k = pc->next_iter; !ret; k++) {
		struct kmig_migrate_iter it = { .index = k, .throttle = pc->conv.throttle,
						.expected_downtime_ns = UINT64_MAX };
		bool done = false;

		ret = harvest(pc, &it);
		/* After a strict abort, one transfer at least before the next
		 * try (at the iteration bound the decision is at once). */
		if (!ret && k && k > pc->retry_from)
			ret = decide(pc, &it, prev, &done);
		if (ret || done)
			break;
		ret = transfer(pc, &it);
		if (!ret) {
			kmig_precopy_add_row(pc, &it);
			kmig_precopy_publish(pc);
			ret = kmig_job_cancelled(&pc->job);
		}
		*prev = it;
		pc->next_iter = k + 1;
	}
	return ret;
}

/* The steps of a switchover still to come, in order. */
enum step { STEP_DEVSTATE, STEP_TRANSFER, STEP_PREPARE, STEP_COMMIT };

/* Strict: would the parts from @from on (of the estimate for @pages last
 * pages) pass the deadline? */
static bool late(struct kmig_precopy *pc, uint64_t pages, enum step from, const char *step)
{
	struct kmig_dt_parts p;
	uint64_t t, rest;

	if (!pc->o.downtime_strict)
		return false;
	t = kmig_conv_expect(&pc->conv, pages, &p);
	/* COMMIT cannot be taken back: its worst recent case must fit. */
	rest = KMIG_MAX(p.commit, kmig_conv_commit_high(&pc->conv));
	if (from <= STEP_PREPARE)
		rest += p.prepare;
	if (from <= STEP_TRANSFER)
		rest += p.transfer;
	if (from <= STEP_DEVSTATE)
		rest += p.devstate;
	return kmig_strict_late(pc, t == UINT64_MAX ? t : rest, step);
}

/* Guest paused: the last harvest, no clear (nothing writes any more).
 * A stopped save has no harvest: every page, once. */
static int final_pass(struct kmig_precopy *pc, struct kmig_migrate_iter *it)
{
	struct kmig_migrate_downtime *dt = &pc->dt;
	uint64_t t0;
	int ret;

	kmig_dirty_paused(pc->dirty);
	if (pc->o.stopped) {		/* scanned and queued piece by piece */
		ret = first_pass(pc, it);
		dt->harvest_ns = it->scan_ns;
		return ret;
	}
	ret = harvest(pc, it);
	if (ret)
		return ret;
	dt->harvest_ns = it->harvest_ns;
	kmig_job_hook(&pc->job, "final-pass");
	if (late(pc, it->dirty_pages, STEP_DEVSTATE, "after the final harvest"))
		return -EAGAIN;
	if (pc->o.stop_in_downtime) {
		t0 = kmig_now_ns();
		ret = kmig_dirty_stop(pc->dirty, KMIG_DIRTY_STOP_NOW);
		dt->stop_ns = kmig_now_ns() - t0;
		if (ret)
			return pc_fail(pc, ret, "%s", kmig_dirty_error(pc->dirty));
	}
	ret = queue_harvest(pc);
	if (ret)
		return pc_fail(pc, ret, "final pass: %s", sink_error(pc));
	return 0;
}

/*
 * Strict, after END: the source resumes (the guard's join first: the
 * VMM's client is ours again), then ABORT instead of COMMIT; the sink
 * takes pages again and precopy goes on (-EAGAIN, back_to_precopy()).
 */
static int abort_sink(struct kmig_precopy *pc, const char *step)
{
	int ret;

	kmig_strict_disarm(pc);
	kmig_precopy_resume_source(pc);
	if (!pc->sink.ops->abort)	/* a file (the guard fired): the job fails */
		return pc_fail(pc, -ETIME, "strict downtime limit (%s): the %s did not commit "
			       "in time; the source guest runs on", pc->st.abort_reason,
			       pc->sink.ops->name);
	kmig_job_hook(&pc->job, "aborting");
	ret = pc->sink.ops->abort(pc->sink.p, pc->o.switchover_timeout_ms);
	if (ret)
		return pc_fail(pc, ret, "strict downtime limit (%s): ABORT %s: %s",
			       pc->st.abort_reason, step, sink_error(pc));
	return -EAGAIN;
}

/* Strict: PREPARED must come in time for the commit to fit the deadline. */
static int prepare_timeout(struct kmig_precopy *pc)
{
	uint64_t now = kmig_now_ns(), commit = pc->st.expected.commit;

	if (!pc->o.downtime_strict)
		return pc->o.switchover_timeout_ms;
	if (now + commit >= pc->strict.deadline)
		return 1;
	return KMIG_MAX((pc->strict.deadline - now - commit) / 1000000, 1);
}

/* Device state, then the rest of the pages and the sink's finish, then
 * its prepare. @a: the sink's counts before the final pass was queued. */
static int send_state(struct kmig_precopy *pc, struct kmig_migrate_iter *it,
		      const struct counts *a)
{
	struct kmig_migrate_downtime *dt = &pc->dt;
	uint64_t t0 = kmig_now_ns();
	int ret, timeout;

	/* The sink's threads write the last pages meanwhile. */
	free(pc->devstate);	/* an aborted switchover's */
	pc->devstate = NULL;
	ret = kmig_vmmp_get_device_state(pc->vmm, &pc->devstate, &pc->devstate_len);
	dt->devstate_ns = kmig_now_ns() - t0;
	if (ret)
		return pc_fail(pc, ret, "GET_DEVICE_STATE: %s", kmig_vmmp_last_error(pc->vmm));
	pc->conv.fixed.devstate_ns = dt->devstate_ns;
	pc->conv.fixed.devstate_bytes = pc->devstate_len;
	kmig_job_hook(&pc->job, "devstate");
	if (late(pc, it->dirty_pages, STEP_TRANSFER, "after GET_DEVICE_STATE"))
		return -EAGAIN;
	ret = kmig_strict_arm(pc);	/* from here on the waits are on the sink */
	if (ret)
		return ret;
	t0 = kmig_now_ns();
	ret = pc->sink.ops->finish(pc->sink.p, pc->devstate, pc->devstate_len);
	dt->transfer_ns = kmig_now_ns() - t0;
	it->transfer_ns = dt->devstate_ns + dt->transfer_ns;
	if (ret)
		return pc_fail(pc, ret, "switchover: %s", sink_error(pc));
	count_since(pc, it, a);
	kmig_precopy_add_row(pc, it);
	if (!pc->sink.ops->prepare)
		return 0;
	if (kmig_strict_fired(pc) || late(pc, 0, STEP_PREPARE, "after END"))
		return abort_sink(pc, "after END");
	t0 = kmig_now_ns();
	timeout = prepare_timeout(pc);
	ret = pc->sink.ops->prepare(pc->sink.p, timeout);
	dt->prepare_ns = kmig_now_ns() - t0;
	if (ret == -ETIMEDOUT && pc->o.downtime_strict) {
		if (!kmig_strict_fired(pc))
			kmig_strict_count(pc, "no PREPARED in time");
		return abort_sink(pc, "without PREPARED");
	}
	if (ret == -ETIMEDOUT)	/* the sink is still up: the recovery cancels it */
		return pc_fail(pc, ret, "switchover: no PREPARED from the receiver within %d ms",
			       timeout);
	if (ret)
		return pc_fail(pc, ret, "switchover: %s", sink_error(pc));
	return 0;
}

/* COMMIT: from here on only a commit that failed for sure lets the
 * source resume (-EREMOTEIO); any other failure leaves it in doubt. */
static int commit(struct kmig_precopy *pc)
{
	struct kmig_migrate_downtime *dt = &pc->dt;
	struct kmig_sink_commit c = { 0 };
	uint64_t t0;
	int ret;

	kmig_job_hook(&pc->job, "commit");
	if (pc->sink.ops->abort && late(pc, 0, STEP_COMMIT, "after PREPARED"))
		return abort_sink(pc, "after PREPARED");
	if (kmig_strict_claim_commit(pc))	/* the guard fired */
		return abort_sink(pc, "after PREPARED");
	ret = kmig_job_set_state(&pc->job, KMIG_MIGRATE_COMMIT);
	if (ret)
		return ret;
	kmig_job_hook(&pc->job, "no-return");
	t0 = kmig_now_ns();
	ret = pc->sink.ops->commit(pc->sink.p, pc->o.switchover_timeout_ms, &c);
	dt->commit_ns = kmig_now_ns() - t0;
	if (ret && c.in_doubt)
		return pc_fail(pc, ret, "no word from the destination after COMMIT (%s): it may or "
			       "may not run the guest, so the source stays paused", sink_error(pc));
	if (ret)
		return pc_fail(pc, -EREMOTEIO, "the %s did not commit: %s", pc->sink.ops->name,
			       sink_error(pc));
	dt->dst_devstate_ns = c.dst_devstate_ns;
	dt->dst_commit_ns = c.dst_commit_ns;
	dt->dst_total_ns = c.dst_total_ns;
	return 0;
}

/* Strict: the switchover was called off (before END, or after it with an
 * ABORT the sink took): the source resumes, its dirty bits (never cleared)
 * and the pages queued meanwhile go on as precopy. -EAGAIN: iterate
 * again; an error once the retries are spent. */
static int back_to_precopy(struct kmig_precopy *pc)
{
	pc->dirty->paused = false;	/* harvests are no longer final */
	kmig_precopy_resume_source(pc);
	if (pc->paused)
		return pc_fail(pc, -EIO, "strict downtime limit: aborted (%s), but the source "
			       "did not resume", pc->st.abort_reason);
	pc->retry_from = pc->next_iter;
	if (pc->st.aborts > pc->o.strict_retries)
		return pc_fail(pc, -ETIME, "strict downtime limit: %u switchovers aborted, the "
			       "last %s; the source guest runs on", pc->st.aborts,
			       pc->st.abort_reason);
	return -EAGAIN;
}

int kmig_precopy_switchover(struct kmig_precopy *pc)
{
	struct kmig_migrate_downtime *dt = &pc->dt;
	/* The final row shows the estimate that led here next to the actual. */
	struct kmig_migrate_iter it = { .index = pc->st.iterations, .final = true,
					.throttle = pc->conv.throttle,
					.expected_downtime_ns = pc->st.expected_downtime_ns };
	uint64_t t0 = kmig_now_ns();
	struct counts before;
	int ret = kmig_job_set_state(&pc->job, KMIG_MIGRATE_SWITCHOVER);

	*dt = (struct kmig_migrate_downtime){ 0 };
	sink_counts(&pc->sink, &before);
	if (!ret && !pc->found_paused)
		ret = kmig_vmmp_pause(pc->vmm);
	if (ret)
		return ret == -ECANCELED ? ret :
		       pc_fail(pc, ret, "PAUSE: %s", kmig_vmmp_last_error(pc->vmm));
	pc->paused = !pc->found_paused;
	pc->t_paused = pc->paused ? t0 : 0;
	dt->pause_ns = kmig_now_ns() - t0;
	pc->strict.deadline = t0 + pc->conv.downtime_limit_ns;
	kmig_job_hook(&pc->job, "switchover");
	kmig_job_hook(&pc->job, "switchover-%u", pc->st.aborts);
	ret = kmig_job_cancelled(&pc->job);
	if (!ret)
		ret = final_pass(pc, &it);
	if (!ret)
		ret = send_state(pc, &it, &before);
	if (!ret)
		ret = commit(pc);
	kmig_strict_disarm(pc);
	dt->total_ns = kmig_now_ns() - t0;
	if (ret == -EAGAIN)	/* strict: precopy goes on */
		ret = back_to_precopy(pc);
	kmig_precopy_publish(pc);
	return ret;
}
