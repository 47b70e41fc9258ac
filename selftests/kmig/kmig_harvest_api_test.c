// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_harvest_api_test - every KMIG_HARVEST rule with otherwise valid
 * input: the VM's mode (not manual-protect, dirty ring), slots (missing,
 * deleted, no dirty logging, internal ids), ranges (alignment, past the
 * end, overflow), cursors, entry sizes and tails, counts, pointers, flags,
 * reserved fields, not attached, the VM's process gone; a failing call
 * leaves the struct unchanged; bounded work (max_pages, resumed across
 * entries) gives the same bitmaps as one call; INITIALLY_SET; the vCPU
 * kick (module parameter harvest_kick) with a running guest.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"

#define T_NOLOG_SLOT	7
#define T_NOLOG_GPA	(256UL << 20)

FIXTURE(hv) {
	struct kt_dvm d;
	struct kt_mem nolog;
	int kfd;
	uint64_t *dirty[KT_DSLOTS], *zero[KT_DSLOTS];
	struct kmig_harvest_entry e[KT_DSLOTS];
	struct kmig_harvest h;
};

static void t_reset(FIXTURE_DATA(hv) *self, uint32_t flags)
{
	for (int i = 0; i < KT_DSLOTS; i++)
		self->e[i] = (struct kmig_harvest_entry){
			.slot = self->d.slot[i], .num_pages = self->d.npages[i],
			.dirty_bitmap = (uintptr_t)self->dirty[i],
			.zero_bitmap = flags & KMIG_HARVEST_F_CLASSIFY ?
				       (uintptr_t)self->zero[i] : 0,
		};
	self->h = (struct kmig_harvest){
		.size = sizeof(self->h), .flags = flags, .nr_entries = KT_DSLOTS,
		.entry_size = sizeof(self->e[0]), .entries = (uintptr_t)self->e,
	};
}

FIXTURE_SETUP(hv)
{
	kt_dvm_create(&self->d, false);
	kt_mem_alloc(&self->nolog, KT_ANON, 1 * KT_MIB);
	kt_vm_set_slot(&self->d.vm, T_NOLOG_SLOT, 0, T_NOLOG_GPA, KT_MIB, self->nolog.hva);
	for (int i = 0; i < KT_DSLOTS; i++) {
		self->dirty[i] = calloc(KT_WORDS(self->d.npages[i]), 8);
		self->zero[i] = calloc(KT_WORDS(self->d.npages[i]), 8);
	}
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->d.vm.fd, NULL);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
}

FIXTURE_TEARDOWN(hv)
{
	close(self->kfd);
	kt_dvm_destroy(&self->d);
	kt_mem_free(&self->nolog);
	for (int i = 0; i < KT_DSLOTS; i++) {
		free(self->dirty[i]);
		free(self->zero[i]);
	}
}

/* Fails with @err and leaves the struct as it was. */
#define T_FAILS(err) do {						\
	struct kmig_harvest __before = self->h;				\
	ASSERT_ERRNO(err, __kmig_harvest(self->kfd, &self->h));		\
	ASSERT_EQ(0, memcmp(&__before, &self->h, sizeof(__before)))	\
		TH_LOG("a failing call changed the struct");		\
} while (0)

/* Runs to the end; returns the calls made. */
static int t_run(FIXTURE_DATA(hv) *self)
{
	int calls = 0;

	while (self->h.next_entry < self->h.nr_entries) {
		int ret = __kmig_harvest(self->kfd, &self->h);

		if (ret && errno == EINTR)
			continue;
		KT_CALL_OK(ret, "KMIG_HARVEST");
		calls++;
	}
	return calls;
}

/* Guest writes: data into @ndata pages, zero bytes into @nzero others. */
static void t_dirty(FIXTURE_DATA(hv) *self, uint64_t step, uint64_t nzero)
{
	struct kt_guest_write *w = calloc(self->d.total, sizeof(*w));
	size_t n = 0;

	for (uint64_t p = 0; p < self->d.total; p += step, n++)
		w[n] = (struct kt_guest_write){ KT_DVM_GPA + p * KT_PAGE + 5,
					       n < nzero ? 0 : 0x11 };
	kt_guest_write(&self->d.vm, w, n);
	free(w);
}

TEST_F(hv, works)
{
	t_dirty(self, 3, 100);
	ASSERT_EQ(1, t_run(self));
	ASSERT_EQ(KT_DSLOTS, self->h.next_entry);
	EXPECT_EQ((self->d.total + 2) / 3, self->h.nr_dirty);
	EXPECT_EQ(100, self->h.nr_zero);
	for (int i = 0; i < KT_DSLOTS; i++)
		EXPECT_EQ(self->d.npages[i], self->e[i].cursor);
}

