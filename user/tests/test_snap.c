// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot files without a VM: the writer (as the precopy loop drives it)
 * over memfd RAM blocks, the loader and the parallel reader, and hostile
 * files, each refused with an error that names the problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "snap/snap_load.h"
#include "snap/snap_write.h"
#include "liesnap.h"
#include "kselftest_harness.h"

#define B0_PAGES	300	/* not a multiple of 64: the bitmap has a tail */
#define B1_PAGES	64

/* The test's directory and the snapshot file in it (FIXTURE_SETUP). */
static char dir[256];
static char path[300];
static const char devstate[] = "device state blob: vcpu registers and so on";

static void fill_page(uint8_t *p, uint64_t seed)
{
	for (unsigned int i = 0; i < KMIG_PAGE_SIZE; i += 8)
		memcpy(p + i, &(uint64_t){ seed * 0x9e3779b97f4a7c15ULL + i }, 8);
}

/* Block 0: every third page left zero (a memfd hole); block 1: all data. */
static int make_ram(struct kmig_ram *ram)
{
	int ret;

	kmig_ram_init(ram);
	ret = kmig_ram_add_memfd(ram, "ram0", B0_PAGES * KMIG_PAGE_SIZE, NULL) ?:
	      kmig_ram_add_memfd(ram, "ram1", B1_PAGES * KMIG_PAGE_SIZE, NULL);
	for (uint64_t i = 0; !ret && i < B0_PAGES; i++)
		if (i % 3)
			fill_page(ram->blocks[0].base + i * KMIG_PAGE_SIZE, i);
	for (uint64_t i = 0; !ret && i < B1_PAGES; i++)
		fill_page(ram->blocks[1].base + i * KMIG_PAGE_SIZE, 1000 + i);
	return ret;
}

static int writer(struct kmig_snap_writer **w, const struct kmig_ram *ram, unsigned int thr)
{
	struct kmig_snap_wopts o;
	struct kmig_err e = { 0 };
	int ret;

	kmig_snap_wopts_init(&o);
	o.nr_threads = thr;
	ret = kmig_snap_writer_create(w, path, &o, ram, &e);
	if (ret)
		fprintf(stderr, "# writer: %s\n", e.msg);
	return ret;
}

/* A complete file of @ram at path. */
static int save(const struct kmig_ram *ram, unsigned int thr)
{
	const struct kmig_sink_ops *ops = &kmig_snap_sink_ops;
	struct kmig_sink_commit c;
	struct kmig_snap_writer *w;
	int ret = writer(&w, ram, thr);

	for (unsigned int i = 0; !ret && i < ram->nr; i++)
		ret = ops->queue(w, i, 0, ram->blocks[i].npages, NULL, NULL);
	if (!ret)
		ret = ops->finish(w, devstate, sizeof(devstate));
	if (!ret)
		ret = ops->commit(w, 0, &c);
	if (ret)
		fprintf(stderr, "# save: %s\n", ops->error(w));
	ops->destroy(w);
	return ret;
}

static int load_opts(struct kmig_snap **s, const struct kmig_snap_opts *o, struct kmig_err *e)
{
	memset(e, 0, sizeof(*e));
	*s = NULL;
	return kmig_snap_open(s, path, o, e);
}

static int load(struct kmig_snap **s, struct kmig_err *e)
{
	static const struct kmig_snap_opts o = { .keep = true };

	return load_opts(s, &o, e);
}

/* A temporary directory per test, removed with what the tests leave in it
 * (a failed check can leave the FIFO and its link of not_regular). */
static void dir_make(struct __test_metadata *_metadata)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/kmig-snap-test.XXXXXX",
		 tmp && strlen(tmp) < 200 ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(dir)) TH_LOG("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/snap", dir);
}

