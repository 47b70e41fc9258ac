// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_logstop_test - the deferred dirty-log stop (KMIG_LOG_STOP, _CANCEL,
 * _QUERY) on real VMs, with its netlink events.
 *
 * recollapse: two identical VMs with a THP-backed slot, touched by the
 * guest (KVM maps it with 2 MiB pages: pages_2m), then dirty logging on
 * (KVM splits: pages_2m 0, pages_4k up). One VM stops logging the VMM's
 * way, KVM_SET_USER_MEMORY_REGION, timed; the other through the module,
 * timed on the caller's path; both printed (never asserted: the machine is
 * shared). The module's event arrives, logging is off, and after one guest
 * pass pages_2m is back.
 * Races and lifetime: slot deleted while pending (skipped, not recreated),
 * moved / flags changed / resized while pending (skipped, untouched), VM fd
 * and session closed while pending (done in the background), the VMM exits
 * while pending (skipped), cancel (one, all, mid-way), busy slots, the
 * rate limit, KMIG_LOG_STOP_F_NOW and F_ALL_SLOTS, every errno; and last,
 * module unload while a request is pending (rmmod cancels it, the event
 * says so, insmod brings the module back).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kmod/kmod_nl.h"

#define MS		1000000ULL
#define T_KO_PATH	"/modules/kmig.ko"

/* Waits for the end event of request @id; returns 0 with @st filled. */
static int t_wait_stop(struct kmig_nl *nl, uint64_t id, int timeout_ms,
		       struct kmig_nl_stop *st)
{
	struct kmig_nl_event ev;
	struct kmig_err err = { 0 };
	uint64_t end = kt_now_ns() + timeout_ms * MS;

	while (kt_now_ns() < end) {
		int ret = kmig_nl_event_next(nl, (end - kt_now_ns()) / MS + 1, &ev, &err);

		if (ret < 0 && ret != -EINTR)
			KT_ASSERT(0, "event: %s", err.msg);
		if (ret <= 0)
			continue;
		if (ev.type == KMIG_NL_EV_STOP && ev.stop.id == id) {
			*st = ev.stop;
			return 0;
		}
		kmig_nl_event_free(&ev);
	}
	return -ETIMEDOUT;
}

static struct kmig_nl *t_nl_events(void)
{
	struct kmig_nl *nl;
	struct kmig_err err = { 0 };

	KT_ASSERT(!kmig_nl_open(&nl, true, &err), "%s", err.msg);
	return nl;
}

/* Asks for the stop of @n slots; returns the request id. */
static uint64_t t_stop(int kfd, const uint32_t *slots, uint32_t n, uint32_t flags,
		       uint64_t delay_ns, uint64_t interval_ns)
{
	struct kmig_log_stop a = {
		.size = sizeof(a), .flags = flags | KMIG_LOG_STOP_F_INTERVAL,
		.nr_slots = n, .slots = (uintptr_t)slots, .delay_ns = delay_ns,
		.interval_ns = interval_ns,
	};

	KT_CALL_OK(__kmig_log_stop(kfd, &a), "KMIG_LOG_STOP");
	KT_ASSERT(a.id && a.nr_queued == n, "id %llu, queued %u of %u",
		  (unsigned long long)a.id, a.nr_queued, n);
	return a.id;
}

