// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_zscan_test - KMIG_ZERO_SCAN on real KVM VMs.
 *
 * zscan (one variant per backing: anonymous 4 KiB, THP, memfd shared,
 * memfd private): a 64 MiB slot gets a seeded random pattern of untouched
 * pages, pages written with zeros, pages with one non-zero byte (at offset
 * 0, 4095 or a random one), read-faulted pages (zero pfn, huge zero page),
 * pages written by a guest running in the VM, and for memfd pages written
 * with pwrite() and never mapped, fallocate()d and hole-punched pages. The
 * module's answer is compared page by page (one call per page, so the kind
 * of each page is known) and as one range with a userspace reference built
 * from /proc/self/pagemap, mincore() and the content.
 *
 * sparse: a 32 GiB MAP_NORESERVE slot scanned untouched, and while a timer
 * sends signals: calls are cut short and the resumed result is exact.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kt_harness.h"

#define KT_SLOT		1
#define KT_SLOT_GPA	(256UL << 20)
#define KT_SCAN_SIZE	(64UL << 20)
#define KT_SCAN_PAGES	(KT_SCAN_SIZE / KT_PAGE)

struct kt_pattern {
	struct kt_vm *vm;
	struct kt_mem *mem;
	uint8_t *falloc;		/* memfd pages fallocated, not written */
	struct kt_guest_write *gw;	/* guest writes, run at the end */
	size_t ngw;
	uint64_t rng;
};

/* A non-zero byte at offset 0, 4095 or a random offset of @page. */
static void kt_put_byte(struct kt_pattern *p, size_t page, bool guest)
{
	uint64_t r = kt_rand(&p->rng);
	size_t off = r % 4 == 0 ? 0 : r % 4 == 1 ? KT_PAGE - 1 :
		     (r >> 8) % KT_PAGE;
	uint8_t val = 1 + (r >> 24) % 255;

	if (guest) {
		p->gw[p->ngw++] = (struct kt_guest_write){
			.gpa = KT_SLOT_GPA + page * KT_PAGE + off, .val = val };
		return;
	}
	p->mem->hva[page * KT_PAGE + off] = val;
}

static void kt_guest_zero(struct kt_pattern *p, size_t page)
{
	p->gw[p->ngw++] = (struct kt_guest_write){
		.gpa = KT_SLOT_GPA + page * KT_PAGE + 64, .val = 0 };
}

static void kt_read_page(struct kt_pattern *p, size_t page)
{
	(void)*(volatile uint8_t *)(p->mem->hva + page * KT_PAGE + 100);
}

enum { OP_UNTOUCHED, OP_WRITE_ZERO, OP_WRITE_BYTE, OP_READ, OP_GUEST_BYTE,
       OP_GUEST_ZERO, OP_ZAP, OP_PWRITE_BYTE, OP_PWRITE_ZERO, OP_FALLOC,
       OP_PUNCH, OP_NR };

