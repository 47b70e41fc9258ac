// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - session lifetime and counters.
 *
 * A session is created by open() of /dev/kmig and destroyed by the last
 * close of that file, which drops the VM reference taken by attach. All
 * sessions are on one list, in id order, so that the netlink dump can
 * resume after the last id it sent. When a session closes, its counters
 * are added to the module-wide sums of closed sessions, under the list
 * lock, so that module totals never go backwards and a deferred stop that
 * ends after its session closed still lands somewhere exactly once.
 */
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "netlink.h"
#include "session.h"
#include "vm.h"

static LIST_HEAD(kmig_sessions);
static DEFINE_MUTEX(kmig_sessions_lock);
static u64 kmig_session_last_id;		/* kmig_sessions_lock */
static u64 kmig_closed_stats[KMIG_ST_NR];	/* kmig_sessions_lock */

struct kmig_session *kmig_session_create(void)
{
	struct kmig_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->tgid = task_tgid_nr(current);
	mutex_init(&s->attach_lock);

	mutex_lock(&kmig_sessions_lock);
	/* Assigned under the lock, so the list stays in id order. */
	s->id = ++kmig_session_last_id;
	list_add_tail(&s->node, &kmig_sessions);
	mutex_unlock(&kmig_sessions_lock);
	return s;
}

void kmig_session_info(struct kmig_session *s, struct kmig_session_info *out)
{
	int i;

	out->id = s->id;
	out->tgid = s->tgid;
	out->vm_pid = READ_ONCE(s->vm_pid);
	for (i = 0; i < KMIG_ST_NR; i++)
		out->stats[i] = atomic64_read(&s->stats.v[i]);
}

void kmig_session_destroy(struct kmig_session *s)
{
	struct kmig_session_info info;
	int i;

	mutex_lock(&kmig_sessions_lock);
	list_del(&s->node);
	kmig_session_info(s, &info);
	for (i = 0; i < KMIG_ST_NR; i++)
		kmig_closed_stats[i] += info.stats[i];
	mutex_unlock(&kmig_sessions_lock);

	kmig_nl_session_event(KMIG_EVENT_CLOSED, &info);
	/* May drop the last VM reference and destroy the VM here. */
	kmig_vm_detach(s);
	mutex_destroy(&s->attach_lock);
	kfree(s);
}

static struct kmig_session *kmig_session_lookup(u64 id)
{
	struct kmig_session *s;

	lockdep_assert_held(&kmig_sessions_lock);
	list_for_each_entry(s, &kmig_sessions, node)
		if (s->id == id)
			return s;
	return NULL;
}

void kmig_session_account(u64 id, const s64 delta[KMIG_ST_NR])
{
	struct kmig_session *s;
	int i;

	mutex_lock(&kmig_sessions_lock);
	s = kmig_session_lookup(id);
	for (i = 0; i < KMIG_ST_NR; i++) {
		if (!delta[i])
			continue;
		if (s)
			atomic64_add(delta[i], &s->stats.v[i]);
		else
			kmig_closed_stats[i] += delta[i];
	}
	mutex_unlock(&kmig_sessions_lock);
}

int kmig_sessions_walk(u64 after,
		       int (*fn)(const struct kmig_session_info *, void *),
		       void *arg)
{
	struct kmig_session_info info;
	struct kmig_session *s;
	int ret = 0;

	mutex_lock(&kmig_sessions_lock);
	list_for_each_entry(s, &kmig_sessions, node) {
		if (s->id <= after)
			continue;
		kmig_session_info(s, &info);
		ret = fn(&info, arg);
		if (ret)
			break;
	}
	mutex_unlock(&kmig_sessions_lock);
	return ret;
}

int kmig_session_find(u64 id, struct kmig_session_info *out)
{
	struct kmig_session *s;
	int ret = -ENOENT;

	mutex_lock(&kmig_sessions_lock);
	s = kmig_session_lookup(id);
	if (s) {
		kmig_session_info(s, out);
		ret = 0;
	}
	mutex_unlock(&kmig_sessions_lock);
	return ret;
}

void kmig_sessions_totals(u64 stats[KMIG_ST_NR], u32 *nr_open)
{
	struct kmig_session *s;
	int i;

	*nr_open = 0;
	mutex_lock(&kmig_sessions_lock);
	memcpy(stats, kmig_closed_stats, sizeof(kmig_closed_stats));
	list_for_each_entry(s, &kmig_sessions, node) {
		for (i = 0; i < KMIG_ST_NR; i++)
			stats[i] += atomic64_read(&s->stats.v[i]);
		(*nr_open)++;
	}
	mutex_unlock(&kmig_sessions_lock);
}