static bool t_logging(struct kt_vm *vm, uint32_t slot, uint64_t *bm)
{
	if (!__kt_get_dirty_log(vm, slot, bm))
		return true;
	KT_ASSERT(errno == ENOENT, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
	return false;
}

/* ---- huge pages ---- */

#define T_THP_SLOT	1
#define T_THP_GPA	(1UL << 30)
#define T_THP_SIZE	(128UL << 20)
#define T_THP_REGIONS	(T_THP_SIZE / KT_HPAGE)

struct t_thp_vm {
	struct kt_vm vm;
	struct kt_mem mem;
	struct kt_guest_write w[T_THP_REGIONS];
};

/* One guest write per 2 MiB region: faults in huge mappings if it can. */
static void t_guest_pass(struct t_thp_vm *t, uint8_t val)
{
	for (size_t i = 0; i < T_THP_REGIONS; i++)
		t->w[i] = (struct kt_guest_write){ T_THP_GPA + i * KT_HPAGE + 64, val };
	kt_guest_write(&t->vm, t->w, T_THP_REGIONS);
}

static void t_thp_vm(struct t_thp_vm *t)
{
	kt_vm_create(&t->vm);
	kt_vm_manual_protect(&t->vm, false);
	kt_guest_setup(&t->vm);
	kt_mem_alloc(&t->mem, KT_ANON_THP, T_THP_SIZE);
	memset(t->mem.hva, 1, T_THP_SIZE);	/* THPs on the host side */
	kt_vm_set_slot(&t->vm, T_THP_SLOT, 0, T_THP_GPA, T_THP_SIZE, t->mem.hva);
	t_guest_pass(t, 2);
	KT_ASSERT(kt_vm_stat(&t->vm, "pages_2m") >= T_THP_REGIONS / 2,
		  "pages_2m %llu after touching %lu THP regions",
		  (unsigned long long)kt_vm_stat(&t->vm, "pages_2m"), T_THP_REGIONS);
	/* Dirty logging on: KVM splits the huge mappings. */
	kt_vm_set_slot(&t->vm, T_THP_SLOT, KVM_MEM_LOG_DIRTY_PAGES, T_THP_GPA, T_THP_SIZE,
		       t->mem.hva);
	t_guest_pass(t, 3);
}

TEST(recollapse)
{
	struct t_thp_vm a, b;
	struct kmig_nl *nl = t_nl_events();
	struct kmig_nl_stop st;
	uint32_t slot = T_THP_SLOT;
	uint64_t t0, sync_ns, defer_ns, done_ns, back_ns, id, bm[T_THP_SIZE / KT_PAGE / 64];
	uint64_t split_4k;
	int kfd;

	t_thp_vm(&a);
	t_thp_vm(&b);
	split_4k = kt_vm_stat(&a.vm, "pages_4k");
	TH_LOG("logging on: pages_2m %llu, pages_4k %llu",
	       (unsigned long long)kt_vm_stat(&a.vm, "pages_2m"),
	       (unsigned long long)split_4k);
	ASSERT_EQ(0, kt_vm_stat(&a.vm, "pages_2m"));
	ASSERT_GE(split_4k, T_THP_SIZE / KT_PAGE);

	/* The VMM's way, on VM b. */
	t0 = kt_now_ns();
	kt_vm_set_slot(&b.vm, T_THP_SLOT, 0, T_THP_GPA, T_THP_SIZE, b.mem.hva);
	sync_ns = kt_now_ns() - t0;

	/* The module's way, on VM a. */
	kfd = kmig_open();
	kmig_attach(kfd, a.vm.fd, NULL);
	t0 = kt_now_ns();
	id = t_stop(kfd, &slot, 1, 0, 0, 0);
	defer_ns = kt_now_ns() - t0;
	ASSERT_EQ(0, t_wait_stop(nl, id, 10000, &st));
	done_ns = kt_now_ns() - t0;
	EXPECT_EQ(KMIG_STOP_DONE, st.state);
	EXPECT_EQ(1, st.nr_done);
	ASSERT_EQ(1, st.nr_slot_info);
	EXPECT_EQ(KMIG_STOP_SLOT_DONE, st.slot_info[0].result);
	EXPECT_EQ(T_THP_SLOT, st.slot_info[0].slot);
	EXPECT_FALSE(t_logging(&a.vm, T_THP_SLOT, bm));

	t0 = kt_now_ns();
	t_guest_pass(&a, 4);
	t_guest_pass(&b, 4);
	back_ns = kt_now_ns() - t0;
	TH_LOG("%lu MiB THP slot: synchronous KVM_SET_USER_MEMORY_REGION %.3f ms; "
	       "KMIG_LOG_STOP returned in %.3f ms (%.0fx less), done in the background "
	       "after %.3f ms (KVM took %.3f ms); guest pass %.3f ms",
	       T_THP_SIZE >> 20, sync_ns / 1e6, defer_ns / 1e6, (double)sync_ns / defer_ns,
	       done_ns / 1e6, st.slot_info[0].ns / 1e6, back_ns / 1e6);
	TH_LOG("after one guest pass: pages_2m %llu (module) and %llu (synchronous), of %lu",
	       (unsigned long long)kt_vm_stat(&a.vm, "pages_2m"),
	       (unsigned long long)kt_vm_stat(&b.vm, "pages_2m"), T_THP_REGIONS);
	EXPECT_GE(kt_vm_stat(&a.vm, "pages_2m"), T_THP_REGIONS / 2);
	EXPECT_EQ(kt_vm_stat(&b.vm, "pages_2m"), kt_vm_stat(&a.vm, "pages_2m"));
	kmig_nl_stop_free(&st);
	kmig_nl_close(nl);
	close(kfd);
	kt_vm_close(&a.vm);
	kt_vm_close(&b.vm);
	kt_mem_free(&a.mem);
	kt_mem_free(&b.mem);
}

/* ---- races and lifetime, on the three-slot VM ---- */

FIXTURE(ls) {
	struct kt_dvm d;
	struct kmig_nl *nl;
	int kfd;
	uint64_t bm[KT_WORDS(2048)];
};

FIXTURE_SETUP(ls)
{
	kt_dvm_create(&self->d, false);
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->d.vm.fd, NULL);
	self->nl = t_nl_events();
}

