// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_zscan_bench - how fast are the zero pages of a memslot found?
 *
 * A KVM VM gets one slot (default 1 GiB) of fresh memory, 10% of whose
 * pages (4 KiB pages, MADV_NOHUGEPAGE) are touched: runs of 1 to 64 pages at random places (seeded); of
 * the touched pages 90% hold data (8 random bytes at a random offset, so a
 * check reads half a page on average) and 10% are written with zeros. Then
 * three methods classify every page as zero or not, in the same run:
 *
 *   read-and-compare  userspace reads every page through the mapping and
 *                     compares it with zero (the baseline: what a VMM does)
 *   pagemap + read    userspace reads /proc/self/pagemap and compares only
 *                     the present pages
 *   kmig zero scan    KMIG_ZERO_SCAN (page-table walk in the module)
 *
 * Each repetition uses fresh memory, and the methods run in that order,
 * because read-and-compare changes the memory it reads: on anonymous
 * memory it maps the zero page everywhere, on memfd memory it allocates
 * every page (shmem fills holes on read faults). The three bitmaps must be
 * identical or the program fails. Times are medians over the repetitions.
 *
 * A second table shows the cost of a big untouched slot (MAP_NORESERVE,
 * default 16 GiB): the module skips empty page-table levels whole, while
 * pagemap still produces one entry per page (read-and-compare would read
 * every page and is left out).
 *
 * A third table (-z) scans memory that is populated but zero, where
 * userspace must read every page to know: pagemap (or SEEK_DATA, the
 * helper's fallback on memfd) only says "populated". Four kinds of it,
 * each a fresh slot of -s MiB touched whole before the scans:
 *
 *   anon, read-faulted     4 KiB pages read once: the shared zero page
 *                          everywhere (is_zero_pfn: the module reads none)
 *   thp, read-faulted      MADV_HUGEPAGE, one byte read per 2 MiB: the
 *                          huge zero page (the module reads it once per
 *                          session, to confirm it, then never again)
 *   thp, 1 byte per 2 MiB  MADV_HUGEPAGE, one byte written per 2 MiB: a
 *                          real huge page of 511 zero pages and one data
 *                          page: both sides read every page
 *   memfd, read-faulted    MAP_SHARED memfd read once per 4 KiB: shmem
 *                          allocates and clears a page per read fault, so
 *                          both sides read every page
 *
 * against pagemap plus the helper's own zero check (kmig_zero_best(), the
 * sender threads' check). Both bitmaps must agree with what was written.
 *
 * Usage: kmig_zscan_bench [-s MiB] [-t percent] [-r reps] [-b anon|memfd|all]
 *                         [-S sparse GiB, 0: skip] [-z 0|1]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/zero.h"
#include "kmig_test.h"

#define KT_BENCH_SLOT	1
#define KT_BENCH_GPA	(4UL << 30)
#define KT_MAX_REPS	15

enum { M_READ, M_PAGEMAP, M_MODULE, M_NR };

static const char *const kt_method_names[M_NR] = {
	"read-and-compare (user)", "pagemap + read (user)",
	"kmig zero scan (module)",
};

struct kt_bench {
	size_t size, npages;
	unsigned int touch_pct, reps;
	struct kt_vm vm;
	int kfd;
	uint64_t *bitmap[M_NR];
	uint64_t ns[M_NR][KT_MAX_REPS];
	uint64_t touched, data;
	uint8_t *mark;		/* pages touched in this repetition */
};

static const uint8_t kt_zero[KT_PAGE];

static void kt_set(uint64_t *bm, size_t i)
{
	bm[i / 64] |= 1ULL << (i % 64);
}

static void kt_touch(struct kt_bench *b, struct kt_mem *m, uint64_t seed)
{
	uint64_t rng = seed, want = b->npages * b->touch_pct / 100;

	b->touched = b->data = 0;
	memset(b->mark, 0, b->npages);
	while (b->touched < want) {
		size_t run = 1 + kt_rand(&rng) % 64;
		size_t first = kt_rand(&rng) % b->npages;

		for (size_t p = first; p < first + run && p < b->npages; p++) {
			uint8_t *page = m->hva + p * KT_PAGE;
			uint64_t r = kt_rand(&rng);

			if (b->mark[p])
				continue;
			b->mark[p] = 1;
			b->touched++;
			if (r % 10 == 0) {
				memset(page, 0, KT_PAGE);
				continue;
			}
			r |= 1;		/* at least one non-zero byte */
			memcpy(page + (r >> 32) % (KT_PAGE - 8), &r, 8);
			b->data++;
		}
	}
}

static void kt_method_read(struct kt_bench *b, struct kt_mem *m, uint64_t *bm)
{
	for (size_t i = 0; i < b->npages; i++)
		if (!memcmp(m->hva + i * KT_PAGE, kt_zero, KT_PAGE))
			kt_set(bm, i);
}

/* The first table's user check: what a VMM without the library does. */
static bool kt_memcmp_zero(const void *page, size_t len)
{
	return !memcmp(page, kt_zero, len);
}

/* pagemap, then @zero on every present page. */
static void kt_method_pagemap(struct kt_bench *b, struct kt_mem *m,
			      uint64_t *bm, kmig_zero_fn zero)
{
	enum { CHUNK = 4096 };
	static uint64_t pm[CHUNK];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	KT_ASSERT(fd >= 0, "open pagemap: %s", strerror(errno));
	for (size_t i = 0; i < b->npages; i += CHUNK) {
		size_t n = b->npages - i < CHUNK ? b->npages - i : CHUNK;
		off_t off = ((uintptr_t)m->hva / KT_PAGE + i) * 8;

		KT_ASSERT(pread(fd, pm, n * 8, off) == (ssize_t)(n * 8),
			  "pagemap: %s", strerror(errno));
		for (size_t j = 0; j < n; j++) {
			/* Not present (and not swapped): never populated. */
			if (!(pm[j] >> 62) || zero(m->hva + (i + j) * KT_PAGE, KT_PAGE))
				kt_set(bm, i + j);
		}
	}
	close(fd);
}

static void kt_method_module(struct kt_bench *b, uint64_t *bm)
{
	struct kt_scan s;

	kmig_scan_range(b->kfd, KT_BENCH_SLOT, 0, b->npages, 0, 0, bm, &s);
	KT_ASSERT(s.nr_nonzero == b->data, "module: %llu non-zero pages, %llu written",
		  (unsigned long long)s.nr_nonzero, (unsigned long long)b->data);
}

static void kt_run_rep(struct kt_bench *b, enum kt_backing backing,
		       unsigned int rep)
{
	size_t words = (b->npages + 63) / 64;
	struct kt_mem m;
	uint64_t t0;

	kt_mem_alloc(&m, backing, b->size);
	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, b->size, m.hva);
	kt_touch(b, &m, 0x5eed + rep);
	for (int i = 0; i < M_NR; i++)
		memset(b->bitmap[i], 0, words * 8);

	/* Non-destructive methods first: see the top comment. */
	t0 = kt_now_ns();
	kt_method_module(b, b->bitmap[M_MODULE]);
	b->ns[M_MODULE][rep] = kt_now_ns() - t0;
	t0 = kt_now_ns();
	kt_method_pagemap(b, &m, b->bitmap[M_PAGEMAP], kt_memcmp_zero);
	b->ns[M_PAGEMAP][rep] = kt_now_ns() - t0;
	t0 = kt_now_ns();
	kt_method_read(b, &m, b->bitmap[M_READ]);
	b->ns[M_READ][rep] = kt_now_ns() - t0;

	for (int i = 0; i < M_NR; i++)
		KT_ASSERT(!memcmp(b->bitmap[i], b->bitmap[M_READ], words * 8),
			  "%s and %s disagree (%s, repetition %u)",
			  kt_method_names[i], kt_method_names[M_READ],
			  kt_backing_name(backing), rep);

	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, 0, m.hva);
	kt_mem_free(&m);
}

