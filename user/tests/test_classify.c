// SPDX-License-Identifier: GPL-2.0
/*
 * Page classification on the writer threads: memfd holes
 * (SEEK_DATA/SEEK_HOLE), anonymous memory (pagemap), zero and non-zero
 * populated pages, a mask of wanted pages; classification must not
 * allocate holes. The writers' fused pass over a chunk (pass.h): an
 * unhinted chunk is classified with one read per page, a hinted one is
 * taken as the tracker says (no page read to classify it), and the CRCs,
 * staging copies and byte counters are right.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "pages/pass.h"
#include "kselftest_harness.h"

#define PG KMIG_PAGE_SIZE
#define NP 1000

/* Pages 10..19 data, 20..29 written zero, 500 data, 999 data; rest holes. */
static void populate(uint8_t *base)
{
	for (int i = 10; i < 20; i++)
		base[i * PG + i] = i;
	for (int i = 20; i < 30; i++)
		base[i * PG] = 0;	/* a write fault: populated, zero */
	base[500 * PG + 4095] = 1;
	base[999 * PG] = 1;
}

/* A memfd block of NP pages as populate() leaves it. */
FIXTURE(memfd) {
	struct kmig_ram ram;
};

FIXTURE_SETUP(memfd)
{
	kmig_ram_init(&self->ram);
	ASSERT_EQ(0, kmig_ram_add_memfd(&self->ram, "m", NP * PG, NULL)) TH_LOG("memfd");
	populate(self->ram.blocks[0].base);
}

FIXTURE_TEARDOWN(memfd)
{
	kmig_ram_free(&self->ram);
}

static void check_result(struct __test_metadata *_metadata, const uint64_t *zero,
			 const struct kmig_class_counts *c, const char *what)
{
	ASSERT_EQ(NP - 22, c->none)
		TH_LOG("%s: none %llu, expected %d", what, (unsigned long long)c->none, NP - 22);
	ASSERT_TRUE(c->zero_data == 10 && c->data == 12)
		TH_LOG("%s: zero_data %llu data %llu", what, (unsigned long long)c->zero_data,
		       (unsigned long long)c->data);
	for (int i = 0; i < NP; i++) {
		bool data = (i >= 10 && i < 20) || i == 500 || i == 999;

		ASSERT_EQ(!data, kmig_test_bit(zero, i)) TH_LOG("%s: page %d", what, i);
	}
}

TEST_F(memfd, classify)
{
	struct kmig_classifier c;
	struct kmig_class_counts cnt = { 0 };
	uint64_t zero[KMIG_BITMAP_WORDS(NP)], zero_all[KMIG_BITMAP_WORDS(NP)];
	struct stat before, after;

	ASSERT_EQ(0, kmig_classify_init(&c)) TH_LOG("init");
	fstat(self->ram.blocks[0].fd, &before);
	ASSERT_EQ(0, kmig_classify(&c, &self->ram.blocks[0], 0, NP, 0, NULL, zero, &cnt))
		TH_LOG("classify");
	fstat(self->ram.blocks[0].fd, &after);
	check_result(_metadata, zero, &cnt, "memfd");
	memcpy(zero_all, zero, sizeof(zero));
	ASSERT_EQ(after.st_blocks, before.st_blocks)
		TH_LOG("classification allocated memory: %lld -> %lld blocks",
		       (long long)before.st_blocks, (long long)after.st_blocks);
	/* Unaligned sub-range. */
	memset(&cnt, 0, sizeof(cnt));
	ASSERT_EQ(0, kmig_classify(&c, &self->ram.blocks[0], 15, 10, 0, NULL, zero, &cnt)) TH_LOG("sub");
	ASSERT_TRUE(cnt.data == 5 && cnt.zero_data == 5 && cnt.none == 0)
		TH_LOG("sub-range counts");
	/* NO_READ: populated pages count as data, unread. */
	memset(&cnt, 0, sizeof(cnt));
	ASSERT_EQ(0, kmig_classify(&c, &self->ram.blocks[0], 0, NP, KMIG_CLASSIFY_NO_READ, NULL, zero,
				   &cnt))
		TH_LOG("no read");
	ASSERT_TRUE(cnt.data == 22 && cnt.zero_data == 0)
		TH_LOG("NO_READ counts %llu", (unsigned long long)cnt.data);
	/* Chunk by chunk (the sender's pattern, through the extent cache)
	 * gives the same answer. */
	memset(&cnt, 0, sizeof(cnt));
	for (uint64_t p = 0; p < NP; p += 128) {
		uint64_t part[2], n = NP - p < 128 ? NP - p : 128;

		ASSERT_EQ(0, kmig_classify(&c, &self->ram.blocks[0], p, n, 0, NULL, part, &cnt))
			TH_LOG("chunk");
		for (uint64_t i = 0; i < n; i++) {
			ASSERT_EQ(kmig_test_bit(zero_all, p + i), kmig_test_bit(part, i))
				TH_LOG("page %llu differs chunked", (unsigned long long)(p + i));
		}
	}
	check_result(_metadata, zero_all, &cnt, "memfd chunked");
	ASSERT_EQ(-EINVAL, kmig_classify(&c, &self->ram.blocks[0], 990, 11, 0, NULL, zero, NULL))
		TH_LOG("range past the block accepted");
	kmig_classify_fini(&c);
}

