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
#include "t.h"

#define B0_PAGES	300	/* not a multiple of 64: the bitmap has a tail */
#define B1_PAGES	64

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
		printf("# writer: %s\n", e.msg);
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
		printf("# save: %s\n", ops->error(w));
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

static void t_roundtrip(struct t_state *st)
{
	struct kmig_ram src, dst;
	struct kmig_snap *s;
	struct kmig_err e;
	struct kmig_stats rs;
	struct stat sb;

	T_ASSERT(st, !make_ram(&src) && !make_ram(&dst), "ram");
	kmig_ram_free(&dst);	/* fresh memfds: nothing allocated */
	kmig_ram_init(&dst);
	T_ASSERT(st, !kmig_ram_add_memfd(&dst, "ram0", B0_PAGES * KMIG_PAGE_SIZE, NULL) &&
		 !kmig_ram_add_memfd(&dst, "ram1", B1_PAGES * KMIG_PAGE_SIZE, NULL), "dst");
	T_ASSERT(st, !save(&src, 3), "save");
	T_ASSERT(st, !load(&s, &e), "load: %s", e.msg);
	T_EXPECT(st, s->blocks[0].present_pages == B0_PAGES - 100, "present %llu",
		 (unsigned long long)s->blocks[0].present_pages);
	T_EXPECT(st, s->h.devstate_len == sizeof(devstate) &&
		 !memcmp(s->devstate, devstate, sizeof(devstate)), "device state");
	T_ASSERT(st, !kmig_snap_match(s, &dst, &e), "match: %s", e.msg);
	T_ASSERT(st, !kmig_snap_read(s, &dst, 4, NULL, NULL, &rs, &e), "read: %s", e.msg);
	T_EXPECT(st, rs.sum.pages_raw == B0_PAGES - 100 + B1_PAGES &&
		 rs.sum.pages_none == 100, "read %llu, absent %llu",
		 (unsigned long long)rs.sum.pages_raw, (unsigned long long)rs.sum.pages_none);
	/* Absent pages were never touched: the memfd holds only the read ones
	 * (checked before the comparison, which reads, and so allocates, all). */
	T_ASSERT(st, !fstat(dst.blocks[0].fd, &sb), "fstat");
	T_EXPECT(st, (uint64_t)sb.st_blocks * 512 == (B0_PAGES - 100) * KMIG_PAGE_SIZE,
		 "destination memfd has %llu bytes allocated, expected %u",
		 (unsigned long long)sb.st_blocks * 512, (B0_PAGES - 100) * KMIG_PAGE_SIZE);
	for (unsigned int i = 0; i < 2; i++)
		T_EXPECT(st, !memcmp(src.blocks[i].base, dst.blocks[i].base, src.blocks[i].size),
			 "block %u differs", i);
	/* The file is sparse: zero pages are holes. */
	T_ASSERT(st, !stat(path, &sb), "stat");
	T_EXPECT(st, (uint64_t)sb.st_blocks * 512 < (uint64_t)sb.st_size, "file not sparse");
	kmig_snap_close(s);
	kmig_ram_free(&src);
	kmig_ram_free(&dst);
}

/* Precopy semantics: a page queued again is rewritten in place; a page
 * that became zero leaves the bitmap; the last content wins. */
