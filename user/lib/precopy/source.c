// SPDX-License-Identifier: GPL-2.0
/*
 * The precopy engine's source side: lifecycle, setup, cancel, the recovery
 * after a cancel or failure, and the end of a completed job. The
 * iterations and the switchover are in precopy.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "precopy/precopy_int.h"
#include "vmmp/ram_vmm.h"

/* Requests the source VMM must implement (auto-converge adds THROTTLE). */
#define NEEDED_OPS ((1U << KMIG_VMMP_GET_SLOTS) | (1U << KMIG_VMMP_DIRTY_LOG_START) | \
		    (1U << KMIG_VMMP_GET_DIRTY_LOG) | (1U << KMIG_VMMP_CLEAR_DIRTY_LOG) | \
		    (1U << KMIG_VMMP_DIRTY_LOG_STOP) | (1U << KMIG_VMMP_PAUSE) | \
		    (1U << KMIG_VMMP_RESUME) | (1U << KMIG_VMMP_GET_DEVICE_STATE) | \
		    (1U << KMIG_VMMP_QUERY))

/* How long the helper waits for a deferred dirty-log stop to end (the
 * module's worker spaces slots by stop_interval_us, 10 ms by default). */
#define LOG_STOP_WAIT_MS	10000

static const char *const state_names[] = {
	[KMIG_MIGRATE_SETUP] = "setup", [KMIG_MIGRATE_PRECOPY] = "precopy",
	[KMIG_MIGRATE_SWITCHOVER] = "switchover", [KMIG_MIGRATE_COMMIT] = "commit",
	[KMIG_MIGRATE_COMPLETED] = "completed", [KMIG_MIGRATE_CANCELLED] = "cancelled",
	[KMIG_MIGRATE_FAILED] = "failed", [KMIG_MIGRATE_IN_DOUBT] = "in-doubt",
};

static const struct kmig_job_desc job_desc = {
	.names = state_names, .nr = KMIG_ARRAY_SIZE(state_names),
	.no_return = KMIG_MIGRATE_COMMIT, .done = KMIG_MIGRATE_COMPLETED, .during = "during",
};

const char *kmig_migrate_state_name(enum kmig_migrate_state s)
{
	return kmig_job_state_name(&job_desc, s);
}

void kmig_precopy_opts_init(struct kmig_precopy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->client = "kmig";
	o->module = KMIG_DIRTY_USE_DEFAULT;
}

int kmig_precopy_create(struct kmig_precopy **out, const struct kmig_precopy_opts *o,
			struct kmig_sink_factory *f)
{
	struct kmig_precopy *pc;
	int ret;

	/* A strict abort goes back to precopy: dirty logging must still be on
	 * (--dirty-log-stop during turns it off inside the downtime). */
	if (!o->vmm_path || (o->downtime_strict && o->stop_in_downtime))
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->o = *o;
	pc->f = f;
	kmig_conv_init(&pc->conv);
	if (o->downtime_limit_ns)
		pc->conv.downtime_limit_ns = o->downtime_limit_ns;
	if (o->max_iterations)
		pc->conv.max_iterations = o->max_iterations;
	pc->conv.auto_converge = o->auto_converge;
	if (o->throttle_initial)
		pc->conv.throttle_initial = o->throttle_initial;
	if (o->throttle_increment)
		pc->conv.throttle_increment = o->throttle_increment;
	if (o->throttle_max)
		pc->conv.throttle_max = o->throttle_max;
	if (!pc->o.switchover_timeout_ms)
		pc->o.switchover_timeout_ms = 30000;
	if (!pc->o.strict_retries)
		pc->o.strict_retries = 3;
	kmig_ram_init(&pc->ram);
	kmig_job_init(&pc->job, &job_desc);
	ret = kmig_strict_init(&pc->strict);
	if (ret) {
		kmig_job_fini(&pc->job);
		free(pc);
		return ret;
	}
	pc->st.strict = o->downtime_strict;
	pc->st.downtime_limit_ns = pc->conv.downtime_limit_ns;
	pc->st.expected_downtime_ns = UINT64_MAX;
	pc->source_end = pc->st.source_end = "running";
	pc->source_dirty_log = pc->st.source_dirty_log = "off";
	*out = pc;
	return 0;
}

