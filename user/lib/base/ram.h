/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAM blocks: guest RAM as a table of regions, each one memfd, file or
 * anonymous mapping of whole pages. A block's id is its index in the table;
 * the same table (id, name, size) goes on the wire once per stream.
 *
 * Blocks are mapped MAP_SHARED, so a sender reads and a receiver writes the
 * very memory a VMM shares through its memfds.
 */
#ifndef KMIG_RAM_H
#define KMIG_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMIG_PAGE_SIZE		4096U
#define KMIG_PAGE_SHIFT		12
#define KMIG_MAX_BLOCKS		256
#define KMIG_BLOCK_NAME_MAX	63	/* bytes, without the NUL */
#define KMIG_SLOT_NONE		UINT32_MAX

enum kmig_ram_kind {
	KMIG_RAM_MEMFD,		/* created here or passed by a VMM */
	KMIG_RAM_FILE,		/* a regular file */
	KMIG_RAM_ANON,		/* private anonymous memory (in-process use) */
};

struct kmig_ram_block {
	char name[KMIG_BLOCK_NAME_MAX + 1];
	enum kmig_ram_kind kind;
	int fd;			/* -1 for anonymous memory */
	uint64_t fd_offset;	/* of the block's first byte in @fd (a VMM slot
				 * inside a larger memfd); 0 otherwise */
	bool writable;
	uint64_t size;		/* bytes, a multiple of the page size */
	uint64_t npages;
	uint8_t *base;		/* MAP_SHARED mapping of the whole block */
	uint32_t slot;		/* KVM memslot (KMIG_SLOT()) or KMIG_SLOT_NONE */
	/*
	 * Receiver side: pages written with data since the block was created.
	 * A zero marker for such a page must clear it; for other pages it must
	 * not touch memory at all (reading or writing a memfd hole allocates).
	 */
	uint64_t *written;
};

struct kmig_ram {
	struct kmig_ram_block *blocks;
	unsigned int nr;
	unsigned int cap;
};

void kmig_ram_init(struct kmig_ram *ram);
void kmig_ram_free(struct kmig_ram *ram);

/* Names: 1..KMIG_BLOCK_NAME_MAX bytes of [A-Za-z0-9._:-], not starting
 * with '.', unique in the table (so they also serve as file names). */
bool kmig_ram_name_valid(const char *name, size_t len);

/* A new memfd of @size bytes (fresh memory reads as zero, allocates on
 * write). @id receives the block id; may be NULL. All add calls: -EINVAL
 * for a bad name or a size that is not a non-zero multiple of the page
 * size, -EEXIST for a name already in the table, -E2BIG past
 * KMIG_MAX_BLOCKS. */
int kmig_ram_add_memfd(struct kmig_ram *ram, const char *name, uint64_t size,
		       unsigned int *id);

/* An existing memfd or file; the fd is dup()ed, the caller keeps its own.
 * @size 0 means the fd's current size. */
int kmig_ram_add_fd(struct kmig_ram *ram, const char *name, int fd, uint64_t size,
		    bool writable, unsigned int *id);

/* @size bytes of @fd starting at @offset (a VMM memslot inside its memfd):
 * both multiples of the page size, inside the file (-EINVAL). The fd is
 * dup()ed. */
int kmig_ram_add_fd_range(struct kmig_ram *ram, const char *name, int fd, uint64_t offset,
			  uint64_t size, bool writable, unsigned int *id);

/* A file by path (opened read-only unless @writable). */
int kmig_ram_add_file(struct kmig_ram *ram, const char *name, const char *path,
		      bool writable, unsigned int *id);

/* Private anonymous memory, MAP_NORESERVE. */
int kmig_ram_add_anon(struct kmig_ram *ram, const char *name, uint64_t size,
		      unsigned int *id);

/* Index of the block named @name, or -ENOENT. */
int kmig_ram_find(const struct kmig_ram *ram, const char *name);

/* Receiver: allocate the written bitmaps (all clear: fresh memory). */
int kmig_ram_track_written(struct kmig_ram *ram);

/* Receiver: treat every page of @b as written (destination memory that
 * already held data, so zero markers must clear it). */
void kmig_ram_mark_all_written(struct kmig_ram_block *b);

/* Total bytes of all blocks. */
uint64_t kmig_ram_total(const struct kmig_ram *ram);

/*
 * Make every page of @b read as zero again, freeing its memory (a hole
 * punched in a memfd or file, MADV_DONTNEED for anonymous memory). For a
 * receiver whose blocks may hold pages of an earlier, failed session: it
 * writes only the pages a sender sends as data and skips zero pages that
 * it did not write itself. Cheap on fresh memory (nothing to free).
 * -errno if the memory cannot be cleared (e.g. a file system without hole
 * punching).
 */
int kmig_ram_block_clear(struct kmig_ram_block *b);
/* Every block; on failure *@which names the block that could not be. */
int kmig_ram_clear(struct kmig_ram *ram, const char **which);

#endif /* KMIG_RAM_H */
