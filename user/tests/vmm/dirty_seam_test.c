// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty-tracking seam (lib/dirty/dirty.h) with its VMM-protocol
 * implementation against a real kmig-vmm running kguest: start, a first
 * harvest (every page, with INITIALLY_SET), clear, then a harvest that
 * holds only pages the guest may write, and within them the a-b pages;
 * a lazy stop turns logging off (QUERY, and GET_DIRTY_LOG says ENOENT);
 * the tracker can start again afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "dirty/dirty.h"
#include "kselftest_harness.h"
#include "tutil.h"

FIXTURE(seam) {
	struct tvmm t;
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_memmap *m;
	struct kmig_dirty *d;
};

FIXTURE_SETUP(seam)
{
	const char *const args[] = { "--mem", tvmm_mem(), "--vcpus", "2", NULL };

	ASSERT_EQ(0, tvmm_start(&self->t, args));
	ASSERT_EQ(0, tvmm_connect(&self->t, &self->c));
	ASSERT_EQ(0, tvmm_wait_ready(self->c, 20000));
	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ, &self->m, NULL));
	ASSERT_EQ(0, kmig_dirty_open(&self->d, self->c, self->m, "/nonexistent/kmig",
				     KMIG_DIRTY_USE_DEFAULT, NULL));
	TH_LOG("%s", self->d->why);
}

FIXTURE_TEARDOWN(seam)
{
	kmig_dirty_close(self->d);
	kmig_vmmp_memmap_free(self->m);
	if (self->c)
		kmig_vmmp_client_close(self->c);
	EXPECT_EQ(0, tvmm_stop(&self->t));
}

static const struct kguest_region *ab_region(const struct kmig_vmmp_memmap *m)
{
	const struct kguest_params *p = kmig_vmmp_memmap_gpa(m, KGUEST_PARAMS_GPA, sizeof(*p));

	for (uint32_t i = 0; i < p->nr_regions; i++)
		if (p->regions[i].kind == KGUEST_AB)
			return &p->regions[i];
	return NULL;
}

static int in_ab(uint64_t gpa, const struct kguest_region *ab)
{
	return gpa >= ab->gpa && gpa < ab->gpa + ab->pages * KGUEST_PAGE_SIZE;
}

static int logging_on(struct kmig_vmmp_client *c)
{
	struct kmig_vmmp_status st;

	return kmig_vmmp_query(c, &st) ? -1 : !!(st.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG);
}

TEST_F(seam, harvest_clear_stop)
{
	const struct kguest_region *ab = ab_region(self->m);
	uint64_t dirty, zero, total = 0, in = 0, out = 0, words;
	uint64_t *bm;

	ASSERT_NE(NULL, ab);
	for (uint32_t i = 0; i < self->m->nr_slots; i++)
		total += self->m->slots[i].size / KGUEST_PAGE_SIZE;
	ASSERT_EQ(0, logging_on(self->c));
	ASSERT_EQ(0, kmig_dirty_start(self->d));
	ASSERT_EQ(1, logging_on(self->c));
	ASSERT_EQ(0, kmig_dirty_harvest(self->d, 0, &dirty, &zero));
	ASSERT_EQ(0, zero);		/* the fallback does not classify */
	if (kmig_vmmp_info(self->c)->vm_flags & KMIG_VMMP_VM_F_INITIALLY_SET)
		ASSERT_EQ(total, dirty);
	ASSERT_EQ(0, kmig_dirty_clear(self->d));
	tvmm_sleep_ms(100);
	ASSERT_EQ(0, kmig_dirty_harvest(self->d, 1, &dirty, &zero));
	for (uint32_t i = 0; i < self->d->nr; i++) {
		const struct kmig_dirty_slot *ds = &self->d->slots[i];

		for (uint64_t p = 0; p < ds->npages; p++) {
			uint64_t gpa = self->m->slots[i].gpa + p * KGUEST_PAGE_SIZE;

			if (!((ds->dirty[p / 64] >> (p % 64)) & 1))
				continue;
			if (in_ab(gpa, ab))
				in++;
			else if (!tvmm_guest_writes(gpa, ab))
				out++;	/* a page the guest never writes after its fill */
		}
	}
	TH_LOG("%llu dirty pages after 100 ms: %llu in the a-b range, %llu elsewhere",
	       (unsigned long long)dirty, (unsigned long long)in, (unsigned long long)out);
	ASSERT_GT(in, 0);
	ASSERT_EQ(0, out);
	ASSERT_LT(dirty, total);
	ASSERT_EQ(2 * self->d->nr, self->d->st.harvests);

	ASSERT_EQ(0, kmig_dirty_stop(self->d, KMIG_DIRTY_STOP_LAZY));
	ASSERT_EQ(0, logging_on(self->c));
	words = (self->m->slots[0].size / KGUEST_PAGE_SIZE + 63) / 64;
	bm = calloc(words, 8);
	ASSERT_EQ(-ENOENT, kmig_vmmp_get_dirty_log(self->c, self->m->slots[0].slot, bm, words,
						   NULL, NULL));
	free(bm);
	ASSERT_EQ(-EINVAL, kmig_dirty_harvest(self->d, 2, NULL, NULL));
	/* A cancelled migration can be retried with the same tracker. */
	ASSERT_EQ(0, kmig_dirty_start(self->d));
	ASSERT_EQ(1, logging_on(self->c));
	ASSERT_EQ(0, kmig_dirty_stop(self->d, KMIG_DIRTY_STOP_NOW));
	ASSERT_EQ(0, logging_on(self->c));
}

TEST_HARNESS_MAIN