TEST_F(hv, not_attached)
{
	int fd = kmig_open();

	ASSERT_ERRNO(ENOTCONN, __kmig_harvest(fd, &self->h));
	close(fd);
}

TEST_F(hv, vm_modes)
{
	struct kt_vm vm;
	struct kt_mem m;
	struct kvm_enable_cap ring = { .cap = KVM_CAP_DIRTY_LOG_RING, .args[0] = 65536 };
	int fd;

	kt_mem_alloc(&m, KT_ANON, KT_MIB);
	/* Not in manual-protect mode: KVM_GET_DIRTY_LOG clears the bitmap. */
	kt_vm_create(&vm);
	kt_vm_set_slot(&vm, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, KT_MIB, m.hva);
	fd = kmig_open();
	kmig_attach(fd, vm.fd, NULL);
	self->e[0].slot = 1;
	self->e[0].num_pages = 256;
	self->h.nr_entries = 1;
	ASSERT_ERRNO(EOPNOTSUPP, __kmig_harvest(fd, &self->h));
	close(fd);
	kt_vm_close(&vm);

	/* Dirty ring: no bitmaps at all. */
	kt_vm_create(&vm);
	ASSERT_EQ(0, ioctl(vm.fd, KVM_ENABLE_CAP, &ring)) TH_LOG("dirty ring: %s", strerror(errno));
	kt_vm_set_slot(&vm, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, KT_MIB, m.hva);
	fd = kmig_open();
	kmig_attach(fd, vm.fd, NULL);
	ASSERT_ERRNO(ENXIO, __kmig_harvest(fd, &self->h));
	close(fd);
	kt_vm_close(&vm);
	kt_mem_free(&m);
}

TEST_F(hv, slots)
{
	self->e[1].slot = T_NOLOG_SLOT;		/* exists, no dirty logging */
	self->e[1].num_pages = 256;
	T_FAILS(ENODATA);
	self->e[1].slot = 42;			/* never existed */
	T_FAILS(ENOENT);
	self->e[1].slot = KMIG_SLOT(1, 1);	/* SMM address space: empty */
	T_FAILS(ENOENT);
	self->e[1].slot = KMIG_SLOT(7, 1);	/* no such address space */
	T_FAILS(ENOENT);
	self->e[1].slot = 32765;		/* a KVM-internal id */
	T_FAILS(ENOENT);
	/* A deleted slot. */
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	kt_vm_set_slot(&self->d.vm, self->d.slot[2], 0, self->d.gpa[2], 0, self->d.mem[2].hva);
	T_FAILS(ENOENT);
	/* The entries before the failing one are done and stay done. */
	EXPECT_EQ(self->d.npages[0], self->e[0].cursor);
	EXPECT_EQ(self->d.npages[1], self->e[1].cursor);
	EXPECT_EQ(0, self->e[2].cursor);
}

TEST_F(hv, ranges)
{
	self->e[0].first_page = 32;		/* not a multiple of 64 */
	self->e[0].num_pages = 64;
	T_FAILS(EINVAL);
	self->e[0].first_page = 1024;		/* past the end */
	self->e[0].num_pages = self->d.npages[0];
	T_FAILS(EINVAL);
	self->e[0].first_page = (uint64_t)-64;	/* overflows */
	self->e[0].num_pages = 128;
	T_FAILS(EINVAL);
	self->e[0].first_page = 0;
	self->e[0].num_pages = (uint64_t)-1;
	T_FAILS(EINVAL);
	/* Up to the last page of a 1000-page slot: accepted. */
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[1].first_page = 960;
	self->e[1].num_pages = 40;
	t_run(self);
	EXPECT_EQ(40, self->e[1].cursor);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[1].first_page = 960;
	self->e[1].num_pages = 41;
	T_FAILS(EINVAL);
	/* Cursors: past num_pages, not a multiple of 64. */
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[0].cursor = self->d.npages[0] + 64;
	T_FAILS(EINVAL);
	self->e[0].cursor = 100;
	T_FAILS(EINVAL);
	/* num_pages 0 and a finished entry are no-ops. */
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[0].num_pages = 0;
	self->e[1].cursor = self->d.npages[1];
	t_run(self);
	EXPECT_EQ(0, self->e[0].cursor);
}

