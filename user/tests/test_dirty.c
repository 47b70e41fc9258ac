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
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/bits.h"
#include "dirty/dirty.h"
#include "kselftest_harness.h"

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
	d->hinted = d->keep_zero = true;
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

TEST(clear_rule)
{
	struct kmig_dirty *d;
	uint64_t dirty, zero;

	memset(&fk, 0, sizeof(fk));
	ASSERT_EQ(0, kmig_dirty_create(&d, &fake_ops, NULL, &mm)) TH_LOG("create");
	ASSERT_EQ(-EINVAL, kmig_dirty_harvest(d, 0, &dirty, &zero)) TH_LOG("harvest before start");
	ASSERT_EQ(-EINVAL, kmig_dirty_clear(d)) TH_LOG("clear before start");
	ASSERT_TRUE(kmig_dirty_stop(d, KMIG_DIRTY_STOP_NOW) == 0 && fk.stops == 0)
		TH_LOG("stop before start reached the implementation");
	ASSERT_TRUE(kmig_dirty_start(d) == 0 && fk.starts == 1) TH_LOG("start");
	ASSERT_EQ(0, kmig_dirty_harvest(d, 0, &dirty, &zero)) TH_LOG("harvest");
	ASSERT_TRUE(dirty == 212 && zero == 64)
		TH_LOG("counts %llu %llu", (unsigned long long)dirty, (unsigned long long)zero);
	ASSERT_EQ(0, kmig_dirty_clear(d)) TH_LOG("clear");
	ASSERT_EQ(2, fk.nr) TH_LOG("%u clear calls, expected 2 (slot 2 has nothing)", fk.nr);

	/* Slot 0: words 0..3; pages 64..127 (zero) stay dirty. */
	ASSERT_TRUE(fk.calls[0].slot == 0 && fk.calls[0].first == 0 && fk.calls[0].n == 256)
		TH_LOG("slot 0 range %llu+%llu", (unsigned long long)fk.calls[0].first,
		       (unsigned long long)fk.calls[0].n);
	for (uint64_t p = 0; p < 256; p++) {
		ASSERT_EQ((p < 64 || (p >= 128 && p < 200)), kmig_test_bit(fk.calls[0].bits, p))
			TH_LOG("slot 0 page %llu", (unsigned long long)p);
	}
	/* Slot 1: words 15..17, the range ends at the slot's end (1100). */
	ASSERT_TRUE(fk.calls[1].slot == 1 && fk.calls[1].first == 960 && fk.calls[1].n == 140)
		TH_LOG("slot 1 range %llu+%llu", (unsigned long long)fk.calls[1].first,
		       (unsigned long long)fk.calls[1].n);
	for (uint64_t p = 960; p < 1100; p++) {
		ASSERT_EQ(((p >= 1000 && p <= 1010) || p == 1099),
			    kmig_test_bit(fk.calls[1].bits, p - 960))
			TH_LOG("slot 1 page %llu", (unsigned long long)p);
	}
	ASSERT_TRUE(kmig_dirty_stop(d, KMIG_DIRTY_STOP_LAZY) == 0 && fk.stops == 1) TH_LOG("stop");
	ASSERT_TRUE(d->st.stops == 1 && d->st.starts == 1) TH_LOG("stats");
	ASSERT_EQ(-EINVAL, kmig_dirty_harvest(d, 1, NULL, NULL)) TH_LOG("harvest after stop");
	kmig_dirty_close(d);
}

