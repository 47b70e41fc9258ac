// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot file format: encode and validate the header, the block table,
 * the bitmaps and the layout (Documentation/file-format.rst). Every field
 * is checked with overflow-safe arithmetic before anything uses it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "snap/snap_fmt.h"

/* Header field offsets. */
enum {
	H_MAGIC = 0, H_VERSION = 8, H_HDR_SIZE = 12, H_STATE = 16, H_FLAGS = 20,
	H_PAGE_SIZE = 24, H_NR_BLOCKS = 28, H_DATA_ALIGN = 32, H_DEVSTATE_CRC = 36,
	H_TABLE_OFF = 40, H_TABLE_SIZE = 48, H_TABLE_CRC = 56, H_RSVD0 = 60,
	H_DEVSTATE_OFF = 64, H_DEVSTATE_LEN = 72, H_FILE_SIZE = 80, H_RAM_BYTES = 88,
	H_PRESENT = 96, H_CREATED = 104, H_RSVD_END = 252, H_CRC = 252,
};

/* Table entry field offsets. */
enum {
	E_NAME = 0, E_SIZE = 64, E_DATA_OFF = 72, E_BITMAP_OFF = 80, E_PRESENT = 88,
	E_CRC_OFF = 96, E_BITMAP_CRC = 104, E_CRCS_CRC = 108, E_FLAGS = 112, E_RSVD = 116,
};

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

const char *kmig_snap_state_name(uint32_t state, char buf[16])
{
	if (state == KMIG_SNAP_STATE_WRITING)
		return "WRITING";
	if (state == KMIG_SNAP_STATE_COMPLETE)
		return "COMPLETE";
	snprintf(buf, 16, "0x%08x", state);
	return buf;
}

void kmig_snap_hdr_encode(uint8_t buf[KMIG_SNAP_HDR_SIZE], const struct kmig_snap_hdr *h)
{
	memset(buf, 0, KMIG_SNAP_HDR_SIZE);
	memcpy(buf + H_MAGIC, KMIG_SNAP_MAGIC, 8);
	kmig_put_le32(buf + H_VERSION, h->version);
	kmig_put_le32(buf + H_HDR_SIZE, KMIG_SNAP_HDR_SIZE);
	kmig_put_le32(buf + H_STATE, h->state);
	kmig_put_le32(buf + H_FLAGS, h->flags);
	kmig_put_le32(buf + H_PAGE_SIZE, h->page_size);
	kmig_put_le32(buf + H_NR_BLOCKS, h->nr_blocks);
	kmig_put_le32(buf + H_DATA_ALIGN, h->data_align);
	kmig_put_le32(buf + H_DEVSTATE_CRC, h->devstate_crc);
	kmig_put_le64(buf + H_TABLE_OFF, h->table_offset);
	kmig_put_le64(buf + H_TABLE_SIZE, h->table_size);
	kmig_put_le32(buf + H_TABLE_CRC, h->table_crc);
	kmig_put_le64(buf + H_DEVSTATE_OFF, h->devstate_offset);
	kmig_put_le64(buf + H_DEVSTATE_LEN, h->devstate_len);
	kmig_put_le64(buf + H_FILE_SIZE, h->file_size);
	kmig_put_le64(buf + H_RAM_BYTES, h->ram_bytes);
	kmig_put_le64(buf + H_PRESENT, h->present_pages);
	kmig_put_le64(buf + H_CREATED, h->created_ns);
	kmig_put_le32(buf + H_CRC, kmig_crc32c_buf(buf, H_CRC));
}

static int hdr_identity(const uint8_t *buf, struct kmig_err *e)
{
	uint32_t crc = kmig_get_le32(buf + H_CRC), want;

	if (memcmp(buf + H_MAGIC, KMIG_SNAP_MAGIC, 8))
		return kmig_err_set(e, -EBADMSG, "header: magic %02x%02x%02x%02x%02x%02x%02x%02x, "
				    "expected \"%s\" (not a kmig snapshot file)", buf[0], buf[1],
				    buf[2], buf[3], buf[4], buf[5], buf[6], buf[7], KMIG_SNAP_MAGIC);
	if (kmig_get_le32(buf + H_VERSION) != KMIG_SNAP_VERSION)
		return kmig_err_set(e, -EPROTONOSUPPORT, "header: version %u, expected %u",
				    kmig_get_le32(buf + H_VERSION), KMIG_SNAP_VERSION);
	if (kmig_get_le32(buf + H_HDR_SIZE) != KMIG_SNAP_HDR_SIZE)
		return kmig_err_set(e, -EBADMSG, "header: header_size %u, expected %u",
				    kmig_get_le32(buf + H_HDR_SIZE), KMIG_SNAP_HDR_SIZE);
	want = kmig_crc32c_buf(buf, H_CRC);
	if (crc != want)
		return kmig_err_set(e, -EBADMSG, "header: header_crc 0x%08x, computed 0x%08x "
				    "(the header is damaged)", crc, want);
	return 0;
}