static void dir_remove(struct __test_metadata *_metadata)
{
	static const char *const names[] = { "snap", "fifo", "link" };
	char p[320];

	for (size_t i = 0; i < KMIG_ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	EXPECT_EQ(0, rmdir(dir)) TH_LOG("rmdir %s: %s", dir, strerror(errno));
}

FIXTURE(snap) {
};

FIXTURE_SETUP(snap)
{
	dir_make(_metadata);
}

FIXTURE_TEARDOWN(snap)
{
	dir_remove(_metadata);
}

TEST_F(snap, roundtrip)
{
	struct kmig_ram src, dst;
	struct kmig_snap *s;
	struct kmig_err e;
	struct kmig_stats rs;
	struct stat sb;

	ASSERT_TRUE(!make_ram(&src) && !make_ram(&dst)) TH_LOG("ram");
	kmig_ram_free(&dst);	/* fresh memfds: nothing allocated */
	kmig_ram_init(&dst);
	ASSERT_TRUE(!kmig_ram_add_memfd(&dst, "ram0", B0_PAGES * KMIG_PAGE_SIZE, NULL) &&
		    !kmig_ram_add_memfd(&dst, "ram1", B1_PAGES * KMIG_PAGE_SIZE, NULL))
		TH_LOG("dst");
	ASSERT_TRUE(!save(&src, 3)) TH_LOG("save");
	ASSERT_TRUE(!load(&s, &e)) TH_LOG("load: %s", e.msg);
	EXPECT_EQ(B0_PAGES - 100, s->blocks[0].present_pages)
		TH_LOG("present %llu", (unsigned long long)s->blocks[0].present_pages);
	EXPECT_TRUE(s->h.devstate_len == sizeof(devstate) &&
		    !memcmp(s->devstate, devstate, sizeof(devstate)))
		TH_LOG("device state");
	ASSERT_TRUE(!kmig_snap_match(s, &dst, &e)) TH_LOG("match: %s", e.msg);
	ASSERT_TRUE(!kmig_snap_read(s, &dst, 4, NULL, NULL, &rs, &e)) TH_LOG("read: %s", e.msg);
	EXPECT_TRUE(rs.sum.pages_raw == B0_PAGES - 100 + B1_PAGES && rs.sum.pages_none == 100)
		TH_LOG("read %llu, absent %llu", (unsigned long long)rs.sum.pages_raw,
		       (unsigned long long)rs.sum.pages_none);
	/* Absent pages were never touched: the memfd holds only the read ones
	 * (checked before the comparison, which reads, and so allocates, all). */
	ASSERT_TRUE(!fstat(dst.blocks[0].fd, &sb)) TH_LOG("fstat");
	EXPECT_EQ((B0_PAGES - 100) * KMIG_PAGE_SIZE, (uint64_t)sb.st_blocks * 512)
		TH_LOG("destination memfd has %llu bytes allocated, expected %u",
		       (unsigned long long)sb.st_blocks * 512, (B0_PAGES - 100) * KMIG_PAGE_SIZE);
	for (unsigned int i = 0; i < 2; i++) {
		EXPECT_TRUE(!memcmp(src.blocks[i].base, dst.blocks[i].base, src.blocks[i].size))
			TH_LOG("block %u differs", i);
	}
	/* The file is sparse: zero pages are holes. */
	ASSERT_TRUE(!stat(path, &sb)) TH_LOG("stat");
	EXPECT_TRUE((uint64_t)sb.st_blocks * 512 < (uint64_t)sb.st_size) TH_LOG("file not sparse");
	kmig_snap_close(s);
	kmig_ram_free(&src);
	kmig_ram_free(&dst);
}

/* Precopy semantics: a page queued again is rewritten in place; a page
 * that became zero leaves the bitmap; the last content wins. */
TEST_F(snap, rewrite)
{
	const struct kmig_sink_ops *ops = &kmig_snap_sink_ops;
	struct kmig_snap_writer *w;
	struct kmig_ram ram;
	struct kmig_snap *s;
	struct kmig_err e;
	uint64_t bm = 0;
	uint8_t *page = kmig_snap_alloc(KMIG_PAGE_SIZE);	/* O_DIRECT: aligned */
	struct kmig_sink_commit c;
	struct stat sb;

	ASSERT_TRUE(page && !make_ram(&ram)) TH_LOG("ram");
	ASSERT_TRUE(!writer(&w, &ram, 2)) TH_LOG("writer");
	ASSERT_TRUE(!ops->queue(w, 1, 0, B1_PAGES, NULL, NULL) && !ops->flush(w)) TH_LOG("pass 0");
	ASSERT_TRUE(!stat(path, &sb)) TH_LOG("stat");
	fill_page(ram.blocks[1].base + 5 * KMIG_PAGE_SIZE, 777);
	memset(ram.blocks[1].base + 9 * KMIG_PAGE_SIZE, 0, KMIG_PAGE_SIZE);
	bm = 1ULL << 5 | 1ULL << 9;
	ASSERT_TRUE(!ops->queue(w, 1, 0, B1_PAGES, &bm, NULL)) TH_LOG("pass 1");
	/* Before the commit the file is refused. */
	ASSERT_TRUE(!ops->flush(w)) TH_LOG("flush");
	EXPECT_TRUE(load(&s, &e) == -EBADMSG && strstr(e.msg, "state WRITING"))
		TH_LOG("mid-save file: %s", e.msg);
	ASSERT_TRUE(!ops->queue(w, 0, 0, B0_PAGES, NULL, NULL) && !ops->finish(w, NULL, 0))
		TH_LOG("finish: %s", ops->error(w));
	/* Finished is not committed: every byte is there, the file is refused. */
	EXPECT_TRUE(load(&s, &e) == -EBADMSG && strstr(e.msg, "state WRITING"))
		TH_LOG("finished file before the commit: %s", e.msg);
	ASSERT_TRUE(!ops->commit(w, 0, &c) && !c.in_doubt) TH_LOG("commit: %s", ops->error(w));
	ops->destroy(w);
	ASSERT_TRUE(!load(&s, &e)) TH_LOG("load: %s", e.msg);
	EXPECT_TRUE(s->blocks[1].present_pages == B1_PAGES - 1 &&
		    !kmig_test_bit(s->bitmaps[1], 9) && kmig_test_bit(s->bitmaps[1], 5))
		TH_LOG("bitmap after rewrite");
	ASSERT_TRUE(!kmig_snap_pread(s->f.fd, page, KMIG_PAGE_SIZE,
				     s->blocks[1].data_offset + 5 * KMIG_PAGE_SIZE))
		TH_LOG("pread");
	EXPECT_TRUE(!memcmp(page, ram.blocks[1].base + 5 * KMIG_PAGE_SIZE, KMIG_PAGE_SIZE))
		TH_LOG("page 5 has the old content");
	EXPECT_EQ(0, s->h.devstate_len) TH_LOG("no device state");
	kmig_snap_close(s);
	kmig_ram_free(&ram);
	free(page);
}

/* A save that fails or is cancelled leaves no file. */
TEST_F(snap, cancel_removes)
{
	const struct kmig_sink_ops *ops = &kmig_snap_sink_ops;
	struct kmig_snap_writer *w;
	struct kmig_ram ram;

	ASSERT_TRUE(!make_ram(&ram)) TH_LOG("ram");
	ASSERT_TRUE(!save(&ram, 1)) TH_LOG("a complete file first");
	ASSERT_TRUE(!writer(&w, &ram, 2)) TH_LOG("writer");
	ASSERT_TRUE(!ops->queue(w, 0, 0, B0_PAGES, NULL, NULL)) TH_LOG("queue");
	ops->cancel(w, -ECANCELED);
	EXPECT_EQ(-ECANCELED, ops->finish(w, NULL, 0)) TH_LOG("finish after cancel");
	ops->destroy(w);
	EXPECT_TRUE(access(path, F_OK) && errno == ENOENT) TH_LOG("the file is still there");
	/* Finished but never committed (a failure at the point of no return):
	 * removed too. */
	ASSERT_TRUE(!writer(&w, &ram, 2)) TH_LOG("writer");
	ASSERT_TRUE(!ops->queue(w, 0, 0, B0_PAGES, NULL, NULL) && !ops->finish(w, NULL, 0))
		TH_LOG("finish: %s", ops->error(w));
	ops->destroy(w);
	EXPECT_TRUE(access(path, F_OK) && errno == ENOENT)
		TH_LOG("the uncommitted file is still there");
	kmig_ram_free(&ram);
}

/* Header and table as in the file, for the mutations below. */
struct raw {
	struct kmig_snap_hdr h;
	struct kmig_snap_block b[2];
};

static int read_raw(struct raw *r)
{
	struct kmig_snap *s;
	struct kmig_err e;

	if (load(&s, &e))
		return -1;
	r->h = s->h;
	memcpy(r->b, s->blocks, sizeof(r->b));
	kmig_snap_close(s);
	return 0;
}

/* Write @r back with consistent checksums (the table's, the header's). */
static int write_raw(struct raw *r)
{
	uint8_t tbl[2 * KMIG_SNAP_ENTRY_SIZE], hdr[KMIG_SNAP_HDR_SIZE];
	int fd = open(path, O_WRONLY), ret;

	kmig_snap_table_encode(tbl, r->b, 2);
	r->h.table_crc = kmig_crc32c_buf(tbl, sizeof(tbl));
	kmig_snap_hdr_encode(hdr, &r->h);
	ret = pwrite(fd, tbl, sizeof(tbl), r->h.table_offset) != sizeof(tbl) ||
	      pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr);
	close(fd);
	return ret;
}

