// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, destination side: the VMM's memfds as the receiver's
 * RAM, a watchdog on the VMM's socket while pages arrive, then staging,
 * the source's COMMIT, and the VMM's one-batch COMMIT. The source's ABORT
 * (a strict downtime limit) sends it back to receiving: the VMM drops the
 * staged device state, its guest never runs, the pages go on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/job.h"
#include "migrate/incoming.h"
#include "vmmp/ram_vmm.h"
#include "kmig/vmm_proto_client.h"

#define NEEDED_OPS ((1U << KMIG_VMMP_GET_SLOTS) | (1U << KMIG_VMMP_SET_DEVICE_STATE) | \
		    (1U << KMIG_VMMP_COMMIT))

struct kmig_incoming {
	struct kmig_incoming_opts o;
	struct kmig_job job;		/* its lock guards st */
	struct kmig_incoming_stats st;

	struct kmig_vmmp_client *vmm;
	struct kmig_vmmp_memmap *mm;
	struct kmig_ram ram;
	struct kmig_recv *r;
	int stop_fd;			/* eventfd: ends the watchdog */
	uint64_t t_start;
};

static const char *const state_names[] = {
	[KMIG_INCOMING_LISTENING] = "listening", [KMIG_INCOMING_RECEIVING] = "receiving",
	[KMIG_INCOMING_PREPARED] = "prepared", [KMIG_INCOMING_COMMITTING] = "committing",
	[KMIG_INCOMING_RUNNING] = "running", [KMIG_INCOMING_CANCELLED] = "cancelled",
	[KMIG_INCOMING_FAILED] = "failed",
};

/* Committing (the VMM's COMMIT runs the guest) is the point of no return. */
static const struct kmig_job_desc job_desc = {
	.names = state_names, .nr = KMIG_ARRAY_SIZE(state_names),
	.no_return = KMIG_INCOMING_COMMITTING, .done = KMIG_INCOMING_RUNNING, .during = "while",
};

const char *kmig_incoming_state_name(enum kmig_incoming_state s)
{
	return kmig_job_state_name(&job_desc, s);
}

void kmig_incoming_opts_init(struct kmig_incoming_opts *o)
{
	memset(o, 0, sizeof(*o));
}

/* Statistics are read by other threads: written under the lock. */
#define SET(in, field, v) do {				\
	kmig_job_lock(&(in)->job);			\
	(in)->st.field = (v);				\
	kmig_job_unlock(&(in)->job);			\
} while (0)

#define fail(in, ret, ...)	kmig_job_fail(&(in)->job, ret, __VA_ARGS__)

const char *kmig_incoming_error(const struct kmig_incoming *in)
{
	return in->job.error;
}

static const char *vmm_error(struct kmig_incoming *in, int ret)
{
	const char *t = kmig_vmmp_last_error(in->vmm);

	return t[0] ? t : strerror(-ret);
}

/* The VMM must hold a guest that waits for us. */
static int setup_vmm(struct kmig_incoming *in)
{
	char why[KMIG_JOB_ERR_MAX] = "";
	struct kmig_vmmp_client_opts vo = {
		.name = "kmig incoming", .timeout_ms = in->o.vmm_timeout_ms,
		.cancelled = kmig_job_poll_cancel, .cancel_arg = &in->job,
		.err = why, .err_len = sizeof(why),
	};
	const struct kmig_vmmp_info *info;
	const char *which;
	int ret = kmig_vmmp_connect_opts(in->o.vmm_path, &vo, &in->vmm);

	if (ret)
		return fail(in, ret, "connecting to the destination VMM at %s: %s",
			    in->o.vmm_path, why[0] ? why : strerror(-ret));
	info = kmig_vmmp_info(in->vmm);
	if (!(info->vm_flags & KMIG_VMMP_VM_F_INCOMING))
		return fail(in, -EINVAL, "the VMM at %s is not waiting for an incoming "
			    "migration (start it with --incoming)", in->o.vmm_path);
	if ((info->ops & NEEDED_OPS) != NEEDED_OPS)
		return fail(in, -EOPNOTSUPP, "the VMM implements requests %#x, kmig incoming "
			    "needs %#x", info->ops, NEEDED_OPS);
	ret = kmig_vmmp_get_slots(in->vmm, &in->mm);
	if (ret)
		return fail(in, ret, "GET_SLOTS: %s", vmm_error(in, ret));
	ret = kmig_ram_from_vmm(&in->ram, in->mm, true);
	if (ret)
		return fail(in, ret, "mapping the VMM's memfds: %s", strerror(-ret));
	/*
	 * The guest comes whole from the source: pages it never wrote must be
	 * zero here, and the receiver skips zero pages it did not write. A VMM
	 * kept after a failed session (--keep-vmm, or a helper that was
	 * killed) still holds that session's pages: clear them first.
	 */
	ret = kmig_ram_clear(&in->ram, &which);
	if (ret)
		return fail(in, ret, "clearing the destination's memory (block %s): %s", which,
			    strerror(-ret));
	SET(in, ram_bytes, kmig_ram_total(&in->ram));
	return 0;
}

