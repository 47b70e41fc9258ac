// SPDX-License-Identifier: GPL-2.0
/* Lying snapshot files (liesnap.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc.h"
#include "liesnap.h"
#include "snap/snap_fmt.h"

static const char devstate[] = "lying device state";

/* CRC32C of @len zero bytes: what a hole of that length reads as. */
static uint32_t zeros_crc(uint64_t len)
{
	static const uint8_t zero[1 << 16];
	uint32_t crc = KMIG_CRC_INIT;

	for (uint64_t n; len; len -= n) {
		n = len < sizeof(zero) ? len : sizeof(zero);
		crc = kmig_crc32c(crc, zero, n);
	}
	return kmig_crc32c_final(crc);
}

/* The writer's layout rules (kmig_snap_layout()) for one block. */
static void layout(struct kmig_snap_hdr *h, struct kmig_snap_block *b, const char *name,
		   uint64_t ram_bytes)
{
	memset(h, 0, sizeof(*h));
	memset(b, 0, sizeof(*b));
	strncpy(b->name, name, sizeof(b->name) - 1);
	b->size = ram_bytes;
	b->npages = ram_bytes / KMIG_PAGE_SIZE;
	b->bitmap_offset = 2 * KMIG_SNAP_ALIGN;
	b->crc_offset = b->bitmap_offset +
		kmig_snap_align_up(kmig_snap_bitmap_len(b->npages), KMIG_SNAP_ALIGN);
	b->data_offset = kmig_snap_align_up(b->crc_offset + kmig_snap_align_up(
		kmig_snap_crcs_len(b->npages), KMIG_SNAP_ALIGN), KMIG_SNAP_DATA_ALIGN);
	b->bitmap_crc = zeros_crc(kmig_snap_bitmap_len(b->npages));
	b->crcs_crc = zeros_crc(kmig_snap_crcs_len(b->npages));
	*h = (struct kmig_snap_hdr) {
		.version = KMIG_SNAP_VERSION, .state = KMIG_SNAP_STATE_COMPLETE,
		.flags = KMIG_SNAP_F_DATA_CRC, .page_size = KMIG_PAGE_SIZE, .nr_blocks = 1,
		.data_align = KMIG_SNAP_DATA_ALIGN, .table_offset = KMIG_SNAP_ALIGN,
		.table_size = KMIG_SNAP_ENTRY_SIZE,
		.devstate_offset = b->data_offset + ram_bytes,
		.devstate_len = sizeof(devstate),
		.devstate_crc = kmig_crc32c_buf(devstate, sizeof(devstate)),
		.ram_bytes = ram_bytes, .created_ns = 1,
	};
	h->file_size = h->devstate_offset + KMIG_SNAP_ALIGN;
}

int kmig_test_lying_snapshot(const char *path, const char *name, uint64_t ram_bytes)
{
	uint8_t hdr[KMIG_SNAP_HDR_SIZE], tbl[KMIG_SNAP_ENTRY_SIZE];
	struct kmig_snap_hdr h;
	struct kmig_snap_block b;
	int fd, ret = 0;

	if (!ram_bytes || ram_bytes % KMIG_PAGE_SIZE || ram_bytes > KMIG_SNAP_BLOCK_MAX)
		return -EINVAL;
	layout(&h, &b, name, ram_bytes);
	kmig_snap_table_encode(tbl, &b, 1);
	h.table_crc = kmig_crc32c_buf(tbl, sizeof(tbl));
	kmig_snap_hdr_encode(hdr, &h);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)h.file_size) ||
	    pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr) ||
	    pwrite(fd, tbl, sizeof(tbl), (off_t)h.table_offset) != sizeof(tbl) ||
	    pwrite(fd, devstate, sizeof(devstate), (off_t)h.devstate_offset) != sizeof(devstate))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}