static int flip(uint64_t off)
{
	int fd = open(path, O_RDWR), ret;
	uint8_t c;

	ret = pread(fd, &c, 1, off) != 1;
	c ^= 0x40;
	ret |= pwrite(fd, &c, 1, off) != 1;
	close(fd);
	return ret;
}

enum mut {
	M_MAGIC, M_VERSION, M_HDR_CRC, M_WRITING, M_FLAGS, M_RESERVED, M_HDR_TAIL,
	M_TABLE_CRC, M_BITMAP_CRC, M_CRCS, M_DEVSTATE, M_OVERLAP, M_PAST_END,
	M_TRUNCATED, M_BITMAP_PAST, M_MISALIGNED, M_NAME, M_DUP_NAME, M_PRESENT,
	M_NR_BLOCKS, M_TABLE_PAST,
};


/* Block 0's bitmap checksum from the file, then the rest (write_raw). */
static int read_bitmap_crc(struct raw *r)
{
	uint8_t bm[(B0_PAGES + 63) / 64 * 8];
	int fd = open(path, O_RDONLY), ret;

	ret = pread(fd, bm, sizeof(bm), r->b[0].bitmap_offset) != sizeof(bm);
	close(fd);
	r->b[0].bitmap_crc = kmig_crc32c_buf(bm, sizeof(bm));
	return ret ?: write_raw(r);
}