static int kt_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t kt_median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), kt_cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void kt_bench_backing(struct kt_bench *b, enum kt_backing backing)
{
	uint64_t med[M_NR];

	for (unsigned int rep = 0; rep < b->reps; rep++)
		kt_run_rep(b, backing, rep);
	for (int i = 0; i < M_NR; i++)
		med[i] = kt_median(b->ns[i], b->reps);
	for (int i = 0; i < M_NR; i++)
		printf("| %-7s | %-25s | %9.1f | %7.2f | %7.2fx |\n",
		       kt_backing_name(backing), kt_method_names[i],
		       med[i] / 1e6, (double)b->size / KT_GIB / (med[i] / 1e9),
		       (double)med[M_READ] / med[i]);
	printf("| %-7s | pages %zu, touched %llu, data %llu: all methods agree |\n",
	       kt_backing_name(backing),
	       b->npages, (unsigned long long)b->touched,
	       (unsigned long long)b->data);
	fflush(stdout);
}

/* An untouched slot: every page is zero, without a read. */
static void kt_bench_sparse(struct kt_bench *b, size_t gib)
{
	size_t npages = gib * KT_GIB / KT_PAGE, words = (npages + 63) / 64;
	uint64_t *bm = calloc(words, 8), ns[2][KT_MAX_REPS], med[2];
	struct kt_bench sb = *b;
	struct kt_mem m;
	struct kt_scan s;

	KT_ASSERT(bm, "out of memory");
	kt_mem_alloc(&m, KT_SPARSE, gib * KT_GIB);
	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, m.size, m.hva);
	sb.npages = npages;
	for (unsigned int rep = 0; rep < b->reps; rep++) {
		uint64_t t0 = kt_now_ns();

		kmig_scan_range(b->kfd, KT_BENCH_SLOT, 0, npages, 0, 0, bm, &s);
		ns[0][rep] = kt_now_ns() - t0;
		KT_ASSERT(s.nr_none == npages, "module: %llu of %zu pages none",
			  (unsigned long long)s.nr_none, npages);
		memset(bm, 0, words * 8);
		t0 = kt_now_ns();
		kt_method_pagemap(&sb, &m, bm, kt_memcmp_zero);
		ns[1][rep] = kt_now_ns() - t0;
		for (size_t i = 0; i < words; i++)
			KT_ASSERT(bm[i] == ~0ULL, "pagemap: word %zu %#llx", i,
				  (unsigned long long)bm[i]);
	}
	med[0] = kt_median(ns[0], b->reps);
	med[1] = kt_median(ns[1], b->reps);
	printf("\nUntouched %zu GiB slot (MAP_NORESERVE), median of %u\n\n",
	       gib, b->reps);
	printf("| method                    |   time ms |    GiB/s | vs pagemap |\n");
	printf("|---------------------------|-----------|----------|------------|\n");
	printf("| %-25s | %9.1f | %8.1f | %9.2fx |\n", kt_method_names[M_PAGEMAP],
	       med[1] / 1e6, gib / (med[1] / 1e9), 1.0);
	printf("| %-25s | %9.1f | %8.1f | %9.2fx |\n", kt_method_names[M_MODULE],
	       med[0] / 1e6, gib / (med[0] / 1e9), (double)med[1] / med[0]);
	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, 0, m.hva);
	kt_mem_free(&m);
	free(bm);
}