/* kmig_dirty_open() says why the module is not used; --no-module. */
TEST(why)
{
	struct kmig_dirty *d;

	ASSERT_EQ(0, kmig_dirty_open(&d, NULL, &mm, "/nonexistent/kmig",
				     KMIG_DIRTY_USE_DEFAULT, NULL))
		TH_LOG("open");
	TH_LOG("%s", d->why);
	ASSERT_TRUE(strstr(d->why, "userspace fallback") &&
		    strstr(d->why, "No such file or directory (kmig.ko not loaded)"))
		TH_LOG("%s", d->why);
	ASSERT_TRUE(d->ops == &kmig_dirty_vmm_ops && !strcmp(d->st.harvest_path, "vmm") &&
		    !strcmp(d->st.zero_path, "sender-threads") &&
		    !strcmp(d->st.first_pass_path, "sender-threads") &&
		    !strcmp(d->st.stop_path, "vmm-sync"))
		TH_LOG("paths %s %s %s %s", d->st.harvest_path, d->st.zero_path,
		       d->st.first_pass_path, d->st.stop_path);
	kmig_dirty_close(d);
	/* A device that is not kmig: the first ioctl says so. */
	ASSERT_EQ(0, kmig_dirty_open(&d, NULL, &mm, "/dev/null", KMIG_DIRTY_USE_ALL, NULL))
		TH_LOG("open");
	TH_LOG("%s", d->why);
	ASSERT_TRUE(strstr(d->why, "userspace fallback") &&
		    strstr(d->why, "KMIG_GET_INFO on /dev/null: Inappropriate ioctl"))
		TH_LOG("%s", d->why);
	ASSERT_EQ(&kmig_dirty_vmm_ops, d->ops) TH_LOG("ops %s", d->ops->name);
	kmig_dirty_close(d);
	/* Nothing asked of the module: not even opened. */
	ASSERT_EQ(0, kmig_dirty_open(&d, NULL, &mm, "/dev/null", 0, "--no-module")) TH_LOG("open");
	TH_LOG("%s", d->why);
	ASSERT_TRUE(d->ops == &kmig_dirty_vmm_ops &&
		    !strcmp(d->why, "userspace fallback (bitmaps through the VMM): --no-module") &&
		    !strcmp(d->st.module_use, "none"))
		TH_LOG("%s (%s)", d->why, d->st.module_use);
	kmig_dirty_close(d);
}

/* --module FUNCS: names in, names out; classify needs harvest, scan-dense
 * needs scan. */
TEST(use)
{
	static const struct { const char *in, *out; int ret; } c[] = {
		{ "harvest,scan,stop", "harvest,scan,stop", 0 }, { "stop,harvest", "harvest,stop", 0 },
		{ "all", "harvest,scan,classify,stop,scan-dense", 0 },
		{ "default", "harvest,scan,stop", 0 }, { "scan,scan-dense", "scan,scan-dense", 0 },
		{ "scan-dense", "", -EINVAL }, { "harvest,scan-dense", "", -EINVAL },
		{ "none", "none", 0 }, { "harvest,classify", "harvest,classify", 0 },
		{ "classify", "", -EINVAL }, { "scan,", "scan", 0 }, { "", "", -EINVAL },
		{ "harvest,,scan", "", -EINVAL }, { "zero", "", -EINVAL }, { "scanner", "", -EINVAL },
	};
	char buf[64];

	for (unsigned int i = 0; i < KMIG_ARRAY_SIZE(c); i++) {
		unsigned int use = 0;
		int ret = kmig_dirty_use_parse(c[i].in, &use);

		EXPECT_EQ(c[i].ret, ret) TH_LOG("'%s': %d, expected %d", c[i].in, ret, c[i].ret);
		if (ret)
			continue;
		kmig_dirty_use_str(use, buf, sizeof(buf));
		EXPECT_STREQ(c[i].out, buf)
			TH_LOG("'%s' -> '%s', expected '%s'", c[i].in, buf, c[i].out);
	}
}

/*
 * The first pass, piece by piece: the tracker's zero bitmaps if it has a
 * first_pass (the module's scan), else none (the sink's threads classify);
 * bad pieces are refused; a harvest that does not classify clears every
 * dirty page, whatever stale bits the zero bitmaps hold.
 */
static int fp_calls;

/* Slot 1's pages 0..999 are zero. */
static int fp_first_pass(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
			 uint64_t n, uint64_t *nr_zero)
{
	fp_calls++;
	*nr_zero = 0;
	for (uint64_t p = first; p < first + n; p++) {
		bool z = ds == &d->slots[1] && p < 1000;

		if (z)
			kmig_set_bit(ds->zero, p);
		else
			kmig_clear_bit(ds->zero, p);
		*nr_zero += z;
	}
	d->hinted = true;
	return 0;
}

static int plain_harvest(struct kmig_dirty *d, unsigned int iteration)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		memset(d->slots[i].dirty, 0, KMIG_BITMAP_WORDS(d->slots[i].npages) * 8);
		d->slots[i].nr_dirty = 0;
	}
	set(d->slots[1].dirty, 10, 20);
	d->slots[1].nr_dirty = 10;
	return 0;
}

static const struct kmig_dirty_ops scan_ops = {
	.name = "fake scanning tracker", .start = f_start, .harvest = plain_harvest,
	.first_pass = fp_first_pass, .clear = f_clear, .stop = f_stop,
};