/* Damage the file at path one way, keeping every other check satisfied
 * where the mutation needs that to reach its rule. */
static int mutate(enum mut m, struct raw *r)
{
	uint64_t bm_last = r->b[0].bitmap_offset + (B0_PAGES / 64) * 8;

	switch (m) {
	case M_MAGIC: return flip(0);
	case M_VERSION: r->h.version = 2; return write_raw(r);
	case M_HDR_CRC: return flip(88);		/* ram_bytes, crc not redone */
	case M_WRITING: r->h.state = KMIG_SNAP_STATE_WRITING; return write_raw(r);
	case M_FLAGS: r->h.flags |= 0x80; return write_raw(r);
	case M_RESERVED: {
		uint8_t hdr[KMIG_SNAP_HDR_SIZE];
		int fd = open(path, O_WRONLY), ret;

		kmig_snap_hdr_encode(hdr, &r->h);
		hdr[200] = 1;
		kmig_put_le32(hdr + 252, kmig_crc32c_buf(hdr, 252));
		ret = pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr);
		close(fd);
		return ret;
	}
	case M_HDR_TAIL: return flip(1000);
	case M_TABLE_CRC: return flip(r->h.table_offset + 70);
	case M_BITMAP_CRC: return flip(r->b[0].bitmap_offset);
	case M_CRCS: return flip(r->b[1].crc_offset + 7);
	case M_DEVSTATE: return flip(r->h.devstate_offset + 3);
	case M_OVERLAP: r->b[1].data_offset = r->b[0].data_offset; return write_raw(r);
	case M_PAST_END:
		r->b[1].data_offset = kmig_snap_align_up(r->h.file_size, r->h.data_align);
		return write_raw(r);
	case M_TRUNCATED: return truncate(path, r->h.file_size - KMIG_SNAP_ALIGN);
	case M_BITMAP_PAST: {
		/* Set bit 300 (past the 300 pages) and redo every checksum. */
		int fd = open(path, O_RDWR), ret;
		uint64_t w;
		uint8_t le[8];

		ret = pread(fd, le, 8, bm_last) != 8;
		w = kmig_get_le64(le) | 1ULL << (B0_PAGES % 64);
		kmig_put_le64(le, w);
		ret |= pwrite(fd, le, 8, bm_last) != 8;
		close(fd);
		if (ret)
			return ret;
		r->b[0].present_pages++;
		r->h.present_pages++;
		return read_bitmap_crc(r);
	}
	case M_MISALIGNED: r->b[1].data_offset += KMIG_SNAP_ALIGN; return write_raw(r);
	case M_NAME: r->b[0].name[0] = '.'; return write_raw(r);
	case M_DUP_NAME: strcpy(r->b[1].name, "ram0"); return write_raw(r);
	case M_PRESENT: r->b[0].present_pages++; r->h.present_pages++; return write_raw(r);
	case M_NR_BLOCKS: r->h.nr_blocks = 0; r->h.table_size = 0; return write_raw(r);
	case M_TABLE_PAST: r->h.table_offset = r->h.file_size; return write_raw(r);
	}
	return -1;
}