static void hdr_fields(const uint8_t *buf, struct kmig_snap_hdr *h)
{
	h->version = kmig_get_le32(buf + H_VERSION);
	h->state = kmig_get_le32(buf + H_STATE);
	h->flags = kmig_get_le32(buf + H_FLAGS);
	h->page_size = kmig_get_le32(buf + H_PAGE_SIZE);
	h->nr_blocks = kmig_get_le32(buf + H_NR_BLOCKS);
	h->data_align = kmig_get_le32(buf + H_DATA_ALIGN);
	h->devstate_crc = kmig_get_le32(buf + H_DEVSTATE_CRC);
	h->table_offset = kmig_get_le64(buf + H_TABLE_OFF);
	h->table_size = kmig_get_le64(buf + H_TABLE_SIZE);
	h->table_crc = kmig_get_le32(buf + H_TABLE_CRC);
	h->devstate_offset = kmig_get_le64(buf + H_DEVSTATE_OFF);
	h->devstate_len = kmig_get_le64(buf + H_DEVSTATE_LEN);
	h->file_size = kmig_get_le64(buf + H_FILE_SIZE);
	h->ram_bytes = kmig_get_le64(buf + H_RAM_BYTES);
	h->present_pages = kmig_get_le64(buf + H_PRESENT);
	h->created_ns = kmig_get_le64(buf + H_CREATED);
}

/* @v must be a multiple of KMIG_SNAP_ALIGN. */
static int check_aligned(const char *what, uint64_t v, uint64_t align, struct kmig_err *e)
{
	if (v % align)
		return kmig_err_set(e, -EBADMSG, "%s %llu is not a multiple of %llu", what,
				    (unsigned long long)v, (unsigned long long)align);
	return 0;
}

/* [off, off + len rounded up to 4 KiB) inside [0, file_size). */
static int check_inside(const char *what, uint64_t off, uint64_t len,
			const struct kmig_snap_hdr *h, struct kmig_err *e)
{
	uint64_t end;

	if (!kmig_add_ok(off, kmig_snap_align_up(len, KMIG_SNAP_ALIGN), &end) ||
	    end > h->file_size)
		return kmig_err_set(e, -EBADMSG, "%s: %llu bytes at offset %llu end past the "
				    "header's file_size %llu", what, (unsigned long long)len,
				    (unsigned long long)off, (unsigned long long)h->file_size);
	return 0;
}