TEST(first_pass)
{
	struct kmig_dirty *d;
	uint64_t zero = 1, dirty, sum = 0;

	memset(&fk, 0, sizeof(fk));
	fp_calls = 0;
	ASSERT_EQ(0, kmig_dirty_create(&d, &kmig_dirty_vmm_ops, NULL, &mm)) TH_LOG("create");
	ASSERT_TRUE(kmig_dirty_first_pass(d, 1, 0, 1100, &zero) == 0 && zero == 0 && !d->hinted)
		TH_LOG("fallback first pass: %llu zero, hinted %d", (unsigned long long)zero,
		       d->hinted);
	kmig_dirty_close(d);

	ASSERT_EQ(0, kmig_dirty_create(&d, &scan_ops, NULL, &mm)) TH_LOG("create");
	for (unsigned int i = 0; i < d->nr; i++)
		d->slots[i].zero = calloc(KMIG_BITMAP_WORDS(d->slots[i].npages), 8);
	EXPECT_TRUE(kmig_dirty_first_pass(d, 1, 32, 64, NULL) == -EINVAL &&
		    kmig_dirty_first_pass(d, 1, 1088, 64, NULL) == -EINVAL &&
		    kmig_dirty_first_pass(d, 3, 0, 64, NULL) == -EINVAL && fp_calls == 0)
		TH_LOG("bad pieces: %d calls", fp_calls);
	/* Slot 1 in pieces of 512: 0..511, 512..1023, 1024..1099. */
	for (uint64_t first = 0; first < 1100; first += 512) {
		uint64_t n = first + 512 > 1100 ? 1100 - first : 512;

		ASSERT_TRUE(kmig_dirty_first_pass(d, 1, first, n, &zero) == 0 && d->hinted &&
			    !d->keep_zero)
			TH_LOG("piece at %llu", (unsigned long long)first);
		sum += zero;
	}
	ASSERT_TRUE(fp_calls == 3 && sum == 1000 && kmig_test_bit(d->slots[1].zero, 999) &&
		    !kmig_test_bit(d->slots[1].zero, 1000))
		TH_LOG("first pass: %d calls, %llu zero", fp_calls, (unsigned long long)sum);
	/* A later harvest that does not classify: no hints; the clear takes
	 * all of it though the zero bitmap still has the scan's bits. */
	ASSERT_EQ(0, kmig_dirty_start(d)) TH_LOG("start");
	ASSERT_TRUE(kmig_dirty_harvest(d, 1, &dirty, &zero) == 0 && dirty == 10 && zero == 0 &&
		    !d->hinted)
		TH_LOG("harvest: %llu dirty %llu zero", (unsigned long long)dirty,
		       (unsigned long long)zero);
	ASSERT_TRUE(kmig_dirty_clear(d) == 0 && fk.nr == 1 && fk.calls[0].slot == 1 &&
		    fk.calls[0].first == 0 && fk.calls[0].bits[0] == 0xffc00)
		TH_LOG("clear: %u calls, bits %#llx", fk.nr,
		       (unsigned long long)fk.calls[0].bits[0]);
	kmig_dirty_close(d);
}

/*
 * The module path's harvest (dirty_kmod.c) without the module: a stand-in
 * plays the module's two bitmaps per round and uses the same merge and
 * "sent" steps. Slot 0 (300 pages): round 1: non-zero 0..9, zero 10..19
 * and 100..109, of which 100..104 are known zero already; round 2 (the
 * round-1 pages were cleared and queued): page 12 was written (non-zero),
 * the rest still zero; round 3: page 12 is zero again.
 */
static uint64_t known[KMIG_BITMAP_WORDS(300)], mzero[KMIG_BITMAP_WORDS(300)];
static int round_nr;
static uint64_t left_out;	/* known zero pages the last merge left out */

