// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the snapshot file loader (snap_load.c over
 * snap_fmt.c): the input is a whole file, put in a memfd and opened the
 * way kmig restore opens one. Byte 0 picks the mode. Bit 0: the file
 * with every checksum recomputed first (snap_small.h), so mutations reach
 * the layout, bitmap and field rules (clear: checksums must catch the
 * damage). Bit 1: opened as kmig snapshot-info does without --verify
 * (sections checked in pieces, nothing kept, a RAM limit); clear: kept, as
 * for a read. Bit 2: kmig restore's open: matched against a destination of
 * the seed corpus's layout (slot0 of 4 pages, slot1 of 3) before anything
 * else, and the pages then read into its memory. A file that loads must be
 * self-consistent (asserted), and its pages are then read and checked.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snap/snap_load.h"
#include "snap_small.h"

#define MAX_RAM		(1ULL << 20)	/* bit 1's limit */

/* Bit 2's destination: the corpus's layout, created once. */
static const struct kmig_ram *destination(void)
{
	static struct kmig_ram ram;

	if (!ram.nr && (kmig_ram_add_anon(&ram, "slot0", 4 * KMIG_PAGE_SIZE, NULL) ||
			kmig_ram_add_anon(&ram, "slot1", 3 * KMIG_PAGE_SIZE, NULL)))
		abort();
	return &ram;
}

/* What the loader promises about a file it accepted. */
static void check(const struct kmig_snap *s, const struct kmig_snap_opts *o)
{
	uint64_t present = 0;

	if (s->h.state != KMIG_SNAP_STATE_COMPLETE || s->h.file_size > s->st_size ||
	    (o->max_ram && s->h.ram_bytes > o->max_ram) ||
	    (o->layout && kmig_snap_match(s, o->layout, &(struct kmig_err){ 0 })))
		__builtin_trap();
	for (uint32_t i = 0; i < s->h.nr_blocks; i++) {
		const struct kmig_snap_block *b = &s->blocks[i];
		uint64_t end = b->data_offset + b->size;

		if (end > s->h.file_size || b->data_offset % s->h.data_align ||
		    !o->keep != !s->bitmaps[i] ||
		    (o->keep && b->npages % 64 &&
		     s->bitmaps[i][b->npages / 64] >> (b->npages % 64)))
			__builtin_trap();
		present += b->present_pages;
	}
	if (present != s->h.present_pages)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmig_snap_opts o = { .keep = true };
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
	if (data[0] & 1)
		snap_small_fixup(f, size - 1);
	if (data[0] & 2)
		o = (struct kmig_snap_opts){ .max_ram = MAX_RAM };
	if (data[0] & 4)
		o.layout = destination();
	fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
	if (fd < 0 || write(fd, f, size - 1) != (ssize_t)(size - 1)) {
		if (fd >= 0)
			close(fd);
		free(f);
		return 0;
	}
	free(f);
	if (kmig_snap_open_fd(&s, fd, "fuzz", &o, &e))
		return 0;	/* refused: the loader closed the fd */
	check(s, &o);
	e.code = 0;
	if (kmig_snap_read(s, o.keep ? o.layout : NULL, 1, NULL, NULL, NULL, &e) == -EINVAL && o.keep)
		__builtin_trap();	/* kept: the reader must take the file */
	kmig_snap_close(s);
	return 0;
}
