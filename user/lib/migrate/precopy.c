// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, source side: the precopy iterations and the switchover.
 *
 * An iteration: harvest -> (decide) -> clear -> queue -> flush. The clear
 * comes before the channel threads read any page of the iteration, so a
 * write after it is caught by the next harvest (dirty.h). When the
 * decision is to switch over, the harvested pages are not cleared: their
 * bits stay set and the final harvest, with the guest paused, takes them
 * together with whatever was written since.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/bits.h"
#include "migrate/migrate_int.h"

struct counts {
	uint64_t bytes, data, zero;
};

static void stream_counts(struct kmig_sink *k, struct counts *c)
{
	struct kmig_stats st;

	k->ops->stats(k->p, &st);
	c->bytes = st.sum.bytes_wire;
	c->data = st.sum.pages_raw + st.sum.pages_compressed;
	c->zero = st.sum.pages_none + st.sum.pages_zero;
}

static const char *sink_error(struct kmig_migrate *m)
{
	return m->sink.ops->error(m->sink.p);
}

/* Queue the harvested pages (iteration 0: every page), with the zero
 * hints of a tracker that classifies (none without a harvest: stopped). */
static int queue_harvest(struct kmig_migrate *m, bool all)
{
	for (unsigned int i = 0; i < m->dirty->nr; i++) {
		const struct kmig_dirty_slot *ds = &m->dirty->slots[i];
		int ret = m->sink.ops->queue(m->sink.p, ds->block, 0, ds->npages,
					     all ? NULL : ds->dirty,
					     m->o.stopped ? NULL : ds->zero);

		if (ret)
			return ret;
	}
	return 0;
}

static int harvest(struct kmig_migrate *m, struct kmig_migrate_iter *it)
{
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_dirty_harvest(m->dirty, it->index, &it->dirty_pages, &it->zero_hinted);

	it->harvest_ns = kmig_now_ns() - t0;
	pthread_mutex_lock(&m->lock);
	m->st.dirty_syncs++;
	pthread_mutex_unlock(&m->lock);
	if (ret)
		return kmig_migrate_fail(m, ret, "harvest %u: %s", it->index,
					 kmig_dirty_error(m->dirty));
	if (it->index && t0 > m->t_clear)
		it->dirty_rate = it->dirty_pages * 1000000000ULL / (t0 - m->t_clear);
	return 0;
}

static int set_throttle(struct kmig_migrate *m, uint32_t pct)
{
	int ret = kmig_vmmp_throttle(m->vmm, pct, NULL);

	if (ret)
		return kmig_migrate_fail(m, ret, "THROTTLE %u%%: %s", pct,
					 kmig_vmmp_last_error(m->vmm));
	return 0;
}

