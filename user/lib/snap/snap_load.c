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

/* Sections that are not kept are checked through a buffer of this size. */
#define SCAN_PIECE	(1U << 20)

/* @n bytes (a multiple of 4 KiB: O_DIRECT) at @off into @buf. */
static int read_at(struct kmig_snap *s, const char *what, void *buf, uint64_t n, uint64_t off,
		   struct kmig_err *e)
{
	int ret = kmig_snap_pread(s->f.fd, buf, n, off);

	if (ret)
		return kmig_err_set(e, ret, "reading the %s (%llu bytes at offset %llu): %s",
				    what, (unsigned long long)n, (unsigned long long)off,
				    ret == -ENODATA ? "the file ends first" : strerror(-ret));
	return 0;
}

/* @len bytes at @off into a new aligned buffer (*out). */
static int read_section(struct kmig_snap *s, const char *what, uint64_t off, uint64_t len,
			void **out, struct kmig_err *e)
{
	void *buf = kmig_snap_alloc(len);
	int ret;

	if (!buf)
		return kmig_err_set(e, -ENOMEM, "no memory for the %s (%llu bytes)", what,
				    (unsigned long long)len);
	ret = read_at(s, what, buf, kmig_snap_align_up(len, KMIG_SNAP_ALIGN), off, e);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

/*
 * A section handed to @piece: whole, into a kept buffer (*keep), or, with
 * @keep NULL, in SCAN_PIECE pieces through one bounded buffer, so that
 * memory does not grow with what a file claims. Pieces are whole 8-byte
 * words except the last.
 */
static int scan_section(struct kmig_snap *s, const char *what, uint64_t off, uint64_t len,
			void **keep, void (*piece)(void *arg, void *p, uint64_t n), void *arg,
			struct kmig_err *e)
{
	uint8_t *buf;
	int ret = 0;

	if (keep) {
		ret = read_section(s, what, off, len, keep, e);
		if (!ret)
			piece(arg, *keep, len);
		return ret;
	}
	buf = kmig_snap_alloc(SCAN_PIECE);
	if (!buf)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	for (uint64_t done = 0, n; !ret && done < len; done += n) {
		n = KMIG_MIN(len - done, SCAN_PIECE);
		ret = read_at(s, what, buf, kmig_snap_align_up(n, KMIG_SNAP_ALIGN), off + done, e);
		if (!ret)
			piece(arg, buf, n);
	}
	free(buf);
	return ret;
}

static void bitmap_piece(void *arg, void *p, uint64_t n)
{
	kmig_snap_bitmap_sum(arg, p, n / 8);
}

static void crc_piece(void *arg, void *p, uint64_t n)
{
	uint32_t *crc = arg;

	*crc = kmig_crc32c(*crc, p, n);
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

/* A block's bitmap and CRC array, kept (opts.keep) or only checked. */
static int load_block(struct kmig_snap *s, unsigned int i, struct kmig_err *e)
{
	const struct kmig_snap_block *b = &s->blocks[i];
	struct kmig_snap_bmsum m = { 0 };
	uint32_t crc = KMIG_CRC_INIT;
	int ret = scan_section(s, "block bitmap", b->bitmap_offset,
			       kmig_snap_bitmap_len(b->npages),
			       s->o.keep ? (void **)&s->bitmaps[i] : NULL, bitmap_piece, &m, e);

	if (!ret)
		ret = kmig_snap_bitmap_end(b, &m, e);
	if (!ret && (s->h.flags & KMIG_SNAP_F_DATA_CRC))
		ret = scan_section(s, "CRC array", b->crc_offset, kmig_snap_crcs_len(b->npages),
				   s->o.keep ? (void **)&s->crcs[i] : NULL, crc_piece, &crc, e) ?:
		      kmig_snap_crcs_end(b, kmig_crc32c_final(crc), e);
	if (ret && !strstr(e->msg, b->name))
		kmig_err_prefix(e, "block %s", b->name);
	return ret;
}

static int load_devstate(struct kmig_snap *s, struct kmig_err *e)
{
	uint32_t crc = KMIG_CRC_INIT;
	int ret = scan_section(s, "device state", s->h.devstate_offset, s->h.devstate_len,
			       s->o.keep ? (void **)&s->devstate : NULL, crc_piece, &crc, e);

	if (ret)
		return ret;
	crc = kmig_crc32c_final(crc);
	if (crc != s->h.devstate_crc)
		return kmig_err_set(e, -EBADMSG, "device state: CRC32C 0x%08x, header's "
				    "devstate_crc 0x%08x (the device state is damaged)", crc,
				    s->h.devstate_crc);
	return 0;
}

/*
 * Memory and work must follow what a file really holds, not what it
 * claims: a sparse file of a few KiB can claim terabytes. So the claim is
 * held against the caller's limit and the destination's layout before
 * anything sized by it is read; what is not kept is checked in pieces.
 */
static int check_claim(struct kmig_snap *s, struct kmig_err *e)
{
	if (s->o.max_ram && s->h.ram_bytes > s->o.max_ram)
		return kmig_err_set(e, -EFBIG, "header: the file claims %.1f GiB of RAM, more "
				    "than the limit of %.1f GiB (--max-ram)",
				    s->h.ram_bytes / 1073741824.0, s->o.max_ram / 1073741824.0);
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
		ret = check_claim(s, e);
	if (!ret)
		ret = load_table(s, e);
	if (!ret && s->o.layout) {
		ret = kmig_snap_match(s, s->o.layout, e);
		if (ret)
			return ret;	/* the message names the file already */
	}
	for (unsigned int i = 0; !ret && i < s->h.nr_blocks; i++)
		ret = load_block(s, i, e);
	if (!ret)
		ret = load_devstate(s, e);
	if (ret)
		kmig_err_prefix(e, "%s", s->path);
	return ret;
}

static struct kmig_snap *snap_alloc(const char *name, const struct kmig_snap_opts *o)
{
	struct kmig_snap *s = calloc(1, sizeof(*s));

	if (s) {
		s->f.fd = -1;
		s->o = *o;
		snprintf(s->path, sizeof(s->path), "%s", name);
	}
	return s;
}

int kmig_snap_open_fd(struct kmig_snap **out, int fd, const char *name,
		      const struct kmig_snap_opts *o, struct kmig_err *e)
{
	struct kmig_snap *s = snap_alloc(name, o);
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

int kmig_snap_open(struct kmig_snap **out, const char *path, const struct kmig_snap_opts *o,
		   struct kmig_err *e)
{
	struct kmig_snap *s = snap_alloc(path, o);
	int ret;

	if (!s)
		return kmig_err_set(e, -ENOMEM, "out of memory");
	ret = kmig_snap_file_open(&s->f, path, O_RDONLY, o->buffered, false);
	if (ret)
		kmig_err_set(e, ret, "%s: open: %s", path, ret == -EINVAL ?
			     "not a regular file (a snapshot is one)" : strerror(-ret));
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