static int m_harvest(struct kmig_dirty *d, unsigned int iteration)
{
	struct kmig_dirty_slot *ds = &d->slots[0];

	for (unsigned int i = 0; i < d->nr; i++) {
		if (!d->slots[i].zero)
			d->slots[i].zero = calloc(KMIG_BITMAP_WORDS(d->slots[i].npages), 8);
		if (!d->slots[i].zero)
			return -ENOMEM;
		memset(d->slots[i].dirty, 0, KMIG_BITMAP_WORDS(d->slots[i].npages) * 8);
		d->slots[i].nr_dirty = d->slots[i].nr_zero = 0;
	}
	memset(mzero, 0, sizeof(mzero));
	round_nr++;
	if (round_nr == 1) {
		set(ds->dirty, 0, 10);
		set(known, 100, 105);
	}
	set(mzero, 10, 20);
	set(mzero, 100, 110);
	if (round_nr == 2) {
		kmig_clear_bit(mzero, 12);
		kmig_set_bit(ds->dirty, 12);
	}
	left_out = kmig_dirty_kmod_merge(ds, mzero, known);
	d->hinted = d->keep_zero = true;
	return 0;
}

static void m_cleared(struct kmig_dirty *d)
{
	kmig_dirty_kmod_sent(&d->slots[0], known);
}

static const struct kmig_dirty_ops mod_ops = {
	.name = "stand-in for the module", .start = f_start, .harvest = m_harvest,
	.clear = f_clear, .cleared = m_cleared, .stop = f_stop,
};

static bool bits_are(const uint64_t *bm, uint64_t n, const char *want)
{
	for (uint64_t i = 0; i < n; i++)
		if (kmig_test_bit(bm, i) != (want[i] == '1'))
			return false;
	return true;
}

/* "1" for pages in [a, b) of the pairs given, "0" elsewhere, n pages. */
static void pattern(char *out, uint64_t n, const uint64_t *pairs, unsigned int nr)
{
	memset(out, '0', n);
	for (unsigned int p = 0; p < nr; p += 2)
		memset(out + pairs[p], '1', pairs[p + 1] - pairs[p]);
}

/*
 * The stand-in module reports the same zero pages every round (it does not
 * model KVM's clears), which is enough to check the merge rule round by
 * round: zero pages not known go out as markers and stay dirty; known zero
 * pages are left out (never sent again, never cleared); a written page
 * goes out as data and leaves the known set.
 */
TEST(known_zero)
{
	static const uint64_t r1_dirty[] = { 0, 20, 105, 110 }, r1_zero[] = { 10, 20, 105, 110 },
		r1_clear[] = { 0, 10 }, r1_known[] = { 10, 20, 100, 110 },
		r2_dirty[] = { 12, 13 }, r2_known[] = { 10, 12, 13, 20, 100, 110 },
		r3_zero[] = { 12, 13 };
	char want[300];
	struct kmig_dirty *d;
	uint64_t dirty, zero;

	memset(&fk, 0, sizeof(fk));
	memset(known, 0, sizeof(known));
	round_nr = 0;
	ASSERT_EQ(0, kmig_dirty_create(&d, &mod_ops, NULL, &mm)) TH_LOG("create");
	ASSERT_EQ(0, kmig_dirty_start(d)) TH_LOG("start");
	ASSERT_EQ(0, kmig_dirty_harvest(d, 1, &dirty, &zero)) TH_LOG("harvest 1");
	/* Non-zero pages and zero pages not known: sent; known 100-104: left out. */
	ASSERT_TRUE(dirty == 25 && zero == 15 && left_out == 5)
		TH_LOG("round 1: %llu dirty %llu zero, %llu left out", (unsigned long long)dirty,
		       (unsigned long long)zero, (unsigned long long)left_out);
	pattern(want, 300, r1_dirty, 4);
	ASSERT_TRUE(bits_are(d->slots[0].dirty, 300, want)) TH_LOG("round 1 dirty bitmap");
	pattern(want, 300, r1_zero, 4);
	ASSERT_TRUE(bits_are(d->slots[0].zero, 300, want)) TH_LOG("round 1 zero bitmap");
	ASSERT_TRUE(kmig_dirty_clear(d) == 0 && fk.nr == 1) TH_LOG("clear: %u calls", fk.nr);
	/* Re-protected: the data pages only; the markers' pages stay dirty and
	 * become known. */
	pattern(want, 300, r1_clear, 2);
	ASSERT_TRUE(fk.calls[0].first == 0 && bits_are(fk.calls[0].bits, 64, want))
		TH_LOG("round 1 clear");
	pattern(want, 300, r1_known, 4);
	ASSERT_TRUE(bits_are(known, 300, want)) TH_LOG("known after round 1");

	ASSERT_EQ(0, kmig_dirty_harvest(d, 2, &dirty, &zero)) TH_LOG("harvest 2");
	/* Page 12 turned non-zero: data; every other zero page is known. */
	ASSERT_TRUE(dirty == 1 && zero == 0 && left_out == 19)
		TH_LOG("round 2: %llu dirty %llu zero, %llu left out", (unsigned long long)dirty,
		       (unsigned long long)zero, (unsigned long long)left_out);
	pattern(want, 300, r2_dirty, 2);
	ASSERT_TRUE(bits_are(d->slots[0].dirty, 300, want)) TH_LOG("round 2 dirty bitmap");
	ASSERT_EQ(0, kmig_dirty_clear(d)) TH_LOG("clear 2");
	pattern(want, 300, r2_known, 6);
	ASSERT_TRUE(bits_are(known, 300, want)) TH_LOG("known after round 2: page 12 left it");

	/* Page 12 zero again: one marker. A harvest that leads to the
	 * switchover is not cleared: nothing becomes known; the final
	 * harvest sends the marker, and never the known pages. */
	ASSERT_TRUE(kmig_dirty_harvest(d, 3, &dirty, &zero) == 0 && zero == 1 && dirty == 1)
		TH_LOG("harvest 3: %llu dirty %llu zero", (unsigned long long)dirty,
		       (unsigned long long)zero);
	kmig_dirty_paused(d);
	ASSERT_TRUE(kmig_dirty_harvest(d, 4, &dirty, &zero) == 0 && zero == 1 && dirty == 1 &&
		    left_out == 19 && !kmig_test_bit(d->slots[0].dirty, 100))
		TH_LOG("final harvest: %llu dirty %llu zero %llu left out",
		       (unsigned long long)dirty, (unsigned long long)zero,
		       (unsigned long long)left_out);
	pattern(want, 300, r3_zero, 2);
	ASSERT_TRUE(bits_are(d->slots[0].zero, 300, want)) TH_LOG("final zero bitmap");
	kmig_dirty_close(d);
}