FIXTURE_TEARDOWN(ls)
{
	kmig_nl_close(self->nl);
	if (self->kfd >= 0)
		close(self->kfd);
	kt_dvm_destroy(&self->d);
}

static void t_end(FIXTURE_DATA(ls) *self, uint64_t id, struct kmig_nl_stop *st)
{
	KT_ASSERT(!t_wait_stop(self->nl, id, 10000, st), "no event for request %llu",
		  (unsigned long long)id);
}

TEST_F(ls, all_done)
{
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 0, 0);

	t_end(self, id, &st);
	EXPECT_EQ(KMIG_STOP_DONE, st.state);
	EXPECT_EQ(KT_DSLOTS, st.nr_done);
	EXPECT_FALSE(st.now);
	for (int i = 0; i < KT_DSLOTS; i++)
		EXPECT_FALSE(t_logging(&self->d.vm, self->d.slot[i], self->bm));
	kmig_nl_stop_free(&st);
}

TEST_F(ls, slot_deleted)
{
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 300 * MS, 0);

	kt_vm_set_slot(&self->d.vm, self->d.slot[0], 0, self->d.gpa[0], 0, self->d.mem[0].hva);
	t_end(self, id, &st);
	ASSERT_EQ(KT_DSLOTS, st.nr_slot_info);
	EXPECT_EQ(KMIG_STOP_SLOT_DELETED, st.slot_info[0].result);
	EXPECT_EQ(KMIG_STOP_SLOT_DONE, st.slot_info[1].result);
	EXPECT_EQ(1, st.nr_skipped);
	EXPECT_EQ(2, st.nr_done);
	/* Not recreated: the slot id is free for the VMM. */
	ASSERT_ERRNO(ENOENT, __kt_get_dirty_log(&self->d.vm, self->d.slot[0], self->bm));
	kt_vm_set_slot(&self->d.vm, self->d.slot[0], KVM_MEM_LOG_DIRTY_PAGES, self->d.gpa[0],
		       self->d.npages[0] * KT_PAGE, self->d.mem[0].hva);
	kmig_nl_stop_free(&st);
}

