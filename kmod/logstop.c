// SPDX-License-Identifier: GPL-2.0
/*
 * logstop.c - deferred (background) dirty-log stop.
 *
 * Turning KVM_MEM_LOG_DIRTY_PAGES off makes KVM recover huge pages inside
 * KVM_SET_USER_MEMORY_REGION (x86: kvm_mmu_zap_collapsible_sptes(), tens of
 * ms per GiB). A VMM that does it when a migration ends pays that time on
 * its own path; KMIG_LOG_STOP moves it to a kernel worker, later, spread
 * out, slot by slot.
 *
 * Request. The ioctl validates the slots (each a user slot that exists and
 * has dirty logging on, no duplicates, none in another pending request of
 * the VM), records under kvm->slots_lock each slot's base_gfn, npages,
 * userspace_addr and flags and the memslot generation of each address
 * space (the logging epoch, below), takes a reference on the VM
 * (kvm_get_kvm), puts the request on the list of pending requests and
 * queues its delayed work (at most KMIG_LOG_STOP_MAX_NS later). It returns
 * at once with the request id. With KMIG_LOG_STOP_F_NOW the same per-slot
 * function runs in the ioctl instead, for comparison.
 *
 * Worker. One run handles one slot, then re-queues the work so that the
 * next slot starts at least interval_ns after this one started (rate
 * limit). A slot is handled under kvm->slots_lock, exactly as the VMM's
 * KVM_SET_USER_MEMORY_REGION would (kvm_vm_ioctl_set_memory_region() is
 * kvm_set_memory_region(), which takes slots_lock around
 * __kvm_set_memory_region()): the slot is looked up again with
 * id_to_memslot(__kvm_memslots(kvm, as_id), id); if it was deleted, or
 * moved, resized, remapped or had its flags changed since the request, it
 * is skipped, never recreated or changed; otherwise __kvm_set_memory_region()
 * gets the slot's current fields with KVM_MEM_LOG_DIRTY_PAGES cleared. The
 * lookup and the change happen under the same slots_lock, so nothing can
 * change the slot in between. If the VM's process has exited, the guest
 * can never run again: all remaining slots are skipped at once (nothing to
 * recollapse, and the VM is not kept for the slot pacing); a VM that KVM
 * marked dead (kvm->vm_dead, where KVM refuses every VM ioctl with -EIO)
 * has its remaining slots failed with EIO, at once.
 *
 * The logging epoch. A slot whose logging was turned off and on again
 * since the request (a new migration started while the stop was pending)
 * has the same fields as the one in the request; stopping it would switch
 * off the new migration's dirty logging and lose its dirty pages. Memslot
 * and dirty-bitmap pointers cannot tell (the allocator hands the freed
 * ones out again). What can is KVM's memslot generation, which every
 * change of an address space's memslots raises: the request records it,
 * and raises its record after each change it makes itself (under
 * slots_lock, so the change between the two reads is ours). A slot whose
 * address space has another generation than recorded is skipped as
 * KMIG_STOP_SLOT_STALE, even if the change was to another slot: a missed
 * stop costs performance, a wrong one loses guest data.
 *
 * Memory accounting. KVM charges what a memslot change allocates to the
 * caller's memory cgroup (GFP_KERNEL_ACCOUNT); the worker runs the change
 * with the VMM's cgroup active (set_active_memcg()), as if the VMM had
 * made it, not charged to the kworker.
 *
 * Ownership and cancellation. kmig_stop_lock protects the list, each
 * request's progress counters and its @cancelled flag. Whoever removes a
 * request from the list owns it and ends it (kmig_logstop_finish()): the
 * worker after the last slot, or a canceller (the cancel ioctl, module
 * unload). A canceller sets @cancelled and removes the request under the
 * lock, then cancel_delayed_work_sync(), which waits for a running worker
 * and kills a re-queued one; a worker that sees @cancelled under the lock
 * returns without touching the request again. So exactly one party ends
 * each request, and no slot is touched after a cancel returned.
 *
 * Lifetime. The request holds its own VM reference, so the VMM may close
 * the VM fd and the session may be closed while it is pending (the worker
 * outlives the session; its counters go to the session if it is still
 * open, else to the module-wide sums). Ending a request drops the
 * reference, which may destroy the VM in the worker; KVM supports that (it
 * skips the unmapping that needs the VMM's mm when current->mm differs).
 * Module unload cancels every pending request, then destroy_workqueue()
 * waits for workers still ending theirs, before the netlink family (used
 * for the events) goes away.
 */