static void wake_recv(void *arg, int err)
{
	kmig_recv_cancel(arg, err);
}

int kmig_incoming_create(struct kmig_incoming **out, const struct kmig_incoming_opts *o)
{
	struct kmig_incoming *in = calloc(1, sizeof(*in));
	struct kmig_recv_opts ro = o->stream;
	int ret;

	*out = in;
	if (!in)
		return -ENOMEM;
	in->o = *o;
	if (!in->o.commit_timeout_ms)
		in->o.commit_timeout_ms = 30000;
	in->stop_fd = -1;
	in->st.vmm_end = "waiting";
	kmig_ram_init(&in->ram);
	kmig_job_init(&in->job, &job_desc);
	in->t_start = kmig_now_ns();
	ret = setup_vmm(in);
	if (ret)
		return ret;
	in->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (in->stop_fd < 0)
		return fail(in, -errno, "eventfd: %s", strerror(errno));
	ro.switchover = 1;
	ret = kmig_recv_create(&in->r, &ro, &in->ram);
	if (!ret) {
		kmig_job_set_wake(&in->job, wake_recv, in->r);
		ret = kmig_recv_listen(in->r, o->host, o->port);
	}
	if (ret)
		return fail(in, ret, "listening on %s:%s: %s", o->host ? o->host : "",
			    o->port, strerror(-ret));
	return 0;
}

uint16_t kmig_incoming_port(const struct kmig_incoming *in)
{
	return in->r ? kmig_recv_port(in->r) : 0;
}

static int set_state(struct kmig_incoming *in, enum kmig_incoming_state st)
{
	return kmig_job_set_state(&in->job, st);
}

int kmig_incoming_cancel(struct kmig_incoming *in, const char *why)
{
	return kmig_job_cancel(&in->job, why);
}

/* While pages arrive nobody talks to the VMM; if its socket closes (the
 * VMM died), there is no guest to migrate into any more: fail now. */
static void *watchdog(void *arg)
{
	struct kmig_incoming *in = arg;
	struct pollfd p[2] = {
		{ .fd = kmig_vmmp_client_fd(in->vmm), .events = POLLIN | POLLRDHUP },
		{ .fd = in->stop_fd, .events = POLLIN },
	};

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[0].revents && !p[1].revents)
		kmig_recv_abort(in->r, -EPIPE, "destination VMM: its socket closed "
				"(did it exit?): no guest to migrate into");
	return NULL;
}

