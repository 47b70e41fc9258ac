// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty tracking through kmig.ko: the module implementation of dirty.h,
 * function by function as the caller allows (KMIG_DIRTY_USE_*); what it
 * may not do goes through the VMM (dirty_vmm.c).
 *
 *  - harvest (USE_HARVEST): one kmig_harvest() of every slot, where the
 *    fallback asks the VMM for one slot at a time. With USE_CLASSIFY it
 *    passes KMIG_HARVEST_F_CLASSIFY: the module looks at each dirty page
 *    once, zero or not, and the sender threads never read a zero one.
 *  - first pass (USE_SCAN): after the first clear, one KMIG_ZERO_SCAN of
 *    every slot gives the zero bitmap of the whole first pass: holes and
 *    the zero page found from the page tables without reading, present
 *    pages read once in the kernel; the sender threads then neither look
 *    for holes nor zero-check. A piece of mostly populated memfd memory
 *    is left to the sender threads (kmig_dirty_dense()) unless
 *    USE_SCAN_DENSE: there the scan could only read every page, and its
 *    machine-check-safe read (copy_mc_to_kernel) on one thread measured
 *    slower than the threads' zero check in the pass that reads the pages
 *    anyway.
 *  - stop(LAZY) (USE_STOP): KMIG_LOG_STOP of every slot. The call returns
 *    at once; a kernel worker turns logging off slot by slot (KVM recovers
 *    the huge pages there, not on our path). settle() waits for the
 *    request's end (the netlink event, or KMIG_LOG_STOP_QUERY until the
 *    request is gone), then sends the VMM a DIRTY_LOG_STOP: KVM sees
 *    "nothing to change" for the slots the module turned off, and the
 *    VMM's records (QUERY, GET_SLOTS, a later DIRTY_LOG_START) match KVM
 *    again.
 *  - start, clear and stop(NOW) go through the VMM: KVM lets only the
 *    process that created the VM change dirty logging.
 *
 * Zero pages are sent once. The first pass scans after its clear, so its
 * zero pages leave the dirty set with their markers. A classifying harvest
 * finds zero pages before the clear, and the clear rule (dirty.h) leaves
 * them dirty, so every later harvest reports them again. The tracker keeps
 * per slot the pages whose last transfer was such a marker ("known", zero
 * at the destination), updated when a harvest is cleared, i.e. queued
 * (never for the harvest that leads to the switchover: its pages are not
 * sent). A known page a later harvest still finds zero is left out: not
 * sent, not cleared; a written one goes out as data and leaves the set.
 * The set holds only pages the guest wrote zero during precopy (the first
 * pass's zero pages are clean), so re-classifying it each harvest, the
 * final one inside the downtime included, costs little.
 */
#include <errno.h>
#include <linux/kmig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/ram.h"
#include "dirty/dirty.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_logstop.h"
#include "kmod/kmod_nl.h"
#include "kmod/kmod_zscan.h"

#define POLL_US	1000	/* KMIG_LOG_STOP_QUERY polling, without netlink */

struct kmod {
	struct kmig_kmod km;
	struct kmig_harvest_range *r;	/* one range per slot: the whole slot */
	uint64_t **mzero;		/* per slot: the module's dirty-and-zero */
	uint64_t **known;		/* per slot: zero at the destination */
	uint32_t *ids;			/* slot names, for KMIG_LOG_STOP */
	struct kmig_nl *nl;		/* deferred-stop events; NULL: poll */
	bool defer;			/* KMIG_LOG_STOP usable and allowed */
	bool scan;			/* KMIG_ZERO_SCAN usable and allowed */
	bool pending;			/* a LAZY stop waits for settle() */
	uint64_t t_stop;
};

static int kmod_fail(struct kmig_dirty *d, int ret, const struct kmig_err *e)
{
	snprintf(d->err, sizeof(d->err), "%s", e->msg);
	return ret;
}

uint64_t kmig_dirty_kmod_merge(struct kmig_dirty_slot *ds, const uint64_t *mzero,
			       const uint64_t *known)
{
	uint64_t left = 0, dirty = 0, zero = 0;

	for (uint64_t w = 0; w < KMIG_BITMAP_WORDS(ds->npages); w++) {
		uint64_t z = mzero[w] & ~known[w];

		left += __builtin_popcountll(mzero[w] & known[w]);
		ds->dirty[w] |= z;
		ds->zero[w] = z;
		dirty += __builtin_popcountll(ds->dirty[w]);
		zero += __builtin_popcountll(z);
	}
	ds->nr_dirty = dirty;
	ds->nr_zero = zero;
	return left;
}

void kmig_dirty_kmod_sent(const struct kmig_dirty_slot *ds, uint64_t *known)
{
	for (uint64_t w = 0; w < KMIG_BITMAP_WORDS(ds->npages); w++)
		known[w] = (known[w] & ~(ds->dirty[w] & ~ds->zero[w])) | ds->zero[w];
}

/*
 * A deferred stop of this VM still pending from an earlier migration would
 * turn logging off under this one: our START is a no-op in KVM while the
 * slot still logs, so its worker finds the slot unchanged. Cancel it first.
 */
static int kmod_start(struct kmig_dirty *d)
{
	struct kmod *k = d->priv;
	struct kmig_err e = { 0 };
	int ret = kmig_kmod_has(&k->km, KMIG_FEAT_LOG_STOP) ?
		  kmig_logstop_cancel(&k->km, 0, NULL, NULL, &e) : 0;

	if (ret)
		return kmod_fail(d, ret, &e);
	for (unsigned int i = 0; i < d->nr; i++)
		memset(k->known[i], 0, KMIG_BITMAP_WORDS(d->slots[i].npages) * 8);
	return kmig_dirty_vmm_ops.start(d);
}

static int kmod_harvest(struct kmig_dirty *d, unsigned int iteration)
{
	struct kmod *k = d->priv;
	/* Iteration 0 is sent whole, classified after its clear (the first
	 * pass): its harvest only finds what to clear. */
	bool classify = (d->use & KMIG_DIRTY_USE_CLASSIFY) && (iteration || d->paused);
	struct kmig_harvest_stats hs;
	struct kmig_err e = { 0 };
	int ret;

	if (!(d->use & KMIG_DIRTY_USE_HARVEST))
		return kmig_dirty_vmm_ops.harvest(d, iteration);
	for (unsigned int i = 0; i < d->nr; i++)
		k->r[i].zero = classify ? k->mzero[i] : NULL;
	ret = kmig_harvest(&k->km, k->r, d->nr, classify ? KMIG_HARVEST_F_CLASSIFY : 0, 0, &hs,
			   &e);
	d->st.harvests++;
	if (ret)
		return kmod_fail(d, ret, &e);
	d->st.kmod.ioctls += hs.calls;
	d->st.kmod.dirty += hs.nr_dirty;
	d->st.kmod.zero += hs.nr_zero;
	for (unsigned int i = 0; i < d->nr; i++) {
		d->slots[i].nr_dirty = k->r[i].nr_dirty;
		if (classify)
			d->st.kmod.zero_known += kmig_dirty_kmod_merge(&d->slots[i], k->mzero[i],
								       k->known[i]);
	}
	d->hinted = d->keep_zero = classify;
	return 0;
}

/*
 * Is the piece mostly populated memfd memory, in a few extents (dirty.h)? Then the
 * scan has no holes to skip and would only add a kernel read of every
 * page: the sink's threads find the extents with SEEK_DATA and zero-check
 * the pages in the one pass they read them with anyway. Unknown (no
 * memfd, an error, more than DENSE_EXTENTS extents): not dense, scan.
 */
#define DENSE_EXTENTS	64

bool kmig_dirty_dense(const struct kmig_dirty_slot *ds, uint64_t first, uint64_t n)
{
	off_t start = ds->fd_offset + first * KMIG_PAGE_SIZE;
	off_t pos = start, end = start + n * KMIG_PAGE_SIZE, filled = 0;

	if (ds->fd < 0)
		return false;
	for (int i = 0; i < DENSE_EXTENTS && pos < end; i++) {
		off_t data = lseek(ds->fd, pos, SEEK_DATA), hole;

		if (data < 0 && errno != ENXIO)
			return false;
		if (data < 0 || data >= end) {	/* a hole to the end */
			pos = end;
			break;
		}
		hole = lseek(ds->fd, data, SEEK_HOLE);
		if (hole < 0)
			return false;
		filled += KMIG_MIN(hole, end) - data;
		pos = hole;
	}
	return pos >= end && filled * 2 >= end - start;
}

/* KMIG_ZERO_SCAN of a piece of a slot, after the first clear (dirty.h). */
static int kmod_first_pass(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
			   uint64_t n, uint64_t *nr_zero)
{
	struct kmod *k = d->priv;
	struct kmig_dirty_kmod_stats *ks = &d->st.kmod;
	struct kmig_zscan_stats zs = { 0 };
	struct kmig_err e = { 0 };
	uint64_t t0 = kmig_now_ns();
	int ret;

	if (!k->scan)
		return 0;
	if (!first && ds == &d->slots[0])
		ks->scans++;
	if (!(d->use & KMIG_DIRTY_USE_SCAN_DENSE) && kmig_dirty_dense(ds, first, n)) {
		ks->scan_dense++;
		return 0;
	}
	ret = kmig_zero_scan(&k->km, ds->slot, first, n, 0, ds->zero + first / 64, &zs, &e);
	if (ret)
		return kmod_fail(d, ret, &e);
	ks->scan_pieces++;
	ks->scan_calls += zs.calls;
	ks->scan_ns += kmig_now_ns() - t0;
	ks->scan_none += zs.none;
	ks->scan_zero_page += zs.zero_page;
	ks->scan_zero_data += zs.zero_data;
	ks->scan_nonzero += zs.nonzero;
	*nr_zero = zs.none + zs.zero_page + zs.zero_data;
	d->hinted = true;
	return 0;
}

static int kmod_clear(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
		      uint64_t n, const uint64_t *bitmap)
{
	return kmig_dirty_vmm_ops.clear(d, ds, first, n, bitmap);
}

static void kmod_cleared(struct kmig_dirty *d)
{
	struct kmod *k = d->priv;

	if (!d->keep_zero)	/* no markers from before the clear */
		return;
	for (unsigned int i = 0; i < d->nr; i++)
		kmig_dirty_kmod_sent(&d->slots[i], k->known[i]);
}

static int vmm_stop(struct kmig_dirty *d, const char *note)
{
	d->st.stop_path = "vmm-sync";
	if (note)
		snprintf(d->st.stop_note, sizeof(d->st.stop_note), "%s", note);
	return kmig_dirty_vmm_ops.stop(d, KMIG_DIRTY_STOP_NOW);
}

static int kmod_stop(struct kmig_dirty *d, enum kmig_dirty_stop how)
{
	struct kmod *k = d->priv;
	struct kmig_logstop_result res;
	struct kmig_err e = { 0 };
	char note[sizeof(d->st.stop_note)];
	int ret;

	if (how == KMIG_DIRTY_STOP_NOW || !k->defer)
		return vmm_stop(d, NULL);	/* (defer: only with USE_STOP) */
	k->t_stop = kmig_now_ns();
	ret = kmig_logstop_request(&k->km, k->ids, d->nr, NULL, &res, &e);
	if (ret) {
		snprintf(note, sizeof(note), "%.120s; the VMM stopped logging instead", e.msg);
		return vmm_stop(d, note);
	}
	d->st.kmod.stop_id = res.id;
	d->st.kmod.stop_slots = res.nr_queued;
	d->st.kmod.stop_state = "pending";
	k->pending = true;
	return 0;
}

static void record_end(struct kmig_dirty *d, const struct kmig_nl_stop *s)
{
	struct kmig_dirty_kmod_stats *ks = &d->st.kmod;

	ks->stop_state = s->state == KMIG_STOP_DONE ? "done" :
			 s->state == KMIG_STOP_CANCELLED ? "cancelled" : "ended";
	ks->stop_end_ns = s->age_ns;
	ks->stop_work_ns = s->work_ns;
	ks->stop_slots = s->nr_slots;
	ks->stop_done = s->nr_done;
	ks->stop_skipped = s->nr_skipped;
	ks->stop_failed = s->nr_failed;
}

/* The request's end event: 0, -ETIMEDOUT, or -errno if netlink fails. */
static int wait_event(struct kmig_dirty *d, uint64_t deadline)
{
	struct kmod *k = d->priv;
	struct kmig_err e = { 0 };

	for (uint64_t now; (now = kmig_now_ns()) < deadline;) {
		struct kmig_nl_event ev;
		int ret = kmig_nl_event_next(k->nl, (deadline - now) / 1000000 + 1, &ev, &e);

		if (ret == -EINTR)
			continue;
		if (ret <= 0)
			return ret ? ret : -ETIMEDOUT;
		if (ev.type == KMIG_NL_EV_STOP && ev.stop.id == d->st.kmod.stop_id) {
			record_end(d, &ev.stop);
			kmig_nl_event_free(&ev);
			return 0;
		}
		kmig_nl_event_free(&ev);
	}
	return -ETIMEDOUT;
}

/* Without events: the request is pending until QUERY no longer knows it. */
static int wait_query(struct kmig_dirty *d, uint64_t deadline)
{
	struct kmod *k = d->priv;
	struct kmig_logstop_status qs;
	struct kmig_err e = { 0 };

	while (kmig_now_ns() < deadline) {
		int ret = kmig_logstop_query(&k->km, d->st.kmod.stop_id, &qs, &e);

		if (ret == -ENOENT) {
			d->st.kmod.stop_state = "ended";
			d->st.kmod.stop_end_ns = kmig_now_ns() - k->t_stop;
			return 0;
		}
		if (ret)
			return kmod_fail(d, ret, &e);
		usleep(POLL_US);
	}
	return -ETIMEDOUT;
}

/* Not ended in time: cancel it (the VMM then stops what is left). */
static int cancel_late(struct kmig_dirty *d)
{
	struct kmod *k = d->priv;
	struct kmig_err e = { 0 };
	int ret = kmig_logstop_cancel(&k->km, d->st.kmod.stop_id, NULL, NULL, &e);

	if (ret && ret != -ENOENT)
		return kmod_fail(d, ret, &e);
	d->st.kmod.stop_state = ret ? "ended" : "timeout (cancelled)";
	d->st.kmod.stop_end_ns = kmig_now_ns() - k->t_stop;
	return 0;
}

static int kmod_settle(struct kmig_dirty *d, int timeout_ms)
{
	struct kmod *k = d->priv;
	uint64_t deadline = k->t_stop + (uint64_t)timeout_ms * 1000000, t0;
	int ret;

	if (!k->pending)
		return 0;
	k->pending = false;
	ret = k->nl ? wait_event(d, deadline) : -ENOTCONN;
	if (ret && ret != -ETIMEDOUT)
		ret = wait_query(d, deadline);		/* no events: poll */
	if (ret == -ETIMEDOUT)
		ret = cancel_late(d);
	if (ret)
		return ret;
	t0 = kmig_now_ns();
	ret = kmig_dirty_vmm_ops.stop(d, KMIG_DIRTY_STOP_NOW);
	d->st.kmod.confirm_ns = kmig_now_ns() - t0;
	return ret;
}

static void kmod_free(struct kmod *k, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		free(k->mzero ? k->mzero[i] : NULL);
		free(k->known ? k->known[i] : NULL);
	}
	free(k->mzero);
	free(k->known);
	free(k->r);
	free(k->ids);
	kmig_nl_close(k->nl);
	kmig_kmod_close(&k->km);
	free(k);
}