/* One damaged file per variant: the mutation, the error and the words
 * the refusal must carry. */
FIXTURE(hostile) {
	struct kmig_ram ram;
	struct raw r;
};

FIXTURE_VARIANT(hostile) {
	enum mut m;
	int err;
	const char *msg;
};

FIXTURE_VARIANT_ADD(hostile, magic) { M_MAGIC, -EBADMSG, "magic" };
FIXTURE_VARIANT_ADD(hostile, version) { M_VERSION, -EPROTONOSUPPORT, "version 2, expected 1" };
FIXTURE_VARIANT_ADD(hostile, hdr_crc) { M_HDR_CRC, -EBADMSG, "header_crc" };
FIXTURE_VARIANT_ADD(hostile, writing) { M_WRITING, -EBADMSG, "state WRITING, expected COMPLETE" };
FIXTURE_VARIANT_ADD(hostile, flags) { M_FLAGS, -EBADMSG, "unknown bits 0x80" };
FIXTURE_VARIANT_ADD(hostile, reserved) { M_RESERVED, -EBADMSG, "reserved bytes are not zero" };
FIXTURE_VARIANT_ADD(hostile, hdr_tail) { M_HDR_TAIL, -EBADMSG, "of the header page is not zero" };
FIXTURE_VARIANT_ADD(hostile, table_crc) { M_TABLE_CRC, -EBADMSG, "block table: CRC32C" };
FIXTURE_VARIANT_ADD(hostile, bitmap_crc) { M_BITMAP_CRC, -EBADMSG, "block ram0: bitmap CRC32C" };
FIXTURE_VARIANT_ADD(hostile, crcs) { M_CRCS, -EBADMSG, "block ram1: CRC array CRC32C" };
FIXTURE_VARIANT_ADD(hostile, devstate) { M_DEVSTATE, -EBADMSG, "device state: CRC32C" };
FIXTURE_VARIANT_ADD(hostile, overlap) { M_OVERLAP, -EBADMSG, "overlaps" };
FIXTURE_VARIANT_ADD(hostile, past_end) { M_PAST_END, -EBADMSG, "past the header's file_size" };
FIXTURE_VARIANT_ADD(hostile, truncated) {
	M_TRUNCATED, -EBADMSG, "truncated: the header's file_size is",
};
FIXTURE_VARIANT_ADD(hostile, bitmap_past) {
	M_BITMAP_PAST, -EBADMSG, "bitmap claims pages past the block",
};
FIXTURE_VARIANT_ADD(hostile, misaligned) { M_MISALIGNED, -EBADMSG, "is not a multiple of 2097152" };
FIXTURE_VARIANT_ADD(hostile, name) { M_NAME, -EBADMSG, "block 0: name is not" };
FIXTURE_VARIANT_ADD(hostile, dup_name) { M_DUP_NAME, -EBADMSG, "appears twice" };
FIXTURE_VARIANT_ADD(hostile, present) {
	M_PRESENT, -EBADMSG, "bitmap has 200 pages set, table's present_pages 201",
};
FIXTURE_VARIANT_ADD(hostile, nr_blocks) { M_NR_BLOCKS, -EBADMSG, "nr_blocks 0, expected 1..256" };
FIXTURE_VARIANT_ADD(hostile, table_past) {
	M_TABLE_PAST, -EBADMSG, "block table: 256 bytes at offset",
};

/* A valid file of make_ram() at path, and its header and table. */
FIXTURE_SETUP(hostile)
{
	dir_make(_metadata);
	ASSERT_TRUE(!make_ram(&self->ram)) TH_LOG("ram");
	ASSERT_TRUE(!save(&self->ram, 2) && !read_raw(&self->r)) TH_LOG("a valid file");
}

FIXTURE_TEARDOWN(hostile)
{
	kmig_ram_free(&self->ram);
	dir_remove(_metadata);
}