TEST_F(ls, slot_changed)
{
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 300 * MS, 0);
	uint64_t moved = 512UL << 20;

	/* Moved (same memory, another GPA), flags changed by the VMM itself,
	 * resized (deleted and recreated smaller): all skipped, untouched. */
	kt_vm_set_slot(&self->d.vm, self->d.slot[0], KVM_MEM_LOG_DIRTY_PAGES, moved,
		       self->d.npages[0] * KT_PAGE, self->d.mem[0].hva);
	kt_vm_set_slot(&self->d.vm, self->d.slot[1], 0, self->d.gpa[1],
		       self->d.npages[1] * KT_PAGE, self->d.mem[1].hva);
	kt_vm_set_slot(&self->d.vm, self->d.slot[1], KVM_MEM_LOG_DIRTY_PAGES, self->d.gpa[1],
		       self->d.npages[1] * KT_PAGE, self->d.mem[1].hva);
	kt_vm_set_slot(&self->d.vm, self->d.slot[2], 0, self->d.gpa[2], 0, self->d.mem[2].hva);
	kt_vm_set_slot(&self->d.vm, self->d.slot[2], KVM_MEM_LOG_DIRTY_PAGES, self->d.gpa[2],
		       KT_MIB, self->d.mem[2].hva);
	t_end(self, id, &st);
	ASSERT_EQ(KT_DSLOTS, st.nr_slot_info);
	EXPECT_EQ(KMIG_STOP_SLOT_CHANGED, st.slot_info[0].result);
	/* Slot 2 was changed and changed back: the same fields, so handled. */
	EXPECT_EQ(KMIG_STOP_SLOT_DONE, st.slot_info[1].result);
	EXPECT_EQ(KMIG_STOP_SLOT_CHANGED, st.slot_info[2].result);
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[0], self->bm));
	EXPECT_FALSE(t_logging(&self->d.vm, self->d.slot[1], self->bm));
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[2], self->bm));
	kmig_nl_stop_free(&st);
}

/* The VM fd and the session are closed while the request is pending. */
TEST_F(ls, vm_closed)
{
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 200 * MS, 50 * MS);

	close(self->kfd);
	self->kfd = -1;
	kt_vm_close(&self->d.vm);	/* the request holds the last reference */
	t_end(self, id, &st);
	EXPECT_EQ(KMIG_STOP_DONE, st.state);
	EXPECT_EQ(KT_DSLOTS, st.nr_done);
	kmig_nl_stop_free(&st);
}

/* The VMM child's VM (kt_spawn_vmm()): slot 1 logging. */
static void vmm_setup(struct kt_vm *vm)
{
	static struct kt_mem m;		/* the child's, for its lifetime */

	kt_mem_alloc(&m, KT_ANON, KT_MIB);
	kt_vm_set_slot(vm, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, KT_MIB, m.hva);
}

/* The VMM process exits while the request is pending. */
TEST(vmm_exits)
{
	struct kmig_log_stop a = { .size = sizeof(a), .nr_slots = 1 };
	struct kmig_nl *nl = t_nl_events();
	struct kmig_nl_stop st;
	int sock, kfd, vm_fd;
	uint32_t slot = 1;
	uint64_t id;
	pid_t pid;

	pid = kt_spawn_vmm(vmm_setup, &sock, &vm_fd);
	kfd = kmig_open();
	kmig_attach(kfd, vm_fd, NULL);
	id = t_stop(kfd, &slot, 1, 0, 300 * MS, 0);
	kt_stop_vmm(pid, sock);
	ASSERT_EQ(0, t_wait_stop(nl, id, 10000, &st));
	ASSERT_EQ(1, st.nr_slot_info);
	EXPECT_EQ(KMIG_STOP_SLOT_VM_GONE, st.slot_info[0].result);
	/* A new request on a VM whose process is gone: -ENODEV. */
	a.slots = (uintptr_t)&slot;
	ASSERT_ERRNO(ENODEV, __kmig_log_stop(kfd, &a));
	kmig_nl_stop_free(&st);
	kmig_nl_close(nl);
	close(kfd);
	close(vm_fd);
}