TEST_F(hv, entry_size)
{
	struct {
		struct kmig_harvest_entry e;
		uint64_t tail[2];
	} big[KT_DSLOTS] = { 0 };

	self->h.entry_size = KMIG_HARVEST_ENTRY_SIZE_V1 - 8;
	T_FAILS(EINVAL);
	self->h.entry_size = 8192;
	T_FAILS(EINVAL);
	/* A bigger entry with a zero tail is accepted. */
	for (int i = 0; i < KT_DSLOTS; i++)
		big[i].e = self->e[i];
	self->h.entries = (uintptr_t)big;
	self->h.entry_size = sizeof(big[0]);
	t_run(self);
	for (int i = 0; i < KT_DSLOTS; i++) {
		EXPECT_EQ(self->d.npages[i], big[i].e.cursor);
		EXPECT_EQ(0, big[i].tail[0]);
	}
	/* ... a non-zero tail is not. */
	for (int i = 0; i < KT_DSLOTS; i++)
		big[i].e = self->e[i];
	big[1].tail[1] = 1;
	self->h.next_entry = 0;
	T_FAILS(E2BIG);
	EXPECT_EQ(self->d.npages[0], big[0].e.cursor);
}

TEST_F(hv, counts_and_pointers)
{
	self->h.nr_entries = KMIG_HARVEST_MAX_ENTRIES + 1;
	T_FAILS(EINVAL);
	self->h.nr_entries = 2;
	self->h.next_entry = 3;
	T_FAILS(EINVAL);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->h.entries = 0;
	T_FAILS(EFAULT);
	self->h.entries = (uintptr_t)self->e;
	self->e[0].dirty_bitmap = 0;
	T_FAILS(EFAULT);
	self->e[0].dirty_bitmap = (uintptr_t)self->dirty[0];
	self->e[0].zero_bitmap = 8;
	T_FAILS(EFAULT);
	/* Zero entries: nothing to do. */
	t_reset(self, 0);
	self->h.nr_entries = 0;
	ASSERT_EQ(0, __kmig_harvest(self->kfd, &self->h));
}

/* An empty range is finished with its counts set to 0, as any other. */
TEST_F(hv, empty_range_counts)
{
	t_dirty(self, 8, 0);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[1].num_pages = 0;
	for (int i = 0; i < KT_DSLOTS; i++)
		self->e[i].nr_dirty = self->e[i].nr_zero = 12345;
	t_run(self);
	EXPECT_EQ(0, self->e[1].cursor);
	EXPECT_EQ(0, self->e[1].nr_dirty);
	EXPECT_EQ(0, self->e[1].nr_zero);
	/* The others were harvested: counted (one page in 8 written). */
	EXPECT_EQ(self->d.npages[0] / 8, self->e[0].nr_dirty);
	EXPECT_EQ(self->d.npages[2] / 8, self->e[2].nr_dirty);
}

TEST_F(hv, flags_and_reserved)
{
	self->h.flags = 1U << 7;
	T_FAILS(EINVAL);
	t_reset(self, KMIG_HARVEST_F_NO_READ);	/* NO_READ without CLASSIFY */
	T_FAILS(EINVAL);
	t_reset(self, 0);
	self->e[0].zero_bitmap = (uintptr_t)self->zero[0];	/* unused pointer */
	T_FAILS(EINVAL);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[2].flags = 1;
	T_FAILS(EINVAL);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->e[2].reserved[1] = 1;
	T_FAILS(EINVAL);
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->h.reserved0 = 1;
	T_FAILS(EINVAL);
	for (int i = 0; i < 4; i++) {
		t_reset(self, KMIG_HARVEST_F_CLASSIFY);
		self->h.reserved[i] = 1;
		T_FAILS(EINVAL);
	}
	/* Struct sizes follow the common rules. */
	t_reset(self, KMIG_HARVEST_F_CLASSIFY);
	self->h.size = 16;
	T_FAILS(EINVAL);
}

