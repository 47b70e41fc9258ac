// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/ram.h"

void kmig_ram_init(struct kmig_ram *ram)
{
	memset(ram, 0, sizeof(*ram));
}

static void block_release(struct kmig_ram_block *b)
{
	if (b->base)
		munmap(b->base, b->size);
	if (b->fd >= 0)
		close(b->fd);
	free(b->written);
}

void kmig_ram_free(struct kmig_ram *ram)
{
	for (unsigned int i = 0; i < ram->nr; i++)
		block_release(&ram->blocks[i]);
	free(ram->blocks);
	kmig_ram_init(ram);
}

bool kmig_ram_name_valid(const char *name, size_t len)
{
	if (!len || len > KMIG_BLOCK_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

int kmig_ram_find(const struct kmig_ram *ram, const char *name)
{
	for (unsigned int i = 0; i < ram->nr; i++)
		if (!strcmp(ram->blocks[i].name, name))
			return i;
	return -ENOENT;
}

/* Validate and reserve a table slot; the caller fills the mapping. */
static int block_new(struct kmig_ram *ram, const char *name, uint64_t size,
		     struct kmig_ram_block **out)
{
	struct kmig_ram_block *b;

	if (!kmig_ram_name_valid(name, strlen(name)))
		return -EINVAL;
	if (kmig_ram_find(ram, name) >= 0)
		return -EEXIST;
	if (!size || size % KMIG_PAGE_SIZE || size > (1ULL << 46))
		return -EINVAL;
	if (ram->nr == KMIG_MAX_BLOCKS)
		return -E2BIG;
	if (ram->nr == ram->cap) {
		unsigned int cap = ram->cap ? ram->cap * 2 : 8;
		void *p = realloc(ram->blocks, cap * sizeof(*b));

		if (!p)
			return -ENOMEM;
		ram->blocks = p;
		ram->cap = cap;
	}
	b = &ram->blocks[ram->nr];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->fd = -1;
	b->size = size;
	b->npages = size / KMIG_PAGE_SIZE;
	b->slot = KMIG_SLOT_NONE;
	*out = b;
	return 0;
}

static int block_commit(struct kmig_ram *ram, unsigned int *id)
{
	if (id)
		*id = ram->nr;
	ram->nr++;
	return 0;
}

static int block_map_fd(struct kmig_ram_block *b)
{
	int prot = PROT_READ | (b->writable ? PROT_WRITE : 0);
	void *p = mmap(NULL, b->size, prot, MAP_SHARED, b->fd, (off_t)b->fd_offset);

	if (p == MAP_FAILED)
		return -errno;
	b->base = p;
	return 0;
}

int kmig_ram_add_memfd(struct kmig_ram *ram, const char *name, uint64_t size,
		       unsigned int *id)
{
	struct kmig_ram_block *b;
	int ret = block_new(ram, name, size, &b);

	if (ret)
		return ret;
	b->kind = KMIG_RAM_MEMFD;
	b->writable = true;
	b->fd = memfd_create(name, MFD_CLOEXEC);
	if (b->fd < 0 || ftruncate(b->fd, size) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = block_map_fd(b);
	if (ret)
		goto fail;
	return block_commit(ram, id);
fail:
	block_release(b);
	return ret;
}

int kmig_ram_add_fd_range(struct kmig_ram *ram, const char *name, int fd, uint64_t offset,
			  uint64_t size, bool writable, unsigned int *id)
{
	struct kmig_ram_block *b;
	struct stat st;
	uint64_t end;
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;		/* memfds are regular files too */
	if (!size && !offset)
		size = st.st_size;
	if (offset % KMIG_PAGE_SIZE || offset > INT64_MAX || !kmig_add_ok(offset, size, &end) ||
	    end > (uint64_t)st.st_size)
		return -EINVAL;
	ret = block_new(ram, name, size, &b);
	if (ret)
		return ret;
	b->kind = (fcntl(fd, F_GET_SEALS) >= 0) ? KMIG_RAM_MEMFD : KMIG_RAM_FILE;
	b->writable = writable;
	b->fd_offset = offset;
	b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (b->fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = block_map_fd(b);
	if (ret)
		goto fail;
	return block_commit(ram, id);
fail:
	block_release(b);
	return ret;
}

int kmig_ram_add_fd(struct kmig_ram *ram, const char *name, int fd, uint64_t size,
		    bool writable, unsigned int *id)
{
	return kmig_ram_add_fd_range(ram, name, fd, 0, size, writable, id);
}

int kmig_ram_add_file(struct kmig_ram *ram, const char *name, const char *path,
		      bool writable, unsigned int *id)
{
	/* O_NONBLOCK: a FIFO would block open() until a writer came; it is
	 * refused below like anything that is not a regular file. */
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = kmig_ram_add_fd(ram, name, fd, 0, writable, id);
	close(fd);
	return ret;
}

int kmig_ram_add_anon(struct kmig_ram *ram, const char *name, uint64_t size,
		      unsigned int *id)
{
	struct kmig_ram_block *b;
	int ret = block_new(ram, name, size, &b);
	void *p;

	if (ret)
		return ret;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->kind = KMIG_RAM_ANON;
	b->writable = true;
	b->base = p;
	return block_commit(ram, id);
}

int kmig_ram_track_written(struct kmig_ram *ram)
{
	for (unsigned int i = 0; i < ram->nr; i++) {
		struct kmig_ram_block *b = &ram->blocks[i];

		if (b->written)
			continue;
		b->written = calloc(KMIG_BITMAP_WORDS(b->npages), sizeof(uint64_t));
		if (!b->written)
			return -ENOMEM;
	}
	return 0;
}

void kmig_ram_mark_all_written(struct kmig_ram_block *b)
{
	if (b->written)
		memset(b->written, 0xff, KMIG_BITMAP_WORDS(b->npages) * sizeof(uint64_t));
}

uint64_t kmig_ram_total(const struct kmig_ram *ram)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < ram->nr; i++)
		total += ram->blocks[i].size;
	return total;
}

int kmig_ram_block_clear(struct kmig_ram_block *b)
{
	if (b->fd < 0)
		return madvise(b->base, b->size, MADV_DONTNEED) ? -errno : 0;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, b->fd_offset, b->size))
		return -errno;
	return 0;
}

int kmig_ram_clear(struct kmig_ram *ram, const char **which)
{
	for (unsigned int i = 0; i < ram->nr; i++) {
		int ret = kmig_ram_block_clear(&ram->blocks[i]);

		if (ret) {
			*which = ram->blocks[i].name;
			return ret;
		}
	}
	return 0;
}