static int hdr_values(const uint8_t *buf, const struct kmig_snap_hdr *h, struct kmig_err *e)
{
	char sb[16];
	uint64_t want_size;

	if (h->state != KMIG_SNAP_STATE_WRITING && h->state != KMIG_SNAP_STATE_COMPLETE)
		return kmig_err_set(e, -EBADMSG, "header: state %s, expected COMPLETE (0x%08x) "
				    "or WRITING (0x%08x)", kmig_snap_state_name(h->state, sb),
				    KMIG_SNAP_STATE_COMPLETE, KMIG_SNAP_STATE_WRITING);
	if (h->flags & ~KMIG_SNAP_F_ALL)
		return kmig_err_set(e, -EBADMSG, "header: flags 0x%x has unknown bits 0x%x "
				    "(known: 0x%x)", h->flags, h->flags & ~KMIG_SNAP_F_ALL,
				    KMIG_SNAP_F_ALL);
	if ((h->flags & KMIG_SNAP_F_DATA_PSUM) && !(h->flags & KMIG_SNAP_F_DATA_CRC))
		return kmig_err_set(e, -EBADMSG, "header: flags 0x%x: page sums (0x%x) without "
				    "checksum arrays (0x%x)", h->flags, KMIG_SNAP_F_DATA_PSUM,
				    KMIG_SNAP_F_DATA_CRC);
	if (kmig_get_le32(buf + H_RSVD0) || !all_zero(buf + 112, H_RSVD_END - 112))
		return kmig_err_set(e, -EBADMSG, "header: reserved bytes are not zero");
	if (h->page_size != KMIG_PAGE_SIZE)
		return kmig_err_set(e, -EBADMSG, "header: page_size %u, expected %u",
				    h->page_size, KMIG_PAGE_SIZE);
	if (!h->nr_blocks || h->nr_blocks > KMIG_MAX_BLOCKS)
		return kmig_err_set(e, -EBADMSG, "header: nr_blocks %u, expected 1..%u",
				    h->nr_blocks, KMIG_MAX_BLOCKS);
	if (h->data_align < KMIG_SNAP_ALIGN_MIN || h->data_align > KMIG_SNAP_ALIGN_MAX ||
	    (h->data_align & (h->data_align - 1)))
		return kmig_err_set(e, -EBADMSG, "header: data_align %u, expected a power of "
				    "two in %u..%u", h->data_align, KMIG_SNAP_ALIGN_MIN,
				    KMIG_SNAP_ALIGN_MAX);
	want_size = (uint64_t)h->nr_blocks * KMIG_SNAP_ENTRY_SIZE;
	if (h->table_size != want_size)
		return kmig_err_set(e, -EBADMSG, "header: table_size %llu, expected %llu "
				    "(nr_blocks %u x %u)", (unsigned long long)h->table_size,
				    (unsigned long long)want_size, h->nr_blocks, KMIG_SNAP_ENTRY_SIZE);
	if (h->devstate_len > KMIG_SNAP_DEVSTATE_MAX)
		return kmig_err_set(e, -EBADMSG, "header: devstate_len %llu, expected at most %u",
				    (unsigned long long)h->devstate_len, KMIG_SNAP_DEVSTATE_MAX);
	if (check_aligned("header: table_offset", h->table_offset, KMIG_SNAP_ALIGN, e) ||
	    check_aligned("header: devstate_offset", h->devstate_offset, KMIG_SNAP_ALIGN, e) ||
	    check_aligned("header: file_size", h->file_size, KMIG_SNAP_ALIGN, e))
		return e->code;
	/* Before anything reads them: inside the file (the rest of the
	 * layout is checked with the table, kmig_snap_layout_check()). */
	if (check_inside("block table", h->table_offset, h->table_size, h, e) ||
	    check_inside("device state", h->devstate_offset, h->devstate_len, h, e))
		return e->code;
	return 0;
}

int kmig_snap_hdr_decode(const uint8_t *buf, struct kmig_snap_hdr *h, struct kmig_err *e)
{
	int ret = hdr_identity(buf, e);

	if (ret)
		return ret;
	hdr_fields(buf, h);
	return hdr_values(buf, h, e);
}

void kmig_snap_table_encode(uint8_t *buf, const struct kmig_snap_block *b, uint32_t nr)
{
	memset(buf, 0, (size_t)nr * KMIG_SNAP_ENTRY_SIZE);
	for (uint32_t i = 0; i < nr; i++, buf += KMIG_SNAP_ENTRY_SIZE) {
		memcpy(buf + E_NAME, b[i].name, strnlen(b[i].name, KMIG_BLOCK_NAME_MAX));
		kmig_put_le64(buf + E_SIZE, b[i].size);
		kmig_put_le64(buf + E_DATA_OFF, b[i].data_offset);
		kmig_put_le64(buf + E_BITMAP_OFF, b[i].bitmap_offset);
		kmig_put_le64(buf + E_PRESENT, b[i].present_pages);
		kmig_put_le64(buf + E_CRC_OFF, b[i].crc_offset);
		kmig_put_le32(buf + E_BITMAP_CRC, b[i].bitmap_crc);
		kmig_put_le32(buf + E_CRCS_CRC, b[i].crcs_crc);
	}
}

static int entry_decode(const uint8_t *p, uint32_t i, const struct kmig_snap_hdr *h,
			struct kmig_snap_block *b, struct kmig_err *e)
{
	size_t len = strnlen((const char *)p + E_NAME, KMIG_SNAP_NAME_LEN);

