// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/kmig.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kmod/kmod_logstop.h"

static const char *stop_hint(int e)
{
	switch (e) {
	case ENODATA: return " (a slot has dirty logging off)";
	case EBUSY: return " (a slot is already in a pending request)";
	case EAGAIN: return " (too many pending requests)";
	case ENOENT: return " (no such slot)";
	default: return "";
	}
}

int kmig_logstop_request(struct kmig_kmod *m, const uint32_t *slots, uint32_t n,
			 const struct kmig_logstop_opts *o, struct kmig_logstop_result *res,
			 struct kmig_err *err)
{
	struct kmig_log_stop a = {
		.size = sizeof(a), .nr_slots = n, .slots = (uintptr_t)slots,
	};

	if (!kmig_kmod_has(m, KMIG_FEAT_LOG_STOP))
		return kmig_err_set(err, -EPROTO, "the module has no KMIG_LOG_STOP");
	if (o) {
		a.flags = o->flags;
		a.delay_ns = o->delay_ns;
		a.interval_ns = o->interval_ns;
	}
	if (ioctl(m->fd, KMIG_LOG_STOP, &a) < 0)
		return kmig_err_set(err, -errno, "KMIG_LOG_STOP of %u slot(s)%s: %s%s", n,
				    a.flags & KMIG_LOG_STOP_F_ALL_SLOTS ? " (all)" : "",
				    strerror(errno), stop_hint(errno));
	*res = (struct kmig_logstop_result){
		.id = a.id, .nr_queued = a.nr_queued, .nr_done = a.nr_done,
		.nr_skipped = a.nr_skipped, .nr_failed = a.nr_failed, .work_ns = a.work_ns,
	};
	return 0;
}

int kmig_logstop_cancel(struct kmig_kmod *m, uint64_t id, uint32_t *nr_requests,
			uint32_t *nr_slots_left, struct kmig_err *err)
{
	struct kmig_log_stop_cancel a = {
		.size = sizeof(a), .id = id,
		.flags = id ? 0 : KMIG_LOG_STOP_CANCEL_F_ALL,
	};

	if (ioctl(m->fd, KMIG_LOG_STOP_CANCEL, &a) < 0)
		return kmig_err_set(err, -errno, "KMIG_LOG_STOP_CANCEL of request %llu: %s%s",
				    (unsigned long long)id, strerror(errno),
				    errno == ENOENT ? " (not pending: ended or unknown)" : "");
	if (nr_requests)
		*nr_requests = a.nr_requests;
	if (nr_slots_left)
		*nr_slots_left = a.nr_slots;
	return 0;
}

int kmig_logstop_query(struct kmig_kmod *m, uint64_t id, struct kmig_logstop_status *st,
		       struct kmig_err *err)
{
	struct kmig_log_stop_query a = { .size = sizeof(a), .id = id };

	if (ioctl(m->fd, KMIG_LOG_STOP_QUERY, &a) < 0)
		return kmig_err_set(err, -errno, "KMIG_LOG_STOP_QUERY of request %llu: %s",
				    (unsigned long long)id, strerror(errno));
	*st = (struct kmig_logstop_status){
		.nr_requests = a.nr_requests, .nr_slots = a.nr_slots, .nr_done = a.nr_done,
		.nr_skipped = a.nr_skipped, .nr_failed = a.nr_failed,
	};
	return 0;
}
