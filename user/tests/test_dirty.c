// SPDX-License-Identifier: GPL-2.0
/*
 * The generic half of dirty tracking (dirty.h) with a stand-in
 * implementation that classifies, as the module's harvest will: the clear
 * re-protects exactly the dirty pages that go out as data (dirty & ~zero),
 * only the words that hold bits, with KVM's alignment (a multiple of 64,
 * or up to the slot's end); calls are refused before start; a stop before
 * start does nothing. The VMM-protocol implementation is tested against a
 * real kmig-vmm in tests/vmm/dirty_seam_test.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "bits.h"
#include "dirty.h"
#include "t.h"

#define MAX_CALLS 8

struct call {
	uint32_t slot;
	uint64_t first, n;
	uint64_t bits[32];
};

static struct fake {
	int starts, stops;
	unsigned int nr;
	struct call calls[MAX_CALLS];
} fk;

static int f_start(struct kmig_dirty *d) { fk.starts++; return 0; }
static int f_stop(struct kmig_dirty *d, enum kmig_dirty_stop how) { fk.stops++; return 0; }

static void set(uint64_t *bm, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		kmig_set_bit(bm, i);
}

/* Slot 0: pages 0..199 dirty, 64..127 of them zero. Slot 1: 1000..1010
 * and its last page, 1099, dirty; none zero. Slot 2: nothing. */
static int f_harvest(struct kmig_dirty *d, unsigned int iteration)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		struct kmig_dirty_slot *ds = &d->slots[i];
		size_t bytes = KMIG_BITMAP_WORDS(ds->npages) * 8;

		if (!ds->zero)
			ds->zero = calloc(1, bytes);
		if (!ds->zero)
			return -ENOMEM;
		memset(ds->dirty, 0, bytes);
		memset(ds->zero, 0, bytes);
	}
	set(d->slots[0].dirty, 0, 200);
	set(d->slots[0].zero, 64, 128);
	d->slots[0].nr_dirty = 200;
	d->slots[0].nr_zero = 64;
	set(d->slots[1].dirty, 1000, 1011);
	set(d->slots[1].dirty, 1099, 1100);
	d->slots[1].nr_dirty = 12;
	d->slots[1].nr_zero = 0;
	d->slots[2].nr_dirty = d->slots[2].nr_zero = 0;
	return 0;
}

static int f_clear(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first, uint64_t n,
		   const uint64_t *bitmap)
{
	struct call *c = &fk.calls[fk.nr++];

	c->slot = ds->slot;
	c->first = first;
	c->n = n;
	memcpy(c->bits, bitmap, KMIG_BITMAP_WORDS(n) * 8);
	return 0;
}

static const struct kmig_dirty_ops fake_ops = {
	.name = "fake classifying tracker", .start = f_start, .harvest = f_harvest,
	.clear = f_clear, .stop = f_stop,
};

static struct kmig_vmmp_memslot slots[3] = {
	{ .slot = 0, .size = 300 * 4096ULL }, { .slot = 1, .size = 1100 * 4096ULL },
	{ .slot = 65536 | 2, .size = 64 * 4096ULL },
};
static struct kmig_vmmp_memmap mm = { .nr_slots = 3, .slots = slots };

static void t_clear_rule(struct t_state *st)
{
	struct kmig_dirty *d;
	uint64_t dirty, zero;

	memset(&fk, 0, sizeof(fk));
	T_ASSERT(st, kmig_dirty_create(&d, &fake_ops, NULL, &mm) == 0, "create");
	T_ASSERT(st, kmig_dirty_harvest(d, 0, &dirty, &zero) == -EINVAL, "harvest before start");
	T_ASSERT(st, kmig_dirty_clear(d) == -EINVAL, "clear before start");
	T_ASSERT(st, kmig_dirty_stop(d, KMIG_DIRTY_STOP_NOW) == 0 && fk.stops == 0,
		 "stop before start reached the implementation");
	T_ASSERT(st, kmig_dirty_start(d) == 0 && fk.starts == 1, "start");
	T_ASSERT(st, kmig_dirty_harvest(d, 0, &dirty, &zero) == 0, "harvest");
	T_ASSERT(st, dirty == 212 && zero == 64, "counts %llu %llu", (unsigned long long)dirty,
		 (unsigned long long)zero);
	T_ASSERT(st, kmig_dirty_clear(d) == 0, "clear");
	T_ASSERT(st, fk.nr == 2, "%u clear calls, expected 2 (slot 2 has nothing)", fk.nr);

	/* Slot 0: words 0..3; pages 64..127 (zero) stay dirty. */
	T_ASSERT(st, fk.calls[0].slot == 0 && fk.calls[0].first == 0 && fk.calls[0].n == 256,
		 "slot 0 range %llu+%llu", (unsigned long long)fk.calls[0].first,
		 (unsigned long long)fk.calls[0].n);
	for (uint64_t p = 0; p < 256; p++)
		T_ASSERT(st, kmig_test_bit(fk.calls[0].bits, p) == (p < 64 || (p >= 128 && p < 200)),
			 "slot 0 page %llu", (unsigned long long)p);
	/* Slot 1: words 15..17, the range ends at the slot's end (1100). */
	T_ASSERT(st, fk.calls[1].slot == 1 && fk.calls[1].first == 960 && fk.calls[1].n == 140,
		 "slot 1 range %llu+%llu", (unsigned long long)fk.calls[1].first,
		 (unsigned long long)fk.calls[1].n);
	for (uint64_t p = 960; p < 1100; p++)
		T_ASSERT(st, kmig_test_bit(fk.calls[1].bits, p - 960) ==
			 ((p >= 1000 && p <= 1010) || p == 1099), "slot 1 page %llu",
			 (unsigned long long)p);
	T_ASSERT(st, kmig_dirty_stop(d, KMIG_DIRTY_STOP_LAZY) == 0 && fk.stops == 1, "stop");
	T_ASSERT(st, d->st.stops == 1 && d->st.starts == 1, "stats");
	T_ASSERT(st, kmig_dirty_harvest(d, 1, NULL, NULL) == -EINVAL, "harvest after stop");
	kmig_dirty_close(d);
}

/* kmig_dirty_open() says why the module is not used. */
static void t_why(struct t_state *st)
{
	struct kmig_dirty *d;

	T_ASSERT(st, kmig_dirty_open(&d, NULL, &mm, "/nonexistent/kmig") == 0, "open");
	printf("# %s\n", d->why);
	T_ASSERT(st, strstr(d->why, "userspace fallback") &&
		 strstr(d->why, "No such file or directory (kmig.ko not loaded)"), "%s", d->why);
	kmig_dirty_close(d);
	T_ASSERT(st, kmig_dirty_open(&d, NULL, &mm, "/dev/null") == 0, "open");
	printf("# %s\n", d->why);
	T_ASSERT(st, strstr(d->why, "does not use the module's harvest yet"), "%s", d->why);
	kmig_dirty_close(d);
}

int main(void)
{
	static const struct t_case cases[] = { T_CASE(t_clear_rule), T_CASE(t_why) };

	return t_main("dirty", cases, sizeof(cases) / sizeof(cases[0]));
}
