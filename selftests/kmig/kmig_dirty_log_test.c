// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_dirty_log_test - KMIG_HARVEST against what a guest really wrote,
 * in the style of KVM's dirty_log_test.
 *
 * Every test uses a manual-protect VM with three dirty-logging slots of
 * different backings (anonymous 4 KiB, memfd, THP; kt_dvm_create()). The
 * test process is the VMM: it clears with KVM_CLEAR_DIRTY_LOG.
 *
 * concurrent: a guest on its own vCPU thread keeps writing the iteration
 * number into the first 4 bytes of pseudo-random pages of all three slots
 * (and zero instead, 1 write in 16, which makes the page all zero). Each of
 * 40 iterations, while the guest runs, the test harvests all slots in one
 * call through the library (kmig_harvest(), KMIG_HARVEST_F_CLASSIFY) and
 * follows the rule of the uapi: it clears exactly the dirty-and-non-zero
 * bits, then reads those pages into a "destination" copy; dirty-and-zero
 * pages become zero in the copy and stay dirty. Then it pauses the guest
 * and checks:
 *   - a page harvested as dirty and non-zero holds, once the guest is
 *     paused, the current or the previous iteration, or 0 (zeroed since);
 *     at the time of the copy it may still hold an older value: KVM sets
 *     the bit when the write faults, before the store lands, and the
 *     clear then makes the store fault (and set the bit) again;
 *   - no page is missed: every page either equals the destination copy or
 *     has its bit set in KVM's own bitmap (KVM_GET_DIRTY_LOG), i.e. will
 *     be reported by the next harvest;
 *   - the module's plain harvest and KVM_GET_DIRTY_LOG agree bit for bit;
 *     the module's classified harvest splits them exactly by content.
 * After the last iteration, a final harvest with the guest stopped makes
 * the destination equal the source for every page.
 *
 * identical: two identical VMs get the same guest writes (data and zero
 * bytes, seeded) over several rounds; the module's harvest of one and
 * KVM_GET_DIRTY_LOG of the other agree bit for bit, and with the set of
 * pages the guest wrote; both are cleared after each round.
 *
 * fused: the classification against content and kind: pages written with
 * data, zeroed by the guest, written with zero for the first time, and
 * written then zapped by the host (MADV_DONTNEED / hole punch) land in the
 * right bitmap; KMIG_HARVEST_F_NO_READ; pages not dirty are never
 * reported.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kmod/kmod_harvest.h"

#define T_ITERATIONS	40
#define T_MIN_WRITES	256	/* guest writes per iteration, at least */

static uint32_t t_val(const struct kt_dvm *d, uint64_t p)
{
	return *(volatile uint32_t *)kt_dvm_page(d, p);
}

