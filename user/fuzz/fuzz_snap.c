// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the snapshot file loader (snap_load.c over
 * snap_fmt.c): the input is a whole file, put in a memfd and opened the
 * way kmig restore opens one. Byte 0 picks the mode: 0 the file as it is
 * (checksums must catch the damage), 1 the file with every checksum
 * recomputed first (snap_small.h), so mutations reach the layout, bitmap
 * and field rules. A file that loads must be self-consistent (asserted),
 * and its pages are then read and checked as restore would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snap/snap_load.h"
#include "snap_small.h"

/* What the loader promises about a file it accepted. */
static void check(const struct kmig_snap *s)
{
	uint64_t present = 0;

	if (s->h.state != KMIG_SNAP_STATE_COMPLETE || s->h.file_size > s->st_size)
		__builtin_trap();
	for (uint32_t i = 0; i < s->h.nr_blocks; i++) {
		const struct kmig_snap_block *b = &s->blocks[i];
		uint64_t end = b->data_offset + b->size;

		if (end > s->h.file_size || b->data_offset % s->h.data_align ||
		    (b->npages % 64 && s->bitmaps[i][b->npages / 64] >> (b->npages % 64)))
			__builtin_trap();
		present += b->present_pages;
	}
	if (present != s->h.present_pages)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmig_err e = { 0 };
	struct kmig_snap *s;
	uint8_t *f;
	int fd;

	if (!size || size > 65536)
		return 0;
	f = malloc(size);
	if (!f)
		return 0;
	memcpy(f, data + 1, size - 1);
	if (data[0] == 1)
		snap_small_fixup(f, size - 1);
	fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
	if (fd < 0 || write(fd, f, size - 1) != (ssize_t)(size - 1)) {
		if (fd >= 0)
			close(fd);
		free(f);
		return 0;
	}
	free(f);
	if (kmig_snap_open_fd(&s, fd, "fuzz", &e))
		return 0;	/* refused: the loader closed the fd */
	check(s);
	e.code = 0;
	kmig_snap_read(s, NULL, 1, NULL, NULL, &e);
	kmig_snap_close(s);
	return 0;
}
