// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_zscan_api_test - KMIG_ZERO_SCAN's rules: every validation error with
 * otherwise valid input, the cursor and bitmap conventions, memory
 * unmapped behind a slot, and races with a VMM that deletes and re-adds
 * the slot, splits and zaps THPs while another thread scans.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kt_harness.h"

#define KT_SLOT		1
#define KT_SLOT_GPA	(256UL << 20)
#define KT_SCAN_SIZE	(64UL << 20)
#define KT_SCAN_PAGES	(KT_SCAN_SIZE / KT_PAGE)

FIXTURE(scanval) {
	struct kt_vm vm;
	struct kt_mem mem;
	int kfd;
	uint64_t bitmap[KT_WORDS(KT_SCAN_PAGES)];
	struct kmig_zero_scan a;	/* a valid call, tests spoil one field */
};

FIXTURE_SETUP(scanval)
{
	kt_vm_create(&self->vm);
	kt_mem_alloc(&self->mem, KT_ANON, KT_SCAN_SIZE);
	kt_vm_set_slot(&self->vm, KT_SLOT, 0, KT_SLOT_GPA, KT_SCAN_SIZE,
		       self->mem.hva);
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->vm.fd, NULL);
	self->a = (struct kmig_zero_scan){
		.size = sizeof(self->a), .slot = KT_SLOT,
		.num_pages = KT_SCAN_PAGES,
		.zero_bitmap = (uintptr_t)self->bitmap,
	};
	/* The unspoiled call works. */
	struct kmig_zero_scan ok = self->a;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &ok));
	ASSERT_EQ(KT_SCAN_PAGES, ok.cursor);
	ASSERT_EQ(KT_SCAN_PAGES, ok.nr_none);
}

FIXTURE_TEARDOWN(scanval)
{
	close(self->kfd);
	kt_vm_close(&self->vm);
	kt_mem_free(&self->mem);
}

#define ASSERT_SCAN_ERRNO(err, a) do {					\
	struct kmig_zero_scan __a = (a);				\
	ASSERT_ERRNO(err, __kmig_zero_scan(self->kfd, &__a));		\
	ASSERT_EQ(0, memcmp(&__a, &(a), sizeof(__a)))			\
		TH_LOG("a failed call changed the struct");		\
} while (0)

TEST_F(scanval, size)
{
	struct {
		struct kmig_zero_scan a;
		uint64_t tail[4];
	} big = { .a = self->a };
	struct kmig_zero_scan a = self->a;

	a.size = 0;
	ASSERT_SCAN_ERRNO(EINVAL, a);
	a.size = sizeof(a) - 8;
	ASSERT_SCAN_ERRNO(EINVAL, a);
	big.a.size = sizeof(big);
	big.tail[2] = 1;
	ASSERT_ERRNO(E2BIG, __kmig_zero_scan(self->kfd, &big.a));
	big.tail[2] = 0;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &big.a));
	EXPECT_EQ(KT_SCAN_PAGES, big.a.cursor);
	EXPECT_EQ(0, big.tail[0]);
}

TEST_F(scanval, reserved)
{
	struct kmig_zero_scan a = self->a;

	a.reserved0 = 1;
	ASSERT_SCAN_ERRNO(EINVAL, a);
	for (int i = 0; i < 4; i++) {
		a = self->a;
		a.reserved[i] = 1ULL << 40;
		ASSERT_SCAN_ERRNO(EINVAL, a);
	}
}

TEST_F(scanval, unknown_flags)
{
	uint32_t bad[] = { 1U << 1, 1U << 31, ~KMIG_SCAN_F_ALL };

	for (int i = 0; i < 3; i++) {
		struct kmig_zero_scan a = self->a;

		a.flags = bad[i];
		ASSERT_SCAN_ERRNO(EINVAL, a);
	}
}

