// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, source side: lifecycle, setup, cancel, the recovery
 * after a cancel or failure, and the end of a completed migration. The
 * iterations and the switchover are in precopy.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/hook.h"
#include "migrate/migrate_int.h"
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

const char *kmig_migrate_state_name(enum kmig_migrate_state s)
{
	return s <= KMIG_MIGRATE_IN_DOUBT ? state_names[s] : "?";
}

void kmig_migrate_opts_init(struct kmig_migrate_opts *o)
{
	memset(o, 0, sizeof(*o));
	kmig_send_opts_init(&o->stream);
}

int kmig_migrate_create(struct kmig_migrate **out, const struct kmig_migrate_opts *o)
{
	struct kmig_migrate *m;

	if (!o->vmm_path || (!o->open_sink && (!o->host || !o->port)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->o = *o;
	kmig_conv_init(&m->conv);
	if (o->downtime_limit_ns)
		m->conv.downtime_limit_ns = o->downtime_limit_ns;
	if (o->max_iterations)
		m->conv.max_iterations = o->max_iterations;
	m->conv.auto_converge = o->auto_converge;
	if (o->throttle_initial)
		m->conv.throttle_initial = o->throttle_initial;
	if (o->throttle_increment)
		m->conv.throttle_increment = o->throttle_increment;
	if (o->throttle_max)
		m->conv.throttle_max = o->throttle_max;
	if (!m->o.switchover_timeout_ms)
		m->o.switchover_timeout_ms = 30000;
	kmig_ram_init(&m->ram);
	pthread_mutex_init(&m->lock, NULL);
	m->st.downtime_limit_ns = m->conv.downtime_limit_ns;
	m->st.expected_downtime_ns = UINT64_MAX;
	m->source_end = m->st.source_end = "running";
	m->source_dirty_log = m->st.source_dirty_log = "off";
	*out = m;
	return 0;
}

int kmig_migrate_fail(struct kmig_migrate *m, int ret, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	if (!m->st.error[0]) {
		va_start(ap, fmt);
		vsnprintf(m->st.error, sizeof(m->st.error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int kmig_migrate_check_cancel(struct kmig_migrate *m)
{
	bool c;

	pthread_mutex_lock(&m->lock);
	c = m->cancel;
	pthread_mutex_unlock(&m->lock);
	return c ? -ECANCELED : 0;
}

int kmig_migrate_set_state(struct kmig_migrate *m, enum kmig_migrate_state st)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (st == KMIG_MIGRATE_COMMIT && m->cancel)
		ret = -ECANCELED;
	else
		m->st.state = m->state = st;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int kmig_migrate_cancel(struct kmig_migrate *m, const char *why)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (m->state == KMIG_MIGRATE_COMMIT) {
		ret = -EBUSY;
	} else if (m->state > KMIG_MIGRATE_COMMIT) {
		ret = -EALREADY;
	} else if (!m->cancel) {
		m->cancel = true;
		snprintf(m->cancel_why, sizeof(m->cancel_why), "%s during %s", why,
			 kmig_migrate_state_name(m->state));
		if (m->sink.ops)	/* wakes queue, flush, waits */
			m->sink.ops->cancel(m->sink.p, -ECANCELED);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int hook_cancelled(void *arg)
{
	return kmig_migrate_check_cancel(arg) != 0;
}

void kmig_migrate_hook(struct kmig_migrate *m, const char *point)
{
	kmig_hook_run(point, hook_cancelled, m);
}

void kmig_migrate_publish(struct kmig_migrate *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->dirty)
		m->st.dirty = m->dirty->st;
	m->st.throttle = m->conv.throttle;
	m->st.downtime = m->dt;
	m->st.stop_after_ns = m->stop_after_ns;
	m->st.source_end = m->source_end;
	m->st.source_dirty_log = m->source_dirty_log;
	m->st.throttle_peak = KMIG_MAX(m->st.throttle_peak, m->conv.throttle);
	pthread_mutex_unlock(&m->lock);
}

void kmig_migrate_add_row(struct kmig_migrate *m, const struct kmig_migrate_iter *it)
{
	struct kmig_migrate_stats *st = &m->st;

	pthread_mutex_lock(&m->lock);
	if (st->nr_rows == KMIG_MIGRATE_MAX_ROWS) {
		/* Keep row 0 (the first pass) and the latest ones. */
		memmove(&st->iter[1], &st->iter[2], (KMIG_MIGRATE_MAX_ROWS - 2) * sizeof(*it));
		st->nr_rows--;
	}
	st->iter[st->nr_rows++] = *it;
	st->iterations++;
	if (it->dirty_rate)
		st->dirty_rate = it->dirty_rate;
	if (it->bytes >= (1 << 20))
		st->bandwidth = it->bandwidth;
	pthread_mutex_unlock(&m->lock);
}

static int check_vmm(struct kmig_migrate *m, struct kmig_vmmp_status *qs)
{
	const struct kmig_vmmp_info *in = kmig_vmmp_info(m->vmm);
	uint32_t need = NEEDED_OPS | (m->o.auto_converge ? 1U << KMIG_VMMP_THROTTLE : 0);
	int ret;

	if (in->vm_flags & KMIG_VMMP_VM_F_INCOMING)
		return kmig_migrate_fail(m, -EINVAL, "the VMM at %s waits for an incoming "
					 "migration; it has no guest to send", m->o.vmm_path);
	if (!(in->vm_flags & KMIG_VMMP_VM_F_MANUAL_PROTECT))
		return kmig_migrate_fail(m, -EOPNOTSUPP, "the VMM's dirty logging is not in "
					 "manual-protect mode (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)");
	if ((in->ops & need) != need)
		return kmig_migrate_fail(m, -EOPNOTSUPP, "the VMM implements requests %#x, "
					 "kmig migrate needs %#x", in->ops, need);
	ret = kmig_vmmp_query(m->vmm, qs);
	if (ret)
		return kmig_migrate_fail(m, ret, "QUERY: %s", kmig_vmmp_last_error(m->vmm));
	/* A stopped save also takes a guest that is paused already. */
	m->found_paused = m->o.stopped && qs->state == KMIG_VMMP_STATE_PAUSED;
	if (qs->state != KMIG_VMMP_STATE_RUNNING && !m->found_paused)
		return kmig_migrate_fail(m, -EINVAL, "the source guest is not running (VMM "
					 "state %u, expected %u RUNNING)", qs->state,
					 KMIG_VMMP_STATE_RUNNING);
	return 0;
}

/* The source VMM: its slots, memfds and VM fd, and the dirty tracker. */
static int setup_vmm(struct kmig_migrate *m)
{
	struct kmig_vmmp_status qs;
	int ret = kmig_vmmp_connect(m->o.vmm_path, "kmig migrate", &m->vmm);

	if (ret)
		return kmig_migrate_fail(m, ret, "connecting to the source VMM at %s: %s",
					 m->o.vmm_path, strerror(-ret));
	ret = check_vmm(m, &qs);
	if (ret)
		return ret;
	m->throttle0 = qs.throttle;
	ret = kmig_vmmp_get_slots(m->vmm, &m->mm);
	if (ret)
		return kmig_migrate_fail(m, ret, "GET_SLOTS: %s", kmig_vmmp_last_error(m->vmm));
	ret = kmig_ram_from_vmm(&m->ram, m->mm, false);
	if (ret)
		return kmig_migrate_fail(m, ret, "mapping the guest's memfds: %s", strerror(-ret));
	ret = m->o.no_module ? kmig_dirty_open_fallback(&m->dirty, m->vmm, m->mm, "--no-module") :
	      kmig_dirty_open(&m->dirty, m->vmm, m->mm, m->o.kmig_dev);
	if (ret)
		return kmig_migrate_fail(m, ret, "dirty tracking: %s", strerror(-ret));
	pthread_mutex_lock(&m->lock);
	m->st.ram_bytes = kmig_ram_total(&m->ram);
	snprintf(m->st.dirty_path, sizeof(m->st.dirty_path), "%s", m->dirty->why);
	pthread_mutex_unlock(&m->lock);
	if (m->o.note && !m->o.no_module && strcmp(m->dirty->st.harvest_path, "module"))
		fprintf(m->o.note, "kmig: not using kmig.ko: %s\n", m->dirty->why);
	return 0;
}

/* The stream to the destination, or the caller's sink (a file). */
static int open_sink(struct kmig_migrate *m)
{
	struct kmig_send_opts so = m->o.stream;
	struct kmig_sink k = { &kmig_sink_send_ops, NULL };
	int vm_fd = m->o.no_module ? -1 : m->mm->vm_fd;	/* -1: no module zero scan */
	char err[256] = "";
	int ret;

	if (m->o.open_sink) {
		ret = m->o.open_sink(m->o.sink_arg, &m->ram, vm_fd, &k, err, sizeof(err));
		if (ret)
			return kmig_migrate_fail(m, ret, "%s", err[0] ? err : strerror(-ret));
	} else {
		so.switchover = 1;
		ret = kmig_send_create((struct kmig_send **)&k.p, &so, &m->ram);
		if (ret)
			return kmig_migrate_fail(m, ret, "creating the stream: %s", strerror(-ret));
	}
	pthread_mutex_lock(&m->lock);
	m->sink = k;
	m->s = m->o.open_sink ? NULL : k.p;
	snprintf(m->st.zero_path, sizeof(m->st.zero_path), "%s", m->o.no_module ?
		 "userspace fallback: --no-module" : k.ops->classify_path(k.p));
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* The channels to the destination, then dirty logging on. */
static int setup_stream(struct kmig_migrate *m)
{
	int ret = open_sink(m);

	if (ret)
		return ret;
	kmig_migrate_hook(m, "setup");
	ret = kmig_migrate_check_cancel(m);
	if (!ret && m->s)
		ret = kmig_send_connect(m->s, m->o.host, m->o.port);
	if (ret)
		return kmig_migrate_fail(m, ret, "connecting to the destination %s:%s: %s",
					 m->o.host, m->o.port, kmig_send_error(m->s));
	if (m->o.stopped)	/* paused for the one pass: nothing to track */
		return 0;
	ret = kmig_dirty_start(m->dirty);
	if (ret)
		return kmig_migrate_fail(m, ret, "%s", kmig_dirty_error(m->dirty));
	return 0;
}

static int setup(struct kmig_migrate *m)
{
	int ret = setup_vmm(m);

	if (!ret)
		ret = setup_stream(m);
	pthread_mutex_lock(&m->lock);
	m->st.setup_ns = kmig_now_ns() - m->t_start;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* Append "; then STEP failed: why" for a recovery step that failed. */
static void recovery_error(struct kmig_migrate *m, const char *what, int ret, const char *text)
{
	size_t len;

	pthread_mutex_lock(&m->lock);
	len = strlen(m->st.error);
	snprintf(m->st.error + len, sizeof(m->st.error) - len, "; then %s failed: %s", what,
		 text && text[0] ? text : strerror(-ret));
	pthread_mutex_unlock(&m->lock);
}

static void vmm_error(struct kmig_migrate *m, const char *what, int ret)
{
	recovery_error(m, what, ret, kmig_vmmp_last_error(m->vmm));
}

/* Stop dirty logging after the data or the recovery, never in downtime:
 * lazily (the module's deferred stop returns at once), then wait for the
 * stop's end outside any window that matters, so that the report and the
 * VMM tell the truth about it. */
static void stop_logging(struct kmig_migrate *m)
{
	uint64_t t0 = kmig_now_ns();
	int ret = m->dirty ? kmig_dirty_stop(m->dirty, KMIG_DIRTY_STOP_LAZY) : 0;

	m->stop_after_ns = m->dirty && m->dirty->st.stops ? kmig_now_ns() - t0 : 0;
	if (!ret && m->dirty)
		ret = kmig_dirty_settle(m->dirty, LOG_STOP_WAIT_MS);
	if (ret)
		recovery_error(m, "stopping dirty logging", ret, kmig_dirty_error(m->dirty));
}

/* What the report says about the source after a failure: asked, not
 * assumed (its VMM may be the thing that failed). */
static void confirm_source(struct kmig_migrate *m)
{
	struct kmig_vmmp_status qs;

	if (!m->vmm) {		/* never connected: nothing was done to it */
		m->source_end = m->source_dirty_log = "untouched";
		return;
	}
	if (kmig_vmmp_query(m->vmm, &qs)) {
		m->source_end = m->source_dirty_log = "unknown";
		return;
	}
	m->source_end = qs.state == KMIG_VMMP_STATE_RUNNING ? "running" :
			qs.state == KMIG_VMMP_STATE_PAUSED ? "paused" : "unknown";
	m->source_dirty_log = qs.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG ? "on" : "off";
}

/* Before COMMIT (or after the destination said it failed): the source
 * guest runs on as if nothing happened. */
static void recover(struct kmig_migrate *m, int err)
{
	int ret;

	if (m->sink.ops)	/* channels close: no COMMIT can follow */
		m->sink.ops->cancel(m->sink.p, err);
	if (m->paused) {
		ret = kmig_vmmp_resume(m->vmm);
		if (ret)
			vmm_error(m, "RESUME", ret);
		m->paused = ret != 0;
	}
	if (m->conv.throttle != m->throttle0) {
		ret = kmig_vmmp_throttle(m->vmm, m->throttle0, NULL);
		if (ret)
			vmm_error(m, "restoring the throttle", ret);
		else
			m->conv.throttle = m->throttle0;
	}
	stop_logging(m);
	confirm_source(m);
}

/* After RESUMED: logging off (lazily where possible), then the source VMM
 * quits, as after any real migration, unless told to stay paused. */
static void finish_source(struct kmig_migrate *m)
{
	int ret;

	if (!m->o.stop_in_downtime)
		stop_logging(m);
	if (m->o.resume_source && m->paused) {	/* a save: the guest goes on */
		ret = kmig_vmmp_resume(m->vmm);
		if (ret)
			vmm_error(m, "RESUME", ret);
		m->paused = ret != 0;
	}
	confirm_source(m);	/* dirty logging really off? */
	if (m->o.keep_source || m->o.resume_source) {
		if (m->o.keep_source)
			m->source_end = "paused";
		return;
	}
	ret = kmig_vmmp_quit(m->vmm, KMIG_VMMP_QUIT_F_EXIT);
	if (ret)
		vmm_error(m, "QUIT", ret);
	m->source_end = ret ? "paused" : "quit";
}

static enum kmig_migrate_state end_state(struct kmig_migrate *m, int ret)
{
	if (!ret)
		return KMIG_MIGRATE_COMPLETED;
	if (m->state == KMIG_MIGRATE_COMMIT && ret != -EREMOTEIO)
		return KMIG_MIGRATE_IN_DOUBT;
	return ret == -ECANCELED ? KMIG_MIGRATE_CANCELLED : KMIG_MIGRATE_FAILED;
}

int kmig_migrate_run(struct kmig_migrate *m)
{
	enum kmig_migrate_state end;
	int ret;

	m->t_start = kmig_now_ns();
	ret = setup(m);
	if (!ret && !m->o.stopped)
		ret = kmig_migrate_precopy(m);
	if (!ret)
		ret = kmig_migrate_switchover(m);
	end = end_state(m, ret);
	pthread_mutex_lock(&m->lock);
	m->st.total_ns = kmig_now_ns() - m->t_start;
	if (ret == -ECANCELED && m->cancel)
		snprintf(m->st.error, sizeof(m->st.error), "cancelled by %s", m->cancel_why);
	pthread_mutex_unlock(&m->lock);
	if (end == KMIG_MIGRATE_COMPLETED) {
		finish_source(m);
	} else if (end == KMIG_MIGRATE_IN_DOUBT) {
		kmig_send_cancel(m->s, ret);
		stop_logging(m);
		confirm_source(m);
	} else {
		recover(m, ret);
	}
	kmig_migrate_set_state(m, end);
	kmig_migrate_publish(m);
	return ret;
}

void kmig_migrate_stats(struct kmig_migrate *m, struct kmig_migrate_stats *st)
{
	pthread_mutex_lock(&m->lock);
	*st = m->st;
	if (m->sink.ops)
		m->sink.ops->stats(m->sink.p, &st->stream);
	pthread_mutex_unlock(&m->lock);
	if (st->state < KMIG_MIGRATE_COMPLETED && m->t_start)
		st->total_ns = kmig_now_ns() - m->t_start;
}

void kmig_migrate_destroy(struct kmig_migrate *m)
{
	if (!m)
		return;
	if (m->sink.ops)
		m->sink.ops->destroy(m->sink.p);
	kmig_dirty_close(m->dirty);
	kmig_ram_free(&m->ram);
	kmig_vmmp_memmap_free(m->mm);
	if (m->vmm)
		kmig_vmmp_client_close(m->vmm);
	free(m->devstate);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
