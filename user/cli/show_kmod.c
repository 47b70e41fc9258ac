// SPDX-License-Identifier: GPL-2.0
/* What kmig stat and kmig monitor both show of kmig.ko: a deferred stop. */
#include "kmod/kmod_nl.h"
#include "show.h"

const char *cli_stop_state(uint32_t s)
{
	return s == KMIG_STOP_PENDING ? "pending" : s == KMIG_STOP_DONE ? "done" :
	       s == KMIG_STOP_CANCELLED ? "cancelled" : "unknown";
}

void cli_stop_json(struct json *j, const struct kmig_nl_stop *s, bool with_now)
{
	json_u64(j, "id", s->id);
	json_u64(j, "session_id", s->session_id);
	json_u64(j, "vm_pid", s->vm_pid);
	json_str(j, "state", cli_stop_state(s->state));
	if (with_now)
		json_bool(j, "now", s->now);
	json_u64(j, "slots", s->nr_slots);
	json_u64(j, "done", s->nr_done);
	json_u64(j, "skipped", s->nr_skipped);
	json_u64(j, "failed", s->nr_failed);
	json_u64(j, "age_ns", s->age_ns);
	json_u64(j, "work_ns", s->work_ns);
}