/* One 4 KiB page; OP_ZAP: written, then MADV_DONTNEED or hole punch. */
static void kt_page_op(struct kt_pattern *p, size_t page, int op)
{
	struct kt_mem *m = p->mem;
	uint8_t *addr = m->hva + page * KT_PAGE;
	static const uint8_t zero[KT_PAGE];
	uint8_t byte = 0x77;

	switch (op) {
	case OP_UNTOUCHED:
		break;
	case OP_WRITE_ZERO:
		memset(addr, 0, KT_PAGE);
		break;
	case OP_WRITE_BYTE:
		kt_put_byte(p, page, false);
		break;
	case OP_READ:
		kt_read_page(p, page);
		break;
	case OP_GUEST_BYTE:
		kt_put_byte(p, page, true);
		break;
	case OP_GUEST_ZERO:
		kt_guest_zero(p, page);
		break;
	case OP_ZAP:
		addr[5] = 1;
		KT_CALL_OK(madvise(addr, KT_PAGE, MADV_DONTNEED), "madvise");
		break;
	case OP_PWRITE_BYTE:	/* in the page cache, never mapped */
		KT_ASSERT(pwrite(m->memfd, &byte, 1, page * KT_PAGE +
				 kt_rand(&p->rng) % KT_PAGE) == 1, "pwrite");
		break;
	case OP_PWRITE_ZERO:
		KT_ASSERT(pwrite(m->memfd, zero, KT_PAGE, page * KT_PAGE) ==
			  KT_PAGE, "pwrite");
		break;
	case OP_FALLOC:
		KT_CALL_OK(fallocate(m->memfd, 0, page * KT_PAGE, KT_PAGE),
			   "fallocate");
		p->falloc[page] = 1;
		break;
	case OP_PUNCH:
		KT_ASSERT(pwrite(m->memfd, &byte, 1, page * KT_PAGE) == 1,
			  "pwrite");
		KT_CALL_OK(fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE |
				     FALLOC_FL_KEEP_SIZE, page * KT_PAGE,
				     KT_PAGE), "fallocate(PUNCH_HOLE)");
		break;
	}
}

/* Weighted choice: about a third of the pages stay untouched. */
static int kt_pick(struct kt_pattern *p, const int *ops, int n)
{
	uint64_t r = kt_rand(&p->rng) % 100;

	return r < 35 ? OP_UNTOUCHED : ops[r % n];
}

static void kt_pattern_4k(struct kt_pattern *p, const int *ops, int nops)
{
	for (size_t page = 0; page < KT_SCAN_PAGES; page++)
		kt_page_op(p, page, kt_pick(p, ops, nops));
}

/* THP: whole 2 MiB chunks get one treatment, so huge mappings form. */
static void kt_pattern_thp(struct kt_pattern *p)
{
	for (size_t c = 0; c < KT_SCAN_PAGES / KT_HPAGE_NR; c++) {
		size_t first = c * KT_HPAGE_NR;
		size_t page = first + kt_rand(&p->rng) % KT_HPAGE_NR;
		uint8_t *addr = p->mem->hva + first * KT_PAGE;

		switch (kt_rand(&p->rng) % 8) {
		case 0:		/* untouched */
			break;
		case 1:		/* huge zero page */
			kt_read_page(p, first);
			break;
		case 2:		/* THP, one page with data */
			kt_put_byte(p, page, false);
			break;
		case 3:		/* THP, all zero data */
			memset(addr, 0, KT_HPAGE);
			break;
		case 4:		/* huge zero page, then COW of one page */
			kt_read_page(p, first);
			kt_put_byte(p, page, false);
			break;
		case 5:		/* THP split by a partial zap */
			kt_put_byte(p, first + 1, false);
			kt_put_byte(p, first + 300, false);
			KT_CALL_OK(madvise(addr, KT_HPAGE / 4, MADV_DONTNEED),
				   "madvise");
			break;
		case 6:		/* the guest writes into the chunk */
			kt_put_byte(p, page, true);
			break;
		case 7:
			kt_guest_zero(p, page);
			break;
		}
	}
}

static void kt_pattern_apply(struct kt_pattern *p)
{
	static const int anon_ops[] = { OP_WRITE_ZERO, OP_WRITE_BYTE, OP_READ,
					OP_GUEST_BYTE, OP_GUEST_ZERO, OP_ZAP };
	static const int memfd_ops[] = { OP_WRITE_ZERO, OP_WRITE_BYTE, OP_READ,
					 OP_GUEST_BYTE, OP_GUEST_ZERO,
					 OP_PWRITE_BYTE, OP_PWRITE_ZERO,
					 OP_FALLOC, OP_PUNCH };
	/* Private: pwrite/fallocate on the file first, then COW writes. */
	static const int private_ops[] = { OP_WRITE_ZERO, OP_WRITE_BYTE,
					   OP_READ, OP_GUEST_BYTE,
					   OP_PWRITE_BYTE, OP_PWRITE_ZERO,
					   OP_FALLOC };

	switch (p->mem->backing) {
	case KT_ANON:
	case KT_SPARSE:
		kt_pattern_4k(p, anon_ops, ARRAY_SIZE(anon_ops));
		break;
	case KT_ANON_THP:
		kt_pattern_thp(p);
		break;
	case KT_MEMFD:
		kt_pattern_4k(p, memfd_ops, ARRAY_SIZE(memfd_ops));
		break;
	case KT_MEMFD_PRIVATE:
		kt_pattern_4k(p, private_ops, ARRAY_SIZE(private_ops));
		break;
	}
	kt_guest_write(p->vm, p->gw, p->ngw);
}