TEST_F(scanval, missing_slot)
{
	uint32_t slots[] = {
		2, 0, KMIG_SLOT(1, KT_SLOT), KMIG_SLOT(2, KT_SLOT),
		KMIG_SLOT(0xffff, KT_SLOT), KMIG_SLOT(0, 0xffff), 0xffffffff,
	};

	for (int i = 0; i < ARRAY_SIZE(slots); i++) {
		struct kmig_zero_scan a = self->a;

		a.slot = slots[i];
		a.num_pages = 1;
		ASSERT_SCAN_ERRNO(ENOENT, a);
	}
	/* A deleted slot is gone too. */
	kt_vm_set_slot(&self->vm, KT_SLOT, 0, KT_SLOT_GPA, 0, self->mem.hva);
	ASSERT_SCAN_ERRNO(ENOENT, self->a);
}

TEST_F(scanval, range)
{
	static const struct { uint64_t first, num; } bad[] = {
		{ KT_SCAN_PAGES, 1 },
		{ 0, KT_SCAN_PAGES + 1 },
		{ KT_SCAN_PAGES - 1, 2 },
		{ 1, UINT64_MAX },		/* first + num overflows */
		{ UINT64_MAX, 2 },
		{ UINT64_MAX, 0 },
		{ 1ULL << 63, 1ULL << 63 },
	};

	for (int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kmig_zero_scan a = self->a;

		a.first_page = bad[i].first;
		a.num_pages = bad[i].num;
		ASSERT_SCAN_ERRNO(EINVAL, a);
	}
	/* The last page alone is in range. */
	struct kmig_zero_scan a = self->a;
	a.first_page = KT_SCAN_PAGES - 1;
	a.num_pages = 1;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(1, a.cursor);
}

TEST_F(scanval, cursor)
{
	uint64_t bad[] = { 1, 63, 65, KT_SCAN_PAGES + 64, UINT64_MAX };

	for (int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kmig_zero_scan a = self->a;

		a.cursor = bad[i];
		ASSERT_SCAN_ERRNO(EINVAL, a);
	}
}

/* cursor == num_pages: nothing to do, nothing written. */
TEST_F(scanval, cursor_done)
{
	struct kmig_zero_scan a = self->a;

	memset(self->bitmap, 0xee, sizeof(self->bitmap));
	a.num_pages = 100;
	a.cursor = 100;
	a.nr_nonzero = 5;	/* outputs are overwritten */
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(100, a.cursor);
	EXPECT_EQ(0, a.nr_none + a.nr_zero_page + a.nr_zero_data + a.nr_nonzero);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, self->bitmap[0]);
}

/* Bits past num_pages in the last word are written as zero. */
TEST_F(scanval, bitmap_tail)
{
	struct kmig_zero_scan a = self->a;

	memset(self->bitmap, 0xff, sizeof(self->bitmap));
	a.first_page = 5;
	a.num_pages = 70;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(70, a.cursor);
	EXPECT_EQ(70, a.nr_none);
	EXPECT_EQ(~0ULL, self->bitmap[0]);
	EXPECT_EQ(0x3fULL, self->bitmap[1]);
	EXPECT_EQ(~0ULL, self->bitmap[2]);	/* not touched */
}

/* max_pages is rounded up to 64 and capped at the module's bound. */
TEST_F(scanval, max_pages)
{
	struct kmig_zero_scan a = self->a;
	struct kmig_info info;

	kmig_get_info(self->kfd, &info);
	a.max_pages = 1;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(64, a.cursor);
	a.max_pages = 65;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(64 + 128, a.cursor);
	EXPECT_EQ(128, a.nr_none);

	a = self->a;
	a.max_pages = UINT64_MAX;
	ASSERT_EQ(0, __kmig_zero_scan(self->kfd, &a));
	EXPECT_EQ(KT_SCAN_PAGES < info.max_batch_pages ? KT_SCAN_PAGES :
		  info.max_batch_pages, a.cursor);
}