static bool t_test(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static uint64_t t_weight(const uint64_t *bm, uint64_t n)
{
	uint64_t w = 0;

	for (uint64_t k = 0; k < KT_WORDS(n); k++)
		w += __builtin_popcountll(bm[k]);
	return w;
}

static bool t_page_zero(const struct kt_dvm *d, uint64_t p)
{
	static const uint8_t zero[KT_PAGE];

	return !memcmp(kt_dvm_page(d, p), zero, KT_PAGE);
}

/* Bitmaps per slot, and the harvest ranges pointing at them. */
struct t_maps {
	uint64_t *dirty[KT_DSLOTS];
	uint64_t *zero[KT_DSLOTS];
	struct kmig_harvest_range r[KT_DSLOTS];
};

static void t_maps_init(struct t_maps *m, const struct kt_dvm *d, bool classify)
{
	for (int i = 0; i < KT_DSLOTS; i++) {
		size_t words = KT_WORDS(d->npages[i]);

		m->dirty[i] = calloc(words, 8);
		m->zero[i] = calloc(words, 8);
		KT_ASSERT(m->dirty[i] && m->zero[i], "calloc");
		m->r[i] = (struct kmig_harvest_range){
			.slot = d->slot[i], .num_pages = d->npages[i],
			.dirty = m->dirty[i], .zero = classify ? m->zero[i] : NULL,
		};
	}
}

static void t_maps_free(struct t_maps *m)
{
	for (int i = 0; i < KT_DSLOTS; i++) {
		free(m->dirty[i]);
		free(m->zero[i]);
	}
}

static void t_harvest(struct kmig_kmod *km, struct t_maps *m, unsigned int flags)
{
	struct kmig_err err = { 0 };
	int ret = kmig_harvest(km, m->r, KT_DSLOTS, flags, 0, NULL, &err);

	KT_ASSERT(ret == 0, "kmig_harvest: %s", err.msg);
}

/* KVM's bitmap of each slot, read with the guest stopped. */
static void t_kvm_bitmaps(struct kt_dvm *d, uint64_t **kvm)
{
	for (int i = 0; i < KT_DSLOTS; i++)
		kt_get_dirty_log(&d->vm, d->slot[i], kvm[i]);
}

FIXTURE(dirty) {
	struct kt_dvm d;
	struct kmig_kmod km;
};

FIXTURE_SETUP(dirty)
{
	struct kmig_err err = { 0 };

	kt_dvm_create(&self->d, false);
	ASSERT_EQ(0, kmig_kmod_open(&self->km, NULL, self->d.vm.fd, &err))
		TH_LOG("%s", err.msg);
	ASSERT_TRUE(self->km.vm_flags & KMIG_VM_F_MANUAL_PROTECT);
}

FIXTURE_TEARDOWN(dirty)
{
	kmig_kmod_close(&self->km);
	kt_dvm_destroy(&self->d);
}

struct t_concurrent {
	struct kt_dvm *d;
	struct kmig_kmod *km;
	struct t_maps run;	/* harvest while the guest runs */
	struct t_maps plain;	/* module, no classification, guest stopped */
	struct t_maps cls;	/* module, classified, guest stopped */
	uint64_t *kvm[KT_DSLOTS];
	uint32_t *dest;		/* what the "destination" has of each page */
	uint8_t *sent;		/* harvested as dirty and non-zero this round */
	uint64_t copied, zeroed;
};

/* Clear the data pages' bits, then read them; zero pages stay dirty. */
static void t_send_round(struct t_concurrent *c, uint32_t it)
{
	struct kt_dvm *d = c->d;
	uint64_t base = 0;

	for (int i = 0; i < KT_DSLOTS; base += d->npages[i], i++) {
		kt_clear_dirty_log(&d->vm, d->slot[i], 0, d->npages[i],
				   c->run.dirty[i]);
		for (uint64_t j = 0; j < d->npages[i]; j++) {
			uint64_t p = base + j;
			uint32_t v;

			if (t_test(c->run.zero[i], j)) {
				c->dest[p] = 0;
				c->zeroed++;
			}
			c->sent[p] = t_test(c->run.dirty[i], j);
			if (!c->sent[p])
				continue;
			v = t_val(d, p);
			c->dest[p] = v;
			c->copied++;
		}
	}
}

/* With the guest stopped: the module and KVM agree; nothing is missed. */
static uint64_t t_check_stopped(struct t_concurrent *c, uint32_t it)
{
	struct kt_dvm *d = c->d;
	uint64_t base = 0, missed = 0;

	t_kvm_bitmaps(d, c->kvm);
	t_harvest(c->km, &c->plain, 0);
	t_harvest(c->km, &c->cls, KMIG_HARVEST_F_CLASSIFY);
	for (int i = 0; i < KT_DSLOTS; base += d->npages[i], i++) {
		size_t words = KT_WORDS(d->npages[i]);

		KT_ASSERT(!memcmp(c->kvm[i], c->plain.dirty[i], words * 8),
			  "iteration %u slot %u: module harvest != KVM_GET_DIRTY_LOG",
			  it, d->slot[i]);
		for (uint64_t j = 0; j < d->npages[i]; j++) {
			uint64_t p = base + j;
			bool dirty = t_test(c->kvm[i], j);
			bool z = t_test(c->cls.zero[i], j);

			KT_ASSERT(z + t_test(c->cls.dirty[i], j) == dirty,
				  "page %llu: classified %d/%d, dirty %d",
				  (unsigned long long)p, z, t_test(c->cls.dirty[i], j), dirty);
			KT_ASSERT(!dirty || z == t_page_zero(d, p),
				  "page %llu classified %s but is %s", (unsigned long long)p,
				  z ? "zero" : "non-zero", z ? "not zero" : "zero");
			KT_ASSERT(t_val(d, p) <= it, "page %llu holds %u > iteration %u",
				  (unsigned long long)p, t_val(d, p), it);
			KT_ASSERT(!c->sent[p] || t_val(d, p) == it || t_val(d, p) == it - 1 ||
				  !t_val(d, p),
				  "iteration %u: page %llu harvested dirty holds %u, expected %u, %u or 0",
				  it, (unsigned long long)p, t_val(d, p), it, it - 1);
			if (!dirty && t_val(d, p) != c->dest[p]) {
				if (missed++ < 10)
					fprintf(stderr, "MISSED page %llu: holds %u, sent %u, not dirty\n",
						(unsigned long long)p, t_val(d, p), c->dest[p]);
			}
		}
	}
	return missed;
}

/* Waits until the guest made @n more writes (bounded: the guest may be slow). */
static void t_let_guest_write(struct kt_loop *l, uint32_t n)
{
	uint32_t start = kt_loop_writes(l);

	usleep(20000);
	for (int i = 0; i < 500 && kt_loop_writes(l) - start < n; i++)
		usleep(10000);
}

TEST_F_TIMEOUT(dirty, concurrent, 300)
{
	struct t_concurrent c = { .d = &self->d, .km = &self->km };
	uint64_t missed = 0, writes;
	struct kt_loop loop;

	t_maps_init(&c.run, &self->d, true);
	t_maps_init(&c.plain, &self->d, false);
	t_maps_init(&c.cls, &self->d, true);
	for (int i = 0; i < KT_DSLOTS; i++)
		c.kvm[i] = calloc(KT_WORDS(self->d.npages[i]), 8);
	c.dest = calloc(self->d.total, sizeof(*c.dest));
	c.sent = calloc(self->d.total, 1);
	ASSERT_TRUE(c.dest && c.sent);

	kt_loop_start(&loop, &self->d.vm, KT_DVM_GPA, self->d.total, 0x1234567, 16);
	/*
	 * The value changes only while the guest is paused, and the guest
	 * leaves only between batches of stores, so every store of value v
	 * lands while the guest runs iteration v: a page copied in iteration
	 * it holds it, it - 1 (stored after the previous harvest read its
	 * bit) or 0.
	 */
	for (uint32_t it = 1; it <= T_ITERATIONS; it++) {
		t_let_guest_write(&loop, T_MIN_WRITES);
		t_harvest(&self->km, &c.run, KMIG_HARVEST_F_CLASSIFY);
		t_send_round(&c, it);
		kt_loop_pause(&loop);
		missed += t_check_stopped(&c, it);
		if (it == T_ITERATIONS)
			break;
		kt_loop_set_value(&loop, it + 1);
		kt_loop_resume(&loop);
	}
	kt_loop_finish(&loop);
	writes = kt_loop_writes(&loop);

	/* Final round, guest stopped: the destination must equal the source. */
	t_harvest(&self->km, &c.run, KMIG_HARVEST_F_CLASSIFY);
	t_send_round(&c, T_ITERATIONS);
	for (uint64_t p = 0; p < self->d.total; p++)
		if (t_val(&self->d, p) != c.dest[p] && missed++ < 20)
			fprintf(stderr, "final: page %llu holds %u, destination %u\n",
				(unsigned long long)p, t_val(&self->d, p), c.dest[p]);
	TH_LOG("%u iterations, %llu guest writes, %llu pages copied, %llu sent as zero",
	       T_ITERATIONS, (unsigned long long)writes, (unsigned long long)c.copied,
	       (unsigned long long)c.zeroed);
	EXPECT_EQ(0, missed) TH_LOG("%llu missed pages", (unsigned long long)missed);
	EXPECT_GE(writes, T_ITERATIONS * 64);
	EXPECT_GT(c.zeroed, 0) TH_LOG("no page was ever harvested as dirty and zero");
	EXPECT_GT(c.copied, 0);

	t_maps_free(&c.run);
	t_maps_free(&c.plain);
	t_maps_free(&c.cls);
	for (int i = 0; i < KT_DSLOTS; i++)
		free(c.kvm[i]);
	free(c.dest);
	free(c.sent);
}

/* ---- identical VMs ---- */

#define T_ROUNDS	6

/* Seeded guest writes: data or zero bytes at random pages and offsets. */
static size_t t_make_writes(struct kt_guest_write *w, size_t n, uint64_t total,
			    uint64_t *rng, uint8_t *written)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t r = kt_rand(rng);
		uint64_t p = r % total;

		w[k].gpa = KT_DVM_GPA + p * KT_PAGE + (r >> 40) % KT_PAGE;
		w[k].val = (r >> 32) % 3 ? 1 + (r >> 20) % 255 : 0;
		written[p] = 1;
	}
	return n;
}

