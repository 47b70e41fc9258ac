// SPDX-License-Identifier: GPL-2.0
/* Snapshot loader: read and validate all metadata of a file (snap_load.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "snap/snap_load.h"

void kmig_snap_close(struct kmig_snap *s)
{
	if (!s)
		return;
	kmig_snap_file_close(&s->f);
	for (unsigned int i = 0; i < KMIG_MAX_BLOCKS; i++) {
		free(s->bitmaps[i]);
		free(s->crcs[i]);
	}
	free(s->devstate);
	free(s);
}

/* @len bytes at @off into a new aligned buffer (*out). */
static int read_section(struct kmig_snap *s, const char *what, uint64_t off, uint64_t len,
			void **out, struct kmig_err *e)
{
	uint64_t n = kmig_snap_align_up(len, KMIG_SNAP_ALIGN);
	void *buf = kmig_snap_alloc(len);
	int ret;

	if (!buf)
		return kmig_err_set(e, -ENOMEM, "no memory for the %s (%llu bytes)", what,
				    (unsigned long long)len);
	ret = kmig_snap_pread(s->f.fd, buf, n, off);
	if (ret) {
		free(buf);
		return kmig_err_set(e, ret, "reading the %s (%llu bytes at offset %llu): %s",
				    what, (unsigned long long)n, (unsigned long long)off,
				    ret == -ENODATA ? "the file ends first" : strerror(-ret));
	}
	*out = buf;
	return 0;
}

static int load_header(struct kmig_snap *s, struct kmig_err *e)
{
	char sb[16];
	uint8_t *buf;
	int ret;

	if (s->st_size < KMIG_SNAP_ALIGN)
		return kmig_err_set(e, -EBADMSG, "truncated: %llu bytes, a snapshot starts "
				    "with a %u-byte header", (unsigned long long)s->st_size,
				    KMIG_SNAP_ALIGN);
	ret = read_section(s, "header", 0, KMIG_SNAP_ALIGN, (void **)&buf, e);
	if (ret)
		return ret;
	ret = kmig_snap_hdr_decode(buf, &s->h, e);
	for (unsigned int i = KMIG_SNAP_HDR_SIZE; !ret && i < KMIG_SNAP_ALIGN; i++)
		if (buf[i])
			ret = kmig_err_set(e, -EBADMSG, "header: byte %u of the header page is "
					   "not zero", i);
	free(buf);
	if (!ret && s->h.state != KMIG_SNAP_STATE_COMPLETE)
		ret = kmig_err_set(e, -EBADMSG, "header: state %s, expected COMPLETE: the save "
				   "never committed (it was interrupted or failed); the file "
				   "does not restore", kmig_snap_state_name(s->h.state, sb));
	if (!ret && s->h.file_size > s->st_size)
		ret = kmig_err_set(e, -EBADMSG, "truncated: the header's file_size is %llu "
				   "bytes, the file has %llu", (unsigned long long)s->h.file_size,
				   (unsigned long long)s->st_size);
	return ret;
}

static int load_table(struct kmig_snap *s, struct kmig_err *e)
{
	uint8_t *buf;
	int ret = read_section(s, "block table", s->h.table_offset, s->h.table_size,
			       (void **)&buf, e);

	if (ret)
		return ret;
	ret = kmig_snap_table_decode(buf, &s->h, s->blocks, e);
	free(buf);
	return ret;
}

static int load_block(struct kmig_snap *s, unsigned int i, struct kmig_err *e)
{
	const struct kmig_snap_block *b = &s->blocks[i];
	int ret = read_section(s, "block bitmap", b->bitmap_offset, kmig_snap_bitmap_len(b->npages),
			       (void **)&s->bitmaps[i], e);

	if (!ret)
		ret = kmig_snap_bitmap_check(b, s->bitmaps[i], e);
	if (!ret && (s->h.flags & KMIG_SNAP_F_DATA_CRC))
		ret = read_section(s, "CRC array", b->crc_offset, kmig_snap_crcs_len(b->npages),
				   (void **)&s->crcs[i], e) ?:
		      kmig_snap_crcs_check(b, s->crcs[i], e);
	if (ret && !strstr(e->msg, b->name))
		kmig_err_prefix(e, "block %s", b->name);
	return ret;
}

static int load_devstate(struct kmig_snap *s, struct kmig_err *e)
{
	uint32_t crc;
	int ret = read_section(s, "device state", s->h.devstate_offset, s->h.devstate_len,
			       (void **)&s->devstate, e);

	if (ret)
		return ret;
	crc = kmig_crc32c_buf(s->devstate, s->h.devstate_len);
	if (crc != s->h.devstate_crc)
		return kmig_err_set(e, -EBADMSG, "device state: CRC32C 0x%08x, header's "
				    "devstate_crc 0x%08x (the device state is damaged)", crc,
				    s->h.devstate_crc);
	return 0;
}

static int load(struct kmig_snap *s, struct kmig_err *e)
{
	struct stat sb;
	int ret;

	if (fstat(s->f.fd, &sb))
		ret = kmig_err_set(e, -errno, "fstat: %s", strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		ret = kmig_err_set(e, -EINVAL, "not a regular file");
	else
		ret = (s->st_size = sb.st_size, load_header(s, e));
	if (!ret)
		ret = load_table(s, e);
	for (unsigned int i = 0; !ret && i < s->h.nr_blocks; i++)
		ret = load_block(s, i, e);
	if (!ret)
		ret = load_devstate(s, e);
	if (ret)
		kmig_err_prefix(e, "%s", s->path);
	return ret;
}

static struct kmig_snap *snap_alloc(const char *name)
{
	struct kmig_snap *s = calloc(1, sizeof(*s));

	if (s) {
		s->f.fd = -1;
		snprintf(s->path, sizeof(s->path), "%s", name);
	}
	return s;
}

int kmig_snap_open_fd(struct kmig_snap **out, int fd, const char *name, struct kmig_err *e)
{
	struct kmig_snap *s = snap_alloc(name);
	int ret;

	if (!s) {
		close(fd);
		return kmig_err_set(e, -ENOMEM, "out of memory");
	}
	s->f.fd = fd;
	snprintf(s->f.io, sizeof(s->f.io), "buffered: given an fd");
	ret = load(s, e);
	if (ret) {
		kmig_snap_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int kmig_snap_open(struct kmig_snap **out, const char *path, bool buffered, struct kmig_err *e)
{
	struct kmig_snap *s = snap_alloc(path);
	int ret;

	if (!s)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	ret = kmig_snap_file_open(&s->f, path, O_RDONLY, buffered, false);
	if (ret)
		kmig_err_set(e, ret, "%s: open: %s", path, strerror(-ret));
	else
		ret = load(s, e);
	if (ret) {
		kmig_snap_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int kmig_snap_match(const struct kmig_snap *s, const struct kmig_ram *ram, struct kmig_err *e)
{
	if (ram->nr != s->h.nr_blocks)
		return kmig_err_set(e, -EINVAL, "%s: %u RAM blocks in the file, the destination "
				    "VM has %u", s->path, s->h.nr_blocks, ram->nr);
	for (unsigned int i = 0; i < ram->nr; i++) {
		const struct kmig_snap_block *b = &s->blocks[i];
		const struct kmig_ram_block *r = &ram->blocks[i];

		if (strcmp(b->name, r->name) || b->size != r->size)
			return kmig_err_set(e, -EINVAL, "%s: block %u is %s of %llu bytes in the "
					    "file, the destination VM's is %s of %llu bytes",
					    s->path, i, b->name, (unsigned long long)b->size,
					    r->name, (unsigned long long)r->size);
	}
	return 0;
}
