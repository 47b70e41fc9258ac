// SPDX-License-Identifier: GPL-2.0
/*
 * kt_ref.c - the userspace reference the module's results are compared
 * with: /proc/self/pagemap, mincore() and the pages' content.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmig_test.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static const uint8_t kt_zero_page[KT_PAGE];

static void kt_pagemap(const void *addr, size_t n, uint64_t *pm)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (uintptr_t)addr / KT_PAGE * sizeof(uint64_t);
	ssize_t len = n * sizeof(uint64_t);

	KT_ASSERT(fd >= 0, "open pagemap: %s", strerror(errno));
	KT_ASSERT(pread(fd, pm, len, off) == len, "read pagemap: %s",
		  strerror(errno));
	close(fd);
}

/* The pfn a read fault maps at a fresh address of the given advice. */
static uint64_t kt_read_fault_pfn(int advice)
{
	size_t len = 2 * KT_HPAGE;
	uint8_t *map, *p;
	uint64_t pm;

	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(map != MAP_FAILED, "mmap: %s", strerror(errno));
	p = (uint8_t *)(((uintptr_t)map + KT_HPAGE - 1) & ~(KT_HPAGE - 1));
	KT_CALL_OK(madvise(p, KT_HPAGE, advice), "madvise");
	KT_ASSERT(*(volatile uint8_t *)p == 0, "fresh memory not zero");
	kt_pagemap(p, 1, &pm);
	munmap(map, len);
	return pm & PM_PRESENT ? pm & PM_PFN_MASK : 0;
}

/*
 * The huge zero page stays at one pfn for the life of this process: the
 * first mapping of it takes a reference held until the mm exits.
 */
bool kt_zero_pfns(struct kt_zero_pfns *z)
{
	z->zero_pfn = kt_read_fault_pfn(MADV_NOHUGEPAGE);
	z->huge_zero_pfn = kt_read_fault_pfn(MADV_HUGEPAGE);
	z->have_huge = z->huge_zero_pfn && z->huge_zero_pfn != z->zero_pfn;
	return z->zero_pfn != 0;
}

const char *kt_kind_name(unsigned int kind)
{
	static const char *const names[] = {
		"none", "zero-page", "zero-data", "nonzero",
	};

	return kind < KT_NR_KINDS ? names[kind] : "?";
}

static uint8_t kt_content_kind(const void *page)
{
	return memcmp(page, kt_zero_page, KT_PAGE) ? KT_NONZERO : KT_ZERO_DATA;
}

static uint8_t kt_present_kind(const struct kt_zero_pfns *z, uint64_t pfn,
			       const void *page)
{
	if (pfn == z->zero_pfn)
		return KT_ZERO_PAGE;
	if (z->have_huge && pfn - z->huge_zero_pfn < KT_HPAGE_NR)
		return KT_ZERO_PAGE;
	return kt_content_kind(page);
}

/* A memfd page with no PTE: the page cache decides. */
static uint8_t kt_cache_kind(const struct kt_mem *m, size_t page,
			     bool resident, bool fallocated)
{
	static __thread uint8_t buf[KT_PAGE];

	if (!resident || fallocated)
		return KT_NONE;
	KT_ASSERT(pread(m->memfd, buf, KT_PAGE, page * KT_PAGE) == KT_PAGE,
		  "pread memfd page %zu: %s", page, strerror(errno));
	return kt_content_kind(buf);
}

void kt_ref_kinds(const struct kt_mem *m, size_t first, size_t n,
		  const uint8_t *falloc, const struct kt_zero_pfns *z,
		  uint8_t *kinds)
{
	uint64_t *pm = calloc(n, sizeof(*pm));
	unsigned char *vec = calloc(n, 1);
	const uint8_t *base = m->hva + first * KT_PAGE;
	size_t i;

	KT_ASSERT(pm && vec, "out of memory");
	kt_pagemap(base, n, pm);
	if (m->memfd >= 0)
		KT_CALL_OK(mincore((void *)base, n * KT_PAGE, vec), "mincore");

	for (i = 0; i < n; i++) {
		if (pm[i] & PM_PRESENT)
			kinds[i] = kt_present_kind(z, pm[i] & PM_PFN_MASK,
						   base + i * KT_PAGE);
		else if (pm[i] & PM_SWAP)
			kinds[i] = KT_NONZERO;
		else if (m->memfd >= 0)
			kinds[i] = kt_cache_kind(m, first + i, vec[i] & 1,
						 falloc && falloc[first + i]);
		else
			kinds[i] = KT_NONE;
	}
	free(pm);
	free(vec);
}

void kt_kinds_count(const uint8_t *kinds, size_t n,
		    uint64_t counts[KT_NR_KINDS])
{
	size_t i;

	memset(counts, 0, KT_NR_KINDS * sizeof(counts[0]));
	for (i = 0; i < n; i++)
		counts[kinds[i]]++;
}

size_t kt_kinds_diff(const char *what, const uint8_t *want,
		     const uint8_t *got, size_t n)
{
	size_t i, diff = 0;

	for (i = 0; i < n; i++) {
		if (want[i] == got[i])
			continue;
		if (diff++ < 10)
			fprintf(stderr, "# %s: page %zu: expected %s, got %s\n",
				what, i, kt_kind_name(want[i]),
				kt_kind_name(got[i]));
	}
	return diff;
}

void kt_kinds_bitmap(const uint8_t *kinds, size_t n, uint64_t *bitmap)
{
	size_t i;

	memset(bitmap, 0, (n + 63) / 64 * sizeof(uint64_t));
	for (i = 0; i < n; i++)
		if (kinds[i] != KT_NONZERO)
			bitmap[i / 64] |= 1ULL << (i % 64);
}