TEST(anon)
{
	struct kmig_classifier c;
	struct kmig_ram ram;
	struct kmig_class_counts cnt = { 0 };
	uint64_t zero[KMIG_BITMAP_WORDS(NP)];

	kmig_ram_init(&ram);
	ASSERT_EQ(0, kmig_ram_add_anon(&ram, "m", NP * PG, NULL)) TH_LOG("anon");
	populate(ram.blocks[0].base);
	ASSERT_EQ(0, kmig_classify_init(&c)) TH_LOG("init");
	ASSERT_EQ(0, kmig_classify(&c, &ram.blocks[0], 0, NP, 0, NULL, zero, &cnt))
		TH_LOG("classify");
	check_result(_metadata, zero, &cnt, "anon");
	kmig_classify_fini(&c);
	kmig_ram_free(&ram);
}

TEST_F(memfd, want)
{
	struct kmig_classifier c;
	struct kmig_class_counts cnt = { 0 };
	uint64_t zero[2], want[2] = { 0, 0 };

	kmig_set_bit(want, 12);		/* data */
	kmig_set_bit(want, 25);		/* zero data */
	kmig_set_bit(want, 100);	/* hole */
	ASSERT_EQ(0, kmig_classify_init(&c)) TH_LOG("init");
	ASSERT_EQ(0, kmig_classify(&c, &self->ram.blocks[0], 0, 128, 0, want, zero, &cnt))
		TH_LOG("classify");
	ASSERT_TRUE(cnt.data == 1 && cnt.zero_data == 1 && cnt.none == 1)
		TH_LOG("want counts: data %llu zero %llu none %llu", (unsigned long long)cnt.data,
		       (unsigned long long)cnt.zero_data, (unsigned long long)cnt.none);
	ASSERT_TRUE(!kmig_test_bit(zero, 12) && kmig_test_bit(zero, 25) && kmig_test_bit(zero, 100))
		TH_LOG("want bits");
	kmig_classify_fini(&c);
}

/*
 * A block that is a range of a larger memfd (a VMM slot at an offset):
 * holes are found at the right place, and nothing outside the range counts.
 * Pages 0..99 of the memfd are data (they are outside the block), the block
 * starts at page 100.
 */
TEST(fd_range)
{
	struct kmig_classifier c;
	struct kmig_ram ram, whole;
	struct kmig_class_counts cnt = { 0 };
	uint64_t zero[KMIG_BITMAP_WORDS(NP)];
	int fd = memfd_create("range", MFD_CLOEXEC);

	kmig_ram_init(&ram);
	kmig_ram_init(&whole);
	ASSERT_TRUE(fd >= 0 && ftruncate(fd, (NP + 200) * PG) == 0) TH_LOG("memfd");
	ASSERT_EQ(0, kmig_ram_add_fd_range(&whole, "w", fd, 0, 100 * PG, true, NULL))
		TH_LOG("head");
	memset(whole.blocks[0].base, 0x5a, 100 * PG);
	ASSERT_EQ(0, kmig_ram_add_fd_range(&ram, "r", fd, 100 * PG, NP * PG, true, NULL))
		TH_LOG("range");
	ASSERT_EQ(-EINVAL, kmig_ram_add_fd_range(&ram, "x", fd, 100 * PG + 1, PG, true, NULL))
		TH_LOG("unaligned offset accepted");
	ASSERT_EQ(-EINVAL, kmig_ram_add_fd_range(&ram, "y", fd, 201 * PG, NP * PG, true, NULL))
		TH_LOG("range past the end accepted");
	populate(ram.blocks[0].base);
	ASSERT_EQ(0, kmig_classify_init(&c)) TH_LOG("init");
	ASSERT_EQ(0, kmig_classify(&c, &ram.blocks[0], 0, NP, 0, NULL, zero, &cnt))
		TH_LOG("classify");
	check_result(_metadata, zero, &cnt, "range");
	ASSERT_TRUE(whole.blocks[0].base[0] == 0x5a && ram.blocks[0].base[10 * PG + 10] == 10)
		TH_LOG("mappings overlap");
	kmig_classify_fini(&c);
	kmig_ram_free(&ram);
	kmig_ram_free(&whole);
	close(fd);
}