static void kmod_fini(struct kmig_dirty *d)
{
	kmod_free(d->priv, d->nr);
	d->priv = NULL;
}

static const struct kmig_dirty_ops kmod_ops = {
	.name = "module",
	.start = kmod_start,
	.harvest = kmod_harvest,
	.first_pass = kmod_first_pass,
	.clear = kmod_clear,
	.cleared = kmod_cleared,
	.stop = kmod_stop,
	.settle = kmod_settle,
	.fini = kmod_fini,
};

/* Bitmaps and ranges for every slot; the module writes its dirty-and-
 * non-zero bitmap straight into the slot's dirty bitmap. */
static int kmod_alloc(struct kmod *k, struct kmig_dirty *d)
{
	k->r = calloc(d->nr, sizeof(*k->r));
	k->mzero = calloc(d->nr, sizeof(*k->mzero));
	k->known = calloc(d->nr, sizeof(*k->known));
	k->ids = calloc(d->nr, sizeof(*k->ids));
	if (!k->r || !k->mzero || !k->known || !k->ids)
		return -ENOMEM;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct kmig_dirty_slot *ds = &d->slots[i];
		uint64_t words = KMIG_BITMAP_WORDS(ds->npages) ?: 1;

		ds->zero = calloc(words, 8);
		k->mzero[i] = calloc(words, 8);
		k->known[i] = calloc(words, 8);
		if (!ds->zero || !k->mzero[i] || !k->known[i])
			return -ENOMEM;
		k->ids[i] = ds->slot;
		k->r[i] = (struct kmig_harvest_range){
			.slot = ds->slot, .num_pages = ds->npages, .dirty = ds->dirty,
			.zero = k->mzero[i],
		};
	}
	return 0;
}