TEST_F(hostile, refused)
{
	struct kmig_snap *s;
	struct kmig_err e;
	int ret;

	ASSERT_TRUE(!mutate(variant->m, &self->r)) TH_LOG("mutation");
	ret = load(&s, &e);
	EXPECT_TRUE(ret == variant->err && strstr(e.msg, variant->msg) && strstr(e.msg, path))
		TH_LOG("got %d \"%s\", expected %d \"%s\"", ret, e.msg, variant->err,
		       variant->msg);
	if (!ret)
		kmig_snap_close(s);
	else
		TH_LOG("%s", e.msg);
	/* The same rules hold when the sections are checked in pieces. */
	ret = load_opts(&s, &(struct kmig_snap_opts){ 0 }, &e);
	EXPECT_TRUE(ret == variant->err && strstr(e.msg, variant->msg))
		TH_LOG("without keep: got %d \"%s\"", ret, e.msg);
	if (!ret)
		kmig_snap_close(s);
}

/* A damaged page passes the metadata checks and fails at its read. */
TEST_F(snap, bad_page)
{
	struct kmig_ram ram, dst;
	struct kmig_snap *s;
	struct kmig_err e;

	ASSERT_TRUE(!make_ram(&ram)) TH_LOG("ram");
	kmig_ram_init(&dst);
	ASSERT_TRUE(!save(&ram, 2)) TH_LOG("save");
	ASSERT_TRUE(!load(&s, &e)) TH_LOG("load: %s", e.msg);
	ASSERT_TRUE(!flip(s->blocks[1].data_offset + 17 * KMIG_PAGE_SIZE + 5)) TH_LOG("flip");
	kmig_snap_close(s);
	ASSERT_TRUE(!load(&s, &e)) TH_LOG("metadata intact: %s", e.msg);
	memset(&e, 0, sizeof(e));
	EXPECT_TRUE(kmig_snap_read(s, NULL, 2, NULL, NULL, NULL, &e) == -EBADMSG &&
		    strstr(e.msg, "block ram1 page 17: data page sum"))
		TH_LOG("read: %s", e.msg);
	TH_LOG("refused: %s", e.msg);
	/* A destination VM of another layout. */
	ASSERT_TRUE(!kmig_ram_add_memfd(&dst, "ram0", B0_PAGES * KMIG_PAGE_SIZE, NULL) &&
		    !kmig_ram_add_memfd(&dst, "ram1", 2 * B1_PAGES * KMIG_PAGE_SIZE, NULL))
		TH_LOG("dst");
	memset(&e, 0, sizeof(e));
	EXPECT_TRUE(kmig_snap_match(s, &dst, &e) == -EINVAL &&
		    strstr(e.msg, "block 1 is ram1 of 262144 bytes in the file, the destination "
				  "VM's is ram1 of 524288 bytes"))
		TH_LOG("match: %s", e.msg);
	kmig_snap_close(s);
	kmig_ram_free(&ram);
	kmig_ram_free(&dst);
}

/*
 * A sparse file of a few KiB that claims far more RAM than it holds: the
 * claim is refused over max_ram, or against a destination's layout, before
 * anything sized by it is allocated; without keep it is checked in pieces.
 */
TEST_F(snap, lying_claim)
{
	struct kmig_snap_opts o = { .max_ram = 1ULL << 30 };
	struct kmig_ram dst;
	struct kmig_snap *s;
	struct kmig_err e;
	struct stat sb;
	int ret;

	ASSERT_TRUE(!kmig_test_lying_snapshot(path, "ram0", 64ULL << 30)) TH_LOG("lying file");
	ASSERT_TRUE(!stat(path, &sb) && sb.st_blocks * 512 < (1 << 20))
		TH_LOG("sparse: %lld bytes", (long long)sb.st_blocks * 512);
	ret = load_opts(&s, &o, &e);
	EXPECT_TRUE(ret == -EFBIG &&
		    strstr(e.msg, "claims 64.0 GiB of RAM, more than the limit of 1.0 GiB"))
		TH_LOG("max_ram: %d %s", ret, e.msg);
	TH_LOG("refused: %s", e.msg);
	/* A valid file as far as the format goes: accepted without keep,
	 * and nothing kept. */
	o = (struct kmig_snap_opts){ 0 };
	ret = load_opts(&s, &o, &e);
	ASSERT_TRUE(!ret) TH_LOG("without keep: %s", e.msg);
	EXPECT_TRUE(!s->bitmaps[0] && !s->crcs[0] && !s->devstate) TH_LOG("sections kept");
	EXPECT_EQ(-EINVAL, kmig_snap_read(s, NULL, 1, NULL, NULL, NULL, &e))
		TH_LOG("read without keep");
	kmig_snap_close(s);
	kmig_ram_init(&dst);
	ASSERT_TRUE(!kmig_ram_add_memfd(&dst, "ram0", 1 << 20, NULL)) TH_LOG("dst");
	o = (struct kmig_snap_opts){ .layout = &dst, .keep = true };
	ret = load_opts(&s, &o, &e);
	EXPECT_TRUE(ret == -EINVAL &&
		    strstr(e.msg, "block 0 is ram0 of 68719476736 bytes in "
				  "the file, the destination VM's is ram0 of 1048576 bytes"))
		TH_LOG("layout: %d %s", ret, e.msg);
	kmig_ram_free(&dst);
}

