// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_harvest_bench - the dirty harvest and the deferred dirty-log stop,
 * module against what a VMM does without it, measured in the same run.
 *
 * (a) Harvest + classify. A manual-protect VM has one 256 MiB slot of
 *     anonymous 4 KiB pages with dirty logging; every page holds data (the
 *     host filled it before logging started). The guest then dirties 10%
 *     (and, second table, 50%) of the pages, at seeded random places. The
 *     dirty pages' content: 25% all zero, 75% data (8 random bytes at a
 *     random offset, so a zero check reads about half a page).
 *     Methods, each repeated (manual-protect mode: reading does not clear,
 *     every repetition sees the same dirty state), medians:
 *       KVM_GET_DIRTY_LOG + zero check   the baseline: the bitmap copied
 *                                        out, scanned, each dirty page
 *                                        checked with the helper's
 *                                        vectorised zero check
 *       KMIG_HARVEST + classify          one call: dirty & non-zero and
 *                                        dirty & zero bitmaps
 *     and, for reference, the bitmap alone both ways. The two classified
 *     results must be identical or the program fails.
 *
 * (b) Stopping dirty logging on a THP-backed slot (default 1 GiB): a VM
 *     whose slot KVM mapped with 2 MiB pages, then split by dirty logging.
 *     One VM stops the VMM's way (KVM_SET_USER_MEMORY_REGION, timed on the
 *     caller's path), another through KMIG_LOG_STOP (the ioctl timed; then
 *     the time until the module's netlink event says done, and until one
 *     guest pass brought pages_2m back). VMs are made one after the other
 *     to keep memory low.
 *
 * Usage: kmig_harvest_bench [-r reps] [-s stop-slot MiB] [-S sections ab]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kmig_test.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_logstop.h"
#include "kmod/kmod_nl.h"
#include "base/zero.h"

#define B_SLOT		1
#define B_GPA		(1UL << 30)
#define B_HV_SIZE	(256UL << 20)
#define B_HV_PAGES	(B_HV_SIZE / KT_PAGE)
#define B_MAX_REPS	15

static unsigned int b_reps = 5;

static int b_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double b_median_ms(uint64_t *ns, unsigned int n)
{
	qsort(ns, n, sizeof(*ns), b_cmp);
	return ns[n / 2] / 1e6;
}

/* ---- (a) harvest ---- */

struct b_hv {
	struct kt_vm vm;
	struct kt_mem mem;
	struct kmig_kmod km;
	uint64_t *dirty, *zero, *kvm, *uzero;
	uint64_t nr_dirty, nr_zero;
};

/* Data everywhere, then the guest dirties @pct% of the pages. */
static void b_hv_setup(struct b_hv *b, unsigned int pct, uint64_t seed)
{
	size_t n = B_HV_PAGES * pct / 100, k = 0;
	struct kt_guest_write *w = calloc(n, sizeof(*w));
	uint8_t *mark = calloc(B_HV_PAGES, 1);
	struct kmig_err err = { 0 };
	uint64_t rng = seed;

	KT_ASSERT(w && mark, "calloc");
	kt_vm_create(&b->vm);
	kt_vm_manual_protect(&b->vm, false);
	kt_guest_setup(&b->vm);
	kt_mem_alloc(&b->mem, KT_ANON, B_HV_SIZE);
	for (size_t p = 0; p < B_HV_PAGES; p++) {
		uint64_t r = kt_rand(&rng) | 1;

		memcpy(b->mem.hva + p * KT_PAGE + 8 + (r >> 32) % (KT_PAGE - 16), &r, 8);
	}
	kt_vm_set_slot(&b->vm, B_SLOT, KVM_MEM_LOG_DIRTY_PAGES, B_GPA, B_HV_SIZE, b->mem.hva);
	while (k < n) {
		size_t p = kt_rand(&rng) % B_HV_PAGES;

		if (mark[p])
			continue;
		mark[p] = 1;
		if (k % 4 == 0)		/* a quarter of the dirty pages: zero */
			memset(b->mem.hva + p * KT_PAGE, 0, KT_PAGE);
		w[k++] = (struct kt_guest_write){ B_GPA + p * KT_PAGE, 0 };
	}
	kt_guest_write(&b->vm, w, n);
	b->nr_dirty = n;
	b->nr_zero = (n + 3) / 4;
	b->dirty = calloc(KT_WORDS(B_HV_PAGES), 8);
	b->zero = calloc(KT_WORDS(B_HV_PAGES), 8);
	b->kvm = calloc(KT_WORDS(B_HV_PAGES), 8);
	b->uzero = calloc(KT_WORDS(B_HV_PAGES), 8);
	KT_ASSERT(!kmig_kmod_open(&b->km, NULL, b->vm.fd, &err), "%s", err.msg);
	free(w);
	free(mark);
}

