// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - session lifetime.
 *
 * A session is created by open() of /dev/kmig and destroyed by the last
 * close of that file, which drops the VM reference taken by attach. All
 * sessions are on one list so that statistics can be dumped per session.
 */
#include <linux/sched.h>
#include <linux/slab.h>

#include "session.h"
#include "vm.h"

static LIST_HEAD(kmig_sessions);
static DEFINE_MUTEX(kmig_sessions_lock);
static atomic64_t kmig_session_ids = ATOMIC64_INIT(0);

struct kmig_session *kmig_session_create(void)
{
	struct kmig_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->id = atomic64_inc_return(&kmig_session_ids);
	s->tgid = task_tgid_nr(current);
	mutex_init(&s->attach_lock);

	mutex_lock(&kmig_sessions_lock);
	list_add_tail(&s->node, &kmig_sessions);
	mutex_unlock(&kmig_sessions_lock);
	return s;
}

void kmig_session_destroy(struct kmig_session *s)
{
	mutex_lock(&kmig_sessions_lock);
	list_del(&s->node);
	mutex_unlock(&kmig_sessions_lock);

	/* May drop the last VM reference and destroy the VM here. */
	kmig_vm_detach(s);
	mutex_destroy(&s->attach_lock);
	kfree(s);
}
