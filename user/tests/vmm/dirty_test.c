// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging through the VMM protocol: every page the guest wrote is in
 * the bitmap, no page it did not write is (in the spirit of KVM's
 * dirty_log_test), CLEAR clears exactly the range given, STOP ends it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "tutil.h"

#define MIB (1ULL << 20)

FIXTURE(dirty) {
	struct tvmm t;
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_memmap *m;
	uint64_t *bitmap[2];
	uint64_t words[2];
};

FIXTURE_SETUP(dirty)
{
	const char *const args[] = { "--mem", tvmm_mem(), "--vcpus", "2", NULL };
	int i;

	ASSERT_EQ(0, tvmm_start(&self->t, args));
	ASSERT_EQ(0, tvmm_connect(&self->t, &self->c));
	ASSERT_EQ(0, tvmm_wait_ready(self->c, 20000));
	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ, &self->m, NULL));
	ASSERT_EQ(2, self->m->nr_slots);
	for (i = 0; i < 2; i++) {
		self->words[i] = (self->m->slots[i].size / KGUEST_PAGE_SIZE + 63) / 64;
		self->bitmap[i] = calloc(self->words[i], 8);
		ASSERT_NE(NULL, self->bitmap[i]);
	}
}

FIXTURE_TEARDOWN(dirty)
{
	free(self->bitmap[0]);
	free(self->bitmap[1]);
	kmig_vmmp_memmap_free(self->m);
	if (self->c)
		kmig_vmmp_client_close(self->c);
	EXPECT_EQ(0, tvmm_stop(&self->t));
}

static int test_bit(const uint64_t *b, uint64_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static const struct kguest_region *ab_region(const struct kmig_vmmp_memmap *m)
{
	const struct kguest_params *p =
		kmig_vmmp_memmap_gpa(m, KGUEST_PARAMS_GPA, sizeof(*p));
	uint32_t i;

	for (i = 0; i < p->nr_regions; i++)
		if (p->regions[i].kind == KGUEST_AB)
			return &p->regions[i];
	return NULL;
}

static void clear_all(struct __test_metadata *_metadata, FIXTURE_DATA(dirty) *self)
{
	int i;

	for (i = 0; i < 2; i++) {
		memset(self->bitmap[i], 0xff, self->words[i] * 8);
		ASSERT_EQ(0, kmig_vmmp_clear_dirty_log(self->c, self->m->slots[i].slot, 0,
						       self->m->slots[i].size / KGUEST_PAGE_SIZE,
						       self->bitmap[i]));
	}
}

TEST_F(dirty, bitmap_matches_guest_writes)
{
	const struct kguest_region *ab = ab_region(self->m);
	uint64_t nr, pages, i, changed = 0, dirty_ab = 0, stray = 0;
	uint8_t *before;
	int s, in_slot[2] = { 0, 0 };

	ASSERT_NE(NULL, ab);
	before = malloc(ab->pages);
	ASSERT_EQ(0, kmig_vmmp_dirty_log_start(self->c, NULL, 0));
	if (kmig_vmmp_info(self->c)->vm_flags & KMIG_VMMP_VM_F_INITIALLY_SET) {
		ASSERT_EQ(0, kmig_vmmp_get_dirty_log(self->c, 0, self->bitmap[0],
						     self->words[0], &nr, &pages));
		ASSERT_EQ(pages, nr);	/* initially set: everything dirty */
	}
	ASSERT_EQ(0, kmig_vmmp_pause(self->c));
	clear_all(_metadata, self);
	for (s = 0; s < 2; s++) {
		ASSERT_EQ(0, kmig_vmmp_get_dirty_log(self->c, self->m->slots[s].slot,
						     self->bitmap[s], self->words[s], &nr, NULL));
		ASSERT_EQ(0, nr);	/* paused and cleared: nothing */
	}
	for (i = 0; i < ab->pages; i++)
		before[i] = *(uint8_t *)kmig_vmmp_memmap_gpa(self->m, ab->gpa + i * KGUEST_PAGE_SIZE, 1);
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
	tvmm_sleep_ms(300);
	ASSERT_EQ(0, kmig_vmmp_pause(self->c));

	for (s = 0; s < 2; s++) {
		const struct kmig_vmmp_memslot *sl = &self->m->slots[s];

		ASSERT_EQ(0, kmig_vmmp_get_dirty_log(self->c, sl->slot, self->bitmap[s],
						     self->words[s], &nr, NULL));
		TH_LOG("slot %d: %llu dirty pages, GET_DIRTY_LOG %.3f ms", s,
		       (unsigned long long)nr, kmig_vmmp_last_duration_ns(self->c) / 1e6);
		for (i = 0; i < sl->size / KGUEST_PAGE_SIZE; i++) {
			uint64_t gpa = sl->gpa + i * KGUEST_PAGE_SIZE;

			if (!test_bit(self->bitmap[s], i))
				continue;
			in_slot[s]++;
			stray += !tvmm_guest_writes(gpa, ab);
		}
	}
	/* Every a-b page whose counter moved is dirty, in whichever slot. */
	for (i = 0; i < ab->pages; i++) {
		uint64_t gpa = ab->gpa + i * KGUEST_PAGE_SIZE;
		int sl = gpa >= self->m->slots[1].gpa;
		uint8_t now = *(uint8_t *)kmig_vmmp_memmap_gpa(self->m, gpa, 1);

		if (now == before[i])
			continue;
		changed++;
		dirty_ab += test_bit(self->bitmap[sl], (gpa - self->m->slots[sl].gpa) / KGUEST_PAGE_SIZE);
	}
	TH_LOG("%llu a-b pages changed, %llu of them dirty, %llu stray dirty pages",
	       (unsigned long long)changed, (unsigned long long)dirty_ab,
	       (unsigned long long)stray);
	ASSERT_GT(changed, 0);
	ASSERT_EQ(changed, dirty_ab);
	ASSERT_EQ(0, stray);
	ASSERT_GT(in_slot[0], 0);	/* the a-b range straddles both slots */
	ASSERT_GT(in_slot[1], 0);
	free(before);

	ASSERT_EQ(0, kmig_vmmp_dirty_log_stop(self->c, NULL, 0));
	TH_LOG("DIRTY_LOG_STOP %.3f ms", kmig_vmmp_last_duration_ns(self->c) / 1e6);
	ASSERT_EQ(-ENOENT, kmig_vmmp_get_dirty_log(self->c, 0, self->bitmap[0],
						   self->words[0], &nr, NULL));
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->c), "dirty logging is off"));
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
}