	if (len >= KMIG_SNAP_NAME_LEN || !kmig_ram_name_valid((const char *)p + E_NAME, len) ||
	    !all_zero(p + E_NAME + len, KMIG_SNAP_NAME_LEN - len))
		return kmig_err_set(e, -EBADMSG, "block %u: name is not 1..%u bytes of "
				    "[A-Za-z0-9._:-] padded with NULs", i, KMIG_BLOCK_NAME_MAX);
	memcpy(b->name, p + E_NAME, len);
	b->name[len] = '\0';
	b->size = kmig_get_le64(p + E_SIZE);
	b->data_offset = kmig_get_le64(p + E_DATA_OFF);
	b->bitmap_offset = kmig_get_le64(p + E_BITMAP_OFF);
	b->present_pages = kmig_get_le64(p + E_PRESENT);
	b->crc_offset = kmig_get_le64(p + E_CRC_OFF);
	b->bitmap_crc = kmig_get_le32(p + E_BITMAP_CRC);
	b->crcs_crc = kmig_get_le32(p + E_CRCS_CRC);
	b->npages = b->size / KMIG_PAGE_SIZE;
	if (kmig_get_le32(p + E_FLAGS) || !all_zero(p + E_RSVD, KMIG_SNAP_ENTRY_SIZE - E_RSVD))
		return kmig_err_set(e, -EBADMSG, "block %s: flags or reserved bytes not zero",
				    b->name);
	if (!b->size || b->size % KMIG_PAGE_SIZE || b->size > KMIG_SNAP_BLOCK_MAX)
		return kmig_err_set(e, -EBADMSG, "block %s: size %llu, expected a non-zero "
				    "multiple of %u up to %llu", b->name,
				    (unsigned long long)b->size, KMIG_PAGE_SIZE,
				    (unsigned long long)KMIG_SNAP_BLOCK_MAX);
	if (b->present_pages > b->npages)
		return kmig_err_set(e, -EBADMSG, "block %s: present_pages %llu, but the block "
				    "has %llu pages", b->name, (unsigned long long)b->present_pages,
				    (unsigned long long)b->npages);
	if (!(h->flags & KMIG_SNAP_F_DATA_CRC) && (b->crc_offset || b->crcs_crc))
		return kmig_err_set(e, -EBADMSG, "block %s: crc_offset %llu without the DATA_CRC "
				    "flag, expected 0", b->name, (unsigned long long)b->crc_offset);
	return 0;
}

int kmig_snap_table_decode(const uint8_t *buf, const struct kmig_snap_hdr *h,
			   struct kmig_snap_block *b, struct kmig_err *e)
{
	uint32_t crc = kmig_crc32c_buf(buf, h->table_size);
	uint64_t ram = 0, present = 0;
	int ret;

	if (crc != h->table_crc)
		return kmig_err_set(e, -EBADMSG, "block table: CRC32C 0x%08x, header's table_crc "
				    "0x%08x (the table is damaged)", crc, h->table_crc);
	for (uint32_t i = 0; i < h->nr_blocks; i++) {
		ret = entry_decode(buf + (size_t)i * KMIG_SNAP_ENTRY_SIZE, i, h, &b[i], e);
		if (ret)
			return ret;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(b[i].name, b[j].name))
				return kmig_err_set(e, -EBADMSG, "block table: name %s appears twice "
						    "(blocks %u and %u)", b[i].name, j, i);
		ram += b[i].size;	/* <= 256 x 2^46: no overflow */
		present += b[i].present_pages;
	}
	if (ram != h->ram_bytes || present != h->present_pages)
		return kmig_err_set(e, -EBADMSG, "block table: %llu bytes, %llu present pages; "
				    "header's ram_bytes %llu, present_pages %llu",
				    (unsigned long long)ram, (unsigned long long)present,
				    (unsigned long long)h->ram_bytes,
				    (unsigned long long)h->present_pages);
	return kmig_snap_layout_check(h, b, e);
}

struct extent {
	uint64_t start, end;
	char what[96];
};

static int extent_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Add [off, off + len) rounded up to the alignment; checks alignment and
 * the end of the file. Empty sections are skipped. */