TEST(identical)
{
	struct kt_dvm a, b;
	struct kmig_kmod km;
	struct kmig_err err = { 0 };
	struct t_maps ma, mb;
	uint64_t rng = 42, reported = 0;
	size_t n = 3000;
	struct kt_guest_write *w = calloc(n, sizeof(*w));
	uint8_t *written;

	kt_dvm_create(&a, false);
	kt_dvm_create(&b, false);
	written = calloc(a.total, 1);
	ASSERT_EQ(0, kmig_kmod_open(&km, NULL, a.vm.fd, &err)) TH_LOG("%s", err.msg);
	t_maps_init(&ma, &a, false);
	t_maps_init(&mb, &b, false);

	for (int round = 0; round < T_ROUNDS; round++) {
		uint64_t base = 0;

		memset(written, 0, a.total);
		t_make_writes(w, n / (round + 1), a.total, &rng, written);
		kt_guest_write(&a.vm, w, n / (round + 1));
		kt_guest_write(&b.vm, w, n / (round + 1));
		t_harvest(&km, &ma, 0);
		for (int i = 0; i < KT_DSLOTS; base += a.npages[i], i++) {
			kt_get_dirty_log(&b.vm, b.slot[i], mb.dirty[i]);
			ASSERT_EQ(0, memcmp(ma.dirty[i], mb.dirty[i], KT_WORDS(a.npages[i]) * 8))
				TH_LOG("round %d slot %u: module on VM a != KVM on VM b",
				       round, a.slot[i]);
			for (uint64_t j = 0; j < a.npages[i]; j++) {
				ASSERT_EQ(written[base + j], t_test(ma.dirty[i], j))
					TH_LOG("round %d page %llu: written %d, dirty %d", round,
					       (unsigned long long)(base + j), written[base + j],
					       t_test(ma.dirty[i], j));
				reported += written[base + j];
			}
			ASSERT_EQ(ma.r[i].nr_dirty, t_weight(ma.dirty[i], a.npages[i]));
			kt_clear_dirty_log(&a.vm, a.slot[i], 0, a.npages[i], ma.dirty[i]);
			kt_clear_dirty_log(&b.vm, b.slot[i], 0, b.npages[i], mb.dirty[i]);
		}
	}
	TH_LOG("%d rounds, %llu dirty pages compared", T_ROUNDS,
	       (unsigned long long)reported);
	t_maps_free(&ma);
	t_maps_free(&mb);
	kmig_kmod_close(&km);
	kt_dvm_destroy(&a);
	kt_dvm_destroy(&b);
	free(written);
	free(w);
}