#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "logstop.h"
#include "netlink.h"
#include "session.h"
#include "vm.h"

static unsigned int stop_interval_us = 10000;
module_param(stop_interval_us, uint, 0644);
MODULE_PARM_DESC(stop_interval_us,
		 "least time between two slots of a deferred dirty-log stop, microseconds (default 10000, at most 1000000)");

static unsigned int stop_max_pending = 256;
module_param(stop_max_pending, uint, 0644);
MODULE_PARM_DESC(stop_max_pending,
		 "most pending deferred dirty-log stop requests in the module (default 256)");

static LIST_HEAD(kmig_stop_list);
static DEFINE_MUTEX(kmig_stop_lock);
static u64 kmig_stop_last_id;		/* kmig_stop_lock */
static u32 kmig_stop_nr_pending;	/* kmig_stop_lock */
static struct workqueue_struct *kmig_stop_wq;

/* Every user slot of every address space: one bit each. */
#define KMIG_STOP_SLOT_BITS	(KVM_MAX_NR_ADDRESS_SPACES * KVM_USER_MEM_SLOTS)

static bool ls_vm_gone(struct kvm *kvm)
{
	return !atomic_read(&kvm->mm->mm_users);
}

/*
 * Why no slot of @kvm can be handled any more (VM_GONE, FAILED: dead), or
 * 0. See the top comment.
 */
static u32 ls_vm_over(struct kvm *kvm)
{
	if (ls_vm_gone(kvm))
		return KMIG_STOP_SLOT_VM_GONE;
	if (READ_ONCE(kvm->vm_dead))
		return KMIG_STOP_SLOT_FAILED;
	return 0;
}

/* The user memslot @name of @kvm, or NULL; under kvm->slots_lock. */
static struct kvm_memory_slot *ls_memslot(struct kvm *kvm, u32 name)
{
	u32 as_id = KMIG_SLOT_AS(name), id = KMIG_SLOT_ID(name);

	lockdep_assert_held(&kvm->slots_lock);
	if (as_id >= kvm_arch_nr_memslot_as_ids(kvm) || id >= KVM_USER_MEM_SLOTS)
		return NULL;
	return id_to_memslot(__kvm_memslots(kvm, as_id), id);
}

static u64 ls_generation(struct kvm *kvm, u32 as_id)
{
	return __kvm_memslots(kvm, as_id)->generation;
}

/* Compares the slot as it is now with the request's record of it. */
static u32 ls_slot_state(const struct kvm_memory_slot *ms,
			 const struct kmig_stop_slot *sl)
{
	if (!ms || !ms->npages)
		return KMIG_STOP_SLOT_DELETED;
	if (ms->base_gfn != sl->base_gfn || ms->npages != sl->npages ||
	    ms->userspace_addr != sl->hva || ms->flags != sl->flags)
		return KMIG_STOP_SLOT_CHANGED;
	return KMIG_STOP_SLOT_PENDING;
}

/* KVM's own memslot change, charged to the VMM's memory cgroup. */
static int ls_set_region(struct kvm *kvm,
			 const struct kvm_userspace_memory_region2 *mem)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(kvm->mm), *old;
	int ret;

	old = set_active_memcg(memcg);
	ret = __kvm_set_memory_region(kvm, mem);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return ret;
}

/*
 * Turns dirty logging off on slot @sl of @req, or skips it; see the top
 * comment. The caller checked ls_vm_over().
 */