TEST_F(ls, cancel)
{
	struct kmig_log_stop_cancel c = { .size = sizeof(c) };
	struct kmig_log_stop_query q = { .size = sizeof(q) };
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 10000 * MS, 0);

	q.id = id;
	ASSERT_EQ(0, __kmig_log_stop_query(self->kfd, &q));
	EXPECT_EQ(1, q.nr_requests);
	EXPECT_EQ(KT_DSLOTS, q.nr_slots);
	c.id = id;
	ASSERT_EQ(0, __kmig_log_stop_cancel(self->kfd, &c));
	EXPECT_EQ(1, c.nr_requests);
	EXPECT_EQ(KT_DSLOTS, c.nr_slots);
	t_end(self, id, &st);
	EXPECT_EQ(KMIG_STOP_CANCELLED, st.state);
	EXPECT_EQ(0, st.nr_done);
	for (uint32_t i = 0; i < st.nr_slot_info; i++)
		EXPECT_EQ(KMIG_STOP_SLOT_PENDING, st.slot_info[i].result);
	kmig_nl_stop_free(&st);
	ASSERT_ERRNO(ENOENT, __kmig_log_stop_query(self->kfd, &q));
	ASSERT_ERRNO(ENOENT, __kmig_log_stop_cancel(self->kfd, &c));
	for (int i = 0; i < KT_DSLOTS; i++)
		EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[i], self->bm));
}

TEST_F(ls, cancel_midway_and_all)
{
	struct kmig_log_stop_cancel c = { .size = sizeof(c) };
	struct kmig_log_stop_query q = { .size = sizeof(q) };
	struct kmig_nl_stop st;
	uint64_t id, id2;

	/* Slot 1 at once, the others 5 s later each: cancel after the first. */
	id = t_stop(self->kfd, self->d.slot, 2, 0, 0, 5000 * MS);
	id2 = t_stop(self->kfd, &self->d.slot[2], 1, 0, 10000 * MS, 0);
	for (int i = 0; i < 500; i++) {
		q.id = id;
		ASSERT_EQ(0, __kmig_log_stop_query(self->kfd, &q));
		if (q.nr_done)
			break;
		usleep(10000);
	}
	ASSERT_EQ(1, q.nr_done);
	EXPECT_EQ(1, q.nr_slots);
	q.id = 0;	/* the whole VM */
	ASSERT_EQ(0, __kmig_log_stop_query(self->kfd, &q));
	EXPECT_EQ(2, q.nr_requests);
	EXPECT_EQ(2, q.nr_slots);
	c.flags = KMIG_LOG_STOP_CANCEL_F_ALL;
	ASSERT_EQ(0, __kmig_log_stop_cancel(self->kfd, &c));
	EXPECT_EQ(2, c.nr_requests);
	EXPECT_EQ(2, c.nr_slots);
	t_end(self, id, &st);
	EXPECT_EQ(KMIG_STOP_CANCELLED, st.state);
	EXPECT_EQ(1, st.nr_done);
	kmig_nl_stop_free(&st);
	t_end(self, id2, &st);
	EXPECT_EQ(KMIG_STOP_CANCELLED, st.state);
	kmig_nl_stop_free(&st);
	EXPECT_FALSE(t_logging(&self->d.vm, self->d.slot[0], self->bm));
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[1], self->bm));
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[2], self->bm));
	/* Nothing left: cancel all still succeeds, with nothing. */
	ASSERT_EQ(0, __kmig_log_stop_cancel(self->kfd, &c));
	EXPECT_EQ(0, c.nr_requests);
}