int kmig_precopy_cancel(struct kmig_precopy *pc, const char *why)
{
	return kmig_job_cancel(&pc->job, why);
}

void kmig_precopy_publish(struct kmig_precopy *pc)
{
	kmig_job_lock(&pc->job);
	if (pc->dirty)
		pc->st.dirty = pc->dirty->st;
	pc->st.throttle = pc->conv.throttle;
	pc->st.downtime = pc->dt;
	pc->st.stop_after_ns = pc->stop_after_ns;
	pc->st.source_end = pc->source_end;
	pc->st.source_dirty_log = pc->source_dirty_log;
	pc->st.throttle_peak = KMIG_MAX(pc->st.throttle_peak, pc->conv.throttle);
	kmig_job_unlock(&pc->job);
}

void kmig_precopy_add_row(struct kmig_precopy *pc, const struct kmig_migrate_iter *it)
{
	struct kmig_migrate_stats *st = &pc->st;

	kmig_job_lock(&pc->job);
	if (st->nr_rows == KMIG_MIGRATE_MAX_ROWS) {
		/* Keep row 0 (the first pass) and the latest ones. */
		memmove(&st->iter[1], &st->iter[2], (KMIG_MIGRATE_MAX_ROWS - 2) * sizeof(*it));
		st->nr_rows--;
	}
	st->iter[st->nr_rows++] = *it;
	st->iterations++;
	if (it->index == 0 && !it->final) {
		st->first_pass_ns = it->harvest_ns + it->clear_ns + it->transfer_ns;
	} else {
		st->later_harvests++;
		st->later_harvest_ns += it->harvest_ns;
		st->later_classify_ns += it->classify_ns;
	}
	if (it->dirty_rate)
		st->dirty_rate = it->dirty_rate;
	if (it->bytes >= (1 << 20))
		st->bandwidth = it->bandwidth;
	kmig_job_unlock(&pc->job);
}

static int check_vmm(struct kmig_precopy *pc, struct kmig_vmmp_status *qs)
{
	const struct kmig_vmmp_info *in = kmig_vmmp_info(pc->vmm);
	uint32_t need = NEEDED_OPS | (pc->o.auto_converge ? 1U << KMIG_VMMP_THROTTLE : 0);
	int ret;

	if (in->vm_flags & KMIG_VMMP_VM_F_INCOMING)
		return pc_fail(pc, -EINVAL, "the VMM at %s waits for an incoming migration; it "
			       "has no guest to send", pc->o.vmm_path);
	if (!(in->vm_flags & KMIG_VMMP_VM_F_MANUAL_PROTECT))
		return pc_fail(pc, -EOPNOTSUPP, "the VMM's dirty logging is not in manual-protect "
			       "mode (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)");
	if ((in->ops & need) != need)
		return pc_fail(pc, -EOPNOTSUPP, "the VMM implements requests %#x, %s needs %#x",
			       in->ops, pc->o.client, need);
	ret = kmig_vmmp_query(pc->vmm, qs);
	if (ret)
		return pc_fail(pc, ret, "QUERY: %s", kmig_vmmp_last_error(pc->vmm));
	/* A stopped save also takes a guest that is paused already. */
	pc->found_paused = pc->o.stopped && qs->state == KMIG_VMMP_STATE_PAUSED;
	if (qs->state != KMIG_VMMP_STATE_RUNNING && !pc->found_paused)
		return pc_fail(pc, -EINVAL, "the source guest is not running (VMM state %u, "
			       "expected %u RUNNING)", qs->state, KMIG_VMMP_STATE_RUNNING);
	return 0;
}

