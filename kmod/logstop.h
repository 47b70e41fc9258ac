/* SPDX-License-Identifier: GPL-2.0 */
/*
 * logstop.h - deferred (background) dirty-log stop: KMIG_LOG_STOP,
 * KMIG_LOG_STOP_CANCEL, KMIG_LOG_STOP_QUERY.
 */
#ifndef _KMIG_LOGSTOP_H
#define _KMIG_LOGSTOP_H

#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct kmig_session;
struct kvm;

/**
 * struct kmig_stop_slot - one slot of a request
 * @slot: KMIG_SLOT(as_id, id).
 * @flags: KVM_MEM_* flags at request time.
 * @base_gfn: at request time.
 * @npages: at request time.
 * @hva: userspace_addr at request time.
 * @result: enum kmig_stop_result.
 * @err: positive errno with KMIG_STOP_SLOT_FAILED.
 * @ns: time __kvm_set_memory_region() took for it.
 */
struct kmig_stop_slot {
	u32 slot;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long hva;
	u32 result;
	u32 err;
	u64 ns;
};

/**
 * struct kmig_stop_req - a deferred-stop request
 * @node: in the list of pending requests (kmig_stop_lock) until it ends.
 * @work: the worker; handles one slot per run and re-queues itself.
 * @kvm: the VM; the request holds a reference until it ends.
 * @id: request id.
 * @session_id: the session that made it (may be closed meanwhile).
 * @vm_pid: the VM's creating process.
 * @now: made with KMIG_LOG_STOP_F_NOW (handled in the ioctl).
 * @gen: per address space, the memslot generation the request expects:
 *	the logging epoch (see logstop.c), written under kvm->slots_lock.
 * @cancelled: set under kmig_stop_lock by the canceller, which then owns
 *	the request; the worker does not touch it after it saw the flag.
 * @state: enum kmig_stop_state, once ended.
 * @interval_ns: least time between the starts of two slots.
 * @t_queued: when the request was made.
 * @t_end: when it ended.
 * @t_slot: when the last slot was started.
 * @work_ns: time spent in KVM for its slots.
 * @next: first slot not handled; written by the worker under
 *	kmig_stop_lock.
 * @nr_done, @nr_skipped, @nr_failed: slots by result (kmig_stop_lock).
 * @nr_slots: slots in @slots.
 * @slots: the slots, in the order they are handled.
 */
struct kmig_stop_req {
	struct list_head node;
	struct delayed_work work;
	struct kvm *kvm;
	u64 id;
	u64 session_id;
	pid_t vm_pid;
	bool now;
	bool cancelled;
	u64 gen[KVM_MAX_NR_ADDRESS_SPACES];
	u32 state;
	u64 interval_ns;
	u64 t_queued;
	u64 t_end;
	u64 t_slot;
	u64 work_ns;
	u32 next;
	u32 nr_done;
	u32 nr_skipped;
	u32 nr_failed;
	u32 nr_slots;
	struct kmig_stop_slot slots[];
};

int kmig_logstop_init(void);
void kmig_logstop_uninit(void);

int kmig_logstop_ioctl(struct kmig_session *s, void *arg);
int kmig_logstop_cancel_ioctl(struct kmig_session *s, void *arg);
int kmig_logstop_query_ioctl(struct kmig_session *s, void *arg);

/*
 * Calls @fn on each pending request with an id above @after, in id order,
 * under the request list lock, until @fn returns non-zero (returned).
 * @fn must not sleep for long nor call back into this file.
 */
int kmig_logstop_walk(u64 after,
		      int (*fn)(const struct kmig_stop_req *, void *),
		      void *arg);

#endif /* _KMIG_LOGSTOP_H */