TEST_F(ls, busy_and_rate)
{
	struct kmig_log_stop_cancel c = { .size = sizeof(c), .flags = KMIG_LOG_STOP_CANCEL_F_ALL };
	struct kmig_log_stop a = { .size = sizeof(a), .nr_slots = 1 };
	struct kmig_nl_stop st;
	uint64_t id;

	t_stop(self->kfd, &self->d.slot[0], 1, 0, 10000 * MS, 0);
	a.slots = (uintptr_t)&self->d.slot[0];
	ASSERT_ERRNO(EBUSY, __kmig_log_stop(self->kfd, &a));
	ASSERT_EQ(0, __kmig_log_stop_cancel(self->kfd, &c));
	/* Three slots 150 ms apart: the request cannot end sooner than 300 ms. */
	id = t_stop(self->kfd, self->d.slot, KT_DSLOTS, 0, 0, 150 * MS);
	t_end(self, id, &st);
	EXPECT_EQ(KT_DSLOTS, st.nr_done);
	EXPECT_GE(st.age_ns, 300 * MS);
	TH_LOG("3 slots, interval 150 ms: ended after %.1f ms, KVM work %.3f ms",
	       st.age_ns / 1e6, st.work_ns / 1e6);
	kmig_nl_stop_free(&st);
}

TEST_F(ls, now_and_all_slots)
{
	struct kmig_log_stop a = {
		.size = sizeof(a), .flags = KMIG_LOG_STOP_F_NOW | KMIG_LOG_STOP_F_ALL_SLOTS,
	};
	struct kmig_nl_stop st;

	ASSERT_EQ(0, __kmig_log_stop(self->kfd, &a));
	EXPECT_EQ(KT_DSLOTS, a.nr_queued);
	EXPECT_EQ(KT_DSLOTS, a.nr_done);
	EXPECT_EQ(0, a.nr_skipped + a.nr_failed);
	for (int i = 0; i < KT_DSLOTS; i++)
		EXPECT_FALSE(t_logging(&self->d.vm, self->d.slot[i], self->bm));
	t_end(self, a.id, &st);	/* reported like any other request */
	EXPECT_TRUE(st.now);
	EXPECT_EQ(KMIG_STOP_DONE, st.state);
	kmig_nl_stop_free(&st);
	/* No slot logs any more. */
	a.flags = KMIG_LOG_STOP_F_ALL_SLOTS;
	ASSERT_ERRNO(ENODATA, __kmig_log_stop(self->kfd, &a));
}

TEST_F(ls, errors)
{
	uint32_t slots[3] = { self->d.slot[0], self->d.slot[1], self->d.slot[0] };
	struct kmig_log_stop a, ok = {
		.size = sizeof(a), .nr_slots = 1, .slots = (uintptr_t)slots,
		.delay_ns = 1000 * MS,
	};
	struct kmig_log_stop_cancel c = { .size = sizeof(c) };
	struct kmig_log_stop_query q = { .size = sizeof(q) };
	struct kt_mem m;
	int fd = kmig_open();

	a = ok;
	ASSERT_ERRNO(ENOTCONN, __kmig_log_stop(fd, &a));
	ASSERT_ERRNO(ENOTCONN, __kmig_log_stop_query(fd, &q));
	c.flags = KMIG_LOG_STOP_CANCEL_F_ALL;
	ASSERT_ERRNO(ENOTCONN, __kmig_log_stop_cancel(fd, &c));
	close(fd);

	a = ok; a.flags = 1U << 9;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.reserved0 = 1;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.reserved1 = 1;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.reserved2 = 1;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.reserved[3] = 1;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.nr_slots = 0;				ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.nr_slots = KMIG_LOG_STOP_MAX_SLOTS + 1; ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.nr_slots = 3;				ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.interval_ns = 1;			ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.delay_ns = KMIG_LOG_STOP_MAX_NS + 1;	ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.flags = KMIG_LOG_STOP_F_INTERVAL; a.interval_ns = KMIG_LOG_STOP_MAX_NS + 1;
	ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.flags = KMIG_LOG_STOP_F_ALL_SLOTS;	ASSERT_ERRNO(EINVAL, __kmig_log_stop(self->kfd, &a));
	a = ok; a.slots = 0;				ASSERT_ERRNO(EFAULT, __kmig_log_stop(self->kfd, &a));
	slots[1] = 42;
	a = ok; a.nr_slots = 2;				ASSERT_ERRNO(ENOENT, __kmig_log_stop(self->kfd, &a));
	slots[1] = KMIG_SLOT(9, 1);			ASSERT_ERRNO(ENOENT, __kmig_log_stop(self->kfd, &a));
	/* A slot without dirty logging. */
	kt_mem_alloc(&m, KT_ANON, KT_MIB);
	kt_vm_set_slot(&self->d.vm, 9, 0, 512UL << 20, KT_MIB, m.hva);
	slots[1] = 9;					ASSERT_ERRNO(ENODATA, __kmig_log_stop(self->kfd, &a));
	/* Nothing was queued by the failures. */
	q.id = 0;
	ASSERT_EQ(0, __kmig_log_stop_query(self->kfd, &q));
	EXPECT_EQ(0, q.nr_requests);

	c.flags = 1U << 5; c.id = 1;		ASSERT_ERRNO(EINVAL, __kmig_log_stop_cancel(self->kfd, &c));
	c.flags = 0; c.id = 0;			ASSERT_ERRNO(EINVAL, __kmig_log_stop_cancel(self->kfd, &c));
	c.flags = KMIG_LOG_STOP_CANCEL_F_ALL; c.id = 5; ASSERT_ERRNO(EINVAL, __kmig_log_stop_cancel(self->kfd, &c));
	c.flags = 0; c.id = 5; c.reserved[0] = 1; ASSERT_ERRNO(EINVAL, __kmig_log_stop_cancel(self->kfd, &c));
	q.flags = 1;				ASSERT_ERRNO(EINVAL, __kmig_log_stop_query(self->kfd, &q));
	q.flags = 0; q.reserved0 = 1;		ASSERT_ERRNO(EINVAL, __kmig_log_stop_query(self->kfd, &q));
	q.reserved0 = 0; q.id = 123456;		ASSERT_ERRNO(ENOENT, __kmig_log_stop_query(self->kfd, &q));
	kt_vm_set_slot(&self->d.vm, 9, 0, 512UL << 20, 0, m.hva);
	kt_mem_free(&m);
}