static void t_rewrite(struct t_state *st)
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

	T_ASSERT(st, page && !make_ram(&ram), "ram");
	T_ASSERT(st, !writer(&w, &ram, 2), "writer");
	T_ASSERT(st, !ops->queue(w, 1, 0, B1_PAGES, NULL, NULL) && !ops->flush(w), "pass 0");
	T_ASSERT(st, !stat(path, &sb), "stat");
	fill_page(ram.blocks[1].base + 5 * KMIG_PAGE_SIZE, 777);
	memset(ram.blocks[1].base + 9 * KMIG_PAGE_SIZE, 0, KMIG_PAGE_SIZE);
	bm = 1ULL << 5 | 1ULL << 9;
	T_ASSERT(st, !ops->queue(w, 1, 0, B1_PAGES, &bm, NULL), "pass 1");
	/* Before the commit the file is refused. */
	T_ASSERT(st, !ops->flush(w), "flush");
	T_EXPECT(st, load(&s, &e) == -EBADMSG && strstr(e.msg, "state WRITING"),
		 "mid-save file: %s", e.msg);
	T_ASSERT(st, !ops->queue(w, 0, 0, B0_PAGES, NULL, NULL) &&
		 !ops->finish(w, NULL, 0), "finish: %s", ops->error(w));
	/* Finished is not committed: every byte is there, the file is refused. */
	T_EXPECT(st, load(&s, &e) == -EBADMSG && strstr(e.msg, "state WRITING"),
		 "finished file before the commit: %s", e.msg);
	T_ASSERT(st, !ops->commit(w, 0, &c) && !c.in_doubt, "commit: %s", ops->error(w));
	ops->destroy(w);
	T_ASSERT(st, !load(&s, &e), "load: %s", e.msg);
	T_EXPECT(st, s->blocks[1].present_pages == B1_PAGES - 1 &&
		 !kmig_test_bit(s->bitmaps[1], 9) && kmig_test_bit(s->bitmaps[1], 5),
		 "bitmap after rewrite");
	T_ASSERT(st, !kmig_snap_pread(s->f.fd, page, KMIG_PAGE_SIZE,
				      s->blocks[1].data_offset + 5 * KMIG_PAGE_SIZE), "pread");
	T_EXPECT(st, !memcmp(page, ram.blocks[1].base + 5 * KMIG_PAGE_SIZE, KMIG_PAGE_SIZE),
		 "page 5 has the old content");
	T_EXPECT(st, s->h.devstate_len == 0, "no device state");
	kmig_snap_close(s);
	kmig_ram_free(&ram);
	free(page);
}