/* Which first-pass pieces the scan leaves to the sink's threads. */
TEST(dense)
{
	struct kmig_dirty_slot ds = { .npages = 1024, .fd = -1 };
	char page[4096];

	memset(page, 0x5a, sizeof(page));
	ASSERT_FALSE(kmig_dirty_dense(&ds, 0, 1024)) TH_LOG("no memfd: not dense");
	ds.fd = memfd_create("t_dense", MFD_CLOEXEC);
	ASSERT_TRUE(ds.fd >= 0 && !ftruncate(ds.fd, 2048 * 4096)) TH_LOG("memfd");
	ds.fd_offset = 1024 * 4096;	/* the slot is the memfd's second half */
	for (uint64_t p = 0; p < 768; p++) {
		ASSERT_EQ(4096, pwrite(ds.fd, page, 4096, ds.fd_offset + p * 4096))
			TH_LOG("pwrite");
	}
	/* every other page of [1024 - 256, 1024): 128 extents */
	for (uint64_t p = 1024 - 256; p < 1024; p += 2) {
		ASSERT_EQ(4096, pwrite(ds.fd, page, 4096, ds.fd_offset + p * 4096))
			TH_LOG("pwrite");
	}
	EXPECT_TRUE(kmig_dirty_dense(&ds, 0, 1024) == false) TH_LOG("fragmented tail: not dense");
	EXPECT_TRUE(kmig_dirty_dense(&ds, 0, 768)) TH_LOG("filled: dense");
	EXPECT_TRUE(kmig_dirty_dense(&ds, 0, 512)) TH_LOG("filled part: dense");
	EXPECT_FALSE(kmig_dirty_dense(&ds, 768, 256)) TH_LOG("128 extents: not dense");
	EXPECT_TRUE(kmig_dirty_dense(&ds, 512, 256 + 64))
		TH_LOG("256 of 320 filled, few extents: dense");
	ASSERT_EQ(0, fallocate(ds.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       ds.fd_offset + 64 * 4096, 512 * 4096))
		TH_LOG("punch");
	EXPECT_FALSE(kmig_dirty_dense(&ds, 0, 768)) TH_LOG("256 of 768 filled: not dense");
	/* the memfd's first half (before the slot) is a hole and not counted */
	EXPECT_TRUE(kmig_dirty_dense(&ds, 576, 128)) TH_LOG("a filled piece after the hole: dense");
	close(ds.fd);
}

TEST_HARNESS_MAIN
