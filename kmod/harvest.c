// SPDX-License-Identifier: GPL-2.0
/*
 * harvest.c - KMIG_HARVEST: read KVM's dirty bitmaps of several memslot
 * ranges in one call, optionally classifying each dirty page as zero or
 * not in the same pass (zscan.c, restricted to the dirty pages).
 *
 * Semantics: exactly KVM_GET_DIRTY_LOG in manual-protect mode
 * (kvm_get_dirty_log_protect() with kvm->manual_dirty_log_protect set): the
 * words of memslot->dirty_bitmap are read, never cleared, and no SPTE is
 * write-protected. The caller (through the VMM, the only process that may
 * issue VM ioctls) re-protects with KVM_CLEAR_DIRTY_LOG. VMs not in that
 * mode are refused: there KVM_GET_DIRTY_LOG clears the bitmap as it reads
 * it, and a module reading the same words behind its back would make the
 * two readers steal pages from each other. Dirty-ring VMs have no bitmaps.
 *
 * Why no dirty page is lost (memory ordering). KVM marks a page dirty with
 * mark_page_dirty_in_slot() -> set_bit_le() (an atomic RMW) on the page's
 * bit, at the time it makes the SPTE writable in the write-protection fault
 * path (so before the guest's write lands: the write retries after the
 * fault), or, with Intel PML, when it drains the PML buffer at a VM-exit
 * (after the write). The only thing that clears a bit in manual-protect
 * mode is KVM_CLEAR_DIRTY_LOG, which clears exactly the bits its caller
 * passes (atomic fetch_andnot) and write-protects those pages again (and
 * flushes TLBs) before it returns. We read each word once with READ_ONCE:
 *   - a bit read as 1: the page was written (or is about to be) since its
 *     last clear; the caller must clear it before reading the content,
 *     so that any write after the clear faults and sets the bit again;
 *   - a bit read as 0 while KVM sets it concurrently: nobody clears it (the
 *     caller only clears bits it read as 1), so the next harvest sees it;
 *     the write it stands for is reported then.
 * A word is read in one load, so bits of one word are never torn. Reading
 * under kvm->srcu keeps the memslot and its bitmap alive: KVM frees a
 * bitmap only after synchronize_srcu() when a slot is deleted or loses
 * dirty logging.
 *
 * The fused classification hazard. A dirty page is classified by looking
 * at it now, before the caller's KVM_CLEAR_DIRTY_LOG. A page found zero
 * and written by the guest between our look and that clear would be lost
 * if the caller cleared its bit. So the caller clears only the bits of
 * pages it sends as data (dirty_bitmap), reading them after the clear, and
 * leaves the dirty-and-zero pages dirty: the next harvest reports them
 * again, and the last harvest, with the VM paused, is final. The uapi
 * header and Documentation/uapi.rst state this rule.
 *
 * PML and vCPU kicks. x86's kvm_arch_sync_dirty_log() kicks every vCPU
 * before KVM_GET_DIRTY_LOG reads a bitmap, so that the VM-exit flushes the
 * CPU's PML buffer into it, but only when PML is in use
 * (kvm_x86_ops.cpu_dirty_log_size: Intel with kvm_intel.pml=1). kvm_x86_ops
 * is not exported; kvm_vcpu_kick() is. We kick every vCPU once per call on
 * hosts with VMX (where PML may be on; a kick costs a VM without PML one
 * spurious exit), never on others (AMD has no PML: bits are set at fault
 * time). The module parameter harvest_kick overrides it. Correctness does
 * not depend on the kick, as in KVM, which does not wait for the exits
 * either: a page whose PML entry is not flushed yet has its bit clear, so
 * the caller does not clear it, and a later harvest reports it; when the VM
 * is paused all PML buffers have been flushed.
 *
 * Bounded work: at most max_pages pages per call over all entries, in
 * chunks of KMIG_HARVEST_CHUNK pages (a multiple of 64 from the entry's
 * cursor, so the cursor stays a multiple of 64); between chunks a pending
 * signal ends the call with the progress made and cond_resched() runs.
 */
#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "harvest.h"
#include "session.h"
#include "vm.h"
#include "zscan.h"

/* Pages per chunk: 64 words of bitmap, one zero-scan step. */
#define KMIG_HARVEST_CHUNK	4096UL
#define KMIG_HARVEST_WORDS	(KMIG_HARVEST_CHUNK / BITS_PER_LONG)

/* memslot->dirty_bitmap is little-endian (set_bit_le), the uapi host order. */
static_assert(!IS_ENABLED(CONFIG_CPU_BIG_ENDIAN) && BITS_PER_LONG == 64);

