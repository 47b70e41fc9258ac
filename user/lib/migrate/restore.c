// SPDX-License-Identifier: GPL-2.0
/*
 * kmig restore: validate a snapshot file completely, read its present
 * pages in parallel into a waiting VMM's memfds, then SET_DEVICE_STATE
 * and COMMIT in one batch (restore.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/hook.h"
#include "vmmp/ram_vmm.h"
#include "migrate/restore.h"
#include "snap/snap_load.h"
#include "kmig/vmm_proto_client.h"

#define NEEDED_OPS ((1U << KMIG_VMMP_GET_SLOTS) | (1U << KMIG_VMMP_SET_DEVICE_STATE) | \
		    (1U << KMIG_VMMP_COMMIT))

struct kmig_restore {
	struct kmig_restore_opts o;
	pthread_mutex_t lock;		/* st, committing */
	struct kmig_restore_stats st;
	int cancel;			/* atomic: polled by the readers */
	bool committing;
	bool touched;			/* pages were written into the VM */
	struct kmig_vmmp_client *vmm;
	struct kmig_vmmp_memmap *mm;
	struct kmig_ram ram;
	struct kmig_snap *snap;
	uint64_t t_start;
};

static int fail(struct kmig_restore *r, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct kmig_restore *r, int ret, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->st.error[0]) {
		va_start(ap, fmt);
		vsnprintf(r->st.error, sizeof(r->st.error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static const char *vmm_error(struct kmig_restore *r, int ret)
{
	const char *t = kmig_vmmp_last_error(r->vmm);

	return t[0] ? t : strerror(-ret);
}

int kmig_restore_create(struct kmig_restore **out, const struct kmig_restore_opts *o)
{
	struct kmig_restore *r;

	if (!o->vmm_path || !o->file || o->nr_threads > KMIG_MAX_WORKERS)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->o.nr_threads = o->nr_threads ?: 2;
	r->st.status = "restoring";
	r->st.vmm_end = "waiting";
	kmig_ram_init(&r->ram);
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

static int cancelled(void *arg);

/* The VMM must wait for an incoming guest; map its memfds for writing. */
static int setup_vmm(struct kmig_restore *r)
{
	struct kmig_vmmp_client_opts vo = {
		.name = "kmig restore", .timeout_ms = r->o.vmm_timeout_ms,
		.cancelled = cancelled, .cancel_arg = r,
	};
	const struct kmig_vmmp_info *info;
	int ret = kmig_vmmp_connect_opts(r->o.vmm_path, &vo, &r->vmm);

	if (ret)
		return fail(r, ret, "connecting to the VMM at %s: %s", r->o.vmm_path,
			    strerror(-ret));
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
	r->st.ram_bytes = kmig_ram_total(&r->ram);
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
	pthread_mutex_lock(&r->lock);
	snprintf(r->st.io, sizeof(r->st.io), "%s", r->snap->f.io);
	r->st.file_size = r->snap->h.file_size;
	r->st.devstate_bytes = r->snap->h.devstate_len;
	r->st.data_crc = r->snap->h.flags & KMIG_SNAP_F_DATA_CRC;
	r->st.live = r->snap->h.flags & KMIG_SNAP_F_LIVE;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int read_pages(struct kmig_restore *r)
{
	struct kmig_err e = { 0 };
	struct kmig_stats st;
	int ret;

	r->touched = true;
	ret = kmig_snap_read(r->snap, &r->ram, r->o.nr_threads, &r->cancel, &st, &e);
	pthread_mutex_lock(&r->lock);
	r->st.read = st;
	r->st.read.ram_bytes = r->st.ram_bytes;
	r->st.read.devstate_bytes = r->st.devstate_bytes;
	pthread_mutex_unlock(&r->lock);
	if (ret)
		return fail(r, ret, "%s", e.msg);
	return 0;
}

static int cancelled(void *arg)
{
	struct kmig_restore *r = arg;

	return __atomic_load_n(&r->cancel, __ATOMIC_RELAXED);
}

/* Device state staged, then COMMIT: memslots and vCPUs in one batch. */
static int commit(struct kmig_restore *r)
{
	uint64_t t0 = kmig_now_ns();
	int ret;

	kmig_hook_run("restore-commit", cancelled, r);
	pthread_mutex_lock(&r->lock);
	ret = __atomic_load_n(&r->cancel, __ATOMIC_RELAXED) ? -ECANCELED : 0;
	r->committing = !ret;
	pthread_mutex_unlock(&r->lock);
	if (ret)
		return fail(r, ret, "cancelled");
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
	const char *end = "waiting";

	if (r->vmm && (r->touched || !r->o.keep_vmm))
		end = kmig_vmmp_quit(r->vmm, KMIG_VMMP_QUIT_F_EXIT) ? "gone" : "quit";
	pthread_mutex_lock(&r->lock);
	r->st.vmm_end = r->vmm ? end : "unknown";
	r->st.status = ret == -ECANCELED ? "cancelled" : "failed";
	pthread_mutex_unlock(&r->lock);
}

static int phase(struct kmig_restore *r, int (*fn)(struct kmig_restore *), uint64_t *ns)
{
	uint64_t t0 = kmig_now_ns();
	int ret = fn(r);

	pthread_mutex_lock(&r->lock);
	*ns = kmig_now_ns() - t0;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int kmig_restore_run(struct kmig_restore *r)
{
	uint64_t ignored;
	int ret;

	r->t_start = kmig_now_ns();
	ret = phase(r, setup_vmm, &r->st.connect_ns);
	if (!ret)
		ret = phase(r, validate, &r->st.validate_ns);
	if (!ret)
		ret = phase(r, read_pages, &r->st.read_ns);
	if (!ret)
		ret = phase(r, commit, &ignored);
	if (ret) {
		give_up(r, ret);
	} else {
		pthread_mutex_lock(&r->lock);
		r->st.status = r->st.vmm_end = "running";
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&r->lock);
	r->st.total_ns = kmig_now_ns() - r->t_start;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int kmig_restore_cancel(struct kmig_restore *r)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	ret = r->committing ? -EBUSY : 0;
	if (!ret)
		__atomic_store_n(&r->cancel, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void kmig_restore_stats(struct kmig_restore *r, struct kmig_restore_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->st;
	pthread_mutex_unlock(&r->lock);
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
	pthread_mutex_destroy(&r->lock);
	free(r);
}