FIXTURE(zscan) {
	struct kt_vm vm;
	struct kt_mem mem;
	struct kt_zero_pfns zp;
	struct kt_pattern pat;
	int kfd;
	uint8_t want[KT_SCAN_PAGES];
	uint8_t got[KT_SCAN_PAGES];
	uint64_t bitmap[KT_WORDS(KT_SCAN_PAGES)];
	uint64_t want_bitmap[KT_WORDS(KT_SCAN_PAGES)];
	char khp_sleep[32];
};

/*
 * khugepaged collapses the THP slot's ranges in the background: on the
 * debug kernel a collapse ran through three attempts of kt_compare() in a
 * row. The test host's khugepaged sleeps an hour between scans while a
 * fixture runs (one collapse already under way can still finish: the
 * retries take care of that), and gets its setting back afterwards.
 */
static const char khp_sleep_path[] =
	"/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs";

static void khp_write(const char *val)
{
	int fd = open(khp_sleep_path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		ksft_print_msg("cannot set %s: %s\n", khp_sleep_path, strerror(errno));
	close(fd);
}

static void khp_pause(char *saved, size_t n)
{
	int fd = open(khp_sleep_path, O_RDONLY);
	ssize_t r = fd < 0 ? -1 : read(fd, saved, n - 1);

	if (fd >= 0)
		close(fd);
	saved[r > 0 ? r : 0] = 0;
	if (r > 0)
		khp_write("3600000");
}

FIXTURE_VARIANT(zscan) {
	enum kt_backing backing;
};

FIXTURE_VARIANT_ADD(zscan, anon) { .backing = KT_ANON };
FIXTURE_VARIANT_ADD(zscan, thp) { .backing = KT_ANON_THP };
FIXTURE_VARIANT_ADD(zscan, memfd) { .backing = KT_MEMFD };
FIXTURE_VARIANT_ADD(zscan, memfd_private) { .backing = KT_MEMFD_PRIVATE };

FIXTURE_SETUP(zscan)
{
	khp_pause(self->khp_sleep, sizeof(self->khp_sleep));
	kt_vm_create(&self->vm);
	kt_guest_setup(&self->vm);
	kt_mem_alloc(&self->mem, variant->backing, KT_SCAN_SIZE);
	kt_vm_set_slot(&self->vm, KT_SLOT, 0, KT_SLOT_GPA, KT_SCAN_SIZE,
		       self->mem.hva);
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->vm.fd, NULL);
	ASSERT_TRUE(kt_zero_pfns(&self->zp))
		TH_LOG("pagemap hides pfns: run as root");

	self->pat = (struct kt_pattern){
		.vm = &self->vm, .mem = &self->mem,
		.falloc = calloc(KT_SCAN_PAGES, 1),
		.gw = calloc(KT_SCAN_PAGES, sizeof(struct kt_guest_write)),
		.rng = 0x6b6d6967ULL + variant->backing,
	};
	ASSERT_NE(NULL, self->pat.falloc);
	ASSERT_NE(NULL, self->pat.gw);
	TH_LOG("%s slot, pattern seed %#llx", kt_backing_name(variant->backing),
	       (unsigned long long)self->pat.rng);
	kt_pattern_apply(&self->pat);
}