static void b_hv_free(struct b_hv *b)
{
	kmig_kmod_close(&b->km);
	kt_vm_close(&b->vm);
	kt_mem_free(&b->mem);
	free(b->dirty);
	free(b->zero);
	free(b->kvm);
	free(b->uzero);
}

static uint64_t b_module(struct b_hv *b, unsigned int flags)
{
	struct kmig_harvest_range r = {
		.slot = B_SLOT, .num_pages = B_HV_PAGES, .dirty = b->dirty,
		.zero = flags ? b->zero : NULL,
	};
	struct kmig_err err = { 0 };
	uint64_t t0 = kt_now_ns();

	KT_ASSERT(!kmig_harvest(&b->km, &r, 1, flags, 0, NULL, &err), "%s", err.msg);
	return kt_now_ns() - t0;
}

static uint64_t b_user(struct b_hv *b, kmig_zero_fn zero, bool check)
{
	uint64_t t0 = kt_now_ns();

	kt_get_dirty_log(&b->vm, B_SLOT, b->kvm);
	if (!check)
		return kt_now_ns() - t0;
	memset(b->uzero, 0, KT_WORDS(B_HV_PAGES) * 8);
	for (size_t w = 0; w < KT_WORDS(B_HV_PAGES); w++) {
		uint64_t bits = b->kvm[w];

		while (bits) {
			size_t p = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if (zero(b->mem.hva + p * KT_PAGE, KT_PAGE))
				b->uzero[w] |= 1ULL << (p % 64);
		}
	}
	return kt_now_ns() - t0;
}

static void b_verify(struct b_hv *b)
{
	uint64_t nd = 0, nz = 0;

	for (size_t w = 0; w < KT_WORDS(B_HV_PAGES); w++) {
		KT_ASSERT(b->zero[w] == b->uzero[w] && (b->dirty[w] | b->zero[w]) == b->kvm[w] &&
			  !(b->dirty[w] & b->zero[w]),
			  "word %zu: module dirty %#llx zero %#llx, user dirty %#llx zero %#llx", w,
			  (unsigned long long)b->dirty[w], (unsigned long long)b->zero[w],
			  (unsigned long long)b->kvm[w], (unsigned long long)b->uzero[w]);
		nd += __builtin_popcountll(b->kvm[w]);
		nz += __builtin_popcountll(b->zero[w]);
	}
	KT_ASSERT(nd == b->nr_dirty && nz == b->nr_zero, "%llu dirty, %llu zero; expected %llu, %llu",
		  (unsigned long long)nd, (unsigned long long)nz,
		  (unsigned long long)b->nr_dirty, (unsigned long long)b->nr_zero);
}

static void bench_harvest(unsigned int pct)
{
	enum { M_USER, M_MODULE, M_USER_BITS, M_MODULE_BITS, M_NR };
	static const char *const names[M_NR] = {
		"KVM_GET_DIRTY_LOG + zero check", "KMIG_HARVEST + classify",
		"KVM_GET_DIRTY_LOG (bitmap only)", "KMIG_HARVEST (bitmap only)",
	};
	uint64_t ns[M_NR][B_MAX_REPS];
	kmig_zero_fn zero = kmig_zero_best();
	struct b_hv b = { 0 };
	double ms[M_NR];

	b_hv_setup(&b, pct, 1000 + pct);
	for (unsigned int r = 0; r < b_reps; r++) {
		ns[M_USER][r] = b_user(&b, zero, true);
		ns[M_MODULE][r] = b_module(&b, KMIG_HARVEST_F_CLASSIFY);
		b_verify(&b);
		ns[M_USER_BITS][r] = b_user(&b, zero, false);
		ns[M_MODULE_BITS][r] = b_module(&b, 0);
	}
	printf("\n(a) %lu MiB slot, %u%% dirty (%llu pages: %llu zero, %llu data), zero check %s, "
	       "median of %u\n", B_HV_SIZE >> 20, pct, (unsigned long long)b.nr_dirty,
	       (unsigned long long)b.nr_zero, (unsigned long long)(b.nr_dirty - b.nr_zero),
	       kmig_zero_best_name(), b_reps);
	printf("| method                            |   time ms | dirty pages/s | vs baseline |\n");
	printf("|-----------------------------------|-----------|---------------|-------------|\n");
	for (int m = 0; m < M_NR; m++)
		ms[m] = b_median_ms(ns[m], b_reps);
	for (int m = 0; m < M_NR; m++)
		printf("| %-33s | %9.3f | %13.0f | %10.2fx |\n", names[m], ms[m],
		       b.nr_dirty / (ms[m] / 1e3), ms[m < 2 ? M_USER : M_USER_BITS] / ms[m]);
	b_hv_free(&b);
}