static int harvest_kick = -1;
module_param(harvest_kick, int, 0644);
MODULE_PARM_DESC(harvest_kick,
		 "kick vCPUs before a harvest to flush PML buffers: -1 auto (VMX hosts), 0 never, 1 always");

/**
 * struct harvest - state of one KMIG_HARVEST call
 * @sess: the calling session.
 * @kvm: its VM.
 * @zs: zero-scan context, NULL without KMIG_HARVEST_F_CLASSIFY.
 * @budget: pages this call may still harvest.
 * @done: pages harvested by this call.
 * @interrupted: a signal ended the call early.
 * @dirty: one chunk of the dirty bitmap, then its non-zero part.
 * @zero: the zero part of the chunk.
 * @kinds: dirty pages of this call per enum kmig_zkind (CLASSIFY).
 * @nr_dirty: dirty pages of this call.
 * @nr_zero: of those, dirty and zero.
 */
struct harvest {
	struct kmig_session *sess;
	struct kvm *kvm;
	struct zscan *zs;
	u64 budget;
	u64 done;
	bool interrupted;
	unsigned long dirty[KMIG_HARVEST_WORDS];
	unsigned long zero[KMIG_HARVEST_WORDS];
	u64 kinds[KMIG_ZK_NR];
	u64 nr_dirty;
	u64 nr_zero;
};

static bool hv_want_kick(void)
{
	int kick = READ_ONCE(harvest_kick);

	if (kick >= 0)
		return kick;
#ifdef CONFIG_X86
	return boot_cpu_has(X86_FEATURE_VMX);
#else
	return false;
#endif
}

static void hv_kick_vcpus(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		kvm_vcpu_kick(vcpu);
}

