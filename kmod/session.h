/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session.h - one session per open file of /dev/kmig.
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
 * Counters are kept per session from the first call so that the netlink
 * dump (added later) only has to read them. Atomic because calls on one
 * session may run concurrently from several threads.
 */
struct kmig_stats {
	atomic64_t zscan_calls;
	atomic64_t zscan_ns;
	atomic64_t zscan_pages[KMIG_ZK_NR];
};

/**
 * struct kmig_session - state of one open of /dev/kmig
 * @node: entry in the list of all sessions (kmig_sessions_lock).
 * @id: unique, never reused while the module is loaded.
 * @tgid: process that opened the session.
 * @attach_lock: serialises KMIG_ATTACH_VM so that only one attach wins.
 * @kvm: the attached VM, NULL until attached. Set once under @attach_lock
 *	with release semantics and never changed until the session is freed;
 *	readers use kmig_session_kvm() and need no lock. The session holds a
 *	reference (kvm_get_kvm_safe) for its whole life.
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
	unsigned long huge_zero_pfn;
	struct kmig_stats stats;
};

struct kmig_session *kmig_session_create(void);
void kmig_session_destroy(struct kmig_session *s);

/* The attached VM, or NULL; pairs with the release store in vm.c. */
static inline struct kvm *kmig_session_kvm(struct kmig_session *s)
{
	return smp_load_acquire(&s->kvm);
}

#endif /* _KMIG_SESSION_H */
