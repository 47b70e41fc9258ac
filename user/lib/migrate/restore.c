// SPDX-License-Identifier: GPL-2.0
/*
 * kmig restore: validate a snapshot file completely, read its present
 * pages in parallel into a waiting VMM's memfds, then SET_DEVICE_STATE
 * and COMMIT in one batch (restore.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/job.h"
#include "base/thp.h"
#include "vmmp/ram_vmm.h"
#include "migrate/restore.h"
#include "snap/snap_load.h"
#include "kmig/vmm_proto_client.h"

#define NEEDED_OPS ((1U << KMIG_VMMP_GET_SLOTS) | (1U << KMIG_VMMP_SET_DEVICE_STATE) | \
		    (1U << KMIG_VMMP_COMMIT))

/* The job's states: the status string is derived from them. */
enum { R_CONNECT, R_VALIDATE, R_READ, R_COMMIT, R_RUNNING, R_CANCELLED, R_FAILED };

static const char *const state_names[] = {
	[R_CONNECT] = "connecting", [R_VALIDATE] = "validating", [R_READ] = "reading",
	[R_COMMIT] = "committing", [R_RUNNING] = "running", [R_CANCELLED] = "cancelled",
	[R_FAILED] = "failed",
};

/* Once SET_DEVICE_STATE and COMMIT go to the VMM, a cancel is refused. */
static const struct kmig_job_desc job_desc = {
	.names = state_names, .nr = KMIG_ARRAY_SIZE(state_names),
	.no_return = R_COMMIT, .done = R_RUNNING, .during = "while",
};

struct kmig_restore {
	struct kmig_restore_opts o;
	struct kmig_job job;		/* its lock guards st */
	struct kmig_restore_stats st;
	int cancel;			/* atomic: polled by the readers */
	bool touched;			/* pages were written into the VM */
	struct kmig_vmmp_client *vmm;
	struct kmig_vmmp_memmap *mm;
	struct kmig_ram ram;
	struct kmig_snap *snap;
	struct kmig_snap_done done;	/* the readers add to it */
	uint64_t t_start, t_read;
	uint64_t present;		/* the file's present pages (under the lock) */
};

#define fail(r, ret, ...)	kmig_job_fail(&(r)->job, ret, __VA_ARGS__)

static const char *vmm_error(struct kmig_restore *r, int ret)
{
	const char *t = kmig_vmmp_last_error(r->vmm);

	return t[0] ? t : strerror(-ret);
}

/* The readers poll r->cancel: a cancel sets it. */
static void wake_readers(void *arg, int err)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELAXED);
}

int kmig_restore_create(struct kmig_restore **out, const struct kmig_restore_opts *o)
{
	struct kmig_restore *r;

	if (!o->vmm_path || !o->file || o->nr_threads > KMIG_MAX_WORKERS ||
	    o->huge_pages > KMIG_RESTORE_HUGE_NEVER)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->o.nr_threads = o->nr_threads ?: 2;
	r->st.vmm_end = "waiting";
	kmig_ram_init(&r->ram);
	kmig_job_init(&r->job, &job_desc);
	kmig_job_set_wake(&r->job, wake_readers, &r->cancel);
	*out = r;
	return 0;
}

const char *const kmig_restore_huge_names[] = { "auto", "never", NULL };

/*
 * The reads fault the fresh memfd pages in through this mapping: under
 * THP "advise" only its MADV_HUGEPAGE makes them huge (restore.h). The
 * holes kmig_ram_clear() punched before are fresh ranges like any other.
 */
static void huge_pages(struct kmig_restore *r)
{
	unsigned int n = 0;

	if (r->o.huge_pages == KMIG_RESTORE_HUGE_AUTO)
		for (unsigned int i = 0; i < r->ram.nr; i++) {
			struct kmig_ram_block *b = &r->ram.blocks[i];

			n += kmig_thp_advise(b->fd, b->base, b->size, false);
		}
	r->st.nr_blocks = r->ram.nr;
	r->st.huge_blocks = n;
}