/*
 * Module unload with a request pending (its session and VM closed): rmmod
 * cancels it, reports it, and waits for the worker; then the module is
 * loaded again for the programs that follow. In a fixture of its own,
 * defined last, so that it runs last.
 */
FIXTURE(unload) {
	int unused;
};

FIXTURE_SETUP(unload) {}
FIXTURE_TEARDOWN(unload) {}

TEST_F(unload, pending)
{
	struct kmig_nl *nl = t_nl_events();
	struct kmig_nl_stop st;
	struct kt_dvm d;
	uint64_t id, t0;
	int kfd, fd;

	kt_dvm_create(&d, false);
	kfd = kmig_open();
	kmig_attach(kfd, d.vm.fd, NULL);
	id = t_stop(kfd, d.slot, KT_DSLOTS, 0, 60000 * MS, 0);
	close(kfd);
	kt_dvm_destroy(&d);

	t0 = kt_now_ns();
	ASSERT_EQ(0, syscall(SYS_delete_module, "kmig", O_NONBLOCK))
		TH_LOG("rmmod kmig: %s", strerror(errno));
	TH_LOG("rmmod with a pending request took %.3f ms", (kt_now_ns() - t0) / 1e6);
	ASSERT_EQ(0, t_wait_stop(nl, id, 5000, &st));
	EXPECT_EQ(KMIG_STOP_CANCELLED, st.state);
	EXPECT_EQ(0, st.nr_done);
	kmig_nl_stop_free(&st);
	kmig_nl_close(nl);

	fd = open(T_KO_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0) TH_LOG("%s: %s", T_KO_PATH, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0))
		TH_LOG("insmod %s: %s", T_KO_PATH, strerror(errno));
	close(fd);
	/* devtmpfs creates the node asynchronously. */
	for (int i = 0; i < 100 && access(KMIG_DEVICE_PATH, F_OK); i++)
		usleep(10000);
	fd = kmig_open();
	close(fd);
}

KT_HARNESS_MAIN