static void ls_slot(struct kmig_stop_req *req, struct kmig_stop_slot *sl)
{
	struct kvm_userspace_memory_region2 mem = { .slot = sl->slot };
	u32 as_id = KMIG_SLOT_AS(sl->slot);
	struct kvm *kvm = req->kvm;
	struct kvm_memory_slot *ms;
	u64 t0;
	int ret;

	mutex_lock(&kvm->slots_lock);
	ms = ls_memslot(kvm, sl->slot);
	sl->result = ls_slot_state(ms, sl);
	if (sl->result == KMIG_STOP_SLOT_PENDING &&
	    ls_generation(kvm, as_id) != req->gen[as_id])
		sl->result = KMIG_STOP_SLOT_STALE;
	if (sl->result == KMIG_STOP_SLOT_PENDING) {
		mem.flags = ms->flags & ~KVM_MEM_LOG_DIRTY_PAGES;
		mem.guest_phys_addr = (u64)ms->base_gfn << PAGE_SHIFT;
		mem.memory_size = (u64)ms->npages << PAGE_SHIFT;
		mem.userspace_addr = ms->userspace_addr;
		t0 = ktime_get_ns();
		ret = ls_set_region(kvm, &mem);
		sl->ns = ktime_get_ns() - t0;
		sl->result = ret ? KMIG_STOP_SLOT_FAILED : KMIG_STOP_SLOT_DONE;
		sl->err = -ret;
		/* Our own change, made under the lock we hold. */
		req->gen[as_id] = ls_generation(kvm, as_id);
	}
	mutex_unlock(&kvm->slots_lock);
}

/* Slot @sl is not handled because the VM is over (@why: ls_vm_over()). */
static void ls_slot_over(struct kmig_stop_slot *sl, u32 why)
{
	sl->result = why;
	sl->err = why == KMIG_STOP_SLOT_FAILED ? EIO : 0;
}

/* Counts the result of slot @i; kmig_stop_lock held (or not listed). */
static void ls_count(struct kmig_stop_req *req, u32 i)
{
	const struct kmig_stop_slot *sl = &req->slots[i];

	req->work_ns += sl->ns;
	if (sl->result == KMIG_STOP_SLOT_DONE)
		req->nr_done++;
	else if (sl->result == KMIG_STOP_SLOT_FAILED)
		req->nr_failed++;
	else
		req->nr_skipped++;
	req->next = i + 1;
}

/* Ends @req, which its caller owns: event, counters, VM reference. */
static void kmig_logstop_finish(struct kmig_stop_req *req, u32 state)
{
	s64 delta[KMIG_ST_NR] = { 0 };

	req->state = state;
	req->t_end = ktime_get_ns();
	delta[KMIG_ST_STOP_PENDING] = -1;
	delta[state == KMIG_STOP_DONE ? KMIG_ST_STOP_DONE :
					KMIG_ST_STOP_CANCELLED] = 1;
	delta[KMIG_ST_STOP_SLOTS_DONE] = req->nr_done;
	delta[KMIG_ST_STOP_SLOTS_SKIPPED] = req->nr_skipped;
	delta[KMIG_ST_STOP_SLOTS_FAILED] = req->nr_failed;
	delta[KMIG_ST_STOP_WORK_NS] = req->work_ns;
	delta[KMIG_ST_STOP_LATENCY_NS] = req->t_end - req->t_queued;
	kmig_session_account(req->session_id, delta);

	kmig_nl_stop_event(req);
	pr_debug("stop request %llu %s: %u done, %u skipped, %u failed\n",
		 req->id, state == KMIG_STOP_DONE ? "done" : "cancelled",
		 req->nr_done, req->nr_skipped, req->nr_failed);
	/* May destroy the VM if every other reference is gone. */
	kvm_put_kvm(req->kvm);
	kvfree(req);
}

/* Delay until the next slot may start: interval after the last start. */
static unsigned long ls_next_delay(const struct kmig_stop_req *req)
{
	u64 since = ktime_get_ns() - req->t_slot;

	if (since >= req->interval_ns)
		return 0;
	return nsecs_to_jiffies(req->interval_ns - since);
}

/*
 * One run handles one slot and re-queues itself for the next; once the VM
 * is over, it runs through the remaining slots without pacing.
 */
