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
 * moved / flags changed / resized while pending (skipped, untouched), the
 * logging epoch (logging turned off and on again while a stop is pending:
 * the new logging survives, no page written after it is missed; any other
 * memslot change makes the remaining slots stale too), VM fd and session
 * closed while pending (done in the background), the VMM exits while
 * pending (skipped, all remaining slots at once, not paced), cancel (one,
 * all, mid-way), busy slots, the rate limit, KMIG_LOG_STOP_F_NOW and
 * F_ALL_SLOTS, ALL_SLOTS with 4,100 slots (all of them, and an event that
 * lists what fits its 16-bit nest), every errno (a struct that cannot be
 * written back queues nothing). Module unload: kmig_unload_test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kmod/kmod_nl.h"

#define MS		1000000ULL

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
	/* The memslots changed since the request: the others are stale. */
	EXPECT_EQ(KMIG_STOP_SLOT_STALE, st.slot_info[1].result);
	EXPECT_EQ(KMIG_STOP_SLOT_STALE, st.slot_info[2].result);
	EXPECT_EQ(3, st.nr_skipped);
	EXPECT_EQ(0, st.nr_done);
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[1], self->bm));
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
	/* Slot 2 was changed and changed back: the same fields, another
	 * logging epoch, so skipped too. */
	EXPECT_EQ(KMIG_STOP_SLOT_STALE, st.slot_info[1].result);
	EXPECT_EQ(KMIG_STOP_SLOT_CHANGED, st.slot_info[2].result);
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[0], self->bm));
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[1], self->bm));
	EXPECT_TRUE(t_logging(&self->d.vm, self->d.slot[2], self->bm));
	kmig_nl_stop_free(&st);
}

/*
 * A new migration starts while the last one's stop is pending: the VMM
 * turns logging off and on again (same fields). The old request must not
 * stop the new logging: every page the guest writes afterwards is in
 * KVM's dirty bitmap.
 */