/* ---- (b) stopping dirty logging ---- */

struct b_thp {
	struct kt_vm vm;
	struct kt_mem mem;
	size_t size, regions;
	struct kt_guest_write *w;
};

static uint64_t b_guest_pass(struct b_thp *t, uint8_t val)
{
	uint64_t t0 = kt_now_ns();

	for (size_t i = 0; i < t->regions; i++)
		t->w[i] = (struct kt_guest_write){ B_GPA + i * KT_HPAGE + 128, val };
	kt_guest_write(&t->vm, t->w, t->regions);
	return kt_now_ns() - t0;
}

/* Huge pages mapped, then dirty logging on: split. */
static void b_thp_setup(struct b_thp *t, size_t size)
{
	t->size = size;
	t->regions = size / KT_HPAGE;
	t->w = calloc(t->regions, sizeof(*t->w));
	kt_vm_create(&t->vm);
	kt_guest_setup(&t->vm);
	kt_mem_alloc(&t->mem, KT_ANON_THP, size);
	memset(t->mem.hva, 1, size);
	kt_vm_set_slot(&t->vm, B_SLOT, 0, B_GPA, size, t->mem.hva);
	b_guest_pass(t, 2);
	kt_vm_set_slot(&t->vm, B_SLOT, KVM_MEM_LOG_DIRTY_PAGES, B_GPA, size, t->mem.hva);
	b_guest_pass(t, 3);
	KT_ASSERT(kt_vm_stat(&t->vm, "pages_2m") == 0, "pages_2m %llu with dirty logging",
		  (unsigned long long)kt_vm_stat(&t->vm, "pages_2m"));
}

static void b_thp_free(struct b_thp *t)
{
	kt_vm_close(&t->vm);
	kt_mem_free(&t->mem);
	free(t->w);
}

struct b_stop {
	uint64_t caller_ns;	/* on the caller's path */
	uint64_t done_ns;	/* request to done (deferred) */
	uint64_t kvm_ns;	/* KVM's own time (deferred: in the worker) */
	uint64_t back_ns;	/* request to huge pages back after a guest pass */
	uint64_t pages_2m;
};

static void b_stop_sync(size_t size, struct b_stop *s)
{
	struct b_thp t;
	uint64_t t0;

	b_thp_setup(&t, size);
	t0 = kt_now_ns();
	kt_vm_set_slot(&t.vm, B_SLOT, 0, B_GPA, size, t.mem.hva);
	s->caller_ns = s->kvm_ns = s->done_ns = kt_now_ns() - t0;
	b_guest_pass(&t, 4);
	s->back_ns = kt_now_ns() - t0;
	s->pages_2m = kt_vm_stat(&t.vm, "pages_2m");
	b_thp_free(&t);
}