/*
 * Restore matches the layout before it allocates: under an address-space
 * limit far below a 1 TiB claim's 1 GiB of CRC array, the answer is the
 * layout mismatch, not -ENOMEM. (Not under ASan, which reserves terabytes
 * of address space for its shadow.)
 */
TEST_F(snap, layout_first)
{
#if defined(__SANITIZE_ADDRESS__)
	SKIP(return, "under ASan: its shadow needs more address space than RLIMIT_AS allows");
#else
	int status;
	pid_t pid;

	ASSERT_TRUE(!kmig_test_lying_snapshot(path, "ram0", 1ULL << 40)) TH_LOG("lying file");
	pid = fork();
	ASSERT_TRUE(pid >= 0) TH_LOG("fork");
	if (!pid) {
		struct rlimit rl = { 512ULL << 20, 512ULL << 20 };
		struct kmig_snap_opts o = { .keep = true };
		struct kmig_ram dst;
		struct kmig_snap *s;
		struct kmig_err e;
		int ret;

		kmig_ram_init(&dst);
		if (kmig_ram_add_memfd(&dst, "ram0", 1 << 20, NULL) || setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		o.layout = &dst;
		ret = load_opts(&s, &o, &e);
		TH_LOG("restore-style open: %d %s", ret, e.msg);
		_exit(ret == -EINVAL && strstr(e.msg, "the destination VM's is ram0") ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0)) TH_LOG("waitpid");
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("child status 0x%x", status);
#endif
}

/* Opening a FIFO (or a device, or a symlink to one) must not block. */
TEST_F(snap, not_regular)
{
	char fifo[320], link[320];
	const char *paths[] = { fifo, link, "/dev/null" };
	struct kmig_snap_wopts wo;
	struct kmig_snap_writer *w;
	struct kmig_snap *s;
	struct kmig_err e;
	struct kmig_ram ram;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ASSERT_TRUE(!mkfifo(fifo, 0600) && !symlink(fifo, link)) TH_LOG("mkfifo");
	ASSERT_TRUE(!make_ram(&ram)) TH_LOG("ram");
	kmig_snap_wopts_init(&wo);
	alarm(20);	/* a blocked open() fails the test instead of hanging it */
	for (size_t i = 0; i < KMIG_ARRAY_SIZE(paths); i++) {
		int ret;

		memset(&e, 0, sizeof(e));
		ret = kmig_snap_open(&s, paths[i], &(struct kmig_snap_opts){ .keep = true }, &e);
		EXPECT_TRUE(ret == -EINVAL && strstr(e.msg, "not a regular file"))
			TH_LOG("load %s: %d %s", paths[i], ret, e.msg);
		TH_LOG("refused: %s", e.msg);
		memset(&e, 0, sizeof(e));
		if (i < 2) {	/* (the writer would create /dev/null's replacement) */
			ret = kmig_snap_writer_create(&w, paths[i], &wo, &ram, &e);
			EXPECT_EQ(-EINVAL, ret) TH_LOG("writer %s: %d %s", paths[i], ret, e.msg);
			if (!ret)
				kmig_snap_sink_ops.destroy(w);
		}
	}
	alarm(0);
	unlink(link);
	unlink(fifo);
	kmig_ram_free(&ram);
}

TEST_HARNESS_MAIN