static int receive(struct kmig_incoming *in)
{
	uint64_t one = 1, t0 = kmig_now_ns();
	pthread_t wd;
	int ret = set_state(in, KMIG_INCOMING_RECEIVING);

	kmig_job_hook(&in->job, "listening");
	ret = -pthread_create(&wd, NULL, watchdog, in);
	if (ret)
		return fail(in, ret, "watchdog thread: %s", strerror(-ret));
	ret = kmig_recv_run(in->r);
	if (write(in->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();	/* an eventfd write of 1 cannot fail */
	pthread_join(wd, NULL);
	/* Reset for the next round (after an ABORT): reading an eventfd
	 * with a count cannot fail. */
	if (read(in->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	SET(in, receive_ns, kmig_now_ns() - t0);
	if (ret)
		return fail(in, ret, "receiving: %s", kmig_recv_error(in->r));
	return 0;
}

/* The device state to the VMM (validated and staged, not applied). */
static int stage(struct kmig_incoming *in)
{
	char msg[KMIG_ERR_MAX];
	uint64_t t0 = kmig_now_ns();
	const void *blob;
	size_t len;
	int ret;

	kmig_job_hook(&in->job, "received");
	kmig_job_hook(&in->job, "received-%u", in->st.aborts);
	if (kmig_job_cancelled(&in->job))
		return -ECANCELED;
	blob = kmig_recv_devstate(in->r, &len);
	if (!blob) {
		ret = -EPROTO;
		snprintf(msg, sizeof(msg), "the source sent no device state");
	} else {
		ret = kmig_vmmp_set_device_state(in->vmm, blob, len);
		snprintf(msg, sizeof(msg), "destination VMM: handing over the device state: %s",
			 ret ? vmm_error(in, ret) : "");
	}
	SET(in, devstate_ns, kmig_now_ns() - t0);
	SET(in, devstate_bytes, len);
	if (ret) {
		kmig_recv_abort(in->r, ret, msg);
		return fail(in, ret, "%s", msg);
	}
	return set_state(in, KMIG_INCOMING_PREPARED);
}

/* The source's ABORT: what the VMM staged goes (a VMM without the request
 * replaces it at the next SET_DEVICE_STATE), then receiving again. */
static int aborted(struct kmig_incoming *in)
{
	const struct kmig_vmmp_info *info = kmig_vmmp_info(in->vmm);
	int ret = 0;

	kmig_job_lock(&in->job);
	in->st.aborts++;
	kmig_job_unlock(&in->job);
	if (info->ops & (1U << KMIG_VMMP_DROP_DEVICE_STATE))
		ret = kmig_vmmp_drop_device_state(in->vmm);
	if (ret) {
		kmig_recv_abort(in->r, ret, "destination VMM: DROP_DEVICE_STATE failed");
		return fail(in, ret, "destination VMM: DROP_DEVICE_STATE: %s", vmm_error(in, ret));
	}
	SET(in, drops, in->st.drops + !!(info->ops & (1U << KMIG_VMMP_DROP_DEVICE_STATE)));
	kmig_job_hook(&in->job, "aborted");
	return -EAGAIN;
}

static int await_commit(struct kmig_incoming *in)
{
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_recv_await_commit(in->r, in->o.commit_timeout_ms);

	SET(in, wait_commit_ns, kmig_now_ns() - t0);
	if (ret == -EAGAIN)
		return aborted(in);
	if (ret)
		return fail(in, ret, "%s", kmig_recv_error(in->r));
	kmig_job_hook(&in->job, "commit");
	ret = set_state(in, KMIG_INCOMING_COMMITTING);
	if (ret)
		kmig_recv_abort(in->r, ret, "cancelled at the destination before its COMMIT");
	return ret;
}

/* The VMM's one batch: memslots and state, then the guest runs. */
static int commit(struct kmig_incoming *in)
{
	uint64_t t0 = kmig_now_ns();
	struct kmig_resumed rep;
	char msg[KMIG_ERR_MAX];
	int ret = kmig_vmmp_commit(in->vmm);

	SET(in, commit_ns, kmig_now_ns() - t0);
	SET(in, vmm_commit_ns, kmig_vmmp_last_duration_ns(in->vmm));
	if (ret) {
		snprintf(msg, sizeof(msg), "destination VMM: COMMIT: %s", vmm_error(in, ret));
		kmig_recv_abort(in->r, ret, msg);
		return fail(in, ret, "%s", msg);
	}
	set_state(in, KMIG_INCOMING_RUNNING);
	SET(in, vmm_end, "running");
	kmig_job_hook(&in->job, "resumed");
	rep = (struct kmig_resumed){ .devstate_ns = in->st.devstate_ns,
				     .commit_ns = in->st.vmm_commit_ns,
				     .total_ns = kmig_now_ns() - t0 };
	SET(in, resumed_ns, rep.total_ns);
	if (kmig_recv_resumed(in->r, &rep)) {
		kmig_job_lock(&in->job);
		snprintf(in->st.warning, sizeof(in->st.warning), "the guest runs here, but "
			 "RESUMED did not reach the source (%s): it stays paused there",
			 kmig_recv_error(in->r));
		kmig_job_unlock(&in->job);
	}
	return 0;
}

/* The guest never ran here: tell the VMM to go, unless asked not to. */
static void give_up(struct kmig_incoming *in, int ret)
{
	bool was_cancel = kmig_job_ended(&in->job, ret);
	const char *end = "waiting";

	if (in->r)
		kmig_recv_cancel(in->r, ret);
	if (in->vmm && !in->o.keep_vmm)
		end = kmig_vmmp_quit(in->vmm, KMIG_VMMP_QUIT_F_EXIT) ? "gone" : "quit";
	SET(in, vmm_end, in->vmm ? end : "unknown");
	set_state(in, was_cancel ? KMIG_INCOMING_CANCELLED : KMIG_INCOMING_FAILED);
}

int kmig_incoming_run(struct kmig_incoming *in)
{
	int ret;

	do {
		ret = receive(in);
		if (!ret)
			ret = stage(in);
		if (!ret)
			ret = await_commit(in);
	} while (ret == -EAGAIN);	/* the source's ABORT */
	if (!ret)
		ret = commit(in);
	if (ret)
		give_up(in, ret);
	SET(in, total_ns, kmig_now_ns() - in->t_start);
	return ret;
}

void kmig_incoming_stats(struct kmig_incoming *in, struct kmig_incoming_stats *st)
{
	kmig_job_lock(&in->job);
	*st = in->st;
	st->state = in->job.state;
	snprintf(st->error, sizeof(st->error), "%s", in->job.error);
	kmig_job_unlock(&in->job);
	if (in->r)
		kmig_recv_stats(in->r, &st->stream);
	if (st->state < KMIG_INCOMING_RUNNING)
		st->total_ns = kmig_now_ns() - in->t_start;
}

void kmig_incoming_destroy(struct kmig_incoming *in)
{
	if (!in)
		return;
	kmig_job_set_wake(&in->job, NULL, NULL);
	kmig_recv_destroy(in->r);
	kmig_ram_free(&in->ram);
	kmig_vmmp_memmap_free(in->mm);
	if (in->vmm)
		kmig_vmmp_client_close(in->vmm);
	if (in->stop_fd >= 0)
		close(in->stop_fd);
	kmig_job_fini(&in->job);
	free(in);
}