TEST_F(ls, restarted)
{
	uint32_t slot = self->d.slot[0], n = 64;
	struct kt_guest_write w[64];
	struct kmig_nl_stop st;
	uint64_t id = t_stop(self->kfd, &slot, 1, 0, 300 * MS, 0);

	kt_vm_set_slot(&self->d.vm, slot, 0, self->d.gpa[0],
		       self->d.npages[0] * KT_PAGE, self->d.mem[0].hva);
	kt_vm_set_slot(&self->d.vm, slot, KVM_MEM_LOG_DIRTY_PAGES, self->d.gpa[0],
		       self->d.npages[0] * KT_PAGE, self->d.mem[0].hva);
	t_end(self, id, &st);
	ASSERT_EQ(1, st.nr_slot_info);
	EXPECT_EQ(KMIG_STOP_SLOT_STALE, st.slot_info[0].result);
	EXPECT_EQ(0, st.nr_done);
	kmig_nl_stop_free(&st);
	ASSERT_TRUE(t_logging(&self->d.vm, slot, self->bm));
	/* The new migration's pages: none missed. */
	for (uint32_t i = 0; i < n; i++)
		w[i] = (struct kt_guest_write){ self->d.gpa[0] + i * 31 * KT_PAGE + 9, 0x77 };
	kt_guest_write(&self->d.vm, w, n);
	kt_get_dirty_log(&self->d.vm, slot, self->bm);
	for (uint32_t i = 0; i < n; i++) {
		EXPECT_TRUE(self->bm[i * 31 / 64] >> (i * 31 % 64) & 1)
			TH_LOG("page %u written after the restart is not dirty", i * 31);
	}
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

/* The VMM child's VM for vmm_exits_unpaced: four logging slots. */
static void vmm_setup4(struct kt_vm *vm)
{
	static struct kt_mem m;

	kt_mem_alloc(&m, KT_ANON, 4 * KT_MIB);
	for (int i = 0; i < 4; i++)
		kt_vm_set_slot(vm, 1 + i, KVM_MEM_LOG_DIRTY_PAGES, i * KT_MIB, KT_MIB,
			       m.hva + i * KT_MIB);
}

/*
 * The VMM exits while a paced request is pending: the request ends at its
 * first run, all slots skipped, instead of keeping the dead VM for the
 * pacing (4 slots 1 s apart: 3.3 s at least).
 */
TEST(vmm_exits_unpaced)
{
	struct kmig_nl *nl = t_nl_events();
	uint32_t slots[4] = { 1, 2, 3, 4 };
	struct kmig_nl_stop st;
	int sock, kfd, vm_fd;
	uint64_t id;
	pid_t pid;

	pid = kt_spawn_vmm(vmm_setup4, &sock, &vm_fd);
	kfd = kmig_open();
	kmig_attach(kfd, vm_fd, NULL);
	id = t_stop(kfd, slots, 4, 0, 300 * MS, KMIG_LOG_STOP_MAX_INTERVAL_NS);
	kt_stop_vmm(pid, sock);
	ASSERT_EQ(0, t_wait_stop(nl, id, 10000, &st));
	ASSERT_EQ(4, st.nr_slot_info);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(KMIG_STOP_SLOT_VM_GONE, st.slot_info[i].result);
	EXPECT_LT(st.age_ns, 2000 * MS);
	TH_LOG("VMM gone: request ended after %.1f ms", st.age_ns / 1e6);
	kmig_nl_stop_free(&st);
	kmig_nl_close(nl);
	close(kfd);
	close(vm_fd);
}

/*
 * More slots than one request may name (4096): ALL_SLOTS takes them all,
 * and the event, whose slot nests would overflow the 16-bit length of
 * KMIG_A_STOP, lists those that fit and counts the others. 8,200 memslot
 * changes take minutes on the debug kernel under TCG: a fixture, for a
 * time limit of its own.
 */
FIXTURE(many) {
	int unused;
};

FIXTURE_SETUP(many) {}
FIXTURE_TEARDOWN(many) {}

TEST_F_TIMEOUT(many, slots, 900)
{
	const uint32_t n = KMIG_LOG_STOP_MAX_SLOTS + 4;
	struct kmig_log_stop a = {
		.size = sizeof(a), .flags = KMIG_LOG_STOP_F_ALL_SLOTS | KMIG_LOG_STOP_F_INTERVAL,
	};
	struct kmig_nl *nl = t_nl_events();
	struct kmig_nl_stop st;
	struct kt_mem m;
	struct kt_vm vm;
	uint64_t bm[1], t0;
	int kfd;

	kt_vm_create(&vm);
	kt_mem_alloc(&m, KT_ANON, n * KT_PAGE);
	t0 = kt_now_ns();
	for (uint32_t i = 0; i < n; i++)
		kt_vm_set_slot(&vm, 1 + i, KVM_MEM_LOG_DIRTY_PAGES, (1ULL << 30) + i * KT_PAGE,
			       KT_PAGE, m.hva + i * KT_PAGE);
	TH_LOG("%u slots made in %.1f ms", n, (kt_now_ns() - t0) / 1e6);
	kfd = kmig_open();
	kmig_attach(kfd, vm.fd, NULL);
	ASSERT_EQ(0, __kmig_log_stop(kfd, &a)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(n, a.nr_queued);
	ASSERT_EQ(0, t_wait_stop(nl, a.id, 600000, &st));
	EXPECT_EQ(n, st.nr_slots);
	EXPECT_EQ(n, st.nr_done);
	/* The listed slots are the first ones, in order, each done. */
	EXPECT_GT(st.nr_slot_info, 1000);
	EXPECT_LT(st.nr_slot_info, n);
	for (uint32_t i = 0; i < st.nr_slot_info; i++) {
		ASSERT_EQ(1 + i, st.slot_info[i].slot);
		ASSERT_EQ(KMIG_STOP_SLOT_DONE, st.slot_info[i].result);
	}
	TH_LOG("event lists %u of %u slots; ended after %.1f ms", st.nr_slot_info, n,
	       st.age_ns / 1e6);
	kmig_nl_stop_free(&st);
	EXPECT_FALSE(t_logging(&vm, n, bm));
	kmig_nl_close(nl);
	close(kfd);
	kt_vm_close(&vm);
	kt_mem_free(&m);
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

	/* Slot 1 at once, the next 1 s later: cancel after the first. */
	id = t_stop(self->kfd, self->d.slot, 2, 0, 0, KMIG_LOG_STOP_MAX_INTERVAL_NS);
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
	a = ok; a.flags = KMIG_LOG_STOP_F_INTERVAL; a.interval_ns = KMIG_LOG_STOP_MAX_INTERVAL_NS + 1;
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
	/* A struct the module cannot write the id back to: nothing queued
	 * (a queued request whose id the caller never learns). */
	{
		struct kmig_log_stop *ro = mmap(NULL, KT_PAGE, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, ro);
		*ro = ok;
		ASSERT_EQ(0, mprotect(ro, KT_PAGE, PROT_READ));
		ASSERT_ERRNO(EFAULT, ioctl(self->kfd, KMIG_LOG_STOP, ro));
		munmap(ro, KT_PAGE);
	}
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

KT_HARNESS_MAIN