static int add_extent(struct extent *x, unsigned int *n, const char *what, const char *name,
		      uint64_t off, uint64_t len, uint64_t align, const struct kmig_snap_hdr *h,
		      struct kmig_err *e)
{
	struct extent *t = &x[*n];
	uint64_t end;

	snprintf(t->what, sizeof(t->what), "%s%s%s", name ? "block " : "", name ? name : "",
		 what);
	if (off % align)
		return kmig_err_set(e, -EBADMSG, "%s: offset %llu is not a multiple of %llu",
				    t->what, (unsigned long long)off, (unsigned long long)align);
	if (!len)
		return 0;
	if (!kmig_add_ok(off, kmig_snap_align_up(len, KMIG_SNAP_ALIGN), &end) ||
	    end > h->file_size)
		return kmig_err_set(e, -EBADMSG, "%s: %llu bytes at offset %llu end past the "
				    "header's file_size %llu", t->what, (unsigned long long)len,
				    (unsigned long long)off, (unsigned long long)h->file_size);
	t->start = off;
	t->end = end;
	(*n)++;
	return 0;
}

static int block_extents(struct extent *x, unsigned int *n, const struct kmig_snap_hdr *h,
			 const struct kmig_snap_block *b, struct kmig_err *e)
{
	if (add_extent(x, n, ": bitmap", b->name, b->bitmap_offset,
		       kmig_snap_bitmap_len(b->npages), KMIG_SNAP_ALIGN, h, e) ||
	    add_extent(x, n, ": data", b->name, b->data_offset, b->size, h->data_align, h, e))
		return e->code;
	if (!(h->flags & KMIG_SNAP_F_DATA_CRC))
		return 0;
	return add_extent(x, n, ": CRC array", b->name, b->crc_offset,
			  kmig_snap_crcs_len(b->npages), KMIG_SNAP_ALIGN, h, e);
}

int kmig_snap_layout_check(const struct kmig_snap_hdr *h, const struct kmig_snap_block *b,
			   struct kmig_err *e)
{
	struct extent *x = calloc(3 * (size_t)h->nr_blocks + 3, sizeof(*x));
	unsigned int n = 0;
	int ret;

	if (!x)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	ret = add_extent(x, &n, "header", NULL, 0, KMIG_SNAP_ALIGN, KMIG_SNAP_ALIGN, h, e);
	if (!ret)
		ret = add_extent(x, &n, "block table", NULL, h->table_offset, h->table_size,
				 KMIG_SNAP_ALIGN, h, e);
	if (!ret)
		ret = add_extent(x, &n, "device state", NULL, h->devstate_offset,
				 h->devstate_len, KMIG_SNAP_ALIGN, h, e);
	for (uint32_t i = 0; !ret && i < h->nr_blocks; i++)
		ret = block_extents(x, &n, h, &b[i], e);
	if (ret)
		goto out;
	qsort(x, n, sizeof(*x), extent_cmp);
	for (unsigned int i = 1; i < n; i++)
		if (x[i].start < x[i - 1].end) {
			ret = kmig_err_set(e, -EBADMSG, "%s at %llu overlaps %s at %llu..%llu",
					   x[i].what, (unsigned long long)x[i].start, x[i - 1].what,
					   (unsigned long long)x[i - 1].start,
					   (unsigned long long)x[i - 1].end);
			break;
		}
out:
	free(x);
	return ret;
}

void kmig_snap_bitmap_to_le(uint64_t *bm, uint64_t words)
{
	for (uint64_t i = 0; i < words; i++)
		kmig_put_le64((uint8_t *)&bm[i], bm[i]);
}

void kmig_snap_bitmap_sum(struct kmig_snap_bmsum *m, uint64_t *bm, uint64_t words)
{
	if (!m->words)
		m->crc = KMIG_CRC_INIT;
	m->crc = kmig_crc32c(m->crc, bm, words * 8);
	for (uint64_t i = 0; i < words; i++) {
		bm[i] = kmig_get_le64((const uint8_t *)&bm[i]);
		m->set += __builtin_popcountll(bm[i]);
	}
	if (words)
		m->last = bm[words - 1];
	m->words += words;
}

int kmig_snap_bitmap_end(const struct kmig_snap_block *b, const struct kmig_snap_bmsum *m,
			 struct kmig_err *e)
{
	uint32_t crc = kmig_crc32c_final(m->words ? m->crc : KMIG_CRC_INIT);