/* The source VMM: its slots, memfds and VM fd, and the dirty tracker. */
static int setup_vmm(struct kmig_precopy *pc)
{
	char why[KMIG_JOB_ERR_MAX] = "";
	struct kmig_vmmp_client_opts vo = {
		.name = pc->o.client, .timeout_ms = pc->o.vmm_timeout_ms,
		.cancelled = kmig_job_poll_cancel, .cancel_arg = &pc->job,
		.err = why, .err_len = sizeof(why),
	};
	struct kmig_vmmp_status qs;
	int ret = kmig_vmmp_connect_opts(pc->o.vmm_path, &vo, &pc->vmm);

	if (ret)
		return pc_fail(pc, ret, "connecting to the source VMM at %s: %s", pc->o.vmm_path,
			       why[0] ? why : strerror(-ret));
	ret = check_vmm(pc, &qs);
	if (ret)
		return ret;
	pc->throttle0 = qs.throttle;
	ret = kmig_vmmp_get_slots(pc->vmm, &pc->mm);
	if (ret)
		return pc_fail(pc, ret, "GET_SLOTS: %s", kmig_vmmp_last_error(pc->vmm));
	ret = kmig_ram_from_vmm(&pc->ram, pc->mm, false);
	if (ret)
		return pc_fail(pc, ret, "mapping the guest's memfds: %s", strerror(-ret));
	ret = kmig_dirty_open(&pc->dirty, pc->vmm, pc->mm, pc->o.kmig_dev, pc->o.module,
			      pc->o.no_module_why);
	if (ret)
		return pc_fail(pc, ret, "dirty tracking: %s", strerror(-ret));
	kmig_job_lock(&pc->job);
	pc->st.ram_bytes = kmig_ram_total(&pc->ram);
	snprintf(pc->st.dirty_path, sizeof(pc->st.dirty_path), "%s", pc->dirty->why);
	kmig_job_unlock(&pc->job);
	if (pc->o.no_module && pc->o.module && pc->dirty->ops == &kmig_dirty_vmm_ops)
		pc->o.no_module(pc->o.no_module_arg, pc->dirty->why);
	return 0;
}

static void wake_sink(void *arg, int err)
{
	struct kmig_sink *k = arg;

	k->ops->cancel(k->p, err);
}

/* The front end's sink; from here on a cancel reaches it. */
static int open_sink(struct kmig_precopy *pc)
{
	struct kmig_sink_factory *f = pc->f;
	struct kmig_sink k = { 0 };
	char err[256] = "";
	int ret = f->open(f, &pc->ram, &k, err, sizeof(err));

	if (ret)
		return pc_fail(pc, ret, "%s", err[0] ? err : strerror(-ret));
	kmig_job_lock(&pc->job);
	pc->sink = k;
	pc->st.sink = k.ops->name;
	if (pc->o.module)
		snprintf(pc->st.zero_path, sizeof(pc->st.zero_path), "%s",
			 k.ops->classify_path(k.p));
	else
		snprintf(pc->st.zero_path, sizeof(pc->st.zero_path), "userspace fallback: %s",
			 pc->o.no_module_why ? pc->o.no_module_why : "the module is not used");
	kmig_job_unlock(&pc->job);
	kmig_job_set_wake(&pc->job, wake_sink, &pc->sink);
	if (k.ops->prepare)	/* a destination commits: the prior until seen */
		pc->conv.fixed.commit_ns = KMIG_CONV_COMMIT_NS_FIXED +
			kmig_ram_total(&pc->ram) * KMIG_CONV_COMMIT_NS_PER_GIB / (1ULL << 30);
	return 0;
}

/* The sink (connected, if it must be), then dirty logging on. */
static int setup_sink(struct kmig_precopy *pc)
{
	struct kmig_sink_factory *f = pc->f;
	char err[256] = "";
	int ret = open_sink(pc);

	if (ret)
		return ret;
	kmig_job_hook(&pc->job, "setup");
	ret = kmig_job_cancelled(&pc->job);
	if (!ret && f->start)
		ret = f->start(f, &pc->sink, err, sizeof(err));
	if (ret)
		return pc_fail(pc, ret, "%s", err[0] ? err : strerror(-ret));
	if (pc->o.stopped)	/* paused for the one pass: nothing to track */
		return 0;
	ret = kmig_dirty_start(pc->dirty);
	if (ret)
		return pc_fail(pc, ret, "%s", kmig_dirty_error(pc->dirty));
	return 0;
}