/* Iteration @it->index >= 1: switch over (*done) or go on, maybe throttled. */
static int decide(struct kmig_migrate *m, struct kmig_migrate_iter *it,
		  const struct kmig_migrate_iter *prev, bool *done)
{
	struct kmig_conv_sample s = {
		.iteration = it->index, .dirty_pages = it->dirty_pages,
		.prev_bytes = prev->bytes, .prev_data_pages = prev->data_pages,
		.prev_ns = prev->transfer_ns,
	};
	uint32_t before = m->conv.throttle;
	enum kmig_conv_verdict v = kmig_conv_decide(&m->conv, &s, &it->expected_downtime_ns);

	pthread_mutex_lock(&m->lock);
	m->st.expected_downtime_ns = it->expected_downtime_ns;
	pthread_mutex_unlock(&m->lock);
	*done = v != KMIG_CONV_ITERATE;
	if (*done) {
		pthread_mutex_lock(&m->lock);
		snprintf(m->st.converged, sizeof(m->st.converged), "%s", kmig_conv_verdict_name(v));
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if (m->conv.throttle == before)
		return 0;
	it->throttle = m->conv.throttle;
	return set_throttle(m, m->conv.throttle);
}

/* Clear, queue, flush; measure what this iteration moved. */
static int transfer(struct kmig_migrate *m, struct kmig_migrate_iter *it)
{
	struct counts a, b;
	uint64_t t0 = kmig_now_ns(), t1;
	char point[32];
	int ret = kmig_dirty_clear(m->dirty);

	t1 = m->t_clear = kmig_now_ns();
	it->clear_ns = t1 - t0;
	if (ret)
		return kmig_migrate_fail(m, ret, "iteration %u: %s", it->index,
					 kmig_dirty_error(m->dirty));
	stream_counts(&m->sink, &a);
	ret = queue_harvest(m, it->index == 0);
	snprintf(point, sizeof(point), "precopy-%u", it->index);
	kmig_migrate_hook(m, point);
	if (!ret)
		ret = m->sink.ops->flush(m->sink.p);
	if (ret)
		return kmig_migrate_fail(m, ret, "iteration %u: %s", it->index, sink_error(m));
	it->transfer_ns = kmig_now_ns() - t1;
	stream_counts(&m->sink, &b);
	it->bytes = b.bytes - a.bytes;
	it->data_pages = b.data - a.data;
	it->zero_pages = b.zero - a.zero;
	it->bandwidth = it->transfer_ns ? it->bytes * 1000000000ULL / it->transfer_ns : 0;
	return 0;
}

int kmig_migrate_precopy(struct kmig_migrate *m)
{
	struct kmig_migrate_iter prev = { 0 };
	int ret = kmig_migrate_set_state(m, KMIG_MIGRATE_PRECOPY);

	for (uint32_t k = 0; !ret; k++) {
		struct kmig_migrate_iter it = { .index = k, .throttle = m->conv.throttle,
						.expected_downtime_ns = UINT64_MAX };
		bool done = false;

		ret = harvest(m, &it);
		if (!ret && k)
			ret = decide(m, &it, &prev, &done);
		if (ret || done)
			break;
		ret = transfer(m, &it);
		if (!ret) {
			kmig_migrate_add_row(m, &it);
			kmig_migrate_publish(m);
			ret = kmig_migrate_check_cancel(m);
		}
		prev = it;
	}
	return ret;
}

/* Guest paused: the last harvest, no clear (nothing writes any more).
 * A stopped save has no harvest: every page, once. */
static int final_pass(struct kmig_migrate *m, struct kmig_migrate_iter *it)
{
	struct kmig_migrate_downtime *dt = &m->dt;
	uint64_t t0;
	int ret;

	if (!m->o.stopped)
		kmig_dirty_paused(m->dirty);
	ret = m->o.stopped ? 0 : harvest(m, it);

	if (ret)
		return ret;
	dt->harvest_ns = it->harvest_ns;
	if (m->o.stop_in_downtime) {
		t0 = kmig_now_ns();
		ret = kmig_dirty_stop(m->dirty, KMIG_DIRTY_STOP_NOW);
		dt->stop_ns = kmig_now_ns() - t0;
		if (ret)
			return kmig_migrate_fail(m, ret, "%s", kmig_dirty_error(m->dirty));
	}
	ret = queue_harvest(m, m->o.stopped);
	if (ret)
		return kmig_migrate_fail(m, ret, "final pass: %s", sink_error(m));
	return 0;
}

/* Device state, then the rest of the pages and END, then PREPARED. @a:
 * the stream's counts before the final pass was queued. */
static int send_state(struct kmig_migrate *m, struct kmig_migrate_iter *it,
		      const struct counts *a)
{
	struct kmig_migrate_downtime *dt = &m->dt;
	uint64_t t0 = kmig_now_ns();
	struct counts b;
	int ret;

	/* The channel threads send the last pages meanwhile. */
	ret = kmig_vmmp_get_device_state(m->vmm, &m->devstate, &m->devstate_len);
	dt->devstate_ns = kmig_now_ns() - t0;
	if (ret)
		return kmig_migrate_fail(m, ret, "GET_DEVICE_STATE: %s", kmig_vmmp_last_error(m->vmm));
	t0 = kmig_now_ns();
	ret = m->sink.ops->finish(m->sink.p, m->devstate, m->devstate_len);
	dt->transfer_ns = kmig_now_ns() - t0;
	it->transfer_ns = dt->devstate_ns + dt->transfer_ns;
	if (ret)
		return kmig_migrate_fail(m, ret, "switchover: %s", sink_error(m));
	stream_counts(&m->sink, &b);
	it->bytes = b.bytes - a->bytes;
	it->data_pages = b.data - a->data;
	it->zero_pages = b.zero - a->zero;
	it->bandwidth = it->transfer_ns ? it->bytes * 1000000000ULL / it->transfer_ns : 0;
	kmig_migrate_add_row(m, it);
	if (!m->s)		/* a file: finish committed it */
		return 0;
	t0 = kmig_now_ns();
	ret = kmig_send_await_prepared(m->s, m->o.switchover_timeout_ms);
	dt->prepare_ns = kmig_now_ns() - t0;
	if (ret)
		return kmig_migrate_fail(m, ret, "switchover: %s", kmig_send_error(m->s));
	return 0;
}

/* COMMIT: from here on only the destination's own failure report lets
 * the source resume. */
static int commit(struct kmig_migrate *m)
{
	struct kmig_migrate_downtime *dt = &m->dt;
	struct kmig_resumed rep;
	uint64_t t0;
	int ret;

	kmig_migrate_hook(m, "commit");
	ret = kmig_migrate_set_state(m, KMIG_MIGRATE_COMMIT);
	if (ret)
		return ret;
	t0 = kmig_now_ns();
	ret = kmig_send_commit(m->s);
	if (!ret)
		ret = kmig_send_await_resumed(m->s, &rep, m->o.switchover_timeout_ms);
	dt->commit_ns = kmig_now_ns() - t0;
	if (ret == -EREMOTEIO)
		return kmig_migrate_fail(m, ret, "the destination could not resume the guest: %s",
					 kmig_send_error(m->s));
	if (ret)
		return kmig_migrate_fail(m, ret, "no word from the destination after COMMIT "
					 "(%s): it may or may not run the guest, so the source "
					 "stays paused", kmig_send_error(m->s));
	dt->dst_devstate_ns = rep.devstate_ns;
	dt->dst_commit_ns = rep.commit_ns;
	dt->dst_total_ns = rep.total_ns;
	return 0;
}

int kmig_migrate_switchover(struct kmig_migrate *m)
{
	struct kmig_migrate_downtime *dt = &m->dt;
	/* The final row shows the estimate that led here next to the actual. */
	struct kmig_migrate_iter it = { .index = m->st.iterations, .final = true,
					.throttle = m->conv.throttle,
					.expected_downtime_ns = m->st.expected_downtime_ns };
	uint64_t t0 = kmig_now_ns();
	struct counts before;
	int ret = kmig_migrate_set_state(m, KMIG_MIGRATE_SWITCHOVER);

	stream_counts(&m->sink, &before);
	if (!ret && !m->found_paused)
		ret = kmig_vmmp_pause(m->vmm);
	if (ret)
		return ret == -ECANCELED ? ret :
		       kmig_migrate_fail(m, ret, "PAUSE: %s", kmig_vmmp_last_error(m->vmm));
	m->paused = !m->found_paused;
	dt->pause_ns = kmig_now_ns() - t0;
	kmig_migrate_hook(m, "switchover");
	ret = kmig_migrate_check_cancel(m);
	if (!ret)
		ret = final_pass(m, &it);
	if (!ret)
		ret = send_state(m, &it, &before);
	if (!ret && m->s)
		ret = commit(m);
	dt->total_ns = kmig_now_ns() - t0;
	kmig_migrate_publish(m);
	return ret;
}