TEST_F(dirty, clear_clears_exactly_the_range)
{
	uint64_t nr, pages, i;
	uint64_t ones[2] = { ~0ULL, ~0ULL };

	ASSERT_EQ(0, kmig_vmmp_pause(self->c));
	ASSERT_EQ(0, kmig_vmmp_dirty_log_start(self->c, NULL, 0));
	if (!(kmig_vmmp_info(self->c)->vm_flags & KMIG_VMMP_VM_F_INITIALLY_SET))
		SKIP(return, "KVM_DIRTY_LOG_INITIALLY_SET not available");
	/* Slot 1 holds no page the paused guest could write: a stable set. */
	ASSERT_EQ(0, kmig_vmmp_clear_dirty_log(self->c, 1, 64, 128, ones));
	ASSERT_EQ(0, kmig_vmmp_get_dirty_log(self->c, 1, self->bitmap[1],
					     self->words[1], &nr, &pages));
	ASSERT_EQ(pages - 128, nr);
	for (i = 0; i < pages; i++)
		ASSERT_EQ(i < 64 || i >= 192, test_bit(self->bitmap[1], i));
	/* The tail of a slot may end off a multiple of 64. */
	ASSERT_EQ(0, kmig_vmmp_clear_dirty_log(self->c, 1, pages / 64 * 64 - 64,
					       pages - (pages / 64 * 64 - 64), self->bitmap[1]));
	ASSERT_EQ(0, kmig_vmmp_dirty_log_stop(self->c, NULL, 0));
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
}

TEST_F(dirty, slot_flags_follow_logging)
{
	struct kmig_vmmp_client *c2;
	struct kmig_vmmp_memmap *m2;
	struct kmig_vmmp_status st;
	uint32_t one = 1;

	ASSERT_EQ(0, kmig_vmmp_dirty_log_start(self->c, &one, 1));
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &st));
	ASSERT_TRUE(st.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG);
	ASSERT_EQ(0, kmig_vmmp_get_slots(self->c, &m2));
	ASSERT_EQ(0, m2->slots[0].flags & KMIG_VMMP_SLOT_F_DIRTY_LOG);
	ASSERT_EQ(KMIG_VMMP_SLOT_F_DIRTY_LOG, m2->slots[1].flags);
	kmig_vmmp_memmap_free(m2);
	/* Logging belongs to the VM, not the session: a new session sees it. */
	kmig_vmmp_client_close(self->c);
	ASSERT_EQ(0, tvmm_connect(&self->t, &c2));
	self->c = c2;
	ASSERT_EQ(0, kmig_vmmp_get_slots(self->c, &m2));
	ASSERT_EQ(KMIG_VMMP_SLOT_F_DIRTY_LOG, m2->slots[1].flags);
	kmig_vmmp_memmap_free(m2);
	ASSERT_EQ(0, kmig_vmmp_dirty_log_stop(self->c, &one, 1));
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &st));
	ASSERT_FALSE(st.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG);
}

TEST_HARNESS_MAIN