static int setup(struct kmig_precopy *pc)
{
	int ret = setup_vmm(pc);

	if (!ret)
		ret = setup_sink(pc);
	kmig_job_lock(&pc->job);
	pc->st.setup_ns = kmig_now_ns() - pc->t_start;
	kmig_job_unlock(&pc->job);
	return ret;
}

static void vmm_error(struct kmig_precopy *pc, const char *what, int ret)
{
	const char *t = kmig_vmmp_last_error(pc->vmm);

	kmig_job_also(&pc->job, what, t[0] ? t : strerror(-ret));
}

/* Stop dirty logging after the data or the recovery, never in downtime:
 * lazily (the module's deferred stop returns at once), then wait for the
 * stop's end outside any window that matters, so that the report and the
 * VMM tell the truth about it. */
static void stop_logging(struct kmig_precopy *pc)
{
	uint64_t t0 = kmig_now_ns();
	int ret = pc->dirty ? kmig_dirty_stop(pc->dirty, KMIG_DIRTY_STOP_LAZY) : 0;
	const char *t;

	pc->stop_after_ns = pc->dirty && pc->dirty->st.stops ? kmig_now_ns() - t0 : 0;
	if (!ret && pc->dirty)
		ret = kmig_dirty_settle(pc->dirty, LOG_STOP_WAIT_MS);
	if (ret) {
		t = kmig_dirty_error(pc->dirty);
		kmig_job_also(&pc->job, "stopping dirty logging", t[0] ? t : strerror(-ret));
	}
}

/* What the report says about the source after a failure: asked, not
 * assumed (its VMM may be the thing that failed). */
static void confirm_source(struct kmig_precopy *pc)
{
	struct kmig_vmmp_status qs;

	if (!pc->vmm) {		/* never connected: nothing was done to it */
		pc->source_end = pc->source_dirty_log = "untouched";
		return;
	}
	if (kmig_vmmp_query(pc->vmm, &qs)) {
		pc->source_end = pc->source_dirty_log = "unknown";
		return;
	}
	pc->source_end = qs.state == KMIG_VMMP_STATE_RUNNING ? "running" :
			 qs.state == KMIG_VMMP_STATE_PAUSED ? "paused" : "unknown";
	pc->source_dirty_log = qs.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG ? "on" : "off";
}

void kmig_precopy_resume_source(struct kmig_precopy *pc)
{
	int ret;

	if (!pc->paused)
		return;
	ret = kmig_vmmp_resume(pc->vmm);
	if (ret)
		vmm_error(pc, "RESUME", ret);
	pc->paused = ret != 0;
	if (!pc->paused && pc->t_paused) {
		kmig_job_lock(&pc->job);
		pc->st.max_pause_ns = KMIG_MAX(pc->st.max_pause_ns, kmig_now_ns() - pc->t_paused);
		kmig_job_unlock(&pc->job);
		pc->t_paused = 0;
	}
}

/*
 * Before COMMIT (or after a commit that failed for sure): the source
 * guest runs on as if nothing happened. It resumes first, as after a
 * strict abort (abort_sink(), precopy.c): only this thread sends COMMIT,
 * so none can follow whatever the order, and the sink's cancel (a stream
 * shuts its channels, wakes its threads, and the peer learns of it) must
 * not add to the guest's pause (27 ms once, under load, when it came
 * first). A cancel (kmig_precopy_cancel()) has closed the sink already,
 * from its own thread, to end the job's waits.
 */
static void recover(struct kmig_precopy *pc, int err)
{
	int ret;

	kmig_precopy_resume_source(pc);
	kmig_job_hook(&pc->job, "recovering");
	if (pc->sink.ops)	/* a stream closes */
		pc->sink.ops->cancel(pc->sink.p, err);
	if (pc->conv.throttle != pc->throttle0) {
		ret = kmig_vmmp_throttle(pc->vmm, pc->throttle0, NULL);
		if (ret)
			vmm_error(pc, "restoring the throttle", ret);
		else
			pc->conv.throttle = pc->throttle0;
	}
	stop_logging(pc);
	confirm_source(pc);
}