	if (m->words != KMIG_BITMAP_WORDS(b->npages))
		return kmig_err_set(e, -EBADMSG, "block %s: bitmap of %llu words, expected %llu",
				    b->name, (unsigned long long)m->words,
				    (unsigned long long)KMIG_BITMAP_WORDS(b->npages));
	if (crc != b->bitmap_crc)
		return kmig_err_set(e, -EBADMSG, "block %s: bitmap CRC32C 0x%08x, table's "
				    "bitmap_crc 0x%08x (the bitmap is damaged)", b->name, crc,
				    b->bitmap_crc);
	if (b->npages % 64 && m->last >> (b->npages % 64))
		return kmig_err_set(e, -EBADMSG, "block %s: bitmap claims pages past the block's "
				    "%llu pages", b->name, (unsigned long long)b->npages);
	if (m->set != b->present_pages)
		return kmig_err_set(e, -EBADMSG, "block %s: bitmap has %llu pages set, table's "
				    "present_pages %llu", b->name, (unsigned long long)m->set,
				    (unsigned long long)b->present_pages);
	return 0;
}

int kmig_snap_bitmap_check(const struct kmig_snap_block *b, uint64_t *bm, struct kmig_err *e)
{
	struct kmig_snap_bmsum m = { 0 };

	kmig_snap_bitmap_sum(&m, bm, KMIG_BITMAP_WORDS(b->npages));
	return kmig_snap_bitmap_end(b, &m, e);
}

int kmig_snap_crcs_end(const struct kmig_snap_block *b, uint32_t crc, struct kmig_err *e)
{
	if (crc != b->crcs_crc)
		return kmig_err_set(e, -EBADMSG, "block %s: CRC array CRC32C 0x%08x, table's "
				    "crcs_crc 0x%08x (the page checksums are damaged)", b->name,
				    crc, b->crcs_crc);
	return 0;
}

int kmig_snap_crcs_check(const struct kmig_snap_block *b, const uint8_t *crcs,
			 struct kmig_err *e)
{
	return kmig_snap_crcs_end(b, kmig_crc32c_buf(crcs, kmig_snap_crcs_len(b->npages)), e);
}

int kmig_snap_layout(const struct kmig_ram *ram, bool data_crc, struct kmig_snap_hdr *h,
		     struct kmig_snap_block *b)
{
	uint64_t off;

	if (!ram->nr || ram->nr > KMIG_MAX_BLOCKS)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->version = KMIG_SNAP_VERSION;
	h->state = KMIG_SNAP_STATE_WRITING;
	h->flags = data_crc ? KMIG_SNAP_F_DATA_CRC | KMIG_SNAP_F_DATA_PSUM : 0;
	h->page_size = KMIG_PAGE_SIZE;
	h->nr_blocks = ram->nr;
	h->data_align = KMIG_SNAP_DATA_ALIGN;
	h->table_offset = KMIG_SNAP_ALIGN;
	h->table_size = (uint64_t)ram->nr * KMIG_SNAP_ENTRY_SIZE;
	off = h->table_offset + kmig_snap_align_up(h->table_size, KMIG_SNAP_ALIGN);
	for (unsigned int i = 0; i < ram->nr; i++) {
		const struct kmig_ram_block *rb = &ram->blocks[i];

		if (rb->size > KMIG_SNAP_BLOCK_MAX)
			return -EINVAL;
		memset(&b[i], 0, sizeof(b[i]));
		snprintf(b[i].name, sizeof(b[i].name), "%s", rb->name);
		b[i].size = rb->size;
		b[i].npages = rb->npages;
		b[i].bitmap_offset = off;
		off += kmig_snap_align_up(kmig_snap_bitmap_len(rb->npages), KMIG_SNAP_ALIGN);
		if (data_crc) {
			b[i].crc_offset = off;
			off += kmig_snap_align_up(kmig_snap_crcs_len(rb->npages), KMIG_SNAP_ALIGN);
		}
		h->ram_bytes += rb->size;
	}
	for (unsigned int i = 0; i < ram->nr; i++) {
		off = kmig_snap_align_up(off, KMIG_SNAP_DATA_ALIGN);
		b[i].data_offset = off;
		off += b[i].size;
	}
	h->devstate_offset = off;
	h->file_size = off;
	return 0;
}