/* Populated but zero memory (see the top comment, "A third table"). */
enum kt_pop { P_ANON_READ, P_THP_READ, P_THP_BYTE, P_MEMFD_READ, P_NR };

static const struct {
	const char *name;
	enum kt_backing backing;
	size_t stride;		/* touch one byte per stride */
	bool write;
} kt_pop_kinds[P_NR] = {
	[P_ANON_READ] = { "anon, read-faulted", KT_ANON, KT_PAGE, false },
	[P_THP_READ] = { "thp, read-faulted", KT_ANON_THP, KT_HPAGE, false },
	[P_THP_BYTE] = { "thp, 1 byte per 2 MiB", KT_ANON_THP, KT_HPAGE, true },
	[P_MEMFD_READ] = { "memfd, read-faulted", KT_MEMFD, KT_PAGE, false },
};

/* Touches every stride of @m; returns the pages that hold data. */
static uint64_t kt_pop_touch(struct kt_mem *m, enum kt_pop k)
{
	volatile uint8_t *p = m->hva;
	uint64_t data = 0;
	uint8_t sum = 0;

	for (size_t off = 0; off < m->size; off += kt_pop_kinds[k].stride) {
		if (kt_pop_kinds[k].write) {
			p[off + 7] = 1;
			data++;
		} else {
			sum += p[off];
		}
	}
	KT_ASSERT(!sum, "%s: read non-zero bytes", kt_pop_kinds[k].name);
	return data;
}

static void kt_pop_rep(struct kt_bench *b, enum kt_pop k, unsigned int rep,
		       uint64_t ns[2][KT_MAX_REPS], struct kt_scan *s)
{
	size_t words = (b->npages + 63) / 64;
	uint64_t data, t0;
	struct kt_mem m;

	kt_mem_alloc(&m, kt_pop_kinds[k].backing, b->size);
	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, b->size, m.hva);
	data = kt_pop_touch(&m, k);
	memset(b->bitmap[M_MODULE], 0, words * 8);
	memset(b->bitmap[M_PAGEMAP], 0, words * 8);
	memset(s, 0, sizeof(*s));
	t0 = kt_now_ns();
	kmig_scan_range(b->kfd, KT_BENCH_SLOT, 0, b->npages, 0, 0, b->bitmap[M_MODULE], s);
	ns[0][rep] = kt_now_ns() - t0;
	t0 = kt_now_ns();
	/* the helper's own zero check, as its sender threads use it */
	kt_method_pagemap(b, &m, b->bitmap[M_PAGEMAP], kmig_zero_best());
	ns[1][rep] = kt_now_ns() - t0;
	KT_ASSERT(s->nr_nonzero == data && s->nr_none == 0,
		  "%s: module found %llu non-zero and %llu unpopulated pages, %llu written",
		  kt_pop_kinds[k].name, (unsigned long long)s->nr_nonzero,
		  (unsigned long long)s->nr_none, (unsigned long long)data);
	KT_ASSERT(!memcmp(b->bitmap[M_MODULE], b->bitmap[M_PAGEMAP], words * 8),
		  "%s: module and pagemap + zero check disagree", kt_pop_kinds[k].name);
	kt_vm_set_slot(&b->vm, KT_BENCH_SLOT, 0, KT_BENCH_GPA, 0, m.hva);
	kt_mem_free(&m);
}