/* After the commit: logging off (lazily where possible), then the source
 * VMM quits, as after any real migration, or goes on (a save), or stays
 * paused, as asked. */
static void finish_source(struct kmig_precopy *pc)
{
	int ret;

	if (!pc->o.stop_in_downtime)
		stop_logging(pc);
	if (pc->o.resume_source)
		kmig_precopy_resume_source(pc);
	confirm_source(pc);	/* dirty logging really off? */
	if (pc->o.keep_source || pc->o.resume_source) {
		if (pc->o.keep_source)
			pc->source_end = "paused";
		return;
	}
	ret = kmig_vmmp_quit(pc->vmm, KMIG_VMMP_QUIT_F_EXIT);
	if (ret)
		vmm_error(pc, "QUIT", ret);
	pc->source_end = ret ? "paused" : "quit";
}

/* In COMMIT, a failed commit leaves the outcome unknown unless the sink
 * knows it did not commit (kmig_precopy_switchover() returns -EREMOTEIO
 * then). */
static enum kmig_migrate_state end_state(struct kmig_precopy *pc, int ret)
{
	if (!ret)
		return KMIG_MIGRATE_COMPLETED;
	if (kmig_job_state(&pc->job) == KMIG_MIGRATE_COMMIT && ret != -EREMOTEIO)
		return KMIG_MIGRATE_IN_DOUBT;
	return ret == -ECANCELED ? KMIG_MIGRATE_CANCELLED : KMIG_MIGRATE_FAILED;
}

int kmig_precopy_run(struct kmig_precopy *pc)
{
	enum kmig_migrate_state end;
	int ret;

	pc->t_start = kmig_now_ns();
	ret = setup(pc);
	if (!ret && !pc->o.stopped)
		ret = kmig_precopy_iterate(pc);
	while (!ret) {
		ret = kmig_precopy_switchover(pc);
		if (ret != -EAGAIN)
			break;
		ret = kmig_precopy_iterate(pc);	/* after a strict abort */
	}
	end = end_state(pc, ret);
	kmig_job_ended(&pc->job, ret);
	kmig_job_lock(&pc->job);
	pc->st.total_ns = kmig_now_ns() - pc->t_start;
	kmig_job_unlock(&pc->job);
	if (end == KMIG_MIGRATE_COMPLETED) {
		finish_source(pc);
	} else if (end == KMIG_MIGRATE_IN_DOUBT) {
		pc->sink.ops->cancel(pc->sink.p, ret);
		stop_logging(pc);
		confirm_source(pc);
	} else {
		recover(pc, ret);
	}
	kmig_job_set_state(&pc->job, end);
	kmig_precopy_publish(pc);
	return ret;
}

void kmig_precopy_stats(struct kmig_precopy *pc, struct kmig_migrate_stats *st)
{
	kmig_job_lock(&pc->job);
	*st = pc->st;
	st->state = pc->job.state;
	snprintf(st->error, sizeof(st->error), "%s", pc->job.error);
	if (pc->sink.ops)
		pc->sink.ops->stats(pc->sink.p, &st->stream);
	kmig_job_unlock(&pc->job);
	if (st->state < KMIG_MIGRATE_COMPLETED && pc->t_start)
		st->total_ns = kmig_now_ns() - pc->t_start;
	kmig_precopy_progress(st);
}

void kmig_precopy_destroy(struct kmig_precopy *pc)
{
	if (!pc)
		return;
	kmig_job_set_wake(&pc->job, NULL, NULL);
	if (pc->sink.ops)
		pc->sink.ops->destroy(pc->sink.p);
	kmig_dirty_close(pc->dirty);
	kmig_ram_free(&pc->ram);
	kmig_vmmp_memmap_free(pc->mm);
	if (pc->vmm)
		kmig_vmmp_client_close(pc->vmm);
	free(pc->devstate);
	kmig_strict_fini(&pc->strict);
	kmig_job_fini(&pc->job);
	if (pc->f->release)
		pc->f->release(pc->f);
	free(pc);
}

struct kmig_sink_factory *kmig_precopy_factory(struct kmig_precopy *pc)
{
	return pc->f;
}