static void b_stop_deferred(size_t size, struct b_stop *s)
{
	struct kmig_logstop_result res;
	struct kmig_err err = { 0 };
	struct kmig_nl_event ev;
	struct kmig_kmod km;
	struct kmig_nl *nl;
	uint32_t slot = B_SLOT;
	struct b_thp t;
	uint64_t t0;
	int ret;

	b_thp_setup(&t, size);
	KT_ASSERT(!kmig_nl_open(&nl, true, &err), "%s", err.msg);
	KT_ASSERT(!kmig_kmod_open(&km, NULL, t.vm.fd, &err), "%s", err.msg);
	t0 = kt_now_ns();
	KT_ASSERT(!kmig_logstop_request(&km, &slot, 1, NULL, &res, &err), "%s", err.msg);
	s->caller_ns = kt_now_ns() - t0;
	for (;;) {
		ret = kmig_nl_event_next(nl, 30000, &ev, &err);
		KT_ASSERT(ret > 0, "no stop event: %s", ret ? err.msg : "timeout");
		if (ev.type == KMIG_NL_EV_STOP && ev.stop.id == res.id)
			break;
		kmig_nl_event_free(&ev);
	}
	s->done_ns = kt_now_ns() - t0;
	KT_ASSERT(ev.stop.nr_done == 1, "stop: %u done", ev.stop.nr_done);
	s->kvm_ns = ev.stop.work_ns;
	kmig_nl_event_free(&ev);
	b_guest_pass(&t, 4);
	s->back_ns = kt_now_ns() - t0;
	s->pages_2m = kt_vm_stat(&t.vm, "pages_2m");
	kmig_kmod_close(&km);
	kmig_nl_close(nl);
	b_thp_free(&t);
}

static void bench_stop(size_t size)
{
	uint64_t sync[4][B_MAX_REPS], def[4][B_MAX_REPS], p2m_sync = 0, p2m_def = 0;
	struct b_stop s;
	double ms[2][4];

	for (unsigned int r = 0; r < b_reps; r++) {
		b_stop_sync(size, &s);
		sync[0][r] = s.caller_ns; sync[1][r] = s.done_ns;
		sync[2][r] = s.kvm_ns; sync[3][r] = s.back_ns;
		p2m_sync = s.pages_2m;
		b_stop_deferred(size, &s);
		def[0][r] = s.caller_ns; def[1][r] = s.done_ns;
		def[2][r] = s.kvm_ns; def[3][r] = s.back_ns;
		p2m_def = s.pages_2m;
	}
	for (int i = 0; i < 4; i++) {
		ms[0][i] = b_median_ms(sync[i], b_reps);
		ms[1][i] = b_median_ms(def[i], b_reps);
	}
	printf("\n(b) stop dirty logging, %zu MiB THP slot (%zu huge pages), median of %u\n",
	       size >> 20, size / KT_HPAGE, b_reps);
	printf("| method                     | caller ms | done ms | KVM ms | 2M back ms | pages_2m |\n");
	printf("|----------------------------|-----------|---------|--------|------------|----------|\n");
	printf("| KVM_SET_USER_MEMORY_REGION | %9.3f | %7.1f | %6.1f | %10.1f | %8llu |\n",
	       ms[0][0], ms[0][1], ms[0][2], ms[0][3], (unsigned long long)p2m_sync);
	printf("| KMIG_LOG_STOP (deferred)   | %9.3f | %7.1f | %6.1f | %10.1f | %8llu |\n",
	       ms[1][0], ms[1][1], ms[1][2], ms[1][3], (unsigned long long)p2m_def);
	printf("caller's path: deferred %.1fx shorter than synchronous\n", ms[0][0] / ms[1][0]);
}

int main(int argc, char **argv)
{
	const char *sections = "ab";
	size_t stop_mib = 1024;
	int c;

	while ((c = getopt(argc, argv, "r:s:S:")) != -1) {
		switch (c) {
		case 'r': b_reps = atoi(optarg); break;
		case 's': stop_mib = strtoul(optarg, NULL, 0); break;
		case 'S': sections = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-r reps] [-s stop-slot MiB] [-S ab]\n", argv[0]);
			return 2;
		}
	}
	if (!b_reps || b_reps > B_MAX_REPS || !stop_mib || stop_mib % 2) {
		fprintf(stderr, "reps 1..%d, stop slot an even number of MiB\n", B_MAX_REPS);
		return 2;
	}
	if (kt_env_missing()) {
		printf("1..0 # SKIP %s\n", kt_env_missing());
		return 4;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("kmig_harvest_bench: reps %u\n", b_reps);
	if (strchr(sections, 'a')) {
		bench_harvest(10);
		bench_harvest(50);
	}
	if (strchr(sections, 'b')) {
		b_reps = b_reps > 3 ? 3 : b_reps;
		bench_stop(stop_mib << 20);
	}
	return 0;
}