/* A save that fails or is cancelled leaves no file. */
static void t_cancel_removes(struct t_state *st)
{
	const struct kmig_sink_ops *ops = &kmig_snap_sink_ops;
	struct kmig_snap_writer *w;
	struct kmig_ram ram;

	T_ASSERT(st, !make_ram(&ram), "ram");
	T_ASSERT(st, !save(&ram, 1), "a complete file first");
	T_ASSERT(st, !writer(&w, &ram, 2), "writer");
	T_ASSERT(st, !ops->queue(w, 0, 0, B0_PAGES, NULL, NULL), "queue");
	ops->cancel(w, -ECANCELED);
	T_EXPECT(st, ops->finish(w, NULL, 0) == -ECANCELED, "finish after cancel");
	ops->destroy(w);
	T_EXPECT(st, access(path, F_OK) && errno == ENOENT, "the file is still there");
	/* Finished but never committed (a failure at the point of no return):
	 * removed too. */
	T_ASSERT(st, !writer(&w, &ram, 2), "writer");
	T_ASSERT(st, !ops->queue(w, 0, 0, B0_PAGES, NULL, NULL) && !ops->finish(w, NULL, 0),
		 "finish: %s", ops->error(w));
	ops->destroy(w);
	T_EXPECT(st, access(path, F_OK) && errno == ENOENT, "the uncommitted file is still there");
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

static const struct {
	enum mut m;
	int err;
	const char *msg;
} hostile[] = {
	{ M_MAGIC, -EBADMSG, "magic" },
	{ M_VERSION, -EPROTONOSUPPORT, "version 2, expected 1" },
	{ M_HDR_CRC, -EBADMSG, "header_crc" },
	{ M_WRITING, -EBADMSG, "state WRITING, expected COMPLETE" },
	{ M_FLAGS, -EBADMSG, "unknown bits 0x80" },
	{ M_RESERVED, -EBADMSG, "reserved bytes are not zero" },
	{ M_HDR_TAIL, -EBADMSG, "of the header page is not zero" },
	{ M_TABLE_CRC, -EBADMSG, "block table: CRC32C" },
	{ M_BITMAP_CRC, -EBADMSG, "block ram0: bitmap CRC32C" },
	{ M_CRCS, -EBADMSG, "block ram1: CRC array CRC32C" },
	{ M_DEVSTATE, -EBADMSG, "device state: CRC32C" },
	{ M_OVERLAP, -EBADMSG, "overlaps" },
	{ M_PAST_END, -EBADMSG, "past the header's file_size" },
	{ M_TRUNCATED, -EBADMSG, "truncated: the header's file_size is" },
	{ M_BITMAP_PAST, -EBADMSG, "bitmap claims pages past the block" },
	{ M_MISALIGNED, -EBADMSG, "is not a multiple of 2097152" },
	{ M_NAME, -EBADMSG, "block 0: name is not" },
	{ M_DUP_NAME, -EBADMSG, "appears twice" },
	{ M_PRESENT, -EBADMSG, "bitmap has 200 pages set, table's present_pages 201" },
	{ M_NR_BLOCKS, -EBADMSG, "nr_blocks 0, expected 1..256" },
	{ M_TABLE_PAST, -EBADMSG, "block table: 256 bytes at offset" },
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

static void t_hostile(struct t_state *st)
{
	struct kmig_ram ram;
	struct kmig_snap *s;
	struct kmig_err e;
	struct raw r;

	T_ASSERT(st, !make_ram(&ram), "ram");
	for (size_t i = 0; i < KMIG_ARRAY_SIZE(hostile); i++) {
		int ret;

		T_ASSERT(st, !save(&ram, 2) && !read_raw(&r), "a valid file");
		T_ASSERT(st, !mutate(hostile[i].m, &r), "mutation %zu", i);
		ret = load(&s, &e);
		T_EXPECT(st, ret == hostile[i].err && strstr(e.msg, hostile[i].msg) &&
			 strstr(e.msg, path), "case %zu: got %d \"%s\", expected %d \"%s\"", i,
			 ret, e.msg, hostile[i].err, hostile[i].msg);
		if (!ret)
			kmig_snap_close(s);
		else
			printf("#   refused: %s\n", e.msg);
		/* The same rules hold when the sections are checked in pieces. */
		ret = load_opts(&s, &(struct kmig_snap_opts){ 0 }, &e);
		T_EXPECT(st, ret == hostile[i].err && strstr(e.msg, hostile[i].msg),
			 "case %zu without keep: got %d \"%s\"", i, ret, e.msg);
		if (!ret)
			kmig_snap_close(s);
	}
	kmig_ram_free(&ram);
}

/* A damaged page passes the metadata checks and fails at its read. */
static void t_bad_page(struct t_state *st)
{
	struct kmig_ram ram, dst;
	struct kmig_snap *s;
	struct kmig_err e;

	T_ASSERT(st, !make_ram(&ram), "ram");
	kmig_ram_init(&dst);
	T_ASSERT(st, !save(&ram, 2), "save");
	T_ASSERT(st, !load(&s, &e), "load: %s", e.msg);
	T_ASSERT(st, !flip(s->blocks[1].data_offset + 17 * KMIG_PAGE_SIZE + 5), "flip");
	kmig_snap_close(s);
	T_ASSERT(st, !load(&s, &e), "metadata intact: %s", e.msg);
	memset(&e, 0, sizeof(e));
	T_EXPECT(st, kmig_snap_read(s, NULL, 2, NULL, NULL, NULL, &e) == -EBADMSG &&
		 strstr(e.msg, "block ram1 page 17: data CRC32C"), "read: %s", e.msg);
	printf("#   refused: %s\n", e.msg);
	/* A destination VM of another layout. */
	T_ASSERT(st, !kmig_ram_add_memfd(&dst, "ram0", B0_PAGES * KMIG_PAGE_SIZE, NULL) &&
		 !kmig_ram_add_memfd(&dst, "ram1", 2 * B1_PAGES * KMIG_PAGE_SIZE, NULL), "dst");
	memset(&e, 0, sizeof(e));
	T_EXPECT(st, kmig_snap_match(s, &dst, &e) == -EINVAL &&
		 strstr(e.msg, "block 1 is ram1 of 262144 bytes in the file, the destination "
			"VM's is ram1 of 524288 bytes"), "match: %s", e.msg);
	kmig_snap_close(s);
	kmig_ram_free(&ram);
	kmig_ram_free(&dst);
}

/*
 * A sparse file of a few KiB that claims far more RAM than it holds: the
 * claim is refused over max_ram, or against a destination's layout, before
 * anything sized by it is allocated; without keep it is checked in pieces.
 */
static void t_lying_claim(struct t_state *st)
{
	struct kmig_snap_opts o = { .max_ram = 1ULL << 30 };
	struct kmig_ram dst;
	struct kmig_snap *s;
	struct kmig_err e;
	struct stat sb;
	int ret;

	T_ASSERT(st, !kmig_test_lying_snapshot(path, "ram0", 64ULL << 30), "lying file");
	T_ASSERT(st, !stat(path, &sb) && sb.st_blocks * 512 < (1 << 20), "sparse: %lld bytes",
		 (long long)sb.st_blocks * 512);
	ret = load_opts(&s, &o, &e);
	T_EXPECT(st, ret == -EFBIG && strstr(e.msg, "claims 64.0 GiB of RAM, more than the "
		 "limit of 1.0 GiB"), "max_ram: %d %s", ret, e.msg);
	printf("#   refused: %s\n", e.msg);
	/* A valid file as far as the format goes: accepted without keep,
	 * and nothing kept. */
	o = (struct kmig_snap_opts){ 0 };
	ret = load_opts(&s, &o, &e);
	T_ASSERT(st, !ret, "without keep: %s", e.msg);
	T_EXPECT(st, !s->bitmaps[0] && !s->crcs[0] && !s->devstate, "sections kept");
	T_EXPECT(st, kmig_snap_read(s, NULL, 1, NULL, NULL, NULL, &e) == -EINVAL, "read without keep");
	kmig_snap_close(s);
	kmig_ram_init(&dst);
	T_ASSERT(st, !kmig_ram_add_memfd(&dst, "ram0", 1 << 20, NULL), "dst");
	o = (struct kmig_snap_opts){ .layout = &dst, .keep = true };
	ret = load_opts(&s, &o, &e);
	T_EXPECT(st, ret == -EINVAL && strstr(e.msg, "block 0 is ram0 of 68719476736 bytes in "
		 "the file, the destination VM's is ram0 of 1048576 bytes"), "layout: %d %s",
		 ret, e.msg);
	kmig_ram_free(&dst);
}

/*
 * Restore matches the layout before it allocates: under an address-space
 * limit far below a 1 TiB claim's 1 GiB of CRC array, the answer is the
 * layout mismatch, not -ENOMEM. (Not under ASan, which reserves terabytes
 * of address space for its shadow.)
 */
static void t_layout_first(struct t_state *st)
{
#if defined(__SANITIZE_ADDRESS__)
	printf("#   skipped under ASan (RLIMIT_AS)\n");
	(void)st;
#else
	int status;
	pid_t pid;

	T_ASSERT(st, !kmig_test_lying_snapshot(path, "ram0", 1ULL << 40), "lying file");
	pid = fork();
	T_ASSERT(st, pid >= 0, "fork");
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
		printf("#   restore-style open: %d %s\n", ret, e.msg);
		_exit(ret == -EINVAL && strstr(e.msg, "the destination VM's is ram0") ? 0 : 1);
	}
	T_ASSERT(st, waitpid(pid, &status, 0) == pid, "waitpid");
	T_EXPECT(st, WIFEXITED(status) && !WEXITSTATUS(status), "child status 0x%x", status);
#endif
}

/* Opening a FIFO (or a device, or a symlink to one) must not block. */
static void t_not_regular(struct t_state *st)
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
	T_ASSERT(st, !mkfifo(fifo, 0600) && !symlink(fifo, link), "mkfifo");
	T_ASSERT(st, !make_ram(&ram), "ram");
	kmig_snap_wopts_init(&wo);
	alarm(20);	/* a blocked open() fails the test instead of hanging it */
	for (size_t i = 0; i < KMIG_ARRAY_SIZE(paths); i++) {
		int ret;

		memset(&e, 0, sizeof(e));
		ret = kmig_snap_open(&s, paths[i], &(struct kmig_snap_opts){ .keep = true }, &e);
		T_EXPECT(st, ret == -EINVAL && strstr(e.msg, "not a regular file"),
			 "load %s: %d %s", paths[i], ret, e.msg);
		printf("#   refused: %s\n", e.msg);
		memset(&e, 0, sizeof(e));
		if (i < 2) {	/* (the writer would create /dev/null's replacement) */
			ret = kmig_snap_writer_create(&w, paths[i], &wo, &ram, &e);
			T_EXPECT(st, ret == -EINVAL, "writer %s: %d %s", paths[i], ret, e.msg);
			if (!ret)
				kmig_snap_sink_ops.destroy(w);
		}
	}
	alarm(0);
	unlink(link);
	unlink(fifo);
	kmig_ram_free(&ram);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_roundtrip), T_CASE(t_rewrite), T_CASE(t_cancel_removes),
		T_CASE(t_hostile), T_CASE(t_bad_page), T_CASE(t_lying_claim),
		T_CASE(t_layout_first), T_CASE(t_not_regular),
	};
	const char *tmp = getenv("TMPDIR");
	int ret;

	snprintf(dir, sizeof(dir), "%s/kmig-snap-test.XXXXXX",
		 tmp && strlen(tmp) < 200 ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/snap", dir);
	ret = t_main("snap", cases, KMIG_ARRAY_SIZE(cases));
	unlink(path);
	rmdir(dir);
	return ret;
}
