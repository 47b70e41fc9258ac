// SPDX-License-Identifier: GPL-2.0
/*
 * kmig-vmm runs kguest natively: progress, memory layout, the integrity
 * checker (passes on a paused guest, fails on each kind of corruption),
 * pause/resume, throttle, fd hygiene and clean shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tutil.h"

#define MIB (1ULL << 20)

FIXTURE(vmm) {
	struct tvmm t;
	struct kmig_vmmp_client *c;
};

FIXTURE_SETUP(vmm)
{
	const char *const args[] = { "--mem", tvmm_mem(), "--vcpus", "2", NULL };

	ASSERT_EQ(0, tvmm_start(&self->t, args));
	ASSERT_EQ(0, tvmm_connect(&self->t, &self->c));
	ASSERT_EQ(0, tvmm_wait_ready(self->c, 20000));
}

FIXTURE_TEARDOWN(vmm)
{
	if (self->c)
		kmig_vmmp_client_close(self->c);
	EXPECT_EQ(0, tvmm_stop(&self->t));
}

TEST_F(vmm, guest_runs_and_progresses)
{
	const struct kmig_vmmp_info *info = kmig_vmmp_info(self->c);
	struct kmig_vmmp_status a, b;

	ASSERT_EQ(2, info->nr_vcpus);
	ASSERT_EQ(2, info->nr_slots);
	ASSERT_TRUE(info->vm_flags & KMIG_VMMP_VM_F_MANUAL_PROTECT);
	ASSERT_FALSE(info->vm_flags & KMIG_VMMP_VM_F_INCOMING);
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &a));
	ASSERT_EQ(KMIG_VMMP_STATE_RUNNING, a.state);
	ASSERT_EQ(0, tvmm_wait_progress(self->c, a.progress + 100000, 20000));
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &b));
	ASSERT_GT(b.progress2, a.progress2);	/* whole sweeps too */
	ASSERT_GT(b.exits, a.exits);
	TH_LOG("guest wrote %llu pages in %.1f ms of vCPU time",
	       (unsigned long long)(b.progress - a.progress),
	       (double)(b.run_ns - a.run_ns) / 1e6);
}

TEST_F(vmm, memslot_layout_and_memfds)
{
	struct kmig_vmmp_memmap *m;
	const struct kguest_params *p;
	const struct kguest_status *st;
	uint64_t mem = strtoull(tvmm_mem(), NULL, 10) * MIB;
	int odd = 0;

	/* kmig-vmm splits --mem in two slots, the first 1 MiB over half. */
	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ, &m, NULL));
	ASSERT_EQ(2, m->nr_slots);
	ASSERT_EQ(0, m->slots[0].gpa);
	ASSERT_EQ(mem / 2 + MIB, m->slots[0].size);
	ASSERT_EQ(mem / 2 + MIB, m->slots[1].gpa);
	ASSERT_EQ(mem / 2 - MIB, m->slots[1].size);
	odd = m->slots[0].size % (2 * MIB) || m->slots[1].size % (2 * MIB);
	ASSERT_TRUE(odd);
	ASSERT_GE(m->vm_fd, 0);
	p = kmig_vmmp_memmap_gpa(m, KGUEST_PARAMS_GPA, sizeof(*p));
	st = kmig_vmmp_memmap_gpa(m, KGUEST_STATUS_GPA, sizeof(*st));
	ASSERT_NE(NULL, p);
	ASSERT_EQ(KGUEST_PARAMS_MAGIC, p->magic);
	ASSERT_EQ(2, p->nr_vcpus);
	ASSERT_EQ(KGUEST_STATUS_MAGIC, st->magic);
	ASSERT_EQ(NULL, kmig_vmmp_memmap_gpa(m, mem, 1));
	kmig_vmmp_memmap_free(m);
}

TEST_F(vmm, checker_passes_on_paused_guest)
{
	struct kmig_abcheck_report rep;
	struct kmig_vmmp_memmap *m;

	ASSERT_EQ(0, kmig_vmmp_pause(self->c));
	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ, &m, NULL));
	ASSERT_EQ(0, tvmm_check(m, &rep));
	ASSERT_EQ(0, rep.bad_pages);
	ASSERT_EQ(2, rep.nr_vcpus);
	ASSERT_GT(rep.pages[KGUEST_ZERO], 0);
	ASSERT_GT(rep.pages[KGUEST_TEXT], 0);
	ASSERT_GT(rep.pages[KGUEST_RANDOM], 0);
	ASSERT_EQ(16 * MIB / KGUEST_PAGE_SIZE, rep.pages[KGUEST_AB]);
	kmig_vmmp_memmap_free(m);
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
}