TEST_F(scanval, bitmap_fault)
{
	struct kmig_zero_scan a = self->a;
	void *ro;

	a.zero_bitmap = 0;
	ASSERT_SCAN_ERRNO(EFAULT, a);
	a.zero_bitmap = 8;
	ASSERT_SCAN_ERRNO(EFAULT, a);
	a.zero_bitmap = (uintptr_t)-4096;	/* kernel address */
	ASSERT_SCAN_ERRNO(EFAULT, a);
	ro = mmap(NULL, sizeof(self->bitmap), PROT_READ,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	a.zero_bitmap = (uintptr_t)ro;
	ASSERT_SCAN_ERRNO(EFAULT, a);
	/* The bitmap ends one word early. */
	a.zero_bitmap = (uintptr_t)((uint64_t *)ro + 1) - sizeof(self->bitmap);
	munmap(ro, sizeof(self->bitmap));
	ASSERT_SCAN_ERRNO(EFAULT, a);
	/* The struct itself. */
	ASSERT_ERRNO(EFAULT, ioctl(self->kfd, KMIG_ZERO_SCAN, NULL));
}

/*
 * The VMM unmaps the memory behind a slot (KVM allows it): those pages are
 * reported non-zero, the caller finds out when it reads them.
 */
TEST_F(scanval, unmapped_memory)
{
	struct kt_scan s;

	ASSERT_EQ(0, munmap(self->mem.hva + KT_SCAN_SIZE / 2, KT_SCAN_SIZE / 4));
	kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SCAN_PAGES, 0, 0,
			self->bitmap, &s);
	EXPECT_EQ(KT_SCAN_PAGES / 4, s.nr_nonzero);
	EXPECT_EQ(KT_SCAN_PAGES * 3 / 4, s.nr_none);
	EXPECT_EQ(0, self->bitmap[KT_SCAN_PAGES / 2 / 64]);
}

/* ---- races: the VMM changes slots and memory during scans ---- */

struct kt_race {
	struct kt_vm *vm;
	struct kt_mem *mem;
	volatile bool stop;
	uint64_t rounds;
};

static void *kt_race_vmm(void *arg)
{
	struct kt_race *r = arg;
	uint64_t rng = 12345;

	while (!r->stop) {
		size_t chunk = kt_rand(&rng) % (KT_SCAN_SIZE / KT_HPAGE);
		uint8_t *p = r->mem->hva + chunk * KT_HPAGE;

		switch (kt_rand(&rng) % 5) {
		case 0:	/* delete and re-add the slot */
			kt_vm_set_slot(r->vm, KT_SLOT, 0, KT_SLOT_GPA, 0,
				       r->mem->hva);
			kt_vm_set_slot(r->vm, KT_SLOT, 0, KT_SLOT_GPA,
				       KT_SCAN_SIZE, r->mem->hva);
			break;
		case 1:	/* THP fault, then split by a partial zap */
			p[0] = 1;
			madvise(p + KT_PAGE * 3, KT_PAGE * 100, MADV_DONTNEED);
			break;
		case 2:	/* zap everything */
			madvise(p, KT_HPAGE, MADV_DONTNEED);
			break;
		case 3:	/* huge zero page */
			(void)*(volatile uint8_t *)p;
			break;
		case 4:
			memset(p, 0, KT_PAGE * 8);
			break;
		}
		r->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(scanval, race_with_vmm, 120)
{
	struct kt_race r = { .vm = &self->vm, .mem = &self->mem };
	uint64_t ok = 0, gone = 0, t0 = kt_now_ns();
	int other = 0;
	pthread_t t;

	ASSERT_EQ(0, madvise(self->mem.hva, KT_SCAN_SIZE, MADV_HUGEPAGE));
	ASSERT_EQ(0, pthread_create(&t, NULL, kt_race_vmm, &r));
	while (kt_now_ns() - t0 < 3000000000ULL || ok < 10) {
		struct kt_scan s;

		if (!__kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SCAN_PAGES,
				       0, 0, self->bitmap, &s))
			ok++;
		else if (errno == ENOENT)
			gone++;
		else {
			other = errno;
			break;
		}
	}
	r.stop = true;
	pthread_join(t, NULL);
	TH_LOG("%llu scans, %llu saw no slot, %llu VMM changes",
	       (unsigned long long)ok, (unsigned long long)gone,
	       (unsigned long long)r.rounds);
	ASSERT_EQ(0, other) TH_LOG("scan failed: %s", strerror(other));
	ASSERT_LT(0, ok);
}

KT_HARNESS_MAIN