static void ls_work(struct work_struct *work)
{
	struct kmig_stop_req *req = container_of(to_delayed_work(work),
						 struct kmig_stop_req, work);
	u32 i, over;

	do {
		mutex_lock(&kmig_stop_lock);
		if (req->cancelled) {		/* the canceller ends it */
			mutex_unlock(&kmig_stop_lock);
			return;
		}
		i = req->next;
		mutex_unlock(&kmig_stop_lock);

		over = ls_vm_over(req->kvm);
		if (over) {
			ls_slot_over(&req->slots[i], over);
		} else {
			req->t_slot = ktime_get_ns();
			ls_slot(req, &req->slots[i]);
		}

		mutex_lock(&kmig_stop_lock);
		ls_count(req, i);
		if (req->cancelled) {
			mutex_unlock(&kmig_stop_lock);
			return;
		}
		if (req->next < req->nr_slots && !over) {
			queue_delayed_work(kmig_stop_wq, &req->work,
					   ls_next_delay(req));
			mutex_unlock(&kmig_stop_lock);
			return;
		}
		mutex_unlock(&kmig_stop_lock);
	} while (req->next < req->nr_slots);

	mutex_lock(&kmig_stop_lock);
	if (req->cancelled) {
		mutex_unlock(&kmig_stop_lock);
		return;
	}
	list_del(&req->node);
	kmig_stop_nr_pending--;
	mutex_unlock(&kmig_stop_lock);
	kmig_logstop_finish(req, KMIG_STOP_DONE);
}

/* ---- KMIG_LOG_STOP ---- */