/* A chunk of the memfd that populate() filled: pages 0..127. */
static void chunk_of(struct kmig_work *w, bool hinted)
{
	memset(w, 0, sizeof(*w));
	w->kind = KMIG_WORK_PAGES;
	w->mask[0] = w->mask[1] = ~0ULL;
	w->hinted = hinted;
}

static bool crcs_ok(const struct kmig_chunk_pages *cp, const uint8_t *base, const uint8_t *stage,
		    bool psum)
{
	for (unsigned int i = 0; i < cp->nr_data; i++) {
		const uint8_t *p = base + cp->data[i] * PG;
		uint32_t crc = psum ? kmig_psum(p, PG) : kmig_crc32c_buf(p, PG);

		if (cp->crc[i] != crc || (stage && memcmp(stage + i * PG, p, PG)))
			return false;
	}
	return true;
}

#define ALL (KMIG_PASS_CRC | KMIG_PASS_STAGE)

TEST_F(memfd, pass)
{
	struct kmig_chan_stats cs = { 0 };
	struct kmig_chunk_pages cp;
	struct kmig_pass ps;
	struct kmig_work w;

	ASSERT_EQ(0, kmig_pass_init(&ps, true)) TH_LOG("init");
	/* Unhinted: holes skipped, 20..29 read and zero, 10..19 data. */
	chunk_of(&w, false);
	ASSERT_EQ(0, kmig_pass_chunk(&ps, &self->ram.blocks[0], &w, ALL, &cp, &cs)) TH_LOG("pass");
	ASSERT_TRUE(cp.nr_data == 10 && cp.data[0] == 10 && cp.nr_zero == 118)
		TH_LOG("data %u zero %u", cp.nr_data, cp.nr_zero);
	ASSERT_TRUE(crcs_ok(&cp, self->ram.blocks[0].base, ps.stage, false))
		TH_LOG("CRCs or staged copies");
	ASSERT_TRUE(cs.pages_none == 108 && cs.pages_zero == 10)
		TH_LOG("none %llu zero %llu", (unsigned long long)cs.pages_none,
		       (unsigned long long)cs.pages_zero);
	ASSERT_TRUE(cs.bytes_read == 20 * PG && cs.bytes_copied == 10 * PG)
		TH_LOG("read %llu copied %llu: each page read once",
		       (unsigned long long)cs.bytes_read,
		       (unsigned long long)cs.bytes_copied);
	/* Hinted: page 12 (data) hinted zero is never read; 20..29 (written
	 * zero) and 40 (a hole) hinted data are data, not checked again. */
	chunk_of(&w, true);
	memset(w.mask, 0, sizeof(w.mask));
	kmig_set_bit(w.mask, 12);
	kmig_set_bit(w.zmask, 12);
	for (int i = 20; i < 30; i++)
		kmig_set_bit(w.mask, i);
	kmig_set_bit(w.mask, 40);
	memset(&cs, 0, sizeof(cs));
	ASSERT_EQ(0, kmig_pass_chunk(&ps, &self->ram.blocks[0], &w, ALL, &cp, &cs)) TH_LOG("hinted pass");
	ASSERT_TRUE(cp.nr_zero == 1 && cp.zero[0] == 12 && cp.nr_data == 11 && cp.data[10] == 40)
		TH_LOG("hinted: zero %u data %u", cp.nr_zero, cp.nr_data);
	ASSERT_TRUE(crcs_ok(&cp, self->ram.blocks[0].base, ps.stage, false)) TH_LOG("hinted CRCs");
	ASSERT_TRUE(cs.pages_none == 1 && cs.pages_zero == 0 && cs.bytes_read == 11 * PG)
		TH_LOG("hinted counts: none %llu zero %llu read %llu",
		       (unsigned long long)cs.pages_none,
		       (unsigned long long)cs.pages_zero,
		       (unsigned long long)cs.bytes_read);
	/* The stream's page checksum: the page sum instead of CRC32C. */
	ASSERT_EQ(0, kmig_pass_chunk(&ps, &self->ram.blocks[0], &w, KMIG_PASS_PSUM, &cp, &cs))
		TH_LOG("page sum pass");
	ASSERT_TRUE(cp.nr_data == 11 && crcs_ok(&cp, self->ram.blocks[0].base, NULL, true))
		TH_LOG("page sum of each data page");
	/* Staged: the copy and its sum in one pass. */
	ASSERT_EQ(0, kmig_pass_chunk(&ps, &self->ram.blocks[0], &w, KMIG_PASS_PSUM | KMIG_PASS_STAGE,
				     &cp, &cs))
		TH_LOG("staged page sum pass");
	ASSERT_TRUE(cp.nr_data == 11 && crcs_ok(&cp, self->ram.blocks[0].base, ps.stage, true))
		TH_LOG("staged copies and their page sums");
	kmig_pass_fini(&ps);
}

TEST_HARNESS_MAIN