/* The VMM must wait for an incoming guest; map its memfds for writing. */
static int setup_vmm(struct kmig_restore *r)
{
	char why[KMIG_JOB_ERR_MAX] = "";
	struct kmig_vmmp_client_opts vo = {
		.name = "kmig restore", .timeout_ms = r->o.vmm_timeout_ms,
		.cancelled = kmig_job_poll_cancel, .cancel_arg = &r->job,
		.err = why, .err_len = sizeof(why),
	};
	const struct kmig_vmmp_info *info;
	const char *which;
	int ret = kmig_vmmp_connect_opts(r->o.vmm_path, &vo, &r->vmm);

	if (ret)
		return fail(r, ret, "connecting to the VMM at %s: %s", r->o.vmm_path,
			    why[0] ? why : strerror(-ret));
	info = kmig_vmmp_info(r->vmm);
	if (!(info->vm_flags & KMIG_VMMP_VM_F_INCOMING))
		return fail(r, -EINVAL, "the VMM at %s is not waiting for an incoming guest "
			    "(start it with --incoming)", r->o.vmm_path);
	if ((info->ops & NEEDED_OPS) != NEEDED_OPS)
		return fail(r, -EOPNOTSUPP, "the VMM implements requests %#x, kmig restore needs "
			    "%#x", info->ops, NEEDED_OPS);
	ret = kmig_vmmp_get_slots(r->vmm, &r->mm);
	if (ret)
		return fail(r, ret, "GET_SLOTS: %s", vmm_error(r, ret));
	ret = kmig_ram_from_vmm(&r->ram, r->mm, true);
	if (ret)
		return fail(r, ret, "mapping the VMM's memfds: %s", strerror(-ret));
	/* The file's holes are the guest's zero pages: no page of an earlier,
	 * failed session into this VMM may stay (see incoming.c). */
	ret = kmig_ram_clear(&r->ram, &which);
	if (ret)
		return fail(r, ret, "clearing the VMM's memory (block %s): %s", which,
			    strerror(-ret));
	r->st.ram_bytes = kmig_ram_total(&r->ram);
	huge_pages(r);
	return 0;
}

/*
 * The whole file, before anything touches the VM. Its blocks are matched
 * to the VM's right after its table: what a file claims is only read and
 * allocated once the VM's real layout backs the claim.
 */
static int validate(struct kmig_restore *r)
{
	struct kmig_snap_opts so = { .buffered = r->o.buffered, .layout = &r->ram, .keep = true };
	struct kmig_err e = { 0 };
	int ret = kmig_snap_open(&r->snap, r->o.file, &so, &e);

	if (ret)
		return fail(r, ret, "%s", e.msg);
	kmig_job_lock(&r->job);
	snprintf(r->st.io, sizeof(r->st.io), "%s", r->snap->f.io);
	r->st.file_size = r->snap->h.file_size;
	r->st.devstate_bytes = r->snap->h.devstate_len;
	r->st.data_crc = r->snap->h.flags & KMIG_SNAP_F_DATA_CRC;
	r->st.live = r->snap->h.flags & KMIG_SNAP_F_LIVE;
	r->present = r->snap->h.present_pages;
	kmig_job_unlock(&r->job);
	return 0;
}

static int read_pages(struct kmig_restore *r)
{
	struct kmig_err e = { 0 };
	struct kmig_stats st;
	int ret;

	r->touched = true;
	kmig_job_lock(&r->job);
	r->t_read = kmig_now_ns();
	kmig_job_unlock(&r->job);
	ret = kmig_snap_read(r->snap, &r->ram, r->o.nr_threads, &r->cancel, &r->done, &st, &e);
	kmig_job_lock(&r->job);
	r->st.read = st;
	r->st.read.ram_bytes = r->st.ram_bytes;
	r->st.read.devstate_bytes = r->st.devstate_bytes;
	kmig_job_unlock(&r->job);
	if (ret)
		return fail(r, ret, "%s", e.msg);
	return 0;
}

/* Device state staged, then COMMIT: memslots and vCPUs in one batch. */
static int commit(struct kmig_restore *r)
{
	uint64_t t0 = kmig_now_ns();
	int ret;

	kmig_job_hook(&r->job, "restore-commit");
	ret = kmig_job_set_state(&r->job, R_COMMIT);
	if (ret)
		return ret;
	ret = kmig_vmmp_set_device_state(r->vmm, r->snap->devstate, r->snap->h.devstate_len);
	r->st.devstate_ns = kmig_now_ns() - t0;
	if (ret)
		return fail(r, ret, "the VMM refused the device state of %s: %s", r->o.file,
			    vmm_error(r, ret));
	t0 = kmig_now_ns();
	ret = kmig_vmmp_commit(r->vmm);
	r->st.commit_ns = kmig_now_ns() - t0;
	if (ret)
		return fail(r, ret, "COMMIT: %s", vmm_error(r, ret));
	return 0;
}

