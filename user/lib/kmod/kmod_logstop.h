/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deferred dirty-log stop through the module (KMIG_LOG_STOP, _CANCEL,
 * _QUERY): "stop dirty logging on these slots, later, in the background".
 *
 * Call it when a migration has ended (or was cancelled), after the last
 * harvest: the call returns at once; a kernel worker turns
 * KVM_MEM_LOG_DIRTY_PAGES off one slot at a time (huge pages come back as
 * the guest touches its memory), skipping slots the VMM changed or deleted
 * meanwhile. The end of each request is a netlink event (kmod_nl.h).
 * Without the module, the VMM does KVM_SET_USER_MEMORY_REGION itself.
 */
#ifndef KMIG_KMOD_LOGSTOP_H
#define KMIG_KMOD_LOGSTOP_H

#include <stdint.h>

#include "base/errbuf.h"
#include "kmod/kmod_dev.h"

struct kmig_logstop_opts {
	uint32_t flags;		/* KMIG_LOG_STOP_F_NOW, _ALL_SLOTS, _INTERVAL */
	uint64_t delay_ns;	/* before the first slot */
	uint64_t interval_ns;	/* with KMIG_LOG_STOP_F_INTERVAL: between slots */
};

struct kmig_logstop_result {
	uint64_t id;		/* request id (events and cancel name it) */
	uint32_t nr_queued;	/* slots in the request */
	/* KMIG_LOG_STOP_F_NOW only: */
	uint32_t nr_done, nr_skipped, nr_failed;
	uint64_t work_ns;
};

/*
 * Queues (or with KMIG_LOG_STOP_F_NOW, does) the stop of @n slots (@slots
 * may be NULL with KMIG_LOG_STOP_F_ALL_SLOTS). @o may be NULL (defaults).
 * Returns 0 or -errno with @err: -ENODATA a slot does not log dirty pages,
 * -EBUSY a slot is in a pending request, -ENOENT no such slot, -EAGAIN too
 * many pending requests.
 */
int kmig_logstop_request(struct kmig_kmod *m, const uint32_t *slots, uint32_t n,
			 const struct kmig_logstop_opts *o, struct kmig_logstop_result *res,
			 struct kmig_err *err);

/*
 * Cancels request @id, or every pending request of the VM with @id 0.
 * Returns 0 (counts in the optional out pointers), -ENOENT if @id is not
 * pending (it may have ended already).
 */
int kmig_logstop_cancel(struct kmig_kmod *m, uint64_t id, uint32_t *nr_requests,
			uint32_t *nr_slots_left, struct kmig_err *err);

struct kmig_logstop_status {
	uint32_t nr_requests;	/* pending */
	uint32_t nr_slots;	/* still to handle */
	uint32_t nr_done, nr_skipped, nr_failed;	/* handled so far */
};

/* Pending work of request @id, or of every request of the VM (@id 0).
 * -ENOENT if @id is not pending. */
int kmig_logstop_query(struct kmig_kmod *m, uint64_t id, struct kmig_logstop_status *st,
		       struct kmig_err *err);

#endif /* KMIG_KMOD_LOGSTOP_H */