FIXTURE_TEARDOWN(zscan)
{
	close(self->kfd);
	kt_vm_close(&self->vm);
	kt_mem_free(&self->mem);
	free(self->pat.falloc);
	free(self->pat.gw);
	if (self->khp_sleep[0])
		khp_write(self->khp_sleep);
}

/*
 * The reference before and after the module's scans must agree, or
 * something in the background (khugepaged) changed the memory: try again.
 */
static bool kt_reference_stable(FIXTURE_DATA(zscan) *self, uint8_t *before)
{
	uint8_t *after = malloc(KT_SCAN_PAGES);
	bool same;

	kt_ref_kinds(&self->mem, 0, KT_SCAN_PAGES, self->pat.falloc,
		     &self->zp, after);
	same = !memcmp(before, after, KT_SCAN_PAGES);
	memcpy(before, after, KT_SCAN_PAGES);
	free(after);
	return same;
}

/* With NO_READ, pages that would need a read count as non-zero. */
static void kt_kinds_no_read(uint8_t *kinds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kinds[i] == KT_ZERO_DATA)
			kinds[i] = KT_NONZERO;
}

static void kt_compare(struct __test_metadata *_metadata,
		       FIXTURE_DATA(zscan) *self, uint32_t flags)
{
	uint64_t want[KT_NR_KINDS];
	struct kt_scan s;
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		kt_ref_kinds(&self->mem, 0, KT_SCAN_PAGES, self->pat.falloc,
			     &self->zp, self->want);
		kmig_scan_kinds(self->kfd, KT_SLOT, 0, KT_SCAN_PAGES, flags,
				self->got);
		kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SCAN_PAGES, 0, flags,
				self->bitmap, &s);
		if (kt_reference_stable(self, self->want))
			break;
		TH_LOG("memory changed in the background, again");
	}
	ASSERT_LT(attempt, 3);
	if (flags & KMIG_SCAN_F_NO_READ)
		kt_kinds_no_read(self->want, KT_SCAN_PAGES);

	kt_kinds_count(self->want, KT_SCAN_PAGES, want);
	TH_LOG("reference: none %llu zero-page %llu zero-data %llu nonzero %llu",
	       (unsigned long long)want[0], (unsigned long long)want[1],
	       (unsigned long long)want[2], (unsigned long long)want[3]);
	ASSERT_EQ(0, kt_kinds_diff("per page", self->want, self->got,
				   KT_SCAN_PAGES));
	kt_kinds_bitmap(self->want, KT_SCAN_PAGES, self->want_bitmap);
	ASSERT_EQ(0, memcmp(self->want_bitmap, self->bitmap,
			    sizeof(self->bitmap)));
	EXPECT_EQ(want[KT_NONE], s.nr_none);
	EXPECT_EQ(want[KT_ZERO_PAGE], s.nr_zero_page);
	EXPECT_EQ(want[KT_ZERO_DATA], s.nr_zero_data);
	EXPECT_EQ(want[KT_NONZERO], s.nr_nonzero);
}

TEST_F_TIMEOUT(zscan, correctness, 180)
{
	uint64_t n[KT_NR_KINDS];

	kt_compare(_metadata, self, 0);

	/* The pattern must have produced what this test claims to cover. */
	kt_kinds_count(self->want, KT_SCAN_PAGES, n);
	EXPECT_LT(0, n[KT_NONE]);
	EXPECT_LT(0, n[KT_ZERO_DATA]);
	EXPECT_LT(0, n[KT_NONZERO]);
	/* Only anonymous memory maps the zero pfn; shmem allocates. */
	if (variant->backing == KT_ANON)
		EXPECT_LT(0, n[KT_ZERO_PAGE]);
	if (variant->backing == KT_ANON_THP && self->zp.have_huge)
		EXPECT_LE(KT_HPAGE_NR, n[KT_ZERO_PAGE]);
	EXPECT_LT(0, self->pat.ngw);
}