static int ls_check_args(const struct kmig_log_stop *a)
{
	bool all = a->flags & KMIG_LOG_STOP_F_ALL_SLOTS;

	if (a->flags & ~KMIG_LOG_STOP_F_ALL)
		return -EINVAL;
	if (a->reserved0 || a->reserved1 || a->reserved2 ||
	    !kmig_is_zeroed(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	if (all ? (a->nr_slots || a->slots) :
		  (!a->nr_slots || a->nr_slots > KMIG_LOG_STOP_MAX_SLOTS))
		return -EINVAL;
	if (a->delay_ns > KMIG_LOG_STOP_MAX_NS ||
	    a->interval_ns > KMIG_LOG_STOP_MAX_INTERVAL_NS)
		return -EINVAL;
	if (!(a->flags & KMIG_LOG_STOP_F_INTERVAL) && a->interval_ns)
		return -EINVAL;
	return 0;
}

/* Charged to the caller: requests are made by the VMM's helper. */
static struct kmig_stop_req *ls_alloc(u32 nr_slots)
{
	struct kmig_stop_req *req;

	req = kvzalloc(struct_size(req, slots, nr_slots), GFP_KERNEL_ACCOUNT);
	if (req)
		req->nr_slots = nr_slots;
	return req;
}

static unsigned int ls_slot_bit(u32 name)
{
	return KMIG_SLOT_AS(name) * KVM_USER_MEM_SLOTS + KMIG_SLOT_ID(name);
}

/*
 * Records slot @name in @sl and in the bitmap @mine of the request's
 * slots; the slot must exist, log dirty pages and not be named twice.
 * Under kvm->slots_lock.
 */
static int ls_record(struct kvm *kvm, u32 name, struct kmig_stop_slot *sl,
		     unsigned long *mine)
{
	struct kvm_memory_slot *ms = ls_memslot(kvm, name);

	if (!ms || !ms->npages || (ms->flags & KVM_MEMSLOT_INVALID))
		return -ENOENT;
	if (!(ms->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return -ENODATA;
	if (__test_and_set_bit(ls_slot_bit(name), mine))
		return -EINVAL;		/* a duplicate */
	sl->slot = name;
	sl->flags = ms->flags;
	sl->base_gfn = ms->base_gfn;
	sl->npages = ms->npages;
	sl->hva = ms->userspace_addr;
	sl->result = KMIG_STOP_SLOT_PENDING;
	return 0;
}

/*
 * The names of the slots that log dirty pages now, in @names (NULL: only
 * count them); returns how many. Under kvm->slots_lock. Every such slot,
 * however many: KVM allows many more than KMIG_LOG_STOP_MAX_SLOTS.
 */
static u32 ls_collect(struct kvm *kvm, u32 *names)
{
	struct kvm_memory_slot *ms;
	u32 n = 0;
	int as, bkt;

	for (as = 0; as < kvm_arch_nr_memslot_as_ids(kvm); as++) {
		kvm_for_each_memslot(ms, bkt, __kvm_memslots(kvm, as)) {
			if (ms->id >= KVM_USER_MEM_SLOTS ||
			    !(ms->flags & KVM_MEM_LOG_DIRTY_PAGES) ||
			    (ms->flags & KVM_MEMSLOT_INVALID))
				continue;
			if (names)
				names[n] = KMIG_SLOT(as, ms->id);
			n++;
		}
	}
	return n;
}

static int ls_cmp_name(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * The request for the @n slots @names, or with @names NULL for every slot
 * that logs dirty pages; its slots also go to the bitmap @mine. The slots
 * and the memslot generations (the logging epoch) are recorded under one
 * hold of kvm->slots_lock, so they describe one state of the memslots.
 */
static int ls_build(struct kvm *kvm, const u32 *names, u32 n,
		    unsigned long *mine, struct kmig_stop_req **out)
{
	struct kmig_stop_req *req = NULL;
	u32 *all = NULL;
	int ret = -ENODATA, as;
	u32 i;

	mutex_lock(&kvm->slots_lock);
	if (!names) {
		n = ls_collect(kvm, NULL);
		if (!n)
			goto out;
		ret = -ENOMEM;
		all = kvmalloc_array(n, sizeof(*all), GFP_KERNEL_ACCOUNT);
		if (!all)
			goto out;
		ls_collect(kvm, all);
		/* Memslots are hashed: handle (and report) them in name order. */
		sort(all, n, sizeof(*all), ls_cmp_name, NULL);
		names = all;
	}
	ret = -ENOMEM;
	req = ls_alloc(n);
	if (!req)
		goto out;
	for (i = 0; i < n; i++) {
		ret = ls_record(kvm, names[i], &req->slots[i], mine);
		if (ret)
			goto out;
	}
	for (as = 0; as < kvm_arch_nr_memslot_as_ids(kvm); as++)
		req->gen[as] = ls_generation(kvm, as);
	*out = req;
	req = NULL;
out:
	mutex_unlock(&kvm->slots_lock);
	kvfree(all);
	kvfree(req);
	return ret;
}

/* The request for the slots named in the caller's array. */
static int ls_from_user(struct kvm *kvm, const struct kmig_log_stop *a,
			unsigned long *mine, struct kmig_stop_req **out)
{
	u32 *names;
	int ret;

	names = vmemdup_user(u64_to_user_ptr(a->slots),
			     array_size(a->nr_slots, sizeof(u32)));
	if (IS_ERR(names))
		return PTR_ERR(names);
	ret = ls_build(kvm, names, a->nr_slots, mine, out);
	kvfree(names);
	return ret;
}

/*
 * Is a slot of @req (bitmap @mine) still to be handled by another pending
 * request? Linear in the pending slots of the VM.
 */
static bool ls_busy(const struct kmig_stop_req *req, const unsigned long *mine)
{
	const struct kmig_stop_req *p;
	u32 i;

	lockdep_assert_held(&kmig_stop_lock);
	list_for_each_entry(p, &kmig_stop_list, node) {
		if (p->kvm != req->kvm)
			continue;
		for (i = p->next; i < p->nr_slots; i++)
			if (test_bit(ls_slot_bit(p->slots[i].slot), mine))
				return true;
	}
	return false;
}

/*
 * Assigns an id and, unless @now, lists and queues @req. The counters are
 * raised under the lock the worker takes first, so that its ending can
 * never be counted before the request.
 */
static int ls_submit(struct kmig_session *s, struct kmig_stop_req *req,
		     const unsigned long *mine, struct kmig_log_stop *a)
{
	int ret = 0;

	mutex_lock(&kmig_stop_lock);
	if (ls_busy(req, mine)) {
		ret = -EBUSY;
	} else if (!req->now && kmig_stop_nr_pending >= READ_ONCE(stop_max_pending)) {
		ret = -EAGAIN;
	} else {
		req->id = ++kmig_stop_last_id;
		req->t_queued = ktime_get_ns();
		kvm_get_kvm(req->kvm);
		kmig_stat_add(s, KMIG_ST_STOP_REQUESTS, 1);
		kmig_stat_add(s, KMIG_ST_STOP_PENDING, 1);
		/* Once queued, the worker may end and free it: copy first. */
		a->id = req->id;
		a->nr_queued = req->nr_slots;
		if (!req->now) {
			list_add_tail(&req->node, &kmig_stop_list);
			kmig_stop_nr_pending++;
			queue_delayed_work(kmig_stop_wq, &req->work,
					   nsecs_to_jiffies(a->delay_ns));
		}
	}
	mutex_unlock(&kmig_stop_lock);
	return ret;
}

/* KMIG_LOG_STOP_F_NOW: every slot in the ioctl, then the same ending. */
static void ls_run_now(struct kmig_stop_req *req, struct kmig_log_stop *a)
{
	u32 i, over;

	for (i = 0; i < req->nr_slots; i++) {
		over = ls_vm_over(req->kvm);
		if (over)
			ls_slot_over(&req->slots[i], over);
		else
			ls_slot(req, &req->slots[i]);
		ls_count(req, i);
	}
	a->nr_done = req->nr_done;
	a->nr_skipped = req->nr_skipped;
	a->nr_failed = req->nr_failed;
	a->work_ns = req->work_ns;
	kmig_logstop_finish(req, KMIG_STOP_DONE);
}

int kmig_logstop_ioctl(struct kmig_session *s, void *arg)
{
	struct kmig_log_stop *a = arg;
	bool now = a->flags & KMIG_LOG_STOP_F_NOW;
	struct kmig_stop_req *req;
	unsigned long *mine;
	struct kvm *kvm;
	int ret;

	ret = ls_check_args(a);
	if (ret)
		return ret;
	kvm = kmig_session_kvm(s);
	if (!kvm)
		return -ENOTCONN;
	ret = kmig_vm_check(kvm);
	if (ret)
		return ret;
	if (ls_vm_gone(kvm))
		return -ENODEV;
	mine = bitmap_zalloc(KMIG_STOP_SLOT_BITS, GFP_KERNEL);
	if (!mine)
		return -ENOMEM;
	if (a->flags & KMIG_LOG_STOP_F_ALL_SLOTS)
		ret = ls_build(kvm, NULL, 0, mine, &req);
	else
		ret = ls_from_user(kvm, a, mine, &req);
	if (ret)
		goto out;

	INIT_DELAYED_WORK(&req->work, ls_work);
	req->kvm = kvm;
	req->session_id = s->id;
	req->vm_pid = kvm->userspace_pid;
	req->now = now;
	req->interval_ns = a->flags & KMIG_LOG_STOP_F_INTERVAL ? a->interval_ns :
		min_t(u64, (u64)READ_ONCE(stop_interval_us) * NSEC_PER_USEC,
		      KMIG_LOG_STOP_MAX_INTERVAL_NS);
	a->nr_done = a->nr_skipped = a->nr_failed = 0;
	a->work_ns = 0;
	ret = ls_submit(s, req, mine, a);
	if (ret) {
		kvfree(req);
		goto out;
	}
	if (now)
		ls_run_now(req, a);
out:
	bitmap_free(mine);
	return ret;
}

/* ---- KMIG_LOG_STOP_CANCEL ---- */

/*
 * Takes the first pending request of @kvm (with id @id unless 0) off the
 * list, marked cancelled; the caller owns it then.
 */
static struct kmig_stop_req *ls_take(struct kvm *kvm, u64 id)
{
	struct kmig_stop_req *req;

	mutex_lock(&kmig_stop_lock);
	list_for_each_entry(req, &kmig_stop_list, node) {
		if ((kvm && req->kvm != kvm) || (id && req->id != id))
			continue;
		req->cancelled = true;
		list_del(&req->node);
		kmig_stop_nr_pending--;
		mutex_unlock(&kmig_stop_lock);
		return req;
	}
	mutex_unlock(&kmig_stop_lock);
	return NULL;
}

/* Cancels a request taken with ls_take(); returns the slots left. */
static u32 ls_cancel(struct kmig_stop_req *req)
{
	u32 left;

	/* Waits for a running worker; kills a queued or re-queued one. */
	cancel_delayed_work_sync(&req->work);
	left = req->nr_slots - req->next;
	kmig_logstop_finish(req, KMIG_STOP_CANCELLED);
	return left;
}

int kmig_logstop_cancel_ioctl(struct kmig_session *s, void *arg)
{
	struct kmig_log_stop_cancel *a = arg;
	bool all = a->flags & KMIG_LOG_STOP_CANCEL_F_ALL;
	struct kmig_stop_req *req;
	struct kvm *kvm;

	if (a->flags & ~KMIG_LOG_STOP_CANCEL_F_ALL_MASK)
		return -EINVAL;
	if (all ? a->id != 0 : a->id == 0)
		return -EINVAL;
	if (!kmig_is_zeroed(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	kvm = kmig_session_kvm(s);
	if (!kvm)
		return -ENOTCONN;

	a->nr_requests = a->nr_slots = 0;
	while ((req = ls_take(kvm, a->id))) {
		a->nr_slots += ls_cancel(req);
		a->nr_requests++;
		if (!all)
			break;
	}
	return all || a->nr_requests ? 0 : -ENOENT;
}

/* ---- KMIG_LOG_STOP_QUERY ---- */

int kmig_logstop_query_ioctl(struct kmig_session *s, void *arg)
{
	struct kmig_log_stop_query *a = arg;
	const struct kmig_stop_req *req;
	struct kvm *kvm;

	if (a->flags & ~KMIG_LOG_STOP_QUERY_F_ALL)
		return -EINVAL;
	if (a->reserved0 || !kmig_is_zeroed(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	kvm = kmig_session_kvm(s);
	if (!kvm)
		return -ENOTCONN;

	a->nr_requests = a->nr_slots = 0;
	a->nr_done = a->nr_skipped = a->nr_failed = 0;
	mutex_lock(&kmig_stop_lock);
	list_for_each_entry(req, &kmig_stop_list, node) {
		if (req->kvm != kvm || (a->id && req->id != a->id))
			continue;
		a->nr_requests++;
		a->nr_slots += req->nr_slots - req->next;
		a->nr_done += req->nr_done;
		a->nr_skipped += req->nr_skipped;
		a->nr_failed += req->nr_failed;
	}
	mutex_unlock(&kmig_stop_lock);
	return a->id && !a->nr_requests ? -ENOENT : 0;
}

int kmig_logstop_walk(u64 after,
		      int (*fn)(const struct kmig_stop_req *, void *),
		      void *arg)
{
	const struct kmig_stop_req *req;
	int ret = 0;

	mutex_lock(&kmig_stop_lock);
	list_for_each_entry(req, &kmig_stop_list, node) {
		if (req->id <= after)
			continue;
		ret = fn(req, arg);
		if (ret)
			break;
	}
	mutex_unlock(&kmig_stop_lock);
	return ret;
}

int kmig_logstop_init(void)
{
	kmig_stop_wq = alloc_workqueue("kmig_logstop", WQ_UNBOUND, 0);
	return kmig_stop_wq ? 0 : -ENOMEM;
}

/* Module unload: cancel everything pending, wait for every worker. */
void kmig_logstop_uninit(void)
{
	struct kmig_stop_req *req;

	while ((req = ls_take(NULL, 0)))
		ls_cancel(req);
	destroy_workqueue(kmig_stop_wq);
}