/* Why the module cannot do the harvest, or "" if it can. */
static void kmod_check(const struct kmod *k, const char *dev, char *why, size_t len)
{
	why[0] = '\0';
	if (!kmig_kmod_has(&k->km, KMIG_FEAT_HARVEST))
		snprintf(why, len, "%s: the module has no KMIG_HARVEST (features %#llx)", dev,
			 (unsigned long long)k->km.features);
	else if (k->km.vm_flags & KMIG_VM_F_DIRTY_RING)
		snprintf(why, len, "%s: the VM uses the dirty ring (no bitmaps to harvest)", dev);
	else if (!(k->km.vm_flags & KMIG_VM_F_MANUAL_PROTECT))
		snprintf(why, len, "%s: the VM is not in manual-protect mode "
			 "(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)", dev);
}

static void kmod_take(struct kmig_dirty *d, struct kmod *k, const char *dev)
{
	struct kmig_err e = { 0 };
	bool harvest = d->use & KMIG_DIRTY_USE_HARVEST;

	k->defer = (d->use & KMIG_DIRTY_USE_STOP) && kmig_kmod_has(&k->km, KMIG_FEAT_LOG_STOP);
	k->scan = (d->use & KMIG_DIRTY_USE_SCAN) && kmig_kmod_has(&k->km, KMIG_FEAT_ZERO_SCAN);
	/* Events tell the stop's end and its per-slot results exactly; without
	 * them (no CAP_NET_ADMIN) settle() polls KMIG_LOG_STOP_QUERY. */
	if (k->defer && kmig_nl_open(&k->nl, true, &e))
		k->nl = NULL;
	d->ops = &kmod_ops;
	d->priv = k;
	d->st.harvest_path = harvest ? "module" : "vmm";
	d->st.zero_path = d->use & KMIG_DIRTY_USE_CLASSIFY ? "module" : "sender-threads";
	d->st.first_pass_path = k->scan ? "module" : "sender-threads";
	d->st.stop_path = k->defer ? "module-deferred" : "vmm-sync";
	snprintf(d->why, sizeof(d->why), "module %.64s (API %u): harvest %s; first-pass zero "
		 "pages %s; dirty pages classified %s; dirty-log stop %s", dev, k->km.api_version,
		 harvest ? "by KMIG_HARVEST of all slots per call" : "through the VMM",
		 k->scan ? "by KMIG_ZERO_SCAN" : "on the sender threads",
		 d->use & KMIG_DIRTY_USE_CLASSIFY ? "at harvest" : "on the sender threads",
		 k->defer ? "deferred (KMIG_LOG_STOP)" : "through the VMM");
}

int kmig_dirty_kmod_use(struct kmig_dirty *d, const struct kmig_vmmp_memmap *mm,
			const char *dev)
{
	struct kmod *k = calloc(1, sizeof(*k));
	struct kmig_err e = { 0 };
	char why[KMIG_ERR_MAX];
	int ret;

	if (!k)
		return -ENOMEM;
	ret = kmig_kmod_open(&k->km, dev, mm->vm_fd, &e);
	if (ret)
		snprintf(why, sizeof(why), "%s", e.msg);
	else
		kmod_check(k, dev, why, sizeof(why));
	if (why[0]) {
		snprintf(d->why, sizeof(d->why), "%s: %.200s", kmig_dirty_vmm_ops.name, why);
		kmod_free(k, 0);
		return 0;
	}
	ret = kmod_alloc(k, d);
	if (ret) {
		kmod_free(k, d->nr);
		return ret;
	}
	kmod_take(d, k, dev);
	return 0;
}
