/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session.h - one session per open file of /dev/kmig, the list of all
 * sessions and the counters (per session and module-wide).
 */
#ifndef _KMIG_SESSION_H
#define _KMIG_SESSION_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "kmig.h"

struct kvm;

/*
 * Counters, indexed by enum kmig_stat. Atomic because calls on one session
 * may run concurrently from several threads; the netlink dump reads them.
 */
struct kmig_stats {
	atomic64_t v[KMIG_ST_NR];
};

/**
 * struct kmig_session - state of one open of /dev/kmig
 * @node: entry in the list of all sessions (kmig_sessions_lock), in
 *	increasing @id order.
 * @id: unique, never reused while the module is loaded.
 * @tgid: process that opened the session.
 * @attach_lock: serialises KMIG_ATTACH_VM so that only one attach wins.
 * @kvm: the attached VM, NULL until attached. Set once under @attach_lock
 *	with release semantics and never changed until the session is freed;
 *	readers use kmig_session_kvm() and need no lock. The session holds a
 *	reference (kvm_get_kvm_safe) for its whole life.
 * @vm_pid: the VM's creating process (kvm->userspace_pid), once attached.
 * @huge_zero_pfn: pfn of the huge zero page once a scan has confirmed it
 *	by reading it, 0 before. See zscan.c.
 * @stats: counters, see struct kmig_stats.
 */
struct kmig_session {
	struct list_head node;
	u64 id;
	pid_t tgid;
	struct mutex attach_lock;
	struct kvm *kvm;
	pid_t vm_pid;
	unsigned long huge_zero_pfn;
	struct kmig_stats stats;
};

/* A copy of what the netlink dump shows of a session. */
struct kmig_session_info {
	u64 id;
	pid_t tgid;
	pid_t vm_pid;
	u64 stats[KMIG_ST_NR];
};

struct kmig_session *kmig_session_create(void);
void kmig_session_destroy(struct kmig_session *s);
void kmig_session_info(struct kmig_session *s, struct kmig_session_info *out);

/* The attached VM, or NULL; pairs with the release store in vm.c. */
static inline struct kvm *kmig_session_kvm(struct kmig_session *s)
{
	return smp_load_acquire(&s->kvm);
}

static inline void kmig_stat_add(struct kmig_session *s, enum kmig_stat i,
				 u64 v)
{
	atomic64_add(v, &s->stats.v[i]);
}

/*
 * Adds @delta to the counters of session @id if it is still open, else to
 * the module-wide sums of closed sessions (deferred stops outlive their
 * session).
 */
void kmig_session_account(u64 id, const s64 delta[KMIG_ST_NR]);

/*
 * Calls @fn on a copy of each session with an id above @after, in id
 * order, under the session list lock (@fn must not sleep for long and must
 * not call back into the session list), until @fn returns non-zero, which
 * is returned.
 */
int kmig_sessions_walk(u64 after,
		       int (*fn)(const struct kmig_session_info *, void *),
		       void *arg);
/* The session @id; -ENOENT if it is not open. */
int kmig_session_find(u64 id, struct kmig_session_info *out);
/* Module-wide sums since load (closed sessions included), open sessions. */
void kmig_sessions_totals(u64 stats[KMIG_ST_NR], u32 *nr_open);

#endif /* _KMIG_SESSION_H */