/* ---- fused classification ---- */

enum { K_DATA, K_ZEROED, K_FIRST_ZERO, K_ZAPPED, K_CLEAN, K_NR };

/* The host zaps page @p (written before): it reads as zero, unpopulated. */
static void t_zap(struct kt_dvm *d, uint64_t p)
{
	uint64_t page;
	int i;

	kt_dvm_locate(d, p, &i, &page);
	if (d->mem[i].memfd >= 0)
		KT_CALL_OK(fallocate(d->mem[i].memfd,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     page * KT_PAGE, KT_PAGE), "fallocate(PUNCH_HOLE)");
	else
		KT_CALL_OK(madvise(d->mem[i].hva + page * KT_PAGE, KT_PAGE,
				   MADV_DONTNEED), "madvise(DONTNEED)");
}

TEST_F(dirty, fused)
{
	struct kt_dvm *d = &self->d;
	uint64_t rng = 7, count[K_NR] = { 0 }, base;
	uint8_t *kind = calloc(d->total, 1);
	struct kt_guest_write *w = calloc(d->total * 2, sizeof(*w));
	size_t n = 0;
	struct t_maps m;

	t_maps_init(&m, d, true);
	/* Round 1: data into every page that will be data, zeroed or zapped. */
	for (uint64_t p = 0; p < d->total; p++) {
		uint64_t r = kt_rand(&rng) % 10;

		kind[p] = r < 3 ? K_DATA : r < 5 ? K_ZEROED : r < 6 ? K_FIRST_ZERO :
			  r < 7 ? K_ZAPPED : K_CLEAN;
		if (kind[p] == K_DATA || kind[p] == K_ZEROED || kind[p] == K_ZAPPED)
			w[n++] = (struct kt_guest_write){ KT_DVM_GPA + p * KT_PAGE + 100, 0x5a };
	}
	kt_guest_write(&d->vm, w, n);
	t_harvest(&self->km, &m, KMIG_HARVEST_F_CLASSIFY);
	for (int i = 0; i < KT_DSLOTS; i++) {
		EXPECT_EQ(0, m.r[i].nr_zero);
		kt_clear_dirty_log(&d->vm, d->slot[i], 0, d->npages[i], m.dirty[i]);
	}

	/* Round 2: new data, zeroing, first writes of zero, host zaps. */
	n = 0;
	for (uint64_t p = 0; p < d->total; p++) {
		uint64_t gpa = KT_DVM_GPA + p * KT_PAGE;

		if (kind[p] == K_DATA)
			w[n++] = (struct kt_guest_write){ gpa + 7, 0x33 };
		else if (kind[p] == K_ZEROED)
			w[n++] = (struct kt_guest_write){ gpa + 100, 0 };
		else if (kind[p] == K_FIRST_ZERO)
			w[n++] = (struct kt_guest_write){ gpa + 1000, 0 };
		count[kind[p]]++;
	}
	kt_guest_write(&d->vm, w, n);
	/* Zapped pages: written in round 1, so dirty-bit clear; dirty them
	 * again with a guest write, then zap them behind the guest. */
	n = 0;
	for (uint64_t p = 0; p < d->total; p++)
		if (kind[p] == K_ZAPPED)
			w[n++] = (struct kt_guest_write){ KT_DVM_GPA + p * KT_PAGE + 9, 0x44 };
	kt_guest_write(&d->vm, w, n);
	for (uint64_t p = 0; p < d->total; p++)
		if (kind[p] == K_ZAPPED)
			t_zap(d, p);

	/*
	 * NO_READ first: the content checks of the other pass read the pages
	 * through the mapping, which fills memfd holes (shmem read faults).
	 */
	for (int pass = 1; pass >= 0; pass--) {
		unsigned int flags = KMIG_HARVEST_F_CLASSIFY | (pass ? KMIG_HARVEST_F_NO_READ : 0);

		t_harvest(&self->km, &m, flags);
		base = 0;
		for (int i = 0; i < KT_DSLOTS; base += d->npages[i], i++) {
			uint64_t nz = 0;

			for (uint64_t j = 0; j < d->npages[i]; j++) {
				int k = kind[base + j];
				/* NO_READ: only unpopulated pages are known zero. */
				bool want_zero = pass ? k == K_ZAPPED :
					k == K_ZEROED || k == K_FIRST_ZERO || k == K_ZAPPED;
				bool want_dirty = k != K_CLEAN;

				ASSERT_EQ(want_zero, t_test(m.zero[i], j))
					TH_LOG("pass %d page %llu kind %d: zero bit", pass,
					       (unsigned long long)(base + j), k);
				ASSERT_EQ(want_dirty && !want_zero, t_test(m.dirty[i], j))
					TH_LOG("pass %d page %llu kind %d: dirty bit", pass,
					       (unsigned long long)(base + j), k);
				if (!pass && want_dirty)
					ASSERT_EQ(want_zero, t_page_zero(d, base + j));
				nz += want_zero;
			}
			EXPECT_EQ(nz, m.r[i].nr_zero);
		}
	}
	TH_LOG("pages: %llu data, %llu zeroed, %llu first written with zero, %llu zapped, %llu clean",
	       (unsigned long long)count[K_DATA], (unsigned long long)count[K_ZEROED],
	       (unsigned long long)count[K_FIRST_ZERO], (unsigned long long)count[K_ZAPPED],
	       (unsigned long long)count[K_CLEAN]);
	t_maps_free(&m);
	free(kind);
	free(w);
}

KT_HARNESS_MAIN