/* First region of @kind in the guest's parameter block. */
static const struct kguest_region *region_of(const struct kmig_vmmp_memmap *m,
					     uint32_t kind)
{
	const struct kguest_params *p =
		kmig_vmmp_memmap_gpa(m, KGUEST_PARAMS_GPA, sizeof(*p));
	uint32_t i;

	for (i = 0; i < p->nr_regions; i++)
		if (p->regions[i].kind == kind && p->regions[i].pages > 4)
			return &p->regions[i];
	return NULL;
}

/* Flip one byte at @gpa: the checker must report exactly that byte. */
static void expect_one_bad(struct __test_metadata *_metadata,
			   struct kmig_vmmp_memmap *m, uint64_t gpa, uint32_t kind)
{
	struct kmig_abcheck_report rep;
	uint8_t *b = kmig_vmmp_memmap_gpa(m, gpa, 1), orig = *b;

	*b ^= 0x5a;
	ASSERT_EQ(-EBADMSG, tvmm_check(m, &rep));
	ASSERT_EQ(1, rep.bad_pages);
	ASSERT_EQ(1, rep.nr_bad);
	ASSERT_EQ(gpa, rep.bad[0].gpa);
	ASSERT_EQ(kind, rep.bad[0].kind);
	ASSERT_EQ(orig, rep.bad[0].expected);
	ASSERT_EQ((uint8_t)(orig ^ 0x5a), rep.bad[0].actual);
	*b = orig;
	ASSERT_EQ(0, tvmm_check(m, &rep));
}

TEST_F(vmm, checker_detects_corruption)
{
	struct kmig_abcheck_report rep;
	struct kmig_vmmp_memmap *m;
	const struct kguest_region *z, *t, *r, *ab;
	uint8_t *first, save[4];
	uint64_t gpa;
	int i;

	ASSERT_EQ(0, kmig_vmmp_pause(self->c));
	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ | PROT_WRITE, &m, NULL));
	z = region_of(m, KGUEST_ZERO);
	t = region_of(m, KGUEST_TEXT);
	r = region_of(m, KGUEST_RANDOM);
	ab = region_of(m, KGUEST_AB);
	ASSERT_TRUE(z && t && r && ab);
	expect_one_bad(_metadata, m, z->gpa + 3 * KGUEST_PAGE_SIZE + 100, KGUEST_ZERO);
	expect_one_bad(_metadata, m, t->gpa + KGUEST_PAGE_SIZE + 7, KGUEST_TEXT);
	expect_one_bad(_metadata, m, r->gpa + 2 * KGUEST_PAGE_SIZE + 4095, KGUEST_RANDOM);
	expect_one_bad(_metadata, m, ab->gpa + KGUEST_PAGE_SIZE + 9, KGUEST_AB);

	/* Two boundaries in vCPU 0's a-b share: page 2 gets its neighbour's +1. */
	ASSERT_EQ(0, tvmm_check(m, &rep));
	gpa = ab->gpa + 2 * KGUEST_PAGE_SIZE;
	for (i = 0; i < 4; i++) {
		first = kmig_vmmp_memmap_gpa(m, ab->gpa + (uint64_t)(i + 1) * KGUEST_PAGE_SIZE, 1);
		save[i] = *first;
	}
	first = kmig_vmmp_memmap_gpa(m, gpa, 1);
	*first = (uint8_t)(save[0] + 2);	/* neither v nor v+1 around it */
	ASSERT_EQ(-EBADMSG, tvmm_check(m, &rep));
	ASSERT_EQ(1, rep.bad_pages);
	ASSERT_EQ(gpa, rep.bad[0].gpa);
	ASSERT_STREQ("a-b counter", rep.bad[0].what);
	*first = save[1];

	/* A run of pages a sweep apart from their neighbours: a second boundary. */
	{
		uint64_t share = rep.ab[0].pages, k = rep.ab[0].boundary;
		uint64_t start = k + (share - k) / 4, n = 5, j;
		uint8_t val = rep.ab[0].hi, orig[5];

		if (share - k < 40) {	/* boundary near the end: use the front */
			start = k / 4;
			val = rep.ab[0].lo;
		}
		for (j = 0; j < n; j++) {
			first = kmig_vmmp_memmap_gpa(m, ab->gpa + (start + j) * KGUEST_PAGE_SIZE, 1);
			orig[j] = *first;
			*first = val;
		}
		ASSERT_EQ(-EBADMSG, tvmm_check(m, &rep));
		ASSERT_EQ(n, rep.bad_pages);
		ASSERT_EQ(ab->gpa + start * KGUEST_PAGE_SIZE, rep.bad[0].gpa);
		for (j = 0; j < n; j++)
			*(uint8_t *)kmig_vmmp_memmap_gpa(m, ab->gpa + (start + j) * KGUEST_PAGE_SIZE, 1) = orig[j];
	}
	ASSERT_EQ(0, tvmm_check(m, &rep));
	kmig_vmmp_memmap_free(m);
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
	ASSERT_EQ(0, tvmm_wait_progress(self->c, 0, 5000));
}