/* The VM must keep dirty bitmaps and leave their clearing to the caller. */
static int hv_check_vm(struct kvm *kvm)
{
	if (READ_ONCE(kvm->dirty_ring_size))
		return -ENXIO;
	if (!(READ_ONCE(kvm->manual_dirty_log_protect) &
	      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		return -EOPNOTSUPP;
	return 0;
}

static int hv_check_args(const struct kmig_harvest *h)
{
	if (h->flags & ~KMIG_HARVEST_F_ALL)
		return -EINVAL;
	if ((h->flags & KMIG_HARVEST_F_NO_READ) &&
	    !(h->flags & KMIG_HARVEST_F_CLASSIFY))
		return -EINVAL;
	if (h->reserved0 || !kmig_is_zeroed(h->reserved, sizeof(h->reserved)))
		return -EINVAL;
	if (h->nr_entries > KMIG_HARVEST_MAX_ENTRIES ||
	    h->next_entry > h->nr_entries)
		return -EINVAL;
	if (h->entry_size < KMIG_HARVEST_ENTRY_SIZE_V1 ||
	    h->entry_size > PAGE_SIZE)
		return -EINVAL;
	return 0;
}

/* Checks what can be checked without the slot. */
static int hv_check_entry(const struct kmig_harvest_entry *e, bool classify)
{
	if (e->flags & ~KMIG_HARVEST_ENTRY_F_ALL)
		return -EINVAL;
	if (!kmig_is_zeroed(e->reserved, sizeof(e->reserved)))
		return -EINVAL;
	if (e->first_page % 64)
		return -EINVAL;
	if (!classify && e->zero_bitmap)
		return -EINVAL;
	if (e->cursor > e->num_pages ||
	    (e->cursor % 64 && e->cursor != e->num_pages))
		return -EINVAL;
	return 0;
}

/*
 * Copies the dirty words of [first, first + n) of @slot (n <= CHUNK) into
 * hv->dirty, under kvm->srcu, and returns the user address of @first.
 * Errors if the slot is gone, lost dirty logging, or shrank since the
 * range was checked.
 */
static int hv_read_bits(struct harvest *hv, u32 slot, u64 first, u64 n,
			unsigned long *hva)
{
	u32 as_id = KMIG_SLOT_AS(slot), id = KMIG_SLOT_ID(slot);
	struct kvm_memory_slot *ms;
	unsigned long w, words = DIV_ROUND_UP(n, BITS_PER_LONG);
	int idx, ret = 0;

	if (as_id >= kvm_arch_nr_memslot_as_ids(hv->kvm) ||
	    id >= KVM_USER_MEM_SLOTS)
		return -ENOENT;
	idx = srcu_read_lock(&hv->kvm->srcu);
	ms = id_to_memslot(__kvm_memslots(hv->kvm, as_id), id);
	if (!ms || !ms->npages || (ms->flags & KVM_MEMSLOT_INVALID)) {
		ret = -ENOENT;
	} else if (!ms->dirty_bitmap) {
		ret = -ENODATA;
	} else if (first + n > ms->npages) {
		ret = -EINVAL;
	} else {
		for (w = 0; w < words; w++)
			hv->dirty[w] = READ_ONCE(ms->dirty_bitmap[first / BITS_PER_LONG + w]);
		*hva = ms->userspace_addr + (first << PAGE_SHIFT);
	}
	srcu_read_unlock(&hv->kvm->srcu, idx);
	if (!ret && n % BITS_PER_LONG)
		hv->dirty[words - 1] &= BITMAP_LAST_WORD_MASK(n);
	return ret;
}

/* Splits the chunk's dirty pages into zero and non-zero; -EINTR if cut. */
static int hv_classify(struct harvest *hv, unsigned long hva, u64 n)
{
	unsigned long words = DIV_ROUND_UP(n, BITS_PER_LONG);

	memset(hv->zero, 0, words * sizeof(long));
	if (bitmap_empty(hv->dirty, n))
		return 0;
	if (kmig_zscan_range(hv->zs, hva, n, hv->dirty, hv->zero,
			     hv->kinds) < n)
		return -EINTR;
	bitmap_andnot(hv->dirty, hv->dirty, hv->zero, n);
	return 0;
}

/* Harvests @n pages of @e from its cursor into its bitmaps. */
static int hv_chunk(struct harvest *hv, struct kmig_harvest_entry *e, u64 n)
{
	u64 __user *ud = u64_to_user_ptr(e->dirty_bitmap);
	u64 __user *uz = u64_to_user_ptr(e->zero_bitmap);
	unsigned long hva, bytes = DIV_ROUND_UP(n, 64) * sizeof(u64);
	u64 nr_zero = 0, nr_dirty;
	int ret;

	ret = hv_read_bits(hv, e->slot, e->first_page + e->cursor, n, &hva);
	if (ret)
		return ret;
	if (hv->zs) {
		ret = hv_classify(hv, hva, n);
		if (ret)
			return ret;
		nr_zero = bitmap_weight(hv->zero, n);
		if (copy_to_user(uz + e->cursor / 64, hv->zero, bytes))
			return -EFAULT;
	}
	if (copy_to_user(ud + e->cursor / 64, hv->dirty, bytes))
		return -EFAULT;

	nr_dirty = nr_zero + bitmap_weight(hv->dirty, n);
	e->nr_zero += nr_zero;
	e->nr_dirty += nr_dirty;
	e->cursor += n;
	hv->nr_zero += nr_zero;
	hv->nr_dirty += nr_dirty;
	return 0;
}

/* Writes the out fields of entry @e back to @uentry. */
static int hv_put_entry(void __user *uentry,
			const struct kmig_harvest_entry *e)
{
	struct kmig_harvest_entry __user *u = uentry;

	if (put_user(e->cursor, &u->cursor) ||
	    put_user(e->nr_dirty, &u->nr_dirty) ||
	    put_user(e->nr_zero, &u->nr_zero))
		return -EFAULT;
	return 0;
}

/* Harvests entry @e from its cursor within the budget. */
static int hv_entry(struct harvest *hv, struct kmig_harvest_entry *e,
		    void __user *uentry)
{
	struct kmig_slot slot;
	u64 end, before = hv->done;
	int ret;

	ret = kmig_vm_get_slot(hv->kvm, e->slot, &slot);
	if (ret)
		return ret;
	if (!(slot.flags & KVM_MEM_LOG_DIRTY_PAGES))
		return -ENODATA;
	if (check_add_overflow(e->first_page, e->num_pages, &end) ||
	    end > slot.npages)
		return -EINVAL;
	if (!e->cursor)
		e->nr_dirty = e->nr_zero = 0;

	while (e->cursor < e->num_pages) {
		u64 left = e->num_pages - e->cursor;
		u64 n = min3(left, hv->budget, (u64)KMIG_HARVEST_CHUNK);

		/* Unless it ends the entry, a chunk keeps the cursor at a
		 * multiple of 64 (the budget may have been cut by an entry's
		 * tail). */
		if (n < left)
			n = round_down(n, 64);
		if (!n)
			break;
		if (signal_pending(current)) {
			hv->interrupted = true;
			break;
		}
		ret = hv_chunk(hv, e, n);
		if (ret == -EINTR) {
			hv->interrupted = true;
			ret = 0;
			break;
		}
		if (ret)
			break;
		hv->budget -= n;
		hv->done += n;
		cond_resched();
	}
	if (hv->done != before && hv_put_entry(uentry, e))
		return -EFAULT;
	return ret;
}

/* Reads entry @i with the struct conventions (growable entries). */
static int hv_get_entry(const struct kmig_harvest *h, u32 i,
			struct kmig_harvest_entry *e, void __user **uentry)
{
	*uentry = u64_to_user_ptr(h->entries) + (u64)i * h->entry_size;
	return copy_struct_from_user(e, sizeof(*e), *uentry, h->entry_size);
}

static int hv_run(struct harvest *hv, struct kmig_harvest *h)
{
	bool classify = h->flags & KMIG_HARVEST_F_CLASSIFY;
	struct kmig_harvest_entry e;
	void __user *uentry;
	u32 i;
	int ret = 0;

	for (i = h->next_entry; i < h->nr_entries; i++) {
		ret = hv_get_entry(h, i, &e, &uentry);
		if (!ret)
			ret = hv_check_entry(&e, classify);
		if (ret)
			break;
		/* An empty range is finished at once: its counts are 0. */
		if (!e.num_pages) {
			e.nr_dirty = e.nr_zero = 0;
			ret = hv_put_entry(uentry, &e);
			if (ret)
				break;
		}
		if (e.cursor < e.num_pages) {
			if (!hv->budget || hv->interrupted)
				break;
			ret = hv_entry(hv, &e, uentry);
			if (ret || e.cursor < e.num_pages)
				break;
		}
	}
	h->next_entry = i;
	return ret;
}

static void hv_account(struct harvest *hv, u64 ns)
{
	struct kmig_session *s = hv->sess;

	kmig_stat_add(s, KMIG_ST_HARVEST_CALLS, 1);
	kmig_stat_add(s, KMIG_ST_HARVEST_NS, ns);
	kmig_stat_add(s, KMIG_ST_HARVEST_PAGES, hv->done);
	kmig_stat_add(s, KMIG_ST_HARVEST_DIRTY, hv->nr_dirty);
	kmig_stat_add(s, KMIG_ST_HARVEST_ZERO_NONE, hv->kinds[KMIG_ZK_NONE]);
	kmig_stat_add(s, KMIG_ST_HARVEST_ZERO_PAGE,
		      hv->kinds[KMIG_ZK_ZERO_PAGE]);
	kmig_stat_add(s, KMIG_ST_HARVEST_ZERO_DATA,
		      hv->kinds[KMIG_ZK_ZERO_DATA]);
}

/* max_pages rounded up to 64 and capped by the module's bound; 0: bound. */
static u64 hv_budget(u64 max_pages)
{
	u64 bound = kmig_zscan_max_batch();

	if (!max_pages || max_pages >= bound)
		return bound;
	return round_up(max_pages, 64);
}

static int hv_harvest(struct harvest *hv, struct kmig_harvest *h)
{
	struct mm_struct *mm = NULL;
	u64 t0 = ktime_get_ns();
	int ret;

	if (h->flags & KMIG_HARVEST_F_CLASSIFY) {
		mm = kmig_vm_get_mm(hv->kvm);
		if (!mm)
			return -ENODEV;
		hv->zs = kmig_zscan_begin(hv->sess, mm,
					  h->flags & KMIG_HARVEST_F_NO_READ);
		if (!hv->zs) {
			mmput(mm);
			return -ENOMEM;
		}
	}
	if (hv_want_kick())
		hv_kick_vcpus(hv->kvm);

	ret = hv_run(hv, h);
	if (hv->zs) {
		kmig_zscan_end(hv->zs);
		mmput(mm);
	}
	hv_account(hv, ktime_get_ns() - t0);
	return ret;
}

int kmig_harvest_ioctl(struct kmig_session *s, void *arg)
{
	struct kmig_harvest *h = arg;
	struct harvest *hv;
	int ret;

	ret = hv_check_args(h);
	if (ret)
		return ret;
	hv = kzalloc(sizeof(*hv), GFP_KERNEL);
	if (!hv)
		return -ENOMEM;
	hv->sess = s;
	hv->kvm = kmig_session_kvm(s);
	ret = -ENOTCONN;
	if (!hv->kvm)
		goto out;
	ret = kmig_vm_check(hv->kvm);
	if (!ret)
		ret = hv_check_vm(hv->kvm);
	if (ret)
		goto out;
	hv->budget = hv_budget(h->max_pages);

	ret = hv_harvest(hv, h);
	if (!ret && hv->interrupted && !hv->done)
		ret = -EINTR;
	h->nr_dirty = hv->nr_dirty;
	h->nr_zero = hv->nr_zero;
out:
	kfree(hv);
	return ret;
}