TEST_F_TIMEOUT(zscan, no_read, 180)
{
	kt_compare(_metadata, self, KMIG_SCAN_F_NO_READ);
}

static const struct kt_resume_case {
	uint64_t first, num, max;
} kt_resume_cases[] = {
	{ 0, KT_SCAN_PAGES, 64 },
	{ 7, KT_SCAN_PAGES - 7, 1 },
	{ 1001, 9000, 100 },
	{ 3, KT_SCAN_PAGES - 3 - 5, 4096 },
	{ KT_SCAN_PAGES - 70, 70, 64 },
	{ 511, 1025, 0 },
};

/*
 * Scans one case in small batches; returns how many things differ from
 * one full scan (@full) and from the reference kinds (self->want).
 */
static int kt_resume_case(FIXTURE_DATA(zscan) *self,
			  const struct kt_resume_case *c, uint64_t bound,
			  const uint64_t *full)
{
	uint64_t batch = c->max ? (c->max + 63) / 64 * 64 : bound;
	uint64_t want[KT_NR_KINDS], got[KT_NR_KINDS];
	int bad = 0;
	struct kt_scan s;

	memset(self->bitmap, 0xa5, sizeof(self->bitmap));
	kmig_scan_range(self->kfd, KT_SLOT, c->first, c->num, c->max, 0,
			self->bitmap, &s);
	if (s.calls != (c->num + batch - 1) / batch) {
		fprintf(stderr, "# %llu calls\n", (unsigned long long)s.calls);
		bad++;
	}
	for (uint64_t i = 0; i < KT_WORDS(c->num) * 64; i++) {
		uint64_t p = c->first + i;
		bool bit = self->bitmap[i / 64] >> (i % 64) & 1;
		bool exp = i < c->num && (full[p / 64] >> (p % 64) & 1);

		bad += bit != exp;
	}
	kt_kinds_count(self->want + c->first, c->num, want);
	got[KT_NONE] = s.nr_none;
	got[KT_ZERO_PAGE] = s.nr_zero_page;
	got[KT_ZERO_DATA] = s.nr_zero_data;
	got[KT_NONZERO] = s.nr_nonzero;
	for (int k = 0; k < KT_NR_KINDS; k++) {
		if (want[k] == got[k])
			continue;
		fprintf(stderr, "# %s: expected %llu, got %llu\n",
			kt_kind_name(k), (unsigned long long)want[k],
			(unsigned long long)got[k]);
		bad++;
	}
	return bad;
}

/* Odd starts, odd lengths and small batches give the same answer. */
TEST_F_TIMEOUT(zscan, resume_cursor, 180)
{
	uint64_t full[KT_WORDS(KT_SCAN_PAGES)];
	struct kmig_info info;
	struct kt_scan s;
	int attempt, bad;

	kmig_get_info(self->kfd, &info);
	for (attempt = 0; attempt < 3; attempt++) {
		kt_ref_kinds(&self->mem, 0, KT_SCAN_PAGES, self->pat.falloc,
			     &self->zp, self->want);
		kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SCAN_PAGES, 0, 0,
				full, &s);
		bad = 0;
		for (size_t c = 0; c < ARRAY_SIZE(kt_resume_cases); c++) {
			int b = kt_resume_case(self, &kt_resume_cases[c],
					       info.max_batch_pages, full);

			if (b)
				TH_LOG("case %zu: %d differences", c, b);
			bad += b;
		}
		if (kt_reference_stable(self, self->want))
			break;
		TH_LOG("memory changed in the background, again");
	}
	ASSERT_LT(attempt, 3);
	ASSERT_EQ(0, bad);
}

/* ---- signals during a long scan ---- */

#define KT_SPARSE_SIZE	(32UL << 30)
#define KT_SPARSE_PAGES	(KT_SPARSE_SIZE / KT_PAGE)
#define KT_SPARSE_DENSE	(4UL << 30)	/* one data page per 2 MiB here */

static volatile sig_atomic_t kt_signals;