TEST_F(vmm, pause_stops_every_vcpu_and_resume_continues)
{
	struct kmig_abcheck_progress p1, p2, p3;
	struct kmig_abcheck_range r[2];
	struct kmig_vmmp_status st;
	struct kmig_vmmp_memmap *m;

	ASSERT_EQ(0, tvmm_map(self->c, PROT_READ, &m, r));
	ASSERT_EQ(0, kmig_vmmp_pause(self->c));
	TH_LOG("pause latency %.3f ms", kmig_vmmp_last_duration_ns(self->c) / 1e6);
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &st));
	ASSERT_EQ(KMIG_VMMP_STATE_PAUSED, st.state);
	ASSERT_EQ(0, kmig_abcheck_read_progress(r, 2, &p1));
	tvmm_sleep_ms(200);
	ASSERT_EQ(0, kmig_abcheck_read_progress(r, 2, &p2));
	ASSERT_EQ(0, memcmp(&p1, &p2, sizeof(p1)));	/* nothing moves */
	ASSERT_EQ(0, kmig_vmmp_pause(self->c));		/* idempotent */
	ASSERT_EQ(0, kmig_vmmp_resume(self->c));
	tvmm_sleep_ms(300);
	ASSERT_EQ(0, kmig_abcheck_read_progress(r, 2, &p3));
	ASSERT_TRUE(kmig_abcheck_progressed(&p2, &p3));	/* every vCPU */
	kmig_vmmp_memmap_free(m);
}

TEST_F(vmm, throttle_is_applied_and_reported)
{
	struct kmig_vmmp_status st;
	uint32_t prev;

	ASSERT_EQ(0, kmig_vmmp_throttle(self->c, 90, &prev));
	ASSERT_EQ(0, prev);
	ASSERT_EQ(0, kmig_vmmp_query(self->c, &st));
	ASSERT_EQ(90, st.throttle);
	/* A throttled guest still makes progress. */
	ASSERT_EQ(0, tvmm_wait_progress(self->c, st.progress + 4096, 10000));
	ASSERT_EQ(0, kmig_vmmp_throttle(self->c, 0, &prev));
	ASSERT_EQ(90, prev);
	ASSERT_EQ(-ERANGE, kmig_vmmp_throttle(self->c, 100, &prev));
}

TEST_F(vmm, no_fd_leak_across_sessions)
{
	int before, after, i;

	kmig_vmmp_client_close(self->c);
	self->c = NULL;
	tvmm_sleep_ms(100);	/* the VMM notices the hang-up */
	before = tvmm_count_fds(self->t.pid);
	ASSERT_GT(before, 0);
	for (i = 0; i < 20; i++) {
		struct kmig_vmmp_client *c;
		struct kmig_vmmp_memmap *m;
		void *blob;
		size_t len;

		ASSERT_EQ(0, tvmm_connect(&self->t, &c));
		ASSERT_EQ(0, kmig_vmmp_get_slots(c, &m));
		ASSERT_EQ(0, kmig_vmmp_pause(c));
		ASSERT_EQ(0, kmig_vmmp_get_device_state(c, &blob, &len));
		free(blob);
		ASSERT_EQ(0, kmig_vmmp_resume(c));
		kmig_vmmp_memmap_free(m);
		kmig_vmmp_client_close(c);
	}
	tvmm_sleep_ms(100);	/* the VMM notices the last hang-up */
	after = tvmm_count_fds(self->t.pid);
	ASSERT_EQ(before, after);
	ASSERT_EQ(0, tvmm_connect(&self->t, &self->c));
}

TEST_F(vmm, quit_exit_shuts_down_cleanly)
{
	ASSERT_EQ(0, kmig_vmmp_quit(self->c, KMIG_VMMP_QUIT_F_EXIT));
	kmig_vmmp_client_close(self->c);
	self->c = NULL;
	ASSERT_EQ(0, tvmm_wait_exit(&self->t, 10000));
	ASSERT_NE(0, access(self->t.sock, F_OK));	/* socket removed */
}

TEST_F(vmm, sigterm_shuts_down_cleanly)
{
	kmig_vmmp_client_close(self->c);
	self->c = NULL;
	ASSERT_EQ(0, kill(self->t.pid, SIGTERM));
	ASSERT_EQ(0, tvmm_wait_exit(&self->t, 10000));
}

TEST_HARNESS_MAIN
