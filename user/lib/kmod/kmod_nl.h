/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's generic netlink family "kmig" (libmnl): statistics of the
 * sessions and of the whole module, pending deferred stops, and events
 * (a deferred stop ended; a session attached or closed).
 *
 * A struct kmig_nl holds a request socket and, if asked for, a second
 * socket subscribed to the "events" group (so replies and events never
 * mix). It is owned by one thread; open one per thread. The parsers turn
 * messages into the structs below (the wire format stays in this file)
 * and validate every attribute's type and length; they are exposed for the
 * fuzzer. All requests need CAP_NET_ADMIN.
 */
#ifndef KMIG_KMOD_NL_H
#define KMIG_KMOD_NL_H

#include <linux/kmig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"

struct kmig_nl;

/* Counters: v[i] is attribute KMIG_STATS_A_ZSCAN_CALLS + i. */
#define KMIG_NL_NR_STATS	(KMIG_STATS_A_MAX - KMIG_STATS_A_ZSCAN_CALLS + 1)

struct kmig_nl_stats {
	uint64_t v[KMIG_NL_NR_STATS];
};

/* Index of attribute @attr in struct kmig_nl_stats. */
#define KMIG_NL_STAT(attr)	((attr) - KMIG_STATS_A_ZSCAN_CALLS)

/* "zscan_calls", ... (also the JSON keys of kmig stat); NULL if out of range. */
const char *kmig_nl_stat_name(unsigned int i);

struct kmig_nl_session {
	uint64_t id;
	uint32_t pid;		/* opened the session */
	uint32_t vm_pid;	/* created the VM; 0: not attached */
	bool has_stats;
	struct kmig_nl_stats stats;
};

struct kmig_nl_totals {
	uint32_t nr_sessions;	/* open now */
	struct kmig_nl_stats stats;	/* since load, closed sessions included */
};

struct kmig_nl_stop_slot {
	uint32_t slot;		/* KMIG_SLOT() */
	uint32_t result;	/* enum kmig_stop_result */
	uint32_t err;		/* errno with KMIG_STOP_SLOT_FAILED */
	uint64_t ns;
};

struct kmig_nl_stop {
	uint64_t id, session_id;
	uint32_t vm_pid;
	uint32_t state;		/* enum kmig_stop_state */
	bool now;
	uint32_t nr_slots, nr_done, nr_skipped, nr_failed;
	uint64_t age_ns, work_ns;
	uint32_t nr_slot_info;	/* events only */
	uint32_t nr_slots_omitted;	/* events only: slots without an entry in
					 * slot_info (the event's size limit) */
	struct kmig_nl_stop_slot *slot_info;	/* malloc'd; kmig_nl_stop_free() */
};

enum kmig_nl_event_type { KMIG_NL_EV_SESSION = 1, KMIG_NL_EV_STOP };

struct kmig_nl_event {
	enum kmig_nl_event_type type;
	uint32_t session_event;		/* KMIG_EVENT_ATTACHED/CLOSED */
	struct kmig_nl_session session;	/* KMIG_NL_EV_SESSION */
	struct kmig_nl_stop stop;	/* KMIG_NL_EV_STOP */
};

/* Resolves the family (-ENOENT if kmig.ko is not loaded); with @events,
 * also joins the "events" group. */
int kmig_nl_open(struct kmig_nl **out, bool events, struct kmig_err *err);
void kmig_nl_close(struct kmig_nl *nl);
/* The events socket, for poll(); -1 without events. */
int kmig_nl_event_fd(const struct kmig_nl *nl);
/* The family's id, for tools that build their own messages. */
uint16_t kmig_nl_family_id(const struct kmig_nl *nl);

/* Every open session, into a malloc'd array (free()). */
int kmig_nl_sessions(struct kmig_nl *nl, struct kmig_nl_session **out, size_t *n,
		     struct kmig_err *err);
/* One session (-ENOENT if not open). */
int kmig_nl_session(struct kmig_nl *nl, uint64_t id, struct kmig_nl_session *out,
		    struct kmig_err *err);
int kmig_nl_totals(struct kmig_nl *nl, struct kmig_nl_totals *out, struct kmig_err *err);
/* Pending deferred stops (of session @session_id, or all with 0), into a
 * malloc'd array (free()); no per-slot info. */
int kmig_nl_stops(struct kmig_nl *nl, uint64_t session_id, struct kmig_nl_stop **out,
		  size_t *n, struct kmig_err *err);

/*
 * Waits up to @timeout_ms (-1: forever) for the next event. Returns 1 with
 * @ev filled (kmig_nl_event_free() it), 0 on timeout, -EINTR if a signal
 * came, or -errno (-ENOBUFS: events were lost, the socket overran).
 */
int kmig_nl_event_next(struct kmig_nl *nl, int timeout_ms, struct kmig_nl_event *ev,
		       struct kmig_err *err);
void kmig_nl_event_free(struct kmig_nl_event *ev);
void kmig_nl_stop_free(struct kmig_nl_stop *st);

/* Parsers of one message (after the genl header check): 0 or -EPROTO. */
int kmig_nl_parse_session_msg(const void *buf, size_t len, struct kmig_nl_session *out);
int kmig_nl_parse_event_msg(const void *buf, size_t len, struct kmig_nl_event *ev);

#endif /* KMIG_KMOD_NL_H */