static void kt_bench_populated(struct kt_bench *b)
{
	printf("\nPopulated zero memory, %zu MiB slot, median of %u; user: pagemap + %s zero "
	       "check\n\n", b->size / KT_MIB, b->reps, kmig_zero_best_name());
	printf("| memory                | user ms | module ms | vs user | module: zero page "
	       "| zero data | non-zero |\n");
	printf("|-----------------------|---------|-----------|---------|------------------"
	       "|-----------|----------|\n");
	for (int k = 0; k < P_NR; k++) {
		uint64_t ns[2][KT_MAX_REPS], med[2];
		struct kt_scan s;

		for (unsigned int rep = 0; rep < b->reps; rep++)
			kt_pop_rep(b, k, rep, ns, &s);
		med[0] = kt_median(ns[0], b->reps);
		med[1] = kt_median(ns[1], b->reps);
		printf("| %-21s | %7.1f | %9.1f | %6.2fx | %16llu | %9llu | %8llu |\n",
		       kt_pop_kinds[k].name, med[1] / 1e6, med[0] / 1e6,
		       (double)med[0] / med[1], (unsigned long long)s.nr_zero_page,
		       (unsigned long long)s.nr_zero_data, (unsigned long long)s.nr_nonzero);
		fflush(stdout);
	}
}

static void kt_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-s MiB] [-t percent] [-r reps (1-%d)] "
		"[-b anon|memfd|all] [-S sparse GiB] [-z 0|1]\n", prog, KT_MAX_REPS);
	exit(2);
}

int main(int argc, char **argv)
{
	struct kt_bench b = { .size = KT_GIB, .touch_pct = 10, .reps = 3 };
	const char *backing = "all", *missing = kt_env_missing();
	size_t sparse_gib = 16;
	int opt, populated = 1;

	while ((opt = getopt(argc, argv, "s:t:r:b:S:z:")) != -1) {
		switch (opt) {
		case 's': b.size = strtoull(optarg, NULL, 0) * KT_MIB; break;
		case 't': b.touch_pct = atoi(optarg); break;
		case 'r': b.reps = atoi(optarg); break;
		case 'b': backing = optarg; break;
		case 'S': sparse_gib = strtoull(optarg, NULL, 0); break;
		case 'z': populated = atoi(optarg); break;
		default: kt_usage(argv[0]);
		}
	}
	if (!b.size || b.touch_pct > 100 || !b.reps || b.reps > KT_MAX_REPS ||
	    (strcmp(backing, "anon") && strcmp(backing, "memfd") &&
	     strcmp(backing, "all")))
		kt_usage(argv[0]);
	if (missing) {
		printf("kmig_zscan_bench: SKIP: %s\n", missing);
		return 4;
	}

	b.npages = b.size / KT_PAGE;
	for (int i = 0; i < M_NR; i++) {
		b.bitmap[i] = calloc((b.npages + 63) / 64, 8);
		KT_ASSERT(b.bitmap[i], "out of memory");
	}
	b.mark = malloc(b.npages);
	KT_ASSERT(b.mark, "out of memory");
	kt_vm_create(&b.vm);
	b.kfd = kmig_open();
	kmig_attach(b.kfd, b.vm.fd, NULL);

	printf("Zero scan of a %zu MiB slot, %u%% of pages touched (runs of 1-64 "
	       "pages; 90%% data, 10%% written zero), median of %u, fresh memory each\n\n",
	       b.size / KT_MIB, b.touch_pct, b.reps);
	printf("| backing | method                    |   time ms |   GiB/s | vs read  |\n");
	printf("|---------|---------------------------|-----------|---------|----------|\n");
	if (strcmp(backing, "memfd"))
		kt_bench_backing(&b, KT_ANON);
	if (strcmp(backing, "anon"))
		kt_bench_backing(&b, KT_MEMFD);
	if (sparse_gib)
		kt_bench_sparse(&b, sparse_gib);
	if (populated)
		kt_bench_populated(&b);

	close(b.kfd);
	kt_vm_close(&b.vm);
	return 0;
}