/* The guest never ran: the VMM quits, unless it may still take a file. */
static void give_up(struct kmig_restore *r, int ret)
{
	bool was_cancel = kmig_job_ended(&r->job, ret);
	const char *end = "waiting";

	if (r->vmm && (r->touched || !r->o.keep_vmm))
		end = kmig_vmmp_quit(r->vmm, KMIG_VMMP_QUIT_F_EXIT) ? "gone" : "quit";
	kmig_job_lock(&r->job);
	r->st.vmm_end = r->vmm ? end : "unknown";
	kmig_job_unlock(&r->job);
	kmig_job_set_state(&r->job, was_cancel ? R_CANCELLED : R_FAILED);
}

static int phase(struct kmig_restore *r, unsigned int state, int (*fn)(struct kmig_restore *),
		 uint64_t *ns)
{
	uint64_t t0 = kmig_now_ns();
	int ret = 0;

	/* commit() enters its state itself: the point of no return. */
	if (state != R_COMMIT)
		ret = kmig_job_set_state(&r->job, state) ?: kmig_job_cancelled(&r->job);
	if (!ret)
		ret = fn(r);
	kmig_job_lock(&r->job);
	*ns = kmig_now_ns() - t0;
	kmig_job_unlock(&r->job);
	return ret;
}

int kmig_restore_run(struct kmig_restore *r)
{
	uint64_t ignored;
	int ret;

	r->t_start = kmig_now_ns();
	ret = phase(r, R_CONNECT, setup_vmm, &r->st.connect_ns);
	if (!ret)
		ret = phase(r, R_VALIDATE, validate, &r->st.validate_ns);
	if (!ret)
		ret = phase(r, R_READ, read_pages, &r->st.read_ns);
	if (!ret)
		ret = phase(r, R_COMMIT, commit, &ignored);
	if (ret) {
		give_up(r, ret);
	} else {
		kmig_job_set_state(&r->job, R_RUNNING);
		kmig_job_lock(&r->job);
		r->st.vmm_end = "running";
		kmig_job_unlock(&r->job);
	}
	kmig_job_lock(&r->job);
	r->st.total_ns = kmig_now_ns() - r->t_start;
	kmig_job_unlock(&r->job);
	return ret;
}

int kmig_restore_cancel(struct kmig_restore *r, const char *why)
{
	return kmig_job_cancel(&r->job, why);
}

/* What is left of the read, and when it should end: the present pages
 * not read yet at the rate so far (the device state and COMMIT after it
 * are a few milliseconds). Under the job's lock. */
static void progress(struct kmig_restore *r, struct kmig_restore_stats *st, unsigned int s)
{
	uint64_t present = r->present;
	uint64_t done = __atomic_load_n(&r->done.present, __ATOMIC_RELAXED);
	uint64_t ns = r->t_read ? kmig_now_ns() - r->t_read : 0;

	st->pages_done = __atomic_load_n(&r->done.pages, __ATOMIC_RELAXED);
	st->remaining_bytes = (present > done ? present - done : 0) * KMIG_PAGE_SIZE;
	st->rate = ns && s == R_READ ? done * KMIG_PAGE_SIZE * 1000000000ULL / ns :
		   st->read_ns ? st->read.sum.bytes_wire * 1000000000ULL / st->read_ns : 0;
	st->eta_ns = s >= R_COMMIT ? 0 : s == R_READ && st->rate ?
		     (uint64_t)((double)st->remaining_bytes / st->rate * 1e9) : UINT64_MAX;
}

void kmig_restore_stats(struct kmig_restore *r, struct kmig_restore_stats *st)
{
	unsigned int s;

	kmig_job_lock(&r->job);
	*st = r->st;
	s = r->job.state;
	progress(r, st, s);
	st->status = s == R_RUNNING || s == R_CANCELLED || s == R_FAILED ? state_names[s] :
		     "restoring";
	snprintf(st->error, sizeof(st->error), "%s", r->job.error);
	kmig_job_unlock(&r->job);
}

void kmig_restore_destroy(struct kmig_restore *r)
{
	if (!r)
		return;
	kmig_snap_close(r->snap);
	kmig_ram_free(&r->ram);
	kmig_vmmp_memmap_free(r->mm);
	if (r->vmm)
		kmig_vmmp_client_close(r->vmm);
	kmig_job_fini(&r->job);
	free(r);
}