static void kt_on_signal(int sig __attribute__((unused)))
{
	kt_signals++;
}

FIXTURE(sparse) {
	struct kt_vm vm;
	struct kt_mem mem;
	int kfd;
	uint64_t *bitmap;
	timer_t timer;
};

FIXTURE_SETUP(sparse)
{
	kt_vm_create(&self->vm);
	kt_mem_alloc(&self->mem, KT_SPARSE, KT_SPARSE_SIZE);
	kt_vm_set_slot(&self->vm, KT_SLOT, 0, 64UL << 30, KT_SPARSE_SIZE,
		       self->mem.hva);
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->vm.fd, NULL);
	self->bitmap = calloc(KT_WORDS(KT_SPARSE_PAGES), sizeof(uint64_t));
	ASSERT_NE(NULL, self->bitmap);
	/* Every PMD of the dense part has a page table to walk. */
	for (uint64_t off = 0; off < KT_SPARSE_DENSE; off += KT_HPAGE)
		self->mem.hva[off + (off >> 21) % KT_PAGE] = 1;
}

FIXTURE_TEARDOWN(sparse)
{
	close(self->kfd);
	kt_vm_close(&self->vm);
	kt_mem_free(&self->mem);
	free(self->bitmap);
}

static void kt_check_sparse(struct __test_metadata *_metadata,
			    FIXTURE_DATA(sparse) *self, const struct kt_scan *s)
{
	uint64_t data = KT_SPARSE_DENSE / KT_HPAGE;

	ASSERT_EQ(data, s->nr_nonzero);
	ASSERT_EQ(KT_SPARSE_PAGES - data, s->nr_none);
	for (uint64_t i = 0; i < KT_SPARSE_PAGES / 64; i++) {
		uint64_t want = ~0ULL;

		if (i * 64 < KT_SPARSE_DENSE / KT_PAGE && i % (KT_HPAGE_NR / 64) == 0)
			want = ~1ULL;
		ASSERT_EQ(want, self->bitmap[i]) TH_LOG("word %llu",
							(unsigned long long)i);
	}
}

TEST_F_TIMEOUT(sparse, untouched_is_cheap, 120)
{
	struct kmig_info info;
	struct kt_scan s;

	/* 32 GiB, almost all empty, at the module's full batch per call. */
	kmig_get_info(self->kfd, &info);
	kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SPARSE_PAGES, 0, 0,
			self->bitmap, &s);
	EXPECT_EQ((KT_SPARSE_PAGES + info.max_batch_pages - 1) /
		  info.max_batch_pages, s.calls);
	kt_check_sparse(_metadata, self, &s);
}

TEST_F_TIMEOUT(sparse, signal_during_scan, 240)
{
	struct sigaction sa = { .sa_handler = kt_on_signal };
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
	};
	struct itimerspec its = {
		.it_value.tv_nsec = 200000, .it_interval.tv_nsec = 200000,
	};
	uint64_t interrupted = 0;
	struct kt_scan s;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	ASSERT_EQ(0, timer_create(CLOCK_MONOTONIC, &sev, &self->timer));
	ASSERT_EQ(0, timer_settime(self->timer, 0, &its, NULL));
	/* Until a signal cut a call short; each result must be right. */
	for (int round = 0; round < 10 && !interrupted; round++) {
		memset(self->bitmap, 0, KT_WORDS(KT_SPARSE_PAGES) * 8);
		kmig_scan_range(self->kfd, KT_SLOT, 0, KT_SPARSE_PAGES, 0, 0,
				self->bitmap, &s);
		kt_check_sparse(_metadata, self, &s);
		interrupted += s.interrupted;
	}
	timer_delete(self->timer);
	TH_LOG("%d signals, %llu calls cut short", (int)kt_signals,
	       (unsigned long long)interrupted);
	ASSERT_LT(0, kt_signals);
	ASSERT_LT(0, interrupted);
}

KT_HARNESS_MAIN