TEST_F(hv, bounded)
{
	uint64_t *one[KT_DSLOTS], *onez[KT_DSLOTS];
	uint64_t max[] = { 1, 64, 100, 4096, 5000 };

	t_dirty(self, 2, 300);
	ASSERT_EQ(1, t_run(self));
	for (int i = 0; i < KT_DSLOTS; i++) {
		one[i] = malloc(KT_WORDS(self->d.npages[i]) * 8);
		onez[i] = malloc(KT_WORDS(self->d.npages[i]) * 8);
		memcpy(one[i], self->dirty[i], KT_WORDS(self->d.npages[i]) * 8);
		memcpy(onez[i], self->zero[i], KT_WORDS(self->d.npages[i]) * 8);
	}
	for (size_t k = 0; k < sizeof(max) / sizeof(max[0]); k++) {
		uint64_t per = (max[k] + 63) / 64 * 64, expect = 0;
		int calls;

		for (int i = 0; i < KT_DSLOTS; i++) {
			memset(self->dirty[i], 0xff, KT_WORDS(self->d.npages[i]) * 8);
			memset(self->zero[i], 0xff, KT_WORDS(self->d.npages[i]) * 8);
		}
		t_reset(self, KMIG_HARVEST_F_CLASSIFY);
		self->h.max_pages = max[k];
		calls = t_run(self);
		for (int i = 0; i < KT_DSLOTS; i++) {
			size_t b = KT_WORDS(self->d.npages[i]) * 8;

			expect += (self->d.npages[i] + per - 1) / per;
			EXPECT_EQ(0, memcmp(one[i], self->dirty[i], b)) TH_LOG("max %llu slot %d",
				(unsigned long long)max[k], i);
			EXPECT_EQ(0, memcmp(onez[i], self->zero[i], b));
			EXPECT_EQ(self->d.npages[i], self->e[i].cursor);
		}
		/* A call's budget may end inside an entry's last word. */
		EXPECT_LE(calls, expect + KT_DSLOTS);
		EXPECT_GE(calls, (self->d.total + per - 1) / per);
	}
	for (int i = 0; i < KT_DSLOTS; i++) {
		free(one[i]);
		free(onez[i]);
	}
}

TEST(initially_set)
{
	struct kt_dvm d;
	uint64_t *bm = calloc(KT_WORDS(2048), 8);
	struct kmig_harvest_entry e = {
		.slot = 1, .num_pages = 2048, .dirty_bitmap = (uintptr_t)bm,
	};
	struct kmig_harvest h = {
		.size = sizeof(h), .nr_entries = 1, .entry_size = sizeof(e),
		.entries = (uintptr_t)&e,
	};
	int fd;

	kt_dvm_create(&d, true);
	fd = kmig_open();
	kmig_attach(fd, d.vm.fd, NULL);
	ASSERT_EQ(0, __kmig_harvest(fd, &h));
	EXPECT_EQ(2048, e.nr_dirty);	/* every page starts dirty */
	close(fd);
	kt_dvm_destroy(&d);
	free(bm);
}

/* The VMM child's VM (kt_spawn_vmm()): manual-protect, slot 1 logging. */
static void vmm_setup(struct kt_vm *vm)
{
	static struct kt_mem m;		/* the child's, for its lifetime */

	kt_vm_manual_protect(vm, true);
	kt_mem_alloc(&m, KT_ANON, KT_MIB);
	kt_vm_set_slot(vm, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, KT_MIB, m.hva);
}

/* The VMM exits: plain harvests still read the VM's bitmaps; classifying
 * needs its memory, which is gone. */
TEST(vmm_gone)
{
	int sock, fd, vm_fd;
	uint64_t bm[4];
	struct kmig_harvest_entry e = {
		.slot = 1, .num_pages = 256, .dirty_bitmap = (uintptr_t)bm,
	};
	struct kmig_harvest h = {
		.size = sizeof(h), .nr_entries = 1, .entry_size = sizeof(e),
		.entries = (uintptr_t)&e,
	};
	pid_t pid;

	/* The VMM exits once we have attached. */
	pid = kt_spawn_vmm(vmm_setup, &sock, &vm_fd);
	fd = kmig_open();
	kmig_attach(fd, vm_fd, NULL);
	kt_stop_vmm(pid, sock);
	ASSERT_EQ(0, __kmig_harvest(fd, &h));
	EXPECT_EQ(256, e.nr_dirty);
	e.cursor = 0;
	e.zero_bitmap = (uintptr_t)bm;
	h.next_entry = 0;
	h.flags = KMIG_HARVEST_F_CLASSIFY;
	ASSERT_ERRNO(ENODEV, __kmig_harvest(fd, &h));
	close(fd);
	close(vm_fd);
}

static void t_kick_param(const char *val)
{
	int fd = open("/sys/module/kmig/parameters/harvest_kick", O_WRONLY);

	KT_ASSERT(fd >= 0, "harvest_kick: %s", strerror(errno));
	KT_ASSERT(write(fd, val, strlen(val)) == (ssize_t)strlen(val), "write");
	close(fd);
}

/* Kicking vCPUs (what PML hosts need) with a guest running meanwhile. */
TEST_F(hv, kick)
{
	struct kt_loop loop;

	t_kick_param("1");
	kt_loop_start(&loop, &self->d.vm, KT_DVM_GPA, self->d.total, 99, 0);
	for (int i = 0; i < 20; i++) {
		t_reset(self, i % 2 ? KMIG_HARVEST_F_CLASSIFY : 0);
		t_run(self);
		usleep(2000);
	}
	kt_loop_finish(&loop);
	t_kick_param("-1");
	EXPECT_GT(kt_loop_writes(&loop), 0);
}

KT_HARNESS_MAIN
